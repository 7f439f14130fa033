//! A real systemd host as a test world: this host's own /usr booted by `systemd-nspawn` with
//! systemd as PID 1, pure cgroup v2 and a system bus, for tests of hull on a host as users run
//! it (the systemd cgroup driver of issue #11, the cgroupfs driver on pure v2).
//!
//! [`SystemdWorld::shared`] boots one world per test binary, lazily, on first use, and every
//! test of the binary shares it; [`SystemdWorld::boot`] boots a private one that goes when it is
//! dropped. Tests run commands inside with [`SystemdWorld::cmd`] (`nsenter` into all of the
//! world's PID 1's namespaces, in the world's cgroup `/hull-tests`) and hull with a
//! [`WorldEnv`] (a `--root` state dir of its own in the world, bundles in the world's scratch
//! dir).
//!
//! Boot (`systemd-nspawn --keep-unit --register=no --volatile=yes -D / -b`, the environment
//! `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1`): the root is a tmpfs with the host's /usr read-only in
//! it; `--private-network` (a network namespace with only `lo`, no veth); keyctl allowed
//! (`--system-call-filter=@keyring`: runc makes session keyrings); bound in read-only at
//! the same paths: a machine-id made for the world at `/etc/machine-id` (without one systemd
//! takes the volatile /etc for a first boot and runs preset-all, enabling the host's docker,
//! containerd, postgresql units), a `DefaultTimeoutStopSec=3s` drop-in in
//! `/etc/systemd/system.conf.d` (the world halts in seconds), the repository (target/ with the
//! hull binary, bundles/), and the hull binary's directory when it lies elsewhere; bound
//! writable: the world's scratch dir, at the same path inside and out. systemd's command line:
//! `systemd.unit=multi-user.target systemd.firstboot=off`, console-getty and
//! systemd-machine-id-commit (which fails on a bound machine-id) masked. The system bus comes up
//! from /usr's static units. Ready means `systemctl is-system-running` says `running` or
//! `degraded` (the failed units are printed) and PID 1 answers on the system bus; a boot that
//! does not get there in [`boot_timeout`] fails with nspawn's console and the journal's tail.
//!
//! Host cgroups: nspawn starts in a cgroup of the world's own, `hull-world-PID-N` at the root of
//! the host's cgroup2 and, on hybrid hosts, of the name=systemd v1 hierarchy (nspawn takes its
//! path from there); it makes `payload/` (the world, its cgroup namespace root) and
//! `supervisor/` (nspawn) below. The controllers the host's cgroup2 offers are enabled for the
//! world there (only hugetlb on this project's CI host: v1 holds the others).
//!
//! Teardown cannot rely on Rust (statics are never dropped, and a test binary may be killed): a
//! keeper, `systemd_keeper.sh` (written into the world's directory, run by `/bin/sh` in a
//! session of its own, away from the terminal's ^C), starts nspawn and reads a pipe whose only
//! writer is the test process. At its end of file — the test process exited, panicked, aborted
//! or was killed, or dropped a private world — it halts the world (SIGTERM to nspawn: SIGRTMIN+3
//! to the world's systemd; again after 10 s: nspawn ends the world at once), SIGKILLs what is
//! left in the world's cgroup 5 s later (`cgroup.kill`), and removes the cgroups and the world's
//! directory. nspawn gets SIGTERM (PR_SET_PDEATHSIG) should the keeper itself be killed. On a
//! normal exit an `atexit` handler closes the pipe and waits for the keeper, so the test binary
//! ends with its world gone.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub use super::keeper::Unavailable;
use super::keeper::{self, Keeper, PATH};
use super::{hull_bin, repo, Bundle};

/// The keeper's script, written into the world's directory and run by `/bin/sh`.
const KEEPER: &str = include_str!("systemd_keeper.sh");
/// The world's cgroup (under its root) that [`SystemdWorld::cmd`] runs commands in.
pub const COMMANDS_CGROUP: &str = "/hull-tests";

static WORLDS: AtomicUsize = AtomicUsize::new(0);
static ENVS: AtomicUsize = AtomicUsize::new(0);
static SHARED: OnceLock<Result<SystemdWorld, Unavailable>> = OnceLock::new();

/// How long a boot may take before it fails: 60 s, or `HULL_SYSTEMD_WORLD_TIMEOUT` seconds.
pub fn boot_timeout() -> Duration {
    let secs = std::env::var("HULL_SYSTEMD_WORLD_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// The shared world of this test binary, or `return` from the test (skipped, or failed in CI,
/// by `skip_or_fail`) when a prerequisite is missing. Panics when the world failed to boot.
#[macro_export]
macro_rules! systemd_world {
    () => {
        match $crate::common::systemd::SystemdWorld::shared() {
            Some(w) => w,
            None => return,
        }
    };
}

/// A booted systemd world (see the module doc).
pub struct SystemdWorld {
    /// The machine name (also the world's hostname), `hull-world-<test pid>-<n>`.
    pub name: String,
    /// The host directory of the world's files (machine-id, drop-in, nspawn's console log).
    pub dir: PathBuf,
    /// Writable, at the same path on the host and in the world.
    pub scratch: PathBuf,
    /// The world's host cgroup2 directory (nspawn's `payload/` and `supervisor/` below it).
    pub cgroup: PathBuf,
    /// Its name=systemd v1 twin on hybrid hosts.
    pub cgroup_v1: Option<PathBuf>,
    /// The host directory of the world's cgroup2 root (its cgroup namespace's root).
    pub root_cgroup: PathBuf,
    /// systemd-nspawn's pid (host).
    pub nspawn: i32,
    /// The world's PID 1, systemd (host pid).
    pub leader: i32,
    /// From starting nspawn to ready.
    pub boot_time: Duration,
    /// `systemctl is-system-running` once ready: `running` or `degraded`.
    pub state: String,
    /// `<root_cgroup>/hull-tests/cgroup.procs` on the host, for `cmd`'s join.
    commands_procs: CString,
    keeper: Keeper,
}

impl SystemdWorld {
    /// The world shared by the tests of this binary, booted on first use (see
    /// [`systemd_world!`]). `None` after `skip_or_fail` when a prerequisite is missing; a panic
    /// with the boot's diagnostics when it failed to boot.
    pub fn shared() -> Option<&'static SystemdWorld> {
        keeper::shared(
            &SHARED,
            "systemd world",
            SystemdWorld::boot,
            tear_down_shared,
        )
    }

    /// Boot a world of the caller's own, torn down when dropped (or by [`Self::shut_down`]).
    pub fn boot() -> Result<SystemdWorld, Unavailable> {
        if let Some(why) = missing_prerequisite() {
            return Err(Unavailable::Missing(why));
        }
        let n = WORLDS.fetch_add(1, Ordering::SeqCst);
        let name = format!("hull-world-{}-{n}", std::process::id());
        let (v2_mount, v1_mount) = cgroup_mounts();
        let v2_mount = v2_mount.ok_or_else(|| Unavailable::Missing("no cgroup2 mount".into()))?;
        let dir = std::env::temp_dir().join(&name);
        let scratch = dir.join("scratch");
        prepare_dir(&dir, &scratch).map_err(|e| {
            let _ = fs::remove_dir_all(&dir);
            Unavailable::Failed(format!("systemd world {name}: {}: {e}", dir.display()))
        })?;
        let cgroup = v2_mount.join(&name);
        let cgroup_v1 = v1_mount.map(|m| m.join(&name));

        let started = Instant::now();
        let mut script = Command::new("/bin/sh");
        script
            .arg(dir.join("keeper.sh"))
            .arg(&cgroup)
            .arg(format!("/{name}"))
            .arg(cgroup_v1.as_deref().unwrap_or(Path::new("")))
            .arg(&dir)
            .arg(&name)
            .args(nspawn_argv(&name, &dir, &scratch))
            .env_clear()
            .env("PATH", PATH)
            .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1")
            .env("TERM", "dumb")
            .stderr(Stdio::inherit());
        let (keeper, first) = Keeper::start(&name, script).map_err(|e| {
            let _ = fs::remove_dir_all(&dir);
            Unavailable::Failed(format!("systemd world {name}: /bin/sh: {e}"))
        })?;
        let mut world = SystemdWorld {
            name: name.clone(),
            dir,
            scratch,
            cgroup,
            cgroup_v1,
            root_cgroup: PathBuf::new(),
            nspawn: 0,
            leader: 0,
            boot_time: Duration::ZERO,
            state: String::new(),
            commands_procs: CString::default(),
            keeper,
        };
        let Some(pid) = first.strip_prefix("nspawn ").and_then(|p| p.parse().ok()) else {
            return Err(world.failed(&format!("the keeper said {first:?}")));
        };
        world.nspawn = pid;
        let deadline = started + boot_timeout();
        if let Err(e) = world.wait_ready(&v2_mount, deadline) {
            return Err(world.failed(&e));
        }
        world.boot_time = started.elapsed();
        let msg = format!(
            "systemd world {}: {} in {:.2} s (nspawn {}, PID 1 = {}, host cgroup {})\n",
            world.name,
            world.state,
            world.boot_time.as_secs_f64(),
            world.nspawn,
            world.leader,
            world.cgroup.display()
        );
        let _ = std::io::stderr().write_all(msg.as_bytes());
        Ok(world)
    }

    /// Until the world is up: PID 1 found, the controllers enabled, `/hull-tests` made, systemd
    /// done starting and on the system bus.
    fn wait_ready(&mut self, v2_mount: &Path, deadline: Instant) -> Result<(), String> {
        let late = |what: &str| format!("not ready within {:?}: {what}", boot_timeout());
        // PID 1: the child of nspawn whose pid is 1 in its own pid namespace, once it runs
        // systemd (before its execve it is nspawn's, its mounts half made).
        while self.leader == 0 {
            if super::is_gone(self.nspawn) {
                return Err("systemd-nspawn exited".into());
            }
            self.leader = leader_of(self.nspawn).unwrap_or(0);
            if Instant::now() > deadline {
                return Err(late("no PID 1 in the world"));
            }
            sleep_a_bit();
        }
        // The world's cgroup root: the root of the cgroup2 mount nspawn made in it, which
        // mountinfo shows relative to the reader's (our) cgroup namespace.
        let root = loop {
            if let Some(r) = world_cgroup_root(self.leader) {
                break r;
            }
            if super::is_gone(self.leader) {
                return Err("the world's PID 1 exited".into());
            }
            if Instant::now() > deadline {
                return Err(late("no cgroup2 mount in the world"));
            }
            sleep_a_bit();
        };
        self.root_cgroup = v2_mount.join(root.trim_start_matches('/'));
        // nspawn has left the world's top cgroup for supervisor/ once the world runs; the
        // host's controllers can then be enabled below it (no process may sit in a cgroup that
        // hands controllers down).
        let offered =
            fs::read_to_string(self.cgroup.join("cgroup.controllers")).unwrap_or_default();
        let enable: String = offered
            .split_whitespace()
            .map(|c| format!("+{c} "))
            .collect();
        if !enable.is_empty() {
            loop {
                match fs::write(self.cgroup.join("cgroup.subtree_control"), enable.trim()) {
                    Ok(()) => break,
                    Err(e) if Instant::now() > deadline => {
                        return Err(late(&format!(
                            "{} in {}/cgroup.subtree_control: {e}",
                            enable.trim(),
                            self.cgroup.display()
                        )))
                    }
                    Err(_) => sleep_a_bit(),
                }
            }
        }
        let commands = self
            .root_cgroup
            .join(COMMANDS_CGROUP.trim_start_matches('/'));
        fs::create_dir(&commands).map_err(|e| format!("mkdir {}: {e}", commands.display()))?;
        self.commands_procs = CString::new(
            commands
                .join("cgroup.procs")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        // systemd done starting, and on the system bus.
        loop {
            let o = self.output(&["systemctl", "is-system-running"]);
            let state = super::text(&o.stdout).trim().to_string();
            if state == "running" || state == "degraded" {
                self.state = state;
                break;
            }
            // offline: systemd does not answer yet (early boot).
            let booting = matches!(state.as_str(), "offline" | "initializing" | "starting" | "");
            if !booting {
                return Err(format!("systemctl is-system-running: {state:?}"));
            }
            if Instant::now() > deadline {
                return Err(late(&format!("systemctl is-system-running: {state:?}")));
            }
            sleep_a_bit();
        }
        let ping = [
            "busctl",
            "--system",
            "call",
            "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1",
            "org.freedesktop.DBus.Peer",
            "Ping",
        ];
        loop {
            let o = self.output(&ping);
            if o.status.success() {
                break;
            }
            if Instant::now() > deadline {
                return Err(late(&format!(
                    "systemd does not answer on the system bus: {}",
                    super::text(&o.stderr).trim()
                )));
            }
            sleep_a_bit();
        }
        if self.state == "degraded" {
            let failed = self.output(&[
                "systemctl",
                "list-units",
                "--failed",
                "--plain",
                "--no-legend",
            ]);
            let msg = format!(
                "systemd world {}: degraded; failed units:\n{}",
                self.name,
                super::text(&failed.stdout)
            );
            let _ = std::io::stderr().write_all(msg.as_bytes());
        }
        Ok(())
    }

    /// Tear a world that did not boot down and say why, with nspawn's console and the journal.
    fn failed(&self, why: &str) -> Unavailable {
        let journal = if self.leader != 0 && !self.commands_procs.is_empty() {
            self.journal(40)
        } else {
            "(no journal: the world has no PID 1)".to_string()
        };
        let console = tail(
            &fs::read_to_string(self.dir.join("nspawn.log")).unwrap_or_default(),
            40,
        );
        let teardown = match self.stop() {
            Ok(d) => format!("torn down in {:.2} s", d.as_secs_f64()),
            Err(e) => e,
        };
        Unavailable::Failed(format!(
            "systemd world {} did not boot: {why}\n--- systemd-nspawn's console (tail) ---\n{console}\n\
             --- the world's journal (tail) ---\n{journal}\n--- teardown: {teardown}",
            self.name
        ))
    }

    /// A command run inside the world: `nsenter` into every namespace of its PID 1 (mount, pid,
    /// net, ipc, uts, cgroup, time; user only where it differs), in the world's cgroup
    /// `/hull-tests`, with cwd `/`, stdin null and only `PATH`, `HOME=/root` and
    /// `LANG=C.UTF-8` in the environment. The pid of the spawned child is nsenter's; the
    /// command runs as its child.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.leader.to_string())
            .arg("-a")
            .arg("--")
            .args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        let procs = self.commands_procs.clone();
        // SAFETY: open/write/close of a path prepared before the fork: async-signal-safe. The
        // child joins the world's /hull-tests from the host's side, before nsenter enters the
        // world's cgroup namespace (a process outside a namespace's root cannot move in).
        unsafe {
            c.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, b"0".as_ptr().cast(), 1);
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                if n != 1 {
                    return Err(err);
                }
                Ok(())
            });
        }
        c
    }

    /// [`Self::cmd`], run to completion with its output captured.
    pub fn output<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.cmd(args)
            .output()
            .unwrap_or_else(|e| panic!("nsenter into systemd world {}: {e}", self.name))
    }

    /// `sh -c script` in the world; its stdout. Panics unless it exits 0.
    pub fn sh(&self, script: &str) -> String {
        let o = self.output(&["sh", "-c", script]);
        assert!(
            o.status.success(),
            "in systemd world {}: {script}: {}\nstdout: {}\nstderr: {}",
            self.name,
            o.status,
            super::text(&o.stdout),
            super::text(&o.stderr)
        );
        super::text(&o.stdout)
    }

    /// A file of the world (a path inside it); panics when it cannot be read.
    pub fn read(&self, path: &str) -> String {
        let o = self.output(&["cat", path]);
        assert!(
            o.status.success(),
            "in systemd world {}: cat {path}: {}",
            self.name,
            super::text(&o.stderr).trim()
        );
        super::text(&o.stdout)
    }

    /// Whether a path exists in the world.
    pub fn exists(&self, path: &str) -> bool {
        self.output(&["test", "-e", path]).status.success()
    }

    /// `systemctl show UNIT -p P…` in the world: property → value.
    pub fn show(&self, unit: &str, props: &[&str]) -> BTreeMap<String, String> {
        let mut args = vec!["systemctl", "show", unit];
        for p in props {
            args.extend(["-p", p]);
        }
        let o = self.output(&args);
        assert!(
            o.status.success(),
            "in systemd world {}: systemctl show {unit}: {}",
            self.name,
            super::text(&o.stderr).trim()
        );
        super::text(&o.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// One property of a unit (`systemctl show -P PROP UNIT`).
    pub fn show1(&self, unit: &str, prop: &str) -> String {
        self.show(unit, &[prop]).remove(prop).unwrap_or_default()
    }

    /// The last `lines` lines of the world's journal (`journalctl -b -n LINES`).
    pub fn journal(&self, lines: usize) -> String {
        let n = lines.to_string();
        let o = self.output(&["journalctl", "-b", "--no-pager", "-n", &n]);
        super::text(&o.stdout)
    }

    /// A test's hull in this world: a state root of its own, bundles in the scratch dir.
    pub fn env(&self) -> WorldEnv<'_> {
        WorldEnv::new(self)
    }

    /// The host path of a cgroup of the world (`/hull/x` → `<root_cgroup>/hull/x`).
    pub fn host_cgroup(&self, path_in_world: &str) -> PathBuf {
        self.root_cgroup.join(path_in_world.trim_start_matches('/'))
    }

    /// Close the keeper's pipe and wait (60 s at most) until it has torn the world down: how
    /// long that took, or what went wrong. Idempotent.
    fn stop(&self) -> Result<Duration, String> {
        self.keeper.stop(Duration::from_secs(60))
    }

    /// Tear the world down now; how long it took. Panics when something could not be removed.
    pub fn shut_down(self) -> Duration {
        match self.stop() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }
}

impl Drop for SystemdWorld {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            let _ = std::io::stderr().write_all(format!("{e}\n").as_bytes());
        }
    }
}

/// At the test binary's exit: the shared world goes before the binary does.
extern "C" fn tear_down_shared() {
    keeper::tear_down_at_exit(
        &SHARED,
        |w| format!("systemd world {}", w.name),
        SystemdWorld::stop,
    );
}

/// What this host lacks for a world, if anything.
fn missing_prerequisite() -> Option<String> {
    if !super::is_root() {
        return Some("needs root".into());
    }
    if let Some(why) = keeper::missing_tool(&[
        ("systemd-nspawn", "systemd-container (make deps)"),
        ("nsenter", "util-linux"),
        ("setpriv", "util-linux"),
        ("busctl", "systemd"),
    ]) {
        return Some(why);
    }
    if !Path::new("/usr/lib/systemd/systemd").exists() {
        return Some("no /usr/lib/systemd/systemd to boot".into());
    }
    None
}

/// The host's cgroup2 mount and, on hybrid hosts, its name=systemd v1 mount (mounts of a
/// hierarchy's root only).
fn cgroup_mounts() -> (Option<PathBuf>, Option<PathBuf>) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let (mut v2, mut v1) = (None, None);
    for l in info.lines() {
        let Some((pre, post)) = l.split_once(" - ") else {
            continue;
        };
        let f: Vec<&str> = pre.split(' ').collect();
        let p: Vec<&str> = post.split(' ').collect();
        if f.len() < 5 || p.len() < 3 || f[3] != "/" {
            continue;
        }
        if p[0] == "cgroup2" && v2.is_none() {
            v2 = Some(PathBuf::from(f[4]));
        }
        if p[0] == "cgroup" && p[2].split(',').any(|o| o == "name=systemd") && v1.is_none() {
            v1 = Some(PathBuf::from(f[4]));
        }
    }
    (v2, v1)
}

/// The world's files: the keeper's script, machine-id, the stop-timeout drop-in, the scratch
/// dir.
fn prepare_dir(dir: &Path, scratch: &Path) -> std::io::Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(scratch)?;
    fs::write(dir.join("keeper.sh"), KEEPER)?;
    fs::create_dir(dir.join("system.conf.d"))?;
    fs::write(
        dir.join("system.conf.d/hull-world.conf"),
        "# hull's systemd test world: halt in seconds\n[Manager]\nDefaultTimeoutStopSec=3s\n",
    )?;
    let mut id = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut id)?;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    fs::write(dir.join("machine-id"), format!("{hex}\n"))
}

/// systemd-nspawn's command line (see the module doc).
fn nspawn_argv(name: &str, dir: &Path, scratch: &Path) -> Vec<String> {
    let d = dir.display();
    let mut v: Vec<String> = [
        "systemd-nspawn",
        "--keep-unit",
        "--register=no",
        "--volatile=yes",
        "--directory=/",
        "--boot",
        "--private-network",
        "--console=read-only",
        "--link-journal=no",
        "--resolv-conf=off",
        "--timezone=off",
        // nspawn's seccomp filter refuses keyctl (EPERM): runc makes each container a session
        // keyring and fails without it (tests/cri_systemd runs runc's handler beside hull's).
        "--system-call-filter=@keyring bpf",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("--machine={name}"));
    v.push(format!("--bind-ro={d}/machine-id:/etc/machine-id"));
    v.push(format!(
        "--bind-ro={d}/system.conf.d:/etc/systemd/system.conf.d"
    ));
    let repo = repo();
    v.push(format!("--bind-ro={}", repo.display()));
    let bin = hull_bin();
    if let Some(bin_dir) = bin.parent() {
        if !bin.starts_with(&repo) && !bin.starts_with("/usr") {
            v.push(format!("--bind-ro={}", bin_dir.display()));
        }
    }
    v.push(format!("--bind={}", scratch.display()));
    v.extend(
        [
            "systemd.unit=multi-user.target",
            "systemd.firstboot=off",
            "systemd.mask=console-getty.service",
            "systemd.mask=systemd-machine-id-commit.service",
            "systemd.status_unit_format=name",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

/// The child of `nspawn` that is PID 1 of a pid namespace of its own and runs systemd.
fn leader_of(nspawn: i32) -> Option<i32> {
    let children = fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|c| c.parse::<i32>().ok())
        .find(|c| {
            fs::read_to_string(format!("/proc/{c}/status")).is_ok_and(|s| {
                let ns: Vec<&str> = super::status_field(&s, "NSpid")
                    .split_whitespace()
                    .collect();
                ns.len() > 1 && ns.last() == Some(&"1")
            }) && fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|c| c.trim() == "systemd")
        })
}

/// The root of the cgroup2 mount at /sys/fs/cgroup of process `pid`, as our cgroup namespace
/// names it.
fn world_cgroup_root(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .ok()?
        .lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            (post.starts_with("cgroup2 ") && f.get(4) == Some(&"/sys/fs/cgroup"))
                .then(|| f[3].to_string())
        })
}

fn sleep_a_bit() {
    std::thread::sleep(Duration::from_millis(20));
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A test's hull in a world (compare `Env`): a `--root` state dir in the world
/// (`/run/hull-test/<n>`), a directory for its bundles in the world's scratch dir (the same path
/// on both sides, so the test writes bundles with `std::fs`), and the ids it made, force-deleted
/// with the state dir and the bundles when it is dropped, also when the test fails.
pub struct WorldEnv<'w> {
    pub world: &'w SystemdWorld,
    /// Bundles (same path in and out of the world).
    pub dir: PathBuf,
    /// hull's `--root`, a path in the world.
    pub root: String,
    ids: RefCell<Vec<String>>,
}

impl<'w> WorldEnv<'w> {
    fn new(world: &'w SystemdWorld) -> WorldEnv<'w> {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let dir = world.scratch.join(format!("test-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        WorldEnv {
            world,
            dir,
            root: format!("/run/hull-test/{n}"),
            ids: Default::default(),
        }
    }

    /// A fresh unique container id (force-deleted on drop).
    pub fn id(&self, tag: &str) -> String {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let id = format!("{tag}-{}-{n}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// A copy of bundles/busybox/config.json running `args` on the shared busybox rootfs
    /// (bound read-only into the world at its host path).
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        Bundle::busybox(self.dir.join(format!("bundle{n}")), args)
    }

    /// `hull --root <root> args…` in the world (the binary the other tests run, `hull_bin`).
    pub fn hull_cmd(&self, args: &[&str]) -> Command {
        let bin = hull_bin();
        let mut all: Vec<&OsStr> = vec![bin.as_os_str(), "--root".as_ref(), self.root.as_ref()];
        all.extend(args.iter().map(|a| OsStr::new(*a)));
        self.world.cmd(&all)
    }

    /// [`Self::hull_cmd`], run with its output captured.
    pub fn hull(&self, args: &[&str]) -> Output {
        self.hull_cmd(args).output().unwrap()
    }

    /// `hull run` in the foreground: (exit code, stdout, stderr).
    pub fn run(&self, b: &Bundle, id: &str) -> (i32, String, String) {
        let o = self.hull(&["run", "--bundle", b.dir.to_str().unwrap(), id]);
        (
            o.status.code().unwrap_or(-1),
            super::text(&o.stdout),
            super::text(&o.stderr),
        )
    }

    /// `hull create` that must succeed; the container's stdout and stderr go to the files
    /// `stdout` and `stderr` in the bundle dir (a pipe would stay open as long as the
    /// container lives).
    pub fn create_ok(&self, b: &Bundle, id: &str) {
        let out = fs::File::create(b.dir.join("stdout")).unwrap();
        let err = fs::File::create(b.dir.join("stderr")).unwrap();
        let st = self
            .hull_cmd(&["create", "--bundle", b.dir.to_str().unwrap(), id])
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap();
        assert!(
            st.success(),
            "create {id} in systemd world {}: {st}: {}",
            self.world.name,
            fs::read_to_string(b.dir.join("stderr")).unwrap_or_default()
        );
    }

    /// The parsed `hull state`.
    pub fn state(&self, id: &str) -> Value {
        let o = self.hull(&["state", id]);
        assert!(o.status.success(), "state {id}: {}", super::text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for WorldEnv<'_> {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.hull(&["delete", "--force", id]);
        }
        let _ = self.world.output(&["rm", "-rf", &self.root]);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A podman configuration in `dir` that runs hull under systemd's cgroup manager: a
/// `hull-runtime` wrapper (hull with its state in `dir/hull`) and `containers.conf` naming it
/// (`CONTAINERS_CONF`). `pids_limit = 0`: podman's default pids limit needs a pids controller,
/// which the systemd world lacks. Returns the path of `containers.conf`.
pub fn podman_conf(dir: &Path) -> PathBuf {
    let runtime = dir.join("hull-runtime");
    fs::write(
        &runtime,
        format!(
            "#!/bin/sh\nexec '{}' --root '{}/hull' \"$@\"\n",
            hull_bin().display(),
            dir.display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let conf = dir.join("containers.conf");
    fs::write(
        &conf,
        format!(
            "[containers]\npids_limit = 0\n[engine]\ncgroup_manager = \"systemd\"\n\
             events_logger = \"file\"\nruntime = \"hull\"\nruntime_supports_json = [\"hull\"]\n\
             [engine.runtimes]\nhull = [\"{}\"]\n",
            runtime.display()
        ),
    )
    .unwrap();
    conf
}
