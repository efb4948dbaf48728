//! Issue 10: `Error::is_timeout()` is true for every timeout a caller can meet:
//! connecting (against black-hole servers), waiting for a free connection, and a
//! command's response.

mod common;

use std::{net::Ipv4Addr, time::Duration};

use common::start_server;
use tenure_redis::{
    Error, RedisClients, RedisConfig,
    deadpool_redis::redis::{self, AsyncCommands},
};
use tokio::net::TcpListener;

/// A hang guard far above every configured timeout, not a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn short_timeouts(url: &str) -> RedisConfig {
    RedisConfig::builder(url)
        .max_connections(1)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .wait_timeout(Duration::from_millis(300))
        .build()
        .expect("a valid URL")
}

async fn get_error(clients: &RedisClients, config: &RedisConfig) -> Error {
    tokio::time::timeout(HANG_GUARD, clients.get(config))
        .await
        .expect("get() hung")
        .expect_err("a black hole cannot give a pool")
}

/// A server on a free loopback port that accepts connections and never answers
/// (bounded: the tests open a handful); abort the task to stop it.
async fn black_hole() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a free loopback port");
    let port = listener.local_addr().expect("a bound listener").port();
    let hole = tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..64 {
            match listener.accept().await {
                Ok((socket, _)) => held.push(socket),
                Err(_) => break,
            }
        }
    });
    (port, hole)
}

/// A server that accepts connections and never answers: the Redis handshake never
/// completes, so connecting times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_server_that_never_answers_is_a_timeout() {
    let _watchdog = common::Watchdog::new(
        "connecting_to_a_server_that_never_answers_is_a_timeout",
        common::TEST_LIMIT,
    );
    let (port, black_hole) = black_hole().await;
    let clients = RedisClients::new().unwrap();
    let config = short_timeouts(&format!("redis://127.0.0.1:{port}/0"));
    let err = get_error(&clients, &config).await;
    println!("timeouts/never answers: {err}");
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert!(err.is_timeout(), "a connect timeout must be a timeout: {err:?}");
    assert_eq!(err.addr(), Some(config.addr().as_str()));
    black_hole.abort();
}

/// The same for a cluster whose startup nodes accept and never answer: the
/// `redis` crate reports it as an `Io` error holding only the text "timed
/// out", which the adapter turns back into a timeout.
#[cfg(feature = "cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_cluster_that_never_answers_is_a_timeout() {
    let _watchdog = common::Watchdog::new(
        "connecting_to_a_cluster_that_never_answers_is_a_timeout",
        common::TEST_LIMIT,
    );
    let mut urls = Vec::new();
    let mut holes = Vec::new();
    for _ in 0..3 {
        let (port, hole) = black_hole().await;
        urls.push(format!("redis://127.0.0.1:{port}"));
        holes.push(hole);
    }
    let clients = RedisClients::new().unwrap();
    let config = RedisConfig::cluster_builder(urls.iter().map(String::as_str))
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = get_error(&clients, &config).await;
    println!("timeouts/cluster never answers: {err}");
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert!(
        err.is_timeout(),
        "a cluster's connect timeout must be a timeout: {err:?}"
    );
    for hole in holes {
        hole.abort();
    }
}

/// A listener that never accepts, with its backlog full: the TCP handshake itself
/// never completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_full_backlog_is_a_timeout() {
    let _watchdog = common::Watchdog::new("connecting_to_a_full_backlog_is_a_timeout", common::TEST_LIMIT);
    let hole = tenure_test_support::FullBacklog::start().expect("a full backlog");
    let clients = RedisClients::new().unwrap();
    let config = short_timeouts(&format!("redis://{}/0", hole.addr()));
    let err = get_error(&clients, &config).await;
    println!("timeouts/full backlog ({} fillers): {err}", hole.fillers());
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert!(err.is_timeout(), "a connect timeout must be a timeout: {err:?}");
    drop(hole);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_free_connection_is_a_timeout() {
    let _watchdog = common::Watchdog::new("waiting_for_a_free_connection_is_a_timeout", common::TEST_LIMIT);
    let server = start_server();
    let clients = RedisClients::new().unwrap();
    let config = short_timeouts(&server.url());
    let pool = clients.get(&config).await.unwrap();
    let held = pool.get().await.unwrap(); // max_connections is 1
    let err = tokio::time::timeout(HANG_GUARD, pool.get())
        .await
        .expect("get() hung")
        .unwrap_err();
    println!("timeouts/wait: {err}");
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_closed());
    drop((held, pool));
    common::shutdown(&clients).await;
}

/// A command whose reply does not come within the response timeout (the server
/// paused with `CLIENT PAUSE`), as a `?` into `tenure_redis::Error` gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_past_its_response_timeout_is_a_timeout() {
    let _watchdog = common::Watchdog::new("a_command_past_its_response_timeout_is_a_timeout", common::TEST_LIMIT);
    let server = start_server();
    let clients = RedisClients::new().unwrap();
    let config = short_timeouts(&server.url());
    let pool = clients.get(&config).await.unwrap();
    let mut conn = pool.get().await.unwrap();
    server.command(&["CLIENT", "PAUSE", "3000", "ALL"]).unwrap();
    let run = async {
        let value: Option<String> = conn.get("k").await?;
        Ok::<_, Error>(value)
    };
    let err = tokio::time::timeout(HANG_GUARD, run)
        .await
        .expect("the command hung")
        .unwrap_err();
    println!("timeouts/command: {err}");
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Command, "{err:?}");
    assert!(err.is_timeout(), "{err:?}");
    server.command(&["CLIENT", "UNPAUSE"]).unwrap();
    let not_timeout: Error = redis::RedisError::from((redis::ErrorKind::Parse, "bad")).into();
    assert!(!not_timeout.is_timeout());
    drop((conn, pool));
    common::shutdown(&clients).await;
}
