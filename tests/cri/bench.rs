//! `make bench`'s Kubernetes part (`bench/cri.sh` runs it): the lifecycle of a pod through
//! containerd's CRI plugin, hull's handler beside runc's, interleaved iteration by iteration
//! (this VM's drift then hits both alike), in the CRI world of the tests.
//!
//! One iteration is what kubelet asks of the runtime for a pod of one container:
//! RunPodSandbox, CreateContainer, StartContainer (the container runs: `running`), then
//! StopPodSandbox and RemovePodSandbox (`removed`: the whole lifecycle). `BENCH_RUNS` (20)
//! iterations per handler after 2 of warm-up; medians and the 10th–90th percentile spread,
//! printed and appended to bench/results.md.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::repo;
use crate::world::{CriWorld, HANDLER, IMAGE};

/// The pod's phases of one iteration: (to running, to removed).
fn lifecycle(
    world: &CriWorld,
    cri: &crate::world::Cri,
    handler: &str,
    n: usize,
) -> (Duration, Duration) {
    let name = format!("bench-{handler}-{n}");
    let log_dir = world.logs().join(&name);
    std::fs::create_dir_all(&log_dir).unwrap();
    let sandbox = json!({
        "metadata": {"name": name, "uid": format!("uid-{name}"), "namespace": "hull-bench"},
        "hostname": name,
        "logDirectory": log_dir,
        "linux": {
            "cgroupParent": format!("/{}/{name}", world.name),
            "securityContext": {"namespaceOptions": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}},
        },
    });
    let container = json!({
        "metadata": {"name": "app"},
        "image": {"image": IMAGE},
        "command": ["sleep", "1000"],
        "logPath": "app.log",
        "linux": {"securityContext": {"namespaceOptions": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}},
    });
    let started = Instant::now();
    let pod = cri.call(
        "RunPodSandbox",
        json!({"config": sandbox, "runtimeHandler": handler}),
    )["podSandboxId"]
        .as_str()
        .unwrap()
        .to_string();
    let id = cri.call(
        "CreateContainer",
        json!({"podSandboxId": pod, "config": container, "sandboxConfig": sandbox}),
    )["containerId"]
        .as_str()
        .unwrap()
        .to_string();
    cri.call("StartContainer", json!({"containerId": id}));
    let running = started.elapsed();
    cri.call("StopPodSandbox", json!({"podSandboxId": pod}));
    cri.call("RemovePodSandbox", json!({"podSandboxId": pod}));
    let removed = started.elapsed();
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in rd.flatten() {
            let _ = std::fs::remove_dir(h.path().join(&world.name).join(&name));
        }
    }
    (running, removed)
}

/// The `p`th percentile (0–100) of sorted milliseconds.
fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100]
}

#[test]
#[ignore = "make bench (bench/cri.sh) runs it"]
fn pod_lifecycle() {
    let world = crate::cri_world!();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let cri = world.client();
    let handlers = [HANDLER, "runc"];
    let mut times = vec![(Vec::new(), Vec::new()); handlers.len()];
    for n in 0..runs + 2 {
        for (h, handler) in handlers.iter().enumerate() {
            let (running, removed) = lifecycle(world, &cri, handler, n);
            if n >= 2 {
                times[h].0.push(running.as_secs_f64() * 1000.0);
                times[h].1.push(removed.as_secs_f64() * 1000.0);
            }
        }
    }
    let runtime = |h: &str| {
        let bin = if h == HANDLER {
            crate::common::hull_bin().display().to_string()
        } else {
            "runc".to_string()
        };
        let o = std::process::Command::new(&bin).arg("--version").output();
        let v = o
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        format!("{h} ({})", v.lines().next().unwrap_or("?").trim())
    };
    let mut out = format!(
        "\n## Pod lifecycle through containerd's CRI plugin (median, p10–p90 ms of {runs}, interleaved)\n\n\
         | handler | RunPodSandbox → container running | → pod stopped and removed |\n|---|---|---|\n"
    );
    let mut medians = Vec::new();
    for (h, handler) in handlers.iter().enumerate() {
        let (mut running, mut removed) = times[h].clone();
        running.sort_by(f64::total_cmp);
        removed.sort_by(f64::total_cmp);
        medians.push((percentile(&running, 50), percentile(&removed, 50)));
        writeln!(
            out,
            "| {} | {:.0} ({:.0}–{:.0}) | {:.0} ({:.0}–{:.0}) |",
            runtime(handler),
            percentile(&running, 50),
            percentile(&running, 10),
            percentile(&running, 90),
            percentile(&removed, 50),
            percentile(&removed, 10),
            percentile(&removed, 90),
        )
        .unwrap();
    }
    writeln!(
        out,
        "\nhull/runc: to running {:.2}x, whole lifecycle {:.2}x",
        medians[0].0 / medians[1].0,
        medians[0].1 / medians[1].1
    )
    .unwrap();
    print!("{out}");
    let results = repo().join("bench/results.md");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(results)
        .unwrap();
    std::io::Write::write_all(&mut f, out.as_bytes()).unwrap();
}
