//! OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle"): the six kinds, the
//! state a hook reads, validation, and running every hook of a kind in order. One hook is a
//! fork + execve of `path` with exactly `args` (args[0] is argv[0]; none means argv = [path])
//! and exactly `env`, the container state JSON on its stdin, its stdout and stderr captured
//! (runc's way: shown in the error when the hook fails, in the debug log otherwise); `timeout`
//! seconds elapsed: the hook is SIGKILLed and the error names it (`runner.rs`). This module
//! does not decide when a hook runs: the spawn pipeline (`process/init.rs`) and the lifecycle
//! verbs (`container/`) do, with the state they build here ([`HookState`]).
//!
//! Where each kind runs (runc's places, which the spec's words allow):
//!
//! | kind | process | when | status / pid in the state |
//! |---|---|---|---|
//! | `prestart`, `createRuntime` | hull (create), runtime namespaces | init asks (`Msg::Hooks`) after its mounts and devices, before pivot_root | creating / host pid |
//! | `createContainer` | init, container namespaces | right after, still before pivot_root (path resolves on the host's tree) | creating / pid inside |
//! | `startContainer` | init, container namespaces, container credentials | `start` opened the exec fifo, before the byte is written | created / pid inside |
//! | `poststart` | hull (start, run) | init's byte was read and its execve closed the exec fifo (init's failure there fails start instead) | running / host pid |
//! | `poststop` | hull (delete, run, a failed create) | cgroups and state dir are gone | stopped / no pid |
//!
//! The hooks are copied into `state.json` at create time (runtime.md: "Any updates to
//! config.json after this step MUST NOT affect the container"), so `start` and `delete` never
//! re-read the bundle.

mod runner;

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use oci_spec::runtime::{Hook, Hooks};
use serde::Serialize;

use crate::error::{quote, Error, Result};

/// The six kinds of hooks, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Deprecated; runs right before `createRuntime`.
    Prestart,
    /// Runtime namespace, before pivot_root.
    CreateRuntime,
    /// Container namespace, before pivot_root.
    CreateContainer,
    /// Container namespace, before the user process.
    StartContainer,
    /// Runtime namespace, after the user process started.
    Poststart,
    /// Runtime namespace, after delete.
    Poststop,
}

impl Kind {
    /// The config's field name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    /// This kind's entries of `hooks`.
    #[allow(deprecated)]
    pub fn list(self, hooks: Option<&Hooks>) -> &[Hook] {
        let Some(h) = hooks else { return &[] };
        let l = match self {
            Kind::Prestart => h.prestart(),
            Kind::CreateRuntime => h.create_runtime(),
            Kind::CreateContainer => h.create_container(),
            Kind::StartContainer => h.start_container(),
            Kind::Poststart => h.poststart(),
            Kind::Poststop => h.poststop(),
        };
        l.as_deref().unwrap_or_default()
    }

    const ALL: [Kind; 6] = [
        Kind::Prestart,
        Kind::CreateRuntime,
        Kind::CreateContainer,
        Kind::StartContainer,
        Kind::Poststart,
        Kind::Poststop,
    ];
}

/// The state a hook reads on stdin: runtime.md "State" (runc's `specs.State`: pid and
/// annotations omitted when there are none).
#[derive(Debug, Serialize)]
pub struct HookState<'a> {
    /// Spec version.
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    /// Container id.
    pub id: &'a str,
    /// creating, created, running or stopped.
    pub status: &'a str,
    /// The container's pid as seen by the hook's pid namespace (0 = none).
    #[serde(skip_serializing_if = "is_zero")]
    pub pid: i32,
    /// Absolute bundle path.
    pub bundle: &'a Path,
    /// The config's annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

fn is_zero(p: &i32) -> bool {
    *p == 0
}

impl<'a> HookState<'a> {
    /// The state of container `id` (spec version hull's; `pid` 0 omits it).
    pub fn new(
        id: &'a str,
        status: &'a str,
        pid: i32,
        bundle: &'a Path,
        annotations: &'a HashMap<String, String>,
    ) -> HookState<'a> {
        HookState {
            oci_version: crate::OCI_VERSION,
            id,
            status,
            pid,
            bundle,
            annotations,
        }
    }

    /// The JSON written to each hook's stdin.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("state serializes")
    }
}

/// What init writes to the exec fifo instead of "0" when `startContainer` fails: '1' and the
/// message, at most PIPE_BUF bytes so `start` reads it in one piece.
pub fn fifo_error(e: &Error) -> String {
    let mut m = format!("1{}", e.render());
    if m.len() > 4000 {
        let mut cut = 4000;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
    }
    m
}

/// Check every hook of a config (create refuses a bad one before anything exists): `path`
/// absolute, `timeout` above zero, no NUL bytes.
pub fn validate(hooks: Option<&Hooks>) -> Result<()> {
    for kind in Kind::ALL {
        for (i, h) in kind.list(hooks).iter().enumerate() {
            let field = format!("hooks.{}[{i}]", kind.name());
            if !h.path().is_absolute() {
                return Err(Error::invalid(format!(
                    "{field}.path: {} must be an absolute path",
                    quote(h.path())
                )));
            }
            if let Some(t) = h.timeout() {
                if t <= 0 {
                    return Err(Error::invalid(format!(
                        "{field}.timeout: {t} must be greater than zero"
                    )));
                }
            }
            let mut strings = h.args().iter().flatten().chain(h.env().iter().flatten());
            if h.path().as_os_str().as_bytes().contains(&0) || strings.any(|s| s.contains('\0')) {
                return Err(Error::invalid(format!("{field}: contains a NUL byte")));
            }
        }
    }
    Ok(())
}

/// Run every hook of `kind` in order; the first failure stops and is returned, naming the hook.
/// `default_env` replaces an absent `env` (runc does that for `startContainer` only).
pub fn run(
    hooks: Option<&Hooks>,
    kind: Kind,
    state: &[u8],
    default_env: Option<&[String]>,
) -> Result<()> {
    for (i, h) in kind.list(hooks).iter().enumerate() {
        let name = format!("hooks.{}[{i}]", kind.name());
        runner::run_one(h, &name, state, default_env)?;
    }
    Ok(())
}

/// Run every hook of `kind`; a failure is logged as a warning and the next hook runs
/// (runtime.md step 13, for `poststop`).
pub fn run_warn(hooks: Option<&Hooks>, kind: Kind, state: &[u8]) {
    for (i, h) in kind.list(hooks).iter().enumerate() {
        let name = format!("hooks.{}[{i}]", kind.name());
        if let Err(e) = runner::run_one(h, &name, state, None) {
            crate::logging::warn(&e.render());
        }
    }
}

/// Whether any hook of these kinds is configured.
pub fn any(hooks: Option<&Hooks>, kinds: &[Kind]) -> bool {
    kinds.iter().any(|k| !k.list(hooks).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hooks(v: serde_json::Value) -> Hooks {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn validate_names_the_field() {
        let h = hooks(serde_json::json!({"poststart": [{"path": "/ok"}, {"path": "rel"}]}));
        let e = validate(Some(&h)).unwrap_err().render();
        assert!(e.starts_with("hooks.poststart[1].path: "), "{e}");
        let h = hooks(serde_json::json!({"createRuntime": [{"path": "/x", "timeout": -1}]}));
        let e = validate(Some(&h)).unwrap_err().render();
        assert!(e.starts_with("hooks.createRuntime[0].timeout: -1"), "{e}");
        assert!(validate(None).is_ok());
    }

    #[test]
    fn state_omits_absent_pid_and_annotations() {
        let none = HashMap::new();
        let s = HookState::new("c", "stopped", 0, Path::new("/b"), &none);
        assert_eq!(
            String::from_utf8(s.to_json()).unwrap(),
            format!(
                r#"{{"ociVersion":"{}","id":"c","status":"stopped","bundle":"/b"}}"#,
                crate::OCI_VERSION
            )
        );
    }

    #[test]
    fn fifo_error_fits_one_atomic_write() {
        let e = Error::Msg("é".repeat(5000));
        let m = fifo_error(&e);
        assert!(m.starts_with('1') && m.len() <= 4000);
    }
}
