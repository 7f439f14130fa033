//! The shape of the source tree, checked on every run (no root, no container): the modules of
//! `src/` import each other without a circle; no hand-written file is over the ~800-line
//! guideline; the system calls everyone needs are wrapped once, in `src/sys/`; and every
//! process that enters a container goes through the one spawn pipeline (`src/process/`).
//! A failure names the file and what it found there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Generated files, exempt from the size guideline.
const GENERATED: &[&str] = &["seccomp/tables.rs"];
/// The size guideline (STYLE.md: "when a file passes ~800 lines, it is two concerns").
const MAX_LINES: usize = 800;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as (path relative to src, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(&src(), &src(), &mut out);
    out.sort();
    assert!(out.len() > 20, "src/ not found: {}", src().display());
    out
}

/// The code of a file without its unit tests, comments and string literals (what it really
/// calls: a syscall's name in a table is no call).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let (mut in_str, mut escaped) = (false, false);
        let mut prev = ' ';
        for c in line.chars() {
            if in_str {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_str = false,
                    _ => {}
                }
            } else if c == '/' && prev == '/' {
                out.pop();
                break;
            } else if c == '"' {
                in_str = true;
                out.push_str("\"\"");
            } else {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// The top-level module a file belongs to (`lib.rs`/`main.rs`: none).
fn top_module(rel: &str) -> Option<String> {
    let first = rel.split('/').next().unwrap().trim_end_matches(".rs");
    (!matches!(first, "lib" | "main")).then(|| first.to_string())
}

/// Top-level module → the top-level modules its code names as `crate::<name>`.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in sources() {
        let Some(me) = top_module(&rel) else { continue };
        let code = code(&text);
        let deps = g.entry(me.clone()).or_default();
        for part in code.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != me && name.chars().next().unwrap().is_lowercase() {
                deps.insert(name);
            }
        }
    }
    g
}

/// A circle in `g`, if there is one (depth-first search, three colours).
fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == n).unwrap();
                let mut c = path[start..].to_vec();
                c.push(n.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn cycle_finder_finds_circles() {
    let g = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
        }
        g
    };
    assert_eq!(find_cycle(&g(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(
        find_cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn modules_import_each_other_without_a_circle() {
    let g = import_graph();
    assert!(
        g.contains_key("process") && g["process"].contains("sys"),
        "{g:?}"
    );
    if let Some(c) = find_cycle(&g) {
        panic!("import circle among src/ modules: {}", c.join(" -> "));
    }
}

#[test]
fn the_ground_floor_imports_only_errors_and_logging() {
    let g = import_graph();
    let extra: Vec<_> = g["sys"]
        .iter()
        .filter(|m| !matches!(m.as_str(), "error" | "logging"))
        .collect();
    assert!(extra.is_empty(), "src/sys imports {extra:?}");
}

#[test]
fn no_hand_written_file_is_over_the_size_guideline() {
    let over: Vec<String> = sources()
        .into_iter()
        .filter(|(rel, _)| !GENERATED.contains(&rel.as_str()))
        .filter_map(|(rel, text)| {
            let n = text.lines().count();
            (n > MAX_LINES).then(|| format!("{rel}: {n} lines"))
        })
        .collect();
    assert!(over.is_empty(), "over {MAX_LINES} lines: {over:?}");
}

/// Raw calls that have exactly one wrapper, in `src/sys/`.
const WRAPPED: &[(&str, &str)] = &[
    ("libc::socketpair(", "sys::socket::pair"),
    ("sendmsg", "sys::socket::send_with_fd"),
    ("recvmsg", "sys::socket::recv_with_fds"),
    ("UnixStream::connect", "sys::socket::connect"),
    ("SYS_pidfd_open", "sys::pidfd::open"),
    ("SYS_pidfd_send_signal", "sys::pidfd::signal"),
    ("SYS_openat2", "sys::fd::openat2"),
    ("libc::pipe2(", "sys::fd::pipe"),
    ("SYS_close_range", "sys::fd::cloexec_from"),
    ("libc::poll(", "sys::wait::poll"),
    ("libc::waitpid(", "sys::wait::{wait, reap}"),
    ("sys::wait::waitpid", "sys::wait::{wait, reap}"),
    ("SYS_clone", "sys::clone"),
    ("libc::fork(", "sys::clone::fork"),
    ("sched_setaffinity", "sys::cpu::set_affinity"),
    ("fn cstrings", "sys::fd::cstrings"),
    ("SYS_mount_setattr", "sys::mount::setattr"),
    ("SYS_open_tree", "sys::mount::clone_tree"),
    ("SYS_move_mount", "sys::mount::attach"),
    ("SYS_fsopen", "sys::mount::new_instance"),
    ("libc::fstatfs(", "sys::mount::fs_magic"),
];

#[test]
fn system_calls_everyone_needs_are_wrapped_once_in_sys() {
    let mut found = Vec::new();
    for (rel, text) in sources() {
        if rel.starts_with("sys/") {
            continue;
        }
        let code = code(&text);
        for (raw, wrapper) in WRAPPED {
            if code.contains(raw) {
                found.push(format!("{rel} calls {raw} (use {wrapper})"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
    // And each wrapper exists once.
    let sys: String = sources()
        .into_iter()
        .filter(|(rel, _)| rel.starts_with("sys/"))
        .map(|(_, t)| code(&t))
        .collect();
    for raw in [
        "SYS_pidfd_open",
        "libc::socketpair(",
        "SYS_openat2",
        "libc::pipe2(",
    ] {
        assert_eq!(sys.matches(raw).count(), 1, "{raw} in src/sys");
    }
}

/// Where a call may stand, and nowhere else: one clone into a container, one stage 1.
const ONLY_IN: &[(&str, &str)] = &[
    ("clone_parent(", "process/stage1.rs"),
    ("fork_into(", "process/mod.rs"),
    ("stage1::run(", "process/mod.rs"),
    ("payload::run(", "process/stage1.rs"),
    ("process::spawn(", "container/"),
];

#[test]
fn every_process_enters_a_container_through_the_one_pipeline() {
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for (rel, text) in sources() {
        let code = code(&text);
        for (call, home) in ONLY_IN {
            if code.contains(call) && !rel.starts_with("sys/") {
                seen.insert(*call);
                if !rel.starts_with(home) {
                    found.push(format!("{rel} calls {call} (only {home} may)"));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(
        seen.len(),
        ONLY_IN.len(),
        "calls not found at all: {seen:?}"
    );
    // create and exec both spawn, each once.
    let spawns: Vec<String> = sources()
        .into_iter()
        .filter(|(_, t)| code(t).contains("process::spawn("))
        .map(|(rel, _)| rel)
        .collect();
    assert_eq!(spawns, ["container/create.rs", "container/exec.rs"]);
}
