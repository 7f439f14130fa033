//! The one error type of hull. `Display` is short and never repeats its source; the chain is
//! rendered once, at the top, joined by ": " (see [`Error::render`]). Errno values are spelled the
//! way Go spells them (lowercase `strerror`), because engines match on that wording
//! ("no such file or directory", "permission denied").

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

    #[test]
    fn engine_matched_wordings() {
        assert_eq!(Error::NotFound.to_string(), "container does not exist");
        assert_eq!(Error::NotRunning.to_string(), "container not running");
        assert_eq!(errno_str(nix::errno::Errno::EACCES), "permission denied");
    }
}
