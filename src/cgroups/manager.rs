//! Places a new container in its cgroups: resolves its directory in every hierarchy (or, with
//! the systemd driver, its unit), records what it is about to make before making it, makes it,
//! and applies the resources.

use std::fs;
use std::path::{Path, PathBuf};

use super::{apply, detect_mode, resolve, systemd, CgroupState, Hierarchy, Mode};
use crate::error::{Context, Error, Result};
use crate::fsutil::{read_file, write_file};

/// Places a new container in its cgroups.
pub struct Manager {
    state: CgroupState,
    /// With the systemd driver: the unit's properties but its first process.
    unit_props: Vec<systemd::props::Property>,
    /// The scope's idle first process until the container's init is in it.
    placeholder: Option<systemd::Placeholder>,
    /// Rootless: a cgroup the caller may not make means none (see [`Manager::create`]).
    rootless: bool,
    /// Why there is no cgroup (rootless, refused): the error, for the message of a limit.
    refused: Option<String>,
}

impl Manager {
    /// Resolve the container's cgroup directories on this host.
    pub fn new(cgroups_path: Option<&Path>, id: &str) -> Result<Manager> {
        let root = Path::new("/sys/fs/cgroup");
        let mode = detect_mode(root);
        let default = PathBuf::from(format!("/hull/{id}"));
        let (path, is_default) = match cgroups_path {
            Some(p) if !p.as_os_str().is_empty() => (p, false),
            _ => (default.as_path(), true),
        };
        let hierarchies = resolve(
            mode,
            root,
            &read_file(Path::new("/proc/self/mountinfo"))?,
            &read_file(Path::new("/proc/self/cgroup"))?,
            path,
        )?;
        let shared_parents = if is_default {
            hierarchies
                .iter()
                .filter_map(|h| h.path.parent().map(Path::to_path_buf))
                .collect()
        } else {
            Vec::new()
        };
        let unified_root = match mode {
            Mode::Unified => Some(root.to_path_buf()),
            Mode::Hybrid => Some(root.join("unified")),
            Mode::Legacy => None,
        };
        Ok(Manager {
            state: CgroupState {
                mode,
                unified_root,
                hierarchies,
                created: Vec::new(),
                shared_parents,
                systemd: None,
            },
            unit_props: Vec::new(),
            placeholder: None,
            rootless: false,
            refused: None,
        })
    }

    /// Rootless mode: where the caller may not make the cgroup, the container goes without
    /// one, unless it asks for limits.
    pub fn rootless(mut self, on: bool) -> Manager {
        self.rootless = on;
        self
    }

    /// The systemd driver's placement: the unit `cgroups_path` names (`slice:prefix:name`),
    /// its cgroup under the cgroup2 root, its properties from `res` and `annotations`. Rootless,
    /// the unit is the user's manager's (`systemd::user_manager`, asked over its bus now), in
    /// `user.slice` of it by default.
    pub fn systemd(
        cgroups_path: Option<&Path>,
        id: &str,
        res: &oci_spec::runtime::LinuxResources,
        annotations: &std::collections::HashMap<String, String>,
        rootless: bool,
    ) -> Result<Manager> {
        let root = Path::new("/sys/fs/cgroup");
        let mode = detect_mode(root);
        if mode != Mode::Unified {
            return Err(Error::invalid(format!(
                "--systemd-cgroup: this host's cgroups are {}; hull's systemd driver needs pure cgroup v2 (omit the flag to use cgroupfs)",
                mode.as_str()
            )));
        }
        let path = cgroups_path.map(|p| p.to_string_lossy().into_owned());
        let unit_props = systemd::planned_properties(id, res, annotations)?;
        let user = systemd::user_manager(rootless)?;
        let unit = match user {
            None => systemd::unit::parse(path.as_deref(), id, "system.slice")?,
            Some(m) => systemd::unit::parse(path.as_deref(), id, "user.slice")?
                .under_user_manager(m.bus, &m.cgroup),
        };
        // Another container's unit: refused before anything is recorded, so that no cleanup
        // of this create can stop it or kill its processes.
        let dir = root.join(unit.cgroup.trim_start_matches('/'));
        if dir.exists() {
            return Err(systemd::exists(&unit));
        }
        Ok(Manager {
            // A user's unit: device rules stay properties (the host's eBPF filter is not the
            // user's to attach), as for any rootless cgroup.
            rootless: unit.user_bus.is_some(),
            state: CgroupState {
                mode,
                unified_root: Some(root.to_path_buf()),
                hierarchies: vec![Hierarchy {
                    controllers: String::new(),
                    path: dir,
                }],
                created: Vec::new(),
                shared_parents: Vec::new(),
                systemd: Some(unit),
            },
            unit_props,
            placeholder: None,
            refused: None,
        })
    }

    /// With the systemd driver, the container's processes are in its unit now: the scope's
    /// idle first process goes.
    pub fn populated(&mut self) {
        self.placeholder = None;
    }

    /// What to record before [`Manager::create`]: the state with `created` listing every
    /// directory it is about to make (those missing now, parents first). A hull killed while
    /// making them leaves this record, and `destroy` removes those of them that exist.
    pub fn planned(&self) -> CgroupState {
        let mut st = self.state.clone();
        st.created = st
            .hierarchies
            .iter()
            .flat_map(|h| missing_dirs(&h.path))
            .collect();
        st
    }

    /// Create every directory (with parents), remembering which ones hull made; with the
    /// systemd driver, start the unit instead.
    pub fn create(&mut self) -> Result<()> {
        if let Some(unit) = &self.state.systemd {
            let dir = self.state.hierarchies[0].path.clone();
            match systemd::start(unit, &self.unit_props) {
                Ok(p) => self.placeholder = p,
                // No unit was made (no bus, or one of that name came meanwhile): there is
                // nothing of this create's to stop, and a unit of that name is not ours.
                Err(e @ Error::Invalid(_)) => {
                    self.state.systemd = None;
                    self.state.hierarchies.clear();
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            if !dir.is_dir() {
                return Err(Error::Msg(format!(
                    "systemd started {} but its cgroup {} does not exist",
                    unit.name,
                    dir.display()
                )));
            }
            return Ok(());
        }
        let hs = self.state.hierarchies.clone();
        for h in &hs {
            // Another container's delete may remove a shared empty parent (e.g. /hull) between
            // our walk and our mkdir: walk again when a parent vanished.
            let mut tries = 0;
            while let Err(e) = self.create_one(h) {
                tries += 1;
                if self.rootless && is_permission(&e) {
                    return self.go_without(e);
                }
                if e.errno() != Some(libc::ENOENT) || tries > 20 {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Rootless and refused a cgroup: undo what was made and go on without one (runc's
    /// rootless rule). Limits then cannot be honoured: [`Manager::apply`] refuses them.
    fn go_without(&mut self, why: Error) -> Result<()> {
        super::destroy(&self.state)?;
        crate::logging::debug(&format!(
            "rootless: no cgroup ({}); the container runs without one",
            why.render()
        ));
        self.refused = Some(why.render());
        self.state.hierarchies.clear();
        self.state.created.clear();
        self.state.shared_parents.clear();
        Ok(())
    }

    /// Make `h`'s directory and the parents it lacks: a mkdir first, the parents only when it
    /// says ENOENT (one call per hierarchy where a walk of stats took five; issue #16).
    fn create_one(&mut self, h: &Hierarchy) -> Result<()> {
        let cpuset = h.controllers.split(',').any(|c| c == "cpuset");
        self.make(&h.path, cpuset)
    }

    /// mkdir `dir`, its missing parents first on ENOENT. A v1 cpuset directory found there
    /// may be a concurrent create's that has not filled its cpus and mems yet: an empty one is
    /// filled from its parent as a new one is (idempotent; runc fills an empty cpuset so too).
    fn make(&mut self, dir: &Path, cpuset: bool) -> Result<()> {
        let context = || format!("create cgroup {}", crate::error::short(dir));
        match fs::create_dir(dir) {
            Ok(()) => self.state.created.push(dir.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(parent) = dir.parent() else {
                    return Err(e).with_context(context);
                };
                self.make(parent, cpuset)?;
                // Once: a parent removed again meanwhile (another container's delete) is
                // ENOENT for the caller's retry.
                match fs::create_dir(dir) {
                    Ok(()) => self.state.created.push(dir.to_path_buf()),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e).with_context(context),
                }
            }
            Err(e) => return Err(e).with_context(context),
        }
        if cpuset {
            inherit_cpuset(dir)?;
        }
        Ok(())
    }

    /// Apply `linux.resources` (before init is released, and again on `update`). Without a
    /// cgroup (rootless), a limit is refused naming its field; device rules are left to the
    /// kernel (a user namespace makes no device node and opens only what the user may).
    pub fn apply(&self, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
        if let Some(why) = &self.refused {
            return refuse_limits(res, why);
        }
        if self.rootless {
            // Device rules need CAP_SYS_ADMIN of the host (v1 devices files, v2's eBPF
            // filter); a user namespace already keeps the container from making device nodes,
            // and opening one goes by the host's file permissions.
            let mut res = res.clone();
            res.set_devices(None);
            return apply(&self.state, &res);
        }
        apply(&self.state, res)
    }

    /// What [`Manager::apply`] would refuse because a rootless caller may not make the cgroup
    /// ([`Manager::create`] then goes without one), foreseen without making anything (`check`):
    /// the parent of the first directory to make not writable by the caller.
    pub fn foresee(&self, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
        if !self.rootless || self.state.systemd.is_some() {
            return Ok(());
        }
        for h in &self.state.hierarchies {
            let Some(first) = missing_dirs(&h.path).into_iter().next() else {
                continue;
            };
            if first.parent().is_some_and(|p| !crate::fsutil::may_write(p)) {
                let why = format!(
                    "create cgroup {}: {}",
                    crate::error::short(&first),
                    crate::error::errno_str(nix::errno::Errno::EACCES)
                );
                return refuse_limits(res, &why);
            }
        }
        Ok(())
    }

    /// Whether the container's cgroups are this create's own: its systemd unit, or every leaf
    /// directory made by it.
    pub fn owns_leaves(&self) -> bool {
        let st = &self.state;
        st.systemd.is_some() || st.hierarchies.iter().all(|h| st.created.contains(&h.path))
    }

    /// What to save in the state dir.
    pub fn state(&self) -> &CgroupState {
        &self.state
    }
}

/// A rootless container without a cgroup (`why`: the refusal to make it) cannot be limited: the
/// first limit `res` asks for is refused naming its field and how to get a cgroup.
fn refuse_limits(res: &oci_spec::runtime::LinuxResources, why: &str) -> Result<()> {
    match super::requested_limit(res) {
        Some(field) => Err(Error::invalid(format!(
            "{field}: a rootless container can only be limited in a cgroup it may write, and {why}; drop the limit, or give your user a delegated cgroup v2 subtree (systemd: Delegate=yes) and point linux.cgroupsPath into it"
        ))),
        None => Ok(()),
    }
}

/// The directories from `path` up that do not exist yet, parents first.
fn missing_dirs(path: &Path) -> Vec<PathBuf> {
    let mut missing = Vec::new();
    let mut p = path;
    while !p.exists() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    missing.reverse();
    missing
}

/// A new v1 cpuset cgroup starts empty; copy the parent's cpus and mems so tasks can join. A
/// parent still empty (made by a concurrent create that has not filled it yet) is filled first.
fn inherit_cpuset(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let mine = dir.join(f);
        if !mine.exists() {
            continue;
        }
        if read_file(&mine)?.trim().is_empty() {
            let mut v = read_file(&parent.join(f))?;
            if v.trim().is_empty() {
                inherit_cpuset(parent)?;
                v = read_file(&parent.join(f))?;
            }
            write_file(&mine, v.trim())?;
        }
    }
    Ok(())
}

/// A refusal to make a cgroup that rootless mode takes as "no cgroup for you".
fn is_permission(e: &Error) -> bool {
    matches!(e.errno(), Some(libc::EACCES | libc::EPERM | libc::EROFS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_dirs_are_what_create_makes_and_destroy_takes_any_part_of_them() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        fs::create_dir_all(a.join("hull")).unwrap();
        let h = |controllers: &str, path: PathBuf| Hierarchy {
            controllers: controllers.into(),
            path,
        };
        let mut m = Manager {
            state: CgroupState {
                mode: Mode::Hybrid,
                unified_root: Some(b.clone()),
                hierarchies: vec![h("cpu", a.join("hull/c1")), h("", b.join("hull/c1"))],
                created: Vec::new(),
                shared_parents: vec![a.join("hull"), b.join("hull")],
                systemd: None,
            },
            unit_props: Vec::new(),
            placeholder: None,
            rootless: false,
            refused: None,
        };
        let planned = m.planned();
        let want = ["a/hull/c1", "b", "b/hull", "b/hull/c1"].map(|p| t.path().join(p));
        assert_eq!(planned.created, want);
        // Killed after two mkdirs: destroy removes those, minds no missing one, and takes the
        // shared parent left empty. What create makes is what it planned.
        fs::create_dir_all(a.join("hull/c1")).unwrap();
        fs::create_dir(&b).unwrap();
        super::super::destroy(&planned).unwrap();
        assert!(!a.join("hull").exists() && !b.exists());
        let again = m.planned();
        m.create().unwrap();
        assert_eq!(m.state().created, again.created);
        assert_eq!(again.created.len(), 5);
    }
}
