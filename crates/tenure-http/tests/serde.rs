//! `HttpClientConfig` from JSON (feature `serde`): a proxy's provider list,
//! validated like the builder, secrets redacted, errors that quote none.
#![cfg(feature = "serde")]

use std::time::Duration;

use tenure_http::{HttpClientConfig, HttpClients, HttpVersion};
use tenure_test_support::CountingServer;

#[derive(serde::Deserialize)]
struct Provider {
    name: String,
    http: HttpClientConfig,
}

fn load(json: &str) -> Result<Vec<Provider>, serde_json::Error> {
    serde_json::from_str(json)
}

#[tokio::test]
async fn a_provider_list_loads_and_its_clients_work() {
    let server = CountingServer::start_tls().await.unwrap();
    let json = serde_json::json!([
        {
            "name": "openai",
            "http": {
                "connect_timeout": "5s",
                "request_timeout": "2m",
                "pool_idle_timeout": "250ms",
                "pool_max_idle_per_host": 8,
                "http_version": "http1_only",
                "http1_title_case_headers": true,
                "http2_adaptive_window": true,
                "http2_keep_alive_interval": "1h",
                "headers": { "authorization": "Bearer SECRET-1", "user-agent": "llm-proxy/1.0" },
                "sensitive_headers": { "x-tenant": "SECRET-2" },
                "proxy": "http://proxy-user:SECRET-3@127.0.0.1:3128",
                "webpki_roots": false,
                "root_certificates_pem": [server.ca_cert_pem().unwrap()]
            }
        },
        { "name": "local", "http": {
            "headers": { "x-api-key": "SECRET-4" },
            "root_certificates_pem": [server.ca_cert_pem().unwrap()]
        } },
        { "name": "defaults", "http": {} }
    ])
    .to_string();
    let providers = load(&json).unwrap();
    assert_eq!(providers.len(), 3);

    let openai = &providers[0].http;
    assert_eq!(providers[0].name, "openai");
    assert_eq!(openai.connect_timeout(), Duration::from_secs(5));
    assert_eq!(openai.request_timeout(), Duration::from_secs(120));
    assert_eq!(openai.pool_idle_timeout(), Duration::from_millis(250));
    assert_eq!(openai.pool_max_idle_per_host(), 8);
    assert_eq!(openai.http_version(), HttpVersion::Http1Only);
    assert!(openai.http1_title_case_headers());
    assert!(openai.http2_adaptive_window());
    assert_eq!(openai.http2_keep_alive_interval(), Some(Duration::from_secs(3600)));
    assert_eq!(openai.default_headers().count(), 3);
    assert!(
        openai
            .default_headers()
            .all(|(n, v)| n == "user-agent" || v.is_sensitive())
    );
    assert!(!openai.tls().webpki_roots());
    assert_eq!(openai.tls().extra_roots().count(), 1);
    let proxy = openai.proxy().unwrap();
    assert!(proxy.has_credentials());
    assert_eq!(proxy.uri().to_string(), "http://127.0.0.1:3128/");

    // The same config as built in code: equal keys.
    let built = HttpClientConfig::builder()
        .header("x-api-key", "SECRET-4")
        .add_root_certificate_pem(server.ca_cert_pem().unwrap())
        .build()
        .unwrap();
    assert_eq!(providers[1].http, built);
    assert_eq!(providers[2].http, HttpClientConfig::default());

    for p in &providers {
        let shown = format!("{:?} {:#?}", p.http, p.http);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(!shown.contains("proxy-user"), "{shown}");
    }

    // A loaded config drives a real client.
    let clients = HttpClients::new().unwrap();
    let client = clients.get(&providers[1].http).await.unwrap();
    let response = client.get_bytes(server.uri("/headers")).await.unwrap();
    let text = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(text.contains("x-api-key: SECRET-4\n"), "the header is sent");
}

#[test]
fn bad_files_are_errors_naming_the_setting_and_quoting_no_secret() {
    let cases = [
        (r#"{"conect_timeout": "5s"}"#, "conect_timeout"),
        (r#"{"connect_timeout": "0s"}"#, "connect_timeout"),
        (r#"{"request_timeout": "soon"}"#, "invalid duration"),
        (
            r#"{"request_timeout": 5}"#,
            "`request_timeout`: expected a string, found a number",
        ),
        (r#"{"http_version": "http3"}"#, "`http_version`: expected one of"),
        (r#"{"headers": {"x-api-key": "SECRET\nvalue"}}"#, "x-api-key"),
        (
            r#"{"headers": {"x-api-key": 12345678}}"#,
            "`headers`: a value: expected a string",
        ),
        (r#"{"headers": {"bad name": "SECRET"}}"#, "header"),
        (r#"{"proxy": "socks5://u:SECRET@proxy:1080"}"#, "proxy"),
        (r#"{"proxy": 12345678}"#, "`proxy`: expected a string"),
        (r#"{"proxy": ["SECRET"]}"#, "`proxy`: expected a string, found a list"),
        (
            r#"{"headers": {"x-api-key": {"v": "SECRET"}}}"#,
            "`headers`: a value: expected a string",
        ),
        (
            r#"{"root_certificates_pem": ["not a certificate"]}"#,
            "root certificate #0 (PEM)",
        ),
    ];
    for (json, expected) in cases {
        let e = serde_json::from_str::<HttpClientConfig>(json)
            .err()
            .unwrap_or_else(|| panic!("accepted: {json}"));
        let shown = format!("{e} {e:?}");
        assert!(shown.contains(expected), "{json}: {shown}");
        assert!(!shown.contains("SECRET"), "{json}: {shown}");
        assert!(!shown.contains("12345678"), "{json}: {shown}");
    }
}

/// Every form of the wrong type that can carry a secret, for every setting that
/// can hold one (and the whole config): the error names the setting and the type
/// expected, and never quotes the value.
#[test]
fn wrong_types_never_quote_the_value() {
    const MARK: &str = "SECRETMARK";
    // A value of each JSON type, each carrying the marker where it can.
    let values = [
        format!(r#""http://u:{MARK}@h""#),
        format!(r#""Authorization: Bearer {MARK}""#),
        format!(r#"["{MARK}"]"#),
        format!(r#"{{"u:{MARK}": "{MARK}"}}"#),
        format!(r#"{{"authorization": ["{MARK}"]}}"#),
        "123456789".to_owned(),
        "-123456789".to_owned(),
        "1234.5678".to_owned(),
        "340282366920938463463374607431768211455".to_owned(),
        "true".to_owned(),
    ];
    // (setting, the type it holds), for every setting.
    let settings = [
        ("connect_timeout", "a string"),
        ("request_timeout", "a string"),
        ("pool_idle_timeout", "a string"),
        ("http2_keep_alive_interval", "a string"),
        ("http_version", "a string"),
        ("proxy", "a string"),
        ("headers", "a map of strings"),
        ("sensitive_headers", "a map of strings"),
        ("root_certificates_pem", "a list of strings"),
        ("pool_max_idle_per_host", "a whole number"),
        ("http1_title_case_headers", "true or false"),
        ("http2_adaptive_window", "true or false"),
        ("webpki_roots", "true or false"),
    ];
    // The JSON type of a value as messages name it, from its first character.
    let found = |value: &str| match value.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'[') => "a list",
        Some(b'{') => "a map",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    // The JSON type a setting's own type is written as.
    let written_as = |kind: &str| match kind {
        "a string" => "a string",
        "a map of strings" => "a map",
        "a list of strings" => "a list",
        "true or false" => "a boolean",
        _ => "a number",
    };
    let mut refused = 0;
    let mut wrong_type = 0;
    for (setting, kind) in settings {
        for value in &values {
            let json = format!(r#"{{"{setting}": {value}}}"#);
            let Err(e) = serde_json::from_str::<HttpClientConfig>(&json) else {
                continue; // the right type for this setting
            };
            refused += 1;
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(MARK), "{json}: {shown}");
            assert!(
                !shown.contains("123456789") && !shown.contains("1234.5678"),
                "{json}: {shown}"
            );
            assert!(
                !shown.contains("340282366920938463463374607431768211455"),
                "{json}: {shown}"
            );
            let named = shown.contains(setting) || shown.contains("root certificate #0") || shown.contains("`header`");
            assert!(named, "{json}: the setting is named: {shown}");
            let found = found(value);
            if found != written_as(kind) {
                // A value of another type: the message names the type expected
                // and the type found.
                wrong_type += 1;
                let expected = format!("`{setting}`: expected {kind}, found {found}");
                assert!(shown.contains(&expected), "{json}: {expected:?} in {shown}");
            } else if kind == "a whole number" {
                // A number, but negative or not whole.
                assert!(shown.contains("expected a whole number"), "{json}: {shown}");
            }
        }
    }
    assert!(refused > 100, "{refused}");
    assert!(wrong_type > 90, "{wrong_type}");
    // The whole config, in a form other than a map; secrets in the map's keys.
    for value in values.iter().map(String::as_str).chain([
        "null",
        r#"[{"proxy": "http://u:SECRETMARK@h"}]"#,
        r#"{"pw=SECRETMARK": 1}"#,
        r#"{"x-api-key: SECRETMARK": 1}"#,
        r#"{"headers": {"x-api-key": "SECRETMARK"}, "headers": {}}"#,
        r#"{"headers": "Authorization: Bearer SECRETMARK"}"#,
        r#"{"sensitive_headers": ["SECRETMARK"]}"#,
        r#"{"connect_timeout": "SECRETMARK"}"#,
        r#"{"connect_timeout": "18446744073709551615s"}"#,
    ]) {
        let e = serde_json::from_str::<HttpClientConfig>(value)
            .err()
            .unwrap_or_else(|| panic!("accepted: {value}"));
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(MARK), "{value}: {shown}");
    }
    let e = serde_json::from_str::<HttpClientConfig>(r#""http://u:SECRETMARK@h""#).unwrap_err();
    assert!(
        e.to_string().contains("expected a map of settings, found a string"),
        "{e}"
    );
    let e = serde_json::from_str::<HttpClientConfig>(r#"[{}]"#).unwrap_err();
    assert!(e.to_string().contains("found a list"), "{e}");
    // An unknown setting is named only if its name is a plain identifier.
    let e = serde_json::from_str::<HttpClientConfig>(r#"{"conect_timeout": "1s"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown setting `conect_timeout`"), "{e}");
    let e = serde_json::from_str::<HttpClientConfig>(r#"{"proxy": null, "proxy": null}"#).unwrap_err();
    assert!(e.to_string().contains("`proxy` is given more than once"), "{e}");
}

/// Durations from a file are bounded as in code: a huge one is the builder's
/// typed error naming the setting, never a panic later in hyper's timers.
#[test]
fn huge_durations_in_a_file_are_refused() {
    for setting in [
        "connect_timeout",
        "request_timeout",
        "pool_idle_timeout",
        "http2_keep_alive_interval",
    ] {
        for text in ["18446744073709551615s", "8761h", "99999999999m"] {
            let json = format!(r#"{{"{setting}": "{text}"}}"#);
            let e = serde_json::from_str::<HttpClientConfig>(&json).unwrap_err();
            let shown = e.to_string();
            assert!(shown.contains(setting), "{json}: {shown}");
            assert!(
                shown.contains("at most 365 days") || shown.contains("invalid duration"),
                "{json}: {shown}"
            );
        }
        let json = format!(r#"{{"{setting}": "8760h"}}"#);
        assert!(serde_json::from_str::<HttpClientConfig>(&json).is_ok(), "{json}");
    }
}
