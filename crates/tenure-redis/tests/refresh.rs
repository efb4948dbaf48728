//! Refresh ahead against a real redis-server: a pool in constant use rotates at
//! its time-to-live with no cold start (no lookup ever waits for a new pool) and
//! no failed command; the old pools drain, then close, and nothing leaks.
//!
//! Real time, because the pools talk to a real server; every sleep is a lower
//! bound and nothing asserts that anything happened within a time.

mod common;

use std::time::Duration;

use common::{assert_settles, config, set_get, start_server};
use tenure_redis::RedisClients;

const TTL: Duration = Duration::from_secs(2);
const REFRESH: Duration = Duration::from_millis(300);
/// Commands sent, one every 10 ms or more: at least 3 s, past one time-to-live
/// and several refresh periods.
const COMMANDS: usize = 300;

async fn run(clients: &RedisClients, server: &tenure_test_support::RedisServer) -> usize {
    let config = config(server);
    let mut failed = 0;
    for i in 0..COMMANDS {
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
        .time_to_live(TTL)
        .refresh_after(REFRESH)
        .build()
        .unwrap();

    let failed = run(&clients, &server).await;
    let stats = clients.owned_stats();
    println!(
        "refresh on: {COMMANDS} commands, {failed} failed, misses {}, refreshed {}, expired {}, closes {}",
        stats.misses, stats.evictions.refreshed, stats.evictions.expired, stats.closes
    );
    assert_eq!(failed, 0, "no command failed");
    assert_eq!(
        stats.misses, 1,
        "only the very first lookup built a pool in the caller's path"
    );
    assert_eq!(stats.evictions.expired, 0, "a hot pool never expired");
    assert!(stats.evictions.refreshed >= 1, "the pool rotated");
    assert_eq!(stats.refresh_failures, 0);

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

    let failed = run(&clients, &server).await;
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
