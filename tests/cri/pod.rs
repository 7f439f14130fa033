//! A pod as kubelet makes one, over CRI, and what the tests look at: hull's pid and state of
//! its containers, their namespaces, cgroups and CRI logs, and what is left of them.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{self, cgroups_of, mounts_mentioning, procs_mentioning};
use crate::world::{log_lines, Cri, CriWorld, HANDLER, IMAGE};

static PODS: AtomicUsize = AtomicUsize::new(0);

// ---- a pod, as kubelet makes one --------------------------------------------------------------

/// A pod sandbox run through CRI with its own client, stopped and removed through CRI when
/// dropped (also when the test fails), its cgroup parent removed after it (kubelet's job).
pub struct Pod<'w> {
    world: &'w CriWorld,
    pub cri: Cri,
    /// The pod's name (metadata.name, hostname, the last part of its cgroup parent).
    pub name: String,
    /// The sandbox's id (CRI's, hull's container id).
    pub id: String,
    /// The PodSandboxConfig it was made with (CreateContainer sends it again, as kubelet does).
    config: Value,
    pub log_dir: PathBuf,
    removed: Cell<bool>,
}

impl<'w> Pod<'w> {
    /// RunPodSandbox with the `hull` handler; `edit` changes the PodSandboxConfig first.
    pub fn run(world: &'w CriWorld, edit: impl FnOnce(&mut Value)) -> Pod<'w> {
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
    pub fn create(&self, name: &str, mut config: Value) -> String {
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
    pub fn start(&self, name: &str, config: Value) -> String {
        let id = self.create(name, config);
        self.cri.call("StartContainer", json!({"containerId": id}));
        id
    }

    /// A container running `sh -c script`, started.
    pub fn sh(&self, name: &str, script: &str) -> String {
        self.start(name, json!({"command": ["sh", "-c", script]}))
    }

    /// ContainerStatus's `status`.
    pub fn status(&self, id: &str) -> Value {
        self.cri.call("ContainerStatus", json!({"containerId": id}))["status"].clone()
    }

    /// Wait (10 s at most) until the container's state is `state`; its status.
    pub fn wait_state(&self, id: &str, state: &str) -> Value {
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
    pub fn exec(&self, id: &str, cmd: &[&str]) -> (i64, String, String) {
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
    pub fn exec_ok(&self, id: &str, cmd: &[&str]) -> String {
        let (code, out, err) = self.exec(id, cmd);
        assert_eq!(code, 0, "{cmd:?} in {id}: {out}{err}");
        out
    }

    /// The container's CRI log: (stream, text) lines.
    pub fn log(&self, name: &str) -> Vec<(String, String)> {
        log_lines(&self.log_dir.join(format!("{name}.log")))
    }

    /// Wait (10 s at most) until the container's log has a line `text`; the log.
    pub fn wait_log(&self, name: &str, text: &str) -> Vec<(String, String)> {
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
    pub fn pid(&self, id: &str) -> i32 {
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

    /// The container's cgroup directory in the v1 hierarchy `controller`, or in cgroup2 on a
    /// pure v2 node (its cgroupsPath in the config CRI wrote).
    pub fn cgroup(&self, id: &str, controller: &str) -> PathBuf {
        let path = self.world.bundle_config(id)["linux"]["cgroupsPath"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            path.starts_with(&format!("/{}/{}/", self.world.name, self.name)),
            "{path}"
        );
        let root = Path::new("/sys/fs/cgroup");
        let hierarchy = if unified() {
            root.to_path_buf()
        } else {
            root.join(controller)
        };
        hierarchy.join(path.trim_start_matches('/'))
    }

    /// Leave the pod running (to the world's teardown); its client ends.
    pub fn abandon(self) {
        self.removed.set(true);
    }

    /// StopPodSandbox then RemovePodSandbox, and wait until nothing of the sandbox and of
    /// `containers` is left.
    pub fn remove(self, containers: &[&str]) {
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

/// Whether this node is pure cgroup v2 (cgroup2 at /sys/fs/cgroup, as the VM world's,
/// tests/vm_suites.rs), not hybrid or legacy (v1 hierarchies below /sys/fs/cgroup).
pub fn unified() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Wait (10 s at most: the shims exit after CRI answered) until nothing of containers `ids` is
/// left: hull's state dir, cgroup, mount, process, CNI cache entry.
pub fn assert_gone(world: &CriWorld, ids: &[&str]) {
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
pub fn ns_of(pid: i32, ns: &str) -> u64 {
    inode(&format!("/proc/{pid}/ns/{ns}"))
}

/// The inode of a file (a namespace's: a /proc/PID/ns link's target, a netns file).
pub fn inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .ino()
}

/// The path a namespace of type `kind` is joined by in an OCI config (None: a new one).
pub fn ns_path(config: &Value, kind: &str) -> Option<String> {
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
pub fn stream(log: &[(String, String)], which: &str) -> Vec<String> {
    log.iter()
        .filter(|(s, _)| s == which)
        .map(|(_, t)| t.clone())
        .collect()
}

/// A number of a CRI response: protobuf's JSON mapping gives 64-bit integers as strings.
pub fn number(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{v}: {e}")),
        v => v.as_u64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}
