//! `exec`: a new process (the *tenant*) inside a running container, runc's setns process.
//!
//! The parent (`commands/exec.rs`) opens everything it needs before any clone, so a vanished
//! container fails early and nothing is left behind: a pidfd of init, init's namespaces
//! (`/proc/<init>/ns/*`, only those that differ from hull's own), init's root directory
//! (`/proc/<init>/root`) and the container's cgroup directories. Then, over the same sync socket
//! and messages as `create` (`sync.rs`):
//!
//! ```text
//! stage 1 (fork)    born in the cgroup2 directory (clone3 CLONE_INTO_CGROUP), joins the v1
//!                   ones itself (`tasks`); rlimits, oomScoreAdj (host privileges), setns user first ... mount last,
//!                   clone the tenant with CLONE_PARENT (it is hull's child and, being a child of
//!                   the setns caller, in the container's pid namespace); InitPid { pid }; _exit
//! parent            pidfd_open(tenant), write its pid to cgroup2's cgroup.procs if it was not
//!                   born there; Go
//! tenant            fchdir(init's root) + chroot("."), session keyring, with a terminal setsid +
//!                   the pty (master to the console socket), HOME from /etc/passwd when the env
//!                   has none, scheduler/personality,
//!                   seccomp (without NNP: before the capabilities go), bounding set, groups/ids,
//!                   capabilities, umask, chdir(cwd), PATH lookup, NNP; Ready; signals reset,
//!                   fds >= 3+N close-on-exec, seccomp (with NNP), execve
//! ```
//!
//! Why chroot: setns(CLONE_NEWMNT) does move root and cwd to the root of the namespace (the
//! kernel's `mntns_install` follows the mounts stacked on `/`), which after `pivot_root` is the
//! container's root, and runc relies on that. Chrooting to init's own root instead is exact in
//! every case (`--no-pivot`'s MS_MOVE+chroot included) and costs one syscall; when init's root
//! is the namespace root the tenant is not "chrooted" in the kernel's sense (it may still create
//! user namespaces).

use std::convert::Infallible;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use nix::sched::setns;
use oci_spec::runtime::{LinuxNamespaceType as T, LinuxPersonalityDomain, Process};

use super::payload::{
    self, close_extra_fds, cstrings, exec, load_seccomp, reset_signals, set_no_new_privs,
};
use super::sync::{self, Channel, Msg};
use super::{attrs, creds, fork, pidfd_open, Init};
use crate::error::{Context, Error, Result};
use crate::namespaces::{flag, spec_name};

/// Everything the tenant needs, prepared by the parent before the first clone.
pub struct Exec<'a> {
    /// Container id (session keyring name).
    pub id: &'a str,
    /// The container was created with `--no-new-keyring`: keep the caller's session keyring.
    pub no_new_keyring: bool,
    /// Host pid of the container's init.
    pub init_pid: i32,
    /// The process to run, defaults and flags already merged.
    pub process: &'a Process,
    /// The container's `linux.personality`.
    pub personality: Option<LinuxPersonalityDomain>,
    /// The container's compiled `linux.seccomp` (a notifying one's listener fd goes to its
    /// listener path through hull, as for create).
    pub seccomp: Option<&'a crate::seccomp::Compiled>,
    /// Bundle directory and annotations (the state a seccomp listener is sent).
    pub bundle: &'a std::path::Path,
    /// The config's annotations.
    pub annotations: &'a std::collections::HashMap<String, String>,
    /// Init's namespaces that differ from hull's, in join order (user first, mount last).
    pub join: Vec<(T, OwnedFd)>,
    /// O_PATH fd of init's root directory.
    pub root: OwnedFd,
    /// The container's cgroup directories (stage 1 joins the v1 ones, fork_into the cgroup2 one).
    pub cgroups: Vec<Cgroup>,
    /// The cgroup2 mount, for runc's fallback to init's own cgroup.
    pub unified_root: Option<PathBuf>,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `process.terminal`: a connected, close-on-exec socket the tenant sends the pty master
    /// over (the caller's --console-socket, or hull's own socketpair in the foreground).
    pub console_socket: Option<RawFd>,
    /// Foreground terminal: hull relays, so the pty's ONLCR goes before the process can write
    /// (`tty::Plan::finish` clears it too, but only after Ready).
    pub relay: bool,
}

/// One cgroup directory of the container, opened before any clone.
pub struct Cgroup {
    /// Its path (messages).
    pub path: PathBuf,
    /// `""` for cgroup2, else the v1 controllers.
    pub controllers: String,
    /// O_DIRECTORY fd.
    pub dir: OwnedFd,
}

/// Spawn the tenant and wait until only its execve is left. On error nothing is left running.
pub fn spawn(e: &Exec) -> Result<Init> {
    let (parent, child) = sync::pair()?;
    // Stage 1 is born in the cgroup2 directory when the kernel allows it and joins the v1 ones
    // by itself (`cgroups::join_self`'s reasons); the tenant, its clone, is born in all of them.
    let v2 = e.cgroups.iter().find(|c| c.controllers.is_empty());
    let (stage1, v2_joined) =
        fork::fork_into(v2.map(|c| c.dir.as_raw_fd())).context("fork exec stage 1")?;
    if stage1 == 0 {
        drop(parent);
        let res = stage1_run(e, &child);
        fork::child_exit(&child, res);
    }
    drop(child);
    handshake(e, &parent, stage1, v2_joined)
}

fn handshake(e: &Exec, chan: &Channel, stage1: i32, v2_joined: bool) -> Result<Init> {
    let first = chan.recv();
    // Stage 1 sends one message (the tenant's pid, or its error) and exits, or dies: reap it
    // now, so the tenant is hull's only child from here on.
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(stage1), None);
    let pid = match first? {
        Msg::InitPid { pid } => pid,
        Msg::Error { msg, .. } => return Err(Error::Msg(msg)),
        other => {
            return Err(Error::Msg(format!(
                "sync: unexpected {other:?} from exec stage 1"
            )))
        }
    };
    let pidfd = pidfd_open(pid).context("pidfd_open of the exec process")?;
    let tenant = Init { pid, pidfd };
    let res = (|| {
        if !v2_joined {
            join_cgroup2(e, pid)?;
        }
        chan.send(&Msg::Go)?;
        loop {
            match chan.recv_fd()? {
                (Msg::Ready, _) => break,
                (Msg::SeccompFd, Some(fd)) => {
                    let container = super::ListenerContainer {
                        id: e.id,
                        status: "running",
                        init_pid: e.init_pid,
                        bundle: e.bundle,
                        annotations: e.annotations,
                    };
                    super::send_listener(e.seccomp, &container, pid, &fd)?;
                    chan.send(&Msg::SeccompFdDone)?;
                }
                (Msg::Error { msg, .. }, _) => return Err(Error::Msg(msg)),
                (other, _) => {
                    return Err(Error::Msg(format!(
                        "sync: unexpected {other:?} from the exec process"
                    )))
                }
            }
        }
        // The tenant's end of the socket is close-on-exec: end of stream means its execve has
        // happened (or it died trying), so `exec -d` returns with the payload running, as
        // runc's does.
        match chan.recv() {
            Ok(Msg::Error { msg, .. }) => Err(Error::Msg(msg)),
            _ => Ok(()),
        }
    })();
    match res {
        Ok(()) => Ok(tenant),
        Err(err) => {
            super::kill_and_reap(&tenant);
            Err(err)
        }
    }
}

/// Write `value` to `file` under the directory `dir`.
fn write_at(dir: &OwnedFd, file: &std::ffi::CStr, value: &str) -> std::io::Result<()> {
    // SAFETY: openat with a directory fd we own and a valid C string.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            file.as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the fd was just opened and is owned by nobody else.
    let f = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut f = std::fs::File::from(f);
    std::io::Write::write_all(&mut f, value.as_bytes())
}

/// Stage 1 moves itself into the v1 cgroups (`tasks`, this single thread: no RCU wait).
fn join_v1_self(e: &Exec) -> Result<()> {
    for cg in e.cgroups.iter().filter(|c| !c.controllers.is_empty()) {
        write_at(&cg.dir, c"tasks", "0")
            .with_context(|| format!("join cgroup {}", cg.path.display()))?;
    }
    Ok(())
}

/// Move the tenant into the container's cgroup2 directory when it was not born there. A
/// container that made sub-cgroups of its own refuses new members at its top (EBUSY, "no
/// internal processes"): then, like runc, join init's current cgroup instead.
fn join_cgroup2(e: &Exec, pid: i32) -> Result<()> {
    for cg in e.cgroups.iter().filter(|c| c.controllers.is_empty()) {
        let Err(err) = write_at(&cg.dir, c"cgroup.procs", &pid.to_string()) else {
            continue;
        };
        let fallback = e
            .unified_root
            .as_ref()
            .and_then(|root| init_cgroup2(e.init_pid).map(|rel| root.join(rel)));
        match fallback {
            Some(dir) if dir != cg.path => {
                crate::logging::debug(&format!(
                    "exec: joining {} failed ({err}); joining init's cgroup {}",
                    cg.path.display(),
                    dir.display()
                ));
                crate::fsutil::write_file(&dir.join("cgroup.procs"), &pid.to_string())
                    .with_context(|| format!("join cgroup {}", dir.display()))?;
            }
            _ => {
                return Err(Error::from(err))
                    .with_context(|| format!("join cgroup {}", cg.path.display()))
            }
        }
    }
    Ok(())
}

/// Init's cgroup2 path relative to the mount, from /proc/<pid>/cgroup (`0::/path`).
fn init_cgroup2(pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| p.trim_start_matches('/').to_string())
}

/// Stage 1: host-privileged limits, the namespaces, the clone. Returns only on error.
fn stage1_run(e: &Exec, chan: &Channel) -> Result<Infallible> {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // First, while stage 1 still has the host's privileges.
    join_v1_self(e)?;
    // Before any user namespace, so raising a limit works as on the host (runc sets them from
    // the parent with prlimit for the same reason).
    attrs::apply_limits(e.process)?;
    if let Some(initial) = e
        .process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().clone())
    {
        attrs::set_affinity(&initial, "process.execCPUAffinity.initial")?;
    }
    for (t, fd) in &e.join {
        // The pid namespace applies to children: the tenant, cloned below.
        setns(fd, flag(*t)).with_context(|| {
            format!(
                "join the container's {} namespace (/proc/{}/ns/{})",
                spec_name(*t),
                e.init_pid,
                crate::namespaces::proc_name(*t)
            )
        })?;
    }
    if e.join.iter().any(|(t, _)| *t == T::User) {
        // As stage 1 of create: become the namespace's root when it is mapped.
        // SAFETY: integer syscalls; single-threaded.
        unsafe {
            libc::syscall(libc::SYS_setresgid, 0, 0, 0);
            libc::syscall(libc::SYS_setresuid, 0, 0, 0);
        }
    }
    let pid = fork::clone_parent().context("clone the exec process")?;
    if pid == 0 {
        let res = run(e, chan);
        fork::child_exit(chan, res);
    }
    chan.send(&Msg::InitPid { pid })?;
    fork::exit_now(0)
}

/// The tenant. Returns only on error.
fn run(e: &Exec, chan: &Channel) -> Result<Infallible> {
    // SAFETY: prctl with integers: die with hull until Ready.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    chan.expect(&Msg::Go)?;
    let process = e.process;

    nix::unistd::fchdir(&e.root).context("enter the container's root: fchdir")?;
    nix::unistd::chroot(".").context("enter the container's root: chroot")?;
    // The root, namespace and cgroup fds are O_CLOEXEC: execve closes them.

    // Not the caller's session keyring (runc's setns init does the same).
    if !e.no_new_keyring {
        attrs::join_session_keyring(e.id)?;
    }

    // The terminal (`--tty` or the --process file's `terminal`): the pty is made here — inside
    // the container's namespaces and root, before credentials change (runc's setns init:
    // setupConsole + Setctty at this point) — and its master sent over the console socket.
    if let Some(fd) = e.console_socket {
        // TIOCSCTTY needs a session leader without a controlling terminal.
        nix::unistd::setsid().context("process.terminal: setsid")?;
        // SAFETY: the tenant's copy of the socket hull handed down; nothing else here uses it.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        crate::tty::setup_in_container(sock, process, false)?;
        if e.relay {
            clear_onlcr(0)?;
        }
    }

    // HOME from the container's /etc/passwd when the env has none: inside the root, while the
    // tenant is still root and before seccomp (runc's setupUser).
    let mut env = process.env().clone().unwrap_or_default();
    payload::set_home(&mut env, process.user().uid());

    let linux_nnp = process.no_new_privileges().unwrap_or(false);
    attrs::apply_sched(process, e.personality)?;
    // Without no_new_privs a filter needs CAP_SYS_ADMIN: load it before capabilities go.
    if let Some(c) = e.seccomp.filter(|_| !linux_nnp) {
        load_seccomp(c, chan)?;
    }
    creds::apply_bounding(process.capabilities().as_ref())?;
    creds::apply_user_and_caps(process, true)?;
    // SAFETY: umask takes an integer.
    unsafe { libc::umask(process.user().umask().unwrap_or(0o022) as libc::mode_t) };
    nix::unistd::chdir(process.cwd())
        .with_context(|| format!("process.cwd: chdir {}", process.cwd().display()))?;

    // As the user and from cwd, like Go's exec.LookPath in runc's setns init.
    let args = process.args().clone().unwrap_or_default();
    let exe = payload::find_executable(&args[0], &env)?;
    let argv = cstrings(&args)?;
    let envp = cstrings(&env)?;

    // SAFETY: prctl with integers: the process outlives hull from here on (--detach).
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) };
    if linux_nnp {
        set_no_new_privs()?;
        // A notifying filter's fd must reach its listener through hull, which is gone after
        // Ready: load it now (init does the same).
        if let Some(c) = e.seccomp.filter(|c| c.notify) {
            load_seccomp(c, chan)?;
        }
    }
    chan.send(&Msg::Ready)?;

    if let Some(fin) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().clone())
    {
        attrs::set_affinity(&fin, "process.execCPUAffinity.final")?;
    }
    reset_signals();
    close_extra_fds(3 + e.preserve_fds);
    // With no_new_privs, as late as possible: only execve follows.
    if let Some(c) = e.seccomp.filter(|c| linux_nnp && !c.notify) {
        crate::seccomp::install(c)?;
    }
    exec(&exe, &argv, &envp)
}

/// Clear ONLCR on the terminal at `fd` (the slave shares its termios with the master).
fn clear_onlcr(fd: RawFd) -> Result<()> {
    // SAFETY: an all-zero termios is valid storage for tcgetattr to fill.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr/tcsetattr on an fd we hold and a struct we own.
    unsafe {
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(std::io::Error::last_os_error()).context("console: get pty settings");
        }
        t.c_oflag &= !libc::ONLCR;
        if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0 {
            return Err(std::io::Error::last_os_error()).context("console: clear ONLCR");
        }
    }
    Ok(())
}
