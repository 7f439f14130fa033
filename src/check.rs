//! `hull check`: what `create` would say of a bundle on this host, every problem at once and
//! before anything is made. It runs the checks `create` runs — the same functions: the config
//! read and checked (`spec::examine`, every area of `validate.rs`, the LSM labels), the rootless
//! refusals, the namespace paths opened, the seccomp profile compiled, the cgroup driver's
//! placement — so it cannot pass a bundle `create` refuses for any of those. Then what `create`
//! only meets later, foreseen from host facts: the cgroup controllers the resources need, rlimits
//! above the hard limit without CAP_SYS_RESOURCE, `process.args[0]` in the rootfs, bind mount
//! sources and hook programs on the host. Those are predictions (a mount may bring the program;
//! the host may change before create), each named as the field it is about.

use std::path::{Path, PathBuf};

use crate::oci::Spec;
use oci_spec::runtime::LinuxResources;
use serde::Serialize;

use crate::cgroups::Mode;
use crate::error::{quote, short, Error};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `create` would fail, or the container would be less confined than asked.
    Error,
    /// `create` lets it pass (runc's leniency), with a warning.
    Warning,
}

/// One problem: the config field it is about (empty when none) and the whole message, as
/// `create` would print it after `hull: `.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(severity: Severity, message: String) -> Problem {
        Problem {
            severity,
            field: field_of(&message).to_string(),
            message,
        }
    }

    fn error(e: &Error) -> Problem {
        Problem::new(Severity::Error, e.render())
    }
}

/// The field a message starts with (`linux.namespaces[2].type: …`), or "".
fn field_of(message: &str) -> &str {
    let Some((head, _)) = message.split_once(": ") else {
        return "";
    };
    // A config path (`a.b[0].c`, `linux.netDevices["eth0"]`, `--systemd-cgroup`) has no space;
    // a path on disk (`/b/config.json`) is not a field.
    let is_field = !head.is_empty()
        && !head.starts_with('/')
        && !head.contains(' ')
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-[]\"/%".contains(c));
    if is_field {
        head
    } else {
        ""
    }
}

/// What `create` needs to know of the caller.
pub struct Options {
    /// Rootless mode (`--rootless`, decided as for create).
    pub rootless: bool,
    /// `--systemd-cgroup`.
    pub systemd_cgroup: bool,
}

/// Every problem of the bundle at `bundle`, errors and warnings, in the order create meets them.
pub fn check(bundle: &Path, o: &Options) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let e = match crate::spec::examine(bundle) {
        Ok(e) => e,
        Err(err) => return vec![Problem::error(&err)],
    };
    let push = |r: crate::error::Result<()>, out: &mut Vec<Problem>| {
        if let Err(err) = r {
            let p = Problem::error(&err);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    };
    for p in &e.problems {
        push(Err(clone_error(p)), &mut out);
    }
    out.extend(
        e.warnings
            .iter()
            .map(|w| Problem::new(Severity::Warning, w.clone())),
    );
    let spec = &e.spec;
    if o.rootless {
        push(crate::rootless::check_config(spec), &mut out);
    }
    if let Some(linux) = spec.linux() {
        push(
            crate::namespaces::plan(linux.namespaces().as_deref().unwrap_or_default()).map(drop),
            &mut out,
        );
        if let Some(s) = linux.seccomp() {
            push(
                crate::seccomp::compile(s, &crate::seccomp::Options::default()).map(drop),
                &mut out,
            );
            seccomp_names(s, &mut out);
        }
        let res = linux.resources().clone().unwrap_or_default();
        let annotations = spec.annotations().clone().unwrap_or_default();
        match crate::container::create::cgroup_manager(
            o.systemd_cgroup,
            o.rootless,
            linux,
            "hull-check",
            &res,
            &annotations,
        ) {
            Ok(cg) => {
                controllers(&cg, &res, &mut out);
                push(cg.foresee(&res), &mut out);
            }
            Err(err) => push(Err(err), &mut out),
        }
    }
    kernel_offers(spec, &mut out);
    rlimits(spec, &mut out);
    if let Some(rootfs) = &e.rootfs {
        program(spec, rootfs, &mut out);
    }
    bind_sources(spec, &e.dir, &mut out);
    hook_programs(spec, &mut out);
    out
}

/// The errors `examine` keeps, as messages (Error is not Clone).
fn clone_error(e: &Error) -> Error {
    Error::Invalid(e.render())
}

/// Architectures and system call names of the profile that hull does not know here (a name
/// known on none of the filter's architectures): the filter goes without them (runc's rule),
/// so a rule the engine meant is not there.
fn seccomp_names(s: &oci_spec::runtime::LinuxSeccomp, out: &mut Vec<Problem>) {
    use crate::seccomp::plan;
    let (arches, unknown) = plan::arches(s);
    for (i, name) in unknown {
        out.push(Problem::new(
            Severity::Warning,
            format!("linux.seccomp.architectures[{i}]: {name} is not an architecture of this host; the filter leaves it out"),
        ));
    }
    for (i, rule) in s.syscalls().iter().flatten().enumerate() {
        for name in rule.names() {
            if !arches.iter().any(|&a| plan::names_a_call(a, name)) {
                out.push(Problem::new(
                    Severity::Warning,
                    format!(
                        "linux.seccomp.syscalls[{i}].names: {} is a system call of none of the filter's architectures here; the filter leaves it out",
                        quote(name.as_str())
                    ),
                ));
            }
        }
    }
}

/// A resource group of the config and the controller (v1 name, cgroup2 name) that applies it.
const CONTROLLERS: [(&str, &str, &str); 8] = [
    ("memory", "memory", "memory"),
    ("cpu", "cpu", "cpu"),
    ("pids", "pids", "pids"),
    ("blockIO", "blkio", "io"),
    ("hugepageLimits", "hugetlb", "hugetlb"),
    ("network", "net_cls", ""),
    ("rdma", "rdma", "rdma"),
    ("cpu.cpus", "cpuset", "cpuset"),
];

/// Each resource the config sets needs its controller on this host (a v1 hierarchy, or the
/// cgroup2 root's `cgroup.controllers`); create would fail naming the file it cannot write.
fn controllers(cg: &crate::cgroups::Manager, res: &LinuxResources, out: &mut Vec<Problem>) {
    let st = cg.state();
    if st.systemd.is_some() {
        return; // systemd applies them as unit properties and says what it cannot.
    }
    let v2: Vec<String> = st
        .unified_root
        .as_ref()
        .and_then(|r| std::fs::read_to_string(r.join("cgroup.controllers")).ok())
        .map(|c| c.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let v1 = |c: &str| {
        st.hierarchies
            .iter()
            .any(|h| h.controllers.split(',').any(|x| x == c))
    };
    let Ok(v) = serde_json::to_value(res) else {
        return;
    };
    for (group, c1, c2) in CONTROLLERS {
        let asked = match group.split_once('.') {
            Some((a, b)) => v[a][b].as_str().is_some_and(|s| !s.is_empty()),
            None => crate::cgroups::requested_limit(&single(res, group)).is_some(),
        };
        if !asked || v1(c1) {
            continue;
        }
        if !c2.is_empty() && v2.iter().any(|x| x == c2) {
            // Offered; on pure v2 it must also reach the container's directory: a delegated
            // subtree's owner may not have delegated it (create's refusal, foreseen).
            if let (Mode::Unified, Some(root), Some(dir)) =
                (st.mode, st.unified_root.as_deref(), st.path_of(""))
            {
                if let Some(a) = crate::cgroups::v2::undelegated(root, dir, c2) {
                    out.push(Problem::new(
                        Severity::Error,
                        crate::cgroups::v2::not_delegated(
                            &format!("linux.resources.{group}"),
                            c2,
                            &a,
                            "permission denied",
                        )
                        .render(),
                    ));
                }
            }
            continue;
        }
        out.push(Problem::new(
            Severity::Error,
            format!(
                "linux.resources.{group}: the {c1} cgroup controller is not available on this host"
            ),
        ));
    }
}

/// `res` with only resource group `group` kept.
fn single(res: &LinuxResources, group: &str) -> LinuxResources {
    let mut v = serde_json::to_value(res).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| k == group);
    }
    serde_json::from_value(v).unwrap_or_default()
}

/// The namespaces a config asks for new must exist in this kernel (/proc/self/ns), user
/// namespaces must not be switched off, and a mount's filesystem type should be one the kernel
/// has (/proc/filesystems; a module may still load at mount time, so that is a warning).
fn kernel_offers(spec: &Spec, out: &mut Vec<Problem>) {
    let Some(linux) = spec.linux() else {
        return;
    };
    for (i, ns) in linux.namespaces().iter().flatten().enumerate() {
        if ns.path().is_some() {
            continue;
        }
        let name = crate::namespaces::proc_name(ns.typ());
        if !Path::new("/proc/self/ns").join(name).exists() {
            out.push(Problem::new(
                Severity::Error,
                format!(
                    "linux.namespaces[{i}].type: this kernel has no {} namespace (no /proc/self/ns/{name})",
                    crate::namespaces::spec_name(ns.typ())
                ),
            ));
        } else if ns.typ() == oci_spec::runtime::LinuxNamespaceType::User
            && std::fs::read_to_string("/proc/sys/user/max_user_namespaces")
                .is_ok_and(|v| v.trim() == "0")
        {
            out.push(Problem::new(
                Severity::Error,
                format!(
                    "linux.namespaces[{i}].type: {}",
                    crate::rootless::userns_refused(libc::ENOSPC)
                ),
            ));
        }
    }
    let Ok(known) = std::fs::read_to_string("/proc/filesystems") else {
        return;
    };
    let has = |t: &str| {
        known
            .lines()
            .any(|l| l.split_whitespace().last() == Some(t))
    };
    // A filesystem in a module the kernel would load at mount time (its `fs-TYPE` alias).
    let aliases = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .and_then(|r| {
            std::fs::read_to_string(format!("/lib/modules/{}/modules.alias", r.trim())).ok()
        })
        .unwrap_or_default();
    let loadable = |t: &str| {
        let alias = format!("alias fs-{t} ");
        aliases.lines().any(|l| l.starts_with(&alias))
    };
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let Some(t) = m.typ().as_deref().filter(|t| !t.is_empty()) else {
            continue;
        };
        if t == "bind" || t == "none" || has(t) {
            continue;
        }
        let (severity, how) = if loadable(t) {
            (Severity::Warning, "a module for it loads at mount time")
        } else {
            (
                Severity::Error,
                "nor in a module of this kernel's: the mount would fail",
            )
        };
        out.push(Problem::new(
            severity,
            format!(
                "mounts[{i}].type: {} is not among this kernel's filesystems (/proc/filesystems), {how}",
                quote(t)
            ),
        ));
    }
}

/// Raising a hard limit above this process's needs CAP_SYS_RESOURCE (stage 1 sets them with
/// hull's own privileges).
fn rlimits(spec: &Spec, out: &mut Vec<Problem>) {
    let Some(rl) = spec.process().as_ref().and_then(|p| p.rlimits().as_ref()) else {
        return;
    };
    let may_raise = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap_or(false);
    if may_raise {
        return;
    }
    for (i, r) in rl.iter().enumerate() {
        let res = crate::process::attrs::rlimit_resource(r.typ());
        let mut now = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct we own.
        if unsafe { libc::getrlimit(res as _, &mut now) } != 0 {
            continue;
        }
        if r.hard() > now.rlim_max {
            out.push(Problem::new(
                Severity::Error,
                format!(
                    "process.rlimits[{i}]: hard limit {} of {} is above this host's {} and hull lacks CAP_SYS_RESOURCE to raise it",
                    r.hard(),
                    serde_json::to_value(r.typ())
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    now.rlim_max
                ),
            ));
        }
    }
}

/// `process.args[0]` as init would look it up: a path, or each `PATH` directory of
/// `process.env`, inside the rootfs. A mount over the place may bring it: then nothing is said.
fn program(spec: &Spec, rootfs: &Path, out: &mut Vec<Problem>) {
    let Some(p) = spec.process() else {
        return;
    };
    let Some(arg0) = p.args().as_ref().and_then(|a| a.first()) else {
        return;
    };
    let env = p.env().clone().unwrap_or_default();
    let candidates: Vec<PathBuf> = if arg0.contains('/') {
        vec![p.cwd().join(arg0)]
    } else {
        env.iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(crate::process::DEFAULT_PATH)
            .split(':')
            .map(|d| p.cwd().join(if d.is_empty() { "." } else { d }).join(arg0))
            .collect()
    };
    let mounted = |c: &Path| {
        spec.mounts()
            .iter()
            .flatten()
            .any(|m| c.starts_with(m.destination()) && m.destination() != Path::new("/"))
    };
    if candidates.iter().any(|c| mounted(c)) {
        return;
    }
    let found = |c: &Path| crate::rootfs::metadata_in(rootfs, c);
    // The words of create's own failure (process/env.rs, run by init), then where hull looked.
    let why = if arg0.contains('/') {
        match found(&candidates[0]) {
            Some(m) if crate::rootfs::is_executable(&m) => return,
            Some(_) => "permission denied".to_string(),
            None => format!("stat {}: no such file or directory", short(arg0.as_str())),
        }
    } else {
        if candidates
            .iter()
            .any(|c| found(c).is_some_and(|m| crate::rootfs::is_executable(&m)))
        {
            return;
        }
        "executable file not found in $PATH".to_string()
    };
    out.push(Problem::new(
        Severity::Error,
        format!(
            "process.args[0]: exec: {}: {why} (looked in the rootfs {})",
            quote(arg0.as_str()),
            short(rootfs)
        ),
    ));
}

/// A bind mount's source must exist on the host (relative: in the bundle directory).
fn bind_sources(spec: &Spec, bundle: &Path, out: &mut Vec<Problem>) {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = m.options().as_deref().unwrap_or_default();
        let bind =
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind");
        let Some(src) = m.source().as_ref().filter(|_| bind) else {
            continue;
        };
        let src = if src.is_absolute() {
            src.clone()
        } else {
            bundle.join(src)
        };
        if std::fs::symlink_metadata(&src).is_err() {
            out.push(Problem::new(
                Severity::Error,
                format!("mounts[{i}].source: {} does not exist", short(&src)),
            ));
        }
    }
}

/// Each hook's program must be there to run; a missing poststop hook is only a warning (runc
/// and hull log its failure and go on).
fn hook_programs(spec: &Spec, out: &mut Vec<Problem>) {
    let Some(h) = spec.hooks() else {
        return;
    };
    #[allow(deprecated)]
    let kinds = [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (kind, hooks) in kinds {
        for (i, hook) in hooks.iter().flatten().enumerate() {
            // createContainer and startContainer run in the container: their path is the
            // container's, not to be looked for on the host.
            if matches!(kind, "createContainer" | "startContainer") {
                continue;
            }
            let path = hook.path();
            let runnable = std::fs::metadata(path).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            });
            if !runnable {
                let severity = if kind == "poststop" {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                out.push(Problem::new(
                    severity,
                    format!(
                        "hooks.{kind}[{i}].path: {} is no executable file on this host",
                        short(path)
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_the_messages_config_paths() {
        assert_eq!(
            field_of("linux.namespaces[2].type: unknown"),
            "linux.namespaces[2].type"
        );
        assert_eq!(
            field_of("linux.netDevices[\"eth0\"].name: taken"),
            "linux.netDevices[\"eth0\"].name"
        );
        assert_eq!(field_of("/b/config.json: malformed JSON: x"), "");
        assert_eq!(field_of("bundle /x: no such file"), "");
        assert_eq!(field_of("no colon here"), "");
        assert_eq!(field_of("--systemd-cgroup: refused"), "--systemd-cgroup");
    }
}
