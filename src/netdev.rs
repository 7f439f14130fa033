//! `linux.netDevices` (runtime-spec 1.3, config-linux.md "Network Devices"): network devices of
//! hull's own network namespace (the runtime namespace) moved into the container's, renamed
//! when the entry says so, with their permanent global addresses (the kernel drops a link's
//! addresses when it changes namespace: hull lists them before and adds them after) and set up.
//! Done by hull during `create`, once init exists in its network namespace and before it goes
//! on (so before every hook). Moved out again by no one: the spec forbids it (the network
//! namespace's end returns physical devices to the host's initial namespace and destroys
//! virtual ones).

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{Linux, LinuxNamespaceType, LinuxNetDevice};

use crate::error::{quote, Context, Error, Result};
use crate::sys::netlink::{Addr, Route};

/// The kernel's rule for a device name (dev_valid_name): 1 to 15 bytes, not `.` or `..`, no
/// `/`, `:` or white space. `template`: `%d` allowed (a name the kernel numbers).
fn valid_name(name: &str, template: bool) -> std::result::Result<(), &'static str> {
    if name.is_empty() || name.len() > 15 {
        return Err("a device name has 1 to 15 bytes");
    }
    if name == "." || name == ".." {
        return Err("a device name cannot be . or ..");
    }
    if name.contains(['/', ':']) || name.chars().any(char::is_whitespace) {
        return Err("a device name has no /, : or white space");
    }
    if name.contains('%') && !(template && name.matches('%').count() == 1 && name.contains("%d")) {
        return Err("only one %d may number a device name");
    }
    Ok(())
}

fn field(host: &str) -> String {
    format!("linux.netDevices[{}]", quote(host))
}

/// What `create` refuses before anything is made: names the kernel would refuse, two devices
/// given the same name, and devices without a network namespace of the container's to go to.
pub fn validate(linux: &Linux) -> Result<()> {
    let Some(devs) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    if crate::namespaces::listed(linux, LinuxNamespaceType::Network).is_none() {
        return Err(Error::invalid(
            "linux.netDevices: the container has no network namespace of its own (add one to linux.namespaces): its devices would be the host's",
        ));
    }
    let mut targets: HashMap<&str, &str> = HashMap::new();
    let mut hosts: Vec<&String> = devs.keys().collect();
    hosts.sort();
    for host in hosts {
        valid_name(host, false).map_err(|why| Error::invalid(format!("{}: {why}", field(host))))?;
        let target = target_name(host, &devs[host]);
        valid_name(target, true)
            .map_err(|why| Error::invalid(format!("{}.name: {why}", field(host))))?;
        if let Some(other) = targets.insert(target, host) {
            return Err(Error::invalid(format!(
                "{}.name: {other} is also to be named {} in the container",
                field(host),
                quote(target)
            )));
        }
    }
    Ok(())
}

fn target_name<'a>(host: &'a str, d: &'a LinuxNetDevice) -> &'a str {
    d.name()
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(host)
}

/// Move every device into the network namespace of `pid` (the container's init), keeping its
/// permanent global addresses, and set it up there.
pub fn move_all(devs: &HashMap<String, LinuxNetDevice>, pid: i32) -> Result<()> {
    let ns = File::open(format!("/proc/{pid}/ns/net"))
        .context("linux.netDevices: open the container's network namespace")?;
    let mut here = Route::open().context("linux.netDevices: a netlink socket")?;
    let mut there = route_in(&ns)?;
    let mut hosts: Vec<&String> = devs.keys().collect();
    hosts.sort();
    let mut planned: Vec<(i32, &str, &str, Vec<Addr>)> = Vec::new();
    for host in hosts {
        let f = field(host);
        let target = target_name(host, &devs[host]);
        // The kernel renames a device after it moved: a name taken there would fail with the
        // device already gone from here (and lost with the container's namespace).
        if !target.contains("%d") && there.link_index(target)?.is_some() {
            return Err(taken(&f, target));
        }
        let index = here
            .link_index(host)
            .with_context(|| format!("{f}: find the device"))?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{f}: no network device {} in hull's network namespace",
                    quote(host.as_str())
                ))
            })?;
        let addrs = here
            .permanent_addresses(index)
            .with_context(|| format!("{f}: list its addresses"))?;
        planned.push((index, host.as_str(), target, addrs));
    }
    // Every device checked before the first moves: a refused one leaves them all here.
    let mut moved = Vec::new();
    for (index, host, target, addrs) in planned {
        let f = field(host);
        if let Err(e) = here.move_link(index, ns.as_fd(), target) {
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST) => taken(&f, target),
                Some(libc::EPERM) => Error::invalid(format!(
                    "{f}: moving a device needs CAP_NET_ADMIN over hull's network namespace and the container's"
                )),
                _ => {
                    return Err(e).with_context(|| {
                        format!("{f}: move it into the container's network namespace")
                    })
                }
            });
        }
        moved.push((index, host, target, addrs));
    }
    for (index, host, target, addrs) in moved {
        let f = field(host);
        // The kernel keeps a moved link's index unless the namespace has it taken.
        let index = match there.link_name(index)? {
            Some(n) if n == target || target.contains("%d") => index,
            _ => there.link_index(target)?.ok_or_else(|| {
                Error::Msg(format!(
                    "{f}: the moved device is not found as {}",
                    quote(target)
                ))
            })?,
        };
        for a in &addrs {
            match there.add_address(index, a) {
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                r => r.with_context(|| format!("{f}: add address {}", a.text()))?,
            }
        }
        there
            .set_up(index)
            .with_context(|| format!("{f}: set it up"))?;
    }
    Ok(())
}

fn taken(f: &str, target: &str) -> Error {
    Error::invalid(format!(
        "{f}.name: a device named {} is in the container's network namespace already (end the name with %d to have the kernel number it)",
        quote(target)
    ))
}

/// A netlink socket in network namespace `ns`: made there, this thread back home at once.
fn route_in(ns: &File) -> Result<Route> {
    let home = File::open("/proc/thread-self/ns/net")
        .context("linux.netDevices: open hull's network namespace")?;
    setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
        .context("linux.netDevices: enter the container's network namespace")?;
    let route = Route::open();
    setns(home.as_fd(), CloneFlags::CLONE_NEWNET)
        .context("linux.netDevices: return to hull's network namespace")?;
    route.context("linux.netDevices: a netlink socket in the container's network namespace")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_follow_the_kernels_rule() {
        assert!(valid_name("eth0", false).is_ok());
        assert!(valid_name("ctr%d", true).is_ok());
        assert!(valid_name("ctr%d", false).is_err());
        assert!(valid_name("a%d%d", true).is_err());
        assert!(valid_name("", false).is_err());
        assert!(valid_name("sixteen-bytes-xx", false).is_err());
        assert!(valid_name("fifteen-bytes-x", false).is_ok());
        assert!(valid_name("..", false).is_err());
        assert!(valid_name("a/b", false).is_err());
        assert!(valid_name("a:1", false).is_err());
        assert!(valid_name("a b", false).is_err());
    }

    fn linux(v: serde_json::Value) -> Linux {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn validation_names_the_entry() {
        let ns = serde_json::json!([{"type": "network"}]);
        let ok =
            linux(serde_json::json!({"namespaces": ns, "netDevices": {"eth1": {"name": "c%d"}}}));
        assert!(validate(&ok).is_ok());
        let no_ns = linux(serde_json::json!({"netDevices": {"eth1": {}}}));
        assert!(validate(&no_ns)
            .unwrap_err()
            .render()
            .contains("linux.netDevices: the container has no network namespace"));
        let twice = linux(
            serde_json::json!({"namespaces": ns, "netDevices": {"a": {"name": "x"}, "b": {"name": "x"}}}),
        );
        assert!(validate(&twice)
            .unwrap_err()
            .render()
            .contains("linux.netDevices[\"b\"].name: a is also to be named \"x\""));
        let bad = linux(serde_json::json!({"namespaces": ns, "netDevices": {"a/b": {}}}));
        assert!(validate(&bad)
            .unwrap_err()
            .render()
            .contains("linux.netDevices[\"a/b\"]: a device name has no /"));
    }
}
