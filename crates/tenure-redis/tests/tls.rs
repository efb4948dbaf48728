//! TLS (`rediss://`, feature `rustls`): pools built through rustls against a private
//! redis-server that listens for TLS with a certificate signed by a fresh test CA.
#![cfg(feature = "rustls")]

mod common;

use std::time::{Duration, Instant};

use common::{assert_settles, set_get};
use tenure_redis::{ErrorKind, Ownership, RedisClients, RedisConfig};
use tenure_test_support::RedisServer;

/// A hang guard, not a timing assertion: far above every configured timeout.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// Starts a private server with a TLS port, failing the test if it cannot.
fn start_tls_server() -> RedisServer {
    RedisServer::start_tls().unwrap_or_else(|e| panic!("cannot start redis-server with TLS: {e}"))
}

/// A fresh cache gets a pool for `config`, runs SET and GET through it, shuts
/// down, and the server's connections go back to where they were.
#[allow(clippy::unwrap_used)] // a test helper: a failed unwrap is a failed test
async fn round_trip_then_shut_down(server: &RedisServer, config: &RedisConfig, key: &str) {
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let pool = tokio::time::timeout(HANG_GUARD, clients.get(config))
        .await
        .expect("get hung")
        .unwrap();
    tokio::time::timeout(HANG_GUARD, set_get(&pool, key))
        .await
        .expect("SET/GET hung")
        .unwrap();
    drop(pool);
    common::shutdown(&clients).await;
    assert_settles(server, baseline, "after shutdown").await;
}

/// The server's `rediss://` config with short timeouts, trusting the test CA if
/// `trust_ca`.
fn tls_config(server: &RedisServer, trust_ca: bool) -> RedisConfig {
    let url = server.tls_url().expect("a TLS server has a TLS URL");
    let mut builder = RedisConfig::builder(&url)
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .wait_timeout(Duration::from_secs(5));
    if trust_ca {
        let ca = server.ca_cert_pem().expect("a TLS server has a CA");
        builder = builder.add_root_certificate_pem(ca.as_bytes());
    }
    builder.build().expect("the harness URL and CA are valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rediss_pool_trusting_the_test_ca_works_and_is_closed_on_retirement() {
    let _watchdog = common::Watchdog::new(
        "a_rediss_pool_trusting_the_test_ca_works_and_is_closed_on_retirement",
        common::TEST_LIMIT,
    );
    let server = start_tls_server();
    let tls_port = server.tls_port().expect("a TLS server has a TLS port");
    assert_ne!(tls_port, server.port());
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    let config = tls_config(&server, true);
    assert!(config.is_tls());
    assert_eq!(config.root_certificate_count(), 1);
    assert_eq!(config.to_string(), format!("rediss://127.0.0.1:{tls_port}/0"));

    let pool = tokio::time::timeout(HANG_GUARD, clients.get(&config))
        .await
        .expect("get hung")
        .unwrap();
    assert_eq!(pool.ownership(), Ownership::Owned);
    tokio::time::timeout(HANG_GUARD, set_get(&pool, "tls-key"))
        .await
        .expect("SET/GET hung")
        .unwrap();

    // The connection is on the TLS port (which speaks nothing but TLS).
    let list = server.command(&["CLIENT", "LIST"]).unwrap();
    let on_tls_port = format!("laddr=127.0.0.1:{tls_port}");
    assert!(
        list.lines()
            .any(|line| line.split(' ').any(|field| field == on_tls_port)),
        "no client on the TLS port: {list}"
    );
    let peak = server.client_count().unwrap();
    assert!(peak > baseline, "the pool opened a connection");
    drop(pool);

    clients.invalidate(&config);
    let after = assert_settles(&server, baseline, "after invalidating the TLS pool").await;
    println!("tls/invalidate: baseline={baseline} peak={peak} after={after}");
    assert_eq!(clients.owned_stats().closes, 1);
    assert!(clients.is_empty());
    common::shutdown(&clients).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rediss_pool_without_the_test_ca_gets_a_typed_error_naming_the_server() {
    let _watchdog = common::Watchdog::new(
        "a_rediss_pool_without_the_test_ca_gets_a_typed_error_naming_the_server",
        common::TEST_LIMIT,
    );
    let server = start_tls_server();
    let tls_port = server.tls_port().expect("a TLS server has a TLS port");
    let baseline = server.client_count().unwrap();
    let clients = RedisClients::new().unwrap();
    // Only the web PKI roots: the test CA is unknown.
    let config = tls_config(&server, false);
    assert_eq!(config.root_certificate_count(), 0);

    // Creating a pool opens its first connection, so the handshake fails here.
    let started = Instant::now();
    let err = tokio::time::timeout(HANG_GUARD, clients.get(&config))
        .await
        .expect("get hung")
        .expect_err("the server's certificate must not be trusted");
    let elapsed = started.elapsed();
    println!("tls/untrusted: {err} ({elapsed:?})");
    let addr = format!("127.0.0.1:{tls_port}");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err:?}");
    assert_eq!(err.addr(), Some(addr.as_str()));
    assert!(err.to_string().contains(&addr), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "the error says the certificate is the problem: {err}"
    );
    // The handshake's own failure, not a timeout waited out (no retry loop
    // until a deadline); no bound on the time taken, which a slow machine moves.
    assert!(!err.is_timeout(), "{err:?}");
    // A failed creation is not cached.
    assert!(clients.is_empty());
    // A pool built directly is lazy: its checkout fails the same way.
    let pool = config.create_pool().unwrap();
    let direct = match tokio::time::timeout(HANG_GUARD, pool.get())
        .await
        .expect("checkout hung")
    {
        Ok(_) => panic!("the server's certificate must not be trusted"),
        Err(e) => e,
    };
    assert!(direct.to_string().contains("UnknownIssuer"), "{direct}");
    pool.close();

    common::shutdown(&clients).await;
    assert_settles(&server, baseline, "after the failed handshakes").await;
}

#[tokio::test(flavor = "current_thread")]
async fn debug_and_display_show_neither_the_password_nor_the_certificate() {
    let _watchdog = common::Watchdog::new(
        "debug_and_display_show_neither_the_password_nor_the_certificate",
        common::TEST_LIMIT,
    );
    let server = start_tls_server();
    let ca = server.ca_cert_pem().expect("a TLS server has a CA");
    // A line from the middle of the certificate's base64 body.
    let body_lines: Vec<&str> = ca.lines().filter(|line| !line.starts_with("-----")).collect();
    let body_line = body_lines[body_lines.len() / 2];
    assert!(body_line.len() > 16);
    let url = "rediss://user:s3cret@127.0.0.1:6390/0";
    let builder = RedisConfig::builder(url)
        .add_root_certificate_pem(ca)
        .add_root_certificate_pem(ca.as_bytes());
    let config = builder.clone().build().unwrap();
    assert_eq!(config.root_certificate_count(), 2);
    for (what, text) in [
        ("builder Debug", format!("{builder:?}")),
        ("builder Debug (pretty)", format!("{builder:#?}")),
        ("Debug", format!("{config:?}")),
        ("Debug (pretty)", format!("{config:#?}")),
        ("Display", config.to_string()),
    ] {
        assert!(!text.contains("s3cret"), "{what} shows the password: {text}");
        assert!(!text.contains("CERTIFICATE"), "{what} shows the PEM: {text}");
        assert!(!text.contains(body_line), "{what} shows the certificate: {text}");
        println!("{what}: {text}");
    }
    assert!(format!("{config:?}").contains("root_certificates: 2"));
    assert!(format!("{builder:?}").contains("root_certificates: 2"));
    assert_eq!(config.to_string(), "rediss://***:***@127.0.0.1:6390/0");

    // The roots are part of the key.
    let without = RedisConfig::from_url(url).unwrap();
    assert_ne!(config, without);

    // A broken root is a typed error that quotes neither the PEM nor the password.
    let err = RedisConfig::builder(url)
        .add_root_certificate_pem(ca)
        .add_root_certificate_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRootCertificate, "{err:?}");
    assert_eq!(err.index(), Some(1), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("s3cret") && !text.contains("AAAA"), "{text}");
    }
    println!("invalid root: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_tls_server_keeps_its_ports_and_certificate() {
    let _watchdog = common::Watchdog::new(
        "a_restarted_tls_server_keeps_its_ports_and_certificate",
        common::TEST_LIMIT,
    );
    let mut server = start_tls_server();
    let (port, tls_url, ca) = (server.port(), server.tls_url(), server.ca_cert_pem().map(str::to_owned));
    server.restart().unwrap();
    assert_eq!(server.port(), port);
    assert_eq!(server.tls_url(), tls_url);
    assert_eq!(server.ca_cert_pem().map(str::to_owned), ca);
    round_trip_then_shut_down(&server, &tls_config(&server, true), "after-restart").await;
}

/// Issue 12: the same root API as tenure-http: the test CA added as DER works as
/// the PEM does (the same configuration), and a broken root is named by position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_added_as_der_is_trusted_like_its_pem() {
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    let _watchdog = common::Watchdog::new("a_root_added_as_der_is_trusted_like_its_pem", common::TEST_LIMIT);
    let server = start_tls_server();
    let url = server.tls_url().expect("a TLS server has a TLS URL");
    let pem = server.ca_cert_pem().expect("a TLS server has a CA");
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).expect("the test CA is PEM");
    let from_der = RedisConfig::builder(&url)
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .wait_timeout(Duration::from_secs(5))
        .add_root_certificate_der(&der)
        .build()
        .unwrap();
    assert_eq!(from_der.root_certificate_count(), 1);
    assert_eq!(
        from_der,
        tls_config(&server, true),
        "PEM or DER, the same root is the same key"
    );

    round_trip_then_shut_down(&server, &from_der, "tls-der-key").await;

    let err = RedisConfig::builder(&url)
        .add_root_certificate_der(&der)
        .add_root_certificate_pem(pem)
        .add_root_certificate_der([0x30, 0x03, 0x02, 0x01, 0x00])
        .build()
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.index()),
        (ErrorKind::InvalidRootCertificate, Some(2)),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("root certificate #2 (DER): not an X.509 certificate usable as a trust anchor"),
        "{err}"
    );
}
