//! The CRI world's teardown: a SIGKILLed test process, a failing test binary and a world whose
//! containerd died leave nothing of the world on the host.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{self, is_gone, mounts_mentioning};
use crate::pod::Pod;
use crate::world::{self, CriWorld};

/// What a world with a pod in it is on the host, to look for after its teardown.
#[derive(Debug)]
struct Traces {
    /// The world's name (its dir's, its cgroup's; containerd's and the shims' command lines
    /// name its dir).
    name: String,
    dir: PathBuf,
    /// The pod's sandbox id (the shim's `-id`, hull's container id, CNI's cache entries).
    sandbox: String,
    /// The pod's shim's socket, in /run/containerd/s.
    socket: PathBuf,
}

impl Traces {
    fn of(world: &CriWorld, sandbox: &str) -> Traces {
        let address = world
            .dir
            .join("state/io.containerd.runtime.v2.task")
            .join(world::K8S_NS)
            .join(sandbox)
            .join("address");
        let address = fs::read_to_string(&address).unwrap();
        Traces {
            name: world.name.clone(),
            dir: world.dir.clone(),
            sandbox: sandbox.to_string(),
            socket: PathBuf::from(address.trim().trim_start_matches("unix://")),
        }
    }

    fn line(&self) -> String {
        format!(
            "WORLD {} {} {} {}",
            self.name,
            self.dir.display(),
            self.sandbox,
            self.socket.display()
        )
    }

    fn parse(line: &str) -> Traces {
        let f: Vec<&str> = line.split_whitespace().collect();
        Traces {
            name: f[1].to_string(),
            dir: PathBuf::from(f[2]),
            sandbox: f[3].to_string(),
            socket: PathBuf::from(f[4]),
        }
    }

    /// What is left of the world on the host.
    fn left(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.dir.exists() {
            left.push(format!("directory {}", self.dir.display()));
        }
        if self.socket.exists() {
            left.push(format!("shim socket {}", self.socket.display()));
        }
        left.extend(
            common::cgroup_dirs_named(&self.name)
                .iter()
                .map(|c| format!("cgroup {}", c.display())),
        );
        left.extend(
            mounts_mentioning(&self.name)
                .into_iter()
                .map(|m| format!("mount {m}")),
        );
        for needle in [&self.name, &self.sandbox] {
            left.extend(
                processes_naming(needle)
                    .into_iter()
                    .map(|p| format!("process {p}")),
            );
        }
        if let Ok(rd) = fs::read_dir("/var/lib/cni/results") {
            left.extend(
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(&self.sandbox))
                    .map(|n| format!("CNI cache entry {n}")),
            );
        }
        left
    }
}

/// Live processes whose command line has `needle` in it.
fn processes_naming(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        if let Ok(c) = fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains(needle) && !is_gone(pid.parse().unwrap()) {
                out.push(format!("{pid}: {c}"));
            }
        }
    }
    out
}

/// Not a test of its own: the test binary run by the two tests below (`HULL_CRI_OWNER` set)
/// makes the shared world as any test does, runs a pod with a container in it and reports
/// them, then panics or waits to be killed, the pod still running.
#[test]
#[ignore = "run in a child process by the teardown tests"]
fn world_owner() {
    let line = std::cell::RefCell::new(String::new());
    common::keeper::be_owner(
        "HULL_CRI_OWNER",
        || {
            let world = CriWorld::shared()?;
            let pod = Pod::run(world, |_| {});
            pod.start("left", json!({"command": ["sleep", "1000"]}));
            *line.borrow_mut() = Traces::of(world, &pod.id).line();
            pod.abandon();
            Some(world)
        },
        |_| line.borrow().clone(),
    );
}

/// Run `world_owner` in a child test process in `mode` (`keeper::owner`); the world's traces,
/// the child and the file of its stderr.
fn owner(mode: &str) -> Option<(Traces, std::process::Child, PathBuf)> {
    if !common::is_root() {
        common::skip_or_fail("needs root");
        return None;
    }
    let (line, child, err) =
        common::keeper::owner("teardown::world_owner", "HULL_CRI_OWNER", mode)?;
    let traces = Traces::parse(&line);
    assert!(traces.left().len() >= 4, "{:#?}", traces.left());
    Some((traces, child, err))
}

#[test]
fn a_killed_test_process_leaves_no_world() {
    let Some((traces, child, err)) = owner("wait") else {
        return;
    };
    common::keeper::kill_owner(child, err);
    // Its keeper sees the end of the pipe and tears the world down behind it.
    common::keeper::wait_gone(
        &format!("CRI world {}", traces.name),
        Duration::from_secs(30),
        || traces.left(),
    );
}

#[test]
fn a_failing_test_binary_ends_with_its_world_gone() {
    let Some((traces, child, err)) = owner("panic") else {
        return;
    };
    common::keeper::owner_failed(child, err, || traces.left());
}

/// A world whose containerd died (no orderly teardown through CRI is possible) is torn down
/// all the same: the keeper kills the shim and the pod's processes below it, removes the shim's
/// socket and CNI's cache entries the dead containerd left, unmounts the pod's rootfs, shm and
/// netns, removes the cgroups; and it says that the orderly part failed.
#[test]
fn a_world_whose_containerd_died_is_torn_down_all_the_same() {
    let world = match CriWorld::start() {
        Ok(w) => w,
        Err(common::keeper::Unavailable::Missing(why)) => {
            common::skip_or_fail(&format!("no CRI world: {why}"));
            return;
        }
        Err(common::keeper::Unavailable::Failed(why)) => panic!("{why}"),
    };
    let pod = Pod::run(&world, |_| {});
    let id = pod.start("left", json!({"command": ["sleep", "1000"]}));
    let pids = [pod.pid(&pod.id), pod.pid(&id)];
    let traces = Traces::of(&world, &pod.id);
    pod.abandon();
    // SAFETY: kill(2) of the containerd this test's world started (its keeper's child, which
    // the keeper reaps).
    unsafe { libc::kill(world.containerd, libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_gone(world.containerd) {
        assert!(Instant::now() < deadline, "containerd survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(traces.left().len() >= 4, "{:#?}", traces.left());
    let r = world.stop();
    let left = traces.left();
    assert!(left.is_empty(), "left: {left:#?}");
    assert!(pids.iter().all(|p| is_gone(*p)), "{pids:?}");
    let e = r.expect_err("a teardown without CRI is reported");
    assert!(e.contains("ended with"), "{e}");
    // Its drop would only say the same again.
    std::mem::forget(world);
}
