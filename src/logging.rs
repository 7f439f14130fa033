//! runc-compatible log records. `--log FILE` receives one record per line, appended: with
//! `--log-format json` `{"level":"error","msg":"…","time":"RFC3339"}` (what containerd's
//! `getLastRuntimeError` parses), otherwise logrus text `time="…" level=error msg="…"`.
//! Without `--log`, records go to stderr. Children of create/run are forks of this process, so they
//! inherit the configuration and the fd (opened O_APPEND|O_CLOEXEC: gone at the payload's execve).
//! No thread, no buffering: one write(2) per record.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;

use crate::error::{short, Context, Result};

/// Log record formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// logrus text: `time="…" level=… msg="…"`.
    Text,
    /// One JSON object per line.
    Json,
}

struct Logger {
    file: Option<std::fs::File>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Set up logging once, from the global flags.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> Result<()> {
    let file = match path {
        Some(p) if !p.as_os_str().is_empty() => Some(
            OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)
                .with_context(|| format!("open log file {}", short(p)))?,
        ),
        _ => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
    Ok(())
}

/// Whether `--debug` was given.
pub fn debug_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.debug)
}

/// A debug record (only with `--debug`).
pub fn debug(msg: &str) {
    if debug_enabled() {
        record("debug", msg);
    }
}

/// A warning record.
pub fn warn(msg: &str) {
    record("warning", msg);
}

/// The final error of a command: a record in the log, and the message on stderr when the log is
/// a file (as runc's `fatal()` does).
pub fn error(msg: &str) {
    record("error", msg);
    if LOGGER.get().is_some_and(|l| l.file.is_some()) {
        let _ = std::io::stderr().write_all(format!("hull: {msg}\n").as_bytes());
    }
}

/// Format one record (without writing it).
pub fn format_record(format: Format, level: &str, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let obj = serde_json::json!({ "level": level, "msg": msg, "time": time });
            format!("{obj}\n")
        }
        Format::Text => {
            let quoted = serde_json::to_string(msg).unwrap_or_default();
            format!("time=\"{time}\" level={level} msg={quoted}\n")
        }
    }
}

fn record(level: &str, msg: &str) {
    let (format, file) = match LOGGER.get() {
        Some(l) => (l.format, l.file.as_ref()),
        None => (Format::Text, None),
    };
    match file {
        Some(mut f) => {
            let line = format_record(format, level, msg, &crate::timefmt::now_rfc3339(true));
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            // A person reads stderr: keep text records short; JSON stays machine-readable.
            let line = match format {
                Format::Json => {
                    format_record(format, level, msg, &crate::timefmt::now_rfc3339(true))
                }
                Format::Text if level == "error" => format!("hull: {msg}\n"),
                Format::Text => format!("hull: {level}: {msg}\n"),
            };
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_record_is_what_containerd_parses() {
        let line = format_record(Format::Json, "error", "a \"b\"", "2026-01-01T00:00:00Z");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "a \"b\"");
        assert_eq!(v["time"], "2026-01-01T00:00:00Z");
        assert!(line.ends_with("}\n"));
    }

    #[test]
    fn text_record_is_logrus_like() {
        let line = format_record(Format::Text, "warning", "x y", "T");
        assert_eq!(line, "time=\"T\" level=warning msg=\"x y\"\n");
    }
}
