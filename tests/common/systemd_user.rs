//! A real unprivileged user with a systemd user manager of its own, inside a systemd world
//! (`systemd.rs`), for tests of hull run by a user with `--systemd-cgroup`: the container's
//! unit is then made by the user's `systemd --user` over the user's bus.
//!
//! The world's `/etc` is its own: nspawn's `--volatile=yes` boots a tmpfs root with only `/usr`
//! from the host, and systemd-sysusers fills `passwd` and `group` there at boot. So the user is
//! made in the world only (checked: the world's `/etc` is a tmpfs, and the host has no such
//! user): a `passwd` and a `group` line appended, a home in the world's scratch dir (the same
//! path outside, so tests write there with `std::fs`). PAM's `systemd-user` service, which the
//! user manager is started through, needs a stack in `/etc/pam.d` (Debian's
//! `/usr/lib/pam.d/systemd-user` includes `common-*` files only `/etc/pam.d` has): pam_permit,
//! and pam_systemd, which gives the manager its `XDG_RUNTIME_DIR`. Then the system manager
//! starts `user@UID.service`, as logind does at a first login (or lingering does at boot):
//! `user-runtime-dir@UID.service` makes `/run/user/UID`, the manager starts, and its
//! `dbus.socket` (dbus-user-session's) listens on `/run/user/UID/bus`. It is ready in about
//! 0.1 s. Nothing of it exists outside the world; the world's teardown takes all of it.
//!
//! [`WorldUser::cmd`] runs a command in the world as the user (`setpriv`: its uid, gid and
//! group only, no capability) with only `PATH`, `HOME`, `USER`, `LANG=C` and
//! `XDG_RUNTIME_DIR=/run/user/UID` in its environment, in the world's `/hull-tests` cgroup,
//! which is root's (as a login session's is): moving a process from there into the user's unit
//! is not the user's to do. [`WorldUser::env`] gives a test a `--root` of its own under
//! `/run/user/UID`, bundles that `hull spec --rootless` writes as the user, and deletes what
//! the test made when it is dropped.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::cell::RefCell;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::chown;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::keeper::PATH;
use super::systemd::SystemdWorld;
use super::{hull_bin, rootfs, text, Bundle};

static SHARED: OnceLock<WorldUser> = OnceLock::new();
static ENVS: AtomicUsize = AtomicUsize::new(0);

/// The uid (and gid) of the shared world's user; others count up from it.
pub const FIRST_UID: u32 = 4321;

/// A user of a systemd world with its manager running (see the module doc).
pub struct WorldUser {
    pub world: &'static SystemdWorld,
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Its home: a directory of its own in the world's scratch dir (same path outside).
    pub home: PathBuf,
}

impl WorldUser {
    /// The user of `world` shared by this binary's tests, made on first use; `None` after
    /// `skip_or_fail` when the host's /usr lacks what a user manager with a bus needs.
    pub fn shared(world: &'static SystemdWorld) -> Option<&'static WorldUser> {
        if let Some(why) = missing_prerequisite() {
            super::skip_or_fail(&why);
            return None;
        }
        Some(SHARED.get_or_init(|| WorldUser::make(world, "hullsd", FIRST_UID)))
    }

    /// Make user `name` with uid and gid `uid` in `world` and start its manager. Panics with
    /// the world's journal when it does not come up.
    pub fn make(world: &'static SystemdWorld, name: &str, uid: u32) -> WorldUser {
        let etc = world.sh("stat -f -c %T /etc");
        assert_eq!(
            etc.trim(),
            "tmpfs",
            "the world's /etc is not its own tmpfs; no user is made there"
        );
        let host = fs::read_to_string("/etc/passwd").unwrap_or_default();
        assert!(
            !host.lines().any(|l| l.starts_with(&format!("{name}:"))),
            "{name} exists on the host"
        );
        let home = world.scratch.join(format!("home-{name}"));
        fs::create_dir_all(&home).unwrap();
        chown(&home, Some(uid), Some(uid)).unwrap();
        let pam = "# the hull test world: what PAMName=systemd-user of user@.service needs\n\
                   account required pam_permit.so\n\
                   session required pam_permit.so\n\
                   session optional pam_systemd.so\n";
        world.sh(&format!(
            "mkdir -p /etc/pam.d && {{ [ -e /etc/pam.d/systemd-user ] || printf '%s' '{pam}' > /etc/pam.d/systemd-user; }} && \
             echo '{name}:x:{uid}:{uid}:hull test user:{home}:/bin/sh' >> /etc/passwd && \
             echo '{name}:x:{uid}:' >> /etc/group",
            home = home.display()
        ));
        let user = WorldUser {
            world,
            name: name.to_string(),
            uid,
            gid: uid,
            home,
        };
        let started = Instant::now();
        let unit = user.manager_unit();
        let o = world.output(&["systemctl", "start", &unit]);
        assert!(
            o.status.success(),
            "systemctl start {unit} in systemd world {}: {}\n{}",
            world.name,
            text(&o.stderr),
            world.journal(30)
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !world.exists(&user.bus()) {
            assert!(
                Instant::now() < deadline,
                "{unit} runs but {} did not appear\n{}",
                user.bus(),
                world.journal(30)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let msg = format!(
            "systemd world {}: user {name} ({uid}), {unit} ready in {:.2} s\n",
            world.name,
            started.elapsed().as_secs_f64()
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
        user
    }

    /// `user@UID.service`.
    pub fn manager_unit(&self) -> String {
        format!("user@{}.service", self.uid)
    }

    /// The manager's cgroup: `/user.slice/user-UID.slice/user@UID.service`.
    pub fn manager_cgroup(&self) -> String {
        format!(
            "/user.slice/user-{uid}.slice/user@{uid}.service",
            uid = self.uid
        )
    }

    /// `/run/user/UID`.
    pub fn runtime_dir(&self) -> String {
        format!("/run/user/{}", self.uid)
    }

    /// The user's bus socket.
    pub fn bus(&self) -> String {
        format!("{}/bus", self.runtime_dir())
    }

    /// `args` in the world as the user, with the user's environment (see the module doc).
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let xdg = format!("XDG_RUNTIME_DIR={}", self.runtime_dir());
        self.cmd_env(&[xdg.as_str()], args)
    }

    /// `args` as the user with `env` (`NAME=value`) instead of `XDG_RUNTIME_DIR`.
    pub fn cmd_env<S: AsRef<OsStr>>(&self, env: &[&str], args: &[S]) -> Command {
        let (uid, gid) = (self.uid.to_string(), self.gid.to_string());
        let head = [
            "setpriv",
            "--reuid",
            &uid,
            "--regid",
            &gid,
            "--clear-groups",
            "--inh-caps=-all",
            "--",
            "env",
            "-i",
        ];
        let mut all: Vec<&OsStr> = head.iter().map(OsStr::new).collect();
        let path = format!("PATH={PATH}");
        let home = format!("HOME={}", self.home.display());
        let user = format!("USER={}", self.name);
        let fixed = [path.as_str(), home.as_str(), user.as_str(), "LANG=C"];
        all.extend(fixed.iter().chain(env).map(OsStr::new));
        all.extend(args.iter().map(AsRef::as_ref));
        self.world.cmd(&all)
    }

    /// `sh -c script` as the user; its stdout. Panics unless it exits 0.
    pub fn sh(&self, script: &str) -> String {
        let o = self.cmd(&["sh", "-c", script]).output().unwrap();
        assert!(
            o.status.success(),
            "as {} in systemd world {}: {script}: {}\n{}",
            self.name,
            self.world.name,
            o.status,
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// `systemctl --user show UNIT -p P…` as the user: property → value.
    pub fn show(&self, unit: &str, props: &[&str]) -> std::collections::BTreeMap<String, String> {
        let mut args = vec!["systemctl", "--user", "show", unit];
        for p in props {
            args.extend(["-p", p]);
        }
        let out = self.cmd(&args).output().unwrap();
        assert!(
            out.status.success(),
            "systemctl --user show {unit}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A test's hull run by this user.
    pub fn env(&self) -> UserWorldEnv<'_> {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let dir = self.home.join(format!("test-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        chown(&dir, Some(self.uid), Some(self.gid)).unwrap();
        UserWorldEnv {
            user: self,
            root: dir.join("state").to_string_lossy().into_owned(),
            dir,
            ids: Default::default(),
        }
    }
}

/// What the world's /usr (the host's) lacks for a user manager with a bus, if anything.
fn missing_prerequisite() -> Option<String> {
    if !std::path::Path::new("/usr/lib/systemd/user/dbus.socket").exists() {
        return Some(
            "no user bus for a user manager: dbus-user-session is not installed (make deps)".into(),
        );
    }
    let pam_systemd = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("security/pam_systemd.so").exists());
    if !pam_systemd {
        return Some(
            "no pam_systemd.so for a user manager: libpam-systemd is not installed (make deps)"
                .into(),
        );
    }
    None
}

/// A test's hull run by a [`WorldUser`]: a directory of the user's for its bundles and its
/// `--root` (`state/` in it: it outlives the user's runtime dir, which goes with the manager),
/// the ids it made force-deleted (as the user) on drop.
pub struct UserWorldEnv<'u> {
    pub user: &'u WorldUser,
    /// Bundles (the user's; the same path in and out of the world).
    pub dir: PathBuf,
    /// hull's `--root` (the same path in and out of the world).
    pub root: String,
    ids: RefCell<Vec<String>>,
}

impl UserWorldEnv<'_> {
    /// A fresh unique container id (force-deleted on drop).
    pub fn id(&self, tag: &str) -> String {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let id = format!("{tag}-{}-{n}", std::process::id());
        self.ids.borrow_mut().push(id.clone());
        id
    }

    /// What `hull spec --rootless` writes as the user, running `args` without a terminal on
    /// the repository's busybox rootfs (absolute, read-only).
    pub fn bundle(&self, args: &[&str]) -> Bundle {
        let n = ENVS.fetch_add(1, Ordering::SeqCst);
        let dir = self.dir.join(format!("bundle{n}"));
        fs::create_dir(&dir).unwrap();
        chown(&dir, Some(self.user.uid), Some(self.user.gid)).unwrap();
        let bin = hull_bin();
        let o = self
            .user
            .cmd(&[
                bin.as_os_str(),
                "spec".as_ref(),
                "--rootless".as_ref(),
                "--bundle".as_ref(),
                dir.as_os_str(),
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "hull spec --rootless: {}",
            text(&o.stderr)
        );
        let mut config: Value =
            serde_json::from_slice(&fs::read(dir.join("config.json")).unwrap()).unwrap();
        config["process"]["args"] = args.iter().map(|a| json!(a)).collect();
        config["process"]["terminal"] = json!(false);
        config["root"] = json!({"path": rootfs(), "readonly": true});
        let b = Bundle { dir, config };
        b.save();
        b
    }

    /// `hull --root <root> args…` as the user.
    pub fn hull_cmd(&self, args: &[&str]) -> Command {
        self.hull_cmd_env(None, args)
    }

    /// [`Self::hull_cmd`] with `env` (`NAME=value`) instead of the user's `XDG_RUNTIME_DIR`.
    pub fn hull_cmd_env(&self, env: Option<&[&str]>, args: &[&str]) -> Command {
        let bin = hull_bin();
        let mut all: Vec<&OsStr> = vec![bin.as_os_str(), "--root".as_ref(), self.root.as_ref()];
        all.extend(args.iter().map(OsStr::new));
        let mut c = match env {
            None => self.user.cmd(&all),
            Some(env) => self.user.cmd_env(env, &all),
        };
        c.stdin(Stdio::null());
        c
    }

    /// [`Self::hull_cmd`], run with its output captured.
    pub fn hull(&self, args: &[&str]) -> Output {
        self.hull_cmd(args).output().unwrap()
    }

    /// `hull --systemd-cgroup create` of `b` as `id` that must succeed (the container's stdio
    /// to files in the bundle dir: a pipe would stay open as long as it lives).
    pub fn sd_create(&self, b: &Bundle, id: &str) {
        let out = fs::File::create(b.dir.join("stdout")).unwrap();
        let err = fs::File::create(b.dir.join("stderr")).unwrap();
        let bundle = b.dir.to_str().unwrap();
        let st = self
            .hull_cmd(&["--systemd-cgroup", "create", "--bundle", bundle, id])
            .stdout(out)
            .stderr(err)
            .status()
            .unwrap();
        let err = fs::read_to_string(b.dir.join("stderr")).unwrap_or_default();
        assert!(st.success(), "create {id} as {}: {err}", self.user.name);
    }

    /// The parsed `hull state`.
    pub fn state(&self, id: &str) -> Value {
        let o = self.hull(&["state", id]);
        assert!(o.status.success(), "state {id}: {}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }
}

impl Drop for UserWorldEnv<'_> {
    fn drop(&mut self) {
        for id in self.ids.borrow().iter() {
            let _ = self.hull(&["delete", "--force", id]);
        }
        let _ = self.user.cmd(&["rm", "-rf", &self.root]).output();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
