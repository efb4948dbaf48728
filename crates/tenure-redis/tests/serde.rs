//! The `serde` feature: a `RedisConfig` loaded from a file (JSON here) is checked
//! as the builder checks it, and never shows a password.

#![cfg(feature = "serde")]

use std::time::Duration;

use tenure_redis::{ErrorKind, RedisConfig, Topology};

const SECRET: &str = "s3cret";

fn load(json: &str) -> Result<RedisConfig, serde_json::Error> {
    serde_json::from_str(json)
}

fn assert_redacted(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the password: {text}");
}

#[test]
fn every_topology_loads_with_its_settings() {
    let standalone = load(
        r#"{"url": "redis://app:s3cret@10.0.0.1:6380/2", "max_connections": 8,
            "connect_timeout": "250ms", "response_timeout": "500ms", "wait_timeout": "750ms"}"#,
    )
    .unwrap();
    let built = RedisConfig::builder("redis://app:s3cret@10.0.0.1:6380/2")
        .max_connections(8)
        .connect_timeout(Duration::from_millis(250))
        .response_timeout(Duration::from_millis(500))
        .wait_timeout(Duration::from_millis(750))
        .build()
        .unwrap();
    assert_eq!(standalone, built, "the same key as the builder's");
    assert_redacted("Debug", &format!("{standalone:?}"));
    assert_redacted("Display", &standalone.to_string());

    let cluster = load(r#"{"cluster_nodes": ["redis://:s3cret@10.0.0.1:7000", "10.0.0.2:7000"]}"#).unwrap();
    assert_eq!(cluster.topology(), Topology::Cluster);
    assert_eq!(cluster.addr(), "10.0.0.1:7000,10.0.0.2:7000");
    assert_redacted("cluster Debug", &format!("{cluster:?}"));

    let sentinel = load(
        r#"{"sentinels": ["10.0.0.5", "10.0.0.6:5000"], "service_name": "mymaster",
            "password": "s3cret", "sentinel_password": "s3cret", "database": 1}"#,
    )
    .unwrap();
    assert_eq!(sentinel.topology(), Topology::Sentinel);
    assert_eq!(sentinel.service_name(), Some("mymaster"));
    assert!(sentinel.has_password() && sentinel.has_sentinel_password());
    assert_eq!(sentinel.database(), 1);
    assert_redacted("sentinel Debug", &format!("{sentinel:?}"));

    let url = load(r#"{"url": "redis+sentinel://:s3cret@s1,s2/mymaster/0"}"#).unwrap();
    assert_eq!(url.topology(), Topology::Sentinel);
}

/// The settings a file can give beyond the URL's reach the config: user names,
/// and (with `rustls`) extra root certificates.
#[test]
fn user_names_and_root_certificates_in_a_file_reach_the_config() {
    let standalone = load(r#"{"url": "redis://10.0.0.1:6380/0", "username": "app", "password": "s3cret"}"#).unwrap();
    assert_eq!(standalone.username(), Some("app"));
    let built = RedisConfig::builder("redis://10.0.0.1:6380/0")
        .username("app")
        .password("s3cret")
        .build()
        .unwrap();
    assert_eq!(standalone, built, "the same key as the builder's");

    let sentinel = load(
        r#"{"sentinels": ["10.0.0.5"], "service_name": "mymaster",
            "sentinel_username": "watcher", "sentinel_password": "s3cret"}"#,
    )
    .unwrap();
    assert_eq!(sentinel.sentinel_username(), Some("watcher"));
    let built = RedisConfig::sentinel_builder(["10.0.0.5"], "mymaster")
        .sentinel_username("watcher")
        .sentinel_password("s3cret")
        .build()
        .unwrap();
    assert_eq!(sentinel, built, "the same key as the builder's");

    #[cfg(feature = "rustls")]
    {
        let certificates = tenure_test_support::TestCertificates::generate().unwrap();
        let pem = certificates.ca_pem();
        let json = format!(
            r#"{{"url": "rediss://10.0.0.1:6380/0", "root_certificates_pem": [{}]}}"#,
            serde_json::to_string(pem).unwrap()
        );
        let tls = load(&json).unwrap();
        assert_eq!(tls.root_certificate_count(), 1);
        let built = RedisConfig::builder("rediss://10.0.0.1:6380/0")
            .add_root_certificate_pem(pem)
            .build()
            .unwrap();
        assert_eq!(tls, built, "the same key as the builder's");
    }
}

#[test]
fn bad_files_are_errors_that_never_show_the_password() {
    for (json, expect) in [
        (r#"{}"#, "one of `url`, `cluster_nodes` or `sentinels` is needed"),
        (
            r#"{"url": "redis://h", "cluster_nodes": ["h:1"]}"#,
            "only one of `url`, `cluster_nodes` and `sentinels` may be set",
        ),
        (
            r#"{"cluster_nodes": ["h:1"], "service_name": "x"}"#,
            "`service_name` goes with `sentinels`",
        ),
        (r#"{"sentinels": ["h"]}"#, "service (master group) name"),
        (r#"{"url": "redis://u:s3cret@h:99999/0"}"#, "invalid Redis URL"),
        (
            r#"{"url": "redis://u:s3cret@h/0", "max_connections": 0}"#,
            "`max_connections` must be at least 1",
        ),
        (r#"{"url": "redis://h/0", "password": 12345}"#, "the value is not shown"),
        (r#"{"url": 42}"#, "the value is not shown"),
        (
            r#"{"url": "redis://u:s3cret@h/0", "connect_timeout": "5"}"#,
            "`connect_timeout`: invalid duration: write a whole number and a unit",
        ),
        (
            r#"{"url": "redis://u:s3cret@h/0", "connect_timeout": "18446744073709551616s"}"#,
            "`connect_timeout`: invalid duration: the number is too large for a duration",
        ),
        (
            r#"{"url": "redis://u:s3cret@h/0", "wait_timeout": 250}"#,
            "expected a string",
        ),
        (r#"{"cluster_nodes": "redis://:s3cret@h:1"}"#, "the value is not shown"),
        (r#"{"sentinels": [1, "redis://:s3cret@h"]}"#, "the value is not shown"),
        (
            r#"{"url": "redis://h/0", "pasword": "s3cret"}"#,
            "unknown setting `pasword`",
        ),
        (
            r#"{"cluster_nodes": ["redis://:s3cret@h:1", "redis://:other@h:2"]}"#,
            "cluster node #1",
        ),
    ] {
        let err = load(json).unwrap_err().to_string();
        println!("{json} -> {err}");
        assert!(err.contains(expect), "{json}: {err}");
        assert_redacted(json, &err);
        assert!(!err.contains("12345"), "{err}");
    }
    // The typed error is reachable for callers that convert themselves.
    let err = RedisConfig::builder("redis://h/0")
        .max_connections(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ZeroMaxConnections);
}

const MARK: &str = "SECRETMARK";

/// Every form of the wrong type that can carry a secret, for every setting (and
/// the whole configuration): the error names the setting and the type expected,
/// never the value.
#[test]
fn wrong_types_never_quote_the_value() {
    let values = [
        format!(r#""redis://:{MARK}@host:6379""#),
        format!(r#""{MARK}""#),
        format!(r#"["redis://:{MARK}@h"]"#),
        format!(r#"[1, "redis://:{MARK}@h"]"#),
        format!(r#"{{"u:{MARK}": "{MARK}"}}"#),
        "123456789".to_owned(),
        "-123456789".to_owned(),
        "1234.5678".to_owned(),
        "340282366920938463463374607431768211455".to_owned(),
        "true".to_owned(),
    ];
    let settings = [
        "url",
        "cluster_nodes",
        "sentinels",
        "service_name",
        "username",
        "password",
        "sentinel_username",
        "sentinel_password",
        "database",
        "max_connections",
        "connect_timeout",
        "response_timeout",
        "wait_timeout",
        "root_certificates_pem",
    ];
    let mut refused = 0;
    for setting in settings {
        for value in &values {
            // With another setting naming the topology, so that only `setting`
            // can be wrong.
            let json = match setting {
                "url" => format!(r#"{{"url": {value}}}"#),
                "cluster_nodes" => format!(r#"{{"cluster_nodes": {value}}}"#),
                "sentinels" | "service_name" | "sentinel_username" | "sentinel_password" => {
                    format!(r#"{{"sentinels": ["s1"], "service_name": "m", "{setting}": {value}}}"#)
                }
                _ => format!(r#"{{"url": "redis://h/0", "{setting}": {value}}}"#),
            };
            let Err(e) = load(&json) else { continue };
            refused += 1;
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(MARK), "{json}: {shown}");
            assert!(!shown.contains("1234.5678"), "{json}: {shown}");
            assert!(
                !shown.contains("340282366920938463463374607431768211455"),
                "{json}: {shown}"
            );
            // A whole number is the right type for these two, and the builder's
            // range errors name it (a number is no secret).
            if !matches!(setting, "database" | "max_connections") {
                assert!(!shown.contains("123456789"), "{json}: {shown}");
            }
        }
    }
    assert!(refused > 100, "{refused}");
    // The whole configuration in a form other than a map, and secrets in keys.
    for json in values.iter().map(String::as_str).chain([
        "null",
        r#"[ "redis://:SECRETMARK@h" ]"#,
        r#"[{"url": "redis://:SECRETMARK@h"}]"#,
        r#"{"url": "redis://h", "pw=SECRETMARK": 1}"#,
        r#"{"url": "redis://h", "username": {"SECRETMARK": 1}}"#,
        r#"{"url": "redis://h", "service_name": ["SECRETMARK"]}"#,
        r#"{"url": "redis://h", "database": "SECRETMARK"}"#,
        r#"{"url": "redis://h", "connect_timeout": "SECRETMARK"}"#,
        r#"{"url": "redis://h", "password": "a", "password": "SECRETMARK"}"#,
        r#"{"url": "redis://:SECRETMARK@host:6379?x-SECRETMARK"}"#,
        r#"{"url": "SECRETMARK:x@host"}"#,
    ]) {
        let e = load(json).err().unwrap_or_else(|| panic!("accepted: {json}"));
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(MARK), "{json}: {shown}");
    }
    let e = load(r#""redis://:SECRETMARK@host:6379""#).unwrap_err().to_string();
    assert!(e.contains("expected a map of settings, found a string"), "{e}");
    let e = load(r#"["redis://:SECRETMARK@h"]"#).unwrap_err().to_string();
    assert!(e.contains("found a list (settings are named, never positional)"), "{e}");
    let e = load(r#"{"url": 7}"#).unwrap_err().to_string();
    assert!(e.contains("`url`: expected a string, found a number"), "{e}");
    let e = load(r#"{"cluster_nodes": "redis://:SECRETMARK@h"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`cluster_nodes`: expected a list of strings, found a string"),
        "{e}"
    );
    let e = load(r#"{"sentinels": [1], "service_name": "m"}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`sentinels` item #0: expected a string, found a number"),
        "{e}"
    );
    let e = load(r#"{"url": "redis://h", "password": "a", "password": "b"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`password` is given more than once"), "{e}");
}

/// Bounds reachable from a file are the builder's typed errors, never a panic
/// when the pool is built.
#[test]
fn out_of_range_numbers_and_durations_in_a_file_are_refused() {
    for (json, expect) in [
        (
            r#"{"url": "redis://h", "max_connections": 18446744073709551615}"#,
            "`max_connections` = 18446744073709551615: it must be at most 65536",
        ),
        (
            r#"{"url": "redis://h", "max_connections": 1099511627776}"#,
            "it must be at most 65536",
        ),
        // Beyond `u64`, serde_json hands the number over as a float: still
        // refused as out of range, not as a fraction.
        (
            r#"{"url": "redis://h", "max_connections": 340282366920938463463374607431768211456}"#,
            "`max_connections`: expected a whole number from 1 to 65536 (the value is not shown)",
        ),
        (
            r#"{"url": "redis://h", "max_connections": 18446744073709551616}"#,
            "`max_connections`: expected a whole number from 1 to 65536 (the value is not shown)",
        ),
        (
            r#"{"url": "redis://h", "max_connections": 16.0}"#,
            "`max_connections`: expected a whole number, found a number with a decimal point",
        ),
        (
            r#"{"url": "redis://h", "max_connections": 1.5}"#,
            "found a number with a fraction",
        ),
        (
            r#"{"url": "redis://h", "max_connections": -1}"#,
            "`max_connections`: expected a whole number from 1 to 65536",
        ),
        (
            r#"{"url": "redis://h", "connect_timeout": "18446744073709551615s"}"#,
            "`connect_timeout` = 18446744073709551615s: it must be at most 365 days",
        ),
        (
            r#"{"url": "redis://h", "response_timeout": "8761h"}"#,
            "`response_timeout` = 31539600s: it must be at most 365 days",
        ),
        (
            r#"{"url": "redis://h", "wait_timeout": "99999999999m"}"#,
            "`wait_timeout` = ",
        ),
    ] {
        let err = load(json).unwrap_err().to_string();
        assert!(err.contains(expect), "{json}: {err}");
    }
    let config = load(r#"{"url": "redis://h", "max_connections": 65536, "wait_timeout": "8760h"}"#).unwrap();
    assert_eq!(config.max_connections(), RedisConfig::MAX_MAX_CONNECTIONS);
    assert_eq!(config.wait_timeout(), RedisConfig::MAX_TIMEOUT);
}
