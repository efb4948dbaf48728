use std::future::Future;

/// How a resource is shut down.
///
/// `close` takes `self` by value, so only the sole owner of a value can call it.
/// In a cache that owner is an [`Owned`](crate::Owned) entry: the cache calls
/// `close` once, after the entry is retired and its last [`Lease`](crate::Lease)
/// is dropped. Callers holding a lease only ever see `&T`, so they cannot close it.
///
/// `close` should not panic; if it does, the cache catches and counts the panic.
/// Errors are the implementor's to log: nobody is left to return them to.
///
/// # Examples
///
/// ```
/// use tenure_core::Close;
///
/// struct Connection { id: u32 }
///
/// impl Close for Connection {
///     async fn close(self) {
///         // Flush, say goodbye to the server, release sockets...
///         println!("connection {} closed", self.id);
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Close`, so it cannot be an `Owned` cache entry",
    label = "not closeable by the cache",
    note = "implement `tenure::Close` for a type you own; a value that other code also references (an `Arc`, a cloned client) belongs in `Shared<T>`, which is never closed"
)]
pub trait Close: Send + 'static {
    /// Shuts the resource down, consuming it.
    fn close(self) -> impl Future<Output = ()> + Send;
}
