//! Resource statistics of a container's cgroups, as `runc events` reports them: [`Stats`]
//! serializes exactly like runc's `types.Stats` (field names, units, which fields are left out
//! when zero or empty), and is filled the way runc's cgroup managers fill it — from the v1
//! controller directories (legacy and hybrid hosts) or from the one cgroup2 directory (unified
//! hosts). Times are nanoseconds (`cpuacct.stat` ticks are USER_HZ = 100, v2 `*_usec` values are
//! multiplied by 1000), memory is bytes, an unlimited `pids.max` is reported as 0 and an unlimited
//! `memory.max` as 2^64-1. Every directory is a parameter, so tests run over a fake cgroupfs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::{CgroupState, Mode};
use crate::error::{Context, Error, Result};

/// Nanoseconds per second, and the tick rate of `cpuacct.stat` (USER_HZ, fixed at 100 on Linux).
const NS_PER_SEC: u64 = 1_000_000_000;
const CLOCK_TICKS: u64 = 100;

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
// Reading cgroupfs files with runc's rules.

fn parse_error(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Msg(format!("unable to parse {}: {why}", path.display()))
}

fn is_missing(e: &Error) -> bool {
    e.errno() == Some(libc::ENOENT)
}

fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))
}

/// `read` that maps a missing file to `None`.
fn read_opt(dir: &Path, file: &str) -> Result<Option<String>> {
    match read(dir, file) {
        Ok(s) => Ok(Some(s)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Go's `fscommon.ParseUint`: a negative number (kernel accounting bugs) reads as 0.
fn parse_uint(s: &str) -> std::result::Result<u64, String> {
    if let Ok(v) = s.parse::<u64>() {
        if !s.starts_with('+') {
            return Ok(v);
        }
    }
    let neg_digits = s
        .strip_prefix('-')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if neg_digits.is_some() {
        return Ok(0);
    }
    Err(format!("invalid syntax: {s:?}"))
}

/// A file holding one number; `max` reads as `u64::MAX`.
fn param_uint(dir: &Path, file: &str) -> Result<u64> {
    let text = read(dir, file)?;
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    parse_uint(t).map_err(|e| parse_error(&dir.join(file), e))
}

/// `param_uint` with a missing file as `None`.
fn param_uint_opt(dir: &Path, file: &str) -> Result<Option<u64>> {
    match param_uint(dir, file) {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `key value` lines (memory.stat, cpu.stat).
fn key_values(path: &Path, text: &str) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((k, v)) = line
            .split_once(' ')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(parse_error(
                path,
                format!("line {line:?} is not in \"key value\" format"),
            ));
        };
        out.push((
            k.to_string(),
            parse_uint(v).map_err(|e| parse_error(path, e))?,
        ));
    }
    Ok(out)
}

/// The value of `key` in a `key value` file, 0 when the key is absent.
fn value_by_key(dir: &Path, file: &str, key: &str) -> Result<u64> {
    let text = read(dir, file)?;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')) {
            return parse_uint(v).map_err(|e| parse_error(&dir.join(file), e));
        }
    }
    Ok(0)
}

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

// ---------------------------------------------------------------------------------------------
// Collection.

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

/// Statistics from v1 controller directories (`dir_of("memory")` ...), as runc's fs manager reads
/// them; a controller without a directory, or whose directory is gone, is skipped. On hybrid
/// hosts the unified hierarchy is not read (neither does runc).
pub fn v1(dir_of: &dyn Fn(&str) -> Option<PathBuf>, hugepage_sizes: &[String]) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(d) = dir_of("cpuset") {
        cpuset_v1(&d, &mut s.cpuset)?;
    }
    if let Some(d) = dir_of("memory") {
        memory_v1(&d, &mut s.memory)?;
    }
    if let Some(d) = dir_of("cpu") {
        if let Some(text) = read_opt(&d, "cpu.stat")? {
            for (k, v) in key_values(&d.join("cpu.stat"), &text)? {
                match k.as_str() {
                    "nr_periods" => s.cpu.throttling.periods = v,
                    "nr_throttled" => s.cpu.throttling.throttled_periods = v,
                    "throttled_time" => s.cpu.throttling.throttled_time = v,
                    _ => {}
                }
            }
        }
    }
    if let Some(d) = dir_of("cpuacct").filter(|d| d.exists()) {
        cpuacct_v1(&d, &mut s.cpu.usage)?;
    }
    if let Some(d) = dir_of("pids").filter(|d| d.exists()) {
        s.pids.current = param_uint(&d, "pids.current")?;
        s.pids.limit = unlimited_as_zero(param_uint(&d, "pids.max")?);
    }
    if let Some(d) = dir_of("blkio") {
        blkio_v1(&d, &mut s.blkio)?;
    }
    if let Some(d) = dir_of("hugetlb").filter(|d| d.exists()) {
        hugetlb_v1(&d, hugepage_sizes, &mut s.hugetlb)?;
    }
    Ok(s)
}

fn unlimited_as_zero(v: u64) -> u64 {
    if v == u64::MAX {
        0
    } else {
        v
    }
}

fn cpuacct_v1(d: &Path, u: &mut CpuUsage) -> Result<()> {
    let stat_path = d.join("cpuacct.stat");
    let stat = read(d, "cpuacct.stat")?;
    let f: Vec<&str> = stat.split_whitespace().collect();
    if f.len() < 4 || f[0] != "user" || f[2] != "system" {
        return Err(parse_error(
            &stat_path,
            format!("malformed line: {:?}", stat.trim()),
        ));
    }
    let ticks = |s: &str| parse_uint_strict(s).map_err(|e| parse_error(&stat_path, e));
    let (user, system) = (ticks(f[1])?, ticks(f[3])?);
    u.total = param_uint(d, "cpuacct.usage")?;
    let percpu_path = d.join("cpuacct.usage_percpu");
    u.percpu = Some(
        read(d, "cpuacct.usage_percpu")?
            .split_whitespace()
            .map(|v| parse_uint_strict(v).map_err(|e| parse_error(&percpu_path, e)))
            .collect::<Result<_>>()?,
    );
    let (mut kernel, mut userv) = (Vec::new(), Vec::new());
    if let Some(all) = read_opt(d, "cpuacct.usage_all")? {
        let all_path = d.join("cpuacct.usage_all");
        let mut lines = all.lines();
        let header = lines.next().unwrap_or("");
        if !header.starts_with("cpu user system") {
            return Err(parse_error(
                &all_path,
                format!("malformed line: {header:?}"),
            ));
        }
        for line in lines {
            let f: Vec<&str> = line.splitn(4, ' ').collect();
            if f.len() < 3 {
                continue;
            }
            userv.push(parse_uint_strict(f[1]).map_err(|e| parse_error(&all_path, e))?);
            kernel.push(parse_uint_strict(f[2]).map_err(|e| parse_error(&all_path, e))?);
        }
    }
    u.percpu_kernel = Some(kernel);
    u.percpu_user = Some(userv);
    u.user = user.wrapping_mul(NS_PER_SEC) / CLOCK_TICKS;
    u.kernel = system.wrapping_mul(NS_PER_SEC) / CLOCK_TICKS;
    Ok(())
}

/// Go's plain `strconv.ParseUint` (no negative-as-zero).
fn parse_uint_strict(s: &str) -> std::result::Result<u64, String> {
    if s.starts_with('+') {
        return Err(format!("invalid syntax: {s:?}"));
    }
    s.parse::<u64>().map_err(|e| format!("{e}: {s:?}"))
}

/// A v1 memory counter set: `memory[.<name>].{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}`.
/// Optional sets (memsw, kmem, kmem.tcp) whose usage file is missing read as zero.
fn memory_data_v1(d: &Path, name: &str) -> Result<MemoryEntry> {
    let m = if name.is_empty() {
        "memory".to_string()
    } else {
        format!("memory.{name}")
    };
    let usage = match param_uint(d, &format!("{m}.usage_in_bytes")) {
        Ok(v) => v,
        // No swap accounting, or no kmem: zeros.
        Err(e) if !name.is_empty() && is_missing(&e) => return Ok(MemoryEntry::default()),
        Err(e) => return Err(e),
    };
    let mut e = MemoryEntry {
        usage,
        max: param_uint(d, &format!("{m}.max_usage_in_bytes"))?,
        failcnt: param_uint(d, &format!("{m}.failcnt"))?,
        limit: 0,
    };
    match param_uint(d, &format!("{m}.limit_in_bytes")) {
        Ok(v) => e.limit = v,
        // Kernels since 6.x have no kmem limit.
        Err(err) if name == "kmem" && is_missing(&err) => {}
        Err(err) => return Err(err),
    }
    Ok(e)
}

fn memory_v1(d: &Path, m: &mut Memory) -> Result<()> {
    let Some(text) = read_opt(d, "memory.stat")? else {
        return Ok(());
    };
    m.raw = key_values(&d.join("memory.stat"), &text)?
        .into_iter()
        .collect();
    m.cache = m.raw.get("cache").copied().unwrap_or(0);
    m.usage = memory_data_v1(d, "")?;
    m.swap = memory_data_v1(d, "memsw")?;
    m.kernel = memory_data_v1(d, "kmem")?;
    m.kernel_tcp = memory_data_v1(d, "kmem.tcp")?;
    Ok(())
}

/// A cpuset list (`0-3,8`).
fn cpuset_list(path: &Path, text: &str) -> Result<Vec<u16>> {
    let t = text.trim();
    if t.is_empty() {
        return Err(parse_error(path, "empty file"));
    }
    let num = |s: &str| {
        s.parse::<u16>()
            .map_err(|e| parse_error(path, format!("{e}: {s:?}")))
    };
    let mut out = Vec::new();
    for part in t.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(parse_error(path, "invalid values, from > to"));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    Ok(out)
}

fn cpuset_v1(d: &Path, c: &mut CpuSet) -> Result<()> {
    // A cpuset hierarchy mounted with `noprefix` has bare names.
    let prefix = if d.join("cpus").exists() && !d.join("cpuset.cpus").exists() {
        ""
    } else {
        "cpuset."
    };
    let file = |n: &str| format!("{prefix}{n}");
    if let Some(t) = read_opt(d, &file("cpus"))? {
        c.cpus = cpuset_list(&d.join(file("cpus")), &t)?;
    }
    if let Some(t) = read_opt(d, &file("mems"))? {
        c.mems = cpuset_list(&d.join(file("mems")), &t)?;
    }
    let flags: [(&str, &mut u64); 8] = [
        ("cpu_exclusive", &mut c.cpu_exclusive),
        ("mem_hardwall", &mut c.mem_hardwall),
        ("mem_exclusive", &mut c.mem_exclusive),
        ("memory_migrate", &mut c.memory_migrate),
        ("memory_spread_page", &mut c.memory_spread_page),
        ("memory_spread_slab", &mut c.memory_spread_slab),
        ("memory_pressure", &mut c.memory_pressure),
        ("sched_load_balance", &mut c.sched_load_balance),
    ];
    for (name, slot) in flags {
        if let Some(v) = param_uint_opt(d, &file(name))? {
            *slot = v;
        }
    }
    if let Some(t) = read_opt(d, &file("sched_relax_domain_level"))? {
        let t = t.trim();
        c.sched_relax_domain_level = if t == "max" {
            i64::MAX
        } else {
            t.parse().map_err(|e| {
                parse_error(
                    &d.join(file("sched_relax_domain_level")),
                    format!("{e}: {t:?}"),
                )
            })?
        };
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum BlkioKind {
    ServiceBytes,
    Serviced,
    Queued,
    ServiceTime,
    WaitTime,
    Merged,
    Time,
    Sectors,
}

fn blkio_slot(b: &mut Blkio, k: BlkioKind) -> &mut Vec<BlkioEntry> {
    match k {
        BlkioKind::ServiceBytes => &mut b.io_service_bytes_recursive,
        BlkioKind::Serviced => &mut b.io_serviced_recursive,
        BlkioKind::Queued => &mut b.io_queued_recursive,
        BlkioKind::ServiceTime => &mut b.io_service_time_recursive,
        BlkioKind::WaitTime => &mut b.io_wait_time_recursive,
        BlkioKind::Merged => &mut b.io_merged_recursive,
        BlkioKind::Time => &mut b.io_time_recursive,
        BlkioKind::Sectors => &mut b.sectors_recursive,
    }
}

/// runc's order of v1 blkio file groups: the first group whose first file has entries wins
/// (bfq debug, bfq, cfq, throttle recursive, throttle).
const BLKIO_GROUPS: &[&[(&str, BlkioKind)]] = {
    use BlkioKind::*;
    &[
        &[
            ("blkio.bfq.sectors_recursive", Sectors),
            ("blkio.bfq.io_service_time_recursive", ServiceTime),
            ("blkio.bfq.io_wait_time_recursive", WaitTime),
            ("blkio.bfq.io_merged_recursive", Merged),
            ("blkio.bfq.io_queued_recursive", Queued),
            ("blkio.bfq.time_recursive", Time),
            ("blkio.bfq.io_serviced_recursive", Serviced),
            ("blkio.bfq.io_service_bytes_recursive", ServiceBytes),
        ],
        &[
            ("blkio.bfq.io_serviced_recursive", Serviced),
            ("blkio.bfq.io_service_bytes_recursive", ServiceBytes),
        ],
        &[
            ("blkio.sectors_recursive", Sectors),
            ("blkio.io_service_time_recursive", ServiceTime),
            ("blkio.io_wait_time_recursive", WaitTime),
            ("blkio.io_merged_recursive", Merged),
            ("blkio.io_queued_recursive", Queued),
            ("blkio.time_recursive", Time),
            ("blkio.io_serviced_recursive", Serviced),
            ("blkio.io_service_bytes_recursive", ServiceBytes),
        ],
        &[
            ("blkio.throttle.io_serviced_recursive", Serviced),
            ("blkio.throttle.io_service_bytes_recursive", ServiceBytes),
        ],
        &[
            ("blkio.throttle.io_serviced", Serviced),
            ("blkio.throttle.io_service_bytes", ServiceBytes),
        ],
    ]
};

/// Entries of one v1 blkio file (`8:0 Read 4096`, `8:0 123`); `None` when missing or empty.
fn blkio_file(d: &Path, file: &str) -> Result<Option<Vec<BlkioEntry>>> {
    let Some(text) = read_opt(d, file)? else {
        return Ok(None);
    };
    let path = d.join(file);
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split([' ', ':']).filter(|s| !s.is_empty()).collect();
        if f.len() < 3 {
            if f.len() == 2 && f[0] == "Total" {
                continue;
            }
            return Err(parse_error(&path, format!("malformed line: {line:?}")));
        }
        let num = |s: &str| parse_uint_strict(s).map_err(|e| parse_error(&path, e));
        let (op, value) = if f.len() == 4 {
            (f[2].to_string(), f[3])
        } else {
            (String::new(), f[2])
        };
        out.push(BlkioEntry {
            major: num(f[0])?,
            minor: num(f[1])?,
            op,
            value: num(value)?,
        });
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

fn blkio_v1(d: &Path, b: &mut Blkio) -> Result<()> {
    for group in BLKIO_GROUPS {
        for (i, (file, kind)) in group.iter().enumerate() {
            match blkio_file(d, file) {
                Ok(Some(entries)) => {
                    *blkio_slot(b, *kind) = entries;
                    if i == group.len() - 1 {
                        return Ok(());
                    }
                }
                // Nothing in the group's first file: try the next group.
                Ok(None) | Err(_) if i == 0 => break,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn hugetlb_v1(d: &Path, sizes: &[String], out: &mut BTreeMap<String, Hugetlb>) -> Result<()> {
    // Reserved-page accounting (`.rsvd.`) when the kernel has it, as runc prefers.
    let mut rsvd = ".rsvd";
    for size in sizes {
        let usage = loop {
            let f = format!("hugetlb.{size}{rsvd}.usage_in_bytes");
            match param_uint(d, &f) {
                Ok(v) => break v,
                Err(e) if !rsvd.is_empty() && is_missing(&e) => rsvd = "",
                Err(e) => return Err(e),
            }
        };
        let prefix = format!("hugetlb.{size}{rsvd}");
        out.insert(
            size.clone(),
            Hugetlb {
                usage,
                max: param_uint(d, &format!("{prefix}.max_usage_in_bytes"))?,
                failcnt: param_uint(d, &format!("{prefix}.failcnt"))?,
            },
        );
    }
    Ok(())
}

/// Statistics from a cgroup2 directory, as runc's fs2 manager reads them. Like runc, a
/// controller whose files are missing (not enabled for the cgroup) is skipped, and other
/// failures are gathered and reported together.
pub fn v2(dir: &Path, hugepage_sizes: &[String]) -> Result<Stats> {
    let mut s = Stats::default();
    let mut errs: Vec<Error> = Vec::new();
    let mut keep = |r: Result<()>, missing_ok: bool| {
        if let Err(e) = r {
            if !(missing_ok && is_missing(&e)) {
                errs.push(e);
            }
        }
    };
    keep(pids_v2(dir, &mut s.pids), false);
    keep(memory_v2(dir, &mut s.memory), true);
    keep(psi(dir, "memory.pressure").map(|p| s.memory.psi = p), false);
    keep(io_v2(dir, &mut s.blkio), true);
    keep(psi(dir, "io.pressure").map(|p| s.blkio.psi = p), false);
    keep(cpu_v2(dir, &mut s.cpu), true);
    keep(psi(dir, "cpu.pressure").map(|p| s.cpu.psi = p), false);
    keep(hugetlb_v2(dir, hugepage_sizes, &mut s.hugetlb), true);
    if errs.is_empty() {
        Ok(s)
    } else {
        let all: Vec<String> = errs.iter().map(Error::render).collect();
        Err(Error::Msg(format!(
            "error while statting cgroup v2: [{}]",
            all.join(" ")
        )))
    }
}

fn pids_v2(d: &Path, p: &mut Pids) -> Result<()> {
    match param_uint_opt(d, "pids.current")? {
        Some(cur) => {
            p.current = cur;
            p.limit = unlimited_as_zero(param_uint(d, "pids.max")?);
        }
        None => {
            // No pids controller in this cgroup: count cgroup.procs.
            p.current = read(d, "cgroup.procs")?.matches('\n').count() as u64;
            p.limit = 0;
        }
    }
    Ok(())
}

/// `memory[.swap].{current,max,peak}`; a missing swap set reads as zero.
fn memory_data_v2(d: &Path, name: &str) -> Result<MemoryEntry> {
    let m = if name.is_empty() {
        "memory".to_string()
    } else {
        format!("memory.{name}")
    };
    let usage = match param_uint(d, &format!("{m}.current")) {
        Ok(v) => v,
        Err(e) if !name.is_empty() && is_missing(&e) => return Ok(MemoryEntry::default()),
        Err(e) => return Err(e),
    };
    Ok(MemoryEntry {
        usage,
        limit: param_uint(d, &format!("{m}.max"))?,
        // memory.peak since Linux 5.19, memory.swap.peak since 6.5.
        max: param_uint_opt(d, &format!("{m}.peak"))?.unwrap_or(0),
        failcnt: 0,
    })
}

fn memory_v2(d: &Path, m: &mut Memory) -> Result<()> {
    let text = read(d, "memory.stat")?;
    m.raw = key_values(&d.join("memory.stat"), &text)?
        .into_iter()
        .collect();
    m.cache = m.raw.get("file").copied().unwrap_or(0);
    m.usage = memory_data_v2(d, "")?;
    let swap_only = memory_data_v2(d, "swap")?;
    // v1 reports memory+swap; runc keeps that meaning on v2 (and no peak for the sum).
    let mut swap = swap_only;
    swap.usage = swap.usage.wrapping_add(m.usage.usage);
    if swap.limit != u64::MAX {
        swap.limit = swap.limit.wrapping_add(m.usage.limit);
    }
    swap.max = 0;
    m.swap = swap;
    Ok(())
}

fn cpu_v2(d: &Path, c: &mut Cpu) -> Result<()> {
    let text = read(d, "cpu.stat")?;
    for (k, v) in key_values(&d.join("cpu.stat"), &text)? {
        let ns = v.wrapping_mul(1000);
        match k.as_str() {
            "usage_usec" => c.usage.total = ns,
            "user_usec" => c.usage.user = ns,
            "system_usec" => c.usage.kernel = ns,
            "nr_periods" => c.throttling.periods = v,
            "nr_throttled" => c.throttling.throttled_periods = v,
            "throttled_usec" => c.throttling.throttled_time = ns,
            _ => {}
        }
    }
    Ok(())
}

fn io_v2(d: &Path, b: &mut Blkio) -> Result<()> {
    let text = read(d, "io.stat")?;
    let path = d.join("io.stat");
    let mut parsed = Blkio::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(dev), rest) = (f.next(), f) else {
            continue;
        };
        let Some((major, minor)) = dev.split_once(':') else {
            continue;
        };
        let major = parse_uint_strict(major).map_err(|e| parse_error(&path, e))?;
        let minor = parse_uint_strict(minor).map_err(|e| parse_error(&path, e))?;
        for item in rest {
            let Some((key, value)) = item.split_once('=') else {
                continue;
            };
            let (op, slot) = match key {
                "rbytes" => ("Read", &mut parsed.io_service_bytes_recursive),
                "wbytes" => ("Write", &mut parsed.io_service_bytes_recursive),
                "rios" => ("Read", &mut parsed.io_serviced_recursive),
                "wios" => ("Write", &mut parsed.io_serviced_recursive),
                _ => continue,
            };
            slot.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: parse_uint_strict(value).map_err(|e| parse_error(&path, e))?,
            });
        }
    }
    *b = parsed;
    Ok(())
}

fn hugetlb_v2(d: &Path, sizes: &[String], out: &mut BTreeMap<String, Hugetlb>) -> Result<()> {
    let mut rsvd = ".rsvd";
    for size in sizes {
        let prefix = format!("hugetlb.{size}");
        let usage = loop {
            match param_uint(d, &format!("{prefix}{rsvd}.current")) {
                Ok(v) => break v,
                Err(e) if !rsvd.is_empty() && is_missing(&e) => rsvd = "",
                Err(e) => return Err(e),
            }
        };
        let failcnt = value_by_key(d, &format!("{prefix}.events"), "max")?;
        out.insert(
            size.clone(),
            Hugetlb {
                usage,
                max: 0,
                failcnt,
            },
        );
    }
    Ok(())
}

/// A `*.pressure` file; `None` when the kernel has no PSI for this cgroup.
fn psi(d: &Path, file: &str) -> Result<Option<Psi>> {
    let text = match read(d, file) {
        Ok(t) => t,
        Err(e) if is_missing(&e) || e.errno() == Some(libc::EOPNOTSUPP) => return Ok(None),
        Err(e) => return Err(e),
    };
    let path = d.join(file);
    let mut p = Psi::default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let slot = match parts.next() {
            Some("some") => &mut p.some,
            Some("full") => &mut p.full,
            _ => continue,
        };
        for kv in parts {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(parse_error(&path, format!("invalid psi data: {kv:?}")));
            };
            let float = || {
                v.parse::<f64>()
                    .map_err(|e| parse_error(&path, format!("invalid {k} PSI value: {e}")))
            };
            match k {
                "avg10" => slot.avg10 = float()?,
                "avg60" => slot.avg60 = float()?,
                "avg300" => slot.avg300 = float()?,
                "total" => {
                    slot.total = parse_uint_strict(v)
                        .map_err(|e| parse_error(&path, format!("invalid total PSI value: {e}")))?
                }
                _ => {}
            }
        }
    }
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let p =
                std::env::temp_dir().join(format!("hull-stats-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Tree(p)
        }
        fn dir(&self, sub: &str) -> PathBuf {
            let d = self.0.join(sub);
            fs::create_dir_all(&d).unwrap();
            d
        }
        fn put(&self, sub: &str, files: &[(&str, &str)]) -> PathBuf {
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

    const V1_MEMORY_STAT: &str = "cache 135168\nrss 421888\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\nswap 0\npgpgin 262\npgpgout 131\npgfault 495\npgmajfault 0\ninactive_anon 413696\nactive_anon 0\ninactive_file 135168\nactive_file 0\nunevictable 0\nhierarchical_memory_limit 67108864\nhierarchical_memsw_limit 67108864\ntotal_cache 135168\ntotal_rss 421888\n";

    /// A hybrid host's v1 tree for one container, with realistic kernel file contents.
    fn v1_tree(t: &Tree) -> impl Fn(&str) -> Option<PathBuf> + '_ {
        t.put(
            "cpuacct/hull/c1",
            &[
                ("cpuacct.usage", "31415926\n"),
                ("cpuacct.usage_percpu", "21415926 10000000 \n"),
                ("cpuacct.stat", "user 2\nsystem 1\n"),
                (
                    "cpuacct.usage_all",
                    "cpu user system\n0 15000000 6415926\n1 7000000 3000000\n",
                ),
            ],
        );
        t.put("cpu/hull/c1", &[("cpu.stat", "nr_periods 12\nnr_throttled 3\nthrottled_time 4500000\nnr_bursts 0\nburst_time 0\n")]);
        t.put(
            "cpuset/hull/c1",
            &[
                ("cpuset.cpus", "0-2,5\n"),
                ("cpuset.mems", "0\n"),
                ("cpuset.cpu_exclusive", "0\n"),
                ("cpuset.mem_hardwall", "0\n"),
                ("cpuset.mem_exclusive", "0\n"),
                ("cpuset.memory_migrate", "0\n"),
                ("cpuset.memory_spread_page", "0\n"),
                ("cpuset.memory_spread_slab", "0\n"),
                ("cpuset.memory_pressure", "0\n"),
                ("cpuset.sched_load_balance", "1\n"),
                ("cpuset.sched_relax_domain_level", "-1\n"),
            ],
        );
        t.put(
            "memory/hull/c1",
            &[
                ("memory.stat", V1_MEMORY_STAT),
                ("memory.usage_in_bytes", "557056\n"),
                ("memory.max_usage_in_bytes", "1048576\n"),
                ("memory.failcnt", "0\n"),
                ("memory.limit_in_bytes", "67108864\n"),
                ("memory.memsw.usage_in_bytes", "557056\n"),
                ("memory.memsw.max_usage_in_bytes", "1048576\n"),
                ("memory.memsw.failcnt", "0\n"),
                ("memory.memsw.limit_in_bytes", "67108864\n"),
                // Linux 6.x: kmem usage without a kmem limit file.
                ("memory.kmem.usage_in_bytes", "159744\n"),
                ("memory.kmem.max_usage_in_bytes", "204800\n"),
                ("memory.kmem.failcnt", "0\n"),
                ("memory.kmem.tcp.usage_in_bytes", "0\n"),
                ("memory.kmem.tcp.max_usage_in_bytes", "0\n"),
                ("memory.kmem.tcp.failcnt", "0\n"),
                ("memory.kmem.tcp.limit_in_bytes", "9223372036854771712\n"),
                ("memory.use_hierarchy", "1\n"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
                ),
            ],
        );
        t.put(
            "pids/hull/c1",
            &[("pids.current", "3\n"), ("pids.max", "100\n")],
        );
        t.put(
            "blkio/hull/c1",
            &[
                // bfq present but idle: runc falls through to the throttle files.
                ("blkio.bfq.io_serviced_recursive", "Total 0\n"),
                ("blkio.bfq.io_service_bytes_recursive", "Total 0\n"),
                ("blkio.throttle.io_serviced_recursive", "254:0 Read 12\n254:0 Write 3\n254:0 Sync 15\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 15\nTotal 15\n"),
                ("blkio.throttle.io_service_bytes_recursive", "254:0 Read 49152\n254:0 Write 4096\n254:0 Sync 53248\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 53248\nTotal 53248\n"),
            ],
        );
        let root = t.0.clone();
        move |c: &str| {
            let name = match c {
                "cpu" | "cpuacct" | "cpuset" | "memory" | "pids" | "blkio" => c,
                _ => return None,
            };
            Some(root.join(name).join("hull/c1"))
        }
    }

    #[test]
    fn v1_values_and_units() {
        let t = Tree::new("v1");
        let dir_of = v1_tree(&t);
        let s = v1(&dir_of, &["2MB".to_string()]).unwrap();
        // cpuacct: ns as is; cpuacct.stat ticks (USER_HZ 100) to ns.
        assert_eq!(s.cpu.usage.total, 31_415_926);
        assert_eq!(s.cpu.usage.percpu, Some(vec![21_415_926, 10_000_000]));
        assert_eq!(s.cpu.usage.percpu_user, Some(vec![15_000_000, 7_000_000]));
        assert_eq!(s.cpu.usage.percpu_kernel, Some(vec![6_415_926, 3_000_000]));
        assert_eq!(s.cpu.usage.user, 20_000_000);
        assert_eq!(s.cpu.usage.kernel, 10_000_000);
        assert_eq!(
            s.cpu.throttling,
            Throttling {
                periods: 12,
                throttled_periods: 3,
                throttled_time: 4_500_000
            }
        );
        assert_eq!(s.cpuset.cpus, vec![0, 1, 2, 5]);
        assert_eq!(s.cpuset.mems, vec![0]);
        assert_eq!(s.cpuset.sched_load_balance, 1);
        assert_eq!(s.cpuset.sched_relax_domain_level, -1);
        assert_eq!(s.memory.cache, 135_168);
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: 67_108_864,
                usage: 557_056,
                max: 1_048_576,
                failcnt: 0
            }
        );
        assert_eq!(s.memory.swap.limit, 67_108_864);
        assert_eq!(
            s.memory.kernel,
            MemoryEntry {
                limit: 0,
                usage: 159_744,
                max: 204_800,
                failcnt: 0
            }
        );
        assert_eq!(s.memory.kernel_tcp.limit, 9_223_372_036_854_771_712);
        assert_eq!(s.memory.raw["total_rss"], 421_888);
        assert_eq!(s.memory.raw.len(), V1_MEMORY_STAT.lines().count());
        assert_eq!(
            s.pids,
            Pids {
                current: 3,
                limit: 100
            }
        );
        assert_eq!(s.blkio.io_serviced_recursive.len(), 6);
        assert_eq!(
            s.blkio.io_service_bytes_recursive[0],
            BlkioEntry {
                major: 254,
                minor: 0,
                op: "Read".into(),
                value: 49152
            }
        );
        assert!(s.blkio.sectors_recursive.is_empty());
        // No hugetlb hierarchy: an empty map, as runc reports on this layout.
        assert!(s.hugetlb.is_empty());
        assert_eq!(
            oom_kill_count(&dir_of("memory").unwrap(), "memory.oom_control").unwrap(),
            2
        );
    }

    #[test]
    fn v1_json_matches_runc_shape() {
        let t = Tree::new("v1json");
        let dir_of = v1_tree(&t);
        let s = v1(&dir_of, &[]).unwrap();
        let v: serde_json::Value = serde_json::to_value(&s).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 8);
        for k in [
            "cpu",
            "cpuset",
            "memory",
            "pids",
            "blkio",
            "hugetlb",
            "intel_rdt",
            "network_interfaces",
        ] {
            assert!(keys.contains(&k), "{k} missing: {keys:?}");
        }
        assert_eq!(v["network_interfaces"], serde_json::Value::Null);
        assert_eq!(v["intel_rdt"], serde_json::json!({}));
        assert_eq!(v["hugetlb"], serde_json::json!({}));
        assert_eq!(v["cpu"]["throttling"]["throttledPeriods"], 3);
        assert_eq!(v["cpu"]["usage"]["percpu_kernel"][1], 3_000_000);
        assert_eq!(
            v["memory"]["usage"],
            serde_json::json!({"limit": 67108864, "usage": 557056, "max": 1048576, "failcnt": 0})
        );
        assert!(
            v["memory"]["kernelTCP"]["usage"].is_null(),
            "zero usage is omitted"
        );
        assert_eq!(v["memory"]["kernelTCP"]["failcnt"], 0);
        assert_eq!(
            v["blkio"]["ioServicedRecursive"][0],
            serde_json::json!({"major": 254, "op": "Read", "value": 12})
        );
        assert!(v["blkio"].get("ioQueueRecursive").is_none());
        assert_eq!(v["pids"], serde_json::json!({"current": 3, "limit": 100}));
        // Field order is runc's (Go encodes struct fields in declaration order).
        let text = serde_json::to_string(&s).unwrap();
        let pos = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
        assert!(
            pos("cpu") < pos("cpuset")
                && pos("cpuset") < pos("memory")
                && pos("memory") < pos("pids")
        );
        assert!(
            pos("pids") < pos("blkio")
                && pos("blkio") < pos("hugetlb")
                && pos("hugetlb") < pos("intel_rdt")
        );
        assert!(
            text.ends_with(",\"intel_rdt\":{},\"network_interfaces\":null}"),
            "{text}"
        );
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
    fn v1_missing_controllers_and_unlimited_pids() {
        let t = Tree::new("v1min");
        let pids = t.put("pids/c", &[("pids.current", "1\n"), ("pids.max", "max\n")]);
        let mem = t.dir("memory/c"); // no memory.stat: skipped, as runc does
        let dir_of = move |c: &str| match c {
            "pids" => Some(pids.clone()),
            "memory" => Some(mem.clone()),
            "cpuacct" => Some(PathBuf::from("/nonexistent/hull-test")),
            _ => None,
        };
        let s = v1(&dir_of, &[]).unwrap();
        assert_eq!(
            s.pids,
            Pids {
                current: 1,
                limit: 0
            }
        );
        assert_eq!(s.memory, Memory::default());
        assert!(s.cpu.usage.is_zero());
    }

    #[test]
    fn v1_bad_file_is_an_error_naming_it() {
        let t = Tree::new("v1bad");
        let d = t.put(
            "pids/c",
            &[("pids.current", "lots\n"), ("pids.max", "10\n")],
        );
        let dd = d.clone();
        let e = v1(&move |c: &str| (c == "pids").then(|| dd.clone()), &[]).unwrap_err();
        assert!(
            e.render().contains(&format!(
                "unable to parse {}",
                d.join("pids.current").display()
            )),
            "{}",
            e.render()
        );
    }

    #[test]
    fn v1_blkio_cfq_group_and_hugetlb() {
        let t = Tree::new("v1blk");
        let d = t.put(
            "blkio/c",
            &[
                ("blkio.sectors_recursive", "8:0 96\n"),
                (
                    "blkio.io_service_time_recursive",
                    "8:0 Read 100\n8:0 Write 0\nTotal 100\n",
                ),
                ("blkio.io_wait_time_recursive", "8:0 Read 7\nTotal 7\n"),
                ("blkio.io_merged_recursive", "8:0 Read 1\nTotal 1\n"),
                ("blkio.io_queued_recursive", "8:0 Read 2\nTotal 2\n"),
                ("blkio.time_recursive", "8:0 42\n"),
                ("blkio.io_serviced_recursive", "8:0 Read 3\nTotal 3\n"),
                (
                    "blkio.io_service_bytes_recursive",
                    "8:0 Read 12288\nTotal 12288\n",
                ),
            ],
        );
        let mut b = Blkio::default();
        blkio_v1(&d, &mut b).unwrap();
        assert_eq!(
            b.sectors_recursive,
            vec![BlkioEntry {
                major: 8,
                minor: 0,
                op: String::new(),
                value: 96
            }]
        );
        assert_eq!(b.io_queued_recursive[0].value, 2);
        assert_eq!(b.io_time_recursive[0].value, 42);
        assert_eq!(b.io_service_bytes_recursive[0].value, 12288);

        let h = t.put(
            "hugetlb/c",
            &[
                ("hugetlb.2MB.rsvd.usage_in_bytes", "2097152\n"),
                ("hugetlb.2MB.rsvd.max_usage_in_bytes", "4194304\n"),
                ("hugetlb.2MB.rsvd.failcnt", "1\n"),
            ],
        );
        let mut m = BTreeMap::new();
        hugetlb_v1(&h, &["2MB".into()], &mut m).unwrap();
        assert_eq!(
            m["2MB"],
            Hugetlb {
                usage: 2_097_152,
                max: 4_194_304,
                failcnt: 1
            }
        );
    }

    fn v2_tree(t: &Tree) -> PathBuf {
        t.put(
            "hull/c2",
            &[
                ("cgroup.procs", "4242\n4243\n"),
                ("cgroup.events", "populated 1\nfrozen 0\n"),
                (
                    "cpu.stat",
                    "usage_usec 81234\nuser_usec 61000\nsystem_usec 20234\ncore_sched.force_idle_usec 0\nnr_periods 40\nnr_throttled 2\nthrottled_usec 1500\nnr_bursts 0\nburst_usec 0\n",
                ),
                ("cpu.pressure", "some avg10=1.25 avg60=0.00 avg300=0.00 total=8123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                ("memory.current", "2211840\n"),
                ("memory.max", "16777216\n"),
                ("memory.peak", "4186112\n"),
                ("memory.swap.current", "0\n"),
                ("memory.swap.max", "0\n"),
                (
                    "memory.stat",
                    "anon 1204224\nfile 839680\nkernel 167936\nkernel_stack 32768\npagetables 53248\nsock 0\nshmem 0\nfile_mapped 0\nfile_dirty 0\nfile_writeback 0\nswapcached 0\npgfault 1529\npgmajfault 0\noom_kill 0\n",
                ),
                ("memory.events", "low 0\nhigh 0\nmax 14\noom 1\noom_kill 1\noom_group_kill 0\n"),
                ("memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
                ("pids.current", "2\n"),
                ("pids.max", "max\n"),
                ("io.stat", "254:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n8:16 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"),
                ("hugetlb.2MB.current", "0\n"),
                ("hugetlb.2MB.events", "max 3\n"),
                ("hugetlb.1GB.current", "1073741824\n"),
                ("hugetlb.1GB.events", "max 0\n"),
            ],
        )
    }

    #[test]
    fn v2_values_and_units() {
        let t = Tree::new("v2");
        let d = v2_tree(&t);
        let s = v2(&d, &["1GB".into(), "2MB".into()]).unwrap();
        // usec to ns, as runc converts.
        assert_eq!(s.cpu.usage.total, 81_234_000);
        assert_eq!(s.cpu.usage.user, 61_000_000);
        assert_eq!(s.cpu.usage.kernel, 20_234_000);
        assert_eq!(s.cpu.usage.percpu, None);
        assert_eq!(
            s.cpu.throttling,
            Throttling {
                periods: 40,
                throttled_periods: 2,
                throttled_time: 1_500_000
            }
        );
        let psi = s.cpu.psi.as_ref().unwrap();
        assert_eq!((psi.some.avg10, psi.some.total), (1.25, 8123));
        assert_eq!(
            s.memory.usage,
            MemoryEntry {
                limit: 16_777_216,
                usage: 2_211_840,
                max: 4_186_112,
                failcnt: 0
            }
        );
        // swap is reported as memory+swap with no peak, as runc does for v1 compatibility.
        assert_eq!(
            s.memory.swap,
            MemoryEntry {
                limit: 16_777_216,
                usage: 2_211_840,
                max: 0,
                failcnt: 0
            }
        );
        assert_eq!(s.memory.cache, 839_680);
        assert_eq!(s.memory.raw["anon"], 1_204_224);
        assert_eq!(
            s.pids,
            Pids {
                current: 2,
                limit: 0
            }
        );
        assert_eq!(
            s.blkio.io_service_bytes_recursive,
            vec![
                BlkioEntry {
                    major: 254,
                    minor: 0,
                    op: "Read".into(),
                    value: 1_459_200
                },
                BlkioEntry {
                    major: 254,
                    minor: 0,
                    op: "Write".into(),
                    value: 314_773_504
                },
                BlkioEntry {
                    major: 8,
                    minor: 16,
                    op: "Read".into(),
                    value: 4096
                },
                BlkioEntry {
                    major: 8,
                    minor: 16,
                    op: "Write".into(),
                    value: 0
                },
            ]
        );
        assert_eq!(s.blkio.io_serviced_recursive[1].value, 353);
        assert!(s.blkio.psi.is_none(), "no io.pressure file");
        assert_eq!(
            s.hugetlb["2MB"],
            Hugetlb {
                usage: 0,
                max: 0,
                failcnt: 3
            }
        );
        assert_eq!(s.hugetlb["1GB"].usage, 1_073_741_824);
        assert_eq!(oom_kill_count(&d, "memory.events").unwrap(), 1);

        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["cpu"]["psi"]["some"],
            serde_json::json!({"avg10": 1.25, "avg60": 0, "avg300": 0, "total": 8123})
        );
        assert!(
            v["cpu"]["psi"].get("full").is_none(),
            "an all-zero PSI line is omitted"
        );
        assert_eq!(v["memory"]["psi"], serde_json::json!({}));
        assert!(v["cpu"]["usage"].get("percpu").is_none());
        assert_eq!(
            v["blkio"]["ioServiceBytesRecursive"][3],
            serde_json::json!({"major": 8, "minor": 16, "op": "Write"})
        );
        assert_eq!(v["hugetlb"]["2MB"], serde_json::json!({"failcnt": 3}));
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains("\"avg60\":0,"),
            "Go prints whole floats without a fraction: {text}"
        );
    }

    #[test]
    fn v2_without_controllers_and_unlimited_memory() {
        // A cgroup whose parent enables no controllers: only core files and cpu.stat.
        let t = Tree::new("v2min");
        let d = t.put(
            "c",
            &[
                ("cgroup.procs", "7\n8\n9\n"),
                ("cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n"),
            ],
        );
        let s = v2(&d, &["2MB".into()]).unwrap();
        assert_eq!(
            s.pids,
            Pids {
                current: 3,
                limit: 0
            }
        );
        assert_eq!(s.memory, Memory::default());
        assert!(s.hugetlb.is_empty());
        assert_eq!(s.cpu.usage.total, 5000);

        let t = Tree::new("v2max");
        let d = t.put(
            "c",
            &[
                ("cgroup.procs", "7\n"),
                ("cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n"),
                ("memory.stat", "anon 4096\nfile 0\n"),
                ("memory.current", "4096\n"),
                ("memory.max", "max\n"),
                ("memory.swap.current", "0\n"),
                ("memory.swap.max", "max\n"),
                ("pids.current", "1\n"),
                ("pids.max", "64\n"),
            ],
        );
        let s = v2(&d, &[]).unwrap();
        assert_eq!(s.memory.usage.limit, u64::MAX);
        assert_eq!(s.memory.swap.limit, u64::MAX);
        assert_eq!(s.memory.swap.usage, 4096);
        assert_eq!(
            s.pids,
            Pids {
                current: 1,
                limit: 64
            }
        );
        let v = serde_json::to_value(&s).unwrap();
        assert!(v["cpu"].get("usage").is_none(), "all-zero usage is omitted");
        assert_eq!(v["memory"]["usage"]["limit"], serde_json::json!(u64::MAX));
    }

    #[test]
    fn v2_errors_are_gathered() {
        let t = Tree::new("v2bad");
        let d = t.put(
            "c",
            &[
                ("cgroup.procs", "1\n"),
                ("cpu.stat", "usage_usec x\n"),
                ("pids.current", "1\n"),
            ],
        );
        let e = v2(&d, &[]).unwrap_err().render();
        assert!(e.starts_with("error while statting cgroup v2: ["), "{e}");
        assert!(e.contains("cpu.stat"), "{e}");
        assert!(e.contains("pids.max"), "{e}");
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

    #[test]
    fn go_uint_parsing() {
        assert_eq!(parse_uint("42"), Ok(42));
        assert_eq!(parse_uint("-3"), Ok(0));
        assert_eq!(parse_uint("-99999999999999999999999"), Ok(0));
        assert!(parse_uint("+3").is_err());
        assert!(parse_uint("x").is_err());
        assert!(cpuset_list(Path::new("f"), "3-1").is_err());
        assert!(cpuset_list(Path::new("f"), "\n").is_err());
    }
}
