//! The emitter. seccompiler builds each action group's body (one `SeccompFilter` per action:
//! its syscall chains and argument checks, with a placeholder match action and a sentinel
//! mismatch action). We drop seccompiler's own architecture check, turn every sentinel return
//! into a jump to the next group, patch the placeholder into the group's real return value
//! (seccompiler has no USER_NOTIF), and stitch the groups behind our prologue:
//!
//! ```text
//!   ld arch
//!   jeq X86_64 → x86_64 block      (x86_64 and x32 share AUDIT_ARCH_X86_64)
//!   jeq I386   → i386 block
//!   ret KILL_THREAD                (any other architecture, libseccomp's bad-arch action)
//! x86_64 block: ld nr; nr ≥ 0x40000000 (but not -1) → x32 block, or KILL_THREAD when x32
//!   is not listed (the x32 guard: `nr | 0x40000000` can never slip past a deny rule);
//!   [nr > highest named → ERRNO(ENOSYS)]; groups; ret default
//! x32 block / i386 block: the same with their numbers (both compare 32-bit arguments)
//! ```
//! The ENOSYS stub (runc's) makes a syscall newer than every one the profile names fail with
//! ENOSYS instead of the default errno, so new libcs fall back to older calls.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::LinuxSeccomp;
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::plan::{self, Action, ArchPlan, Cond, Op};
use super::tables::Arch;
use crate::error::{Error, Result};

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGT_K: u16 = 0x25;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const X32_BIT: u32 = 0x4000_0000;

// seccompiler only ever returns these two values in a group body.
const PLACEHOLDER: u32 = 0x7ff0_0000 | 0xfff1;
const SENTINEL: u32 = 0x7ff0_0000 | 0xfff2;

/// Compiler options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Return ENOSYS for syscalls numbered above every one the profile names (runc does; the
    /// differential tests against plain libseccomp turn it off).
    pub enosys_stub: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { enosys_stub: true }
    }
}

/// One BPF program.
#[derive(Clone, Debug)]
pub struct Filter {
    /// The instructions.
    pub program: Vec<libc::sock_filter>,
    /// Loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER (the notify filter).
    pub new_listener: bool,
}

/// Filters ready to load, in order.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The programs (usually one).
    pub filters: Vec<Filter>,
    /// seccomp(2) flags (NEW_LISTENER added by the loader when `notify`).
    pub flags: u32,
    /// Whether the program can return USER_NOTIF.
    pub notify: bool,
    /// Where the listener fd goes.
    pub listener_path: Option<PathBuf>,
    /// Passed to the listener with the state.
    pub listener_metadata: Option<String>,
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn condition(c: &Cond, arch: Arch) -> Result<SeccompCondition> {
    let (len, mask) = if matches!(arch, Arch::X86 | Arch::X32) {
        // 32-bit ABIs carry 32-bit arguments: compare the low word only. libseccomp (so runc
        // and crun) treats x32 as a 32-bit architecture too, whatever the upper halves of the
        // registers hold.
        (SeccompCmpArgLen::Dword, u64::from(u32::MAX))
    } else {
        (SeccompCmpArgLen::Qword, u64::MAX)
    };
    let (op, value) = match c.op {
        Op::Ne => (SeccompCmpOp::Ne, c.value),
        Op::Lt => (SeccompCmpOp::Lt, c.value),
        Op::Le => (SeccompCmpOp::Le, c.value),
        Op::Eq => (SeccompCmpOp::Eq, c.value),
        Op::Ge => (SeccompCmpOp::Ge, c.value),
        Op::Gt => (SeccompCmpOp::Gt, c.value),
        Op::MaskedEq => (SeccompCmpOp::MaskedEq(c.value & mask), c.value_two),
    };
    SeccompCondition::new(c.index, len, op, value & mask)
        .map_err(|e| Error::Msg(format!("seccomp: argument {}: {e}", c.index)))
}

/// The stitched group bodies of one architecture (ending by falling through).
fn groups(ap: &ArchPlan) -> Result<Vec<libc::sock_filter>> {
    let mut by_action: BTreeMap<Action, BTreeMap<i64, Vec<SeccompRule>>> = BTreeMap::new();
    // `also` holds a syscall's entries for other actions: each lands in its action's group.
    for (nr, e) in ap.syscalls.iter().chain(ap.also.iter().map(|(nr, e)| (nr, e))) {
        let rules = e
            .rules
            .iter()
            .map(|conds| {
                let cs = conds.iter().map(|c| condition(c, ap.arch)).collect::<Result<Vec<_>>>()?;
                SeccompRule::new(cs).map_err(|e| Error::Msg(format!("seccomp: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        by_action.entry(e.action).or_default().insert(i64::from(*nr), rules);
    }
    let mut out = Vec::new();
    for (action, rules) in by_action {
        let filter = SeccompFilter::new(rules, SeccompAction::Trace(SENTINEL & 0xffff), SeccompAction::Trace(PLACEHOLDER & 0xffff), TargetArch::x86_64)
            .map_err(|e| Error::Msg(format!("seccomp: {e}")))?;
        let prog: BpfProgram = filter.try_into().map_err(|e| Error::Msg(format!("seccomp: {e}")))?;
        // seccompiler starts with its own 3-instruction architecture check: ours replaces it.
        let body: Vec<sock_filter> = prog.into_iter().skip(3).collect();
        let n = body.len();
        let real = action.ret();
        for (i, ins) in body.into_iter().enumerate() {
            let patched = if ins.code == BPF_RET_K && ins.k == SENTINEL {
                // Not this group's: continue with the next group (just past this body).
                stmt(BPF_JMP_JA, (n - i - 1) as u32)
            } else if ins.code == BPF_RET_K && ins.k == PLACEHOLDER {
                stmt(BPF_RET_K, real)
            } else {
                jump(ins.code, ins.k, ins.jt, ins.jf)
            };
            out.push(patched);
        }
    }
    Ok(out)
}

/// One architecture's block: the syscall number is in A on entry.
fn block(ap: &ArchPlan, default: Action, o: &Options) -> Result<Vec<libc::sock_filter>> {
    let mut out = Vec::new();
    let stub = o.enosys_stub && !matches!(default, Action::Allow | Action::Log | Action::Errno(38));
    if let (true, Some(max)) = (stub, ap.max_named) {
        out.push(jump(BPF_JMP_JGT_K, max, 0, 1));
        out.push(stmt(BPF_RET_K, Action::Errno(libc::ENOSYS as u16).ret()));
    }
    let g = groups(ap)?;
    // Every group body reloads the number, but the stub above needs it loaded already.
    out.extend(g);
    out.push(stmt(BPF_RET_K, default.ret()));
    Ok(out)
}

/// One program over the given architecture plans: listed architectures get their blocks,
/// the others (and x32 numbers when x32 is not in `arches`) return `absent`.
fn assemble(arches: &[ArchPlan], default: Action, absent: Action, o: &Options) -> Result<Vec<libc::sock_filter>> {
    let find = |a: Arch| arches.iter().find(|p| p.arch == a);
    let absent_ret = stmt(BPF_RET_K, absent.ret());
    let i386 = find(Arch::X86).map(|ap| block(ap, default, o)).transpose()?;
    // The x32 block is entered with A = nr, which carries the x32 bit.
    let x32 = find(Arch::X32).map(|ap| block(ap, default, o)).transpose()?;
    let native = match find(Arch::X86_64) {
        Some(ap) => block(ap, default, o)?,
        None => vec![absent_ret],
    };

    let mut x86_64_entry = vec![stmt(BPF_LD_W_ABS, DATA_NR)];
    // The x32 guard: nr ≥ X32_BIT is x32's, never x86_64's, except nr = -1 (what a tracer
    // sets to skip a syscall), which libseccomp hands to the x86_64 rules.
    x86_64_entry.push(jump(BPF_JMP_JGE_K, X32_BIT, 0, 2));
    x86_64_entry.push(jump(BPF_JMP_JEQ_K, u32::MAX, 1, 0));
    if x32.is_some() {
        x86_64_entry.push(stmt(BPF_JMP_JA, native.len() as u32)); // over the native block
    } else {
        x86_64_entry.push(absent_ret);
    }
    x86_64_entry.extend(native);
    let x32 = x32.unwrap_or_default();
    let i386 = i386.map(|b| {
        let mut v = vec![stmt(BPF_LD_W_ABS, DATA_NR)];
        v.extend(b);
        v
    });

    // Dispatch on the architecture; `ja k` lands on pc + 1 + k.
    let mut prog = vec![stmt(BPF_LD_W_ABS, DATA_ARCH), jump(BPF_JMP_JEQ_K, Arch::X86_64.audit_arch(), 0, 1)];
    let dispatch_len = if i386.is_some() { 6 } else { 4 };
    prog.push(stmt(BPF_JMP_JA, (dispatch_len - 3) as u32));
    if i386.is_some() {
        prog.push(jump(BPF_JMP_JEQ_K, Arch::X86.audit_arch(), 0, 1));
        let i386_at = dispatch_len + x86_64_entry.len() + x32.len();
        prog.push(stmt(BPF_JMP_JA, (i386_at - 5) as u32));
    }
    prog.push(absent_ret);
    debug_assert_eq!(prog.len(), dispatch_len);
    prog.extend(x86_64_entry);
    prog.extend(x32);
    prog.extend(i386.unwrap_or_default());
    Ok(prog)
}

const BPF_MAXINSNS: usize = 4096;

fn too_big(n: usize, what: &str) -> Error {
    Error::invalid(format!("linux.seccomp: the {what} has {n} instructions, more than the kernel's {BPF_MAXINSNS}"))
}

/// Compile a profile into one filter when it fits, else one filter per architecture behind a
/// guard that kills unlisted architectures (the kernel applies every filter and keeps the most
/// severe verdict, so filters that return ALLOW for what is not theirs compose exactly). Rules
/// that notify go into one more filter of their own, loaded with NEW_LISTENER (a task may
/// have one listener), and count as ALLOW in the others (USER_NOTIF outranks ALLOW).
pub fn compile(s: &LinuxSeccomp, o: &Options) -> Result<Compiled> {
    let plan = plan::plan(s)?;
    let mut main = plan.arches.clone();
    let mut notify_arches = Vec::new();
    for ap in &mut main {
        let notify: BTreeMap<u32, plan::Entry> =
            ap.syscalls.iter().filter(|(_, e)| e.action == Action::Notify).map(|(k, e)| (*k, e.clone())).collect();
        if !notify.is_empty() {
            for (nr, e) in ap.syscalls.iter_mut() {
                if notify.contains_key(nr) {
                    e.action = Action::Allow;
                    e.rules.clear();
                }
            }
            if plan.default == Action::Allow {
                ap.syscalls.retain(|_, e| e.action != Action::Allow);
            }
            notify_arches.push(ArchPlan { arch: ap.arch, syscalls: notify, max_named: None, also: Vec::new() });
        }
    }
    let mut filters = Vec::new();
    let single = assemble(&main, plan.default, Action::KillThread, o)?;
    if single.len() <= BPF_MAXINSNS {
        filters.push(Filter { program: single, new_listener: false });
    } else {
        let guard_plans: Vec<ArchPlan> =
            main.iter().map(|ap| ArchPlan { arch: ap.arch, syscalls: BTreeMap::new(), max_named: None, also: Vec::new() }).collect();
        filters.push(Filter { program: assemble(&guard_plans, Action::Allow, Action::KillThread, o)?, new_listener: false });
        for ap in &main {
            let prog = assemble(std::slice::from_ref(ap), plan.default, Action::Allow, o)?;
            if prog.len() > BPF_MAXINSNS {
                return Err(too_big(prog.len(), &format!("{} filter", ap.arch.oci_name())));
            }
            filters.push(Filter { program: prog, new_listener: false });
        }
    }
    if !notify_arches.is_empty() {
        let prog = assemble(&notify_arches, Action::Allow, Action::Allow, &Options { enosys_stub: false })?;
        if prog.len() > BPF_MAXINSNS {
            return Err(too_big(prog.len(), "notify filter"));
        }
        filters.push(Filter { program: prog, new_listener: true });
    }
    Ok(Compiled {
        filters,
        flags: plan.flags,
        notify: plan.notify,
        listener_path: plan.listener_path,
        listener_metadata: plan.listener_metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(v: serde_json::Value) -> Vec<libc::sock_filter> {
        let c = compile(&serde_json::from_value(v).unwrap(), &Options { enosys_stub: false }).unwrap();
        assert_eq!(c.filters.len(), 1);
        c.filters.into_iter().next().unwrap().program
    }

    fn ins(p: &[libc::sock_filter]) -> Vec<(u16, u8, u8, u32)> {
        p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    #[test]
    fn x86_64_alone_has_the_x32_guard() {
        let p = program(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}));
        let kill = Action::KillThread.ret();
        assert_eq!(
            ins(&p),
            vec![
                (BPF_LD_W_ABS, 0, 0, DATA_ARCH),
                (BPF_JMP_JEQ_K, 0, 1, Arch::X86_64.audit_arch()),
                (BPF_JMP_JA, 0, 0, 1),
                (BPF_RET_K, 0, 0, kill), // another architecture
                (BPF_LD_W_ABS, 0, 0, DATA_NR),
                (BPF_JMP_JGE_K, 0, 2, X32_BIT), // below the x32 bit: x86_64's
                (BPF_JMP_JEQ_K, 1, 0, u32::MAX), // -1: x86_64's too (libseccomp)
                (BPF_RET_K, 0, 0, kill),         // x32 is not listed
                (BPF_RET_K, 0, 0, Action::Allow.ret()),
            ]
        );
    }

    #[test]
    fn x32_listed_jumps_over_the_native_block() {
        let p = program(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}));
        // dispatch (4), ld nr, jge, jeq -1, ja over the native block, native block, x32 block.
        let ja = p[7];
        assert_eq!((ja.code, p[5].code, p[6].k), (BPF_JMP_JA, BPF_JMP_JGE_K, u32::MAX));
        let x32_at = 8 + ja.k as usize;
        assert_eq!(p[x32_at - 1].k, Action::Errno(1).ret(), "the native block ends with its default");
        assert!(p[x32_at..].iter().any(|i| i.code == BPF_JMP_JEQ_K && i.k == X32_BIT), "x32 read is 0x40000000");
        assert_eq!(p.last().unwrap().k, Action::Errno(1).ret());
    }

    #[test]
    fn x32_and_i386_compare_low_words_only() {
        // EQ on a 64-bit value: x86_64 loads both words of a0 (offsets 16 and 20); the 32-bit
        // ABIs load only the low one.
        let p = program(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}));
        let loads = |from: usize, to: usize| p[from..to].iter().filter(|i| i.code == BPF_LD_W_ABS && i.k == 20).count();
        let i386_at = {
            let ja = p[4];
            5 + ja.k as usize
        };
        assert!(loads(0, i386_at) > 0, "x86_64 compares the high word");
        assert_eq!(loads(i386_at, p.len()), 0, "i386 does not");
    }
}
