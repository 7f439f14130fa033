//! The parent's side of a spawn: answer stage 1 (its cgroup through systemd, id maps), take the payload's pid, open a
//! pidfd for it, move a new container's `linux.netDevices` into its network namespace, release
//! it (`Go`), serve what it asks for on the way (the runtime-namespace
//! hooks, a seccomp listener's fd) until `Ready`; for a joining process also wait for its execve.
//! On any failure the payload is killed and reaped.

use super::sync::{Channel, Msg};
use super::{init, kill_and_reap, Child, Kind, Spawn};
use crate::error::{Context, Error, Result};
use crate::sys;

/// Drive the spawn of `s` whose stage 1 is `stage1`.
pub fn run(s: &Spawn, chan: &Channel, stage1: i32) -> Result<Child> {
    let first = first_contact(s, chan, stage1);
    // Stage 1 exits right after reporting the payload's pid (or failing); reap it either way,
    // so the payload is hull's only child from here on. On failure it may still wait for a
    // message: kill it first (a zombie pid cannot be reused meanwhile).
    if first.is_err() {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(stage1, libc::SIGKILL) };
    }
    let _ = sys::wait::wait(stage1);
    let pid = first?;
    let pidfd = sys::pidfd::open(pid).context("pidfd_open of the container process")?;
    let child = Child { pid, pidfd };
    match before_go(s, pid).and_then(|()| release(s, chan, pid)) {
        Ok(()) => Ok(child),
        Err(e) => {
            kill_and_reap(&child);
            Err(e)
        }
    }
}

/// Until stage 1 reports the payload's pid: have systemd place it, write the id maps, when it
/// asks.
fn first_contact(s: &Spawn, chan: &Channel, stage1: i32) -> Result<i32> {
    loop {
        match chan.recv()? {
            Msg::PlaceMe => {
                s.cgroups.place_by_manager(stage1)?;
                chan.send(&Msg::Placed)?;
            }
            Msg::MapIds => {
                write_id_maps(s, stage1)?;
                chan.send(&Msg::MapIdsDone)?;
            }
            Msg::InitPid { pid } => return Ok(pid),
            Msg::Error { errno, msg } => return Err(Error::Child { errno, msg }),
            other => {
                return Err(Error::protocol(format!(
                    "unexpected {other:?} from stage 1"
                )))
            }
        }
    }
}

/// What the parent does to a new container while init waits for `Go`: move the config's
/// network devices into init's network namespace (`netdev.rs`).
fn before_go(s: &Spawn, pid: i32) -> Result<()> {
    let Kind::Init(c) = &s.kind else {
        return Ok(());
    };
    match c
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
    {
        Some(devs) if !devs.is_empty() => crate::netdev::move_all(devs, pid),
        _ => Ok(()),
    }
}

/// `Go`, then serve the payload until `Ready` (and, for a joining process, its execve).
fn release(s: &Spawn, chan: &Channel, pid: i32) -> Result<()> {
    chan.send(&Msg::Go)?;
    loop {
        match chan.recv_fd()? {
            (Msg::Ready, _) => break,
            (Msg::SeccompFd, Some(fd)) => {
                let (status, init_pid) = s.kind.listener_state(pid);
                let c = crate::seccomp::ListenerContainer {
                    id: s.id,
                    status,
                    init_pid,
                    bundle: s.bundle,
                    annotations: s.annotations,
                };
                crate::seccomp::send_listener(s.seccomp, &c, pid, &fd)?;
                chan.send(&Msg::SeccompFdDone)?;
            }
            (Msg::Hooks, _) => {
                let Kind::Init(c) = &s.kind else {
                    return Err(Error::protocol("hooks asked for by a joining process"));
                };
                init::runtime_hooks(s, c, pid)?;
                chan.send(&Msg::HooksDone)?;
            }
            (Msg::Error { errno, msg }, _) => return Err(Error::Child { errno, msg }),
            (other, _) => {
                return Err(Error::protocol(format!(
                    "unexpected {other:?} from the container process"
                )))
            }
        }
    }
    if let Kind::Join(_) = s.kind {
        // The payload's end of the socket is close-on-exec: end of stream means its execve
        // has happened (or it died trying), so `exec -d` returns with the process running, as
        // runc's does. Init instead blocks on the exec fifo until `start`.
        if let Ok(Msg::Error { errno, msg }) = chan.recv() {
            return Err(Error::Child { errno, msg });
        }
    }
    Ok(())
}

/// Write the new user namespace's `uid_map` and `gid_map` for stage 1 (`pid`).
fn write_id_maps(s: &Spawn, pid: i32) -> Result<()> {
    let Kind::Init(c) = &s.kind else {
        return Err(Error::protocol("id maps asked for by a joining process"));
    };
    let linux = c.spec.linux().as_ref().expect("validated: linux present");
    super::idmap::write(
        s.rootless,
        pid,
        linux.uid_mappings().as_deref().unwrap_or_default(),
        linux.gid_mappings().as_deref().unwrap_or_default(),
    )
}
