//! The payload's environment, read inside the container: HOME from the container's
//! /etc/passwd when the config leaves it out (runc's `setupUser`), and the executable looked up
//! along the container's PATH the way Go's exec.LookPath does (runc's wording in errors, which
//! engines match).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Context, Error, Result};

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The most of /etc/passwd read for HOME (a regular file anyway; this bounds a hostile image).
const PASSWD_LIMIT: u64 = 16 << 20;

/// runc's `setupUser`: when the process would see no HOME, or an empty one, set it to the home
/// directory of `uid` in the container's /etc/passwd, or to "/" when the file has no entry for
/// it or cannot be read. Call inside the container's root (after pivot_root or chroot) and
/// before the ids change, as runc does. An empty `HOME=` is replaced where it stands, a missing
/// one appended (Go's `os.Setenv`). The process sees the first `HOME=` of its environment, so
/// that is the one that counts.
pub fn set_home(env: &mut Vec<String>, uid: u32) {
    fill_home(env, || {
        read_passwd().and_then(|text| passwd_home(&text, uid))
    });
}

/// [`set_home`] with the passwd lookup given (called only when HOME is needed).
fn fill_home(env: &mut Vec<String>, lookup: impl FnOnce() -> Option<String>) {
    let first = env.iter().position(|e| e.starts_with("HOME="));
    if first.is_some_and(|i| env[i].len() > "HOME=".len()) {
        return;
    }
    let home = lookup().unwrap_or_else(|| "/".to_string());
    let entry = format!("HOME={home}");
    match first {
        Some(i) => env[i] = entry,
        None => env.push(entry),
    }
}

/// The container's /etc/passwd, when it is a readable regular file (O_NONBLOCK: a FIFO placed
/// there must not block the container's start; it is refused right after).
fn read_passwd() -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open("/etc/passwd")
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    f.take(PASSWD_LIMIT).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The home directory (6th field) of the first passwd(5) entry whose uid (3rd field) is `uid`,
/// parsed as runc's `user.ParsePasswdFilter` does: each line trimmed of white space, blank
/// lines skipped, fields split on ':', a missing home field read as empty (so HOME is set
/// empty, as runc sets it). Unlike runc, an entry whose uid is not a number matches nobody
/// (Go's ignored `Atoi` error makes it uid 0 there).
pub fn passwd_home(text: &str, uid: u32) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .find_map(|l| {
            let mut fields = l.split(':');
            let entry_uid = fields.nth(2)?.parse::<u32>().ok()?;
            (entry_uid == uid).then(|| fields.nth(2).unwrap_or_default().to_string())
        })
}

fn is_executable(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access/stat on a valid C string.
    p.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0
}

/// Resolve process.args[0] inside the container the way Go's exec.LookPath does (runc's
/// wording in errors, which engines match).
pub fn find_executable(arg0: &str, env: &[String]) -> Result<CString> {
    let to_c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::invalid("process.args[0]: NUL byte"))
    };
    if arg0.contains('/') {
        let p = Path::new(arg0);
        if let Err(e) = std::fs::metadata(p) {
            return Err(Error::from(e)).with_context(|| {
                format!(
                    "process.args[0]: exec: {}: stat {}",
                    crate::error::quote(arg0),
                    crate::error::short(arg0)
                )
            });
        }
        if !is_executable(p) {
            return Err(Error::Sys(nix::errno::Errno::EACCES))
                .with_context(|| format!("process.args[0]: exec: {}", crate::error::quote(arg0)));
        }
        return to_c(p);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if is_executable(&cand) {
            return to_c(&cand);
        }
    }
    Err(Error::invalid(format!(
        "process.args[0]: exec: {}: executable file not found in $PATH",
        crate::error::quote(arg0)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n\
        \n\
        dup:x:1000:1000:first:/home/first:/bin/sh\n\
        dup2:x:1000:1000:second:/home/second:/bin/sh\n\
        \t spaced:x:88:88::/sp:/bin/sh  \r\n\
        #comment:x:99:99::/commented:/bin/sh\n\
        bad:x:notnum:0::/bad:/bin/sh\n\
        nohome:x:77:77:::/bin/sh\n\
        short:x:66\n\
        noshell:x:55:55::/ns\n";

    #[test]
    fn passwd_home_finds_the_first_entry_of_the_uid() {
        assert_eq!(passwd_home(PASSWD, 0).as_deref(), Some("/root"));
        assert_eq!(passwd_home(PASSWD, 65534).as_deref(), Some("/nonexistent"));
        // First match wins.
        assert_eq!(passwd_home(PASSWD, 1000).as_deref(), Some("/home/first"));
        // Lines are trimmed (CR included); a leading '#' is no comment to runc either.
        assert_eq!(passwd_home(PASSWD, 88).as_deref(), Some("/sp"));
        assert_eq!(passwd_home(PASSWD, 99).as_deref(), Some("/commented"));
        // An empty or missing home field is an empty home; a missing shell does not matter.
        assert_eq!(passwd_home(PASSWD, 77).as_deref(), Some(""));
        assert_eq!(passwd_home(PASSWD, 66).as_deref(), Some(""));
        assert_eq!(passwd_home(PASSWD, 55).as_deref(), Some("/ns"));
        // No entry; a name is no uid.
        assert_eq!(passwd_home(PASSWD, 1234), None);
        assert_eq!(passwd_home("1234:x:5:5::/byname:/bin/sh\n", 1234), None);
        assert_eq!(passwd_home("", 0), None);
        // A uid that is not a number matches nobody, not root.
        assert_eq!(
            passwd_home("bad:x:notnum:0::/bad:/bin/sh\nroot:x:0:0::/root:/bin/sh", 0).as_deref(),
            Some("/root")
        );
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn home_is_filled_only_when_missing_or_empty() {
        // Set: kept, and passwd is not even read.
        let mut env = strings(&["PATH=/bin", "HOME=/custom"]);
        fill_home(&mut env, || panic!("looked up"));
        assert_eq!(env, ["PATH=/bin", "HOME=/custom"]);
        // Missing: appended.
        let mut env = strings(&["PATH=/bin", "TERM=xterm"]);
        fill_home(&mut env, || Some("/root".into()));
        assert_eq!(env, ["PATH=/bin", "TERM=xterm", "HOME=/root"]);
        // Empty: replaced where it stands.
        let mut env = strings(&["HOME=", "PATH=/bin"]);
        fill_home(&mut env, || Some("/home".into()));
        assert_eq!(env, ["HOME=/home", "PATH=/bin"]);
        // No entry (or no file): "/".
        let mut env = strings(&["PATH=/bin"]);
        fill_home(&mut env, || None);
        assert_eq!(env, ["PATH=/bin", "HOME=/"]);
        // An entry with an empty home gives an empty HOME, as in runc.
        let mut env = strings(&[]);
        fill_home(&mut env, || Some(String::new()));
        assert_eq!(env, ["HOME="]);
        // The first HOME is the one the process sees.
        let mut env = strings(&["HOME=/first", "HOME="]);
        fill_home(&mut env, || panic!("looked up"));
        assert_eq!(env, ["HOME=/first", "HOME="]);
    }
}
