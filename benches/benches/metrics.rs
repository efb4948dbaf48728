//! The numbers that are not timings, printed as Markdown tables:
//!
//! - churn hit ratio (capacity 200, 10,000 keys, Zipf 1.0, 10% inserts; hits / gets);
//! - hit ratios on a wider set of workloads (`tenure_bench::workloads`), with the
//!   offline optimum (Belady);
//! - single-flight `init` counts (64 tasks miss one key at once; 20 rounds);
//! - heap bytes per entry beyond the key and value, from a counting global allocator.
//!
//! Every trace has a fixed seed, so the hit ratios and byte counts are the same on
//! every run; init counts depend on scheduling only for caches without single flight.

use std::{
    alloc::System,
    convert::Infallible,
    num::NonZeroUsize,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tenure_bench::{
    BenchCache, Client, Key, MokaFuture, MokaSync, MutexLru, OwnedClient, QuickCache, TenureShared, churn,
    churn_hit_ratio, churn_trace, filled, single_flight, workloads,
};
use tenure_pool::{ClientCache, Owned, Shared};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TRACE_LEN: usize = 1_000_000;
const WARMUP: usize = 100_000;

fn hit_ratio<C: BenchCache>(trace: &[tenure_bench::Op]) -> (String, f64) {
    let cache = C::with_capacity(churn::CAPACITY);
    let (hits, gets) = churn_hit_ratio(&cache, trace, WARMUP);
    (C::NAME.to_owned(), hits as f64 / gets as f64)
}

/// Hit ratio of an ideal LFU that knows the popularity ranks: it holds the
/// `CAPACITY` most popular keys, so its hit ratio is their share of the gets.
fn oracle_hit_ratio(trace: &[tenure_bench::Op]) -> f64 {
    let hot: std::collections::HashSet<Key> = (0..churn::CAPACITY)
        .map(|rank| (rank * 7919) % churn::KEYS as u64 + 1_000_000)
        .collect();
    let gets = trace[WARMUP..].iter().filter(|op| !op.insert);
    let (mut hits, mut total) = (0u64, 0u64);
    for op in gets {
        total += 1;
        hits += u64::from(hot.contains(&op.key));
    }
    hits as f64 / total as f64
}

fn churn_table(rt: &tokio::runtime::Runtime) {
    let _guard = rt.enter();
    let trace = churn_trace(TRACE_LEN, churn::SEED);
    let rows = [
        hit_ratio::<TenureShared>(&trace),
        hit_ratio::<QuickCache>(&trace),
        hit_ratio::<MokaSync>(&trace),
        hit_ratio::<MokaFuture>(&trace),
        hit_ratio::<MutexLru>(&trace),
    ];
    let lru = rows[4].1;
    println!("### Churn hit ratio");
    println!();
    println!(
        "capacity {}, {} keys, Zipf({}), {:.0}% inserts, {} operations (seed {:#x}), the first {} not counted",
        churn::CAPACITY,
        churn::KEYS,
        churn::EXPONENT,
        churn::INSERT_SHARE * 100.0,
        TRACE_LEN,
        churn::SEED,
        WARMUP
    );
    println!();
    println!("| cache | hit ratio (hits / gets) | vs Mutex<LruCache> |");
    println!("|---|---:|---:|");
    for (name, ratio) in &rows {
        println!("| {name} | {:.4} | {:+.4} |", ratio, ratio - lru);
    }
    println!(
        "| (oracle: the 200 most popular keys pinned) | {:.4} | {:+.4} |",
        oracle_hit_ratio(&trace),
        oracle_hit_ratio(&trace) - lru
    );
    let keys: Vec<Key> = trace.iter().map(|op| op.key).collect();
    let optimum = workloads::belady(&keys, churn::CAPACITY as usize, WARMUP, |i| !trace[i].insert);
    println!("| (offline optimum, Belady) | {optimum:.4} | {:+.4} |", optimum - lru);
    println!();
}

/// moka's `sync::Cache` held to its capacity: moka applies evictions in batches,
/// so between its maintenance runs it holds more entries than `max_capacity` (and
/// can beat the offline optimum at that capacity); this runs the pending
/// maintenance after every insert.
struct MokaSyncHeld(MokaSync);

impl BenchCache for MokaSyncHeld {
    const NAME: &'static str = "moka::sync, held to capacity";

    fn with_capacity(capacity: u64) -> Self {
        Self(MokaSync::with_capacity(capacity))
    }

    fn get(&self, key: &Key) -> bool {
        self.0.get(key)
    }

    fn insert(&self, key: Key, value: &tenure_bench::Value) {
        self.0.insert(key, value);
        self.0.0.run_pending_tasks();
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The most entries plain moka::sync held at once over the workload (sampled
/// every 16 lookups, so it can only be under the true peak).
fn moka_peak_held(workload: &workloads::Workload) -> usize {
    let cache = MokaSync::with_capacity(workload.capacity);
    let value = Client::new(0);
    let mut peak = 0;
    for (i, key) in workload.keys.iter().enumerate() {
        if !cache.get(key) {
            cache.insert(*key, &value);
        }
        if i % 16 == 0 {
            peak = peak.max(cache.0.iter().count());
        }
    }
    peak
}

/// Hit ratios of get-or-insert on every workload of `tenure_bench::workloads`.
fn hitratio_table(rt: &tokio::runtime::Runtime) {
    let _guard = rt.enter();
    println!("### Hit ratio across workloads");
    println!();
    println!(
        "get-or-insert over each seeded trace (`benches/src/workloads.rs`); hits / lookups after the \
         first fifth of the trace (half a phase for the phased ones). Belady is the offline optimum \
         allowed not to admit (a miss may bypass the cache), the right bound for caches with admission; \
         *admitting every miss* is the optimum for a cache that keeps what was inserted until at least \
         the next miss, as tenure does. \
         moka::sync applies evictions in batches and holds more than its capacity between them (*peak \
         held*, sampled), which can let it beat Belady at that capacity; *held to capacity* runs its pending \
         maintenance after every insert. *best peer*: the best of quick_cache and moka::sync held to \
         capacity; *untuned* rows were added after tenure's small queue was settled, to check it holds on \
         traces it was not tuned on (its shard floor, 256 entries, was chosen with them in the table). \
         Hashers are seeded per cache, so ratios move between runs (tenure's by up to ±0.002)."
    );
    println!();
    println!(
        "| workload | tenure | quick_cache | moka::sync | moka::sync peak held | moka::sync, held to capacity \
         | Mutex<LruCache> | Belady | Belady, admitting every miss | tenure − best peer |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut worst = f64::INFINITY;
    for workload in workloads::workloads() {
        let tenure = workloads::hit_ratio::<TenureShared>(&workload);
        let quick = workloads::hit_ratio::<QuickCache>(&workload);
        let moka = workloads::hit_ratio::<MokaSync>(&workload);
        let peak = moka_peak_held(&workload);
        let held = workloads::hit_ratio::<MokaSyncHeld>(&workload);
        let lru = workloads::hit_ratio::<MutexLru>(&workload);
        let capacity = workload.capacity as usize;
        let optimum = workloads::belady(&workload.keys, capacity, workload.warmup, |_| true);
        let admitting = workloads::belady_must_admit(&workload.keys, capacity, workload.warmup);
        let gap = tenure - quick.max(held);
        worst = worst.min(gap);
        println!(
            "| {} | {tenure:.4} | {quick:.4} | {moka:.4} | {peak} | {held:.4} | {lru:.4} | {optimum:.4} | {admitting:.4} \
             | {gap:+.4} |",
            workload.name
        );
    }
    println!();
    println!("Worst row, tenure − best peer: {worst:+.4}");
    println!();
}

const ROUNDS: usize = 20;

/// One single-flight round; returns how often `init` ran.
async fn round<F, Fut>(lookup: F) -> usize
where
    F: Fn(Arc<AtomicUsize>) -> Fut,
    Fut: Future<Output = Arc<Client>> + Send + 'static,
{
    let inits = Arc::new(AtomicUsize::new(0));
    single_flight::round(|| lookup(Arc::clone(&inits))).await;
    inits.load(Ordering::Relaxed)
}

fn summarize(name: &str, mut counts: Vec<usize>) {
    counts.sort_unstable();
    println!(
        "| {name} | {} | {} | {} |",
        counts[0],
        counts[counts.len() / 2],
        counts[counts.len() - 1]
    );
}

fn single_flight_table(rt: &tokio::runtime::Runtime) {
    println!("### Single flight: `init` runs per 64 concurrent misses of one key");
    println!();
    println!("{ROUNDS} rounds on a 2-worker tokio runtime; `init` = yield, 20 µs of CPU, yield.");
    println!();
    println!("| cache | min | median | max |");
    println!("|---|---:|---:|---:|");
    rt.block_on(async {
        let mut counts = Vec::new();
        for _ in 0..ROUNDS {
            let cache = ClientCache::<Key, Shared<Client>>::builder().build().expect("cache");
            counts.push(
                round(|inits| {
                    let cache = cache.clone();
                    async move {
                        let client = cache
                            .get_or_try_insert_with(1, || async {
                                Ok::<_, Infallible>(Shared::from_arc(single_flight::make_client(&inits).await))
                            })
                            .await
                            .expect("infallible");
                        Arc::clone(Shared::as_arc(&client))
                    }
                })
                .await,
            );
        }
        summarize("tenure (`get_or_try_insert_with`)", counts);

        let mut counts = Vec::new();
        for _ in 0..ROUNDS {
            let cache = Arc::new(quick_cache::sync::Cache::<Key, Arc<Client>>::new(200));
            counts.push(
                round(|inits| {
                    let cache = Arc::clone(&cache);
                    async move {
                        cache
                            .get_or_insert_async(&1, async {
                                Ok::<_, Infallible>(single_flight::make_client(&inits).await)
                            })
                            .await
                            .expect("infallible")
                    }
                })
                .await,
            );
        }
        summarize("quick_cache (`get_or_insert_async`)", counts);

        let mut counts = Vec::new();
        for _ in 0..ROUNDS {
            let cache = moka::future::Cache::<Key, Arc<Client>>::new(200);
            counts.push(
                round(|inits| {
                    let cache = cache.clone();
                    async move {
                        cache
                            .get_with(1, async { single_flight::make_client(&inits).await })
                            .await
                    }
                })
                .await,
            );
        }
        summarize("moka::future (`get_with`)", counts);

        let mut counts = Vec::new();
        for _ in 0..ROUNDS {
            let capacity = NonZeroUsize::new(200).expect("non-zero");
            let cache = Arc::new(Mutex::new(lru::LruCache::<Key, Arc<Client>>::new(capacity)));
            counts.push(
                round(|inits| {
                    let cache = Arc::clone(&cache);
                    async move { single_flight::lru_get_or_insert(&cache, 1, &inits).await }
                })
                .await,
            );
        }
        summarize("Mutex<LruCache> (get, else create and put)", counts);
    });
    println!();
}

const ENTRIES: usize = 10_000;

/// Net heap bytes (allocated − freed) while `f` runs.
fn net_bytes<T>(f: impl FnOnce() -> T) -> (T, isize) {
    let region = Region::new(GLOBAL);
    let out = f();
    let stats = region.change();
    let net = stats.bytes_allocated as isize - stats.bytes_deallocated as isize + stats.bytes_reallocated;
    (out, net)
}

/// Bytes per held entry for a cache of capacity `ENTRIES` filled with `ENTRIES`
/// keys whose values (`Arc<Client>`) were allocated beforehand: the cache's own
/// heap, construction included, divided by the entries it holds, minus the
/// key and the `Arc` pointer (16 bytes).
fn bytes_per_entry<C: BenchCache>(values: &[Arc<Client>]) -> (String, f64, usize) {
    let (cache, net) = net_bytes(|| {
        let cache = C::with_capacity(ENTRIES as u64);
        for (key, value) in values.iter().enumerate() {
            cache.insert(key as Key, value);
        }
        let _ = cache.len(); // runs moka's pending maintenance inside the region
        cache
    });
    let held = cache.len();
    let inline = size_of::<Key>() + size_of::<Arc<Client>>();
    let per_entry = net as f64 / held as f64 - inline as f64;
    drop(cache);
    (C::NAME.to_owned(), per_entry, held)
}

fn memory_table(rt: &tokio::runtime::Runtime) {
    let _guard = rt.enter();
    let values: Vec<Arc<Client>> = (0..ENTRIES as u64).map(Client::new).collect();
    let mut rows = vec![
        bytes_per_entry::<TenureShared>(&values),
        bytes_per_entry::<QuickCache>(&values),
        bytes_per_entry::<MokaSync>(&values),
        bytes_per_entry::<MokaFuture>(&values),
        bytes_per_entry::<MutexLru>(&values),
    ];
    // Owned entries: the value moves into the cache's slot, so subtract its size too.
    let (cache, net) = net_bytes(|| {
        let cache = ClientCache::<Key, Owned<OwnedClient>>::builder()
            .max_capacity(ENTRIES as u64)
            .build()
            .expect("cache");
        for key in 0..ENTRIES as u64 {
            drop(
                cache
                    .insert(key, Owned::new(OwnedClient::new(key, None)))
                    .expect("insert"),
            );
        }
        cache
    });
    let held = cache.len();
    let inline = size_of::<Key>() + size_of::<OwnedClient>();
    rows.insert(
        1,
        (
            "tenure (owned)".to_owned(),
            net as f64 / held as f64 - inline as f64,
            held,
        ),
    );
    drop(cache);

    println!("### Heap bytes per entry beyond the key and value");
    println!();
    println!(
        "capacity {ENTRIES}, {ENTRIES} inserts, counting global allocator; construction included; \
         key `u64` and value handle (`Arc`, or the moved `OwnedClient` of {} bytes) subtracted",
        size_of::<OwnedClient>()
    );
    println!();
    println!("| cache | bytes / entry | entries held |");
    println!("|---|---:|---:|");
    for (name, bytes, held) in rows {
        println!("| {name} | {bytes:.1} | {held} |");
    }
    println!();
}

/// Lookups per thread per round of the scaling table.
const SCALING_OPS: usize = 2_000_000;
const SCALING_ROUNDS: usize = 11;

/// This thread's time on a CPU so far, in nanoseconds (Linux `schedstat`), if known.
fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// `threads` threads each do `SCALING_OPS` lookups through `get`, thread `t`
/// following `sequences[t]`. Returns (wall seconds, the largest per-thread on-CPU seconds).
fn read_round(get: &Lookup<'_>, sequences: &[Vec<Key>], threads: usize) -> (f64, f64) {
    let start = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = sequences[..threads]
            .iter()
            .map(|sequence| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let cpu = on_cpu_ns();
                    let mask = sequence.len() - 1;
                    let mut hits = 0u64;
                    for i in 0..SCALING_OPS {
                        hits += u64::from(get(&sequence[i & mask]));
                    }
                    assert_eq!(hits, SCALING_OPS as u64);
                    match (cpu, on_cpu_ns()) {
                        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
                        _ => f64::NAN,
                    }
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let cpu = handles
            .into_iter()
            .map(|h| h.join().expect("reader"))
            .fold(0.0, f64::max);
        (began.elapsed().as_secs_f64(), cpu)
    })
}

/// Every round's scaling measurements for one cache, one value per round in
/// each: 1-thread and 2-thread Mops/s on shared keys, their wall and on-CPU
/// scaling, the wall scaling when the two threads read disjoint halves of the
/// keys, and the wall scaling when both read one hot key (the LLM-proxy
/// pattern: every worker looks up the same client).
#[derive(Default)]
struct Rounds {
    one: Vec<f64>,
    two: Vec<f64>,
    wall: Vec<f64>,
    cpu: Vec<f64>,
    disjoint: Vec<f64>,
    hot: Vec<f64>,
}

/// The row the two-thread targets compare tenure with.
const CEILING: &str = "(ceiling) lock-free `HashMap`, `Arc` clone per lookup";

/// One lookup through a cache (or a map): whether the key was found.
type Lookup<'a> = dyn Fn(&Key) -> bool + Sync + 'a;

/// The lookup sequences of every scaling measurement: shared, disjoint, hot.
struct Sequences {
    shared: Vec<Vec<Key>>,
    disjoint: Vec<Vec<Key>>,
    hot: Vec<Vec<Key>>,
}

impl Sequences {
    fn of(keys: &[Key]) -> Self {
        let (low, high) = keys.split_at(keys.len() / 2);
        Self {
            shared: (0..2)
                .map(|t| tenure_bench::lookup_sequence(keys, 1 << 14, 100 + t))
                .collect(),
            disjoint: vec![
                tenure_bench::lookup_sequence(low, 1 << 14, 100),
                tenure_bench::lookup_sequence(high, 1 << 14, 101),
            ],
            hot: vec![vec![keys[0]; 1 << 14]; 2],
        }
    }
}

impl Rounds {
    fn measure(&mut self, get: &Lookup<'_>, sequences: &Sequences) {
        let ops = SCALING_OPS as f64;
        let (w1, c1) = read_round(get, &sequences.shared, 1);
        let (w2, c2) = read_round(get, &sequences.shared, 2);
        self.one.push(ops / w1 / 1e6);
        self.two.push(2.0 * ops / w2 / 1e6);
        self.wall.push((2.0 * ops / w2) / (ops / w1));
        self.cpu.push((2.0 * ops / c2) / (ops / c1));
        let (d1, _) = read_round(get, &sequences.disjoint, 1);
        let (d2, _) = read_round(get, &sequences.disjoint, 2);
        self.disjoint.push((2.0 * ops / d2) / (ops / d1));
        let (h1, _) = read_round(get, &sequences.hot, 1);
        let (h2, _) = read_round(get, &sequences.hot, 2);
        self.hot.push((2.0 * ops / h2) / (ops / h1));
    }
}

fn med(values: &[f64]) -> f64 {
    tenure_bench::median_min_max(&mut values.to_vec()).0
}

fn scaling_table(rt: &tokio::runtime::Runtime) {
    let _guard = rt.enter();
    let keys = tenure_bench::present_keys(1_000);
    let sequences = Sequences::of(&keys);
    println!("### Read-heavy scaling, 1 vs 2 threads");
    println!();
    println!(
        "1,000 present keys, uniform lookups, {SCALING_OPS} per thread; {SCALING_ROUNDS} rounds, each \
         measuring every row in turn (so a disturbance of the machine falls on every row of its round), \
         medians over the rounds. Scaling = 2-thread throughput / 1-thread throughput. *shared keys*: both \
         threads look up all 1,000 keys; *disjoint keys*: each thread looks up its own 500; *one hot key*: \
         both threads look up the same key, every time. On-CPU scaling uses each thread's time on a CPU \
         (`/proc/thread-self/schedstat`) instead of wall time, leaving out time the threads spent preempted \
         by other processes (not hypervisor steal). The last two rows are no cache at all: a read-only \
         `HashMap<u64, Arc<Client>>` shared without a lock, returning a reference or an `Arc` clone."
    );
    println!();
    let tenure: TenureShared = filled(&keys, 4_096);
    let quick: QuickCache = filled(&keys, 4_096);
    let moka_sync: MokaSync = filled(&keys, 4_096);
    let moka_future: MokaFuture = filled(&keys, 4_096);
    let lru: MutexLru = filled(&keys, 4_096);
    let map: std::collections::HashMap<Key, Arc<Client>> = keys.iter().map(|&k| (k, Client::new(k))).collect();
    let rows: [(&str, &Lookup<'_>); 7] = [
        (TenureShared::NAME, &|key| tenure.get(key)),
        (QuickCache::NAME, &|key| quick.get(key)),
        (MokaSync::NAME, &|key| moka_sync.get(key)),
        (MokaFuture::NAME, &|key| moka_future.get(key)),
        (MutexLru::NAME, &|key| lru.get(key)),
        (CEILING, &|key| std::hint::black_box(map.get(key).cloned()).is_some()),
        ("(ceiling) lock-free `HashMap`, no clone", &|key| {
            std::hint::black_box(map.get(key).map(|c| c.id)).is_some()
        }),
    ];
    let mut rounds: Vec<Rounds> = rows.iter().map(|_| Rounds::default()).collect();
    for _ in 0..SCALING_ROUNDS {
        for ((_, get), rounds) in rows.iter().zip(&mut rounds) {
            rounds.measure(*get, &sequences);
        }
    }
    println!(
        "| cache | 1 thread Mops/s | 2 threads Mops/s | scaling, shared keys | on-CPU scaling, shared keys | scaling, disjoint keys | scaling, one hot key |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for ((name, _), r) in rows.iter().zip(&rounds) {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2}x | {:.2}x | {:.2}x | {:.2}x |",
            med(&r.one),
            med(&r.two),
            med(&r.wall),
            med(&r.cpu),
            med(&r.disjoint),
            med(&r.hot)
        );
    }
    println!();
    // tenure's scaling over the `Arc`-cloning ceiling's, paired within each round.
    let row = |name: &str| &rounds[rows.iter().position(|(n, _)| *n == name).expect("a row of the table")];
    let (t, c) = (row(TenureShared::NAME), row(CEILING));
    println!(
        "tenure's scaling / the `Arc`-cloning ceiling's, paired within each round, median (min – max) \
         over the {SCALING_ROUNDS} rounds:"
    );
    println!();
    println!("| | shared keys | disjoint keys | one hot key |");
    println!("|---|---:|---:|---:|");
    println!(
        "| tenure / ceiling | {} | {} | {} |",
        tenure_bench::paired(&t.wall, &c.wall),
        tenure_bench::paired(&t.disjoint, &c.disjoint),
        tenure_bench::paired(&t.hot, &c.hot)
    );
    println!();
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects tables by name.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if wanted("memory") {
        memory_table(&rt);
    }
    if wanted("churn") {
        churn_table(&rt);
    }
    if wanted("hitratio") {
        hitratio_table(&rt);
    }
    if wanted("single_flight") {
        single_flight_table(&rt);
    }
    if wanted("scaling") {
        scaling_table(&rt);
    }
}
