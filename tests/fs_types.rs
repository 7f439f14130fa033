//! Filesystem types in `mounts`: overlay (data options passed through), the `cgroup` mount
//! (one directory per host hierarchy, bound to the container's own cgroup, read-only), and the
//! kernel filesystems of the default bundle (proc, sysfs, devpts, mqueue, tmpfs).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use common::*;

fn mountinfo_line<'a>(mi: &'a str, mount_point: &str) -> &'a str {
    mi.lines()
        .find(|l| l.split(' ').nth(4) == Some(mount_point))
        .unwrap_or_else(|| panic!("no mount at {mount_point} in:\n{mi}"))
}

#[test]
fn kernel_filesystems_of_the_default_bundle_are_mounted() {
    require_root!();
    let env = Env::new();
    let mi = env.sh("cat /proc/self/mountinfo", |_| {});
    for (mp, fstype) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/tmp", "tmpfs"),
    ] {
        let line = mountinfo_line(&mi, mp);
        assert!(
            line.contains(&format!(" - {fstype} ")),
            "{mp} is not {fstype}: {line}"
        );
    }
    assert!(
        mountinfo_line(&mi, "/sys")
            .split(' ')
            .nth(5)
            .unwrap()
            .starts_with("ro,"),
        "sysfs must be ro"
    );
}

#[test]
fn overlay_mount_merges_lower_and_upper() {
    require_root!();
    let env = Env::new();
    let lower = env.dir.join("lower");
    let upper = env.dir.join("upper");
    let work = env.dir.join("work");
    for d in [&lower, &upper, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(lower.join("from-lower"), "lower\n").unwrap();
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let out = env.sh("cat /tmp/ov/from-lower && echo new > /tmp/ov/written && ls /tmp/ov", |c| {
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!(
            {"destination": "/tmp/ov", "type": "overlay", "source": "overlay", "options": [data, "nodev"]}
        ));
    });
    assert_eq!(out, "lower\nfrom-lower\nwritten\n");
    // The write went to the upper dir on the host; the lower dir is unchanged.
    assert_eq!(
        std::fs::read_to_string(upper.join("written")).unwrap(),
        "new\n"
    );
    assert!(!lower.join("written").exists());
}

#[test]
fn cgroup_mount_shows_each_hierarchy_of_the_container_read_only() {
    require_root!();
    let env = Env::new();
    let mut b = env.bundle(&["sh", "-c", "ls /sys/fs/cgroup; echo procs; cat /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/unified/cgroup.procs; echo end; grep ' /sys/fs/cgroup' /proc/self/mountinfo; echo 1 > /sys/fs/cgroup/pids/pids.max && echo writable"]);
    b.edit(|_| {});
    let id = env.id("cgmount");
    let (code, out, err) = env.run(&b, &id);
    assert_eq!(code, 1, "the write must fail: {out}\n{err}");
    let hierarchies: Vec<String> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("cgroup.procs").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for h in &hierarchies {
        assert!(
            out.lines().any(|l| l == h),
            "hierarchy {h} missing inside: {out}"
        );
    }
    // The container's own cgroup is the root of each: it lists only the container's processes,
    // by their pids in its pid namespace (the shell is 1, the cat a small number).
    let procs: Vec<u32> = out
        .split("procs\n")
        .nth(1)
        .unwrap()
        .split("end\n")
        .next()
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(procs.len(), 4, "{out}");
    assert_eq!((procs[0], procs[2]), (1, 1), "{out}");
    assert!(procs.iter().all(|&p| p < 10), "{out}");
    for l in out.lines().filter(|l| l.contains(" /sys/fs/cgroup")) {
        assert!(
            l.split(' ').nth(5).unwrap().starts_with("ro"),
            "not read-only: {l}"
        );
    }
    assert!(!out.contains("writable"));
    assert!(err.contains("Read-only file system"), "{err}");
    assert_no_leftovers(&env, &id);
}
