//! OCI namespaces: type → CLONE_* flag and /proc name, and the plan of a spawn: which namespaces
//! are joined by fd and which are created. A new container joins those its config names by
//! `path` and creates the rest ([`plan`]); a process joining a running container joins every
//! namespace of its init that differs from hull's own ([`of_process`]). The fds are opened by
//! the parent before any clone, so a bad path fails early and names the field. Join order:
//! user first, mount last. Also the id maps' text, written for a spawn's new user namespace
//! and for the user namespaces an id-mapped mount borrows its mapping from ([`userns_with_maps`]).

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespace, LinuxNamespaceType as T};

use crate::error::{short, Context, Error, Result};

/// Every namespace type, in join order (user first, mount last).
pub const ALL: [T; 8] = [
    T::User,
    T::Ipc,
    T::Uts,
    T::Network,
    T::Pid,
    T::Cgroup,
    T::Time,
    T::Mount,
];

/// The config's entry for namespace type `t` in `linux.namespaces` (new or joined), if any.
pub fn listed(linux: &Linux, t: T) -> Option<&LinuxNamespace> {
    linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|n| n.typ() == t)
}

/// CLONE_NEW* flag of a namespace type.
pub fn flag(t: T) -> CloneFlags {
    match t {
        T::User => CloneFlags::CLONE_NEWUSER,
        T::Ipc => CloneFlags::CLONE_NEWIPC,
        T::Uts => CloneFlags::CLONE_NEWUTS,
        T::Network => CloneFlags::CLONE_NEWNET,
        T::Pid => CloneFlags::CLONE_NEWPID,
        T::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        T::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        T::Mount => CloneFlags::CLONE_NEWNS,
    }
}

/// The spec's name of a namespace type (`linux.namespaces[].type`).
pub fn spec_name(t: T) -> &'static str {
    match t {
        T::User => "user",
        T::Ipc => "ipc",
        T::Uts => "uts",
        T::Network => "network",
        T::Pid => "pid",
        T::Cgroup => "cgroup",
        T::Time => "time",
        T::Mount => "mount",
    }
}

/// The name under /proc/<pid>/ns/.
pub fn proc_name(t: T) -> &'static str {
    match t {
        T::Network => "net",
        T::Mount => "mnt",
        other => spec_name(other),
    }
}

/// A namespace to join.
#[derive(Debug)]
pub struct Join {
    /// Its type.
    pub typ: T,
    /// An fd of it.
    pub fd: OwnedFd,
    /// Where it was opened (for messages).
    pub source: String,
}

/// What a spawn does with each namespace.
#[derive(Debug, Default)]
pub struct Plan {
    /// Namespaces joined by fd, in join order.
    pub join: Vec<Join>,
    /// Namespaces created new.
    pub new: Vec<T>,
}

impl Plan {
    /// Whether a new namespace of this type is created.
    pub fn is_new(&self, t: T) -> bool {
        self.new.contains(&t)
    }
    /// Whether the container has its own namespace of this type (new or joined).
    pub fn has(&self, t: T) -> bool {
        self.is_new(t) || self.join.iter().any(|j| j.typ == t)
    }
}

/// Check `linux.namespaces` (no duplicates) and open the paths to join.
pub fn plan(list: &[LinuxNamespace]) -> Result<Plan> {
    let mut plan = Plan::default();
    for (i, ns) in list.iter().enumerate() {
        let t = ns.typ();
        if list[..i].iter().any(|o| o.typ() == t) {
            return Err(Error::invalid(format!(
                "linux.namespaces[{i}].type: namespace {:?} is listed twice",
                spec_name(t)
            )));
        }
        match ns.path() {
            Some(p) if !p.as_os_str().is_empty() => {
                let f = File::open(p).with_context(|| {
                    format!(
                        "linux.namespaces[{i}].path: open {} namespace {}",
                        spec_name(t),
                        short(p)
                    )
                })?;
                plan.join.push(Join {
                    typ: t,
                    fd: OwnedFd::from(f),
                    source: p.display().to_string(),
                });
            }
            _ => plan.new.push(t),
        }
    }
    plan.join
        .sort_by_key(|j| ALL.iter().position(|x| *x == j.typ));
    plan.new.sort_by_key(|t| ALL.iter().position(|x| x == t));
    Ok(plan)
}

/// The namespaces of process `pid` (a container's init) that are not hull's own, in join order:
/// what a process joining that container enters.
pub fn of_process(pid: i32) -> Result<Plan> {
    use std::os::unix::fs::MetadataExt;
    let mut plan = Plan::default();
    for t in ALL {
        let name = proc_name(t);
        let path = format!("/proc/{pid}/ns/{name}");
        let f = match File::open(&path) {
            Ok(f) => f,
            // A namespace type this kernel does not have (time before 5.6).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("open {path}")),
        };
        let theirs = f.metadata().with_context(|| format!("stat {path}"))?;
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
            .with_context(|| format!("stat /proc/self/ns/{name}"))?;
        if (theirs.dev(), theirs.ino()) != (ours.dev(), ours.ino()) {
            plan.join.push(Join {
                typ: t,
                fd: OwnedFd::from(f),
                source: path,
            });
        }
    }
    Ok(plan)
}

/// The text of a `uid_map` or `gid_map` file: one `inside outside count` line a mapping, the
/// config's `containerID hostID size` as written. The same for `linux.uidMappings` and for a
/// mount's `uidMappings` (runc writes both unchanged): for a mount, `containerID` is the id the
/// filesystem stores and `hostID` the id the mount shows (`sys::mount::set_idmap`).
pub fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Write the `uid_map` and `gid_map` of process `pid`, just made in a new user namespace;
/// `fields` name the mappings' config fields in errors.
pub fn write_maps(
    pid: i32,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
    fields: [&str; 2],
) -> Result<()> {
    for (file, maps, field) in [("uid_map", uid, fields[0]), ("gid_map", gid, fields[1])] {
        crate::fsutil::write_file(Path::new(&format!("/proc/{pid}/{file}")), &map_text(maps))
            .context(field.to_string())?;
    }
    Ok(())
}

/// A user namespace with these maps, held by an fd (`/proc/PID/ns/user` of an idle child made
/// in it for the purpose, killed and reaped before this returns).
pub fn userns_with_maps(
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
    fields: [&str; 2],
) -> Result<OwnedFd> {
    let pid = crate::sys::clone::idle_child_in_new_userns()
        .with_context(|| format!("{}: clone a process in a new user namespace", fields[0]))?;
    let res = write_maps(pid, uid, gid, fields).and_then(|()| {
        let path = format!("/proc/{pid}/ns/user");
        File::open(&path)
            .map(OwnedFd::from)
            .with_context(|| format!("open {path}"))
    });
    // SAFETY: kill(2) of our own child, not yet reaped (its pid cannot be reused).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = crate::sys::wait::wait(pid);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(container: u32, host: u32, size: u32) -> LinuxIdMapping {
        serde_json::from_value(
            serde_json::json!({"containerID": container, "hostID": host, "size": size}),
        )
        .unwrap()
    }

    #[test]
    fn map_text_is_container_host_size_per_line() {
        // uid_map's columns are "ID-inside-ns ID-outside-ns length" (user_namespaces(7)): the
        // container's id inside, the host's outside. Swapped columns would give "100000 0 …".
        assert_eq!(
            map_text(&[m(0, 100000, 65536), m(65536, 1000, 1)]),
            "0 100000 65536\n65536 1000 1\n"
        );
        assert_eq!(map_text(&[]), "");
    }
}
