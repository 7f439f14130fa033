//! A dockerd 20.10 of its own for each test (data root, exec root, pidfile, socket and config
//! file under a temp dir), on a containerd of its own, hull as default runtime, cgroupfs under a
//! unique `--cgroup-parent`, the test rootfs imported; one docker world at a time.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{hull_bin, text};
use crate::containerd::Containerd;
use crate::engine::Engine;
use crate::world::{code, describe, fresh_dir, remove_cgroup_tree, remove_tree, stop_daemon};

/// One docker world at a time: dockerd writes a few host paths of its own (below), which the
/// test that created them removes.
static DOCKER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Host paths dockerd 20.10 creates whatever its flags: its trust key, and the plugin socket
/// dir (hard-coded).
const DOCKER_HOST_PATHS: [&str; 3] = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker"];

const DOCKER_IMAGE: &str = "hull-busybox";

pub struct Docker {
    dir: PathBuf,
    daemon: Child,
    sock: PathBuf,
    /// `--cgroup-parent` of dockerd: every container's cgroup is `<parent>/<id>`.
    cgroup_parent: String,
    /// Which of `DOCKER_HOST_PATHS` existed before this test.
    existed: Vec<bool>,
    /// Dropped after dockerd is stopped.
    containerd: Containerd,
    _lock: std::sync::MutexGuard<'static, ()>,
}

impl Docker {
    /// A dockerd of its own (data, exec root, socket, pidfile, config under its temp dir), on a
    /// containerd of its own, with hull as default runtime; the test rootfs imported.
    pub fn start() -> Docker {
        let lock = DOCKER_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let existed = DOCKER_HOST_PATHS
            .iter()
            .map(|p| Path::new(p).exists())
            .collect();
        let containerd = Containerd::start();
        let dir = fresh_dir("hull-docker");
        let sock = dir.join("docker.sock");
        let d = |s: &str| dir.join(s).to_string_lossy().into_owned();
        fs::write(dir.join("daemon.json"), "{}\n").unwrap();
        let cgroup_parent = format!("/{}", dir.file_name().unwrap().to_string_lossy());
        let log = fs::File::create(dir.join("dockerd.log")).unwrap();
        let daemon = Command::new("dockerd")
            .args(["--config-file", &d("daemon.json")])
            .args(["--data-root", &d("data"), "--exec-root", &d("exec")])
            .args(["--pidfile", &d("docker.pid")])
            .args(["-H", &format!("unix://{}", sock.display())])
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
            .args(["--storage-driver", "overlay2"])
            .args(["--containerd", containerd.sock.to_str().unwrap()])
            .args(["--containerd-namespace", &containerd.ns])
            .args([
                "--containerd-plugins-namespace",
                &format!("{}-plugins", containerd.ns),
            ])
            .args(["--add-runtime", &format!("hull={}", hull_bin().display())])
            .args(["--default-runtime", "hull"])
            .args(["--exec-opt", "native.cgroupdriver=cgroupfs"])
            .args(["--cgroup-parent", &cgroup_parent])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let dk = Docker {
            dir,
            daemon,
            sock,
            cgroup_parent,
            existed,
            containerd,
            _lock: lock,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(dk.sock.exists() && dk.cli(&["version"]).status.success()) {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                fs::read_to_string(dk.dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        dk.import_rootfs();
        dk
    }
}

impl Engine for Docker {
    const CLI: &'static str = "docker";
    const IMAGE: &'static str = DOCKER_IMAGE;
    const RM: &'static [&'static str] = &["rm"];

    fn cli(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    /// None: dockerd has the `--cgroup-parent`.
    fn run_options(&self) -> Vec<&str> {
        Vec::new()
    }

    /// hull's `--root` as the shim passes it: dockerd's `runtime-runc` dir plus the namespace.
    fn hull_root(&self) -> PathBuf {
        self.dir.join("exec/runtime-runc").join(&self.containerd.ns)
    }

    fn cgroup(&self, id: &str) -> PathBuf {
        Path::new(self.cgroup_parent.trim_start_matches('/')).join(id)
    }

    /// As with runc: 126, and dockerd writes the runtime's error into the attached stream.
    fn assert_exec_of_missing_command(&self, o: &Output) {
        assert_eq!(code(o), 126, "{}", describe(o));
        assert!(
            text(&o.stdout).contains("\"/nope\": stat /nope: no such file"),
            "{}",
            describe(o)
        );
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        // Containers first, so their shims exit; then the daemon, by its pid (the pidfile's).
        if let Ok(o) = Command::new("docker")
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(["ps", "-a", "-q"])
            .output()
        {
            for id in text(&o.stdout).split_whitespace() {
                let _ = self.cli(&["rm", "-f", id]);
            }
        }
        let _ = self.cli(&["rmi", "-f", DOCKER_IMAGE]);
        stop_daemon(&mut self.daemon, Duration::from_secs(15));
        remove_tree(&self.dir);
        remove_cgroup_tree(self.cgroup_parent.trim_start_matches('/'));
        for (p, existed) in DOCKER_HOST_PATHS.iter().zip(&self.existed) {
            if !existed {
                let p = Path::new(p);
                let _ = if p.is_dir() {
                    fs::remove_dir(p)
                } else {
                    fs::remove_file(p)
                };
            }
        }
    }
}
