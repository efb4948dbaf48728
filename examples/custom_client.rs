//! A resource of your own, with its own `Close`, cached as `Owned`.
//!
//! Run it with `cargo run --example custom_client`. It finishes in well under a
//! second and exits non-zero if any expectation fails.
//!
//! `SearchConnection` stands for any client your library creates and owns alone:
//! callers borrow it through a `Lease` and never keep a clone of their own. The
//! example retires the entry while a task still holds a lease and shows that the
//! close waits for that lease (drain, then close):
//!
//! ```text
//! retired "search-eu": still leased by the holder task (draining=1, closes=0)
//! ...
//! connection #1: closed after last lease (2 queries served)
//! ```
//!
//! docs/adopting.md walks through the same steps.

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use tenure::{ClientCache, Close, Closing, GetError, Owned};
use tokio::sync::oneshot;

/// A connection this library opens and owns alone.
struct SearchConnection {
    id: u32,
    queries: AtomicU32,
    /// Lets `main` see the close after the connection has moved into the cache.
    closed: Arc<AtomicBool>,
}

impl SearchConnection {
    async fn connect(id: u32, endpoint: &str, closed: Arc<AtomicBool>) -> std::io::Result<Self> {
        println!("connection #{id}: opened to {endpoint}");
        Ok(Self {
            id,
            queries: AtomicU32::new(0),
            closed,
        })
    }

    /// What a client does: it fails if it was closed under its user.
    fn query(&self, text: &str) -> Result<String, String> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(format!("connection #{} was closed under its user", self.id));
        }
        self.queries.fetch_add(1, Ordering::SeqCst);
        Ok(format!("connection #{}: results for {text:?}", self.id))
    }
}

// Step 1 of a port: say how your resource shuts down. `close` consumes the value,
// so only its sole owner (the cache, after the last lease) can call it.
impl Close for SearchConnection {
    async fn close(self, _: &Closing) {
        // A real client would flush and say goodbye to the server here; errors are
        // logged, since nobody is left to return them to.
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.closed.store(true, Ordering::SeqCst);
        println!(
            "connection #{}: closed after last lease ({} queries served)",
            self.id,
            self.queries.load(Ordering::SeqCst)
        );
    }
}

type Connections = ClientCache<String, Owned<SearchConnection>>;

/// The lookup a library would expose: the cached connection, or a new one.
/// Concurrent misses for one endpoint open one connection (single flight).
async fn connection(
    cache: &Connections,
    endpoint: &str,
    id: u32,
    closed: &Arc<AtomicBool>,
) -> Result<tenure::Lease<SearchConnection>, GetError<std::io::Error>> {
    cache
        .get_or_try_insert_with(endpoint.to_owned(), || async {
            SearchConnection::connect(id, endpoint, Arc::clone(closed))
                .await
                .map(Owned::new)
        })
        .await
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

async fn run() -> Result<(), String> {
    let cache: Connections = ClientCache::builder()
        .max_capacity(100)
        .time_to_live(Duration::from_secs(600))
        .eviction_listener(|key, _lease, cause| {
            // A listener may look and log; it cannot close (the cache does that).
            println!("listener: {key:?} left the cache ({cause:?})");
        })
        .build()
        .map_err(|e| e.to_string())?;
    let endpoint = "search-eu";
    let first_closed = Arc::new(AtomicBool::new(false));
    let second_closed = Arc::new(AtomicBool::new(false));

    // A caller takes a lease and hands it to a task that will use it later.
    let lease = connection(&cache, endpoint, 1, &first_closed)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", lease.query("tenure")?);
    let (go, wait) = oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        let _ = wait.await;
        let answer = lease.query("drain then close");
        println!("holder: {answer:?} on the retired connection; dropping the last lease");
        answer.map(drop)
        // `lease` is dropped here: the last one.
    });

    // Retire the entry while the task still holds its lease.
    cache.invalidate(&endpoint.to_owned());
    let stats = cache.stats();
    println!(
        "retired {endpoint:?}: still leased by the holder task (draining={}, closes={})",
        stats.draining, stats.closes
    );
    check(
        stats.draining == 1 && stats.closes == 0,
        "a leased entry must drain, not close",
    )?;
    check(!first_closed.load(Ordering::SeqCst), "closed under a lease")?;

    // New lookups get a new connection while the retired one drains.
    let fresh = connection(&cache, endpoint, 2, &second_closed)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", fresh.query("a new lookup")?);
    check(fresh.id == 2, "a retired entry must never be served again")?;
    drop(fresh);

    // The holder finishes its work on the retired connection and drops the lease.
    let _ = go.send(());
    holder.await.map_err(|e| e.to_string())??;

    // The close runs on the runtime right after the last lease is dropped.
    for _ in 0..200 {
        if cache.stats().closes == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = cache.stats();
    check(first_closed.load(Ordering::SeqCst), "not closed after its last lease")?;
    check(stats.closes == 1 && stats.draining == 0, "exactly one close so far")?;

    // Shutdown retires the rest and waits for every close.
    let report = cache.shutdown().deadline(Duration::from_secs(2)).await;
    println!(
        "shutdown: complete={} closes={} evictions={}",
        report.is_complete(),
        report.stats.closes,
        report.stats.evictions.total()
    );
    check(report.is_complete(), "shutdown left entries leased")?;
    check(
        second_closed.load(Ordering::SeqCst),
        "shutdown did not close connection #2",
    )?;
    check(report.stats.closes == 2, "each connection closed exactly once")?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("ok: no connection was closed while leased, and each was closed once");
            ExitCode::SUCCESS
        }
        Err(failed) => {
            eprintln!("expectation failed: {failed}");
            ExitCode::FAILURE
        }
    }
}
