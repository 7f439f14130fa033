//! The container's root filesystem, set up by init inside its new mount namespace:
//! propagation, the rootfs bind, `mounts` in order (each destination resolved inside the rootfs
//! with pathrs, so a symlink in the image cannot send a mount onto the host), devices and /dev
//! links, pivot_root (or MS_MOVE + chroot), then masked and read-only paths and a read-only
//! root. `linux.mountLabel` goes on the mounts that take one (`lsm`'s rule). Paths in `finalize` are container paths: the host is no longer reachable by then.

mod bind;
pub mod device;
pub mod idmap;
pub mod mount;

use std::ffi::CString;
use std::fs::Permissions;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::oci::Spec;
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;
use pathrs::{Handle, Root};

use crate::cgroups::CgroupState;
use crate::error::{Context, Error, Result};
use crate::fsutil::clean_abs;
use mount::{fd_path, mount as do_mount, remount_bind, Options};

/// What init knows when it sets up the rootfs.
pub struct Ctx<'a> {
    /// The config.
    pub spec: &'a Spec,
    /// Bundle directory (relative bind sources are relative to it).
    pub bundle: &'a Path,
    /// Host path of the rootfs.
    pub rootfs: &'a Path,
    /// The container has its own user namespace, or hull runs rootless in one (no mknod;
    /// locked mount flags; no sysfs or mqueue of its own without the namespace that owns it).
    pub userns: bool,
    /// A new cgroup namespace was unshared.
    pub new_cgroupns: bool,
    /// The container's cgroups.
    pub cgroup: &'a CgroupState,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// The id-mapped mounts' sources, prepared by hull (`idmap.rs`).
    pub idmapped: &'a idmap::Trees,
    /// Run after the mounts and devices, right before pivot_root (the create hooks).
    pub before_pivot: &'a dyn Fn() -> Result<()>,
}

/// `linux.mountLabel`, when there is one (SELinux, `lsm`).
fn mount_label<'a>(ctx: &Ctx<'a>) -> Option<&'a str> {
    let linux = ctx.spec.linux().as_ref()?;
    linux.mount_label().as_deref().filter(|l| !l.is_empty())
}

fn dir_perm() -> Permissions {
    Permissions::from_mode(0o755)
}

/// `path` opened inside the root exactly as pathrs's openat2 resolver does (RESOLVE_IN_ROOT, no
/// magic links), plus O_CLOEXEC. Lookups of paths that do not exist yet (mount targets, device
/// parents) are the common case while the rootfs is built, and pathrs renders every failed
/// lookup's error eagerly, with several procfs lookups of about 10 µs; so the outcomes that
/// need no error text go through here. `None`: the kernel has no openat2 or the lookup raced
/// with a rename (EAGAIN) — ask pathrs, which retries and falls back.
fn open_in_root(root: &Root, path: &Path, flags: libc::c_int) -> Option<std::io::Result<OwnedFd>> {
    let resolve = crate::sys::fd::RESOLVE_IN_ROOT | crate::sys::fd::RESOLVE_NO_MAGICLINKS;
    match crate::sys::fd::openat2(root.as_fd().as_raw_fd(), path, flags, resolve) {
        Ok(fd) => Some(Ok(fd)),
        Err(e) => match e.raw_os_error() {
            Some(libc::ENOSYS | libc::EAGAIN | libc::E2BIG | libc::EINVAL) => None,
            _ => Some(Err(e)),
        },
    }
}

/// `root.resolve(path)`, through `open_in_root` first.
pub(crate) fn resolve(root: &Root, path: &Path) -> Result<Handle> {
    match open_in_root(root, path, libc::O_PATH) {
        Some(Ok(fd)) => Ok(Handle::from_fd(fd)),
        Some(Err(e)) => Err(Error::from(e)).with_context(|| format!("resolve {}", path.display())),
        None => root.resolve(path).map_err(Error::from),
    }
}

/// The metadata of `path` inside the rootfs `rootfs`, resolved as init would (symlinks kept
/// inside); None when it does not resolve (`hull check`'s look for `process.args[0]`).
pub fn metadata_in(rootfs: &Path, path: &Path) -> Option<std::fs::Metadata> {
    let root = Root::open(rootfs).ok()?;
    let h = resolve(&root, path).ok()?;
    std::fs::metadata(fd_path(&h)).ok()
}

/// Whether metadata `m` is of a regular file someone may execute.
pub fn is_executable(m: &std::fs::Metadata) -> bool {
    m.is_file() && m.permissions().mode() & 0o111 != 0
}

/// `root.mkdir_all(path, 0755)`, skipped when the directory is already there.
pub(crate) fn mkdir_all(root: &Root, path: &Path) -> Result<Handle> {
    match open_in_root(root, path, libc::O_PATH | libc::O_DIRECTORY) {
        Some(Ok(fd)) => Ok(Handle::from_fd(fd)),
        _ => root.mkdir_all(path, &dir_perm()).map_err(Error::from),
    }
}

/// The target of the symlink at `path` in the root; None when it is not a symlink or missing.
fn readlink_in_root(root: &Root, path: &Path) -> Option<PathBuf> {
    let fd = match open_in_root(root, path, libc::O_PATH | libc::O_NOFOLLOW)? {
        Ok(fd) => fd,
        Err(_) => return None,
    };
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat on an O_PATH fd we hold (empty path: the link itself) into our buffer.
    let n = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(PathBuf::from(std::ffi::OsString::from_vec(buf)))
}

/// `dest` with every symlink in it (dangling ones too) followed inside the root, as runc's
/// securejoin does: absolute targets and `..` stay scoped to the root, missing components are
/// kept. The result has no symlinks (when computed); creating it still refuses symlinks.
fn join_in_root(root: &Root, dest: &Path) -> Result<PathBuf> {
    use std::path::Component;
    // Components still to walk, the next one last.
    let push = |todo: &mut Vec<std::ffi::OsString>, p: &Path| {
        for c in p.components().rev() {
            match c {
                Component::Normal(n) => todo.push(n.to_os_string()),
                Component::ParentDir => todo.push("..".into()),
                _ => {}
            }
        }
    };
    let mut resolved = PathBuf::from("/");
    let mut todo = Vec::new();
    push(&mut todo, dest);
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            resolved.pop();
            continue;
        }
        let cand = resolved.join(&c);
        match readlink_in_root(root, &cand) {
            Some(target) => {
                links += 1;
                if links > 255 {
                    return Err(Error::Sys(nix::errno::Errno::ELOOP))
                        .with_context(|| format!("resolve {}", dest.display()));
                }
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                push(&mut todo, &target);
            }
            None => resolved = cand,
        }
    }
    Ok(resolved)
}

/// Resolve `dest` in the root, creating it (a directory, or an empty file when `file`) if absent.
/// A dangling symlink on the way is followed inside the root and its target created (runc).
pub(crate) fn ensure_target(root: &Root, dest: &Path, file: bool) -> Result<Handle> {
    if let Ok(h) = resolve(root, dest) {
        return Ok(h);
    }
    // A rootless container cannot make one in an image owned by host root: say what failed.
    make_target(root, dest, file)
        .with_context(|| format!("make the mount point {} in the rootfs", dest.display()))
}

fn make_target(root: &Root, dest: &Path, file: bool) -> Result<Handle> {
    let joined = join_in_root(root, dest)?;
    let dest = joined.as_path();
    if !file {
        return mkdir_all(root, dest);
    }
    let parent = dest.parent().unwrap_or(Path::new("/"));
    let name = dest
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} has no file name", dest.display())))?;
    let dir = mkdir_all(root, parent)?;
    let cname = CString::new(name.as_bytes()).map_err(|_| Error::invalid("NUL in path"))?;
    // SAFETY: openat on a directory fd we hold, with a single path component; O_NOFOLLOW means
    // a symlink planted meanwhile is refused, not followed.
    let fd = unsafe {
        libc::openat(
            dir.as_fd().as_raw_fd(),
            cname.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e.into());
        }
    } else {
        // SAFETY: we own the fd just returned.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    resolve(root, dest)
}

/// Everything up to and including pivot_root.
pub fn prepare(ctx: &Ctx) -> Result<()> {
    let linux = ctx.spec.linux().as_ref().expect("validated: linux present");
    let prop = match linux.rootfs_propagation().as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(p) => mount::propagation_option(p).ok_or_else(|| {
            Error::invalid(format!("linux.rootfsPropagation: unknown value {p:?}"))
        })?,
    };
    // Unbindable is private that cannot be bound: the namespace goes private now (so the rootfs
    // can still be bound and pivoted), and the root is made unbindable after pivot_root.
    let prop = if prop.contains(MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_PRIVATE
    } else {
        prop
    };
    do_mount(None, Path::new("/"), None, prop | MsFlags::MS_REC, None)
        .context("set propagation of /")?;
    // pivot_root refuses a new root whose parent mount is shared.
    make_parent_private(ctx.rootfs)?;
    do_mount(
        Some(ctx.rootfs),
        ctx.rootfs,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .with_context(|| format!("bind rootfs {}", ctx.rootfs.display()))?;
    let root =
        Root::open(ctx.rootfs).with_context(|| format!("open rootfs {}", ctx.rootfs.display()))?;
    // SAFETY: umask takes an integer; modes in the config are taken literally.
    unsafe { libc::umask(0) };

    let mounts = ctx.spec.mounts().clone().unwrap_or_default();
    for (i, m) in mounts.iter().enumerate() {
        mount_one(ctx, &root, m, i).with_context(|| {
            format!(
                "mounts[{i}]: mount {} on {}",
                crate::error::short(
                    m.source()
                        .as_deref()
                        .unwrap_or(Path::new(m.typ().as_deref().unwrap_or("")))
                ),
                crate::error::short(m.destination())
            )
        })?;
    }
    let process = ctx
        .spec
        .process()
        .as_ref()
        .expect("validated: process present");
    mkdir_all(&root, process.cwd())
        .with_context(|| format!("process.cwd: create {}", crate::error::short(process.cwd())))?;
    let dev_is_bind = mounts.iter().any(|m| {
        clean_abs(m.destination()).as_deref() == Some(Path::new("/dev"))
            && (m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind"))
    });
    if !dev_is_bind {
        device::create_devices(
            &root,
            linux.devices().as_deref().unwrap_or_default(),
            ctx.userns,
        )?;
        device::create_links(
            &root,
            mounts
                .iter()
                .any(|m| clean_abs(m.destination()).as_deref() == Some(Path::new("/dev/pts"))),
        )?;
    }
    drop(root);
    (ctx.before_pivot)()?;
    if ctx.no_pivot {
        move_root(ctx.rootfs)?;
    } else {
        pivot_root(ctx.rootfs)?;
    }
    if let Some(p) = linux
        .rootfs_propagation()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        let f = mount::propagation_option(p).expect("checked above");
        do_mount(None, Path::new("/"), None, f, None).context("linux.rootfsPropagation")?;
    }
    Ok(())
}

fn make_parent_private(rootfs: &Path) -> Result<()> {
    let text = crate::fsutil::read_file(Path::new("/proc/self/mountinfo"))?;
    let parent = crate::fsutil::parse_mountinfo(&text)
        .into_iter()
        .filter(|m| rootfs.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.len());
    if let Some(m) = parent {
        if m.options.contains("shared:")
            || text
                .lines()
                .any(|l| l.contains(&format!(" {} ", m.mount_point)) && l.contains(" shared:"))
        {
            do_mount(
                None,
                Path::new(&m.mount_point),
                None,
                MsFlags::MS_PRIVATE,
                None,
            )
            .with_context(|| format!("make {} private", m.mount_point))?;
        }
    }
    Ok(())
}

fn mount_one(ctx: &Ctx, root: &Root, m: &Mount, i: usize) -> Result<()> {
    let opts = mount::mount_options(m);
    let typ = m.typ().clone().unwrap_or_default();
    let dest = clean_abs(m.destination()).expect("validated: destination stays inside");
    if opts.tmpcopyup && typ != "tmpfs" {
        crate::logging::warn(&format!(
            "mounts[{i}]: option tmpcopyup applies to tmpfs only; ignored for {typ}"
        ));
    }
    if opts.is_bind() {
        bind::mount(ctx, root, m, i, &dest, &opts)?;
    } else if typ == "cgroup" {
        mount_cgroup(ctx, root, &dest, &opts)?;
    } else {
        let target = ensure_target(root, &dest, false)?;
        let src = m.source().clone().unwrap_or_else(|| PathBuf::from(&typ));
        let data = crate::lsm::mount_data(&typ, &opts.data, mount_label(ctx));
        let data = (!data.is_empty()).then_some(data.as_str());
        let tp = Path::new(&fd_path(&target)).to_path_buf();
        if opts.tmpcopyup && typ == "tmpfs" {
            // runc's copy-up: the tmpfs starts with what the image has at `dest`. The
            // directory stays reachable through an fd opened before the tmpfs covers it; the
            // tmpfs is filled writable and made read-only afterwards when asked.
            let under = std::fs::File::open(&tp)
                .with_context(|| format!("tmpcopyup: open {}", dest.display()))?;
            let ro = opts.flags & MsFlags::MS_RDONLY;
            do_mount(Some(&src), &tp, Some(&typ), opts.flags - ro, data)?;
            let mounted = resolve(root, &dest)?;
            copy_up(Path::new(&fd_path(&under)), Path::new(&fd_path(&mounted)))
                .with_context(|| format!("tmpcopyup: copy {} into the tmpfs", dest.display()))?;
            if !ro.is_empty() {
                do_mount(
                    None,
                    Path::new(&fd_path(&mounted)),
                    None,
                    MsFlags::MS_REMOUNT | opts.flags,
                    data,
                )
                .context("tmpcopyup: remount read-only")?;
            }
            return apply_post(root, &dest, &opts);
        }
        match do_mount(Some(&src), &tp, Some(&typ), opts.flags, data) {
            // In a user namespace without its own network or ipc namespace the kernel refuses
            // sysfs and mqueue; bind the host's instead, as runc does.
            Err(e)
                if ctx.userns
                    && e.errno() == Some(libc::EPERM)
                    && (typ == "sysfs" || typ == "mqueue") =>
            {
                let host = if typ == "sysfs" {
                    "/sys"
                } else {
                    "/dev/mqueue"
                };
                do_mount(
                    Some(Path::new(host)),
                    &tp,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None,
                )?;
                let mounted = resolve(root, &dest)?;
                remount_bind(Path::new(&fd_path(&mounted)), opts.flags)?;
            }
            Err(e) if ctx.userns && e.errno() == Some(libc::EPERM) && typ == "proc" => {
                return Err(e).context(
                    "a new procfs is refused in a user namespace unless the container has its own pid namespace and the /proc hull runs under has nothing mounted over its files (an outer container's masked /proc paths)",
                );
            }
            r => {
                r?;
                // A new mqueue instance gets the label on its root (not the host's bound one).
                if let Some(label) = mount_label(ctx).filter(|_| typ == "mqueue") {
                    let mounted = resolve(root, &dest)?;
                    crate::lsm::label_mqueue(Path::new(&fd_path(&mounted)), label)?;
                }
            }
        }
    }
    apply_post(root, &dest, &opts)
}

/// Copy the tree under `from` into `to` (both directories, typically `/proc/self/fd/N` of the
/// covered image directory and of the new tmpfs): directories, regular files, symlinks and
/// device/fifo/socket nodes, with owner and mode (set after chown, which clears set-id bits).
/// Symlinks are copied, never followed.
fn copy_up(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    for e in std::fs::read_dir(from).with_context(|| format!("read {}", from.display()))? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let meta = std::fs::symlink_metadata(&src)?;
        let ft = meta.file_type();
        if ft.is_dir() {
            std::fs::create_dir(&dst).with_context(|| format!("mkdir {}", dst.display()))?;
            copy_up(&src, &dst)?;
        } else if ft.is_file() {
            std::fs::copy(&src, &dst).with_context(|| format!("copy {}", src.display()))?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)
                .with_context(|| format!("symlink {}", dst.display()))?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() || ft.is_socket() {
            let c = CString::new(dst.as_os_str().as_bytes())
                .map_err(|_| Error::Msg(format!("{}: NUL in path", dst.display())))?;
            // SAFETY: c is a valid NUL-terminated path; mode and rdev come from lstat.
            if unsafe { libc::mknod(c.as_ptr(), meta.mode(), meta.rdev()) } != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("mknod {}", dst.display()));
            }
        }
        std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid()))
            .with_context(|| format!("chown {}", dst.display()))?;
        if !ft.is_symlink() {
            std::fs::set_permissions(&dst, Permissions::from_mode(meta.mode() & 0o7777))
                .with_context(|| format!("chmod {}", dst.display()))?;
        }
    }
    Ok(())
}

/// Propagation changes and recursive attributes, on the mount now at `dest`.
fn apply_post(root: &Root, dest: &Path, opts: &Options) -> Result<()> {
    if opts.propagation.is_empty() && opts.attr_set == 0 && opts.attr_clr == 0 {
        return Ok(());
    }
    let mounted = resolve(root, dest)?;
    for p in &opts.propagation {
        do_mount(None, Path::new(&fd_path(&mounted)), None, *p, None).context("set propagation")?;
    }
    if opts.attr_set != 0 || opts.attr_clr != 0 {
        mount::setattr_recursive(&mounted, opts.attr_set, opts.attr_clr)
            .context("recursive mount attributes")?;
    }
    Ok(())
}

/// A `cgroup` mount: on a v2 host cgroup2 itself (the namespace root with a cgroup namespace,
/// else the container's directory); on v1/hybrid a tmpfs with one directory per hierarchy bound
/// to the container's cgroup there. Read-only when the options say `ro`.
fn mount_cgroup(ctx: &Ctx, root: &Root, dest: &Path, opts: &Options) -> Result<()> {
    let ro = opts.flags.contains(MsFlags::MS_RDONLY);
    let base = opts.flags & !(MsFlags::MS_RDONLY | MsFlags::MS_BIND | MsFlags::MS_REC);
    let target = ensure_target(root, dest, false)?;
    let only_v2 =
        ctx.cgroup.hierarchies.len() == 1 && ctx.cgroup.hierarchies[0].controllers.is_empty();
    if only_v2 {
        let tp = PathBuf::from(fd_path(&target));
        let mounted = if ctx.new_cgroupns {
            do_mount(
                Some(Path::new("cgroup2")),
                &tp,
                Some("cgroup2"),
                base | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                },
                None,
            )
        } else {
            Err(Error::Sys(nix::errno::Errno::EPERM))
        };
        if mounted.is_err() {
            let dir = &ctx.cgroup.hierarchies[0].path;
            do_mount(Some(dir), &tp, None, MsFlags::MS_BIND, None)?;
            let m = resolve(root, dest)?;
            remount_bind(
                Path::new(&fd_path(&m)),
                base | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                },
            )?;
        }
        return Ok(());
    }
    let data = crate::lsm::mount_data("tmpfs", &["mode=755".into()], mount_label(ctx));
    do_mount(
        Some(Path::new("tmpfs")),
        Path::new(&fd_path(&target)),
        Some("tmpfs"),
        base,
        Some(&data),
    )?;
    // The fresh tmpfs is empty and only this mount namespace sees it: its directories are made
    // with plain mkdirat, no in-root resolution needed.
    let tmpfs = resolve(root, dest)?;
    for h in &ctx.cgroup.hierarchies {
        let name = h
            .path
            .ancestors()
            .find(|a| a.parent() == Some(Path::new("/sys/fs/cgroup")))
            .and_then(|a| a.file_name())
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| h.controllers.clone().into());
        let sub = dest.join(&name);
        let t = mkdir_at(&tmpfs, &name).with_context(|| format!("create {}", sub.display()))?;
        do_mount(
            Some(&h.path),
            Path::new(&fd_path(&t)),
            None,
            MsFlags::MS_BIND,
            None,
        )
        .with_context(|| format!("bind {}", h.path.display()))?;
        let m = resolve(root, &sub)?;
        remount_bind(
            Path::new(&fd_path(&m)),
            base | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC
                | if ro {
                    MsFlags::MS_RDONLY
                } else {
                    MsFlags::empty()
                },
        )?;
        // cpu,cpuacct style hierarchies are also reachable by each controller's name.
        if h.controllers.contains(',') {
            for c in h.controllers.split(',').filter(|c| !c.starts_with("name=")) {
                if Path::new(c) != Path::new(&name) {
                    let _ = device::symlink_in(root, &dest.join(c), Path::new(&name));
                }
            }
        }
    }
    if ro {
        let m = resolve(root, dest)?;
        remount_bind(Path::new(&fd_path(&m)), base | MsFlags::MS_RDONLY)?;
    }
    Ok(())
}

/// mkdirat(dir, name, 0755) (an existing directory is fine), then the new directory, opened
/// O_PATH without following a symlink.
fn mkdir_at(dir: &Handle, name: &std::ffi::OsStr) -> Result<Handle> {
    let c = CString::new(name.as_bytes()).map_err(|_| Error::invalid("NUL in path"))?;
    // SAFETY: mkdirat/openat of one component in a directory fd we hold.
    unsafe {
        if libc::mkdirat(dir.as_fd().as_raw_fd(), c.as_ptr(), 0o755) != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e.into());
            }
        }
        let fd = libc::openat(
            dir.as_fd().as_raw_fd(),
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(Handle::from_fd(OwnedFd::from_raw_fd(fd)))
    }
}

/// pivot_root(".", ".") on the rootfs, then detach the old root stacked beneath it.
fn pivot_root(rootfs: &Path) -> Result<()> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let flags = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old = open("/", flags, Mode::empty()).context("open /")?;
    let new =
        open(rootfs, flags, Mode::empty()).with_context(|| format!("open {}", rootfs.display()))?;
    nix::unistd::fchdir(&new).context("fchdir to rootfs")?;
    nix::unistd::pivot_root(".", ".").context("pivot_root")?;
    nix::unistd::fchdir(&old).context("fchdir to old root")?;
    // Keep the unmount from propagating to the host.
    do_mount(
        None,
        Path::new("."),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None,
    )
    .context("make old root rslave")?;
    nix::mount::umount2(".", nix::mount::MntFlags::MNT_DETACH).context("detach old root")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(())
}

/// --no-pivot: move the rootfs mount over / and chroot into it.
fn move_root(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).with_context(|| format!("chdir {}", rootfs.display()))?;
    do_mount(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, None)
        .context("move rootfs to /")?;
    nix::unistd::chroot(".").context("chroot")?;
    nix::unistd::chdir("/").context("chdir /")?;
    Ok(())
}

/// After pivot: readonly paths, masked paths, then a read-only root (runc's order).
pub fn finalize(ctx: &Ctx) -> Result<()> {
    let linux = ctx.spec.linux().as_ref().expect("validated: linux present");
    for (i, p) in linux.readonly_paths().iter().flatten().enumerate() {
        readonly_path(Path::new(p)).with_context(|| format!("linux.readonlyPaths[{i}]: {p}"))?;
    }
    let masked = linux.masked_paths().as_deref().unwrap_or_default();
    if !masked.is_empty() {
        let null = null_device().context("linux.maskedPaths")?;
        let label = mount_label(ctx)
            .map(crate::lsm::context_param)
            .transpose()?;
        for (i, p) in masked.iter().enumerate() {
            mask_path(Path::new(p), &null, label.as_deref())
                .with_context(|| format!("linux.maskedPaths[{i}]: {p}"))?;
        }
    }
    if ctx
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        remount_bind(Path::new("/"), MsFlags::MS_RDONLY)
            .context("root.readonly: remount / read-only")?;
    }
    Ok(())
}

/// `p` in the container (after pivot_root), resolved without leaving its root or following a
/// magic link; `None` when there is nothing at `p`.
fn open_in_container(p: &Path) -> Result<Option<OwnedFd>> {
    use crate::sys::fd::{RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};
    let root = crate::sys::fd::open(c"/", libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC, 0)?;
    match crate::sys::fd::openat2(
        root.as_raw_fd(),
        p,
        libc::O_PATH,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Bind `p` over itself read-only, with everything mounted below it read-only too (a bind an
/// engine put under /proc/sys stays read-only with it); the copy is made read-only before it
/// is attached, from fds (no path looked up twice).
fn readonly_path(p: &Path) -> Result<()> {
    let Some(fd) = open_in_container(p)? else {
        return Ok(());
    };
    crate::sys::mount::bind(&fd, &fd, true, crate::sys::mount::ATTR_RDONLY)
}

/// The container's /dev/null, checked to be the null device (1:3) and not, say, a symlink the
/// image planted to a file it wants writable where a path is masked (CVE-2025-31133).
fn null_device() -> Result<OwnedFd> {
    let fd = crate::sys::fd::open(
        c"/dev/null",
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    )
    .context("open /dev/null")?;
    let st = crate::sys::fd::fstat(fd.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(Error::invalid(
            "/dev/null in the container is not the null device (1:3)",
        ));
    }
    Ok(fd)
}

/// Mask `p`: the null device bound over a file, an empty read-only tmpfs over a directory
/// (labelled with the mount label, if any).
fn mask_path(p: &Path, null: &OwnedFd, label: Option<&std::ffi::CStr>) -> Result<()> {
    let Some(target) = open_in_container(p)? else {
        return Ok(());
    };
    let st = crate::sys::fd::fstat(target.as_raw_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return crate::sys::mount::bind(null, &target, false, 0);
    }
    let mut options = vec![(c"size", c"0k")];
    options.extend(label.map(|l| (c"context", l)));
    let tmpfs = crate::sys::mount::new_instance(c"tmpfs", &options).context("an empty tmpfs")?;
    crate::sys::mount::setattr(&tmpfs, false, crate::sys::mount::ATTR_RDONLY, 0)
        .context("mount_setattr")?;
    crate::sys::mount::attach(&tmpfs, &target).context("move_mount")
}
