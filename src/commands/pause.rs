//! `hull pause ID` / `hull resume ID`: freeze or thaw every process of a container through the
//! cgroup freezer (`container/control.rs`); `state` then reports `paused`.

use super::Global;
use crate::container::Container;
use crate::error::Result;

/// Freeze a running container.
pub fn pause(g: &Global, id: &str) -> Result<i32> {
    Container::open(&g.root, id)?.pause()?;
    Ok(0)
}

/// Thaw a paused container.
pub fn resume(g: &Global, id: &str) -> Result<i32> {
    Container::open(&g.root, id)?.resume()?;
    Ok(0)
}
