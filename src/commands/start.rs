//! `hull start ID`: release a created container's init by reading its exec fifo. The read is
//! polled together with a pidfd of init, so a dead init cannot hang `start`. Init answers "0",
//! or '1' + the error of a failing `startContainer` hook; then the `poststart` hooks run.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use super::Global;
use crate::container::{status, Container, Status};
use crate::error::{Context, Error, Result};
use crate::process::pidfd_open;

/// Start a created container.
pub fn run(g: &Global, id: &str) -> Result<i32> {
    let c = Container::open(&g.root, id)?;
    let st = c.state()?;
    match status::derive(&st, &c.dir) {
        Status::Created => {}
        Status::Stopped => {
            return Err(Error::invalid(format!(
                "cannot start container {id}: it has stopped"
            )))
        }
        s => {
            return Err(Error::invalid(format!(
                "cannot start container {id}: it is already {}",
                s.as_str()
            )))
        }
    }
    release(&c, st.pid, st.start_time)?;
    crate::hooks::poststart(&st)?;
    Ok(0)
}

/// Open the fifo's read side, wait for init's byte (or its death), unlink the fifo.
pub fn release(c: &Container, pid: i32, start_time: u64) -> Result<()> {
    let pidfd = pidfd_open(pid).map_err(|_| Error::NotRunning)?;
    if !status::is_alive(pid, start_time) {
        return Err(Error::NotRunning);
    }
    let path = c.fifo_path();
    let mut fifo = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&path)
        .with_context(|| format!("open exec fifo {}", path.display()))?;
    let mut fds = [
        libc::pollfd {
            fd: fifo.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        crate::fsutil::poll(&mut fds, -1).context("exec fifo")?;
        if fds[0].revents & libc::POLLIN != 0 {
            // "0", or '1' + why a startContainer hook failed (one write, under PIPE_BUF).
            let mut b = [0u8; 4096];
            let n = fifo.read(&mut b).context("read exec fifo")?;
            if n >= 1 && b[0] == b'1' {
                return Err(Error::Msg(String::from_utf8_lossy(&b[1..n]).into_owned()));
            }
            if n >= 1 {
                break;
            }
        }
        if fds[1].revents != 0 {
            return Err(Error::Msg(format!(
                "container {}: init exited before it could start",
                c.id
            )));
        }
        if fds[0].revents & libc::POLLHUP != 0 {
            return Err(Error::Msg(format!(
                "container {}: init closed the exec fifo without starting",
                c.id
            )));
        }
    }
    std::fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
    Ok(())
}
