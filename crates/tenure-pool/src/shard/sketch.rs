//! A frequency sketch (count-min, four rows of saturating 4-bit counts, halved
//! every `10 × capacity` records): how often a key has recently come to the
//! shard, for the policy's admission to main.
//!
//! It is recorded only off the hit path: on every insert, and for the reads a
//! resident entry spent as second chances in main (the policy credits them when
//! its clock hand passes). A hit itself never touches it.

/// Counts saturate here (4 bits' worth).
const MAX_COUNT: u8 = 15;
const ROWS: usize = 4;
/// Odd multipliers, one per row, to spread a hash over each row differently.
const SEEDS: [u64; ROWS] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0xD6E8_FEB8_6659_FD93,
];

/// Approximate recent counts per hash.
#[derive(Debug)]
pub(super) struct Sketch {
    counts: Vec<u8>,
    /// log2 of the row width.
    bits: u32,
    records: usize,
    /// Records after which every count is halved, so old popularity fades.
    period: usize,
}

impl Sketch {
    /// A sketch for a shard of `capacity` entries.
    pub(super) fn new(capacity: usize) -> Self {
        let width = capacity.max(16).next_power_of_two();
        Self {
            counts: vec![0; width * ROWS],
            bits: width.trailing_zeros(),
            records: 0,
            period: 10 * capacity.max(16),
        }
    }

    fn slot(&self, hash: u64, row: usize) -> usize {
        let mixed = hash ^ (hash >> 31);
        (row << self.bits) + (mixed.wrapping_mul(SEEDS[row]) >> (64 - self.bits)) as usize
    }

    /// Counts one more occurrence of `hash`.
    pub(super) fn record(&mut self, hash: u64) {
        for row in 0..ROWS {
            let slot = self.slot(hash, row);
            let count = &mut self.counts[slot];
            if *count < MAX_COUNT {
                *count += 1;
            }
        }
        self.records += 1;
        if self.records >= self.period {
            for count in &mut self.counts {
                *count /= 2;
            }
            self.records /= 2;
        }
    }

    /// How often `hash` occurred recently (never less than the truth within the
    /// current period, up to the cap; collisions can only add).
    pub(super) fn estimate(&self, hash: u64) -> u8 {
        (0..ROWS)
            .map(|row| self.counts[self.slot(hash, row)])
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_up_to_the_cap_and_fades() {
        let mut sketch = Sketch::new(64);
        let (hot, cold, never) = (0x1234_5678_9ABC_DEF0_u64, 0x0FED_CBA9_8765_4321_u64, 42_u64);
        for _ in 0..20 {
            sketch.record(hot);
        }
        sketch.record(cold);
        assert_eq!(sketch.estimate(hot), MAX_COUNT);
        assert!(sketch.estimate(cold) >= 1);
        assert!(sketch.estimate(cold) < sketch.estimate(hot));
        assert_eq!(sketch.estimate(never), 0);
        // A period of other keys halves what is known of `hot`.
        for key in 0..(10 * 64) as u64 {
            sketch.record(key.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        assert!(sketch.estimate(hot) < MAX_COUNT);
    }
}
