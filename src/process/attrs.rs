//! Process attributes that are not credentials: rlimits and oom_score_adj (set by stage 1 before
//! any user namespace, so raising limits works as on the host), scheduler, I/O priority,
//! personality, CPU affinity, the NUMA memory policy and the session keyring (set by init and
//! by exec'd processes).

use crate::oci::Process;
use oci_spec::runtime::{
    IOPriorityClass, LinuxMemoryPolicy, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, MemoryPolicyFlagType, MemoryPolicyModeType, PosixRlimitType,
};

use crate::error::{quote, Context, Error, Result};

/// The type glibc's and musl's setrlimit take the resource number as.
#[cfg(target_env = "gnu")]
pub type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub type RlimitResource = libc::c_int;

/// The kernel's resource number of an rlimit type.
pub fn rlimit_resource(t: PosixRlimitType) -> RlimitResource {
    use PosixRlimitType as R;
    match t {
        R::RlimitCpu => libc::RLIMIT_CPU,
        R::RlimitFsize => libc::RLIMIT_FSIZE,
        R::RlimitData => libc::RLIMIT_DATA,
        R::RlimitStack => libc::RLIMIT_STACK,
        R::RlimitCore => libc::RLIMIT_CORE,
        R::RlimitRss => libc::RLIMIT_RSS,
        R::RlimitNproc => libc::RLIMIT_NPROC,
        R::RlimitNofile => libc::RLIMIT_NOFILE,
        R::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        R::RlimitAs => libc::RLIMIT_AS,
        R::RlimitLocks => libc::RLIMIT_LOCKS,
        R::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        R::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        R::RlimitNice => libc::RLIMIT_NICE,
        R::RlimitRtprio => libc::RLIMIT_RTPRIO,
        R::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Apply process.rlimits and process.oomScoreAdj to the calling process.
pub fn apply_limits(p: &Process) -> Result<()> {
    for (i, r) in p
        .rlimits()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit reads a struct we own.
        if unsafe { libc::setrlimit(rlimit_resource(r.typ()) as _, &lim) } != 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| {
                format!(
                    "process.rlimits[{i}]: set {:?} to soft {} hard {}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                )
            });
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        crate::fsutil::write_file(
            std::path::Path::new("/proc/self/oom_score_adj"),
            &adj.to_string(),
        )
        .context("process.oomScoreAdj")?;
    }
    Ok(())
}

#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// process.scheduler, process.ioPriority and linux.personality.
pub fn apply_sched(p: &Process, personality: Option<LinuxPersonalityDomain>) -> Result<()> {
    if let Some(s) = p.scheduler() {
        use LinuxSchedulerPolicy as P;
        let policy = match s.policy() {
            P::SchedOther => 0,
            P::SchedFifo => 1,
            P::SchedRr => 2,
            P::SchedBatch => 3,
            P::SchedIso => 4,
            P::SchedIdle => 5,
            P::SchedDeadline => 6,
        };
        let mut flags = 0u64;
        for f in s.flags().as_deref().unwrap_or_default() {
            use LinuxSchedulerFlag as F;
            flags |= match f {
                F::SchedResetOnFork => 0x01,
                F::SchedFlagReclaim => 0x02,
                F::SchedFlagDLOverrun => 0x04,
                F::SchedFlagKeepPolicy => 0x08,
                F::SchedFlagKeepParams => 0x10,
                F::SchedFlagUtilClampMin => 0x20,
                F::SchedFlagUtilClampMax => 0x40,
            };
        }
        let attr = SchedAttr {
            size: std::mem::size_of::<SchedAttr>() as u32,
            policy,
            flags,
            nice: s.nice().unwrap_or(0),
            priority: s.priority().unwrap_or(0) as u32,
            runtime: s.runtime().unwrap_or(0),
            deadline: s.deadline().unwrap_or(0),
            period: s.period().unwrap_or(0),
            ..Default::default()
        };
        // SAFETY: sched_setattr reads `size` bytes of a repr(C) struct we own.
        let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
        if r != 0 {
            return Err(std::io::Error::last_os_error())
                .context("process.scheduler: sched_setattr");
        }
    }
    if let Some(io) = p.io_priority() {
        let class: i64 = match io.class() {
            IOPriorityClass::IoprioClassRt => 1,
            IOPriorityClass::IoprioClassBe => 2,
            IOPriorityClass::IoprioClassIdle => 3,
        };
        if !(0..=7).contains(&io.priority()) {
            return Err(Error::invalid(format!(
                "process.ioPriority.priority: {} is outside 0..7",
                io.priority()
            )));
        }
        // SAFETY: ioprio_set(IOPRIO_WHO_PROCESS, self, prio) takes only integers.
        let r = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, (class << 13) | io.priority()) };
        if r != 0 {
            return Err(std::io::Error::last_os_error()).context("process.ioPriority: ioprio_set");
        }
    }
    if let Some(d) = personality {
        let persona: libc::c_ulong = match d {
            LinuxPersonalityDomain::PerLinux => 0x0000,
            LinuxPersonalityDomain::PerLinux32 => 0x0008,
        };
        // SAFETY: personality(2) takes an integer.
        if unsafe { libc::personality(persona) } < 0 {
            return Err(std::io::Error::last_os_error()).context("linux.personality");
        }
    }
    Ok(())
}

/// Join a new session keyring named after the container (runc's behaviour); ENOSYS is ignored.
pub fn join_session_keyring(id: &str) -> Result<()> {
    let name =
        std::ffi::CString::new(format!("_ses.{id}")).map_err(|e| Error::Msg(e.to_string()))?;
    // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, name) reads a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, 1, name.as_ptr()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOSYS) {
            return Err(e).context("join session keyring");
        }
    }
    Ok(())
}

/// `linux.memoryPolicy` checked and resolved for set_mempolicy(2): the mode with its flags
/// or'ed in, and the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemPolicy {
    /// The mode's name (messages).
    pub name: String,
    pub mode: i32,
    pub nodes: Vec<usize>,
}

const MPOL_F_STATIC_NODES: i32 = 1 << 15;
const MPOL_F_RELATIVE_NODES: i32 = 1 << 14;
const MPOL_F_NUMA_BALANCING: i32 = 1 << 13;

/// Check `linux.memoryPolicy` before anything is made (the kernel's rules for each mode, as
/// set_mempolicy(2) gives them), naming the field that is wrong. `online` is the host's online
/// memory nodes (/sys/devices/system/node/online), against which absolute nodes are checked.
pub fn memory_policy(p: &LinuxMemoryPolicy, online: Option<&[usize]>) -> Result<MemPolicy> {
    use MemoryPolicyModeType as M;
    let name = p.mode().to_string();
    let bad =
        |field: &str, why: String| Error::invalid(format!("linux.memoryPolicy.{field}: {why}"));
    let text = p.nodes().as_deref().unwrap_or("");
    let nodes = crate::sys::cpu::parse_list(text)
        .map_err(|e| bad("nodes", format!("bad node list {} ({e})", quote(text))))?;
    if let Some(n) = nodes.iter().find(|&&n| n >= crate::sys::cpu::NODE_SET_SIZE) {
        return Err(bad(
            "nodes",
            format!("node {n} is above the kernel's largest (1023)"),
        ));
    }
    let mut flags = 0;
    for f in p.flags().as_deref().unwrap_or_default() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFStaticNodes => MPOL_F_STATIC_NODES,
            MemoryPolicyFlagType::MpolFRelativeNodes => MPOL_F_RELATIVE_NODES,
            MemoryPolicyFlagType::MpolFNumaBalancing => MPOL_F_NUMA_BALANCING,
        };
    }
    let static_or_relative = flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES);
    if static_or_relative == MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES {
        return Err(bad(
            "flags",
            "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other".into(),
        ));
    }
    if flags & MPOL_F_NUMA_BALANCING != 0 && !matches!(p.mode(), M::MpolBind | M::MpolPreferredMany)
    {
        return Err(bad(
            "flags",
            format!("MPOL_F_NUMA_BALANCING needs MPOL_BIND or MPOL_PREFERRED_MANY, not {name}"),
        ));
    }
    let mode = match p.mode() {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    };
    match p.mode() {
        M::MpolDefault | M::MpolLocal => {
            if !nodes.is_empty() {
                return Err(bad("nodes", format!("{name} takes no nodes")));
            }
            if flags != 0 {
                return Err(bad("flags", format!("{name} takes no flags")));
            }
        }
        M::MpolPreferred if nodes.is_empty() && static_or_relative != 0 => {
            return Err(bad(
                "flags",
                "MPOL_PREFERRED without nodes (local allocation) takes no node flags".into(),
            ));
        }
        M::MpolPreferred => {}
        _ if nodes.is_empty() => {
            return Err(bad("nodes", format!("{name} needs at least one node")));
        }
        _ => {}
    }
    // Relative nodes are positions in the allowed set, not node numbers.
    if let Some(online) = online.filter(|_| flags & MPOL_F_RELATIVE_NODES == 0) {
        if !nodes.is_empty() && !nodes.iter().any(|n| online.contains(n)) {
            return Err(bad(
                "nodes",
                format!(
                    "none of {} is an online memory node here (online: {})",
                    quote(text),
                    online
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ));
        }
    }
    Ok(MemPolicy {
        name,
        mode: mode | flags,
        nodes,
    })
}

/// The host's online memory nodes, when the kernel says (NUMA kernels).
pub fn online_nodes() -> Option<Vec<usize>> {
    let text = std::fs::read_to_string("/sys/devices/system/node/online").ok()?;
    crate::sys::cpu::parse_list(text.trim()).ok()
}

/// Set the calling thread's memory policy (inherited by the process it execs).
pub fn apply_memory_policy(m: &MemPolicy) -> Result<()> {
    crate::sys::cpu::set_mempolicy(m.mode, &m.nodes).with_context(|| {
        format!(
            "linux.memoryPolicy: set_mempolicy {} on nodes {:?}",
            m.name, m.nodes
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(v: serde_json::Value) -> Result<MemPolicy> {
        let p: LinuxMemoryPolicy = serde_json::from_value(v).unwrap();
        memory_policy(&p, Some(&[0, 1]))
    }

    fn err(v: serde_json::Value) -> String {
        policy(v).unwrap_err().render()
    }

    #[test]
    fn modes_flags_and_nodes() {
        let p = policy(
            serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0-1", "flags": ["MPOL_F_STATIC_NODES"]}),
        );
        assert_eq!(p.unwrap().mode, 3 | (1 << 15));
        let p = policy(
            serde_json::json!({"mode": "MPOL_BIND", "nodes": "1", "flags": ["MPOL_F_NUMA_BALANCING"]}),
        );
        assert_eq!(
            p.unwrap(),
            MemPolicy {
                name: "MPOL_BIND".into(),
                mode: 2 | (1 << 13),
                nodes: vec![1]
            }
        );
        assert_eq!(
            policy(serde_json::json!({"mode": "MPOL_PREFERRED"}))
                .unwrap()
                .nodes,
            Vec::<usize>::new()
        );
        assert_eq!(
            policy(serde_json::json!({"mode": "MPOL_LOCAL"}))
                .unwrap()
                .mode,
            4
        );
        // Relative nodes are not node numbers.
        assert!(policy(serde_json::json!({"mode": "MPOL_BIND", "nodes": "7", "flags": ["MPOL_F_RELATIVE_NODES"]})).is_ok());
    }

    #[test]
    fn what_the_kernel_would_refuse_names_the_field() {
        assert!(
            err(serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"}))
                .contains("linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes")
        );
        assert!(err(serde_json::json!({"mode": "MPOL_BIND"}))
            .contains("linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"));
        assert!(
            err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "1-0"}))
                .contains("linux.memoryPolicy.nodes: bad node list")
        );
        assert!(err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "5"}))
            .contains("none of \"5\" is an online memory node here (online: 0,1)"));
        assert!(
            err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "2000"}))
                .contains("above the kernel's largest")
        );
        assert!(err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]})).contains("linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES"));
        assert!(err(serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]})).contains("MPOL_F_NUMA_BALANCING needs MPOL_BIND"));
        assert!(
            err(serde_json::json!({"mode": "MPOL_LOCAL", "flags": ["MPOL_F_STATIC_NODES"]}))
                .contains("MPOL_LOCAL takes no flags")
        );
        assert!(err(
            serde_json::json!({"mode": "MPOL_PREFERRED", "flags": ["MPOL_F_STATIC_NODES"]})
        )
        .contains("linux.memoryPolicy.flags"));
    }
}
