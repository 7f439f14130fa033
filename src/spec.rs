//! Reading a bundle's config.json: a JSON pre-pass (unknown capability names are dropped with a
//! warning, since profiles outlive kernels), the oci-spec parse with the failing field's path in
//! the message, and the checks runtime.md asks of `create` (those that depend on the host's
//! LSMs are `lsm::check_config`'s, called by [`load`]). Every error names the field, and
//! shows the values it quotes shortened (`error::quote`): serde's messages, which echo the
//! offending value, go through `error::shorten_echoes`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{LinuxNamespaceType as T, Spec};
use serde_json::Value;

use crate::error::{quote, short, shorten_echoes, Context, Error, Result};
use crate::fsutil::clean_abs;

/// A bundle whose config passed validation.
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// Absolute, symlink-free rootfs directory.
    pub rootfs: PathBuf,
    /// The parsed config.
    pub spec: Spec,
}

/// Capability set names under process.capabilities.
pub const CAP_SETS: [&str; 5] = [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// Load and validate `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(bundle).with_context(|| format!("bundle {}", short(bundle)))?;
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", short(&path)))?;
    let spec = parse(&text).with_context(|| short(&path).to_string())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::invalid("root: missing (required on Linux)"))?;
    let rp = root.path();
    let rootfs_in = if rp.is_absolute() {
        rp.clone()
    } else {
        dir.join(rp)
    };
    let rootfs = std::fs::canonicalize(&rootfs_in)
        .with_context(|| format!("root.path: rootfs {}", short(&rootfs_in)))?;
    if !rootfs.is_dir() {
        return Err(Error::invalid(format!(
            "root.path: {} is not a directory",
            short(&rootfs)
        )));
    }
    validate(&spec)?;
    // The labels against this host's LSMs (reads /sys only for a config with a label).
    crate::lsm::check_config(&spec)?;
    Ok(Bundle { dir, rootfs, spec })
}

/// Parse config.json text: pre-pass, `ociVersion` present, then oci-spec with the field path in
/// errors.
pub fn parse(text: &str) -> Result<Spec> {
    let mut v: Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("malformed JSON: {e}")))?;
    check_oci_version(&v)?;
    drop_unknown_caps(&mut v);
    typed(&v, |path| {
        if path == "." {
            "config".into()
        } else {
            path.into()
        }
    })
}

/// config.md: `ociVersion` is REQUIRED (runc accepts a config without it; hull does not, see
/// README). Its type is serde's to check; its SemVer form is not checked (runc ignores it).
fn check_oci_version(v: &Value) -> Result<()> {
    let Some(top) = v.as_object() else {
        // serde would take `[]` for a config with every field absent.
        return invalid("config: must be a JSON object".into());
    };
    match top.get("ociVersion") {
        None => invalid("ociVersion: missing (required by the OCI runtime spec)".into()),
        Some(Value::String(s)) if s.trim().is_empty() => {
            invalid("ociVersion: empty (required by the OCI runtime spec)".into())
        }
        Some(_) => Ok(()),
    }
}

/// Deserialize `v` with the failing field's path in the error (`field` turns serde's path into
/// the name shown), and every long value serde echoes shortened.
fn typed<T: serde::de::DeserializeOwned>(v: &Value, field: impl Fn(&str) -> String) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let mut inputs = Vec::new();
        long_strings(v, &mut inputs);
        let path = shorten_echoes(&e.path().to_string(), inputs.iter().copied());
        let msg = shorten_echoes(&e.inner().to_string(), inputs.iter().copied());
        Error::invalid(format!("{}: {msg}", field(&path)))
    })
}

/// Every key and string of `v` longer than `error::QUOTE_MAX`: the inputs an error must not
/// echo whole.
fn long_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    let long = |s: &str| s.len() > crate::error::QUOTE_MAX;
    match v {
        Value::String(s) if long(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| long_strings(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                if long(k) {
                    out.push(k);
                }
                long_strings(x, out);
            }
        }
        _ => {}
    }
}

/// Parse an OCI Process JSON (`exec --process`): the same capability pre-pass as config.json,
/// `user` defaulting to root as Go's decoder leaves it, errors naming the field under `process`.
pub fn parse_process(text: &str) -> Result<oci_spec::runtime::Process> {
    let p: Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("malformed JSON: {e}")))?;
    if !p.is_object() {
        return invalid("process: must be a JSON object".into());
    }
    let mut v = serde_json::json!({ "process": p });
    drop_unknown_caps(&mut v);
    let mut p = v["process"].take();
    if p.get("user").is_none() {
        p["user"] = serde_json::json!({ "uid": 0, "gid": 0 });
    }
    typed(&p, |path| {
        if path == "." {
            "process".to_string()
        } else {
            format!("process.{path}")
        }
    })
}

fn drop_unknown_caps(v: &mut Value) {
    let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for set in CAP_SETS {
        if let Some(list) = caps.get_mut(set).and_then(Value::as_array_mut) {
            list.retain(|c| {
                let name = c.as_str().unwrap_or("");
                let known = caps::Capability::from_str(&name.to_ascii_uppercase()).is_ok();
                if !known {
                    crate::logging::warn(&format!(
                        "process.capabilities.{set}: unknown capability {} ignored",
                        quote(name)
                    ));
                }
                known
            });
        }
    }
}

fn invalid<T>(msg: String) -> Result<T> {
    Err(Error::Invalid(msg))
}

/// The checks of a config that `create` needs beyond its types.
pub fn validate(spec: &Spec) -> Result<()> {
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
    if let Some(rl) = process.rlimits() {
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
    }
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::invalid("linux: missing (required on Linux)"))?;
    let nslist = linux.namespaces().clone().unwrap_or_default();
    let has = |t: T| nslist.iter().any(|n| n.typ() == t);
    for (i, ns) in nslist.iter().enumerate() {
        if nslist[..i].iter().any(|o| o.typ() == ns.typ()) {
            return invalid(format!(
                "linux.namespaces[{i}].type: namespace {:?} is listed twice",
                crate::namespaces::spec_name(ns.typ())
            ));
        }
    }
    if !has(T::Mount) {
        return invalid(
            "linux.namespaces: a mount namespace is required (hull never mounts on the host)"
                .into(),
        );
    }
    let new_user = nslist
        .iter()
        .any(|n| n.typ() == T::User && n.path().is_none());
    let maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_user
        && (linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty())
            || linux.gid_mappings().as_ref().is_none_or(|m| m.is_empty()))
    {
        return invalid(
            "linux.uidMappings/gidMappings: a new user namespace needs both mappings".into(),
        );
    }
    if maps && !new_user {
        return invalid(
            "linux.uidMappings: mappings are set but no new user namespace is created".into(),
        );
    }
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        let Some(name) = name.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        if !has(T::Uts) {
            return invalid(format!(
                "{field}: setting it needs a uts namespace in linux.namespaces"
            ));
        }
        // The kernel's limit (__NEW_UTS_LEN), checked before anything is created.
        if name.len() > 64 {
            return invalid(format!("{field}: {} is longer than 64 bytes", quote(name)));
        }
    }
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty()) {
        if !nslist
            .iter()
            .any(|n| n.typ() == T::Time && n.path().is_none())
        {
            return invalid("linux.timeOffsets: offsets need a new time namespace".into());
        }
        for k in linux.time_offsets().as_ref().unwrap().keys() {
            if k != "monotonic" && k != "boottime" {
                return invalid(format!(
                    "linux.timeOffsets.{}: only monotonic and boottime clocks have offsets",
                    short(k)
                ));
            }
        }
    }
    if let Some(sysctl) = linux.sysctl() {
        for key in sysctl.keys() {
            check_sysctl(key, &has)?;
        }
    }
    if let Some(mounts) = spec.mounts() {
        for (i, m) in mounts.iter().enumerate() {
            if clean_abs(m.destination()).is_none() {
                return invalid(format!(
                    "mounts[{i}].destination: {} climbs out of the container root",
                    short(m.destination())
                ));
            }
        }
    }
    crate::rootfs::idmap::requests(spec)?;
    if let Some(cpu) = linux.resources().as_ref().and_then(|r| r.cpu().as_ref()) {
        crate::cgroups::v1::check_cpu(cpu)?;
    }
    if let Some(m) = linux.resources().as_ref().and_then(|r| r.memory().as_ref()) {
        let (limit, swap) = (m.limit().unwrap_or(0), m.swap().unwrap_or(0));
        if limit > 0 && swap > 0 && swap < limit {
            return invalid(format!(
                "linux.resources.memory.swap: {swap} is below memory.limit {limit} (swap is memory+swap)"
            ));
        }
    }
    // linux.cgroupsPath is checked by the cgroup driver create uses (cgroupfs: a path without
    // "..", systemd: slice:prefix:name), before anything is made.
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
    if let Some(aff) = process.exec_cpu_affinity() {
        if let Some(s) = aff.initial() {
            crate::sys::cpu::parse_affinity(s).context("process.execCPUAffinity.initial")?;
        }
        if let Some(s) = aff.cpu_affinity_final() {
            crate::sys::cpu::parse_affinity(s).context("process.execCPUAffinity.final")?;
        }
    }
    crate::hooks::validate(spec.hooks().as_ref())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> Value {
        serde_json::json!({
            "ociVersion": "1.2.0",
            "root": {"path": "rootfs"},
            "process": {"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
            "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}
        })
    }

    fn check(v: &Value) -> Result<()> {
        validate(&parse(&v.to_string())?)
    }

    #[test]
    fn minimal_config_is_valid() {
        check(&minimal()).unwrap();
    }

    #[test]
    fn malformed_json_says_so_with_position() {
        let e = parse("{\"ociVersion\": ").unwrap_err().render();
        assert!(e.starts_with("malformed JSON:"), "{e}");
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn unknown_namespace_names_the_field() {
        let mut v = minimal();
        v["linux"]["namespaces"][1]["type"] = "bogus".into();
        let e = check(&v).unwrap_err().render();
        assert!(
            e.starts_with("linux.namespaces[1].type: unknown variant `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn bad_rlimit_names_the_field() {
        let mut v = minimal();
        v["process"]["rlimits"] =
            serde_json::json!([{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]);
        let e = check(&v).unwrap_err().render();
        assert!(e.starts_with("process.rlimits[0].type:"), "{e}");
    }

    #[test]
    fn empty_args_and_missing_process() {
        let mut v = minimal();
        v["process"]["args"] = serde_json::json!([]);
        assert!(check(&v).unwrap_err().render().starts_with("process.args:"));
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("process");
        assert!(check(&v)
            .unwrap_err()
            .render()
            .starts_with("process: missing"));
    }

    #[test]
    fn unknown_capabilities_are_dropped() {
        let mut v = minimal();
        v["process"]["capabilities"] =
            serde_json::json!({"bounding": ["CAP_CHOWN", "CAP_NOT_A_CAP"]});
        let spec = parse(&v.to_string()).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
    }

    #[test]
    fn escaping_mount_and_sysctl_rules() {
        let mut v = minimal();
        v["mounts"] = serde_json::json!([{"destination": "/a/../../etc", "type": "tmpfs", "source": "tmpfs"}]);
        assert!(check(&v)
            .unwrap_err()
            .render()
            .starts_with("mounts[0].destination:"));
        let mut v = minimal();
        v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
        assert!(check(&v)
            .unwrap_err()
            .render()
            .contains("needs a network namespace"));
        let mut v = minimal();
        v["linux"]["sysctl"] = serde_json::json!({"vm.swappiness": "1"});
        assert!(check(&v).unwrap_err().render().contains("not namespaced"));
    }

    #[test]
    fn unknown_seccomp_action_names_the_field() {
        let mut v = minimal();
        v["linux"]["seccomp"] = serde_json::json!({"defaultAction": "SCMP_ACT_BOGUS"});
        let e = check(&v).unwrap_err().render();
        assert!(
            e.starts_with("linux.seccomp.defaultAction: unknown variant"),
            "{e}"
        );
    }

    #[test]
    fn unknown_rootfs_propagation_names_the_field() {
        let mut v = minimal();
        v["linux"]["rootfsPropagation"] = "sideways".into();
        let e = check(&v).unwrap_err().render();
        assert!(
            e.starts_with("linux.rootfsPropagation: unknown value \"sideways\""),
            "{e}"
        );
        v["linux"]["rootfsPropagation"] = "rslave".into();
        check(&v).unwrap();
    }

    // Fails without check_oci_version (checked by removing its call: the config parses).
    #[test]
    fn oci_version_is_required_and_not_empty() {
        let mut v = minimal();
        v.as_object_mut().unwrap().remove("ociVersion");
        let e = check(&v).unwrap_err().render();
        assert_eq!(e, "ociVersion: missing (required by the OCI runtime spec)");
        for empty in ["", "  "] {
            v["ociVersion"] = empty.into();
            let e = check(&v).unwrap_err().render();
            assert_eq!(e, "ociVersion: empty (required by the OCI runtime spec)");
        }
        v["ociVersion"] = 1.into();
        let e = check(&v).unwrap_err().render();
        assert!(e.starts_with("ociVersion: invalid type: integer"), "{e}");
        // Not an object at all: that, not a missing ociVersion.
        for text in ["[]", "\"x\"", "null"] {
            let e = parse(text).unwrap_err().render();
            assert_eq!(e, "config: must be a JSON object");
        }
    }

    /// Puts a long value somewhere in a config.
    type Edit = fn(&mut Value, &str);

    // Fails when typed() shows serde's message as is (checked: 5000-byte lines).
    #[test]
    fn long_values_serde_echoes_are_shortened() {
        let long = "b".repeat(5000);
        let cases: [(&str, Edit); 4] = [
            ("linux.namespaces[1].type: unknown variant", |v, l| {
                v["linux"]["namespaces"][1]["type"] = l.into()
            }),
            ("process.user.uid: invalid type: string", |v, l| {
                v["process"]["user"]["uid"] = l.into()
            }),
            ("process.execCPUAffinity.initial:", |v, l| {
                v["process"]["execCPUAffinity"] = serde_json::json!({ "initial": l })
            }),
            ("annotations.bbbb", |v, l| {
                v["annotations"] = serde_json::json!({ l: 1 })
            }),
        ];
        for (start, edit) in cases {
            let mut v = minimal();
            edit(&mut v, &long);
            let e = check(&v).unwrap_err().render();
            assert!(e.starts_with(start), "{e}");
            assert!(
                e.contains("…(5000 bytes)") && e.len() < 400,
                "{} bytes: {e}",
                e.len()
            );
        }
        // The same for exec --process.
        let p = serde_json::json!({"args": ["true"], "cwd": "/", "user": {"uid": long}});
        let e = parse_process(&p.to_string()).unwrap_err().render();
        assert!(e.starts_with("process.user.uid: invalid type"), "{e}");
        assert!(e.contains("…(5000 bytes)") && e.len() < 300, "{e}");
    }

    // Fails without the quote()/short() in validate (checked: 5000-byte lines).
    #[test]
    fn long_values_validate_quotes_are_shortened() {
        let long = "c".repeat(5000);
        let cases: [(&str, Edit); 6] = [
            ("process.cwd: \"ccc", |v, l| v["process"]["cwd"] = l.into()),
            (
                "mounts[0].destination: /../ccc",
                |v, l| {
                    v["mounts"] =
                        serde_json::json!([{"destination": format!("/../{l}"), "type": "tmpfs"}])
                },
            ),
            ("linux.rootfsPropagation: unknown value \"ccc", |v, l| {
                v["linux"]["rootfsPropagation"] = l.into()
            }),
            ("linux.sysctl.ccc", |v, l| {
                v["linux"]["sysctl"] = serde_json::json!({ l: "1" })
            }),
            ("hostname: \"ccc", |v, l| {
                v["hostname"] = l.into();
                v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "uts"}]);
            }),
            ("linux.timeOffsets.ccc", |v, l| {
                v["linux"]["timeOffsets"] = serde_json::json!({ l: {"secs": 1} });
                v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "time"}]);
            }),
        ];
        for (start, edit) in cases {
            let mut v = minimal();
            edit(&mut v, &long);
            let e = check(&v).unwrap_err().render();
            assert!(e.starts_with(start), "{e}");
            assert!(
                e.contains("…(500") && e.len() < 300,
                "{} bytes: {e}",
                e.len()
            );
        }
        // A hostname the kernel would refuse is refused here, before any clone.
        let mut v = minimal();
        v["domainname"] = "d".repeat(65).into();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "uts"}]);
        let e = check(&v).unwrap_err().render();
        assert!(
            e.starts_with("domainname: ") && e.ends_with("is longer than 64 bytes"),
            "{e}"
        );
        v["domainname"] = "d".repeat(64).into();
        check(&v).unwrap();
    }

    #[test]
    fn user_namespace_needs_mappings() {
        let mut v = minimal();
        v["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "user"}]);
        assert!(check(&v)
            .unwrap_err()
            .render()
            .contains("needs both mappings"));
    }
}
