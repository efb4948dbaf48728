//! Publishing a cache's stats through the `metrics` facade (feature `metrics`).
//!
//! Nothing is recorded on the hit path: the reaper publishes a snapshot of
//! [`CacheStats`] at every pass (at least once a second while it runs), as
//! absolute counter values and gauges, labelled `cache = <name>`. So whichever
//! exporter the application installed sees the same numbers `stats()` returns,
//! at most one reaper interval old while the reaper runs. No reaper runs before
//! the cache's first insert or lookup on a tokio runtime with timers, nor while
//! its runtime is not driven, and what changes after its last pass (before the
//! cache is dropped) is never published.

use metrics::{counter, gauge};

use crate::{CacheStats, RemovalCause};

/// Publishes one snapshot.
pub(crate) fn publish(name: &str, stats: &CacheStats, entries: usize) {
    let cache = name.to_owned();
    counter!("tenure_cache_hits_total", "cache" => cache.clone()).absolute(stats.hits);
    counter!("tenure_cache_misses_total", "cache" => cache.clone()).absolute(stats.misses);
    counter!("tenure_cache_inserts_total", "cache" => cache.clone()).absolute(stats.inserts);
    let evictions = &stats.evictions;
    for (cause, value) in [
        (RemovalCause::Capacity, evictions.capacity),
        (RemovalCause::Expired, evictions.expired),
        (RemovalCause::Idle, evictions.idle),
        (RemovalCause::Explicit, evictions.explicit),
        (RemovalCause::Replaced, evictions.replaced),
        (RemovalCause::RuntimeGone, evictions.runtime_gone),
        (RemovalCause::Refreshed, evictions.refreshed),
    ] {
        counter!("tenure_cache_retirements_total", "cache" => cache.clone(), "cause" => cause.as_str()).absolute(value);
    }
    counter!("tenure_cache_closes_total", "cache" => cache.clone()).absolute(stats.closes);
    counter!("tenure_cache_closes_abandoned_total", "cache" => cache.clone()).absolute(stats.closes_abandoned);
    counter!("tenure_cache_close_panics_total", "cache" => cache.clone()).absolute(stats.close_panics);
    counter!("tenure_cache_closes_taken_over_total", "cache" => cache.clone()).absolute(stats.closes_taken_over);
    counter!("tenure_cache_refresh_failures_total", "cache" => cache.clone()).absolute(stats.refresh_failures);
    counter!("tenure_cache_refreshes_discarded_total", "cache" => cache.clone()).absolute(stats.refreshes_discarded);
    counter!("tenure_cache_inserts_refused_total", "cache" => cache.clone()).absolute(stats.inserts_refused);
    counter!("tenure_cache_listener_panics_total", "cache" => cache.clone()).absolute(stats.listener_panics);
    gauge!("tenure_cache_draining", "cache" => cache.clone()).set(stats.draining as f64);
    gauge!("tenure_cache_entries", "cache" => cache).set(entries as f64);
}
