//! Fuzz target `config`: arbitrary bytes as a bundle's config.json through what `create` does
//! with it before anything exists — `spec::parse` (the JSON pre-pass and the oci-spec parse),
//! `spec::validate`, the seccomp compiler and the mount option parser — and as an
//! `exec --process` file (`spec::parse_process`). Errors are expected; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hull_fuzz::quiet_logs();
    // `spec::load` reads the file with read_to_string: text that is not UTF-8 never gets here.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = hull::spec::parse_process(text);
    let Ok(spec) = hull::spec::parse(text) else {
        return;
    };
    if hull::spec::validate(&spec).is_err() {
        return;
    }
    // What `create` computes from a valid config before its first side effect.
    let linux = spec.linux().as_ref().expect("validated: linux present");
    if let Some(s) = linux.seccomp() {
        let _ = hull::seccomp::compile(s, &hull::seccomp::Options::default());
    }
    for m in spec.mounts().iter().flatten() {
        let _ = hull::rootfs::mount::mount_options(m);
    }
});
