//! Bind mounts: where a bind's source is (a host path the caller chose, used as given, or a
//! file of the image, resolved inside the rootfs) and the bind itself — mount(2) from that
//! source, or, for an id-mapped mount, the detached copy hull prepared (`idmap.rs`) attached in
//! its place — then the flags a bind takes only by a remount.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::Mount;
use pathrs::{Handle, Root};

use super::mount::{fd_path, mount as do_mount, remount_bind, Options};
use super::{ensure_target, resolve, Ctx};
use crate::error::{short, Context, Error, Result};

/// Bind `mounts[i]` (`m`, with `opts`) at `dest` in the root.
pub(super) fn mount(
    ctx: &Ctx,
    root: &Root,
    m: &Mount,
    i: usize,
    dest: &Path,
    opts: &Options,
) -> Result<()> {
    if let Some(tree) = ctx.idmapped.get(i) {
        let target = ensure_target(root, dest, !is_dir(tree)?)?;
        crate::sys::mount::attach(tree, &target).context("attach the id-mapped mount")?;
    } else {
        let src = source_path(m, i, ctx.bundle)?;
        let found = BindSource::find(ctx.rootfs, root, &src)
            .and_then(|f| f.is_dir().map(|d| (f, d)))
            .with_context(|| format!("mounts[{i}].source: {}", short(&src)))?;
        let (source, is_dir) = found;
        let target = ensure_target(root, dest, !is_dir)?;
        do_mount(
            Some(&source.path()),
            Path::new(&fd_path(&target)),
            None,
            opts.flags & (MsFlags::MS_BIND | MsFlags::MS_REC),
            None,
        )?;
    }
    let extra = opts.flags & !(MsFlags::MS_BIND | MsFlags::MS_REC);
    if !extra.is_empty() {
        let mounted = resolve(root, dest)?;
        remount_bind(Path::new(&fd_path(&mounted)), extra).context("remount with options")?;
    }
    Ok(())
}

/// A bind's `source`, relative to the bundle when relative.
pub(super) fn source_path(m: &Mount, i: usize, bundle: &Path) -> Result<PathBuf> {
    let src = m.source().clone().ok_or_else(|| {
        Error::invalid(format!("mounts[{i}].source: a bind mount needs a source"))
    })?;
    Ok(if src.is_absolute() {
        src
    } else {
        bundle.join(src)
    })
}

/// Whether `fd` is a directory.
fn is_dir(fd: BorrowedFd) -> Result<bool> {
    let st = crate::sys::fd::fstat(fd.as_raw_fd())?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

/// A bind mount's source, found.
pub(super) enum BindSource {
    /// A host path the caller chose, as given.
    Host(PathBuf),
    /// A file of the image, resolved inside the rootfs; mounted through its fd.
    Image(Handle),
}

impl BindSource {
    /// Where a bind mount's source is. A source under the rootfs is the image's: it is
    /// resolved inside the rootfs (RESOLVE_IN_ROOT), so a symlink the image planted there —
    /// absolute, or climbing with `..` — cannot point the mount at the host, and one that
    /// leads into the container's procfs or sysfs is refused; the mount reads it through the
    /// resolved fd (`/proc/self/fd/N`). A source elsewhere belongs to the caller (a host path
    /// an engine chose) and is used as given. runc resolves both on the host.
    pub(super) fn find(rootfs: &Path, root: &Root, src: &Path) -> Result<BindSource> {
        let inside = crate::fsutil::clean_abs(src)
            .and_then(|c| c.strip_prefix(rootfs).ok().map(Path::to_path_buf));
        let Some(rel) = inside else {
            return Ok(BindSource::Host(src.to_path_buf()));
        };
        let h = resolve(root, &Path::new("/").join(rel))?;
        // Through the container's /proc or /sys (mounted earlier from the config) a path of
        // the image can name a kernel-wide file — /proc/sys/kernel/core_pattern — which a bind
        // elsewhere would leave writable. No image file lives there.
        let magic = crate::sys::mount::fs_magic(&h)?;
        if magic == crate::sys::mount::PROC_SUPER_MAGIC || magic == crate::sys::mount::SYSFS_MAGIC {
            return Err(Error::invalid(
                "a path of the image that leads into procfs or sysfs is no bind source",
            ));
        }
        Ok(BindSource::Image(h))
    }

    /// The path to give mount(2).
    fn path(&self) -> PathBuf {
        match self {
            BindSource::Host(p) => p.clone(),
            BindSource::Image(h) => PathBuf::from(fd_path(h)),
        }
    }

    /// Whether it is a directory (following symlinks on the host, not in the image).
    fn is_dir(&self) -> Result<bool> {
        match self {
            BindSource::Host(p) => Ok(std::fs::metadata(p)?.is_dir()),
            BindSource::Image(h) => is_dir(h.as_fd()),
        }
    }
}
