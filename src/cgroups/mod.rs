//! Cgroups on unified (pure v2), hybrid (v1 controllers + cgroup2 at `<root>/unified`) and legacy
//! (v1 only) hosts. The layout is detected once from the filesystem magic; the container's
//! directory in every hierarchy is resolved from `cgroupsPath` with runc's rules (absolute: from
//! the hierarchy root; relative: from hull's own cgroup, on pure v2 from its parent; empty:
//! `/hull/<id>`), created with its
//! parents, joined by stage 1 itself (`join.rs`), and removed on delete (only the directories hull
//! created). On hybrid the container also joins the same path in `unified` and `name=systemd`, as
//! runc does. Resources are applied by `v1.rs` or `v2.rs` (`apply`), before init is released.
//! Every filesystem root is a parameter so unit tests run against a tempdir tree.

pub mod convert;
pub mod devices;
mod join;
mod manager;
pub mod oom;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;

pub use join::{sub_cgroups, JoinDirs};
pub use manager::Manager;

use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::fsutil::{parse_mountinfo, read_file, write_file};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The host's cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Pure cgroup v2.
    Unified,
    /// v1 controllers plus cgroup2 mounted at `unified`.
    Hybrid,
    /// v1 only.
    Legacy,
}

impl Mode {
    /// Name as shown in the README and `features`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Unified => "unified",
            Mode::Hybrid => "hybrid",
            Mode::Legacy => "legacy",
        }
    }
}

fn is_cgroup2(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills a zeroed struct we own from a valid C string.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == CGROUP2_SUPER_MAGIC
    }
}

/// Detect the layout under `root` (normally /sys/fs/cgroup).
pub fn detect_mode(root: &Path) -> Mode {
    if is_cgroup2(root) {
        Mode::Unified
    } else if is_cgroup2(&root.join("unified")) {
        Mode::Hybrid
    } else {
        Mode::Legacy
    }
}

/// One hierarchy the container belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Controllers of a v1 hierarchy (`cpu,cpuacct`, `name=systemd`); empty for cgroup2.
    pub controllers: String,
    /// The container's directory in it.
    pub path: PathBuf,
}

/// What the state dir keeps about the container's cgroups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupState {
    /// The host's layout when the container was created.
    pub mode: Mode,
    /// The cgroup2 mount (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified`), if any.
    #[serde(default)]
    pub unified_root: Option<PathBuf>,
    /// Every directory the container is in.
    pub hierarchies: Vec<Hierarchy>,
    /// Directories hull created, parents before children.
    pub created: Vec<PathBuf>,
    /// Parents hull owns by convention whoever made them (the default `/hull`): removed on
    /// delete when empty, so the last container out leaves nothing behind.
    #[serde(default)]
    pub shared_parents: Vec<PathBuf>,
    /// The systemd unit holding the cgroup (`--systemd-cgroup`): systemd makes and removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
}

impl CgroupState {
    /// A rootless container without a writable cgroup has none (`Manager::create`).
    pub fn is_none(&self) -> bool {
        self.hierarchies.is_empty() && self.systemd.is_none()
    }

    /// Refuse `what` (a command: `pause`, `ps`, ...) for a container without a cgroup.
    pub fn require(&self, id: &str, what: &str) -> Result<()> {
        if self.is_none() {
            return Err(Error::invalid(format!(
                "{what} {id}: the container has no cgroup (it was created rootless where no cgroup was writable); {what} needs one"
            )));
        }
        Ok(())
    }

    /// The directory of the hierarchy holding `controller` (`""` for cgroup2).
    pub fn path_of(&self, controller: &str) -> Option<&Path> {
        self.hierarchies
            .iter()
            .find(|h| {
                if controller.is_empty() {
                    h.controllers.is_empty()
                } else {
                    h.controllers.split(',').any(|c| c == controller)
                }
            })
            .map(|h| h.path.as_path())
    }
}

/// A mounted hierarchy as found in mountinfo.
#[derive(Debug, Clone)]
struct Mounted {
    controllers: String,
    mount_point: PathBuf,
    root: String,
}

const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

fn v1_controllers(super_options: &str) -> String {
    super_options
        .split(',')
        .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
        .collect::<Vec<_>>()
        .join(",")
}

fn same_set(a: &str, b: &str) -> bool {
    let mut x: Vec<&str> = a.split(',').collect();
    let mut y: Vec<&str> = b.split(',').collect();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

/// The hierarchies to use for `mode`, from mountinfo text, keeping the first mount of each.
fn mounted_hierarchies(mode: Mode, mountinfo: &str, cg_root: &Path) -> Vec<Mounted> {
    let mut out: Vec<Mounted> = Vec::new();
    for m in parse_mountinfo(mountinfo) {
        let mp = PathBuf::from(&m.mount_point);
        let controllers = match (m.fstype.as_str(), mode) {
            ("cgroup2", Mode::Unified) if mp == cg_root => String::new(),
            ("cgroup2", Mode::Hybrid) if mp == cg_root.join("unified") => String::new(),
            ("cgroup", Mode::Hybrid | Mode::Legacy) if mp.starts_with(cg_root) => {
                let c = v1_controllers(&m.super_options);
                if c.is_empty() {
                    continue;
                }
                c
            }
            _ => continue,
        };
        if out.iter().any(|h| same_set(&h.controllers, &controllers)) {
            continue;
        }
        out.push(Mounted {
            controllers,
            mount_point: mp,
            root: m.root,
        });
    }
    out
}

/// This process's cgroup in the hierarchy with `controllers` ("" = cgroup2), from /proc/self/cgroup.
fn own_cgroup(proc_cgroup: &str, controllers: &str) -> String {
    for line in proc_cgroup.lines() {
        let mut it = line.splitn(3, ':');
        let (_, c, p) = (it.next(), it.next().unwrap_or(""), it.next().unwrap_or("/"));
        if (controllers.is_empty() && c.is_empty()) || (!c.is_empty() && same_set(c, controllers)) {
            return p.to_string();
        }
    }
    "/".to_string()
}

/// Check a cgroupsPath and turn it into (absolute?, components).
pub fn validate_path(p: &Path) -> Result<()> {
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: {} must not contain \"..\"",
            crate::error::quote(p)
        )));
    }
    if p.to_string_lossy().contains(':') && !p.is_absolute() {
        return Err(Error::invalid(format!(
            "linux.cgroupsPath: {} looks like a systemd slice:prefix:name path: pass --systemd-cgroup to use the systemd driver",
            crate::error::quote(p)
        )));
    }
    Ok(())
}

fn strip_root<'a>(path: &'a str, root: &str) -> &'a str {
    if root == "/" {
        return path;
    }
    path.strip_prefix(root)
        .filter(|r| r.is_empty() || r.starts_with('/'))
        .unwrap_or(path)
}

/// Resolve the container's directory in every hierarchy (pure; roots are parameters).
pub fn resolve(
    mode: Mode,
    cg_root: &Path,
    mountinfo: &str,
    proc_cgroup: &str,
    cgroups_path: &Path,
) -> Result<Vec<Hierarchy>> {
    validate_path(cgroups_path)?;
    let hs = mounted_hierarchies(mode, mountinfo, cg_root);
    if hs.is_empty() {
        return Err(Error::invalid(format!(
            "no cgroup hierarchy is mounted under {}",
            cg_root.display()
        )));
    }
    let rel = cgroups_path.to_string_lossy();
    Ok(hs
        .into_iter()
        .map(|h| {
            let inner = if cgroups_path.is_absolute() {
                strip_root(&rel, &h.root).to_string()
            } else {
                let own = own_cgroup(proc_cgroup, &h.controllers);
                let own = strip_root(&own, &h.root);
                // Pure v2: from the parent of hull's own cgroup, runc's fs2 rule. Hull's own
                // cgroup has processes (hull's caller, a user's shell in a delegated subtree),
                // so no controller could be enabled for a child of it; its parent, the
                // delegated subtree's top, can. v1 hierarchies: from the own cgroup (runc's fs).
                let base = if mode == Mode::Unified {
                    Path::new(own)
                        .parent()
                        .map_or_else(|| own.to_string(), |p| p.to_string_lossy().into_owned())
                } else {
                    own.to_string()
                };
                format!("{}/{}", base.trim_end_matches('/'), rel)
            };
            let path = h.mount_point.join(inner.trim_start_matches('/'));
            Hierarchy {
                controllers: h.controllers,
                path,
            }
        })
        .collect())
}

/// Apply resources to a container's cgroups, whatever the layout.
pub fn apply(state: &CgroupState, res: &oci_spec::runtime::LinuxResources) -> Result<()> {
    let unified = state
        .unified_root
        .as_deref()
        .and_then(|root| state.path_of("").map(|dir| (dir, root)));
    match state.mode {
        Mode::Unified => {
            let (dir, root) =
                unified.ok_or_else(|| Error::Msg("no cgroup2 directory recorded".into()))?;
            v2::apply(res, root, dir)
        }
        Mode::Hybrid | Mode::Legacy => {
            let dir_of = |c: &str| state.path_of(c).map(Path::to_path_buf);
            v1::apply(res, &dir_of, unified)
        }
    }
}

/// The first limit `res` asks for, as its field path (`linux.resources.memory.limit`), devices
/// aside: what a rootless container without a writable cgroup cannot honour. Unset, zero,
/// false and empty count as not asked for (runc's zero=unset rule; engines send zeroed
/// sections).
pub fn requested_limit(res: &oci_spec::runtime::LinuxResources) -> Option<String> {
    fn first(v: &serde_json::Value, path: &str) -> Option<String> {
        use serde_json::Value as V;
        match v {
            V::Null | V::Bool(false) => None,
            V::Number(n) if n.as_f64() == Some(0.0) => None,
            V::String(s) if s.is_empty() => None,
            V::Array(a) if a.is_empty() => None,
            V::Object(o) => o
                .iter()
                .filter(|(k, _)| k.as_str() != "devices")
                .find_map(|(k, v)| first(v, &format!("{path}.{k}"))),
            _ => Some(path.to_string()),
        }
    }
    first(&serde_json::to_value(res).ok()?, "linux.resources")
}

/// Write `value` to `dir/file` for config field `field`; a missing file is named as such.
pub(crate) fn set(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(Error::invalid(format!(
            "{field}: {} does not exist on this host",
            path.display()
        )));
    }
    write_file(&path, value).context(field.to_string())
}

/// Pids in the container's cgroup and its sub-cgroups (cgroup2 when joined, else the first v1
/// hierarchy).
pub fn pids(state: &CgroupState) -> Vec<i32> {
    let path = state
        .path_of("")
        .or_else(|| state.hierarchies.first().map(|h| h.path.as_path()));
    let Some(path) = path else { return Vec::new() };
    let mut out = Vec::new();
    collect_pids(path, &mut out, 0);
    out
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>, depth: usize) {
    out.extend(
        fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse::<i32>().ok()),
    );
    // A stat says whether there is a sub-cgroup to list (most containers make none).
    if depth > 32 || !has_sub_cgroups(dir) {
        return;
    }
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&e.path(), out, depth + 1);
        }
    }
}

/// Whether the container's cgroup is frozen (v1 freezer or v2 cgroup.freeze).
pub fn is_frozen(state: &CgroupState) -> bool {
    if let Some(p) = state.path_of("freezer") {
        return fs::read_to_string(p.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED");
    }
    if let Some(p) = state.path_of("") {
        return fs::read_to_string(p.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1");
    }
    false
}

/// Freeze or thaw every process of the container and wait until the kernel says it is done
/// (v1 `freezer.state`; v2 `cgroup.freeze` + `cgroup.events`).
pub fn freeze(state: &CgroupState, frozen: bool) -> Result<()> {
    if let Some(p) = state.path_of("freezer") {
        let want = if frozen { "FROZEN" } else { "THAWED" };
        // Tasks in uninterruptible sleep delay FROZEN: up to 5 s under load.
        for _ in 0..5000 {
            write_file(&p.join("freezer.state"), want)?;
            if read_file(&p.join("freezer.state"))?.trim() == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        return Err(Error::Msg(format!(
            "{}: the freezer did not reach {want}",
            p.display()
        )));
    }
    if let Some(p) = state
        .path_of("")
        .filter(|p| p.join("cgroup.freeze").exists())
    {
        write_file(&p.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
        let want = if frozen { "frozen 1" } else { "frozen 0" };
        for _ in 0..5000 {
            if read_file(&p.join("cgroup.events"))?
                .lines()
                .any(|l| l == want)
            {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        return Err(Error::Msg(format!(
            "{}: cgroup did not report {want}",
            p.display()
        )));
    }
    Err(Error::invalid(
        "no freezer: neither a v1 freezer hierarchy nor cgroup.freeze is available",
    ))
}

/// Thaw a frozen cgroup (best effort; used before killing a paused container).
pub fn thaw(state: &CgroupState) {
    let _ = freeze(state, false);
}

/// Signal every process of the container so that none escapes by forking meanwhile: SIGKILL
/// through `cgroup.kill` where the kernel has it (v2, and the unified half of hybrid hosts),
/// otherwise freeze, signal each pid, thaw.
pub fn signal_all(state: &CgroupState, sig: i32) -> Result<()> {
    if sig == libc::SIGKILL {
        if let Some(p) = state.path_of("").filter(|p| p.join("cgroup.kill").exists()) {
            return write_file(&p.join("cgroup.kill"), "1");
        }
    }
    // Freeze so nothing forks past the signal; a container that was paused stays paused.
    let was_frozen = is_frozen(state);
    // Even a freeze that timed out may have left tasks frozen: thaw whenever we tried.
    let froze = !was_frozen;
    if froze {
        let _ = freeze(state, true);
    }
    for pid in pids(state) {
        // SAFETY: kill(2) with a pid listed in the container's own cgroup, frozen meanwhile.
        unsafe { libc::kill(pid, sig) };
    }
    if froze {
        freeze(state, false)?;
    }
    Ok(())
}

/// Kill every process left in the cgroup and wait (bounded) until it is empty.
pub fn kill_all(state: &CgroupState) {
    for _ in 0..200 {
        if pids(state).is_empty() {
            return;
        }
        let _ = signal_all(state, libc::SIGKILL);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Remove the directories hull created, children first; retries while exiting tasks drain.
/// Sub-cgroups the container made in its own directory (systemd or a nested runtime inside, with
/// a writable cgroup mount) go first, deepest first: the kernel refuses to remove a cgroup that
/// has children (EBUSY), and no one else would ever remove them.
pub fn destroy(state: &CgroupState) -> Result<()> {
    if let Some(unit) = &state.systemd {
        return systemd::stop(unit);
    }
    for dir in state.created.iter().rev() {
        let is_leaf = state.hierarchies.iter().any(|h| &h.path == dir);
        if is_leaf {
            // Most containers made no sub-cgroup: one rmdir does, and the directory is listed
            // only when it fails (issue #16: a listing per hierarchy was half of delete's calls).
            match fs::remove_dir(dir) {
                Ok(()) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(_) => remove_descendants(dir, 0)?,
            }
        }
        let mut tries = 0;
        loop {
            match fs::remove_dir(dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                // A shared parent (e.g. /hull) still holds other containers: leave it.
                Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                    if !is_leaf {
                        remove_if_unused(dir);
                        break;
                    }
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("remove cgroup {}", dir.display()))
                }
            }
        }
    }
    // A shared parent this container made was handled above, with the same rule.
    for dir in state
        .shared_parents
        .iter()
        .filter(|d| !state.created.contains(d))
    {
        remove_if_unused(dir);
    }
    Ok(())
}

/// Remove a parent cgroup other containers may share (e.g. /hull) unless one still uses it.
/// The kernel answers EBUSY for a parent with sub-cgroups (in use: leave it) and for one still
/// counted as populated; with no sub-cgroup left that can only be a task still leaving, so the
/// removal is retried (bounded) rather than leaving the parent behind for good.
fn remove_if_unused(dir: &Path) {
    for _ in 0..200 {
        match fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && !has_sub_cgroups(dir) => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            // Removed, gone already, or still holding another container: all fine.
            _ => return,
        }
    }
}

/// Whether `dir` has a sub-cgroup: cgroupfs (kernfs, v1 and v2) counts a directory's links as
/// 2 + its subdirectories, so one stat answers what a listing would (issue #16: a listing of
/// each shared parent was a fifth of delete's system calls on v1).
fn has_sub_cgroups(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match fs::symlink_metadata(dir) {
        Ok(m) => m.nlink() > 2,
        // Unreadable: treat as in use, never spin on it.
        Err(_) => true,
    }
}

/// Remove every directory below `dir`, deepest first, retrying while exiting tasks drain (a
/// cgroup whose last task is still exiting is EBUSY for a moment).
fn remove_descendants(dir: &Path, depth: usize) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("read cgroup {}", dir.display())),
    };
    for e in entries.flatten() {
        // DirEntry::file_type does not follow symlinks: only real sub-cgroups are entered.
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let sub = e.path();
        // The kernel caps nesting (cgroup.max.depth); this only guards the recursion.
        if depth < 64 {
            remove_descendants(&sub, depth + 1)?;
        }
        let mut tries = 0;
        loop {
            match fs::remove_dir(&sub) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("remove cgroup {}", sub.display()))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const PROC_CGROUP: &str = "3:name=systemd:/\n2:memory:/mine/x\n1:cpu:/\n0::/u\n";

    #[test]
    fn absolute_path_is_under_each_hierarchy_root() {
        let hs = resolve(
            Mode::Hybrid,
            Path::new("/sys/fs/cgroup"),
            HYBRID_MOUNTINFO,
            PROC_CGROUP,
            Path::new("/hull/c1"),
        )
        .unwrap();
        let paths: Vec<_> = hs
            .iter()
            .map(|h| (h.controllers.as_str(), h.path.to_str().unwrap()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("cpu", "/sys/fs/cgroup/cpu/hull/c1"),
                ("memory", "/sys/fs/cgroup/memory/hull/c1"),
                ("name=systemd", "/sys/fs/cgroup/systemd/hull/c1"),
                ("", "/sys/fs/cgroup/unified/hull/c1"),
            ]
        );
    }

    #[test]
    fn relative_path_is_under_own_cgroup() {
        let hs = resolve(
            Mode::Hybrid,
            Path::new("/sys/fs/cgroup"),
            HYBRID_MOUNTINFO,
            PROC_CGROUP,
            Path::new("a/b"),
        )
        .unwrap();
        assert_eq!(hs[1].path, Path::new("/sys/fs/cgroup/memory/mine/x/a/b"));
        assert_eq!(hs[3].path, Path::new("/sys/fs/cgroup/unified/u/a/b"));
    }

    #[test]
    fn relative_path_on_pure_v2_is_beside_own_cgroup() {
        let v2 = "40 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let at = |own: &str| {
            resolve(
                Mode::Unified,
                Path::new("/sys/fs/cgroup"),
                v2,
                &format!("0::{own}\n"),
                Path::new("ctr"),
            )
            .unwrap()[0]
                .path
                .clone()
        };
        assert_eq!(at("/deleg/shell"), Path::new("/sys/fs/cgroup/deleg/ctr"));
        assert_eq!(at("/"), Path::new("/sys/fs/cgroup/ctr"));
        assert_eq!(at("/top"), Path::new("/sys/fs/cgroup/ctr"));
    }

    #[test]
    fn legacy_ignores_unified_and_unified_uses_only_cgroup2() {
        let hs = resolve(
            Mode::Legacy,
            Path::new("/sys/fs/cgroup"),
            HYBRID_MOUNTINFO,
            PROC_CGROUP,
            Path::new("/x"),
        )
        .unwrap();
        assert!(hs.iter().all(|h| !h.controllers.is_empty()));
        let v2 = "40 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let hs = resolve(
            Mode::Unified,
            Path::new("/sys/fs/cgroup"),
            v2,
            "0::/\n",
            Path::new("/x"),
        )
        .unwrap();
        assert_eq!(
            hs,
            vec![Hierarchy {
                controllers: String::new(),
                path: "/sys/fs/cgroup/x".into()
            }]
        );
    }

    #[test]
    fn a_requested_limit_is_named_and_zeroes_and_devices_are_none() {
        let r = |v: serde_json::Value| requested_limit(&serde_json::from_value(v).unwrap());
        assert_eq!(r(serde_json::json!({})), None);
        assert_eq!(
            r(serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]})),
            None
        );
        // docker's and ctr's zeroed sections.
        assert_eq!(
            r(
                serde_json::json!({"cpu": {"shares": 0, "quota": 0}, "memory": {}, "blockIO": {"weightDevice": []}})
            ),
            None
        );
        assert_eq!(
            r(serde_json::json!({"cpu": {"shares": 0}, "memory": {"limit": 104857600}})),
            Some("linux.resources.memory.limit".into())
        );
        assert_eq!(
            r(serde_json::json!({"pids": {"limit": 64}})),
            Some("linux.resources.pids.limit".into())
        );
    }

    #[test]
    fn destroy_removes_sub_cgroups_of_the_container_but_not_of_others() {
        let t = tempfile::tempdir().unwrap();
        let parent = t.path().join("hull");
        let mine = parent.join("c1");
        let other = parent.join("c2");
        for d in ["c1/inner/deeper", "c1/inner/side", "c1/x", "c2/sub"] {
            fs::create_dir_all(parent.join(d)).unwrap();
        }
        let state = CgroupState {
            mode: Mode::Unified,
            unified_root: Some(t.path().to_path_buf()),
            hierarchies: vec![Hierarchy {
                controllers: String::new(),
                path: mine.clone(),
            }],
            created: vec![parent.clone(), mine.clone()],
            shared_parents: vec![parent.clone()],
            systemd: None,
        };
        destroy(&state).unwrap();
        assert!(!mine.exists(), "the container's subtree is gone");
        assert!(
            other.join("sub").is_dir(),
            "another container's cgroup is untouched"
        );
        assert!(parent.is_dir(), "the shared parent stays while in use");
        fs::remove_dir_all(&other).unwrap();
        destroy(&state).unwrap();
        assert!(!parent.exists(), "and goes with the last container");
    }

    #[test]
    fn dotdot_and_systemd_paths_are_refused() {
        assert!(validate_path(Path::new("/a/../b")).is_err());
        assert!(validate_path(Path::new("system.slice:hull:c1")).is_err());
    }
}
