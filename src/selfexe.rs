//! The hull binary must never be writable from a container (the CVE-2019-5736 class): a
//! process of hull's that enters a container's pid namespace (init before its execve, exec's
//! process) exposes its executable as /proc/<pid>/exe, and a hostile container could open it
//! and, once hull has exited, write the on-disk binary through it. So `create`, `run` and
//! `exec` — and only they: `state`, `list`, `kill`, `delete` never enter a container and stay
//! cheap — make sure the executable they run from cannot be written: already on a read-only
//! mount, or else re-executed through a read-only bind mount of itself that is attached
//! nowhere (`open_tree(OPEN_TREE_CLONE)`, `MOUNT_ATTR_RDONLY`, `execveat` of its fd: no mount
//! namespace to make, no copy; the mount lives as long as a process runs from it), or, where
//! mounting is not allowed, from a sealed memfd copy (crun's; a few milliseconds for a 3 MB
//! binary). Writes through /proc/<pid>/exe then fail with EROFS or EPERM, even after hull
//! has exited.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;

use crate::error::{Context, Error, Result};

/// The command line hull was started with, as `main` received it (`set_args`). std's
/// `args_os` is empty in a `#![no_main]` binary on musl, which takes it from std's own start.
static ARGS: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();

/// Record the command line (`main` does, before anything else); `args` returns it.
pub fn set_args(args: Vec<std::ffi::OsString>) {
    let _ = ARGS.set(args);
}

/// The command line `set_args` recorded, or std's where it was not called (tests).
pub fn args() -> &'static [std::ffi::OsString] {
    ARGS.get_or_init(|| std::env::args_os().collect())
}

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process's executable cannot be written: a read-only mount or a sealed memfd.
pub fn is_protected() -> bool {
    let Ok(f) = File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: fstatvfs and fcntl(F_GET_SEALS) on an fd we own into a zeroed struct.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::fstatvfs(f.as_raw_fd(), &mut st) == 0 && st.f_flag & libc::ST_RDONLY != 0 {
            return true;
        }
        let seals = libc::fcntl(f.as_raw_fd(), libc::F_GET_SEALS);
        seals >= 0 && seals & SEALS == SEALS
    }
}

/// Re-execute from a protected executable unless already running from one. Returns only on
/// failure.
pub fn ensure_protected() -> Result<()> {
    if is_protected() {
        return Ok(());
    }
    if let Ok(tree) = read_only_tree() {
        return exec(|argv, envp| execveat(&tree, argv, envp));
    }
    memfd_reexec()
}

/// A read-only bind mount of this process's executable, attached nowhere: the fd of a
/// detached mount whose root is the file. Refused without CAP_SYS_ADMIN over the mount
/// namespace's owner (rootless).
fn read_only_tree() -> std::io::Result<OwnedFd> {
    let exe = File::options()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open("/proc/self/exe")?;
    let tree = crate::sys::mount::clone_tree(&exe, false)?;
    crate::sys::mount::setattr(&tree, false, crate::sys::mount::ATTR_RDONLY, 0)?;
    Ok(tree)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): execute the file `fd` refers to.
fn execveat(
    fd: &impl AsRawFd,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) -> Result<()> {
    // SAFETY: execveat with an fd we hold, an empty C string and NULL-terminated arrays.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv,
            envp,
            libc::AT_EMPTY_PATH,
        )
    };
    Ok(())
}

/// Build argv/envp from this process and hand them to `f` (which execs); returns its error.
fn exec(
    f: impl FnOnce(*const *const libc::c_char, *const *const libc::c_char) -> Result<()>,
) -> Result<()> {
    let args: Vec<CString> = args()
        .iter()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| Error::invalid("argument with a NUL byte")))
        .collect::<Result<_>>()?;
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).map_err(|_| Error::invalid("environment with a NUL byte"))
        })
        .collect::<Result<_>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    f(argv.as_ptr(), envp.as_ptr())?;
    Err(std::io::Error::last_os_error()).context("re-execute hull from its protected copy")
}

/// Copy the binary into a sealed memfd and execute that.
fn memfd_reexec() -> Result<()> {
    let exe = File::open("/proc/self/exe").context("open /proc/self/exe")?;
    // SAFETY: memfd_create with a valid C string and flags; the fd is ours.
    let fd = unsafe {
        libc::memfd_create(
            c"hull".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("memfd_create");
    }
    // SAFETY: we own the fd just returned.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = exe.metadata()?.len();
    let mut copied = 0u64;
    while copied < len {
        // SAFETY: sendfile between two fds we own, with a NULL offset (the file position).
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                (len - copied) as usize,
            )
        };
        if n <= 0 {
            return Err(std::io::Error::last_os_error()).context("copy hull into a memfd");
        }
        copied += n as u64;
    }
    // SAFETY: fcntl(F_ADD_SEALS) on our memfd.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } != 0 {
        return Err(std::io::Error::last_os_error()).context("seal the memfd");
    }
    exec(|argv, envp| execveat(&memfd, argv, envp))
}
