//! Unit properties, runc's translation: the ones every container unit gets (slice, delegation,
//! accounting, no default dependencies, its first process), `linux.resources` as the cgroup v2
//! properties systemd has (MemoryMax/Low/SwapMax, CPUWeight, CPUQuotaPerSecUSec +
//! CPUQuotaPeriodUSec, AllowedCPUs, AllowedMemoryNodes, TasksMax, IOWeight, IO*Max,
//! DevicePolicy + DeviceAllow, and the `unified` keys systemd knows), and the config's
//! `org.systemd.property.NAME` annotations (`annotation.rs`). What systemd has no property for
//! is written to the cgroup files afterwards, as runc does (`v2::apply`, which writes every
//! value again: systemd rounds some of them).

use oci_spec::runtime::LinuxResources;

use super::unit::Unit;
use crate::cgroups::convert::{blkio_weight_to_io_weight, shares_to_weight, swap_to_v2};
use crate::cgroups::devices::{self, Kind};
use crate::error::{Error, Result};

/// systemd's "infinity" for limits and USEC_INFINITY.
pub const INFINITY: u64 = u64::MAX;
/// The default CFS period (µs) when a quota comes without one.
const DEFAULT_PERIOD: u64 = 100_000;

/// A property's D-Bus value (the types unit properties use).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `b`
    Bool(bool),
    /// `y`
    Byte(u8),
    /// `n`
    I16(i16),
    /// `q`
    U16(u16),
    /// `i`
    I32(i32),
    /// `u`
    U32(u32),
    /// `x`
    I64(i64),
    /// `t`
    U64(u64),
    /// `d`
    Double(f64),
    /// `s`
    Str(String),
    /// `as`
    Strs(Vec<String>),
    /// `ay` (AllowedCPUs, AllowedMemoryNodes: a bitmask, CPU 0 the low bit of byte 0)
    Bytes(Vec<u8>),
    /// `au` (PIDs)
    U32s(Vec<u32>),
    /// `a(ss)` (DeviceAllow: device, access)
    PairsSS(Vec<(String, String)>),
    /// `a(st)` (IO*Max: device, limit)
    PairsST(Vec<(String, u64)>),
}

/// One unit property.
pub type Property = (String, Value);

fn prop(name: &str, v: Value) -> Property {
    (name.to_string(), v)
}

/// The unit's description.
pub fn description(id: &str) -> Property {
    prop("Description", Value::Str(format!("hull container {id}")))
}

/// What every container unit gets: runc's set, with `pid` as the first process of a scope.
pub fn base(unit: &Unit, pid: Option<u32>) -> Vec<Property> {
    let mut p = Vec::new();
    if unit.is_slice() {
        p.push(prop("Wants", Value::Strs(vec![unit.slice.clone()])));
    } else {
        p.push(prop("Slice", Value::Str(unit.slice.clone())));
        p.push(prop("Delegate", Value::Bool(true)));
    }
    if let Some(pid) = pid {
        p.push(prop("PIDs", Value::U32s(vec![pid])));
    }
    for a in [
        "MemoryAccounting",
        "CPUAccounting",
        "IOAccounting",
        "TasksAccounting",
    ] {
        p.push(prop(a, Value::Bool(true)));
    }
    p.push(prop("DefaultDependencies", Value::Bool(false)));
    p
}

/// `linux.resources` as unit properties (cgroup v2 names).
pub fn resources(r: &LinuxResources) -> Result<Vec<Property>> {
    let mut p = Vec::new();
    if let Some(m) = r.memory() {
        let limit = m.limit().unwrap_or(0);
        if limit != 0 {
            p.push(prop("MemoryMax", Value::U64(limit_value(limit))));
        }
        if let Some(low) = m.reservation().filter(|v| *v != 0) {
            p.push(prop("MemoryLow", Value::U64(limit_value(low))));
        }
        let swap = swap_to_v2(m.swap().unwrap_or(0), limit)?;
        if swap != 0 {
            p.push(prop("MemorySwapMax", Value::U64(limit_value(swap))));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(s) = c.shares().filter(|s| *s != 0) {
            p.push(prop("CPUWeight", Value::U64(shares_to_weight(s))));
        }
        cpu_quota(&mut p, c.quota().unwrap_or(0), c.period().unwrap_or(0));
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop(
                "AllowedCPUs",
                Value::Bytes(bitmask(cpus, "linux.resources.cpu.cpus")?),
            ));
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop(
                "AllowedMemoryNodes",
                Value::Bytes(bitmask(mems, "linux.resources.cpu.mems")?),
            ));
        }
    }
    if let Some(pids) = r.pids() {
        let l = pids.limit();
        if l > 0 || l == -1 {
            p.push(prop("TasksMax", Value::U64(limit_value(l))));
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = b.weight().filter(|w| *w != 0) {
            p.push(prop("IOWeight", Value::U64(blkio_weight_to_io_weight(w))));
        }
        let throttles = [
            ("IOReadBandwidthMax", b.throttle_read_bps_device()),
            ("IOWriteBandwidthMax", b.throttle_write_bps_device()),
            ("IOReadIOPSMax", b.throttle_read_iops_device()),
            ("IOWriteIOPSMax", b.throttle_write_iops_device()),
        ];
        for (name, list) in throttles {
            let Some(list) = list.as_ref().filter(|l| !l.is_empty()) else {
                continue;
            };
            let pairs = list
                .iter()
                .map(|d| (format!("/dev/block/{}:{}", d.major(), d.minor()), d.rate()))
                .collect();
            p.push(prop(name, Value::PairsST(pairs)));
        }
    }
    if let Some(u) = r.unified() {
        unified(&mut p, u)?;
    }
    devices_props(&mut p, r)?;
    Ok(p)
}

/// A limit as systemd takes it: negative is infinity.
fn limit_value(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(INFINITY)
}

/// runc's CPUQuotaPerSecUSec: systemd keeps a quota as a percentage of a CPU, so a quota that
/// is not a whole 10 ms per second is rounded up (the exact cpu.max is written afterwards).
fn cpu_quota(p: &mut Vec<Property>, quota: i64, period: u64) {
    if period != 0 {
        p.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    if quota == 0 && period == 0 {
        return;
    }
    let mut per_sec = INFINITY;
    if quota > 0 {
        let period = if period == 0 { DEFAULT_PERIOD } else { period };
        per_sec = (quota as u64).saturating_mul(1_000_000) / period;
        if per_sec % 10_000 != 0 {
            per_sec = (per_sec / 10_000 + 1) * 10_000;
        }
    }
    p.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
}

/// A cpu or memory-node list (`0-3,7`) as systemd's bitmask bytes.
pub fn bitmask(list: &str, field: &str) -> Result<Vec<u8>> {
    let bad = || {
        Error::invalid(format!(
            "{field}: {} is not a list like 0-3,7",
            crate::error::quote(list)
        ))
    };
    let mut bytes: Vec<u8> = Vec::new();
    for part in list.trim().split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        // The kernel's limit on CPUs (NR_CPUS max): no list reaches further.
        if a > b || b >= 8192 {
            return Err(bad());
        }
        for n in a..=b {
            if bytes.len() <= n / 8 {
                bytes.resize(n / 8 + 1, 0);
            }
            bytes[n / 8] |= 1 << (n % 8);
        }
    }
    Ok(bytes)
}

/// The `unified` keys systemd has a property for (runc's `unifiedResToSystemdProps`); others
/// only reach the files.
fn unified(p: &mut Vec<Property>, u: &std::collections::HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        let v = u[k].trim();
        let field = || format!("linux.resources.unified[{}]", crate::error::quote(k));
        let num = |v: &str| -> Result<u64> {
            if v == "max" {
                return Ok(INFINITY);
            }
            v.parse()
                .map_err(|_| Error::invalid(format!("{}: {v:?} is not a number", field())))
        };
        match k.as_str() {
            "cpu.weight" => p.push(prop("CPUWeight", Value::U64(num(v)?))),
            "cpu.max" => {
                let mut it = v.split_whitespace();
                let quota = it.next().unwrap_or("max");
                let period = it.next().map(num).transpose()?.unwrap_or(0);
                let quota = if quota == "max" {
                    -1
                } else {
                    num(quota)? as i64
                };
                cpu_quota(p, quota, period);
            }
            "cpuset.cpus" => p.push(prop("AllowedCPUs", Value::Bytes(bitmask(v, &field())?))),
            "cpuset.mems" => p.push(prop(
                "AllowedMemoryNodes",
                Value::Bytes(bitmask(v, &field())?),
            )),
            "memory.min" => p.push(prop("MemoryMin", Value::U64(num(v)?))),
            "memory.low" => p.push(prop("MemoryLow", Value::U64(num(v)?))),
            "memory.high" => p.push(prop("MemoryHigh", Value::U64(num(v)?))),
            "memory.max" => p.push(prop("MemoryMax", Value::U64(num(v)?))),
            "memory.swap.max" => p.push(prop("MemorySwapMax", Value::U64(num(v)?))),
            "pids.max" => p.push(prop("TasksMax", Value::U64(num(v)?))),
            _ => {}
        }
    }
    Ok(())
}

/// DevicePolicy + DeviceAllow from the rules hull enforces (its own BPF program is attached
/// afterwards too; systemd's must agree, not replace it). systemd can only express an
/// allowlist: when the rules leave everything allowed except some devices, no property is
/// set and hull's program alone enforces them (runc's choice too).
fn devices_props(p: &mut Vec<Property>, r: &LinuxResources) -> Result<()> {
    let Some(list) = r.devices() else {
        return Ok(());
    };
    let rules = devices::effective_rules(Some(list.as_slice()))?;
    let table = devices::table(&rules);
    if table.default_allow {
        return Ok(());
    }
    let mut allow = Vec::new();
    for e in &table.exceptions {
        let class = match e.kind {
            Kind::Char => "char",
            Kind::Block => "block",
            Kind::All => continue,
        };
        let dev = match (e.major, e.minor) {
            (Some(ma), Some(mi)) => format!("/dev/{class}/{ma}:{mi}"),
            // systemd names a whole major by its /proc/devices name; `class-*` is every one.
            (Some(ma), None) => match proc_devices_name(class, ma) {
                Some(name) => format!("{class}-{name}"),
                None => continue,
            },
            (None, _) => format!("{class}-*"),
        };
        allow.push((dev, e.access.to_string()));
    }
    p.push(prop("DevicePolicy", Value::Str("strict".into())));
    p.push(prop("DeviceAllow", Value::PairsSS(allow)));
    Ok(())
}

/// The driver name of `major` in /proc/devices' `class` section ("Character devices:" or
/// "Block devices:").
fn proc_devices_name(class: &str, major: u32) -> Option<String> {
    let text = std::fs::read_to_string("/proc/devices").ok()?;
    name_in_proc_devices(&text, class, major)
}

fn name_in_proc_devices(text: &str, class: &str, major: u32) -> Option<String> {
    let header = if class == "char" {
        "Character devices:"
    } else {
        "Block devices:"
    };
    let mut inside = false;
    for line in text.lines() {
        if line.ends_with("devices:") {
            inside = line == header;
            continue;
        }
        if !inside {
            continue;
        }
        let mut it = line.split_whitespace();
        if it.next().and_then(|n| n.parse::<u32>().ok()) == Some(major) {
            return it.next().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: serde_json::Value) -> LinuxResources {
        serde_json::from_value(json).unwrap()
    }

    fn get<'a>(p: &'a [Property], name: &str) -> Option<&'a Value> {
        p.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn a_scope_is_delegated_in_its_slice_with_its_first_process() {
        let u =
            super::super::unit::parse(Some("machine.slice:libpod:x"), "x", "system.slice").unwrap();
        let p = base(&u, Some(42));
        assert_eq!(get(&p, "Slice"), Some(&Value::Str("machine.slice".into())));
        assert_eq!(get(&p, "Delegate"), Some(&Value::Bool(true)));
        assert_eq!(get(&p, "PIDs"), Some(&Value::U32s(vec![42])));
        assert_eq!(get(&p, "DefaultDependencies"), Some(&Value::Bool(false)));
        assert_eq!(get(&p, "TasksAccounting"), Some(&Value::Bool(true)));
        let s = super::super::unit::parse(Some("a.slice:p:b.slice"), "x", "system.slice").unwrap();
        let p = base(&s, None);
        assert_eq!(get(&p, "Wants"), Some(&Value::Strs(vec!["a.slice".into()])));
        assert!(get(&p, "Delegate").is_none() && get(&p, "PIDs").is_none());
    }

    #[test]
    fn resources_become_runcs_properties() {
        let p = resources(&res(serde_json::json!({
            "memory": {"limit": 1048576, "reservation": 524288, "swap": 3145728},
            "cpu": {"shares": 1024, "quota": 12345, "period": 100000, "cpus": "0-1,3", "mems": "0"},
            "pids": {"limit": 10},
            "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]}
        })))
        .unwrap();
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(1048576)));
        assert_eq!(get(&p, "MemoryLow"), Some(&Value::U64(524288)));
        assert_eq!(get(&p, "MemorySwapMax"), Some(&Value::U64(2097152)));
        assert_eq!(get(&p, "CPUWeight"), Some(&Value::U64(100)));
        assert_eq!(get(&p, "CPUQuotaPeriodUSec"), Some(&Value::U64(100000)));
        // 12345 µs per 100 ms = 123450 µs per s, rounded up to whole 10 ms.
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(130000)));
        assert_eq!(get(&p, "AllowedCPUs"), Some(&Value::Bytes(vec![0b1011])));
        assert_eq!(get(&p, "AllowedMemoryNodes"), Some(&Value::Bytes(vec![1])));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(10)));
        assert_eq!(get(&p, "IOWeight"), Some(&Value::U64(4950)));
        assert_eq!(
            get(&p, "IOReadBandwidthMax"),
            Some(&Value::PairsST(vec![("/dev/block/8:0".into(), 1000)]))
        );
    }

    #[test]
    fn unlimited_values_are_infinity() {
        let p = resources(&res(serde_json::json!({
            "memory": {"limit": -1}, "cpu": {"quota": -1}, "pids": {"limit": -1}
        })))
        .unwrap();
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(INFINITY)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(INFINITY)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(INFINITY)));
        // Unset (0) sets nothing.
        let p = resources(&res(serde_json::json!({"pids": {"limit": 0}, "cpu": {}}))).unwrap();
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn unified_keys_systemd_knows_become_properties() {
        let p = resources(&res(serde_json::json!({"unified": {
            "memory.high": "1000000", "memory.max": "max", "cpu.max": "50000 100000",
            "pids.max": "7", "io.weight": "100"
        }})))
        .unwrap();
        assert_eq!(get(&p, "MemoryHigh"), Some(&Value::U64(1_000_000)));
        assert_eq!(get(&p, "MemoryMax"), Some(&Value::U64(INFINITY)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Value::U64(500_000)));
        assert_eq!(get(&p, "TasksMax"), Some(&Value::U64(7)));
        assert!(get(&p, "IOWeight").is_none());
        let e = resources(&res(
            serde_json::json!({"unified": {"memory.high": "lots"}}),
        ))
        .unwrap_err()
        .render();
        assert!(
            e.contains("linux.resources.unified[\"memory.high\"]"),
            "{e}"
        );
    }

    #[test]
    fn bitmasks_are_little_endian_bits() {
        assert_eq!(bitmask("0", "f").unwrap(), vec![1]);
        assert_eq!(bitmask("8-9", "f").unwrap(), vec![0, 3]);
        assert_eq!(bitmask("0,2,15", "f").unwrap(), vec![0b101, 0x80]);
        for bad in ["", "a", "3-1", "1-", "99999"] {
            assert!(bitmask(bad, "f").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_default_deny_device_list_is_a_strict_allowlist() {
        let p = resources(&res(serde_json::json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 4, "minor": 1, "access": "rw"},
            {"allow": true, "type": "b", "access": "m"}
        ]})))
        .unwrap();
        assert_eq!(get(&p, "DevicePolicy"), Some(&Value::Str("strict".into())));
        let Some(Value::PairsSS(allow)) = get(&p, "DeviceAllow") else {
            panic!("{p:?}")
        };
        assert!(
            allow.contains(&("/dev/char/4:1".into(), "rw".into())),
            "{allow:?}"
        );
        assert!(allow.contains(&("block-*".into(), "m".into())), "{allow:?}");
        // runc's default allowlist comes along (/dev/null here).
        assert!(
            allow.contains(&("/dev/char/1:3".into(), "rwm".into())),
            "{allow:?}"
        );
        // Allow-all with exceptions: systemd cannot say it, hull's program does.
        let p = resources(&res(serde_json::json!({"devices": [
            {"allow": true, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rw"}
        ]})))
        .unwrap();
        assert!(get(&p, "DevicePolicy").is_none() && get(&p, "DeviceAllow").is_none());
    }

    #[test]
    fn proc_devices_names_a_major() {
        let text = "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n";
        assert_eq!(
            name_in_proc_devices(text, "char", 136).as_deref(),
            Some("pts")
        );
        assert_eq!(
            name_in_proc_devices(text, "block", 8).as_deref(),
            Some("sd")
        );
        assert_eq!(name_in_proc_devices(text, "block", 1), None);
    }
}
