//! CPU lists (`0-3,7`, the kernel's and the spec's format) and the calling thread's affinity.

use crate::error::{quote, Context, Error, Result};

/// The CPUs (or memory nodes) of a list such as `0-3,7`: white space around parts and empty
/// parts are ignored; a range must not run backwards. The error says what is wrong.
pub fn parse_list(s: &str) -> std::result::Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |n: &str| n.parse::<usize>().map_err(|e| format!("{e}: {}", quote(n)));
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if a > b {
            return Err(format!("invalid values, from > to: {}", quote(part)));
        }
        out.extend(a..=b);
    }
    Ok(out)
}

/// The highest CPU number `cpu_set_t` holds, plus one.
pub const SET_SIZE: usize = 1024;

/// A CPU list for `sched_setaffinity` (every CPU below [`SET_SIZE`]).
pub fn parse_affinity(s: &str) -> Result<Vec<usize>> {
    let bad = || Error::invalid(format!("bad CPU list {}", quote(s)));
    let cpus = parse_list(s).map_err(|_| bad())?;
    if cpus.iter().any(|&c| c >= SET_SIZE) {
        return Err(bad());
    }
    Ok(cpus)
}

/// sched_setaffinity(0, cpus) for the list `list` of config field `field`.
pub fn set_affinity(list: &str, field: &str) -> Result<()> {
    let cpus = parse_affinity(list).context(field.to_string())?;
    // SAFETY: cpu_set_t is plain data; CPU_SET writes inside it for indexes < SET_SIZE
    // (checked by parse_affinity); sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("{field}: sched_setaffinity {}", quote(list)));
        }
    }
    Ok(())
}

/// The highest memory node number a policy may name, plus one (the nodemask hull passes; the
/// kernel's MAX_NUMNODES is at most 1024).
pub const NODE_SET_SIZE: usize = 1024;

/// set_mempolicy(2) of the calling thread: `mode` with its flags or'ed in, `nodes` (each below
/// [`NODE_SET_SIZE`]) as the nodemask, or none when empty.
pub fn set_mempolicy(mode: i32, nodes: &[usize]) -> std::io::Result<()> {
    let mut mask = [0u64; NODE_SET_SIZE / 64];
    for &n in nodes.iter().filter(|&&n| n < NODE_SET_SIZE) {
        mask[n / 64] |= 1 << (n % 64);
    }
    // The kernel reads maxnode - 1 bits.
    let (ptr, maxnode) = if nodes.is_empty() {
        (std::ptr::null(), 0)
    } else {
        (mask.as_ptr(), NODE_SET_SIZE as libc::c_ulong + 1)
    };
    // SAFETY: set_mempolicy reads at most maxnode - 1 bits of `mask`, which we own.
    let r = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        assert_eq!(parse_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse_list(" 1 , 3-4 ,\n").unwrap(), vec![1, 3, 4]);
        assert!(parse_list("3 - 4").is_err());
        assert_eq!(parse_list("").unwrap(), Vec::<usize>::new());
        assert!(parse_list("3-1").unwrap_err().contains("from > to"));
        assert!(parse_list("x").is_err());
        assert!(parse_list("1-").is_err());
    }

    #[test]
    fn affinity_lists() {
        assert_eq!(parse_affinity("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_affinity("3-1").is_err());
        assert!(parse_affinity("x").is_err());
        assert!(parse_affinity("1023").is_ok());
        assert!(parse_affinity("1024").is_err());
    }
}
