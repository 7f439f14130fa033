//! /dev inside the rootfs: the default device nodes (null, zero, full, random, urandom, tty)
//! plus `linux.devices`, made with mknodat in a directory resolved inside the root (or, in a
//! user namespace where mknod is not allowed, an empty file with the host's node bound over
//! it); and the links /dev/fd, /dev/std{in,out,err}, /dev/ptmx, /dev/core.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use pathrs::{Handle, Root};

use crate::error::{Context, Error, Result};
use crate::fsutil::clean_abs;

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Container path.
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: libc::mode_t,
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// runc's default devices.
pub fn defaults() -> Vec<Node> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(n, ma, mi)| Node {
        path: PathBuf::from(format!("/dev/{n}")),
        kind: libc::S_IFCHR,
        major: ma,
        minor: mi,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// The default devices overlaid with `linux.devices` (same path: the config wins).
pub fn plan(devices: &[LinuxDevice]) -> Result<Vec<Node>> {
    let mut nodes = defaults();
    for (i, d) in devices.iter().enumerate() {
        let path = clean_abs(d.path()).ok_or_else(|| {
            Error::invalid(format!("linux.devices[{i}].path: climbs out of the root"))
        })?;
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            other => {
                return Err(Error::invalid(format!(
                    "linux.devices[{i}].type: {other:?} cannot be created"
                )))
            }
        };
        let node = Node {
            path,
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        nodes.retain(|n| n.path != node.path);
        nodes.push(node);
    }
    Ok(nodes)
}

fn parent_dir(root: &Root, path: &Path) -> Result<(Handle, CString)> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} has no file name", path.display())))?;
    let dir = super::mkdir_all(root, parent)?;
    Ok((
        dir,
        CString::new(name.as_bytes()).map_err(|_| Error::invalid("NUL in path"))?,
    ))
}

fn unlink_in(dir: &Handle, name: &CString) {
    // SAFETY: unlinkat of one component in a directory fd we hold.
    unsafe { libc::unlinkat(dir.as_fd().as_raw_fd(), name.as_ptr(), 0) };
}

/// Create every device node (replacing whatever the image had at that path).
pub fn create_devices(root: &Root, devices: &[LinuxDevice], userns: bool) -> Result<()> {
    for node in plan(devices)? {
        create_node(root, &node, userns)
            .with_context(|| format!("create device {}", crate::error::short(&node.path)))?;
    }
    Ok(())
}

fn create_node(root: &Root, n: &Node, userns: bool) -> Result<()> {
    let (dir, name) = parent_dir(root, &n.path)?;
    unlink_in(&dir, &name);
    let dirfd = dir.as_fd().as_raw_fd();
    if userns {
        // mknod is not allowed: bind the host's node over an empty file.
        // SAFETY: openat of one component in a directory fd we hold.
        let fd = unsafe {
            libc::openat(
                dirfd,
                name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
                0o000,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        // SAFETY: closing the fd just returned.
        unsafe { libc::close(fd) };
        let target = super::resolve(root, &n.path)?;
        super::mount::mount(
            Some(&n.path),
            Path::new(&super::mount::fd_path(&target)),
            None,
            MsFlags::MS_BIND,
            None,
        )?;
        return Ok(());
    }
    let dev = libc::makedev(n.major as u32, n.minor as u32);
    // SAFETY: mknodat/fchownat/fchmodat of one component in a directory fd we hold.
    unsafe {
        if libc::mknodat(dirfd, name.as_ptr(), n.kind | n.mode, dev) != 0 {
            return Err(std::io::Error::last_os_error()).context("mknod");
        }
        if libc::fchownat(
            dirfd,
            name.as_ptr(),
            n.uid,
            n.gid,
            libc::AT_SYMLINK_NOFOLLOW,
        ) != 0
        {
            return Err(std::io::Error::last_os_error()).context("chown");
        }
    }
    Ok(())
}

/// Create a symlink at `path` pointing to `target` unless something is there already.
pub fn symlink_in(root: &Root, path: &Path, target: &Path) -> Result<()> {
    let (dir, name) = parent_dir(root, path)?;
    let t =
        CString::new(target.as_os_str().as_bytes()).map_err(|_| Error::invalid("NUL in path"))?;
    // SAFETY: symlinkat of one component in a directory fd we hold.
    if unsafe { libc::symlinkat(t.as_ptr(), dir.as_fd().as_raw_fd(), name.as_ptr()) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e).with_context(|| format!("symlink {}", path.display()));
        }
    }
    Ok(())
}

/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, /dev/core; /dev/ptmx → pts/ptmx with /dev/pts.
pub fn create_links(root: &Root, has_devpts: bool) -> Result<()> {
    for (link, target) in [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        symlink_in(root, Path::new(link), Path::new(target))?;
    }
    if Path::new("/proc/kcore").exists() {
        symlink_in(root, Path::new("/dev/core"), Path::new("/proc/kcore"))?;
    }
    if has_devpts {
        let (dir, name) = parent_dir(root, Path::new("/dev/ptmx"))?;
        unlink_in(&dir, &name);
        symlink_in(root, Path::new("/dev/ptmx"), Path::new("pts/ptmx"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_devices_override_defaults_by_path() {
        let d: LinuxDevice = serde_json::from_value(serde_json::json!(
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 5}
        ))
        .unwrap();
        let extra: LinuxDevice = serde_json::from_value(serde_json::json!(
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}
        ))
        .unwrap();
        let nodes = plan(&[d, extra]).unwrap();
        assert_eq!(nodes.len(), 7);
        let null = nodes
            .iter()
            .find(|n| n.path == Path::new("/dev/null"))
            .unwrap();
        assert_eq!((null.mode, null.uid), (0o600, 5));
        assert!(nodes
            .iter()
            .any(|n| n.path == Path::new("/dev/fuse") && n.major == 10));
    }
}
