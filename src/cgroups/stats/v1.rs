//! Statistics from cgroup v1 controller directories (legacy and hybrid hosts), as runc's fs
//! manager reads them: cpuset, memory (with memsw, kmem, kmem.tcp), cpu throttling, cpuacct,
//! pids, blkio (runc's order of bfq, cfq and throttle files) and hugetlb. A controller without a
//! directory is skipped. It only reads files; the types and their JSON live in `mod.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::parse::{
    is_missing, key_values, param_uint, param_uint_opt, parse_error, parse_uint_strict, read,
    read_opt, unlimited_as_zero,
};
use super::{Blkio, BlkioEntry, CpuSet, CpuUsage, Hugetlb, Memory, MemoryEntry, Stats};
use crate::error::Result;

/// Nanoseconds per second, and the tick rate of `cpuacct.stat` (USER_HZ, fixed at 100 on Linux).
const NS_PER_SEC: u64 = 1_000_000_000;
const CLOCK_TICKS: u64 = 100;

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
    if text.trim().is_empty() {
        return Err(parse_error(path, "empty file"));
    }
    let list = crate::sys::cpu::parse_list(text.trim()).map_err(|e| parse_error(path, e))?;
    list.into_iter()
        .map(|n| u16::try_from(n).map_err(|e| parse_error(path, format!("{e}: {n}"))))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::stats::tests::Tree;
    use crate::cgroups::stats::{oom_kill_count, Pids, Throttling};

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

    #[test]
    fn cpuset_list_parsing() {
        assert!(cpuset_list(Path::new("f"), "3-1").is_err());
        assert!(cpuset_list(Path::new("f"), "\n").is_err());
        assert_eq!(
            cpuset_list(Path::new("f"), "0-2,8\n").unwrap(),
            vec![0, 1, 2, 8]
        );
        assert!(cpuset_list(Path::new("f"), "70000").is_err());
    }
}
