//! `hull update`: runc's flags and `--resources FILE|-` change a live container's cgroup files;
//! zero values leave a setting unchanged; bad values and stopped containers are refused.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Stdio;

use common::*;

fn cg(controller: &str, id: &str, file: &str) -> String {
    let p = PathBuf::from("/sys/fs/cgroup")
        .join(controller)
        .join("hull")
        .join(id)
        .join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

fn running(env: &Env, tag: &str) -> String {
    let mut b = env.bundle(&["sleep", "100"]);
    b.edit(|c| c["linux"]["resources"] = serde_json::json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 32}, "cpu": {"shares": 1024, "period": 100000}}));
    let id = env.id(tag);
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    id
}

#[test]
fn flags_change_the_cgroup_files() {
    require_root!();
    let env = Env::new();
    let id = running(&env, "upflags");
    let o = env.hull(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--pids-limit",
        "10",
        "--cpu-share",
        "512",
        "--cpu-quota",
        "20000",
        &id,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        cg("memory", &id, "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(
        cg("memory", &id, "memory.memsw.limit_in_bytes"),
        (256u64 << 20).to_string()
    );
    assert_eq!(cg("pids", &id, "pids.max"), "10");
    assert_eq!(cg("cpu", &id, "cpu.shares"), "512");
    // A quota alone is fine in an update: the container's period (100000) applies.
    assert_eq!(cg("cpu", &id, "cpu.cfs_quota_us"), "20000");
    assert_eq!(cg("cpu", &id, "cpu.cfs_period_us"), "100000");
    // Lowering memory below the current memsw and then memsw works in either order.
    let o = env.hull(&["update", "--memory", "32m", "--memory-swap", "48m", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        cg("memory", &id, "memory.limit_in_bytes"),
        (32u64 << 20).to_string()
    );
    assert_eq!(
        cg("memory", &id, "memory.memsw.limit_in_bytes"),
        (48u64 << 20).to_string()
    );
    // -1 lifts the limit.
    let o = env.hull(&["update", "--pids-limit", "-1", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(cg("pids", &id, "pids.max"), "max");
}

#[test]
fn resources_from_stdin_and_file_with_zero_meaning_unchanged() {
    require_root!();
    let env = Env::new();
    let id = running(&env, "upfile");
    let mut child = env
        .cmd(&["update", "--resources", "-", &id])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"memory": {"limit": 0}, "pids": {"limit": 7}, "cpu": {"shares": 0}}"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(cg("pids", &id, "pids.max"), "7");
    assert_eq!(
        cg("memory", &id, "memory.limit_in_bytes"),
        (64u64 << 20).to_string(),
        "0 must leave the limit"
    );
    assert_eq!(
        cg("cpu", &id, "cpu.shares"),
        "1024",
        "0 must leave the shares"
    );
    let file = env.dir.join("res.json");
    std::fs::write(&file, r#"{"memory": {"limit": 100663296}}"#).unwrap();
    let o = env.hull(&[
        "update",
        &format!("--resources={}", file.display()),
        "--pids-limit",
        "9",
        &id,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(cg("memory", &id, "memory.limit_in_bytes"), "100663296");
    assert_eq!(cg("pids", &id, "pids.max"), "9");
    // The new limits are visible from inside too.
    let o = env.hull(&["ps", "--format", "json", &id]);
    assert!(o.status.success());
}

#[test]
fn bad_values_and_stopped_containers_are_refused() {
    require_root!();
    let env = Env::new();
    let id = running(&env, "upbad");
    let o = env.hull(&["update", "--memory", "12q", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("--memory") && text(&o.stderr).contains("12q"),
        "{}",
        text(&o.stderr)
    );
    let o = env.hull(&["update", "--memory", "64m", "--memory-swap", "32m", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("linux.resources.memory.swap"),
        "{}",
        text(&o.stderr)
    );
    let o = env.hull(&["update", "--resources", "-", &id]);
    assert_eq!(o.status.code(), Some(1), "empty stdin is not JSON");
    assert!(env.hull(&["kill", &id, "KILL"]).status.success());
    env.wait_status(&id, "stopped");
    let o = env.hull(&["update", "--pids-limit", "5", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("container not running"),
        "{}",
        text(&o.stderr)
    );
    let o = env.hull(&["update", "--pids-limit", "5", "no-such-container"]);
    assert!(
        text(&o.stderr).contains("container does not exist"),
        "{}",
        text(&o.stderr)
    );
}
