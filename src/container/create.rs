//! The `create` verb: validate the bundle, make the state dir, record a provisional state (what
//! is about to be made), make the exec fifo and the cgroups, spawn init through the spawn
//! pipeline (`process/`), then record the final state and the pid file. On any failure
//! everything made so far is undone — no state dir, no cgroup, no process, no mount — and the
//! `poststop` hooks run (runtime.md: a failed create continues at delete). A hull killed
//! anywhere leaves at most the state dir with one of the two states, from which `delete
//! --force` removes exactly what exists.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxNamespaceType as T;

use super::caller::{write_pid_file, Caller};
use super::state::Creator;
use super::{status, Container, State};
use crate::cgroups::{self, JoinDirs};
use crate::error::{Context, Error, Result};
use crate::process::{self, Child, Kind, NewContainer, Spawn};
use crate::{namespaces, rootfs, spec};

/// What `create` (and `run`) are asked for, besides the id.
#[derive(Debug, Default)]
pub struct Options {
    /// The bundle directory.
    pub bundle: PathBuf,
    /// `--console-socket`.
    pub console_socket: Option<PathBuf>,
    /// `--pidfd-socket`.
    pub pidfd_socket: Option<PathBuf>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// `--preserve-fds`.
    pub preserve_fds: u32,
    /// `--systemd-cgroup`: the cgroup is a systemd unit.
    pub systemd_cgroup: bool,
    /// The caller returns once the container is created or runs (`create`, `run -d`); false
    /// for foreground `run`, which relays a terminal itself instead of using a console socket.
    pub detach: bool,
    /// Rootless mode (`rootless.rs`).
    pub rootless: bool,
}

/// A container that was just created.
pub struct Created {
    /// Its locked state dir.
    pub container: Container,
    /// Its saved state.
    pub state: State,
    /// Its init (a child of this process until it exits).
    pub init: Child,
    /// Foreground `run` with `process.terminal`: the pty master and hull's terminal.
    pub console: Option<crate::tty::Console>,
}

/// The cgroup driver of a new container (`--systemd-cgroup` or cgroupfs), its placement
/// resolved and checked before anything is made (`hull check` asks it too).
pub fn cgroup_manager(
    systemd: bool,
    rootless: bool,
    linux: &oci_spec::runtime::Linux,
    id: &str,
    res: &oci_spec::runtime::LinuxResources,
    annotations: &std::collections::HashMap<String, String>,
) -> Result<cgroups::Manager> {
    if !systemd {
        return Ok(cgroups::Manager::new(linux.cgroups_path().as_deref(), id)?.rootless(rootless));
    }
    cgroups::Manager::systemd(
        linux.cgroups_path().as_deref(),
        id,
        res,
        annotations,
        rootless,
    )
}

impl Container {
    /// Create container `id` under the state root `root` from `o.bundle`; the caller decides
    /// whether to start it.
    pub fn create(root: &Path, id: &str, o: &Options) -> Result<Created> {
        super::validate_id(id)?;
        let mut bundle = spec::load(&o.bundle)?;
        if o.rootless {
            crate::rootless::check_config(&bundle.spec)?;
        }
        let listen_fds = socket_activation(&mut bundle.spec);
        let linux = bundle
            .spec
            .linux()
            .as_ref()
            .expect("validated: linux present");
        let process = bundle
            .spec
            .process()
            .as_ref()
            .expect("validated: process present");
        let ns = namespaces::plan(linux.namespaces().as_deref().unwrap_or_default())?;
        let caller = Caller::prepare(
            linux,
            process,
            o.detach,
            o.console_socket.as_deref(),
            o.pidfd_socket.as_deref(),
        )?;
        // Id-mapped mounts' sources, mapped by hull before anything exists (init in a user
        // namespace could not map them: `rootfs::idmap`).
        let user_join = ns
            .join
            .iter()
            .find(|j| j.typ == T::User)
            .map(|j| j.fd.as_fd());
        let idmapped =
            rootfs::idmap::Trees::prepare(&bundle.spec, &bundle.dir, &bundle.rootfs, user_join)?;
        let annotations = bundle.spec.annotations().clone().unwrap_or_default();
        // Always apply: with no device rules in the config the container still gets
        // deny-all plus runc's default device allowlist.
        let mut res = linux.resources().clone().unwrap_or_default();
        if res.devices().is_none() {
            res.set_devices(Some(Vec::new()));
        }
        let mut cg = cgroup_manager(o.systemd_cgroup, o.rootless, linux, id, &res, &annotations)?;
        let container = Container::make_dir(root, id, o.rootless)?;
        // The provisional state: what this create is about to make (the exec fifo lives in the
        // state dir; `cgroup.created` lists the directories to come) and who makes it, so a hull
        // killed from here on leaves what `delete --force` needs to remove exactly what exists.
        let mut state = State {
            id: id.to_string(),
            pid: 0,
            start_time: 0,
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            created: crate::timefmt::now_rfc3339(true),
            owner: String::new(),
            annotations: annotations.clone(),
            cgroup: cg.planned(),
            hooks: bundle.spec.hooks().clone(),
            no_new_keyring: o.no_new_keyring,
            creating: Some(Creator::me()),
        };
        let mut init: Option<Child> = None;
        let mut term: Option<crate::tty::Console> = None;
        let res = (|| -> Result<()> {
            container.save(&state)?;
            let fifo = make_fifo(&container.fifo_path())?;
            cg.create()?;
            cg.apply(&res)?;
            let spawn = Spawn {
                id,
                bundle: &bundle.dir,
                annotations: &annotations,
                kind: Kind::Init(NewContainer {
                    spec: &bundle.spec,
                    rootfs: &bundle.rootfs,
                    fifo: fifo.as_raw_fd(),
                    cgroup: cg.state(),
                    no_pivot: o.no_pivot,
                    idmapped: &idmapped,
                }),
                process,
                personality: linux.personality().as_ref().map(|p| p.domain()),
                memory_policy: crate::process::memory_policy(linux)?,
                namespaces: ns,
                cgroups: JoinDirs::open(cg.state(), &[])?,
                seccomp: caller.seccomp.as_ref(),
                no_new_keyring: o.no_new_keyring,
                preserve_fds: o.preserve_fds + listen_fds,
                close_fds: vec![container.lock_fd()],
                console: caller.console(false),
                rootless: o.rootless,
            };
            let child = init.insert(process::spawn(&spawn)?);
            cg.populated();
            let pid = child.pid;
            // Init is ready and no longer dies with hull: record it at once (until now it was
            // only findable in the container's cgroup).
            let (_, start_time) = status::proc_stat(pid)
                .ok_or(Error::Msg("container init exited during create".into()))?;
            state.pid = pid;
            state.start_time = start_time;
            state.created = crate::timefmt::now_rfc3339(true);
            state.cgroup = cg.state().clone();
            state.creating = None;
            container.save(&state)?;
            term = caller.finish(child, "standard")?;
            if let Some(p) = &o.pid_file {
                write_pid_file(p, pid)?;
            }
            Ok(())
        })();
        match res {
            Ok(()) => Ok(Created {
                container,
                state,
                init: init.expect("set on success"),
                console: term,
            }),
            Err(e) => {
                if let Some(i) = &init {
                    process::kill_and_reap(i);
                }
                // Only a cgroup this create made is emptied: one that was there before (a
                // cgroupsPath shared with a running container) keeps its processes.
                if cg.owns_leaves() {
                    cgroups::kill_all(cg.state());
                }
                let _ = cgroups::destroy(cg.state());
                let _ = container.remove();
                // runtime.md: a failed create continues the lifecycle at step 12 (destroy),
                // then 13 (poststop).
                let state =
                    crate::hooks::HookState::new(id, "stopped", 0, &bundle.dir, &annotations);
                crate::hooks::run_warn(
                    bundle.spec.hooks().as_ref(),
                    crate::hooks::Kind::Poststop,
                    &state.to_json(),
                );
                Err(e)
            }
        }
    }
}

fn make_fifo(path: &Path) -> Result<OwnedFd> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o622))
        .with_context(|| format!("mkfifo {}", path.display()))?;
    // mkfifo honours the umask; the container user (maybe not root) must be able to write it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o622))?;
    open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open {}", path.display()))
}

/// How many sockets hull was handed for the container by socket activation: `LISTEN_FDS=N`,
/// with `LISTEN_PID` unset or ours (fds 3..3+N).
pub fn listen_fds() -> u32 {
    let Some(n) = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n > 0)
    else {
        return 0;
    };
    if std::env::var("LISTEN_PID").is_ok_and(|p| p != std::process::id().to_string()) {
        return 0;
    }
    n
}

/// Socket activation, as runc does: when hull itself was handed sockets ([`listen_fds`]), they
/// stay open at 3.. for the container process, which gets `LISTEN_FDS=N` and `LISTEN_PID=1`.
/// Returns N.
fn socket_activation(spec: &mut crate::oci::Spec) -> u32 {
    let n = listen_fds();
    if n == 0 {
        return 0;
    }
    if let Some(p) = spec.process_mut() {
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={n}"));
        env.push("LISTEN_PID=1".to_string());
        p.set_env(Some(env));
    }
    n
}
