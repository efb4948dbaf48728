//! A borrower who changes its connection's state (database, user) does not
//! hand that state to the next borrower of an owned pool: the connection is
//! discarded when it comes back into use, and the next borrower gets a fresh
//! one in the configured state. A pool that cannot authenticate is refused.

mod common;

use common::start_server;
use tenure_redis::deadpool_redis::redis::{self, AsyncCommands};
use tenure_redis::{ErrorKind, RedisClients, RedisConfig};

/// A private server with two ACL users besides the default one: `alice`
/// (password `alice-pw`) and `nopass-user` (any password, or none).
fn server_with_users() -> tenure_test_support::RedisServer {
    let server = start_server();
    for user in [["alice", ">alice-pw"], ["nopass-user", "nopass"]] {
        server
            .command(&["ACL", "SETUSER", user[0], "on", user[1], "~*", "+@all"])
            .unwrap_or_else(|e| panic!("ACL SETUSER {}: {e}", user[0]));
    }
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_borrowers_select_or_auth_never_reaches_the_next_borrower() {
    let _watchdog = common::Watchdog::new(
        "a_borrowers_select_or_auth_never_reaches_the_next_borrower",
        common::TEST_LIMIT,
    );
    let server = server_with_users();
    let clients = RedisClients::new().unwrap();
    let config = RedisConfig::builder(&server.url())
        .max_connections(1) // one connection: the next borrower would get the same one
        .build()
        .unwrap();
    let pool = clients.get(&config).await.unwrap();

    // Database: SELECT 7 on the pool's only connection.
    let first_id: i64 = {
        let mut conn = pool.get().await.unwrap();
        let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
        redis::cmd("SELECT").arg(7).query_async::<()>(&mut conn).await.unwrap();
        let () = conn.set("poison", 1).await.unwrap();
        id
    };
    let mut conn = pool.get().await.unwrap();
    let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
    assert_ne!(id, first_id, "the changed connection was discarded");
    let poison: Option<i64> = conn.get("poison").await.unwrap();
    assert_eq!(poison, None, "the next borrower is on database 0");
    drop(conn);

    // User: AUTH as another user.
    {
        let mut conn = pool.get().await.unwrap();
        redis::cmd("AUTH")
            .arg("alice")
            .arg("alice-pw")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
    let mut conn = pool.get().await.unwrap();
    let user: String = redis::cmd("ACL").arg("WHOAMI").query_async(&mut conn).await.unwrap();
    assert_eq!(user, "default", "the next borrower is the configured user");
    drop(conn);

    // An unchanged connection is lent again, not replaced.
    let mut conn = pool.get().await.unwrap();
    let kept: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
    drop(conn);
    let mut conn = pool.get().await.unwrap();
    let again: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
    assert_eq!(kept, again);
    drop(conn);
    drop(pool);
    common::shutdown(&clients).await;
}

/// The client-side half (`borrower_state.rs`): a connection dropped in a
/// transaction (`MULTI` without `EXEC`), watching keys, or after a command
/// tenure cannot undo is discarded at once, when dropped (the pool's size goes
/// down then, not at the next checkout's `CLIENT INFO` check, which a server
/// before Redis 6.2 skips). A completed transaction, an atomic pipeline,
/// `WATCH` then `EXEC` or `UNWATCH`, and a read-only `CLIENT` subcommand keep
/// the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_left_in_a_transaction_watching_or_changed_is_discarded_when_dropped() {
    let _watchdog = common::Watchdog::new(
        "a_connection_left_in_a_transaction_watching_or_changed_is_discarded_when_dropped",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let clients = RedisClients::new().unwrap();
    let config = RedisConfig::builder(&server.url()).max_connections(1).build().unwrap();
    let pool = clients.get(&config).await.unwrap();

    // Controls: one connection throughout.
    let kept: i64 = {
        let mut conn = pool.get().await.unwrap();
        let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
        let () = redis::cmd("MULTI").query_async(&mut conn).await.unwrap();
        let _: redis::Value = conn.set("k", 1).await.unwrap();
        let (ok,): (String,) = redis::cmd("EXEC").query_async(&mut conn).await.unwrap();
        assert_eq!(ok, "OK");
        let () = redis::cmd("MULTI").query_async(&mut conn).await.unwrap();
        let () = redis::cmd("DISCARD").query_async(&mut conn).await.unwrap();
        let (n,): (i64,) = redis::pipe()
            .atomic()
            .incr("n", 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let () = redis::cmd("WATCH").arg("w").query_async(&mut conn).await.unwrap();
        let committed: Option<(i64,)> = redis::pipe()
            .atomic()
            .incr("n", 1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(committed, Some((2,)));
        let () = redis::cmd("WATCH").arg("w").query_async(&mut conn).await.unwrap();
        let () = redis::cmd("UNWATCH").query_async(&mut conn).await.unwrap();
        let _: String = redis::cmd("CLIENT").arg("INFO").query_async(&mut conn).await.unwrap();
        // A transaction the server aborts (a command refused while queued:
        // `EXECABORT`) is ended, whether sent as an atomic pipeline or by hand.
        let aborted: redis::RedisResult<redis::Value> = redis::pipe().atomic().cmd("GET").query_async(&mut conn).await;
        assert_eq!(aborted.unwrap_err().code(), Some("EXECABORT"));
        let () = redis::cmd("MULTI").query_async(&mut conn).await.unwrap();
        let _: redis::RedisResult<redis::Value> = redis::cmd("GET").query_async(&mut conn).await;
        let aborted: redis::RedisResult<redis::Value> = redis::cmd("EXEC").query_async(&mut conn).await;
        assert_eq!(aborted.unwrap_err().code(), Some("EXECABORT"));
        // The same by hand in one plain (not atomic) pipeline: committed, and
        // aborted (the server shows the connection in no transaction).
        let committed: redis::RedisResult<redis::Value> = redis::pipe()
            .cmd("MULTI")
            .cmd("SET")
            .arg("k")
            .arg(1)
            .cmd("EXEC")
            .query_async(&mut conn)
            .await;
        assert!(committed.is_ok(), "{committed:?}");
        let aborted: redis::RedisResult<redis::Value> = redis::pipe()
            .cmd("MULTI")
            .cmd("GET")
            .cmd("EXEC")
            .query_async(&mut conn)
            .await;
        assert!(aborted.is_err(), "{aborted:?}");
        let info: String = redis::cmd("CLIENT").arg("INFO").query_async(&mut conn).await.unwrap();
        assert!(info.contains(" multi=-1 "), "in no transaction: {info}");
        id
    };
    assert_eq!(pool.status().size, 1, "completed transactions keep the connection");
    {
        let mut conn = pool.get().await.unwrap();
        let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
        assert_eq!(id, kept, "the same connection");
    }

    // Each of these is left behind by a borrower: the connection is
    // discarded when dropped.
    let left: [&[&[&str]]; 5] = [
        &[&["MULTI"], &["SET", "k", "2"]],
        &[&["WATCH", "w"]],
        &[&["MULTI"], &["MULTI"]],
        &[&["CLIENT", "SETNAME", "borrower-1"]],
        &[&["CLIENT", "NO-EVICT", "on"]],
    ];
    for commands in left {
        {
            let mut conn = pool.get().await.unwrap();
            for args in commands {
                let mut cmd = redis::cmd(args[0]);
                cmd.arg(&args[1..]);
                // A nested `MULTI` is refused: the transaction stays open.
                let _: redis::RedisResult<redis::Value> = cmd.query_async(&mut conn).await;
            }
        }
        assert_eq!(
            pool.status().size,
            0,
            "{commands:?}: the connection was discarded when dropped"
        );
        let mut conn = pool.get().await.unwrap();
        let value: Option<i64> = conn.get("k").await.unwrap();
        assert_eq!(value, Some(1), "{commands:?}: the next borrower's commands run");
    }
    drop(pool);
    common::shutdown(&clients).await;
    common::assert_settles(&server, 0, "after shutdown").await;
}

/// The check expects the user the connections really are: a configured user
/// with a password, and the default user when a username comes without a
/// password (the `redis` crate then sends no `AUTH`). An unchanged connection
/// is lent again in each case, in both protocols, instead of being replaced at
/// every checkout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_connections_are_kept_whatever_the_credentials() {
    let _watchdog = common::Watchdog::new(
        "unchanged_connections_are_kept_whatever_the_credentials",
        common::TEST_LIMIT,
    );
    let server = server_with_users();
    let clients = RedisClients::new().unwrap();
    let port = server.port();
    for (url, user) in [
        (format!("redis://alice:alice-pw@127.0.0.1:{port}/0"), "alice"),
        (
            format!("redis://alice:alice-pw@127.0.0.1:{port}/0?protocol=resp3"),
            "alice",
        ),
        (format!("redis://nopass-user@127.0.0.1:{port}/0"), "default"),
        (
            format!("redis://nopass-user@127.0.0.1:{port}/0?protocol=resp3"),
            "default",
        ),
    ] {
        let config = RedisConfig::builder(&url).max_connections(1).build().unwrap();
        let pool = clients.get(&config).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let mut conn = pool.get().await.unwrap();
            let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut conn).await.unwrap();
            let whoami: String = redis::cmd("ACL").arg("WHOAMI").query_async(&mut conn).await.unwrap();
            assert_eq!(whoami, user, "{config}");
            ids.push(id);
        }
        assert!(
            ids.iter().all(|&id| id == ids[0]),
            "{config}: connection replaced: {ids:?}"
        );
        drop(pool);
    }
    common::shutdown(&clients).await;
}

/// A server that needs a password accepts the connection of a configuration
/// without one; only a command fails (`NOAUTH`). `get` sends a `PING` on its
/// first connection, so such a pool is refused with a typed error, not cached,
/// and every later caller does not inherit it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_cannot_authenticate_is_refused_not_cached() {
    let _watchdog = common::Watchdog::new(
        "a_pool_that_cannot_authenticate_is_refused_not_cached",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let port = server.port();
    // The last command of the harness's own (password-less) connections.
    server
        .command(&["CONFIG", "SET", "requirepass", "the-pw"])
        .expect("CONFIG SET requirepass");
    let clients = RedisClients::new().unwrap();

    let without = RedisConfig::from_url(&format!("redis://127.0.0.1:{port}/0")).unwrap();
    let err = clients
        .get(&without)
        .await
        .expect_err("a pool that cannot run a command");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    assert_eq!(err.addr(), Some(format!("127.0.0.1:{port}").as_str()));
    assert!(err.to_string().contains("NOAUTH"), "{err}");
    assert!(clients.is_empty(), "not cached");

    let with = RedisConfig::from_url(&format!("redis://:the-pw@127.0.0.1:{port}/0")).unwrap();
    let pool = clients.get(&with).await.expect("the password logs in");
    let mut conn = pool.get().await.unwrap();
    let reply: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(reply, "PONG");
    drop((conn, pool));
    assert!(clients.shutdown().await.is_complete());
}
