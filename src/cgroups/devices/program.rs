//! The `BPF_PROG_TYPE_CGROUP_DEVICE` program of a rule list. [`bpf_program`] compiles the same
//! table as [`table`](super::table) (not the raw list), as runc's `devicefilter.go` does: every
//! exception becomes one block returning the non-default verdict when it matches, the program
//! ends returning the default. All exceptions share one verdict, so their order does not matter
//! (runc before 1.0.0 walked the raw rules in reverse, the first match deciding; since 1.0.0 it
//! walks the emulated table in order). One deliberate fix over runc: in a default-allow table
//! runc's blocks deny only when the request lies inside the exception's access, so an `O_RDWR`
//! open of a device denied only for `w` passes; hull denies on any shared bit, as v1 does
//! (checked against the kernel by `tests/devices_cgroup.rs`). Major and minor are compared with
//! 32-bit jumps so numbers above `i32::MAX` work.
//!
//! This file only assembles instructions: it makes no syscall and decides no verdict of its own
//! (the table does); loading and attaching are `bpf.rs`'s.

use super::{table, Rule};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::devices::tests::rule;
    use crate::cgroups::devices::{default_rules, v1_writes, Access, Kind};

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
}
