//! URL passwords never appear in Debug, Display, errors or tracing output.

#[path = "common/capture.rs"]
mod capture;
mod common;

use capture::captured;
use common::start_server;
use tenure_redis::{RedisClients, RedisConfig};

const SECRET: &str = "s3cret";

fn assert_redacted(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the password: {text}");
}

#[test]
fn config_debug_display_and_url_errors_never_show_the_password() {
    let _ = captured(); // before anything may emit an event; see `captured`
    let config = RedisConfig::from_url("redis://user:s3cret@127.0.0.1:6390/0").unwrap();
    assert_redacted("Display", &config.to_string());
    assert_redacted("Debug", &format!("{config:?}"));
    assert_redacted("Debug (pretty)", &format!("{config:#?}"));
    assert_eq!(config.to_string(), "redis://***:***@127.0.0.1:6390/0");
    assert!(format!("{config:?}").contains("<redacted>"));
    let builder = RedisConfig::builder("redis://user:s3cret@127.0.0.1:6390/0");
    assert_redacted("builder Debug", &format!("{builder:?}"));
    let pool = config.create_pool().unwrap();
    assert_redacted("deadpool Pool Debug", &format!("{pool:?}"));

    for url in [
        "redis://user:s3cret@127.0.0.1:99999/0",
        "redis://user:s3cret@127.0.0.1:6390/notadb",
        "redis://user:s3cret@127.0.0.1:6390/0?protocol=9",
        "redis://user:s3cret@127.0.0.1:6390/0?timeout=1",
        "redis://user:s3cret@127.0.0.1:6390/0#frag",
        "rediss://user:s3cret@127.0.0.1:6390/0#insecure",
        "http://user:s3cret@127.0.0.1:6390/0",
        "redis://user:s3cret@/0",
        "redis://user:s3cret%FF@127.0.0.1/0",
        "redis://user:s3cret@0.0.0.0/0",
        "user:s3cret@127.0.0.1:6390",
        "s3cret",
        // A `/`, `?` or `#` left unencoded in the credentials.
        "redis://user:12/s3cret@127.0.0.1:6390/0",
        "redis://user:12?s3cret=x@127.0.0.1:6390/0",
        "redis://user:12#s3cret@127.0.0.1:6390/0",
        "redis+sentinel://user:12/s3cret@mymaster",
        "redis+sentinel://user:12?s3cret@s1/mymaster",
    ] {
        let err = RedisConfig::from_url(url).unwrap_err();
        assert_redacted(url, &err.to_string());
        assert_redacted(url, &format!("{err:?}"));
        println!("{url:?} -> {err}");
    }
    #[cfg(not(feature = "rustls"))]
    assert_eq!(
        RedisConfig::from_url("rediss://user:s3cret@127.0.0.1:6390/0").map_err(|e| e.kind()),
        Err(tenure_redis::ErrorKind::TlsNotEnabled)
    );
    #[cfg(feature = "rustls")]
    {
        let url = "rediss://user:s3cret@127.0.0.1:6390/0";
        let tls = RedisConfig::from_url(url).unwrap();
        assert_redacted(url, &tls.to_string());
        assert_redacted(url, &format!("{tls:?}"));
        assert_eq!(tls.to_string(), "rediss://***:***@127.0.0.1:6390/0");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn connection_errors_pools_and_tracing_never_show_the_password() {
    let buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new(
        "connection_errors_pools_and_tracing_never_show_the_password",
        common::TEST_LIMIT,
    );
    let mut server = start_server();
    let port = server.port();
    // An ACL user whose password is NOT the URL's: authentication fails.
    server
        .command(&["ACL", "SETUSER", "user", "on", ">other-password", "~*", "&*", "+@all"])
        .unwrap();
    let clients = RedisClients::new().unwrap();
    let url = format!("redis://user:{SECRET}@127.0.0.1:{port}/0");
    let config = RedisConfig::from_url(&url).unwrap();

    let err = clients.get(&config).await.unwrap_err();
    assert_redacted("auth error Display", &err.to_string());
    assert_redacted("auth error Debug", &format!("{err:?}"));
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
    println!("wrong password: {err}");

    // The right password: it connects, and handles and connections stay redacted.
    server
        .command(&["ACL", "SETUSER", "user", "resetpass", &format!(">{SECRET}")])
        .unwrap();
    let pool = clients.get(&config).await.unwrap();
    common::set_get(&pool, "k").await.unwrap();
    let conn = pool.get().await.unwrap();
    assert_redacted("RedisPool Debug", &format!("{pool:?}"));
    assert_redacted("RedisConnection Debug", &format!("{conn:?}"));
    assert_redacted("RedisClients Debug", &format!("{clients:?}"));
    drop(conn);

    // Unreachable: the server is gone.
    server.stop().unwrap();
    let err = pool.get().await.map(|_| ()).unwrap_err();
    let fresh = RedisConfig::builder(&url).database(1).build().unwrap();
    let err2 = clients.get(&fresh).await.unwrap_err();
    for e in [&err, &err2] {
        assert_redacted("unreachable error Display", &e.to_string());
        assert_redacted("unreachable error Debug", &format!("{e:?}"));
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    }
    drop(pool);
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert_redacted("ShutdownReport Debug", &format!("{report:?}"));

    let logged = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "nothing was logged: the capture is broken");
    assert_redacted("tracing output", &logged);
    println!("tracing output ({} bytes) is redacted", logged.len());
}

/// Cluster and sentinel configurations: a wrong password (for the cluster's nodes,
/// for the master, for the sentinels) fails with errors that never show it, and
/// nothing logged shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_sentinel_errors_and_tracing_never_show_the_password() {
    let buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new(
        "cluster_and_sentinel_errors_and_tracing_never_show_the_password",
        common::TEST_LIMIT,
    );
    let clients = RedisClients::new().unwrap();

    let cluster = tenure_test_support::RedisCluster::start(3).expect("a Redis Cluster starts");
    let nodes: Vec<String> = cluster
        .nodes()
        .iter()
        .map(|n| format!("redis://app:{SECRET}@127.0.0.1:{}", n.port()))
        .collect();
    let config = RedisConfig::cluster_builder(&nodes)
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    assert_redacted("cluster Display", &config.to_string());
    assert_redacted("cluster Debug", &format!("{config:?}"));
    assert_redacted(
        "cluster builder Debug",
        &format!("{:?}", RedisConfig::cluster_builder(&nodes)),
    );
    let err = clients.get(&config).await.unwrap_err();
    println!("cluster, unknown user: {err}");
    assert_redacted("cluster auth error Display", &err.to_string());
    assert_redacted("cluster auth error Debug", &format!("{err:?}"));
    assert!(err.to_string().contains("cluster 127.0.0.1:"), "{err}");

    let deployment = tenure_test_support::RedisSentinels::start(0, 1, std::time::Duration::from_secs(5))
        .expect("a sentinel deployment starts");
    let url = deployment
        .sentinel_url()
        .replace("redis+sentinel://", &format!("redis+sentinel://app:{SECRET}@"));
    for config in [
        // The master refuses the unknown user.
        RedisConfig::from_url(&url).unwrap(),
        // The sentinel has no password: AUTH to it fails.
        RedisConfig::builder(&deployment.sentinel_url())
            .sentinel_password(SECRET)
            .build()
            .unwrap(),
    ] {
        assert_redacted("sentinel Display", &config.to_string());
        assert_redacted("sentinel Debug", &format!("{config:?}"));
        let err = clients.get(&config).await.unwrap_err();
        println!("sentinel, refused credentials: {err}");
        assert_redacted("sentinel auth error Display", &err.to_string());
        assert_redacted("sentinel auth error Debug", &format!("{err:?}"));
        assert!(err.to_string().contains("sentinel service"), "{err}");
    }
    assert_redacted("RedisClients Debug", &format!("{clients:?}"));
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert_redacted("ShutdownReport Debug", &format!("{report:?}"));
    let logged = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "nothing was logged: the capture is broken");
    assert_redacted("tracing output", &logged);
}

/// `Display`, `Debug` and every `source()` of `err`, one a line.
fn every_rendering(err: &tenure_redis::Error) -> String {
    let mut shown = format!("{err}\n{err:?}");
    let mut source = std::error::Error::source(err);
    // An error chain is finite; the bound only keeps a cycle from hanging the test.
    for _ in 0..16 {
        let Some(cause) = source else { break };
        shown.push_str(&format!("\n{cause}\n{cause:?}"));
        source = cause.source();
    }
    shown
}

/// `?protocol=3` against a server that does not know `HELLO` (Redis before 6,
/// or `HELLO` renamed or disabled): the server's reply quotes the handshake's
/// arguments, `HELLO 3 AUTH <user> <password>`. Neither the error (message,
/// `Debug`, sources) nor tracing shows them, for a standalone pool the cache
/// creates, a handed-in pool's `get`, and a cluster configuration; the error
/// still says what the server refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_quoting_the_handshake_never_shows_the_credentials() {
    const USER: &str = "hello-less-user";
    let buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new(
        "a_reply_quoting_the_handshake_never_shows_the_credentials",
        common::TEST_LIMIT,
    );
    let server = tenure_test_support::RedisServer::start_with_args(&["--rename-command", "HELLO", ""])
        .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
    let port = server.port();
    // The last command of the harness's own (password-less) connections.
    server.command(&["CONFIG", "SET", "requirepass", SECRET]).unwrap();
    let url = format!("redis://{USER}:{SECRET}@127.0.0.1:{port}/0?protocol=3");
    let config = RedisConfig::builder(&url)
        .connect_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let clients = RedisClients::new().unwrap();

    let created = clients.get(&config).await.unwrap_err();
    let shared = clients
        .insert_shared(config.clone(), config.create_pool().unwrap())
        .unwrap();
    let checked_out = shared.get().await.map(drop).unwrap_err();
    clients.invalidate(&config);
    let mut errors = vec![("standalone get", created), ("RedisPool::get", checked_out)];
    #[cfg(feature = "cluster")]
    {
        let cluster = RedisConfig::cluster_builder([format!("redis://{USER}:{SECRET}@127.0.0.1:{port}?protocol=3")])
            .connect_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        errors.push(("cluster get", clients.get(&cluster).await.unwrap_err()));
    }
    for (what, err) in &errors {
        println!("{what}: {err}");
        assert_eq!(err.kind(), tenure_redis::ErrorKind::Connection, "{what}: {err:?}");
        assert!(!err.is_timeout() && !err.is_closed(), "{what}: {err:?}");
        let shown = every_rendering(err);
        assert_redacted(what, &shown);
        assert!(!shown.contains(USER), "{what} shows the username: {shown}");
        assert!(shown.contains(&format!("127.0.0.1:{port}")), "{what}: {shown}");
        assert!(
            err.to_string()
                .contains("unknown command 'HELLO', with args beginning with: (not shown)"),
            "{what}: {err}"
        );
    }
    drop(shared);
    common::shutdown(&clients).await;
    let logged = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    // This test's own events (the buffer holds the whole binary's), with the
    // server's quoted reply in them.
    let server = format!("127.0.0.1:{port}");
    assert!(
        logged
            .lines()
            .any(|line| line.contains("Redis pool creation failed") && line.contains(&server)),
        "the events were captured: {logged}"
    );
    assert_redacted("tracing output", &logged);
    assert!(!logged.contains(USER), "tracing output shows the username: {logged}");
}

/// A password written in the username slot (`redis://pw@host`) is a username to
/// the URL parser: usernames are never shown either, in `Display`, `Debug`, or the
/// `creating a Redis pool` event.
#[tokio::test(flavor = "current_thread")]
async fn a_password_in_the_username_slot_is_never_shown() {
    const USER_SLOT: &str = "userslotpw";
    let buf = captured(); // first; see `captured`
    // Port 1 on the loopback: nothing listens, the connection is refused at once.
    let config = RedisConfig::builder(&format!("redis://{USER_SLOT}@127.0.0.1:1/0"))
        .connect_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    for shown in [config.to_string(), format!("{config:?}"), format!("{config:#?}")] {
        assert!(!shown.contains(USER_SLOT), "{shown}");
    }
    assert_eq!(config.to_string(), "redis://***@127.0.0.1:1/0");
    let clients = RedisClients::new().unwrap();
    let err = clients.get(&config).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(USER_SLOT), "{err:?}");
    let report = clients.shutdown_within(common::SHUTDOWN_LIMIT).await;
    assert!(!format!("{report:?}").contains(USER_SLOT));
    let logged = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    let event = logged
        .lines()
        .find(|line| line.contains("creating a Redis pool") && line.contains("127.0.0.1:1/0"))
        .unwrap_or_else(|| panic!("the event was captured: {logged}"));
    assert!(event.contains("redis://***@127.0.0.1:1/0"), "{event}");
    assert!(
        !logged.contains(USER_SLOT),
        "tracing output shows the username: {logged}"
    );

    // Nor the pool `create_pool` builds: deadpool-redis's `Debug` shows the
    // `redis` crate's connection info, username included; it is set only with
    // a password (the only case in which the `redis` crate sends it).
    let pool = config.create_pool().unwrap();
    let shown = format!("{pool:?} {pool:#?}");
    assert!(shown.contains("username: None"), "{shown}");
    assert!(!shown.contains(USER_SLOT), "create_pool's Debug: {shown}");
}

/// A command's error (`ErrorKind::Command`, made by `?` from the `redis`
/// crate's `RedisError`): its message and `Debug` cut the arguments a server
/// quotes back, as a connection error's do, while its `source()` is the
/// `redis` crate's error unchanged, as the crate docs say (tenure cannot
/// scrub that one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_error_cuts_the_arguments_the_server_quotes() {
    let _buf = captured(); // first; see `captured`
    let _watchdog = common::Watchdog::new(
        "a_command_error_cuts_the_arguments_the_server_quotes",
        common::TEST_LIMIT,
    );
    let server = start_server();
    let clients = RedisClients::new().unwrap();
    let pool = clients.get(&common::config(&server)).await.unwrap();
    let mut conn = pool.get().await.unwrap();
    let failed = tenure_redis::deadpool_redis::redis::cmd("NO-SUCH-COMMAND")
        .arg("AUTH")
        .arg(SECRET)
        .query_async::<()>(&mut conn)
        .await
        .unwrap_err();
    let err = tenure_redis::Error::from(failed);
    assert_eq!(err.kind(), tenure_redis::ErrorKind::Command, "{err:?}");
    let own = format!("{err}\n{err:?}\n{err:#?}");
    assert_redacted("a command error's message and Debug", &own);
    assert!(
        err.to_string()
            .contains("unknown command 'NO-SUCH-COMMAND', with args beginning with: (not shown)"),
        "{err}"
    );
    assert!(format!("{err:?}").contains("(not shown)"), "{err:?}");
    let source = std::error::Error::source(&err).expect("the redis crate's error");
    assert!(source.is::<tenure_redis::deadpool_redis::redis::RedisError>());
    assert!(
        source.to_string().contains(SECRET),
        "the source is as the redis crate wrote it: {source}"
    );
    drop((conn, pool));
    common::shutdown(&clients).await;
}
