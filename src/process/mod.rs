//! Parent side of `create`/`run`: spawn stage 1, drive the handshake (id maps, init pid, cgroup
//! placement, Go, Ready), and clean up the child on any failure. Stage 1 and init are clones of
//! this single-threaded process; see `sync.rs` for the protocol and `../../README.md` for the
//! whole process model.

pub mod attrs;
pub mod creds;
pub mod fork;
pub mod init;
pub mod payload;
pub mod stage1;
pub mod sync;
pub mod tenant;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use oci_spec::runtime::LinuxIdMapping;

use crate::cgroups::{self, CgroupState};
use crate::error::{Context, Error, Result};
use crate::namespaces;
use crate::spec::Bundle;
use sync::Msg;

/// Everything the children need, prepared by the parent before the first clone.
pub struct Launch<'a> {
    /// Container id.
    pub id: &'a str,
    /// The validated bundle.
    pub bundle: &'a Bundle,
    /// Namespaces to join and create.
    pub ns: &'a namespaces::Plan,
    /// O_PATH fd of the exec fifo (init reopens it for writing).
    pub fifo: RawFd,
    /// The container's cgroups (for `cgroup` mounts).
    pub cgroup: &'a CgroupState,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// Fds of the parent the children must close at once (the state-dir lock).
    pub close_fds: Vec<RawFd>,
    /// The compiled `linux.seccomp` filter, if any.
    pub seccomp: Option<&'a crate::seccomp::Compiled>,
    /// `process.terminal`: a connected, close-on-exec socket init sends the pty master over
    /// (the caller's --console-socket, or hull's own socketpair in foreground `run`).
    pub console_socket: Option<RawFd>,
}

/// The container's init, as seen by the parent.
pub struct Init {
    /// Host pid.
    pub pid: i32,
    /// A pidfd for it (race-free signals and waits).
    pub pidfd: OwnedFd,
}

/// Spawn the container's init and wait until it is ready to block on the exec fifo.
pub fn launch(l: &Launch, cg: &cgroups::Manager) -> Result<Init> {
    let (parent, child) = sync::pair()?;
    // Stage 1 joins the cgroups before anything else (init, cloned by it, is born there): by
    // birth on cgroup2, by itself on v1 (see `cgroups::join_self`: no RCU wait either way).
    let v2_dir = cg.open_v2_dir();
    let (stage1, v2_joined) =
        fork::fork_into(v2_dir.as_ref().map(|f| f.as_raw_fd())).context("fork stage 1")?;
    if stage1 == 0 {
        drop(parent);
        let res = stage1::run(l, &child, v2_joined);
        fork::child_exit(&child, res);
    }
    drop(child);
    drop(v2_dir);
    let res = handshake(l, &parent, stage1);
    // Stage 1 exits right after reporting init's pid (or failing); reap it either way. On failure
    // it may still wait for a message: kill it first (a zombie pid cannot be reused meanwhile).
    if res.is_err() {
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(stage1, libc::SIGKILL) };
    }
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(stage1), None);
    res
}

fn handshake(l: &Launch, chan: &sync::Channel, stage1: i32) -> Result<Init> {
    let pid = loop {
        match chan.recv()? {
            Msg::MapIds => {
                write_id_maps(stage1, l)?;
                chan.send(&Msg::MapIdsDone)?;
            }
            Msg::InitPid { pid } => break pid,
            Msg::Error { msg, .. } => return Err(Error::Msg(msg)),
            other => {
                return Err(Error::Msg(format!(
                    "sync: unexpected {other:?} from stage 1"
                )))
            }
        }
    };
    let pidfd = pidfd_open(pid).context("pidfd_open of container init")?;
    let init = Init { pid, pidfd };
    let res = (|| {
        chan.send(&Msg::Go)?;
        loop {
            match chan.recv_fd()? {
                (Msg::Ready, _) => return Ok(()),
                (Msg::SeccompFd, Some(fd)) => {
                    send_listener_fd(l, pid, &fd)?;
                    chan.send(&Msg::SeccompFdDone)?;
                }
                (Msg::Hooks, _) => {
                    crate::hooks::create_runtime(l, pid)?;
                    chan.send(&Msg::HooksDone)?;
                }
                (Msg::Error { msg, .. }, _) => return Err(Error::Msg(msg)),
                (other, _) => {
                    return Err(Error::Msg(format!("sync: unexpected {other:?} from init")))
                }
            }
        }
    })();
    match res {
        Ok(()) => Ok(init),
        Err(e) => {
            kill_and_reap(&init);
            Err(e)
        }
    }
}

/// Hand a notifying filter's listener fd to `linux.seccomp.listenerPath` with the container
/// process state (runtime-spec: `containerProcessState`).
fn send_listener_fd(l: &Launch, pid: i32, fd: &OwnedFd) -> Result<()> {
    let annotations = l.bundle.spec.annotations().clone().unwrap_or_default();
    let container = ListenerContainer {
        id: l.id,
        status: "creating",
        init_pid: pid,
        bundle: &l.bundle.dir,
        annotations: &annotations,
    };
    send_listener(l.seccomp, &container, pid, fd)
}

/// The container as a seccomp listener is told about it (the `state` of
/// `containerProcessState`).
pub struct ListenerContainer<'a> {
    /// Container id.
    pub id: &'a str,
    /// `creating` (create's init) or `running` (exec).
    pub status: &'a str,
    /// The container's init (the process itself for create).
    pub init_pid: i32,
    /// Bundle directory.
    pub bundle: &'a std::path::Path,
    /// The config's annotations.
    pub annotations: &'a std::collections::HashMap<String, String>,
}

/// Send `fd`, the listener of the filter `c` loaded by process `pid`, to `c`'s listener path.
pub fn send_listener(
    c: Option<&crate::seccomp::Compiled>,
    container: &ListenerContainer,
    pid: i32,
    fd: &OwnedFd,
) -> Result<()> {
    let Some(c) = c else {
        return Err(Error::Msg("sync: a seccomp fd without a filter".into()));
    };
    let Some(path) = &c.listener_path else {
        return Err(Error::Msg("sync: no listener path".into()));
    };
    let state = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": c.listener_metadata.clone().unwrap_or_default(),
        "state": {
            "ociVersion": crate::OCI_VERSION,
            "id": container.id,
            "status": container.status,
            "pid": container.init_pid,
            "bundle": container.bundle,
            "annotations": container.annotations,
        }
    });
    crate::seccomp::load::send_listener_fd(path, state.to_string().as_bytes(), fd)
}

/// SIGKILL init and reap it (it is our child thanks to CLONE_PARENT).
pub fn kill_and_reap(init: &Init) {
    let _ = pidfd_send_signal(&init.pidfd, libc::SIGKILL);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(init.pid), None);
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

fn write_id_maps(pid: i32, l: &Launch) -> Result<()> {
    let linux = l
        .bundle
        .spec
        .linux()
        .as_ref()
        .expect("validated: linux present");
    let uid = map_text(linux.uid_mappings().as_deref().unwrap_or_default());
    let gid = map_text(linux.gid_mappings().as_deref().unwrap_or_default());
    crate::fsutil::write_file(std::path::Path::new(&format!("/proc/{pid}/uid_map")), &uid)
        .context("linux.uidMappings")?;
    crate::fsutil::write_file(std::path::Path::new(&format!("/proc/{pid}/gid_map")), &gid)
        .context("linux.gidMappings")?;
    Ok(())
}

/// pidfd_open(2).
pub fn pidfd_open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: the fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// pidfd_send_signal(2).
pub fn pidfd_send_signal(pidfd: &OwnedFd, sig: i32) -> Result<()> {
    // SAFETY: plain syscall on a pidfd we own; NULL siginfo is allowed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            0usize,
            0u32,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Err(Error::NotRunning);
        }
        return Err(e.into());
    }
    Ok(())
}

/// Wait (up to `timeout_ms`, -1 = forever) for the process behind a pidfd to exit.
pub fn pidfd_wait_exit(pidfd: &OwnedFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    crate::fsutil::poll(std::slice::from_mut(&mut pfd), timeout_ms).is_ok_and(|r| r > 0)
}
