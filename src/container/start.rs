//! The `start` verb: release a created container's init by reading its exec fifo, then run the
//! `poststart` hooks. The read is polled together with a pidfd of init, so a dead init cannot
//! hang `start`. Init answers "0", or '1' + the error of a failing `startContainer` hook, and
//! after the "0" '1' + the error of a failure before or at its execve.

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

    /// Open the fifo's read side and read what init writes until its end closes — its execve
    /// closes it (close-on-exec), or its death — so that poststart hooks run once the process
    /// runs its own program (runtime.md: "after the user-specified process is executed").
    /// Init writes "0" when it passes the gate, '1' + the error of a failing `startContainer`
    /// hook instead, and '1' + the error after the "0" when a step between the gate and its
    /// execve fails (the execve itself included): then `start` fails with it and no poststart
    /// hook runs for a program that never ran. The fifo is unlinked once init went through.
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
        // Init is blocked opening the write side until this open, so it counts as a writer
        // already: a read returns 0 only once init's end is closed.
        let mut got = Vec::new();
        loop {
            sys::wait::poll(&mut fds, -1).context("exec fifo")?;
            if drain(&mut fifo, &mut got)? {
                break;
            }
        }
        let failure = |m: &[u8]| Error::Child {
            errno: 0,
            msg: String::from_utf8_lossy(m).into_owned(),
        };
        match got.split_first() {
            Some((b'0', rest)) => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("remove {}", path.display()))?;
                match rest.split_first() {
                    Some((b'1', msg)) => Err(failure(msg)),
                    _ => Ok(()),
                }
            }
            Some((b'1', msg)) => Err(failure(msg)),
            _ if fds[1].revents != 0 => Err(Error::Msg(format!(
                "container {}: init exited before it could start",
                self.id
            ))),
            _ => Err(Error::Msg(format!(
                "container {}: init closed the exec fifo without starting",
                self.id
            ))),
        }
    }
}

/// Read what the non-blocking fifo holds into `got`; true once every writer has closed it.
fn drain(fifo: &mut std::fs::File, got: &mut Vec<u8>) -> Result<bool> {
    let mut b = [0u8; 4096];
    loop {
        match fifo.read(&mut b) {
            Ok(0) => return Ok(true),
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("read exec fifo"),
        }
        if got.len() > 64 * 1024 {
            return Err(Error::Msg("exec fifo: init wrote more than 64 KiB".into()));
        }
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
