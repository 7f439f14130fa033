//! The loader: raw seccomp(2) with the OCI flags (no libseccomp, no NNP of its own: the caller
//! sets PR_SET_NO_NEW_PRIVS when the config asks, or holds CAP_SYS_ADMIN), returning the
//! listener fd when the filter can notify; and the hand-off of that fd with the container
//! process state to `listenerPath` (runtime-spec config-linux.md, "seccomp" / listenerPath).

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::emit::Compiled;
use super::plan::flag;
use crate::error::{Context, Error, Result};

/// Load the filters into the calling thread (and, with TSYNC, its siblings); returns the
/// listener fd of the notify filter, if there is one.
pub fn install(c: &Compiled) -> Result<Option<OwnedFd>> {
    let mut listener = None;
    for f in &c.filters {
        let mut flags = c.flags;
        if f.new_listener {
            flags |= flag::NEW_LISTENER;
            if flags & flag::TSYNC != 0 {
                // TSYNC and NEW_LISTENER together need TSYNC_ESRCH.
                flags |= flag::TSYNC_ESRCH;
            }
        } else {
            // WAIT_KILLABLE_RECV is about the listener; the kernel refuses it on other filters.
            flags &= !flag::WAIT_KILLABLE_RECV;
        }
        let r = load_one(&f.program, flags)?;
        if f.new_listener {
            // SAFETY: with NEW_LISTENER the return value is a new fd owned by nobody else.
            listener = Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
    }
    Ok(listener)
}

fn load_one(program: &[libc::sock_filter], flags: u32) -> Result<i64> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads the sock_fprog and the program it points
    // to, both alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1u32,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        let why = match e.raw_os_error() {
            Some(libc::EACCES) => "loading a filter needs CAP_SYS_ADMIN or no_new_privs",
            Some(libc::EINVAL) => "the kernel refused the filter or one of its flags",
            _ => "seccomp(SECCOMP_SET_MODE_FILTER)",
        };
        return Err(Error::from(e)).context(format!("linux.seccomp: {why}"));
    }
    Ok(r)
}

/// Connect to `path` and send `state` (the containerProcessState JSON) with `fd` in one
/// sendmsg (SCM_RIGHTS), then close the connection.
pub fn send_listener_fd(path: &Path, state: &[u8], fd: &OwnedFd) -> Result<()> {
    let sock = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("linux.seccomp.listenerPath: connect {}", path.display()))?;
    send_with_fd(sock.as_raw_fd(), state, fd.as_raw_fd())
        .with_context(|| format!("linux.seccomp.listenerPath: send to {}", path.display()))
}

/// sendmsg(2) of `data` with one fd as SCM_RIGHTS.
pub fn send_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> Result<()> {
    let iov = [IoSlice::new(data)];
    let fds = [fd];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    let n = nix::sys::socket::sendmsg::<()>(
        sock,
        &iov,
        &cmsg,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )?;
    if n != data.len() {
        return Err(Error::Msg(format!(
            "short send: {n} of {} bytes",
            data.len()
        )));
    }
    Ok(())
}
