//! A process-wide heartbeat: a counter that a small background thread bumps
//! every [`PERIOD`], for as long as any cache is alive.
//!
//! Reading the clock costs more than a whole cache hit, so hits decide expiry
//! with `recent`, the cache's last clock reading. That is only sound while
//! `recent` is fresh, and no tokio task can promise freshness: a runtime may sit
//! idle with its reaper unpolled. A thread that only sleeps and counts can: a
//! hit that sees the same beat as the one recorded with `recent` knows that
//! `recent` was read less than a period ago (plus however late the OS wakes the
//! thread). Otherwise the hit reads the clock itself.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use parking_lot::Mutex;

/// How often the heartbeat beats.
pub(crate) const PERIOD: Duration = Duration::from_millis(5);

// Starts at 1, so a clock that has never been read (beat 0) is never fresh.
static BEATS: AtomicU64 = AtomicU64::new(1);

/// How many caches are alive, and whether the thread runs; the thread exits
/// when the count reaches zero and is started again by the next cache.
static STATE: Mutex<State> = Mutex::new(State {
    holders: 0,
    running: false,
});

struct State {
    holders: usize,
    running: bool,
}

/// The current beat.
#[inline]
pub(crate) fn beat() -> u64 {
    BEATS.load(Ordering::Acquire)
}

/// Keeps the heartbeat running while it lives; one per cache.
#[derive(Debug)]
pub(crate) struct Holder(());

impl Holder {
    /// Registers a cache, starting the thread if none runs. `None` if the thread
    /// cannot be started: the cache then reads the clock on every hit.
    pub(crate) fn new() -> Option<Self> {
        let mut state = STATE.lock();
        if !state.running {
            let spawned = std::thread::Builder::new().name("tenure-heartbeat".into()).spawn(run);
            if let Err(error) = spawned {
                tracing::warn!(%error, "no heartbeat thread: cache hits will read the clock");
                return None;
            }
            state.running = true;
        }
        state.holders += 1;
        Some(Self(()))
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        STATE.lock().holders -= 1;
    }
}

fn run() {
    loop {
        std::thread::sleep(PERIOD);
        BEATS.fetch_add(1, Ordering::AcqRel);
        let mut state = STATE.lock();
        if state.holders == 0 {
            state.running = false;
            // A last beat, so no reading taken under the old one is trusted again.
            BEATS.fetch_add(1, Ordering::AcqRel);
            return;
        }
    }
}
