//! hull as a Kubernetes runtime handler: containerd 1.6's CRI plugin runs pods through hull
//! (the RuntimeClass handler `hull`: the runc v2 shim with `BinaryName` = hull), driven over
//! CRI v1 — the gRPC API kubelet speaks — as kubelet drives it. No kubelet: a CRI client of the
//! test's own (`client.py`) makes the calls kubelet makes, with the messages kubelet sends.
//! The world (containerd, images, CNI, teardown) is `world.rs`'s; one per test binary.
//!
//! The client: Python's grpcio with CRI's own api.proto compiled by protoc at run time, all
//! Debian packages (python3-grpcio, python3-protobuf, protobuf-compiler; `make deps`), in a child
//! process that takes and gives JSON (protobuf's JSON mapping of CRI's messages). Not a Rust
//! gRPC stack as a dev-dependency (tonic, prost, tokio, hyper, … and protoc for its build
//! script anyway): minutes more of every `cargo test` build on this project's two cores, for
//! one test binary. The proto is k8s.io/cri-api's `runtime/v1/api.proto` as the `k8s-cri`
//! crate 0.11.0 ships it, fetched by cargo from crates.io (tests/cri/proto/Cargo.toml; the
//! repository keeps no copy); newer than containerd 1.6's, which protobuf's compatibility makes
//! harmless (fields one side lacks are left alone).
//!
//! Every test asserts what the container really saw or did (in its CRI log, through ExecSync,
//! or in the kernel's view of its process), that hull ran it (its state dir under the handler's
//! root while it runs), and that nothing of it is left once CRI removed it.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod bench;
#[path = "../common/mod.rs"]
mod common;
mod pod;
mod teardown;
mod world;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{cap_mask, is_gone, status_field, CAP_KILL, CAP_NET_BIND_SERVICE};
use pod::{assert_gone, inode, ns_of, ns_path, number, stream, Pod};
use world::HANDLER;

// ---- the scenarios ----------------------------------------------------------------------------

/// RunPodSandbox with the `hull` handler: hull runs the pause container (its state dir, its
/// pid), in the pod's own network (the netns file CRI made, an address on the world's bridge),
/// UTS (the pod's hostname), IPC and PID namespaces, in the pod's cgroup, with the
/// oom_score_adj CRI asked for; StopPodSandbox stops it through hull (the sandbox's state dir
/// goes, the pod is NOTREADY) and RemovePodSandbox leaves nothing.
#[test]
fn a_pod_sandbox_is_a_hull_container() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let st = pod
        .cri
        .call("PodSandboxStatus", json!({"podSandboxId": pod.id}))["status"]
        .clone();
    assert_eq!(st["state"], "SANDBOX_READY", "{st}");
    assert_eq!(st["runtimeHandler"], HANDLER, "{st}");
    let ip = st["network"]["ip"].as_str().unwrap_or_default();
    assert!(ip.starts_with("10.99.0."), "pod ip {ip:?}: {st}");

    assert!(world.hull_state(&pod.id).join("state.json").exists());
    let pid = pod.pid(&pod.id);
    let cmdline = fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.contains("sleep 3600"),
        "the pause process: {cmdline:?}"
    );

    let config = world.bundle_config(&pod.id);
    let netns = ns_path(&config, "network").expect("the pod's netns is joined by path");
    assert!(
        netns.starts_with(world.dir.to_str().unwrap()),
        "netns {netns} not under the world's state dir"
    );
    let host = std::process::id() as i32;
    assert_eq!(
        ns_of(pid, "net"),
        inode(&netns),
        "the pause process is not in the pod's netns"
    );
    for ns in ["net", "ipc", "uts", "pid", "mnt"] {
        assert_ne!(
            ns_of(pid, ns),
            ns_of(host, ns),
            "{ns} namespace is the host's"
        );
    }
    let hostname = std::process::Command::new("nsenter")
        .arg(format!("--uts=/proc/{pid}/ns/uts"))
        .arg("hostname")
        .output()
        .unwrap();
    assert_eq!(common::text(&hostname.stdout).trim(), pod.name);
    let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    // The memory hierarchy's line (v1), or cgroup2's (a pure v2 node).
    let memory = cgroup
        .lines()
        .find(|l| l.split(':').nth(1) == Some("memory") || l.starts_with("0::"))
        .unwrap();
    assert!(
        memory.ends_with(&format!("/{}/{}/{}", world.name, pod.name, pod.id)),
        "{memory}"
    );
    // -998 capped to containerd's own by restrict_oom_score_adj (0 here, which the shim passes
    // on anyway: resources_and_update_container_resources checks a value hull must set).
    let asked = config["process"]["oomScoreAdj"].as_i64().unwrap();
    let oom = fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(oom.trim(), asked.to_string());

    pod.cri
        .call("StopPodSandbox", json!({"podSandboxId": pod.id}));
    let st = pod
        .cri
        .call("PodSandboxStatus", json!({"podSandboxId": pod.id}))["status"]
        .clone();
    assert_eq!(st["state"], "SANDBOX_NOTREADY", "{st}");
    common::wait_gone(&[pid]);
    assert_gone(world, &[&pod.id]);
    assert!(
        !Path::new(&netns).exists(),
        "{netns} left after StopPodSandbox"
    );
    pod.remove(&[]);
}

/// Two containers of one pod share its network, IPC and UTS namespaces, joined by path (the
/// pause process's /proc/PID/ns/*): the second reaches the first on
/// localhost (busybox nc) and both see the pod's hostname; each has its own PID and mount
/// namespace.
#[test]
fn two_containers_of_a_pod_share_its_network_ipc_and_uts_namespaces() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let server = pod.sh(
        "server",
        "echo listening; while :; do echo hello-from-the-server | nc -l -p 8080; done",
    );
    let client = pod.sh(
        "client",
        "for i in $(seq 200); do r=$(nc 127.0.0.1 8080 </dev/null) && [ -n \"$r\" ] && break; \
         sleep 0.05; done; echo \"got $r on $(hostname)\"; exec sleep 1000",
    );
    let log = pod.wait_log(
        "client",
        &format!("got hello-from-the-server on {}", pod.name),
    );
    assert_eq!(stream(&log, "stdout").len(), 1, "{log:?}");

    let sandbox = pod.pid(&pod.id);
    let (s, c) = (pod.pid(&server), pod.pid(&client));
    for ns in ["net", "ipc", "uts"] {
        assert_eq!(ns_of(s, ns), ns_of(sandbox, ns), "server's {ns}");
        assert_eq!(ns_of(c, ns), ns_of(sandbox, ns), "client's {ns}");
    }
    for ns in ["pid", "mnt"] {
        assert_ne!(ns_of(s, ns), ns_of(sandbox, ns), "server's {ns}");
        assert_ne!(ns_of(c, ns), ns_of(s, ns), "client's {ns}");
    }
    for id in [&server, &client] {
        let config = world.bundle_config(id);
        assert_eq!(
            ns_path(&config, "network"),
            Some(format!("/proc/{sandbox}/ns/net"))
        );
        assert_eq!(
            ns_path(&config, "ipc"),
            Some(format!("/proc/{sandbox}/ns/ipc"))
        );
        assert_eq!(
            ns_path(&config, "uts"),
            Some(format!("/proc/{sandbox}/ns/uts"))
        );
        assert_eq!(
            ns_path(&config, "pid"),
            None,
            "{id}: a pid namespace of its own"
        );
        assert!(world.hull_state(id).join("state.json").exists());
    }
    pod.remove(&[&server, &client]);
}

/// The security context kubelet sends, as the container's own process has it (its
/// /proc/self/status and what it tried, in its CRI log) and as ExecSync's process has it:
/// runAsUser/runAsGroup/supplementalGroups, a read-only root filesystem, capabilities dropped
/// (ALL) and added, RuntimeDefault seccomp, no-new-privileges, masked and read-only paths; and
/// a root container with only the capabilities it was given.
#[test]
fn the_security_context_is_what_the_containers_process_runs_with() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let script = "cat /proc/self/status; \
                  touch /rootfs-probe 2>&1 || echo root-refused; \
                  echo timer_list=$(wc -c </proc/timer_list); \
                  grep ' /proc/sys ' /proc/self/mountinfo | cut -d' ' -f5,6; \
                  echo done; exec sleep 1000";
    let user = pod.start(
        "user",
        json!({
            "command": ["sh", "-c", script],
            "linux": {"securityContext": {
                "runAsUser": {"value": 1000},
                "runAsGroup": {"value": 3000},
                "supplementalGroups": [4000],
                "readonlyRootfs": true,
                "noNewPrivs": true,
                "seccomp": {"profileType": "RuntimeDefault"},
                "capabilities": {"dropCapabilities": ["ALL"],
                                 "addCapabilities": ["NET_BIND_SERVICE"]},
                "maskedPaths": ["/proc/kcore", "/proc/timer_list"],
                "readonlyPaths": ["/proc/sys"],
            }},
        }),
    );
    let log = pod.wait_log("user", "done");
    let out = stream(&log, "stdout").join("\n");
    assert_eq!(status_field(&out, "Uid"), "1000\t1000\t1000\t1000", "{out}");
    assert_eq!(status_field(&out, "Gid"), "3000\t3000\t3000\t3000", "{out}");
    let groups: Vec<&str> = status_field(&out, "Groups").split_whitespace().collect();
    assert!(groups.contains(&"4000"), "supplementalGroups: {groups:?}");
    assert!(!groups.contains(&"0"), "root's group kept: {groups:?}");
    assert_eq!(
        status_field(&out, "CapBnd"),
        cap_mask(&[CAP_NET_BIND_SERVICE]),
        "{out}"
    );
    // A non-root user's exec clears its effective and permitted sets (no ambient ones).
    assert_eq!(status_field(&out, "CapEff"), cap_mask(&[]), "{out}");
    assert_eq!(status_field(&out, "Seccomp"), "2", "{out}");
    assert_eq!(status_field(&out, "NoNewPrivs"), "1", "{out}");
    assert!(
        out.contains("touch: /rootfs-probe: Read-only file system"),
        "{out}"
    );
    // /proc/timer_list is root's alone (0400): a user reads it only as the /dev/null over it.
    assert!(
        out.contains("timer_list=0"),
        "/proc/timer_list not masked: {log:?}"
    );
    let proc_sys = out
        .lines()
        .find(|l| l.starts_with("/proc/sys "))
        .unwrap_or_else(|| panic!("no /proc/sys mount: {out}"));
    assert!(
        proc_sys
            .split(' ')
            .nth(1)
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "{proc_sys}"
    );
    // ExecSync's process gets the same.
    let status = pod.exec_ok(&user, &["cat", "/proc/self/status"]);
    for key in ["Uid", "Gid", "CapBnd", "CapEff", "Seccomp", "NoNewPrivs"] {
        assert_eq!(
            status_field(&status, key),
            status_field(&out, key),
            "exec's {key}"
        );
    }
    let (code, _, err) = pod.exec(&user, &["touch", "/exec-probe"]);
    assert_eq!(code, 1);
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(world.hull_state(&user).join("state.json").exists());

    let caps = pod.start(
        "caps",
        json!({
            "command": ["sh", "-c", "cat /proc/self/status; echo done; exec sleep 1000"],
            "linux": {"securityContext": {
                "capabilities": {"dropCapabilities": ["ALL"],
                                 "addCapabilities": ["NET_BIND_SERVICE", "KILL"]},
            }},
        }),
    );
    let out = stream(&pod.wait_log("caps", "done"), "stdout").join("\n");
    let want = cap_mask(&[CAP_NET_BIND_SERVICE, CAP_KILL]);
    assert_eq!(status_field(&out, "Uid"), "0\t0\t0\t0", "{out}");
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&out, set), want, "{set}: {out}");
    }
    pod.remove(&[&user, &caps]);
}

/// Resources as kubelet sends them (cpu shares, quota and period, memory limit) are the
/// container's cgroup's and its oom_score_adj the process's; UpdateContainerResources changes
/// them through hull (`hull update`, run by the shim); the container's process is in that
/// cgroup.
#[test]
fn resources_and_update_container_resources() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.start(
        "limited",
        json!({
            "command": ["sleep", "1000"],
            "linux": {"resources": {"cpuShares": 512, "cpuPeriod": 100000, "cpuQuota": 50000,
                                    "memoryLimitInBytes": 64 << 20, "oomScoreAdj": 500}},
        }),
    );
    let pid = pod.pid(&id);
    let cpu = pod.cgroup(&id, "cpu");
    let memory = pod.cgroup(&id, "memory");
    // v1's files, or v2's: shares as cpu.weight by the quadratic fit hull uses (512 → 59,
    // 256 → 35; src/cgroups/convert.rs), quota and period in cpu.max.
    let limits = |shares: &str, weight: &str, quota: &str, mem: u64| {
        if pod::unified() {
            assert_eq!(common::read(&cpu, "cpu.weight"), weight);
            assert_eq!(common::read(&cpu, "cpu.max"), format!("{quota} 100000"));
            assert_eq!(common::read(&memory, "memory.max"), mem.to_string());
        } else {
            assert_eq!(common::read(&cpu, "cpu.shares"), shares);
            assert_eq!(common::read(&cpu, "cpu.cfs_period_us"), "100000");
            assert_eq!(common::read(&cpu, "cpu.cfs_quota_us"), quota);
            assert_eq!(
                common::read(&memory, "memory.limit_in_bytes"),
                mem.to_string()
            );
        }
    };
    limits("512", "59", "50000", 64 << 20);
    assert!(
        common::procs(&memory).contains(&pid),
        "{pid} not in {}",
        memory.display()
    );
    // What kubelet sends a Burstable pod's container (the shim runs with containerd's).
    let oom = fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(oom.trim(), "500");

    pod.cri.call(
        "UpdateContainerResources",
        json!({"containerId": id,
               "linux": {"cpuShares": 256, "cpuPeriod": 100000, "cpuQuota": 20000,
                         "memoryLimitInBytes": 128 << 20}}),
    );
    limits("256", "35", "20000", 128 << 20);
    pod.remove(&[&id]);
}

/// ContainerStatus after the container's process exited: its exit code and kubelet's reason
/// (`Error`, `Completed`); both streams in the CRI log file, in kubelet's format; hull's
/// state of an exited container goes with its task, and RemoveContainer removes the container
/// while the pod runs on.
#[test]
fn exit_codes_and_logs_of_exited_containers() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let failing = pod.sh(
        "failing",
        "echo first; echo to-stderr >&2; echo second; exit 3",
    );
    let done = pod.sh("done", "echo all-good");
    let st = pod.wait_state(&failing, "CONTAINER_EXITED");
    assert_eq!(st["exitCode"], 3, "{st}");
    assert_eq!(st["reason"], "Error", "{st}");
    assert_ne!(st["finishedAt"], "0", "{st}");
    let st = pod.wait_state(&done, "CONTAINER_EXITED");
    assert_eq!(st["exitCode"], 0, "{st}");
    assert_eq!(st["reason"], "Completed", "{st}");

    let log = pod.log("failing");
    assert_eq!(stream(&log, "stdout"), ["first", "second"], "{log:?}");
    assert_eq!(stream(&log, "stderr"), ["to-stderr"], "{log:?}");
    assert_eq!(stream(&pod.log("done"), "stdout"), ["all-good"]);
    let raw = fs::read_to_string(pod.log_dir.join("failing.log")).unwrap();
    let first = raw.lines().next().unwrap();
    let f: Vec<&str> = first.splitn(4, ' ').collect();
    assert!(f[0].contains('T') && f[0].ends_with('Z'), "time: {first}");
    assert_eq!(f[2], "F", "a full line: {first}");

    // The exited task was deleted: hull has nothing of it; the CRI container remains.
    assert_gone(world, &[&failing, &done]);
    pod.cri
        .call("RemoveContainer", json!({"containerId": failing}));
    let err = pod
        .cri
        .try_call("ContainerStatus", json!({"containerId": failing}))
        .unwrap_err();
    assert_eq!(err.code, "NOT_FOUND", "{err:?}");
    let listed = pod.cri.call("ListContainers", json!({}));
    let ids: Vec<&str> = listed["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        !ids.contains(&failing.as_str()) && ids.contains(&done.as_str()),
        "{ids:?}"
    );
    assert_eq!(
        pod.cri
            .call("PodSandboxStatus", json!({"podSandboxId": pod.id}))["status"]["state"],
        "SANDBOX_READY"
    );
    pod.remove(&[&failing, &done]);
}

/// ExecSync through hull's exec: the command's stdout, stderr and exit code; it runs in the
/// container's namespaces (the container's init is its PID 1, the pod's hostname); one past
/// its timeout fails and leaves no process in the container.
#[test]
fn exec_sync_output_exit_code_and_timeout() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.start("target", json!({"command": ["sleep", "1000"]}));
    let (code, out, err) = pod.exec(
        &id,
        &[
            "sh",
            "-c",
            "echo out; echo err >&2; cat /proc/1/cmdline | tr '\\0' ' '; hostname; exit 7",
        ],
    );
    assert_eq!(code, 7);
    assert_eq!(out, format!("out\nsleep 1000 {}\n", pod.name));
    assert_eq!(err, "err\n");

    let pids = common::procs(&pod.cgroup(&id, "pids"));
    let started = Instant::now();
    let r = pod.cri.try_call_within(
        "ExecSync",
        json!({"containerId": id, "cmd": ["sleep", "30"], "timeout": 1}),
        Duration::from_secs(20),
    );
    let took = started.elapsed();
    let e = r.expect_err("an exec past its timeout");
    assert!(e.details.contains("timeout"), "{e:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::procs(&pod.cgroup(&id, "pids")) != pids {
        assert!(
            Instant::now() < deadline,
            "the timed-out exec's process is left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The container runs on.
    assert_eq!(pod.exec_ok(&id, &["echo", "still"]), "still\n");
    pod.remove(&[&id]);
}

/// StopContainer with a grace period: a process that handles SIGTERM ends at once with its
/// own exit code; one that ignores it is killed when the grace period is over (137).
#[test]
fn stop_container_sends_term_then_kill_after_the_grace_period() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let polite = pod.sh(
        "polite",
        "trap 'echo got-TERM; exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done",
    );
    let stubborn = pod.sh(
        "stubborn",
        "trap '' TERM; echo ready; while :; do sleep 1; done",
    );
    pod.wait_log("polite", "ready");
    pod.wait_log("stubborn", "ready");
    let pid = pod.pid(&stubborn);

    let started = Instant::now();
    pod.cri.call(
        "StopContainer",
        json!({"containerId": polite, "timeout": 10}),
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    let st = pod.wait_state(&polite, "CONTAINER_EXITED");
    assert_eq!(st["exitCode"], 0, "{st}");
    assert!(pod.wait_log("polite", "got-TERM").len() >= 2);

    let started = Instant::now();
    pod.cri.call(
        "StopContainer",
        json!({"containerId": stubborn, "timeout": 2}),
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let st = pod.wait_state(&stubborn, "CONTAINER_EXITED");
    assert_eq!(st["exitCode"], 137, "{st}");
    assert!(is_gone(pid));
    for id in [&polite, &stubborn] {
        pod.cri.call("RemoveContainer", json!({"containerId": id}));
    }
    pod.remove(&[&polite, &stubborn]);
}

/// A container past its memory limit is killed by the kernel's OOM killer in the cgroup hull
/// made, and ContainerStatus says so as kubelet needs it: exit code 137, reason `OOMKilled`
/// (the shim's OOM event, from the cgroup of hull's container).
#[test]
fn a_container_past_its_memory_limit_is_oom_killed() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    // dd's one 64 MiB buffer, filled by its read, in a 32 MiB cgroup (no swap here; CRI sets
    // memsw to the limit besides).
    let id = pod.start(
        "hog",
        json!({
            // Two seconds' sleep first: containerd 1.6's shim watches the cgroup's OOM events
            // (memory.events on v2, by inotify) only once `start` has returned, and a kill
            // before that is reported as `Error` (seen in the slow emulated VM world).
            "command": ["sh", "-c", "sleep 2; exec dd if=/dev/zero of=/dev/null bs=64M count=1"],
            "linux": {"resources": {"memoryLimitInBytes": 32 << 20}},
        }),
    );
    let mut st = pod.wait_state(&id, "CONTAINER_EXITED");
    assert_eq!(st["exitCode"], 137, "{st}");
    // The shim sends the OOM event (read from memory.events on an inotify wake-up) and the
    // exit apart, and containerd sets the reason from whichever comes: in the slow emulated
    // VM world the exit is sometimes seen first, the reason `Error` until the OOM event
    // follows. Kubelet reads the status again; so does the test, for 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    while st["reason"] != "OOMKilled" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        st = pod.status(&id);
    }
    assert_eq!(st["reason"], "OOMKilled", "{st}");
    pod.remove(&[&id]);
}

/// ContainerStats are the container's cgroup's (read by the shim from the cgroup hull made):
/// its CPU time exactly (the container sleeps while it is read) and a working set that holds
/// the 16 MiB it wrote to the pod's /dev/shm.
#[test]
fn container_stats_are_the_containers_cgroups() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.sh(
        "busy",
        "dd if=/dev/zero of=/dev/shm/fill bs=1M count=16 2>/dev/null; \
         i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done; exec sleep 1000",
    );
    pod.wait_log("busy", "done");
    let cpu = pod.cgroup(&id, "cpuacct");
    let memory = pod.cgroup(&id, "memory");
    // The CPU time in ns: v1's cpuacct.usage, or v2's cpu.stat usage_usec (what the shim reads
    // there, times 1000).
    let cpu_ns = || {
        if pod::unified() {
            let stat = common::read(&cpu, "cpu.stat");
            let usec: u64 = stat
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .unwrap()
                .parse()
                .unwrap();
            (usec * 1000).to_string()
        } else {
            common::read(&cpu, "cpuacct.usage")
        }
    };
    // Once sleep sleeps, the CPU time stands still: two reads 100 ms apart agree.
    common::wait_for_comm(&[pod.pid(&id)], "sleep", 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    let usage = loop {
        let before = cpu_ns();
        std::thread::sleep(Duration::from_millis(100));
        if cpu_ns() == before {
            break before;
        }
        assert!(
            Instant::now() < deadline,
            "the container's CPU time does not stand still"
        );
    };
    let stats = pod.cri.call("ContainerStats", json!({"containerId": id}))["stats"].clone();
    assert_eq!(stats["attributes"]["id"], id.as_str(), "{stats}");
    assert_eq!(
        number(&stats["cpu"]["usageCoreNanoSeconds"]["value"]).to_string(),
        usage,
        "{stats}"
    );
    let working_set = number(&stats["memory"]["workingSetBytes"]["value"]);
    let usage = if pod::unified() {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    let in_use: u64 = common::read(&memory, usage).parse().unwrap();
    assert!(
        (16 << 20..=in_use + (1 << 20)).contains(&working_set),
        "working set {working_set}, the cgroup's usage {in_use}: {stats}"
    );
    pod.remove(&[&id]);
}

/// Pods reach each other on the world's CNI bridge: one pod's container connects to another
/// pod's address (PodSandboxStatus) and gets its answer; each pod's eth0 has its own address.
#[test]
fn pods_reach_each_other_on_the_cni_bridge() {
    let world = cri_world!();
    let server = Pod::run(world, |_| {});
    let client = Pod::run(world, |_| {});
    let ip = |pod: &Pod| {
        pod.cri
            .call("PodSandboxStatus", json!({"podSandboxId": pod.id}))["status"]["network"]["ip"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (server_ip, client_ip) = (ip(&server), ip(&client));
    assert_ne!(server_ip, client_ip);
    let s = server.sh(
        "server",
        "while :; do echo hello-from-$(hostname) | nc -l -p 8080; done",
    );
    let c = client.sh(
        "client",
        &format!(
            "for i in $(seq 200); do r=$(nc {server_ip} 8080 </dev/null) && [ -n \"$r\" ] && break; \
             sleep 0.05; done; echo \"got $r\"; ip -4 -o addr show dev eth0; echo done; exec sleep 1000"
        ),
    );
    // The last line written before the sleep: the log is read whole only once it is there.
    let log = client.wait_log("client", "done");
    let out = stream(&log, "stdout").join("\n");
    assert!(
        out.contains(&format!("got hello-from-{}", server.name)),
        "{out}"
    );
    assert!(out.contains(&format!("inet {client_ip}/24")), "{out}");
    client.remove(&[&c]);
    server.remove(&[&s]);
}

/// A host-network pod (`namespace_options.network = NODE`): its containers are in containerd's
/// network namespace — the world's own, not the test's — as the container itself reads
/// /proc/self/ns/net; the sandbox's bundle has no network or UTS namespace (kubelet sends no
/// hostname: containerd's then stays the node's).
#[test]
fn a_host_network_pod_is_in_containerds_network_namespace() {
    let world = cri_world!();
    let pod = Pod::run(world, |c| {
        // What kubelet sends a hostNetwork pod: no hostname (the node's is the pod's).
        c["linux"]["securityContext"]["namespaceOptions"]["network"] = json!("NODE");
        c.as_object_mut().unwrap().remove("hostname");
    });
    let id = pod.sh(
        "hostnet",
        "echo ns=$(readlink /proc/self/ns/net); echo done; exec sleep 1000",
    );
    let out = stream(&pod.wait_log("hostnet", "done"), "stdout").join("\n");
    let containerd = ns_of(world.containerd, "net");
    let own = ns_of(std::process::id() as i32, "net");
    assert_ne!(containerd, own, "the world's netns is the test's");
    assert!(out.contains(&format!("ns=net:[{containerd}]")), "{out}");
    assert_eq!(ns_of(pod.pid(&id), "net"), containerd);
    assert_eq!(ns_of(pod.pid(&pod.id), "net"), containerd, "the sandbox's");
    // The sandbox makes no network (nor UTS) namespace; the container joins the sandbox's.
    let config = world.bundle_config(&pod.id);
    let kinds: Vec<&str> = config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(
        !kinds.contains(&"network") && !kinds.contains(&"uts"),
        "{kinds:?}"
    );
    assert_eq!(
        ns_path(&world.bundle_config(&id), "network"),
        Some(format!("/proc/{}/ns/net", pod.pid(&pod.id)))
    );
    pod.remove(&[&id]);
}

/// `pid = NODE`: a container sees containerd's processes (its pid namespace is containerd's);
/// `pid = POD`: the containers of a pod share the sandbox's pid namespace, the pause process
/// is its PID 1 and one container sees the other's process.
#[test]
fn host_pid_and_pod_pid_namespaces() {
    let world = cri_world!();
    let host = Pod::run(world, |c| {
        c["linux"]["securityContext"]["namespaceOptions"]["pid"] = json!("NODE");
    });
    let id = host.start("hostpid", json!({"command": ["sleep", "1000"]}));
    let comm = host.exec_ok(&id, &["cat", &format!("/proc/{}/comm", world.containerd)]);
    assert_eq!(comm, "containerd\n");
    assert_eq!(
        ns_of(host.pid(&id), "pid"),
        ns_of(world.containerd, "pid"),
        "not containerd's pid namespace"
    );
    host.remove(&[&id]);

    let pod = Pod::run(world, |c| {
        c["linux"]["securityContext"]["namespaceOptions"]["pid"] = json!("POD");
    });
    let a = pod.start("a", json!({"command": ["sleep", "1001"]}));
    let b = pod.start("b", json!({"command": ["sleep", "1002"]}));
    let sandbox = pod.pid(&pod.id);
    for id in [&a, &b] {
        assert_eq!(ns_of(pod.pid(id), "pid"), ns_of(sandbox, "pid"), "{id}");
    }
    assert_ne!(ns_of(sandbox, "pid"), ns_of(world.containerd, "pid"));
    let init = pod.exec_ok(&b, &["cat", "/proc/1/cmdline"]);
    let pause = fs::read_to_string(format!("/proc/{sandbox}/cmdline")).unwrap();
    assert_eq!(init, pause, "PID 1 is not the pause process");
    let ps = pod.exec_ok(
        &b,
        &[
            "sh",
            "-c",
            "for p in /proc/[0-9]*; do tr '\\0' ' ' <$p/cmdline; echo; done",
        ],
    );
    assert!(
        ps.lines().any(|l| l.trim() == "sleep 1001"),
        "a not seen: {ps}"
    );
    pod.remove(&[&a, &b]);
}

/// A privileged pod and container (`privileged: true` on both): every capability the runtime
/// has (containerd's bounding set), no seccomp, /sys writable, the host's devices in /dev;
/// its non-privileged sibling in the same pod keeps the default confinement.
#[test]
fn a_privileged_container_has_every_capability_and_the_hosts_devices() {
    let world = cri_world!();
    let pod = Pod::run(world, |c| {
        c["linux"]["securityContext"]["privileged"] = json!(true);
    });
    let script = "grep -E '^(Cap|Seccomp)' /proc/self/status; \
                  grep ' /sys ' /proc/self/mountinfo | cut -d' ' -f5,6; \
                  echo devs=$(ls /dev | tr '\\n' ' '); echo done; exec sleep 1000";
    let privileged = pod.start(
        "privileged",
        json!({"command": ["sh", "-c", script],
               "linux": {"securityContext": {"privileged": true}}}),
    );
    let plain = pod.start("plain", json!({"command": ["sh", "-c", script]}));
    let bounding = fs::read_to_string(format!("/proc/{}/status", world.containerd)).unwrap();
    let all = status_field(&bounding, "CapBnd");

    let out = stream(&pod.wait_log("privileged", "done"), "stdout").join("\n");
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&out, set), all, "{set}: {out}");
    }
    assert_eq!(status_field(&out, "Seccomp"), "0", "{out}");
    let sys = out.lines().find(|l| l.starts_with("/sys ")).expect(&out);
    assert!(
        sys.split(' ').nth(1).unwrap().split(',').any(|o| o == "rw"),
        "{sys}"
    );
    let devs = out.lines().find_map(|l| l.strip_prefix("devs=")).unwrap();
    for dev in ["loop-control", "loop0", "kmsg"] {
        if Path::new("/dev").join(dev).exists() {
            assert!(devs.split(' ').any(|d| d == dev), "no /dev/{dev}: {devs}");
        }
    }

    let out = stream(&pod.wait_log("plain", "done"), "stdout").join("\n");
    assert_ne!(status_field(&out, "CapEff"), all, "{out}");
    assert_eq!(
        u64::from_str_radix(status_field(&out, "CapBnd"), 16).unwrap()
            & (1 << common::CAP_SYS_ADMIN),
        0,
        "CAP_SYS_ADMIN kept: {out}"
    );
    let sys = out.lines().find(|l| l.starts_with("/sys ")).expect(&out);
    assert!(
        sys.split(' ').nth(1).unwrap().split(',').any(|o| o == "ro"),
        "{sys}"
    );
    let devs = out.lines().find_map(|l| l.strip_prefix("devs=")).unwrap();
    assert!(
        !devs.split(' ').any(|d| d == "loop-control" || d == "kmsg"),
        "{devs}"
    );
    pod.remove(&[&privileged, &plain]);
}

/// The streaming server's answer to `url` (a CRI Exec's or Attach's): `stream.py` speaks the
/// WebSocket form of Kubernetes' remotecommand protocol (`v4.channel.k8s.io`) to it from
/// containerd's network namespace (the server listens on its loopback), sending `plan`.
fn remotecommand(world: &world::CriWorld, url: &str, plan: serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    let mut child = std::process::Command::new("nsenter")
        .arg(format!("--net=/proc/{}/ns/net", world.containerd))
        .arg(world::PYTHON)
        .arg(world::cri_dir().join("stream.py"))
        .arg(url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(plan.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "stream.py {url}: {}",
        common::text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// CRI Exec without a terminal, streamed: the URL is the streaming server's on containerd's
/// loopback; stdout and stderr come on their channels, stdin reaches the process, and the
/// exit code is in the status channel's `NonZeroExitCode` failure (a zero exit: `Success`).
#[test]
fn streamed_exec_without_a_terminal() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.start("target", json!({"command": ["sleep", "1000"]}));
    let url = pod.cri.call(
        "Exec",
        json!({"containerId": id, "cmd": ["sh", "-c",
               "read line; echo \"got $line in $(hostname)\"; echo to-stderr >&2; exit 7"],
               "stdin": true, "stdout": true, "stderr": true}),
    )["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let r = remotecommand(world, &url, json!([["stdin", "hello-stdin\n"]]));
    assert_eq!(
        r["stdout"],
        format!("got hello-stdin in {}\n", pod.name),
        "{r}"
    );
    assert_eq!(r["stderr"], "to-stderr\n", "{r}");
    assert_eq!(r["status"]["status"], "Failure", "{r}");
    assert_eq!(r["status"]["reason"], "NonZeroExitCode", "{r}");
    let causes = r["status"]["details"]["causes"].as_array().expect("causes");
    assert!(
        causes
            .iter()
            .any(|c| c["reason"] == "ExitCode" && c["message"] == "7"),
        "{r}"
    );

    let url = pod.cri.call(
        "Exec",
        json!({"containerId": id, "cmd": ["true"], "stdout": true, "stderr": true}),
    )["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = remotecommand(world, &url, json!([]));
    assert_eq!(r["status"]["status"], "Success", "{r}");
    pod.remove(&[&id]);
}

/// CRI Exec with a terminal, streamed: the process has a terminal (`tty` names a /dev/pts),
/// sized by the resize channel's message, stdin echoed back through it.
#[test]
fn streamed_exec_with_a_terminal_takes_a_resize() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.start("target", json!({"command": ["sleep", "1000"]}));
    let url = pod.cri.call(
        "Exec",
        // The resize goes once the process runs (containerd drops one that comes before: seen
        // in the slow emulated VM world) and reaches the pty on its own path, not in order
        // with stdin: the process waits for it, 5 s at most.
        json!({"containerId": id, "cmd": ["sh", "-c", "echo ready; read x; i=0; \
                 until s=$(stty size 2>/dev/null) && [ \"$s\" != '0 0' ] || [ $i -ge 50 ]; \
                 do i=$((i+1)); sleep 0.1; done; echo \"size $s on $(tty) after $x\""],
               "stdin": true, "stdout": true, "tty": true}),
    )["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = remotecommand(
        world,
        &url,
        json!([
            ["until", "ready"],
            ["resize", 123, 45],
            ["wait", 0.3],
            ["stdin", "go\r"]
        ]),
    );
    let out = r["stdout"].as_str().unwrap();
    assert!(out.contains("size 45 123 on /dev/pts/"), "{r}");
    assert!(out.contains("after go"), "{r}");
    assert_eq!(r["status"]["status"], "Success", "{r}");
    pod.remove(&[&id]);
}

/// CRI Attach to a container started with stdin and a terminal, streamed: what is typed
/// reaches its process (`read`), whose answer comes back on the terminal.
#[test]
fn streamed_attach_to_a_container_with_a_terminal() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.start(
        "attached",
        json!({"command": ["sh", "-c", "while read x; do echo \"heard $x on $(tty)\"; done"],
               "stdin": true, "tty": true}),
    );
    let url = pod.cri.call(
        "Attach",
        json!({"containerId": id, "stdin": true, "stdout": true, "tty": true}),
    )["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = remotecommand(
        world,
        &url,
        json!([
            ["wait", 0.2],
            ["stdin", "hello-attach\r"],
            ["wait", 0.5],
            ["stdin", "exit\r"],
            ["stdin", "\u{4}"]
        ]),
    );
    let out = r["stdout"].as_str().unwrap();
    assert!(out.contains("heard hello-attach on /dev/pts/"), "{r}");
    // The end of input ends the loop, and the container with it. Removing the pod before
    // containerd has seen that exit races its shim's shutdown (Kill to a shim going away:
    // "ttrpc: closed", which kubelet retries), so wait for CRI to say so first.
    pod.wait_state(&id, "CONTAINER_EXITED");
    pod.remove(&[&id]);
}

/// CRI PortForward, streamed: a port a container listens on in the pod's network namespace
/// (which the test's own is not), reached through containerd's streaming server (a WebSocket
/// with the port in the query, as kubelet's server reads it); the data round-trips (the
/// server in the pod answers what it was sent).
#[test]
fn streamed_port_forward_reaches_a_port_in_the_pod() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.sh(
        "server",
        "echo listening; while :; do nc -l -p 8080 -e sh -c 'read x; echo \"pong-$x\"'; done",
    );
    pod.wait_log("server", "listening");
    let url = pod.cri.call(
        "PortForward",
        json!({"podSandboxId": pod.id, "port": [8080]}),
    )["url"]
        .as_str()
        .unwrap()
        .to_string();
    let r = remotecommand(
        world,
        &format!("{url}?port=8080"),
        json!([
            ["wait", 0.2],
            ["data", "ping-over-cri\n"],
            ["wait", 0.5],
            ["close"]
        ]),
    );
    assert_eq!(r["stdout"], "pong-ping-over-cri\n", "{r}");
    assert_eq!(r["ports"], json!([8080, 8080]), "{r}");
    pod.remove(&[&id]);
}
