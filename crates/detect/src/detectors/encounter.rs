//! Encounter (ship-to-ship transfer): two vessels together at sea, slow, for hours.
//!
//! On every tick of the resampling grid (10 min, interpolation across gaps < 1 h: GFW), the
//! samples outside port and anchorage zones are bucketed into cells of `max_distance_m`; pairs
//! in neighbouring cells closer than `max_distance_m` continue (or start) a run. A run lasting
//! more than `min_duration_s` with a median speed of both vessels below
//! `max_median_speed_knots` is an encounter. A pair apart for up to `merge_gap_s` and together
//! again continues the same event (GFW merges encounters < 4 h apart), so the event closes
//! `merge_gap_s` after they parted, ending when they parted. A run that has not yet qualified
//! ends as soon as a tick sees both vessels apart, or when they have not been seen together
//! for `max_unseen_s` (satellite passes hours apart leave ticks without either vessel), also
//! when there was no tick at all between (hours with no data from anyone).
//!
//! GFW excludes encounters within 10 km of an anchorage, an anchorage being where >= 20
//! distinct vessels stay: vessels with `crowd_min_vessels` slow vessels within about
//! `crowd_radius_m` at the tick (a port crowd, a moored swarm) are left out the same way,
//! besides those in port and anchorage zones.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{Detector, FixCtx};
use crate::config::check;
use crate::engine::{Ctx, Sample};
use crate::event::{EventId, EventType};
use crate::geom::{self, Grid};

/// Encounter parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncounterConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Vessels within this distance. Default 500 m (GFW).
    pub max_distance_m: f64,
    /// Together longer than this. Default 7200 s (GFW: > 2 h).
    pub min_duration_s: u32,
    /// Median speed of both vessels below this. Default 2 kn (GFW).
    pub max_median_speed_knots: f64,
    /// The same pair together again within this continues the event. Default 14400 s (GFW:
    /// < 4 h apart merges).
    pub merge_gap_s: u32,
    /// Vessels within this of a crowd of slow vessels are not in an encounter (GFW: >= 10 km
    /// from an anchorage). Default 10000 m.
    pub crowd_radius_m: f64,
    /// A crowd: at least this many slow vessels (GFW's anchorage: >= 20 distinct vessels).
    /// Default 20.
    pub crowd_min_vessels: u32,
    /// A pair not yet an encounter stays a candidate while neither or only one of them is
    /// observed for up to this long (far from coastal receivers, satellites see them only at
    /// passes); a tick that observes both apart ends it. Default 10800 s (3 h).
    pub max_unseen_s: u32,
}

impl Default for EncounterConfig {
    fn default() -> Self {
        EncounterConfig {
            enabled: true,
            max_distance_m: 500.0,
            min_duration_s: 7_200,
            max_median_speed_knots: 2.0,
            merge_gap_s: 14_400,
            crowd_radius_m: 10_000.0,
            crowd_min_vessels: 20,
            max_unseen_s: 10_800,
        }
    }
}

impl EncounterConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check(
            "encounter.max_distance_m",
            self.max_distance_m,
            1.0,
            100_000.0,
        )?;
        check(
            "encounter.min_duration_s",
            self.min_duration_s as f64,
            0.0,
            1e8,
        )?;
        check(
            "encounter.max_median_speed_knots",
            self.max_median_speed_knots,
            0.0,
            100.0,
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    start_ms: i64,
    last_ms: i64,
    lat: f64,
    lon: f64,
    min_distance_m: f64,
    /// Speeds of both vessels at each tick together, knots.
    speeds: Vec<f32>,
    open: Option<EventId>,
    /// Both vessels' samples at the run's first tick: the event's first evidence.
    #[serde(default)]
    first: Option<[Sample; 2]>,
}

/// The encounter detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Encounter {
    #[serde(skip)]
    pub(crate) cfg: EncounterConfig,
    #[serde(with = "super::pairs")]
    runs: BTreeMap<(u32, u32), Run>,
}

/// Two samples of different vessels closer than `max_m`: their indices, lower MMSI first, and
/// the distance measured from that one (so a pair found from either side measures the same).
fn within(samples: &[Sample], i: usize, j: usize, max_m: f64) -> Option<(usize, usize, f64)> {
    let (a, b) = (&samples[i], &samples[j]);
    if a.mmsi == b.mmsi {
        return None;
    }
    let (lo, hi) = if a.mmsi < b.mmsi { (i, j) } else { (j, i) };
    let (p, q) = (&samples[lo], &samples[hi]);
    let d = geom::distance_m(p.lat, p.lon, q.lat, q.lon);
    (d <= max_m).then_some((lo, hi, d))
}

/// Pairs of samples closer than `max_m`, each pair once (lower MMSI first), via a grid of
/// cells `max_m` on a side: only neighbouring cells are compared, each pair of cells once
/// (from the lower one: half the lookups of searching every neighbour from both).
pub(crate) fn close_pairs(
    samples: &[Sample],
    keep: impl Fn(usize, &Sample) -> bool,
    max_m: f64,
) -> Vec<(usize, usize, f64)> {
    let grid = Grid::new(max_m);
    let mut cells: FxHashMap<geom::Cell, Vec<usize>> = FxHashMap::default();
    for (i, s) in samples.iter().enumerate() {
        if keep(i, s) {
            cells.entry(grid.cell(s.lat, s.lon)).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    let mut near = Vec::new();
    let mut pair = |i: usize, j: usize| out.extend(within(samples, i, j, max_m));
    for (&cell, members) in &cells {
        for (k, &i) in members.iter().enumerate() {
            for &j in &members[k + 1..] {
                pair(i, j);
            }
        }
        // The cells to search depend on the cell and the latitude's column reach only:
        // found once for the members of a cell that share it.
        let mut reach = None;
        for &i in members {
            let a = &samples[i];
            let r = grid.col_reach(a.lat);
            if reach != Some(r) {
                reach = Some(r);
                grid.neighbours(cell, a.lat, &mut near);
                near.retain(|&c| c > cell);
            }
            for c in &near {
                for &j in cells.get(c).into_iter().flatten() {
                    pair(i, j);
                }
            }
        }
    }
    out.sort_by_key(|&(i, j, _)| (samples[i].mmsi, samples[j].mmsi));
    out.dedup_by_key(|&mut (i, j, _)| (i, j));
    out
}

/// The pairs of [`close_pairs`] with at least one vessel that `from` picks, in the same order:
/// a grid of every kept sample, searched only around the picked ones. Escorts are state
/// vessels, a few among thousands: pairing every vessel with every other in harbour traffic
/// was most of the escort detector's time on a real feed.
pub(crate) fn close_pairs_from(
    samples: &[Sample],
    keep: impl Fn(&Sample) -> bool,
    from: impl Fn(&Sample) -> bool,
    max_m: f64,
) -> Vec<(usize, usize, f64)> {
    let grid = Grid::new(max_m);
    let mut cells: FxHashMap<geom::Cell, Vec<usize>> = FxHashMap::default();
    let mut picked = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if keep(s) {
            cells.entry(grid.cell(s.lat, s.lon)).or_default().push(i);
            if from(s) {
                picked.push(i);
            }
        }
    }
    let mut out = Vec::new();
    let mut near = Vec::new();
    for i in picked {
        let a = &samples[i];
        grid.neighbours(grid.cell(a.lat, a.lon), a.lat, &mut near);
        for c in &near {
            for &j in cells.get(c).into_iter().flatten() {
                out.extend(within(samples, i, j, max_m));
            }
        }
    }
    out.sort_by_key(|&(i, j, _)| (samples[i].mmsi, samples[j].mmsi));
    out.dedup_by_key(|&mut (i, j, _)| (i, j));
    out
}

/// Whether each sample's vessel has at least `min` slow vessels (below `slow_knots`) in its
/// neighbourhood of cells `radius_m` wide (an anchorage or a moored crowd), by sample.
pub(crate) fn crowded(samples: &[Sample], slow_knots: f64, radius_m: f64, min: u32) -> Vec<bool> {
    let grid = Grid::new(radius_m);
    let mut cells: FxHashMap<geom::Cell, u32> = FxHashMap::default();
    for s in samples {
        if (s.sog_knots as f64) < slow_knots {
            *cells.entry(grid.cell(s.lat, s.lon)).or_default() += 1;
        }
    }
    let mut near = Vec::new();
    // A neighbourhood's count depends on the cell and the latitude's column reach only.
    let mut counts: FxHashMap<(geom::Cell, i32), u32> = FxHashMap::default();
    samples
        .iter()
        .map(|s| {
            let cell = grid.cell(s.lat, s.lon);
            let n = *counts
                .entry((cell, grid.col_reach(s.lat)))
                .or_insert_with(|| {
                    grid.neighbours(cell, s.lat, &mut near);
                    near.iter().filter_map(|c| cells.get(c)).sum()
                });
            n >= min
        })
        .collect()
}

/// Slow vessels per cell of `radius_m` at a tick, to ask later whether a place is crowded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct CrowdMap {
    radius_m: f64,
    #[serde(with = "super::pairs")]
    cells: BTreeMap<geom::Cell, u32>,
}

impl CrowdMap {
    pub(crate) fn new(samples: &[Sample], slow_knots: f64, radius_m: f64) -> CrowdMap {
        let grid = Grid::new(radius_m);
        let mut cells = BTreeMap::new();
        for s in samples {
            if (s.sog_knots as f64) < slow_knots {
                *cells.entry(grid.cell(s.lat, s.lon)).or_default() += 1;
            }
        }
        CrowdMap { radius_m, cells }
    }

    /// Slow vessels in the cells around a point.
    pub(crate) fn around(&self, lat: f64, lon: f64) -> u32 {
        if self.cells.is_empty() {
            return 0;
        }
        let grid = Grid::new(self.radius_m);
        let mut near = Vec::new();
        grid.neighbours(grid.cell(lat, lon), lat, &mut near);
        near.iter().filter_map(|c| self.cells.get(c)).sum()
    }

    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }
}

fn median(v: &[f32]) -> f64 {
    if v.is_empty() {
        return f64::INFINITY;
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    s[s.len() / 2] as f64
}

impl Encounter {
    /// A detector with this configuration.
    pub fn new(cfg: EncounterConfig) -> Encounter {
        Encounter {
            cfg,
            runs: BTreeMap::new(),
        }
    }
}

impl Detector for Encounter {
    fn on_fix(&mut self, _ctx: &mut Ctx<'_>, _f: &FixCtx<'_>) {}

    fn on_tick(&mut self, ctx: &mut Ctx<'_>, t: i64, samples: &[Sample]) {
        let crowded = crowded(
            samples,
            self.cfg.max_median_speed_knots,
            self.cfg.crowd_radius_m,
            self.cfg.crowd_min_vessels,
        );
        let mut pairs = close_pairs(samples, |i, _| !crowded[i], self.cfg.max_distance_m);
        // Vessels in a port or an anchorage pair with none: asked only of the paired ones.
        let mut in_port: FxHashMap<usize, bool> = FxHashMap::default();
        let mut port = |i: usize| {
            *in_port
                .entry(i)
                .or_insert_with(|| ctx.in_port(samples[i].lat, samples[i].lon))
        };
        pairs.retain(|&(i, j, _)| !port(i) && !port(j));
        let unseen_ms = self.cfg.max_unseen_s as i64 * 1000;
        let merge_ms = self.cfg.merge_gap_s as i64 * 1000;
        let mut seen = std::collections::BTreeSet::new();
        for (i, j, d) in pairs {
            let (a, b) = (&samples[i], &samples[j]);
            let key = (a.mmsi, b.mmsi);
            seen.insert(key);
            // Together again after longer than a run survives unseen, with no tick between
            // (hours with no sample of anyone: data from satellite passes only): the old run
            // ends where it was last seen, as it would have at a tick in the gap.
            let over = self.runs.get(&key).is_some_and(|old| {
                let apart_ms = t - old.last_ms;
                match old.open {
                    Some(_) => apart_ms > merge_ms,
                    None => apart_ms > unseen_ms,
                }
            });
            if over {
                if let Some(old) = self.runs.remove(&key) {
                    if let Some(id) = old.open {
                        ctx.close(id, old.last_ms);
                    }
                }
            }
            let run = self.runs.entry(key).or_insert_with(|| Run {
                start_ms: t,
                last_ms: t,
                lat: (a.lat + b.lat) / 2.0,
                lon: (a.lon + b.lon) / 2.0,
                min_distance_m: d,
                speeds: Vec::new(),
                open: None,
                first: Some([*a, *b]),
            });
            run.last_ms = t;
            run.min_distance_m = run.min_distance_m.min(d);
            run.speeds.push(a.sog_knots);
            run.speeds.push(b.sog_knots);
            let med = median(&run.speeds);
            let dur_ms = run.last_ms - run.start_ms;
            match run.open {
                None if dur_ms > self.cfg.min_duration_s as i64 * 1000
                    && med < self.cfg.max_median_speed_knots =>
                {
                    let mut e = ctx.new_event(
                        EventType::Encounter,
                        &[a.mmsi, b.mmsi],
                        run.start_ms,
                        run.lat,
                        run.lon,
                        "",
                    );
                    e.set("distance_m", run.min_distance_m.round());
                    e.set("median_speed_knots", (med * 100.0).round() / 100.0);
                    e.set("duration_s", dur_ms / 1000);
                    for s in run.first.iter().flatten().chain([a, b]) {
                        e.add_sample(s);
                    }
                    e.last_ms = t;
                    run.open = Some(ctx.create(e));
                }
                Some(id) => {
                    if let Some(e) = ctx.event_mut(id) {
                        e.set("distance_m", run.min_distance_m.round());
                        e.set("median_speed_knots", (med * 100.0).round() / 100.0);
                        e.set("duration_s", dur_ms / 1000);
                        e.add_sample(a);
                        e.add_sample(b);
                        e.last_ms = t;
                    }
                }
                None => {}
            }
        }
        let mut done = Vec::new();
        for (key, run) in &self.runs {
            if seen.contains(key) {
                continue;
            }
            let apart_ms = t - run.last_ms;
            match run.open {
                Some(_) if apart_ms > merge_ms => done.push(*key),
                None if apart_ms > unseen_ms || both_apart(samples, *key) => done.push(*key),
                _ => {}
            }
        }
        for key in done {
            if let Some(run) = self.runs.remove(&key) {
                if let Some(id) = run.open {
                    ctx.close(id, run.last_ms);
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        self.runs
            .values()
            .map(|r| 64 + std::mem::size_of::<Run>() + r.speeds.capacity() * 4)
            .sum()
    }
}

/// Both vessels of the pair were sampled at this tick (and so were apart).
fn both_apart(samples: &[Sample], (a, b): (u32, u32)) -> bool {
    let has = |m: u32| samples.binary_search_by_key(&m, |s| s.mmsi).is_ok();
    has(a) && has(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples_of(pts: &[(f64, f64)]) -> Vec<Sample> {
        pts.iter()
            .enumerate()
            .map(|(k, &(lat, lon))| Sample {
                mmsi: 1_000 + k as u32,
                lat,
                lon,
                sog_knots: 5.0,
                cog_deg: 0.0,
                fixes_ms: [0; 2],
                sources: [None; 2],
            })
            .collect()
    }

    fn every_pair(samples: &[Sample], max_m: f64) -> Vec<(usize, usize, f64)> {
        let mut out = Vec::new();
        for i in 0..samples.len() {
            for j in i + 1..samples.len() {
                out.extend(within(samples, i, j, max_m));
            }
        }
        out.sort_by_key(|&(i, j, _)| (samples[i].mmsi, samples[j].mmsi));
        out
    }

    proptest! {
        /// The grid finds exactly the pairs a comparison of every pair finds, in the same
        /// order, measured the same; searching only around picked vessels finds those of them
        /// with a picked vessel. Points crowd a box a few kilometres wide (many per cell) at
        /// any latitude, across the antimeridian too.
        #[test]
        fn grid_pairs_are_every_close_pair(
            lat0 in -80.0f64..80.0,
            lon0 in prop_oneof![Just(179.99f64), -180.0f64..180.0],
            offsets in proptest::collection::vec((-0.03f64..0.03, -0.03f64..0.03), 2..80),
            max_m in 100.0f64..3_000.0,
        ) {
            let pts: Vec<(f64, f64)> = offsets
                .iter()
                .map(|&(a, b)| {
                    let lon = lon0 + b;
                    let lon = if lon > 180.0 { lon - 360.0 } else { lon };
                    (lat0 + a, lon)
                })
                .collect();
            let samples = samples_of(&pts);
            let want = every_pair(&samples, max_m);
            prop_assert_eq!(close_pairs(&samples, |_, _| true, max_m), want.clone());
            let picked = |s: &Sample| s.mmsi.is_multiple_of(3);
            let from: Vec<_> = want
                .iter()
                .copied()
                .filter(|&(i, j, _)| picked(&samples[i]) || picked(&samples[j]))
                .collect();
            prop_assert_eq!(close_pairs_from(&samples, |_| true, picked, max_m), from);
        }
    }
}
