//! `hull exec ID CMD...` / `hull exec --process FILE ID`: run a new process in a created,
//! running (or, with --ignore-paused, paused) container, runc's way:
//!
//! - The process is `--process FILE` (an OCI Process; what it leaves out — capabilities,
//!   rlimits, noNewPrivileges, oomScoreAdj, scheduler, ioPriority, execCPUAffinity — comes from
//!   the container's config, runc's `newInitConfig`), or else the container's `process` from the
//!   config.json of the bundle recorded at create, with the command's args, `--env` appended
//!   (the last value of a key wins, runc's `prepareEnv`), `--cwd`, `--user uid[:gid]`,
//!   `--additional-gids` appended, `--cap` added to bounding, effective and permitted (and to
//!   ambient when the config has an inheritable set), `--no-new-privs`. As in runc, the config's
//!   `process.terminal` does not count here and the flags do not apply to a `--process` file.
//! - Everything is opened before any clone (init's pidfd, namespaces, root, cgroup dirs), the
//!   container's seccomp profile is compiled, and the tenant (`process/tenant.rs`) reports Ready
//!   only once the binary was found: a bad request fails with nothing left running.
//! - Every failure of exec itself (unknown or stopped container, bad flags, missing binary or
//!   cwd) is reported as `exec failed: …` with exit code 255 (`lib.rs`), runc's
//!   `fatalWithCode(…, 255)`; only a command line that does not parse exits 1.
//! - Foreground: stdio is inherited, signals are forwarded, the exit code is passed through
//!   (128+N after signal N). `--detach` returns 0 once the process runs; it stays hull's child
//!   only until hull exits, then belongs to the caller's subreaper.
//! - Terminals (`--tty`, or `terminal: true` in a `--process` file; never the config's own
//!   `process.terminal`): runc's flag rules (`tty::check_flags`), checked before anything
//!   starts. The tenant makes the pty inside the container as init does (no /dev/console bind)
//!   and sends the master to `--console-socket` (with `--detach`) or, in the foreground, to hull,
//!   which relays between its own terminal and the master like foreground `run`.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{Capability, LinuxNamespaceType as T, Process};

use super::{create, Global};
use crate::cgroups::Hierarchy;
use crate::cli::ExecArgs;
use crate::container::{status, Container, State, Status};
use crate::error::{Context, Error, Result};
use crate::process::tenant::{self, Cgroup, Exec};
use crate::process::{kill_and_reap, pidfd_open, pidfd_wait_exit};
use crate::{namespaces, signals, spec};

/// `hull exec`.
pub fn run(g: &Global, a: &ExecArgs) -> Result<i32> {
    check_flags(g, a)?;
    let c = Container::open(&g.root, &a.id)?;
    let st = c.state()?;
    match status::derive(&st, &c.dir) {
        Status::Stopped => {
            return Err(Error::NotRunning)
                .with_context(|| format!("cannot exec in a stopped container {}", a.id))
        }
        Status::Paused if !a.ignore_paused => {
            return Err(Error::invalid(format!(
                "cannot exec in a paused container {} (use --ignore-paused to override)",
                a.id
            )))
        }
        _ => {}
    }
    let bundle =
        spec::load(&st.bundle).with_context(|| format!("container {}: load its config", a.id))?;
    let linux = bundle
        .spec
        .linux()
        .as_ref()
        .expect("validated: linux present");
    let mut process = build_process(a, &bundle.spec)?;
    let seccomp = match linux.seccomp() {
        Some(s) => Some(
            crate::seccomp::compile(s, &crate::seccomp::Options::default())
                .context("linux.seccomp")?,
        ),
        None => None,
    };
    // runc's checkTerminal, with the process's own `terminal` (set from --tty, or the
    // --process file's): then connect to the console socket, or find hull's own terminal.
    let terminal = process.terminal().unwrap_or(false);
    let console = crate::tty::Plan::new(a.detach, terminal, a.console_socket.as_deref())?;
    let pidfd_socket = a
        .pidfd_socket
        .as_deref()
        .map(create::connect_pidfd_socket)
        .transpose()?;
    // In the foreground the tenant sizes the pty from hull's terminal before its execve: the
    // relay's own resize comes after Ready, too late for a process that asks at once.
    if let (Some((height, width)), None) = (console.host_size(), process.console_size()) {
        let size = serde_json::from_value(serde_json::json!({"height": height, "width": width}))
            .map_err(|e| Error::Msg(e.to_string()))?;
        process.set_console_size(Some(size));
    }

    // Open init's pieces while its pid is known to be init (pidfd + start time before, pidfd
    // after: a pid reused in between would show as init having exited).
    let pidfd = pidfd_open(st.pid)
        .map_err(|_| Error::NotRunning)
        .with_context(|| a.id.clone())?;
    if !status::is_alive(st.pid, st.start_time) {
        return Err(Error::NotRunning).with_context(|| a.id.clone());
    }
    let join = open_namespaces(st.pid)?;
    let root = open_root(st.pid)?;
    let subs = sub_cgroups(&a.cgroup, &st.cgroup.hierarchies)?;
    let cgroups = open_cgroups(&st, &subs)?;
    if pidfd_wait_exit(&pidfd, 0) {
        return Err(Error::NotRunning).with_context(|| a.id.clone());
    }
    // Everything is open: release the container. Held while the process starts, the lock
    // would deadlock `--ignore-paused` (the process waits in the frozen cgroup until `resume`,
    // which takes the lock), and kill/delete must not wait for an exec. runc takes no lock
    // across processes at all. A delete racing from here makes the cgroup or pid namespace
    // refuse the new process: exec fails cleanly.
    drop(c);

    let exec = Exec {
        id: &a.id,
        no_new_keyring: st.no_new_keyring,
        init_pid: st.pid,
        process: &process,
        personality: linux.personality().as_ref().map(|p| p.domain()),
        seccomp: seccomp.as_ref(),
        bundle: &st.bundle,
        annotations: &st.annotations,
        join,
        root,
        cgroups,
        // runc's fallback to init's cgroup applies to the container's own directory only.
        unified_root: st
            .cgroup
            .unified_root
            .clone()
            .filter(|_| subs.iter().all(Option::is_none)),
        preserve_fds: a.preserve_fds,
        console_socket: console.child.as_ref().map(|f| f.as_raw_fd()),
        relay: terminal && !a.detach,
    };
    // Foreground: block forwarded signals before any clone so none is lost; the tenant
    // unblocks them before its execve.
    let blocked = (!a.detach).then(signals::block_forwarded);
    let t = tenant::spawn(&exec)?;
    // The tenant sent the master before Ready: take it (foreground) or let the socket go.
    let console = match console.finish() {
        Ok(c) => c,
        Err(e) => {
            kill_and_reap(&t);
            return Err(e);
        }
    };
    if let Some(sock) = &pidfd_socket {
        if let Err(e) = create::send_pidfd(sock, "setns", &t.pidfd) {
            kill_and_reap(&t);
            return Err(e);
        }
    }
    if let Some(p) = &a.pid_file {
        if let Err(e) = create::write_pid_file(p, t.pid) {
            kill_and_reap(&t);
            return Err(e);
        }
    }
    let Some(b) = blocked else {
        return Ok(0);
    };
    match console {
        Some(mut c) => {
            // hull's terminal is raw while it relays, restored when `c` drops.
            if let Err(e) = c.host.set_raw() {
                kill_and_reap(&t);
                return Err(e);
            }
            crate::tty::relay_until_exit(&c, &b, t.pid)
        }
        None => signals::forward_until_exit(t.pid, &b),
    }
}

/// What exec refuses before looking at the container.
fn check_flags(g: &Global, a: &ExecArgs) -> Result<()> {
    if g.rootless.as_deref() == Some("true") || nix::unistd::geteuid().as_raw() != 0 {
        return Err(Error::invalid(
            "rootless containers are not supported yet: run hull as root",
        ));
    }
    if a.apparmor.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::invalid(
            "--apparmor: AppArmor is not supported by hull on this host",
        ));
    }
    if a.process_label.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::invalid(
            "--process-label: SELinux is not supported by hull on this host",
        ));
    }
    Ok(())
}

/// The process to run: `--process` or the container's process with the flags applied.
fn build_process(a: &ExecArgs, config: &oci_spec::runtime::Spec) -> Result<Process> {
    let base = config
        .process()
        .clone()
        .expect("validated: process present");
    let mut p = match &a.process {
        Some(path) => from_file(a, path, &base)?,
        None => from_flags(a, base)?,
    };
    let env = prepare_env(p.env().as_deref().unwrap_or_default())?;
    p.set_env(Some(env));
    validate(&p)?;
    Ok(p)
}

fn from_file(a: &ExecArgs, path: &Path, base: &Process) -> Result<Process> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--process: read {}", path.display()))?;
    let mut p =
        spec::parse_process(&text).with_context(|| format!("--process {}", path.display()))?;
    // runc's newInitConfig: the container's values where the process has none.
    if p.capabilities().is_none() {
        p.set_capabilities(base.capabilities().clone());
    }
    if p.rlimits().as_ref().is_none_or(|r| r.is_empty()) {
        p.set_rlimits(base.rlimits().clone());
    }
    if p.no_new_privileges().is_none() {
        p.set_no_new_privileges(base.no_new_privileges());
    }
    if p.oom_score_adj().is_none() {
        p.set_oom_score_adj(base.oom_score_adj());
    }
    if p.io_priority().is_none() {
        p.set_io_priority(*base.io_priority());
    }
    if p.scheduler().is_none() {
        p.set_scheduler(base.scheduler().clone());
    }
    if p.exec_cpu_affinity().is_none() {
        p.set_exec_cpu_affinity(base.exec_cpu_affinity().clone());
    }
    let ignored = !a.command.is_empty()
        || !a.env.is_empty()
        || a.cwd.is_some()
        || a.user.is_some()
        || !a.additional_gids.is_empty()
        || !a.cap.is_empty()
        || a.no_new_privs
        || a.tty;
    if ignored {
        // runc ignores them silently (the file's `terminal` decides, not --tty); say so.
        crate::logging::warn(
            "exec --process: the command and --env/--cwd/--user/--additional-gids/--cap/--no-new-privs/--tty are ignored",
        );
    }
    Ok(p)
}

fn from_flags(a: &ExecArgs, mut p: Process) -> Result<Process> {
    if a.command.is_empty() {
        return Err(Error::invalid(
            "exec args cannot be empty: give a command or --process",
        ));
    }
    p.set_args(Some(a.command.clone()));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.into());
    }
    if !a.cap.is_empty() {
        add_caps(&mut p, &a.cap)?;
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(a.env.iter().cloned());
    p.set_env(Some(env));
    // runc: only the flag asks for a terminal here, never the config.
    p.set_terminal(Some(a.tty));
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        if let Some(g) = gid {
            let gid = g
                .parse()
                .map_err(|_| Error::invalid(format!("--user {u:?}: bad gid {g:?}")))?;
            p.user_mut().set_gid(gid);
        }
        let uid = uid.parse().map_err(|_| {
            Error::invalid(format!("--user {u:?}: bad uid {uid:?} (numeric ids only)"))
        })?;
        p.user_mut().set_uid(uid);
    }
    if !a.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&a.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
    }
    Ok(p)
}

/// runc's `--cap`: bounding, effective and permitted; ambient only when the config has an
/// inheritable set (ambient needs inheritable, which --cap does not add). Without any
/// `process.capabilities` the process keeps every capability anyway.
fn add_caps(p: &mut Process, names: &[String]) -> Result<()> {
    let Some(mut c) = p.capabilities().clone() else {
        return Ok(());
    };
    for name in names {
        let known = caps::Capability::from_str(&canonical_cap(name)).is_ok();
        let cap: Option<Capability> = serde_json::from_value(serde_json::json!(name)).ok();
        // runc warns and goes on (as for unknown names in the config's capability sets).
        let (true, Some(cap)) = (known, cap) else {
            crate::logging::warn(&format!("--cap: unknown capability {name:?} ignored"));
            continue;
        };
        let add = |s: &Option<oci_spec::runtime::Capabilities>| {
            let mut s = s.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        c.set_bounding(add(c.bounding()));
        c.set_effective(add(c.effective()));
        c.set_permitted(add(c.permitted()));
        if c.inheritable().is_some() {
            c.set_ambient(add(c.ambient()));
        }
    }
    p.set_capabilities(Some(c));
    Ok(())
}

fn canonical_cap(name: &str) -> String {
    let up = name.to_ascii_uppercase();
    if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// runc's `prepareEnv`: every entry is KEY=VALUE with a non-empty key; for a key given twice the
/// last value wins, in the position of its last occurrence.
fn prepare_env(env: &[String]) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(env.len());
    for (i, kv) in env.iter().enumerate().rev() {
        match kv.find('=') {
            None => {
                return Err(Error::invalid(format!(
                    "process.env[{i}]: {kv:?} is not KEY=VALUE"
                )))
            }
            Some(0) => {
                return Err(Error::invalid(format!(
                    "process.env[{i}]: {kv:?} has an empty name"
                )))
            }
            Some(n) => {
                if seen.insert(kv[..n].to_string()) {
                    out.push(kv.clone());
                }
            }
        }
    }
    out.reverse();
    Ok(out)
}

/// runc's `validateProcessSpec`, plus what hull refuses.
fn validate(p: &Process) -> Result<()> {
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::invalid("process.args: must not be empty"));
    }
    if p.cwd().as_os_str().is_empty() {
        return Err(Error::invalid("process.cwd: must not be empty"));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::invalid(format!(
            "process.cwd: {:?} must be an absolute path",
            p.cwd()
        )));
    }
    if p.apparmor_profile()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(Error::invalid(
            "process.apparmorProfile: AppArmor is not supported by hull on this host",
        ));
    }
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(Error::invalid(
            "process.selinuxLabel: SELinux is not supported by hull on this host",
        ));
    }
    let rl = p.rlimits().clone().unwrap_or_default();
    for (i, r) in rl.iter().enumerate() {
        if rl[..i].iter().any(|o| o.typ() == r.typ()) {
            return Err(Error::invalid(format!(
                "process.rlimits[{i}].type: {:?} is set twice",
                r.typ()
            )));
        }
        if r.soft() > r.hard() {
            return Err(Error::invalid(format!(
                "process.rlimits[{i}]: soft limit {} is above hard limit {}",
                r.soft(),
                r.hard()
            )));
        }
    }
    Ok(())
}

/// Init's namespaces that are not hull's own, in join order.
fn open_namespaces(pid: i32) -> Result<Vec<(T, OwnedFd)>> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for t in namespaces::ALL {
        let name = namespaces::proc_name(t);
        let path = format!("/proc/{pid}/ns/{name}");
        let f = match File::open(&path) {
            Ok(f) => f,
            // A namespace type this kernel does not have (time before 5.6).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("open {path}")),
        };
        let theirs = f.metadata().with_context(|| format!("stat {path}"))?;
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
            .with_context(|| format!("stat /proc/self/ns/{name}"))?;
        if (theirs.dev(), theirs.ino()) != (ours.dev(), ours.ino()) {
            out.push((t, OwnedFd::from(f)));
        }
    }
    Ok(out)
}

/// O_PATH fd of init's root directory (the container's root as init sees it).
fn open_root(pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/root");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("open {path}"))
}

/// `--cgroup [CONTROLLER[,CONTROLLER...]:]PATH`, repeatable, runc's: the process joins PATH
/// below the container's cgroup in the hierarchies of those controllers, or in every hierarchy
/// (cgroup2 and `name=` ones included) without a list. A leading `/` is ignored; `..` and
/// controllers the container has no hierarchy for are refused. Returns each hierarchy's
/// sub-path, in `hierarchies` order.
fn sub_cgroups(args: &[String], hierarchies: &[Hierarchy]) -> Result<Vec<Option<PathBuf>>> {
    let mut subs = vec![None; hierarchies.len()];
    for arg in args {
        let (controllers, path) = match arg.split_once(':') {
            Some((c, p)) => (Some(c), p),
            None => (None, arg.as_str()),
        };
        let mut sub = PathBuf::new();
        for c in Path::new(path).components() {
            match c {
                Component::Normal(n) => sub.push(n),
                Component::RootDir | Component::CurDir => {}
                _ => {
                    return Err(Error::invalid(format!(
                        "--cgroup {arg:?}: {path} is not a sub-cgroup path"
                    )))
                }
            }
        }
        if sub.as_os_str().is_empty() {
            return Err(Error::invalid(format!(
                "--cgroup {arg:?}: no sub-cgroup path"
            )));
        }
        match controllers {
            None => subs.iter_mut().for_each(|s| *s = Some(sub.clone())),
            Some(list) => {
                for c in list.split(',') {
                    let mut found = false;
                    for (i, h) in hierarchies.iter().enumerate() {
                        if !h.controllers.is_empty() && h.controllers.split(',').any(|x| x == c) {
                            subs[i] = Some(sub.clone());
                            found = true;
                        }
                    }
                    if !found {
                        return Err(Error::invalid(format!(
                            "--cgroup {arg:?}: the container has no cgroup hierarchy for controller {c:?}"
                        )));
                    }
                }
            }
        }
    }
    Ok(subs)
}

/// Every cgroup directory recorded for the container, or its `--cgroup` sub-cgroup there (which
/// must exist: exec never creates cgroups).
fn open_cgroups(st: &State, subs: &[Option<PathBuf>]) -> Result<Vec<Cgroup>> {
    st.cgroup
        .hierarchies
        .iter()
        .zip(subs)
        .map(|(h, sub)| {
            let path = match sub {
                Some(s) => h.path.join(s),
                None => h.path.clone(),
            };
            let f = File::open(&path).with_context(|| match sub {
                Some(_) => format!("--cgroup: open the sub-cgroup {}", path.display()),
                None => format!("open the container's cgroup {}", path.display()),
            })?;
            Ok(Cgroup {
                path,
                controllers: h.controllers.clone(),
                dir: OwnedFd::from(f),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_cgroups_follow_runcs_format() {
        let h = |c: &str, p: &str| Hierarchy {
            controllers: c.to_string(),
            path: PathBuf::from(p),
        };
        let hs = [
            h("cpu", "/c/cpu/x"),
            h("memory", "/c/memory/x"),
            h("name=systemd", "/c/systemd/x"),
            h("", "/c/unified/x"),
        ];
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let some = |p: &str| Some(PathBuf::from(p));
        // No list: every hierarchy; a leading slash is ignored.
        assert_eq!(
            sub_cgroups(&args(&["/a/b"]), &hs).unwrap(),
            [some("a/b"), some("a/b"), some("a/b"), some("a/b")]
        );
        // Lists pick hierarchies; later arguments override earlier ones.
        assert_eq!(
            sub_cgroups(&args(&["s", "cpu,memory:t"]), &hs).unwrap(),
            [some("t"), some("t"), some("s"), some("s")]
        );
        assert_eq!(
            sub_cgroups(&args(&["name=systemd:u"]), &hs).unwrap(),
            [None, None, some("u"), None]
        );
        for bad in ["../x", "a/../../x", "", "cpu:", "bogus:x", "cpu,bogus:x"] {
            assert!(sub_cgroups(&args(&[bad]), &hs).is_err(), "{bad:?}");
        }
        assert_eq!(sub_cgroups(&[], &hs).unwrap(), [None, None, None, None]);
    }

    #[test]
    fn env_last_value_wins_in_its_position() {
        let env: Vec<String> = ["A=1", "B=2", "A=3", "C=4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(prepare_env(&env).unwrap(), ["B=2", "A=3", "C=4"]);
        assert!(prepare_env(&["NOEQUALS".to_string()]).is_err());
        assert!(prepare_env(&["=x".to_string()]).is_err());
    }

    #[test]
    fn cap_names() {
        assert_eq!(canonical_cap("net_admin"), "CAP_NET_ADMIN");
        assert_eq!(canonical_cap("CAP_SYS_ADMIN"), "CAP_SYS_ADMIN");
    }
}
