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
//!   Copies whose bits differ but whose content is the same (a partner's decoded CSV row of a
//!   report heard raw, a satellite copy with other radio bits) are one transmission too when
//!   they say the same position (within about a metre), speed and course at most
//!   `content_window_ms` apart ([`Content`]). Transmissions stored by earlier runs are
//!   [`Fuser::remember`]ed, so a copy delivered again in a later run is a late source.
//! - **Message time**: the receiver's time (tag block, `$PGHP`, ...) refined with the report's
//!   own UTC-second field ([`refine_time`]): the instant nearest the receive time whose second is
//!   the reported one.
//! - **Order**: records wait until the newest message time seen is `reorder_window_ms` past
//!   them, so late and out-of-order arrivals within the window are released in their place.
//!   They wait in lists per second of message time (a push appends; a release sorts one
//!   second's list), so the cost per record depends neither on the window nor on the disorder.
//!   A copy arriving after its transmission was released is reported
//!   as [`Output::LateSource`] (its source is added to the stored record; no second position).
//! - **Memory**: identities are kept whole for `late_window_ms` behind the newest message time
//!   (every tolerance above applies); after that, a position's exact content (MMSI, message
//!   time, position, speed, course) is kept as one 64-bit key for `cold_window_ms` more, so a
//!   copy delivered hours late (a satellite feed's backlog, a partner's re-delivery) still
//!   joins its record. Copies older than that are stored as they come, counted as
//!   `stale_unchecked`.

use rustc_hash::{FxHashMap, FxHashSet};
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

/// What a position report says, for recognising one transmission in copies whose payload bits
/// differ (a partner's decoded CSV row, a satellite copy with other radio bits): position in
/// 1e-7 degrees, speed in 0.1 kn and course in 0.1 degree (`None` as `u16::MAX`), and the
/// report's UTC second when it has one (`None` as `u8::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Content {
    lat_e7: i32,
    lon_e7: i32,
    sog_dk: u16,
    cog_dd: u16,
    second: u8,
    /// The second is read from a message time, not from the report: within one second of
    /// the report's (a receive time's second, when the report had none).
    second_approx: bool,
    /// The feed whose rows are already one a transmission (a partner link's: its upstream
    /// fused them), plus one; 0 for others. Two rows of one such feed are the same only by
    /// their hash, never by content.
    fused_feed: u16,
}

impl Content {
    /// Position tolerance, 1e-7 degree: 1e-5 degree (about a metre), so that a decimal
    /// archive's rounding to five decimals still matches the transmitted 1/600,000 degree.
    const POSITION_TOLERANCE: i32 = 100;

    /// The content of a report; speed and course `None` when not available.
    pub fn new(lat: f64, lon: f64, sog_knots: Option<f32>, cog_deg: Option<f32>) -> Content {
        Content::with_second(lat, lon, sog_knots, cog_deg, None)
    }

    /// The content of a report that carries its UTC second (0-59; other values say the
    /// second is not available).
    pub fn with_second(
        lat: f64,
        lon: f64,
        sog_knots: Option<f32>,
        cog_deg: Option<f32>,
        second: Option<u8>,
    ) -> Content {
        let tenths =
            |v: Option<f32>| v.map_or(u16::MAX, |v| (v * 10.0).round().clamp(0.0, 65_534.0) as u16);
        Content {
            lat_e7: (lat * 1e7).round() as i32,
            lon_e7: (lon * 1e7).round() as i32,
            sog_dk: tenths(sog_knots),
            cog_dd: tenths(cog_deg),
            second: second.filter(|&s| s < 60).unwrap_or(u8::MAX),
            second_approx: false,
            fused_feed: 0,
        }
    }

    /// This content as a row of `feed`, whose rows are one a transmission each (a partner
    /// link's: two of its rows alike in content are two transmissions its upstream told
    /// apart, by bits this content does not hold).
    pub fn of_fused_feed(self, feed: u32) -> Content {
        Content {
            fused_feed: (feed % u32::from(u16::MAX)) as u16 + 1,
            ..self
        }
    }

    /// The position (latitude, longitude), degrees.
    pub fn lat_lon(&self) -> (f64, f64) {
        (self.lat_e7 as f64 / 1e7, self.lon_e7 as f64 / 1e7)
    }

    /// The content of a stored row (or a partner's row over a link) at message time
    /// `time_ms`: a message time in whole seconds is a receive time set to the report's UTC
    /// second ([`refine_time`]), or, for a report without one, a receive time in seconds;
    /// either way within a second of the report's second, which tells two reports of a
    /// moored vessel a few seconds apart from each other where nothing else does.
    pub fn at_time(
        lat: f64,
        lon: f64,
        sog_knots: Option<f32>,
        cog_deg: Option<f32>,
        time_ms: i64,
    ) -> Content {
        let second =
            (time_ms.rem_euclid(1000) == 0).then(|| time_ms.div_euclid(1000).rem_euclid(60) as u8);
        Content {
            second_approx: true,
            ..Content::with_second(lat, lon, sog_knots, cog_deg, second)
        }
    }

    /// Whether two reports say the same: positions within a metre or so, speed and course
    /// within a tenth (or both not available), and the same UTC second when both have one
    /// (two transmissions of a moored vessel differ there, if nowhere else), within one when
    /// either was read from a message time ([`Content::at_time`]).
    pub fn matches(&self, o: &Content) -> bool {
        if self.fused_feed != 0 && self.fused_feed == o.fused_feed {
            return false;
        }
        let close =
            |a: u16, b: u16| a == b || (a != u16::MAX && b != u16::MAX && a.abs_diff(b) <= 1);
        (self.lat_e7 - o.lat_e7).abs() <= Self::POSITION_TOLERANCE
            && (self.lon_e7.wrapping_sub(o.lon_e7)).abs() <= Self::POSITION_TOLERANCE
            && close(self.sog_dk, o.sog_dk)
            && close(self.cog_dd, o.cog_dd)
            && (self.second == o.second
                || self.second == u8::MAX
                || o.second == u8::MAX
                || ((self.second_approx || o.second_approx) && {
                    let d = self.second.abs_diff(o.second);
                    d <= 1 || d == 59
                }))
    }

    /// Whether the report's UTC second is known (read from it, or from a stored row's
    /// message time).
    fn has_second(&self) -> bool {
        self.second != u8::MAX
    }

    /// A 64-bit key of a vessel's position at a message time, its UTC second left out (a
    /// stored row does not keep it): equal for every copy of one transmission.
    fn key(&self, mmsi: u32, time_ms: i64) -> u64 {
        // splitmix64's finaliser over the fields, chained: well mixed, so that two different
        // positions of one minute share a key with a chance of about 2^-64 each.
        let mix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let a = ((mmsi as u64) << 32) | (self.sog_dk as u64) << 16 | self.cog_dd as u64;
        let b = ((self.lat_e7 as u32 as u64) << 32) | self.lon_e7 as u32 as u64;
        mix(mix(mix(a ^ 0x9e37_79b9_7f4a_7c15) ^ b) ^ time_ms as u64)
    }
}

/// One decoded report to fuse.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<P> {
    /// Transmitter.
    pub mmsi: u32,
    /// Hash of the de-armored payload bits.
    pub payload_hash: u64,
    /// Message time, ms since the Unix epoch (see [`refine_time`]).
    pub time_ms: i64,
    /// What a position report says (`None` for other reports, which fuse by payload only).
    pub content: Option<Content>,
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
    /// Another copy of an already released (or already stored) transmission: add this source
    /// to it.
    LateSource {
        /// Transmitter.
        mmsi: u32,
        /// Payload hash.
        payload_hash: u64,
        /// Message time of the released record.
        time_ms: i64,
        /// The late source.
        source: SourceRef,
        /// The position (latitude, longitude) of the record it is a copy of, to 1e-7 degree,
        /// when a position report: which of two records of one MMSI and time (a shared MMSI,
        /// or two transmissions a metre apart) it is a copy of.
        position: Option<(f64, f64)>,
    },
}

/// Fusion windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuserConfig {
    /// Copies of one payload at most this far apart in message time are one transmission
    /// (default 30 s).
    pub dedup_window_ms: i64,
    /// Copies with the same content (position, speed, course) but other payload bits at most
    /// this far apart are one transmission (default 5 s: under the 10 s that the slowest
    /// class A reports under way are apart, so two reports of a vessel that barely moves stay
    /// two; archives time a report by its reception, a second or two after the position's
    /// UTC second).
    pub content_window_ms: i64,
    /// Records are held until the newest message time is this far past them (default 60 s).
    pub reorder_window_ms: i64,
    /// Released transmissions are remembered this long to recognise late copies
    /// (default 30 min, for satellite feeds).
    pub late_window_ms: i64,
    /// Positions are remembered this much longer by their exact content only (a 64-bit key
    /// each), for copies delivered hours late (default 6 h).
    pub cold_window_ms: i64,
}

impl Default for FuserConfig {
    fn default() -> Self {
        FuserConfig {
            dedup_window_ms: 30_000,
            content_window_ms: 5_000,
            reorder_window_ms: 60_000,
            late_window_ms: 30 * 60_000,
            cold_window_ms: 6 * 3_600_000,
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
    /// Copies of already released (or stored) records.
    pub late_duplicates: u64,
    /// Observations older than the release point with no record to join: released at once
    /// (out of order) rather than dropped.
    pub released_out_of_order: u64,
    /// Positions older than the whole memory (late and cold windows) behind the newest message
    /// time: stored without knowing whether a copy was stored before.
    pub stale_unchecked: u64,
}

/// A remembered transmission of one vessel.
#[derive(Debug, Clone, Copy)]
struct Ident {
    time_ms: i64,
    /// Payload hash (`None` for a stored row's, which is not kept).
    hash: Option<u64>,
    content: Option<Content>,
    /// Its pending record's slot, if it may still be pending ([`NO_SLOT`] otherwise).
    slot: u32,
}

const NO_SLOT: u32 = u32::MAX;

/// The fuser. Generic over the carried report type.
#[derive(Debug)]
pub struct Fuser<P> {
    cfg: FuserConfig,
    /// Pending records; free slots are listed in `free`. A record keeps its slot from push to
    /// release, so a copy finds it through its identity without a search.
    slots: Vec<Option<Fused<P>>>,
    free: Vec<u32>,
    /// Pending records by the second of their message time, one list a second from
    /// `ring_base` on: (time, slot) in arrival order. Pushing appends to a second's list;
    /// releasing takes whole seconds in order and sorts each by time, so the cost per record
    /// depends neither on the window nor on how disordered the input is. The ring spans at
    /// most the reorder window (older seconds are released before a newer one is added).
    ring: VecDeque<Vec<(i64, u32)>>,
    ring_base: i64,
    /// Seconds before this one have been released.
    floor_sec: i64,
    pending: usize,
    /// Emptied second lists, reused.
    spare: Vec<Vec<(i64, u32)>>,
    /// Identities of recent records, per MMSI, in time order (nearly always appended). One
    /// small map of vessels and a few neighbouring entries of one vessel are what a report
    /// touches, so the lookup stays in cache however many reports the late window holds.
    recent: FxHashMap<u32, VecDeque<Ident>>,
    /// Identities older than this are forgotten (see [`Fuser::forget`]).
    horizon_ms: i64,
    /// Message time of the last sweep of idle vessels out of `recent`.
    swept_ms: i64,
    /// Positions forgotten from `recent`, by exact content.
    cold: Cold,
    newest_ms: i64,
    stats: FuserStats,
}

impl<P: Clone> Fuser<P> {
    /// A fuser with the given windows.
    pub fn new(cfg: FuserConfig) -> Self {
        Fuser {
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            ring: VecDeque::new(),
            ring_base: 0,
            floor_sec: i64::MIN,
            pending: 0,
            spare: Vec::new(),
            recent: FxHashMap::default(),
            horizon_ms: i64::MIN,
            swept_ms: i64::MIN,
            cold: Cold::default(),
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
        self.pending
    }

    /// Identities remembered (to merge copies and recognise late ones), over all vessels.
    pub fn remembered(&self) -> usize {
        self.recent.values().map(VecDeque::len).sum()
    }

    /// Positions remembered by their content only (older than the late window).
    pub fn remembered_cold(&self) -> usize {
        self.cold.len
    }

    /// Remembers a transmission released before this fuser started (a position already in
    /// the store, from an earlier run): a copy arriving now becomes an [`Output::LateSource`]
    /// instead of a second record. Forgotten, like every identity, once the newest message
    /// time is a late window past it.
    pub fn remember(&mut self, mmsi: u32, time_ms: i64, content: Content) {
        let ids = self.recent.entry(mmsi).or_default();
        insert_ident(
            ids,
            Ident {
                time_ms,
                hash: None,
                content: Some(content),
                slot: NO_SLOT,
            },
        );
    }

    /// Reads the newest remembered identity of each observation's vessel, so that pushing
    /// `obs` next finds them in cache: here the loads of independent vessels overlap, where in
    /// [`Fuser::push`] each waits for memory in turn (it was the fuser's costliest load).
    /// Changes nothing; returns a value only so that the reads are not optimised away.
    pub fn touch(&self, obs: &[Observation<P>]) -> i64 {
        let mut acc = 0i64;
        for o in obs {
            if let Some(b) = self.recent.get(&o.mmsi).and_then(VecDeque::back) {
                acc ^= b.time_ms;
            }
        }
        std::hint::black_box(acc)
    }

    /// Adds an observation; releases what the reorder window allows into `out`.
    pub fn push(&mut self, obs: Observation<P>, out: &mut Vec<Output<P>>) {
        self.stats.observations += 1;
        let w = self.cfg.dedup_window_ms.max(self.cfg.content_window_ms);
        let cw = self.cfg.content_window_ms;
        let horizon = self.horizon_ms;
        let ids = self.recent.entry(obs.mmsi).or_default();
        if obs.time_ms < horizon {
            // Behind the whole-identity memory: the same position at the same time, still
            // among the vessel's entries or in the cold memory, is this transmission.
            if let Some(c) = obs.content {
                let start = ids.partition_point(|e| e.time_ms < obs.time_ms);
                let kept = ids
                    .range(start..)
                    .take_while(|e| e.time_ms == obs.time_ms)
                    .find(|e| e.content.is_some_and(|k| k.matches(&c)));
                if let Some(e) = kept.copied() {
                    self.stats.late_duplicates += 1;
                    out.push(late_source(&obs, e.hash, e.time_ms, e.content));
                    return;
                }
                if self.cold.contains(obs.mmsi, &c, obs.time_ms) {
                    self.stats.late_duplicates += 1;
                    out.push(late_source(&obs, None, obs.time_ms, obs.content));
                    return;
                }
                // A late copy (a satellite's) whose receive time moved it to the minute
                // either side of the record's: that record, while among the vessel's entries
                // (the cold memory keeps no payload bits, and content alone a minute apart is
                // what a vessel lying still sends).
                if let Some(e) = other_minute(ids, &obs, i64::MIN) {
                    self.stats.late_duplicates += 1;
                    out.push(late_source(&obs, e.hash, e.time_ms, e.content));
                    return;
                }
                if obs.time_ms < self.cold.floor_ms {
                    self.stats.stale_unchecked += 1;
                }
            }
        }
        // The earliest record of the same transmission within the windows, if any (entries
        // before the horizon are forgotten, even while still in memory): the same payload
        // bits, or the same content close in time.
        let lo = obs.time_ms.saturating_sub(w).max(horizon);
        let hi = obs.time_ms.saturating_add(w);
        // Entries are read from the newest back to `lo` (a handful: the reports of one
        // vessel within the window), keeping the earliest that is the same transmission.
        // A late copy (a satellite's, minutes behind) skips the newer entries by a search.
        let end = if ids.back().is_none_or(|b| b.time_ms <= hi) {
            ids.len()
        } else {
            ids.partition_point(|e| e.time_ms <= hi)
        };
        let mut same = None;
        for e in ids.range(..end).rev() {
            if e.time_ms < lo {
                break;
            }
            // A stored row (remembered, without payload bits) stands in for its bits by its
            // content: matched over the payload window, as the bits would have been, when
            // both say their UTC second (which tells a moored vessel's transmissions apart).
            // Without one, its content is all a moored vessel sends every 10 s, so only
            // within the content window: a copy timed by a receiver's clock more than that
            // off is stored again, where the payload window would lose real reports.
            let with_seconds = |c: &Option<Content>| c.is_some_and(|c| c.has_second());
            let content_window =
                if e.hash.is_none() && with_seconds(&e.content) && with_seconds(&obs.content) {
                    w
                } else {
                    cw
                };
            if e.time_ms <= hi
                && (e.hash == Some(obs.payload_hash)
                    || (e.time_ms.abs_diff(obs.time_ms) <= content_window as u64
                        && matches!((&e.content, &obs.content), (Some(a), Some(b)) if a.matches(b))))
            {
                same = Some(*e);
            }
        }
        if same.is_none() {
            same = other_minute(ids, &obs, horizon);
        }
        if let Some(e) = same {
            // Still pending if its slot holds a record of that identity (a released record's
            // slot may have been taken by another).
            let pending = self
                .slots
                .get_mut(e.slot as usize)
                .and_then(Option::as_mut)
                .filter(|r| {
                    r.mmsi == obs.mmsi && r.time_ms == e.time_ms && Some(r.payload_hash) == e.hash
                });
            match pending {
                Some(r) => {
                    r.sources.push(obs.source);
                    self.stats.duplicates_merged += 1;
                }
                None => {
                    self.stats.late_duplicates += 1;
                    out.push(late_source(&obs, e.hash, e.time_ms, e.content));
                }
            }
            return;
        }
        if ids.len() == ids.capacity() {
            // Room for the new entry from forgotten ones before growing (the front is read
            // only here: a report otherwise touches the back, in cache).
            while ids.front().is_some_and(|e| e.time_ms < horizon) {
                if let Some(e) = ids.pop_front() {
                    self.cold.keep(obs.mmsi, &e);
                }
            }
        }
        let rec = Fused {
            mmsi: obs.mmsi,
            payload_hash: obs.payload_hash,
            time_ms: obs.time_ms,
            payload: obs.payload,
            sources: smallvec::smallvec![obs.source],
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(rec);
                s
            }
            None => {
                self.slots.push(Some(rec));
                (self.slots.len() - 1) as u32
            }
        };
        insert_ident(
            ids,
            Ident {
                time_ms: obs.time_ms,
                hash: Some(obs.payload_hash),
                content: obs.content,
                slot,
            },
        );
        if obs.time_ms > self.newest_ms {
            self.newest_ms = obs.time_ms;
        } else if obs.time_ms < self.newest_ms.saturating_sub(self.cfg.reorder_window_ms) {
            self.stats.released_out_of_order += 1;
        }
        self.release(
            self.newest_ms.saturating_sub(self.cfg.reorder_window_ms),
            out,
        );
        let second = obs.time_ms.div_euclid(1000);
        if second < self.floor_sec {
            // Its second was released already: out at once, out of order.
            if let Some(rec) = self.slots[slot as usize].take() {
                self.free.push(slot);
                self.stats.records += 1;
                out.push(Output::Record(rec));
            }
            return;
        }
        if self.ring.is_empty() {
            self.ring_base = second;
        }
        while second < self.ring_base {
            self.ring.push_front(self.spare.pop().unwrap_or_default());
            self.ring_base -= 1;
        }
        let i = (second - self.ring_base) as usize;
        while self.ring.len() <= i {
            self.ring.push_back(self.spare.pop().unwrap_or_default());
        }
        self.ring[i].push((obs.time_ms, slot));
        self.pending += 1;
    }

    /// Releases everything still pending (end of input).
    pub fn flush(&mut self, out: &mut Vec<Output<P>>) {
        self.release(i64::MAX, out);
    }

    /// Releases the records of every whole second at or before `upto_ms`, in time order
    /// (arrival order within one time).
    fn release(&mut self, upto_ms: i64, out: &mut Vec<Output<P>>) {
        let floor = if upto_ms == i64::MAX {
            i64::MAX
        } else {
            (upto_ms + 1).div_euclid(1000)
        };
        self.floor_sec = self.floor_sec.max(floor);
        while self.ring_base < self.floor_sec {
            let Some(mut list) = self.ring.pop_front() else {
                break;
            };
            self.ring_base += 1;
            if !list.is_empty() {
                list.sort_by_key(|e| e.0);
                for &(_, slot) in &list {
                    if let Some(rec) = self.slots[slot as usize].take() {
                        self.free.push(slot);
                        self.stats.records += 1;
                        out.push(Output::Record(rec));
                    }
                }
                self.pending -= list.len();
                list.clear();
            }
            self.spare.push(list);
        }
        self.forget();
    }

    /// Moves the horizon of remembered identities to the late window behind the newest
    /// message time (never past a pending record). Each vessel's entries before it are
    /// dropped when the vessel next reports; a sweep every late window drops those of vessels
    /// that stopped reporting, so memory follows the traffic of the last late window.
    fn forget(&mut self) {
        let oldest_pending = if self.ring.is_empty() {
            self.floor_sec
        } else {
            self.ring_base
        }
        .saturating_mul(1000);
        let horizon = self
            .newest_ms
            .saturating_sub(self.cfg.late_window_ms)
            .min(oldest_pending);
        self.horizon_ms = self.horizon_ms.max(horizon);
        let interval = self.cfg.late_window_ms.max(MIN_SWEEP_INTERVAL_MS);
        if self.horizon_ms.saturating_sub(self.swept_ms) < interval {
            return;
        }
        self.swept_ms = self.horizon_ms;
        let horizon = self.horizon_ms;
        let cold = &mut self.cold;
        cold.evict(horizon.saturating_sub(self.cfg.cold_window_ms));
        self.recent.retain(|&mmsi, ids| {
            while ids.front().is_some_and(|e| e.time_ms < horizon) {
                if let Some(e) = ids.pop_front() {
                    cold.keep(mmsi, &e);
                }
            }
            !ids.is_empty()
        });
    }
}

/// A report's message time is its receive time moved to the report's UTC second, in the
/// nearest minute ([`refine_time`]). When the receive time is far from that second (a
/// receiver whose clock is off, a copy relayed late), two receivers' copies of one
/// transmission can be moved to minutes either side of it, exactly one minute apart. Such a
/// copy is the record of either minute next to its own with the same payload bits, if there
/// is one: a satellite stamps its copies up to a minute after the transmission, so the
/// receive time need not lie between the two, and one transmitter's bits never repeat a
/// minute apart (a SOTDMA report's slot time-out changes every frame). A stored row has no
/// bits: its content stands for them in the minute towards an ambiguous receive time only
/// (content alone, a minute apart, is what a vessel lying still under way sends).
fn other_minute<P>(ids: &VecDeque<Ident>, obs: &Observation<P>, horizon: i64) -> Option<Ident> {
    let skew_ms = obs.source.received_ms - obs.time_ms;
    if skew_ms == 0 || skew_ms.abs() >= 120_000 {
        return None;
    }
    // The minute towards the receive time, when the receive time is ambiguous between the
    // two: there a stored row (an earlier run's: no payload bits) is taken by its content,
    // which holds the second both minutes share.
    let toward = (skew_ms.abs() > AMBIGUOUS_SKEW_MS && skew_ms.abs() < 60_000)
        .then(|| obs.time_ms + 60_000 * skew_ms.signum());
    [obs.time_ms - 60_000, obs.time_ms + 60_000]
        .into_iter()
        .filter(|&other| other >= horizon)
        .find_map(|other| {
            let start = ids.partition_point(|e| e.time_ms < other);
            let stored_alike = |e: &Ident| {
                toward == Some(other)
                    && e.hash.is_none()
                    && matches!((&e.content, &obs.content), (Some(a), Some(b)) if a.matches(b))
            };
            ids.range(start..)
                .take_while(|e| e.time_ms == other)
                .find(|e| e.hash == Some(obs.payload_hash) || stored_alike(e))
                .copied()
        })
}

/// A receive time this far from the report's second (either way) could belong to either of
/// two minutes: 15 s, half of the half minute at which [`refine_time`] switches.
const AMBIGUOUS_SKEW_MS: i64 = 15_000;

/// `obs` as a late source of the record of `time_ms` (with payload hash `hash`, when known).
/// A late copy of the record `of` (its content: the record's position to 1e-7 degree; from the
/// cold memory, the copy's, equal to that precision since the keys matched).
fn late_source<P>(
    obs: &Observation<P>,
    hash: Option<u64>,
    time_ms: i64,
    of: Option<Content>,
) -> Output<P> {
    Output::LateSource {
        mmsi: obs.mmsi,
        payload_hash: hash.unwrap_or(obs.payload_hash),
        time_ms,
        source: obs.source.clone(),
        position: of.map(|c| c.lat_lon()),
    }
}

/// Positions older than the late window, as 64-bit keys of their exact content
/// ([`Content::key`]) in one set per minute of message time, so that whole minutes are dropped
/// when they leave the cold window. The minutes are in time order in a deque: identities are
/// forgotten in about time order, so a kept one nearly always goes to the newest minute, found
/// without a search; a new minute's set starts as large as the one before it (growing each
/// set from empty rehashed every key about once more).
///
/// A row of a fused feed (a partner link's, [`Content::of_fused_feed`]) is kept under its key
/// salted with the feed, so that a later row finds it when it is of another feed and not when
/// it is of the same link (two rows of one link alike in content are two transmissions).
#[derive(Debug, Default)]
struct Cold {
    minutes: VecDeque<(i64, FxHashSet<u64>)>,
    /// Positions before this time are not kept (they left the cold window).
    floor_ms: i64,
    len: usize,
    /// The fused feeds whose rows were kept (a few partner links, if any).
    fused_feeds: Vec<u16>,
}

/// The key of a fused feed's row in the cold memory: [`Content::key`] salted with the feed
/// (a different 64-bit constant per feed, so keys stay distinct with a chance of 2^-64).
fn salted(key: u64, fused_feed: u16) -> u64 {
    key ^ (u64::from(fused_feed) | 1 << 32).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Cold {
    /// Keeps a forgotten identity's position (other reports are not kept).
    fn keep(&mut self, mmsi: u32, e: &Ident) {
        let Some(c) = e.content else { return };
        if e.time_ms < self.floor_ms {
            return;
        }
        let minute = e.time_ms.div_euclid(60_000);
        let i = match self.minutes.back() {
            Some((m, _)) if *m == minute => self.minutes.len() - 1,
            Some((m, s)) if *m < minute => {
                let set = FxHashSet::with_capacity_and_hasher(s.len(), Default::default());
                self.minutes.push_back((minute, set));
                self.minutes.len() - 1
            }
            _ => match self.minutes.binary_search_by_key(&minute, |(m, _)| *m) {
                Ok(i) => i,
                Err(i) => {
                    self.minutes.insert(i, (minute, FxHashSet::default()));
                    i
                }
            },
        };
        let mut key = c.key(mmsi, e.time_ms);
        if c.fused_feed != 0 {
            key = salted(key, c.fused_feed);
            if !self.fused_feeds.contains(&c.fused_feed) {
                self.fused_feeds.push(c.fused_feed);
            }
        }
        if self.minutes[i].1.insert(key) {
            self.len += 1;
        }
    }

    /// Whether a kept position is the same transmission as `c` (of `mmsi` at `time_ms`): the
    /// same key, and not a row of `c`'s own fused feed.
    fn contains(&self, mmsi: u32, c: &Content, time_ms: i64) -> bool {
        let minute = time_ms.div_euclid(60_000);
        let Ok(i) = self.minutes.binary_search_by_key(&minute, |(m, _)| *m) else {
            return false;
        };
        let set = &self.minutes[i].1;
        let key = c.key(mmsi, time_ms);
        set.contains(&key)
            || self
                .fused_feeds
                .iter()
                .any(|&f| f != c.fused_feed && set.contains(&salted(key, f)))
    }

    /// Drops the minutes before `floor_ms`.
    fn evict(&mut self, floor_ms: i64) {
        if floor_ms <= self.floor_ms {
            return;
        }
        self.floor_ms = floor_ms;
        let floor = floor_ms.div_euclid(60_000);
        while self.minutes.front().is_some_and(|(m, _)| *m < floor) {
            if let Some((_, s)) = self.minutes.pop_front() {
                self.len -= s.len();
            }
        }
    }
}

/// Inserts an identity at its place in time order (at the back, nearly always).
fn insert_ident(ids: &mut VecDeque<Ident>, id: Ident) {
    if ids.back().is_none_or(|b| b.time_ms <= id.time_ms) {
        ids.push_back(id);
    } else {
        let i = ids.partition_point(|e| e.time_ms <= id.time_ms);
        ids.insert(i, id);
    }
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

    /// The records among a fuser's outputs.
    fn fused<'a>(out: &'a [Output<&'static str>]) -> Vec<&'a Fused<&'static str>> {
        out.iter()
            .filter_map(|o| match o {
                Output::Record(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn obs(mmsi: u32, hash: u64, t: i64, source: u32) -> Observation<&'static str> {
        Observation {
            mmsi,
            payload_hash: hash,
            time_ms: t,
            content: None,
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
            let recs = fused(&out);
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

    fn with_content(
        mut o: Observation<&'static str>,
        lat: f64,
        sog: f32,
    ) -> Observation<&'static str> {
        o.content = Some(Content::new(lat, 100.0, Some(sog), Some(45.0)));
        o
    }

    /// Issue 16: a partner's decoded row (other payload bits, its position rounded to five
    /// decimals, timed a second later) of a transmission heard raw is the same transmission.
    #[test]
    fn the_same_report_with_other_payload_bits_merges_by_content() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        f.push(
            with_content(obs(1, 7, 10_000, 1), 12.345_678_3, 10.2),
            &mut out,
        );
        f.push(
            with_content(obs(1, 99, 11_000, 2), 12.345_68, 10.2),
            &mut out,
        );
        f.flush(&mut out);
        assert_eq!(records(&out), vec![(1, 10_000, 2)]);
    }

    /// A vessel that barely moves reports the same content 10 s apart: two transmissions.
    #[test]
    fn the_same_content_ten_seconds_apart_is_two_transmissions() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        f.push(with_content(obs(1, 7, 10_000, 1), 12.3, 0.1), &mut out);
        f.push(with_content(obs(1, 8, 20_000, 1), 12.3, 0.1), &mut out);
        // Another speed is another report, even at the same time.
        f.push(with_content(obs(1, 9, 20_000, 2), 12.3, 0.3), &mut out);
        f.flush(&mut out);
        assert_eq!(records(&out).len(), 3);
    }

    /// Issue 16: a transmission stored by an earlier run, delivered again, adds its source to
    /// the stored row instead of becoming a second one.
    #[test]
    fn a_copy_of_a_remembered_stored_row_is_a_late_source() {
        let mut f = Fuser::new(FuserConfig::default());
        f.remember(1, 10_000, Content::new(12.3, 100.0, Some(5.0), Some(45.0)));
        let mut out = Vec::new();
        f.push(with_content(obs(1, 7, 10_000, 3), 12.3, 5.0), &mut out);
        f.push(with_content(obs(1, 8, 20_000, 3), 12.4, 5.0), &mut out);
        f.flush(&mut out);
        assert_eq!(records(&out), vec![(1, 20_000, 1)]);
        assert!(matches!(
            out[0],
            Output::LateSource {
                mmsi: 1,
                time_ms: 10_000,
                ..
            }
        ));
    }

    /// A stored row stands in for its payload bits by its content. A copy whose report has no
    /// UTC second, timed by another receiver's clock 3 s later, is a late copy of it; a
    /// report 9 s later with its own second is another transmission; and so is one without
    /// a second 20 s later (a vessel lying still under way reports every 10 s, alike in all
    /// else: matching those over the payload window lost real reports across runs).
    #[test]
    fn a_stored_row_matches_a_secondless_copy_within_the_content_window() {
        let stored = 1_700_000_415_000;
        let mut f = Fuser::new(FuserConfig::default());
        f.remember(
            1,
            stored,
            Content::at_time(12.3, 100.0, Some(0.0), Some(0.0), stored),
        );
        let mut out = Vec::new();
        let secondless = |hash: u64, t: i64| {
            let mut o = obs(1, hash, t, 3);
            o.content = Some(Content::with_second(
                12.3,
                100.0,
                Some(0.0),
                Some(0.0),
                None,
            ));
            o
        };
        f.push(secondless(8, stored + 3_000), &mut out);
        let mut next = obs(1, 9, stored + 9_000, 3);
        next.content = Some(Content::with_second(
            12.3,
            100.0,
            Some(0.0),
            Some(0.0),
            Some(24),
        ));
        f.push(next, &mut out);
        f.push(secondless(10, stored + 20_000), &mut out);
        f.flush(&mut out);
        assert_eq!(
            records(&out),
            vec![(1, stored + 9_000, 1), (1, stored + 20_000, 1)]
        );
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::LateSource { time_ms, .. } if *time_ms == stored)));
    }

    /// Two rows of one partner link alike in content are two transmissions (its upstream told
    /// them apart); a row of it and a local receiver's copy are one.
    #[test]
    fn rows_of_one_link_alike_in_content_stay_two() {
        let c = Content::with_second(12.3, 100.0, Some(9.3), Some(356.0), Some(33));
        let link = c.of_fused_feed(4);
        assert!(!link.matches(&link));
        assert!(link.matches(&c) && c.matches(&link));
        assert!(link.matches(&c.of_fused_feed(5)));
    }

    /// Two receivers' copies of one transmission (second 53) received 10 s apart at 22:13:21
    /// and 22:13:31 are moved to 22:12:53 and 22:13:53: one record with both sources, in
    /// either order of arrival.
    #[test]
    fn copies_moved_to_minutes_either_side_of_their_second_are_one_record() {
        let base = 1_700_000_001_000; // 2023-11-14T22:13:21Z
        let report = Content::with_second(13.0, 100.0, Some(13.9), Some(90.0), Some(53));
        for order in [[0, 1], [1, 0]] {
            let mut f = Fuser::new(FuserConfig::default());
            let mut out = Vec::new();
            for k in order {
                let rx = base + k * 10_000;
                let mut o = obs(7, 42, refine_time(rx, Some(53)), k as u32 + 1);
                o.source.received_ms = rx;
                o.content = Some(report);
                f.push(o, &mut out);
            }
            f.flush(&mut out);
            let recs = fused(&out);
            assert_eq!(recs.len(), 1, "{order:?}");
            assert_eq!(recs[0].sources.len(), 2, "{order:?}");
        }
        // A receive time near the second: the same bits a minute before are still this
        // transmission (a satellite stamps its copies up to a minute late; one transmitter's
        // bits never repeat a minute apart), but the same content in other bits is a report
        // of its own (a vessel lying still sends the same content every 10 s).
        let unambiguous = refine_time(base + 30_000, Some(53));
        assert_eq!(unambiguous, base + 32_000);
        for (bits, want) in [(42, 1), (43, 2)] {
            let mut f = Fuser::new(FuserConfig::default());
            let mut out = Vec::new();
            let mut a = obs(7, 42, unambiguous - 60_000, 1);
            a.source.received_ms = unambiguous - 60_000;
            a.content = Some(report);
            f.push(a, &mut out);
            let mut b = obs(7, bits, unambiguous, 2);
            b.source.received_ms = base + 30_000;
            b.content = Some(report);
            f.push(b, &mut out);
            f.flush(&mut out);
            assert_eq!(records(&out).len(), want, "bits {bits}");
        }
    }

    /// A satellite's copy, 20 minutes late, that its receive time moved to the minute after
    /// the record's (received 12, 22 or 42 s after a terrestrial copy: its receive time before
    /// or after its second): a late source of that record, not a second record a minute
    /// later. (The 1 M-line real-mix replay stored 10,600 such.)
    #[test]
    fn a_late_copy_moved_to_the_next_minute_is_a_late_source() {
        let base = 1_700_000_001_000; // 2023-11-14T22:13:21Z
        let report = Content::with_second(13.0, 100.0, Some(13.9), Some(90.0), Some(53));
        for (late_min, rx_after) in [(20, 12_000), (20, 22_000), (20, 42_000)] {
            let mut f = Fuser::new(FuserConfig::default());
            let mut out = Vec::new();
            let rx = base; // 22:13:21: refined to 22:12:53
            let mut first = obs(7, 42, refine_time(rx, Some(53)), 1);
            first.source.received_ms = rx;
            first.content = Some(report);
            let t = first.time_ms;
            f.push(first, &mut out);
            for k in 1..=late_min {
                f.push(obs(5, 100 + k, t + k as i64 * 60_000, 1), &mut out);
            }
            let rx = base + rx_after; // 22:13:33, 22:13:43 or 22:14:03: refined to 22:13:53
            let mut copy = obs(7, 42, refine_time(rx, Some(53)), 2);
            assert_eq!(copy.time_ms, t + 60_000);
            copy.source.received_ms = rx;
            copy.content = Some(report);
            f.push(copy, &mut out);
            f.flush(&mut out);
            assert_eq!(
                records(&out).iter().filter(|r| r.0 == 7).count(),
                1,
                "{late_min} min late, received {rx_after} ms after"
            );
            assert!(
                out.iter()
                    .any(|o| matches!(o, Output::LateSource { time_ms, .. } if *time_ms == t)),
                "{late_min} min late, received {rx_after} ms after"
            );
        }
    }

    /// The same holds across runs: a copy moved to the minute after its stored row (which an
    /// earlier run wrote, without payload bits) joins it by content, the second both minutes
    /// share; another report of that vessel in that minute stays a record.
    #[test]
    fn a_copy_moved_a_minute_past_its_stored_row_is_a_late_source() {
        let base = 1_700_000_001_000; // 2023-11-14T22:13:21Z
        let stored = refine_time(base, Some(53)); // 22:12:53, as the first run placed it
        let report = Content::with_second(13.0, 100.0, Some(13.9), Some(90.0), Some(53));
        let mut f = Fuser::new(FuserConfig::default());
        f.remember(
            7,
            stored,
            Content::at_time(13.0, 100.0, Some(13.9), Some(90.0), stored),
        );
        let mut out = Vec::new();
        let rx = base + 10_000; // 22:13:31: refined to 22:13:53
        let mut copy = obs(7, 42, refine_time(rx, Some(53)), 2);
        assert_eq!(copy.time_ms, stored + 60_000);
        copy.source.received_ms = rx;
        copy.content = Some(report);
        f.push(copy, &mut out);
        let mut other = obs(7, 43, stored + 60_000, 3);
        other.source.received_ms = rx;
        other.content = Some(Content::with_second(
            13.0,
            100.01,
            Some(13.9),
            Some(90.0),
            Some(53),
        ));
        f.push(other, &mut out);
        f.flush(&mut out);
        assert_eq!(records(&out), vec![(7, stored + 60_000, 1)]);
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::LateSource { time_ms, .. } if *time_ms == stored)));
    }

    /// The same rule holds for a row of a link already in the cold memory (hours behind): a
    /// second row of that link alike in content is stored, while another link's row and a
    /// local receiver's copy join it.
    #[test]
    fn a_link_row_in_the_cold_memory_is_not_joined_by_another_row_of_that_link() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        let at = |o: Observation<&'static str>, feed: Option<u32>| {
            let c = Content::new(20.0, 100.0, Some(0.0), Some(45.0));
            let mut o = o;
            o.content = Some(feed.map_or(c, |feed| c.of_fused_feed(feed)));
            o
        };
        let t = 3_600_000;
        f.push(at(obs(2, 1, t, 4), Some(4)), &mut out);
        // Eight hours of another vessel move the link's row past the late window.
        for k in 0..(8 * 360) {
            f.push(
                with_content(obs(1, k as u64, k * 10_000, 1), 10.0 + k as f64 * 1e-3, 5.0),
                &mut out,
            );
        }
        assert!(f.remembered_cold() > 0);
        let before = f.stats();
        f.push(at(obs(2, 2, t, 4), Some(4)), &mut out);
        f.push(at(obs(2, 3, t, 5), Some(5)), &mut out);
        f.push(at(obs(2, 4, t, 7), None), &mut out);
        f.flush(&mut out);
        assert_eq!(f.stats().late_duplicates - before.late_duplicates, 2);
        let of_two: Vec<u32> = out
            .iter()
            .filter_map(|o| match o {
                Output::Record(r) if r.mmsi == 2 => Some(r.sources[0].source_id),
                _ => None,
            })
            .collect();
        assert_eq!(of_two, [4, 4]);
    }

    /// A moored vessel's reports a few seconds apart say the same but for their second: a
    /// stored row (or a partner's row over a link), whose second is read from its message
    /// time, is not merged with the next report, while a copy of it (its second, or one off
    /// when the stored time was a receive time) still is.
    #[test]
    fn a_stored_row_keeps_its_second_apart_from_the_next_report_of_a_moored_vessel() {
        let at = |t: i64| Content::at_time(12.3, 100.0, Some(0.0), Some(45.0), t);
        let nmea = |s: u8| Content::with_second(12.3, 100.0, Some(0.0), Some(45.0), Some(s));
        // 12:00:15 and 12:00:18.
        let (t15, t18) = (1_700_000_415_000, 1_700_000_418_000);
        assert!(!at(t15).matches(&at(t18)));
        assert!(at(t15).matches(&at(t15)));
        assert!(at(t15).matches(&nmea(15)) && at(t15).matches(&nmea(16)));
        assert!(!at(t15).matches(&nmea(18)));
        // Across the minute: second 59 and second 0 are one apart.
        assert!(at(1_700_000_459_000).matches(&nmea(0)));
        // A time with milliseconds is a receive time with no report second: any second.
        assert!(at(t15 + 250).matches(&nmea(40)));

        let mut f = Fuser::new(FuserConfig::default());
        f.remember(1, t15, at(t15));
        let mut out = Vec::new();
        let mut moored = obs(1, 9, t18, 2);
        moored.content = Some(at(t18));
        f.push(moored, &mut out);
        let mut copy = obs(1, 8, t15, 3);
        copy.content = Some(at(t15));
        f.push(copy, &mut out);
        f.flush(&mut out);
        assert_eq!(records(&out), vec![(1, t18, 1)]);
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::LateSource { time_ms, .. } if *time_ms == t15)));
    }

    /// Issue 16: a satellite copy delivered hours after its transmission (past the late
    /// window, inside the cold window) joins the stored record; one older than both is
    /// stored, and counted as unchecked.
    #[test]
    fn a_copy_hours_late_joins_its_record_and_older_ones_are_counted() {
        let mut f = Fuser::new(FuserConfig::default());
        let mut out = Vec::new();
        // One vessel reporting every 10 s for 8 hours, a second one reporting now and then.
        for k in 0..(8 * 360) {
            let t = k * 10_000;
            f.push(
                with_content(obs(1, k as u64, t, 1), 10.0 + k as f64 * 1e-3, 5.0),
                &mut out,
            );
            if k % 200 == 0 {
                f.push(with_content(obs(2, k as u64, t, 1), 20.0, 0.0), &mut out);
            }
        }
        let before = f.stats();
        // Copies of the reports of 3 h ago (both vessels) and of 7 h 50 m ago.
        let k3 = 5 * 360;
        f.push(
            with_content(
                obs(1, 999_999, k3 * 10_000, 7),
                10.0 + k3 as f64 * 1e-3,
                5.0,
            ),
            &mut out,
        );
        f.push(with_content(obs(2, 5, k3 * 10_000, 7), 20.0, 0.0), &mut out);
        // Same time and place, another speed: another report, stored.
        f.push(
            with_content(obs(1, 5, k3 * 10_000, 7), 10.0 + k3 as f64 * 1e-3, 9.0),
            &mut out,
        );
        f.push(with_content(obs(1, 6, 10_000, 7), 10.001, 5.0), &mut out);
        f.flush(&mut out);
        let st = f.stats();
        assert!(f.remembered_cold() > 0);
        assert_eq!(st.late_duplicates - before.late_duplicates, 2);
        let from_seven = out
            .iter()
            .filter(|o| matches!(o, Output::Record(r) if r.sources[0].source_id == 7))
            .count();
        assert_eq!(from_seven, 2);
        assert_eq!(st.stale_unchecked, 1);
        let late: Vec<(u32, i64, u32)> = out
            .iter()
            .filter_map(|o| match o {
                Output::LateSource {
                    mmsi,
                    time_ms,
                    source,
                    ..
                } => Some((*mmsi, *time_ms, source.source_id)),
                _ => None,
            })
            .collect();
        assert_eq!(late, vec![(1, k3 * 10_000, 7), (2, k3 * 10_000, 7)]);
    }

    /// Records far out of order with a wide window leave in time order; the pending structure
    /// reuses the slots of released records.
    #[test]
    fn a_wide_window_sorts_disordered_input() {
        let cfg = FuserConfig {
            reorder_window_ms: 30 * 60_000,
            ..FuserConfig::default()
        };
        let mut f = Fuser::new(cfg);
        let mut out = Vec::new();
        let mut t = Vec::new();
        for k in 0..20_000i64 {
            // Arrival order scrambled over up to 25 minutes.
            t.push(k * 100 + (k * 7_919 % 15_000) * 100);
        }
        for (k, &x) in t.iter().enumerate() {
            f.push(obs(k as u32 % 500, k as u64, x, 1), &mut out);
        }
        f.flush(&mut out);
        let times: Vec<i64> = records(&out).iter().map(|r| r.1).collect();
        assert_eq!(times.len(), t.len());
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(f.slots.len() < t.len(), "{} slots", f.slots.len());
        assert_eq!(f.pending(), 0);
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
