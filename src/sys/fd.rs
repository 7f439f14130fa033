//! File descriptors: pipes, flags, reads and writes retried on EINTR, `openat2` and the other
//! *at calls hull makes on raw fds, argv/envp strings, and close-on-exec for everything past
//! stdio. Every fd made here is O_CLOEXEC unless its caller says otherwise.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Context, Error, Result};

/// Take ownership of the fd an fd-making syscall just returned (or the error behind -1).
pub fn take(fd: libc::c_long) -> std::io::Result<OwnedFd> {
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a non-negative return of an fd-making syscall is a new fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// pipe2(O_CLOEXEC): (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error()).context("pipe");
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// open(2) of a path with raw flags (add O_CLOEXEC yourself when the fd must not be inherited).
pub fn open(path: &CStr, flags: libc::c_int, mode: libc::mode_t) -> std::io::Result<OwnedFd> {
    // SAFETY: open(2) of a valid C string.
    take(unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) } as libc::c_long)
}

/// Set O_NONBLOCK on an fd.
pub fn set_nonblock(fd: RawFd) {
    // SAFETY: fcntl with integer arguments on an fd number; a bad fd just fails.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// A byte-count syscall (read, write), retried on EINTR.
fn retry_eintr(mut call: impl FnMut() -> isize) -> std::io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// read(2), retried on EINTR.
pub fn read(fd: RawFd, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: read(2) into a buffer we own, at most its length.
    retry_eintr(|| unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// write(2), retried on EINTR.
pub fn write(fd: RawFd, buf: &[u8]) -> std::io::Result<usize> {
    // SAFETY: write(2) from a live buffer, at most its length.
    retry_eintr(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// fstat(2).
pub fn fstat(fd: RawFd) -> std::io::Result<libc::stat> {
    // SAFETY: an all-zero stat is valid storage for fstat to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on an fd number into a struct we own.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st)
}

/// Write `value` to the existing file `file` under the directory `dir` (kernel interface files:
/// cgroupfs, procfs).
pub fn write_at(dir: &impl AsRawFd, file: &CStr, value: &str) -> std::io::Result<()> {
    // SAFETY: openat with a directory fd the caller holds and a valid C string.
    let fd = take(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            file.as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    } as libc::c_long)?;
    let mut f = std::fs::File::from(fd);
    std::io::Write::write_all(&mut f, value.as_bytes())
}

/// setxattr(2) of `path` (a magic link `/proc/self/fd/N` is followed to its file).
pub fn set_xattr(path: &Path, name: &CStr, value: &[u8]) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: setxattr with valid C strings and a live buffer of `value.len()` bytes.
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `RESOLVE_NO_MAGICLINKS` of openat2(2).
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_IN_ROOT` of openat2(2).
pub const RESOLVE_IN_ROOT: u64 = 0x10;

/// `struct open_how` of openat2(2).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2) of `path` under `dir` with `flags` (O_CLOEXEC added) and `resolve` (RESOLVE_*).
pub fn openat2(
    dir: RawFd,
    path: &Path,
    flags: libc::c_int,
    resolve: u64,
) -> std::io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: openat2 with a directory fd the caller holds, a valid C string and an open_how
    // we own, passed with its true size.
    take(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })
}

/// Strings as C strings for argv/envp; a NUL byte is an error naming the string.
pub fn cstrings(v: &[String]) -> Result<Vec<CString>> {
    v.iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| Error::invalid(format!("{s:?} contains a NUL byte")))
        })
        .collect()
}

/// Mark every fd from `first` up close-on-exec (close_range(CLOSE_RANGE_CLOEXEC)): they close
/// at the next execve. Safe to call in a freshly forked child.
pub fn cloexec_from(first: u32) {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags on fds.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

/// Close every fd from `first` up: what a caller leaked into hull (shells and shims leave fds
/// open without close-on-exec) must not follow hull into a container.
pub fn close_from(first: u32) {
    // SAFETY: close_range(2) on a range of fds this process owns and no longer uses.
    unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) };
}

/// Clear ONLCR on the terminal at `fd` (a pty master or slave: they share their termios), so
/// hull's own terminal, not the pty, turns `\n` into `\r\n` when hull relays.
pub fn clear_onlcr(fd: RawFd) -> Result<()> {
    // SAFETY: an all-zero termios is valid storage for tcgetattr to fill.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr/tcsetattr on an fd the caller holds and a struct we own.
    unsafe {
        if libc::tcgetattr(fd, &mut t) != 0 {
            return Err(std::io::Error::last_os_error()).context("console: get pty settings");
        }
        t.c_oflag &= !libc::ONLCR;
        if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0 {
            return Err(std::io::Error::last_os_error()).context("console: clear ONLCR");
        }
    }
    Ok(())
}
