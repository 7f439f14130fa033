//! The CRI test world: containerd 1.6 with its CRI plugin, hull as the runtime handler `hull`,
//! driven over CRI v1 as kubelet drives it, by a client of the test's own (see `main.rs`).
//!
//! What the world is (all under one temp dir, `WORLD_DIR` = `<tmp>/hull-cri-<pid>-<n>`):
//! - containerd (Debian's 1.6) with its own `config.toml`, root, state, socket and opt dir, in
//!   a network namespace of its own (`unshare --net`, loopback up), the CRI plugin on:
//!   `sandbox_image` = [`PAUSE_IMAGE`], `restrict_oom_score_adj = true` (root here lacks
//!   CAP_SYS_RESOURCE: the sandbox's default oom_score_adj of -998 is out of reach),
//!   `netns_mounts_under_state_dir = true` (the pods' netns files under the state dir, not in
//!   /run/netns), the CNI plugins of Debian's containernetworking-plugins and a conflist of the
//!   world's own: a `bridge` without gateway or masquerade (no ip_forward, no iptables) with
//!   `host-local` addresses kept in the world dir; the CRI plugin adds its own loopback. The
//!   bridge and the pods' veths' outer ends live in the world's network namespace, nowhere else.
//! - Two runtime handlers of type `io.containerd.runc.v2`: [`HANDLER`] (`hull`, `BinaryName`
//!   the hull under test, `common::hull_bin`) and `runc` (the default, for a pod that names no
//!   handler), each with its own `Root` in the world dir: hull's containers are in
//!   `WORLD_DIR/hull/k8s.io/<id>`.
//! - Two images built here from the static busybox rootfs (`bundles/busybox/rootfs`, one
//!   uncompressed layer) as an OCI layout tar, imported with `ctr -n k8s.io images import`:
//!   [`IMAGE`] (`Cmd ["sh"]`) and [`PAUSE_IMAGE`], the pods' sandbox image. There is no
//!   registry here and no `registry.k8s.io/pause`: the pause container is busybox's shell
//!   waiting for SIGTERM (`trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done`),
//!   which also reaps what is reparented to it, as pause does.
//! - The tests put their pods' cgroups under `/<world name>/<pod>` in every hierarchy
//!   (`cgroup_parent`, as kubelet's `/kubepods/...`).
//!
//! One world per test binary ([`CriWorld::shared`], made on first use); [`CriWorld::start`]
//! makes a private one that goes when dropped (or stopped). Teardown cannot rely on Rust (statics are never
//! dropped, and a test binary may be killed): the world is started by a keeper, `keeper.py`
//! (see its doc), run in a session of its own with a pipe from the test process as its stdin.
//! At the pipe's end of file, whatever ended the test process, it takes the world down: the
//! pods stopped and removed through CRI while containerd answers, containerd stopped, every
//! process left below it killed (it is the shims' subreaper), what a killed world leaves at
//! fixed host paths (shim sockets in /run/containerd/s, CNI's cache in /var/lib/cni/results)
//! removed, then every mount under the world dir, the world's cgroups and the world dir. On a
//! normal exit an `atexit` handler closes the pipe and waits for the keeper (60 s at most).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::cell::RefCell;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::keeper::{self, Keeper, Unavailable, PATH};
use crate::common::{hull_bin, repo, rootfs, text};

/// The runtime handler that names hull (a RuntimeClass's `handler`).
pub const HANDLER: &str = "hull";
/// The containerd namespace of CRI's containers (the shim adds it to the runtime's root).
pub const K8S_NS: &str = "k8s.io";
/// The pods' sandbox image (`sandbox_image`).
pub const PAUSE_IMAGE: &str = "localhost/hull-pause:cri";
/// The containers' image.
pub const IMAGE: &str = "localhost/hull-busybox:cri";
/// The pods' subnet (host-local, on the bridge in the world's network namespace).
pub const POD_SUBNET: &str = "10.99.0.0/24";
/// Debian's python3 (python3-grpcio, python3-protobuf), not another python on PATH.
pub const PYTHON: &str = "/usr/bin/python3";
/// Debian's CNI plugins (containernetworking-plugins).
const CNI_BIN: &str = "/usr/lib/cni";

static WORLDS: AtomicUsize = AtomicUsize::new(0);
static CLIENTS: AtomicUsize = AtomicUsize::new(0);
static SHARED: OnceLock<Result<CriWorld, Unavailable>> = OnceLock::new();

/// The shared world of this test binary, or `return` from the test (skipped, or failed in CI)
/// when a prerequisite is missing. Panics when the world could not be made.
#[macro_export]
macro_rules! cri_world {
    () => {
        match $crate::world::CriWorld::shared() {
            Some(w) => w,
            None => return,
        }
    };
}

/// A running world (see the module doc).
pub struct CriWorld {
    /// `hull-cri-<pid>-<n>`: the world dir's name, its cgroup's and its CNI network's.
    pub name: String,
    pub dir: PathBuf,
    /// containerd's socket (CRI and containerd's own API).
    pub sock: PathBuf,
    /// The `Root` of the `hull` handler (the shim runs hull with `--root <this>/k8s.io`).
    pub hull_root: PathBuf,
    /// containerd's pid (in the world's network namespace).
    pub containerd: i32,
    /// From starting the keeper to CRI ready with the images imported.
    pub start_time: Duration,
    keeper: Keeper,
}

impl CriWorld {
    /// The world shared by the tests of this binary, made on first use (see [`cri_world!`]).
    pub fn shared() -> Option<&'static CriWorld> {
        keeper::shared(&SHARED, "CRI world", CriWorld::start, tear_down_shared)
    }

    /// A world of the caller's own, torn down when dropped (or by [`Self::stop`]).
    pub fn start() -> Result<CriWorld, Unavailable> {
        if let Some(why) = missing_prerequisite() {
            return Err(Unavailable::Missing(why));
        }
        let n = WORLDS.fetch_add(1, Ordering::SeqCst);
        let name = format!("hull-cri-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            let _ = fs::remove_dir_all(&dir);
            Unavailable::Failed(format!("CRI world {name}: {what}: {e}"))
        };
        let _ = fs::remove_dir_all(&dir);
        prepare_dir(&dir, &name).map_err(|e| failed(&dir.display().to_string(), &e))?;
        let sock = dir.join("containerd.sock");
        let started = Instant::now();
        let mut script = Command::new(PYTHON);
        script
            .arg(cri_dir().join("keeper.py"))
            .arg(&dir)
            .arg(dir.join("config.toml"))
            .arg(&sock)
            .arg(&name)
            .arg(cri_dir())
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            // No __pycache__ in tests/cri (the keeper imports client.py).
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stderr(Stdio::inherit());
        let (keeper, first) =
            Keeper::start(&name, script).map_err(|e| failed(&format!("{PYTHON} keeper.py"), &e))?;
        let mut world = CriWorld {
            name: name.clone(),
            hull_root: dir.join("hull"),
            dir,
            sock,
            containerd: 0,
            start_time: Duration::ZERO,
            keeper,
        };
        let Some(pid) = first
            .strip_prefix("containerd ")
            .and_then(|p| p.parse().ok())
        else {
            return Err(world.failed(&format!("the keeper said {first:?}")));
        };
        world.containerd = pid;
        if let Err(e) = world.wait_ready(started + Duration::from_secs(30)) {
            return Err(world.failed(&e));
        }
        world.start_time = started.elapsed();
        let msg = format!(
            "CRI world {}: containerd {} ready in {:.2} s ({})\n",
            world.name,
            world.containerd,
            world.start_time.as_secs_f64(),
            world.dir.display()
        );
        let _ = std::io::stderr().write_all(msg.as_bytes());
        Ok(world)
    }

    /// Until containerd answers, the images are imported and CRI says the runtime and the
    /// network are ready.
    fn wait_ready(&self, deadline: Instant) -> Result<(), String> {
        loop {
            if crate::common::is_gone(self.containerd) {
                return Err("containerd exited".into());
            }
            if self.sock.exists() && self.ctr(&["version"]).status.success() {
                break;
            }
            if Instant::now() > deadline {
                return Err("containerd does not answer".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let tar = self.dir.join("images/image.tar");
        let o = self.ctr(&["images", "import", tar.to_str().unwrap()]);
        if !o.status.success() {
            return Err(format!(
                "ctr images import: {}{}",
                text(&o.stdout),
                text(&o.stderr)
            ));
        }
        let cri = self.client();
        loop {
            let status = cri.try_call("Status", json!({}));
            let conditions = status
                .as_ref()
                .ok()
                .and_then(|s| s["status"]["conditions"].as_array().cloned())
                .unwrap_or_default();
            let ready = |kind: &str| {
                conditions
                    .iter()
                    .any(|c| c["type"] == kind && c["status"] == true)
            };
            let images = [PAUSE_IMAGE, IMAGE].iter().all(|i| {
                cri.try_call("ImageStatus", json!({"image": {"image": i}}))
                    .is_ok_and(|s| s["image"]["id"].as_str().is_some_and(|id| !id.is_empty()))
            });
            if ready("RuntimeReady") && ready("NetworkReady") && images {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "CRI not ready (images present: {images}): {status:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Tear a world that did not come up down and say why, with containerd's log.
    fn failed(&self, why: &str) -> Unavailable {
        let log = fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        let teardown = match self.stop() {
            Ok(d) => format!("torn down in {:.2} s", d.as_secs_f64()),
            Err(e) => e,
        };
        Unavailable::Failed(format!(
            "CRI world {} did not come up: {why}\n--- containerd.log (tail) ---\n{tail}\n--- teardown: {teardown}",
            self.name
        ))
    }

    /// `ctr --address <sock> --namespace k8s.io ARGS`.
    pub fn ctr(&self, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.sock)
            .args(["--namespace", K8S_NS])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A CRI client of the caller's own (one per test: tests run in parallel).
    pub fn client(&self) -> Cri {
        Cri::connect(self)
    }

    /// hull's state dir of container (or sandbox) `id`.
    pub fn hull_state(&self, id: &str) -> PathBuf {
        self.hull_root.join(K8S_NS).join(id)
    }

    /// `hull --root <hull root>/k8s.io ARGS`, as the shim runs it.
    pub fn hull(&self, args: &[&str]) -> std::process::Output {
        Command::new(hull_bin())
            .arg("--root")
            .arg(self.hull_root.join(K8S_NS))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The OCI config the CRI plugin wrote for container (or sandbox) `id` (the shim's bundle).
    pub fn bundle_config(&self, id: &str) -> Value {
        let p = self
            .dir
            .join("state/io.containerd.runtime.v2.task")
            .join(K8S_NS)
            .join(id)
            .join("config.json");
        let t = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_json::from_str(&t).unwrap()
    }

    /// Where the tests' pods put their logs.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// Close the keeper's pipe and wait (60 s at most) until it has torn the world down: how
    /// long that took, or what went wrong. Idempotent.
    pub fn stop(&self) -> Result<Duration, String> {
        self.keeper.stop(Duration::from_secs(60))
    }
}

impl Drop for CriWorld {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            let _ = std::io::stderr().write_all(format!("{e}\n").as_bytes());
        }
    }
}

/// At the test binary's exit: the shared world goes before the binary does.
extern "C" fn tear_down_shared() {
    keeper::tear_down_at_exit(&SHARED, |w| format!("CRI world {}", w.name), CriWorld::stop);
}

/// tests/cri (keeper.py, client.py).
pub fn cri_dir() -> PathBuf {
    repo().join("tests/cri")
}

/// CRI's protocol definition (k8s.io/cri-api's runtime/v1/api.proto, Apache-2.0) as the k8s-cri
/// crate ships it, fetched by cargo from crates.io for tests/cri/proto/Cargo.toml: the
/// repository keeps no copy. A world copies it into its directory (`proto/api.proto`).
pub fn cri_proto() -> std::io::Result<PathBuf> {
    let manifest = cri_dir().join("proto/Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let o = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()?;
    let fail = |why: String| {
        std::io::Error::other(format!("cargo metadata of {}: {why}", manifest.display()))
    };
    if !o.status.success() {
        return Err(fail(String::from_utf8_lossy(&o.stderr).trim().to_string()));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&o.stdout).map_err(|e| fail(e.to_string()))?;
    let crate_dir = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "k8s-cri"))
        .and_then(|p| p["manifest_path"].as_str())
        .and_then(|m| Path::new(m).parent().map(Path::to_path_buf))
        .ok_or_else(|| fail("no k8s-cri package".into()))?;
    Ok(crate_dir.join("proto/v1.proto"))
}

/// What this host lacks for a world, if anything.
pub fn missing_prerequisite() -> Option<String> {
    if !crate::common::is_root() {
        return Some("needs root".into());
    }
    if let Some(why) = keeper::missing_tool(&[
        ("containerd", "containerd (make deps)"),
        ("ctr", "containerd (make deps)"),
        ("containerd-shim-runc-v2", "containerd (make deps)"),
        ("protoc", "protobuf-compiler (make deps)"),
        ("unshare", "util-linux"),
        ("ip", "iproute2"),
        ("sha256sum", "coreutils"),
        ("tar", "tar"),
    ]) {
        return Some(why);
    }
    for plugin in ["bridge", "host-local", "loopback"] {
        if !Path::new(CNI_BIN).join(plugin).exists() {
            return Some(format!(
                "no {CNI_BIN}/{plugin} (Debian package containernetworking-plugins, make deps)"
            ));
        }
    }
    let grpc = Command::new(PYTHON)
        .args(["-c", "import grpc, google.protobuf"])
        .stderr(Stdio::null())
        .status();
    if !grpc.is_ok_and(|s| s.success()) {
        return Some(format!(
            "{PYTHON} cannot import grpc and google.protobuf (Debian packages python3-grpcio and \
             python3-protobuf, make deps)"
        ));
    }
    None
}

/// The world's files before containerd starts: config.toml, the CNI conflist, the image tar,
/// the logs dir.
fn prepare_dir(dir: &Path, name: &str) -> std::io::Result<()> {
    fs::create_dir_all(dir.join("cni"))?;
    fs::create_dir_all(dir.join("proto"))?;
    fs::copy(cri_proto()?, dir.join("proto/api.proto"))?;
    fs::create_dir_all(dir.join("logs"))?;
    let d = dir.display();
    let hull = hull_bin();
    fs::write(
        dir.join("config.toml"),
        format!(
            r#"# containerd of hull's CRI test world {name} (tests/cri/world.rs)
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
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{d}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "{d}/runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}.options]
      BinaryName = "{hull}"
      Root = "{d}/hull"
"#,
            hull = hull.display(),
        ),
    )?;
    fs::write(
        dir.join("cni/10-hull-cri.conflist"),
        serde_json::to_string_pretty(&json!({
            "cniVersion": "1.0.0",
            "name": name,
            "plugins": [{
                "type": "bridge",
                "bridge": "hullcri0",
                "isGateway": false,
                "ipMasq": false,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET}]],
                    "dataDir": format!("{d}/cni-ipam"),
                },
            }],
        }))
        .unwrap(),
    )?;
    oci_images(&dir.join("images"))
}

/// `dir/image.tar`: an OCI image layout with [`IMAGE`] and [`PAUSE_IMAGE`], one layer (a tar of
/// the test rootfs) and a config each.
pub fn oci_images(dir: &Path) -> std::io::Result<()> {
    let blobs = dir.join("layout/blobs/sha256");
    fs::create_dir_all(&blobs)?;
    let run = |c: &mut Command, what: &str| -> std::io::Result<String> {
        let o = c.output()?;
        if !o.status.success() {
            return Err(std::io::Error::other(format!(
                "{what}: {}",
                text(&o.stderr)
            )));
        }
        Ok(text(&o.stdout))
    };
    // `src` moved into the blobs; its descriptor (digest, size).
    let blob = |src: &Path| -> std::io::Result<Value> {
        let sum = run(Command::new("sha256sum").arg(src), "sha256sum")?;
        let hex = sum
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let size = fs::metadata(src)?.len();
        fs::rename(src, blobs.join(&hex))?;
        Ok(json!({"digest": format!("sha256:{hex}"), "size": size}))
    };
    let layer = dir.join("layer.tar");
    run(
        Command::new("tar")
            .arg("-C")
            .arg(rootfs())
            .arg("-cf")
            .arg(&layer)
            .arg("."),
        "tar of the rootfs",
    )?;
    let layer = blob(&layer)?;
    let pause = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";
    let mut manifests = Vec::new();
    for (name, config) in [
        (
            PAUSE_IMAGE,
            json!({"Env": ["PATH=/bin"], "Entrypoint": ["/bin/sh", "-c", pause]}),
        ),
        (IMAGE, json!({"Env": ["PATH=/bin"], "Cmd": ["sh"]})),
    ] {
        let file = dir.join("config.json");
        fs::write(
            &file,
            json!({
                "architecture": "amd64", "os": "linux", "config": config,
                "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
            })
            .to_string(),
        )?;
        let mut config = blob(&file)?;
        config["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
        let mut layer = layer.clone();
        layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
        let file = dir.join("manifest.json");
        fs::write(
            &file,
            json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": [layer],
            })
            .to_string(),
        )?;
        let mut manifest = blob(&file)?;
        manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
        manifest["platform"] = json!({"architecture": "amd64", "os": "linux"});
        manifest["annotations"] = json!({"io.containerd.image.name": name});
        manifests.push(manifest);
    }
    let layout = dir.join("layout");
    fs::write(
        layout.join("index.json"),
        json!({"schemaVersion": 2, "manifests": manifests}).to_string(),
    )?;
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    run(
        Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(dir.join("image.tar"))
            .args(["oci-layout", "index.json", "blobs"]),
        "tar of the image layout",
    )?;
    fs::remove_dir_all(&layout)
}

// ---- the CRI client ---------------------------------------------------------------------------

/// An error status of a CRI call: its gRPC code (`NOT_FOUND`, `UNKNOWN`, …; `CLIENT` for a
/// request the client could not make) and details.
#[derive(Debug, Clone)]
pub struct CriError {
    pub code: String,
    pub details: String,
}

/// A CRI v1 client: `client.py` (Debian's python3-grpcio, the CRI proto in tests/cri) in a
/// child process, one JSON request and response a line. It ends with its stdin, when dropped
/// or when the test process ends.
pub struct Cri {
    child: RefCell<Child>,
    to: RefCell<ChildStdin>,
    from: RefCell<BufReader<ChildStdout>>,
    err: PathBuf,
}

impl Cri {
    fn connect(world: &CriWorld) -> Cri {
        Cri::connect_to(&world.sock, &world.dir)
    }

    /// A client of the containerd at `sock`; `dir` holds `proto/api.proto` (protoc's module of
    /// it goes to `dir/client`) and the clients' stderr files (tests/cri_systemd's world is
    /// not a [`CriWorld`]).
    pub fn connect_to(sock: &Path, dir: &Path) -> Cri {
        let n = CLIENTS.fetch_add(1, Ordering::SeqCst);
        let err = dir.join(format!("client-{n}.err"));
        let mut child = Command::new(PYTHON)
            .arg(cri_dir().join("client.py"))
            .arg(sock)
            .arg(dir.join("proto"))
            .arg(dir.join("client"))
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            // No __pycache__ (of api_pb2) left to write.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{PYTHON} client.py: {e}"));
        Cri {
            to: RefCell::new(child.stdin.take().unwrap()),
            from: RefCell::new(BufReader::new(child.stdout.take().unwrap())),
            child: RefCell::new(child),
            err,
        }
    }

    /// `method` (RuntimeService's or ImageService's) with `request` (protobuf's JSON mapping),
    /// within `timeout`: the response, or the error status.
    pub fn try_call_within(
        &self,
        method: &str,
        request: Value,
        timeout: Duration,
    ) -> Result<Value, CriError> {
        let line = json!({"method": method, "request": request, "timeout": timeout.as_secs_f64()});
        let mut to = self.to.borrow_mut();
        let sent = writeln!(to, "{line}").and_then(|()| to.flush());
        let mut answer = String::new();
        let read = sent.and_then(|()| self.from.borrow_mut().read_line(&mut answer));
        if !matches!(read, Ok(n) if n > 0) {
            panic!(
                "the CRI client ended ({read:?}) at {method}: {}",
                fs::read_to_string(&self.err).unwrap_or_default()
            );
        }
        let v: Value = serde_json::from_str(&answer)
            .unwrap_or_else(|e| panic!("the CRI client said {answer:?}: {e}"));
        match v.get("response") {
            Some(r) => Ok(r.clone()),
            None => Err(CriError {
                code: v["error"]["code"].as_str().unwrap_or("").to_string(),
                details: v["error"]["details"].as_str().unwrap_or("").to_string(),
            }),
        }
    }

    /// [`Self::try_call_within`] 30 s.
    pub fn try_call(&self, method: &str, request: Value) -> Result<Value, CriError> {
        self.try_call_within(method, request, Duration::from_secs(30))
    }

    /// A call that must succeed: its response; a panic naming the method and the status.
    #[track_caller]
    pub fn call(&self, method: &str, request: Value) -> Value {
        match self.try_call(method, request.clone()) {
            Ok(r) => r,
            Err(e) => panic!("{method} {request}: {} {}", e.code, e.details),
        }
    }
}

impl Drop for Cri {
    fn drop(&mut self) {
        // Its end of file ends it; a client stuck in a call is killed.
        let mut child = self.child.borrow_mut();
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_file(&self.err);
    }
}

/// A CRI log line (kubelet's format: `<RFC 3339 time> <stream> <P|F> <text>`): (stream, text).
pub fn log_lines(path: &Path) -> Vec<(String, String)> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(4, ' ');
            let (_time, stream, _tag) = (f.next()?, f.next()?, f.next()?);
            Some((stream.to_string(), f.next().unwrap_or("").to_string()))
        })
        .collect()
}
