//! The hull binary: parse the command line, hand it to the library, exit with its code.

use clap::Parser;

fn main() {
    let cli = match hull::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() { 1 } else { 0 };
            #[allow(clippy::exit, clippy::disallowed_methods)]
            std::process::exit(code);
        }
    };
    let code = hull::run(cli);
    #[allow(clippy::exit, clippy::disallowed_methods)]
    std::process::exit(code);
}
