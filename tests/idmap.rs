//! Id-mapped mounts (config.md, "Mounts": `uidMappings`/`gidMappings` and the `idmap`/`ridmap`
//! options) as the container's process sees them: which owner `stat` shows for files of a host
//! directory bound with a mapping, who owns on the host what the container writes there, what
//! `idmap` and `ridmap` do with a mount below the source, and the refusals of mappings hull
//! cannot apply, each one line naming the field, leaving nothing behind.
//!
//! The mapping semantics (runc 1.2's, kernel's MOUNT_ATTR_IDMAP with the mapping written as a
//! user namespace's `containerID hostID size`): a file the filesystem stores as owned by
//! `containerID + k` shows as `hostID + k`, i.e. as owned by the container's id for that host
//! id. With the mount mapping {1000 → 100000} and the container's user namespace {0 → 100000},
//! a file owned by host uid 1000 is owned by the container's root. Written the other way round
//! ("100000 1000 10" in the mount's uid_map), the same file would show as the overflow id
//! 65534: checked by swapping the columns of the maps `namespaces::userns_with_maps` writes —
//! the six tests whose mapping hull writes then fail (each shows 65534 where it expects a
//! mapped id, or cannot write); the one with a joined namespace and the refusals pass.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

/// The mount mapping of these tests: the filesystem's 1000..1010 show as 100000..100010, the
/// container's 0..10.
fn mapping() -> Value {
    json!([{ "containerID": 1000, "hostID": 100000, "size": 10 }])
}

/// A bind of `src` at `dest` with `opts` and the mapping on both kinds of id.
fn idmapped(src: &Path, dest: &str, opts: &[&str]) -> Value {
    json!({ "destination": dest, "type": "bind", "source": src, "options": opts,
            "uidMappings": mapping(), "gidMappings": mapping() })
}

fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

/// A file (or directory, for names ending in `/`) under `dir`, owned by `uid:gid` on the host.
fn owned(dir: &Path, name: &str, uid: u32, gid: u32) -> PathBuf {
    let p = dir.join(name.trim_end_matches('/'));
    if name.ends_with('/') {
        std::fs::create_dir_all(&p).unwrap();
    } else {
        std::fs::write(&p, name).unwrap();
    }
    std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
    p
}

/// A host directory for the tests: itself and `a` owned by 1000:1000, `b` by 1002:1003, `r` by
/// root (outside the mapping).
fn source(env: &Env, name: &str) -> PathBuf {
    let src = owned(&env.dir, &format!("{name}/"), 1000, 1000);
    owned(&src, "a", 1000, 1000);
    owned(&src, "b", 1002, 1003);
    owned(&src, "r", 0, 0);
    src
}

/// `uid:gid` of a host file.
fn host_owner(p: &Path) -> String {
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    format!("{}:{}", m.uid(), m.gid())
}

/// A container whose config `edit` made (adding a mount last) that `create` must refuse: the
/// index of that mount and the error, after checking that nothing of the container is left.
fn refused(env: &Env, edit: impl FnOnce(&mut Value)) -> (usize, String) {
    let mut b = env.bundle(&["true"]);
    b.edit(edit);
    let id = env.id("idmap-bad");
    let (o, _) = env.create(&b, &id);
    assert!(!o.status.success(), "create {id} succeeded");
    assert_no_leftovers(env, &id);
    let last = b.config["mounts"].as_array().unwrap().len() - 1;
    (last, text(&o.stderr))
}

/// `err` is one line saying `what`.
fn says(err: &str, what: &str) {
    assert!(err.contains(what) && err.lines().count() == 1, "{err}");
}

#[test]
fn host_files_show_as_the_containers_ids_through_the_mapping() {
    require_root!();
    let env = Env::new();
    let src = source(&env, "src");
    // Two mounts of one mapping (one user namespace for both): `idmap` said, and implied by
    // the mappings alone (runc 1.2); the second read-only, a flag set after the id-mapping.
    let out = env.sh(
        "stat -c %n=%u:%g /tmp/data/a /tmp/data/b /tmp/data/r /tmp/ro/a; touch /tmp/ro/x 2>/dev/null || echo ro-refused",
        |c| {
            add_userns(c);
            add_mount(c, idmapped(&src, "/tmp/data", &["bind", "idmap"]));
            add_mount(c, idmapped(&src, "/tmp/ro", &["bind", "ro"]));
        },
    );
    assert_eq!(
        out,
        "/tmp/data/a=0:0\n/tmp/data/b=2:3\n/tmp/data/r=65534:65534\n/tmp/ro/a=0:0\nro-refused\n"
    );
    assert!(!src.join("x").exists());
}

#[test]
fn files_written_through_the_mount_get_the_host_ids_of_the_mapping() {
    require_root!();
    let env = Env::new();
    let src = source(&env, "src");
    env.sh(
        "touch /tmp/data/new && mkdir /tmp/data/dir && touch /tmp/data/given && chown 3:4 /tmp/data/given",
        |c| {
            add_userns(c);
            add_mount(c, idmapped(&src, "/tmp/data", &["bind", "idmap"]));
        },
    );
    // The container's root is host 100000, stored as 1000; its 3:4 as 1003:1004.
    assert_eq!(host_owner(&src.join("new")), "1000:1000");
    assert_eq!(host_owner(&src.join("dir")), "1000:1000");
    assert_eq!(host_owner(&src.join("given")), "1003:1004");
}

#[test]
fn without_a_user_namespace_the_mount_shows_the_mappings_host_ids() {
    require_root!();
    let env = Env::new();
    let src = source(&env, "src");
    let out = env.sh(
        "stat -c %n=%u:%g /tmp/data/a /tmp/data/b; touch /tmp/data/x 2>&1 || echo refused",
        |c| add_mount(c, idmapped(&src, "/tmp/data", &["bind", "idmap"])),
    );
    // Host root (the container's, without a user namespace) has no id in the mapping: the
    // kernel cannot store its file (EOVERFLOW), as runc's tests expect.
    assert!(
        out.starts_with("/tmp/data/a=100000:100000\n/tmp/data/b=100002:100003\n")
            && out.ends_with("refused\n"),
        "{out}"
    );
    assert!(!src.join("x").exists());
}

#[test]
fn idmap_without_mappings_takes_the_containers_user_namespace() {
    require_root!();
    let env = Env::new();
    let src = owned(&env.dir, "src/", 0, 0);
    owned(&src, "five", 5, 6);
    let out = env.sh("stat -c %u:%g /tmp/data/five", |c| {
        add_userns(c);
        add_mount(
            c,
            json!({"destination": "/tmp/data", "type": "bind", "source": src, "options": ["rbind", "idmap"]}),
        );
    });
    // Stored as 5:6, shown through {0 → 100000} as host 100005:100006: the container's 5:6.
    // Without the mapping it would be host 5:6, outside the container's namespace: 65534.
    assert_eq!(out, "5:6\n");
}

#[test]
fn idmap_without_mappings_takes_a_joined_user_namespace() {
    require_root!();
    let env = Env::new();
    // A created container whose user namespace maps the container's 0.. to the host's 200000..
    let mut owner = env.bundle(&["sleep", "100"]);
    owner.edit(|c| {
        add_userns(c);
        let m = json!([{ "containerID": 0, "hostID": 200000, "size": 65536 }]);
        c["linux"]["uidMappings"] = m.clone();
        c["linux"]["gidMappings"] = m;
    });
    let owner_id = env.id("idmap-owner");
    env.create_ok(&owner, &owner_id);
    let pid = env.state(&owner_id)["pid"].as_i64().unwrap();
    let src = owned(&env.dir, "src/", 0, 0);
    owned(&src, "five", 5, 6);
    let out = env.sh("stat -c %u:%g /tmp/data/five", |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
        add_mount(
            c,
            json!({"destination": "/tmp/data", "type": "bind", "source": src, "options": ["bind", "idmap"]}),
        );
    });
    // Through the joined namespace's {0 → 200000}: host 200005:200006, its 5:6. Any other
    // mapping (say the usual {0 → 100000}) would leave it unmapped there: 65534.
    assert_eq!(out, "5:6\n");
}

/// [`source`] with a host tmpfs at `sub` holding `marker` (1000:1000).
fn source_with_submount(env: &Env, name: &str) -> (PathBuf, HostMount) {
    let (src, hm) = dir_with_submount(env, name);
    for f in ["sub", "sub/marker"] {
        std::os::unix::fs::chown(src.join(f), Some(1000), Some(1000)).unwrap();
    }
    (source(env, name), hm)
}

/// Owners (inside a container with a user namespace) of a file of the source and of one of
/// the tmpfs below it, through an `rbind` of the source with `option`.
fn owners_with_a_submount(option: &str) -> String {
    let env = Env::new();
    let (src, _hm) = source_with_submount(&env, "src");
    env.sh("stat -c %n=%u:%g /tmp/data/a /tmp/data/sub/marker", |c| {
        add_userns(c);
        add_mount(c, idmapped(&src, "/tmp/data", &["rbind", option]));
    })
}

#[test]
fn ridmap_maps_the_mounts_below_the_source_too() {
    require_root!();
    assert_eq!(
        owners_with_a_submount("ridmap"),
        "/tmp/data/a=0:0\n/tmp/data/sub/marker=0:0\n"
    );
}

#[test]
fn idmap_leaves_the_mounts_below_the_source_unmapped() {
    require_root!();
    // `rbind` brings the tmpfs along; `idmap` maps the top mount only, so the tmpfs shows its
    // files' host ids, which the container's namespace does not map (runc's tests: overflow).
    assert_eq!(
        owners_with_a_submount("idmap"),
        "/tmp/data/a=0:0\n/tmp/data/sub/marker=65534:65534\n"
    );
}

#[test]
fn mappings_on_a_tmpfs_are_refused_naming_the_field() {
    require_root!();
    let env = Env::new();
    let (n, err) = refused(&env, |c| {
        add_userns(c);
        add_mount(
            c,
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                   "uidMappings": mapping(), "gidMappings": mapping()}),
        );
    });
    says(
        &err,
        &format!(
            "mounts[{n}].uidMappings: id mappings apply to bind mounts only, not to type tmpfs"
        ),
    );
}

#[test]
fn uid_mappings_without_gid_mappings_are_refused_naming_the_field() {
    require_root!();
    let env = Env::new();
    let src = source(&env, "src");
    let (n, err) = refused(&env, |c| {
        add_userns(c);
        let mut m = idmapped(&src, "/tmp/data", &["bind", "idmap"]);
        m.as_object_mut().unwrap().remove("gidMappings");
        add_mount(c, m);
    });
    says(
        &err,
        &format!("mounts[{n}].gidMappings: missing; uidMappings and gidMappings go together"),
    );
}

#[test]
fn idmap_without_mappings_or_user_namespace_is_refused() {
    require_root!();
    let env = Env::new();
    let src = source(&env, "src");
    let (n, err) = refused(&env, |c| {
        add_mount(
            c,
            json!({"destination": "/tmp/data", "type": "bind", "source": src, "options": ["bind", "ridmap"]}),
        );
    });
    says(
        &err,
        &format!("mounts[{n}].options: ridmap without uidMappings and gidMappings takes the container's user namespace mapping, and there is no user namespace"),
    );
}

#[test]
fn a_filesystem_that_cannot_be_id_mapped_is_refused_naming_the_mount() {
    require_root!();
    let env = Env::new();
    // sysfs has no id-mapped mounts (no FS_ALLOW_IDMAP in any kernel so far).
    let (n, err) = refused(&env, |c| {
        add_userns(c);
        add_mount(
            c,
            idmapped(Path::new("/sys/kernel"), "/tmp/k", &["bind", "idmap"]),
        );
    });
    says(
        &err,
        &format!("mounts[{n}]: id-map /sys/kernel: mount_setattr(MOUNT_ATTR_IDMAP): the source's filesystem cannot be id-mapped by this kernel: invalid argument"),
    );
}
