//! Test 3: `max_connections` from a URL config is honoured.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use common::{assert_settles, start_server};
use tenure_redis::{RedisClients, RedisConfig, deadpool_redis::redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_tasks_never_open_more_than_three_connections() {
    let _watchdog = common::Watchdog::new(
        "ten_concurrent_tasks_never_open_more_than_three_connections",
        common::TEST_LIMIT,
    );
    let server = Arc::new(start_server());
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = RedisConfig::builder(&server.url())
        .max_connections(3)
        .wait_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let pool = clients.get(&config).await.unwrap();
    assert_eq!(pool.status().max_size, 3);

    let done = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..3 {
                let mut conn = pool.get().await.unwrap();
                // Holds the connection for ~50 ms on the server side.
                let reply: Option<(String, String)> = redis::cmd("BLPOP")
                    .arg(format!("empty-{i}"))
                    .arg(0.05)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                assert_eq!(reply, None);
            }
        }));
    }
    let sampler = {
        let pool = pool.clone();
        let done = Arc::clone(&done);
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let (mut peak_server, mut peak_size, mut peak_waiting) = (0, 0, 0);
            // Bounded: at most 2,000 samples.
            for _ in 0..2_000 {
                if done.load(Ordering::SeqCst) {
                    break;
                }
                peak_server = peak_server.max(server.client_count().unwrap());
                let status = pool.status();
                peak_size = peak_size.max(status.size);
                peak_waiting = peak_waiting.max(status.waiting);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (peak_server, peak_size, peak_waiting)
        })
    };
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("a task hung")
            .unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let (peak_server, peak_size, peak_waiting) = sampler.await.unwrap();
    let status = pool.status();
    println!(
        "max_connections: baseline={baseline} peak={peak_server} (deadpool size peak {peak_size}, waiting peak {peak_waiting}) status={status:?}"
    );
    assert!(peak_server - baseline <= 3, "server saw {peak_server} clients");
    assert!(peak_size <= 3, "deadpool size reached {peak_size}");
    assert_eq!(status.max_size, 3);
    assert!(status.size <= 3);
    assert!(
        peak_server - baseline >= 2,
        "the tasks should have run concurrently (peak {peak_server})"
    );

    drop(pool);
    common::shutdown(&clients).await;
    let after = assert_settles(&server, baseline, "after shutdown").await;
    println!("max_connections: after={after}");
}
