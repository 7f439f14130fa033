//! The device allowlist on the real kernel: a BPF program attached to a scratch cgroup under
//! `/sys/fs/cgroup/unified` and a scratch v1 `devices` cgroup, each probed by a forked child that
//! moves itself in and opens (or mknods) device nodes. A random differential run checks that
//! both kernels decide exactly as `devices::table` predicts. Every scratch cgroup is removed by a
//! guard, after its child has been reaped, even when an assertion fails.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use hull::cgroups::devices::{self, effective_rules, load_and_attach, Access, BpfInsn, Kind, Rule};
use oci_spec::runtime::LinuxDeviceCgroup;

static N: AtomicUsize = AtomicUsize::new(0);

/// A scratch cgroup `<parent>/hull-devtest-<pid>-<n>`, removed on drop.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(parent: &str) -> Scratch {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path = Path::new(parent).join(format!("hull-devtest-{}-{n}", std::process::id()));
        fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The probes reap their child before returning, so the cgroup is empty; cgroup2 may
        // still report it busy for a moment.
        for _ in 0..100 {
            match fs::remove_dir(&self.path) {
                Ok(()) => return,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => {
                    eprintln!("rmdir {}: {e}", self.path.display());
                    return;
                }
            }
        }
        eprintln!("rmdir {}: still busy", self.path.display());
    }
}

/// A device node of ours under a temp dir, removed on drop.
struct Nodes {
    dir: PathBuf,
}

impl Nodes {
    fn new() -> Nodes {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("hull-devtest-nodes-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        Nodes { dir }
    }

    fn make(&self, kind: Kind, major: u32, minor: u32) -> PathBuf {
        let p = self.dir.join(format!("{}-{major}-{minor}", kind.letter()));
        let mode = if kind == Kind::Block {
            libc::S_IFBLK
        } else {
            libc::S_IFCHR
        } | 0o666;
        let c = cstr(&p);
        // SAFETY: c is a valid C string; mknod has no memory effects on us.
        let r = unsafe { libc::mknod(c.as_ptr(), mode, libc::makedev(major, minor)) };
        assert_eq!(
            r,
            0,
            "mknod {}: {}",
            p.display(),
            std::io::Error::last_os_error()
        );
        p
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// What the child tries.
enum Op {
    Open(CString, libc::c_int),
    Mknod(CString, libc::mode_t, libc::dev_t),
}

/// Fork a child that joins `cgroup` (writes 0 to its `cgroup.procs`) and runs `ops`; returns
/// each op's errno (0 on success). The child is reaped before this returns.
fn probe(cgroup: &Path, ops: &[Op]) -> Vec<i32> {
    assert!(ops.len() <= 64);
    let procs = cstr(&cgroup.join("cgroup.procs"));
    let mut fds = [0; 2];
    // SAFETY: fds is a writable array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child only makes async-signal-safe system calls on memory prepared before
    // the fork, then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: raw system calls on C strings and stack buffers made before the fork; the
        // errno location is this thread's.
        unsafe {
            let mut out = [0i32; 65];
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                out[0] = *libc::__errno_location();
            }
            for (i, op) in ops.iter().enumerate() {
                let r = match op {
                    Op::Open(p, flags) => {
                        let f = libc::open(p.as_ptr(), *flags | libc::O_CLOEXEC | libc::O_NONBLOCK);
                        if f >= 0 {
                            libc::close(f);
                        }
                        f
                    }
                    Op::Mknod(p, mode, dev) => {
                        let r = libc::mknod(p.as_ptr(), *mode, *dev);
                        if r == 0 {
                            libc::unlink(p.as_ptr());
                        }
                        r
                    }
                };
                out[i + 1] = if r < 0 { *libc::__errno_location() } else { 0 };
            }
            libc::write(fds[1], out.as_ptr().cast(), std::mem::size_of_val(&out));
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end, an fd we own.
    unsafe { libc::close(fds[1]) };
    let mut out = [0i32; 65];
    // SAFETY: out is a writable buffer of the given size; fds[0] is our read end.
    let n = unsafe { libc::read(fds[0], out.as_mut_ptr().cast(), std::mem::size_of_val(&out)) };
    // SAFETY: fds[0] is ours; pid is our child.
    unsafe {
        libc::close(fds[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    assert_eq!(n as usize, std::mem::size_of_val(&out), "child report");
    assert_eq!(out[0], 0, "joining {}: errno {}", cgroup.display(), out[0]);
    out[1..=ops.len()].to_vec()
}

fn open_op(p: &str) -> Op {
    Op::Open(CString::new(p).unwrap(), libc::O_RDONLY)
}

fn rule(allow: bool, kind: Kind, major: Option<i64>, minor: Option<i64>, access: &str) -> Rule {
    Rule {
        allow,
        kind,
        major,
        minor,
        access: Access::parse(access).unwrap(),
    }
}

fn null_not_zero() -> Vec<Rule> {
    vec![
        Rule::all(false),
        rule(true, Kind::Char, Some(1), Some(3), "rwm"),
    ]
}

#[test]
fn v2_program_allows_null_not_zero_and_update_replaces_it() {
    require_root!();
    let cg = Scratch::new("/sys/fs/cgroup/unified");
    load_and_attach(&cg.path, &null_not_zero()).unwrap();
    let ops = [open_op("/dev/null"), open_op("/dev/zero")];
    assert_eq!(probe(&cg.path, &ops), [0, libc::EPERM]);
    let first = devices::attached_programs(&cg.path).unwrap();
    assert_eq!(first.len(), 1);

    // `update`: the new rules replace hull's program rather than stacking on it.
    let swapped = vec![
        Rule::all(false),
        rule(true, Kind::Char, Some(1), Some(5), "r"),
    ];
    load_and_attach(&cg.path, &swapped).unwrap();
    let now = devices::attached_programs(&cg.path).unwrap();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, first);
    assert_eq!(probe(&cg.path, &ops), [libc::EPERM, 0]);
    let w = [Op::Open(CString::new("/dev/zero").unwrap(), libc::O_WRONLY)];
    assert_eq!(probe(&cg.path, &w), [libc::EPERM]);
}

#[test]
fn v2_replaces_several_old_programs() {
    require_root!();
    let cg = Scratch::new("/sys/fs/cgroup/unified");
    // Two programs of ours (as an interrupted update could leave): attach a second one by
    // hand, then one load_and_attach must leave a single program.
    load_and_attach(&cg.path, &null_not_zero()).unwrap();
    let extra = devices::load_program(&devices::bpf_program(&[Rule::all(true)])).unwrap();
    {
        use std::os::fd::AsRawFd;
        let dir = fs::File::open(&cg.path).unwrap();
        #[repr(C)]
        struct Attach {
            target_fd: u32,
            attach_bpf_fd: u32,
            attach_type: u32,
            attach_flags: u32,
        }
        let mut a = Attach {
            target_fd: dir.as_raw_fd() as u32,
            attach_bpf_fd: extra.as_raw_fd() as u32,
            attach_type: 6,  // BPF_CGROUP_DEVICE
            attach_flags: 2, // BPF_F_ALLOW_MULTI
        };
        // SAFETY: the BPF_PROG_ATTACH prefix of bpf_attr, no pointers.
        let r = unsafe { libc::syscall(libc::SYS_bpf, 8, &mut a, std::mem::size_of::<Attach>()) };
        assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    }
    assert_eq!(devices::attached_programs(&cg.path).unwrap().len(), 2);
    load_and_attach(&cg.path, &[Rule::all(false)]).unwrap();
    assert_eq!(devices::attached_programs(&cg.path).unwrap().len(), 1);
    assert_eq!(probe(&cg.path, &[open_op("/dev/null")]), [libc::EPERM]);
}

#[test]
fn v2_load_error_carries_the_verifier_log() {
    require_root!();
    // exit without setting r0
    let bad = [BpfInsn {
        code: 0x95,
        regs: 0,
        off: 0,
        imm: 0,
    }];
    let e = devices::load_program(&bad).unwrap_err().render();
    assert!(e.contains("verifier log:") && e.contains("R0"), "{e}");
}

#[test]
fn v1_cgroup_allows_null_not_zero() {
    require_root!();
    let cg = Scratch::new("/sys/fs/cgroup/devices");
    devices::apply_v1(&cg.path, &null_not_zero()).unwrap();
    let ops = [open_op("/dev/null"), open_op("/dev/zero")];
    assert_eq!(probe(&cg.path, &ops), [0, libc::EPERM]);
}

#[test]
fn v1_devices_list_shows_the_rules() {
    require_root!();
    let cg = Scratch::new("/sys/fs/cgroup/devices");
    let list = || {
        fs::read_to_string(cg.path.join("devices.list"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let defaults = [
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:8 rwm",
        "c 1:7 rwm",
        "c 5:0 rwm",
        "c 1:5 rwm",
        "c 1:9 rwm",
        "c 136:* rwm",
        "c 5:2 rwm",
        "c 10:200 rwm",
    ];
    let rules = effective_rules(None).unwrap();
    devices::apply_v1(&cg.path, &rules).unwrap();
    assert_eq!(list(), defaults);
    assert_eq!(devices::table(&rules).list_lines(), defaults);

    // Merged and trimmed exceptions, re-applied over the previous state.
    let cfg: Vec<LinuxDeviceCgroup> = serde_json::from_str(
        r#"[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","major":4,"access":"rw"},
            {"allow":false,"type":"c","major":4,"access":"w"},
            {"allow":true,"type":"b","major":8,"minor":0,"access":"r"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"r"}]"#,
    )
    .unwrap();
    let rules = effective_rules(Some(&cfg)).unwrap();
    devices::apply_v1(&cg.path, &rules).unwrap();
    let got = list();
    // The default `c 1:3 rwm` merges into the config's `c 1:3 r`, at the config's place.
    let want = ["c 4:* r", "b 8:0 r", "c 1:3 rwm"]
        .into_iter()
        .chain(defaults.iter().copied().filter(|l| *l != "c 1:3 rwm"))
        .collect::<Vec<_>>();
    assert_eq!(got, want);
    assert_eq!(devices::table(&rules).list_lines(), got);

    // Allow-all shows as one line.
    let rules = effective_rules(Some(
        &serde_json::from_str::<Vec<_>>(r#"[{"allow":true}]"#).unwrap(),
    ))
    .unwrap();
    devices::apply_v1(&cg.path, &rules).unwrap();
    assert_eq!(list(), ["a *:* rwm"]);
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

/// Majors the host has no driver for (from /proc/devices), so opening a node only reaches
/// the cgroup check and then fails with ENXIO/ENODEV.
fn free_majors(section: &str, from: u32, count: usize) -> Vec<u32> {
    let text = fs::read_to_string("/proc/devices").unwrap();
    let mut used = Vec::new();
    let mut on = false;
    for l in text.lines() {
        if l.ends_with(':') {
            on = l.starts_with(section);
        } else if on {
            if let Some(n) = l
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u32>().ok())
            {
                used.push(n);
            }
        }
    }
    (from..).filter(|m| !used.contains(m)).take(count).collect()
}

/// Random rule lists on both kernels: every (node, access) verdict equals `table().allows`,
/// and v1's devices.list equals `list_lines()`.
#[test]
fn kernel_verdicts_equal_the_table() {
    require_root!();
    let chr = free_majors("Character", 200, 2);
    let blk = free_majors("Block", 240, 1);
    let nodes = Nodes::new();
    let mut probes = Vec::new(); // (kind, major, minor, access, op)
    let mut ops = Vec::new();
    for (kind, major) in [
        (Kind::Char, chr[0]),
        (Kind::Char, chr[1]),
        (Kind::Block, blk[0]),
    ] {
        for minor in [0u32, 1] {
            let p = nodes.make(kind, major, minor);
            for (acc, flags) in [
                (Access::READ, libc::O_RDONLY),
                (Access::WRITE, libc::O_WRONLY),
                (
                    Access::from_bits(Access::READ.bits() | Access::WRITE.bits()),
                    libc::O_RDWR,
                ),
            ] {
                probes.push((kind, major, minor, acc));
                ops.push(Op::Open(cstr(&p), flags));
            }
            let m = nodes
                .dir
                .join(format!("m-{}-{major}-{minor}", kind.letter()));
            let mode = if kind == Kind::Block {
                libc::S_IFBLK
            } else {
                libc::S_IFCHR
            } | 0o600;
            probes.push((kind, major, minor, Access::MKNOD));
            ops.push(Op::Mknod(cstr(&m), mode, libc::makedev(major, minor)));
        }
    }
    let majors = [
        None,
        Some(i64::from(chr[0])),
        Some(i64::from(chr[1])),
        Some(i64::from(blk[0])),
    ];
    let minors = [None, Some(0), Some(1)];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut allowed, mut denied) = (0, 0);
    for round in 0..40 {
        let mut rules = vec![Rule::all(rng.next() % 4 == 0)];
        for _ in 0..(rng.next() % 8) {
            let kind = rng.pick(&[Kind::Char, Kind::Char, Kind::Block, Kind::All]);
            if kind == Kind::All && rng.next() % 2 == 0 {
                continue;
            }
            rules.push(Rule {
                allow: rng.next() % 2 == 0,
                kind,
                major: rng.pick(&majors),
                minor: rng.pick(&minors),
                access: Access::from_bits(1 + (rng.next() % 7) as u8),
            });
        }
        let t = devices::table(&rules);
        let want: Vec<bool> = probes
            .iter()
            .map(|&(k, ma, mi, a)| t.allows(k, ma, mi, a))
            .collect();
        allowed += want.iter().filter(|&&w| w).count();
        denied += want.iter().filter(|&&w| !w).count();
        let verdicts =
            |errnos: Vec<i32>| -> Vec<bool> { errnos.iter().map(|&e| e != libc::EPERM).collect() };

        let v2 = Scratch::new("/sys/fs/cgroup/unified");
        load_and_attach(&v2.path, &rules).unwrap();
        let got = verdicts(probe(&v2.path, &ops));
        for (i, p) in probes.iter().enumerate() {
            assert_eq!(
                got[i], want[i],
                "v2 round {round}: {p:?} with rules {rules:?}"
            );
        }
        drop(v2);

        let v1 = Scratch::new("/sys/fs/cgroup/devices");
        devices::apply_v1(&v1.path, &rules).unwrap();
        let list: Vec<String> = fs::read_to_string(v1.path.join("devices.list"))
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(list, t.list_lines(), "v1 round {round}: rules {rules:?}");
        let got = verdicts(probe(&v1.path, &ops));
        for (i, p) in probes.iter().enumerate() {
            assert_eq!(
                got[i], want[i],
                "v1 round {round}: {p:?} with rules {rules:?}"
            );
        }
    }
    assert!(
        allowed > 100 && denied > 100,
        "allowed {allowed}, denied {denied}"
    );
}
