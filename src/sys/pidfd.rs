//! pidfds: a race-free handle on a process (signals cannot reach a reused pid, and a pidfd
//! polls readable when the process exits).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::error::{Error, Result};

/// pidfd_open(2).
pub fn open(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: the fd was just returned by the kernel and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// pidfd_send_signal(2); a process that is gone is [`Error::NotRunning`].
pub fn signal(pidfd: &OwnedFd, sig: i32) -> Result<()> {
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

/// Wait (up to `timeout_ms`, -1 = forever) for the process behind a pidfd to exit; whether it
/// did.
pub fn wait_exit(pidfd: &OwnedFd, timeout_ms: i32) -> bool {
    let mut pfd = super::wait::pollin(pidfd.as_raw_fd());
    super::wait::poll(std::slice::from_mut(&mut pfd), timeout_ms).is_ok_and(|r| r > 0)
}

/// SIGKILL the process and wait up to `timeout_ms` for it to be gone.
pub fn kill_and_wait(pidfd: &OwnedFd, timeout_ms: i32) {
    let _ = signal(pidfd, libc::SIGKILL);
    wait_exit(pidfd, timeout_ms);
}
