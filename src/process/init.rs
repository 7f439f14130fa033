//! What only a new container's init does, called from the one payload sequence (`payload.rs`):
//! its mount and cgroup namespaces, the root filesystem and pivot_root (with the create hooks
//! at their place), hostname, domainname and sysctls, masked and read-only paths; the exec fifo
//! gate with the `startContainer` hooks; and, in the parent, the runtime-namespace hooks init
//! asks for. The hooks are run by `hooks.rs`; when and with which state is decided here.

use std::io::Write;
use std::path::PathBuf;

use nix::sched::{unshare, CloneFlags};
use oci_spec::runtime::LinuxNamespaceType as T;

use super::sync::{Channel, Msg};
use super::{NewContainer, Spawn};
use crate::error::{Context, Error, Result};
use crate::hooks::{self, HookState, Kind as Hook};
use crate::rootfs;
use crate::sys::procfs::ProcRoot;

/// The state a hook of this spawn reads on stdin.
fn hook_state<'a>(s: &'a Spawn, status: &'a str, pid: i32) -> HookState<'a> {
    HookState::new(s.id, status, pid, s.bundle, s.annotations)
}

fn rootfs_ctx<'a>(
    s: &'a Spawn,
    c: &'a NewContainer,
    before_pivot: &'a dyn Fn() -> Result<()>,
) -> rootfs::Ctx<'a> {
    rootfs::Ctx {
        spec: c.spec,
        bundle: s.bundle,
        rootfs: c.rootfs,
        // A rootless hull (podman's runs in podman's user namespace, with none in the config)
        // can no more mknod than a container with its own user namespace.
        userns: s.namespaces.has(T::User) || s.rootless,
        new_cgroupns: s.namespaces.is_new(T::Cgroup),
        cgroup: c.cgroup,
        no_pivot: c.no_pivot,
        idmapped: c.idmapped,
        before_pivot,
    }
}

/// Unshare the cgroup and mount namespaces, build the root filesystem and pivot into it; the
/// create hooks run right before pivot_root ([`before_pivot`]).
pub fn enter(s: &Spawn, c: &NewContainer, chan: &Channel) -> Result<()> {
    if s.namespaces.is_new(T::Cgroup) {
        unshare(CloneFlags::CLONE_NEWCGROUP).context("unshare cgroup namespace")?;
    }
    if s.namespaces.is_new(T::Mount) {
        unshare(CloneFlags::CLONE_NEWNS).context("unshare mount namespace")?;
    }
    rootfs::prepare(&rootfs_ctx(s, c, &|| before_pivot(s, c, chan)))?;
    for fd in c.idmapped.fds() {
        // SAFETY: closing this process's copies of the id-mapped mounts hull prepared, attached
        // by now; it never drops their owners (it ends in execve or _exit).
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// After pivot_root (and the console): hostname, domainname, sysctls, then the read-only and
/// masked paths and a read-only root. Returns the procfs of init's own the sysctls were
/// written through (`sys::procfs`): the exec fifo is reopened through it later, when init may
/// no longer mount one.
pub fn settle(s: &Spawn, c: &NewContainer) -> Result<ProcRoot> {
    let linux = c.spec.linux().as_ref().expect("validated: linux present");
    if let Some(h) = c.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).with_context(|| format!("hostname: sethostname {h:?}"))?;
    }
    if let Some(d) = c.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        // SAFETY: setdomainname reads `d.len()` bytes from a live string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("domainname: setdomainname {d:?}"));
        }
    }
    let proc = ProcRoot::open().context("a procfs for init")?;
    if let Some(sysctl) = linux.sysctl() {
        let mut keys: Vec<_> = sysctl.keys().collect();
        keys.sort();
        for k in keys {
            let path = PathBuf::from("sys").join(k.replace('.', "/"));
            proc.write(&path, &sysctl[k])
                .with_context(|| format!("linux.sysctl.{}", crate::error::short(k)))?;
        }
    }
    rootfs::finalize(&rootfs_ctx(s, c, &|| Ok(())))?;
    Ok(proc)
}

/// In init, after the mounts and devices and right before pivot_root: have hull run
/// `prestart`/`createRuntime` ([`runtime_hooks`]), then run `createContainer` here, in the
/// container's namespaces with the host's tree still visible (its path "MUST resolve in the
/// runtime namespace"), from the rootfs directory as runc does.
fn before_pivot(s: &Spawn, c: &NewContainer, chan: &Channel) -> Result<()> {
    let configured = c.spec.hooks().as_ref();
    if hooks::any(configured, &[Hook::Prestart, Hook::CreateRuntime]) {
        chan.send(&Msg::Hooks)?;
        chan.expect(&Msg::HooksDone)?;
    }
    if hooks::any(configured, &[Hook::CreateContainer]) {
        nix::unistd::chdir(c.rootfs).with_context(|| format!("chdir {}", c.rootfs.display()))?;
        let state = hook_state(s, "creating", nix::unistd::getpid().as_raw()).to_json();
        hooks::run(configured, Hook::CreateContainer, &state, None)?;
    }
    Ok(())
}

/// In hull, when init asks: `prestart` then `createRuntime`, in the runtime namespaces. Init's
/// mount namespace exists and its mounts are done, it is in its cgroups, pivot_root is still
/// ahead (config.md: "after the runtime environment has been created … but before the
/// pivot_root"). `pid` is init's host pid.
pub fn runtime_hooks(s: &Spawn, c: &NewContainer, pid: i32) -> Result<()> {
    let configured = c.spec.hooks().as_ref();
    let state = hook_state(s, "creating", pid).to_json();
    hooks::run(configured, Hook::Prestart, &state, None)?;
    hooks::run(configured, Hook::CreateRuntime, &state, None)
}

/// Init's gate: block opening the exec fifo for writing until `start` opens its read side
/// (runc's direction), run the `startContainer` hooks — inside the container, with the
/// container's credentials, status "created"; a hook without `env` gets the process's (runc's
/// de-facto behaviour) — and release `start` with "0", or '1' and the error of a failing hook.
/// The fifo is returned open (close-on-exec): the caller keeps it until its execve, whose
/// closing it tells `start` that the process now runs its own program (poststart's moment).
pub fn wait_for_start(
    s: &Spawn,
    c: &NewContainer,
    proc: &ProcRoot,
    env: &[String],
) -> Result<std::fs::File> {
    let mut fifo = std::fs::File::from(
        proc.reopen(c.fifo, libc::O_WRONLY)
            .context("open exec fifo")?,
    );
    let configured = c.spec.hooks().as_ref();
    if hooks::any(configured, &[Hook::StartContainer]) {
        let state = hook_state(s, "created", nix::unistd::getpid().as_raw()).to_json();
        if let Err(e) = hooks::run(configured, Hook::StartContainer, &state, Some(env)) {
            let _ = fifo.write_all(hooks::fifo_error(&e).as_bytes());
            return Err(e);
        }
    }
    fifo.write_all(b"0").context("write exec fifo")?;
    Ok(fifo)
}

/// Init failed between the gate and its execve (the execve itself included): '1' and the error
/// after the "0" on the fifo `start` still holds open, so `start` fails with it instead of
/// running the poststart hooks for a program that never ran.
pub fn report_after_start(mut fifo: std::fs::File, e: &Error) {
    let _ = fifo.write_all(hooks::fifo_error(e).as_bytes());
}
