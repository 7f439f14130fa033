//! Status derived from facts, never stored (runc's `refreshState`): the freezer says paused; a
//! missing, zombie or restarted pid says stopped; the exec fifo says created; else running. A
//! provisional state (a `create` that has not finished) is `creating` while the hull making it
//! lives, and `stopped` once it is gone: that create failed, nothing of it will ever run, and
//! `delete` removes whatever it had made.

use std::path::Path;

use super::{State, EXEC_FIFO};

/// The five OCI statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `create` is still making it.
    Creating,
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
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }

    /// Whether the container has a process that verbs may act on: created, running or paused
    /// (not one still being created, nor a stopped one).
    pub fn is_live(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
}

/// Process state letter and start time from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    use std::io::Read;
    // One read into a buffer the line fits in (52 numbers and a 16-byte name), not
    // read_to_string's statx and five reads of growing size (issue #16: every verb asks).
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() {
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    parse_stat(std::str::from_utf8(&buf[..len]).ok()?)
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
    if pid <= 0 {
        return false;
    }
    match proc_stat(pid) {
        Some((state, start)) => start == start_time && state != 'Z' && state != 'X',
        None => false,
    }
}

/// Derive the status of a container from live facts.
pub fn derive(state: &State, dir: &Path) -> Status {
    if let Some(c) = &state.creating {
        return if is_alive(c.pid, c.start_time) {
            Status::Creating
        } else {
            Status::Stopped
        };
    }
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

/// The processes of a container without a cgroup (rootless): those in init's pid namespace,
/// found by their `/proc/N/ns/pid` link; `None` when init shares hull's pid namespace (there
/// is then no telling the container's processes from the host's).
pub fn pid_namespace_members(init: i32) -> Option<Vec<i32>> {
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let theirs = ns(&init.to_string())?;
    if ns("self").as_ref() == Some(&theirs) {
        return None;
    }
    let mut out: Vec<i32> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| ns(&pid.to_string()).as_ref() == Some(&theirs))
        .collect();
    out.sort_unstable();
    Some(out)
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
    fn a_provisional_state_is_creating_while_its_creator_lives_then_stopped() {
        let me = super::super::state::Creator::me();
        let mut st = State {
            id: "c".into(),
            pid: 0,
            start_time: 0,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: String::new(),
            owner: String::new(),
            annotations: Default::default(),
            cgroup: crate::cgroups::CgroupState {
                mode: crate::cgroups::Mode::Unified,
                unified_root: None,
                hierarchies: Vec::new(),
                created: Vec::new(),
                shared_parents: Vec::new(),
                systemd: None,
            },
            hooks: None,
            no_new_keyring: false,
            creating: Some(me),
        };
        let dir = Path::new("/nonexistent");
        assert_eq!(derive(&st, dir), Status::Creating);
        st.creating = Some(super::super::state::Creator {
            start_time: me.start_time + 1,
            ..me
        });
        assert_eq!(derive(&st, dir), Status::Stopped);
        assert!(!is_alive(0, 0));
    }

    #[test]
    fn own_process_is_alive_and_other_start_time_is_not() {
        let me = std::process::id() as i32;
        let (_, start) = proc_stat(me).unwrap();
        assert!(is_alive(me, start));
        assert!(!is_alive(me, start + 1));
    }
}
