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
use std::num::NonZeroU32;

/// A receiver or station inside a feed: an index into the caller's table of station names
/// (interned: a fused record lists many sources, and names repeat millions of times). Kept as
/// the index plus one, so that an optional one takes four bytes and a source sixteen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StationId(NonZeroU32);

impl StationId {
    /// The id of table index `index`; `None` for `u32::MAX` (no table is that long).
    pub fn new(index: u32) -> Option<StationId> {
        index
            .checked_add(1)
            .and_then(NonZeroU32::new)
            .map(StationId)
    }

    /// The table index.
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }
}

/// Where a report came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    /// Configured source (feed) id.
    pub source_id: u32,
    /// Receiver or station inside that feed.
    pub station: Option<StationId>,
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

/// Key of a record: (message time, arrival sequence).
type Key = (i64, u64);

/// The fuser. Generic over the carried report type.
#[derive(Debug)]
pub struct Fuser<P> {
    cfg: FuserConfig,
    /// Pending records, sorted by key (input is nearly in time order: appends dominate).
    pending: VecDeque<(Key, Fused<P>)>,
    /// Identities of recent records, per MMSI: (message time, payload hash) in time order
    /// (nearly always appended). One small map of vessels and a few neighbouring entries of
    /// one vessel (16 bytes each) are what a report touches, so the lookup stays in cache
    /// however many reports the late window holds.
    recent: FxHashMap<u32, VecDeque<(i64, u64)>>,
    /// Identities older than this are forgotten (see [`Fuser::forget`]).
    horizon_ms: i64,
    /// Message time of the last sweep of idle vessels out of `recent`.
    swept_ms: i64,
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
            recent: FxHashMap::default(),
            horizon_ms: i64::MIN,
            swept_ms: i64::MIN,
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

    /// Identities remembered (to merge copies and recognise late ones), over all vessels.
    pub fn remembered(&self) -> usize {
        self.recent.values().map(VecDeque::len).sum()
    }

    /// Reads the newest remembered identity of each observation's vessel, so that pushing
    /// `obs` next finds them in cache: here the loads of independent vessels overlap, where in
    /// [`Fuser::push`] each waits for memory in turn (it was the fuser's costliest load).
    /// Changes nothing; returns a value only so that the reads are not optimised away.
    pub fn touch(&self, obs: &[Observation<P>]) -> i64 {
        let mut acc = 0i64;
        for o in obs {
            if let Some(b) = self.recent.get(&o.mmsi).and_then(VecDeque::back) {
                acc ^= b.0;
            }
        }
        std::hint::black_box(acc)
    }

    /// Adds an observation; releases what the reorder window allows into `out`.
    pub fn push(&mut self, obs: Observation<P>, out: &mut Vec<Output<P>>) {
        self.stats.observations += 1;
        let w = self.cfg.dedup_window_ms;
        let horizon = self.horizon_ms;
        let ids = self.recent.entry(obs.mmsi).or_default();
        // The earliest record of the same transmission within the dedup window, if any
        // (entries before the horizon are forgotten, even while still in memory).
        let lo = obs.time_ms.saturating_sub(w).max(horizon);
        let hi = obs.time_ms.saturating_add(w);
        let earlier = (first_at_or_after(ids, lo)..ids.len())
            .map(|i| ids[i])
            .take_while(|e| e.0 <= hi)
            .find(|e| e.1 == obs.payload_hash)
            .map(|e| e.0);
        if let Some(t) = earlier {
            // Still pending unless released (all of an earlier time are; of the same time,
            // some may be): the pending record of that time and identity, if any (at most
            // one: a second would have merged with it).
            let pending = if t >= self.released_upto.0 {
                let start = self.pending.partition_point(|e| e.0 .0 < t);
                (start..self.pending.len())
                    .take_while(|&i| self.pending[i].0 .0 == t)
                    .find(|&i| {
                        let r = &self.pending[i].1;
                        r.mmsi == obs.mmsi && r.payload_hash == obs.payload_hash
                    })
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
                        time_ms: t,
                        source: obs.source,
                    });
                }
            }
            return;
        }
        let key = (obs.time_ms, self.seq);
        self.seq += 1;
        if ids.len() == ids.capacity() {
            // Room for the new entry from forgotten ones before growing (the front is read
            // only here: a report otherwise touches the back, in cache).
            while ids.front().is_some_and(|e| e.0 < horizon) {
                ids.pop_front();
            }
        }
        let id = (obs.time_ms, obs.payload_hash);
        if ids.back().is_none_or(|b| b.0 <= obs.time_ms) {
            ids.push_back(id);
        } else {
            let i = ids.partition_point(|e| e.0 <= obs.time_ms);
            ids.insert(i, id);
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
        self.forget();
    }

    /// Moves the horizon of remembered identities to the late window behind the newest
    /// message time (never past a pending record). Each vessel's entries before it are
    /// dropped when the vessel next reports; a sweep every late window drops those of vessels
    /// that stopped reporting, so memory follows the traffic of the last late window.
    fn forget(&mut self) {
        let horizon = self
            .newest_ms
            .saturating_sub(self.cfg.late_window_ms)
            .min(self.released_upto.0);
        self.horizon_ms = self.horizon_ms.max(horizon);
        let interval = self.cfg.late_window_ms.max(MIN_SWEEP_INTERVAL_MS);
        if self.horizon_ms.saturating_sub(self.swept_ms) < interval {
            return;
        }
        self.swept_ms = self.horizon_ms;
        let horizon = self.horizon_ms;
        self.recent.retain(|_, ids| {
            while ids.front().is_some_and(|e| e.0 < horizon) {
                ids.pop_front();
            }
            !ids.is_empty()
        });
    }
}

/// The index of the first entry of `ids` (sorted by time) at or after message time `t_ms`:
/// galloping back from the end, then a binary search, so that a time near the newest
/// (nearly every report) reads a few entries at the back.
fn first_at_or_after(ids: &VecDeque<(i64, u64)>, t_ms: i64) -> usize {
    let n = ids.len();
    // Entries from `end` on are at or after `t_ms`; `step` doubles until one is not.
    let (mut end, mut step) = (n, 1);
    while step <= n && ids[n - step].0 >= t_ms {
        end = n - step;
        step *= 2;
    }
    // Entries before `lo` are before `t_ms` (the entry at n - step was, or there is none).
    let mut lo = n.saturating_sub(step);
    while lo < end {
        let mid = lo + (end - lo) / 2;
        if ids[mid].0 < t_ms {
            lo = mid + 1;
        } else {
            end = mid;
        }
    }
    lo
}

/// Idle vessels are swept out of the identity memory at most this often (message time).
const MIN_SWEEP_INTERVAL_MS: i64 = 60_000;

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

    proptest::proptest! {
        /// The galloping search finds what a binary search over the whole queue finds.
        #[test]
        fn first_at_or_after_agrees_with_partition_point(
            mut times in proptest::collection::vec(-50i64..50, 0..200),
            t in -60i64..60,
            rotate in 0usize..200,
        ) {
            times.sort_unstable();
            // A queue whose storage wraps around, as a ring buffer in use does.
            let mut ids: VecDeque<(i64, u64)> = VecDeque::with_capacity(times.len());
            for _ in 0..rotate.min(times.len()) {
                ids.push_back((0, 0));
                ids.pop_front();
            }
            ids.extend(times.iter().map(|&x| (x, 0)));
            proptest::prop_assert_eq!(
                first_at_or_after(&ids, t),
                ids.partition_point(|e| e.0 < t)
            );
        }
    }

    /// Identities of a vessel that stopped reporting are dropped after the late window, so
    /// memory follows recent traffic, not every vessel ever heard.
    #[test]
    fn identities_are_forgotten_after_the_late_window() {
        let cfg = FuserConfig::default();
        let mut f = Fuser::new(cfg);
        let mut out = Vec::new();
        for k in 0..100u64 {
            f.push(obs(7, k, k as i64 * 1_000, 1), &mut out);
        }
        assert_eq!(f.remembered(), 100);
        // Another vessel reports for two late windows on.
        for k in 0..200u64 {
            f.push(obs(8, k, 100_000 + k as i64 * 20_000, 1), &mut out);
        }
        let span_ms = 200 * 20_000;
        assert!(span_ms > 2 * cfg.late_window_ms);
        // Only vessel 8's entries of about the last late window (plus one sweep) are left.
        let left = f.remembered() as i64;
        assert!(left <= 2 * cfg.late_window_ms / 20_000 + 1, "{left}");
        assert!(!f.recent.contains_key(&7));
        // A copy of vessel 7's first report is now too late to recognise: a new record.
        f.push(obs(7, 0, 0, 2), &mut out);
        assert_eq!(f.stats().late_duplicates, 0);
    }

    #[test]
    fn station_ids_keep_their_index_in_four_bytes() {
        for i in [0, 1, 7, u32::MAX - 1] {
            assert_eq!(StationId::new(i).map(StationId::index), Some(i as usize));
        }
        assert_eq!(StationId::new(u32::MAX), None);
        assert_eq!(std::mem::size_of::<Option<StationId>>(), 4);
        assert_eq!(std::mem::size_of::<SourceRef>(), 16);
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
