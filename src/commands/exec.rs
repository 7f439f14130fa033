//! `hull exec ID CMD...` / `hull exec --process FILE ID`: run a new process in a container
//! (`container/exec.rs`; how the process is built: `container/exec_process.rs`). Every failure
//! of exec itself (unknown or stopped container, bad flags, missing binary or cwd) is reported
//! as `exec failed: …` with exit code 255 (`lib.rs`), runc's `fatalWithCode(…, 255)`; only a
//! command line that does not parse exits 1.

use super::Global;
use crate::cli::ExecArgs;
use crate::container::{self, exec::Options, ProcessFlags};
use crate::error::Result;

/// `hull exec`.
pub fn run(g: &Global, a: &ExecArgs) -> Result<i32> {
    let o = Options {
        process_file: a.process.clone(),
        flags: ProcessFlags {
            command: a.command.clone(),
            env: a.env.clone(),
            cwd: a.cwd.clone(),
            user: a.user.clone(),
            additional_gids: a.additional_gids.clone(),
            cap: a.cap.clone(),
            no_new_privs: a.no_new_privs,
            tty: a.tty,
            apparmor: a.apparmor.clone(),
            process_label: a.process_label.clone(),
        },
        detach: a.detach,
        console_socket: a.console_socket.clone(),
        pidfd_socket: a.pidfd_socket.clone(),
        pid_file: a.pid_file.clone(),
        preserve_fds: a.preserve_fds,
        cgroup: a.cgroup.clone(),
        ignore_paused: a.ignore_paused,
        rootless: g.rootless,
    };
    container::exec::exec(&g.root, &a.id, &o)
}
