//! `probe SYSCALL [ARG...]`: make one raw syscall with integer arguments (decimal or 0x hex)
//! and print `ret=<value> errno=<n>`; exit 0 unless the arguments are bad.
//! `probe --loop N SYSCALL [ARG...]`: make it N times and print `ns_per_call=<f>` (make bench). Built statically
//! and copied into the test rootfs by `make bundles`, so tests can ask what a seccomp profile
//! does to a syscall busybox has no applet for (keyctl, swapon, bpf, ...).

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

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
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
