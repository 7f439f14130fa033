//! A procfs of hull's own, for the writes hull makes into /proc from inside a container (its
//! sysctls, its exec fifo reopened through /proc/self/fd): a fresh instance mounted nowhere
//! (fsopen), or else a non-recursive detached copy of the container's /proc mount, so no
//! mount stacked on a /proc path (a bind from the image over /proc/sys/net, a masked path)
//! and no symlink planted under it can redirect a write. Every file is opened beneath that
//! root with openat2 (no symlinks, no magic links, no crossing into another mount) and checked
//! to be on procfs before it is written.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;

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
        let resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
        let fd = openat2(
            self.fd.as_raw_fd(),
            rel,
            libc::O_WRONLY | libc::O_TRUNC,
            resolve,
        )
        .with_context(|| format!("open /proc/{}", rel.display()))?;
        if fs_magic(&fd)? != PROC_SUPER_MAGIC {
            return Err(Error::invalid(format!(
                "/proc/{} is not on procfs",
                rel.display()
            )));
        }
        let mut f = std::fs::File::from(fd);
        f.write_all(value.as_bytes())
            .with_context(|| format!("write {value:?} to /proc/{}", rel.display()))
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
