//! The cgroupfs readers and number parsers `v1.rs` and `v2.rs` share, with runc's rules: a
//! missing file is told apart (`is_missing`, the `_opt` readers), numbers parse as Go's
//! `fscommon.ParseUint` or plain `strconv.ParseUint` do, and every parse error names the file.
//! It knows no controller and no [`Stats`](super::Stats) field; that is the callers' part.

use std::fs;
use std::path::Path;

use crate::error::{Context, Error, Result};

pub(super) fn parse_error(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Msg(format!("unable to parse {}: {why}", path.display()))
}

pub(super) fn is_missing(e: &Error) -> bool {
    e.errno() == Some(libc::ENOENT)
}

pub(super) fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))
}

/// `read` that maps a missing file to `None`.
pub(super) fn read_opt(dir: &Path, file: &str) -> Result<Option<String>> {
    match read(dir, file) {
        Ok(s) => Ok(Some(s)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Go's `fscommon.ParseUint`: a negative number (kernel accounting bugs) reads as 0.
fn parse_uint(s: &str) -> std::result::Result<u64, String> {
    if let Ok(v) = s.parse::<u64>() {
        if !s.starts_with('+') {
            return Ok(v);
        }
    }
    let neg_digits = s
        .strip_prefix('-')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if neg_digits.is_some() {
        return Ok(0);
    }
    Err(format!("invalid syntax: {s:?}"))
}

/// A file holding one number; `max` reads as `u64::MAX`.
pub(super) fn param_uint(dir: &Path, file: &str) -> Result<u64> {
    let text = read(dir, file)?;
    let t = text.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    parse_uint(t).map_err(|e| parse_error(&dir.join(file), e))
}

/// `param_uint` with a missing file as `None`.
pub(super) fn param_uint_opt(dir: &Path, file: &str) -> Result<Option<u64>> {
    match param_uint(dir, file) {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `key value` lines (memory.stat, cpu.stat).
pub(super) fn key_values(path: &Path, text: &str) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((k, v)) = line
            .split_once(' ')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(parse_error(
                path,
                format!("line {line:?} is not in \"key value\" format"),
            ));
        };
        out.push((
            k.to_string(),
            parse_uint(v).map_err(|e| parse_error(path, e))?,
        ));
    }
    Ok(out)
}

/// The value of `key` in a `key value` file, 0 when the key is absent.
pub(super) fn value_by_key(dir: &Path, file: &str, key: &str) -> Result<u64> {
    let text = read(dir, file)?;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')) {
            return parse_uint(v).map_err(|e| parse_error(&dir.join(file), e));
        }
    }
    Ok(0)
}

/// Go's plain `strconv.ParseUint` (no negative-as-zero).
pub(super) fn parse_uint_strict(s: &str) -> std::result::Result<u64, String> {
    if s.starts_with('+') {
        return Err(format!("invalid syntax: {s:?}"));
    }
    s.parse::<u64>().map_err(|e| format!("{e}: {s:?}"))
}

pub(super) fn unlimited_as_zero(v: u64) -> u64 {
    if v == u64::MAX {
        0
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_uint_parsing() {
        assert_eq!(parse_uint("42"), Ok(42));
        assert_eq!(parse_uint("-3"), Ok(0));
        assert_eq!(parse_uint("-99999999999999999999999"), Ok(0));
        assert!(parse_uint("+3").is_err());
        assert!(parse_uint("x").is_err());
    }
}
