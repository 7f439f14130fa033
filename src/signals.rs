//! Signal names for `kill` (runc's rules: a number, or a name with or without `SIG`, any case;
//! `RTMIN+N`/`RTMAX-N`), the set of signals `run` and `exec` forward to the container process,
//! the signalfd loop that forwards them until it exits, and the signal state hull's children
//! reset before their execve.

use crate::error::{quote, Context, Error, Result};

const NAMES: &[(&str, i32)] = &[
    ("ABRT", libc::SIGABRT),
    ("ALRM", libc::SIGALRM),
    ("BUS", libc::SIGBUS),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("FPE", libc::SIGFPE),
    ("HUP", libc::SIGHUP),
    ("ILL", libc::SIGILL),
    ("INT", libc::SIGINT),
    ("IO", libc::SIGIO),
    ("IOT", libc::SIGIOT),
    ("KILL", libc::SIGKILL),
    ("PIPE", libc::SIGPIPE),
    ("POLL", libc::SIGPOLL),
    ("PROF", libc::SIGPROF),
    ("PWR", libc::SIGPWR),
    ("QUIT", libc::SIGQUIT),
    ("SEGV", libc::SIGSEGV),
    ("STKFLT", libc::SIGSTKFLT),
    ("STOP", libc::SIGSTOP),
    ("SYS", libc::SIGSYS),
    ("TERM", libc::SIGTERM),
    ("TRAP", libc::SIGTRAP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("VTALRM", libc::SIGVTALRM),
    ("WINCH", libc::SIGWINCH),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
];

/// Parse a signal as `kill` accepts it.
pub fn parse(raw: &str) -> Result<i32> {
    let bad = || Error::invalid(format!("invalid signal {}", quote(raw)));
    if let Ok(n) = raw.parse::<i32>() {
        return if (1..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = raw.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = NAMES.iter().find(|(s, _)| *s == name) {
        return Ok(n);
    }
    let rt = |rest: &str, base: i32, sign: i32| -> Result<i32> {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.parse().map_err(|_| bad())?
        };
        let n = base + sign * off;
        if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt(rest.strip_prefix('+').unwrap_or(rest), libc::SIGRTMIN(), 1);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt(rest.strip_prefix('-').unwrap_or(rest), libc::SIGRTMAX(), -1);
    }
    Err(bad())
}

/// Signals `run` forwards to the container process (everything catchable but SIGCHLD and the
/// job-control signals that would only stop hull itself).
pub fn forwarded() -> Vec<i32> {
    let mut v: Vec<i32> = (1..=libc::SIGRTMAX())
        .filter(|&s| {
            !matches!(s, libc::SIGKILL | libc::SIGSTOP | libc::SIGCHLD)
                && !(32..libc::SIGRTMIN()).contains(&s)
        })
        .collect();
    v.sort_unstable();
    v
}

/// The forwarded signals and SIGCHLD, blocked in the calling thread before any clone (so none is
/// lost while the child starts; the child unblocks them before its execve). Dropping the guard
/// restores the previous mask.
pub struct Blocked {
    /// The blocked set (what [`forward_until_exit`] reads from its signalfd).
    pub set: libc::sigset_t,
    old: libc::sigset_t,
}

fn empty_set() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is valid storage; sigemptyset then initialises it.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        s
    }
}

/// Block [`forwarded`] signals and SIGCHLD until the guard is dropped.
pub fn block_forwarded() -> Blocked {
    let mut set = empty_set();
    for s in forwarded().into_iter().chain([libc::SIGCHLD]) {
        // SAFETY: sigaddset on a set we own.
        unsafe { libc::sigaddset(&mut set, s) };
    }
    let mut old = empty_set();
    // SAFETY: sigprocmask with sets we own.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, &mut old) };
    Blocked { set, old }
}

impl Blocked {
    /// A close-on-exec signalfd reading the blocked set (non-blocking when asked).
    pub fn signalfd(&self, nonblock: bool) -> Result<std::os::fd::OwnedFd> {
        use std::os::fd::FromRawFd;
        let flags = libc::SFD_CLOEXEC | if nonblock { libc::SFD_NONBLOCK } else { 0 };
        // SAFETY: signalfd creates a new fd from a set we own.
        let fd = unsafe { libc::signalfd(-1, &self.set, flags) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("signalfd");
        }
        // SAFETY: we own the fd just returned.
        Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        // SAFETY: restore the mask saved by block_forwarded.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

/// Forward every signal of `blocked` but SIGCHLD to `pid` (a child of this process) until it
/// exits, through a signalfd (no threads, no handlers); returns its exit code
/// (`sys::wait::exit_code`).
pub fn forward_until_exit(pid: i32, blocked: &Blocked) -> Result<i32> {
    use std::os::fd::AsRawFd;
    let sfd = blocked.signalfd(false)?;
    loop {
        if let Some(code) = crate::sys::wait::reap(pid)? {
            return Ok(code);
        }
        let Some(sig) = read_signal(sfd.as_raw_fd())? else {
            continue;
        };
        if sig != libc::SIGCHLD {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid, sig) };
        }
    }
}

/// Read one signal from a signalfd: `None` when interrupted or short.
pub fn read_signal(sfd: std::os::fd::RawFd) -> Result<Option<i32>> {
    // SAFETY: an all-zero siginfo is valid storage for read(2) to fill.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: read(2) into a struct of exactly `size` bytes.
    let n = unsafe { libc::read(sfd, (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN)) {
            return Ok(None);
        }
        return Err(e).context("read signalfd");
    }
    Ok((n == size as isize).then_some(info.ssi_signo as i32))
}

/// Before an execve of hull's children (the payload, hooks): an empty signal mask (hull blocks
/// the forwarded signals before cloning) and SIGPIPE back to its default (Rust's runtime
/// ignores it, and an ignored signal stays ignored across execve). Safe in a forked child.
pub fn reset_for_exec() {
    let set = empty_set();
    // SAFETY: sigprocmask/signal with a set we own and valid arguments.
    unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_prefixes() {
        assert_eq!(parse("9").unwrap(), 9);
        assert_eq!(parse("KILL").unwrap(), 9);
        assert_eq!(parse("SIGKILL").unwrap(), 9);
        assert_eq!(parse("sigterm").unwrap(), 15);
        assert_eq!(parse("usr1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse("RTMIN+2").unwrap(), libc::SIGRTMIN() + 2);
        assert_eq!(parse("SIGRTMAX-1").unwrap(), libc::SIGRTMAX() - 1);
        assert!(parse("SIGNOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("99").is_err());
    }
}
