//! One D-Bus connection to a message bus over its unix socket: the SASL `EXTERNAL`
//! authentication with an identity hull chooses (rustbus's own connect sends the real uid,
//! which a bus outside hull's user namespace does not know), `Hello`, then messages marshalled
//! and unmarshalled by rustbus and framed here. Synchronous, no thread; every read is bounded by
//! a deadline. Signals that arrive while a reply is awaited are kept for [`Conn::next_signal`].

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rustbus::message_builder::MarshalledMessage;
use rustbus::wire::{marshal, unmarshal};
use rustbus::MessageType;

/// The largest message the D-Bus specification allows (128 MiB).
const MAX_MESSAGE: usize = 128 << 20;

/// Why a connection or an exchange failed (rendered into the caller's one-line error).
pub type Failure = String;

/// An authenticated connection that has said `Hello`.
pub struct Conn {
    stream: UnixStream,
    /// Bytes read past the last whole message (or the last SASL line).
    buf: Vec<u8>,
    serial: u32,
    signals: VecDeque<MarshalledMessage>,
}

impl Conn {
    /// Connect to the bus at `path` and authenticate as `uid` (`EXTERNAL` with that identity);
    /// a bus that rejects it is asked once more without an identity, so that it takes the
    /// kernel's credentials of the socket (what sd-bus and dbus-broker clients send): a caller
    /// in a nested user namespace cannot know its uid as the bus sees it.
    pub fn connect(path: &Path, uid: u32, deadline: Instant) -> Result<Conn, Failure> {
        let stream =
            UnixStream::from(crate::sys::socket::connect(path).map_err(|e| e.to_string())?);
        // Writes are small, but a bus that stopped reading must not hang hull either.
        let left = deadline.saturating_duration_since(Instant::now());
        stream
            .set_write_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        let mut c = Conn {
            stream,
            buf: Vec::new(),
            serial: 0,
            signals: VecDeque::new(),
        };
        c.authenticate(path, uid, deadline)?;
        let mut hello = rustbus::standard_messages::hello();
        let serial = c.send(&mut hello)?;
        c.reply(serial, deadline)?;
        Ok(c)
    }

    fn authenticate(&mut self, path: &Path, uid: u32, deadline: Instant) -> Result<(), Failure> {
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.write(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let mut line = self.line(deadline)?;
        if line.starts_with("REJECTED") {
            crate::logging::debug(&format!(
                "the bus at {} rejected uid {uid}; authenticating by the socket's credentials",
                path.display()
            ));
            self.write(b"AUTH EXTERNAL\r\n")?;
            line = self.line(deadline)?;
            if line == "DATA" {
                self.write(b"DATA\r\n")?;
                line = self.line(deadline)?;
            }
        }
        if !line.starts_with("OK ") {
            return Err(format!(
                "the bus refused authentication as uid {uid} (it said {line:?})"
            ));
        }
        self.write(b"BEGIN\r\n")
    }

    /// One SASL line from the server, without its `\r\n`.
    fn line(&mut self, deadline: Instant) -> Result<String, Failure> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.buf.len() > 4096 {
                return Err("the bus sent an overlong authentication line".into());
            }
            self.fill(deadline)?;
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream.write_all(bytes).map_err(|e| e.to_string())
    }

    /// Read what the socket has (at least one byte) into the buffer, waiting until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".into());
        }
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err("the bus closed the connection".into()),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err("timed out".into())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Send `msg` with the next serial; that serial.
    pub fn send(&mut self, msg: &mut MarshalledMessage) -> Result<u32, Failure> {
        self.serial += 1;
        let serial = self.serial;
        msg.dynheader.serial = Some(serial);
        let mut out = Vec::with_capacity(128 + msg.get_buf().len());
        marshal::marshal(msg, serial, &mut out).map_err(|e| format!("encode: {e:?}"))?;
        out.extend_from_slice(msg.get_buf());
        self.write(&out)?;
        Ok(serial)
    }

    /// The reply (or error reply) to the call `serial`; signals meanwhile are kept.
    pub fn reply(&mut self, serial: u32, deadline: Instant) -> Result<MarshalledMessage, Failure> {
        loop {
            let msg = self.message(deadline)?;
            match msg.typ {
                MessageType::Reply | MessageType::Error
                    if msg.dynheader.response_serial == Some(serial) =>
                {
                    return Ok(msg)
                }
                MessageType::Signal => self.signals.push_back(msg),
                _ => {}
            }
        }
    }

    /// The next signal, waiting until `deadline`.
    pub fn next_signal(&mut self, deadline: Instant) -> Result<MarshalledMessage, Failure> {
        loop {
            if let Some(s) = self.signals.pop_front() {
                return Ok(s);
            }
            let msg = self.message(deadline)?;
            if msg.typ == MessageType::Signal {
                return Ok(msg);
            }
        }
    }

    /// The next whole message.
    fn message(&mut self, deadline: Instant) -> Result<MarshalledMessage, Failure> {
        let len = loop {
            if let Some(len) = message_len(&self.buf)? {
                if self.buf.len() >= len {
                    break len;
                }
            }
            self.fill(deadline)?;
        };
        let bytes: Vec<u8> = self.buf.drain(..len).collect();
        decode(&bytes)
    }
}

/// The length of the message at the start of `buf`, once its fixed header is there (the D-Bus
/// wire format: 12 bytes, the header fields' array length, the fields padded to 8, the body).
fn message_len(buf: &[u8]) -> Result<Option<usize>, Failure> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let u32_at = |i: usize| {
        let b = [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]];
        match buf[0] {
            b'l' => Ok(u32::from_le_bytes(b) as usize),
            b'B' => Ok(u32::from_be_bytes(b) as usize),
            other => Err(format!("the bus sent a message of byte order {other:#x}")),
        }
    };
    let (body, fields) = (u32_at(4)?, u32_at(12)?);
    let len = (16 + fields).div_ceil(8) * 8 + body;
    if len > MAX_MESSAGE {
        return Err(format!("the bus sent a message of {len} bytes"));
    }
    Ok(Some(len))
}

/// One whole message, unmarshalled by rustbus.
fn decode(bytes: &[u8]) -> Result<MarshalledMessage, Failure> {
    let bad = |e: rustbus::wire::errors::UnmarshalError| {
        format!("the bus sent a malformed message: {e:?}")
    };
    let (used, header) = unmarshal::unmarshal_header(bytes, 0).map_err(bad)?;
    let (more, dynheader) =
        unmarshal::unmarshal_dynamic_header(&header, bytes, used).map_err(bad)?;
    let (_, msg) =
        unmarshal::unmarshal_next_message(&header, dynheader, bytes, used + more).map_err(bad)?;
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustbus::MessageBuilder;

    #[test]
    fn a_marshalled_message_frames_and_decodes_back() {
        let mut msg = MessageBuilder::new()
            .call("GetUnit")
            .with_interface("org.freedesktop.systemd1.Manager")
            .on("/org/freedesktop/systemd1")
            .at("org.freedesktop.systemd1")
            .build();
        msg.body.push_param("hull-x.scope").unwrap();
        let mut out = Vec::new();
        marshal::marshal(&msg, 7, &mut out).unwrap();
        out.extend_from_slice(msg.get_buf());
        assert_eq!(message_len(&out[..15]).unwrap(), None);
        assert_eq!(message_len(&out).unwrap(), Some(out.len()));
        let back = decode(&out).unwrap();
        assert_eq!(back.dynheader.member.as_deref(), Some("GetUnit"));
        assert_eq!(back.dynheader.serial, Some(7));
        assert_eq!(back.body.parser().get::<String>().unwrap(), "hull-x.scope");
    }

    #[test]
    fn a_huge_or_foreign_header_is_refused() {
        let mut h = vec![b'l', 1, 0, 1];
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        assert!(message_len(&h).is_err());
        h[0] = b'x';
        assert!(message_len(&h).is_err());
    }
}
