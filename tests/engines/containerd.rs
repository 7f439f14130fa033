//! A containerd of its own for each test (root, state, sockets, opt dir under a temp dir, CRI
//! off), driven by `ctr` with `--runc-binary` hull, stopped by its PID; docker's worlds run on
//! one too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{hull_bin, rootfs, text};
use crate::world::{
    assert_gone, describe, fresh_dir, ok, remove_cgroup_tree, remove_tree, stop_daemon, tar_rootfs,
    HostPaths, IMAGE,
};

pub struct Containerd {
    pub dir: PathBuf,
    daemon: Child,
    pub sock: PathBuf,
    /// The containerd namespace of this test (the parent cgroup of its containers).
    pub ns: String,
    /// Dropped last, after `Drop` has stopped the daemon.
    _host: HostPaths,
}

impl Containerd {
    /// A containerd of its own, serving on a socket in its temp dir.
    pub fn start() -> Containerd {
        let host = HostPaths::take();
        let dir = fresh_dir("hull-containerd");
        let sock = dir.join("containerd.sock");
        let d = |s: &str| dir.join(s).to_string_lossy().into_owned();
        fs::write(
            dir.join("config.toml"),
            format!(
                "version = 2\n\
                 root = \"{}\"\n\
                 state = \"{}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{}\"\n\
                 [ttrpc]\n  address = \"{}.ttrpc\"\n\
                 [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{}\"\n",
                d("root"),
                d("state"),
                sock.display(),
                sock.display(),
                d("opt"),
            ),
        )
        .unwrap();
        let log = fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Containerd {
            ns: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir,
            daemon,
            sock,
            _host: host,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(c.sock.exists() && c.ctr(&["version"]).status.success()) {
            assert!(
                Instant::now() < deadline,
                "containerd did not come up: {}",
                fs::read_to_string(c.dir.join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    pub fn hull_root(&self) -> PathBuf {
        self.dir.join("hull")
    }

    /// Where ctr makes the stdio fifos of tasks and execs (its default is /run/containerd/fifo).
    pub fn fifo_dir(&self) -> PathBuf {
        self.dir.join("fifo")
    }

    /// `ctr tasks exec --exec-id EXEC ID CMD…` with the fifos in the temp dir.
    pub fn exec(&self, exec_id: &str, id: &str, cmd: &[&str]) -> Output {
        let fifos = self.fifo_dir();
        let mut a = vec![
            "tasks",
            "exec",
            "--fifo-dir",
            fifos.to_str().unwrap(),
            "--exec-id",
            exec_id,
            id,
        ];
        a.extend_from_slice(cmd);
        self.ctr(&a)
    }

    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.sock)
            .arg("--namespace")
            .arg(&self.ns)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `ctr ARGS` with a terminal as its stdin and stdout (`ctr -t` takes the console from
    /// its own stdin): run through util-linux `script`, which gives it a pty and copies the
    /// output to ours.
    pub fn ctr_in_pty(&self, args: &[&str]) -> Output {
        let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
        let sock = self.sock.to_string_lossy().into_owned();
        let mut line = vec!["ctr", "--address", &sock, "--namespace", &self.ns];
        line.extend_from_slice(args);
        let line: Vec<String> = line.iter().map(|a| quote(a)).collect();
        Command::new("script")
            .args(["-qec", &line.join(" "), "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `ctr run` with hull: `opts` (before the rootfs/image), then `what` (`--rootfs DIR` or
    /// an image), the id and the command.
    pub fn run(&self, opts: &[&str], what: &[&str], id: &str, cmd: &[&str]) -> Output {
        let hull = hull_bin();
        let root = self.hull_root();
        let fifos = self.fifo_dir();
        let mut a = vec![
            "run",
            "--fifo-dir",
            fifos.to_str().unwrap(),
            "--runc-binary",
            hull.to_str().unwrap(),
            "--runc-root",
            root.to_str().unwrap(),
        ];
        a.extend_from_slice(opts);
        a.extend_from_slice(what);
        a.push(id);
        a.extend_from_slice(cmd);
        self.ctr(&a)
    }

    pub fn rootfs_run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> Output {
        let r = rootfs();
        let mut o = vec!["--rm"];
        o.extend_from_slice(opts);
        self.run(&o, &["--rootfs", r.to_str().unwrap()], id, cmd)
    }

    /// Wait (10 s at most) for the task to stop, delete it and return its exit code (ctr
    /// reports a non-zero one when deleting: "task ID exit with non-zero exit code N").
    pub fn wait_exit(&self, id: &str) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.task_status(id) != "STOPPED" {
            assert!(Instant::now() < deadline, "{id} did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        let o = self.ctr(&["tasks", "delete", id]);
        let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
        all.split("exit code ")
            .nth(1)
            .and_then(|t| t.split(|ch: char| !ch.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                assert!(o.status.success(), "{}", describe(&o));
                0
            })
    }

    /// The task's status in `ctr tasks ls`.
    pub fn task_status(&self, id: &str) -> String {
        let out = ok(self.ctr(&["tasks", "ls"]), "tasks ls");
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }

    /// hull's state dir of container `id` (the shim adds the namespace to `--runc-root`).
    pub fn assert_gone(&self, id: &str) {
        assert_gone(&self.hull_root().join(&self.ns), id);
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Tasks and containers first, so their shims exit; then the daemon, by its pid.
        if let Ok(o) = Command::new("ctr")
            .arg("--address")
            .arg(&self.sock)
            .arg("--namespace")
            .arg(&self.ns)
            .args(["containers", "ls", "-q"])
            .output()
        {
            for id in text(&o.stdout).split_whitespace() {
                let _ = self.ctr(&["tasks", "kill", "-s", "SIGKILL", id]);
                let _ = self.ctr(&["tasks", "delete", "--force", id]);
                let _ = self.ctr(&["containers", "delete", id]);
            }
        }
        let _ = self.ctr(&["images", "rm", IMAGE]);
        stop_daemon(&mut self.daemon, Duration::from_secs(10));
        remove_tree(&self.dir);
        remove_cgroup_tree(&self.ns);
    }
}

/// An OCI image layout tarball of the test rootfs (one uncompressed layer), named `IMAGE`.
pub fn oci_image_tar(dir: &Path) -> PathBuf {
    let layout = dir.join("oci");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let sha = |p: &Path| -> String {
        let o = Command::new("sha256sum").arg(p).output().unwrap();
        ok(o, "sha256sum")
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    // Store `src` as a blob; returns (digest, size).
    let blob = |src: &Path| -> (String, u64) {
        let d = sha(src);
        let size = fs::metadata(src).unwrap().len();
        fs::rename(src, blobs.join(&d)).unwrap();
        (format!("sha256:{d}"), size)
    };
    let layer = dir.join("layer.tar");
    tar_rootfs(&layer);
    let (layer_digest, layer_size) = blob(&layer);
    let config = dir.join("config.json");
    fs::write(
        &config,
        serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
        })
        .to_string(),
    )
    .unwrap();
    let (config_digest, config_size) = blob(&config);
    let manifest = dir.join("manifest.json");
    fs::write(
        &manifest,
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest, "size": layer_size}]
        })
        .to_string(),
    )
    .unwrap();
    let (manifest_digest, manifest_size) = blob(&manifest);
    fs::write(
        layout.join("index.json"),
        serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": manifest_digest, "size": manifest_size,
                           "platform": {"architecture": "amd64", "os": "linux"},
                           "annotations": {"io.containerd.image.name": IMAGE}}]
        })
        .to_string(),
    )
    .unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let tar = dir.join("image.tar");
    ok(
        Command::new("tar")
            .arg("-C")
            .arg(&layout)
            .arg("-cf")
            .arg(&tar)
            .args(["oci-layout", "index.json", "blobs"])
            .output()
            .unwrap(),
        "tar of the image",
    );
    tar
}
