//! A new process joins a container's cgroups: every directory is opened by the parent before
//! any clone (a vanished container or a missing `exec --cgroup` sub-cgroup fails early), and
//! stage 1 moves itself in ([`JoinDirs::join_self`]) so the payload, its clone, is born in all
//! of them. Joining costs no RCU grace period this way: on cgroup2 stage 1 is born in the
//! directory (clone3 CLONE_INTO_CGROUP); on v1 this single-threaded process writes `0` to
//! `tasks`, which moves one thread and so the whole process without the process-wide lock whose
//! first `cgroup.procs` write of a while waits for an RCU grace period (about 10 ms here).
//!
//! A user may not move a process out of a cgroup that is not its own (a login session's) into
//! its systemd unit's: the kernel wants write access to the common ancestor. The unit's manager
//! can ([`JoinDirs::by_manager`]): stage 1 then asks the parent, which asks the manager.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use super::{systemd, CgroupState, Hierarchy};
use crate::error::{quote, short, Context, Error, Result};
use crate::sys;

/// One cgroup directory to join, opened.
struct Dir {
    /// Its path (messages).
    path: PathBuf,
    /// `""` for cgroup2, else the v1 controllers.
    controllers: String,
    /// O_DIRECTORY fd.
    fd: OwnedFd,
}

/// The directories a new process joins, opened before any clone.
pub struct JoinDirs {
    dirs: Vec<Dir>,
    /// runc's fallback for exec: when the container's cgroup2 directory refuses new members
    /// (it has sub-cgroups with controllers: "no internal processes"), join init's own cgroup
    /// (the cgroup2 mount, init's pid).
    fallback: Option<(PathBuf, i32)>,
    /// A user's systemd unit holding the cgroup2 directory, and the sub-cgroup joined in it:
    /// its manager places a process the caller may not move itself.
    manager: Option<(systemd::Unit, String)>,
}

impl JoinDirs {
    /// Open every directory recorded in `state`, or its sub-cgroup `subs[i]` (which must exist:
    /// hull never creates cgroups for a joining process).
    pub fn open(state: &CgroupState, subs: &[Option<PathBuf>]) -> Result<JoinDirs> {
        let none = vec![None; state.hierarchies.len()];
        let subs = if subs.is_empty() { &none[..] } else { subs };
        let manager = state
            .systemd
            .as_ref()
            .filter(|u| u.user_bus.is_some())
            .map(|u| {
                let sub = subs.first().cloned().flatten().unwrap_or_default();
                (u.clone(), sub.to_string_lossy().into_owned())
            });
        let dirs = state
            .hierarchies
            .iter()
            .zip(subs)
            .map(|(h, sub)| {
                let path = match sub {
                    Some(s) => h.path.join(s),
                    None => h.path.clone(),
                };
                let f = File::open(&path).with_context(|| match sub {
                    Some(_) => format!("--cgroup: open the sub-cgroup {}", short(&path)),
                    None => format!("open the container's cgroup {}", path.display()),
                })?;
                Ok(Dir {
                    path,
                    controllers: h.controllers.clone(),
                    fd: OwnedFd::from(f),
                })
            })
            .collect::<Result<_>>()?;
        Ok(JoinDirs {
            dirs,
            fallback: None,
            manager,
        })
    }

    /// Whether a join that failed with `err` is for the unit's manager to do instead: the
    /// caller may not move the process (a user's unit, permission refused).
    pub fn by_manager(&self, err: &Error) -> bool {
        self.manager.is_some() && matches!(err.errno(), Some(libc::EACCES | libc::EPERM))
    }

    /// Have the unit's manager move process `pid` (stage 1, asking) into the cgroup.
    pub fn place_by_manager(&self, pid: i32) -> Result<()> {
        let Some((unit, sub)) = &self.manager else {
            return Err(Error::Msg(
                "internal error: no systemd unit to place the process in".into(),
            ));
        };
        systemd::attach(unit, sub, pid)
            .with_context(|| format!("have systemd move process {pid} into {}", unit.name))
    }

    /// Fall back to the cgroup2 directory of `init_pid` under `unified_root` when the
    /// container's own refuses the process (runc's exec).
    pub fn with_fallback(mut self, unified_root: Option<PathBuf>, init_pid: i32) -> JoinDirs {
        self.fallback = unified_root.map(|root| (root, init_pid));
        self
    }

    /// The cgroup2 directory, for clone3's CLONE_INTO_CGROUP.
    pub fn v2_fd(&self) -> Option<RawFd> {
        self.dirs
            .iter()
            .find(|d| d.controllers.is_empty())
            .map(|d| d.fd.as_raw_fd())
    }

    /// Every directory fd (stage 1 closes them once it joined: the payload must hold nothing
    /// of the host's).
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.dirs.iter().map(|d| d.fd.as_raw_fd())
    }

    /// Move the calling process (stage 1, single-threaded) into every directory: v1 through
    /// `tasks`; cgroup2 only when it was not born there (`born_in_v2`), through `cgroup.procs`
    /// (cgroup2 refuses a thread-only move across domains), with the fallback if one is set.
    pub fn join_self(&self, born_in_v2: bool) -> Result<()> {
        for d in &self.dirs {
            let file = match (d.controllers.is_empty(), born_in_v2) {
                (true, true) => continue,
                (true, false) => c"cgroup.procs",
                (false, _) => c"tasks",
            };
            let Err(err) = sys::fd::write_at(&d.fd, file, "0") else {
                continue;
            };
            let fallback = match (&self.fallback, d.controllers.is_empty()) {
                (Some((root, pid)), true) => init_cgroup2(*pid).map(|rel| root.join(rel)),
                _ => None,
            };
            match fallback {
                Some(dir) if dir != d.path => {
                    crate::logging::debug(&format!(
                        "joining {} failed ({err}); joining init's cgroup {}",
                        d.path.display(),
                        dir.display()
                    ));
                    crate::fsutil::write_file(&dir.join("cgroup.procs"), "0")
                        .with_context(|| format!("join cgroup {}", dir.display()))?;
                }
                _ => {
                    return Err(Error::from(err))
                        .with_context(|| format!("join cgroup {}", d.path.display()))
                }
            }
        }
        Ok(())
    }
}

/// Init's cgroup2 path relative to the mount, from /proc/<pid>/cgroup (`0::/path`).
fn init_cgroup2(pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim_start_matches('/').to_string())
}

/// `--cgroup [CONTROLLER[,CONTROLLER...]:]PATH`, repeatable, runc's: the process joins PATH
/// below the container's cgroup in the hierarchies of those controllers, or in every hierarchy
/// (cgroup2 and `name=` ones included) without a list. A leading `/` is ignored; `..` and
/// controllers the container has no hierarchy for are refused. Returns each hierarchy's
/// sub-path, in `hierarchies` order.
pub fn sub_cgroups(args: &[String], hierarchies: &[Hierarchy]) -> Result<Vec<Option<PathBuf>>> {
    let mut subs = vec![None; hierarchies.len()];
    for arg in args {
        let (controllers, path) = match arg.split_once(':') {
            Some((c, p)) => (Some(c), p),
            None => (None, arg.as_str()),
        };
        let mut sub = PathBuf::new();
        for c in Path::new(path).components() {
            match c {
                Component::Normal(n) => sub.push(n),
                Component::RootDir | Component::CurDir => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "--cgroup {}: {} is not a sub-cgroup path",
                        quote(arg),
                        short(path)
                    )))
                }
            }
        }
        if sub.as_os_str().is_empty() {
            return Err(Error::invalid(format!(
                "--cgroup {}: no sub-cgroup path",
                quote(arg)
            )));
        }
        match controllers {
            None => subs.iter_mut().for_each(|s| *s = Some(sub.clone())),
            Some(list) => {
                for c in list.split(',') {
                    let mut found = false;
                    for (i, h) in hierarchies.iter().enumerate() {
                        if !h.controllers.is_empty() && h.controllers.split(',').any(|x| x == c) {
                            subs[i] = Some(sub.clone());
                            found = true;
                        }
                    }
                    if !found {
                        return Err(Error::invalid(format!(
                            "--cgroup {}: the container has no cgroup hierarchy for controller {}",
                            quote(arg),
                            quote(c)
                        )));
                    }
                }
            }
        }
    }
    Ok(subs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_cgroups_follow_runcs_format() {
        let h = |c: &str, p: &str| Hierarchy {
            controllers: c.to_string(),
            path: PathBuf::from(p),
        };
        let hs = [
            h("cpu", "/c/cpu/x"),
            h("memory", "/c/memory/x"),
            h("name=systemd", "/c/systemd/x"),
            h("", "/c/unified/x"),
        ];
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let some = |p: &str| Some(PathBuf::from(p));
        // No list: every hierarchy; a leading slash is ignored.
        assert_eq!(
            sub_cgroups(&args(&["/a/b"]), &hs).unwrap(),
            [some("a/b"), some("a/b"), some("a/b"), some("a/b")]
        );
        // Lists pick hierarchies; later arguments override earlier ones.
        assert_eq!(
            sub_cgroups(&args(&["s", "cpu,memory:t"]), &hs).unwrap(),
            [some("t"), some("t"), some("s"), some("s")]
        );
        assert_eq!(
            sub_cgroups(&args(&["name=systemd:u"]), &hs).unwrap(),
            [None, None, some("u"), None]
        );
        for bad in ["../x", "a/../../x", "", "cpu:", "bogus:x", "cpu,bogus:x"] {
            assert!(sub_cgroups(&args(&[bad]), &hs).is_err(), "{bad:?}");
        }
        assert_eq!(sub_cgroups(&[], &hs).unwrap(), [None, None, None, None]);
    }
}
