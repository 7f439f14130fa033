//! v1 ⇄ v2 value conversions, the formulas runc and crun use today (opencontainers/cgroups):
//! cpu shares → cpu.weight by the quadratic fit through (2, 1), (1024, 100), (262144, 10000);
//! blkio weight [10, 1000] → io.weight [1, 10000] linearly; memory.swap in the spec is
//! memory+swap, while v2's memory.swap.max is swap alone.

use crate::error::{Error, Result};

/// cpu.shares → cpu.weight (0 means unset).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// blkio.weight → io.weight (0 means unset).
pub fn blkio_weight_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10)) * 9999 / 990
}

/// The spec's memory+swap limit → v2 `memory.swap.max` (-1 = max, 0 = unset).
pub fn swap_to_v2(swap: i64, memory: i64) -> Result<i64> {
    if memory == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if memory == 0 || memory == -1 {
        return Err(Error::invalid(
            "linux.resources.memory.swap: a swap limit needs a memory limit (swap is memory+swap)",
        ));
    }
    if memory < 0 {
        return Err(Error::invalid(format!(
            "linux.resources.memory.limit: invalid value {memory}"
        )));
    }
    if swap < memory {
        return Err(Error::invalid(format!(
            "linux.resources.memory.swap: {swap} is below memory.limit {memory} (swap is memory+swap)"
        )));
    }
    Ok(swap - memory)
}

/// A limit as cgroup v2 writes it: negative = "max".
pub fn v2_limit(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_fit_min_default_max() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(262_144), 10_000);
        // Monotonic in between.
        let mut last = 0;
        for s in (2..262_144).step_by(997) {
            let w = shares_to_weight(s);
            assert!(w >= last && (1..=10_000).contains(&w), "{s} -> {w}");
            last = w;
        }
        assert_eq!(shares_to_weight(512), 59);
        assert_eq!(shares_to_weight(2048), 174);
    }

    #[test]
    fn blkio_weights() {
        assert_eq!(blkio_weight_to_io_weight(0), 0);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap_semantics() {
        assert_eq!(swap_to_v2(0, -1).unwrap(), -1);
        assert_eq!(swap_to_v2(-1, 100).unwrap(), -1);
        assert_eq!(swap_to_v2(0, 100).unwrap(), 0);
        assert_eq!(swap_to_v2(300, 100).unwrap(), 200);
        assert!(swap_to_v2(50, 100).unwrap_err().render().contains("below"));
        assert!(swap_to_v2(50, 0).is_err());
    }
}
