//! OCI mount options → mount(2) flags, propagation changes, mount_setattr(2) recursive
//! attributes, the id-mapping options (`idmap`, `ridmap`; carried out by `idmap.rs`) and
//! filesystem data; and the low-level mount calls, always aimed at an fd resolved inside the
//! rootfs (`/proc/self/fd/N`), never at a path the image controls.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::mount::MsFlags;

use crate::error::{Context, Error, Result};

/// mount_setattr(2) attribute bits.
pub mod attr {
    /// MOUNT_ATTR_RDONLY
    pub const RDONLY: u64 = 0x1;
    /// MOUNT_ATTR_NOSUID
    pub const NOSUID: u64 = 0x2;
    /// MOUNT_ATTR_NODEV
    pub const NODEV: u64 = 0x4;
    /// MOUNT_ATTR_NOEXEC
    pub const NOEXEC: u64 = 0x8;
    /// MOUNT_ATTR__ATIME (mask)
    pub const ATIME_MASK: u64 = 0x70;
    /// MOUNT_ATTR_RELATIME
    pub const RELATIME: u64 = 0x0;
    /// MOUNT_ATTR_NOATIME
    pub const NOATIME: u64 = 0x10;
    /// MOUNT_ATTR_STRICTATIME
    pub const STRICTATIME: u64 = 0x20;
    /// MOUNT_ATTR_NODIRATIME
    pub const NODIRATIME: u64 = 0x80;
    /// MOUNT_ATTR_NOSYMFOLLOW
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
}

/// Parsed `mounts[].options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Flags to set.
    pub flags: MsFlags,
    /// Flags the options cleared explicitly (rw, dev, ...).
    pub cleared: MsFlags,
    /// Propagation changes, applied after the mount, in order.
    pub propagation: Vec<MsFlags>,
    /// Recursive attributes to set (mount_setattr).
    pub attr_set: u64,
    /// Recursive attributes to clear.
    pub attr_clr: u64,
    /// Filesystem-specific data, comma-joined.
    pub data: Vec<String>,
    /// `tmpcopyup` was given.
    pub tmpcopyup: bool,
    /// `idmap` or `ridmap` was given (the last one counts, as in runc).
    pub idmap: Option<Idmap>,
}

/// The id-mapping options of config.md: never passed to mount(2); the mount gets
/// MOUNT_ATTR_IDMAP instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idmap {
    /// `idmap`: the mount itself (submounts an `rbind` brings along keep their ids).
    Flat,
    /// `ridmap`: the mount and every mount below it (AT_RECURSIVE).
    Recursive,
}

impl Idmap {
    /// The option's name.
    pub fn name(self) -> &'static str {
        match self {
            Idmap::Flat => "idmap",
            Idmap::Recursive => "ridmap",
        }
    }
}

/// The id-mapping options, by name (listed by `features`).
pub const IDMAP_OPTIONS: &[(&str, Idmap)] = &[("idmap", Idmap::Flat), ("ridmap", Idmap::Recursive)];

impl Default for Options {
    fn default() -> Self {
        Options {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: Vec::new(),
            attr_set: 0,
            attr_clr: 0,
            data: Vec::new(),
            tmpcopyup: false,
            idmap: None,
        }
    }
}

impl Options {
    /// Whether this is a bind mount (`bind` or `rbind`).
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }
}

/// The flag options of runc's `parseMountOptions`: name, set (or clear when `false`), flags.
pub const FLAG_OPTIONS: &[(&str, bool, MsFlags)] = &[
    ("async", false, MsFlags::MS_SYNCHRONOUS),
    ("atime", false, MsFlags::MS_NOATIME),
    ("bind", true, MsFlags::MS_BIND),
    ("defaults", true, MsFlags::empty()),
    ("dev", false, MsFlags::MS_NODEV),
    ("diratime", false, MsFlags::MS_NODIRATIME),
    ("dirsync", true, MsFlags::MS_DIRSYNC),
    ("exec", false, MsFlags::MS_NOEXEC),
    ("iversion", true, MsFlags::MS_I_VERSION),
    ("lazytime", true, MsFlags::MS_LAZYTIME),
    ("loud", false, MsFlags::MS_SILENT),
    ("mand", true, MsFlags::MS_MANDLOCK),
    ("noatime", true, MsFlags::MS_NOATIME),
    ("nodev", true, MsFlags::MS_NODEV),
    ("nodiratime", true, MsFlags::MS_NODIRATIME),
    ("noexec", true, MsFlags::MS_NOEXEC),
    ("noiversion", false, MsFlags::MS_I_VERSION),
    ("nolazytime", false, MsFlags::MS_LAZYTIME),
    ("nomand", false, MsFlags::MS_MANDLOCK),
    ("norelatime", false, MsFlags::MS_RELATIME),
    ("nostrictatime", false, MsFlags::MS_STRICTATIME),
    ("nosuid", true, MsFlags::MS_NOSUID),
    (
        "nosymfollow",
        true,
        MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW),
    ),
    ("rbind", true, MsFlags::MS_BIND.union(MsFlags::MS_REC)),
    ("relatime", true, MsFlags::MS_RELATIME),
    ("remount", true, MsFlags::MS_REMOUNT),
    ("ro", true, MsFlags::MS_RDONLY),
    ("rw", false, MsFlags::MS_RDONLY),
    ("silent", true, MsFlags::MS_SILENT),
    ("strictatime", true, MsFlags::MS_STRICTATIME),
    ("suid", false, MsFlags::MS_NOSUID),
    ("sync", true, MsFlags::MS_SYNCHRONOUS),
    (
        "symfollow",
        false,
        MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW),
    ),
];

fn flag_option(o: &str) -> Option<(bool, MsFlags)> {
    FLAG_OPTIONS
        .iter()
        .find(|(n, _, _)| *n == o)
        .map(|(_, set, f)| (*set, *f))
}

/// Propagation options.
pub const PROPAGATION_OPTIONS: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("shared", MsFlags::MS_SHARED),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("slave", MsFlags::MS_SLAVE),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// The propagation change an option asks for.
pub fn propagation_option(o: &str) -> Option<MsFlags> {
    PROPAGATION_OPTIONS
        .iter()
        .find(|(n, _)| *n == o)
        .map(|(_, f)| *f)
}

/// Recursive (mount_setattr) options: name, attributes set, attributes cleared.
pub const RECURSIVE_OPTIONS: &[(&str, u64, u64)] = &[
    ("rro", attr::RDONLY, 0),
    ("rrw", 0, attr::RDONLY),
    ("rnosuid", attr::NOSUID, 0),
    ("rsuid", 0, attr::NOSUID),
    ("rnodev", attr::NODEV, 0),
    ("rdev", 0, attr::NODEV),
    ("rnoexec", attr::NOEXEC, 0),
    ("rexec", 0, attr::NOEXEC),
    ("rnodiratime", attr::NODIRATIME, 0),
    ("rdiratime", 0, attr::NODIRATIME),
    ("rrelatime", attr::RELATIME, attr::ATIME_MASK),
    ("rnorelatime", 0, attr::ATIME_MASK),
    ("rnoatime", attr::NOATIME, attr::ATIME_MASK),
    ("ratime", 0, attr::ATIME_MASK),
    ("rstrictatime", attr::STRICTATIME, attr::ATIME_MASK),
    ("rnostrictatime", 0, attr::ATIME_MASK),
    ("rnosymfollow", attr::NOSYMFOLLOW, 0),
    ("rsymfollow", 0, attr::NOSYMFOLLOW),
];

fn attr_option(o: &str) -> Option<(u64, u64)> {
    RECURSIVE_OPTIONS
        .iter()
        .find(|(n, _, _)| *n == o)
        .map(|(_, s, c)| (*s, *c))
}

/// Parse a mount's options. Every string is something: an option of the tables above, or
/// filesystem data.
pub fn parse_options(opts: &[String]) -> Options {
    let mut o = Options::default();
    for raw in opts {
        let s = raw.as_str();
        if let Some((set, f)) = flag_option(s) {
            if set {
                o.flags |= f;
                o.cleared &= !f;
            } else {
                o.flags &= !f;
                o.cleared |= f;
            }
        } else if let Some(p) = propagation_option(s) {
            o.propagation.push(p);
        } else if let Some((set, clr)) = attr_option(s) {
            o.attr_set |= set;
            o.attr_clr |= clr;
        } else if s == "tmpcopyup" {
            o.tmpcopyup = true;
        } else if let Some((_, m)) = IDMAP_OPTIONS.iter().find(|(n, _)| *n == s) {
            o.idmap = Some(*m);
        } else {
            o.data.push(raw.clone());
        }
    }
    o
}

/// A mount's options, with `type` "bind" or "rbind" counted as the `bind` option (runc).
pub fn mount_options(m: &oci_spec::runtime::Mount) -> Options {
    let mut o = parse_options(m.options().as_deref().unwrap_or_default());
    if matches!(m.typ().as_deref(), Some("bind" | "rbind")) {
        o.flags |= MsFlags::MS_BIND;
    }
    o
}

fn cpath(p: &Path) -> Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::invalid(format!("path {} has a NUL byte", p.display())))
}

/// The magic-link path of an fd.
pub fn fd_path(fd: impl AsFd) -> String {
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// mount(2) with optional source/type/data.
pub fn mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    nix::mount::mount(src, target, fstype, flags, data).map_err(Error::from)
}

/// mount_setattr(fd, "", AT_EMPTY_PATH|AT_RECURSIVE, {set, clr}).
pub fn setattr_recursive(fd: impl AsFd, set: u64, clr: u64) -> Result<()> {
    crate::sys::mount::setattr(fd, true, set, clr).context("mount_setattr")
}

/// statvfs's bit for a relatime mount: the kernel's ST_RELATIME, which the libc crate names for
/// glibc only (musl's statvfs passes the kernel's bits through as well).
const ST_RELATIME: libc::c_ulong = 0x1000;

/// The per-mount flags the kernel may have locked on `path` (statvfs), as MS_* bits.
pub fn locked_flags(path: &Path) -> MsFlags {
    let Ok(c) = cpath(path) else {
        return MsFlags::empty();
    };
    // SAFETY: statvfs fills a zeroed struct we own.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return MsFlags::empty();
        }
        st
    };
    let mut f = MsFlags::empty();
    for (st_bit, ms) in [
        (libc::ST_RDONLY, MsFlags::MS_RDONLY),
        (libc::ST_NOSUID, MsFlags::MS_NOSUID),
        (libc::ST_NODEV, MsFlags::MS_NODEV),
        (libc::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (libc::ST_NOATIME, MsFlags::MS_NOATIME),
        (libc::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if st.f_flag & st_bit != 0 {
            f |= ms;
        }
    }
    f
}

/// Remount a bind mount with `flags`; when the kernel refuses because some flags are locked (a
/// mount inherited from a more privileged namespace), retry keeping the locked ones.
pub fn remount_bind(target: &Path, flags: MsFlags) -> Result<()> {
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    let clean = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    match mount(None, target, None, base | clean, None) {
        Err(e) if e.errno() == Some(libc::EPERM) => {
            let keep = locked_flags(target) & !MsFlags::MS_RDONLY;
            mount(None, target, None, base | clean | keep, None)
        }
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Options {
        parse_options(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_clears() {
        let o = p(&["nosuid", "noexec", "nodev", "ro", "rw"]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV
        );
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
    }

    #[test]
    fn bind_propagation_attrs_and_data() {
        let o = p(&["rbind", "rprivate", "rro", "mode=755", "size=65536k"]);
        assert!(o.is_bind());
        assert!(o.flags.contains(MsFlags::MS_REC));
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(o.attr_set, attr::RDONLY);
        assert_eq!(o.data, vec!["mode=755", "size=65536k"]);
    }

    #[test]
    fn atime_family_is_exclusive() {
        let o = p(&["rnoatime"]);
        assert_eq!((o.attr_set, o.attr_clr), (attr::NOATIME, attr::ATIME_MASK));
    }

    #[test]
    fn idmap_options_are_no_filesystem_data_and_the_last_counts() {
        assert_eq!(p(&["rbind", "idmap"]).idmap, Some(Idmap::Flat));
        assert_eq!(p(&["ridmap"]).idmap, Some(Idmap::Recursive));
        let o = p(&["idmap", "ridmap", "ro"]);
        assert_eq!(o.idmap, Some(Idmap::Recursive));
        assert!(o.data.is_empty());
        assert_eq!(p(&["ridmap", "idmap"]).idmap, Some(Idmap::Flat));
        assert_eq!(p(&["bind"]).idmap, None);
    }
}
