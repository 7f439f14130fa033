//! `hull list`: the containers under --root, as runc's tab-aligned table, JSON, or ids (-q).

use super::Global;
use crate::cli::ListArgs;
use crate::container::{self, state::OciState, status};
use crate::error::{quote, Error, Result};

/// List containers.
pub fn run(g: &Global, a: &ListArgs) -> Result<i32> {
    let mut rows: Vec<OciState> = Vec::new();
    for id in container::list_ids(&g.root)? {
        // A create that has not recorded anything yet, or a delete removing the dir right now,
        // leaves no readable state: skip it. A provisional state reads as creating (its hull
        // still works on it) or stopped (that hull was killed: `delete` it).
        if let Ok(st) = container::read_state(&g.root, &id) {
            let dir = g.root.join(&id);
            let s = status::derive(&st, &dir);
            let mut row = st.oci(s);
            // runc's list names the owner of the state dir (its `state` leaves it empty).
            row.owner = owner_of(&dir);
            rows.push(row);
        }
    }
    if a.quiet {
        for r in &rows {
            println!("{}", r.id);
        }
        return Ok(0);
    }
    match a.format.as_str() {
        "table" => print!("{}", table(&rows)),
        // Go encodes an empty slice as null, and runc prints exactly that.
        "json" if rows.is_empty() => println!("null"),
        "json" => println!("{}", serde_json::to_string(&rows).expect("serializes")),
        f => {
            return Err(Error::invalid(format!(
                "--format: invalid format {} (table or json)",
                quote(f)
            )))
        }
    }
    Ok(0)
}

/// The user name owning `dir` (from /etc/passwd), or `#uid`.
fn owner_of(dir: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else {
        return String::new();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// runc's table (Go tabwriter: min width 12, padding 3).
pub fn table(rows: &[OciState]) -> String {
    let mut cells = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        .map(String::from)
        .to_vec()];
    for r in rows {
        cells.push(vec![
            r.id.clone(),
            r.pid.to_string(),
            r.status.clone(),
            r.bundle.display().to_string(),
            r.created.clone(),
            r.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            cells
                .iter()
                .map(|row| row[c].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for row in cells {
        for (c, cell) in row.iter().enumerate() {
            if c == 5 {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}
