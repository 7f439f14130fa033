//! The device allowlist of `linux.resources.devices` (config-linux.md "Device allowlist") on both
//! cgroup versions: the `devices` controller of cgroup v1 and a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program attached to a cgroup v2 directory.
//!
//! **Rules.** [`effective_rules`] is the config's rules in order followed by runc's default rules
//! (runc `libcontainer/specconv` `AllowedDevices`, appended after the user's rules there too, so a
//! config cannot take them away): mknod of any char and block device (`c *:* m`, `b *:* m`), then
//! `c 1:3` null, `c 1:8` random, `c 1:7` full, `c 5:0` tty, `c 1:5` zero, `c 1:9` urandom,
//! `c 136:*` pts, `c 5:2` ptmx and `c 10:200` net/tun, all `rwm`. (runc has no `c 5:1` console
//! rule.) runc drops a default whose node path also appears in `linux.devices`; hull keeps every
//! default, so such a node stays usable. When the config has no rules the list starts with `a *:*
//! rwm` denied, so an empty allowlist still confines the container. A rule's absent `type` means
//! `a`, absent `major`/`minor` (or `-1`, which Go tools write) mean `*`, absent `access` means
//! `rwm`; `u` and `p` are refused for cgroups as runc refuses them, as are empty access strings and
//! letters other than `r`, `w`, `m`.
//!
//! **Semantics** (the kernel's `security/device_cgroup.c`, which runc's emulator in
//! `opencontainers/cgroups/devices/devices_emulator.go` reproduces). Rules apply in order to a
//! table that starts denying everything: an `a` rule (whatever its numbers and access) resets the
//! table to allow-all (allowed) or deny-all (denied) with no exceptions. Any other rule either adds
//! its access to the exception with exactly the same type/major/minor (when its verdict differs
//! from the default) or removes its access from that exact exception (when it agrees with the
//! default). A default-deny table allows an access when one exception covers all of it; a
//! default-allow table denies an access when any exception shares a bit with it. Removing access
//! from an exact exception leaves a wildcard exception that overlaps it untouched (the kernel
//! silently keeps e.g. `c *:* rwm` allowed after `deny c 1:5`): like runc, [`effective_rules`]
//! refuses such a rule instead of letting the config look stricter than it is.
//!
//! **v1.** [`v1_writes`] is `a` written to `devices.deny` (the reset) followed by every rule in
//! order, which leaves the kernel's table exactly as [`table`] computes it (runc writes a minimal
//! transition instead; a re-apply through [`apply_v1`] briefly denies everything).
//!
//! **v2.** [`bpf_program`] compiles the same table (not the raw list), as runc's `devicefilter.go`
//! does: every exception becomes one block returning the non-default verdict when it matches,
//! the program ends returning the default. All exceptions share one verdict, so their order does
//! not matter (runc before 1.0.0 walked the raw rules in reverse, the first match deciding; since
//! 1.0.0 it walks the emulated table in order). One deliberate fix over runc: in a default-allow
//! table runc's blocks deny only when the request lies inside the exception's access, so an
//! `O_RDWR` open of a device denied only for `w` passes; hull denies on any shared bit, as v1
//! does (checked against the kernel by `tests/devices_cgroup.rs`). Major and minor are compared
//! with 32-bit jumps so numbers above `i32::MAX` work. [`load_and_attach`] loads it named
//! [`PROG_NAME`] and attaches it with `BPF_F_ALLOW_MULTI`; a program of that name already attached
//! directly to the directory (an earlier `create` or `update`) is replaced atomically with
//! `BPF_F_REPLACE` when it is the only one, otherwise detached after the new one is in place (both
//! run in between, which is only stricter). Other programs are left alone.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Context, Error, Result};

/// A set of the access letters `r`, `w`, `m`, stored with the kernel's BPF bits
/// (`BPF_DEVCG_ACC_MKNOD` 1, `READ` 2, `WRITE` 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    /// `m`.
    pub const MKNOD: Access = Access(1);
    /// `r`.
    pub const READ: Access = Access(2);
    /// `w`.
    pub const WRITE: Access = Access(4);
    /// `rwm`.
    pub const ALL: Access = Access(7);
    /// Nothing.
    pub const NONE: Access = Access(0);

    /// The BPF bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// From BPF bits (bits above `rwm` are dropped).
    pub fn from_bits(bits: u8) -> Access {
        Access(bits & 7)
    }

    /// Parse letters of `rwm` in any order (repeats allowed); `None` on an empty string or
    /// another letter.
    pub fn parse(s: &str) -> Option<Access> {
        if s.is_empty() {
            return None;
        }
        let mut a = 0;
        for c in s.chars() {
            a |= match c {
                'r' => Self::READ.0,
                'w' => Self::WRITE.0,
                'm' => Self::MKNOD.0,
                _ => return None,
            };
        }
        Some(Access(a))
    }

    /// True when no letter is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Every letter of `other` is in `self`.
    pub fn contains(self, other: Access) -> bool {
        other.0 & !self.0 == 0
    }

    /// Letters in both.
    pub fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }

    fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    fn minus(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (bit, c) in [(Self::READ, 'r'), (Self::WRITE, 'w'), (Self::MKNOD, 'm')] {
            if self.contains(bit) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// The device type a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `a`: every device; as a rule it resets the whole table.
    All,
    /// `c`.
    Char,
    /// `b`.
    Block,
}

impl Kind {
    /// The letter of the cgroup v1 files.
    pub fn letter(self) -> char {
        match self {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        }
    }

    /// `BPF_DEVCG_DEV_*` (0 for `All`, which never reaches a program).
    pub fn bpf_type(self) -> u32 {
        match self {
            Kind::All => 0,
            Kind::Block => 1,
            Kind::Char => 2,
        }
    }
}

/// One entry of the allowlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Allow (`devices.allow`) or deny (`devices.deny`).
    pub allow: bool,
    /// Device type.
    pub kind: Kind,
    /// Major number; `None` is `*`.
    pub major: Option<i64>,
    /// Minor number; `None` is `*`.
    pub minor: Option<i64>,
    /// Access letters.
    pub access: Access,
}

fn num(v: Option<i64>) -> String {
    v.map_or_else(|| "*".to_string(), |n| n.to_string())
}

impl Rule {
    /// Allow `rwm` (or the given access) of one char device.
    const fn chr(major: Option<i64>, minor: Option<i64>, access: Access) -> Rule {
        Rule {
            allow: true,
            kind: Kind::Char,
            major,
            minor,
            access,
        }
    }

    /// The whole-table reset `a *:* rwm`, allowed or denied.
    pub const fn all(allow: bool) -> Rule {
        Rule {
            allow,
            kind: Kind::All,
            major: None,
            minor: None,
            access: Access::ALL,
        }
    }

    /// Parse entry `index` of `linux.resources.devices`; errors name the field.
    pub fn from_spec(index: usize, d: &LinuxDeviceCgroup) -> Result<Rule> {
        let field = |f: &str| format!("linux.resources.devices[{index}].{f}");
        let kind = match d.typ() {
            None | Some(LinuxDeviceType::A) => Kind::All,
            Some(LinuxDeviceType::C) => Kind::Char,
            Some(LinuxDeviceType::B) => Kind::Block,
            Some(t) => {
                return Err(Error::invalid(format!(
                    "{}: {:?} is not a cgroup device type (expected a, b or c)",
                    field("type"),
                    t.as_str()
                )))
            }
        };
        let number = |v: Option<i64>, name: &str| -> Result<Option<i64>> {
            match v {
                None | Some(-1) => Ok(None),
                Some(n) if (0..i64::from(u32::MAX)).contains(&n) => Ok(Some(n)),
                Some(n) => Err(Error::invalid(format!(
                    "{}: {n} is out of range (0 to {}, or -1 for any)",
                    field(name),
                    u32::MAX - 1
                ))),
            }
        };
        let access = match d.access().as_deref() {
            None => Access::ALL,
            Some(s) => Access::parse(s).ok_or_else(|| {
                Error::invalid(format!(
                    "{}: {s:?} is not a non-empty combination of r, w and m",
                    field("access")
                ))
            })?,
        };
        Ok(Rule {
            allow: d.allow(),
            kind,
            major: number(d.major(), "major")?,
            minor: number(d.minor(), "minor")?,
            access,
        })
    }

    /// The line for `devices.allow`/`devices.deny`: `c 1:3 rwm`, or `a` for a reset.
    pub fn v1_line(&self) -> String {
        match self.kind {
            Kind::All => "a".to_string(),
            k => format!(
                "{} {}:{} {}",
                k.letter(),
                num(self.major),
                num(self.minor),
                self.access
            ),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.allow { "allow" } else { "deny" };
        match self.kind {
            Kind::All => write!(f, "{verdict} a *:* rwm"),
            _ => write!(f, "{verdict} {}", self.v1_line()),
        }
    }
}

/// runc's default rules (`AllowedDevices`), in runc's order.
pub fn default_rules() -> Vec<Rule> {
    let rwm = Access::ALL;
    vec![
        Rule::chr(None, None, Access::MKNOD),
        Rule {
            kind: Kind::Block,
            ..Rule::chr(None, None, Access::MKNOD)
        },
        Rule::chr(Some(1), Some(3), rwm),    // /dev/null
        Rule::chr(Some(1), Some(8), rwm),    // /dev/random
        Rule::chr(Some(1), Some(7), rwm),    // /dev/full
        Rule::chr(Some(5), Some(0), rwm),    // /dev/tty
        Rule::chr(Some(1), Some(5), rwm),    // /dev/zero
        Rule::chr(Some(1), Some(9), rwm),    // /dev/urandom
        Rule::chr(Some(136), None, rwm),     // /dev/pts/*
        Rule::chr(Some(5), Some(2), rwm),    // /dev/ptmx
        Rule::chr(Some(10), Some(200), rwm), // /dev/net/tun
    ]
}

/// The config's rules (validated), a deny-all first when there are none, then runc's defaults.
/// Refuses a rule the kernel would silently ignore (see the module doc).
pub fn effective_rules(config: Option<&[LinuxDeviceCgroup]>) -> Result<Vec<Rule>> {
    let config = config.unwrap_or(&[]);
    let mut rules = config
        .iter()
        .enumerate()
        .map(|(i, d)| Rule::from_spec(i, d))
        .collect::<Result<Vec<_>>>()?;
    let user = rules.len();
    if rules.is_empty() {
        rules.push(Rule::all(false));
    }
    rules.extend(default_rules());
    if let Err((i, msg)) = fold(&rules, true) {
        return Err(Error::invalid(if i < user {
            format!("linux.resources.devices[{i}]: {msg}")
        } else {
            format!("linux.resources.devices: runc's default rule {msg}")
        }));
    }
    Ok(rules)
}

/// One exception of a devices table (never of kind `All`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    /// `Char` or `Block`.
    pub kind: Kind,
    /// `None` is `*`.
    pub major: Option<u32>,
    /// `None` is `*`.
    pub minor: Option<u32>,
    /// Access letters (never empty).
    pub access: Access,
}

/// The state a rule list leaves a devices cgroup in: what the kernel keeps for v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The verdict when no exception applies.
    pub default_allow: bool,
    /// Exceptions in the kernel's list order (insertion order).
    pub exceptions: Vec<Exception>,
}

impl Table {
    /// Whether an access of `access` to device `kind major:minor` is allowed (the kernel's
    /// `devcgroup_legacy_check_permission`).
    pub fn allows(&self, kind: Kind, major: u32, minor: u32, access: Access) -> bool {
        let hits = |e: &&Exception| {
            e.kind == kind
                && e.major.is_none_or(|m| m == major)
                && e.minor.is_none_or(|m| m == minor)
        };
        if self.default_allow {
            !self
                .exceptions
                .iter()
                .filter(hits)
                .any(|e| e.access.intersects(access))
        } else {
            self.exceptions
                .iter()
                .filter(hits)
                .any(|e| e.access.contains(access))
        }
    }

    /// What `devices.list` shows for this table: `a *:* rwm` when allowing by default (the
    /// kernel does not list deny exceptions), the exceptions otherwise.
    pub fn list_lines(&self) -> Vec<String> {
        if self.default_allow {
            return vec!["a *:* rwm".to_string()];
        }
        self.exceptions
            .iter()
            .map(|e| {
                let n = |v: Option<u32>| v.map_or_else(|| "*".to_string(), |n| n.to_string());
                format!(
                    "{} {}:{} {}",
                    e.kind.letter(),
                    n(e.major),
                    n(e.minor),
                    e.access
                )
            })
            .collect()
    }
}

/// The table `rules` leave a deny-all devices cgroup in (kernel semantics; never fails).
pub fn table(rules: &[Rule]) -> Table {
    match fold(rules, false) {
        Ok(t) => t,
        Err(_) => unreachable!("a non-strict fold never fails"),
    }
}

fn fold(rules: &[Rule], strict: bool) -> std::result::Result<Table, (usize, String)> {
    let mut t = Table {
        default_allow: false,
        exceptions: Vec::new(),
    };
    // Numbers out of u32 range cannot come from `Rule::from_spec`; a hand-built one is
    // clamped to the kernel's wildcard (~0), as the kernel would read it.
    let n = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok().filter(|&n| n != u32::MAX));
    for (i, r) in rules.iter().enumerate() {
        if r.kind == Kind::All {
            t = Table {
                default_allow: r.allow,
                exceptions: Vec::new(),
            };
            continue;
        }
        let ex = Exception {
            kind: r.kind,
            major: n(r.major),
            minor: n(r.minor),
            access: r.access,
        };
        let same = |e: &Exception| e.kind == ex.kind && e.major == ex.major && e.minor == ex.minor;
        if r.allow != t.default_allow {
            // dev_exception_add: merge into an identical exception or append.
            match t.exceptions.iter_mut().find(|e| same(e)) {
                Some(e) => e.access = e.access.union(ex.access),
                None if !ex.access.is_empty() => t.exceptions.push(ex),
                None => {}
            }
        } else {
            // dev_exception_rm: only the identical exception loses the access.
            if strict {
                let wider = t.exceptions.iter().find(|e| {
                    !same(e)
                        && e.kind == ex.kind
                        && (e.major.is_none() || e.major == ex.major)
                        && (e.minor.is_none() || e.minor == ex.minor)
                        && e.access.intersects(ex.access)
                });
                if let Some(w) = wider {
                    let w = Rule {
                        allow: !r.allow,
                        kind: w.kind,
                        major: w.major.map(i64::from),
                        minor: w.minor.map(i64::from),
                        access: w.access,
                    };
                    return Err((
                        i,
                        format!(
                            "{r} cannot take access out of the wider rule {w} before it \
                             (the devices cgroup would ignore it; runc refuses it too)"
                        ),
                    ));
                }
            }
            t.exceptions.retain_mut(|e| {
                if same(e) {
                    e.access = e.access.minus(ex.access);
                }
                !e.access.is_empty()
            });
        }
    }
    Ok(t)
}

/// The `(file, line)` writes that put a v1 devices cgroup in the state of `rules`: the reset
/// `a` to `devices.deny`, then every rule in order.
pub fn v1_writes(rules: &[Rule]) -> Vec<(&'static str, String)> {
    std::iter::once(("devices.deny", "a".to_string()))
        .chain(rules.iter().map(|r| {
            let file = if r.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            (file, r.v1_line())
        }))
        .collect()
}

/// Apply `rules` to the v1 devices cgroup `dir` (one `write` per line).
pub fn apply_v1(dir: &Path, rules: &[Rule]) -> Result<()> {
    for (file, line) in v1_writes(rules) {
        let path = dir.join(file);
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .with_context(|| format!("write {line:?} to {}", path.display()))?;
    }
    Ok(())
}

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode.
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high one.
    pub regs: u8,
    /// Jump or memory offset.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

/// eBPF opcodes hull emits (class | op | source).
pub mod op {
    /// `dst = *(u32 *)(src + off)`.
    pub const LDX_W: u8 = 0x01 | 0x60;
    /// `dst32 &= imm`.
    pub const AND32_K: u8 = 0x04 | 0x50;
    /// `dst32 >>= imm`.
    pub const RSH32_K: u8 = 0x04 | 0x70;
    /// `dst32 = src32`.
    pub const MOV32_X: u8 = 0x04 | 0xb0 | 0x08;
    /// `dst32 = imm`.
    pub const MOV32_K: u8 = 0x04 | 0xb0;
    /// `if dst32 == imm goto +off`.
    pub const JEQ32_K: u8 = 0x06 | 0x10;
    /// `if dst32 != imm goto +off`.
    pub const JNE32_K: u8 = 0x06 | 0x50;
    /// `if dst32 & imm goto +off`.
    pub const JSET32_K: u8 = 0x06 | 0x40;
    /// `return r0`.
    pub const EXIT: u8 = 0x05 | 0x90;
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    BpfInsn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// Compile `rules` (applied to a deny-all start, as [`table`]) into a
/// `BPF_PROG_TYPE_CGROUP_DEVICE` program: r1 is `struct bpf_cgroup_dev_ctx { u32 access_type;
/// u32 major; u32 minor; }`, `access_type` is `access << 16 | type`; it returns 1 to allow.
pub fn bpf_program(rules: &[Rule]) -> Vec<BpfInsn> {
    let t = table(rules);
    let (r0, r1, r2, r3, r4, r5) = (0, 1, 2, 3, 4, 5);
    let mut p = vec![
        insn(op::LDX_W, r2, r1, 0, 0),
        insn(op::AND32_K, r2, 0, 0, 0xffff),
        insn(op::LDX_W, r3, r1, 0, 0),
        insn(op::RSH32_K, r3, 0, 0, 16),
        insn(op::LDX_W, r4, r1, 4, 0),
        insn(op::LDX_W, r5, r1, 8, 0),
    ];
    let verdict = |allow: bool| i32::from(allow);
    for e in &t.exceptions {
        // Every jump of a block goes to the next block: offsets patched once its end is known.
        let mut jumps = vec![p.len()];
        p.push(insn(op::JNE32_K, r2, 0, 0, e.kind.bpf_type() as i32));
        if t.default_allow {
            // Deny when the request shares a bit with the exception.
            p.push(insn(op::MOV32_X, r1, r3, 0, 0));
            p.push(insn(op::AND32_K, r1, 0, 0, i32::from(e.access.bits())));
            jumps.push(p.len());
            p.push(insn(op::JEQ32_K, r1, 0, 0, 0));
        } else {
            // Allow only when the request lies inside the exception.
            let outside = 0xffff & !i32::from(e.access.bits());
            jumps.push(p.len());
            p.push(insn(op::JSET32_K, r3, 0, 0, outside));
        }
        for (reg, n) in [(r4, e.major), (r5, e.minor)] {
            if let Some(n) = n {
                jumps.push(p.len());
                p.push(insn(op::JNE32_K, reg, 0, 0, n as i32));
            }
        }
        p.push(insn(op::MOV32_K, r0, 0, 0, verdict(!t.default_allow)));
        p.push(insn(op::EXIT, 0, 0, 0, 0));
        let next = p.len();
        for pc in jumps {
            p[pc].off = (next - pc - 1) as i16;
        }
    }
    p.push(insn(op::MOV32_K, r0, 0, 0, verdict(t.default_allow)));
    p.push(insn(op::EXIT, 0, 0, 0, 0));
    p
}

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

    fn spec(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    fn rule(s: &str) -> Rule {
        // "allow c 1:3 rwm" / "deny a"
        let f: Vec<&str> = s.split_whitespace().collect();
        let allow = f[0] == "allow";
        let kind = match f[1] {
            "a" => return Rule::all(allow),
            "c" => Kind::Char,
            "b" => Kind::Block,
            k => panic!("{k}"),
        };
        let (ma, mi) = f[2].split_once(':').unwrap();
        let n = |s: &str| (s != "*").then(|| s.parse().unwrap());
        Rule {
            allow,
            kind,
            major: n(ma),
            minor: n(mi),
            access: Access::parse(f[3]).unwrap(),
        }
    }

    #[test]
    fn access_parses_and_prints_in_rwm_order() {
        assert_eq!(Access::parse("mwr"), Some(Access::ALL));
        assert_eq!(Access::parse("rr"), Some(Access::READ));
        assert_eq!(Access::parse(""), None);
        assert_eq!(Access::parse("rx"), None);
        assert_eq!(Access::parse("mr").unwrap().to_string(), "rm");
        assert_eq!(Access::ALL.to_string(), "rwm");
    }

    #[test]
    fn parse_defaults_and_fields() {
        let r = spec(
            r#"[{"allow":false},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
                        {"allow":true,"type":"b","major":-1,"access":"m"}]"#,
        );
        let rules: Vec<Rule> = r
            .iter()
            .enumerate()
            .map(|(i, d)| Rule::from_spec(i, d).unwrap())
            .collect();
        assert_eq!(rules[0], Rule::all(false));
        assert_eq!(rules[1], rule("allow c 1:3 rw"));
        assert_eq!(rules[2], rule("allow b *:* m"));
        assert_eq!(rules[1].v1_line(), "c 1:3 rw");
        assert_eq!(rules[0].v1_line(), "a");
        assert_eq!(rules[2].to_string(), "allow b *:* m");
    }

    #[test]
    fn parse_errors_name_the_field() {
        let e = |json: &str| effective_rules(Some(&spec(json))).unwrap_err().render();
        let m = e(r#"[{"allow":true},{"allow":true,"type":"c","access":"rwx"}]"#);
        assert!(
            m.starts_with("linux.resources.devices[1].access: \"rwx\""),
            "{m}"
        );
        let m = e(r#"[{"allow":true,"type":"c","access":""}]"#);
        assert!(m.starts_with("linux.resources.devices[0].access:"), "{m}");
        let m = e(r#"[{"allow":true,"type":"p"}]"#);
        assert!(
            m.starts_with("linux.resources.devices[0].type: \"p\""),
            "{m}"
        );
        let m = e(r#"[{"allow":true,"type":"u"}]"#);
        assert!(m.starts_with("linux.resources.devices[0].type:"), "{m}");
        let m = e(r#"[{"allow":true,"type":"c","major":-2}]"#);
        assert!(m.starts_with("linux.resources.devices[0].major: -2"), "{m}");
        let m = e(r#"[{"allow":true,"type":"c","minor":4294967295}]"#);
        assert!(m.starts_with("linux.resources.devices[0].minor:"), "{m}");
    }

    #[test]
    fn effective_rules_appends_runc_defaults() {
        let defaults: Vec<String> = default_rules().iter().map(|r| r.to_string()).collect();
        assert_eq!(
            defaults,
            [
                "allow c *:* m",
                "allow b *:* m",
                "allow c 1:3 rwm",
                "allow c 1:8 rwm",
                "allow c 1:7 rwm",
                "allow c 5:0 rwm",
                "allow c 1:5 rwm",
                "allow c 1:9 rwm",
                "allow c 136:* rwm",
                "allow c 5:2 rwm",
                "allow c 10:200 rwm",
            ]
        );
        // No rules: deny-all first.
        for cfg in [None, Some(&[][..])] {
            let r = effective_rules(cfg).unwrap();
            assert_eq!(r[0], Rule::all(false));
            assert_eq!(r[1..], default_rules()[..]);
        }
        // Rules: exactly those, then the defaults.
        let cfg = spec(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":4,"minor":1,"access":"r"}]"#,
        );
        let r = effective_rules(Some(&cfg)).unwrap();
        assert_eq!(r[..2], [Rule::all(false), rule("allow c 4:1 r")]);
        assert_eq!(r[2..], default_rules()[..]);
        let t = table(&r);
        assert!(!t.default_allow);
        assert!(t.allows(Kind::Char, 4, 1, Access::READ));
        assert!(!t.allows(Kind::Char, 4, 1, Access::WRITE));
        assert!(t.allows(Kind::Block, 8, 0, Access::MKNOD));
        assert!(!t.allows(Kind::Block, 8, 0, Access::READ));
        // A config without a leading wildcard still starts from deny-all.
        let cfg = spec(r#"[{"allow":true,"type":"c","major":4,"minor":1,"access":"r"}]"#);
        let t = table(&effective_rules(Some(&cfg)).unwrap());
        assert!(!t.allows(Kind::Char, 4, 2, Access::READ));
        // Allow-all (privileged) stays allow-all.
        let t = table(&effective_rules(Some(&spec(r#"[{"allow":true}]"#))).unwrap());
        assert!(t.default_allow && t.exceptions.is_empty());
    }

    #[test]
    fn effective_rules_refuses_holes_in_wildcards() {
        let cfg = spec(
            r#"[{"allow":false},{"allow":true,"type":"c","access":"rwm"},
               {"allow":false,"type":"c","major":1,"minor":5,"access":"w"}]"#,
        );
        let m = effective_rules(Some(&cfg)).unwrap_err().render();
        assert!(
            m.starts_with("linux.resources.devices[2]: deny c 1:5 w cannot take access out of the wider rule allow c *:* rwm"),
            "{m}"
        );
        // Removing the exact rule, or access the wildcard lacks, is fine.
        let cfg = spec(
            r#"[{"allow":false},{"allow":true,"type":"c","access":"m"},
               {"allow":true,"type":"c","major":1,"minor":5,"access":"rw"},
               {"allow":false,"type":"c","major":1,"minor":5,"access":"w"}]"#,
        );
        assert!(effective_rules(Some(&cfg)).is_ok());
        // In a default-allow table, a default allow may punch into a user's deny wildcard.
        let cfg = spec(r#"[{"allow":true},{"allow":false,"type":"c","access":"rw"}]"#);
        let m = effective_rules(Some(&cfg)).unwrap_err().render();
        assert!(
            m.starts_with("linux.resources.devices: runc's default rule allow c 1:3 rwm"),
            "{m}"
        );
    }

    #[test]
    fn table_merges_and_removes_exact_exceptions() {
        let t = table(&[
            Rule::all(false),
            rule("allow c 1:3 r"),
            rule("allow c 1:3 w"),
            rule("allow c 4:* rwm"),
            rule("deny c 4:* w"),
            rule("allow b 8:0 r"),
            rule("deny b 8:0 r"),
            rule("deny c 9:9 rwm"),
        ]);
        assert_eq!(t.list_lines(), ["c 1:3 rw", "c 4:* rm"]);
        let t = table(&[rule("allow a"), rule("deny c 1:5 w")]);
        assert_eq!(t.list_lines(), ["a *:* rwm"]);
        assert!(t.default_allow);
        assert!(!t.allows(Kind::Char, 1, 5, Access::READ.union(Access::WRITE)));
        assert!(t.allows(Kind::Char, 1, 5, Access::READ));
    }

    #[test]
    fn v1_writes_reset_then_every_rule() {
        let w = v1_writes(&[
            rule("allow c 1:3 rwm"),
            rule("deny b 8:* w"),
            Rule::all(true),
        ]);
        let w: Vec<(&str, &str)> = w.iter().map(|(f, l)| (*f, l.as_str())).collect();
        assert_eq!(
            w,
            [
                ("devices.deny", "a"),
                ("devices.allow", "c 1:3 rwm"),
                ("devices.deny", "b 8:* w"),
                ("devices.allow", "a"),
            ]
        );
    }

    // ---- An eBPF interpreter for the instructions hull emits. ----

    fn run(prog: &[BpfInsn], kind: Kind, major: u32, minor: u32, access: u8) -> u64 {
        let ctx = [(u32::from(access) << 16) | kind.bpf_type(), major, minor];
        let mut reg = [0u64; 11];
        let mut ctx_in_r1 = true;
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "runaway program");
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            let imm32 = i.imm as u32;
            let mut jump = |cond: bool| {
                if cond {
                    let t = pc as i64 + 1 + i64::from(i.off);
                    assert!(t >= 0 && (t as usize) < prog.len(), "jump out of program");
                    pc = t as usize;
                } else {
                    pc += 1;
                }
            };
            match i.code {
                op::LDX_W => {
                    assert!(src == 1 && ctx_in_r1, "load from non-ctx");
                    assert!(i.off % 4 == 0 && (0..12).contains(&i.off));
                    reg[dst] = u64::from(ctx[i.off as usize / 4]);
                    pc += 1;
                }
                op::AND32_K => {
                    reg[dst] = u64::from(reg[dst] as u32 & imm32);
                    pc += 1;
                }
                op::RSH32_K => {
                    reg[dst] = u64::from((reg[dst] as u32) >> imm32);
                    pc += 1;
                }
                op::MOV32_X => {
                    reg[dst] = u64::from(reg[src] as u32);
                    pc += 1;
                }
                op::MOV32_K => {
                    reg[dst] = u64::from(imm32);
                    pc += 1;
                }
                op::JEQ32_K => jump(reg[dst] as u32 == imm32),
                op::JNE32_K => jump(reg[dst] as u32 != imm32),
                op::JSET32_K => jump(reg[dst] as u32 & imm32 != 0),
                op::EXIT => return reg[0],
                c => panic!("unknown opcode {c:#x} at {pc}"),
            }
            if dst == 1
                && i.code != op::EXIT
                && !matches!(i.code, op::JEQ32_K | op::JNE32_K | op::JSET32_K)
            {
                ctx_in_r1 = false;
            }
        }
    }

    /// The kernel's v1 devices cgroup, fed the lines of `v1_writes` (parsed back from text).
    struct KernelModel {
        allow_default: bool,
        // (type, major, minor, access); u32::MAX is the wildcard, as in the kernel.
        ex: Vec<(char, u32, u32, u8)>,
    }

    impl KernelModel {
        fn new() -> Self {
            // A new v1 cgroup under the root allows everything.
            KernelModel {
                allow_default: true,
                ex: vec![],
            }
        }

        fn write(&mut self, file: &str, line: &str) {
            let allow = match file {
                "devices.allow" => true,
                "devices.deny" => false,
                f => panic!("{f}"),
            };
            if line.starts_with('a') {
                self.allow_default = allow;
                self.ex.clear();
                return;
            }
            let f: Vec<&str> = line.split([' ', ':']).collect();
            let n = |s: &str| {
                if s == "*" {
                    u32::MAX
                } else {
                    s.parse().unwrap()
                }
            };
            let mut acc = 0u8;
            for c in f[3].chars() {
                acc |= match c {
                    'r' => 2,
                    'w' => 4,
                    'm' => 1,
                    _ => panic!("{line}"),
                };
            }
            let e = (f[0].chars().next().unwrap(), n(f[1]), n(f[2]), acc);
            if allow != self.allow_default {
                if let Some(x) = self
                    .ex
                    .iter_mut()
                    .find(|x| (x.0, x.1, x.2) == (e.0, e.1, e.2))
                {
                    x.3 |= e.3;
                } else {
                    self.ex.push(e);
                }
            } else {
                for x in &mut self.ex {
                    if (x.0, x.1, x.2) == (e.0, e.1, e.2) {
                        x.3 &= !e.3;
                    }
                }
                self.ex.retain(|x| x.3 != 0);
            }
        }

        fn allows(&self, kind: Kind, major: u32, minor: u32, access: u8) -> bool {
            let hit = |x: &&(char, u32, u32, u8)| {
                x.0 == kind.letter()
                    && (x.1 == u32::MAX || x.1 == major)
                    && (x.2 == u32::MAX || x.2 == minor)
            };
            if self.allow_default {
                !self.ex.iter().filter(hit).any(|x| x.3 & access != 0)
            } else {
                self.ex.iter().filter(hit).any(|x| access & !x.3 == 0)
            }
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    const NUMS: [Option<i64>; 6] = [
        None,
        Some(0),
        Some(1),
        Some(5),
        Some(136),
        Some(3_000_000_000),
    ];
    const PROBE: [u32; 6] = [0, 1, 2, 5, 136, 3_000_000_000];

    fn random_rules(rng: &mut Rng) -> Vec<Rule> {
        let len = rng.next() % 9;
        (0..len)
            .map(|_| {
                let allow = rng.next() % 2 == 0;
                // Resets (kind All) one time in ten, so that tables get long.
                let kind = rng.pick(&[Kind::All, Kind::Char, Kind::Char, Kind::Char, Kind::Char]);
                let kind = match kind {
                    Kind::All if rng.next() % 2 == 0 => Kind::Block,
                    k => k,
                };
                Rule {
                    allow,
                    kind,
                    major: rng.pick(&NUMS),
                    minor: rng.pick(&NUMS),
                    access: Access::from_bits(1 + (rng.next() % 7) as u8),
                }
            })
            .collect()
    }

    /// The differential check: the compiled program, the table, and a model of the kernel's
    /// v1 cgroup fed `v1_writes` agree on every probe.
    #[test]
    fn bpf_program_equals_v1_semantics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut cases = 0;
        for round in 0..3000 {
            let mut rules = random_rules(&mut rng);
            if round % 4 == 0 {
                rules.extend(default_rules());
            }
            let prog = bpf_program(&rules);
            let t = table(&rules);
            let mut k = KernelModel::new();
            for (f, l) in v1_writes(&rules) {
                k.write(f, &l);
            }
            for kind in [Kind::Char, Kind::Block] {
                for &ma in &PROBE {
                    for &mi in &PROBE {
                        for acc in 1..=7u8 {
                            let want = k.allows(kind, ma, mi, acc);
                            let got = run(&prog, kind, ma, mi, acc);
                            assert_eq!(
                                got,
                                u64::from(want),
                                "rules {rules:?} probe {kind:?} {ma}:{mi} access {acc}"
                            );
                            assert_eq!(t.allows(kind, ma, mi, Access::from_bits(acc)), want);
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert!(cases > 1_000_000);
    }

    #[test]
    fn bpf_program_shape() {
        // Deny-all: the prologue and "return 0".
        let p = bpf_program(&[Rule::all(false)]);
        assert_eq!(p.len(), 8);
        assert_eq!(p[6], insn(op::MOV32_K, 0, 0, 0, 0));
        assert_eq!(p[7].code, op::EXIT);
        // Allow-all: "return 1".
        let p = bpf_program(&[Rule::all(true)]);
        assert_eq!(p[6], insn(op::MOV32_K, 0, 0, 0, 1));
        // One rwm exception: type, access, major, minor, then allow.
        let p = bpf_program(&[rule("allow c 1:3 rwm")]);
        assert_eq!(
            p[6..],
            [
                insn(op::JNE32_K, 2, 0, 5, 2),
                insn(op::JSET32_K, 3, 0, 4, 0xfff8),
                insn(op::JNE32_K, 4, 0, 3, 1),
                insn(op::JNE32_K, 5, 0, 2, 3),
                insn(op::MOV32_K, 0, 0, 0, 1),
                insn(op::EXIT, 0, 0, 0, 0),
                insn(op::MOV32_K, 0, 0, 0, 0),
                insn(op::EXIT, 0, 0, 0, 0),
            ]
        );
        assert_eq!(std::mem::size_of::<BpfInsn>(), 8);
        // Big numbers survive as 32-bit immediates.
        let p = bpf_program(&[rule("allow c 3000000000:* r")]);
        assert!(run(&p, Kind::Char, 3_000_000_000, 7, 2) == 1);
        assert!(run(&p, Kind::Char, 3_000_000_001, 7, 2) == 0);
    }

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
