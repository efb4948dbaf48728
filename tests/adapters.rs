//! The adapters as one library: `HttpClients`, `ReqwestClients` and
//! `RedisClients` have the same surface, exercised here the same way (one macro
//! run against each), and a bad cache setting gets the same message whichever
//! cache it is given to. Redis runs against a private `redis-server`.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tenure::test_util::RedisServer;
use tenure::{
    CachePolicy, ClientCache, RemovalCause, Shared,
    http::{HttpClientConfig, HttpClients, ReqwestClients},
    redis::{RedisClients, RedisConfig},
};

/// How long a shutdown may wait; nothing is held, so it never should.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(20);

/// Runs the common surface of an adapter cache built by `$builder`, with two
/// distinct configs: `get`, `len`/`entry_count`/`is_empty`, `stats`, the
/// eviction listener (capacity and explicit causes), `invalidate`,
/// `invalidate_all`, `shutdown_within` and `shutdown`.
macro_rules! exercise_common_surface {
    ($builder:expr, $a:expr, $b:expr) => {{
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let clients = $builder
            .max_capacity(1)
            .name("common-surface")
            .eviction_listener(move |config, _handle, cause| log.lock().unwrap().push((config.clone(), cause)))
            .build()
            .unwrap();
        let (a, b) = ($a, $b);
        let take = || std::mem::take(&mut *seen.lock().unwrap());
        assert!(clients.is_empty());

        // A miss builds, the next lookup hits.
        let first = clients.get(&a).await.unwrap();
        let again = clients.get(&a).await.unwrap();
        drop((first, again));
        let stats = clients.stats();
        assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 1, 1), "{stats:?}");
        assert_eq!(
            (clients.len(), clients.entry_count(), clients.is_empty()),
            (1, 1, false)
        );

        // At capacity 1, a second config evicts one entry, and the listener hears.
        drop(clients.get(&b).await.unwrap());
        let events = take();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0].0 == a || events[0].0 == b);
        assert_eq!(events[0].1, RemovalCause::Capacity);
        assert_eq!(clients.len(), 1);

        // Invalidating both configs retires the one cached.
        clients.invalidate(&a);
        clients.invalidate(&b);
        let events = take();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].1, RemovalCause::Explicit);
        assert!(clients.is_empty());

        drop(clients.get(&a).await.unwrap());
        clients.invalidate_all();
        assert_eq!(take(), vec![(a.clone(), RemovalCause::Explicit)]);
        assert_eq!(clients.entry_count(), 0);

        drop(clients.get(&b).await.unwrap());
        let report = clients.shutdown_within(SHUTDOWN_LIMIT).await;
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(take(), vec![(b.clone(), RemovalCause::Explicit)]);
        assert!(clients.get(&a).await.is_err(), "a shut-down cache takes no new entries");
        assert!(clients.shutdown().await.is_complete(), "shutting down again is safe");

        let stats = clients.stats();
        // The `get` refused after shutdown counts as a lookup too: a miss.
        assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 5, 4), "{stats:?}");
        assert_eq!(
            (stats.evictions.capacity, stats.evictions.explicit),
            (1, 3),
            "{stats:?}"
        );
        assert_eq!(stats.evictions.total(), 4, "{stats:?}");
        assert!(clients.is_empty());
    }};
}

fn http_configs() -> (HttpClientConfig, HttpClientConfig) {
    let a = HttpClientConfig::default();
    let b = HttpClientConfig::builder()
        .request_timeout(Duration::from_secs(7))
        .build()
        .unwrap();
    assert_ne!(a, b);
    (a, b)
}

fn redis_configs(server: &RedisServer) -> (RedisConfig, RedisConfig) {
    let config = |database| {
        RedisConfig::builder(&server.url())
            .database(database)
            .connect_timeout(Duration::from_secs(2))
            .response_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    (config(0), config(1))
}

#[tokio::test]
async fn http_clients_have_the_common_surface() {
    let (a, b) = http_configs();
    exercise_common_surface!(HttpClients::builder(), a, b);
}

#[tokio::test]
async fn reqwest_clients_have_the_common_surface() {
    let (a, b) = http_configs();
    exercise_common_surface!(ReqwestClients::builder(), a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_clients_have_the_common_surface() {
    let server = RedisServer::start().unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
    let (a, b) = redis_configs(&server);
    exercise_common_surface!(RedisClients::builder(), a, b);
}

/// `get_async_http_client`, the original system's name, is `get`.
#[tokio::test]
async fn the_http_caches_keep_the_original_lookup_name() {
    let config = HttpClientConfig::default();
    let clients = HttpClients::new().unwrap();
    let client = clients.get(&config).await.unwrap();
    assert!(Shared::ptr_eq(
        &client,
        &clients.get_async_http_client(&config).await.unwrap()
    ));
    let clients = ReqwestClients::new().unwrap();
    let client = clients.get(&config).await.unwrap();
    assert!(Shared::ptr_eq(
        &client,
        &clients.get_async_http_client(&config).await.unwrap()
    ));
}

/// The cache error in `error`'s source chain (itself included).
fn cache_error(error: &(dyn std::error::Error + 'static)) -> tenure::Error {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(cache) = error.downcast_ref::<tenure::Error>() {
            return cache.clone();
        }
        next = error.source();
    }
    panic!("no cache error in the chain of `{error}`");
}

/// Gives the same settings to a `ClientCache` and to every adapter builder, and
/// returns the `ClientCache`'s error after checking that every adapter's error
/// carries that very error, and shows its message.
macro_rules! same_error_everywhere {
    ($($settings:tt)*) => {{
        let cache = ClientCache::<String, Shared<String>>::builder() $($settings)* .build().unwrap_err();
        let http = HttpClients::builder() $($settings)* .build().unwrap_err();
        let reqwest = ReqwestClients::builder() $($settings)* .build().unwrap_err();
        let redis = RedisClients::builder() $($settings)* .build().unwrap_err();
        for (adapter, error) in [
            ("HttpClients", &http as &(dyn std::error::Error + 'static)),
            ("ReqwestClients", &reqwest),
            ("RedisClients", &redis),
        ] {
            assert_eq!(cache_error(error), cache, "{adapter}: {error}");
            assert!(error.to_string().contains(&cache.to_string()), "{adapter}: `{error}` hides `{cache}`");
        }
        assert_eq!(http.kind(), tenure::http::ErrorKind::InvalidConfig);
        assert_eq!(cache.kind(), tenure::ErrorKind::InvalidSetting);
        cache.to_string()
    }};
}

#[test]
fn a_bad_setting_gets_the_same_message_from_every_cache() {
    assert_eq!(
        same_error_everywhere!(.max_capacity(0)),
        "invalid `max_capacity` = 0: must be between 1 and 1048576"
    );
    assert_eq!(
        same_error_everywhere!(.max_capacity((1 << 20) + 1)),
        "invalid `max_capacity` = 1048577: must be between 1 and 1048576"
    );
    assert_eq!(
        same_error_everywhere!(.time_to_live(Duration::ZERO)),
        "invalid `time_to_live` = 0ns: must be greater than zero"
    );
    assert_eq!(
        same_error_everywhere!(.time_to_idle(Duration::ZERO)),
        "invalid `time_to_idle` = 0ns: must be greater than zero"
    );
    assert_eq!(
        same_error_everywhere!(.drain_warning_after(Duration::ZERO)),
        "invalid `drain_warning_after` = 0ns: must be greater than zero"
    );
    assert_eq!(
        same_error_everywhere!(.policy(
            CachePolicy::new()
                .time_to_live(Duration::from_secs(1))
                .refresh_after(Duration::from_secs(1))
        )),
        "invalid `refresh_after` = 1s: must be shorter than time_to_live, or no entry is ever refreshed before it expires"
    );
    assert_eq!(
        same_error_everywhere!(.policy(CachePolicy::new().refresh_after_ttl_percent(100))),
        "invalid `refresh_after_ttl_percent` = 100: must be between 1 and 99"
    );
}

/// Caches of shared clients cannot refresh ahead; the setting is refused by
/// name, with the same message, rather than ignored. `RedisClients` refreshes.
#[test]
fn a_refresh_setting_is_refused_by_every_cache_of_shared_entries() {
    fn policy<K, H>() -> CachePolicy<K, H> {
        CachePolicy::new().refresh_after(Duration::from_secs(60))
    }
    let cache = ClientCache::<String, Shared<String>>::builder()
        .policy(policy())
        .build()
        .unwrap_err();
    assert!(
        cache
            .to_string()
            .starts_with("invalid `refresh_after` = 60s: this cache cannot refresh ahead"),
        "{cache}"
    );
    let http = HttpClients::builder().policy(policy()).build().unwrap_err();
    let reqwest = ReqwestClients::builder().policy(policy()).build().unwrap_err();
    assert_eq!(cache_error(&http), cache);
    assert_eq!(cache_error(&reqwest), cache);
    assert!(RedisClients::builder().policy(policy()).build().is_ok());

    // A share of the time-to-live too, even with none set (the HTTP caches'
    // default): it could never take effect.
    fn percent<K, H>() -> CachePolicy<K, H> {
        CachePolicy::new().refresh_after_ttl_percent(50)
    }
    for error in [
        HttpClients::builder()
            .policy(percent())
            .build()
            .unwrap_err()
            .to_string(),
        ReqwestClients::builder()
            .policy(percent())
            .build()
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            error.contains("invalid `refresh_after_ttl_percent` = 50: this cache cannot refresh ahead"),
            "{error}"
        );
    }
    assert!(RedisClients::builder().policy(percent()).build().is_ok());
}

/// A whole policy given to an adapter keeps that adapter's defaults for what it
/// leaves unset: here `HttpClients`' time-to-idle of 10 minutes and no
/// time-to-live, not `ClientCache`'s time-to-live of 10 minutes.
#[tokio::test(start_paused = true)]
async fn a_policy_keeps_the_adapters_defaults_for_what_it_leaves_unset() {
    let clients = HttpClients::builder()
        .policy(CachePolicy::new().max_capacity(5))
        .build()
        .unwrap();
    let config = HttpClientConfig::default();
    let first = clients.get(&config).await.unwrap();
    // Used every 9 minutes: idle for less than 10 minutes each time, and older
    // than a 10-minute time-to-live by the third lookup.
    for _ in 0..2 {
        tokio::time::advance(Duration::from_secs(9 * 60)).await;
        assert!(Shared::ptr_eq(&first, &clients.get(&config).await.unwrap()));
    }
    // Unused for 11 minutes: expired by the idle default.
    tokio::time::advance(Duration::from_secs(11 * 60)).await;
    assert!(!Shared::ptr_eq(&first, &clients.get(&config).await.unwrap()));
    assert_eq!(clients.stats().evictions.idle, 1, "{:?}", clients.stats());
}
