//! The `RedisServer` harness itself: private process, client counting, stop/restart.

mod common;

use std::time::Duration;

use tenure_test_support::{
    RedisServer,
    redis_server::{INSTALL_HINT, missing_server_hint, redis_server_available},
};

const SETTLE: Duration = Duration::from_secs(5);

fn start() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("cannot start redis-server: {e}"))
}

#[test]
fn redis_server_is_installed() {
    assert!(redis_server_available(), "{}", missing_server_hint());
    assert!(INSTALL_HINT.contains("apt-get install redis-server"));
}

#[test]
fn starts_on_a_private_port_without_persistence() {
    let server = start();
    assert_ne!(server.port(), 6379, "never the shared Redis");
    assert_eq!(server.url(), format!("redis://127.0.0.1:{}/0", server.port()));
    assert_eq!(server.command(&["PING"]).unwrap(), "PONG");
    let save = server.command(&["CONFIG", "GET", "save"]).unwrap();
    assert_eq!(save, "save\n", "persistence must be off");
    let aof = server.command(&["CONFIG", "GET", "appendonly"]).unwrap();
    assert_eq!(aof, "appendonly\nno");
}

#[test]
fn two_servers_get_two_ports() {
    let a = start();
    let b = start();
    assert_ne!(a.port(), b.port());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_clients_but_not_its_own_admin_connections() {
    let server = start();
    let baseline = server.client_count().unwrap();
    assert_eq!(baseline, 0);

    let client = deadpool_redis::redis::Client::open(server.url()).unwrap();
    let mut a = client.get_multiplexed_async_connection().await.unwrap();
    let mut b = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = deadpool_redis::redis::cmd("PING").query_async(&mut a).await.unwrap();
    let _: () = deadpool_redis::redis::cmd("PING").query_async(&mut b).await.unwrap();
    let peak = server.client_count().unwrap();
    drop((a, b));
    let after = server.wait_for_client_count(baseline, SETTLE).await.unwrap();
    println!("harness: baseline={baseline} peak={peak} after={after}");
    assert_eq!(peak, 2);
    assert_eq!(after, baseline, "dropped connections are closed server-side");
}

#[test]
fn stop_and_restart_keep_the_port() {
    let mut server = start();
    let port = server.port();
    server.command(&["SET", "k", "v"]).unwrap();
    server.stop().unwrap();
    assert!(!server.is_running());
    assert!(server.client_count().is_err(), "a stopped server is unreachable");
    server.stop().unwrap(); // stopping twice is fine

    server.restart().unwrap();
    assert!(server.is_running());
    assert_eq!(server.port(), port);
    assert_eq!(server.command(&["PING"]).unwrap(), "PONG");
    assert_eq!(
        server.command(&["GET", "k"]).unwrap(),
        "",
        "a restarted server is empty"
    );
    server.restart().unwrap(); // restarting a running server works too
    assert_eq!(server.port(), port);
}

#[test]
fn drop_kills_the_process() {
    let server = start();
    let addr = server.addr();
    drop(server);
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "the server still accepts connections after drop"
    );
}

#[test]
fn command_errors_are_reported() {
    let server = start();
    let err = server.command(&["NOSUCHCOMMAND"]).unwrap_err();
    assert!(err.to_string().contains("redis error"), "{err}");
}

/// Set in the child process of `a_missing_redis_server_fails_with_the_install_hint`.
/// The child's `REDIS_SERVER_BIN` names a binary that does not exist: the error
/// names the variable and says how to install the server.
const CHILD_ENV: &str = "TENURE_REDIS_MISSING_SERVER_CHILD";

#[test]
fn a_missing_redis_server_fails_with_the_install_hint() {
    if std::env::var_os(CHILD_ENV).is_some() {
        // Child: REDIS_SERVER_BIN points nowhere.
        assert!(!redis_server_available());
        let err = RedisServer::start().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(err.to_string().contains("apt-get install redis-server"), "{err}");
        assert!(
            err.to_string()
                .contains("REDIS_SERVER_BIN=/nonexistent/redis-server does not run"),
            "{err}"
        );
        return;
    }
    // Parent: re-run this very test with the binary missing (the environment of
    // this process is left alone).
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_missing_redis_server_fails_with_the_install_hint",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("REDIS_SERVER_BIN", "/nonexistent/redis-server")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Set in the child process of `a_hung_test_is_ended_and_its_servers_killed`.
const HUNG_CHILD_ENV: &str = "TENURE_REDIS_HUNG_CHILD";

#[test]
fn a_hung_test_is_ended_and_its_servers_killed() {
    if std::env::var_os(HUNG_CHILD_ENV).is_some() {
        // Child: a test that hangs (bounded, in case the watchdog is broken).
        let server = start();
        println!("PORT={}", server.port());
        let _watchdog = common::Watchdog::new("hung child", Duration::from_millis(500));
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_hung_test_is_ended_and_its_servers_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HUNG_CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(101), "{stdout}\n{stderr}");
    assert!(stderr.contains("it hangs"), "{stderr}");
    let port: u16 = stdout
        .lines()
        // libtest may print the test's name on the same line first.
        .find_map(|l| l.split("PORT=").nth(1))
        .expect("the child printed its port")
        .parse()
        .unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    // The killed server is gone (poll briefly: the kernel reaps it asynchronously).
    let mut gone = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone, "the hung test's redis-server on port {port} outlived it");
}
