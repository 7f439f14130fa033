//! The hull binary: parse the command line, hand it to the library, exit with its code. A
//! command-line mistake is one line on stderr (`cli::usage_error`); `--help` prints clap's help.
//!
//! `#![no_main]` (but under `cargo test`, whose harness brings its own main): the C `main` below
//! is the entry, not std's `lang_start`, whose set-up every command paid and none needs — the
//! main thread's stack guard (glibc reads /proc/self/maps to find the stack) and the
//! SIGSEGV/SIGBUS handlers on an alternate stack that turn a stack overflow into a message: about
//! a dozen system calls and a /proc read per invocation (issue #16). What std's start did that
//! hull needs is done here: SIGPIPE ignored, so a write to a closed pipe or socket is an EPIPE
//! error, not a silent death; the command line taken from `main`'s own argv (std's is empty
//! without its start on musl).
//!
//! The release binary is linked against musl (Makefile, `make build`): its start-up probes
//! nothing, where glibc's static start runs `cpuid` dozens of times (each a trap to the
//! hypervisor in a VM: a third of `hull state`'s time). musl's malloc maps and unmaps memory at
//! a high rate (~200 mmap/munmap in `create`), so the allocator there is dlmalloc.
// Under `cargo test` the test harness brings its own main.
#![cfg_attr(not(test), no_main)]

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

#[cfg(not(test))]
#[no_mangle]
/// # Safety
/// Called by the C runtime only, with `argc` valid strings in `argv`.
pub unsafe extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: signal(2) with a constant handler; nothing else runs yet.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // From main's own argv: std's args_os is empty here on musl, where std takes them in the
    // start-up this binary skips.
    let args: Vec<std::ffi::OsString> = (0..argc.max(0) as usize)
        // SAFETY: the C runtime passes argc valid NUL-terminated strings in argv.
        .map(|i| unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) })
        .map(|a| std::ffi::OsStr::from_bytes(a.to_bytes()).to_os_string())
        .collect();
    hull::selfexe::set_args(args);
    let args = hull::selfexe::args();
    // A panic ends the process by _exit(134) after std's message, not by abort(): musl's abort
    // signals the thread id it cached at start-up, which in a child of hull's raw clones
    // (sys::clone) is its parent's, so the parent would die of the child's panic.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        // SAFETY: _exit ends the process at once; nothing is left to unwind (panic = abort).
        unsafe { libc::_exit(134) }
    }));
    let cli = match hull::cli::parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                let (line, code) = hull::cli::usage_error(&e, args);
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
