//! Refresh ahead against a real redis-server: a pool in constant use rotates
//! before its time-to-live with no cold start (no lookup ever waits for a new
//! pool) and no failed command; the old pools drain, then close, and nothing
//! leaks.
//!
//! Real time, because the pools talk to a real server; every sleep is a lower
//! bound and nothing asserts that anything happened within a time. The hot
//! pool's loop ends when the cache's counters show the rotations (or a cold
//! rebuild), not after a time; its time-to-live and every timeout are
//! [`PATIENCE`], far above any stall of the process, so a slow or paused
//! machine only makes it run longer. With refresh ahead broken, the pool
//! expires at [`PATIENCE`] and the test fails.

mod common;

use std::time::Duration;

use common::{assert_settles, set_get, start_server};
use tenure_redis::{CacheStats, RedisClients, RedisConfig};
use tenure_test_support::RedisServer;

/// The hot pool's time-to-live, and every connection and command timeout: far
/// above any plausible stall of the test process (a `kill -STOP`, a loaded
/// machine). Only a stall this long may expire the pool or fail a command.
const PATIENCE: Duration = Duration::from_secs(60);
/// The hot pool is refreshed once it is this old: many times within a run.
const REFRESH: Duration = Duration::from_millis(300);
/// Rotations the hot pool must go through (a refreshed pool is refreshed in
/// its turn).
const ROTATIONS: u64 = 3;
/// The time-to-live without refresh: the run outlasts it.
const TTL: Duration = Duration::from_secs(2);
/// Commands sent at least, one every 10 ms or more: at least 3 s, past one
/// [`TTL`] and several [`REFRESH`] periods.
const COMMANDS: usize = 300;

/// The server's config, with timeouts that no stall of the process reaches.
fn config(server: &RedisServer) -> RedisConfig {
    RedisConfig::builder(&server.url())
        .connect_timeout(PATIENCE)
        .response_timeout(PATIENCE)
        .wait_timeout(PATIENCE)
        .build()
        .expect("the harness URL is valid")
}

/// Looks the pool up and runs a command with it, every 10 ms or more: at least
/// [`COMMANDS`] times, then until `done` holds for the cache's counters.
/// Returns the number of failed commands.
async fn run(clients: &RedisClients, server: &RedisServer, done: impl Fn(&CacheStats) -> bool) -> usize {
    let config = config(server);
    let mut failed = 0;
    for i in 0.. {
        if i >= COMMANDS && done(&clients.owned_stats()) {
            break;
        }
        let pool = clients.get(&config).await.expect("a pool, every time");
        if set_get(&pool, &format!("k{i}")).await.is_err() {
            failed += 1;
        }
        drop(pool);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    failed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_pool_rotates_without_a_cold_start_or_a_failed_command() {
    let _watchdog = common::Watchdog::new(
        "a_hot_pool_rotates_without_a_cold_start_or_a_failed_command",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::builder()
        .time_to_live(PATIENCE)
        .refresh_after(REFRESH)
        .build()
        .unwrap();

    // Until the pool rotated enough, or was rebuilt cold: refresh ahead
    // broken (never started, never finished), it expires at `PATIENCE` and a
    // lookup rebuilds it, which ends the loop and fails the test.
    let failed = run(&clients, &server, |stats| {
        stats.evictions.refreshed >= ROTATIONS || stats.misses > 1 || stats.evictions.expired > 0
    })
    .await;
    let stats = clients.owned_stats();
    println!(
        "refresh on: {failed} failed, misses {}, refreshed {}, expired {}, refresh failures {}, closes {}",
        stats.misses, stats.evictions.refreshed, stats.evictions.expired, stats.refresh_failures, stats.closes
    );
    assert_eq!(failed, 0, "no command failed");
    assert_eq!(
        stats.misses, 1,
        "only the very first lookup built a pool in the caller's path: {stats:?}"
    );
    assert_eq!(stats.evictions.expired, 0, "a hot pool never expired: {stats:?}");
    assert!(
        stats.evictions.refreshed >= ROTATIONS,
        "the pool rotated, and so did its successors: {stats:?}"
    );
    assert_eq!(stats.refresh_failures, 0, "{stats:?}");

    clients.shutdown().await;
    assert_settles(&server, baseline, "after shutdown").await;
    let stats = clients.owned_stats();
    assert_eq!(
        stats.closes,
        stats.inserts + stats.refreshes_discarded,
        "every pool built was closed exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_refresh_the_same_load_rebuilds_cold_at_every_ttl() {
    let _watchdog = common::Watchdog::new(
        "without_refresh_the_same_load_rebuilds_cold_at_every_ttl",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::builder()
        .time_to_live(TTL)
        .without_refresh()
        .build()
        .unwrap();

    // A fixed number of commands: they span more than `TTL`.
    let failed = run(&clients, &server, |_| true).await;
    let stats = clients.owned_stats();
    println!(
        "refresh off: {COMMANDS} commands, {failed} failed, misses {}, expired {}",
        stats.misses, stats.evictions.expired
    );
    assert_eq!(failed, 0);
    assert!(
        stats.misses >= 2,
        "the pool expired and a lookup had to build a new one"
    );
    assert!(stats.evictions.expired >= 1);
    assert_eq!(stats.evictions.refreshed, 0);
    clients.shutdown().await;
    assert_settles(&server, baseline, "after shutdown").await;
}

#[test]
fn refresh_is_on_by_default_and_checked_against_the_ttl() {
    // The default (four fifths of the time-to-live) always builds.
    assert!(
        RedisClients::builder()
            .time_to_live(Duration::from_secs(1))
            .build()
            .is_ok()
    );
    assert!(RedisClients::builder().without_time_to_live().build().is_ok());
    let err = RedisClients::builder()
        .time_to_live(Duration::from_secs(1))
        .refresh_after(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("refresh_after"), "{err}");
}
