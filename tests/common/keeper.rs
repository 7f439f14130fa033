//! What the test worlds (`systemd.rs`, `rootless.rs`) share: a keeper process that a world's
//! teardown runs in, whatever becomes of the test process, and one world per test binary made on
//! first use and gone before the binary is.
//!
//! A keeper is a script run by `/bin/sh` in a session of its own (away from the terminal's ^C)
//! that makes the world, says one line on stdout, then reads its stdin: a pipe whose only writer
//! is the test process. The kernel closes that pipe however the test process ends (it returns,
//! panics, aborts, is SIGKILLed) or when a test drops a private world; at its end of file the
//! keeper takes the world down. This module must not know what a world is: the scripts do.
//! Below, what the tests of a world's teardown share: a child test process that owns a world
//! and ends as the test says.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The PATH of the keepers and of the tools the worlds look for.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why there is no world.
#[derive(Debug, Clone)]
pub enum Unavailable {
    /// A prerequisite is missing here (not root, a tool, …): skip, or fail in CI.
    Missing(String),
    /// The world could not be made: a failure, with what went wrong.
    Failed(String),
}

/// A world's keeper process and the write end of its pipe (closing it tears the world down).
pub struct Keeper {
    /// The world's name, for messages.
    name: String,
    inner: Mutex<Inner>,
}

struct Inner {
    child: Child,
    owner_end: Option<ChildStdin>,
    result: Option<Result<Duration, String>>,
}

impl Keeper {
    /// The keeper process's pid (a child of the test process for as long as the world lives).
    pub fn pid(&self) -> u32 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .child
            .id()
    }

    /// Start `cmd` (the keeper's script and its arguments; its environment and stderr as the
    /// caller set them) in a session of its own, stdin a pipe from us, and read the first line
    /// it says on stdout (trimmed; empty when it ended without a word).
    pub fn start(name: &str, mut cmd: Command) -> std::io::Result<(Keeper, String)> {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
        // SAFETY: setsid(2) is async-signal-safe; a session of its own keeps the terminal's
        // signals (^C to the test's process group) away from the keeper and what it starts.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn()?;
        let owner_end = child.stdin.take();
        let mut first = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut first);
        let keeper = Keeper {
            name: name.to_string(),
            inner: Mutex::new(Inner {
                child,
                owner_end,
                result: None,
            }),
        };
        Ok((keeper, first.trim().to_string()))
    }

    /// Close the keeper's pipe and wait (`limit` at most) until it has torn the world down: how
    /// long that took, or what went wrong. Idempotent.
    pub fn stop(&self, limit: Duration) -> Result<Duration, String> {
        let mut k = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = &k.result {
            return r.clone();
        }
        let started = Instant::now();
        drop(k.owner_end.take());
        let r = loop {
            match k.child.try_wait() {
                Ok(Some(st)) if st.success() => break Ok(started.elapsed()),
                Ok(Some(st)) => {
                    break Err(format!("the keeper of {} ended with {st}", self.name));
                }
                Ok(None) if started.elapsed() > limit => {
                    break Err(format!(
                        "the keeper of {} still runs after {limit:?}",
                        self.name
                    ))
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => break Err(format!("wait for the keeper of {}: {e}", self.name)),
            }
        };
        k.result = Some(r.clone());
        r
    }
}

/// The world of this test binary in `cell`, made by `make` on first use, with `at_exit`
/// registered (an `atexit` handler that tears it down) once it is made. `None` after
/// `skip_or_fail` when a prerequisite is missing; a panic with what went wrong when it could not
/// be made. `what` names the kind of world in the skip's reason.
pub fn shared<W>(
    cell: &'static OnceLock<Result<W, Unavailable>>,
    what: &str,
    make: impl FnOnce() -> Result<W, Unavailable>,
    at_exit: extern "C" fn(),
) -> Option<&'static W> {
    let r = cell.get_or_init(|| {
        let r = make();
        if r.is_ok() {
            // SAFETY: registers a plain extern "C" function with no captured state.
            unsafe { libc::atexit(at_exit) };
        }
        r
    });
    available(r.as_ref().map_err(Unavailable::clone), what)
}

/// A world, or `None` after `skip_or_fail` when a prerequisite is missing; a panic when it could
/// not be made.
pub fn available<W>(r: Result<W, Unavailable>, what: &str) -> Option<W> {
    match r {
        Ok(w) => Some(w),
        Err(Unavailable::Missing(why)) => {
            super::skip_or_fail(&format!("no {what}: {why}"));
            None
        }
        Err(Unavailable::Failed(why)) => panic!("{why}"),
    }
}

/// For an `atexit` handler: stop a world (`stop`, when the cell holds one) and say on stderr
/// how long its teardown took, or what went wrong. Never unwinds.
pub fn tear_down_at_exit<W>(
    cell: &OnceLock<Result<W, Unavailable>>,
    name: impl Fn(&W) -> String,
    stop: impl Fn(&W) -> Result<Duration, String>,
) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let Some(Ok(w)) = cell.get() {
            let msg = match stop(w) {
                Ok(d) => format!("{}: torn down in {:.2} s\n", name(w), d.as_secs_f64()),
                Err(e) => format!("{e}\n"),
            };
            let _ = std::io::stderr().write_all(msg.as_bytes());
        }
    }));
}

/// Whether `tool` is in one of [`PATH`]'s directories.
pub fn on_path(tool: &str) -> bool {
    PATH.split(':').any(|d| Path::new(d).join(tool).exists())
}

/// The first of `tools` (name, Debian package) that is not on [`PATH`], as a reason.
pub fn missing_tool(tools: &[(&str, &str)]) -> Option<String> {
    tools
        .iter()
        .find(|(tool, _)| !on_path(tool))
        .map(|(tool, package)| format!("no {tool} (Debian package {package})"))
}

// ---- tests of teardown -------------------------------------------------------------------

/// This test binary run in a child process for its one ignored test `test`, with `var=mode` in
/// its environment: a world's owner, which makes a world, says a line `WORLD …` on stdout
/// (`SKIP` when it cannot) and then ends as `mode` says, for tests of what its ending leaves.
/// The `WORLD` line, the child, and the file its stderr goes to (see [`take_stderr`]). `None`
/// after `skip_or_fail` when the child says `SKIP`; a panic with its stderr when it says neither.
pub fn owner(test: &str, var: &str, mode: &str) -> Option<(String, Child, PathBuf)> {
    let err = std::env::temp_dir().join(format!(
        "{}-{}-{mode}.err",
        var.to_lowercase(),
        std::process::id()
    ));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--ignored", "--nocapture"])
        .env(var, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.find_map(|l| {
        l.ok()
            .filter(|l| l.starts_with("WORLD ") || l.starts_with("SKIP"))
    });
    match line {
        Some(l) if l.starts_with("WORLD ") => Some((l, child, err)),
        other => {
            let _ = child.kill();
            let _ = child.wait();
            let why = take_stderr(err);
            if other.is_some() {
                super::skip_or_fail(&format!("world owner skipped: {why}"));
                return None;
            }
            panic!("the world owner did not report a world:\n{why}");
        }
    }
}

/// What an owner (see [`owner`]) said on stderr; its file removed.
pub fn take_stderr(err: PathBuf) -> String {
    let why = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_file(err);
    why
}

/// Wait (`within` at most) until `left` finds nothing left of `world` (a name for the message);
/// a panic with what is left after that.
pub fn wait_gone(world: &str, within: Duration, left: impl Fn() -> Vec<String>) {
    let deadline = Instant::now() + within;
    loop {
        let left = left();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{world} not torn down within {within:?}: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The body of a world's owner (see [`owner`]), which runs only when `var` is set (as a plain
/// test it does nothing): make the world with `make` (say `SKIP` when it cannot), say the
/// `WORLD …` line `report` makes of it, then end as `var`'s mode says: `panic` panics, leaving
/// the world to its keeper (never dropped), anything else waits to be killed.
pub fn be_owner<W>(var: &str, make: impl FnOnce() -> Option<W>, report: impl FnOnce(&W) -> String) {
    let Ok(mode) = std::env::var(var) else {
        return;
    };
    let Some(world) = make() else {
        println!("SKIP");
        return;
    };
    println!("{}", report(&world));
    if mode == "panic" {
        std::mem::forget(world);
        panic!("the world's owner fails, as a test does");
    }
    std::thread::sleep(Duration::from_secs(600));
}

/// SIGKILL an owner (see [`owner`]) and reap it; what it said on stderr.
pub fn kill_owner(mut child: Child, err: PathBuf) -> String {
    // SAFETY: kill(2) of our own unreaped child.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    let why = take_stderr(err);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL),
        "{why}"
    );
    why
}

/// Wait for an owner in mode `panic` (see [`owner`]) to fail as a test does, and check that its
/// world went at its exit (`left` finds nothing, at once) and said so; what it said on stderr.
pub fn owner_failed(mut child: Child, err: PathBuf, left: impl Fn() -> Vec<String>) -> String {
    let status = child.wait().unwrap();
    let why = take_stderr(err);
    assert_eq!(status.code(), Some(101), "{why}");
    // Taken down at exit (atexit), before the process was gone: nothing to wait for.
    let left = left();
    assert!(
        left.is_empty(),
        "left when the owner exited: {left:#?}\n{why}"
    );
    assert!(why.contains("torn down in"), "{why}");
    why
}
