//! Issue 12: every error of this crate, and the cache's `GetError`, goes through
//! `?` into `Box<dyn Error + Send + Sync>` (the bound `anyhow::Error` needs too),
//! and stays reachable, typed, behind it.

use std::error::Error as StdError;

use tenure_pool::{ClientCache, GetError, Shared};
use tenure_redis::deadpool_redis::redis;
use tenure_redis::{Error, ErrorKind, RedisClients, RedisConfig};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What `?` into `Box<dyn Error + Send + Sync>` and `anyhow::Error` needs.
fn assert_boxable<E: StdError + Send + Sync + 'static>() {}

#[test]
fn every_public_error_is_an_error_send_sync_static() {
    assert_boxable::<Error>();
    assert_boxable::<tenure_redis::CacheError>();
    assert_boxable::<GetError<Error>>();
    assert_boxable::<GetError<BoxError>>();
}

/// Our error behind the box, typed.
fn ours(boxed: &BoxError) -> &Error {
    boxed.downcast_ref::<Error>().expect("`?` boxed this crate's error")
}

fn parse(url: &str) -> Result<RedisConfig, BoxError> {
    Ok(RedisConfig::from_url(url)?)
}

fn command_failed() -> Result<(), BoxError> {
    let failed: Result<(), redis::RedisError> = Err((redis::ErrorKind::Parse, "bad reply").into());
    // A command's error becomes this crate's `Error` first, as in a caller's code.
    let converted: Result<(), Error> = failed.map_err(Error::from);
    converted?;
    Ok(())
}

fn build_clients(capacity: u64) -> Result<RedisClients, BoxError> {
    Ok(RedisClients::builder().max_capacity(capacity).build()?)
}

async fn get(clients: &RedisClients, config: &RedisConfig) -> Result<(), BoxError> {
    clients.get(config).await?;
    Ok(())
}

async fn get_or_try_insert(cache: &ClientCache<u8, Shared<u8>>) -> Result<Shared<u8>, BoxError> {
    let init = || async { Err::<Shared<u8>, BoxError>("the backend said no".into()) };
    Ok(cache.get_or_try_insert_with(1, init).await?)
}

#[tokio::test]
async fn question_mark_boxes_each_error_and_keeps_it_typed() {
    let err = parse("redis://app:s3cret@h:6390/0?protocol=9").unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::InvalidProtocol);
    assert!(ours(&err).is_config());
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");

    let err = command_failed().unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::Command);
    assert!(err.source().is_some_and(|s| s.is::<redis::RedisError>()), "{err:?}");

    let err = build_clients(0).unwrap_err();
    assert_eq!(ours(&err).kind(), ErrorKind::InvalidSetting);
    assert!(err.to_string().contains("max_capacity"), "{err}");

    // No server is needed: a shut-down cache refuses before connecting.
    let clients = build_clients(8).unwrap();
    let _report = clients.shutdown().await;
    let config = RedisConfig::from_url("redis://127.0.0.1:6390/0").unwrap();
    let err = get(&clients, &config).await.unwrap_err();
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
