// A shared client outlives its entry: whoever kept a clone keeps a working client.
use std::sync::Arc;

use tenure::{ClientCache, Shared};

struct HttpClient {
    base: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let clients = ClientCache::<String, Shared<HttpClient>>::builder().max_capacity(1).build().unwrap();
    let router_copy = clients
        .insert("a".into(), Shared::new(HttpClient { base: "https://a".into() }))
        .unwrap();
    let another = router_copy.clone();
    clients.insert("b".into(), Shared::new(HttpClient { base: "https://b".into() })).unwrap(); // evicts "a"
    assert!(clients.get(&"a".to_string()).is_none());
    assert_eq!(router_copy.base, "https://a");
    assert!(Shared::ptr_eq(&router_copy, &another));

    // A client already shared through an `Arc` goes in as `Shared`, not `Owned`.
    let arc = Arc::new(HttpClient { base: "https://c".into() });
    let from_arc: Shared<HttpClient> = Shared::from(Arc::clone(&arc));
    assert!(Arc::ptr_eq(Shared::as_arc(&from_arc), &arc));
    clients.insert("c".into(), Shared::from_arc(arc)).unwrap();
    clients.invalidate_all();
    assert_eq!(from_arc.base, "https://c");
    bounded(clients.shutdown()).await;
}

/// A pass case must fail, not hang, if a close never comes.
async fn bounded<F: std::future::IntoFuture>(shutdown: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown did not finish within 10 s: an owned entry was never closed")
}
