//! Timings of tenure's `ClientCache` against moka, quick_cache and
//! `Mutex<lru::LruCache>` on the same workloads (criterion).
//!
//! Groups: `hit` (one lookup of a present key, one thread), `read_heavy` (1 and 2
//! threads), `churn` (capacity 200, 10,000 keys, Zipf 1.0, 10% inserts),
//! `single_flight` (64 tasks miss one key at once) and `retire` (10,000 owned
//! entries retired, none leased). The same retirements paired round by round
//! with the hand-written loop are the `retire` bench's table. Hit ratios, init
//! counts and bytes per entry are not timings: the `metrics` bench prints them.

use std::{
    convert::Infallible,
    hint::black_box,
    num::NonZeroUsize,
    sync::{Arc, Barrier, Mutex, atomic::AtomicUsize},
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tenure_bench::{
    BenchCache, Client, Key, MokaFuture, MokaSync, MutexLru, QuickCache, TenureOwned, TenureShared, churn_step,
    churn_trace, filled, lookup_sequence, present_keys, retire, runtime, single_flight,
};
use tenure_pool::{ClientCache, Shared};

/// Keys present in the hit-path and read-heavy caches.
const PRESENT: usize = 1_000;
/// Capacity for those caches: roomy, so no shard of any cache evicts a present key.
const ROOMY: u64 = 4_096;
/// Lookup sequence length (power of two).
const SEQ: usize = 1 << 14;

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .without_plots()
        .configure_from_args()
}

fn hit_one<C: BenchCache>(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, keys: &[Key]) {
    let cache: C = filled(keys, ROOMY);
    let sequence = lookup_sequence(keys, SEQ, 1);
    let mut i = 0usize;
    c.bench_function(C::NAME, |b| {
        b.iter(|| {
            i = (i + 1) & (SEQ - 1);
            cache.get(&sequence[i])
        });
    });
}

/// 1. Hit path: one lookup of a present key on one thread; the handle is dropped.
fn hit(c: &mut Criterion) {
    let rt = runtime(1);
    let _guard = rt.enter();
    let keys = present_keys(PRESENT);
    let mut group = c.benchmark_group("hit");
    group.throughput(Throughput::Elements(1));
    hit_one::<TenureShared>(&mut group, &keys);
    for (name, cache) in [
        ("tenure (owned, lease)", TenureOwned::with_capacity(ROOMY)),
        // Refresh ahead set, not due: what it costs a hit that does not trigger it.
        (
            "tenure (owned, lease, refresh_after set)",
            TenureOwned::with_refresh(ROOMY),
        ),
    ] {
        for &key in &keys {
            cache.insert(key);
        }
        assert_eq!(cache.0.len(), keys.len());
        let sequence = lookup_sequence(&keys, SEQ, 1);
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) & (SEQ - 1);
                cache.get(&sequence[i])
            });
        });
    }
    hit_one::<QuickCache>(&mut group, &keys);
    hit_one::<MokaSync>(&mut group, &keys);
    hit_one::<MokaFuture>(&mut group, &keys);
    hit_one::<MutexLru>(&mut group, &keys);
    group.finish();
}

fn read_heavy_one<C: BenchCache>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    keys: &[Key],
    threads: usize,
) {
    let cache: C = filled(keys, ROOMY);
    let sequences: Vec<Vec<Key>> = (0..threads)
        .map(|t| lookup_sequence(keys, SEQ, 100 + t as u64))
        .collect();
    group.throughput(Throughput::Elements(threads as u64));
    group.bench_function(BenchmarkId::new(C::NAME, format!("{threads} thread(s)")), |b| {
        b.iter_custom(|iters| {
            let start = Barrier::new(threads + 1);
            std::thread::scope(|s| {
                let handles: Vec<_> = sequences
                    .iter()
                    .map(|sequence| {
                        let (cache, start) = (&cache, &start);
                        s.spawn(move || {
                            start.wait();
                            let mut hits = 0u64;
                            for i in 0..iters as usize {
                                hits += u64::from(cache.get(&sequence[i & (SEQ - 1)]));
                            }
                            black_box(hits)
                        })
                    })
                    .collect();
                start.wait();
                let began = Instant::now();
                for handle in handles {
                    handle.join().expect("reader thread");
                }
                began.elapsed()
            })
        });
    });
}

/// 2. Read-heavy: uniform lookups of present keys on 1 and 2 threads.
///
/// One criterion iteration is one lookup on each thread; the reported
/// throughput is lookups per second over all threads.
fn read_heavy(c: &mut Criterion) {
    let rt = runtime(1);
    let _guard = rt.enter();
    let keys = present_keys(PRESENT);
    let mut group = c.benchmark_group("read_heavy");
    for threads in [1, 2] {
        read_heavy_one::<TenureShared>(&mut group, &keys, threads);
        read_heavy_one::<QuickCache>(&mut group, &keys, threads);
        read_heavy_one::<MokaSync>(&mut group, &keys, threads);
        read_heavy_one::<MokaFuture>(&mut group, &keys, threads);
        read_heavy_one::<MutexLru>(&mut group, &keys, threads);
    }
    group.finish();
}

fn churn_one<C: BenchCache>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    trace: &[tenure_bench::Op],
) {
    let cache = C::with_capacity(tenure_bench::churn::CAPACITY);
    let value = Client::new(0);
    // Warm the cache up with one pass of the trace.
    for &op in trace {
        churn_step(&cache, op, &value);
    }
    let mask = trace.len() - 1;
    let mut i = 0usize;
    group.bench_function(C::NAME, |b| {
        b.iter(|| {
            i = (i + 1) & mask;
            churn_step(&cache, trace[i], &value)
        });
    });
}

/// 3. Churn: capacity 200, 10,000 keys, Zipf(1.0), 10% inserts, get-or-insert on a miss.
fn churn(c: &mut Criterion) {
    let rt = runtime(1);
    let _guard = rt.enter();
    let trace = churn_trace(1 << 17, tenure_bench::churn::SEED);
    let mut group = c.benchmark_group("churn");
    group.throughput(Throughput::Elements(1));
    churn_one::<TenureShared>(&mut group, &trace);
    churn_one::<QuickCache>(&mut group, &trace);
    churn_one::<MokaSync>(&mut group, &trace);
    churn_one::<MokaFuture>(&mut group, &trace);
    churn_one::<MutexLru>(&mut group, &trace);
    group.finish();
}

/// 4. Single flight: 64 tasks miss the same key at once, on a 2-worker runtime.
fn single_flight(c: &mut Criterion) {
    let rt = runtime(2);
    let mut group = c.benchmark_group("single_flight");
    group.throughput(Throughput::Elements(single_flight::TASKS as u64));
    let inits = Arc::new(AtomicUsize::new(0));
    group.bench_function("tenure", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cache = ClientCache::<Key, Shared<Client>>::builder()
                        .max_capacity(200)
                        .build()
                        .expect("cache");
                    total += single_flight::round(|| {
                        let (cache, inits) = (cache.clone(), Arc::clone(&inits));
                        async move {
                            let client = cache
                                .get_or_try_insert_with(1, || async {
                                    Ok::<_, Infallible>(Shared::from_arc(single_flight::make_client(&inits).await))
                                })
                                .await
                                .expect("init is infallible");
                            Arc::clone(Shared::as_arc(&client))
                        }
                    })
                    .await;
                }
                total
            })
        });
    });
    group.bench_function("quick_cache", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cache = Arc::new(quick_cache::sync::Cache::<Key, Arc<Client>>::new(200));
                    total += single_flight::round(|| {
                        let (cache, inits) = (Arc::clone(&cache), Arc::clone(&inits));
                        async move {
                            cache
                                .get_or_insert_async(&1, async {
                                    Ok::<_, Infallible>(single_flight::make_client(&inits).await)
                                })
                                .await
                                .expect("init is infallible")
                        }
                    })
                    .await;
                }
                total
            })
        });
    });
    group.bench_function("moka::future", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cache = moka::future::Cache::<Key, Arc<Client>>::new(200);
                    total += single_flight::round(|| {
                        let (cache, inits) = (cache.clone(), Arc::clone(&inits));
                        async move {
                            cache
                                .get_with(1, async { single_flight::make_client(&inits).await })
                                .await
                        }
                    })
                    .await;
                }
                total
            })
        });
    });
    group.bench_function("Mutex<LruCache> (no single flight)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let capacity = NonZeroUsize::new(200).expect("non-zero");
                    let cache = Arc::new(Mutex::new(lru::LruCache::<Key, Arc<Client>>::new(capacity)));
                    total += single_flight::round(|| {
                        let (cache, inits) = (Arc::clone(&cache), Arc::clone(&inits));
                        async move { single_flight::lru_get_or_insert(&cache, 1, &inits).await }
                    })
                    .await;
                }
                total
            })
        });
    });
    group.finish();
}

/// 5. Retirement: 10,000 owned entries, no leases: time until every one is closed.
fn retire(c: &mut Criterion) {
    let rt = runtime(2);
    let mut group = c.benchmark_group("retire");
    group.sample_size(10);
    group.throughput(Throughput::Elements(retire::RETIRED as u64));
    for (name, run) in retire::RUNS {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += run().await;
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = hit, read_heavy, churn, single_flight, retire
}
criterion_main!(benches);
