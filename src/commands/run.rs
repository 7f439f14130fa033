//! `hull run ID`: create and start a container in one process (`container/run.rs`); in the
//! foreground the exit code is the container process's.

use super::{create, Global};
use crate::cli::RunArgs;
use crate::container;
use crate::error::Result;

/// `hull run`.
pub fn run(g: &Global, a: &RunArgs) -> Result<i32> {
    container::run::run(
        &g.root,
        &a.id,
        &create::options(g, &a.opts, a.detach),
        a.keep,
    )
}
