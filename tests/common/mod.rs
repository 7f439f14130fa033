//! Test harness: every test gets its own `--root` state dir and bundle dir under a temp dir,
//! unique container ids, and a guard that force-deletes its containers and removes its dirs
//! even when the test fails. Containers come from `bundles/busybox` (rootfs built by `make
//! bundles`); tests edit a copy of its config.json.
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// The keeper process and the once-per-binary world that the test worlds below share.
pub mod keeper;
/// A real unprivileged user (subordinate ids, XDG_RUNTIME_DIR) made once per test binary that
/// uses it.
pub mod rootless;
/// A real systemd host (systemd-nspawn, pure cgroup v2) booted once per test binary that uses it.
pub mod systemd;
/// An unprivileged user with its own systemd user manager and bus, made inside a systemd world.
pub mod systemd_user;
/// A KVM virtual machine booting systemd on pure cgroup v2 with every controller.
pub mod vm;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A test that cannot run here, for `reason`: in CI (`CI=true`) a missing prerequisite is a
/// failure, so this panics; elsewhere it says `skipped: <reason>` and the caller returns.
#[track_caller]
pub fn skip_or_fail(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}, and CI must run this test");
    }
    // Straight to fd 2: libtest captures eprintln!, and a skip must be seen.
    let msg = format!("skipped: {reason}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
}

/// Return from the test unless `cond` holds: skipped, or failed in CI, with the reason (format
/// arguments), by [`skip_or_fail`].
#[macro_export]
macro_rules! require {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            $crate::common::skip_or_fail(&format!($($reason)+));
            return;
        }
    };
}

/// Skip (outside CI) or fail (in CI) when not root.
#[macro_export]
macro_rules! require_root {
    () => {
        $crate::require!($crate::common::is_root(), "needs root")
    };
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The runtime under test: the binary at `HULL_TEST_RUNTIME` (an absolute path) when set —
/// `make test` sets it to the release binary `make build` makes, the one that ships (static,
/// musl); /usr/sbin/runc points the same scenarios at another runtime — else cargo's build of
/// this tree's hull.
pub fn hull_bin() -> PathBuf {
    match std::env::var_os("HULL_TEST_RUNTIME") {
        Some(other) if !other.is_empty() => PathBuf::from(other),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_hull")),
    }
}

pub fn rootfs() -> PathBuf {
    let p = repo().join("bundles/busybox/rootfs");
    assert!(
        p.join("bin/busybox").exists(),
        "{} is missing: run `make bundles`",
        p.display()
    );
    p
}

/// A per-test sandbox: a state root, bundles, and the ids it created.
pub struct Env {
    pub dir: PathBuf,
    pub root: PathBuf,
    ids: std::cell::RefCell<Vec<String>>,
}

impl Env {
    pub fn new() -> Env {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("hull-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let root = dir.join("state");
        Env {
            dir,
            root,
            ids: Default::default(),
        }
    }

    /// A fresh unique container id (deleted by the guard).
    pub fn id(&self, tag: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let id = format!("{tag}-{}-{n}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// A bundle dir with a copy of bundles/busybox/config.json whose rootfs is the shared
    /// busybox rootfs, running `args`.
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        Bundle::busybox(self.dir.join(format!("bundle{n}")), args)
    }

    /// `hull --root <root> args...`, capturing output.
    pub fn hull(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// The command, for callers that need custom stdio.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(hull_bin());
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// `hull create` with stdio of the container sent to files in the env dir (a pipe would
    /// stay open as long as the container lives). Returns (output of create, stdout file).
    pub fn create(&self, b: &Bundle, id: &str) -> (Output, PathBuf) {
        self.create_args(&[], b, id)
    }

    /// [`Env::create`] with `extra` flags of create's.
    pub fn create_args(&self, extra: &[&str], b: &Bundle, id: &str) -> (Output, PathBuf) {
        let out = self.dir.join(format!("{id}.out"));
        let err = self.dir.join(format!("{id}.err"));
        let mut args = vec!["create"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--bundle", b.dir.to_str().unwrap(), id]);
        let o = self
            .cmd(&args)
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .output()
            .unwrap();
        let mut o = o;
        o.stderr = fs::read(&err).unwrap_or_default();
        (o, out)
    }

    /// create that must succeed.
    pub fn create_ok(&self, b: &Bundle, id: &str) -> PathBuf {
        let (o, out) = self.create(b, id);
        assert!(
            o.status.success(),
            "create {id} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    /// `hull run` in the foreground: (exit code, stdout, stderr).
    pub fn run(&self, b: &Bundle, id: &str) -> (i32, String, String) {
        let o = self.hull(&["run", "--bundle", b.dir.to_str().unwrap(), id]);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    /// `run` a shell snippet in a bundle derived from the default one, edited by `edit`;
    /// returns stdout and asserts exit 0.
    pub fn sh(&self, script: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut b = self.bundle(&["sh", "-c", script]);
        edit(&mut b.config);
        b.save();
        let id = self.id("sh");
        let (code, out, err) = self.run(&b, &id);
        assert_eq!(
            code, 0,
            "script failed ({code}): {script}\nstdout: {out}\nstderr: {err}"
        );
        out
    }

    /// The parsed `hull state`.
    pub fn state(&self, id: &str) -> Value {
        let o = self.hull(&["state", id]);
        assert!(
            o.status.success(),
            "state {id}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }

    /// Wait until the container reaches `status` (bounded).
    pub fn wait_status(&self, id: &str, status: &str) {
        for _ in 0..500 {
            if self.status(id) == status {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{id} never became {status} (is {})", self.status(id));
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.cmd(&["delete", "--force", id]).output();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A test bundle: a directory with config.json.
pub struct Bundle {
    pub dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    /// A bundle at `dir` (made) with a copy of bundles/busybox/config.json whose rootfs is the
    /// shared busybox rootfs (absolute path), running `args`.
    pub fn busybox(dir: PathBuf, args: &[&str]) -> Bundle {
        fs::create_dir_all(&dir).unwrap();
        let mut config: Value = serde_json::from_str(
            &fs::read_to_string(repo().join("bundles/busybox/config.json")).unwrap(),
        )
        .unwrap();
        config["root"]["path"] = Value::String(rootfs().to_string_lossy().into_owned());
        config["process"]["args"] = args.iter().map(|a| Value::String(a.to_string())).collect();
        let b = Bundle { dir, config };
        b.save();
        b
    }

    pub fn save(&self) {
        fs::write(
            self.dir.join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Edit the config and save it.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.save();
        self
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The inode of a namespace link, e.g. `ns_inode("/proc/self/ns/pid")`.
pub fn ns_inode(path: &str) -> String {
    fs::read_link(path).unwrap().to_string_lossy().into_owned()
}

/// Directories under /sys/fs/cgroup whose name contains `needle` (leak checks).
pub fn cgroup_dirs_named(needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(p: &Path, needle: &str, depth: usize, out: &mut Vec<PathBuf>) {
        if depth > 5 {
            return;
        }
        if let Ok(rd) = fs::read_dir(p) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    let path = e.path();
                    if path.file_name().unwrap().to_string_lossy().contains(needle) {
                        out.push(path.clone());
                    }
                    walk(&path, needle, depth + 1, out);
                }
            }
        }
    }
    walk(Path::new("/sys/fs/cgroup"), needle, 0, &mut out);
    out
}

/// Mount points mentioning `needle` in our mountinfo (leak checks).
pub fn mounts_mentioning(needle: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(String::from)
        .collect()
}

/// Assert nothing of container `id` is left: state dir, cgroups, mounts.
pub fn assert_no_leftovers(env: &Env, id: &str) {
    assert!(!env.root.join(id).exists(), "state dir of {id} left behind");
    let cg = cgroup_dirs_named(id);
    assert!(cg.is_empty(), "cgroups of {id} left behind: {cg:?}");
    let m = mounts_mentioning(id);
    assert!(m.is_empty(), "mounts of {id} left behind: {m:?}");
}

/// A path as a C string.
pub fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// A tmpfs mounted on the host by the test, detached when dropped (declare it after the `Env`
/// so it goes first).
pub struct HostMount(pub PathBuf);

impl HostMount {
    pub fn tmpfs(p: &Path) -> HostMount {
        std::fs::create_dir_all(p).unwrap();
        let (src, fs) = (c"tmpfs", c"tmpfs");
        let t = cstr(p);
        // SAFETY: mount(2) with valid C strings and no data.
        let r = unsafe { libc::mount(src.as_ptr(), t.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
        assert_eq!(
            r,
            0,
            "mount tmpfs on {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        );
        HostMount(p.to_path_buf())
    }

    /// Make the mount shared (its own peer group).
    pub fn make_shared(&self) {
        let t = cstr(&self.0);
        // SAFETY: propagation change on a mount point we created.
        let r = unsafe {
            libc::mount(
                std::ptr::null(),
                t.as_ptr(),
                std::ptr::null(),
                libc::MS_SHARED,
                std::ptr::null(),
            )
        };
        assert_eq!(
            r,
            0,
            "make {} shared: {}",
            self.0.display(),
            std::io::Error::last_os_error()
        );
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let t = cstr(&self.0);
        // SAFETY: detaching a mount this test made.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
    }
}

/// A host directory with a tmpfs mounted at `sub` holding `marker`.
pub fn dir_with_submount(env: &Env, name: &str) -> (PathBuf, HostMount) {
    let src = env.dir.join(name);
    let hm = HostMount::tmpfs(&src.join("sub"));
    std::fs::write(src.join("sub/marker"), "in submount\n").unwrap();
    (src, hm)
}

/// A new user namespace: the container's 0..65536 are the host's 100000..165536.
pub fn add_userns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": "user"}));
    c["linux"]["uidMappings"] =
        serde_json::json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    c["linux"]["gidMappings"] =
        serde_json::json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
}

/// The value of a `Key:` line of /proc/<pid>/status text.
pub fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key}: line in {status}"))
        .trim()
}

/// Capability numbers (linux/capability.h) as a /proc/self/status mask.
pub fn cap_mask(caps: &[u32]) -> String {
    format!("{:016x}", caps.iter().fold(0u64, |m, c| m | 1u64 << c))
}

pub const CAP_CHOWN: u32 = 0;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_AUDIT_WRITE: u32 = 29;

/// Wait until `path` contains `needle` (bounded), returning its text.
pub fn wait_for_output(path: &Path, needle: &str) -> String {
    for _ in 0..500 {
        let t = fs::read_to_string(path).unwrap_or_default();
        if t.contains(needle) {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!(
        "{} never contained {needle:?}: {:?}",
        path.display(),
        fs::read_to_string(path)
    );
}

/// Wait (5 s at most) until `n` of `pids` run `comm`. A shell prints "ready" once its
/// background children are forked, not once they have exec'd: a signal that reaches a child
/// still in the shell's code (its trap handler inherited) is taken by the shell and lost at
/// the exec, so tests that signal such children wait for the execs first.
pub fn wait_for_comm(pids: &[i32], comm: &str, n: usize) {
    let count = || {
        pids.iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == comm)
            })
            .count()
    };
    for _ in 0..500 {
        if count() >= n {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{n} of {pids:?} never became {comm}");
}

// ---- processes and cgroup files (tests/cgroups.rs, tests/cgroups_v2.rs) ----

/// A cgroup file's content, trimmed.
pub fn read(dir: &Path, file: &str) -> String {
    let p = dir.join(file);
    fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Pids listed in a cgroup directory's cgroup.procs, sorted.
pub fn procs(dir: &Path) -> Vec<i32> {
    let mut v: Vec<i32> = read(dir, "cgroup.procs")
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    v.sort_unstable();
    v
}

/// The one-letter state of a process, from /proc/<pid>/stat (None: gone).
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
}

/// Whether `pid` is gone (or a zombie waiting for its reaper).
pub fn is_gone(pid: i32) -> bool {
    matches!(proc_state(pid), None | Some('Z') | Some('X'))
}

/// Wait (bounded) until every pid is gone.
pub fn wait_gone(pids: &[i32]) {
    for _ in 0..500 {
        if pids.iter().all(|p| is_gone(*p)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let left: Vec<_> = pids.iter().filter(|p| !is_gone(**p)).collect();
    panic!("processes survived: {left:?}");
}

/// The number of lines of a file (progress of a writer).
pub fn line_count(path: &Path) -> usize {
    fs::read_to_string(path).unwrap_or_default().lines().count()
}

/// Give the command `files` dup2'ed (without O_CLOEXEC) onto the given fds (tests/process.rs,
/// tests/exec.rs).
pub fn with_fds(cmd: &mut Command, files: &[(fs::File, i32)]) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let raw: Vec<(i32, i32)> = files.iter().map(|(f, to)| (f.as_raw_fd(), *to)).collect();
    // SAFETY: only async-signal-safe fcntl/dup2 in the forked child; the source fds stay open
    // in the parent (owned by the caller's `files`) until the command is spawned.
    unsafe {
        cmd.pre_exec(move || {
            // Move every source out of the way first, so that no target clobbers a source
            // and a source already at its target still loses O_CLOEXEC.
            let mut tmp = Vec::with_capacity(raw.len());
            for (from, _) in &raw {
                let t = libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, 100);
                if t < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                tmp.push(t);
            }
            for (t, (_, to)) in tmp.iter().zip(&raw) {
                if libc::dup2(*t, *to) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Receive (payload, fds) from one recvmsg on a unix socket (console and pidfd sockets).
pub fn recv_fds(sock: std::os::fd::RawFd) -> (Vec<u8>, Vec<std::os::fd::OwnedFd>) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};
    let mut buf = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 8]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let m = recvmsg::<()>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC).unwrap();
    let mut fds = Vec::new();
    for c in m.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(v) = c {
            // SAFETY: fds the kernel just installed for us.
            fds.extend(v.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
        }
    }
    let n = m.bytes;
    (buf[..n].to_vec(), fds)
}

/// The smallest huge page size of the host as cgroup files name it (`2MB`, `1GB`), and its
/// size in bytes.
pub fn huge_page_size() -> Option<(String, u64)> {
    let mut kbs: Vec<u64> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .ok()?
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()
        })
        .collect();
    kbs.sort_unstable();
    let kb = *kbs.first()?;
    let name = if kb >= 1 << 20 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    };
    Some((name, kb * 1024))
}

// ---- what a killed hull may leave (tests/kill_anytime.rs, tests/cgroup_default_parent.rs) ----

/// Pids with an argv element or an environment entry that ends in `needle`.
pub fn procs_mentioning(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let needle = format!("{needle}\0");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me || is_gone(pid) {
            continue;
        }
        let hit = ["cmdline", "environ"].iter().any(|f| {
            std::fs::read(e.path().join(f))
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        });
        if hit && !is_gone(pid) {
            out.push(pid);
        }
    }
    out
}

/// The cgroup directories named `id`, in every hierarchy.
pub fn cgroups_of(id: &str) -> Vec<std::path::PathBuf> {
    cgroup_dirs_named(id)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == id))
        .collect()
}

/// Removes what a failing test left of the containers it tracks (a passing one leaves nothing): their
/// processes (found by their id, so only ours) and their cgroup directories.
pub struct Sweeper(std::cell::RefCell<Vec<String>>);

impl Sweeper {
    pub fn new() -> Sweeper {
        Sweeper(Default::default())
    }

    pub fn track(&self, id: String) -> String {
        self.0.borrow_mut().push(id.clone());
        id
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        for id in self.0.borrow().iter() {
            for pid in procs_mentioning(id) {
                // SAFETY: kill(2) of a process carrying this test's unique container id.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let mut dirs = cgroups_of(id);
            // Sub-cgroups (none expected) before their parents.
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in dirs {
                for _ in 0..100 {
                    if std::fs::remove_dir(&d).is_ok() || !d.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        }
    }
}

// ---- a command stopped at its n-th system call (tests/kill_anytime.rs) ----

/// A command run under ptrace and stopped at a chosen system call, so that SIGKILL hits it at
/// a known point of its work rather than after a guessed delay. Only the command itself is
/// traced (its children are not); the tracer must stay on the thread that spawned it.
pub struct Traced {
    pub pid: i32,
    /// System calls entered so far.
    pub syscalls: usize,
    /// The number of the system call it is stopped at (x86_64's orig_rax), when stopped.
    pub nr: i64,
    entering: bool,
    reaped: bool,
    /// Attached to a process that is not our child ([`Traced::seize`]): let go, not killed.
    seized: bool,
}

/// How a traced command ended its run: stopped at the chosen call, or exited (wait status).
#[derive(Debug, PartialEq, Eq)]
pub enum Reached {
    Stop,
    Exit(i32),
}

fn waitpid_raw(pid: i32) -> i32 {
    let mut st = 0;
    loop {
        // SAFETY: waitpid on our own child into a local.
        let r = unsafe { libc::waitpid(pid, &mut st, 0) };
        if r == pid {
            return st;
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.raw_os_error(), Some(libc::EINTR), "waitpid {pid}: {e}");
    }
}

impl Traced {
    /// Spawn `cmd` traced (it stops right after its execve); stdio as the caller set it.
    pub fn spawn(mut cmd: Command) -> Traced {
        use std::os::unix::process::CommandExt;
        // SAFETY: ptrace(PTRACE_TRACEME) is async-signal-safe and touches no memory.
        unsafe {
            cmd.pre_exec(|| {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let pid = cmd.spawn().expect("spawn traced command").id() as i32;
        let st = waitpid_raw(pid);
        assert!(
            libc::WIFSTOPPED(st) && libc::WSTOPSIG(st) == libc::SIGTRAP,
            "traced command did not stop at its exec: {st:#x}"
        );
        let opts = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL | libc::PTRACE_O_TRACEEXEC;
        // SAFETY: ptrace on our stopped tracee; the options are plain flags.
        let r = unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts as libc::c_long) };
        assert_eq!(
            r,
            0,
            "PTRACE_SETOPTIONS: {}",
            std::io::Error::last_os_error()
        );
        Traced::at(pid, false)
    }

    fn at(pid: i32, seized: bool) -> Traced {
        Traced {
            pid,
            syscalls: 0,
            nr: -1,
            entering: true,
            reaped: false,
            seized,
        }
    }

    /// Attach to running process `pid` (not our child) and stop it where it is; it is let go
    /// ([`Traced::detach`], or when dropped), not killed.
    pub fn seize(pid: i32) -> Traced {
        let opts = libc::PTRACE_O_TRACESYSGOOD;
        // SAFETY: ptrace on a pid we name; the options are plain flags.
        let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, pid, 0, opts as libc::c_long) };
        assert_eq!(
            r,
            0,
            "PTRACE_SEIZE {pid}: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: as above.
        let r = unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0) };
        assert_eq!(
            r,
            0,
            "PTRACE_INTERRUPT {pid}: {}",
            std::io::Error::last_os_error()
        );
        let st = waitpid_raw(pid);
        assert!(libc::WIFSTOPPED(st), "{pid} did not stop: {st:#x}");
        Traced::at(pid, true)
    }

    /// Let a seized process go on (it must be stopped: it is, after `seize` or `run_until`).
    pub fn detach(mut self) {
        self.let_go();
    }

    fn let_go(&mut self) {
        if !self.reaped {
            // SAFETY: ptrace on our stopped tracee.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, self.pid, 0, 0) };
            self.reaped = true;
        }
    }

    /// Let it run until `stop(n, nr)` holds at the entry of its n-th system call (1-based;
    /// number `nr`), or until it exits.
    pub fn run_until(&mut self, mut stop: impl FnMut(usize, i64) -> bool) -> Reached {
        let mut sig = 0;
        loop {
            // SAFETY: resume our stopped tracee, passing on the signal it stopped with.
            let r = unsafe { libc::ptrace(libc::PTRACE_SYSCALL, self.pid, 0, sig as libc::c_long) };
            assert_eq!(r, 0, "PTRACE_SYSCALL: {}", std::io::Error::last_os_error());
            sig = 0;
            let st = waitpid_raw(self.pid);
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                self.reaped = true;
                return Reached::Exit(st);
            }
            let s = libc::WSTOPSIG(st);
            if s == libc::SIGTRAP | 0x80 {
                if self.entering {
                    self.syscalls += 1;
                    self.nr = syscall_nr(self.pid);
                    if stop(self.syscalls, self.nr) {
                        return Reached::Stop;
                    }
                }
                self.entering = !self.entering;
            } else if st >> 16 == 0 {
                // A signal on its way to the tracee (SIGCHLD of stage 1): deliver it.
                sig = s;
            }
        }
    }

    /// SIGKILL it (wherever it is stopped) and reap it.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        if self.reaped {
            return;
        }
        // SAFETY: kill(2) on our own unreaped child.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        loop {
            let st = waitpid_raw(self.pid);
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                break;
            }
        }
        self.reaped = true;
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        if self.seized {
            self.let_go();
        } else {
            self.kill_now();
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn syscall_nr(pid: i32) -> i64 {
    const ORIG_RAX: usize = 15;
    // SAFETY: PTRACE_PEEKUSER of one word of the stopped tracee's saved registers.
    unsafe { libc::ptrace(libc::PTRACE_PEEKUSER, pid, ORIG_RAX * 8, 0) }
}

#[cfg(not(target_arch = "x86_64"))]
fn syscall_nr(_pid: i32) -> i64 {
    -1
}
