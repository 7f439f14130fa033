//! The `run` verb: create + start in one process. In the foreground hull stays init's parent
//! (CLONE_PARENT), forwards every catchable signal to it through a signalfd loop (no threads),
//! reaps it, deletes the container unless `keep`, and returns the process's exit status (128+N
//! when it was killed by signal N). Detached it returns once the process runs. With
//! `process.terminal` in the foreground, hull relays between its own terminal and the pty
//! master in the same loop (`tty.rs`).

use std::path::Path;

use super::create::Options;
use super::Container;
use crate::error::{Error, Result};
use crate::signals;

/// Run container `id` under `root`; `keep` leaves it behind once it stopped.
pub fn run(root: &Path, id: &str, o: &Options, keep: bool) -> Result<i32> {
    // Block forwarded signals before any clone so none is lost; init unblocks them before exec.
    let blocked = signals::block_forwarded();
    let created = Container::create(root, id, o)?;
    let c = created.container;
    let st = created.state;
    // process.terminal in the foreground: hull's terminal goes raw (restored when `console`
    // drops) before the process can write anything.
    let mut console = created.console;
    let started = console
        .as_mut()
        .map_or(Ok(()), |t| t.host.set_raw())
        .and_then(|()| c.start(&st));
    if let Err(e) = started {
        let _ = c.destroy(&st);
        return Err(e);
    }
    // Release the lock while the container runs: kill, state and delete must not wait for us.
    drop(c);
    if o.detach {
        return Ok(0);
    }
    let code = match &console {
        Some(t) => crate::tty::relay_until_exit(t, &blocked, st.pid),
        None => signals::forward_until_exit(st.pid, &blocked),
    };
    drop(console);
    if !keep {
        match Container::open(root, id) {
            Ok(c) => c.destroy(&st)?,
            // Someone deleted it meanwhile: nothing left to clean.
            Err(e) if matches!(e.root_cause(), Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    code
}
