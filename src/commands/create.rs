//! `hull create ID`: validate the bundle, make the state dir, the exec fifo and the cgroups,
//! launch init (see `process/`), then record the state and the pid file. On any failure
//! everything made so far is undone: no state dir, no cgroup, no process, no mount.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::Global;
use crate::cgroups;
use crate::cli::{CreateArgs, CreateOpts};
use crate::container::{status, Container, State};
use crate::error::{Context, Error, Result};
use crate::process::{self, Init, Launch};
use crate::{namespaces, spec};

/// A container that was just created.
pub struct Created {
    /// Its locked state dir.
    pub container: Container,
    /// Its saved state.
    pub state: State,
    /// Its init (a child of this process until it exits).
    pub init: Init,
    /// Foreground `run` with `process.terminal`: the pty master and hull's terminal.
    pub console: Option<crate::tty::Console>,
}

/// `hull create`.
pub fn run(g: &Global, a: &CreateArgs) -> Result<i32> {
    create(g, &a.opts, &a.id)?;
    Ok(0)
}

fn check_flags(g: &Global) -> Result<()> {
    if g.systemd_cgroup {
        return Err(Error::invalid("--systemd-cgroup: the systemd cgroup driver is not supported yet; omit the flag to use cgroupfs"));
    }
    if g.rootless.as_deref() == Some("true") || nix::unistd::geteuid().as_raw() != 0 {
        return Err(Error::invalid(
            "rootless containers are not supported yet: run hull as root",
        ));
    }
    Ok(())
}

/// Create a container; the caller decides whether to start it.
pub fn create(g: &Global, o: &CreateOpts, id: &str) -> Result<Created> {
    create_with(g, o, id, true)
}

/// [`create`] for `run`: `detach` false means hull stays in the foreground (a terminal is then
/// relayed by hull rather than sent to a console socket).
pub fn create_with(g: &Global, o: &CreateOpts, id: &str, detach: bool) -> Result<Created> {
    check_flags(g)?;
    crate::container::validate_id(id)?;
    let mut bundle = spec::load(&o.bundle)?;
    let listen_fds = socket_activation(&mut bundle.spec);
    let linux = bundle
        .spec
        .linux()
        .as_ref()
        .expect("validated: linux present");
    let ns = namespaces::plan(linux.namespaces().as_deref().unwrap_or_default())?;
    // Compiled before anything exists: a profile hull cannot enforce leaves nothing behind.
    let seccomp = match linux.seccomp() {
        Some(s) => Some(crate::seccomp::compile(
            s,
            &crate::seccomp::Options::default(),
        )?),
        None => None,
    };
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let console = crate::tty::Plan::new(detach, terminal, o.console_socket.as_deref())?;
    // Connected before anything exists, as runc does: a bad path leaves nothing behind.
    let pidfd_socket = o
        .pidfd_socket
        .as_deref()
        .map(connect_pidfd_socket)
        .transpose()?;
    let mut cg = cgroups::Manager::new(linux.cgroups_path().as_deref(), id)?;
    let container = Container::create(&g.root, id)?;
    let mut init: Option<Init> = None;
    let mut term: Option<crate::tty::Console> = None;
    let res = (|| -> Result<State> {
        let fifo = make_fifo(&container.fifo_path())?;
        cg.create()?;
        // Always apply: with no device rules in the config the container still gets
        // deny-all plus runc's default device allowlist.
        let mut res = linux.resources().clone().unwrap_or_default();
        if res.devices().is_none() {
            res.set_devices(Some(Vec::new()));
        }
        cg.apply(&res)?;
        let launch = Launch {
            id,
            bundle: &bundle,
            ns: &ns,
            fifo: fifo.as_raw_fd(),
            cgroup: cg.state(),
            no_pivot: o.no_pivot,
            no_new_keyring: o.no_new_keyring,
            preserve_fds: o.preserve_fds + listen_fds,
            // The runtime mount namespace's fd (hooks.rs) must not reach the container either.
            close_fds: [container.lock_fd()]
                .into_iter()
                .chain(crate::hooks::runtime_mntns_fd())
                .collect(),
            seccomp: seccomp.as_ref(),
            console_socket: console.child.as_ref().map(|f| f.as_raw_fd()),
        };
        let child = process::launch(&launch, &cg)?;
        let pid = child.pid;
        init = Some(child);
        term = console.finish()?;
        if let (Some(sock), Some(i)) = (&pidfd_socket, &init) {
            send_pidfd(sock, "standard", &i.pidfd)?;
        }
        let (_, start_time) = status::proc_stat(pid)
            .ok_or(Error::Msg("container init exited during create".into()))?;
        let state = State {
            id: id.to_string(),
            pid,
            start_time,
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            created: crate::timefmt::now_rfc3339(true),
            owner: String::new(),
            annotations: bundle.spec.annotations().clone().unwrap_or_default(),
            cgroup: cg.state().clone(),
            hooks: bundle.spec.hooks().clone(),
            no_new_keyring: o.no_new_keyring,
        };
        container.save(&state)?;
        if let Some(p) = &o.pid_file {
            write_pid_file(p, pid)?;
        }
        Ok(state)
    })();
    match res {
        Ok(state) => Ok(Created {
            container,
            state,
            init: init.expect("set on success"),
            console: term,
        }),
        Err(e) => {
            if let Some(i) = &init {
                process::kill_and_reap(i);
            }
            cgroups::kill_all(cg.state());
            let _ = cgroups::destroy(cg.state());
            let _ = container.remove();
            // runtime.md: a failed create continues the lifecycle at step 12 (destroy), then 13.
            let none = Default::default();
            let state = crate::hooks::HookState {
                oci_version: crate::OCI_VERSION,
                id,
                status: "stopped",
                pid: 0,
                bundle: &bundle.dir,
                annotations: bundle.spec.annotations().as_ref().unwrap_or(&none),
            };
            crate::hooks::run_warn(
                bundle.spec.hooks().as_ref(),
                crate::hooks::Kind::Poststop,
                &state.to_json(),
            );
            Err(e)
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

/// Socket activation, as runc does: when hull itself was handed sockets (`LISTEN_FDS=N`, and
/// `LISTEN_PID` unset or ours), they stay open at 3.. for the container process, which gets
/// `LISTEN_FDS=N` and `LISTEN_PID=1`. Returns N.
fn socket_activation(spec: &mut oci_spec::runtime::Spec) -> u32 {
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
    if let Some(p) = spec.process_mut() {
        let mut env = p.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={n}"));
        env.push("LISTEN_PID=1".to_string());
        p.set_env(Some(env));
    }
    n
}

/// `--pidfd-socket`: connect to the AF_UNIX socket that gets a pidfd of the container's process.
pub fn connect_pidfd_socket(path: &Path) -> Result<OwnedFd> {
    let s = std::os::unix::net::UnixStream::connect(path)
        .with_context(|| format!("--pidfd-socket: connect {}", path.display()))?;
    Ok(OwnedFd::from(s))
}

/// Send a pidfd of the new process over the `--pidfd-socket` connection, as runc does: one
/// message whose payload names the kind of process (`standard` for create/run's init, `setns`
/// for exec's) with the pidfd as its one SCM_RIGHTS fd. runc's init opens the pidfd of itself;
/// hull's parent sends the one it holds, which refers to the same process.
pub fn send_pidfd(sock: &OwnedFd, kind: &str, pidfd: &OwnedFd) -> Result<()> {
    crate::seccomp::load::send_with_fd(sock.as_raw_fd(), kind.as_bytes(), pidfd.as_raw_fd())
        .context("--pidfd-socket: send the pidfd")
}

/// Write the pid file atomically: decimal pid, no trailing newline (go-runc rejects one).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    crate::fsutil::atomic_write(&abs, pid.to_string().as_bytes(), 0o644).context("--pid-file")
}
