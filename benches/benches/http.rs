//! End to end: GET requests against a local hyper server
//! (`tenure_test_support::CountingServer`), body read in full, three ways:
//!
//! - `static`: one `HttpClient` built up front and reused;
//! - `cached`: `HttpClients::get_async_http_client(&config)` before every request;
//! - `new`: `HttpClient::new(&config)` before every request (a new pool, so a new
//!   connection and a new TLS config every time).
//!
//! Requests are sequential on one current-thread runtime that also runs the
//! server, so the per-request cost of the lookup is as visible as it can be.
//! Prints requests per second (median and range over rounds) and the
//! cached/static ratio, paired by round. `TENURE_BENCH_REQUESTS` sets the
//! requests per round for `static` and `cached` (default 10,000); `new` runs
//! that many in all, spread over the rounds (each of its requests opens a TCP
//! connection that then sits in TIME_WAIT, so it is kept to 10,000).

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use tenure_bench::median_min_max;
use tenure_http::{HttpClient, HttpClientConfig, HttpClients};
use tenure_test_support::CountingServer;

const ROUNDS: usize = 7;
/// Requests per chunk: modes alternate chunk by chunk, so drift in machine load
/// hits every mode alike.
const CHUNK: usize = 500;

async fn fetch(client: &HttpClient, uri: &http::Uri) {
    let response = client.get(uri.clone()).await.expect("request");
    assert!(response.status().is_success());
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(body.as_ref(), b"hello");
}

/// One client per request, the three ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Static,
    Cached,
    New,
}

struct Setup<'a> {
    uri: &'a http::Uri,
    config: &'a HttpClientConfig,
    clients: &'a HttpClients,
    fixed: &'a HttpClient,
}

/// Runs `requests` requests in `mode`; returns the time they took.
async fn run(mode: Mode, requests: usize, setup: &Setup<'_>) -> Duration {
    let began = Instant::now();
    match mode {
        Mode::Static => {
            for _ in 0..requests {
                fetch(setup.fixed, setup.uri).await;
            }
        }
        Mode::Cached => {
            for _ in 0..requests {
                let client = setup
                    .clients
                    .get_async_http_client(setup.config)
                    .await
                    .expect("cached client");
                fetch(&client, setup.uri).await;
            }
        }
        Mode::New => {
            for _ in 0..requests {
                let client = HttpClient::new(setup.config).expect("client");
                fetch(&client, setup.uri).await;
            }
        }
    }
    began.elapsed()
}

fn main() {
    let requests: usize = std::env::var("TENURE_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = CountingServer::start().await.expect("server");
        let uri: http::Uri = server.uri("/").parse().expect("uri");
        let config = HttpClientConfig::default();
        let clients = HttpClients::new().expect("clients");
        // Warm the cache: its client, its connection.
        fetch(&clients.get_async_http_client(&config).await.expect("client"), &uri).await;

        let fixed = HttpClient::new(&config).expect("client");
        fetch(&fixed, &uri).await;
        let setup = Setup {
            uri: &uri,
            config: &config,
            clients: &clients,
            fixed: &fixed,
        };
        let new_per_round = (requests / ROUNDS).max(1);
        let (mut static_rps, mut cached, mut fresh, mut ratios) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let began = Instant::now();
        for round in 0..ROUNDS {
            let (mut s, mut c, mut n) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
            let chunks = requests.div_ceil(CHUNK);
            for chunk in 0..chunks {
                let len = CHUNK.min(requests - chunk * CHUNK);
                if (round + chunk) % 2 == 0 {
                    s += run(Mode::Static, len, &setup).await;
                    c += run(Mode::Cached, len, &setup).await;
                } else {
                    c += run(Mode::Cached, len, &setup).await;
                    s += run(Mode::Static, len, &setup).await;
                }
            }
            n += run(Mode::New, new_per_round, &setup).await;
            let (s, c) = (requests as f64 / s.as_secs_f64(), requests as f64 / c.as_secs_f64());
            static_rps.push(s);
            cached.push(c);
            ratios.push(c / s);
            fresh.push(new_per_round as f64 / n.as_secs_f64());
        }
        let elapsed = began.elapsed();
        let stats = clients.stats();
        println!("### End to end: sequential GETs against a local hyper server");
        println!();
        println!(
            "{ROUNDS} rounds; per round {requests} requests `static` and {requests} `cached` (alternating in chunks of {CHUNK}) and {} `new`; \
             current-thread runtime (client and server); {:.1} s in all; server saw {} connections for {} requests",
            new_per_round,
            elapsed.as_secs_f64(),
            server.connections(),
            server.requests()
        );
        println!();
        println!("| client per request | requests/s median | min | max | vs static (median of paired rounds) |");
        println!("|---|---:|---:|---:|---:|");
        let (ms, lo, hi) = median_min_max(&mut static_rps);
        println!("| one static `HttpClient` | {ms:.0} | {lo:.0} | {hi:.0} | 1.000 |");
        let (mc, lo, hi) = median_min_max(&mut cached);
        let (mr, rlo, rhi) = median_min_max(&mut ratios);
        println!(
            "| `get_async_http_client` per request | {mc:.0} | {lo:.0} | {hi:.0} | {mr:.3} (range {rlo:.3} to {rhi:.3}) |"
        );
        let (mn, lo, hi) = median_min_max(&mut fresh);
        println!("| `HttpClient::new` per request | {mn:.0} | {lo:.0} | {hi:.0} | {:.3} |", mn / ms);
        println!();
        println!(
            "cache stats: {} hits, {} misses, {} inserts",
            stats.hits, stats.misses, stats.inserts
        );
        server.shutdown().await;
    });
}
