//! Resource statistics of a container's cgroups, as `runc events` reports them: [`Stats`]
//! serializes exactly like runc's `types.Stats` (field names, units, which fields are left out
//! when zero or empty), and is filled the way runc's cgroup managers fill it — from the v1
//! controller directories (legacy and hybrid hosts) or from the one cgroup2 directory (unified
//! hosts). Times are nanoseconds (`cpuacct.stat` ticks are USER_HZ = 100, v2 `*_usec` values are
//! multiplied by 1000), memory is bytes, an unlimited `pids.max` is reported as 0 and an unlimited
//! `memory.max` as 2^64-1. Every directory is a parameter, so tests run over a fake cgroupfs.
//!
//! This file owns the [`Stats`] types, their JSON shape, and the entry points ([`collect`],
//! [`oom_kill_count`], [`hugepage_sizes`]); `v1.rs` reads the v1 controller files, `v2.rs` the
//! cgroup2 files, and `parse.rs` holds the readers and number parsers both share. Version-specific
//! reading does not belong here, and nothing under `stats` ever writes to a cgroup.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Serialize, Serializer};

use super::{CgroupState, Mode};
use crate::error::{Context, Error, Result};

mod parse;
mod v1;
mod v2;

use parse::value_by_key;
pub use v1::v1;
pub use v2::v2;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_nil_or_empty<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

/// runc's `types.Stats`: the `data` of a `stats` event.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// CPU usage and throttling.
    pub cpu: Cpu,
    /// The cpuset (v1 only; zeros elsewhere, as runc reports).
    pub cpuset: CpuSet,
    /// Memory usage.
    pub memory: Memory,
    /// Process count and limit.
    pub pids: Pids,
    /// Block I/O counters.
    pub blkio: Blkio,
    /// Per huge page size (`2MB`, `1GB`); always present, `{}` when none.
    pub hugetlb: BTreeMap<String, Hugetlb>,
    /// Intel RDT: hull has no resctrl support, so always `{}` (runc's value without RDT).
    pub intel_rdt: IntelRdt,
    /// Network interfaces: runc reports veth interfaces it made itself; hull makes none, so
    /// this is always `null` (runc's value for a container without veth).
    pub network_interfaces: Option<Vec<NetworkInterface>>,
}

/// runc's `types.Cpu`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Cpu {
    /// Usage (left out when entirely zero).
    #[serde(skip_serializing_if = "CpuUsage::is_zero")]
    pub usage: CpuUsage,
    /// CFS throttling (left out when entirely zero).
    #[serde(skip_serializing_if = "Throttling::is_zero")]
    pub throttling: Throttling,
    /// Pressure stall information (cgroup v2 with PSI only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
}

/// runc's `types.CpuUsage`; every value in nanoseconds. A `None` list is Go's nil slice (which
/// makes the whole struct "zero"), `Some(vec![])` an empty one (which does not).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Per CPU.
    #[serde(skip_serializing_if = "is_nil_or_empty")]
    pub percpu: Option<Vec<u64>>,
    /// Per CPU, kernel mode.
    #[serde(skip_serializing_if = "is_nil_or_empty")]
    pub percpu_kernel: Option<Vec<u64>>,
    /// Per CPU, user mode.
    #[serde(skip_serializing_if = "is_nil_or_empty")]
    pub percpu_user: Option<Vec<u64>>,
    /// Kernel mode.
    pub kernel: u64,
    /// User mode.
    pub user: u64,
}

impl CpuUsage {
    fn is_zero(&self) -> bool {
        self.total == 0
            && self.percpu.is_none()
            && self.percpu_kernel.is_none()
            && self.percpu_user.is_none()
            && self.kernel == 0
            && self.user == 0
    }
}

/// runc's `types.Throttling`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Throttling {
    /// CFS periods elapsed.
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Time throttled, nanoseconds.
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

impl Throttling {
    fn is_zero(&self) -> bool {
        self.periods == 0 && self.throttled_periods == 0 && self.throttled_time == 0
    }
}

/// runc's `types.CPUSet`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct CpuSet {
    /// CPUs the cgroup may run on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cpus: Vec<u16>,
    /// `cpuset.cpu_exclusive`.
    pub cpu_exclusive: u64,
    /// Memory nodes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mems: Vec<u16>,
    /// `cpuset.mem_hardwall`.
    pub mem_hardwall: u64,
    /// `cpuset.mem_exclusive`.
    pub mem_exclusive: u64,
    /// `cpuset.memory_migrate`.
    pub memory_migrate: u64,
    /// `cpuset.memory_spread_page`.
    pub memory_spread_page: u64,
    /// `cpuset.memory_spread_slab`.
    pub memory_spread_slab: u64,
    /// `cpuset.memory_pressure`.
    pub memory_pressure: u64,
    /// `cpuset.sched_load_balance`.
    pub sched_load_balance: u64,
    /// `cpuset.sched_relax_domain_level`.
    pub sched_relax_domain_level: i64,
}

/// runc's `types.MemoryEntry` (bytes).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct MemoryEntry {
    /// Limit.
    pub limit: u64,
    /// Current usage.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak usage.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
}

impl MemoryEntry {
    fn is_zero(&self) -> bool {
        self.limit == 0 && self.usage == 0 && self.max == 0 && self.failcnt == 0
    }
}

/// runc's `types.Memory`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Memory {
    /// Page cache (v1 `cache`, v2 `file` of memory.stat).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    /// Memory.
    #[serde(skip_serializing_if = "MemoryEntry::is_zero")]
    pub usage: MemoryEntry,
    /// Memory + swap (v1's memsw; on v2 swap plus memory, as runc reports).
    #[serde(skip_serializing_if = "MemoryEntry::is_zero")]
    pub swap: MemoryEntry,
    /// Kernel memory (v1 kmem).
    #[serde(skip_serializing_if = "MemoryEntry::is_zero")]
    pub kernel: MemoryEntry,
    /// Kernel TCP memory (v1 kmem.tcp).
    #[serde(rename = "kernelTCP", skip_serializing_if = "MemoryEntry::is_zero")]
    pub kernel_tcp: MemoryEntry,
    /// Every line of memory.stat.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
    /// Pressure stall information (cgroup v2 with PSI only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
}

/// runc's `types.Pids`; a limit of 0 means unlimited.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Pids {
    /// Tasks in the cgroup.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// `pids.max` (0 for `max`).
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// runc's `types.BlkioEntry`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct BlkioEntry {
    /// Device major.
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    /// Device minor.
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total` (empty for single-value files).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The counter.
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

/// runc's `types.Blkio`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    /// Bytes transferred.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// I/O operations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
    /// Queued operations (runc's key is `ioQueueRecursive`).
    #[serde(rename = "ioQueueRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_queued_recursive: Vec<BlkioEntry>,
    /// Service time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_time_recursive: Vec<BlkioEntry>,
    /// Wait time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    /// Merged operations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_merged_recursive: Vec<BlkioEntry>,
    /// Disk time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_time_recursive: Vec<BlkioEntry>,
    /// Sectors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sectors_recursive: Vec<BlkioEntry>,
    /// Pressure stall information (cgroup v2 with PSI only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psi: Option<Psi>,
}

/// runc's `types.Hugetlb`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Hugetlb {
    /// Bytes in use.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak (v1 only).
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// Allocation failures.
    pub failcnt: u64,
}

/// runc's `types.IntelRdt` with nothing set: `{}`.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct IntelRdt {}

/// runc's `types.NetworkInterface` (Go field names, no JSON tags).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    /// Interface name.
    pub name: String,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Received packets.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Dropped on receive.
    pub rx_dropped: u64,
    /// Sent bytes.
    pub tx_bytes: u64,
    /// Sent packets.
    pub tx_packets: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Dropped on send.
    pub tx_dropped: u64,
}

/// runc's `PSIStats` (from `cpu.pressure`, `memory.pressure`, `io.pressure`).
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Psi {
    /// Some tasks stalled.
    #[serde(skip_serializing_if = "PsiData::is_zero")]
    pub some: PsiData,
    /// All tasks stalled.
    #[serde(skip_serializing_if = "PsiData::is_zero")]
    pub full: PsiData,
}

/// One PSI line; averages are percentages, `total` microseconds.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct PsiData {
    /// 10 s average.
    #[serde(serialize_with = "go_float")]
    pub avg10: f64,
    /// 60 s average.
    #[serde(serialize_with = "go_float")]
    pub avg60: f64,
    /// 300 s average.
    #[serde(serialize_with = "go_float")]
    pub avg300: f64,
    /// Total stall time.
    pub total: u64,
}

impl PsiData {
    fn is_zero(&self) -> bool {
        self.avg10 == 0.0 && self.avg60 == 0.0 && self.avg300 == 0.0 && self.total == 0
    }
}

/// Go prints a whole float64 without a fraction (`0`, not `0.0`).
fn go_float<S: Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points.

/// The `oom_kill` count of a cgroup2 `memory.events` (or a v1 `memory.oom_control`).
pub fn oom_kill_count(dir: &Path, file: &str) -> Result<u64> {
    value_by_key(dir, file, "oom_kill")
}

/// Huge page sizes as runc names them (`2MB`, `1GB`, `64KB`), from a directory laid out like
/// `/sys/kernel/mm/hugepages` (`hugepages-2048kB`, ...); empty when it cannot be read.
pub fn hugepage_sizes(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(kb) = name
            .strip_prefix("hugepages-")
            .and_then(|v| v.strip_suffix("kB"))
        else {
            continue;
        };
        let Ok(size) = kb.parse::<u64>() else {
            continue;
        };
        out.push(if size >= 1 << 20 {
            format!("{}GB", size >> 20)
        } else if size >= 1 << 10 {
            format!("{}MB", size >> 10)
        } else {
            format!("{size}KB")
        });
    }
    out.sort();
    out
}

/// Statistics of a container's cgroups on this host.
pub fn collect(state: &CgroupState) -> Result<Stats> {
    let sizes = hugepage_sizes(Path::new("/sys/kernel/mm/hugepages"));
    let res = match state.mode {
        Mode::Unified => {
            let dir = state
                .path_of("")
                .ok_or_else(|| Error::Msg("no cgroup2 directory recorded".into()))?;
            v2(dir, &sizes)
        }
        Mode::Hybrid | Mode::Legacy => {
            v1(&|c: &str| state.path_of(c).map(Path::to_path_buf), &sizes)
        }
    };
    res.context("unable to get container cgroup stats")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A scratch directory removed on drop.
    pub(super) struct Tree(pub(super) PathBuf);

    impl Tree {
        pub(super) fn new(tag: &str) -> Tree {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let p =
                std::env::temp_dir().join(format!("hull-stats-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Tree(p)
        }
        pub(super) fn dir(&self, sub: &str) -> PathBuf {
            let d = self.0.join(sub);
            fs::create_dir_all(&d).unwrap();
            d
        }
        pub(super) fn put(&self, sub: &str, files: &[(&str, &str)]) -> PathBuf {
            let d = self.dir(sub);
            for (name, text) in files {
                fs::write(d.join(name), text).unwrap();
            }
            d
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn empty_stats_serialize_like_runc() {
        // What runc prints for a cgroup it can read nothing from.
        let text = serde_json::to_string(&Stats::default()).unwrap();
        assert_eq!(
            text,
            "{\"cpu\":{},\"cpuset\":{\"cpu_exclusive\":0,\"mem_hardwall\":0,\"mem_exclusive\":0,\"memory_migrate\":0,\"memory_spread_page\":0,\"memory_spread_slab\":0,\"memory_pressure\":0,\"sched_load_balance\":0,\"sched_relax_domain_level\":0},\"memory\":{},\"pids\":{},\"blkio\":{},\"hugetlb\":{},\"intel_rdt\":{},\"network_interfaces\":null}"
        );
        // Empty (non-nil) per-CPU lists keep `usage` present, with kernel/user always shown.
        let mut s = Stats::default();
        s.cpu.usage.percpu = Some(vec![]);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["cpu"]["usage"],
            serde_json::json!({"kernel": 0, "user": 0})
        );
    }

    #[test]
    fn hugepage_size_names() {
        let t = Tree::new("hp");
        for d in [
            "hugepages-2048kB",
            "hugepages-1048576kB",
            "hugepages-64kB",
            "other",
        ] {
            t.dir(d);
        }
        assert_eq!(hugepage_sizes(&t.0), vec!["1GB", "2MB", "64KB"]);
        assert!(hugepage_sizes(Path::new("/nonexistent/hull")).is_empty());
    }
}
