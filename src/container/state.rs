//! What hull keeps on disk about a container (`<root>/<id>/state.json`): only facts that cannot be
//! read back from the kernel later. The OCI state (runtime.md "State") is built from it plus the
//! derived status. `create` writes it twice: first provisionally, before it makes anything but
//! the state dir (what it is about to make, and who is making it: [`State::creating`]), then
//! for good once init is ready — so a hull killed anywhere in between leaves a record from
//! which `delete --force` removes exactly what exists.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Status;
use crate::cgroups::CgroupState;

/// The saved facts of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Container id.
    pub id: String,
    /// Host pid of the container's init (0 while the state is provisional).
    pub pid: i32,
    /// Start time of that pid (/proc/<pid>/stat field 22), so a reused pid never looks alive.
    pub start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds.
    pub created: String,
    /// The user who created it (empty for root, as runc reports).
    pub owner: String,
    /// The config's annotations.
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The container's cgroups.
    pub cgroup: CgroupState,
    /// The config's hooks, copied at create (poststart and poststop run from here: a later edit
    /// of config.json must not affect the container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// `create --no-new-keyring`: exec's processes keep their caller's session keyring too
    /// (runc's setns init reads the flag from the container's saved config).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_new_keyring: bool,
    /// Set while the state is provisional (`create` has not finished): the hull process
    /// making the container. `cgroup.created` then lists the directories it is about to make.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating: Option<Creator>,
}

/// The process that is creating a container (pid + start time: a reused pid never looks like
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    /// Its pid.
    pub pid: i32,
    /// Its start time (/proc/<pid>/stat field 22).
    pub start_time: u64,
}

impl Creator {
    /// This process.
    pub fn me() -> Creator {
        let pid = std::process::id() as i32;
        let start_time = super::status::proc_stat(pid).map_or(0, |(_, t)| t);
        Creator { pid, start_time }
    }
}

/// The OCI state document, in runc's field order.
#[derive(Debug, Serialize, Deserialize)]
pub struct OciState {
    /// Spec version.
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Init pid (0 once stopped, as runc reports).
    pub pid: i32,
    /// created, running, paused or stopped.
    pub status: String,
    /// Bundle path.
    pub bundle: PathBuf,
    /// Rootfs path.
    pub rootfs: PathBuf,
    /// Creation time.
    pub created: String,
    /// Annotations (omitted when empty).
    #[serde(skip_serializing_if = "HashMap::is_empty", default)]
    pub annotations: HashMap<String, String>,
    /// Owner.
    pub owner: String,
}

impl State {
    /// The OCI state for a given derived status.
    pub fn oci(&self, status: Status) -> OciState {
        OciState {
            oci_version: crate::OCI_VERSION.to_string(),
            id: self.id.clone(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.as_str().to_string(),
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: self.created.clone(),
            annotations: self.annotations.clone(),
            owner: self.owner.clone(),
        }
    }
}
