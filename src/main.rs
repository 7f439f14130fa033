//! The hull binary: parse the command line, hand it to the library, exit with its code. A
//! command-line mistake is one line on stderr (`cli::usage_error`); `--help` prints clap's help.
//!
//! `#![no_main]` (but under `cargo test`, whose harness brings its own main): the C `main` below is the entry, not std's `lang_start`, whose set-up every
//! command paid and none needs — the main thread's stack guard (glibc reads /proc/self/maps to
//! find the stack) and the SIGSEGV/SIGBUS handlers on an alternate stack that turn a stack
//! overflow into a message: about a dozen system calls and a /proc read per invocation (issue
//! #16). What std's start did that hull needs is done here: SIGPIPE ignored, so a write to a
//! closed pipe or socket is an EPIPE error, not a silent death. std's arguments still work
//! (on glibc they are taken from `.init_array`, before `main`).
// Under `cargo test` the test harness brings its own main.
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: signal(2) with a constant handler; nothing else runs yet.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match hull::cli::parse(&args) {
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
