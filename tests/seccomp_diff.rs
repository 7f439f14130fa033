//! Differential tests of hull's seccomp compiler against libseccomp (2.5, through the
//! `libseccomp` crate: a dev-dependency only, hull itself never links it).
//!
//! For one OCI `linux.seccomp` profile we build two filters: hull's
//! (`hull::seccomp::compile`, with the ENOSYS stub off: libseccomp has none) and libseccomp's,
//! built the way runc builds it (`seccomp_init(default)`, `seccomp_arch_add` per listed
//! architecture, `seccomp_rule_add` per name with the native number, one rule per comparison
//! when an argument index repeats, rules with the default action skipped, duplicates ignored),
//! exported with `seccomp_export_bpf`. Then:
//! - live probes: a forked child sets no_new_privs, loads ONE of the two filters, makes ONE
//!   syscall (native `syscall`, i386 `int 0x80`, or x32 `syscall` with the x32 bit) and reports
//!   what happened over a pipe (a SIGSYS handler reports SECCOMP_RET_TRAP; a kill is seen by
//!   waitpid); the two outcomes must be equal;
//! - sweeps: both programs run in a small classic-BPF interpreter over every syscall number
//!   of every architecture with many argument vectors; the return values must be equal.
//!
//! Every probe is harmless when the filter lets it through: arguments are chosen to fail in
//! the kernel (bad magic for reboot, null pointers, bad flags, too long a hostname) or to touch
//! only the throwaway child. Profiles keep `write` and `exit_group` allowed (the child reports
//! through them).
//!
//! SECCOMP_DIFF_VERBOSE=1 prints every probe with both outcomes.
//!
//! The real profiles are docker's and podman's defaults, in bundles/seccomp.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::arch::asm;
use std::sync::atomic::{AtomicI32, Ordering};

use hull::seccomp::tables::{self, Arch};
use hull::seccomp::{Compiled, Options};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use serde_json::{json, Value};

// The classic BPF interpreter for the sweeps, shared with the `seccomp` fuzz target.
#[path = "common/cbpf.rs"]
mod cbpf;
use cbpf::{eval, eval_all, seccomp_data};

const X32_BIT: u32 = 0x4000_0000;

// ---------------------------------------------------------------------------------------------
// The two compilers.

fn scmp_action(name: &str, errno: Option<&Value>) -> ScmpAction {
    let errno = errno.and_then(Value::as_i64).unwrap_or(libc::EPERM as i64);
    match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(errno as i32),
        "SCMP_ACT_TRACE" => ScmpAction::Trace(errno as u16),
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        other => panic!("{other}: not compared here (SCMP_ACT_NOTIFY needs a listener)"),
    }
}

fn scmp_arch(name: &str) -> ScmpArch {
    match name {
        "SCMP_ARCH_X86_64" => ScmpArch::X8664,
        "SCMP_ARCH_X86" => ScmpArch::X86,
        "SCMP_ARCH_X32" => ScmpArch::X32,
        "SCMP_ARCH_NATIVE" => ScmpArch::native(),
        other => panic!("{other}: not an x86 architecture"),
    }
}

fn scmp_compare(a: &Value) -> ScmpArgCompare {
    let index = a["index"].as_u64().unwrap() as u32;
    let value = a["value"].as_u64().unwrap();
    let value_two = a.get("valueTwo").and_then(Value::as_u64).unwrap_or(0);
    let (op, datum) = match a["op"].as_str().unwrap() {
        "SCMP_CMP_NE" => (ScmpCompareOp::NotEqual, value),
        "SCMP_CMP_LT" => (ScmpCompareOp::Less, value),
        "SCMP_CMP_LE" => (ScmpCompareOp::LessOrEqual, value),
        "SCMP_CMP_EQ" => (ScmpCompareOp::Equal, value),
        "SCMP_CMP_GE" => (ScmpCompareOp::GreaterEqual, value),
        "SCMP_CMP_GT" => (ScmpCompareOp::Greater, value),
        // OCI (and runc): value is the mask, valueTwo the datum.
        "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(value), value_two),
        other => panic!("{other}: unknown operator"),
    };
    ScmpArgCompare::new(index, op, datum)
}

fn program_of(bytes: &[u8]) -> Vec<libc::sock_filter> {
    assert_eq!(bytes.len() % 8, 0);
    bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// libseccomp's filter for `p`, built as runc's libcontainer/seccomp builds it.
fn libseccomp_program(p: &Value) -> Vec<libc::sock_filter> {
    let default = scmp_action(
        p["defaultAction"].as_str().unwrap(),
        p.get("defaultErrnoRet"),
    );
    let mut ctx = ScmpFilterContext::new(default).unwrap();
    for a in p["architectures"].as_array().into_iter().flatten() {
        ctx.add_arch(scmp_arch(a.as_str().unwrap())).unwrap();
    }
    for sc in p["syscalls"].as_array().into_iter().flatten() {
        let action = scmp_action(sc["action"].as_str().unwrap(), sc.get("errnoRet"));
        if action == default {
            continue; // runc: "Ignore the syscall if the action is the same as the default action"
        }
        let args: Vec<&Value> = sc["args"].as_array().into_iter().flatten().collect();
        let conds: Vec<ScmpArgCompare> = args.iter().map(|a| scmp_compare(a)).collect();
        let mut counts = [0; 6];
        for a in &args {
            counts[a["index"].as_u64().unwrap() as usize] += 1;
        }
        let repeated = counts.iter().any(|&n| n > 1);
        for name in sc["names"].as_array().unwrap() {
            let name = name.as_str().unwrap();
            // runc: GetSyscallFromName (the native number, or libseccomp's pseudo number of a
            // syscall other architectures have); unknown names are skipped.
            let Ok(sys) = ScmpSyscall::from_name(name) else {
                continue;
            };
            let mut add = |c: &[ScmpArgCompare]| {
                let r = if c.is_empty() {
                    ctx.add_rule(action, sys)
                } else {
                    ctx.add_rule_conditional(action, sys, c)
                };
                if let Err(e) = r {
                    assert!(
                        e.errno() == Some(libseccomp::error::SeccompErrno::EEXIST),
                        "libseccomp refused {name} {action:?} {c:?}: {e}"
                    );
                }
            };
            if repeated {
                for c in &conds {
                    add(std::slice::from_ref(c));
                }
            } else {
                add(&conds);
            }
        }
    }
    // seccomp_export_bpf_mem is libseccomp 2.6's: export to a file and read it back.
    let mut f = tempfile::tempfile().unwrap();
    ctx.export_bpf(&f).unwrap();
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut f).unwrap();
    std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
    program_of(&bytes)
}

fn hull_compile(p: &Value, enosys_stub: bool) -> Compiled {
    let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(p.clone()).unwrap();
    let c = hull::seccomp::compile(&s, &Options { enosys_stub })
        .unwrap_or_else(|e| panic!("hull refused the profile: {}", e.render()));
    for f in &c.filters {
        if let Some(bad) = cbpf::check(&f.program) {
            panic!("hull emitted a program the kernel refuses: {bad}");
        }
    }
    c
}

// ---------------------------------------------------------------------------------------------
// Probes.

/// The syscall ABI of a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Abi {
    X86_64,
    I386,
    X32,
}

impl Abi {
    fn scmp(self) -> ScmpArch {
        match self {
            Abi::X86_64 => ScmpArch::X8664,
            Abi::I386 => ScmpArch::X86,
            Abi::X32 => ScmpArch::X32,
        }
    }

    fn arch(self) -> Arch {
        match self {
            Abi::X86_64 => Arch::X86_64,
            Abi::I386 => Arch::X86,
            Abi::X32 => Arch::X32,
        }
    }
}

/// One syscall to make: `nr` as the ABI numbers it (x32: with the x32 bit).
#[derive(Clone, Debug)]
struct Probe {
    abi: Abi,
    name: String,
    nr: u32,
    args: [u64; 6],
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let args: Vec<String> = self.args.iter().map(|a| format!("{a:#x}")).collect();
        write!(
            f,
            "{:?} {}#{:#x}({})",
            self.abi,
            self.name,
            self.nr,
            args.join(", ")
        )
    }
}

/// The number libseccomp gives `name` on `abi` (independent of hull's tables), if it has one.
fn scmp_number(abi: Abi, name: &str) -> Option<u32> {
    let n = ScmpSyscall::from_name_by_arch(name, abi.scmp())
        .ok()?
        .as_raw_syscall();
    if n < 0 {
        return None; // a pseudo number: the syscall does not exist on this ABI
    }
    let n = n as u32;
    Some(if abi == Abi::X32 { n | X32_BIT } else { n })
}

fn probe(abi: Abi, name: &str, args: &[u64]) -> Option<Probe> {
    let nr = scmp_number(abi, name)?;
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    Some(Probe {
        abi,
        name: name.to_string(),
        nr,
        args: a,
    })
}

fn raw_probe(abi: Abi, nr: u32, args: &[u64]) -> Probe {
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let nr = if abi == Abi::X32 { nr | X32_BIT } else { nr };
    Probe {
        abi,
        name: tables::name(abi.arch(), nr).unwrap_or("?").into(),
        nr,
        args: a,
    }
}

/// A 64-bit `syscall` returning the raw result (-errno on failure).
fn syscall64(nr: u32, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: a raw syscall; the probes' arguments are integers or null pointers chosen so the
    // kernel touches no memory of ours, and the instruction clobbers only rax, rcx and r11.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") i64::from(nr) => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2], in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// An i386 syscall through `int 0x80` (ebx, ecx, edx, esi, edi, ebp), sign-extended result.
fn syscall32(nr: u32, a: [u64; 6]) -> i64 {
    let ret: u32;
    // SAFETY: a raw i386 syscall with integer or null arguments (see syscall64). rbx and rbp
    // cannot be asm operands: rbx is swapped in and out, rbp saved on the stack and restored;
    // r8-r11 are declared clobbered (older kernels zero them on int 0x80).
    unsafe {
        asm!(
            "push rbp",
            "xchg {b}, rbx",
            "mov ebp, {f:e}",
            "int 0x80",
            "xchg {b}, rbx",
            "pop rbp",
            b = inout(reg) u64::from(a[0] as u32) => _,
            f = in(reg) a[5] as u32,
            inlateout("eax") nr => ret,
            in("ecx") a[1] as u32, in("edx") a[2] as u32, in("esi") a[3] as u32, in("edi") a[4] as u32,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
        );
    }
    i64::from(ret as i32)
}

impl Probe {
    fn call(&self) -> i64 {
        match self.abi {
            Abi::X86_64 | Abi::X32 => syscall64(self.nr, self.args),
            Abi::I386 => syscall32(self.nr, self.args),
        }
    }
}

/// What a probe did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The syscall returned this (the filter allowed or logged it, or the kernel failed it).
    Returned(i64),
    /// The syscall failed with this errno (from the filter or from the kernel).
    Errno(i64),
    /// SIGSYS from SECCOMP_RET_TRAP, with SECCOMP_RET_DATA.
    Trapped(i32),
    /// Killed by this signal (SECCOMP_RET_KILL_*: SIGSYS).
    Killed(i32),
    /// Exited with this status without reporting.
    Silent(i32),
}

static REPORT_FD: AtomicI32 = AtomicI32::new(-1);

fn report(kind: i64, value: i64) {
    let mut buf = [0u8; 16];
    buf[..8].copy_from_slice(&kind.to_ne_bytes());
    buf[8..].copy_from_slice(&value.to_ne_bytes());
    // SAFETY: write(2) from a local buffer to the report pipe.
    unsafe {
        libc::write(
            REPORT_FD.load(Ordering::Relaxed),
            buf.as_ptr().cast(),
            buf.len(),
        )
    };
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo; for SECCOMP_RET_TRAP si_errno
    // holds SECCOMP_RET_DATA.
    let data = unsafe { (*info).si_errno };
    report(1, i64::from(data));
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(0) }
}

/// Which filter a probe child loads.
#[derive(Clone, Copy)]
enum Filter<'a> {
    Hull(&'a Compiled),
    Libseccomp(&'a [libc::sock_filter]),
}

/// The child: no core dumps, a SIGSYS handler, no_new_privs, the filter, the probe, the report.
fn child(fd: i32, filter: Filter, p: &Probe) -> ! {
    const REPORT: i32 = 1000;
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on this (single-threaded, forked) process; the sigaction struct is
    // zeroed and then filled in.
    unsafe {
        // Only 0-2 and the report pipe stay open, so a probe that opens an fd gets 3 whatever
        // the other test threads had open when we forked.
        if libc::dup2(fd, REPORT) != REPORT
            || libc::syscall(libc::SYS_close_range, 3, REPORT - 1, 0) != 0
        {
            libc::_exit(3);
        }
        REPORT_FD.store(REPORT, Ordering::Relaxed);
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            report(2, -1);
            libc::_exit(1);
        }
    }
    let loaded = match filter {
        Filter::Hull(c) => hull::seccomp::install(c).is_ok(),
        Filter::Libseccomp(prog) => {
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads the program, alive for the call.
            unsafe {
                libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const libc::sock_fprog) == 0
            }
        }
    };
    if !loaded {
        report(2, -2);
        // SAFETY: _exit without running the parent's atexit handlers.
        unsafe { libc::_exit(1) }
    }
    let r = p.call();
    report(0, r);
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

fn run(filter: Filter, p: &Probe) -> Outcome {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child only makes raw syscalls (and, if hull's loader fails, builds its error)
    // before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: closing the child's copy of the read end.
        unsafe { libc::close(fds[0]) };
        child(fds[1], filter, p);
    }
    // SAFETY: closing our copy of the write end: the read below ends when the child is gone.
    unsafe { libc::close(fds[1]) };
    let mut msg = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: read(2) into a local buffer.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            msg.extend_from_slice(&buf[..n as usize]);
        } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    // SAFETY: closing the read end, ours.
    unsafe { libc::close(fds[0]) };
    let mut status = 0;
    // SAFETY: reaping our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
    if msg.len() >= 16 {
        let kind = i64::from_ne_bytes(msg[..8].try_into().unwrap());
        let value = i64::from_ne_bytes(msg[8..16].try_into().unwrap());
        return match kind {
            0 if (-4095..0).contains(&value) => Outcome::Errno(-value),
            0 => Outcome::Returned(value),
            1 => Outcome::Trapped(value as i32),
            _ => panic!("probe child: setting up failed ({value}) for {p}"),
        };
    }
    if libc::WIFSIGNALED(status) {
        Outcome::Killed(libc::WTERMSIG(status))
    } else {
        Outcome::Silent(libc::WEXITSTATUS(status))
    }
}

/// A profile, compiled both ways.
struct Pair {
    label: String,
    profile: Value,
    hull: Compiled,
    scmp: Vec<libc::sock_filter>,
}

impl Pair {
    fn new(label: &str, profile: Value) -> Pair {
        let hull = hull_compile(&profile, false);
        let scmp = libseccomp_program(&profile);
        Pair {
            label: label.to_string(),
            profile,
            hull,
            scmp,
        }
    }

    /// Run every probe under both filters; the mismatches, described.
    fn probe_all(&self, probes: &[Probe]) -> Vec<String> {
        let mut bad = Vec::new();
        for p in probes {
            let h = run(Filter::Hull(&self.hull), p);
            let l = run(Filter::Libseccomp(&self.scmp), p);
            if std::env::var_os("SECCOMP_DIFF_VERBOSE").is_some() {
                let line = format!("{}: {p}: hull {h:?}, libseccomp {l:?}\n", self.label);
                let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            }
            if h != l {
                bad.push(format!("{}: {p}: hull {h:?}, libseccomp {l:?}", self.label));
            }
        }
        bad
    }

    fn describe(&self) -> String {
        if self.profile.to_string().len() > 4000 {
            self.label.clone()
        } else {
            format!("{}: {}", self.label, self.profile)
        }
    }
}

fn assert_none(pairs: &[&Pair], bad: Vec<String>) {
    if !bad.is_empty() {
        let profiles: Vec<String> = pairs.iter().map(|p| p.describe()).collect();
        panic!(
            "{} mismatches:\n  {}\nprofiles:\n  {}",
            bad.len(),
            bad.join("\n  "),
            profiles.join("\n  ")
        );
    }
}

/// Allow what the probe child needs after loading (write, exit_group), unless the default does.
fn with_io(mut p: Value) -> Value {
    if p["defaultAction"] != "SCMP_ACT_ALLOW" {
        let list = p["syscalls"].as_array_mut().unwrap();
        list.push(json!({"names": ["write", "exit_group", "exit"], "action": "SCMP_ACT_ALLOW"}));
    }
    p
}

/// Argument vectors for the sweeps: the values the profiles and probes care about, boundaries,
/// and pseudo-random ones.
fn sweep_args() -> Vec<[u64; 6]> {
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    for v in [
        0u64,
        1,
        8,
        0x20000,
        0x20008,
        0x1234,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0008,
        0xffff_ffff_0000_0000,
        0x10000,
        0x10000 | 0x1000_0000,
        0x7e02_0000,
        0x2000_0000,
        0x8000_0000,
        16,
        40,
    ] {
        out.push([v, 0, 0, 0, 0, 0]);
        out.push([v, 3, 9, 0, 0, 0]);
    }
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..24 {
        let mut a = [0u64; 6];
        for x in a.iter_mut() {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly small values, sometimes big ones: rules compare small constants.
            *x = match s >> 62 {
                0 => s >> 60,
                1 => (s >> 32) & 0xffff,
                2 => s >> 32,
                _ => s,
            };
        }
        out.push(a);
    }
    out
}

/// Every syscall number of every listed architecture, plus numbers beyond the tables, through
/// both programs: the differing return values.
fn sweep(pair: &Pair, numbers: impl Fn(Abi) -> Vec<u32>) -> Vec<String> {
    let mut bad = Vec::new();
    let args = sweep_args();
    for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
        for nr in numbers(abi) {
            let nr = if abi == Abi::X32 { nr | X32_BIT } else { nr };
            // A syscall hull's tables know and libseccomp 2.5's do not (newer than it): hull
            // names it, libseccomp skips it. Not a disagreement about the BPF.
            let scmp_knows = ScmpSyscall::from_raw_syscall(nr as i32)
                .get_name_by_arch(abi.scmp())
                .is_ok();
            if !scmp_knows && tables::name(abi.arch(), nr).is_some() {
                continue;
            }
            for a in &args {
                let data = seccomp_data(abi.arch().audit_arch(), nr, *a);
                let (h, l) = (eval_all(&pair.hull, &data), eval(&pair.scmp, &data));
                if h != l {
                    let name = tables::name(abi.arch(), nr).unwrap_or("?");
                    bad.push(format!(
                        "{}: {abi:?} {name}#{nr:#x} {a:x?}: hull {h:#x}, libseccomp {l:#x}",
                        pair.label
                    ));
                    break;
                }
            }
        }
    }
    bad
}

fn all_numbers(abi: Abi) -> Vec<u32> {
    let max = tables::max_number(abi.arch()) & !X32_BIT;
    let mut v: Vec<u32> = (0..=max + 8).collect();
    v.extend([1000, 4095, 0x3fff_ffff]);
    if abi != Abi::X32 {
        v.extend([0x4000_0000 | 1, 0x7fff_ffff, 0xffff_ffff]);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// The real profiles.

/// A real profile from bundles/seccomp, with what the probe child needs allowed (`with_io`).
fn engine_profile(file: &str) -> Value {
    let path = format!("{}/bundles/seccomp/{file}", env!("CARGO_MANIFEST_DIR"));
    let s = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    with_io(serde_json::from_str(&s).unwrap())
}

/// Probes for the container profiles: (name, args), on each ABI that has the syscall.
fn container_probes() -> Vec<Probe> {
    const CLONE_THREAD: u64 = 0x10000;
    let calls: &[(&str, &[u64])] = &[
        ("getppid", &[]),
        ("read", &[u64::MAX, 0, 0]),
        ("personality", &[0xffff_ffff]),
        ("personality", &[0]),
        ("personality", &[8]),
        ("personality", &[0x20000]),
        ("personality", &[0x20008]),
        ("personality", &[0x1234]),
        ("personality", &[0x1_0000_0000]),
        // CLONE_THREAD without CLONE_SIGHAND: EINVAL whenever the filter lets it through.
        ("clone", &[CLONE_THREAD]),
        ("clone", &[CLONE_THREAD | libc::CLONE_NEWUSER as u64]),
        ("clone", &[CLONE_THREAD | libc::CLONE_NEWNS as u64]),
        ("clone", &[CLONE_THREAD | libc::CLONE_NEWNET as u64]),
        ("clone", &[CLONE_THREAD | libc::CLONE_NEWCGROUP as u64]),
        ("clone3", &[0, 0]),
        ("unshare", &[0]),
        ("unshare", &[libc::CLONE_NEWUTS as u64]),
        ("unshare", &[libc::CLONE_NEWUSER as u64]),
        (
            "socket",
            &[libc::AF_INET as u64, libc::SOCK_STREAM as u64, 0],
        ),
        (
            "socket",
            &[libc::AF_UNIX as u64, libc::SOCK_DGRAM as u64, 0],
        ),
        (
            "socket",
            &[libc::AF_PACKET as u64, libc::SOCK_RAW as u64, 0],
        ),
        (
            "socket",
            &[libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 9],
        ),
        (
            "socket",
            &[libc::AF_VSOCK as u64, libc::SOCK_STREAM as u64, 0],
        ),
        ("socketcall", &[1, 0]),
        ("socketcall", &[3, 0]),
        ("ipc", &[3, u32::MAX as u64, 0, 0]),
        ("keyctl", &[9999]),
        ("add_key", &[0, 0, 0, 0, 0]),
        ("request_key", &[0, 0, 0, 0]),
        ("swapon", &[0, 0]),
        ("swapoff", &[0]),
        ("sethostname", &[0, 1000]),
        ("setdomainname", &[0, 1000]),
        ("mount", &[0, 0, 0, 0, 0]),
        ("umount2", &[0, 0]),
        ("reboot", &[0, 0, 0, 0]),
        ("setns", &[u32::MAX as u64, 0]),
        ("io_uring_setup", &[0, 0]),
        ("bpf", &[9999, 0, 0]),
        ("ptrace", &[0x7777, 0, 0, 0]),
        ("init_module", &[0, 0, 0]),
        ("finit_module", &[u32::MAX as u64, 0, 0]),
        ("delete_module", &[0, 0]),
        ("kexec_load", &[0, 1000, 0, 0]),
        ("clock_settime", &[9999, 0]),
        ("open_by_handle_at", &[u32::MAX as u64, 0, 0]),
        ("perf_event_open", &[0, 0, 0, u32::MAX as u64, 0]),
        ("fanotify_init", &[0xffff_ffff, 0]),
        ("userfaultfd", &[0xffff]),
        ("iopl", &[4]),
        ("kcmp", &[0, 0, 99, 0, 0]),
        ("chroot", &[0]),
        ("syslog", &[9999, 0, 0]),
        ("quotactl", &[0, 0, 0, 0]),
        ("lookup_dcookie", &[0, 0, 0]),
        ("move_pages", &[0, 0, 0, 0, 0, 0xffff]),
        ("_llseek", &[u32::MAX as u64, 0, 0, 0, 0]),
        ("arch_prctl", &[0x9999, 0]),
        ("modify_ldt", &[9999, 0, 0]),
    ];
    let mut out = Vec::new();
    for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
        for (name, args) in calls {
            out.extend(probe(abi, name, args));
        }
        // Numbers no syscall has (ENOSYS when allowed), above and inside the table.
        for nr in [500, 1000] {
            out.push(raw_probe(abi, nr, &[]));
        }
    }
    out
}

fn container_profile_diff(file: &str) {
    let pair = Pair::new(file, engine_profile(file));
    let mut bad = pair.probe_all(&container_probes());
    bad.extend(sweep(&pair, all_numbers));
    assert_none(&[&pair], bad);
}

#[test]
fn docker_default_profile() {
    container_profile_diff("docker-default.json");
}

#[test]
fn podman_default_profile() {
    container_profile_diff("podman-default.json");
}

/// Podman's profile for a container without CAP_AUDIT_WRITE (`--cap-drop all`): the
/// unconditional `socket` rule becomes errno EINVAL for `socket(AF_NETLINK, *, NETLINK_AUDIT)`
/// and two allow rules for the rest (plus a duplicate), in podman's order: conditional rules
/// with different actions that never match the same call.
#[test]
fn podman_profile_without_audit_write() {
    let mut p = engine_profile("podman-default.json");
    let rules = p["syscalls"].as_array_mut().unwrap();
    let at = rules
        .iter()
        .position(|r| r["names"] == json!(["socket"]) && r.get("args").is_none())
        .expect("podman's profile allows socket");
    let ne9 = json!({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 9, "op": "SCMP_CMP_NE"}]});
    rules.splice(
        at..=at,
        [
            json!({"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [
                {"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]}),
            ne9.clone(),
            json!({"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_NE"}]}),
            ne9,
        ],
    );
    let pair = Pair::new("podman without CAP_AUDIT_WRITE", p);
    let mut probes = container_probes();
    for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
        for args in [
            [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 0],
            [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 9],
            [libc::AF_INET as u64, libc::SOCK_RAW as u64, 9],
            [libc::AF_NETLINK as u64, libc::SOCK_DGRAM as u64, 15],
        ] {
            probes.extend(probe(abi, "socket", &args));
        }
    }
    let mut bad = pair.probe_all(&probes);
    bad.extend(sweep(&pair, all_numbers));
    assert_none(&[&pair], bad);
}

// ---------------------------------------------------------------------------------------------
// Small profiles: every operator, action and architecture combination.

const ALL_ARCHES: [&str; 3] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// getppid ignores its arguments and cannot fail: the argument checks decide alone. The probes
/// put `v` in argument `index` on every ABI.
fn getppid_probes(index: usize, values: &[u64]) -> Vec<Probe> {
    let mut out = Vec::new();
    for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
        for &v in values {
            let mut args = [0u64; 6];
            args[index] = v;
            out.extend(probe(abi, "getppid", &args));
        }
    }
    out
}

/// Values around `v`, in both words.
fn around(v: u64) -> Vec<u64> {
    let mut out = vec![
        0,
        1,
        u64::MAX,
        u64::MAX - 1,
        0xffff_ffff,
        0x1_0000_0000,
        0x8000_0000_0000_0000,
    ];
    for d in [
        v.wrapping_sub(1),
        v,
        v.wrapping_add(1),
        v ^ (1 << 32),
        v ^ 1 << 63,
        v & 0xffff_ffff,
        v | 0xffff_ffff_0000_0000,
    ] {
        out.push(d);
    }
    for d in [v.wrapping_sub(1 << 32), v.wrapping_add(1 << 32)] {
        out.push(d);
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn every_operator_at_its_boundaries() {
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    for op in [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_GT",
        "SCMP_CMP_GE",
    ] {
        for v in [0x10u64, 0xffff_ffff, 0x1_0000_0010, 0xffff_ffff_ffff_fff0] {
            let p = with_io(json!({
                "defaultAction": "SCMP_ACT_ALLOW", "architectures": ALL_ARCHES,
                "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
                              "args": [{"index": 1, "value": v, "op": op}]}]
            }));
            pairs.push(Pair::new(&format!("{op} {v:#x}"), p));
            let probes = getppid_probes(1, &around(v));
            bad.extend(pairs.last().unwrap().probe_all(&probes));
        }
    }
    for (mask, datum) in [
        (0xffu64, 0x10u64),
        (0x7e02_0000, 0),
        (0xffff_0000_0000_0000, 0x1234_0000_0000_0000),
        (u64::MAX, 5),
        (0x1_0000_0001, 0x1_0000_0000),
        (0xf0, 0x0f),
    ] {
        let p = with_io(json!({
            "defaultAction": "SCMP_ACT_ERRNO", "architectures": ALL_ARCHES,
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": mask, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": datum}]}]
        }));
        pairs.push(Pair::new(&format!("MASKED_EQ {mask:#x} {datum:#x}"), p));
        let mut vals = around(datum);
        vals.extend([
            mask,
            !mask,
            datum | !mask,
            datum | 0x10_0000,
            0x10000 | 0x1000_0000,
        ]);
        bad.extend(pairs.last().unwrap().probe_all(&getppid_probes(0, &vals)));
    }
    for pair in &pairs {
        bad.extend(sweep(pair, |abi| {
            scmp_number(abi, "getppid")
                .map(|n| vec![n & !X32_BIT])
                .unwrap_or_default()
        }));
    }
    assert_none(&pairs.iter().collect::<Vec<_>>(), bad);
}

#[test]
fn argument_combinations() {
    let cases = [
        // AND of two arguments.
        (
            "and",
            json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]),
        ),
        // A repeated index: one rule per comparison, OR-ed (runc's split).
        (
            "or",
            json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]),
        ),
        // A repeated index with another argument: every comparison on its own.
        (
            "or3",
            json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                       {"index": 1, "value": 5, "op": "SCMP_CMP_GE"}]),
        ),
        // A range: AND of two comparisons on different arguments, all six arguments.
        (
            "six",
            json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_LE"},
                       {"index": 2, "value": 3, "op": "SCMP_CMP_NE"}, {"index": 3, "value": 4, "op": "SCMP_CMP_GT"},
                       {"index": 4, "value": 0xf, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 5}, {"index": 5, "value": 6, "op": "SCMP_CMP_LT"}]),
        ),
    ];
    let vectors: Vec<[u64; 6]> = vec![
        [1, 2, 0, 0, 0, 0],
        [1, 3, 0, 0, 0, 0],
        [0, 2, 0, 0, 0, 0],
        [2, 0, 0, 0, 0, 0],
        [3, 0, 0, 0, 0, 0],
        [3, 5, 0, 0, 0, 0],
        [3, 4, 0, 0, 0, 0],
        [1, 2, 4, 5, 0x15, 5],
        [1, 2, 3, 5, 0x15, 5],
        [1, 2, 4, 5, 0x15, 6],
        [1, 2, 4, 4, 0x15, 5],
        [1, 1 << 32 | 2, 4, 5, 0x15, 5],
        [1 << 32 | 1, 2, 0, 0, 0, 0],
    ];
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    for (label, args) in cases {
        for (default, action) in [
            ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"),
            ("SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"),
        ] {
            let p = with_io(json!({
                "defaultAction": default, "architectures": ALL_ARCHES,
                "syscalls": [{"names": ["getppid"], "action": action, "errnoRet": if action == "SCMP_ACT_ERRNO" { json!(13) } else { Value::Null }, "args": args}]
            }));
            let mut p = p;
            if action != "SCMP_ACT_ERRNO" {
                p["syscalls"][0].as_object_mut().unwrap().remove("errnoRet");
            }
            let pair = Pair::new(&format!("{label} {action}"), p);
            let mut probes = Vec::new();
            for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
                for v in &vectors {
                    probes.extend(probe(abi, "getppid", v));
                }
            }
            bad.extend(pair.probe_all(&probes));
            bad.extend(sweep(&pair, all_numbers));
            pairs.push(pair);
        }
    }
    assert_none(&pairs.iter().collect::<Vec<_>>(), bad);
}

/// Probes of getppid and personality on every ABI, plus a syscall the profiles never name.
fn action_probes() -> Vec<Probe> {
    let mut out = Vec::new();
    for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
        out.extend(probe(abi, "getppid", &[]));
        out.extend(probe(abi, "getppid", &[1]));
        out.extend(probe(abi, "getppid", &[2]));
        out.extend(probe(abi, "personality", &[0xffff_ffff]));
        out.extend(probe(abi, "getpgrp", &[]));
        out.push(raw_probe(abi, 1000, &[]));
    }
    out
}

#[test]
fn every_action() {
    let actions: &[(&str, Value)] = &[
        ("SCMP_ACT_ERRNO", Value::Null),
        ("SCMP_ACT_ERRNO", json!(0)),
        ("SCMP_ACT_ERRNO", json!(22)),
        // libseccomp refuses ERRNO(4095) and above (hull accepts them; the kernel clamps).
        ("SCMP_ACT_ERRNO", json!(4094)),
        ("SCMP_ACT_TRACE", Value::Null),
        ("SCMP_ACT_TRACE", json!(5)),
        ("SCMP_ACT_TRACE", json!(65535)),
        ("SCMP_ACT_LOG", Value::Null),
        ("SCMP_ACT_TRAP", Value::Null),
        ("SCMP_ACT_KILL", Value::Null),
        ("SCMP_ACT_KILL_THREAD", Value::Null),
        ("SCMP_ACT_KILL_PROCESS", Value::Null),
        ("SCMP_ACT_ALLOW", Value::Null),
    ];
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    let mut n = 0;
    for (default, derr) in actions {
        for (action, err) in actions {
            // Keep the number of forks reasonable: every action as a rule under three defaults,
            // every default under three rule actions.
            let interesting = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"];
            if !interesting.contains(default) && !interesting.contains(action) {
                continue;
            }
            let mut d = json!({"defaultAction": default, "architectures": ALL_ARCHES, "syscalls": [
                {"names": ["getppid"], "action": action, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": action},
            ]});
            if !derr.is_null() {
                d["defaultErrnoRet"] = derr.clone();
            }
            if !err.is_null() {
                d["syscalls"][0]["errnoRet"] = err.clone();
                d["syscalls"][1]["errnoRet"] = err.clone();
            }
            let pair = Pair::new(
                &format!("#{n} default {default}({derr}) rule {action}({err})"),
                with_io(d),
            );
            n += 1;
            bad.extend(pair.probe_all(&action_probes()));
            bad.extend(sweep(&pair, all_numbers));
            pairs.push(pair);
        }
    }
    assert_none(&pairs.iter().collect::<Vec<_>>(), bad);
}

#[test]
fn architecture_lists() {
    let lists: &[Value] = &[
        json!(null),
        json!([]),
        json!(["SCMP_ARCH_X86_64"]),
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]),
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]),
        json!(["SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]),
        json!(ALL_ARCHES),
        json!(["SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]),
        json!(["SCMP_ARCH_NATIVE", "SCMP_ARCH_X86"]),
        json!(["SCMP_ARCH_X86"]),
        json!(["SCMP_ARCH_X32"]),
        json!(["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ];
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    for (i, archs) in lists.iter().enumerate() {
        for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"] {
            let mut p = json!({"defaultAction": default, "syscalls": [
                {"names": ["getppid"], "action": if default == "SCMP_ACT_ALLOW" { "SCMP_ACT_ERRNO" } else { "SCMP_ACT_ALLOW" }},
                {"names": ["personality"], "action": "SCMP_ACT_TRAP"},
            ]});
            if !archs.is_null() {
                p["architectures"] = archs.clone();
            }
            let pair = Pair::new(&format!("#{i} {archs} {default}"), with_io(p));
            bad.extend(pair.probe_all(&action_probes()));
            bad.extend(sweep(&pair, all_numbers));
            pairs.push(pair);
        }
    }
    assert_none(&pairs.iter().collect::<Vec<_>>(), bad);
}

#[test]
fn rule_precedence() {
    let cond = json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]);
    let cond2 = json!([{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]);
    let cases: Vec<(&str, Value)> = vec![
        // An unconditional rule wins over conditional ones with another action, in either order.
        (
            "uncond after cond",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11, "args": cond},
                                     {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12}]),
        ),
        (
            "uncond before cond",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12},
                                      {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11, "args": cond}]),
        ),
        (
            "uncond trap and cond kill",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS", "args": cond},
                                             {"names": ["getppid"], "action": "SCMP_ACT_TRAP"}]),
        ),
        // Two unconditional rules: the first added wins.
        (
            "two uncond",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 21},
                              {"names": ["getppid", "getpgrp"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22}]),
        ),
        // Conditional rules with one action across entries: OR-ed.
        (
            "cond or across entries",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 31, "args": cond},
                                          {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 31, "args": cond2}]),
        ),
        // A conditional and an unconditional rule with one action.
        (
            "cond and uncond same action",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 41, "args": cond},
                                               {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 41}]),
        ),
        // A rule with the default action: skipped by both.
        (
            "default action rule",
            json!([{"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
                                       {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 51}]),
        ),
        // The same name twice in one entry, and unknown names.
        (
            "duplicates and unknown",
            json!([{"names": ["getppid", "getppid", "no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 61, "args": cond}]),
        ),
        // Names that exist on some ABIs only.
        (
            "arch-specific names",
            json!([{"names": ["arch_prctl", "_llseek", "socketcall", "stime", "waitpid", "ipc", "uselib", "nice", "time"], "action": "SCMP_ACT_ERRNO", "errnoRet": 71}]),
        ),
    ];
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    for (label, rules) in cases {
        let pair = Pair::new(
            label,
            with_io(
                json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ALL_ARCHES, "syscalls": rules}),
            ),
        );
        let mut probes = action_probes();
        for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
            for name in [
                "arch_prctl",
                "_llseek",
                "socketcall",
                "stime",
                "waitpid",
                "nice",
                "time",
            ] {
                probes.extend(probe(abi, name, &[0x9999, 0]));
            }
        }
        bad.extend(pair.probe_all(&probes));
        bad.extend(sweep(&pair, all_numbers));
        pairs.push(pair);
    }
    assert_none(&pairs.iter().collect::<Vec<_>>(), bad);
}

/// On i386 libseccomp turns a rule on a socket or SysV IPC syscall into a rule on the direct
/// syscall and one on socketcall(2)/ipc(2) with `a0 == call`.
#[test]
fn i386_socketcall_and_ipc() {
    let a0_unix = json!([{"index": 0, "value": libc::AF_UNIX, "op": "SCMP_CMP_EQ"}]);
    let cases: Vec<(&str, Value)> = vec![
        (
            "deny socket family and shmget",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["socket", "socketpair"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["bind"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": a0_unix},
            {"names": ["shmget", "semctl"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
        ),
        (
            "allow socket family, socketcall unlisted",
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["socket", "bind", "send"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["shmctl"], "action": "SCMP_ACT_ALLOW", "args": a0_unix}]}),
        ),
        (
            "socketcall listed: it wins",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["socketcall", "ipc"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14},
            {"names": ["shmget"], "action": "SCMP_ACT_TRAP"}]}),
        ),
        (
            "conditions on other arguments",
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["socket", "connect"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["bind", "shmget"], "action": "SCMP_ACT_TRAP", "args": [{"index": 2, "value": 5, "op": "SCMP_CMP_LE"}]},
                {"names": ["shmctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9, "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_LE"}]}]}),
        ),
        (
            "socketcall's own conditions",
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]}]}),
        ),
    ];
    let mut probes = Vec::new();
    for (name, args) in [
        ("socketcall", &[1u64, 0][..]),
        ("socketcall", &[2, 0]),
        ("socketcall", &[3, 0]),
        ("socketcall", &[8, 0]),
        ("socketcall", &[9, 0]),
        ("ipc", &[23, 0, 0, 0]),
        ("ipc", &[3, u32::MAX as u64, 0, 0]),
        ("ipc", &[24, u32::MAX as u64, 0, 0]),
    ] {
        probes.extend(probe(Abi::I386, name, args));
    }
    for (nr, args) in [
        (359, &[libc::AF_UNIX as u64, libc::SOCK_DGRAM as u64, 0][..]), // socket
        (359, &[libc::AF_INET as u64, libc::SOCK_DGRAM as u64, 0]),
        (360, &[libc::AF_UNIX as u64, libc::SOCK_DGRAM as u64, 0, 0]), // socketpair
        (361, &[u32::MAX as u64, 0, 0]),                               // bind
        (361, &[libc::AF_UNIX as u64, 0, 0]),
        (395, &[0, 0, 0]),               // shmget: size 0, EINVAL
        (396, &[u32::MAX as u64, 0, 0]), // shmctl
        (396, &[libc::AF_UNIX as u64, 0, 0]),
        (394, &[u32::MAX as u64, 0, 0, 0]), // semctl
    ] {
        probes.push(raw_probe(Abi::I386, nr, args));
    }
    let mut bad = Vec::new();
    let mut pairs = Vec::new();
    for (label, mut p) in cases {
        p["architectures"] = json!(ALL_ARCHES);
        let pair = Pair::new(label, with_io(p));
        bad.extend(pair.probe_all(&probes));
        bad.extend(sweep(&pair, all_numbers));
        pairs.push(pair);
    }
    assert_none(&pairs.iter().collect::<Vec<_>>(), bad);
}

// ---------------------------------------------------------------------------------------------
// What libseccomp does not do.

/// With the ENOSYS stub (runc's), a syscall numbered above every one the profile names fails
/// with ENOSYS under hull; plain libseccomp gives it the default errno. Below the highest
/// named number both give the default errno.
#[test]
fn enosys_stub_above_the_highest_named() {
    let p = with_io(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ALLOW"}]
    }));
    let hull = hull_compile(&p, true);
    let scmp = libseccomp_program(&p);
    // write, exit_group, exit and getppid are named: x86_64's highest is exit_group (231),
    // i386's exit_group (252).
    let above_64 = raw_probe(Abi::X86_64, 300, &[]); // fanotify_init
    let above_32 = raw_probe(Abi::I386, 300, &[]); // fstatfs64
    let below_64 = raw_probe(Abi::X86_64, 135, &[0xffff_ffff]); // personality
    let below_32 = raw_probe(Abi::I386, 136, &[0xffff_ffff]); // personality
    for (probe, want_hull, want_scmp) in [
        (&above_64, libc::ENOSYS, libc::EPERM),
        (&above_32, libc::ENOSYS, libc::EPERM),
        (&below_64, libc::EPERM, libc::EPERM),
        (&below_32, libc::EPERM, libc::EPERM),
    ] {
        let h = run(Filter::Hull(&hull), probe);
        let l = run(Filter::Libseccomp(&scmp), probe);
        assert_eq!(
            h,
            Outcome::Errno(i64::from(want_hull)),
            "hull with the stub: {probe}"
        );
        assert_eq!(
            l,
            Outcome::Errno(i64::from(want_scmp)),
            "libseccomp: {probe}"
        );
    }
    // The stub stays out of ALLOW-default profiles.
    let allow = with_io(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    let hull = hull_compile(&allow, true);
    assert_eq!(
        run(Filter::Hull(&hull), &raw_probe(Abi::X86_64, 1000, &[])),
        Outcome::Errno(i64::from(libc::ENOSYS))
    );
    assert_eq!(
        run(
            Filter::Hull(&hull),
            &raw_probe(Abi::X86_64, 300, &[u64::MAX, 0])
        ),
        Outcome::Errno(i64::from(libc::EINVAL))
    );
}

/// hull's syscall tables agree with libseccomp's wherever both know a name.
#[test]
fn tables_agree_with_libseccomp() {
    let mut bad = Vec::new();
    let mut newer = Vec::new();
    for abi in [Abi::X86_64, Abi::I386, Abi::X32] {
        for (name, nr) in tables::entries(abi.arch()) {
            match scmp_number(abi, name) {
                Some(n) if n == *nr => {}
                Some(n) => bad.push(format!("{abi:?} {name}: hull {nr:#x}, libseccomp {n:#x}")),
                // i386's socket and IPC names resolve to libseccomp's multiplexed pseudo
                // numbers; its number → name table still has the direct syscalls.
                None if ScmpSyscall::from_raw_syscall(*nr as i32)
                    .get_name_by_arch(abi.scmp())
                    .is_ok_and(|n| n == *name) => {}
                None => newer.push(format!("{abi:?} {name}")),
            }
        }
        for nr in all_numbers(abi) {
            let nr = if abi == Abi::X32 { nr | X32_BIT } else { nr };
            if let Ok(name) = ScmpSyscall::from_raw_syscall(nr as i32).get_name_by_arch(abi.scmp())
            {
                if tables::number(abi.arch(), &name) != Some(nr) {
                    bad.push(format!(
                        "{abi:?} {name}: libseccomp {nr:#x}, hull {:?}",
                        tables::number(abi.arch(), &name)
                    ));
                }
            }
        }
    }
    let msg = format!("names libseccomp 2.5 does not know: {}\n", newer.join(", "));
    let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
    assert!(bad.is_empty(), "tables disagree:\n  {}", bad.join("\n  "));
}

/// A profile too big for one hull program (libseccomp's is more compact): hull splits it into
/// a guard and one filter per architecture. The kernel's verdict over all of them (most severe
/// wins) must still be libseccomp's single program's.
#[test]
fn split_filters_compose_like_one() {
    let names: Vec<&str> = tables::entries(Arch::X86_64)
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !["write", "exit_group", "exit"].contains(n))
        .filter(|n| scmp_number(Abi::X86_64, n).is_some())
        .take(220)
        .collect();
    let mut rules = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let action = ["SCMP_ACT_ALLOW", "SCMP_ACT_TRAP", "SCMP_ACT_KILL_PROCESS"][i % 3];
        rules.push(json!({"names": [n], "action": action, "args": [
            {"index": i % 6, "value": i, "op": "SCMP_CMP_EQ"},
            {"index": (i + 1) % 6, "value": 0xff, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": i % 256}]}));
    }
    for default in ["SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW"] {
        let p = with_io(
            json!({"defaultAction": default, "architectures": ALL_ARCHES, "syscalls": rules}),
        );
        let pair = Pair::new(&format!("220 conditional rules, default {default}"), p);
        assert!(
            pair.hull.filters.len() > 1,
            "expected a split, got one program of {}",
            pair.hull.filters[0].program.len()
        );
        let bad = sweep(&pair, all_numbers);
        assert_none(&[&pair], bad);
    }
}

// ---------------------------------------------------------------------------------------------
// Found by the `seccomp` fuzz target (fuzz/fuzz_targets/seccomp.rs): its inputs, as literals.

/// The kernel's verdict over hull's filters for one x86_64 call.
fn verdict(c: &Compiled, name: &str, args: [u64; 6]) -> u32 {
    let nr = tables::number(Arch::X86_64, name).unwrap();
    eval_all(c, &seccomp_data(Arch::X86_64.audit_arch(), nr, args))
}

/// A notify rule with arguments used to be an unconditional ALLOW in the main filter: a call
/// whose arguments matched no notify rule was allowed instead of getting the default (KILL).
#[test]
fn fuzz_conditional_notify_keeps_the_default_for_other_arguments() {
    let p = json!({"defaultAction":"SCMP_ACT_KILL","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"listenerPath":"/run/hull-fuzz.sock","syscalls":[{"names":["personality","no_such_syscall","mmap"],"action":"SCMP_ACT_KILL_THREAD"},{"names":["time","bind","socket"],"action":"SCMP_ACT_TRACE","args":[{"index":0,"value":18446744073709551614u64,"op":"SCMP_CMP_MASKED_EQ"},{"index":2,"value":4294967295u64,"valueTwo":6999192093282535980u64,"op":"SCMP_CMP_LT"}]},{"names":["setfsuid"],"action":"SCMP_ACT_NOTIFY","args":[{"index":0,"value":18446744073709551615u64,"op":"SCMP_CMP_EQ"},{"index":1,"value":91,"valueTwo":32,"op":"SCMP_CMP_EQ"},{"index":1,"value":5207096034895875395u64,"op":"SCMP_CMP_GE"}]},{"names":["read","_sysctl"],"action":"SCMP_ACT_KILL"}]});
    let (notify, kill) = (0x7fc0_0000, 0);
    for enosys_stub in [false, true] {
        let c = hull_compile(&p, enosys_stub);
        assert_eq!(verdict(&c, "setfsuid", [0; 6]), kill, "no rule matches");
        assert_eq!(verdict(&c, "setfsuid", [0, 91, 0, 0, 0, 0]), notify);
        assert_eq!(verdict(&c, "setfsuid", [u64::MAX, 0, 0, 0, 0, 0]), notify);
        assert_eq!(verdict(&c, "getppid", [0; 6]), kill);
    }
}
