//! Rootless containers: hull run by a real unprivileged user made for these tests (the world
//! of tests/common/rootless.rs), on this hybrid host where the user may write no cgroup. What
//! runc's rootless mode does, checked from inside the container and from the host: the
//! lifecycle and its outputs, both kinds of id map (the user's own id written by hull, its
//! /etc/subuid range through newuidmap), the state-dir rules, what the kernel forbids a user
//! refused up front with the field named, nested under `unshare -r`, and no more privilege
//! than the user's own with every capability inside. Every test ends with nothing of the user
//! running and no cgroup made.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output, Stdio};

use common::rootless::{RootlessUser, UserEnv};
use common::*;
use serde_json::{json, Value};

/// The tests share one user, and each checks that nothing of the user's is left: one at a
/// time (each takes well under a second).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A change to a config.
type Edit = Box<dyn Fn(&mut Value)>;

/// Exit code and one-line stderr.
fn fails_with(o: &Output, code: i32, want: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(want), "want {want:?} in: {err}");
}

/// Nothing of the user's left running, no state under the env's --root, no cgroup of `id`.
fn nothing_left(env: &UserEnv, id: &str) {
    let left = env.user.processes();
    assert!(left.is_empty(), "processes of the user left: {left:?}");
    let states: Vec<_> = fs::read_dir(&env.root)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(states.is_empty(), "state dirs left: {states:?}");
    let cgroups: Vec<_> = fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join("hull").join(id))
        .filter(|p| p.exists())
        .collect();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
}

/// `hull create` as the user with stdio away from pipes (init would hold them open).
fn create(env: &UserEnv, b: &Bundle, id: &str) {
    let st = env
        .hull_cmd(&["create", "--bundle", b.dir.to_str().unwrap(), id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "create {id}");
}

fn state(env: &UserEnv, id: &str) -> Value {
    let o = env.hull(&["state", id]);
    assert!(o.status.success(), "state: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Map container 0 to the user and 1.. to its /etc/subuid (subgid) range.
fn subid_maps(user: &RootlessUser, c: &mut Value) {
    let m = |own: u32, (start, n): (u32, u32)| {
        json!([{"containerID": 0, "hostID": own, "size": 1},
               {"containerID": 1, "hostID": start, "size": n}])
    };
    c["linux"]["uidMappings"] = m(user.uid, user.subuid);
    c["linux"]["gidMappings"] = m(user.gid, user.subgid);
}

#[test]
fn run_as_the_user_passes_stdio_and_the_exit_code() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let b = env.bundle(&[
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; read line; echo \"in:$line\"; echo err >&2; exit 3",
    ]);
    let id = env.id("rl-run");
    let mut child = env
        .hull_cmd(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "root inside: {out}");
    // The user's own id, written by hull (no helper), one id wide.
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, ["0", &user.uid.to_string(), "1"], "{out}");
    assert_eq!(lines[2], "in:hello");
    assert_eq!(text(&o.stderr), "err\n");
    nothing_left(&env, &id);
}

#[test]
fn the_lifecycle_as_the_user() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("rl-life");
    create(&env, &b, &id);
    let s = state(&env, &id);
    assert_eq!(s["status"], "created");
    let pid = s["pid"].as_i64().unwrap() as i32;
    // Init runs as the user on the host (container root is the user's own id).
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some(user.uid.to_string().as_str())
    );
    let o = env.hull(&["list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["id"], id.as_str(), "{list}");
    assert!(env.hull(&["start", &id]).status.success());
    assert_eq!(state(&env, &id)["status"], "running");
    let o = env.hull(&["exec", &id, "sh", "-c", "id -u; exit 5"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "0\n");
    // ps without a cgroup: the processes of init's pid namespace.
    let o = env.hull(&["ps", "--format", "json", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let pids: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pids, [pid]);
    // What needs a cgroup says the container has none.
    for (args, what) in [
        (vec!["pause", &id], "pause"),
        (vec!["update", "--memory", "100M", &id], "update"),
        (vec!["events", "--stats", &id], "events --stats"),
    ] {
        fails_with(
            &env.hull(&args),
            1,
            &format!("{what} {id}: the container has no cgroup"),
        );
    }
    // kill --all goes by the pid namespace too.
    let st = env
        .hull_cmd(&["exec", "-d", &id, "sleep", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "exec -d");
    assert!(env.hull(&["kill", "--all", &id, "KILL"]).status.success());
    let t = std::time::Instant::now();
    while state(&env, &id)["status"] != "stopped" {
        assert!(t.elapsed().as_secs() < 10, "still running after kill --all");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(env.hull(&["delete", &id]).status.success());
    let o = env.hull(&["list", "-q"]);
    assert_eq!(text(&o.stdout), "");
    nothing_left(&env, &id);
}

#[test]
fn subordinate_ids_are_mapped_through_newuidmap() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -G; sleep 1000",
    ]);
    b.edit(|c| {
        subid_maps(user, c);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
    });
    let id = env.id("rl-subid");
    let log = env.dir.join("out");
    let out = fs::File::create(&log).unwrap();
    let st = env
        .hull_cmd(&["create", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(env.hull(&["start", &id]).status.success());
    let pid = state(&env, &id)["pid"].as_i64().unwrap();
    let t = std::time::Instant::now();
    while fs::read_to_string(&log).unwrap().lines().count() < 6 {
        assert!(
            t.elapsed().as_secs() < 10,
            "{}",
            fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let text = fs::read_to_string(&log).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (u, g) = (user.uid.to_string(), user.gid.to_string());
    let (su, sg) = (user.subuid.0.to_string(), user.subgid.0.to_string());
    assert_eq!(rows[0], ["0", u.as_str(), "1"], "{text}");
    assert_eq!(rows[1], ["1", su.as_str(), "65536"], "{text}");
    assert_eq!(rows[2], ["0", g.as_str(), "1"], "{text}");
    assert_eq!(rows[3], ["1", sg.as_str(), "65536"], "{text}");
    assert_eq!(rows[4], ["1000"], "{text}");
    // setgroups is allowed under newgidmap: the supplementary group is there.
    assert_eq!(rows[5], ["1000", "5"], "{text}");
    // On the host, container uid 1000 is the 999th id past the start of the user's range.
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let want = (user.subuid.0 + 999).to_string();
    assert_eq!(
        uid.split_whitespace().nth(1),
        Some(want.as_str()),
        "{status}"
    );
    assert!(env.hull(&["delete", "--force", &id]).status.success());
    nothing_left(&env, &id);
}

#[test]
fn maps_the_user_may_not_have_are_refused_naming_the_field() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let past_range = user.subuid.0 + user.subuid.1;
    let cases: [(&str, Edit, &str); 3] = [
        (
            "helper",
            Box::new(move |c| {
                c["linux"]["uidMappings"][0]["size"] = 1.into();
                c["linux"]["uidMappings"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"containerID": 1, "hostID": past_range, "size": 10}));
            }),
            "linux.uidMappings: newuidmap refused the map",
        ),
        (
            "root",
            Box::new(|c| {
                c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 0, "size": 1}])
            }),
            "linux.uidMappings[0]: maps host id 0",
        ),
        (
            "groups",
            Box::new(|c| c["process"]["user"]["additionalGids"] = json!([5])),
            "process.user.additionalGids: setgroups is denied",
        ),
    ];
    for (tag, edit, want) in cases {
        let mut b = env.bundle(&["true"]);
        b.edit(|c| edit(c));
        let id = env.id(&format!("rl-{tag}"));
        let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        fails_with(&o, 1, want);
        if tag == "helper" {
            assert!(
                text(&o.stderr).contains("/etc/subuid"),
                "{}",
                text(&o.stderr)
            );
        }
        nothing_left(&env, &id);
    }
    // Without the helpers (no uidmap package): the map, the package and the file are named.
    let mut b = env.bundle(&["true"]);
    b.edit(|c| subid_maps(user, c));
    let id = env.id("rl-nohelper");
    let o = env
        .hull_cmd(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .env("PATH", env.dir.join("empty"))
        .output()
        .unwrap();
    fails_with(
        &o,
        1,
        &format!(
            "linux.uidMappings: mapping more than your own id needs newuidmap (package uidmap) and a range for {} in /etc/subuid",
            user.name
        ),
    );
    nothing_left(&env, &id);
}

#[test]
fn state_root_is_xdg_runtime_dir_and_must_be_the_users_own() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let b = env.bundle(&["true"]);
    let id = env.id("rl-xdg");
    let o = env.hull_no_root(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let root = user.runtime_dir.join("hull");
    let md = fs::metadata(&root).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o777), (user.uid, 0o700));
    // Without XDG_RUNTIME_DIR and --root: one line naming both.
    let o = user
        .cmd(hull_bin())
        .env_remove("XDG_RUNTIME_DIR")
        .arg("list")
        .output()
        .unwrap();
    fails_with(&o, 1, "pass --root DIR, or set XDG_RUNTIME_DIR");
    // A root another user planted: a symlink to a directory of theirs, or their directory.
    let theirs = env.dir.join("theirs");
    fs::create_dir(&theirs).unwrap(); // root's
    let planted = env.dir.join("planted");
    std::os::unix::fs::symlink(&theirs, &planted).unwrap();
    for (root, want) in [
        (&planted, "is not a directory but a symlink"),
        (&theirs, "belongs to uid 0, not to you"),
    ] {
        let o = user
            .cmd(hull_bin())
            .arg("--root")
            .arg(root)
            .args(["run", "--bundle", b.dir.to_str().unwrap(), &id])
            .output()
            .unwrap();
        fails_with(&o, 1, want);
    }
    assert_eq!(fs::read_dir(&theirs).unwrap().count(), 0);
    nothing_left(&env, &id);
}

#[test]
fn limits_without_a_writable_cgroup_are_refused_and_nothing_is_left() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| c["linux"]["resources"] = json!({"pids": {"limit": 64}}));
    let id = env.id("rl-limit");
    let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    fails_with(
        &o,
        1,
        "linux.resources.pids.limit: a rootless container can only be limited in a cgroup it may write",
    );
    assert!(text(&o.stderr).contains("Delegate=yes"));
    let refused = text(&o.stderr)
        .trim_end()
        .trim_start_matches("hull: ")
        .to_string();
    nothing_left(&env, &id);
    // `check` foresees it in create's words (no cgroup directory the user may make).
    let o = env.hull(&["check", "--bundle", b.dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let said = text(&o.stdout);
    assert!(said.contains(&refused), "check: {said}\nrun: {refused}");
    nothing_left(&env, &id);
    // Zeroed sections (what engines send) ask for nothing: the container runs.
    b.edit(|c| c["linux"]["resources"] = json!({"cpu": {"shares": 0, "quota": 0}, "memory": {}}));
    let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    nothing_left(&env, &id);
}

#[test]
fn what_the_kernel_forbids_a_user_is_refused_naming_the_field() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let hard = fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
        .unwrap();
    let above: u64 = hard.parse::<u64>().unwrap() + 1;
    let cases: [(Edit, &str); 2] = [
        (
            Box::new(|c| c["process"]["oomScoreAdj"] = json!(-500)),
            "process.oomScoreAdj",
        ),
        (
            Box::new(move |c| {
                c["process"]["rlimits"] =
                    json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": above}])
            }),
            "process.rlimits[0]",
        ),
    ];
    for (edit, field) in cases {
        let mut b = env.bundle(&["true"]);
        b.edit(|c| edit(c));
        let id = env.id("rl-forbid");
        let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        fails_with(&o, 1, field);
        nothing_left(&env, &id);
    }
}

#[test]
fn devices_are_the_hosts_bound_and_sysfs_falls_back_to_a_bind() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "stat -c '%t:%T' /dev/null /dev/zero; echo x > /dev/null && echo wrote; ls /sys/kernel >/dev/null && echo sys",
    ]);
    // A real sysfs without a network namespace of its own: the kernel refuses it to a user.
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/sys" && m["destination"] != "/sys/fs/cgroup");
        mounts.push(
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                           "options": ["nosuid", "noexec", "nodev", "ro"]}),
        );
    });
    let id = env.id("rl-dev");
    let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "1:3\n1:5\nwrote\nsys\n");
    nothing_left(&env, &id);
}

#[test]
fn nested_under_unshare_as_root_of_a_user_namespace() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let bundle = env.dir.join("nested");
    let root = env.dir.join("nested-state");
    let hull = hull_bin();
    let (hull, bundle_s, root_s) = (
        hull.to_str().unwrap(),
        bundle.to_str().unwrap(),
        root.to_str().unwrap(),
    );
    let rootfs = rootfs();
    // The config hull writes for root of the user namespace maps that root (0 → 0).
    let script = format!("set -e; mkdir {bundle_s}; {hull} spec --rootless --bundle {bundle_s}");
    let o = user
        .cmd("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut b = Bundle {
        dir: bundle.clone(),
        config: serde_json::from_slice(&fs::read(bundle.join("config.json")).unwrap()).unwrap(),
    };
    b.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", "cat /proc/self/uid_map; echo nested"]);
        c["process"]["terminal"] = json!(false);
        c["root"] = json!({"path": rootfs, "readonly": true});
    });
    let id = env.id("rl-nested");
    let run = format!("{hull} --root {root_s} run --bundle {bundle_s} {id}");
    let o = user
        .cmd("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &run])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let first: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(first, ["0", "0", "1"], "{out}");
    assert!(out.ends_with("nested\n"), "{out}");
    // User namespaces switched off in the outer one: the error names the sysctl.
    let off = format!("echo 0 > /proc/sys/user/max_user_namespaces; {run}");
    let o = user
        .cmd("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &off])
        .output()
        .unwrap();
    fails_with(&o, 1, "sysctl user.max_user_namespaces is 0");
    assert_eq!(fs::read_dir(&root).map(|d| d.count()).unwrap_or(0), 0);
    nothing_left(&env, &id);
}

/// An outer container's masked /proc (a file of it covered, as engines cover /proc/kcore): the
/// kernel refuses a user's fresh procfs there (the cover is locked in the user's mount
/// namespace), and the error says so instead of a bare "operation not permitted".
#[test]
fn a_proc_masked_by_an_outer_container_is_named() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let b = env.bundle(&["true"]);
    let id = env.id("rl-masked");
    let script = format!(
        "mount --bind /dev/null /proc/uptime && exec setpriv --reuid={} --regid={} --clear-groups -- {} --root {} run --bundle {} {id}",
        user.uid,
        user.gid,
        hull_bin().display(),
        env.root.display(),
        b.dir.display()
    );
    // The outer "container": a mount namespace of root's with /proc/uptime covered.
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fails_with(
        &o,
        1,
        "a new procfs is refused in a user namespace unless the container has its own pid namespace and the /proc hull runs under has nothing mounted over its files",
    );
    assert!(text(&o.stderr).contains("/proc"), "{}", text(&o.stderr));
    nothing_left(&env, &id);
}

/// Every capability inside, the host's `/` bound in (at /home, a directory the image has: the
/// user cannot make one in the root-owned image) and (at /var) a directory the host mounts read-only:
/// the container can do no more than the user — no host file written, /etc/shadow unread, the
/// host's read-only mount not made writable.
#[test]
fn every_capability_inside_is_no_more_than_the_user() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let caps: Vec<String> = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ]
    .iter()
    .map(|c| format!("CAP_{c}"))
    .collect();
    // A host directory of the user's, mounted read-only on the host (a mount of this test's,
    // gone when `_ro` drops).
    let ro = env.dir.join("ro");
    fs::create_dir(&ro).unwrap();
    std::os::unix::fs::chown(&ro, Some(user.uid), Some(user.gid)).unwrap();
    let _ro = ReadOnlyMount::new(&ro);
    let target = "/etc/hull-rootless-escape";
    let _ = fs::remove_file(target);
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "grep CapEff /proc/self/status; \
         echo x > /home/etc/hull-rootless-escape && echo WROTE; \
         cat /home/etc/shadow >/dev/null 2>&1 && echo READ; \
         mount -o remount,bind,rw /var 2>/dev/null && echo REMOUNTED; \
         touch /var/x 2>/dev/null && echo WROTE-RO; \
         echo done",
    ]);
    b.edit(|c| {
        let all = json!(caps);
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = all.clone();
        }
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.push(
            json!({"destination": "/home", "type": "bind", "source": "/",
                           "options": ["rbind", "ro"]}),
        );
        mounts.push(json!({"destination": "/var", "type": "bind", "source": ro,
                           "options": ["bind"]}));
    });
    let id = env.id("rl-caps");
    let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("CapEff:\t000001ff"),
        "all caps inside: {out}"
    );
    for bad in ["WROTE", "READ", "REMOUNTED", "WROTE-RO"] {
        assert!(!out.lines().any(|l| l == bad), "{bad}: {out}");
    }
    assert!(out.ends_with("done\n"), "{out}");
    assert!(!std::path::Path::new(target).exists(), "host file written");
    assert!(!ro.join("x").exists(), "host read-only mount written");
    nothing_left(&env, &id);
}

/// A read-only bind mount of `dir` over itself on the host, unmounted on drop.
struct ReadOnlyMount(std::path::PathBuf);

impl ReadOnlyMount {
    fn new(dir: &std::path::Path) -> ReadOnlyMount {
        let ok = std::process::Command::new("mount")
            .args(["--bind", "-o", "ro"])
            .arg(dir)
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount --bind -o ro {}", dir.display());
        ReadOnlyMount(dir.to_path_buf())
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// The image is host root's: a mount point it lacks cannot be made by the user, and the error
/// says that is what failed.
#[test]
fn a_mount_point_the_user_cannot_make_is_named() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/host", "type": "bind", "source": "/", "options": ["rbind"]}),
        )
    });
    let id = env.id("rl-target");
    let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    fails_with(
        &o,
        1,
        "make the mount point /host in the rootfs: permission denied",
    );
    nothing_left(&env, &id);
}

/// A config without a user namespace, and the systemd driver where it cannot work for this
/// user (a hybrid host; on a pure cgroup v2 host, no user bus: this user has no systemd user
/// manager; tests/systemd_user.rs has one): one line each naming the field or flag, nothing
/// made.
#[test]
fn what_rootless_hull_cannot_do_is_refused_up_front() {
    let _one = serial();
    let user = rootless_user!();
    let env = user.env();
    let mut b = env.bundle(&["true"]);
    let id = env.id("rl-upfront");
    let o = env.hull(&[
        "--systemd-cgroup",
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    let pure_v2 = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    let want = if pure_v2 {
        "--systemd-cgroup: no user bus for uid"
    } else {
        "hull's systemd driver needs pure cgroup v2"
    };
    fails_with(&o, 1, want);
    nothing_left(&env, &id);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "user");
        let linux = c["linux"].as_object_mut().unwrap();
        linux.remove("uidMappings");
        linux.remove("gidMappings");
    });
    let o = env.hull(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    fails_with(
        &o,
        1,
        "linux.namespaces: a rootless container needs a user namespace",
    );
    nothing_left(&env, &id);
}
