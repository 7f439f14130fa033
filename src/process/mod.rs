//! The spawn pipeline: the one way a process of hull's gets into a container, for a new
//! container's init (`create`, `run`) and for a process joining a running one (`exec`) alike.
//! A [`Spawn`] describes what is spawned; everything that differs between the two kinds is data
//! in it ([`Kind`]), never a second copy of the sequence. Stage 1 and the payload are clones of
//! this single-threaded process; they talk to the parent over one socket (`sync.rs`).
//!
//! ```text
//! parent (hull)        stage 1 (fork, born in the cgroup2 dir)      payload (clone of stage 1)
//! ─────────────        ───────────────────────────────────────      ──────────────────────────
//! spawn()
//!   fork_into ───────▶ join cgroups (v1 `tasks` by itself)
//!                      [refused, a user's unit: PlaceMe ◀─▶ parent
//!                       has systemd move it]
//!                      rlimits, oomScoreAdj, affinity (host privs)
//!                      setns by path (user first, mount last)
//!                      [new user ns: MapIds ◀─▶ parent writes maps]
//!                      unshare ipc/uts/net/time, timens offsets
//!                      unshare pid; close what the payload must
//!                      not hold; clone(CLONE_PARENT) ──────────▶ (hull's child, in the pid ns)
//!   ◀─ InitPid ─────── exit
//!   pidfd_open, Go ──────────────────────────────────────────▶ enter: Init → mount ns, rootfs,
//!                                                              pivot_root (◀─ Hooks ─▶ parent runs
//!                                                              prestart/createRuntime); Join →
//!                                                              chroot to init's root
//!                                                              console, hostname/sysctl/finalize
//!                                                              keyring, HOME, sched, seccomp,
//!                                                              credentials, cwd, PATH lookup
//!   ◀─ SeccompFd (listener) ──▶ SeccompFdDone (notify filter)
//!   ◀─ Ready ─────────────────────────────────────────────────
//!   Init: return (init blocks on the exec fifo until `start`)  gate: Init → exec fifo +
//!   Join: wait for the socket's EOF (execve done)                 startContainer hooks
//!                                                              affinity, NNP, signals, fds,
//!                                                              seccomp (NNP), execve
//! ```
//!
//! The payload is the process the container sees: init, or the exec'd process. A failure in a
//! child travels up as one `Msg::Error` (with its errno) and the child `_exit`s; the parent
//! kills and reaps whatever it started, so a failed spawn leaves no process behind.

pub mod attrs;
pub mod creds;
mod env;
/// The `PATH` a process without one gets (runc's, Go's exec.LookPath default).
pub use env::DEFAULT_PATH;
mod handshake;
pub mod idmap;
mod init;
pub mod payload;
mod stage1;
pub mod sync;

use std::collections::HashMap;
use std::convert::Infallible;
use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;

use crate::oci::{Process, Spec};
use oci_spec::runtime::LinuxPersonalityDomain;

use crate::cgroups::{CgroupState, JoinDirs};
use crate::error::{Context, Result};
use crate::namespaces::Plan;
use crate::sys;
use sync::{Channel, Msg};

/// Everything a spawn needs, prepared by the parent before the first clone (so a bad request
/// fails before anything exists).
pub struct Spawn<'a> {
    /// Container id (the session keyring's name, the state hooks and listeners are sent).
    pub id: &'a str,
    /// Bundle directory (the state hooks and listeners are sent).
    pub bundle: &'a Path,
    /// The config's annotations (likewise).
    pub annotations: &'a HashMap<String, String>,
    /// What is spawned, and what only that kind does.
    pub kind: Kind<'a>,
    /// The process to run (for exec: the flags and `--process` merged with the config).
    pub process: &'a Process,
    /// The container's `linux.personality`.
    pub personality: Option<LinuxPersonalityDomain>,
    /// The container's `linux.memoryPolicy`, checked (init's and every exec'd process's).
    pub memory_policy: Option<attrs::MemPolicy>,
    /// Namespaces to join by fd (user first, mount last) and to create (none for a join).
    pub namespaces: Plan,
    /// The cgroup directories stage 1 joins (opened before any clone).
    pub cgroups: JoinDirs,
    /// The container's compiled `linux.seccomp`; a notifying filter's listener fd goes to its
    /// `listenerPath` through hull.
    pub seccomp: Option<&'a crate::seccomp::Compiled>,
    /// Keep the caller's session keyring (`create --no-new-keyring`, recorded for exec).
    pub no_new_keyring: bool,
    /// `--preserve-fds` (and socket activation's fds): fds 3..3+N reach the payload.
    pub preserve_fds: u32,
    /// Fds of the parent no child may keep (the state-dir lock: a copy would outlive hull).
    pub close_fds: Vec<RawFd>,
    /// `process.terminal`: where the pty master goes.
    pub console: Option<Console>,
    /// Rootless mode (`rootless.rs`): how id maps are written.
    pub rootless: bool,
}

/// What is spawned (youki's `ContainerType`).
pub enum Kind<'a> {
    /// A new container's init: new namespaces, a new root filesystem, the exec fifo.
    Init(NewContainer<'a>),
    /// A process joining a running container (`exec`, runc's setns process).
    Join(Joining),
}

/// What only a new container's init needs.
pub struct NewContainer<'a> {
    /// The config (mounts, devices, hostname, sysctls, hooks, id maps, time offsets, ...).
    pub spec: &'a Spec,
    /// Host path of the rootfs.
    pub rootfs: &'a Path,
    /// O_PATH fd of the exec fifo (init reopens it for writing and blocks until `start`).
    pub fifo: RawFd,
    /// The container's cgroups (for `cgroup` mounts).
    pub cgroup: &'a CgroupState,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// The id-mapped mounts' sources, made before any clone (init attaches and closes them).
    pub idmapped: &'a crate::rootfs::idmap::Trees,
}

/// What only a process joining a running container needs.
pub struct Joining {
    /// Host pid of the container's init.
    pub init_pid: i32,
    /// O_PATH fd of init's root directory (`/proc/<init>/root`).
    pub root: OwnedFd,
    /// Whether init's user namespace allows setgroups (`/proc/<init>/setgroups`, read by the
    /// parent on the host's procfs): a rootless self-map denies it.
    pub setgroups: bool,
}

/// The terminal of the payload (`process.terminal`).
pub struct Console {
    /// A connected, close-on-exec socket the pty master is sent over (the caller's
    /// `--console-socket`, or hull's own socketpair when it relays in the foreground).
    pub socket: RawFd,
    /// Clear the pty's ONLCR before the process can write: hull relays in the foreground and
    /// its own terminal translates (`tty::Plan::finish` does it too, but only after Ready).
    pub relay: bool,
}

/// The config's `linux.memoryPolicy`, resolved for the payload (checked by `spec::validate`).
pub fn memory_policy(linux: &oci_spec::runtime::Linux) -> Result<Option<attrs::MemPolicy>> {
    linux
        .memory_policy()
        .as_ref()
        .map(|p| attrs::memory_policy(p, None))
        .transpose()
}

impl Kind<'_> {
    /// The status and the container's init pid a seccomp listener is told about, for a
    /// payload whose host pid is `pid`.
    fn listener_state(&self, pid: i32) -> (&'static str, i32) {
        match self {
            Kind::Init(_) => ("creating", pid),
            Kind::Join(j) => ("running", j.init_pid),
        }
    }
}

/// The spawned payload, as seen by the parent (init, or the exec'd process).
pub struct Child {
    /// Host pid.
    pub pid: i32,
    /// A pidfd for it (race-free signals and waits).
    pub pidfd: OwnedFd,
}

/// Spawn the payload described by `s` and wait until only its final steps are left: for a new
/// container's init, blocking on the exec fifo; for a joining process, its execve (so `exec -d`
/// returns with the process running). On error nothing is left running.
pub fn spawn(s: &Spawn) -> Result<Child> {
    let (parent, child) = sync::pair()?;
    // Stage 1 is born in the cgroup2 directory when the kernel allows it and joins the v1 ones
    // by itself (no RCU wait either way, see `cgroups::join`); the payload, its clone, is born
    // in all of them.
    let (stage1, born_in_v2) = sys::clone::fork_into(s.cgroups.v2_fd()).context("fork stage 1")?;
    if stage1 == 0 {
        drop(parent);
        let res = stage1::run(s, &child, born_in_v2);
        child_exit(&child, res);
    }
    drop(child);
    handshake::run(s, &parent, stage1)
}

/// SIGKILL a spawned child and reap it (it is hull's child thanks to CLONE_PARENT).
pub fn kill_and_reap(c: &Child) {
    let _ = sys::pidfd::signal(&c.pidfd, libc::SIGKILL);
    let _ = sys::wait::wait(c.pid);
}

/// End a child of the pipeline: on error send one `Msg::Error` up (its errno along), then
/// `_exit` without unwinding or flushing the parent's stdio buffers.
fn child_exit(chan: &Channel, res: Result<Infallible>) -> ! {
    let code = match res {
        Ok(never) => match never {},
        Err(e) => {
            let _ = chan.send(&Msg::Error {
                errno: e.errno().unwrap_or(0),
                msg: e.render(),
            });
            1
        }
    };
    sys::clone::exit_now(code)
}
