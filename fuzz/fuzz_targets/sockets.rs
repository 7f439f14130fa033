//! Fuzz target `sockets`: the messages hull receives from processes it does not trust to be
//! well-formed. The console master (`tty::recv_master`, foreground `run` with a terminal):
//! arbitrary payload bytes with 0 to 6 fds, in one message over a stream, seqpacket or datagram
//! socketpair. The sync protocol (`process::sync`): arbitrary bytes decoded as a `Msg` (what
//! `Channel::recv_fd` does with a datagram), and an `Error` message carrying arbitrary text
//! through a real channel, which must arrive unchanged. Errors are expected; a panic is a bug.
#![no_main]

use std::os::fd::{AsRawFd, OwnedFd};

use hull::process::sync::{self, Msg};
use libfuzzer_sys::fuzz_target;

const KINDS: [libc::c_int; 3] = [libc::SOCK_STREAM, libc::SOCK_SEQPACKET, libc::SOCK_DGRAM];

/// One sendmsg of `payload` with `fds` (SCM_RIGHTS when there are any), never blocking.
fn send(sock: &OwnedFd, payload: &[u8], fds: &[OwnedFd]) {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let raw: Vec<i32> = fds.iter().map(AsRawFd::as_raw_fd).collect();
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &cmsg };
    let iov = [std::io::IoSlice::new(payload)];
    let _ = sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::MSG_DONTWAIT, None);
}

fn devnull() -> OwnedFd {
    std::fs::File::open("/dev/null")
        .expect("open /dev/null")
        .into()
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, payload)) = data.split_first() else {
        return;
    };
    // The console message.
    let kind = KINDS[usize::from(head & 3) % KINDS.len()];
    let nfds = usize::from(head >> 2) % 7;
    if let Ok((a, b)) = hull::sys::socket::pair(kind) {
        let fds: Vec<OwnedFd> = (0..nfds).map(|_| devnull()).collect();
        send(&a, payload, &fds);
        match hull::tty::recv_master(&b) {
            Ok(_) => assert_eq!(nfds, 1, "a master from a message with {nfds} fds"),
            Err(e) => drop(e.render()),
        }
    }
    // A sync message: the bytes as they arrive, then arbitrary text in a child's error.
    if let Ok(m) = serde_json::from_slice::<Msg>(payload) {
        let _ = format!("{m:?}");
    }
    let sent = Msg::Error {
        errno: i32::from(head),
        msg: String::from_utf8_lossy(payload).into_owned(),
    };
    // Messages up to the receiver's 64 KiB buffer arrive whole; longer ones are an error.
    let fits = serde_json::to_vec(&sent).expect("encodes").len() <= 64 * 1024;
    let (parent, child) = sync::pair().expect("sync socketpair");
    if child.send(&sent).is_ok() {
        match parent.recv_fd() {
            Ok((got, fd)) => assert!(got == sent && fd.is_none(), "{got:?} != {sent:?}"),
            Err(e) if fits => panic!("an error message did not arrive: {}", e.render()),
            Err(_) => {}
        }
    }
});
