//! The runc lifecycle: create / start / state / kill / delete / run / list, exit codes,
//! signals, the pid file, and the lock between concurrent commands.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::time::Duration;

use common::*;

#[test]
fn create_start_state_kill_delete() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", "echo started; sleep 100"]);
    let id = env.id("life");
    let out = env.create_ok(&b, &id);

    let st = env.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    assert_eq!(
        st["bundle"],
        b.dir.canonicalize().unwrap().to_str().unwrap()
    );
    assert!(st["pid"].as_i64().unwrap() > 0);
    assert!(st["created"].as_str().unwrap().ends_with('Z'));
    assert!(st["ociVersion"].as_str().unwrap().starts_with("1."));
    // Created: init exists, but the user program has not run.
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");

    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(env.status(&id), "running");
    for _ in 0..200 {
        if std::fs::read_to_string(&out).unwrap() == "started\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "started\n");

    // start again: only from created.
    let o = env.hull(&["start", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("already running"),
        "{}",
        text(&o.stderr)
    );

    // delete without --force refuses a running container.
    let o = env.hull(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("running"), "{}", text(&o.stderr));

    let o = env.hull(&["kill", &id, "KILL"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    env.wait_status(&id, "stopped");
    assert_eq!(env.state(&id)["pid"], 0);

    // kill of a stopped container: runc's wording.
    let o = env.hull(&["kill", &id, "TERM"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("container not running"),
        "{}",
        text(&o.stderr)
    );

    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
    let o = env.hull(&["state", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("container does not exist"));
}

#[test]
fn delete_of_created_container_kills_it() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("delcreated");
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap();
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "init {pid} survived delete: {stat}"
    );
    assert_no_leftovers(&env, &id);
}

#[test]
fn delete_force_of_running_and_of_missing() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("delforce");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
    let o = env.hull(&["delete", "--force", "never-existed"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = env.hull(&["delete", "never-existed"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("container does not exist"));
}

/// A state.json cut short (a crash mid-write on a disk-backed --root): `state` names the file
/// and fails; `delete --force` warns and lets the id go.
#[test]
fn delete_force_of_unreadable_state() {
    require_root!();
    let env = Env::new();
    let id = env.id("torn");
    let dir = env.root.join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), "{\"id\": \"torn").unwrap();
    let o = env.hull(&["state", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("state.json"),
        "{}",
        text(&o.stderr)
    );
    let o = env.hull(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(dir.exists());
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("removing its state dir"),
        "{}",
        text(&o.stderr)
    );
    assert!(!dir.exists());
}

#[test]
fn kill_signals_by_name_number_and_sig_prefix() {
    require_root!();
    let env = Env::new();
    // A shell that records each signal it receives.
    let b = env.bundle(&["sh", "-c", "trap 'echo usr1' USR1; trap 'echo term; exit 3' TERM; echo ready; while :; do sleep 0.05; done"]);
    let id = env.id("kill");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    for _ in 0..200 {
        if std::fs::read_to_string(&out).unwrap().contains("ready") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for sig in ["USR1", "SIGUSR1", &libc::SIGUSR1.to_string()] {
        let o = env.hull(&["kill", &id, sig]);
        assert!(o.status.success(), "kill {sig}: {}", text(&o.stderr));
        std::thread::sleep(Duration::from_millis(150));
    }
    let o = env.hull(&["kill", &id]); // default SIGTERM
    assert!(o.status.success());
    env.wait_status(&id, "stopped");
    let got = std::fs::read_to_string(&out).unwrap();
    assert_eq!(got.matches("usr1").count(), 3, "{got}");
    assert!(got.ends_with("term\n"), "{got}");
    let o = env.hull(&["kill", &id, "NOSUCHSIG"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("NOSUCHSIG"));
}

#[test]
fn run_passes_stdio_and_exit_code() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", "echo out; echo err >&2; exit 7"]);
    let id = env.id("runexit");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 7);
    assert_eq!(out, "out\n");
    assert_eq!(err, "err\n");
    assert_no_leftovers(&env, &id);
}

#[test]
fn run_reports_128_plus_signal() {
    require_root!();
    let env = Env::new();
    // Without a pid namespace the shell is not a namespace init, so SIGKILL from itself works.
    let mut b = env.bundle(&["sh", "-c", "kill -KILL $$"]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid")
    });
    let id = env.id("runsig");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 128 + 9, "{err}");
}

#[test]
fn run_forwards_signals_to_the_container() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    let id = env.id("runfwd");
    let mut child = env
        .cmd(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 6];
    use std::io::Read;
    stdout.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ready\n");
    // SAFETY: signalling the hull process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got-term\n");
    assert_eq!(status.code(), Some(42));
    assert_no_leftovers(&env, &id);
}

#[test]
fn run_detach_and_pid_file() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("detach");
    let pidfile = env.dir.join("pid");
    // The container inherits stdio: a file, not a pipe, or output() would wait for it to exit.
    let errf = env.dir.join("detach.err");
    let o = env
        .cmd(&[
            "run",
            "-d",
            "--pid-file",
            pidfile.to_str().unwrap(),
            "--bundle",
            b.dir.to_str().unwrap(),
            &id,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&errf).unwrap())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}",
        std::fs::read_to_string(&errf).unwrap()
    );
    assert_eq!(env.status(&id), "running");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        !pid.ends_with('\n'),
        "pid file must have no trailing newline"
    );
    assert_eq!(
        pid.parse::<i64>().unwrap(),
        env.state(&id)["pid"].as_i64().unwrap()
    );
    let o = env.hull(&["delete", "-f", &id]);
    assert!(o.status.success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn list_table_json_and_quiet() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("list");
    env.create_ok(&b, &id);
    let o = env.hull(&["list"]);
    let t = text(&o.stdout);
    assert!(t.starts_with("ID "), "{t}");
    assert!(t.contains(&id) && t.contains("created"), "{t}");
    let o = env.hull(&["list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["id"], id.as_str());
    assert_eq!(v[0]["status"], "created");
    let o = env.hull(&["list", "-q"]);
    assert_eq!(text(&o.stdout), format!("{id}\n"));
    let o = env.hull(&["ls", "-f", "yaml"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn stopped_status_survives_pid_reuse_check() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["true"]);
    let id = env.id("stopped");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    env.wait_status(&id, "stopped");
    // Forge a state whose pid is alive but whose start time differs: it must read as stopped.
    let path = env.root.join(&id).join("state.json");
    let mut st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    st["pid"] = (std::process::id() as i64).into();
    std::fs::write(&path, st.to_string()).unwrap();
    assert_eq!(env.status(&id), "stopped");
    assert!(env.hull(&["delete", &id]).status.success());
}

#[test]
fn concurrent_commands_are_serialized_by_the_lock() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let id = env.id("lock");
    env.create_ok(&b, &id);
    // Hold the container's lock as hull does; delete must wait for it.
    let dir = std::fs::File::open(env.root.join(&id)).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: flock on an fd we own.
    assert_eq!(unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut del = env.cmd(&["delete", &id]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        del.try_wait().unwrap().is_none(),
        "delete did not wait for the lock"
    );
    drop(dir);
    assert!(del.wait().unwrap().success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn spec_writes_a_config_that_runs() {
    require_root!();
    let env = Env::new();
    let dir = env.dir.join("specbundle");
    std::fs::create_dir_all(&dir).unwrap();
    let o = env.hull(&["spec", "--bundle", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    // A second spec refuses to overwrite.
    assert_eq!(
        env.hull(&["spec", "--bundle", dir.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    v["root"]["path"] = rootfs().to_str().unwrap().into();
    v["process"]["args"] = serde_json::json!(["hostname"]);
    v["linux"].as_object_mut().unwrap().remove("resources");
    std::fs::write(dir.join("config.json"), v.to_string()).unwrap();
    let id = env.id("spec");
    let o = env.hull(&["run", "--bundle", dir.to_str().unwrap(), &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hull\n");
}

#[test]
fn version_and_json_log() {
    let env = Env::new();
    let o = env.hull(&["--version"]);
    let t = text(&o.stdout);
    assert!(t.starts_with("hull version "), "{t}");
    assert!(t.contains("\nspec: 1.3.0"), "{t}");
    let log = env.dir.join("log.json");
    let o = env.hull(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("container does not exist"));
    let line = std::fs::read_to_string(&log).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    assert_eq!(v["level"], "error");
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .contains("container does not exist"));
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
    let o = env.hull(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format=json",
        "state",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
}

#[test]
fn systemd_cgroup_and_rootless_flags_are_runcs() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["true"]);
    let id = env.id("flags");
    // Accepted where they change nothing.
    let o = env.hull(&["--systemd-cgroup", "--rootless", "false", "list", "-q"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Refused, clearly, where they would change behaviour (the systemd driver on this hybrid
    // host); nothing is created.
    let o = env.hull(&[
        "--systemd-cgroup",
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("--systemd-cgroup"),
        "{}",
        text(&o.stderr)
    );
    assert_no_leftovers(&env, &id);
    // A bad --rootless value is one line naming the flag.
    let o = env.hull(&["--rootless", "yes", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "hull: --rootless: \"yes\" is not true, false or auto\n"
    );
    // Root asking for rootless mode gets runc's: the container runs (cgroups it may not make
    // would be skipped; host root may make them all).
    let o = env.hull(&[
        "--rootless",
        "true",
        "run",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn a_new_session_keyring_unless_no_new_keyring() {
    require_root!();
    let env = Env::new();
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create=0)
    let ring = |extra: &[&str]| {
        let b = env.bundle(&["probe", "keyctl", "0", "-3", "0"]);
        let id = env.id("keyring");
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        let bdir = b.dir.to_str().unwrap().to_string();
        args.extend_from_slice(&["--bundle", &bdir, &id]);
        let o = env.hull(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    // SAFETY: keyctl with integer arguments only.
    let mine = unsafe { libc::syscall(libc::SYS_keyctl, 0, -3i64, 0) };
    let fresh = ring(&[]);
    let inherited = ring(&["--no-new-keyring"]);
    assert_eq!(
        inherited,
        format!("ret={mine} errno=0\n"),
        "--no-new-keyring keeps the caller's"
    );
    assert!(
        fresh.starts_with("ret=") && fresh.ends_with(" errno=0\n"),
        "{fresh}"
    );
    assert_ne!(fresh, inherited, "create/run join a new session keyring");
}
