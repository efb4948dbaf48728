//! Credentials in a request URI (its user info, as RFC 3986 parses it) never
//! reach hyper-util (whose pool logs the authority at DEBUG and TRACE), nor
//! Debug, Display or errors. A `/`, `?` or `#` left unencoded in a password
//! ends the authority there, and what comes before it is a host, not
//! credentials (see `HttpClient::request`).
//!
//! Its own test binary with a single test: the one global TRACE subscriber
//! captures the events of every crate (hyper-util included) and no sibling
//! test can write into it or race its installation.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use tenure_http::http::Request;
use tenure_http::{ErrorKind, HttpClient, HttpClientConfig, HttpClients};
use tenure_test_support::CountingServer;
use tracing_subscriber::fmt::MakeWriter;

/// As written in the URI (`%40` is `@`).
const PASSWORD_IN_URI: &str = "pw%401f9c-never-logged";
/// As decoded: what the server receives, base64-encoded in the header.
const PASSWORD: &str = "pw@1f9c-never-logged";
/// Distinctive part of both forms.
const NEEDLE: &str = "1f9c-never-logged";
/// `base64("tenure-user:pw@1f9c-never-logged")`, computed with coreutils'
/// `base64`, independently of the crate's encoder.
const BASIC: &str = "Basic dGVudXJlLXVzZXI6cHdAMWY5Yy1uZXZlci1sb2dnZWQ=";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("capture lock")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("capture lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn uri(server: &CountingServer, path: &str) -> String {
    format!("http://tenure-user:{PASSWORD_IN_URI}@{}{path}", server.addr())
}

async fn body_text(response: tenure_http::Response) -> String {
    let body = response.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(body.to_vec()).expect("utf-8 body")
}

#[test]
fn credentials_in_the_uri_never_reach_logs_debug_or_errors() {
    let captured = Captured::default();
    // `try_init` also routes the `log` crate's records (reqwest, rustls)
    // into the subscriber.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .try_init()
        .expect("the only subscriber of this binary");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut shown = Vec::new();
    runtime.block_on(async {
        let server = CountingServer::start().await.unwrap();
        let clients = HttpClients::new().unwrap();
        for config in [
            HttpClientConfig::default(),
            HttpClientConfig::builder().http2_only().build().unwrap(),
            // URI credentials win over a default `authorization` header.
            HttpClientConfig::builder()
                .header("authorization", "Bearer default")
                .build()
                .unwrap(),
        ] {
            let client = clients.get(&config).await.unwrap();
            for _ in 0..3 {
                // get_bytes, get (streaming) and request: every path.
                let response = client.get_bytes(uri(&server, "/headers")).await.unwrap();
                let text = String::from_utf8(response.body().to_vec()).unwrap();
                assert!(text.contains(&format!("authorization: {BASIC}\n")), "{config:?}");
                assert_eq!(text.matches("authorization:").count(), 1, "{config:?}");
                assert!(!text.contains(NEEDLE));
                let text = body_text(client.get(uri(&server, "/headers")).await.unwrap()).await;
                assert!(text.contains(&format!("authorization: {BASIC}\n")));
                let request = Request::get(uri(&server, "/headers"))
                    .body(Empty::<bytes::Bytes>::new())
                    .unwrap();
                let text = body_text(client.request(request).await.unwrap()).await;
                assert!(text.contains(&format!("authorization: {BASIC}\n")));
            }
            shown.push(format!("{client:?} {config:?}"));
        }
        // The request's own header wins; the URI's credentials are dropped.
        let client = clients.get(&HttpClientConfig::default()).await.unwrap();
        let request = Request::get(uri(&server, "/headers"))
            .header("authorization", "Bearer mine")
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let text = body_text(client.request(request).await.unwrap()).await;
        assert!(text.contains("authorization: Bearer mine\n"), "{text}");
        assert!(!text.contains("Basic"), "{text}");

        // Errors: a closed port, a timeout, an invalid URI.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = listener.local_addr().unwrap();
        drop(listener);
        let e = client
            .get(format!("http://tenure-user:{PASSWORD_IN_URI}@{closed}/"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect, "{e:?}");
        shown.push(format!("{e} {e:?}"));
        let impatient = HttpClient::new(
            &HttpClientConfig::builder()
                .request_timeout(Duration::from_millis(50))
                .build()
                .unwrap(),
        )
        .unwrap();
        let e = impatient.get(uri(&server, "/delay?ms=5000")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
        shown.push(format!("{e} {e:?}"));
        let e = client
            .get(format!("http://tenure-user:{PASSWORD_IN_URI}@127.0.0.1:bad/"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e:?}");
        shown.push(format!("{e} {e:?}"));
        // A bracketed host that is no IPv6 address: refused before connecting.
        let e = client
            .get(format!("http://tenure-user:{PASSWORD_IN_URI}@[zz::1]:1/"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e:?}");
        assert!(e.to_string().contains("IPv6"), "{e}");
        shown.push(format!("{e} {e:?}"));
        // Not even parsable: http's own error must not quote it either.
        let e = client
            .get(format!("http://tenure-user:{PASSWORD_IN_URI}@127.0.0.1/a b"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e:?}");
        shown.push(format!("{e} {e:?}"));
        shown.push(format!("{clients:?} {:?}", clients.stats()));
        drop(clients);
        #[cfg(feature = "reqwest")]
        reqwest_paths(&server, &mut shown).await;
        server.shutdown().await;
    });
    drop(runtime);

    let logs = captured.text();
    // The capture works and saw hyper-util's pool events for the server:
    // without the fix, these lines carry the URI's user info.
    assert!(
        logs.contains("hyper_util::client::legacy::pool"),
        "hyper-util's pool events were not captured:\n{logs}"
    );
    assert!(logs.contains("pooling idle connection"), "{logs}");
    // ... and the `log` records of reqwest (its proxy line).
    #[cfg(feature = "reqwest")]
    assert!(
        logs.contains("intercepts"),
        "reqwest's log records were not captured:\n{logs}"
    );
    for text in shown.iter().chain(std::iter::once(&logs)) {
        for secret in [PASSWORD, PASSWORD_IN_URI, NEEDLE] {
            assert_eq!(text.matches(secret).count(), 0, "the password leaked into:\n{text}");
        }
        assert!(!text.contains("tenure-user"), "the user name leaked into:\n{text}");
    }
}

/// The same through `ReqwestClients`: reqwest itself moves URL credentials
/// into a `Basic` header; the config's proxy credentials never enter a URL.
#[cfg(feature = "reqwest")]
async fn reqwest_paths(server: &CountingServer, shown: &mut Vec<String>) {
    use tenure_http::ReqwestClients;

    let clients = ReqwestClients::new().expect("reqwest path");
    let client = clients.get(&HttpClientConfig::default()).await.expect("reqwest path");
    for _ in 0..3 {
        let text = client
            .get(uri(server, "/headers"))
            .send()
            .await
            .expect("reqwest path")
            .text()
            .await
            .expect("reqwest path");
        assert!(text.contains(&format!("authorization: {BASIC}\n")));
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("reqwest path");
    let closed = listener.local_addr().expect("reqwest path");
    drop(listener);
    let e = client
        .get(format!("http://tenure-user:{PASSWORD_IN_URI}@{closed}/"))
        .send()
        .await
        .expect_err("a closed port");
    assert!(e.is_connect(), "{e:?}");
    shown.push(format!("{e} {e:?}"));

    // The CountingServer plays the proxy; the password is the same one.
    let proxied = HttpClientConfig::builder()
        .proxy(format!("http://tenure-user:{PASSWORD_IN_URI}@{}", server.addr()))
        .build()
        .expect("reqwest path");
    let via_proxy = clients.get(&proxied).await.expect("reqwest path");
    let text = via_proxy
        .get("http://tenure-upstream.invalid/headers")
        .send()
        .await
        .expect("reqwest path")
        .text()
        .await
        .expect("reqwest path");
    assert!(text.contains(&format!("proxy-authorization: {BASIC}\n")));
    shown.push(format!("{proxied:?} {via_proxy:?} {clients:?}"));
    shown.push(format!("{:?}", proxied.reqwest_builder().expect("reqwest path")));
}
