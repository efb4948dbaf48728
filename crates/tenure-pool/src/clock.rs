//! The cache's notion of now: tokio's clock, so tests control it with
//! `tokio::time::pause` and `advance`, and production reads the monotonic clock.
//!
//! Reading the clock costs more than a whole cache hit (about 35 ns on the
//! benchmark machine against a 30 ns hit), so hits do not read it unless they
//! must. Every precise reading is also kept as `recent`, a lower bound on the
//! current time that the reaper refreshes at every tick. A hit compares an
//! entry's deadline with `recent`: at or before it, the entry has certainly
//! expired; more than `slack` after it, it certainly has not (while the reaper
//! ticks, `recent` lags by less than that); in between, the hit reads the clock.
//! So expiry is exact unless the runtime stalls the reaper, in which case an
//! entry may be served late by the stall's length, never early.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use tokio::time::Instant;

use crate::{expiry::Expiry, stats::RemovalCause};

/// Nanoseconds since the cache was built, read from tokio's clock.
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    recent: AtomicU64,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            base: Instant::now(),
            recent: AtomicU64::new(0),
        }
    }

    /// The precise time; also refreshes `recent`.
    pub(crate) fn now(&self) -> u64 {
        let now = nanos(Instant::now().saturating_duration_since(self.base));
        // A plain store: a racing older reading can only lower `recent`, which
        // stays a lower bound either way.
        self.recent.store(now, Ordering::Relaxed);
        now
    }

    /// A time that has certainly passed.
    pub(crate) fn recent(&self) -> u64 {
        self.recent.load(Ordering::Relaxed)
    }
}

/// One lookup's view of the time: `recent` for free, the clock if needed.
pub(crate) struct Reading<'a> {
    clock: &'a Clock,
    recent: u64,
    exact: Option<u64>,
    /// How far `recent` may lag while the reaper runs; `None` when it does not,
    /// and then every entry with a deadline still ahead of `recent` reads the clock.
    slack: Option<u64>,
}

impl<'a> Reading<'a> {
    #[inline]
    pub(crate) fn new(clock: &'a Clock, slack: Option<u64>) -> Self {
        Self {
            clock,
            recent: clock.recent(),
            exact: None,
            slack,
        }
    }

    /// Why an entry with these times (and `deadline`, the earlier of its two
    /// expiries) should go now, reading the clock only when `recent` cannot decide.
    #[inline]
    pub(crate) fn check(
        &mut self,
        expiry: Expiry,
        deadline: u64,
        inserted_at: u64,
        last_access: u64,
    ) -> Option<RemovalCause> {
        // The common case, one comparison: far from any deadline (or none at all).
        if let Some(slack) = self.slack
            && deadline > self.recent.saturating_add(slack)
        {
            return None;
        }
        self.check_near(expiry, deadline, inserted_at, last_access)
    }

    #[cold]
    fn check_near(
        &mut self,
        expiry: Expiry,
        deadline: u64,
        inserted_at: u64,
        last_access: u64,
    ) -> Option<RemovalCause> {
        if deadline == u64::MAX {
            return None;
        }
        if deadline <= self.recent {
            return expiry.check(inserted_at, last_access, self.recent);
        }
        let now = self.now();
        expiry.check(inserted_at, last_access, now)
    }

    /// The best time known without a clock read if possible: for last-use stamps.
    #[inline]
    pub(crate) fn stamp(&self) -> u64 {
        self.exact.unwrap_or(self.recent)
    }

    fn now(&mut self) -> u64 {
        *self.exact.get_or_insert_with(|| self.clock.now())
    }
}

/// A duration as whole nanoseconds, saturating (u64 nanoseconds is 584 years).
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
