use std::future::Future;

use crate::{Close, Closing, Owned, sealed::CloseSeal};

/// Closing a value that the cache owns alone: the only path by which a cache closes anything.
///
/// Sealed and implemented only by [`Owned<T>`]. The cache closes an entry through
/// this trait after the entry is retired and its last [`Lease`](crate::Lease) is
/// dropped. Like [`Close::close`], `evict_close` takes a [`&Closing`](Closing) that
/// only tenure makes, for the close it runs, so no code outside a running close
/// can call it. As a bound it says "a
/// value the cache may close": a [`Shared<T>`](crate::Shared), which other code
/// may still be using, never satisfies it, and asking for one is a compile error
/// that says why.
///
/// # Examples
///
/// Code that is generic over what a cache may close asks for `EvictClose`:
///
/// ```
/// # use tenure_core as tenure; // the facade re-exports these under the same names
/// use tenure::{Close, Closing, EvictClose, Owned};
///
/// struct Pool;
/// impl Close for Pool {
///     async fn close(self, _: &Closing) {}
/// }
///
/// fn closeable<E: EvictClose>(_: &E) {}
///
/// closeable(&Owned::new(Pool));
/// ```
///
/// and a shared client is refused there:
///
/// ```compile_fail,E0277
/// # use tenure_core::{EvictClose, Shared};
/// # fn closeable<E: EvictClose>(_: &E) {}
/// struct HttpClient;
/// closeable(&Shared::new(HttpClient));
/// ```
///
/// Nor can a type outside tenure opt in:
///
/// ```compile_fail,E0277
/// # use tenure_core::{Closing, EvictClose};
/// struct HttpClient;
/// impl EvictClose for HttpClient {
///     async fn evict_close(self, _: &Closing) {}
/// }
/// ```
///
/// Nor can code outside tenure close an `Owned` it holds (there is no `Closing` to give):
///
/// ```compile_fail,E0061
/// # use tenure_core::{Close, Closing, EvictClose, Owned};
/// # struct Pool;
/// # impl Close for Pool { async fn close(self, _: &Closing) {} }
/// async fn shut(entry: Owned<Pool>) {
///     entry.evict_close().await;
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be closed by the cache: only `Owned<T>` entries are closed when retired",
    label = "the cache does not own this value",
    note = "a `Shared<T>` is referenced by other code, so retiring it only drops the cache's reference; a `Lease<T>` only borrows an owned entry, which the cache closes after the last lease is dropped",
    note = "if the cache really is the sole owner, insert `Owned::new(value)` instead"
)]
pub trait EvictClose: CloseSeal + Send + 'static {
    /// Closes the value, consuming its sole owner. Called by the cache only.
    fn evict_close(self, closing: &Closing) -> impl Future<Output = ()> + Send;
}

impl<T: Close> CloseSeal for Owned<T> {}

impl<T: Close> EvictClose for Owned<T> {
    fn evict_close(self, closing: &Closing) -> impl Future<Output = ()> + Send {
        self.into_value().close(closing)
    }
}
