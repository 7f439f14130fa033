//! The loader: raw seccomp(2) with the OCI flags (no libseccomp, no NNP of its own: the caller
//! sets PR_SET_NO_NEW_PRIVS when the config asks, or holds CAP_SYS_ADMIN), returning the
//! listener fd when the filter can notify; and the hand-off of that fd with the container
//! process state to `listenerPath` (runtime-spec config-linux.md, "seccomp" / listenerPath).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::emit::Compiled;
use super::plan::flag;
use crate::error::{short, Context, Error, Result};

/// Load the filters into the calling thread (and, with TSYNC, its siblings); returns the
/// listener fd of the notify filter, if there is one.
pub fn install(c: &Compiled) -> Result<Option<OwnedFd>> {
    let mut listener = None;
    for f in &c.filters {
        let mut flags = c.flags;
        if f.new_listener {
            flags |= flag::NEW_LISTENER;
            if flags & flag::TSYNC != 0 {
                // TSYNC and NEW_LISTENER together need TSYNC_ESRCH.
                flags |= flag::TSYNC_ESRCH;
            }
        } else {
            // WAIT_KILLABLE_RECV is about the listener; the kernel refuses it on other filters.
            flags &= !flag::WAIT_KILLABLE_RECV;
        }
        let r = load_one(&f.program, flags)?;
        if f.new_listener {
            // SAFETY: with NEW_LISTENER the return value is a new fd owned by nobody else.
            listener = Some(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
    }
    Ok(listener)
}

fn load_one(program: &[libc::sock_filter], flags: u32) -> Result<i64> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads the sock_fprog and the program it points
    // to, both alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1u32,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        let why = match e.raw_os_error() {
            Some(libc::EACCES) => "loading a filter needs CAP_SYS_ADMIN or no_new_privs",
            Some(libc::EINVAL) => "the kernel refused the filter or one of its flags",
            _ => "seccomp(SECCOMP_SET_MODE_FILTER)",
        };
        return Err(Error::from(e)).context(format!("linux.seccomp: {why}"));
    }
    Ok(r)
}

/// The container as a seccomp listener is told about it (the `state` of
/// `containerProcessState`).
pub struct ListenerContainer<'a> {
    /// Container id.
    pub id: &'a str,
    /// `creating` (create's init) or `running` (exec).
    pub status: &'a str,
    /// The container's init (the process itself for create).
    pub init_pid: i32,
    /// Bundle directory.
    pub bundle: &'a Path,
    /// The config's annotations.
    pub annotations: &'a std::collections::HashMap<String, String>,
}

/// Send `fd`, the listener of the filter `c` loaded by process `pid`, to `c`'s listener path
/// with the container process state (runtime-spec: `containerProcessState`).
pub fn send_listener(
    c: Option<&Compiled>,
    container: &ListenerContainer,
    pid: i32,
    fd: &OwnedFd,
) -> Result<()> {
    let Some(c) = c else {
        return Err(Error::protocol("a seccomp fd without a filter"));
    };
    let Some(path) = &c.listener_path else {
        return Err(Error::protocol("a seccomp fd without a listener path"));
    };
    let state = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": c.listener_metadata.clone().unwrap_or_default(),
        "state": {
            "ociVersion": crate::OCI_VERSION,
            "id": container.id,
            "status": container.status,
            "pid": container.init_pid,
            "bundle": container.bundle,
            "annotations": container.annotations,
        }
    });
    send_listener_fd(path, state.to_string().as_bytes(), fd)
}

/// Connect to `path` and send `state` (the containerProcessState JSON) with `fd` in one
/// sendmsg (SCM_RIGHTS), then close the connection.
fn send_listener_fd(path: &Path, state: &[u8], fd: &OwnedFd) -> Result<()> {
    let sock = crate::sys::socket::connect(path)
        .with_context(|| format!("linux.seccomp.listenerPath: connect {}", short(path)))?;
    crate::sys::socket::send_with_fd(sock.as_raw_fd(), state, fd.as_raw_fd())
        .with_context(|| format!("linux.seccomp.listenerPath: send to {}", short(path)))
}
