//! `hull exec`: a new process in a running container shares init's namespaces, root and
//! cgroups; takes its defaults (env, cwd, user, capabilities, rlimits, no_new_privs, seccomp)
//! from the container's config and its overrides from runc's flags or a `--process` file;
//! passes stdio, signals and the exit code through in the foreground; with `--detach` leaves a
//! process that is no longer hull's child; works in a created container as in a running one;
//! sets HOME from the container's /etc/passwd when the env has none; and fails before anything
//! runs when the container or the binary is missing, leaving no stray process behind, with
//! runc's `exec failed: …` and exit code 255 (1 only for a command line that does not parse).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Create and start a container whose init writes `marker` to /tmp/marker and sleeps;
/// returns (id, init's host pid).
fn start(env: &Env, edit: impl FnOnce(&mut Value)) -> (String, i32) {
    let mut b = env.bundle(&["sh", "-c", "echo $MARKER > /tmp/marker; exec sleep 1000"]);
    let id = env.id("exec");
    let marker = format!("MARKER=m-{id}");
    b.edit(|c| {
        c["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(Value::String(marker));
        edit(c);
    });
    env.create_ok(&b, &id);
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    // Until init has written its marker (the tenant reads it).
    let pid = env.state(&id)["pid"].as_i64().unwrap() as i32;
    for _ in 0..500 {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" {
            return (id, pid);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("init of {id} never reached sleep");
}

/// `hull exec <args...>` in the foreground with stdin from /dev/null.
fn exec(env: &Env, args: &[&str]) -> Output {
    let mut a = vec!["exec"];
    a.extend_from_slice(args);
    env.hull(&a)
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// An exec that failed before its process ran: runc's `exec failed: …` and exit code 255, with
/// the wording engines match (`want`) kept.
fn assert_exec_failed(o: &Output, want: &str) {
    let err = text(&o.stderr);
    assert_eq!(code(o), 255, "{err}");
    assert!(err.starts_with("hull: exec failed: "), "{err}");
    assert!(err.contains(want), "want {want:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

/// The capabilities of bundles/busybox/config.json.
const DEFAULT_CAPS: [u32; 6] = [
    CAP_CHOWN,
    CAP_KILL,
    CAP_SETGID,
    CAP_SETUID,
    CAP_NET_BIND_SERVICE,
    CAP_AUDIT_WRITE,
];

/// Pids in `cgroup.procs` of the container's pids cgroup (default cgroupsPath /hull/<id>).
fn pids_cgroup(id: &str) -> BTreeSet<i32> {
    let p = format!("/sys/fs/cgroup/pids/hull/{id}/cgroup.procs");
    fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

/// Every cgroup directory of container `id` on this host (each hierarchy's hull/<id>).
fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let dirs = cgroup_dirs_named(id);
    assert!(!dirs.is_empty(), "no cgroup of {id}");
    dirs
}

/// Only init is left in the container (no stray tenant or stage 1).
fn assert_only_init(id: &str, init: i32) {
    assert_eq!(
        pids_cgroup(id),
        BTreeSet::from([init]),
        "stray process in {id}"
    );
}

/// The host pid of the (only) child of `parent`, waiting until it has one.
fn child_of(parent: u32) -> i32 {
    for _ in 0..500 {
        let c = fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        if let Some(p) = c.split_whitespace().next() {
            return p.parse().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{parent} never got a child");
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn exec_shares_init_namespaces_hostname_and_root() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    let script = "for n in ipc mnt net pid uts cgroup user time; do \
                  echo $n $(readlink /proc/self/ns/$n) $(readlink /proc/1/ns/$n); done; \
                  echo host $(hostname); echo marker $(cat /tmp/marker); \
                  echo init $(cat /proc/1/comm); echo root $(ls -di / | cut -d' ' -f1)";
    let o = exec(&env, &[&id, "sh", "-c", script]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let mut names = 0;
    for l in out.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f[0] {
            "host" => assert_eq!(f[1], "hull-demo", "{out}"),
            "marker" => assert_eq!(f[1], format!("m-{id}"), "{out}"),
            "init" => assert_eq!(f[1], "sleep", "{out}"),
            "root" => {}
            ns => {
                names += 1;
                assert_eq!(f.len(), 3, "{out}");
                assert_eq!(f[1], f[2], "{ns} namespace differs from init's: {out}");
                // The container's own namespaces are not the host's.
                let host = ns_inode(&format!("/proc/self/ns/{ns}"));
                let own = ["ipc", "mnt", "net", "pid", "uts", "cgroup"].contains(&ns);
                assert_eq!(f[1] != host, own, "{ns}: {out}");
                // And they are init's, as the host sees them.
                assert_eq!(f[1], ns_inode(&format!("/proc/{init}/ns/{ns}")), "{ns}");
            }
        }
    }
    assert_eq!(names, 8, "{out}");
    // The root is the container's: the same directory init has as /.
    let root_ino = out
        .lines()
        .find_map(|l| l.strip_prefix("root "))
        .unwrap()
        .trim();
    use std::os::unix::fs::MetadataExt;
    let init_root = fs::metadata(format!("/proc/{init}/root/")).unwrap().ino();
    assert_eq!(root_ino, init_root.to_string(), "{out}");
}

#[test]
fn exec_runs_in_the_container_cgroups_and_gets_forwarded_signals() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    let outf = env.dir.join("sig.out");
    let mut child = env
        .cmd(&[
            "exec",
            &id,
            "sh",
            "-c",
            "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(fs::File::create(&outf).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("ready", || {
        fs::read_to_string(&outf)
            .unwrap_or_default()
            .contains("ready")
    });
    // The tenant is hull's direct child (CLONE_PARENT), the shell of the script.
    let tenant = child_of(child.id());
    for dir in cgroup_dirs(&id) {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l == tenant.to_string()),
            "{tenant} not in {}: {procs}",
            dir.display()
        );
    }
    assert!(pids_cgroup(&id).contains(&init));
    // SAFETY: kill(2) on the hull process this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    assert_eq!(st.code(), Some(3));
    assert!(fs::read_to_string(&outf).unwrap().contains("got-term"));
    assert_only_init(&id, init);
}

#[test]
fn exit_code_is_passed_through() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    assert_eq!(code(&exec(&env, &[&id, "sh", "-c", "exit 7"])), 7);
    assert_eq!(code(&exec(&env, &[&id, "sh", "-c", "kill -9 $$"])), 137);
    let o = exec(&env, &[&id, "echo", "hello", "-c", "--env", "x"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hello -c --env x\n");
}

#[test]
fn env_cwd_user_and_additional_gids_flags() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    // Defaults: the container's process.
    let o = exec(
        &env,
        &[&id, "sh", "-c", "echo $HOME $TERM; pwd; id -u; id -g"],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "/root xterm\n/\n0\n0\n");
    // Overrides.
    let o = exec(
        &env,
        &[
            "--env",
            "FOO=bar",
            "-e",
            "HOME=/tmp",
            "--cwd",
            "/tmp",
            "--user",
            "1000:1001",
            "--additional-gids",
            "5",
            "-g",
            "6",
            &id,
            "sh",
            "-c",
            "echo $FOO $HOME $TERM; env | grep -c ^HOME=; pwd; id -u; id -g; grep ^Groups: /proc/self/status",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..5],
        ["bar /tmp xterm", "1", "/tmp", "1000", "1001"],
        "{out}"
    );
    assert_eq!(
        lines[5].split_whitespace().collect::<Vec<_>>(),
        ["Groups:", "5", "6"]
    );
    // A uid alone keeps the config's gid.
    let o = exec(&env, &["--user", "7", &id, "sh", "-c", "id -u; id -g"]);
    assert_eq!(text(&o.stdout), "7\n0\n", "{}", text(&o.stderr));
    let o = exec(&env, &["--user", "nobody", &id, "true"]);
    assert_exec_failed(&o, "bad uid");
}

#[test]
fn process_file_describes_the_process() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    let pf = env.dir.join("process.json");
    fs::write(
        &pf,
        json!({
            "args": ["sh", "-c", "echo $A; pwd; id -u; grep -E '^Cap(Eff|Bnd)' /proc/self/status"],
            "env": ["A=from-file", "PATH=/bin"],
            "cwd": "/tmp",
            "user": {"uid": 2, "gid": 2}
        })
        .to_string(),
    )
    .unwrap();
    let o = exec(&env, &["--process", pf.to_str().unwrap(), &id]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with("from-file\n/tmp\n2\n"), "{out}");
    // No capabilities in the file: the container's (uid 2 keeps none effective across execve,
    // having no ambient set, but the bounding set shows whose they are).
    assert_eq!(
        status_field(&out, "CapBnd"),
        cap_mask(&DEFAULT_CAPS),
        "{out}"
    );
    assert_eq!(status_field(&out, "CapEff"), cap_mask(&[]), "{out}");
    fs::write(
        &pf,
        json!({"args": ["grep", "^CapEff", "/proc/self/status"], "cwd": "/"}).to_string(),
    )
    .unwrap();
    let o = exec(&env, &["--process", pf.to_str().unwrap(), &id]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(
        status_field(&out, "CapEff"),
        cap_mask(&DEFAULT_CAPS),
        "{out}"
    );

    // Errors name the field.
    fs::write(
        &pf,
        r#"{"args": ["true"], "cwd": "/", "user": {"uid": "root"}}"#,
    )
    .unwrap();
    let o = exec(&env, &["-p", pf.to_str().unwrap(), &id]);
    assert_exec_failed(&o, "process.user.uid");
    // The file's `terminal` counts (runc's checkTerminal): detached, it needs a console socket.
    fs::write(&pf, r#"{"args": ["true"], "cwd": "/", "terminal": true}"#).unwrap();
    let o = exec(&env, &["-d", "-p", pf.to_str().unwrap(), &id]);
    assert_exec_failed(
        &o,
        "cannot allocate tty if hull will detach without setting console socket",
    );
    assert_only_init(&id, init);
}

#[test]
fn capabilities_default_to_the_container_and_cap_adds() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    let script = "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status";
    let o = exec(&env, &[&id, "sh", "-c", script]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for k in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&out, k), cap_mask(&DEFAULT_CAPS), "{k}: {out}");
    }
    let o = exec(&env, &["--cap", "CAP_SYS_ADMIN", &id, "sh", "-c", script]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let mut more = DEFAULT_CAPS.to_vec();
    more.push(CAP_SYS_ADMIN);
    for k in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&out, k), cap_mask(&more), "{k}: {out}");
    }
    // An unknown name is ignored with a warning, as runc does.
    let o = exec(&env, &["--cap", "CAP_NOPE", &id, "sh", "-c", script]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("unknown capability \"CAP_NOPE\" ignored"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        status_field(&text(&o.stdout), "CapEff"),
        cap_mask(&DEFAULT_CAPS)
    );
}

#[test]
fn rlimits_and_oom_score_adj_come_from_the_config() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888}]);
        c["process"]["oomScoreAdj"] = json!(123);
    });
    let o = exec(
        &env,
        &[
            &id,
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "777\n888\n123\n");
}

#[test]
fn no_new_privs_comes_from_the_config_and_the_flag() {
    require_root!();
    let env = Env::new();
    let nnp = "grep ^NoNewPrivs: /proc/self/status";
    let (on, _) = start(&env, |c| c["process"]["noNewPrivileges"] = json!(true));
    assert_eq!(
        text(&exec(&env, &[&on, "sh", "-c", nnp]).stdout),
        "NoNewPrivs:\t1\n"
    );
    let (off, _) = start(&env, |c| c["process"]["noNewPrivileges"] = json!(false));
    assert_eq!(
        text(&exec(&env, &[&off, "sh", "-c", nnp]).stdout),
        "NoNewPrivs:\t0\n"
    );
    let o = exec(&env, &["--no-new-privs", &off, "sh", "-c", nnp]);
    assert_eq!(text(&o.stdout), "NoNewPrivs:\t1\n", "{}", text(&o.stderr));
}

#[test]
fn the_container_seccomp_profile_applies() {
    require_root!();
    let env = Env::new();
    // Both load points: before the capabilities go (no NNP) and right before execve (NNP).
    for nnp in [true, false] {
        let (id, _) = start(&env, |c| {
            c["process"]["noNewPrivileges"] = json!(nnp);
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]});
        });
        let o = exec(&env, &[&id, "probe", "sethostname", "0", "0"]);
        assert_eq!(code(&o), 0, "{}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "ret=-1 errno=77\n", "nnp={nnp}");
        // The same with --cap CAP_SYS_ADMIN: still the filter that answers.
        let o = exec(
            &env,
            &[
                "--cap",
                "CAP_SYS_ADMIN",
                &id,
                "probe",
                "sethostname",
                "0",
                "0",
            ],
        );
        assert_eq!(text(&o.stdout), "ret=-1 errno=77\n", "nnp={nnp}");
    }
    // Without a profile the kernel answers (EPERM: no CAP_SYS_ADMIN).
    let (id, _) = start(&env, |_| {});
    let o = exec(&env, &[&id, "probe", "sethostname", "0", "0"]);
    assert_eq!(text(&o.stdout), "ret=-1 errno=1\n", "{}", text(&o.stderr));
}

#[test]
fn detach_with_pid_file_leaves_a_process_hull_does_not_own() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    let pf = env.dir.join("exec.pid");
    let errf = env.dir.join("detach.err");
    let st = env
        .cmd(&[
            "exec",
            "--detach",
            "--pid-file",
            pf.to_str().unwrap(),
            &id,
            "sleep",
            "100",
        ])
        .stdout(Stdio::null())
        .stderr(fs::File::create(&errf).unwrap())
        .status()
        .unwrap();
    assert!(st.success(), "{}", fs::read_to_string(&errf).unwrap());
    let raw = fs::read_to_string(&pf).unwrap();
    assert!(
        !raw.ends_with('\n'),
        "pid file has a trailing newline: {raw:?}"
    );
    let pid: i32 = raw.parse().unwrap();
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(status_field(&status, "Name"), "sleep");
    assert!(pids_cgroup(&id).contains(&pid));
    assert_eq!(
        ns_inode(&format!("/proc/{pid}/ns/pid")),
        ns_inode(&format!("/proc/{init}/ns/pid"))
    );
    // Reparented when hull exited: its parent is no hull process of this test.
    let ppid: i32 = status_field(&status, "PPid").parse().unwrap();
    let cmdline = fs::read(format!("/proc/{ppid}/cmdline")).unwrap_or_default();
    assert!(
        !text(&cmdline).contains(env.root.to_str().unwrap()),
        "{pid}'s parent {ppid} is a hull: {}",
        text(&cmdline)
    );
    assert_ne!(ppid as u32, std::process::id());
    // kill --all reaches it (it is in the container's cgroup).
    assert!(env.hull(&["kill", "--all", &id, "KILL"]).status.success());
    wait_for("the detached process to die", || {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z ") || s.is_empty())
            .unwrap_or(true)
    });
}

#[test]
fn exec_into_a_stopped_or_unknown_container_fails() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["true"]);
    let id = env.id("stopped");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    env.wait_status(&id, "stopped");
    let o = exec(&env, &[&id, "true"]);
    assert_exec_failed(&o, "container not running");

    let o = exec(&env, &["no-such-container", "true"]);
    assert_exec_failed(&o, "container does not exist");
}

#[test]
fn exec_into_a_paused_container_needs_ignore_paused() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    assert!(env.hull(&["pause", &id]).status.success());
    let o = exec(&env, &[&id, "true"]);
    assert_exec_failed(&o, "--ignore-paused");
    assert_only_init(&id, init);
    // With the flag the process joins the frozen cgroup and runs once the container resumes.
    let outf = env.dir.join("paused.out");
    let mut child = env
        .cmd(&["exec", "--ignore-paused", &id, "echo", "resumed"])
        .stdout(fs::File::create(&outf).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fs::read_to_string(&outf).unwrap(), "");
    let o = env.hull(&["resume", &id]);
    assert!(o.status.success(), "resume: {}", text(&o.stderr));
    let mut st = None;
    for _ in 0..1000 {
        st = child.try_wait().unwrap();
        if st.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let Some(st) = st else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("exec --ignore-paused did not finish after resume");
    };
    assert!(st.success());
    assert_eq!(fs::read_to_string(&outf).unwrap(), "resumed\n");
}

#[test]
fn a_missing_binary_fails_before_anything_runs() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    let o = exec(&env, &[&id, "no-such-binary"]);
    assert_exec_failed(&o, "executable file not found in $PATH");
    let o = exec(&env, &[&id, "/no/such/binary"]);
    assert_exec_failed(&o, "no such file or directory");
    let o = exec(&env, &["--cwd", "/no/such/dir", &id, "true"]);
    assert_exec_failed(
        &o,
        "process.cwd: chdir /no/such/dir: no such file or directory",
    );
    // A relative path resolves against the cwd inside the container.
    let o = exec(&env, &["--cwd", "/bin", &id, "./true"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_only_init(&id, init);
}

#[test]
fn a_command_line_that_does_not_parse_exits_1() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    // runc: "requires a minimum of 1 argument(s)" / "flag provided but not defined", exit 1.
    for args in [&["exec"][..], &["exec", "--no-such-flag", &id, "true"]] {
        let o = env.hull(args);
        assert_eq!(code(&o), 1, "{args:?}: {}", text(&o.stderr));
        assert!(
            !text(&o.stderr).contains("exec failed"),
            "{}",
            text(&o.stderr)
        );
    }
    assert_only_init(&id, init);
}

#[test]
fn exec_into_a_created_container_runs_before_start() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", "echo init-ran; exec sleep 1000"]);
    let id = env.id("created");
    let out = env.create_ok(&b, &id);
    assert_eq!(env.status(&id), "created");
    let init = env.state(&id)["pid"].as_i64().unwrap() as i32;
    // runc allows it: the process joins init's namespaces, root and cgroups while init still
    // waits on the exec fifo.
    let o = exec(
        &env,
        &[
            &id,
            "sh",
            "-c",
            "echo in-created $(hostname) $(readlink /proc/self/ns/pid); exit 5",
        ],
    );
    assert_eq!(code(&o), 5, "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        format!(
            "in-created hull-demo {}\n",
            ns_inode(&format!("/proc/{init}/ns/pid"))
        )
    );
    // A failing exec leaves it created and startable.
    let o = exec(&env, &[&id, "/no/such/binary"]);
    assert_exec_failed(&o, "no such file or directory");
    assert_eq!(env.status(&id), "created");
    assert_only_init(&id, init);
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "",
        "init ran before start"
    );

    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    wait_for_output(&out, "init-ran\n");
    assert_eq!(env.status(&id), "running");
    let o = exec(&env, &[&id, "echo", "after-start"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "after-start\n");
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

/// Prints HOME, showing an empty one as `[]` and an unset one as `[unset]`.
const PRINT_HOME: &str = "echo \"[${HOME-unset}]\"";

#[test]
fn home_comes_from_the_container_passwd_when_the_env_has_none() {
    require_root!();
    let env = Env::new();
    // A passwd of the test's own over the rootfs's (proof that the container's file is read,
    // through its mounts): a duplicate uid (the first entry wins), an entry without a home.
    let passwd = env.dir.join("passwd");
    fs::write(
        &passwd,
        "root:x:0:0:root:/root-bound:/bin/sh\n\
         user:x:1000:1000::/home/first:/bin/sh\n\
         user2:x:1000:1000::/home/second:/bin/sh\n\
         nohome:x:77:77:::/bin/sh\n",
    )
    .unwrap();
    let (id, _) = start(&env, |c| {
        c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "TERM=xterm"]);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/etc/passwd", "type": "bind",
            "source": passwd, "options": ["bind", "ro"]
        }));
    });
    let home = |flags: &[&str]| {
        let mut args = flags.to_vec();
        args.extend_from_slice(&[&id, "sh", "-c", PRINT_HOME]);
        let o = exec(&env, &args);
        assert_eq!(code(&o), 0, "{flags:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    assert_eq!(home(&[]), "[/root-bound]\n");
    assert_eq!(home(&["--user", "1000"]), "[/home/first]\n");
    assert_eq!(home(&["--user", "77:77"]), "[]\n");
    // No entry: "/".
    assert_eq!(home(&["--user", "4242"]), "[/]\n");
    // The env's own HOME wins; an empty one does not count (runc's os.Getenv test).
    assert_eq!(
        home(&["--user", "1000", "--env", "HOME=/mine"]),
        "[/mine]\n"
    );
    assert_eq!(
        home(&["--user", "1000", "--env", "HOME="]),
        "[/home/first]\n"
    );
    // Exactly one HOME in the environment.
    let o = exec(
        &env,
        &["--user", "1000", &id, "sh", "-c", "env | grep -c ^HOME="],
    );
    assert_eq!(text(&o.stdout), "1\n", "{}", text(&o.stderr));
    // A --process file without HOME: the same rule for its user.
    let pf = env.dir.join("home.json");
    fs::write(
        &pf,
        json!({"args": ["sh", "-c", PRINT_HOME], "env": ["PATH=/bin"], "cwd": "/",
               "user": {"uid": 1000, "gid": 1000}})
        .to_string(),
    )
    .unwrap();
    let o = exec(&env, &["--process", pf.to_str().unwrap(), &id]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "[/home/first]\n");

    // The rootfs's own passwd, and a container whose config sets HOME (bundles/busybox: /root).
    let (plain, _) = start(&env, |c| {
        c["process"]["env"] = json!(["PATH=/bin:/usr/bin"]);
    });
    let o = exec(&env, &["--user", "65534", &plain, "sh", "-c", PRINT_HOME]);
    assert_eq!(text(&o.stdout), "[/nonexistent]\n", "{}", text(&o.stderr));
    let (configured, _) = start(&env, |_| {});
    let o = exec(
        &env,
        &["--user", "1000", &configured, "sh", "-c", PRINT_HOME],
    );
    assert_eq!(text(&o.stdout), "[/root]\n", "{}", text(&o.stderr));
}

#[test]
fn unsupported_requests_are_refused_clearly() {
    require_root!();
    let env = Env::new();
    let (id, init) = start(&env, |_| {});
    let cases: &[(&[&str], &str)] = &[
        // runc's checkTerminal (more in tests/tty.rs).
        (
            &["--tty", "--detach"],
            "cannot allocate tty if hull will detach without setting console socket",
        ),
        (
            &["--console-socket", "/tmp/x.sock"],
            "cannot use console socket if hull will not detach or allocate tty",
        ),
        (&["--pidfd-socket", "/tmp/x.sock"], "--pidfd-socket"),
        (&["--cgroup", "sub"], "--cgroup"),
        (&["--cwd", "tmp"], "absolute"),
    ];
    for (flags, want) in cases {
        let mut args = flags.to_vec();
        args.extend_from_slice(&[&id, "true"]);
        let o = exec(&env, &args);
        assert_exec_failed(&o, want);
    }
    let o = exec(&env, &[&id]);
    assert_exec_failed(&o, "exec args cannot be empty");
    assert_only_init(&id, init);
}

// ---- file descriptors ---------------------------------------------------------------------

/// `hull exec args...` with `files` dup2'ed (without O_CLOEXEC) onto the given fds of hull.
fn exec_with_fds(env: &Env, args: &[&str], files: Vec<(fs::File, i32)>) -> Output {
    let mut a = vec!["exec"];
    a.extend_from_slice(args);
    let mut cmd = env.cmd(&a);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    with_fds(&mut cmd, &files);
    let o = cmd.output().unwrap();
    drop(files);
    o
}

fn fd_set(out: &str) -> BTreeSet<u32> {
    out.split_whitespace().map(|s| s.parse().unwrap()).collect()
}

fn secret(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, content).unwrap();
    p
}

#[test]
fn only_stdio_reaches_the_process() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    let f = secret(&env.dir, "leak", "secret");
    let files = vec![
        (fs::File::open(&f).unwrap(), 3),
        (fs::File::open(&f).unwrap(), 5),
    ];
    let o = exec_with_fds(&env, &[&id, "ls", "/proc/self/fd"], files);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    // 0, 1, 2 and the directory ls itself reads (the lowest free fd: 3).
    assert_eq!(fd_set(&text(&o.stdout)), BTreeSet::from([0, 1, 2, 3]));
}

#[test]
fn preserve_fds_passes_the_next_fds_through() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    let f3 = secret(&env.dir, "three", "from fd 3\n");
    let f4 = secret(&env.dir, "four", "from fd 4\n");
    let files = vec![
        (fs::File::open(&f3).unwrap(), 3),
        (fs::File::open(&f4).unwrap(), 4),
    ];
    let script = "cat <&3; [ -e /proc/$$/fd/4 ] && echo fd4-leaked; true";
    let o = exec_with_fds(
        &env,
        &["--preserve-fds", "1", &id, "sh", "-c", script],
        files,
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "from fd 3\n");
    let files = vec![
        (fs::File::open(&f3).unwrap(), 3),
        (fs::File::open(&f4).unwrap(), 4),
    ];
    let o = exec_with_fds(
        &env,
        &["--preserve-fds", "2", &id, "sh", "-c", "cat <&3; cat <&4"],
        files,
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "from fd 3\nfrom fd 4\n");
}

/// exec's process joins a new session keyring named after the container, unless the container
/// was created with `--no-new-keyring`: then it keeps its caller's, as runc's setns init does.
#[test]
fn exec_session_keyring_follows_create_no_new_keyring() {
    require_root!();
    let env = Env::new();
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create=0)
    let ring_of = |id: &str| {
        let o = exec(&env, &[id, "probe", "keyctl", "0", "-3", "0"]);
        assert_eq!(code(&o), 0, "{}", text(&o.stderr));
        text(&o.stdout)
    };
    // SAFETY: keyctl with integer arguments only.
    let mine = unsafe { libc::syscall(libc::SYS_keyctl, 0, -3i64, 0) };
    let mine = format!("ret={mine} errno=0\n");
    let (id, _) = start(&env, |_| {});
    let fresh = ring_of(&id);
    assert!(
        fresh.starts_with("ret=") && fresh.ends_with(" errno=0\n"),
        "{fresh}"
    );
    assert_ne!(fresh, mine, "exec joins a new session keyring");

    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("nokeyring");
    let (o, _) = env.create_args(&["--no-new-keyring"], &b, &id);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(env.hull(&["start", &id]).status.success());
    assert_eq!(
        ring_of(&id),
        mine,
        "--no-new-keyring at create: exec keeps the caller's"
    );
}

/// `--cgroup [controllers:]path` (runc's): the process joins an existing sub-cgroup of the
/// container in the hierarchies named, or in all of them; bad paths and controllers are
/// refused before anything runs.
#[test]
fn exec_cgroup_joins_an_existing_sub_cgroup() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    let dirs: Vec<std::path::PathBuf> = fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("hull").join(&id))
        .filter(|p| p.is_dir())
        .collect();
    assert!(dirs.len() > 2, "{dirs:?}");
    let cpu = Path::new("/sys/fs/cgroup/cpu/hull").join(&id).join("sub");
    fs::create_dir(&cpu).unwrap();
    // Only the cpu hierarchy: the process is in <container>/sub there and at the top elsewhere.
    let o = exec(
        &env,
        &["--cgroup", "cpu:sub", &id, "cat", "/proc/self/cgroup"],
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let line = |ctl: &str| {
        out.lines()
            .find(|l| l.split(':').nth(1) == Some(ctl))
            .unwrap_or_else(|| panic!("no {ctl} line: {out}"))
            .to_string()
    };
    assert!(line("cpu").ends_with("/sub"), "{out}");
    assert!(!line("memory").ends_with("/sub"), "{out}");
    assert_eq!(fs::read_to_string(cpu.join("cgroup.procs")).unwrap(), "");
    // Without a list every hierarchy is meant, and the sub-cgroup exists only in one.
    let o = exec(&env, &["--cgroup", "sub", &id, "true"]);
    assert_exec_failed(&o, "--cgroup: open the sub-cgroup");
    // Once made everywhere, it works everywhere.
    for d in &dirs {
        let _ = fs::create_dir(d.join("sub"));
        // A new v1 cpuset starts empty (ENOSPC for any task): fill it from its parent.
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = fs::read_to_string(d.join(f)) {
                fs::write(d.join("sub").join(f), v.trim()).unwrap();
            }
        }
    }
    let o = exec(&env, &["--cgroup", "/sub", &id, "cat", "/proc/self/cgroup"]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.lines().all(|l| l.ends_with("/sub")), "{out}");
    for (arg, want) in [
        ("../x", "is not a sub-cgroup path"),
        ("bogus:sub", "no cgroup hierarchy for controller \"bogus\""),
    ] {
        let o = exec(&env, &["--cgroup", arg, &id, "true"]);
        assert_exec_failed(&o, want);
    }
    // delete removes the sub-cgroups with the container's own.
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(dirs.iter().all(|d| !d.exists()), "{dirs:?}");
}

/// The pid a pidfd refers to, from /proc/self/fdinfo.
fn pidfd_pid(fd: &std::os::fd::OwnedFd) -> i64 {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap_or_else(|| panic!("not a pidfd: {info}"))
        .trim()
        .parse()
        .unwrap()
}

/// `--pidfd-socket` (runc 1.2's): create and exec send a pidfd of the new process over the
/// socket — one message, payload `standard` (init) or `setns` (exec), exactly one fd — that
/// the receiver can signal the process with.
#[test]
fn pidfd_socket_gets_a_pidfd_of_init_and_of_the_exec_process() {
    require_root!();
    let env = Env::new();
    let sock = env.dir.join("pidfd.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("pidfd");
    let s = sock.to_str().unwrap();
    let (o, _) = env.create_args(&["--pidfd-socket", s], &b, &id);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let (conn, _) = listener.accept().unwrap();
    let (payload, fds) = recv_fds(conn.as_raw_fd());
    assert_eq!(text(&payload), "standard");
    assert_eq!(fds.len(), 1);
    assert_eq!(pidfd_pid(&fds[0]), env.state(&id)["pid"].as_i64().unwrap());
    assert!(env.hull(&["start", &id]).status.success());

    let pid_file = env.dir.join("exec.pid");
    // (stdio to /dev/null: the detached process keeps what it inherits)
    let st = env
        .cmd(&[
            "exec",
            "-d",
            "--pidfd-socket",
            s,
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sleep",
            "500",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let (conn, _) = listener.accept().unwrap();
    let (payload, fds) = recv_fds(conn.as_raw_fd());
    assert_eq!(text(&payload), "setns");
    assert_eq!(fds.len(), 1);
    let pid: i64 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(pidfd_pid(&fds[0]), pid);
    // SAFETY: pidfd_send_signal on the pidfd we received, no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fds[0].as_raw_fd(),
            libc::SIGKILL,
            0usize,
            0u32,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    wait_gone(&[pid as i32]);

    // A socket nobody listens on: refused before anything runs, one line naming the flag.
    // (Its file goes too: a child another test forks meanwhile holds a copy of the listener
    // until its exec, and a connect in that window would be accepted.)
    drop(listener);
    let _ = fs::remove_file(s);
    let o = exec(&env, &["--pidfd-socket", s, &id, "true"]);
    assert_exec_failed(&o, "--pidfd-socket: connect");
    let b2 = env.bundle(&["true"]);
    let id2 = env.id("pidfdbad");
    let (o, _) = env.create_args(&["--pidfd-socket", s], &b2, &id2);
    assert_eq!(code(&o), 1);
    assert!(
        text(&o.stderr).contains("--pidfd-socket: connect"),
        "{}",
        text(&o.stderr)
    );
    assert_no_leftovers(&env, &id2);
}

/// CVE-2024-21626's way out: a process whose cwd is `/proc/self/fd/N` starts wherever fd N of
/// the process that set it up points. Before its execve the exec'd process must hold no fd of
/// a host directory (the container's cgroup directories, opened to join them, were such fds):
/// whatever N, the process either fails to start or stands inside the container, where `..`
/// climbs no higher than the container's root.
#[test]
fn exec_cwd_through_an_inherited_fd_never_reaches_the_host() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    let listing = "ls -a ../../../../../../../../../..";
    let inside = exec(&env, &[&id, "sh", "-c", &format!("cd / && {listing}")]);
    assert_eq!(code(&inside), 0, "{}", text(&inside.stderr));
    let inside = text(&inside.stdout);
    assert!(inside.contains("bin\n"), "{inside}");
    for n in 3..64 {
        let cwd = format!("/proc/self/fd/{n}");
        let o = exec(&env, &["--cwd", &cwd, &id, "sh", "-c", listing]);
        if code(&o) == 0 {
            assert_eq!(
                text(&o.stdout),
                inside,
                "exec --cwd {cwd} started outside the container's root"
            );
        } else {
            assert_exec_failed(&o, "process.cwd");
        }
    }
}

/// A host directory the caller hands down on purpose (`--preserve-fds`) is no cwd either: the
/// process is refused before it runs (runc's check after chdir), and nothing is written there.
#[test]
fn exec_cwd_in_a_host_directory_is_refused() {
    require_root!();
    let env = Env::new();
    let (id, _) = start(&env, |_| {});
    let host_dir = env.dir.join("host-dir");
    fs::create_dir_all(&host_dir).unwrap();
    let files = vec![(fs::File::open(&host_dir).unwrap(), 3)];
    let o = exec_with_fds(
        &env,
        &[
            "--preserve-fds",
            "1",
            "--cwd",
            "/proc/self/fd/3",
            &id,
            "sh",
            "-c",
            "echo out > escaped",
        ],
        files,
    );
    assert_exec_failed(
        &o,
        "process.cwd: /proc/self/fd/3 is outside the container's root",
    );
    assert!(
        !host_dir.join("escaped").exists(),
        "the process wrote into the host directory"
    );
}
