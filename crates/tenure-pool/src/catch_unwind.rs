//! A future wrapper that turns a panic inside `poll` into a value, so a panicking
//! `Close::close` is counted instead of tearing down the task that ran it.

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    task::{Context, Poll},
};

use tenure_core::PendingClose;

/// Resolves to `Err(())` if the inner future panicked.
pub(crate) struct CatchUnwind {
    inner: PendingClose,
}

impl CatchUnwind {
    pub(crate) fn new(inner: PendingClose) -> Self {
        Self { inner }
    }
}

impl Future for CatchUnwind {
    type Output = Result<(), ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The cache never looks at a panicked close's state again: it only counts it.
        match catch_unwind(AssertUnwindSafe(|| self.inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
