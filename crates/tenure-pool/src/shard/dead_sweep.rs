//! Finding a shut-down runtime's entries when a shard needs room.
//!
//! The reaper purges the entries of a runtime that shut down at its next pass.
//! Until then they are never served, so an insert at capacity takes one of them
//! as its victim before it asks the policy: a dead runtime's client never
//! pushes out a live runtime's.
//!
//! The shard looks for them only when some runtime died since it last found
//! none ([`runtime_scope::deaths`](crate::runtime_scope::deaths)), and only if it
//! holds scoped entries at all. The look is one scan of the slab per death
//! count, resumed where it stopped at the next eviction, so each death costs a
//! shard at most one pass over its slots, spread over the evictions that follow.
//!
//! An entry inserted for a runtime in the moment it shuts down, into a slot the
//! scan has already passed, is not found by it; the reaper purges it.

/// Where a shard stands in its look for dead entries.
#[derive(Debug, Default)]
pub(super) struct DeadSweep {
    /// Entries of the shard kept under a runtime's scope (tag not 0).
    scoped: usize,
    /// The death count at which the shard was last found to hold no dead entry.
    clean_at: u64,
    /// The scan under way: the death count it started at and the next slot to look at.
    scan: Option<(u64, u32)>,
}

impl DeadSweep {
    /// An entry with this scope tag entered the shard.
    pub(super) fn added(&mut self, tag: u64) {
        if tag != 0 {
            self.scoped += 1;
        }
    }

    /// An entry with this scope tag left the shard.
    pub(super) fn removed(&mut self, tag: u64) {
        if tag != 0 {
            self.scoped -= 1;
        }
    }

    /// Every entry left the shard.
    pub(super) fn cleared(&mut self) {
        self.scoped = 0;
        self.scan = None;
    }

    /// The next slot below `bound` for which `dead` holds, given the runtimes'
    /// death count now (`deaths`); `None` once a scan at this count found no more.
    /// The caller removes the slot it is given before it asks again.
    pub(super) fn next(&mut self, deaths: u64, bound: u32, dead: impl Fn(u32) -> bool) -> Option<u32> {
        if self.scoped == 0 || deaths == self.clean_at {
            return None;
        }
        let mut cursor = match self.scan {
            Some((at, cursor)) if at == deaths => cursor,
            // A runtime died since this scan started: its entries may be behind it.
            _ => 0,
        };
        while cursor < bound {
            let slot = cursor;
            cursor += 1;
            if dead(slot) {
                self.scan = Some((deaths, cursor));
                return Some(slot);
            }
        }
        self.clean_at = deaths;
        self.scan = None;
        None
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn no_scoped_entry_or_no_new_death_means_no_look() {
        let looked = Cell::new(0);
        let dead = |_| {
            looked.set(looked.get() + 1);
            true
        };
        let mut sweep = DeadSweep::default();
        assert_eq!(sweep.next(1, 10, dead), None, "no scoped entry");
        sweep.added(0);
        assert_eq!(sweep.next(1, 10, dead), None, "unscoped entries only");
        sweep.added(7);
        assert_eq!(sweep.next(0, 10, dead), None, "no death since the start");
        assert_eq!(looked.get(), 0);
        assert_eq!(sweep.next(1, 10, dead), Some(0));
    }

    #[test]
    fn a_scan_resumes_where_it_stopped_and_ends_clean() {
        let dead_slots = [2_u32, 5, 6];
        let looked = Cell::new(0);
        let dead = |slot| {
            looked.set(looked.get() + 1);
            dead_slots.contains(&slot)
        };
        let mut sweep = DeadSweep::default();
        sweep.added(3);
        assert_eq!(sweep.next(1, 8, dead), Some(2));
        assert_eq!(sweep.next(1, 8, dead), Some(5));
        assert_eq!(sweep.next(1, 8, dead), Some(6));
        assert_eq!(sweep.next(1, 8, dead), None);
        assert_eq!(looked.get(), 8, "one pass over the slots in all");
        assert_eq!(sweep.next(1, 8, dead), None);
        assert_eq!(looked.get(), 8, "clean at this death count: no second pass");
    }

    #[test]
    fn a_new_death_restarts_the_scan_from_the_first_slot() {
        let mut sweep = DeadSweep::default();
        sweep.added(3);
        assert_eq!(sweep.next(1, 8, |slot| slot == 4), Some(4));
        // Another runtime died; its entry sits behind the cursor.
        assert_eq!(sweep.next(2, 8, |slot| slot == 1), Some(1));
        sweep.removed(3);
        assert_eq!(sweep.next(3, 8, |_| true), None, "no scoped entry left");
        sweep.added(3);
        sweep.cleared();
        assert_eq!(sweep.next(4, 8, |_| true), None, "cleared");
    }
}
