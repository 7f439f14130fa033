//! The last steps before a container's payload runs, shared by init (create/run) and exec's
//! tenant: PATH lookup inside the container, argv/envp, no_new_privs, the signal mask and
//! dispositions, close-on-exec for every fd past stdio and --preserve-fds, and execve.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::fork;
use crate::error::{Context, Error, Result};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// execve; on failure log and exit 126 (EACCES) or 127, the shell's codes (init's behaviour).
pub fn exec(exe: &CString, argv: &[CString], envp: &[CString]) -> ! {
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of pointers into CStrings that outlive the call.
    unsafe { libc::execve(exe.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    let err = std::io::Error::last_os_error();
    let code = if err.raw_os_error() == Some(libc::EACCES) {
        126
    } else {
        127
    };
    crate::logging::error(&format!(
        "exec {}: {}",
        exe.to_string_lossy(),
        Error::from(err).render()
    ));
    fork::exit_now(code)
}

pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: prctl with integers.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("process.noNewPrivileges");
    }
    Ok(())
}

pub fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::invalid(format!("process: {s:?} contains a NUL byte")))
        })
        .collect()
}

/// Empty signal mask (hull blocked the forwarded signals before cloning) and SIGPIPE back to
/// its default (Rust's runtime ignores it).
pub fn reset_signals() {
    // SAFETY: sigset manipulation on a local set, then sigprocmask/signal with valid arguments.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Mark every fd from `first` up close-on-exec.
pub fn close_extra_fds(first: u32) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only marks fds; they close at execve.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

pub fn is_executable(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access/stat on a valid C string.
    p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
}

/// Resolve process.args[0] inside the container the way Go's exec.LookPath does (runc's
/// wording in errors, which engines match).
pub fn find_executable(arg0: &str, env: &[String]) -> Result<CString> {
    let to_c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::invalid("process.args[0]: NUL byte"))
    };
    if arg0.contains('/') {
        let p = Path::new(arg0);
        if let Err(e) = std::fs::metadata(p) {
            return Err(Error::from(e))
                .with_context(|| format!("process.args[0]: exec: {arg0:?}: stat {arg0}"));
        }
        if !is_executable(p) {
            return Err(Error::Sys(nix::errno::Errno::EACCES))
                .with_context(|| format!("process.args[0]: exec: {arg0:?}"));
        }
        return to_c(p);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if is_executable(&cand) {
            return to_c(&cand);
        }
    }
    Err(Error::invalid(format!(
        "process.args[0]: exec: {arg0:?}: executable file not found in $PATH"
    )))
}
