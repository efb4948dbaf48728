//! Test 1: retiring an owned pool closes its connections; no leak over many cycles.

mod common;

use std::time::Duration;

use common::{assert_settles, config, set_get, start_server};
use tenure_redis::{Ownership, RedisClients};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_an_unleased_owned_pool_closes_its_connections() {
    let _watchdog = common::Watchdog::new(
        "retiring_an_unleased_owned_pool_closes_its_connections",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = config(&server);

    let pool = clients.get(&config).await.unwrap();
    assert_eq!(pool.ownership(), Ownership::Owned);
    set_get(&pool, "k").await.unwrap();
    let peak = server.client_count().unwrap();
    assert!(peak > baseline, "the pool opened a connection");
    drop(pool);

    clients.invalidate(&config);
    let after = assert_settles(&server, baseline, "after invalidate").await;
    println!("no_leak/invalidate: baseline={baseline} peak={peak} after={after}");
    assert_eq!(clients.owned_stats().closes, 1);
    assert!(clients.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_owned_pool_is_closed_without_further_calls() {
    let _watchdog = common::Watchdog::new(
        "an_expired_owned_pool_is_closed_without_further_calls",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::builder()
        .time_to_live(Duration::from_millis(100))
        .build()
        .unwrap();
    let config = config(&server);
    let pool = clients.get(&config).await.unwrap();
    set_get(&pool, "k").await.unwrap();
    let peak = server.client_count().unwrap();
    drop(pool);
    // Nobody calls the cache again: its reaper retires the entry, then closes it.
    let after = assert_settles(&server, baseline, "after expiry").await;
    println!("no_leak/ttl: baseline={baseline} peak={peak} after={after}");
    assert_eq!(clients.owned_stats().evictions.expired, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_create_use_retire_cycles_end_at_the_baseline() {
    let _watchdog = common::Watchdog::new(
        "two_hundred_create_use_retire_cycles_end_at_the_baseline",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = config(&server);
    let mut peak = baseline;
    for i in 0..200 {
        let pool = clients.get(&config).await.unwrap();
        set_get(&pool, &format!("k{i}")).await.unwrap();
        if i % 20 == 0 {
            peak = peak.max(server.client_count().unwrap());
        }
        drop(pool);
        clients.invalidate(&config);
    }
    let after = assert_settles(&server, baseline, "after 200 cycles").await;
    println!("no_leak/200 cycles: baseline={baseline} peak={peak} after={after}");
    let stats = clients.owned_stats();
    assert_eq!(stats.inserts, 200);
    assert_eq!(stats.closes, 200, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_owned_pool_and_is_idempotent() {
    let _watchdog = common::Watchdog::new("shutdown_closes_every_owned_pool_and_is_idempotent", common::TEST_LIMIT);
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let base = config(&server);
    for db in 0..4 {
        let config = tenure_redis::RedisConfig::builder(&server.url())
            .database(db)
            .build()
            .unwrap();
        set_get(&clients.get(&config).await.unwrap(), "k").await.unwrap();
    }
    let peak = server.client_count().unwrap();
    assert_eq!(peak, baseline + 4);
    // The plain shutdown (no deadline), under a hang guard.
    let report = tokio::time::timeout(common::SHUTDOWN_LIMIT, clients.shutdown())
        .await
        .expect("shutdown hung");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.stats.closes, 4);
    let after = assert_settles(&server, baseline, "after shutdown").await;
    println!("no_leak/shutdown: baseline={baseline} peak={peak} after={after}");
    // Twice is fine, and the cache takes no new pools.
    let again = tokio::time::timeout(common::SHUTDOWN_LIMIT, clients.shutdown())
        .await
        .expect("the second shutdown hung");
    assert!(again.is_complete());
    let err = clients.get(&base).await.unwrap_err();
    assert_eq!(err.kind(), tenure_redis::ErrorKind::ShutDown, "{err:?}");
}
