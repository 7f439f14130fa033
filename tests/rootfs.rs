//! The container's filesystem as its process sees it: `mounts` with their flags, data,
//! propagation and recursive attributes in `/proc/self/mountinfo`; bind mounts of host files and
//! directories (plain, read-only, recursive); `rootfsPropagation` and `root.readonly`; masked
//! and read-only paths; device nodes and /dev links; `--no-pivot`; and the safety of mount
//! destinations (a symlink in the image resolves inside the root, `..` is refused, missing
//! destinations are created). The shared busybox rootfs is never written: new destinations live
//! under the container's /tmp tmpfs, or in a private rootfs under the test's own directory.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

// ---- helpers ----

/// One line of mountinfo.
#[derive(Debug, Clone)]
struct Mnt {
    root: String,
    point: String,
    opts: Vec<String>,
    optional: Vec<String>,
    fstype: String,
    super_opts: Vec<String>,
}

impl Mnt {
    fn has(&self, o: &str) -> bool {
        self.opts.iter().any(|x| x == o)
    }
    fn has_super(&self, o: &str) -> bool {
        self.super_opts.iter().any(|x| x == o)
    }
    fn shared(&self) -> bool {
        self.optional.iter().any(|x| x.starts_with("shared:"))
    }
    fn slave(&self) -> bool {
        self.optional.iter().any(|x| x.starts_with("master:"))
    }
}

fn parse_mountinfo(text: &str) -> Vec<Mnt> {
    text.lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            if pre.len() < 6 || post.len() < 3 {
                return None;
            }
            Some(Mnt {
                root: pre[3].to_string(),
                point: pre[4].to_string(),
                opts: pre[5].split(',').map(String::from).collect(),
                optional: pre[6..].iter().map(|s| s.to_string()).collect(),
                fstype: post[0].to_string(),
                super_opts: post[2].split(',').map(String::from).collect(),
            })
        })
        .collect()
}

/// The topmost mount at `point`.
fn find<'a>(m: &'a [Mnt], point: &str) -> &'a Mnt {
    m.iter()
        .rev()
        .find(|x| x.point == point)
        .unwrap_or_else(|| panic!("no mount at {point} in {m:#?}"))
}

fn has_mount(m: &[Mnt], point: &str) -> bool {
    m.iter().any(|x| x.point == point)
}

const SEP: &str = "----hull-test----";

/// Run `script` in a container edited by `edit`, then print its mountinfo. Returns (script
/// output, parsed mountinfo). Asserts exit 0 and that nothing is left behind.
fn run_with_mountinfo(
    env: &Env,
    script: &str,
    edit: impl FnOnce(&mut Value),
) -> (String, Vec<Mnt>) {
    let full = format!("{script}\necho {SEP}; cat /proc/self/mountinfo");
    let mut b = env.bundle(&["sh", "-c", &full]);
    b.edit(edit);
    let id = env.id("rootfs");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(
        code, 0,
        "script failed ({code}): {script}\nstdout: {out}\nstderr: {err}"
    );
    assert_no_leftovers(env, &id);
    let (before, mi) = out
        .split_once(&format!("{SEP}\n"))
        .unwrap_or_else(|| panic!("no separator in {out}"));
    (before.to_string(), parse_mountinfo(mi))
}

/// Append a mount to the config.
fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

fn bind(src: &Path, dest: &str, opts: &[&str]) -> Value {
    json!({ "destination": dest, "type": "bind", "source": src, "options": opts })
}

/// A small private rootfs under the env dir: busybox and a few applet links, the usual mount
/// points, an os-release. Tests may write to it.
fn private_rootfs(env: &Env) -> PathBuf {
    let r = env.dir.join("private-rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::copy(rootfs().join("bin/busybox"), r.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "cat", "ls", "grep", "test", "[", "stat", "readlink", "touch", "echo", "wc", "mkdir",
        "mount", "sleep",
    ] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(applet)).unwrap();
    }
    std::fs::write(r.join("etc/os-release"), "NAME=\"private rootfs\"\n").unwrap();
    r
}

fn use_rootfs(c: &mut Value, r: &Path) {
    c["root"]["path"] = r.to_str().unwrap().into();
}

// ---- mounts and their flags ----

#[test]
fn tmpfs_mount_has_flags_and_data() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(&env, "stat -c %a /tmp/data", |c| {
        add_mount(
            c,
            json!({"destination": "/tmp/data", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=710"]}),
        );
    });
    assert_eq!(out, "710\n");
    let d = find(&m, "/tmp/data");
    assert_eq!(d.fstype, "tmpfs");
    for o in ["rw", "nosuid", "nodev", "noexec"] {
        assert!(d.has(o), "{o} missing: {d:?}");
    }
    assert!(
        d.has_super("size=1024k") && d.has_super("mode=710"),
        "{d:?}"
    );
}

#[test]
fn ro_tmpfs_mount_is_read_only() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(&env, "touch /tmp/ro/x 2>&1 || echo refused", |c| {
        add_mount(
            c,
            json!({"destination": "/tmp/ro", "type": "tmpfs", "source": "tmpfs", "options": ["ro"]}),
        );
    });
    assert!(
        out.contains("Read-only file system") && out.ends_with("refused\n"),
        "{out}"
    );
    assert!(find(&m, "/tmp/ro").has("ro"));
}

/// `tmpcopyup` (podman adds it to every `--tmpfs`): the tmpfs starts with what the image has
/// there, owners, modes, symlinks and fifos included; writes stay in the tmpfs; with `ro` the
/// copy is made first and the tmpfs is read-only afterwards.
#[test]
fn tmpcopyup_tmpfs_starts_with_the_image_content() {
    require_root!();
    let env = Env::new();
    let r = private_rootfs(&env);
    std::fs::create_dir_all(r.join("etc/sub")).unwrap();
    std::fs::write(r.join("etc/sub/f"), "secret\n").unwrap();
    std::os::unix::fs::chown(r.join("etc/sub/f"), Some(1000), Some(1001)).unwrap();
    std::fs::set_permissions(
        r.join("etc/sub/f"),
        std::os::unix::fs::PermissionsExt::from_mode(0o4644),
    )
    .unwrap();
    std::os::unix::fs::symlink("sub/f", r.join("etc/link")).unwrap();
    let fifo = cstr(&r.join("etc/fifo"));
    // SAFETY: fifo is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let script =
        "cat /etc/os-release /etc/link; stat -c '%u:%g %a' /etc/sub/f; stat -c %F /etc/fifo; \
                  touch /etc/new && echo written";
    let (out, m) = run_with_mountinfo(&env, script, |c| {
        use_rootfs(c, &r);
        add_mount(
            c,
            json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}),
        );
    });
    assert_eq!(
        out,
        "NAME=\"private rootfs\"\nsecret\n1000:1001 4644\nfifo\nwritten\n"
    );
    assert_eq!(find(&m, "/etc").fstype, "tmpfs");
    assert!(!r.join("etc/new").exists(), "the write reached the image");
    let (out, m) = run_with_mountinfo(
        &env,
        "cat /etc/sub/f; touch /etc/new 2>/dev/null || echo refused",
        |c| {
            use_rootfs(c, &r);
            add_mount(
                c,
                json!({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "tmpcopyup"]}),
            );
        },
    );
    assert_eq!(out, "secret\nrefused\n");
    assert!(find(&m, "/etc").has("ro"));
}

#[test]
fn bind_mount_of_host_directory_is_shared_with_host() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("hostdir");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("hello"), "from host\n").unwrap();
    let (out, m) = run_with_mountinfo(
        &env,
        "cat /tmp/hostdir/hello; echo from container > /tmp/hostdir/back",
        |c| {
            add_mount(c, bind(&src, "/tmp/hostdir", &["bind"]));
        },
    );
    assert_eq!(out, "from host\n");
    assert_eq!(
        std::fs::read_to_string(src.join("back")).unwrap(),
        "from container\n"
    );
    let d = find(&m, "/tmp/hostdir");
    assert!(d.root.ends_with("/hostdir"), "{d:?}");
    assert!(d.has("rw"), "{d:?}");
}

#[test]
fn bind_mount_of_host_file_creates_a_file_target() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("hostfile");
    std::fs::write(&src, "file content\n").unwrap();
    // /tmp/sub/hostfile does not exist in the container: created as a regular file.
    let (out, m) = run_with_mountinfo(
        &env,
        "cat /tmp/sub/hostfile; stat -c %F /tmp/sub/hostfile",
        |c| {
            add_mount(c, bind(&src, "/tmp/sub/hostfile", &["bind", "ro"]));
        },
    );
    assert_eq!(out, "file content\nregular file\n");
    let f = find(&m, "/tmp/sub/hostfile");
    assert!(f.root.ends_with("/hostfile") && f.has("ro"), "{f:?}");
}

#[test]
fn ro_bind_mount_refuses_writes() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("rodir");
    std::fs::create_dir_all(&src).unwrap();
    let (out, m) = run_with_mountinfo(&env, "touch /tmp/rodir/x 2>&1 || echo refused", |c| {
        add_mount(c, bind(&src, "/tmp/rodir", &["bind", "ro", "nosuid"]));
    });
    assert!(
        out.contains("Read-only file system") && out.ends_with("refused\n"),
        "{out}"
    );
    assert!(!src.join("x").exists());
    let d = find(&m, "/tmp/rodir");
    assert!(d.has("ro") && d.has("nosuid"), "{d:?}");
}

#[test]
fn bind_type_with_options_only_is_a_bind_mount() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("typeless");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "typeless bind\n").unwrap();
    // runc accepts a bind given only by its options (no "type").
    let (out, _) = run_with_mountinfo(&env, "cat /tmp/typeless/f", |c| {
        add_mount(
            c,
            json!({"destination": "/tmp/typeless", "source": src, "options": ["rbind", "ro"]}),
        );
    });
    assert_eq!(out, "typeless bind\n");
}

#[test]
fn rbind_includes_submounts() {
    require_root!();
    let env = Env::new();
    let (src, _hm) = dir_with_submount(&env, "rb");
    let (out, m) = run_with_mountinfo(&env, "cat /tmp/rb/sub/marker", |c| {
        add_mount(c, bind(&src, "/tmp/rb", &["rbind"]));
    });
    assert_eq!(out, "in submount\n");
    assert_eq!(find(&m, "/tmp/rb/sub").fstype, "tmpfs");
}

#[test]
fn bind_without_rbind_excludes_submounts() {
    require_root!();
    let env = Env::new();
    let (src, _hm) = dir_with_submount(&env, "nb");
    let (out, m) = run_with_mountinfo(&env, "ls -A /tmp/nb/sub | wc -l", |c| {
        add_mount(c, bind(&src, "/tmp/nb", &["bind"]));
    });
    assert_eq!(out.trim(), "0", "the submount came along: {out}");
    assert!(has_mount(&m, "/tmp/nb") && !has_mount(&m, "/tmp/nb/sub"));
}

#[test]
fn ro_on_rbind_only_affects_the_top_mount() {
    require_root!();
    let env = Env::new();
    let (src, _hm) = dir_with_submount(&env, "rbro");
    let (out, m) = run_with_mountinfo(&env, "touch /tmp/rbro/x 2>/dev/null || echo top-refused; touch /tmp/rbro/sub/y && echo sub-written", |c| {
        add_mount(c, bind(&src, "/tmp/rbro", &["rbind", "ro"]));
    });
    assert_eq!(out, "top-refused\nsub-written\n");
    assert!(find(&m, "/tmp/rbro").has("ro"));
    assert!(find(&m, "/tmp/rbro/sub").has("rw"));
}

#[test]
fn rro_makes_submounts_read_only() {
    require_root!();
    let env = Env::new();
    let (src, _hm) = dir_with_submount(&env, "rro");
    let (out, m) = run_with_mountinfo(&env, "touch /tmp/rro/sub/y 2>&1 || echo refused", |c| {
        add_mount(c, bind(&src, "/tmp/rro", &["rbind", "rro"]));
    });
    assert!(
        out.contains("Read-only file system") && out.ends_with("refused\n"),
        "{out}"
    );
    assert!(!src.join("sub/y").exists());
    assert!(find(&m, "/tmp/rro").has("ro"));
    assert!(
        find(&m, "/tmp/rro/sub").has("ro"),
        "{:?}",
        find(&m, "/tmp/rro/sub")
    );
}

#[test]
fn rnoexec_makes_submounts_noexec() {
    require_root!();
    let env = Env::new();
    let (src, _hm) = dir_with_submount(&env, "rnx");
    std::fs::copy(rootfs().join("bin/busybox"), src.join("sub/busybox")).unwrap();
    let (out, m) = run_with_mountinfo(
        &env,
        "/tmp/rnx/sub/busybox true 2>&1 && echo ran || echo refused",
        |c| {
            add_mount(c, bind(&src, "/tmp/rnx", &["rbind", "rnoexec"]));
        },
    );
    assert!(
        out.ends_with("refused\n") && out.contains("Permission denied"),
        "{out}"
    );
    assert!(find(&m, "/tmp/rnx/sub").has("noexec"));
    assert!(find(&m, "/tmp/rnx").has("noexec"));
}

#[test]
fn exec_from_a_plain_rbind_works() {
    require_root!();
    let env = Env::new();
    // The control of rnoexec: the same layout without it runs the binary.
    let (src, _hm) = dir_with_submount(&env, "rx");
    std::fs::copy(rootfs().join("bin/busybox"), src.join("sub/busybox")).unwrap();
    let (out, _) = run_with_mountinfo(&env, "/tmp/rx/sub/busybox true && echo ran", |c| {
        add_mount(c, bind(&src, "/tmp/rx", &["rbind"]));
    });
    assert_eq!(out, "ran\n");
}

#[test]
fn relative_bind_source_is_relative_to_the_bundle() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["cat", "/tmp/rel/f"]);
    std::fs::create_dir_all(b.dir.join("reldata")).unwrap();
    std::fs::write(b.dir.join("reldata/f"), "next to config.json\n").unwrap();
    b.edit(|c| add_mount(c, json!({"destination": "/tmp/rel", "type": "bind", "source": "reldata", "options": ["bind"]})));
    let id = env.id("relsrc");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "next to config.json\n");
    assert_no_leftovers(&env, &id);
}

#[test]
fn atime_and_nosymfollow_flags_show_in_mountinfo() {
    require_root!();
    let env = Env::new();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        add_mount(
            c,
            json!({"destination": "/tmp/na", "type": "tmpfs", "source": "tmpfs", "options": ["noatime", "nosymfollow"]}),
        );
    });
    let d = find(&m, "/tmp/na");
    assert!(
        d.has("noatime") && d.has("nosymfollow") && !d.has("relatime"),
        "{d:?}"
    );
}

#[test]
fn rro_applies_to_a_plain_tmpfs() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(
        &env,
        "touch /tmp/rrotmp/x 2>/dev/null || echo refused",
        |c| {
            add_mount(
                c,
                json!({"destination": "/tmp/rrotmp", "type": "tmpfs", "source": "tmpfs", "options": ["rro"]}),
            );
        },
    );
    assert_eq!(out, "refused\n");
    assert!(find(&m, "/tmp/rrotmp").has("ro"));
}

#[test]
fn user_namespace_mounts_keep_their_flags() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("usrc");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "readable\n").unwrap();
    let (out, m) = run_with_mountinfo(&env, "cat /tmp/u/f; touch /tmp/u/x 2>/dev/null || echo refused; touch /x 2>/dev/null || echo root-refused", |c| {
        add_userns(c);
        add_mount(c, bind(&src, "/tmp/u", &["bind", "ro", "nosuid", "nodev"]));
        add_mount(c, json!({"destination": "/tmp/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "size=1m"]}));
    });
    assert_eq!(out, "readable\nrefused\nroot-refused\n");
    let u = find(&m, "/tmp/u");
    assert!(u.has("ro") && u.has("nosuid") && u.has("nodev"), "{u:?}");
    let t = find(&m, "/tmp/t");
    assert!(t.has("noexec") && t.has_super("size=1024k"), "{t:?}");
    assert!(find(&m, "/").has("ro"));
}

#[test]
fn user_namespace_devices_are_the_hosts_nodes() {
    require_root!();
    let env = Env::new();
    let out = env.sh(
        "stat -c '%F %t %T' /dev/null /dev/zero; echo x > /dev/null && head -c 2 /dev/zero | wc -c",
        add_userns,
    );
    assert_eq!(
        out,
        "character special file 1 3\ncharacter special file 1 5\n2\n"
    );
}

#[test]
fn runbindable_bind_is_unbindable() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("unb");
    std::fs::create_dir_all(&src).unwrap();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        add_mount(c, bind(&src, "/tmp/unb", &["rbind", "runbindable"]))
    });
    let d = find(&m, "/tmp/unb");
    assert!(d.optional.iter().any(|o| o == "unbindable"), "{d:?}");
}

// ---- propagation ----

#[test]
fn rshared_bind_is_in_a_peer_group() {
    require_root!();
    let env = Env::new();
    let src = env.dir.join("shr");
    std::fs::create_dir_all(&src).unwrap();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        add_mount(c, bind(&src, "/tmp/shr", &["rbind", "rshared"]))
    });
    assert!(find(&m, "/tmp/shr").shared(), "{:?}", find(&m, "/tmp/shr"));
}

#[test]
fn rslave_bind_of_shared_source_is_a_slave() {
    require_root!();
    let env = Env::new();
    let hm = HostMount::tmpfs(&env.dir.join("slv"));
    hm.make_shared();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        add_mount(c, bind(&hm.0, "/tmp/slv", &["rbind", "rslave"]))
    });
    let d = find(&m, "/tmp/slv");
    assert!(d.slave() && !d.shared(), "{d:?}");
}

#[test]
fn rprivate_bind_of_shared_source_has_no_propagation() {
    require_root!();
    let env = Env::new();
    let hm = HostMount::tmpfs(&env.dir.join("prv"));
    hm.make_shared();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        add_mount(c, bind(&hm.0, "/tmp/prv", &["rbind", "rprivate"]))
    });
    let d = find(&m, "/tmp/prv");
    assert!(d.optional.is_empty(), "{d:?}");
}

/// Start a container whose script waits for `<src>/go`, then lists `<dest>/late`; mount a tmpfs
/// with a marker at `<src>/late` on the host meanwhile. Returns the listing.
fn later_host_mount_seen(env: &Env, name: &str, prop: &str) -> String {
    later_host_mount_seen_with(env, name, &["rbind", prop], |_| {})
}

/// [`later_host_mount_seen`] with the bind's `options` and the config edited by `edit`.
fn later_host_mount_seen_with(
    env: &Env,
    name: &str,
    options: &[&str],
    edit: impl FnOnce(&mut serde_json::Value),
) -> String {
    let hm = HostMount::tmpfs(&env.dir.join(name));
    hm.make_shared();
    std::fs::create_dir_all(hm.0.join("late")).unwrap();
    let dest = format!("/tmp/{name}");
    let script =
        format!("while [ ! -e {dest}/go ]; do sleep 0.05; done; ls {dest}/late; echo done");
    let mut b = env.bundle(&["sh", "-c", &script]);
    b.edit(|c| {
        add_mount(c, bind(&hm.0, &dest, options));
        edit(c);
    });
    let id = env.id("late");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let late = HostMount::tmpfs(&hm.0.join("late"));
    std::fs::write(late.0.join("marker"), "").unwrap();
    std::fs::write(hm.0.join("go"), "").unwrap();
    env.wait_status(&id, "stopped");
    let got = std::fs::read_to_string(&out).unwrap();
    assert!(got.ends_with("done\n"), "{got}");
    drop(late);
    assert!(env.hull(&["delete", &id]).status.success());
    assert_no_leftovers(env, &id);
    got
}

#[test]
fn rslave_bind_receives_later_host_mounts() {
    require_root!();
    let env = Env::new();
    assert_eq!(
        later_host_mount_seen(&env, "lslave", "rslave"),
        "marker\ndone\n"
    );
}

#[test]
fn rprivate_bind_does_not_receive_later_host_mounts() {
    require_root!();
    let env = Env::new();
    assert_eq!(
        later_host_mount_seen(&env, "lprivate", "rprivate"),
        "done\n"
    );
}

#[test]
fn rootfs_propagation_shared_makes_root_shared() {
    require_root!();
    let env = Env::new();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        c["linux"]["rootfsPropagation"] = "shared".into()
    });
    assert!(find(&m, "/").shared(), "{:?}", find(&m, "/"));
}

#[test]
fn rootfs_propagation_private_makes_root_private() {
    require_root!();
    let env = Env::new();
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        c["linux"]["rootfsPropagation"] = "private".into()
    });
    assert!(find(&m, "/").optional.is_empty(), "{:?}", find(&m, "/"));
}

/// config-linux.md's four `rootfsPropagation` values on a rootfs that is a directory of a
/// shared host mount, each checked four ways:
///
/// - the root's propagation in the container's /proc/self/mountinfo, with peer group numbers
///   (global across namespaces): `shared` is a peer group of its own, not the host mount's
///   ("Note this does not mean that it's shared with the host"); `slave`'s master is the host
///   mount's peer group; `private` and `unbindable` have none, `unbindable` says so;
/// - a mount the host makes later under the rootfs itself: it reaches the container only under
///   `slave` ("receives propagation events from the host"); a shared root's parent is made
///   private before the bind, as pivot_root needs and runc does, so its new peer group hears
///   nothing from the host's;
/// - a mount the host makes later under a volume bound without a propagation option of its
///   own: the volume follows the value (reaches under shared and slave);
/// - `mount --bind / /mnt` inside (CAP_SYS_ADMIN added): refused only under `unbindable` ("a
///   private mount that cannot be bind-mounted").
///
/// create used to fail for `unbindable` with "bind rootfs …: invalid argument".
#[test]
fn every_rootfs_propagation_value_as_the_spec_describes_it() {
    require_root!();
    let env = Env::new();
    let (r, hm) = rootfs_on_shared_host_mount(&env);
    std::fs::create_dir_all(r.join("late")).unwrap();
    std::fs::create_dir_all(r.join("mnt")).unwrap();
    let host_group = peer_group(&host_mountinfo(), &hm.0, "shared:");
    for prop in ["shared", "slave", "private", "unbindable"] {
        let (out, m) = run_with_mountinfo(
            &env,
            "mount --bind / /mnt && echo bound || echo refused",
            |c| {
                use_rootfs(c, &r);
                c["linux"]["rootfsPropagation"] = prop.into();
                for set in ["bounding", "effective", "permitted"] {
                    c["process"]["capabilities"][set]
                        .as_array_mut()
                        .unwrap()
                        .push("CAP_SYS_ADMIN".into());
                }
            },
        );
        let root = find(&m, "/");
        let group = |tag: &str| {
            root.optional
                .iter()
                .find_map(|o| o.strip_prefix(tag))
                .map(String::from)
        };
        let unbindable = root.optional.iter().any(|o| o == "unbindable");
        match prop {
            "shared" => {
                let g = group("shared:").unwrap_or_else(|| panic!("shared: {root:?}"));
                assert_ne!(g, host_group, "shared: a peer group of its own: {root:?}");
                assert_eq!(group("master:"), None, "{root:?}");
            }
            "slave" => {
                assert_eq!(group("master:"), Some(host_group.clone()), "{root:?}");
                assert_eq!(group("shared:"), None, "{root:?}");
            }
            _ => {
                assert_eq!(group("shared:"), None, "{prop}: {root:?}");
                assert_eq!(group("master:"), None, "{prop}: {root:?}");
                assert_eq!(unbindable, prop == "unbindable", "{prop}: {root:?}");
            }
        }
        if prop != "unbindable" {
            assert!(!unbindable, "{prop}: {root:?}");
        }
        let want = if prop == "unbindable" {
            "refused"
        } else {
            "bound"
        };
        assert!(out.trim_end().ends_with(want), "{prop}: {out}");

        let got = later_mount_under_rootfs_seen(&env, &r, prop);
        let reaches = prop == "slave";
        assert_eq!(
            got,
            if reaches { "marker\ndone\n" } else { "done\n" },
            "{prop}: rootfs"
        );

        let got = later_host_mount_seen_with(&env, &format!("lp{prop}"), &["rbind"], |c| {
            c["linux"]["rootfsPropagation"] = prop.into()
        });
        let reaches = prop == "shared" || prop == "slave";
        assert_eq!(
            got,
            if reaches { "marker\ndone\n" } else { "done\n" },
            "{prop}: volume"
        );
    }
}

fn host_mountinfo() -> Vec<Mnt> {
    parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap())
}

/// The peer group number after `tag` (`shared:`, `master:`) of the topmost mount at `point`.
fn peer_group(m: &[Mnt], point: &Path, tag: &str) -> String {
    let mnt = find(m, point.to_str().unwrap());
    mnt.optional
        .iter()
        .find_map(|o| o.strip_prefix(tag))
        .unwrap_or_else(|| panic!("no {tag} on {mnt:?}"))
        .to_string()
}

/// Start a container on rootfs `r` (a directory of a shared host mount) whose script waits for
/// `/go`, then lists `/late`; meanwhile mount a tmpfs with a marker at `r/late` on the host.
/// Returns the listing.
fn later_mount_under_rootfs_seen(env: &Env, r: &Path, prop: &str) -> String {
    let go = r.join("go");
    let _ = std::fs::remove_file(&go);
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "while [ ! -e /go ]; do sleep 0.05; done; ls /late; echo done",
    ]);
    b.edit(|c| {
        use_rootfs(c, r);
        c["linux"]["rootfsPropagation"] = prop.into();
    });
    let id = env.id("underroot");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    let late = HostMount::tmpfs(&r.join("late"));
    std::fs::write(late.0.join("marker"), "").unwrap();
    std::fs::write(&go, "").unwrap();
    env.wait_status(&id, "stopped");
    let got = std::fs::read_to_string(&out).unwrap();
    drop(late);
    std::fs::remove_file(&go).unwrap();
    assert!(env.hull(&["delete", &id]).status.success());
    assert_no_leftovers(env, &id);
    got
}

/// A private rootfs inside a shared host tmpfs (like a rootfs under a shared `/` on systemd hosts).
fn rootfs_on_shared_host_mount(env: &Env) -> (PathBuf, HostMount) {
    let hm = HostMount::tmpfs(&env.dir.join("shared-host"));
    hm.make_shared();
    let r = private_rootfs(env);
    let moved = hm.0.join("rootfs");
    std::fs::create_dir_all(&moved).unwrap();
    // Copy the private rootfs into the shared mount (a rename cannot cross mounts).
    let o = std::process::Command::new("cp")
        .arg("-a")
        .arg(r.join("."))
        .arg(&moved)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    (moved, hm)
}

#[test]
fn default_rootfs_propagation_is_rslave() {
    require_root!();
    let env = Env::new();
    let (r, _hm) = rootfs_on_shared_host_mount(&env);
    let (_, m) = run_with_mountinfo(&env, "", |c| use_rootfs(c, &r));
    let root = find(&m, "/");
    assert!(root.slave() && !root.shared(), "{root:?}");
}

#[test]
fn rootfs_propagation_private_cuts_the_host_off() {
    require_root!();
    let env = Env::new();
    let (r, _hm) = rootfs_on_shared_host_mount(&env);
    let (_, m) = run_with_mountinfo(&env, "", |c| {
        use_rootfs(c, &r);
        c["linux"]["rootfsPropagation"] = "rprivate".into();
    });
    let root = find(&m, "/");
    assert!(root.optional.is_empty(), "{root:?}");
}

#[test]
fn rootfs_propagation_unknown_value_is_refused() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| c["linux"]["rootfsPropagation"] = "sideways".into());
    let id = env.id("badprop");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("linux.rootfsPropagation"), "{err}");
    assert_no_leftovers(&env, &id);
}

// ---- root.readonly ----

#[test]
fn readonly_root_refuses_writes() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(&env, "touch /x 2>&1 || echo refused", |_| {});
    assert!(
        out.contains("Read-only file system") && out.ends_with("refused\n"),
        "{out}"
    );
    assert!(find(&m, "/").has("ro"));
    assert!(!rootfs().join("x").exists());
}

#[test]
fn writable_root_is_mounted_rw() {
    require_root!();
    let env = Env::new();
    // Never write here: the rootfs is shared by all tests.
    let (_, m) = run_with_mountinfo(&env, "", |c| c["root"]["readonly"] = false.into());
    assert!(find(&m, "/").has("rw"), "{:?}", find(&m, "/"));
}

// ---- masked and read-only paths ----

#[test]
fn masked_file_reads_empty() {
    require_root!();
    let env = Env::new();
    assert!(
        std::fs::metadata("/proc/timer_list").is_ok(),
        "host has no /proc/timer_list"
    );
    let (out, m) = run_with_mountinfo(&env, "wc -c < /proc/timer_list; wc -c < /proc/keys", |_| {});
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0"],
        "{out}"
    );
    assert!(has_mount(&m, "/proc/timer_list"));
}

#[test]
fn unmasked_file_is_readable() {
    require_root!();
    let env = Env::new();
    // The control of masked_file_reads_empty: /proc/keys (the container's session keyring is
    // in it). Not /proc/timer_list, whose read can fail while timers churn on a busy host.
    let out = env.sh("wc -c < /proc/keys", |c| {
        c["linux"]["maskedPaths"] = json!([]);
    });
    assert_ne!(out.trim(), "0");
}

#[test]
fn masked_directory_is_an_empty_read_only_tmpfs() {
    require_root!();
    let env = Env::new();
    assert!(
        std::fs::read_dir("/sys/firmware").unwrap().next().is_some(),
        "host /sys/firmware is empty"
    );
    let (out, m) = run_with_mountinfo(
        &env,
        "ls -A /sys/firmware | wc -l; touch /sys/firmware/x 2>/dev/null || echo refused",
        |_| {},
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "refused"],
        "{out}"
    );
    let d = find(&m, "/sys/firmware");
    assert_eq!(d.fstype, "tmpfs");
    assert!(d.has("ro"), "{d:?}");
}

#[test]
fn masked_paths_missing_in_the_container_are_ignored() {
    require_root!();
    let env = Env::new();
    let out = env.sh("echo ok", |c| {
        c["linux"]["maskedPaths"] = json!(["/proc/no-such-file", "/sys/no-such-dir"]);
    });
    assert_eq!(out, "ok\n");
}

#[test]
fn readonly_paths_are_read_only() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(
        &env,
        "echo x 2>&1 > /proc/sys/kernel/hostname || echo refused; hostname",
        |_| {},
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.ends_with("refused\nhull-demo\n"), "{out}");
    let p = find(&m, "/proc/sys");
    assert!(p.has("ro"), "{p:?}");
    assert!(find(&m, "/proc/irq").has("ro"));
    // /proc itself stays writable.
    assert!(find(&m, "/proc").has("rw"));
}

#[test]
fn proc_sys_is_writable_without_readonly_paths() {
    require_root!();
    let env = Env::new();
    // The control: same write succeeds (in the container's uts namespace) when not read-only.
    let out = env.sh(
        "echo changed > /proc/sys/kernel/hostname && hostname",
        |c| {
            c["linux"]["readonlyPaths"] = json!([]);
        },
    );
    assert_eq!(out, "changed\n");
}

// ---- devices ----

#[test]
fn default_devices_exist_with_major_minor() {
    require_root!();
    let env = Env::new();
    let script = "for d in null zero full random urandom tty; do stat -c \"%n %F %t %T %a %u %g\" /dev/$d; done; \
                  echo x > /dev/null && head -c 3 /dev/zero | wc -c; head -c 5 /dev/urandom | wc -c";
    let out = env.sh(script, |_| {});
    let expected = "/dev/null character special file 1 3 666 0 0\n\
                    /dev/zero character special file 1 5 666 0 0\n\
                    /dev/full character special file 1 7 666 0 0\n\
                    /dev/random character special file 1 8 666 0 0\n\
                    /dev/urandom character special file 1 9 666 0 0\n\
                    /dev/tty character special file 5 0 666 0 0\n";
    let (nodes, rest) = out.split_at(expected.len().min(out.len()));
    assert_eq!(nodes, expected, "{out}");
    assert_eq!(
        rest.split_whitespace().collect::<Vec<_>>(),
        ["3", "5"],
        "{out}"
    );
}

#[test]
fn config_device_is_created_with_mode_and_owner() {
    require_root!();
    let env = Env::new();
    let out = env.sh("stat -c '%F %t %T %a %u %g' /dev/fuse /dev/sub/mynull", |c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 432, "uid": 0, "gid": 0},
            {"path": "/dev/sub/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 384, "uid": 5, "gid": 6}
        ]);
    });
    assert_eq!(
        out,
        "character special file a e5 660 0 0\ncharacter special file 1 3 600 5 6\n"
    );
}

#[test]
fn dev_links_and_devpts() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(&env, "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; echo via-stdout > /dev/stdout", |_| {});
    assert_eq!(
        out,
        "/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\npts/ptmx\nvia-stdout\n"
    );
    let pts = find(&m, "/dev/pts");
    assert_eq!(pts.fstype, "devpts");
    assert!(
        pts.has_super("ptmxmode=666") && pts.has_super("mode=620") && pts.has_super("gid=5"),
        "{pts:?}"
    );
    assert!(has_mount(&m, "/dev/shm") && has_mount(&m, "/dev/mqueue"));
}

// ---- --no-pivot ----

#[test]
fn no_pivot_runs_inside_the_rootfs() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&[
        "sh",
        "-c",
        "ls /; cat /etc/os-release; touch /x 2>/dev/null || echo ro",
    ]);
    let id = env.id("nopivot");
    let o = env.hull(&[
        "run",
        "--no-pivot",
        "--bundle",
        b.dir.to_str().unwrap(),
        &id,
    ]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", text(&o.stderr));
    let listing: Vec<&str> = out
        .lines()
        .take_while(|l| !l.starts_with("NAME="))
        .collect();
    assert_eq!(
        listing,
        ["bin", "dev", "etc", "home", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "var"],
        "{out}"
    );
    assert!(out.contains("hull test rootfs"), "{out}");
    assert!(out.ends_with("ro\n"), "{out}");
    assert_no_leftovers(&env, &id);
}

// ---- destinations ----

#[test]
fn symlink_in_image_resolves_inside_the_root() {
    require_root!();
    let env = Env::new();
    assert!(
        !Path::new("/etc/hull-escape").exists(),
        "/etc/hull-escape exists on the host before the test"
    );
    let r = private_rootfs(&env);
    std::os::unix::fs::symlink("/etc", r.join("evil")).unwrap();
    let mut b = env.bundle(&["sh", "-c", "grep -c ' /etc/hull-escape ' /proc/self/mountinfo; stat -c %F /etc/hull-escape; echo in > /etc/hull-escape/f && cat /etc/hull-escape/f"]);
    b.edit(|c| {
        use_rootfs(c, &r);
        add_mount(c, json!({"destination": "/evil/hull-escape", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
    });
    let id = env.id("escape");
    let (code, out, err) = env.run(&b, &id);
    let escaped = Path::new("/etc/hull-escape").exists();
    let host_mounts = mounts_mentioning("hull-escape");
    if escaped {
        // Undo the damage before failing.
        let t = cstr(Path::new("/etc/hull-escape"));
        // SAFETY: detaching a mount the buggy runtime left on the host.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
        let _ = std::fs::remove_dir_all("/etc/hull-escape");
    }
    assert!(
        !escaped,
        "the mount escaped onto the host's /etc/hull-escape"
    );
    assert!(host_mounts.is_empty(), "host mounts: {host_mounts:?}");
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out, "1\ndirectory\nin\n");
    // The mount point was made inside the private rootfs, through its own /etc.
    assert!(r.join("etc/hull-escape").is_dir());
    assert_no_leftovers(&env, &id);
}

#[test]
fn relative_symlink_cannot_climb_out_of_the_root() {
    require_root!();
    let env = Env::new();
    let r = private_rootfs(&env);
    // On the host this climbs to / and lands in /etc; inside the root `..` of / is /.
    std::os::unix::fs::symlink("../../../../../../../../etc", r.join("climb")).unwrap();
    let mut b = env.bundle(&["sh", "-c", "stat -c %F /etc/hull-climb"]);
    b.edit(|c| {
        use_rootfs(c, &r);
        add_mount(
            c,
            json!({"destination": "/climb/hull-climb", "type": "tmpfs", "source": "tmpfs"}),
        );
    });
    let id = env.id("climb");
    let (code, out, err) = env.run(&b, &id);
    let escaped = Path::new("/etc/hull-climb").exists();
    if escaped {
        let t = cstr(Path::new("/etc/hull-climb"));
        // SAFETY: detaching a mount the buggy runtime left on the host.
        unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
        let _ = std::fs::remove_dir_all("/etc/hull-climb");
    }
    assert!(
        !escaped,
        "the mount escaped onto the host's /etc/hull-climb"
    );
    assert!(mounts_mentioning("hull-climb").is_empty());
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out, "directory\n");
    assert!(r.join("etc/hull-climb").is_dir());
    assert_no_leftovers(&env, &id);
}

#[test]
fn bind_onto_dangling_symlink_creates_its_target_inside_the_root() {
    require_root!();
    let env = Env::new();
    let r = private_rootfs(&env);
    // Like /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf in systemd images.
    std::fs::create_dir_all(r.join("run")).unwrap();
    std::os::unix::fs::symlink("../run/resolv.conf", r.join("etc/resolv.conf")).unwrap();
    let src = env.dir.join("resolv.conf");
    std::fs::write(&src, "nameserver 192.0.2.1\n").unwrap();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "cat /etc/resolv.conf; readlink /etc/resolv.conf",
    ]);
    b.edit(|c| {
        use_rootfs(c, &r);
        add_mount(c, bind(&src, "/etc/resolv.conf", &["bind", "ro"]));
    });
    let id = env.id("dangling");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out, "nameserver 192.0.2.1\n../run/resolv.conf\n");
    assert!(r.join("run/resolv.conf").is_file());
    assert_no_leftovers(&env, &id);
}

#[test]
fn tmpfs_onto_dangling_directory_symlink_creates_its_target_inside_the_root() {
    require_root!();
    let env = Env::new();
    let r = private_rootfs(&env);
    // An absolute, dangling link: on the host it would point at /srv/hull-dangling.
    std::os::unix::fs::symlink("/srv/hull-dangling/data", r.join("data")).unwrap();
    let mut b = env.bundle(&["sh", "-c", "grep -c ' /srv/hull-dangling/data ' /proc/self/mountinfo; echo x > /data/f && cat /srv/hull-dangling/data/f"]);
    b.edit(|c| {
        use_rootfs(c, &r);
        add_mount(
            c,
            json!({"destination": "/data", "type": "tmpfs", "source": "tmpfs"}),
        );
    });
    let id = env.id("danglingdir");
    let (code, out, err) = env.run(&b, &id);
    assert!(
        !Path::new("/srv/hull-dangling").exists(),
        "created on the host"
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out, "1\nx\n");
    assert!(r.join("srv/hull-dangling/data").is_dir());
    assert_no_leftovers(&env, &id);
}

#[test]
fn dotdot_destination_is_refused() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        add_mount(
            c,
            json!({"destination": "/a/../../etc", "type": "tmpfs", "source": "tmpfs"}),
        )
    });
    let n = b.config["mounts"].as_array().unwrap().len() - 1;
    let id = env.id("dotdot");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("mounts[{n}].destination")), "{err}");
    assert_no_leftovers(&env, &id);
}

#[test]
fn missing_tmpfs_destination_is_created_as_directory() {
    require_root!();
    let env = Env::new();
    let (out, m) = run_with_mountinfo(&env, "stat -c %F /tmp/a/b/c", |c| {
        add_mount(
            c,
            json!({"destination": "/tmp/a/b/c", "type": "tmpfs", "source": "tmpfs"}),
        );
    });
    assert_eq!(out, "directory\n");
    assert_eq!(find(&m, "/tmp/a/b/c").fstype, "tmpfs");
}

#[test]
fn missing_destination_is_created_in_the_image() {
    require_root!();
    let env = Env::new();
    let r = private_rootfs(&env);
    let src = env.dir.join("file-src");
    std::fs::write(&src, "bound\n").unwrap();
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "stat -c %F /newdir/deeper /newfile; cat /newfile",
    ]);
    b.edit(|c| {
        use_rootfs(c, &r);
        add_mount(
            c,
            json!({"destination": "/newdir/deeper", "type": "tmpfs", "source": "tmpfs"}),
        );
        add_mount(c, bind(&src, "/newfile", &["bind", "ro"]));
    });
    let id = env.id("mkdest");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out, "directory\nregular file\nbound\n");
    assert!(r.join("newdir/deeper").is_dir());
    let f = std::fs::metadata(r.join("newfile")).unwrap();
    assert!(
        f.is_file() && f.len() == 0,
        "the target is an empty file of the image"
    );
    assert_no_leftovers(&env, &id);
}

#[test]
fn bind_of_missing_source_fails_naming_the_mount() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    let missing = env.dir.join("no-such-source");
    b.edit(|c| add_mount(c, bind(&missing, "/tmp/x", &["bind"])));
    let n = b.config["mounts"].as_array().unwrap().len() - 1;
    let id = env.id("nosrc");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("mounts[{n}]")), "{err}");
    std::thread::sleep(Duration::from_millis(10));
    assert_no_leftovers(&env, &id);
}
