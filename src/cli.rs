//! runc's command line, the compatibility contract: the same global options and subcommands,
//! with the same flag names (see runc's man pages). Parsing only; each subcommand's behaviour is in
//! `commands/`. A mistake on the command line is one line naming it and pointing at `--help`
//! ([`usage_error`]), not clap's usage block.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::error::{quote, short};

mod fast;
pub use fast::parse_fast;

/// runc's exit code for a subcommand it does not know (urfave/cli's "No help topic for …").
const UNKNOWN_COMMAND_EXIT: i32 = 3;

/// A command-line mistake (clap's error) as one line, without the `hull: ` prefix, and runc's
/// exit code for it: `kill: unexpected argument "-9" (see 'hull kill --help')`, exit 1 (3 for
/// an unknown subcommand). Everything it quotes from `args` is shortened (`error::quote`).
/// `--help` and `--version` are not mistakes: `main` prints those as clap renders them.
pub fn usage_error(e: &clap::Error, args: &[OsString]) -> (String, i32) {
    let text = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join(", ")),
        _ => None,
    };
    let arg = || text(ContextKind::InvalidArg).unwrap_or_default();
    let value = || text(ContextKind::InvalidValue).unwrap_or_default();
    let mut code = 1;
    let msg = match e.kind() {
        ErrorKind::UnknownArgument => format!("unexpected argument {}", quote(&arg())),
        ErrorKind::InvalidSubcommand => {
            code = UNKNOWN_COMMAND_EXIT;
            let sub = text(ContextKind::InvalidSubcommand).unwrap_or_default();
            format!("unknown command {}", quote(&sub))
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = e.get(ContextKind::InvalidArg);
            let n = match missing {
                Some(ContextValue::Strings(v)) => v.len(),
                _ => 1,
            };
            let s = if n > 1 { "s" } else { "" };
            format!("missing argument{s} {}", arg())
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "missing command".to_string()
        }
        ErrorKind::InvalidValue if value().is_empty() => format!("missing value for {}", arg()),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let mut m = format!("invalid value {} for {}", quote(&value()), arg());
            if let Some(why) = std::error::Error::source(e) {
                m.push_str(&format!(": {}", short(&why.to_string())));
            }
            m
        }
        ErrorKind::TooManyValues => {
            format!("unexpected value {} for {}", quote(&value()), arg())
        }
        _ => {
            // The rest are clap's own wording: its first line, the echoes of `args` shortened.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let inputs: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
            let first = crate::error::shorten_echoes(first, inputs.iter().map(String::as_str));
            short(&first).to_string()
        }
    };
    let (prefix, help) = match subcommand_of(args) {
        Some(sub) if e.kind() != ErrorKind::InvalidSubcommand => {
            (format!("{sub}: "), format!("hull {sub} --help"))
        }
        _ => (String::new(), "hull --help".to_string()),
    };
    (format!("{prefix}{msg} (see '{help}')"), code)
}

/// The subcommand a command line names (aliases resolved), found as clap finds it: the first
/// word that is neither an option nor the value of a global option before it.
fn subcommand_of(args: &[OsString]) -> Option<String> {
    let cmd = Cli::command();
    let takes_value =
        |found: Option<&clap::Arg>| found.is_some_and(|a| a.get_action().takes_values());
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--" {
            return None;
        }
        let option = if let Some(long) = w.strip_prefix("--") {
            Some(cmd.get_arguments().find(|a| a.get_long() == Some(long)))
        } else if let Some(short) = w.strip_prefix('-').filter(|s| s.chars().count() == 1) {
            let c = short.chars().next();
            Some(cmd.get_arguments().find(|a| a.get_short() == c))
        } else if w.starts_with('-') && w.len() > 1 {
            Some(None) // -abc: bundled short flags (no global one takes a value)
        } else {
            None
        };
        match option {
            Some(found) => {
                if takes_value(found) {
                    words.next();
                }
            }
            None => return cmd.find_subcommand(&*w).map(|s| s.get_name().to_string()),
        }
    }
    None
}

/// Parse hull's command line as `Cli::try_parse_from` does, but without freeing clap's command
/// tree afterwards: the process ends soon, and dropping the tree was a tenth of the
/// instructions of a whole `hull state` (callgrind; issue #16).
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    if let Some(cli) = parse_fast(args) {
        return Ok(cli);
    }
    parse_clap(args)
}

/// clap's parse alone (what [`parse`] falls back to; `fast.rs`'s tests compare both).
pub fn parse_clap(args: &[OsString]) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut cmd = Cli::command();
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m).map_err(|e| e.format(&mut cmd)));
    std::mem::forget(cmd);
    parsed
}

/// hull: an OCI container runtime that speaks runc's command line.
#[derive(Parser, Debug)]
#[command(
    name = "hull",
    disable_version_flag = true,
    about,
    long_about = None,
    after_help = "Example: hull run --bundle bundles/busybox demo   (see hull SUBCOMMAND --help, man hull)"
)]
pub struct Cli {
    /// Root directory for container state (tmpfs recommended) [default: /run/hull, or
    /// $XDG_RUNTIME_DIR/hull for a user other than root]
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Write log records to this file instead of stderr.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Log record format: text or json.
    #[arg(
        long = "log-format",
        global = true,
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: String,
    /// Enable debug logging.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd: cgroupsPath is slice:prefix:name (pure cgroup v2 hosts).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto (the default: when not run by host root). Before
    /// the subcommand, as runc's (`spec --rootless` is spec's own flag).
    #[arg(long, value_name = "BOOL")]
    pub rootless: Option<String>,
    /// Path to criu (accepted for compatibility; checkpoint is not supported).
    #[arg(long, global = true, value_name = "PATH", hide = true)]
    pub criu: Option<String>,
    /// Print the version.
    #[arg(short = 'v', long)]
    pub version: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// runc's subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container (its process waits for `start`).
    #[command(after_help = "Example: hull create --bundle /containers/web web1")]
    Create(CreateArgs),
    /// Start a created container's process.
    #[command(after_help = "Example: hull start web1")]
    Start(IdArg),
    /// Print the state of a container as JSON.
    #[command(after_help = "Example: hull state web1")]
    State(IdArg),
    /// Send a signal to a container's init process.
    #[command(
        after_help = "Example: hull kill web1 TERM   (hull kill --all web1 KILL: every process)"
    )]
    Kill(KillArgs),
    /// Delete a container and everything it holds.
    #[command(after_help = "Example: hull delete --force web1")]
    Delete(DeleteArgs),
    /// Create and start a container (in the foreground unless --detach).
    #[command(after_help = "Example: hull run --bundle /containers/web web1")]
    Run(RunArgs),
    /// List containers under --root.
    #[command(alias = "ls")]
    #[command(after_help = "Example: hull list --format json")]
    List(ListArgs),
    /// Write a default config.json.
    #[command(after_help = "Example: hull spec --rootless --bundle ./mybundle")]
    Spec(SpecArgs),
    /// Suspend every process of a container (cgroup freezer).
    #[command(after_help = "Example: hull pause web1")]
    Pause(IdArg),
    /// Resume a paused container.
    #[command(after_help = "Example: hull resume web1")]
    Resume(IdArg),
    /// List the processes of a container.
    #[command(after_help = "Example: hull ps --format json web1")]
    Ps(PsArgs),
    /// Stream a container's events (OOM) or resource statistics.
    #[command(after_help = "Example: hull events --stats --interval 5s web1")]
    Events(EventsArgs),
    /// Change a running container's resource limits.
    #[command(after_help = "Example: hull update --memory 256M --pids-limit 100 web1")]
    Update(UpdateArgs),
    /// Run a new process inside a running container.
    #[command(after_help = "Example: hull exec --tty web1 sh")]
    Exec(ExecArgs),
    /// Print the features this runtime implements (OCI features JSON).
    #[command(after_help = "Example: hull features")]
    Features,
    /// Check a bundle against the spec and this host without creating anything: every problem
    /// create would meet, at once (hull's own; runc has none).
    Check(CheckArgs),
}

/// `check` flags (hull's own command).
#[derive(Args, Debug)]
#[command(after_help = "Example: hull check --bundle /containers/web --format json")]
pub struct CheckArgs {
    /// Bundle directory (config.json and the rootfs it names).
    #[arg(short = 'b', long, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Output: one line per problem (text) or a JSON document for tools (json).
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// `exec` flags (runc's).
#[derive(Args, Debug, Default)]
pub struct ExecArgs {
    /// Unix socket that receives the pty master when a terminal is requested.
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the new process.
    #[arg(long = "pidfd-socket", value_name = "PATH")]
    pub pidfd_socket: Option<PathBuf>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Extra environment variables (KEY=VALUE), repeatable.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID[:GID] to run as.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional gids, repeatable.
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// An OCI Process JSON file describing the process (its terminal field counts).
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Detach from the process.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the new process's pid to.
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// SELinux label of the process (instead of the config's).
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile of the process (instead of the config's).
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability, repeatable (e.g. CAP_NET_ADMIN).
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Pass N extra file descriptors (3 .. 3+N-1).
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run in this sub-cgroup of the container (v2) or controller:path list.
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Container id.
    pub id: String,
    /// The command and its arguments (unless --process is given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `ps` flags.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Output format: table (ps output) or json (pids).
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// Container id.
    pub id: String,
    /// Options passed to ps(1) (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `events` flags.
#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print one stats event and exit.
    #[arg(long)]
    pub stats: bool,
    /// Interval between stats events (Go duration, e.g. 5s, 500ms).
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// Container id.
    pub id: String,
}

/// `update` flags (runc's names). Zero or absent values mean unchanged.
#[derive(Args, Debug, Default)]
pub struct UpdateArgs {
    /// A LinuxResources JSON file, or - for stdin; flags below override it.
    #[arg(short = 'r', long, value_name = "FILE")]
    pub resources: Option<String>,
    /// Block IO weight (10-1000).
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period (µs).
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota (µs; -1 = unlimited).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst (µs).
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// CPU shares (relative weight).
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period (µs).
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime (µs).
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs allowed (e.g. 0-3).
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes allowed.
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix; -1 = unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation (soft limit).
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory + swap limit (-1 = unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids (-1 or 0 = unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT L3 cache schema (not supported).
    #[arg(long = "l3-cache-schema")]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT memory bandwidth schema (not supported).
    #[arg(long = "mem-bw-schema")]
    pub mem_bw_schema: Option<String>,
    /// Container id.
    pub id: String,
}

/// Just a container id.
#[derive(Args, Debug)]
pub struct IdArg {
    /// Container id.
    pub id: String,
}

/// Flags shared by `create` and `run`.
#[derive(Args, Debug, Clone)]
pub struct CreateOpts {
    /// Path to the bundle directory (default: the current directory).
    #[arg(short = 'b', long, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true.
    #[arg(long = "console-socket", value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the container process.
    #[arg(long = "pidfd-socket", value_name = "PATH")]
    pub pidfd_socket: Option<PathBuf>,
    /// File to write the container process's pid to.
    #[arg(long = "pid-file", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root.
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring.
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra file descriptors (3 .. 3+N-1) to the container process.
    #[arg(long = "preserve-fds", default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
}

/// `create` flags.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Shared create flags.
    #[command(flatten)]
    pub opts: CreateOpts,
    /// Container id.
    pub id: String,
}

/// `run` flags.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Shared create flags.
    #[command(flatten)]
    pub opts: CreateOpts,
    /// Detach from the container's process.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Do not become a subreaper (accepted; hull reaps only its own child).
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// Container id.
    pub id: String,
}

/// `kill` flags.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send the signal to every process in the container.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Container id.
    pub id: String,
    /// Signal name (with or without SIG) or number; default SIGTERM.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

/// `delete` flags.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is still running.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Container id.
    pub id: String,
}

/// `list` flags.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Output format: table or json.
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// Print only the container ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `spec` flags.
#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Directory to write config.json into.
    #[arg(short = 'b', long, default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Write a config for a container started by an unprivileged user.
    #[arg(long)]
    pub rootless: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, exit code) for a command line clap refuses.
    fn mistake(args: &[&str]) -> (String, i32) {
        let args: Vec<OsString> = std::iter::once("hull")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let e = Cli::try_parse_from(&args).expect_err("a mistake");
        assert!(e.use_stderr(), "{args:?} is not a mistake to clap");
        usage_error(&e, &args)
    }

    // Each fails against clap's own rendering (several lines, a usage block) and against a
    // usage_error without subcommand_of (no "kill: " prefix, "see 'hull --help'"): checked by
    // returning e.render() and by making subcommand_of return None.
    #[test]
    fn mistakes_are_one_line_naming_the_subcommand_and_its_help() {
        for (args, want) in [
            (&["kill", "x", "-9"][..], "kill: unexpected argument \"-9\" (see 'hull kill --help')"),
            (&["create", "--bogus", "x"], "create: unexpected argument \"--bogus\" (see 'hull create --help')"),
            (&["start"], "start: missing argument <ID> (see 'hull start --help')"),
            (&["kill", "a", "b", "c"], "kill: unexpected argument \"c\" (see 'hull kill --help')"),
            (&["update", "--memory"], "update: missing value for --memory <MEMORY> (see 'hull update --help')"),
            (
                &["create", "--preserve-fds", "abc", "x"],
                "create: invalid value \"abc\" for --preserve-fds <N>: invalid digit found in string (see 'hull create --help')",
            ),
            // Global options and their values before the subcommand; an alias.
            (&["--root", "kill", "--debug", "state"], "state: missing argument <ID> (see 'hull state --help')"),
            (&["--log-format=json", "ls", "--formt", "x"], "list: unexpected argument \"--formt\" (see 'hull list --help')"),
            (&["-x"], "unexpected argument \"-x\" (see 'hull --help')"),
        ] {
            assert_eq!(mistake(args), (want.to_string(), 1), "{args:?}");
        }
    }

    // runc 1.1.5 exits 3 for a subcommand it does not know; fails with exit code 1 there.
    #[test]
    fn an_unknown_subcommand_exits_3() {
        assert_eq!(
            mistake(&["bogus", "x"]),
            (
                "unknown command \"bogus\" (see 'hull --help')".to_string(),
                3
            )
        );
    }

    // Fails when the quotes are clap's own (5000 bytes): checked with quote() replaced by the
    // plain value.
    #[test]
    fn long_arguments_are_shortened() {
        let long = "z".repeat(5000);
        let flag = format!("--{long}");
        for args in [
            vec!["kill", "a", "b", long.as_str()],
            vec!["create", flag.as_str(), "x"],
            vec![long.as_str()],
            vec!["create", "--preserve-fds", long.as_str(), "x"],
            vec!["create", "-b", "a", "-b", long.as_str(), "x"],
        ] {
            let (line, _) = mistake(&args);
            assert!(line.len() < 300, "{} bytes: {line}", line.len());
            assert!(!line.contains('\n'), "{line}");
        }
        let (line, _) = mistake(&["kill", "a", "b", &long]);
        assert!(line.contains("…(5000 bytes)"), "{line}");
    }

    #[test]
    fn help_and_version_are_not_mistakes() {
        for args in [
            &["hull", "--help"][..],
            &["hull", "kill", "--help"],
            &["hull", "help", "kill"],
        ] {
            let e = Cli::try_parse_from(args).expect_err("help is clap's error");
            assert!(!e.use_stderr(), "{args:?}");
        }
        assert!(Cli::try_parse_from(["hull", "--version"]).unwrap().version);
    }
}
