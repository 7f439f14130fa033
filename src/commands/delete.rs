//! `hull delete [--force] ID`: remove a container (`container/delete.rs`).

use super::Global;
use crate::cli::DeleteArgs;
use crate::error::Result;

/// Delete a container.
pub fn run(g: &Global, a: &DeleteArgs) -> Result<i32> {
    crate::container::delete::delete(&g.root, &a.id, a.force)?;
    Ok(0)
}
