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

/// A checkout from a pool of a stalled server (`SIGSTOP`: connections still
/// open through the listen backlog, no command is answered) ends within
/// `RedisConfig::checkout_timeout`, a timeout naming the server, however many
/// idle connections the pool holds. Each idle connection's check took its
/// full response timeout in turn, then a creation: 8.5 s here with 16 idle
/// connections at 500 ms timeouts. The clock is tokio's paused one from the
/// stall on, so the bound is checked in virtual time, not wall-clock time.
#[tokio::test(flavor = "current_thread")]
async fn a_checkout_from_a_stalled_server_ends_within_the_checkout_timeout() {
    let _watchdog = common::Watchdog::new(
        "a_checkout_from_a_stalled_server_ends_within_the_checkout_timeout",
        common::TEST_LIMIT,
    );
    const IDLE: usize = 16;
    let server = start_server();
    let clients = RedisClients::new().unwrap();
    let timeout = Duration::from_millis(500);
    let config = RedisConfig::builder(&server.url())
        .max_connections(IDLE)
        .connect_timeout(timeout)
        .response_timeout(timeout)
        .wait_timeout(timeout)
        .build()
        .unwrap();
    let bound = config.checkout_timeout();
    assert_eq!(
        bound,
        timeout * 5,
        "the wait timeout, twice the connect and twice the response timeouts"
    );
    let pool = clients.get(&config).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..IDLE {
        held.push(pool.get().await.unwrap());
    }
    drop(held);
    assert_eq!(pool.status().available, IDLE);

    server.suspend().unwrap();
    // From here every timer (deadpool's, the connections') runs in virtual
    // time, advanced whenever the runtime has nothing else to do.
    tokio::time::pause();
    let start = tokio::time::Instant::now();
    // A guard far above the bound, in virtual time: a checkout that never ended.
    let result = tokio::time::timeout(Duration::from_secs(3600), pool.get()).await;
    let took = start.elapsed();
    tokio::time::resume();
    server.resume().unwrap();

    let err = result.expect("the checkout never ended").unwrap_err();
    println!("timeouts/checkout: {took:?} (bound {bound:?}): {err}");
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        err.to_string().contains(&server.addr().to_string()),
        "names the server: {err}"
    );
    // Tokio's timers tick in whole milliseconds.
    assert!(
        took <= bound + Duration::from_millis(2),
        "the checkout took {took:?} of virtual time, over its bound of {bound:?}"
    );

    // The cancelled checkout left no slot taken and no connection behind: the
    // pool lends its full size again, and the server has as many clients as
    // the pool has connections.
    let status = pool.status();
    assert_eq!(status.waiting, 0, "{status:?}");
    assert!(
        status.size < IDLE,
        "the idle connections whose checks were cut short were closed: {status:?}"
    );
    let mut held = Vec::new();
    for _ in 0..IDLE {
        held.push(pool.get().await.unwrap());
    }
    assert_eq!(pool.status().size, IDLE);
    drop(held);
    common::assert_settles(&server, IDLE, "after the stall").await;
    drop(pool);
    common::shutdown(&clients).await;
    common::assert_settles(&server, 0, "after shutdown").await;
}
