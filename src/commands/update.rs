//! `hull update`: change a container's resources. Not implemented yet.

use super::Global;
use crate::cli::UpdateArgs;
use crate::error::{Error, Result};

/// Update resources.
pub fn run(_g: &Global, _a: &UpdateArgs) -> Result<i32> {
    Err(Error::invalid("update is not implemented yet"))
}
