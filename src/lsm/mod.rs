//! AppArmor and SELinux labels, applied as runc applies them. `process.apparmorProfile` (`exec
//! --apparmor`) and `process.selinuxLabel` (`exec --process-label`) are written to the
//! payload's own `attr` files and take effect at its execve (`attr.rs`); the SELinux label also
//! goes to `attr/keycreate` before the session keyring is made; `linux.mountLabel` is the
//! `context=` option of the mounts that take one (`mount_label.rs`). An empty string is no
//! label (runc: `if name == ""`).
//!
//! Whether the host runs an LSM is decided by runc's rules ([`apparmor_enabled`],
//! [`selinux_enabled`]). A config that asks for a label the host cannot apply is refused by
//! [`check_config`] (create) and [`check_process`] (exec), in hull before anything is made,
//! with one line naming the field; runc fails too, later (AppArmor at init's write, SELinux's
//! process label at validation, the mount label at the first labelled mount). Those checks read
//! /sys and hull's own /proc and run only for a config with a label: one without pays nothing.
//! Nothing here opens a path of the container: the payload writes through its verified procfs
//! (`sys::procfs::ProcRoot`).

mod attr;
mod mount_label;

use std::path::Path;

use crate::oci::{Process, Spec};

use crate::error::{quote, Error, Result};

pub use attr::{selinux_keycreate, set_exec, AttrFiles};
pub use mount_label::{context_param, label_mqueue, mount_data, takes_context};

/// A Linux security module that labels processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lsm {
    /// AppArmor: profiles by name.
    AppArmor,
    /// SELinux: `user:role:type:level` labels.
    SELinux,
}

impl Lsm {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Lsm::AppArmor => "AppArmor",
            Lsm::SELinux => "SELinux",
        }
    }

    /// Whether this host runs it (runc's rules).
    pub fn enabled(self) -> bool {
        match self {
            Lsm::AppArmor => apparmor_enabled(),
            Lsm::SELinux => selinux_enabled(),
        }
    }
}

/// runc's `apparmor.IsEnabled`: securityfs shows `/sys/kernel/security/apparmor` and the
/// module's `enabled` parameter starts with `Y`.
pub fn apparmor_enabled() -> bool {
    Path::new("/sys/kernel/security/apparmor").exists()
        && std::fs::read("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|b| b.first() == Some(&b'Y'))
}

/// go-selinux's `GetEnabled` (runc's): a writable selinuxfs — at `/sys/fs/selinux`, or
/// wherever mountinfo shows one when `/proc/filesystems` lists it — and a process label other
/// than `kernel` (selinuxfs without a policy loaded). An unreadable label counts as enabled,
/// as there.
pub fn selinux_enabled() -> bool {
    selinuxfs_mounted()
        && std::fs::read("/proc/self/attr/current")
            .map_or(true, |c| c.strip_suffix(b"\0").unwrap_or(&c) != b"kernel")
}

fn selinuxfs_mounted() -> bool {
    if writable_selinuxfs("/sys/fs/selinux") {
        return true;
    }
    let listed =
        std::fs::read_to_string("/proc/filesystems").is_ok_and(|f| f.contains("\tselinuxfs\n"));
    listed
        && std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|text| {
            crate::fsutil::parse_mountinfo(&text)
                .iter()
                .any(|m| m.fstype == "selinuxfs" && writable_selinuxfs(&m.mount_point))
        })
}

fn writable_selinuxfs(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    crate::sys::fd::open(&c, flags, 0)
        .and_then(crate::sys::mount::fs_stat)
        .is_ok_and(|(magic, flags)| {
            magic as u32 == crate::sys::mount::SELINUX_MAGIC as u32 && flags & libc::ST_RDONLY == 0
        })
}

/// The labels a process asks for; an empty string is none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Labels<'a> {
    /// `process.apparmorProfile`.
    pub apparmor: Option<&'a str>,
    /// `process.selinuxLabel`.
    pub selinux: Option<&'a str>,
}

impl<'a> Labels<'a> {
    /// The labels of `p` (no system call).
    pub fn of(p: &'a Process) -> Labels<'a> {
        let set = |s: &'a Option<String>| s.as_deref().filter(|s| !s.is_empty());
        Labels {
            apparmor: set(p.apparmor_profile()),
            selinux: set(p.selinux_label()),
        }
    }

    /// No label at all: nothing to write.
    pub fn is_empty(&self) -> bool {
        self.apparmor.is_none() && self.selinux.is_none()
    }
}

/// Refuse `value` of `field` (a label for `lsm`) when the host does not run `lsm`, or when the
/// kernel could not take it (a NUL byte ends a label early). None or empty: no label, no check.
pub fn check(lsm: Lsm, field: &str, value: Option<&str>) -> Result<()> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    if !lsm.enabled() {
        return Err(Error::invalid(format!(
            "{field}: cannot apply {}: {} is not enabled on this host",
            quote(v),
            lsm.name()
        )));
    }
    if v.contains('\0') {
        return Err(Error::invalid(format!(
            "{field}: {} contains a NUL byte",
            quote(v)
        )));
    }
    Ok(())
}

/// `create`'s check, before anything is made: the process's labels and the mount label.
pub fn check_config(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process() {
        check_process(p)?;
    }
    let label = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().as_deref());
    check(Lsm::SELinux, "linux.mountLabel", label)?;
    if let Some(l) = label.filter(|l| l.contains('"')) {
        // It is quoted in the mount data (its categories have commas): a quote cannot be.
        return Err(Error::invalid(format!(
            "linux.mountLabel: {} contains a double quote",
            quote(l)
        )));
    }
    Ok(())
}

/// `exec`'s check of its process (the config's labels, a `--process` file's, or the flags').
pub fn check_process(p: &Process) -> Result<()> {
    let l = Labels::of(p);
    check(Lsm::AppArmor, "process.apparmorProfile", l.apparmor)?;
    check(Lsm::SELinux, "process.selinuxLabel", l.selinux)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(apparmor: Option<&str>, selinux: Option<&str>) -> Process {
        let mut p = Process::default();
        p.set_apparmor_profile(apparmor.map(String::from));
        p.set_selinux_label(selinux.map(String::from));
        p
    }

    #[test]
    fn empty_strings_are_no_label() {
        assert!(Labels::of(&process(None, None)).is_empty());
        assert!(Labels::of(&process(Some(""), Some(""))).is_empty());
        let p = process(Some("docker-default"), Some(""));
        let l = Labels::of(&p);
        assert_eq!(l.apparmor, Some("docker-default"));
        assert_eq!(l.selinux, None);
        // No label: nothing is checked, whatever the host.
        check_process(&process(Some(""), Some(""))).unwrap();
        check(Lsm::SELinux, "linux.mountLabel", Some("")).unwrap();
    }

    // What this host says decides the outcome; either way the line names the field.
    #[test]
    fn a_label_for_an_lsm_the_host_lacks_names_the_field() {
        for (lsm, field) in [
            (Lsm::AppArmor, "process.apparmorProfile"),
            (Lsm::SELinux, "process.selinuxLabel"),
        ] {
            let r = check(lsm, field, Some("x"));
            if lsm.enabled() {
                r.unwrap();
            } else {
                assert_eq!(
                    r.unwrap_err().render(),
                    format!(
                        "{field}: cannot apply \"x\": {} is not enabled on this host",
                        lsm.name()
                    )
                );
            }
        }
    }
}
