//! `hull update [--resources FILE|-] [flags] ID`: change the resources of a created, running or
//! paused container. The file (or stdin) is a LinuxResources JSON; runc's flags override it;
//! zero values mean "unchanged" (they are pruned before applying), -1 means unlimited.

use std::io::Read;

use serde_json::{json, Value};

use super::Global;
use crate::cgroups;
use crate::cli::UpdateArgs;
use crate::container::{status, Container, Status};
use crate::error::{Context, Error, Result};

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
                std::fs::read_to_string(src).with_context(|| format!("--resources {src}"))?
            };
            serde_json::from_str(&text)
                .map_err(|e| Error::invalid(format!("--resources: malformed JSON: {e}")))?
        }
    };
    apply_flags(&mut v, a)?;
    prune_zeros(&mut v);
    let res: oci_spec::runtime::LinuxResources = serde_path_to_error::deserialize(v.clone())
        .map_err(|e| Error::invalid(format!("--resources: {}: {}", e.path(), e.inner())))?;

    let c = Container::open(&g.root, &a.id)?;
    let st = c.state()?;
    if status::derive(&st, &c.dir) == Status::Stopped {
        return Err(Error::NotRunning).with_context(|| format!("update {}", a.id));
    }
    if let Some(limit) = v.pointer("/memory/limit").and_then(Value::as_i64) {
        if v.pointer("/memory/checkBeforeUpdate")
            .and_then(Value::as_bool)
            == Some(true)
            && limit > 0
        {
            check_usage_below(&st.cgroup, limit)?;
        }
    }
    cgroups::apply(&st.cgroup, &res).with_context(|| format!("update {}", a.id))?;
    Ok(0)
}

fn check_usage_below(cg: &cgroups::CgroupState, limit: i64) -> Result<()> {
    let usage = cg
        .path_of("memory")
        .map(|p| p.join("memory.usage_in_bytes"))
        .or_else(|| cg.path_of("").map(|p| p.join("memory.current")))
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse::<i64>().ok());
    if let Some(u) = usage.filter(|u| *u > limit) {
        return Err(Error::invalid(format!(
            "linux.resources.memory.limit: {limit} is below the current usage {u} (checkBeforeUpdate)"
        )));
    }
    Ok(())
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

/// Remove numeric fields equal to 0, empty strings and then empty sections (runc: zero means
/// unchanged).
pub fn prune_zeros(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, x| !(x.as_f64() == Some(0.0) || x.as_str() == Some("")));
        for x in map.values_mut() {
            prune_zeros(x);
        }
        // A section left empty says nothing to change.
        map.retain(|_, x| !x.as_object().is_some_and(|o| o.is_empty()));
    }
}

/// A byte count as runc's `units.RAMInBytes` reads it: `1024`, `512k`, `64m`, `1g`, `2GiB`, `-1`.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let bad = || Error::invalid(format!("invalid size {s:?}"));
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
    fn zeros_mean_unchanged() {
        let mut v = json!({"memory": {"limit": 0, "swap": -1}, "cpu": {"shares": 512, "cpus": ""}, "pids": {"limit": 0}});
        prune_zeros(&mut v);
        assert_eq!(v, json!({"memory": {"swap": -1}, "cpu": {"shares": 512}}));
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
