//! hull under real engines: podman 4 (through conmon, `--log-format json`, its own seccomp
//! profile and cgroupfs manager), containerd 1.6 (`ctr`, containerd-shim-runc-v2 with
//! `--runc-binary`) and Docker 20.10 (dockerd, through containerd and the same shim). Each test
//! builds its own world under a temp dir and tears it down:
//!
//! - podman: `--root`, `--runroot`, `--tmpdir`, `--network-config-dir` and a containers.conf
//!   (`CONTAINERS_CONF`) that names hull as runtime `hull` (so podman passes the JSON log flags
//!   it passes runc) through a two-line wrapper adding `--root <temp>/hull` (podman passes no
//!   runtime root, and its cleanup process drops `--runtime-flag`); the image is imported from
//!   the test rootfs; a unique `--cgroup-parent`. The host's hard NPROC limit is below podman's
//!   default of 1048576 and root here lacks CAP_SYS_RESOURCE (runc fails the same way), so
//!   containers.conf sets `nofile` and `nproc` limits.
//! - containerd: a daemon of its own (root, state, sockets, opt dir under the temp dir, CRI off),
//!   stopped by its PID; a unique namespace; `--runc-binary` hull with `--runc-root` in the temp
//!   dir; the rootfs by `--rootfs` or as an OCI image built from it and imported.
//! - docker: dockerd 20.10 with `--data-root`, `--exec-root`, `--pidfile`, socket and
//!   `--config-file` in the temp dir, on a containerd of its own as above (dockerd's managed
//!   containerd would create /opt/containerd), hull as `--default-runtime` (the shim runs it
//!   with `--root <exec-root>/runtime-runc/<namespace>` and the JSON log flags), no bridge or
//!   iptables, cgroupfs under a unique `--cgroup-parent`; the image imported from a tar of the
//!   test rootfs. dockerd also writes /etc/docker/key.json and /run/docker/plugins whatever its
//!   flags: docker tests run one at a time and remove those if they created them.
//!
//! After every container: no state dir, no cgroup named after it, no mount or live process
//! mentioning it. What the engines make at fixed host paths whatever their flags (shim sockets
//! in /run/containerd, podman's cache in /var/lib/containers and /run/containers) is removed
//! when the last engine world of the test process goes, unless it existed before the first. A missing engine skips the test with a reason, or fails it when CI=true.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{cgroup_dirs_named, hull_bin, mounts_mentioning, rootfs, text};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Skip (outside CI) or fail (in CI) when one of the programs is not installed.
macro_rules! require_programs {
    ($($bin:expr),+) => {
        for bin in [$($bin),+] {
            require!(
                on_path(bin),
                "{bin} is not installed (apt-get install podman containerd docker.io, or make deps)"
            );
        }
    };
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// A unique name for this test process: `<tag>-<pid>-<n>`.
fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{tag}-{}-{n}", std::process::id())
}

fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(tag));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    )
}

fn ok(o: Output, what: &str) -> String {
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
fn assert_gone(hull_root: &Path, id: &str) {
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
fn remove_tree(dir: &Path) {
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
fn remove_cgroup_tree(name: &str) {
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
struct HostPaths;

impl HostPaths {
    fn take() -> HostPaths {
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

// ---------------------------------------------------------------------------------------------
// podman

const IMAGE: &str = "localhost/hull-busybox:latest";

struct Podman {
    dir: PathBuf,
    /// hull's `--root`, through the wrapper.
    hull_root: PathBuf,
    /// `--cgroup-parent` of every container (conmon's cgroup lands under it too).
    cgroup_parent: String,
    /// Dropped last, after `Drop` has reset podman.
    _host: HostPaths,
}

impl Podman {
    /// A podman world of its own with the test rootfs imported as `IMAGE`.
    fn new() -> Podman {
        let host = HostPaths::take();
        let dir = fresh_dir("hull-podman");
        let hull_root = dir.join("hull");
        let wrapper = dir.join("hull-runtime");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec '{}' --root '{}' \"$@\"\n",
                hull_bin().display(),
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
        let tar = p.dir.join("rootfs.tar");
        let o = Command::new("tar")
            .arg("-C")
            .arg(rootfs())
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .output()
            .unwrap();
        ok(o, "tar of the rootfs");
        ok(
            p.podman(&["import", tar.to_str().unwrap(), IMAGE]),
            "podman import",
        );
        p
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let d = |s: &str| self.dir.join(s);
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", d("containers.conf"))
            .arg("--root")
            .arg(d("root"))
            .arg("--runroot")
            .arg(d("runroot"))
            .arg("--tmpdir")
            .arg(d("tmp"))
            .arg("--network-config-dir")
            .arg(d("net"))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn podman(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// `podman run --rm` of `cmd` in `IMAGE` with `extra` options.
    fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let mut a = vec![
            "run",
            "--rm",
            "--network",
            "none",
            "--cgroup-parent",
            &self.cgroup_parent,
        ];
        a.extend_from_slice(extra);
        a.push(IMAGE);
        a.extend_from_slice(cmd);
        self.podman(&a)
    }

    /// A detached container named `name` running `cmd`; returns its full id.
    fn run_detached(&self, name: &str, extra: &[&str], cmd: &[&str]) -> String {
        let mut a = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "--cgroup-parent",
            &self.cgroup_parent,
        ];
        a.extend_from_slice(extra);
        a.push(IMAGE);
        a.extend_from_slice(cmd);
        ok(self.podman(&a), "podman run -d").trim().to_string()
    }

    fn status(&self, name: &str) -> String {
        ok(
            self.podman(&["inspect", "--format", "{{.State.Status}}", name]),
            "podman inspect",
        )
        .trim()
        .to_string()
    }

    /// The container's cgroup directory in the hierarchy of `controller` (hybrid/legacy) or
    /// the unified one.
    fn cgroup_dir(&self, id: &str, controller: &str) -> PathBuf {
        let v1 = Path::new("/sys/fs/cgroup").join(controller);
        let base = if v1.is_dir() {
            v1
        } else {
            PathBuf::from("/sys/fs/cgroup")
        };
        base.join(self.cgroup_parent.trim_start_matches('/'))
            .join(format!("libpod-{id}"))
    }

    /// `podman rm -f` and the leftover checks.
    fn remove(&self, name: &str, id: &str) {
        ok(self.podman(&["rm", "-f", "-t", "0", name]), "podman rm");
        assert_gone(&self.hull_root, id);
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-a", "-f", "-t", "0"]);
        let _ = self.podman(&["system", "reset", "--force"]);
        remove_tree(&self.dir);
        remove_cgroup_tree(self.cgroup_parent.trim_start_matches('/'));
    }
}

/// Foreground runs: output, the process's exit code, and podman's codes for a missing (127)
/// and a non-executable (126) command; hull's error reaches podman through the JSON log.
#[test]
fn podman_run_output_and_exit_codes() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let o = p.run(&[], &["echo", "hi"]);
    assert_eq!(ok(o, "echo hi"), "hi\n");
    assert_eq!(code(&p.run(&[], &["sh", "-c", "exit 7"])), 7);
    let o = p.run(&[], &["/nonexistent"]);
    assert_eq!(code(&o), 127, "{}", describe(&o));
    assert!(text(&o.stderr).contains("/nonexistent"), "{}", describe(&o));
    assert_eq!(code(&p.run(&[], &["/etc"])), 126);
    assert!(
        fs::read_dir(&p.hull_root).map_or(true, |mut d| d.next().is_none()),
        "hull state left in {}",
        p.hull_root.display()
    );
}

/// env, hostname, user, workdir, a read-only rootfs, a tmpfs and a read-only volume.
#[test]
fn podman_process_settings() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let vol = p.dir.join("vol");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("f"), "from the host\n").unwrap();
    let v = format!("{}:/v:ro", vol.display());
    let out = ok(
        p.run(
            &[
                "-e", "FOO=bar", "--hostname", "hh", "-u", "1000:1001", "-w", "/tmp", "--tmpfs",
                "/scratch", "-v", &v,
            ],
            &[
                "sh",
                "-c",
                "echo $FOO $(hostname) $(id -u):$(id -g) $(pwd); cat /v/f; touch /v/x 2>/dev/null || echo vol-ro; grep -c ' /scratch tmpfs' /proc/mounts",
            ],
        ),
        "settings",
    );
    assert_eq!(out, "bar hh 1000:1001 /tmp\nfrom the host\nvol-ro\n1\n");
    let o = p.run(
        &["--read-only"],
        &[
            "sh",
            "-c",
            "touch /x 2>/dev/null && echo written || echo ro",
        ],
    );
    assert_eq!(ok(o, "--read-only"), "ro\n");
    // podman marks every --tmpfs `tmpcopyup`: the image's /bin is copied into it.
    let o = p.run(
        &["--tmpfs", "/bin:exec"],
        &[
            "/bin/sh",
            "-c",
            "/bin/true && mount | grep -c ' /bin type tmpfs'",
        ],
    );
    assert_eq!(ok(o, "--tmpfs /bin"), "1\n");
}

/// `--memory 64m` is the limit of the container's memory cgroup, seen inside (cgroup
/// namespace) and on the host; `--pids-limit` likewise.
#[test]
fn podman_resource_limits() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let out = ok(
        p.run(
            &["--memory", "64m", "--pids-limit", "50"],
            &[
                "sh",
                "-c",
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
            ],
        ),
        "limits",
    );
    assert_eq!(out, "67108864\n50\n");
    let name = unique("mem");
    let id = p.run_detached(&name, &["--memory", "64m"], &["sleep", "1000"]);
    let dir = p.cgroup_dir(&id, "memory");
    let limit = fs::read_to_string(dir.join("memory.limit_in_bytes"))
        .or_else(|_| fs::read_to_string(dir.join("memory.max")))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert_eq!(limit.trim(), "67108864");
    ok(
        p.podman(&["update", "--memory", "128m", &name]),
        "podman update",
    );
    let limit = fs::read_to_string(dir.join("memory.limit_in_bytes"))
        .or_else(|_| fs::read_to_string(dir.join("memory.max")))
        .unwrap();
    assert_eq!(limit.trim(), "134217728");
    p.remove(&name, &id);
}

/// A detached container: exec (output, exit codes, env/user/workdir), top, stop, rm, and
/// nothing left behind.
#[test]
fn podman_detached_exec_stop() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let name = unique("det");
    let id = p.run_detached(&name, &[], &["sleep", "1000"]);
    assert_eq!(p.status(&name), "running");
    // hull runs it: its state dir, and `hull state` agrees with podman.
    assert!(p.hull_root.join(&id).is_dir(), "no hull state for {id}");
    let o = Command::new(hull_bin())
        .arg("--root")
        .arg(&p.hull_root)
        .args(["state", &id])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_str(&ok(o, "hull state")).unwrap();
    assert_eq!(state["status"], "running");
    let pid = ok(
        p.podman(&["inspect", "--format", "{{.State.Pid}}", &name]),
        "inspect pid",
    );
    assert_eq!(state["pid"].to_string(), pid.trim());
    assert_eq!(ok(p.podman(&["exec", &name, "echo", "in"]), "exec"), "in\n");
    assert_eq!(code(&p.podman(&["exec", &name, "sh", "-c", "exit 5"])), 5);
    assert_eq!(code(&p.podman(&["exec", &name, "/nope"])), 127);
    let out = ok(
        p.podman(&[
            "exec",
            "-e",
            "A=1",
            "-u",
            "1000",
            "-w",
            "/tmp",
            &name,
            "sh",
            "-c",
            "echo $A $(id -u) $(pwd)",
        ]),
        "exec with settings",
    );
    assert_eq!(out, "1 1000 /tmp\n");
    ok(p.podman(&["exec", "-d", &name, "sleep", "500"]), "exec -d");
    let top = ok(p.podman(&["top", &name]), "top");
    assert!(
        top.contains("sleep 1000") && top.contains("sleep 500"),
        "{top}"
    );
    // sleep as pid 1 ignores SIGTERM: podman falls back to SIGKILL after the timeout.
    ok(p.podman(&["stop", "-t", "1", &name]), "stop");
    assert_eq!(p.status(&name), "exited");
    p.remove(&name, &id);
}

/// pause/unpause (the freezer), kill with a signal the process traps, and the exit code.
#[test]
fn podman_pause_unpause_kill() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let name = unique("pk");
    let id = p.run_detached(
        &name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got USR1; exit 3' USR1; echo ready; while :; do sleep 0.1; done",
        ],
    );
    ok(p.podman(&["pause", &name]), "pause");
    assert_eq!(p.status(&name), "paused");
    let freezer = p.cgroup_dir(&id, "freezer").join("freezer.state");
    if freezer.exists() {
        assert_eq!(fs::read_to_string(&freezer).unwrap().trim(), "FROZEN");
    }
    assert_ne!(
        code(&p.podman(&["exec", &name, "true"])),
        0,
        "exec into a paused container"
    );
    ok(p.podman(&["unpause", &name]), "unpause");
    assert_eq!(p.status(&name), "running");
    ok(p.podman(&["kill", "-s", "USR1", &name]), "kill -s USR1");
    let waited = ok(p.podman(&["wait", &name]), "wait");
    assert_eq!(waited.trim(), "3");
    let logs = p.podman(&["logs", &name]);
    assert!(
        text(&logs.stdout).contains("got USR1"),
        "{}",
        describe(&logs)
    );
    p.remove(&name, &id);
}

/// Terminals: `run -t` (conmon takes the pty master over hull's --console-socket; output comes
/// back through it with the pty's CRLF) and `exec -t` into a detached container; then a graceful
/// stop: a process that traps SIGTERM exits with its own code, long before the timeout.
#[test]
fn podman_tty_and_graceful_stop() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let out = ok(
        p.run(
            &["-t"],
            &["sh", "-c", "tty; test -t 0 && test -t 1 && echo both"],
        ),
        "run -t",
    );
    assert_eq!(out, "/dev/pts/0\r\nboth\r\n");
    let name = unique("tty");
    let id = p.run_detached(
        &name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 4' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    let out = ok(
        p.podman(&["exec", "-t", &name, "sh", "-c", "tty; echo $TERM"]),
        "exec -t",
    );
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert!(out.ends_with("\r\nxterm\r\n"), "{out:?}");
    assert_eq!(
        code(&p.podman(&["exec", "-t", &name, "sh", "-c", "exit 6"])),
        6
    );
    let started = Instant::now();
    ok(p.podman(&["stop", "-t", "30", &name]), "stop");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stop waited for the timeout"
    );
    let waited = ok(
        p.podman(&["inspect", "--format", "{{.State.ExitCode}}", &name]),
        "inspect exit code",
    );
    assert_eq!(waited.trim(), "4");
    let logs = p.podman(&["logs", &name]);
    assert!(
        text(&logs.stdout).contains("got TERM"),
        "{}",
        describe(&logs)
    );
    p.remove(&name, &id);
}

/// `--cap-drop all`: podman's seccomp profile then has conditional `socket` rules with two
/// actions (EINVAL for NETLINK_AUDIT, allow otherwise), which hull used to refuse.
#[test]
fn podman_cap_drop_all() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let out = ok(
        p.run(
            &["--cap-drop", "all"],
            &[
                "sh",
                "-c",
                "grep CapEff /proc/self/status; chroot / true 2>/dev/null || echo no-chroot",
            ],
        ),
        "--cap-drop all",
    );
    assert_eq!(out, "CapEff:\t0000000000000000\nno-chroot\n");
    let out = ok(
        p.run(
            &["--cap-drop", "all", "--cap-add", "net_admin"],
            &["sh", "-c", "ip link set lo up && echo up"],
        ),
        "--cap-add net_admin",
    );
    assert_eq!(out, "up\n");
}

// ---------------------------------------------------------------------------------------------
// containerd

struct Containerd {
    dir: PathBuf,
    daemon: Child,
    sock: PathBuf,
    /// The containerd namespace of this test (the parent cgroup of its containers).
    ns: String,
    /// Dropped last, after `Drop` has stopped the daemon.
    _host: HostPaths,
}

impl Containerd {
    /// A containerd of its own, serving on a socket in its temp dir.
    fn start() -> Containerd {
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

    fn hull_root(&self) -> PathBuf {
        self.dir.join("hull")
    }

    /// Where ctr makes the stdio fifos of tasks and execs (its default is /run/containerd/fifo).
    fn fifo_dir(&self) -> PathBuf {
        self.dir.join("fifo")
    }

    /// `ctr tasks exec --exec-id EXEC ID CMD…` with the fifos in the temp dir.
    fn exec(&self, exec_id: &str, id: &str, cmd: &[&str]) -> Output {
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

    fn ctr(&self, args: &[&str]) -> Output {
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
    fn ctr_in_pty(&self, args: &[&str]) -> Output {
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
    fn run(&self, opts: &[&str], what: &[&str], id: &str, cmd: &[&str]) -> Output {
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

    fn rootfs_run(&self, opts: &[&str], id: &str, cmd: &[&str]) -> Output {
        let r = rootfs();
        let mut o = vec!["--rm"];
        o.extend_from_slice(opts);
        self.run(&o, &["--rootfs", r.to_str().unwrap()], id, cmd)
    }

    /// Wait (10 s at most) for the task to stop, delete it and return its exit code (ctr
    /// reports a non-zero one when deleting: "task ID exit with non-zero exit code N").
    fn wait_exit(&self, id: &str) -> i32 {
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
    fn task_status(&self, id: &str) -> String {
        let out = ok(self.ctr(&["tasks", "ls"]), "tasks ls");
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }

    /// hull's state dir of container `id` (the shim adds the namespace to `--runc-root`).
    fn assert_gone(&self, id: &str) {
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
        let pid = self.daemon.id() as libc::pid_t;
        // SAFETY: pid is our own unreaped child (the daemon), so it cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.daemon.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.daemon.kill();
                let _ = self.daemon.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        remove_tree(&self.dir);
        remove_cgroup_tree(&self.ns);
    }
}

/// An OCI image layout tarball of the test rootfs (one uncompressed layer), named `IMAGE`.
fn oci_image_tar(dir: &Path) -> PathBuf {
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
    ok(
        Command::new("tar")
            .arg("-C")
            .arg(rootfs())
            .arg("-cf")
            .arg(&layer)
            .arg(".")
            .output()
            .unwrap(),
        "tar of the rootfs",
    );
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

/// `ctr run --rm --rootfs`: output, exit code, env/cwd, a read-only rootfs, the default
/// seccomp profile, and a missing command named in ctr's error.
#[test]
fn containerd_run_rootfs() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2");
    let c = Containerd::start();
    let id = unique("r");
    assert_eq!(
        ok(c.rootfs_run(&[], &id, &["echo", "hi"]), "echo hi"),
        "hi\n"
    );
    c.assert_gone(&id);
    let o = c.rootfs_run(&[], &id, &["sh", "-c", "exit 7"]);
    assert_eq!(code(&o), 7, "{}", describe(&o));
    let out = ok(
        c.rootfs_run(
            &["--env", "FOO=bar", "--cwd", "/tmp", "--read-only", "--seccomp"],
            &id,
            &[
                "sh",
                "-c",
                "echo $FOO $(pwd); touch /x 2>/dev/null || echo ro; grep Seccomp: /proc/self/status",
            ],
        ),
        "settings",
    );
    assert_eq!(out, "bar /tmp\nro\nSeccomp:\t2\n");
    let o = c.rootfs_run(&[], &id, &["/nonexistent"]);
    assert_ne!(code(&o), 0);
    assert!(text(&o.stderr).contains("/nonexistent"), "{}", describe(&o));
    c.assert_gone(&id);
}

/// A detached task: its memory limit in the cgroup, exec with exit codes, ps, pause/resume,
/// kill, delete, and nothing left behind.
#[test]
fn containerd_detached_task() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2");
    let c = Containerd::start();
    let id = unique("d");
    let r = rootfs();
    ok(
        c.run(
            &["-d", "--memory-limit", "67108864"],
            &["--rootfs", r.to_str().unwrap()],
            &id,
            &["sleep", "1000"],
        ),
        "run -d",
    );
    assert_eq!(c.task_status(&id), "RUNNING");
    assert!(
        c.hull_root().join(&c.ns).join(&id).is_dir(),
        "no hull state for {id}"
    );
    let v1 = Path::new("/sys/fs/cgroup/memory").join(&c.ns).join(&id);
    let limit = fs::read_to_string(v1.join("memory.limit_in_bytes")).or_else(|_| {
        fs::read_to_string(
            Path::new("/sys/fs/cgroup")
                .join(&c.ns)
                .join(&id)
                .join("memory.max"),
        )
    });
    assert_eq!(limit.unwrap().trim(), "67108864");
    let o = c.exec("e1", &id, &["sh", "-c", "echo in; exit 3"]);
    assert_eq!((code(&o), text(&o.stdout)), (3, "in\n".to_string()));
    let o = c.exec("e2", &id, &["/nope"]);
    assert_ne!(code(&o), 0);
    assert!(text(&o.stderr).contains("/nope"), "{}", describe(&o));
    let ps = ok(c.ctr(&["tasks", "ps", &id]), "tasks ps");
    assert_eq!(ps.lines().count(), 2, "{ps}");
    ok(c.ctr(&["tasks", "pause", &id]), "pause");
    assert_eq!(c.task_status(&id), "PAUSED");
    ok(c.ctr(&["tasks", "resume", &id]), "resume");
    assert_eq!(c.task_status(&id), "RUNNING");
    ok(c.ctr(&["tasks", "kill", "-s", "SIGKILL", &id]), "kill");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.task_status(&id) != "STOPPED" {
        assert!(Instant::now() < deadline, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(c.ctr(&["tasks", "delete", &id]), "tasks delete");
    ok(c.ctr(&["containers", "delete", &id]), "containers delete");
    c.assert_gone(&id);
}

/// Terminals (`run -t` and `tasks exec -t`: the shim takes the pty master over hull's
/// --console-socket), capabilities (`--cap-drop`), exec `--user`, a signal the task traps and
/// its exit code, and a graceful stop (SIGTERM, the task's own exit code).
#[test]
fn containerd_tty_caps_user_signals() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2", "script");
    let c = Containerd::start();
    let hull = hull_bin();
    let (root, fifos, r) = (c.hull_root(), c.fifo_dir(), rootfs());
    let id = unique("t");
    let o = c.ctr_in_pty(&[
        "run",
        "-t",
        "--rm",
        "--fifo-dir",
        fifos.to_str().unwrap(),
        "--runc-binary",
        hull.to_str().unwrap(),
        "--runc-root",
        root.to_str().unwrap(),
        "--rootfs",
        r.to_str().unwrap(),
        &id,
        "sh",
        "-c",
        "tty; test -t 0 && test -t 1 && echo both",
    ]);
    // The container's pty turns \n into \r\n; script's own pty may do it again (ctr leaves its
    // console cooked), and script echoes the end of its empty stdin (^@) somewhere.
    let out = ok(o, "run -t").replace("\r\r\n", "\r\n").replace("^@", "");
    assert!(out.ends_with("/dev/pts/0\r\nboth\r\n"), "{out:?}");
    c.assert_gone(&id);
    let out = ok(
        c.rootfs_run(
            &["--cap-drop", "CAP_SYS_CHROOT", "--cap-drop", "CAP_NET_RAW"],
            &id,
            &[
                "sh",
                "-c",
                "chroot / true 2>/dev/null || echo no-chroot; grep CapBnd /proc/self/status",
            ],
        ),
        "--cap-drop",
    );
    let bnd = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap();
    let bnd = u64::from_str_radix(bnd, 16).unwrap();
    assert!(out.starts_with("no-chroot\n"), "{out}");
    assert_eq!(
        bnd & (1 << 18 | 1 << 13),
        0,
        "CAP_SYS_CHROOT, CAP_NET_RAW left: {out}"
    );
    assert_ne!(bnd & (1 << 0), 0, "CAP_CHOWN dropped too: {out}");

    ok(
        c.run(
            &["-d"],
            &["--rootfs", r.to_str().unwrap()],
            &id,
            &[
                "sh",
                "-c",
                "trap 'exit 3' USR1; trap 'exit 4' TERM; while :; do sleep 0.1; done",
            ],
        ),
        "run -d",
    );
    let o = c.ctr_in_pty(&[
        "tasks",
        "exec",
        "-t",
        "--fifo-dir",
        fifos.to_str().unwrap(),
        "--exec-id",
        "t1",
        &id,
        "sh",
        "-c",
        "tty; test -t 1 && echo yes; sleep 1",
    ]);
    // (The sleep: ctr resizes the pty after the start, and an exec gone by then makes the shim
    // log "cannot resize a stopped container", with runc as with hull.)
    let out = ok(o, "exec -t").replace("\r\r\n", "\r\n").replace("^@", "");
    assert!(
        out.contains("/dev/pts/") && out.ends_with("\r\nyes\r\n"),
        "{out:?}"
    );
    let o = c.ctr(&[
        "tasks",
        "exec",
        "--fifo-dir",
        fifos.to_str().unwrap(),
        "--exec-id",
        "u1",
        "--user",
        "1000",
        &id,
        "id",
        "-u",
    ]);
    assert_eq!(ok(o, "exec --user"), "1000\n");
    ok(
        c.ctr(&["tasks", "kill", "-s", "SIGUSR1", &id]),
        "kill -s SIGUSR1",
    );
    assert_eq!(c.wait_exit(&id), 3);
    ok(c.ctr(&["containers", "delete", &id]), "containers delete");
    c.assert_gone(&id);

    // Graceful stop: `tasks kill` sends SIGTERM by default.
    ok(
        c.run(
            &["-d"],
            &["--rootfs", r.to_str().unwrap()],
            &id,
            &[
                "sh",
                "-c",
                "trap 'exit 4' TERM; while :; do sleep 0.1; done",
            ],
        ),
        "run -d",
    );
    std::thread::sleep(Duration::from_millis(300));
    ok(c.ctr(&["tasks", "kill", &id]), "kill");
    assert_eq!(c.wait_exit(&id), 4);
    ok(c.ctr(&["containers", "delete", &id]), "containers delete");
    c.assert_gone(&id);
}

/// An OCI image imported into containerd and run from its overlay snapshot.
#[test]
fn containerd_image() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2", "sha256sum");
    let c = Containerd::start();
    let tar = oci_image_tar(&c.dir);
    ok(
        c.ctr(&["images", "import", tar.to_str().unwrap()]),
        "images import",
    );
    let id = unique("i");
    let out = ok(
        c.run(
            &["--rm"],
            &[IMAGE],
            &id,
            &[
                "sh",
                "-c",
                "echo $PATH; grep -c '^overlay / overlay' /proc/mounts",
            ],
        ),
        "run image",
    );
    assert_eq!(out, "/bin\n1\n");
    c.assert_gone(&id);
    ok(c.ctr(&["images", "rm", IMAGE]), "images rm");
}

// ---------------------------------------------------------------------------------------------
// docker

/// One docker world at a time: dockerd writes a few host paths of its own (below), which the
/// test that created them removes.
static DOCKER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Host paths dockerd 20.10 creates whatever its flags: its trust key, and the plugin socket
/// dir (hard-coded).
const DOCKER_HOST_PATHS: [&str; 3] = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker"];

const DOCKER_IMAGE: &str = "hull-busybox";

struct Docker {
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
    fn start() -> Docker {
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
        while !(dk.sock.exists() && dk.docker(&["version"]).status.success()) {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                fs::read_to_string(dk.dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let tar = dk.dir.join("rootfs.tar");
        let o = Command::new("tar")
            .arg("-C")
            .arg(rootfs())
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .output()
            .unwrap();
        ok(o, "tar of the rootfs");
        ok(
            dk.docker(&["import", tar.to_str().unwrap(), DOCKER_IMAGE]),
            "docker import",
        );
        dk
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// hull's `--root` as the shim passes it: dockerd's `runtime-runc` dir plus the namespace.
    fn hull_root(&self) -> PathBuf {
        self.dir.join("exec/runtime-runc").join(&self.containerd.ns)
    }

    /// `docker run --rm` of `cmd` with `extra` options.
    fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend_from_slice(extra);
        a.push(DOCKER_IMAGE);
        a.extend_from_slice(cmd);
        self.docker(&a)
    }

    /// A detached container named `name` running `cmd`; returns its full id.
    fn run_detached(&self, name: &str, extra: &[&str], cmd: &[&str]) -> String {
        let mut a = vec!["run", "-d", "--name", name, "--network", "none"];
        a.extend_from_slice(extra);
        a.push(DOCKER_IMAGE);
        a.extend_from_slice(cmd);
        ok(self.docker(&a), "docker run -d").trim().to_string()
    }

    fn inspect(&self, format: &str, name: &str) -> String {
        ok(
            self.docker(&["inspect", "--format", format, name]),
            "docker inspect",
        )
        .trim()
        .to_string()
    }

    /// The container's cgroup directory in the hierarchy of `controller` (hybrid/legacy) or
    /// the unified one.
    fn cgroup_dir(&self, id: &str, controller: &str) -> PathBuf {
        let v1 = Path::new("/sys/fs/cgroup").join(controller);
        let base = if v1.is_dir() {
            v1
        } else {
            PathBuf::from("/sys/fs/cgroup")
        };
        base.join(self.cgroup_parent.trim_start_matches('/'))
            .join(id)
    }

    /// Wait until the container's log shows `needle` (its trap is set).
    fn wait_for_log(&self, name: &str, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = self.docker(&["logs", name]);
            if text(&o.stdout).contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log: {}",
                describe(&o)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `docker rm` and the leftover checks.
    fn remove(&self, name: &str, id: &str) {
        ok(self.docker(&["rm", name]), "docker rm");
        assert_gone(&self.hull_root(), id);
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
                let _ = self.docker(&["rm", "-f", id]);
            }
        }
        let _ = self.docker(&["rmi", "-f", DOCKER_IMAGE]);
        let pid = self.daemon.id() as libc::pid_t;
        // SAFETY: pid is our own unreaped child (dockerd), so it cannot have been reused.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.daemon.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.daemon.kill();
                let _ = self.daemon.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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

/// Foreground runs: output, the process's exit code, and docker's 127 for a missing command,
/// with hull's error (through the JSON log) in docker's message.
#[test]
fn docker_run_output_and_exit_codes() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    assert_eq!(ok(dk.run(&[], &["echo", "hi"]), "echo hi"), "hi\n");
    let o = dk.run(&[], &["sh", "-c", "exit 7"]);
    assert_eq!(code(&o), 7, "{}", describe(&o));
    let o = dk.run(&[], &["/nonexistent"]);
    assert_eq!(code(&o), 127, "{}", describe(&o));
    assert!(text(&o.stderr).contains("/nonexistent"), "{}", describe(&o));
    assert!(
        fs::read_dir(dk.hull_root()).map_or(true, |mut d| d.next().is_none()),
        "hull state left in {}",
        dk.hull_root().display()
    );
}

/// env, hostname, user, workdir, a read-only rootfs, and `--memory` seen in the container's
/// memory cgroup (cgroup namespace).
#[test]
fn docker_process_settings() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    let out = ok(
        dk.run(
            &[
                "-e",
                "FOO=bar",
                "--hostname",
                "hh",
                "-u",
                "1000:1001",
                "-w",
                "/tmp",
            ],
            &["sh", "-c", "echo $FOO $(hostname) $(id -u):$(id -g) $(pwd)"],
        ),
        "settings",
    );
    assert_eq!(out, "bar hh 1000:1001 /tmp\n");
    let o = dk.run(
        &["--read-only"],
        &[
            "sh",
            "-c",
            "touch /x 2>/dev/null && echo written || echo ro",
        ],
    );
    assert_eq!(ok(o, "--read-only"), "ro\n");
    let o = dk.run(
        &["--memory", "64m"],
        &[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
        ],
    );
    assert_eq!(ok(o, "--memory"), "67108864\n");
}

/// A detached container: its memory cgroup and `docker update`, exec (output, exit codes,
/// settings), top, stop after the timeout (SIGKILL), rm, and nothing left behind; then a
/// graceful stop of a process that traps SIGTERM.
#[test]
fn docker_detached_exec_update_stop() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    let name = unique("det");
    let id = dk.run_detached(&name, &["--memory", "64m"], &["sleep", "1000"]);
    assert_eq!(dk.inspect("{{.State.Status}}", &name), "running");
    assert!(dk.hull_root().join(&id).is_dir(), "no hull state for {id}");
    let mem = dk.cgroup_dir(&id, "memory");
    let limit = || {
        fs::read_to_string(mem.join("memory.limit_in_bytes"))
            .or_else(|_| fs::read_to_string(mem.join("memory.max")))
            .unwrap_or_else(|e| panic!("{}: {e}", mem.display()))
    };
    assert_eq!(limit().trim(), "67108864");
    ok(
        dk.docker(&["update", "--memory", "128m", "--memory-swap", "256m", &name]),
        "docker update",
    );
    assert_eq!(limit().trim(), "134217728");
    assert_eq!(
        ok(dk.docker(&["exec", &name, "echo", "in"]), "exec"),
        "in\n"
    );
    assert_eq!(code(&dk.docker(&["exec", &name, "sh", "-c", "exit 5"])), 5);
    // As with runc: 126, and dockerd writes the runtime's error into the attached stream.
    let o = dk.docker(&["exec", &name, "/nope"]);
    assert_eq!(code(&o), 126, "{}", describe(&o));
    assert!(
        text(&o.stdout).contains("\"/nope\": stat /nope: no such file"),
        "{}",
        describe(&o)
    );
    let out = ok(
        dk.docker(&[
            "exec",
            "-e",
            "A=1",
            "-u",
            "1000",
            "-w",
            "/tmp",
            &name,
            "sh",
            "-c",
            "echo $A $(id -u) $(pwd)",
        ]),
        "exec with settings",
    );
    assert_eq!(out, "1 1000 /tmp\n");
    ok(dk.docker(&["exec", "-d", &name, "sleep", "500"]), "exec -d");
    let top = ok(dk.docker(&["top", &name]), "top");
    assert!(
        top.contains("sleep 1000") && top.contains("sleep 500"),
        "{top}"
    );
    // sleep as pid 1 ignores SIGTERM: docker sends SIGKILL after the timeout.
    ok(dk.docker(&["stop", "-t", "1", &name]), "stop");
    assert_eq!(
        dk.inspect("{{.State.Status}} {{.State.ExitCode}}", &name),
        "exited 137"
    );
    dk.remove(&name, &id);

    let name = unique("term");
    let id = dk.run_detached(
        &name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 4' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    dk.wait_for_log(&name, "ready");
    let started = Instant::now();
    ok(dk.docker(&["stop", "-t", "30", &name]), "stop");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stop waited for the timeout"
    );
    assert_eq!(
        dk.inspect("{{.State.Status}} {{.State.ExitCode}}", &name),
        "exited 4"
    );
    let logs = dk.docker(&["logs", &name]);
    assert!(
        text(&logs.stdout).contains("got TERM"),
        "{}",
        describe(&logs)
    );
    dk.remove(&name, &id);
}

/// Terminals (`run -t`: the shim takes the pty master over hull's --console-socket; `exec -t`)
/// and capabilities (`--cap-drop all`, `--cap-add`) as the process sees them.
#[test]
fn docker_tty_and_caps() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    let out = ok(
        dk.run(
            &["-t"],
            &["sh", "-c", "tty; test -t 0 && test -t 1 && echo both"],
        ),
        "run -t",
    );
    assert_eq!(out, "/dev/pts/0\r\nboth\r\n");
    let out = ok(
        dk.run(
            &["--cap-drop", "all"],
            &[
                "sh",
                "-c",
                "grep CapEff /proc/self/status; chroot / true 2>/dev/null || echo no-chroot",
            ],
        ),
        "--cap-drop all",
    );
    assert_eq!(out, "CapEff:\t0000000000000000\nno-chroot\n");
    let out = ok(
        dk.run(
            &["--cap-drop", "all", "--cap-add", "net_admin"],
            &["sh", "-c", "ip link set lo up && echo up"],
        ),
        "--cap-add net_admin",
    );
    assert_eq!(out, "up\n");
    let name = unique("tty");
    let id = dk.run_detached(&name, &[], &["sleep", "1000"]);
    let out = ok(
        dk.docker(&[
            "exec",
            "-t",
            &name,
            "sh",
            "-c",
            "tty; test -t 1 && echo yes",
        ]),
        "exec -t",
    );
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert!(out.ends_with("\r\nyes\r\n"), "{out:?}");
    assert_eq!(
        code(&dk.docker(&["exec", "-t", &name, "sh", "-c", "exit 6"])),
        6
    );
    ok(dk.docker(&["kill", &name]), "kill");
    ok(dk.docker(&["wait", &name]), "wait");
    dk.remove(&name, &id);
}

/// pause/unpause (the freezer), kill with a signal the process traps, and the exit code.
#[test]
fn docker_pause_unpause_kill() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    let name = unique("pk");
    let id = dk.run_detached(
        &name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got USR1; exit 3' USR1; echo ready; while :; do sleep 0.1; done",
        ],
    );
    dk.wait_for_log(&name, "ready");
    ok(dk.docker(&["pause", &name]), "pause");
    assert_eq!(dk.inspect("{{.State.Status}}", &name), "paused");
    let freezer = dk.cgroup_dir(&id, "freezer").join("freezer.state");
    if freezer.exists() {
        assert_eq!(fs::read_to_string(&freezer).unwrap().trim(), "FROZEN");
    }
    assert_ne!(
        code(&dk.docker(&["exec", &name, "true"])),
        0,
        "exec into a paused container"
    );
    ok(dk.docker(&["unpause", &name]), "unpause");
    assert_eq!(dk.inspect("{{.State.Status}}", &name), "running");
    ok(dk.docker(&["kill", "-s", "USR1", &name]), "kill -s USR1");
    let waited = ok(dk.docker(&["wait", &name]), "wait");
    assert_eq!(waited.trim(), "3");
    let logs = dk.docker(&["logs", &name]);
    assert!(
        text(&logs.stdout).contains("got USR1"),
        "{}",
        describe(&logs)
    );
    dk.remove(&name, &id);
}
