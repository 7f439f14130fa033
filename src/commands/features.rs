//! `hull features`: the OCI features document. Not implemented yet.

use crate::error::{Error, Result};

/// Print the features JSON.
pub fn run() -> Result<i32> {
    Err(Error::invalid("features is not implemented yet"))
}
