//! The ghost list: hashes of keys recently evicted from the small queue, so a key
//! that comes back soon after goes straight to the main queue.
//!
//! A hash is remembered with the count of remembers at that moment, and is
//! live while fewer than `capacity` hashes have been remembered after it: a
//! window over the last `capacity` evictions from small (a hash forgotten
//! early still counts). The hashes sit in a table of eight-slot buckets (one
//! cache line each): remembering writes one slot (an empty or aged-out one,
//! else the bucket's oldest) and looking up reads one bucket, where a FIFO with
//! a hash set beside it took three hash-table operations per remember. The
//! table starts at 32 slots and doubles whenever the hashes remembered so far
//! (counted up to the window) reach half its slots, up to twice the window's
//! length in slots, so a shard that evicts little spends little on it. When a
//! bucket overflows with live hashes its oldest is forgotten early: with keys
//! spread at random, about 1% of a full window.
//!
//! A slot keeps 32 bits of the hash (which also pick its bucket) and 32 bits
//! of the remember count. Only hashes are kept, and only part of them: two
//! keys whose kept bits agree are one to the ghost list, which readmits the
//! other key to main: at most one misplaced entry, never a wrong value. A
//! slot left untouched for 2³² remembers can look live again for a window's
//! length, with the same effect.

/// Slots per bucket: 8 × 8 bytes, one cache line.
const WAYS: usize = 8;
/// Buckets of a new table.
const FIRST_BUCKETS: usize = 4;

/// 32 bits of a remembered hash (never 0) and the low 32 bits of the remember
/// count it was remembered at; `tag == 0`: empty.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    tag: u32,
    at: u32,
}

/// The last `capacity` hashes remembered, each once.
#[derive(Debug)]
pub(super) struct Ghost {
    /// `WAYS` slots per bucket; empty until the first remember.
    slots: Vec<Slot>,
    /// The most buckets the table grows to: twice the window's length in slots.
    max_buckets: usize,
    capacity: u32,
    /// Remembers so far.
    remembered: u64,
}

/// The part of `hash` a slot keeps, which also picks its bucket: its low half
/// (within one shard, bits of the high half, those that chose the shard, are
/// the same for every key), never 0.
fn tag(hash: u64) -> u32 {
    (hash as u32).max(1)
}

impl Ghost {
    /// A ghost list that remembers at most `capacity` hashes (at least one,
    /// at most 2³¹).
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, 1 << 31);
        Self {
            slots: Vec::new(),
            max_buckets: (2 * capacity).div_ceil(WAYS).max(FIRST_BUCKETS),
            capacity: u32::try_from(capacity).expect("clamped to 2^31"),
            remembered: 0,
        }
    }

    /// The remember count's low 32 bits, as slots keep it.
    fn now(&self) -> u32 {
        self.remembered as u32
    }

    /// How many hashes were remembered after `slot`'s; `u32::MAX` for an empty slot.
    fn age(&self, slot: Slot) -> u32 {
        if slot.tag == 0 {
            u32::MAX
        } else {
            self.now().wrapping_sub(slot.at)
        }
    }

    fn live(&self, slot: Slot) -> bool {
        self.age(slot) < self.capacity
    }

    /// The bucket of a tag: its slots' range in `slots` (which is not empty).
    /// From the tag alone, so a growing table places a slot without its hash.
    fn bucket(&self, tag: u32) -> std::ops::Range<usize> {
        let buckets = (self.slots.len() / WAYS) as u64;
        // Mixed, then the top 32 bits of the mix scaled to the bucket count
        // (which need not be a power of two).
        let mixed = u64::from(tag).wrapping_mul(super::FIBONACCI) >> 32;
        let start = ((mixed * buckets) >> 32) as usize * WAYS;
        start..start + WAYS
    }

    /// How many hashes are remembered.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.iter().filter(|&&slot| self.live(slot)).count()
    }

    /// Remembers `hash`, unless it is remembered already (it keeps its place).
    pub(super) fn remember(&mut self, hash: u64) {
        let buckets = self.slots.len() / WAYS;
        if buckets < self.max_buckets && self.remembered.min(u64::from(self.capacity)) >= self.slots.len() as u64 / 2 {
            self.grow((buckets * 2).clamp(FIRST_BUCKETS, self.max_buckets));
        }
        let tag = tag(hash);
        if self.find(tag).is_some() {
            return;
        }
        let pick = self.place(self.bucket(tag));
        self.remembered += 1;
        self.slots[pick] = Slot { tag, at: self.now() };
    }

    /// Where a new hash goes in `bucket`: an empty or aged-out slot, else the oldest.
    fn place(&self, bucket: std::ops::Range<usize>) -> usize {
        bucket
            .max_by_key(|&index| self.age(self.slots[index]))
            .expect("a bucket has slots")
    }

    /// Moves to a table of `buckets` buckets, keeping the live hashes.
    fn grow(&mut self, buckets: usize) {
        let mut live: Vec<Slot> = self.slots.iter().copied().filter(|&slot| self.live(slot)).collect();
        // Oldest first, so a bucket that overflows keeps the newest.
        live.sort_unstable_by_key(|&slot| std::cmp::Reverse(self.age(slot)));
        self.slots = vec![Slot::default(); buckets * WAYS];
        for slot in live {
            let index = self.place(self.bucket(slot.tag));
            self.slots[index] = slot;
        }
    }

    /// The slot where `tag` is live, if any.
    #[inline]
    fn find(&self, tag: u32) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        self.bucket(tag).find(|&index| {
            let slot = self.slots[index];
            slot.tag == tag && self.live(slot)
        })
    }

    /// Whether `hash` is remembered; it is forgotten either way.
    pub(super) fn forget(&mut self, hash: u64) -> bool {
        let found = self.find(tag(hash));
        if let Some(index) = found {
            self.slots[index].tag = 0;
        }
        found.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct, well-spread hashes.
    fn spread(i: u64) -> u64 {
        i.wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(17)
    }

    /// `n` hashes that fall in one bucket of `ghost`'s current table.
    fn same_bucket(ghost: &Ghost, n: usize) -> Vec<u64> {
        let target = ghost.bucket(tag(spread(0)));
        (0..)
            .map(spread)
            .filter(|&h| ghost.bucket(tag(h)) == target)
            .take(n)
            .collect()
    }

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
    }

    #[test]
    fn a_hash_behind_an_empty_slot_is_not_remembered_twice() {
        let mut ghost = Ghost::new(100);
        ghost.remember(spread(1_000)); // the first table
        let hashes = same_bucket(&ghost, 2);
        let (a, h) = (hashes[0], hashes[1]);
        ghost.remember(a);
        ghost.remember(h);
        assert!(ghost.forget(a), "a's slot, before h's, is empty now");
        ghost.remember(h);
        assert!(ghost.forget(h));
        assert!(!ghost.forget(h), "h was kept once: one forget forgets it");
    }

    #[test]
    fn a_full_bucket_gives_up_its_oldest() {
        let mut ghost = Ghost::new(100);
        ghost.remember(spread(1_000)); // the first table
        let hashes = same_bucket(&ghost, WAYS + 1);
        for &hash in &hashes {
            ghost.remember(hash);
        }
        assert!(!ghost.forget(hashes[0]), "the oldest gave up its slot");
        assert!(hashes[1..].iter().all(|&hash| ghost.forget(hash)));
    }

    #[test]
    fn a_window_keeps_its_hashes_even_when_many_of_their_bits_are_the_same() {
        // Spread over the buckets, a window's worth is kept (nearly) whole, and
        // no more; also when the high half's low 16 bits are fixed, as the bits
        // that pick a shard are within one shard.
        let fixed = |i: u64| (spread(i) & !(0xFFFF << 32)) | (0x5A5A << 32);
        for hash in [spread as fn(u64) -> u64, fixed] {
            let mut ghost = Ghost::new(1_000);
            for i in 0..1_500 {
                ghost.remember(hash(i));
            }
            assert_eq!(ghost.slots.len(), 2_000, "twice the window");
            // About 1% expected to overflow their buckets (8 slots, 4 hashes a
            // bucket on average, spread at random).
            let kept = (500..1_500).filter(|&i| ghost.forget(hash(i))).count();
            assert!(kept >= 975, "{kept} of the last 1,000 kept");
            assert!((0..500).all(|i| !ghost.forget(hash(i))), "older ones are aged out");
        }
    }

    #[test]
    fn a_growing_table_keeps_what_it_held_and_stays_small_while_few_are_remembered() {
        let mut ghost = Ghost::new(10_000);
        for i in 0..20 {
            ghost.remember(spread(i));
        }
        assert!(ghost.slots.len() <= 64, "{} slots for 20 hashes", ghost.slots.len());
        for i in 20..3_000 {
            ghost.remember(spread(i));
        }
        assert!(ghost.slots.len() <= 8_192);
        let kept = (0..3_000).filter(|&i| ghost.forget(spread(i))).count();
        assert!(kept >= 2_900, "{kept} of 3,000 kept across the doublings");
        // A small window's table stops growing at twice its length.
        let mut ghost = Ghost::new(6);
        for i in 0..1_000 {
            ghost.remember(spread(i));
        }
        assert_eq!(ghost.slots.len(), 32, "the first table already holds twice 6");
    }
}
