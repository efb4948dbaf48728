//! Porting a moka client cache with a closing eviction listener to tenure.
//!
//! Run it with `cargo run --example moka_port`. It finishes in about a second and
//! exits non-zero if any expectation fails. docs/adopting.md explains each step.
//!
//! # Before: moka 0.12 (feature `future`)
//!
//! One cache held every client the library made: Redis pools it created itself
//! and HTTP clients that routers kept after the lookup. To "prevent connection
//! pool leaks", an eviction listener closed whatever left the cache:
//!
//! ```text
//! use moka::{future::Cache, notification::RemovalCause};
//!
//! #[derive(Clone)]
//! enum CachedClient {
//!     Redis(Arc<RedisPool>), // created here, used briefly per command
//!     Http(Arc<HttpClient>), // returned to routers, which keep it
//! }
//!
//! let clients: Cache<String, CachedClient> = Cache::builder()
//!     .max_capacity(200)
//!     .time_to_live(Duration::from_secs(600))
//!     .async_eviction_listener(|_key: Arc<String>, client: CachedClient, _cause: RemovalCause| {
//!         Box::pin(async move {
//!             match client {
//!                 CachedClient::Redis(pool) => pool.close().await,
//!                 CachedClient::Http(http) => http.close().await, // the incident
//!             }
//!         })
//!     })
//!     .build();
//!
//! async fn http_client(clients: &Cache<String, CachedClient>, provider: &str) -> Arc<HttpClient> {
//!     match clients
//!         .get_with(provider.to_owned(), async { CachedClient::Http(Arc::new(HttpClient::new(provider))) })
//!         .await
//!     {
//!         CachedClient::Http(http) => http,
//!         CachedClient::Redis(_) => unreachable!(),
//!     }
//! }
//! ```
//!
//! moka's `get` returns clones, so the listener runs while routers still hold the
//! value: at capacity 200 or after 10 minutes, every held HTTP client was closed
//! under its users. The Redis half was right (the cache was the pools' only
//! owner) except that a pool could be closed in the middle of a command.
//!
//! # After: tenure
//!
//! Two caches, one per kind of ownership (`LlmClients` below):
//!
//! - Redis pools are `Owned`: lookups lend `Lease`s, and a retired pool is closed
//!   once, after its last lease is dropped. The listener's close becomes
//!   `impl Close for RedisPool`.
//! - HTTP clients are `Shared`: the cache only drops its reference; no close
//!   exists for it. Time-to-idle instead of time-to-live keeps a hot client warm.
//! - `get_with` becomes `get_or_try_insert_with` (single flight, errors not cached).
//! - The listener only logs.
//!
//! `main` then replays the incident with a capacity of 1 and expiries of 100 ms.

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use tenure::{ClientCache, Close, Closing, GetError, Lease, Owned, Shared};

// --- The clients, unchanged by the port except for `impl Close`. ---------------

/// A Redis connection pool the library creates and owns alone.
struct RedisPool {
    url: String,
    closed: Arc<AtomicBool>,
}

impl RedisPool {
    async fn connect(url: &str, closed: Arc<AtomicBool>) -> std::io::Result<Self> {
        Ok(Self {
            url: url.to_owned(),
            closed,
        })
    }

    async fn command(&self, cmd: &str) -> Result<String, String> {
        tokio::time::sleep(Duration::from_millis(20)).await; // a round trip
        if self.closed.load(Ordering::SeqCst) {
            return Err(format!("{}: pool closed during {cmd}", self.url));
        }
        Ok(format!("{}: {cmd} -> OK", self.url))
    }
}

/// What the moka listener did for Redis pools, now said once, on the type.
impl Close for RedisPool {
    async fn close(self, _: &Closing) {
        self.closed.store(true, Ordering::SeqCst);
        println!("redis pool {}: closed after last lease", self.url);
    }
}

/// An HTTP client that routers keep; its clones would share one pool. It has no
/// `Close` impl: nothing in the cache may close it.
struct HttpClient {
    provider: String,
    closed: AtomicBool,
}

impl HttpClient {
    fn new(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            closed: AtomicBool::new(false),
        }
    }

    fn request(&self) -> Result<String, String> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(format!("{}: connection error (client closed)", self.provider));
        }
        Ok(format!("{}: 200 OK", self.provider))
    }
}

// --- The port. -----------------------------------------------------------------

/// Settings that were the moka builder's.
struct Settings {
    max_capacity: u64,
    /// Redis pools: time-to-live, as before.
    redis_ttl: Duration,
    /// HTTP clients: time-to-idle, so a client in use is never rebuilt cold.
    http_tti: Duration,
}

impl Settings {
    /// The values of the moka cache.
    fn production() -> Self {
        Self {
            max_capacity: 200,
            redis_ttl: Duration::from_secs(600),
            http_tti: Duration::from_secs(600),
        }
    }
}

/// The library's client cache, after the port.
#[derive(Clone)]
struct LlmClients {
    redis: ClientCache<String, Owned<RedisPool>>,
    http: ClientCache<String, Shared<HttpClient>>,
    /// How many HTTP clients were built (the replay checks single flight).
    http_built: Arc<AtomicU32>,
}

impl LlmClients {
    fn new(settings: &Settings) -> Result<Self, tenure::Error> {
        let redis = ClientCache::builder()
            .max_capacity(settings.max_capacity)
            .time_to_live(settings.redis_ttl)
            .eviction_listener(|url, _pool, cause| println!("listener: redis pool {url} retired ({cause:?})"))
            .build()?;
        let http = ClientCache::builder()
            .max_capacity(settings.max_capacity)
            .without_time_to_live()
            .time_to_idle(settings.http_tti)
            .eviction_listener(|provider, _client, cause| {
                println!("listener: http client {provider} left the cache ({cause:?}); holders keep it")
            })
            .build()?;
        Ok(Self {
            redis,
            http,
            http_built: Arc::default(),
        })
    }

    /// Was `clients.get_with(url, ...)` returning `CachedClient::Redis(Arc<RedisPool>)`.
    async fn redis_pool(
        &self,
        url: &str,
        closed: &Arc<AtomicBool>,
    ) -> Result<Lease<RedisPool>, GetError<std::io::Error>> {
        self.redis
            .get_or_try_insert_with(url.to_owned(), || async {
                RedisPool::connect(url, Arc::clone(closed)).await.map(Owned::new)
            })
            .await
    }

    /// Was `clients.get_with(provider, ...)` returning `CachedClient::Http(Arc<HttpClient>)`.
    async fn http_client(&self, provider: &str) -> Result<Shared<HttpClient>, GetError<std::io::Error>> {
        self.http
            .get_or_try_insert_with(provider.to_owned(), || async {
                self.http_built.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await; // TLS handshake, say
                Ok(Shared::new(HttpClient::new(provider)))
            })
            .await
    }

    async fn shutdown(&self) -> (tenure::CacheStats, tenure::CacheStats) {
        let redis = self.redis.shutdown().deadline(Duration::from_secs(2)).await;
        let http = self.http.shutdown().await;
        (redis.stats, http.stats)
    }
}

// --- The replay. ---------------------------------------------------------------

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

async fn run() -> Result<(), String> {
    // The production settings build as they are...
    drop(LlmClients::new(&Settings::production()).map_err(|e| e.to_string())?);
    // ...and the replay uses a capacity of 1 and expiries of 100 ms.
    let clients = LlmClients::new(&Settings {
        max_capacity: 1,
        redis_ttl: Duration::from_millis(100),
        http_tti: Duration::from_millis(100),
    })
    .map_err(|e| e.to_string())?;

    // 50 concurrent misses for one provider build one client (no pool per miss).
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let clients = clients.clone();
            tokio::spawn(async move { clients.http_client("openai").await.map(drop) })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    }
    println!(
        "50 concurrent lookups built {} client(s)",
        clients.http_built.load(Ordering::SeqCst)
    );
    check(
        clients.http_built.load(Ordering::SeqCst) == 1,
        "one client for 50 misses",
    )?;

    // A router keeps its client; capacity eviction follows (capacity 1).
    let router = clients.http_client("openai").await.map_err(|e| e.to_string())?;
    let _other = clients.http_client("anthropic").await.map_err(|e| e.to_string())?;
    check(
        clients.http.stats().evictions.capacity == 1,
        "openai should have been evicted",
    )?;
    println!("after capacity eviction, router: {}", router.request()?);

    // Expiry (time-to-idle): wait for the reaper.
    tokio::time::sleep(Duration::from_millis(300)).await;
    check(clients.http.is_empty(), "the idle client should have expired")?;
    println!("after expiry, router: {}", router.request()?);

    // A Redis pool retired by its time-to-live in the middle of a command.
    let redis_closed = Arc::new(AtomicBool::new(false));
    let pool = clients
        .redis_pool("redis://cache-1", &redis_closed)
        .await
        .map_err(|e| e.to_string())?;
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let command = tokio::spawn(async move {
        // The lease lives in this task until its commands finish.
        let mut replies = vec![pool.command("MULTI").await?];
        let _ = wait.await; // the transaction goes on past the pool's TTL
        replies.push(pool.command("EXEC").await?);
        Ok::<_, String>(replies)
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // past the 100 ms TTL
    let stats = clients.redis.stats();
    println!(
        "redis pool retired (expired={}), still leased by a command: draining={} closes={}",
        stats.evictions.expired, stats.draining, stats.closes
    );
    check(
        stats.evictions.expired == 1 && stats.draining == 1 && stats.closes == 0,
        "drain, not close",
    )?;
    let _ = go.send(());
    let replies = command.await.map_err(|e| e.to_string())??;
    println!("every command completed on the retired pool: {replies:?}");

    let (redis, http) = clients.shutdown().await;
    println!(
        "redis: closes={} draining={}; http: closes={}",
        redis.closes, redis.draining, http.closes
    );
    check(
        redis_closed.load(Ordering::SeqCst) && redis.closes == 1,
        "the pool closes once, after its lease",
    )?;
    check(http.closes == 0, "HTTP clients are never closed by the cache")?;
    println!("after shutdown, router: {}", router.request()?);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("ok: no client was closed under its user");
            ExitCode::SUCCESS
        }
        Err(failed) => {
            eprintln!("expectation failed: {failed}");
            ExitCode::FAILURE
        }
    }
}
