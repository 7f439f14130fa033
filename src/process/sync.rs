//! The message protocol between hull (the parent) and its children, stage 1 and init, over one
//! `SOCK_SEQPACKET` socketpair (one datagram = one message, serde_json encoded):
//!
//! ```text
//! stage1 -> parent   MapIds                  (new user namespace: write uid_map/gid_map for me)
//! parent -> stage1   MapIdsDone
//! stage1 -> parent   InitPid { pid }         (init cloned with CLONE_PARENT; stage1 then exits)
//! parent -> init     Go                      (init is in its cgroups; continue)
//! init   -> parent   Hooks                   (mounts done, before pivot_root: run prestart, createRuntime)
//! parent -> init     HooksDone               (they succeeded; init runs createContainer, pivots)
//! init   -> parent   SeccompFd + SCM_RIGHTS   (a notifying filter is loaded: its listener fd)
//! parent -> init     SeccompFdDone            (the fd reached linux.seccomp.listenerPath)
//! init   -> parent   Ready                   (everything but the final execve is done)
//! child  -> parent   Error { errno, msg }    (instead of any of the above; the child then _exits)
//! ```
//! Both ends are O_CLOEXEC, so the payload never inherits them.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

/// One message.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum Msg {
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
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array we own.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("socketpair");
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// Send one message.
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let data = serde_json::to_vec(msg).map_err(|e| Error::Msg(e.to_string()))?;
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
        let data = serde_json::to_vec(msg).map_err(|e| Error::Msg(e.to_string()))?;
        crate::seccomp::load::send_with_fd(self.fd.as_raw_fd(), &data, fd.as_raw_fd())
            .context("send to sync socket")
    }

    /// Receive one message; end of stream means every child holding the other end is gone.
    pub fn recv(&self) -> Result<Msg> {
        Ok(self.recv_fd()?.0)
    }

    /// Receive one message and the fd that came with it, if any.
    pub fn recv_fd(&self) -> Result<(Msg, Option<OwnedFd>)> {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let mut buf = vec![0u8; 64 * 1024];
        let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let (n, fd) = loop {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let flags = MsgFlags::MSG_CMSG_CLOEXEC;
            match recvmsg::<()>(self.fd.as_raw_fd(), &mut iov, Some(&mut cmsg), flags) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::from(e)).context("receive from sync socket"),
                Ok(m) => {
                    let mut fd = None;
                    for c in m.cmsgs().into_iter().flatten() {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for f in fds {
                                // SAFETY: the kernel installed this fd for us; owned once.
                                let owned = unsafe { OwnedFd::from_raw_fd(f) };
                                fd.get_or_insert(owned);
                            }
                        }
                    }
                    break (m.bytes, fd);
                }
            }
        };
        if n == 0 {
            return Err(Error::Msg("container init exited before reporting".into()));
        }
        let m = serde_json::from_slice(&buf[..n])
            .map_err(|e| Error::Msg(format!("bad sync message: {e}")))?;
        Ok((m, fd))
    }

    /// Receive and require a specific message; a child's `Error` becomes ours.
    pub fn expect(&self, want: &Msg) -> Result<()> {
        match self.recv()? {
            ref m if m == want => Ok(()),
            Msg::Error { msg, .. } => Err(Error::Msg(msg)),
            other => Err(Error::Msg(format!(
                "sync: expected {want:?}, got {other:?}"
            ))),
        }
    }
}
