//! The `exec` verb: a new process in a created, running (or, with `ignore_paused`, paused)
//! container, through the same spawn pipeline as init (`process/`, kind `Join`):
//!
//! - Everything is opened before any clone — init's pidfd, its namespaces, its root, the
//!   container's cgroup directories (or `--cgroup` sub-cgroups) — and the container's seccomp
//!   profile is compiled; the process reports Ready only once its binary was found: a bad
//!   request fails with nothing left running.
//! - Foreground: stdio is inherited, signals are forwarded, the exit code is passed through
//!   (128+N after signal N). Detached it returns 0 once the process has exec'd; it stays hull's
//!   child only until hull exits, then belongs to the caller's subreaper.
//! - Terminals (`--tty`, or `terminal: true` in a `--process` file; never the config's own
//!   `process.terminal`): runc's flag rules (`tty::check_flags`), checked before anything
//!   starts. The pty is made inside the container as for init (no /dev/console bind); the
//!   master goes to `--console-socket` (detached) or to hull, which relays between its own
//!   terminal and the master like foreground `run`.

use std::path::{Path, PathBuf};

use super::caller::{write_pid_file, Caller};
use super::exec_process::{self, ProcessFlags};
use super::{status, Container, Status};
use crate::cgroups::{self, JoinDirs};
use crate::error::{Context, Error, Result};
use crate::process::{self, Joining, Kind, Spawn};
use crate::{namespaces, signals, spec, sys};

/// What `exec` is asked for, besides the container and the process.
#[derive(Debug, Default)]
pub struct Options {
    /// `--process FILE`: the whole process (the flags in `flags` are then ignored).
    pub process_file: Option<PathBuf>,
    /// The process flags.
    pub flags: ProcessFlags,
    /// `--detach`.
    pub detach: bool,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pidfd-socket`.
    pub pidfd_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--cgroup [controllers:]path`, repeatable.
    pub cgroup: Vec<String>,
    /// `--ignore-paused`.
    pub ignore_paused: bool,
    /// Rootless mode (`rootless.rs`).
    pub rootless: bool,
}

/// Run a process in container `id` under `root`; its exit code in the foreground, 0 detached.
pub fn exec(root: &Path, id: &str, o: &Options) -> Result<i32> {
    let c = Container::open(root, id)?;
    let st = c.state()?;
    match status::derive(&st, &c.dir) {
        s if !s.is_live() => {
            return Err(Error::NotRunning)
                .with_context(|| format!("cannot exec in a {} container {id}", s.as_str()))
        }
        Status::Paused if !o.ignore_paused => {
            return Err(Error::invalid(format!(
                "cannot exec in a paused container {id} (use --ignore-paused to override)"
            )))
        }
        _ => {}
    }
    let bundle =
        spec::load(&st.bundle).with_context(|| format!("container {id}: load its config"))?;
    let linux = bundle
        .spec
        .linux()
        .as_ref()
        .expect("validated: linux present");
    let mut process = exec_process::build(o.process_file.as_deref(), &o.flags, &bundle.spec)?;
    // runc's checkTerminal, with the process's own `terminal` (set from --tty, or the
    // --process file's).
    let caller = Caller::prepare(
        linux,
        &process,
        o.detach,
        o.console_socket.as_deref(),
        o.pidfd_socket.as_deref(),
    )?;
    // In the foreground the process sizes the pty from hull's terminal before its execve: the
    // relay's own resize comes after Ready, too late for a process that asks at once.
    if let (Some((height, width)), None) = (caller.host_size(), process.console_size()) {
        let size = serde_json::from_value(serde_json::json!({"height": height, "width": width}))
            .map_err(|e| Error::Msg(e.to_string()))?;
        process.set_console_size(Some(size));
    }

    // Open init's pieces while its pid is known to be init (pidfd + start time before, pidfd
    // after: a pid reused in between would show as init having exited).
    let pidfd = sys::pidfd::open(st.pid)
        .map_err(|_| Error::NotRunning)
        .with_context(|| id.to_string())?;
    if !status::is_alive(st.pid, st.start_time) {
        return Err(Error::NotRunning).with_context(|| id.to_string());
    }
    let namespaces = namespaces::of_process(st.pid)?;
    let root_fd = open_root(st.pid)?;
    let subs = cgroups::sub_cgroups(&o.cgroup, &st.cgroup.hierarchies)?;
    // runc's fallback to init's cgroup applies to the container's own directory only.
    let fallback = st
        .cgroup
        .unified_root
        .clone()
        .filter(|_| subs.iter().all(Option::is_none));
    let cgroups = JoinDirs::open(&st.cgroup, &subs)?.with_fallback(fallback, st.pid);
    if sys::pidfd::wait_exit(&pidfd, 0) {
        return Err(Error::NotRunning).with_context(|| id.to_string());
    }
    // Everything is open: release the container. Held while the process starts, the lock
    // would deadlock `--ignore-paused` (the process waits in the frozen cgroup until `resume`,
    // which takes the lock), and kill/delete must not wait for an exec. runc takes no lock
    // across processes at all. A delete racing from here makes the cgroup or pid namespace
    // refuse the new process: exec fails cleanly.
    drop(c);

    let spawn = Spawn {
        id,
        bundle: &st.bundle,
        annotations: &st.annotations,
        kind: Kind::Join(Joining {
            init_pid: st.pid,
            root: root_fd,
            setgroups: !o.rootless
                || process::payload::setgroups_allowed_at(Path::new(&format!(
                    "/proc/{}/setgroups",
                    st.pid
                ))),
        }),
        process: &process,
        personality: linux.personality().as_ref().map(|p| p.domain()),
        memory_policy: crate::process::memory_policy(linux)?,
        namespaces,
        cgroups,
        seccomp: caller.seccomp.as_ref(),
        no_new_keyring: st.no_new_keyring,
        preserve_fds: o.preserve_fds,
        close_fds: Vec::new(),
        console: caller.console(!o.detach),
        rootless: o.rootless,
    };
    // Foreground: block forwarded signals before any clone so none is lost; the process
    // unblocks them before its execve.
    let blocked = (!o.detach).then(signals::block_forwarded);
    let child = process::spawn(&spawn)?;
    let after = (|| {
        let mut console = caller.finish(&child, "setns")?;
        if let Some(p) = &o.pid_file {
            write_pid_file(p, child.pid)?;
        }
        if let (Some(c), Some(_)) = (&mut console, &blocked) {
            // hull's terminal is raw while it relays, restored when `c` drops.
            c.host.set_raw()?;
        }
        Ok(console)
    })();
    let console = match after {
        Ok(c) => c,
        Err(e) => {
            process::kill_and_reap(&child);
            return Err(e);
        }
    };
    let Some(b) = blocked else {
        return Ok(0);
    };
    match console {
        Some(c) => crate::tty::relay_until_exit(&c, &b, child.pid),
        None => signals::forward_until_exit(child.pid, &b),
    }
}

/// O_PATH fd of init's root directory (the container's root as init sees it).
fn open_root(pid: i32) -> Result<std::os::fd::OwnedFd> {
    let path = format!("/proc/{pid}/root");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("open {path}"))
}
