//! The incident, replayed: the same traffic through a cache that closes what it
//! evicts, then through tenure.
//!
//! In February 2026 an LLM proxy (LiteLLM) changed its client cache (200
//! entries, 10-minute TTL) to close every value it evicted. That was right for
//! the Redis pools the cache had created, and wrong for the HTTP clients that
//! routers had fetched from it and still held: once the cache closed one, the
//! requests sent through it failed with connection errors, for six days.
//!
//! This example squeezes hours of that churn into seconds. Tasks play the
//! routers: each fetches a per-tenant HTTP client from a cache (capacity 2, idle
//! expiry 5 ms, 10 tenants, so clients are evicted constantly), keeps it for
//! four requests to an in-process hyper server, some of them streaming, while
//! other tasks' lookups evict it. It runs this twice:
//!
//! 1. through the incident's cache, built here from plain parts: a map whose
//!    eviction closes the client it removes (the pool's connections are torn
//!    down), as the incident's `_remove_key` called `aclose()`;
//! 2. through tenure: a `ClientCache` of `Shared<HttpClient>` (tenure-http's
//!    client, as `HttpClients` caches it), keyed by tenant and scoped by
//!    runtime, whose eviction listener records the clients it evicts; evicting
//!    one only drops the cache's reference.
//!
//! Both runs count the requests sent through a client that the cache had
//! already evicted, and how many failed. Then the Redis half: pools the cache
//! creates are `Owned`, closed after their last lease, and a private
//! `redis-server` counts the connections before, during and after.
//!
//! It exits non-zero if a request through tenure failed, a connection leaked,
//! or the Redis half did not run (pass `--skip-redis` to run without it).
//!
//! ```text
//! cargo run --release --example incident --features full
//! cargo run --release --example incident --features full -- --help
//! ```

use std::{
    collections::{HashMap, HashSet},
    env,
    error::Error as StdError,
    fmt::Write as _,
    future::Future,
    process::ExitCode,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Empty};
use tenure::http::{
    HttpClient, HttpClientConfig,
    hyper::{self, body::Bytes},
    hyper_util::client::legacy::{Client as HyperClient, connect::HttpConnector},
};
use tenure::redis::{RedisClients, RedisConfig, deadpool_redis::redis::AsyncCommands};
use tenure::test_util::{
    CountingServer, RedisServer,
    http_server::stream_bytes,
    redis_server::{missing_server_hint, redis_server_available},
};
use tenure::{ClientCache, Shared};

const USAGE: &str = "\
Replays the client-cache incident (an LLM proxy's cache closed the HTTP clients
it evicted while routers still used them) through a cache that closes what it
evicts, then through tenure, and reports the failures each causes.

Usage: cargo run --release --example incident --features full -- [OPTIONS]

Options (every loop is bounded by both a count and the time limit):
  --tasks N      concurrent tasks playing the routers, at most 4096 [default: 32]
  --requests N   HTTP requests per run                              [default: 20000]
  --tenants N    distinct client configurations, at most 4096       [default: 10]
  --capacity N   cache capacity, in clients, at most 1048576        [default: 2]
  --idle-ms N    idle expiry of a cached client, in milliseconds    [default: 5]
  --seconds N    time limit of each run, at most 600                [default: 40]
  --redis-ops N  Redis commands in the Redis half                   [default: 4000]
  --skip-redis   do not run the Redis half (needs redis-server); exit 0 without it
  -h, --help     print this help

Exits 0 only if no request through tenure failed, no connection leaked, and the
Redis half ran (or --skip-redis was given).";

/// The size of the run.
#[derive(Debug, Clone)]
struct Settings {
    tasks: usize,
    requests: u64,
    tenants: usize,
    capacity: u64,
    idle_ms: u64,
    seconds: u64,
    redis_ops: u64,
    skip_redis: bool,
}

impl Settings {
    /// `Ok(None)` for `--help`.
    fn from_args(args: impl Iterator<Item = String>) -> Result<Option<Self>, String> {
        let mut settings = Self {
            tasks: 32,
            requests: 20_000,
            tenants: 10,
            capacity: 2,
            idle_ms: 5,
            seconds: 40,
            redis_ops: 4_000,
            skip_redis: false,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--skip-redis" => {
                    settings.skip_redis = true;
                    continue;
                }
                "--tasks" | "--requests" | "--tenants" | "--configs" | "--capacity" | "--idle-ms" | "--seconds"
                | "--redis-ops" => {}
                _ => return Err(format!("unknown option `{flag}`")),
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number: u64 = value
                .parse()
                .map_err(|error: std::num::ParseIntError| match error.kind() {
                    std::num::IntErrorKind::PosOverflow => format!("{flag}: `{value}` is too large"),
                    _ => format!("{flag}: `{value}` is not a whole number"),
                })?;
            if number == 0 {
                return Err(format!("{flag} must be at least 1"));
            }
            let at_most = |max: u64| {
                if number > max {
                    Err(format!("{flag} must be at most {max}"))
                } else {
                    Ok(number)
                }
            };
            let small = |max: u64| at_most(max).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            match flag.as_str() {
                "--tasks" => settings.tasks = small(4096)?,
                "--requests" => settings.requests = number,
                // `--configs` is the old name of `--tenants`.
                "--tenants" | "--configs" => settings.tenants = small(4096)?,
                // The largest `max_capacity` a tenure cache takes.
                "--capacity" => settings.capacity = at_most(1 << 20)?,
                "--idle-ms" => settings.idle_ms = number,
                "--seconds" => settings.seconds = at_most(600)?,
                _ => settings.redis_ops = number,
            }
        }
        Ok(Some(settings))
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let settings = match Settings::from_args(env::args().skip(1)) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("incident: {message} (see --help)");
            return ExitCode::from(2);
        }
    };
    let redis_available = redis_server_available();
    if !settings.skip_redis && !redis_available {
        eprintln!(
            "incident: the Redis half cannot run: {}. \
             The HTTP half runs now; the exit status will be 1 (use --skip-redis to run without Redis).",
            missing_server_hint()
        );
    }
    introduce(&settings);

    println!("\n== 1. The incident's cache: evicting a client closes it");
    let closing = match http_run(&settings, ClosingCache::new(&settings)).await {
        Ok(run) => run,
        Err(error) => {
            eprintln!("the closing-cache run could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    closing.print();

    println!("\n== 2. tenure: the same traffic, clients cached as Shared<HttpClient>");
    let tenure = match tenure_http_run(&settings).await {
        Ok(run) => run,
        Err(error) => {
            eprintln!("the tenure run could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    tenure.run.print();
    tenure.print_connections();

    let redis = if settings.skip_redis {
        RedisOutcome::Skipped
    } else if !redis_available {
        RedisOutcome::Missing
    } else {
        println!("\n== 3. tenure: Redis pools cached as Owned<RedisPool>, closed after their last lease");
        match redis_half(&settings).await {
            Ok(report) => {
                report.print();
                RedisOutcome::Ran(report)
            }
            Err(error) => {
                eprintln!("the Redis half could not run: {error}");
                RedisOutcome::Failed
            }
        }
    };

    summarize(&closing, &tenure, &redis)
}

fn introduce(settings: &Settings) {
    println!("tenure: the client-cache incident, replayed");
    println!();
    println!("In the incident, an LLM proxy's client cache (200 entries, 10-minute TTL) was changed");
    println!("to close every value it evicted: right for the Redis pools it owned, wrong for the HTTP");
    println!("clients that routers had fetched from it and still held. Requests through them failed");
    println!("with connection errors for six days.");
    println!();
    println!(
        "Here {} tasks play the routers: each fetches the client of one of {} tenants from a cache",
        settings.tasks, settings.tenants
    );
    println!(
        "of capacity {} with a {} ms idle expiry, and keeps it for 4 requests (some streaming) to an",
        settings.capacity, settings.idle_ms
    );
    println!("in-process hyper server while other tasks' lookups evict it: hours of churn in seconds.");
    println!(
        "Each run sends {} requests or stops after {} s, whichever comes first; the same traffic",
        settings.requests, settings.seconds
    );
    println!("goes first through a cache that closes what it evicts, then through tenure.");
}

// ---------------------------------------------------------------------------
// The workload, common to both HTTP runs.

/// A client as the workload uses it.
trait RouterClient: Send + Sync + 'static {
    /// Unique among the clients of a run.
    fn id(&self) -> u64;
    fn fetch(&self, uri: &str) -> impl Future<Output = Result<Bytes, String>> + Send;
}

/// A cache of clients as the workload uses it.
trait RouterCache: Clone + Send + Sync + 'static {
    type Client: RouterClient;
    fn client(&self, tenant: usize) -> impl Future<Output = Result<Self::Client, String>> + Send;
    /// Whether the client with this id has left the cache (evicted or expired).
    fn evicted(&self, id: u64) -> bool;
    /// How many clients the cache created.
    fn created(&self) -> u64;
    /// How many clients the cache closed.
    fn closed(&self) -> u64;
}

/// What one HTTP run measured.
#[derive(Debug, Default)]
struct HttpRun {
    sent: u64,
    failed: u64,
    /// Requests sent through a client after the cache had evicted it (or let it
    /// expire): the cache no longer held it, the router still did.
    through_evicted: u64,
    /// Failed requests whose client the cache had evicted before or during them.
    failed_through_evicted: u64,
    streamed_bytes: u64,
    clients_created: u64,
    clients_closed: u64,
    elapsed: Duration,
    /// A few distinct failure messages.
    samples: Vec<String>,
}

impl HttpRun {
    fn print(&self) {
        let rate = self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9);
        println!(
            "requests sent                  {:>8}   in {:.1} s ({rate:.0}/s)",
            self.sent,
            self.elapsed.as_secs_f64()
        );
        println!(
            "  through an evicted client    {:>8}   (one the cache had already evicted or expired)",
            self.through_evicted
        );
        println!("  failed                       {:>8}", self.failed);
        println!(
            "    client evicted before or during the request {}, never evicted {}",
            self.failed_through_evicted,
            self.failed - self.failed_through_evicted
        );
        println!("streamed bodies verified       {:>8} bytes", self.streamed_bytes);
        println!("clients created                {:>8}", self.clients_created);
        println!("clients closed by the cache    {:>8}", self.clients_closed);
        for sample in &self.samples {
            println!("  e.g. {sample}");
        }
    }
}

struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    through_evicted: AtomicU64,
    failed_through_evicted: AtomicU64,
    streamed_bytes: AtomicU64,
    samples: Mutex<Vec<String>>,
}

impl Counters {
    fn fail(&self, evicted: bool, message: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if evicted {
            self.failed_through_evicted.fetch_add(1, Ordering::Relaxed);
        }
        let mut samples = self.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if samples.len() < 3 && !samples.contains(&message) {
            samples.push(message);
        }
    }
}

/// Runs the routers' traffic through `cache` against a fresh in-process server.
async fn http_run<C: RouterCache>(settings: &Settings, cache: C) -> Result<HttpRun, Box<dyn StdError>> {
    let server = CountingServer::start().await?;
    let (run, _) = drive(settings, cache, &server).await?;
    server.shutdown().await;
    Ok(run)
}

/// How long one request may take before it counts as failed (a request through
/// a client the incident's cache closed can hang instead of failing).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

async fn drive<C: RouterCache>(
    settings: &Settings,
    cache: C,
    server: &CountingServer,
) -> Result<(HttpRun, C), Box<dyn StdError>> {
    let counters = Arc::new(Counters {
        sent: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        through_evicted: AtomicU64::new(0),
        failed_through_evicted: AtomicU64::new(0),
        streamed_bytes: AtomicU64::new(0),
        samples: Mutex::new(Vec::new()),
    });
    let plain = server.uri("/");
    let stream = server.uri("/stream?chunks=64");
    let expected_stream = Bytes::from(stream_bytes(64));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(settings.seconds);

    let tasks: Vec<_> = (0..settings.tasks)
        .map(|task| {
            let (cache, counters) = (cache.clone(), Arc::clone(&counters));
            let (plain, stream, expected_stream) = (plain.clone(), stream.clone(), expected_stream.clone());
            let (budget, tenants) = (settings.requests, settings.tenants);
            tokio::spawn(async move {
                let mut round = task;
                while Instant::now() < deadline {
                    let tenant = round % tenants;
                    round += 1;
                    // Like a router: fetch a client, then keep it for a few requests
                    // while other tasks' lookups evict it.
                    let client = match cache.client(tenant).await {
                        Ok(client) => client,
                        Err(error) => {
                            counters.fail(false, format!("lookup failed: {error}"));
                            continue;
                        }
                    };
                    let id = client.id();
                    for request in 0..4 {
                        if counters.sent.fetch_add(1, Ordering::Relaxed) >= budget {
                            counters.sent.fetch_sub(1, Ordering::Relaxed);
                            return;
                        }
                        let evicted = cache.evicted(id);
                        if evicted {
                            counters.through_evicted.fetch_add(1, Ordering::Relaxed);
                        }
                        let streaming = request == 3 && round % 8 == 0;
                        let uri = if streaming { &stream } else { &plain };
                        // Bounded: a request through a closed client normally fails
                        // at once, but one was seen to hang (its connection dropped
                        // undriven mid-handshake); a hang counts as a failure.
                        let fetched = tokio::time::timeout(REQUEST_TIMEOUT, client.fetch(uri))
                            .await
                            .unwrap_or_else(|_| Err(format!("no response within {REQUEST_TIMEOUT:?}")));
                        let failure = match fetched {
                            Ok(body) if streaming && body != expected_stream => {
                                Some("a streamed body arrived corrupted".to_owned())
                            }
                            Ok(body) => {
                                if streaming {
                                    counters.streamed_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                                }
                                None
                            }
                            Err(error) => Some(error),
                        };
                        if let Some(message) = failure {
                            // Evicted before the request, or while it was in flight.
                            counters.fail(evicted || cache.evicted(id), message);
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let run = HttpRun {
        sent: counters.sent.load(Ordering::Relaxed),
        failed: counters.failed.load(Ordering::Relaxed),
        through_evicted: counters.through_evicted.load(Ordering::Relaxed),
        failed_through_evicted: counters.failed_through_evicted.load(Ordering::Relaxed),
        streamed_bytes: counters.streamed_bytes.load(Ordering::Relaxed),
        clients_created: cache.created(),
        clients_closed: cache.closed(),
        elapsed,
        samples: counters
            .samples
            .lock()
            .map(|samples| samples.clone())
            .unwrap_or_default(),
    };
    Ok((run, cache))
}

/// The ids of the clients that have left a cache.
#[derive(Clone, Default)]
struct Evicted(Arc<Mutex<HashSet<u64>>>);

impl Evicted {
    fn record(&self, id: u64) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id);
    }

    fn contains(&self, id: u64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&id)
    }
}

// ---------------------------------------------------------------------------
// Run 1: the incident's cache, from plain parts.

/// The incident's HTTP client, from plain parts: a hyper client whose connection
/// tasks it keeps, and a `close()` like httpx's `aclose()`: it shuts the pool, so
/// every open connection is torn down (its task aborted, its socket closed) and
/// connections made afterwards are never driven, as on a runtime that has shut
/// down. A request through a closed client then fails inside hyper.
#[derive(Clone)]
struct ClosableClient {
    id: u64,
    hyper: HyperClient<HttpConnector, Empty<Bytes>>,
    connections: ConnectionTasks,
}

/// The executor of one client's connection tasks.
#[derive(Clone, Default)]
struct ConnectionTasks(Arc<Mutex<TaskState>>);

#[derive(Default)]
struct TaskState {
    closed: bool,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl<F> hyper::rt::Executor<F> for ConnectionTasks
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, connection: F) {
        let mut state = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.closed {
            // Dropped undriven, as a closed pool's would be: requests on it fail.
            return;
        }
        state.tasks.retain(|task| !task.is_finished());
        state.tasks.push(tokio::spawn(connection).abort_handle());
    }
}

impl ClosableClient {
    fn new(id: u64) -> Self {
        let connections = ConnectionTasks::default();
        let hyper = HyperClient::builder(connections.clone()).build_http();
        Self { id, hyper, connections }
    }

    /// Shuts the pool: what the incident's cache did to every client it evicted.
    fn close(&self) {
        let mut state = self
            .connections
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.closed = true;
        for task in state.tasks.drain(..) {
            task.abort();
        }
    }
}

impl RouterClient for ClosableClient {
    fn id(&self) -> u64 {
        self.id
    }

    async fn fetch(&self, uri: &str) -> Result<Bytes, String> {
        let uri: hyper::Uri = uri.parse().map_err(|error| format!("bad uri: {error}"))?;
        let response = self.hyper.get(uri).await.map_err(|error| chain(&error))?;
        let body = response.into_body().collect().await.map_err(|error| chain(&error))?;
        Ok(body.to_bytes())
    }
}

/// The incident's cache, from plain parts: a map with a capacity and an idle
/// expiry whose every removal closes the client it removes, in a spawned task,
/// as the incident's `_remove_key` did with `create_task(aclose())`. Expired
/// entries are removed on read; a full cache evicts the least recently used.
#[derive(Clone)]
struct ClosingCache {
    entries: Arc<Mutex<HashMap<usize, (ClosableClient, Instant)>>>,
    capacity: usize,
    idle: Duration,
    next_id: Arc<AtomicU64>,
    evicted: Evicted,
    closed: Arc<AtomicU64>,
}

impl ClosingCache {
    fn new(settings: &Settings) -> Self {
        Self {
            entries: Arc::default(),
            capacity: usize::try_from(settings.capacity).unwrap_or(usize::MAX),
            idle: Duration::from_millis(settings.idle_ms),
            next_id: Arc::new(AtomicU64::new(1)),
            evicted: Evicted::default(),
            closed: Arc::default(),
        }
    }

    fn remove_and_close(&self, client: ClosableClient) {
        self.evicted.record(client.id);
        let closed = Arc::clone(&self.closed);
        drop(tokio::spawn(async move {
            client.close();
            closed.fetch_add(1, Ordering::Relaxed);
        }));
    }
}

impl RouterCache for ClosingCache {
    type Client = ClosableClient;

    async fn client(&self, tenant: usize) -> Result<ClosableClient, String> {
        let now = Instant::now();
        let mut removed = Vec::new();
        let client = {
            let mut entries = self.entries.lock().map_err(|_| "cache lock poisoned".to_owned())?;
            match entries.get_mut(&tenant) {
                Some((client, last_use)) if now.duration_since(*last_use) < self.idle => {
                    *last_use = now;
                    return Ok(client.clone());
                }
                Some(_) => removed.extend(entries.remove(&tenant).map(|(client, _)| client)),
                None => {}
            }
            while entries.len() >= self.capacity {
                let Some(victim) = entries
                    .iter()
                    .min_by_key(|(_, (_, last_use))| *last_use)
                    .map(|(k, _)| *k)
                else {
                    break;
                };
                removed.extend(entries.remove(&victim).map(|(client, _)| client));
            }
            let client = ClosableClient::new(self.next_id.fetch_add(1, Ordering::Relaxed));
            entries.insert(tenant, (client.clone(), now));
            client
        };
        for evicted in removed {
            self.remove_and_close(evicted);
        }
        Ok(client)
    }

    fn evicted(&self, id: u64) -> bool {
        self.evicted.contains(id)
    }

    fn created(&self) -> u64 {
        self.next_id.load(Ordering::Relaxed) - 1
    }

    fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------
// Run 2: tenure.

/// tenure's cache of tenure-http's `HttpClient`s, built as `HttpClients` builds
/// it (time-to-idle, no time-to-live, scoped by runtime) plus an eviction
/// listener, so the run knows exactly which clients have left the cache.
#[derive(Clone)]
struct TenureCache {
    clients: ClientCache<usize, Shared<HttpClient>>,
    configs: Arc<Vec<HttpClientConfig>>,
    evicted: Evicted,
}

impl RouterClient for Shared<HttpClient> {
    fn id(&self) -> u64 {
        HttpClient::id(self)
    }

    async fn fetch(&self, uri: &str) -> Result<Bytes, String> {
        self.get_bytes(uri)
            .await
            .map(|response| response.into_body())
            .map_err(|error| chain(&error))
    }
}

impl RouterCache for TenureCache {
    type Client = Shared<HttpClient>;

    async fn client(&self, tenant: usize) -> Result<Shared<HttpClient>, String> {
        let config = &self.configs[tenant];
        self.clients
            .get_or_try_insert_with(tenant, || async { HttpClient::new(config).map(Shared::new) })
            .await
            .map_err(|error| chain(&error))
    }

    fn evicted(&self, id: u64) -> bool {
        self.evicted.contains(id)
    }

    fn created(&self) -> u64 {
        self.clients.stats().inserts
    }

    fn closed(&self) -> u64 {
        self.clients.stats().closes
    }
}

struct TenureRun {
    run: HttpRun,
    connections: u64,
    peak_open: u64,
    open_after: u64,
}

impl TenureRun {
    fn print_connections(&self) {
        println!(
            "server connections             {:>8}   accepted; peak {} open at once, {} open once the clients are dropped",
            self.connections, self.peak_open, self.open_after
        );
    }

    fn ok(&self) -> bool {
        self.run.failed == 0 && self.run.sent > 0 && self.run.clients_closed == 0 && self.open_after == 0
    }
}

async fn tenure_http_run(settings: &Settings) -> Result<TenureRun, Box<dyn StdError>> {
    let server = CountingServer::start().await?;
    let evicted = Evicted::default();
    let recorder = evicted.clone();
    let clients = ClientCache::<usize, Shared<HttpClient>>::builder()
        .max_capacity(settings.capacity)
        .without_time_to_live()
        .time_to_idle(Duration::from_millis(settings.idle_ms))
        .scope_by_runtime()
        .eviction_listener(move |_tenant, client, _cause| recorder.record(client.id()))
        .build()?;
    // Tenants' configs differ only in an API key header.
    let configs = (0..settings.tenants)
        .map(|tenant| {
            HttpClientConfig::builder()
                .sensitive_header("x-api-key", format!("sk-tenant-{tenant}"))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cache = TenureCache {
        clients,
        configs: Arc::new(configs),
        evicted,
    };
    let (run, cache) = drive(settings, cache, &server).await?;
    let peak_open = server.peak_open_connections() as u64;
    drop(cache);
    // Clients dropped by the cache and by every task: their idle connections close.
    let open_after = settle(|| server.open_connections(), 0).await as u64;
    let connections = server.connections() as u64;
    server.shutdown().await;
    Ok(TenureRun {
        run,
        connections,
        peak_open,
        open_after,
    })
}

// ---------------------------------------------------------------------------
// Run 3: Redis, owned pools.

struct RedisReport {
    sent: u64,
    failed: u64,
    /// Pools the cache retired while the commands ran (capacity, expiry,
    /// replaced by a refresh).
    retired_running: u64,
    /// Pools the final shutdown retired.
    retired_at_shutdown: u64,
    /// Pools a refresh built after the pool they were to replace had left:
    /// retired at once, never used.
    refreshes_discarded: u64,
    /// Every one of the above, once its last lease is dropped.
    closed: u64,
    baseline: usize,
    peak: usize,
    after: usize,
    complete: bool,
}

impl RedisReport {
    fn print(&self) {
        println!("commands sent                  {:>8}", self.sent);
        println!("  failed                       {:>8}", self.failed);
        println!("pools retired during the run   {:>8}", self.retired_running);
        println!("pools retired at shutdown      {:>8}", self.retired_at_shutdown);
        println!("refresh pools discarded unused {:>8}", self.refreshes_discarded);
        println!("pools closed, after last lease {:>8}", self.closed);
        println!(
            "server connections             baseline {}, peak {}, after shutdown {}",
            self.baseline, self.peak, self.after
        );
    }

    fn ok(&self) -> bool {
        self.failed == 0 && self.sent > 0 && self.complete && self.after == self.baseline
    }
}

enum RedisOutcome {
    Ran(RedisReport),
    Skipped,
    Missing,
    Failed,
}

/// Owned Redis pools under constant eviction and expiry, closed after their last lease.
async fn redis_half(settings: &Settings) -> Result<RedisReport, Box<dyn StdError>> {
    let server = Arc::new(RedisServer::start()?);
    let baseline = server.client_count()?;
    let clients = RedisClients::builder()
        .max_capacity(2)
        .time_to_live(Duration::from_millis(settings.idle_ms))
        .build()?;
    let configs: Arc<Vec<RedisConfig>> = Arc::new(
        (0..8)
            .map(|db| {
                RedisConfig::builder(&server.url())
                    .database(db)
                    .max_connections(4)
                    .build()
            })
            .collect::<Result<_, _>>()?,
    );
    let ops = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicUsize::new(baseline));
    let running = Arc::new(AtomicBool::new(true));
    let deadline = Instant::now() + Duration::from_secs(settings.seconds);

    // Samples the server's connection count while the churn runs.
    let sampler = {
        let (server, peak, running) = (Arc::clone(&server), Arc::clone(&peak), Arc::clone(&running));
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok(count) = server.client_count() {
                    peak.fetch_max(count, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let (clients, configs, ops, failed) = (
                clients.clone(),
                Arc::clone(&configs),
                Arc::clone(&ops),
                Arc::clone(&failed),
            );
            let budget = settings.redis_ops;
            tokio::spawn(async move {
                let mut round = task;
                while Instant::now() < deadline && ops.fetch_add(1, Ordering::Relaxed) < budget {
                    round += 1;
                    let outcome = async {
                        let pool = clients.get(&configs[round % configs.len()]).await?;
                        let mut connection = pool.get().await?;
                        let n: i64 = connection.incr("incident:ops", 1).await?;
                        Ok::<_, Box<dyn StdError + Send + Sync>>(n)
                    }
                    .await;
                    if let Err(error) = outcome {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("redis command failed: {error}");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    running.store(false, Ordering::Relaxed);
    sampler.await?;
    let report = clients.shutdown().await;
    let after = settle(|| server.client_count().unwrap_or(usize::MAX), baseline).await;
    let stats = report.stats;
    Ok(RedisReport {
        sent: ops.load(Ordering::Relaxed).min(settings.redis_ops),
        failed: failed.load(Ordering::Relaxed),
        // Only the shutdown retires pools explicitly here (no `invalidate`),
        // and only it refuses inserts.
        retired_running: stats.evictions.total() - stats.evictions.explicit,
        retired_at_shutdown: stats.evictions.explicit + stats.inserts_refused,
        refreshes_discarded: stats.refreshes_discarded,
        closed: stats.closes,
        baseline,
        peak: peak.load(Ordering::Relaxed),
        after,
        complete: report.is_complete(),
    })
}

// ---------------------------------------------------------------------------
// The summary.

fn summarize(closing: &HttpRun, tenure: &TenureRun, redis: &RedisOutcome) -> ExitCode {
    let t = &tenure.run;
    println!("\n== Summary");
    println!("                                 closing cache      tenure");
    println!("requests sent                    {:>13} {:>11}", closing.sent, t.sent);
    println!(
        "  through an evicted client      {:>13} {:>11}",
        closing.through_evicted, t.through_evicted
    );
    println!(
        "  failed                         {:>13} {:>11}",
        closing.failed, t.failed
    );
    println!(
        "clients closed by the cache      {:>13} {:>11}",
        closing.clients_closed, t.clients_closed
    );
    println!();

    let mut verdict = String::new();
    if closing.failed > 0 {
        let _ = writeln!(
            verdict,
            "The closing cache broke {} requests: clients closed under the routers that held them.",
            closing.failed
        );
    } else {
        let _ = writeln!(
            verdict,
            "Note: the closing cache broke no request this time; the churn was too small to show it \
             (try more --requests or --tasks)."
        );
    }
    let http_ok = tenure.ok();
    if http_ok {
        let _ = writeln!(
            verdict,
            "tenure: 0 of {} requests failed, {} of them through clients the cache had already evicted; \
             no client closed, no connection left open.",
            t.sent, t.through_evicted
        );
    } else {
        let _ = writeln!(
            verdict,
            "tenure: FAILED: {} of {} requests failed, {} clients closed, {} connections left open.",
            t.failed, t.sent, t.clients_closed, tenure.open_after
        );
    }
    let redis_ok = match redis {
        RedisOutcome::Ran(report) if report.ok() => {
            let _ = writeln!(
                verdict,
                "Redis: {} commands, 0 failed; {} owned pools closed after their last lease; \
                 server connections back to the baseline of {}.",
                report.sent, report.closed, report.baseline
            );
            true
        }
        RedisOutcome::Ran(report) => {
            let _ = writeln!(
                verdict,
                "Redis: FAILED: {} of {} commands failed, shutdown complete: {}, connections {} (baseline {}).",
                report.failed, report.sent, report.complete, report.after, report.baseline
            );
            false
        }
        RedisOutcome::Skipped => {
            let _ = writeln!(verdict, "Redis: not run (--skip-redis).");
            true
        }
        RedisOutcome::Missing => {
            let _ = writeln!(
                verdict,
                "Redis: NOT RUN: {}. Pass --skip-redis to run without it.",
                missing_server_hint()
            );
            false
        }
        RedisOutcome::Failed => {
            let _ = writeln!(verdict, "Redis: FAILED to run (see above).");
            false
        }
    };
    print!("{verdict}");
    if http_ok && redis_ok {
        println!("\nOK");
        ExitCode::SUCCESS
    } else {
        println!("\nFAILED: see the lines above.");
        ExitCode::FAILURE
    }
}

/// An error and its sources, on one line.
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Polls `read` until it returns `target`, for at most five seconds; returns the last reading.
async fn settle(read: impl Fn() -> usize, target: usize) -> usize {
    let mut last = read();
    for _ in 0..100 {
        if last == target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        last = read();
    }
    last
}
