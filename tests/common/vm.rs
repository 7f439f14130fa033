//! The VM world: a KVM virtual machine booting a Debian kernel (extracted by `make vm-kernel`
//! into `/var/cache/hull-tests/vm/kernel`, never installed on the host) with this host's `/`
//! read-only over 9p under a tmpfs overlay, and systemd as PID 1 on pure cgroup v2
//! (`systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all`): every controller in cgroup2, which
//! this hybrid host cannot offer. qemu runs with `-nic none` (the VM has only its loopback).
//!
//! The keeper (`vm_keeper.sh`) makes the initramfs (static busybox, the virtio/9p/overlay
//! modules), starts qemu and kills it when the test process goes. Commands run in the VM by an
//! agent (a systemd service): [`VmWorld::sh`] writes a script into the world dir (shared
//! read-write at the same path) and names it on a virtio-serial port; the agent runs it at once
//! (beside others still running) and writes its exit status, stdout and stderr into files
//! beside the script. This module must not know what the
//! tests check.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::keeper::{self, Keeper, Unavailable, PATH};

const KEEPER: &str = include_str!("vm_keeper.sh");
/// Where `make vm-kernel` extracts the kernel package, and where the worlds' dirs live.
pub const CACHE: &str = "/var/cache/hull-tests/vm";

static SHARED: OnceLock<Result<VmWorld, Unavailable>> = OnceLock::new();
static WORLDS: AtomicUsize = AtomicUsize::new(0);
static COMMANDS: AtomicUsize = AtomicUsize::new(0);

/// How long one command in the VM may take by default.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a boot may take until the agent answers: 60 s, or `HULL_VM_BOOT_TIMEOUT` seconds.
pub fn boot_timeout() -> Duration {
    let secs = std::env::var("HULL_VM_BOOT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// The shared VM of this test binary, or `return` from the test (skipped, or failed in CI).
#[macro_export]
macro_rules! vm_world {
    () => {
        match $crate::common::vm::VmWorld::shared() {
            Some(w) => w,
            None => return,
        }
    };
}

/// What a command in the VM did.
pub struct VmOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A booted VM (see the module doc).
pub struct VmWorld {
    /// The world's host directory, at the same path in the VM (read-write there).
    pub dir: PathBuf,
    /// From starting the keeper to the agent's first answer.
    pub boot_time: Duration,
    /// The agent's port (write end): one line per command.
    agent: Mutex<UnixStream>,
    keeper: Keeper,
}

impl VmWorld {
    /// The VM shared by the tests of this binary, booted on first use.
    pub fn shared() -> Option<&'static VmWorld> {
        keeper::shared(&SHARED, "VM world", VmWorld::boot, tear_down_shared)
    }

    /// Boot a VM of the caller's own, killed when dropped.
    pub fn boot() -> Result<VmWorld, Unavailable> {
        if let Some(why) = missing_prerequisite() {
            return Err(Unavailable::Missing(why));
        }
        let started = Instant::now();
        let n = WORLDS.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!("{CACHE}/world-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Unavailable::Failed(format!("mkdir {}: {e}", dir.display())))?;
        let script = dir.join("keeper.sh");
        std::fs::write(&script, KEEPER)
            .map_err(|e| Unavailable::Failed(format!("write {}: {e}", script.display())))?;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg(&script)
            .arg(format!("{CACHE}/kernel"))
            .arg(&dir)
            .arg(accel())
            // The repository and cargo's target dir (where test binaries and hull are),
            // which the VM must show even when they lie in /tmp or /run.
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(
                std::env::current_exe()
                    .ok()
                    .and_then(|e| Some(e.parent()?.parent()?.parent()?.to_path_buf())),
            )
            .env_clear()
            .env("PATH", PATH)
            .stderr(Stdio::inherit());
        let (keeper, first) = Keeper::start("VM world", cmd)
            .map_err(|e| Unavailable::Failed(format!("start the VM keeper: {e}")))?;
        if !first.starts_with("qemu ") {
            let _ = keeper.stop(Duration::from_secs(10));
            return Err(Unavailable::Failed(format!("VM world: {first}")));
        }
        let limit = boot_timeout();
        let ready = dir.join("ready");
        let qemu = Path::new("/proc").join(first.trim_start_matches("qemu "));
        while !ready.exists() {
            let zombie = std::fs::read_to_string(qemu.join("stat"))
                .map(|st| {
                    st.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(true);
            if zombie {
                let console = std::fs::read_to_string(dir.join("console.log")).unwrap_or_default();
                let tail: Vec<&str> = console.lines().rev().take(15).collect();
                let _ = keeper.stop(Duration::from_secs(10));
                return Err(Unavailable::Failed(format!(
                    "the VM ended before its agent answered; its console's last lines \
                     (newest first): {tail:#?}"
                )));
            }
            if started.elapsed() > limit {
                let console = std::fs::read_to_string(dir.join("console.log")).unwrap_or_default();
                let last: Vec<&str> = console.lines().rev().take(3).collect();
                let _ = keeper.stop(Duration::from_secs(10));
                // Nested KVM (this host is itself a VM) may run a guest far too slowly: a
                // prerequisite this host lacks, not a failure of the world.
                return Err(Unavailable::Missing(format!(
                    "the VM's agent did not answer within {limit:?} (qemu -accel {}; \
                     HULL_VM_BOOT_TIMEOUT raises the limit); its console's last lines: {:?}",
                    accel(),
                    last
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let sock = UnixStream::connect(dir.join("agent.sock"))
            .map_err(|e| Unavailable::Failed(format!("connect to the VM's agent: {e}")))?;
        let mut w = VmWorld {
            dir,
            boot_time: Duration::ZERO,
            agent: Mutex::new(sock),
            keeper,
        };
        // The first answer: the agent is up.
        let out = w.run("true");
        if out.code != 0 {
            return Err(Unavailable::Failed(format!(
                "the VM's agent failed `true`: {}",
                out.stderr
            )));
        }
        w.boot_time = started.elapsed();
        Ok(w)
    }

    /// Run `script` with `/bin/sh` in the VM (as root, in the agent's cgroup, a session of its
    /// own): its exit code, stdout and stderr. Panics when it has not ended within
    /// [`COMMAND_TIMEOUT`].
    pub fn run(&self, script: &str) -> VmOutput {
        self.run_within(script, COMMAND_TIMEOUT)
    }

    /// [`Self::run`] with a limit of the caller's. Commands of several threads run at once in
    /// the VM; each waits for the `ID.rc` file the agent writes when its command has ended. A
    /// command the VM has not finished within `limit` panics with the agent's starts and the
    /// console's tail.
    pub fn run_within(&self, script: &str, limit: Duration) -> VmOutput {
        let id = format!("c{}", COMMANDS.fetch_add(1, Ordering::Relaxed));
        let base = self.dir.join(&id);
        std::fs::write(base.with_extension("sh"), script).unwrap();
        writeln!(self.agent.lock().unwrap_or_else(|e| e.into_inner()), "{id}").unwrap();
        let started = Instant::now();
        let rc_file = base.with_extension("rc");
        let code = loop {
            if let Ok(rc) = std::fs::read_to_string(&rc_file) {
                break rc.trim().parse().unwrap_or(-1);
            }
            if started.elapsed() > limit {
                panic!(
                    "in the VM, {id} did not end within {limit:?}: {}\nscript: {script}",
                    self.what_became()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = std::fs::remove_file(&rc_file);
        let take = |ext: &str| {
            let p = base.with_extension(ext);
            let s = std::fs::read_to_string(&p).unwrap_or_default();
            let _ = std::fs::remove_file(&p);
            s
        };
        let out = VmOutput {
            code,
            stdout: take("out"),
            stderr: take("err"),
        };
        let _ = std::fs::remove_file(base.with_extension("sh"));
        out
    }

    /// The agent's starts and the console's last lines, for a command that got no answer.
    fn what_became(&self) -> String {
        let starts = std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default();
        let console = std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default();
        let tail: Vec<&str> = console.lines().rev().take(10).collect();
        format!(
            "the agent's starts (uptime): {:?}; the console's last lines, newest first: {tail:#?}",
            starts.lines().collect::<Vec<_>>()
        )
    }

    /// Run `script` in the VM; its stdout, trimmed. Panics (with stderr) unless it exits 0.
    pub fn sh(&self, script: &str) -> String {
        let out = self.run(script);
        assert_eq!(
            out.code, 0,
            "in the VM: {script}\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        out.stdout.trim().to_string()
    }

    /// The host path of the world's dir, for files the VM should see.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// A test binary of this build beside the running one (`target/<profile>/deps/NAME-<hash>`,
/// the newest when earlier builds left others): `make test` (`cargo test --all-targets`)
/// builds every target before any runs; alone, `cargo test --no-run --test NAME` first.
pub fn test_binary(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let deps = me.parent().ok_or("the test binary has no directory")?;
    let prefix = format!("{name}-");
    let newest = std::fs::read_dir(deps)
        .map_err(|e| format!("{}: {e}", deps.display()))?
        .flatten()
        .filter(|e| {
            let f = e.file_name();
            let f = f.to_string_lossy();
            f.strip_prefix(&prefix)
                .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max();
    newest.map(|(_, p)| p).ok_or_else(|| {
        format!(
            "no test binary {name} in {} (cargo test --no-run --test {name})",
            deps.display()
        )
    })
}

impl VmWorld {
    /// Run a whole test binary in the VM, with `args`, from the repository, in the environment
    /// cargo gave this one (PATH with cargo's directory first, HOME, CARGO*, CI, HULL_*,
    /// RUST_*): its exit code and output (stdout then stderr). Within `limit`.
    pub fn run_test_binary(&self, bin: &Path, args: &[&str], limit: Duration) -> VmOutput {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let mut script = String::new();
        for (k, v) in std::env::vars() {
            let pass = ["PATH", "HOME", "CI", "LANG"].contains(&k.as_str())
                || ["CARGO", "HULL_", "RUST_"].iter().any(|p| k.starts_with(p));
            let name_ok = k.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric());
            if pass && name_ok {
                script += &format!("export {k}={}\n", quote(&v));
            }
        }
        if let Ok(cargo) = std::env::var("CARGO") {
            if let Some(dir) = Path::new(&cargo).parent() {
                script += &format!("export PATH={}:\"$PATH\"\n", quote(&dir.to_string_lossy()));
            }
        }
        script += &format!(
            "cd {}\nexec {}",
            quote(env!("CARGO_MANIFEST_DIR")),
            quote(&bin.to_string_lossy())
        );
        for a in args {
            script += &format!(" {}", quote(a));
        }
        script += "\n";
        self.run_within(&script, limit)
    }
}

impl Drop for VmWorld {
    fn drop(&mut self) {
        let _ = self.keeper.stop(Duration::from_secs(30));
    }
}

extern "C" fn tear_down_shared() {
    keeper::tear_down_at_exit(
        &SHARED,
        |w| format!("VM world {}", w.dir.display()),
        |w| w.keeper.stop(Duration::from_secs(30)),
    );
}

/// qemu's accelerator: `HULL_VM_ACCEL`, else `kvm` where KVM has hardware virtualization
/// behind it (kvm_intel or kvm_amd), else `tcg`. KVM without it (`kvm_pvm`, as in the Firecracker
/// VM this project's CI host is) runs a stock kernel about a thousand times slower (87 s to the
/// kernel's mm_init there); emulation boots the world in about 15 s.
pub fn accel() -> String {
    if let Ok(a) = std::env::var("HULL_VM_ACCEL") {
        return a;
    }
    let hw = ["kvm_intel", "kvm_amd"]
        .iter()
        .any(|m| Path::new("/sys/module").join(m).exists());
    if hw && Path::new("/dev/kvm").exists() {
        "kvm".into()
    } else {
        "tcg".into()
    }
}

/// What this host lacks for a VM world, in words.
fn missing_prerequisite() -> Option<String> {
    if !super::is_root() {
        return Some("needs root".into());
    }
    if accel() == "kvm" && !Path::new("/dev/kvm").exists() {
        return Some("no /dev/kvm (KVM) on this host".into());
    }
    if let Some(why) = keeper::missing_tool(&[
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("setpriv", "util-linux"),
    ]) {
        return Some(why);
    }
    if !Path::new("/bin/busybox").exists() {
        return Some("no /bin/busybox (make deps-run)".into());
    }
    let boot = Path::new(CACHE).join("kernel/boot");
    let has_kernel = std::fs::read_dir(&boot)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
        })
        .unwrap_or(false);
    if !has_kernel {
        return Some(format!("no kernel in {} (make vm-kernel)", boot.display()));
    }
    None
}
