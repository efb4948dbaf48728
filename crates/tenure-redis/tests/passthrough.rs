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

    // Capacity pressure: a second shared pool at capacity 1 pushes nothing out
    // (handed-in pools are pinned).
    let other_config = RedisConfig::builder(&server.url()).database(1).build().unwrap();
    let other = other_config.create_pool().unwrap();
    clients.insert_shared(other_config.clone(), other.clone()).unwrap();
    assert_eq!(clients.shared_stats().evictions.total(), 0);
    assert_eq!(clients.len(), 2);
    assert!(!mine.is_closed(), "pushed, yet closed");
    caller_uses(&mine, "after-pressure").await;
    set_get(&found, "after-pressure-handle").await.unwrap();

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

/// Issue 10: a handed-in pool is never replaced behind its owner's back. It is
/// pinned: capacity pressure, time-to-live and time-to-idle never remove it, so
/// `get` keeps returning that very pool (never an owned one built from the URL),
/// until the owner removes it; the cache never closes it either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_in_pool_is_pinned_through_eviction_pressure_and_expiry() {
    let _watchdog = common::Watchdog::new(
        "a_handed_in_pool_is_pinned_through_eviction_pressure_and_expiry",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let clients = RedisClients::builder()
        .max_capacity(1)
        .time_to_live(std::time::Duration::from_millis(20))
        .time_to_idle(std::time::Duration::from_millis(10))
        .build()
        .unwrap();
    let config = config(&server);
    let mine = config.create_pool().unwrap();
    let registered = clients.insert_shared(config.clone(), mine.clone()).unwrap();

    // Pressure: another handed-in pool and owned pools churn through capacity 1,
    // and time passes beyond every expiry.
    let other_config = RedisConfig::builder(&server.url()).database(1).build().unwrap();
    let other = other_config.create_pool().unwrap();
    clients.insert_shared(other_config, other.clone()).unwrap();
    for db in 2..6 {
        let owned = RedisConfig::builder(&server.url()).database(db).build().unwrap();
        set_get(&clients.get(&owned).await.unwrap(), "churn").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    assert!(clients.owned_stats().evictions.total() > 0, "the owned pools churned");

    let found = clients.get(&config).await.unwrap();
    assert_eq!(found.ownership(), Ownership::Shared, "replaced by an owned pool");
    assert!(RedisPool::same_entry(&registered, &found), "not the handed-in pool");
    set_get(&found, "pinned").await.unwrap();
    assert_eq!(mine.status().size, 1, "the connection came from the caller's pool");
    assert_eq!(clients.shared_stats().evictions.total(), 0);
    assert_eq!(clients.connection_budget().shared_pools, 2);

    // Removed explicitly: only then does `get` build an owned pool; the caller's
    // pool is not closed.
    clients.invalidate(&config);
    let owned = clients.get(&config).await.unwrap();
    assert_eq!(owned.ownership(), Ownership::Owned);
    assert!(!mine.is_closed());
    caller_uses(&mine, "after-invalidate").await;
    drop((owned, found, registered));
    common::shutdown(&clients).await;
    assert!(!mine.is_closed() && !other.is_closed());
    mine.close();
    other.close();
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

/// A pool handed in while `get` is still creating an owned pool for the same
/// config wins: that `get` returns the handed-in pool and the owned one is
/// retired, so one config never has two pools. (The server is suspended with
/// `SIGSTOP`, and the timeouts are far longer than the test, so that the
/// creation is still in flight when the pool is handed in, however slow the
/// machine: it ends only once the server is resumed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_handed_in_during_a_creation_wins() {
    let _watchdog = common::Watchdog::new("a_pool_handed_in_during_a_creation_wins", common::TEST_LIMIT);
    let server = start_server();
    let clients = RedisClients::new().unwrap();
    let patience = common::TEST_LIMIT;
    let config = RedisConfig::builder(&server.url())
        .connect_timeout(patience)
        .response_timeout(patience)
        .wait_timeout(patience)
        .build()
        .unwrap();
    server.suspend().unwrap();
    let creating = {
        let (clients, config) = (clients.clone(), config.clone());
        tokio::spawn(async move { clients.get(&config).await })
    };
    // The creation has begun (its pool holds a share of the budget) and waits
    // on the suspended server. Bounded: 2,000 polls of 1 ms or more.
    for _ in 0..2_000 {
        if clients.connection_budget().open_pools == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert_eq!(clients.connection_budget().open_pools, 1, "the creation started");
    let mine: Pool = config.create_pool().unwrap();
    let registered = clients.insert_shared(config.clone(), mine.clone()).unwrap();
    assert!(
        !creating.is_finished(),
        "the creation was still in flight at the hand-in"
    );
    server.resume().unwrap();
    let found = creating.await.unwrap().unwrap();
    assert_eq!(
        clients.owned_stats().inserts,
        1,
        "the creation was in flight and finished after the hand-in"
    );
    assert_eq!(found.ownership(), Ownership::Shared);
    assert!(RedisPool::same_entry(&registered, &found));
    assert_eq!(clients.len(), 1, "the owned pool was retired: one pool for the config");
    assert_eq!(clients.owned_stats().evictions.explicit, 1);
    drop((found, registered));
    common::shutdown(&clients).await;
    mine.close();
}
