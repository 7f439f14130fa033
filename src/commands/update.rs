//! `hull update [--resources FILE|-] [flags] ID`: change the resources of a created, running or
//! paused container (`container/update.rs`). The file (or stdin) is a LinuxResources JSON;
//! runc's flags override it (sizes with docker's suffixes); zero values mean "unchanged", -1
//! unlimited.

use std::io::Read;

use serde_json::{json, Value};

use super::Global;
use crate::cli::UpdateArgs;
use crate::error::{quote, short, Context, Error, Result};

/// Apply new resources.
pub fn run(g: &Global, a: &UpdateArgs) -> Result<i32> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        return Err(Error::invalid(
            "--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported",
        ));
    }
    let mut v = match a.resources.as_deref() {
        None => json!({}),
        Some(src) => {
            let text = if src == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("read resources from stdin")?;
                s
            } else {
                std::fs::read_to_string(src)
                    .with_context(|| format!("--resources {}", short(src)))?
            };
            serde_json::from_str(&text)
                .map_err(|e| Error::invalid(format!("--resources: malformed JSON: {e}")))?
        }
    };
    apply_flags(&mut v, a)?;
    crate::container::update::update(&g.root, &a.id, v)?;
    Ok(0)
}

fn set(v: &mut Value, section: &str, key: &str, val: Value) {
    if !v[section].is_object() {
        v[section] = json!({});
    }
    v[section][key] = val;
}

fn apply_flags(v: &mut Value, a: &UpdateArgs) -> Result<()> {
    if let Some(w) = a.blkio_weight {
        set(v, "blockIO", "weight", json!(w));
    }
    for (key, val) in [
        ("period", a.cpu_period),
        ("burst", a.cpu_burst),
        ("shares", a.cpu_share),
        ("realtimePeriod", a.cpu_rt_period),
    ] {
        if let Some(x) = val {
            set(v, "cpu", key, json!(x));
        }
    }
    for (key, val) in [
        ("quota", a.cpu_quota),
        ("realtimeRuntime", a.cpu_rt_runtime),
    ] {
        if let Some(x) = val {
            set(v, "cpu", key, json!(x));
        }
    }
    if let Some(s) = &a.cpuset_cpus {
        set(v, "cpu", "cpus", json!(s));
    }
    if let Some(s) = &a.cpuset_mems {
        set(v, "cpu", "mems", json!(s));
    }
    for (key, flag, val) in [
        ("limit", "--memory", &a.memory),
        ("reservation", "--memory-reservation", &a.memory_reservation),
        ("swap", "--memory-swap", &a.memory_swap),
    ] {
        if let Some(s) = val {
            set(v, "memory", key, json!(parse_bytes(s).context(flag)?));
        }
    }
    if let Some(p) = a.pids_limit {
        set(v, "pids", "limit", json!(p));
    }
    Ok(())
}

/// A byte count as runc's `units.RAMInBytes` reads it: `1024`, `512k`, `64m`, `1g`, `2GiB`, `-1`.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let bad = || Error::invalid(format!("invalid size {}", quote(s)));
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches('b').trim_end_matches('i');
    let mul: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((n * mul) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("1.5k").unwrap(), 1536);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("12q").is_err());
        assert!(parse_bytes("").is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let mut v = json!({"memory": {"limit": 1}});
        let a = UpdateArgs {
            memory: Some("64m".into()),
            pids_limit: Some(10),
            cpu_quota: Some(-1),
            ..Default::default()
        };
        apply_flags(&mut v, &a).unwrap();
        assert_eq!(
            v,
            json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 10}, "cpu": {"quota": -1}})
        );
    }
}
