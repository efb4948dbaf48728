//! A pool whose user the server's ACL does not allow every command of the
//! recycle: without `CLIENT INFO` (`NOPERM`) the state check is skipped, as
//! on a server that lacks the command, and connections are still reused;
//! without `UNWATCH` or `PING` (or `ROLE` for sentinel) each recycled
//! connection is discarded, as the crate docs say.

#[path = "common/capture.rs"]
mod capture;
mod common;

use std::time::Duration;

use capture::captured;
use common::start_server;
use tenure_redis::{RedisClients, RedisConfig, RedisPool, deadpool_redis::redis};
use tenure_test_support::RedisServer;

const USER: &str = "limited-user";
const PASSWORD: &str = "limited-pw";

/// Gives `server` the user [`USER`], allowed every command but `denied`.
fn deny(server: &RedisServer, denied: &str) {
    let except = format!("-{denied}");
    let password = format!(">{PASSWORD}");
    server
        .command(&["ACL", "SETUSER", USER, "on", &password, "~*", "+@all", &except])
        .unwrap_or_else(|e| panic!("ACL SETUSER {USER}: {e}"));
}

/// A private server with the user [`USER`], allowed every command but `denied`.
fn server_denying(denied: &str) -> RedisServer {
    let server = start_server();
    deny(&server, denied);
    server
}

/// The connections the server has accepted so far, counting the admin
/// connection that asks (each admin call opens one of its own).
fn connections_received(server: &RedisServer) -> u64 {
    server
        .info_field("stats", "total_connections_received")
        .expect("INFO stats")
        .and_then(|value| value.parse().ok())
        .expect("INFO stats has total_connections_received")
}

/// The connections the server accepted between two [`connections_received`]
/// calls, without the second call's own.
fn opened_between(before: u64, after: u64) -> u64 {
    after - before - 1
}

/// Checks a connection out of `pool` `times` times in a row, each dropped
/// before the next, and returns each one's server-side id.
async fn ids_of_checkouts(pool: &RedisPool, times: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(times);
    for _ in 0..times {
        let mut conn = pool.get().await.expect("a checkout");
        ids.push(
            redis::cmd("CLIENT")
                .arg("ID")
                .query_async(&mut conn)
                .await
                .expect("CLIENT ID"),
        );
    }
    ids
}

fn config(server: &RedisServer) -> RedisConfig {
    let url = format!("redis://{USER}:{PASSWORD}@127.0.0.1:{}/0", server.port());
    RedisConfig::builder(&url)
        .max_connections(1)
        .response_timeout(Duration::from_secs(5))
        .build()
        .expect("a valid URL")
}

/// A user without `client|info`: the checkout check is skipped (as on a
/// server before Redis 6.2) instead of discarding every recycled connection.
/// Six checkouts from a pool of one connection open one connection, not six;
/// the skip is logged once for the pool, naming the missing permission and
/// neither the user nor the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_client_info_keeps_its_connections() {
    let buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new("a_user_without_client_info_keeps_its_connections", common::TEST_LIMIT);
    let server = server_denying("client|info");
    let clients = RedisClients::new().unwrap();
    let before = connections_received(&server);
    let pool = clients.get(&config(&server)).await.unwrap();
    let ids = ids_of_checkouts(&pool, 6).await;
    let opened = opened_between(before, connections_received(&server));
    assert_eq!(opened, 1, "six checkouts opened {opened} connections (ids {ids:?})");
    assert!(ids.iter().all(|&id| id == ids[0]), "connection replaced: {ids:?}");

    let logged = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    let warnings: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("CLIENT INFO"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning for the pool: {logged}");
    assert!(warnings[0].contains("+client|info"), "{}", warnings[0]);
    assert!(
        warnings[0].contains(&format!("127.0.0.1:{}", server.port())),
        "{}",
        warnings[0]
    );
    assert!(
        !logged.contains(USER) && !logged.contains(PASSWORD),
        "the events show the credentials: {logged}"
    );
    drop(pool);
    common::shutdown(&clients).await;
}

/// A user without `UNWATCH` or `PING`, the other commands of the standalone
/// recycle: without `PING`, `RedisClients::get` (whose first connection is
/// sent one) fails; without `UNWATCH`, the pool works but every recycled
/// connection is discarded, so each checkout opens a new connection. What
/// the crate docs say ("On checkout").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_without_unwatch_or_ping_is_as_documented() {
    let _buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new("a_user_without_unwatch_or_ping_is_as_documented", common::TEST_LIMIT);
    let clients = RedisClients::new().unwrap();

    let server = server_denying("ping");
    let err = clients.get(&config(&server)).await.unwrap_err();
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{err:?}");
    assert!(
        err.to_string().contains("no permissions to run the 'ping' command"),
        "{err}"
    );
    assert!(clients.is_empty(), "not cached");

    let server = server_denying("unwatch");
    let before = connections_received(&server);
    let pool = clients.get(&config(&server)).await.unwrap();
    let ids = ids_of_checkouts(&pool, 3).await;
    let opened = opened_between(before, connections_received(&server));
    assert_eq!(opened, 4, "the first connection and one a checkout (ids {ids:?})");
    drop(pool);
    common::shutdown(&clients).await;
}

/// A sentinel pool's user without `ROLE`, which its recycle sends to check
/// that the server is still the master: the connection is made (the `redis`
/// crate's own role check falls back to `INFO replication`), but every
/// recycled connection is discarded, as the crate docs say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_user_without_role_is_as_documented() {
    let _buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new("a_sentinel_user_without_role_is_as_documented", common::TEST_LIMIT);
    let deployment = tenure_test_support::RedisSentinels::start(0, 1, Duration::from_millis(1000))
        .unwrap_or_else(|e| panic!("cannot start a Sentinel deployment: {e}"));
    let master = &deployment.servers()[0];
    deny(master, "role");
    let config = RedisConfig::builder(&deployment.sentinel_url())
        .username(USER)
        .password(PASSWORD)
        .max_connections(1)
        .build()
        .unwrap();
    let clients = RedisClients::new().unwrap();
    let before = connections_received(master);
    let pool = clients.get(&config).await.unwrap();
    let ids = ids_of_checkouts(&pool, 3).await;
    let after = connections_received(master);
    assert_eq!(ids.len(), 3);
    assert!(
        ids.windows(2).all(|pair| pair[0] != pair[1]),
        "a connection was reused: {ids:?}"
    );
    // Each creation also opens the role check's connection, closed at once.
    assert!(opened_between(before, after) >= 4, "{before} -> {after} (ids {ids:?})");
    drop(pool);
    common::shutdown(&clients).await;
}
