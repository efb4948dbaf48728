//! Expiry settings and the rule that applies them, shared by lookups
//! (`clock::Reading`) and the shards' eviction.

use crate::stats::RemovalCause;

/// Expiry settings in clock nanoseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Expiry {
    pub(crate) ttl: Option<u64>,
    pub(crate) tti: Option<u64>,
    /// `refresh_after`: when a lookup starts building an owned entry's replacement.
    pub(crate) refresh: Option<u64>,
}

impl Expiry {
    /// No time-to-live, time-to-idle or refresh: entry times are never read.
    pub(crate) fn is_timeless(&self) -> bool {
        self.ttl.is_none() && self.tti.is_none() && self.refresh.is_none()
    }

    /// When an entry inserted (or refreshed) at `inserted_at` is due for a refresh
    /// (`u64::MAX`: never).
    pub(crate) fn refresh_at(&self, inserted_at: u64) -> u64 {
        self.refresh.map_or(u64::MAX, |after| inserted_at.saturating_add(after))
    }

    /// When a node with these times expires, if it ever does.
    pub(crate) fn deadline(&self, inserted_at: u64, last_access: u64) -> Option<u64> {
        let ttl = self.ttl.map(|ttl| inserted_at.saturating_add(ttl));
        let tti = self.tti.map(|tti| last_access.saturating_add(tti));
        match (ttl, tti) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Why a node should go now, if it should.
    pub(crate) fn check(&self, inserted_at: u64, last_access: u64, now: u64) -> Option<RemovalCause> {
        if let Some(ttl) = self.ttl
            && now >= inserted_at.saturating_add(ttl)
        {
            return Some(RemovalCause::Expired);
        }
        if let Some(tti) = self.tti
            && now >= last_access.saturating_add(tti)
        {
            return Some(RemovalCause::Idle);
        }
        None
    }
}
