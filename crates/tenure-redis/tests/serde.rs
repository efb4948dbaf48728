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
            "invalid duration \"5\": write a whole number and a unit",
        ),
        (
            r#"{"url": "redis://u:s3cret@h/0", "wait_timeout": 250}"#,
            "expected a string",
        ),
        (r#"{"cluster_nodes": "redis://:s3cret@h:1"}"#, "the value is not shown"),
        (r#"{"sentinels": [1, "redis://:s3cret@h"]}"#, "the value is not shown"),
        (
            r#"{"url": "redis://h/0", "pasword": "s3cret"}"#,
            "unknown field `pasword`",
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
