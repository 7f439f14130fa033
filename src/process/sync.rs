//! The message protocol between hull (the parent) and its children, stage 1 and init, over one
//! `SOCK_SEQPACKET` socketpair (one datagram = one message, serde_json encoded):
//!
//! ```text
//! stage1 -> parent   MapIds                  (new user namespace: write uid_map/gid_map for me)
//! parent -> stage1   MapIdsDone
//! stage1 -> parent   InitPid { pid }         (init cloned with CLONE_PARENT; stage1 then exits)
//! parent -> init     Go                      (init is in its cgroups; continue)
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

    /// Receive one message; end of stream means every child holding the other end is gone.
    pub fn recv(&self) -> Result<Msg> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: recv(2) writes at most `buf.len()` bytes into our buffer.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(e).context("receive from sync socket");
            }
            if n == 0 {
                return Err(Error::Msg("container init exited before reporting".into()));
            }
            return serde_json::from_slice(&buf[..n as usize])
                .map_err(|e| Error::Msg(format!("bad sync message: {e}")));
        }
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
