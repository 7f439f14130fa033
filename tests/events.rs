//! `hull events`: the one-shot `--stats` event (runc's `types.Stats` JSON, checked against the
//! limits the config set), the stream (stats every `--interval`, an `oom` event when the memory
//! cgroup kills, the end of the stream when the container exits), and runc's errors for an
//! unknown id, a stopped container and a bad interval. Streams run as child processes writing to
//! files; each is waited for with a deadline and killed (by its pid) if it outlives the test.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

/// A running `hull events` child whose stdout goes to a file; killed on drop if still running.
struct Stream {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Stream {
    fn start(env: &Env, args: &[&str], tag: &str) -> Stream {
        let out = env.dir.join(format!("{tag}.events"));
        let err = env.dir.join(format!("{tag}.events.err"));
        let child = env
            .cmd(args)
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Stream { child, out, err }
    }

    /// The events written so far, parsed (a torn last line is left for later).
    fn events(&self) -> Vec<Value> {
        fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Wait until `pred` holds for the events, up to `secs`.
    fn wait_for(&self, secs: u64, pred: impl Fn(&[Value]) -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if pred(&self.events()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred(&self.events())
    }

    /// Wait for the process to exit by itself, up to `secs`.
    fn wait_exit(&mut self, secs: u64) -> Option<ExitStatus> {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // Child::kill signals this child's own pid.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn is_oom(e: &Value, id: &str) -> bool {
    e == &json!({"type": "oom", "id": id})
}

/// Create and start a container from `b`, asserting both succeed.
fn create_start(env: &Env, b: &Bundle, id: &str) -> PathBuf {
    let out = env.create_ok(b, id);
    let o = env.hull(&["start", id]);
    assert!(o.status.success(), "start {id}: {}", text(&o.stderr));
    out
}

fn wait_file_contains(path: &Path, needle: &str) {
    for _ in 0..500 {
        if fs::read_to_string(path)
            .unwrap_or_default()
            .contains(needle)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} never contained {needle:?}", path.display());
}

#[test]
fn stats_reports_the_configured_limits_and_live_usage() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["sh", "-c", "echo ready; sleep 100"]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 64 * MIB}, "pids": {"limit": 50}});
    });
    let id = env.id("evstats");
    let out = create_start(&env, &b, &id);
    wait_file_contains(&out, "ready");

    let o = env.hull(&["events", "--stats", &id]);
    assert!(o.status.success(), "events --stats: {}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    assert!(stdout.ends_with('\n'));
    let ev: Value = serde_json::from_str(stdout.trim_end()).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    let d = &ev["data"];
    assert_eq!(d["memory"]["usage"]["limit"], 64 * MIB, "{d}");
    assert!(
        d["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{d}"
    );
    assert!(
        d["memory"]["raw"]
            .as_object()
            .is_some_and(|m| !m.is_empty()),
        "{d}"
    );
    assert!(d["pids"]["current"].as_u64().unwrap_or(0) >= 1, "{d}");
    assert_eq!(d["pids"]["limit"], 50, "{d}");
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0, "{d}");
    // runc's shape: every top-level key, `{}` for what hull cannot measure.
    for k in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
    ] {
        assert!(d[k].is_object(), "{k} missing: {d}");
    }
    assert!(
        d.get("network_interfaces").is_some_and(Value::is_null),
        "{d}"
    );

    // Still the same container afterwards: events never touches it.
    assert_eq!(env.status(&id), "running");
}

#[test]
fn oom_kill_is_streamed_and_the_container_stops() {
    require_root!();
    let env = Env::new();
    // tail keeps its current line in memory; /dev/zero has no newline, so it grows until killed.
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "echo ready; sleep 1; tail /dev/zero; echo survived",
    ]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 16 * MIB, "swap": 16 * MIB}});
    });
    let id = env.id("evoom");
    let out = env.create_ok(&b, &id);
    let mut s = Stream::start(&env, &["events", "--interval", "1s", &id], "oom");
    // The stream must be registered before the allocation starts: give it a moment.
    std::thread::sleep(Duration::from_millis(300));
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));

    assert!(
        s.wait_for(20, |evs| evs.iter().any(|e| is_oom(e, &id))),
        "no oom event; events: {:?}; stderr: {}",
        s.events(),
        s.stderr()
    );
    // tail never ends by itself (/dev/zero is endless): "survived" proves the OOM killer took it,
    // and the container then stops.
    env.wait_status(&id, "stopped");
    let status = s
        .wait_exit(10)
        .expect("the stream did not end after the container stopped");
    assert!(status.success(), "events exited {status:?}: {}", s.stderr());
    let printed = fs::read_to_string(&out).unwrap();
    assert_eq!(printed, "ready\nsurvived\n");
    // Every line is a runc event of this container.
    for e in s.events() {
        assert_eq!(e["id"], id.as_str());
        assert!(e["type"] == "oom" || e["type"] == "stats", "{e}");
    }
}

#[test]
fn stream_sends_stats_every_interval_and_ends_when_the_container_exits() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", "sleep 1.5"]);
    let id = env.id("evend");
    create_start(&env, &b, &id);
    let started = Instant::now();
    let mut s = Stream::start(&env, &["events", "--interval", "200ms", &id], "end");
    let status = s
        .wait_exit(15)
        .expect("events did not end when the container exited");
    assert!(status.success(), "events exited {status:?}: {}", s.stderr());
    // It ended because the container stopped, not at once.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "ended after {:?}",
        started.elapsed()
    );
    assert_eq!(env.status(&id), "stopped");
    let evs = s.events();
    let raw = fs::read_to_string(&s.out).unwrap();
    assert_eq!(
        evs.len(),
        raw.lines().count(),
        "every line is one JSON event: {raw}"
    );
    assert!(
        evs.len() >= 3,
        "expected a stats event every 200ms over ~1.5s, got {}: {raw}",
        evs.len()
    );
    for e in &evs {
        assert_eq!(e["type"], "stats", "{e}");
        assert_eq!(e["id"], id.as_str());
        assert!(e["data"]["cpu"].is_object(), "{e}");
    }
}

#[test]
fn unknown_and_stopped_containers_and_bad_intervals_fail_like_runc() {
    require_root!();
    let env = Env::new();
    let o = env.hull(&["events", "--stats", "no-such-container"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("container does not exist"),
        "{}",
        text(&o.stderr)
    );
    assert!(o.stdout.is_empty());
    let o = env.hull(&["events", "no-such-container"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("container does not exist"),
        "{}",
        text(&o.stderr)
    );

    let b = env.bundle(&["true"]);
    let id = env.id("evstopped");
    create_start(&env, &b, &id);
    env.wait_status(&id, "stopped");
    for args in [
        &["events", "--stats", id.as_str()][..],
        &["events", id.as_str()][..],
    ] {
        let o = env.cmd(args).stdout(Stdio::piped()).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!("container with id {id} is not running")),
            "{err}"
        );
        assert!(o.stdout.is_empty());
    }

    let o = env.hull(&["events", "--interval", "0s", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("duration interval must be greater than 0"),
        "{}",
        text(&o.stderr)
    );
    let o = env.hull(&["events", "--interval", "5", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("time: missing unit in duration \"5\""),
        "{}",
        text(&o.stderr)
    );
}
