//! The checks of a config that `create` makes beyond its types (runtime.md: a config the runtime
//! cannot honour is an error before anything is made), by area. One list of areas serves both
//! callers: `create` stops at the first problem ([`validate`]), `hull check` reports every
//! area's ([`problems`]). Within an area the first problem ends it (a second one there is
//! often the first one's echo). Every message starts with the field's path.

use crate::oci::{Process, Spec};
use oci_spec::runtime::{Linux, LinuxNamespaceType as T};

use crate::error::{quote, short, Error, Result};
use crate::fsutil::clean_abs;

type Area = fn(&Spec) -> Result<()>;

/// Every area, in the order create meets them.
const AREAS: [Area; 10] = [
    process,
    linux_present,
    namespaces,
    names,
    time_offsets,
    sysctls,
    mounts,
    resources,
    linux_misc,
    hooks,
];

/// The first problem of the config, or Ok: what `create` refuses.
pub fn validate(spec: &Spec) -> Result<()> {
    AREAS.iter().try_for_each(|area| area(spec))
}

/// Every area's first problem (`hull check`).
pub fn problems(spec: &Spec) -> Vec<Error> {
    AREAS.iter().filter_map(|area| area(spec).err()).collect()
}

fn invalid<T>(msg: String) -> Result<T> {
    Err(Error::Invalid(msg))
}

/// `linux`, when the config has it (its absence is [`linux_present`]'s to report).
fn linux(spec: &Spec) -> Option<&Linux> {
    spec.linux().as_ref()
}

fn process(spec: &Spec) -> Result<()> {
    let Some(process) = spec.process() else {
        return invalid("process: missing (required for create)".into());
    };
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return invalid("process.args: must name a program (it is empty)".into());
    }
    if !process.cwd().is_absolute() {
        return invalid(format!(
            "process.cwd: {} must be an absolute path",
            quote(process.cwd())
        ));
    }
    // process.execCPUAffinity's lists are checked as they are read (oci::ExecCPUAffinity).
    rlimits(process)
}

fn rlimits(process: &Process) -> Result<()> {
    let Some(rl) = process.rlimits() else {
        return Ok(());
    };
    for (i, r) in rl.iter().enumerate() {
        if rl[..i].iter().any(|o| o.typ() == r.typ()) {
            return invalid(format!(
                "process.rlimits[{i}].type: {:?} is set twice",
                r.typ()
            ));
        }
        if r.soft() > r.hard() {
            return invalid(format!(
                "process.rlimits[{i}]: soft limit {} is above hard limit {}",
                r.soft(),
                r.hard()
            ));
        }
    }
    Ok(())
}

fn linux_present(spec: &Spec) -> Result<()> {
    match linux(spec) {
        Some(_) => Ok(()),
        None => invalid("linux: missing (required on Linux)".into()),
    }
}

/// Whether the config lists a namespace of type `t` (new or joined).
fn has(linux: &Linux, t: T) -> bool {
    crate::namespaces::listed(linux, t).is_some()
}

fn namespaces(spec: &Spec) -> Result<()> {
    let Some(linux) = linux(spec) else {
        return Ok(());
    };
    let nslist = linux.namespaces().as_deref().unwrap_or_default();
    for (i, ns) in nslist.iter().enumerate() {
        if nslist[..i].iter().any(|o| o.typ() == ns.typ()) {
            return invalid(format!(
                "linux.namespaces[{i}].type: namespace {:?} is listed twice",
                crate::namespaces::spec_name(ns.typ())
            ));
        }
    }
    if !has(linux, T::Mount) {
        return invalid(
            "linux.namespaces: a mount namespace is required (hull never mounts on the host)"
                .into(),
        );
    }
    let new_user = nslist
        .iter()
        .any(|n| n.typ() == T::User && n.path().is_none());
    let some = |m: &Option<Vec<_>>| m.as_ref().is_some_and(|m| !m.is_empty());
    let (uid, gid) = (some(linux.uid_mappings()), some(linux.gid_mappings()));
    if new_user && !(uid && gid) {
        return invalid(
            "linux.uidMappings/gidMappings: a new user namespace needs both mappings".into(),
        );
    }
    if (uid || gid) && !new_user {
        return invalid(
            "linux.uidMappings: mappings are set but no new user namespace is created".into(),
        );
    }
    Ok(())
}

fn names(spec: &Spec) -> Result<()> {
    let Some(linux) = linux(spec) else {
        return Ok(());
    };
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        let Some(name) = name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        if !has(linux, T::Uts) {
            return invalid(format!(
                "{field}: setting it needs a uts namespace in linux.namespaces"
            ));
        }
        // The kernel's limit (__NEW_UTS_LEN), checked before anything is created.
        if name.len() > 64 {
            return invalid(format!("{field}: {} is longer than 64 bytes", quote(name)));
        }
    }
    Ok(())
}

fn time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = linux(spec)
        .and_then(|l| l.time_offsets().as_ref())
        .filter(|t| !t.is_empty())
    else {
        return Ok(());
    };
    let new_time = linux(spec)
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|l| l.iter().any(|n| n.typ() == T::Time && n.path().is_none()));
    if !new_time {
        return invalid("linux.timeOffsets: offsets need a new time namespace".into());
    }
    for k in offsets.keys() {
        if k != "monotonic" && k != "boottime" {
            return invalid(format!(
                "linux.timeOffsets.{}: only monotonic and boottime clocks have offsets",
                short(k)
            ));
        }
    }
    Ok(())
}

fn sysctls(spec: &Spec) -> Result<()> {
    let Some(linux) = linux(spec) else {
        return Ok(());
    };
    for key in linux.sysctl().iter().flat_map(|s| s.keys()) {
        check_sysctl(key, &|t| has(linux, t))?;
    }
    Ok(())
}

/// runc's rule: a sysctl is allowed only when it belongs to a namespace the container owns.
fn check_sysctl(key: &str, has: &dyn Fn(T) -> bool) -> Result<()> {
    const IPC: [&str; 6] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
    ];
    const IPC2: [&str; 2] = ["kernel.shmmni", "kernel.shm_rmid_forced"];
    let ns = if IPC.contains(&key) || IPC2.contains(&key) || key.starts_with("fs.mqueue.") {
        T::Ipc
    } else if key.starts_with("net.") {
        T::Network
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        T::Uts
    } else {
        return invalid(format!(
            "linux.sysctl.{}: not namespaced, so a container may not set it",
            short(key)
        ));
    };
    if !has(ns) {
        return invalid(format!(
            "linux.sysctl.{}: needs a {} namespace in linux.namespaces",
            short(key),
            crate::namespaces::spec_name(ns)
        ));
    }
    Ok(())
}

fn mounts(spec: &Spec) -> Result<()> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if clean_abs(m.destination()).is_none() {
            return invalid(format!(
                "mounts[{i}].destination: {} climbs out of the container root",
                short(m.destination())
            ));
        }
    }
    crate::rootfs::idmap::requests(spec).map(drop)
}

fn resources(spec: &Spec) -> Result<()> {
    let Some(res) = linux(spec).and_then(|l| l.resources().as_ref()) else {
        return Ok(());
    };
    if let Some(cpu) = res.cpu() {
        crate::cgroups::v1::check_cpu(cpu)?;
    }
    if let Some(m) = res.memory() {
        let (limit, swap) = (m.limit().unwrap_or(0), m.swap().unwrap_or(0));
        if limit > 0 && swap > 0 && swap < limit {
            return invalid(format!(
                "linux.resources.memory.swap: {swap} is below memory.limit {limit} (swap is memory+swap)"
            ));
        }
    }
    // linux.cgroupsPath is checked by the cgroup driver create uses (cgroupfs: a path without
    // "..", systemd: slice:prefix:name), before anything is made.
    Ok(())
}

fn linux_misc(spec: &Spec) -> Result<()> {
    let Some(linux) = linux(spec) else {
        return Ok(());
    };
    // Checked here, before any clone, so a typo costs no namespace or mount.
    if let Some(p) = linux
        .rootfs_propagation()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        if crate::rootfs::mount::propagation_option(p).is_none() {
            return invalid(format!(
                "linux.rootfsPropagation: unknown value {} (expected private, shared, slave or unbindable, optionally with an r prefix)",
                quote(p)
            ));
        }
    }
    if linux.intel_rdt().is_some() {
        return invalid("linux.intelRdt: Intel RDT is not supported".into());
    }
    if let Some(p) = linux.memory_policy() {
        use crate::process::attrs;
        attrs::memory_policy(p, attrs::online_nodes().as_deref())?;
    }
    crate::netdev::validate(linux)?;
    if let Some(p) = linux.personality() {
        if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
            return invalid("linux.personality.flags: no personality flags are supported".into());
        }
    }
    Ok(())
}

fn hooks(spec: &Spec) -> Result<()> {
    crate::hooks::validate(spec.hooks().as_ref())
}
