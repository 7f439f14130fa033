//! `org.systemd.property.NAME=VALUE` annotations as unit properties (runc's feature): NAME is
//! letters only, VALUE is in GVariant text format (`uint64 123`, `'text'`, `true`, `['a', 'b']`,
//! `@as []`), and a NAME ending in a lowercase letter + `Sec` takes seconds and becomes
//! `…USec` in microseconds (`TimeoutStopSec=20` → `TimeoutStopUSec` 20000000), as runc does.
//! A malformed annotation is an error naming it.

use std::collections::HashMap;

use super::props::{Property, Value};
use crate::error::{quote, Error, Result};

const PREFIX: &str = "org.systemd.property.";

/// The unit properties the annotations ask for, in key order.
pub fn properties(annotations: &HashMap<String, String>) -> Result<Vec<Property>> {
    let mut keys: Vec<&String> = annotations
        .keys()
        .filter(|k| k.starts_with(PREFIX))
        .collect();
    keys.sort();
    keys.into_iter()
        .map(|k| property(k, &annotations[k]))
        .collect()
}

fn property(key: &str, text: &str) -> Result<Property> {
    let field = || format!("annotations[{}]", quote(key));
    let name = &key[PREFIX.len()..];
    if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Error::invalid(format!(
            "{}: a systemd property name is letters only",
            field()
        )));
    }
    let value = parse(text).map_err(|why| {
        Error::invalid(format!(
            "{}: {} is not a GVariant value: {why}",
            field(),
            quote(text)
        ))
    })?;
    if let Some(stem) = name.strip_suffix("Sec") {
        if stem.ends_with(|c: char| c.is_ascii_lowercase()) {
            let usec = seconds_to_usec(&value).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: {} is not a number of seconds",
                    field(),
                    quote(text)
                ))
            })?;
            return Ok((format!("{stem}USec"), Value::U64(usec)));
        }
    }
    Ok((name.to_string(), value))
}

fn seconds_to_usec(v: &Value) -> Option<u64> {
    let whole = |n: i128| u64::try_from(n.checked_mul(1_000_000)?).ok();
    match *v {
        Value::Byte(n) => whole(n.into()),
        Value::I16(n) => whole(n.into()),
        Value::U16(n) => whole(n.into()),
        Value::I32(n) => whole(n.into()),
        Value::U32(n) => whole(n.into()),
        Value::I64(n) => whole(n.into()),
        Value::U64(n) => whole(n.into()),
        Value::Double(d) if d >= 0.0 && d * 1e6 < u64::MAX as f64 => Some((d * 1e6) as u64),
        _ => None,
    }
}

/// Parse one value of GVariant's text format (the subset unit properties use).
pub fn parse(text: &str) -> std::result::Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(None)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text at byte {}", p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"+-._".contains(c))
        {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// A value, of signature `want` when the context fixes it (`@t 1`, `uint64 1`, an array's
    /// later elements).
    fn value(&mut self, want: Option<&str>) -> std::result::Result<Value, String> {
        self.ws();
        match self.s.get(self.i) {
            None => Err("no value".into()),
            Some(b'@') => {
                self.i += 1;
                let sig = self.word().to_string();
                self.value(Some(&sig))
            }
            Some(b'[') => self.array(want),
            Some(b'\'' | b'"') => {
                let s = self.string()?;
                match want {
                    None | Some("s") => Ok(Value::Str(s)),
                    Some(w) => Err(format!("a string where {w} was wanted")),
                }
            }
            Some(_) => {
                let w = self.word().to_string();
                let typed = match w.as_str() {
                    "byte" => Some("y"),
                    "int16" => Some("n"),
                    "uint16" => Some("q"),
                    "int32" => Some("i"),
                    "uint32" => Some("u"),
                    "int64" => Some("x"),
                    "uint64" => Some("t"),
                    "double" => Some("d"),
                    "boolean" => Some("b"),
                    _ => None,
                };
                if let Some(sig) = typed {
                    if want.is_some_and(|w| w != sig) {
                        return Err(format!("{w} where {} was wanted", want.unwrap_or("")));
                    }
                    return self.value(Some(sig));
                }
                scalar(&w, want)
            }
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err("unterminated string".into()),
                Some(&c) if c == quote => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = *self.s.get(self.i + 1).ok_or("unterminated string")?;
                    out.push(match c {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                    self.i += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| "a string that is not UTF-8".into())
    }

    fn array(&mut self, want: Option<&str>) -> std::result::Result<Value, String> {
        let elem = match want {
            Some(w) => Some(
                w.strip_prefix('a')
                    .ok_or_else(|| format!("an array where {w} was wanted"))?
                    .to_string(),
            ),
            None => None,
        };
        self.i += 1;
        let mut items = Vec::new();
        let mut elem_sig = elem;
        loop {
            self.ws();
            if self.s.get(self.i) == Some(&b']') {
                self.i += 1;
                break;
            }
            if !items.is_empty() {
                if self.s.get(self.i) != Some(&b',') {
                    return Err("expected ',' or ']' in an array".into());
                }
                self.i += 1;
            }
            let v = self.value(elem_sig.as_deref())?;
            elem_sig.get_or_insert_with(|| signature(&v));
            items.push(v);
        }
        let sig = elem_sig.ok_or("an empty array needs its type (@as [])")?;
        Ok(match sig.as_str() {
            "s" => Value::Strs(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::Str(s) => s,
                        _ => unreachable!("elements parsed as strings"),
                    })
                    .collect(),
            ),
            "y" => Value::Bytes(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::Byte(b) => b,
                        _ => unreachable!("elements parsed as bytes"),
                    })
                    .collect(),
            ),
            "u" => Value::U32s(
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::U32(n) => n,
                        _ => unreachable!("elements parsed as uint32"),
                    })
                    .collect(),
            ),
            other => return Err(format!("arrays of {other} are not supported")),
        })
    }
}

/// The signature of a scalar value.
fn signature(v: &Value) -> String {
    match v {
        Value::Bool(_) => "b",
        Value::Byte(_) => "y",
        Value::I16(_) => "n",
        Value::U16(_) => "q",
        Value::I32(_) => "i",
        Value::U32(_) => "u",
        Value::I64(_) => "x",
        Value::U64(_) => "t",
        Value::Double(_) => "d",
        Value::Str(_) => "s",
        _ => "?",
    }
    .to_string()
}

/// A bare word: a boolean or a number, of type `want` (GVariant's defaults: int32, double).
fn scalar(w: &str, want: Option<&str>) -> std::result::Result<Value, String> {
    let bad = || format!("{w:?} is not a {}", want.unwrap_or("value"));
    if w == "true" || w == "false" {
        return match want {
            None | Some("b") => Ok(Value::Bool(w == "true")),
            Some(_) => Err(bad()),
        };
    }
    let float = w.contains(['.', 'e', 'E']) && !w.starts_with("0x");
    let want = want.unwrap_or(if float { "d" } else { "i" });
    let int = || -> std::result::Result<i128, String> {
        match w.strip_prefix("0x") {
            Some(hex) => i128::from_str_radix(hex, 16).map_err(|_| bad()),
            None => w.parse::<i128>().map_err(|_| bad()),
        }
    };
    let fit = |n: i128| -> std::result::Result<Value, String> {
        Ok(match want {
            "y" => Value::Byte(u8::try_from(n).map_err(|_| bad())?),
            "n" => Value::I16(i16::try_from(n).map_err(|_| bad())?),
            "q" => Value::U16(u16::try_from(n).map_err(|_| bad())?),
            "i" => Value::I32(i32::try_from(n).map_err(|_| bad())?),
            "u" => Value::U32(u32::try_from(n).map_err(|_| bad())?),
            "x" => Value::I64(i64::try_from(n).map_err(|_| bad())?),
            "t" => Value::U64(u64::try_from(n).map_err(|_| bad())?),
            _ => return Err(bad()),
        })
    };
    if want == "d" {
        return w.parse::<f64>().map(Value::Double).map_err(|_| bad());
    }
    fit(int()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: &str) -> Result<Vec<Property>> {
        properties(&HashMap::from([(k.to_string(), v.to_string())]))
    }

    #[test]
    fn gvariant_text_values() {
        assert_eq!(parse("uint64 123"), Ok(Value::U64(123)));
        assert_eq!(parse("@t 5"), Ok(Value::U64(5)));
        assert_eq!(parse("7"), Ok(Value::I32(7)));
        assert_eq!(parse("-7"), Ok(Value::I32(-7)));
        assert_eq!(parse("1.5"), Ok(Value::Double(1.5)));
        assert_eq!(parse("true"), Ok(Value::Bool(true)));
        assert_eq!(parse(" 'a b' "), Ok(Value::Str("a b".into())));
        assert_eq!(parse(r#""it's""#), Ok(Value::Str("it's".into())));
        assert_eq!(parse(r"'a\'b'"), Ok(Value::Str("a'b".into())));
        assert_eq!(
            parse("['a.service', \"b.service\"]"),
            Ok(Value::Strs(vec!["a.service".into(), "b.service".into()]))
        );
        assert_eq!(parse("@as []"), Ok(Value::Strs(vec![])));
        assert_eq!(parse("[uint32 1, 2]"), Ok(Value::U32s(vec![1, 2])));
        assert_eq!(parse("byte 0x10"), Ok(Value::Byte(16)));
        for bad in [
            "",
            "uint64",
            "uint64 -1",
            "byte 256",
            "'open",
            "[1,",
            "[]",
            "@t 'x'",
            "1 2",
            "nope",
            "[1, 'a']",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn annotations_become_properties_and_sec_becomes_usec() {
        let p = one("org.systemd.property.CollectMode", "'inactive-or-failed'").unwrap();
        assert_eq!(
            p,
            vec![(
                "CollectMode".into(),
                Value::Str("inactive-or-failed".into())
            )]
        );
        let p = one("org.systemd.property.TimeoutStopSec", "20").unwrap();
        assert_eq!(p, vec![("TimeoutStopUSec".into(), Value::U64(20_000_000))]);
        let p = one("org.systemd.property.RuntimeMaxSec", "1.5").unwrap();
        assert_eq!(p, vec![("RuntimeMaxUSec".into(), Value::U64(1_500_000))]);
        // "USec" names are taken as given.
        let p = one("org.systemd.property.TimeoutStopUSec", "uint64 7").unwrap();
        assert_eq!(p, vec![("TimeoutStopUSec".into(), Value::U64(7))]);
        // Other annotations are not properties.
        assert!(one("org.opencontainers.image.title", "x")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn malformed_annotations_name_the_key() {
        for (k, v) in [
            ("org.systemd.property.Bad-Name", "1"),
            ("org.systemd.property.", "1"),
            ("org.systemd.property.CollectMode", "inactive"),
            ("org.systemd.property.TimeoutStopSec", "'soon'"),
            ("org.systemd.property.TimeoutStopSec", "-1"),
        ] {
            let e = one(k, v).unwrap_err().render();
            assert!(e.starts_with(&format!("annotations[\"{k}\"]: ")), "{e}");
        }
    }
}
