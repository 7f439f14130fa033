//! Rootless podman: podman run by the rootless world's user (tests/common/rootless.rs: a real
//! user with subordinate ids, its own `XDG_RUNTIME_DIR`), as Fedora's and RHEL's users run it.
//! podman makes its user namespace (the user's id as 0, the subordinate ids above it, through
//! newuidmap) and runs conmon and hull inside it: hull is root of a user namespace that is not
//! the host's, rootless by `--rootless auto`, and the config has no user namespace of its own
//! (unless `--userns=keep-id`). Each world has its own storage (`--root`, `--runroot`, vfs),
//! `--tmpdir`, network config dir and containers.conf in a directory of the user's, hull through
//! a wrapper adding `--root` there (a state root per world, as the root podman world's), and the
//! test rootfs imported as `IMAGE`. No cgroup: cgroupfs on a host whose cgroups the user cannot
//! write (podman's rootless default outside systemd), so no limits either. No network:
//! `--network none` (slirp4netns would need /dev/net/tun).
//!
//! What the world cannot remove itself goes with the user at the end of the test binary (the
//! rootless keeper kills podman's pause process and removes the user's directories).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::hull_bin;
use crate::common::rootless::{RootlessUser, UserEnv};
use crate::engine::Engine;
use crate::podman::in_world;
use crate::world::{code, describe, IMAGE};

pub struct RootlessPodman {
    env: UserEnv<'static>,
    /// hull's `--root`, through the wrapper (made by hull, as the user).
    hull_root: PathBuf,
}

impl RootlessPodman {
    /// A rootless podman world of `user`'s, with the test rootfs imported as `IMAGE`.
    pub fn new(user: &'static RootlessUser) -> RootlessPodman {
        let env = user.env();
        let hull_root = env.dir.join("hull");
        let wrapper = env.dir.join("hull-runtime");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec '{}' --root '{}' \"$@\"\n",
                hull_bin().display(),
                hull_root.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(
            env.dir.join("containers.conf"),
            format!(
                "[engine]\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n\
                 runtime = \"hull\"\n\
                 runtime_supports_json = [\"hull\"]\n\
                 [engine.runtimes]\n\
                 hull = [\"{}\"]\n",
                wrapper.display()
            ),
        )
        .unwrap();
        let p = RootlessPodman { env, hull_root };
        p.import_rootfs();
        p
    }

    pub fn user(&self) -> &RootlessUser {
        self.env.user
    }

    /// The host owner of `path` (a file in a volume).
    pub fn host_owner(path: &Path) -> (u32, u32) {
        use std::os::unix::fs::MetadataExt;
        let md = fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        (md.uid(), md.gid())
    }

    /// A directory of the user's in this world, for a volume.
    pub fn volume(&self, name: &str) -> PathBuf {
        let dir = self.env.dir.join(name);
        fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(self.user().uid), Some(self.user().gid)).unwrap();
        dir
    }
}

impl Engine for RootlessPodman {
    const CLI: &'static str = "podman";
    const IMAGE: &'static str = IMAGE;
    const RM: &'static [&'static str] = &["rm", "-f", "-t", "0"];

    fn cli(&self, args: &[&str]) -> Output {
        in_world(self.env.user.cmd("podman"), &self.env.dir, args)
    }

    fn dir(&self) -> &Path {
        &self.env.dir
    }

    fn run_options(&self) -> Vec<&str> {
        Vec::new()
    }

    fn hull_root(&self) -> PathBuf {
        self.hull_root.clone()
    }

    fn cgroup(&self, id: &str) -> PathBuf {
        // None is made (see the module doc); a name no hierarchy has.
        PathBuf::from(format!("rootless-podman-has-no-cgroup-{id}"))
    }

    fn assert_exec_of_missing_command(&self, o: &Output) {
        assert_eq!(code(o), 127, "{}", describe(o));
    }
}

impl Drop for RootlessPodman {
    fn drop(&mut self) {
        let _ = self.cli(&["rm", "-a", "-f", "-t", "0"]);
        // Storage holds files of the subordinate ids: podman removes them in its namespace.
        let _ = self.cli(&["system", "reset", "--force"]);
    }
}
