//! `linux.seccomp` compiled to classic BPF and loaded with seccomp(2).
//!
//! Front end (`plan.rs`): validation, name → number for each listed architecture (`tables.rs`),
//! libseccomp's resolution of rules that name one syscall more than once, grouping by action.
//! Emitter (`emit.rs`): seccompiler builds each action group's body for the native layout; we
//! strip its architecture check and stitch the groups behind our own prologue (dispatch on
//! `seccomp_data.arch`, the x32 guard, an ENOSYS stub for syscalls newer than the profile).
//! Loader (`load.rs`): raw seccomp(2) with the OCI flags, NEW_LISTENER for SCMP_ACT_NOTIFY, and
//! the listener fd's hand-off to `listenerPath`.
//! A profile hull cannot enforce fails `create`: hull never runs a container unconfined.

pub mod emit;
pub mod load;
pub mod plan;
pub mod tables;

pub use emit::{compile, Compiled, Filter, Options};
pub use load::{install, send_listener, ListenerContainer};
