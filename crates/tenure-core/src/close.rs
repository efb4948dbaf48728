use std::future::Future;

use crate::Closing;

/// How a resource is shut down.
///
/// Implement it for a resource the cache will own alone, and insert the resource
/// as [`Owned::new(value)`](crate::Owned). The cache calls `close` once, after the
/// entry is retired and its last [`Lease`](crate::Lease) is dropped. Code outside
/// a running close cannot call it, because it takes a [`&Closing`](Closing) that
/// only tenure makes, for the close it runs; code inside a close (yours) can, on
/// the parts of its value (see [`Closing`] for what the token cannot tell).
///
/// `close` should not panic; if it does, the cache catches and counts the panic.
/// Errors are the implementor's to log: nobody is left to return them to.
///
/// # What the types cannot check for you
///
/// The cache closes the value it was given. If that value shares state with
/// values elsewhere (a handle around an `Arc`, a type that is `Clone` whose
/// clones close together, a `&'static` reference), closing it reaches them too,
/// and leases can copy such a value out through `Deref`. Implement `Close` only
/// for a value whose close affects nothing but itself; see `docs/adopting.md`,
/// "What the types cannot rule out".
///
/// # Examples
///
/// ```
/// # use tenure_core as tenure; // the facade re-exports these under the same names
/// use tenure::{Close, Closing};
///
/// struct Connection { id: u32 }
///
/// impl Close for Connection {
///     async fn close(self, _closing: &Closing) {
///         // Flush, say goodbye to the server, release sockets...
///         println!("connection {} closed", self.id);
///     }
/// }
/// ```
///
/// A resource made of closeable parts passes the token on:
///
/// ```
/// # use tenure_core::{Close, Closing};
/// # struct Connection;
/// # impl Close for Connection { async fn close(self, _: &Closing) {} }
/// struct Replicated { primary: Connection, replica: Connection }
///
/// impl Close for Replicated {
///     async fn close(self, closing: &Closing) {
///         self.primary.close(closing).await;
///         self.replica.close(closing).await;
///     }
/// }
/// ```
///
/// No code outside tenure can close a value, even one it holds by value:
///
/// ```compile_fail,E0061
/// # use tenure_core::{Close, Closing};
/// # struct Connection;
/// # impl Close for Connection { async fn close(self, _: &Closing) {} }
/// async fn shut(conn: Connection) {
///     conn.close().await; // no `Closing` to give
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Close`, so it cannot be an `Owned` cache entry",
    label = "not closeable by the cache",
    note = "implement `tenure::Close` for a type you own: `async fn close(self, _closing: &tenure::Closing) {{ .. }}`; a value that other code also references (an `Arc`, a cloned client) belongs in `Shared<T>`, which is never closed"
)]
pub trait Close: Send + 'static {
    /// Shuts the resource down, consuming it. Called by the cache only.
    fn close(self, closing: &Closing) -> impl Future<Output = ()> + Send;
}
