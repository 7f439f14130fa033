//! `linux.resources` on cgroup v1 hierarchies (legacy and hybrid hosts), one controller
//! directory each. A field whose controller or file the host lacks is an error naming the field
//! and the file, never silently skipped, unless its value is zero/unset. On hybrid hosts a
//! controller missing from v1 but offered by the unified hierarchy (hugetlb on some kernels)
//! is applied there instead. Directories come from a lookup function so tests use a tempdir.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::{set, v2};
use crate::error::{Error, Result};

/// Where a v1 controller's directory is for this container (None: not mounted).
pub type DirOf<'a> = &'a dyn Fn(&str) -> Option<PathBuf>;

fn need(dir_of: DirOf, controller: &str, field: &str) -> Result<PathBuf> {
    dir_of(controller).ok_or_else(|| {
        Error::invalid(format!(
            "{field}: the {controller} cgroup controller is not available on this host"
        ))
    })
}

/// Apply every resource the config sets. `unified` is the container's cgroup2 directory on a
/// hybrid host (with the cgroup2 mount root), for controllers v1 does not offer.
pub fn apply(res: &LinuxResources, dir_of: DirOf, unified: Option<(&Path, &Path)>) -> Result<()> {
    if let Some(m) = res.memory() {
        memory(m, dir_of)?;
    }
    if let Some(c) = res.cpu() {
        cpu(c, dir_of)?;
    }
    if let Some(p) = res.pids() {
        let dir = need(dir_of, "pids", "linux.resources.pids")?;
        let v = if p.limit() <= 0 {
            "max".to_string()
        } else {
            p.limit().to_string()
        };
        set(&dir, "pids.max", &v, "linux.resources.pids.limit")?;
    }
    if let Some(b) = res.block_io() {
        blkio(b, dir_of)?;
    }
    for (i, h) in res.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("linux.resources.hugepageLimits[{i}]");
        if let Some(dir) = dir_of("hugetlb") {
            set(
                &dir,
                &format!("hugetlb.{}.limit_in_bytes", h.page_size()),
                &h.limit().to_string(),
                &field,
            )?;
        } else if let Some((dir, root)) = unified.filter(|(_, root)| v2::offers(root, "hugetlb")) {
            v2::enable(root, dir, &["hugetlb"])?;
            set(
                dir,
                &format!("hugetlb.{}.max", h.page_size()),
                &h.limit().to_string(),
                &field,
            )?;
        } else {
            need(dir_of, "hugetlb", &field)?;
        }
    }
    if let Some(n) = res.network() {
        if let Some(id) = n.class_id() {
            let dir = need(dir_of, "net_cls", "linux.resources.network.classID")?;
            set(
                &dir,
                "net_cls.classid",
                &id.to_string(),
                "linux.resources.network.classID",
            )?;
        }
        for (i, p) in n.priorities().iter().flatten().enumerate() {
            let field = format!("linux.resources.network.priorities[{i}]");
            let dir = need(dir_of, "net_prio", &field)?;
            set(
                &dir,
                "net_prio.ifpriomap",
                &format!("{} {}", p.name(), p.priority()),
                &field,
            )?;
        }
    }
    if let Some(rdma) = res.rdma().as_ref().filter(|r| !r.is_empty()) {
        let dir = need(dir_of, "rdma", "linux.resources.rdma")?;
        for (dev, l) in rdma {
            set(
                &dir,
                "rdma.max",
                &v2::rdma_line(dev, l),
                &format!("linux.resources.rdma.{dev}"),
            )?;
        }
    }
    if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
        // Keys are cgroup2 files: only the unified hierarchy of a hybrid host can take them.
        match unified {
            Some((dir, root)) => v2::unified_map(root, dir, u)?,
            None => {
                return Err(Error::invalid(
                    "linux.resources.unified: cgroup v2 keys need a cgroup v2 hierarchy; this host has only cgroup v1",
                ))
            }
        }
    }
    // Device rules are applied when the section is present; create always passes one (an
    // empty list still yields runc's defaults on top of deny-all), update only when asked.
    if let Some(list) = res.devices() {
        match dir_of("devices") {
            Some(dir) => {
                super::devices::apply_v1(&dir, &super::devices::effective_rules(Some(list))?)?
            }
            None if !list.is_empty() => {
                need(dir_of, "devices", "linux.resources.devices")?;
            }
            None => crate::logging::debug(
                "no devices cgroup: the default device rules are not enforced",
            ),
        }
    }
    Ok(())
}

fn memory(m: &LinuxMemory, dir_of: DirOf) -> Result<()> {
    let tcp = m.kernel_tcp().filter(|&t| t != 0);
    let any = m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer() == Some(true)
        || tcp.is_some();
    if !any {
        return Ok(());
    }
    let dir = need(dir_of, "memory", "linux.resources.memory")?;
    if m.kernel().is_some() {
        crate::logging::debug(
            "linux.resources.memory.kernel ignored: kmem limits are deprecated (runc ignores them; kernels since 6.x refuse them)",
        );
    }
    // The TCP buffer limit v1 still has (memory.kmem.tcp.*), applied as crun does.
    if let Some(t) = tcp {
        super::set(
            &dir,
            "memory.kmem.tcp.limit_in_bytes",
            &t.to_string(),
            "linux.resources.memory.kernelTCP",
        )?;
    }
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    if limit > 0 && swap > 0 && swap < limit {
        return Err(Error::invalid(format!(
            "linux.resources.memory.swap: {swap} is below memory.limit {limit} (swap is memory+swap)"
        )));
    }
    const LIMIT: &str = "memory.limit_in_bytes";
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    let (lf, sf) = (
        "linux.resources.memory.limit",
        "linux.resources.memory.swap",
    );
    match (limit != 0, swap != 0) {
        (true, true) => {
            // Raise memsw before memory (and lower memory before memsw): memsw >= memory always.
            let cur = std::fs::read_to_string(dir.join(MEMSW))
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok());
            if swap == -1 || cur.is_some_and(|c| swap > c) {
                set(&dir, MEMSW, &swap.to_string(), sf)?;
                set(&dir, LIMIT, &limit.to_string(), lf)?;
            } else {
                set(&dir, LIMIT, &limit.to_string(), lf)?;
                set(&dir, MEMSW, &swap.to_string(), sf)?;
            }
        }
        (true, false) => set(&dir, LIMIT, &limit.to_string(), lf)?,
        (false, true) => set(&dir, MEMSW, &swap.to_string(), sf)?,
        (false, false) => {}
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        set(
            &dir,
            "memory.soft_limit_in_bytes",
            &r.to_string(),
            "linux.resources.memory.reservation",
        )?;
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(Error::invalid(format!(
                "linux.resources.memory.swappiness: {s} is above 100"
            )));
        }
        set(
            &dir,
            "memory.swappiness",
            &s.to_string(),
            "linux.resources.memory.swappiness",
        )?;
    }
    if m.disable_oom_killer() == Some(true) {
        set(
            &dir,
            "memory.oom_control",
            "1",
            "linux.resources.memory.disableOOMKiller",
        )?;
    }
    Ok(())
}

/// Make room for `dir` to get `need` µs of RT runtime per `period` µs: the kernel wants each
/// group's children to fit in its own share (the sum of runtime/period), so each ancestor whose
/// share is short gets exactly what its children then use, from the top down. Lending exactly
/// that, not the parent's whole budget, leaves room for the next container, and for the next
/// `/hull` while a removed one with its budget still lingers in the kernel (a cgroup's group
/// is freed some time after rmdir; it failed our tests when /hull had taken all of the
/// root's). Best effort: the retried write of `dir` reports what still fails.
fn raise_rt_budget(dir: &Path, need: i64, period: i64) {
    // Rounded up: the kernel compares shares rounded down, so a µs more never hurts.
    let ceil_div = |a: i128, b: i128| (a + b - 1) / b;
    let read = |d: &Path, f: &str| -> Option<i64> {
        std::fs::read_to_string(d.join(f)).ok()?.trim().parse().ok()
    };
    let Some(parent) = dir.parent() else { return };
    let (Some(have), Some(pperiod)) = (
        read(parent, "cpu.rt_runtime_us"),
        read(parent, "cpu.rt_period_us"),
    ) else {
        return;
    };
    if have < 0 || period <= 0 {
        return; // unlimited, or nothing to scale by
    }
    // The children's use, in the parent's period, with `dir` at `need`.
    let mut used = ceil_div(i128::from(need) * i128::from(pperiod), i128::from(period));
    for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let child = e.path();
        if child == dir || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let (Some(r), Some(p)) = (
            read(&child, "cpu.rt_runtime_us"),
            read(&child, "cpu.rt_period_us"),
        ) {
            if r > 0 && p > 0 {
                used += ceil_div(i128::from(r) * i128::from(pperiod), i128::from(p));
            }
        }
    }
    let want = i64::try_from(used).unwrap_or(i64::MAX).min(pperiod);
    if have >= want {
        return;
    }
    raise_rt_budget(parent, want, pperiod);
    let _ = crate::fsutil::write_file(&parent.join("cpu.rt_runtime_us"), &want.to_string());
}

/// For a new container: reject a quota without a period (runc silently keeps the kernel's
/// default period) and a realtime runtime above its period. `update` may set a quota alone: the
/// container's current period applies.
pub fn check_cpu(c: &LinuxCpu) -> Result<()> {
    if c.quota().is_some_and(|q| q > 0) && c.period().is_none_or(|p| p == 0) {
        return Err(Error::invalid(
            "linux.resources.cpu.quota: a quota needs a period (linux.resources.cpu.period)",
        ));
    }
    if let (Some(rt), Some(p)) = (c.realtime_runtime(), c.realtime_period()) {
        if p > 0 && rt > p as i64 {
            return Err(Error::invalid(format!(
                "linux.resources.cpu.realtimeRuntime: {rt} is above realtimePeriod {p}"
            )));
        }
    }
    Ok(())
}

fn cpu(c: &LinuxCpu, dir_of: DirOf) -> Result<()> {
    let uses_cpu = c.shares().is_some_and(|s| s != 0)
        || c.quota().is_some_and(|q| q != 0)
        || c.period().is_some_and(|p| p != 0)
        || c.burst().is_some()
        || c.realtime_runtime().is_some_and(|r| r != 0)
        || c.realtime_period().is_some_and(|p| p != 0)
        || c.idle().is_some();
    if uses_cpu {
        let dir = need(dir_of, "cpu", "linux.resources.cpu")?;
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            set(
                &dir,
                "cpu.shares",
                &s.to_string(),
                "linux.resources.cpu.shares",
            )?;
            let got = std::fs::read_to_string(dir.join("cpu.shares")).unwrap_or_default();
            if got.trim() != s.to_string() {
                return Err(Error::invalid(format!(
                    "linux.resources.cpu.shares: {s} is outside the kernel's range (it kept {})",
                    got.trim()
                )));
            }
        }
        if let Some(p) = c.period().filter(|p| *p != 0) {
            let q = c.quota().unwrap_or(0);
            // A period the current quota does not fit is refused until the quota is set first.
            if let Err(e) = set(
                &dir,
                "cpu.cfs_period_us",
                &p.to_string(),
                "linux.resources.cpu.period",
            ) {
                if q == 0 {
                    return Err(e);
                }
                set(
                    &dir,
                    "cpu.cfs_quota_us",
                    &q.to_string(),
                    "linux.resources.cpu.quota",
                )?;
                set(
                    &dir,
                    "cpu.cfs_period_us",
                    &p.to_string(),
                    "linux.resources.cpu.period",
                )?;
            }
        }
        if let Some(q) = c.quota().filter(|q| *q != 0) {
            set(
                &dir,
                "cpu.cfs_quota_us",
                &q.to_string(),
                "linux.resources.cpu.quota",
            )?;
        }
        if let Some(b) = c.burst() {
            set(
                &dir,
                "cpu.cfs_burst_us",
                &b.to_string(),
                "linux.resources.cpu.burst",
            )?;
        }
        if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
            set(
                &dir,
                "cpu.rt_period_us",
                &p.to_string(),
                "linux.resources.cpu.realtimePeriod",
            )?;
        }
        if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
            let field = "linux.resources.cpu.realtimeRuntime";
            if set(&dir, "cpu.rt_runtime_us", &r.to_string(), field).is_err() {
                // A new cgroup's parents (e.g. /hull) have no RT budget: lend them what the
                // container needs, top-down.
                let period = c.realtime_period().filter(|p| *p != 0).map_or_else(
                    || {
                        std::fs::read_to_string(dir.join("cpu.rt_period_us"))
                            .ok()
                            .and_then(|p| p.trim().parse().ok())
                            .unwrap_or(1_000_000)
                    },
                    |p| p as i64,
                );
                raise_rt_budget(&dir, r, period);
                set(&dir, "cpu.rt_runtime_us", &r.to_string(), field)?;
            }
        }
        if let Some(i) = c.idle() {
            set(&dir, "cpu.idle", &i.to_string(), "linux.resources.cpu.idle")?;
        }
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        let dir = need(dir_of, "cpuset", "linux.resources.cpu.cpus")?;
        set(&dir, "cpuset.cpus", cpus, "linux.resources.cpu.cpus")?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        let dir = need(dir_of, "cpuset", "linux.resources.cpu.mems")?;
        set(&dir, "cpuset.mems", mems, "linux.resources.cpu.mems")?;
    }
    Ok(())
}

fn blkio(b: &LinuxBlockIo, dir_of: DirOf) -> Result<()> {
    let weighted = b.weight().is_some_and(|w| w != 0)
        || b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device().as_ref().is_some_and(|d| !d.is_empty());
    let throttled = [
        b.throttle_read_bps_device(),
        b.throttle_write_bps_device(),
        b.throttle_read_iops_device(),
        b.throttle_write_iops_device(),
    ]
    .iter()
    .any(|d| d.as_ref().is_some_and(|d| !d.is_empty()));
    if !weighted && !throttled {
        return Ok(());
    }
    let dir = need(dir_of, "blkio", "linux.resources.blockIO")?;
    // CFQ's blkio.weight is gone from modern kernels; BFQ offers blkio.bfq.weight.
    let weight_file = |plain: &str, bfq: &str| -> Option<String> {
        [plain, bfq]
            .iter()
            .find(|f| dir.join(f).exists())
            .map(|f| f.to_string())
    };
    let no_weight = |field: &str| {
        Error::invalid(format!(
            "{field}: this host's blkio cgroup has neither blkio.weight nor blkio.bfq.weight (no CFQ/BFQ I/O scheduler) in {}",
            dir.display()
        ))
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let f = weight_file("blkio.weight", "blkio.bfq.weight")
            .ok_or_else(|| no_weight("linux.resources.blockIO.weight"))?;
        set(&dir, &f, &w.to_string(), "linux.resources.blockIO.weight")?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        set(
            &dir,
            "blkio.leaf_weight",
            &w.to_string(),
            "linux.resources.blockIO.leafWeight",
        )?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("linux.resources.blockIO.weightDevice[{i}]");
        if let Some(w) = d.weight() {
            let f = weight_file("blkio.weight_device", "blkio.bfq.weight_device")
                .ok_or_else(|| no_weight(&field))?;
            set(
                &dir,
                &f,
                &format!("{}:{} {w}", d.major(), d.minor()),
                &field,
            )?;
        }
        if let Some(w) = d.leaf_weight() {
            set(
                &dir,
                "blkio.leaf_weight_device",
                &format!("{}:{} {w}", d.major(), d.minor()),
                &field,
            )?;
        }
    }
    for (name, file, list) in [
        (
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            let field = format!("linux.resources.blockIO.{name}[{i}]");
            set(
                &dir,
                file,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                &field,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake v1 layout: one directory per controller with its files.
    fn tree(files: &[(&str, &[&str])]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for (ctrl, names) in files {
            let d = t.path().join(ctrl);
            fs::create_dir_all(&d).unwrap();
            for n in *names {
                fs::write(d.join(n), "").unwrap();
            }
        }
        t
    }

    fn res(v: serde_json::Value) -> LinuxResources {
        serde_json::from_value(v).unwrap()
    }

    fn run(t: &tempfile::TempDir, r: &LinuxResources) -> Result<()> {
        let root = t.path().to_path_buf();
        let dir_of = move |c: &str| Some(root.join(c)).filter(|p| p.exists());
        apply(r, &dir_of, None)
    }

    #[test]
    fn memory_cpu_pids_land_in_v1_files() {
        let t = tree(&[
            (
                "memory",
                &[
                    "memory.limit_in_bytes",
                    "memory.memsw.limit_in_bytes",
                    "memory.soft_limit_in_bytes",
                    "memory.swappiness",
                    "memory.oom_control",
                ],
            ),
            (
                "cpu",
                &["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
            ),
            ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
            ("pids", &["pids.max"]),
        ]);
        fs::write(t.path().join("cpu/cpu.shares"), "512").unwrap(); // the fake kernel "keeps" it
        let r = res(serde_json::json!({
            "memory": {"limit": 1000, "swap": 2000, "reservation": 500, "swappiness": 0, "disableOOMKiller": true},
            "cpu": {"shares": 512, "quota": 5000, "period": 10000, "cpus": "1"},
            "pids": {"limit": 7}
        }));
        run(&t, &r).unwrap();
        let read = |f: &str| fs::read_to_string(t.path().join(f)).unwrap();
        assert_eq!(read("memory/memory.limit_in_bytes"), "1000");
        assert_eq!(read("memory/memory.memsw.limit_in_bytes"), "2000");
        assert_eq!(read("memory/memory.soft_limit_in_bytes"), "500");
        assert_eq!(read("memory/memory.swappiness"), "0");
        assert_eq!(read("memory/memory.oom_control"), "1");
        assert_eq!(read("cpu/cpu.cfs_quota_us"), "5000");
        assert_eq!(read("cpu/cpu.cfs_period_us"), "10000");
        assert_eq!(read("cpuset/cpuset.cpus"), "1");
        assert_eq!(read("pids/pids.max"), "7");
    }

    #[test]
    fn missing_controllers_and_files_are_named() {
        let t = tree(&[
            ("memory", &["memory.limit_in_bytes"]),
            ("blkio", &["blkio.throttle.read_bps_device"]),
        ]);
        for (v, want) in [
            (
                serde_json::json!({"pids": {"limit": 3}}),
                "linux.resources.pids: the pids cgroup controller is not available",
            ),
            (
                serde_json::json!({"memory": {"limit": 10, "swap": 20}}),
                "linux.resources.memory.swap: ",
            ),
            (
                serde_json::json!({"blockIO": {"weight": 100}}),
                "linux.resources.blockIO.weight: this host's blkio cgroup has neither",
            ),
            (
                serde_json::json!({"network": {"classID": 1}}),
                "linux.resources.network.classID: the net_cls cgroup controller",
            ),
            (
                serde_json::json!({"unified": {"memory.high": "1"}}),
                "linux.resources.unified: cgroup v2 keys need",
            ),
            (
                serde_json::json!({"memory": {"swappiness": 101}}),
                "linux.resources.memory.swappiness: 101 is above 100",
            ),
        ] {
            let e = run(&t, &res(v)).unwrap_err().render();
            assert!(e.starts_with(want), "{e}");
        }
        // Zero and unset values need nothing from the host.
        run(
            &t,
            &res(serde_json::json!({"pids": null, "cpu": {"shares": 0}, "memory": {}})),
        )
        .unwrap();
    }

    #[test]
    fn bfq_weight_file_is_used_when_cfq_is_gone() {
        let t = tree(&[("blkio", &["blkio.bfq.weight", "blkio.bfq.weight_device"])]);
        run(&t, &res(serde_json::json!({"blockIO": {"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}]}}))).unwrap();
        assert_eq!(
            fs::read_to_string(t.path().join("blkio/blkio.bfq.weight")).unwrap(),
            "300"
        );
        assert_eq!(
            fs::read_to_string(t.path().join("blkio/blkio.bfq.weight_device")).unwrap(),
            "8:0 200"
        );
    }
}
