//! Close passes nobody scripted: every pair of vessels is watched on a 10-second grid, so the
//! truth lists each close approach that happens, not only the harassment a scenario asks for.
//!
//! The rule is Tidewatch's published close-approach definition (`docs/detectors`, DETECTION.md:
//! "pairs on converging courses; dangerous when CPA < a few hundred metres at speed") applied to
//! the true kinematics: a pass begins closer than [`TRIGGER_M`] and ends farther; it is a close
//! approach when its closest distance (between grid instants, relative motion taken straight)
//! is under [`MAX_CPA_M`], one vessel is under way (> [`UNDER_WAY_KNOTS`]), their relative
//! speed exceeds [`MIN_RELATIVE_KNOTS`], and at the closest point both make way (>=
//! [`STOPPED_KNOTS`]), their courses are [`MIN_CROSSING_DEG`]-[`MAX_CROSSING_DEG`] apart and one
//! crosses ahead of the other's bow within [`MAX_BOW_CROSSING_M`]. Passes inside a port area,
//! next to a crowd of [`CROWD_MIN_VESSELS`] slow vessels within [`CROWD_RADIUS_M`], and between
//! vessels of one escort group (scripted `escort` steps, not `shadowing`) are not close
//! approaches, as in the definition. Scripted harassment records its own passes; a pass of the
//! same pair overlapping one of those is not recorded twice.

use std::collections::HashMap;

use crate::earth::{LatLon, KNOT_MS};
use crate::scenario::Scenario;
use crate::truth::{TruthEvent, Value, VesselRef};
use crate::vessel::closest_on_segment;

/// Grid step, ms.
pub const STEP_MS: i64 = 10_000;
/// A pass begins closer than this, metres (MarineTraffic's proximity cap).
pub const TRIGGER_M: f64 = 1_000.0;
/// Closest distance of a close approach, under this, metres ("a few hundred metres").
pub const MAX_CPA_M: f64 = 300.0;
/// One vessel above this, knots (under way: MarineTraffic, Windward).
pub const UNDER_WAY_KNOTS: f64 = 3.5;
/// Relative speed above this, knots.
pub const MIN_RELATIVE_KNOTS: f64 = 5.0;
/// Below this a vessel is stopped and has no course, knots (MarineTraffic).
pub const STOPPED_KNOTS: f64 = 0.5;
/// Courses at least this far apart, degrees (a crossing, COLREGs rules 13-15)...
pub const MIN_CROSSING_DEG: f64 = 15.0;
/// ...and at most this.
pub const MAX_CROSSING_DEG: f64 = 165.0;
/// One vessel crosses ahead of the other's bow closer than this, metres.
pub const MAX_BOW_CROSSING_M: f64 = 300.0;
/// A crowd: this many slow vessels...
pub const CROWD_MIN_VESSELS: usize = 20;
/// ...below this speed, knots...
pub const CROWD_SLOW_KNOTS: f64 = 2.0;
/// ...within this, metres.
pub const CROWD_RADIUS_M: f64 = 10_000.0;

/// One vessel at one grid instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub t: i64,
    /// Vessel uid (stable over the run).
    pub uid: u32,
    pub mmsi: u32,
    pub pos: LatLon,
    pub sog: f64,
    pub cog: f64,
    /// Scripted escort group (`None` for vessels escorting nobody and escorted by nobody).
    pub group: Option<u32>,
}

#[derive(Debug, Clone)]
struct Pass {
    start_ms: i64,
    mmsis: (u32, u32),
    min_m: f64,
    min_ms: i64,
    at: LatLon,
    max_speed: f64,
    max_rel: f64,
    /// Speeds, crossing angle and bow crossing at the closest point.
    speeds: (f64, f64),
    crossing_deg: f64,
    bow_m: Option<f64>,
    excluded: bool,
    last_rel: (f64, f64),
    seen_ms: i64,
}

/// Watches every pair over the whole run; windows of samples arrive in time order.
#[derive(Debug, Default)]
pub(crate) struct Watcher {
    open: HashMap<(u32, u32), Pass>,
    /// Uid -> (mmsi, name, scenario id) for the truth's vessel references.
    names: HashMap<u32, (u32, String, Option<String>)>,
    pub events: Vec<TruthEvent>,
}

fn cell(p: LatLon, size_m: f64) -> (i32, i32) {
    let m_per_deg = 111_195.0;
    (
        (p.lat * m_per_deg / size_m).floor() as i32,
        (p.lon * m_per_deg * p.lat.to_radians().cos() / size_m).floor() as i32,
    )
}

fn velocity(sog: f64, cog: f64) -> (f64, f64) {
    let (s, c) = cog.to_radians().sin_cos();
    (sog * KNOT_MS * s, sog * KNOT_MS * c)
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// Where the other vessel (relative position `r`, velocity `v`, metres and m/s) crosses the
/// heading line `course` of this one, metres ahead; `None` astern or never.
fn bow_crossing(r: (f64, f64), v: (f64, f64), course: f64) -> Option<f64> {
    let (s, c) = course.to_radians().sin_cos();
    let lat_r = r.0 * c - r.1 * s;
    let lat_v = v.0 * c - v.1 * s;
    if lat_v.abs() < 1e-6 {
        return None;
    }
    let t = -lat_r / lat_v;
    let ahead = (r.0 + v.0 * t) * s + (r.1 + v.1 * t) * c;
    (ahead >= 0.0).then_some(ahead)
}

impl Watcher {
    /// Remembers a vessel's name for the truth (latest wins).
    pub fn name(&mut self, uid: u32, mmsi: u32, name: &str, id: Option<&str>) {
        let e = self
            .names
            .entry(uid)
            .or_insert_with(|| (mmsi, String::new(), None));
        if e.0 != mmsi || e.1 != name {
            *e = (mmsi, name.to_owned(), id.map(str::to_owned));
        }
    }

    /// One grid instant: every present vessel's sample at `t` (each once).
    pub fn instant(&mut self, scenario: &Scenario, t: i64, samples: &[Sample]) {
        let mut grid: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
        for (i, s) in samples.iter().enumerate() {
            grid.entry(cell(s.pos, TRIGGER_M)).or_default().push(i);
        }
        let mut crowd: Option<HashMap<(i32, i32), Vec<LatLon>>> = None;
        for (i, a) in samples.iter().enumerate() {
            let (r, c) = cell(a.pos, TRIGGER_M);
            for dr in -1..=1 {
                for dc in -2..=2 {
                    let Some(members) = grid.get(&(r + dr, c + dc)) else {
                        continue;
                    };
                    for &j in members {
                        let b = &samples[j];
                        if j <= i || a.mmsi == b.mmsi {
                            continue;
                        }
                        let rel = a.pos.enu_to(b.pos);
                        let d = rel.0.hypot(rel.1);
                        if d >= TRIGGER_M {
                            continue;
                        }
                        let (x, y) = if a.uid < b.uid { (a, b) } else { (b, a) };
                        self.close(scenario, t, x, y, &mut crowd, samples);
                    }
                }
            }
        }
        // Passes not refreshed at this instant are over (apart, or a vessel gone).
        let done: Vec<(u32, u32)> = self
            .open
            .iter()
            .filter(|(_, p)| p.seen_ms < t)
            .map(|(k, _)| *k)
            .collect();
        for k in done {
            if let Some(p) = self.open.remove(&k) {
                self.finish(k, p, t);
            }
        }
    }

    fn close(
        &mut self,
        scenario: &Scenario,
        t: i64,
        a: &Sample,
        b: &Sample,
        crowd: &mut Option<HashMap<(i32, i32), Vec<LatLon>>>,
        samples: &[Sample],
    ) {
        let rel = a.pos.enu_to(b.pos);
        let (va, vb) = (velocity(a.sog, a.cog), velocity(b.sog, b.cog));
        let rv = (vb.0 - va.0, vb.1 - va.1);
        let rel_kn = rv.0.hypot(rv.1) / KNOT_MS;
        let p = self.open.entry((a.uid, b.uid)).or_insert(Pass {
            start_ms: t,
            mmsis: (a.mmsi, b.mmsi),
            min_m: f64::INFINITY,
            min_ms: t,
            at: a.pos,
            max_speed: 0.0,
            max_rel: 0.0,
            speeds: (a.sog, b.sog),
            crossing_deg: 0.0,
            bow_m: None,
            excluded: false,
            last_rel: rel,
            seen_ms: t,
        });
        let (seg_min, frac) = if p.seen_ms < t {
            closest_on_segment(p.last_rel, rel)
        } else {
            (rel.0.hypot(rel.1), 1.0)
        };
        p.seen_ms = t;
        p.last_rel = rel;
        p.max_speed = p.max_speed.max(a.sog).max(b.sog);
        p.max_rel = p.max_rel.max(rel_kn);
        if seg_min < p.min_m {
            p.min_m = seg_min;
            p.min_ms = t - ((1.0 - frac) * STEP_MS as f64) as i64;
            p.at = a.pos;
            p.speeds = (a.sog, b.sog);
            p.crossing_deg = angle_diff(a.cog, b.cog);
            let ba = bow_crossing(rel, rv, a.cog);
            let bb = bow_crossing((-rel.0, -rel.1), (-rv.0, -rv.1), b.cog);
            p.bow_m = match (ba, bb) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let in_port = scenario
                .port_areas
                .iter()
                .chain(scenario.zones.iter().filter(|z| z.kind == "port"))
                .any(|z| z.contains(a.pos));
            let grid = crowd.get_or_insert_with(|| {
                let mut g: HashMap<(i32, i32), Vec<LatLon>> = HashMap::new();
                for s in samples.iter().filter(|s| s.sog < CROWD_SLOW_KNOTS) {
                    g.entry(cell(s.pos, CROWD_RADIUS_M))
                        .or_default()
                        .push(s.pos);
                }
                g
            });
            p.excluded =
                in_port || crowded(grid, a.pos) || (a.group.is_some() && a.group == b.group);
        }
    }

    fn finish(&mut self, k: (u32, u32), p: Pass, end_ms: i64) {
        let close = p.min_m < MAX_CPA_M
            && p.max_speed > UNDER_WAY_KNOTS
            && p.max_rel > MIN_RELATIVE_KNOTS
            && p.speeds.0.min(p.speeds.1) >= STOPPED_KNOTS
            && (MIN_CROSSING_DEG..=MAX_CROSSING_DEG).contains(&p.crossing_deg)
            && p.bow_m.is_some_and(|b| b <= MAX_BOW_CROSSING_M)
            && !p.excluded;
        if !close {
            return;
        }
        let vref = |uid: u32, mmsi: u32| {
            let (m, name, id) = self.names.get(&uid).cloned().unwrap_or_default();
            VesselRef {
                mmsi,
                id: if m == mmsi { id } else { None },
                name: if m == mmsi { name } else { String::new() },
            }
        };
        self.events.push(TruthEvent {
            kind: "close_approach",
            start_ms: p.start_ms,
            end_ms,
            open: false,
            position: p.at,
            vessels: vec![vref(k.0, p.mmsis.0), vref(k.1, p.mmsis.1)],
            details: vec![
                ("cpa_m", Value::Num((p.min_m * 10.0).round() / 10.0)),
                ("cpa_time", Value::Time(p.min_ms)),
                (
                    "speed_knots",
                    Value::Num((p.speeds.0 * 10.0).round() / 10.0),
                ),
                (
                    "target_speed_knots",
                    Value::Num((p.speeds.1 * 10.0).round() / 10.0),
                ),
                ("crossing_deg", Value::Num(p.crossing_deg.round())),
                ("scripted", Value::Bool(false)),
            ],
        });
    }

    /// Closes what is open at the end and drops passes the scripted harassment recorded.
    pub fn finish_all(mut self, end_ms: i64, scripted: &[TruthEvent]) -> Vec<TruthEvent> {
        let open: Vec<((u32, u32), Pass)> = self.open.drain().collect();
        for (k, p) in open {
            self.finish(k, p, end_ms);
        }
        let pair = |e: &TruthEvent| {
            let mut m: Vec<u32> = e.vessels.iter().map(|v| v.mmsi).collect();
            m.sort_unstable();
            m
        };
        let harass: Vec<(Vec<u32>, i64, i64)> = scripted
            .iter()
            .filter(|e| e.kind == "close_approach")
            .map(|e| (pair(e), e.start_ms, e.end_ms))
            .collect();
        self.events
            .into_iter()
            .filter(|e| {
                let m = pair(e);
                !harass
                    .iter()
                    .any(|(h, s, en)| *h == m && e.start_ms <= *en && e.end_ms >= *s)
            })
            .collect()
    }
}

/// Whether at least [`CROWD_MIN_VESSELS`] slow vessels lie within [`CROWD_RADIUS_M`] of `p`.
fn crowded(grid: &HashMap<(i32, i32), Vec<LatLon>>, p: LatLon) -> bool {
    let (r, c) = cell(p, CROWD_RADIUS_M);
    let mut n = 0;
    for dr in -1..=1 {
        for dc in -2..=2 {
            for q in grid.get(&(r + dr, c + dc)).into_iter().flatten() {
                if p.distance_m(*q) <= CROWD_RADIUS_M {
                    n += 1;
                    if n >= CROWD_MIN_VESSELS {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bow_crossing_ahead_and_astern() {
        // The other vessel 500 m east, moving west across our bow (we head north at 0).
        let r = (500.0, 200.0);
        let v = (-5.0, 0.0);
        assert!((bow_crossing(r, v, 0.0).unwrap() - 200.0).abs() < 1e-6);
        // Crossing astern.
        assert_eq!(bow_crossing((500.0, -200.0), v, 0.0), None);
        // Parallel: never.
        assert_eq!(bow_crossing((500.0, 0.0), (0.0, 1.0), 0.0), None);
    }

    #[test]
    fn cell_reach_covers_the_trigger() {
        // Two points 990 m apart east-west at 10 N are at most two columns apart.
        let a = LatLon {
            lat: 10.0,
            lon: 114.0,
        };
        let b = a.destination(90.0, 990.0);
        let (ca, cb) = (cell(a, TRIGGER_M), cell(b, TRIGGER_M));
        assert!((ca.1 - cb.1).abs() <= 2 && ca.0 == cb.0);
    }
}
