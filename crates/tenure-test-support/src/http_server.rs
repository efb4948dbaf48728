//! [`CountingServer`]: an in-process loopback HTTP server that counts connections.
//!
//! [`CountingServer`] is a real hyper server (HTTP/1.1 and HTTP/2, optionally
//! over TLS) running in-process on `127.0.0.1:0`, which counts the
//! connections it accepts. Counting server-side connections is how tests,
//! the `incident` example and the benchmarks prove that a cached client
//! reuses its pool instead of being rebuilt cold.
//!
//! Routes:
//!
//! | path | response |
//! | --- | --- |
//! | `/` | `200`, body `hello` |
//! | `/stream?chunks=N` | `200`, `N` chunks of [`STREAM_CHUNK_SIZE`] bytes, 1 ms apart; the bytes are [`stream_bytes(N)`](stream_bytes) |
//! | `/delay?ms=N` | `200`, body `ok`, after `N` ms |
//! | `/headers` | `200`, the request headers, one `name: value` line each |
//! | `/redirect?to=PORT` | `302` to `http://127.0.0.1:PORT/headers` |
//! | anything else | `404` |
//!
//! The TLS mode ([`CountingServer::start_tls`]) serves a certificate for
//! `127.0.0.1` and `localhost` signed by a fresh [`TestCertificates`] CA; trust
//! [`ca_cert_der`](CountingServer::ca_cert_der) or
//! [`ca_cert_pem`](CountingServer::ca_cert_pem) in the client config.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::TestCertificates;

/// Size of one chunk of `/stream`.
pub const STREAM_CHUNK_SIZE: usize = 1024;
/// Upper bound of `chunks` in `/stream?chunks=N` (larger values are capped).
pub const MAX_STREAM_CHUNKS: usize = 4096;
/// Upper bound of `ms` in `/delay?ms=N` (larger values are capped).
pub const MAX_DELAY: Duration = Duration::from_secs(600);
/// The server stops accepting after this many connections.
pub const MAX_CONNECTIONS: usize = 100_000;

/// The bytes `/stream?chunks=N` sends: byte `i` is `i % 251`.
#[must_use]
pub fn stream_bytes(chunks: usize) -> Vec<u8> {
    let len = chunks.min(MAX_STREAM_CHUNKS) * STREAM_CHUNK_SIZE;
    (0..len).map(stream_byte).collect()
}

fn stream_byte(i: usize) -> u8 {
    // 251 is prime and not a divisor of the chunk size: chunks differ.
    u8::try_from(i % 251).unwrap_or(0)
}

/// Connection and request counters shared with the server tasks.
#[derive(Default)]
struct Counters {
    accepted: AtomicUsize,
    open: AtomicUsize,
    peak_open: AtomicUsize,
    requests: AtomicUsize,
}

/// Counts a connection as open until dropped (the connection task ended or
/// was aborted).
struct OpenGuard(Arc<Counters>);

impl OpenGuard {
    fn new(counters: &Arc<Counters>) -> Self {
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        let open = counters.open.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak_open.fetch_max(open, Ordering::SeqCst);
        OpenGuard(Arc::clone(counters))
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// TLS material of a server in TLS mode.
struct TlsMaterial {
    ca_der: Vec<u8>,
    ca_pem: String,
    acceptor: tokio_rustls::TlsAcceptor,
}

/// An in-process loopback HTTP server that counts accepted connections.
///
/// Stops on [`shutdown`](Self::shutdown) or drop: the listener closes and
/// open connections are aborted.
///
/// # Examples
///
/// ```
/// use tenure_test_support::CountingServer;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = CountingServer::start().await?;
/// // Any HTTP client works; this one is a bare TCP stream.
/// let mut stream = tokio::net::TcpStream::connect(server.addr()).await?;
/// stream.write_all(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n").await?;
/// let mut response = String::new();
/// stream.read_to_string(&mut response).await?;
/// assert!(response.starts_with("HTTP/1.1 200 OK"));
/// assert!(response.ends_with("hello"));
/// assert_eq!((server.connections(), server.requests()), (1, 1));
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct CountingServer {
    addr: SocketAddr,
    scheme: &'static str,
    counters: Arc<Counters>,
    tls: Option<Arc<TlsMaterial>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl CountingServer {
    /// Starts a plain-HTTP server (HTTP/1.1, and HTTP/2 with prior knowledge)
    /// on `127.0.0.1`, port chosen by the OS.
    ///
    /// # Errors
    ///
    /// If the listener cannot be bound.
    pub async fn start() -> io::Result<Self> {
        Self::start_inner(None).await
    }

    /// Starts an HTTPS server (ALPN `h2` and `http/1.1`) with a certificate
    /// for `127.0.0.1` and `localhost` signed by a fresh [`TestCertificates`] CA.
    ///
    /// # Errors
    ///
    /// If certificate generation fails or the listener cannot be bound.
    pub async fn start_tls() -> io::Result<Self> {
        let material = tls_material(TestCertificates::generate()?)?;
        Self::start_inner(Some(Arc::new(material))).await
    }

    async fn start_inner(tls: Option<Arc<TlsMaterial>>) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, tls.clone(), Arc::clone(&counters), stopped));
        Ok(CountingServer {
            addr,
            scheme: if tls.is_some() { "https" } else { "http" },
            counters,
            tls,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An absolute URI for `path` (which should start with `/`), for
    /// example `http://127.0.0.1:41234/stream?chunks=4`.
    #[must_use]
    pub fn uri(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    /// Connections accepted so far.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now (accepted and not yet closed by either side).
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.counters.open.load(Ordering::SeqCst)
    }

    /// The most connections that were open at the same time.
    #[must_use]
    pub fn peak_open_connections(&self) -> usize {
        self.counters.peak_open.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    #[must_use]
    pub fn requests(&self) -> usize {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// The CA certificate (DER) in TLS mode.
    #[must_use]
    pub fn ca_cert_der(&self) -> Option<&[u8]> {
        self.tls.as_deref().map(|t| t.ca_der.as_slice())
    }

    /// The CA certificate (PEM) in TLS mode.
    #[must_use]
    pub fn ca_cert_pem(&self) -> Option<&str> {
        self.tls.as_deref().map(|t| t.ca_pem.as_str())
    }

    /// Stops accepting, aborts open connections and waits for the server
    /// task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for CountingServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingServer")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .field("connections", &self.connections())
            .field("open_connections", &self.open_connections())
            .field("requests", &self.requests())
            .finish()
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<TlsMaterial>>,
    counters: Arc<Counters>,
    mut stopped: oneshot::Receiver<()>,
) {
    // Dropping the set (when this task ends or is aborted) aborts every
    // connection task.
    let mut tasks = JoinSet::new();
    let mut accepted_count = 0usize;
    // Bounded: each iteration accepts, reaps one task or fails an accept.
    for _ in 0..MAX_CONNECTIONS.saturating_mul(4) {
        if accepted_count >= MAX_CONNECTIONS {
            break;
        }
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
            // Reap finished connection tasks so the set stays small.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let Ok((stream, _peer)) = accepted else {
            // For example too many open files: let the connections progress.
            tokio::task::yield_now().await;
            continue;
        };
        accepted_count += 1;
        let guard = OpenGuard::new(&counters);
        let tls = tls.clone();
        let counters = Arc::clone(&counters);
        tasks.spawn(async move {
            let _guard = guard;
            let _ = stream.set_nodelay(true);
            let service = service_fn(move |request| {
                counters.requests.fetch_add(1, Ordering::SeqCst);
                route(request)
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(tls) => {
                    if let Ok(stream) = tls.acceptor.accept(stream).await {
                        let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                }
            }
        });
    }
}

type ServerBody = UnsyncBoxBody<Bytes, Infallible>;

fn full(body: impl Into<Bytes>) -> ServerBody {
    Full::new(body.into()).boxed_unsync()
}

fn query_param(request: &Request<Incoming>, name: &str) -> Option<usize> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        if k == name { v.parse().ok() } else { None }
    })
}

fn respond(status: StatusCode, body: ServerBody) -> Response<ServerBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

async fn route(request: Request<Incoming>) -> Result<Response<ServerBody>, Infallible> {
    let response = match request.uri().path() {
        "/" => respond(StatusCode::OK, full("hello")),
        "/stream" => {
            let chunks = query_param(&request, "chunks").unwrap_or(1).min(MAX_STREAM_CHUNKS);
            respond(StatusCode::OK, stream_body(chunks))
        }
        "/delay" => {
            let ms = query_param(&request, "ms").unwrap_or(0);
            let delay = Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)).min(MAX_DELAY);
            tokio::time::sleep(delay).await;
            respond(StatusCode::OK, full("ok"))
        }
        "/headers" => {
            let mut text = String::new();
            for (name, value) in request.headers() {
                text.push_str(name.as_str());
                text.push_str(": ");
                text.push_str(&String::from_utf8_lossy(value.as_bytes()));
                text.push('\n');
            }
            respond(StatusCode::OK, full(text))
        }
        "/redirect" => {
            let port = query_param(&request, "to").unwrap_or(0);
            let mut response = respond(StatusCode::FOUND, full("moved"));
            if let Ok(location) = hyper::header::HeaderValue::from_str(&format!("http://127.0.0.1:{port}/headers")) {
                response.headers_mut().insert(hyper::header::LOCATION, location);
            }
            response
        }
        _ => respond(StatusCode::NOT_FOUND, full("not found")),
    };
    Ok(response)
}

/// A body fed by a task that sends one chunk per millisecond.
struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|c| c.map(|c| Ok(Frame::data(c))))
    }
}

fn stream_body(chunks: usize) -> ServerBody {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        for c in 0..chunks {
            let start = c * STREAM_CHUNK_SIZE;
            let chunk: Vec<u8> = (start..start + STREAM_CHUNK_SIZE).map(stream_byte).collect();
            if tx.send(Bytes::from(chunk)).await.is_err() {
                return; // the client went away
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    ChannelBody { rx }.boxed_unsync()
}

/// A TLS acceptor serving `certificates`' server certificate (and its CA, as
/// the chain), offering `h2` and `http/1.1` by ALPN.
fn tls_material(certificates: TestCertificates) -> io::Result<TlsMaterial> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificates.key_der().to_vec()));
    let chain = vec![
        CertificateDer::from(certificates.cert_der().to_vec()),
        CertificateDer::from(certificates.ca_der().to_vec()),
    ];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| io::Error::other(format!("cannot configure the test server's TLS: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        ca_der: certificates.ca_der().to_vec(),
        ca_pem: certificates.ca_pem().to_owned(),
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    })
}
