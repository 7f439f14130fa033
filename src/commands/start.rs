//! `hull start ID`: release a created container's init (`container/start.rs`).

use super::Global;
use crate::container::Container;
use crate::error::Result;

/// Start a created container.
pub fn run(g: &Global, id: &str) -> Result<i32> {
    let c = Container::open(&g.root, id)?;
    c.start(&c.state()?)?;
    Ok(0)
}
