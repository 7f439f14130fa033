//! The `delete` verb: a stopped container is removed; a created one is killed first (runc's
//! behaviour, which engines rely on); a running or paused one only with `force`. Removing
//! means: every process left in the cgroup killed, the cgroups hull created removed, the state
//! dir removed, then the `poststop` hooks run (a failing one is a warning). `delete --force`
//! of an unknown id succeeds, and of one whose state.json cannot be read removes its state dir
//! with a warning.

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
        // A create that died before writing its state: nothing runs, remove the leftovers.
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
