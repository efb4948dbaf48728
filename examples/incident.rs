//! The incident, replayed end to end, on a cache that cannot repeat it.
//!
//! In the original system a client cache (200 entries, 10-minute TTL) closed every
//! value it evicted: right for the Redis pools it owned, wrong for the HTTP clients
//! other code still held. Requests failed for six days.
//!
//! This example runs the same production path with the churn turned up: an
//! in-process upstream (the "LLM provider"), HTTP clients cached as `Shared` with a
//! tiny capacity and idle expiry so they are evicted and expire constantly, many
//! tasks that fetch a client through `get_async_http_client` and keep using it
//! across evictions, some of them reading streaming responses. Then the Redis half:
//! pools the cache creates are `Owned` and closed after their last lease; a private
//! `redis-server` counts the connections before, during and after.
//!
//! It prints a report and exits non-zero if any request failed or any connection
//! leaked.
//!
//! ```text
//! cargo run --release --example incident --features full
//! cargo run --release --example incident --features full -- --tasks 64 --requests 50000 --seconds 50
//! ```

use std::{
    env,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tenure::http::{
    HttpClientConfig, HttpClients,
    testing::{CountingServer, stream_bytes},
};
use tenure::redis::{
    RedisClients, RedisConfig,
    deadpool_redis::redis::AsyncCommands,
    testing::{INSTALL_HINT, RedisServer, redis_server_available},
};

/// The size of the run; every loop is bounded by both a count and a time limit.
#[derive(Debug, Clone)]
struct Settings {
    tasks: usize,
    requests: u64,
    configs: usize,
    capacity: u64,
    idle_ms: u64,
    seconds: u64,
    redis_ops: u64,
}

impl Settings {
    fn from_args() -> Result<Self, String> {
        let mut settings = Self {
            tasks: 32,
            requests: 20_000,
            configs: 10,
            capacity: 2,
            idle_ms: 5,
            seconds: 40,
            redis_ops: 4_000,
        };
        let mut args = env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number: u64 = value
                .parse()
                .map_err(|_| format!("{flag}: `{value}` is not a whole number"))?;
            if number == 0 {
                return Err(format!("{flag} must be at least 1"));
            }
            match flag.as_str() {
                "--tasks" => settings.tasks = number as usize,
                "--requests" => settings.requests = number,
                "--configs" => settings.configs = number as usize,
                "--capacity" => settings.capacity = number,
                "--idle-ms" => settings.idle_ms = number,
                "--seconds" => settings.seconds = number.min(600),
                "--redis-ops" => settings.redis_ops = number,
                _ => return Err(format!("unknown flag {flag} (see the top of examples/incident.rs)")),
            }
        }
        Ok(settings)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let settings = match Settings::from_args() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("incident: {message}");
            return ExitCode::from(2);
        }
    };
    println!("tenure incident replay: {settings:?}\n");
    let http_ok = match http_half(&settings).await {
        Ok(ok) => ok,
        Err(error) => {
            eprintln!("HTTP half could not run: {error}");
            false
        }
    };
    let redis_ok = if redis_server_available() {
        match redis_half(&settings).await {
            Ok(ok) => ok,
            Err(error) => {
                eprintln!("Redis half could not run: {error}");
                false
            }
        }
    } else {
        println!("\nRedis half skipped: {INSTALL_HINT}");
        true
    };
    if http_ok && redis_ok {
        println!("\nOK: no request failed, no connection leaked.");
        ExitCode::SUCCESS
    } else {
        println!("\nFAILED: see above.");
        ExitCode::FAILURE
    }
}

/// Shared HTTP clients under constant eviction and expiry, held across both.
async fn http_half(settings: &Settings) -> Result<bool, Box<dyn std::error::Error>> {
    println!("== HTTP: shared clients, evicted and expired while in use");
    let upstream = CountingServer::start().await?;
    let clients = HttpClients::builder()
        .max_capacity(settings.capacity)
        .time_to_idle(Duration::from_millis(settings.idle_ms))
        .build()?;
    // Configs differ only in an API key header, as per-tenant clients do.
    let configs: Arc<Vec<HttpClientConfig>> = Arc::new(
        (0..settings.configs)
            .map(|tenant| {
                HttpClientConfig::builder()
                    .sensitive_header("x-api-key", format!("sk-tenant-{tenant}"))
                    .build()
            })
            .collect::<Result<_, _>>()?,
    );

    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let streamed_bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(settings.seconds);
    let started = Instant::now();
    let plain = upstream.uri("/");
    let stream = upstream.uri("/stream?chunks=64");
    let expected_stream = stream_bytes(64);

    let tasks: Vec<_> = (0..settings.tasks)
        .map(|task| {
            let (clients, configs) = (clients.clone(), Arc::clone(&configs));
            let (sent, failed, streamed_bytes) = (Arc::clone(&sent), Arc::clone(&failed), Arc::clone(&streamed_bytes));
            let (plain, stream, expected_stream) = (plain.clone(), stream.clone(), expected_stream.clone());
            let budget = settings.requests;
            tokio::spawn(async move {
                let mut round = task;
                while Instant::now() < deadline {
                    // Like a router: fetch a client, then keep it for a few requests
                    // while other tasks' lookups evict and expire it.
                    let config = &configs[round % configs.len()];
                    round += 1;
                    let client = match clients.get_async_http_client(config).await {
                        Ok(client) => client,
                        Err(error) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            eprintln!("lookup failed: {error}");
                            continue;
                        }
                    };
                    for request in 0..4 {
                        if sent.fetch_add(1, Ordering::Relaxed) >= budget {
                            sent.fetch_sub(1, Ordering::Relaxed);
                            return;
                        }
                        let streaming = request == 3 && round % 8 == 0;
                        let uri = if streaming { &stream } else { &plain };
                        let outcome = client
                            .get_bytes(uri.as_str())
                            .await
                            .map(|response| response.into_body());
                        match outcome {
                            Ok(body) if !streaming || body == expected_stream => {
                                if streaming {
                                    streamed_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                                }
                            }
                            Ok(_) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                eprintln!("a streamed body arrived corrupted");
                            }
                            Err(error) => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                eprintln!("request failed: {error}");
                            }
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
    let stats = clients.stats();
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let peak_open = upstream.peak_open_connections();
    drop(clients);
    // Clients dropped by the cache and by every task: their idle connections close.
    let open_after = settle(|| upstream.open_connections(), 0).await;

    println!(
        "requests sent        {sent} in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    println!("requests succeeded   {}", sent - failed);
    println!("requests failed      {failed}");
    println!("streamed, verified   {} bytes", streamed_bytes.load(Ordering::Relaxed));
    println!("cache lookups        {} hits, {} misses", stats.hits, stats.misses);
    println!(
        "evictions            {} by capacity, {} idle, {} expired, {} explicit",
        stats.evictions.capacity, stats.evictions.idle, stats.evictions.expired, stats.evictions.explicit
    );
    println!(
        "clients closed       {} (shared clients are never closed by the cache)",
        stats.closes
    );
    println!(
        "server connections   {} accepted, peak {peak_open} open at once, {open_after} open after the run",
        upstream.connections()
    );
    Ok(failed == 0 && sent > 0 && stats.closes == 0 && open_after == 0)
}

/// Owned Redis pools under constant eviction and expiry, closed after their last lease.
async fn redis_half(settings: &Settings) -> Result<bool, Box<dyn std::error::Error>> {
    println!("\n== Redis: owned pools, closed after their last lease");
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
                        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(n)
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
    let before_shutdown = server.client_count()?;
    let report = clients.shutdown().await;
    let after = settle(|| server.client_count().unwrap_or(usize::MAX), baseline).await;
    let stats = report.stats;
    let failed = failed.load(Ordering::Relaxed);

    println!(
        "commands             {} sent, {failed} failed",
        ops.load(Ordering::Relaxed).min(settings.redis_ops)
    );
    println!(
        "evictions            {} by capacity, {} expired, {} explicit",
        stats.evictions.capacity, stats.evictions.expired, stats.evictions.explicit
    );
    println!(
        "pools closed         {} (each after its last lease), {} still draining",
        stats.closes, stats.draining
    );
    println!(
        "server connections   baseline {baseline}, peak {}, before shutdown {before_shutdown}, after {after}",
        peak.load(Ordering::Relaxed)
    );
    Ok(failed == 0 && report.is_complete() && after == baseline)
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
