//! Unit tests of `plan.rs`: validation errors naming the field, name resolution per
//! architecture, libseccomp's rule resolution, overlapping rules refused.

use super::*;

fn p(v: serde_json::Value) -> Result<Plan> {
    plan(&serde_json::from_value(v).unwrap())
}

#[test]
fn groups_defaults_and_first_unconditional_wins() {
    let pl = p(serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["setns"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["close"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["no_such_syscall"], "action": "SCMP_ACT_ALLOW"}
        ]
    }))
    .unwrap();
    assert_eq!(pl.default, Action::Errno(1));
    let a = &pl.arches[0];
    assert_eq!(a.syscalls[&0].action, Action::Allow);
    assert_eq!(
        a.syscalls[&tables::number(Arch::X86_64, "setns").unwrap()].action,
        Action::Allow
    );
    assert!(
        !a.syscalls.contains_key(&3),
        "close equals the default: dropped"
    );
}

#[test]
fn repeated_indexes_split_into_alternatives() {
    let pl = p(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]
    }))
    .unwrap();
    let e = pl.arches[0].syscalls.values().next().unwrap();
    assert_eq!(e.rules.len(), 2);
}

#[test]
fn bad_input_names_the_field() {
    for (v, want) in [
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"}),
            "linux.seccomp.defaultAction",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}),
            "linux.seccomp.syscalls[0].errnoRet",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x", "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0].names",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["read"], "action": "SCMP_ACT_KILL", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]}]}),
            "linux.seccomp.syscalls: read has conditional rules",
        ),
    ] {
        let e = p(v).unwrap_err().render();
        assert!(e.starts_with(want), "{e}");
    }
}

#[test]
fn default_action_rules_take_no_part() {
    // runc skips `allow getppid` under an ALLOW default: the later errno rule applies.
    let pl = p(
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]}),
    )
    .unwrap();
    assert_eq!(pl.arches[0].syscalls[&110].action, Action::Errno(5));
}

#[test]
fn native_is_always_there() {
    let pl = p(
        serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"]}),
    )
    .unwrap();
    let arches: Vec<Arch> = pl.arches.iter().map(|a| a.arch).collect();
    assert_eq!(arches, [Arch::native(), Arch::X86]);
}

#[test]
fn disjoint_rules_with_different_actions_are_kept() {
    // Podman's profile for a container without CAP_AUDIT_WRITE.
    let pl = p(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22, "args": [
            {"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 9, "op": "SCMP_CMP_NE"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_NE"}]}]}))
    .unwrap();
    let a = &pl.arches[0];
    assert_eq!(a.syscalls[&41].action, Action::Errno(22));
    assert_eq!(a.also.len(), 1);
    assert_eq!(a.also[0].0, 41);
    assert_eq!(a.also[0].1.action, Action::Allow);
    assert_eq!(a.also[0].1.rules.len(), 2);
}

#[test]
fn never_both_proves_only_what_holds() {
    let c = |index, op, value, value_two| Cond {
        index,
        op,
        value,
        value_two,
    };
    let x64 = Arch::X86_64;
    for (a, b, want) in [
        (c(0, Op::Eq, 1, 0), c(0, Op::Eq, 2, 0), true),
        (c(0, Op::Eq, 1, 0), c(0, Op::Eq, 1, 0), false),
        (c(0, Op::Eq, 1, 0), c(1, Op::Eq, 2, 0), false),
        (c(0, Op::Eq, 9, 0), c(0, Op::Ne, 9, 0), true),
        (c(0, Op::Ne, 9, 0), c(0, Op::Ne, 8, 0), false),
        (c(0, Op::Lt, 5, 0), c(0, Op::Ge, 5, 0), true),
        (c(0, Op::Le, 5, 0), c(0, Op::Ge, 5, 0), false),
        (c(0, Op::Gt, 5, 0), c(0, Op::Le, 5, 0), true),
        (c(0, Op::Lt, 0, 0), c(1, Op::Eq, 0, 0), true),
        (
            c(0, Op::MaskedEq, 0xf0, 0x10),
            c(0, Op::MaskedEq, 0x30, 0x20),
            true,
        ),
        (
            c(0, Op::MaskedEq, 0xf0, 0x10),
            c(0, Op::MaskedEq, 0x0f, 0x01),
            false,
        ),
        (c(0, Op::MaskedEq, 0xf0, 0x10), c(0, Op::Eq, 0x11, 0), false),
        (c(0, Op::MaskedEq, 0xf0, 0x10), c(0, Op::Eq, 0x21, 0), true),
        (c(0, Op::Ne, 3, 0), c(0, Op::Gt, 2, 0), false),
        // valueTwo's bits outside the mask do not count (libseccomp masks it): `a & 8 == 0`.
        (
            c(0, Op::MaskedEq, 8, 0xa22_6674),
            c(0, Op::Eq, 0x1_0000_0000, 0),
            false,
        ),
        (c(0, Op::MaskedEq, 8, 0xa22_6674), c(0, Op::Eq, 8, 0), true),
    ] {
        assert_eq!(
            never_both(std::slice::from_ref(&a), std::slice::from_ref(&b), x64),
            want,
            "{a:?} {b:?}"
        );
    }
    // 32-bit ABIs compare low words: these two are one value there.
    let (a, b) = (c(0, Op::Eq, 1, 0), c(0, Op::Eq, 0x1_0000_0001, 0));
    assert!(never_both(
        std::slice::from_ref(&a),
        std::slice::from_ref(&b),
        x64
    ));
    assert!(!never_both(&[a], &[b], Arch::X86));
}

#[test]
fn i386_socket_rules_cover_socketcall() {
    let pl = p(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
        {"names": ["send", "shmget"], "action": "SCMP_ACT_ERRNO"}]}))
    .unwrap();
    let x86 = pl.arches.iter().find(|a| a.arch == Arch::X86).unwrap();
    let eq = |v| {
        vec![Cond {
            index: 0,
            op: Op::Eq,
            value: v,
            value_two: 0,
        }]
    };
    assert_eq!(
        x86.syscalls[&SOCKETCALL_X86].rules,
        [eq(1), eq(9)],
        "socket's own comparison is dropped there"
    );
    assert_eq!(x86.syscalls[&IPC_X86].rules, [eq(23)]);
    assert_eq!(
        x86.syscalls[&359].rules,
        [eq(16)],
        "the direct socket(2) keeps it"
    );
    assert!(
        !pl.arches[0].syscalls.contains_key(&SOCKETCALL_X86),
        "x86_64 has no multiplexer"
    );
    // Different actions for different calls: one entry per action.
    let pl = p(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO"}, {"names": ["bind", "shmat"], "action": "SCMP_ACT_KILL"}]}))
    .unwrap();
    let x86 = pl.arches.iter().find(|a| a.arch == Arch::X86).unwrap();
    assert_eq!(
        x86.syscalls[&SOCKETCALL_X86],
        Entry {
            action: Action::Errno(1),
            rules: vec![eq(1)]
        }
    );
    assert_eq!(
        x86.also,
        [(
            SOCKETCALL_X86,
            Entry {
                action: Action::KillThread,
                rules: vec![eq(2)]
            }
        )]
    );
    assert_eq!(
        x86.syscalls[&IPC_X86],
        Entry {
            action: Action::KillThread,
            rules: vec![eq(21)]
        }
    );
    // Different actions for one call: refused, saying why.
    let e = p(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["socketcall"], "action": "SCMP_ACT_KILL", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}))
    .unwrap_err()
    .render();
    assert!(e.contains("socketcall") && e.contains("on x86"), "{e}");
}

/// Found by the `seccomp` fuzz target (its input, as a literal): a MASKED_EQ whose valueTwo has
/// bits outside the mask was taken to match nothing, so arch_prctl's ERRNO and TRAP rules,
/// which both match `a0 = 1 << 32, a2 = 32`, passed for disjoint and were compiled.
#[test]
fn fuzz_masked_eq_with_bits_outside_the_mask_overlaps() {
    let e = p(serde_json::json!({"defaultAction":"SCMP_ACT_KILL","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"listenerPath":"/run/hull-fuzz.sock","syscalls":[{"names":["personality","no_such_syscall","arch_prctl"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":4294967296u64,"valueTwo":1,"op":"SCMP_CMP_EQ"},{"index":2,"value":8458154160841516346u64,"valueTwo":538970738,"op":"SCMP_CMP_EQ"}]},{"names":["openat","openat","arch_prctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":8,"valueTwo":170031476,"op":"SCMP_CMP_MASKED_EQ"},{"index":2,"value":32,"op":"SCMP_CMP_GE"}]},{"names":["clone"],"action":"SCMP_ACT_TRACE","errnoRet":32},{"names":["arch_prctl","mseal","bind"],"action":"SCMP_ACT_TRAP","args":[{"index":2,"value":6071768600250499923u64,"op":"SCMP_CMP_GE"},{"index":2,"value":32,"valueTwo":32,"op":"SCMP_CMP_GE"}]}]}))
    .unwrap_err()
    .render();
    assert!(
        e.starts_with(
            "linux.seccomp.syscalls: arch_prctl has conditional rules with different actions"
        ),
        "{e}"
    );
}
