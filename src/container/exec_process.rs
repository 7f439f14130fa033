//! The process `exec` runs, built runc's way: `--process FILE` (an OCI Process; what it leaves
//! out — capabilities, rlimits, noNewPrivileges, oomScoreAdj, scheduler, ioPriority,
//! execCPUAffinity — comes from the container's config, runc's `newInitConfig`), or else the
//! container's `process` from its config.json with the command's args, `--env` appended (the
//! last value of a key wins, runc's `prepareEnv`), `--cwd`, `--user uid[:gid]`,
//! `--additional-gids` appended, `--cap` added to bounding, effective and permitted (and to
//! ambient when the config has an inheritable set), `--no-new-privs`, `--apparmor` and
//! `--process-label` replacing the config's labels (a `--process` file without labels keeps
//! the config's, runc's `newInitConfig` too). As in runc, the config's
//! `process.terminal` does not count here and the flags do not apply to a `--process` file.

use std::path::Path;
use std::str::FromStr;

use crate::oci::Process;
use oci_spec::runtime::Capability;

use crate::error::{quote, short, Context, Error, Result};
use crate::spec;

/// `exec`'s process flags (runc's names).
#[derive(Debug, Default)]
pub struct ProcessFlags {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// `--env KEY=VALUE`, appended.
    pub env: Vec<String>,
    /// `--cwd`.
    pub cwd: Option<String>,
    /// `--user uid[:gid]`.
    pub user: Option<String>,
    /// `--additional-gids`, appended.
    pub additional_gids: Vec<u32>,
    /// `--cap`, added.
    pub cap: Vec<String>,
    /// `--no-new-privs`.
    pub no_new_privs: bool,
    /// `--tty`.
    pub tty: bool,
    /// `--apparmor`: the process's AppArmor profile instead of the config's.
    pub apparmor: Option<String>,
    /// `--process-label`: the process's SELinux label instead of the config's.
    pub process_label: Option<String>,
}

impl ProcessFlags {
    fn any(&self) -> bool {
        !self.command.is_empty()
            || !self.env.is_empty()
            || self.cwd.is_some()
            || self.user.is_some()
            || !self.additional_gids.is_empty()
            || !self.cap.is_empty()
            || self.no_new_privs
            || self.tty
            || self.apparmor.is_some()
            || self.process_label.is_some()
    }
}

/// The process to run: `--process` or the container's process with the flags applied.
pub fn build(
    file: Option<&Path>,
    flags: &ProcessFlags,
    config: &crate::oci::Spec,
) -> Result<Process> {
    let base = config
        .process()
        .clone()
        .expect("validated: process present");
    let mut p = match file {
        Some(path) => from_file(flags, path, &base)?,
        None => from_flags(flags, base)?,
    };
    let env = prepare_env(p.env().as_deref().unwrap_or_default())?;
    p.set_env(Some(env));
    validate(&p)?;
    Ok(p)
}

fn from_file(flags: &ProcessFlags, path: &Path, base: &Process) -> Result<Process> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--process: read {}", short(path)))?;
    let mut p = spec::parse_process(&text).with_context(|| format!("--process {}", short(path)))?;
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
    // runc: the container's labels unless the process names its own (an empty one is none).
    if p.apparmor_profile().as_deref().is_none_or(str::is_empty) {
        p.set_apparmor_profile(base.apparmor_profile().clone());
    }
    if p.selinux_label().as_deref().is_none_or(str::is_empty) {
        p.set_selinux_label(base.selinux_label().clone());
    }
    if flags.any() {
        // runc ignores them silently (the file's `terminal` decides, not --tty); say so.
        crate::logging::warn(
            "exec --process: the command and --env/--cwd/--user/--additional-gids/--cap/--no-new-privs/--tty/--apparmor/--process-label are ignored",
        );
    }
    Ok(p)
}

fn from_flags(a: &ProcessFlags, mut p: Process) -> Result<Process> {
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
    // runc: a flag's label replaces the config's; an empty flag is none given.
    use crate::lsm::{check, Lsm};
    if let Some(profile) = a.apparmor.as_deref().filter(|s| !s.is_empty()) {
        check(Lsm::AppArmor, "--apparmor", Some(profile))?;
        p.set_apparmor_profile(Some(profile.to_string()));
    }
    if let Some(label) = a.process_label.as_deref().filter(|s| !s.is_empty()) {
        check(Lsm::SELinux, "--process-label", Some(label))?;
        p.set_selinux_label(Some(label.to_string()));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        if let Some(g) = gid {
            let gid = g.parse().map_err(|_| {
                Error::invalid(format!("--user {}: bad gid {}", quote(u), quote(g)))
            })?;
            p.user_mut().set_gid(gid);
        }
        let uid = uid.parse().map_err(|_| {
            Error::invalid(format!(
                "--user {}: bad uid {} (numeric ids only)",
                quote(u),
                quote(uid)
            ))
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
            crate::logging::warn(&format!(
                "--cap: unknown capability {} ignored",
                quote(name)
            ));
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
                    "process.env[{i}]: {} is not KEY=VALUE",
                    quote(kv)
                )))
            }
            Some(0) => {
                return Err(Error::invalid(format!(
                    "process.env[{i}]: {} has an empty name",
                    quote(kv)
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

/// runc's `validateProcessSpec` (with its check of the SELinux label against the host, and
/// hull's of the AppArmor profile: `lsm::check_process`), plus what hull refuses.
fn validate(p: &Process) -> Result<()> {
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::invalid("process.args: must not be empty"));
    }
    if p.cwd().as_os_str().is_empty() {
        return Err(Error::invalid("process.cwd: must not be empty"));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::invalid(format!(
            "process.cwd: {} must be an absolute path",
            quote(p.cwd())
        )));
    }
    crate::lsm::check_process(p)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
