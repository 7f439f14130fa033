//! The suites that need a pure cgroup v2 host with every controller, run whole in the VM world
//! of `tests/common/vm.rs` (a Debian kernel booted by qemu with systemd as PID 1 and
//! `cgroup_no_v1=all`). This host is hybrid: its cgroup2 offers only hugetlb, so the checks of
//! tests/cgroups_v2.rs, tests/systemd.rs, tests/systemd_user.rs and tests/cri_systemd that need memory, pids, cpu or io
//! skip or take their refusal paths here. In the VM the same test binaries (this build's, from
//! target/, which the VM sees at its own path) run with every controller; each test below runs
//! one of them there and fails when the suite fails, or when a check of it says it was skipped
//! or left unchecked for want of a controller.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::time::Duration;

use common::vm::{test_binary, VmWorld};

/// The VM runs systemd as PID 1 on cgroup2 alone, with every controller the suites need.
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
    for c in ["cpuset", "cpu", "io", "memory", "pids", "hugetlb"] {
        assert!(
            controllers.split_whitespace().any(|x| x == c),
            "{c} not in the VM's cgroup.controllers: {controllers}"
        );
    }
    // No v1 hierarchy: /proc/self/cgroup has the one 0:: line.
    assert_eq!(
        vm.sh("grep -c '^[0-9]*:[^:]' /proc/self/cgroup || true"),
        "0"
    );
}

/// Run test binary `name` in the VM with `args`; panic unless it passed with none of `absent`
/// in its output (but on lines naming one of `excused`, checks that cannot run on a host with
/// every controller). Prints the suite's output.
fn suite(vm: &VmWorld, name: &str, args: &[&str], absent: &[&str], excused: &[&str]) {
    let bin = match test_binary(name) {
        Ok(b) => b,
        Err(e) => {
            common::skip_or_fail(&e);
            return;
        }
    };
    // One suite at a time: the VM's two emulated CPUs are this host's two cores, and suites
    // side by side only stretch each other's timeouts.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let started = std::time::Instant::now();
    let out = vm.run_test_binary(&bin, args, Duration::from_secs(600));
    let all = format!("{}{}", out.stdout, out.stderr);
    eprintln!(
        "---- {name} in the VM: exit {} in {:.1} s ----\n{all}",
        out.code,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(out.code, 0, "{name} failed in the VM (its output is above)");
    assert!(
        all.contains("test result: ok."),
        "{name} in the VM printed no passing result"
    );
    let unchecked: Vec<&str> = all
        .lines()
        .filter(|l| absent.iter().any(|a| l.contains(a)))
        .filter(|l| !excused.iter().any(|e| l.contains(e)))
        .collect();
    assert!(
        unchecked.is_empty(),
        "{name} in the VM left checks undone: {unchecked:#?}"
    );
}

/// tests/cgroups_v2.rs, whose checks of memory, pids, cpu and io limits, update, stats and
/// events skip on this host's cgroup2.
#[test]
fn cgroups_v2_suite_passes_on_a_host_with_every_controller() {
    require_root!();
    let vm = vm_world!();
    suite(
        vm,
        "cgroups_v2",
        &[],
        &["skipped:", "not in /sys/fs/cgroup/cgroup.controllers"],
        // It needs a controller the host lacks: it runs on this host.
        &["a_resource_whose_controller_cgroup2_lacks_is_refused"],
    );
}

/// tests/systemd.rs with the systemd world booted inside the VM: the unit properties of the
/// systemd driver land in memory.max, pids.max and cpu.max of the scope.
#[test]
fn systemd_suite_passes_on_a_host_with_every_controller() {
    require_root!();
    let vm = vm_world!();
    suite(
        vm,
        "systemd",
        &["--test-threads=2", "--nocapture"],
        &["skipped:", "unchecked", "offers no"],
        &[],
    );
}

/// tests/cri_systemd: containerd's CRI with `SystemdCgroup = true` in the systemd world inside
/// the VM, where pods can run (containerd gives every sandbox cpu shares): scopes in the pod's
/// slice, resources and UpdateContainerResources, the OOM reason, stats, stop and removal.
#[test]
fn cri_systemd_pods_run_on_a_host_with_every_controller() {
    require_root!();
    let vm = vm_world!();
    suite(
        vm,
        "cri_systemd",
        &["--test-threads=2", "--nocapture"],
        &["skipped:", "unchecked", "offers no"],
        &[],
    );
}

/// tests/cri on a pure v2 node: containerd's CRI with the cgroupfs driver (hull's v2 paths:
/// cpu.weight, cpu.max, memory.max, v2 stats, the OOM event from memory.events), pods on a CNI
/// bridge in the VM.
#[test]
fn cri_suite_passes_on_a_pure_v2_node() {
    require_root!();
    let vm = vm_world!();
    suite(
        vm,
        "cri",
        &["--test-threads=4", "--nocapture"],
        &["skipped:"],
        &[],
    );
}

/// tests/systemd_user.rs: a user's own systemd manager in the systemd world inside the VM,
/// where systemd delegates memory and pids to it, so rootless limits are read back from the
/// scope's files instead of refused. (hugetlb, which systemd never enables, runs on this host.)
#[test]
fn systemd_user_suite_passes_on_a_host_with_every_controller() {
    require_root!();
    let vm = vm_world!();
    suite(
        vm,
        "systemd_user",
        &["--test-threads=2", "--nocapture"],
        &["skipped:", "limit checked refused"],
        &[],
    );
}
