//! The new mount API on fds: a bind made from one fd onto another with no path looked up in
//! between (open_tree + move_mount), attributes set on a mount (mount_setattr, recursively or
//! not; an id mapping from a user namespace on a detached mount), a fresh filesystem instance as
//! a detached mount (fsopen + fsmount), and the magic number of the filesystem behind an fd
//! (fstatfs). A path can be swapped for a symlink between a check and a mount; an fd cannot.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::error::{Context, Result};

/// procfs' magic number (linux/magic.h).
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// sysfs' magic number.
pub const SYSFS_MAGIC: i64 = 0x6265_6572;
/// selinuxfs' magic number.
pub const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

/// `MOUNT_ATTR_RDONLY` of mount_setattr(2).
pub const ATTR_RDONLY: u64 = 0x01;
/// `MOUNT_ATTR_IDMAP` of mount_setattr(2): the mount maps ids through `userns_fd`'s namespace.
const ATTR_IDMAP: u64 = 0x0010_0000;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;

/// The filesystem magic (statfs f_type) of what `fd` refers to.
pub fn fs_magic(fd: impl AsFd) -> std::io::Result<i64> {
    // SAFETY: an all-zero statfs is valid storage for fstatfs to fill.
    let mut sfs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs on a borrowed fd into a struct we own.
    if unsafe { libc::fstatfs(fd.as_fd().as_raw_fd(), &mut sfs) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(sfs.f_type as i64)
}

/// The filesystem magic (statfs f_type) and the mount flags (statvfs f_flag, `ST_*` bits) of
/// what `fd` refers to.
pub fn fs_stat(fd: impl AsFd) -> std::io::Result<(i64, u64)> {
    let magic = fs_magic(&fd)?;
    // SAFETY: an all-zero statvfs is valid storage for fstatvfs to fill.
    let mut svfs: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatvfs on a borrowed fd into a struct we own.
    if unsafe { libc::fstatvfs(fd.as_fd().as_raw_fd(), &mut svfs) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((magic, svfs.f_flag as u64))
}

/// open_tree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH [| AT_RECURSIVE]): a detached copy of the
/// mount (or the file or directory) `fd` refers to.
pub fn clone_tree(fd: impl AsFd, recursive: bool) -> std::io::Result<OwnedFd> {
    let mut flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: open_tree with a borrowed fd, an empty C string and flags; returns a new fd.
    super::fd::take(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_fd().as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    })
}

/// move_mount(tree, "", target, "", F_EMPTY_PATH | T_EMPTY_PATH): attach the detached `tree`
/// on what `target` refers to.
pub fn attach(tree: impl AsFd, target: impl AsFd) -> std::io::Result<()> {
    // SAFETY: move_mount with two borrowed fds and empty C strings.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_fd().as_raw_fd(),
            c"".as_ptr(),
            target.as_fd().as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `struct mount_attr` of mount_setattr(2) (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], attr).
fn mount_setattr(fd: BorrowedFd, recursive: bool, a: &MountAttr) -> std::io::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: mount_setattr reads `size_of::<MountAttr>()` bytes of a repr(C) struct we own and
    // an empty C string; the fd is borrowed for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            a as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], {set, clr}).
pub fn setattr(fd: impl AsFd, recursive: bool, set: u64, clr: u64) -> std::io::Result<()> {
    let a = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    mount_setattr(fd.as_fd(), recursive, &a)
}

/// Id-map the detached mount `tree` (from [`clone_tree`]) through the user namespace `userns`
/// (MOUNT_ATTR_IDMAP). With a `uid_map` line "inside outside count", a file the filesystem
/// says is owned by `inside` shows as owned by `outside`, and a file created by `outside` is
/// stored as owned by `inside`. `recursive`: the mounts below it too (AT_RECURSIVE). Only a
/// mount never attached can be id-mapped, and only by a process privileged over the user
/// namespace that owns the filesystem (the initial one, for a host filesystem).
pub fn set_idmap(tree: impl AsFd, userns: impl AsFd, recursive: bool) -> std::io::Result<()> {
    let a = MountAttr {
        attr_set: ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_fd().as_raw_fd() as u64,
    };
    mount_setattr(tree.as_fd(), recursive, &a)
}

/// Whether this kernel has mount_setattr(2) (Linux 5.12): asked with a size the kernel always
/// refuses (EINVAL), so the answer changes nothing; only ENOSYS says no.
pub fn setattr_exists() -> bool {
    // SAFETY: mount_setattr with a null path and attr of size 0; the kernel checks the size
    // before it reads either.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            -1,
            std::ptr::null::<libc::c_char>(),
            0u32,
            std::ptr::null::<MountAttr>(),
            0usize,
        )
    };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ENOSYS)
}

/// Bind `src` onto `target`, both fds (no path is looked up, so none can be swapped for a
/// symlink in between): a detached copy of `src` (with its submounts when `recursive`), given
/// `attrs` (MOUNT_ATTR_*, to the whole copy) before it is attached, so it is never visible
/// without them.
pub fn bind(src: impl AsFd, target: impl AsFd, recursive: bool, attrs: u64) -> Result<()> {
    let tree = clone_tree(src, recursive).context("open_tree")?;
    if attrs != 0 {
        setattr(&tree, true, attrs, 0).context("mount_setattr")?;
    }
    attach(&tree, target).context("move_mount")
}

/// A new instance of filesystem `fstype` as a detached mount (fsopen, fsconfig CMD_CREATE,
/// fsmount); `options` are fsconfig string keys and values.
pub fn new_instance(fstype: &CStr, options: &[(&CStr, &CStr)]) -> std::io::Result<OwnedFd> {
    // SAFETY: fsopen with a C string and FSOPEN_CLOEXEC; returns a new fd.
    let fs = super::fd::take(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), 1u32) })?;
    for (k, v) in options {
        // SAFETY: fsconfig(FSCONFIG_SET_STRING = 1) with C strings on an fd we own.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                1u32,
                k.as_ptr(),
                v.as_ptr(),
                0,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: fsconfig(FSCONFIG_CMD_CREATE) with null key and value on an fd we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fsmount(FSMOUNT_CLOEXEC) on an fd we own; returns a new fd.
    super::fd::take(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), 1u32, 0u32) })
}

/// Borrow a raw fd (for callers holding one from elsewhere).
pub fn borrow(fd: &impl AsRawFd) -> BorrowedFd<'_> {
    // SAFETY: the fd is alive for the lifetime of the borrow of its owner.
    unsafe { BorrowedFd::borrow_raw(fd.as_raw_fd()) }
}
