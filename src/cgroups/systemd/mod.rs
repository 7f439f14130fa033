//! The systemd cgroup driver (`--systemd-cgroup`), runc's contract: the container's cgroup is
//! a transient unit systemd makes and removes — a scope `prefix-name.scope` delegated to the
//! container in the slice `linux.cgroupsPath` names (`unit.rs`), created over D-Bus
//! (`bus.rs`) with the resources as unit properties (`props.rs`) and the config's
//! `org.systemd.property.*` annotations (`annotation.rs`); the values are then written to the
//! cgroup files as well (systemd rounds some, and has no property for others), as runc does.
//!
//! A scope needs a first process when it is started, and hull's spawn pipeline needs the
//! cgroup before its first clone (stage 1 is born in it). So the scope starts with an idle
//! child of hull's ([`sys::clone::idle_child`]) as its process; stage 1 is born beside it, and
//! the idle child is killed as soon as the container's init exists ([`Placeholder`]). The
//! pipeline itself does not know systemd exists. A slice takes no process: hull's processes
//! join its cgroup like any other.
//!
//! A rootless container's unit is its user's: `systemd --user`, reached over the user's bus
//! (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`) as the caller's uid on the host,
//! in `user.slice` of that manager by default, its cgroup below the manager's
//! (`/user.slice/user-UID.slice/user@UID.service/user.slice/hull-ID.scope`), delegated to
//! the user ([`user_manager`], runc's rules). The unit records which bus it is on. A process
//! the caller may not move into the unit's cgroup itself (one in a login session's cgroup,
//! which is root's) is moved there by that manager (`AttachProcessesToUnit`, see
//! `cgroups::join`).
//!
//! Only pure cgroup v2 hosts are driven this way (what systemd hosts run today); hybrid and
//! legacy hosts with `--systemd-cgroup` are refused with a clear error.

pub mod annotation;
mod bus;
mod conn;
pub mod props;
pub mod unit;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

pub use unit::Unit;

use crate::error::{Context, Error, Result};
use crate::sys;
use props::Property;

/// The idle first process of a scope, killed once the container's own processes are in.
pub struct Placeholder {
    pid: i32,
    pidfd: OwnedFd,
}

impl Drop for Placeholder {
    /// Kill and reap it.
    fn drop(&mut self) {
        sys::pidfd::kill_and_wait(&self.pidfd, 1000);
        let _ = sys::wait::wait(self.pid);
    }
}

/// Every property container `id`'s unit is started with but `base`'s: its description, the
/// resources and the annotations, computed before anything exists (a bad value fails early).
pub fn planned_properties(
    id: &str,
    res: &LinuxResources,
    annotations: &HashMap<String, String>,
) -> Result<Vec<Property>> {
    let mut p = vec![props::description(id)];
    p.extend(props::resources(res)?);
    p.extend(annotation::properties(annotations)?);
    Ok(p)
}

/// Start the container's unit with `extra` properties and wait until systemd made it. For a
/// scope the returned [`Placeholder`] holds it until the container's init is in.
pub fn start(unit: &Unit, extra: &[Property]) -> Result<Option<Placeholder>> {
    let mut bus = bus_of(unit)?;
    let placeholder = if unit.is_slice() {
        None
    } else {
        let pid = sys::clone::idle_child().context("fork the scope's first process")?;
        let pidfd = sys::pidfd::open(pid)?;
        Some(Placeholder { pid, pidfd })
    };
    let mut all = props::base(unit, placeholder.as_ref().map(|p| p.pid as u32));
    all.extend_from_slice(extra);
    // On error the placeholder is dropped: killed and reaped.
    bus.start_transient_unit(&unit.name, &all)?;
    Ok(placeholder)
}

/// The error for a unit that exists already.
pub fn exists(unit: &Unit) -> Error {
    exists_named(&unit.name)
}

fn exists_named(name: &str) -> Error {
    Error::invalid(format!(
        "--systemd-cgroup: the unit {name} already exists (another container's, or a stale one: systemctl stop {name})"
    ))
}

/// Stop the container's unit and wait until it is gone (with its cgroup). A user's manager
/// that is gone took its units along: with no bus and no cgroup left there is nothing to stop.
pub fn stop(unit: &Unit) -> Result<()> {
    let mut bus = match bus_of(unit) {
        Ok(b) => b,
        Err(e) if unit.user_bus.is_some() && !cgroup_dir(unit).exists() => {
            crate::logging::debug(&format!(
                "{} is gone with its manager ({})",
                unit.name,
                e.render()
            ));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    bus.stop_unit(&unit.name)
}

/// Move `pid` into the unit's cgroup (its sub-cgroup `sub`, "" for its own) through its
/// manager, which may where the caller may not.
pub fn attach(unit: &Unit, sub: &str, pid: i32) -> Result<()> {
    let pid = u32::try_from(pid).map_err(|_| Error::Msg(format!("no such process {pid}")))?;
    bus_of(unit)?.attach_process(&unit.name, sub, pid)
}

/// The connection to the manager that owns `unit`.
fn bus_of(unit: &Unit) -> Result<bus::Bus> {
    match &unit.user_bus {
        None => bus::Bus::system(),
        Some(path) => bus::Bus::user(path, crate::rootless::host_uid()),
    }
}

fn cgroup_dir(unit: &Unit) -> PathBuf {
    Path::new("/sys/fs/cgroup").join(unit.cgroup.trim_start_matches('/'))
}

/// A user's manager: the socket of its bus and its own cgroup.
#[derive(Debug)]
pub struct UserManager {
    /// The bus socket (`/run/user/1000/bus`).
    pub bus: PathBuf,
    /// Its cgroup (`/user.slice/user-1000.slice/user@1000.service`).
    pub cgroup: String,
}

/// The manager a container's unit belongs to, runc's rules: the system's for root (`None`);
/// for a rootless caller its user's, over the user's bus. Root of a user namespace is rootless
/// only when a user's bus is there and its manager is not root's (the uid in its cgroup, runc's
/// `OwnerUID`): without one it is the root of a system container whose own systemd is PID 1,
/// which is driven over the system bus. A user (euid not 0) without a reachable bus is refused
/// in one line saying how to get one.
pub fn user_manager(rootless: bool) -> Result<Option<UserManager>> {
    if !rootless {
        return Ok(None);
    }
    let root = crate::rootless::euid() == 0;
    let found = user_bus_path()?;
    let Some(path) = found else {
        if root {
            return Ok(None);
        }
        return Err(Error::invalid(format!(
            "--systemd-cgroup: no user bus for uid {}: DBUS_SESSION_BUS_ADDRESS is not set and {} (a rootless container's unit is made by your systemd --user over its bus: log in, or `loginctl enable-linger`, so that `systemctl --user` works, with dbus-user-session installed; or omit --systemd-cgroup)",
            crate::rootless::euid(),
            match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
                Some(x) => format!("there is no {}", Path::new(&x).join("bus").display()),
                None => "XDG_RUNTIME_DIR is not set".to_string(),
            }
        )));
    };
    let asked = bus::Bus::user(&path, crate::rootless::host_uid())
        .and_then(|mut b| b.manager_property("ControlGroup"));
    let cgroup = match asked {
        Ok(c) => c,
        Err(e) if root => {
            crate::logging::debug(&format!(
                "root of a user namespace, no user manager over {} ({}): the system's",
                path.display(),
                e.render()
            ));
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if root && manager_uid(&cgroup) == Some(0) {
        return Ok(None);
    }
    Ok(Some(UserManager { bus: path, cgroup }))
}

/// The user's bus: `DBUS_SESSION_BUS_ADDRESS` (a `unix:path=` address), else
/// `$XDG_RUNTIME_DIR/bus` when it exists (runc's order).
fn user_bus_path() -> Result<Option<PathBuf>> {
    if let Some(a) = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|a| !a.is_empty())
    {
        return match bus::unix_path(&a) {
            Some(p) => Ok(Some(PathBuf::from(p))),
            None => Err(Error::invalid(format!(
                "--systemd-cgroup: DBUS_SESSION_BUS_ADDRESS {} is not a unix:path= address",
                crate::error::quote(&a)
            ))),
        };
    }
    Ok(std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(|x| Path::new(&x).join("bus"))
        .filter(|p| p.exists()))
}

/// The uid of a user's manager from its cgroup (`…/user@1000.service` → 1000).
fn manager_uid(cgroup: &str) -> Option<u32> {
    cgroup
        .rsplit('/')
        .next()?
        .strip_prefix("user@")?
        .strip_suffix(".service")?
        .parse()
        .ok()
}

/// `update`: the new resources as unit properties (the files are written afterwards).
pub fn update(unit: &Unit, res: &LinuxResources) -> Result<()> {
    let p = props::resources(res)?;
    if p.is_empty() {
        return Ok(());
    }
    bus_of(unit)?.set_unit_properties(&unit.name, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_managers_uid_is_in_its_cgroup() {
        assert_eq!(
            manager_uid("/user.slice/user-1000.slice/user@1000.service"),
            Some(1000)
        );
        assert_eq!(
            manager_uid("/user.slice/user-0.slice/user@0.service"),
            Some(0)
        );
        assert_eq!(manager_uid("/init.scope"), None);
        assert_eq!(manager_uid(""), None);
    }
}
