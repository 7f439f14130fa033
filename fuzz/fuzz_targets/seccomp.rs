//! Fuzz target `seccomp`: a `linux.seccomp` profile through `hull::seccomp::compile`, with and
//! without the ENOSYS stub. Input starting with `{` is the profile's JSON (the seeds are
//! docker's and podman's profiles); any other input drives a generator of small profiles over
//! a few interesting syscalls, actions, operators and values (`arbitrary`).
//!
//! Beyond "no panic": every program hull emits must pass the kernel's static checks, and on
//! probes — each architecture (and a foreign one), the numbers the profile names and some it
//! does not, argument vectors at and around every comparison's value — the kernel's verdict over
//! all of hull's filters (the classic BPF interpreter of tests/common/cbpf.rs) must be what the
//! profile says, read straight from the JSON:
//! - an architecture that is neither native nor listed: KILL_THREAD;
//! - a number no rule with a non-default action names: the default action (ERRNO(ENOSYS) above
//!   the highest number the profile names, with the stub, unless the default is ALLOW, LOG or
//!   ERRNO(ENOSYS));
//! - else the first such unconditional rule's action; else the action of the conditional rules
//!   that match (AND of comparisons; one alternative per comparison when an index repeats; the
//!   low 32 bits on i386 and x32; MASKED_EQ as libseccomp has it, `arg & value == valueTwo &
//!   value`), or the default when none does. Conditional rules of two
//!   actions that both match a probe mean hull should have refused the profile.
//!
//! Not modelled (not checked): i386 socketcall(2)/ipc(2), which carry libseccomp's rewriting
//! of socket and SysV IPC rules (tests/seccomp_diff.rs compares those with libseccomp).
#![no_main]

use arbitrary::{Result as AResult, Unstructured};
use hull::seccomp::tables::{self, Arch};
use hull::seccomp::{Compiled, Options};
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompOperator as O};
use serde_json::{json, Value};

#[path = "../../tests/common/cbpf.rs"]
mod cbpf;

const X32_BIT: u32 = tables::X32_SYSCALL_BIT;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
const KILL_THREAD: u32 = 0;
const ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

// ---------------------------------------------------------------------------------------------
// The generator.

const ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];
const OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
const ARCHES: [&str; 5] = [
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_NATIVE",
    "SCMP_ARCH_AARCH64",
];
const FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];
/// Syscalls with a story: i386-multiplexed ones, the multiplexers, the probe's own, a name no
/// table has, ones only some ABIs have, the newest.
const NAMES: [&str; 20] = [
    "read",
    "write",
    "getppid",
    "personality",
    "socket",
    "bind",
    "shmget",
    "semop",
    "socketcall",
    "ipc",
    "clone",
    "clone3",
    "openat",
    "exit_group",
    "arch_prctl",
    "mmap",
    "mmap2",
    "no_such_syscall",
    "futex_waitv",
    "mseal",
];

fn value(u: &mut Unstructured) -> AResult<u64> {
    Ok(match u.int_in_range(0..=11)? {
        0 => 0,
        1 => 1,
        2 => 8,
        3 => 0xffff_ffff,
        4 => 0x1_0000_0000,
        5 => 0x1_0000_0001,
        6 => u64::MAX,
        7 => u64::MAX - 1,
        8 => u64::from(u.arbitrary::<u8>()?),
        9 => u64::from(u.arbitrary::<u32>()?),
        _ => u.arbitrary()?,
    })
}

/// An action and, sometimes, an errnoRet (also where hull must refuse one).
fn action(
    u: &mut Unstructured,
    obj: &mut serde_json::Map<String, Value>,
    key: &str,
    errno_key: &str,
) -> AResult<()> {
    obj.insert(key.into(), json!(u.choose(&ACTIONS)?));
    match u.int_in_range(0..=7)? {
        0 | 1 => {
            obj.insert(errno_key.into(), json!(u.int_in_range(0u32..=200)?));
        }
        2 => {
            obj.insert(errno_key.into(), json!(u.arbitrary::<u32>()?));
        }
        _ => {}
    }
    Ok(())
}

fn name(u: &mut Unstructured) -> AResult<String> {
    if u.ratio(1, 3)? {
        let all = tables::entries(*u.choose(&Arch::all())?);
        return Ok(all[u.choose_index(all.len())?].0.to_string());
    }
    Ok(u.choose(&NAMES)?.to_string())
}

fn generate(u: &mut Unstructured) -> AResult<Value> {
    let mut p = serde_json::Map::new();
    action(u, &mut p, "defaultAction", "defaultErrnoRet")?;
    if u.ratio(3, 4)? {
        let mut arches = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            arches.push(json!(u.choose(&ARCHES)?));
        }
        p.insert("architectures".into(), Value::Array(arches));
    }
    if u.ratio(1, 4)? {
        p.insert("flags".into(), json!([u.choose(&FLAGS)?]));
    }
    if u.ratio(1, 2)? {
        p.insert("listenerPath".into(), json!("/run/hull-fuzz.sock"));
    }
    let mut rules = Vec::new();
    for _ in 0..u.int_in_range(0..=8)? {
        let mut r = serde_json::Map::new();
        let names = (0..u.int_in_range(1..=3)?)
            .map(|_| name(u))
            .collect::<AResult<Vec<_>>>()?;
        r.insert("names".into(), json!(names));
        action(u, &mut r, "action", "errnoRet")?;
        let mut args = Vec::new();
        for _ in 0..u.int_in_range(0..=3)? {
            let mut a = json!({
                "index": if u.ratio(1, 40)? { 6 } else { u.int_in_range(0..=2)? },
                "value": value(u)?,
                "op": u.choose(&OPS)?,
            });
            if u.ratio(1, 2)? {
                a["valueTwo"] = json!(value(u)?);
            }
            args.push(a);
        }
        if !args.is_empty() {
            r.insert("args".into(), Value::Array(args));
        }
        rules.push(Value::Object(r));
    }
    p.insert("syscalls".into(), Value::Array(rules));
    Ok(Value::Object(p))
}

// ---------------------------------------------------------------------------------------------
// The profile's intent, read from the OCI structure (not from hull's plan).

fn ret_of(a: A, errno: Option<u32>) -> u32 {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    match a {
        A::ScmpActKill | A::ScmpActKillThread => KILL_THREAD,
        A::ScmpActKillProcess => 0x8000_0000,
        A::ScmpActTrap => 0x0003_0000,
        A::ScmpActErrno => 0x0005_0000 | errno,
        A::ScmpActTrace => 0x7ff0_0000 | errno,
        A::ScmpActLog => 0x7ffc_0000,
        A::ScmpActAllow => 0x7fff_0000,
        A::ScmpActNotify => 0x7fc0_0000,
    }
}

#[derive(Debug)]
struct Cond {
    index: usize,
    op: O,
    value: u64,
    value_two: u64,
}

impl Cond {
    /// Whether argument value `arg` passes, on a 64-bit (`low` false) or 32-bit ABI.
    fn holds(&self, arg: u64, low: bool) -> bool {
        let m = if low { u64::from(u32::MAX) } else { u64::MAX };
        let (a, v) = (arg & m, self.value & m);
        match self.op {
            O::ScmpCmpNe => a != v,
            O::ScmpCmpLt => a < v,
            O::ScmpCmpLe => a <= v,
            O::ScmpCmpEq => a == v,
            O::ScmpCmpGe => a >= v,
            O::ScmpCmpGt => a > v,
            // libseccomp (so runc) masks the datum too: bits outside the mask never count.
            O::ScmpCmpMaskedEq => a & v == self.value_two & v,
        }
    }

    /// A value that passes (for 64-bit comparisons; the low word passes on 32-bit ABIs too,
    /// except at the 32-bit edges, which the neighbours probe).
    fn passing(&self) -> u64 {
        let v = self.value;
        match self.op {
            O::ScmpCmpNe | O::ScmpCmpGt => v.wrapping_add(1),
            O::ScmpCmpLt => v.wrapping_sub(1),
            O::ScmpCmpLe | O::ScmpCmpEq | O::ScmpCmpGe => v,
            O::ScmpCmpMaskedEq => self.value_two & v,
        }
    }
}

struct Rule {
    /// The numbers its names have on each ABI (`Arch::all()` order), sorted.
    nrs: [Vec<u32>; 3],
    ret: u32,
    conds: Vec<Cond>,
    /// An index compared twice: each comparison is an alternative (runc's split).
    split: bool,
}

impl Rule {
    fn matches(&self, args: &[u64; 6], low: bool) -> bool {
        let holds = |c: &Cond| c.holds(args[c.index], low);
        if self.split {
            self.conds.iter().any(holds)
        } else {
            self.conds.iter().all(holds)
        }
    }

    fn names_nr(&self, abi: Arch, nr: u32) -> bool {
        self.nrs[abi_index(abi)].binary_search(&nr).is_ok()
    }
}

fn abi_index(abi: Arch) -> usize {
    Arch::all().iter().position(|a| *a == abi).unwrap()
}

struct Model {
    /// The profile, for messages.
    json: String,
    default: u32,
    arches: Vec<Arch>,
    rules: Vec<Rule>,
}

impl Model {
    fn new(s: &LinuxSeccomp) -> Model {
        let mut arches = vec![Arch::X86_64];
        for a in s.architectures().iter().flatten() {
            let name = serde_json::to_value(a).unwrap();
            if let Some(x) = Arch::from_oci(name.as_str().unwrap()) {
                arches.push(x);
            }
        }
        let rules = s
            .syscalls()
            .iter()
            .flatten()
            .map(|r| {
                let conds: Vec<Cond> = r
                    .args()
                    .iter()
                    .flatten()
                    .map(|a| Cond {
                        index: a.index(),
                        op: a.op(),
                        value: a.value(),
                        value_two: a.value_two().unwrap_or(0),
                    })
                    .collect();
                let split = conds
                    .iter()
                    .enumerate()
                    .any(|(i, c)| conds[..i].iter().any(|d| d.index == c.index));
                let nrs = Arch::all().map(|abi| {
                    let mut v: Vec<u32> = r
                        .names()
                        .iter()
                        .filter_map(|n| tables::number(abi, n))
                        .collect();
                    v.sort_unstable();
                    v
                });
                Rule {
                    nrs,
                    ret: ret_of(r.action(), r.errno_ret()),
                    conds,
                    split,
                }
            })
            .collect();
        Model {
            json: serde_json::to_string(s).unwrap_or_default(),
            default: ret_of(s.default_action(), s.default_errno_ret()),
            arches,
            rules,
        }
    }

    /// The highest number on `abi` of any name in the profile.
    fn max_named(&self, abi: Arch) -> Option<u32> {
        self.rules
            .iter()
            .filter_map(|r| r.nrs[abi_index(abi)].last().copied())
            .max()
    }

    /// The verdict the profile asks for; `None` where this model does not say.
    fn expect(&self, abi: Option<Arch>, nr: u32, args: &[u64; 6], enosys: bool) -> Option<u32> {
        let Some(abi) = abi.filter(|a| self.arches.contains(a)) else {
            return Some(KILL_THREAD);
        };
        if abi == Arch::X86 && (nr == 102 || nr == 117) {
            return None; // socketcall, ipc
        }
        let low = matches!(abi, Arch::X86 | Arch::X32);
        let mut matched: Vec<u32> = Vec::new();
        let naming = self
            .rules
            .iter()
            .filter(|r| r.ret != self.default && r.names_nr(abi, nr));
        // The first unconditional rule wins, wherever the conditional ones stand.
        if let Some(r) = naming.clone().find(|r| r.conds.is_empty()) {
            return Some(r.ret);
        }
        for r in naming {
            if r.matches(args, low) && !matched.contains(&r.ret) {
                matched.push(r.ret);
            }
        }
        match matched.as_slice() {
            [] => {}
            [one] => return Some(*one),
            more => panic!(
                "{abi:?} nr {nr:#x} {args:x?}: conditional rules with actions {more:x?} all match, yet hull compiled the profile\nprofile: {}",
                self.json
            ),
        }
        let stub = enosys && !matches!(self.default, 0x7fff_0000 | 0x7ffc_0000 | ENOSYS);
        if stub && self.max_named(abi).is_some_and(|m| nr > m) {
            return Some(ENOSYS);
        }
        Some(self.default)
    }
}

// ---------------------------------------------------------------------------------------------
// The probes.

/// Argument vectors for a number: none set, all set, and for every rule naming it one that
/// passes all its comparisons, then each comparison's value and neighbours in its place.
fn arg_vectors(m: &Model, abi: Arch, nr: u32) -> Vec<[u64; 6]> {
    let mut out = vec![[0u64; 6], [u64::MAX; 6]];
    for r in m.rules.iter().filter(|r| r.names_nr(abi, nr)) {
        let mut pass = [0u64; 6];
        for c in r.conds.iter().rev() {
            pass[c.index] = c.passing();
        }
        out.push(pass);
        for c in &r.conds {
            for v in [
                c.value,
                c.value.wrapping_sub(1),
                c.value.wrapping_add(1),
                c.value_two,
                c.value ^ 0x1_0000_0000,
                c.value & 0xffff_ffff,
            ] {
                let mut a = pass;
                a[c.index] = v;
                out.push(a);
            }
        }
        if out.len() > 48 {
            break;
        }
    }
    out
}

/// (audit arch, ABI as the filter should see it, number) to probe.
fn numbers(m: &Model) -> Vec<(u32, Option<Arch>, u32)> {
    let mut out = Vec::new();
    for abi in Arch::all() {
        let mut nrs: Vec<u32> = m
            .rules
            .iter()
            .flat_map(|r| r.nrs[abi_index(abi)].iter().copied())
            .collect();
        nrs.sort_unstable();
        nrs.dedup();
        // Big profiles: a spread of their numbers.
        let step = nrs.len() / 40 + 1;
        let mut nrs: Vec<u32> = nrs.into_iter().step_by(step).collect();
        let base = if abi == Arch::X32 { X32_BIT } else { 0 };
        if let Some(max) = m.max_named(abi) {
            nrs.extend([max, max.wrapping_add(1)]);
        }
        nrs.extend([
            base,
            base + 1,
            tables::max_number(abi) + 1,
            base | 0x3fff_ffff,
        ]);
        if abi == Arch::X86_64 {
            nrs.push(u32::MAX); // what a tracer sets to skip a syscall: x86_64's
        }
        if abi == Arch::X86 {
            nrs.push(u32::MAX);
        }
        for nr in nrs {
            out.push((abi.audit_arch(), Some(abi), nr));
        }
    }
    out.push((AUDIT_ARCH_AARCH64, None, 0));
    out.push((AUDIT_ARCH_AARCH64, None, 63));
    out
}

fn check(s: &LinuxSeccomp, c: &Compiled, enosys: bool) {
    for f in &c.filters {
        if let Some(bad) = cbpf::check(&f.program) {
            panic!("hull emitted a program the kernel refuses: {bad}");
        }
    }
    let m = Model::new(s);
    for (audit, abi, nr) in numbers(&m) {
        let args = abi
            .map(|a| arg_vectors(&m, a, nr))
            .unwrap_or_else(|| vec![[0; 6]]);
        for a in args {
            let Some(want) = m.expect(abi, nr, &a, enosys) else {
                continue;
            };
            let got = cbpf::eval_all(c, &cbpf::seccomp_data(audit, nr, a));
            assert_eq!(
                got, want,
                "{abi:?} (arch {audit:#x}) nr {nr:#x} args {a:x?}, enosys stub {enosys}: hull's filters return {got:#x}, the profile says {want:#x}\nprofile: {}",
                m.json
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    hull_fuzz::quiet_logs();
    let s: LinuxSeccomp = if data.first() == Some(&b'{') {
        match serde_json::from_slice(data) {
            Ok(s) => s,
            Err(_) => return,
        }
    } else {
        let Ok(v) = generate(&mut Unstructured::new(data)) else {
            return;
        };
        match serde_json::from_value(v) {
            Ok(s) => s,
            Err(_) => return,
        }
    };
    for enosys in [false, true] {
        if let Ok(c) = hull::seccomp::compile(
            &s,
            &Options {
                enosys_stub: enosys,
            },
        ) {
            check(&s, &c, enosys);
        }
    }
});
