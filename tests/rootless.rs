//! The rootless test world (tests/common/rootless.rs): a real unprivileged user with
//! subordinate ids that can make a user namespace and run hull, and a world that leaves nothing
//! behind however its test process ends — no user, no process, no file, /etc as it was.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use common::keeper;
use common::rootless::{processes_of, RootlessUser};
use common::*;
use serde_json::{json, Value};

/// Lines of `sh` as the user that must succeed: its stdout.
fn sh_ok(user: &RootlessUser, script: &str) -> String {
    let o = user.sh(script);
    assert!(
        o.status.success(),
        "as {}: {script}: {}\nstdout: {}\nstderr: {}",
        user.name,
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

/// Our child, killed (if it still runs) and reaped when dropped, also when the test fails.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_user_exists_with_its_own_ids_and_no_group_of_roots() {
    let user = rootless_user!();
    let o = Command::new("getent")
        .args(["passwd", &user.name])
        .output()
        .unwrap();
    let entry = text(&o.stdout);
    let f: Vec<&str> = entry.trim().split(':').collect();
    assert_eq!(f.len(), 7, "getent passwd {}: {entry:?}", user.name);
    assert_eq!(f[2], user.uid.to_string());
    assert_eq!(f[3], user.gid.to_string());
    assert_eq!(f[5], user.home.to_str().unwrap());
    assert!(user.uid >= 1000, "{}", user.uid);
    let out = sh_ok(user, "id -u; id -g; id -G; id -un; id -gn");
    let (u, g) = (user.uid.to_string(), user.gid.to_string());
    let want = [&u, &g, &g, &user.name, &user.name];
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "{out}");
    assert_eq!(user.groups, [user.gid]);
    assert!(user.uid != 0 && user.gid != 0 && !user.groups.contains(&0));
    // Its subordinate ranges, and nobody else's overlapping them.
    let line = format!("{}:{}:65536", user.name, user.subuid.0);
    for (file, range) in [("/etc/subuid", user.subuid), ("/etc/subgid", user.subgid)] {
        assert_eq!(range, (user.subuid.0, 65536));
        let t = fs::read_to_string(file).unwrap();
        assert!(t.lines().any(|l| l == line), "{file}: {t}");
        for l in t.lines().filter(|l| *l != line) {
            let f: Vec<u64> = l
                .split(':')
                .skip(1)
                .filter_map(|n| n.parse().ok())
                .collect();
            if let [start, count] = f[..] {
                let (ours, end) = (u64::from(range.0), u64::from(range.0) + 65536);
                assert!(
                    start + count <= ours || end <= start,
                    "{file}: {l} overlaps {line}"
                );
            }
        }
    }
}

#[test]
fn the_users_processes_hold_no_privilege() {
    let user = rootless_user!();
    let status = sh_ok(user, "cat /proc/self/status");
    let u = user.uid.to_string();
    let g = user.gid.to_string();
    assert_eq!(
        status_field(&status, "Uid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        [&u, &u, &u, &u]
    );
    assert_eq!(
        status_field(&status, "Gid")
            .split_whitespace()
            .collect::<Vec<_>>(),
        [&g, &g, &g, &g]
    );
    assert_eq!(status_field(&status, "Groups"), g);
    for caps in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(status_field(&status, caps), "0000000000000000", "{caps}");
    }
    // setpriv's view (it names no effective or permitted set when both are empty).
    let dump = sh_ok(user, "setpriv --dump");
    for line in [
        format!("uid: {u}"),
        format!("euid: {u}"),
        format!("Supplementary groups: {g}"),
        "Inheritable capabilities: [none]".into(),
        "Ambient capabilities: [none]".into(),
    ] {
        assert!(
            dump.lines().any(|l| l == line),
            "no {line:?} in setpriv --dump:\n{dump}"
        );
    }
    // Opening for append writes nothing, even where it is allowed.
    let o = user.sh(": >>/etc/passwd");
    assert!(!o.status.success(), "the user may write /etc/passwd");
    assert!(text(&o.stderr).contains("Permission denied"), "{o:?}");
    let o = user.sh("cat /etc/shadow");
    assert!(!o.status.success(), "the user may read /etc/shadow");
    assert!(text(&o.stderr).contains("Permission denied"), "{o:?}");
}

#[test]
fn the_users_environment_home_and_runtime_dir_are_its_own() {
    let user = rootless_user!();
    let out = sh_ok(user, "env; echo cwd=$(pwd)");
    let mut env: Vec<&str> = out.lines().filter(|l| !l.starts_with("PWD=")).collect();
    env.sort_unstable();
    let want = [
        format!("HOME={}", user.home.display()),
        "LANG=C".to_string(),
        format!("LOGNAME={}", user.name),
        format!("PATH={}", common::rootless::USER_PATH),
        format!("USER={}", user.name),
        format!("XDG_RUNTIME_DIR={}", user.runtime_dir.display()),
        format!("cwd={}", user.home.display()),
    ];
    assert_eq!(env, want, "{out}");
    for dir in [&user.runtime_dir, &user.home] {
        let m = fs::metadata(dir).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o7777),
            (user.uid, user.gid, 0o700),
            "{}",
            dir.display()
        );
    }
    sh_ok(
        user,
        "echo x >\"$XDG_RUNTIME_DIR/probe\" && rm \"$XDG_RUNTIME_DIR/probe\" && mkdir \"$HOME/d\" && rmdir \"$HOME/d\"",
    );
}

/// `cat /proc/self/uid_map` as rows of (inside, outside, count).
fn id_map(text: &str) -> Vec<[u32; 3]> {
    text.lines()
        .map(|l| {
            let f: Vec<u32> = l.split_whitespace().map(|n| n.parse().unwrap()).collect();
            [f[0], f[1], f[2]]
        })
        .collect()
}

#[test]
fn the_user_maps_its_subordinate_ids_in_a_user_namespace() {
    let user = rootless_user!();
    let max = fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default();
    assert!(
        max.trim().parse::<u64>().unwrap_or(0) > 0,
        "this kernel lets no user make a user namespace (user.max_user_namespaces = {max:?})"
    );
    // A process of the user's in a user namespace of its own, waiting for its maps.
    let script = "echo ready; read _; cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; \
                  echo --; id -u; id -g";
    let mut ns = user
        .cmd("unshare")
        .args(["--user", "sh", "-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = ns.stdin.take().unwrap();
    let mut stdout = BufReader::new(ns.stdout.take().unwrap());
    let ns = Reaped(ns);
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    let pid = ns.0.id().to_string();
    let (start, count) = user.subuid;
    // newuidmap PID 0 OWN 1 1 START COUNT, as the user.
    let map = |tool: &str, own: u32, (start, count): (u32, u32)| {
        let own = own.to_string();
        let range = [start.to_string(), count.to_string()];
        let args = [pid.as_str(), "0", &own, "1", "1", &range[0], &range[1]];
        user.cmd(tool).args(args).output().unwrap()
    };
    // One id past the range is refused (the map stays unwritten), the range itself is not.
    let o = map("newuidmap", user.uid, (start, count + 1));
    assert!(!o.status.success(), "newuidmap took 65537 ids: {o:?}");
    for (tool, own, range) in [
        ("newuidmap", user.uid, user.subuid),
        ("newgidmap", user.gid, user.subgid),
    ] {
        let o = map(tool, own, range);
        assert!(o.status.success(), "{tool} {pid}: {}", text(&o.stderr));
    }
    writeln!(stdin, "go").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let parts: Vec<&str> = rest.split("--\n").collect();
    assert_eq!(parts.len(), 3, "{rest}");
    assert_eq!(id_map(parts[0]), [[0, user.uid, 1], [1, start, count]]);
    assert_eq!(
        id_map(parts[1]),
        [[0, user.gid, 1], [1, user.subgid.0, count]]
    );
    assert_eq!(parts[2], "0\n0\n", "the user is not root in its namespace");
}

#[test]
fn hull_runs_as_the_user_and_writes_a_rootless_spec_of_its_ids() {
    let user = rootless_user!();
    let o = user.cmd(hull_bin()).arg("--version").output().unwrap();
    assert!(o.status.success(), "hull --version as the user: {o:?}");
    let env = user.env();
    let b = env.bundle(&["true"]);
    let c = &b.config;
    assert_eq!(
        c["linux"]["uidMappings"],
        json!([{"containerID": 0, "hostID": user.uid, "size": 1}])
    );
    assert_eq!(
        c["linux"]["gidMappings"],
        json!([{"containerID": 0, "hostID": user.gid, "size": 1}])
    );
    let ns: Vec<&str> = c["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(ns.contains(&"user") && !ns.contains(&"network"), "{ns:?}");
    assert_eq!(c["process"]["args"], json!(["true"]));
    assert_eq!(c["process"]["terminal"], json!(false));
    assert_eq!(c["root"], json!({"path": rootfs(), "readonly": true}));
    // Saved: the file says so, and it is still the user's.
    let saved: Value =
        serde_json::from_slice(&fs::read(b.dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(&saved, c);
    for p in [b.dir.clone(), b.dir.join("config.json"), env.dir.clone()] {
        let m = fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (user.uid, user.gid), "{}", p.display());
    }
    assert!(!env.root.exists(), "the state dir is hull's to make");
}

// ---- teardown ---------------------------------------------------------------------------------

/// The tests that make a user of their own, one at a time, with the shared user made first: so
/// that each sees /etc change by its own user alone.
static ALONE: Mutex<()> = Mutex::new(());

fn alone() -> Option<MutexGuard<'static, ()>> {
    let guard = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    RootlessUser::shared()?;
    Some(guard)
}

/// The files of /etc a world changes and puts back (the keeper's header), and the backups it
/// must not make.
const ETC_FILES: &[&str] = &[
    "passwd", "shadow", "group", "gshadow", "passwd-", "shadow-", "group-", "gshadow-", "subuid",
    "subgid", "subuid-", "subgid-",
];

/// Each of [`ETC_FILES`]: its bytes, mode, owner and modification time, or `None`.
type EtcFile = Option<(Vec<u8>, u32, u32, u32, SystemTime)>;

fn etc_files() -> Vec<(&'static str, EtcFile)> {
    ETC_FILES
        .iter()
        .map(|f| {
            let p = PathBuf::from("/etc").join(f);
            let v = fs::metadata(&p).ok().map(|m| {
                let bytes = fs::read(&p).unwrap();
                (bytes, m.mode(), m.uid(), m.gid(), m.modified().unwrap())
            });
            (*f, v)
        })
        .collect()
}

/// /etc's files before a test, and the rootless worlds of other test binaries then.
struct EtcBefore {
    files: Vec<(&'static str, EtcFile)>,
    others: BTreeSet<PathBuf>,
}

/// The directories of rootless worlds of other processes (`hull-rootless-<pid>-<n>`, a pid not
/// ours): a world's directory is there before its keeper changes /etc and until it has put /etc
/// back.
fn other_worlds() -> BTreeSet<PathBuf> {
    let ours = format!("hull-rootless-{}-", std::process::id());
    fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("hull-rootless-") && !name.starts_with(&ours) && p.is_dir()
        })
        .collect()
}

fn etc_before() -> EtcBefore {
    let others = other_worlds();
    EtcBefore {
        files: etc_files(),
        others,
    }
}

/// Assert that /etc's files are as `before` — when no world of another test binary came or
/// went meanwhile: one that came (and stays) or went changes /etc, and is not this test's to
/// judge (worlds that came and went meanwhile leave /etc as they found it, in whatever order
/// they end: the keeper's header).
fn assert_etc_as(before: &EtcBefore) {
    let others = other_worlds();
    if others != before.others {
        let msg = format!(
            "note: /etc not compared: rootless worlds of other test binaries came or went \
             meanwhile (then {:?}, now {others:?})\n",
            before.others
        );
        let _ = std::io::stderr().write_all(msg.as_bytes());
        return;
    }
    for ((f, was), (_, is)) in before.files.iter().zip(etc_files()) {
        let (Some(was), Some(is)) = (was, &is) else {
            assert!(
                was.is_none() && is.is_none(),
                "/etc/{f}: was {was:?}, is {is:?}"
            );
            continue;
        };
        let lines = |b: &[u8]| text(b).lines().map(String::from).collect::<Vec<_>>();
        let (old, new) = (lines(&was.0), lines(&is.0));
        let gone: Vec<&String> = old.iter().filter(|l| !new.contains(l)).collect();
        let added: Vec<&String> = new.iter().filter(|l| !old.contains(l)).collect();
        assert!(
            was.0 == is.0,
            "/etc/{f}'s bytes changed: lines gone {gone:?}, added {added:?}"
        );
        assert_eq!(
            (was.1, was.2, was.3),
            (is.1, is.2, is.3),
            "/etc/{f}: mode, owner"
        );
        assert_eq!(was.4, is.4, "/etc/{f}: modification time");
    }
}

/// What a world is on the host, to look for after its teardown.
#[derive(Debug)]
struct Traces {
    name: String,
    uid: u32,
    subuid: (u32, u32),
    dir: PathBuf,
}

impl Traces {
    fn of(u: &RootlessUser) -> Traces {
        Traces {
            name: u.name.clone(),
            uid: u.uid,
            subuid: u.subuid,
            dir: u.dir.clone(),
        }
    }

    fn line(&self) -> String {
        let (start, count) = self.subuid;
        format!(
            "WORLD {} {} {start} {count} {}",
            self.name,
            self.uid,
            self.dir.display()
        )
    }

    fn parse(line: &str) -> Traces {
        let f: Vec<&str> = line.split_whitespace().collect();
        Traces {
            name: f[1].to_string(),
            uid: f[2].parse().unwrap(),
            subuid: (f[3].parse().unwrap(), f[4].parse().unwrap()),
            dir: PathBuf::from(f[5]),
        }
    }

    /// What is left of the world on the host.
    fn left(&self) -> Vec<String> {
        let mut left = Vec::new();
        for db in ["passwd", "group"] {
            let o = Command::new("getent")
                .args([db, &self.name])
                .output()
                .unwrap();
            if o.status.code() != Some(2) {
                left.push(format!("getent {db} {}: {}", self.name, text(&o.stdout)));
            }
        }
        let mine = format!("{}:", self.name);
        for f in ETC_FILES {
            let t = fs::read_to_string(PathBuf::from("/etc").join(f)).unwrap_or_default();
            left.extend(
                t.lines()
                    .filter(|l| l.starts_with(&mine))
                    .map(|l| format!("/etc/{f}: {l}")),
            );
        }
        left.extend(
            processes_of(self.uid, self.subuid)
                .into_iter()
                .map(|p| format!("process {p}: {:?}", fs::read(format!("/proc/{p}/cmdline")))),
        );
        if self.dir.exists() {
            left.push(format!("directory {}", self.dir.display()));
        }
        left
    }

    /// Run `world_owner` in a child test process in `mode` (`keeper::owner`): the world's
    /// traces, the child and the file of its stderr.
    fn of_owner(mode: &str) -> Option<(Traces, Child, PathBuf)> {
        let (line, child, err) = keeper::owner("world_owner", "HULL_ROOTLESS_OWNER", mode)?;
        Some((Traces::parse(&line), child, err))
    }
}

/// Processes of the user's for a world to take down: one as the user, one as its first
/// subordinate uid (root of a user namespace mapped by `unshare --map-auto`).
fn users_sleepers(user: &RootlessUser) -> (Reaped, Reaped) {
    let spawn = |c: &mut Command| Reaped(c.stdin(Stdio::null()).spawn().unwrap());
    let own = spawn(user.cmd("sleep").arg("1000"));
    let sub = spawn(user.cmd("unshare").args([
        "--map-auto",
        "--setuid=0",
        "--setgid=0",
        "sleep",
        "1000",
    ]));
    // Until each runs as it should: sleep as the user, sleep as the first subordinate uid
    // (unshare has mapped the namespace and switched to its root).
    let deadline = Instant::now() + Duration::from_secs(5);
    for (c, uid) in [(&own, user.uid), (&sub, user.subuid.0)] {
        let pid = c.0.id() as i32;
        let want = format!("{uid}\t{uid}\t{uid}\t{uid}");
        loop {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let comm = status_field(&status, "Name");
            if status_field(&status, "Uid") == want && comm == "sleep" {
                break;
            }
            assert!(
                Instant::now() < deadline && !is_gone(pid),
                "{pid} ({comm}, {}) does not run sleep as {uid}",
                if is_gone(pid) { "exited" } else { "after 5 s" }
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    (own, sub)
}

#[test]
fn a_world_torn_down_leaves_nothing_on_the_host() {
    let Some(_alone) = alone() else {
        return;
    };
    let before = etc_before();
    let Some(user) = keeper::available(RootlessUser::make(), "rootless world") else {
        return;
    };
    let traces = Traces::of(&user);
    let (own, sub) = users_sleepers(&user);
    // A test's directory, not cleaned up: the world's teardown takes it.
    let env = user.env();
    let _ = env.bundle(&["true"]);
    std::mem::forget(env);
    assert!(traces.left().len() >= 5, "{:?}", traces.left());
    assert!(
        before.files != etc_files(),
        "the world changed nothing in /etc"
    );
    let took = user.shut_down();
    let left = traces.left();
    assert!(left.is_empty(), "left after teardown: {left:#?}");
    assert!(is_gone(own.0.id() as i32) && is_gone(sub.0.id() as i32));
    assert_etc_as(&before);
    let msg = format!(
        "a private rootless world torn down in {:.2} s\n",
        took.as_secs_f64()
    );
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

#[test]
fn worlds_that_end_out_of_order_leave_etc_as_it_was() {
    let Some(_alone) = alone() else {
        return;
    };
    let before = etc_before();
    let make = || keeper::available(RootlessUser::make(), "rootless world");
    let (Some(first), Some(second)) = (make(), make()) else {
        return;
    };
    assert_ne!(first.subuid.0, second.subuid.0);
    let (one, two) = (Traces::of(&first), Traces::of(&second));
    // The first goes first: the second is left as it was, and ends with /etc as the first found
    // it (the first handed its copies over).
    first.shut_down();
    assert!(one.left().is_empty(), "{:#?}", one.left());
    assert!(two.left().len() >= 5, "{:?}", two.left());
    let o = second.sh("id -un");
    assert_eq!(text(&o.stdout).trim(), second.name, "{o:?}");
    second.shut_down();
    assert!(two.left().is_empty(), "{:#?}", two.left());
    assert_etc_as(&before);
}

/// Not a test of its own: the test binary run by the two tests below (`HULL_ROOTLESS_OWNER`
/// set) makes the shared user as any test does, starts processes of it (left to the keeper),
/// reports it, then panics or waits to be killed.
#[test]
#[ignore = "run in a child process by the teardown tests"]
fn world_owner() {
    keeper::be_owner(
        "HULL_ROOTLESS_OWNER",
        || RootlessUser::shared().map(|u| (u, users_sleepers(u))),
        |(user, _)| Traces::of(user).line(),
    );
}

#[test]
fn a_killed_test_process_leaves_no_user() {
    let Some(_alone) = alone() else {
        return;
    };
    let before = etc_before();
    let Some((traces, child, err)) = Traces::of_owner("wait") else {
        return;
    };
    keeper::kill_owner(child, err);
    // Its keeper sees the end of the pipe and takes the world down behind it.
    let world = format!("rootless world {}", traces.name);
    keeper::wait_gone(&world, Duration::from_secs(10), || traces.left());
    assert_etc_as(&before);
}

#[test]
fn a_failing_test_binary_ends_with_its_user_gone() {
    let Some(_alone) = alone() else {
        return;
    };
    let before = etc_before();
    let Some((traces, child, err)) = Traces::of_owner("panic") else {
        return;
    };
    keeper::owner_failed(child, err, || traces.left());
    assert_etc_as(&before);
}
