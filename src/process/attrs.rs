//! Process attributes that are not credentials: rlimits and oom_score_adj (set by stage 1 before
//! any user namespace, so raising limits works as on the host), scheduler, I/O priority,
//! personality, CPU affinity and the session keyring (set by init).

use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy,
    PosixRlimitType, Process,
};

use crate::error::{Context, Error, Result};

fn rlimit_resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
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
