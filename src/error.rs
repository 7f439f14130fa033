//! The one error type of hull. `Display` is short and never repeats its source; the chain is
//! rendered once, at the top, joined by ": " (see [`Error::render`]). Errno values are spelled the
//! way Go spells them (lowercase `strerror`), because engines match on that wording
//! ("no such file or directory", "permission denied").
//!
//! User input (ids, paths, arguments, config values) reaches a message only through [`short`] or
//! [`quote`]: up to [`QUOTE_MAX`] bytes are shown whole, longer input as its first bytes and
//! `…(N bytes)`, so every error stays a short line whatever the caller passed. Messages written
//! by others that echo input (serde's, clap's) go through [`shorten_echoes`].

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure hull can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container id names no container (engines match "container does not exist").
    #[error("container does not exist")]
    NotFound,
    /// A container with this id already exists.
    #[error("container with this id already exists")]
    Exists,
    /// The container's init is gone (engines match "container not running").
    #[error("container not running")]
    NotRunning,
    /// The config or the command line asks for something invalid; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A system call failed.
    #[error("{}", errno_str(*.0))]
    Sys(nix::errno::Errno),
    /// An I/O operation failed.
    #[error("{}", io_str(.0))]
    Io(#[from] std::io::Error),
    /// A failure that is neither a system call nor the caller's input (already worded).
    #[error("{0}")]
    Msg(String),
    /// A child of the spawn pipeline (stage 1, the container process) failed: its rendered
    /// error chain and the errno at its bottom (0 when there was none).
    #[error("{msg}")]
    Child {
        /// errno at the bottom of the child's failure, 0 if none.
        errno: i32,
        /// The child's rendered error chain.
        msg: String,
    },
    /// The parent and a child of the spawn pipeline lost step (a message out of order, a child
    /// gone without a word).
    #[error("sync: {0}")]
    Protocol(String),
    /// A layer of context around a deeper error.
    #[error("{msg}")]
    Context {
        /// What was being done.
        msg: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
}

impl From<nix::errno::Errno> for Error {
    fn from(e: nix::errno::Errno) -> Self {
        Error::Sys(e)
    }
}

impl From<pathrs::error::Error> for Error {
    fn from(e: pathrs::error::Error) -> Self {
        match e.kind() {
            pathrs::error::ErrorKind::OsError(Some(n)) => {
                Error::Sys(nix::errno::Errno::from_raw(n))
            }
            _ => Error::Msg(e.to_string()),
        }
    }
}

impl Error {
    /// Build an [`Error::Invalid`] from anything printable.
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::Invalid(msg.to_string())
    }

    /// Build an [`Error::Protocol`].
    pub fn protocol(msg: impl fmt::Display) -> Self {
        Error::Protocol(msg.to_string())
    }

    /// The innermost error, under every context layer.
    pub fn root_cause(&self) -> &Error {
        match self {
            Error::Context { source, .. } => source.root_cause(),
            e => e,
        }
    }

    /// The errno at the bottom of the chain, if it is a system error.
    pub fn errno(&self) -> Option<i32> {
        match self.root_cause() {
            Error::Sys(e) => Some(*e as i32),
            Error::Io(e) => e.raw_os_error(),
            Error::Child { errno, .. } if *errno != 0 => Some(*errno),
            _ => None,
        }
    }

    /// The whole chain on one line, joined by ": ".
    pub fn render(&self) -> String {
        let mut out = self.to_string();
        let mut cur = self;
        while let Error::Context { source, .. } = cur {
            out.push_str(": ");
            out.push_str(&source.to_string());
            cur = source;
        }
        out.replace('\n', " ")
    }
}

/// The longest piece of user input an error message shows whole, in bytes: engine paths
/// (`/run/containerd/io.containerd.runtime.v2.task/k8s.io/<64 hex>`, podman's
/// `/var/lib/containers/storage/overlay-containers/<64 hex>/userdata`) fit.
pub const QUOTE_MAX: usize = 128;

/// User input as it appears in an error: whole up to [`QUOTE_MAX`] bytes, else its first bytes
/// (cut at a character boundary) and `…(N bytes)`, N the input's length. See [`short`], [`quote`].
pub struct Short<'a> {
    shown: Cow<'a, str>,
    len: usize,
    quoted: bool,
}

impl Short<'_> {
    fn new(s: &OsStr, quoted: bool) -> Short<'_> {
        let len = s.len();
        let mut shown = s.to_string_lossy();
        if len > QUOTE_MAX {
            let mut cut = QUOTE_MAX.min(shown.len());
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown = Cow::Owned(shown[..cut].to_string());
        }
        Short { shown, len, quoted }
    }
}

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted {
            write!(f, "{:?}", self.shown)?;
        } else {
            f.write_str(&self.shown)?;
        }
        if self.len > QUOTE_MAX {
            write!(f, "…({} bytes)", self.len)?;
        }
        Ok(())
    }
}

/// User input shown as is (a path, an id after "container"), shortened when long:
/// `format!("bundle {}", short(path))`.
pub fn short<S: AsRef<OsStr> + ?Sized>(s: &S) -> Short<'_> {
    Short::new(s.as_ref(), false)
}

/// User input in double quotes with Rust's escapes (what `{:?}` of a string prints), shortened
/// when long: `"aaaa"…(5000 bytes)`.
pub fn quote<S: AsRef<OsStr> + ?Sized>(s: &S) -> Short<'_> {
    Short::new(s.as_ref(), true)
}

/// A message someone else wrote (a serde or clap error) that may echo some of `inputs`: each
/// input longer than [`QUOTE_MAX`] that occurs in it, raw or escaped as `{:?}` escapes, is
/// replaced by its shortened form.
pub fn shorten_echoes<'a>(msg: &str, inputs: impl IntoIterator<Item = &'a str>) -> String {
    let mut long: Vec<&str> = inputs.into_iter().filter(|s| s.len() > QUOTE_MAX).collect();
    // Longest first, so that an input containing another is replaced whole.
    long.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = msg.to_string();
    for s in long {
        let escaped = format!("{s:?}");
        let escaped = &escaped[1..escaped.len() - 1];
        for form in [s, escaped] {
            if out.contains(form) {
                let shown = short(s).to_string();
                let shown = if form == s {
                    shown
                } else {
                    let q = format!("{:?}", &shown);
                    q[1..q.len() - 1].to_string()
                };
                out = out.replace(form, &shown);
            }
        }
    }
    out
}

/// Lowercase strerror, as Go's syscall package spells errnos.
pub fn errno_str(e: nix::errno::Errno) -> String {
    let s = e.desc();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => format!("errno {}", e as i32),
    }
}

fn io_str(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_str(nix::errno::Errno::from_raw(n)),
        None => e.to_string(),
    }
}

/// `.context("…")` for any result whose error converts into [`Error`].
pub trait Context<T> {
    /// Wrap the error with a fixed message.
    fn context(self, msg: impl Into<String>) -> Result<T>;
    /// Wrap the error with a message computed only on failure.
    fn with_context<S: Into<String>, F: FnOnce() -> S>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, msg: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            msg: msg.into(),
            source: Box::new(e.into()),
        })
    }
    fn with_context<S: Into<String>, F: FnOnce() -> S>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::Context {
            msg: f().into(),
            source: Box::new(e.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_renders_once_joined_by_colons() {
        let e: Result<()> = Err(nix::errno::Errno::ENOENT.into());
        let e = e.context("open /x").context("create c1").unwrap_err();
        assert_eq!(e.render(), "create c1: open /x: no such file or directory");
        assert_eq!(e.errno(), Some(libc::ENOENT));
    }

    #[test]
    fn a_childs_errno_survives_the_trip() {
        let e = Error::Child {
            errno: libc::EACCES,
            msg: "process.cwd: chdir /x: permission denied".into(),
        };
        let e: Result<()> = Err(e);
        let e = e.context("create c1").unwrap_err();
        assert_eq!(e.errno(), Some(libc::EACCES));
        assert_eq!(
            e.render(),
            "create c1: process.cwd: chdir /x: permission denied"
        );
        let none = Error::Child {
            errno: 0,
            msg: "x".into(),
        };
        assert_eq!(none.errno(), None);
    }

    // The first test fails if short input is changed at all; the four after it fail against
    // helpers that show input whole (checked by setting QUOTE_MAX to 1_000_000: all four fail).
    #[test]
    fn short_input_is_shown_whole() {
        assert_eq!(short("abc").to_string(), "abc");
        assert_eq!(quote("a\"b").to_string(), r#""a\"b""#);
        let edge = "x".repeat(QUOTE_MAX);
        assert_eq!(short(&edge).to_string(), edge);
        assert_eq!(quote(std::path::Path::new("/p q")).to_string(), "\"/p q\"");
    }

    #[test]
    fn long_input_is_a_prefix_and_its_length() {
        let long = "a".repeat(5000);
        let s = short(&long).to_string();
        assert_eq!(s, format!("{}…(5000 bytes)", "a".repeat(QUOTE_MAX)));
        let q = quote(&long).to_string();
        assert_eq!(q, format!("\"{}\"…(5000 bytes)", "a".repeat(QUOTE_MAX)));
        assert!(q.len() < QUOTE_MAX + 20, "{}", q.len());
        let just_over = "b".repeat(QUOTE_MAX + 1);
        assert!(short(&just_over)
            .to_string()
            .ends_with(&format!("…({} bytes)", QUOTE_MAX + 1)));
    }

    #[test]
    fn long_input_is_cut_at_a_character_boundary() {
        // 'é' is two bytes, and after the 'x' each starts at an odd offset: the even QUOTE_MAX
        // falls inside one.
        let s = format!("x{}", "é".repeat(3000));
        let shown = short(&s).to_string();
        assert!(shown.ends_with("…(6001 bytes)"), "{shown}");
        let prefix = shown.strip_suffix("…(6001 bytes)").unwrap();
        assert!(prefix.len() <= QUOTE_MAX && prefix.len() >= QUOTE_MAX - 1);
        assert!(s.starts_with(prefix));
        // Escapes count after the cut: a long run of newlines stays bounded and one line.
        let nl = "\n".repeat(5000);
        let q = quote(&nl).to_string();
        assert!(!q.contains('\n') && q.len() < 2 * QUOTE_MAX + 20, "{q}");
    }

    #[test]
    fn non_utf8_input_is_shown_lossily_with_its_length() {
        use std::os::unix::ffi::OsStrExt;
        let raw = [b'a', 0xff, b'b'];
        let s = short(std::ffi::OsStr::from_bytes(&raw)).to_string();
        assert_eq!(s, "a\u{fffd}b");
        let long = vec![0xffu8; 300];
        let s = short(std::ffi::OsStr::from_bytes(&long)).to_string();
        assert!(s.ends_with("…(300 bytes)"), "{s}");
    }

    #[test]
    fn echoes_of_long_inputs_are_shortened_in_foreign_messages() {
        let long = "v".repeat(5000);
        let msg = format!("unknown variant `{long}`, expected one of `a`, `b`");
        let out = shorten_echoes(&msg, [long.as_str(), "a"]);
        assert_eq!(
            out,
            format!(
                "unknown variant `{}…(5000 bytes)`, expected one of `a`, `b`",
                "v".repeat(QUOTE_MAX)
            )
        );
        // Escaped as serde's `invalid type: string "…"` escapes it.
        let tricky = format!("{}\"\n", "w".repeat(300));
        let msg = format!("invalid type: string {tricky:?}, expected u32");
        let out = shorten_echoes(&msg, [tricky.as_str()]);
        assert!(out.len() < 200 && out.contains("…(302 bytes)"), "{out}");
        assert!(out.ends_with(", expected u32"), "{out}");
        // Short inputs and messages without echoes are left alone.
        assert_eq!(
            shorten_echoes("no echo here", [long.as_str()]),
            "no echo here"
        );
        assert_eq!(shorten_echoes("x `ab`", ["ab"]), "x `ab`");
    }

    #[test]
    fn engine_matched_wordings() {
        assert_eq!(Error::NotFound.to_string(), "container does not exist");
        assert_eq!(Error::NotRunning.to_string(), "container not running");
        assert_eq!(errno_str(nix::errno::Errno::EACCES), "permission denied");
    }
}
