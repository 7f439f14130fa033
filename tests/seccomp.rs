//! Seccomp in real containers: the config.json files podman and docker generate (in
//! bundles/engine-configs) run under hull with their profiles, and each probe syscall gives
//! what the profile says — the profile's errno where it denies, the kernel's own answer (the
//! same as in a container without seccomp) where it allows. Also: NNP and non-NNP load paths,
//! TRAP/KILL_PROCESS/LOG in a container, and SCMP_ACT_NOTIFY answered by a small agent here.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use common::*;
use serde_json::{json, Value};

/// A bundle from an engine-generated config: our rootfs, our args, CAP_SYS_ADMIN added (so a
/// denial below is the profile's, not a missing capability), engine-private paths unchanged.
fn engine_bundle(env: &Env, engine: &str, script: &str) -> Bundle {
    let path = repo().join(format!("bundles/engine-configs/{engine}-run.json"));
    let mut b = env.bundle(&["true"]);
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut c: Value = serde_json::from_str(&raw).unwrap();
    c["root"]["path"] = rootfs().to_str().unwrap().into();
    c["root"]["readonly"] = true.into();
    c["process"]["args"] = json!(["sh", "-c", script]);
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push("CAP_SYS_ADMIN".into());
    }
    // Each test its own cgroup (the engine configs name one per engine).
    c["linux"]["cgroupsPath"] = format!("/hull-test-{}-{engine}", std::process::id()).into();
    b.config = c;
    b.save();
    b
}

const PROBES: &[(&str, &str)] = &[
    ("getpid", ""),
    ("sethostname", "0 0"),
    ("setdomainname", "0 0"),
    ("keyctl", "0x7fffffff"),
    ("swapon", "0 0"),
    ("bpf", "0x7fffffff 0 0"),
    ("acct", "0"),
    ("settimeofday", "0 0"),
    ("open_by_handle_at", "-1 0 0"),
    ("personality", "0xffffffff"),
    ("personality", "0"),
    ("personality", "8"),
    ("personality", "0x1234"),
    ("mkdir", "0 0"),
];

fn probe_script() -> String {
    let mut s = String::from("echo ordinary-commands-run; ");
    for (name, args) in PROBES {
        s.push_str(&format!("echo \"{name} {args} $(probe {name} {args})\"; "));
    }
    s
}

/// `name args` → errno reported by the probe.
fn errnos(out: &str) -> Vec<(String, i64)> {
    out.lines()
        .filter_map(|l| {
            let (head, e) = l.rsplit_once(" errno=")?;
            let key = head.rsplit_once(" ret=")?.0.to_string();
            Some((key, e.trim().parse().ok()?))
        })
        .collect()
}

/// What the profile does to a syscall called with `arg0`: Some(errno) when it denies.
fn profile_errno(profile: &Value, name: &str, arg0: Option<u64>) -> Option<i64> {
    let default_errno = profile["defaultErrnoRet"].as_i64().unwrap_or(1);
    let act = |r: &Value| -> Option<i64> {
        match r["action"].as_str().unwrap() {
            "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" => None,
            "SCMP_ACT_ERRNO" => Some(r["errnoRet"].as_i64().unwrap_or(1)),
            other => panic!("unexpected action {other} in an engine profile"),
        }
    };
    let rules: Vec<&Value> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["names"].as_array().unwrap().iter().any(|n| n == name))
        .collect();
    if let Some(r) = rules
        .iter()
        .find(|r| r["args"].as_array().is_none_or(|a| a.is_empty()))
    {
        return act(r);
    }
    for r in &rules {
        // Engine profiles use single SCMP_CMP_EQ / MASKED_EQ comparisons on arg 0.
        let a = &r["args"][0];
        let v = a["value"].as_u64().unwrap();
        let hit = match a["op"].as_str().unwrap() {
            "SCMP_CMP_EQ" => arg0 == Some(v),
            "SCMP_CMP_MASKED_EQ" => {
                arg0.is_some_and(|x| x & v == a["valueTwo"].as_u64().unwrap_or(0))
            }
            op => panic!("unexpected op {op}"),
        };
        if hit {
            return act(r);
        }
    }
    if profile["defaultAction"] == "SCMP_ACT_ALLOW" {
        None
    } else {
        Some(default_errno)
    }
}

fn engine_profile_matches(engine: &str) {
    let env = Env::new();
    let b = engine_bundle(&env, engine, &probe_script());
    let profile = b.config["linux"]["seccomp"].clone();
    let id = env.id(engine);
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{engine}: {out}\n{err}");
    assert!(out.starts_with("ordinary-commands-run\n"), "{out}");
    // The same probes with no seccomp: what the kernel itself answers.
    let mut base = engine_bundle(&env, engine, &probe_script());
    base.edit(|c| {
        c["linux"].as_object_mut().unwrap().remove("seccomp");
    });
    let bid = env.id(&format!("{engine}-noseccomp"));
    let (bcode, bout, berr) = env.run(&base, &bid);
    assert_eq!(bcode, 0, "{bout}\n{berr}");
    let (got, baseline) = (errnos(&out), errnos(&bout));
    assert_eq!(got.len(), PROBES.len(), "{out}");
    let mut denied = 0;
    for ((key, e), (_, be)) in got.iter().zip(&baseline) {
        let mut parts = key.split(' ');
        let name = parts.next().unwrap();
        let arg0 = parts
            .next()
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).unwrap(),
                None => s.parse::<i64>().unwrap() as u64,
            });
        match profile_errno(&profile, name, arg0) {
            Some(want) => {
                denied += 1;
                assert_eq!(
                    *e, want,
                    "{engine}: {key}: the profile denies it with errno {want}\n{out}"
                );
            }
            None => assert_eq!(
                e, be,
                "{engine}: {key}: allowed, so the kernel's answer ({be}) must come through\n{out}"
            ),
        }
    }
    assert!(
        denied >= 4,
        "{engine}: the probes should hit several denials: {out}"
    );
    assert_no_leftovers(&env, &id);
}

#[test]
fn docker_generated_config_runs_with_its_profile_enforced() {
    require_root!();
    engine_profile_matches("docker");
}

#[test]
fn podman_generated_config_runs_with_its_profile_enforced() {
    require_root!();
    engine_profile_matches("podman");
}

#[test]
fn filter_is_loaded_with_and_without_no_new_privileges() {
    require_root!();
    let env = Env::new();
    for nnp in [true, false] {
        let out = env.sh("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; probe sethostname 0 0", |c| {
            c["process"]["noNewPrivileges"] = nnp.into();
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set] = json!(["CAP_SYS_ADMIN"]);
            }
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]});
        });
        assert!(out.contains("Seccomp:\t2"), "{out}");
        assert!(
            out.contains(&format!("NoNewPrivs:\t{}", u8::from(nnp))),
            "{out}"
        );
        assert!(out.contains("errno=95"), "{out}");
    }
}

#[test]
fn filter_flags_are_accepted_and_the_filter_still_enforces() {
    require_root!();
    let env = Env::new();
    let out = env.sh("probe sethostname 0 0", |c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = json!(["CAP_SYS_ADMIN"]);
        }
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]});
    });
    assert_eq!(out, "ret=-1 errno=77\n");
}

#[test]
fn trap_kill_process_and_log_actions_in_a_container() {
    require_root!();
    let env = Env::new();
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["acct"], "action": "SCMP_ACT_TRAP"},
        {"names": ["syslog"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["uname"], "action": "SCMP_ACT_LOG"}]});
    let out = env.sh(
        "probe acct 0; echo trap=$?; probe syslog 0 0 0; echo kill=$?; probe uname 0; echo log=$?",
        |c| {
            c["linux"]["seccomp"] = profile.clone();
        },
    );
    assert!(
        out.contains(&format!("trap={}", 128 + libc::SIGSYS)),
        "{out}"
    );
    assert!(
        out.contains(&format!("kill={}", 128 + libc::SIGSYS)),
        "{out}"
    );
    // LOG allows: uname(NULL) reaches the kernel and fails with EFAULT.
    assert!(
        out.contains(&format!("errno={}\nlog=0", libc::EFAULT)),
        "{out}"
    );
}

#[repr(C)]
struct SeccompData {
    nr: i32,
    arch: u32,
    ip: u64,
    args: [u64; 6],
}

#[repr(C)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

/// Accept one connection on the agent's socket: the state JSON and the listener fd.
fn receive(listener: &std::os::unix::net::UnixListener) -> (Value, OwnedFd) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let (conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let (n, fd) = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let m = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .unwrap();
        let mut fd = None;
        for c in m.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmRights(fds) = c {
                // SAFETY: the kernel installed the fd for us.
                fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
            }
        }
        (m.bytes, fd.expect("an fd with the state"))
    };
    (serde_json::from_slice(&buf[..n]).unwrap(), fd)
}

/// Answer the next notification on a listener fd with `val`; returns its syscall number.
fn answer(fd: &OwnedFd, val: i64) -> i32 {
    // SAFETY: all-zero is a valid seccomp_notif for the kernel to fill.
    let mut req: Notif = unsafe { std::mem::zeroed() };
    // SAFETY: ioctl on the listener fd with a struct of the size the request encodes.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV, &mut req as *mut Notif) };
    assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    let resp = NotifResp {
        id: req.id,
        val,
        error: 0,
        flags: 0,
    };
    // SAFETY: as above, for the response.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND, &resp as *const NotifResp) };
    assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    req.data.nr
}

/// The agent: accept one connection, take the state JSON and the listener fd, answer the next
/// notification with `val`.
fn agent(listener: std::os::unix::net::UnixListener, val: i64) -> (Value, i32) {
    let (state, fd) = receive(&listener);
    (state, answer(&fd, val))
}

#[test]
fn notify_hands_the_listener_to_an_agent_whose_answer_the_container_sees() {
    require_root!();
    let env = Env::new();
    let sock = env.dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let agent = std::thread::spawn(move || agent(listener, 42));
    let mut b = env.bundle(&["probe", "mkdir", "0", "0"]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock.to_str().unwrap(),
            "listenerMetadata": "hello-agent", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    });
    let id = env.id("notify");
    let (code, out, err) = env.run(&b, &id);
    let (state, nr) = agent.join().unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        out, "ret=42 errno=0\n",
        "the agent's answer, not the kernel's"
    );
    assert_eq!(nr as i64, libc::SYS_mkdir);
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["metadata"], "hello-agent");
    assert_eq!(state["state"]["id"], id.as_str());
    assert!(state["pid"].as_i64().unwrap() > 0);
    assert_no_leftovers(&env, &id);
}

/// exec into a container whose profile notifies: the exec'd process loads the filter too, and
/// its listener fd reaches the agent (a connection of its own) with the process's pid and the
/// container's state, `running` (runc's setns init does the same).
#[test]
fn exec_process_with_a_notifying_profile_hands_its_listener_to_the_agent() {
    require_root!();
    let env = Env::new();
    let sock = env.dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let agent = std::thread::spawn(move || {
        // Init's listener first (nothing of init's calls mkdir), then the exec process's.
        let (init_state, _init_fd) = receive(&listener);
        let (state, fd) = receive(&listener);
        let nr = answer(&fd, 42);
        (init_state, state, nr)
    });
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock.to_str().unwrap(),
            "listenerMetadata": "exec-agent",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    });
    let id = env.id("notifyexec");
    env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let init = env.state(&id)["pid"].as_i64().unwrap();
    let o = env.hull(&["exec", &id, "probe", "mkdir", "0", "0"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "ret=42 errno=0\n", "the agent's answer");
    let (init_state, state, nr) = agent.join().unwrap();
    assert_eq!(nr as i64, libc::SYS_mkdir);
    assert_eq!(init_state["pid"], init);
    assert_eq!(init_state["state"]["status"], "creating");
    assert_eq!(state["metadata"], "exec-agent");
    assert_eq!(state["state"]["id"], id.as_str());
    assert_eq!(state["state"]["status"], "running");
    assert_eq!(state["state"]["pid"], init, "the container's pid is init's");
    assert_ne!(
        state["pid"], init,
        "the process's pid is the exec process's"
    );
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}
