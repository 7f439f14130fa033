//! Stage 1, the intermediate child of every spawn: joins the container's cgroups, applies the
//! limits that need the host's privileges, joins namespaces by fd (user first, mount last),
//! makes the new ones (a new user namespace with its maps written by the parent; the others
//! but mount and cgroup, which init unshares later; pid last, for its child), closes every fd
//! the payload must not hold, clones the payload as hull's own child (CLONE_PARENT: it is
//! hull's child and, being a child of the setns caller, in the container's pid namespace),
//! reports its pid and exits. It never runs container code.

use std::convert::Infallible;
use std::os::fd::AsRawFd;

use nix::sched::{setns, unshare, CloneFlags};
use oci_spec::runtime::LinuxNamespaceType as T;

use super::sync::{Channel, Msg};
use super::{attrs, payload, Kind, Spawn};
use crate::error::{Context, Result};
use crate::namespaces::{flag, spec_name};
use crate::sys;

/// Run stage 1. Returns only on error (the caller reports it and exits).
pub fn run(s: &Spawn, chan: &Channel, born_in_v2: bool) -> Result<Infallible> {
    // Non-dumpable from here until the payload's execve (which makes the new image dumpable
    // again): no process of the container may open /proc/<pid>/{fd,cwd,root,exe,mem} of a
    // clone of hull that entered its pid namespace — before its chroot or pivot_root, cwd and
    // root are the host's (CVE-2016-9962). Only CAP_SYS_PTRACE in the initial user namespace
    // can. The payload inherits it with the memory map. (The kernel drops dumpability by
    // itself when the credentials change, but a process of a user namespace holding
    // CAP_SYS_PTRACE there could reach the payload before that.)
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    for &fd in &s.close_fds {
        // SAFETY: closing an fd the parent named as not ours to keep (the state-dir lock: a
        // copy held here would keep the container locked after hull exits).
        unsafe { libc::close(fd) };
    }
    // First, while stage 1 still has the host's privileges and cgroup namespace.
    if let Err(e) = s.cgroups.join_self(born_in_v2) {
        if !s.cgroups.by_manager(&e) {
            return Err(e);
        }
        chan.send(&Msg::PlaceMe)?;
        chan.expect(&Msg::Placed)?;
    }
    // Before any user namespace, so raising a limit works as on the host (runc sets them from
    // the parent with prlimit for the same reason).
    attrs::apply_limits(s.process)?;
    if let Some(initial) = s
        .process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().clone())
    {
        sys::cpu::set_affinity(&initial, "process.execCPUAffinity.initial")?;
    }

    let ns = &s.namespaces;
    for j in &ns.join {
        // The pid namespace applies to children: the payload, cloned below.
        setns(&j.fd, flag(j.typ))
            .with_context(|| format!("join the {} namespace {}", spec_name(j.typ), j.source))?;
    }
    if ns.is_new(T::User) {
        if let Err(e) = unshare(CloneFlags::CLONE_NEWUSER) {
            let why = crate::rootless::userns_refused(e as i32);
            return Err(e).with_context(|| format!("unshare user namespace: {why}"));
        }
        // An unprivileged parent can open this process's map files only while it is
        // dumpable (else they belong to host root). Nothing of the container exists yet to
        // reach it meanwhile: the new user namespace holds only this process.
        let unprivileged = s.rootless && crate::rootless::euid() != 0;
        set_dumpable(unprivileged);
        chan.send(&Msg::MapIds)?;
        let done = chan.expect(&Msg::MapIdsDone);
        set_dumpable(false);
        done?;
    }
    if ns.has(T::User) {
        // Become root of the new or joined namespace when root is mapped (it usually is): host
        // root is unmapped there, and files it creates (device nodes, mount points) would fail
        // with EOVERFLOW.
        // SAFETY: integer syscalls; single-threaded.
        unsafe {
            libc::syscall(libc::SYS_setresgid, 0, 0, 0);
            libc::syscall(libc::SYS_setresuid, 0, 0, 0);
        }
    }
    let mut flags = CloneFlags::empty();
    for t in [T::Ipc, T::Uts, T::Network, T::Time] {
        if ns.is_new(t) {
            flags |= flag(t);
        }
    }
    if !flags.is_empty() {
        unshare(flags).context("unshare namespaces")?;
    }
    if let (true, Kind::Init(c)) = (ns.is_new(T::Time), &s.kind) {
        write_time_offsets(c.spec)?;
    }
    if ns.is_new(T::Pid) {
        unshare(CloneFlags::CLONE_NEWPID).context("unshare pid namespace")?;
    }
    // The payload lives in the container: nothing of the host it does not need may reach it
    // (an open host directory is a way out: `process.cwd` /proc/self/fd/N).
    for fd in s
        .cgroups
        .fds()
        .chain(ns.join.iter().map(|j| j.fd.as_raw_fd()))
    {
        // SAFETY: closing fds only stage 1 used; this process never drops their owners (it
        // ends in _exit), so nothing closes them twice.
        unsafe { libc::close(fd) };
    }

    let pid = sys::clone::clone_parent().context("clone the container process")?;
    if pid == 0 {
        let res = payload::run(s, chan);
        super::child_exit(chan, res);
    }
    chan.send(&Msg::InitPid { pid })?;
    sys::clone::exit_now(0)
}

/// `linux.timeOffsets`, written for the new time namespace before any process is in it.
fn write_time_offsets(spec: &crate::oci::Spec) -> Result<()> {
    let linux = spec.linux().as_ref().expect("validated: linux present");
    let Some(offsets) = linux.time_offsets() else {
        return Ok(());
    };
    let text: String = offsets
        .iter()
        .map(|(clock, o)| {
            format!(
                "{clock} {} {}\n",
                o.secs().unwrap_or(0),
                o.nanosecs().unwrap_or(0)
            )
        })
        .collect();
    crate::fsutil::write_file(std::path::Path::new("/proc/self/timens_offsets"), &text)
        .context("linux.timeOffsets")
}

fn set_dumpable(on: bool) {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) };
}
