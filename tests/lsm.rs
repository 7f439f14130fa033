//! AppArmor and SELinux labels (`process.apparmorProfile`, `process.selinuxLabel`,
//! `linux.mountLabel`, `exec --apparmor`/`--process-label`). What a host without the LSM can
//! check (this CI host runs neither): a label is refused before anything is made — one line
//! naming the field and the LSM that is not enabled, exit 1 for create (255 for exec), no state
//! dir, cgroup, mount or process left; an empty label is none; a process without labels opens
//! no attr file and exec mounts no procfs for them; `features` reports the support and, in
//! whether the host runs each LSM. Which bytes go to which attr file is unit-tested in
//! `src/lsm/attr.rs`. On a host where an LSM is enabled, its refusal cases do not apply and say
//! so; applying a label for real is not exercised here.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::{json, Value};

const PROFILE: &str = "docker-default";
const LABEL: &str = "system_u:system_r:container_t:s0:c124,c675";
const MOUNT_LABEL: &str = "system_u:object_r:container_file_t:s0:c124,c675";

/// The host's LSMs as hull's `features` reports them.
fn host_lsm(name: &str) -> bool {
    let o = Env::new().hull(&["features"]);
    assert!(o.status.success(), "features: {}", text(&o.stderr));
    let f: Value = serde_json::from_slice(&o.stdout).unwrap();
    f["linux"][name]["enabled"] == true
}

/// Whether the refusal of a label for `lsm` applies here; says so when it does not.
fn lsm_absent(lsm: &str) -> bool {
    if host_lsm(&lsm.to_lowercase()) {
        eprintln!("{lsm} is enabled on this host: its refusal does not apply");
        return false;
    }
    true
}

/// Exit `code`, exactly one line on stderr, equal to `want`.
fn assert_one_line(o: &Output, code: i32, want: &str) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert_eq!(err, format!("{want}\n"));
}

/// Nothing of `id` left and nothing at all under the env's --root.
fn assert_nothing_left(env: &Env, id: &str) {
    assert_no_leftovers(env, id);
    let left: Vec<_> = fs::read_dir(&env.root)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left under --root: {left:?}");
    let procs = procs_mentioning(&env.root.to_string_lossy());
    assert!(procs.is_empty(), "hull processes left: {procs:?}");
}

type Edit = fn(&mut Value);

/// The config edits that ask for a label, with the field, the LSM and the label.
fn label_edits() -> [(&'static str, &'static str, &'static str, Edit); 3] {
    [
        ("process.apparmorProfile", "AppArmor", PROFILE, |c| {
            c["process"]["apparmorProfile"] = PROFILE.into()
        }),
        ("process.selinuxLabel", "SELinux", LABEL, |c| {
            c["process"]["selinuxLabel"] = LABEL.into()
        }),
        ("linux.mountLabel", "SELinux", MOUNT_LABEL, |c| {
            c["linux"]["mountLabel"] = MOUNT_LABEL.into()
        }),
    ]
}

#[test]
fn create_refuses_a_label_the_host_cannot_apply_and_makes_nothing() {
    require_root!();
    let env = Env::new();
    for (field, lsm, value, edit) in label_edits() {
        if !lsm_absent(lsm) {
            continue;
        }
        for verb in ["create", "run"] {
            let mut b = env.bundle(&["true"]);
            b.edit(edit);
            let id = env.id("lsm");
            let o = env.hull(&[verb, "--bundle", b.dir.to_str().unwrap(), &id]);
            assert_one_line(
                &o,
                1,
                &format!(
                    "hull: {field}: cannot apply \"{value}\": {lsm} is not enabled on this host"
                ),
            );
            assert_nothing_left(&env, &id);
        }
    }
}

// runc: `if name == ""`; podman writes empty labels where it has none.
#[test]
fn empty_labels_are_no_labels() {
    require_root!();
    let env = Env::new();
    let out = env.sh("echo ran", |c| {
        c["process"]["apparmorProfile"] = "".into();
        c["process"]["selinuxLabel"] = "".into();
        c["linux"]["mountLabel"] = "".into();
    });
    assert_eq!(out, "ran\n");
}

/// A created and started container sleeping; returns (id, init's host pid).
fn start(env: &Env) -> (String, i32) {
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("lsm-exec");
    env.create_ok(&b, &id);
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    let pid = env.state(&id)["pid"].as_i64().unwrap() as i32;
    (id, pid)
}

/// The container's processes (`hull ps --format json`).
fn pids(env: &Env, id: &str) -> Vec<i32> {
    let o = env.hull(&["ps", "--format", "json", id]);
    assert!(o.status.success(), "ps: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn exec_refuses_a_label_the_host_cannot_apply_and_starts_nothing() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env);
    let process = |edit: &dyn Fn(&mut Value)| {
        let mut p = json!({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}});
        edit(&mut p);
        let path = env.dir.join(format!("process-{}.json", env.id("p")));
        fs::write(&path, p.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    };
    let aa_file = process(&|p| p["apparmorProfile"] = PROFILE.into());
    let se_file = process(&|p| p["selinuxLabel"] = LABEL.into());
    let cases: [(&str, &[&str], &str, &str); 4] = [
        (
            "AppArmor",
            &["--apparmor", PROFILE, &id, "true"],
            "--apparmor",
            PROFILE,
        ),
        (
            "SELinux",
            &["--process-label", LABEL, &id, "true"],
            "--process-label",
            LABEL,
        ),
        (
            "AppArmor",
            &["--process", &aa_file, &id],
            "process.apparmorProfile",
            PROFILE,
        ),
        (
            "SELinux",
            &["--process", &se_file, &id],
            "process.selinuxLabel",
            LABEL,
        ),
    ];
    for (lsm, args, field, value) in cases {
        if !lsm_absent(lsm) {
            continue;
        }
        let mut a = vec!["exec"];
        a.extend_from_slice(args);
        let o = env.hull(&a);
        assert_one_line(
            &o,
            255,
            &format!("hull: exec failed: {field}: cannot apply \"{value}\": {lsm} is not enabled on this host"),
        );
        assert_eq!(pids(&env, &id), [init], "a process of the refused exec");
    }
    // Empty flags are none given (runc: `if ap != ""`).
    let o = env.hull(&["exec", "--apparmor", "", "--process-label", "", &id, "true"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// Paths under /proc the traced hull and its children open or read as links, and the
/// filesystems they open (`strace -f`).
fn traced_opens(env: &Env, args: &[&str]) -> (Output, String) {
    let log = env.dir.join(format!("strace-{}", env.id("st")));
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=open,openat,openat2,readlinkat,fsopen",
        "-o",
    ])
    .arg(&log)
    .arg(hull_bin())
    .arg("--root")
    .arg(&env.root)
    .args(args)
    .stdin(std::process::Stdio::null());
    let o = cmd.output().unwrap();
    (o, fs::read_to_string(&log).unwrap())
}

// The common path pays nothing: no attr file is looked at, and exec (whose process has no
// procfs of its own otherwise) mounts no procfs. `run` traces create's path to its end (a
// created init waiting for `start` would keep strace waiting). Checked to fail with the
// payload looking for `attr/apparmor/exec` whatever the labels.
#[test]
fn a_process_without_labels_touches_no_attr_file() {
    require_root!();
    require!(
        Path::new("/usr/bin/strace").exists(),
        "needs strace (apt-get install strace)"
    );
    let env = Env::new();
    let b = env.bundle(&["true"]);
    let (o, run) = traced_opens(
        &env,
        &[
            "run",
            "--bundle",
            b.dir.to_str().unwrap(),
            &env.id("lsm-run"),
        ],
    );
    assert!(o.status.success(), "run: {}", text(&o.stderr));
    let (id, _) = start(&env);
    let (o, exec) = traced_opens(&env, &["exec", &id, "true"]);
    assert!(o.status.success(), "exec: {}", text(&o.stderr));
    for (verb, trace) in [("run", &run), ("exec", &exec)] {
        let attr: Vec<&str> = trace.lines().filter(|l| l.contains("attr/")).collect();
        assert!(attr.is_empty(), "{verb} looked at attr files: {attr:#?}");
    }
    let procfs: Vec<&str> = exec
        .lines()
        .filter(|l| l.contains("fsopen(\"proc\""))
        .collect();
    assert!(procfs.is_empty(), "exec mounted a procfs: {procfs:#?}");
    // The trace is real: init mounted its procfs.
    assert!(run.contains("fsopen(\"proc\""), "{run}");
}

/// `enabled` is whether hull would apply such a label here: whether the host runs the LSM, read
/// as runc reads it (runc says true everywhere: a deliberate difference, in the README).
#[test]
fn features_reports_the_lsms_this_host_runs() {
    let env = Env::new();
    let o = env.hull(&["features"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let f: Value = serde_json::from_slice(&o.stdout).unwrap();
    let apparmor = Path::new("/sys/kernel/security/apparmor").exists()
        && fs::read("/sys/module/apparmor/parameters/enabled").is_ok_and(|b| b.starts_with(b"Y"));
    let selinuxfs = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" - selinuxfs ") && !l.split(' ').nth(5).unwrap().starts_with("ro"));
    assert_eq!(f["linux"]["apparmor"], json!({ "enabled": apparmor }));
    // A selinuxfs without a policy (label "kernel") is SELinux off, too: only one way checked.
    if !selinuxfs {
        assert_eq!(f["linux"]["selinux"], json!({"enabled": false}));
    }
}
