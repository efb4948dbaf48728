//! Issue 12: every error of this crate, and the cache's `GetError`, goes through
//! `?` into `Box<dyn Error + Send + Sync>` (the bound `anyhow::Error` needs too),
//! and stays reachable, typed, behind it.

use std::error::Error as StdError;
use std::time::Duration;

use tenure_http::tenure_pool::{ClientCache, GetError, Shared};
use tenure_http::{Error, ErrorKind, HttpClient, HttpClientConfig, HttpClients};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What `?` into `Box<dyn Error + Send + Sync>` and `anyhow::Error` needs.
fn assert_boxable<E: StdError + Send + Sync + 'static>() {}

#[test]
fn every_public_error_is_an_error_send_sync_static() {
    assert_boxable::<Error>();
    assert_boxable::<tenure_http::tenure_pool::Error>();
    assert_boxable::<GetError<Error>>();
    assert_boxable::<GetError<BoxError>>();
}

/// Our error behind the box, typed.
fn ours(boxed: &BoxError) -> &Error {
    boxed.downcast_ref::<Error>().expect("`?` boxed this crate's error")
}

fn build_config() -> Result<HttpClientConfig, BoxError> {
    Ok(HttpClientConfig::builder().request_timeout(Duration::ZERO).build()?)
}

async fn request(client: &HttpClient, uri: &str) -> Result<(), BoxError> {
    client.get(uri).await?;
    Ok(())
}

async fn clients_get(clients: &HttpClients, config: &HttpClientConfig) -> Result<(), BoxError> {
    clients.get(config).await?;
    Ok(())
}

async fn get_or_try_insert(cache: &ClientCache<u8, Shared<u8>>) -> Result<Shared<u8>, BoxError> {
    let init = || async { Err::<Shared<u8>, BoxError>("the backend said no".into()) };
    Ok(cache.get_or_try_insert_with(1, init).await?)
}

#[tokio::test]
async fn question_mark_boxes_each_error_and_keeps_it_typed() {
    let err = build_config().unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::InvalidConfig);
    assert_eq!(ours(&err).setting(), Some("request_timeout"));

    let client = HttpClient::new(&HttpClientConfig::default()).unwrap();
    let err = request(&client, "/relative").await.unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::InvalidRequest);

    // A connect error names the server. A closed port: bind, read the port, close.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = request(&client, &format!("http://{addr}/")).await.unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::Connect, "{err}");
    assert_eq!(ours(&err).addr(), Some(addr.as_str()));

    let clients = HttpClients::builder().build().unwrap();
    let _report = clients.shutdown().await;
    let err = clients_get(&clients, &HttpClientConfig::default()).await.unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::ShutDown, "{err}");

    let cache = ClientCache::<u8, Shared<u8>>::builder().build().unwrap();
    let err = get_or_try_insert(&cache).await.unwrap_err();
    let get = err
        .downcast_ref::<GetError<BoxError>>()
        .expect("`?` boxed the GetError");
    assert_eq!(
        get.init_error().map(ToString::to_string).as_deref(),
        Some("the backend said no")
    );
    assert!(err.to_string().contains("the backend said no"), "{err}");
}
