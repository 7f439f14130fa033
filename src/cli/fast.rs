//! The hot commands' command line parsed by hand (`parse_fast`), beside clap's parse of the
//! whole command line (`cli.rs`): the tests here hold both to the same result.

use std::ffi::OsString;
use std::path::PathBuf;

use super::{Cli, Command, CreateArgs, CreateOpts, DeleteArgs, ExecArgs, IdArg, KillArgs, RunArgs};

/// The hot commands' command line parsed by hand: `state`, `start`, `kill`, `delete`, and
/// `create`, `run` and `exec` (each runs twice: again after selfexe's re-exec), which engines
/// run for every container and every exec (Kubernetes' exec probes), with global options before
/// the subcommand. Building clap's command tree was about half of the instructions of a whole
/// `hull state` (callgrind; issue #16). Only a plain shape is taken: each global option at most
/// once, as `--opt VALUE` or `--opt=VALUE` with a non-empty value not starting with `-`, then
/// the subcommand, its own flags, then its operands, none starting with `-`. Anything else
/// (`--help`, `--`, a global after the subcommand, a repeated or unknown option, too many
/// operands, a non-UTF-8 word) is `None`, and clap parses it, so errors and help read as they
/// always did. `tests` in this file hold both parsers to the same result on the same argv
/// lists.
pub fn parse_fast(args: &[OsString]) -> Option<Cli> {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    let mut cli = Cli {
        root: None,
        log: None,
        log_format: "text".to_string(),
        debug: false,
        systemd_cgroup: false,
        rootless: None,
        criu: None,
        version: false,
        command: None,
    };
    let globals = [
        ("--debug", "", false),
        ("--systemd-cgroup", "", false),
        ("--root", "", true),
        ("--log", "", true),
        ("--log-format", "", true),
    ];
    let sub = flags(&mut words, &globals, |name, v| {
        match name {
            "--debug" => cli.debug = true,
            "--systemd-cgroup" => cli.systemd_cgroup = true,
            "--root" => cli.root = v.map(PathBuf::from),
            "--log" => cli.log = v.map(PathBuf::from),
            _ => cli.log_format = v?.to_string(),
        }
        Some(())
    })?;
    match sub {
        "create" | "run" => {
            cli.command = Some(parse_fast_create(words, sub == "run")?);
            return Some(cli);
        }
        "exec" => {
            cli.command = Some(Command::Exec(parse_fast_exec(words)?));
            return Some(cli);
        }
        _ => {}
    }
    let (flag_short, flag_long) = match sub {
        "state" | "start" => ("", ""),
        "kill" => ("-a", "--all"),
        "delete" => ("-f", "--force"),
        _ => return None,
    };
    let mut flag = false;
    let mut operands: Vec<String> = Vec::new();
    for w in words {
        let w = w?;
        if w.starts_with('-') {
            if operands.is_empty()
                && !flag
                && !flag_short.is_empty()
                && (w == flag_short || w == flag_long)
            {
                flag = true;
                continue;
            }
            return None;
        }
        operands.push(w.to_string());
    }
    let mut operands = operands.into_iter();
    let id = operands.next()?;
    let command = match sub {
        "state" | "start" | "delete" if operands.len() > 0 => return None,
        "state" => Command::State(IdArg { id }),
        "start" => Command::Start(IdArg { id }),
        "delete" => Command::Delete(DeleteArgs { force: flag, id }),
        _ => {
            let signal = operands.next().unwrap_or_else(|| "SIGTERM".to_string());
            if operands.len() > 0 {
                return None;
            }
            Command::Kill(KillArgs {
                all: flag,
                id,
                signal,
            })
        }
    };
    cli.command = Some(command);
    Some(cli)
}

/// Flags up to the first operand, which is returned and left taken from `words`: each of
/// `known`'s flags (long name, short name, takes a value) at most once, a value as
/// `--opt VALUE`, `--opt=VALUE` or `-o VALUE`, non-empty and not starting with `-`. `set` takes
/// each flag by its long name. Anything else is `None` (clap's: `-o=V`, `-oV`, a repeated or
/// unknown flag, `--help`, `--`).
fn flags<'a>(
    words: &mut impl Iterator<Item = Option<&'a str>>,
    known: &[(&str, &str, bool)],
    mut set: impl FnMut(&str, Option<&'a str>) -> Option<()>,
) -> Option<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    loop {
        let w = words.next()??;
        if !w.starts_with('-') {
            return Some(w);
        }
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (w, None),
        };
        let &(long, _, takes_value) = known
            .iter()
            .find(|(l, short, _)| name == *l || (!short.is_empty() && name == *short))?;
        if seen.contains(&long) {
            return None;
        }
        seen.push(long);
        let value = match (takes_value, inline) {
            (false, None) => None,
            (false, Some(_)) => return None,
            (true, Some(v)) => Some(v),
            (true, None) => Some(words.next()??),
        };
        if value.is_some_and(|v| v.is_empty() || v.starts_with('-')) {
            return None;
        }
        set(long, value)?;
    }
}

/// The words after `create`, `run` or `exec`, in the shapes engines use (containerd's shim,
/// conmon): [`flags`], then the id, last and alone (a word after it is clap's).
fn fast_flags<'a>(
    mut words: impl Iterator<Item = Option<&'a str>>,
    known: &[(&str, &str, bool)],
    set: impl FnMut(&str, Option<&'a str>) -> Option<()>,
) -> Option<String> {
    let id = flags(&mut words, known, set)?;
    words.next().is_none().then(|| id.to_string())
}

/// `--preserve-fds`' value: digits only (clap's parser takes `+1` too: left to it).
fn fds(v: Option<&str>) -> Option<u32> {
    let v = v?;
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The options `create` and `exec` share, as [`fast_flags`] takes them.
const SHARED: [(&str, &str, bool); 4] = [
    ("--console-socket", "", true),
    ("--pidfd-socket", "", true),
    ("--pid-file", "", true),
    ("--preserve-fds", "", true),
];

/// Their values.
#[derive(Default)]
struct Shared {
    console_socket: Option<PathBuf>,
    pidfd_socket: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    preserve_fds: u32,
}

impl Shared {
    /// Take `name` if it is one of [`SHARED`]: `Some(true)`; `Some(false)` if it is not one,
    /// `None` for a bad value.
    fn take(&mut self, name: &str, v: Option<&str>) -> Option<bool> {
        let path = || v.map(PathBuf::from);
        match name {
            "--console-socket" => self.console_socket = path(),
            "--pidfd-socket" => self.pidfd_socket = path(),
            "--pid-file" => self.pid_file = path(),
            "--preserve-fds" => self.preserve_fds = fds(v)?,
            _ => return Some(false),
        }
        Some(true)
    }
}

/// `create`'s words after the subcommand, or `run`'s (with `run`; see [`fast_flags`]).
fn parse_fast_create<'a>(
    words: impl Iterator<Item = Option<&'a str>>,
    run: bool,
) -> Option<Command> {
    let (mut shared, mut bundle, mut no_pivot, mut no_new_keyring) =
        (Shared::default(), PathBuf::from("."), false, false);
    let (mut detach, mut keep, mut no_subreaper) = (false, false, false);
    let mut known = SHARED.to_vec();
    known.extend([
        ("--bundle", "-b", true),
        ("--no-pivot", "", false),
        ("--no-new-keyring", "", false),
    ]);
    if run {
        known.extend([
            ("--detach", "-d", false),
            ("--keep", "", false),
            ("--no-subreaper", "", false),
        ]);
    }
    let id = fast_flags(words, &known, |name, v| {
        if !shared.take(name, v)? {
            match name {
                "--bundle" => bundle = PathBuf::from(v?),
                "--no-pivot" => no_pivot = true,
                "--no-new-keyring" => no_new_keyring = true,
                "--detach" => detach = true,
                "--keep" => keep = true,
                _ => no_subreaper = true,
            }
        }
        Some(())
    })?;
    let opts = CreateOpts {
        bundle,
        console_socket: shared.console_socket,
        pidfd_socket: shared.pidfd_socket,
        pid_file: shared.pid_file,
        no_pivot,
        no_new_keyring,
        preserve_fds: shared.preserve_fds,
    };
    Some(if run {
        Command::Run(RunArgs {
            opts,
            detach,
            keep,
            no_subreaper,
            id,
        })
    } else {
        Command::Create(CreateArgs { opts, id })
    })
}

/// `exec`'s words after the subcommand in the form engines use, the process in a file
/// (`--process`, which containerd's shim and conmon always pass) and nothing after the id (see
/// [`fast_flags`]). A command line after the id is clap's.
fn parse_fast_exec<'a>(words: impl Iterator<Item = Option<&'a str>>) -> Option<ExecArgs> {
    let (mut shared, mut process, mut detach) = (Shared::default(), None, false);
    let mut known = SHARED.to_vec();
    known.extend([("--process", "-p", true), ("--detach", "-d", false)]);
    let id = fast_flags(words, &known, |name, v| {
        if !shared.take(name, v)? {
            match name {
                "--process" => process = Some(PathBuf::from(v?)),
                _ => detach = true,
            }
        }
        Some(())
    })?;
    Some(ExecArgs {
        console_socket: shared.console_socket,
        pidfd_socket: shared.pidfd_socket,
        pid_file: shared.pid_file,
        preserve_fds: shared.preserve_fds,
        process: Some(process?),
        detach,
        id,
        ..ExecArgs::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::{parse, parse_clap};
    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("hull")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    // The hand parser of the hot commands gives what clap gives, or leaves the line to clap.
    // Fails when parse_fast takes a line clap refuses, reads one differently (a flag, a
    // default signal, a global's value), or leaves a plain hot line to clap.
    #[test]
    fn the_fast_path_parses_hot_commands_as_clap_does() {
        let taken: &[&[&str]] = &[
            &["state", "c1"],
            &["start", "c1"],
            &["delete", "c1"],
            &["delete", "-f", "c1"],
            &["delete", "--force", "c1"],
            &["kill", "c1"],
            &["kill", "c1", "KILL"],
            &["kill", "c1", "9"],
            &["kill", "-a", "c1", "SIGTERM"],
            &["kill", "--all", "c1", "RTMIN+3"],
            &["--root", "/run/x", "state", "c1"],
            &[
                "--root=/run/x",
                "--log",
                "/tmp/l",
                "--log-format",
                "json",
                "--debug",
                "kill",
                "c1",
            ],
            &[
                "--log-format=json",
                "--systemd-cgroup",
                "delete",
                "--force",
                "c1",
            ],
            &["--root", "state", "start", "kill"],
            &["state", "help"],
            &["create", "c1"],
            &["create", "-b", "/b", "c1"],
            &["create", "--bundle=/b", "--pid-file", "/p", "c1"],
            &[
                "--root",
                "/run/containerd/runc/k8s.io",
                "--log",
                "/run/l.json",
                "--log-format",
                "json",
                "--systemd-cgroup",
                "create",
                "--bundle",
                "/run/b",
                "--pid-file",
                "/run/b/init.pid",
                "--console-socket",
                "/tmp/pty.sock",
                "c1",
            ],
            &[
                "create",
                "--no-pivot",
                "--no-new-keyring",
                "--preserve-fds",
                "2",
                "--pidfd-socket=/s",
                "c1",
            ],
            &["create", "--preserve-fds=0", "c1"],
            &["create", "create"],
            &[
                "--root=/run/containerd/runc/default",
                "--log=/run/containerd/io.containerd.runtime.v2.task/default/c1/log.json",
                "--log-format=json",
                "exec",
                "--process",
                "/tmp/runc-process1",
                "--detach",
                "--pid-file",
                "/run/b/p.pid",
                "c1",
            ],
            &[
                "exec",
                "--pid-file",
                "/p",
                "--process",
                "/f",
                "-d",
                "--console-socket=/s",
                "--preserve-fds",
                "1",
                "c1",
            ],
            &["exec", "-p", "/f", "c1"],
            &["exec", "--pidfd-socket", "/s", "--process=/f", "c1"],
            &["run", "c1"],
            &["run", "-d", "--bundle", "/b", "--keep", "c1"],
            &[
                "run",
                "--no-subreaper",
                "--detach",
                "--pid-file=/p",
                "-b",
                "/b",
                "c1",
            ],
        ];
        let left: &[&[&str]] = &[
            &[],
            &["state"],
            &["state", "a", "b"],
            &["start", "-f", "c1"],
            &["delete", "c1", "-f"],
            &["delete", "-f", "-f", "c1"],
            &["delete", "--force=true", "c1"],
            &["kill", "c1", "-9"],
            &["kill", "a", "b", "c"],
            &["kill", "-a", "-a", "c1"],
            &["state", "--help"],
            &["state", "-h"],
            &["--help"],
            &["help", "state"],
            &["-v"],
            &["--version"],
            &["state", "--", "c1"],
            &["state", "--root", "/x", "c1"],
            &["--root", "/a", "--root", "/b", "state", "c1"],
            &["--debug", "--debug", "state", "c1"],
            &["--debug=true", "state", "c1"],
            &["--root", "state"],
            &["--root", "--debug", "state", "c1"],
            &["--root=", "state", "c1"],
            &[
                "--log-format",
                "json",
                "--log-format",
                "text",
                "state",
                "c1",
            ],
            &["--rootless", "true", "state", "c1"],
            &["--criu", "/x", "state", "c1"],
            &["--bogus", "state", "c1"],
            &["-x", "state", "c1"],
            &["ls"],
            &["list"],
            &["create"],
            &["create", "c1", "c2"],
            &["create", "c1", "-b", "/b"],
            &["create", "-b"],
            &["create", "-b", "-x", "c1"],
            &["create", "-b=/b", "c1"],
            &["create", "-b/b", "c1"],
            &["create", "--bundle", "/a", "--bundle", "/b", "c1"],
            &["create", "-b", "/a", "--bundle", "/b", "c1"],
            &["create", "--bundle=", "c1"],
            &["create", "--no-pivot", "--no-pivot", "c1"],
            &["create", "--no-pivot=true", "c1"],
            &["create", "--preserve-fds", "x", "c1"],
            &["create", "--preserve-fds", "+1", "c1"],
            &["create", "--preserve-fds", "99999999999", "c1"],
            &["create", "--detach", "c1"],
            &["create", "--help"],
            &["create", "--", "c1"],
            &["create", "--root", "/x", "c1"],
            &["exec", "c1"],
            &["exec", "c1", "sh"],
            &["exec", "-p", "/f", "c1", "sh"],
            &["exec", "--tty", "-p", "/f", "c1"],
            &["exec", "-t", "c1", "sh"],
            &["exec", "-d", "-d", "-p", "/f", "c1"],
            &["exec", "--detach=true", "-p", "/f", "c1"],
            &["exec", "-p", "/f", "--process", "/g", "c1"],
            &["exec", "-p=/f", "c1"],
            &["exec", "-p", "/f", "--env", "A=1", "c1"],
            &["exec", "-p", "/f", "--preserve-fds", "-1", "c1"],
            &["exec", "-p", "/f", "c1", "--", "sh"],
            &["run"],
            &["run", "c1", "sh"],
            &["run", "-d", "-d", "c1"],
            &["run", "--keep=true", "c1"],
            &["create", "-d", "c1"],
            &["create", "--keep", "c1"],
            &["pause", "c1"],
            &["State", "c1"],
            &["sta", "c1"],
        ];
        for args in taken.iter().chain(left) {
            let a = argv(args);
            let fast = parse_fast(&a).map(|c| format!("{c:?}"));
            let clap = parse_clap(&a).map(|c| format!("{c:?}")).ok();
            if let Some(f) = &fast {
                assert_eq!(Some(f), clap.as_ref(), "{args:?}");
            }
            assert_eq!(fast.is_some(), taken.contains(args), "{args:?}: {fast:?}");
            // What parse gives is what clap gives, either way.
            assert_eq!(parse(&a).map(|c| format!("{c:?}")).ok(), clap, "{args:?}");
        }
        // A word that is not UTF-8 goes to clap.
        use std::os::unix::ffi::OsStringExt;
        let mut a = argv(&["state"]);
        a.push(OsString::from_vec(vec![0x66, 0xff]));
        assert!(parse_fast(&a).is_none());
    }
}
