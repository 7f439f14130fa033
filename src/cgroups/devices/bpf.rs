//! The bpf(2) layer of the cgroup v2 device controller: loading a device program, querying the
//! programs attached to a cgroup2 directory, attaching and detaching. [`load_and_attach`] loads
//! the program of a rule list named [`PROG_NAME`] and attaches it with `BPF_F_ALLOW_MULTI`; a
//! program of that name already attached directly to the directory (an earlier `create` or
//! `update`) is replaced atomically with `BPF_F_REPLACE` when it is the only one, otherwise
//! detached after the new one is in place (both run in between, which is only stricter). Other
//! programs are left alone.
//!
//! This file holds the `union bpf_attr` layouts and every `unsafe` call of the devices code; it
//! decides nothing about which devices are allowed (the rules and `program.rs` do).

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;

use super::program::{bpf_program, BpfInsn};
use super::Rule;
use crate::error::{Context, Result};

/// The name hull gives its device programs; [`load_and_attach`] replaces programs of this name.
pub const PROG_NAME: &str = "hull_devices";

const BPF_PROG_LOAD: u32 = 5;
const BPF_PROG_ATTACH: u32 = 8;
const BPF_PROG_DETACH: u32 = 9;
const BPF_PROG_GET_FD_BY_ID: u32 = 13;
const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
const BPF_PROG_QUERY: u32 = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_F_REPLACE: u32 = 4;

/// `union bpf_attr` for `BPF_PROG_LOAD`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for `BPF_PROG_ATTACH`/`BPF_PROG_DETACH`, up to `replace_bpf_fd`.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// `union bpf_attr` for `BPF_PROG_QUERY`, up to `prog_cnt`.
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// `union bpf_attr` for `BPF_PROG_GET_FD_BY_ID`.
#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// `union bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
#[derive(Default)]
struct InfoByFdAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_prog_info` up to `name`.
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

/// `bpf(cmd, attr, sizeof attr)`.
///
/// # Safety
///
/// `T` must be the kernel's `union bpf_attr` member for `cmd` (a prefix of it), and every
/// pointer stored in it must point to memory valid for what `cmd` does with it for the whole
/// call.
unsafe fn bpf<T>(cmd: u32, attr: &mut T) -> std::result::Result<libc::c_long, Errno> {
    // SAFETY: the caller guarantees the layout and the pointers; attr is exclusively borrowed
    // and exactly size_of::<T>() bytes long.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(cmd),
            attr as *mut T,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

fn owned_fd(r: libc::c_long) -> OwnedFd {
    // SAFETY: r is a file descriptor the kernel just returned to us; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

fn try_load(insns: &[BpfInsn], log: Option<&mut [u8]>) -> std::result::Result<OwnedFd, Errno> {
    let license = c"Apache";
    let mut name = [0u8; 16];
    name[..PROG_NAME.len()].copy_from_slice(PROG_NAME.as_bytes());
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    if let Some(log) = log {
        attr.log_level = 1;
        attr.log_size = log.len() as u32;
        attr.log_buf = log.as_mut_ptr() as u64;
    }
    // SAFETY: ProgLoadAttr is the BPF_PROG_LOAD prefix of bpf_attr; insns, license and the log
    // buffer outlive the call and their lengths are the ones given.
    unsafe { bpf(BPF_PROG_LOAD, &mut attr) }.map(owned_fd)
}

/// Load a device program named [`PROG_NAME`]; on failure the verifier's log is in the error.
pub fn load_program(insns: &[BpfInsn]) -> Result<OwnedFd> {
    match try_load(insns, None) {
        Ok(fd) => Ok(fd),
        Err(first) => {
            let mut log = vec![0u8; 1 << 18];
            let errno = try_load(insns, Some(&mut log)).err().unwrap_or(first);
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let text = text.trim();
            let start = (text.len().saturating_sub(4000)..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let tail = &text[start..];
            let tail = if tail.is_empty() { "(empty)" } else { tail };
            Err(errno).with_context(|| {
                format!(
                    "bpf(BPF_PROG_LOAD) of the devices program ({} instructions), verifier log: {tail}",
                    insns.len()
                )
            })
        }
    }
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    Ok(OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .with_context(|| format!("open {}", dir.display()))?
        .into())
}

fn query(dir_fd: RawFd) -> std::result::Result<Vec<u32>, Errno> {
    let mut ids = vec![0u32; 64];
    for _ in 0..10 {
        let mut attr = QueryAttr {
            target_fd: dir_fd as u32,
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        // SAFETY: QueryAttr is the BPF_PROG_QUERY prefix of bpf_attr; prog_ids points to
        // prog_cnt writable u32s that outlive the call.
        match unsafe { bpf(BPF_PROG_QUERY, &mut attr) } {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(Errno::ENOSPC) => ids = vec![0u32; attr.prog_cnt.max(1) as usize * 2],
            Err(e) => return Err(e),
        }
    }
    Err(Errno::ENOSPC)
}

/// Ids of the device programs attached directly to `cgroup_dir` (not inherited ones).
pub fn attached_programs(cgroup_dir: &Path) -> Result<Vec<u32>> {
    let dir = open_dir(cgroup_dir)?;
    query(dir.as_raw_fd()).with_context(|| {
        format!(
            "bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE) on {}",
            cgroup_dir.display()
        )
    })
}

/// The name of program `id`, with an fd on it; `None` when it is gone or not ours to see.
fn program_by_id(id: u32) -> Result<Option<(OwnedFd, String)>> {
    let mut attr = GetFdByIdAttr {
        prog_id: id,
        ..Default::default()
    };
    // SAFETY: GetFdByIdAttr is the BPF_PROG_GET_FD_BY_ID member of bpf_attr; no pointers.
    let fd = match unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) } {
        Ok(r) => owned_fd(r),
        Err(Errno::ENOENT | Errno::EPERM | Errno::EACCES) => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("bpf(BPF_PROG_GET_FD_BY_ID, {id})")),
    };
    let mut info = ProgInfo::default();
    let mut attr = InfoByFdAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    // SAFETY: InfoByFdAttr is the BPF_OBJ_GET_INFO_BY_FD member of bpf_attr; info points to a
    // writable ProgInfo of info_len bytes (a prefix of struct bpf_prog_info, whose pointer
    // fields are zero so the kernel writes nothing through them) that outlives the call.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }
        .with_context(|| format!("bpf(BPF_OBJ_GET_INFO_BY_FD) of program {id}"))?;
    let end = info.name.iter().position(|&b| b == 0).unwrap_or(16);
    Ok(Some((
        fd,
        String::from_utf8_lossy(&info.name[..end]).into_owned(),
    )))
}

fn attach(dir_fd: RawFd, prog: RawFd, replace: Option<RawFd>) -> std::result::Result<(), Errno> {
    let mut attr = AttachAttr {
        target_fd: dir_fd as u32,
        attach_bpf_fd: prog as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI | if replace.is_some() { BPF_F_REPLACE } else { 0 },
        replace_bpf_fd: replace.unwrap_or(0) as u32,
    };
    // SAFETY: AttachAttr is the BPF_PROG_ATTACH prefix of bpf_attr; no pointers.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

fn detach(dir_fd: RawFd, prog: RawFd) -> std::result::Result<(), Errno> {
    let mut attr = AttachAttr {
        target_fd: dir_fd as u32,
        attach_bpf_fd: prog as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    // SAFETY: AttachAttr is the BPF_PROG_DETACH prefix of bpf_attr; no pointers.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// Load the program of `rules` and attach it to the cgroup v2 directory `cgroup_dir`
/// (`BPF_F_ALLOW_MULTI`), replacing hull's earlier program there (see the module doc). Returns
/// the program's fd (the attachment does not need it kept open).
pub fn load_and_attach(cgroup_dir: &Path, rules: &[Rule]) -> Result<OwnedFd> {
    let prog = load_program(&bpf_program(rules))?;
    let dir = open_dir(cgroup_dir)?;
    let ctx = || format!("{}", cgroup_dir.display());
    let mut ours = Vec::new();
    for id in query(dir.as_raw_fd())
        .with_context(|| format!("bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE) on {}", ctx()))?
    {
        if let Some((fd, name)) = program_by_id(id)? {
            if name == PROG_NAME {
                ours.push(fd);
            }
        }
    }
    if let [old] = ours.as_slice() {
        match attach(dir.as_raw_fd(), prog.as_raw_fd(), Some(old.as_raw_fd())) {
            Ok(()) => return Ok(prog),
            // EINVAL: no BPF_F_REPLACE (before 5.6); ENOENT: the old one went meanwhile.
            Err(Errno::EINVAL | Errno::ENOENT) => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI|BPF_F_REPLACE) on {}",
                        ctx()
                    )
                })
            }
        }
    }
    attach(dir.as_raw_fd(), prog.as_raw_fd(), None).with_context(|| {
        format!(
            "bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) on {}",
            ctx()
        )
    })?;
    for old in &ours {
        match detach(dir.as_raw_fd(), old.as_raw_fd()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "bpf(BPF_PROG_DETACH, BPF_CGROUP_DEVICE) of hull's old program on {}",
                        ctx()
                    )
                })
            }
        }
    }
    Ok(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(std::mem::offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(std::mem::size_of::<AttachAttr>(), 20);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_ids), 16);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_cnt), 24);
        assert_eq!(std::mem::offset_of!(ProgInfo, name), 64);
        assert_eq!(std::mem::size_of::<InfoByFdAttr>(), 16);
    }
}
