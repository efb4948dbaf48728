//! Command latency across owned-pool rotations, refresh ahead on and off, in one
//! run against a private `redis-server` (started here on a free loopback port).
//!
//! A pool is rotated at every time-to-live. Without refresh, the first command
//! after the boundary waits for a new pool (connect, handshake): a latency spike
//! every TTL, the incident's later regression. With refresh, the new pool is
//! built in the background before the boundary and the command never waits.
//! Each mode sends commands at a steady pace (`RedisClients::get`, then SET and
//! GET; the pause between commands is not measured) across `ROTATIONS`
//! rotations and reports p50, p99 and max.
//!
//! Needs `redis-server` on PATH (`apt-get install redis-server`).

use std::time::{Duration, Instant};

use tenure_redis::{RedisClients, RedisConfig, deadpool_redis::redis::AsyncCommands};
use tenure_test_support::{
    RedisServer,
    redis_server::{INSTALL_HINT, redis_server_available},
};

const TTL: Duration = Duration::from_millis(100);
/// A pause between commands (not measured): a steady client, about 40 commands
/// per rotation, so the rotations' cold starts (one command each) are more than
/// 1% of the commands and show in p99 when they happen.
const PACE: Duration = Duration::from_millis(2);
const ROTATIONS: u32 = 20;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Sends commands for `ROTATIONS` time-to-lives; returns each command's latency
/// and how many pools the caller had to wait for (misses).
async fn run(clients: &RedisClients, config: &RedisConfig) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::new();
    let end = Instant::now() + TTL * ROTATIONS;
    let mut i = 0u64;
    while Instant::now() < end {
        let start = Instant::now();
        let pool = clients.get(config).await.expect("a pool");
        let mut conn = pool.get().await.expect("a connection");
        let key = format!("k{}", i % 64);
        let () = conn.set(&key, i).await.expect("SET");
        let _: u64 = conn.get(&key).await.expect("GET");
        drop((conn, pool));
        latencies.push(start.elapsed());
        i += 1;
        tokio::time::sleep(PACE).await;
    }
    latencies.sort();
    (latencies, clients.owned_stats().misses)
}

fn main() {
    if !redis_server_available() {
        eprintln!("the refresh benchmark needs redis-server: {INSTALL_HINT}");
        std::process::exit(1);
    }
    let server = RedisServer::start().expect("a private redis-server");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let config = RedisConfig::builder(&server.url())
        .max_connections(4)
        .build()
        .expect("config");
    println!("\n## Refresh ahead: command latency across {ROTATIONS} pool rotations (TTL {TTL:?})\n");
    println!("| refresh | commands | pools waited for | p50 | p99 | max | p99 / p50 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // The control: the same load with no rotation at all (no time-to-live), so
    // the machine's own jitter is visible next to what rotations add.
    for mode in ["off", "on", "no rotation"] {
        let builder = RedisClients::builder();
        let clients = match mode {
            "off" => builder.time_to_live(TTL).without_refresh(),
            "on" => builder.time_to_live(TTL).refresh_after(TTL / 2),
            _ => builder.without_time_to_live(),
        }
        .build()
        .expect("clients");
        let (latencies, misses) = runtime.block_on(run(&clients, &config));
        runtime.block_on(clients.shutdown());
        let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
        println!(
            "| {} | {} | {misses} | {:.1} µs | {:.1} µs | {:.1} µs | {:.2} |",
            mode,
            latencies.len(),
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            latencies[latencies.len() - 1].as_secs_f64() * 1e6,
            p99.as_secs_f64() / p50.as_secs_f64(),
        );
    }
}
