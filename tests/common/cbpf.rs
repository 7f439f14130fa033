//! A classic BPF interpreter for seccomp programs (the instructions seccompiler and hull emit)
//! and the kernel's static checks of one (`bpf_check_classic`, `seccomp_check_filter`), shared by
//! `tests/seccomp_diff.rs` and the `seccomp` fuzz target (`fuzz/fuzz_targets/seccomp.rs`), which
//! include this file by path. Not a module of `tests/common/mod.rs`: it needs only hull's
//! `Compiled` and libc.
#![allow(dead_code)]

use hull::seccomp::Compiled;

/// `struct seccomp_data` for one call: nr, arch, (instruction pointer 0), six arguments.
pub fn seccomp_data(arch: u32, nr: u32, args: [u64; 6]) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[0..4].copy_from_slice(&nr.to_le_bytes());
    d[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        d[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    d
}

/// What the kernel would refuse in `prog` when loading it as a seccomp filter (or [`eval`] cannot
/// run), or `None`: length 1..=4096, only [`eval`]'s opcodes, aligned loads inside `seccomp_data`,
/// scratch memory indexes below 16, every jump landing inside the program, a return last.
pub fn check(prog: &[libc::sock_filter]) -> Option<String> {
    if prog.is_empty() || prog.len() > 4096 {
        return Some(format!("{} instructions", prog.len()));
    }
    for (pc, i) in prog.iter().enumerate() {
        let left = prog.len() - pc - 1; // instructions after this one
        let bad = match i.code {
            0x20 => i.k >= 64 || i.k % 4 != 0,
            0x60 | 0x61 | 0x02 | 0x03 => i.k >= 16,
            0x00 | 0x01 | 0x04 | 0x14 | 0x44 | 0x54 | 0x4c | 0x5c | 0x07 | 0x87 | 0x06 | 0x16 => {
                false
            }
            0x64 | 0x74 => i.k >= 32,
            0x05 => i.k as usize >= left,
            0x15 | 0x25 | 0x35 | 0x45 | 0x1d | 0x2d | 0x3d | 0x4d => {
                usize::from(i.jt) >= left || usize::from(i.jf) >= left
            }
            _ => true,
        };
        if bad {
            return Some(format!(
                "instruction {pc} of {}: code {:#x} jt {} jf {} k {:#x}",
                prog.len(),
                i.code,
                i.jt,
                i.jf,
                i.k
            ));
        }
    }
    let last = prog[prog.len() - 1].code;
    (last != 0x06 && last != 0x16).then(|| format!("last instruction {last:#x} is not a return"))
}

/// Run `prog` on `data`: its return value. Panics on what [`check`] refuses.
pub fn eval(prog: &[libc::sock_filter], data: &[u8; 64]) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    loop {
        let i = prog[pc];
        pc += 1;
        let k = i.k;
        let cond = |c: bool| {
            if c {
                usize::from(i.jt)
            } else {
                usize::from(i.jf)
            }
        };
        match i.code {
            0x20 => a = u32::from_le_bytes(data[k as usize..k as usize + 4].try_into().unwrap()),
            0x00 => a = k,
            0x01 => x = k,
            0x60 => a = mem[k as usize],
            0x61 => x = mem[k as usize],
            0x02 => mem[k as usize] = a,
            0x03 => mem[k as usize] = x,
            0x04 => a = a.wrapping_add(k),
            0x14 => a = a.wrapping_sub(k),
            0x44 => a |= k,
            0x54 => a &= k,
            0x64 => a = a.wrapping_shl(k),
            0x74 => a = a.wrapping_shr(k),
            0x4c => a |= x,
            0x5c => a &= x,
            0x07 => x = a,
            0x87 => a = x,
            0x05 => pc += k as usize,
            0x15 => pc += cond(a == k),
            0x25 => pc += cond(a > k),
            0x35 => pc += cond(a >= k),
            0x45 => pc += cond(a & k != 0),
            0x1d => pc += cond(a == x),
            0x2d => pc += cond(a > x),
            0x3d => pc += cond(a >= x),
            0x4d => pc += cond(a & x != 0),
            0x06 => return k,
            0x16 => return a,
            other => panic!("BPF opcode {other:#x} at {}", pc - 1),
        }
    }
}

/// What the kernel returns for hull's filters, all loaded: it runs them newest first and keeps
/// the most severe action (by `(s32)ret & SECCOMP_RET_ACTION_FULL`), the first seen on a tie.
pub fn eval_all(c: &Compiled, data: &[u8; 64]) -> u32 {
    let severity = |r: u32| (r & 0xffff_0000) as i32;
    let mut best: Option<u32> = None;
    for f in c.filters.iter().rev() {
        let r = eval(&f.program, data);
        if best.is_none_or(|b| severity(r) < severity(b)) {
            best = Some(r);
        }
    }
    best.expect("hull compiled no filter")
}
