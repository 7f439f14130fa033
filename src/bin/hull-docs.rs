//! `hull-docs OUTDIR`: hull's man pages and shell completions, generated from the command line
//! definition hull itself parses (`hull::cli::Cli`), so they cannot drift from it: `man8/hull.8`
//! and `man8/hull-SUBCOMMAND.8` (clap_mangen), `completions/hull.bash`, `_hull` (zsh) and
//! `hull.fish` (clap_complete). `make install` and `make deb` run it; the hull binary itself
//! carries neither generator.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

fn man(cmd: clap::Command, path: &Path) -> std::io::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .section("8")
        .manual("hull")
        .render(&mut out)?;
    std::fs::write(path, out)
}

fn generate(out: &Path) -> std::io::Result<()> {
    let mut cmd = hull::cli::Cli::command();
    cmd.build();
    let man8 = out.join("man8");
    std::fs::create_dir_all(&man8)?;
    man(cmd.clone(), &man8.join("hull.8"))?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        // clap's names are &'static str without its `string` feature; this tool lives a moment.
        let name: &'static str = Box::leak(format!("hull-{}", sub.get_name()).into_boxed_str());
        let bin: &'static str = Box::leak(format!("hull {}", sub.get_name()).into_boxed_str());
        man(
            sub.clone().name(name).bin_name(bin),
            &man8.join(format!("{name}.8")),
        )?;
    }
    let comp = out.join("completions");
    std::fs::create_dir_all(&comp)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "hull", &comp)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: hull-docs OUTDIR");
        return ExitCode::from(2);
    };
    match generate(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hull-docs: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}
