//! Test 4: a pool handed in is used directly and never closed by the cache.

mod common;

use common::{assert_settles, config, set_get, start_server};
use tenure_redis::{
    Ownership, RedisClients, RedisConfig, RedisPool,
    deadpool_redis::{Pool, redis::AsyncCommands},
};

/// Uses the caller's own pool directly, not through the cache.
async fn caller_uses(pool: &Pool, key: &str) {
    let mut conn = pool.get().await.expect("the caller's pool still lends");
    let () = conn.set(key, "v").await.expect("SET");
    let v: String = conn.get(key).await.expect("GET");
    assert_eq!(v, "v");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_in_pool_survives_eviction_invalidation_and_shutdown() {
    let _watchdog = common::Watchdog::new(
        "a_handed_in_pool_survives_eviction_invalidation_and_shutdown",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::builder().max_capacity(1).build().unwrap();
    let config = config(&server);

    // The caller's pool, built from the same URL config.
    let mine: Pool = config.create_pool().unwrap();
    let registered = clients.insert_shared(config.clone(), mine.clone()).unwrap();
    assert_eq!(registered.ownership(), Ownership::Shared);

    // Passthrough: the cache hands back that very pool and creates none.
    let found = clients.get(&config).await.unwrap();
    assert_eq!(found.ownership(), Ownership::Shared);
    assert!(RedisPool::same_entry(&registered, &found));
    set_get(&found, "a").await.unwrap();
    assert_eq!(mine.status().size, 1, "the connection came from the caller's pool");
    assert_eq!(clients.owned_stats().inserts, 0, "no duplicate pool");
    let peak = server.client_count().unwrap();
    assert_eq!(peak, baseline + 1);

    // Capacity eviction: a second shared pool pushes the first out (capacity 1).
    let other_config = RedisConfig::builder(&server.url()).database(1).build().unwrap();
    let other = other_config.create_pool().unwrap();
    clients.insert_shared(other_config.clone(), other.clone()).unwrap();
    assert!(clients.shared_stats().evictions.capacity >= 1);
    assert!(!mine.is_closed(), "evicted, yet closed");
    caller_uses(&mine, "after-eviction").await;
    set_get(&found, "after-eviction-handle").await.unwrap();

    // Explicit invalidation of everything.
    clients.insert_shared(config.clone(), mine.clone()).unwrap();
    clients.invalidate_all();
    assert!(clients.is_empty());
    assert!(!mine.is_closed(), "invalidated, yet closed");
    caller_uses(&mine, "after-invalidate").await;

    // Shutdown.
    clients.insert_shared(config.clone(), mine.clone()).unwrap();
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert!(report.is_complete());
    assert_eq!(clients.shared_stats().closes, 0);
    assert!(!mine.is_closed(), "shut down, yet closed");
    assert!(!other.is_closed());
    caller_uses(&mine, "after-shutdown").await;
    set_get(&found, "after-shutdown-handle").await.unwrap();
    let still = server.client_count().unwrap();
    println!("passthrough: baseline={baseline} peak={peak} after shutdown={still} (caller's pools still open)");
    assert!(still > baseline, "the caller's connections were closed by the cache");

    // The owner closes its pools; only then do the connections go.
    mine.close();
    other.close();
    // Closed by its owner: handles to it now report a typed error.
    let err = found.get().await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    drop((registered, found));
    let after = assert_settles(&server, baseline, "after the caller closed its pools").await;
    println!("passthrough: after caller close={after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handing_in_a_pool_retires_the_owned_one_for_that_config() {
    let _watchdog = common::Watchdog::new(
        "handing_in_a_pool_retires_the_owned_one_for_that_config",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = config(&server);
    let owned = clients.get(&config).await.unwrap();
    assert_eq!(owned.ownership(), Ownership::Owned);
    drop(owned);

    let mine = config.create_pool().unwrap();
    clients.insert_shared(config.clone(), mine.clone()).unwrap();
    let found = clients.get(&config).await.unwrap();
    assert_eq!(found.ownership(), Ownership::Shared);
    set_get(&found, "k").await.unwrap();
    // The owned pool was closed; only the caller's connection is left.
    let after = assert_settles(&server, baseline + 1, "after the owned pool closed").await;
    println!("passthrough/replace: baseline={baseline} after={after}");
    assert_eq!(clients.owned_stats().closes, 1);
    drop(found);
    mine.close();
    assert_settles(&server, baseline, "after the caller closed its pool").await;
}
