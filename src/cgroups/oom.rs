//! OOM notifications of a container's memory cgroup, for `events`: on cgroup v1 an eventfd
//! registered on `memory.oom_control` through `cgroup.event_control` (the kernel signals it on
//! every OOM, and when the cgroup is removed); on cgroup v2 an inotify watch on `memory.events`
//! (whose `oom_kill` count rises on every OOM kill) and `cgroup.events` (`populated 0` once the
//! cgroup is empty). The watch hands out one fd to poll; [`OomWatch::check`] never blocks.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::{stats, CgroupState, Mode};
use crate::error::{Context, Error, Result};
use crate::sys;

/// What an OOM source reported.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Wake {
    /// An OOM happened.
    pub oom: bool,
    /// The cgroup is gone or empty: nothing more can happen.
    pub gone: bool,
}

/// Where OOM notifications come from.
pub enum OomWatch {
    /// cgroup v1: an eventfd registered on `memory.oom_control`.
    V1 {
        efd: File,
        _oom_control: File,
        event_control: PathBuf,
    },
    /// cgroup v2: inotify on `memory.events` and `cgroup.events`.
    V2 {
        inotify: File,
        dir: PathBuf,
        seen: u64,
    },
    /// No memory cgroup to watch.
    None,
}

/// A new fd from a syscall's return value, or the error behind -1 named `what`.
fn owned(fd: libc::c_int, what: &str) -> Result<File> {
    sys::fd::take(fd.into())
        .map(File::from)
        .context(what.to_string())
}

impl OomWatch {
    /// The watch for `cg`'s memory cgroup (nothing to watch without one).
    pub fn new(cg: &CgroupState) -> Result<OomWatch> {
        match cg.mode {
            Mode::Unified => match cg.path_of("") {
                Some(dir) => OomWatch::v2(dir),
                None => Ok(OomWatch::None),
            },
            Mode::Hybrid | Mode::Legacy => match cg.path_of("memory") {
                Some(dir) => OomWatch::v1(dir),
                None => Ok(OomWatch::None),
            },
        }
    }

    /// Register an eventfd for OOM notifications of a v1 memory cgroup.
    fn v1(dir: &Path) -> Result<OomWatch> {
        let oom_control = File::open(dir.join("memory.oom_control"))
            .with_context(|| format!("open {}", dir.join("memory.oom_control").display()))?;
        // SAFETY: eventfd(2) takes an initial value and flags and returns a new fd or -1.
        let efd = owned(
            unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) },
            "eventfd",
        )?;
        let event_control = dir.join("cgroup.event_control");
        crate::fsutil::write_file(
            &event_control,
            &format!("{} {}", efd.as_raw_fd(), oom_control.as_raw_fd()),
        )?;
        Ok(OomWatch::V1 {
            efd,
            _oom_control: oom_control,
            event_control,
        })
    }

    /// Watch a cgroup2 directory's `memory.events` and `cgroup.events`.
    fn v2(dir: &Path) -> Result<OomWatch> {
        // SAFETY: inotify_init1(2) takes flags and returns a new fd or -1.
        let inotify = owned(
            unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) },
            "inotify_init1",
        )?;
        let mut seen = 0;
        for file in ["memory.events", "cgroup.events"] {
            let path = dir.join(file);
            if file == "memory.events" {
                match stats::oom_kill_count(dir, file) {
                    Ok(n) => seen = n,
                    // No memory controller for this cgroup: no OOM kills to see.
                    Err(e) if e.errno() == Some(libc::ENOENT) => continue,
                    Err(e) => return Err(e),
                }
            }
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                .map_err(|_| Error::invalid(format!("{}: NUL in path", path.display())))?;
            // SAFETY: a valid C string and an inotify fd we own.
            let wd = unsafe {
                libc::inotify_add_watch(inotify.as_raw_fd(), c.as_ptr(), libc::IN_MODIFY)
            };
            if wd < 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("inotify_add_watch {}", path.display()));
            }
        }
        Ok(OomWatch::V2 {
            inotify,
            dir: dir.to_path_buf(),
            seen,
        })
    }

    /// The fd to poll for input, if there is anything to watch.
    pub fn fd(&self) -> Option<libc::c_int> {
        match self {
            OomWatch::V1 { efd, .. } => Some(efd.as_raw_fd()),
            OomWatch::V2 { inotify, .. } => Some(inotify.as_raw_fd()),
            OomWatch::None => None,
        }
    }

    /// Consume what the fd has (never blocks) and say what happened.
    pub fn check(&mut self) -> Result<Wake> {
        match self {
            OomWatch::V1 {
                efd, event_control, ..
            } => {
                let mut buf = [0u8; 8];
                match efd.read(&mut buf) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        return Ok(Wake::default())
                    }
                    Err(e) => return Err(e).context("read eventfd"),
                }
                // The kernel also signals the eventfd when the cgroup is removed.
                if !event_control.exists() {
                    return Ok(Wake {
                        oom: false,
                        gone: true,
                    });
                }
                Ok(Wake {
                    oom: true,
                    gone: false,
                })
            }
            OomWatch::V2 { inotify, dir, seen } => {
                let mut buf = [0u8; 4096];
                loop {
                    match inotify.read(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e).context("read inotify"),
                    }
                }
                let mut wake = Wake::default();
                match stats::oom_kill_count(dir, "memory.events") {
                    Ok(n) if n > *seen => {
                        *seen = n;
                        wake.oom = true;
                    }
                    Ok(_) => {}
                    Err(e) if e.errno() == Some(libc::ENOENT) && !dir.exists() => wake.gone = true,
                    Err(e) if e.errno() == Some(libc::ENOENT) => {}
                    Err(e) => return Err(e),
                }
                match crate::fsutil::read_file(&dir.join("cgroup.events")) {
                    Ok(t) if t.lines().any(|l| l == "populated 0") => wake.gone = true,
                    Ok(_) => {}
                    Err(_) => wake.gone = true,
                }
                Ok(wake)
            }
            OomWatch::None => Ok(Wake::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_watch_sees_oom_kills_and_empty_cgroup() {
        let dir = std::env::temp_dir().join(format!("hull-events-v2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
        std::fs::write(dir.join("memory.events"), events).unwrap();
        std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        let mut w = OomWatch::v2(&dir).unwrap();
        // Kills before the watch started are not reported.
        assert_eq!(w.check().unwrap(), Wake::default());
        std::fs::write(
            dir.join("memory.events"),
            events.replace("oom_kill 1", "oom_kill 2"),
        )
        .unwrap();
        let mut fds = [sys::wait::pollin(w.fd().unwrap())];
        sys::wait::poll(&mut fds, 2000).unwrap();
        assert_ne!(fds[0].revents, 0, "inotify saw no write");
        assert_eq!(
            w.check().unwrap(),
            Wake {
                oom: true,
                gone: false
            }
        );
        assert_eq!(w.check().unwrap(), Wake::default());
        std::fs::write(dir.join("cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        assert_eq!(
            w.check().unwrap(),
            Wake {
                oom: false,
                gone: true
            }
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
