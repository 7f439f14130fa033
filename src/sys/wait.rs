//! Waiting: poll(2) over fds, and waitpid(2) on hull's own children (reaping, exit codes in the
//! shell's convention).

use crate::error::{Context, Result};

/// A pollfd asking for readability.
pub fn pollin(fd: libc::c_int) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// poll(2) over `fds`, retried on EINTR; returns how many are ready (0 on timeout).
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<i32> {
    loop {
        // SAFETY: poll on a slice of pollfds the caller owns, with its true length.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if r >= 0 {
            return Ok(r);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e).context("poll");
        }
    }
}

/// waitpid(2) for a child of this process until it exits (retried on EINTR); its raw wait
/// status.
pub fn wait(pid: i32) -> Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a status int we own.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 {
            return Ok(status);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e).context("waitpid");
        }
    }
}

/// Reap a child if it has exited (WNOHANG): its exit code ([`exit_code`]), or `None` while it
/// runs.
pub fn reap(pid: i32) -> Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a status int we own.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).context("waitpid container process");
    }
    Ok((r != 0).then(|| exit_code(status)))
}

/// The shell convention: the exit status, or 128+N after signal N.
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}
