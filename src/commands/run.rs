//! `hull run ID`: create + start in one process. In the foreground hull stays init's parent
//! (CLONE_PARENT), forwards every catchable signal to it through a signalfd loop (no threads),
//! reaps it, deletes the container unless --keep, and exits with the process's status (128+N
//! when it was killed by signal N). With --detach it returns once the process runs. With
//! `process.terminal` in the foreground, hull relays between its own terminal and the pty
//! master in the same loop (`tty.rs`).

use super::{create, delete, start, Global};
use crate::cli::RunArgs;
use crate::container::Container;
use crate::error::Result;
use crate::signals;

/// `hull run`.
pub fn run(g: &Global, a: &RunArgs) -> Result<i32> {
    // Block forwarded signals before any clone so none is lost; init unblocks them before exec.
    let blocked = signals::block_forwarded();
    run_blocked(g, a, &blocked)
}

fn run_blocked(g: &Global, a: &RunArgs, blocked: &signals::Blocked) -> Result<i32> {
    let created = create::create_with(g, &a.opts, &a.id, a.detach)?;
    let c = created.container;
    let st = created.state;
    // process.terminal in the foreground: hull's terminal goes raw (restored when `console`
    // drops) before the process can write anything.
    let mut console = created.console;
    let started = console
        .as_mut()
        .map_or(Ok(()), |t| t.host.set_raw())
        .and_then(|()| start::release(&c, st.pid, st.start_time))
        .and_then(|()| crate::hooks::poststart(&st));
    if let Err(e) = started {
        let _ = delete::destroy(c, &st);
        return Err(e);
    }
    // Release the lock while the container runs: kill, state and delete must not wait for us.
    drop(c);
    if a.detach {
        return Ok(0);
    }
    let code = match &console {
        Some(t) => crate::tty::relay_until_exit(t, blocked, st.pid),
        None => signals::forward_until_exit(st.pid, blocked),
    };
    drop(console);
    if !a.keep {
        match Container::open(&g.root, &a.id) {
            Ok(c) => {
                delete::destroy(c, &st)?;
            }
            // Someone deleted it meanwhile: nothing left to clean.
            Err(e) if matches!(e.root_cause(), crate::error::Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    code
}

/// The shell convention (kept here for callers of `run::exit_code`).
pub use crate::signals::exit_code;
