//! What the container process sees of `process` and of the per-process parts of `linux`: its
//! argv resolved through the container's PATH, env, cwd, user and groups, umask, the five
//! capability sets, rlimits, no_new_privs, oom_score_adj, sysctls, scheduler and I/O priority,
//! personality, CPU affinity, the file descriptors it inherits, and the cgroups it is placed
//! in. Every test starts real busybox containers and reads the values back from inside.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use serde_json::{json, Value};

/// A name unique to this test process and call, for cgroup paths.
fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// The v1 hierarchies and the cgroup2 mount under /sys/fs/cgroup on this host.
fn cgroup_mounts() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        // Skip symlinks such as cpu,cpuacct -> cpu: the same hierarchy twice.
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .collect();
    out.sort();
    out
}

// ---- args, env, cwd ----------------------------------------------------------------------

#[test]
fn args_are_resolved_through_path_from_process_env() {
    require_root!();
    let env = Env::new();
    // `id` lives in /bin: found through the container's PATH.
    let mut b = env.bundle(&["id", "-u"]);
    b.edit(|c| c["process"]["env"] = json!(["PATH=/nowhere:/bin"]));
    let id = env.id("path");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!((code, out.as_str()), (0, "0\n"), "{err}");
    assert_no_leftovers(&env, &id);

    // A PATH without /bin, /usr/bin, /sbin...: not found, in runc's words, and no container.
    let mut b = env.bundle(&["id", "-u"]);
    b.edit(|c| c["process"]["env"] = json!(["PATH=/nowhere:/etc"]));
    let id = env.id("nopath");
    let (code, out, err) = env.run(&b, &id);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("executable file not found in $PATH"), "{err}");
    assert_no_leftovers(&env, &id);
}

#[test]
fn absolute_args0_is_executed_without_path() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["/bin/echo", "absolute", "path"]);
    b.edit(|c| c["process"]["env"] = json!(["PATH=/nowhere"]));
    let id = env.id("abs");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!((code, out.as_str()), (0, "absolute path\n"), "{err}");
    assert_no_leftovers(&env, &id);
}

#[test]
fn env_is_the_process_environment() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["env"]);
    b.edit(|c| {
        c["process"]["env"] = json!([
            "PATH=/bin",
            "HULL_TEST_VAR=some value=with equals",
            "EMPTY="
        ])
    });
    let id = env.id("env");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    let lines: BTreeSet<&str> = out.lines().collect();
    // Exactly the configured environment: nothing of hull's own leaks in. HOME, which the
    // config leaves out, comes from the container's /etc/passwd (runc).
    assert_eq!(
        lines,
        BTreeSet::from([
            "PATH=/bin",
            "HULL_TEST_VAR=some value=with equals",
            "EMPTY=",
            "HOME=/root"
        ]),
        "{out}"
    );
}

#[test]
fn home_comes_from_the_container_passwd_when_the_env_has_none() {
    require_root!();
    let env = Env::new();
    let print = "echo \"[${HOME-unset}]\"";
    let home = |uid: u32, vars: &[&str], mounts: &[Value]| {
        env.sh(print, |c| {
            c["process"]["user"] = json!({"uid": uid, "gid": uid});
            let mut e = vec![json!("PATH=/bin")];
            e.extend(vars.iter().map(|v| json!(v)));
            c["process"]["env"] = Value::Array(e);
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .extend_from_slice(mounts);
        })
    };
    // bundles/busybox's /etc/passwd: root, user (1000, /home), nobody (65534, /nonexistent).
    assert_eq!(home(0, &[], &[]), "[/root]\n");
    assert_eq!(home(1000, &[], &[]), "[/home]\n");
    assert_eq!(home(65534, &[], &[]), "[/nonexistent]\n");
    // A uid without an entry: "/".
    assert_eq!(home(4242, &[], &[]), "[/]\n");
    // The env's HOME wins; an empty one counts as none (runc's os.Getenv test) and is replaced.
    assert_eq!(home(1000, &["HOME=/custom"], &[]), "[/custom]\n");
    assert_eq!(home(1000, &["HOME="], &[]), "[/home]\n");

    // The container's file, through its mounts, parsed as runc parses it: the first entry of a
    // uid wins, lines are trimmed, a home field left empty (or missing) makes HOME empty.
    let passwd = env.dir.join("passwd");
    fs::write(
        &passwd,
        "root:x:0:0:root:/root-bound:/bin/sh\n\
         \n\
         first:x:1000:1000::/home/first:/bin/sh\n\
         second:x:1000:1000::/home/second:/bin/sh\n\
         \t spaced:x:88:88::/spaced:/bin/sh  \n\
         nohome:x:77:77:::/bin/sh\n\
         short:x:66\n",
    )
    .unwrap();
    let bind = [json!({"destination": "/etc/passwd", "type": "bind",
                       "source": passwd, "options": ["bind", "ro"]})];
    assert_eq!(home(0, &[], &bind), "[/root-bound]\n");
    assert_eq!(home(1000, &[], &bind), "[/home/first]\n");
    assert_eq!(home(88, &[], &bind), "[/spaced]\n");
    assert_eq!(home(77, &[], &bind), "[]\n");
    assert_eq!(home(66, &[], &bind), "[]\n");
    assert_eq!(home(65534, &[], &bind), "[/]\n");
    // No /etc/passwd at all (an empty /etc): "/".
    let empty_etc = [json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs"})];
    assert_eq!(home(0, &[], &empty_etc), "[/]\n");
}

#[test]
fn cwd_is_the_working_directory() {
    require_root!();
    let env = Env::new();
    let out = env.sh("pwd", |c| c["process"]["cwd"] = json!("/etc"));
    assert_eq!(out, "/etc\n");
}

#[test]
fn missing_cwd_is_created() {
    require_root!();
    let env = Env::new();
    // /tmp is a tmpfs in the bundle: the directories are made there, not in the shared rootfs.
    let out = env.sh("pwd; stat -c %F .", |c| {
        c["process"]["cwd"] = json!("/tmp/made/by/hull")
    });
    assert_eq!(out, "/tmp/made/by/hull\ndirectory\n");
    assert!(
        !rootfs().join("tmp/made").exists(),
        "cwd was created in the shared rootfs"
    );
}

// ---- user ---------------------------------------------------------------------------------

#[test]
fn user_uid_and_gid_are_applied() {
    require_root!();
    let env = Env::new();
    let out = env.sh(
        "id -u; id -g; grep -E '^(Uid|Gid):' /proc/self/status",
        |c| c["process"]["user"] = json!({"uid": 1234, "gid": 5678}),
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1234"), "{out}");
    assert_eq!(lines.next(), Some("5678"), "{out}");
    // Real, effective, saved and filesystem ids all switched.
    let status = lines.collect::<Vec<_>>().join("\n");
    assert_eq!(
        status_field(&status, "Uid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["1234"; 4],
        "{out}"
    );
    assert_eq!(
        status_field(&status, "Gid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["5678"; 4],
        "{out}"
    );
}

#[test]
fn additional_gids_are_the_supplementary_groups() {
    require_root!();
    let env = Env::new();
    let out =
        env.sh(
            "cat /proc/self/status",
            |c| {
                c["process"]["user"] =
                    json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20, 3000]})
            },
        );
    let groups: Vec<&str> = status_field(&out, "Groups").split_whitespace().collect();
    assert_eq!(groups, ["10", "20", "3000"]);

    // Without additionalGids the host's groups of hull are not inherited: none at all.
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000})
    });
    assert_eq!(status_field(&out, "Groups"), "");
}

#[test]
fn umask_defaults_to_0022_and_follows_the_config() {
    require_root!();
    let env = Env::new();
    let out = env.sh("umask; touch /tmp/f; stat -c %a /tmp/f", |_| {});
    assert_eq!(out, "0022\n644\n");
    let out = env.sh("umask; touch /tmp/f; stat -c %a /tmp/f", |c| {
        c["process"]["user"]["umask"] = json!(0o077)
    });
    assert_eq!(out, "0077\n600\n");
}

// ---- capabilities -------------------------------------------------------------------------

#[test]
fn capability_sets_are_visible_in_proc_self_status() {
    require_root!();
    let env = Env::new();
    let bounding = [
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_ADMIN",
        "CAP_AUDIT_WRITE",
        "CAP_SETUID",
    ];
    // For root, execve recomputes permitted = effective = bounding | inheritable: keep the
    // configured sets consistent with that so every one of the five is checked as configured.
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]["capabilities"] = json!({
            "bounding": bounding,
            "effective": bounding,
            "permitted": bounding,
            "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"],
            "ambient": ["CAP_NET_BIND_SERVICE"],
        })
    });
    let all = cap_mask(&[
        CAP_CHOWN,
        CAP_KILL,
        CAP_NET_BIND_SERVICE,
        CAP_SYS_ADMIN,
        CAP_AUDIT_WRITE,
        CAP_SETUID,
    ]);
    assert_eq!(status_field(&out, "CapBnd"), all, "{out}");
    assert_eq!(status_field(&out, "CapEff"), all, "{out}");
    assert_eq!(status_field(&out, "CapPrm"), all, "{out}");
    assert_eq!(
        status_field(&out, "CapInh"),
        cap_mask(&[CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE]),
        "{out}"
    );
    assert_eq!(
        status_field(&out, "CapAmb"),
        cap_mask(&[CAP_NET_BIND_SERVICE]),
        "{out}"
    );
}

#[test]
fn default_bundle_capabilities_are_exactly_its_sets() {
    require_root!();
    let env = Env::new();
    let out = env.sh("cat /proc/self/status", |_| {});
    let want = cap_mask(&[
        CAP_AUDIT_WRITE,
        CAP_KILL,
        CAP_NET_BIND_SERVICE,
        CAP_CHOWN,
        CAP_SETUID,
        CAP_SETGID,
    ]);
    assert_eq!(status_field(&out, "CapBnd"), want, "{out}");
    assert_eq!(status_field(&out, "CapEff"), want, "{out}");
    assert_eq!(status_field(&out, "CapPrm"), want, "{out}");
    assert_eq!(status_field(&out, "CapInh"), cap_mask(&[]), "{out}");
    assert_eq!(status_field(&out, "CapAmb"), cap_mask(&[]), "{out}");
}

#[test]
fn ambient_capabilities_are_effective_for_a_non_root_user() {
    require_root!();
    let env = Env::new();
    let caps = |c: &mut Value, ambient: Value| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"],
            "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"],
            "inheritable": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ambient,
        });
    };
    // A non-root execve keeps only the ambient set as permitted and effective.
    let script = "cat /proc/self/status; touch /tmp/f; chown 4242 /tmp/f && echo chown-ok";
    let out = env.sh(script, |c| {
        caps(c, json!(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]))
    });
    let amb = cap_mask(&[CAP_CHOWN, CAP_NET_BIND_SERVICE]);
    assert_eq!(
        status_field(&out, "Uid").split_whitespace().next(),
        Some("1000"),
        "{out}"
    );
    assert_eq!(status_field(&out, "CapAmb"), amb, "{out}");
    assert_eq!(status_field(&out, "CapEff"), amb, "{out}");
    assert_eq!(status_field(&out, "CapPrm"), amb, "{out}");
    assert_eq!(
        status_field(&out, "CapInh"),
        cap_mask(&[CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE]),
        "{out}"
    );
    assert_eq!(
        status_field(&out, "CapBnd"),
        cap_mask(&[CAP_CHOWN, CAP_KILL, CAP_NET_BIND_SERVICE, CAP_SETUID]),
        "{out}"
    );
    // And it works: CAP_CHOWN lets uid 1000 give a file away.
    assert!(out.ends_with("chown-ok\n"), "{out}");

    // Without ambient caps the same user has no effective capability and chown fails.
    let script =
        "cat /proc/self/status; touch /tmp/f; chown 4242 /tmp/f 2>/dev/null || echo chown-denied";
    let out = env.sh(script, |c| caps(c, json!([])));
    assert_eq!(status_field(&out, "CapEff"), cap_mask(&[]), "{out}");
    assert_eq!(status_field(&out, "CapPrm"), cap_mask(&[]), "{out}");
    assert!(out.ends_with("chown-denied\n"), "{out}");
}

// ---- rlimits, no_new_privs, oom_score_adj -------------------------------------------------

/// (soft, hard) of a /proc/self/limits row such as "Max open files".
fn limit_row(limits: &str, name: &str) -> (String, String) {
    let row = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {limits}"));
    let mut it = row[name.len()..].split_whitespace();
    (
        it.next().unwrap().to_string(),
        it.next().unwrap().to_string(),
    )
}

#[test]
fn rlimits_are_visible_in_proc_self_limits() {
    require_root!();
    let env = Env::new();
    let out = env.sh("cat /proc/self/limits", |c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
            {"type": "RLIMIT_NPROC", "soft": 111, "hard": 222},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        ])
    });
    assert_eq!(
        limit_row(&out, "Max open files"),
        ("321".into(), "654".into()),
        "{out}"
    );
    assert_eq!(
        limit_row(&out, "Max processes"),
        ("111".into(), "222".into()),
        "{out}"
    );
    assert_eq!(
        limit_row(&out, "Max core file size"),
        ("0".into(), "4096".into()),
        "{out}"
    );
}

#[test]
fn rlimit_above_the_host_hard_limit_fails_create() {
    require_root!();
    let env = Env::new();
    // Root here lacks CAP_SYS_RESOURCE: raising the hard limit is refused, and create says so.
    let mut hard = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we own.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut hard) };
    assert_eq!(r, 0);
    let caps = fs::read_to_string("/proc/self/status").unwrap();
    let bnd = u64::from_str_radix(status_field(&caps, "CapBnd"), 16).unwrap();
    if bnd & (1 << 24) != 0 || hard.rlim_max == libc::RLIM_INFINITY {
        eprintln!("skipped: this host lets root raise rlimits");
        return;
    }
    let mut b = env.bundle(&["true"]);
    let over = hard.rlim_max + 1;
    b.edit(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": over, "hard": over}])
    });
    let id = env.id("rlimit-over");
    let (code, _, err) = env.run(&b, &id);
    assert_ne!(code, 0);
    assert!(err.contains("process.rlimits[0]"), "{err}");
    assert_no_leftovers(&env, &id);
}

#[test]
fn no_new_privileges_sets_no_new_privs() {
    require_root!();
    let env = Env::new();
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]["noNewPrivileges"] = json!(true)
    });
    assert_eq!(status_field(&out, "NoNewPrivs"), "1");
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]["noNewPrivileges"] = json!(false)
    });
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]
            .as_object_mut()
            .unwrap()
            .remove("noNewPrivileges");
    });
    assert_eq!(status_field(&out, "NoNewPrivs"), "0");
}

#[test]
fn oom_score_adj_is_applied() {
    require_root!();
    let env = Env::new();
    // Raising is always allowed; lowering needs CAP_SYS_RESOURCE, which root lacks here.
    let out = env.sh("cat /proc/self/oom_score_adj", |c| {
        c["process"]["oomScoreAdj"] = json!(345)
    });
    assert_eq!(out, "345\n");
    let out = env.sh("cat /proc/self/oom_score_adj", |c| {
        c["process"]["oomScoreAdj"] = json!(1000)
    });
    assert_eq!(out, "1000\n");
    let own = fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let out = env.sh("cat /proc/self/oom_score_adj", |_| {});
    assert_eq!(out, own, "without oomScoreAdj the value is inherited");
}

// ---- sysctl -------------------------------------------------------------------------------

#[test]
fn sysctls_are_set_in_the_container_namespaces() {
    require_root!();
    let env = Env::new();
    let host_fwd = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_shmmax = fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    let out = env.sh(
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/shm_rmid_forced",
        |c| {
            c["linux"]["sysctl"] = json!({
                "net.ipv4.ip_forward": "1",
                "kernel.shmmax": "65536",
                "kernel.shm_rmid_forced": "1",
            })
        },
    );
    assert_eq!(out, "1\n65536\n1\n");
    // The host's values (other namespaces) are untouched.
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_fwd
    );
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/shmmax").unwrap(),
        host_shmmax
    );
    // /proc/sys is still read-only for the process (readonlyPaths applies after sysctls).
    let out = env.sh(
        "echo 0 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo writable || echo ro",
        |_| {},
    );
    assert_eq!(out, "ro\n");
}

// ---- scheduler, I/O priority, personality, affinity ---------------------------------------

/// Fields of /proc/<pid>/stat after the command name: index 0 is field 3 (state).
fn stat_field(stat: &str, field: usize) -> i64 {
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split_whitespace()
        .nth(field - 3)
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn scheduler_policy_and_nice_are_applied() {
    require_root!();
    let env = Env::new();
    let out = env.sh("cat /proc/self/stat", |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 7})
    });
    assert_eq!(stat_field(&out, 41), 3, "policy (SCHED_BATCH) in {out}");
    assert_eq!(stat_field(&out, 19), 7, "nice in {out}");
    let out = env.sh("cat /proc/self/stat", |c| {
        c["process"]["scheduler"] = json!({"policy": "SCHED_IDLE"})
    });
    assert_eq!(stat_field(&out, 41), 5, "policy (SCHED_IDLE) in {out}");
    let out = env.sh("cat /proc/self/stat", |_| {});
    assert_eq!(
        stat_field(&out, 41),
        0,
        "default policy (SCHED_OTHER) in {out}"
    );
}

#[test]
fn io_priority_is_applied() {
    require_root!();
    let env = Env::new();
    // busybox ionice prints "<class>: prio <n>", or only "idle" for the idle class.
    let out = env.sh("ionice -p $$", |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 4})
    });
    assert_eq!(out, "best-effort: prio 4\n");
    let out = env.sh("ionice -p $$", |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0})
    });
    assert_eq!(out, "idle\n");
    let out = env.sh("ionice -p $$", |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 7})
    });
    assert_eq!(out, "best-effort: prio 7\n");
}

#[test]
fn personality_linux32_makes_uname_report_32_bit() {
    require_root!();
    let env = Env::new();
    let host = text(
        &std::process::Command::new("uname")
            .arg("-m")
            .output()
            .unwrap()
            .stdout,
    );
    let out = env.sh("uname -m", |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX32"})
    });
    let want = match host.trim() {
        "x86_64" => "i686",
        "aarch64" => "armv8l",
        other => panic!("no 32-bit personality name known for {other}"),
    };
    assert_eq!(out.trim(), want);
    let out = env.sh("uname -m", |c| {
        c["linux"]["personality"] = json!({"domain": "LINUX"})
    });
    assert_eq!(out, host);
}

#[test]
fn exec_cpu_affinity_final_is_the_affinity_of_the_process() {
    require_root!();
    let env = Env::new();
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "0"})
    });
    assert_eq!(status_field(&out, "Cpus_allowed_list"), "0", "{out}");
    if n < 2 {
        eprintln!("skipped the second CPU: the host has one");
        return;
    }
    // final differs from initial: the process runs on final.
    let out = env.sh("cat /proc/self/status", |c| {
        c["process"]["execCPUAffinity"] = json!({"initial": "0", "final": "1"})
    });
    assert_eq!(status_field(&out, "Cpus_allowed_list"), "1", "{out}");
}

// ---- file descriptors ---------------------------------------------------------------------

/// `hull run [extra] --bundle b id` with `files` on extra fds of hull: (code, stdout, stderr).
fn run_with_fds(
    env: &Env,
    b: &Bundle,
    id: &str,
    extra: &[&str],
    files: Vec<(fs::File, i32)>,
) -> (i32, String, String) {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    let bdir = b.dir.to_str().unwrap().to_string();
    args.extend_from_slice(&["--bundle", &bdir, id]);
    let mut cmd = env.cmd(&args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    with_fds(&mut cmd, &files);
    let o = cmd.output().unwrap();
    drop(files);
    (
        o.status.code().unwrap_or(-1),
        text(&o.stdout),
        text(&o.stderr),
    )
}

fn fd_set(out: &str) -> BTreeSet<u32> {
    out.split_whitespace().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn only_stdio_is_inherited_by_the_process() {
    require_root!();
    let env = Env::new();
    let f = env.dir.join("leak");
    fs::write(&f, "secret").unwrap();
    let b = env.bundle(&["ls", "/proc/self/fd"]);
    let id = env.id("fds");
    let files = vec![
        (fs::File::open(&f).unwrap(), 5),
        (fs::File::open(&f).unwrap(), 3),
    ];
    let (code, out, err) = run_with_fds(&env, &b, &id, &[], files);
    assert_eq!(code, 0, "{err}");
    // 0, 1, 2 and the directory ls itself reads (the lowest free fd: 3).
    assert_eq!(fd_set(&out), BTreeSet::from([0, 1, 2, 3]), "{out}");
    assert_no_leftovers(&env, &id);

    // The same through create + start, with the extra fds given to `create`.
    let b = env.bundle(&["ls", "/proc/self/fd"]);
    let id = env.id("fds-create");
    let outf = env.dir.join("fds-create.out");
    let errf = env.dir.join("fds-create.err");
    let files = vec![
        (fs::File::open(&f).unwrap(), 5),
        (fs::File::open(&f).unwrap(), 3),
    ];
    let mut cmd = env.cmd(&["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    cmd.stdout(fs::File::create(&outf).unwrap())
        .stderr(fs::File::create(&errf).unwrap());
    with_fds(&mut cmd, &files);
    let st = cmd.status().unwrap();
    drop(files);
    assert!(st.success(), "{}", fs::read_to_string(&errf).unwrap());
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    env.wait_status(&id, "stopped");
    let out = fs::read_to_string(&outf).unwrap();
    assert_eq!(fd_set(&out), BTreeSet::from([0, 1, 2, 3]), "{out}");
    assert!(env.hull(&["delete", &id]).status.success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn preserve_fds_passes_the_next_fds_through() {
    require_root!();
    let env = Env::new();
    let f3 = env.dir.join("three");
    let f4 = env.dir.join("four");
    fs::write(&f3, "from fd 3\n").unwrap();
    fs::write(&f4, "from fd 4\n").unwrap();
    let b = env.bundle(&["sh", "-c", "cat <&3; [ -e /proc/$$/fd/4 ] && echo fd4-leaked; [ -e /proc/$$/fd/7 ] && echo fd7-leaked; true"]);
    let id = env.id("preserve");
    let files = vec![
        (fs::File::open(&f3).unwrap(), 3),
        (fs::File::open(&f4).unwrap(), 4),
        (fs::File::open(&f4).unwrap(), 7),
    ];
    let (code, out, err) = run_with_fds(&env, &b, &id, &["--preserve-fds", "1"], files);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from fd 3\n");
    assert_no_leftovers(&env, &id);

    // --preserve-fds 2: fd 4 too.
    let b = env.bundle(&["sh", "-c", "cat <&3; cat <&4"]);
    let id = env.id("preserve2");
    let files = vec![
        (fs::File::open(&f3).unwrap(), 3),
        (fs::File::open(&f4).unwrap(), 4),
    ];
    let (code, out, err) = run_with_fds(&env, &b, &id, &["--preserve-fds", "2"], files);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "from fd 3\nfrom fd 4\n", "{err}");
    assert_no_leftovers(&env, &id);
}

#[test]
fn socket_activation_fds_and_variables_reach_the_process() {
    require_root!();
    let env = Env::new();
    let f3 = env.dir.join("listen");
    fs::write(&f3, "from the listener\n").unwrap();
    let script = "echo \"fds=$LISTEN_FDS pid=$LISTEN_PID\"; cat <&3 2>/dev/null || echo no-fd3";
    let run = |listen_pid: Option<&str>| {
        let b = env.bundle(&["sh", "-c", script]);
        let id = env.id("listen");
        let bdir = b.dir.to_str().unwrap().to_string();
        let mut cmd = env.cmd(&["run", "--bundle", &bdir, &id]);
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("LISTEN_FDS", "1");
        match listen_pid {
            Some(p) => cmd.env("LISTEN_PID", p),
            None => cmd.env_remove("LISTEN_PID"),
        };
        let files = vec![(fs::File::open(&f3).unwrap(), 3)];
        with_fds(&mut cmd, &files);
        let o = cmd.output().unwrap();
        assert_no_leftovers(&env, &id);
        (text(&o.stdout), text(&o.stderr))
    };
    // runc's rule: LISTEN_FDS=N and no LISTEN_PID (or ours) → fds 3.. and the variables pass.
    let (out, err) = run(None);
    assert_eq!(out, "fds=1 pid=1\nfrom the listener\n", "{err}");
    // Sockets meant for another process stay out.
    let (out, err) = run(Some("1"));
    assert_eq!(out, "fds= pid=\nno-fd3\n", "{err}");
}

// ---- cgroups ------------------------------------------------------------------------------

/// Create and start a container running `script` then sleeping; wait for `marker` in its
/// output. Returns (pid, output).
fn start_sleeper(
    env: &Env,
    id: &str,
    script: &str,
    edit: impl FnOnce(&mut Value),
) -> (i64, String) {
    let mut b = env.bundle(&[
        "sh",
        "-c",
        &format!("{script}; echo marker-done; exec sleep 100"),
    ]);
    b.edit(edit);
    let out = env.create_ok(&b, id);
    let o = env.hull(&["start", id]);
    assert!(o.status.success(), "start {id}: {}", text(&o.stderr));
    let got = wait_for_output(&out, "marker-done");
    (env.state(id)["pid"].as_i64().unwrap(), got)
}

fn procs(dir: &Path) -> Vec<i64> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// The `<hierarchy>:<path>` lines of /proc/<pid>/cgroup text, as (controllers, path).
fn proc_cgroup_lines(t: &str) -> Vec<(String, String)> {
    t.lines()
        .map(|l| {
            let mut it = l.splitn(3, ':');
            let _ = it.next();
            (
                it.next().unwrap().to_string(),
                it.next().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn default_cgroup_is_hull_slash_id_in_every_hierarchy() {
    require_root!();
    let env = Env::new();
    let id = env.id("cgdefault");
    // No cgroup namespace: the container sees its real path.
    let (pid, out) = start_sleeper(&env, &id, "cat /proc/self/cgroup", |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "cgroup")
    });
    let mounts = cgroup_mounts();
    assert!(mounts.iter().any(|m| m.ends_with("unified")), "{mounts:?}");
    for m in &mounts {
        let dir = m.join("hull").join(&id);
        assert!(dir.is_dir(), "{} missing", dir.display());
        assert_eq!(procs(&dir), vec![pid], "{}", dir.display());
    }
    let want = format!("/hull/{id}");
    let lines = proc_cgroup_lines(out.trim_end_matches("marker-done\n"));
    assert!(!lines.is_empty(), "{out}");
    for (ctrl, path) in &lines {
        assert_eq!(path, &want, "hierarchy {ctrl:?} in {out}");
    }
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn cgroup_namespace_shows_root_inside() {
    require_root!();
    let env = Env::new();
    let id = env.id("cgns");
    let (pid, out) = start_sleeper(&env, &id, "cat /proc/self/cgroup", |_| {});
    let lines = proc_cgroup_lines(out.trim_end_matches("marker-done\n"));
    assert!(!lines.is_empty(), "{out}");
    for (ctrl, path) in &lines {
        assert_eq!(path, "/", "hierarchy {ctrl:?} in {out}");
    }
    // ...while the host sees the real place.
    let host = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for (ctrl, path) in proc_cgroup_lines(&host) {
        assert_eq!(path, format!("/hull/{id}"), "hierarchy {ctrl:?} in {host}");
    }
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn absolute_cgroups_path_is_used_and_removed_with_its_parents() {
    require_root!();
    let env = Env::new();
    let id = env.id("cgabs");
    let top = unique("hull-cgtest");
    let (pid, out) = start_sleeper(&env, &id, "cat /proc/self/cgroup", |c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{top}/x"));
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "cgroup")
    });
    for m in cgroup_mounts() {
        let dir = m.join(&top).join("x");
        assert_eq!(procs(&dir), vec![pid], "{}", dir.display());
        assert!(
            !m.join("hull").join(&id).exists(),
            "default path used too: {}",
            m.display()
        );
    }
    for (ctrl, path) in proc_cgroup_lines(out.trim_end_matches("marker-done\n")) {
        assert_eq!(path, format!("/{top}/x"), "hierarchy {ctrl:?} in {out}");
    }
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
    let left = cgroup_dirs_named(&top);
    assert!(left.is_empty(), "cgroups hull created are left: {left:?}");
}

#[test]
fn relative_cgroups_path_is_under_hulls_own_cgroup() {
    require_root!();
    let env = Env::new();
    let own = fs::read_to_string("/proc/self/cgroup").unwrap();
    let own_of = |ctrl: &str| {
        proc_cgroup_lines(&own)
            .into_iter()
            .find(|(c, _)| c.split(',').any(|x| x == ctrl))
            .map(|(_, p)| p)
            .unwrap()
    };
    let mem = own_of("memory");
    let id = env.id("cgrel");
    let top = unique("hull-cgrel");
    let rel = format!("{top}/y");
    let (pid, _) = start_sleeper(&env, &id, "true", |c| {
        c["linux"]["cgroupsPath"] = json!(rel)
    });
    let dir = Path::new("/sys/fs/cgroup/memory")
        .join(mem.trim_start_matches('/'))
        .join(&rel);
    assert_eq!(procs(&dir), vec![pid], "{}", dir.display());
    let host = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for (ctrl, path) in proc_cgroup_lines(&host) {
        // Each hierarchy: hull's own cgroup there, then the relative path.
        let base = proc_cgroup_lines(&own)
            .into_iter()
            .find(|(c, _)| *c == ctrl)
            .map(|(_, p)| p)
            .unwrap();
        assert_eq!(
            path,
            format!("{}/{rel}", base.trim_end_matches('/')),
            "hierarchy {ctrl:?} in {host}"
        );
    }
    if mem == "/" {
        eprintln!(
            "note: hull's memory cgroup is the root here; the relative case is the absolute one"
        );
    }
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
    let left = cgroup_dirs_named(&top);
    assert!(left.is_empty(), "cgroups hull created are left: {left:?}");
}

#[test]
fn run_detach_places_the_container_in_its_cgroup() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("cgdetach");
    let errf = env.dir.join("detach.err");
    let o = env
        .cmd(&["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(Stdio::null())
        .stderr(fs::File::create(&errf).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", fs::read_to_string(&errf).unwrap());
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        procs(&Path::new("/sys/fs/cgroup/unified/hull").join(&id)),
        vec![pid]
    );
    assert_eq!(
        procs(&Path::new("/sys/fs/cgroup/memory/hull").join(&id)),
        vec![pid]
    );
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}
