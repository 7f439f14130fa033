//! hull under real engines: podman 4 (through conmon, `--log-format json`, its own seccomp
//! profile and cgroupfs manager), containerd 1.6 (`ctr`, containerd-shim-runc-v2 with
//! `--runc-binary`) and Docker 20.10 (dockerd, through containerd and the same shim). Each test
//! builds its own world under a temp dir and tears it down:
//!
//! - podman: `--root`, `--runroot`, `--tmpdir`, `--network-config-dir` and a containers.conf
//!   (`CONTAINERS_CONF`) that names hull as runtime `hull` (so podman passes the JSON log flags
//!   it passes runc) through a two-line wrapper adding `--root <temp>/hull` (podman passes no
//!   runtime root, and its cleanup process drops `--runtime-flag`); the image is imported from
//!   the test rootfs; a unique `--cgroup-parent`. The host's hard NPROC limit is below podman's
//!   default of 1048576 and root here lacks CAP_SYS_RESOURCE (runc fails the same way), so
//!   containers.conf sets `nofile` and `nproc` limits.
//! - containerd: a daemon of its own (root, state, sockets, opt dir under the temp dir, CRI off),
//!   stopped by its PID; a unique namespace; `--runc-binary` hull with `--runc-root` in the temp
//!   dir; the rootfs by `--rootfs` or as an OCI image built from it and imported.
//! - docker: dockerd 20.10 with `--data-root`, `--exec-root`, `--pidfile`, socket and
//!   `--config-file` in the temp dir, on a containerd of its own as above (dockerd's managed
//!   containerd would create /opt/containerd), hull as `--default-runtime` (the shim runs it
//!   with `--root <exec-root>/runtime-runc/<namespace>` and the JSON log flags), no bridge or
//!   iptables, cgroupfs under a unique `--cgroup-parent`; the image imported from a tar of the
//!   test rootfs. dockerd also writes /etc/docker/key.json and /run/docker/plugins whatever its
//!   flags: docker tests run one at a time and remove those if they created them.
//!
//! After every container: no state dir, no cgroup named after it, no mount or live process
//! mentioning it. What the engines make at fixed host paths whatever their flags (shim sockets
//! in /run/containerd, podman's cache in /var/lib/containers and /run/containers) is removed
//! when the last engine world of the test process goes, unless it existed before the first.
//! A missing engine skips the test with a reason, or fails it when CI=true.
//!
//! One file per world (podman.rs, containerd.rs, docker.rs; world.rs for what they share);
//! podman's CLI is docker's, so their scenarios are written once, in engine.rs, and their tests
//! here call them with an engine.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

#[path = "../common/mod.rs"]
mod common;
mod containerd;
mod docker;
mod engine;
mod package;
mod podman;
mod podman_rootless;
mod world;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{hull_bin, rootfs, text};
use containerd::{oci_image_tar, Containerd};
use docker::Docker;
use engine::*;
use podman::Podman;
use podman_rootless::RootlessPodman;
use world::{code, describe, ok, on_path, unique, IMAGE};

/// Skip (outside CI) or fail (in CI) when one of the programs is not installed.
macro_rules! require_programs {
    ($($bin:expr),+) => {
        for bin in [$($bin),+] {
            require!(
                on_path(bin),
                "{bin} is not installed (apt-get install podman containerd docker.io, or make deps)"
            );
        }
    };
}

// ---------------------------------------------------------------------------------------------
// podman

/// Foreground runs: output, the process's exit code, and podman's codes for a missing (127)
/// and a non-executable (126) command; hull's error reaches podman through the JSON log.
#[test]
fn podman_run_output_and_exit_codes() {
    require_root!();
    require_programs!("podman", "conmon");
    run_output_and_exit_codes(&Podman::new());
}

/// env, hostname, user, workdir, a read-only rootfs, a tmpfs and a read-only volume.
#[test]
fn podman_process_settings() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    process_settings(&p);
    // podman marks every --tmpfs `tmpcopyup`: the image's /bin is copied into it.
    let o = p.run(
        &["--tmpfs", "/bin:exec"],
        &[
            "/bin/sh",
            "-c",
            "/bin/true && mount | grep -c ' /bin type tmpfs'",
        ],
    );
    assert_eq!(ok(o, "--tmpfs /bin"), "1\n");
}

/// `--memory 64m` is the limit of the container's memory cgroup, seen inside (cgroup
/// namespace) and on the host; `--pids-limit` likewise.
#[test]
fn podman_resource_limits() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    limits_seen_inside(&p);
    let name = unique("mem");
    let id = p.run_detached(&name, &["--memory", "64m"], &["sleep", "1000"]);
    memory_limit_and_update(&p, &name, &id, &["--memory", "128m"]);
    p.remove(&name, &id);
}

/// A detached container: exec (output, exit codes, env/user/workdir), top, stop, rm, and
/// nothing left behind.
#[test]
fn podman_detached_exec_stop() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    let name = unique("det");
    let id = run_sleeper(&p, &name, &[]);
    // hull runs it, and `hull state` agrees with podman.
    let o = Command::new(hull_bin())
        .arg("--root")
        .arg(p.hull_root())
        .args(["state", &id])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_str(&ok(o, "hull state")).unwrap();
    assert_eq!(state["status"], "running");
    let pid = ok(
        p.cli(&["inspect", "--format", "{{.State.Pid}}", &name]),
        "inspect pid",
    );
    assert_eq!(state["pid"].to_string(), pid.trim());
    exec_into(&p, &name);
    stop_after_the_timeout(&p, &name);
    p.remove(&name, &id);
}

/// pause/unpause (the freezer), kill with a signal the process traps, and the exit code.
#[test]
fn podman_pause_unpause_kill() {
    require_root!();
    require_programs!("podman", "conmon");
    pause_unpause_kill(&Podman::new());
}

/// Terminals: `run -t` (conmon takes the pty master over hull's --console-socket; output comes
/// back through it with the pty's CRLF) and `exec -t` into a detached container; then a graceful
/// stop: a process that traps SIGTERM exits with its own code, long before the timeout.
#[test]
fn podman_tty_and_graceful_stop() {
    require_root!();
    require_programs!("podman", "conmon");
    let p = Podman::new();
    run_with_a_terminal(&p);
    let name = unique("tty");
    let id = run_trapping_term(&p, &name);
    exec_with_a_terminal(&p, &name, "tty; echo $TERM", "\r\nxterm\r\n");
    graceful_stop(&p, &name, &id);
}

/// `--cap-drop all`: podman's seccomp profile then has conditional `socket` rules with two
/// actions (EINVAL for NETLINK_AUDIT, allow otherwise), which hull used to refuse.
#[test]
fn podman_cap_drop_all() {
    require_root!();
    require_programs!("podman", "conmon");
    cap_drop_all(&Podman::new());
}

// ---------------------------------------------------------------------------------------------
// the Debian package (package.rs)

/// `make deb`'s package installed with dpkg: /usr/bin/hull runs a container, podman drives it,
/// its man pages are found by man; `dpkg -P` then leaves none of its files and no package.
#[test]
fn deb_package_installs_runs_under_podman_and_purges_clean() {
    require_root!();
    require_programs!("podman", "conmon", "dpkg", "dpkg-deb", "make");
    require!(
        !Path::new("/usr/bin/hull").exists() && !package::installed("hull"),
        "hull is installed on this host already (/usr/bin/hull or the package): not touching it"
    );
    let dir = world::fresh_dir("hull-deb");
    let deb = package::build(&dir);
    let pkg = package::Installed::install(&deb);
    let hull = Path::new("/usr/bin/hull");
    assert!(pkg.files.contains(&hull.to_path_buf()), "{:?}", pkg.files);
    // A container straight from the installed binary.
    let env = common::Env::new();
    let b = env.bundle(&["echo", "from the package"]);
    let id = env.id("deb");
    let o = Command::new(hull)
        .arg("--root")
        .arg(&env.root)
        .args(["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .output()
        .unwrap();
    assert_eq!(ok(o, "/usr/bin/hull run"), "from the package\n");
    // Through an engine.
    {
        let p = Podman::with_runtime(hull);
        assert_eq!(ok(p.run(&[], &["echo", "hi"]), "podman run"), "hi\n");
    }
    if on_path("man") {
        let o = Command::new("man")
            .args(["-w", "hull-check"])
            .output()
            .unwrap();
        assert_eq!(
            text(&o.stdout).trim(),
            "/usr/share/man/man8/hull-check.8.gz",
            "{}",
            text(&o.stderr)
        );
    }
    package::Installed::purge().unwrap();
    let left: Vec<_> = pkg.files.iter().filter(|f| f.exists()).collect();
    assert!(left.is_empty(), "left by dpkg -P: {left:?}");
    assert!(!package::installed("hull"));
    drop(pkg);
    world::remove_tree(&dir);
}

// ---------------------------------------------------------------------------------------------
// rootless podman (podman_rootless.rs): podman run by a real user, hull inside podman's user
// namespace

/// Foreground runs as the user: output, exit codes, podman's 127 and 126; the container's ids
/// are the user's own id as 0 and its subordinate range above it (podman's namespace, made by
/// newuidmap), and its device nodes are the host's, bound (no mknod in a user namespace).
#[test]
fn rootless_podman_run_output_and_exit_codes() {
    require_programs!("podman", "conmon");
    let user = rootless_user!();
    let p = RootlessPodman::new(user);
    run_output_and_exit_codes(&p);
    let out = ok(
        p.run(
            &[],
            &[
                "sh",
                "-c",
                "id -u; cat /proc/self/uid_map /proc/self/gid_map; stat -c '%F %t,%T' /dev/null; echo x >/dev/null && echo written",
            ],
        ),
        "ids and /dev/null",
    );
    let (u, g) = (user.uid, user.gid);
    let (su, sc) = user.subuid;
    let (sg, gc) = user.subgid;
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = out.lines().map(squeeze).collect();
    assert_eq!(
        lines,
        [
            "0".to_string(),
            format!("0 {u} 1"),
            format!("1 {su} {sc}"),
            format!("0 {g} 1"),
            format!("1 {sg} {gc}"),
            "character special file 1,3".to_string(),
            "written".to_string(),
        ],
        "{out}"
    );
}

/// A detached container as the user: hull's state (read by the user's own hull) agrees with
/// podman; exec with output, exit codes, env, user and workdir; top; stop falling back to
/// SIGKILL; rm leaves nothing.
#[test]
fn rootless_podman_detached_exec_stop() {
    require_programs!("podman", "conmon");
    let user = rootless_user!();
    let p = RootlessPodman::new(user);
    let name = unique("rdet");
    let id = run_sleeper(&p, &name, &[]);
    let o = user
        .cmd(hull_bin())
        .arg("--root")
        .arg(p.hull_root())
        .args(["state", &id])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_str(&ok(o, "hull state")).unwrap();
    assert_eq!(state["status"], "running");
    // Made by hull as root of podman's namespace, which is the user: private to the user.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(p.hull_root()).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o700, "{}", p.hull_root().display());
    let pid = p.inspect("{{.State.Pid}}", &name);
    assert_eq!(state["pid"].to_string(), pid);
    // The container's init runs as the user on the host (podman's namespace maps 0 to it).
    let pid: i32 = pid.parse().unwrap();
    assert!(user.owns(pid), "pid {pid} does not run as {}", user.name);
    exec_into(&p, &name);
    stop_after_the_timeout(&p, &name);
    p.remove(&name, &id);
}

/// Terminals as the user (`run -t`, `exec -t`: conmon takes the pty master over hull's
/// --console-socket), then a graceful stop: the process traps SIGTERM and exits with its code.
#[test]
fn rootless_podman_tty_and_graceful_stop() {
    require_programs!("podman", "conmon");
    let user = rootless_user!();
    let p = RootlessPodman::new(user);
    run_with_a_terminal(&p);
    let name = unique("rtty");
    let id = run_trapping_term(&p, &name);
    exec_with_a_terminal(&p, &name, "tty; echo $TERM", "\r\nxterm\r\n");
    graceful_stop(&p, &name, &id);
}

/// A bind volume's ownership on the host: a file made by the container's root belongs to the
/// user, one chowned to container uid 5 to the user's subordinate uid 5 - 1 + start; with
/// `--userns=keep-id` (a user namespace in the config, inside podman's) the process runs as the
/// user's own uid and gid, and what it makes belongs to the user.
#[test]
fn rootless_podman_keep_id_and_volume_ownership() {
    require_programs!("podman", "conmon");
    let user = rootless_user!();
    let p = RootlessPodman::new(user);
    let vol = p.volume("vol");
    let bind = format!("{}:/vol", vol.display());
    ok(
        p.run(
            &["-v", &bind],
            &[
                "sh",
                "-c",
                "touch /vol/root /vol/five && chown 5:6 /vol/five",
            ],
        ),
        "files in a volume",
    );
    let me = (user.uid, user.gid);
    assert_eq!(RootlessPodman::host_owner(&vol.join("root")), me);
    assert_eq!(
        RootlessPodman::host_owner(&vol.join("five")),
        (user.subuid.0 + 4, user.subgid.0 + 5)
    );
    let out = ok(
        p.run(
            &["--userns=keep-id", "-v", &bind],
            &["sh", "-c", "id -u; id -g; touch /vol/kept"],
        ),
        "--userns=keep-id",
    );
    assert_eq!(out, format!("{}\n{}\n", user.uid, user.gid));
    assert_eq!(RootlessPodman::host_owner(&vol.join("kept")), me);
    // A file the user's ids do not own cannot be written, whatever the container's root says.
    let o = p.run(
        &["-v", &bind, "--user", "7"],
        &["sh", "-c", "echo x >/vol/root"],
    );
    assert_ne!(code(&o), 0, "{}", describe(&o));
}

// ---------------------------------------------------------------------------------------------
// containerd

/// `ctr run --rm --rootfs`: output, exit code, env/cwd, a read-only rootfs, the default
/// seccomp profile, and a missing command named in ctr's error.
#[test]
fn containerd_run_rootfs() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2");
    let c = Containerd::start();
    let id = unique("r");
    assert_eq!(
        ok(c.rootfs_run(&[], &id, &["echo", "hi"]), "echo hi"),
        "hi\n"
    );
    c.assert_gone(&id);
    let o = c.rootfs_run(&[], &id, &["sh", "-c", "exit 7"]);
    assert_eq!(code(&o), 7, "{}", describe(&o));
    let out = ok(
        c.rootfs_run(
            &["--env", "FOO=bar", "--cwd", "/tmp", "--read-only", "--seccomp"],
            &id,
            &[
                "sh",
                "-c",
                "echo $FOO $(pwd); touch /x 2>/dev/null || echo ro; grep Seccomp: /proc/self/status",
            ],
        ),
        "settings",
    );
    assert_eq!(out, "bar /tmp\nro\nSeccomp:\t2\n");
    let o = c.rootfs_run(&[], &id, &["/nonexistent"]);
    assert_ne!(code(&o), 0);
    assert!(text(&o.stderr).contains("/nonexistent"), "{}", describe(&o));
    c.assert_gone(&id);
}

/// A detached task: its memory limit in the cgroup, exec with exit codes, ps, pause/resume,
/// kill, delete, and nothing left behind.
#[test]
fn containerd_detached_task() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2");
    let c = Containerd::start();
    let id = unique("d");
    let r = rootfs();
    ok(
        c.run(
            &["-d", "--memory-limit", "67108864"],
            &["--rootfs", r.to_str().unwrap()],
            &id,
            &["sleep", "1000"],
        ),
        "run -d",
    );
    assert_eq!(c.task_status(&id), "RUNNING");
    assert!(
        c.hull_root().join(&c.ns).join(&id).is_dir(),
        "no hull state for {id}"
    );
    let v1 = Path::new("/sys/fs/cgroup/memory").join(&c.ns).join(&id);
    let limit = fs::read_to_string(v1.join("memory.limit_in_bytes")).or_else(|_| {
        fs::read_to_string(
            Path::new("/sys/fs/cgroup")
                .join(&c.ns)
                .join(&id)
                .join("memory.max"),
        )
    });
    assert_eq!(limit.unwrap().trim(), "67108864");
    let o = c.exec("e1", &id, &["sh", "-c", "echo in; exit 3"]);
    assert_eq!((code(&o), text(&o.stdout)), (3, "in\n".to_string()));
    let o = c.exec("e2", &id, &["/nope"]);
    assert_ne!(code(&o), 0);
    assert!(text(&o.stderr).contains("/nope"), "{}", describe(&o));
    let ps = ok(c.ctr(&["tasks", "ps", &id]), "tasks ps");
    assert_eq!(ps.lines().count(), 2, "{ps}");
    ok(c.ctr(&["tasks", "pause", &id]), "pause");
    assert_eq!(c.task_status(&id), "PAUSED");
    ok(c.ctr(&["tasks", "resume", &id]), "resume");
    assert_eq!(c.task_status(&id), "RUNNING");
    ok(c.ctr(&["tasks", "kill", "-s", "SIGKILL", &id]), "kill");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.task_status(&id) != "STOPPED" {
        assert!(Instant::now() < deadline, "{id} did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    ok(c.ctr(&["tasks", "delete", &id]), "tasks delete");
    ok(c.ctr(&["containers", "delete", &id]), "containers delete");
    c.assert_gone(&id);
}

/// Terminals (`run -t` and `tasks exec -t`: the shim takes the pty master over hull's
/// --console-socket), capabilities (`--cap-drop`), exec `--user`, a signal the task traps and
/// its exit code, and a graceful stop (SIGTERM, the task's own exit code).
#[test]
fn containerd_tty_caps_user_signals() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2", "script");
    let c = Containerd::start();
    let hull = hull_bin();
    let (root, fifos, r) = (c.hull_root(), c.fifo_dir(), rootfs());
    let id = unique("t");
    let o = c.ctr_in_pty(&[
        "run",
        "-t",
        "--rm",
        "--fifo-dir",
        fifos.to_str().unwrap(),
        "--runc-binary",
        hull.to_str().unwrap(),
        "--runc-root",
        root.to_str().unwrap(),
        "--rootfs",
        r.to_str().unwrap(),
        &id,
        "sh",
        "-c",
        "tty; test -t 0 && test -t 1 && echo both",
    ]);
    // The container's pty turns \n into \r\n; script's own pty may do it again (ctr leaves its
    // console cooked), and script echoes the end of its empty stdin (^@) somewhere.
    let out = ok(o, "run -t").replace("\r\r\n", "\r\n").replace("^@", "");
    assert!(out.ends_with("/dev/pts/0\r\nboth\r\n"), "{out:?}");
    c.assert_gone(&id);
    let out = ok(
        c.rootfs_run(
            &["--cap-drop", "CAP_SYS_CHROOT", "--cap-drop", "CAP_NET_RAW"],
            &id,
            &[
                "sh",
                "-c",
                "chroot / true 2>/dev/null || echo no-chroot; grep CapBnd /proc/self/status",
            ],
        ),
        "--cap-drop",
    );
    let bnd = out
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap();
    let bnd = u64::from_str_radix(bnd, 16).unwrap();
    assert!(out.starts_with("no-chroot\n"), "{out}");
    assert_eq!(
        bnd & (1 << 18 | 1 << 13),
        0,
        "CAP_SYS_CHROOT, CAP_NET_RAW left: {out}"
    );
    assert_ne!(bnd & (1 << 0), 0, "CAP_CHOWN dropped too: {out}");

    ok(
        c.run(
            &["-d"],
            &["--rootfs", r.to_str().unwrap()],
            &id,
            &[
                "sh",
                "-c",
                "trap 'exit 3' USR1; trap 'exit 4' TERM; while :; do sleep 0.1; done",
            ],
        ),
        "run -d",
    );
    let o = c.ctr_in_pty(&[
        "tasks",
        "exec",
        "-t",
        "--fifo-dir",
        fifos.to_str().unwrap(),
        "--exec-id",
        "t1",
        &id,
        "sh",
        "-c",
        "tty; test -t 1 && echo yes; sleep 1",
    ]);
    // (The sleep: ctr resizes the pty after the start, and an exec gone by then makes the shim
    // log "cannot resize a stopped container", with runc as with hull.)
    let out = ok(o, "exec -t").replace("\r\r\n", "\r\n").replace("^@", "");
    assert!(
        out.contains("/dev/pts/") && out.ends_with("\r\nyes\r\n"),
        "{out:?}"
    );
    let o = c.ctr(&[
        "tasks",
        "exec",
        "--fifo-dir",
        fifos.to_str().unwrap(),
        "--exec-id",
        "u1",
        "--user",
        "1000",
        &id,
        "id",
        "-u",
    ]);
    assert_eq!(ok(o, "exec --user"), "1000\n");
    ok(
        c.ctr(&["tasks", "kill", "-s", "SIGUSR1", &id]),
        "kill -s SIGUSR1",
    );
    assert_eq!(c.wait_exit(&id), 3);
    ok(c.ctr(&["containers", "delete", &id]), "containers delete");
    c.assert_gone(&id);

    // Graceful stop: `tasks kill` sends SIGTERM by default.
    ok(
        c.run(
            &["-d"],
            &["--rootfs", r.to_str().unwrap()],
            &id,
            &[
                "sh",
                "-c",
                "trap 'exit 4' TERM; while :; do sleep 0.1; done",
            ],
        ),
        "run -d",
    );
    std::thread::sleep(Duration::from_millis(300));
    ok(c.ctr(&["tasks", "kill", &id]), "kill");
    assert_eq!(c.wait_exit(&id), 4);
    ok(c.ctr(&["containers", "delete", &id]), "containers delete");
    c.assert_gone(&id);
}

/// An OCI image imported into containerd and run from its overlay snapshot.
#[test]
fn containerd_image() {
    require_root!();
    require_programs!("containerd", "ctr", "containerd-shim-runc-v2", "sha256sum");
    let c = Containerd::start();
    let tar = oci_image_tar(&c.dir);
    ok(
        c.ctr(&["images", "import", tar.to_str().unwrap()]),
        "images import",
    );
    let id = unique("i");
    let out = ok(
        c.run(
            &["--rm"],
            &[IMAGE],
            &id,
            &[
                "sh",
                "-c",
                "echo $PATH; grep -c '^overlay / overlay' /proc/mounts",
            ],
        ),
        "run image",
    );
    assert_eq!(out, "/bin\n1\n");
    c.assert_gone(&id);
    ok(c.ctr(&["images", "rm", IMAGE]), "images rm");
}

// ---------------------------------------------------------------------------------------------
// docker

/// Foreground runs: output, the process's exit code, and docker's 127 for a missing command,
/// with hull's error (through the JSON log) in docker's message; 126 for a non-executable one.
#[test]
fn docker_run_output_and_exit_codes() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    run_output_and_exit_codes(&Docker::start());
}

/// env, hostname, user, workdir, a tmpfs, a read-only volume, a read-only rootfs, and
/// `--memory` (and `--pids-limit`) seen in the container's cgroups (cgroup namespace).
#[test]
fn docker_process_settings() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    process_settings(&dk);
    limits_seen_inside(&dk);
}

/// A detached container: its memory cgroup and `docker update`, exec (output, exit codes,
/// settings), top, stop after the timeout (SIGKILL), rm, and nothing left behind; then a
/// graceful stop of a process that traps SIGTERM.
#[test]
fn docker_detached_exec_update_stop() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    let name = unique("det");
    let id = run_sleeper(&dk, &name, &["--memory", "64m"]);
    // (docker update refuses a memory limit not below the memory+swap limit, twice 64m here,
    // unless --memory-swap moves too.)
    let update = ["--memory", "128m", "--memory-swap", "256m"];
    memory_limit_and_update(&dk, &name, &id, &update);
    exec_into(&dk, &name);
    stop_after_the_timeout(&dk, &name);
    dk.remove(&name, &id);

    let name = unique("term");
    let id = run_trapping_term(&dk, &name);
    graceful_stop(&dk, &name, &id);
}

/// Terminals (`run -t`: the shim takes the pty master over hull's --console-socket; `exec -t`)
/// and capabilities (`--cap-drop all`, `--cap-add`) as the process sees them.
#[test]
fn docker_tty_and_caps() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    let dk = Docker::start();
    run_with_a_terminal(&dk);
    cap_drop_all(&dk);
    let name = unique("tty");
    let id = dk.run_detached(&name, &[], &["sleep", "1000"]);
    exec_with_a_terminal(&dk, &name, "tty; test -t 1 && echo yes", "\r\nyes\r\n");
    ok(dk.cli(&["kill", &name]), "kill");
    ok(dk.cli(&["wait", &name]), "wait");
    dk.remove(&name, &id);
}

/// pause/unpause (the freezer), kill with a signal the process traps, and the exit code.
#[test]
fn docker_pause_unpause_kill() {
    require_root!();
    require_programs!("dockerd", "docker", "containerd", "containerd-shim-runc-v2");
    pause_unpause_kill(&Docker::start());
}
