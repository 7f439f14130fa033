//! The front end: `linux.seccomp` → a `Plan`, one table per architecture mapping each syscall
//! number to one action and its rules. Validation names the field. Resolution follows what
//! libseccomp (and so runc and crun) does with the same profile:
//! - a rule whose `args` compare one index more than once becomes one rule per comparison
//!   (runc splits them the same way; they are OR-ed);
//! - for one syscall, the first unconditional rule decides and its conditional rules are dropped
//!   (libseccomp keeps the first of identical rules and lets an unconditional one win);
//! - conditional rules with different actions on one syscall are kept when no call can match
//!   rules of two actions (provably disjoint comparisons, e.g. `a2 == 9` and `a2 != 9`), and
//!   refused otherwise: libseccomp's precedence between overlapping comparisons is not
//!   something hull reproduces;
//! - on i386, a rule on a socket or SysV IPC syscall is also a rule on socketcall/ipc with
//!   `a0 == call` in place of its own comparison of a0 (libseccomp's x86 multiplexing);
//! - rules whose action equals the default are dropped before all this (runc skips them), so
//!   they neither win nor refuse anything; names unknown for an architecture are skipped with
//!   a debug line (profiles outlive kernels).

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as A, LinuxSeccompFilterFlag as F, LinuxSeccompOperator as O,
};

use super::tables::{self, Arch};
use crate::error::{Error, Result};

/// A seccomp return action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// SECCOMP_RET_KILL_PROCESS
    KillProcess,
    /// SECCOMP_RET_KILL_THREAD (SCMP_ACT_KILL too)
    KillThread,
    /// SECCOMP_RET_TRAP
    Trap,
    /// SECCOMP_RET_ERRNO with the errno
    Errno(u16),
    /// SECCOMP_RET_USER_NOTIF
    Notify,
    /// SECCOMP_RET_TRACE with the message
    Trace(u16),
    /// SECCOMP_RET_LOG
    Log,
    /// SECCOMP_RET_ALLOW
    Allow,
}

impl Action {
    /// The filter's return value.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0x0000_0000,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::Notify => 0x7fc0_0000,
            Action::Trace(m) => 0x7ff0_0000 | u32::from(m),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// !=
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// ==
    Eq,
    /// >=
    Ge,
    /// >
    Gt,
    /// (arg & value) == value_two
    MaskedEq,
}

/// One comparison of a syscall argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    /// Argument index, 0..=5.
    pub index: u8,
    /// Operator.
    pub op: Op,
    /// The value (the mask for MaskedEq).
    pub value: u64,
    /// The compared value for MaskedEq.
    pub value_two: u64,
}

/// What one syscall does on one architecture: an action, unconditionally (no rules) or when
/// any of the rules (each an AND of comparisons) matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The action.
    pub action: Action,
    /// Empty: unconditional.
    pub rules: Vec<Vec<Cond>>,
}

/// The plan for one architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchPlan {
    /// The architecture.
    pub arch: Arch,
    /// Syscall number → entry (only entries whose action differs from the default).
    pub syscalls: BTreeMap<u32, Entry>,
    /// The highest syscall number the profile names for this architecture.
    pub max_named: Option<u32>,
    /// More entries for syscalls of `syscalls` whose disjoint rules have other actions (e.g.
    /// i386's socketcall/ipc: `a0 == call` rules derived from several socket or IPC syscalls).
    pub also: Vec<(u32, Entry)>,
}

/// The whole plan.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Action for syscalls no rule matches.
    pub default: Action,
    /// One plan per architecture the filter accepts.
    pub arches: Vec<ArchPlan>,
    /// seccomp(2) filter flags from `flags`.
    pub flags: u32,
    /// Whether any rule notifies (the filter is loaded with NEW_LISTENER).
    pub notify: bool,
    /// `listenerPath`.
    pub listener_path: Option<PathBuf>,
    /// `listenerMetadata`.
    pub listener_metadata: Option<String>,
}

/// Flag values for seccomp(2).
pub mod flag {
    /// SECCOMP_FILTER_FLAG_TSYNC
    pub const TSYNC: u32 = 1;
    /// SECCOMP_FILTER_FLAG_LOG
    pub const LOG: u32 = 2;
    /// SECCOMP_FILTER_FLAG_SPEC_ALLOW
    pub const SPEC_ALLOW: u32 = 4;
    /// SECCOMP_FILTER_FLAG_NEW_LISTENER
    pub const NEW_LISTENER: u32 = 8;
    /// SECCOMP_FILTER_FLAG_TSYNC_ESRCH
    pub const TSYNC_ESRCH: u32 = 16;
    /// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
    pub const WAIT_KILLABLE_RECV: u32 = 32;
}

/// Every OCI action `action` below accepts (the `features` command lists these).
pub const ACTIONS: [A; 9] = [
    A::ScmpActKill,
    A::ScmpActKillProcess,
    A::ScmpActKillThread,
    A::ScmpActTrap,
    A::ScmpActErrno,
    A::ScmpActTrace,
    A::ScmpActAllow,
    A::ScmpActLog,
    A::ScmpActNotify,
];

/// Every comparison operator `op` below accepts.
pub const OPERATORS: [O; 7] = [
    O::ScmpCmpNe,
    O::ScmpCmpLt,
    O::ScmpCmpLe,
    O::ScmpCmpEq,
    O::ScmpCmpGe,
    O::ScmpCmpGt,
    O::ScmpCmpMaskedEq,
];

/// Every filter flag `plan` accepts.
pub const FLAGS: [F; 4] = [
    F::SeccompFilterFlagTsync,
    F::SeccompFilterFlagLog,
    F::SeccompFilterFlagSpecAllow,
    F::SeccompFilterFlagWaitKillableRecv,
];

fn action(a: A, errno: Option<u32>, field: &str) -> Result<Action> {
    let small = |e: u32| -> Result<u16> {
        u16::try_from(e)
            .map_err(|_| Error::invalid(format!("{field}: errnoRet {e} is out of range")))
    };
    Ok(match a {
        A::ScmpActErrno => Action::Errno(small(errno.unwrap_or(libc::EPERM as u32))?),
        A::ScmpActTrace => Action::Trace(small(errno.unwrap_or(libc::EPERM as u32))?),
        other => {
            if errno.is_some() {
                return Err(Error::invalid(format!(
                    "{field}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {other:?}"
                )));
            }
            match other {
                A::ScmpActKill | A::ScmpActKillThread => Action::KillThread,
                A::ScmpActKillProcess => Action::KillProcess,
                A::ScmpActTrap => Action::Trap,
                A::ScmpActNotify => Action::Notify,
                A::ScmpActLog => Action::Log,
                A::ScmpActAllow => Action::Allow,
                A::ScmpActErrno | A::ScmpActTrace => unreachable!(),
            }
        }
    })
}

fn op(o: O) -> Op {
    match o {
        O::ScmpCmpNe => Op::Ne,
        O::ScmpCmpLt => Op::Lt,
        O::ScmpCmpLe => Op::Le,
        O::ScmpCmpEq => Op::Eq,
        O::ScmpCmpGe => Op::Ge,
        O::ScmpCmpGt => Op::Gt,
        O::ScmpCmpMaskedEq => Op::MaskedEq,
    }
}

/// The architectures the filter accepts: the native one (always: runc and crun start from
/// `seccomp_init`, whose filter has it, and only add the listed ones), then the listed ones
/// hull knows; and the listed ones it does not know (their index and name), which it skips.
pub fn arches(s: &LinuxSeccomp) -> (Vec<Arch>, Vec<(usize, String)>) {
    let mut out = vec![Arch::native()];
    let mut unknown = Vec::new();
    for (i, a) in s.architectures().iter().flatten().enumerate() {
        let name = serde_json::to_value(a)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match Arch::from_oci(&name) {
            Some(x) if !out.contains(&x) => out.push(x),
            Some(_) => {}
            None if name == "SCMP_ARCH_NATIVE" => {}
            None => unknown.push((i, name)),
        }
    }
    (out, unknown)
}

/// Whether a rule naming `name` is a rule of the filter on `arch`: its system call number there,
/// or on i386 a socket or SysV IPC call through socketcall(2)/ipc(2), as libseccomp has it.
pub fn names_a_call(arch: Arch, name: &str) -> bool {
    tables::number(arch, name).is_some() || (arch == Arch::X86 && multiplexed(name).is_some())
}

/// i386's socketcall(2) and ipc(2).
const SOCKETCALL_X86: u32 = 102;
const IPC_X86: u32 = 117;

fn mux_name(nr: u32) -> &'static str {
    if nr == SOCKETCALL_X86 {
        "socketcall"
    } else {
        "ipc"
    }
}

/// The i386 multiplexer serving `name`, and its call number (linux/net.h SYS_*, the kernel's
/// ipc/syscall.c calls), as libseccomp's x86 tables have them.
fn multiplexed(name: &str) -> Option<(u32, u64)> {
    const SOCKET: [&str; 20] = [
        "socket",
        "bind",
        "connect",
        "listen",
        "accept",
        "getsockname",
        "getpeername",
        "socketpair",
        "send",
        "recv",
        "sendto",
        "recvfrom",
        "shutdown",
        "setsockopt",
        "getsockopt",
        "sendmsg",
        "recvmsg",
        "accept4",
        "recvmmsg",
        "sendmmsg",
    ];
    const IPC: [(&str, u64); 12] = [
        ("semop", 1),
        ("semget", 2),
        ("semctl", 3),
        ("semtimedop", 4),
        ("msgsnd", 11),
        ("msgrcv", 12),
        ("msgget", 13),
        ("msgctl", 14),
        ("shmat", 21),
        ("shmdt", 22),
        ("shmget", 23),
        ("shmctl", 24),
    ];
    if let Some(i) = SOCKET.iter().position(|n| *n == name) {
        return Some((SOCKETCALL_X86, i as u64 + 1));
    }
    IPC.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| (IPC_X86, *c))
}

/// Whether no two conditional rules with different actions can match the same call (proved
/// per argument, as the filter compares it on `arch`), and none notifies (notify has its own
/// filter): then the order between actions cannot matter, and one entry per action says
/// exactly what libseccomp's tree says. Podman's profile for a container without
/// CAP_AUDIT_WRITE is one: `socket` errno when `a0 == AF_NETLINK && a2 == NETLINK_AUDIT`,
/// allowed when `a2 != NETLINK_AUDIT` or `a0 != AF_NETLINK`.
fn rules_disjoint(conds: &[(Action, Vec<Cond>)], arch: Arch) -> bool {
    conds.iter().enumerate().all(|(i, (a, c))| {
        *a != Action::Notify
            && conds[i + 1..]
                .iter()
                .all(|(b, d)| b == a || never_both(c, d, arch))
    })
}

/// Whether the conjunctions `a` and `b` are unsatisfiable together: some argument no value
/// satisfies. Only what is provable cheaply (a single value, an interval, masks) counts.
fn never_both(a: &[Cond], b: &[Cond], arch: Arch) -> bool {
    // 32-bit ABIs: the filter compares the low words of argument and values (emit.rs).
    let max = if matches!(arch, Arch::X86 | Arch::X32) {
        u64::from(u32::MAX)
    } else {
        u64::MAX
    };
    (0..6u8).any(|index| {
        let (mut lo, mut hi) = (0u64, max);
        let mut ne = Vec::new();
        let mut masked: Vec<(u64, u64)> = Vec::new();
        for c in a.iter().chain(b).filter(|c| c.index == index) {
            let v = c.value & max;
            match c.op {
                Op::Eq => (lo, hi) = (lo.max(v), hi.min(v)),
                Op::Ne => ne.push(v),
                Op::Lt if v == 0 => return true,
                Op::Lt => hi = hi.min(v - 1),
                Op::Le => hi = hi.min(v),
                Op::Gt if v == max => return true,
                Op::Gt => lo = lo.max(v + 1),
                Op::Ge => lo = lo.max(v),
                // libseccomp (so runc) compares `arg & mask` with `valueTwo & mask`, and so
                // does the emitted filter: bits outside the mask never count.
                Op::MaskedEq => masked.push((v, c.value_two & v)),
            }
        }
        if lo > hi {
            return true;
        }
        // Two masked comparisons that disagree on a bit both look at match nothing together.
        if masked
            .iter()
            .enumerate()
            .any(|(i, &(m, v))| masked[i + 1..].iter().any(|&(n, w)| (v ^ w) & m & n != 0))
        {
            return true;
        }
        // A single value left: it must pass every other comparison.
        lo == hi && (ne.contains(&lo) || masked.iter().any(|&(m, v)| lo & m != v))
    })
}

/// What the rules say about one syscall: the first unconditional action, the conditional
/// rules in order, and the name it was first seen by.
type Seen = (Option<Action>, Vec<(Action, Vec<Cond>)>, String);

/// Build the plan, validating every field.
pub fn plan(s: &LinuxSeccomp) -> Result<Plan> {
    let default = action(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if default == Action::Notify {
        return Err(Error::invalid(
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            F::SeccompFilterFlagTsync => flag::TSYNC,
            F::SeccompFilterFlagLog => flag::LOG,
            F::SeccompFilterFlagSpecAllow => flag::SPEC_ALLOW,
            F::SeccompFilterFlagWaitKillableRecv => flag::WAIT_KILLABLE_RECV,
        };
    }

    // Every rule, in profile order, validated: (names, action, alternatives of AND-ed conds).
    struct Raw<'a> {
        names: &'a [String],
        action: Action,
        rules: Vec<Vec<Cond>>,
    }
    let mut raws = Vec::new();
    let mut notify = false;
    for (i, sc) in s.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
        if act == Action::Notify {
            notify = true;
            if sc.names().iter().any(|n| n == "write") {
                return Err(Error::invalid(format!(
                    "{field}.names: SCMP_ACT_NOTIFY on write would deadlock the runtime; refused as runc does"
                )));
            }
        }
        let mut conds = Vec::new();
        for (j, a) in sc.args().iter().flatten().enumerate() {
            if a.index() > 5 {
                return Err(Error::invalid(format!(
                    "{field}.args[{j}].index: {} is above 5 (syscalls have six arguments)",
                    a.index()
                )));
            }
            conds.push(Cond {
                index: a.index() as u8,
                op: op(a.op()),
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
            });
        }
        let repeated = conds
            .iter()
            .enumerate()
            .any(|(k, c)| conds[..k].iter().any(|d| d.index == c.index));
        let rules = if conds.is_empty() {
            Vec::new()
        } else if repeated {
            conds.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![conds]
        };
        raws.push(Raw {
            names: sc.names(),
            action: act,
            rules,
        });
    }
    if notify
        && s.listener_path()
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
    {
        return Err(Error::invalid(
            "linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a listener path",
        ));
    }

    let mut out = Vec::new();
    let (arches, unknown) = arches(s);
    for (_, name) in unknown {
        crate::logging::debug(&format!(
            "linux.seccomp.architectures: {name} is not this host's; skipped"
        ));
    }
    for arch in arches {
        // number → (first unconditional action, conditional rules in order)
        let mut seen: BTreeMap<u32, Seen> = BTreeMap::new();
        let mut max_named = None;
        for r in &raws {
            for name in r.names {
                if let (Arch::X86, Some((mux, call)), true) =
                    (arch, multiplexed(name), r.action != default)
                {
                    // libseccomp on i386: a rule on a socket or SysV IPC syscall also covers
                    // its socketcall(2)/ipc(2) form: the same comparisons, with the one on a0
                    // (if any) replaced by a0 == call, the others kept as they are.
                    let e =
                        seen.entry(mux)
                            .or_insert((None, Vec::new(), mux_name(mux).to_string()));
                    let by_call = Cond {
                        index: 0,
                        op: Op::Eq,
                        value: call,
                        value_two: 0,
                    };
                    if r.rules.is_empty() {
                        e.1.push((r.action, vec![by_call.clone()]));
                    }
                    for conds in &r.rules {
                        let rest = conds.iter().filter(|c| c.index != 0).cloned();
                        e.1.push((
                            r.action,
                            std::iter::once(by_call.clone()).chain(rest).collect(),
                        ));
                    }
                }
                let Some(nr) = tables::number(arch, name) else {
                    crate::logging::debug(&format!(
                        "seccomp: {} is unknown on {}; skipped",
                        crate::error::short(name),
                        arch.oci_name()
                    ));
                    continue;
                };
                max_named = max_named.max(Some(nr));
                if r.action == default {
                    // runc never hands these to libseccomp: they take no part in resolution
                    // (an ALLOW-default profile's `allow X; errno X` denies X).
                    continue;
                }
                let e = seen.entry(nr).or_insert((None, Vec::new(), name.clone()));
                if r.rules.is_empty() {
                    e.0.get_or_insert(r.action);
                } else {
                    e.1.extend(r.rules.iter().map(|c| (r.action, c.clone())));
                }
            }
        }
        let mut syscalls = BTreeMap::new();
        let mut also = Vec::new();
        for (nr, (uncond, conds, name)) in seen {
            let entry = match uncond {
                Some(action) => Entry {
                    action,
                    rules: Vec::new(),
                },
                None if rules_disjoint(&conds, arch) => {
                    // One entry per action, in order of appearance: no call matches rules of
                    // two actions, so no order between them matters.
                    let mut by_action: Vec<Entry> = Vec::new();
                    for (a, c) in conds {
                        match by_action.iter_mut().find(|e| e.action == a) {
                            Some(e) => e.rules.push(c),
                            None => by_action.push(Entry {
                                action: a,
                                rules: vec![c],
                            }),
                        }
                    }
                    let first = by_action.remove(0);
                    also.extend(by_action.into_iter().map(|e| (nr, e)));
                    first
                }
                None => {
                    let action = conds[0].0;
                    if let Some((other, _)) = conds.iter().find(|(a, _)| *a != action) {
                        let why = if arch == Arch::X86 && (nr == SOCKETCALL_X86 || nr == IPC_X86) {
                            " (on x86, as in libseccomp, rules on socket and SysV IPC syscalls are rules on socketcall/ipc too)"
                        } else {
                            ""
                        };
                        return Err(Error::invalid(format!(
                            "linux.seccomp.syscalls: {name} has conditional rules with different actions ({action:?} and {other:?}){why}; hull does not guess libseccomp's precedence between them"
                        )));
                    }
                    Entry {
                        action,
                        rules: conds.into_iter().map(|(_, c)| c).collect(),
                    }
                }
            };
            if entry.action != default {
                syscalls.insert(nr, entry);
            }
        }
        out.push(ArchPlan {
            arch,
            syscalls,
            max_named,
            also,
        });
    }
    Ok(Plan {
        default,
        arches: out,
        flags,
        notify,
        listener_path: s.listener_path().clone(),
        listener_metadata: s.listener_metadata().clone(),
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
