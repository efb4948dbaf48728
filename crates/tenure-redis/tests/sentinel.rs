//! Sentinel (a master, a replica and 3 sentinels started by the test): a failover
//! survived through one cached pool, no leak, passthrough.

mod common;

use std::time::{Duration, Instant};

use common::SETTLE;
use tenure_redis::{
    Error, Ownership, RedisClients, RedisConfig, RedisPool, Topology,
    deadpool_redis::{
        self,
        redis::{self, AsyncCommands},
    },
};
use tenure_test_support::RedisSentinels;

/// The sentinels' `down-after-milliseconds`.
const DOWN_AFTER: Duration = Duration::from_millis(1000);
/// The longest the failover test waits for commands to succeed again (a hang
/// guard: the switch takes a few seconds).
const FAILOVER_LIMIT: Duration = Duration::from_secs(60);
/// Attempts during a failover, one every 50 ms or more: at least [`FAILOVER_LIMIT`].
const FAILOVER_ATTEMPTS: u32 = 1_200;

fn start_deployment() -> RedisSentinels {
    RedisSentinels::start(1, 3, DOWN_AFTER).unwrap_or_else(|e| panic!("cannot start a Sentinel deployment: {e}"))
}

fn sentinel_config(deployment: &RedisSentinels, max_connections: usize) -> RedisConfig {
    RedisConfig::builder(&deployment.sentinel_url())
        .max_connections(max_connections)
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_millis(500))
        .wait_timeout(Duration::from_secs(2))
        .build()
        .expect("the harness's sentinel URL is valid")
}

/// Client counts of the servers, then of the sentinels.
fn counts(deployment: &RedisSentinels) -> Vec<usize> {
    deployment
        .servers()
        .iter()
        .chain(deployment.sentinels())
        .map(|s| s.client_count().expect("every server answers CLIENT LIST"))
        .collect()
}

async fn assert_counts_settle(deployment: &RedisSentinels, expected: &[usize], what: &str) -> Vec<usize> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let now = counts(deployment);
        if now == expected || Instant::now() >= deadline {
            assert_eq!(
                now, expected,
                "{what}: clients (servers then sentinels) {now:?}, expected {expected:?}"
            );
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The port of the server `conn` talks to, from `INFO server`.
async fn server_port(conn: &mut impl redis::aio::ConnectionLike) -> redis::RedisResult<u16> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(info
        .lines()
        .find_map(|l| l.trim().strip_prefix("tcp_port:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_survived_by_the_same_cached_pool() {
    let _watchdog = common::Watchdog::new(
        "a_failover_is_survived_by_the_same_cached_pool",
        Duration::from_secs(180),
    );
    let mut deployment = start_deployment();
    let clients = RedisClients::new().unwrap();
    let config = sentinel_config(&deployment, 4);
    let pool = clients.get(&config).await.unwrap();
    assert_eq!(pool.topology(), Topology::Sentinel);
    let old_port = deployment.servers()[0].port();
    {
        let mut conn = pool.get().await.unwrap();
        let () = conn.set("before", 1).await.unwrap();
        assert_eq!(server_port(&mut conn).await.unwrap(), old_port);
    }

    deployment.servers_mut()[0].stop().unwrap();
    let killed = Instant::now();

    // One SET every 50 ms through the same cached pool until three in a row succeed.
    let mut failures: Vec<Error> = Vec::new();
    let mut first_success = None;
    let mut streak = 0;
    let mut attempts = 0u32;
    while streak < 3 {
        // A bound by count, not by the clock: each attempt sleeps 50 ms or more,
        // so this is at least `FAILOVER_LIMIT` of trying, however slow the machine.
        assert!(
            attempts < FAILOVER_ATTEMPTS,
            "no recovery in {attempts} attempts (at least {FAILOVER_LIMIT:?}): {failures:?}"
        );
        attempts += 1;
        let res = tokio::time::timeout(Duration::from_secs(10), async {
            let pool = clients.get(&config).await?;
            let mut conn = pool.get().await?;
            let () = conn.set(format!("during-{attempts}"), attempts).await?;
            Ok::<_, Error>(server_port(&mut conn).await?)
        })
        .await
        .expect("a command during the failover hung");
        match res {
            Ok(port) => {
                assert_ne!(port, old_port, "a command succeeded on the killed master");
                first_success.get_or_insert_with(|| killed.elapsed());
                streak += 1;
            }
            Err(e) => {
                streak = 0;
                failures.push(e);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let switch = first_success.expect("commands succeeded");
    let new_master = deployment.master_index().unwrap();
    assert_ne!(new_master, 0, "the sentinels promoted the replica");
    let timeouts = failures.iter().filter(|e| e.is_timeout()).count();
    println!(
        "sentinel/failover: master killed; commands failed for {switch:?} ({} typed errors, {timeouts} timeouts, over {attempts} attempts), \
         then succeeded on the new master 127.0.0.1:{}; first error: {}",
        failures.len(),
        deployment.servers()[new_master].port(),
        failures.first().map(ToString::to_string).unwrap_or_default()
    );
    assert!(!failures.is_empty(), "commands fail while the master is down");
    for e in &failures {
        assert!(
            matches!(
                e.kind(),
                tenure_redis::ErrorKind::Connection | tenure_redis::ErrorKind::Command
            ),
            "an unexpected error: {e:?}"
        );
    }

    // The same cache entry the whole time: no rebuild, nothing restarted.
    let after = clients.get(&config).await.unwrap();
    assert!(RedisPool::same_entry(&pool, &after));
    assert_eq!(clients.owned_stats().inserts, 1);
    let mut conn = after.get().await.unwrap();
    let value: Option<i64> = conn.get("before").await.unwrap();
    println!(
        "sentinel/failover: the key written before the failover reads {value:?} on the new master (replication is asynchronous)"
    );
    drop((conn, after, pool));
    common::shutdown(&clients).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sentinel_pools_created_used_and_retired_end_at_the_baseline() {
    let _watchdog = common::Watchdog::new(
        "fifty_sentinel_pools_created_used_and_retired_end_at_the_baseline",
        common::TEST_LIMIT,
    );
    let deployment = start_deployment();
    let baseline = counts(&deployment);
    let clients = RedisClients::new().unwrap();
    let config = sentinel_config(&deployment, 2);
    let mut peak = baseline.clone();
    for i in 0..50 {
        let pool = clients.get(&config).await.unwrap();
        assert_eq!(pool.ownership(), Ownership::Owned);
        common::set_get(&pool, &format!("k{i}")).await.unwrap();
        if i % 10 == 0 {
            for (peak, count) in peak.iter_mut().zip(counts(&deployment)) {
                *peak = (*peak).max(count);
            }
        }
        drop(pool);
        clients.invalidate(&config);
    }
    let after = assert_counts_settle(&deployment, &baseline, "after 50 cycles").await;
    println!("sentinel/no_leak (master, replica, 3 sentinels): baseline={baseline:?} peak={peak:?} after={after:?}");
    assert!(peak[0] > baseline[0], "the pool reached the master");
    let stats = clients.owned_stats();
    assert_eq!((stats.inserts, stats.closes), (50, 50), "{stats:?}");

    // Shutdown with several pools open.
    for max in 1..=3 {
        common::set_get(&clients.get(&sentinel_config(&deployment, max)).await.unwrap(), "s")
            .await
            .unwrap();
    }
    let budget = clients.connection_budget();
    assert_eq!((budget.open_pools, budget.max_connections_per_node), (3, 6));
    common::shutdown(&clients).await;
    assert_counts_settle(&deployment, &baseline, "after shutdown").await;
    assert_eq!(clients.connection_budget().open_pools, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_in_sentinel_pool_is_used_and_never_closed() {
    let _watchdog = common::Watchdog::new("a_handed_in_sentinel_pool_is_used_and_never_closed", common::TEST_LIMIT);
    let deployment = start_deployment();
    let baseline = counts(&deployment);
    let clients = RedisClients::builder().max_capacity(1).build().unwrap();
    let config = sentinel_config(&deployment, 2);
    let urls: Vec<String> = deployment
        .sentinel_addrs()
        .iter()
        .map(|a| format!("redis://{a}"))
        .collect();
    let mine = deadpool_redis::sentinel::Config::from_urls(
        urls,
        RedisSentinels::SERVICE.to_owned(),
        deadpool_redis::sentinel::SentinelServerType::Master,
    )
    .create_pool(Some(deadpool_redis::Runtime::Tokio1))
    .unwrap();
    let registered = clients.insert_shared(config.clone(), mine.clone()).unwrap();
    // An owned pool for another configuration, at capacity 1.
    common::set_get(&clients.get(&sentinel_config(&deployment, 3)).await.unwrap(), "other")
        .await
        .unwrap();
    let found = clients.get(&config).await.unwrap();
    assert_eq!(found.ownership(), Ownership::Shared);
    assert!(RedisPool::same_entry(&registered, &found));
    common::set_get(&found, "mine").await.unwrap();
    assert_eq!(mine.status().size, 1, "the connection came from the caller's pool");

    common::shutdown(&clients).await;
    assert!(!mine.is_closed(), "the cache closed the caller's pool");
    let mut conn = mine.get().await.expect("the caller's pool still lends");
    let () = conn.set("still", 1).await.unwrap();
    drop(conn);
    println!(
        "sentinel/passthrough: baseline={baseline:?} after shutdown={:?} (the caller's pool still open)",
        counts(&deployment)
    );
    assert!(counts(&deployment)[0] > baseline[0]);
    // Closing drops the pool's idle connections; dropping the last handle drops its
    // manager, whose sentinel client caches one connection to each sentinel.
    mine.close();
    drop((registered, found, mine));
    assert_counts_settle(&deployment, &baseline, "after the caller closed and dropped its pool").await;
}

/// A borrower's `WATCH` left on a sentinel pool's connection does not abort
/// the next borrower's transaction. `CLIENT INFO` reports watched keys only
/// from Redis 7.4, and the recycle sent `ROLE` alone: the watch reached the
/// next borrower. The connection is now discarded when dropped
/// (`borrower_state.rs`), and the recycle sends `UNWATCH` with `ROLE` (for
/// that half alone, see the unit test in `src/sentinel.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_left_by_a_borrower_does_not_abort_the_next_borrowers_transaction() {
    let _watchdog = common::Watchdog::new(
        "a_watch_left_by_a_borrower_does_not_abort_the_next_borrowers_transaction",
        common::TEST_LIMIT,
    );
    let deployment = start_deployment();
    let master = &deployment.servers()[0];
    let clients = RedisClients::new().unwrap();
    let pool = clients.get(&sentinel_config(&deployment, 1)).await.unwrap();
    {
        let mut conn = pool.get().await.unwrap();
        let () = redis::cmd("WATCH").arg("watched").query_async(&mut conn).await.unwrap();
    }
    assert_eq!(pool.status().size, 0, "the connection left watching was discarded");
    master.command(&["SET", "watched", "changed"]).unwrap();
    let mut conn = pool.get().await.unwrap();
    let committed: Option<(i64,)> = redis::pipe()
        .atomic()
        .incr("mine", 1)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(committed, Some((1,)), "aborted by the previous borrower's WATCH");
    drop(conn);
    drop(pool);
    common::shutdown(&clients).await;
}
