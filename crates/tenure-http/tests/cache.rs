//! The incident's production path, done right: every client comes from
//! `HttpClients::get_async_http_client`, and every assertion sends real
//! requests to a `CountingServer`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::BodyExt;
use tenure_http::{ErrorKind, HttpClientConfig, HttpClients, Shared};
use tenure_test_support::{CountingServer, http_server::stream_bytes};

fn config(tag: &str) -> HttpClientConfig {
    HttpClientConfig::builder()
        .header("x-config", tag)
        .build()
        .expect("valid config")
}

async fn assert_works(client: &tenure_http::HttpClient, server: &CountingServer, times: usize) {
    for _ in 0..times {
        let response = client
            .get_bytes(server.uri("/"))
            .await
            .expect("request through a cached client");
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), b"hello");
    }
}

/// Test 1: capacity 1; A is evicted by B and still sends real requests.
#[tokio::test]
async fn evicted_by_capacity_still_usable() {
    let server = CountingServer::start().await.unwrap();
    let clients = HttpClients::builder().max_capacity(1).build().unwrap();
    let (config_a, config_b) = (config("a"), config("b"));

    let a = clients.get_async_http_client(&config_a).await.unwrap();
    assert_works(&a, &server, 2).await;
    let b = clients.get_async_http_client(&config_b).await.unwrap();
    assert_eq!(clients.stats().evictions.capacity, 1);
    assert_eq!(clients.len(), 1);

    // A is no longer cached, yet works: nothing closed it.
    assert_works(&a, &server, 5).await;
    assert_works(&b, &server, 2).await;
    // A's pool is intact: its connection is reused after eviction.
    assert_eq!(server.connections(), 2, "one connection for A, one for B");

    // Asking for A again builds a new client (A was evicted), which works too.
    let a2 = clients.get_async_http_client(&config_a).await.unwrap();
    assert!(!Shared::ptr_eq(&a, &a2));
    assert_works(&a2, &server, 1).await;
    assert_works(&a, &server, 1).await;
}

/// Test 2: expired by idleness under paused time, still usable.
#[tokio::test(start_paused = true)]
async fn expired_by_idle_still_usable_paused() {
    let server = CountingServer::start().await.unwrap();
    let clients = HttpClients::new().unwrap();
    let config_a = config("a");

    let a = clients.get_async_http_client(&config_a).await.unwrap();
    assert_works(&a, &server, 1).await;
    tokio::time::advance(HttpClients::DEFAULT_TIME_TO_IDLE + Duration::from_secs(60)).await;
    // Let the reaper run at the new time.
    for _ in 0..100 {
        if clients.stats().evictions.idle >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let stats = clients.stats();
    assert_eq!(stats.evictions.idle, 1, "{stats:?}");
    assert!(clients.is_empty());

    assert_works(&a, &server, 3).await;
    let a2 = clients.get_async_http_client(&config_a).await.unwrap();
    assert!(!Shared::ptr_eq(&a, &a2), "an expired client is not served again");
    assert_works(&a2, &server, 1).await;
    assert_works(&a, &server, 1).await;
}

/// Test 2, real-time twin: a 50 ms time-to-idle; waits (bounded) for the
/// reaper to expire the entry, then uses the expired client.
#[tokio::test]
async fn expired_by_idle_still_usable_real_time() {
    let server = CountingServer::start().await.unwrap();
    let clients = HttpClients::builder()
        .time_to_idle(Duration::from_millis(50))
        .build()
        .unwrap();
    let config_a = config("a");
    let a = clients.get_async_http_client(&config_a).await.unwrap();
    assert_works(&a, &server, 1).await;

    // Bounded: at most 500 polls of 10 ms. No assertion on elapsed time.
    let mut expired = false;
    for _ in 0..500 {
        if clients.stats().evictions.idle >= 1 {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        expired,
        "the reaper should expire the idle entry: {:?}",
        clients.stats()
    );
    assert_works(&a, &server, 3).await;
}

/// Test 3: a streaming response read from A while A is evicted (capacity),
/// invalidated and expired, and every cache handle to A is dropped: it
/// completes byte for byte.
#[tokio::test(start_paused = true)]
async fn in_flight_stream_survives_eviction_and_expiry() {
    const CHUNKS: usize = 256;
    let server = CountingServer::start().await.unwrap();
    let clients = HttpClients::builder()
        .max_capacity(1)
        .time_to_idle(Duration::from_secs(1))
        .build()
        .unwrap();
    let (config_a, config_b) = (config("a"), config("b"));

    let a = clients.get_async_http_client(&config_a).await.unwrap();
    let a_id = a.id();
    let response = a.get(server.uri(&format!("/stream?chunks={CHUNKS}"))).await.unwrap();
    let mut body = response.into_body();
    let mut got = Vec::new();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    got.extend_from_slice(&first);

    // Evict A by capacity, expire B, and drop our handle to A.
    let b = clients.get_async_http_client(&config_b).await.unwrap();
    assert_eq!(clients.stats().evictions.capacity, 1);
    drop(a);
    drop(b);
    tokio::time::advance(Duration::from_secs(5)).await;
    clients.invalidate_all();

    // Bounded: CHUNKS frames plus slack.
    for _ in 0..CHUNKS * 4 {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame.unwrap().into_data() {
            got.extend_from_slice(&data);
        }
    }
    assert_eq!(got.len(), stream_bytes(CHUNKS).len());
    assert_eq!(got, stream_bytes(CHUNKS), "byte for byte");

    // A new client for A's config is a different client and works.
    let a2 = clients.get_async_http_client(&config_a).await.unwrap();
    assert_ne!(a2.id(), a_id);
    assert_works(&a2, &server, 1).await;
}

/// Test 4: 100 sequential requests, each through the cache: one connection.
#[tokio::test]
async fn reuse_through_the_cache_opens_one_connection() {
    let server = CountingServer::start().await.unwrap();
    let clients = HttpClients::new().unwrap();
    let config_a = config("a");
    for _ in 0..100 {
        let client = clients.get_async_http_client(&config_a).await.unwrap();
        assert_works(&client, &server, 1).await;
    }
    let stats = clients.stats();
    println!(
        "reuse: connections={} requests={} stats={stats:?}",
        server.connections(),
        server.requests()
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(server.requests(), 100);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.hits, 99);
}

/// A hot client is not rebuilt at expiry boundaries: one request a minute for
/// an hour (six times the 10-minute expiry) keeps one client and one
/// connection. With a time-to-live, this would be seven clients and seven
/// cold pools.
#[tokio::test(start_paused = true)]
async fn hot_client_survives_expiry_periods_with_one_connection() {
    let server = CountingServer::start().await.unwrap();
    let clients = HttpClients::new().unwrap();
    let config_a = config("a");
    let first = clients.get_async_http_client(&config_a).await.unwrap();
    let first_id = first.id();
    drop(first);
    for minute in 0..60 {
        let client = clients.get_async_http_client(&config_a).await.unwrap();
        assert_eq!(client.id(), first_id, "rebuilt at minute {minute}");
        assert_works(&client, &server, 1).await;
        drop(client);
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let stats = clients.stats();
    println!(
        "hot client over 60 min: connections={} stats={stats:?}",
        server.connections()
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.evictions.total(), 0);
}

const TASKS: usize = 16;
const PER_TASK: usize = 125;
const CONFIGS: usize = 10;

struct ChurnResult {
    failures: usize,
    requests: usize,
    connections: usize,
    peak_open: usize,
    open_after_drop: usize,
    stats: tenure_http::CacheStats,
}

/// TASKS tasks send PER_TASK requests each, every one through the cache,
/// spread over CONFIGS configs, on a 2-worker runtime.
fn churn(capacity: u64, time_to_idle: Duration) -> ChurnResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = Arc::new(CountingServer::start().await.expect("server"));
        let clients = HttpClients::builder()
            .max_capacity(capacity)
            .time_to_idle(time_to_idle)
            .build()
            .expect("cache");
        let configs: Arc<Vec<HttpClientConfig>> = Arc::new((0..CONFIGS).map(|i| config(&i.to_string())).collect());
        let failures = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..TASKS {
            let (server, clients, configs, failures) = (
                Arc::clone(&server),
                clients.clone(),
                Arc::clone(&configs),
                Arc::clone(&failures),
            );
            tasks.spawn(async move {
                for i in 0..PER_TASK {
                    let config = &configs[(t * 7 + i * 3) % CONFIGS];
                    let ok = match clients.get_async_http_client(config).await {
                        Ok(client) => client
                            .get_bytes(server.uri("/"))
                            .await
                            .is_ok_and(|r| r.body().as_ref() == b"hello"),
                        Err(_) => false,
                    };
                    if !ok {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("churn task");
        }
        let stats = clients.stats();
        // Drop every client: the server must see every connection close
        // (nothing leaks). Bounded wait: 500 polls of 10 ms.
        clients.invalidate_all();
        drop(clients);
        for _ in 0..500 {
            if server.open_connections() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ChurnResult {
            failures: failures.load(Ordering::Relaxed),
            requests: server.requests(),
            connections: server.connections(),
            peak_open: server.peak_open_connections(),
            open_after_drop: server.open_connections(),
            stats,
        }
    })
}

/// Test 5: capacity 2 for 10 configs and a 5 ms expiry: heavy eviction.
#[test]
fn churn_has_no_failures_and_bounded_connections() {
    let r = churn(2, Duration::from_millis(5));
    let built = usize::try_from(r.stats.inserts).unwrap();
    println!(
        "churn (capacity 2, tti 5ms): requests={} failures={} connections={} peak_open={} \
         open_after_drop={} clients_built={built} stats={:?}",
        r.requests, r.failures, r.connections, r.peak_open, r.open_after_drop, r.stats
    );
    assert_eq!(r.failures, 0, "no request may fail because of eviction");
    assert_eq!(r.requests, TASKS * PER_TASK);
    // Single flight: at most one client built per miss.
    assert!(r.stats.inserts <= r.stats.misses);
    // A client serves at most TASKS requests at once, so it opens at most
    // TASKS connections; and no more connections than requests.
    assert!(r.connections <= built * TASKS);
    assert!(r.connections <= TASKS * PER_TASK);
    // Open at once: at most TASKS in flight, plus idle ones in the pools of
    // live clients; live clients are the 2 cached plus at most one held by
    // each task, each holding at most TASKS idle connections. Evicted
    // clients' connections close when their last holder drops them.
    assert!(r.peak_open <= (2 + TASKS) * TASKS, "peak_open={}", r.peak_open);
    assert_eq!(
        r.open_after_drop, 0,
        "connections leaked after every client was dropped"
    );
}

/// The same load with room for every config and the default expiry: clients
/// are reused, so connections stay near one per config (at most TASKS each).
#[test]
fn load_with_enough_capacity_reuses_clients() {
    let r = churn(CONFIGS as u64, HttpClients::DEFAULT_TIME_TO_IDLE);
    println!(
        "steady (capacity 10, tti 10min): requests={} failures={} connections={} peak_open={} \
         open_after_drop={} stats={:?}",
        r.requests, r.failures, r.connections, r.peak_open, r.open_after_drop, r.stats
    );
    assert_eq!(r.failures, 0);
    assert_eq!(r.requests, TASKS * PER_TASK);
    assert_eq!(r.stats.inserts, CONFIGS as u64, "one client per config (single flight)");
    assert_eq!(r.stats.evictions.total(), 0);
    assert!(r.connections <= CONFIGS * TASKS);
    assert_eq!(r.open_after_drop, 0);
}

/// Test 6 through the cache: extra root -> works; without it -> Tls error.
#[tokio::test]
async fn tls_through_the_cache() {
    let server = CountingServer::start_tls().await.unwrap();
    let clients = HttpClients::new().unwrap();
    let trusted = HttpClientConfig::builder()
        .add_root_certificate_der(server.ca_cert_der().unwrap())
        .build()
        .unwrap();
    let client = clients.get_async_http_client(&trusted).await.unwrap();
    assert_works(&client, &server, 3).await;

    let untrusted = HttpClientConfig::default();
    let client = clients.get_async_http_client(&untrusted).await.unwrap();
    let e = client.get(server.uri("/")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e:?}");
    assert_eq!(clients.len(), 2);
}

/// Test 7: runtimes get different clients; a shut-down runtime's client is
/// never served to the next runtime, whose client works.
#[test]
fn clients_are_scoped_by_runtime() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt.block_on(CountingServer::start()).unwrap();
    let uri = server.uri("/");
    let clients = HttpClients::new().unwrap();
    let config_a = config("a");

    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let get = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let client = clients.get_async_http_client(&config_a).await.unwrap();
            let response = client.get_bytes(uri.as_str()).await.unwrap();
            assert_eq!(response.body().as_ref(), b"hello");
            client
        })
    };

    let rt1 = runtime();
    let rt2 = runtime();
    let c1 = get(&rt1);
    let c2 = get(&rt2);
    assert!(!Shared::ptr_eq(&c1, &c2));
    assert_ne!(c1.id(), c2.id());
    assert!(Shared::ptr_eq(&c1, &get(&rt1)), "same runtime, same client");
    assert!(Shared::ptr_eq(&c2, &get(&rt2)), "same runtime, same client");

    drop(rt1);
    assert!(!c1.is_runtime_alive());
    // Several new runtimes: any of them may reuse rt1's id.
    for _ in 0..5 {
        let rt = runtime();
        let c = get(&rt);
        assert!(!Shared::ptr_eq(&c, &c1), "a dead runtime's client was served");
        assert_ne!(c.id(), c1.id());
        assert!(c.is_runtime_alive());
        drop(c);
        drop(rt);
    }
    // rt2's client is still its own.
    assert!(Shared::ptr_eq(&c2, &get(&rt2)));
    drop(server);
}

/// Test 8 through the cache: bad settings and bad requests are typed errors.
#[tokio::test]
async fn bad_input_through_the_cache() {
    let e = HttpClients::builder().max_capacity(0).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("max_capacity"), "{e}");
    let e = HttpClients::builder().time_to_idle(Duration::ZERO).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("time_to_idle"), "{e}");

    let clients = HttpClients::new().unwrap();
    let client = clients
        .get_async_http_client(&HttpClientConfig::default())
        .await
        .unwrap();
    let e = client.get("no scheme").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = client.get(format!("http://{addr}/")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);

    // The cache refuses after shutdown with a typed error.
    let report = clients.shutdown_within(Duration::from_secs(5)).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(clients.is_empty());
    let e = clients
        .get_async_http_client(&HttpClientConfig::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cache, "{e}");
    // The client obtained before shutdown still works... on a closed port it
    // still fails with Connect, and on a live server it succeeds.
    let server = CountingServer::start().await.unwrap();
    assert_works(&client, &server, 1).await;
}

/// Secrets in the key never show in the cache's or the clients' Debug.
#[tokio::test]
async fn cache_debug_never_shows_secrets() {
    let clients = HttpClients::new().unwrap();
    let config = HttpClientConfig::builder()
        .header("authorization", "Bearer SECRET-token")
        .header("x-api-key", "SECRET-key")
        .build()
        .unwrap();
    let client = clients.get_async_http_client(&config).await.unwrap();
    for text in [
        format!("{clients:?}"),
        format!("{client:?}"),
        format!("{:?}", clients.stats()),
    ] {
        assert!(!text.contains("SECRET"), "{text}");
    }
}

/// Outside any tokio runtime, the cache gives a typed error, not a panic.
#[test]
fn outside_a_runtime_is_a_typed_error() {
    let clients = HttpClients::new().unwrap();
    let config = HttpClientConfig::default();
    let mut future = std::pin::pin!(clients.get_async_http_client(&config));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::Runtime, "{e}"),
        std::task::Poll::Ready(Ok(_)) => panic!("a client was built outside a runtime"),
        std::task::Poll::Pending => panic!("should fail at once outside a runtime"),
    }
}

/// The adapter's shape: `get` and its alias return the same client,
/// `entry_count` follows `len`, the eviction listener sees every retirement
/// with its cause and the very client, and `shutdown_within(deadline)` reports a
/// complete shutdown while handed-out clients keep working.
#[tokio::test]
async fn listener_entry_count_alias_and_shutdown() {
    use std::sync::Mutex;
    use tenure_http::RemovalCause;

    let server = CountingServer::start().await.unwrap();
    let seen: Arc<Mutex<Vec<(HttpClientConfig, u64, RemovalCause)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let clients = HttpClients::builder()
        .max_capacity(1)
        .eviction_listener(move |config, client, cause| {
            sink.lock()
                .expect("listener lock")
                .push((config.clone(), client.id(), cause));
        })
        .build()
        .unwrap();
    let (config_a, config_b) = (config("a"), config("b"));

    let a = clients.get(&config_a).await.unwrap();
    assert!(Shared::ptr_eq(
        &a,
        &clients.get_async_http_client(&config_a).await.unwrap()
    ));
    assert_eq!((clients.len(), clients.entry_count()), (1, 1));
    let b = clients.get(&config_b).await.unwrap();
    assert_eq!((clients.len(), clients.entry_count()), (1, 1));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(config_a.clone(), a.id(), RemovalCause::Capacity)]
    );

    let report = clients.shutdown_within(Duration::from_secs(5)).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(report.pending.is_empty());
    assert_eq!(clients.entry_count(), 0);
    assert_eq!(
        seen.lock().unwrap().last().cloned(),
        Some((config_b.clone(), b.id(), RemovalCause::Explicit))
    );
    let e = clients.get(&config_a).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cache, "{e}");
    // Shutdown closed nothing: both clients still send requests.
    assert_works(&a, &server, 2).await;
    assert_works(&b, &server, 2).await;
    // A second shutdown is safe.
    assert!(clients.shutdown().await.is_complete());
}
