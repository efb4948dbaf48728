use std::sync::Arc as StdArc;

use crate::{
    Close, Lease, Owned, Shared,
    drain::{Closer, LeasedValue},
    sealed::EntrySeal,
    sync::Arc,
};

/// What a cache can hold: [`Owned<T>`] or [`Shared<T>`], and nothing else.
///
/// The entry type decides the two things a client cache must get right:
///
/// | entry        | a lookup hands out | retiring the entry does                                   |
/// |--------------|--------------------|-----------------------------------------------------------|
/// | `Owned<T>`   | a [`Lease<T>`]     | drain, then close: [`Close::close`] after the last lease   |
/// | `Shared<T>`  | a `Shared<T>` clone| drops the cache's reference; never closes                  |
///
/// The trait is sealed. Its hidden items (`__`-prefixed), like the hidden
/// `Closer` trait and `PendingClose` type, are the
/// plumbing between tenure's crates: public only because the cache lives in
/// another crate, and not part of the API. Code that calls them directly is
/// outside tenure's guarantees: it can store an entry with a closer of its own,
/// then run or drop that close.
///
/// # Examples
///
/// ```
/// # use tenure_core as tenure; // the facade re-exports these under the same names
/// use tenure::{Close, Closing, Entry, Lease, Owned, Shared};
///
/// struct Pool;
/// impl Close for Pool {
///     async fn close(self, _: &Closing) {}
/// }
/// struct Client;
///
/// fn hands_out<E: Entry>() -> &'static str { std::any::type_name::<E::Handle>() }
///
/// assert!(hands_out::<Owned<Pool>>().contains("Lease"));
/// assert!(hands_out::<Shared<Client>>().contains("Shared"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cache entry: the cache must know whether it owns it",
    label = "wrap it in `Owned<_>` or `Shared<_>`",
    note = "`Owned::new(value)` if the cache is its sole owner (closed after its last lease), `Shared::new(value)` if other code holds it too (never closed)"
)]
pub trait Entry: EntrySeal + Send + Sync + Sized + 'static {
    /// What a lookup hands out: [`Lease<T>`] for owned entries, [`Shared<T>`] for shared ones.
    type Handle: Clone + Send + Sync + 'static;

    /// Whether retiring this entry closes it (after its leases drain).
    const CLOSES_ON_RETIRE: bool;

    /// How the cache holds the entry; dropping it is what retiring does.
    #[doc(hidden)]
    type Stored: Send + Sync + 'static;

    /// Takes the entry into the cache; `closer` is asked for only by owned entries.
    #[doc(hidden)]
    fn __store(self, closer: impl FnOnce() -> StdArc<dyn Closer>) -> Self::Stored;

    /// A handle for a caller.
    #[doc(hidden)]
    fn __handle(stored: &Self::Stored) -> Self::Handle;

    /// Outstanding handles that keep a retired entry open (always 0 for shared entries).
    #[doc(hidden)]
    fn __leases(stored: &Self::Stored) -> usize;
}

impl<T: Close + Sync> EntrySeal for Owned<T> {}

impl<T: Close + Sync> Entry for Owned<T> {
    type Handle = Lease<T>;
    const CLOSES_ON_RETIRE: bool = true;
    type Stored = Arc<LeasedValue<T>>;

    fn __store(self, closer: impl FnOnce() -> StdArc<dyn Closer>) -> Self::Stored {
        Arc::new(LeasedValue::new(self, closer()))
    }

    fn __handle(stored: &Self::Stored) -> Lease<T> {
        Lease::new(stored)
    }

    fn __leases(stored: &Self::Stored) -> usize {
        Arc::strong_count(stored) - 1
    }
}

impl<T: Send + Sync + 'static> EntrySeal for Shared<T> {}

impl<T: Send + Sync + 'static> Entry for Shared<T> {
    type Handle = Shared<T>;
    const CLOSES_ON_RETIRE: bool = false;
    type Stored = Shared<T>;

    fn __store(self, _closer: impl FnOnce() -> StdArc<dyn Closer>) -> Self::Stored {
        self
    }

    fn __handle(stored: &Self::Stored) -> Shared<T> {
        stored.clone()
    }

    fn __leases(_stored: &Self::Stored) -> usize {
        0
    }
}
