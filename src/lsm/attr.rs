//! The attribute writer: what goes to which `attr` file of the calling task (runc's and
//! go-selinux's bytes and files), through [`AttrFiles`] — hull's verified procfs in the payload
//! (`sys::procfs::ProcRoot`: openat2 beneath a procfs of its own, no symlink followed, the
//! file checked to be on procfs), a plain directory in the unit tests. Each value is one
//! write(2), as the kernel wants: an attr file takes one whole value per write.
//!
//! - AppArmor (runc's `aa_change_onexec`): `exec PROFILE` to `thread-self/attr/apparmor/exec`,
//!   or to `thread-self/attr/exec` where `self/attr/apparmor/exec` does not exist (kernels
//!   before 5.8 have no per-LSM directory).
//! - SELinux (go-selinux): the label as is to `thread-self/attr/exec`, and to
//!   `self/attr/keycreate` (the thread-group leader's) before the session keyring; a kernel
//!   without keys has no such file, which is no error.

use std::path::{Path, PathBuf};

use super::Labels;
use crate::error::{quote, Context, Result};
use crate::sys::procfs::ProcRoot;

/// The calling task's attribute files.
pub trait AttrFiles {
    /// Whether `rel` exists in the directory of the calling process (`self/…`).
    fn exists(&self, rel: &str) -> std::io::Result<bool>;
    /// Write `value` to the existing file `rel` in the directory of the calling thread
    /// (`thread-self/…`) or, with `thread` false, of its process (`self/…`), in one write(2).
    fn write(&self, thread: bool, rel: &str, value: &[u8]) -> std::io::Result<()>;
}

impl AttrFiles for ProcRoot {
    fn exists(&self, rel: &str) -> std::io::Result<bool> {
        let path = self.task_dir(false)?.join(rel);
        match self.open_beneath(&path, libc::O_PATH) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn write(&self, thread: bool, rel: &str, value: &[u8]) -> std::io::Result<()> {
        let path = self.task_dir(thread)?.join(rel);
        let fd = self.open_beneath(&path, libc::O_WRONLY)?;
        write_once(&fd, value)
    }
}

/// One write(2) of the whole value.
fn write_once(fd: &impl std::os::fd::AsRawFd, value: &[u8]) -> std::io::Result<()> {
    let n = crate::sys::fd::write(fd.as_raw_fd(), value)?;
    if n != value.len() {
        return Err(std::io::Error::other(format!(
            "short write: {n} of {} bytes",
            value.len()
        )));
    }
    Ok(())
}

/// How a path shows in messages: `/proc/thread-self/attr/exec`.
fn shown(thread: bool, rel: &str) -> PathBuf {
    let dir = if thread { "thread-self" } else { "self" };
    Path::new("/proc").join(dir).join(rel)
}

/// AppArmor: change to `profile` at the next execve.
fn apparmor_exec(files: &dyn AttrFiles, profile: &str) -> Result<()> {
    const NEW: &str = "attr/apparmor/exec";
    let rel = if files
        .exists(NEW)
        .with_context(|| shown(false, NEW).display().to_string())?
    {
        NEW
    } else {
        "attr/exec"
    };
    files
        .write(true, rel, format!("exec {profile}").as_bytes())
        .with_context(|| format!("write to {}", shown(true, rel).display()))
        .with_context(|| format!("process.apparmorProfile: apply {}", quote(profile)))
}

/// SELinux: run the next execve's program with `label`.
fn selinux_exec(files: &dyn AttrFiles, label: &str) -> Result<()> {
    files
        .write(true, "attr/exec", label.as_bytes())
        .with_context(|| format!("write to {}", shown(true, "attr/exec").display()))
        .with_context(|| format!("process.selinuxLabel: apply {}", quote(label)))
}

/// The labels of `labels` for the next execve: AppArmor's profile, then SELinux's label.
pub fn set_exec(files: &dyn AttrFiles, labels: &Labels) -> Result<()> {
    if let Some(p) = labels.apparmor {
        apparmor_exec(files, p)?;
    }
    if let Some(l) = labels.selinux {
        selinux_exec(files, l)?;
    }
    Ok(())
}

/// SELinux: label the keyrings this process creates (the session keyring next) with `label`.
pub fn selinux_keycreate(files: &dyn AttrFiles, label: &str) -> Result<()> {
    const KEYCREATE: &str = "attr/keycreate";
    match files.write(false, KEYCREATE, label.as_bytes()) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r
            .with_context(|| format!("write to {}", shown(false, KEYCREATE).display()))
            .with_context(|| format!("process.selinuxLabel: key label {}", quote(label))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A procfs-like directory: `self/` and `thread-self/` with the attr files a kernel has.
    struct FakeProc(PathBuf);

    impl FakeProc {
        fn new(tag: &str, files: &[&str]) -> FakeProc {
            let dir = std::env::temp_dir().join(format!("hull-attr-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            for f in files {
                let p = dir.join(f);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(&p, "").unwrap();
            }
            FakeProc(dir)
        }

        fn read(&self, f: &str) -> String {
            fs::read_to_string(self.0.join(f)).unwrap()
        }
    }

    impl Drop for FakeProc {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    impl AttrFiles for FakeProc {
        fn exists(&self, rel: &str) -> std::io::Result<bool> {
            Ok(self.0.join("self").join(rel).exists())
        }

        fn write(&self, thread: bool, rel: &str, value: &[u8]) -> std::io::Result<()> {
            let dir = if thread { "thread-self" } else { "self" };
            // Like procfs: the file must exist (no O_CREAT).
            let f = fs::OpenOptions::new()
                .write(true)
                .open(self.0.join(dir).join(rel))?;
            write_once(&f, value)
        }
    }

    const BOTH: [&str; 2] = ["attr/apparmor/exec", "attr/exec"];

    fn kernel(tag: &str, files: &[&str]) -> FakeProc {
        let mut all = Vec::new();
        for dir in ["self", "thread-self"] {
            all.extend(files.iter().map(|f| format!("{dir}/{f}")));
        }
        FakeProc::new(tag, &all.iter().map(String::as_str).collect::<Vec<_>>())
    }

    #[test]
    fn apparmor_uses_its_own_directory_where_the_kernel_has_one() {
        let k = kernel("aa-new", &BOTH);
        let labels = Labels {
            apparmor: Some("docker-default"),
            selinux: None,
        };
        set_exec(&k, &labels).unwrap();
        assert_eq!(
            k.read("thread-self/attr/apparmor/exec"),
            "exec docker-default"
        );
        assert_eq!(k.read("thread-self/attr/exec"), "");
        assert_eq!(k.read("self/attr/apparmor/exec"), "");
    }

    #[test]
    fn apparmor_falls_back_to_attr_exec_on_older_kernels() {
        let k = kernel("aa-old", &["attr/exec"]);
        let labels = Labels {
            apparmor: Some("cri-containerd.apparmor.d"),
            selinux: None,
        };
        set_exec(&k, &labels).unwrap();
        assert_eq!(
            k.read("thread-self/attr/exec"),
            "exec cri-containerd.apparmor.d"
        );
    }

    #[test]
    fn selinux_writes_the_bare_label_to_attr_exec_and_keycreate() {
        let k = kernel("se", &["attr/exec", "attr/keycreate"]);
        let label = "system_u:system_r:container_t:s0:c124,c675";
        let labels = Labels {
            apparmor: None,
            selinux: Some(label),
        };
        set_exec(&k, &labels).unwrap();
        assert_eq!(k.read("thread-self/attr/exec"), label);
        selinux_keycreate(&k, label).unwrap();
        // The process's keycreate, not the thread's.
        assert_eq!(k.read("self/attr/keycreate"), label);
        assert_eq!(k.read("thread-self/attr/keycreate"), "");
    }

    #[test]
    fn a_kernel_without_keys_has_no_keycreate_and_that_is_fine() {
        let k = kernel("se-nokeys", &["attr/exec"]);
        selinux_keycreate(&k, "system_u:system_r:container_t:s0").unwrap();
    }

    #[test]
    fn no_labels_write_nothing() {
        let k = kernel("none", &BOTH);
        set_exec(&k, &Labels::default()).unwrap();
        assert_eq!(k.read("thread-self/attr/exec"), "");
        assert_eq!(k.read("thread-self/attr/apparmor/exec"), "");
    }

    #[test]
    fn a_refused_write_names_the_field_the_label_and_the_file() {
        let k = kernel("refused", &[]);
        let labels = Labels {
            apparmor: Some("p"),
            selinux: None,
        };
        let e = set_exec(&k, &labels).unwrap_err().render();
        assert_eq!(
            e,
            "process.apparmorProfile: apply \"p\": write to /proc/thread-self/attr/exec: no such file or directory"
        );
    }

    // The real kernel through hull's procfs (root: a new procfs instance). Where neither LSM
    // runs (this CI host) the files are found and opened, and the kernel refuses the values:
    // EINVAL, what a create on such a host would meet without hull's check.
    #[test]
    fn the_real_procfs_opens_the_files_and_a_host_without_an_lsm_refuses_the_values() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to mount a procfs instance");
            return;
        }
        if super::super::apparmor_enabled() || super::super::selinux_enabled() {
            eprintln!("skipped: an LSM is enabled here; the test would label this process");
            return;
        }
        let proc = ProcRoot::open().unwrap();
        let labels = Labels {
            apparmor: Some("hull-test"),
            selinux: None,
        };
        let e = set_exec(&proc, &labels).unwrap_err();
        assert_eq!(e.errno(), Some(libc::EINVAL), "{}", e.render());
        let labels = Labels {
            apparmor: None,
            selinux: Some("system_u:system_r:container_t:s0"),
        };
        let e = set_exec(&proc, &labels).unwrap_err();
        assert_eq!(e.errno(), Some(libc::EINVAL), "{}", e.render());
        // The process's file: from a test thread that is not the thread-group leader the
        // kernel refuses before it asks the LSMs ("a task may only write its own attributes").
        let e = selinux_keycreate(&proc, "system_u:system_r:container_t:s0").unwrap_err();
        // SAFETY: gettid has no arguments.
        let leader = unsafe { libc::gettid() } as u32 == std::process::id();
        let want = if leader { libc::EINVAL } else { libc::EACCES };
        assert_eq!(e.errno(), Some(want), "{}", e.render());
    }
}
