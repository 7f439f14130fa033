//! `hull pause ID` / `hull resume ID`: freeze or thaw every process of a container through the
//! cgroup freezer (v1 `freezer.state`, v2 `cgroup.freeze`); `state` then reports `paused`.

use super::Global;
use crate::cgroups;
use crate::container::{status, Container, Status};
use crate::error::{Context, Error, Result};

fn open(g: &Global, id: &str) -> Result<(Container, crate::container::State, Status)> {
    let c = Container::open(&g.root, id)?;
    let st = c.state()?;
    let s = status::derive(&st, &c.dir);
    Ok((c, st, s))
}

/// Freeze a running container.
pub fn pause(g: &Global, id: &str) -> Result<i32> {
    let (_c, st, s) = open(g, id)?;
    if s != Status::Running {
        return Err(Error::NotRunning).with_context(|| format!("pause {id}: it is {}", s.as_str()));
    }
    cgroups::freeze(&st.cgroup, true).with_context(|| format!("pause {id}"))?;
    Ok(0)
}

/// Thaw a paused container.
pub fn resume(g: &Global, id: &str) -> Result<i32> {
    let (_c, st, s) = open(g, id)?;
    if s != Status::Paused {
        return Err(Error::invalid(format!(
            "resume {id}: container not paused (it is {})",
            s.as_str()
        )));
    }
    cgroups::freeze(&st.cgroup, false).with_context(|| format!("resume {id}"))?;
    Ok(0)
}
