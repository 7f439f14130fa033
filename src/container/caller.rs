//! The caller's side of a spawn, the same for `create` and `exec`: what is prepared before
//! anything exists — the compiled `linux.seccomp` (a profile hull cannot enforce fails here),
//! the terminal plan (runc's flag rules; a console socket connected or hull's own terminal
//! found), the `--pidfd-socket` connection — and what follows once the process reported Ready:
//! the pty master taken or let go, and the pidfd sent.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use crate::oci::Process;
use oci_spec::runtime::Linux;

use crate::error::{short, Context, Result};
use crate::process::{self, Child};
use crate::seccomp::Compiled;
use crate::{sys, tty};

/// Prepared before the first clone.
pub struct Caller {
    /// The compiled `linux.seccomp`.
    pub seccomp: Option<Compiled>,
    console: tty::Plan,
    pidfd_socket: Option<OwnedFd>,
}

impl Caller {
    /// Prepare for `process` of a container configured by `linux`. `detach`: the caller
    /// returns while the process runs (a terminal then needs `console_socket`).
    pub fn prepare(
        linux: &Linux,
        process: &Process,
        detach: bool,
        console_socket: Option<&Path>,
        pidfd_socket: Option<&Path>,
    ) -> Result<Caller> {
        let seccomp = match linux.seccomp() {
            Some(s) => Some(crate::seccomp::compile(
                s,
                &crate::seccomp::Options::default(),
            )?),
            None => None,
        };
        let terminal = process.terminal().unwrap_or(false);
        let console = tty::Plan::new(detach, terminal, console_socket)?;
        // Connected before anything exists, as runc does: a bad path leaves nothing behind.
        let pidfd_socket = pidfd_socket
            .map(|p| {
                sys::socket::connect(p)
                    .with_context(|| format!("--pidfd-socket: connect {}", short(p)))
            })
            .transpose()?;
        Ok(Caller {
            seccomp,
            console,
            pidfd_socket,
        })
    }

    /// The size of hull's own terminal, when the caller relays one in the foreground.
    pub fn host_size(&self) -> Option<(u16, u16)> {
        self.console.host_size()
    }

    /// Where the spawned process sends its pty master (`relay`: hull relays it).
    pub fn console(&self, relay: bool) -> Option<process::Console> {
        self.console.child.as_ref().map(|f| process::Console {
            socket: f.as_raw_fd(),
            relay,
        })
    }

    /// Once `child` reported Ready: take the master it sent (foreground) or let the socket go,
    /// and send a pidfd of it over `--pidfd-socket`, as runc does: one message whose payload
    /// names the kind of process (`standard` for init, `setns` for exec's) with the pidfd as
    /// its one SCM_RIGHTS fd (runc's init sends one of itself; hull sends the one it holds).
    pub fn finish(self, child: &Child, kind: &str) -> Result<Option<tty::Console>> {
        let console = self.console.finish()?;
        if let Some(sock) = &self.pidfd_socket {
            sys::socket::send_with_fd(sock.as_raw_fd(), kind.as_bytes(), child.pidfd.as_raw_fd())
                .context("--pidfd-socket: send the pidfd")?;
        }
        Ok(console)
    }
}

/// Write the pid file atomically: decimal pid, no trailing newline (go-runc rejects one).
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    crate::fsutil::atomic_write(&abs, pid.to_string().as_bytes(), 0o644).context("--pid-file")
}
