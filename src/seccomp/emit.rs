//! The emitter. Per architecture, a binary search over the syscall numbers the profile names
//! (intervals of equal outcome, about 2·log2(n) instructions per syscall, where libseccomp's
//! default is a linear scan) leads either straight to a return or to the syscall's argument
//! chain. seccompiler builds each chain (a `SeccompFilter` for that one syscall, with a
//! placeholder match action and a sentinel mismatch action): we drop its architecture check,
//! patch the placeholder into the real return (seccompiler has no USER_NOTIF) and turn the
//! sentinel into a jump to the next rule set or the default. Behind our prologue:
//!
//! ```text
//!   ld arch
//!   jeq X86_64 → x86_64 block      (x86_64 and x32 share AUDIT_ARCH_X86_64)
//!   jeq I386   → i386 block
//!   ret KILL_THREAD                (any other architecture, libseccomp's bad-arch action)
//! x86_64 block: ld nr; nr ≥ 0x40000000 (but not -1) → x32 block, or KILL_THREAD when x32
//!   is not listed (the x32 guard: `nr | 0x40000000` can never slip past a deny rule);
//!   search tree (numbers above the highest named → ERRNO(ENOSYS)); returns; chains
//! x32 block / i386 block: the same with their numbers (both compare 32-bit arguments)
//! ```
//! The ENOSYS stub (runc's) makes a syscall newer than every one the profile names fail with
//! ENOSYS instead of the default errno, so new libcs fall back to older calls.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::LinuxSeccomp;
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

use super::plan::{self, Action, ArchPlan, Cond, Op};
use super::tables::Arch;
use crate::error::{Error, Result};

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
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
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
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

/// A jump target inside one program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Label(usize);

/// A tiny assembler: forward `ja` jumps to labels, resolved at the end (`ja k` lands on
/// pc + 1 + k; classic BPF jumps only forward, and only `ja` has a 32-bit offset).
#[derive(Default)]
struct Asm {
    code: Vec<libc::sock_filter>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    fn place(&mut self, l: Label) {
        self.labels[l.0] = Some(self.code.len());
    }
    fn push(&mut self, ins: libc::sock_filter) {
        self.code.push(ins);
    }
    fn ja(&mut self, l: Label) {
        self.fixups.push((self.code.len(), l));
        self.code.push(stmt(BPF_JMP_JA, 0));
    }
    fn finish(mut self) -> Vec<libc::sock_filter> {
        for (at, l) in self.fixups {
            let to = self.labels[l.0].expect("every label is placed");
            debug_assert!(to > at, "BPF jumps only forward");
            self.code[at].k = (to - at - 1) as u32;
        }
        self.code
    }
}

/// Where the search tree sends a syscall number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Return this value.
    Ret(u32),
    /// Check this syscall's argument rules.
    Chain(u32),
}

/// Intervals `[lo, next lo)` covering every number, each with its target; adjacent intervals
/// with the same return are merged.
fn intervals(
    targets: &BTreeMap<u32, Target>,
    default: u32,
    above: Option<(u32, u32)>,
) -> Vec<(u32, Target)> {
    let mut out: Vec<(u32, Target)> = Vec::new();
    let push = |lo: u32, t: Target, out: &mut Vec<(u32, Target)>| {
        // A later start at the same number replaces the earlier (empty) interval.
        if out.last().is_some_and(|(l, _)| *l == lo) {
            out.pop();
        }
        if out
            .last()
            .is_some_and(|(_, last)| *last == t && matches!(t, Target::Ret(_)))
        {
            return;
        }
        out.push((lo, t));
    };
    push(0, Target::Ret(default), &mut out);
    for (&nr, &t) in targets {
        push(nr, t, &mut out);
        if let Some(next) = nr.checked_add(1) {
            push(next, Target::Ret(default), &mut out);
        }
    }
    if let Some((max, ret)) = above {
        if let Some(lo) = max.checked_add(1) {
            // Everything above the highest named number (the ENOSYS stub).
            out.retain(|(l, _)| *l < lo);
            push(lo, Target::Ret(ret), &mut out);
        }
    }
    out
}

/// Keep the intervals inside `[lo, hi]`; numbers outside get `outside` (another filter of the
/// same architecture judges them).
fn clamp(ivs: Vec<(u32, Target)>, (lo, hi): (u32, u32), outside: Target) -> Vec<(u32, Target)> {
    if (lo, hi) == (0, u32::MAX) {
        return ivs;
    }
    let mut out = Vec::new();
    if lo > 0 {
        out.push((0, outside));
    }
    // The interval holding `lo` starts there now.
    let first = ivs.iter().rposition(|(l, _)| *l <= lo).unwrap_or(0);
    out.push((lo, ivs[first].1));
    out.extend(
        ivs[first + 1..]
            .iter()
            .copied()
            .filter(|(l, _)| *l > lo && *l <= hi),
    );
    if let Some(next) = hi.checked_add(1) {
        out.push((next, outside));
    }
    out
}

/// Instructions `tree` emits for these intervals.
fn tree_len(ivs: &[(u32, Target)]) -> usize {
    if ivs.len() == 1 {
        return 1;
    }
    let (l, r) = ivs.split_at(ivs.len() / 2);
    let left = tree_len(l);
    1 + usize::from(left > 255) + left + tree_len(r)
}

/// A binary search over interval starts: about log2(n) compares per syscall. A leaf returns
/// straight away or jumps to its argument chain; a node jumps right with its own 8-bit offset
/// when the left subtree is short enough, else through a `ja`.
fn tree(asm: &mut Asm, ivs: &[(u32, Target)], to: &dyn Fn(Target) -> Label) {
    if let [(_, t)] = ivs {
        match *t {
            Target::Ret(k) => asm.push(stmt(BPF_RET_K, k)),
            Target::Chain(_) => {
                let l = to(*t);
                asm.ja(l);
            }
        }
        return;
    }
    let (left, right) = ivs.split_at(ivs.len() / 2);
    let left_len = tree_len(left);
    if let Ok(jt) = u8::try_from(left_len) {
        asm.push(jump(BPF_JMP_JGE_K, right[0].0, jt, 0));
        tree(asm, left, to);
    } else {
        asm.push(jump(BPF_JMP_JGE_K, right[0].0, 0, 1));
        let r = asm.label();
        asm.ja(r);
        tree(asm, left, to);
        asm.place(r);
    }
    tree(asm, right, to);
}

/// Where a chain goes when no rule matches: the next rule set of the same syscall, or a return
/// (the default, which may sit earlier in the program: BPF cannot jump back).
#[derive(Clone, Copy)]
enum Miss {
    Next(Label),
    Ret(u32),
}

/// seccompiler's code for one syscall's rules with one action: its arch check dropped, the
/// match placeholder patched to `action`, every mismatch turned into a jump to `miss`.
fn chain(
    asm: &mut Asm,
    arch: Arch,
    nr: u32,
    action: Action,
    rules: &[Vec<Cond>],
    miss: Miss,
) -> Result<()> {
    let rules = rules
        .iter()
        .map(|conds| {
            let cs = conds
                .iter()
                .map(|c| condition(c, arch))
                .collect::<Result<Vec<_>>>()?;
            SeccompRule::new(cs).map_err(|e| Error::Msg(format!("seccomp: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let filter = SeccompFilter::new(
        [(i64::from(nr), rules)].into_iter().collect(),
        SeccompAction::Trace(SENTINEL & 0xffff),
        SeccompAction::Trace(PLACEHOLDER & 0xffff),
        TargetArch::x86_64,
    )
    .map_err(|e| Error::Msg(format!("seccomp: {e}")))?;
    let prog: BpfProgram = filter
        .try_into()
        .map_err(|e| Error::Msg(format!("seccomp: {e}")))?;
    // seccompiler's program: its 3-instruction architecture check (ours replaces it), `ld nr`
    // and `jeq nr` (the search tree already matched the number; skipping them lands on the
    // first rule, as a true jeq would), then the rules and their mismatch returns.
    let body: Vec<sock_filter> = prog.into_iter().collect();
    debug_assert!(body.len() > 6 && body[3].k == 0 && body[4].k == nr);
    for ins in body[5..].iter().cloned() {
        if ins.code == BPF_RET_K && ins.k == SENTINEL {
            match miss {
                Miss::Next(l) => asm.ja(l),
                Miss::Ret(k) => asm.push(stmt(BPF_RET_K, k)),
            }
        } else if ins.code == BPF_RET_K && ins.k == PLACEHOLDER {
            asm.push(stmt(BPF_RET_K, action.ret()));
        } else {
            asm.push(jump(ins.code, ins.k, ins.jt, ins.jf));
        }
    }
    Ok(())
}

/// One architecture's block, entered with the syscall number in A: a search tree over the
/// numbers the profile names, then each distinct return once, then each argument chain.
fn block(
    ap: &ArchPlan,
    default: Action,
    o: &Options,
    range: (u32, u32),
) -> Result<Vec<libc::sock_filter>> {
    // Every entry of a number: the main one plus `also` (i386 socketcall/ipc).
    let mut entries: BTreeMap<u32, Vec<&plan::Entry>> = BTreeMap::new();
    for (nr, e) in ap
        .syscalls
        .iter()
        .chain(ap.also.iter().map(|(nr, e)| (nr, e)))
    {
        entries.entry(*nr).or_default().push(e);
    }
    let targets: BTreeMap<u32, Target> = entries
        .iter()
        .map(|(nr, es)| {
            let t = match es.as_slice() {
                [e] if e.rules.is_empty() => Target::Ret(e.action.ret()),
                _ => Target::Chain(*nr),
            };
            (*nr, t)
        })
        .collect();
    let stub = o.enosys_stub && !matches!(default, Action::Allow | Action::Log | Action::Errno(38));
    let above = ap
        .max_named
        .filter(|_| stub)
        .map(|m| (m, Action::Errno(libc::ENOSYS as u16).ret()));
    let ivs = clamp(
        intervals(&targets, default.ret(), above),
        range,
        Target::Ret(Action::Allow.ret()),
    );

    if let [(_, Target::Ret(k))] = ivs.as_slice() {
        // Nothing named here: one answer for every number.
        return Ok(vec![stmt(BPF_RET_K, *k)]);
    }
    let mut asm = Asm::default();
    // One label per argument chain (returns are inlined in the tree).
    let mut labels: Vec<(Target, Label)> = Vec::new();
    for t in ivs
        .iter()
        .map(|(_, t)| *t)
        .filter(|t| matches!(t, Target::Chain(_)))
    {
        if !labels.iter().any(|(x, _)| *x == t) {
            let l = asm.label();
            labels.push((t, l));
        }
    }
    let label_of = |t: Target| {
        labels
            .iter()
            .find(|(x, _)| *x == t)
            .map(|(_, l)| *l)
            .expect("labelled")
    };
    tree(&mut asm, &ivs, &label_of);
    for (t, l) in &labels {
        asm.place(*l);
        match *t {
            Target::Ret(k) => asm.push(stmt(BPF_RET_K, k)),
            Target::Chain(nr) => {
                let es = &entries[&nr];
                for (i, e) in es.iter().enumerate() {
                    let next = (i + 1 < es.len()).then(|| asm.label());
                    let miss = next.map_or(Miss::Ret(default.ret()), Miss::Next);
                    if e.rules.is_empty() {
                        asm.push(stmt(BPF_RET_K, e.action.ret()));
                    } else {
                        chain(&mut asm, ap.arch, nr, e.action, &e.rules, miss)?;
                    }
                    if let Some(l) = next {
                        asm.place(l);
                    }
                }
            }
        }
    }
    Ok(asm.finish())
}

/// One program over the given architecture plans: listed architectures get their blocks,
/// the others (and x32 numbers when x32 is not in `arches`) return `absent`.
fn assemble(
    arches: &[ArchPlan],
    default: Action,
    absent: Action,
    o: &Options,
    range: (u32, u32),
) -> Result<Vec<libc::sock_filter>> {
    let find = |a: Arch| arches.iter().find(|p| p.arch == a);
    let absent_ret = stmt(BPF_RET_K, absent.ret());
    let i386 = find(Arch::X86)
        .map(|ap| block(ap, default, o, range))
        .transpose()?;
    // The x32 block is entered with A = nr, which carries the x32 bit.
    let x32 = find(Arch::X32)
        .map(|ap| block(ap, default, o, range))
        .transpose()?;
    let native = match find(Arch::X86_64) {
        Some(ap) => block(ap, default, o, range)?,
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
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        jump(BPF_JMP_JEQ_K, Arch::X86_64.audit_arch(), 0, 1),
    ];
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

/// One architecture's filter for the numbers in `range`, halved by number until each part
/// fits (a part returns ALLOW outside its range, so the parts compose like the whole).
fn split(
    ap: &ArchPlan,
    default: Action,
    o: &Options,
    range: (u32, u32),
    out: &mut Vec<Filter>,
) -> Result<()> {
    let prog = assemble(std::slice::from_ref(ap), default, Action::Allow, o, range)?;
    if prog.len() <= BPF_MAXINSNS {
        out.push(Filter {
            program: prog,
            new_listener: false,
        });
        return Ok(());
    }
    let named: Vec<u32> = ap
        .syscalls
        .keys()
        .copied()
        .filter(|n| (range.0..=range.1).contains(n))
        .collect();
    if named.len() < 2 {
        return Err(too_big(
            prog.len(),
            &format!("{} filter", ap.arch.oci_name()),
        ));
    }
    let mid = named[named.len() / 2];
    split(ap, default, o, (range.0, mid - 1), out)?;
    split(ap, default, o, (mid, range.1), out)
}

fn too_big(n: usize, what: &str) -> Error {
    Error::invalid(format!(
        "linux.seccomp: the {what} has {n} instructions, more than the kernel's {BPF_MAXINSNS}"
    ))
}

/// Compile a profile into one filter when it fits, else one filter per architecture behind a
/// guard that kills unlisted architectures (the kernel applies every filter and keeps the most
/// severe verdict, so filters that return ALLOW for what is not theirs compose exactly). Rules
/// that notify go into one more filter of their own, loaded with NEW_LISTENER (a task may
/// have one listener), and count as ALLOW in the others, under the same argument rules
/// (USER_NOTIF outranks ALLOW).
pub fn compile(s: &LinuxSeccomp, o: &Options) -> Result<Compiled> {
    let plan = plan::plan(s)?;
    let mut main = plan.arches.clone();
    let mut notify_arches = Vec::new();
    for ap in &mut main {
        let notify: BTreeMap<u32, plan::Entry> = ap
            .syscalls
            .iter()
            .filter(|(_, e)| e.action == Action::Notify)
            .map(|(k, e)| (*k, e.clone()))
            .collect();
        if !notify.is_empty() {
            // Kept conditional: a call whose arguments match no notify rule gets the default.
            for (nr, e) in ap.syscalls.iter_mut() {
                if notify.contains_key(nr) {
                    e.action = Action::Allow;
                }
            }
            if plan.default == Action::Allow {
                ap.syscalls.retain(|_, e| e.action != Action::Allow);
            }
            notify_arches.push(ArchPlan {
                arch: ap.arch,
                syscalls: notify,
                max_named: None,
                also: Vec::new(),
            });
        }
    }
    let mut filters = Vec::new();
    const ALL: (u32, u32) = (0, u32::MAX);
    let single = assemble(&main, plan.default, Action::KillThread, o, ALL)?;
    if single.len() <= BPF_MAXINSNS {
        filters.push(Filter {
            program: single,
            new_listener: false,
        });
    } else {
        let guard_plans: Vec<ArchPlan> = main
            .iter()
            .map(|ap| ArchPlan {
                arch: ap.arch,
                syscalls: BTreeMap::new(),
                max_named: None,
                also: Vec::new(),
            })
            .collect();
        filters.push(Filter {
            program: assemble(&guard_plans, Action::Allow, Action::KillThread, o, ALL)?,
            new_listener: false,
        });
        for ap in &main {
            split(ap, plan.default, o, ALL, &mut filters)?;
        }
    }
    if !notify_arches.is_empty() {
        let prog = assemble(
            &notify_arches,
            Action::Allow,
            Action::Allow,
            &Options { enosys_stub: false },
            ALL,
        )?;
        if prog.len() > BPF_MAXINSNS {
            return Err(too_big(prog.len(), "notify filter"));
        }
        filters.push(Filter {
            program: prog,
            new_listener: true,
        });
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
        let c = compile(
            &serde_json::from_value(v).unwrap(),
            &Options { enosys_stub: false },
        )
        .unwrap();
        assert_eq!(c.filters.len(), 1);
        c.filters.into_iter().next().unwrap().program
    }

    fn ins(p: &[libc::sock_filter]) -> Vec<(u16, u8, u8, u32)> {
        p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    #[test]
    fn x86_64_alone_has_the_x32_guard() {
        let p = program(
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}),
        );
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
                (BPF_RET_K, 0, 0, kill),        // x32 is not listed
                (BPF_RET_K, 0, 0, Action::Allow.ret()),
            ]
        );
    }

    #[test]
    fn x32_listed_jumps_over_the_native_block() {
        let p = program(
            serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}),
        );
        // dispatch (4), ld nr, jge, jeq -1, ja over the native block, native block, x32 block.
        let ja = p[7];
        assert_eq!(
            (ja.code, p[5].code, p[6].k),
            (BPF_JMP_JA, BPF_JMP_JGE_K, u32::MAX)
        );
        let x32_at = 8 + ja.k as usize;
        assert_eq!(
            p[x32_at - 1].code,
            BPF_RET_K,
            "the native block ends with a return"
        );
        // The x32 search tree splits at read's number, 0x40000000, and at the one above it.
        assert!(
            p[x32_at..]
                .iter()
                .any(|i| i.code == BPF_JMP_JGE_K && i.k == X32_BIT),
            "x32 read is 0x40000000"
        );
        assert!(p[x32_at..]
            .iter()
            .any(|i| i.code == BPF_RET_K && i.k == Action::Errno(1).ret()));
    }

    #[test]
    fn x32_and_i386_compare_low_words_only() {
        // EQ on a 64-bit value: x86_64 loads both words of a0 (offsets 16 and 20); the 32-bit
        // ABIs load only the low one.
        let p = program(
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}),
        );
        let loads = |from: usize, to: usize| {
            p[from..to]
                .iter()
                .filter(|i| i.code == BPF_LD_W_ABS && i.k == 20)
                .count()
        };
        let i386_at = {
            let ja = p[4];
            5 + ja.k as usize
        };
        assert!(loads(0, i386_at) > 0, "x86_64 compares the high word");
        assert_eq!(loads(i386_at, p.len()), 0, "i386 does not");
    }
}
#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn consecutive_numbers_with_one_outcome_are_one_interval() {
        let allow = Target::Ret(Action::Allow.ret());
        let t: BTreeMap<u32, Target> = [
            (0, allow),
            (1, allow),
            (2, allow),
            (5, Target::Chain(5)),
            (6, allow),
        ]
        .into_iter()
        .collect();
        let deny = Action::Errno(1).ret();
        assert_eq!(
            intervals(&t, deny, None),
            vec![
                (0, allow),
                (3, Target::Ret(deny)),
                (5, Target::Chain(5)),
                (6, allow),
                (7, Target::Ret(deny))
            ]
        );
        let enosys = Action::Errno(38).ret();
        assert_eq!(
            intervals(&t, deny, Some((6, enosys))).last(),
            Some(&(7, Target::Ret(enosys)))
        );
    }

    #[test]
    fn engine_profiles_fit_in_one_small_filter() {
        for f in ["docker-default", "podman-default"] {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("bundles/seccomp/{f}.json"));
            let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let s: LinuxSeccomp = serde_json::from_str(&t).unwrap();
            let c = compile(&s, &Options::default()).unwrap();
            assert_eq!(c.filters.len(), 1, "{f}");
            assert!(
                c.filters[0].program.len() < 1200,
                "{f}: {}",
                c.filters[0].program.len()
            );
        }
    }
}
