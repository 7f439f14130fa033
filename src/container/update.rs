//! The `update` verb: change the resources of a created, running or paused container. The
//! request is a LinuxResources JSON (the caller merged runc's flags into it): zero values mean
//! "unchanged" (they are pruned before applying), -1 means unlimited; with
//! `memory.checkBeforeUpdate` a limit below the current usage is refused.

use std::path::Path;

use serde_json::Value;

use super::{status, Container};
use crate::cgroups;
use crate::error::{Context, Error, Result};

/// Apply `resources` to container `id` under `root`.
pub fn update(root: &Path, id: &str, mut resources: Value) -> Result<()> {
    prune_zeros(&mut resources);
    let res: oci_spec::runtime::LinuxResources =
        serde_path_to_error::deserialize(resources.clone())
            .map_err(|e| Error::invalid(format!("--resources: {}: {}", e.path(), e.inner())))?;
    let c = Container::open(root, id)?;
    let st = c.state()?;
    if !status::derive(&st, &c.dir).is_live() {
        return Err(Error::NotRunning).with_context(|| format!("update {id}"));
    }
    st.cgroup.require(id, "update")?;
    if let Some(limit) = resources.pointer("/memory/limit").and_then(Value::as_i64) {
        if resources
            .pointer("/memory/checkBeforeUpdate")
            .and_then(Value::as_bool)
            == Some(true)
            && limit > 0
        {
            check_usage_below(&st.cgroup, limit)?;
        }
    }
    if let Some(unit) = &st.cgroup.systemd {
        cgroups::systemd::update(unit, &res).with_context(|| format!("update {id}"))?;
    }
    cgroups::apply(&st.cgroup, &res).with_context(|| format!("update {id}"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zeros_mean_unchanged() {
        let mut v = json!({"memory": {"limit": 0, "swap": -1}, "cpu": {"shares": 512, "cpus": ""}, "pids": {"limit": 0}});
        prune_zeros(&mut v);
        assert_eq!(v, json!({"memory": {"swap": -1}, "cpu": {"shares": 512}}));
    }
}
