//! The Debian package (`make deb`, with the binaries cargo built for this run): installed with
//! dpkg, so hull runs from /usr/bin/hull; purged by a guard even when the test fails, and then
//! nothing of it may be left on the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{repo, text};

/// `make deb` into `dir` (its package tree and the .deb there); the .deb's path.
pub fn build(dir: &Path) -> PathBuf {
    let deb = dir.join("hull.deb");
    let o = Command::new("make")
        .arg("--no-print-directory")
        .arg("-C")
        .arg(repo())
        // The debug binary is large: no compression.
        .args(["deb", "NO_BUILD=1", "DEB_COMPRESS=none"])
        .arg(format!("HULL_BIN={}", env!("CARGO_BIN_EXE_hull")))
        .arg(format!("DOCS_BIN={}", env!("CARGO_BIN_EXE_hull-docs")))
        .arg(format!("DOCS_DIR={}", dir.join("docs").display()))
        .arg(format!("DEB_ROOT={}", dir.join("root").display()))
        .arg(format!("DEB={}", deb.display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "make deb: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    deb
}

/// Whether dpkg has package `name` installed (or half-installed).
pub fn installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", name])
        .output()
        .is_ok_and(|o| o.status.success() && !text(&o.stdout).contains("not-installed"))
}

/// The package installed from a .deb; purged when dropped.
pub struct Installed {
    /// The files (not directories) the package holds.
    pub files: Vec<PathBuf>,
}

impl Installed {
    pub fn install(deb: &Path) -> Installed {
        let list = Command::new("dpkg-deb")
            .arg("-c")
            .arg(deb)
            .output()
            .unwrap();
        let files = text(&list.stdout)
            .lines()
            .filter(|l| !l.starts_with('d'))
            .filter_map(|l| l.split_whitespace().last())
            .map(|p| PathBuf::from(p.trim_start_matches('.')))
            .collect();
        let pkg = Installed { files };
        let o = Command::new("dpkg").arg("-i").arg(deb).output().unwrap();
        assert!(
            o.status.success(),
            "dpkg -i: {}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        pkg
    }

    /// `dpkg -P hull`: Ok, or what dpkg said.
    pub fn purge() -> Result<(), String> {
        let o = Command::new("dpkg").args(["-P", "hull"]).output().unwrap();
        if o.status.success() {
            Ok(())
        } else {
            Err(format!(
                "dpkg -P hull: {}{}",
                text(&o.stdout),
                text(&o.stderr)
            ))
        }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if installed("hull") {
            let _ = Installed::purge();
        }
    }
}
