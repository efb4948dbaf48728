//! Errors convert with `?` into the error types applications use, and the
//! moka-style conveniences (`get_with`, `entry_count`) behave as their names say.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::error::Error;

use tenure_pool::{ClientCache, ErrorKind, GetError, Shared};

type BoxError = Box<dyn Error + Send + Sync>;

async fn lookup(cache: &ClientCache<u32, Shared<String>>, fail: bool) -> Result<Shared<String>, BoxError> {
    // `?` needs `GetError<BoxError>: Error`.
    let client = cache
        .get_or_try_insert_with(1, || async move {
            if fail {
                Err::<Shared<String>, BoxError>("the provider refused the API key".into())
            } else {
                Ok(Shared::new("client".to_owned()))
            }
        })
        .await?;
    Ok(client)
}

#[tokio::test]
async fn a_get_error_with_a_boxed_init_error_converts_with_question_mark() {
    let cache = ClientCache::<u32, Shared<String>>::builder().build().unwrap();
    let err = lookup(&cache, true).await.unwrap_err();
    assert!(err.to_string().contains("the provider refused the API key"), "{err}");
    assert!(lookup(&cache, false).await.is_ok());

    // The typed init error stays reachable.
    let err = cache
        .get_or_try_insert_with(2, || async { Err::<Shared<String>, _>(std::io::Error::other("boom")) })
        .await
        .unwrap_err();
    assert_eq!(err.init_error().unwrap().to_string(), "boom");
    assert!(matches!(err, GetError::Init(_)));
}

#[tokio::test]
async fn get_with_inserts_once_and_reports_only_cache_errors() {
    let cache = ClientCache::<u32, Shared<String>>::builder().build().unwrap();
    let a = cache
        .get_with(1, || async { Shared::new("a".to_owned()) })
        .await
        .unwrap();
    let b = cache
        .get_with(1, || async { Shared::new("b".to_owned()) })
        .await
        .unwrap();
    assert!(Shared::ptr_eq(&a, &b));
    assert_eq!(cache.entry_count(), 1);
    assert_eq!(cache.len(), 1);
    cache.shutdown().await;
    let err = cache
        .get_with(2, || async { Shared::new("c".to_owned()) })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ShutDown);
    assert_eq!(cache.entry_count(), 0);
}
