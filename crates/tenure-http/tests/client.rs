//! Client-level tests against the in-process `CountingServer`.

use std::time::Duration;

use http_body_util::BodyExt;
use tenure_http::http::{Request, Version};
use tenure_http::{ErrorKind, HttpClient, HttpClientConfig};
use tenure_test_support::{CountingServer, http_server::stream_bytes};

#[tokio::test]
async fn get_reuses_one_connection() {
    let server = CountingServer::start().await.unwrap();
    let client = HttpClient::new(&HttpClientConfig::default()).unwrap();
    for _ in 0..10 {
        let response = client.get_bytes(server.uri("/")).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), b"hello");
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.requests(), 10);
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_body_arrives_byte_for_byte() {
    let server = CountingServer::start().await.unwrap();
    let client = HttpClient::new(&HttpClientConfig::default()).unwrap();
    let response = client.get(server.uri("/stream?chunks=64")).await.unwrap();
    let mut body = response.into_body();
    let mut got = Vec::new();
    let mut frames = 0;
    // Bounded: 64 chunks, a few extra frames at most.
    for _ in 0..1000 {
        let Some(frame) = body.frame().await else {
            break;
        };
        if let Ok(data) = frame.unwrap().into_data() {
            got.extend_from_slice(&data);
            frames += 1;
        }
    }
    assert!(frames > 1, "the body should arrive in several frames");
    assert_eq!(got, stream_bytes(64));
}

#[tokio::test]
async fn default_headers_are_sent_and_request_headers_win() {
    let server = CountingServer::start().await.unwrap();
    let config = HttpClientConfig::builder()
        .header("x-default", "one")
        .header("x-override", "default")
        .build()
        .unwrap();
    let client = HttpClient::new(&config).unwrap();
    let request = Request::get(server.uri("/headers"))
        .header("x-override", "mine")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = client.request(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(text.contains("x-default: one\n"), "{text}");
    assert!(text.contains("x-override: mine\n"), "{text}");
    assert!(!text.contains("x-override: default"), "{text}");
}

#[tokio::test]
async fn http2_prior_knowledge() {
    let server = CountingServer::start().await.unwrap();
    let config = HttpClientConfig::builder().http2_only().build().unwrap();
    let client = HttpClient::new(&config).unwrap();
    for _ in 0..5 {
        let response = client.get_bytes(server.uri("/")).await.unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        assert_eq!(response.body().as_ref(), b"hello");
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test(start_paused = true)]
async fn request_timeout_is_a_typed_error_naming_the_host() {
    let server = CountingServer::start().await.unwrap();
    let config = HttpClientConfig::builder()
        .request_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let client = HttpClient::new(&config).unwrap();
    let addr = server.addr().to_string();
    let e = client.get(server.uri("/delay?ms=10000")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.is_timeout());
    let shown = e.to_string();
    assert!(shown.contains(&addr), "{shown}");
    // `get_bytes` too: the same error, naming the host.
    let e = client.get_bytes(server.uri("/delay?ms=10000")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert_eq!(e.addr(), Some(addr.as_str()));
    assert_eq!(e.to_string(), format!("request to {addr} timed out after 1s"));
    // The client still works afterwards.
    let ok = client.get_bytes(server.uri("/delay?ms=10")).await.unwrap();
    assert_eq!(ok.body().as_ref(), b"ok");
}

/// `get_bytes`: the request timeout covers reading the body. The head of
/// `/stream?chunks=4096` comes at once; its body takes 4096 sleeps of 1 ms of
/// paused time. Read through `get` (whose timeout stops at the head), the body
/// arrives in full and outlasts the 1 s timeout; through `get_bytes`, the
/// timeout fires mid-body.
#[tokio::test(start_paused = true)]
async fn get_bytes_times_out_on_a_slow_body() {
    const CHUNKS: usize = 4096;
    let server = CountingServer::start().await.unwrap();
    let timeout = Duration::from_secs(1);
    let config = HttpClientConfig::builder().request_timeout(timeout).build().unwrap();
    let client = HttpClient::new(&config).unwrap();
    let url = server.uri(&format!("/stream?chunks={CHUNKS}"));

    // Control: the body outlasts the timeout (paused, virtual time: exact
    // whatever the machine's speed).
    let start = tokio::time::Instant::now();
    let response = client.get(url.as_str()).await.expect("the head within the timeout");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.as_ref(), stream_bytes(CHUNKS).as_slice());
    assert!(start.elapsed() > timeout, "{:?}", start.elapsed());

    let e = client.get_bytes(url.as_str()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(e.is_timeout());
    assert_eq!(e.addr(), Some(server.addr().to_string().as_str()));
    // The client works afterwards.
    let ok = client.get_bytes(server.uri("/stream?chunks=4")).await.unwrap();
    assert_eq!(ok.body().as_ref(), stream_bytes(4).as_slice());
}

#[tokio::test]
async fn bad_input_gives_typed_errors() {
    let client = HttpClient::new(&HttpClientConfig::default()).unwrap();

    for uri in ["not a uri", "http://", "/relative/only", "ftp://127.0.0.1/"] {
        let e = client.get(uri).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{uri}: {e}");
    }

    // A closed port: bind, read the port, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = client.get(format!("http://{addr}/")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
    assert!(e.to_string().contains(&addr.to_string()), "{e}");
    assert!(std::error::Error::source(&e).is_some());

    let e = HttpClientConfig::builder()
        .connect_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("connect_timeout"), "{e}");

    let e = HttpClientConfig::builder()
        .request_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("request_timeout"), "{e}");

    let e = HttpClientConfig::builder()
        .header("bad header name", "x")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
}

#[test]
fn client_is_scoped_to_its_runtime() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt.block_on(CountingServer::start()).unwrap();
    let uri = server.uri("/");

    let a = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = a.block_on(async {
        let client = HttpClient::new(&HttpClientConfig::default()).unwrap();
        client.get_bytes(uri.as_str()).await.unwrap();
        client
    });
    assert!(client.is_runtime_alive());

    let b = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = b.block_on(client.get(uri.as_str())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime, "{e}");

    drop(a);
    assert!(!client.is_runtime_alive());
    let e = b.block_on(client.get(uri.as_str())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime, "{e}");

    // A client of runtime b works.
    b.block_on(async {
        let fresh = HttpClient::new(&HttpClientConfig::default()).unwrap();
        assert_ne!(fresh.id(), client.id());
        fresh.get_bytes(uri.as_str()).await.unwrap();
    });
    drop(server);
}

#[tokio::test]
async fn debug_display_and_errors_never_show_secrets() {
    const BEARER: &str = "Bearer sk-live-SECRET-1";
    const API_KEY: &str = "SECRET-2-api-key";
    const MARKED: &str = "SECRET-3-marked";
    let config = HttpClientConfig::builder()
        .header("authorization", BEARER)
        .header("x-api-key", API_KEY)
        .sensitive_header("x-custom", MARKED)
        .header("user-agent", "tenure-test")
        .build()
        .unwrap();
    let client = HttpClient::new(&config).unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = client.get(format!("http://{addr}/")).await.unwrap_err();

    let texts = [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{client:?}"),
        format!("{error}"),
        format!("{error:?}"),
    ];
    for text in &texts {
        for secret in ["SECRET", "sk-live"] {
            assert!(!text.contains(secret), "leaked in {text}");
        }
    }
    assert!(texts[0].contains("<redacted>"), "{}", texts[0]);
    // Non-secret headers stay visible for debugging.
    assert!(texts[0].contains("tenure-test"), "{}", texts[0]);

    // A bad value of a secret header is not echoed by the config error.
    let e = HttpClientConfig::builder()
        .header("authorization", "Bearer SECRET\r\n")
        .build()
        .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("SECRET"));
}

/// Idle pooled connections are closed by the pool's background timer, while
/// the client stays alive and usable.
#[tokio::test(start_paused = true)]
async fn idle_connections_are_reaped_in_the_background() {
    let server = CountingServer::start().await.unwrap();
    let config = HttpClientConfig::builder()
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let client = HttpClient::new(&config).unwrap();
    client.get_bytes(server.uri("/")).await.unwrap();
    assert_eq!(server.open_connections(), 1);
    // Control: the server does not close idle connections itself.
    let control = HttpClient::new(
        &HttpClientConfig::builder()
            .pool_idle_timeout(Duration::from_secs(3600))
            .build()
            .unwrap(),
    )
    .unwrap();
    control.get_bytes(server.uri("/")).await.unwrap();
    assert_eq!(server.open_connections(), 2);

    tokio::time::sleep(Duration::from_secs(31)).await;
    // Bounded: the reaper runs on the pool timer; then the server sees EOF.
    for _ in 0..1000 {
        if server.open_connections() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(server.open_connections(), 1, "idle connection not reaped");

    // Still usable: a new connection is opened; the control kept its own.
    client.get_bytes(server.uri("/")).await.unwrap();
    control.get_bytes(server.uri("/")).await.unwrap();
    assert_eq!(server.connections(), 3);
}
