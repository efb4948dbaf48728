//! Command latency across owned-pool rotations, refresh ahead on and off, in one
//! run against a private `redis-server` (started here on a free loopback port).
//!
//! A pool is rotated at every time-to-live. Without refresh, the first command
//! after the boundary waits for a new pool (connect, handshake): a latency spike
//! every TTL, the incident's later regression. With refresh, the new pool is
//! built in the background before the boundary and the command never waits.
//! Each mode sends commands at a steady pace (`RedisClients::get`, then SET and
//! GET; the pause between commands is not measured) across `ROTATIONS`
//! rotations, in `ROUNDS` interleaved rounds, and reports the median over the
//! rounds of p50, p99 and max. With refresh, the pool is rebuilt at half its
//! time-to-live, so a round sees about twice `ROTATIONS` rotations.
//!
//! Needs `redis-server` on PATH (`apt-get install redis-server`).

use std::time::{Duration, Instant};

use tenure_redis::{RedisClients, RedisConfig, deadpool_redis::redis::AsyncCommands};
use tenure_test_support::{
    RedisServer,
    redis_server::{missing_server_hint, redis_server_available},
};

const TTL: Duration = Duration::from_millis(100);
/// A pause between commands (not measured): a steady client, about 40 commands
/// per rotation, so the rotations' cold starts (one command each) are more than
/// 1% of the commands and show in p99 when they happen.
const PACE: Duration = Duration::from_millis(2);
const ROTATIONS: u32 = 20;
/// Rounds of the three modes, interleaved so that drift in the machine's load
/// reaches every mode alike; each figure is the median over the rounds.
const ROUNDS: usize = 7;

/// One mode's round: (commands, pools waited for, p50, p99, max), times in µs.
type Round = (usize, u64, f64, f64, f64);

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
        eprintln!("the refresh benchmark needs redis-server: {}", missing_server_hint());
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
    println!("\n## Refresh ahead: command latency across {ROTATIONS} pool rotations (TTL {TTL:?}), {ROUNDS} rounds\n");
    println!(
        "Each round runs the three modes one after the other, {ROTATIONS} time-to-lives each; \
         the table gives the median over the rounds (and the range of p99 / p50)."
    );
    println!();
    println!(
        "| refresh | commands per round | pools waited for per round | p50 | p99 | max | p99 / p50 (range over rounds) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // The control: the same load with no rotation at all (no time-to-live), so
    // the machine's own jitter is visible next to what rotations add.
    const MODES: [&str; 3] = ["off", "on", "no rotation"];
    let mut rows: Vec<Vec<Round>> = vec![Vec::new(); MODES.len()];
    for _ in 0..ROUNDS {
        for (m, mode) in MODES.iter().enumerate() {
            let builder = RedisClients::builder();
            let clients = match *mode {
                "off" => builder.time_to_live(TTL).without_refresh(),
                "on" => builder.time_to_live(TTL).refresh_after(TTL / 2),
                _ => builder.without_time_to_live(),
            }
            .build()
            .expect("clients");
            let (latencies, misses) = runtime.block_on(run(&clients, &config));
            runtime.block_on(clients.shutdown());
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            rows[m].push((
                latencies.len(),
                misses,
                us(percentile(&latencies, 0.50)),
                us(percentile(&latencies, 0.99)),
                us(latencies[latencies.len() - 1]),
            ));
        }
    }
    for (mode, rounds) in MODES.iter().zip(&rows) {
        let median = |f: &dyn Fn(&Round) -> f64| {
            let mut values: Vec<f64> = rounds.iter().map(f).collect();
            tenure_bench::median_min_max(&mut values).0
        };
        let mut ratios: Vec<f64> = rounds.iter().map(|r| r.3 / r.2).collect();
        let (ratio, lowest, highest) = tenure_bench::median_min_max(&mut ratios);
        println!(
            "| {mode} | {:.0} | {:.0} | {:.1} µs | {:.1} µs | {:.1} µs | {:.2} ({:.2} to {:.2}) |",
            median(&|r| r.0 as f64),
            median(&|r| r.1 as f64),
            median(&|r| r.2),
            median(&|r| r.3),
            median(&|r| r.4),
            ratio,
            lowest,
            highest,
        );
    }
}
