//! The systemd test world (tests/common/systemd.rs) and hull in it: systemd as PID 1 on pure
//! cgroup v2 with a system bus, hull's cgroupfs driver there, and a world that leaves nothing
//! behind however its test process ends.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::systemd::{SystemdWorld, Unavailable};
use common::*;
use serde_json::{json, Value};

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
    // controllers the host offers the world's cgroup are offered in the world too.
    assert_eq!(
        cgroup2_line(&world.read("/proc/1/cgroup")),
        "0::/init.scope"
    );
    assert_eq!(world.show1("init.scope", "ControlGroup"), "/init.scope");
    let world_controllers = world.read("/sys/fs/cgroup/cgroup.controllers");
    let host_side = world.cgroup.join("cgroup.controllers");
    for c in fs::read_to_string(&host_side).unwrap().split_whitespace() {
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
        let world = format!("systemd world {}", self.name);
        common::keeper::wait_gone(&world, within, || self.left());
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

/// Run `world_owner` in a child test process in `mode` (`keeper::owner`); the world's traces,
/// the child and the file of its stderr.
fn owner(mode: &str) -> Option<(Traces, std::process::Child, PathBuf)> {
    if !is_root() {
        skip_or_fail("needs root");
        return None;
    }
    let (line, child, err) = common::keeper::owner("world_owner", "HULL_WORLD_OWNER", mode)?;
    Some((Traces::parse(&line), child, err))
}

/// Not a test of its own: the test binary run by the two tests below (`HULL_WORLD_OWNER` set)
/// boots the shared world as any test does, reports it, then panics or waits to be killed.
#[test]
#[ignore = "run in a child process by the teardown tests"]
fn world_owner() {
    common::keeper::be_owner("HULL_WORLD_OWNER", SystemdWorld::shared, |w| {
        Traces::of(w).line()
    });
}

#[test]
fn a_killed_test_process_leaves_no_world() {
    let Some((traces, child, err)) = owner("wait") else {
        return;
    };
    common::keeper::kill_owner(child, err);
    // Its keeper sees the end of the pipe and tears the world down behind it.
    traces.wait_gone(Duration::from_secs(30));
}

#[test]
fn a_failing_test_binary_ends_with_its_world_gone() {
    let Some((traces, child, err)) = owner("panic") else {
        return;
    };
    common::keeper::owner_failed(child, err, || traces.left());
}

// ---- the systemd cgroup driver (`--systemd-cgroup`) -----------------------------------------

/// `hull --systemd-cgroup create` of `b` as `id` that must succeed (stdio to files).
fn sd_create(env: &common::systemd::WorldEnv, b: &Bundle, id: &str) {
    // Files, not pipes: the container's init inherits them and outlives create.
    let out = fs::File::create(b.dir.join("stdout")).unwrap();
    let err = fs::File::create(b.dir.join("stderr")).unwrap();
    let status = env
        .hull_cmd(&[
            "--systemd-cgroup",
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            id,
        ])
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    let err = fs::read_to_string(b.dir.join("stderr")).unwrap_or_default();
    assert!(status.success(), "create {id}: {err}");
}

/// The world's pids in a cgroup of the world.
fn procs_in(world: &SystemdWorld, cgroup: &str) -> Vec<i32> {
    let mut v: Vec<i32> = world
        .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.procs"))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// The unit is gone: not loaded, no cgroup.
fn assert_unit_gone(world: &SystemdWorld, unit: &str, cgroup: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let load = world.show1(unit, "LoadState");
        let dir = world.exists(&format!("/sys/fs/cgroup{cgroup}"));
        if load == "not-found" && !dir {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{unit} left: LoadState={load}, cgroup {cgroup} exists: {dir}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A container under the systemd driver is a transient scope in the slice its cgroupsPath
/// names, delegated, accounted, without default dependencies, with its resources and
/// `org.systemd.property.*` annotations as unit properties, init its only process (the
/// scope's idle first process is gone) and placed there before it runs. This host's cgroup2
/// offers only hugetlb: controllers it lacks are given as annotations (properties only);
/// resources that would write their files are checked where the world offers the controller.
#[test]
fn systemd_driver_makes_a_delegated_scope_with_the_configs_properties() {
    let world = systemd_world!();
    let env = world.env();
    let id = env.id("sdscope");
    let unit = format!("hulltest-{id}.scope");
    let cgroup = format!("/system.slice/{unit}");
    let offered = world.read("/sys/fs/cgroup/cgroup.controllers");
    let has = |c: &str| offered.split_whitespace().any(|o| o == c);
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("system.slice:hulltest:{id}"));
        c["annotations"] = json!({
            "org.systemd.property.TimeoutStopSec": "7",
            "org.systemd.property.CollectMode": "'inactive-or-failed'",
            "org.systemd.property.MemoryHigh": "uint64 268435456",
            "org.systemd.property.CPUWeight": "uint64 77",
        });
        let mut res = json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 4, "minor": 1, "access": "rw"}
        ]});
        if has("pids") {
            res["pids"] = json!({"limit": 42});
        }
        if has("memory") {
            res["memory"] = json!({"limit": 134217728});
        }
        c["linux"]["resources"] = res;
    });
    sd_create(&env, &b, &id);
    let st = env.state(&id);
    let init = st["pid"].as_i64().unwrap() as i32;
    assert_eq!(st["status"], "created");
    let p = world.show(
        &unit,
        &[
            "ActiveState",
            "Slice",
            "ControlGroup",
            "Delegate",
            "DefaultDependencies",
            "MemoryAccounting",
            "CPUAccounting",
            "TasksAccounting",
            "IOAccounting",
            "TimeoutStopUSec",
            "CollectMode",
            "MemoryHigh",
            "CPUWeight",
            "DevicePolicy",
            "DeviceAllow",
            "Description",
            "TasksMax",
            "MemoryMax",
        ],
    );
    let want = [
        ("ActiveState", "active"),
        ("Slice", "system.slice"),
        ("ControlGroup", cgroup.as_str()),
        ("Delegate", "yes"),
        ("DefaultDependencies", "no"),
        ("MemoryAccounting", "yes"),
        ("CPUAccounting", "yes"),
        ("TasksAccounting", "yes"),
        ("IOAccounting", "yes"),
        ("TimeoutStopUSec", "7s"),
        ("CollectMode", "inactive-or-failed"),
        ("MemoryHigh", "268435456"),
        ("CPUWeight", "77"),
        ("DevicePolicy", "strict"),
    ];
    for (k, v) in want {
        assert_eq!(p.get(k).map(String::as_str), Some(v), "{unit} {k}: {p:?}");
    }
    assert_eq!(p["Description"], format!("hull container {id}"));
    // The config's rule and runc's default allowlist (/dev/null).
    let allow = world.sh(&format!("systemctl show {unit} -p DeviceAllow"));
    assert!(allow.contains("/dev/char/4:1 rw"), "{allow}");
    assert!(allow.contains("/dev/char/1:3 rwm"), "{allow}");
    // Init is the scope's only process, placed before it ran.
    assert_eq!(procs_in(world, &cgroup), vec![init], "{cgroup}");
    assert_eq!(
        cgroup2_line(&world.read(&format!("/proc/{init}/cgroup"))),
        format!("0::{cgroup}")
    );
    if has("pids") {
        assert_eq!(p["TasksMax"], "42");
        assert_eq!(
            world
                .read(&format!("/sys/fs/cgroup{cgroup}/pids.max"))
                .trim(),
            "42"
        );
    } else {
        eprintln!("systemd world offers no pids controller: TasksMax/pids.max unchecked");
    }
    if has("memory") {
        assert_eq!(p["MemoryMax"], "134217728");
        assert_eq!(
            world
                .read(&format!("/sys/fs/cgroup{cgroup}/memory.max"))
                .trim(),
            "134217728"
        );
    } else {
        eprintln!("systemd world offers no memory controller: MemoryMax/memory.max unchecked");
    }
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_unit_gone(world, &unit, &cgroup);
}

/// Every command works on a container in a scope: start, exec (joins the scope), ps, pause and
/// resume (the scope's cgroup.freeze), events --stats, kill --all, delete (stops the unit: no
/// unit and no cgroup left). The default cgroupsPath is `system.slice:hull:ID`.
#[test]
fn systemd_driver_commands_work_on_the_scope_and_delete_leaves_nothing() {
    let world = systemd_world!();
    let env = world.env();
    let id = env.id("sdcmds");
    let unit = format!("hull-{id}.scope");
    let cgroup = format!("/system.slice/{unit}");
    let b = env.bundle(&["sleep", "1000"]);
    sd_create(&env, &b, &id);
    let init = env.state(&id)["pid"].as_i64().unwrap() as i32;
    let ok = |args: &[&str]| {
        let o = env.hull(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    let features: Value = serde_json::from_str(&ok(&["features"])).unwrap();
    assert_eq!(features["linux"]["cgroup"]["systemd"], true, "{features}");
    assert_eq!(
        features["linux"]["cgroup"]["systemdUser"], true,
        "{features}"
    );
    ok(&["start", &id]);
    assert_eq!(env.state(&id)["status"], "running");
    // exec -d: its process inherits exec's stdio, so files rather than output()'s pipes.
    let status = env
        .hull_cmd(&["exec", "-d", &id, "sleep", "999"])
        .stdout(fs::File::create(b.dir.join("exec.out")).unwrap())
        .stderr(fs::File::create(b.dir.join("exec.err")).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "exec -d: {}",
        fs::read_to_string(b.dir.join("exec.err")).unwrap()
    );
    let pids = procs_in(world, &cgroup);
    assert_eq!(
        pids.len(),
        2,
        "init and the exec'd process in {cgroup}: {pids:?}"
    );
    assert!(pids.contains(&init));
    let ps = ok(&["ps", "--format", "json", &id]);
    let listed: Vec<i32> = serde_json::from_str(&ps).unwrap();
    let mut listed = listed;
    listed.sort_unstable();
    assert_eq!(listed, pids);
    ok(&["pause", &id]);
    assert_eq!(env.state(&id)["status"], "paused");
    assert_eq!(
        world
            .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.freeze"))
            .trim(),
        "1"
    );
    ok(&["resume", &id]);
    assert_eq!(env.state(&id)["status"], "running");
    let stats = ok(&["events", "--stats", &id]);
    let stats: Value = serde_json::from_str(stats.trim()).unwrap();
    assert_eq!(stats["type"], "stats");
    assert_eq!(stats["id"], id.as_str());
    ok(&["kill", "--all", &id, "KILL"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.state(&id)["status"] != "stopped" {
        assert!(
            Instant::now() < deadline,
            "still {}",
            env.state(&id)["status"]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    ok(&["delete", &id]);
    assert_unit_gone(world, &unit, &cgroup);
    assert!(
        !world.exists(&format!("{}/{id}", env.root)),
        "state dir left"
    );
}

/// `update` sets the unit's properties (SetUnitProperties), then writes the files: TasksMax
/// changes in systemd; pids.max too where the world offers pids (this host's cgroup2 does not,
/// and the file write is refused then, naming the controller).
#[test]
fn systemd_driver_update_sets_the_units_properties() {
    let world = systemd_world!();
    let env = world.env();
    let id = env.id("sdupd");
    let unit = format!("hull-{id}.scope");
    let b = env.bundle(&["sleep", "1000"]);
    sd_create(&env, &b, &id);
    let o = env.hull(&["update", "--pids-limit", "7", &id]);
    assert_eq!(world.show1(&unit, "TasksMax"), "7");
    let offered = world.read("/sys/fs/cgroup/cgroup.controllers");
    if offered.split_whitespace().any(|c| c == "pids") {
        assert!(o.status.success(), "{}", text(&o.stderr));
        let cg = format!("/sys/fs/cgroup/system.slice/{unit}/pids.max");
        assert_eq!(world.read(&cg).trim(), "7");
    } else {
        assert!(
            text(&o.stderr).contains("the pids controller is not available"),
            "{}",
            text(&o.stderr)
        );
    }
}

/// A second container whose cgroupsPath names a scope that exists is refused, naming the unit,
/// and leaves nothing; the first one is untouched. A property systemd refuses (an annotation
/// naming no property) fails create with systemd's words, and nothing is left: no unit, no
/// state dir, no process (the scope's idle first process included). So do a malformed
/// cgroupsPath and annotation, refused before the bus is asked.
#[test]
fn systemd_driver_refusals_leave_nothing() {
    let world = systemd_world!();
    let env = world.env();
    let first = env.id("sdexist");
    let path = format!("system.slice:hulltest:{first}");
    let unit = format!("hulltest-{first}.scope");
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    sd_create(&env, &b, &first);
    let second = env.id("sdexist2");
    let o = env.hull(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        b.dir.to_str().unwrap(),
        &second,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("the unit {unit} already exists")),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!world.exists(&format!("{}/{second}", env.root)));
    assert_eq!(
        world.show1(&unit, "ActiveState"),
        "active",
        "the first one's unit"
    );
    assert_eq!(env.state(&first)["status"], "created");
    assert_no_process_mentions(world, &second);

    let third = env.id("sdbadprop");
    let mut b3 = env.bundle(&["true"]);
    b3.edit(|c| c["annotations"] = json!({"org.systemd.property.NoSuchProperty": "uint64 1"}));
    let o = env.hull(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        b3.dir.to_str().unwrap(),
        &third,
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("StartTransientUnit") && err.contains("NoSuchProperty"),
        "{err}"
    );
    assert!(!world.exists(&format!("{}/{third}", env.root)));
    assert_unit_gone(
        world,
        &format!("hull-{third}.scope"),
        &format!("/system.slice/hull-{third}.scope"),
    );
    assert_no_process_mentions(world, &third);

    // Refused before the bus is asked: a cgroupsPath not of the form slice:prefix:name, a
    // malformed annotation. One line naming the field, nothing made.
    for (tag, patch, want) in [
        (
            "sdbadpath",
            json!({"cgroupsPath": "/hull/not-a-unit"}),
            "linux.cgroupsPath: \"/hull/not-a-unit\" is not of the form \"slice:prefix:name\"",
        ),
        (
            "sdbadnote",
            json!({"annotation": "uint64 -1"}),
            "annotations[\"org.systemd.property.TasksMax\"]: \"uint64 -1\" is not a GVariant value",
        ),
    ] {
        let id = env.id(tag);
        let mut bad = env.bundle(&["true"]);
        bad.edit(|c| {
            if let Some(p) = patch.get("cgroupsPath") {
                c["linux"]["cgroupsPath"] = p.clone();
            }
            if let Some(v) = patch.get("annotation") {
                c["annotations"] = json!({ "org.systemd.property.TasksMax": v });
            }
        });
        let o = env.hull(&[
            "--systemd-cgroup",
            "create",
            "--bundle",
            bad.dir.to_str().unwrap(),
            &id,
        ]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{tag}: {err}");
        assert!(err.contains(want), "{tag}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{tag}: {err}");
        assert!(
            !world.exists(&format!("{}/{id}", env.root)),
            "{tag}: state dir"
        );
        assert_eq!(
            world.show1(&format!("hull-{id}.scope"), "LoadState"),
            "not-found"
        );
        assert_no_process_mentions(world, &id);
    }
}

/// No process of the world has `id` in its command line (hull's idle child of a scope has
/// hull's, so a leaked one would).
fn assert_no_process_mentions(world: &SystemdWorld, id: &str) {
    let o = world.output(&["pgrep", "-a", "-f", id]);
    assert!(
        !o.status.success(),
        "left in the world: {}",
        text(&o.stdout)
    );
}

// ---- engines with the systemd driver -------------------------------------------------------

/// Podman with `cgroup_manager = "systemd"` (what it uses wherever systemd runs) drives hull in
/// the systemd world: podman passes `--systemd-cgroup` and `machine.slice:libpod:ID`, hull
/// makes the scope `libpod-ID.scope` over D-Bus; run, exec, pause, unpause, stop and rm work,
/// and rm leaves no unit. Storage, runroot and hull's state are the test's own; the image is
/// the test rootfs imported. `pids_limit = 0`: podman's default pids limit needs the pids
/// controller, which this host's cgroup2 lacks.
#[test]
fn podman_with_the_systemd_cgroup_manager_drives_hull() {
    let world = systemd_world!();
    if world.output(&["podman", "--version"]).status.code() != Some(0) {
        skip_or_fail("podman is not installed (make deps)");
        return;
    }
    let env = world.env();
    let dir = env.dir.join("podman");
    fs::create_dir_all(&dir).unwrap();
    common::systemd::podman_conf(&dir);
    let d = dir.display();
    let podman = format!(
        "export CONTAINERS_CONF={d}/containers.conf; \
         mkdir -p /etc/containers; [ -e /etc/containers/policy.json ] || \
         echo '{{\"default\":[{{\"type\":\"insecureAcceptAnything\"}}]}}' > /etc/containers/policy.json; \
         P=\"podman --root {d}/storage --runroot {d}/run --tmpdir {d}/tmp\"; "
    );
    // Removes every container of this storage and its mounts, however the test ends.
    struct Reset<'a>(&'a SystemdWorld, String);
    impl Drop for Reset<'_> {
        fn drop(&mut self) {
            let _ = self.0.output(&[
                "sh",
                "-c",
                &format!("{}$P rm -f -a -t 0; $P system reset -f", self.1),
            ]);
        }
    }
    let _reset = Reset(world, podman.clone());
    let rootfs = rootfs();
    world.sh(&format!(
        "{podman}tar -C {} -c . | $P import - localhost/hullbox:latest >/dev/null",
        rootfs.display()
    ));
    let out = world.sh(&format!(
        "{podman}$P run --rm --network none localhost/hullbox cat /proc/self/cgroup"
    ));
    assert_eq!(cgroup2_line(&out), "0::/", "in its cgroup namespace: {out}");
    let id = world
        .sh(&format!(
            "{podman}$P run -d --name c --network none localhost/hullbox sleep 1000"
        ))
        .trim()
        .to_string();
    let unit = format!("libpod-{id}.scope");
    assert_eq!(world.show1(&unit, "ActiveState"), "active");
    assert_eq!(
        world.show1(&unit, "Description"),
        format!("hull container {id}")
    );
    assert_eq!(world.show1(&unit, "Slice"), "machine.slice");
    let cgroup = format!("/machine.slice/{unit}");
    assert_eq!(world.show1(&unit, "ControlGroup"), cgroup);
    let state: Value =
        serde_json::from_str(&world.read(&format!("{d}/hull/{id}/state.json"))).unwrap();
    let init = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(
        cgroup2_line(&world.read(&format!("/proc/{init}/cgroup"))),
        format!("0::{cgroup}")
    );
    let out = world.sh(&format!("{podman}$P exec c cat /proc/self/cgroup"));
    assert_eq!(cgroup2_line(&out), "0::/");
    assert_eq!(
        procs_in(world, &cgroup).len(),
        1,
        "exec'd process gone, init left"
    );
    world.sh(&format!("{podman}$P pause c >/dev/null"));
    assert_eq!(
        world
            .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.freeze"))
            .trim(),
        "1"
    );
    world.sh(&format!(
        "{podman}$P unpause c >/dev/null && $P stop -t 1 c >/dev/null && $P rm c >/dev/null"
    ));
    assert_unit_gone(world, &unit, &cgroup);
}

/// containerd with the runc shim in systemd mode (`ctr run --runc-systemd-cgroup`, what
/// `SystemdCgroup = true` sets for Kubernetes) drives hull in the systemd world: the shim
/// passes `--systemd-cgroup` and `system.slice:hulltest:ID`, hull makes the scope; exec, pause,
/// resume, kill and rm work, and rm leaves no unit. containerd runs in the world with its
/// root, state and socket in the test's dir; the container's rootfs is the test rootfs (`--rootfs`). ctr's
/// default cpu shares and quota are zeroed: this host's cgroup2 has no cpu controller.
#[test]
fn containerd_with_the_systemd_cgroup_driver_drives_hull() {
    let world = systemd_world!();
    if world.output(&["containerd", "--version"]).status.code() != Some(0) {
        skip_or_fail("containerd is not installed (make deps)");
        return;
    }
    let env = world.env();
    let dir = env.dir.join("containerd");
    fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    containerd_config(&dir);
    let _daemon = WorldDaemon::start(
        world,
        &dir,
        "containerd",
        &format!("containerd --config {d}/config.toml"),
    );
    world.sh(&format!(
        "for i in $(seq 100); do ctr --address {d}/containerd.sock version >/dev/null 2>&1 && exit 0; sleep 0.1; done; \
         tail {d}/containerd.log; exit 1"
    ));
    let ctr = format!("ctr --address {d}/containerd.sock --namespace hulltest");
    let id = env.id("ctrsd");
    let unit = format!("hulltest-{id}.scope");
    let cgroup = format!("/system.slice/{unit}");
    world.sh(&format!(
        "{ctr} run -d --runc-binary {} --runc-root {d}/hull --runc-systemd-cgroup \
         --cpu-shares 0 --cpu-quota 0 --cgroup system.slice:hulltest:{id} --rootfs {} {id} sleep 1000 >/dev/null",
        hull_bin().display(),
        rootfs().display()
    ));
    assert_eq!(world.show1(&unit, "ActiveState"), "active");
    assert_eq!(world.show1(&unit, "ControlGroup"), cgroup);
    assert_eq!(world.show1(&unit, "Delegate"), "yes");
    assert_eq!(procs_in(world, &cgroup).len(), 1, "init alone in {cgroup}");
    // The process outlives its output by a moment: once, under the full suite's load, ctr
    // printed nothing for an exec that exited at once (0 of 15 runs alone); containerd 1.6's
    // shim and ctr copy the output apart from the exit.
    let out = world.sh(&format!(
        "{ctr} tasks exec --exec-id e1 {id} sh -c 'cat /proc/self/cgroup; sleep 0.2'"
    ));
    // ctr's spec has no cgroup namespace: the exec'd process sees the scope's path.
    assert_eq!(cgroup2_line(&out), format!("0::{cgroup}"));
    world.sh(&format!("{ctr} tasks pause {id}"));
    assert_eq!(
        world
            .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.freeze"))
            .trim(),
        "1"
    );
    world.sh(&format!("{ctr} tasks resume {id}"));
    world.sh(&format!(
        "{ctr} tasks kill -s KILL {id}; for i in $(seq 100); do \
         {ctr} tasks ls | grep -q '{id}.*STOPPED' && break; sleep 0.05; done; \
         {ctr} tasks rm {id} >/dev/null; {ctr} containers rm {id}"
    ));
    assert_unit_gone(world, &unit, &cgroup);
}

/// A daemon of a test (containerd, dockerd) in the world, started through nsenter like the
/// tests' commands: a service of the world's systemd would run under nspawn's seccomp filter,
/// which refuses bpf(2), and hull loads its device program with it. Its output goes to
/// `dir/NAME.log`; it is stopped by the pid it wrote to `dir/NAME.pid` (SIGTERM, SIGKILL after
/// 5 s), however the test ends.
struct WorldDaemon<'a> {
    world: &'a SystemdWorld,
    child: std::process::Child,
    pidfile: String,
}

impl<'a> WorldDaemon<'a> {
    fn start(world: &'a SystemdWorld, dir: &Path, name: &str, cmdline: &str) -> WorldDaemon<'a> {
        let d = dir.display();
        let child = world
            .cmd(&[
                "sh",
                "-c",
                &format!("echo $$ > {d}/{name}.pid; exec {cmdline} >{d}/{name}.log 2>&1"),
            ])
            .spawn()
            .unwrap();
        WorldDaemon {
            world,
            child,
            pidfile: format!("{d}/{name}.pid"),
        }
    }
}

impl Drop for WorldDaemon<'_> {
    fn drop(&mut self) {
        let pid = &self.pidfile;
        let _ = self.world.output(&[
            "sh",
            "-c",
            &format!(
                "p=$(cat {pid}) && kill -TERM $p && \
                 for i in $(seq 100); do kill -0 $p 2>/dev/null || exit 0; sleep 0.05; done; kill -KILL $p"
            ),
        ]);
        let _ = self.child.wait();
    }
}

/// A containerd config with its root, state, socket (`dir/containerd.sock`) and opt in `dir`.
fn containerd_config(dir: &Path) {
    let d = dir.display();
    fs::write(
        dir.join("config.toml"),
        format!(
            "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = \"{d}/containerd.sock\"\n\
             [ttrpc]\n  address = \"{d}/containerd.sock.ttrpc\"\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n"
        ),
    )
    .unwrap();
}

/// Docker with `native.cgroupdriver=systemd` (its default on cgroup v2 hosts) drives hull in
/// the systemd world, on a containerd of the test's own: dockerd passes `--systemd-cgroup` and
/// `system.slice:docker:ID`, hull makes `docker-ID.scope`; run, exec, pause, unpause and rm -f
/// work, and rm leaves no unit. The image is the test rootfs imported.
#[test]
fn docker_with_the_systemd_cgroup_driver_drives_hull() {
    let world = systemd_world!();
    if world.output(&["dockerd", "--version"]).status.code() != Some(0) {
        skip_or_fail("docker.io is not installed (make deps)");
        return;
    }
    let env = world.env();
    let dir = env.dir.join("docker");
    fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    containerd_config(&dir);
    fs::write(dir.join("daemon.json"), "{}\n").unwrap();
    let _containerd = WorldDaemon::start(
        world,
        &dir,
        "containerd",
        &format!("containerd --config {d}/config.toml"),
    );
    world.sh(&format!(
        "for i in $(seq 100); do ctr --address {d}/containerd.sock version >/dev/null 2>&1 && exit 0; sleep 0.1; done; \
         tail {d}/containerd.log; exit 1"
    ));
    let dockerd = format!(
        "dockerd --config-file {d}/daemon.json --data-root {d}/data --exec-root {d}/exec \
         --pidfile {d}/docker.pid -H unix://{d}/docker.sock --iptables=false --ip6tables=false \
         --bridge=none --storage-driver overlay2 --containerd {d}/containerd.sock \
         --containerd-namespace hulldk --containerd-plugins-namespace hulldk-plugins \
         --add-runtime hull={} --default-runtime hull --exec-opt native.cgroupdriver=systemd",
        hull_bin().display()
    );
    let _dockerd = WorldDaemon::start(world, &dir, "dockerd", &dockerd);
    let docker = format!("docker -H unix://{d}/docker.sock");
    world.sh(&format!(
        "for i in $(seq 200); do {docker} version >/dev/null 2>&1 && exit 0; sleep 0.1; done; \
         tail {d}/dockerd.log; exit 1"
    ));
    // Removes every container, however the test ends (before the daemons stop).
    struct Rm<'a>(&'a SystemdWorld, String);
    impl Drop for Rm<'_> {
        fn drop(&mut self) {
            let d = &self.1;
            let _ = self
                .0
                .output(&["sh", "-c", &format!("{d} rm -f $({d} ps -aq)")]);
        }
    }
    let _rm = Rm(world, docker.clone());
    world.sh(&format!(
        "tar -C {} -c . | {docker} import - hull-busybox >/dev/null",
        rootfs().display()
    ));
    let id = world
        .sh(&format!(
            "{docker} run -d --name ctr1 --network none hull-busybox sleep 1000"
        ))
        .trim()
        .to_string();
    let unit = format!("docker-{id}.scope");
    let cgroup = format!("/system.slice/{unit}");
    assert_eq!(world.show1(&unit, "ActiveState"), "active");
    assert_eq!(world.show1(&unit, "ControlGroup"), cgroup);
    assert_eq!(
        world.show1(&unit, "Description"),
        format!("hull container {id}")
    );
    assert_eq!(procs_in(world, &cgroup).len(), 1, "init alone in {cgroup}");
    let out = world.sh(&format!("{docker} exec ctr1 cat /proc/self/cgroup"));
    assert_eq!(
        cgroup2_line(&out),
        "0::/",
        "docker's private cgroup namespace"
    );
    world.sh(&format!("{docker} pause ctr1 >/dev/null"));
    assert_eq!(
        world
            .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.freeze"))
            .trim(),
        "1"
    );
    world.sh(&format!(
        "{docker} unpause ctr1 >/dev/null && {docker} rm -f ctr1 >/dev/null"
    ));
    assert_unit_gone(world, &unit, &cgroup);
}
