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
//! one test binary. The proto is k8s.io/cri-api's `runtime/v1/api.proto` (Apache-2.0, its
//! header kept) as the `k8s-cri` crate 0.11.0 ships it; newer than containerd 1.6's, which
//! protobuf's compatibility makes harmless (fields one side lacks are left alone).
//!
//! Every test asserts what the container really saw or did (in its CRI log, through ExecSync,
//! or in the kernel's view of its process), that hull ran it (its state dir under the handler's
//! root while it runs), and that nothing of it is left once CRI removed it.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

#[path = "../common/mod.rs"]
mod common;
mod world;

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::{
    cap_mask, cgroups_of, is_gone, mounts_mentioning, procs_mentioning, status_field, CAP_KILL,
    CAP_NET_BIND_SERVICE,
};
use world::{log_lines, Cri, CriWorld, HANDLER, IMAGE};

static PODS: AtomicUsize = AtomicUsize::new(0);

// ---- a pod, as kubelet makes one --------------------------------------------------------------

/// A pod sandbox run through CRI with its own client, stopped and removed through CRI when
/// dropped (also when the test fails), its cgroup parent removed after it (kubelet's job).
struct Pod<'w> {
    world: &'w CriWorld,
    cri: Cri,
    /// The pod's name (metadata.name, hostname, the last part of its cgroup parent).
    name: String,
    /// The sandbox's id (CRI's, hull's container id).
    id: String,
    /// The PodSandboxConfig it was made with (CreateContainer sends it again, as kubelet does).
    config: Value,
    log_dir: PathBuf,
    removed: Cell<bool>,
}

impl<'w> Pod<'w> {
    /// RunPodSandbox with the `hull` handler; `edit` changes the PodSandboxConfig first.
    fn run(world: &'w CriWorld, edit: impl FnOnce(&mut Value)) -> Pod<'w> {
        let n = PODS.fetch_add(1, Ordering::SeqCst);
        let name = format!("pod-{}-{n}", std::process::id());
        let log_dir = world.logs().join(&name);
        fs::create_dir_all(&log_dir).unwrap();
        let mut config = json!({
            "metadata": {"name": name, "uid": format!("uid-{name}"), "namespace": "hull-tests",
                         "attempt": 0},
            "hostname": name,
            "logDirectory": log_dir,
            "labels": {"io.kubernetes.pod.name": name},
            "linux": {
                "cgroupParent": format!("/{}/{name}", world.name),
                "securityContext": {
                    "namespaceOptions": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"},
                },
            },
        });
        edit(&mut config);
        let cri = world.client();
        let id = cri.call(
            "RunPodSandbox",
            json!({"config": config, "runtimeHandler": HANDLER}),
        )["podSandboxId"]
            .as_str()
            .unwrap()
            .to_string();
        Pod {
            world,
            cri,
            name,
            id,
            config,
            log_dir,
            removed: Cell::new(false),
        }
    }

    /// CreateContainer `name` in the pod: `config` is a ContainerConfig (metadata, image and
    /// log path filled in when it has none, and the pod's namespace options, which kubelet
    /// sends with every container: without them PID would be the pod's); its id.
    fn create(&self, name: &str, mut config: Value) -> String {
        let c = config.as_object_mut().unwrap();
        c.entry("metadata").or_insert(json!({"name": name}));
        c.entry("image").or_insert(json!({"image": IMAGE}));
        c.entry("logPath").or_insert(json!(format!("{name}.log")));
        let security = c
            .entry("linux")
            .or_insert(json!({}))
            .as_object_mut()
            .unwrap()
            .entry("securityContext")
            .or_insert(json!({}));
        security
            .as_object_mut()
            .unwrap()
            .entry("namespaceOptions")
            .or_insert(self.config["linux"]["securityContext"]["namespaceOptions"].clone());
        self.cri.call(
            "CreateContainer",
            json!({"podSandboxId": self.id, "config": config, "sandboxConfig": self.config}),
        )["containerId"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// CreateContainer and StartContainer: the container's id.
    fn start(&self, name: &str, config: Value) -> String {
        let id = self.create(name, config);
        self.cri.call("StartContainer", json!({"containerId": id}));
        id
    }

    /// A container running `sh -c script`, started.
    fn sh(&self, name: &str, script: &str) -> String {
        self.start(name, json!({"command": ["sh", "-c", script]}))
    }

    /// ContainerStatus's `status`.
    fn status(&self, id: &str) -> Value {
        self.cri.call("ContainerStatus", json!({"containerId": id}))["status"].clone()
    }

    /// Wait (10 s at most) until the container's state is `state`; its status.
    fn wait_state(&self, id: &str, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.status(id);
            if s["state"] == state {
                return s;
            }
            assert!(Instant::now() < deadline, "{id} never became {state}: {s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// ExecSync `cmd` in the container: (exit code, stdout, stderr).
    fn exec(&self, id: &str, cmd: &[&str]) -> (i64, String, String) {
        let r = self.cri.call(
            "ExecSync",
            json!({"containerId": id, "cmd": cmd, "timeout": 10}),
        );
        (
            r["exitCode"].as_i64().unwrap(),
            r["stdout"].as_str().unwrap().to_string(),
            r["stderr"].as_str().unwrap().to_string(),
        )
    }

    /// ExecSync that must exit 0: its stdout.
    fn exec_ok(&self, id: &str, cmd: &[&str]) -> String {
        let (code, out, err) = self.exec(id, cmd);
        assert_eq!(code, 0, "{cmd:?} in {id}: {out}{err}");
        out
    }

    /// The container's CRI log: (stream, text) lines.
    fn log(&self, name: &str) -> Vec<(String, String)> {
        log_lines(&self.log_dir.join(format!("{name}.log")))
    }

    /// Wait (10 s at most) until the container's log has a line `text`; the log.
    fn wait_log(&self, name: &str, text: &str) -> Vec<(String, String)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log(name);
            if log.iter().any(|(_, t)| t == text) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{name}'s log never said {text:?}: {log:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pid hull reports for container (or sandbox) `id` (`hull state`, as the shim runs
    /// it); panics unless hull has it running.
    fn pid(&self, id: &str) -> i32 {
        let o = self.world.hull(&["state", id]);
        assert!(
            o.status.success(),
            "hull state {id}: {}",
            common::text(&o.stderr)
        );
        let st: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(st["status"], "running", "{st}");
        st["pid"].as_i64().unwrap() as i32
    }

    /// The container's cgroup directory in the v1 hierarchy `controller` (its cgroupsPath in
    /// the config CRI wrote).
    fn cgroup(&self, id: &str, controller: &str) -> PathBuf {
        let path = self.world.bundle_config(id)["linux"]["cgroupsPath"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            path.starts_with(&format!("/{}/{}/", self.world.name, self.name)),
            "{path}"
        );
        Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(path.trim_start_matches('/'))
    }

    /// Leave the pod running (to the world's teardown); its client ends.
    fn abandon(self) {
        self.removed.set(true);
    }

    /// StopPodSandbox then RemovePodSandbox, and wait until nothing of the sandbox and of
    /// `containers` is left.
    fn remove(self, containers: &[&str]) {
        self.cri
            .call("StopPodSandbox", json!({"podSandboxId": self.id}));
        self.cri
            .call("RemovePodSandbox", json!({"podSandboxId": self.id}));
        self.removed.set(true);
        let mut ids = vec![self.id.as_str()];
        ids.extend_from_slice(containers);
        assert_gone(self.world, &ids);
        let pods = self.cri.call("ListPodSandbox", json!({}));
        let listed = pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == self.id.as_str());
        assert!(!listed, "{} still listed: {pods}", self.id);
    }
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        if !self.removed.get() {
            let _ = self
                .cri
                .try_call("StopPodSandbox", json!({"podSandboxId": self.id}));
            let _ = self
                .cri
                .try_call("RemovePodSandbox", json!({"podSandboxId": self.id}));
        }
        // The pod's cgroup parent, in every hierarchy (kubelet removes its pod cgroups).
        let parent = format!("{}/{}", self.world.name, self.name);
        if let Ok(rd) = fs::read_dir("/sys/fs/cgroup") {
            for h in rd.flatten() {
                let _ = fs::remove_dir(h.path().join(&parent));
            }
        }
    }
}

/// Wait (10 s at most: the shims exit after CRI answered) until nothing of containers `ids` is
/// left: hull's state dir, cgroup, mount, process, CNI cache entry.
fn assert_gone(world: &CriWorld, ids: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = Vec::new();
        for id in ids {
            if world.hull_state(id).exists() {
                left.push(format!("hull state dir {}", world.hull_state(id).display()));
            }
            left.extend(
                cgroups_of(id)
                    .iter()
                    .map(|c| format!("cgroup {}", c.display())),
            );
            left.extend(
                mounts_mentioning(id)
                    .into_iter()
                    .map(|m| format!("mount {m}")),
            );
            left.extend(procs_mentioning(id).iter().map(|p| format!("process {p}")));
            if let Ok(rd) = fs::read_dir("/var/lib/cni/results") {
                left.extend(
                    rd.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.contains(id))
                        .map(|n| format!("CNI cache /var/lib/cni/results/{n}")),
                );
            }
        }
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {left:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The inode of namespace `ns` of process `pid`.
fn ns_of(pid: i32, ns: &str) -> u64 {
    inode(&format!("/proc/{pid}/ns/{ns}"))
}

/// The inode of a file (a namespace's: a /proc/PID/ns link's target, a netns file).
fn inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .ino()
}

/// The path a namespace of type `kind` is joined by in an OCI config (None: a new one).
fn ns_path(config: &Value, kind: &str) -> Option<String> {
    config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} namespace in {config}"))["path"]
        .as_str()
        .map(String::from)
}

/// The lines of a CRI log, text only, of one stream.
fn stream(log: &[(String, String)], which: &str) -> Vec<String> {
    log.iter()
        .filter(|(s, _)| s == which)
        .map(|(_, t)| t.clone())
        .collect()
}

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

    assert!(pod.world.hull_state(&pod.id).join("state.json").exists());
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
    let memory = cgroup
        .lines()
        .find(|l| l.split(':').nth(1) == Some("memory"))
        .unwrap();
    assert!(
        memory.ends_with(&format!("/{}/{}/{}", world.name, pod.name, pod.id)),
        "{memory}"
    );
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
/// container's cgroup's, and UpdateContainerResources changes them through hull (`hull
/// update`, run by the shim); the container's process is in that cgroup.
#[test]
fn resources_and_update_container_resources() {
    let world = cri_world!();
    let pod = Pod::run(world, |_| {});
    let id = pod.start(
        "limited",
        json!({
            "command": ["sleep", "1000"],
            "linux": {"resources": {"cpuShares": 512, "cpuPeriod": 100000, "cpuQuota": 50000,
                                    "memoryLimitInBytes": 64 << 20}},
        }),
    );
    let pid = pod.pid(&id);
    let cpu = pod.cgroup(&id, "cpu");
    let memory = pod.cgroup(&id, "memory");
    assert_eq!(common::read(&cpu, "cpu.shares"), "512");
    assert_eq!(common::read(&cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(common::read(&cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(
        common::read(&memory, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert!(
        common::procs(&memory).contains(&pid),
        "{pid} not in {}",
        memory.display()
    );

    pod.cri.call(
        "UpdateContainerResources",
        json!({"containerId": id,
               "linux": {"cpuShares": 256, "cpuPeriod": 100000, "cpuQuota": 20000,
                         "memoryLimitInBytes": 128 << 20}}),
    );
    assert_eq!(common::read(&cpu, "cpu.shares"), "256");
    assert_eq!(common::read(&cpu, "cpu.cfs_quota_us"), "20000");
    assert_eq!(
        common::read(&memory, "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
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

// ---- the world's teardown ---------------------------------------------------------------------

/// What a world with a pod in it is on the host, to look for after its teardown.
#[derive(Debug)]
struct Traces {
    /// The world's name (its dir's, its cgroup's; containerd's and the shims' command lines
    /// name its dir).
    name: String,
    dir: PathBuf,
    /// The pod's sandbox id (the shim's `-id`, hull's container id, CNI's cache entries).
    sandbox: String,
    /// The pod's shim's socket, in /run/containerd/s.
    socket: PathBuf,
}

impl Traces {
    fn of(world: &CriWorld, sandbox: &str) -> Traces {
        let address = world
            .dir
            .join("state/io.containerd.runtime.v2.task")
            .join(world::K8S_NS)
            .join(sandbox)
            .join("address");
        let address = fs::read_to_string(&address).unwrap();
        Traces {
            name: world.name.clone(),
            dir: world.dir.clone(),
            sandbox: sandbox.to_string(),
            socket: PathBuf::from(address.trim().trim_start_matches("unix://")),
        }
    }

    fn line(&self) -> String {
        format!(
            "WORLD {} {} {} {}",
            self.name,
            self.dir.display(),
            self.sandbox,
            self.socket.display()
        )
    }

    fn parse(line: &str) -> Traces {
        let f: Vec<&str> = line.split_whitespace().collect();
        Traces {
            name: f[1].to_string(),
            dir: PathBuf::from(f[2]),
            sandbox: f[3].to_string(),
            socket: PathBuf::from(f[4]),
        }
    }

    /// What is left of the world on the host.
    fn left(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.dir.exists() {
            left.push(format!("directory {}", self.dir.display()));
        }
        if self.socket.exists() {
            left.push(format!("shim socket {}", self.socket.display()));
        }
        left.extend(
            common::cgroup_dirs_named(&self.name)
                .iter()
                .map(|c| format!("cgroup {}", c.display())),
        );
        left.extend(
            mounts_mentioning(&self.name)
                .into_iter()
                .map(|m| format!("mount {m}")),
        );
        for needle in [&self.name, &self.sandbox] {
            left.extend(
                processes_naming(needle)
                    .into_iter()
                    .map(|p| format!("process {p}")),
            );
        }
        if let Ok(rd) = fs::read_dir("/var/lib/cni/results") {
            left.extend(
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(&self.sandbox))
                    .map(|n| format!("CNI cache entry {n}")),
            );
        }
        left
    }
}

/// Live processes whose command line has `needle` in it.
fn processes_naming(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        if let Ok(c) = fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(needle) && !is_gone(pid.parse().unwrap()) {
                out.push(format!("{pid}: {c}"));
            }
        }
    }
    out
}

/// Not a test of its own: the test binary run by the two tests below (`HULL_CRI_OWNER` set)
/// makes the shared world as any test does, runs a pod with a container in it and reports
/// them, then panics or waits to be killed, the pod still running.
#[test]
#[ignore = "run in a child process by the teardown tests"]
fn world_owner() {
    let line = std::cell::RefCell::new(String::new());
    common::keeper::be_owner(
        "HULL_CRI_OWNER",
        || {
            let world = CriWorld::shared()?;
            let pod = Pod::run(world, |_| {});
            pod.start("left", json!({"command": ["sleep", "1000"]}));
            *line.borrow_mut() = Traces::of(world, &pod.id).line();
            pod.abandon();
            Some(world)
        },
        |_| line.borrow().clone(),
    );
}

/// Run `world_owner` in a child test process in `mode` (`keeper::owner`); the world's traces,
/// the child and the file of its stderr.
fn owner(mode: &str) -> Option<(Traces, std::process::Child, PathBuf)> {
    if !common::is_root() {
        common::skip_or_fail("needs root");
        return None;
    }
    let (line, child, err) = common::keeper::owner("world_owner", "HULL_CRI_OWNER", mode)?;
    let traces = Traces::parse(&line);
    assert!(traces.left().len() >= 4, "{:#?}", traces.left());
    Some((traces, child, err))
}

#[test]
fn a_killed_test_process_leaves_no_world() {
    let Some((traces, child, err)) = owner("wait") else {
        return;
    };
    common::keeper::kill_owner(child, err);
    // Its keeper sees the end of the pipe and tears the world down behind it.
    common::keeper::wait_gone(
        &format!("CRI world {}", traces.name),
        Duration::from_secs(30),
        || traces.left(),
    );
}

#[test]
fn a_failing_test_binary_ends_with_its_world_gone() {
    let Some((traces, child, err)) = owner("panic") else {
        return;
    };
    common::keeper::owner_failed(child, err, || traces.left());
}

/// A world whose containerd died (no orderly teardown through CRI is possible) is torn down
/// all the same: the keeper kills the shim and the pod's processes below it, removes the shim's
/// socket and CNI's cache entries the dead containerd left, unmounts the pod's rootfs, shm and
/// netns, removes the cgroups; and it says that the orderly part failed.
#[test]
fn a_world_whose_containerd_died_is_torn_down_all_the_same() {
    let world = match CriWorld::start() {
        Ok(w) => w,
        Err(common::keeper::Unavailable::Missing(why)) => {
            common::skip_or_fail(&format!("no CRI world: {why}"));
            return;
        }
        Err(common::keeper::Unavailable::Failed(why)) => panic!("{why}"),
    };
    let pod = Pod::run(&world, |_| {});
    let id = pod.start("left", json!({"command": ["sleep", "1000"]}));
    let pids = [pod.pid(&pod.id), pod.pid(&id)];
    let traces = Traces::of(&world, &pod.id);
    pod.abandon();
    // SAFETY: kill(2) of the containerd this test's world started (its keeper's child, which
    // the keeper reaps).
    unsafe { libc::kill(world.containerd, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_gone(world.containerd) {
        assert!(Instant::now() < deadline, "containerd survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(traces.left().len() >= 4, "{:#?}", traces.left());
    let r = world.stop();
    let left = traces.left();
    assert!(left.is_empty(), "left: {left:#?}");
    assert!(pids.iter().all(|p| is_gone(*p)), "{pids:?}");
    let e = r.expect_err("a teardown without CRI is reported");
    assert!(e.contains("ended with"), "{e}");
    // Its drop would only say the same again.
    std::mem::forget(world);
}

/// A number of a CRI response: protobuf's JSON mapping gives 64-bit integers as strings.
fn number(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{v}: {e}")),
        v => v.as_u64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
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
            "command": ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
            "linux": {"resources": {"memoryLimitInBytes": 32 << 20}},
        }),
    );
    let st = pod.wait_state(&id, "CONTAINER_EXITED");
    assert_eq!(st["exitCode"], 137, "{st}");
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
    // Once sleep sleeps, the CPU time stands still: two reads 100 ms apart agree.
    common::wait_for_comm(&[pod.pid(&id)], "sleep", 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    let usage = loop {
        let before = common::read(&cpu, "cpuacct.usage");
        std::thread::sleep(Duration::from_millis(100));
        if common::read(&cpu, "cpuacct.usage") == before {
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
    let in_use: u64 = common::read(&memory, "memory.usage_in_bytes")
        .parse()
        .unwrap();
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
             sleep 0.05; done; echo \"got $r\"; ip -4 -o addr show dev eth0; exec sleep 1000"
        ),
    );
    let log = client.wait_log("client", &format!("got hello-from-{}", server.name));
    let out = stream(&log, "stdout").join("\n");
    assert!(out.contains(&format!("inet {client_ip}/24")), "{out}");
    client.remove(&[&c]);
    server.remove(&[&s]);
}
