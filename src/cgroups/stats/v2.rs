//! Statistics from a cgroup2 directory (unified hosts), as runc's fs2 manager reads them:
//! pids (or a count of `cgroup.procs`), memory and swap, io.stat, cpu.stat, hugetlb and the
//! `*.pressure` PSI files. Failures are gathered into one error rather than stopping at the
//! first. It only reads files; the types and their JSON live in `mod.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use super::parse::{
    is_missing, key_values, param_uint, param_uint_opt, parse_error, parse_uint_strict, read,
    unlimited_as_zero, value_by_key,
};
use super::{Blkio, BlkioEntry, Cpu, Hugetlb, Memory, MemoryEntry, Pids, Psi, Stats};
use crate::error::{Error, Result};

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
    use std::path::PathBuf;

    use super::*;
    use crate::cgroups::stats::tests::Tree;
    use crate::cgroups::stats::{oom_kill_count, Throttling};

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
}
