//! Signal names for `kill` (runc's rules: a number, or a name with or without `SIG`, any case;
//! `RTMIN+N`/`RTMAX-N`), and the set of signals `run` forwards to the container.

use crate::error::{Error, Result};

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
    let bad = || Error::invalid(format!("invalid signal {raw:?}"));
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
