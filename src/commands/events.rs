//! `hull events [--stats] [--interval D] ID`: runc's event stream, one JSON object per line,
//! flushed as soon as it is written. `--stats` prints one `{"type":"stats","id":…,"data":{…}}`
//! (data is [`stats::Stats`], runc's `types.Stats`) and exits. Otherwise a stats event follows
//! every `--interval` (a Go duration, default 5s, first one after one interval as with Go's
//! `time.Tick`), an `{"type":"oom","id":…}` event follows every OOM in the container's memory
//! cgroup, and the stream ends, exit 0, when the container's init exits (or its cgroup is
//! removed or emptied).
//!
//! One thread, one `poll(2)`: a pidfd of init (readable once it exits), and the OOM source — on
//! cgroup v1 an eventfd registered on `memory.oom_control` through `cgroup.event_control` (the
//! kernel signals it on every OOM, and when the cgroup is removed); on cgroup v2 an inotify watch
//! on `memory.events` (whose `oom_kill` count rises on every OOM kill) and `cgroup.events`
//! (`populated 0` once the cgroup is empty). The poll timeout is the time left until the next
//! stats tick. The kernel counts an OOM kill before it signals the victim, so an OOM that kills
//! init is reported before the stream ends.
//!
//! The container's lock is not taken: the stream may run for the container's whole life and must
//! not block `kill` or `delete`. runc's order of checks and wording are kept: a bad `--interval`
//! first, then an unknown id (`container does not exist`), then a non-positive interval, then a
//! stopped container (`container with id ID is not running`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Global;
use crate::cgroups::{stats, CgroupState, Mode};
use crate::cli::EventsArgs;
use crate::container::{self, status, State, Status};
use crate::error::{Context, Error, Result};
use crate::logging;

/// runc's `types.Event`.
#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a stats::Stats>,
}

/// Write one event as a line and flush it.
fn emit(out: &mut impl Write, kind: &str, id: &str, data: Option<&stats::Stats>) -> Result<()> {
    let mut line =
        serde_json::to_vec(&Event { kind, id, data }).map_err(|e| Error::Msg(e.to_string()))?;
    line.push(b'\n');
    out.write_all(&line)
        .and_then(|()| out.flush())
        .context("write event to stdout")
}

/// Stream events, or print one stats event with `--stats`.
pub fn run(g: &Global, a: &EventsArgs) -> Result<i32> {
    let interval = parse_duration(&a.interval).map_err(|e| {
        Error::invalid(format!(
            "invalid value {:?} for flag -interval: {e}",
            a.interval
        ))
    })?;
    let st = container::read_state(&g.root, &a.id)?;
    if interval <= 0 {
        return Err(Error::invalid("duration interval must be greater than 0"));
    }
    if status::derive(&st, &g.root.join(&a.id)) == Status::Stopped {
        return Err(Error::invalid(format!(
            "container with id {} is not running",
            a.id
        )));
    }
    let mut out = std::io::stdout().lock();
    if a.stats {
        let s = stats::collect(&st.cgroup)?;
        emit(&mut out, "stats", &a.id, Some(&s))?;
        return Ok(0);
    }
    stream(&st, Duration::from_nanos(interval as u64), &mut out)?;
    Ok(0)
}

/// What an OOM source reported.
#[derive(Debug, Default, PartialEq, Eq)]
struct Wake {
    /// An OOM happened.
    oom: bool,
    /// The cgroup is gone or empty: nothing more can happen.
    gone: bool,
}

/// Where OOM notifications come from.
enum OomWatch {
    /// cgroup v1: an eventfd registered on `memory.oom_control`.
    V1 {
        efd: File,
        _oom_control: File,
        event_control: PathBuf,
    },
    /// cgroup v2: inotify on `memory.events` and `cgroup.events`.
    V2 {
        inotify: File,
        dir: PathBuf,
        seen: u64,
    },
    /// No memory cgroup to watch.
    None,
}

/// `e` wrapped with what was being done.
fn ctx(e: impl Into<Error>, what: &str) -> Error {
    Error::Context {
        msg: what.to_string(),
        source: Box::new(e.into()),
    }
}

fn last_err(what: &str) -> Error {
    ctx(std::io::Error::last_os_error(), what)
}

/// A new fd from a syscall's return value.
fn owned(fd: libc::c_int, what: &str) -> Result<File> {
    if fd < 0 {
        return Err(last_err(what));
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

impl OomWatch {
    fn new(cg: &CgroupState) -> Result<OomWatch> {
        match cg.mode {
            Mode::Unified => match cg.path_of("") {
                Some(dir) => OomWatch::v2(dir),
                None => Ok(OomWatch::None),
            },
            Mode::Hybrid | Mode::Legacy => match cg.path_of("memory") {
                Some(dir) => OomWatch::v1(dir),
                None => Ok(OomWatch::None),
            },
        }
    }

    /// Register an eventfd for OOM notifications of a v1 memory cgroup.
    fn v1(dir: &Path) -> Result<OomWatch> {
        let oom_control = File::open(dir.join("memory.oom_control"))
            .with_context(|| format!("open {}", dir.join("memory.oom_control").display()))?;
        // SAFETY: eventfd(2) takes an initial value and flags and returns a new fd or -1.
        let efd = owned(
            unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) },
            "eventfd",
        )?;
        let event_control = dir.join("cgroup.event_control");
        crate::fsutil::write_file(
            &event_control,
            &format!("{} {}", efd.as_raw_fd(), oom_control.as_raw_fd()),
        )?;
        Ok(OomWatch::V1 {
            efd,
            _oom_control: oom_control,
            event_control,
        })
    }

    /// Watch a cgroup2 directory's `memory.events` and `cgroup.events`.
    fn v2(dir: &Path) -> Result<OomWatch> {
        // SAFETY: inotify_init1(2) takes flags and returns a new fd or -1.
        let inotify = owned(
            unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) },
            "inotify_init1",
        )?;
        let mut seen = 0;
        for file in ["memory.events", "cgroup.events"] {
            let path = dir.join(file);
            if file == "memory.events" {
                match stats::oom_kill_count(dir, file) {
                    Ok(n) => seen = n,
                    // No memory controller for this cgroup: no OOM kills to see.
                    Err(e) if e.errno() == Some(libc::ENOENT) => continue,
                    Err(e) => return Err(e),
                }
            }
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
                .map_err(|_| Error::invalid(format!("{}: NUL in path", path.display())))?;
            // SAFETY: a valid C string and an inotify fd we own.
            let wd = unsafe {
                libc::inotify_add_watch(inotify.as_raw_fd(), c.as_ptr(), libc::IN_MODIFY)
            };
            if wd < 0 {
                return Err(last_err(&format!("inotify_add_watch {}", path.display())));
            }
        }
        Ok(OomWatch::V2 {
            inotify,
            dir: dir.to_path_buf(),
            seen,
        })
    }

    fn fd(&self) -> Option<libc::c_int> {
        match self {
            OomWatch::V1 { efd, .. } => Some(efd.as_raw_fd()),
            OomWatch::V2 { inotify, .. } => Some(inotify.as_raw_fd()),
            OomWatch::None => None,
        }
    }

    /// Consume what the fd has (never blocks) and say what happened.
    fn check(&mut self) -> Result<Wake> {
        match self {
            OomWatch::V1 {
                efd, event_control, ..
            } => {
                let mut buf = [0u8; 8];
                match efd.read(&mut buf) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        return Ok(Wake::default())
                    }
                    Err(e) => return Err(ctx(e, "read eventfd")),
                }
                // The kernel also signals the eventfd when the cgroup is removed.
                if !event_control.exists() {
                    return Ok(Wake {
                        oom: false,
                        gone: true,
                    });
                }
                Ok(Wake {
                    oom: true,
                    gone: false,
                })
            }
            OomWatch::V2 { inotify, dir, seen } => {
                let mut buf = [0u8; 4096];
                loop {
                    match inotify.read(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(ctx(e, "read inotify")),
                    }
                }
                let mut wake = Wake::default();
                match stats::oom_kill_count(dir, "memory.events") {
                    Ok(n) if n > *seen => {
                        *seen = n;
                        wake.oom = true;
                    }
                    Ok(_) => {}
                    Err(e) if e.errno() == Some(libc::ENOENT) && !dir.exists() => wake.gone = true,
                    Err(e) if e.errno() == Some(libc::ENOENT) => {}
                    Err(e) => return Err(e),
                }
                match crate::fsutil::read_file(&dir.join("cgroup.events")) {
                    Ok(t) if t.lines().any(|l| l == "populated 0") => wake.gone = true,
                    Ok(_) => {}
                    Err(_) => wake.gone = true,
                }
                Ok(wake)
            }
            OomWatch::None => Ok(Wake::default()),
        }
    }
}

/// poll(2) the fds for input, up to `timeout` (rounded up to a millisecond); EINTR is no error.
fn poll_in(fds: &mut [libc::pollfd], timeout: Duration) -> Result<()> {
    let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
    for f in fds.iter_mut() {
        f.events = libc::POLLIN;
        f.revents = 0;
    }
    // SAFETY: poll on a slice of pollfds we own, with its true length.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(ctx(e, "poll"));
        }
    }
    Ok(())
}

fn pollfd(fd: libc::c_int) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// The event loop: stats every `interval`, OOM events as they come, until init exits.
fn stream(st: &State, interval: Duration, out: &mut impl Write) -> Result<()> {
    // Open init's pidfd, then check it is still the recorded process (not a reused pid).
    let pidfd = crate::process::pidfd_open(st.pid).ok();
    let alive = || status::is_alive(st.pid, st.start_time);
    if !alive() {
        return Ok(());
    }
    let mut oom = OomWatch::new(&st.cgroup)?;
    let mut next = Instant::now() + interval;
    loop {
        let mut timeout = next.saturating_duration_since(Instant::now());
        if pidfd.is_none() {
            // No pidfd (kernel before 5.3): look at init ten times a second.
            timeout = timeout.min(Duration::from_millis(100));
        }
        let mut fds = Vec::with_capacity(2);
        if let Some(p) = &pidfd {
            fds.push(pollfd(p.as_raw_fd()));
        }
        let oom_at = oom.fd().map(|fd| {
            fds.push(pollfd(fd));
            fds.len() - 1
        });
        poll_in(&mut fds, timeout)?;

        // OOM first: when an OOM kill stops the container, the OOM is reported, then the end.
        if oom_at.is_some_and(|i| fds[i].revents != 0) {
            let w = oom.check()?;
            if w.oom {
                emit(out, "oom", &st.id, None)?;
            }
            if w.gone {
                return Ok(());
            }
        }
        let exited = match &pidfd {
            Some(_) => fds[0].revents != 0,
            None => !alive(),
        };
        if exited {
            if oom.check()?.oom {
                emit(out, "oom", &st.id, None)?;
            }
            return Ok(());
        }
        let now = Instant::now();
        if now >= next {
            match stats::collect(&st.cgroup) {
                Ok(s) => emit(out, "stats", &st.id, Some(&s))?,
                // runc logs a failed collection and keeps streaming.
                Err(e) => logging::error(&e.render()),
            }
            next += interval;
            if next <= now {
                next = now + interval;
            }
        }
    }
}

/// Parse a Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`, `0`) into nanoseconds, with Go's
/// `time.ParseDuration` error wording.
pub fn parse_duration(text: &str) -> std::result::Result<i64, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let mut s = text;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let not_digit = |c: char| !c.is_ascii_digit();
    let mut total: u128 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.starts_with(|c: char| c.is_ascii_digit())) {
            return Err(invalid());
        }
        let end = s.find(not_digit).unwrap_or(s.len());
        let (int_part, rest) = s.split_at(end);
        s = rest;
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let end = rest.find(not_digit).unwrap_or(rest.len());
            frac_part = &rest[..end];
            s = &rest[end..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let end = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let (unit, rest) = s.split_at(end);
        s = rest;
        let per_unit: u128 = match unit {
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {text:?}")),
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = int.checked_mul(per_unit).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Digits past the 18th cannot change the result by a nanosecond.
            let digits = &frac_part[..frac_part.len().min(18)];
            let f: u128 = digits.parse().map_err(|_| invalid())?;
            v += f * per_unit / 10u128.pow(digits.len() as u32);
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        let max = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
        if total > max {
            return Err(invalid());
        }
    }
    Ok(if neg {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("1m"), Ok(60_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("300us"), Ok(300_000));
        assert_eq!(parse_duration("300µs"), Ok(300_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse_duration("+2ms"), Ok(2_000_000));
        assert_eq!(
            parse_duration("5"),
            Err("time: missing unit in duration \"5\"".into())
        );
        assert_eq!(
            parse_duration("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert_eq!(
            parse_duration("abc"),
            Err("time: invalid duration \"abc\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
        assert_eq!(
            parse_duration(".s"),
            Err("time: invalid duration \".s\"".into())
        );
        assert!(parse_duration("9999999999h").is_err());
    }

    #[test]
    fn events_are_runc_lines() {
        let mut out = Vec::new();
        emit(&mut out, "oom", "c1", None).unwrap();
        emit(&mut out, "stats", "c1", Some(&stats::Stats::default())).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(r#"{"type":"oom","id":"c1"}"#));
        assert!(lines
            .next()
            .unwrap()
            .starts_with(r#"{"type":"stats","id":"c1","data":{"cpu":{}"#));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn v2_watch_sees_oom_kills_and_empty_cgroup() {
        let dir = std::env::temp_dir().join(format!("hull-events-v2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
        std::fs::write(dir.join("memory.events"), events).unwrap();
        std::fs::write(dir.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        let mut w = OomWatch::v2(&dir).unwrap();
        // Kills before the watch started are not reported.
        assert_eq!(w.check().unwrap(), Wake::default());
        std::fs::write(
            dir.join("memory.events"),
            events.replace("oom_kill 1", "oom_kill 2"),
        )
        .unwrap();
        let mut fds = [pollfd(w.fd().unwrap())];
        poll_in(&mut fds, Duration::from_secs(2)).unwrap();
        assert_ne!(fds[0].revents, 0, "inotify saw no write");
        assert_eq!(
            w.check().unwrap(),
            Wake {
                oom: true,
                gone: false
            }
        );
        assert_eq!(w.check().unwrap(), Wake::default());
        std::fs::write(dir.join("cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        assert_eq!(
            w.check().unwrap(),
            Wake {
                oom: false,
                gone: true
            }
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
