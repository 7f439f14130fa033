//! hull: an OCI runtime-spec 1.2 container runtime with runc's command line.
//!
//! `main.rs` parses the command line and calls [`run`]; every subcommand lives in `commands/`.

pub mod cgroups;
pub mod check;
pub mod cli;
pub mod commands;
pub mod container;
pub mod error;
pub mod fsutil;
pub mod hooks;
pub mod logging;
pub mod lsm;
pub mod namespaces;
pub mod netdev;
pub mod oci;
pub mod process;
pub mod rootfs;
pub mod rootless;
pub mod seccomp;
pub mod selfexe;
pub mod signals;
pub mod spec;
pub mod sys;
pub mod timefmt;
pub mod tty;
pub mod validate;

use cli::{Cli, Command};

/// The version line printed by `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The OCI runtime-spec version hull implements.
pub const OCI_VERSION: &str = "1.3.0";
/// The exit code of `exec` when it fails before (or instead of) the process's own exit: runc's
/// 255.
pub const EXEC_FAILED: i32 = 255;

/// The fds past stdio a command hands to the container process (`--preserve-fds`, socket
/// activation's `LISTEN_FDS`), or `None` for a command that never enters a container.
fn fds_for_the_container(command: &Command) -> Option<u32> {
    match command {
        Command::Create(a) => Some(a.opts.preserve_fds + container::create::listen_fds()),
        Command::Run(a) => Some(a.opts.preserve_fds + container::create::listen_fds()),
        Command::Exec(a) => Some(a.preserve_fds),
        _ => None,
    }
}

/// Run one command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    // Before anything opens a file: of what the caller left open, only stdio and the fds it
    // hands to the container go on (a leaked host directory would be a way out of it: `cwd`
    // /proc/self/fd/N).
    if let Some(n) = cli.command.as_ref().and_then(fds_for_the_container) {
        sys::fd::close_from(3 + n);
    }
    if cli.version {
        println!(
            "hull version {VERSION}\ncommit: {}\nspec: {OCI_VERSION}",
            env!("HULL_COMMIT")
        );
        return 0;
    }
    let format = match cli.log_format.as_str() {
        "json" => logging::Format::Json,
        "text" | "" => logging::Format::Text,
        other => {
            eprintln!(
                "hull: --log-format: unknown format {} (expected text or json)",
                error::quote(other)
            );
            return 1;
        }
    };
    if let Err(e) = logging::init(cli.log.as_deref(), format, cli.debug) {
        eprintln!("hull: {}", e.render());
        return 1;
    }
    let Some(command) = cli.command else {
        eprintln!("hull: no command given; see 'hull --help'");
        return 1;
    };
    // The state root matters to every command but `spec`, `features` and `check`, which must
    // work without one (a user without XDG_RUNTIME_DIR writing or checking a config).
    let needs_root = !matches!(
        command,
        Command::Spec(_) | Command::Features | Command::Check(_)
    );
    let global = match (|| -> error::Result<commands::Global> {
        Ok(commands::Global {
            root: match needs_root {
                true => rootless::state_root(cli.root.as_deref())?,
                false => cli.root.clone().unwrap_or_default(),
            },
            systemd_cgroup: cli.systemd_cgroup,
            // Only the commands that start a process in a container use it; the others only
            // have the flag checked (no /proc read on their path).
            rootless: match &command {
                Command::Create(_) | Command::Run(_) | Command::Exec(_) | Command::Check(_) => {
                    rootless::enabled(cli.rootless.as_deref())?
                }
                _ => rootless::parse(cli.rootless.as_deref()).map(|_| false)?,
            },
        })
    })() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("hull: {}", e.render());
            return 1;
        }
    };
    // runc's exec: every failure once the command line parsed is "exec failed: …", exit 255
    // (fatalWithCode in exec.go), so a caller can tell it from the process's own exit code.
    // Create, run and the rest exit 1, as runc's do.
    let exec = matches!(command, Command::Exec(_));
    let fail = |e: &error::Error| {
        if exec {
            logging::error(&format!("exec failed: {}", e.render()));
            EXEC_FAILED
        } else {
            logging::error(&e.render());
            1
        }
    };
    // Commands that enter a container run from a write-protected hull (see selfexe.rs).
    if matches!(
        command,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        if let Err(e) = selfexe::ensure_protected() {
            return fail(&e);
        }
    }
    let result = match command {
        Command::Create(a) => commands::create::run(&global, &a),
        Command::Start(a) => commands::start::run(&global, &a.id),
        Command::State(a) => commands::state::run(&global, &a.id),
        Command::Kill(a) => commands::kill::run(&global, &a),
        Command::Delete(a) => commands::delete::run(&global, &a),
        Command::Run(a) => commands::run::run(&global, &a),
        Command::List(a) => commands::list::run(&global, &a),
        Command::Spec(a) => commands::spec::run(&a),
        Command::Pause(a) => commands::pause::pause(&global, &a.id),
        Command::Resume(a) => commands::pause::resume(&global, &a.id),
        Command::Ps(a) => commands::ps::run(&global, &a),
        Command::Events(a) => commands::events::run(&global, &a),
        Command::Update(a) => commands::update::run(&global, &a),
        Command::Exec(a) => commands::exec::run(&global, &a),
        Command::Features => commands::features::run(),
        Command::Check(a) => commands::check::run(&global, &a),
    };
    result.unwrap_or_else(|e| fail(&e))
}
