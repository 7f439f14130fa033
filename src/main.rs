//! The hull binary: parse the command line, hand it to the library, exit with its code. A
//! command-line mistake is one line on stderr (`cli::usage_error`); `--help` prints clap's help.

use clap::Parser;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match hull::cli::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                let (line, code) = hull::cli::usage_error(&e, &args);
                eprintln!("hull: {line}");
                code
            } else {
                // --help, `hull help [COMMAND]`: clap's text on stdout.
                let _ = e.print();
                0
            };
            #[allow(clippy::exit, clippy::disallowed_methods)]
            std::process::exit(code);
        }
    };
    let code = hull::run(cli);
    #[allow(clippy::exit, clippy::disallowed_methods)]
    std::process::exit(code);
}
