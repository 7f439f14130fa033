//! Rootless mode: hull run by a user other than root, or by root of a user namespace that is
//! not the host's (the CI-inside-a-container case). Decided once per command from the global
//! `--rootless true|false|auto` (runc's flag; `auto`, the default, means "when not host
//! root"). This file owns the decision, the default state root (`$XDG_RUNTIME_DIR/hull` for a
//! user, as runc's `$XDG_RUNTIME_DIR/runc`) and what a rootless `create` refuses up front: no
//! user namespace, an id map that names host root or ids no helper can grant. Maps are written
//! in `process/idmap.rs`; cgroups left out when none is writable in `cgroups/manager.rs`.

use std::path::{Path, PathBuf};

use crate::oci::Spec;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};

use crate::error::{quote, Error, Result};

/// Why `additionalGids` cannot be had in a user namespace whose setgroups is denied.
pub const SETGROUPS_DENIED: &str = "process.user.additionalGids: setgroups is denied in this user namespace (a rootless map of your own id only); map your subordinate gids (/etc/subgid) to have supplementary groups";

/// `--rootless`: true, false, or auto (none given). `auto` is decided by looking at this
/// process (its uid map), so only the commands that use the answer should ask for it.
pub fn enabled(flag: Option<&str>) -> Result<bool> {
    Ok(match parse(flag)? {
        Some(on) => on,
        None => euid() != 0 || in_user_namespace(),
    })
}

/// The flag's value checked: `Some(true|false)`, or `None` for auto.
pub fn parse(flag: Option<&str>) -> Result<Option<bool>> {
    match flag.unwrap_or("auto") {
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        "auto" => Ok(None),
        other => Err(Error::invalid(format!(
            "--rootless: {} is not true, false or auto",
            quote(other)
        ))),
    }
}

/// The effective uid.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Whether this process is in a user namespace other than the initial one: its uid map is not
/// the whole identity map.
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| !is_initial_map(&m))
}

/// This process's effective uid as its parent user namespace knows it: the euid mapped through
/// `/proc/self/uid_map` (the euid itself outside any user namespace, or when it is unmapped). A
/// user's bus outside the namespace knows the caller by this uid (root of podman's rootless
/// namespace is the user); runc asks `busctl --user status` for the bus's `OwnerUID` instead.
pub fn host_uid() -> u32 {
    let euid = euid();
    std::fs::read_to_string("/proc/self/uid_map")
        .ok()
        .and_then(|m| map_id(&m, euid))
        .unwrap_or(euid)
}

/// `id` mapped outward through a `uid_map` text (`inside outside count` lines).
fn map_id(map: &str, id: u32) -> Option<u32> {
    map.lines().find_map(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        let [inside, outside, count] = f[..] else {
            return None;
        };
        let id = u64::from(id);
        (id >= inside && id - inside < count)
            .then(|| u32::try_from(outside + id - inside).ok())
            .flatten()
    })
}

fn is_initial_map(text: &str) -> bool {
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// The state root: `--root` when given; else, for a user other than root (or root of a user
/// namespace), `$XDG_RUNTIME_DIR/hull`; else `/run/hull`. A user without `XDG_RUNTIME_DIR`
/// gets an error naming both ways out (runc would try /run/runc and fail on its permissions).
pub fn state_root(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(r) = given {
        return Ok(r.to_path_buf());
    }
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty());
    if euid() != 0 || in_user_namespace() {
        if let Some(x) = xdg {
            return Ok(PathBuf::from(x).join("hull"));
        }
        if euid() != 0 {
            return Err(Error::invalid(format!(
                "no state directory for uid {}: pass --root DIR, or set XDG_RUNTIME_DIR (hull then uses $XDG_RUNTIME_DIR/hull)",
                euid()
            )));
        }
    }
    Ok(PathBuf::from("/run/hull"))
}

/// Why the kernel refused a new user namespace (`errno` of unshare), naming the sysctl that
/// gates it where one does.
pub fn userns_refused(errno: i32) -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|v| v.trim().to_string())
    };
    if read("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return "user namespaces are disabled: sysctl user.max_user_namespaces is 0".into();
    }
    if errno == libc::ENOSPC {
        return "the limit of user namespaces is reached (sysctl user.max_user_namespaces)".into();
    }
    if errno == libc::EPERM && euid() != 0 {
        if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
            return "unprivileged user namespaces are disabled: sysctl kernel.unprivileged_userns_clone is 0".into();
        }
        if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
            return "AppArmor restricts unprivileged user namespaces: sysctl kernel.apparmor_restrict_unprivileged_userns is 1 (or give hull an AppArmor profile with `userns`)".into();
        }
    }
    "the kernel refused a new user namespace".into()
}

/// How the maps get written.
#[derive(Debug, PartialEq, Eq)]
pub enum How {
    /// Written to /proc/PID/{uid,gid}_map by hull.
    Direct,
    /// Written by hull after `deny` to /proc/PID/setgroups (an unprivileged self-map).
    DirectDenyingSetgroups,
    /// Written by newuidmap/newgidmap.
    Helpers,
}

/// How maps `uid`/`gid` are written by a caller with effective ids `euid`/`egid`.
pub fn how(
    rootless: bool,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
    euid: u32,
    egid: u32,
) -> How {
    if !rootless || euid == 0 {
        return How::Direct;
    }
    let own = |maps: &[LinuxIdMapping], id: u32| matches!(maps, [m] if m.size() == 1 && m.host_id() == id);
    if own(uid, euid) && own(gid, egid) {
        How::DirectDenyingSetgroups
    } else {
        How::Helpers
    }
}

/// What a rootless `create` refuses before anything is made. Only a caller that is not root
/// needs a new user namespace (root of a user namespace can make the others itself).
pub fn check_config(spec: &Spec) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let user_ns = crate::namespaces::listed(linux, LinuxNamespaceType::User);
    if euid() != 0 && user_ns.is_none() {
        return Err(Error::invalid(
            "linux.namespaces: a rootless container needs a user namespace (`hull spec --rootless` writes a config with one)",
        ));
    }
    if user_ns.is_some_and(|n| n.path().is_none()) {
        let uid = linux.uid_mappings().as_deref().unwrap_or_default();
        let gid = linux.gid_mappings().as_deref().unwrap_or_default();
        check_maps("linux.uidMappings", uid, euid())?;
        let egid = nix::unistd::getegid().as_raw();
        check_maps("linux.gidMappings", gid, egid)?;
        let how = how(true, uid, gid, euid(), egid);
        let groups = spec
            .process()
            .as_ref()
            .and_then(|p| p.user().additional_gids().clone())
            .unwrap_or_default();
        if how == How::DirectDenyingSetgroups && !groups.is_empty() {
            return Err(Error::invalid(SETGROUPS_DENIED));
        }
    }
    Ok(())
}

/// A rootless map may not name host id 0 unless the caller is that id (root of a user
/// namespace maps its own root); everything else is the helpers' to grant or refuse.
fn check_maps(field: &str, maps: &[LinuxIdMapping], own: u32) -> Result<()> {
    for (i, m) in maps.iter().enumerate() {
        if m.host_id() == 0 && own != 0 {
            return Err(Error::invalid(format!(
                "{field}[{i}]: maps host id 0; a rootless container maps only your own id and your subordinate ids (/etc/subuid, /etc/subgid)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_identity_map_is_the_initial_namespace() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("         0       1000          1\n"));
        assert!(!is_initial_map("0 0 4294967295\n1 1 1\n"));
        assert!(!is_initial_map(""));
    }

    #[test]
    fn an_id_maps_outward_through_its_line() {
        let podman = "         0       1000          1\n         1     100000      65536\n";
        assert_eq!(map_id(podman, 0), Some(1000));
        assert_eq!(map_id(podman, 1), Some(100000));
        assert_eq!(map_id(podman, 65536), Some(165535));
        assert_eq!(map_id(podman, 65537), None);
        assert_eq!(map_id("0 0 4294967295\n", 4321), Some(4321));
        assert_eq!(map_id("", 0), None);
    }

    fn map(c: u32, h: u32, n: u32) -> LinuxIdMapping {
        oci_spec::runtime::LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()
    }

    #[test]
    fn a_map_naming_host_root_is_refused_for_a_user() {
        let e = check_maps("linux.uidMappings", &[map(0, 1000, 1), map(1, 0, 1)], 1000);
        assert_eq!(
            e.unwrap_err().render(),
            "linux.uidMappings[1]: maps host id 0; a rootless container maps only your own id and your subordinate ids (/etc/subuid, /etc/subgid)"
        );
        check_maps(
            "linux.uidMappings",
            &[map(0, 1000, 1), map(1, 100000, 65536)],
            1000,
        )
        .unwrap();
        // Root of a user namespace maps its own root.
        check_maps("linux.uidMappings", &[map(0, 0, 1)], 0).unwrap();
    }

    #[test]
    fn only_a_users_own_single_id_is_written_directly() {
        let own = [map(0, 1000, 1)];
        let wide = [map(0, 1000, 1), map(1, 100000, 65536)];
        assert_eq!(how(false, &wide, &wide, 0, 0), How::Direct);
        assert_eq!(
            how(true, &wide, &wide, 0, 0),
            How::Direct,
            "root of a user namespace"
        );
        assert_eq!(
            how(true, &own, &own, 1000, 1000),
            How::DirectDenyingSetgroups
        );
        assert_eq!(how(true, &wide, &own, 1000, 1000), How::Helpers);
        assert_eq!(
            how(true, &own, &own, 1000, 1001),
            How::Helpers,
            "not its own gid"
        );
        assert_eq!(
            how(true, &[map(0, 1000, 2)], &own, 1000, 1000),
            How::Helpers
        );
    }

    #[test]
    fn a_bad_rootless_flag_names_the_flag() {
        assert_eq!(
            enabled(Some("yes")).unwrap_err().render(),
            "--rootless: \"yes\" is not true, false or auto"
        );
        assert!(enabled(Some("true")).unwrap());
        assert!(!enabled(Some("false")).unwrap());
    }
}
