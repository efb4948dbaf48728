//! The cache's notion of now: tokio's clock, so tests control it with
//! `tokio::time::pause` and `advance`, and production reads the monotonic clock.

use std::time::Duration;

use tokio::time::Instant;

/// Nanoseconds since the cache was built, read from tokio's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self { base: Instant::now() }
    }

    pub(crate) fn now(&self) -> u64 {
        nanos(Instant::now().saturating_duration_since(self.base))
    }
}

/// A duration as whole nanoseconds, saturating (u64 nanoseconds is 584 years).
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}
