//! What the fuzz targets share: hull's warnings sent to /dev/null (an unknown capability name
//! in a fuzzed config would otherwise print one line per execution).

use std::sync::Once;

/// Send hull's log records to /dev/null, once per process.
pub fn quiet_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        hull::logging::init(
            Some(std::path::Path::new("/dev/null")),
            hull::logging::Format::Text,
            false,
        )
        .expect("open /dev/null");
    });
}
