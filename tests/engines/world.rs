//! What every engine world uses: unique names and temp dirs, command output, a tar of the test
//! rootfs, the leftover checks, and the cleanup of what engines leave.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::{cgroup_dirs_named, mounts_mentioning, rootfs, text};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The test rootfs as an image in podman and containerd.
pub const IMAGE: &str = "localhost/hull-busybox:latest";

pub fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// A unique name for this test process: `<tag>-<pid>-<n>`.
pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{tag}-{}-{n}", std::process::id())
}

pub fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(tag));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

pub fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", describe(&o));
    text(&o.stdout)
}

/// Live processes whose command line mentions `needle` (zombies have none).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        if let Ok(c) = fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(needle) {
                out.push(format!("{name}: {c}"));
            }
        }
    }
    out
}

/// Nothing of container `id` is left: state in `hull_root`, cgroups, mounts, processes.
pub fn assert_gone(hull_root: &Path, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = hull_root.join(id).exists();
        let cg = cgroup_dirs_named(id);
        let m = mounts_mentioning(id);
        let p = processes_mentioning(id);
        if !state && cg.is_empty() && m.is_empty() && p.is_empty() {
            return;
        }
        // Engines clean up asynchronously (podman's cleanup process, the shim's exit).
        if Instant::now() > deadline {
            panic!(
                "{id} left behind: state dir {state}, cgroups {cg:?}, mounts {m:?}, processes {p:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Unmount whatever is still mounted under `dir` (deepest first), then remove it.
pub fn remove_tree(dir: &Path) {
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(String::from))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let c = std::ffi::CString::new(p).unwrap();
        // SAFETY: c is a valid NUL-terminated path; umount2 reads it only.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    let _ = fs::remove_dir_all(dir);
}

/// Remove `/sys/fs/cgroup/<h>/<name>` and its subdirectories in every hierarchy (children
/// first), for the parents the engines create and leave (podman's conmon cgroup, containerd's
/// namespace).
pub fn remove_cgroup_tree(name: &str) {
    fn rm(p: &Path) {
        if let Ok(rd) = fs::read_dir(p) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    rm(&e.path());
                }
            }
        }
        let _ = fs::remove_dir(p);
    }
    if let Ok(rd) = fs::read_dir("/sys/fs/cgroup") {
        for h in rd.flatten() {
            let p = h.path().join(name);
            if p.is_dir() {
                rm(&p);
            }
        }
    }
    let _ = fs::remove_dir(Path::new("/sys/fs/cgroup").join(name));
}

/// Host paths the engines make at fixed places whatever their flags: containerd-shim's socket
/// dir (`/run/containerd/s`, also under Docker), podman's blob-info cache and network dir.
/// Removed when the last engine world of this test process goes, if none existed before the
/// first one came.
const ENGINE_HOST_PATHS: [&str; 3] = ["/run/containerd", "/var/lib/containers", "/run/containers"];

/// (engine worlds alive, the paths of `ENGINE_HOST_PATHS` that did not exist before them).
static ENGINE_WORLDS: std::sync::Mutex<(usize, Vec<&str>)> = std::sync::Mutex::new((0, Vec::new()));

/// Held by every engine world; see `ENGINE_HOST_PATHS`.
pub struct HostPaths;

impl HostPaths {
    pub fn take() -> HostPaths {
        let mut g = ENGINE_WORLDS.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 == 0 {
            g.1 = ENGINE_HOST_PATHS
                .into_iter()
                .filter(|p| !Path::new(p).exists())
                .collect();
        }
        g.0 += 1;
        HostPaths
    }
}

impl Drop for HostPaths {
    fn drop(&mut self) {
        let mut g = ENGINE_WORLDS.lock().unwrap_or_else(|e| e.into_inner());
        g.0 -= 1;
        if g.0 == 0 {
            for p in std::mem::take(&mut g.1) {
                let _ = fs::remove_dir_all(p);
            }
        }
    }
}

/// Stop a daemon we spawned: SIGTERM, then SIGKILL if it is still there after `grace`.
pub fn stop_daemon(daemon: &mut Child, grace: Duration) {
    let pid = daemon.id() as libc::pid_t;
    // SAFETY: pid is our own unreaped child, so it cannot have been reused.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + grace;
    while daemon.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = daemon.kill();
            let _ = daemon.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A tar of the test rootfs at `tar` (the engines import images from it).
pub fn tar_rootfs(tar: &Path) {
    let o = Command::new("tar")
        .arg("-C")
        .arg(rootfs())
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .output()
        .unwrap();
    ok(o, "tar of the rootfs");
}
