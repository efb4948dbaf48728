//! The ghost list: hashes of keys recently evicted from the small queue, so a key
//! that comes back soon after goes straight to the main queue.
//!
//! A hash is remembered with the count of remembers at that moment, and is
//! live while fewer than `capacity` hashes have been remembered after it: a
//! window over the last `capacity` evictions from small. The hashes sit in a
//! table of four-slot buckets (one cache line each): remembering writes one
//! slot (an empty or aged-out one, else the bucket's oldest) and looking up
//! reads one bucket, where a FIFO with a hash set beside it took three
//! hash-table operations per remember. The table doubles while it holds more
//! than half as many remembered hashes as slots, up to about twice the window,
//! so a shard that evicts little spends little on it. When a bucket overflows
//! with live hashes its oldest is forgotten early; at twice the window's slots
//! that is rare.
//!
//! Only hashes are kept: a collision readmits a different key to main, which
//! costs at most one misplaced entry, never a wrong value.

/// Slots per bucket: 4 × 16 bytes, one cache line.
const WAYS: usize = 4;
/// Buckets of a new table.
const FIRST_BUCKETS: usize = 4;

/// One remembered hash and when (the remember count before it); `at == 0`: empty.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    hash: u64,
    at: u64,
}

/// The last `capacity` hashes remembered, each once.
#[derive(Debug)]
pub(super) struct Ghost {
    /// `WAYS` slots per bucket, a power of two of buckets; empty until the
    /// first remember.
    slots: Vec<Slot>,
    /// The most slots the table grows to: about twice the window.
    max_slots: usize,
    capacity: u64,
    /// Remembers so far, plus one (so no live slot has `at == 0`).
    clock: u64,
}

impl Ghost {
    /// A ghost list that remembers at most `capacity` hashes (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            slots: Vec::new(),
            max_slots: (2 * capacity).div_ceil(WAYS).next_power_of_two().max(FIRST_BUCKETS) * WAYS,
            capacity: capacity as u64,
            clock: 1,
        }
    }

    fn live(&self, slot: &Slot) -> bool {
        slot.at != 0 && self.clock - slot.at <= self.capacity
    }

    /// The bucket of `hash`: its slots' range in `slots`.
    fn bucket(&self, hash: u64) -> std::ops::Range<usize> {
        let buckets = self.slots.len() / WAYS;
        // From bit 40 up: the shard index takes bits from 32, hashbrown
        // positions with the low bits.
        let start = (hash.rotate_right(40) as usize & (buckets - 1)) * WAYS;
        start..start + WAYS
    }

    /// How many hashes are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.iter().filter(|slot| self.live(slot)).count()
    }

    /// Remembers `hash`, unless it is remembered already (it keeps its place).
    pub(super) fn remember(&mut self, hash: u64) {
        let remembered = self.clock - 1;
        if self.slots.len() < self.max_slots && remembered.min(self.capacity) >= self.slots.len() as u64 / 2 {
            self.grow();
        }
        let bucket = self.bucket(hash);
        let mut pick = bucket.start;
        for index in bucket {
            let slot = &self.slots[index];
            if !self.live(slot) {
                pick = index;
                break;
            }
            if slot.hash == hash {
                return;
            }
            if slot.at < self.slots[pick].at {
                pick = index;
            }
        }
        self.slots[pick] = Slot { hash, at: self.clock };
        self.clock += 1;
    }

    /// Doubles the table (or makes the first one), keeping the live hashes.
    fn grow(&mut self) {
        let buckets = (self.slots.len() / WAYS * 2).max(FIRST_BUCKETS);
        let mut live: Vec<Slot> = self.slots.iter().copied().filter(|slot| self.live(slot)).collect();
        // Oldest first, so a bucket that overflows keeps the newest.
        live.sort_unstable_by_key(|slot| slot.at);
        self.slots = vec![Slot::default(); buckets * WAYS];
        for slot in live {
            let bucket = self.bucket(slot.hash);
            let free = bucket.clone().find(|&index| self.slots[index].at == 0);
            let index = free.unwrap_or_else(|| {
                bucket
                    .min_by_key(|&index| self.slots[index].at)
                    .expect("a bucket has slots")
            });
            self.slots[index] = slot;
        }
    }

    /// Whether `hash` is remembered; it is forgotten either way.
    pub(super) fn forget(&mut self, hash: u64) -> bool {
        if self.slots.is_empty() {
            return false;
        }
        for index in self.bucket(hash) {
            let slot = self.slots[index];
            if slot.hash == hash && self.live(&slot) {
                self.slots[index].at = 0;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_most_recent_up_to_capacity() {
        let mut ghost = Ghost::new(2);
        ghost.remember(1);
        ghost.remember(2);
        ghost.remember(2); // once only
        assert_eq!(ghost.len(), 2);
        ghost.remember(3); // forgets 1
        assert!(!ghost.forget(1));
        assert!(ghost.forget(3));
        assert!(!ghost.forget(3), "forgotten once found");
        assert!(ghost.forget(2));
        assert_eq!(ghost.len(), 0);
    }

    #[test]
    fn a_hash_forgotten_and_remembered_again_is_kept_as_new() {
        let mut ghost = Ghost::new(2);
        ghost.remember(1);
        assert!(ghost.forget(1));
        ghost.remember(1); // remembered anew, after its forget
        ghost.remember(2);
        assert_eq!(ghost.len(), 2);
        ghost.remember(3); // the window holds the last two remembers: 1 ages out
        assert_eq!(ghost.len(), 2);
        assert!(!ghost.forget(1));
        assert!(ghost.forget(2));
        assert!(ghost.forget(3));
        for key in 10..100 {
            ghost.remember(key << 40);
            ghost.forget(key << 40);
        }
        assert_eq!(
            ghost.slots.len(),
            ghost.max_slots,
            "the table grows to its cap, no further"
        );
        assert_eq!(ghost.max_slots, FIRST_BUCKETS * WAYS);
    }

    #[test]
    fn a_full_bucket_gives_up_its_oldest_and_a_large_window_keeps_every_hash() {
        // Five hashes in one bucket (same top bits): the fifth takes the oldest's slot.
        let mut ghost = Ghost::new(100);
        let same_bucket = |i: u64| (7 << 40) | i;
        ghost.remember(same_bucket(99));
        assert!(ghost.forget(same_bucket(99)));
        for i in 0..5 {
            ghost.remember(same_bucket(i));
        }
        assert!(!ghost.forget(same_bucket(0)), "the oldest gave up its slot");
        assert!((1..5).all(|i| ghost.forget(same_bucket(i))));
        // Spread over the buckets, a window's worth is kept whole, and no more.
        let mut ghost = Ghost::new(1_000);
        let spread = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for i in 0..1_500 {
            ghost.remember(spread(i));
        }
        assert_eq!(ghost.slots.len(), 2_048, "grown to about twice the window");
        let kept = (500..1_500).filter(|&i| ghost.forget(spread(i))).count();
        assert!(kept >= 990, "{kept} of the last 1,000 kept");
        assert!((0..500).all(|i| !ghost.forget(spread(i))), "older ones are aged out");
    }

    #[test]
    fn a_growing_table_keeps_what_it_held_and_stays_small_while_few_are_remembered() {
        let mut ghost = Ghost::new(10_000);
        let spread = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for i in 0..20 {
            ghost.remember(spread(i));
        }
        assert!(ghost.slots.len() <= 64, "{} slots for 20 hashes", ghost.slots.len());
        for i in 20..3_000 {
            ghost.remember(spread(i));
        }
        assert!(ghost.slots.len() <= 8_192);
        let kept = (0..3_000).filter(|&i| ghost.forget(spread(i))).count();
        assert!(kept >= 2_970, "{kept} of 3,000 kept across the doublings");
    }
}
