//! A small rtnetlink client: what `linux.netDevices` needs and nothing more — find a link by
//! name or index, list a link's addresses, move a link into another network namespace (and
//! rename it), add an address, set a link up. Hand-written rather than a netlink crate: six
//! requests of fixed shape cost a few hundred lines, where a general rtnetlink crate weighs more
//! in the static binary than every other part of this feature (issue #16's size budget).
//!
//! A [`Route`] socket works in the network namespace of the thread that opened it, whatever
//! namespace the thread is in later.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
/// The address flags a user sets (nodad, homeaddress, mngtmpaddr, noprefixroute, autojoin),
/// kept when an address is added again; the others are the kernel's state.
const IFA_USER_FLAGS: u32 = 0x02 | 0x10 | 0x100 | 0x200 | 0x400;
const RT_SCOPE_UNIVERSE: u8 = 0;
const IFF_UP: u32 = 0x1;
const HDR: usize = 16;

/// An address of a link, as the kernel listed it (the attributes needed to add it again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub family: u8,
    pub prefix_len: u8,
    /// IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST as listed, and IFA_FLAGS with the user's flags.
    attrs: Vec<(u16, Vec<u8>)>,
}

impl Addr {
    /// The address in the usual text form (messages and tests).
    pub fn text(&self) -> String {
        let raw = self
            .attrs
            .iter()
            .find(|(t, _)| *t == IFA_LOCAL)
            .or_else(|| self.attrs.iter().find(|(t, _)| *t == IFA_ADDRESS))
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        let ip = match raw.len() {
            4 => std::net::IpAddr::from(<[u8; 4]>::try_from(raw).unwrap_or_default()),
            16 => std::net::IpAddr::from(<[u8; 16]>::try_from(raw).unwrap_or_default()),
            _ => return "?".into(),
        };
        format!("{ip}/{}", self.prefix_len)
    }
}

/// A NETLINK_ROUTE socket.
pub struct Route {
    fd: OwnedFd,
    seq: u32,
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

fn attr(buf: &mut Vec<u8>, typ: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align(buf.len()), 0);
}

fn name_attr(buf: &mut Vec<u8>, name: &str) {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    attr(buf, IFLA_IFNAME, &v);
}

/// ifinfomsg: family, type, index, flags, change.
fn ifinfo(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

/// The attributes of a message body after its fixed header of `fixed` bytes.
fn attrs(body: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = fixed;
    while at + 4 <= body.len() {
        let len = u16::from_ne_bytes([body[at], body[at + 1]]) as usize;
        let typ = u16::from_ne_bytes([body[at + 2], body[at + 3]]) & 0x3fff;
        if len < 4 || at + len > body.len() {
            break;
        }
        out.push((typ, &body[at + 4..at + len]));
        at += align(len);
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

impl Route {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Route> {
        // SAFETY: socket(2) with constant arguments; the fd is ours.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by socket(2) and is owned by no one else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Route { fd, seq: 0 })
    }

    /// Send one request; the bodies of the answers of type `answer` (a dump's parts), after the
    /// kernel's acknowledgement or end of dump. An error answer is its errno.
    fn request(
        &mut self,
        typ: u16,
        flags: u16,
        body: &[u8],
        answer: u16,
    ) -> io::Result<Vec<Vec<u8>>> {
        self.seq += 1;
        let len = HDR + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&(len as u32).to_ne_bytes());
        msg.extend_from_slice(&typ.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        // SAFETY: sockaddr_nl is plain data; all zeroes is the kernel as destination.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: sendto reads `msg` and a sockaddr_nl we own.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&sa as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: recv writes at most buf.len() bytes into buf, which we own.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            let mut at = 0;
            let n = n as usize;
            while at + HDR <= n {
                let len = u32_at(&buf, at) as usize;
                let mtype = u16::from_ne_bytes([buf[at + 4], buf[at + 5]]);
                let seq = u32_at(&buf, at + 8);
                if len < HDR || at + len > n {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "short netlink message",
                    ));
                }
                let body = &buf[at + HDR..at + len];
                at += align(len);
                if seq != self.seq {
                    continue;
                }
                match mtype {
                    NLMSG_ERROR => {
                        let errno = -(u32_at(body, 0) as i32);
                        return if errno == 0 {
                            Ok(out)
                        } else {
                            Err(io::Error::from_raw_os_error(errno))
                        };
                    }
                    NLMSG_DONE => return Ok(out),
                    t if t == answer => out.push(body.to_vec()),
                    _ => {}
                }
            }
        }
    }

    /// The index of link `name`, or None when there is none.
    pub fn link_index(&mut self, name: &str) -> io::Result<Option<i32>> {
        let mut body = ifinfo(0, 0, 0);
        name_attr(&mut body, name);
        match self.request(RTM_GETLINK, 0, &body, RTM_NEWLINK) {
            Ok(links) => Ok(links.first().map(|l| u32_at(l, 4) as i32)),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The name of link `index`, or None when there is none.
    pub fn link_name(&mut self, index: i32) -> io::Result<Option<String>> {
        match self.request(RTM_GETLINK, 0, &ifinfo(index, 0, 0), RTM_NEWLINK) {
            Ok(links) => Ok(links.first().and_then(|l| {
                attrs(l, 16)
                    .into_iter()
                    .find(|(t, _)| *t == IFLA_IFNAME)
                    .map(|(_, v)| {
                        String::from_utf8_lossy(v)
                            .trim_end_matches('\0')
                            .to_string()
                    })
            })),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The permanent addresses of global scope of link `index` (what moving a link must keep:
    /// the kernel drops a link's addresses when it changes namespace).
    pub fn permanent_addresses(&mut self, index: i32) -> io::Result<Vec<Addr>> {
        let dump = self.request(
            RTM_GETADDR,
            NLM_F_DUMP,
            &[libc::AF_UNSPEC as u8, 0, 0, 0, 0, 0, 0, 0],
            RTM_NEWADDR,
        )?;
        let mut out = Vec::new();
        for a in dump {
            if a.len() < 8 || u32_at(&a, 4) as i32 != index || a[3] != RT_SCOPE_UNIVERSE {
                continue;
            }
            let at = attrs(&a, 8);
            let flags = at
                .iter()
                .find(|(t, _)| *t == IFA_FLAGS)
                .map_or(a[2] as u32, |(_, v)| u32_at(v, 0));
            if flags & IFA_F_PERMANENT == 0 {
                continue;
            }
            let mut attrs: Vec<(u16, Vec<u8>)> = at
                .into_iter()
                .filter(|(t, _)| matches!(*t, IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST))
                .map(|(t, v)| (t, v.to_vec()))
                .collect();
            if flags & IFA_USER_FLAGS != 0 {
                attrs.push((IFA_FLAGS, (flags & IFA_USER_FLAGS).to_ne_bytes().to_vec()));
            }
            out.push(Addr {
                family: a[0],
                prefix_len: a[1],
                attrs,
            });
        }
        Ok(out)
    }

    /// Move link `index` into the network namespace `netns`, named `name` there (a name with
    /// `%d` is numbered by the kernel).
    pub fn move_link(&mut self, index: i32, netns: BorrowedFd, name: &str) -> io::Result<()> {
        let mut body = ifinfo(index, 0, 0);
        attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(netns.as_raw_fd() as u32).to_ne_bytes(),
        );
        name_attr(&mut body, name);
        self.request(RTM_NEWLINK, 0, &body, RTM_NEWLINK).map(drop)
    }

    /// Add address `a` to link `index`.
    pub fn add_address(&mut self, index: i32, a: &Addr) -> io::Result<()> {
        let mut body = vec![a.family, a.prefix_len, 0, RT_SCOPE_UNIVERSE];
        body.extend_from_slice(&(index as u32).to_ne_bytes());
        for (t, v) in &a.attrs {
            attr(&mut body, *t, v);
        }
        const NLM_F_CREATE: u16 = 0x400;
        const NLM_F_EXCL: u16 = 0x200;
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &body, RTM_NEWADDR)
            .map(drop)
    }

    /// Set link `index` up.
    pub fn set_up(&mut self, index: i32) -> io::Result<()> {
        self.request(RTM_NEWLINK, 0, &ifinfo(index, IFF_UP, IFF_UP), RTM_NEWLINK)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_aligned_and_read_back() {
        let mut b = ifinfo(7, 0, 0);
        name_attr(&mut b, "eth1");
        attr(&mut b, IFLA_NET_NS_FD, &5u32.to_ne_bytes());
        assert_eq!(b.len() % 4, 0);
        let at = attrs(&b, 16);
        assert_eq!(
            at,
            [
                (IFLA_IFNAME, &b"eth1\0"[..]),
                (IFLA_NET_NS_FD, &5u32.to_ne_bytes()[..])
            ]
        );
        assert_eq!(u32_at(&b, 4), 7);
    }

    #[test]
    fn loopback_is_found_by_name_and_index() {
        let mut r = Route::open().unwrap();
        let lo = r.link_index("lo").unwrap().expect("lo exists");
        assert_eq!(r.link_name(lo).unwrap().as_deref(), Some("lo"));
        assert_eq!(r.link_index("no-such-link0").unwrap(), None);
    }
}
