//! A real unprivileged user as a test world, for tests of hull run by a user (rootless
//! containers): a user `hullrl<test pid>-<n>` with a group of its own, 65536 subordinate uids
//! and gids in /etc/subuid and /etc/subgid, a home and an `XDG_RUNTIME_DIR` of its own (0700),
//! made for the test binary and gone after it, with nothing else on the machine changed.
//!
//! [`RootlessUser::shared`] (the [`rootless_user!`] macro) makes one user per test binary,
//! lazily, on first use, and every test of the binary shares it; [`RootlessUser::make`] makes a
//! private one that goes when it is dropped. Tests run commands as the user with
//! [`RootlessUser::cmd`] and hull with a [`UserEnv`] (a directory of the user's with a `--root`
//! state dir path in it, bundles that `hull spec --rootless` wrote as the user).
//!
//! The world's directory, `$TMPDIR/hull-rootless-<test pid>-<n>` (root's, 0711), holds the
//! user's `home/` and `run/` (its `XDG_RUNTIME_DIR`), the tests' [`UserEnv`] directories, and
//! `etc/` (root's, 0700): the files of /etc the world changes, as they were.
//!
//! Making and teardown are the keeper's, `rootless_keeper.sh` (written into the world's
//! directory, run by `/bin/sh` in a session of its own; its header says how it leaves /etc as it
//! found it): it makes the user (`useradd`, no lastlog record, no skeleton, no subordinate ids
//! of useradd's choosing), appends the user's range to /etc/subuid and /etc/subgid (the first
//! 65536 ids from 100000 on that no range and no user or group has, the same for both), makes
//! the directories, says `user UID GID START COUNT`, and reads a pipe whose only writer is the
//! test process. At its end of file — the test process exited, panicked, aborted or was killed,
//! or dropped a private world — it SIGKILLs every process whose real or effective uid is the
//! user's or one of its subordinate uids (found by pid in /proc, until none is left), puts
//! /etc/subuid and /etc/subgid back, `userdel`s the user (and so its group), puts back the
//! account files' times and their `-` backups, and removes the world's directory. On a normal
//! exit an `atexit` handler closes the pipe and waits for the keeper, so the test binary ends
//! with its user gone.
//!
//! What the world relies on, checked when it is made (a user that cannot is a missing
//! prerequisite, with the path): every directory above `hull_bin()` and the repository's
//! `bundles/busybox/rootfs` lets others search it, and the binary and the busybox in the rootfs
//! let others read and run them (true of a checkout under /work, /home or /tmp with the usual
//! modes; not of one under /root); `$TMPDIR` lets others search it (/tmp does). Not checked:
//! that the kernel lets users make user namespaces (`user.max_user_namespaces` > 0;
//! tests/rootless.rs tests it), that newuidmap and newgidmap are setuid root (Debian's uidmap
//! package), that the accounts are in files (/etc/passwd, no LDAP or sssd).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};

use super::keeper::{self, Keeper, Unavailable};
use super::{hull_bin, is_gone, rootfs, status_field, text, Bundle};

/// The keeper's script, written into the world's directory and run by `/bin/sh`.
const KEEPER: &str = include_str!("rootless_keeper.sh");
/// The PATH of the user's processes (Debian's for users).
pub const USER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

static WORLDS: AtomicUsize = AtomicUsize::new(0);
static ENVS: AtomicUsize = AtomicUsize::new(0);
static SHARED: OnceLock<Result<RootlessUser, Unavailable>> = OnceLock::new();

/// The shared user of this test binary, or `return` from the test (skipped, or failed in CI, by
/// `skip_or_fail`) when a prerequisite is missing. Panics when the user could not be made.
#[macro_export]
macro_rules! rootless_user {
    () => {
        match $crate::common::rootless::RootlessUser::shared() {
            Some(u) => u,
            None => return,
        }
    };
}

/// An unprivileged user made for the tests (see the module doc).
pub struct RootlessUser {
    /// `hullrl<test pid>-<n>`, also its group's name.
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Its groups (`id -G`): its processes' supplementary groups, its own group alone.
    pub groups: Vec<u32>,
    /// The world's directory (root's).
    pub dir: PathBuf,
    /// Its home (its own, 0700, empty at first).
    pub home: PathBuf,
    /// Its `XDG_RUNTIME_DIR` (its own, 0700).
    pub runtime_dir: PathBuf,
    /// Its subordinate uids in /etc/subuid: (start, count).
    pub subuid: (u32, u32),
    /// Its subordinate gids in /etc/subgid: (start, count).
    pub subgid: (u32, u32),
    keeper: Keeper,
}

impl RootlessUser {
    /// The user shared by the tests of this binary, made on first use (see [`rootless_user!`]).
    /// `None` after `skip_or_fail` when a prerequisite is missing; a panic with what went wrong
    /// when it could not be made.
    pub fn shared() -> Option<&'static RootlessUser> {
        keeper::shared(
            &SHARED,
            "rootless world",
            RootlessUser::make,
            tear_down_shared,
        )
    }

    /// The shared user if a test of this binary made it (never makes one).
    pub fn existing() -> Option<&'static RootlessUser> {
        SHARED.get().and_then(|r| r.as_ref().ok())
    }

    /// Make a user of the caller's own, gone when dropped (or by [`Self::shut_down`]).
    pub fn make() -> Result<RootlessUser, Unavailable> {
        if let Some(why) = missing_prerequisite() {
            return Err(Unavailable::Missing(why));
        }
        let rootfs = rootfs();
        let (name, dir) = new_name_and_dir()?;
        let failed = |what: String| Unavailable::Failed(format!("rootless world {name}: {what}"));
        if let Err(e) = fs::write(dir.join("keeper.sh"), KEEPER) {
            let _ = fs::remove_dir_all(&dir);
            return Err(failed(format!("{}: {e}", dir.display())));
        }
        let mut script = Command::new("/bin/sh");
        script
            .arg(dir.join("keeper.sh"))
            .arg(&dir)
            .arg(&name)
            .env_clear()
            .env("PATH", keeper::PATH)
            .env("LANG", "C")
            .stderr(Stdio::inherit());
        let (keeper, first) = Keeper::start(&name, script).map_err(|e| {
            let _ = fs::remove_dir_all(&dir);
            failed(format!("/bin/sh: {e}"))
        })?;
        let said: Vec<u32> = first
            .strip_prefix("user ")
            .map(|f| f.split(' ').filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default();
        let &[uid, gid, start, count] = said.as_slice() else {
            let teardown = keeper.stop(Duration::from_secs(30));
            return Err(failed(format!(
                "the keeper said {first:?} (teardown: {teardown:?})"
            )));
        };
        let mut user = RootlessUser {
            name: name.clone(),
            uid,
            gid,
            groups: Vec::new(),
            home: dir.join("home"),
            runtime_dir: dir.join("run"),
            dir,
            subuid: (start, count),
            subgid: (start, count),
            keeper,
        };
        let groups = Command::new("id").arg("-G").arg(&name).output();
        let groups: Vec<u32> = groups
            .as_ref()
            .map(|o| text(&o.stdout))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|g| g.parse().ok())
            .collect();
        if groups.is_empty() {
            return Err(failed(format!("id -G {name}: {groups:?}")));
        }
        user.groups = groups;
        // What the world relies on (see the module doc), as the user sees it.
        let o = user
            .cmd("sh")
            .args(["-c", REACH, "sh"])
            .arg(hull_bin())
            .arg(&rootfs)
            .output()
            .map_err(|e| failed(format!("sh as {name}: {e}")))?;
        if !o.status.success() {
            let why = format!(
                "user {name} {}; every directory above needs o+x",
                text(&o.stdout).trim()
            );
            return Err(Unavailable::Missing(why));
        }
        Ok(user)
    }

    /// A command that runs `program` as the user: real, effective and saved uid and gid the
    /// user's, its groups as supplementary groups (none of root's), no capabilities; the
    /// environment only `PATH` ([`USER_PATH`]), `HOME`, `USER`, `LOGNAME`, `XDG_RUNTIME_DIR`
    /// (the world's) and `LANG=C`; cwd its home. The caller adds arguments and stdio.
    ///
    /// setgroups, setresgid and setresuid in the child (not `setpriv --reuid --regid
    /// --init-groups`): the environment is the Command's to the letter (setpriv's
    /// `--reset-env` would drop `XDG_RUNTIME_DIR` and `LANG`), no program runs in between (the
    /// child's pid is the program's, which `newuidmap PID` needs), and a refused switch fails
    /// the spawn with its errno instead of exiting with a status of setpriv's.
    pub fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        self.cmd_in(program, None)
    }

    /// [`Self::cmd`] placed first in the cgroup whose `cgroup.procs` is `procs` (root writes
    /// the process there before it becomes the user, as systemd places a user's session in a
    /// delegated subtree).
    pub fn cmd_in(&self, program: impl AsRef<OsStr>, procs: Option<&Path>) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", USER_PATH)
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("LANG", "C")
            .current_dir(&self.home);
        let (uid, gid) = (self.uid, self.gid);
        let groups: Vec<libc::gid_t> = self.groups.clone();
        let procs =
            procs.map(|p| std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap());
        // SAFETY: open, write, close, setgroups, setresgid and setresuid are async-signal-safe
        // system calls on memory the closure owns; the cgroup first (as root), then groups
        // before the gid before the uid (root's privilege is needed for each, and setresuid to a
        // user's uid drops it, capabilities too).
        unsafe {
            c.pre_exec(move || {
                if let Some(procs) = &procs {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, b"0\n".as_ptr().cast(), 2) != 2 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                    || libc::setresgid(gid, gid, gid) != 0
                    || libc::setresuid(uid, uid, uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        c
    }

    /// `sh -c script` as the user, to completion, its output captured (stdin null).
    pub fn sh(&self, script: &str) -> Output {
        self.cmd("sh")
            .args(["-c", script])
            .output()
            .unwrap_or_else(|e| panic!("sh as {}: {e}", self.name))
    }

    /// A test's hull as this user: a directory of the user's with a `--root` path in it, and
    /// the ids it hands out, deleted when it is dropped.
    pub fn env(&self) -> UserEnv<'_> {
        UserEnv::new(self)
    }

    /// Hand cgroup directory `dir` (made by the caller) to this world: the keeper removes it,
    /// and what is below it, at teardown, once the user's processes are gone — also when the
    /// test binary is killed before its own cleanup runs.
    pub fn own_cgroup(&self, dir: &Path) {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("cgroups"))
            .unwrap();
        writeln!(f, "{}", dir.display()).unwrap();
    }

    /// The pid of the world's keeper (a child of the test process until the world goes).
    pub fn keeper_pid(&self) -> u32 {
        self.keeper.pid()
    }

    /// Whether `pid` runs as this user or one of its subordinate uids (real or effective).
    pub fn owns(&self, pid: i32) -> bool {
        runs_as(pid, self.uid, self.subuid)
    }

    /// The processes (zombies aside) that run as this user or one of its subordinate uids.
    pub fn processes(&self) -> Vec<i32> {
        processes_of(self.uid, self.subuid)
    }

    /// A directory of the user's, mode 0700, at `path` (its parent must exist).
    fn make_dir(&self, path: &Path) {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(path)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }

    /// Close the keeper's pipe and wait (30 s at most) until it has taken the world down.
    fn stop(&self) -> Result<Duration, String> {
        self.keeper.stop(Duration::from_secs(30))
    }

    /// Take the world down now; how long it took. Panics when something could not be undone.
    pub fn shut_down(self) -> Duration {
        match self.stop() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }
}

impl Drop for RootlessUser {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{e}\n").as_bytes());
        }
    }
}

/// At the test binary's exit: the shared user goes before the binary does.
extern "C" fn tear_down_shared() {
    keeper::tear_down_at_exit(
        &SHARED,
        |u| format!("rootless world {}", u.name),
        RootlessUser::stop,
    );
}

/// Run as the user with the hull binary ($1) and the busybox rootfs ($2): says what the user
/// cannot reach, and fails, if anything.
const REACH: &str = r#"
ok=0
for d in "$HOME" "$XDG_RUNTIME_DIR"; do
    [ -w "$d" ] && [ -x "$d" ] || { echo "cannot use its directory $d"; ok=1; }
done
"$1" --version >/dev/null 2>&1 || { echo "cannot run $1"; ok=1; }
[ -x "$2/bin" ] && [ -r "$2/bin/busybox" ] && [ -x "$2/bin/busybox" ] || { echo "cannot read $2"; ok=1; }
exit $ok
"#;

/// What this host lacks for a rootless world, if anything.
fn missing_prerequisite() -> Option<String> {
    if !super::is_root() {
        return Some("needs root".into());
    }
    keeper::missing_tool(&[
        ("useradd", "passwd"),
        ("userdel", "passwd"),
        ("groupdel", "passwd"),
        ("newuidmap", "uidmap (make deps)"),
        ("newgidmap", "uidmap (make deps)"),
        ("setpriv", "util-linux"),
        ("unshare", "util-linux"),
        ("flock", "util-linux"),
    ])
}

/// A user name and a world directory (made here, root's, 0711) that no one has: a user or
/// directory a killed run left (its keeper killed too) keeps its name.
fn new_name_and_dir() -> Result<(String, PathBuf), Unavailable> {
    let pid = std::process::id();
    loop {
        let n = WORLDS.fetch_add(1, Ordering::SeqCst);
        let name = format!("hullrl{pid}-{n}");
        let dir = std::env::temp_dir().join(format!("hull-rootless-{pid}-{n}"));
        let known = Command::new("getent")
            .args(["passwd", &name])
            .output()
            .map_or(true, |o| o.status.code() != Some(2));
        if known {
            continue;
        }
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => return Ok((name, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Unavailable::Failed(format!(
                    "rootless world {name}: mkdir {}: {e}",
                    dir.display()
                )))
            }
        }
    }
}

/// Whether `pid` (no zombie) has a real or effective uid of `uid` or in `range` (start, count).
pub fn runs_as(pid: i32, uid: u32, range: (u32, u32)) -> bool {
    let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let ours = |u: u32| u == uid || (u >= range.0 && u - range.0 < range.1);
    let hit = status_field(&status, "Uid")
        .split_whitespace()
        .take(2)
        .filter_map(|u| u.parse().ok())
        .any(ours);
    hit && !is_gone(pid)
}

/// The processes (zombies aside) with a real or effective uid of `uid` or in `range`.
pub fn processes_of(uid: u32, range: (u32, u32)) -> Vec<i32> {
    let mut out: Vec<i32> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&pid| runs_as(pid, uid, range))
        .collect();
    out.sort_unstable();
    out
}

/// A test's hull as the user (compare `Env`): a directory of the user's (0700) with hull's
/// `--root` path in it (`state`, made by hull) and the test's bundles, and the ids it handed
/// out, force-deleted as the user (with and, once used, without `--root`) when it is dropped,
/// also when the test fails; then anything of theirs still running is killed and the directory
/// removed.
pub struct UserEnv<'u> {
    pub user: &'u RootlessUser,
    /// The user's (0700).
    pub dir: PathBuf,
    /// hull's `--root`: `dir/state`, not made (hull must make it).
    pub root: PathBuf,
    ids: RefCell<Vec<String>>,
    /// Whether hull ran without `--root` (its state under `$XDG_RUNTIME_DIR`).
    no_root: Cell<bool>,
}

impl<'u> UserEnv<'u> {
    fn new(user: &'u RootlessUser) -> UserEnv<'u> {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let dir = user.dir.join(format!("env-{n}"));
        user.make_dir(&dir);
        UserEnv {
            user,
            root: dir.join("state"),
            dir,
            ids: Default::default(),
            no_root: Cell::new(false),
        }
    }

    /// A fresh unique container id (force-deleted on drop).
    pub fn id(&self, tag: &str) -> String {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let id = format!("{tag}-{}-{n}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// `hull --root <root> args…` as the user, stdin null.
    pub fn hull_cmd(&self, args: &[&str]) -> Command {
        self.hull_cmd_at(Some(&self.root), args)
    }

    /// [`Self::hull_cmd`], run with its output captured.
    pub fn hull(&self, args: &[&str]) -> Output {
        output(self.hull_cmd(args))
    }

    /// `hull args…` as the user without `--root` (hull's default under `XDG_RUNTIME_DIR`, the
    /// world's, shared by the binary's tests), its output captured.
    pub fn hull_no_root(&self, args: &[&str]) -> Output {
        self.no_root.set(true);
        output(self.hull_cmd_at(None, args))
    }

    fn hull_cmd_at(&self, root: Option<&Path>, args: &[&str]) -> Command {
        let mut c = self.user.cmd(hull_bin());
        if let Some(root) = root {
            c.arg("--root").arg(root);
        }
        c.args(args).stdin(Stdio::null());
        c
    }

    /// A bundle directory of the user's: the config.json that `hull spec --rootless` writes
    /// when the user runs it (the user's file), with `process.args` = `args`, no terminal, and
    /// the repository's busybox rootfs (absolute path), read-only, as its root.
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let dir = self.dir.join(format!("bundle{n}"));
        self.user.make_dir(&dir);
        let mut spec = self.user.cmd(hull_bin());
        spec.args(["spec", "--rootless", "--bundle"])
            .arg(&dir)
            .stdin(Stdio::null());
        let o = output(spec);
        assert!(
            o.status.success(),
            "hull spec --rootless as {}: {}",
            self.user.name,
            text(&o.stderr)
        );
        let mut config: Value =
            serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
        config["process"]["args"] = args.iter().map(|a| Value::String(a.to_string())).collect();
        config["process"]["terminal"] = Value::Bool(false);
        config["root"] = json!({"path": rootfs(), "readonly": true});
        // The file is the user's: rewriting it keeps its owner.
        let b = Bundle { dir, config };
        b.save();
        b
    }
}

impl Drop for UserEnv<'_> {
    fn drop(&mut self) {
        let mut roots = vec![Some(self.root.clone())];
        if self.no_root.get() {
            roots.push(None);
        }
        for id in self.ids.borrow().iter() {
            for root in &roots {
                let state = output(self.hull_cmd_at(root.as_deref(), &["state", id]));
                let pid = serde_json::from_slice::<Value>(&state.stdout)
                    .ok()
                    .and_then(|s| s["pid"].as_i64());
                let _ = output(self.hull_cmd_at(root.as_deref(), &["delete", "--force", id]));
                if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                    if pid > 0 && self.user.owns(pid) {
                        // SAFETY: kill(2) of a process of the test user's, by its pid.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn output(mut c: Command) -> Output {
    c.output()
        .unwrap_or_else(|e| panic!("{:?}: {e}", c.get_program()))
}
