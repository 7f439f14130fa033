//! A podman world of its own for each test: `--root`, `--runroot`, `--tmpdir`,
//! `--network-config-dir` and a containers.conf under a temp dir, hull as runtime `hull` through
//! a wrapper adding `--root`, the test rootfs imported as `IMAGE`, a unique `--cgroup-parent`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::hull_bin;
use crate::engine::Engine;
use crate::world::{code, describe, fresh_dir, remove_cgroup_tree, remove_tree, HostPaths, IMAGE};

pub struct Podman {
    pub dir: PathBuf,
    /// hull's `--root`, through the wrapper.
    hull_root: PathBuf,
    /// `--cgroup-parent` of every container (conmon's cgroup lands under it too).
    cgroup_parent: String,
    /// Dropped last, after `Drop` has reset podman.
    _host: HostPaths,
}

impl Podman {
    /// A podman world of its own with the test rootfs imported as `IMAGE`.
    pub fn new() -> Podman {
        Podman::with_runtime(&hull_bin())
    }

    /// [`Podman::new`] with the hull binary at `hull` (an installed one).
    pub fn with_runtime(hull: &Path) -> Podman {
        let host = HostPaths::take();
        let dir = fresh_dir("hull-podman");
        let hull_root = dir.join("hull");
        let wrapper = dir.join("hull-runtime");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec '{}' --root '{}' \"$@\"\n",
                hull.display(),
                hull_root.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\n\
                 default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
                 [engine]\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n\
                 runtime = \"hull\"\n\
                 runtime_supports_json = [\"hull\"]\n\
                 [engine.runtimes]\n\
                 hull = [\"{}\"]\n",
                wrapper.display()
            ),
        )
        .unwrap();
        let p = Podman {
            cgroup_parent: format!("/{}", dir.file_name().unwrap().to_string_lossy()),
            dir,
            hull_root,
            _host: host,
        };
        p.import_rootfs();
        p
    }
}

impl Engine for Podman {
    const CLI: &'static str = "podman";
    const IMAGE: &'static str = IMAGE;
    const RM: &'static [&'static str] = &["rm", "-f", "-t", "0"];

    fn cli(&self, args: &[&str]) -> Output {
        in_world(Command::new("podman"), &self.dir, args)
    }

    fn dir(&self) -> &Path {
        &self.dir
    }

    fn run_options(&self) -> Vec<&str> {
        vec!["--cgroup-parent", &self.cgroup_parent]
    }

    fn hull_root(&self) -> PathBuf {
        self.hull_root.clone()
    }

    fn cgroup(&self, id: &str) -> PathBuf {
        Path::new(self.cgroup_parent.trim_start_matches('/')).join(format!("libpod-{id}"))
    }

    fn assert_exec_of_missing_command(&self, o: &Output) {
        assert_eq!(code(o), 127, "{}", describe(o));
    }
}

/// `podman` (the command `podman`, as whichever user) with a world's own containers.conf,
/// storage, run root, tmpdir and network config under `dir`, then `args`; its output.
pub fn in_world(mut podman: Command, dir: &Path, args: &[&str]) -> Output {
    let d = |s: &str| dir.join(s);
    podman
        .env("CONTAINERS_CONF", d("containers.conf"))
        .arg("--root")
        .arg(d("root"))
        .arg("--runroot")
        .arg(d("runroot"))
        .arg("--tmpdir")
        .arg(d("tmp"))
        .arg("--network-config-dir")
        .arg(d("net"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cli(&["rm", "-a", "-f", "-t", "0"]);
        let _ = self.cli(&["system", "reset", "--force"]);
        remove_tree(&self.dir);
        remove_cgroup_tree(self.cgroup_parent.trim_start_matches('/'));
    }
}
