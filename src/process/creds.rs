//! Credentials of the container process, in runc's order: drop the bounding set while still
//! root, switch groups and ids with keep-caps, then set effective/permitted/inheritable in one
//! capset(2) and raise the ambient set. Without `process.capabilities` the sets are left as the
//! id switch leaves them.

use std::str::FromStr;

use crate::oci::Process;
use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::LinuxCapabilities;

use crate::error::{Context, Error, Result};

/// An OCI capability set as caps-crate values (names were checked by the spec pre-pass).
fn to_caps(set: &Option<oci_spec::runtime::Capabilities>) -> CapsHashSet {
    set.iter()
        .flatten()
        .filter_map(|c| {
            let name = serde_json::to_value(c).ok()?.as_str()?.to_string();
            Capability::from_str(&name).ok()
        })
        .collect()
}

fn mask(set: &CapsHashSet) -> u64 {
    set.iter().fold(0u64, |m, c| m | c.bitmask())
}

/// Set effective, permitted and inheritable at once.
fn capset(eff: u64, perm: u64, inh: u64) -> Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let lo = |m: u64| m as u32;
    let hi = |m: u64| (m >> 32) as u32;
    let data = [
        Data {
            effective: lo(eff),
            permitted: lo(perm),
            inheritable: lo(inh),
        },
        Data {
            effective: hi(eff),
            permitted: hi(perm),
            inheritable: hi(inh),
        },
    ];
    // SAFETY: capset reads a v3 header and two data structs we own.
    let r = unsafe { libc::syscall(libc::SYS_capset, &hdr as *const Header, data.as_ptr()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// Drop every capability outside process.capabilities.bounding (needs CAP_SETPCAP: call as root).
pub fn apply_bounding(caps: Option<&LinuxCapabilities>) -> Result<()> {
    let Some(c) = caps else { return Ok(()) };
    let keep = to_caps(c.bounding());
    for cap in caps::all() {
        if !keep.contains(&cap) {
            match caps::drop(None, CapSet::Bounding, cap) {
                Ok(()) => {}
                // A cap the running kernel does not know cannot be in the bounding set anyway.
                Err(_) if !caps::runtime::thread_all_supported().contains(&cap) => {}
                Err(e) => {
                    return Err(Error::Msg(format!(
                        "process.capabilities.bounding: drop {cap}: {e}"
                    )))
                }
            }
        }
    }
    Ok(())
}

/// Switch to process.user (groups, gid, uid) keeping the permitted set, then apply the
/// effective, permitted, inheritable and ambient sets.
pub fn apply_user_and_caps(p: &Process, userns_setgroups: bool) -> Result<()> {
    let user = p.user();
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    if !userns_setgroups && !groups.is_empty() {
        return Err(Error::invalid(crate::rootless::SETGROUPS_DENIED));
    }
    if userns_setgroups {
        // SAFETY: setgroups reads `groups.len()` gids from a live vector.
        if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } != 0 {
            return Err(std::io::Error::last_os_error())
                .context("process.user.additionalGids: setgroups");
        }
    }
    // SAFETY: setresgid/setresuid take integers. Raw syscalls change only this thread, and the
    // process is single-threaded.
    unsafe {
        if libc::syscall(libc::SYS_setresgid, user.gid(), user.gid(), user.gid()) != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("process.user.gid: setresgid {}", user.gid()));
        }
        if libc::syscall(libc::SYS_setresuid, user.uid(), user.uid(), user.uid()) != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("process.user.uid: setresuid {}", user.uid()));
        }
        libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0);
    }
    let Some(c) = p.capabilities() else {
        return Ok(());
    };
    let (eff, perm, inh) = (
        to_caps(c.effective()),
        to_caps(c.permitted()),
        to_caps(c.inheritable()),
    );
    capset(mask(&eff), mask(&perm), mask(&inh)).context("process.capabilities: capset")?;
    let amb = to_caps(c.ambient());
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| Error::Msg(format!("process.capabilities.ambient: {e}")))?;
    // Ambient is best effort, as in runc: a cap that is not both permitted and inheritable
    // cannot be ambient (runc's own default spec asks for that).
    for cap in amb {
        if caps::raise(None, CapSet::Ambient, cap).is_err() {
            crate::logging::debug(&format!(
                "process.capabilities.ambient: {cap} not raised (it must be permitted and inheritable)"
            ));
        }
    }
    Ok(())
}
