//! The `delete` verb: a stopped container is removed; a created one is killed first (runc's
//! behaviour, which engines rely on); a running or paused one only with `force`. Removing
//! means: every process left in the cgroup killed, the cgroups hull created removed, the state
//! dir removed, then the `poststop` hooks run (a failing one is a warning). `delete --force`
//! of an unknown id succeeds, and of one whose state.json cannot be read removes its state dir
//! with a warning.
//!
//! Every step tolerates what an earlier, killed hull left: a provisional state (a create that
//! died: stopped, no pid, cgroup directories that may or may not exist yet), a missing fifo,
//! missing cgroup directories, a recorded pid that is gone or reused (pid + start time: a reused
//! pid is never signalled), a cgroup left frozen (init is then alive: a v1-frozen task does not
//! die, so the container reads as paused and is thawed first). Each step runs before the record
//! of it goes (the state dir last), so a `delete` killed midway is finished by the next
//! `delete --force`.

use std::path::Path;

use super::{status, Container, State, Status};
use crate::cgroups;
use crate::error::{Context, Error, Result};
use crate::hooks::{self, HookState, Kind as Hook};

/// Delete container `id` under `root`.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let c = match Container::open(root, id) {
        Err(e) if force && matches!(e.root_cause(), Error::NotFound) => return Ok(()),
        r => r?,
    };
    let loaded = match c.load() {
        // An unreadable state.json (a crash mid-write on a disk-backed --root): nothing can be
        // known about the processes or cgroups; --force still lets the id go.
        Err(e) if force => {
            crate::logging::warn(&format!(
                "container {id}: {}; removing its state dir {} only",
                e.render(),
                c.dir.display()
            ));
            return c.remove();
        }
        r => r?,
    };
    let Some(st) = loaded else {
        // A create killed before it recorded anything (it records before making anything but
        // the dir), or a delete killed while removing the dir: only the dir is left.
        return c.remove();
    };
    match status::derive(&st, &c.dir) {
        Status::Stopped | Status::Created => {}
        s if force => {
            if s == Status::Paused {
                cgroups::thaw(&st.cgroup);
            }
        }
        s => {
            return Err(Error::invalid(format!(
                "cannot delete container {id} that is {}: stop it first or use --force",
                s.as_str()
            )))
        }
    }
    c.destroy(&st)
}

impl Container {
    /// Kill init (if alive) and everything in the cgroup, remove the cgroups and the state dir,
    /// then run the `poststop` hooks (runtime.md step 13: after the container is deleted,
    /// before delete returns; failures are warnings).
    pub fn destroy(self, st: &State) -> Result<()> {
        super::kill_init(st);
        cgroups::kill_all(&st.cgroup);
        cgroups::destroy(&st.cgroup).with_context(|| format!("container {}", self.id))?;
        self.remove()?;
        let state = HookState::new(&st.id, "stopped", 0, &st.bundle, &st.annotations);
        hooks::run_warn(st.hooks.as_ref(), Hook::Poststop, &state.to_json());
        Ok(())
    }
}
