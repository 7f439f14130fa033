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
//! Only pure cgroup v2 hosts are driven this way (what systemd hosts run today); hybrid and
//! legacy hosts with `--systemd-cgroup` are refused with a clear error.

pub mod annotation;
mod bus;
mod conn;
pub mod props;
pub mod unit;

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use oci_spec::runtime::LinuxResources;

pub use unit::Unit;

use crate::error::{Context, Result};
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
    let mut bus = bus::Bus::system()?;
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
pub fn exists(unit: &Unit) -> crate::error::Error {
    exists_named(&unit.name)
}

fn exists_named(name: &str) -> crate::error::Error {
    crate::error::Error::invalid(format!(
        "--systemd-cgroup: the unit {name} already exists (another container's, or a stale one: systemctl stop {name})"
    ))
}

/// Stop the container's unit and wait until it is gone (with its cgroup).
pub fn stop(unit: &Unit) -> Result<()> {
    bus::Bus::system()?.stop_unit(&unit.name)
}

/// `update`: the new resources as unit properties (the files are written afterwards).
pub fn update(unit: &Unit, res: &LinuxResources) -> Result<()> {
    let p = props::resources(res)?;
    if p.is_empty() {
        return Ok(());
    }
    bus::Bus::system()?.set_unit_properties(&unit.name, &p)
}
