//! runc's command line, the compatibility contract: the same global options and subcommands,
//! with the same flag names (see runc's man pages). Parsing only; each subcommand's behaviour is in
//! `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// hull: an OCI container runtime that speaks runc's command line.
#[derive(Parser, Debug)]
#[command(name = "hull", disable_version_flag = true, about, long_about = None)]
pub struct Cli {
    /// Root directory for container state (tmpfs recommended).
    #[arg(long, global = true, default_value = "/run/hull", value_name = "DIR")]
    pub root: PathBuf,
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
    /// Manage cgroups through systemd (not supported yet: a clear error when it would matter).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Ignore cgroup permission errors: true, false or auto (accepted; rootless mode is not
    /// supported yet).
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
    Create(CreateArgs),
    /// Start a created container's process.
    Start(IdArg),
    /// Print the state of a container as JSON.
    State(IdArg),
    /// Send a signal to a container's init process.
    Kill(KillArgs),
    /// Delete a container and everything it holds.
    Delete(DeleteArgs),
    /// Create and start a container (in the foreground unless --detach).
    Run(RunArgs),
    /// List containers under --root.
    #[command(alias = "ls")]
    List(ListArgs),
    /// Write a default config.json.
    Spec(SpecArgs),
    /// Suspend every process of a container (cgroup freezer).
    Pause(IdArg),
    /// Resume a paused container.
    Resume(IdArg),
    /// List the processes of a container.
    Ps(PsArgs),
    /// Stream a container's events (OOM) or resource statistics.
    Events(EventsArgs),
    /// Change a running container's resource limits.
    Update(UpdateArgs),
    /// Run a new process inside a running container.
    Exec(ExecArgs),
    /// Print the features this runtime implements (OCI features JSON).
    Features,
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
    /// SELinux label (not supported on this host).
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile (not supported on this host).
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
