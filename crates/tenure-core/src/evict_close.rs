use std::future::Future;

use crate::{Close, Owned, sealed::CloseSeal};

/// Closing a value that the cache owns alone: the only path by which a cache closes anything.
///
/// Sealed and implemented only by [`Owned<T>`]. A cache closes an entry through
/// this trait after the entry is retired and its last [`Lease`](crate::Lease) is
/// dropped, so a [`Shared<T>`](crate::Shared) value, which other code may still be
/// using, can never reach a close: asking for one is a compile error that says why.
///
/// # Examples
///
/// A hook that closes what it evicts must ask for `EvictClose`:
///
/// ```
/// use tenure_core::{Close, EvictClose, Owned};
///
/// struct Pool;
/// impl Close for Pool {
///     async fn close(self) {}
/// }
///
/// async fn close_evicted<E: EvictClose>(entry: E) {
///     entry.evict_close().await;
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// close_evicted(Owned::new(Pool)).await;
/// # });
/// ```
///
/// and a shared client is refused there:
///
/// ```compile_fail,E0277
/// # use tenure_core::{EvictClose, Shared};
/// # async fn close_evicted<E: EvictClose>(entry: E) { entry.evict_close().await; }
/// struct HttpClient;
/// # async fn run() {
/// close_evicted(Shared::new(HttpClient)).await;
/// # }
/// ```
///
/// Nor can a type outside tenure opt in:
///
/// ```compile_fail,E0277
/// # use tenure_core::EvictClose;
/// struct HttpClient;
/// impl EvictClose for HttpClient {
///     async fn evict_close(self) {}
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be closed by the cache: only `Owned<T>` entries are closed when retired",
    label = "the cache does not own this value",
    note = "a `Shared<T>` is referenced by other code, so retiring it only drops the cache's reference; a `Lease<T>` only borrows an owned entry, which the cache closes after the last lease is dropped",
    note = "if the cache really is the sole owner, insert `Owned::new(value)` instead"
)]
pub trait EvictClose: CloseSeal + Send + 'static {
    /// Closes the value, consuming its sole owner.
    fn evict_close(self) -> impl Future<Output = ()> + Send;
}

impl<T: Close> CloseSeal for Owned<T> {}

impl<T: Close> EvictClose for Owned<T> {
    fn evict_close(self) -> impl Future<Output = ()> + Send {
        self.into_value().close()
    }
}
