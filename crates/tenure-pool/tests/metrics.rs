//! Feature `metrics`: what a real recorder (metrics-util's `DebuggingRecorder`)
//! receives from a cache. One global recorder for this binary, installed once.

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod support;

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
    time::Duration,
};

use metrics_util::{
    CompositeKey, MetricKind,
    debugging::{DebugValue, DebuggingRecorder, Snapshotter},
};
use support::{Log, Probe, settle};
use tenure_pool::{ClientCache, Owned};

fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().expect("the only recorder of this test binary");
        snapshotter
    })
}

/// `(name, cause label)` -> value, for the metrics labelled `cache = name`.
fn values(cache: &str) -> HashMap<(String, Option<String>), f64> {
    snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value): (CompositeKey, _, _, DebugValue)| {
            let labels: Vec<_> = key.key().labels().collect();
            labels.iter().find(|l| l.key() == "cache" && l.value() == cache)?;
            let cause = labels.iter().find(|l| l.key() == "cause").map(|l| l.value().to_owned());
            let value = match (key.kind(), value) {
                (MetricKind::Counter, DebugValue::Counter(v)) => v as f64,
                (MetricKind::Gauge, DebugValue::Gauge(v)) => v.into_inner(),
                _ => return None,
            };
            Some(((key.key().name().to_owned(), cause), value))
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_reaper_publishes_every_stat_labelled_by_the_cache_name() {
    let _ = snapshotter();
    let log = Arc::new(Log::default());
    let cache = ClientCache::<u32, Owned<Probe>>::builder()
        .name("llm-proxy-redis")
        .max_capacity(2)
        .time_to_live(Duration::from_secs(60))
        .build()
        .unwrap();
    assert_eq!(cache.name(), "llm-proxy-redis");
    for id in 0..3 {
        drop(cache.insert(id, Owned::new(Probe::new(id, &log))).unwrap()); // the third evicts one
    }
    let leased = cache.get(&2).unwrap();
    let _ = cache.get(&99);
    cache.invalidate(&2); // draining: `leased` is still out
    settle().await;
    tokio::time::advance(Duration::from_secs(16)).await; // past a reaper pass (at least one a second)
    settle().await;

    let got = values("llm-proxy-redis");
    let stats = cache.stats();
    let at = |name: &str| got.get(&(name.to_owned(), None)).copied();
    let cause = |c: &str| {
        got.get(&("tenure_cache_retirements_total".to_owned(), Some(c.to_owned())))
            .copied()
    };
    assert_eq!(at("tenure_cache_hits_total"), Some(stats.hits as f64));
    assert_eq!(at("tenure_cache_hits_total"), Some(1.0));
    assert_eq!(at("tenure_cache_misses_total"), Some(1.0));
    assert_eq!(at("tenure_cache_inserts_total"), Some(3.0));
    assert_eq!(cause("capacity"), Some(1.0));
    assert_eq!(cause("explicit"), Some(1.0));
    assert_eq!(cause("expired"), Some(0.0));
    assert_eq!(at("tenure_cache_closes_total"), Some(1.0));
    assert_eq!(at("tenure_cache_closes_abandoned_total"), Some(0.0));
    assert_eq!(at("tenure_cache_close_panics_total"), Some(0.0));
    assert_eq!(at("tenure_cache_closes_taken_over_total"), Some(0.0));
    assert_eq!(at("tenure_cache_refresh_failures_total"), Some(0.0));
    assert_eq!(at("tenure_cache_draining"), Some(1.0));
    assert_eq!(at("tenure_cache_entries"), Some(1.0));

    // On demand too, and labelled apart from another cache.
    drop(leased);
    settle().await;
    cache.publish_metrics();
    let got = values("llm-proxy-redis");
    assert_eq!(got.get(&("tenure_cache_draining".to_owned(), None)), Some(&0.0));
    assert_eq!(got.get(&("tenure_cache_closes_total".to_owned(), None)), Some(&2.0));

    // A second named cache publishes its own numbers under its own label, and
    // leaves the first one's as they were.
    let another = ClientCache::<u32, Owned<Probe>>::builder()
        .name("another-cache")
        .build()
        .unwrap();
    for id in 0..5 {
        drop(another.insert(id, Owned::new(Probe::new(id, &log))).unwrap());
    }
    another.publish_metrics();
    let theirs = values("another-cache");
    assert_eq!(theirs.get(&("tenure_cache_inserts_total".to_owned(), None)), Some(&5.0));
    assert_eq!(theirs.get(&("tenure_cache_entries".to_owned(), None)), Some(&5.0));
    assert_eq!(theirs.get(&("tenure_cache_hits_total".to_owned(), None)), Some(&0.0));
    cache.publish_metrics(); // a snapshot takes what was published: publish again
    let ours = values("llm-proxy-redis");
    assert_eq!(ours.get(&("tenure_cache_inserts_total".to_owned(), None)), Some(&3.0));
    assert_eq!(ours.get(&("tenure_cache_entries".to_owned(), None)), Some(&1.0));
}
