//! Id-mapped bind mounts (config.md, "Mounts": a mount's `uidMappings`/`gidMappings`, the
//! `idmap` and `ridmap` options): which mounts are id-mapped and how ([`requests`], pure;
//! `spec::validate` runs it), and their sources as detached, id-mapped mounts, made by hull
//! before stage 1 ([`Trees::prepare`]) and attached by init where the bind would go
//! (`bind.rs`). runc 1.2's rules: mappings on a bind imply `idmap`; `idmap`/`ridmap` without
//! mappings take the container's own (its `linux.uidMappings`/`gidMappings`, or the user
//! namespace it joins), and need one; only bind mounts, and both kinds of mapping or neither.
//!
//! hull makes the copies, not init: MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the user
//! namespace that owns the source's filesystem (the initial one, for a host filesystem), which
//! init inside the container's user namespace does not have; a detached mount hull made can
//! still be attached by init (move_mount), as runc's init attaches the ones runc makes. A
//! mapping's user namespace is a short-lived child's (`namespaces::userns_with_maps`), one per
//! distinct mapping; the copies reach init as inherited fds, which init closes once its mounts
//! are made. A source is looked up in hull's mount namespace, before any of the container's
//! mounts exist.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::oci::Spec;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType as T};
use pathrs::Root;

use super::bind::{source_path, BindSource};
use super::mount::{mount_options, Idmap};
use crate::error::{short, Context, Error, Result};

/// Where an id-mapped mount's mapping comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum Mapping<'a> {
    /// These maps (the mount's own, or the new user namespace's of the container).
    Maps {
        /// `uidMappings`.
        uid: &'a [LinuxIdMapping],
        /// `gidMappings`.
        gid: &'a [LinuxIdMapping],
        /// The config fields they come from, for errors.
        fields: [String; 2],
    },
    /// The user namespace the container joins (`linux.namespaces[].path`).
    JoinedUserns,
}

/// One id-mapped mount.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// Its index in `mounts`.
    pub index: usize,
    /// `rbind`: the copy brings the mounts below the source along.
    pub rbind: bool,
    /// `ridmap`: the mapping applies to those too.
    pub recursive: bool,
    /// The mapping.
    pub mapping: Mapping<'a>,
}

fn non_empty(m: &Option<Vec<LinuxIdMapping>>) -> Option<&[LinuxIdMapping]> {
    m.as_deref().filter(|m| !m.is_empty())
}

/// The id-mapped mounts of `spec`, or the first mount whose id mapping is wrong, named by its
/// field.
pub fn requests(spec: &Spec) -> Result<Vec<Request<'_>>> {
    let linux = spec.linux().as_ref();
    let userns = linux
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|n| n.iter().find(|n| n.typ() == T::User));
    let joined =
        userns.is_some_and(|n| n.path().as_ref().is_some_and(|p| !p.as_os_str().is_empty()));
    let mut out = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = mount_options(m);
        let (uid, gid) = (non_empty(m.uid_mappings()), non_empty(m.gid_mappings()));
        if opts.idmap.is_none() && uid.is_none() && gid.is_none() {
            continue;
        }
        if !opts.is_bind() {
            let given = uid.map(|_| "uidMappings").or(gid.map(|_| "gidMappings"));
            let typ = m.typ().as_deref().unwrap_or("");
            let what = match (given, opts.idmap) {
                (Some(f), _) => format!("mounts[{i}].{f}: id mappings apply"),
                (None, o) => format!("mounts[{i}].options: {} applies", o.map_or("", Idmap::name)),
            };
            return Err(Error::invalid(format!(
                "{what} to bind mounts only, not to type {}",
                short(typ)
            )));
        }
        let mapping = match (uid, gid) {
            (Some(uid), Some(gid)) => Mapping::Maps {
                uid,
                gid,
                fields: [
                    format!("mounts[{i}].uidMappings"),
                    format!("mounts[{i}].gidMappings"),
                ],
            },
            (Some(_), None) | (None, Some(_)) => {
                let (has, missing) = if uid.is_some() {
                    ("uidMappings", "gidMappings")
                } else {
                    ("gidMappings", "uidMappings")
                };
                return Err(Error::invalid(format!(
                    "mounts[{i}].{missing}: missing; {has} and {missing} go together"
                )));
            }
            (None, None) if joined => Mapping::JoinedUserns,
            (None, None) => match (userns, linux) {
                (Some(_), Some(l)) => Mapping::Maps {
                    uid: l.uid_mappings().as_deref().unwrap_or_default(),
                    gid: l.gid_mappings().as_deref().unwrap_or_default(),
                    fields: ["linux.uidMappings".into(), "linux.gidMappings".into()],
                },
                _ => {
                    return Err(Error::invalid(format!(
                        "mounts[{i}].options: {} without uidMappings and gidMappings takes the \
                         container's user namespace mapping, and there is no user namespace",
                        opts.idmap.map_or("", Idmap::name)
                    )))
                }
            },
        };
        out.push(Request {
            index: i,
            rbind: opts.flags.contains(nix::mount::MsFlags::MS_REC),
            recursive: opts.idmap == Some(Idmap::Recursive),
            mapping,
        });
    }
    Ok(out)
}

/// The id-mapped mounts' sources, as detached mounts with their mapping set, by mount index.
/// Init attaches each where its mount goes; the parent and stage 1 only hold them.
#[derive(Default)]
pub struct Trees {
    trees: Vec<(usize, OwnedFd)>,
}

impl Trees {
    /// Make a detached, id-mapped copy of the source of every id-mapped mount of `spec`
    /// (bundle and rootfs: where relative sources and the image are). `joined_userns`: the user
    /// namespace the container joins, if it joins one. Nothing to do makes no system call.
    pub fn prepare(
        spec: &Spec,
        bundle: &Path,
        rootfs: &Path,
        joined_userns: Option<BorrowedFd>,
    ) -> Result<Trees> {
        let reqs = requests(spec)?;
        let mut out = Trees::default();
        if reqs.is_empty() {
            return Ok(out);
        }
        let mounts = spec.mounts().as_deref().unwrap_or_default();
        let root = Root::open(rootfs).with_context(|| format!("open rootfs {}", short(rootfs)))?;
        // One user namespace per distinct mapping: (uid map text, gid map text) → its fd.
        let mut userns: Vec<((String, String), OwnedFd)> = Vec::new();
        for r in reqs {
            let i = r.index;
            let ns = match &r.mapping {
                Mapping::JoinedUserns => joined_userns.ok_or_else(|| {
                    Error::Msg(format!(
                        "mounts[{i}]: no user namespace to take the mapping from"
                    ))
                })?,
                Mapping::Maps { uid, gid, fields } => {
                    let key = (
                        crate::namespaces::map_text(uid),
                        crate::namespaces::map_text(gid),
                    );
                    let at = match userns.iter().position(|(k, _)| *k == key) {
                        Some(at) => at,
                        None => {
                            let fields = [fields[0].as_str(), fields[1].as_str()];
                            let fd = crate::namespaces::userns_with_maps(uid, gid, fields)?;
                            userns.push((key, fd));
                            userns.len() - 1
                        }
                    };
                    userns[at].1.as_fd()
                }
            };
            let src = source_path(&mounts[i], i, bundle)?;
            let tree = idmapped_copy(rootfs, &root, &src, &r, ns)
                .with_context(|| format!("mounts[{i}]: id-map {}", short(&src)))?;
            out.trees.push((i, tree));
        }
        Ok(out)
    }

    /// The prepared copy for `mounts[i]`, if it is id-mapped.
    pub(super) fn get(&self, i: usize) -> Option<BorrowedFd<'_>> {
        self.trees
            .iter()
            .find(|(at, _)| *at == i)
            .map(|(_, fd)| fd.as_fd())
    }

    /// Every fd held (init closes them once its mounts are made).
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.trees.iter().map(|(_, fd)| fd.as_raw_fd())
    }
}

/// A detached copy of `src` (with its submounts for `rbind`), id-mapped through `userns`.
fn idmapped_copy(
    rootfs: &Path,
    root: &Root,
    src: &Path,
    r: &Request,
    userns: BorrowedFd,
) -> Result<OwnedFd> {
    let tree = match BindSource::find(rootfs, root, src)? {
        BindSource::Host(p) => {
            let c = CString::new(p.as_os_str().as_bytes())
                .map_err(|_| Error::invalid("NUL in path"))?;
            let fd = crate::sys::fd::open(&c, libc::O_PATH | libc::O_CLOEXEC, 0).context("open")?;
            crate::sys::mount::clone_tree(&fd, r.rbind)
        }
        BindSource::Image(h) => crate::sys::mount::clone_tree(&h, r.rbind),
    }
    .context("open_tree")?;
    if let Err(e) = crate::sys::mount::set_idmap(&tree, userns, r.recursive) {
        let why = match e.raw_os_error() {
            Some(libc::ENOSYS) => "mount_setattr: not in this kernel (id-mapped mounts need Linux 5.12)",
            Some(libc::EINVAL) => {
                "mount_setattr(MOUNT_ATTR_IDMAP): the source's filesystem cannot be id-mapped by this kernel"
            }
            Some(libc::EPERM) => "mount_setattr(MOUNT_ATTR_IDMAP): not permitted on the source's mount",
            _ => "mount_setattr(MOUNT_ATTR_IDMAP)",
        };
        return Err(e).context(why);
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn spec(mounts: Value, namespaces: Value) -> Spec {
        serde_json::from_value(json!({
            "ociVersion": "1.2.0",
            "mounts": mounts,
            "linux": {
                "namespaces": namespaces,
                "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
            },
        }))
        .unwrap()
    }

    fn maps() -> Value {
        json!([{"containerID": 1000, "hostID": 100000, "size": 10}])
    }

    fn err(mounts: Value, namespaces: Value) -> String {
        requests(&spec(mounts, namespaces)).unwrap_err().render()
    }

    #[test]
    fn mappings_on_a_bind_imply_idmap_and_ridmap_is_recursive() {
        let s = spec(
            json!([
                {"destination": "/a", "type": "bind", "source": "/x", "options": ["rbind"],
                 "uidMappings": maps(), "gidMappings": maps()},
                {"destination": "/b", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/c", "source": "/x", "options": ["rbind", "ridmap"],
                 "uidMappings": maps(), "gidMappings": maps()},
                {"destination": "/d", "source": "/x", "options": ["bind"]},
            ]),
            json!([{"type": "mount"}]),
        );
        let r = requests(&s).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].index, r[0].rbind, r[0].recursive), (0, true, false));
        assert_eq!((r[1].index, r[1].rbind, r[1].recursive), (2, true, true));
        let Mapping::Maps { uid, fields, .. } = &r[0].mapping else {
            panic!("{:?}", r[0].mapping)
        };
        assert_eq!(crate::namespaces::map_text(uid), "1000 100000 10\n");
        assert_eq!(fields[0], "mounts[0].uidMappings");
    }

    #[test]
    fn idmap_without_mappings_takes_the_containers_own() {
        let m = json!([{"destination": "/a", "source": "/x", "options": ["bind", "idmap"]}]);
        let s = spec(m.clone(), json!([{"type": "mount"}, {"type": "user"}]));
        let r = requests(&s).unwrap();
        let Mapping::Maps { uid, gid, fields } = &r[0].mapping else {
            panic!("{:?}", r[0].mapping)
        };
        assert_eq!(crate::namespaces::map_text(uid), "0 100000 65536\n");
        assert_eq!(crate::namespaces::map_text(gid), "0 200000 65536\n");
        assert_eq!(fields[1], "linux.gidMappings");
        let s = spec(
            m,
            json!([{"type": "mount"}, {"type": "user", "path": "/proc/1/ns/user"}]),
        );
        assert_eq!(requests(&s).unwrap()[0].mapping, Mapping::JoinedUserns);
    }

    #[test]
    fn wrong_id_mappings_are_refused_naming_the_field() {
        let ns = || json!([{"type": "mount"}, {"type": "user"}]);
        let e = err(
            json!([{"destination": "/t", "type": "tmpfs", "source": "tmpfs",
                    "uidMappings": maps(), "gidMappings": maps()}]),
            ns(),
        );
        assert_eq!(
            e,
            "mounts[0].uidMappings: id mappings apply to bind mounts only, not to type tmpfs"
        );
        let e = err(
            json!([{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["ridmap"]}]),
            ns(),
        );
        assert!(
            e.starts_with("mounts[0].options: ridmap applies to bind mounts only"),
            "{e}"
        );
        let e = err(
            json!([{"destination": "/a", "source": "/x", "options": ["bind"]},
                   {"destination": "/b", "source": "/x", "options": ["bind"], "uidMappings": maps()}]),
            ns(),
        );
        assert_eq!(
            e,
            "mounts[1].gidMappings: missing; uidMappings and gidMappings go together"
        );
        let e = err(
            json!([{"destination": "/b", "source": "/x", "options": ["bind"], "gidMappings": maps(),
                    "uidMappings": []}]),
            ns(),
        );
        assert!(e.starts_with("mounts[0].uidMappings: missing"), "{e}");
        let e = err(
            json!([{"destination": "/b", "source": "/x", "options": ["bind", "idmap"]}]),
            json!([{"type": "mount"}]),
        );
        assert!(
            e.starts_with("mounts[0].options: idmap without uidMappings and gidMappings"),
            "{e}"
        );
    }
}
