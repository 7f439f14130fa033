//! The systemd test world (tests/common/systemd.rs) and hull in it: systemd as PID 1 on pure
//! cgroup v2 with a system bus, hull's cgroupfs driver there, and a world that leaves nothing
//! behind however its test process ends.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::systemd::{SystemdWorld, Unavailable};
use common::*;

/// CGROUP2_SUPER_MAGIC as `stat -f -c %t` prints it.
const CGROUP2_MAGIC: &str = "63677270";

/// The `0::` line of a /proc/PID/cgroup text.
fn cgroup2_line(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("0::"))
        .unwrap_or_else(|| panic!("no 0:: line in {text:?}"))
        .to_string()
}

#[test]
fn systemd_is_pid_1_and_the_cgroups_are_pure_v2() {
    let world = systemd_world!();
    assert_eq!(world.read("/proc/1/comm").trim(), "systemd");
    let state = world.output(&["systemctl", "is-system-running"]);
    let state = text(&state.stdout);
    assert!(
        ["running", "degraded"].contains(&state.trim()),
        "is-system-running: {state}"
    );
    assert_eq!(
        world.sh("systemd-detect-virt --container").trim(),
        "systemd-nspawn"
    );
    assert_eq!(
        world.sh("stat -f -c %t /sys/fs/cgroup").trim(),
        CGROUP2_MAGIC,
        "/sys/fs/cgroup of the world is not cgroup2"
    );
    // No v1 hierarchy is mounted in the world (the kernel still lists the host's v1
    // hierarchies in /proc/PID/cgroup: those are global, mounts are not).
    let mountinfo = world.read("/proc/self/mountinfo");
    let v1: Vec<&str> = mountinfo
        .lines()
        .filter(|l| {
            l.split_once(" - ")
                .is_some_and(|(_, t)| t.starts_with("cgroup "))
        })
        .collect();
    assert!(v1.is_empty(), "cgroup v1 mounted in the world: {v1:#?}");
    // systemd manages the whole cgroup2 tree from its root: itself in init.scope, and the
    // controllers the host's cgroup2 offers are offered in the world too.
    assert_eq!(
        cgroup2_line(&world.read("/proc/1/cgroup")),
        "0::/init.scope"
    );
    assert_eq!(world.show1("init.scope", "ControlGroup"), "/init.scope");
    let world_controllers = world.read("/sys/fs/cgroup/cgroup.controllers");
    let host_root = world.cgroup.parent().unwrap().join("cgroup.controllers");
    for c in fs::read_to_string(&host_root).unwrap().split_whitespace() {
        assert!(
            world_controllers.split_whitespace().any(|w| w == c),
            "host cgroup2 controller {c} missing in the world ({world_controllers:?})"
        );
    }
    // Commands run in the world's /hull-tests cgroup and its namespaces.
    assert_eq!(
        cgroup2_line(&world.read("/proc/self/cgroup")),
        "0::/hull-tests"
    );
    assert_eq!(world.read("/proc/sys/kernel/hostname").trim(), world.name);
}

#[test]
fn the_system_bus_answers() {
    let world = systemd_world!();
    let names = world.sh("busctl --system --no-pager --no-legend list");
    for name in ["org.freedesktop.DBus", "org.freedesktop.systemd1"] {
        assert!(
            names.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} is not on the system bus:\n{names}"
        );
    }
    let dbus = world.show("dbus.service", &["ActiveState", "SubState"]);
    assert_eq!(dbus["ActiveState"], "active", "{dbus:?}");
    // A transient scope over the bus (StartTransientUnit, what the systemd cgroup driver
    // does): the command runs in it, and the unit is gone when the command is.
    let unit = format!("hull-world-probe-{}", std::process::id());
    let out = world.sh(&format!(
        "systemd-run --quiet --scope --unit={unit} cat /proc/self/cgroup"
    ));
    assert_eq!(cgroup2_line(&out), format!("0::/system.slice/{unit}.scope"));
    // systemd drops the unit once it has seen the scope's cgroup empty.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let load = world.show1(&format!("{unit}.scope"), "LoadState");
        if load == "not-found" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{unit}.scope still {load} 5 s after its command"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hull_runs_busybox_with_the_cgroupfs_driver_on_pure_v2() {
    let world = systemd_world!();
    let env = world.env();
    // Foreground run, without a cgroup namespace: the container sees its own cgroup2 path.
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "cat /proc/self/cgroup; stat -f -c %t /sys/fs/cgroup; cat /sys/fs/cgroup/cgroup.controllers",
    ]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "cgroup")
    });
    let id = env.id("sd-run");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "run in the world: {err}\n{out}");
    assert_eq!(cgroup2_line(&out), format!("0::/hull/{id}"), "{out}");
    assert!(out.lines().any(|l| l == CGROUP2_MAGIC), "{out}");
    assert!(
        !world.exists(&format!("/sys/fs/cgroup/hull/{id}")),
        "cgroup of {id} left after run"
    );
    assert!(!world.host_cgroup(&format!("/hull/{id}")).exists());

    // create/start/delete with the bundle's cgroup namespace: init at the namespace's root,
    // in /hull/<id> as the world sees it, which is below the world's root on the host.
    let b = env.bundle(&["sh", "-c", "cat /proc/self/cgroup; exec sleep 1000"]);
    let id = env.id("sd-create");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let out = wait_for_output(&b.dir.join("stdout"), "0::");
    assert_eq!(cgroup2_line(&out), "0::/", "{out}");
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        cgroup2_line(&world.read(&format!("/proc/{pid}/cgroup"))),
        format!("0::/hull/{id}")
    );
    let procs = world.read(&format!("/sys/fs/cgroup/hull/{id}/cgroup.procs"));
    assert_eq!(procs.trim(), pid.to_string());
    let host = world.host_cgroup(&format!("/hull/{id}"));
    assert!(host.is_dir(), "{} missing on the host", host.display());
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert!(!world.exists(&format!("/sys/fs/cgroup/hull/{id}")));
    assert!(!host.exists(), "{} left on the host", host.display());
}

// ---- teardown ---------------------------------------------------------------------------------

/// What a world is on the host, to look for after its teardown.
#[derive(Debug)]
struct Traces {
    name: String,
    dir: PathBuf,
    cgroups: Vec<PathBuf>,
}

impl Traces {
    fn of(w: &SystemdWorld) -> Traces {
        Traces {
            name: w.name.clone(),
            dir: w.dir.clone(),
            cgroups: std::iter::once(w.cgroup.clone())
                .chain(w.cgroup_v1.clone())
                .collect(),
        }
    }

    fn parse(line: &str) -> Traces {
        let f: Vec<&str> = line.split_whitespace().collect();
        Traces {
            name: f[1].to_string(),
            dir: PathBuf::from(f[2]),
            cgroups: f[3..].iter().map(PathBuf::from).collect(),
        }
    }

    fn line(&self) -> String {
        let cgs: Vec<String> = self
            .cgroups
            .iter()
            .map(|c| c.display().to_string())
            .collect();
        format!(
            "WORLD {} {} {}",
            self.name,
            self.dir.display(),
            cgs.join(" ")
        )
    }

    /// What is left of the world on the host.
    fn left(&self) -> Vec<String> {
        let mut left = Vec::new();
        // Every process of the world was in its cgroup: a removed cgroup had none left.
        left.extend(
            self.cgroups
                .iter()
                .filter(|c| c.exists())
                .map(|c| format!("cgroup {}", c.display())),
        );
        left.extend(procs_mentioning(&self.name).into_iter().map(|p| {
            format!(
                "process {p}: {:?}",
                fs::read_to_string(format!("/proc/{p}/cmdline"))
            )
        }));
        if self.dir.exists() {
            left.push(format!("directory {}", self.dir.display()));
        }
        left.extend(
            mounts_mentioning(&self.name)
                .into_iter()
                .map(|m| format!("mount {m}")),
        );
        let propagate = Path::new("/run/systemd/nspawn/propagate").join(&self.name);
        if propagate.exists() {
            left.push(format!("{}", propagate.display()));
        }
        left
    }

    /// Wait (bounded) until nothing of the world is left.
    fn wait_gone(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = self.left();
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "systemd world {} not torn down within {within:?}: {left:#?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn private_world() -> Option<SystemdWorld> {
    match SystemdWorld::boot() {
        Ok(w) => Some(w),
        Err(Unavailable::Missing(why)) => {
            skip_or_fail(&format!("no systemd world: {why}"));
            None
        }
        Err(Unavailable::Failed(why)) => panic!("{why}"),
    }
}

#[test]
fn a_world_torn_down_leaves_nothing_on_the_host() {
    let Some(world) = private_world() else {
        return;
    };
    // A container that would run for long, to be taken down with the world.
    let env = world.env();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("sd-left");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let container = world.host_cgroup(&format!("/hull/{id}"));
    let pids = procs(&container);
    assert_eq!(pids.len(), 1, "{pids:?}");
    std::mem::forget(env); // no delete: the world goes with the container in it
    let traces = Traces::of(&world);
    assert!(traces.left().len() >= 2, "{:?}", traces.left());
    let took = world.shut_down();
    let left = traces.left();
    assert!(left.is_empty(), "left after teardown: {left:#?}");
    assert!(is_gone(pids[0]), "the container's init survived");
    assert!(
        took < Duration::from_secs(15),
        "teardown took {took:?} (DefaultTimeoutStopSec=3s should make it seconds)"
    );
    let msg = format!("a private world torn down in {:.2} s\n", took.as_secs_f64());
    let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
}

/// Run `world_owner` in a child test process in `mode`; the world's traces and the child.
fn owner(mode: &str) -> Option<(Traces, std::process::Child, PathBuf)> {
    if !is_root() {
        skip_or_fail("needs root");
        return None;
    }
    let err = std::env::temp_dir().join(format!(
        "hull-world-owner-{}-{mode}.err",
        std::process::id()
    ));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "world_owner", "--ignored", "--nocapture"])
        .env("HULL_WORLD_OWNER", mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.find_map(|l| {
        l.ok()
            .filter(|l| l.starts_with("WORLD ") || l.starts_with("SKIP"))
    });
    match line {
        Some(l) if l.starts_with("WORLD ") => Some((Traces::parse(&l), child, err)),
        other => {
            let _ = child.kill();
            let _ = child.wait();
            let why = fs::read_to_string(&err).unwrap_or_default();
            let _ = fs::remove_file(&err);
            if other.is_some() {
                skip_or_fail(&format!("world owner skipped: {why}"));
                return None;
            }
            panic!("the world owner did not report a world:\n{why}");
        }
    }
}

/// Not a test of its own: the test binary run by the two tests below (`HULL_WORLD_OWNER` set)
/// boots the shared world as any test does, reports it, then panics or waits to be killed.
#[test]
#[ignore = "run in a child process by the teardown tests"]
fn world_owner() {
    let Ok(mode) = std::env::var("HULL_WORLD_OWNER") else {
        return;
    };
    let Some(world) = SystemdWorld::shared() else {
        println!("SKIP");
        return;
    };
    println!("{}", Traces::of(world).line());
    match mode.as_str() {
        "panic" => panic!("the world's owner fails, as a test does"),
        _ => std::thread::sleep(Duration::from_secs(600)),
    }
}

#[test]
fn a_killed_test_process_leaves_no_world() {
    let Some((traces, mut child, err)) = owner("wait") else {
        return;
    };
    // SAFETY: kill(2) of our own unreaped child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    // Its keeper sees the end of the pipe and tears the world down behind it.
    traces.wait_gone(Duration::from_secs(30));
    let _ = fs::remove_file(err);
}

#[test]
fn a_failing_test_binary_ends_with_its_world_gone() {
    let Some((traces, mut child, err)) = owner("panic") else {
        return;
    };
    let status = child.wait().unwrap();
    let why = fs::read_to_string(&err).unwrap_or_default();
    assert_eq!(status.code(), Some(101), "{why}");
    // Torn down at exit (atexit), before the process was gone: nothing to wait for.
    let left = traces.left();
    assert!(
        left.is_empty(),
        "left when the owner exited: {left:#?}\n{why}"
    );
    assert!(why.contains("torn down in"), "{why}");
    let _ = fs::remove_file(err);
}
