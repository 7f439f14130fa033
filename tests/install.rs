//! `make install` and `make uninstall` into a DESTDIR of the test's: the binary runs, every
//! subcommand has its man page, the man pages and the bash, zsh and fish completions name every
//! subcommand and every flag of hull's command line definition (read here from the library, the
//! same `Cli` hull parses), and uninstall leaves no file behind. The binaries are the ones cargo
//! built for this test run (`NO_BUILD=1`: no cargo inside cargo test). The .deb is tested with an
//! engine in tests/engines/ (package.rs).
#![allow(clippy::disallowed_methods)] // tests may use threads and File::create

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use common::*;

/// `make TARGET` in the repository with the test's binaries and `vars`.
pub fn make(target: &str, vars: &[(&str, &Path)]) {
    let mut c = Command::new("make");
    c.arg("--no-print-directory")
        .arg("-C")
        .arg(repo())
        .arg(target)
        .arg("NO_BUILD=1")
        .arg(format!("HULL_BIN={}", env!("CARGO_BIN_EXE_hull")))
        .arg(format!("DOCS_BIN={}", env!("CARGO_BIN_EXE_hull-docs")));
    for (k, v) in vars {
        c.arg(format!("{k}={}", v.display()));
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "make {target}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// (subcommand, its long flags) of hull's command line, the hidden ones and `help` aside;
/// "" is hull itself with its global flags.
fn definition() -> Vec<(String, Vec<String>)> {
    let mut cmd = hull::cli::Cli::command();
    cmd.build();
    let longs = |c: &clap::Command| -> Vec<String> {
        c.get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(String::from))
            .collect()
    };
    let mut out = vec![(String::new(), longs(&cmd))];
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        out.push((sub.get_name().to_string(), longs(sub)));
    }
    out
}

#[test]
fn install_puts_binary_man_pages_and_completions_and_uninstall_removes_them() {
    let env = Env::new();
    let dest = env.dir.join("dest");
    let docs = env.dir.join("docs");
    let vars = [
        ("DESTDIR", dest.as_path()),
        ("PREFIX", Path::new("/usr")),
        ("DOCS_DIR", docs.as_path()),
    ];
    make("install", &vars);
    let usr = dest.join("usr");
    let o = Command::new(usr.join("bin/hull"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        text(&o.stdout).starts_with("hull version "),
        "{}",
        text(&o.stdout)
    );
    let read = |p: &str| fs::read_to_string(usr.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let bash = read("share/bash-completion/completions/hull");
    let zsh = read("share/zsh/vendor-completions/_hull");
    let fish = read("share/fish/vendor_completions.d/hull.fish");
    for (sub, longs) in definition() {
        let page = if sub.is_empty() {
            "hull.8".to_string()
        } else {
            format!("hull-{sub}.8")
        };
        let man = read(&format!("share/man/man8/{page}"));
        if !sub.is_empty() {
            for (shell, script) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
                assert!(script.contains(&sub), "{shell} completion lacks {sub}");
            }
        }
        for long in longs {
            // roff escapes every dash.
            let roff = format!("--{long}").replace('-', "\\-");
            assert!(man.contains(&roff), "{page} lacks --{long}");
            assert!(
                bash.contains(&format!("--{long}")),
                "bash lacks {sub} --{long}"
            );
            assert!(
                zsh.contains(&format!("--{long}")),
                "zsh lacks {sub} --{long}"
            );
            assert!(
                fish.contains(&format!("-l {long}")),
                "fish lacks {sub} --{long}"
            );
        }
        // Each page says how it is used, with an example line.
        assert!(man.contains("Example:"), "{page} has no example");
    }
    for example in [
        "podman-containers.conf",
        "containerd-config.toml",
        "docker-daemon.json",
    ] {
        assert!(usr.join("share/doc/hull/examples").join(example).is_file());
    }
    make("uninstall", &vars);
    assert_eq!(files(&dest), Vec::<PathBuf>::new());
}

/// `make run`'s demo (bundles/demo.sh with the test's hull): the container's side beside the
/// host's — its own hostname, pid 1, few processes, the limits of bundles/demo/config.json, its
/// own namespaces, a read-only root.
#[test]
fn the_demo_shows_the_container_beside_the_host() {
    require_root!();
    let env = Env::new();
    let names = || -> Vec<_> {
        let mut v: Vec<_> = fs::read_dir(rootfs())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    let before = names();
    let o = Command::new(repo().join("bundles/demo.sh"))
        .arg(hull_bin())
        .arg(&env.root)
        .output()
        .unwrap();
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    let row = |key: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} row: {out}"));
        line.split_whitespace().skip(1).map(String::from).collect()
    };
    assert_eq!(row("hostname").last().unwrap(), "hull-demo", "{out}");
    assert_eq!(row("pid").last().unwrap(), "1", "{out}");
    assert_eq!(
        row("memory")[row("memory").len() - 2..],
        ["64", "MiB"],
        "{out}"
    );
    assert_eq!(row("tasks").last().unwrap(), "32", "{out}");
    assert_eq!(row("files").last().unwrap(), "1024", "{out}");
    assert_eq!(row("rootfs").last().unwrap(), "read-only", "{out}");
    for ns in [
        "ns/pid",
        "ns/net",
        "ns/mnt",
        "ns/uts",
        "ns/ipc",
        "ns/cgroup",
    ] {
        let r = row(ns);
        assert_eq!(r.len(), 2, "{out}");
        assert_ne!(r[0], r[1], "{ns} is the host's: {out}");
    }
    // The shared rootfs is as it was (the demo's mounts go over what the image has).
    assert_eq!(names(), before);
    // The container is gone with its state and cgroup.
    assert!(
        fs::read_dir(&env.root).map_or(true, |mut d| d.next().is_none()),
        "state left"
    );
    assert!(cgroup_dirs_named("hull-demo").is_empty());
}
