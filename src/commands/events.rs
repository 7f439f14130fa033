//! `hull events [--stats] [--interval D] ID`: runc's event stream. Not implemented yet.

use super::Global;
use crate::cli::EventsArgs;
use crate::error::{Error, Result};

/// Stream events.
pub fn run(_g: &Global, _a: &EventsArgs) -> Result<i32> {
    Err(Error::invalid("events is not implemented yet"))
}
