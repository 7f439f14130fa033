//! OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"). One hook is a fork +
//! execve of `path` with exactly `args` (args[0] is argv[0]; none means argv = [path]) and exactly
//! `env`, the container state JSON on its stdin, its stdout and stderr captured (runc's way: shown
//! in the error when the hook fails, in the debug log otherwise). `timeout` seconds elapsed: the
//! hook is SIGKILLed and the error names it. No thread: one poll over a pidfd of the hook, its
//! stdin (written as it drains) and its two output pipes, with the deadline as poll's timeout.
//!
//! Where each kind runs (runc's places, which the spec's words allow):
//!
//! | kind | process | when | status / pid in the state |
//! |---|---|---|---|
//! | `prestart`, `createRuntime` | hull (create), runtime namespaces | init asks (`Msg::Hooks`) after its mounts and devices, before pivot_root | creating / host pid |
//! | `createContainer` | init, container namespaces | right after, still before pivot_root (path resolves on the host's tree) | creating / pid inside |
//! | `startContainer` | init, container namespaces, container credentials | `start` opened the exec fifo, before the byte is written | created / pid inside |
//! | `poststart` | hull (start, run) | init's byte was read | running / host pid |
//! | `poststop` | hull (delete, run, a failed create) | cgroups and state dir are gone | stopped / no pid |
//!
//! `create`, `run` and `exec` may re-execute hull inside a private mount namespace (selfexe.rs,
//! a read-only bind of the binary). Hooks of the runtime namespace must not run there (a
//! `prestart` hook's `ip netns add` would mount where the host never sees it): before that
//! re-exec [`remember_runtime_mntns`] keeps an fd of the mount namespace hull was started in,
//! inherited across the exec and named by [`RUNTIME_MNTNS_ENV`], and each such hook `setns`es
//! back into it (then returns to hull's working directory) before its execve.
//!
//! The hooks are copied into `state.json` at create time (runtime.md: "Any updates to
//! config.json after this step MUST NOT affect the container"), so `start` and `delete` never
//! re-read the bundle.

use std::collections::HashMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};
use serde::Serialize;

use crate::error::{Context, Error, Result};

/// The six kinds of hooks, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Deprecated; runs right before `createRuntime`.
    Prestart,
    /// Runtime namespace, before pivot_root.
    CreateRuntime,
    /// Container namespace, before pivot_root.
    CreateContainer,
    /// Container namespace, before the user process.
    StartContainer,
    /// Runtime namespace, after the user process started.
    Poststart,
    /// Runtime namespace, after delete.
    Poststop,
}

impl Kind {
    /// The config's field name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    /// This kind's entries of `hooks`.
    #[allow(deprecated)]
    pub fn list(self, hooks: Option<&Hooks>) -> &[Hook] {
        let Some(h) = hooks else { return &[] };
        let l = match self {
            Kind::Prestart => h.prestart(),
            Kind::CreateRuntime => h.create_runtime(),
            Kind::CreateContainer => h.create_container(),
            Kind::StartContainer => h.start_container(),
            Kind::Poststart => h.poststart(),
            Kind::Poststop => h.poststop(),
        };
        l.as_deref().unwrap_or_default()
    }

    const ALL: [Kind; 6] = [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ];
}

/// The state a hook reads on stdin: runtime.md "State" (runc's `specs.State`: pid and
/// annotations omitted when there are none).
#[derive(Debug, Serialize)]
pub struct HookState<'a> {
    /// Spec version.
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    /// Container id.
    pub id: &'a str,
    /// creating, created, running or stopped.
    pub status: &'a str,
    /// The container's pid as seen by the hook's pid namespace (0 = none).
    #[serde(skip_serializing_if = "is_zero")]
    pub pid: i32,
    /// Absolute bundle path.
    pub bundle: &'a Path,
    /// The config's annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

fn is_zero(p: &i32) -> bool {
    *p == 0
}

impl HookState<'_> {
    /// The JSON written to each hook's stdin.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("state serializes")
    }
}

/// The state of a saved container for a hook run by hull (runtime namespace): `pid` 0 omits it.
pub fn state_of(st: &crate::container::State, status: &str, pid: i32) -> Vec<u8> {
    HookState {
        oci_version: crate::OCI_VERSION,
        id: &st.id,
        status,
        pid,
        bundle: &st.bundle,
        annotations: &st.annotations,
    }
    .to_json()
}

/// The state of the container being launched, for a hook of `l`'s config.
fn launch_state(l: &crate::process::Launch, status: &str, pid: i32) -> Vec<u8> {
    let none = HashMap::new();
    HookState {
        oci_version: crate::OCI_VERSION,
        id: l.id,
        status,
        pid,
        bundle: &l.bundle.dir,
        annotations: l.bundle.spec.annotations().as_ref().unwrap_or(&none),
    }
    .to_json()
}

/// `prestart` then `createRuntime`, in hull (the runtime namespaces) when init asks: its mount
/// namespace exists and its mounts are done, it is in its cgroups, pivot_root is still ahead
/// (config.md: "after the runtime environment has been created … but before the pivot_root";
/// "hooks authors should only expect … that the mount namespace have been created and the
/// mount operations performed"). `pid` is init's host pid.
pub fn create_runtime(l: &crate::process::Launch, pid: i32) -> Result<()> {
    let hooks = l.bundle.spec.hooks().as_ref();
    let state = launch_state(l, "creating", pid);
    run(hooks, Kind::Prestart, &state, None)?;
    run(hooks, Kind::CreateRuntime, &state, None)
}

/// In init, after the mounts and devices and right before pivot_root: have hull run
/// `prestart`/`createRuntime`, then run `createContainer` here, in the container's namespaces
/// with the host's tree still visible (its path "MUST resolve in the runtime namespace"), from
/// the rootfs directory as runc does.
pub fn before_pivot(
    l: &crate::process::Launch,
    chan: &crate::process::sync::Channel,
) -> Result<()> {
    use crate::process::sync::Msg;
    let hooks = l.bundle.spec.hooks().as_ref();
    if any(hooks, &[Kind::Prestart, Kind::CreateRuntime]) {
        chan.send(&Msg::Hooks)?;
        chan.expect(&Msg::HooksDone)?;
    }
    if any(hooks, &[Kind::CreateContainer]) {
        nix::unistd::chdir(l.bundle.rootfs.as_path())
            .with_context(|| format!("chdir {}", l.bundle.rootfs.display()))?;
        let state = launch_state(l, "creating", nix::unistd::getpid().as_raw());
        run(hooks, Kind::CreateContainer, &state, None)?;
    }
    Ok(())
}

/// In init, once `start` opened the exec fifo and before the byte that releases it: the
/// `startContainer` hooks, inside the container (after pivot_root, with the container's
/// credentials), status "created". A hook without `env` gets the process's, `env` (runc's
/// de-facto behaviour, kept for engines that rely on it: init's own environment, HOME filled in
/// from /etc/passwd included).
pub fn start_container(l: &crate::process::Launch, env: &[String]) -> Result<()> {
    let hooks = l.bundle.spec.hooks().as_ref();
    if !any(hooks, &[Kind::StartContainer]) {
        return Ok(());
    }
    let state = launch_state(l, "created", nix::unistd::getpid().as_raw());
    run(hooks, Kind::StartContainer, &state, Some(env))
}

/// What init writes to the exec fifo instead of "0" when `startContainer` fails: '1' and the
/// message, at most PIPE_BUF bytes so `start` reads it in one piece.
pub fn fifo_error(e: &Error) -> String {
    let mut m = format!("1{}", e.render());
    if m.len() > 4000 {
        let mut cut = 4000;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
    }
    m
}

/// `poststart` after init's byte was read (start, run). runc's behaviour, and runtime-spec's since
/// v1.3.0 (runtime.md step 9: "generate an error, stop the container"): on failure init is
/// SIGKILLed and waited for, and the error is returned.
pub fn poststart(st: &crate::container::State) -> Result<()> {
    let hooks = st.hooks.as_ref();
    if !any(hooks, &[Kind::Poststart]) {
        return Ok(());
    }
    let res = run(
        hooks,
        Kind::Poststart,
        &state_of(st, "running", st.pid),
        None,
    );
    if res.is_err() {
        if let Ok(pidfd) = crate::process::pidfd_open(st.pid) {
            if crate::container::status::is_alive(st.pid, st.start_time) {
                let _ = crate::process::pidfd_send_signal(&pidfd, libc::SIGKILL);
                crate::process::pidfd_wait_exit(&pidfd, 10_000);
            }
        }
    }
    res
}

/// `poststop` once the container is gone (delete, run, a failed create): failures are warnings.
pub fn poststop(st: &crate::container::State) {
    run_warn(
        st.hooks.as_ref(),
        Kind::Poststop,
        &state_of(st, "stopped", 0),
    );
}

/// Check every hook of a config (create refuses a bad one before anything exists): `path`
/// absolute, `timeout` above zero, no NUL bytes.
pub fn validate(hooks: Option<&Hooks>) -> Result<()> {
    for kind in Kind::ALL {
        for (i, h) in kind.list(hooks).iter().enumerate() {
            let field = format!("hooks.{}[{i}]", kind.name());
            if !h.path().is_absolute() {
                return Err(Error::invalid(format!(
                    "{field}.path: {:?} must be an absolute path",
                    h.path()
                )));
            }
            if let Some(t) = h.timeout() {
                if t <= 0 {
                    return Err(Error::invalid(format!(
                        "{field}.timeout: {t} must be greater than zero"
                    )));
                }
            }
            let mut strings = h.args().iter().flatten().chain(h.env().iter().flatten());
            if h.path().as_os_str().as_bytes().contains(&0) || strings.any(|s| s.contains('\0')) {
                return Err(Error::invalid(format!("{field}: contains a NUL byte")));
            }
        }
    }
    Ok(())
}

/// Run every hook of `kind` in order; the first failure stops and is returned, naming the hook.
/// `default_env` replaces an absent `env` (runc does that for `startContainer` only).
pub fn run(
    hooks: Option<&Hooks>,
    kind: Kind,
    state: &[u8],
    default_env: Option<&[String]>,
) -> Result<()> {
    for (i, h) in kind.list(hooks).iter().enumerate() {
        let name = format!("hooks.{}[{i}]", kind.name());
        run_one(h, &name, state, default_env, in_runtime_ns(kind))?;
    }
    Ok(())
}

/// Run every hook of `kind`; a failure is logged as a warning and the next hook runs
/// (runtime.md step 13, for `poststop`).
pub fn run_warn(hooks: Option<&Hooks>, kind: Kind, state: &[u8]) {
    for (i, h) in kind.list(hooks).iter().enumerate() {
        let name = format!("hooks.{}[{i}]", kind.name());
        if let Err(e) = run_one(h, &name, state, None, in_runtime_ns(kind)) {
            crate::logging::warn(&e.render());
        }
    }
}

/// Whether any hook of these kinds is configured.
pub fn any(hooks: Option<&Hooks>, kinds: &[Kind]) -> bool {
    kinds.iter().any(|k| !k.list(hooks).is_empty())
}

/// Names the inherited fd of the mount namespace hull was started in (see the module doc).
pub const RUNTIME_MNTNS_ENV: &str = "_HULL_RUNTIME_MNTNS";

/// NS_GET_NSTYPE (linux/nsfs.h): `_IO(0xb7, 0x3)`.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// Call before `selfexe` may re-execute hull into a private mount namespace (create, run,
/// exec). First pass: when a re-exec is coming, open this mount namespace without O_CLOEXEC
/// and name the fd in the environment the re-exec passes on. Second pass (the fd is named):
/// check it and make it close-on-exec: from here on only hook children use it, via setns.
pub fn remember_runtime_mntns() {
    if let Some(fd) = runtime_mntns_fd() {
        // SAFETY: fcntl on an fd this process inherited for exactly this purpose.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        return;
    }
    std::env::remove_var(RUNTIME_MNTNS_ENV);
    if crate::selfexe::is_protected() {
        return; // no re-exec: hull stays in the namespace it was started in
    }
    // SAFETY: open(2) of a constant path; the fd is deliberately inheritable (see above).
    let fd = unsafe { libc::open(c"/proc/self/ns/mnt".as_ptr(), libc::O_RDONLY) };
    if fd >= 0 {
        std::env::set_var(RUNTIME_MNTNS_ENV, fd.to_string());
    }
}

/// The remembered fd, if the environment names one that really is a mount namespace.
pub fn runtime_mntns_fd() -> Option<RawFd> {
    let fd: RawFd = std::env::var(RUNTIME_MNTNS_ENV).ok()?.parse().ok()?;
    // SAFETY: ioctl(NS_GET_NSTYPE) on an fd number; a non-nsfs fd just fails.
    let t = unsafe { libc::ioctl(fd, NS_GET_NSTYPE as _) };
    (fd > 2 && t == libc::CLONE_NEWNS).then_some(fd)
}

/// The fd to setns into before a runtime-namespace hook: `None` when hull already is there.
fn runtime_mntns_to_join() -> Option<RawFd> {
    let fd = runtime_mntns_fd()?;
    let ours = std::fs::metadata("/proc/self/ns/mnt").ok()?;
    // SAFETY: an all-zero stat is valid storage for fstat to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on an fd number into a struct we own.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    use std::os::unix::fs::MetadataExt;
    (st.st_ino != ours.ino() || st.st_dev != ours.dev()).then_some(fd)
}

fn in_runtime_ns(kind: Kind) -> bool {
    !matches!(kind, Kind::CreateContainer | Kind::StartContainer)
}

/// Most of a hook's stdout/stderr kept for the error message.
const KEEP: usize = 16 * 1024;

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe");
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn set_nonblock(fd: RawFd) {
    // SAFETY: fcntl on an fd we own, with integer arguments.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

fn cstrings(v: &[String]) -> Vec<CString> {
    // NUL bytes were refused by `validate`; a stray one becomes an empty string.
    v.iter()
        .map(|s| CString::new(s.as_bytes()).unwrap_or_default())
        .collect()
}

/// Run one hook; the error names it (`hooks.createRuntime[0]: /path: …`). `runtime_ns`: run it
/// in the mount namespace hull was started in (see the module doc).
pub fn run_one(
    h: &Hook,
    name: &str,
    state: &[u8],
    default_env: Option<&[String]>,
    runtime_ns: bool,
) -> Result<()> {
    let path = h.path();
    let what = format!("{name}: {}", path.display());
    crate::logging::debug(&format!("running {what}"));
    exec_and_wait(h, state, default_env, runtime_ns).with_context(|| what)
}

fn exec_and_wait(
    h: &Hook,
    state: &[u8],
    default_env: Option<&[String]>,
    runtime_ns: bool,
) -> Result<()> {
    let join = if runtime_ns {
        runtime_mntns_to_join()
    } else {
        None
    };
    // setns(CLONE_NEWNS) moves the cwd to the namespace's root: the hook gets hull's back.
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| CString::new(d.into_os_string().into_encoded_bytes()).ok());
    let join = join.map(|fd| (fd, cwd));
    // Everything the child needs is allocated before the fork.
    let cpath = CString::new(h.path().as_os_str().as_bytes())
        .map_err(|_| Error::invalid("NUL byte in path"))?;
    let args = match h.args().as_deref() {
        Some(a) if !a.is_empty() => cstrings(a),
        _ => vec![cpath.clone()],
    };
    let env = match (h.env().as_deref(), default_env) {
        (Some(e), _) => cstrings(e),
        (None, Some(d)) => cstrings(d),
        (None, None) => Vec::new(),
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());

    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (exec_r, exec_w) = pipe()?;
    let pid = crate::process::fork::fork().context("fork")?;
    if pid == 0 {
        child(
            &cpath,
            &argv,
            &envp,
            [in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()],
            exec_w.as_raw_fd(),
            join.as_ref().map(|(fd, cwd)| (*fd, cwd.as_ref())),
        );
    }
    drop((in_r, out_w, err_w, exec_w));
    let pidfd = match crate::process::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            // SAFETY: kill/waitpid on our own unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            return Err(e).context("pidfd_open");
        }
    };
    let timeout = h.timeout().map(|t| Duration::from_secs(t.max(1) as u64));
    let res = supervise(&pidfd, in_w, state, &out_r, &err_r, timeout);
    let mut status = 0;
    loop {
        // SAFETY: waitpid on our own child with a status int we own.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    let (out, err, timed_out) = res?;
    if timed_out {
        return Err(Error::Msg(format!(
            "timed out after {}s",
            timeout.map(|t| t.as_secs()).unwrap_or(0)
        )));
    }
    // The exec error pipe: 4 bytes of errno when execve failed, EOF when it succeeded.
    let mut errno = [0u8; 4];
    // SAFETY: read(2) into a 4-byte buffer we own; every write end is closed by now.
    let n = unsafe { libc::read(exec_r.as_raw_fd(), errno.as_mut_ptr().cast(), 4) };
    if n == 4 {
        return Err(Error::Sys(nix::errno::Errno::from_raw(i32::from_ne_bytes(
            errno,
        ))))
        .context("exec");
    }
    let outputs = |msg: String| {
        let mut m = msg;
        for (label, text) in [("stdout", &out), ("stderr", &err)] {
            let t = String::from_utf8_lossy(text);
            let t = t.trim_end();
            if !t.is_empty() {
                m.push_str(&format!(", {label}: {t}"));
            }
        }
        m
    };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        if crate::logging::debug_enabled() && (!out.is_empty() || !err.is_empty()) {
            crate::logging::debug(&outputs("hook succeeded".into()));
        }
        return Ok(());
    }
    let msg = if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    };
    Err(Error::Msg(outputs(msg)))
}

/// The hook child: back into the runtime mount namespace if asked, stdio onto the pipes,
/// default signals, no other fd, execve. Never returns.
fn child(
    path: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    stdio: [RawFd; 3],
    exec_w: RawFd,
    join: Option<(RawFd, Option<&CString>)>,
) -> ! {
    // SAFETY: only setns/chdir/fcntl/dup2/sigprocmask/signal/syscall/execve/write/_exit on fds
    // and buffers this process owns; the pointer arrays are NULL-terminated and point into live
    // CStrings.
    unsafe {
        if let Some((fd, cwd)) = join {
            if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                fail(exec_w);
            }
            if let Some(cwd) = cwd {
                libc::chdir(cwd.as_ptr());
            }
        }
        // Move the pipe ends above 2 first: one of them may itself be 0, 1 or 2.
        let high: Vec<RawFd> = stdio
            .iter()
            .map(|&fd| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3))
            .collect();
        for (target, &fd) in high.iter().enumerate() {
            if fd < 0 || libc::dup2(fd, target as RawFd) < 0 {
                fail(exec_w);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        // Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored across execve.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // Nothing but stdio reaches the hook (the exec error pipe is already close-on-exec).
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    fail(exec_w)
}

fn fail(exec_w: RawFd) -> ! {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let b = errno.to_ne_bytes();
    // SAFETY: write(2) of 4 bytes from a live buffer, then _exit.
    unsafe {
        libc::write(exec_w, b.as_ptr().cast(), 4);
        libc::_exit(127)
    }
}

/// Feed stdin, collect stdout/stderr, until the hook exits or the deadline passes (then SIGKILL).
/// Returns (stdout, stderr, timed out).
fn supervise(
    pidfd: &OwnedFd,
    stdin: OwnedFd,
    state: &[u8],
    out: &OwnedFd,
    err: &OwnedFd,
    timeout: Option<Duration>,
) -> Result<(Vec<u8>, Vec<u8>, bool)> {
    for fd in [stdin.as_raw_fd(), out.as_raw_fd(), err.as_raw_fd()] {
        set_nonblock(fd);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    // Closed once the whole state is written (the hook reads EOF), or when the hook stops
    // reading (EPIPE: it does not care about its stdin).
    let mut stdin = (!state.is_empty()).then_some(stdin);
    let mut written = 0;
    let mut bufs = [Vec::new(), Vec::new()];
    let mut open = [true, true];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if open[0] { out.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if open[1] { err.as_raw_fd() } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: stdin.as_ref().map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        let wait_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = crate::process::pidfd_send_signal(pidfd, libc::SIGKILL);
                    let [o, e] = bufs;
                    return Ok((o, e, true));
                }
                left.as_millis().min(i32::MAX as u128 - 1) as i32 + 1
            }
        };
        // SAFETY: poll on pollfds we own; negative fds are ignored by the kernel.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            let _ = crate::process::pidfd_send_signal(pidfd, libc::SIGKILL);
            return Err(e).context("poll");
        }
        for i in 0..2 {
            if open[i] && fds[1 + i].revents != 0 {
                open[i] = drain(fds[1 + i].fd, &mut bufs[i]);
            }
        }
        if fds[3].revents != 0 {
            if let Some(f) = &stdin {
                let rest = &state[written..];
                // SAFETY: write(2) from a live slice of `rest.len()` bytes.
                let n = unsafe { libc::write(f.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
                if n > 0 {
                    written += n as usize;
                }
                let again = n < 0
                    && matches!(
                        std::io::Error::last_os_error().raw_os_error(),
                        Some(libc::EAGAIN) | Some(libc::EINTR)
                    );
                if written == state.len() || (n < 0 && !again) {
                    stdin = None;
                }
            }
        }
        if fds[0].revents != 0 {
            // Exited: take what is buffered, without waiting for EOF (a daemonized grandchild
            // may hold the pipes open).
            for (i, fd) in [out, err].iter().enumerate() {
                if open[i] {
                    drain(fd.as_raw_fd(), &mut bufs[i]);
                }
            }
            let [o, e] = bufs;
            return Ok((o, e, false));
        }
    }
}

/// Read what a nonblocking pipe holds (keeping at most [`KEEP`] bytes); false at EOF or error.
fn drain(fd: RawFd, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: read(2) into a buffer we own.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n > 0 {
            let n = n as usize;
            let room = KEEP.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..n.min(room)]);
            continue;
        }
        if n == 0 {
            return false;
        }
        let e = std::io::Error::last_os_error().raw_os_error();
        if e == Some(libc::EINTR) {
            continue;
        }
        return e == Some(libc::EAGAIN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(v: serde_json::Value) -> Hooks {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn validate_names_the_field() {
        let h = hooks(serde_json::json!({"poststart": [{"path": "/ok"}, {"path": "rel"}]}));
        let e = validate(Some(&h)).unwrap_err().render();
        assert!(e.starts_with("hooks.poststart[1].path: "), "{e}");
        let h = hooks(serde_json::json!({"createRuntime": [{"path": "/x", "timeout": -1}]}));
        let e = validate(Some(&h)).unwrap_err().render();
        assert!(e.starts_with("hooks.createRuntime[0].timeout: -1"), "{e}");
        assert!(validate(None).is_ok());
    }

    #[test]
    fn state_omits_absent_pid_and_annotations() {
        let none = HashMap::new();
        let s = HookState {
            oci_version: "1.2.0",
            id: "c",
            status: "stopped",
            pid: 0,
            bundle: Path::new("/b"),
            annotations: &none,
        };
        assert_eq!(
            String::from_utf8(s.to_json()).unwrap(),
            r#"{"ociVersion":"1.2.0","id":"c","status":"stopped","bundle":"/b"}"#
        );
    }

    #[test]
    fn fifo_error_fits_one_atomic_write() {
        let e = Error::Msg("é".repeat(5000));
        let m = fifo_error(&e);
        assert!(m.starts_with('1') && m.len() <= 4000);
    }
}
