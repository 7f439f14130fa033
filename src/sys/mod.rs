//! The ground floor: small safe wrappers over the system calls every other module needs — fds
//! and pipes ([`fd`]), pidfds ([`pidfd`]), Unix sockets and SCM_RIGHTS ([`socket`]), waiting for
//! fds and children ([`wait`]), the clones ([`clone`]), CPU lists ([`cpu`]), the mount
//! API on fds ([`mount`]) and a procfs of hull's own ([`procfs`]). Each wrapper
//! exists once, here. Nothing in this folder knows about containers, and nothing here imports a
//! hull module but `error` and `logging`.

pub mod clone;
pub mod cpu;
pub mod fd;
pub mod mount;
pub mod netlink;
pub mod pidfd;
pub mod procfs;
pub mod socket;
pub mod wait;
