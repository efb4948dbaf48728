//! Finding a shut-down runtime's entries when a shard needs room.
//!
//! The reaper purges the entries of a runtime that shut down at its next pass.
//! Until then they are never served, so an insert at capacity takes one of them
//! as its victim before it asks the policy: a dead runtime's client does not
//! push out a live runtime's of the same shard.
//!
//! A shard keeps, for each runtime life it holds entries of, how many. It looks
//! at those lives only when some runtime died since it last found none of them
//! dead ([`runtime_scope::deaths`](crate::runtime_scope::deaths)), so a death
//! elsewhere in the process costs it one pass over its (few) lives, not over its
//! slots. When one of its lives is dead, it scans its slots for that life's
//! entries, one victim per eviction, resuming where it stopped, and stops as
//! soon as it holds no dead life's entry: each death costs a shard holding its
//! entries at most one pass over the slots, spread over the evictions that take
//! them.
//!
//! An entry inserted for a runtime in the moment it shuts down, after the shard
//! last looked (at the same death count), is not found by it; the reaper purges it.

use crate::Scope;

/// Where a shard stands in its look for dead entries.
#[derive(Debug, Default)]
pub(super) struct DeadSweep {
    /// The runtime lives the shard holds entries of, each with its count of
    /// entries (never 0: a life leaves the list with its last entry).
    lives: Vec<(Scope, u32)>,
    /// The death count at which the shard was last found to hold no dead entry.
    clean_at: u64,
    /// The scan under way: the death count it started at and the next slot to look at.
    scan: Option<(u64, u32)>,
}

impl DeadSweep {
    /// An entry of this scope entered the shard.
    pub(super) fn added(&mut self, scope: &Scope) {
        if scope.tag() == 0 {
            return;
        }
        match self.lives.iter_mut().find(|(life, _)| life.tag() == scope.tag()) {
            Some((_, count)) => *count += 1,
            None => self.lives.push((scope.clone(), 1)),
        }
    }

    /// An entry with this scope tag left the shard.
    pub(super) fn removed(&mut self, tag: u64) {
        if tag == 0 {
            return;
        }
        if let Some(at) = self.lives.iter().position(|(life, _)| life.tag() == tag) {
            self.lives[at].1 -= 1;
            if self.lives[at].1 == 0 {
                self.lives.swap_remove(at);
            }
        }
    }

    /// Every entry left the shard.
    pub(super) fn cleared(&mut self) {
        self.lives.clear();
        self.scan = None;
    }

    /// The next slot below `bound` for which `dead` holds, given the runtimes'
    /// death count now (`deaths`); `None` when the shard holds no dead life's
    /// entry, or a scan at this count found no more. The caller removes the
    /// slot it is given (and tells [`removed`](Self::removed)) before it asks again.
    pub(super) fn next(&mut self, deaths: u64, bound: u32, dead: impl Fn(u32) -> bool) -> Option<u32> {
        if deaths == self.clean_at {
            return None;
        }
        if self.lives.iter().all(|(life, _)| life.is_alive()) {
            self.clean_at = deaths;
            self.scan = None;
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
    use crate::runtime_scope::RuntimeLife;

    fn scope(tag: u64, alive: bool) -> Scope {
        Scope::of(RuntimeLife::for_test(tag, alive))
    }

    #[test]
    fn no_dead_life_in_the_shard_means_no_look_at_its_slots() {
        let looked = Cell::new(0);
        let dead = |_| {
            looked.set(looked.get() + 1);
            true
        };
        let mut sweep = DeadSweep::default();
        assert_eq!(sweep.next(1, 10, dead), None, "no scoped entry");
        sweep.added(&Scope::NONE);
        assert_eq!(sweep.next(2, 10, dead), None, "unscoped entries only");
        sweep.added(&scope(7, true));
        assert_eq!(sweep.next(3, 10, dead), None, "another runtime died, not this shard's");
        assert_eq!(looked.get(), 0);
        let mut sweep = DeadSweep::default();
        sweep.added(&scope(7, false));
        assert_eq!(sweep.next(0, 10, dead), None, "no death counted since the start");
        assert_eq!(sweep.next(1, 10, dead), Some(0));
    }

    #[test]
    fn a_scan_resumes_where_it_stopped_and_stops_with_the_last_dead_entry() {
        let dead_slots = [2_u32, 5, 6];
        let looked = Cell::new(0);
        let dead = |slot| {
            looked.set(looked.get() + 1);
            dead_slots.contains(&slot)
        };
        let mut sweep = DeadSweep::default();
        let gone = scope(3, false);
        for _ in dead_slots {
            sweep.added(&gone);
        }
        sweep.added(&scope(4, true));
        assert_eq!(sweep.next(1, 8, dead), Some(2));
        sweep.removed(3);
        assert_eq!(sweep.next(1, 8, dead), Some(5));
        sweep.removed(3);
        assert_eq!(sweep.next(1, 8, dead), Some(6));
        sweep.removed(3);
        assert_eq!(looked.get(), 7, "slots 0 to 6");
        assert_eq!(sweep.next(1, 8, dead), None);
        assert_eq!(looked.get(), 7, "no dead life left: slot 7 is never looked at");
    }

    #[test]
    fn a_new_death_restarts_the_scan_from_the_first_slot() {
        let mut sweep = DeadSweep::default();
        sweep.added(&scope(3, false));
        sweep.added(&scope(3, false));
        assert_eq!(sweep.next(1, 8, |slot| slot == 4), Some(4));
        // Another runtime died; its entry sits behind the cursor.
        assert_eq!(sweep.next(2, 8, |slot| slot == 1), Some(1));
        sweep.removed(3);
        sweep.removed(3);
        assert_eq!(sweep.next(3, 8, |_| true), None, "no scoped entry left");
        sweep.added(&scope(5, false));
        sweep.cleared();
        assert_eq!(sweep.next(4, 8, |_| true), None, "cleared");
    }
}
