//! The `start` verb: release a created container's init by reading its exec fifo, then run the
//! `poststart` hooks. The read is polled together with a pidfd of init, so a dead init cannot
//! hang `start`. Init answers "0", or '1' + the error of a failing `startContainer` hook.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use super::{status, Container, State, Status};
use crate::error::{short, Context, Error, Result};
use crate::hooks::{self, HookState, Kind as Hook};
use crate::sys;

impl Container {
    /// Start this container, whose saved state is `st`: it must be created.
    pub fn start(&self, st: &State) -> Result<()> {
        match status::derive(st, &self.dir) {
            Status::Created => {}
            Status::Stopped => {
                return Err(Error::invalid(format!(
                    "cannot start container {}: it has stopped",
                    self.id
                )))
            }
            s => {
                return Err(Error::invalid(format!(
                    "cannot start container {}: it is already {}",
                    self.id,
                    s.as_str()
                )))
            }
        }
        self.release(st)?;
        poststart(st)
    }

    /// Open the fifo's read side, wait for init's byte (or its death), then for its end of the
    /// fifo to close — its execve closes it — so that poststart hooks run once the process runs
    /// its own program (runtime.md: "after the user-specified process is executed"); unlink the
    /// fifo.
    fn release(&self, st: &State) -> Result<()> {
        let pidfd = sys::pidfd::open(st.pid).map_err(|_| Error::NotRunning)?;
        if !status::is_alive(st.pid, st.start_time) {
            return Err(Error::NotRunning);
        }
        let path = self.fifo_path();
        let mut fifo = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&path)
            .with_context(|| format!("open exec fifo {}", short(&path)))?;
        let mut fds = [
            sys::wait::pollin(fifo.as_raw_fd()),
            sys::wait::pollin(pidfd.as_raw_fd()),
        ];
        loop {
            sys::wait::poll(&mut fds, -1).context("exec fifo")?;
            if fds[0].revents & libc::POLLIN != 0 {
                // "0", or '1' + why a startContainer hook failed (one write, under PIPE_BUF).
                let mut b = [0u8; 4096];
                let n = fifo.read(&mut b).context("read exec fifo")?;
                if n >= 1 && b[0] == b'1' {
                    return Err(Error::Child {
                        errno: 0,
                        msg: String::from_utf8_lossy(&b[1..n]).into_owned(),
                    });
                }
                if n >= 1 {
                    return self.wait_exec(&mut fifo, &pidfd);
                }
            }
            if fds[1].revents != 0 {
                return Err(Error::Msg(format!(
                    "container {}: init exited before it could start",
                    self.id
                )));
            }
            if fds[0].revents & libc::POLLHUP != 0 {
                return Err(Error::Msg(format!(
                    "container {}: init closed the exec fifo without starting",
                    self.id
                )));
            }
        }
    }

    /// After init's "0": wait until init's end of the fifo closes (its execve, or its death),
    /// then unlink the fifo.
    fn wait_exec(&self, fifo: &mut std::fs::File, pidfd: &impl AsRawFd) -> Result<()> {
        let mut fds = [
            sys::wait::pollin(fifo.as_raw_fd()),
            sys::wait::pollin(pidfd.as_raw_fd()),
        ];
        loop {
            sys::wait::poll(&mut fds, -1).context("exec fifo")?;
            if fds[0].revents & libc::POLLHUP != 0 || fds[1].revents != 0 {
                break;
            }
            if fds[0].revents & libc::POLLIN != 0 {
                let mut b = [0u8; 64];
                if fifo.read(&mut b).context("read exec fifo")? == 0 {
                    break;
                }
            }
        }
        let path = self.fifo_path();
        std::fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
        Ok(())
    }
}

/// `poststart` once init has exec'd the process (start, run). runc's behaviour, and runtime-spec's
/// since v1.3.0 (runtime.md step 9: "generate an error, stop the container"): on failure init
/// is SIGKILLed and waited for, and the error is returned.
fn poststart(st: &State) -> Result<()> {
    let configured = st.hooks.as_ref();
    if !hooks::any(configured, &[Hook::Poststart]) {
        return Ok(());
    }
    let state = HookState::new(&st.id, "running", st.pid, &st.bundle, &st.annotations);
    let res = hooks::run(configured, Hook::Poststart, &state.to_json(), None);
    if res.is_err() {
        super::kill_init(st);
    }
    res
}
