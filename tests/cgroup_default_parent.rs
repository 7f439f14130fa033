//! The default cgroupsPath is `/hull/<id>`: the shared `/hull` parent must go away with the
//! last container, whichever container created it. This is its own test binary (cargo runs
//! test binaries one after another), so no other test's container is in `/hull` meanwhile.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use common::*;

#[test]
fn shared_default_parent_is_removed_with_the_last_container() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "100"]);
    let (first, second) = (env.id("parent-a"), env.id("parent-b"));
    env.create_ok(&b, &first);
    env.create_ok(&b, &second);
    let parents: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("hull"))
        .filter(|p| p.exists())
        .collect();
    assert!(
        parents.len() >= 2,
        "expected /hull in every hierarchy: {parents:?}"
    );
    // The container that created /hull goes first; the parent must survive it...
    assert!(env.hull(&["delete", &first]).status.success());
    assert!(
        parents.iter().all(|p| p.exists()),
        "parent removed while still in use"
    );
    // ...and go with the last one.
    assert!(env.hull(&["delete", &second]).status.success());
    let left: Vec<_> = parents.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "shared parents left behind: {left:?}");
}
