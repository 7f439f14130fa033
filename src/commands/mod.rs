//! One file per subcommand, each the same three steps: its parsed flags → one verb of
//! `container/` (or, for `spec` and `features`, the tables they print) → what runc prints, and
//! the exit code. Nothing here starts, signals or cleans up a container itself.

pub mod check;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod features;
pub mod kill;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;

use std::path::PathBuf;

/// The global flags every subcommand may need.
pub struct Global {
    /// `--root`.
    pub root: PathBuf,
    /// `--systemd-cgroup`.
    pub systemd_cgroup: bool,
    /// Rootless mode (`--rootless`, decided by `rootless::enabled`).
    pub rootless: bool,
}
