//! Terminals (`process.terminal`), runc's way: `create --console-socket` sends the master of a
//! pty made inside the container (payload plus exactly one SCM_RIGHTS fd); the slave is the
//! process's stdio, controlling terminal and /dev/console, sized by `process.consoleSize`.
//! Foreground `run` relays between its own terminal (here a pty the test made) and the master.
//! runc's flag rules: a detached terminal needs a console socket, a console socket needs a
//! detached terminal. `exec --tty` (or a `--process` file with `terminal: true`, never the
//! config's own) does the same from the new process: master to `--console-socket` with
//! `--detach`, relayed by hull in the foreground; the same flag rules apply.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl on an fd we hold.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// Read `fd` (non-blocking) into `acc` until it contains `want`, EIO/EOF, or 10 s pass.
fn read_until(fd: RawFd, acc: &mut String, want: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !acc.contains(want) && Instant::now() < deadline {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd we own.
        unsafe { libc::poll(&mut p, 1, 100) };
        let mut buf = [0u8; 4096];
        // SAFETY: read into a buffer we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            acc.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
        } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN) {
            break;
        }
    }
    acc.contains(want)
}

fn write_all(fd: RawFd, data: &[u8]) {
    // SAFETY: write from a live buffer.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    assert_eq!(n, data.len() as isize, "write to pty");
}

fn terminal_bundle(env: &Env, script: &str) -> Bundle {
    let mut b = env.bundle(&["sh", "-c", script]);
    b.edit(|c| {
        c["process"]["terminal"] = true.into();
        c["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 101});
    });
    b
}

/// The shell's view of its terminal: tty name, size, tty_nr of /proc/self/stat, whether
/// /dev/console is the same device, then one line of input echoed back.
const SCRIPT: &str = "tty; stty size; \
    read pid comm state ppid pgrp session tty_nr rest < /proc/self/stat; \
    echo tty_nr=$tty_nr session=$session pid=$pid; \
    echo console=$(stat -L -c %t:%T /dev/console) self=$(stat -L -c %t:%T $(tty)); \
    mount | grep -q ' /dev/console ' && echo console-mounted; \
    echo ready; read line; echo got:$line; exit 7";

#[test]
fn create_with_console_socket_sends_the_master() {
    require_root!();
    let env = Env::new();
    let b = terminal_bundle(&env, SCRIPT);
    let id = env.id("tty");
    let sock_path = env.dir.join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let pid_file = env.dir.join("pid");
    // The connection waits in the backlog: create can finish before we accept.
    let o = env
        .cmd(&[
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            "--console-socket",
            sock_path.to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "create: {}", text(&o.stderr));
    assert_eq!(env.status(&id), "created");
    assert!(std::fs::read_to_string(&pid_file)
        .unwrap()
        .parse::<i32>()
        .is_ok());

    let (conn, _) = listener.accept().unwrap();
    let (payload, mut fds) = recv_fds(conn.as_raw_fd());
    assert_eq!(fds.len(), 1, "exactly one fd with the console message");
    assert_eq!(
        text(&payload),
        "/dev/pts/ptmx",
        "payload: the master's path"
    );
    let master = fds.pop().unwrap();
    // Nothing else comes: hull and init closed their copies of the connection.
    let (rest, more) = recv_fds(conn.as_raw_fd());
    assert!(rest.is_empty() && more.is_empty(), "a second message");
    // The master is a pty master.
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN into an int we own.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN as _, &mut n) };
    assert_eq!(r, 0, "not a pty master");
    set_nonblocking(master.as_raw_fd());

    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    let mut out = String::new();
    assert!(
        read_until(master.as_raw_fd(), &mut out, "ready"),
        "no output on the master: {out:?}"
    );
    assert!(out.contains("/dev/pts/0\r\n"), "tty: {out:?}");
    assert!(
        out.contains("33 101\r\n"),
        "stty size != consoleSize: {out:?}"
    );
    // tty_nr is the controlling terminal: major 136 (pts), minor 0.
    assert!(
        out.contains(&format!("tty_nr={} ", 136 << 8)),
        "no controlling terminal: {out:?}"
    );
    assert!(
        out.contains("session=1 pid=1"),
        "pid 1 leads its session: {out:?}"
    );
    assert!(
        out.contains("console=88:0 self=88:0"),
        "/dev/console: {out:?}"
    );
    assert!(
        out.contains("console-mounted"),
        "/dev/console mount: {out:?}"
    );

    write_all(master.as_raw_fd(), b"hello\n");
    assert!(
        read_until(master.as_raw_fd(), &mut out, "got:hello\r\n"),
        "input did not reach the process: {out:?}"
    );
    env.wait_status(&id, "stopped");
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn run_detached_with_console_socket() {
    require_root!();
    let env = Env::new();
    let b = terminal_bundle(&env, "echo detached-$(tty); sleep 100");
    let id = env.id("ttyd");
    let sock_path = env.dir.join("d.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let o = env
        .cmd(&[
            "run",
            "-d",
            "--bundle",
            b.dir.to_str().unwrap(),
            "--console-socket",
            sock_path.to_str().unwrap(),
            &id,
        ])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "run -d: {}", text(&o.stderr));
    let (conn, _) = listener.accept().unwrap();
    let (payload, mut fds) = recv_fds(conn.as_raw_fd());
    assert!(!payload.is_empty());
    assert_eq!(fds.len(), 1);
    let master = fds.pop().unwrap();
    set_nonblocking(master.as_raw_fd());
    let mut out = String::new();
    assert!(
        read_until(master.as_raw_fd(), &mut out, "detached-/dev/pts/0"),
        "{out:?}"
    );
    assert_eq!(env.status(&id), "running");
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    // The slave is gone with the container: the master reads EIO.
    let mut rest = String::new();
    read_until(master.as_raw_fd(), &mut rest, "\u{0}never");
    assert_no_leftovers(&env, &id);
}

/// (code, stderr) of a hull command expected to fail; asserts nothing was left behind.
fn fails(env: &Env, id: &str, args: &[&str]) -> String {
    let o = env.hull(args);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o.stderr));
    assert_no_leftovers(env, id);
    assert!(
        std::fs::read_dir(&env.root).map_or(true, |mut d| d.next().is_none()),
        "something left under --root"
    );
    text(&o.stderr)
}

#[test]
fn terminal_without_console_socket_is_refused_when_detached() {
    require_root!();
    let env = Env::new();
    let b = terminal_bundle(&env, "true");
    let bundle = b.dir.to_str().unwrap().to_string();
    for cmd in [&["create"][..], &["run", "-d"][..]] {
        let id = env.id("nosock");
        let mut args = cmd.to_vec();
        args.extend(["--bundle", &bundle, &id]);
        let err = fails(&env, &id, &args);
        assert!(
            err.contains("process.terminal")
                && err.contains(
                    "cannot allocate tty if hull will detach without setting console socket"
                ),
            "{cmd:?}: {err}"
        );
    }
}

#[test]
fn console_socket_without_detached_terminal_is_refused() {
    require_root!();
    let env = Env::new();
    let sock_path = env.dir.join("unused.sock");
    let _listener = UnixListener::bind(&sock_path).unwrap();
    let sock = sock_path.to_str().unwrap().to_string();
    // terminal false: create and run -d refuse the socket.
    let b = env.bundle(&["true"]);
    let bundle = b.dir.to_str().unwrap().to_string();
    for cmd in [&["create"][..], &["run", "-d"][..]] {
        let id = env.id("sockonly");
        let mut args = cmd.to_vec();
        args.extend(["--bundle", &bundle, "--console-socket", &sock, &id]);
        let err = fails(&env, &id, &args);
        assert!(
            err.contains("--console-socket")
                && err
                    .contains("cannot use console socket if hull will not detach or allocate tty"),
            "{cmd:?}: {err}"
        );
    }
    // terminal true but foreground run: hull relays itself, so no socket either.
    let tb = terminal_bundle(&env, "true");
    let id = env.id("fgsock");
    let err = fails(
        &env,
        &id,
        &[
            "run",
            "--bundle",
            tb.dir.to_str().unwrap(),
            "--console-socket",
            &sock,
            &id,
        ],
    );
    assert!(err.contains("cannot use console socket"), "{err}");
}

#[test]
fn terminal_without_devpts_fails_clearly() {
    require_root!();
    let env = Env::new();
    let mut b = terminal_bundle(&env, "true");
    b.edit(|c| {
        let m = c["mounts"].as_array_mut().unwrap();
        m.retain(|m| m["destination"] != "/dev/pts");
    });
    let sock_path = env.dir.join("nopts.sock");
    let _listener = UnixListener::bind(&sock_path).unwrap();
    let id = env.id("nopts");
    let err = fails(
        &env,
        &id,
        &[
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            "--console-socket",
            sock_path.to_str().unwrap(),
            &id,
        ],
    );
    assert!(
        err.contains("/dev/pts/ptmx") && err.contains("devpts"),
        "{err}"
    );
}

fn openpty(rows: u16, cols: u16) -> (OwnedFd, OwnedFd) {
    let (mut m, mut s) = (0, 0);
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds; NULL name and termios are allowed.
    let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: two fresh fds owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) }
}

fn lflag(fd: RawFd) -> libc::tcflag_t {
    // SAFETY: tcgetattr into a zeroed termios we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(fd, &mut t), 0);
        t.c_lflag
    }
}

#[test]
fn foreground_run_relays_a_terminal() {
    require_root!();
    let env = Env::new();
    let b = terminal_bundle(
        &env,
        "tty; stty size; stty -a | grep -q -- -onlcr && echo onlcr-off; echo ready; \
         read line; echo got:$line; stty size; exit 3",
    );
    let id = env.id("ttyfg");
    let (master, slave) = openpty(40, 120);
    assert!(lflag(slave.as_raw_fd()) & libc::ICANON != 0);
    let err_path = env.dir.join("fg.err");
    let mut child = env
        .cmd(&["run", "--bundle", b.dir.to_str().unwrap(), &id])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    set_nonblocking(master.as_raw_fd());
    let mut out = String::new();
    let ok = read_until(master.as_raw_fd(), &mut out, "ready\r\n");
    if !ok {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "no output: {out:?}; stderr: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
    }
    assert!(out.contains("/dev/pts/0\r\n"), "{out:?}");
    // The container's pty took hull's terminal size (over consoleSize), as runc does.
    assert!(out.contains("40 120\r\n"), "{out:?}");
    // runc's relay: the container's pty does not add '\r'; hull's terminal (OPOST kept) does.
    assert!(out.contains("onlcr-off\r\n"), "{out:?}");
    // hull's terminal is raw while it relays.
    assert_eq!(lflag(slave.as_raw_fd()) & (libc::ICANON | libc::ECHO), 0);

    // A resize of hull's terminal reaches the container on SIGWINCH.
    let ws = libc::winsize {
        ws_row: 50,
        ws_col: 140,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ with a winsize we own; kill of our own child.
    unsafe {
        assert_eq!(
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ as _, &ws),
            0
        );
        libc::kill(child.id() as i32, libc::SIGWINCH);
    }
    // Raw mode: the Enter key is '\r'; the container's pty (ICRNL) makes it a newline.
    write_all(master.as_raw_fd(), b"hi there\r");
    assert!(
        read_until(master.as_raw_fd(), &mut out, "got:hi there\r\n"),
        "{out:?}"
    );
    assert!(
        read_until(master.as_raw_fd(), &mut out, "50 140\r\n"),
        "{out:?}"
    );
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "stderr: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    // The terminal is restored.
    assert!(
        lflag(slave.as_raw_fd()) & libc::ICANON != 0,
        "terminal left raw"
    );
    assert_no_leftovers(&env, &id);
}

#[test]
fn foreground_run_without_any_terminal_fails_and_leaves_nothing() {
    require_root!();
    let env = Env::new();
    let b = terminal_bundle(&env, "true");
    let id = env.id("ttynone");
    // stdin is /dev/null, stdout/stderr pipes; setsid so /dev/tty cannot be opened either.
    let mut cmd = env.cmd(&["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    // SAFETY: setsid in the child before exec is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setsid();
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("/dev/tty"), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

// ---- exec --tty ---------------------------------------------------------------------------

/// Pids in the container's cgroups (every hierarchy).
fn container_pids(id: &str) -> std::collections::BTreeSet<i32> {
    cgroup_dirs_named(id)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| {
            s.split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Wait until init is the only process left in the container.
fn wait_only_init(id: &str, init: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = container_pids(id);
        if pids == std::collections::BTreeSet::from([init]) {
            return;
        }
        assert!(Instant::now() < deadline, "stray process in {id}: {pids:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Create and start a container running `sleep 1000` without a terminal; returns init's pid.
fn start_plain(env: &Env, id: &str) -> i32 {
    let b = env.bundle(&["sleep", "1000"]);
    env.create_ok(&b, id);
    let o = env.hull(&["start", id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    env.state(id)["pid"].as_i64().unwrap() as i32
}

/// The exec'd shell's view of its terminal: tty name, size, tty_nr and session of
/// /proc/self/stat, how many /dev/console mounts there are, then one line of input echoed back.
const EXEC_SCRIPT: &str = "tty; stty size; \
    read pid comm state ppid pgrp session tty_nr rest < /proc/self/stat; \
    echo tty_nr=$tty_nr session=$session pid=$pid; \
    echo console-mounts=$(grep -c ' /dev/console ' /proc/self/mountinfo); \
    echo ready; read line; echo got:$line; exit 7";

#[test]
fn exec_tty_detached_sends_the_master_to_the_console_socket() {
    require_root!();
    let env = Env::new();
    // The container itself has a terminal (pts 0, bound on /dev/console).
    let b = terminal_bundle(&env, "exec sleep 1000");
    let id = env.id("ttyexec");
    let init_sock = env.dir.join("init.sock");
    let init_listener = UnixListener::bind(&init_sock).unwrap();
    let o = env
        .cmd(&[
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            "--console-socket",
            init_sock.to_str().unwrap(),
            &id,
        ])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "create: {}", text(&o.stderr));
    let (conn, _) = init_listener.accept().unwrap();
    // Kept open: closing init's master would hang up its terminal.
    let (_, init_master) = recv_fds(conn.as_raw_fd());
    assert_eq!(init_master.len(), 1);
    let o = env.hull(&["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    let init = env.state(&id)["pid"].as_i64().unwrap() as i32;

    // The config's process.terminal does not count for exec (runc): no socket needed.
    let o = env.hull(&["exec", "-d", &id, "true"]);
    assert!(o.status.success(), "exec -d: {}", text(&o.stderr));

    let sock_path = env.dir.join("exec.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let o = env.hull(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        sock_path.to_str().unwrap(),
        &id,
        "sh",
        "-c",
        EXEC_SCRIPT,
    ]);
    // exec returned while the process waits for its input.
    assert!(o.status.success(), "exec -t -d: {}", text(&o.stderr));
    let (conn, _) = listener.accept().unwrap();
    let (payload, mut fds) = recv_fds(conn.as_raw_fd());
    assert_eq!(fds.len(), 1, "exactly one fd with the console message");
    assert_eq!(text(&payload), "/dev/pts/ptmx");
    let (rest, more) = recv_fds(conn.as_raw_fd());
    assert!(rest.is_empty() && more.is_empty(), "a second message");
    let master = fds.pop().unwrap();
    set_nonblocking(master.as_raw_fd());
    let mut out = String::new();
    assert!(
        read_until(master.as_raw_fd(), &mut out, "ready\r\n"),
        "no output on the master: {out:?}"
    );
    // The container's devpts: init holds pts 0, the exec'd process gets pts 1.
    assert!(out.contains("/dev/pts/1\r\n"), "tty: {out:?}");
    // The pty is the controlling terminal (136:1), and the process leads its own session.
    assert!(
        out.contains(&format!("tty_nr={} ", (136 << 8) | 1)),
        "no controlling terminal: {out:?}"
    );
    let line = out.lines().find(|l| l.starts_with("tty_nr=")).unwrap();
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        field("session="),
        field("pid="),
        "not a session leader: {out:?}"
    );
    // exec does not bind its pty over /dev/console: only init's mount is there.
    assert!(out.contains("console-mounts=1\r\n"), "{out:?}");

    write_all(master.as_raw_fd(), b"hello\n");
    assert!(
        read_until(master.as_raw_fd(), &mut out, "got:hello\r\n"),
        "input did not reach the process: {out:?}"
    );
    wait_only_init(&id, init);
    assert_eq!(env.status(&id), "running");
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn foreground_exec_tty_relays_and_passes_the_exit_code() {
    require_root!();
    let env = Env::new();
    let id = env.id("ttyexecfg");
    let init = start_plain(&env, &id);

    let (master, slave) = openpty(40, 120);
    let err_path = env.dir.join("fg.err");
    let mut child = env
        .cmd(&[
            "exec",
            "--tty",
            &id,
            "sh",
            "-c",
            "tty; stty size; stty -a | grep -q -- -onlcr && echo onlcr-off; echo ready; \
             read line; echo got:$line; exit 5",
        ])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    set_nonblocking(master.as_raw_fd());
    let mut out = String::new();
    if !read_until(master.as_raw_fd(), &mut out, "ready\r\n") {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "no output: {out:?}; stderr: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
    }
    assert!(out.contains("/dev/pts/0\r\n"), "{out:?}");
    assert!(out.contains("40 120\r\n"), "hull's terminal size: {out:?}");
    assert!(out.contains("onlcr-off\r\n"), "{out:?}");
    assert_eq!(lflag(slave.as_raw_fd()) & (libc::ICANON | libc::ECHO), 0);
    write_all(master.as_raw_fd(), b"over exec\r");
    assert!(
        read_until(master.as_raw_fd(), &mut out, "got:over exec\r\n"),
        "{out:?}"
    );
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(5),
        "stderr: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    assert!(
        lflag(slave.as_raw_fd()) & libc::ICANON != 0,
        "terminal left raw"
    );
    wait_only_init(&id, init);

    // A --process file's `terminal` asks for one too.
    let pf = env.dir.join("process.json");
    std::fs::write(
        &pf,
        r#"{"args": ["sh", "-c", "echo pf-$(tty); exit 4"], "cwd": "/", "terminal": true}"#,
    )
    .unwrap();
    let o = env
        .cmd(&["exec", "--process", pf.to_str().unwrap(), &id])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4), "stderr: {}", text(&o.stderr));
    let mut out = String::new();
    assert!(
        read_until(master.as_raw_fd(), &mut out, "pf-/dev/pts/0\r\n"),
        "{out:?}"
    );
    wait_only_init(&id, init);

    // Foreground without any terminal of hull's: refused, nothing runs.
    let mut cmd = env.cmd(&["exec", "-t", &id, "true"]);
    // SAFETY: setsid in the child before exec is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setsid();
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    // runc's exec failure: "exec failed: …", exit code 255.
    assert_eq!(o.status.code(), Some(255), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("exec failed: "),
        "{}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("/dev/tty"), "{}", text(&o.stderr));
    wait_only_init(&id, init);

    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn exec_terminal_flag_rules_are_runcs() {
    require_root!();
    let env = Env::new();
    let id = env.id("ttyexecflags");
    let init = start_plain(&env, &id);
    let sock_path = env.dir.join("flags.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let sock = sock_path.to_str().unwrap().to_string();
    let with_tty = env.dir.join("tty.json");
    std::fs::write(
        &with_tty,
        r#"{"args": ["true"], "cwd": "/", "terminal": true}"#,
    )
    .unwrap();
    let without_tty = env.dir.join("notty.json");
    std::fs::write(&without_tty, r#"{"args": ["true"], "cwd": "/"}"#).unwrap();
    let (pf_tty, pf_notty) = (
        with_tty.to_str().unwrap().to_string(),
        without_tty.to_str().unwrap().to_string(),
    );
    const NO_SOCKET: &str =
        "cannot allocate tty if hull will detach without setting console socket";
    const NO_SOCKET_USE: &str = "cannot use console socket if hull will not detach or allocate tty";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-t", "-d"], NO_SOCKET),
        (vec!["-p", &pf_tty, "-d"], NO_SOCKET),
        (vec!["-d", "--console-socket", &sock], NO_SOCKET_USE),
        (vec!["--console-socket", &sock], NO_SOCKET_USE),
        (vec!["-t", "--console-socket", &sock], NO_SOCKET_USE),
        // With --process the file decides, not --tty (runc).
        (
            vec!["-p", &pf_notty, "-t", "-d", "--console-socket", &sock],
            NO_SOCKET_USE,
        ),
    ];
    for (flags, want) in cases {
        let mut args = vec!["exec"];
        args.extend(&flags);
        args.extend([id.as_str(), "true"]);
        let o = env.hull(&args);
        // runc: "exec failed: …", exit code 255.
        assert_eq!(o.status.code(), Some(255), "{flags:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(want),
            "{flags:?}: {}",
            text(&o.stderr)
        );
        // Refused before anything: no connection, no process.
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{flags:?}: hull connected to the console socket"
        );
        wait_only_init(&id, init);
    }
    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}
