//! CVE-2019-5736 class: a process of hull's that lives in a container's pid namespace (init
//! before its execve) must not expose a writable hull binary through /proc/<pid>/exe. The
//! attack: open the link O_PATH while hull's clone is visible, wait until it has exec'd the
//! payload (hull no longer "busy"), then reopen it for writing. Done here from the host, which
//! sees exactly what a process in the container's pid namespace sees.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use common::*;

/// While any hull process runs, opening the binary for writing fails with ETXTBSY whatever
/// the protection: the tests of this file must not overlap.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn init_before_execve_does_not_expose_a_writable_hull_binary() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("cve5736");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let link = format!("/proc/{pid}/exe");
    let is_hull = |p: &str| {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = (
            std::fs::metadata(p).unwrap(),
            std::fs::metadata(hull_bin()).unwrap(),
        );
        (a.dev(), a.ino()) == (b.dev(), b.ino())
            || std::fs::read_link(p)
                .unwrap()
                .to_string_lossy()
                .contains("memfd:hull")
    };
    assert!(is_hull(&link), "init runs hull until start");
    let path = std::ffi::CString::new(link.clone()).unwrap();
    // SAFETY: open(2) with O_PATH on a valid C string; the fd becomes ours.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open O_PATH: {}", std::io::Error::last_os_error());
    // SAFETY: the fd was just returned to us.
    let held = unsafe { OwnedFd::from_raw_fd(fd) };
    let before = std::fs::read(common::hull_bin()).unwrap();

    assert!(env.hull(&["start", &id]).status.success());
    for _ in 0..200 {
        if !is_hull(&link) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let reopen = std::ffi::CString::new(format!("/proc/self/fd/{}", held.as_raw_fd())).unwrap();
    // ETXTBSY only means some hull process is running right now (another test, another
    // container): an attacker waits; so do we, up to ten seconds.
    let mut err = std::io::Error::from_raw_os_error(libc::ETXTBSY);
    for _ in 0..1000 {
        // SAFETY: open(2) of the magic link for writing; closed right away if it succeeds.
        let w = unsafe { libc::open(reopen.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if w >= 0 {
            // SAFETY: closing the fd we just got.
            unsafe { libc::close(w) };
            panic!("the hull binary behind /proc/{pid}/exe opened for writing");
        }
        err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ETXTBSY) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        matches!(
            err.raw_os_error(),
            Some(libc::EROFS) | Some(libc::EPERM) | Some(libc::EACCES)
        ),
        "expected a read-only or sealed binary, got {err}"
    );
    assert_eq!(std::fs::read(common::hull_bin()).unwrap(), before);
    // The protection left no mount on the host.
    let bin = hull_bin();
    assert!(mounts_mentioning(bin.to_str().unwrap()).is_empty());
}

#[test]
fn only_commands_that_enter_a_container_re_execute() {
    require_root!();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("reexec");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    // `events` never enters a container: it runs from the on-disk binary in the host's mount
    // namespace (no re-exec, no private namespace).
    let mut ev = env
        .cmd(&["events", "--interval", "1s", &id])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let ns = |pid: u32| std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    let me = std::process::id();
    assert_eq!(
        ns(ev.id()),
        ns(me),
        "events must not unshare a mount namespace"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{}/exe", ev.id())).unwrap(),
        hull_bin()
    );
    // `run` enters a container: it runs from a binary nobody can write, a read-only bind
    // mount of it or a sealed memfd, and stays in the caller's mount namespace.
    let b2 = env.bundle(&["sleep", "2"]);
    let id2 = env.id("reexec-run");
    let mut run = env
        .cmd(&["run", "--bundle", b2.dir.to_str().unwrap(), &id2])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let exe = format!("/proc/{}/exe", run.id());
    let read_only = nix::sys::statvfs::statvfs(exe.as_str())
        .unwrap()
        .flags()
        .contains(nix::sys::statvfs::FsFlags::ST_RDONLY);
    let protected = read_only
        || std::fs::read_link(&exe)
            .unwrap()
            .to_string_lossy()
            .contains("memfd:");
    let same_ns = ns(run.id()) == ns(me);
    // SAFETY: signalling processes this test started, by pid.
    unsafe {
        libc::kill(ev.id() as i32, libc::SIGKILL);
        libc::kill(run.id() as i32, libc::SIGKILL);
    }
    let _ = ev.wait();
    let _ = run.wait();
    assert!(protected, "run must re-execute from a protected binary");
    assert!(same_ns, "run must not need a mount namespace of its own");
}
