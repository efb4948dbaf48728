//! `ReqwestClients` (feature `reqwest`): the incident's guarantees for
//! `reqwest::Client`, every client from `ReqwestClients::get` and every
//! assertion on real requests to a `CountingServer`.
#![cfg(feature = "reqwest")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tenure_http::reqwest::{Client, Version};
use tenure_http::{ErrorKind, HttpClient, HttpClientConfig, ReqwestClients, Shared};
use tenure_test_support::{CountingServer, http_server::stream_bytes};

fn config(tag: &str) -> HttpClientConfig {
    HttpClientConfig::builder()
        .header("x-config", tag)
        .build()
        .expect("valid config")
}

async fn fetch(client: &Client, url: &str) -> Result<(u16, Vec<u8>), tenure_http::reqwest::Error> {
    let response = client.get(url).send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    Ok((status, body.to_vec()))
}

async fn assert_works(client: &Client, server: &CountingServer, times: usize) {
    for _ in 0..times {
        let (status, body) = fetch(client, &server.uri("/"))
            .await
            .expect("request through a cached reqwest client");
        assert_eq!(status, 200);
        assert_eq!(body, b"hello");
    }
}

/// Reads a streamed body chunk by chunk (bounded).
async fn read_stream(mut response: tenure_http::reqwest::Response, chunks: usize) -> Vec<u8> {
    let mut got = Vec::new();
    for _ in 0..chunks * 4 + 4 {
        match response.chunk().await.expect("body chunk") {
            Some(chunk) => got.extend_from_slice(&chunk),
            None => break,
        }
    }
    got
}

/// Capacity 1: A is evicted by B, still sends requests, and keeps its pool.
#[tokio::test]
async fn evicted_by_capacity_still_usable_and_keeps_its_pool() {
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::builder().max_capacity(1).build().unwrap();
    let (config_a, config_b) = (config("a"), config("b"));

    let a = clients.get(&config_a).await.unwrap();
    assert_works(&a, &server, 2).await;
    let b = clients.get(&config_b).await.unwrap();
    assert_eq!(clients.stats().evictions.capacity, 1);
    assert_eq!(clients.len(), 1);

    assert_works(&a, &server, 5).await;
    assert_works(&b, &server, 2).await;
    assert_eq!(server.connections(), 2, "one connection for A, one for B");

    let a2 = clients.get(&config_a).await.unwrap();
    assert!(!Shared::ptr_eq(&a, &a2));
    assert_works(&a2, &server, 1).await;
    assert_works(&a, &server, 1).await;
    assert_eq!(server.connections(), 3);
}

/// A streaming response read from A while A is evicted, expired and
/// invalidated, and every other handle to A is dropped: byte for byte.
#[tokio::test(start_paused = true)]
async fn in_flight_stream_survives_eviction_and_expiry() {
    const CHUNKS: usize = 256;
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::builder()
        .max_capacity(1)
        .time_to_idle(Duration::from_secs(1))
        .build()
        .unwrap();
    let (config_a, config_b) = (config("a"), config("b"));

    let a = clients.get(&config_a).await.unwrap();
    let mut response = a
        .get(server.uri(&format!("/stream?chunks={CHUNKS}")))
        .send()
        .await
        .unwrap();
    let mut got = response.chunk().await.unwrap().unwrap().to_vec();

    let b = clients.get(&config_b).await.unwrap();
    assert_eq!(clients.stats().evictions.capacity, 1);
    drop(a);
    drop(b);
    tokio::time::advance(Duration::from_secs(5)).await;
    clients.invalidate_all();

    got.extend(read_stream(response, CHUNKS).await);
    assert_eq!(got.len(), stream_bytes(CHUNKS).len());
    assert_eq!(got, stream_bytes(CHUNKS), "byte for byte");

    let a2 = clients.get(&config_a).await.unwrap();
    assert_works(&a2, &server, 1).await;
}

/// 100 sequential requests, each through the cache: one client, one
/// connection.
#[tokio::test]
async fn reuse_through_the_cache_opens_one_connection() {
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let config_a = config("a");
    for _ in 0..100 {
        let client = clients.get(&config_a).await.unwrap();
        assert_works(&client, &server, 1).await;
    }
    let stats = clients.stats();
    println!(
        "reqwest reuse: connections={} requests={} stats={stats:?}",
        server.connections(),
        server.requests()
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(server.requests(), 100);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.hits, 99);
}

/// A hot client is not rebuilt at expiry boundaries: one request a minute for
/// an hour (six times the 10-minute time-to-idle) keeps one client and one
/// connection.
#[tokio::test(start_paused = true)]
async fn hot_client_is_never_rebuilt_cold() {
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let config_a = config("a");
    let first = clients.get(&config_a).await.unwrap();
    for minute in 0..60 {
        let client = clients.get(&config_a).await.unwrap();
        assert!(Shared::ptr_eq(&client, &first), "rebuilt at minute {minute}");
        assert_works(&client, &server, 1).await;
        drop(client);
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let stats = clients.stats();
    println!(
        "reqwest hot client over 60 min: connections={} stats={stats:?}",
        server.connections()
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.evictions.total(), 0);
}

const TASKS: usize = 16;
const ROUNDS: usize = 25;
const PER_HOLD: usize = 5;
const CONFIGS: usize = 10;
const CHUNKS: usize = 4;

struct ChurnResult {
    failures: usize,
    requests: usize,
    connections: usize,
    open_after_drop: usize,
    stats: tenure_http::CacheStats,
}

/// The incident replayed with reqwest: TASKS tasks, each ROUNDS times gets a
/// client from the cache and holds it for PER_HOLD streamed requests (read
/// to the end and compared byte for byte), over CONFIGS configs, on a
/// 2-worker runtime.
fn churn(capacity: u64, time_to_idle: Duration) -> ChurnResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = Arc::new(CountingServer::start().await.expect("server"));
        let clients = ReqwestClients::builder()
            .max_capacity(capacity)
            .time_to_idle(time_to_idle)
            .build()
            .expect("cache");
        let configs: Arc<Vec<HttpClientConfig>> = Arc::new((0..CONFIGS).map(|i| config(&i.to_string())).collect());
        let failures = Arc::new(AtomicUsize::new(0));
        let expected = Arc::new(stream_bytes(CHUNKS));
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..TASKS {
            let (server, clients, configs, failures, expected) = (
                Arc::clone(&server),
                clients.clone(),
                Arc::clone(&configs),
                Arc::clone(&failures),
                Arc::clone(&expected),
            );
            tasks.spawn(async move {
                let url = server.uri(&format!("/stream?chunks={CHUNKS}"));
                for round in 0..ROUNDS {
                    let config = &configs[(t * 7 + round * 3) % CONFIGS];
                    let Ok(client) = clients.get(config).await else {
                        failures.fetch_add(PER_HOLD, Ordering::Relaxed);
                        continue;
                    };
                    // Held while other tasks evict it.
                    for _ in 0..PER_HOLD {
                        let ok = match client.get(&url).send().await {
                            Ok(response) => response.bytes().await.is_ok_and(|b| b[..] == expected[..]),
                            Err(_) => false,
                        };
                        if !ok {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("churn task");
        }
        let stats = clients.stats();
        clients.invalidate_all();
        drop(clients);
        // Every client is dropped: the server must see every connection
        // close. Bounded wait: 500 polls of 10 ms.
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
            open_after_drop: server.open_connections(),
            stats,
        }
    })
}

/// Capacity 2 for 10 configs and a 5 ms time-to-idle: heavy eviction and
/// expiry under clients that are held and used: 0 failed requests.
#[test]
fn incident_replay_under_churn_has_no_failures() {
    let r = churn(2, Duration::from_millis(5));
    let built = usize::try_from(r.stats.inserts).unwrap();
    println!(
        "reqwest churn (capacity 2, tti 5ms): requests={} failures={} connections={} open_after_drop={} \
         clients_built={built} stats={:?}",
        r.requests, r.failures, r.connections, r.open_after_drop, r.stats
    );
    assert_eq!(r.failures, 0, "no request may fail because of eviction");
    assert_eq!(r.requests, TASKS * ROUNDS * PER_HOLD);
    assert!(r.stats.evictions.total() > 0, "the load must churn: {:?}", r.stats);
    assert!(r.stats.inserts <= r.stats.misses);
    // A held client serves one request at a time per holder: at most one
    // connection per (client, holder) pair, never more than requests.
    assert!(r.connections <= built * TASKS);
    assert!(r.connections <= r.requests);
    assert_eq!(
        r.open_after_drop, 0,
        "connections leaked after every client was dropped"
    );
}

/// Room for every config: one client per config, connections reused.
#[test]
fn steady_load_reuses_clients_and_connections() {
    let r = churn(CONFIGS as u64, ReqwestClients::DEFAULT_TIME_TO_IDLE);
    println!(
        "reqwest steady (capacity 10, tti 10min): requests={} failures={} connections={} stats={:?}",
        r.requests, r.failures, r.connections, r.stats
    );
    assert_eq!(r.failures, 0);
    assert_eq!(r.requests, TASKS * ROUNDS * PER_HOLD);
    assert_eq!(r.stats.inserts, CONFIGS as u64, "one client per config (single flight)");
    assert_eq!(r.stats.evictions.total(), 0);
    assert!(r.connections <= CONFIGS * TASKS);
    assert_eq!(r.open_after_drop, 0);
}

/// TLS roots from the config: the server's CA trusted -> h2 over ALPN, or
/// HTTP/1.1 when the config says so; untrusted -> a connect error.
#[tokio::test]
async fn tls_roots_and_versions_from_the_config() {
    let server = CountingServer::start_tls().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let trusted = HttpClientConfig::builder()
        .add_root_certificate_der(server.ca_cert_der().unwrap())
        .build()
        .unwrap();
    let client = clients.get(&trusted).await.unwrap();
    for _ in 0..3 {
        let response = client.get(server.uri("/")).send().await.unwrap();
        assert_eq!(response.version(), Version::HTTP_2, "ALPN should pick h2");
        assert_eq!(response.text().await.unwrap(), "hello");
    }
    assert_eq!(server.connections(), 1);

    let http1 = HttpClientConfig::builder()
        .webpki_roots(false)
        .add_root_certificates_pem(server.ca_cert_pem().unwrap())
        .http1_only()
        .build()
        .unwrap();
    let response = clients
        .get(&http1)
        .await
        .unwrap()
        .get(server.uri("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), Version::HTTP_11);

    let untrusted = clients.get(&HttpClientConfig::default()).await.unwrap();
    let e = untrusted.get(server.uri("/")).send().await.unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(clients.len(), 3);
}

/// Plain HTTP/2 with prior knowledge from the config.
#[tokio::test]
async fn http2_prior_knowledge_from_the_config() {
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let client = clients
        .get(&HttpClientConfig::builder().http2_only().build().unwrap())
        .await
        .unwrap();
    for _ in 0..3 {
        let response = client.get(server.uri("/")).send().await.unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
    }
    assert_eq!(server.connections(), 1);
}

/// Default headers are sent; the request's own value wins; secrets never
/// show in Debug of the config, the client, the cache or the proxy.
#[tokio::test]
async fn default_headers_sent_and_secrets_redacted() {
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let config = HttpClientConfig::builder()
        .header("authorization", "Bearer SECRET-1")
        .header("x-api-key", "SECRET-2")
        .header("x-override", "default")
        .header("user-agent", "tenure-test")
        .build()
        .unwrap();
    let client = clients.get(&config).await.unwrap();
    let text = client
        .get(server.uri("/headers"))
        .header("x-override", "mine")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("authorization: Bearer SECRET-1\n"), "sent");
    assert!(text.contains("x-api-key: SECRET-2\n"), "sent");
    assert!(text.contains("user-agent: tenure-test\n"));
    assert!(text.contains("x-override: mine\n"));
    assert!(!text.contains("x-override: default"));

    let proxied = HttpClientConfig::builder()
        .proxy("http://proxy-user:SECRET-3@127.0.0.1:9")
        .build()
        .unwrap();
    let proxied_client = clients.get(&proxied).await.unwrap();
    for shown in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{clients:?}"),
        format!("{proxied:?}"),
        format!("{proxied_client:?}"),
        format!("{:?}", config.reqwest_builder().unwrap()),
        format!("{:?}", proxied.reqwest_builder().unwrap()),
    ] {
        assert!(!shown.contains("SECRET"), "leaked in {shown}");
        assert!(!shown.contains("proxy-user"), "leaked in {shown}");
    }
}

/// The config's proxy is used, with its credentials as a
/// `Proxy-Authorization` header: the `CountingServer` plays the forward
/// proxy for a host that does not exist (`.invalid`; never resolved, since
/// the proxy gets the request).
#[tokio::test]
async fn proxy_from_the_config_with_credentials() {
    let proxy = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let config = HttpClientConfig::builder()
        .proxy(format!("http://proxy-user:pw%40SECRET@{}", proxy.addr()))
        .build()
        .unwrap();
    let client = clients.get(&config).await.unwrap();
    let text = client
        .get("http://tenure-upstream.invalid/headers")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // base64("proxy-user:pw@SECRET"), computed with coreutils' `base64`.
    assert!(
        text.contains("proxy-authorization: Basic cHJveHktdXNlcjpwd0BTRUNSRVQ=\n"),
        "{}",
        text.lines()
            .filter(|l| !l.contains("SECRET"))
            .collect::<Vec<_>>()
            .join("|")
    );
    assert!(text.contains("host: tenure-upstream.invalid\n"));
    assert_eq!(proxy.requests(), 1);

    // The hyper-util client refuses a proxy config with a typed error.
    let e = HttpClient::new(&config).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("proxy"), "{e}");
    assert!(!format!("{e} {e:?}").contains("SECRET"));
}

/// Runtimes get different clients; a dead runtime's client is never served.
#[test]
fn clients_are_scoped_by_runtime() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt.block_on(CountingServer::start()).unwrap();
    let uri = server.uri("/");
    let clients = ReqwestClients::new().unwrap();
    let config_a = config("a");
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let get = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let client = clients.get(&config_a).await.unwrap();
            assert_eq!(fetch(&client, &uri).await.unwrap().1, b"hello");
            client
        })
    };
    let (rt1, rt2) = (runtime(), runtime());
    let c1 = get(&rt1);
    let c2 = get(&rt2);
    assert!(!Shared::ptr_eq(&c1, &c2));
    assert!(Shared::ptr_eq(&c1, &get(&rt1)));
    drop(rt1);
    for _ in 0..5 {
        let rt = runtime();
        let c = get(&rt);
        assert!(!Shared::ptr_eq(&c, &c1), "a dead runtime's client was served");
        drop(c);
        drop(rt);
    }
    assert!(Shared::ptr_eq(&c2, &get(&rt2)));
    drop(server);
}

/// Bad input and misuse are typed errors, never panics.
#[tokio::test]
async fn bad_input_and_shutdown() {
    let e = ReqwestClients::builder().max_capacity(0).build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    let server = CountingServer::start().await.unwrap();
    let clients = ReqwestClients::new().unwrap();
    let client = clients.get(&HttpClientConfig::default()).await.unwrap();
    let report = clients.shutdown_within(Duration::from_secs(5)).await;
    assert!(report.is_complete(), "{report:?}");
    let e = clients.get(&HttpClientConfig::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cache, "{e}");
    // Shutdown closed nothing.
    assert_works(&client, &server, 2).await;
}

/// Outside any tokio runtime: a typed error, not a panic.
#[test]
fn outside_a_runtime_is_a_typed_error() {
    let clients = ReqwestClients::new().unwrap();
    let config = HttpClientConfig::default();
    let mut future = std::pin::pin!(clients.get(&config));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::Runtime, "{e}"),
        std::task::Poll::Ready(Ok(_)) => panic!("a client was built outside a runtime"),
        std::task::Poll::Pending => panic!("should fail at once outside a runtime"),
    }
}
