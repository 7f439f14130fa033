//! What runtime-spec 1.3 added to config-linux.md, as the process sees it: `linux.memoryPolicy`
//! (the NUMA policy of init and of every exec'd process, in /proc/self/numa_maps) and
//! `linux.netDevices` (network devices moved from hull's network namespace into the
//! container's). hull runs in a network namespace the test makes (`unshare --net`), with veth
//! pairs made there: no device of the host's is touched, and everything goes with it.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::process::{Command, Output, Stdio};

use common::*;
use serde_json::{json, Value};

/// The policy column of every mapping in numa_maps, as `sort -u` gives them.
const POLICIES: &str = "cut -d' ' -f2 /proc/self/numa_maps | sort -u";

#[test]
fn memory_policy_is_init_s_and_every_exec_d_process_s() {
    require_root!();
    let env = Env::new();
    for (policy, want) in [
        (json!({"mode": "MPOL_BIND", "nodes": "0"}), "bind:0"),
        (
            json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
            "interleave=static:0",
        ),
        (json!({"mode": "MPOL_PREFERRED"}), "local"),
        (json!({"mode": "MPOL_DEFAULT"}), "default"),
    ] {
        let out = env.sh(POLICIES, |c| c["linux"]["memoryPolicy"] = policy.clone());
        assert_eq!(out.trim(), want, "{policy}");
    }
    // An exec'd process is the container's too.
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"}));
    let id = env.id("mpol");
    env.create_ok(&b, &id);
    let o = env.hull(&["exec", &id, "sh", "-c", POLICIES]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "bind:0");
    assert!(env.hull(&["delete", "-f", &id]).status.success());
}

/// One line naming the field, exit 1, nothing left.
fn refused(env: &Env, edit: impl FnOnce(&mut Value), tag: &str, want: &str) {
    let mut b = env.bundle(&["true"]);
    b.edit(edit);
    let id = env.id(tag);
    let (o, _) = env.create(&b, &id);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{tag}: {err}");
    assert_eq!(err.lines().count(), 1, "{tag}: one line: {err}");
    assert!(err.contains(want), "{tag}: want {want:?} in {err}");
    assert_no_leftovers(env, &id);
}

#[test]
fn a_memory_policy_the_kernel_would_refuse_names_the_field() {
    require_root!();
    let env = Env::new();
    let online = std::fs::read_to_string("/sys/devices/system/node/online").unwrap_or_default();
    let cases = [
        (
            json!({"mode": "MPOL_BIND", "nodes": "1000"}),
            "linux.memoryPolicy.nodes: none of \"1000\" is an online memory node here",
        ),
        (
            json!({"mode": "MPOL_BIND"}),
            "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node",
        ),
        (
            json!({"mode": "MPOL_LOCAL", "nodes": "0"}),
            "linux.memoryPolicy.nodes: MPOL_LOCAL takes no nodes",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0-x"}),
            "linux.memoryPolicy.nodes: bad node list",
        ),
        (
            json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
            "linux.memoryPolicy.flags",
        ),
        (
            json!({"mode": "MPOL_SIDEWAYS"}),
            "linux.memoryPolicy.mode: unknown variant",
        ),
    ];
    for (i, (policy, want)) in cases.into_iter().enumerate() {
        if want.contains("online") && online.trim().is_empty() {
            continue;
        }
        refused(
            &env,
            |c| c["linux"]["memoryPolicy"] = policy,
            &format!("mpol{i}"),
            want,
        );
    }
}

/// `script` run by `sh` in a network namespace of its own (the test's), with `hull` the
/// command line of hull with the env's --root.
fn in_a_netns(env: &Env, script: &str) -> Output {
    let hull = format!("{} --root {}", hull_bin().display(), env.root.display());
    Command::new("unshare")
        .args([
            "--net",
            "sh",
            "-c",
            &format!("set -e; hull='{hull}'; {script}"),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Two veth pairs in the test's namespace: `a0`–`a1` (a1 with 10.9.8.7/24 and fd00::7/64) and
/// `b0`–`b1` (b0 10.1.1.1/24, up; b1 10.1.1.2/24).
const VETHS: &str = "ip link add a0 type veth peer name a1; ip addr add 10.9.8.7/24 dev a1; \
    ip -6 addr add fd00::7/64 dev a1 nodad; ip link add b0 type veth peer name b1; \
    ip addr add 10.1.1.1/24 dev b0; ip addr add 10.1.1.2/24 dev b1; ip link set b0 up";

#[test]
fn net_devices_move_in_with_their_addresses_renamed_and_up() {
    require_root!();
    require!(on_path("ip"), "ip (iproute2) is not installed");
    let env = Env::new();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "ip -o addr show scope global | tr -s ' ' | cut -d' ' -f2,4; \
         ip -o link show up | cut -d: -f2 | cut -d@ -f1; ping -c1 -W3 10.1.1.1 >/dev/null && echo reached",
    ]);
    b.edit(|c| {
        c["linux"]["netDevices"] = json!({"a1": {"name": "ctr0"}, "b1": {"name": "eth%d"}});
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push("CAP_NET_RAW".into());
        }
    });
    let id = env.id("netdev");
    // After the container: its namespace (and the moved veth ends, so their peers) goes, in
    // the kernel's own time.
    let o = in_a_netns(
        &env,
        &format!(
            "{VETHS}; $hull run --bundle {} {id}; echo ---; \
             for i in $(seq 100); do ip link show a0 >/dev/null 2>&1 || break; sleep 0.05; done; \
             ip -o link show | cut -d: -f2 | cut -d@ -f1",
            b.dir.display()
        ),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let (inside, after) = out.split_once("---\n").unwrap();
    let mut lines: Vec<&str> = inside.lines().map(str::trim).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "ctr0",
            "ctr0 10.9.8.7/24",
            "ctr0 fd00::7/64",
            "eth0",
            "eth0 10.1.1.2/24",
            "reached",
        ],
        "{out}"
    );
    // The spec: no device is moved back; a veth goes with the container's namespace.
    assert_eq!(
        after.split_whitespace().collect::<Vec<_>>(),
        ["lo"],
        "{out}"
    );
    assert_no_leftovers(&env, &id);
}

#[test]
fn net_devices_that_cannot_move_are_named_and_nothing_is_left() {
    require_root!();
    require!(on_path("ip"), "ip (iproute2) is not installed");
    let env = Env::new();
    let cases: [(Value, &str); 3] = [
        // a1 comes first, and stays: every device is checked before one moves.
        (
            json!({"a1": {}, "nope0": {}}),
            "linux.netDevices[\"nope0\"]: no network device \"nope0\" in hull's network namespace",
        ),
        (
            json!({"a1": {"name": "lo"}}),
            "linux.netDevices[\"a1\"].name: a device named \"lo\" is in the container's network namespace already",
        ),
        (json!({"a1": {"name": "a/b"}}), "linux.netDevices[\"a1\"].name: a device name has no /"),
    ];
    for (i, (devs, want)) in cases.into_iter().enumerate() {
        let mut b = env.bundle(&["true"]);
        b.edit(|c| c["linux"]["netDevices"] = devs);
        let id = env.id(&format!("netdev{i}"));
        let o = in_a_netns(
            &env,
            &format!(
                "{VETHS}; $hull run --bundle {} {id} || echo failed; ip -o link show a1 | cut -d: -f2",
                b.dir.display()
            ),
        );
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "want {want:?} in {err}");
        // A refused device stays where it was.
        assert_eq!(
            text(&o.stdout).split_whitespace().collect::<Vec<_>>(),
            ["failed", "a1@a0"],
            "{err}"
        );
        assert_no_leftovers(&env, &id);
    }
    // hull without CAP_NET_ADMIN (dropped from its bounding set, so root's exec does not get
    // it back): the kernel refuses the move, and the error says what it takes.
    let mut b = env.bundle(&["true"]);
    b.edit(|c| c["linux"]["netDevices"] = json!({"a1": {}}));
    let id = env.id("netdev-eperm");
    let o = in_a_netns(
        &env,
        &format!(
            "{VETHS}; setpriv --inh-caps=-net_admin --bounding-set=-net_admin -- $hull run --bundle {} {id} || echo failed; ip -o link show a1 | cut -d: -f2",
            b.dir.display()
        ),
    );
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("linux.netDevices[\"a1\"]: moving a device needs CAP_NET_ADMIN over hull's network namespace and the container's"),
        "{err}"
    );
    assert_eq!(
        text(&o.stdout).split_whitespace().collect::<Vec<_>>(),
        ["failed", "a1@a0"],
        "{err}"
    );
    assert_no_leftovers(&env, &id);
    // Without a network namespace of the container's, the devices would be the host's.
    refused(
        &env,
        |c| {
            c["linux"]["netDevices"] = json!({"a1": {}});
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "network");
        },
        "netdev-nons",
        "linux.netDevices: the container has no network namespace of its own",
    );
}

fn on_path(bin: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(bin).exists())
}
