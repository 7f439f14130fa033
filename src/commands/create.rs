//! `hull create ID`: create a container (`container/create.rs`) and leave its init waiting for
//! `start`.

use super::Global;
use crate::cli::{CreateArgs, CreateOpts};
use crate::container::{create::Options, Container};
use crate::error::Result;

/// `hull create`.
pub fn run(g: &Global, a: &CreateArgs) -> Result<i32> {
    Container::create(&g.root, &a.id, &options(g, &a.opts, true))?;
    Ok(0)
}

/// The verb's options from `create`'s and `run`'s shared flags.
pub fn options(g: &Global, o: &CreateOpts, detach: bool) -> Options {
    Options {
        systemd_cgroup: g.systemd_cgroup,
        bundle: o.bundle.clone(),
        console_socket: o.console_socket.clone(),
        pidfd_socket: o.pidfd_socket.clone(),
        pid_file: o.pid_file.clone(),
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        preserve_fds: o.preserve_fds,
        detach,
        rootless: g.rootless,
    }
}
