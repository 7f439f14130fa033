//! OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): every kind runs once,
//! in lifecycle order, with the state on stdin (status and pid as the spec says for where it
//! runs), exactly its args and env; createContainer and startContainer inside the container's
//! namespaces, the others in hull's. A failing prestart/createRuntime/createContainer hook fails
//! `create` and leaves nothing behind; a failing startContainer or poststart hook fails `start`
//! and stops the container (runc; runtime-spec >= 1.3); a failing poststop hook is a warning; a
//! hook past its timeout is killed and named. poststart sees the payload already running its
//! own program, and does not run for one the kernel will not execute (start fails instead); the
//! status and pid each hook reads are checked for create + start, run, a container without a
//! pid namespace, a failed create, and against what `hull state` says at that moment. The hook scripts live on the host in the test's
//! dir, which containers see at /tmp (for startContainer, whose path resolves inside).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Writes one record per call to the log file given as $2: name, state from stdin, mount and
/// pid namespaces, the other args, the environment (sorted, one line).
const RECORDER: &str = r#"#!/bin/sh
name=$1
log=$2
shift 2
state=$(cat)
echo "$name|$state|$(readlink /proc/self/ns/mnt)|$(readlink /proc/self/ns/pid)|$*|$(env | sort | tr '\n' ' ')" >> "$log"
"#;

fn script(env: &Env, name: &str, body: &str) -> PathBuf {
    let p = env.dir.join(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn recorder(env: &Env) -> PathBuf {
    script(env, "rec.sh", RECORDER)
}

fn log_path(env: &Env) -> PathBuf {
    env.dir.join("hooks.log")
}

/// A recording hook for `kind` (runtime-namespace hooks use host paths).
fn rec_hook(env: &Env, kind: &str) -> Value {
    json!({
        "path": recorder(env),
        "args": ["rec.sh", kind, log_path(env), "a1", "a 2"],
        "env": ["PATH=/usr/bin:/bin", format!("HOOKVAR={kind}")],
    })
}

/// One parsed record.
#[derive(Debug)]
struct Rec {
    name: String,
    state: Value,
    mnt: String,
    pidns: String,
    args: String,
    env: String,
}

fn records(env: &Env) -> Vec<Rec> {
    fs::read_to_string(log_path(env))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, '|').collect();
            assert_eq!(f.len(), 6, "bad record {l:?}");
            Rec {
                name: f[0].to_string(),
                state: serde_json::from_str(f[1]).unwrap_or_else(|e| panic!("{e}: {l}")),
                mnt: f[2].to_string(),
                pidns: f[3].to_string(),
                args: f[4].to_string(),
                env: f[5].to_string(),
            }
        })
        .collect()
}

fn names(env: &Env) -> Vec<String> {
    records(env).into_iter().map(|r| r.name).collect()
}

/// A bundle running `args` whose /tmp is the test dir (so hooks inside can log there).
fn hook_bundle(env: &Env, args: &[&str], hooks: Value) -> Bundle {
    let mut b = env.bundle(args);
    let dir = env.dir.to_str().unwrap().to_string();
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        mounts.retain(|m| m["destination"] != "/tmp");
        mounts.push(json!({"destination": "/tmp", "type": "bind", "source": dir, "options": ["rbind", "rw"]}));
        c["hooks"] = hooks;
        c["annotations"] = json!({"org.test.hooks": "yes"});
    });
    b
}

fn alive(pid: i64) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

#[test]
fn every_hook_runs_in_order_with_its_state_namespaces_args_and_env() {
    require_root!();
    let env = Env::new();
    let busybox = rootfs().join("bin/busybox");
    let log = log_path(&env);
    let hooks = json!({
        "prestart": [rec_hook(&env, "prestart")],
        "createRuntime": [
            rec_hook(&env, "createRuntime"),
            // busybox picks its applet from argv[0]: this proves args[0] is argv[0].
            {"path": busybox, "args": ["sh", "-c", format!("echo argv0-is-sh >> {}", log.display())]},
        ],
        "createContainer": [rec_hook(&env, "createContainer")],
        // Resolved inside the container; no env: runc gives it the process's.
        "startContainer": [{"path": "/tmp/rec.sh", "args": ["rec.sh", "startContainer", "/tmp/hooks.log"]}],
        "poststart": [rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let b = hook_bundle(&env, &["sleep", "100"], hooks);
    let id = env.id("hooks");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let text = fs::read_to_string(&log).unwrap();
    assert!(text.contains("argv0-is-sh\n"), "{text}");
    fs::write(
        &log,
        text.lines()
            .filter(|l| !l.starts_with("argv0"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    assert_eq!(
        names(&env),
        ["prestart", "createRuntime", "createContainer"],
        "after create"
    );

    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_eq!(
        names(&env),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart"
        ]
    );
    let host_mnt = ns_inode("/proc/self/ns/mnt");
    let host_pidns = ns_inode("/proc/self/ns/pid");
    let ctr_mnt = ns_inode(&format!("/proc/{pid}/ns/mnt"));
    let ctr_pidns = ns_inode(&format!("/proc/{pid}/ns/pid"));
    assert_ne!(host_mnt, ctr_mnt);

    let o = env.hull(&["kill", &id, "KILL"]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    env.wait_status(&id, "stopped");
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_no_leftovers(&env, &id);

    let recs = records(&env);
    let order: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        order,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    let bundle = b.dir.canonicalize().unwrap();
    for r in &recs {
        let (status, want_pid, inside) = match r.name.as_str() {
            "prestart" | "createRuntime" => ("creating", Some(pid), false),
            "createContainer" => ("creating", Some(1), true),
            "startContainer" => ("created", Some(1), true),
            "poststart" => ("running", Some(pid), false),
            "poststop" => ("stopped", None, false),
            other => panic!("{other}"),
        };
        let s = &r.state;
        assert_eq!(s["status"], status, "{}: {s}", r.name);
        assert_eq!(s["pid"].as_i64(), want_pid, "{}: {s}", r.name);
        assert_eq!(s["id"], id.as_str(), "{}", r.name);
        assert_eq!(s["bundle"], bundle.to_str().unwrap(), "{}", r.name);
        assert_eq!(s["annotations"]["org.test.hooks"], "yes", "{}", r.name);
        assert!(s["ociVersion"].as_str().unwrap().starts_with("1."));
        if inside {
            assert_eq!(
                r.mnt, ctr_mnt,
                "{} must run in the container's mount ns",
                r.name
            );
            assert_eq!(r.pidns, ctr_pidns, "{}", r.name);
        } else {
            assert_eq!(r.mnt, host_mnt, "{} must run in hull's mount ns", r.name);
            assert_eq!(r.pidns, host_pidns, "{}", r.name);
        }
        assert_eq!(
            r.args,
            if r.name == "startContainer" {
                ""
            } else {
                "a1 a 2"
            }
        );
        if r.name == "startContainer" {
            // No env in the hook: the process's (runc).
            assert!(r.env.contains("TERM=xterm"), "{}", r.env);
        } else {
            // Exactly the hook's env: nothing of hull's own environment leaks in.
            assert!(r.env.contains(&format!("HOOKVAR={} ", r.name)), "{}", r.env);
            assert!(r.env.contains("PATH=/usr/bin:/bin "), "{}", r.env);
            assert!(!r.env.contains("CARGO"), "{}: {}", r.name, r.env);
        }
    }
}

/// Without a pid namespace the container sees the host's pids, so every hook that gets a pid
/// gets init's host pid — createContainer and startContainer too ("for hooks executed in the
/// container namespace, it is the pid as seen by the container"). crun passes 0 there.
#[test]
fn hooks_of_a_container_without_a_pid_namespace_get_its_host_pid() {
    require_root!();
    let env = Env::new();
    let hooks = json!({
        "prestart": [rec_hook(&env, "prestart")],
        "createRuntime": [rec_hook(&env, "createRuntime")],
        "createContainer": [rec_hook(&env, "createContainer")],
        "startContainer": [{"path": "/tmp/rec.sh", "args": ["rec.sh", "startContainer", "/tmp/hooks.log"]}],
        "poststart": [rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let mut b = hook_bundle(&env, &["sleep", "100"], hooks);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid")
    });
    let id = env.id("nopidns");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    assert!(env.hull(&["start", &id]).status.success());
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_no_leftovers(&env, &id);
    let host_pidns = ns_inode("/proc/self/ns/pid");
    let recs = records(&env);
    assert_eq!(recs.len(), 6, "{recs:?}");
    for r in &recs {
        assert_eq!(r.pidns, host_pidns, "{}", r.name);
        let want = if r.name == "poststop" {
            None
        } else {
            Some(pid)
        };
        assert_eq!(r.state["pid"].as_i64(), want, "{}: {}", r.name, r.state);
    }
}

/// The status a hook reads on stdin is what the state operation says at that moment: a
/// prestart or createRuntime hook that runs `hull state` sees `creating` there too, a poststart
/// hook `running` (runtime.md: `created` once create has finished, `running` once the process
/// has executed the user's program; these hooks run inside create, and after that execve).
#[test]
fn a_hook_reads_the_status_that_state_reports_then() {
    require_root!();
    let env = Env::new();
    let id = env.id("statenow");
    let asker = script(
        &env,
        "ask.sh",
        &format!(
            "#!/bin/sh\nstdin=$(grep -o '\"status\":\"[a-z]*\"')\n\
             state=$({} --root {} state {id} | tr -d ' \\n' | grep -o '\"status\":\"[a-z]*\"')\n\
             echo \"$1 $stdin $state\" >> {}\n",
            hull_bin().display(),
            env.root.display(),
            env.dir.join("asked").display()
        ),
    );
    let hook = |kind: &str| json!({"path": asker, "args": ["ask.sh", kind]});
    let hooks = json!({
        "prestart": [hook("prestart")],
        "createRuntime": [hook("createRuntime")],
        "poststart": [hook("poststart")],
    });
    let b = hook_bundle(&env, &["sleep", "100"], hooks);
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_no_leftovers(&env, &id);
    assert_eq!(
        fs::read_to_string(env.dir.join("asked")).unwrap(),
        "prestart \"status\":\"creating\" \"status\":\"creating\"\n\
         createRuntime \"status\":\"creating\" \"status\":\"creating\"\n\
         poststart \"status\":\"running\" \"status\":\"running\"\n"
    );
}

fn text_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The stderr of a failed create, which must name the hook.
fn failed_create(env: &Env, b: &Bundle, id: &str) -> String {
    let (o, _) = env.create(b, id);
    let err = text_of(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "create should fail: {err}");
    err
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    require_root!();
    let env = Env::new();
    let log = log_path(&env);
    let bad = script(
        &env,
        "bad.sh",
        &format!(
            "#!/bin/sh\necho \"pid $(cat | sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/')\" >> {}\necho oops >&2\nexit 3\n",
            log.display()
        ),
    );
    let hooks = json!({
        "createRuntime": [{"path": bad}],
        "createContainer": [rec_hook(&env, "createContainer")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let b = hook_bundle(&env, &["true"], hooks);
    let id = env.id("crfail");
    let err = failed_create(&env, &b, &id);
    assert!(
        err.contains(&format!("hooks.createRuntime[0]: {}", bad.display())),
        "{err}"
    );
    assert!(err.contains("exit status 3"), "{err}");
    assert!(
        err.contains("oops"),
        "the hook's stderr belongs in the error: {err}"
    );
    assert_no_leftovers(&env, &id);
    let text = fs::read_to_string(&log).unwrap();
    let pid: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("pid "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(!alive(pid), "init {pid} survived a failed create");
    // The lifecycle goes on at step 12: createContainer never ran, poststop did.
    let recs: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with("pid "))
        .map(|l| l.split('|').next().unwrap().to_string())
        .collect();
    assert_eq!(recs, ["poststop"]);
    // After a failed create too: stopped, no pid.
    let line = text.lines().find(|l| l.starts_with("poststop|")).unwrap();
    let state: Value = serde_json::from_str(line.split('|').nth(1).unwrap()).unwrap();
    assert_eq!(state["status"], "stopped", "{state}");
    assert_eq!(state["pid"], Value::Null, "{state}");
    assert_eq!(state["id"], id.as_str(), "{state}");
}

#[test]
fn failing_create_container_hook_fails_create_and_leaves_nothing() {
    require_root!();
    let env = Env::new();
    let bad = script(&env, "bad.sh", "#!/bin/sh\necho broken\nexit 7\n");
    let hooks = json!({"createContainer": [rec_hook(&env, "createContainer"), {"path": bad}]});
    let b = hook_bundle(&env, &["true"], hooks);
    let id = env.id("ccfail");
    let err = failed_create(&env, &b, &id);
    assert!(
        err.contains(&format!("hooks.createContainer[1]: {}", bad.display())),
        "{err}"
    );
    assert!(err.contains("exit status 7"), "{err}");
    assert!(err.contains("stdout: broken"), "{err}");
    assert_no_leftovers(&env, &id);
    assert_eq!(names(&env), ["createContainer"]);
}

#[test]
fn hook_past_its_timeout_is_killed_and_named() {
    require_root!();
    let env = Env::new();
    let pidfile = env.dir.join("sleeper.pid");
    let slow = script(
        &env,
        "slow.sh",
        &format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 30\n",
            pidfile.display()
        ),
    );
    let hooks = json!({"createRuntime": [{"path": slow, "timeout": 1}]});
    let b = hook_bundle(&env, &["true"], hooks);
    let id = env.id("timeout");
    let t0 = Instant::now();
    let err = failed_create(&env, &b, &id);
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    assert!(
        err.contains(&format!(
            "hooks.createRuntime[0]: {}: timed out after 1s",
            slow.display()
        )),
        "{err}"
    );
    let pid: i64 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "hook {pid} survived its timeout");
    assert_no_leftovers(&env, &id);
}

#[test]
fn bad_hook_fields_are_refused_before_anything_exists() {
    require_root!();
    let env = Env::new();
    for (hooks, field) in [
        (
            json!({"poststop": [{"path": "relative/hook"}]}),
            "hooks.poststop[0].path",
        ),
        (
            json!({"prestart": [{"path": "/bin/true", "timeout": 0}]}),
            "hooks.prestart[0].timeout",
        ),
    ] {
        let b = hook_bundle(&env, &["true"], hooks);
        let id = env.id("badfield");
        let err = failed_create(&env, &b, &id);
        assert!(err.contains(field), "{err}");
        assert_no_leftovers(&env, &id);
    }
    // A path that does not exist: named, with Go's errno wording.
    let b = hook_bundle(
        &env,
        &["true"],
        json!({"createRuntime": [{"path": "/no/such/hook"}]}),
    );
    let id = env.id("nohook");
    let err = failed_create(&env, &b, &id);
    assert!(
        err.contains("hooks.createRuntime[0]: /no/such/hook: exec: no such file or directory"),
        "{err}"
    );
    assert_no_leftovers(&env, &id);
}

#[test]
fn failing_start_container_hook_fails_start_and_stops_the_container() {
    require_root!();
    let env = Env::new();
    script(&env, "badstart.sh", "#!/bin/sh\necho nope >&2\nexit 4\n");
    let hooks = json!({
        "startContainer": [{"path": "/tmp/badstart.sh"}],
        "poststart": [rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let b = hook_bundle(
        &env,
        &["sh", "-c", "echo payload-ran >> /tmp/payload"],
        hooks,
    );
    let id = env.id("scfail");
    env.create_ok(&b, &id);
    let o = env.hull(&["start", &id]);
    let err = text_of(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("hooks.startContainer[0]: /tmp/badstart.sh: exit status 4"),
        "{err}"
    );
    assert!(err.contains("nope"), "{err}");
    env.wait_status(&id, "stopped");
    assert!(!env.dir.join("payload").exists(), "the process ran anyway");
    assert!(names(&env).is_empty(), "{:?}", names(&env));
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_eq!(names(&env), ["poststop"]);
    assert_no_leftovers(&env, &id);
}

#[test]
fn start_container_hook_without_env_gets_the_process_home() {
    require_root!();
    let env = Env::new();
    recorder(&env);
    // The hook runs with the process's credentials (uid 1000 here): it appends to a log that
    // exists and is writable by all.
    let log = log_path(&env);
    fs::write(&log, "").unwrap();
    fs::set_permissions(&log, fs::Permissions::from_mode(0o666)).unwrap();
    let hooks = json!({
        "startContainer": [{"path": "/tmp/rec.sh", "args": ["rec.sh", "startContainer", "/tmp/hooks.log"]}],
    });
    let mut b = hook_bundle(&env, &["true"], hooks);
    b.edit(|c| {
        c["process"]["env"] = json!(["PATH=/bin:/usr/bin", "TERM=xterm"]);
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    let id = env.id("schome");
    env.create_ok(&b, &id);
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    env.wait_status(&id, "stopped");
    // runc: the hook inherits init's environment, HOME filled in from the container's
    // /etc/passwd (bundles/busybox: user 1000's home is /home).
    let recs = records(&env);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(recs[0].env.contains("HOME=/home "), "{}", recs[0].env);
    assert!(recs[0].env.contains("TERM=xterm "), "{}", recs[0].env);
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_no_leftovers(&env, &id);
}

/// runtime.md: poststart hooks run "after the user-specified process is executed". The hook
/// reads the container's pid from its state and that process's name, executable and command
/// line, which must be the payload's (`sleep 100`, busybox), never hull's init between its exec
/// fifo write and its execve. To make that window wide, init is held (ptrace) right after it
/// wrote the fifo: `start` must wait, and only once init goes on to its execve may the hook run.
#[test]
fn poststart_runs_only_once_the_process_runs_its_own_program() {
    require_root!();
    let env = Env::new();
    let seen = env.dir.join("seen");
    let hook = script(
        &env,
        "seen.sh",
        &format!(
            "#!/bin/sh\npid=$(grep -o '\"pid\":[0-9]*' | cut -d: -f2)\n\
             {{ cat /proc/$pid/comm; readlink /proc/$pid/exe; tr '\\0' ' ' < /proc/$pid/cmdline; echo; }} >> {}\n",
            seen.display()
        ),
    );
    let b = hook_bundle(
        &env,
        &["sleep", "100"],
        json!({"poststart": [{"path": hook}]}),
    );
    let id = env.id("psorder");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap() as i32;
    let mut init = Traced::seize(pid);
    let mut start = env.cmd(&["start", &id]).spawn().unwrap();
    // Held at the first system call after the write of "0" (runc's protocol: "0" = go).
    let mut wrote = false;
    let reached = init.run_until(|_, nr| {
        let next = wrote;
        wrote |= nr == libc::SYS_write;
        next
    });
    assert_eq!(reached, Reached::Stop);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        start.try_wait().unwrap().is_none(),
        "start returned while init had not exec'd; the hook saw {:?}",
        fs::read_to_string(&seen).unwrap_or_default()
    );
    assert!(!seen.exists(), "poststart ran before the execve");
    init.detach();
    assert!(start.wait().unwrap().success());
    // busybox's sleep applet: its name, the image's binary as the container sees it, its argv.
    assert_eq!(
        fs::read_to_string(&seen).unwrap(),
        "sleep\n/bin/busybox\nsleep 100 \n"
    );
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_no_leftovers(&env, &id);
}

/// A program that passes create's lookup but that the kernel will not execute (ENOEXEC): init
/// fails after `start` let it through, so there is no user-specified process to run poststart
/// after. `start` fails naming `process.args[0]` and the kernel's reason (init wrote it to the
/// exec fifo after its "0"), no poststart hook runs, the container is stopped, and `delete`
/// runs poststop. `run` fails the same way and leaves nothing. (runc and crun return success
/// from `start` here, and released runc, up to 1.5.1, ran poststart at create; hull's choice,
/// see README.)
#[test]
fn no_poststart_for_a_program_the_kernel_cannot_execute() {
    require_root!();
    let env = Env::new();
    script(&env, "garbage", "\u{1}\u{2}not a program\n");
    let hooks = json!({
        "startContainer": [{"path": "/tmp/rec.sh", "args": ["rec.sh", "startContainer", "/tmp/hooks.log"]}],
        "poststart": [rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    recorder(&env);
    let b = hook_bundle(&env, &["/tmp/garbage"], hooks);
    let id = env.id("noexec");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let o = env.hull(&["start", &id]);
    let err = text_of(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("process.args[0]: exec /tmp/garbage: exec format error"),
        "{err}"
    );
    assert_eq!(names(&env), ["startContainer"]);
    env.wait_status(&id, "stopped");
    assert!(!alive(pid));
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_eq!(names(&env), ["startContainer", "poststop"]);
    assert_no_leftovers(&env, &id);

    fs::remove_file(log_path(&env)).unwrap();
    let id = env.id("noexecrun");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("process.args[0]: exec /tmp/garbage: exec format error"),
        "{err}"
    );
    assert_eq!(names(&env), ["startContainer", "poststop"]);
    assert_no_leftovers(&env, &id);
}

#[test]
fn failing_poststart_hook_fails_start_and_stops_the_container() {
    require_root!();
    let env = Env::new();
    let bad = script(&env, "bad.sh", "#!/bin/sh\nexit 5\n");
    let hooks = json!({
        "poststart": [{"path": bad}, rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let b = hook_bundle(&env, &["sleep", "100"], hooks);
    let id = env.id("psfail");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let o = env.hull(&["start", &id]);
    let err = text_of(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "hooks.poststart[0]: {}: exit status 5",
            bad.display()
        )),
        "{err}"
    );
    assert_eq!(env.status(&id), "stopped");
    assert!(!alive(pid));
    // The remaining poststart hooks do not run; delete runs poststop.
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_eq!(names(&env), ["poststop"]);
    assert_no_leftovers(&env, &id);
}

#[test]
fn failing_poststop_hook_only_warns_and_the_rest_still_run() {
    require_root!();
    let env = Env::new();
    let bad = script(
        &env,
        "bad.sh",
        "#!/bin/sh\necho cleanup-failed >&2\nexit 9\n",
    );
    let hooks = json!({"poststop": [{"path": bad}, rec_hook(&env, "poststop")]});
    let b = hook_bundle(&env, &["sleep", "100"], hooks);
    let id = env.id("pstop");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let o = env.hull(&["delete", "--force", &id]);
    let err = text_of(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "warning: hooks.poststop[0]: {}: exit status 9",
            bad.display()
        )),
        "{err}"
    );
    assert!(err.contains("cleanup-failed"), "{err}");
    assert_eq!(names(&env), ["poststop"]);
    assert_no_leftovers(&env, &id);
}

#[test]
fn start_and_delete_use_the_hooks_saved_at_create() {
    require_root!();
    let env = Env::new();
    let hooks = json!({
        "poststart": [rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let mut b = hook_bundle(&env, &["sleep", "100"], hooks);
    let id = env.id("saved");
    env.create_ok(&b, &id);
    // runtime.md: "Any updates to config.json after this step MUST NOT affect the container".
    b.edit(|c| c["hooks"] = json!({"poststart": [{"path": "/bin/false"}]}));
    assert!(env.hull(&["start", &id]).status.success());
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text_of(&o.stderr));
    assert_eq!(names(&env), ["poststart", "poststop"]);
}

#[test]
fn run_runs_the_whole_sequence() {
    require_root!();
    let env = Env::new();
    let hooks = json!({
        "prestart": [rec_hook(&env, "prestart")],
        "createRuntime": [rec_hook(&env, "createRuntime")],
        "createContainer": [rec_hook(&env, "createContainer")],
        "startContainer": [{"path": "/tmp/rec.sh", "args": ["rec.sh", "startContainer", "/tmp/hooks.log"]}],
        "poststart": [rec_hook(&env, "poststart")],
        "poststop": [rec_hook(&env, "poststop")],
    });
    let b = hook_bundle(&env, &["sh", "-c", "echo payload >> /tmp/hooks.log"], hooks);
    let id = env.id("run");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    let text = fs::read_to_string(log_path(&env)).unwrap();
    let order: Vec<&str> = text.lines().map(|l| l.split('|').next().unwrap()).collect();
    // poststart races the payload (it runs once the process started); the rest is ordered.
    let without_payload: Vec<&str> = order.iter().copied().filter(|n| *n != "payload").collect();
    assert_eq!(
        without_payload,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ],
        "{text}"
    );
    let p = order.iter().position(|n| *n == "payload").unwrap();
    assert!(p > order.iter().position(|n| *n == "startContainer").unwrap());
    assert!(p < order.iter().position(|n| *n == "poststop").unwrap());
    assert_no_leftovers(&env, &id);
    // The same states as create + start + delete give (see the first test).
    fs::write(
        log_path(&env),
        text.lines()
            .filter(|l| !l.starts_with("payload"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let recs = records(&env);
    let host_pid = recs[0].state["pid"].as_i64().unwrap();
    assert!(host_pid > 1, "{:?}", recs[0].state);
    for r in &recs {
        let (status, pid) = match r.name.as_str() {
            "prestart" | "createRuntime" => ("creating", Some(host_pid)),
            "createContainer" => ("creating", Some(1)),
            "startContainer" => ("created", Some(1)),
            "poststart" => ("running", Some(host_pid)),
            _ => ("stopped", None),
        };
        assert_eq!(r.state["status"], status, "{}: {}", r.name, r.state);
        assert_eq!(r.state["pid"].as_i64(), pid, "{}: {}", r.name, r.state);
        assert_eq!(r.state["id"], id.as_str(), "{}", r.name);
        assert_eq!(
            r.state["annotations"]["org.test.hooks"], "yes",
            "{}",
            r.name
        );
    }
}
