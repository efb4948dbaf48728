//! Where one owned entry is on its way out, and the one place its close is
//! handed to whoever runs it.
//!
//! The stages, in order: `Live` (in the cache), `Leased` (retired, leases still
//! held), `Queued` (the last lease is gone; the close waits for a runner),
//! `Closing` (a runner took it), `Done`. Every change happens under the slot's
//! lock, and [`CloseSlot::take`] is the only way out of `Queued`: of any number
//! of runners (the entry's own runtime, a shutdown, the reaper, an abandonment),
//! exactly one gets the close.

use std::{fmt, time::Duration};

use tenure_core::PendingClose;

use crate::sync::Mutex;

/// Why a retired owned entry is not closed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// Leases are still held; since retirement.
    Leased { since: Duration },
    /// The close waits for a runtime to take it; since the last lease was dropped.
    Queued { since: Duration },
    /// A runtime is running the close; since it started.
    Running { since: Duration },
}

enum Stage {
    Live,
    Leased { since: Duration },
    Queued { since: Duration, close: PendingClose },
    Running { since: Duration },
    Done,
}

struct State {
    stage: Stage,
    /// Whether the current stage has been warned about as stuck.
    warned: bool,
}

/// One owned entry's way from the cache to closed.
pub(crate) struct CloseSlot<K> {
    key: K,
    state: Mutex<State>,
}

impl<K> CloseSlot<K> {
    pub(crate) fn new(key: K) -> Self {
        Self {
            key,
            state: Mutex::new(State {
                stage: Stage::Live,
                warned: false,
            }),
        }
    }

    pub(crate) fn key(&self) -> &K {
        &self.key
    }

    /// `Live` -> `Leased`. Returns whether it was live (and so is newly draining).
    pub(crate) fn retire(&self, now: Duration) -> bool {
        let mut state = self.state.lock();
        if !matches!(state.stage, Stage::Live) {
            return false;
        }
        *state = State {
            stage: Stage::Leased { since: now },
            warned: false,
        };
        true
    }

    /// `Live`/`Leased` -> `Queued`: the last lease is gone. Returns whether the
    /// entry was still live (closed without retirement: newly draining too).
    ///
    /// A second close for one entry cannot happen (the core calls its closer once);
    /// if it ever did, that close would be dropped here, unrun.
    pub(crate) fn queue(&self, close: PendingClose, now: Duration) -> bool {
        let mut state = self.state.lock();
        let was_live = match state.stage {
            Stage::Live => true,
            Stage::Leased { .. } => false,
            Stage::Queued { .. } | Stage::Running { .. } | Stage::Done => {
                debug_assert!(false, "an entry's close was queued twice");
                return false;
            }
        };
        *state = State {
            stage: Stage::Queued { since: now, close },
            warned: false,
        };
        was_live
    }

    /// `Queued` -> `Closing`, handing the close to the caller: `Some` for exactly
    /// one caller, however many race.
    pub(crate) fn take(&self, now: Duration) -> Option<PendingClose> {
        let mut state = self.state.lock();
        if !matches!(state.stage, Stage::Queued { .. }) {
            return None;
        }
        let stage = std::mem::replace(&mut state.stage, Stage::Running { since: now });
        state.warned = false;
        match stage {
            Stage::Queued { close, .. } => Some(close),
            _ => None,
        }
    }

    /// `Closing` -> `Done`.
    pub(crate) fn finish(&self) {
        self.state.lock().stage = Stage::Done;
    }

    /// Why the entry is not closed yet; `None` when live or done.
    pub(crate) fn waiting(&self) -> Option<Waiting> {
        waiting(&self.state.lock().stage)
    }

    /// `Some` the first time the current stage is found older than `limit`.
    pub(crate) fn stuck_for_the_first_time(&self, now: Duration, limit: Duration) -> Option<Waiting> {
        let mut state = self.state.lock();
        let waiting = waiting(&state.stage)?;
        let since = match waiting {
            Waiting::Leased { since } | Waiting::Queued { since } | Waiting::Running { since } => since,
        };
        if state.warned || now.saturating_sub(since) < limit {
            return None;
        }
        state.warned = true;
        Some(waiting)
    }
}

fn waiting(stage: &Stage) -> Option<Waiting> {
    match *stage {
        Stage::Live | Stage::Done => None,
        Stage::Leased { since } => Some(Waiting::Leased { since }),
        Stage::Queued { since, .. } => Some(Waiting::Queued { since }),
        Stage::Running { since } => Some(Waiting::Running { since }),
    }
}

impl<K> fmt::Debug for CloseSlot<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseSlot")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}
