//! Test 6: many tasks churn 8 configurations through a cache of capacity 2 with a
//! TTL of milliseconds; nothing fails and nothing leaks.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{assert_settles, start_server};
use tenure_redis::{RedisClients, RedisConfig, deadpool_redis::redis::AsyncCommands};

const TASKS: usize = 16;
const OPS_PER_TASK: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_with_capacity_two_and_a_tiny_ttl_fails_nothing_and_leaks_nothing() {
    let _watchdog = common::Watchdog::new(
        "churn_with_capacity_two_and_a_tiny_ttl_fails_nothing_and_leaks_nothing",
        common::TEST_LIMIT,
    );
    let server = Arc::new(start_server());
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::builder()
        .max_capacity(2)
        .time_to_live(Duration::from_millis(5))
        .build()
        .unwrap();
    let configs: Arc<Vec<RedisConfig>> = Arc::new(
        (0..8)
            .map(|db| {
                RedisConfig::builder(&server.url())
                    .database(db)
                    .max_connections(4)
                    .build()
                    .unwrap()
            })
            .collect(),
    );

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (server, done) = (Arc::clone(&server), Arc::clone(&done));
        tokio::spawn(async move {
            let mut peak = 0;
            for _ in 0..5_000 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                peak = peak.max(server.client_count().unwrap());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };

    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (clients, configs) = (clients.clone(), Arc::clone(&configs));
        tasks.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            for i in 0..OPS_PER_TASK {
                let config = &configs[(t + i) % configs.len()];
                let res = async {
                    let pool = clients.get(config).await.map_err(|e| e.to_string())?;
                    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                    let key = format!("t{t}-i{i}");
                    let () = conn.set(&key, i).await.map_err(|e| e.to_string())?;
                    let v: usize = conn.get(&key).await.map_err(|e| e.to_string())?;
                    if v != i {
                        return Err(format!("read {v}, wrote {i}"));
                    }
                    let db: i64 = tenure_redis::deadpool_redis::redis::aio::ConnectionLike::get_db(&conn);
                    if db != config.database() {
                        return Err(format!("connection on db {db}, expected {}", config.database()));
                    }
                    Ok::<_, String>(())
                }
                .await;
                if let Err(e) = res {
                    failures.push(e);
                }
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(
            tokio::time::timeout(Duration::from_secs(120), task)
                .await
                .expect("a churn task hung")
                .unwrap(),
        );
    }
    done.store(true, Ordering::SeqCst);
    let peak = sampler.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed commands: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    let before_shutdown = clients.owned_stats();
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert!(report.is_complete(), "{report:?}");
    let after = assert_settles(&server, baseline, "after shutdown").await;
    println!(
        "churn: baseline={baseline} peak={peak} after={after}; {} ops, stats before shutdown {before_shutdown:?}, after {:?}",
        TASKS * OPS_PER_TASK,
        report.stats
    );
    let stats = report.stats;
    assert_eq!(
        stats.closes,
        stats.inserts + stats.refreshes_discarded,
        "every owned pool built (inserted, or refreshed after its entry left) was closed: {stats:?}"
    );
    assert!(stats.evictions.total() > 0, "the test should churn: {stats:?}");
}
