//! The podman and docker scenarios, written once: podman's CLI is docker's, so a scenario drives
//! either through the `Engine` trait. Where the two engines answer differently, each engine's
//! impl says what it answers.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::text;
use crate::world::{assert_gone, code, describe, ok, tar_rootfs, unique};

/// A podman or docker world of its own, as the scenarios drive it.
pub trait Engine {
    /// The command (`podman`, `docker`), in messages.
    const CLI: &'static str;
    /// The test rootfs as an image of this engine.
    const IMAGE: &'static str;
    /// How `remove` removes a container: podman's stops it first, docker's wants it stopped.
    const RM: &'static [&'static str];

    /// The CLI with `args`, on this world's daemon or storage.
    fn cli(&self, args: &[&str]) -> Output;
    /// The world's temp dir.
    fn dir(&self) -> &Path;
    /// Options of every `run`, after `--network none`.
    fn run_options(&self) -> Vec<&str>;
    /// hull's `--root` for this world's containers.
    fn hull_root(&self) -> PathBuf;
    /// The cgroup of container `id`, relative to a hierarchy's root.
    fn cgroup(&self, id: &str) -> PathBuf;
    /// What `exec` of a missing command (`/nope`) gives.
    fn assert_exec_of_missing_command(&self, o: &Output);

    /// Import a tar of the test rootfs as `IMAGE`.
    fn import_rootfs(&self) {
        let tar = self.dir().join("rootfs.tar");
        tar_rootfs(&tar);
        ok(
            self.cli(&["import", tar.to_str().unwrap(), Self::IMAGE]),
            &format!("{} import", Self::CLI),
        );
    }

    /// `run --rm` of `cmd` in `IMAGE` with `extra` options.
    fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend(self.run_options());
        a.extend_from_slice(extra);
        a.push(Self::IMAGE);
        a.extend_from_slice(cmd);
        self.cli(&a)
    }

    /// A detached container named `name` running `cmd`; returns its full id.
    fn run_detached(&self, name: &str, extra: &[&str], cmd: &[&str]) -> String {
        let mut a = vec!["run", "-d", "--name", name, "--network", "none"];
        a.extend(self.run_options());
        a.extend_from_slice(extra);
        a.push(Self::IMAGE);
        a.extend_from_slice(cmd);
        ok(self.cli(&a), &format!("{} run -d", Self::CLI))
            .trim()
            .to_string()
    }

    fn inspect(&self, format: &str, name: &str) -> String {
        ok(
            self.cli(&["inspect", "--format", format, name]),
            &format!("{} inspect", Self::CLI),
        )
        .trim()
        .to_string()
    }

    fn status(&self, name: &str) -> String {
        self.inspect("{{.State.Status}}", name)
    }

    /// The container's cgroup directory in the hierarchy of `controller` (hybrid/legacy) or
    /// the unified one.
    fn cgroup_dir(&self, id: &str, controller: &str) -> PathBuf {
        let v1 = Path::new("/sys/fs/cgroup").join(controller);
        let base = if v1.is_dir() {
            v1
        } else {
            PathBuf::from("/sys/fs/cgroup")
        };
        base.join(self.cgroup(id))
    }

    /// Wait until the container's log shows `needle` (its trap is set).
    fn wait_for_log(&self, name: &str, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = self.cli(&["logs", name]);
            if text(&o.stdout).contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log: {}",
                describe(&o)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `rm` and the leftover checks.
    fn remove(&self, name: &str, id: &str) {
        let mut a = Self::RM.to_vec();
        a.push(name);
        ok(self.cli(&a), &format!("{} rm", Self::CLI));
        assert_gone(&self.hull_root(), id);
    }
}

/// Foreground runs: output, the process's exit code, and the engine's codes for a missing (127)
/// and a non-executable (126) command; hull's error reaches the engine through the JSON log and
/// is named in its message. No hull state is left.
pub fn run_output_and_exit_codes(e: &impl Engine) {
    assert_eq!(ok(e.run(&[], &["echo", "hi"]), "echo hi"), "hi\n");
    let o = e.run(&[], &["sh", "-c", "exit 7"]);
    assert_eq!(code(&o), 7, "{}", describe(&o));
    let o = e.run(&[], &["/nonexistent"]);
    assert_eq!(code(&o), 127, "{}", describe(&o));
    assert!(text(&o.stderr).contains("/nonexistent"), "{}", describe(&o));
    let o = e.run(&[], &["/etc"]);
    assert_eq!(code(&o), 126, "{}", describe(&o));
    let root = e.hull_root();
    assert!(
        fs::read_dir(&root).map_or(true, |mut d| d.next().is_none()),
        "hull state left in {}",
        root.display()
    );
}

/// env, hostname, user, workdir, a tmpfs and a read-only volume; a read-only rootfs.
pub fn process_settings(e: &impl Engine) {
    let vol = e.dir().join("vol");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("f"), "from the host\n").unwrap();
    let v = format!("{}:/v:ro", vol.display());
    let out = ok(
        e.run(
            &[
                "-e", "FOO=bar", "--hostname", "hh", "-u", "1000:1001", "-w", "/tmp", "--tmpfs",
                "/scratch", "-v", &v,
            ],
            &[
                "sh",
                "-c",
                "echo $FOO $(hostname) $(id -u):$(id -g) $(pwd); cat /v/f; touch /v/x 2>/dev/null || echo vol-ro; grep -c ' /scratch tmpfs' /proc/mounts",
            ],
        ),
        "settings",
    );
    assert_eq!(out, "bar hh 1000:1001 /tmp\nfrom the host\nvol-ro\n1\n");
    let o = e.run(
        &["--read-only"],
        &[
            "sh",
            "-c",
            "touch /x 2>/dev/null && echo written || echo ro",
        ],
    );
    assert_eq!(ok(o, "--read-only"), "ro\n");
}

/// `--memory 64m` and `--pids-limit 50` are the limits of the container's cgroups, seen inside
/// (cgroup namespace).
pub fn limits_seen_inside(e: &impl Engine) {
    let out = ok(
        e.run(
            &["--memory", "64m", "--pids-limit", "50"],
            &[
                "sh",
                "-c",
                "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
            ],
        ),
        "limits",
    );
    assert_eq!(out, "67108864\n50\n");
}

/// A running container `name` (`id`) started with `--memory 64m`: that limit on the host, in
/// its memory cgroup, then 128m after `update` with `options`.
pub fn memory_limit_and_update<E: Engine>(e: &E, name: &str, id: &str, options: &[&str]) {
    let mem = e.cgroup_dir(id, "memory");
    let limit = || {
        fs::read_to_string(mem.join("memory.limit_in_bytes"))
            .or_else(|_| fs::read_to_string(mem.join("memory.max")))
            .unwrap_or_else(|err| panic!("{}: {err}", mem.display()))
    };
    assert_eq!(limit().trim(), "67108864");
    let mut a = vec!["update"];
    a.extend_from_slice(options);
    a.push(name);
    ok(e.cli(&a), &format!("{} update", E::CLI));
    assert_eq!(limit().trim(), "134217728");
}

/// A detached container `name` of this world, running `sleep 1000` under hull (its state dir).
pub fn run_sleeper(e: &impl Engine, name: &str, extra: &[&str]) -> String {
    let id = e.run_detached(name, extra, &["sleep", "1000"]);
    assert_eq!(e.status(name), "running");
    assert!(e.hull_root().join(&id).is_dir(), "no hull state for {id}");
    id
}

/// exec into container `name` (running `sleep 1000`): output, exit codes, env/user/workdir, a
/// detached exec, and top showing both.
pub fn exec_into(e: &impl Engine, name: &str) {
    assert_eq!(ok(e.cli(&["exec", name, "echo", "in"]), "exec"), "in\n");
    assert_eq!(code(&e.cli(&["exec", name, "sh", "-c", "exit 5"])), 5);
    e.assert_exec_of_missing_command(&e.cli(&["exec", name, "/nope"]));
    let out = ok(
        e.cli(&[
            "exec",
            "-e",
            "A=1",
            "-u",
            "1000",
            "-w",
            "/tmp",
            name,
            "sh",
            "-c",
            "echo $A $(id -u) $(pwd)",
        ]),
        "exec with settings",
    );
    assert_eq!(out, "1 1000 /tmp\n");
    ok(e.cli(&["exec", "-d", name, "sleep", "500"]), "exec -d");
    let top = ok(e.cli(&["top", name]), "top");
    assert!(
        top.contains("sleep 1000") && top.contains("sleep 500"),
        "{top}"
    );
}

/// `stop -t 1` of container `name`: sleep as pid 1 ignores SIGTERM, so the engine falls back to
/// SIGKILL after the timeout.
pub fn stop_after_the_timeout(e: &impl Engine, name: &str) {
    ok(e.cli(&["stop", "-t", "1", name]), "stop");
    assert_eq!(
        e.inspect("{{.State.Status}} {{.State.ExitCode}}", name),
        "exited 137"
    );
}

/// pause/unpause (the freezer), kill with a signal the process traps, and the exit code.
pub fn pause_unpause_kill(e: &impl Engine) {
    let name = unique("pk");
    let id = e.run_detached(
        &name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got USR1; exit 3' USR1; echo ready; while :; do sleep 0.1; done",
        ],
    );
    e.wait_for_log(&name, "ready");
    ok(e.cli(&["pause", &name]), "pause");
    assert_eq!(e.status(&name), "paused");
    let freezer = e.cgroup_dir(&id, "freezer").join("freezer.state");
    if freezer.exists() {
        assert_eq!(fs::read_to_string(&freezer).unwrap().trim(), "FROZEN");
    }
    assert_ne!(
        code(&e.cli(&["exec", &name, "true"])),
        0,
        "exec into a paused container"
    );
    ok(e.cli(&["unpause", &name]), "unpause");
    assert_eq!(e.status(&name), "running");
    ok(e.cli(&["kill", "-s", "USR1", &name]), "kill -s USR1");
    let waited = ok(e.cli(&["wait", &name]), "wait");
    assert_eq!(waited.trim(), "3");
    let logs = e.cli(&["logs", &name]);
    assert!(
        text(&logs.stdout).contains("got USR1"),
        "{}",
        describe(&logs)
    );
    e.remove(&name, &id);
}

/// `run -t`: the engine (conmon, the shim) takes the pty master over hull's --console-socket;
/// output comes back through it with the pty's CRLF.
pub fn run_with_a_terminal(e: &impl Engine) {
    let out = ok(
        e.run(
            &["-t"],
            &["sh", "-c", "tty; test -t 0 && test -t 1 && echo both"],
        ),
        "run -t",
    );
    assert_eq!(out, "/dev/pts/0\r\nboth\r\n");
}

/// `exec -t` into running container `name`: `script` runs on a pty and its output ends with
/// `end`; an exec's exit code through the terminal.
pub fn exec_with_a_terminal(e: &impl Engine, name: &str, script: &str, end: &str) {
    let out = ok(e.cli(&["exec", "-t", name, "sh", "-c", script]), "exec -t");
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    assert!(out.ends_with(end), "{out:?}");
    assert_eq!(code(&e.cli(&["exec", "-t", name, "sh", "-c", "exit 6"])), 6);
}

/// A detached container `name` whose shell traps SIGTERM (exits 4), once the trap is set.
pub fn run_trapping_term(e: &impl Engine, name: &str) -> String {
    let id = e.run_detached(
        name,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 4' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    e.wait_for_log(name, "ready");
    id
}

/// A graceful stop of `run_trapping_term`'s container: it exits with its own code, long before
/// the timeout; then rm.
pub fn graceful_stop(e: &impl Engine, name: &str, id: &str) {
    let started = Instant::now();
    ok(e.cli(&["stop", "-t", "30", name]), "stop");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stop waited for the timeout"
    );
    assert_eq!(
        e.inspect("{{.State.Status}} {{.State.ExitCode}}", name),
        "exited 4"
    );
    let logs = e.cli(&["logs", name]);
    assert!(
        text(&logs.stdout).contains("got TERM"),
        "{}",
        describe(&logs)
    );
    e.remove(name, id);
}

/// `--cap-drop all` (podman's seccomp profile then has conditional `socket` rules with two
/// actions, EINVAL for NETLINK_AUDIT and allow otherwise, which hull used to refuse), and
/// `--cap-add` on top of it.
pub fn cap_drop_all(e: &impl Engine) {
    let out = ok(
        e.run(
            &["--cap-drop", "all"],
            &[
                "sh",
                "-c",
                "grep CapEff /proc/self/status; chroot / true 2>/dev/null || echo no-chroot",
            ],
        ),
        "--cap-drop all",
    );
    assert_eq!(out, "CapEff:\t0000000000000000\nno-chroot\n");
    let out = ok(
        e.run(
            &["--cap-drop", "all", "--cap-add", "net_admin"],
            &["sh", "-c", "ip link set lo up && echo up"],
        ),
        "--cap-add net_admin",
    );
    assert_eq!(out, "up\n");
}
