//! The message protocol between hull (the parent) and its children, stage 1 and the payload
//! (init, or a process joining a running container), over one `SOCK_SEQPACKET` socketpair (one
//! datagram = one message, serde_json encoded):
//!
//! ```text
//! stage1  -> parent   PlaceMe               (the cgroup refused me: have its systemd manager
//!                                            move me in, `cgroups::join`)
//! parent  -> stage1   Placed
//! stage1  -> parent   MapIds                (new user namespace: write uid_map/gid_map for me)
//! parent  -> stage1   MapIdsDone
//! stage1  -> parent   InitPid { pid }       (payload cloned with CLONE_PARENT; stage1 exits)
//! parent  -> payload  Go                    (the parent holds a pidfd of it and moved
//!                                            linux.netDevices in; continue)
//! init    -> parent   Hooks                 (mounts done, before pivot_root: run prestart,
//!                                            createRuntime)
//! parent  -> init     HooksDone             (they succeeded; init runs createContainer, pivots)
//! payload -> parent   SeccompFd + SCM_RIGHTS (a notifying filter is loaded: its listener fd)
//! parent  -> payload  SeccompFdDone         (the fd reached linux.seccomp.listenerPath)
//! payload -> parent   Ready                 (everything but the gate and the execve is done)
//! child   -> parent   Error { errno, msg }  (instead of any of the above; the child _exits)
//! ```
//! Both ends are O_CLOEXEC, so the payload's execve closes its end: a joining process's parent
//! reads end of stream once the execve happened.

use std::os::fd::{AsRawFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::sys;

fn encode(msg: &Msg) -> Result<Vec<u8>> {
    serde_json::to_vec(msg).map_err(|e| Error::protocol(format!("encode {msg:?}: {e}")))
}

/// One message.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum Msg {
    /// Stage 1 may not join its cgroup itself: the unit's manager should move it.
    PlaceMe,
    /// The manager moved it.
    Placed,
    /// Stage 1 unshared a user namespace and waits for its id maps.
    MapIds,
    /// The parent wrote the maps.
    MapIdsDone,
    /// The pid (in the parent's pid namespace) of init.
    InitPid {
        /// The pid.
        pid: i32,
    },
    /// The parent placed init in its cgroups.
    Go,
    /// Init loaded a notifying seccomp filter; its listener fd rides along (SCM_RIGHTS).
    SeccompFd,
    /// The parent handed the listener fd to the listener.
    SeccompFdDone,
    /// Init's mounts are done: run the prestart and createRuntime hooks now.
    Hooks,
    /// The parent ran them.
    HooksDone,
    /// Init is ready to wait on the exec fifo.
    Ready,
    /// A child failed; it exits after sending this.
    Error {
        /// errno at the bottom of the failure, if any.
        errno: i32,
        /// The rendered error chain.
        msg: String,
    },
}

/// One end of the socketpair.
pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair: (parent's end, children's end).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = sys::socket::pair(libc::SOCK_SEQPACKET).context("sync socket")?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// Send one message.
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let data = encode(msg)?;
        // SAFETY: send(2) reads `data.len()` bytes from a live buffer.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error()).context("send to sync socket");
        }
        Ok(())
    }

    /// Send one message with an fd (SCM_RIGHTS).
    pub fn send_fd(&self, msg: &Msg, fd: &OwnedFd) -> Result<()> {
        let data = encode(msg)?;
        sys::socket::send_with_fd(self.fd.as_raw_fd(), &data, fd.as_raw_fd())
            .context("send to sync socket")
    }

    /// Receive one message; end of stream means every child holding the other end is gone.
    pub fn recv(&self) -> Result<Msg> {
        Ok(self.recv_fd()?.0)
    }

    /// Receive one message and the fd that came with it, if any.
    pub fn recv_fd(&self) -> Result<(Msg, Option<OwnedFd>)> {
        let mut buf = vec![0u8; 64 * 1024];
        let (n, fds) = sys::socket::recv_with_fds(self.fd.as_raw_fd(), &mut buf, false)
            .context("receive from sync socket")?;
        if n == 0 {
            return Err(Error::protocol(
                "the container process exited before reporting",
            ));
        }
        let m = serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::protocol(format!("bad message: {e}")))?;
        Ok((m, fds.into_iter().next()))
    }

    /// Receive and require a specific message; a child's `Error` becomes ours.
    pub fn expect(&self, want: &Msg) -> Result<()> {
        match self.recv()? {
            ref m if m == want => Ok(()),
            Msg::Error { errno, msg } => Err(Error::Child { errno, msg }),
            other => Err(Error::protocol(format!("expected {want:?}, got {other:?}"))),
        }
    }
}
