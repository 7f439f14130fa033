//! hull on a real pure cgroup v2 host with every controller: the VM world of
//! `tests/common/vm.rs` (a Debian kernel booted by qemu/KVM with systemd as PID 1 and
//! `cgroup_no_v1=all`). This host is hybrid: its cgroup2 offers only hugetlb, so the checks of
//! tests/cgroups_v2.rs and tests/systemd.rs that need memory, pids, cpu, io or cpuset skip here;
//! in the VM they have every controller. Commands run in the VM through its agent; bundles are
//! made in the world's dir, which the VM sees at the same path.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use common::{hull_bin, Bundle};
use serde_json::json;

/// The VM runs systemd as PID 1 on cgroup2 alone, with every controller this suite needs.
#[test]
fn vm_is_a_pure_v2_host_with_every_controller() {
    require_root!();
    let vm = vm_world!();
    eprintln!(
        "VM world (qemu -accel {}) booted in {:.1} s",
        common::vm::accel(),
        vm.boot_time.as_secs_f64()
    );
    assert_eq!(vm.sh("cat /proc/1/comm"), "systemd");
    assert_eq!(vm.sh("stat -fc %T /sys/fs/cgroup"), "cgroup2fs");
    let controllers = vm.sh("cat /sys/fs/cgroup/cgroup.controllers");
    for c in ["cpuset", "cpu", "io", "memory", "pids"] {
        assert!(
            controllers.split_whitespace().any(|x| x == c),
            "{c} not in the VM's cgroup.controllers: {controllers}"
        );
    }
    assert_eq!(
        vm.sh("grep -c '^[0-9]*:[^:]' /proc/self/cgroup || true"),
        "0"
    );
}

/// Memory and pids limits given to hull's cgroupfs driver land in the container's v2 files,
/// read by the process inside.
#[test]
fn cgroupfs_limits_land_in_v2_files() {
    require_root!();
    let vm = vm_world!();
    let id = format!("vm-limits-{}", std::process::id());
    let dir = vm.path(&id);
    let mut b = Bundle::busybox(
        dir.join("bundle"),
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max",
        ],
    );
    b.edit(|c| {
        c["linux"]["resources"] = json!({
            "memory": {"limit": 64 << 20},
            "pids": {"limit": 42},
            "cpu": {"quota": 50000, "period": 100000}
        });
        c["linux"]["cgroupsPath"] = json!(format!("/hull-vm/{id}"));
    });
    // hull's state in the VM's own tmpfs: 9p (security_model=none) makes no fifo.
    let root = std::path::PathBuf::from(format!("/run/{id}"));
    let out = vm.run(&format!(
        "{hull} --root {root} run -b {bundle} {id}",
        hull = hull_bin().display(),
        root = root.display(),
        bundle = b.dir.display()
    ));
    let left = vm.run(&format!(
        "{hull} --root {root} delete -f {id}; rm -rf {root}; test ! -e /sys/fs/cgroup/hull-vm/{id}",
        hull = hull_bin().display(),
        root = root.display()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, 0, "hull run in the VM: {}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, [&*(64u64 << 20).to_string(), "42", "50000 100000"]);
    assert_eq!(
        left.code, 0,
        "the container's cgroup is left: {}",
        left.stderr
    );
}
