//! Test 5: the server dies while leases are live, then comes back on the same port.

mod common;

use std::time::{Duration, Instant};

use common::{assert_settles, start_server};
use tenure_redis::{
    RedisClients, RedisConfig, RedisPool,
    deadpool_redis::redis::{self, AsyncCommands},
};

/// A hang guard, not a timing assertion: far above every configured timeout.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn fault_config(url: &str) -> RedisConfig {
    RedisConfig::builder(url)
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_secs(1))
        .wait_timeout(Duration::from_secs(2))
        .build()
        .expect("valid config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_gives_errors_then_the_same_entry_recovers() {
    let _watchdog = common::Watchdog::new(
        "killed_server_gives_errors_then_the_same_entry_recovers",
        common::TEST_LIMIT,
    );
    let mut server = start_server();
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = fault_config(&server.url());

    let pool = clients.get(&config).await.unwrap();
    let mut conn = pool.get().await.unwrap();
    let () = conn.set("k", "v").await.unwrap();
    let peak = server.client_count().unwrap();

    server.stop().unwrap();

    // The live connection fails with an error: no panic, no hang.
    let res: redis::RedisResult<String> = tokio::time::timeout(HANG_GUARD, conn.get("k"))
        .await
        .expect("a command on a dead server hung");
    let err = res.unwrap_err();
    println!("faults: command on the dead server: {err}");
    // A new connection cannot be had either; the error names host:port.
    let err = tokio::time::timeout(HANG_GUARD, pool.get())
        .await
        .expect("get() on a dead server hung")
        .unwrap_err();
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert_eq!(err.addr(), Some(config.addr().as_str()));
    assert!(err.to_string().contains(&config.addr()), "{err}");
    println!("faults: get on the dead server: {err}");
    drop(conn); // the broken connection goes back; recycling will discard it

    // The cache still has the entry: a lookup is a hit, not a new pool.
    let again = clients.get(&config).await.unwrap();
    assert!(RedisPool::same_entry(&pool, &again));

    server.restart().unwrap();
    assert_eq!(server.port(), config.port());

    // The same entry recovers within a bounded time.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut attempts = 0;
    let recovered = loop {
        attempts += 1;
        let res = async {
            let mut conn = again.get().await.map_err(|e| e.to_string())?;
            let () = conn.set("k2", "v2").await.map_err(|e| e.to_string())?;
            conn.get::<_, String>("k2").await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(HANG_GUARD, res).await {
            Ok(Ok(v)) => break v,
            Ok(Err(e)) if Instant::now() < deadline => {
                println!("faults: recovery attempt {attempts}: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(Err(e)) => panic!("no recovery after {attempts} attempts: {e}"),
            Err(_) => panic!("a recovery attempt hung"),
        }
    };
    assert_eq!(recovered, "v2");
    let stats = clients.owned_stats();
    assert_eq!(stats.inserts, 1, "recovered in place, no new pool: {stats:?}");
    let recovered_count = server.client_count().unwrap();

    drop((pool, again));
    common::shutdown(&clients).await;
    let after = assert_settles(&server, baseline, "after shutdown").await;
    println!(
        "faults: baseline={baseline} peak={peak} after restart={recovered_count} after={after} (recovered after {attempts} attempts)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_typed_error_naming_host_and_port() {
    let _watchdog = common::Watchdog::new(
        "an_unreachable_server_is_a_typed_error_naming_host_and_port",
        common::TEST_LIMIT,
    );
    // A port where nothing listens: a server that was started and stopped.
    let mut server = start_server();
    server.stop().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = fault_config(&server.url());
    let err = tokio::time::timeout(HANG_GUARD, clients.get(&config))
        .await
        .expect("get() on an unreachable server hung")
        .unwrap_err();
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert_eq!(err.addr(), Some(config.addr().as_str()));
    println!("faults/unreachable: {err}");
    // The failure is not cached: once the server is up, the same call works.
    server.restart().unwrap();
    let pool = clients.get(&config).await.unwrap();
    common::set_get(&pool, "k").await.unwrap();
    assert!(clients.get(&config).await.is_ok());
    drop(pool);
    common::shutdown(&clients).await;
    assert_settles(&server, 0, "after shutdown").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_url_is_a_typed_error() {
    let _watchdog = common::Watchdog::new("an_invalid_url_is_a_typed_error", common::TEST_LIMIT);
    let err = RedisConfig::from_url("redis://127.0.0.1:notaport/0").unwrap_err();
    assert_eq!(err.kind(), tenure_redis::ErrorKind::InvalidUrl, "{err:?}");
    println!("faults/invalid url: {err}");
}
