//! `hull list`: the containers under --root, as runc's tab-aligned table, JSON, or ids (-q).

use super::Global;
use crate::cli::ListArgs;
use crate::container::{self, state::OciState, status};
use crate::error::{Error, Result};

/// List containers.
pub fn run(g: &Global, a: &ListArgs) -> Result<i32> {
    let mut rows: Vec<OciState> = Vec::new();
    for id in container::list_ids(&g.root)? {
        // A container being created or deleted right now has no readable state: skip it.
        if let Ok(st) = container::read_state(&g.root, &id) {
            let s = status::derive(&st, &g.root.join(&id));
            rows.push(st.oci(s));
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
        "json" => println!("{}", serde_json::to_string(&rows).expect("serializes")),
        f => return Err(Error::invalid(format!("--format: invalid format {f:?} (table or json)"))),
    }
    Ok(0)
}

/// runc's table (Go tabwriter: min width 12, padding 3).
pub fn table(rows: &[OciState]) -> String {
    let mut cells = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from).to_vec()];
    for r in rows {
        cells.push(vec![
            r.id.clone(),
            r.pid.to_string(),
            r.status.clone(),
            r.bundle.display().to_string(),
            r.created.clone(),
            if r.owner.is_empty() { "root".into() } else { r.owner.clone() },
        ]);
    }
    let widths: Vec<usize> =
        (0..6).map(|c| cells.iter().map(|row| row[c].len() + 3).max().unwrap_or(0).max(12)).collect();
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
