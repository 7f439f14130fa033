//! The hot commands' command line parsed by hand (`parse_fast`), beside clap's parse of the
//! whole command line (`cli.rs`): the tests here hold both to the same result.

use std::ffi::OsString;
use std::path::PathBuf;

use super::{Cli, Command, CreateArgs, CreateOpts, DeleteArgs, IdArg, KillArgs};

/// The hot commands' command line parsed by hand: `state`, `start`, `kill`, `delete` and
/// `create` (which runs twice: again after selfexe's re-exec), which engines run for every
/// container, with global options before the subcommand. Building clap's command tree was
/// about half of the instructions of a whole `hull state` (callgrind; issue #16). Only a plain shape is taken: each global option at most once, as `--opt VALUE`
/// or `--opt=VALUE` with a non-empty value not starting with `-`, then the subcommand, its own
/// flags, then its operands, none starting with `-`. Anything else (`--help`, `--`, a global
/// after the subcommand, a repeated or unknown option, too many operands, a non-UTF-8 word) is
/// `None`, and clap parses it, so errors and help read as they always did. `tests` in this
/// file hold both parsers to the same result on the same argv lists.
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
    let mut seen_format = false;
    let sub = loop {
        let w = words.next()??;
        if !w.starts_with("--") {
            break w;
        }
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (w, None),
        };
        let flag = |set: &mut bool| {
            if *set || inline.is_some() {
                return None;
            }
            *set = true;
            Some(())
        };
        match name {
            "--debug" => flag(&mut cli.debug)?,
            "--systemd-cgroup" => flag(&mut cli.systemd_cgroup)?,
            "--root" | "--log" | "--log-format" => {
                let v = match inline {
                    Some(v) => v,
                    None => words.next()??,
                };
                if v.is_empty() || v.starts_with('-') {
                    return None;
                }
                match name {
                    "--root" if cli.root.is_none() => cli.root = Some(PathBuf::from(v)),
                    "--log" if cli.log.is_none() => cli.log = Some(PathBuf::from(v)),
                    "--log-format" if !seen_format => {
                        seen_format = true;
                        cli.log_format = v.to_string();
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    };
    if sub == "create" {
        cli.command = Some(Command::Create(parse_fast_create(words)?));
        return Some(cli);
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

/// `create`'s words after the subcommand, in the shapes engines use (containerd's shim,
/// conmon): each flag at most once, an option as `--opt VALUE`, `--opt=VALUE` (or `-b DIR`)
/// with a non-empty value not starting with `-`, then the id, last and alone. Anything else is
/// `None` (clap's).
fn parse_fast_create<'a>(mut words: impl Iterator<Item = Option<&'a str>>) -> Option<CreateArgs> {
    let mut opts = CreateOpts {
        bundle: PathBuf::from("."),
        console_socket: None,
        pidfd_socket: None,
        pid_file: None,
        no_pivot: false,
        no_new_keyring: false,
        preserve_fds: 0,
    };
    let mut seen: Vec<&str> = Vec::new();
    let id = loop {
        let w = words.next()??;
        if !w.starts_with('-') {
            break w;
        }
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (w, None),
        };
        let name = if name == "-b" { "--bundle" } else { name };
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        if matches!(name, "--no-pivot" | "--no-new-keyring") {
            if inline.is_some() {
                return None;
            }
            match name {
                "--no-pivot" => opts.no_pivot = true,
                _ => opts.no_new_keyring = true,
            }
            continue;
        }
        if !matches!(
            name,
            "--bundle" | "--console-socket" | "--pidfd-socket" | "--pid-file" | "--preserve-fds"
        ) {
            return None;
        }
        let v = match inline {
            Some(v) => v,
            None => words.next()??,
        };
        if v.is_empty() || v.starts_with('-') {
            return None;
        }
        match name {
            "--bundle" => opts.bundle = PathBuf::from(v),
            "--console-socket" => opts.console_socket = Some(PathBuf::from(v)),
            "--pidfd-socket" => opts.pidfd_socket = Some(PathBuf::from(v)),
            "--pid-file" => opts.pid_file = Some(PathBuf::from(v)),
            _ => {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                opts.preserve_fds = v.parse().ok()?;
            }
        }
    };
    if words.next().is_some() {
        return None;
    }
    Some(CreateArgs {
        opts,
        id: id.to_string(),
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
            &["run", "c1"],
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
