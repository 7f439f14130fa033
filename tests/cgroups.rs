//! `linux.resources` on this project's hybrid host (v1 controllers under /sys/fs/cgroup/<name>,
//! cgroup2 at /sys/fs/cgroup/unified): every test starts real busybox containers, reads the
//! value hull wrote in the container's cgroup on the host after `create`, reads it again from
//! inside through the container's /sys/fs/cgroup mount, and where it is cheap checks the effect
//! (an OOM kill, a throttled busy loop, a refused fork, a pinned CPU). Fields the host cannot
//! honour are refused with an error naming the field, and leave nothing behind. Then the
//! commands built on cgroups: pause/resume (freezer), ps, kill --all and delete --force.
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// The container's directory in a v1 hierarchy (default cgroupsPath `/hull/<id>`).
fn v1(controller: &str, id: &str) -> PathBuf {
    let root = Path::new("/sys/fs/cgroup").join(controller);
    assert!(
        root.is_dir(),
        "{} is missing: these tests expect the hybrid layout",
        root.display()
    );
    root.join("hull").join(id)
}

/// The container's directory in the unified (cgroup2) hierarchy of the hybrid host.
fn unified(id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup/unified/hull").join(id)
}

/// A bundle running `script` with `linux.resources` set to `resources`.
fn bundle_with(env: &Env, resources: Value, script: &str) -> Bundle {
    let mut b = env.bundle(&["sh", "-c", script]);
    b.edit(|c| c["linux"]["resources"] = resources);
    b
}

/// Create (not start) a container with `resources` whose process prints `<file>=<content>`
/// for each of `files` (paths under its own /sys/fs/cgroup, newlines folded to spaces), then
/// `END`. Returns the id and its stdout file.
fn create_reporting(env: &Env, tag: &str, resources: Value, files: &[&str]) -> (String, PathBuf) {
    let script = format!(
        "for f in {}; do echo \"$f=$(tr '\\n' ' ' < /sys/fs/cgroup/$f)\"; done; echo END",
        files.join(" ")
    );
    let b = bundle_with(env, resources, &script);
    let id = env.id(tag);
    let out = env.create_ok(&b, &id);
    (id, out)
}

/// Start a created container, wait for it to exit, delete it, and return its `key=value`
/// lines (asserting it printed `END`, i.e. every read worked) after checking nothing leaked.
fn start_and_collect(env: &Env, id: &str, out: &Path) -> BTreeMap<String, String> {
    let o = env.hull(&["start", id]);
    assert!(o.status.success(), "start {id}: {}", text(&o.stderr));
    let t = wait_for_output(out, "END\n");
    env.wait_status(id, "stopped");
    let o = env.hull(&["delete", id]);
    assert!(o.status.success(), "delete {id}: {}", text(&o.stderr));
    assert_no_leftovers(env, id);
    t.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// `create` must fail with exit 1 and an error containing every one of `needles`, leaving
/// nothing behind. Returns stderr.
fn assert_refused(env: &Env, tag: &str, resources: Value, needles: &[&str]) -> String {
    let b = bundle_with(env, resources, "echo should-not-run");
    let id = env.id(tag);
    let (o, out) = env.create(&b, &id);
    let err = text(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "create {id} was not refused: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "error does not name {n:?}: {err}");
    }
    assert_eq!(fs::read_to_string(out).unwrap(), "", "the process ran");
    assert_no_leftovers(env, id.as_str());
    err
}

/// `major:minor` of the whole disk behind `/` (a partition's parent disk: the kernel
/// throttles whole disks only).
fn root_disk() -> String {
    let dev = fs::metadata("/").unwrap().dev();
    let (maj, min) = (libc::major(dev), libc::minor(dev));
    let sys = PathBuf::from(format!("/sys/dev/block/{maj}:{min}"));
    assert!(
        sys.exists(),
        "/ is not on a block device ({maj}:{min}): no disk to throttle"
    );
    if sys.join("partition").exists() {
        let disk = sys.canonicalize().unwrap().parent().unwrap().join("dev");
        return fs::read_to_string(disk).unwrap().trim().to_string();
    }
    format!("{maj}:{min}")
}

/// The blkio weight file a non-root blkio cgroup has on this host (the root cgroup never
/// has one), found by making a probe cgroup: `blkio.weight` (CFQ), `blkio.bfq.weight` (BFQ)
/// or none.
fn blkio_weight_file() -> Option<&'static str> {
    let probe =
        Path::new("/sys/fs/cgroup/blkio").join(format!("hull-weight-probe-{}", std::process::id()));
    fs::create_dir(&probe).unwrap();
    let found = ["blkio.weight", "blkio.bfq.weight"]
        .into_iter()
        .find(|f| probe.join(f).exists());
    fs::remove_dir(&probe).unwrap();
    found
}

/// Whether the unified hierarchy of this hybrid host offers `controller`.
fn unified_offers(controller: &str) -> bool {
    fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
        .unwrap_or_default()
        .split_whitespace()
        .any(|c| c == controller)
}

// ---- memory -------------------------------------------------------------------------------

#[test]
fn memory_limit_reservation_and_swap_are_written() {
    require_root!();
    let env = Env::new();
    let files = [
        "memory/memory.limit_in_bytes",
        "memory/memory.soft_limit_in_bytes",
        "memory/memory.memsw.limit_in_bytes",
    ];
    let (id, out) = create_reporting(
        &env,
        "mem",
        json!({"memory": {"limit": 64 << 20, "reservation": 32 << 20, "swap": 128 << 20}}),
        &files,
    );
    let dir = v1("memory", &id);
    let want = [
        (64 << 20).to_string(),
        (32 << 20).to_string(),
        (128 << 20).to_string(),
    ];
    for (f, w) in files.iter().zip(&want) {
        let file = f.strip_prefix("memory/").unwrap();
        assert_eq!(&read(&dir, file), w, "host {file}");
    }
    let inside = start_and_collect(&env, &id, &out);
    for (f, w) in files.iter().zip(&want) {
        assert_eq!(inside.get(*f), Some(w), "inside {f}: {inside:?}");
    }
}

#[test]
fn memory_limit_gets_a_process_over_it_oom_killed() {
    require_root!();
    let env = Env::new();
    // The inner shell buffers 64 MiB of command substitution: over a 32 MiB limit (no swap
    // here, memsw equal) the kernel kills it; under a 256 MiB limit it survives.
    // The inner shell volunteers as the OOM victim (oom_score_adj 1000), so the kernel never
    // picks the container's pid 1 under load.
    let script = "sh -c 'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 67108864 /dev/zero | tr \"\\0\" a); echo survived ${#x}'; \
                  echo rc=$?; grep -E '^oom_kill ' /sys/fs/cgroup/memory/memory.oom_control";
    let small = 32 << 20;
    let out = env.sh(script, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": small, "swap": small}})
    });
    assert!(!out.contains("survived"), "{out}");
    assert!(out.contains("rc=137"), "inner shell not SIGKILLed: {out}");
    let kills: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .unwrap_or_else(|| panic!("no oom_kill line: {out}"))
        .trim()
        .parse()
        .unwrap();
    assert!(kills >= 1, "{out}");

    let out = env.sh(script, |c| {
        c["linux"]["resources"] = json!({"memory": {"limit": 256 << 20}})
    });
    assert!(out.contains("survived 67108864"), "{out}");
    assert!(out.contains("rc=0\noom_kill 0"), "{out}");
}

#[test]
fn memory_swap_below_limit_is_refused() {
    require_root!();
    let env = Env::new();
    assert_refused(
        &env,
        "swaplow",
        json!({"memory": {"limit": 64 << 20, "swap": 32 << 20}}),
        &["linux.resources.memory.swap", "below"],
    );
}

#[test]
fn memory_swappiness_above_100_is_refused() {
    require_root!();
    let env = Env::new();
    assert_refused(
        &env,
        "swappiness101",
        json!({"memory": {"swappiness": 101}}),
        &["linux.resources.memory.swappiness", "above 100"],
    );
}

#[test]
fn memory_swappiness_is_written() {
    require_root!();
    let env = Env::new();
    let (id, out) = create_reporting(
        &env,
        "swappiness",
        json!({"memory": {"swappiness": 17}}),
        &["memory/memory.swappiness"],
    );
    assert_eq!(read(&v1("memory", &id), "memory.swappiness"), "17");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["memory/memory.swappiness"], "17");
}

/// `memory.kernelTCP` is v1's TCP buffer limit (memory.kmem.tcp.limit_in_bytes), applied as
/// crun applies it, seen on the host and inside; -1 is the spec's "unlimited" (the kernel's
/// maximum); 0 is unset and leaves the kernel's default; a value the kernel refuses is one line
/// naming the field, nothing left. `memory.kernel` (kmem) is not written: deprecated, runc
/// ignores it, and kernels since 6.x keep the file only to take a write and ignore it.
#[test]
fn memory_kernel_tcp_is_written_on_v1() {
    require_root!();
    let env = Env::new();
    let file = "memory.kmem.tcp.limit_in_bytes";
    if !Path::new("/sys/fs/cgroup/memory").join(file).exists() {
        // Where the kernel has no such file, the field is refused naming it.
        assert_refused(
            &env,
            "kmemtcp-none",
            json!({"memory": {"kernelTCP": 16 << 20}}),
            &["linux.resources.memory.kernelTCP", file],
        );
        return;
    }
    let unlimited = read(Path::new("/sys/fs/cgroup/memory"), file);
    for (tag, tcp, want) in [
        ("kmemtcp", 16i64 << 20, (16u64 << 20).to_string()),
        ("kmemtcpmax", -1, unlimited.clone()),
        ("kmemtcp0", 0, unlimited.clone()),
    ] {
        let (id, out) = create_reporting(
            &env,
            tag,
            json!({"memory": {"kernelTCP": tcp, "kernel": 8 << 20}}),
            &[
                &format!("memory/{file}"),
                "memory/memory.kmem.limit_in_bytes",
            ],
        );
        assert_eq!(read(&v1("memory", &id), file), want, "kernelTCP {tcp}");
        let inside = start_and_collect(&env, &id, &out);
        assert_eq!(inside[&format!("memory/{file}")], want, "kernelTCP {tcp}");
        // kmem: no limit, whatever `kernel` said.
        assert_eq!(inside["memory/memory.kmem.limit_in_bytes"], unlimited);
    }
    // The kernel takes -1 and positive sizes only.
    let err = assert_refused(
        &env,
        "kmemtcpbad",
        json!({"memory": {"kernelTCP": -2}}),
        &["linux.resources.memory.kernelTCP", "invalid argument"],
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn memory_disable_oom_killer_sets_oom_kill_disable() {
    require_root!();
    let env = Env::new();
    let (id, out) = create_reporting(
        &env,
        "nooom",
        json!({"memory": {"limit": 64 << 20, "disableOOMKiller": true}}),
        &["memory/memory.oom_control"],
    );
    let host = read(&v1("memory", &id), "memory.oom_control");
    assert!(host.lines().any(|l| l == "oom_kill_disable 1"), "{host}");
    let inside = start_and_collect(&env, &id, &out);
    assert!(
        inside["memory/memory.oom_control"].starts_with("oom_kill_disable 1 "),
        "{inside:?}"
    );

    // Without the field the killer stays enabled.
    let (id, out) = create_reporting(
        &env,
        "oom",
        json!({"memory": {"limit": 64 << 20}}),
        &["memory/memory.oom_control"],
    );
    let host = read(&v1("memory", &id), "memory.oom_control");
    assert!(host.lines().any(|l| l == "oom_kill_disable 0"), "{host}");
    start_and_collect(&env, &id, &out);
}

// ---- cpu ----------------------------------------------------------------------------------

#[test]
fn cpu_shares_are_written() {
    require_root!();
    let env = Env::new();
    let (id, out) = create_reporting(
        &env,
        "shares",
        json!({"cpu": {"shares": 512}}),
        &["cpu/cpu.shares"],
    );
    assert_eq!(read(&v1("cpu", &id), "cpu.shares"), "512");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["cpu/cpu.shares"], "512");
}

#[test]
fn cpu_quota_and_period_throttle_a_busy_loop() {
    require_root!();
    let env = Env::new();
    let files = ["cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us"];
    // 10 ms per 50 ms: a busy loop of half a second is throttled (about ten times).
    let script = format!(
        "timeout 0.5 sh -c 'while :; do :; done'; \
         for f in {}; do echo \"$f=$(cat /sys/fs/cgroup/$f)\"; done; \
         grep nr_throttled /sys/fs/cgroup/cpu/cpu.stat | head -1 | tr ' ' =; echo END",
        files.join(" ")
    );
    let b = bundle_with(
        &env,
        json!({"cpu": {"quota": 10000, "period": 50000}}),
        &script,
    );
    let id = env.id("quota");
    let out = env.create_ok(&b, &id);
    let dir = v1("cpu", &id);
    assert_eq!(read(&dir, "cpu.cfs_quota_us"), "10000");
    assert_eq!(read(&dir, "cpu.cfs_period_us"), "50000");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["cpu/cpu.cfs_quota_us"], "10000", "{inside:?}");
    assert_eq!(inside["cpu/cpu.cfs_period_us"], "50000", "{inside:?}");
    let throttled: u64 = inside["nr_throttled"].parse().unwrap();
    assert!(throttled >= 1, "busy loop never throttled: {inside:?}");
}

#[test]
fn cpu_quota_without_period_is_refused() {
    require_root!();
    let env = Env::new();
    assert_refused(
        &env,
        "quotanoperiod",
        json!({"cpu": {"quota": 20000}}),
        &["linux.resources.cpu.quota", "period"],
    );
}

#[test]
fn cpu_burst_is_written() {
    require_root!();
    let env = Env::new();
    let (id, out) = create_reporting(
        &env,
        "burst",
        json!({"cpu": {"quota": 20000, "period": 100000, "burst": 5000}}),
        &["cpu/cpu.cfs_burst_us"],
    );
    assert_eq!(read(&v1("cpu", &id), "cpu.cfs_burst_us"), "5000");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["cpu/cpu.cfs_burst_us"], "5000");
}

#[test]
fn cpu_idle_is_written() {
    require_root!();
    let env = Env::new();
    let (id, out) = create_reporting(&env, "idle", json!({"cpu": {"idle": 1}}), &["cpu/cpu.idle"]);
    assert_eq!(read(&v1("cpu", &id), "cpu.idle"), "1");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["cpu/cpu.idle"], "1");
}

#[test]
fn cpuset_cpus_and_mems_pin_the_container() {
    require_root!();
    let env = Env::new();
    let files = ["cpuset/cpuset.cpus", "cpuset/cpuset.mems"];
    let script = format!(
        "for f in {}; do echo \"$f=$(cat /sys/fs/cgroup/$f)\"; done; \
         grep -E '^(Cpus|Mems)_allowed_list:' /proc/self/status | tr -d ' \\t' | tr : =; echo END",
        files.join(" ")
    );
    let b = bundle_with(&env, json!({"cpu": {"cpus": "0", "mems": "0"}}), &script);
    let id = env.id("cpuset");
    let out = env.create_ok(&b, &id);
    let dir = v1("cpuset", &id);
    assert_eq!(read(&dir, "cpuset.cpus"), "0");
    assert_eq!(read(&dir, "cpuset.mems"), "0");
    // The host has more than one CPU, or pinning to 0 would prove nothing.
    let all = read(Path::new("/sys/fs/cgroup/cpuset"), "cpuset.cpus");
    assert_ne!(all, "0", "a single-CPU host cannot show pinning");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["cpuset/cpuset.cpus"], "0", "{inside:?}");
    assert_eq!(inside["cpuset/cpuset.mems"], "0", "{inside:?}");
    assert_eq!(inside["Cpus_allowed_list"], "0", "{inside:?}");
    assert_eq!(inside["Mems_allowed_list"], "0", "{inside:?}");
}

// ---- pids ---------------------------------------------------------------------------------

/// A shell that forks eight background sleeps, announcing each; a failed fork is reported
/// on stdout (ash then exits: a fork error is fatal to a non-interactive shell).
const FORK_EIGHT: &str =
    "for i in 1 2 3 4 5 6 7 8; do sleep 1 & echo started $i; done 2>&1; wait; echo END";

/// Create a FORK_EIGHT container with `pids.limit` = `limit`, check pids.max on the host, run
/// it to its end and return its output (nothing left behind).
fn fork_eight_with_pids_limit(env: &Env, limit: i64) -> String {
    let b = bundle_with(env, json!({"pids": {"limit": limit}}), FORK_EIGHT);
    let id = env.id("pids");
    let out = env.create_ok(&b, &id);
    assert_eq!(read(&v1("pids", &id), "pids.max"), limit.to_string());
    assert!(env.hull(&["start", &id]).status.success());
    env.wait_status(&id, "stopped");
    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "delete {id}: {}", text(&o.stderr));
    assert_no_leftovers(env, &id);
    fs::read_to_string(&out).unwrap()
}

#[test]
fn pids_limit_stops_forks_beyond_it() {
    require_root!();
    let env = Env::new();
    let t = fork_eight_with_pids_limit(&env, 5);
    // sh itself + 4 sleeps = 5: the fifth fork fails.
    assert_eq!(
        t,
        "started 1\nstarted 2\nstarted 3\nstarted 4\nsh: can't fork: Resource temporarily unavailable\n"
    );
}

#[test]
fn pids_limit_above_need_lets_forks_succeed() {
    require_root!();
    let env = Env::new();
    let t = fork_eight_with_pids_limit(&env, 20);
    let want: String = (1..=8).map(|i| format!("started {i}\n")).collect();
    assert_eq!(t, want + "END\n");
}

// ---- blkio --------------------------------------------------------------------------------

#[test]
fn blkio_throttles_are_set_on_the_root_disk() {
    require_root!();
    let env = Env::new();
    let disk = root_disk();
    let (maj, min) = disk.split_once(':').unwrap();
    let (maj, min): (u64, u64) = (maj.parse().unwrap(), min.parse().unwrap());
    let entry = |rate: u64| json!([{"major": maj, "minor": min, "rate": rate}]);
    let files = [
        ("blkio.throttle.read_bps_device", 1_048_576),
        ("blkio.throttle.write_bps_device", 2_097_152),
        ("blkio.throttle.read_iops_device", 300),
        ("blkio.throttle.write_iops_device", 400),
    ];
    let inside_files: Vec<String> = files.iter().map(|(f, _)| format!("blkio/{f}")).collect();
    let inside_files: Vec<&str> = inside_files.iter().map(String::as_str).collect();
    let (id, out) = create_reporting(
        &env,
        "blkio",
        json!({"blockIO": {
            "throttleReadBpsDevice": entry(files[0].1),
            "throttleWriteBpsDevice": entry(files[1].1),
            "throttleReadIOPSDevice": entry(files[2].1),
            "throttleWriteIOPSDevice": entry(files[3].1),
        }}),
        &inside_files,
    );
    let dir = v1("blkio", &id);
    for (f, rate) in files {
        assert_eq!(read(&dir, f), format!("{disk} {rate}"), "host {f}");
    }
    let inside = start_and_collect(&env, &id, &out);
    for (f, rate) in files {
        assert_eq!(
            inside[&format!("blkio/{f}")],
            format!("{disk} {rate}"),
            "inside {f}"
        );
    }
}

#[test]
fn blkio_weight_goes_to_the_weight_file_the_host_has() {
    require_root!();
    let env = Env::new();
    match blkio_weight_file() {
        Some(file) => {
            // BFQ (or CFQ) is built in: the weight lands in its file.
            let inside_file = format!("blkio/{file}");
            let (id, out) = create_reporting(
                &env,
                "weight",
                json!({"blockIO": {"weight": 300}}),
                &[&inside_file],
            );
            let host = read(&v1("blkio", &id), file);
            // BFQ prints `default 300`, CFQ `300`.
            assert_eq!(
                host.split_whitespace().last(),
                Some("300"),
                "{file}: {host}"
            );
            let inside = start_and_collect(&env, &id, &out);
            assert_eq!(
                inside[&inside_file].split_whitespace().last(),
                Some("300"),
                "{inside:?}"
            );
        }
        None => {
            assert_refused(
                &env,
                "weight",
                json!({"blockIO": {"weight": 300}}),
                &["linux.resources.blockIO.weight", "blkio.weight"],
            );
        }
    }
}

// ---- hugetlb, network, rdma ---------------------------------------------------------------

#[test]
fn hugepage_limit_is_written_where_the_host_offers_hugetlb() {
    require_root!();
    let env = Env::new();
    let Some((size, bytes)) = huge_page_size() else {
        panic!("no huge page sizes in /sys/kernel/mm/hugepages");
    };
    let limit = 2 * bytes;
    // A v1 hugetlb hierarchy takes it; on this hybrid host only cgroup2 offers hugetlb.
    let v1_hugetlb = Path::new("/sys/fs/cgroup/hugetlb").is_dir();
    let (inside_file, host_dir_of): (String, fn(&str) -> PathBuf) = if v1_hugetlb {
        (format!("hugetlb/hugetlb.{size}.limit_in_bytes"), |id| {
            v1("hugetlb", id)
        })
    } else {
        assert!(
            unified_offers("hugetlb"),
            "neither a v1 hugetlb hierarchy nor hugetlb in unified/cgroup.controllers"
        );
        (format!("unified/hugetlb.{size}.max"), unified)
    };
    let (id, out) = create_reporting(
        &env,
        "hugetlb",
        json!({"hugepageLimits": [{"pageSize": size, "limit": limit}]}),
        &[&inside_file],
    );
    let host_file = inside_file.split_once('/').unwrap().1;
    assert_eq!(read(&host_dir_of(&id), host_file), limit.to_string());
    // start_and_collect deletes and checks that the unified directory went too.
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside[&inside_file], limit.to_string(), "{inside:?}");
}

#[test]
fn network_class_id_without_net_cls_is_refused() {
    require_root!();
    assert!(
        !Path::new("/sys/fs/cgroup/net_cls").exists(),
        "this host has net_cls"
    );
    let env = Env::new();
    assert_refused(
        &env,
        "classid",
        json!({"network": {"classID": 1048577}}),
        &["linux.resources.network.classID", "net_cls"],
    );
}

#[test]
fn rdma_without_the_controller_is_refused() {
    require_root!();
    assert!(
        !Path::new("/sys/fs/cgroup/rdma").exists(),
        "this host has rdma"
    );
    let env = Env::new();
    assert_refused(
        &env,
        "rdma",
        json!({"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}),
        &["linux.resources.rdma", "rdma cgroup controller"],
    );
}

// ---- unified ------------------------------------------------------------------------------

#[test]
fn unified_key_of_a_v1_only_controller_is_refused() {
    require_root!();
    assert!(!unified_offers("memory"), "memory is on cgroup2 here");
    let env = Env::new();
    assert_refused(
        &env,
        "unifiedmem",
        json!({"unified": {"memory.high": "50000000"}}),
        &["linux.resources.unified.memory.high", "does not exist"],
    );
}

#[test]
fn unified_key_of_the_unified_hierarchy_is_written() {
    require_root!();
    let env = Env::new();
    let (size, bytes) = huge_page_size().expect("huge page sizes");
    assert!(unified_offers("hugetlb"), "hugetlb is not on cgroup2 here");
    let key = format!("hugetlb.{size}.max");
    let value = (4 * bytes).to_string();
    let inside_file = format!("unified/{key}");
    let (id, out) = create_reporting(
        &env,
        "unifiedhuge",
        json!({"unified": {key.clone(): value.clone()}}),
        &[&inside_file],
    );
    assert_eq!(read(&unified(&id), &key), value);
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside[&inside_file], value, "{inside:?}");
}

// ---- no-ops and paths ---------------------------------------------------------------------

#[test]
fn zero_and_unset_resources_are_no_ops() {
    require_root!();
    let env = Env::new();
    let (id, out) = create_reporting(
        &env,
        "zero",
        json!({
            "memory": {},
            "cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
            "blockIO": {"weight": 0},
            "network": {},
            "hugepageLimits": [],
            "unified": {},
        }),
        &[
            "memory/memory.limit_in_bytes",
            "cpu/cpu.shares",
            "cpu/cpu.cfs_quota_us",
        ],
    );
    // The kernel defaults stay: unlimited memory, 1024 shares, no quota.
    let unlimited = read(
        Path::new("/sys/fs/cgroup/memory/hull"),
        "memory.limit_in_bytes",
    );
    assert_eq!(read(&v1("memory", &id), "memory.limit_in_bytes"), unlimited);
    assert_eq!(read(&v1("cpu", &id), "cpu.shares"), "1024");
    assert_eq!(read(&v1("cpu", &id), "cpu.cfs_quota_us"), "-1");
    let inside = start_and_collect(&env, &id, &out);
    assert_eq!(inside["memory/memory.limit_in_bytes"], unlimited);
    assert_eq!(inside["cpu/cpu.shares"], "1024");
    assert_eq!(inside["cpu/cpu.cfs_quota_us"], "-1");
}

#[test]
fn cgroups_path_with_dotdot_is_refused() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["echo", "should-not-run"]);
    let id = env.id("dotdot");
    b.edit(|c| c["linux"]["cgroupsPath"] = json!(format!("/hull/../{id}")));
    let (o, out) = env.create(&b, &id);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("linux.cgroupsPath"), "{err}");
    assert!(err.contains(".."), "{err}");
    assert_eq!(fs::read_to_string(out).unwrap(), "");
    assert_no_leftovers(&env, &id);
}

// ---- pause / resume -----------------------------------------------------------------------

/// A shell printing a counter every 20 ms (progress visible in its stdout file), with a
/// background child so more than one process is frozen.
const TICKER: &str = "sleep 1000 & i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done";

#[test]
fn pause_freezes_and_resume_thaws() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", TICKER]);
    let id = env.id("pause");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    wait_for_output(&out, "\n5\n");
    let freezer = v1("freezer", &id);

    let o = env.hull(&["pause", &id]);
    assert!(o.status.success(), "pause: {}", text(&o.stderr));
    assert_eq!(env.status(&id), "paused");
    assert_eq!(read(&freezer, "freezer.state"), "FROZEN");
    let pids = procs(&freezer);
    assert!(pids.len() >= 2, "{pids:?}");
    for p in &pids {
        // Frozen tasks sleep uninterruptibly.
        assert_eq!(proc_state(*p), Some('D'), "pid {p} is not frozen");
    }
    let before = line_count(&out);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        line_count(&out),
        before,
        "the shell made progress while paused"
    );

    let o = env.hull(&["resume", &id]);
    assert!(o.status.success(), "resume: {}", text(&o.stderr));
    assert_eq!(env.status(&id), "running");
    assert_eq!(read(&freezer, "freezer.state"), "THAWED");
    let mut resumed = false;
    for _ in 0..200 {
        if line_count(&out) > before + 3 {
            resumed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(resumed, "no progress after resume ({before} lines)");

    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    wait_gone(&pids);
    assert_no_leftovers(&env, &id);
}

#[test]
fn pause_and_resume_refuse_containers_in_the_wrong_state() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sleep", "1000"]);
    let id = env.id("pausestate");
    env.create_ok(&b, &id);

    // Created: not running, not paused.
    let o = env.hull(&["pause", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("created"), "{}", text(&o.stderr));
    assert_eq!(env.status(&id), "created");
    assert_eq!(read(&v1("freezer", &id), "freezer.state"), "THAWED");

    // Running: resume refuses.
    assert!(env.hull(&["start", &id]).status.success());
    let o = env.hull(&["resume", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not paused"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(env.status(&id), "running");

    // Stopped: pause refuses, resume too.
    assert!(env.hull(&["kill", &id, "KILL"]).status.success());
    env.wait_status(&id, "stopped");
    let o = env.hull(&["pause", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("stopped"), "{}", text(&o.stderr));
    let o = env.hull(&["resume", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not paused"),
        "{}",
        text(&o.stderr)
    );

    assert!(env.hull(&["delete", &id]).status.success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn delete_force_of_a_paused_container_leaves_nothing() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", TICKER]);
    let id = env.id("delpaused");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    wait_for_output(&out, "\n3\n");
    assert!(env.hull(&["pause", &id]).status.success());
    assert_eq!(env.status(&id), "paused");
    let pids = procs(&v1("freezer", &id));
    assert!(pids.len() >= 2, "{pids:?}");

    // Without --force a paused container stays.
    let o = env.hull(&["delete", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("paused"), "{}", text(&o.stderr));

    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    wait_gone(&pids);
    assert_no_leftovers(&env, &id);
}

// ---- ps, kill --all -----------------------------------------------------------------------

/// A shell with two background sleeps, announcing when they are forked.
const THREE_PROCESSES: &str = "sleep 1000 & sleep 1001 & echo ready; wait";

#[test]
fn ps_lists_exactly_the_container_processes() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&["sh", "-c", THREE_PROCESSES]);
    let id = env.id("ps");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    wait_for_output(&out, "ready\n");
    let want = procs(&v1("pids", &id));
    assert_eq!(want.len(), 3, "{want:?}");

    let o = env.hull(&["ps", "--format", "json", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let mut got: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    got.sort_unstable();
    assert_eq!(got, want);

    let o = env.hull(&["ps", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let col = header.iter().position(|h| *h == "PID").expect("PID column");
    assert!(
        header.contains(&"PPID") && header.contains(&"CMD"),
        "{table}"
    );
    let rows: Vec<&str> = lines.collect();
    let row_pids: BTreeSet<i32> = rows
        .iter()
        .map(|l| l.split_whitespace().nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(row_pids, want.iter().copied().collect(), "{table}");
    assert!(
        table.contains("sleep 1000") && table.contains("sleep 1001"),
        "{table}"
    );

    let o = env.hull(&["delete", "--force", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    wait_gone(&want);
    assert_no_leftovers(&env, &id);
}

#[test]
fn kill_all_kills_every_process_of_the_cgroup() {
    require_root!();
    let env = Env::new();
    // No pid namespace: the background children do not die with the shell.
    let mut b = env.bundle(&["sh", "-c", THREE_PROCESSES]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid")
    });
    let id = env.id("killall");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    wait_for_output(&out, "ready\n");
    let pids = procs(&v1("pids", &id));
    assert_eq!(pids.len(), 3, "{pids:?}");
    let init = env.state(&id)["pid"].as_i64().unwrap() as i32;
    assert!(pids.contains(&init), "{pids:?} lacks init {init}");

    let o = env.hull(&["kill", "--all", &id, "KILL"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    wait_gone(&pids);
    env.wait_status(&id, "stopped");
    assert!(procs(&v1("pids", &id)).is_empty());

    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn kill_all_with_a_catchable_signal_reaches_every_process() {
    require_root!();
    let env = Env::new();
    // TERM has no cgroup.kill shortcut: hull freezes, signals each pid, thaws. The sleeps die
    // of it; the shell traps it and says so.
    let mut b = env.bundle(&[
        "sh",
        "-c",
        "trap 'echo shell-got-term; exit 7' TERM; sleep 1000 & sleep 1001 & echo ready; wait",
    ]);
    b.edit(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid")
    });
    let id = env.id("killallterm");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    wait_for_output(&out, "ready\n");
    let freezer = v1("freezer", &id);
    let pids = procs(&freezer);
    assert_eq!(pids.len(), 3, "{pids:?}");
    wait_for_comm(&pids, "sleep", 2);

    let o = env.hull(&["kill", "--all", &id, "TERM"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    wait_gone(&pids);
    wait_for_output(&out, "shell-got-term\n");
    env.wait_status(&id, "stopped");
    // The freeze around the signalling was undone.
    assert_eq!(read(&freezer, "freezer.state"), "THAWED");

    let o = env.hull(&["delete", &id]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_no_leftovers(&env, &id);
}

#[test]
fn kill_with_sigkill_of_a_paused_container_kills_it() {
    require_root!();
    let env = Env::new();
    // A v1-frozen task does not die of SIGKILL until thawed: kill must thaw after it.
    for all in [false, true] {
        let mut b = env.bundle(&["sh", "-c", TICKER]);
        if all {
            b.edit(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "pid")
            });
        }
        let id = env.id("killpaused");
        let out = env.create_ok(&b, &id);
        assert!(env.hull(&["start", &id]).status.success());
        wait_for_output(&out, "\n3\n");
        assert!(env.hull(&["pause", &id]).status.success());
        let pids = procs(&v1("freezer", &id));
        assert!(pids.len() >= 2, "{pids:?}");

        let args: &[&str] = if all {
            &["kill", "--all", &id, "KILL"]
        } else {
            &["kill", &id, "KILL"]
        };
        let o = env.hull(args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        wait_gone(&pids);
        env.wait_status(&id, "stopped");

        let o = env.hull(&["delete", &id]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert_no_leftovers(&env, &id);
    }
}

#[test]
fn kill_all_with_a_catchable_signal_keeps_a_paused_container_paused() {
    require_root!();
    let env = Env::new();
    let b = env.bundle(&[
        "sh",
        "-c",
        "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    let id = env.id("killpaused");
    let out = env.create_ok(&b, &id);
    assert!(env.hull(&["start", &id]).status.success());
    for _ in 0..200 {
        if std::fs::read_to_string(&out).unwrap().contains("ready") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(env.hull(&["pause", &id]).status.success());
    let o = env.hull(&["kill", "--all", &id, "TERM"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Still paused: the signal waits for resume.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(env.status(&id), "paused");
    assert!(!std::fs::read_to_string(&out).unwrap().contains("got-term"));
    assert!(env.hull(&["resume", &id]).status.success());
    env.wait_status(&id, "stopped");
    assert!(std::fs::read_to_string(&out).unwrap().contains("got-term"));
    assert!(env.hull(&["delete", &id]).status.success());
    assert_no_leftovers(&env, &id);
}

#[test]
fn an_existing_cgroup_is_joined_and_left_in_place() {
    require_root!();
    let env = Env::new();
    let id = env.id("joinexisting");
    let rel = format!("hull-pre-{id}");
    // Made beforehand (as an engine or an operator would), in every hierarchy.
    let made: Vec<std::path::PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.join("cgroup.procs").exists()
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
        })
        .map(|p| p.join(&rel))
        .collect();
    struct Cleanup(Vec<std::path::PathBuf>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for d in &self.0 {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
    let _guard = Cleanup(made.clone());
    for d in &made {
        std::fs::create_dir(d).unwrap();
        if d.starts_with("/sys/fs/cgroup/cpuset") {
            for f in ["cpuset.cpus", "cpuset.mems"] {
                let v = std::fs::read_to_string(d.parent().unwrap().join(f)).unwrap();
                std::fs::write(d.join(f), v.trim()).unwrap();
            }
        }
    }
    let mut b = env.bundle(&["sleep", "100"]);
    b.edit(|c| c["linux"]["cgroupsPath"] = format!("/{rel}").into());
    env.create_ok(&b, &id);
    let pid = env.state(&id)["pid"].as_i64().unwrap().to_string();
    for d in &made {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l == pid),
            "{} does not hold {pid}",
            d.display()
        );
    }
    assert!(env.hull(&["delete", &id]).status.success());
    // hull did not create them, so hull does not remove them.
    for d in &made {
        assert!(d.exists(), "{} was removed", d.display());
    }
}

#[test]
fn realtime_runtime_and_period_are_written_with_a_budget_lent_by_the_parents() {
    require_root!();
    let env = Env::new();
    let out = env.sh(
        "cat /sys/fs/cgroup/cpu/cpu.rt_period_us /sys/fs/cgroup/cpu/cpu.rt_runtime_us",
        |c| {
            c["linux"]["resources"] =
                serde_json::json!({"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 20000}});
        },
    );
    assert_eq!(out, "1000000\n20000\n");
    // Above its period is refused before anything is made.
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        c["linux"]["resources"] =
            serde_json::json!({"cpu": {"realtimePeriod": 1000, "realtimeRuntime": 2000}})
    });
    let id = env.id("rtbad");
    let (code, _, err) = env.run(&b, &id);
    assert_eq!(code, 1);
    assert!(err.contains("linux.resources.cpu.realtimeRuntime"), "{err}");
    assert_no_leftovers(&env, &id);
}

#[test]
fn a_device_denied_by_the_rules_cannot_be_opened_in_the_container() {
    require_root!();
    let env = Env::new();
    // CAP_MKNOD lets the shell make the nodes; the devices cgroup decides whether they open.
    // They are made on /dev (a tmpfs without nodev): on a nodev mount such as the config's /tmp
    // every device open fails with EACCES, whatever the cgroup says.
    let script = "mknod /dev/t-sda b 8 0; mknod /dev/t-fuse c 10 229; \
                  ls -l /dev/t-sda; echo sda: $(head -c 0 /dev/t-sda 2>&1 && echo open); \
                  echo fuse: $(head -c 0 /dev/t-fuse 2>&1 && echo open); \
                  head -c 1 /dev/zero | wc -c; cat /sys/fs/cgroup/devices/devices.list";
    let out = env.sh(script, |c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set] =
                serde_json::json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE"]);
        }
        // Allow the fuse node explicitly; nothing allows block device 8:0.
        c["linux"]["resources"] = serde_json::json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
        ]});
    });
    assert!(
        out.lines().any(|l| l.starts_with("brw")),
        "mknod must have worked: {out}"
    );
    // The devices cgroup answers EPERM.
    let sda = out.lines().find(|l| l.starts_with("sda:")).unwrap();
    assert!(sda.contains("not permitted"), "{out}");
    // fuse passes the cgroup: it opens, or the driver answers (ENODEV), never EPERM.
    let fuse = out.lines().find(|l| l.starts_with("fuse:")).unwrap();
    assert!(
        fuse == "fuse: open" || fuse.contains("No such device"),
        "{out}"
    );
    assert!(out.contains("c 10:229 rw"), "{out}");
    assert!(
        out.contains("c 1:5 rwm"),
        "the default allowlist is appended: {out}"
    );
    assert!(!out.contains("a *:* rwm"), "deny-all first: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.contains(&"1"), "/dev/zero must open: {out}");
}

/// A create that fails after its init joined a cgroup that was there before — one a running
/// container holds, the same cgroupsPath — kills its own init only: the other container's
/// processes live on, and its cgroup stays. Checked to fail: with the cleanup's `kill_all`
/// unconditional (the code before), the first container's init was killed.
#[test]
fn a_failed_create_in_a_shared_cgroup_kills_only_its_own() {
    require_root!();
    let env = Env::new();
    let path = format!("/hull-shared-{}/c", std::process::id());
    let mut a = env.bundle(&["sleep", "1000"]);
    a.edit(|c| c["linux"]["cgroupsPath"] = json!(path));
    let first = env.id("shared1");
    env.create_ok(&a, &first);
    let state: Value = serde_json::from_slice(&env.hull(&["state", &first]).stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap() as i32;
    let mut b = env.bundle(&["true"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(path);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt/x", "type": "bind", "source": "/nonexistent-hull-source",
            "options": ["bind"]
        }));
    });
    let second = env.id("shared2");
    let o = env.hull(&["create", "--bundle", b.dir.to_str().unwrap(), &second]);
    assert!(!o.status.success(), "the second create should fail");
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(alive, "the first container's init was killed");
    assert_eq!(env.status(&first), "created");
    let shared = Path::new("/sys/fs/cgroup/pids").join(path.trim_start_matches('/'));
    assert!(shared.is_dir(), "{} removed", shared.display());
    let o = env.hull(&["delete", "--force", &first]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        !shared.parent().unwrap().exists(),
        "the first container's cgroups left"
    );
    assert_no_leftovers(&env, &second);
}
