//! Test 2: a retired pool drains (the in-flight command completes) and closes after
//! its last lease is dropped.

mod common;

use std::time::Duration;

use common::{assert_settles, start_server};
use tenure_redis::{RedisClients, RedisConfig, deadpool_redis::redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_a_pool_mid_command_lets_the_command_finish_then_closes() {
    let _watchdog = common::Watchdog::new(
        "retiring_a_pool_mid_command_lets_the_command_finish_then_closes",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    // BLPOP blocks on the server: the response timeout must outlast it.
    let config = RedisConfig::builder(&server.url())
        .response_timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let pool = clients.get(&config).await.unwrap();
    let mut conn = pool.get().await.unwrap();
    drop(pool); // the connection alone keeps the entry leased
    let blpop = tokio::spawn(async move {
        let reply: Option<(String, String)> = redis::cmd("BLPOP").arg("queue").arg(20).query_async(&mut conn).await?;
        Ok::<_, redis::RedisError>((reply, conn))
    });

    // Wait (bounded) until the server sees the BLPOP blocked.
    let mut blocked = false;
    for _ in 0..250 {
        if server.command(&["CLIENT", "LIST"]).unwrap().contains("cmd=blpop") {
            blocked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(blocked, "the BLPOP never reached the server");

    clients.invalidate(&config);
    let stats = clients.owned_stats();
    assert_eq!(stats.draining, 1, "retired but still leased: {stats:?}");
    assert_eq!(stats.closes, 0, "closed while a command was in flight: {stats:?}");
    let peak = server.client_count().unwrap();
    assert_eq!(peak, baseline + 1, "the leased connection is still open");

    // Release the BLPOP: the command completes on the retired pool.
    assert_eq!(server.command(&["RPUSH", "queue", "job"]).unwrap(), "1");
    let (reply, conn) = tokio::time::timeout(Duration::from_secs(10), blpop)
        .await
        .expect("the BLPOP did not complete")
        .unwrap()
        .unwrap();
    assert_eq!(reply, Some(("queue".to_owned(), "job".to_owned())));
    assert_eq!(clients.owned_stats().closes, 0, "the connection is still held");

    // The last lease (the connection) goes: the pool is closed, the socket too.
    drop(conn);
    let after = assert_settles(&server, baseline, "after the last lease dropped").await;
    println!("drain_then_close: baseline={baseline} peak={peak} after={after}");
    let stats = clients.owned_stats();
    assert_eq!(stats.closes, 1, "{stats:?}");
    assert_eq!(stats.draining, 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_pool_still_serves_its_holders_while_a_new_one_is_created() {
    let _watchdog = common::Watchdog::new(
        "a_retired_pool_still_serves_its_holders_while_a_new_one_is_created",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = common::config(&server);

    let old = clients.get(&config).await.unwrap();
    clients.invalidate(&config);
    let new = clients.get(&config).await.unwrap();
    assert!(!tenure_redis::RedisPool::same_entry(&old, &new));
    common::set_get(&old, "old").await.unwrap(); // retired, still working
    common::set_get(&new, "new").await.unwrap();
    let peak = server.client_count().unwrap();
    assert_eq!(peak, baseline + 2);
    drop(old);
    let after = assert_settles(&server, baseline + 1, "after the old pool closed").await;
    println!("drain_then_close/replaced: baseline={baseline} peak={peak} after={after}");
    drop(new);
    common::shutdown(&clients).await;
    assert_settles(&server, baseline, "after shutdown").await;
}
