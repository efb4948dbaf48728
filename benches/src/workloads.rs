//! Hit-ratio workloads: deterministic, seeded key traces over which every cache
//! runs get-or-insert (a lookup, and an insert when it misses, as a client cache
//! is used), and the offline optimum to compare them with.
//!
//! The set spans what a policy tuned to one trace would get wrong: Zipf skews
//! from 0.6 to 1.2, capacities from 50 to 5,000, key spaces from 1,000 to
//! 1,000,000, one-hit keys scanned through a hot set, popularity that moves in
//! phases, and loops slightly larger than the cache (where recency-based
//! policies get nothing and frequency-based admission keeps part of the loop).

use std::collections::{BinaryHeap, HashMap};

use crate::{BenchCache, Key, SplitMix64, Zipf};

/// One workload: a cache capacity and the keys looked up, in order.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The name in tables (what the trace is).
    pub name: String,
    /// The cache's `max_capacity`.
    pub capacity: u64,
    /// The keys, in lookup order.
    pub keys: Vec<Key>,
    /// Lookups at the start that fill the cache and are not counted.
    pub warmup: usize,
}

/// Rank `rank` of a popularity order as a key: scattered, so that hot keys are not
/// the small integers, and moved by `shift` (a new `shift` is a new order).
fn scatter(rank: u64, n: u64, shift: u64) -> Key {
    (rank.wrapping_mul(7919).wrapping_add(shift.wrapping_mul(0x9E37_79B9)) % n) + 1_000_000
}

fn zipf_keys(n: usize, s: f64, len: usize, seed: u64) -> Vec<Key> {
    let zipf = Zipf::new(n, s);
    let mut rng = SplitMix64::new(seed);
    (0..len).map(|_| scatter(zipf.sample(&mut rng), n as u64, 0)).collect()
}

fn zipf(n: usize, s: f64, capacity: u64, len: usize, seed: u64) -> Workload {
    Workload {
        name: format!("Zipf({s}), {n} keys, capacity {capacity}"),
        capacity,
        keys: zipf_keys(n, s, len, seed),
        warmup: len / 5,
    }
}

/// A hot set (Zipf 1.0 over `hot` keys) with one-hit keys mixed in: `scan_share`
/// of the lookups are keys never seen before or after.
fn scan_mixed(hot: usize, capacity: u64, scan_share: f64, len: usize, seed: u64) -> Workload {
    let zipf = Zipf::new(hot, 1.0);
    let mut rng = SplitMix64::new(seed);
    let mut fresh = 10_000_000u64;
    let keys = (0..len)
        .map(|_| {
            if rng.next_f64() < scan_share {
                fresh += 1;
                fresh
            } else {
                scatter(zipf.sample(&mut rng), hot as u64, 0)
            }
        })
        .collect();
    Workload {
        name: format!(
            "hot Zipf(1.0) over {hot} keys, {:.0}% one-hit keys mixed in, capacity {capacity}",
            scan_share * 100.0
        ),
        capacity,
        keys,
        warmup: len / 5,
    }
}

/// A hot set (Zipf 1.0 over `hot` keys) interrupted every `every` lookups by a
/// sequential scan of `scan` one-hit keys.
fn scan_bursts(hot: usize, capacity: u64, every: usize, scan: usize, len: usize, seed: u64) -> Workload {
    let zipf = Zipf::new(hot, 1.0);
    let mut rng = SplitMix64::new(seed);
    let mut fresh = 20_000_000u64;
    let mut keys = Vec::with_capacity(len);
    while keys.len() < len {
        for _ in 0..every {
            keys.push(scatter(zipf.sample(&mut rng), hot as u64, 0));
        }
        for _ in 0..scan {
            fresh += 1;
            keys.push(fresh);
        }
    }
    keys.truncate(len);
    Workload {
        name: format!(
            "hot Zipf(1.0) over {hot} keys, a scan of {scan} one-hit keys every {every}, capacity {capacity}"
        ),
        capacity,
        keys,
        warmup: len / 5,
    }
}

/// Zipf(`s`) over `n` keys whose popularity order is reshuffled every `phase` lookups.
fn phases(n: usize, s: f64, capacity: u64, phase: usize, len: usize, seed: u64) -> Workload {
    let zipf = Zipf::new(n, s);
    let mut rng = SplitMix64::new(seed);
    let keys = (0..len)
        .map(|i| scatter(zipf.sample(&mut rng), n as u64, (i / phase) as u64))
        .collect();
    Workload {
        name: format!("Zipf({s}), {n} keys, popularity reshuffled every {phase}, capacity {capacity}"),
        capacity,
        keys,
        warmup: phase / 2,
    }
}

/// The keys `0..n` over and over, `n` slightly more than the capacity.
fn looping(n: usize, capacity: u64, len: usize) -> Workload {
    Workload {
        name: format!("loop over {n} keys, capacity {capacity}"),
        capacity,
        keys: (0..len).map(|i| (i % n) as u64 + 30_000_000).collect(),
        warmup: len / 5,
    }
}

/// A loop as in [`looping`], with `hot_share` of lookups going to a Zipf(1.0) hot set of `hot` keys.
fn loop_with_hot(n: usize, hot: usize, hot_share: f64, capacity: u64, len: usize, seed: u64) -> Workload {
    let zipf = Zipf::new(hot, 1.0);
    let mut rng = SplitMix64::new(seed);
    let mut position = 0;
    let keys = (0..len)
        .map(|_| {
            if rng.next_f64() < hot_share {
                scatter(zipf.sample(&mut rng), hot as u64, 0)
            } else {
                position = (position + 1) % n;
                position as u64 + 30_000_000
            }
        })
        .collect();
    Workload {
        name: format!(
            "loop over {n} keys with {:.0}% of lookups to a Zipf(1.0) hot set of {hot}, capacity {capacity}",
            hot_share * 100.0
        ),
        capacity,
        keys,
        warmup: len / 5,
    }
}

/// The wider set of hit-ratio workloads (about 6.2 million lookups in all).
pub fn workloads() -> Vec<Workload> {
    vec![
        zipf(100_000, 0.6, 1_000, 400_000, 0x5EED_0001),
        zipf(10_000, 0.8, 200, 300_000, 0x5EED_0002),
        zipf(10_000, 1.0, 50, 300_000, 0x5EED_0003),
        zipf(1_000, 1.0, 100, 300_000, 0x5EED_0004),
        zipf(10_000, 1.0, 2_000, 400_000, 0x5EED_0005),
        zipf(100_000, 1.2, 500, 300_000, 0x5EED_0006),
        zipf(1_000_000, 0.9, 5_000, 600_000, 0x5EED_0007),
        scan_mixed(1_000, 200, 0.3, 300_000, 0x5EED_0008),
        scan_bursts(2_000, 500, 5_000, 2_000, 300_000, 0x5EED_0009),
        phases(10_000, 1.0, 500, 100_000, 400_000, 0x5EED_000A),
        phases(1_000, 0.8, 100, 20_000, 200_000, 0x5EED_000B),
        looping(55, 50, 100_000),
        looping(1_100, 1_000, 300_000),
        loop_with_hot(2_400, 500, 0.5, 2_000, 400_000, 0x5EED_000C),
        // Added after the policy was settled, with new seeds, skews, sizes and ratios.
        untuned(zipf(50_000, 0.7, 300, 300_000, 0xD1CE_0001)),
        untuned(scan_mixed(5_000, 1_000, 0.5, 300_000, 0xD1CE_0002)),
        untuned(phases(5_000, 1.1, 300, 30_000, 300_000, 0xD1CE_0003)),
        untuned(looping(230, 200, 100_000)),
        untuned(looping(2_600, 2_000, 300_000)),
        untuned(loop_with_hot(1_500, 200, 0.3, 1_200, 300_000, 0xD1CE_0004)),
    ]
}

/// Marks a workload added after the policy was tuned, to check it holds on
/// traces nobody tuned it on.
fn untuned(mut workload: Workload) -> Workload {
    workload.name.push_str(" (untuned)");
    workload
}

/// Hits / lookups of get-or-insert over the workload's keys, after its warm-up.
pub fn hit_ratio<C: BenchCache>(workload: &Workload) -> f64 {
    let cache = C::with_capacity(workload.capacity);
    let value = crate::Client::new(0);
    let mut hits = 0u64;
    for (i, key) in workload.keys.iter().enumerate() {
        let hit = cache.get(key);
        if !hit {
            cache.insert(*key, &value);
        }
        if i >= workload.warmup {
            hits += u64::from(hit);
        }
    }
    hits as f64 / (workload.keys.len() - workload.warmup) as f64
}

/// The offline optimum (Belady's MIN, allowed not to admit): on a miss with the
/// cache full, the key used farthest in the future (the new one included) is the
/// one not kept. Hits / lookups after `warmup`, with `counted(i)` saying which
/// accesses are lookups (the others only reference the key, like a put).
pub fn belady(keys: &[Key], capacity: usize, warmup: usize, counted: impl Fn(usize) -> bool) -> f64 {
    min(keys, capacity, warmup, counted, true)
}

/// Belady's MIN made to admit every miss, as a cache does that keeps whatever
/// was inserted at least until its next miss: on a miss with the cache full,
/// the cached key used farthest in the future is evicted. The bound for tenure,
/// which admits every insert; on a loop of `n` keys over capacity `c` it hits
/// `(c − 1) / (n − 1)` of the lookups where the bypassing optimum hits `c / n`.
pub fn belady_must_admit(keys: &[Key], capacity: usize, warmup: usize) -> f64 {
    min(keys, capacity, warmup, |_| true, false)
}

fn min(keys: &[Key], capacity: usize, warmup: usize, counted: impl Fn(usize) -> bool, may_bypass: bool) -> f64 {
    const NEVER: usize = usize::MAX;
    let mut next = vec![NEVER; keys.len()];
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate().rev() {
        if let Some(&j) = seen.get(key) {
            next[i] = j;
        }
        seen.insert(*key, i);
    }
    // Cached keys by their next use; heap records are stale when the map disagrees.
    let mut cached: HashMap<Key, usize> = HashMap::with_capacity(capacity);
    let mut heap: BinaryHeap<(usize, Key)> = BinaryHeap::new();
    let (mut hits, mut lookups) = (0u64, 0u64);
    for (i, &key) in keys.iter().enumerate() {
        let hit = cached.contains_key(&key);
        if i >= warmup && counted(i) {
            lookups += 1;
            hits += u64::from(hit);
        }
        if hit {
            cached.insert(key, next[i]);
            heap.push((next[i], key));
            continue;
        }
        if cached.len() >= capacity {
            // The farthest next use among the cached keys.
            let farthest = loop {
                let &(when, k) = heap.peek().expect("a full cache has records");
                if cached.get(&k) == Some(&when) {
                    break (when, k);
                }
                heap.pop();
            };
            if may_bypass && next[i] >= farthest.0 {
                continue; // the new key is needed last: do not keep it
            }
            heap.pop();
            cached.remove(&farthest.1);
        }
        cached.insert(key, next[i]);
        heap.push((next[i], key));
        if heap.len() > 4 * capacity + 64 {
            heap.retain(|(when, k)| cached.get(k) == Some(when));
        }
    }
    hits as f64 / lookups.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn belady_on_a_loop_keeps_all_but_one_slot_fixed() {
        // Loop of 3 keys, capacity 2: the optimum keeps two keys and never admits
        // the third, so it hits two lookups in three.
        let keys: Vec<Key> = (0..3000).map(|i| i % 3).collect();
        let ratio = belady(&keys, 2, 0, |_| true);
        assert!((ratio - 2.0 / 3.0).abs() < 0.01, "{ratio}");
        // Everything fits: every lookup after the first round hits.
        assert!((belady(&keys, 3, 3, |_| true) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn belady_made_to_admit_gives_the_demand_paging_bound_on_a_loop() {
        // Loop of 11 keys, capacity 5: bypassing keeps five for good (5/11);
        // admitting every miss, the best is 4/10 (demand paging on a cycle).
        let keys: Vec<Key> = (0..11_000).map(|i| i % 11).collect();
        let bypass = belady(&keys, 5, 1_100, |_| true);
        let admit = belady_must_admit(&keys, 5, 1_100);
        assert!((bypass - 5.0 / 11.0).abs() < 0.005, "{bypass}");
        assert!((admit - 4.0 / 10.0).abs() < 0.005, "{admit}");
    }

    #[test]
    fn workloads_are_reproducible() {
        let a = workloads();
        let b = workloads();
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a.keys, b.keys, "{}", a.name);
            assert!(a.warmup < a.keys.len());
        }
    }
}
