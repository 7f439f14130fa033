//! Namespaces as the container process sees them: each of the eight types, when listed without a
//! path, is a new namespace (its `/proc/self/ns` inode differs from the host's) and, when absent,
//! is the host's; namespaces joined by `path` are those of another container; a user namespace
//! maps ids as configured; a time namespace shifts the clocks by `linux.timeOffsets`; the uts
//! namespace carries the configured hostname and domainname; and the payload is pid 1.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// The namespaces list of a config.
fn namespaces(c: &mut Value) -> &mut Vec<Value> {
    c["linux"]["namespaces"].as_array_mut().unwrap()
}

/// Add a new namespace of `typ` (no path).
fn add_ns(c: &mut Value, typ: &str) {
    namespaces(c).push(json!({ "type": typ }));
}

/// Remove the namespace of `typ` (and the hostname, which needs a uts namespace).
fn remove_ns(c: &mut Value, typ: &str) {
    namespaces(c).retain(|n| n["type"] != typ);
    if typ == "uts" {
        c.as_object_mut().unwrap().remove("hostname");
    }
}

/// A new user namespace mapping container 0.. to host 100000..65536.
fn add_userns(c: &mut Value) {
    add_ns(c, "user");
    c["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    c["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
}

/// A new time namespace with boottime and monotonic 10 days ahead.
fn add_timens(c: &mut Value) {
    add_ns(c, "time");
    c["linux"]["timeOffsets"] = json!({
        "boottime": { "secs": 86400 * 10, "nanosecs": 0 },
        "monotonic": { "secs": 86400 * 10, "nanosecs": 0 }
    });
}

/// `readlink /proc/self/ns/<proc_name>` inside a container built by `edit`.
fn inside_ns(env: &Env, proc_name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let out = env.sh(&format!("readlink /proc/self/ns/{proc_name}"), edit);
    let link = out.trim().to_string();
    assert!(
        link.starts_with(&format!("{proc_name}:[")),
        "unexpected ns link {link:?}"
    );
    link
}

fn host_ns(proc_name: &str) -> String {
    ns_inode(&format!("/proc/self/ns/{proc_name}"))
}

fn assert_new(proc_name: &str, edit: impl FnOnce(&mut Value)) {
    let env = Env::new();
    let inside = inside_ns(&env, proc_name, edit);
    assert_ne!(
        inside,
        host_ns(proc_name),
        "{proc_name} namespace is the host's"
    );
}

fn assert_host(proc_name: &str, edit: impl FnOnce(&mut Value)) {
    let env = Env::new();
    let inside = inside_ns(&env, proc_name, edit);
    assert_eq!(
        inside,
        host_ns(proc_name),
        "{proc_name} namespace is not the host's"
    );
}

// ---- new namespaces differ from the host's ----

#[test]
fn new_pid_namespace_differs_from_host() {
    require_root!();
    assert_new("pid", |_| {});
}

#[test]
fn new_network_namespace_differs_from_host() {
    require_root!();
    assert_new("net", |_| {});
}

#[test]
fn new_mount_namespace_differs_from_host() {
    require_root!();
    assert_new("mnt", |_| {});
}

#[test]
fn new_ipc_namespace_differs_from_host() {
    require_root!();
    assert_new("ipc", |_| {});
}

#[test]
fn new_uts_namespace_differs_from_host() {
    require_root!();
    assert_new("uts", |_| {});
}

#[test]
fn new_user_namespace_differs_from_host() {
    require_root!();
    assert_new("user", add_userns);
}

#[test]
fn new_cgroup_namespace_differs_from_host() {
    require_root!();
    assert_new("cgroup", |_| {});
}

#[test]
fn new_time_namespace_differs_from_host() {
    require_root!();
    assert_new("time", |c| add_ns(c, "time"));
}

// ---- absent namespaces are the host's ----

#[test]
fn absent_pid_namespace_is_the_hosts() {
    require_root!();
    assert_host("pid", |c| remove_ns(c, "pid"));
}

#[test]
fn absent_network_namespace_is_the_hosts() {
    require_root!();
    assert_host("net", |c| remove_ns(c, "network"));
}

#[test]
fn absent_ipc_namespace_is_the_hosts() {
    require_root!();
    assert_host("ipc", |c| remove_ns(c, "ipc"));
}

#[test]
fn absent_uts_namespace_is_the_hosts() {
    require_root!();
    assert_host("uts", |c| remove_ns(c, "uts"));
}

#[test]
fn absent_user_namespace_is_the_hosts() {
    require_root!();
    // The bundle has no user namespace.
    assert_host("user", |_| {});
}

#[test]
fn absent_cgroup_namespace_is_the_hosts() {
    require_root!();
    assert_host("cgroup", |c| remove_ns(c, "cgroup"));
}

#[test]
fn absent_time_namespace_is_the_hosts() {
    require_root!();
    // The bundle has no time namespace.
    assert_host("time", |_| {});
}

/// hull never mounts in the host's mount namespace: a config without one is refused up front.
#[test]
fn absent_mount_namespace_is_refused() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| remove_ns(c, "mount"));
    let id = env.id("nomntns");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("linux.namespaces"), "{err}");
    assert!(err.contains("mount namespace"), "{err}");
    assert_no_leftovers(&env, &id);
}

// ---- joining by path ----

/// Create a long-lived container (state `created`) and return its init pid.
fn created_container(env: &Env, tag: &str, edit: impl FnOnce(&mut Value)) -> (String, i64) {
    let mut b = env.bundle(&["sleep", "100"]);
    b.edit(edit);
    let id = env.id(tag);
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    assert!(pid > 0);
    (id, pid)
}

/// Replace the namespace of `typ` by one joined at `path`.
fn join_ns(c: &mut Value, typ: &str, path: &str) {
    namespaces(c).retain(|n| n["type"] != typ);
    namespaces(c).push(json!({ "type": typ, "path": path }));
}

#[test]
fn network_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (first, pid) = created_container(&env, "netowner", |_| {});
    let path = format!("/proc/{pid}/ns/net");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("net"));
    let inside = inside_ns(&env, "net", |c| join_ns(c, "network", &path));
    assert_eq!(
        inside, expected,
        "the second container is not in the first one's network namespace"
    );
    // The joined namespace has only the first container's loopback: no host interfaces.
    let links = env.sh("cat /proc/net/dev", |c| join_ns(c, "network", &path));
    let ifaces: Vec<&str> = links
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "{links}");
    assert!(env.hull(&["delete", "--force", &first]).status.success());
    assert_no_leftovers(&env, &first);
}

#[test]
fn uts_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (_first, pid) = created_container(&env, "utsowner", |c| {
        c["hostname"] = "hull-uts-owner".into()
    });
    let path = format!("/proc/{pid}/ns/uts");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("uts"));
    let out = env.sh("readlink /proc/self/ns/uts; hostname", |c| {
        c.as_object_mut().unwrap().remove("hostname");
        join_ns(c, "uts", &path);
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, [expected.as_str(), "hull-uts-owner"], "{out}");
}

#[test]
fn ipc_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (_first, pid) = created_container(&env, "ipcowner", |_| {});
    let path = format!("/proc/{pid}/ns/ipc");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("ipc"));
    let inside = inside_ns(&env, "ipc", |c| join_ns(c, "ipc", &path));
    assert_eq!(inside, expected);
}

#[test]
fn joining_a_missing_namespace_path_fails_naming_the_field() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| join_ns(c, "network", "/proc/999999999/ns/net"));
    let id = env.id("joinmissing");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("linux.namespaces[") && err.contains("].path"),
        "{err}"
    );
    assert_no_leftovers(&env, &id);
}

// ---- user namespace ----

fn status_field(pid: i64, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn wait_for_output(path: &std::path::Path, lines: usize) -> String {
    for _ in 0..500 {
        let s = std::fs::read_to_string(path).unwrap_or_default();
        if s.lines().count() >= lines {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn user_namespace_maps_container_root_to_host_id() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; sleep 100",
    ]);
    b.edit(add_userns);
    let id = env.id("userns");
    let out = env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    // From the host, the container's root is host uid/gid 100000.
    assert_eq!(status_field(pid, "Uid"), "100000 100000 100000 100000");
    assert_eq!(status_field(pid, "Gid"), "100000 100000 100000 100000");
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let got = wait_for_output(&out, 4);
    let lines: Vec<String> = got
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        ["0 100000 65536", "0 100000 65536", "0", "0"],
        "{got}"
    );
    // Still 100000 after exec.
    assert_eq!(status_field(pid, "Uid"), "100000 100000 100000 100000");
    assert!(env.hull(&["delete", "--force", &id]).status.success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn user_namespace_sees_host_root_files_as_nobody() {
    require_root!();
    let env = Env::new();
    // The shared rootfs belongs to host root, which is unmapped: overflow uid/gid inside.
    let out = env.sh(
        "stat -c '%u %g' /bin/busybox; touch /tmp/x && stat -c '%u %g' /tmp/x",
        add_userns,
    );
    assert_eq!(out, "65534 65534\n0 0\n");
}

// ---- time namespace ----

fn uptime(text: &str) -> f64 {
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn time_namespace_offsets_shift_uptime() {
    require_root!();
    let env = Env::new();
    let before = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let out = env.sh("cat /proc/uptime", add_timens);
    let after = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let inside = uptime(&out);
    let ten_days = 86400.0 * 10.0;
    assert!(
        inside >= before + ten_days - 0.5,
        "inside {inside}, host before {before}"
    );
    assert!(
        inside <= after + ten_days + 0.5,
        "inside {inside}, host after {after}"
    );
}

#[test]
fn time_offsets_without_time_namespace_are_refused() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        add_timens(c);
        remove_ns(c, "time");
    });
    let id = env.id("timeoffs");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("linux.timeOffsets"), "{err}");
}

// ---- uts: hostname and domainname ----

#[test]
fn hostname_and_domainname_are_set_in_new_uts_namespace() {
    require_root!();
    let env = Env::new();
    let host_hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host_domainname = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    let out = env.sh("hostname; cat /proc/sys/kernel/domainname", |c| {
        c["hostname"] = "hull-ns-test".into();
        c["domainname"] = "hull.example".into();
    });
    assert_eq!(out, "hull-ns-test\nhull.example\n");
    // The host's names are untouched.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_hostname
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
        host_domainname
    );
}

#[test]
fn hostname_without_uts_namespace_is_refused() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        namespaces(c).retain(|n| n["type"] != "uts");
        c["hostname"] = "nope".into();
    });
    let id = env.id("nouts");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("hostname"), "{err}");
}

// ---- pid namespace ----

#[test]
fn container_process_is_pid_1_in_new_pid_namespace() {
    require_root!();
    let env = Env::new();
    let out = env.sh("echo $$; cat /proc/1/cmdline | tr '\\0' ' '", |_| {});
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "{out}");
    assert!(lines[1].starts_with("sh -c echo $$"), "{out}");
}

#[test]
fn container_process_is_not_pid_1_without_pid_namespace() {
    require_root!();
    let env = Env::new();
    let out = env.sh("echo $$", |c| remove_ns(c, "pid"));
    let pid: i64 = out.trim().parse().unwrap();
    assert!(pid > 1, "{out}");
}

#[test]
fn user_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (_first, pid) = created_container(&env, "userowner", add_userns);
    let path = format!("/proc/{pid}/ns/user");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("user"));
    let out = env.sh("readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; touch /tmp/x && stat -c %u /tmp/x", |c| join_ns(c, "user", &path));
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        lines,
        [expected.as_str(), "0 100000 65536", "0", "0"],
        "{out}"
    );
}

#[test]
fn pid_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (_first, pid) = created_container(&env, "pidowner", |_| {});
    let path = format!("/proc/{pid}/ns/pid");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("pid"));
    // The first container's init is pid 1 there; the second container's process is not.
    let out = env.sh(
        "readlink /proc/self/ns/pid; echo $$; test -d /proc/1 && echo has-pid-1",
        |c| join_ns(c, "pid", &path),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], expected, "{out}");
    assert!(lines[1].parse::<i64>().unwrap() > 1, "{out}");
    assert_eq!(lines[2], "has-pid-1", "{out}");
}

#[test]
fn time_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (_first, pid) = created_container(&env, "timeowner", add_timens);
    let path = format!("/proc/{pid}/ns/time");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("time"));
    let before = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let out = env.sh("readlink /proc/self/ns/time; cat /proc/uptime", |c| {
        join_ns(c, "time", &path)
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], expected, "{out}");
    assert!(
        uptime(lines[1]) >= before + 86400.0 * 10.0 - 0.5,
        "{out} (host {before})"
    );
}

#[test]
fn cgroup_namespace_is_joined_by_path() {
    require_root!();
    let env = Env::new();
    let (_first, pid) = created_container(&env, "cgowner", |_| {});
    let path = format!("/proc/{pid}/ns/cgroup");
    let expected = ns_inode(&path);
    assert_ne!(expected, host_ns("cgroup"));
    assert_eq!(
        inside_ns(&env, "cgroup", |c| join_ns(c, "cgroup", &path)),
        expected
    );
}
