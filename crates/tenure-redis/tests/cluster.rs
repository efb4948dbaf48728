//! Redis Cluster (3 masters started by the test): every hash slot through cached
//! pools under eviction churn, no leak on any node, `MOVED` followed, passthrough.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{SETTLE, key_for_every_slot, slot_of};
use tenure_redis::{
    ConnectionBudget, Ownership, RedisClients, RedisConfig, RedisPool, Topology,
    deadpool_redis::{self, redis::AsyncCommands},
};
use tenure_test_support::RedisCluster;

const MASTERS: usize = 3;
const TASKS: usize = 8;

fn start_cluster() -> RedisCluster {
    RedisCluster::start(MASTERS).unwrap_or_else(|e| panic!("cannot start a Redis Cluster: {e}"))
}

fn cluster_config(cluster: &RedisCluster, max_connections: usize) -> RedisConfig {
    RedisConfig::cluster_builder(cluster.node_urls())
        .max_connections(max_connections)
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .wait_timeout(Duration::from_secs(10))
        .build()
        .expect("the harness's node URLs are valid")
}

async fn assert_counts_settle(cluster: &RedisCluster, expected: &[usize], what: &str) -> Vec<usize> {
    let after = cluster
        .wait_for_client_counts(expected, SETTLE)
        .await
        .expect("every node answers CLIENT LIST");
    assert_eq!(
        after, expected,
        "{what}: clients per node {after:?}, expected {expected:?}"
    );
    after
}

/// The end-to-end run: every one of the 16384 slots written and read back through
/// pools of a cache of capacity 2 with a 20 ms time-to-live, 4 configurations
/// churning through it, 8 tasks at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_slot_through_churning_cached_pools_fails_nothing_and_leaks_nothing() {
    let _watchdog = common::Watchdog::new(
        "every_slot_through_churning_cached_pools_fails_nothing_and_leaks_nothing",
        Duration::from_secs(240),
    );
    let cluster = Arc::new(start_cluster());
    let baseline = cluster.client_counts().unwrap();
    let clients = RedisClients::builder()
        .max_capacity(2)
        .time_to_live(Duration::from_millis(20))
        .build()
        .unwrap();
    // Four configurations (they differ by max_connections: a cluster has only db 0).
    let configs: Arc<Vec<RedisConfig>> = Arc::new((1..=4).map(|max| cluster_config(&cluster, max)).collect());
    let keys = Arc::new(key_for_every_slot());

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (cluster, done) = (Arc::clone(&cluster), Arc::clone(&done));
        tokio::spawn(async move {
            let mut peak = vec![0; MASTERS];
            for _ in 0..20_000 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                for (peak, count) in peak.iter_mut().zip(cluster.client_counts().unwrap()) {
                    *peak = (*peak).max(count);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    };

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (clients, configs, keys) = (clients.clone(), Arc::clone(&configs), Arc::clone(&keys));
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            let mut commands = 0u64;
            // Task t owns the slots t, t + 8, t + 16, ...; a batch of 64 slots per lookup.
            let slots: Vec<usize> = (t..keys.len()).step_by(TASKS).collect();
            for (batch, chunk) in slots.chunks(64).enumerate() {
                let config = &configs[(t + batch) % configs.len()];
                let res = async {
                    let pool = clients.get(config).await?;
                    let mut conn = pool.get().await?;
                    for &slot in chunk {
                        let key = &keys[slot];
                        let () = conn.set(key, slot).await?;
                        let back: usize = conn.get(key).await?;
                        commands += 2;
                        if back != slot {
                            return Err(format!("slot {slot}: read {back}").into());
                        }
                    }
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                }
                .await;
                if let Err(e) = res {
                    failures.push(e.to_string());
                }
            }
            (commands, failures)
        }));
    }
    let mut failures = Vec::new();
    let mut commands = 0;
    for task in tasks {
        let (n, f) = tokio::time::timeout(Duration::from_secs(180), task)
            .await
            .expect("a churn task hung")
            .unwrap();
        commands += n;
        failures.extend(f);
    }
    done.store(true, Ordering::SeqCst);
    let peak = sampler.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed batches: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(commands, 2 * 16384, "every slot written and read back");

    let budget: ConnectionBudget = clients.connection_budget();
    let before_shutdown = clients.owned_stats();
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert!(report.is_complete(), "{report:?}");
    let after = assert_counts_settle(&cluster, &baseline, "after shutdown").await;
    let stats = report.stats;
    println!(
        "cluster churn: {commands} commands over {MASTERS} masters, 0 failed; clients per node: \
         baseline={baseline:?} peak={peak:?} after={after:?}; budget {budget:?}; stats before shutdown {before_shutdown:?}, after {stats:?}"
    );
    assert_eq!(
        stats.closes,
        stats.inserts + stats.refreshes_discarded,
        "every owned pool built (inserted, or refreshed after its entry left) was closed: {stats:?}"
    );
    assert!(stats.evictions.total() > 0, "the test should churn: {stats:?}");
    assert_eq!(clients.connection_budget().open_pools, 0);
    assert_eq!(clients.connection_budget().max_connections_per_node, 0);
    for (node, (&peak, &base)) in peak.iter().zip(&baseline).enumerate() {
        assert!(
            (peak - base) as u64 <= budget.peak_max_connections_per_node,
            "node {node}: {} connections above baseline, budget peak {}",
            peak - base,
            budget.peak_max_connections_per_node
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_after_resharding_one_slot_is_followed() {
    let _watchdog = common::Watchdog::new("a_moved_after_resharding_one_slot_is_followed", common::TEST_LIMIT);
    let cluster = start_cluster();
    let baseline = cluster.client_counts().unwrap();
    let clients = RedisClients::new().unwrap();
    // One connection, so the command after the move runs on the connection that
    // learned the old slot map.
    let config = cluster_config(&cluster, 1);
    let pool = clients.get(&config).await.unwrap();
    assert_eq!(pool.topology(), Topology::Cluster);
    let key = "moved-key";
    let slot = slot_of(key);
    {
        let mut conn = pool.get().await.unwrap();
        let () = conn.set(key, "before").await.unwrap();
    }
    let from = cluster.node_for_slot(slot).unwrap();
    let to = (from + 1) % MASTERS;
    let moved_before = moved_count(&cluster, from);
    assert_eq!(cluster.move_slot(slot, to).unwrap(), from);
    assert_eq!(cluster.node_for_slot(slot).unwrap(), to);

    let mut conn = pool.get().await.unwrap();
    let value: String = conn.get(key).await.expect("the MOVED is followed");
    assert_eq!(value, "before", "the key moved with its slot");
    let () = conn.set(key, "after").await.unwrap();
    let moved_after = moved_count(&cluster, from);
    println!(
        "cluster/moved: slot {slot} moved from node {from} to node {to}; MOVED replies from node {from}: {moved_before} -> {moved_after}"
    );
    assert!(moved_after > moved_before, "the old owner replied MOVED");
    // The value is on the new owner.
    let on_new: String = cluster.nodes()[to].query(&["GET", key]).unwrap();
    assert_eq!(on_new, "after");
    drop((conn, pool));
    common::shutdown(&clients).await;
    assert_counts_settle(&cluster, &baseline, "after shutdown").await;
}

/// `errorstat_MOVED` of a node: how many `MOVED` replies it has sent.
fn moved_count(cluster: &RedisCluster, node: usize) -> u64 {
    let stat = cluster.nodes()[node]
        .info_field("errorstats", "errorstat_MOVED")
        .expect("the node answers INFO");
    // `count=N,...`; absent before the first `MOVED`.
    stat.map_or(0, |stat| {
        let count = stat.strip_prefix("count=").expect("count= first");
        count.split(',').next().unwrap_or_default().parse().expect("a count")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_cluster_pools_created_used_and_retired_end_at_the_baseline_on_every_node() {
    let _watchdog = common::Watchdog::new(
        "fifty_cluster_pools_created_used_and_retired_end_at_the_baseline_on_every_node",
        common::TEST_LIMIT,
    );
    let cluster = start_cluster();
    let baseline = cluster.client_counts().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = cluster_config(&cluster, 2);
    let keys = key_for_every_slot();
    let mut peak = baseline.clone();
    for i in 0..50 {
        let pool = clients.get(&config).await.unwrap();
        assert_eq!(pool.ownership(), Ownership::Owned);
        let mut conn = pool.get().await.unwrap();
        // Three keys whose slots are spread over the masters.
        for slot in [i, 5461 + i, 10922 + i] {
            let () = conn.set(&keys[slot], i).await.unwrap();
        }
        if i % 10 == 0 {
            for (peak, count) in peak.iter_mut().zip(cluster.client_counts().unwrap()) {
                *peak = (*peak).max(count);
            }
        }
        drop((conn, pool));
        clients.invalidate(&config);
    }
    let after = assert_counts_settle(&cluster, &baseline, "after 50 cycles").await;
    println!("cluster/no_leak: baseline={baseline:?} peak={peak:?} after={after:?}");
    assert!(
        peak.iter().zip(&baseline).all(|(p, b)| p > b),
        "a pool reaches every master"
    );
    let stats = clients.owned_stats();
    assert_eq!((stats.inserts, stats.closes), (50, 50), "{stats:?}");
    assert_eq!(clients.connection_budget().open_pools, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_in_cluster_pool_is_used_pinned_and_never_closed() {
    let _watchdog = common::Watchdog::new(
        "a_handed_in_cluster_pool_is_used_pinned_and_never_closed",
        common::TEST_LIMIT,
    );
    let cluster = start_cluster();
    let baseline = cluster.client_counts().unwrap();
    // Capacity 1 and a short time-to-live: an evicting, expiring cache.
    let clients = RedisClients::builder()
        .max_capacity(1)
        .time_to_live(Duration::from_millis(20))
        .build()
        .unwrap();
    let config = cluster_config(&cluster, 2);
    let mine = deadpool_redis::cluster::Config::from_urls(cluster.node_urls())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .unwrap();
    // A standalone pool for a cluster configuration is refused, and not closed.
    let standalone = RedisConfig::from_url(&cluster.node_urls()[0])
        .unwrap()
        .create_pool()
        .unwrap();
    let err = clients.insert_shared(config.clone(), standalone.clone()).unwrap_err();
    assert_eq!(err.kind(), tenure_redis::ErrorKind::TopologyMismatch, "{err:?}");
    assert!(!standalone.is_closed());

    let registered = clients.insert_shared(config.clone(), mine.clone()).unwrap();
    // Churn other (owned) configurations through the cache, past the time-to-live.
    for max in 3..6 {
        let pool = clients.get(&cluster_config(&cluster, max)).await.unwrap();
        let mut conn = pool.get().await.unwrap();
        let () = conn.set("other", max).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let found = clients.get(&config).await.unwrap();
    assert_eq!(found.ownership(), Ownership::Shared);
    assert!(
        RedisPool::same_entry(&registered, &found),
        "the handed-in pool, not a replacement"
    );
    let mut conn = found.get().await.unwrap();
    let () = conn.set("mine", 1).await.unwrap();
    drop(conn);
    assert_eq!(mine.status().size, 1, "the connection came from the caller's pool");

    clients.invalidate_all();
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(!mine.is_closed(), "the cache closed the caller's pool");
    let mut conn = mine.get().await.expect("the caller's pool still lends");
    let () = conn.set("still", 1).await.unwrap();
    drop(conn);
    let still = cluster.client_counts().unwrap();
    println!("cluster/passthrough: baseline={baseline:?} after shutdown={still:?} (the caller's pool still open)");
    assert!(
        still.iter().zip(&baseline).all(|(s, b)| s > b),
        "the caller's connections are open"
    );
    mine.close();
    drop((registered, found));
    assert_counts_settle(&cluster, &baseline, "after the caller closed its pool").await;
}

/// A key of every node, in node order (bounded search: about one key in three
/// qualifies for each node).
fn key_of_each_node(cluster: &RedisCluster, prefix: &str) -> Vec<String> {
    (0..MASTERS)
        .map(|node| {
            (0..10_000)
                .map(|i| format!("{prefix}-{i}"))
                .find(|key| cluster.node_for_slot(slot_of(key)).expect("CLUSTER NODES answers") == node)
                .expect("some key hashes to every node")
        })
        .collect()
}

/// A cluster connection's recycle waits on no server (`cluster.rs`), so a
/// borrower's `MULTI` without `EXEC`, or `WATCH` without `UNWATCH`, used to
/// reach the next borrower: its commands were queued (its `GET` answered
/// `QUEUED`), or its transaction aborted. The connection is now discarded
/// when the borrower drops it; an atomic pipeline, or a `WATCH` undone with
/// `UNWATCH`, leaves nothing and keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_or_a_watch_left_open_is_not_lent_to_the_next_borrower() {
    use tenure_redis::deadpool_redis::redis::{self, Value};
    let _watchdog = common::Watchdog::new(
        "a_transaction_or_a_watch_left_open_is_not_lent_to_the_next_borrower",
        common::TEST_LIMIT,
    );
    let cluster = start_cluster();
    let clients = RedisClients::new().unwrap();
    // One connection: every borrower gets the previous one's, if it is kept.
    let pool = clients.get(&cluster_config(&cluster, 1)).await.unwrap();
    let keys = key_of_each_node(&cluster, "left-open");

    // Controls: an atomic pipeline (sent as MULTI ... EXEC), and WATCH then
    // UNWATCH, keep the connection.
    {
        let mut conn = pool.get().await.unwrap();
        let (n,): (i64,) = redis::pipe()
            .atomic()
            .incr("{t}counter", 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let () = redis::cmd("WATCH")
            .arg("{t}watched")
            .query_async(&mut conn)
            .await
            .unwrap();
        let () = redis::cmd("UNWATCH").query_async(&mut conn).await.unwrap();
    }
    assert_eq!(
        pool.status().size,
        1,
        "an atomic pipeline, or WATCH then UNWATCH, keeps the connection"
    );

    // Borrower 1: MULTI (sent to a random node), a SET on every node's key
    // (queued on the node in MULTI), and no EXEC nor DISCARD.
    {
        let mut conn = pool.get().await.unwrap();
        let () = redis::cmd("MULTI").query_async(&mut conn).await.unwrap();
        let mut queued = 0;
        for key in &keys {
            let reply: Value = conn.set(key, "borrower 1").await.unwrap();
            queued += usize::from(matches!(reply, Value::SimpleString(ref s) if s == "QUEUED"));
        }
        assert_eq!(queued, 1, "one node is in the transaction");
    }
    assert_eq!(
        pool.status().size,
        0,
        "the connection left in MULTI was discarded, not returned"
    );
    // Borrower 2: its commands run, on every node.
    {
        let mut conn = pool.get().await.unwrap();
        for key in &keys {
            let () = conn.set(key, "borrower 2").await.unwrap();
            let value: Option<String> = conn.get(key).await.unwrap();
            assert_eq!(
                value.as_deref(),
                Some("borrower 2"),
                "{key}: queued by borrower 1's MULTI"
            );
        }
    }
    assert_eq!(pool.status().size, 1);

    // Borrower 1 again: WATCH, then the watched key changes.
    {
        let mut conn = pool.get().await.unwrap();
        let () = redis::cmd("WATCH")
            .arg("{t}watched")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(
        pool.status().size,
        0,
        "the connection left watching was discarded, not returned"
    );
    let node = cluster.node_for_slot(slot_of("{t}watched")).unwrap();
    cluster.nodes()[node]
        .command(&["SET", "{t}watched", "changed"])
        .unwrap();
    // Borrower 2's transaction on that node commits (`None`: aborted by the WATCH).
    let mut conn = pool.get().await.unwrap();
    let committed: Option<(i64,)> = redis::pipe()
        .atomic()
        .incr("{t}counter", 1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        committed,
        Some((2,)),
        "borrower 2's transaction was aborted by borrower 1's WATCH"
    );
    drop(conn);
    assert_eq!(pool.status().size, 1, "the atomic pipeline kept the connection");
    drop(pool);
    common::shutdown(&clients).await;
    assert_counts_settle(&cluster, &[0; MASTERS], "after shutdown").await;
}
