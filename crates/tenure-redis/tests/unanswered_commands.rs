//! A borrower whose command never got its reply (its future was cancelled, or
//! the response timeout ended it) hands nothing to the next borrower: the
//! command may still run on the server (a blocking `BLPOP key 0` holds the
//! connection, and would take the next item pushed to its list), so the
//! connection is discarded when it is dropped, and the server sees it close.
//!
//! On a cluster this is the only check (its recycle waits on no server): without
//! it, every command of the next borrower to the blocked node timed out. On one
//! server the recycle's `PING` would catch it at the next checkout, one response
//! timeout later, and the pushed item would be lost until then.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod common;

use std::time::Duration;

use common::slot_of;
use tenure_redis::{
    RedisClients, RedisConfig, RedisPool,
    deadpool_redis::redis::{self, AsyncCommands},
};
use tenure_test_support::{RedisCluster, RedisServer};

/// How a borrower's blocking command loses its reply.
#[derive(Debug, Clone, Copy)]
enum Lost {
    /// Its future is dropped (a `tokio::time::timeout` around it ran out).
    Cancelled,
    /// The connection's response timeout ends it with an error.
    TimedOut,
}

/// The number of clients blocked on `server`.
fn blocked_clients(server: &RedisServer) -> usize {
    server
        .info_field("clients", "blocked_clients")
        .unwrap()
        .and_then(|count| count.parse().ok())
        .expect("INFO clients has blocked_clients")
}

/// Polls `server` (every 20 ms, for at most [`common::SETTLE`]) until it has
/// `blocked` blocked clients; returns the last count seen.
async fn wait_blocked(server: &RedisServer, blocked: usize) -> usize {
    let deadline = std::time::Instant::now() + common::SETTLE;
    let mut seen = blocked_clients(server);
    while seen != blocked && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen = blocked_clients(server);
    }
    seen
}

/// A borrower blocks on `list` (`server` shows it blocked) and loses the reply
/// as `lost` says; the connection is dropped.
async fn block_and_lose(pool: &RedisPool, server: &RedisServer, list: &str, lost: Lost) {
    let mut conn = pool.get().await.unwrap();
    match lost {
        Lost::Cancelled => {
            let blpop = conn.blpop::<_, Option<(String, String)>>(list, 0.0);
            // Dropped once the server has it blocked.
            tokio::select! {
                outcome = blpop => panic!("BLPOP 0 on an empty list waits: {outcome:?}"),
                seen = wait_blocked(server, 1) => assert_eq!(seen, 1, "the BLPOP reached the server"),
            }
        }
        Lost::TimedOut => {
            // Blocks for 30 s on the server; the 500 ms response timeout ends it here.
            let blpop = conn.blpop::<_, Option<(String, String)>>(list, 30.0);
            let (outcome, seen) = tokio::join!(blpop, wait_blocked(server, 1));
            assert_eq!(seen, 1, "the BLPOP reached the server");
            assert!(outcome.as_ref().is_err_and(|e| e.is_timeout()), "{outcome:?}");
        }
    }
}

fn standalone_config(server: &RedisServer) -> RedisConfig {
    RedisConfig::builder(&server.url())
        .max_connections(1) // the next borrower would get the same connection
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_millis(500))
        .wait_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_command_that_lost_its_reply_leaves_nothing_to_the_next_borrower_of_one_server() {
    let _watchdog = common::Watchdog::new(
        "a_blocking_command_that_lost_its_reply_leaves_nothing_to_the_next_borrower_of_one_server",
        common::TEST_LIMIT,
    );
    let server = common::start_server();
    let clients = RedisClients::new().unwrap();
    let pool = clients.get(&standalone_config(&server)).await.unwrap();
    for lost in [Lost::Cancelled, Lost::TimedOut] {
        let list = format!("jobs-{lost:?}");
        block_and_lose(&pool, &server, &list, lost).await;
        // Discarded on drop: the server sees the blocked client go, before any
        // other checkout.
        assert_eq!(
            wait_blocked(&server, 0).await,
            0,
            "{lost:?}: the blocked connection was closed"
        );
        // So an item pushed now stays for its consumer.
        server.command(&["RPUSH", &list, "job-1"]).unwrap();
        let mut conn = pool.get().await.unwrap();
        let job: Option<(String, String)> = conn.blpop(&list, 1.0).await.unwrap();
        assert_eq!(job, Some((list.clone(), "job-1".to_owned())), "{lost:?}");
    }
    // A command that got its reply keeps the connection in the pool.
    let id = |mut conn: tenure_redis::RedisConnection| async move {
        redis::cmd("CLIENT")
            .arg("ID")
            .query_async::<i64>(&mut conn)
            .await
            .unwrap()
    };
    let first = id(pool.get().await.unwrap()).await;
    assert_eq!(
        id(pool.get().await.unwrap()).await,
        first,
        "an answered connection is lent again"
    );
    drop(pool);
    common::shutdown(&clients).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_command_that_lost_its_reply_leaves_nothing_to_the_next_borrower_of_a_cluster() {
    let _watchdog = common::Watchdog::new(
        "a_blocking_command_that_lost_its_reply_leaves_nothing_to_the_next_borrower_of_a_cluster",
        common::TEST_LIMIT,
    );
    let cluster = RedisCluster::start(3).unwrap_or_else(|e| panic!("cannot start a Redis Cluster: {e}"));
    let config = RedisConfig::cluster_builder(cluster.node_urls())
        .max_connections(1)
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_millis(500))
        .wait_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let clients = RedisClients::new().unwrap();
    let pool = clients.get(&config).await.unwrap();
    for lost in [Lost::Cancelled, Lost::TimedOut] {
        let list = format!("{{jobs}}-{lost:?}");
        let node = &cluster.nodes()[cluster.node_for_slot(slot_of(&list)).unwrap()];
        block_and_lose(&pool, node, &list, lost).await;
        assert_eq!(
            wait_blocked(node, 0).await,
            0,
            "{lost:?}: the blocked connection was closed"
        );
        // The next borrower's commands to the same node are answered.
        let mut conn = pool.get().await.unwrap();
        let () = conn.set(format!("{{jobs}}-other-{lost:?}"), 1).await.unwrap();
        node.command(&["RPUSH", &list, "job-1"]).unwrap();
        let job: Option<(String, String)> = conn.blpop(&list, 1.0).await.unwrap();
        assert_eq!(job, Some((list.clone(), "job-1".to_owned())), "{lost:?}");
    }
    drop(pool);
    common::shutdown(&clients).await;
}
