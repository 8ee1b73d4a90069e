//! Escort and shadowing: a state vessel keeping company with another vessel.
//!
//! Nobody publishes this one; Tidewatch's definition (DETECTION.md): on each tick of the
//! 10-minute grid, a vessel under way (> `min_speed_knots`) *keeps company* with another when
//! it is within `max_distance_m`, their courses differ by at most `max_course_diff_deg` and
//! their speeds by at most `max_speed_diff_knots`. An escorter is a state vessel (AIS ship type
//! in `state_ship_types`, or MMSI in `state_mmsis`: militia lists); a merchant ship sailing
//! the lane of a watch-listed tanker is not one. Each escorter picks one companion per tick
//! among non-state vessels: a vessel of interest (watch-listed, or MMSI in `interest_mmsis`)
//! first, then any other, nearest first
//! (so two coast-guard ships flanking a survey ship are two escorts of it, not of each other).
//! A pair in company stays so while both are stopped together within `max_distance_m` (an
//! escort waits with its charge); only moving together starts company.
//! A pair keeping company for `min_duration_s` (unobserved together for at most
//! `max_missed_s` at a time, and never seen apart meanwhile) is
//! an event: `escort` when both fly the same flag, `shadowing` when the flags differ (a state
//! vessel following a foreign one). Vessels are listed escorted first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::encounter::close_pairs_from;
use super::Detector;
use crate::config::check;
use crate::engine::{Ctx, Sample};
use crate::event::{EventId, EventType};
use crate::geom::{self, NM_M};

/// Escort and shadowing parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscortConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Companions within this. Default 9260 m (5 nm, DETECTION.md: ~1-5 nm).
    pub max_distance_m: f64,
    /// Both under way above this. Default 2 kn (DETECTION.md: > 2-3 kn).
    pub min_speed_knots: f64,
    /// Courses within this. Default 30 degrees (DETECTION.md).
    pub max_course_diff_deg: f64,
    /// Speeds within this. Default 3 kn (DETECTION.md).
    pub max_speed_diff_knots: f64,
    /// Together at least this. Default 7200 s (DETECTION.md: >= 2-6 h).
    pub min_duration_s: u32,
    /// A pair not seen together for this long (neither observed, or not both) ends; a tick
    /// that sees both farther apart than `max_distance_m` ends it at once. Default 10800 s
    /// (3 h: bridges the hours between satellite passes far from coastal receivers).
    pub max_missed_s: u32,
    /// AIS ship types of state vessels. Default [35, 55] (military, law enforcement).
    pub state_ship_types: Vec<u8>,
    /// MMSIs of state vessels not typed as such (militia lists). Default empty.
    pub state_mmsis: Vec<u32>,
    /// MMSIs of vessels of interest (survey and research ships: AIS has no type code for
    /// them). Default empty; watch-listed vessels are always of interest.
    pub interest_mmsis: Vec<u32>,
}

impl Default for EscortConfig {
    fn default() -> Self {
        EscortConfig {
            enabled: true,
            max_distance_m: 5.0 * NM_M,
            min_speed_knots: 2.0,
            max_course_diff_deg: 30.0,
            max_speed_diff_knots: 3.0,
            min_duration_s: 7_200,
            max_missed_s: 10_800,
            state_ship_types: vec![35, 55],
            state_mmsis: Vec::new(),
            interest_mmsis: Vec::new(),
        }
    }
}

impl EscortConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check(
            "escort.max_distance_m",
            self.max_distance_m,
            10.0,
            100_000.0,
        )?;
        check(
            "escort.max_course_diff_deg",
            self.max_course_diff_deg,
            0.0,
            180.0,
        )?;
        check(
            "escort.min_duration_s",
            self.min_duration_s as f64,
            0.0,
            1e8,
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    start_ms: i64,
    last_ms: i64,
    lat: f64,
    lon: f64,
    distance_sum_m: f64,
    ticks: u32,
    open: Option<EventId>,
    /// The escorter's and the companion's samples at the run's first tick: the event's first
    /// evidence.
    #[serde(default)]
    first: Option<[Sample; 2]>,
}

/// The escort and shadowing detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Escort {
    #[serde(skip)]
    pub(crate) cfg: EscortConfig,
    /// (escorter, escorted) -> run.
    #[serde(with = "super::pairs")]
    runs: BTreeMap<(u32, u32), Run>,
}

impl Escort {
    /// A detector with this configuration.
    pub fn new(cfg: EscortConfig) -> Escort {
        Escort {
            cfg,
            runs: BTreeMap::new(),
        }
    }

    fn is_state(&self, ctx: &Ctx<'_>, mmsi: u32) -> bool {
        self.cfg.state_mmsis.contains(&mmsi)
            || ctx
                .idents
                .get(&mmsi)
                .and_then(|i| i.ship_type)
                .is_some_and(|t| self.cfg.state_ship_types.contains(&t))
    }

    fn of_interest(&self, ctx: &Ctx<'_>, mmsi: u32) -> bool {
        self.cfg.interest_mmsis.contains(&mmsi) || {
            let i = ctx.idents.get(&mmsi);
            ctx.watch
                .lookup(
                    mmsi,
                    i.and_then(|i| i.imo),
                    i.and_then(|i| i.name.as_deref()),
                )
                .is_some()
        }
    }
}

impl Detector for Escort {
    fn on_tick(&mut self, ctx: &mut Ctx<'_>, t: i64, samples: &[Sample]) {
        let min_v = self.cfg.min_speed_knots as f32;
        // Only pairs with a state vessel can be escort or shadowing (see below).
        let pairs = close_pairs_from(
            samples,
            |s| s.sog_knots > min_v,
            |s| self.is_state(ctx, s.mmsi),
            self.cfg.max_distance_m,
        );
        // Each escorter's best companion: (rank, distance, companion); lower is better.
        let mut best: BTreeMap<u32, (u8, f64, usize, usize)> = BTreeMap::new();
        for (i, j, d) in pairs {
            let (a, b) = (&samples[i], &samples[j]);
            if geom::angle_diff_deg(a.cog_deg as f64, b.cog_deg as f64)
                > self.cfg.max_course_diff_deg
                || (a.sog_knots - b.sog_knots).abs() as f64 > self.cfg.max_speed_diff_knots
            {
                continue;
            }
            for (e, c) in [(i, j), (j, i)] {
                let (em, cm) = (samples[e].mmsi, samples[c].mmsi);
                // Only state vessels escort or shadow (DETECTION.md): a merchant ship in the
                // same lane as a watch-listed tanker is traffic, not an escort (issue 18).
                if !self.is_state(ctx, em) || self.is_state(ctx, cm) {
                    continue;
                }
                let rank = u8::from(!self.of_interest(ctx, cm));
                let cand = (rank, d, e, c);
                let better = best.get(&em).is_none_or(|b| (cand.0, cand.1) < (b.0, b.1));
                if better {
                    best.insert(em, cand);
                }
            }
        }
        let mut together: Vec<(f64, usize, usize)> =
            best.into_values().map(|(_, d, e, c)| (d, e, c)).collect();
        // A pair already in company stays in company while both wait together (stopped
        // within `max_distance_m`): an escort waits with its charge.
        let idx = |m: u32| samples.binary_search_by_key(&m, |s| s.mmsi).ok();
        for &(em, cm) in self.runs.keys() {
            if together.iter().any(|&(_, e, _)| samples[e].mmsi == em) {
                continue;
            }
            if let (Some(e), Some(c)) = (idx(em), idx(cm)) {
                let d = geom::distance_m(
                    samples[e].lat,
                    samples[e].lon,
                    samples[c].lat,
                    samples[c].lon,
                );
                if d <= self.cfg.max_distance_m
                    && samples[e].sog_knots <= min_v
                    && samples[c].sog_knots <= min_v
                {
                    together.push((d, e, c));
                }
            }
        }
        for (d, e, c) in together {
            let (es, cs) = (&samples[e], &samples[c]);
            let key = (es.mmsi, cs.mmsi);
            let run = self.runs.entry(key).or_insert(Run {
                start_ms: t,
                last_ms: t,
                lat: cs.lat,
                lon: cs.lon,
                distance_sum_m: 0.0,
                ticks: 0,
                open: None,
                first: Some([*es, *cs]),
            });
            run.last_ms = t;
            run.distance_sum_m += d;
            run.ticks += 1;
            let mean_d = run.distance_sum_m / run.ticks as f64;
            let dur_ms = run.last_ms - run.start_ms;
            match run.open {
                None if dur_ms >= self.cfg.min_duration_s as i64 * 1000 => {
                    let flag = |m: u32| ctx.idents.get(&m).and_then(|i| i.flag.clone());
                    let (fe, fc) = (flag(es.mmsi), flag(cs.mmsi));
                    let kind = match (&fe, &fc) {
                        (Some(x), Some(y)) if x != y => EventType::Shadowing,
                        _ => EventType::Escort,
                    };
                    let mut ev = ctx.new_event(
                        kind,
                        &[cs.mmsi, es.mmsi],
                        run.start_ms,
                        run.lat,
                        run.lon,
                        "",
                    );
                    ev.set("distance_m", mean_d.round());
                    ev.set("duration_s", dur_ms / 1000);
                    ev.set("flags_known", fe.is_some() && fc.is_some());
                    for s in run.first.iter().flatten().chain([es, cs]) {
                        ev.add_sample(s);
                    }
                    ev.last_ms = t;
                    run.open = Some(ctx.create(ev));
                }
                Some(id) => {
                    if let Some(ev) = ctx.event_mut(id) {
                        ev.set("distance_m", mean_d.round());
                        ev.set("duration_s", dur_ms / 1000);
                        ev.add_sample(es);
                        ev.add_sample(cs);
                        ev.last_ms = t;
                    }
                }
                None => {}
            }
        }
        let missed = self.cfg.max_missed_s as i64 * 1000;
        let at = |m: u32| {
            samples
                .binary_search_by_key(&m, |s| s.mmsi)
                .ok()
                .map(|i| &samples[i])
        };
        let apart = |(e, c): (u32, u32)| match (at(e), at(c)) {
            (Some(a), Some(b)) => {
                geom::distance_m(a.lat, a.lon, b.lat, b.lon) > self.cfg.max_distance_m
            }
            _ => false,
        };
        let done: Vec<(u32, u32)> = self
            .runs
            .iter()
            .filter(|(k, r)| r.last_ms < t && (t - r.last_ms > missed || apart(**k)))
            .map(|(k, _)| *k)
            .collect();
        for k in done {
            if let Some(r) = self.runs.remove(&k) {
                if let Some(id) = r.open {
                    ctx.close(id, r.last_ms);
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        self.runs.len() * (std::mem::size_of::<Run>() + 40)
    }
}
