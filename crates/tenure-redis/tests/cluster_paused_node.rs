//! Redis Cluster (3 masters started by the test) with one primary paused
//! (`CLIENT PAUSE ... ALL`): a checkout from a cached cluster pool, and commands on
//! a key another primary owns, go through while the pause is still in effect.
//! Recycling a cluster connection must not wait for every primary.

#![cfg(feature = "cluster")]

mod common;

use std::time::Duration;

use common::slot_of;
use tenure_redis::{
    RedisClients, RedisConfig,
    deadpool_redis::redis::{self, AsyncCommands, AsyncConnectionConfig, cluster::ClusterClientBuilder},
};
use tenure_test_support::RedisCluster;

const MASTERS: usize = 3;
/// The node that owns the test's key.
const SERVING: usize = 0;
/// The node that is paused.
const PAUSED: usize = 1;
/// How long the pause lasts: an hour, far past the test's watchdog, so that it
/// cannot end while the checkouts below run, however slow the machine (it
/// never ends: the paused node is killed with the cluster). `CLIENT PAUSE`
/// rather than `SIGSTOP`: the paused node keeps its cluster bus, so the other
/// nodes never mark it as failed.
const PAUSE_MS: &str = "3600000";

/// Whether `PING` on a new connection to `port` is answered within a short,
/// fixed timeout (a paused server does not answer).
async fn answers_ping(port: u16) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
        return false;
    };
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), ping).await,
        Ok(Ok(reply)) if reply == "PONG"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_does_not_wait_for_a_paused_primary() {
    let _watchdog = common::Watchdog::new("checkout_does_not_wait_for_a_paused_primary", Duration::from_secs(120));
    let cluster = RedisCluster::start(MASTERS).unwrap_or_else(|e| panic!("cannot start a Redis Cluster: {e}"));
    let paused_port = cluster.nodes()[PAUSED].port();

    // A key whose slot the serving node owns (bounded search: about one key in
    // three qualifies).
    let key = (0..10_000)
        .map(|i| format!("paused-node-{i}"))
        .find(|key| cluster.node_for_slot(slot_of(key)).expect("CLUSTER NODES answers") == SERVING)
        .expect("some key hashes to the serving node");

    // One cluster connection, reused by every checkout. The response timeout is
    // longer than the pause: a recycling check that waited for the paused node would
    // still be waiting when the pause ends.
    let config = RedisConfig::cluster_builder(cluster.node_urls())
        .max_connections(1)
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(30))
        .wait_timeout(Duration::from_secs(60))
        .build()
        .expect("the harness's node URLs are valid");
    let clients = RedisClients::new().unwrap();
    let pool = clients.get(&config).await.unwrap();
    {
        let mut conn = pool.get().await.unwrap();
        let () = conn.set(&key, 0).await.unwrap();
    }
    assert_eq!(pool.status().size, 1, "the cluster connection exists before the pause");
    assert!(answers_ping(paused_port).await, "the node answers before the pause");

    cluster.nodes()[PAUSED]
        .command(&["CLIENT", "PAUSE", PAUSE_MS, "ALL"])
        .expect("CLIENT PAUSE");

    // A cluster connection's own `PING` goes to every primary: it cannot complete
    // while one is paused (this is what recycling used to send).
    let raw = ClusterClientBuilder::new(cluster.node_urls())
        .connection_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let ping_all = async {
        let mut conn = raw.get_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(500), ping_all)
            .await
            .is_err(),
        "a PING to every primary completed although one is paused"
    );

    // Checkouts and commands on the serving node's key go through. Forty: a
    // recycle check that PINGed one random primary and waited would meet the
    // paused one (one in three) on at least one of them, missing it with odds
    // of (2/3)^40, about 1e-7.
    for i in 1..=40_i64 {
        let mut conn = pool.get().await.unwrap_or_else(|e| panic!("checkout {i}: {e}"));
        let () = conn.set(&key, i).await.unwrap_or_else(|e| panic!("SET {i}: {e}"));
        let value: i64 = conn.get(&key).await.unwrap_or_else(|e| panic!("GET {i}: {e}"));
        assert_eq!(value, i);
    }
    assert_eq!(pool.status().size, 1, "the cluster connection was reused, not replaced");

    // ... all while the pause was in effect: the paused node still does not
    // answer, now that they are done.
    assert!(
        !answers_ping(paused_port).await,
        "the paused node answered: the pause ended under the checkouts"
    );

    // `CLIENT UNPAUSE` would itself wait for the pause (it pauses every command);
    // the pool is closed and the paused node killed with the cluster instead.
    drop(pool);
    common::shutdown(&clients).await;
    drop(cluster);
}
