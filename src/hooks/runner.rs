//! Runs one hook: fork + execve of `path` with exactly `args` and `env`, the state written to
//! its stdin as it drains, its stdout and stderr captured (kept for the error message, or the
//! debug log), and `timeout` enforced with SIGKILL; the hook dies with the process that runs it
//! (PDEATHSIG), so a killed hull leaves no hook behind. No thread: one poll over a pidfd of the
//! hook, its stdin and its two output pipes, with the deadline as poll's timeout.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{short, Context, Error, Result};
use crate::sys;

/// Most of a hook's stdout/stderr kept for the error message.
const KEEP: usize = 16 * 1024;

/// Run one hook; the error names it (`hooks.createRuntime[0]: /path: …`).
pub(super) fn run_one(
    h: &Hook,
    name: &str,
    state: &[u8],
    default_env: Option<&[String]>,
) -> Result<()> {
    let path = h.path();
    let what = format!("{name}: {}", short(path));
    crate::logging::debug(&format!("running {what}"));
    exec_and_wait(h, state, default_env).with_context(|| what)
}

fn exec_and_wait(h: &Hook, state: &[u8], default_env: Option<&[String]>) -> Result<()> {
    // Everything the child needs is allocated before the fork.
    let cpath = CString::new(h.path().as_os_str().as_bytes())
        .map_err(|_| Error::invalid("NUL byte in path"))?;
    let args = match h.args().as_deref() {
        Some(a) if !a.is_empty() => sys::fd::cstrings(a)?,
        _ => vec![cpath.clone()],
    };
    let env = match (h.env().as_deref(), default_env) {
        (Some(e), _) => sys::fd::cstrings(e)?,
        (None, Some(d)) => sys::fd::cstrings(d)?,
        (None, None) => Vec::new(),
    };
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());

    let (in_r, in_w) = sys::fd::pipe()?;
    let (out_r, out_w) = sys::fd::pipe()?;
    let (err_r, err_w) = sys::fd::pipe()?;
    let (exec_r, exec_w) = sys::fd::pipe()?;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let pid = sys::clone::fork().context("fork")?;
    if pid == 0 {
        child(
            parent,
            &cpath,
            &argv,
            &envp,
            [in_r.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()],
            exec_w.as_raw_fd(),
        );
    }
    drop((in_r, out_w, err_w, exec_w));
    let pidfd = match sys::pidfd::open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            // SAFETY: kill(2) on our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = sys::wait::wait(pid);
            return Err(e).context("pidfd_open");
        }
    };
    let timeout = h.timeout().map(|t| Duration::from_secs(t.max(1) as u64));
    let res = supervise(&pidfd, in_w, state, &out_r, &err_r, timeout);
    let status = sys::wait::wait(pid).unwrap_or(0);
    let (out, err, timed_out) = res?;
    if timed_out {
        return Err(Error::Msg(format!(
            "timed out after {}s",
            timeout.map(|t| t.as_secs()).unwrap_or(0)
        )));
    }
    // The exec error pipe: 4 bytes of errno when execve failed, EOF when it succeeded.
    let mut errno = [0u8; 4];
    // Every write end is closed by now.
    if sys::fd::read(exec_r.as_raw_fd(), &mut errno).ok() == Some(4) {
        return Err(Error::Sys(nix::errno::Errno::from_raw(i32::from_ne_bytes(
            errno,
        ))))
        .context("exec");
    }
    let outputs = |msg: String| {
        let mut m = msg;
        for (label, text) in [("stdout", &out), ("stderr", &err)] {
            let t = String::from_utf8_lossy(text);
            let t = t.trim_end();
            if !t.is_empty() {
                m.push_str(&format!(", {label}: {t}"));
            }
        }
        m
    };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        if crate::logging::debug_enabled() && (!out.is_empty() || !err.is_empty()) {
            crate::logging::debug(&outputs("hook succeeded".into()));
        }
        return Ok(());
    }
    let msg = if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    };
    Err(Error::Msg(outputs(msg)))
}

/// The hook child: dies with its parent, stdio onto the pipes, default signals, no other fd,
/// execve. Never returns.
fn child(
    parent: libc::pid_t,
    path: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    stdio: [RawFd; 3],
    exec_w: RawFd,
) -> ! {
    // SAFETY: only prctl/getppid/fcntl/dup2/sigprocmask/signal/close_range/execve/write/_exit
    // on fds and buffers this process owns; the pointer arrays are NULL-terminated
    // and point into live CStrings.
    unsafe {
        // Once its parent is gone nobody enforces the timeout or reads the output: a hull
        // killed while a hook runs must leave no hook behind (it survives the execve; a
        // set-user-ID hook or one that changes its credentials loses it, as any process does).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::getppid() != parent {
            libc::_exit(127);
        }
        // Move the pipe ends above 2 first: one of them may itself be 0, 1 or 2.
        let high: Vec<RawFd> = stdio
            .iter()
            .map(|&fd| libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3))
            .collect();
        for (target, &fd) in high.iter().enumerate() {
            if fd < 0 || libc::dup2(fd, target as RawFd) < 0 {
                fail(exec_w);
            }
        }
        crate::signals::reset_for_exec();
        // Nothing but stdio reaches the hook (the exec error pipe is already close-on-exec).
        sys::fd::cloexec_from(3);
        libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    fail(exec_w)
}

fn fail(exec_w: RawFd) -> ! {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let b = errno.to_ne_bytes();
    // SAFETY: write(2) of 4 bytes from a live buffer, then _exit.
    unsafe {
        libc::write(exec_w, b.as_ptr().cast(), 4);
        libc::_exit(127)
    }
}

/// Feed stdin, collect stdout/stderr, until the hook exits or the deadline passes (then SIGKILL).
/// Returns (stdout, stderr, timed out).
fn supervise(
    pidfd: &OwnedFd,
    stdin: OwnedFd,
    state: &[u8],
    out: &OwnedFd,
    err: &OwnedFd,
    timeout: Option<Duration>,
) -> Result<(Vec<u8>, Vec<u8>, bool)> {
    for fd in [stdin.as_raw_fd(), out.as_raw_fd(), err.as_raw_fd()] {
        sys::fd::set_nonblock(fd);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    // Closed once the whole state is written (the hook reads EOF), or when the hook stops
    // reading (EPIPE: it does not care about its stdin).
    let mut stdin = (!state.is_empty()).then_some(stdin);
    let mut written = 0;
    let mut bufs = [Vec::new(), Vec::new()];
    let mut open = [true, true];
    loop {
        let mut fds = [
            sys::wait::pollin(pidfd.as_raw_fd()),
            sys::wait::pollin(if open[0] { out.as_raw_fd() } else { -1 }),
            sys::wait::pollin(if open[1] { err.as_raw_fd() } else { -1 }),
            libc::pollfd {
                fd: stdin.as_ref().map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        let wait_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = sys::pidfd::signal(pidfd, libc::SIGKILL);
                    let [o, e] = bufs;
                    return Ok((o, e, true));
                }
                left.as_millis().min(i32::MAX as u128 - 1) as i32 + 1
            }
        };
        // Negative fds are ignored by the kernel.
        if let Err(e) = sys::wait::poll(&mut fds, wait_ms) {
            let _ = sys::pidfd::signal(pidfd, libc::SIGKILL);
            return Err(e);
        }
        for i in 0..2 {
            if open[i] && fds[1 + i].revents != 0 {
                open[i] = drain(fds[1 + i].fd, &mut bufs[i]);
            }
        }
        if fds[3].revents != 0 {
            if let Some(f) = &stdin {
                let done = match sys::fd::write(f.as_raw_fd(), &state[written..]) {
                    Ok(n) => {
                        written += n;
                        written == state.len()
                    }
                    Err(e) => e.raw_os_error() != Some(libc::EAGAIN),
                };
                if done {
                    stdin = None;
                }
            }
        }
        if fds[0].revents != 0 {
            // Exited: take what is buffered, without waiting for EOF (a daemonized grandchild
            // may hold the pipes open).
            for (i, fd) in [out, err].iter().enumerate() {
                if open[i] {
                    drain(fd.as_raw_fd(), &mut bufs[i]);
                }
            }
            let [o, e] = bufs;
            return Ok((o, e, false));
        }
    }
}

/// Read what a nonblocking pipe holds (keeping at most [`KEEP`] bytes); false at EOF or error.
fn drain(fd: RawFd, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        match sys::fd::read(fd, &mut chunk) {
            Ok(0) => return false,
            Ok(n) => {
                let room = KEEP.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) => return e.raw_os_error() == Some(libc::EAGAIN),
        }
    }
}
