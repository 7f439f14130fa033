//! Cgroup behaviour on a pure cgroup v2 host (memory.max, pids.max, cpu.max, the eBPF device
//! filter, cgroup.freeze). These run only where /sys/fs/cgroup is cgroup2; elsewhere each test
//! says it is skipped and why (the v2 code is also unit-tested over a fake tree in src/).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use common::*;

fn is_pure_v2() -> bool {
    // SAFETY: statfs fills a zeroed struct we own from a valid C string.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) == 0 && st.f_type as i64 == 0x6367_7270
    }
}

macro_rules! require_v2 {
    () => {
        require_root!();
        if !is_pure_v2() {
            // Straight to fd 2: libtest captures eprintln!, and a skip must be seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"skipped: needs a pure cgroup v2 host (this host mounts cgroup v1 at /sys/fs/cgroup)\n",
            );
            return;
        }
    };
}

fn cg(id: &str, file: &str) -> String {
    std::fs::read_to_string(format!("/sys/fs/cgroup/hull/{id}/{file}"))
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn v2_limits_land_in_the_unified_files() {
    require_v2!();
    let env = Env::new();
    let mut b = env.bundle(&["sleep", "100"]);
    b.edit(|c| {
        c["linux"]["resources"] = serde_json::json!({
            "memory": {"limit": 64 << 20, "swap": 96 << 20}, "pids": {"limit": 20},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000}
        })
    });
    let id = env.id("v2lim");
    env.create_ok(&b, &id);
    assert_eq!(cg(&id, "memory.max"), (64u64 << 20).to_string());
    assert_eq!(cg(&id, "memory.swap.max"), (32u64 << 20).to_string());
    assert_eq!(cg(&id, "pids.max"), "20");
    assert_eq!(cg(&id, "cpu.weight"), "100");
    assert_eq!(cg(&id, "cpu.max"), "50000 100000");
    assert!(env.hull(&["delete", &id]).status.success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn v2_device_filter_denies_what_the_rules_deny() {
    require_v2!();
    let env = Env::new();
    let out = env.sh(
        "head -c 1 /dev/zero | wc -c; mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda; echo rc=$?",
        |c| {
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set] =
                    serde_json::json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE"]);
            }
        },
    );
    assert!(
        out.starts_with("1\n"),
        "/dev/zero is in the default allowlist: {out}"
    );
    assert!(
        out.contains("rc=1"),
        "block device 8:0 must be denied: {out}"
    );
}

#[test]
fn v2_pause_uses_cgroup_freeze() {
    require_v2!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("v2pause");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    assert!(env.hull(&["pause", &id]).status.success());
    assert_eq!(cg(&id, "cgroup.freeze"), "1");
    assert_eq!(env.status(&id), "paused");
    assert!(env.hull(&["resume", &id]).status.success());
    assert_eq!(cg(&id, "cgroup.freeze"), "0");
    assert!(env.hull(&["delete", "--force", &id]).status.success());
    assert_no_leftovers(&env, &id);
}
