//! `hull spec`: write runc's default config.json (with `process.terminal` false, so that it runs
//! without a console socket or a terminal, and `hostname` "hull"); `--rootless` adapts it for an unprivileged
//! user as runc's does.

use serde_json::{json, Value};

use crate::cli::SpecArgs;
use crate::error::{short, Context, Error, Result};

/// The default config.
pub fn default_spec() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": crate::OCI_VERSION,
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "hull",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// runc's `ToRootless`: a user namespace mapping the caller, no network namespace, /sys bound
/// from the host, no gid= mount options, no resources.
pub fn make_rootless(spec: &mut Value, uid: u32, gid: u32) {
    let linux = &mut spec["linux"];
    linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    if let Some(ns) = linux["namespaces"].as_array_mut() {
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "user"}));
    }
    if let Some(l) = linux.as_object_mut() {
        l.remove("resources");
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if m["destination"] == "/sys" {
                *m = json!({"destination": "/sys", "type": "none", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            } else if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| !o.as_str().unwrap_or("").starts_with("gid="));
            }
        }
    }
}

/// Write `<bundle>/config.json`, refusing to overwrite one.
pub fn run(a: &SpecArgs) -> Result<i32> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(Error::invalid(format!(
            "{} exists; remove it first",
            short(&path)
        )));
    }
    let mut spec = default_spec();
    if a.rootless {
        make_rootless(
            &mut spec,
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        );
    }
    let text = serde_json::to_string_pretty(&spec).expect("serializes") + "\n";
    crate::fsutil::atomic_write(&path, text.as_bytes(), 0o644).context("hull spec")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_parses_and_validates() {
        let spec = crate::spec::parse(&default_spec().to_string()).unwrap();
        crate::spec::validate(&spec).unwrap();
    }

    #[test]
    fn rootless_spec_parses_and_validates() {
        let mut v = default_spec();
        make_rootless(&mut v, 1000, 1000);
        let spec = crate::spec::parse(&v.to_string()).unwrap();
        crate::spec::validate(&spec).unwrap();
        assert!(!v.to_string().contains("\"network\""));
    }
}
