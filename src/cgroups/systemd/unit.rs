//! The systemd unit a container lives in, named from `linux.cgroupsPath` with runc's rules:
//! `slice:prefix:name` is the scope `prefix-name.scope` in `slice` (a `name` ending in `.slice`
//! is a slice of its own, wanting `slice`); an empty path is `system.slice:hull:<id>`. A
//! scope's cgroup is its slice's path (`a-b.slice` → `/a.slice/a-b.slice`) joined with its
//! name; a slice's is where systemd puts it, by its own name. A user's manager (rootless
//! containers) puts them below its own cgroup ([`Unit::under_user_manager`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{quote, Error, Result};

/// Where a container's unit is (pure; recorded in the state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The unit's name: `prefix-name.scope`, or `name` when it ends in `.slice`.
    pub name: String,
    /// The slice it lives in (`system.slice`).
    pub slice: String,
    /// Its cgroup, relative to the cgroup2 root (`/system.slice/docker-ID.scope`).
    pub cgroup: String,
    /// The socket of the user's bus whose manager owns the unit (rootless); none: the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_bus: Option<PathBuf>,
}

impl Unit {
    /// Whether the unit is a slice (no process can be its first member: the container's
    /// processes join its cgroup by themselves).
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }

    /// The unit as a user's manager makes it: reached over the bus at `bus`, its cgroup below
    /// the manager's own `manager_cgroup` (`/user.slice/user-1000.slice/user@1000.service`).
    pub fn under_user_manager(mut self, bus: PathBuf, manager_cgroup: &str) -> Unit {
        self.cgroup = format!("{}{}", manager_cgroup.trim_end_matches('/'), self.cgroup);
        self.user_bus = Some(bus);
        self
    }
}

/// The unit for a container `id` whose config says `cgroups_path` (empty or absent: hull's
/// default in `default_slice`).
pub fn parse(cgroups_path: Option<&str>, id: &str, default_slice: &str) -> Result<Unit> {
    let (slice, prefix, name) = match cgroups_path.filter(|p| !p.is_empty()) {
        None => (default_slice, "hull", id),
        Some(p) => {
            let parts: Vec<&str> = p.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(Error::invalid(format!(
                    "linux.cgroupsPath: {} is not of the form \"slice:prefix:name\" the systemd cgroup driver (--systemd-cgroup) needs",
                    quote(p)
                )));
            };
            (slice, prefix, name)
        }
    };
    let slice = if slice.is_empty() {
        default_slice
    } else {
        slice
    };
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else {
        // runc's naming, an empty prefix included ("-name.scope").
        format!("{prefix}-{name}.scope")
    };
    check_unit_name(&unit)?;
    let parent = expand_slice(slice)?;
    // systemd places a slice by its name (`a-b.slice` in `a.slice`), whatever it Wants.
    let cgroup = if unit.ends_with(".slice") {
        expand_slice(&unit)?
    } else {
        format!("{}/{unit}", parent.trim_end_matches('/'))
    };
    Ok(Unit {
        name: unit,
        slice: slice.to_string(),
        cgroup,
        user_bus: None,
    })
}

/// A slice's cgroup path: `a-b-c.slice` → `/a.slice/a-b.slice/a-b-c.slice`, `-.slice` → `/`
/// (systemd's, and runc's `ExpandSlice`).
pub fn expand_slice(slice: &str) -> Result<String> {
    let bad = || {
        Error::invalid(format!(
            "linux.cgroupsPath: {} is not a valid systemd slice name",
            quote(slice)
        ))
    };
    let stem = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if slice.contains('/') {
        return Err(bad());
    }
    if stem == "-" {
        return Ok("/".to_string());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(bad());
        }
        path.push('/');
        path.push_str(&prefix);
        path.push_str(part);
        path.push_str(".slice");
        prefix.push_str(part);
        prefix.push('-');
    }
    check_unit_name(slice)?;
    Ok(path)
}

/// systemd's unit name rules: at most 255 bytes of `[A-Za-z0-9:_.\-@\\]`, a non-empty stem.
fn check_unit_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    let stem_ok = name
        .rsplit_once('.')
        .is_some_and(|(stem, _)| !stem.is_empty());
    if name.len() > 255 || !stem_ok || !name.chars().all(ok_char) {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: {} is not a valid systemd unit name",
            quote(name)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_paths_name_runcs_units() {
        let u = parse(Some("system.slice:docker:abc"), "x", "system.slice").unwrap();
        assert_eq!(u.name, "docker-abc.scope");
        assert_eq!(u.cgroup, "/system.slice/docker-abc.scope");
        let u = parse(Some("machine.slice:libpod:abc"), "x", "system.slice").unwrap();
        assert_eq!(u.cgroup, "/machine.slice/libpod-abc.scope");
        let u = parse(
            Some("kubepods-burstable-pod12_3.slice:cri-containerd:abc"),
            "x",
            "system.slice",
        )
        .unwrap();
        assert_eq!(
            u.cgroup,
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_3.slice/cri-containerd-abc.scope"
        );
        assert!(!u.is_slice());
    }

    #[test]
    fn a_name_ending_in_slice_is_a_slice() {
        let u = parse(
            Some("kubepods.slice::kubepods-pod1.slice"),
            "x",
            "system.slice",
        )
        .unwrap();
        assert_eq!(u.name, "kubepods-pod1.slice");
        assert_eq!(u.cgroup, "/kubepods.slice/kubepods-pod1.slice");
        assert!(u.is_slice());
        // Placed by its name, not by the slice it wants.
        let u = parse(Some("system.slice::hulltest-x.slice"), "x", "system.slice").unwrap();
        assert_eq!(u.cgroup, "/hulltest.slice/hulltest-x.slice");
    }

    #[test]
    fn empty_path_and_empty_parts_take_the_defaults() {
        let u = parse(None, "c1", "system.slice").unwrap();
        assert_eq!(u.name, "hull-c1.scope");
        assert_eq!(u.cgroup, "/system.slice/hull-c1.scope");
        let u = parse(Some(""), "c1", "user.slice").unwrap();
        assert_eq!(u.cgroup, "/user.slice/hull-c1.scope");
        let u = parse(Some(":p:n"), "c1", "system.slice").unwrap();
        assert_eq!(u.cgroup, "/system.slice/p-n.scope");
        // runc's naming with an empty prefix.
        assert_eq!(
            parse(Some("a.slice::n"), "c", "s.slice").unwrap().name,
            "-n.scope"
        );
        assert_eq!(
            parse(Some("-.slice:p:n"), "c", "s.slice").unwrap().cgroup,
            "/p-n.scope"
        );
    }

    #[test]
    fn malformed_paths_are_refused_naming_the_field() {
        for p in [
            "/hull/c1",
            "a:b",
            "a.slice:b:c:d",
            "notaslice:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "a-.slice:p:n",
            ".slice:p:n",
            "a/b.slice:p:n",
            "a.slice:p:n/x",
            "a.slice:p:n m",
        ] {
            let e = parse(Some(p), "c", "system.slice").unwrap_err().render();
            assert!(e.starts_with("linux.cgroupsPath: "), "{p}: {e}");
        }
        let long = format!("a.slice:p:{}", "n".repeat(300));
        assert!(parse(Some(&long), "c", "system.slice").is_err());
    }

    #[test]
    fn a_user_managers_unit_lives_below_the_manager() {
        let m = "/user.slice/user-1000.slice/user@1000.service";
        let u = parse(None, "c1", "user.slice")
            .unwrap()
            .under_user_manager("/run/user/1000/bus".into(), m);
        assert_eq!(u.name, "hull-c1.scope");
        assert_eq!(u.slice, "user.slice");
        assert_eq!(
            u.cgroup,
            "/user.slice/user-1000.slice/user@1000.service/user.slice/hull-c1.scope"
        );
        let u = parse(Some("user.slice:libpod:abc"), "x", "user.slice")
            .unwrap()
            .under_user_manager("/b".into(), m);
        assert_eq!(u.cgroup, format!("{m}/user.slice/libpod-abc.scope"));
        let u = parse(Some("-.slice:p:n"), "x", "user.slice")
            .unwrap()
            .under_user_manager("/b".into(), m);
        assert_eq!(u.cgroup, format!("{m}/p-n.scope"));
        // Recorded in the state; a system unit's state has no such key.
        let json = serde_json::to_string(&u).unwrap();
        assert!(json.contains("\"user_bus\":\"/b\""), "{json}");
        let sys = parse(None, "c1", "system.slice").unwrap();
        assert!(!serde_json::to_string(&sys).unwrap().contains("user_bus"));
    }

    #[test]
    fn expand_slice_is_systemds() {
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
    }
}
