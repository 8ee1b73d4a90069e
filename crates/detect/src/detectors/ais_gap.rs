//! AIS gap: no position from a vessel for a long time.
//!
//! A gap opens (an open event) once a vessel has been silent for `min_gap_s` of input time,
//! starting at its last position, and closes at the next position. The "likely intentional
//! disabling" conditions of GFW (Welch et al. 2022) are evaluated and reported: the gap lasts
//! `disabling_min_gap_s`, starts at least `min_shore_distance_nm` from shore, and reception
//! before it was good (more than `min_positions_per_day` in the day before and at least
//! `min_positions_12h` in the 12 h before). Without land data the shore condition is unknown
//! and the event says so (`distance_to_shore_m: null`, `likely_disabling: null`).
//!
//! A silence is a gap only where the vessel was expected to be heard (GFW's reception
//! condition, issue 18): the vessel was well received before it (more than
//! `min_positions_per_day` in the day and at least `min_positions_12h` in the 12 h before,
//! counted at most one per `count_interval_s`; a vessel heard only at satellite passes has no
//! expected reception, so its silence says nothing), the silence lasts `min_interval_ratio`
//! times the longest interval between the vessel's positions in the 24 h before (reported as
//! `threshold_s`), and others were heard meanwhile where it went silent and where it would be
//! halfway through (dead reckoning): a reception map (per cell of `reception_cell_deg` and
//! hour, the `count_interval_s` slots in which anyone was heard) must show someone heard in at
//! least `min_heard_share` of the gap's whole hours in the 3 x 3 cells around each point, and
//! on average as many slots per hour as the vessel's own good reception needs
//! (`min_positions_12h` / 12): a satellite pass every few hours is not coverage. Otherwise it
//! is a hole in coverage (counted as `ais_gap.coverage`, not reported).
//!
//! Late data (issue 18): a position that arrives after the gap it falls in was closed (a
//! satellite backlog, a partner's re-delivery) shows the vessel was heard during it. Gaps
//! closed in the last [`LATE_KEEP_MS`] of input time are kept; such a position splits its gap
//! in two at its time, and each part is a gap only if it lasts the gap's threshold (the part
//! after the late position: also `min_interval_ratio` times the part before it, which is now
//! the vessel's longest interval, and within 12 h of the gap's start, as the reception
//! condition needs): the part from the old start keeps the event's id (revised, shorter), a
//! part from the late position on is a new event, and a gap with neither part long enough is
//! withdrawn. The same positions in time order give the same gaps.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::config::check;
use crate::engine::Ctx;
use crate::event::{Event, EventId, EventType, PosRef};
use crate::geom::{self, NM_M};
use crate::input::Fix;

/// How long (input time) after a gap closed a late position can still split or withdraw it:
/// two days, beyond any satellite provider's delivery delay and a partner's usual re-delivery.
pub const LATE_KEEP_MS: i64 = 2 * 86_400_000;

/// A gap reported closed, kept for late data.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClosedGap {
    event: Event,
    /// Where the vessel was heard again.
    end_lat: f64,
    end_lon: f64,
}

/// AIS gap parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AisGapConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Silence that makes a gap for a well-received vessel. Default 21600 s (6 h: the threshold
    /// of GFW's and Skylight's published gap products). A vessel that is not well received
    /// (`min_positions_12h`, `min_positions_per_day`) has no gaps.
    pub min_gap_s: u32,
    /// Gap length for "likely disabling". Default 43200 s (12 h, GFW / Welch et al. 2022).
    pub disabling_min_gap_s: u32,
    /// Distance from shore at the gap's start for "likely disabling". Default 50 nm (GFW).
    pub min_shore_distance_nm: f64,
    /// Positions in the 24 h before the gap must exceed this. Default 10 (GFW).
    pub min_positions_per_day: u32,
    /// Positions in the 12 h before the gap, at least. Default 14 (GFW).
    pub min_positions_12h: u32,
    /// A silence must also last this many times the vessel's longest interval between
    /// positions in the 24 h before, so a vessel heard only at satellite passes (every few
    /// hours) is not "dark" between passes. Default 2.
    pub min_interval_ratio: f64,
    /// A silence counts only where other vessels were heard: at least this share of the whole
    /// hours of the gap had positions from some vessel within `reception_cell_deg` of where it
    /// began (and of where it would be halfway), and on average `min_positions_12h` / 12
    /// slots of `count_interval_s` per hour did. Otherwise it is a gap in coverage, not a
    /// vessel going dark (counted as `ais_gap.coverage`). Default 0.5; 0 disables both.
    pub min_heard_share: f64,
    /// Positions are counted toward reception at most one per this interval, so one
    /// satellite pass hearing a ship fifty times counts as one look. Default 600 s (the
    /// 10-minute resampling of GFW's pipelines).
    pub count_interval_s: u32,
    /// Cell size of the reception map, degrees. Default 0.25 (about 28 km: finer than a
    /// coastal receiver's range).
    pub reception_cell_deg: f64,
}

impl Default for AisGapConfig {
    fn default() -> Self {
        AisGapConfig {
            enabled: true,
            min_gap_s: 21_600,
            disabling_min_gap_s: 43_200,
            min_shore_distance_nm: 50.0,
            min_positions_per_day: 10,
            min_positions_12h: 14,
            min_interval_ratio: 2.0,
            min_heard_share: 0.5,
            count_interval_s: 600,
            reception_cell_deg: 0.25,
        }
    }
}

impl AisGapConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check("ais_gap.min_gap_s", self.min_gap_s as f64, 60.0, 1e8)?;
        check(
            "ais_gap.disabling_min_gap_s",
            self.disabling_min_gap_s as f64,
            60.0,
            1e8,
        )?;
        check(
            "ais_gap.min_shore_distance_nm",
            self.min_shore_distance_nm,
            0.0,
            1e4,
        )?;
        check(
            "ais_gap.min_interval_ratio",
            self.min_interval_ratio,
            0.0,
            1e3,
        )?;
        // A share of the gap's hours.
        check("ais_gap.min_heard_share", self.min_heard_share, 0.0, 1.0)?;
        check(
            "ais_gap.reception_cell_deg",
            self.reception_cell_deg,
            0.01,
            10.0,
        )?;
        // One bit per slot of an hour in the reception map: at most 60 slots.
        check(
            "ais_gap.count_interval_s",
            self.count_interval_s as f64,
            60.0,
            3600.0,
        )
    }
}

/// Per-vessel state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Vessel {
    last_ms: i64,
    lat: f64,
    lon: f64,
    /// Positions per hour over the last 24 h, slot `hour % 24`.
    hours: [u16; 24],
    /// The latest hour counted.
    hour: i64,
    /// Longest interval between positions per hour over the last 24 h (seconds), slot
    /// `hour % 24`.
    longest_s: [u32; 24],
    /// The silence that makes a gap now, ms (set at each fix).
    threshold_ms: i64,
    /// When the silence is next checked, ms.
    deadline_ms: i64,
    /// The vessel's entry in `AisGap::deadlines` (at or before `deadline_ms`), if any.
    /// `None` in a state saved before entries could lag: [`AisGap::resumed`] restores it.
    #[serde(default)]
    scheduled_ms: Option<i64>,
    /// Last fix counted toward reception (one per `count_interval_s`).
    counted_ms: i64,
    /// Speed and course at the last fix.
    sog_knots: f32,
    cog_deg: f32,
    open: Option<EventId>,
    /// The reception map's cell and count slot this vessel's last fix was counted in.
    #[serde(skip)]
    rx_mark: Option<((i32, i32), i64, i64)>,
}

impl Vessel {
    fn count(&mut self, t_ms: i64, interval_ms: i64, count_every_ms: i64) {
        let h = t_ms.div_euclid(3_600_000);
        if h > self.hour {
            let clear = (h - self.hour).min(24);
            for k in 1..=clear {
                let slot = ((self.hour + k).rem_euclid(24)) as usize;
                self.hours[slot] = 0;
                self.longest_s[slot] = 0;
            }
            self.hour = h;
        }
        if h > self.hour - 24 {
            let slot = h.rem_euclid(24) as usize;
            if t_ms - self.counted_ms >= count_every_ms {
                self.counted_ms = t_ms;
                self.hours[slot] = self.hours[slot].saturating_add(1);
            }
            let iv = (interval_ms / 1000).clamp(0, u32::MAX as i64) as u32;
            self.longest_s[slot] = self.longest_s[slot].max(iv);
        }
    }

    /// Longest interval between positions in the last 24 h, ms.
    fn longest_ms(&self) -> i64 {
        self.longest_s.iter().copied().max().unwrap_or(0) as i64 * 1000
    }

    /// GFW's good reception: more than `min_positions_per_day` in the day and at least
    /// `min_positions_12h` in the 12 h up to the last position.
    fn well_received(&self, cfg: &AisGapConfig) -> bool {
        self.recent(12) >= cfg.min_positions_12h && self.recent(24) > cfg.min_positions_per_day
    }

    /// Positions in the `n` hours up to the last one.
    fn recent(&self, n: i64) -> u32 {
        (0..n.min(24))
            .map(|k| self.hours[(self.hour - k).rem_euclid(24) as usize] as u32)
            .sum()
    }
}

/// What was heard in one cell over the last 48 h: per hour, the slots of `count_interval_s`
/// in which anyone was heard (one bit each).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CellRx {
    hour: i64,
    /// In the entry itself (one memory access per fix, not two: the reception map is
    /// written at every fix), saved as a list.
    #[serde(with = "hour_slots")]
    slots: [u64; RX_HOURS as usize],
}

/// Serde for [`CellRx::slots`]: a list of `RX_HOURS` numbers (a list of another length, from
/// an older state, reads as nothing heard).
mod hour_slots {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::RX_HOURS;

    pub fn serialize<S: Serializer>(v: &[u64; RX_HOURS as usize], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u64; RX_HOURS as usize], D::Error> {
        let v: Vec<u64> = Deserialize::deserialize(d)?;
        Ok(v.try_into().unwrap_or([0; RX_HOURS as usize]))
    }
}

const RX_HOURS: i64 = 48;

/// The threshold and deadline of a vessel that cannot have a gap now.
const NEVER: i64 = i64::MAX;

impl CellRx {
    fn add(&mut self, t_ms: i64, slot_ms: i64) {
        let h = t_ms.div_euclid(3_600_000);
        if h > self.hour {
            for k in 1..=(h - self.hour).min(RX_HOURS) {
                self.slots[(self.hour + k).rem_euclid(RX_HOURS) as usize] = 0;
            }
            self.hour = h;
        }
        if h > self.hour - RX_HOURS {
            self.slots[h.rem_euclid(RX_HOURS) as usize] |= 1 << CellRx::slot(t_ms, slot_ms);
        }
    }

    /// The slot of its hour a time falls in.
    fn slot(t_ms: i64, slot_ms: i64) -> i64 {
        (t_ms.rem_euclid(3_600_000) / slot_ms.max(1)).min(63)
    }

    /// The slots of hour `h` in which anyone was heard (none outside the last 48 h).
    fn heard_at(&self, h: i64) -> u64 {
        if h <= self.hour && h > self.hour - RX_HOURS {
            self.slots[h.rem_euclid(RX_HOURS) as usize]
        } else {
            0
        }
    }
}

/// The AIS gap detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AisGap {
    #[serde(skip)]
    pub(crate) cfg: AisGapConfig,
    vessels: FxHashMap<u32, Vessel>,
    /// Reception map: cell -> positions per hour.
    #[serde(with = "super::pairs")]
    rx: FxHashMap<(i32, i32), CellRx>,
    /// (time the vessel's silence becomes a gap, MMSI).
    deadlines: BTreeSet<(i64, u32)>,
    /// Gaps closed within [`LATE_KEEP_MS`], per vessel.
    #[serde(default)]
    closed: FxHashMap<u32, Vec<ClosedGap>>,
    /// Input time of the last pruning of `closed`.
    #[serde(default)]
    pruned_ms: i64,
}

impl AisGap {
    /// A detector with this configuration.
    pub fn new(cfg: AisGapConfig) -> AisGap {
        AisGap {
            cfg,
            vessels: FxHashMap::default(),
            rx: FxHashMap::default(),
            deadlines: BTreeSet::new(),
            closed: FxHashMap::default(),
            pruned_ms: i64::MIN,
        }
    }

    /// After loading a saved state: each vessel's entry in `deadlines` (states saved before
    /// entries could lag kept it at `deadline_ms` without saying so).
    pub(crate) fn resumed(&mut self) {
        for &(t, m) in &self.deadlines {
            if let Some(v) = self.vessels.get_mut(&m) {
                v.scheduled_ms = Some(t);
            }
        }
    }

    /// A late position of `mmsi` inside one of its closed gaps: the gap is split at it (see
    /// the module docs).
    fn split(&mut self, ctx: &mut Ctx<'_>, fix: &Fix) {
        let Some(gaps) = self.closed.get_mut(&fix.mmsi) else {
            return;
        };
        let Some(i) = gaps.iter().position(|g| {
            g.event.start_ms < fix.time_ms && g.event.end_ms.is_some_and(|e| fix.time_ms < e)
        }) else {
            return;
        };
        let g = gaps.swap_remove(i);
        let e = &g.event;
        let end_ms = e.end_ms.unwrap_or(fix.time_ms);
        let threshold_ms = e
            .details
            .get("threshold_s")
            .and_then(serde_json::Value::as_i64)
            .map_or(self.cfg.min_gap_s as i64 * 1000, |s| s * 1000);
        let disabling_ms = self.cfg.disabling_min_gap_s as i64 * 1000;
        let here = PosRef {
            mmsi: fix.mmsi,
            time_ms: fix.time_ms,
        };
        // Fields of a part from (lat, lon) at `from` to `to`.
        let part = |mut p: Event, from_ms: i64, to_ms: i64, d: f64| {
            let gap_ms = to_ms - from_ms;
            p.start_ms = from_ms;
            p.end_ms = Some(to_ms);
            p.last_ms = p.last_ms.max(fix.time_ms);
            set_gap_fields(&mut p, gap_ms, d, disabling_ms);
            p.set("split_by_late_data", true);
            p
        };
        let first_ms = fix.time_ms - e.start_ms;
        let first_ok = first_ms >= threshold_ms;
        // After the late position, the silence before it is the vessel's longest interval,
        // which raises the threshold (`min_interval_ratio`), and it must still have been well
        // received in the 12 h before (only positions before the gap's start count).
        let second_threshold_ms =
            threshold_ms.max((first_ms as f64 * self.cfg.min_interval_ratio) as i64);
        let second_ok = end_ms - fix.time_ms >= second_threshold_ms && first_ms < 12 * 3_600_000;
        if first_ok {
            let d = geom::distance_m(e.lat, e.lon, fix.lat, fix.lon);
            let mut p = part(e.clone(), e.start_ms, fix.time_ms, d);
            p.evidence.truncate(1);
            p.add_evidence(here, &fix.sources);
            gaps.push(ClosedGap {
                event: p.clone(),
                end_lat: fix.lat,
                end_lon: fix.lon,
            });
            ctx.revise_closed(p);
        } else {
            ctx.withdraw_closed(e.clone());
        }
        if second_ok {
            let d = geom::distance_m(fix.lat, fix.lon, g.end_lat, g.end_lon);
            let mut p = e.clone();
            p.id = EventId::derive(EventType::AisGap, &[fix.mmsi], fix.time_ms, "");
            p.lat = fix.lat;
            p.lon = fix.lon;
            p.zones = ctx.zone_names(fix.lat, fix.lon);
            let shore = ctx.world.distance_to_shore_m(fix.lat, fix.lon);
            p.set("distance_to_shore_m", shore.map(|d| d.round()));
            p.set(
                "far_from_shore",
                shore.map(|d| d >= self.cfg.min_shore_distance_nm * NM_M),
            );
            let end = e.evidence.last().copied();
            p.evidence.clear();
            p.add_evidence(here, &fix.sources);
            if let Some(end) = end {
                p.add_evidence(end, &[]);
            }
            let p = part(p, fix.time_ms, end_ms, d);
            gaps.push(ClosedGap {
                event: p.clone(),
                end_lat: g.end_lat,
                end_lon: g.end_lon,
            });
            ctx.create(p);
        }
    }

    /// A fix after a silence of `gap_ms`, at least the vessel's threshold: a gap ends if the
    /// vessel should have been heard (its area heard others), else coverage is counted.
    fn silence_over(&mut self, ctx: &mut Ctx<'_>, fix: &Fix, gap_ms: i64) {
        let Some(v) = self.vessels.get(&fix.mmsi) else {
            return;
        };
        let heard = v.open.is_some() || {
            let snapshot = v.clone();
            self.others_heard(&snapshot, fix.time_ms) != Some(false)
        };
        if !heard {
            ctx.count("ais_gap.coverage");
            return;
        }
        let v = self.vessels.get_mut(&fix.mmsi).expect("looked up above");
        let id = match v.open.take() {
            Some(id) => id,
            None => {
                let snapshot = v.clone();
                self.open(ctx, fix.mmsi, &snapshot)
            }
        };
        let v = self.vessels.get_mut(&fix.mmsi).expect("inserted above");
        let d = geom::distance_m(v.lat, v.lon, fix.lat, fix.lon);
        let disabling_min = self.cfg.disabling_min_gap_s as i64 * 1000;
        if let Some(e) = ctx.event_mut(id) {
            set_gap_fields(e, gap_ms, d, disabling_min);
            e.add_evidence(
                PosRef {
                    mmsi: fix.mmsi,
                    time_ms: fix.time_ms,
                },
                &fix.sources,
            );
        }
        if let Some(e) = ctx.event_mut(id) {
            let mut event = e.clone();
            event.end_ms = Some(fix.time_ms.max(event.start_ms));
            event.open = false;
            event.last_ms = event.last_ms.max(fix.time_ms);
            self.closed.entry(fix.mmsi).or_default().push(ClosedGap {
                event,
                end_lat: fix.lat,
                end_lon: fix.lon,
            });
        }
        ctx.close(id, fix.time_ms);
    }

    fn cell(&self, lat: f64, lon: f64) -> (i32, i32) {
        let c = self.cfg.reception_cell_deg;
        ((lat / c).floor() as i32, (lon / c).floor() as i32)
    }

    /// Whether other vessels were heard during enough of (from, to) where the vessel was
    /// last seen and where it would be halfway through the silence (dead reckoning, at most
    /// 3 h on): a vessel sailing out of coverage is not dark. `None` when the silence spans
    /// no whole hour.
    fn others_heard(&self, v: &Vessel, to_ms: i64) -> Option<bool> {
        if self.cfg.min_heard_share <= 0.0 {
            return Some(true);
        }
        let from_ms = v.last_ms;
        let run_s = (((to_ms - from_ms) / 2).min(3 * 3_600_000) / 1000) as f64;
        let d = v.sog_knots as f64 * geom::KNOT_MS * run_s;
        // A unit vector along the course (`velocity_ms(1.0, ..)` is one knot in m/s: it put the
        // point at half the distance, issue 18).
        let c = (v.cog_deg as f64).to_radians();
        let (de, dn) = (c.sin(), c.cos());
        let lat2 = v.lat + dn * d / 111_195.0;
        let lon2 = v.lon + de * d / (111_195.0 * v.lat.to_radians().cos().max(0.01));
        let mut verdict = None;
        let h0 = from_ms.div_euclid(3_600_000) + 1;
        let h1 = to_ms.div_euclid(3_600_000) - 1;
        for (lat, lon) in [(v.lat, v.lon), (lat2, lon2)] {
            let (r, c) = self.cell(lat, lon);
            let around: Vec<&CellRx> = (-1..=1)
                .flat_map(|dr| (-1..=1).map(move |dc| (r + dr, c + dc)))
                .filter_map(|k| self.rx.get(&k))
                .collect();
            // Whole hours of the silence (within the last 48 h) when someone was heard nearby,
            // and in how many slots.
            let hours: Vec<i64> = (h0.max(h1 - RX_HOURS + 1)..=h1).collect();
            if hours.is_empty() {
                continue;
            }
            let (mut heard, mut slots) = (0usize, 0u32);
            for &h in &hours {
                let mask = around.iter().fold(0u64, |m, c| m | c.heard_at(h));
                heard += usize::from(mask != 0);
                slots += mask.count_ones();
            }
            let n = hours.len() as f64;
            let rate = self.cfg.min_positions_12h as f64 / 12.0;
            let ok = heard as f64 >= self.cfg.min_heard_share * n && slots as f64 >= rate * n;
            verdict = Some(verdict.unwrap_or(true) && ok);
        }
        verdict
    }

    fn open(&self, ctx: &mut Ctx<'_>, mmsi: u32, v: &Vessel) -> EventId {
        let mut e = ctx.new_event(EventType::AisGap, &[mmsi], v.last_ms, v.lat, v.lon, "");
        let shore = ctx.world.distance_to_shore_m(v.lat, v.lon);
        let per_day = v.recent(24);
        let in_12h = v.recent(12);
        let good_reception =
            per_day > self.cfg.min_positions_per_day && in_12h >= self.cfg.min_positions_12h;
        e.set("distance_to_shore_m", shore.map(|d| d.round()));
        e.set("positions_24h", per_day);
        e.set("positions_12h", in_12h);
        e.set("good_reception", good_reception);
        e.set("threshold_s", v.threshold_ms / 1000);
        e.set(
            "far_from_shore",
            shore.map(|d| d >= self.cfg.min_shore_distance_nm * NM_M),
        );
        e.add_evidence(
            PosRef {
                mmsi,
                time_ms: v.last_ms,
            },
            &[],
        );
        ctx.create(e)
    }
}

/// A gap's measured fields: its length, the distance between its ends and the speed that
/// implies, and whether the transponder was likely disabled (good reception before it, far
/// from shore, and at least `disabling_ms` long; unknown when either condition is).
fn set_gap_fields(e: &mut Event, gap_ms: i64, d: f64, disabling_ms: i64) {
    e.set("gap_s", gap_ms / 1000);
    e.set("distance_m", d.round());
    e.set(
        "implied_speed_knots",
        (d / (gap_ms as f64 / 1000.0) / geom::KNOT_MS * 10.0).round() / 10.0,
    );
    let good = e.details.get("good_reception").and_then(|x| x.as_bool());
    let far = e.details.get("far_from_shore").and_then(|x| x.as_bool());
    let likely = match (good, far) {
        (Some(g), Some(f)) => Some(g && f && gap_ms >= disabling_ms),
        _ => None,
    };
    e.set("likely_disabling", likely);
    e.confidence = if likely == Some(true) { 1.0 } else { 0.7 };
}

impl Detector for AisGap {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        let fix = f.fix;
        let min_gap_ms = self.cfg.min_gap_s as i64 * 1000;
        let cell = self.cell(fix.lat, fix.lon);
        let slot_ms = self.cfg.count_interval_s as i64 * 1000;
        let mark = (
            cell,
            fix.time_ms.div_euclid(3_600_000),
            CellRx::slot(fix.time_ms, slot_ms),
        );
        let v = self.vessels.entry(fix.mmsi).or_insert_with(|| Vessel {
            last_ms: fix.time_ms,
            lat: fix.lat,
            lon: fix.lon,
            hours: [0; 24],
            hour: fix.time_ms.div_euclid(3_600_000),
            longest_s: [0; 24],
            threshold_ms: min_gap_ms,
            deadline_ms: fix.time_ms + min_gap_ms,
            scheduled_ms: None,
            counted_ms: i64::MIN / 2,
            sog_knots: 0.0,
            cog_deg: 0.0,
            open: None,
            rx_mark: None,
        });
        let gap_ms = fix.time_ms - v.last_ms;
        // One lookup of the vessel's entry at a fix that ends no silence (nearly all of them);
        // one that does looks it up again around the gap's checks.
        let v = if gap_ms >= v.threshold_ms {
            self.silence_over(ctx, fix, gap_ms);
            self.vessels.get_mut(&fix.mmsi).expect("inserted above")
        } else {
            if let Some(id) = v.open.take() {
                // Only reachable when a late fix fills the gap: it was not a gap after all.
                ctx.withdraw(id);
            }
            v
        };
        // A vessel that set this cell's bit for this slot at its last fix has nothing to add
        // (the bit is cleared only once the cell is 48 h past it, when adding does nothing):
        // the map is written once per vessel, cell and slot, not at every fix.
        if v.rx_mark != Some(mark) {
            v.rx_mark = Some(mark);
            self.rx
                .entry(cell)
                .or_insert_with(|| CellRx {
                    hour: fix.time_ms.div_euclid(3_600_000),
                    slots: [0; RX_HOURS as usize],
                })
                .add(fix.time_ms, slot_ms);
        }
        v.count(fix.time_ms, gap_ms, slot_ms);
        v.last_ms = fix.time_ms;
        v.lat = fix.lat;
        v.lon = fix.lon;
        v.sog_knots = fix.sog_knots.unwrap_or(0.0) as f32;
        v.cog_deg = fix.cog_deg.unwrap_or(0.0) as f32;
        // Without good reception of this vessel (GFW: > 10 positions in the day, >= 14 in the
        // 12 h before) nothing says it should have been heard: no gap (issue 18: satellite-only
        // vessels leaving the covered area were reported dark).
        if v.well_received(&self.cfg) {
            v.threshold_ms =
                min_gap_ms.max((v.longest_ms() as f64 * self.cfg.min_interval_ratio) as i64);
            v.deadline_ms = fix.time_ms + v.threshold_ms;
            // The entry in `deadlines` moves only when the deadline comes earlier; a later
            // one is found when the entry comes due (one set operation per deadline, not two
            // per fix).
            if v.scheduled_ms.is_none_or(|s| v.deadline_ms < s) {
                if let Some(s) = v.scheduled_ms {
                    self.deadlines.remove(&(s, fix.mmsi));
                }
                v.scheduled_ms = Some(v.deadline_ms);
                self.deadlines.insert((v.deadline_ms, fix.mmsi));
            }
        } else {
            v.threshold_ms = NEVER;
            v.deadline_ms = NEVER;
        }
    }

    fn on_late_fix(&mut self, ctx: &mut Ctx<'_>, f: &Fix) {
        self.split(ctx, f);
    }

    fn on_time(&mut self, ctx: &mut Ctx<'_>, now_ms: i64) {
        if now_ms.saturating_sub(self.pruned_ms) >= 3_600_000 {
            self.pruned_ms = now_ms;
            let keep_from = now_ms - LATE_KEEP_MS;
            self.closed.retain(|_, gaps| {
                gaps.retain(|g| g.event.end_ms.is_some_and(|e| e >= keep_from));
                !gaps.is_empty()
            });
        }
        while let Some(&(t, mmsi)) = self.deadlines.first() {
            if t > now_ms {
                break;
            }
            self.deadlines.pop_first();
            let Some(v) = self.vessels.get_mut(&mmsi) else {
                continue;
            };
            if v.scheduled_ms != Some(t) {
                continue;
            }
            v.scheduled_ms = None;
            if v.deadline_ms > t && v.deadline_ms != NEVER {
                // Heard since the entry was made: wait for the deadline of its latest fix.
                v.scheduled_ms = Some(v.deadline_ms);
                self.deadlines.insert((v.deadline_ms, mmsi));
                continue;
            }
            if v.open.is_some() || v.deadline_ms == NEVER {
                continue;
            }
            let v = &self.vessels[&mmsi];
            match self.others_heard(v, now_ms) {
                Some(false) | None => {
                    // Nobody heard there either (so far): look again in an hour, for a week.
                    if now_ms - v.last_ms < 7 * 86_400_000 {
                        let next = now_ms + 3_600_000;
                        self.deadlines.insert((next, mmsi));
                        if let Some(v) = self.vessels.get_mut(&mmsi) {
                            v.deadline_ms = next;
                            v.scheduled_ms = Some(next);
                        }
                    }
                }
                Some(true) => {
                    let snapshot = v.clone();
                    let id = self.open(ctx, mmsi, &snapshot);
                    if let Some(v) = self.vessels.get_mut(&mmsi) {
                        v.open = Some(id);
                    }
                }
            }
        }
    }

    fn forget(&mut self, _ctx: &mut Ctx<'_>, before_ms: i64) {
        // A vessel with an open gap is kept: the gap closes when it is heard again.
        let gone: Vec<(u32, Option<i64>)> = self
            .vessels
            .iter()
            .filter(|(_, v)| v.last_ms < before_ms && v.open.is_none())
            .map(|(m, v)| (*m, v.scheduled_ms))
            .collect();
        for (m, d) in gone {
            self.vessels.remove(&m);
            if let Some(d) = d {
                self.deadlines.remove(&(d, m));
            }
        }
        let h = before_ms.div_euclid(3_600_000);
        self.rx.retain(|_, c| c.hour >= h);
    }

    fn prefetch(&self, f: &Fix) {
        let mmsi = f.mmsi;
        if let Some(v) = self.vessels.get(&mmsi) {
            super::prefetch(v);
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.vessels)
            + table_bytes(&self.rx)
            + self.deadlines.len() * 24
            + table_bytes(&self.closed)
            + self
                .closed
                .values()
                .map(|g| g.len() * (std::mem::size_of::<ClosedGap>() + 512))
                .sum::<usize>()
    }
}
