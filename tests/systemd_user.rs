//! hull run by a user with `--systemd-cgroup` (rootless, as rootless podman runs it): the
//! container's unit is made by the user's own `systemd --user` over the user's bus, in a
//! systemd world (tests/common/systemd.rs) with a real unprivileged user whose manager the
//! system manager started (tests/common/systemd_user.rs). Commands run as that user from the
//! world's `/hull-tests` cgroup, root's, as a login session's is.
//!
//! This host's cgroup2 offers only hugetlb (v1 holds the others), so the world has no memory,
//! pids or cpu controller: limits on those are checked refused, naming the controller, and
//! applied where the world offers them; hugetlb, which systemd never delegates, is refused
//! until root delegates it down to the user's slice, then applied.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::systemd::SystemdWorld;
use common::systemd_user::{UserWorldEnv, WorldUser, FIRST_UID};
use common::*;
use serde_json::{json, Value};

/// The shared world and its user, or `return` from the test (skipped, or failed in CI) when
/// there can be none.
macro_rules! user_world {
    () => {{
        let w = systemd_world!();
        match WorldUser::shared(w) {
            Some(u) => (w, u),
            None => return,
        }
    }};
}

/// The `0::` line of a /proc/PID/cgroup text.
fn cgroup2_line(text: &str) -> String {
    text.lines()
        .find(|l| l.starts_with("0::"))
        .unwrap_or_else(|| panic!("no 0:: line in {text:?}"))
        .to_string()
}

/// The world's pids in a cgroup of the world, sorted.
fn procs_in(world: &SystemdWorld, cgroup: &str) -> Vec<i32> {
    let mut v: Vec<i32> = world
        .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.procs"))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// The user's manager knows no such unit and its cgroup is gone.
fn assert_unit_gone(user: &WorldUser, unit: &str, cgroup: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let load = user.show(unit, &["LoadState"]).remove("LoadState");
        let dir = user.world.exists(&format!("/sys/fs/cgroup{cgroup}"));
        if load.as_deref() == Some("not-found") && !dir {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{unit} left: LoadState={load:?}, cgroup {cgroup} exists: {dir}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// No process of the world has `id` in its command line (hull's idle first process of a
/// scope has hull's, so a leaked one would).
fn assert_no_process_mentions(world: &SystemdWorld, id: &str) {
    let o = world.output(&["pgrep", "-a", "-f", id]);
    assert!(
        !o.status.success(),
        "left in the world: {}",
        text(&o.stdout)
    );
}

/// Nothing of container `id` is left: no state dir, no unit, no cgroup, no process.
fn assert_nothing_left(env: &UserWorldEnv, id: &str, unit: &str, cgroup: &str) {
    assert!(
        !std::path::Path::new(&env.root).join(id).exists(),
        "state dir of {id} left"
    );
    assert_unit_gone(env.user, unit, cgroup);
    assert_no_process_mentions(env.user.world, id);
}

/// `hull --systemd-cgroup run` of `b` as `id` in the foreground: (exit code, stdout, stderr).
fn sd_run(env: &UserWorldEnv, b: &Bundle, id: &str) -> (i32, String, String) {
    let o = env.hull(&[
        "--systemd-cgroup",
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        id,
    ]);
    (
        o.status.code().unwrap_or(-1),
        text(&o.stdout),
        text(&o.stderr),
    )
}

/// The bundle's config without a cgroup namespace: the container sees its cgroup's full path.
fn without_cgroupns(b: &mut Bundle) {
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "cgroup")
    });
}

/// The user's default scope for container `id`: (unit, cgroup).
fn default_scope(user: &WorldUser, id: &str) -> (String, String) {
    let unit = format!("hull-{id}.scope");
    let cgroup = format!("{}/user.slice/{unit}", user.manager_cgroup());
    (unit, cgroup)
}

#[test]
fn the_user_exists_only_in_the_world_with_a_manager_and_a_bus() {
    let (world, user) = user_world!();
    let host = fs::read_to_string("/etc/passwd").unwrap();
    assert!(
        !host
            .lines()
            .any(|l| l.starts_with(&format!("{}:", user.name))),
        "{} is on the host",
        user.name
    );
    assert_eq!(world.sh(&format!("id -u {}", user.name)).trim(), "4321");
    assert_eq!(user.uid, FIRST_UID);
    assert_eq!(
        world
            .output(&["systemctl", "is-active", &user.manager_unit()])
            .stdout,
        b"active\n"
    );
    // The user: its ids, no capability, its environment.
    let me = user.sh("id -u; id -g; id -G; grep CapEff /proc/self/status; echo $XDG_RUNTIME_DIR");
    let lines: Vec<&str> = me.lines().collect();
    assert_eq!(lines[..3], ["4321", "4321", "4321"], "{me}");
    assert_eq!(lines[3].split_whitespace().nth(1), Some("0000000000000000"));
    assert_eq!(lines[4], "/run/user/4321");
    // Its manager answers on its bus, lives in user@4321.service, and owns that cgroup
    // (delegated by the system manager). The bus socket is the user's.
    user.sh("busctl --user call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.DBus.Peer Ping");
    let manager = user.sh("systemctl --user show -P ControlGroup");
    assert_eq!(manager.trim(), user.manager_cgroup());
    assert_eq!(
        world
            .sh(&format!(
                "stat -c %u /sys/fs/cgroup{}/cgroup.procs {}",
                user.manager_cgroup(),
                user.bus()
            ))
            .lines()
            .collect::<Vec<_>>(),
        ["4321", "4321"]
    );
}

/// `hull --systemd-cgroup run` as the user: the container runs in a scope of the user's
/// manager, `user.slice` of it by default (runc's rootless default), and once it exited
/// nothing is left: no unit, no cgroup, no state.
#[test]
fn rootless_run_lands_in_a_scope_of_the_users_manager() {
    let (_, user) = user_world!();
    let env = user.env();
    let mut b = env.bundle(&["sh", "-c", "cat /proc/self/cgroup; id -u; exit 3"]);
    without_cgroupns(&mut b);
    let id = env.id("usd-run");
    let (unit, cgroup) = default_scope(user, &id);
    let (code, out, err) = sd_run(&env, &b, &id);
    assert_eq!(code, 3, "run: {err}\n{out}");
    assert_eq!(cgroup2_line(&out), format!("0::{cgroup}"), "{out}");
    assert!(out.lines().any(|l| l == "0"), "uid inside: {out}");
    assert!(
        cgroup.starts_with("/user.slice/user-4321.slice/user@4321.service/user.slice/"),
        "{cgroup}"
    );
    assert_nothing_left(&env, &id, &unit, &cgroup);
}

/// Every command on a container in the user's scope: the unit as the user's manager shows it
/// (delegated, in user.slice, its description), unknown to the system manager, its cgroup the
/// user's; init its only process, placed before it ran; start, exec (moved in by the manager:
/// the caller's cgroup is root's), ps, pause and resume (cgroup.freeze), events --stats, update
/// (the user's manager's TasksMax), kill --all, and delete, which stops the unit: no unit,
/// cgroup, state or process left.
#[test]
fn rootless_commands_work_on_the_users_scope_and_delete_leaves_nothing() {
    let (world, user) = user_world!();
    let env = user.env();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("usd-cmds");
    let (unit, cgroup) = default_scope(user, &id);
    env.sd_create(&b, &id);
    let st = env.state(&id);
    assert_eq!(st["status"], "created");
    let init = st["pid"].as_i64().unwrap() as i32;
    let p = user.show(
        &unit,
        &[
            "ActiveState",
            "Slice",
            "ControlGroup",
            "Delegate",
            "DefaultDependencies",
            "TasksAccounting",
            "Description",
        ],
    );
    let want = [
        ("ActiveState", "active"),
        ("Slice", "user.slice"),
        ("ControlGroup", cgroup.as_str()),
        ("Delegate", "yes"),
        ("DefaultDependencies", "no"),
        ("TasksAccounting", "yes"),
    ];
    for (k, v) in want {
        assert_eq!(p.get(k).map(String::as_str), Some(v), "{unit} {k}: {p:?}");
    }
    assert_eq!(p["Description"], format!("hull container {id}"));
    assert_eq!(
        world.show1(&unit, "LoadState"),
        "not-found",
        "a system unit"
    );
    assert_eq!(
        world
            .sh(&format!("stat -c %u /sys/fs/cgroup{cgroup}/cgroup.procs"))
            .trim(),
        "4321"
    );
    let recorded = fs::read_to_string(format!("{}/{id}/state.json", env.root)).unwrap();
    assert!(
        recorded.contains(&format!("\"user_bus\":\"{}\"", user.bus())),
        "{recorded}"
    );
    assert_eq!(procs_in(world, &cgroup), vec![init]);
    assert_eq!(
        cgroup2_line(&world.read(&format!("/proc/{init}/cgroup"))),
        format!("0::{cgroup}")
    );
    let ok = |args: &[&str]| {
        let o = env.hull(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    let features: Value = serde_json::from_str(&ok(&["features"])).unwrap();
    assert_eq!(features["linux"]["cgroup"]["systemdUser"], true);
    ok(&["start", &id]);
    assert_eq!(env.state(&id)["status"], "running");
    let status = env
        .hull_cmd(&["exec", "-d", &id, "sleep", "999"])
        .stdout(fs::File::create(b.dir.join("exec.out")).unwrap())
        .stderr(fs::File::create(b.dir.join("exec.err")).unwrap())
        .status()
        .unwrap();
    let exec_err = fs::read_to_string(b.dir.join("exec.err")).unwrap();
    assert!(status.success(), "exec -d: {exec_err}");
    let pids = procs_in(world, &cgroup);
    assert_eq!(pids.len(), 2, "init and the exec'd process: {pids:?}");
    let mut listed: Vec<i32> = serde_json::from_str(&ok(&["ps", "--format", "json", &id])).unwrap();
    listed.sort_unstable();
    assert_eq!(listed, pids);
    ok(&["pause", &id]);
    assert_eq!(env.state(&id)["status"], "paused");
    let freeze = format!("/sys/fs/cgroup{cgroup}/cgroup.freeze");
    assert_eq!(world.read(&freeze).trim(), "1");
    ok(&["resume", &id]);
    assert_eq!(env.state(&id)["status"], "running");
    assert_eq!(world.read(&freeze).trim(), "0");
    let stats: Value = serde_json::from_str(ok(&["events", "--stats", &id]).trim()).unwrap();
    assert_eq!(stats["type"], "stats");
    // update: the property in the user's manager (SetUnitProperties on the user's bus), then
    // the file where the user's manager has the pids controller, refused naming it where not.
    let o = env.hull(&["update", "--pids-limit", "7", &id]);
    assert_eq!(user.show(&unit, &["TasksMax"])["TasksMax"], "7");
    let delegated = world.read(&format!(
        "/sys/fs/cgroup{}/cgroup.controllers",
        user.manager_cgroup()
    ));
    if delegated.split_whitespace().any(|c| c == "pids") {
        assert!(o.status.success(), "{}", text(&o.stderr));
        let max = world.read(&format!("/sys/fs/cgroup{cgroup}/pids.max"));
        assert_eq!(max.trim(), "7");
    } else {
        assert!(
            text(&o.stderr).contains("the pids controller"),
            "{}",
            text(&o.stderr)
        );
    }
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
    assert_nothing_left(&env, &id, &unit, &cgroup);
}

/// `linux.cgroupsPath`'s `slice:prefix:name` names the unit in the user's manager as for
/// root: podman's `user.slice:libpod:ID`, a slice of its own, an empty slice (the default).
#[test]
fn the_cgroups_path_names_slice_and_scope_in_the_users_manager() {
    let (world, user) = user_world!();
    let env = user.env();
    let m = user.manager_cgroup();
    for (tag, path, slice, prefix) in [
        (
            "usd-libpod",
            "user.slice:libpod:{id}",
            "user.slice",
            "libpod",
        ),
        (
            "usd-slice",
            "hulltest.slice:pfx:{id}",
            "hulltest.slice",
            "pfx",
        ),
        ("usd-empty", ":pfx:{id}", "user.slice", "pfx"),
    ] {
        let id = env.id(tag);
        let mut b = env.bundle(&["sleep", "1000"]);
        b.edit(|c| c["linux"]["cgroupsPath"] = json!(path.replace("{id}", &id)));
        env.sd_create(&b, &id);
        let unit = format!("{prefix}-{id}.scope");
        let cgroup = format!(
            "{m}{}/{unit}",
            if slice == "user.slice" {
                "/user.slice"
            } else {
                "/hulltest.slice"
            }
        );
        let p = user.show(&unit, &["Slice", "ControlGroup", "ActiveState"]);
        assert_eq!(p["Slice"], slice, "{tag}: {p:?}");
        assert_eq!(p["ControlGroup"], cgroup, "{tag}");
        assert_eq!(p["ActiveState"], "active", "{tag}");
        let init = env.state(&id)["pid"].as_i64().unwrap() as i32;
        assert_eq!(procs_in(world, &cgroup), vec![init], "{tag}");
        let o = env.hull(&["delete", "--force", &id]);
        assert!(o.status.success(), "{tag}: {}", text(&o.stderr));
        assert_nothing_left(&env, &id, &unit, &cgroup);
    }
}

/// A limit is applied where the user's manager has the controller, and refused naming the
/// controller where it has not, with nothing left. This world offers no memory or pids
/// controller (this host's cgroup2 has only hugetlb): those are checked refused, or applied
/// when a host offers them. hugetlb is offered but systemd never delegates it: refused, until
/// root enables it down to the user's slice (what a Delegate= drop-in would do for a
/// controller systemd knows); then hull enables it in the user's own cgroups and applies it.
#[test]
fn rootless_limits_apply_as_the_users_controllers_allow() {
    let (world, user) = user_world!();
    let env = user.env();
    let m = user.manager_cgroup();
    let delegated = world.read(&format!("/sys/fs/cgroup{m}/cgroup.controllers"));
    let has = |c: &str| delegated.split_whitespace().any(|x| x == c);
    for (c, res, file, value) in [
        ("pids", json!({"pids": {"limit": 42}}), "pids.max", "42"),
        (
            "memory",
            json!({"memory": {"limit": 134217728}}),
            "memory.max",
            "134217728",
        ),
    ] {
        let id = env.id(&format!("usd-{c}"));
        let (unit, cgroup) = default_scope(user, &id);
        let mut b = env.bundle(&["sleep", "1000"]);
        b.edit(|cfg| cfg["linux"]["resources"] = res.clone());
        if has(c) {
            env.sd_create(&b, &id);
            let got = world.read(&format!("/sys/fs/cgroup{cgroup}/{file}"));
            assert_eq!(got.trim(), value, "{c}");
            let o = env.hull(&["delete", "--force", &id]);
            assert!(o.status.success(), "{}", text(&o.stderr));
        } else {
            eprintln!("the user's manager has no {c} controller here: {c} limit checked refused");
            let (code, _, err) = sd_run(&env, &b, &id);
            assert_eq!(code, 1, "{c}: {err}");
            assert!(err.contains(&format!("the {c} controller")), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        }
        assert_nothing_left(&env, &id, &unit, &cgroup);
    }

    let Some(size) = hugepage_size() else {
        eprintln!("no huge page size on this host: hugetlb unchecked");
        return;
    };
    let root_offers = world.read("/sys/fs/cgroup/cgroup.controllers");
    if !root_offers.split_whitespace().any(|c| c == "hugetlb") {
        eprintln!("the world offers no hugetlb controller: hugetlb unchecked");
        return;
    }
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["resources"] = json!({"hugepageLimits": [{"pageSize": size, "limit": 2097152}]})
    });
    let id = env.id("usd-hugetlb-refused");
    let (unit, cgroup) = default_scope(user, &id);
    let (code, _, err) = sd_run(&env, &b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the hugetlb controller is not delegated to this cgroup")
            && err.contains("user@.service drop-in with Delegate="),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_nothing_left(&env, &id, &unit, &cgroup);

    world.sh(&format!(
        "for d in /sys/fs/cgroup /sys/fs/cgroup/user.slice /sys/fs/cgroup/user.slice/user-{}.slice; do echo +hugetlb > $d/cgroup.subtree_control; done",
        user.uid
    ));
    let id = env.id("usd-hugetlb");
    let (unit, cgroup) = default_scope(user, &id);
    env.sd_create(&b, &id);
    let got = world.read(&format!("/sys/fs/cgroup{cgroup}/hugetlb.{size}.max"));
    assert_eq!(got.trim(), "2097152");
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_nothing_left(&env, &id, &unit, &cgroup);
}

/// The host's smallest huge page size as the OCI config names it (`2MB`, `1GB`).
fn hugepage_size() -> Option<String> {
    let mut kb: Vec<u64> = fs::read_dir("/sys/kernel/mm/hugepages")
        .ok()?
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()
        })
        .collect();
    kb.sort_unstable();
    let k = *kb.first()?;
    Some(if k >= 1 << 20 {
        format!("{}GB", k >> 20)
    } else if k >= 1 << 10 {
        format!("{}MB", k >> 10)
    } else {
        format!("{k}KB")
    })
}

/// Root of a user namespace that maps it to the user (rootless podman's: `unshare -r`) is
/// rootless too, and its containers are the user's manager's: hull authenticates on the
/// user's bus as the user's host uid (its uid mapped through /proc/self/uid_map). One
/// namespace deeper (`0 0 1`: the mapped uid is still 0) the bus rejects that uid and hull
/// lets it take the socket's credentials. Without a user bus, root of a user namespace is
/// the root of a system container and goes to the system bus (runc's rule), where systemd
/// refuses the user: one line, nothing left.
#[test]
fn root_of_a_user_namespace_drives_the_users_manager() {
    let (_, user) = user_world!();
    let env = user.env();
    let mut b = env.bundle(&["sh", "-c", "cat /proc/self/cgroup"]);
    without_cgroupns(&mut b);
    // Inside, the caller is 0: the container's root maps to it.
    b.edit(|c| {
        for k in ["uidMappings", "gidMappings"] {
            c["linux"][k] = json!([{"containerID": 0, "hostID": 0, "size": 1}]);
        }
    });
    let bin = hull_bin();
    let bin = bin.to_str().unwrap();
    let bundle = b.dir.to_str().unwrap();
    for (tag, unshare, rejected) in [
        ("usd-userns", "unshare -r", false),
        ("usd-nested", "unshare -r unshare -r", true),
    ] {
        let id = env.id(tag);
        let (unit, cgroup) = default_scope(user, &id);
        let o = user
            .cmd(&[
                "sh",
                "-c",
                &format!(
                    "exec {unshare} {bin} --debug --root {} --systemd-cgroup run --bundle {bundle} {id}",
                    env.root
                ),
            ])
            .output()
            .unwrap();
        let (out, err) = (text(&o.stdout), text(&o.stderr));
        assert!(o.status.success(), "{tag}: {err}");
        assert_eq!(cgroup2_line(&out), format!("0::{cgroup}"), "{tag}: {out}");
        assert_eq!(
            err.contains("rejected uid 0; authenticating by the socket's credentials"),
            rejected,
            "{tag}: {err}"
        );
        assert_nothing_left(&env, &id, &unit, &cgroup);
    }
    let id = env.id("usd-nobus");
    let o = user
        .cmd_env(
            &[],
            &[
                "sh",
                "-c",
                &format!(
                    "exec unshare -r {bin} --root {} --systemd-cgroup run --bundle {bundle} {id}",
                    env.root
                ),
            ],
        )
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the system bus"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let (unit, cgroup) = default_scope(user, &id);
    assert_nothing_left(&env, &id, &unit, &cgroup);
    assert_eq!(
        user.world.show1(&format!("hull-{id}.scope"), "LoadState"),
        "not-found"
    );
}

/// Without a user bus a user's `--systemd-cgroup create` is refused in one line that names
/// DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR and says how to get a bus (`systemctl --user`,
/// `loginctl enable-linger`), and leaves nothing; `hull check` says the same.
#[test]
fn without_a_user_bus_create_is_refused_and_leaves_nothing() {
    let (_, user) = user_world!();
    let env = user.env();
    let b = env.bundle(&["true"]);
    let bundle = b.dir.to_str().unwrap();
    let empty = env.dir.join("runtime-without-bus");
    fs::create_dir(&empty).unwrap();
    let xdg_empty = format!("XDG_RUNTIME_DIR={}", empty.display());
    let cases: [(&str, Vec<&str>, Vec<String>); 3] = [
        (
            "usd-noenv",
            vec![],
            vec![
                "DBUS_SESSION_BUS_ADDRESS is not set".into(),
                "XDG_RUNTIME_DIR is not set".into(),
                "systemctl --user".into(),
                "loginctl enable-linger".into(),
            ],
        ),
        (
            "usd-nosock",
            vec![xdg_empty.as_str()],
            vec![format!("there is no {}/bus", empty.display())],
        ),
        (
            "usd-badaddr",
            vec!["DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/4321/nothing"],
            vec![
                "cannot talk to systemd over the user bus at /run/user/4321/nothing".into(),
                "systemctl --user".into(),
            ],
        ),
    ];
    for (tag, vars, want) in &cases {
        let id = env.id(tag);
        let o = env
            .hull_cmd_env(
                Some(vars),
                &["--systemd-cgroup", "create", "--bundle", bundle, &id],
            )
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{tag}: {err}");
        for w in want {
            assert!(err.contains(w.as_str()), "{tag}: {w:?} not in {err}");
        }
        assert_eq!(err.trim_end().lines().count(), 1, "{tag}: {err}");
        let (unit, cgroup) = default_scope(user, &id);
        assert_nothing_left(&env, &id, &unit, &cgroup);
    }
    let o = env
        .hull_cmd_env(
            Some(&[]),
            &["--systemd-cgroup", "check", "--bundle", bundle],
        )
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        text(&o.stdout).contains("DBUS_SESSION_BUS_ADDRESS is not set"),
        "{}",
        text(&o.stdout)
    );
}

/// A user's manager that stops takes its units along (the container's init dies with its
/// scope); `delete` then finds neither bus nor cgroup and removes the container's state.
#[test]
fn a_container_whose_user_manager_stopped_is_deleted() {
    let (world, _) = user_world!();
    let user = WorldUser::make(world, "hullsd2", FIRST_UID + 1);
    let env = user.env();
    // Init as PID 1 of its pid namespace ignores a SIGTERM it has no handler for.
    let b = env.bundle(&[
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
    let id = env.id("usd-gone");
    let (unit, cgroup) = default_scope(&user, &id);
    env.sd_create(&b, &id);
    // Started: a created container's init waits on the exec fifo, in hull's code, which
    // has no SIGTERM handler either.
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    let init = env.state(&id)["pid"].as_i64().unwrap();
    let started = Instant::now();
    world.sh(&format!("systemctl stop {}", user.manager_unit()));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the manager took {:?} to stop",
        started.elapsed()
    );
    assert!(
        !world.exists(&format!("/proc/{init}")),
        "init outlived its scope"
    );
    assert!(!world.exists(&format!("/sys/fs/cgroup{cgroup}")));
    assert_eq!(env.state(&id)["status"], "stopped");
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert!(!std::path::Path::new(&env.root).join(&id).exists());
    assert_eq!(world.show1(&unit, "LoadState"), "not-found");
}

/// Rootless podman with `cgroup_manager = "systemd"` (its default wherever systemd runs) drives
/// hull as the user: from its user namespace (hull is root there) podman passes
/// `--systemd-cgroup` and `user.slice:libpod:ID`, hull makes `libpod-ID.scope` in the user's
/// manager; run, exec, pause, unpause, stop and rm work, and rm leaves no unit. Storage,
/// runroot and hull's state are the test's, in the user's directories (vfs: no overlay
/// needed); no /etc/subuid range (podman maps the user alone); the image is the test rootfs
/// imported. `pids_limit = 0`: podman's default pids limit needs a pids controller, which
/// this world lacks.
#[test]
fn rootless_podman_with_the_systemd_cgroup_manager_drives_hull() {
    let (world, user) = user_world!();
    if world.output(&["podman", "--version"]).status.code() != Some(0) {
        skip_or_fail("podman is not installed (make deps)");
        return;
    }
    let env = user.env();
    let dir = env.dir.join("podman");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    let d = dir.display();
    common::systemd::podman_conf(&dir);
    world.sh(
        "mkdir -p /etc/containers; [ -e /etc/containers/policy.json ] || \
         echo '{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}' > /etc/containers/policy.json",
    );
    // podman wants a runroot of at most 50 bytes: the user's runtime dir.
    let runroot = format!("{}/podman-{}", user.runtime_dir(), std::process::id());
    let podman = format!(
        "export CONTAINERS_CONF={d}/containers.conf; \
         P=\"podman --root {d}/storage --runroot {runroot} --tmpdir {d}/tmp --storage-driver vfs\"; "
    );
    // Removes every container of this storage, its pause process and its files, however the
    // test ends.
    struct Reset<'a>(&'a WorldUser, String, String);
    impl Drop for Reset<'_> {
        fn drop(&mut self) {
            let script = format!(
                "{}$P rm -f -a -t 0; $P system reset -f; rm -rf {}",
                self.1, self.2
            );
            let _ = self.0.cmd(&["sh", "-c", &script]).output();
        }
    }
    let _reset = Reset(user, podman.clone(), runroot.clone());
    user.sh(&format!(
        "{podman}tar -C {} -c . | $P import - localhost/hullbox:latest >/dev/null",
        rootfs().display()
    ));
    let out = user.sh(&format!(
        "{podman}$P run --rm --network none localhost/hullbox cat /proc/self/cgroup"
    ));
    assert_eq!(cgroup2_line(&out), "0::/", "in its cgroup namespace: {out}");
    let id = user
        .sh(&format!(
            "{podman}$P run -d --name c --network none localhost/hullbox sleep 1000"
        ))
        .trim()
        .to_string();
    let unit = format!("libpod-{id}.scope");
    let cgroup = format!("{}/user.slice/{unit}", user.manager_cgroup());
    let p = user.show(
        &unit,
        &["ActiveState", "Description", "Slice", "ControlGroup"],
    );
    assert_eq!(p["ActiveState"], "active", "{p:?}");
    assert_eq!(
        p["Description"],
        format!("hull container {id}"),
        "hull made it"
    );
    assert_eq!(p["Slice"], "user.slice");
    assert_eq!(p["ControlGroup"], cgroup);
    let state: Value =
        serde_json::from_str(&fs::read_to_string(format!("{d}/hull/{id}/state.json")).unwrap())
            .unwrap();
    let init = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(
        cgroup2_line(&world.read(&format!("/proc/{init}/cgroup"))),
        format!("0::{cgroup}")
    );
    let out = user.sh(&format!("{podman}$P exec c cat /proc/self/cgroup"));
    assert_eq!(cgroup2_line(&out), "0::/");
    user.sh(&format!("{podman}$P pause c >/dev/null"));
    assert_eq!(
        world
            .read(&format!("/sys/fs/cgroup{cgroup}/cgroup.freeze"))
            .trim(),
        "1"
    );
    user.sh(&format!(
        "{podman}$P unpause c >/dev/null && $P stop -t 1 c >/dev/null && $P rm c >/dev/null"
    ));
    assert_unit_gone(user, &unit, &cgroup);
    assert!(
        !fs::exists(format!("{d}/hull/{id}")).unwrap(),
        "hull's state left"
    );
}
