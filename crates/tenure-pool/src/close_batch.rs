//! Closes started together run together: one task per [`CHUNK`] closes, not one
//! per close.
//!
//! `shutdown`, `invalidate_all` and the reaper retire many entries in one go.
//! Spawning one task per close cost a task allocation and, on a multi-thread
//! runtime, often a worker wake-up (a futex call) per entry. Inside [`batch`],
//! the closes that [`submit`] receives on this thread are collected instead;
//! when the batch ends they are spawned in chunks, each chunk one task that
//! polls its closes concurrently, on the runtime each close asked for.
//!
//! What is submitted is a close not yet started ([`StartClose`], an entry's
//! closer), not its future: a chunk builds each close's future when it first
//! polls it, so the allocation (and its free, when the close ends) happen on
//! the worker that runs the close, not on the thread that retires a whole
//! cache in a row (a shutdown spent a tenth of its own work allocating them).
//!
//! Nothing else changes for a close: it still runs on its entry's runtime, is
//! counted, traced and taken over as before (see `closer.rs`), and a close
//! dropped unstarted (its task or chunk dropped unpolled: the runtime shut
//! down) is told so ([`StartClose::never_started`]), which abandons and counts it.
//!
//! A batch also reads the clock once: the times at which its entries were
//! retired, queued and taken (for the stuck-entry warnings and the shutdown
//! report) are the batch's start, and a chunk's poll start ([`now`]). A clock
//! read cost about as much as the rest of an entry's retirement bookkeeping.

use std::{
    cell::{Cell, RefCell},
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use tokio::{runtime::Handle, time::Instant};

/// A close's own task, as [`StartClose::start`] builds it.
pub(crate) type CloseTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A close that is due and not started yet.
pub(crate) trait StartClose: Send + Sync + 'static {
    /// The close's task, built on the thread that is about to poll it.
    fn start(self: Arc<Self>) -> CloseTask;

    /// The close will not start here: what would have run it was dropped
    /// unpolled (its runtime shut down).
    fn never_started(self: Arc<Self>);
}

/// A submitted close until it starts; dropped before, it never starts.
struct Unstarted(Option<Arc<dyn StartClose>>);

impl Unstarted {
    fn start(&mut self) -> Option<CloseTask> {
        self.0.take().map(StartClose::start)
    }
}

impl Drop for Unstarted {
    fn drop(&mut self) {
        if let Some(close) = self.0.take() {
            close.never_started();
        }
    }
}

/// The most closes one task runs: enough to amortize a spawn, few enough that
/// the closes of a large batch still spread over the runtime's workers.
const CHUNK: usize = 64;

std::thread_local! {
    /// The closes submitted on this thread during an open batch.
    static OPEN: RefCell<Option<Vec<(Handle, Unstarted)>>> = const { RefCell::new(None) };
    /// The time read when this thread's current batch or chunk poll started.
    static TIME: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// tokio's time, as read at the start of this thread's current batch or chunk
/// poll, if one is under way; else read now.
pub(crate) fn now() -> Instant {
    TIME.try_with(Cell::get).ok().flatten().unwrap_or_else(Instant::now)
}

/// Sets [`now`]'s reading on this thread until dropped (restoring the one before).
struct TimeSet(Option<Instant>);

impl TimeSet {
    fn now() -> Self {
        Self(TIME.try_with(|time| time.replace(Some(Instant::now()))).ok().flatten())
    }
}

impl Drop for TimeSet {
    fn drop(&mut self) {
        let _ = TIME.try_with(|time| time.set(self.0));
    }
}

/// Runs `f` with a batch open on this thread, then spawns the closes it
/// submitted. Nested batches join the outermost one. The closes are spawned
/// even if `f` panics.
pub(crate) fn batch<R>(f: impl FnOnce() -> R) -> R {
    let opened = OPEN
        .try_with(|open| {
            let mut open = open.borrow_mut();
            if open.is_some() {
                return false;
            }
            *open = Some(Vec::new());
            true
        })
        .unwrap_or(false);
    // Only the outermost batch flushes (`then`, not `then_some`: a `Flush`
    // built and dropped here would end the outer batch early).
    let _flush = opened.then(|| Flush(TimeSet::now()));
    f()
}

/// Starts `close` in a task of its own on `runtime`, or adds it to this
/// thread's open batch.
pub(crate) fn submit(runtime: Handle, close: Arc<dyn StartClose>) {
    let mut item = Some((runtime, Unstarted(Some(close))));
    let _ = OPEN.try_with(|open| {
        if let Some(batch) = open.borrow_mut().as_mut() {
            batch.extend(item.take());
        }
    });
    if let Some((runtime, mut unstarted)) = item {
        drop(runtime.spawn(async move {
            if let Some(task) = unstarted.start() {
                task.await;
            }
        }));
    }
}

/// Ends the batch this thread opened: spawns its closes (and then restores
/// the time, its field, as it is dropped).
struct Flush(#[allow(dead_code, reason = "held for its Drop")] TimeSet);

impl Drop for Flush {
    fn drop(&mut self) {
        let Ok(Some(closes)) = OPEN.try_with(|open| open.borrow_mut().take()) else {
            return;
        };
        // Consecutive closes for one runtime share chunks (retirement order is
        // kept; a cache on one runtime makes one run).
        let mut chunk: Vec<Unstarted> = Vec::new();
        let mut target: Option<Handle> = None;
        for (runtime, close) in closes {
            let same = target.as_ref().is_some_and(|t| t.id() == runtime.id());
            if !same || chunk.len() == CHUNK {
                if let Some(target) = target.take() {
                    drop(target.spawn(Chunk::of(std::mem::take(&mut chunk))));
                }
                target = Some(runtime);
            }
            chunk.push(close);
        }
        if let Some(target) = target {
            drop(target.spawn(Chunk::of(chunk)));
        }
    }
}

/// Starts its closes at its first poll, then polls them until all have
/// finished (a finished one is dropped at once). Dropped unpolled, its closes
/// are dropped unstarted.
struct Chunk {
    unstarted: Vec<Unstarted>,
    running: Vec<CloseTask>,
}

impl Chunk {
    /// `running` is allocated at the first poll, on the worker.
    fn of(unstarted: Vec<Unstarted>) -> Self {
        Self {
            unstarted,
            running: Vec::new(),
        }
    }
}

impl Future for Chunk {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _time = TimeSet::now();
        let chunk = &mut *self;
        chunk
            .running
            .extend(chunk.unstarted.drain(..).filter_map(|mut close| close.start()));
        chunk.running.retain_mut(|task| task.as_mut().poll(cx).is_pending());
        if chunk.running.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    /// Runs `runtime` until `closes` reaches `total`, for at most 10,000 yields
    /// (each close here needs two polls); returns the count reached.
    fn run_until(runtime: &tokio::runtime::Runtime, closes: &AtomicUsize, total: usize) -> usize {
        runtime.block_on(async {
            for _ in 0..10_000 {
                if closes.load(Ordering::SeqCst) >= total {
                    break;
                }
                tokio::task::yield_now().await;
            }
        });
        closes.load(Ordering::SeqCst)
    }

    /// A close that yields once, then counts itself in `closes`; told it never
    /// started, it counts itself in `never`.
    struct Counting {
        closes: Arc<AtomicUsize>,
        never: Arc<AtomicUsize>,
    }

    impl StartClose for Counting {
        fn start(self: Arc<Self>) -> CloseTask {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.closes.fetch_add(1, Ordering::SeqCst);
            })
        }

        fn never_started(self: Arc<Self>) {
            self.never.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting(closes: &Arc<AtomicUsize>) -> Arc<dyn StartClose> {
        Arc::new(Counting {
            closes: Arc::clone(closes),
            never: Arc::new(AtomicUsize::new(0)),
        })
    }

    #[test]
    fn a_batch_runs_every_close_on_its_runtime_in_chunks_and_nested_batches_join_it() {
        // Not running until `block_on`: the tasks spawned stay countable.
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let other = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let closes = Arc::new(AtomicUsize::new(0));
        batch(|| {
            for _ in 0..100 {
                submit(runtime.handle().clone(), counting(&closes));
            }
            batch(|| submit(runtime.handle().clone(), counting(&closes)));
            submit(other.handle().clone(), counting(&closes));
            assert_eq!(
                runtime.metrics().num_alive_tasks(),
                0,
                "nothing spawned inside the batch"
            );
        });
        // 101 closes on one runtime: a chunk of 64 and one of 37; the other's close alone.
        assert_eq!(runtime.metrics().num_alive_tasks(), 2);
        assert_eq!(other.metrics().num_alive_tasks(), 1);
        assert_eq!(run_until(&runtime, &closes, 101), 101);
        assert_eq!(run_until(&other, &closes, 102), 102);
        // Outside a batch, a close is spawned at once, on its own.
        submit(runtime.handle().clone(), counting(&closes));
        assert_eq!(runtime.metrics().num_alive_tasks(), 1);
        assert_eq!(run_until(&runtime, &closes, 103), 103);
    }

    #[test]
    fn a_batch_that_panics_still_spawns_its_closes() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let closes = Arc::new(AtomicUsize::new(0));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batch(|| {
                submit(runtime.handle().clone(), counting(&closes));
                panic!("a listener panicked");
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(run_until(&runtime, &closes, 1), 1);
    }

    #[test]
    fn a_close_dropped_unstarted_is_told_so_once_in_a_chunk_or_alone() {
        let closes = Arc::new(AtomicUsize::new(0));
        let never = Arc::new(AtomicUsize::new(0));
        let close = || -> Arc<dyn StartClose> {
            Arc::new(Counting {
                closes: Arc::clone(&closes),
                never: Arc::clone(&never),
            })
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        batch(|| {
            for _ in 0..70 {
                submit(runtime.handle().clone(), close());
            }
        });
        submit(runtime.handle().clone(), close());
        assert_eq!(
            runtime.metrics().num_alive_tasks(),
            3,
            "two chunks and one task of its own"
        );
        // Shut down before any task is polled: every close is dropped unstarted.
        drop(runtime);
        assert_eq!(never.load(Ordering::SeqCst), 71, "each close, once");
        assert_eq!(closes.load(Ordering::SeqCst), 0);
    }
}
