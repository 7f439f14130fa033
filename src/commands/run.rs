//! `hull run ID`: create + start in one process. In the foreground hull stays init's parent
//! (CLONE_PARENT), forwards every catchable signal to it through a signalfd loop (no threads),
//! reaps it, deletes the container unless --keep, and exits with the process's status (128+N
//! when it was killed by signal N). With --detach it returns once the process runs.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{create, delete, start, Global};
use crate::cli::RunArgs;
use crate::container::Container;
use crate::error::{Context, Result};
use crate::signals;

/// `hull run`.
pub fn run(g: &Global, a: &RunArgs) -> Result<i32> {
    // Block forwarded signals before any clone so none is lost; init unblocks them before exec.
    let mut set: libc::sigset_t = unsafe_sigset();
    for s in signals::forwarded().into_iter().chain([libc::SIGCHLD]) {
        // SAFETY: sigaddset on a set we own.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    let mut old: libc::sigset_t = unsafe_sigset();
    // SAFETY: sigprocmask with sets we own.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) };
    let res = run_blocked(g, a, &set);
    // SAFETY: restore the mask we saved.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    res
}

fn unsafe_sigset() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is valid storage; sigemptyset then initialises it.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        s
    }
}

fn run_blocked(g: &Global, a: &RunArgs, set: &libc::sigset_t) -> Result<i32> {
    let created = create::create(g, &a.opts, &a.id)?;
    let c = created.container;
    let st = created.state;
    if let Err(e) = start::release(&c, st.pid, st.start_time) {
        let _ = delete::destroy(c, &st);
        return Err(e);
    }
    // Release the lock while the container runs: kill, state and delete must not wait for us.
    drop(c);
    if a.detach {
        return Ok(0);
    }
    let code = forward_until_exit(st.pid, set);
    if !a.keep {
        match Container::open(&g.root, &a.id) {
            Ok(c) => {
                delete::destroy(c, &st)?;
            }
            // Someone deleted it meanwhile: nothing left to clean.
            Err(e) if matches!(e.root_cause(), crate::error::Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    code
}

/// Forward signals to `pid` until it exits; returns its exit code.
fn forward_until_exit(pid: i32, set: &libc::sigset_t) -> Result<i32> {
    // SAFETY: signalfd creates a new fd from a set we own.
    let fd = unsafe { libc::signalfd(-1, set, libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("signalfd");
    }
    // SAFETY: we own the fd just returned.
    let sfd = unsafe { OwnedFd::from_raw_fd(fd) };
    loop {
        if let Some(code) = reap(pid)? {
            return Ok(code);
        }
        // SAFETY: an all-zero siginfo is valid storage for read(2) to fill.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: read(2) into a struct of exactly `size` bytes.
        let n = unsafe {
            libc::read(
                sfd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e).context("read signalfd");
        }
        let sig = info.ssi_signo as i32;
        if sig != libc::SIGCHLD {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid, sig) };
        }
    }
}

fn reap(pid: i32) -> Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a status int we own.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).context("waitpid container init");
    }
    if r == 0 {
        return Ok(None);
    }
    Ok(Some(exit_code(status)))
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
