//! Fusion of reports from many receivers and partners.
//!
//! The same AIS transmission reaches a fusion centre several times: from neighbouring coastal
//! receivers, from partners' feeds, from a satellite minutes later. [`Fuser`] turns those
//! copies into one record that lists every source, and releases records in message-time order:
//!
//! - **Identity of a transmission**: same MMSI and identical payload bits (the caller hashes the
//!   de-armored payload) with message times at most `dedup_window_ms` apart. AIS position
//!   payloads carry the UTC second and radio state, so two different transmissions practically
//!   never share a payload within a minute; repeated identical static reports merge harmlessly.
//! - **Message time**: the receiver's time (tag block, `$PGHP`, ...) refined with the report's
//!   own UTC-second field ([`refine_time`]): the instant nearest the receive time whose second is
//!   the reported one.
//! - **Order**: records wait in a buffer until the newest message time seen is
//!   `reorder_window_ms` past them, so late and out-of-order arrivals within the window are
//!   released in their place. A copy arriving after its transmission was released is reported
//!   as [`Output::LateSource`] (its source is added to the stored record; no second position).

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Where a report came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    /// Configured source (feed) id.
    pub source_id: u32,
    /// Receiver or station inside that feed, as an id into the caller's table of station
    /// names (interned: a fused record lists many sources, and names repeat millions of times).
    pub station: Option<u32>,
    /// Receive time at that source, ms since the Unix epoch.
    pub received_ms: i64,
}

/// The sources of a record: most transmissions are heard once or twice, kept inline.
pub type Sources = smallvec::SmallVec<[SourceRef; 2]>;

/// One decoded report to fuse.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<P> {
    /// Transmitter.
    pub mmsi: u32,
    /// Hash of the de-armored payload bits.
    pub payload_hash: u64,
    /// Message time, ms since the Unix epoch (see [`refine_time`]).
    pub time_ms: i64,
    /// Where this copy came from.
    pub source: SourceRef,
    /// The decoded report, carried through.
    pub payload: P,
}

/// A fused record: one transmission with every source that heard it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused<P> {
    /// Transmitter.
    pub mmsi: u32,
    /// Payload hash.
    pub payload_hash: u64,
    /// Message time, ms (from the first copy).
    pub time_ms: i64,
    /// The report (from the first copy).
    pub payload: P,
    /// All sources, in arrival order.
    pub sources: Sources,
}

/// What the fuser releases.
#[derive(Debug, Clone, PartialEq)]
pub enum Output<P> {
    /// A transmission, in message-time order.
    Record(Fused<P>),
    /// Another copy of an already released transmission: add this source to it.
    LateSource {
        /// Transmitter.
        mmsi: u32,
        /// Payload hash.
        payload_hash: u64,
        /// Message time of the released record.
        time_ms: i64,
        /// The late source.
        source: SourceRef,
    },
}

/// Fusion windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuserConfig {
    /// Copies of one payload at most this far apart in message time are one transmission
    /// (default 30 s).
    pub dedup_window_ms: i64,
    /// Records are held until the newest message time is this far past them (default 60 s).
    pub reorder_window_ms: i64,
    /// Released transmissions are remembered this long to recognise late copies
    /// (default 30 min, for satellite feeds).
    pub late_window_ms: i64,
}

impl Default for FuserConfig {
    fn default() -> Self {
        FuserConfig {
            dedup_window_ms: 30_000,
            reorder_window_ms: 60_000,
            late_window_ms: 30 * 60_000,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FuserStats {
    /// Observations pushed.
    pub observations: u64,
    /// Records released.
    pub records: u64,
    /// Copies merged into a pending record.
    pub duplicates_merged: u64,
    /// Copies of already released records.
    pub late_duplicates: u64,
    /// Observations older than the release point with no record to join: released at once
    /// (out of order) rather than dropped.
    pub released_out_of_order: u64,
}

/// Identities are remembered in buckets of this much message time (dropped whole).
const BUCKET_MS: i64 = 60_000;

/// Key of a record: (message time, arrival sequence).
type Key = (i64, u64);

/// Emptied bucket maps kept for reuse at most.
const MAX_SPARE_BUCKETS: usize = 64;

/// Keys of recent records by identity.
type IdMap = FxHashMap<(u32, u64), Few<Key>>;

/// The fuser. Generic over the carried report type.
#[derive(Debug)]
pub struct Fuser<P> {
    cfg: FuserConfig,
    /// Pending records, sorted by key (input is nearly in time order: appends dominate).
    pending: VecDeque<(Key, Fused<P>)>,
    /// Identities of recent records by message-time bucket, buckets in ascending order
    /// (nearly always appended at the back, found by binary search): (mmsi, payload hash) ->
    /// keys of the records with that identity. A key after `released_upto` is still pending.
    seen: VecDeque<(i64, IdMap)>,
    /// Emptied bucket maps, kept for reuse.
    spare: Vec<IdMap>,
    /// Largest key released so far.
    released_upto: Key,
    seq: u64,
    newest_ms: i64,
    stats: FuserStats,
}

impl<P: Clone> Fuser<P> {
    /// A fuser with the given windows.
    pub fn new(cfg: FuserConfig) -> Self {
        Fuser {
            cfg,
            pending: VecDeque::new(),
            seen: VecDeque::new(),
            spare: Vec::new(),
            released_upto: (i64::MIN, 0),
            seq: 0,
            newest_ms: i64::MIN,
            stats: FuserStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> FuserStats {
        self.stats
    }

    /// Records waiting for release.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The key of an earlier record of the same transmission, if one is remembered.
    fn earlier(&self, id: (u32, u64), time_ms: i64) -> Option<Key> {
        let w = self.cfg.dedup_window_ms;
        let lo = time_ms.saturating_sub(w).div_euclid(BUCKET_MS);
        let hi = time_ms.saturating_add(w).div_euclid(BUCKET_MS);
        let first = self.seen.partition_point(|(b, _)| *b < lo);
        self.seen
            .range(first..)
            .take_while(|(b, _)| *b <= hi)
            .find_map(|(_, bucket)| {
                bucket
                    .get(&id)?
                    .iter()
                    .find(|k| (k.0 - time_ms).abs() <= w)
                    .copied()
            })
    }

    /// The map of bucket `b`, created (in order) if need be.
    fn bucket(&mut self, b: i64) -> &mut IdMap {
        let i = match self.seen.back() {
            Some((last, _)) if *last == b => self.seen.len() - 1,
            Some((last, _)) if *last > b => {
                let i = self.seen.partition_point(|(x, _)| *x < b);
                if self.seen[i].0 != b {
                    let m = self.spare.pop().unwrap_or_default();
                    self.seen.insert(i, (b, m));
                }
                i
            }
            _ => {
                let m = self.spare.pop().unwrap_or_default();
                self.seen.push_back((b, m));
                self.seen.len() - 1
            }
        };
        &mut self.seen[i].1
    }

    /// Adds an observation; releases what the reorder window allows into `out`.
    pub fn push(&mut self, obs: Observation<P>, out: &mut Vec<Output<P>>) {
        self.stats.observations += 1;
        let id = (obs.mmsi, obs.payload_hash);
        if let Some(k) = self.earlier(id, obs.time_ms) {
            let pending = if k > self.released_upto {
                self.pending.binary_search_by(|e| e.0.cmp(&k)).ok()
            } else {
                None
            };
            match pending {
                // A pending copy of the same transmission.
                Some(i) => {
                    self.pending[i].1.sources.push(obs.source);
                    self.stats.duplicates_merged += 1;
                }
                // An already released one.
                None => {
                    self.stats.late_duplicates += 1;
                    out.push(Output::LateSource {
                        mmsi: obs.mmsi,
                        payload_hash: obs.payload_hash,
                        time_ms: k.0,
                        source: obs.source,
                    });
                }
            }
            return;
        }
        let key = (obs.time_ms, self.seq);
        self.seq += 1;
        match self.bucket(obs.time_ms.div_euclid(BUCKET_MS)).entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(key),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Few::One(key));
            }
        }
        let rec = Fused {
            mmsi: obs.mmsi,
            payload_hash: obs.payload_hash,
            time_ms: obs.time_ms,
            payload: obs.payload,
            sources: smallvec::smallvec![obs.source],
        };
        if self.pending.back().is_none_or(|b| b.0 <= key) {
            self.pending.push_back((key, rec));
        } else {
            let i = self.pending.partition_point(|e| e.0 < key);
            self.pending.insert(i, (key, rec));
        }
        if obs.time_ms > self.newest_ms {
            self.newest_ms = obs.time_ms;
        } else if obs.time_ms < self.newest_ms.saturating_sub(self.cfg.reorder_window_ms) {
            self.stats.released_out_of_order += 1;
        }
        self.release(
            self.newest_ms.saturating_sub(self.cfg.reorder_window_ms),
            out,
        );
    }

    /// Releases everything still pending (end of input).
    pub fn flush(&mut self, out: &mut Vec<Output<P>>) {
        self.release(i64::MAX, out);
    }

    fn release(&mut self, upto_ms: i64, out: &mut Vec<Output<P>>) {
        while self.pending.front().is_some_and(|e| e.0 .0 <= upto_ms) {
            let Some((key, rec)) = self.pending.pop_front() else {
                break;
            };
            self.released_upto = self.released_upto.max(key);
            self.stats.records += 1;
            out.push(Output::Record(rec));
        }
        // Forget identities older than the late window (whole buckets, all released).
        let horizon = self
            .newest_ms
            .saturating_sub(self.cfg.late_window_ms)
            .min(self.released_upto.0);
        while let Some((b, _)) = self.seen.front() {
            if (b + 1).saturating_mul(BUCKET_MS) > horizon {
                break;
            }
            if let Some((_, mut m)) = self.seen.pop_front() {
                if self.spare.len() < MAX_SPARE_BUCKETS {
                    m.clear();
                    self.spare.push(m);
                }
            }
        }
    }
}

/// One value (the usual case: no allocation) or several.
#[derive(Debug, Clone)]
enum Few<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy + PartialEq> Few<T> {
    fn push(&mut self, v: T) {
        match self {
            Few::One(a) => *self = Few::Many(vec![*a, v]),
            Few::Many(vs) => vs.push(v),
        }
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            Few::One(a) => std::slice::from_ref(a).iter(),
            Few::Many(vs) => vs.iter(),
        }
    }
}

/// The message time of a report: the instant nearest `received_ms` whose UTC second is the
/// report's `second` field (0-59). Without a usable second field, the receive time.
pub fn refine_time(received_ms: i64, second: Option<u8>) -> i64 {
    let Some(s) = second.filter(|&s| s < 60) else {
        return received_ms;
    };
    let minute = received_ms.div_euclid(60_000) * 60_000;
    let candidate = minute + s as i64 * 1000;
    // The report's second may belong to the previous or next minute of the receive time.
    [candidate - 60_000, candidate, candidate + 60_000]
        .into_iter()
        .min_by_key(|c| (c - received_ms).abs())
        .unwrap_or(received_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(mmsi: u32, hash: u64, t: i64, source: u32) -> Observation<&'static str> {
        Observation {
            mmsi,
            payload_hash: hash,
            time_ms: t,
            source: SourceRef {
                source_id: source,
                station: None,
                received_ms: t,
            },
            payload: "p",
        }
    }

    fn records(out: &[Output<&'static str>]) -> Vec<(u32, i64, usize)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Record(r) => Some((r.mmsi, r.time_ms, r.sources.len())),
                _ => None,
            })
            .collect()
    }

    proptest::proptest! {
        /// Copies heard up to 25 minutes late (inside the 30-minute late window), over an
        /// hour: every observation is a record, a merged copy or a late source; no two records
        /// of one identity lie within the dedup window; records leave in time order except
        /// those counted as released out of order.
        #[test]
        fn every_copy_is_accounted_for_and_identities_stay_unique(
            base in proptest::collection::vec((0u32..3, 0u64..3, 0i64..3_600_000), 1..300),
            late in proptest::collection::vec((0usize..300, 0i64..1_500_000), 0..40),
        ) {
            let mut times: Vec<(u32, u64, i64)> = base;
            times.sort_by_key(|o| o.2);
            // Each late copy at most 25 minutes behind the newest time before it.
            let n = times.len();
            let sorted = times.clone();
            for (i, d) in late {
                times[i % n].2 = times[i % n].2.min(sorted[i % n].2 - d);
            }
            let mut f = Fuser::new(FuserConfig::default());
            let mut out = Vec::new();
            for (n, &(mmsi, hash, t)) in times.iter().enumerate() {
                f.push(obs(mmsi, hash, t, n as u32), &mut out);
            }
            f.flush(&mut out);
            let st = f.stats();
            proptest::prop_assert_eq!(st.observations, times.len() as u64);
            proptest::prop_assert_eq!(
                st.records + st.duplicates_merged + st.late_duplicates,
                st.observations
            );
            let recs: Vec<&Fused<&str>> = out
                .iter()
                .filter_map(|o| match o {
                    Output::Record(r) => Some(r),
                    _ => None,
                })
                .collect();
            proptest::prop_assert_eq!(recs.len() as u64, st.records);
            let sources: usize = recs.iter().map(|r| r.sources.len()).sum();
            proptest::prop_assert_eq!(sources as u64, st.records + st.duplicates_merged);
            let mut by_id: Vec<(u32, u64, i64)> =
                recs.iter().map(|r| (r.mmsi, r.payload_hash, r.time_ms)).collect();
            by_id.sort_unstable();
            for w in by_id.windows(2) {
                if (w[0].0, w[0].1) == (w[1].0, w[1].1) {
                    proptest::prop_assert!(w[1].2 - w[0].2 > 30_000, "{:?}", w);
                }
            }
            let mut newest = i64::MIN;
            let mut inversions = 0u64;
            for r in &recs {
                inversions += u64::from(r.time_ms < newest);
                newest = newest.max(r.time_ms);
            }
            proptest::prop_assert!(inversions <= st.released_out_of_order);
        }
    }

    #[test]
    fn a_duplicate_from_a_second_partner_merges() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        f.push(obs(1, 7, 1_000, 1), &mut out);
        f.push(obs(1, 7, 1_400, 2), &mut out);
        f.flush(&mut out);
        assert_eq!(records(&out), vec![(1, 1_000, 2)]);
        assert_eq!(f.stats().duplicates_merged, 1);
    }

    #[test]
    fn out_of_order_arrivals_are_released_in_time_order() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        for (t, h) in [(10_000, 1), (5_000, 2), (20_000, 3), (15_000, 4)] {
            f.push(obs(1, h, t, 1), &mut out);
        }
        f.flush(&mut out);
        let times: Vec<i64> = records(&out).iter().map(|r| r.1).collect();
        assert_eq!(times, vec![5_000, 10_000, 15_000, 20_000]);
    }

    #[test]
    fn a_satellite_copy_twenty_minutes_late_is_a_late_source() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        f.push(obs(9, 42, 0, 1), &mut out);
        // Terrestrial traffic moves time on by 20 minutes; the record is released.
        for k in 1..=20 {
            f.push(obs(5, 100 + k, k as i64 * 60_000, 1), &mut out);
        }
        assert!(records(&out).contains(&(9, 0, 1)));
        // The satellite copy of the first transmission (same payload, same message time).
        f.push(obs(9, 42, 0, 2), &mut out);
        assert!(matches!(
            out.last(),
            Some(Output::LateSource {
                mmsi: 9,
                time_ms: 0,
                ..
            })
        ));
        assert_eq!(f.stats().late_duplicates, 1);
    }

    #[test]
    fn same_payload_far_apart_in_time_is_two_transmissions() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        f.push(obs(1, 7, 0, 1), &mut out);
        f.push(obs(1, 7, 6 * 60_000, 1), &mut out);
        f.flush(&mut out);
        assert_eq!(records(&out).len(), 2);
    }

    /// Transmissions heard by several sources, delivered with jitter below the reorder window:
    /// every copy merges, records come out in time order, nothing is lost.
    #[test]
    fn jittered_copies_merge_and_release_in_order() {
        let mut state = 0x1234_5678_u64;
        let mut rand = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        for round in 0..20 {
            let mut f = Fuser::new(FuserConfig::default());
            let mut arrivals = Vec::new();
            let transmissions = 2_000;
            for k in 0..transmissions {
                let mmsi = 1 + rand(50) as u32;
                let t = k as i64 * 500;
                for src in 0..1 + rand(3) as u32 {
                    // Arrival up to 40 s late (reorder window 60 s).
                    let arrival = t + rand(40_000) as i64;
                    arrivals.push((arrival, obs(mmsi, k, t, src)));
                }
            }
            arrivals.sort_by_key(|o| o.0);
            let n = arrivals.len() as u64;
            let mut out = Vec::new();
            for (_, o) in arrivals {
                f.push(o, &mut out);
            }
            f.flush(&mut out);
            let s = f.stats();
            assert_eq!(s.records, transmissions, "round {round}: {s:?}");
            assert_eq!(s.records + s.duplicates_merged + s.late_duplicates, n);
            assert_eq!(s.late_duplicates, 0, "round {round}");
            let times: Vec<i64> = records(&out).iter().map(|r| r.1).collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "round {round}");
            let sources: usize = out
                .iter()
                .map(|o| match o {
                    Output::Record(r) => r.sources.len(),
                    Output::LateSource { .. } => 1,
                })
                .sum();
            assert_eq!(sources as u64, n);
        }
    }

    #[test]
    fn refine_time_uses_the_utc_second() {
        // Received at 12:00:01.300; the report says second 59: it was 11:59:59.
        let t = 1_700_000_000_000i64 / 60_000 * 60_000 + 1_300;
        assert_eq!(refine_time(t, Some(59)), t - 1_300 - 1_000);
        assert_eq!(refine_time(t, Some(1)), t - 300);
        assert_eq!(refine_time(t, Some(60)), t);
        assert_eq!(refine_time(t, None), t);
    }
}
