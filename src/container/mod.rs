//! A container and its lifecycle. This file owns the state directory under `--root`: id
//! validation, exclusive creation, the lock that serializes commands on one container, and
//! loading/saving `state.json` (`state.rs`); status is derived from facts (`status.rs`), never
//! stored. The verbs live beside it, one room each — `create`, `start`, `run`, `exec`,
//! `delete`/`destroy`, `kill`/`pause`/`resume` (`control.rs`), `update`, `events` — and the
//! commands under `commands/` only turn flags into one verb call and print its result.

mod caller;
mod control;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
mod exec_process;
pub mod run;
mod start;
pub mod state;
pub mod status;
pub mod update;

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub use create::Created;
pub use exec_process::ProcessFlags;
pub use state::State;
pub use status::Status;

use crate::error::{quote, short, Context, Error, Result};
use crate::sys;

/// Name of the exec fifo inside the state dir; its presence means "created".
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";
/// Longest id accepted (runc has no limit; a state dir name must fit NAME_MAX).
pub const MAX_ID_LEN: usize = 250;

/// Check an id: `[A-Za-z0-9_+.-]`, not `.` or `..`, at most [`MAX_ID_LEN`] bytes.
pub fn validate_id(id: &str) -> Result<()> {
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if id.is_empty() || id == "." || id == ".." || !ok_chars || id.len() > MAX_ID_LEN {
        return Err(Error::invalid(format!(
            "invalid container id {}: use 1 to {MAX_ID_LEN} of [A-Za-z0-9_+.-], not \".\" or \"..\"",
            quote(id)
        )));
    }
    Ok(())
}

/// An open, locked container state directory.
pub struct Container {
    /// The container id.
    pub id: String,
    /// `<root>/<id>`.
    pub dir: PathBuf,
    _lock: File,
}

fn lock_dir(dir: &Path) -> Result<File> {
    let f = File::open(dir).with_context(|| format!("open {}", short(&dir)))?;
    // SAFETY: flock on an fd we own; no memory is involved.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    if r != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("lock {}", short(&dir)));
    }
    Ok(f)
}

impl Container {
    /// Make a new state dir; fails with [`Error::Exists`] when the id is taken. A rootless
    /// caller's state root is made private to it (`rootless`).
    pub fn make_dir(root: &Path, id: &str, rootless: bool) -> Result<Container> {
        validate_id(id)?;
        // A user's state root is private to it (runc's $XDG_RUNTIME_DIR/runc is 0700 too), and
        // so is the one of root of a user namespace (rootless podman's), which is a user's.
        let mode = if rootless || crate::rootless::euid() != 0 {
            0o700
        } else {
            0o711
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(root)
            .with_context(|| format!("create state root {}", short(&root)))?;
        check_root(root)?;
        let dir = root.join(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Exists).with_context(|| id.to_string())
            }
            Err(e) => return Err(e).with_context(|| format!("create {}", short(&dir))),
        }
        let lock = lock_dir(&dir)?;
        Ok(Container {
            id: id.to_string(),
            dir,
            _lock: lock,
        })
    }

    /// Open and lock an existing container; [`Error::NotFound`] when there is none.
    pub fn open(root: &Path, id: &str) -> Result<Container> {
        validate_id(id)?;
        check_root(root)?;
        let dir = root.join(id);
        let lock = match File::open(&dir) {
            Ok(_) => lock_dir(&dir)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound).with_context(|| id.to_string())
            }
            Err(e) => return Err(e).with_context(|| format!("open {}", short(&dir))),
        };
        Ok(Container {
            id: id.to_string(),
            dir,
            _lock: lock,
        })
    }

    /// Load state.json; `None` when a create died before writing it.
    pub fn load(&self) -> Result<Option<State>> {
        read_state_file(&self.dir)
    }

    /// Load state.json; a container whose create never finished does not exist.
    pub fn state(&self) -> Result<State> {
        self.load()?
            .ok_or(Error::NotFound)
            .with_context(|| self.id.clone())
    }

    /// Save state.json atomically.
    pub fn save(&self, state: &State) -> Result<()> {
        let data = serde_json::to_vec(state).map_err(|e| Error::Msg(e.to_string()))?;
        crate::fsutil::atomic_write(&self.dir.join(STATE_FILE), &data, 0o600)
    }

    /// The fd holding the lock; children of create close it so the lock ends with hull.
    pub fn lock_fd(&self) -> std::os::fd::RawFd {
        self._lock.as_raw_fd()
    }

    /// Path of the exec fifo.
    pub fn fifo_path(&self) -> PathBuf {
        self.dir.join(EXEC_FIFO)
    }

    /// Remove the state dir (and with it the lock).
    pub fn remove(self) -> Result<()> {
        // The files hull puts there, then the dir: three calls where a walk takes eight; the
        // walk only when something else is left (issue #16).
        for f in [STATE_FILE, EXEC_FIFO] {
            let _ = fs::remove_file(self.dir.join(f));
        }
        match fs::remove_dir(&self.dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => {}
        }
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("remove {}", short(&self.dir))),
        }
    }
}

/// The state root must be the caller's own directory: not a symlink (someone else's, planted
/// where the caller's root would be made, would hand them its containers' state) and owned by
/// the caller's effective uid. A root that does not exist yet is the callers' to report.
pub fn check_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let md = match fs::symlink_metadata(root) {
        Ok(md) => md,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("state root {}", short(&root))),
    };
    if md.file_type().is_symlink() || !md.is_dir() {
        return Err(Error::invalid(format!(
            "state root {} is not a directory but a {}: pass --root a directory of your own",
            short(&root),
            if md.file_type().is_symlink() {
                "symlink"
            } else {
                "file"
            }
        )));
    }
    let me = crate::rootless::euid();
    if md.uid() != me {
        return Err(Error::invalid(format!(
            "state root {} belongs to uid {}, not to you (uid {me}): pass --root a directory of your own",
            short(&root),
            md.uid()
        )));
    }
    Ok(())
}

/// SIGKILL the container's init if it still is the recorded process, and wait up to 10 s for
/// it to be gone.
pub(crate) fn kill_init(st: &State) {
    // The pidfd first, then the check that it is init (pid + start time): a pid reused after
    // the check would otherwise be signalled.
    if let Ok(pidfd) = sys::pidfd::open(st.pid) {
        if status::is_alive(st.pid, st.start_time) {
            sys::pidfd::kill_and_wait(&pidfd, 10_000);
        }
    }
}

fn read_state_file(dir: &Path) -> Result<Option<State>> {
    let path = dir.join(STATE_FILE);
    match fs::read(&path) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(|e| Error::Msg(format!("{}: {e}", short(&path)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", short(&path))),
    }
}

/// Read a container's state without taking the lock (`state`, `list`): state.json is replaced
/// atomically, so a reader sees the old or the new file.
pub fn read_state(root: &Path, id: &str) -> Result<State> {
    validate_id(id)?;
    check_root(root)?;
    match read_state_file(&root.join(id))? {
        Some(s) => Ok(s),
        None => Err(Error::NotFound).with_context(|| id.to_string()),
    }
}

/// Ids of every container under `root`, sorted.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    check_root(root)?;
    let mut ids = Vec::new();
    match fs::read_dir(root) {
        Ok(rd) => {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    ids.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("read {}", short(&root))),
    }
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["a", "abc-1_2+3.4", &"x".repeat(MAX_ID_LEN)] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }
}
