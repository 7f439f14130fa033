//! `linux.mountLabel` on the container's mounts, by runc's rule: every filesystem mounted with
//! data gets `context="LABEL"` (go-selinux's `FormatMountLabel`: appended to the data, quoted
//! since the categories of an MCS level have commas) — tmpfs, devpts, overlay and the like,
//! the tmpfs of a cgroup v1 mount and of a masked directory — except proc and sysfs, which are
//! never labelled, and mqueue, whose root gets the label as its `security.selinux` xattr after
//! the mount instead. A bind takes no data (the kernel ignores it), nor does cgroup2. The
//! rootfs code asks [`takes_context`] and [`mount_data`]; with no label nothing changes.

use std::ffi::CString;
use std::path::Path;

use crate::error::{Context, Error, Result};

/// Whether a mount of filesystem `typ` takes the mount label as its `context=` option.
pub fn takes_context(typ: &str) -> bool {
    !matches!(
        typ,
        "proc" | "sysfs" | "mqueue" | "bind" | "rbind" | "cgroup" | "cgroup2"
    )
}

/// The data of a mount of `typ`: `data` comma-joined, with `context="LABEL"` appended when
/// there is a label and the filesystem takes it.
pub fn mount_data(typ: &str, data: &[String], label: Option<&str>) -> String {
    let mut parts: Vec<String> = data.to_vec();
    if let Some(l) = label.filter(|l| !l.is_empty() && takes_context(typ)) {
        parts.push(format!("context=\"{l}\""));
    }
    parts.join(",")
}

/// The label as the value of fsconfig's `context` key (a filesystem made with the new mount
/// API takes it unquoted: no comma splitting happens there).
pub fn context_param(label: &str) -> Result<CString> {
    CString::new(label).map_err(|_| Error::invalid("linux.mountLabel: contains a NUL byte"))
}

/// Label a new mqueue mount: its root (`path`, the `/proc/self/fd/N` of an fd on it) gets the
/// label as its SELinux xattr (go-selinux's `SetFileLabel`).
pub fn label_mqueue(path: &Path, label: &str) -> Result<()> {
    crate::sys::fd::set_xattr(path, c"security.selinux", label.as_bytes())
        .with_context(|| format!("linux.mountLabel: label the mqueue mount {label:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = "system_u:object_r:container_file_t:s0:c715,c811";

    fn data(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tmpfs_devpts_and_others_take_the_context_option() {
        assert_eq!(
            mount_data("tmpfs", &data(&["mode=755", "size=65536k"]), Some(LABEL)),
            format!("mode=755,size=65536k,context=\"{LABEL}\"")
        );
        assert_eq!(
            mount_data(
                "devpts",
                &data(&["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
                Some(LABEL)
            ),
            format!("newinstance,ptmxmode=0666,mode=0620,gid=5,context=\"{LABEL}\"")
        );
        // No data of its own: the option alone.
        assert_eq!(
            mount_data("overlay", &[], Some(LABEL)),
            format!("context=\"{LABEL}\"")
        );
    }

    #[test]
    fn proc_sysfs_mqueue_bind_and_cgroup_take_none() {
        for typ in [
            "proc", "sysfs", "mqueue", "bind", "rbind", "cgroup", "cgroup2",
        ] {
            assert!(!takes_context(typ), "{typ}");
            assert_eq!(mount_data(typ, &data(&["ro"]), Some(LABEL)), "ro", "{typ}");
        }
    }

    #[test]
    fn no_label_changes_nothing() {
        for label in [None, Some("")] {
            assert_eq!(mount_data("tmpfs", &data(&["mode=755"]), label), "mode=755");
            assert_eq!(mount_data("tmpfs", &[], label), "");
        }
    }

    #[test]
    fn the_fsconfig_value_is_the_bare_label() {
        assert_eq!(context_param(LABEL).unwrap().to_str().unwrap(), LABEL);
        assert!(context_param("a\0b").is_err());
    }
}
