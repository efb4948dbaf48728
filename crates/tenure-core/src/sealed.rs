//! Supertraits that keep [`EvictClose`](crate::EvictClose) and
//! [`Entry`](crate::Entry) closed to implementations outside this crate.

// Public traits in a private module: nameable here, unnameable downstream.
#![allow(unreachable_pub)]

/// Seal of [`EvictClose`](crate::EvictClose).
#[diagnostic::on_unimplemented(
    message = "`EvictClose` is sealed: only `Owned<T>` can be closed by the cache, not `{Self}`",
    note = "implement `tenure::Close` for your resource and insert it as `Owned::new(value)`; the cache then closes it after its last lease"
)]
pub trait CloseSeal {}

/// Seal of [`Entry`](crate::Entry).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a cache entry",
    note = "wrap the value: `Owned::new(value)` if the cache is its sole owner, `Shared::new(value)` if other code holds it too"
)]
pub trait EntrySeal {}

/// Has no implementations: the bound that makes `lease.close()` a compile error
/// with an explanation instead of a borrow-checker message.
#[diagnostic::on_unimplemented(
    message = "a `Lease` cannot close the value it lends",
    label = "leases only borrow the entry",
    note = "the cache closes an owned entry exactly once, after it is retired and its last lease is dropped: drop the lease, or retire the entry with `cache.invalidate(&key)`"
)]
pub trait NotByLease {}

/// Has no implementations: the bound that makes `owned.clone()` a compile error
/// with an explanation instead of "no method named `clone`".
#[diagnostic::on_unimplemented(
    message = "an `Owned` entry has exactly one owner, so it cannot be cloned",
    label = "two owners would both close it",
    note = "insert it once (`cache.insert(key, owned)`) and share the lease it returns: `lease.clone()` takes another loan; for a value that other code holds too, use `Shared::new(value)`, whose clones are never closed"
)]
pub trait SoleOwner {}
