//! systemd's manager over D-Bus: start a transient unit and wait for its job, stop and reset
//! one, set properties on one, move a process into one, read a manager property. The system
//! bus is `$DBUS_SYSTEM_BUS_ADDRESS` (`unix:path=…`) or `/run/dbus/system_bus_socket`; a user's
//! bus (its `systemd --user`, for rootless containers) is the socket [`super::user`] found.
//! The connection is `conn.rs`'s, the messages rustbus's. Every failure names the bus, the unit
//! and what systemd said.

use std::path::Path;
use std::time::{Duration, Instant};

use rustbus::message_builder::MarshalledMessage;
use rustbus::params::{Array, Base, Container, Param, Variant};
use rustbus::signature::Type;
use rustbus::{MessageBuilder, MessageType};

use super::conn::Conn;
use super::props::{Property, Value};
use crate::error::{Error, Result};

const SYSTEMD: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long a call or a job may take (runc waits 30 s for a unit's job too).
const TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// A connection to systemd's manager.
pub struct Bus {
    conn: Conn,
    /// "the system bus at /run/dbus/system_bus_socket" (messages).
    what: String,
    subscribed: bool,
}

/// A D-Bus error reply: its name and message.
#[derive(Debug)]
pub struct Reply {
    /// `org.freedesktop.systemd1.NoSuchUnit`, …
    pub name: String,
    /// systemd's text.
    pub message: String,
}

impl Bus {
    /// Connect to the system bus, as the real uid (what the bus, in hull's user namespace or
    /// outside any, knows the caller by).
    pub fn system() -> Result<Bus> {
        let path = match std::env::var("DBUS_SYSTEM_BUS_ADDRESS") {
            Ok(a) => unix_path(&a).ok_or_else(|| {
                Error::invalid(format!(
                    "--systemd-cgroup: DBUS_SYSTEM_BUS_ADDRESS {} is not a unix:path= address",
                    crate::error::quote(&a)
                ))
            })?,
            Err(_) => DEFAULT_SYSTEM_BUS.to_string(),
        };
        let what = format!("the system bus at {path}");
        let hint = "is systemd PID 1 with D-Bus running? without them, omit --systemd-cgroup";
        Bus::connect(Path::new(&path), nix::unistd::getuid().as_raw(), what, hint)
    }

    /// Connect to a user's bus at `path` (its `systemd --user`), as `uid`: the caller's uid on
    /// the host, which is what the bus knows it by (`crate::rootless::host_uid`).
    pub fn user(path: &Path, uid: u32) -> Result<Bus> {
        let what = format!("the user bus at {}", path.display());
        let hint = "is your user manager running? `systemctl --user` must work (log in, or `loginctl enable-linger`); without it, omit --systemd-cgroup";
        Bus::connect(path, uid, what, hint)
    }

    fn connect(path: &Path, uid: u32, what: String, hint: &str) -> Result<Bus> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::invalid(format!(
                "--systemd-cgroup: cannot talk to systemd over {what}: {e} ({hint})"
            ))
        };
        if !path.exists() {
            return Err(fail(&"no such socket"));
        }
        let conn = Conn::connect(path, uid, Instant::now() + TIMEOUT).map_err(|e| fail(&e))?;
        Ok(Bus {
            conn,
            what,
            subscribed: false,
        })
    }

    /// Send a method call to systemd's manager; the reply, or the error systemd sent.
    fn call(
        &mut self,
        member: &str,
        args: &[Param],
    ) -> Result<std::result::Result<MarshalledMessage, Reply>> {
        self.call_at(SYSTEMD, MANAGER_PATH, MANAGER, member, args)
    }

    fn call_at(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        args: &[Param],
    ) -> Result<std::result::Result<MarshalledMessage, Reply>> {
        let mut msg = MessageBuilder::new()
            .call(member)
            .with_interface(iface)
            .on(path)
            .at(dest)
            .build();
        msg.body
            .push_old_params(args)
            .map_err(|e| Error::Msg(format!("D-Bus {member}: encode: {e}")))?;
        let what = &self.what;
        let io = |e: String| Error::Msg(format!("D-Bus {member} over {what}: {e}"));
        let serial = self.conn.send(&mut msg).map_err(io)?;
        let reply = self
            .conn
            .reply(serial, Instant::now() + TIMEOUT)
            .map_err(io)?;
        if reply.typ == MessageType::Error {
            let name = reply.dynheader.error_name.clone().unwrap_or_default();
            let message = reply.body.parser().get::<String>().unwrap_or_default();
            return Ok(Err(Reply { name, message }));
        }
        Ok(Ok(reply))
    }

    /// Receive the manager's job signals (once per connection).
    fn subscribe(&mut self) -> Result<()> {
        if self.subscribed {
            return Ok(());
        }
        let rule = format!(
            "type='signal',sender='{SYSTEMD}',path='{MANAGER_PATH}',interface='{MANAGER}',member='JobRemoved'"
        );
        self.call_at(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "AddMatch",
            &[string(&rule)],
        )?
        .map_err(|r| self.failed("AddMatch", "", &r))?;
        // systemd sends job signals only while someone is subscribed.
        self.call("Subscribe", &[])?
            .map_err(|r| self.failed("Subscribe", "", &r))?;
        self.subscribed = true;
        Ok(())
    }

    fn failed(&self, member: &str, unit: &str, r: &Reply) -> Error {
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        Error::Msg(format!(
            "systemd {member}{unit} over {}: {} ({})",
            self.what, r.message, r.name
        ))
    }

    /// Wait for the job `job` to finish; its result (`done`, `failed`, `canceled`, …).
    fn wait_job(&mut self, job: &str, unit: &str) -> Result<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Msg(format!(
                    "systemd did not finish the job for {unit} within {} s",
                    TIMEOUT.as_secs()
                )));
            }
            let sig = self
                .conn
                .next_signal(Instant::now() + left)
                .map_err(|e| Error::Msg(format!("waiting for systemd's job for {unit}: {e}")))?;
            if sig.dynheader.member.as_deref() != Some("JobRemoved") {
                continue;
            }
            let mut p = sig.body.parser();
            let Ok((_, path, _, result)) =
                p.get4::<u32, rustbus::wire::ObjectPath<String>, String, String>()
            else {
                continue;
            };
            if path.as_ref() == job {
                return Ok(result);
            }
        }
    }

    /// Start the transient unit `name` with `props` and wait for its job. A unit of that name
    /// already there is an [`Error::Invalid`] (hull never joins another container's unit).
    pub fn start_transient_unit(&mut self, name: &str, props: &[Property]) -> Result<()> {
        self.subscribe()?;
        let args = [string(name), string("replace"), properties(props), aux()];
        let job = match self.call("StartTransientUnit", &args)? {
            Ok(reply) => object_path(&reply)?,
            // An Invalid error: no unit was made (the caller forgets the unit).
            Err(r) if r.name.ends_with(".UnitExists") => return Err(super::exists_named(name)),
            Err(r) => return Err(self.failed("StartTransientUnit", name, &r)),
        };
        match self.wait_job(&job, name)?.as_str() {
            "done" => Ok(()),
            other => {
                let _ = self.reset_failed(name);
                Err(Error::Msg(format!(
                    "systemd could not start {name}: its job ended \"{other}\" (journalctl -u {name})"
                )))
            }
        }
    }

    /// Stop `name` and wait until it is gone; a unit that does not exist is stopped already.
    pub fn stop_unit(&mut self, name: &str) -> Result<()> {
        self.subscribe()?;
        let job = match self.call("StopUnit", &[string(name), string("replace")])? {
            Ok(reply) => object_path(&reply)?,
            Err(r) if r.name.ends_with(".NoSuchUnit") => return Ok(()),
            Err(r) => return Err(self.failed("StopUnit", name, &r)),
        };
        let result = self.wait_job(&job, name)?;
        // A unit that failed stays listed until reset (runc resets it too).
        let _ = self.reset_failed(name);
        match result.as_str() {
            "done" => Ok(()),
            other => Err(Error::Msg(format!(
                "systemd could not stop {name}: its job ended \"{other}\""
            ))),
        }
    }

    /// Forget a failed unit (`systemctl reset-failed`); a unit that is not failed is fine.
    pub fn reset_failed(&mut self, name: &str) -> Result<()> {
        match self.call("ResetFailedUnit", &[string(name)])? {
            Ok(_) => Ok(()),
            Err(r) if r.name.ends_with(".NoSuchUnit") => Ok(()),
            Err(r) => Err(self.failed("ResetFailedUnit", name, &r)),
        }
    }

    /// Change properties of a running unit (runtime only, as runc does).
    pub fn set_unit_properties(&mut self, name: &str, props: &[Property]) -> Result<()> {
        let args = [
            string(name),
            Param::Base(Base::Boolean(true)),
            properties(props),
        ];
        self.call("SetUnitProperties", &args)?
            .map_err(|r| self.failed("SetUnitProperties", name, &r))?;
        Ok(())
    }
}

impl Bus {
    /// Move process `pid` into the unit `name` (its sub-cgroup `sub`, "" for its own): systemd
    /// does it with its own rights, which a caller may lack (a user's manager asks the system's
    /// when the process sits in a cgroup that is not the user's).
    pub fn attach_process(&mut self, name: &str, sub: &str, pid: u32) -> Result<()> {
        let pids = array("u", vec![Param::Base(Base::Uint32(pid))]);
        self.call("AttachProcessesToUnit", &[string(name), string(sub), pids])?
            .map_err(|r| self.failed("AttachProcessesToUnit", name, &r))?;
        Ok(())
    }

    /// A string property of the manager itself (`ControlGroup`: where a user's manager lives).
    pub fn manager_property(&mut self, name: &str) -> Result<String> {
        let reply = self
            .call_at(
                SYSTEMD,
                MANAGER_PATH,
                "org.freedesktop.DBus.Properties",
                "Get",
                &[string(MANAGER), string(name)],
            )?
            .map_err(|r| self.failed("Get", name, &r))?;
        let mut p = reply.body.parser();
        p.get::<rustbus::wire::unmarshal::traits::Variant>()
            .and_then(|v| v.get::<String>())
            .map_err(|e| {
                Error::Msg(format!(
                    "systemd's {name} over {} is not a string: {e:?}",
                    self.what
                ))
            })
    }
}

/// The path of a `unix:path=PATH[,…]` address (the first one of a `;` list that is one), its
/// `%XX` escapes decoded.
pub(super) fn unix_path(addr: &str) -> Option<String> {
    addr.split(';').find_map(|a| {
        let rest = a.strip_prefix("unix:")?;
        rest.split(',')
            .find_map(|kv| kv.strip_prefix("path="))
            .and_then(unescape)
    })
}

/// A D-Bus address value's `%XX` escapes decoded.
fn unescape(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn object_path(reply: &MarshalledMessage) -> Result<String> {
    reply
        .body
        .parser()
        .get::<rustbus::wire::ObjectPath<String>>()
        .map(|p| p.as_ref().to_string())
        .map_err(|e| Error::Msg(format!("systemd's reply has no job path: {e}")))
}

fn string(s: &str) -> Param<'static, 'static> {
    Param::Base(Base::String(s.to_string()))
}

fn sig(s: &str) -> Type {
    Type::parse_description(s)
        .ok()
        .and_then(|mut v| v.pop())
        .expect("a valid single complete signature")
}

fn array(elem: &str, values: Vec<Param<'static, 'static>>) -> Param<'static, 'static> {
    Param::Container(Container::Array(Array {
        element_sig: sig(elem),
        values,
    }))
}

fn pair(a: Param<'static, 'static>, b: Param<'static, 'static>) -> Param<'static, 'static> {
    Param::Container(Container::Struct(vec![a, b]))
}

/// A property value as D-Bus data.
fn param(v: &Value) -> Param<'static, 'static> {
    match v {
        Value::Bool(b) => Param::Base(Base::Boolean(*b)),
        Value::Byte(n) => Param::Base(Base::Byte(*n)),
        Value::I16(n) => Param::Base(Base::Int16(*n)),
        Value::U16(n) => Param::Base(Base::Uint16(*n)),
        Value::I32(n) => Param::Base(Base::Int32(*n)),
        Value::U32(n) => Param::Base(Base::Uint32(*n)),
        Value::I64(n) => Param::Base(Base::Int64(*n)),
        Value::U64(n) => Param::Base(Base::Uint64(*n)),
        Value::Double(d) => Param::Base(Base::Double(d.to_bits())),
        Value::Str(s) => string(s),
        Value::Strs(v) => array("s", v.iter().map(|s| string(s)).collect()),
        Value::Bytes(v) => array("y", v.iter().map(|b| Param::Base(Base::Byte(*b))).collect()),
        Value::U32s(v) => array(
            "u",
            v.iter().map(|n| Param::Base(Base::Uint32(*n))).collect(),
        ),
        Value::PairsSS(v) => array(
            "(ss)",
            v.iter().map(|(a, b)| pair(string(a), string(b))).collect(),
        ),
        Value::PairsST(v) => array(
            "(st)",
            v.iter()
                .map(|(a, n)| pair(string(a), Param::Base(Base::Uint64(*n))))
                .collect(),
        ),
    }
}

/// `a(sv)`: the properties.
fn properties(props: &[Property]) -> Param<'static, 'static> {
    array(
        "(sv)",
        props
            .iter()
            .map(|(name, v)| {
                let value = param(v);
                let variant = Param::Container(Container::Variant(Box::new(Variant {
                    sig: value.sig(),
                    value,
                })));
                pair(string(name), variant)
            })
            .collect(),
    )
}

/// `a(sa(sv))`: no auxiliary units.
fn aux() -> Param<'static, 'static> {
    array("(sa(sv))", Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_addresses() {
        assert_eq!(
            unix_path("unix:path=/run/dbus/system_bus_socket").as_deref(),
            Some("/run/dbus/system_bus_socket")
        );
        assert_eq!(
            unix_path("tcp:host=x;unix:guid=1,path=/x").as_deref(),
            Some("/x")
        );
        assert_eq!(unix_path("unix:abstract=/x"), None);
        assert_eq!(
            unix_path("unix:path=/run/user/1000/bus%2dx").as_deref(),
            Some("/run/user/1000/bus-x")
        );
        assert_eq!(unix_path("unix:path=/x%2"), None);
    }

    #[test]
    fn start_transient_units_arguments_encode_as_systemd_wants() {
        let props = vec![
            ("Slice".to_string(), Value::Str("system.slice".into())),
            ("PIDs".to_string(), Value::U32s(vec![7])),
            ("AllowedCPUs".to_string(), Value::Bytes(vec![3])),
            (
                "DeviceAllow".to_string(),
                Value::PairsSS(vec![("/dev/null".into(), "rw".into())]),
            ),
            ("IOReadBandwidthMax".to_string(), Value::PairsST(vec![])),
            ("CPUWeight".to_string(), Value::U64(100)),
            ("Nice".to_string(), Value::Double(1.5)),
        ];
        let mut msg = MessageBuilder::new()
            .call("StartTransientUnit")
            .on(MANAGER_PATH)
            .build();
        msg.body
            .push_old_params(&[
                string("x.scope"),
                string("replace"),
                properties(&props),
                aux(),
            ])
            .unwrap();
        assert_eq!(msg.get_sig(), "ssa(sv)a(sa(sv))");
        let mut p = msg.body.parser();
        assert_eq!(p.get::<String>().unwrap(), "x.scope");
    }
}
