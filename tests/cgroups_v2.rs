//! hull on a pure cgroup v2 host, for real, on any host that has cgroup2 at all.
//!
//! This is a `harness = false` test target (Cargo.toml): its own `main` runs before any thread
//! exists. On a pure v2 host it runs the tests as they are. On a hybrid host (v1 controllers
//! under /sys/fs/cgroup/<name>, cgroup2 at /sys/fs/cgroup/unified, as this project's CI host) or a
//! legacy one, it first makes a v2 world for itself: `unshare(CLONE_NEWNS)`, `/` made
//! `MS_REC|MS_PRIVATE` (nothing propagates back to the host), and cgroup2 mounted over
//! /sys/fs/cgroup, hiding the tmpfs of v1 mounts from this process and its children only. hull,
//! run by the tests as child processes, then detects `Mode::Unified` and takes its pure v2 paths:
//! placement in /sys/fs/cgroup/hull/<id> by clone3(CLONE_INTO_CGROUP), the cgroup2 mount inside
//! containers, cgroup.freeze, cgroup.kill, the eBPF device filter, v2 stats and events.
//!
//! cgroup2 is one hierarchy whatever mounts show it, so /sys/fs/cgroup/hull/<id> here is
//! /sys/fs/cgroup/unified/hull/<id> on the host, and the controllers are the ones v1 leaves to
//! cgroup2 (only `hugetlb` on the CI host: memory, pids, cpu, io are bound to v1 hierarchies).
//! A check that needs a controller this cgroup2 lacks says so (`skipped: …` on its result line)
//! and runs on a real pure v2 host.
//!
//! `main` runs the tests one after another (they share /sys/fs/cgroup/hull), prints libtest's
//! `test NAME ... ok|FAILED` lines, catches panics so one failure does not stop the rest (each
//! test's `Env` guard deletes its containers while unwinding), checks at the end that no cgroup,
//! mount or process of this run is left, and exits non-zero if anything failed. Arguments as
//! libtest's: name filters, `--exact`, `--skip`, `--list`; the others (`--test-threads`, …) are
//! accepted and ignored.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

// ---- the harness ----------------------------------------------------------------------------

/// One test: its name and body. A body panics to fail, calls `skip_part` for a check it cannot
/// make here, or `skip_all!` to skip as a whole.
struct Test {
    name: &'static str,
    run: fn(),
}

macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        &[$(Test { name: stringify!($name), run: $name }),*]
    };
}

const TESTS: &[Test] = tests![
    init_is_born_in_hull_id_and_sees_itself_at_the_cgroupns_root,
    the_cgroup_mount_is_cgroup2_and_read_only_when_configured,
    sub_cgroups_made_inside_are_removed_with_the_container,
    pause_and_resume_use_cgroup_freeze,
    kill_all_with_sigkill_writes_cgroup_kill,
    kill_all_with_a_catchable_signal_freezes_signals_and_thaws,
    sigkill_reaches_a_paused_container,
    delete_force_kills_what_outlives_init_through_cgroup_kill,
    exec_joins_the_container_cgroup,
    exec_into_a_container_that_delegated_its_cgroup_joins_init_s_cgroup,
    ps_lists_the_pids_of_the_cgroup,
    limits_land_in_the_files_of_each_offered_controller,
    update_changes_the_files_of_each_offered_controller,
    a_resource_whose_controller_cgroup2_lacks_is_refused,
    kernel_tcp_has_no_v2_equivalent_and_is_refused,
    unified_keys_are_written_and_unknown_ones_refused,
    v2_device_filter_denies_what_the_rules_deny,
    events_stats_is_runc_json_from_the_v2_files,
    events_stream_ends_when_the_container_exits,
    delete_removes_the_cgroup_and_the_last_one_the_hull_parent,
    absolute_and_relative_cgroups_paths_are_honoured,
    systemd_driver_refusals_name_the_bus_path_or_annotation_and_leave_nothing,
    a_rootless_user_s_delegated_subtree_holds_its_containers,
    an_absolute_path_into_the_delegated_subtree_is_used_and_the_user_s_own_parent_kept,
    a_path_outside_the_delegated_subtree_goes_without_a_cgroup_or_is_refused,
    a_limit_whose_controller_is_not_delegated_is_refused_naming_it,
];

/// Why parts of the running test were skipped (`skip_part`), and whether all of it was.
static SKIPS: Mutex<(Vec<String>, bool)> = Mutex::new((Vec::new(), false));
/// The message of the last panic (the hook keeps it for the failure report).
static PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Record that a check could not be made on this host, and why (shown on the result line).
fn skip_part(reason: impl Into<String>) {
    SKIPS.lock().unwrap().0.push(reason.into());
}

/// Skip the whole test, saying why.
macro_rules! skip_all {
    ($($why:tt)*) => {{
        skip_part(format!($($why)*));
        SKIPS.lock().unwrap().1 = true;
        return;
    }};
}

fn is_cgroup2(path: &str) -> bool {
    let c = std::ffi::CString::new(path).unwrap();
    // SAFETY: statfs fills a zeroed struct we own from a valid C string.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == 0x6367_7270
    }
}

/// How this run got its pure v2 /sys/fs/cgroup.
fn describe_host_mounts() -> String {
    let mut v2: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            post.starts_with("cgroup2 ")
                .then(|| pre.split(' ').nth(4).unwrap_or("?").to_string())
        })
        .collect();
    v2.dedup();
    if v2.is_empty() {
        "no cgroup2 mount on the host".into()
    } else {
        format!("host cgroup2 at {}", v2.join(", "))
    }
}

/// Make /sys/fs/cgroup a cgroup2 mount for this process and its children only (see the module
/// doc). Must run while the process is single-threaded: unshare(CLONE_NEWNS) applies to the
/// calling thread, and every later thread and child inherits the namespace from it.
fn enter_private_v2_world() -> Result<String, String> {
    let status = fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let threads = status_field(&status, "Threads");
    if threads != "1" {
        return Err(format!(
            "{threads} threads before unshare; the harness needs one"
        ));
    }
    let host = describe_host_mounts();
    let sys_err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: unshare(2) with a flag, single-threaded (checked above).
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        return Err(sys_err("unshare(CLONE_NEWNS)"));
    }
    // SAFETY: mount(2) with valid C strings and null data; only our new namespace changes.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(sys_err("mount / MS_REC|MS_PRIVATE"));
    }
    // SAFETY: as above; the flags systemd mounts cgroup2 with.
    let r = unsafe {
        libc::mount(
            c"cgroup2".as_ptr(),
            c"/sys/fs/cgroup".as_ptr(),
            c"cgroup2".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RELATIME,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(sys_err("mount -t cgroup2 cgroup2 /sys/fs/cgroup"));
    }
    if !is_cgroup2("/sys/fs/cgroup") {
        return Err("/sys/fs/cgroup is still not cgroup2 after the mount".into());
    }
    Ok(format!(
        "cgroup2 mounted over /sys/fs/cgroup in a private mount namespace ({host})"
    ))
}

struct Args {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
    only_ignored: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        filters: Vec::new(),
        skips: Vec::new(),
        exact: false,
        list: false,
        only_ignored: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--list" => a.list = true,
            "--exact" => a.exact = true,
            "--ignored" => a.only_ignored = true,
            "--skip" => a.skips.extend(it.next()),
            // libtest options with a separate value: accepted, ignored.
            "--test-threads" | "--color" | "--format" | "--logfile" | "-Z" | "--report-time" => {
                let _ = it.next();
            }
            s if s.starts_with("--skip=") => a.skips.push(s["--skip=".len()..].to_string()),
            s if s.starts_with('-') => {}
            s => a.filters.push(s.to_string()),
        }
    }
    a
}

impl Args {
    fn selects(&self, name: &str) -> bool {
        let hit = |f: &String| {
            if self.exact {
                name == f
            } else {
                name.contains(f.as_str())
            }
        };
        !self.only_ignored
            && (self.filters.is_empty() || self.filters.iter().any(hit))
            && !self.skips.iter().any(|s| name.contains(s.as_str()))
    }
}

enum Outcome {
    Passed(Vec<String>),
    Skipped(Vec<String>),
    Failed(String),
}

fn run_one(t: &Test) -> Outcome {
    *SKIPS.lock().unwrap() = (Vec::new(), false);
    *PANIC.lock().unwrap() = None;
    let r = std::panic::catch_unwind(t.run);
    let (skips, whole) = std::mem::take(&mut *SKIPS.lock().unwrap());
    match r {
        Ok(()) if whole => Outcome::Skipped(skips),
        Ok(()) => Outcome::Passed(skips),
        Err(_) => Outcome::Failed(
            PANIC
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(|| "panicked".into()),
        ),
    }
}

fn main() -> ExitCode {
    let args = parse_args();
    let selected: Vec<&Test> = TESTS.iter().filter(|t| args.selects(t.name)).collect();
    if args.list {
        for t in &selected {
            println!("{}: test", t.name);
        }
        return ExitCode::SUCCESS;
    }
    let mut out = std::io::stdout();
    if !is_root() {
        skip_or_fail("needs root");
        println!(
            "\nrunning {} tests\n\ntest result: ok. 0 passed; 0 failed; {} skipped\n",
            selected.len(),
            selected.len()
        );
        return ExitCode::SUCCESS;
    }
    if selected.is_empty() {
        println!("\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 skipped\n");
        return ExitCode::SUCCESS;
    }
    let world = if is_cgroup2("/sys/fs/cgroup") {
        "pure cgroup v2 host".to_string()
    } else {
        match enter_private_v2_world() {
            Ok(w) => w,
            Err(e) => {
                // A host whose kernel refuses cgroup2 cannot run these; everything else must.
                eprintln!("cgroups_v2: cannot make a cgroup v2 world: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(non-string panic payload)".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        *PANIC.lock().unwrap() = Some(format!("panicked at {at}:\n{msg}"));
    }));
    println!(
        "\nrunning {} tests ({world}; cgroup2 controllers: {})",
        selected.len(),
        controllers().join(" ")
    );
    let started = Instant::now();
    let hull_parent_before = Path::new("/sys/fs/cgroup/hull").exists();
    let (mut passed, mut skipped) = (0, 0);
    let mut failures: Vec<(&str, String)> = Vec::new();
    let with_final: Vec<&Test> = selected
        .into_iter()
        .chain(std::iter::once(&Test {
            name: "nothing_of_this_run_is_left_behind",
            run: nothing_of_this_run_is_left_behind,
        }))
        .collect();
    for t in with_final {
        print!("test {} ... ", t.name);
        let _ = out.flush();
        match run_one(t) {
            Outcome::Passed(s) if s.is_empty() => {
                passed += 1;
                println!("ok");
            }
            Outcome::Passed(s) => {
                passed += 1;
                println!("ok (skipped: {})", s.join("; "));
            }
            Outcome::Skipped(s) => {
                skipped += 1;
                println!("skipped: {}", s.join("; "));
            }
            Outcome::Failed(msg) => {
                println!("FAILED");
                failures.push((t.name, msg));
            }
        }
    }
    if !hull_parent_before && Path::new("/sys/fs/cgroup/hull").exists() {
        failures.push((
            "(run)",
            "/sys/fs/cgroup/hull did not exist before this run and is still there".into(),
        ));
    }
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (name, msg) in &failures {
            println!("---- {name} ----\n{msg}\n");
        }
        println!("failures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {skipped} skipped; finished in {:.2}s\n",
        if failures.is_empty() { "ok" } else { "FAILED" },
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// The controllers this cgroup2 offers (its root's cgroup.controllers).
fn controllers() -> Vec<String> {
    fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn offers(controller: &str) -> bool {
    controllers().iter().any(|c| c == controller)
}

fn lacking(controller: &str) -> String {
    format!(
        "{controller}: not in /sys/fs/cgroup/cgroup.controllers ({:?}; on a hybrid host v1 binds it)",
        controllers().join(" ")
    )
}

/// The container's cgroup2 directory (default cgroupsPath `/hull/<id>`).
fn cgdir(id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup/hull").join(id)
}

/// The `0::` line of /proc/<pid>/cgroup (the cgroup2 path), if the process exists.
fn cgroup2_of(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("0::"))
        .map(String::from)
}

fn init_pid(env: &Env, id: &str) -> i32 {
    env.state(id)["pid"].as_i64().unwrap() as i32
}

/// Drop the pid namespace: background processes then outlive the container's init.
fn without_pidns(c: &mut Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
}

/// Drop `ro` from the options of the container's `cgroup` mount.
fn cgroup_mount_rw(c: &mut Value) {
    for m in c["mounts"].as_array_mut().unwrap() {
        if m["type"] == "cgroup" {
            m["options"].as_array_mut().unwrap().retain(|o| o != "ro");
        }
    }
}

/// `hull --debug create`, stdio to files; asserts success. Returns (stderr, stdout file).
fn create_debug(env: &Env, b: &Bundle, id: &str) -> (String, PathBuf) {
    let out = env.dir.join(format!("{id}.out"));
    let err = env.dir.join(format!("{id}.err"));
    let o = env
        .cmd(&["--debug", "create", "--bundle", b.dir.to_str().unwrap(), id])
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    let stderr = fs::read_to_string(&err).unwrap_or_default();
    assert!(o.success(), "create {id} failed: {stderr}");
    (stderr, out)
}

fn start(env: &Env, id: &str) {
    let o = env.hull(&["start", id]);
    assert!(o.status.success(), "start {id}: {}", text(&o.stderr));
}

fn delete(env: &Env, args: &[&str]) {
    let mut a = vec!["delete"];
    a.extend_from_slice(args);
    let o = env.hull(&a);
    assert!(o.status.success(), "{a:?}: {}", text(&o.stderr));
}

/// The message hull logs (`--debug`) when clone3(CLONE_INTO_CGROUP) is refused and it falls
/// back to fork + a cgroup.procs write.
const MIGRATED: &str = "forking and migrating instead";

/// The hugetlb page size to test with, or why not.
fn hugetlb() -> Result<(String, u64), String> {
    if !offers("hugetlb") {
        return Err(lacking("hugetlb"));
    }
    huge_page_size().ok_or_else(|| "hugetlb: no huge page sizes in /sys/kernel/mm/hugepages".into())
}

/// The topmost mount at `mount_point` in mountinfo text: (root, mount options, fs type).
fn mount_at(mountinfo: &str, mount_point: &str) -> Option<(String, String, String)> {
    // The last line for the mount point is the mount on top.
    mountinfo.lines().rev().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let f: Vec<&str> = pre.split(' ').collect();
        (f.get(4) == Some(&mount_point)).then(|| {
            (
                f[3].to_string(),
                f[5].to_string(),
                post.split(' ').next().unwrap_or("").to_string(),
            )
        })
    })
}

/// An inotify watch for writes (IN_MODIFY) to one file: a write to a cgroupfs file by anyone
/// (hull's `cgroup.kill`) shows up here.
struct WriteWatch(OwnedFd);

impl WriteWatch {
    fn new(path: &Path) -> WriteWatch {
        // SAFETY: inotify_init1 takes flags and returns a new fd or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        assert!(
            fd >= 0,
            "inotify_init1: {}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the kernel just gave us this fd.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string and our inotify fd.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), libc::IN_MODIFY) };
        assert!(
            wd >= 0,
            "inotify_add_watch {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        WriteWatch(fd)
    }

    /// Whether the file was written since the watch began (consumes the queued events).
    fn written(&self) -> bool {
        let mut f = fs::File::from(self.0.try_clone().unwrap());
        let mut buf = [0u8; 4096];
        let mut seen = false;
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("read inotify: {e}"),
            };
            // struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; }
            let mut off = 0;
            while off + 16 <= n {
                let mask = u32::from_ne_bytes(buf[off + 4..off + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buf[off + 12..off + 16].try_into().unwrap());
                seen |= mask & libc::IN_MODIFY != 0;
                off += 16 + len as usize;
            }
        }
        seen
    }
}

/// A shell printing a counter every 20 ms, with a background child.
const TICKER: &str = "sleep 1000 & i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done";
/// A shell with two background sleeps, announcing when they are forked.
const THREE_PROCESSES: &str = "sleep 1000 & sleep 1001 & echo ready; wait";

/// Wait (bounded) until the file has more than `lines` lines.
fn wait_progress(path: &Path, lines: usize) -> bool {
    for _ in 0..300 {
        if line_count(path) > lines + 3 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

// ---- placement ------------------------------------------------------------------------------

fn init_is_born_in_hull_id_and_sees_itself_at_the_cgroupns_root() {
    let env = Env::new();
    let b = env.bundle(&[
        "sh",
        "-c",
        "cat /proc/self/cgroup; echo END; exec sleep 1000",
    ]);
    let id = env.id("v2place");
    let (stderr, out) = create_debug(&env, &b, &id);
    assert!(
        !stderr.contains(MIGRATED),
        "stage 1 must be born in the cgroup by clone3(CLONE_INTO_CGROUP): {stderr}"
    );

    // hull saw a pure v2 host, and recorded one cgroup2 directory.
    let st: Value =
        serde_json::from_str(&fs::read_to_string(env.root.join(&id).join("state.json")).unwrap())
            .unwrap();
    assert_eq!(st["cgroup"]["mode"], "unified", "{st}");
    assert_eq!(
        st["cgroup"]["hierarchies"],
        json!([{"controllers": "", "path": cgdir(&id)}]),
        "{st}"
    );

    let dir = cgdir(&id);
    let init = init_pid(&env, &id);
    assert_eq!(procs(&dir), vec![init], "init alone in {}", dir.display());
    let host_view = fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    assert_eq!(
        cgroup2_of(init).as_deref(),
        Some(format!("0::/hull/{id}").as_str()),
        "{host_view}"
    );
    // No v1 hierarchy holds the container: on a pure v2 host there is none.
    for l in host_view.lines().filter(|l| !l.starts_with("0::")) {
        assert!(
            !l.contains("hull"),
            "a v1 hierarchy was joined: {host_view}"
        );
    }

    start(&env, &id);
    let inside = wait_for_output(&out, "END\n");
    let v2_lines: Vec<&str> = inside.lines().filter(|l| l.starts_with("0::")).collect();
    assert_eq!(v2_lines, ["0::/"], "with a cgroup namespace: {inside}");
    assert!(!inside.contains("hull"), "{inside}");
    // exec'ed sleep is still init, still in the cgroup.
    assert_eq!(procs(&dir), vec![init]);

    delete(&env, &["--force", &id]);
    wait_gone(&[init]);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert_no_leftovers(&env, &id);
}

fn the_cgroup_mount_is_cgroup2_and_read_only_when_configured() {
    let env = Env::new();
    let script = "grep ' /sys/fs/cgroup ' /proc/self/mountinfo; grep '^0::' /proc/self/cgroup; \
                  echo procs=$(cat /sys/fs/cgroup/cgroup.procs | wc -l); \
                  if mkdir /sys/fs/cgroup/probe 2>/tmp/err; then rmdir /sys/fs/cgroup/probe && echo mkdir=ok; \
                  else echo mkdir=$(cat /tmp/err); fi";
    // (cgroup namespace?, ro?)
    for (cgroupns, ro) in [(true, true), (true, false), (false, true)] {
        let mut b = env.bundle(&["sh", "-c", script]);
        b.edit(|c| {
            if !cgroupns {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "cgroup");
            }
            if !ro {
                cgroup_mount_rw(c);
            }
        });
        let id = env.id("v2mnt");
        let (code, out, err) = env.run(&b, &id);
        let what = format!("cgroupns={cgroupns} ro={ro}:\n{out}\n{err}");
        assert_eq!(code, 0, "{what}");
        let (root, opts, fstype) =
            mount_at(&out, "/sys/fs/cgroup").unwrap_or_else(|| panic!("no mount: {what}"));
        assert_eq!(fstype, "cgroup2", "{what}");
        let opts: Vec<&str> = opts.split(',').collect();
        assert_eq!(opts.contains(&"ro"), ro, "{what}");
        assert_eq!(opts.contains(&"rw"), !ro, "{what}");
        for o in ["nosuid", "nodev", "noexec"] {
            assert!(opts.contains(&o), "{o}: {what}");
        }
        if cgroupns {
            // cgroup2 itself, its root the namespace's root: the container's cgroup.
            assert_eq!(root, "/", "{what}");
            assert!(out.contains("\n0::/\n"), "{what}");
        } else {
            // The container's directory bound there; /proc/self/cgroup shows the host path.
            assert_eq!(root, format!("/hull/{id}"), "{what}");
            assert!(out.contains(&format!("\n0::/hull/{id}\n")), "{what}");
        }
        // The shell (and the cat) are in the cgroup the mount shows.
        let procs_line = out.lines().find(|l| l.starts_with("procs=")).unwrap();
        assert_ne!(procs_line, "procs=0", "{what}");
        let mkdir = out.lines().find(|l| l.starts_with("mkdir=")).unwrap();
        if ro {
            assert!(mkdir.contains("Read-only file system"), "{what}");
        } else {
            assert_eq!(mkdir, "mkdir=ok", "{what}");
        }
        assert_no_leftovers(&env, &id);
    }
}

fn sub_cgroups_made_inside_are_removed_with_the_container() {
    let env = Env::new();
    // A running container with a process in a sub-cgroup it made (as systemd or a nested
    // runtime inside would): delete --force kills it and removes the whole subtree.
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "mkdir -p /sys/fs/cgroup/inner/deeper && \
         sh -c 'echo 0 > /sys/fs/cgroup/inner/deeper/cgroup.procs && echo moved && exec sleep 1000' & wait",
    ]);
    b.edit(cgroup_mount_rw);
    let id = env.id("v2sub");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "moved\n");
    let dir = cgdir(&id);
    let deeper = dir.join("inner/deeper");
    let inner_pids = procs(&deeper);
    assert_eq!(inner_pids.len(), 1, "{inner_pids:?}");
    let o = env.hull(&["ps", "--format", "json", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut ps: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    ps.sort_unstable();
    let mut want = procs(&dir);
    want.extend(&inner_pids);
    want.sort_unstable();
    assert_eq!(ps, want, "ps must list the sub-cgroups' processes too");
    delete(&env, &["--force", &id]);
    wait_gone(&want);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert_no_leftovers(&env, &id);

    // A container that made a sub-cgroup and exited: a plain delete removes it too.
    let mut b = env.bundle(&["sh", "-c", "mkdir /sys/fs/cgroup/inner && echo made"]);
    b.edit(cgroup_mount_rw);
    let id = env.id("v2sub");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "made\n");
    env.wait_status(&id, "stopped");
    assert!(cgdir(&id).join("inner").is_dir());
    delete(&env, &[&id]);
    assert!(!cgdir(&id).exists(), "{} left behind", cgdir(&id).display());
    assert_no_leftovers(&env, &id);
}

// ---- freeze, kill ---------------------------------------------------------------------------

fn pause_and_resume_use_cgroup_freeze() {
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", TICKER]);
    let id = env.id("v2pause");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "\n5\n");
    let dir = cgdir(&id);
    assert_eq!(read(&dir, "cgroup.freeze"), "0");

    let o = env.hull(&["pause", &id]);
    assert!(o.status.success(), "pause: {}", text(&o.stderr));
    assert_eq!(env.status(&id), "paused");
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    let events = read(&dir, "cgroup.events");
    assert!(events.lines().any(|l| l == "frozen 1"), "{events}");
    let pids = procs(&dir);
    assert!(pids.len() >= 2, "{pids:?}");
    let before = line_count(&out);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(line_count(&out), before, "progress while paused");

    let o = env.hull(&["resume", &id]);
    assert!(o.status.success(), "resume: {}", text(&o.stderr));
    assert_eq!(env.status(&id), "running");
    assert_eq!(read(&dir, "cgroup.freeze"), "0");
    let events = read(&dir, "cgroup.events");
    assert!(events.lines().any(|l| l == "frozen 0"), "{events}");
    assert!(wait_progress(&out, before), "no progress after resume");

    // Paused again: delete without --force refuses, with it leaves nothing.
    assert!(env.hull(&["pause", &id]).status.success());
    let o = env.hull(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("paused"), "{}", text(&o.stderr));
    let pids = procs(&dir);
    delete(&env, &["--force", &id]);
    wait_gone(&pids);
    assert_no_leftovers(&env, &id);
}

fn kill_all_with_sigkill_writes_cgroup_kill() {
    let env = Env::new();
    let mut b = env.bundle(&["sh", "-c", THREE_PROCESSES]);
    b.edit(without_pidns);
    let id = env.id("v2killall");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "ready\n");
    let dir = cgdir(&id);
    let pids = procs(&dir);
    assert_eq!(pids.len(), 3, "{pids:?}");
    let watch = WriteWatch::new(&dir.join("cgroup.kill"));

    let o = env.hull(&["kill", "--all", &id, "KILL"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(watch.written(), "kill --all KILL must write cgroup.kill");
    wait_gone(&pids);
    env.wait_status(&id, "stopped");
    assert!(procs(&dir).is_empty());
    delete(&env, &[&id]);
    assert_no_leftovers(&env, &id);
}

fn kill_all_with_a_catchable_signal_freezes_signals_and_thaws() {
    let env = Env::new();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "trap 'echo shell-got-term; exit 7' TERM; sleep 1000 & sleep 1001 & echo ready; wait",
    ]);
    b.edit(without_pidns);
    let id = env.id("v2killterm");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "ready\n");
    let dir = cgdir(&id);
    let pids = procs(&dir);
    assert_eq!(pids.len(), 3, "{pids:?}");
    wait_for_comm(&pids, "sleep", 2);
    let kill = WriteWatch::new(&dir.join("cgroup.kill"));
    let freeze = WriteWatch::new(&dir.join("cgroup.freeze"));

    let o = env.hull(&["kill", "--all", &id, "TERM"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(!kill.written(), "cgroup.kill is SIGKILL only");
    assert!(freeze.written(), "signalled under cgroup.freeze");
    assert_eq!(read(&dir, "cgroup.freeze"), "0", "thawed again");
    wait_gone(&pids);
    wait_for_output(&out, "shell-got-term\n");
    env.wait_status(&id, "stopped");
    delete(&env, &[&id]);
    assert_no_leftovers(&env, &id);
}

fn sigkill_reaches_a_paused_container() {
    let env = Env::new();
    for all in [false, true] {
        let mut b = env.bundle(&["sh", "-c", TICKER]);
        if all {
            b.edit(without_pidns);
        }
        let id = env.id("v2killpaused");
        let out = env.create_ok(&b, &id);
        start(&env, &id);
        wait_for_output(&out, "\n3\n");
        assert!(env.hull(&["pause", &id]).status.success());
        assert_eq!(env.status(&id), "paused");
        let pids = procs(&cgdir(&id));
        assert!(pids.len() >= 2, "{pids:?}");
        let args: &[&str] = if all {
            &["kill", "--all", &id, "KILL"]
        } else {
            &["kill", &id, "KILL"]
        };
        let o = env.hull(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        wait_gone(&pids);
        env.wait_status(&id, "stopped");
        delete(&env, &[&id]);
        assert_no_leftovers(&env, &id);
    }
}

fn delete_force_kills_what_outlives_init_through_cgroup_kill() {
    let env = Env::new();
    let mut b = env.bundle(&["sh", "-c", THREE_PROCESSES]);
    b.edit(without_pidns);
    let id = env.id("v2delforce");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "ready\n");
    let dir = cgdir(&id);
    let pids = procs(&dir);
    assert_eq!(pids.len(), 3, "{pids:?}");
    let watch = WriteWatch::new(&dir.join("cgroup.kill"));
    delete(&env, &["--force", &id]);
    // Without a pid namespace the sleeps outlive init: only cgroup.kill gets them.
    assert!(watch.written(), "delete --force must write cgroup.kill");
    wait_gone(&pids);
    assert!(!dir.exists());
    assert_no_leftovers(&env, &id);
}

// ---- exec, ps -------------------------------------------------------------------------------

fn exec_joins_the_container_cgroup() {
    let env = Env::new();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("v2exec");
    env.create_ok(&b, &id);
    start(&env, &id);
    let dir = cgdir(&id);

    // Foreground: the process sees itself at its cgroup namespace's root.
    let o = env.hull(&["--debug", "exec", &id, "cat", "/proc/self/cgroup"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let inside = text(&o.stdout);
    let v2: Vec<&str> = inside.lines().filter(|l| l.starts_with("0::")).collect();
    assert_eq!(v2, ["0::/"], "{inside}");
    assert!(
        !text(&o.stderr).contains(MIGRATED),
        "exec's stage 1 must be born in the cgroup: {}",
        text(&o.stderr)
    );

    // Detached: from the host, the process is in /hull/<id>.
    // (Its stdio is not a pipe: the process would hold it open, and output() wait for it.)
    let pid_file = env.dir.join("exec.pid");
    let err = env.dir.join("exec.err");
    let st = env
        .cmd(&[
            "--debug",
            "exec",
            "-d",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sleep",
            "1001",
        ])
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    let err = fs::read_to_string(&err).unwrap_or_default();
    assert!(st.success(), "{err}");
    assert!(!err.contains(MIGRATED), "{err}");
    let pid: i32 = fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        cgroup2_of(pid).as_deref(),
        Some(format!("0::/hull/{id}").as_str())
    );
    let init = init_pid(&env, &id);
    assert_eq!(procs(&dir), {
        let mut v = vec![init, pid];
        v.sort_unstable();
        v
    });
    delete(&env, &["--force", &id]);
    wait_gone(&[init, pid]);
    assert_no_leftovers(&env, &id);
}

fn exec_into_a_container_that_delegated_its_cgroup_joins_init_s_cgroup() {
    // A container that runs its own cgroup tree (systemd, a nested runtime): its processes in a
    // leaf, a controller enabled in its top directory's subtree_control. The kernel then
    // refuses processes at the top ("no internal processes"): clone3 into it fails, so does a
    // cgroup.procs write, and exec joins init's cgroup instead (runc's rule).
    let env = Env::new();
    // A domain controller to delegate, and resources that make hull enable it in /hull (so
    // the container can enable it below itself).
    let (controller, res) = if offers("pids") {
        ("pids", json!({"pids": {"limit": 100}}))
    } else if offers("memory") {
        ("memory", json!({"memory": {"limit": 256 << 20}}))
    } else {
        match hugetlb() {
            Ok((size, bytes)) => (
                "hugetlb",
                json!({"hugepageLimits": [{"pageSize": size, "limit": bytes}]}),
            ),
            Err(why) => skip_all!("needs a domain controller to delegate: {why}"),
        }
    };
    let script = format!(
        "mkdir /sys/fs/cgroup/leaf && echo 0 > /sys/fs/cgroup/leaf/cgroup.procs && \
         echo +{controller} > /sys/fs/cgroup/cgroup.subtree_control && echo ready; exec sleep 1000"
    );
    let mut b = env.bundle(&["sh", "-c", &script]);
    b.edit(|c| {
        cgroup_mount_rw(c);
        c["linux"]["resources"] = res;
    });
    let id = env.id("v2deleg");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "ready\n");
    let dir = cgdir(&id);
    let leaf = dir.join("leaf");
    assert_eq!(read(&dir, "cgroup.subtree_control"), controller);
    let init = init_pid(&env, &id);
    assert_eq!(procs(&leaf), vec![init]);
    assert!(procs(&dir).is_empty());

    let o = env.hull(&["--debug", "exec", &id, "cat", "/proc/self/cgroup"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let inside = text(&o.stdout);
    let v2: Vec<&str> = inside.lines().filter(|l| l.starts_with("0::")).collect();
    assert_eq!(v2, ["0::/leaf"], "{inside}\n{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains(MIGRATED),
        "clone3 into the top must be refused: {err}"
    );
    assert!(err.contains("joining init's cgroup"), "{err}");

    // ps and kill --all see the subtree.
    let o = env.hull(&["ps", "--format", "json", &id]);
    let ps: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ps, vec![init]);
    let o = env.hull(&["kill", "--all", &id, "KILL"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    wait_gone(&[init]);
    env.wait_status(&id, "stopped");
    delete(&env, &[&id]);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert_no_leftovers(&env, &id);
}

fn ps_lists_the_pids_of_the_cgroup() {
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", THREE_PROCESSES]);
    let id = env.id("v2ps");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "ready\n");
    let want = procs(&cgdir(&id));
    assert_eq!(want.len(), 3, "{want:?}");

    let o = env.hull(&["ps", "--format", "json", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut got: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    got.sort_unstable();
    assert_eq!(got, want);

    let o = env.hull(&["ps", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let col = header.iter().position(|h| *h == "PID").expect("PID column");
    let rows: BTreeSet<i32> = lines
        .map(|l| l.split_whitespace().nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(rows, want.iter().copied().collect(), "{table}");
    delete(&env, &["--force", &id]);
    wait_gone(&want);
    assert_no_leftovers(&env, &id);
}

// ---- resources ------------------------------------------------------------------------------

/// `linux.resources` for the controllers this cgroup2 offers, and the files (with values)
/// hull must have written for them; a skip reason for each controller it lacks.
fn offered_resources() -> (Value, Vec<(String, String)>) {
    let mut res = json!({});
    let mut files: Vec<(String, String)> = Vec::new();
    if offers("memory") {
        res["memory"] = json!({"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20});
        files.push(("memory.max".into(), (64u64 << 20).to_string()));
        files.push(("memory.swap.max".into(), (32u64 << 20).to_string()));
        files.push(("memory.low".into(), (32u64 << 20).to_string()));
    } else {
        skip_part(lacking("memory"));
    }
    if offers("pids") {
        res["pids"] = json!({"limit": 20});
        files.push(("pids.max".into(), "20".into()));
    } else {
        skip_part(lacking("pids"));
    }
    if offers("cpu") {
        res["cpu"] = json!({"shares": 1024, "quota": 50000, "period": 100000});
        files.push(("cpu.weight".into(), "100".into()));
        files.push(("cpu.max".into(), "50000 100000".into()));
    } else {
        skip_part(lacking("cpu"));
    }
    match hugetlb() {
        Ok((size, bytes)) => {
            res["hugepageLimits"] = json!([{"pageSize": size, "limit": 2 * bytes}]);
            files.push((format!("hugetlb.{size}.max"), (2 * bytes).to_string()));
        }
        Err(why) => skip_part(why),
    }
    (res, files)
}

fn limits_land_in_the_files_of_each_offered_controller() {
    let env = Env::new();
    let (res, files) = offered_resources();
    if files.is_empty() {
        skip_all!("no controller to limit in this cgroup2");
    }
    let names: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    let script = format!(
        "for f in {}; do echo \"$f=$(cat /sys/fs/cgroup/$f)\"; done; echo END",
        names.join(" ")
    );
    let mut b = env.bundle(&["sh", "-c", &script]);
    b.edit(|c| c["linux"]["resources"] = res);
    let id = env.id("v2lim");
    let out = env.create_ok(&b, &id);
    let dir = cgdir(&id);
    for (f, want) in &files {
        assert_eq!(&read(&dir, f), want, "{f} on the host");
    }
    // The controllers are enabled in the parent for the container, not in the container.
    let parent = read(Path::new("/sys/fs/cgroup/hull"), "cgroup.subtree_control");
    for f in &names {
        let c = f.split('.').next().unwrap();
        assert!(parent.split_whitespace().any(|x| x == c), "{c}: {parent}");
    }
    start(&env, &id);
    let inside = wait_for_output(&out, "END\n");
    for (f, want) in &files {
        assert!(
            inside.lines().any(|l| l == format!("{f}={want}")),
            "{f} inside: {inside}"
        );
    }
    env.wait_status(&id, "stopped");
    delete(&env, &[&id]);
    assert_no_leftovers(&env, &id);
}

fn update_changes_the_files_of_each_offered_controller() {
    let env = Env::new();
    let (res, files) = offered_resources();
    if files.is_empty() {
        skip_all!("no controller to update in this cgroup2");
    }
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["resources"] = res);
    let id = env.id("v2upd");
    env.create_ok(&b, &id);
    start(&env, &id);
    let dir = cgdir(&id);

    // runc's flags for memory, pids, cpu.
    let mut flags: Vec<String> = Vec::new();
    let mut want: Vec<(String, String)> = Vec::new();
    if offers("memory") {
        flags.extend(["--memory", "128m", "--memory-swap", "256m"].map(String::from));
        want.push(("memory.max".into(), (128u64 << 20).to_string()));
        want.push(("memory.swap.max".into(), (128u64 << 20).to_string()));
    }
    if offers("pids") {
        flags.extend(["--pids-limit", "10"].map(String::from));
        want.push(("pids.max".into(), "10".into()));
    }
    if offers("cpu") {
        flags.extend(["--cpu-share", "512", "--cpu-quota", "20000"].map(String::from));
        let w = hull::cgroups::convert::shares_to_weight(512);
        want.push(("cpu.weight".into(), w.to_string()));
        want.push(("cpu.max".into(), "20000 100000".into()));
    }
    if !flags.is_empty() {
        let mut args: Vec<&str> = vec!["update"];
        args.extend(flags.iter().map(String::as_str));
        args.push(&id);
        let o = env.hull(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
    }
    // --resources - for huge pages (no runc flag for them).
    if let Ok((size, bytes)) = hugetlb() {
        let mut child = env
            .cmd(&["update", "--resources", "-", &id])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(
                json!({"hugepageLimits": [{"pageSize": size, "limit": 4 * bytes}]})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "update hugepageLimits: {}",
            text(&o.stderr)
        );
        want.push((format!("hugetlb.{size}.max"), (4 * bytes).to_string()));
    }
    for (f, v) in &want {
        assert_eq!(&read(&dir, f), v, "{f} after update");
    }
    // Zero means unchanged.
    let o = env.hull(&["update", "--pids-limit", "0", "--memory", "0", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (f, v) in &want {
        assert_eq!(&read(&dir, f), v, "{f} after a zero update");
    }
    delete(&env, &["--force", &id]);
    assert_no_leftovers(&env, &id);
}

fn a_resource_whose_controller_cgroup2_lacks_is_refused() {
    let env = Env::new();
    let candidates = [
        ("pids", json!({"pids": {"limit": 20}})),
        ("memory", json!({"memory": {"limit": 64 << 20}})),
        ("cpu", json!({"cpu": {"shares": 512}})),
        ("io", json!({"blockIO": {"weight": 500}})),
    ];
    let Some((c, res)) = candidates.into_iter().find(|(c, _)| !offers(c)) else {
        skip_all!("this cgroup2 offers pids, memory, cpu and io");
    };
    let parent_before = Path::new("/sys/fs/cgroup/hull").exists();
    let mut b = env.bundle(&["echo", "should-not-run"]);
    b.edit(|cfg| cfg["linux"]["resources"] = res);
    let id = env.id("v2lack");
    let (o, out) = env.create(&b, &id);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the {c} controller is not available in /sys/fs/cgroup/cgroup.controllers"
        )),
        "{err}"
    );
    assert_eq!(fs::read_to_string(out).unwrap(), "", "the process ran");
    assert!(!cgdir(&id).exists());
    if !parent_before {
        assert!(!Path::new("/sys/fs/cgroup/hull").exists(), "/hull left");
    }
    assert_no_leftovers(&env, &id);
}

/// `memory.kernelTCP` is v1's memory.kmem.tcp.limit_in_bytes; cgroup v2 has no TCP buffer
/// limit, so a limit is refused naming the field, before the process runs and leaving nothing
/// (config-linux.md: a v1 setting that cannot be converted MUST be an error). 0 and -1
/// (unlimited) ask for nothing and run, on this world's cgroup2 with or without the memory
/// controller.
fn kernel_tcp_has_no_v2_equivalent_and_is_refused() {
    let env = Env::new();
    let parent_before = Path::new("/sys/fs/cgroup/hull").exists();
    let mut b = env.bundle(&["echo", "should-not-run"]);
    b.edit(|cfg| cfg["linux"]["resources"] = json!({"memory": {"kernelTCP": 16 << 20}}));
    let id = env.id("v2ktcp");
    let (o, out) = env.create(&b, &id);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("linux.resources.memory.kernelTCP: cgroup v2 has no TCP buffer limit"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(out).unwrap(), "", "the process ran");
    assert!(!cgdir(&id).exists());
    if !parent_before {
        assert!(!Path::new("/sys/fs/cgroup/hull").exists(), "/hull left");
    }
    assert_no_leftovers(&env, &id);
    for t in [0, -1] {
        let mut b = env.bundle(&["echo", "ran"]);
        b.edit(|cfg| cfg["linux"]["resources"] = json!({"memory": {"kernelTCP": t}}));
        let id = env.id("v2ktcpnone");
        let (code, out, err) = env.run(&b, &id);
        assert_eq!((code, out.as_str()), (0, "ran\n"), "kernelTCP {t}: {err}");
        assert_no_leftovers(&env, &id);
    }
}

fn unified_keys_are_written_and_unknown_ones_refused() {
    let env = Env::new();
    let mut map = json!({"cgroup.max.descendants": "7", "cgroup.max.depth": "3"});
    let mut want = vec![
        ("cgroup.max.descendants".to_string(), "7".to_string()),
        ("cgroup.max.depth".into(), "3".into()),
    ];
    match hugetlb() {
        Ok((size, bytes)) => {
            // A controller's key enables the controller in the parents first.
            let f = format!("hugetlb.{size}.max");
            map[&f] = json!((3 * bytes).to_string());
            want.push((f, (3 * bytes).to_string()));
        }
        Err(why) => skip_part(why),
    }
    if offers("pids") {
        map["pids.max"] = json!("9");
        want.push(("pids.max".into(), "9".into()));
    } else {
        skip_part(lacking("pids"));
    }
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["resources"] = json!({"unified": map}));
    let id = env.id("v2unified");
    env.create_ok(&b, &id);
    for (f, v) in &want {
        assert_eq!(&read(&cgdir(&id), f), v, "{f}");
    }
    delete(&env, &[&id]);
    assert_no_leftovers(&env, &id);

    for (key, needle) in [
        ("nope.file", "linux.resources.unified.nope.file"),
        ("../cgroup.procs", "not a cgroup file name"),
    ] {
        let mut b = env.bundle(&["echo", "should-not-run"]);
        b.edit(|c| c["linux"]["resources"] = json!({"unified": {key: "1"}}));
        let id = env.id("v2unifiedbad");
        let (o, _) = env.create(&b, &id);
        assert_eq!(o.status.code(), Some(1), "{key}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(needle), "{}", text(&o.stderr));
        assert_no_leftovers(&env, &id);
    }
}

// ---- devices --------------------------------------------------------------------------------

fn v2_device_filter_denies_what_the_rules_deny() {
    let env = Env::new();
    // CAP_MKNOD lets the shell make the nodes; the eBPF program decides whether they open.
    // They are made on /dev (a tmpfs without nodev): on a nodev mount such as the config's
    // /tmp every device open fails with EACCES, whatever the cgroup says.
    let script = "mknod /dev/t-sda b 8 0; mknod /dev/t-fuse c 10 229; ls -l /dev/t-sda; \
                  echo sda: $(head -c 0 /dev/t-sda 2>&1 && echo open); \
                  echo fuse: $(head -c 0 /dev/t-fuse 2>&1 && echo open); \
                  head -c 1 /dev/zero | wc -c; echo END";
    for explicit in [false, true] {
        let mut b = env.bundle(&["sh", "-c", script]);
        b.edit(|c| {
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set] = json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE"]);
            }
            if explicit {
                // Allow the fuse node; nothing allows block device 8:0.
                c["linux"]["resources"] = json!({"devices": [
                    {"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
                ]});
            }
        });
        let id = env.id("v2dev");
        let out = env.create_ok(&b, &id);
        // The filter is hull's eBPF program on the container's directory (v2 has no
        // devices.list); no v1 devices hierarchy holds the container.
        let progs = hull::cgroups::devices::attached_programs(&cgdir(&id)).unwrap();
        assert_eq!(progs.len(), 1, "one device program attached: {progs:?}");
        start(&env, &id);
        let t = wait_for_output(&out, "END\n");
        let what = format!("explicit rules={explicit}: {t}");
        assert!(t.lines().any(|l| l.starts_with("brw")), "mknod: {what}");
        let sda = t.lines().find(|l| l.starts_with("sda:")).unwrap();
        assert!(sda.contains("not permitted"), "8:0 must be denied: {what}");
        let fuse = t.lines().find(|l| l.starts_with("fuse:")).unwrap();
        if explicit {
            // It passes the filter: opens, or the driver answers (no fuse module), never EPERM.
            assert!(
                fuse == "fuse: open" || fuse.contains("No such device"),
                "{what}"
            );
        } else {
            assert!(fuse.contains("not permitted"), "deny-all default: {what}");
        }
        assert!(
            t.lines().any(|l| l == "1"),
            "/dev/zero (default allowlist): {what}"
        );
        env.wait_status(&id, "stopped");
        delete(&env, &[&id]);
        assert_no_leftovers(&env, &id);
    }
}

// ---- events ---------------------------------------------------------------------------------

fn events_stats_is_runc_json_from_the_v2_files() {
    let env = Env::new();
    let mut res = json!({});
    if offers("memory") {
        res["memory"] = json!({"limit": 64 << 20});
    } else {
        skip_part(lacking("memory"));
    }
    if offers("pids") {
        res["pids"] = json!({"limit": 50});
    }
    let huge = hugetlb();
    match &huge {
        Ok((size, bytes)) => {
            res["hugepageLimits"] = json!([{"pageSize": size, "limit": 2 * bytes}])
        }
        Err(why) => skip_part(why.clone()),
    }
    let mut b = env.bundle(&["sh", "-c", "sleep 1000 & echo ready; wait"]);
    b.edit(|c| c["linux"]["resources"] = res);
    let id = env.id("v2stats");
    let out = env.create_ok(&b, &id);
    start(&env, &id);
    wait_for_output(&out, "ready\n");

    let o = env.hull(&["events", "--stats", &id]);
    assert!(o.status.success(), "events --stats: {}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    let ev: Value = serde_json::from_str(stdout.trim_end()).unwrap();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], id.as_str());
    let d = &ev["data"];
    for k in [
        "cpu",
        "cpuset",
        "memory",
        "pids",
        "blkio",
        "hugetlb",
        "intel_rdt",
    ] {
        assert!(d[k].is_object(), "{k} missing: {d}");
    }
    // cpu.stat is in every cgroup2 directory, controller or not.
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0, "{d}");
    // pids.current, or cgroup.procs counted without the pids controller: sh + sleep.
    assert_eq!(d["pids"]["current"], 2, "{d}");
    if offers("pids") {
        assert_eq!(d["pids"]["limit"], 50, "{d}");
    }
    if offers("memory") {
        assert_eq!(d["memory"]["usage"]["limit"], 64u64 << 20, "{d}");
        assert!(
            d["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
            "{d}"
        );
    }
    if let Ok((size, _)) = &huge {
        assert!(d["hugetlb"][size].is_object(), "hugetlb {size}: {d}");
    }
    assert_eq!(env.status(&id), "running");
    delete(&env, &["--force", &id]);
    assert_no_leftovers(&env, &id);
}

fn events_stream_ends_when_the_container_exits() {
    let env = Env::new();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("v2stream");
    env.create_ok(&b, &id);
    start(&env, &id);
    let out = env.dir.join("events.out");
    let err = env.dir.join("events.err");
    let mut child = env
        .cmd(&["events", "--interval", "100ms", &id])
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // Killed (by its own pid) if the test fails before it ends.
    struct Reap<'a>(&'a mut std::process::Child);
    impl Drop for Reap<'_> {
        fn drop(&mut self) {
            if self.0.try_wait().ok().flatten().is_none() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
    let reap = Reap(&mut child);
    let stats = || {
        fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["type"] == "stats" && e["id"] == id.as_str())
            .count()
    };
    let end = Instant::now() + Duration::from_secs(10);
    while stats() < 2 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        stats() >= 2,
        "stats every interval: {:?} {:?}",
        fs::read_to_string(&out),
        fs::read_to_string(&err)
    );
    let o = env.hull(&["kill", &id, "KILL"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = reap.0.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > end {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let status = status.expect("the stream must end when the container exits");
    assert!(status.success(), "{:?}", fs::read_to_string(&err));
    if !offers("memory") {
        skip_part(format!("oom events: {}", lacking("memory")));
    }
    drop(reap);
    delete(&env, &[&id]);
    assert_no_leftovers(&env, &id);
}

// ---- delete, cgroupsPath --------------------------------------------------------------------

fn delete_removes_the_cgroup_and_the_last_one_the_hull_parent() {
    let env = Env::new();
    let parent = Path::new("/sys/fs/cgroup/hull");
    let others = fs::read_dir(parent)
        .map(|rd| rd.flatten().any(|e| e.path().is_dir()))
        .unwrap_or(false);
    let b = env.bundle(&["sleep", "1000"]);
    let (first, second) = (env.id("v2parent-a"), env.id("v2parent-b"));
    env.create_ok(&b, &first);
    env.create_ok(&b, &second);
    assert!(cgdir(&first).is_dir() && cgdir(&second).is_dir());
    delete(&env, &[&first]);
    assert!(!cgdir(&first).exists(), "{} left", cgdir(&first).display());
    assert!(parent.is_dir(), "/hull removed while {second} is in it");
    delete(&env, &[&second]);
    assert!(!cgdir(&second).exists());
    if others {
        skip_part("/hull parent removal: other containers are in /sys/fs/cgroup/hull");
    } else {
        assert!(!parent.exists(), "/hull must go with the last container");
    }
    assert_no_leftovers(&env, &first);
    assert_no_leftovers(&env, &second);
}

fn absolute_and_relative_cgroups_paths_are_honoured() {
    let env = Env::new();
    let own = cgroup2_of(std::process::id() as i32).unwrap();
    let own = own.trim_start_matches("0::").trim_end_matches('/');
    for absolute in [true, false] {
        let id = env.id("v2path");
        let (path, dir, top) = if absolute {
            let p = format!("/hull-abs-{id}/c");
            let top = PathBuf::from(format!("/sys/fs/cgroup/hull-abs-{id}"));
            (p, top.join("c"), top)
        } else {
            // Relative: beside the caller's own cgroup2 path (under its parent; runc's fs2).
            let p = format!("hull-rel-{id}/c");
            let parent = Path::new(own).parent().map_or(String::new(), |p| {
                p.to_string_lossy().trim_end_matches('/').to_string()
            });
            let top = PathBuf::from(format!("/sys/fs/cgroup{parent}/hull-rel-{id}"));
            (p, top.join("c"), top)
        };
        let mut b = env.bundle(&["sleep", "1000"]);
        b.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
        env.create_ok(&b, &id);
        let init = init_pid(&env, &id);
        assert_eq!(procs(&dir), vec![init], "{}", dir.display());
        let rel = dir.strip_prefix("/sys/fs/cgroup").unwrap();
        assert_eq!(
            cgroup2_of(init).unwrap(),
            format!("0::/{}", rel.display()),
            "{path}"
        );
        delete(&env, &["--force", &id]);
        wait_gone(&[init]);
        // Both levels were made by hull: both go.
        assert!(!dir.exists() && !top.exists(), "{} left", top.display());
        assert_no_leftovers(&env, &id);
    }
}

/// `--systemd-cgroup` on a cgroup v2 host where it cannot work: no system bus (a socket path
/// that does not exist), a cgroupsPath not of the form slice:prefix:name, a malformed property
/// annotation. Each is one line naming what is wrong, exit 1, and nothing is left: no state
/// dir, no cgroup, no idle first process of a scope (the harness's last test checks processes).
fn systemd_driver_refusals_name_the_bus_path_or_annotation_and_leave_nothing() {
    let env = Env::new();
    let nobus = env.dir.join("no-bus");
    let cases: [(&str, Value, &str); 3] = [
        (
            "bus",
            json!({}),
            "cannot talk to systemd over the system bus at",
        ),
        (
            "path",
            json!({"linux": {"cgroupsPath": "/not/a/unit"}}),
            "linux.cgroupsPath: \"/not/a/unit\" is not of the form \"slice:prefix:name\"",
        ),
        (
            "annotation",
            json!({"annotations": {"org.systemd.property.TimeoutStopSec": "'soon'"}}),
            "annotations[\"org.systemd.property.TimeoutStopSec\"]",
        ),
    ];
    for (what, patch, want) in cases {
        let id = env.id(&format!("sd{what}"));
        let mut b = env.bundle(&["true"]);
        b.edit(|c| {
            if let Some(p) = patch.pointer("/linux/cgroupsPath") {
                c["linux"]["cgroupsPath"] = p.clone();
            }
            if let Some(a) = patch.get("annotations") {
                c["annotations"] = a.clone();
            }
        });
        let o = env
            .cmd(&[
                "--systemd-cgroup",
                "create",
                "--bundle",
                b.dir.to_str().unwrap(),
                &id,
            ])
            .env(
                "DBUS_SYSTEM_BUS_ADDRESS",
                format!("unix:path={}", nobus.display()),
            )
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(want), "{what}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
        if what == "bus" {
            assert!(err.contains(nobus.to_str().unwrap()), "{err}");
        }
        assert_no_leftovers(&env, &id);
    }
}

// ---- a user's delegated subtree (rootless) --------------------------------------------------

/// A cgroup v2 subtree delegated to the rootless world's user as systemd's `Delegate=yes` hands
/// out `user@UID.service` in `user-UID.slice`:
/// - `slice`, `/hull-deleg-<pid>-<n>.slice`: root's; the delegated controllers enabled in its
///   `cgroup.subtree_control` (and in the root's where it lacked one: root's is never undone, as
///   after any root container with limits), so they are in the subtree's `cgroup.controllers`;
/// - `top`, `slice/user@UID.service`: the delegated subtree; the directory and its
///   `cgroup.procs`, `cgroup.threads` and `cgroup.subtree_control` chowned to the user;
/// - `top/shell`: a leaf the user made (`mkdir` as the user), where the user's commands start
///   (root writes them into its `cgroup.procs` before they become the user, as systemd places a
///   session), so hull's own cgroup has processes and its parent is the subtree's top.
///
/// Dropped (also when a test fails): everything in the slice killed (`cgroup.kill`), then every
/// directory removed, deepest first. Handed to the world's keeper too, which removes it should
/// this binary be killed before the drop.
struct Delegated {
    slice: PathBuf,
    top: PathBuf,
    shell: PathBuf,
}

/// A delegated subtree's directories (relative to its top) with owner uid, gid and processes,
/// and each one's `cgroup.subtree_control`.
type Snapshot = (
    BTreeSet<(PathBuf, u32, u32, Vec<i32>)>,
    Vec<(PathBuf, String)>,
);

impl Delegated {
    /// The subtree, with `controllers` (a subset of what cgroup2 offers) delegated.
    fn hand_out(user: &common::rootless::RootlessUser, controllers: &[String]) -> Delegated {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = Path::new("/sys/fs/cgroup");
        let slice = root.join(format!("hull-deleg-{}-{n}.slice", std::process::id()));
        fs::create_dir(&slice).unwrap();
        user.own_cgroup(&slice);
        let top = slice.join(format!("user@{}.service", user.uid));
        let d = Delegated {
            shell: top.join("shell"),
            top,
            slice,
        };
        let enable = |dir: &Path| {
            let have = read(dir, "cgroup.subtree_control");
            for c in controllers {
                if !have.split_whitespace().any(|x| x == c) {
                    fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"))
                        .unwrap_or_else(|e| panic!("enable {c} in {}: {e}", dir.display()));
                }
            }
        };
        enable(root);
        enable(&d.slice);
        fs::create_dir(&d.top).unwrap();
        for f in [
            "",
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.subtree_control",
        ] {
            let p = d.top.join(f);
            std::os::unix::fs::chown(&p, Some(user.uid), Some(user.gid))
                .unwrap_or_else(|e| panic!("chown {}: {e}", p.display()));
        }
        d.user_mkdir(user, &d.shell);
        let mut offered = read(&d.top, "cgroup.controllers")
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>();
        offered.sort();
        let mut want = controllers.to_vec();
        want.sort();
        assert_eq!(offered, want, "the subtree's cgroup.controllers");
        d
    }

    /// `mkdir dir` as the user (the kernel makes the cgroup the user's).
    fn user_mkdir(&self, user: &common::rootless::RootlessUser, dir: &Path) {
        let o = user.cmd("mkdir").arg(dir).output().unwrap();
        assert!(
            o.status.success(),
            "mkdir {}: {}",
            dir.display(),
            text(&o.stderr)
        );
    }

    /// `hull --root <env's> args…` as the user, started in the `shell` leaf, stdin null.
    fn hull(&self, env: &common::rootless::UserEnv, args: &[&str]) -> std::process::Command {
        let mut c = env
            .user
            .cmd_in(hull_bin(), Some(&self.shell.join("cgroup.procs")));
        c.arg("--root")
            .arg(&env.root)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// [`Self::hull`], run with its output captured.
    fn run(&self, env: &common::rootless::UserEnv, args: &[&str]) -> std::process::Output {
        self.hull(env, args).output().unwrap()
    }

    /// `hull --debug create` as the user from the shell leaf, its stdio to files (init keeps
    /// them: a pipe would never end); asserts success and that init was born in its cgroup by
    /// clone3(CLONE_INTO_CGROUP), no fallback. Returns the stdout file.
    fn create(&self, env: &common::rootless::UserEnv, b: &Bundle, id: &str) -> PathBuf {
        let (out, err) = (
            env.dir.join(format!("{id}.out")),
            env.dir.join(format!("{id}.err")),
        );
        let st = self
            .hull(
                env,
                &["--debug", "create", "--bundle", b.dir.to_str().unwrap(), id],
            )
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        let log = fs::read_to_string(&err).unwrap_or_default();
        assert!(st.success(), "create {id}: {log}");
        assert!(!log.contains(MIGRATED), "create {id} fell back: {log}");
        out
    }

    /// The cgroup2 path of `dir` as /proc/PID/cgroup shows it.
    fn proc_line(dir: &Path) -> String {
        format!(
            "0::/{}",
            dir.strip_prefix("/sys/fs/cgroup").unwrap().display()
        )
    }

    /// Every directory of the subtree (relative to its top) with its owner, its processes, and
    /// its `cgroup.subtree_control` apart: what delete must leave as it was.
    fn snapshot(&self) -> Snapshot {
        use std::os::unix::fs::MetadataExt;
        let mut dirs = BTreeSet::new();
        let mut control = Vec::new();
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            out.push(d.to_path_buf());
            for e in fs::read_dir(d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
        }
        let mut all = Vec::new();
        walk(&self.top, &mut all);
        for d in all {
            let m = fs::metadata(&d).unwrap();
            let rel = d.strip_prefix(&self.top).unwrap().to_path_buf();
            dirs.insert((rel.clone(), m.uid(), m.gid(), procs(&d)));
            control.push((rel, read(&d, "cgroup.subtree_control")));
        }
        control.sort();
        (dirs, control)
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        let _ = fs::write(self.slice.join("cgroup.kill"), "1");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut dirs: Vec<PathBuf> = Vec::new();
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            out.push(d.to_path_buf());
            for e in fs::read_dir(d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
        }
        walk(&self.slice, &mut dirs);
        for d in dirs.iter().rev() {
            while fs::remove_dir(d).is_err() && d.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// The rootless world's user, or skip the test.
macro_rules! rootless_user_or_skip {
    () => {
        match common::rootless::RootlessUser::shared() {
            Some(u) => u,
            None => skip_all!("no rootless world here (reason above)"),
        }
    };
}

/// Add a cgroup namespace to a config that lacks one (`spec --rootless` has none).
fn with_cgroupns(c: &mut Value) {
    let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
    if !ns.iter().any(|n| n["type"] == "cgroup") {
        ns.push(json!({"type": "cgroup"}));
    }
}

/// Rootless hull in a user's delegated subtree (issue #12: "where a delegated cgroup v2 subtree
/// is writable, use it"), cgroupfs driver, a relative `cgroupsPath` `pod/ctr` (`check` finds
/// nothing to refuse in it): resolved from
/// the parent of hull's own cgroup (runc's fs2 rule), so it is the subtree's `top/pod/ctr`,
/// both made by the user's hull (the user's, by the kernel). Init is born there by clone3
/// (no fallback), sees itself at the root of its cgroup namespace, and so does an exec'd
/// process; the limits cgroup2 offers are applied and none is refused (hull enables their
/// controllers in `top` and `pod`, which the user owns); ps, events --stats, update,
/// pause/resume (`cgroup.freeze`), kill --all (`cgroup.kill`) work on it; delete removes `pod/ctr`
/// and `pod` (hull made both) and leaves the subtree as handed out: the same directories,
/// owners and processes, `cgroup.subtree_control` of `top` gaining only the controllers the
/// limits asked for (not undone: sibling containers may rely on them).
fn a_rootless_user_s_delegated_subtree_holds_its_containers() {
    let user = rootless_user_or_skip!();
    let deleg = Delegated::hand_out(user, &controllers());
    let before = deleg.snapshot();
    let env = user.env();
    let (res, files) = offered_resources();
    let mut b = env.bundle(&["sh", "-c", "cat /proc/self/cgroup; echo ready; sleep 1000"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!("pod/ctr");
        c["linux"]["resources"] = res.clone();
        with_cgroupns(c);
    });
    let id = env.id("deleg");
    // `check` foresees nothing create would refuse.
    let o = deleg.run(&env, &["check", "--bundle", b.dir.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "check: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let out = deleg.create(&env, &b, &id);
    let ctr = deleg.top.join("pod/ctr");
    let state: Value = serde_json::from_slice(&deleg.run(&env, &["state", &id]).stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(cgroup2_of(pid).unwrap(), Delegated::proc_line(&ctr));
    assert_eq!(procs(&ctr), vec![pid]);
    {
        use std::os::unix::fs::MetadataExt;
        for d in [deleg.top.join("pod"), ctr.clone()] {
            assert_eq!(fs::metadata(&d).unwrap().uid(), user.uid, "{}", d.display());
        }
    }
    for (f, want) in &files {
        assert_eq!(&read(&ctr, f), want, "{f}");
    }
    let o = deleg.run(&env, &["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    let seen = wait_for_output(&out, "ready\n");
    assert!(seen.lines().any(|l| l == "0::/"), "{seen}");

    // exec joins the container's cgroup (clone3 into it, from the shell leaf).
    // The detached process keeps exec's stdio: files, not pipes (a pipe would never end).
    let (pidfile, exec_err) = (env.dir.join("exec.pid"), env.dir.join("exec.err"));
    let st = deleg
        .hull(
            &env,
            &[
                "exec",
                "--detach",
                "--pid-file",
                pidfile.to_str().unwrap(),
                &id,
                "sleep",
                "1001",
            ],
        )
        .stdout(Stdio::null())
        .stderr(fs::File::create(&exec_err).unwrap())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "exec: {}",
        fs::read_to_string(&exec_err).unwrap_or_default()
    );
    let exec_pid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(cgroup2_of(exec_pid).unwrap(), Delegated::proc_line(&ctr));
    let o = deleg.run(&env, &["exec", &id, "cat", "/proc/self/cgroup"]);
    assert!(o.status.success(), "exec: {}", text(&o.stderr));
    assert!(
        text(&o.stdout).lines().any(|l| l == "0::/"),
        "{}",
        text(&o.stdout)
    );

    let o = deleg.run(&env, &["ps", "--format", "json", &id]);
    let ps: Vec<i32> = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("ps: {e}: {}", text(&o.stderr)));
    let mut want = procs(&ctr);
    want.sort_unstable();
    let mut ps_sorted = ps.clone();
    ps_sorted.sort_unstable();
    assert_eq!(ps_sorted, want);
    assert!(ps.contains(&pid) && ps.contains(&exec_pid), "{ps:?}");

    // events --stats: runc's JSON from the subtree's files.
    let o = deleg.run(&env, &["events", "--stats", &id]);
    assert!(o.status.success(), "events --stats: {}", text(&o.stderr));
    let ev: Value = serde_json::from_str(text(&o.stdout).trim_end()).unwrap();
    assert_eq!(ev["type"], "stats");
    let d = &ev["data"];
    assert_eq!(d["pids"]["current"], want.len(), "{d}");
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap_or(0) > 0, "{d}");
    if let Ok((size, _)) = hugetlb() {
        assert!(d["hugetlb"][&size].is_object(), "hugetlb {size}: {d}");
    }
    if offers("pids") {
        assert_eq!(d["pids"]["limit"], 20, "{d}");
    }
    if offers("memory") {
        assert_eq!(d["memory"]["usage"]["limit"], 64u64 << 20, "{d}");
    }

    // update: runc's flags where cgroup2 has their controllers, --resources for huge pages.
    let mut flags: Vec<&str> = vec!["update"];
    let mut updated: Vec<(String, String)> = Vec::new();
    if offers("pids") {
        flags.extend(["--pids-limit", "10"]);
        updated.push(("pids.max".into(), "10".into()));
    }
    if offers("memory") {
        flags.extend(["--memory", "128m", "--memory-swap", "256m"]);
        updated.push(("memory.max".into(), (128u64 << 20).to_string()));
    }
    if flags.len() > 1 {
        flags.push(&id);
        let o = deleg.run(&env, &flags);
        assert!(o.status.success(), "{flags:?}: {}", text(&o.stderr));
    }
    if let Ok((size, bytes)) = hugetlb() {
        let mut child = deleg
            .hull(&env, &["update", "--resources", "-", &id])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(
                json!({"hugepageLimits": [{"pageSize": size, "limit": 4 * bytes}]})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "update hugepageLimits: {}",
            text(&o.stderr)
        );
        updated.push((format!("hugetlb.{size}.max"), (4 * bytes).to_string()));
    }
    for (f, v) in &updated {
        assert_eq!(&read(&ctr, f), v, "{f} after update");
    }

    let o = deleg.run(&env, &["pause", &id]);
    assert!(o.status.success(), "pause: {}", text(&o.stderr));
    assert_eq!(read(&ctr, "cgroup.freeze"), "1");
    assert!(read(&ctr, "cgroup.events").lines().any(|l| l == "frozen 1"));
    let status = |id: &str| -> String {
        let s: Value = serde_json::from_slice(&deleg.run(&env, &["state", id]).stdout).unwrap();
        s["status"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(status(&id), "paused");
    let o = deleg.run(&env, &["resume", &id]);
    assert!(o.status.success(), "resume: {}", text(&o.stderr));
    assert_eq!(read(&ctr, "cgroup.freeze"), "0");
    assert_eq!(status(&id), "running");

    let o = deleg.run(&env, &["kill", "--all", &id, "KILL"]);
    assert!(o.status.success(), "kill --all: {}", text(&o.stderr));
    wait_gone(&[pid, exec_pid]);
    assert!(procs(&ctr).is_empty());
    let o = deleg.run(&env, &["delete", &id]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert!(!deleg.top.join("pod").exists(), "pod left");

    let after = deleg.snapshot();
    assert_eq!(
        after.0, before.0,
        "the subtree's directories, owners and processes"
    );
    for ((dir, was), (_, now)) in before.1.iter().zip(&after.1) {
        let was: BTreeSet<&str> = was.split_whitespace().collect();
        let now: BTreeSet<&str> = now.split_whitespace().collect();
        let gained: BTreeSet<&str> = now.difference(&was).copied().collect();
        assert!(was.is_subset(&now), "{}: {was:?} → {now:?}", dir.display());
        let asked: BTreeSet<&str> = files
            .iter()
            .map(|(f, _)| f.split('.').next().unwrap())
            .collect();
        assert!(
            gained.is_subset(&asked),
            "{}: gained {gained:?}",
            dir.display()
        );
    }
    if files.is_empty() {
        skip_part("limits: cgroup2 offers no controller here");
    }
}

/// An absolute `cgroupsPath` into the delegated subtree, under a cgroup the user made itself
/// (`mine`): init is born in `mine/abs`, the limits land there, and delete removes `abs` (hull
/// made it) but not `mine` (the user's).
fn an_absolute_path_into_the_delegated_subtree_is_used_and_the_user_s_own_parent_kept() {
    let user = rootless_user_or_skip!();
    let deleg = Delegated::hand_out(user, &controllers());
    let mine = deleg.top.join("mine");
    deleg.user_mkdir(user, &mine);
    let env = user.env();
    let (res, files) = offered_resources();
    let dir = mine.join("abs");
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(dir
            .strip_prefix("/sys/fs/cgroup")
            .map(|p| Path::new("/").join(p))
            .unwrap());
        c["linux"]["resources"] = res.clone();
    });
    let id = env.id("deleg-abs");
    deleg.create(&env, &b, &id);
    let state: Value = serde_json::from_slice(&deleg.run(&env, &["state", &id]).stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(cgroup2_of(pid).unwrap(), Delegated::proc_line(&dir));
    for (f, want) in &files {
        assert_eq!(&read(&dir, f), want, "{f}");
    }
    let o = deleg.run(&env, &["delete", "--force", &id]);
    assert!(o.status.success(), "delete --force: {}", text(&o.stderr));
    wait_gone(&[pid]);
    assert!(!dir.exists(), "{} left", dir.display());
    assert!(
        mine.is_dir(),
        "the user's own cgroup went with the container"
    );
}

/// A `cgroupsPath` outside the delegated subtree (an absolute path the user may not make): with
/// no limits the container runs without a cgroup — init stays in hull's own (the shell leaf),
/// `pause` says there is none — and with a limit create is refused naming the field and how to
/// get a delegated subtree; neither leaves a cgroup or a state dir.
fn a_path_outside_the_delegated_subtree_goes_without_a_cgroup_or_is_refused() {
    let user = rootless_user_or_skip!();
    let deleg = Delegated::hand_out(user, &controllers());
    let env = user.env();
    let outside = format!("/hull-not-delegated-{}", std::process::id());
    let outside_dir = Path::new("/sys/fs/cgroup").join(outside.trim_start_matches('/'));
    let mut b = env.bundle(&["sleep", "1000"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(outside));
    let id = env.id("deleg-out");
    deleg.create(&env, &b, &id);
    let state: Value = serde_json::from_slice(&deleg.run(&env, &["state", &id]).stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap() as i32;
    assert_eq!(cgroup2_of(pid).unwrap(), Delegated::proc_line(&deleg.shell));
    assert!(!outside_dir.exists());
    let o = deleg.run(&env, &["start", &id]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    let o = deleg.run(&env, &["pause", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("no cgroup"), "{}", text(&o.stderr));
    let o = deleg.run(&env, &["delete", "--force", &id]);
    assert!(o.status.success(), "delete --force: {}", text(&o.stderr));
    wait_gone(&[pid]);

    let (res, files) = offered_resources();
    if files.is_empty() {
        skip_part("a refused limit: cgroup2 offers no controller here");
        return;
    }
    b.edit(|c| c["linux"]["resources"] = res.clone());
    let id = env.id("deleg-out");
    let o = deleg.run(&env, &["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("linux.resources.") && err.contains("Delegate=yes"),
        "{err}"
    );
    let o = deleg.run(&env, &["check", "--bundle", b.dir.to_str().unwrap()]);
    let said = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "check: {said}{}", text(&o.stderr));
    let refused = err.trim_end().trim_start_matches("hull: ");
    assert!(said.contains(refused), "check: {said}\ncreate: {err}");
    assert!(!outside_dir.exists());
    assert!(!env.root.join(&id).exists(), "{id}'s state dir left");
}

/// A subtree whose parent does not enable a controller (systemd delegates only the controllers
/// it manages, never hugetlb): a limit of that controller is refused at create, naming the
/// field and the controller, and the cgroup hull made for it is gone.
fn a_limit_whose_controller_is_not_delegated_is_refused_naming_it() {
    let user = rootless_user_or_skip!();
    let Ok((size, bytes)) = hugetlb() else {
        skip_all!("{}", lacking("hugetlb"));
    };
    let deleg = Delegated::hand_out(user, &[]);
    let env = user.env();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!("ctr");
        c["linux"]["resources"] = json!({"hugepageLimits": [{"pageSize": size, "limit": bytes}]});
    });
    let id = env.id("deleg-nohuge");
    let o = deleg.run(&env, &["create", "--bundle", b.dir.to_str().unwrap(), &id]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("linux.resources.hugepageLimits")
            && err.contains("hugetlb")
            && err.contains("delegat"),
        "{err}"
    );
    assert!(!deleg.top.join("ctr").exists(), "ctr left");
    // `check` foresees it, in create's words, making nothing.
    let o = deleg.run(&env, &["check", "--bundle", b.dir.to_str().unwrap()]);
    let said = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "check: {said}{}", text(&o.stderr));
    let line = err.trim_end().trim_start_matches("hull: ");
    assert!(said.contains(line), "check: {said}\ncreate: {err}");
    assert!(!deleg.top.join("ctr").exists(), "check made ctr");
    assert!(!env.root.join(&id).exists(), "{id}'s state dir left");
}

// ---- the end --------------------------------------------------------------------------------

/// Every container id and Env dir of this run has this process's pid in it (common/mod.rs).
fn nothing_of_this_run_is_left_behind() {
    let tag = format!("-{}-", std::process::id());
    let cg = cgroup_dirs_named(&tag);
    assert!(cg.is_empty(), "cgroups left: {cg:?}");
    let m = mounts_mentioning(&format!("hull-test-{}", std::process::id()));
    assert!(m.is_empty(), "mounts left: {m:?}");
    // The rootless world's keeper stays until the binary exits (and takes the world down).
    let keeper = |pid: i32| {
        common::rootless::RootlessUser::existing().is_some_and(|u| u.keeper_pid() == pid as u32)
    };
    let mut stray = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if cgroup2_of(pid).is_some_and(|l| l.contains(&tag)) && !is_gone(pid) {
            stray.push(pid);
        }
        // Our own children (hull commands, events streams) must all be gone.
        let ppid = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(") ")
                    .and_then(|(_, r)| r.split(' ').nth(1).map(String::from))
            });
        if ppid.as_deref() == Some(&std::process::id().to_string()) && !is_gone(pid) && !keeper(pid)
        {
            stray.push(pid);
        }
    }
    assert!(stray.is_empty(), "processes left: {stray:?}");
    let tmp: Vec<_> = fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("hull-test-{}-", std::process::id())))
        .collect();
    assert!(tmp.is_empty(), "env dirs left: {tmp:?}");
}
