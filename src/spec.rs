//! Reading a bundle's config.json: a JSON pre-pass (unknown capability names are dropped with a
//! warning, since profiles outlive kernels), the parse (`oci::Spec`: oci-spec's types below
//! its top level and `process`) with the failing field's path in the message, and the checks
//! runtime.md asks of `create` (those that depend on the host's LSMs are
//! `lsm::check_config`'s, called by [`load`]). Every error names the field, and
//! shows the values it quotes shortened (`error::quote`): serde's messages, which echo the
//! offending value, go through `error::shorten_echoes`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::oci::Spec;
use serde_json::Value;

use crate::error::{quote, short, shorten_echoes, Context, Error, Result};
pub use crate::validate::validate;

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

/// Load and validate `<bundle>/config.json`: the first problem [`examine`] finds is the error.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let e = examine(bundle)?;
    for w in &e.warnings {
        crate::logging::warn(w);
    }
    if let Some(p) = e.problems.into_iter().next() {
        return Err(p);
    }
    Ok(Bundle {
        dir: e.dir,
        rootfs: e.rootfs.expect("no problem: the rootfs was resolved"),
        spec: e.spec,
    })
}

/// A bundle's config read and checked as `create` checks it, with every problem kept.
pub struct Examined {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// The parsed config (unknown capabilities dropped).
    pub spec: Spec,
    /// Absolute, symlink-free rootfs directory, when it is one.
    pub rootfs: Option<PathBuf>,
    /// What `create` would refuse, in the order it meets them (each area's first).
    pub problems: Vec<Error>,
    /// What it lets pass with a warning (unknown capability names).
    pub warnings: Vec<String>,
}

/// Read `<bundle>/config.json` and check it as `create` does ([`load`] and `hull check` share
/// this): the error is a config that cannot be read or parsed; everything else is a problem.
pub fn examine(bundle: &Path) -> Result<Examined> {
    let dir = std::fs::canonicalize(bundle).with_context(|| format!("bundle {}", short(bundle)))?;
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", short(&path)))?;
    let (spec, warnings) = parse_noting(&text).with_context(|| short(&path).to_string())?;
    let mut problems = Vec::new();
    let rootfs = match rootfs(&dir, &spec) {
        Ok(r) => Some(r),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    problems.extend(crate::validate::problems(&spec));
    // The labels against this host's LSMs (reads /sys only for a config with a label).
    if let Err(e) = crate::lsm::check_config(&spec) {
        problems.push(e);
    }
    Ok(Examined {
        dir,
        spec,
        rootfs,
        problems,
        warnings,
    })
}

/// `root.path` resolved against the bundle directory: an existing directory.
fn rootfs(dir: &Path, spec: &Spec) -> Result<PathBuf> {
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
    Ok(rootfs)
}

/// Parse config.json text: pre-pass, `ociVersion` present, then oci-spec with the field path in
/// errors; the pre-pass's warnings are logged.
pub fn parse(text: &str) -> Result<Spec> {
    let (spec, warnings) = parse_noting(text)?;
    for w in &warnings {
        crate::logging::warn(w);
    }
    Ok(spec)
}

/// [`parse`], its warnings returned instead of logged.
pub fn parse_noting(text: &str) -> Result<(Spec, Vec<String>)> {
    let mut v: Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("malformed JSON: {e}")))?;
    check_oci_version(&v)?;
    let warnings = drop_unknown_caps(&mut v);
    let spec = typed(&v, |path| {
        if path == "." {
            "config".into()
        } else {
            path.into()
        }
    })?;
    Ok((spec, warnings))
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
pub fn parse_process(text: &str) -> Result<crate::oci::Process> {
    let p: Value =
        serde_json::from_str(text).map_err(|e| Error::invalid(format!("malformed JSON: {e}")))?;
    if !p.is_object() {
        return invalid("process: must be a JSON object".into());
    }
    let mut v = serde_json::json!({ "process": p });
    for w in drop_unknown_caps(&mut v) {
        crate::logging::warn(&w);
    }
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

/// Drop the capability names this build does not know; a warning for each.
fn drop_unknown_caps(v: &mut Value) -> Vec<String> {
    let mut warnings = Vec::new();
    let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    else {
        return warnings;
    };
    for set in CAP_SETS {
        if let Some(list) = caps.get_mut(set).and_then(Value::as_array_mut) {
            list.retain(|c| {
                let name = c.as_str().unwrap_or("");
                let known = caps::Capability::from_str(&name.to_ascii_uppercase()).is_ok();
                if !known {
                    warnings.push(format!(
                        "process.capabilities.{set}: unknown capability {} ignored",
                        quote(name)
                    ));
                }
                known
            });
        }
    }
    warnings
}

fn invalid<T>(msg: String) -> Result<T> {
    Err(Error::Invalid(msg))
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
