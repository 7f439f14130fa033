//! Unix sockets: socketpairs, connecting to a path, and one message carrying fds (SCM_RIGHTS) —
//! the sync channel, the console socket, `--pidfd-socket` and the seccomp listener all speak
//! through these.

use std::io::IoSlice;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::error::{Context, Error, Result};

/// A connected AF_UNIX pair of `kind` (SOCK_STREAM, SOCK_SEQPACKET), both ends close-on-exec.
pub fn pair(kind: libc::c_int) -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array we own.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            kind | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error()).context("socketpair");
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Connect a close-on-exec stream socket to the listening socket at `path`.
pub fn connect(path: &Path) -> std::io::Result<OwnedFd> {
    std::os::unix::net::UnixStream::connect(path).map(OwnedFd::from)
}

/// sendmsg(2) of `data` with one fd as SCM_RIGHTS, in one message.
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

/// The most fds one message carries (SCM_MAX_FD, include/net/scm.h).
const SCM_MAX_FD: usize = 253;

/// One recvmsg(2) into `buf` (retried on EINTR; `MSG_DONTWAIT` when `nonblock`): the length
/// and every fd that came with it (close-on-exec, each owned once). The control buffer holds
/// the most a sender can pass: with a smaller one the kernel truncates the control data, still
/// installs the fds that fit, and nix then yields none of them (they would leak).
pub fn recv_with_fds(sock: RawFd, buf: &mut [u8], nonblock: bool) -> Result<(usize, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut cmsg = nix::cmsg_space!([RawFd; SCM_MAX_FD]);
    let mut flags = MsgFlags::MSG_CMSG_CLOEXEC;
    if nonblock {
        flags |= MsgFlags::MSG_DONTWAIT;
    }
    loop {
        let mut iov = [std::io::IoSliceMut::new(buf)];
        match recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(m) => {
                let mut fds = Vec::new();
                let cmsgs = m
                    .cmsgs()
                    .map_err(|_| Error::Msg("recvmsg: control data truncated".into()))?;
                for c in cmsgs {
                    if let ControlMessageOwned::ScmRights(v) = c {
                        // SAFETY: the kernel installed these fds for us; each is owned once.
                        fds.extend(v.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
                    }
                }
                return Ok((m.bytes, fds));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// Found by the `sockets` fuzz target (its input: a seqpacket message `/dev/pts/ptmx` with
    /// five fds), which ran hull out of fds: the control buffer held four, the kernel truncated
    /// the rest of the control data and installed four, and none of them was ever owned.
    #[test]
    fn fuzz_every_fd_of_a_message_is_owned() {
        let (a, b) = pair(libc::SOCK_SEQPACKET).unwrap();
        let fds: Vec<OwnedFd> = (0..5)
            .map(|_| std::fs::File::open("/dev/null").unwrap().into())
            .collect();
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&raw)];
        let iov = [IoSlice::new(b"/dev/pts/ptmx")];
        nix::sys::socket::sendmsg::<()>(
            a.as_raw_fd(),
            &iov,
            &cmsg,
            nix::sys::socket::MsgFlags::empty(),
            None,
        )
        .unwrap();
        let mut buf = [0u8; 64];
        let (n, got) = recv_with_fds(b.as_raw_fd(), &mut buf, true).unwrap();
        assert_eq!((&buf[..n], got.len()), (&b"/dev/pts/ptmx"[..], 5));
    }
}
