//! The eviction listener of `RedisClients`: told the config, the pool (owned or
//! handed in) and the cause of every pool that leaves the cache, against a real
//! private redis-server.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::sync::{Arc, Mutex};

use common::{config, set_get, start_server};
use tenure_redis::{Ownership, RedisClients, RedisConfig, RemovalCause, deadpool_redis::Pool};

type Seen = Arc<Mutex<Vec<(RedisConfig, Ownership, RemovalCause)>>>;

fn take(seen: &Seen) -> Vec<(RedisConfig, Ownership, RemovalCause)> {
    std::mem::take(&mut *seen.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_hears_of_owned_and_handed_in_pools() {
    let _watchdog = common::Watchdog::new("the_listener_hears_of_owned_and_handed_in_pools", common::TEST_LIMIT);
    let server = start_server();
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let clients = RedisClients::builder()
        .max_capacity(1)
        .eviction_listener(move |config, pool, cause| {
            // The pool is usable in the listener's hands: it only reads its status here.
            let _ = pool.status();
            log.lock().unwrap().push((config.clone(), pool.ownership(), cause));
        })
        .build()
        .unwrap();
    let db0 = config(&server);
    let db1 = RedisConfig::builder(&server.url()).database(1).build().unwrap();

    // Owned, by capacity: the second owned pool pushes the first out.
    let pool = clients.get(&db0).await.unwrap();
    set_get(&pool, "a").await.unwrap();
    drop(pool);
    assert!(take(&seen).is_empty(), "nothing has left yet");
    let other = clients.get(&db1).await.unwrap();
    drop(other);
    let events = take(&seen);
    assert_eq!(events.len(), 1, "{events:?}");
    let (evicted, ownership, cause) = &events[0];
    assert!(evicted == &db0 || evicted == &db1, "{evicted:?}");
    assert_eq!((*ownership, *cause), (Ownership::Owned, RemovalCause::Capacity));

    // Owned, by invalidation.
    let kept = if evicted == &db0 { &db1 } else { &db0 };
    clients.invalidate(kept);
    assert_eq!(
        take(&seen),
        vec![(kept.clone(), Ownership::Owned, RemovalCause::Explicit)]
    );

    // Handed in: replaced by a later `insert_shared`, then invalidated. An owned
    // pool for the same config is retired when a pool is handed in for it.
    let owned = clients.get(&db0).await.unwrap();
    drop(owned);
    let mine: Pool = db0.create_pool().unwrap();
    clients.insert_shared(db0.clone(), mine.clone()).unwrap();
    assert_eq!(
        take(&seen),
        vec![(db0.clone(), Ownership::Owned, RemovalCause::Explicit)]
    );
    clients.insert_shared(db0.clone(), mine.clone()).unwrap();
    assert_eq!(
        take(&seen),
        vec![(db0.clone(), Ownership::Shared, RemovalCause::Replaced)]
    );
    clients.invalidate(&db0);
    assert_eq!(
        take(&seen),
        vec![(db0.clone(), Ownership::Shared, RemovalCause::Explicit)]
    );
    assert!(
        !mine.is_closed(),
        "the listener is told; the handed-in pool is not closed"
    );

    // Shutdown retires both kinds.
    clients.insert_shared(db0.clone(), mine.clone()).unwrap();
    let owned = clients.get(&db1).await.unwrap();
    drop(owned);
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert!(report.is_complete(), "{report:?}");
    let mut events = take(&seen);
    events.sort_by_key(|(config, ..)| config == &db1);
    assert_eq!(
        events,
        vec![
            (db0.clone(), Ownership::Shared, RemovalCause::Explicit),
            (db1.clone(), Ownership::Owned, RemovalCause::Explicit),
        ]
    );
    let stats = clients.stats();
    assert_eq!(stats.evictions.capacity, 1);
    assert_eq!(stats.evictions.replaced, 1);
    assert_eq!(
        stats.evictions.explicit,
        clients.owned_stats().evictions.explicit + clients.shared_stats().evictions.explicit
    );
    assert_eq!(stats.evictions.explicit, 5, "{stats:?}");
    assert!(!mine.is_closed());
}

/// A listener that panics, for handed-in pools as for owned ones: the panic is
/// caught and counted (`listener_panics`), never escapes `insert_shared`,
/// `invalidate` or `shutdown`, and `shutdown` still closes the owned pools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_listener_is_caught_and_counted_for_every_pool() {
    let _watchdog = common::Watchdog::new(
        "a_panicking_listener_is_caught_and_counted_for_every_pool",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let clients = RedisClients::builder()
        .eviction_listener(|_, _, cause| panic!("this listener panics ({cause:?}), as the test asked"))
        .build()
        .unwrap();
    let db0 = config(&server);
    let db1 = RedisConfig::builder(&server.url()).database(1).build().unwrap();
    let db2 = RedisConfig::builder(&server.url()).database(2).build().unwrap();
    let mine: Pool = db0.create_pool().unwrap();
    clients.insert_shared(db0.clone(), mine.clone()).unwrap();
    clients.insert_shared(db0.clone(), mine.clone()).unwrap(); // replaces: panics in the listener
    clients.invalidate(&db0); // removes: panics in the listener
    clients.insert_shared(db1.clone(), mine.clone()).unwrap();
    let owned = clients.get(&db2).await.unwrap();
    set_get(&owned, "owned").await.unwrap();
    drop(owned);
    let report = clients.shutdown().await; // forgets db1 and retires db2: both panic in the listener
    assert!(report.is_complete(), "{report:?}");
    let (shared, all) = (clients.shared_stats(), clients.stats());
    assert_eq!(shared.listener_panics, 3, "{shared:?}");
    assert_eq!(all.listener_panics, 4, "{all:?}");
    assert_eq!(
        (all.closes, clients.len()),
        (1, 0),
        "the owned pool was closed: {all:?}"
    );
    assert!(clients.get(&db2).await.is_err(), "nothing is served after shutdown");
    assert!(!mine.is_closed(), "a handed-in pool is never closed");
}
