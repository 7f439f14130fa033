//! `hull kill [--all] ID [SIGNAL]`: signal a container's init, or every process of its cgroup
//! (`container/control.rs`). Signals are named as runc names them (`signals::parse`).

use super::Global;
use crate::cli::KillArgs;
use crate::container::Container;
use crate::error::Result;
use crate::signals;

/// Send a signal.
pub fn run(g: &Global, a: &KillArgs) -> Result<i32> {
    let sig = signals::parse(&a.signal)?;
    Container::open(&g.root, &a.id)?.kill(sig, a.all)?;
    Ok(0)
}
