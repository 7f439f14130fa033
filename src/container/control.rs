//! The verbs that act on a live container without changing its shape: `kill` (init through a
//! pidfd opened after checking the pid is still the container's, or every process of the
//! cgroup), `pause` and `resume` (the cgroup freezer).

use super::{status, Container, Status};
use crate::cgroups;
use crate::error::{Context, Error, Result};
use crate::sys;

impl Container {
    /// Send `sig` to init, or with `all` to every process in the container's cgroup.
    pub fn kill(&self, sig: i32, all: bool) -> Result<()> {
        let st = self.state()?;
        let s = status::derive(&st, &self.dir);
        if !s.is_live() {
            return Err(Error::NotRunning).with_context(|| self.id.clone());
        }
        // A task frozen by the v1 freezer does not die of SIGKILL (not even through the unified
        // cgroup.kill of a hybrid host) until thawed: thaw a paused container after killing
        // it, as runc does.
        let thaw_if_killed = || {
            if sig == libc::SIGKILL && s == Status::Paused {
                cgroups::thaw(&st.cgroup);
            }
        };
        if all && !st.cgroup.is_none() {
            cgroups::signal_all(&st.cgroup, sig)
                .with_context(|| format!("kill --all {}", self.id))?;
            thaw_if_killed();
            return Ok(());
        }
        // Without a cgroup (rootless) the container's processes are those of its pid
        // namespace; sharing the host's, only init can be told apart.
        if let Some(pids) = all.then(|| status::pid_namespace_members(st.pid)).flatten() {
            for pid in pids {
                // SAFETY: kill(2) of a process in the container's own pid namespace.
                unsafe { libc::kill(pid, sig) };
            }
            return Ok(());
        }
        let pidfd = sys::pidfd::open(st.pid)
            .map_err(|_| Error::NotRunning)
            .with_context(|| self.id.clone())?;
        if !status::is_alive(st.pid, st.start_time) {
            return Err(Error::NotRunning).with_context(|| self.id.clone());
        }
        sys::pidfd::signal(&pidfd, sig).with_context(|| format!("kill {}", self.id))?;
        thaw_if_killed();
        Ok(())
    }

    /// Freeze a running container.
    pub fn pause(&self) -> Result<()> {
        let st = self.state()?;
        let s = status::derive(&st, &self.dir);
        if s != Status::Running {
            return Err(Error::NotRunning)
                .with_context(|| format!("pause {}: it is {}", self.id, s.as_str()));
        }
        st.cgroup.require(&self.id, "pause")?;
        cgroups::freeze(&st.cgroup, true).with_context(|| format!("pause {}", self.id))
    }

    /// Thaw a paused container.
    pub fn resume(&self) -> Result<()> {
        let st = self.state()?;
        let s = status::derive(&st, &self.dir);
        if s != Status::Paused {
            return Err(Error::invalid(format!(
                "resume {}: container not paused (it is {})",
                self.id,
                s.as_str()
            )));
        }
        cgroups::freeze(&st.cgroup, false).with_context(|| format!("resume {}", self.id))
    }
}
