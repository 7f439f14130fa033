//! `hull state ID`: the OCI state as indented JSON, as runc prints it.

use super::Global;
use crate::container::{self, status};
use crate::error::Result;

/// Print the state of one container.
pub fn run(g: &Global, id: &str) -> Result<i32> {
    let st = container::read_state(&g.root, id)?;
    let status = status::derive(&st, &g.root.join(id));
    let json = serde_json::to_string_pretty(&st.oci(status)).expect("state serializes");
    println!("{json}");
    Ok(0)
}
