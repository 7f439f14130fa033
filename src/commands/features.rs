//! `hull features`: the OCI features document (runtime-spec features.md), generated from the
//! same tables the code uses — the namespace list, the caps crate's capabilities, the mount
//! option tables, the seccomp actions/operators/architectures/flags — so it cannot drift.
//! `apparmor.enabled` and `selinux.enabled` say whether a label for that LSM would be applied
//! here, i.e. whether this host runs it (`lsm`'s rules, the ones create and exec apply): a
//! config asking for a label fails where it does not. A deliberate difference: runc reports
//! both true everywhere, and features-linux.md calls them "irrelevant to the availability of
//! AppArmor [SELinux] on the host"; an engine reading hull's gets an answer it can act on.
//! `mountExtensions.idmap.enabled` likewise says whether this kernel has mount_setattr(2)
//! (Linux 5.12), without which no mount can be id-mapped (features-linux.md again asks for
//! the runtime's support "irrespective of" the host; runc says true everywhere).

use serde_json::{json, Value};

use crate::error::Result;
use crate::rootfs::mount::{FLAG_OPTIONS, IDMAP_OPTIONS, PROPAGATION_OPTIONS, RECURSIVE_OPTIONS};
use crate::seccomp::{plan, tables::Arch};

fn names<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

/// The features document.
pub fn features() -> Value {
    let mut mount_options: Vec<&str> = FLAG_OPTIONS.iter().map(|(n, _, _)| *n).collect();
    mount_options.extend(PROPAGATION_OPTIONS.iter().map(|(n, _)| *n));
    mount_options.extend(RECURSIVE_OPTIONS.iter().map(|(n, _, _)| *n));
    mount_options.extend(IDMAP_OPTIONS.iter().map(|(n, _)| *n));
    mount_options.sort_unstable();
    let mut caps: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    caps.sort();
    let namespaces: Vec<&str> = crate::namespaces::ALL
        .iter()
        .map(|t| crate::namespaces::spec_name(*t))
        .collect();
    let flags = names(&plan::FLAGS);
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": namespaces,
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true, "rdma": true},
            "seccomp": {
                "enabled": true,
                "actions": names(&plan::ACTIONS),
                "operators": names(&plan::OPERATORS),
                "archs": Arch::all().iter().map(|a| a.oci_name()).collect::<Vec<_>>(),
                "knownFlags": flags,
                "supportedFlags": flags,
            },
            "apparmor": {"enabled": crate::lsm::apparmor_enabled()},
            "selinux": {"enabled": crate::lsm::selinux_enabled()},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": crate::sys::mount::setattr_exists()}},
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                          "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"],
            },
            "netDevices": {"enabled": true},
        },
        "annotations": {
            "io.github.hull.version": crate::VERSION,
            "io.github.hull.commit": env!("HULL_COMMIT"),
        }
    })
}

/// Print the features JSON.
pub fn run() -> Result<i32> {
    println!(
        "{}",
        serde_json::to_string_pretty(&features()).expect("serializes")
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_mount_option_is_parsed_as_an_option() {
        for o in features()["mountOptions"].as_array().unwrap() {
            let o = o.as_str().unwrap().to_string();
            let parsed = crate::rootfs::mount::parse_options(std::slice::from_ref(&o));
            assert!(
                parsed.data.is_empty(),
                "{o} would be passed as filesystem data"
            );
        }
    }

    #[test]
    fn every_listed_seccomp_name_is_accepted_by_the_compiler() {
        let f = features();
        let sc = &f["linux"]["seccomp"];
        for a in sc["actions"].as_array().unwrap() {
            let mut rule = json!({"names": ["getpid"], "action": a});
            if a == "SCMP_ACT_NOTIFY" {
                rule = json!({"names": ["mkdir"], "action": a});
            }
            let p = json!({"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/x", "syscalls": [rule]});
            crate::seccomp::compile(&serde_json::from_value(p).unwrap(), &Default::default())
                .unwrap();
        }
        for op in sc["operators"].as_array().unwrap() {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": op}]}]});
            crate::seccomp::compile(&serde_json::from_value(p).unwrap(), &Default::default())
                .unwrap();
        }
        for fl in sc["supportedFlags"].as_array().unwrap() {
            let p = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": [fl]});
            crate::seccomp::compile(&serde_json::from_value(p).unwrap(), &Default::default())
                .unwrap();
        }
        assert_eq!(
            sc["archs"],
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
    }

    #[test]
    fn namespaces_and_capabilities_are_the_code_tables() {
        let f = features();
        assert_eq!(f["linux"]["namespaces"].as_array().unwrap().len(), 8);
        let caps = f["linux"]["capabilities"].as_array().unwrap();
        assert!(
            caps.iter().any(|c| c == "CAP_SYS_ADMIN")
                && caps.iter().any(|c| c == "CAP_CHECKPOINT_RESTORE")
        );
        assert_eq!(f["ociVersionMax"], crate::OCI_VERSION);
    }

    #[test]
    fn memory_policy_names_are_the_configs() {
        // Every listed name parses as the config's mode or flag (oci-spec's enums, which
        // attrs::memory_policy maps completely).
        let f = features();
        for m in f["linux"]["memoryPolicy"]["modes"].as_array().unwrap() {
            let p = json!({"mode": m, "nodes": "0", "flags": []});
            serde_json::from_value::<oci_spec::runtime::LinuxMemoryPolicy>(p).unwrap();
        }
        for fl in f["linux"]["memoryPolicy"]["flags"].as_array().unwrap() {
            let p = json!({"mode": "MPOL_BIND", "flags": [fl]});
            serde_json::from_value::<oci_spec::runtime::LinuxMemoryPolicy>(p).unwrap();
        }
        assert_eq!(f["linux"]["netDevices"], json!({"enabled": true}));
    }

    #[test]
    fn idmap_support_is_the_kernels() {
        let f = features();
        let has = crate::sys::mount::setattr_exists();
        assert_eq!(
            f["linux"]["mountExtensions"],
            json!({"idmap": {"enabled": has}})
        );
        // This project's hosts run Linux 6.x.
        assert!(has, "mount_setattr(2) missing");
        let opts = f["mountOptions"].as_array().unwrap();
        assert!(opts.iter().any(|o| o == "idmap") && opts.iter().any(|o| o == "ridmap"));
    }

    #[test]
    fn lsm_support_is_the_hosts() {
        let f = features();
        let aa = crate::lsm::apparmor_enabled();
        let se = crate::lsm::selinux_enabled();
        assert_eq!(f["linux"]["apparmor"], json!({ "enabled": aa }));
        assert_eq!(f["linux"]["selinux"], json!({ "enabled": se }));
    }
}
