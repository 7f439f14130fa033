//! Terminals (`process.terminal`), the way runc does them (its docs/terminals.md):
//!
//! - The pty is allocated **inside** the container, from the container's own devpts instance
//!   (`/dev/pts/ptmx`), after pivot_root: [`setup_in_container`]. The slave becomes the
//!   process's stdin/stdout/stderr and controlling terminal, `process.consoleSize` is applied,
//!   the slave is bind-mounted over `/dev/console`, and the master goes out over the console
//!   socket: one `sendmsg` whose payload is the master's path and which carries exactly one fd
//!   (SCM_RIGHTS). Init then closes its copy: whoever received it owns the master.
//! - Detached (`create`, `run -d`), the caller listens on `--console-socket PATH`; hull's main
//!   process connects to it before launching init (after pivot_root the host path is out of
//!   reach) and hands the connected socket down ([`Plan::new`]).
//! - `exec --tty` does the same from the exec'd process (the spawn pipeline's payload, in
//!   `process/payload.rs`), without /dev/console;
//!   with `--detach` the master goes to `--console-socket`, in the foreground to hull.
//! - Foreground `run` has no console socket: hull keeps one end of a socketpair, receives the
//!   master itself ([`recv_master`]), sets its own terminal raw and relays both ways with `poll`
//!   on one thread, turning SIGWINCH into TIOCSWINSZ ([`relay_until_exit`]); the terminal is
//!   restored when [`HostConsole`] drops.
//!
//! Which combinations are allowed is runc's `checkTerminal` ([`check_flags`]).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use crate::oci::Process;

use crate::error::{short, Context, Error, Result};
use crate::sys;

/// The master's path inside the container: the payload of the console-socket message.
pub const PTMX: &str = "/dev/pts/ptmx";
/// devpts' statfs magic (linux/magic.h).
const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;
/// Major of Unix98 pty slaves (linux/major.h).
const UNIX98_PTY_SLAVE_MAJOR: u32 = 136;

/// runc's `checkTerminal`: a detached container with a terminal needs a console socket, and a
/// console socket is only for a detached container with a terminal. `detach` is true for
/// `create` and `run -d`.
pub fn check_flags(detach: bool, terminal: bool, console_socket: Option<&Path>) -> Result<()> {
    if detach && terminal && console_socket.is_none() {
        return Err(Error::invalid(
            "process.terminal: cannot allocate tty if hull will detach without setting console socket",
        ));
    }
    if (!detach || !terminal) && console_socket.is_some() {
        return Err(Error::invalid(
            "--console-socket: cannot use console socket if hull will not detach or allocate tty",
        ));
    }
    Ok(())
}

/// Receive the master sent by [`setup_in_container`]: one message with exactly one fd. Never
/// blocks (init sends before it reports Ready).
pub fn recv_master(sock: &OwnedFd) -> Result<OwnedFd> {
    let mut buf = [0u8; 4096];
    let (_, mut fds) = sys::socket::recv_with_fds(sock.as_raw_fd(), &mut buf, true)
        .context("receive the console master")?;
    if fds.len() != 1 {
        return Err(Error::Msg(format!(
            "console: expected one fd with the master, got {}",
            fds.len()
        )));
    }
    Ok(fds.pop().expect("one fd"))
}

fn ioctl_int(fd: RawFd, req: libc::c_ulong, arg: libc::c_ulong, what: &str) -> Result<i32> {
    // SAFETY: the callers pass requests whose argument is an integer (or unused).
    let r = unsafe { libc::ioctl(fd, req as _, arg) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| what.to_string());
    }
    Ok(r)
}

fn open_fd(path: &str, flags: i32, mode: libc::mode_t) -> std::io::Result<OwnedFd> {
    let c = CString::new(path).expect("no NUL in our paths");
    sys::fd::open(&c, flags, mode)
}

/// Check that `fd` is a character device `dev` on a devpts mount.
fn verify_devpts(fd: RawFd, dev: libc::dev_t, what: &str) -> Result<()> {
    let magic =
        sys::mount::fs_magic(sys::mount::borrow(&fd)).with_context(|| format!("statfs {what}"))?;
    if magic != DEVPTS_SUPER_MAGIC {
        return Err(Error::invalid(format!(
            "{what} is not on a devpts mount (filesystem magic {magic:#x})"
        )));
    }
    let st = sys::fd::fstat(fd).with_context(|| format!("stat {what}"))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != dev {
        return Err(Error::invalid(format!(
            "{what} is not the expected character device {}:{}",
            libc::major(dev),
            libc::minor(dev)
        )));
    }
    Ok(())
}

/// Allocate a pty from the container's devpts: (master, slave, slave path).
fn alloc_pty() -> Result<(OwnedFd, OwnedFd, String)> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let master = match open_fd(PTMX, flags, 0) {
        Ok(m) => m,
        // No fallback to a /dev/ptmx device node: that would be the host's devpts instance,
        // whose ptys are not the container's (runc#814).
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            return Err(Error::invalid(format!(
            "process.terminal: {PTMX} does not exist in the container: mount devpts on /dev/pts \
                 (options newinstance,ptmxmode=0666) to use a terminal"
        )))
        }
        Err(e) => return Err(e).with_context(|| format!("process.terminal: open {PTMX}")),
    };
    verify_devpts(master.as_raw_fd(), libc::makedev(5, 2), PTMX).context("process.terminal")?;
    let unlock: libc::c_int = 0;
    ioctl_int(
        master.as_raw_fd(),
        libc::TIOCSPTLCK as libc::c_ulong,
        &unlock as *const libc::c_int as libc::c_ulong,
        "process.terminal: unlock pty",
    )?;
    let mut n: libc::c_uint = 0;
    ioctl_int(
        master.as_raw_fd(),
        libc::TIOCGPTN as libc::c_ulong,
        &mut n as *mut libc::c_uint as libc::c_ulong,
        "process.terminal: pty number",
    )?;
    let path = format!("/dev/pts/{n}");
    let peer_flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd for the slave (Linux 4.13+).
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER as _, peer_flags) };
    let slave = if r >= 0 {
        // SAFETY: r is a new fd returned by the kernel.
        unsafe { OwnedFd::from_raw_fd(r) }
    } else {
        let e = std::io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOTTY)) {
            return Err(e).context("process.terminal: open the pty's slave");
        }
        // Older kernels: open it by path and check it is the slave of our master.
        let s = open_fd(&path, peer_flags | libc::O_NOFOLLOW, 0)
            .with_context(|| format!("process.terminal: open {path}"))?;
        verify_devpts(
            s.as_raw_fd(),
            libc::makedev(UNIX98_PTY_SLAVE_MAJOR, n),
            &path,
        )
        .context("process.terminal")?;
        s
    };
    Ok((master, slave, path))
}

fn set_winsize(fd: RawFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    ioctl_int(
        fd,
        libc::TIOCSWINSZ as libc::c_ulong,
        &ws as *const libc::winsize as libc::c_ulong,
        "set terminal size",
    )?;
    Ok(())
}

/// Bind the slave over /dev/console (created as an empty file if absent), as runc does: from
/// fd to fd, onto a /dev/console checked to be a plain file or the console device — not a
/// symlink the image planted to something it wants writable (CVE-2025-52565).
fn mount_console(slave: &OwnedFd) -> Result<()> {
    let path = "/dev/console";
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let console = match open_fd(path, flags, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let create =
                libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_WRONLY;
            drop(open_fd(path, create, 0o666).context("create /dev/console")?);
            open_fd(path, flags, 0)
        }
        r => r,
    }
    .context("open /dev/console")?;
    // Not a file of procfs or sysfs either (reached through a symlinked directory above it).
    let magic = sys::mount::fs_magic(&console).context("statfs /dev/console")?;
    if magic == libc::PROC_SUPER_MAGIC || magic == libc::SYSFS_MAGIC {
        return Err(Error::invalid(
            "/dev/console in the container leads into procfs or sysfs",
        ));
    }
    let st = sys::fd::fstat(console.as_raw_fd())?;
    let kind = st.st_mode & libc::S_IFMT;
    if !(kind == libc::S_IFREG || kind == libc::S_IFCHR && st.st_rdev == libc::makedev(5, 1)) {
        return Err(Error::invalid(
            "/dev/console in the container is neither a file nor the console device",
        ));
    }
    sys::mount::bind(slave, &console, false, 0).context("bind the pty on /dev/console")
}

/// The container process's half (init's, or exec's with `mount_console_too` false): after
/// pivot_root, allocate a pty from the container's `/dev/pts/ptmx`, apply `process.consoleSize`, give the
/// slave to `process.user.uid`, optionally bind it over /dev/console, send the master over
/// `console_socket` (payload: [`PTMX`], one SCM_RIGHTS fd), make the slave stdin/stdout/stderr
/// and the controlling terminal (the caller must be a session leader), and close the master,
/// the slave and the socket.
pub fn setup_in_container(
    console_socket: OwnedFd,
    process: &Process,
    mount_console_too: bool,
) -> Result<()> {
    let (master, slave, path) = alloc_pty()?;
    if let Some(size) = process.console_size() {
        if size.height() != 0 && size.width() != 0 {
            let clamp = |v: u64| v.min(u16::MAX as u64) as u16;
            set_winsize(
                master.as_raw_fd(),
                clamp(size.height()),
                clamp(size.width()),
            )
            .context("process.consoleSize")?;
        }
    }
    // The process must be able to use its terminal after dropping root (runc's
    // fixStdioPermissions); a uid this namespace cannot set is left alone, as runc does.
    let uid = process.user().uid();
    if sys::fd::fstat(slave.as_raw_fd())?.st_uid != uid {
        // SAFETY: fchown on an fd we hold; -1 keeps the group.
        if unsafe { libc::fchown(slave.as_raw_fd(), uid, u32::MAX) } != 0 {
            let e = std::io::Error::last_os_error();
            if !matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EROFS)) {
                return Err(e).with_context(|| format!("chown {path} to uid {uid}"));
            }
        }
    }
    if mount_console_too {
        mount_console(&slave).context("process.terminal")?;
    }
    sys::socket::send_with_fd(
        console_socket.as_raw_fd(),
        PTMX.as_bytes(),
        master.as_raw_fd(),
    )
    .context("process.terminal: send the pty master to the console socket")?;
    drop(master);
    drop(console_socket);
    for target in 0..3 {
        // SAFETY: dup2 of an fd we hold onto stdio.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(std::io::Error::last_os_error())
                .context("process.terminal: make the pty stdio");
        }
    }
    drop(slave);
    ioctl_int(
        0,
        libc::TIOCSCTTY as libc::c_ulong,
        0,
        "process.terminal: ioctl(TIOCSCTTY)",
    )?;
    Ok(())
}

/// hull's own terminal in foreground `run` (runc tries stderr, stdout, stdin, then /dev/tty),
/// and its settings, restored on drop.
pub struct HostConsole {
    fd: RawFd,
    _owned: Option<OwnedFd>,
    saved: Option<libc::termios>,
}

fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty takes any integer.
    unsafe { libc::isatty(fd) == 1 }
}

impl HostConsole {
    /// Find hull's terminal; foreground `run` with a terminal cannot work without one.
    pub fn find() -> Result<HostConsole> {
        if let Some(fd) = [2, 1, 0].into_iter().find(|&fd| is_tty(fd)) {
            return Ok(HostConsole {
                fd,
                _owned: None,
                saved: None,
            });
        }
        let f = open_fd(
            "/dev/tty",
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            0,
        )
        .context(
            "process.terminal: hull runs in the foreground without a terminal: open /dev/tty",
        )?;
        Ok(HostConsole {
            fd: f.as_raw_fd(),
            _owned: Some(f),
            saved: None,
        })
    }

    /// Put the terminal in raw mode (cfmakeraw, but output processing stays on as in runc: the
    /// pty's ONLCR is off, see [`Plan::finish`], and this terminal's turns `\n` into `\r\n`);
    /// the old settings come back on drop.
    pub fn set_raw(&mut self) -> Result<()> {
        // SAFETY: an all-zero termios is valid storage for tcgetattr to fill.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: tcgetattr/cfmakeraw/tcsetattr on an fd we hold and a struct we own.
        unsafe {
            if libc::tcgetattr(self.fd, &mut t) != 0 {
                return Err(std::io::Error::last_os_error()).context("get terminal settings");
            }
            self.saved = Some(t);
            libc::cfmakeraw(&mut t);
            t.c_oflag |= libc::OPOST;
            if libc::tcsetattr(self.fd, libc::TCSANOW, &t) != 0 {
                return Err(std::io::Error::last_os_error()).context("set the terminal raw");
            }
        }
        Ok(())
    }

    /// Copy this terminal's size to `pty` (errors ignored, as runc does: the terminal may be
    /// gone).
    pub fn resize(&self, pty: RawFd) {
        // SAFETY: an all-zero winsize is valid storage for TIOCGWINSZ to fill.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a winsize we own.
        unsafe {
            if libc::ioctl(self.fd, libc::TIOCGWINSZ as _, &mut ws) == 0
                && ws.ws_row != 0
                && ws.ws_col != 0
            {
                libc::ioctl(pty, libc::TIOCSWINSZ as _, &ws);
            }
        }
    }
}

impl Drop for HostConsole {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            // SAFETY: tcsetattr on an fd we hold with the settings saved by set_raw.
            unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, t) };
        }
    }
}

/// The foreground terminal of `run`: the master hull received and its own terminal.
pub struct Console {
    /// The pty master.
    pub master: OwnedFd,
    /// hull's terminal (raw while the container runs).
    pub host: HostConsole,
}

/// Write everything to hull's stdout (blocking); a closed stdout drops the output.
fn write_stdout(mut buf: &[u8]) {
    while !buf.is_empty() {
        match sys::fd::write(1, buf) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n..],
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                let mut fds = [libc::pollfd {
                    fd: 1,
                    events: libc::POLLOUT,
                    revents: 0,
                }];
                if sys::wait::poll(&mut fds, -1).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Foreground `run` with a terminal: relay hull's stdin to the master and the master to hull's
/// stdout, resize the pty on SIGWINCH (not forwarded), forward every other signal in `blocked` but
/// SIGCHLD to `pid` (hull's child), until it exits; then drain what it wrote. Returns its exit
/// code ([`crate::signals::exit_code`]).
/// One thread: a single `poll` over the signalfd, stdin and the master.
pub fn relay_until_exit(
    console: &Console,
    blocked: &crate::signals::Blocked,
    pid: i32,
) -> Result<i32> {
    let sfd = blocked.signalfd(true)?;
    let master = console.master.as_raw_fd();
    // Non-blocking master: a container that does not read its input must not stall hull.
    sys::fd::set_nonblock(master);
    console.host.resize(master);
    let mut pending: Vec<u8> = Vec::new();
    let mut stdin_open = true;
    let mut master_open = true;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if let Some(code) = sys::wait::reap(pid)? {
            if master_open {
                drain(master, &mut buf);
            }
            return Ok(code);
        }
        let mut fds = [
            sys::wait::pollin(sfd.as_raw_fd()),
            libc::pollfd {
                fd: if stdin_open && pending.is_empty() {
                    0
                } else {
                    -1
                },
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if master_open { master } else { -1 },
                events: libc::POLLIN | if pending.is_empty() { 0 } else { libc::POLLOUT },
                revents: 0,
            },
        ];
        sys::wait::poll(&mut fds, -1)?;
        if fds[0].revents != 0 {
            match crate::signals::read_signal(sfd.as_raw_fd())? {
                None | Some(libc::SIGCHLD) => {}
                Some(libc::SIGWINCH) => console.host.resize(master),
                // SAFETY: kill(2) on our own unreaped child.
                Some(sig) => unsafe {
                    libc::kill(pid, sig);
                },
            }
        }
        if fds[1].revents != 0 {
            match sys::fd::read(0, &mut buf) {
                Ok(0) => stdin_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
                Err(_) => stdin_open = false,
            }
        }
        if master_open && fds[2].revents & libc::POLLOUT != 0 && !pending.is_empty() {
            match sys::fd::write(master, &pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
                Err(_) => pending.clear(),
            }
        }
        if fds[2].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            match sys::fd::read(master, &mut buf) {
                Ok(0) => master_open = false,
                Ok(n) => write_stdout(&buf[..n]),
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
                // EIO: every slave fd is closed.
                Err(_) => master_open = false,
            }
        }
    }
}

/// After the process exited: copy what is still queued in the pty (until EIO, or a pause of
/// 100 ms when something outside the container still holds the slave; at most 2 s).
fn drain(master: RawFd, buf: &mut [u8]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        let mut fds = [sys::wait::pollin(master)];
        match sys::wait::poll(&mut fds, 100) {
            Ok(n) if n > 0 => {}
            _ => return,
        }
        match sys::fd::read(master, buf) {
            Ok(n) if n > 0 => write_stdout(&buf[..n]),
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            _ => return,
        }
    }
}

/// The parent's side of `process.terminal` for one create, decided before anything exists.
pub struct Plan {
    /// The socket the container process sends the master over (handed down to the spawn).
    pub child: Option<OwnedFd>,
    ours: Option<OwnedFd>,
    host: Option<HostConsole>,
}

impl Plan {
    /// Check the flags ([`check_flags`]) and prepare: connect to the console socket (detached),
    /// or find hull's terminal and make a socketpair (foreground `run`).
    pub fn new(detach: bool, terminal: bool, console_socket: Option<&Path>) -> Result<Plan> {
        check_flags(detach, terminal, console_socket)?;
        let mut plan = Plan {
            child: None,
            ours: None,
            host: None,
        };
        if !terminal {
            return Ok(plan);
        }
        if let Some(path) = console_socket {
            plan.child = Some(
                sys::socket::connect(path)
                    .with_context(|| format!("--console-socket: connect {}", short(path)))?,
            );
        } else {
            plan.host = Some(HostConsole::find()?);
            let (ours, child) = sys::socket::pair(libc::SOCK_STREAM).context("console")?;
            plan.ours = Some(ours);
            plan.child = Some(child);
        }
        Ok(plan)
    }

    /// The size of hull's own terminal, when this plan relays in the foreground.
    pub fn host_size(&self) -> Option<(u16, u16)> {
        let host = self.host.as_ref()?;
        // SAFETY: an all-zero winsize is valid storage for TIOCGWINSZ to fill.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ into a winsize we own.
        let r = unsafe { libc::ioctl(host.fd, libc::TIOCGWINSZ as _, &mut ws) };
        (r == 0 && ws.ws_row != 0 && ws.ws_col != 0).then_some((ws.ws_row, ws.ws_col))
    }

    /// After init reported Ready: close hull's copy of init's socket and, in the foreground,
    /// take the master init sent, size it like hull's terminal and clear its ONLCR before the
    /// process runs (runc relays without the pty's `\n` to `\r\n`; hull's own terminal does
    /// that translation).
    pub fn finish(self) -> Result<Option<Console>> {
        drop(self.child);
        let (Some(ours), Some(host)) = (self.ours, self.host) else {
            return Ok(None);
        };
        let master = recv_master(&ours)?;
        sys::fd::clear_onlcr(master.as_raw_fd())?;
        // hull's terminal size, over consoleSize (runc's), before the process runs: the relay's
        // own first resize comes after `start`, too late for a process that asks at once.
        host.resize(master.as_raw_fd());
        Ok(Some(Console { master, host }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The console message as init sends it (`setup_in_container`): one sendmsg whose payload
    /// is the master's path and which carries exactly one fd; what `recv_master` (hull's
    /// foreground `run`) and a shim or conmon (a raw recvmsg) see.
    #[test]
    fn console_message_is_one_payload_with_exactly_one_fd() {
        let (a, b) = sys::socket::pair(libc::SOCK_STREAM).unwrap();
        let (probe, _keep) = sys::socket::pair(libc::SOCK_STREAM).unwrap();
        sys::socket::send_with_fd(a.as_raw_fd(), PTMX.as_bytes(), probe.as_raw_fd()).unwrap();
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        let mut buf = [0u8; 64];
        let mut cmsg = nix::cmsg_space!([RawFd; 4]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            b.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .unwrap();
        let mut fds = Vec::new();
        for c in msg.cmsgs().unwrap() {
            match c {
                ControlMessageOwned::ScmRights(v) => fds.extend(v),
                other => panic!("unexpected control message {other:?}"),
            }
        }
        let n = msg.bytes;
        assert_eq!(&buf[..n], b"/dev/pts/ptmx", "payload: the master's path");
        assert_eq!(fds.len(), 1, "exactly one fd");
        // SAFETY: the fd was just received and is ours.
        let got = unsafe { OwnedFd::from_raw_fd(fds[0]) };
        assert_eq!(
            sys::fd::fstat(got.as_raw_fd()).unwrap().st_ino,
            sys::fd::fstat(probe.as_raw_fd()).unwrap().st_ino,
            "the fd sent is the fd received"
        );

        // recv_master takes the same message, and refuses one without an fd.
        sys::socket::send_with_fd(a.as_raw_fd(), PTMX.as_bytes(), probe.as_raw_fd()).unwrap();
        assert!(recv_master(&b).is_ok());
        nix::unistd::write(&a, b"no fd").unwrap();
        let e = recv_master(&b).unwrap_err().render();
        assert!(e.contains("expected one fd"), "{e}");
    }
}
