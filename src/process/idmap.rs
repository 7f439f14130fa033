//! Writing a new user namespace's id maps (`linux.uidMappings`, `linux.gidMappings`) for stage
//! 1, from the parent. Host root writes them directly. A rootless caller writes directly only
//! what the kernel lets an unprivileged process write — one id, its own, with `setgroups`
//! denied first (the payload then skips setgroups, and `additionalGids` is refused) — and hands
//! anything wider to the setuid helpers `newuidmap`/`newgidmap` (package `uidmap`), which grant
//! the caller's ranges in /etc/subuid and /etc/subgid. Root of a user namespace (nested) writes
//! directly: it holds CAP_SETUID/CAP_SETGID over the ids its own namespace maps.

use std::path::Path;
use std::process::Command;

use oci_spec::runtime::LinuxIdMapping;

use crate::error::{Context, Error, Result};
use crate::rootless::{how, How};

/// The arguments of newuidmap/newgidmap for `pid`: `PID c h n [c h n ...]`.
pub fn helper_args(pid: i32, maps: &[LinuxIdMapping]) -> Vec<String> {
    let mut a = vec![pid.to_string()];
    for m in maps {
        a.extend([m.container_id(), m.host_id(), m.size()].map(|v| v.to_string()));
    }
    a
}

/// Write the maps of process `pid`'s new user namespace.
pub fn write(
    rootless: bool,
    pid: i32,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    match how(rootless, uid, gid, euid, egid) {
        How::Direct => direct(pid, uid, gid),
        How::DirectDenyingSetgroups => {
            crate::fsutil::write_file(Path::new(&format!("/proc/{pid}/setgroups")), "deny")
                .context("linux.gidMappings: deny setgroups for an unprivileged map")?;
            direct(pid, uid, gid)
        }
        How::Helpers => {
            helper("newuidmap", "linux.uidMappings", "/etc/subuid", pid, uid)?;
            helper("newgidmap", "linux.gidMappings", "/etc/subgid", pid, gid)
        }
    }
}

fn direct(pid: i32, uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<()> {
    crate::namespaces::write_maps(pid, uid, gid, ["linux.uidMappings", "linux.gidMappings"])
}

/// Run `tool` (newuidmap or newgidmap) for `maps`; its refusal is one line with its own words
/// and where the ranges come from.
fn helper(tool: &str, field: &str, file: &str, pid: i32, maps: &[LinuxIdMapping]) -> Result<()> {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map_or_else(|| nix::unistd::geteuid().to_string(), |u| u.name);
    let out = match Command::new(tool).args(helper_args(pid, maps)).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::invalid(format!(
                "{field}: mapping more than your own id needs {tool} (package uidmap) and a range for {user} in {file}"
            )))
        }
        Err(e) => return Err(e).with_context(|| format!("{field}: run {tool}")),
    };
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        return Err(Error::invalid(format!(
            "{field}: {tool} refused the map ({said}); the ids must be yours or in {user}'s range in {file}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(c: u32, h: u32, n: u32) -> LinuxIdMapping {
        oci_spec::runtime::LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()
    }

    #[test]
    fn helper_args_are_pid_then_triples() {
        let m = [map(0, 1000, 1), map(1, 100000, 65536)];
        assert_eq!(
            helper_args(42, &m),
            ["42", "0", "1000", "1", "1", "100000", "65536"]
        );
    }
}
