//! AIS gap: no position from a vessel for a long time.
//!
//! A gap opens (an open event) once a vessel has been silent for `min_gap_s` of input time,
//! starting at its last position, and closes at the next position. The "likely intentional
//! disabling" conditions of GFW (Welch et al. 2022) are evaluated and reported: the gap lasts
//! `disabling_min_gap_s`, starts at least `min_shore_distance_nm` from shore, and reception
//! before it was good (more than `min_positions_per_day` in the day before and at least
//! `min_positions_12h` in the 12 h before). Without land data the shore condition is unknown
//! and the event says so (`distance_to_shore_m: null`, `likely_disabling: null`).

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::config::check;
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::geom::{self, NM_M};

/// AIS gap parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AisGapConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Silence that makes a gap. Default 21600 s (6 h: the threshold of GFW's and Skylight's
    /// published gap products; GFW's pipeline default is 12 h, see `disabling_min_gap_s`).
    pub min_gap_s: u32,
    /// Gap length for "likely disabling". Default 43200 s (12 h, GFW / Welch et al. 2022).
    pub disabling_min_gap_s: u32,
    /// Distance from shore at the gap's start for "likely disabling". Default 50 nm (GFW).
    pub min_shore_distance_nm: f64,
    /// Positions in the 24 h before the gap must exceed this. Default 10 (GFW).
    pub min_positions_per_day: u32,
    /// Positions in the 12 h before the gap, at least. Default 14 (GFW).
    pub min_positions_12h: u32,
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
    open: Option<EventId>,
}

impl Vessel {
    fn count(&mut self, t_ms: i64) {
        let h = t_ms.div_euclid(3_600_000);
        if h > self.hour {
            let clear = (h - self.hour).min(24);
            for k in 1..=clear {
                self.hours[((self.hour + k).rem_euclid(24)) as usize] = 0;
            }
            self.hour = h;
        }
        if h > self.hour - 24 {
            let s = &mut self.hours[h.rem_euclid(24) as usize];
            *s = s.saturating_add(1);
        }
    }

    /// Positions in the `n` hours up to the last one.
    fn recent(&self, n: i64) -> u32 {
        (0..n.min(24))
            .map(|k| self.hours[(self.hour - k).rem_euclid(24) as usize] as u32)
            .sum()
    }
}

/// The AIS gap detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AisGap {
    #[serde(skip)]
    pub(crate) cfg: AisGapConfig,
    vessels: FxHashMap<u32, Vessel>,
    /// (time the vessel's silence becomes a gap, MMSI).
    deadlines: BTreeSet<(i64, u32)>,
}

impl AisGap {
    /// A detector with this configuration.
    pub fn new(cfg: AisGapConfig) -> AisGap {
        AisGap {
            cfg,
            vessels: FxHashMap::default(),
            deadlines: BTreeSet::new(),
        }
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

impl Detector for AisGap {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        let fix = f.fix;
        let min_gap_ms = self.cfg.min_gap_s as i64 * 1000;
        let v = self.vessels.entry(fix.mmsi).or_insert_with(|| Vessel {
            last_ms: fix.time_ms,
            lat: fix.lat,
            lon: fix.lon,
            hours: [0; 24],
            hour: fix.time_ms.div_euclid(3_600_000),
            open: None,
        });
        let gap_ms = fix.time_ms - v.last_ms;
        if gap_ms >= min_gap_ms {
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
                e.set("gap_s", gap_ms / 1000);
                e.set("distance_m", d.round());
                e.set(
                    "implied_speed_knots",
                    (d / (gap_ms as f64 / 1000.0) / geom::KNOT_MS * 10.0).round() / 10.0,
                );
                let good = e.details.get("good_reception").and_then(|x| x.as_bool());
                let far = e.details.get("far_from_shore").and_then(|x| x.as_bool());
                let likely = match (good, far) {
                    (Some(g), Some(f)) => Some(g && f && gap_ms >= disabling_min),
                    _ => None,
                };
                e.set("likely_disabling", likely);
                e.confidence = if likely == Some(true) { 1.0 } else { 0.7 };
                e.add_evidence(
                    PosRef {
                        mmsi: fix.mmsi,
                        time_ms: fix.time_ms,
                    },
                    &fix.sources,
                );
            }
            ctx.close(id, fix.time_ms);
        } else if let Some(id) = v.open.take() {
            // Only reachable when a late fix fills the gap: it was not a gap after all.
            ctx.withdraw(id);
        }
        let v = self.vessels.get_mut(&fix.mmsi).expect("inserted above");
        self.deadlines.remove(&(v.last_ms + min_gap_ms, fix.mmsi));
        v.last_ms = fix.time_ms;
        v.lat = fix.lat;
        v.lon = fix.lon;
        v.count(fix.time_ms);
        self.deadlines.insert((fix.time_ms + min_gap_ms, fix.mmsi));
    }

    fn on_time(&mut self, ctx: &mut Ctx<'_>, now_ms: i64) {
        while let Some(&(t, mmsi)) = self.deadlines.first() {
            if t > now_ms {
                break;
            }
            self.deadlines.pop_first();
            if let Some(v) = self.vessels.get(&mmsi) {
                if v.open.is_none() {
                    let snapshot = v.clone();
                    let id = self.open(ctx, mmsi, &snapshot);
                    if let Some(v) = self.vessels.get_mut(&mmsi) {
                        v.open = Some(id);
                    }
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.vessels) + self.deadlines.len() * 24
    }
}
