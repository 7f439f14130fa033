//! The `events` verb: runc's event stream, one JSON object per line, flushed as soon as it is
//! written. With `stats_only` one `{"type":"stats","id":…,"data":{…}}` (data is
//! [`stats::Stats`], runc's `types.Stats`) and done. Otherwise a stats event follows every
//! interval (the first one after one interval, as with Go's `time.Tick`), an
//! `{"type":"oom","id":…}` event follows every OOM in the container's memory cgroup
//! (`cgroups::oom`), and the stream ends when the container's init exits (or its cgroup is
//! removed or emptied).
//!
//! One thread, one `poll(2)`: a pidfd of init (readable once it exits) and the OOM watch's fd;
//! the timeout is the time left until the next stats tick. The kernel counts an OOM kill before
//! it signals the victim, so an OOM that kills init is reported before the stream ends.
//!
//! The container's lock is not taken: the stream may run for the container's whole life and
//! must not block `kill` or `delete`. runc's order of checks and wording are kept: an unknown id
//! (`container does not exist`), then a non-positive interval, then a stopped container
//! (`container with id ID is not running`).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{status, State};
use crate::cgroups::oom::OomWatch;
use crate::cgroups::stats;
use crate::error::{Context, Error, Result};
use crate::{logging, sys};

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

/// Stream the events of container `id` under `root` to `out` every `interval_ns` nanoseconds
/// (the caller parsed the flag), or write one stats event with `stats_only`.
pub fn events(
    root: &Path,
    id: &str,
    interval_ns: i64,
    stats_only: bool,
    out: &mut impl Write,
) -> Result<()> {
    let st = super::read_state(root, id)?;
    if interval_ns <= 0 {
        return Err(Error::invalid("duration interval must be greater than 0"));
    }
    if !status::derive(&st, &root.join(id)).is_live() {
        return Err(Error::invalid(format!(
            "container with id {id} is not running"
        )));
    }
    if stats_only {
        st.cgroup.require(id, "events --stats")?;
        let s = stats::collect(&st.cgroup)?;
        return emit(out, "stats", id, Some(&s));
    }
    stream(&st, Duration::from_nanos(interval_ns as u64), out)
}

/// The event loop: stats every `interval`, OOM events as they come, until init exits.
fn stream(st: &State, interval: Duration, out: &mut impl Write) -> Result<()> {
    // Open init's pidfd, then check it is still the recorded process (not a reused pid).
    let pidfd = sys::pidfd::open(st.pid).ok();
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
            fds.push(sys::wait::pollin(p.as_raw_fd()));
        }
        let oom_at = oom.fd().map(|fd| {
            fds.push(sys::wait::pollin(fd));
            fds.len() - 1
        });
        // Rounded up to a millisecond.
        let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        sys::wait::poll(&mut fds, ms)?;

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
        // Without a cgroup (rootless) there are no stats: the stream waits for the end.
        if now >= next && !st.cgroup.is_none() {
            match stats::collect(&st.cgroup) {
                Ok(s) => emit(out, "stats", &st.id, Some(&s))?,
                // runc logs a failed collection and keeps streaming.
                Err(e) => logging::error(&e.render()),
            }
            next += interval;
            if next <= now {
                next = now + interval;
            }
        } else if now >= next {
            next = now + interval;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
