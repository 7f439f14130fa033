//! `hull check [--bundle DIR] [--format text|json]`: every problem `create` would meet with
//! this bundle on this host (`check.rs`), printed one per line (`error: …`, `warning: …`, then
//! a summary) or as one JSON document, stable for tools:
//!
//! ```json
//! {"bundle": "/abs/dir", "ok": false, "errors": 1, "warnings": 0,
//!  "problems": [{"severity": "error", "field": "linux.namespaces[1].type",
//!                "message": "linux.namespaces[1].type: …"}]}
//! ```
//!
//! `message` is what `create` would print after `hull: `; `field` is the config path it names
//! ("" when none). Exit 0 when `create` would go ahead (warnings allowed), 1 otherwise.

use serde_json::json;

use super::Global;
use crate::check::{check, Options, Problem, Severity};
use crate::cli::CheckArgs;
use crate::error::Result;

pub fn run(g: &Global, a: &CheckArgs) -> Result<i32> {
    let problems = check(
        &a.bundle,
        &Options {
            rootless: g.rootless,
            systemd_cgroup: g.systemd_cgroup,
        },
    );
    let count = |s: Severity| problems.iter().filter(|p| p.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    if a.format == "json" {
        let bundle = std::fs::canonicalize(&a.bundle).unwrap_or_else(|_| a.bundle.clone());
        let doc = json!({
            "bundle": bundle,
            "ok": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "problems": problems,
        });
        let mut text = serde_json::to_string_pretty(&doc).expect("serializes");
        text.push('\n');
        print(&text);
    } else {
        let mut text: String = problems.iter().map(|p| line(p) + "\n").collect();
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        text.push_str(&format!(
            "{}, {}: create would {}\n",
            plural(errors, "error"),
            plural(warnings, "warning"),
            if errors == 0 { "go ahead" } else { "fail" }
        ));
        print(&text);
    }
    Ok(if errors == 0 { 0 } else { 1 })
}

/// All of `text` to stdout; a reader that went away (`| head`) is no failure of the check.
fn print(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn line(p: &Problem) -> String {
    let s = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!("{s}: {}", p.message)
}
