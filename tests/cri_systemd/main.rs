//! hull as a Kubernetes runtime handler on a systemd node: containerd 1.6's CRI plugin with the
//! handler `hull-systemd` (`SystemdCgroup = true`: the runc v2 shim runs `hull --systemd-cgroup`
//! with cgroupsPath `slice:cri-containerd:<id>`), in a systemd world (`tests/common/systemd.rs`:
//! this host's /usr booted by systemd-nspawn, systemd PID 1, pure cgroup v2, a network
//! namespace of its own with only `lo`).
//!
//! The CRI world inside the systemd world: containerd runs as a transient systemd unit of the
//! world (`systemd-run --unit=hull-cri-containerd`, `Delegate=yes`, `KillMode=process`, as
//! containerd.service has it), so it is what a node runs — the world's systemd its parent and
//! the shims' reaper — and its teardown is the world's: the systemd world's keeper halts the
//! machine when the test process ends however it ends, and everything containerd started, its
//! mounts (in the world's mount namespace) and its files (in the world's scratch dir) go with
//! it. Its files: `<scratch>/cri` (config.toml, root, state, socket, the runtimes' roots, the
//! pods' logs). Pods use the node's network (`hostNetwork`), which here is the world's private
//! network namespace: no CNI (the tests/cri world covers CNI pods).
//!
//! Reused from tests/cri: the CRI client (`world.rs`'s `Cri`, `client.py`, the proto) and the
//! images (`oci_images`, imported with ctr). Pods are named as kubelet's systemd cgroup driver
//! names them: `cgroupParent` `kubepods-burstable-pod<uid>.slice`, which systemd nests as
//! `kubepods.slice/kubepods-burstable.slice/…`.
//!
//! The handler's binary is `common::hull_bin()`: `HULL_TEST_RUNTIME=/usr/sbin/runc` runs the
//! same scenarios with runc in hull's place. This host's cgroup2 offers only hugetlb (v1 holds
//! the rest), and so does the world: resources are checked as the scope's properties and
//! files where the world offers the controller; OOM and stats need the memory controller.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

#[path = "../common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../cri/world.rs"]
mod world;

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::systemd::SystemdWorld;
use common::{hull_bin, text};
use world::{Cri, IMAGE, PAUSE_IMAGE};

/// The handler under test: the runc v2 shim, `SystemdCgroup = true`, BinaryName the runtime
/// under test.
const HANDLER: &str = "hull-systemd";
/// The containerd unit in the world.
const UNIT: &str = "hull-cri-containerd";

static PODS: AtomicUsize = AtomicUsize::new(0);
static SHARED: OnceLock<Result<Node, String>> = OnceLock::new();

/// containerd in the systemd world (see the module doc).
struct Node {
    world: &'static SystemdWorld,
    dir: PathBuf,
    sock: PathBuf,
}

/// The node of this test binary, or `return` from the test when the systemd world cannot be.
macro_rules! node {
    () => {
        match Node::shared() {
            Some(n) => n,
            None => return,
        }
    };
}

/// The node of this test binary, when its cgroup2 offers the cpu controller (containerd gives
/// every sandbox and container cpu shares, which neither hull nor runc can apply without it);
/// else the test says it is skipped and returns (a host limit no package lifts: this project's
/// hybrid host binds cpu and memory to v1, and the world's cgroup2 has only what the host's
/// offers; [`refused_where_no_cpu_controller`] is what runs here).
macro_rules! pod_node {
    () => {{
        let n = node!();
        if !n.offers("cpu") {
            let msg = format!(
                "skipped: systemd world {} offers no cpu controller ({:?}): no pod can run\n",
                n.world.name,
                n.world.read("/sys/fs/cgroup/cgroup.controllers").trim()
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            return;
        }
        n
    }};
}

impl Node {
    /// Whether the world's cgroup2 root offers `controller`.
    fn offers(&self, controller: &str) -> bool {
        self.world
            .read("/sys/fs/cgroup/cgroup.controllers")
            .split_whitespace()
            .any(|c| c == controller)
    }

    fn shared() -> Option<&'static Node> {
        if let Some(why) = world::missing_prerequisite() {
            common::skip_or_fail(&why);
            return None;
        }
        let world = SystemdWorld::shared()?;
        match SHARED.get_or_init(|| Node::start(world)) {
            Ok(n) => Some(n),
            Err(e) => panic!("CRI node in systemd world {}: {e}", world.name),
        }
    }

    fn start(world: &'static SystemdWorld) -> Result<Node, String> {
        let started = Instant::now();
        let dir = world.scratch.join("cri");
        let sock = dir.join("containerd.sock");
        prepare(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = dir.join("config.toml");
        // The volatile world has neither: containerd copies them into host-network pods.
        world.sh(
            "test -e /etc/hosts || printf '127.0.0.1 localhost\\n::1 localhost\\n' >/etc/hosts; \
             test -e /etc/resolv.conf || : >/etc/resolv.conf",
        );
        let o = world.output(&[
            "systemd-run",
            &format!("--unit={UNIT}"),
            "-p",
            "Delegate=yes",
            "-p",
            "KillMode=process",
            "-p",
            &format!("StandardError=file:{}/containerd.log", dir.display()),
            "containerd",
            "--config",
            config.to_str().unwrap(),
        ]);
        if !o.status.success() {
            return Err(format!("systemd-run containerd: {}", text(&o.stderr)));
        }
        let node = Node { world, dir, sock };
        node.wait_ready(started + Duration::from_secs(30))
            .map_err(|e| {
                let log = fs::read_to_string(node.dir.join("containerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                format!(
                    "{e}\ncontainerd's log (last lines first):\n{}",
                    tail.join("\n")
                )
            })?;
        eprintln!(
            "CRI node in systemd world {}: containerd ready in {:.2} s",
            world.name,
            started.elapsed().as_secs_f64()
        );
        Ok(node)
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        let mut a = vec![
            "ctr",
            "--address",
            self.sock.to_str().unwrap(),
            "-n",
            "k8s.io",
        ];
        a.extend_from_slice(args);
        self.world.output(&a)
    }

    fn wait_ready(&self, deadline: Instant) -> Result<(), String> {
        while !(self.sock.exists() && self.ctr(&["version"]).status.success()) {
            if Instant::now() > deadline {
                return Err(format!(
                    "containerd does not answer ({UNIT}: {})",
                    self.world.show1(&format!("{UNIT}.service"), "ActiveState")
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let tar = self.dir.join("images/image.tar");
        let o = self.ctr(&["images", "import", tar.to_str().unwrap()]);
        if !o.status.success() {
            return Err(format!("ctr images import: {}", text(&o.stderr)));
        }
        let cri = self.client();
        loop {
            let st = cri.try_call("Status", json!({}));
            let ready = st.as_ref().is_ok_and(|s| {
                s["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "RuntimeReady" && c["status"] == true)
                })
            });
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("CRI not ready: {st:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn client(&self) -> Cri {
        Cri::connect_to(&self.sock, &self.dir)
    }

    /// The handler's runtime root (the shim adds containerd's namespace).
    fn runtime_root(&self) -> PathBuf {
        self.dir.join("hull/k8s.io")
    }

    /// `<runtime> --root … state ID` in the world: the container's state, or None.
    fn state(&self, id: &str) -> Option<Value> {
        let bin = hull_bin();
        let root = self.runtime_root();
        let o = self.world.output(&[
            bin.to_str().unwrap(),
            "--root",
            root.to_str().unwrap(),
            "state",
            id,
        ]);
        if !o.status.success() {
            return None;
        }
        serde_json::from_slice(&o.stdout).ok()
    }

    /// The pid (in the world) of running container `id`.
    fn pid(&self, id: &str) -> i64 {
        let st = self.state(id).unwrap_or_else(|| panic!("no state of {id}"));
        assert_eq!(st["status"], "running", "{st}");
        st["pid"].as_i64().unwrap()
    }
}

/// containerd's config.toml, the logs dir, the proto and the images.
fn prepare(dir: &std::path::Path) -> std::io::Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("logs"))?;
    fs::create_dir_all(dir.join("proto"))?;
    fs::copy(world::cri_proto()?, dir.join("proto/api.proto"))?;
    let d = dir.display();
    let bin = hull_bin();
    fs::write(
        dir.join("config.toml"),
        format!(
            r#"# containerd of hull's CRI-on-systemd tests (tests/cri_systemd/main.rs)
version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc-systemd"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-systemd]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc-systemd.options]
      Root = "{d}/runc"
      SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}.options]
      BinaryName = "{bin}"
      Root = "{d}/hull"
      SystemdCgroup = true
"#,
            bin = bin.display(),
        ),
    )?;
    world::oci_images(&dir.join("images"))
}

/// A pod as kubelet's systemd cgroup driver places it, stopped and removed when dropped.
struct Pod<'n> {
    _node: std::marker::PhantomData<&'n Node>,
    cri: Cri,
    id: String,
    /// `kubepods-burstable-pod<uid>.slice`
    slice: String,
    config: Value,
    removed: bool,
}

impl<'n> Pod<'n> {
    fn run(node: &'n Node) -> Pod<'n> {
        let n = PODS.fetch_add(1, Ordering::SeqCst);
        let name = format!("sdpod-{}-{n}", std::process::id());
        // kubelet's pod uid has dashes; its slice name has them as underscores.
        let uid = format!("{:08x}_{n:04x}", std::process::id());
        let slice = format!("kubepods-burstable-pod{uid}.slice");
        let log_dir = node.dir.join("logs").join(&name);
        fs::create_dir_all(&log_dir).unwrap();
        let config = json!({
            "metadata": {"name": name, "uid": uid.replace('_', "-"),
                         "namespace": "hull-tests", "attempt": 0},
            "logDirectory": log_dir,
            "linux": {
                "cgroupParent": slice,
                "securityContext": {
                    "namespaceOptions": {"network": "NODE", "pid": "CONTAINER", "ipc": "POD"},
                },
            },
        });
        let cri = node.client();
        let id = cri.call(
            "RunPodSandbox",
            json!({"config": config, "runtimeHandler": HANDLER}),
        )["podSandboxId"]
            .as_str()
            .unwrap()
            .to_string();
        Pod {
            _node: std::marker::PhantomData,
            cri,
            id,
            slice,
            config,
            removed: false,
        }
    }

    fn start(&self, name: &str, mut config: Value) -> String {
        let c = config.as_object_mut().unwrap();
        c.insert("metadata".into(), json!({"name": name}));
        c.insert("image".into(), json!({"image": IMAGE}));
        c.insert("logPath".into(), json!(format!("{name}.log")));
        let linux = c.entry("linux").or_insert(json!({}));
        linux["securityContext"]["namespaceOptions"] =
            self.config["linux"]["securityContext"]["namespaceOptions"].clone();
        let id = self.cri.call(
            "CreateContainer",
            json!({"podSandboxId": self.id, "config": config, "sandboxConfig": self.config}),
        )["containerId"]
            .as_str()
            .unwrap()
            .to_string();
        self.cri.call("StartContainer", json!({"containerId": id}));
        id
    }

    fn status(&self, id: &str) -> Value {
        self.cri.call("ContainerStatus", json!({"containerId": id}))["status"].clone()
    }

    fn exec(&self, id: &str, cmd: &[&str]) -> (i64, String) {
        let r = self.cri.call(
            "ExecSync",
            json!({"containerId": id, "cmd": cmd, "timeout": 10}),
        );
        (
            r["exitCode"].as_i64().unwrap_or(0),
            r["stdout"].as_str().unwrap_or("").to_string(),
        )
    }

    /// The cgroup systemd gives container `id`'s scope.
    fn cgroup(&self, id: &str) -> String {
        format!(
            "/kubepods.slice/kubepods-burstable.slice/{}/cri-containerd-{id}.scope",
            self.slice
        )
    }

    fn remove(mut self) {
        self.cri
            .call("StopPodSandbox", json!({"podSandboxId": self.id}));
        self.cri
            .call("RemovePodSandbox", json!({"podSandboxId": self.id}));
        self.removed = true;
    }
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self
                .cri
                .try_call("StopPodSandbox", json!({"podSandboxId": self.id}));
            let _ = self
                .cri
                .try_call("RemovePodSandbox", json!({"podSandboxId": self.id}));
        }
    }
}

fn cgroup2_line(s: &str) -> String {
    s.lines()
        .find(|l| l.starts_with("0::"))
        .unwrap_or_default()
        .to_string()
}

/// Until `check` holds (10 s at most); panics with `what` then.
fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- the scenarios ----------------------------------------------------------------------------

/// RunPodSandbox and a container through the systemd handler: each is a transient scope
/// `cri-containerd-<id>.scope` in the pod's slice, nested by systemd under kubepods.slice and
/// kubepods-burstable.slice, its process in that cgroup; ExecSync runs in it; StopPodSandbox
/// and RemovePodSandbox leave no unit, no cgroup, no state dir, no process.
#[test]
fn pod_and_container_are_scopes_in_the_pods_slice_and_leave_nothing() {
    let node = pod_node!();
    let w = node.world;
    let pod = Pod::run(node);
    let c = pod.start(
        "main",
        json!({"command": ["sh", "-c", "echo started; exec sleep 1000"]}),
    );
    assert_eq!(pod.status(&c)["state"], "CONTAINER_RUNNING");
    let mut pids = Vec::new();
    for id in [pod.id.as_str(), c.as_str()] {
        let unit = format!("cri-containerd-{id}.scope");
        let p = w.show(&unit, &["ActiveState", "Slice", "ControlGroup", "Delegate"]);
        assert_eq!(p["ActiveState"], "active", "{unit}: {p:?}");
        assert_eq!(p["Slice"], pod.slice, "{unit}: {p:?}");
        assert_eq!(p["ControlGroup"], pod.cgroup(id), "{unit}: {p:?}");
        assert_eq!(p["Delegate"], "yes", "{unit}: {p:?}");
        let pid = node.pid(id);
        assert_eq!(
            cgroup2_line(&w.read(&format!("/proc/{pid}/cgroup"))),
            format!("0::{}", pod.cgroup(id)),
            "{id}"
        );
        assert!(node.runtime_root().join(id).exists(), "{id}: no state dir");
        pids.push(pid);
    }
    // The slices systemd made for the parent, nested by its dashes.
    assert_eq!(
        w.show1(&pod.slice, "ControlGroup"),
        format!("/kubepods.slice/kubepods-burstable.slice/{}", pod.slice)
    );
    // ExecSync runs in the container's scope.
    let (code, out) = pod.exec(&c, &["cat", "/proc/self/cgroup"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = pod.exec(&c, &["sh", "-c", "echo exec-ok; exit 3"]);
    assert_eq!((code, out.trim()), (3, "exec-ok"));
    let ids = [pod.id.clone(), c.clone()];
    pod.remove();
    for (id, pid) in ids.iter().zip(&pids) {
        let unit = format!("cri-containerd-{id}.scope");
        let cg = "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice";
        wait_until(&format!("{id} left something"), || {
            w.show1(&unit, "LoadState") == "not-found"
                && !node.runtime_root().join(id).exists()
                && !w.exists(&format!("/proc/{pid}"))
                && w.sh(&format!("find {cg} -name 'cri-containerd-{id}.scope'"))
                    .trim()
                    .is_empty()
        });
    }
}

/// Resources of the ContainerConfig as the scope's properties (cpu shares → CPUWeight, quota
/// → CPUQuotaPerSecUSec, memory limit → MemoryMax) and, where the world offers the controller,
/// its cgroup v2 files; UpdateContainerResources changes them.
#[test]
fn resources_are_the_scopes_and_update_changes_them() {
    let node = pod_node!();
    let w = node.world;
    let offered = w.read("/sys/fs/cgroup/cgroup.controllers");
    let has = |c: &str| offered.split_whitespace().any(|o| o == c);
    let pod = Pod::run(node);
    let c = pod.start(
        "res",
        json!({"command": ["sleep", "1000"], "linux": {"resources": {
            "cpuShares": 512, "cpuPeriod": 100000, "cpuQuota": 50000,
            "memoryLimitInBytes": 67108864}}}),
    );
    let unit = format!("cri-containerd-{c}.scope");
    let cg = format!("/sys/fs/cgroup{}", pod.cgroup(&c));
    let check = |weight: &str, quota: &str, max_v2: &str, mem: &str| {
        if has("cpu") {
            let p = w.show(&unit, &["CPUWeight", "CPUQuotaPerSecUSec"]);
            assert_eq!(p["CPUWeight"], weight, "{p:?}");
            assert_eq!(p["CPUQuotaPerSecUSec"], quota, "{p:?}");
            assert_eq!(w.read(&format!("{cg}/cpu.weight")).trim(), weight);
            assert_eq!(w.read(&format!("{cg}/cpu.max")).trim(), max_v2);
        } else {
            eprintln!("systemd world offers no cpu controller: CPUWeight/cpu.max unchecked");
        }
        if has("memory") {
            assert_eq!(w.show1(&unit, "MemoryMax"), mem);
            assert_eq!(w.read(&format!("{cg}/memory.max")).trim(), mem);
        } else {
            eprintln!("systemd world offers no memory controller: MemoryMax unchecked");
        }
    };
    // shares → weight by the quadratic fit of opencontainers/cgroups (runc ≥ 1.3.2, crun ≥
    // 1.23; src/cgroups/convert.rs): 512 → 59, 1024 → 100.
    check("59", "500ms", "50000 100000", "67108864");
    pod.cri.call(
        "UpdateContainerResources",
        json!({"containerId": c, "linux": {"cpuShares": 1024, "cpuPeriod": 100000,
               "cpuQuota": 20000, "memoryLimitInBytes": 134217728}}),
    );
    check("100", "200ms", "20000 100000", "134217728");
    // The container still runs, in its scope.
    assert_eq!(pod.status(&c)["state"], "CONTAINER_RUNNING");
    assert_eq!(w.show1(&unit, "ActiveState"), "active");
    pod.remove();
}

/// A process past its container's memory limit is killed by the kernel in its scope and CRI reports
/// `OOMKilled` (hull's OOM detection on cgroup v2, memory.events); ContainerStats come from
/// the scope's v2 files. Needs the memory controller in the world.
#[test]
fn oom_kill_is_reported_and_stats_come_from_v2() {
    let node = pod_node!();
    let w = node.world;
    let offered = w.read("/sys/fs/cgroup/cgroup.controllers");
    if !offered.split_whitespace().any(|o| o == "memory") {
        eprintln!("systemd world offers no memory controller ({offered:?}): OOM/stats unchecked");
        return;
    }
    let pod = Pod::run(node);
    let c = pod.start(
        "stats",
        json!({"command": ["sleep", "1000"], "linux": {"resources": {"memoryLimitInBytes": 33554432}}}),
    );
    let stats = pod.cri.call("ContainerStats", json!({"containerId": c}))["stats"].clone();
    let ws: u64 = stats["memory"]["workingSetBytes"]["value"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(ws > 0, "{stats}");
    let o = pod.start(
        "oom",
        // Two seconds' sleep first: containerd 1.6's shim watches memory.events (inotify) only
        // once `start` has returned, and an OOM kill before that is reported as `Error`.
        // The kernel kills a child, not the container's init, which lives on for a second:
        // with the systemd driver the scope is the cgroup, and systemd removes it as soon as
        // it is empty — often before the shim has read memory.events, so an OOM kill of init
        // itself is lost at random, with runc too (containerd skips critest's OOMKilled case
        // for the systemd driver for this reason: containerd#12714; conmon#426). Seen in the
        // slow emulated VM world. CRI's reason comes from the OOM event, not the exit code.
        json!({"command": ["sh", "-c",
                           "sleep 2; sh -c 'x=a; while :; do x=$x$x; done'; sleep 1; exit 137"],
               "linux": {"resources": {"memoryLimitInBytes": 16777216}}}),
    );
    wait_until("the OOM container did not exit", || {
        pod.status(&o)["state"] == "CONTAINER_EXITED"
    });
    assert_eq!(pod.status(&o)["reason"], "OOMKilled", "{}", pod.status(&o));
    pod.remove();
}

/// StopContainer: TERM first; a container that ignores it is KILLed at the timeout.
#[test]
fn stop_container_terms_then_kills() {
    let node = pod_node!();
    let pod = Pod::run(node);
    let polite = pod.start(
        "polite",
        json!({"command": ["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done"]}),
    );
    let stubborn = pod.start(
        "stubborn",
        json!({"command": ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]}),
    );
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    pod.cri.call(
        "StopContainer",
        json!({"containerId": polite, "timeout": 10}),
    );
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(pod.status(&polite)["exitCode"], 42);
    let t = Instant::now();
    pod.cri.call(
        "StopContainer",
        json!({"containerId": stubborn, "timeout": 2}),
    );
    let took = t.elapsed();
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert_eq!(pod.status(&stubborn)["exitCode"], 137);
    for id in [&polite, &stubborn] {
        assert_eq!(
            node.world
                .show1(&format!("cri-containerd-{id}.scope"), "LoadState"),
            "not-found"
        );
    }
    pod.remove();
}

/// On a node whose cgroup2 lacks the cpu controller (this project's host: the world's cgroup2
/// has only hugetlb), RunPodSandbox through the systemd handler fails — containerd gives the
/// sandbox cpu shares (2) that cannot be applied; hull names the field and the controller, runc
/// fails on the missing cpu.weight — and leaves nothing: no scope, no cgroup, no state dir. The
/// containerd node itself is up (the world's own unit, images imported, CRI ready).
#[test]
fn refused_where_no_cpu_controller() {
    let node = node!();
    if node.offers("cpu") {
        eprintln!("the world offers the cpu controller: the pod scenarios run instead");
        return;
    }
    let w = node.world;
    assert_eq!(w.show1(&format!("{UNIT}.service"), "ActiveState"), "active");
    let cri = node.client();
    let n = PODS.fetch_add(1, Ordering::SeqCst);
    let name = format!("sdpod-{}-{n}", std::process::id());
    let uid = format!("{:08x}_{n:04x}", std::process::id());
    let slice = format!("kubepods-burstable-pod{uid}.slice");
    let config = json!({
        "metadata": {"name": name, "uid": uid.replace('_', "-"), "namespace": "hull-tests",
                     "attempt": 0},
        "logDirectory": node.dir.join("logs").join(&name),
        "linux": {"cgroupParent": slice, "securityContext": {
            "namespaceOptions": {"network": "NODE", "pid": "CONTAINER", "ipc": "POD"}}},
    });
    let e = cri
        .try_call(
            "RunPodSandbox",
            json!({"config": config, "runtimeHandler": HANDLER}),
        )
        .expect_err("a sandbox ran without a cpu controller");
    let runtime = hull_bin();
    if !runtime.ends_with("runc") {
        assert!(
            e.details
                .contains("linux.resources.cpu: the cpu controller is not available"),
            "{}",
            e.details
        );
    }
    // Nothing of it: no sandbox listed, no scope unit, no cgroup, no state dir.
    let pods = cri.call("ListPodSandbox", json!({}));
    let listed = pods["items"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["metadata"]["name"] == name.as_str()));
    assert!(!listed, "{pods}");
    let scopes = w.sh("systemctl list-units --all --no-legend 'cri-containerd-*.scope' | wc -l");
    let cgroups = w.sh(&format!(
        "find /sys/fs/cgroup -name 'cri-containerd-*.scope' -path '*{slice}*'"
    ));
    let states = fs::read_dir(node.runtime_root())
        .map(|d| d.count())
        .unwrap_or(0);
    // Other tests of this binary skip here: no scope of any sandbox may be left.
    assert_eq!(scopes.trim(), "0", "scopes left");
    assert_eq!(cgroups.trim(), "", "cgroups left");
    assert_eq!(
        states,
        0,
        "state dirs left in {}",
        node.runtime_root().display()
    );
}
