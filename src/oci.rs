//! The two types of the runtime spec hull reads with its own serde code: the config's top level
//! ([`Spec`]) and its `process` ([`Process`]), with the getters and setters of oci-spec's types
//! of the same names so that the rest of hull reads them alike; every type below them is
//! oci-spec's. Why: oci-spec 0.10 checks `process.execCPUAffinity` strings with the `regex`
//! crate as it deserializes them, and reaching that one check linked about 1 MB of regex
//! engine and Unicode tables into hull (issue #16: the static binary 3.99 MB, over its
//! 3 MiB budget). Here hull's own CPU list parser checks them.
//!
//! Deserialize only: hull writes neither type (`hull spec` builds its JSON directly). Field
//! names, defaults and the fields that are required are oci-spec's (and the runtime spec's);
//! unknown fields are ignored as there. Platform sections hull has no use for (`solaris`,
//! `windows`, `vm`, `zos`) are ignored too.

use std::collections::HashMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    Box as ConsoleSize, Hooks, Linux, LinuxCapabilities, LinuxIOPriority, Mount, PosixRlimit, Root,
    Scheduler, User,
};
use serde::{de, Deserialize, Deserializer};

/// A container's configuration (config.md), the parts a Linux runtime reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default, rename = "ociVersion")]
    version: String,
    #[serde(default)]
    root: Option<Root>,
    #[serde(default)]
    mounts: Option<Vec<Mount>>,
    #[serde(default)]
    process: Option<Process>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    domainname: Option<String>,
    #[serde(default)]
    hooks: Option<Hooks>,
    #[serde(default)]
    annotations: Option<HashMap<String, String>>,
    #[serde(default)]
    linux: Option<Linux>,
}

impl Spec {
    /// `ociVersion`.
    pub fn version(&self) -> &String {
        &self.version
    }
    /// `root`.
    pub fn root(&self) -> &Option<Root> {
        &self.root
    }
    /// `mounts`.
    pub fn mounts(&self) -> &Option<Vec<Mount>> {
        &self.mounts
    }
    /// `process`.
    pub fn process(&self) -> &Option<Process> {
        &self.process
    }
    /// `process`, to change.
    pub fn process_mut(&mut self) -> &mut Option<Process> {
        &mut self.process
    }
    /// `hostname`.
    pub fn hostname(&self) -> &Option<String> {
        &self.hostname
    }
    /// `domainname`.
    pub fn domainname(&self) -> &Option<String> {
        &self.domainname
    }
    /// `hooks`.
    pub fn hooks(&self) -> &Option<Hooks> {
        &self.hooks
    }
    /// `annotations`.
    pub fn annotations(&self) -> &Option<HashMap<String, String>> {
        &self.annotations
    }
    /// `linux`.
    pub fn linux(&self) -> &Option<Linux> {
        &self.linux
    }
}

/// The container's process (config.md "Process"), or an `exec --process` file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    terminal: Option<bool>,
    #[serde(default)]
    console_size: Option<ConsoleSize>,
    user: User,
    #[serde(default)]
    args: Option<Vec<String>>,
    #[serde(default)]
    command_line: Option<String>,
    #[serde(default)]
    env: Option<Vec<String>>,
    cwd: PathBuf,
    #[serde(default)]
    capabilities: Option<LinuxCapabilities>,
    #[serde(default)]
    rlimits: Option<Vec<PosixRlimit>>,
    #[serde(default)]
    no_new_privileges: Option<bool>,
    #[serde(default)]
    apparmor_profile: Option<String>,
    #[serde(default)]
    oom_score_adj: Option<i32>,
    #[serde(default)]
    selinux_label: Option<String>,
    #[serde(default)]
    io_priority: Option<LinuxIOPriority>,
    #[serde(default)]
    scheduler: Option<Scheduler>,
    #[serde(default, rename = "execCPUAffinity")]
    exec_cpu_affinity: Option<ExecCPUAffinity>,
}

/// A process as root in `/` and nothing else set (for tests; a config's process always
/// comes from JSON).
impl Default for Process {
    fn default() -> Self {
        Process {
            terminal: None,
            console_size: None,
            user: User::default(),
            args: None,
            command_line: None,
            env: None,
            cwd: "/".into(),
            capabilities: None,
            rlimits: None,
            no_new_privileges: None,
            apparmor_profile: None,
            oom_score_adj: None,
            selinux_label: None,
            io_priority: None,
            scheduler: None,
            exec_cpu_affinity: None,
        }
    }
}

impl Process {
    /// `terminal`.
    pub fn terminal(&self) -> Option<bool> {
        self.terminal
    }
    /// `consoleSize`.
    pub fn console_size(&self) -> Option<ConsoleSize> {
        self.console_size
    }
    /// `user`.
    pub fn user(&self) -> &User {
        &self.user
    }
    /// `user`, to change.
    pub fn user_mut(&mut self) -> &mut User {
        &mut self.user
    }
    /// `args`.
    pub fn args(&self) -> &Option<Vec<String>> {
        &self.args
    }
    /// `commandLine` (Windows; read only to be refused).
    pub fn command_line(&self) -> &Option<String> {
        &self.command_line
    }
    /// `env`.
    pub fn env(&self) -> &Option<Vec<String>> {
        &self.env
    }
    /// `cwd`.
    pub fn cwd(&self) -> &PathBuf {
        &self.cwd
    }
    /// `capabilities`.
    pub fn capabilities(&self) -> &Option<LinuxCapabilities> {
        &self.capabilities
    }
    /// `rlimits`.
    pub fn rlimits(&self) -> &Option<Vec<PosixRlimit>> {
        &self.rlimits
    }
    /// `noNewPrivileges`.
    pub fn no_new_privileges(&self) -> Option<bool> {
        self.no_new_privileges
    }
    /// `apparmorProfile`.
    pub fn apparmor_profile(&self) -> &Option<String> {
        &self.apparmor_profile
    }
    /// `oomScoreAdj`.
    pub fn oom_score_adj(&self) -> Option<i32> {
        self.oom_score_adj
    }
    /// `selinuxLabel`.
    pub fn selinux_label(&self) -> &Option<String> {
        &self.selinux_label
    }
    /// `ioPriority`.
    pub fn io_priority(&self) -> &Option<LinuxIOPriority> {
        &self.io_priority
    }
    /// `scheduler`.
    pub fn scheduler(&self) -> &Option<Scheduler> {
        &self.scheduler
    }
    /// `execCPUAffinity`.
    pub fn exec_cpu_affinity(&self) -> &Option<ExecCPUAffinity> {
        &self.exec_cpu_affinity
    }
}

/// `set_<field>(value)` for each field, as oci-spec's (getset) setters.
macro_rules! setters {
    ($($set:ident: $field:ident: $ty:ty),* $(,)?) => {
        impl Process {
            $(
                #[doc = concat!("Set `", stringify!($field), "`.")]
                pub fn $set(&mut self, v: $ty) -> &mut Self {
                    self.$field = v;
                    self
                }
            )*
        }
    };
}

setters!(
    set_terminal: terminal: Option<bool>,
    set_console_size: console_size: Option<ConsoleSize>,
    set_user: user: User,
    set_args: args: Option<Vec<String>>,
    set_env: env: Option<Vec<String>>,
    set_cwd: cwd: PathBuf,
    set_capabilities: capabilities: Option<LinuxCapabilities>,
    set_rlimits: rlimits: Option<Vec<PosixRlimit>>,
    set_no_new_privileges: no_new_privileges: Option<bool>,
    set_apparmor_profile: apparmor_profile: Option<String>,
    set_oom_score_adj: oom_score_adj: Option<i32>,
    set_selinux_label: selinux_label: Option<String>,
    set_io_priority: io_priority: Option<LinuxIOPriority>,
    set_scheduler: scheduler: Option<Scheduler>,
    set_exec_cpu_affinity: exec_cpu_affinity: Option<ExecCPUAffinity>,
);

/// `process.execCPUAffinity` (runtime-spec 1.3): the CPUs of an exec'd process before and
/// after it joins the container's cgroup, each a CPU list such as `0-3,7`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct ExecCPUAffinity {
    #[serde(default, deserialize_with = "cpu_list")]
    initial: Option<String>,
    #[serde(default, rename = "final", deserialize_with = "cpu_list")]
    cpu_affinity_final: Option<String>,
}

impl ExecCPUAffinity {
    /// `initial`.
    pub fn initial(&self) -> &Option<String> {
        &self.initial
    }
    /// `final`.
    pub fn cpu_affinity_final(&self) -> &Option<String> {
        &self.cpu_affinity_final
    }
}

/// A CPU list as the spec writes it, checked as it is read by the parser that applies it
/// (`sys::cpu::parse_affinity`): an `exec --process` file's is refused before anything starts.
fn cpu_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    if let Some(s) = &v {
        crate::sys::cpu::parse_affinity(s).map_err(|e| de::Error::custom(e.render()))?;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_cpu_affinity_is_checked_as_it_is_read() {
        let p: Process = serde_json::from_value(serde_json::json!({
            "user": {"uid": 0, "gid": 0}, "cwd": "/",
            "execCPUAffinity": {"initial": "0-1", "final": "1"}
        }))
        .unwrap();
        let a = p.exec_cpu_affinity().as_ref().unwrap();
        assert_eq!(a.initial().as_deref(), Some("0-1"));
        assert_eq!(a.cpu_affinity_final().as_deref(), Some("1"));
        let e = serde_json::from_value::<Process>(serde_json::json!({
            "user": {"uid": 0, "gid": 0}, "cwd": "/",
            "execCPUAffinity": {"final": "1-"}
        }))
        .unwrap_err();
        assert!(e.to_string().contains("bad CPU list \"1-\""), "{e}");
    }

    #[test]
    fn required_fields_and_unknown_ones_as_oci_spec() {
        // user and cwd are required (runtime spec: cwd REQUIRED; oci-spec: user too).
        for missing in ["user", "cwd"] {
            let mut v = serde_json::json!({"user": {"uid": 0, "gid": 0}, "cwd": "/"});
            v.as_object_mut().unwrap().remove(missing);
            let e = serde_json::from_value::<Process>(v).unwrap_err();
            assert!(e.to_string().contains(missing), "{e}");
        }
        let s: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0", "future": {"x": 1}, "windows": {"layerFolders": []},
            "process": {"user": {"uid": 1, "gid": 2}, "cwd": "/", "later": true}
        }))
        .unwrap();
        assert_eq!(s.version(), "1.2.0");
        assert_eq!(s.process().as_ref().unwrap().user().uid(), 1);
    }
}
