//! `linux.resources` on a cgroup v2 directory: controllers enabled top-down in every ancestor's
//! `cgroup.subtree_control`, then memory (memory.swap.max is swap alone), cpu (shares converted
//! to cpu.weight, cpu.max), cpuset, pids, io (blkio weight converted, io.max throttles),
//! hugetlb, rdma, the `unified` key/value passthrough, and devices as an eBPF program.
//! The mount root and the container directory are parameters, so unit tests run on a tempdir.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxHugepageLimit, LinuxMemory, LinuxNetwork,
    LinuxPids, LinuxRdma, LinuxResources,
};

use super::convert::{blkio_weight_to_io_weight, shares_to_weight, swap_to_v2, v2_limit};
use super::set;
use crate::error::{short, Context, Error, Result};

/// Whether the hierarchy rooted at `root` offers `controller`.
pub fn offers(root: &Path, controller: &str) -> bool {
    std::fs::read_to_string(root.join("cgroup.controllers"))
        .is_ok_and(|s| s.split_whitespace().any(|c| c == controller))
}

/// Enable `controllers` in the subtree_control of every ancestor of `dir` from `root` down.
pub fn enable(root: &Path, dir: &Path, controllers: &[&str]) -> Result<()> {
    let rel = dir
        .strip_prefix(root)
        .map_err(|_| Error::Msg(format!("{} is not under {}", dir.display(), root.display())))?;
    let mut cur = root.to_path_buf();
    let mut parts: Vec<_> = rel.components().collect();
    parts.pop(); // the container's own dir: it holds processes, it enables nothing
    for part in std::iter::once(None).chain(parts.into_iter().map(Some)) {
        if let Some(p) = part {
            cur.push(p);
        }
        let file = cur.join("cgroup.subtree_control");
        let have = std::fs::read_to_string(&file).unwrap_or_default();
        let missing: Vec<String> = controllers
            .iter()
            .filter(|c| {
                !have
                    .split_whitespace()
                    .any(|x| x.trim_start_matches('+') == **c)
            })
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            // One write: the kernel takes a space-separated list.
            crate::fsutil::write_file(&file, &missing.join(" "))
                .with_context(|| format!("enable {} in {}", missing.join(" "), file.display()))?;
        }
    }
    Ok(())
}

/// [`enable`] for the fields of `needed` (controller, field). An ancestor's subtree_control the
/// caller may not write is a subtree delegated to the caller whose owner did not delegate the
/// controller (systemd's `Delegate=` delegates only the controllers it manages): refused naming
/// the field, the controller and that file ([`not_delegated`]), not as the bare write error.
fn enable_for(root: &Path, dir: &Path, needed: &[(&str, &str)]) -> Result<()> {
    let cs: Vec<&str> = needed.iter().map(|(c, _)| *c).collect();
    let e = match enable(root, dir, &cs) {
        Err(e) if matches!(e.errno(), Some(libc::EACCES | libc::EPERM)) => e,
        r => return r,
    };
    let why = crate::error::errno_str(nix::errno::Errno::from_raw(e.errno().unwrap_or(0)));
    // The write that failed is the first ancestor's, from the root down, still lacking one.
    for a in ancestors(root, dir) {
        let have = std::fs::read_to_string(a.join("cgroup.subtree_control")).unwrap_or_default();
        if let Some((c, field)) = needed
            .iter()
            .find(|(c, _)| !have.split_whitespace().any(|x| x == *c))
        {
            return Err(not_delegated(field, c, &a, &why));
        }
    }
    Err(e)
}

/// The ancestors of `dir` from `root` (included) down, `dir` excluded.
fn ancestors(root: &Path, dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = dir
        .ancestors()
        .skip(1)
        .filter(|a| a.starts_with(root))
        .map(Path::to_path_buf)
        .collect();
    v.reverse();
    v
}

/// What [`enable`] would be refused for `dir` (made or not) and `controller`, foreseen without
/// writing: the first existing ancestor from `root` down whose `cgroup.subtree_control` lacks
/// the controller and is not writable by the caller (a delegated subtree's root-owned parent).
/// Root is never refused here.
pub fn undelegated(root: &Path, dir: &Path, controller: &str) -> Option<std::path::PathBuf> {
    ancestors(root, dir).into_iter().find(|a| {
        let file = a.join("cgroup.subtree_control");
        let Ok(have) = std::fs::read_to_string(&file) else {
            return false; // not made yet: the caller makes it, and it is the caller's
        };
        !have.split_whitespace().any(|x| x == controller) && !crate::fsutil::may_write(&file)
    })
}

/// A limit whose controller the caller's subtree was not given (see [`enable_for`]).
pub fn not_delegated(field: &str, controller: &str, ancestor: &Path, why: &str) -> Error {
    Error::invalid(format!(
        "{field}: the {controller} controller is not delegated to this cgroup: {} lacks it and only its owner may enable it ({why}); have {controller} delegated to your subtree (for a user's systemd: a user@.service drop-in with Delegate=, systemd.resource-control(5)), or drop the limit",
        short(&ancestor.join("cgroup.subtree_control")),
    ))
}

/// The controllers a resources section needs on v2, each with the field that needs it.
fn needed(res: &LinuxResources) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    // runc's rule throughout: a zero is unset (engines send empty and zeroed sections).
    let set = |x: Option<i64>| x.is_some_and(|v| v != 0);
    if res.memory().as_ref().is_some_and(|m| {
        set(m.limit())
            || set(m.reservation())
            || set(m.swap())
            || m.swappiness().is_some_and(|s| s != 0)
            || m.disable_oom_killer() == Some(true)
    }) {
        v.push(("memory", "linux.resources.memory"));
    }
    if let Some(c) = res.cpu() {
        if c.shares().is_some_and(|v| v != 0)
            || c.quota().is_some_and(|v| v != 0)
            || c.period().is_some_and(|v| v != 0)
            || c.burst().is_some()
            || c.idle().is_some()
        {
            v.push(("cpu", "linux.resources.cpu"));
        }
        if c.cpus().is_some() || c.mems().is_some() {
            v.push(("cpuset", "linux.resources.cpu"));
        }
    }
    if res.pids().as_ref().is_some_and(|p| p.limit() != 0) {
        v.push(("pids", "linux.resources.pids"));
    }
    if res.block_io().as_ref().is_some_and(|b| {
        b.weight().is_some_and(|w| w != 0)
            || b.leaf_weight().is_some_and(|w| w != 0)
            || [
                b.weight_device().as_ref().map(Vec::len),
                b.throttle_read_bps_device().as_ref().map(Vec::len),
                b.throttle_write_bps_device().as_ref().map(Vec::len),
                b.throttle_read_iops_device().as_ref().map(Vec::len),
                b.throttle_write_iops_device().as_ref().map(Vec::len),
            ]
            .into_iter()
            .any(|n| n.unwrap_or(0) != 0)
    }) {
        v.push(("io", "linux.resources.blockIO"));
    }
    if res
        .hugepage_limits()
        .as_ref()
        .is_some_and(|h| !h.is_empty())
    {
        v.push(("hugetlb", "linux.resources.hugepageLimits"));
    }
    if res.rdma().as_ref().is_some_and(|r| !r.is_empty()) {
        v.push(("rdma", "linux.resources.rdma"));
    }
    v
}

/// One rdma.max line.
pub fn rdma_line(dev: &str, l: &LinuxRdma) -> String {
    let mut s = dev.to_string();
    s.push_str(&match l.hca_handles() {
        Some(n) => format!(" hca_handle={n}"),
        None => " hca_handle=max".into(),
    });
    s.push_str(&match l.hca_objects() {
        Some(n) => format!(" hca_object={n}"),
        None => " hca_object=max".into(),
    });
    s
}

/// The `unified` map: each key is a file of the container's cgroup2 directory.
pub fn unified_map(root: &Path, dir: &Path, map: &HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<_> = map.keys().collect();
    keys.sort();
    for k in keys {
        let field = format!("linux.resources.unified.{}", short(k));
        if k.contains('/') || k.starts_with('.') || k.is_empty() {
            return Err(Error::invalid(format!("{field}: not a cgroup file name")));
        }
        if let Some((controller, _)) = k.split_once('.') {
            if controller != "cgroup" && offers(root, controller) {
                enable_for(root, dir, &[(controller, &field)]).context(field.clone())?;
            }
        }
        if !dir.join(k).exists() {
            return Err(Error::invalid(format!(
                "{field}: {} does not exist (unknown key, or its controller is not on the cgroup v2 hierarchy)",
                short(&dir.join(k))
            )));
        }
        set(dir, k, &map[k], &field)?;
    }
    Ok(())
}

fn check_offered(root: &Path, needed: &[(&str, &str)]) -> Result<()> {
    for (c, field) in needed {
        if !offers(root, c) {
            return Err(Error::invalid(format!(
                "{field}: the {c} controller is not available in {}/cgroup.controllers",
                root.display()
            )));
        }
    }
    Ok(())
}

/// Apply every resource on a pure v2 host. A controller must be enabled down to a cgroup the
/// caller may write, which [`enable_for`] extends to the container's: in a subtree delegated to a
/// user (a user's systemd unit included) a controller not delegated is refused naming it.
pub fn apply(res: &LinuxResources, root: &Path, dir: &Path) -> Result<()> {
    let needed = needed(res);
    check_offered(root, &needed)?;
    enable_for(root, dir, &needed)?;
    if let Some(m) = res.memory() {
        memory(m, dir)?;
    }
    if let Some(c) = res.cpu() {
        cpu(c, dir)?;
        cpuset(c, dir)?;
    }
    if let Some(p) = res.pids().as_ref().filter(|p| p.limit() != 0) {
        pids(p, dir)?;
    }
    if let Some(b) = res.block_io() {
        io(b, dir)?;
    }
    if let Some(limits) = res.hugepage_limits() {
        hugetlb(limits, dir)?;
    }
    if let Some(n) = res.network() {
        network(n)?;
    }
    if let Some(r) = res.rdma() {
        rdma(r, dir)?;
    }
    if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
        unified_map(root, dir, u)?;
    }
    if let Some(list) = res.devices() {
        devices(list, dir)?;
    }
    Ok(())
}

fn memory(m: &LinuxMemory, dir: &Path) -> Result<()> {
    if m.kernel().is_some() {
        crate::logging::debug(
            "linux.resources.memory.kernel ignored: kmem limits are deprecated (runc ignores them) and cgroup v2 has none",
        );
    }
    // v1's memory.kmem.tcp.limit_in_bytes has no cgroup v2 equivalent, and config-linux.md
    // says a v1 setting that cannot be converted MUST be an error (crun refuses it too; runc
    // 1.2 ignores it with a warning). 0 (unset) and -1 (unlimited) ask for nothing here.
    if m.kernel_tcp().is_some_and(|t| t != 0 && t != -1) {
        return Err(Error::invalid(
            "linux.resources.memory.kernelTCP: cgroup v2 has no TCP buffer limit (memory.kmem.tcp.limit_in_bytes is cgroup v1's)",
        ));
    }
    if m.swappiness().is_some_and(|s| s != 0) {
        return Err(Error::invalid(
            "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness",
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(Error::invalid(
            "linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer",
        ));
    }
    let limit = m.limit().unwrap_or(0);
    if limit != 0 {
        set(
            dir,
            "memory.max",
            &v2_limit(limit),
            "linux.resources.memory.limit",
        )?;
    }
    let swap = swap_to_v2(m.swap().unwrap_or(0), limit)?;
    if swap != 0 {
        set(
            dir,
            "memory.swap.max",
            &v2_limit(swap),
            "linux.resources.memory.swap",
        )?;
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        set(
            dir,
            "memory.low",
            &v2_limit(r),
            "linux.resources.memory.reservation",
        )?;
    }
    Ok(())
}

/// The cpu controller's part of `linux.resources.cpu` (the cpuset part is [`cpuset`]).
fn cpu(c: &LinuxCpu, dir: &Path) -> Result<()> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        set(
            dir,
            "cpu.weight",
            &shares_to_weight(s).to_string(),
            "linux.resources.cpu.shares",
        )?;
    }
    if c.quota().is_some_and(|v| v != 0) || c.period().is_some_and(|v| v != 0) {
        let quota = match c.quota() {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".into(),
        };
        let line = match c.period().filter(|p| *p != 0) {
            Some(p) => format!("{quota} {p}"),
            None => quota,
        };
        set(dir, "cpu.max", &line, "linux.resources.cpu.quota")?;
    }
    if let Some(b) = c.burst() {
        set(
            dir,
            "cpu.max.burst",
            &b.to_string(),
            "linux.resources.cpu.burst",
        )?;
    }
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(Error::invalid(
            "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime bandwidth files",
        ));
    }
    if let Some(i) = c.idle() {
        set(dir, "cpu.idle", &i.to_string(), "linux.resources.cpu.idle")?;
    }
    Ok(())
}

/// `linux.resources.cpu.cpus` and `.mems`, written after the cpu controller's files.
fn cpuset(c: &LinuxCpu, dir: &Path) -> Result<()> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        set(dir, "cpuset.cpus", cpus, "linux.resources.cpu.cpus")?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        set(dir, "cpuset.mems", mems, "linux.resources.cpu.mems")?;
    }
    Ok(())
}

fn pids(p: &LinuxPids, dir: &Path) -> Result<()> {
    set(
        dir,
        "pids.max",
        &v2_limit(if p.limit() <= 0 { -1 } else { p.limit() }),
        "linux.resources.pids.limit",
    )
}

/// `linux.resources.blockIO`: weights (io.bfq.weight when the cgroup has it, else io.weight
/// converted), then the io.max throttles.
fn io(b: &LinuxBlockIo, dir: &Path) -> Result<()> {
    let bfq = dir.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        if bfq {
            set(
                dir,
                "io.bfq.weight",
                &w.to_string(),
                "linux.resources.blockIO.weight",
            )?;
        } else {
            set(
                dir,
                "io.weight",
                &blkio_weight_to_io_weight(w).to_string(),
                "linux.resources.blockIO.weight",
            )?;
        }
    }
    if b.leaf_weight().is_some_and(|w| w != 0) {
        return Err(Error::invalid(
            "linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weight",
        ));
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = d.weight() {
            let field = format!("linux.resources.blockIO.weightDevice[{i}]");
            if bfq {
                set(
                    dir,
                    "io.bfq.weight",
                    &format!("{}:{} {w}", d.major(), d.minor()),
                    &field,
                )?;
            } else {
                set(
                    dir,
                    "io.weight",
                    &format!(
                        "{}:{} {}",
                        d.major(),
                        d.minor(),
                        blkio_weight_to_io_weight(w)
                    ),
                    &field,
                )?;
            }
        }
    }
    io_max(b, dir)
}

/// The four throttle lists of `linux.resources.blockIO`, one io.max write per device.
fn io_max(b: &LinuxBlockIo, dir: &Path) -> Result<()> {
    for (name, key, list) in [
        (
            "throttleReadBpsDevice",
            "rbps",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "wbps",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "riops",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "wiops",
            b.throttle_write_iops_device(),
        ),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            let field = format!("linux.resources.blockIO.{name}[{i}]");
            set(
                dir,
                "io.max",
                &format!("{}:{} {key}={}", d.major(), d.minor(), d.rate()),
                &field,
            )?;
        }
    }
    Ok(())
}

fn hugetlb(limits: &[LinuxHugepageLimit], dir: &Path) -> Result<()> {
    for (i, h) in limits.iter().enumerate() {
        set(
            dir,
            &format!("hugetlb.{}.max", h.page_size()),
            &h.limit().to_string(),
            &format!("linux.resources.hugepageLimits[{i}]"),
        )?;
    }
    Ok(())
}

/// net_cls and net_prio are v1 controllers: any value set is refused.
fn network(n: &LinuxNetwork) -> Result<()> {
    if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::invalid(
            "linux.resources.network: net_cls/net_prio do not exist on cgroup v2",
        ));
    }
    Ok(())
}

fn rdma(devices: &HashMap<String, LinuxRdma>, dir: &Path) -> Result<()> {
    for (dev, l) in devices {
        set(
            dir,
            "rdma.max",
            &rdma_line(dev, l),
            &format!("linux.resources.rdma.{dev}"),
        )?;
    }
    Ok(())
}

fn devices(list: &[LinuxDeviceCgroup], dir: &Path) -> Result<()> {
    // The program stays attached to the cgroup after its fd is closed.
    super::devices::load_and_attach(dir, &super::devices::effective_rules(Some(list))?)
        .context("linux.resources.devices")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake cgroup2 tree: root offering every controller, /hull/c1 with the interface files.
    fn tree() -> (tempfile::TempDir, std::path::PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().to_path_buf();
        fs::write(
            root.join("cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .unwrap();
        fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        let dir = root.join("hull/c1");
        fs::create_dir_all(&dir).unwrap();
        fs::write(root.join("hull/cgroup.subtree_control"), "").unwrap();
        for f in [
            "memory.max",
            "memory.swap.max",
            "memory.low",
            "cpu.weight",
            "cpu.max",
            "cpu.max.burst",
            "cpu.idle",
            "cpuset.cpus",
            "cpuset.mems",
            "pids.max",
            "io.weight",
            "io.max",
            "hugetlb.2MB.max",
            "rdma.max",
            "memory.high",
        ] {
            fs::write(dir.join(f), "").unwrap();
        }
        (t, dir)
    }

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn read(dir: &Path, f: &str) -> String {
        fs::read_to_string(dir.join(f)).unwrap()
    }

    #[test]
    fn every_resource_lands_in_its_v2_file() {
        let (t, dir) = tree();
        let r = res(serde_json::json!({
            "memory": {"limit": 1048576, "swap": 3145728, "reservation": 524288},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 0, "cpus": "0-1", "mems": "0"},
            "pids": {"limit": 10},
            "blockIO": {"weight": 500, "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "rdma": {"mlx5_0": {"hcaHandles": 3}},
            "unified": {"memory.high": "2097152"}
        }));
        apply(&r, t.path(), &dir).unwrap();
        assert_eq!(read(&dir, "memory.max"), "1048576");
        assert_eq!(
            read(&dir, "memory.swap.max"),
            "2097152",
            "swap.max is swap minus memory"
        );
        assert_eq!(read(&dir, "memory.low"), "524288");
        assert_eq!(read(&dir, "cpu.weight"), "100");
        assert_eq!(read(&dir, "cpu.max"), "50000 100000");
        assert_eq!(read(&dir, "cpu.max.burst"), "1000");
        assert_eq!(read(&dir, "cpuset.cpus"), "0-1");
        assert_eq!(read(&dir, "pids.max"), "10");
        assert_eq!(read(&dir, "io.weight"), "4950");
        assert_eq!(read(&dir, "io.max"), "8:0 wiops=100");
        assert_eq!(read(&dir, "hugetlb.2MB.max"), "4194304");
        assert_eq!(read(&dir, "rdma.max"), "mlx5_0 hca_handle=3 hca_object=max");
        assert_eq!(read(&dir, "memory.high"), "2097152");
        // Controllers enabled in every ancestor, not in the container's own dir.
        for sc in [
            t.path().join("cgroup.subtree_control"),
            t.path().join("hull/cgroup.subtree_control"),
        ] {
            let line = fs::read_to_string(sc).unwrap();
            for c in [
                "+memory", "+cpu", "+cpuset", "+pids", "+io", "+hugetlb", "+rdma",
            ] {
                assert!(line.split(' ').any(|x| x == c), "{c} missing in {line:?}");
            }
        }
        assert!(!dir.join("cgroup.subtree_control").exists());
    }

    /// What engines send for "no limit" (docker: an empty memory section, zero shares and
    /// pids; ctr: zero quota) needs no controller and writes nothing, as in runc.
    #[test]
    fn zeroed_sections_are_unset() {
        let r = res(serde_json::json!({
            "memory": {"limit": 0, "swap": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0},
            "pids": {"limit": 0}, "blockIO": {"weight": 0, "weightDevice": []}
        }));
        assert!(needed(&r).is_empty(), "{:?}", needed(&r));
        let (t, dir) = tree();
        apply(&r, t.path(), &dir).unwrap();
        for f in [
            "memory.max",
            "cpu.weight",
            "cpu.max",
            "pids.max",
            "io.weight",
        ] {
            assert_eq!(read(&dir, f), "", "{f}");
        }
    }

    #[test]
    fn quota_max_and_unlimited_memory() {
        let (t, dir) = tree();
        apply(
            &res(
                serde_json::json!({"memory": {"limit": -1}, "cpu": {"quota": -1, "period": 20000}}),
            ),
            t.path(),
            &dir,
        )
        .unwrap();
        assert_eq!(read(&dir, "memory.max"), "max");
        assert_eq!(
            read(&dir, "memory.swap.max"),
            "max",
            "unlimited memory with unset swap: both unlimited"
        );
        assert_eq!(read(&dir, "cpu.max"), "max 20000");
    }

    #[test]
    fn v1_only_fields_are_refused_by_name() {
        let (t, dir) = tree();
        for (v, field) in [
            (
                serde_json::json!({"memory": {"swappiness": 10}}),
                "linux.resources.memory.swappiness",
            ),
            (
                serde_json::json!({"memory": {"disableOOMKiller": true}}),
                "linux.resources.memory.disableOOMKiller",
            ),
            (
                serde_json::json!({"cpu": {"realtimeRuntime": 100}}),
                "linux.resources.cpu.realtimeRuntime",
            ),
            (
                serde_json::json!({"network": {"classID": 5}}),
                "linux.resources.network",
            ),
            (
                serde_json::json!({"unified": {"nope.file": "1"}}),
                "linux.resources.unified.nope.file",
            ),
            (
                serde_json::json!({"unified": {"../x": "1"}}),
                "linux.resources.unified.../x",
            ),
        ] {
            let e = apply(&res(v), t.path(), &dir).unwrap_err().render();
            assert!(e.starts_with(field), "{e}");
        }
    }

    #[test]
    fn ancestors_run_from_the_root_down_without_the_dir() {
        let a = ancestors(Path::new("/r"), Path::new("/r/slice/svc/ctr"));
        assert_eq!(
            a,
            ["/r", "/r/slice", "/r/slice/svc"].map(std::path::PathBuf::from)
        );
        // Directories not made yet, and ones the caller may write, refuse nothing.
        let (t, dir) = tree();
        assert_eq!(undelegated(t.path(), &dir.join("x/y"), "pids"), None);
    }

    #[test]
    fn a_controller_the_host_lacks_is_named() {
        let (t, dir) = tree();
        fs::write(t.path().join("cgroup.controllers"), "cpu memory\n").unwrap();
        let e = apply(
            &res(serde_json::json!({"pids": {"limit": 5}})),
            t.path(),
            &dir,
        )
        .unwrap_err()
        .render();
        assert!(e.contains("pids controller is not available"), "{e}");
    }
}
