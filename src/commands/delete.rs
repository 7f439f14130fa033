//! `hull delete [--force] ID`: a stopped container is removed; a created one is killed first
//! (runc's behaviour, which engines rely on); a running or paused one only with --force.
//! Removing means: every process left in the cgroup killed, the cgroups hull created removed,
//! the state dir removed, then the `poststop` hooks run (a failing one is a warning).
//! `delete --force` of an unknown id succeeds, and of one whose state.json cannot be read
//! removes its state dir with a warning.

use super::Global;
use crate::cgroups;
use crate::cli::DeleteArgs;
use crate::container::{status, Container, State, Status};
use crate::error::{Context, Error, Result};
use crate::process::{pidfd_open, pidfd_send_signal, pidfd_wait_exit};

/// Delete a container.
pub fn run(g: &Global, a: &DeleteArgs) -> Result<i32> {
    let c = match Container::open(&g.root, &a.id) {
        Err(e) if a.force && matches!(e.root_cause(), Error::NotFound) => return Ok(0),
        r => r?,
    };
    let loaded = match c.load() {
        // An unreadable state.json (a crash mid-write on a disk-backed --root): nothing can be
        // known about the processes or cgroups; --force still lets the id go.
        Err(e) if a.force => {
            crate::logging::warn(&format!(
                "container {}: {}; removing its state dir {} only",
                a.id,
                e.render(),
                c.dir.display()
            ));
            c.remove()?;
            return Ok(0);
        }
        r => r?,
    };
    let Some(st) = loaded else {
        // A create that died before writing its state: nothing runs, remove the leftovers.
        c.remove()?;
        return Ok(0);
    };
    match status::derive(&st, &c.dir) {
        Status::Stopped | Status::Created => {}
        s if a.force => {
            if s == Status::Paused {
                cgroups::thaw(&st.cgroup);
            }
        }
        s => {
            return Err(Error::invalid(format!(
                "cannot delete container {} that is {}: stop it first or use --force",
                a.id,
                s.as_str()
            )))
        }
    }
    destroy(c, &st)
}

/// Kill init (if alive) and everything in the cgroup, then remove cgroups and state.
pub fn destroy(c: Container, st: &State) -> Result<i32> {
    if status::is_alive(st.pid, st.start_time) {
        if let Ok(pidfd) = pidfd_open(st.pid) {
            if status::is_alive(st.pid, st.start_time) {
                let _ = pidfd_send_signal(&pidfd, libc::SIGKILL);
                pidfd_wait_exit(&pidfd, 10_000);
            }
        }
    }
    cgroups::kill_all(&st.cgroup);
    cgroups::destroy(&st.cgroup).with_context(|| format!("container {}", c.id))?;
    c.remove()?;
    // runtime.md step 13: after the container is deleted, before delete returns; warnings only.
    crate::hooks::poststop(st);
    Ok(0)
}
