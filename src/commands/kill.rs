//! `hull kill [--all] ID [SIGNAL]`: signal init through a pidfd opened after checking the pid
//! is still the container's (a reused pid is never signalled); `--all` signals every process
//! in the container's cgroup.

use super::Global;
use crate::cgroups;
use crate::cli::KillArgs;
use crate::container::{status, Container, Status};
use crate::error::{Context, Error, Result};
use crate::process::{pidfd_open, pidfd_send_signal};
use crate::signals;

/// Send a signal.
pub fn run(g: &Global, a: &KillArgs) -> Result<i32> {
    let sig = signals::parse(&a.signal)?;
    let c = Container::open(&g.root, &a.id)?;
    let st = c.state()?;
    let s = status::derive(&st, &c.dir);
    if s == Status::Stopped {
        return Err(Error::NotRunning).with_context(|| a.id.clone());
    }
    // A task frozen by the v1 freezer does not die of SIGKILL (not even through the unified
    // cgroup.kill of a hybrid host) until thawed: thaw a paused container after killing it, as
    // runc does.
    let thaw_if_killed = || {
        if sig == libc::SIGKILL && s == Status::Paused {
            cgroups::thaw(&st.cgroup);
        }
    };
    if a.all {
        cgroups::signal_all(&st.cgroup, sig).with_context(|| format!("kill --all {}", a.id))?;
        thaw_if_killed();
        return Ok(0);
    }
    let pidfd = pidfd_open(st.pid)
        .map_err(|_| Error::NotRunning)
        .with_context(|| a.id.clone())?;
    if !status::is_alive(st.pid, st.start_time) {
        return Err(Error::NotRunning).with_context(|| a.id.clone());
    }
    pidfd_send_signal(&pidfd, sig).with_context(|| format!("kill {}", a.id))?;
    thaw_if_killed();
    Ok(0)
}
