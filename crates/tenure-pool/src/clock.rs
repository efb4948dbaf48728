//! The cache's notion of now: tokio's clock, so tests control it with
//! `tokio::time::pause` and `advance`, and production reads the monotonic clock.
//!
//! Reading the clock costs about as much as a whole cache hit or more (one read
//! took 20 to 35 ns on the benchmark machine, a hit about 20 ns), so hits do not
//! read it unless they must, and inserts read it about once per heartbeat.
//! Every precise reading is kept as `recent`, a lower bound on the current
//! time, together with the [heartbeat](crate::heartbeat) beat seen just before
//! it. A hit trusts `recent` only while three things hold:
//!
//! - the beat has not moved since `recent` was read, so `recent` is less than one
//!   heartbeat period old in real time (unless the OS keeps the heartbeat thread
//!   off the CPU for longer than `slack`);
//! - tokio's clock is real time: a paused clock (`tokio::time::pause`, tests)
//!   jumps without real time passing, so once the cache sees tokio's clock
//!   stand still or fall outside the monotonic clock's readings around it
//!   ([`outside`]), every hit reads the
//!   clock (it looks where it is built, where each reaper starts, and at every
//!   clock reading; see [`Clock::look_for_virtual_time`] for what that misses);
//! - the entry's deadline is more than `slack` after `recent`.
//!
//! Then the entry has certainly not expired. Otherwise the hit reads the clock.
//! So a lookup never hands out an expired entry, whichever runtime asks and
//! whatever the reaper's runtime is doing; the one exception is an OS that
//! starves the heartbeat thread for longer than `slack` (at least 100 ms), and
//! then an entry is served late by at most that starvation.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use tokio::time::Instant;

use crate::{expiry::Expiry, heartbeat, stats::RemovalCause};

/// Nanoseconds since the cache was built, read from tokio's clock.
#[derive(Debug)]
pub(crate) struct Clock {
    base: Instant,
    /// The latest precise reading (the maximum of all of them).
    recent: AtomicU64,
    /// The latest beat seen before a precise reading.
    recent_beat: AtomicU64,
    /// `None` if the heartbeat thread could not start: never trust `recent` then.
    heartbeat: Option<heartbeat::Holder>,
    /// tokio's clock was seen paused or moved by hand: never trust `recent`.
    virtual_time: AtomicBool,
}

/// How far tokio's clock may differ from the monotonic clock at one reading
/// before the cache takes it for a paused (virtual) clock.
const VIRTUAL_DRIFT: Duration = Duration::from_millis(1);

impl Clock {
    pub(crate) fn new() -> Self {
        let clock = Self {
            base: Instant::now(),
            recent: AtomicU64::new(0),
            recent_beat: AtomicU64::new(0),
            heartbeat: heartbeat::Holder::new(),
            virtual_time: AtomicBool::new(false),
        };
        clock.look_for_virtual_time();
        clock
    }

    /// Whether tokio's clock, as the current runtime (if any) keeps it, stands
    /// still while real time passes: wait 20 µs of real time and look. If it
    /// does, the cache never trusts `recent` again.
    ///
    /// Each runtime keeps its own clock, so this runs where the cache is built
    /// and again where each reaper starts: a cache built outside a paused
    /// runtime (a static, a test fixture) and then used in one notices when
    /// that runtime's first insert starts a reaper there. A later `pause` is
    /// caught by [`now`](Self::now) when it sees the clocks drift apart.
    pub(crate) fn look_for_virtual_time(&self) {
        let tokio_then = Instant::now();
        let real = std::time::Instant::now();
        while real.elapsed() < Duration::from_micros(20) {
            std::hint::spin_loop();
        }
        if Instant::now() == tokio_then {
            self.virtual_time.store(true, Ordering::Relaxed);
        }
    }

    /// The precise time; also refreshes `recent`.
    pub(crate) fn now(&self) -> u64 {
        let beat = heartbeat::beat();
        let instant = if self.virtual_time.load(Ordering::Relaxed) {
            // Known virtual for good: no bracket to read.
            Instant::now()
        } else {
            let before = std::time::Instant::now();
            let instant = Instant::now();
            let after = std::time::Instant::now();
            if outside(before, instant.into_std(), after) {
                self.virtual_time.store(true, Ordering::Relaxed);
            }
            instant
        };
        let now = nanos(instant.saturating_duration_since(self.base));
        self.recent.fetch_max(now, Ordering::AcqRel);
        // After `recent`: whoever sees this beat sees a `recent` at least this new.
        self.recent_beat.fetch_max(beat, Ordering::AcqRel);
        now
    }

    /// The time to stamp a new entry with: `recent` when a hit would trust it
    /// (see [`Reading::new`] for `trust_recent`), else the precise time.
    ///
    /// `recent` is a lower bound read during the current beat, so the stamp is
    /// at most one heartbeat period (plus however late the OS runs the heartbeat
    /// thread) before the exact time, never after it: an entry may then expire
    /// that much before its time-to-live, never later. One clock read per beat
    /// instead of one per insert; under a paused clock (seen as such), every
    /// insert reads the clock, so tests keep exact times.
    #[inline]
    pub(crate) fn insertion_time(&self, trust_recent: bool) -> u64 {
        match self.fresh_recent() {
            Some(recent) if trust_recent => recent,
            _ => self.now(),
        }
    }

    /// `recent`, if it was read during the current beat.
    #[inline]
    fn fresh_recent(&self) -> Option<u64> {
        self.heartbeat.as_ref()?;
        if self.virtual_time.load(Ordering::Relaxed) {
            return None;
        }
        let seen = self.recent_beat.load(Ordering::Acquire);
        let recent = self.recent.load(Ordering::Acquire);
        (seen == heartbeat::beat()).then_some(recent)
    }
}

/// One lookup's view of the time: `recent` when it is fresh, the clock if needed.
pub(crate) struct Reading<'a> {
    clock: &'a Clock,
    /// A fresh lower bound on now, if there is one.
    recent: Option<u64>,
    exact: Option<u64>,
    slack: u64,
}

impl<'a> Reading<'a> {
    /// `trust_recent` is false when the reaper is not being polled: under paused
    /// time, only the reaper keeps `recent` up with tokio's clock.
    #[inline]
    pub(crate) fn new(clock: &'a Clock, trust_recent: bool, slack: u64) -> Self {
        Self {
            clock,
            recent: if trust_recent { clock.fresh_recent() } else { None },
            exact: None,
            slack,
        }
    }

    /// Why an entry with these times (and `deadline`, the earlier of its two
    /// expiries) should go now, reading the clock only when `recent` cannot
    /// decide; `last_access` is read only then too.
    #[inline]
    pub(crate) fn check(
        &mut self,
        expiry: Expiry,
        deadline: u64,
        inserted_at: u64,
        last_access: impl FnOnce() -> u64,
    ) -> Option<RemovalCause> {
        // The common case, one comparison: far from any deadline (or none at all).
        if deadline == u64::MAX
            || self
                .recent
                .is_some_and(|recent| deadline > recent.saturating_add(self.slack))
        {
            return None;
        }
        self.check_near(expiry, inserted_at, last_access())
    }

    #[cold]
    fn check_near(&mut self, expiry: Expiry, inserted_at: u64, last_access: u64) -> Option<RemovalCause> {
        let now = self.now();
        expiry.check(inserted_at, last_access, now)
    }

    /// The best time known, without a clock read if possible: for last-use
    /// stamps and refresh decisions, which need not be exact.
    #[inline]
    pub(crate) fn stamp(&self) -> u64 {
        self.exact
            .or(self.recent)
            .unwrap_or_else(|| self.clock.recent.load(Ordering::Relaxed))
    }

    fn now(&mut self) -> u64 {
        *self.exact.get_or_insert_with(|| self.clock.now())
    }

    /// Whether `at` has passed, reading the clock only when `recent` cannot decide.
    #[inline]
    pub(crate) fn reached(&mut self, at: u64) -> bool {
        if let Some(exact) = self.exact {
            return exact >= at;
        }
        match self.recent {
            Some(recent) if at <= recent => true,
            Some(recent) if at > recent.saturating_add(self.slack) => false,
            _ => self.now() >= at,
        }
    }

    /// Whether this lookup read the clock.
    pub(crate) fn read_clock(&self) -> bool {
        self.exact.is_some()
    }
}

/// Whether tokio's `reading`, taken between the monotonic clock's `before` and
/// `after`, lies more than [`VIRTUAL_DRIFT`] outside them: then tokio's clock
/// is not real time (paused, or moved by `advance`). A thread stalled between
/// the reads (preempted, a VM's stolen time) only widens the bracket, so a
/// stall never makes a real clock look virtual.
fn outside(before: std::time::Instant, reading: std::time::Instant, after: std::time::Instant) -> bool {
    reading + VIRTUAL_DRIFT < before || reading > after + VIRTUAL_DRIFT
}

/// A duration as whole nanoseconds, saturating (u64 nanoseconds is 584 years).
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(tenure_loom)))]
mod tests {
    use std::time::Duration;

    use super::Clock;

    #[test]
    fn an_insertion_time_is_never_after_now_nor_before_the_last_reading() {
        let clock = Clock::new();
        for _ in 0..1_000 {
            let before = clock.now();
            let trusted = clock.insertion_time(true);
            let after = clock.now();
            assert!(
                before <= trusted && trusted <= after,
                "{before} <= {trusted} <= {after}"
            );
            // Not trusted (the reaper is not polled): the clock itself.
            let untrusted = clock.insertion_time(false);
            assert!(untrusted >= after, "{untrusted} >= {after}");
        }
    }

    /// A stall between the reads (here 50 ms, as a preempted thread could
    /// take) keeps a real clock real; a reading before or after the bracket
    /// by more than the drift allowed is virtual.
    #[test]
    fn only_a_reading_outside_the_real_bracket_is_virtual_time() {
        let before = std::time::Instant::now();
        let stall = Duration::from_millis(50);
        let after = before + stall;
        for reading in [before, before + stall / 2, after] {
            assert!(!super::outside(before, reading, after));
        }
        let drift = super::VIRTUAL_DRIFT + Duration::from_micros(1);
        assert!(super::outside(before + drift, before, before + drift), "behind: paused");
        assert!(super::outside(before, after + drift, after), "ahead: advanced");
    }

    #[tokio::test(start_paused = true)]
    async fn under_a_paused_clock_an_insertion_time_is_exact() {
        let clock = Clock::new();
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(7)).await;
        // `recent` is still `start` and the beat has likely not moved: only the
        // paused clock's detection keeps the stamp exact.
        let stamp = clock.insertion_time(true);
        assert_eq!(stamp - start, 7_000_000_000);
    }
}
