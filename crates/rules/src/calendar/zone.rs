//! A zone's UTC offsets as a table of transitions, so the engine maps local wall-clock times to
//! UTC with integer arithmetic and knows in O(1) whether a local day is free of DST changes.
//!
//! chrono-tz does not expose its transition list, so the table is found by probing the offset
//! once a day over 1900–2100 (the span for which chrono-tz carries explicit transitions) and
//! bisecting to the second where it changes. Two changes within one day would be seen as one;
//! no zone does that in that span. Outside the span the first/last offset is used, as chrono-tz
//! itself does after 2100. Building takes a few milliseconds, so tables are shared per zone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// Microseconds, the engine's unit.
pub(crate) const SECOND: i64 = 1_000_000;
pub(crate) const DAY: i64 = 86_400 * SECOND;

/// 1900-01-01T00:00:00Z and 2101-01-01T00:00:00Z, in seconds.
const PROBE_FROM: i64 = -2_208_988_800;
const PROBE_TO: i64 = 4_133_980_800;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    /// UTC instant (µs) from which `after` applies.
    pub at: i64,
    pub before: i64,
    pub after: i64,
    /// Local wall-clock range `[local_lo, local_hi)` that is skipped (spring forward) or
    /// repeated (fall back) by this transition.
    pub local_lo: i64,
    pub local_hi: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ZoneTable {
    /// Offset (µs, local minus UTC) before the first transition.
    pub initial: i64,
    pub transitions: Vec<Transition>,
}

impl ZoneTable {
    fn probe(tz: Tz) -> Self {
        let offset = |secs: i64| -> i64 {
            let utc = DateTime::from_timestamp(secs, 0).expect("probe instant in range");
            i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc())
        };
        let initial = offset(PROBE_FROM);
        let mut transitions = Vec::new();
        let (mut prev_secs, mut prev_offset) = (PROBE_FROM, initial);
        let mut secs = PROBE_FROM;
        while secs < PROBE_TO {
            secs += 86_400;
            let current = offset(secs);
            if current != prev_offset {
                let (mut lo, mut hi) = (prev_secs, secs);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if offset(mid) == prev_offset {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                let (before, after) = (prev_offset * SECOND, current * SECOND);
                let at = hi * SECOND;
                transitions.push(Transition {
                    at,
                    before,
                    after,
                    local_lo: at + before.min(after),
                    local_hi: at + before.max(after),
                });
                prev_offset = current;
            }
            prev_secs = secs;
        }
        Self { initial, transitions }
    }

    /// Offset in effect at a UTC instant.
    pub fn offset_at_utc(&self, utc: i64) -> i64 {
        match self.transitions.partition_point(|t| t.at <= utc) {
            0 => self.initial,
            i => self.transitions[i - 1].after,
        }
    }

    /// Index of the first transition whose skipped/repeated range ends after `local`; every
    /// earlier transition lies wholly before it.
    pub fn first_after_local(&self, local: i64) -> usize {
        self.transitions.partition_point(|t| t.local_hi <= local)
    }

    /// The offset that applies to local times before transition `index` (and after the
    /// previous one).
    pub fn offset_before(&self, index: usize) -> i64 {
        match self.transitions.get(index) {
            Some(t) => t.before,
            None => self.transitions.last().map_or(self.initial, |t| t.after),
        }
    }

    /// Maps a local wall-clock time to UTC. A repeated time (fall back) resolves to its first
    /// occurrence; a skipped one (spring forward) to the transition instant, i.e. the first
    /// real instant at or after it. Monotonic in `local`. `hint` must not be past the first
    /// transition whose range ends after `local`.
    pub fn local_to_utc(&self, local: i64, hint: usize) -> i64 {
        let mut i = hint;
        while i < self.transitions.len() && self.transitions[i].local_hi <= local {
            i += 1;
        }
        let Some(t) = self.transitions.get(i) else {
            return local - self.offset_before(i);
        };
        if local < t.local_lo || t.before > t.after { local - t.before } else { t.at }
    }
}

/// The shared transition table of a zone, built on first use.
pub(crate) fn table(tz: Tz) -> Arc<ZoneTable> {
    static TABLES: OnceLock<Mutex<HashMap<Tz, Arc<ZoneTable>>>> = OnceLock::new();
    let tables = TABLES.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked mid-insert; the map is still sound.
    if let Some(found) = tables.lock().unwrap_or_else(|e| e.into_inner()).get(&tz) {
        return Arc::clone(found);
    }
    // Probed outside the lock so other zones are not held up; a racing duplicate is dropped.
    let built = Arc::new(ZoneTable::probe(tz));
    let mut guard = tables.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(guard.entry(tz).or_insert(built))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn utc_secs(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        tz.with_ymd_and_hms(y, m, d, h, min, 0).earliest().unwrap().timestamp()
    }

    #[test]
    fn shanghai_is_fixed_after_1991() {
        let t = table(Tz::Asia__Shanghai);
        assert!(t.transitions.iter().all(|x| x.at < 700_000_000 * SECOND));
        assert_eq!(t.offset_at_utc(1_800_000_000 * SECOND), 8 * 3600 * SECOND);
        // 1986–1991 summer time is in the table.
        assert!(t.transitions.iter().any(|x| x.after == 9 * 3600 * SECOND));
    }

    #[test]
    fn london_transitions_are_exact() {
        let t = table(Tz::Europe__London);
        // 2026-03-29 01:00 UTC: GMT -> BST; 2026-10-25 01:00 UTC: BST -> GMT.
        let spring = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap().and_hms_opt(1, 0, 0).unwrap();
        let autumn = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap().and_hms_opt(1, 0, 0).unwrap();
        for (at, after) in [(spring, 3600), (autumn, 0)] {
            let at = at.and_utc().timestamp() * SECOND;
            let x = t.transitions.iter().find(|x| x.at == at).expect("transition");
            assert_eq!(x.after, after * SECOND);
        }
    }

    #[test]
    fn local_to_utc_matches_chrono_tz_including_gaps_and_repeats() {
        let tz = Tz::America__New_York;
        let t = table(tz);
        let local = |y, m, d, h, min| {
            NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap().and_utc().timestamp() * SECOND
        };
        // Ordinary, repeated (01:30 on 2026-11-01 → first, EDT) and skipped (02:30 on
        // 2026-03-08 → the 03:00 EDT instant).
        assert_eq!(t.local_to_utc(local(2026, 6, 1, 9, 0), 0), utc_secs(tz, 2026, 6, 1, 9, 0) * SECOND);
        assert_eq!(t.local_to_utc(local(2026, 11, 1, 1, 30), 0), utc_secs(tz, 2026, 11, 1, 1, 30) * SECOND);
        assert_eq!(t.local_to_utc(local(2026, 3, 8, 2, 30), 0), utc_secs(tz, 2026, 3, 8, 3, 0) * SECOND);
    }
}
