//! Fuzz target `state`: arbitrary bytes as a container's `state.json`, read as `hull state` and
//! `hull list` read it (`container::read_state`), then the status derived from its facts (pid 0,
//! negative pids, huge start times: `/proc` is only read, nothing is signalled), the OCI state
//! printed and the list table built. Errors are expected; a panic is a bug.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use hull::container::{self, status};
use libfuzzer_sys::fuzz_target;

/// A state root for this process with two containers: `c` (no exec fifo) and `f` (one).
fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("hull-fuzz-state-{}", std::process::id()));
        for id in ["c", "f"] {
            std::fs::create_dir_all(root.join(id)).expect("state dir");
        }
        std::fs::write(root.join("f").join(container::EXEC_FIFO), b"").expect("exec fifo");
        root
    })
}

fuzz_target!(|data: &[u8]| {
    hull_fuzz::quiet_logs();
    let root = root();
    for id in ["c", "f"] {
        std::fs::write(root.join(id).join("state.json"), data).expect("write state.json");
        let Ok(st) = container::read_state(root, id) else {
            return;
        };
        let s = status::derive(&st, &root.join(id));
        let oci = st.oci(s);
        // `hull state` prints it with an expect: serializing must not fail either.
        let json = serde_json::to_string_pretty(&oci).expect("state serializes");
        assert!(json.contains("\"status\""));
        let _ = hull::commands::list::table(&[oci]);
        let _ = serde_json::to_vec(&st).expect("State serializes back");
    }
});
