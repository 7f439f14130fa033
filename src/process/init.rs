//! Init: pid 1 of the container, a clone of hull until its final execve. In order: wait for Go
//! (it is in its cgroups), cgroup and mount namespaces, the root filesystem and pivot_root,
//! hostname and sysctls, masked/readonly paths, HOME from the container's /etc/passwd when the
//! env has none, scheduler and personality, credentials, cwd;
//! then Ready, block on the exec fifo until `start`, and execve the payload with nothing but
//! stdio (and --preserve-fds) open.

use std::convert::Infallible;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::path::PathBuf;

use nix::sched::{unshare, CloneFlags};
use oci_spec::runtime::LinuxNamespaceType as T;

use super::payload::{
    self, close_extra_fds, cstrings, find_executable, load_seccomp, reset_signals, set_no_new_privs,
};
use super::sync::{Channel, Msg};
use super::{attrs, creds, Launch};
use crate::error::{Context, Result};
use crate::rootfs;

/// Run init. Returns only on error.
pub fn run(l: &Launch, chan: &Channel) -> Result<Infallible> {
    // SAFETY: prctl/setsid take integers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::setsid();
    }
    chan.expect(&Msg::Go)?;
    let spec = &l.bundle.spec;
    let process = spec.process().as_ref().expect("validated: process present");
    let linux = spec.linux().as_ref().expect("validated: linux present");

    if l.ns.is_new(T::Cgroup) {
        unshare(CloneFlags::CLONE_NEWCGROUP).context("unshare cgroup namespace")?;
    }
    if l.ns.is_new(T::Mount) {
        unshare(CloneFlags::CLONE_NEWNS).context("unshare mount namespace")?;
    }
    let ctx = rootfs::Ctx {
        spec,
        bundle: &l.bundle.dir,
        rootfs: &l.bundle.rootfs,
        userns: l.ns.has(T::User),
        new_cgroupns: l.ns.is_new(T::Cgroup),
        cgroup: l.cgroup,
        no_pivot: l.no_pivot,
        before_pivot: &|| crate::hooks::before_pivot(l, chan),
    };
    rootfs::prepare(&ctx)?;
    // After pivot_root, before the rootfs is finalized (runc's place for the console).
    if let Some(fd) = l.console_socket {
        // SAFETY: init's copy of the socket hull handed down; nothing else in init uses it.
        let sock = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        crate::tty::setup_in_container(sock, process, true)?;
    }

    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).with_context(|| format!("hostname: sethostname {h:?}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        // SAFETY: setdomainname reads `d.len()` bytes from a live string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("domainname: setdomainname {d:?}"));
        }
    }
    if let Some(sysctl) = linux.sysctl() {
        let mut keys: Vec<_> = sysctl.keys().collect();
        keys.sort();
        for k in keys {
            let path = PathBuf::from("/proc/sys").join(k.replace('.', "/"));
            crate::fsutil::write_file(&path, &sysctl[k])
                .with_context(|| format!("linux.sysctl.{k}"))?;
        }
    }
    rootfs::finalize(&ctx)?;
    if !l.no_new_keyring {
        attrs::join_session_keyring(l.id)?;
    }

    let args = process.args().clone().unwrap_or_default();
    let mut env = process.env().clone().unwrap_or_default();
    // From the container's /etc/passwd, while init is still root (runc's setupUser).
    payload::set_home(&mut env, process.user().uid());
    let exe = find_executable(&args[0], &env)?;
    attrs::apply_sched(process, linux.personality().as_ref().map(|p| p.domain()))?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it before the
    // capabilities go (runc's and youki's order). The profile must allow what follows.
    if let Some(c) = l.seccomp.filter(|_| !nnp) {
        load_seccomp(c, chan)?;
    }
    creds::apply_bounding(process.capabilities().as_ref())?;
    creds::apply_user_and_caps(process, true)?;
    // SAFETY: umask takes an integer.
    unsafe { libc::umask(process.user().umask().unwrap_or(0o022) as libc::mode_t) };
    nix::unistd::chdir(process.cwd())
        .with_context(|| format!("process.cwd: chdir {}", process.cwd().display()))?;

    let argv = cstrings(&args)?;
    let envp = cstrings(&env)?;
    // SAFETY: prctl with integers: from here on init outlives hull when `create` returns.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) };
    // A notifying filter's fd must reach the listener through hull, which is gone after
    // Ready: with no_new_privs such a filter is loaded now rather than after the fifo.
    let mut nnp_set = false;
    if let Some(c) = l.seccomp.filter(|c| nnp && c.notify) {
        set_no_new_privs()?;
        nnp_set = true;
        load_seccomp(c, chan)?;
    }
    chan.send(&Msg::Ready)?;

    // Blocks until `start` opens the read side (runc's direction).
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags_cloexec()
        .open(format!("/proc/self/fd/{}", l.fifo))
        .context("open exec fifo")?;
    // `start` is waiting on the other end: a failing hook reaches it as '1' + the message.
    if let Err(e) = crate::hooks::start_container(l, &env) {
        let _ = fifo.write_all(crate::hooks::fifo_error(&e).as_bytes());
        return Err(e);
    }
    fifo.write_all(b"0").context("write exec fifo")?;
    drop(fifo);

    if let Some(fin) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.cpu_affinity_final().clone())
    {
        attrs::set_affinity(&fin, "process.execCPUAffinity.final")?;
    }
    if nnp && !nnp_set {
        set_no_new_privs()?;
    }
    reset_signals();
    close_extra_fds(3 + l.preserve_fds);
    // With no_new_privs, as late as possible: only execve follows (crun's order).
    if let Some(c) = l.seccomp.filter(|c| nnp && !c.notify) {
        crate::seccomp::install(c)?;
    }
    payload::exec(&exe, &argv, &envp)
}

trait CloexecExt {
    fn custom_flags_cloexec(&mut self) -> &mut Self;
}

impl CloexecExt for std::fs::OpenOptions {
    fn custom_flags_cloexec(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_CLOEXEC)
    }
}
