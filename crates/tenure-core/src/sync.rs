//! The `Arc` that leases count with: loom's under `--cfg tenure_loom`, so the
//! model checker sees every reference-count change, and std's otherwise.

#[cfg(tenure_loom)]
pub(crate) use loom::sync::Arc;
#[cfg(not(tenure_loom))]
pub(crate) use std::sync::Arc;
