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
        (r#"{"request_timeout": 5}"#, "invalid type"),
        (r#"{"http_version": "http3"}"#, "http3"),
        (r#"{"headers": {"x-api-key": "SECRET\nvalue"}}"#, "x-api-key"),
        (r#"{"headers": {"x-api-key": 12345678}}"#, "must be strings"),
        (r#"{"headers": {"bad name": "SECRET"}}"#, "header"),
        (r#"{"proxy": "socks5://u:SECRET@proxy:1080"}"#, "proxy"),
        (r#"{"proxy": 12345678}"#, "must be strings"),
        (r#"{"proxy": ["SECRET"]}"#, "must be strings"),
        (r#"{"headers": {"x-api-key": {"v": "SECRET"}}}"#, "must be strings"),
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
