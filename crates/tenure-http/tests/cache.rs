//! The incident's production path, done right, for both client kinds: every
//! client comes from the cache (`HttpClients`, and with feature `reqwest`
//! `ReqwestClients`), and every assertion sends real requests to a
//! `CountingServer`.
//!
//! Each behaviour is one generic test body over [`Kind`], run once per kind by
//! [`behaviour_tests!`]: `hyper_clients::<name>` and `reqwest_clients::<name>`.
//! The few behaviours only one kind has come last.
// The generic test bodies are plain functions, which `allow-unwrap-in-tests`
// does not cover: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use tenure_http::http::{Request, Version};
use tenure_http::hyper::body::{Bytes, Incoming};
use tenure_http::{
    CacheStats, Error, ErrorKind, HttpClient, HttpClientConfig, HttpClients, RemovalCause, Shared, ShutdownReport,
};
use tenure_test_support::{CountingServer, http_server::stream_bytes};

/// A finished request: status, HTTP version and the whole body.
#[derive(Debug)]
struct Reply {
    status: u16,
    version: Version,
    body: Bytes,
}

/// Why a request failed, as far as both kinds can tell.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The request could not be built (a URL without a scheme).
    InvalidRequest,
    /// No connection (refused, or a TLS handshake reqwest reports as connect).
    Connect,
    /// The TLS handshake failed (hyper-util clients tell it apart).
    Tls,
    /// The connect timeout or the request timeout elapsed.
    Timeout,
    Other(String),
}

/// A streaming response body, read chunk by chunk.
enum StreamBody {
    Hyper(Incoming),
    #[cfg(feature = "reqwest")]
    Reqwest(tenure_http::reqwest::Response),
}

impl StreamBody {
    /// The next chunk; `None` at the end. A non-data frame is an empty chunk.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        match self {
            StreamBody::Hyper(body) => body
                .frame()
                .await
                .map(|frame| frame.expect("body frame").into_data().unwrap_or_default()),
            #[cfg(feature = "reqwest")]
            StreamBody::Reqwest(response) => response.chunk().await.expect("body chunk"),
        }
    }
}

type Listener<C> = Box<dyn Fn(&HttpClientConfig, &Shared<C>, RemovalCause) + Send + Sync>;

/// The cache builder's settings a test sets; unset ones keep their defaults.
struct Settings<C> {
    max_capacity: Option<u64>,
    time_to_idle: Option<Duration>,
    listener: Option<Listener<C>>,
}

impl<C> Settings<C> {
    fn new() -> Self {
        Settings {
            max_capacity: None,
            time_to_idle: None,
            listener: None,
        }
    }

    fn max_capacity(mut self, max_capacity: u64) -> Self {
        self.max_capacity = Some(max_capacity);
        self
    }

    fn time_to_idle(mut self, time_to_idle: Duration) -> Self {
        self.time_to_idle = Some(time_to_idle);
        self
    }

    fn eviction_listener(
        mut self,
        listener: impl Fn(&HttpClientConfig, &Shared<C>, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }
}

/// One client kind: its cache (whose API both kinds share, so
/// [`forward_cache_api!`] writes it once) and how its clients send requests.
trait Kind: 'static {
    type Clients: Clone + fmt::Debug + Send + Sync + 'static;
    type Client: fmt::Debug + Send + Sync + 'static;
    const DEFAULT_TIME_TO_IDLE: Duration;
    /// How a request to a TLS server whose CA the config does not trust fails.
    const UNTRUSTED: Failure;

    fn new() -> Result<Self::Clients, Error>;
    fn build(settings: Settings<Self::Client>) -> Result<Self::Clients, Error>;
    fn get(
        clients: &Self::Clients,
        config: &HttpClientConfig,
    ) -> impl Future<Output = Result<Shared<Self::Client>, Error>> + Send;
    fn get_async_http_client(
        clients: &Self::Clients,
        config: &HttpClientConfig,
    ) -> impl Future<Output = Result<Shared<Self::Client>, Error>> + Send;
    fn invalidate_all(clients: &Self::Clients);
    fn len(clients: &Self::Clients) -> usize;
    fn entry_count(clients: &Self::Clients) -> u64;
    fn is_empty(clients: &Self::Clients) -> bool;
    fn stats(clients: &Self::Clients) -> CacheStats;
    fn shutdown(clients: &Self::Clients) -> impl Future<Output = ShutdownReport<HttpClientConfig>> + Send;
    fn shutdown_within(
        clients: &Self::Clients,
        limit: Duration,
    ) -> impl Future<Output = ShutdownReport<HttpClientConfig>> + Send;

    /// A `GET` with extra request headers, body read in full.
    fn send(
        client: &Self::Client,
        url: &str,
        headers: &[(&'static str, &'static str)],
    ) -> impl Future<Output = Result<Reply, Failure>> + Send;
    /// A `GET` whose body is read later, chunk by chunk.
    fn open(client: &Self::Client, url: &str) -> impl Future<Output = Result<StreamBody, Failure>> + Send;
}

/// The cache half of a [`Kind`] impl: the two caches have the same inherent
/// API (one macro in tenure-http generates both).
macro_rules! forward_cache_api {
    ($clients:ty, $client:ty) => {
        type Clients = $clients;
        type Client = $client;
        const DEFAULT_TIME_TO_IDLE: Duration = <$clients>::DEFAULT_TIME_TO_IDLE;

        fn new() -> Result<$clients, Error> {
            <$clients>::new()
        }

        fn build(settings: Settings<$client>) -> Result<$clients, Error> {
            let mut builder = <$clients>::builder();
            if let Some(max_capacity) = settings.max_capacity {
                builder = builder.max_capacity(max_capacity);
            }
            if let Some(time_to_idle) = settings.time_to_idle {
                builder = builder.time_to_idle(time_to_idle);
            }
            if let Some(listener) = settings.listener {
                builder = builder.eviction_listener(move |config, client, cause| listener(config, client, cause));
            }
            builder.build()
        }

        fn get(
            clients: &$clients,
            config: &HttpClientConfig,
        ) -> impl Future<Output = Result<Shared<$client>, Error>> + Send {
            clients.get(config)
        }

        fn get_async_http_client(
            clients: &$clients,
            config: &HttpClientConfig,
        ) -> impl Future<Output = Result<Shared<$client>, Error>> + Send {
            clients.get_async_http_client(config)
        }

        fn invalidate_all(clients: &$clients) {
            clients.invalidate_all();
        }

        fn len(clients: &$clients) -> usize {
            clients.len()
        }

        fn entry_count(clients: &$clients) -> u64 {
            clients.entry_count()
        }

        fn is_empty(clients: &$clients) -> bool {
            clients.is_empty()
        }

        fn stats(clients: &$clients) -> CacheStats {
            clients.stats()
        }

        fn shutdown(clients: &$clients) -> impl Future<Output = ShutdownReport<HttpClientConfig>> + Send {
            clients.shutdown()
        }

        fn shutdown_within(
            clients: &$clients,
            limit: Duration,
        ) -> impl Future<Output = ShutdownReport<HttpClientConfig>> + Send {
            clients.shutdown_within(limit)
        }
    };
}

/// `HttpClients` and its hyper-util `HttpClient`.
struct Hyper;

fn hyper_failure(e: &Error) -> Failure {
    match e.kind() {
        ErrorKind::InvalidRequest => Failure::InvalidRequest,
        ErrorKind::Connect => Failure::Connect,
        ErrorKind::Tls => Failure::Tls,
        ErrorKind::Timeout => Failure::Timeout,
        _ => Failure::Other(format!("{e:?}")),
    }
}

impl Kind for Hyper {
    forward_cache_api!(HttpClients, HttpClient);

    const UNTRUSTED: Failure = Failure::Tls;

    async fn send(client: &HttpClient, url: &str, headers: &[(&'static str, &'static str)]) -> Result<Reply, Failure> {
        let response = if headers.is_empty() {
            client.get_bytes(url).await
        } else {
            let mut request = Request::get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let request = request.body(Empty::<Bytes>::new()).expect("a valid request");
            match client.request(request).await {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let body = body.collect().await.expect("the whole body").to_bytes();
                    Ok(tenure_http::http::Response::from_parts(parts, body))
                }
                Err(e) => Err(e),
            }
        };
        let response = response.map_err(|e| hyper_failure(&e))?;
        Ok(Reply {
            status: response.status().as_u16(),
            version: response.version(),
            body: response.into_body(),
        })
    }

    async fn open(client: &HttpClient, url: &str) -> Result<StreamBody, Failure> {
        let response = client.get(url).await.map_err(|e| hyper_failure(&e))?;
        Ok(StreamBody::Hyper(response.into_body()))
    }
}

/// `ReqwestClients` and its `reqwest::Client`.
#[cfg(feature = "reqwest")]
struct Reqwest;

#[cfg(feature = "reqwest")]
fn reqwest_failure(e: &tenure_http::reqwest::Error) -> Failure {
    if e.is_builder() {
        Failure::InvalidRequest
    } else if e.is_timeout() {
        // Before `is_connect`: a connect timeout is both.
        Failure::Timeout
    } else if e.is_connect() {
        Failure::Connect
    } else {
        Failure::Other(format!("{e:?}"))
    }
}

#[cfg(feature = "reqwest")]
impl Kind for Reqwest {
    forward_cache_api!(tenure_http::ReqwestClients, tenure_http::reqwest::Client);

    // reqwest reports a failed handshake as a connect error.
    const UNTRUSTED: Failure = Failure::Connect;

    async fn send(
        client: &tenure_http::reqwest::Client,
        url: &str,
        headers: &[(&'static str, &'static str)],
    ) -> Result<Reply, Failure> {
        let mut request = client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.map_err(|e| reqwest_failure(&e))?;
        let (status, version) = (response.status().as_u16(), response.version());
        let body = response.bytes().await.map_err(|e| reqwest_failure(&e))?;
        Ok(Reply { status, version, body })
    }

    async fn open(client: &tenure_http::reqwest::Client, url: &str) -> Result<StreamBody, Failure> {
        let response = client.get(url).send().await.map_err(|e| reqwest_failure(&e))?;
        Ok(StreamBody::Reqwest(response))
    }
}

/// Runs every behaviour below against one kind, each as its own test.
macro_rules! behaviour_tests {
    ($module:ident: $kind:ty) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn evicted_by_capacity_still_usable() {
                super::evicted_by_capacity_still_usable::<$kind>().await;
            }

            #[tokio::test(start_paused = true)]
            async fn expired_by_idle_still_usable_paused() {
                super::expired_by_idle_still_usable_paused::<$kind>().await;
            }

            #[tokio::test]
            async fn expired_by_idle_still_usable_real_time() {
                super::expired_by_idle_still_usable_real_time::<$kind>().await;
            }

            #[tokio::test(start_paused = true)]
            async fn in_flight_streams_survive_eviction_expiry_and_invalidation() {
                super::in_flight_streams_survive_eviction_expiry_and_invalidation::<$kind>().await;
            }

            #[tokio::test]
            async fn reuse_through_the_cache_opens_one_connection() {
                super::reuse_through_the_cache_opens_one_connection::<$kind>().await;
            }

            #[tokio::test(start_paused = true)]
            async fn hot_client_survives_expiry_periods_with_one_connection() {
                super::hot_client_survives_expiry_periods_with_one_connection::<$kind>().await;
            }

            #[test]
            fn churn_has_no_failures_and_bounded_connections() {
                super::churn_has_no_failures_and_bounded_connections::<$kind>();
            }

            #[test]
            fn load_with_enough_capacity_reuses_clients() {
                super::load_with_enough_capacity_reuses_clients::<$kind>();
            }

            #[test]
            fn incident_replay_under_churn_has_no_failures() {
                super::incident_replay_under_churn_has_no_failures::<$kind>();
            }

            #[test]
            fn steady_load_reuses_clients_and_connections() {
                super::steady_load_reuses_clients_and_connections::<$kind>();
            }

            #[tokio::test]
            async fn tls_through_the_cache() {
                super::tls_through_the_cache::<$kind>().await;
            }

            #[tokio::test]
            async fn http2_prior_knowledge_from_the_config() {
                super::http2_prior_knowledge_from_the_config::<$kind>().await;
            }

            #[tokio::test]
            async fn default_headers_sent_and_secrets_redacted() {
                super::default_headers_sent_and_secrets_redacted::<$kind>().await;
            }

            #[test]
            fn clients_are_scoped_by_runtime() {
                super::clients_are_scoped_by_runtime::<$kind>();
            }

            #[tokio::test]
            async fn bad_input_through_the_cache() {
                super::bad_input_through_the_cache::<$kind>().await;
            }

            #[test]
            fn outside_a_runtime_is_a_typed_error() {
                super::outside_a_runtime_is_a_typed_error::<$kind>();
            }

            #[tokio::test]
            async fn listener_entry_count_alias_and_shutdown() {
                super::listener_entry_count_alias_and_shutdown::<$kind>().await;
            }

            #[tokio::test(start_paused = true)]
            async fn request_timeout_covers_a_slow_head() {
                super::request_timeout_covers_a_slow_head::<$kind>().await;
            }

            #[tokio::test(start_paused = true)]
            async fn request_timeout_covers_a_slow_body_read_in_full() {
                super::request_timeout_covers_a_slow_body_read_in_full::<$kind>().await;
            }

            #[tokio::test(start_paused = true)]
            async fn connect_timeout_against_a_full_backlog() {
                super::connect_timeout_against_a_full_backlog::<$kind>().await;
            }

            #[tokio::test]
            async fn http1_title_case_headers_on_the_wire() {
                super::http1_title_case_headers_on_the_wire::<$kind>().await;
            }
        }
    };
}

behaviour_tests!(hyper_clients: Hyper);
#[cfg(feature = "reqwest")]
behaviour_tests!(reqwest_clients: Reqwest);

fn config(tag: &str) -> HttpClientConfig {
    HttpClientConfig::builder()
        .header("x-config", tag)
        .build()
        .expect("valid config")
}

async fn assert_works<K: Kind>(client: &K::Client, server: &CountingServer, times: usize) {
    for _ in 0..times {
        let reply = K::send(client, &server.uri("/"), &[])
            .await
            .expect("request through a cached client");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.as_ref(), b"hello");
    }
}

/// Capacity 1: A is evicted by B and still sends real requests, through the
/// pool it had.
async fn evicted_by_capacity_still_usable<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::build(Settings::new().max_capacity(1)).unwrap();
    let (config_a, config_b) = (config("a"), config("b"));

    let a = K::get_async_http_client(&clients, &config_a).await.unwrap();
    assert_works::<K>(&a, &server, 2).await;
    let b = K::get_async_http_client(&clients, &config_b).await.unwrap();
    assert_eq!(K::stats(&clients).evictions.capacity, 1);
    assert_eq!(K::len(&clients), 1);

    // A is no longer cached, yet works: nothing closed it.
    assert_works::<K>(&a, &server, 5).await;
    assert_works::<K>(&b, &server, 2).await;
    // A's pool is intact: its connection is reused after eviction.
    assert_eq!(server.connections(), 2, "one connection for A, one for B");

    // Asking for A again builds a new client (A was evicted), which works too.
    let a2 = K::get_async_http_client(&clients, &config_a).await.unwrap();
    assert!(!Shared::ptr_eq(&a, &a2));
    assert_works::<K>(&a2, &server, 1).await;
    assert_works::<K>(&a, &server, 1).await;
    assert_eq!(
        server.connections(),
        3,
        "the new client has its own pool; A still has its own"
    );
}

/// Expired by idleness under paused time, still usable.
async fn expired_by_idle_still_usable_paused<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let config_a = config("a");

    let a = K::get(&clients, &config_a).await.unwrap();
    assert_works::<K>(&a, &server, 1).await;
    tokio::time::advance(K::DEFAULT_TIME_TO_IDLE + Duration::from_secs(60)).await;
    // Let the reaper run at the new time.
    for _ in 0..100 {
        if K::stats(&clients).evictions.idle >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let stats = K::stats(&clients);
    assert_eq!(stats.evictions.idle, 1, "{stats:?}");
    assert!(K::is_empty(&clients));

    assert_works::<K>(&a, &server, 3).await;
    let a2 = K::get(&clients, &config_a).await.unwrap();
    assert!(!Shared::ptr_eq(&a, &a2), "an expired client is not served again");
    assert_works::<K>(&a2, &server, 1).await;
    assert_works::<K>(&a, &server, 1).await;
}

/// The real-time twin: a 50 ms time-to-idle; waits (bounded) for the reaper to
/// expire the entry, then uses the expired client.
async fn expired_by_idle_still_usable_real_time<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::build(Settings::new().time_to_idle(Duration::from_millis(50))).unwrap();
    let config_a = config("a");
    let a = K::get(&clients, &config_a).await.unwrap();
    assert_works::<K>(&a, &server, 1).await;

    // Bounded: at most 500 polls of 10 ms. No assertion on elapsed time.
    let mut expired = false;
    for _ in 0..500 {
        if K::stats(&clients).evictions.idle >= 1 {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        expired,
        "the reaper should expire the idle entry: {:?}",
        K::stats(&clients)
    );
    assert_works::<K>(&a, &server, 3).await;
}

/// Three streaming responses, each read while its own client leaves the
/// cache a different way, with every cache handle dropped first: A's client is
/// evicted by capacity, B's expires by idleness (the reaper, on paused time),
/// C's is invalidated. Each completes byte for byte.
async fn in_flight_streams_survive_eviction_expiry_and_invalidation<K: Kind>() {
    const CHUNKS: usize = 256;
    let server = CountingServer::start().await.unwrap();
    let clients = K::build(Settings::new().max_capacity(1).time_to_idle(Duration::from_secs(1))).unwrap();
    let uri = server.uri(&format!("/stream?chunks={CHUNKS}"));
    let mut streams = Vec::new();
    let mut open = async |name: &str| {
        let client = K::get(&clients, &config(name)).await.unwrap();
        let mut body = K::open(&client, &uri).await.unwrap();
        let first = body.next_chunk().await.expect("a first chunk").to_vec();
        streams.push((name.to_owned(), body, first));
        // The caller lets go of its handle: only the stream keeps the client.
        drop(client);
    };

    open("a").await;
    open("b").await;
    let stats = K::stats(&clients);
    assert_eq!(stats.evictions.capacity, 1, "A evicted by capacity: {stats:?}");
    tokio::time::advance(Duration::from_secs(5)).await;
    // Let the reaper run at the new time.
    for _ in 0..100 {
        if K::stats(&clients).evictions.idle >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let stats = K::stats(&clients);
    assert_eq!(stats.evictions.idle, 1, "B expired by idleness: {stats:?}");
    assert!(K::is_empty(&clients));
    open("c").await;
    K::invalidate_all(&clients);
    let stats = K::stats(&clients);
    assert_eq!(stats.evictions.explicit, 1, "C invalidated: {stats:?}");
    assert_eq!(stats.evictions.total(), 3, "{stats:?}");

    for (name, mut body, mut got) in streams {
        // Bounded: CHUNKS chunks plus slack.
        for _ in 0..CHUNKS * 4 {
            let Some(chunk) = body.next_chunk().await else {
                break;
            };
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got.len(), stream_bytes(CHUNKS).len(), "{name}'s stream");
        assert_eq!(got, stream_bytes(CHUNKS), "{name}'s stream, byte for byte");
    }

    // A's config now gets a newly built client, which works.
    let a2 = K::get(&clients, &config("a")).await.unwrap();
    assert_eq!(K::stats(&clients).inserts, 4, "A, B, C, then a new client for A");
    assert_works::<K>(&a2, &server, 1).await;
}

/// 100 sequential requests, each through the cache: one client, one
/// connection.
async fn reuse_through_the_cache_opens_one_connection<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let config_a = config("a");
    for _ in 0..100 {
        let client = K::get(&clients, &config_a).await.unwrap();
        assert_works::<K>(&client, &server, 1).await;
    }
    let stats = K::stats(&clients);
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
/// an hour (six times the 10-minute expiry), with no handle held in between,
/// keeps one client and one connection. With a time-to-live, this would be
/// seven clients and seven cold pools.
async fn hot_client_survives_expiry_periods_with_one_connection<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let config_a = config("a");
    drop(K::get(&clients, &config_a).await.unwrap());
    for minute in 0..60 {
        let client = K::get(&clients, &config_a).await.unwrap();
        assert_eq!(K::stats(&clients).inserts, 1, "rebuilt at minute {minute}");
        assert_works::<K>(&client, &server, 1).await;
        drop(client);
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let stats = K::stats(&clients);
    println!(
        "hot client over 60 min: connections={} stats={stats:?}",
        server.connections()
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(stats.inserts, 1);
    assert_eq!(stats.evictions.total(), 0);
}

const TASKS: usize = 16;
const CONFIGS: usize = 10;

/// What each churn task does, `rounds` times: get a client from the cache and
/// send `per_hold` requests through it, to `/` or to a short stream.
#[derive(Clone, Copy)]
struct Workload {
    rounds: usize,
    per_hold: usize,
    /// `Some(n)`: `/stream?chunks=n`, compared byte for byte; `None`: `/`.
    stream_chunks: Option<usize>,
}

/// Every request through its own lookup: 125 single requests to `/`.
const LOOKUP_PER_REQUEST: Workload = Workload {
    rounds: 125,
    per_hold: 1,
    stream_chunks: None,
};

/// The incident's routers: 25 times a client held for 5 streamed requests
/// while other tasks evict it.
const HELD_STREAMING: Workload = Workload {
    rounds: 25,
    per_hold: 5,
    stream_chunks: Some(4),
};

struct ChurnResult {
    failures: usize,
    requests: usize,
    connections: usize,
    peak_open: usize,
    open_after_drop: usize,
    stats: CacheStats,
}

/// TASKS tasks run `workload` over CONFIGS configs on a 2-worker runtime;
/// then every client is dropped and the server's open connections counted.
fn churn<K: Kind>(workload: Workload, capacity: u64, time_to_idle: Duration) -> ChurnResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = Arc::new(CountingServer::start().await.expect("server"));
        let clients = K::build(Settings::new().max_capacity(capacity).time_to_idle(time_to_idle)).expect("cache");
        let configs: Arc<Vec<HttpClientConfig>> = Arc::new((0..CONFIGS).map(|i| config(&i.to_string())).collect());
        let failures = Arc::new(AtomicUsize::new(0));
        let (url, expected) = match workload.stream_chunks {
            Some(chunks) => (
                server.uri(&format!("/stream?chunks={chunks}")),
                Bytes::from(stream_bytes(chunks)),
            ),
            None => (server.uri("/"), Bytes::from_static(b"hello")),
        };
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..TASKS {
            let (clients, configs, failures, url, expected) = (
                clients.clone(),
                Arc::clone(&configs),
                Arc::clone(&failures),
                url.clone(),
                expected.clone(),
            );
            tasks.spawn(async move {
                for round in 0..workload.rounds {
                    let config = &configs[(t * 7 + round * 3) % CONFIGS];
                    let Ok(client) = K::get(&clients, config).await else {
                        failures.fetch_add(workload.per_hold, Ordering::Relaxed);
                        continue;
                    };
                    // Held while other tasks evict it.
                    for _ in 0..workload.per_hold {
                        let ok = K::send(&client, &url, &[])
                            .await
                            .is_ok_and(|reply| reply.status == 200 && reply.body == expected);
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
        let stats = K::stats(&clients);
        // Drop every client: the server must see every connection close
        // (nothing leaks). Bounded wait: 500 polls of 10 ms.
        K::invalidate_all(&clients);
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

/// Every request through the cache, capacity 2 for 10 configs and a 5 ms
/// time-to-idle: heavy eviction, no failures, bounded connections.
fn churn_has_no_failures_and_bounded_connections<K: Kind>() {
    let w = LOOKUP_PER_REQUEST;
    let r = churn::<K>(w, 2, Duration::from_millis(5));
    let built = usize::try_from(r.stats.inserts).unwrap();
    println!(
        "churn (capacity 2, tti 5ms): requests={} failures={} connections={} peak_open={} \
         open_after_drop={} clients_built={built} stats={:?}",
        r.requests, r.failures, r.connections, r.peak_open, r.open_after_drop, r.stats
    );
    assert_eq!(r.failures, 0, "no request may fail because of eviction");
    assert_eq!(r.requests, TASKS * w.rounds * w.per_hold);
    assert!(r.stats.evictions.total() > 0, "the load must churn: {:?}", r.stats);
    // Single flight: at most one client built per miss.
    assert!(r.stats.inserts <= r.stats.misses);
    // A client serves at most TASKS requests at once, so it opens at most
    // TASKS connections; and no more connections than requests.
    assert!(r.connections <= built * TASKS);
    assert!(r.connections <= r.requests);
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

/// The same load with room for every config and the default time-to-idle:
/// clients are reused, so connections stay near one per config (at most
/// TASKS each).
fn load_with_enough_capacity_reuses_clients<K: Kind>() {
    let w = LOOKUP_PER_REQUEST;
    let r = churn::<K>(w, CONFIGS as u64, K::DEFAULT_TIME_TO_IDLE);
    println!(
        "steady (capacity 10, tti 10min): requests={} failures={} connections={} peak_open={} \
         open_after_drop={} stats={:?}",
        r.requests, r.failures, r.connections, r.peak_open, r.open_after_drop, r.stats
    );
    assert_eq!(r.failures, 0);
    assert_eq!(r.requests, TASKS * w.rounds * w.per_hold);
    assert_eq!(r.stats.inserts, CONFIGS as u64, "one client per config (single flight)");
    assert_eq!(r.stats.evictions.total(), 0);
    assert!(r.connections <= CONFIGS * TASKS);
    assert_eq!(r.open_after_drop, 0);
}

/// The incident replayed: clients held for several streamed requests (read to
/// the end, compared byte for byte) while capacity 2 and a 5 ms time-to-idle
/// evict them: no failures, nothing leaked.
fn incident_replay_under_churn_has_no_failures<K: Kind>() {
    let w = HELD_STREAMING;
    let r = churn::<K>(w, 2, Duration::from_millis(5));
    let built = usize::try_from(r.stats.inserts).unwrap();
    println!(
        "held churn (capacity 2, tti 5ms): requests={} failures={} connections={} open_after_drop={} \
         clients_built={built} stats={:?}",
        r.requests, r.failures, r.connections, r.open_after_drop, r.stats
    );
    assert_eq!(r.failures, 0, "no request may fail because of eviction");
    assert_eq!(r.requests, TASKS * w.rounds * w.per_hold);
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

/// Held clients with room for every config: one client per config,
/// connections reused.
fn steady_load_reuses_clients_and_connections<K: Kind>() {
    let w = HELD_STREAMING;
    let r = churn::<K>(w, CONFIGS as u64, K::DEFAULT_TIME_TO_IDLE);
    println!(
        "held steady (capacity 10, tti 10min): requests={} failures={} connections={} stats={:?}",
        r.requests, r.failures, r.connections, r.stats
    );
    assert_eq!(r.failures, 0);
    assert_eq!(r.requests, TASKS * w.rounds * w.per_hold);
    assert_eq!(r.stats.inserts, CONFIGS as u64, "one client per config (single flight)");
    assert_eq!(r.stats.evictions.total(), 0);
    assert!(r.connections <= CONFIGS * TASKS);
    assert_eq!(r.open_after_drop, 0);
}

/// TLS roots from the config: the server's CA trusted -> h2 over ALPN on one
/// connection, or HTTP/1.1 when the config says so; untrusted -> a typed
/// failure.
async fn tls_through_the_cache<K: Kind>() {
    let server = CountingServer::start_tls().await.unwrap();
    let clients = K::new().unwrap();
    let trusted = HttpClientConfig::builder()
        .add_root_certificate_der(server.ca_cert_der().unwrap())
        .build()
        .unwrap();
    let client = K::get(&clients, &trusted).await.unwrap();
    for _ in 0..3 {
        let reply = K::send(&client, &server.uri("/"), &[]).await.unwrap();
        assert_eq!(reply.version, Version::HTTP_2, "ALPN should pick h2");
        assert_eq!(reply.body.as_ref(), b"hello");
    }
    assert_eq!(server.connections(), 1);

    let http1 = HttpClientConfig::builder()
        .webpki_roots(false)
        .add_root_certificate_pem(server.ca_cert_pem().unwrap())
        .http1_only()
        .build()
        .unwrap();
    let client = K::get(&clients, &http1).await.unwrap();
    let reply = K::send(&client, &server.uri("/"), &[]).await.unwrap();
    assert_eq!(reply.version, Version::HTTP_11);
    assert_eq!(reply.body.as_ref(), b"hello");

    let untrusted = K::get(&clients, &HttpClientConfig::default()).await.unwrap();
    let failure = K::send(&untrusted, &server.uri("/"), &[]).await.unwrap_err();
    assert_eq!(failure, K::UNTRUSTED);
    assert_eq!(K::len(&clients), 3);
}

/// Plain HTTP/2 with prior knowledge from the config: one connection.
async fn http2_prior_knowledge_from_the_config<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let config = HttpClientConfig::builder().http2_only().build().unwrap();
    let client = K::get(&clients, &config).await.unwrap();
    for _ in 0..3 {
        let reply = K::send(&client, &server.uri("/"), &[]).await.unwrap();
        assert_eq!(reply.version, Version::HTTP_2);
        assert_eq!(reply.body.as_ref(), b"hello");
    }
    assert_eq!(server.connections(), 1);
}

/// Default headers are sent; the request's own value wins; secrets in the
/// key never show in the Debug of the config, the client, the cache or its
/// stats.
async fn default_headers_sent_and_secrets_redacted<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let config = HttpClientConfig::builder()
        .header("authorization", "Bearer SECRET-1")
        .header("x-api-key", "SECRET-2")
        .header("x-override", "default")
        .header("user-agent", "tenure-test")
        .header("x-multi", "a")
        .header("x-multi", "b")
        .header("cookie", "c1=1")
        .header("cookie", "c2=2")
        .build()
        .unwrap();
    let client = K::get(&clients, &config).await.unwrap();
    let reply = K::send(&client, &server.uri("/headers"), &[("x-override", "mine")])
        .await
        .unwrap();
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    // A repeated name sends every value, in order: as field lines of their
    // own (hyper), or as one (reqwest keeps one value per default header).
    let values = |name: &str, separator: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix(name))
            .flat_map(|value| value.split(separator).map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    assert_eq!(values("x-multi: ", ", "), ["a", "b"], "{text}");
    assert_eq!(values("cookie: ", "; "), ["c1=1", "c2=2"], "{text}");
    assert!(text.contains("authorization: Bearer SECRET-1\n"), "sent");
    assert!(text.contains("x-api-key: SECRET-2\n"), "sent");
    assert!(text.contains("user-agent: tenure-test\n"));
    assert!(text.contains("x-override: mine\n"));
    assert!(!text.contains("x-override: default"));

    for shown in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{clients:?}"),
        format!("{:?}", K::stats(&clients)),
    ] {
        assert!(!shown.contains("SECRET"), "leaked in {shown}");
    }
}

/// Runtimes get different clients; a shut-down runtime's client is never
/// served to the next runtime, whose client works.
fn clients_are_scoped_by_runtime<K: Kind>() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt.block_on(CountingServer::start()).unwrap();
    let uri = server.uri("/");
    let clients = K::new().unwrap();
    let config_a = config("a");

    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let get = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            let client = K::get(&clients, &config_a).await.unwrap();
            let reply = K::send(&client, &uri, &[]).await.unwrap();
            assert_eq!(reply.body.as_ref(), b"hello");
            client
        })
    };

    let (rt1, rt2) = (runtime(), runtime());
    let c1 = get(&rt1);
    let c2 = get(&rt2);
    assert!(!Shared::ptr_eq(&c1, &c2));
    assert!(Shared::ptr_eq(&c1, &get(&rt1)), "same runtime, same client");
    assert!(Shared::ptr_eq(&c2, &get(&rt2)), "same runtime, same client");

    drop(rt1);
    // Several new runtimes, none served rt1's client. (tokio takes runtime ids
    // from a global counter, so none reuses rt1's id here; the reused-id case
    // is forced in tenure-pool's unit test
    // `a_reused_runtime_id_never_gets_the_dead_runtimes_entry`.)
    for _ in 0..5 {
        let rt = runtime();
        let c = get(&rt);
        assert!(!Shared::ptr_eq(&c, &c1), "a dead runtime's client was served");
        drop(c);
        drop(rt);
    }
    // rt2's client is still its own.
    assert!(Shared::ptr_eq(&c2, &get(&rt2)));
    drop(server);
}

/// Bad settings and bad requests are typed errors; after shutdown the cache
/// refuses with a typed error, and clients handed out before keep working.
async fn bad_input_through_the_cache<K: Kind>() {
    let e = K::build(Settings::new().max_capacity(0)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("max_capacity"), "{e}");
    let e = K::build(Settings::new().time_to_idle(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("time_to_idle"), "{e}");

    let clients = K::new().unwrap();
    let client = K::get(&clients, &HttpClientConfig::default()).await.unwrap();
    let failure = K::send(&client, "no scheme", &[]).await.unwrap_err();
    assert_eq!(failure, Failure::InvalidRequest);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let failure = K::send(&client, &format!("http://{addr}/"), &[]).await.unwrap_err();
    assert_eq!(failure, Failure::Connect);

    let report = K::shutdown_within(&clients, Duration::from_secs(5)).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(K::is_empty(&clients));
    let e = K::get(&clients, &HttpClientConfig::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ShutDown, "{e}");
    // Shutdown closed nothing: the client obtained before it still works.
    let server = CountingServer::start().await.unwrap();
    assert_works::<K>(&client, &server, 2).await;
}

/// Outside any tokio runtime, the cache gives a typed error, not a panic.
fn outside_a_runtime_is_a_typed_error<K: Kind>() {
    let clients = K::new().unwrap();
    let config = HttpClientConfig::default();
    let mut future = std::pin::pin!(K::get(&clients, &config));
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
async fn listener_entry_count_alias_and_shutdown<K: Kind>() {
    type Seen<C> = Arc<Mutex<Vec<(HttpClientConfig, Shared<C>, RemovalCause)>>>;

    let server = CountingServer::start().await.unwrap();
    let seen: Seen<K::Client> = Arc::default();
    let sink = Arc::clone(&seen);
    let clients = K::build(Settings::<K::Client>::new().max_capacity(1).eviction_listener(
        move |config, client, cause| {
            sink.lock()
                .expect("listener lock")
                .push((config.clone(), client.clone(), cause));
        },
    ))
    .unwrap();
    let (config_a, config_b) = (config("a"), config("b"));
    let last_seen = || {
        let seen = seen.lock().unwrap();
        seen.last()
            .map(|(config, client, cause)| (config.clone(), client.clone(), *cause))
    };

    let a = K::get(&clients, &config_a).await.unwrap();
    assert!(Shared::ptr_eq(
        &a,
        &K::get_async_http_client(&clients, &config_a).await.unwrap()
    ));
    assert_eq!((K::len(&clients), K::entry_count(&clients)), (1, 1));
    let b = K::get(&clients, &config_b).await.unwrap();
    assert_eq!((K::len(&clients), K::entry_count(&clients)), (1, 1));
    assert_eq!(seen.lock().unwrap().len(), 1);
    let (config, client, cause) = last_seen().expect("A's eviction");
    assert_eq!((config, cause), (config_a.clone(), RemovalCause::Capacity));
    assert!(Shared::ptr_eq(&client, &a), "the listener sees the very client");

    let report = K::shutdown_within(&clients, Duration::from_secs(5)).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(report.pending.is_empty());
    assert_eq!(K::entry_count(&clients), 0);
    assert_eq!(seen.lock().unwrap().len(), 2);
    let (config, client, cause) = last_seen().expect("B's removal");
    assert_eq!((config, cause), (config_b.clone(), RemovalCause::Explicit));
    assert!(Shared::ptr_eq(&client, &b));
    let e = K::get(&clients, &config_a).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ShutDown, "{e}");
    // Shutdown closed nothing: both clients still send requests.
    assert_works::<K>(&a, &server, 2).await;
    assert_works::<K>(&b, &server, 2).await;
    // A second shutdown is safe.
    assert!(K::shutdown(&clients).await.is_complete());
}

/// A config with this request timeout (and defaults otherwise).
fn with_request_timeout(timeout: Duration) -> HttpClientConfig {
    HttpClientConfig::builder()
        .request_timeout(timeout)
        .build()
        .expect("valid config")
}

/// A head that comes after the request timeout is a timeout (paused time: the
/// runtime jumps to the client's 1 s timeout while the server sleeps 10 s);
/// the client works afterwards.
async fn request_timeout_covers_a_slow_head<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let client = K::get(&clients, &with_request_timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    let failure = K::send(&client, &server.uri("/delay?ms=10000"), &[]).await.unwrap_err();
    assert_eq!(failure, Failure::Timeout);
    let reply = K::send(&client, &server.uri("/delay?ms=10"), &[]).await.unwrap();
    assert_eq!(reply.body.as_ref(), b"ok");
}

/// A body that outlasts the request timeout, read in full (`get_bytes` for
/// the hyper-util client, `bytes()` for reqwest), is a timeout: the head
/// arrives at once, then `/stream?chunks=4096` takes 4096 sleeps of 1 ms of
/// paused time, far beyond the 1 s timeout.
async fn request_timeout_covers_a_slow_body_read_in_full<K: Kind>() {
    let server = CountingServer::start().await.unwrap();
    let clients = K::new().unwrap();
    let client = K::get(&clients, &with_request_timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    let url = server.uri("/stream?chunks=4096");
    // The head alone comes within the timeout: what times out is the body.
    let mut head_only = K::open(&client, &url).await.expect("the head within the timeout");
    assert!(head_only.next_chunk().await.is_some());
    drop(head_only);
    let failure = K::send(&client, &url, &[]).await.unwrap_err();
    assert_eq!(failure, Failure::Timeout);
}

/// The connect timeout applies: against a full backlog, a 1 s connect timeout
/// fires while the request timeout is an hour away. Paused time: the runtime
/// jumps to the next timer when idle, so the 600 s guard fires first if the
/// connect timeout is not set.
async fn connect_timeout_against_a_full_backlog<K: Kind>() {
    let hole = tenure_test_support::FullBacklog::start().unwrap();
    let clients = K::new().unwrap();
    let config = HttpClientConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let client = K::get(&clients, &config).await.unwrap();
    let failure = tokio::time::timeout(
        Duration::from_secs(600),
        K::send(&client, &format!("http://{}/", hole.addr()), &[]),
    )
    .await
    .expect("the connect timeout should fire long before the 600 s guard")
    .unwrap_err();
    assert_eq!(failure, Failure::Timeout);
    drop(hole);
}

/// Answers one request on a raw loopback socket with a minimal HTTP/1.1
/// response, and returns the request head as it came on the wire.
async fn request_head_on_the_wire<K: Kind>(client: &K::Client) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        // Bounded: at most 64 reads.
        for _ in 0..64 {
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
            .await
            .unwrap();
        String::from_utf8(head).unwrap()
    });
    let reply = K::send(client, &url, &[("x-request-header", "r")]).await.unwrap();
    assert_eq!(reply.body.as_ref(), b"hello");
    server.await.unwrap()
}

/// `http1_title_case_headers` writes header names in title case on the wire,
/// default headers and the request's own alike; off (the default), they go
/// lowercase.
async fn http1_title_case_headers_on_the_wire<K: Kind>() {
    let clients = K::new().unwrap();
    for title_case in [true, false] {
        let config = HttpClientConfig::builder()
            .header("x-default-header", "d")
            .http1_title_case_headers(title_case)
            .build()
            .unwrap();
        let client = K::get(&clients, &config).await.unwrap();
        let head = request_head_on_the_wire::<K>(&client).await;
        let (shown, hidden) = if title_case {
            (
                ["X-Default-Header: d", "X-Request-Header: r", "Host: "],
                "x-default-header",
            )
        } else {
            (
                ["x-default-header: d", "x-request-header: r", "host: "],
                "X-Default-Header",
            )
        };
        for line in shown {
            assert!(
                head.contains(&format!("\r\n{line}")),
                "title case {title_case}: {head:?}"
            );
        }
        assert!(!head.contains(hidden), "title case {title_case}: {head:?}");
    }
}

// ---- Behaviours only one kind has.

/// A hyper-util `HttpClient` has an id and knows its runtime: clients of
/// different runtimes differ, and a shut-down runtime's client says so.
#[test]
fn hyper_client_ids_and_runtime_liveness() {
    let clients = HttpClients::new().unwrap();
    let config_a = config("a");
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let get = |rt: &tokio::runtime::Runtime| rt.block_on(clients.get(&config_a)).unwrap();
    let (rt1, rt2) = (runtime(), runtime());
    let c1 = get(&rt1);
    let c2 = get(&rt2);
    assert_ne!(c1.id(), c2.id());
    assert!(c1.is_runtime_alive());
    drop(rt1);
    assert!(!c1.is_runtime_alive());
    for _ in 0..5 {
        let rt = runtime();
        let c = get(&rt);
        assert_ne!(c.id(), c1.id());
        assert!(c.is_runtime_alive());
        drop(c);
        drop(rt);
    }
    assert!(c2.is_runtime_alive());
}

/// reqwest: the config's proxy is used, with its credentials as a
/// `Proxy-Authorization` header (the `CountingServer` plays the forward proxy
/// for a host that does not exist: `.invalid`, never resolved, since the proxy
/// gets the request), and never shows in any Debug; the hyper-util client
/// refuses a proxy config with a typed error.
#[cfg(feature = "reqwest")]
#[tokio::test]
async fn proxy_from_the_config_with_credentials() {
    let proxy = CountingServer::start().await.unwrap();
    let clients = tenure_http::ReqwestClients::new().unwrap();
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

    let plain = HttpClientConfig::builder()
        .header("authorization", "Bearer SECRET-1")
        .build()
        .unwrap();
    for shown in [
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{clients:?}"),
        format!("{:?}", config.reqwest_builder().unwrap()),
        format!("{:?}", plain.reqwest_builder().unwrap()),
    ] {
        assert!(!shown.contains("SECRET"), "leaked in {shown}");
        assert!(!shown.contains("proxy-user"), "leaked in {shown}");
    }

    // The hyper-util client refuses a proxy config with a typed error.
    let e = HttpClient::new(&config).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("proxy"), "{e}");
    assert!(!format!("{e} {e:?}").contains("SECRET"));
}

/// reqwest: with a secret default header, a redirect to another origin is not
/// followed (reqwest would strip only `authorization`, `cookie` and
/// `proxy-authorization`, so an `x-api-key` would reach the other server): the
/// `302` comes back to the caller and the other server sees no request. A
/// redirect within the origin is followed, and so is any redirect for a config
/// without secrets; no `Referer` is ever sent.
#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_keeps_secret_headers_from_other_origins_on_redirects() {
    let first = CountingServer::start().await.unwrap();
    let other = CountingServer::start().await.unwrap();
    let clients = tenure_http::ReqwestClients::new().unwrap();
    let secret = HttpClientConfig::builder()
        .header("x-api-key", "SK-NEVER-ELSEWHERE")
        .build()
        .unwrap();
    let client = clients.get(&secret).await.unwrap();

    let to_other = first.uri(&format!("/redirect?to={}", other.addr().port()));
    let response = client.get(&to_other).send().await.unwrap();
    assert_eq!(response.status(), 302, "not followed to another origin");
    assert_eq!(other.requests(), 0);

    let to_same = first.uri(&format!("/redirect?to={}", first.addr().port()));
    let text = client.get(&to_same).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("x-api-key: SK-NEVER-ELSEWHERE\n"),
        "followed within the origin"
    );
    assert!(!text.contains("referer"), "{text}");

    let plain = HttpClientConfig::builder().header("x-trace", "1").build().unwrap();
    let client = clients.get(&plain).await.unwrap();
    let text = client.get(&to_other).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("x-trace: 1\n"), "followed: no secret to keep");
    assert!(!text.contains("referer"), "{text}");
    assert_eq!(other.requests(), 1);
}
