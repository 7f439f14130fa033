//! A procfs of hull's own, for the writes hull makes into /proc from inside a container (its
//! sysctls, its exec fifo reopened through /proc/self/fd, the LSM attribute files under
//! `thread-self/attr` and `self/attr`): a fresh instance mounted nowhere
//! (fsopen), or else a non-recursive detached copy of the container's /proc mount, so no
//! mount stacked on a /proc path (a bind from the image over /proc/sys/net, a masked path)
//! and no symlink planted under it can redirect a write. Every file is opened beneath that
//! root with openat2 (no symlinks, no magic links, no crossing into another mount) and checked
//! to be on procfs before it is written. `thread-self` and `self` are symlinks, so they are
//! read (readlinkat) and the numeric path they name is opened instead.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use super::fd::{openat2, RESOLVE_NO_MAGICLINKS};
use super::mount::{fs_magic, PROC_SUPER_MAGIC};
use crate::error::{Context, Error, Result};

/// `RESOLVE_NO_XDEV` of openat2(2).
const RESOLVE_NO_XDEV: u64 = 0x01;
/// `RESOLVE_NO_SYMLINKS` of openat2(2).
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// `RESOLVE_BENEATH` of openat2(2).
const RESOLVE_BENEATH: u64 = 0x08;

/// The root of a procfs hull mounted for itself.
pub struct ProcRoot {
    fd: OwnedFd,
}

impl ProcRoot {
    /// A new procfs instance for the caller's pid namespace, or a detached copy of the
    /// procfs mounted at `/proc` (without what is mounted below it) where a new instance is
    /// refused (a user namespace whose /proc is already partly masked).
    pub fn open() -> Result<ProcRoot> {
        let fd = match super::mount::new_instance(c"proc", &[]) {
            Ok(fd) => fd,
            Err(_) => {
                let proc = super::fd::open(
                    c"/proc",
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    0,
                )
                .context("open /proc")?;
                super::mount::clone_tree(&proc, false).context("a private copy of /proc")?
            }
        };
        if fs_magic(&fd)? != PROC_SUPER_MAGIC {
            return Err(Error::invalid("/proc is not a procfs mount"));
        }
        Ok(ProcRoot { fd })
    }

    /// Write `value` to the procfs file at `rel` (e.g. `sys/net/ipv4/ip_forward`), opened
    /// beneath this root without following any symlink and checked to be a procfs file.
    pub fn write(&self, rel: &Path, value: &str) -> Result<()> {
        let fd = self
            .open_beneath(rel, libc::O_WRONLY | libc::O_TRUNC)
            .with_context(|| format!("open /proc/{}", rel.display()))?;
        let mut f = std::fs::File::from(fd);
        f.write_all(value.as_bytes())
            .with_context(|| format!("write {value:?} to /proc/{}", rel.display()))
    }

    /// `rel` opened beneath this root with `flags` (O_CLOEXEC added): no symlink, no magic
    /// link, no other mount on the way, and the file checked to be on procfs.
    pub fn open_beneath(&self, rel: &Path, flags: libc::c_int) -> std::io::Result<OwnedFd> {
        let resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
        let fd = openat2(self.fd.as_raw_fd(), rel, flags, resolve)?;
        if fs_magic(&fd)? != PROC_SUPER_MAGIC {
            return Err(std::io::Error::other(format!(
                "/proc/{} is not on procfs",
                rel.display()
            )));
        }
        Ok(fd)
    }

    /// The calling thread's directory in this procfs (`PID/task/TID`, what `thread-self`
    /// names) or, with `thread` false, its process's (`PID`, what `self` names): the link
    /// read and checked to be only those numbers, a path [`ProcRoot::open_beneath`] can open.
    /// ENOENT when the caller is not in this procfs's pid namespace.
    pub fn task_dir(&self, thread: bool) -> std::io::Result<PathBuf> {
        let link = if thread { c"thread-self" } else { c"self" };
        let mut buf = [0u8; 64];
        // SAFETY: readlinkat on our procfs root with a valid C string into a buffer we own,
        // at most its length.
        let n = unsafe {
            libc::readlinkat(
                self.fd.as_raw_fd(),
                link.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let target = std::str::from_utf8(&buf[..n as usize]).unwrap_or("");
        if !is_task_dir(target, thread) {
            return Err(std::io::Error::other(format!(
                "/proc/{} names {target:?}, not a task directory",
                link.to_string_lossy()
            )));
        }
        Ok(PathBuf::from(target))
    }

    /// Reopen this process's fd `fd` (an O_PATH handle) with `flags`, through
    /// `self/fd/<fd>` of this root: the magic link is followed, but no mount of the
    /// container's can stand in the way.
    pub fn reopen(&self, fd: RawFd, flags: libc::c_int) -> Result<OwnedFd> {
        let path = std::ffi::CString::new(format!("self/fd/{fd}")).expect("no NUL");
        // SAFETY: openat on our procfs root with a valid C string; the fd becomes ours.
        let r =
            unsafe { libc::openat(self.fd.as_raw_fd(), path.as_ptr(), flags | libc::O_CLOEXEC) };
        super::fd::take(r as libc::c_long).with_context(|| format!("reopen fd {fd}"))
    }
}

/// Whether `target` is what `thread-self` (`PID/task/TID`) or `self` (`PID`) links to.
fn is_task_dir(target: &str, thread: bool) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (thread, target.split_once("/task/")) {
        (true, Some((pid, tid))) => num(pid) && num(tid),
        (false, None) => num(target),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_dirs_are_numbers_only() {
        assert!(is_task_dir("12/task/13", true));
        assert!(is_task_dir("12", false));
        for bad in [
            "",
            "12/task/",
            "/task/1",
            "12/task/1/..",
            "../1",
            "12/task/x",
        ] {
            assert!(!is_task_dir(bad, true), "{bad}");
        }
        for bad in ["", "12/task/13", "1/..", "x"] {
            assert!(!is_task_dir(bad, false), "{bad}");
        }
    }

    // Needs root (a new procfs instance); the ids are this test thread's own.
    #[test]
    fn task_dir_is_the_callers_own() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to mount a procfs instance");
            return;
        }
        let proc = ProcRoot::open().unwrap();
        let pid = std::process::id();
        // SAFETY: gettid has no arguments.
        let tid = unsafe { libc::gettid() };
        assert_eq!(
            proc.task_dir(true).unwrap(),
            PathBuf::from(format!("{pid}/task/{tid}"))
        );
        assert_eq!(
            proc.task_dir(false).unwrap(),
            PathBuf::from(pid.to_string())
        );
        // A symlink is never followed beneath the root.
        let e = proc
            .open_beneath(Path::new("self/status"), libc::O_RDONLY)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        proc.open_beneath(&proc.task_dir(true).unwrap().join("status"), libc::O_RDONLY)
            .unwrap();
    }
}
