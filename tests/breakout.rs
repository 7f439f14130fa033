//! Breakouts, performed for real against real containers (issue #10's classes). A hostile
//! program runs inside a container (`probe`'s attack modes, tests/inside) while the host drives
//! hull at it the way engines do; each test asserts the host is untouched, and says how it was
//! checked that the test fails with the protection removed.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// `hull` at `bin` (a copy, when the test may damage it) on `env`'s state root.
fn hull_at(bin: &Path, env: &Env, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--root").arg(&env.root).args(args);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// A detached container running `args` (its stdout to a file), created and started with the
/// hull at `bin`; returns (id, stdout file, init's host pid).
fn attacker(
    env: &Env,
    bin: &Path,
    args: &[&str],
    edit: impl FnOnce(&mut Value),
) -> (String, PathBuf, i32) {
    let mut b = env.bundle(args);
    b.edit(edit);
    let id = env.id("attacker");
    let out = env.dir.join(format!("{id}.out"));
    // The container's stdio must not be a pipe of ours: output() would wait for its end.
    let err = env.dir.join(format!("{id}.err"));
    // ETXTBSY: the copy of hull was just written, and a child another test thread forked
    // meanwhile may still hold that write fd until its own exec; wait for it, as Go's tests do.
    let mut tries = 0;
    let o = loop {
        let r = hull_at(
            bin,
            env,
            &["run", "-d", "--bundle", b.dir.to_str().unwrap(), &id],
        )
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .output();
        match r {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => break r.unwrap(),
        }
    };
    let err = fs::read_to_string(&err).unwrap_or_default();
    assert!(o.status.success(), "run -d {id}: {err}");
    let pid = env.state(&id)["pid"].as_i64().unwrap() as i32;
    assert_eq!(
        env.status(&id),
        "running",
        "the attacker stopped: {}{err}",
        fs::read_to_string(&out).unwrap_or_default()
    );
    (id, out, pid)
}

/// A second container's bundle whose pid namespace is the attacker's (init `pid`).
fn joining_bundle(env: &Env, pid: i32, args: &[&str]) -> Bundle {
    let mut b = env.bundle(args);
    b.edit(|c| {
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = json!(format!("/proc/{pid}/ns/pid"));
            }
        }
    });
    b
}

/// Wait for the attacker's last line (it prints a summary when its time is up).
fn summary(out: &Path, key: &str) -> String {
    for _ in 0..3000 {
        let t = fs::read_to_string(out).unwrap_or_default();
        if t.lines().any(|l| l.starts_with(key)) {
            return t;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "the attacker never reported: {}",
        fs::read_to_string(out).unwrap_or_default()
    );
}

fn sha(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()
}

/// CVE-2019-5736: a process in the container holds O_PATH fds on /proc/PID/exe of every clone
/// of hull that enters its pid namespace — `hull exec` (plain, `/proc/self/exe` itself, a
/// `#!/proc/self/exe` script) and the init of a second container `hull run` puts in the same
/// pid namespace — and reopens them for writing until hull is gone. The attacker holds
/// CAP_SYS_PTRACE, so non-dumpability does not stop it: what stands is the read-only binary
/// (selfexe.rs). The hull under attack is a copy, so a landed write harms nothing else.
/// Checked to fail: with `selfexe::ensure_protected` returning at once, the attacker wrote
/// into the copy on the first iterations.
#[test]
fn hull_binary_stays_unwritable_from_inside_the_container() {
    require_root!();
    let env = Env::new();
    let bin = env.dir.join("hull");
    fs::copy(hull_bin(), &bin).unwrap();
    let before = sha(&bin);
    let all_caps = json!([
        "CAP_SYS_PTRACE",
        "CAP_SYS_ADMIN",
        "CAP_DAC_OVERRIDE",
        "CAP_KILL",
        "CAP_SETUID",
        "CAP_SETGID"
    ]);
    let (id, out, pid) = attacker(&env, &bin, &["probe", "exe-attack", "6"], |c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] = all_caps.clone();
        }
    });
    let script = "printf '#!/proc/self/exe\\n' > /tmp/s && chmod +x /tmp/s";
    assert!(hull_at(&bin, &env, &["exec", &id, "sh", "-c", script])
        .output()
        .unwrap()
        .status
        .success());
    let second = joining_bundle(&env, pid, &["true"]);
    let started = std::time::Instant::now();
    let mut i = 0;
    // A binary the attacker holds open for writing cannot be executed (ETXTBSY): the attack
    // has landed, and the loop stops.
    let busy = |o: std::io::Result<Output>| match o {
        Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => None,
        o => Some(o.unwrap()),
    };
    'rounds: while started.elapsed() < Duration::from_secs(4) {
        for cmd in [&["true"][..], &["/proc/self/exe"], &["/tmp/s"]] {
            let mut a = vec!["exec", &id];
            a.extend_from_slice(cmd);
            if busy(hull_at(&bin, &env, &a).output()).is_none() {
                break 'rounds;
            }
        }
        let run_id = env.id("joiner");
        let b = second.dir.to_str().unwrap();
        let Some(o) = busy(hull_at(&bin, &env, &["run", "--bundle", b, &run_id]).output()) else {
            break;
        };
        assert!(o.status.success(), "run {run_id}: {}", text(&o.stderr));
        i += 1;
    }
    // No hull runs from the copy now: a writable binary would be written by the attacker
    // before its time is up.
    let report = summary(&out, "seen=");
    assert!(
        !report.contains("WROTE"),
        "the attacker wrote into hull's binary: {report}"
    );
    assert_eq!(sha(&bin), before, "hull's binary changed");
    // The attack reached hull's clones (so the test can fail): each reopen ended in EROFS.
    assert!(
        report.contains("errno_30="),
        "the attacker never held a hull binary ({i} rounds): {report}"
    );
}

/// Run hull with `dir` (a host directory) as its working directory and leaked at fd 9 without
/// close-on-exec, as shells and shims leave them. Its stdio are files (a container that
/// outlives hull would hold a pipe open); their text comes back in the output.
fn hull_leaking(env: &Env, dir: &Path, args: &[&str]) -> Output {
    let leaked = fs::File::open(dir).unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&leaked);
    let (out, err) = (env.dir.join("leaking.out"), env.dir.join("leaking.err"));
    let mut c = env.cmd(args);
    c.current_dir(dir)
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap());
    // SAFETY: only async-signal-safe dup2 in the forked child; `leaked` outlives the spawn.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(raw, 9) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut o = c.output().unwrap();
    drop(leaked);
    o.stdout = fs::read(&out).unwrap_or_default();
    o.stderr = fs::read(&err).unwrap_or_default();
    o
}

/// CVE-2016-9962 and CVE-2024-21626: a process in an (identity-mapped) user-namespaced
/// container that holds CAP_SYS_PTRACE there looks through /proc/PID/{cwd,root,fd/N} of every other process for a
/// host directory — planted with a file named after the test — while the host runs `hull exec`
/// and `create`+`start` and `run` of a second container in the same user and pid namespaces,
/// from that very directory and with a descriptor of it leaked to hull. Until their chroot or
/// pivot_root, hull's clones stand in the host's root and cwd; they are non-dumpable from
/// stage 1 to their execve, so a capability inside a user namespace does not open their /proc.
/// Checked to fail: without `PR_SET_DUMPABLE 0` in stage 1 the attacker found the directory
/// 41 times, e.g. through /proc/3/cwd (the second container's init before pivot_root). With
/// a mapping that changes the ids the kernel drops dumpability itself: hence identity.
#[test]
fn no_host_directory_is_reachable_through_hulls_processes() {
    require_root!();
    let env = Env::new();
    let secret = env.dir.join("host-dir");
    fs::create_dir_all(&secret).unwrap();
    let name = format!("planted-{}", std::process::id());
    fs::write(secret.join(&name), "host").unwrap();
    let args = ["probe", "fd-attack", "6", &name];
    let (id, out, pid) = attacker(&env, &hull_bin(), &args, |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        // Identity-mapped: the ids do not change when hull's clones join it, so the kernel
        // does not drop their dumpability by itself (commit_creds does on an id change).
        let map = json!([{ "containerID": 0, "hostID": 0, "size": 65536 }]);
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_PTRACE"));
        }
    });
    let mut second = joining_bundle(&env, pid, &["true"]);
    second.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": format!("/proc/{pid}/ns/user")}));
    });
    let b = second.dir.to_str().unwrap();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        let o = hull_leaking(&env, &secret, &["exec", &id, "true"]);
        assert!(o.status.success(), "exec: {}", text(&o.stderr));
        let c = env.id("created");
        let o = hull_leaking(&env, &secret, &["create", "--bundle", b, &c]);
        assert!(o.status.success(), "create: {}", text(&o.stderr));
        std::thread::sleep(Duration::from_millis(20));
        let o = env.hull(&["start", &c]);
        assert!(o.status.success(), "start: {}", text(&o.stderr));
        let r = env.id("joiner");
        let o = hull_leaking(&env, &secret, &["run", "--bundle", b, &r]);
        assert!(o.status.success(), "run: {}", text(&o.stderr));
    }
    let report = summary(&out, "looked=");
    assert!(
        !report.contains("FOUND"),
        "a host directory was reachable: {report}"
    );
}

/// A descriptor of a host directory the caller leaked to hull (without close-on-exec) is no
/// way out through `--cwd /proc/self/fd/N` either: hull closes what it was not asked to pass
/// on before anything else, and the payload's cwd is checked to lie inside the root.
/// Checked to fail: with both the early close and the cwd check removed, the process ran in
/// the host directory and wrote there.
#[test]
fn exec_cwd_through_a_descriptor_the_caller_leaked_is_refused() {
    require_root!();
    let env = Env::new();
    let secret = env.dir.join("host-dir");
    fs::create_dir_all(&secret).unwrap();
    let (id, _, _) = attacker(&env, &hull_bin(), &["sleep", "100"], |_| {});
    let o = hull_leaking(
        &env,
        &secret,
        &[
            "exec",
            "--cwd",
            "/proc/self/fd/9",
            &id,
            "sh",
            "-c",
            "echo out > escaped",
        ],
    );
    assert_eq!(o.status.code(), Some(255), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("process.cwd"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        !secret.join("escaped").exists(),
        "the process wrote into the host directory"
    );
}

/// A private copy of the test rootfs (the shared one is never written) as `b`'s rootfs.
fn own_rootfs(b: &mut Bundle) -> PathBuf {
    let r = b.dir.join("rootfs");
    let o = Command::new("cp")
        .args(["-a", rootfs().to_str().unwrap(), r.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "cp: {}", text(&o.stderr));
    b.edit(|c| c["root"]["path"] = json!("rootfs"));
    r
}

/// A bind mount whose source lies in the image — a symlink the image planted, absolute or
/// climbing with `..`, pointing at a host directory — mounts what the path names inside the
/// rootfs, never the host's directory (runc follows such a symlink on the host). The image
/// has its own directory at the same path, so the test sees which one was mounted.
/// Checked to fail: resolving the source on the host (the code before) mounted the host's
/// directory: the container read "host" and wrote into it.
#[test]
fn bind_source_in_the_image_cannot_point_at_the_host() {
    require_root!();
    let env = Env::new();
    let host = env.dir.join("host-dir");
    fs::create_dir_all(&host).unwrap();
    fs::write(host.join("which"), "host\n").unwrap();
    let script = "cat /mnt/a/which /mnt/b/which; echo a > /mnt/a/written; echo b > /mnt/b/written";
    let mut b = env.bundle(&["sh", "-c", script]);
    let rootfs = own_rootfs(&mut b);
    let in_image = rootfs.join(host.strip_prefix("/").unwrap());
    fs::create_dir_all(&in_image).unwrap();
    fs::write(in_image.join("which"), "image\n").unwrap();
    std::os::unix::fs::symlink(&host, rootfs.join("evil-abs")).unwrap();
    fs::create_dir_all(rootfs.join("sub")).unwrap();
    let climb = format!("../../../../../../../..{}", host.display());
    std::os::unix::fs::symlink(&climb, rootfs.join("sub/evil-rel")).unwrap();
    let abs_source = rootfs.join("sub/evil-rel");
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        // The paths above are under /tmp: no tmpfs over the image's /tmp here.
        mounts.retain(|m| m["destination"] != "/tmp");
        mounts.push(json!({"destination": "/mnt/a", "type": "bind",
            "source": "rootfs/evil-abs", "options": ["bind"]}));
        mounts.push(json!({"destination": "/mnt/b", "type": "bind",
            "source": abs_source, "options": ["rbind"]}));
    });
    let id = env.id("bindsrc");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out, "image\nimage\n",
        "the container saw the host's directory: {err}"
    );
    assert_eq!(fs::read_to_string(host.join("which")).unwrap(), "host\n");
    assert!(
        !host.join("written").exists(),
        "the container wrote into the host directory"
    );
    assert!(
        in_image.join("written").exists(),
        "the image's directory was not the one mounted"
    );
}

/// A kernel-wide sysctl the /proc attacks aim at: harmless to change, restored on drop.
const TARGET_SYSCTL: &str = "/proc/sys/kernel/printk_ratelimit";

/// The host value of [`TARGET_SYSCTL`], put back when the guard drops (an attack that lands
/// must not outlive its test).
struct SysctlGuard(String);

impl SysctlGuard {
    fn new() -> SysctlGuard {
        SysctlGuard(fs::read_to_string(TARGET_SYSCTL).unwrap())
    }
    fn unchanged(&self) -> bool {
        fs::read_to_string(TARGET_SYSCTL).unwrap() == self.0
    }
}

impl Drop for SysctlGuard {
    fn drop(&mut self) {
        let _ = fs::write(TARGET_SYSCTL, &self.0);
    }
}

/// The sysctl tests write the same host file: one at a time.
static SYSCTL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A value the container tries to write, different from the host's.
fn other_value(g: &SysctlGuard) -> String {
    let v: u64 = g.0.trim().parse().unwrap();
    (v + 7).to_string()
}

/// CVE-2025-52881 class, through a bind source: the image plants a symlink to a kernel-wide
/// sysctl and the config binds it somewhere writable (outside the read-only /proc/sys). The
/// path resolves inside the rootfs, where it leads into the container's procfs: refused, and
/// nothing runs. Checked to fail: without the procfs/sysfs check the container wrote the
/// host's printk_ratelimit through /mnt/rl.
#[test]
fn image_bind_source_into_procfs_is_refused() {
    require_root!();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = SysctlGuard::new();
    let env = Env::new();
    let script = format!("echo {} > /mnt/rl", other_value(&guard));
    let mut b = env.bundle(&["sh", "-c", &script]);
    let rootfs = own_rootfs(&mut b);
    std::os::unix::fs::symlink(TARGET_SYSCTL, rootfs.join("evil")).unwrap();
    b.edit(|c| {
        c["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/mnt/rl", "type": "bind", "source": "rootfs/evil", "options": ["bind"]}),
        );
    });
    let id = env.id("procsrc");
    let (code, _, err) = env.run(&b, &id);
    assert!(guard.unchanged(), "the container wrote a host sysctl");
    assert_ne!(code, 0, "a bind of a procfs file from the image ran");
    assert!(err.contains(".source") && err.contains("procfs"), "{err}");
    assert_no_leftovers(&env, &id);
}

/// A bind an engine places below a read-only /proc/sys stays read-only: the read-only bind of
/// /proc/sys covers what is mounted below it (mount_setattr AT_RECURSIVE on the copy before
/// it is attached). Checked to fail: with the old bind + non-recursive read-only remount the
/// container wrote the host's printk_ratelimit through the bind.
#[test]
fn a_bind_below_a_read_only_proc_sys_stays_read_only() {
    require_root!();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = SysctlGuard::new();
    let env = Env::new();
    let script = format!(
        "echo {} > {TARGET_SYSCTL} && echo wrote; grep -c ' ro,' /proc/self/mountinfo >/dev/null",
        other_value(&guard)
    );
    let mut b = env.bundle(&["sh", "-c", &script]);
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": TARGET_SYSCTL,
            "type": "bind", "source": TARGET_SYSCTL, "options": ["bind"]}));
    });
    let id = env.id("rosys");
    let (_, out, err) = env.run(&b, &id);
    assert!(
        guard.unchanged(),
        "the container wrote a host sysctl: {out}{err}"
    );
    assert!(!out.contains("wrote"), "{out}");
    assert!(err.contains("Read-only file system"), "{err}");
}

/// CVE-2025-31133: the image's /dev/null is a symlink to a kernel-wide sysctl (the config
/// binds the image's own /dev, and leaves /proc/sys writable: no readonlyPaths), and a masked
/// path would be "masked" with it — made a writable bind of the sysctl. /dev/null is checked
/// to be the null device first: create fails, nothing is left. Checked to fail: the old
/// path-based mask bound the sysctl over /proc/timer_list and the container wrote the host's
/// printk_ratelimit through it (the first assertion failed).
#[test]
fn masking_with_a_planted_dev_null_is_refused() {
    require_root!();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = SysctlGuard::new();
    let env = Env::new();
    let script = format!("echo {} > /proc/timer_list", other_value(&guard));
    let mut b = env.bundle(&["sh", "-c", &script]);
    let rootfs = own_rootfs(&mut b);
    let null = rootfs.join("dev/null");
    let _ = fs::remove_file(&null);
    std::os::unix::fs::symlink(TARGET_SYSCTL, &null).unwrap();
    b.edit(|c| {
        let mounts = c["mounts"].as_array_mut().unwrap();
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev" {
                *m = json!({"destination": "/dev", "type": "bind", "source": "rootfs/dev", "options": ["rbind"]});
            }
        }
        mounts.retain(|m| m["destination"] != "/dev/pts" && m["destination"] != "/dev/shm" && m["destination"] != "/dev/mqueue");
        c["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let id = env.id("mask");
    let (code, _, err) = env.run(&b, &id);
    assert!(
        guard.unchanged(),
        "the container wrote a host sysctl: {err}"
    );
    assert_ne!(code, 0, "masking with a planted /dev/null ran");
    assert!(
        err.contains("maskedPaths") && err.contains("null device"),
        "{err}"
    );
    assert_no_leftovers(&env, &id);
}

/// A sysctl hull writes (`linux.sysctl`) cannot be redirected: the config binds a directory
/// of the image over /proc/sys/net/ipv4 whose `ip_forward` is a symlink to a kernel-wide
/// sysctl. hull writes through a procfs of its own (no mount of the container's in the way,
/// no symlink followed): the container's real ip_forward is set, the host's sysctl is not
/// touched. Checked to fail: the old path-based write followed the symlink and wrote the
/// host's printk_ratelimit.
#[test]
fn sysctl_writes_cannot_be_redirected() {
    require_root!();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = SysctlGuard::new();
    let env = Env::new();
    let mut b = env.bundle(&["true"]);
    let rootfs = own_rootfs(&mut b);
    fs::create_dir_all(rootfs.join("netv4")).unwrap();
    std::os::unix::fs::symlink(TARGET_SYSCTL, rootfs.join("netv4/ip_forward")).unwrap();
    assert_ne!(
        guard.0.trim(),
        "1",
        "the host value must differ from the one written"
    );
    b.edit(|c| {
        c["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/proc/sys/net/ipv4",
            "type": "bind", "source": "rootfs/netv4", "options": ["bind"]}));
        c["linux"]["sysctl"] = json!({ "net.ipv4.ip_forward": "1" });
    });
    let id = env.id("sysctl");
    let (code, _, err) = env.run(&b, &id);
    assert!(
        guard.unchanged(),
        "hull's sysctl write reached a host sysctl: {err}"
    );
    assert_eq!(code, 0, "{err}");
}

/// CVE-2025-52565: the image's /dev/console (the config binds the image's own /dev) is a
/// symlink to a kernel-wide sysctl, so that the bind of the container's pty "over /dev/console"
/// would land on the sysctl, before read-only and masked paths are applied. /dev/console is
/// opened without following a symlink and must be a plain file or the console device, not in
/// procfs or sysfs: create fails naming it, nothing is left. Checked to fail: with symlinks
/// followed and the procfs/sysfs check removed, create succeeded with the pty bound over the
/// container's printk_ratelimit (the exit-code assertion failed); either check alone holds.
#[test]
fn dev_console_planted_as_a_symlink_is_refused() {
    require_root!();
    let _one = SYSCTL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = SysctlGuard::new();
    let env = Env::new();
    let mut b = env.bundle(&["sh", "-c", "cat /proc/self/mountinfo"]);
    let rootfs = own_rootfs(&mut b);
    let console = rootfs.join("dev/console");
    let _ = fs::remove_file(&console);
    std::os::unix::fs::symlink(TARGET_SYSCTL, &console).unwrap();
    // runc and crun need a /dev/null and open /dev/ptmx: the image has them, as images with
    // a /dev of their own do.
    let _ = fs::remove_file(rootfs.join("dev/ptmx"));
    std::os::unix::fs::symlink("pts/ptmx", rootfs.join("dev/ptmx")).unwrap();
    let null = rootfs.join("dev/null");
    if !null.exists() {
        let o = Command::new("mknod")
            .args(["-m", "666", null.to_str().unwrap(), "c", "1", "3"])
            .output()
            .unwrap();
        assert!(o.status.success(), "mknod: {}", text(&o.stderr));
    }
    b.edit(|c| {
        c["process"]["terminal"] = json!(true);
        let mounts = c["mounts"].as_array_mut().unwrap();
        for m in mounts.iter_mut() {
            if m["destination"] == "/dev" {
                *m = json!({"destination": "/dev", "type": "bind", "source": "rootfs/dev", "options": ["rbind"]});
            }
        }
        mounts.retain(|m| m["destination"] != "/dev/shm" && m["destination"] != "/dev/mqueue");
        c["linux"]["readonlyPaths"] = json!([]);
    });
    let sock = env.dir.join("console.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let id = env.id("console");
    let o = env
        .cmd(&[
            "create",
            "--bundle",
            b.dir.to_str().unwrap(),
            "--console-socket",
            sock.to_str().unwrap(),
            &id,
        ])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert!(
        guard.unchanged(),
        "the container wrote a host sysctl: {err}"
    );
    assert!(
        !o.status.success(),
        "create bound the pty through a planted /dev/console symlink"
    );
    assert!(err.contains("/dev/console"), "{err}");
    assert_no_leftovers(&env, &id);
}
