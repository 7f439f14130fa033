//! `hull check`: every bad input `create` refuses (the config-level cases of tests/errors.rs and
//! more) is refused by `check` with `create`'s own words, and `check` makes nothing; the
//! engines' generated configs pass; several problems are all reported at once, in text and in
//! the JSON document; what only the host can say (a missing controller, an rlimit above the hard
//! limit, a missing program, bind source or hook) is foreseen, and `create` indeed fails there.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::{json, Value};

/// `hull check --bundle DIR [--format F]` (no --root: check needs no state).
fn check(b: &Path, format: &str) -> Output {
    std::process::Command::new(hull_bin())
        .args(["check", "--bundle", b.to_str().unwrap(), "--format", format])
        .output()
        .unwrap()
}

/// create's error line without `hull: ` (its last stderr line: warnings come first).
fn create_error(env: &Env, b: &Bundle, tag: &str) -> String {
    let id = env.id(tag);
    let (o, _) = env.create(b, &id);
    assert!(!o.status.success(), "{tag}: create succeeded");
    let err = text(&o.stderr);
    let line = err.lines().last().unwrap_or("").to_string();
    assert_no_leftovers(env, &id);
    line.strip_prefix("hull: ").unwrap_or(&line).to_string()
}

/// check fails (exit 1) with create's line among its errors, and made nothing: no cgroup of
/// the config's (unique) cgroupsPath.
fn same_refusal(env: &Env, b: &mut Bundle, tag: &str) {
    let cg = format!("hull-check-{}-{tag}", std::process::id());
    if b.config.get("linux").is_some() && b.config["linux"].is_object() {
        b.config["linux"]["cgroupsPath"] = json!(format!("/{cg}"));
        if b.dir.join("config.json").exists() {
            let raw = fs::read_to_string(b.dir.join("config.json")).unwrap();
            if serde_json::from_str::<Value>(&raw).is_ok() {
                b.save();
            }
        }
    }
    let o = check(&b.dir, "text");
    let out = text(&o.stdout);
    assert!(
        cgroup_dirs_named(&cg).is_empty(),
        "{tag}: check made a cgroup"
    );
    assert_eq!(o.status.code(), Some(1), "{tag}: {out}{}", text(&o.stderr));
    let line = create_error(env, b, tag);
    assert!(
        out.lines()
            .any(|l| l.starts_with("error: ") && l.contains(&line)),
        "{tag}: create said {line:?}; check said:\n{out}"
    );
    assert!(out.ends_with(": create would fail\n"), "{tag}: {out}");
}

type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn every_config_create_refuses_check_refuses_in_create_s_words() {
    require_root!();
    let env = Env::new();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "ns-type",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "nope"}))
            }),
        ),
        ("empty-args", Box::new(|c| c["process"]["args"] = json!([]))),
        (
            "no-process",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("process");
            }),
        ),
        (
            "rlimit-name",
            Box::new(|c| {
                c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}])
            }),
        ),
        (
            "no-rootfs",
            Box::new(|c| c["root"]["path"] = json!("/nonexistent-rootfs")),
        ),
        (
            "mount-escape",
            Box::new(|c| {
                c["mounts"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"destination": "../../etc", "type": "tmpfs", "source": "tmpfs"}))
            }),
        ),
        (
            "not-on-path",
            Box::new(|c| c["process"]["args"] = json!(["nosuchprog"])),
        ),
        (
            "not-there",
            Box::new(|c| c["process"]["args"] = json!(["/bin/nosuchprog"])),
        ),
        (
            "not-executable",
            Box::new(|c| c["process"]["args"] = json!(["/etc"])),
        ),
        (
            "seccomp-action",
            Box::new(|c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_NOPE"})),
        ),
        (
            "seccomp-errno",
            Box::new(
                |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}),
            ),
        ),
        (
            "seccomp-notify",
            Box::new(
                |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            ),
        ),
        (
            "seccomp-arg",
            Box::new(
                |c| c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
            ),
        ),
        (
            "ns-path",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "network", "path": "/nonexistent/ns"}))
            }),
        ),
        (
            "propagation",
            Box::new(|c| c["linux"]["rootfsPropagation"] = json!("sideways")),
        ),
        (
            "no-version",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("ociVersion");
            }),
        ),
        (
            "hostname-uts",
            Box::new(|c| {
                c["hostname"] = json!("h");
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "uts");
            }),
        ),
        (
            "no-mount-ns",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "mount")
            }),
        ),
        (
            "sysctl",
            Box::new(|c| c["linux"]["sysctl"] = json!({"vm.swappiness": "1"})),
        ),
        (
            "mempolicy",
            Box::new(|c| c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_LOCAL", "nodes": "0"})),
        ),
        (
            "netdev",
            Box::new(|c| {
                c["linux"]["netDevices"] = json!({"eth9": {}});
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "network");
            }),
        ),
        (
            "swap",
            Box::new(|c| {
                c["linux"]["resources"] = json!({"memory": {"limit": 100000000, "swap": 1000}})
            }),
        ),
        (
            "apparmor",
            Box::new(|c| c["process"]["apparmorProfile"] = json!("docker-default")),
        ),
        (
            "hook-relative",
            Box::new(|c| c["hooks"] = json!({"prestart": [{"path": "relative/hook"}]})),
        ),
    ];
    for (tag, edit) in cases {
        let mut b = env.bundle(&["true"]);
        // A network namespace to join replaces the new one (listed twice otherwise).
        if tag == "ns-path" {
            b.config["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "network");
        }
        edit(&mut b.config);
        b.save();
        same_refusal(&env, &mut b, tag);
    }
    // Not JSON at all.
    let b = env.bundle(&["true"]);
    fs::write(b.dir.join("config.json"), "{").unwrap();
    let o = check(&b.dir, "text");
    assert_eq!(o.status.code(), Some(1));
    let line = create_error(&env, &b, "malformed");
    assert!(
        text(&o.stdout).contains(&line),
        "{line}: {}",
        text(&o.stdout)
    );
}

#[test]
fn the_engines_generated_configs_pass() {
    let env = Env::new();
    for engine in ["docker", "podman", "containerd"] {
        let path = repo().join(format!("bundles/engine-configs/{engine}-run.json"));
        let mut c: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        c["root"]["path"] = json!(rootfs());
        let dir = env.dir.join(engine);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("config.json"), c.to_string()).unwrap();
        let o = check(&dir, "text");
        let out = text(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{engine}: {out}{}",
            text(&o.stderr)
        );
        assert!(
            out.lines().last().unwrap().starts_with("0 errors, "),
            "{out}"
        );
        // What may be said: names of the engine's profile no architecture here has.
        for l in out.lines().filter(|l| l.starts_with("warning: ")) {
            assert!(
                l.contains("is a system call of none of the filter's architectures"),
                "{engine}: {l}"
            );
        }
    }
}

#[test]
fn several_problems_are_all_reported_in_text_and_json() {
    let env = Env::new();
    let mut b = env.bundle(&["nosuchprog"]);
    let dup_ns = b.config["linux"]["namespaces"].as_array().unwrap().len();
    let new_mount = b.config["mounts"].as_array().unwrap().len();
    b.edit(|c| {
        c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "pid"}));
        c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND"});
        c["process"]["capabilities"]["bounding"]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_FROM_THE_FUTURE"));
        c["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/home", "type": "bind", "source": "/nonexistent-source", "options": ["rbind"]}),
        );
        c["hooks"] = json!({"poststop": [{"path": "/nonexistent/hook"}]});
    });
    let o = check(&b.dir, "json");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["bundle", "errors", "ok", "problems", "warnings"]);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["bundle"], json!(b.dir.canonicalize().unwrap()));
    let problems = doc["problems"].as_array().unwrap();
    let got: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| {
            (
                p["severity"].as_str().unwrap(),
                p["field"].as_str().unwrap(),
            )
        })
        .collect();
    let (ns_field, mount_field) = (
        format!("linux.namespaces[{dup_ns}].type"),
        format!("mounts[{new_mount}].source"),
    );
    let want = [
        ("error", ns_field.as_str()),
        ("error", "linux.memoryPolicy.nodes"),
        ("warning", "process.capabilities.bounding"),
        ("error", "process.args[0]"),
        ("error", mount_field.as_str()),
        ("warning", "hooks.poststop[0].path"),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort_unstable();
    let mut want_sorted = want.to_vec();
    want_sorted.sort_unstable();
    assert_eq!(got_sorted, want_sorted, "{doc:#}");
    assert_eq!(doc["errors"], 4);
    assert_eq!(doc["warnings"], 2);
    for p in problems {
        let (field, msg) = (p["field"].as_str().unwrap(), p["message"].as_str().unwrap());
        assert!(msg.starts_with(&format!("{field}: ")), "{p}");
    }
    // The text form: one line per problem, then the summary.
    let o = check(&b.dir, "text");
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 7, "{out}");
    assert!(
        out.ends_with("4 errors, 2 warnings: create would fail\n"),
        "{out}"
    );
}

#[test]
fn what_the_host_would_refuse_is_foreseen_and_create_agrees() {
    require_root!();
    let env = Env::new();
    let has_sys_resource = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 24) != 0);
    let rdma = Path::new("/sys/fs/cgroup/rdma").exists()
        || fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .unwrap_or_default()
            .contains("rdma")
        || fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
            .unwrap_or_default()
            .contains("rdma");
    let mounts = env.bundle(&["true"]).config["mounts"]
        .as_array()
        .unwrap()
        .len();
    let bind_want = format!("mounts[{mounts}].source: /nonexistent-source does not exist");
    let fs_want = format!("mounts[{mounts}].type: \"nosuchfs\" is not among this kernel's filesystems (/proc/filesystems), nor in a module");
    let mut cases: Vec<(&str, Edit, &str)> = vec![
        (
            "bind-source",
            Box::new(|c| {
                c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/home", "type": "bind", "source": "/nonexistent-source", "options": ["rbind"]}))
            }),
            &bind_want,
        ),
        (
            "hook",
            Box::new(|c| c["hooks"] = json!({"createRuntime": [{"path": "/nonexistent/hook"}]})),
            "hooks.createRuntime[0].path: /nonexistent/hook is no executable file on this host",
        ),
    ];
    cases.push((
        "fs-type",
        Box::new(|c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/home", "type": "nosuchfs", "source": "x"}))
        }),
        &fs_want,
    ));
    if !has_sys_resource {
        cases.push((
            "rlimit",
            Box::new(|c| {
                c["process"]["rlimits"] =
                    json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1u64 << 40}])
            }),
            "process.rlimits[0]: hard limit 1099511627776 of RLIMIT_NOFILE is above this host's",
        ));
    }
    if !rdma {
        cases.push((
            "rdma",
            Box::new(|c| c["linux"]["resources"] = json!({"rdma": {"mlx5_0": {"hcaHandles": 3}}})),
            "linux.resources.rdma: the rdma cgroup controller is not available on this host",
        ));
    }
    for (tag, edit, want) in cases {
        let mut b = env.bundle(&["true"]);
        edit(&mut b.config);
        b.save();
        let o = check(&b.dir, "text");
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{tag}: {out}");
        assert!(out.contains(&format!("error: {want}")), "{tag}: {out}");
        create_error(&env, &b, tag);
    }
    // A system call no architecture of the filter has: left out of the filter, a warning.
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid", "no_such_call"], "action": "SCMP_ACT_ERRNO"}]})
    });
    let o = check(&b.dir, "text");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).starts_with("warning: linux.seccomp.syscalls[0].names: \"no_such_call\" is a system call of none of the filter's architectures here"),
        "{}",
        text(&o.stdout)
    );
    // A missing poststop hook is a warning: create goes ahead (its failure is only logged).
    let mut b = env.bundle(&["true"]);
    b.edit(|c| c["hooks"] = json!({"poststop": [{"path": "/nonexistent/hook"}]}));
    let o = check(&b.dir, "text");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).ends_with("0 errors, 1 warning: create would go ahead\n"));
}
