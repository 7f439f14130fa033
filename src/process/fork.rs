//! The only place that clones. The caller must be single-threaded (checked against
//! /proc/self/status before every clone), so a child may run any of our code; children never
//! return into the parent's frames: they finish through [`child_exit`].

use std::convert::Infallible;

use super::sync::{Channel, Msg};
use crate::error::{Error, Result};

/// Refuse to clone from a multi-threaded process.
pub fn check_single_threaded() -> Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1);
    if threads > 1 {
        return Err(Error::Msg(format!(
            "internal error: {threads} threads at clone time; hull must be single-threaded"
        )));
    }
    Ok(())
}

/// fork(2). Returns 0 in the child.
pub fn fork() -> Result<i32> {
    check_single_threaded()?;
    // SAFETY: the process is single-threaded (checked above), so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(pid)
}

/// clone(2) with CLONE_PARENT and no new stack (fork semantics): the child becomes a sibling of
/// the caller, i.e. a child of hull's main process. Returns 0 in the child.
pub fn clone_parent() -> Result<i32> {
    check_single_threaded()?;
    // SAFETY: raw clone without CLONE_VM and with a NULL stack duplicates the address space like
    // fork; the process is single-threaded, and the child only runs our code then _exits or execs.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(pid as i32)
}

/// End a child: on error send one `Msg::Error` up, then `_exit` without unwinding or flushing
/// the parent's stdio buffers.
pub fn child_exit(chan: &Channel, res: Result<Infallible>) -> ! {
    let code = match res {
        Ok(never) => match never {},
        Err(e) => {
            let _ = chan.send(&Msg::Error {
                errno: e.errno().unwrap_or(0),
                msg: e.render(),
            });
            1
        }
    };
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// `_exit(code)`.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}
