//! `hull exec`: run a new process in a running container. Not implemented yet.

use super::Global;
use crate::cli::ExecArgs;
use crate::error::{Error, Result};

/// Run a process in a container.
pub fn run(_g: &Global, _a: &ExecArgs) -> Result<i32> {
    Err(Error::invalid("exec is not implemented yet"))
}
