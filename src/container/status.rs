//! Status derived from facts, never stored (runc's `refreshState`): the freezer says paused; a
//! missing, zombie or restarted pid says stopped; the exec fifo says created; else running.

use std::path::Path;

use super::{State, EXEC_FIFO};

/// The four OCI statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Init waits on the exec fifo.
    Created,
    /// The user process runs.
    Running,
    /// The cgroup is frozen.
    Paused,
    /// Init is gone.
    Stopped,
}

impl Status {
    /// The spec's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Process state letter and start time from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parse the state (field 3) and start time (field 22) of a stat line.
pub fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Whether the pid is the same live (non-zombie) process that was recorded.
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    match proc_stat(pid) {
        Some((state, start)) => start == start_time && state != 'Z' && state != 'X',
        None => false,
    }
}

/// Derive the status of a container from live facts.
pub fn derive(state: &State, dir: &Path) -> Status {
    if !is_alive(state.pid, state.start_time) {
        return Status::Stopped;
    }
    if crate::cgroups::is_frozen(&state.cgroup) {
        return Status::Paused;
    }
    if dir.join(EXEC_FIFO).exists() {
        return Status::Created;
    }
    Status::Running
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let line = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(line), Some(('S', 987654)));
    }

    #[test]
    fn own_process_is_alive_and_other_start_time_is_not() {
        let me = std::process::id() as i32;
        let (_, start) = proc_stat(me).unwrap();
        assert!(is_alive(me, start));
        assert!(!is_alive(me, start + 1));
    }
}
