//! The payload: the process the container sees — a new container's init, or a process joining
//! a running one — from its clone in stage 1 to its execve. One sequence for both kinds; where
//! they differ it asks the [`Kind`]:
//!
//! 1. wait for `Go` (the parent holds a pidfd, the cgroups are joined);
//! 2. enter: init unshares its mount and cgroup namespaces, builds the root filesystem and
//!    pivots (`init.rs`); a joining process chroots to init's root;
//! 3. the terminal (pty from the container's devpts, master out over the console socket);
//! 4. init only: hostname, sysctls, masked/read-only paths (`init.rs`);
//! 5. session keyring (with the SELinux key label first), HOME from /etc/passwd,
//!    scheduler/ioprio/personality, the LSM labels for the execve (`lsm`), seccomp when it
//!    needs CAP_SYS_ADMIN (no `noNewPrivileges`), bounding set, ids and capabilities, umask,
//!    cwd (checked to be inside the root), the executable looked up as the user (runc's order);
//! 6. `Ready`; then the gate: init blocks on the exec fifo until `start` (`init.rs`);
//! 7. [`finish`]: affinity, no_new_privs, signals reset, fds past stdio and --preserve-fds
//!    close-on-exec, seccomp (with NNP: as late as possible), execve.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use super::sync::{Channel, Msg};
use super::{attrs, creds, env, init, Kind, Spawn};
use crate::error::{Context, Error, Result};
use crate::lsm;
use crate::seccomp::Compiled;
use crate::sys;
use crate::sys::procfs::ProcRoot;

/// Run the payload. Returns only on error.
pub fn run(s: &Spawn, chan: &Channel) -> Result<Infallible> {
    // SAFETY: prctl with integers: die with hull until Ready.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // Init leads its own session; a joining process only when it gets a terminal (TIOCSCTTY
    // needs a session leader without a controlling terminal).
    if matches!(s.kind, Kind::Init(_)) || s.console.is_some() {
        nix::unistd::setsid().context("setsid")?;
    }
    chan.expect(&Msg::Go)?;
    let process = s.process;
    // Only a rootless hull can have a user namespace whose setgroups is denied. Init reads its
    // own namespace's answer while /proc is still the host's (before it enters the rootfs); a
    // joining process was told by the parent.
    let setgroups = match &s.kind {
        Kind::Init(_) => !s.rootless || setgroups_allowed(),
        Kind::Join(j) => j.setgroups,
    };

    match &s.kind {
        Kind::Init(c) => init::enter(s, c, chan)?,
        Kind::Join(j) => {
            // setns(CLONE_NEWMNT) moved root and cwd to the mount namespace's root, which after
            // pivot_root is the container's; chrooting to init's own root is exact in every
            // case (--no-pivot's MS_MOVE + chroot included) and costs one syscall.
            nix::unistd::fchdir(&j.root).context("enter the container's root: fchdir")?;
            nix::unistd::chroot(".").context("enter the container's root: chroot")?;
        }
    }
    // After pivot_root, before the rootfs is finalized (runc's place for the console).
    if let Some(console) = &s.console {
        // SAFETY: this process's copy of the socket hull handed down; nothing else uses it.
        let sock = unsafe { OwnedFd::from_raw_fd(console.socket) };
        let on_dev_console = matches!(s.kind, Kind::Init(_));
        crate::tty::setup_in_container(sock, process, on_dev_console)?;
        if console.relay {
            sys::fd::clear_onlcr(0)?;
        }
    }
    // The LSM attr files are written through a procfs of hull's own: init's, or one a joining
    // process opens only when it has a label to write (none costs nothing).
    let labels = lsm::Labels::of(process);
    let proc = match &s.kind {
        Kind::Init(c) => Some(init::settle(s, c)?),
        Kind::Join(_) if !labels.is_empty() => {
            Some(ProcRoot::open().context("a procfs for the process's labels")?)
        }
        Kind::Join(_) => None,
    };
    if !s.no_new_keyring {
        if let (Some(label), Some(proc)) = (labels.selinux, &proc) {
            lsm::selinux_keycreate(proc, label)?;
        }
        attrs::join_session_keyring(s.id)?;
    }

    // HOME from the container's /etc/passwd: inside the root, while still root and before
    // seccomp (runc's setupUser).
    let mut environ = process.env().clone().unwrap_or_default();
    env::set_home(&mut environ, process.user().uid());
    attrs::apply_sched(process, s.personality)?;
    if let Some(m) = &s.memory_policy {
        attrs::apply_memory_policy(m)?;
    }
    // AppArmor's profile and SELinux's label take effect at the execve; written before any
    // seccomp filter (runc writes them before its filters too), so no profile has to allow
    // the writes, and a refused one fails create or exec, not start.
    if let Some(proc) = proc.as_ref().filter(|_| !labels.is_empty()) {
        lsm::set_exec(proc, &labels)?;
    }
    let nnp = process.no_new_privileges().unwrap_or(false);
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the
    // capabilities go (runc's and youki's order). The profile must allow what follows.
    if let Some(c) = s.seccomp.filter(|_| !nnp) {
        load_seccomp(c, chan)?;
    }
    creds::apply_bounding(process.capabilities().as_ref())?;
    creds::apply_user_and_caps(process, setgroups)?;
    // SAFETY: umask takes an integer.
    unsafe { libc::umask(process.user().umask().unwrap_or(0o022) as libc::mode_t) };
    enter_cwd(process.cwd())?;
    // As the user and from cwd, like Go's exec.LookPath in runc's inits.
    let args = process.args().clone().unwrap_or_default();
    let exe = env::find_executable(&args[0], &environ)?;
    let argv = sys::fd::cstrings(&args).context("process")?;
    let envp = sys::fd::cstrings(&environ).context("process")?;

    // SAFETY: prctl with integers: from here on the process may outlive hull (`create`
    // returns, `exec -d` returns).
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) };
    // A notifying filter's fd must reach its listener through hull, which is gone after Ready:
    // with no_new_privs such a filter is loaded now rather than after the gate.
    let mut nnp_set = false;
    if let Some(c) = s.seccomp.filter(|c| nnp && c.notify) {
        set_no_new_privs()?;
        nnp_set = true;
        load_seccomp(c, chan)?;
    }
    chan.send(&Msg::Ready)?;

    // Init's end of the exec fifo stays open until the execve closes it (see wait_for_start):
    // what fails from here on is written to it, so `start` reports it and runs no poststart.
    let gate = match (&s.kind, &proc) {
        (Kind::Init(c), Some(proc)) => Some(init::wait_for_start(s, c, proc, &environ)?),
        _ => None,
    };
    let (err, code) = match finish(s, process, nnp && !nnp_set, &exe, &argv, &envp) {
        // The shell's codes for a program that cannot be executed (126: EACCES, else 127).
        Ok(e) => {
            let code = if e.raw_os_error() == Some(libc::EACCES) {
                126
            } else {
                127
            };
            let what = format!("process.args[0]: exec {}", exe.to_string_lossy());
            (Err::<(), _>(e).context(what).unwrap_err(), code)
        }
        Err(e) => (e, 1),
    };
    // A joining process's failure before execve goes to hull over the socket.
    if gate.is_none() && code == 1 {
        return Err(err);
    }
    // On the process's stderr (as runc's init), and to `start` through the fifo.
    crate::logging::error(&err.render());
    if let Some(gate) = gate {
        init::report_after_start(gate, &err);
    }
    sys::clone::exit_now(code)
}

/// After the gate: affinity, no_new_privs (unless set already), signals reset, fds past stdio
/// and --preserve-fds close-on-exec, seccomp with no_new_privs, execve. Returns only on error:
/// `Ok` with execve's, `Err` with an earlier step's.
fn finish(
    s: &Spawn,
    process: &crate::oci::Process,
    set_nnp: bool,
    exe: &CString,
    argv: &[CString],
    envp: &[CString],
) -> Result<std::io::Error> {
    if let Some(fin) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().clone())
    {
        sys::cpu::set_affinity(&fin, "process.execCPUAffinity.final")?;
    }
    if set_nnp {
        set_no_new_privs()?;
    }
    crate::signals::reset_for_exec();
    sys::fd::cloexec_from(3 + s.preserve_fds);
    // With no_new_privs, as late as possible: only execve follows (crun's order).
    let nnp = process.no_new_privileges().unwrap_or(false);
    if let Some(c) = s.seccomp.filter(|c| nnp && !c.notify) {
        crate::seccomp::install(c)?;
    }
    Ok(execve(exe, argv, envp))
}

/// chdir to `process.cwd` and check that it is inside the container's root: a path through an
/// fd that leads out of it (`/proc/self/fd/N` naming a host directory) leaves getcwd(3) with
/// no path under the root, and the process must not start there (runc's fix of
/// CVE-2024-21626).
fn enter_cwd(cwd: &std::path::Path) -> Result<()> {
    nix::unistd::chdir(cwd)
        .with_context(|| format!("process.cwd: chdir {}", crate::error::short(cwd)))?;
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => Err(Error::invalid(format!(
            "process.cwd: {} is outside the container's root",
            crate::error::short(cwd)
        ))),
    }
}

/// Load the seccomp filter; a notifying one sends its listener fd up to hull and waits until
/// hull has passed it on to the listener.
fn load_seccomp(c: &Compiled, chan: &Channel) -> Result<()> {
    if let Some(fd) = crate::seccomp::install(c)? {
        chan.send_fd(&Msg::SeccompFd, &fd)?;
        chan.expect(&Msg::SeccompFdDone)?;
    }
    Ok(())
}

fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integers.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("process.noNewPrivileges");
    }
    Ok(())
}

/// execve; returns only its failure.
fn execve(exe: &CString, argv: &[CString], envp: &[CString]) -> std::io::Error {
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of pointers into CStrings that outlive the call.
    unsafe { libc::execve(exe.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    std::io::Error::last_os_error()
}

/// Whether this process's user namespace allows setgroups (/proc/self/setgroups is `deny`
/// after an unprivileged self-map; a kernel without the file allows it).
pub fn setgroups_allowed() -> bool {
    setgroups_allowed_at(std::path::Path::new("/proc/self/setgroups"))
}

/// [`setgroups_allowed`] for the file at `path` (`/proc/PID/setgroups`).
pub fn setgroups_allowed_at(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path).map_or(true, |v| v.trim() != "deny")
}
