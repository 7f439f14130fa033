//! The only place that clones. The caller must be single-threaded (checked against
//! /proc/self/status before every clone), so a child may run any of our code; children never
//! return into the parent's frames: they end in [`exit_now`] (the spawn pipeline's children
//! through `process::child_exit`, which reports an error first) or an execve.

use std::os::fd::RawFd;

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

/// `struct clone_args` of clone3(2), up to the `cgroup` field (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// fork(2), with the child born in the cgroup2 directory `cgroup` when the kernel allows it
/// (clone3 with CLONE_INTO_CGROUP, Linux 5.7): no migration, so no wait for the RCU grace period
/// a process's first `cgroup.procs` write of a while pays (several ms). Falls back to a plain fork
/// when it refuses (an old kernel, a cgroup with children and controllers, ...). Returns the pid
/// (0 in the child) and whether the child was born in `cgroup`.
pub fn fork_into(cgroup: Option<RawFd>) -> Result<(i32, bool)> {
    let Some(cgroup) = cgroup else {
        return fork().map(|pid| (pid, false));
    };
    check_single_threaded()?;
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup as u64,
        ..Default::default()
    };
    // SAFETY: clone3 without CLONE_VM and with no stack duplicates the address space like fork;
    // the process is single-threaded, and the child only runs our code then _exits or execs.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid < 0 {
        crate::logging::debug(&format!(
            "clone3 into a cgroup: {}; forking and migrating instead",
            std::io::Error::last_os_error()
        ));
        return fork().map(|pid| (pid, false));
    }
    Ok((pid as i32, true))
}

/// clone(2) with CLONE_PARENT and no new stack (fork semantics): the child becomes a sibling of
/// the caller, i.e. a child of hull's main process. Returns 0 in the child.
pub fn clone_parent() -> Result<i32> {
    clone_with(libc::CLONE_PARENT as libc::c_ulong)
}

/// clone(2) with `flags` (and SIGCHLD) and no new stack: fork semantics. Returns 0 in the child.
fn clone_with(flags: libc::c_ulong) -> Result<i32> {
    check_single_threaded()?;
    // SAFETY: raw clone without CLONE_VM and with a NULL stack duplicates the address space like
    // fork; the process is single-threaded, and the child only runs our code then _exits or execs.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_ulong,
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

/// A child that only waits to be killed (the first process of a systemd scope, which must
/// have one): it holds no fd of hull's, dies with hull (PDEATHSIG) and sleeps. Returns its pid.
pub fn idle_child() -> Result<i32> {
    idle_child_with(false)
}

/// An idle child as [`idle_child`], born in a new user namespace without id maps: the caller
/// writes its `/proc/PID/uid_map` and `gid_map`, opens its `/proc/PID/ns/user` and kills it.
/// Returns its pid.
pub fn idle_child_in_new_userns() -> Result<i32> {
    idle_child_with(true)
}

fn idle_child_with(new_userns: bool) -> Result<i32> {
    let parent = std::process::id() as i32;
    let pid = if new_userns {
        clone_with(libc::CLONE_NEWUSER as libc::c_ulong)?
    } else {
        fork()?
    };
    if pid != 0 {
        return Ok(pid);
    }
    // SAFETY: in the child: plain syscalls, then pause until a signal kills it.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        loop {
            libc::pause();
        }
    }
}

/// `_exit(code)`.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}
