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
//! **v2.** `program.rs` compiles the same [`table`] into a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program ([`bpf_program`]) and `bpf.rs` loads it and attaches it to the container's cgroup2
//! directory ([`load_and_attach`]); their module docs give the details.
//!
//! This file owns the rules, their semantics and the v1 writes. It builds no eBPF instruction and
//! makes no bpf(2) call: those are `program.rs` and `bpf.rs`, whose public items are re-exported
//! here so that callers keep one path, `cgroups::devices::...`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Context, Error, Result};

mod bpf;
mod program;

pub use bpf::{attached_programs, load_and_attach, load_program, PROG_NAME};
pub use program::{bpf_program, op, BpfInsn};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    pub(super) fn rule(s: &str) -> Rule {
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
}
