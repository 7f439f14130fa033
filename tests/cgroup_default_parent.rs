//! The default cgroupsPath is `/hull/<id>`: the shared `/hull` parent must go away with the
//! last container, whichever container created it — a half-made one whose hull was killed
//! included. This is its own test binary (cargo runs
//! test binaries one after another), so no other test's container is in `/hull` meanwhile.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use common::*;

#[test]
fn shared_default_parent_is_removed_with_the_last_container() {
    require_root!();
    // Should this fail, the half-made container's cgroups go with the sweeper.
    let sweeper = Sweeper::new();
    let before = hull_parents();
    assert!(
        before.is_empty(),
        "/hull exists before this test (a leak from an earlier one?): {}",
        describe(&before)
    );
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let (first, second) = (env.id("parent-a"), env.id("parent-b"));
    env.create_ok(&b, &first);
    env.create_ok(&b, &second);
    let parents = hull_parents();
    assert!(
        parents.len() >= 2,
        "expected /hull in every hierarchy: {parents:?}"
    );
    // A third whose hull was killed once it had made its cgroups (at its first clone3, stage
    // 1's): only its provisional state records them, and it holds the parent too.
    let third = sweeper.track(env.id("parent-c"));
    let mut create = env.cmd(&["create", "--bundle", b.dir.to_str().unwrap(), &third]);
    create.stdout(std::process::Stdio::null());
    let mut t = Traced::spawn(create);
    assert_eq!(t.run_until(|_, nr| nr == libc::SYS_clone3), Reached::Stop);
    t.kill();
    // The container that created /hull goes first; the parent must survive it...
    assert!(env.hull(&["delete", &first]).status.success());
    assert!(env.hull(&["delete", &second]).status.success());
    assert!(
        parents.iter().all(|p| p.exists()),
        "parent removed while still in use"
    );
    // ...and go with the last one, the half-made one.
    let o = env.hull(&["delete", "--force", &third]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let left = hull_parents();
    assert!(
        left.is_empty(),
        "shared parents left behind: {}",
        describe(&left)
    );
}

fn hull_parents() -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("hull"))
        .filter(|p| p.exists())
        .collect()
}

/// Each parent with its sub-cgroups and their processes, so that a failure says who holds it.
fn describe(parents: &[std::path::PathBuf]) -> String {
    let mut out = Vec::new();
    for p in parents {
        let subs: Vec<String> = std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| {
                        let procs = std::fs::read_to_string(e.path().join("cgroup.procs"))
                            .unwrap_or_default()
                            .split_whitespace()
                            .map(|pid| {
                                let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                                    .unwrap_or_default();
                                format!(
                                    "{pid} {}",
                                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                                )
                            })
                            .collect::<Vec<_>>();
                        format!("{} {procs:?}", e.file_name().to_string_lossy())
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(format!("{} holds {subs:?}", p.display()));
    }
    out.join("; ")
}
