//! A client handed in by the caller, cached as `Shared`: the cache never closes it.
//!
//! Run it with `cargo run --example shared_client`. It finishes in well under a
//! second and exits non-zero if any expectation fails.
//!
//! `ApiClient` stands for a client that other code keeps: the caller built it, a
//! router holds a clone, and the cache is only one more holder. It has a
//! `close(&self)` of its own, as httpx clients and deadpool or sqlx pools do,
//! which shuts it down for every holder at once. The cache evicts it by capacity,
//! expires it, invalidates it and shuts down, and the router's clone keeps
//! working throughout; only the caller, its owner, closes it at the end.
//!
//! docs/adopting.md ("Choose `Owned` or `Shared`") explains the choice.

use std::{
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

use tenure::{ClientCache, Shared};

/// A client whose clones share one connection pool, closed for all by `close`.
struct ApiClient {
    base: String,
    requests: AtomicU32,
    closed: AtomicBool,
}

impl ApiClient {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            requests: AtomicU32::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// What a client does: it fails if someone closed it under its users.
    fn request(&self, path: &str) -> Result<String, String> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(format!("{}{path}: client closed under its user", self.base));
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        Ok(format!("200 OK from {}{path}", self.base))
    }

    /// Shuts the client down for every holder: only its owner may call this.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

async fn run() -> Result<(), String> {
    // The caller's client, and a router that keeps a clone for as long as it likes.
    let mine = Arc::new(ApiClient::new("https://api.example"));
    let router = Arc::clone(&mine);

    let clients = ClientCache::<String, Shared<ApiClient>>::builder()
        .max_capacity(1)
        .time_to_live(Duration::from_millis(100))
        .eviction_listener(|key, client, cause| {
            println!(
                "listener: {key:?} left the cache ({cause:?}); {} stays open for its holders",
                client.base
            );
        })
        .build()
        .map_err(|e| e.to_string())?;

    // Hand the client in as it is: no copy, no second pool.
    clients
        .insert("api".to_owned(), Shared::from_arc(Arc::clone(&mine)))
        .map_err(|e| e.to_string())?;
    let found = clients
        .get(&"api".to_owned())
        .ok_or("the handed-in client is not cached")?;
    check(Arc::ptr_eq(Shared::as_arc(&found), &mine), "the cache made a copy")?;
    println!("lookup: {}", found.request("/v1/models")?);

    // Capacity eviction (capacity 1): the incident's first case.
    clients
        .insert("other".to_owned(), Shared::new(ApiClient::new("https://other.example")))
        .map_err(|e| e.to_string())?;
    check(
        clients.get(&"api".to_owned()).is_none(),
        "\"api\" should have been evicted",
    )?;
    println!("after eviction, router: {}", router.request("/v1/chat")?);

    // Time-to-live expiry: the incident's second case. The reaper removes the
    // entry with no further cache calls.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = clients.stats();
    check(stats.evictions.expired == 1, "\"other\" should have expired")?;
    println!("after expiry, lookup handle: {}", found.request("/v1/chat")?);

    // Invalidation and shutdown only drop the cache's references.
    clients
        .insert("api".to_owned(), Shared::from_arc(Arc::clone(&mine)))
        .map_err(|e| e.to_string())?;
    clients.invalidate_all();
    let report = clients.shutdown().await;
    println!("after shutdown, router: {}", router.request("/v1/chat")?);
    println!(
        "cache stats: evictions={:?} closes={}",
        report.stats.evictions, report.stats.closes
    );
    check(report.stats.closes == 0, "a shared entry was closed")?;
    check(
        !mine.closed.load(Ordering::SeqCst),
        "the cache closed the caller's client",
    )?;

    // The owner decides when its client is done.
    drop((found, router));
    mine.close();
    println!(
        "caller closed its own client after {} requests",
        mine.requests.load(Ordering::SeqCst)
    );
    check(mine.request("/late").is_err(), "close should stop the client")?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("ok: the cache never closed the client it was handed");
            ExitCode::SUCCESS
        }
        Err(failed) => {
            eprintln!("expectation failed: {failed}");
            ExitCode::FAILURE
        }
    }
}
