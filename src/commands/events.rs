//! `hull events [--stats] [--interval D] ID`: runc's event stream (`container/events.rs`), one
//! JSON object per line on stdout. A bad `--interval` (a Go duration, default 5s) is reported
//! first, with Go's wording, as runc does.

use super::Global;
use crate::cli::EventsArgs;
use crate::error::{quote, Error, Result};

/// Stream events, or print one stats event with `--stats`.
pub fn run(g: &Global, a: &EventsArgs) -> Result<i32> {
    let interval = crate::timefmt::parse_duration(&a.interval).map_err(|e| {
        Error::invalid(format!(
            "invalid value {} for flag -interval: {e}",
            quote(&a.interval)
        ))
    })?;
    let mut out = std::io::stdout().lock();
    crate::container::events::events(&g.root, &a.id, interval, a.stats, &mut out)?;
    Ok(0)
}
