//! Stage 1, the intermediate child: joins the container's cgroups, applies the limits that need
//! the host's privileges, then namespaces
//! (join by path, user first; a new user namespace with its maps written by the parent; the
//! others except mount and cgroup, which init unshares later), then init is cloned as hull's
//! own child (CLONE_PARENT) and stage 1 reports its pid and exits.

use std::convert::Infallible;
use std::os::fd::AsRawFd;

use nix::sched::{setns, unshare, CloneFlags};
use oci_spec::runtime::LinuxNamespaceType as T;

use super::sync::{Channel, Msg};
use super::{attrs, fork, init, Launch};
use crate::error::{Context, Result};
use crate::namespaces::{flag, spec_name};

/// Run stage 1. Returns only on error (the caller reports it and exits).
pub fn run(l: &Launch, chan: &Channel, v2_joined: bool) -> Result<Infallible> {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    for fd in &l.close_fds {
        // SAFETY: closing an fd the parent named as not ours to keep (the state-dir lock:
        // a copy held here would keep the container locked after hull exits).
        unsafe { libc::close(*fd) };
    }
    // First, while stage 1 still has the host's privileges and cgroup namespace.
    crate::cgroups::join_self(l.cgroup, v2_joined)?;
    let spec = &l.bundle.spec;
    let process = spec.process().as_ref().expect("validated: process present");
    let linux = spec.linux().as_ref().expect("validated: linux present");

    attrs::apply_limits(process)?;
    if let Some(initial) = process
        .exec_cpu_affinity()
        .as_ref()
        .and_then(|a| a.initial().clone())
    {
        attrs::set_affinity(&initial, "process.execCPUAffinity.initial")?;
    }

    for (t, fd) in &l.ns.join {
        // The pid namespace applies to children: init, cloned below.
        setns(fd, flag(*t))
            .with_context(|| format!("join {} namespace (fd {})", spec_name(*t), fd.as_raw_fd()))?;
    }

    if l.ns.is_new(T::User) {
        unshare(CloneFlags::CLONE_NEWUSER).context("unshare user namespace")?;
        chan.send(&Msg::MapIds)?;
        chan.expect(&Msg::MapIdsDone)?;
    }
    if l.ns.has(T::User) {
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
        if l.ns.is_new(t) {
            flags |= flag(t);
        }
    }
    if !flags.is_empty() {
        unshare(flags).context("unshare namespaces")?;
    }
    if l.ns.is_new(T::Time) {
        if let Some(offsets) = linux.time_offsets() {
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
                .context("linux.timeOffsets")?;
        }
    }
    if l.ns.is_new(T::Pid) {
        unshare(CloneFlags::CLONE_NEWPID).context("unshare pid namespace")?;
    }

    let pid = fork::clone_parent().context("clone container init")?;
    if pid == 0 {
        let res = init::run(l, chan);
        fork::child_exit(chan, res);
    }
    chan.send(&Msg::InitPid { pid })?;
    fork::exit_now(0)
}
