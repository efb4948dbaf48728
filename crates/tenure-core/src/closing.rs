/// Proof that the cache is closing a value: the argument of [`Close::close`](crate::Close::close).
///
/// Only tenure can make a `Closing`: it has no public constructor, and tenure hands
/// out nothing but a short-lived `&Closing` to the close it runs (an owned entry's,
/// after the entry is retired and its last lease is dropped). So code that is not
/// running inside such a close cannot call [`Close::close`](crate::Close::close) or
/// [`EvictClose::evict_close`](crate::EvictClose::evict_close), whatever the type:
/// a value had by `Clone` or `Copy`, a reference, a newtype. It can still have
/// a cache close a value it has by value, by inserting it as `Owned` into a
/// cache of its own: the token decides who calls a close, not which value is
/// closed, so a `Close` type whose clones share state is wrong (below).
///
/// Inside a close you may pass the reference on to close the parts of your value
/// (`self.inner.close(closing).await`). It cannot outlive the close: it borrows a
/// value that lives in the cache's close task, so it cannot be stored in a
/// `'static` place or moved into a spawned task.
///
/// What the token cannot tell: *which* value it is used on. For as long as a
/// close runs, its code can close any value of a `Close` type that it has by
/// value: its own parts, as intended, but also a clone of a client other code
/// still uses, a `Copy` value (twice), or values other code sends to a close
/// that never returns. tenure cannot tell those apart from parts. Each is a bug
/// in that `Close` implementation, not something the cache does; a close that
/// runs on past `drain_warning_after` is logged, by key. See `docs/adopting.md`,
/// "What the types cannot rule out".
///
/// # Examples
///
/// Implementing [`Close`](crate::Close) takes the token and usually ignores it:
///
/// ```
/// # use tenure_core as tenure; // the facade re-exports these under the same names
/// use tenure::{Close, Closing};
///
/// struct Connection;
///
/// impl Close for Connection {
///     async fn close(self, _closing: &Closing) {
///         // say goodbye to the server
///     }
/// }
/// ```
///
/// Calling a close yourself does not compile, because there is no `Closing` to give:
///
/// ```compile_fail,E0624
/// # use tenure_core::{Close, Closing};
/// # #[derive(Clone)]
/// # struct Connection;
/// # impl Close for Connection { async fn close(self, _: &Closing) {} }
/// async fn close_a_copy(conn: &Connection) {
///     conn.clone().close(&Closing::new()).await;
/// }
/// ```
pub struct Closing {
    _only_tenure: (),
}

impl Closing {
    /// Made only where tenure runs a close.
    pub(crate) const fn new() -> Self {
        Self { _only_tenure: () }
    }
}

impl std::fmt::Debug for Closing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Closing")
    }
}
