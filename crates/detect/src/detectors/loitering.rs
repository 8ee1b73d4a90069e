//! Loitering: slow for hours, away from shore and outside ports.
//!
//! The implied speed is measured over steps of at least `speed_interval_s` (the straight-line
//! distance between checkpoints over the time between them, so GNSS noise of a few metres
//! between reports seconds apart does not count as speed). Consecutive steps below
//! `max_speed_knots`, at least `min_shore_distance_nm` from shore (unknown without land data:
//! then allowed and said so), outside port and anchorage zones, and not at anchor or moored by
//! navigational status, nor in a crowd of `crowd_min_vessels` slow vessels at the latest tick
//! (an anchorage by GFW's definition, a moored swarm), make a run; a run of `min_duration_s` is a loitering event, open
//! until a step is fast or a step spans more than `max_step_gap_s`. A step whose both ends
//! report a speed over ground above `max_speed_knots` is not slow whatever its implied speed:
//! the implied speed of a step is its net displacement, and a ship reporting 12 kn at both ends
//! of a 6 h silence was under way, sailing out and back (issue 18: merchant ships heard at two
//! satellite passes near the same place were reported loitering). Two transmitters sharing an
//! MMSI (the segmenter gives each its own segment) are followed apart, one track per segment.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::config::check;
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::geom::{self, KNOT_MS, NM_M};

/// Loitering parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoiteringConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Mean implied speed below this. Default 2 kn (GFW).
    pub max_speed_knots: f64,
    /// Shortest loitering reported. Default 14400 s (4 h: GFW reports use 1, 4 or 8 h).
    pub min_duration_s: u32,
    /// Mean distance from shore at least this. Default 20 nm (GFW).
    pub min_shore_distance_nm: f64,
    /// Implied speed measured over steps at least this long. Default 600 s (the resampling
    /// interval of the GFW pipelines).
    pub speed_interval_s: u32,
    /// A step longer than this (a reception gap) ends the run. Default 28800 s (8 h: GFW's
    /// segmenter closes a segment after 8 h of silence; loitering is found within segments).
    pub max_step_gap_s: u32,
    /// Navigational statuses that mean "at anchor / moored", not loitering. Default [1, 5].
    pub anchored_nav_status: Vec<u8>,
    /// Vessels within this of a crowd of slow vessels (an anchorage as GFW defines it, a
    /// moored swarm) are not loitering. Default 10000 m.
    pub crowd_radius_m: f64,
    /// A crowd: at least this many slow vessels. Default 20 (GFW anchorages).
    pub crowd_min_vessels: u32,
}

impl Default for LoiteringConfig {
    fn default() -> Self {
        LoiteringConfig {
            enabled: true,
            max_speed_knots: 2.0,
            min_duration_s: 14_400,
            min_shore_distance_nm: 20.0,
            speed_interval_s: 600,
            max_step_gap_s: 28_800,
            anchored_nav_status: vec![1, 5],
            crowd_radius_m: 10_000.0,
            crowd_min_vessels: 20,
        }
    }
}

impl LoiteringConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check("loitering.max_speed_knots", self.max_speed_knots, 0.0, 50.0)?;
        check(
            "loitering.min_duration_s",
            self.min_duration_s as f64,
            60.0,
            1e8,
        )?;
        check(
            "loitering.speed_interval_s",
            self.speed_interval_s as f64,
            10.0,
            86_400.0,
        )?;
        check(
            "loitering.min_shore_distance_nm",
            self.min_shore_distance_nm,
            0.0,
            1e4,
        )?;
        // Navigational status 15 is "not defined": 0-14 are statuses (ITU-R M.1371).
        match self.anchored_nav_status.iter().find(|&&s| s > 14) {
            Some(s) => Err(format!(
                "loitering.anchored_nav_status = {s}: not a navigational status (0 to 14)"
            )),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Vessel {
    /// The segment this track follows (two transmitters sharing an MMSI are two segments).
    #[serde(default)]
    segment: u64,
    /// Checkpoint: time, lat, lon.
    ck: (i64, f64, f64),
    /// Speed over ground reported at the checkpoint, knots.
    #[serde(default)]
    ck_sog: Option<f32>,
    /// Slow run: start time and position, last time, sum of step speeds, steps.
    run: Option<Run>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    start_ms: i64,
    lat: f64,
    lon: f64,
    last_ms: i64,
    speed_sum: f64,
    steps: u32,
    shore_known: bool,
    open: Option<EventId>,
}

/// The loitering detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Loitering {
    #[serde(skip)]
    pub(crate) cfg: LoiteringConfig,
    /// Per MMSI, a track per segment heard within `max_step_gap_s` (nearly always one, kept
    /// in the table's entry: one memory access per fix, not two).
    #[serde(deserialize_with = "tracks")]
    vessels: FxHashMap<u32, Tracks>,
    /// Slow vessels per place at the latest tick.
    crowds: super::encounter::CrowdMap,
}

/// A vessel's tracks.
type Tracks = smallvec::SmallVec<[Vessel; 1]>;

/// The stored tracks: a list per MMSI, or one track (states saved before tracks per segment).
fn tracks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FxHashMap<u32, Tracks>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Many(Tracks),
        One(Vessel),
    }
    let m: FxHashMap<u32, Stored> = Deserialize::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, t)| match t {
            Stored::Many(v) => (k, v),
            Stored::One(v) => (k, smallvec::smallvec![v]),
        })
        .collect())
}

/// Ends a track's run, if any, at its last slow step.
fn end_run(ctx: &mut Ctx<'_>, v: &mut Vessel) {
    if let Some(id) = v.run.take().and_then(|r| r.open.map(|id| (id, r.last_ms))) {
        ctx.close(id.0, id.1);
    }
}

impl Loitering {
    /// A detector with this configuration.
    pub fn new(cfg: LoiteringConfig) -> Loitering {
        Loitering {
            cfg,
            vessels: FxHashMap::default(),
            crowds: Default::default(),
        }
    }
}

impl Detector for Loitering {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        let fix = f.fix;
        let tracks = self.vessels.entry(fix.mmsi).or_default();
        // Another transmitter on the MMSI (a shared or cloned MMSI: the segmenter keeps it
        // apart) is a track of its own; one silent for longer than a step may last is over.
        let gap_ms = self.cfg.max_step_gap_s as i64 * 1000;
        if tracks.iter().any(|v| v.segment != fix.segment) {
            tracks.retain_mut(|v| {
                let over = v.segment != fix.segment && fix.time_ms - v.ck.0 > gap_ms;
                if over {
                    end_run(ctx, v);
                }
                !over
            });
        }
        let Some(v) = tracks.iter_mut().find(|v| v.segment == fix.segment) else {
            tracks.push(Vessel {
                segment: fix.segment,
                ck: (fix.time_ms, fix.lat, fix.lon),
                ck_sog: fix.sog_knots.map(|s| s as f32),
                run: None,
            });
            return;
        };
        let dt_ms = fix.time_ms - v.ck.0;
        if dt_ms < self.cfg.speed_interval_s as i64 * 1000 {
            return;
        }
        let d = geom::distance_m(v.ck.1, v.ck.2, fix.lat, fix.lon);
        let speed = d / (dt_ms as f64 / 1000.0) / KNOT_MS;
        let anchored = fix
            .nav_status
            .is_some_and(|s| self.cfg.anchored_nav_status.contains(&s));
        let max = self.cfg.max_speed_knots;
        let under_way =
            fix.sog_knots.is_some_and(|s| s > max) && v.ck_sog.is_some_and(|s| s as f64 > max);
        // The cheap conditions first: the distance to shore (a lookup in a 52 MB grid) and the
        // crowd (a dozen lookups in the tick's map) are asked only of a step that could loiter.
        let could_be = speed < max
            && !under_way
            && dt_ms <= self.cfg.max_step_gap_s as i64 * 1000
            && !anchored
            && !ctx.any_port(f.zones);
        let shore = if could_be {
            ctx.world.distance_to_shore_m(fix.lat, fix.lon)
        } else {
            None
        };
        let slow = could_be
            && shore.is_none_or(|s| s >= self.cfg.min_shore_distance_nm * NM_M)
            && self.crowds.around(fix.lat, fix.lon) < self.cfg.crowd_min_vessels;
        let ck = v.ck;
        v.ck = (fix.time_ms, fix.lat, fix.lon);
        v.ck_sog = fix.sog_knots.map(|s| s as f32);
        if slow {
            let run = v.run.get_or_insert(Run {
                start_ms: ck.0,
                lat: ck.1,
                lon: ck.2,
                last_ms: ck.0,
                speed_sum: 0.0,
                steps: 0,
                shore_known: shore.is_some(),
                open: None,
            });
            run.last_ms = fix.time_ms;
            run.speed_sum += speed;
            run.steps += 1;
            let dur_ms = run.last_ms - run.start_ms;
            let mean = run.speed_sum / run.steps as f64;
            match run.open {
                None if dur_ms >= self.cfg.min_duration_s as i64 * 1000 => {
                    let mut e = ctx.new_event(
                        EventType::Loitering,
                        &[fix.mmsi],
                        run.start_ms,
                        run.lat,
                        run.lon,
                        "",
                    );
                    e.set("mean_speed_knots", (mean * 100.0).round() / 100.0);
                    e.set("duration_s", dur_ms / 1000);
                    e.set("distance_to_shore_m", shore.map(|s| s.round()));
                    e.add_evidence(
                        PosRef {
                            mmsi: fix.mmsi,
                            time_ms: run.start_ms,
                        },
                        &[],
                    );
                    e.add_evidence(
                        PosRef {
                            mmsi: fix.mmsi,
                            time_ms: fix.time_ms,
                        },
                        &fix.sources,
                    );
                    e.confidence = if run.shore_known { 1.0 } else { 0.8 };
                    run.open = Some(ctx.create(e));
                }
                Some(id) => {
                    if let Some(e) = ctx.event_mut(id) {
                        e.set("mean_speed_knots", (mean * 100.0).round() / 100.0);
                        e.set("duration_s", dur_ms / 1000);
                        e.last_ms = fix.time_ms;
                    }
                }
                None => {}
            }
        } else if let Some(run) = v.run.take() {
            if let Some(id) = run.open {
                if let Some(e) = ctx.event_mut(id) {
                    e.add_evidence(
                        PosRef {
                            mmsi: fix.mmsi,
                            time_ms: run.last_ms,
                        },
                        &fix.sources,
                    );
                }
                ctx.close(id, run.last_ms);
            }
        }
    }

    fn on_tick(&mut self, _ctx: &mut Ctx<'_>, _t: i64, samples: &[crate::engine::Sample]) {
        self.crowds = super::encounter::CrowdMap::new(
            samples,
            self.cfg.max_speed_knots,
            self.cfg.crowd_radius_m,
        );
    }

    fn forget(&mut self, ctx: &mut Ctx<'_>, before_ms: i64) {
        self.vessels.retain(|_, tracks| {
            tracks.retain_mut(|v| {
                let gone = v.ck.0 < before_ms;
                if gone {
                    end_run(ctx, v);
                }
                !gone
            });
            !tracks.is_empty()
        });
    }

    fn prefetch(&self, f: &crate::input::Fix) {
        let mmsi = f.mmsi;
        if let Some(v) = self.vessels.get(&mmsi).and_then(|t| t.first()) {
            super::prefetch(v);
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.vessels)
            + self
                .vessels
                .values()
                .filter(|t| t.spilled())
                .map(|t| t.capacity() * std::mem::size_of::<Vessel>())
                .sum::<usize>()
            + self.crowds.len() * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_saved_with_one_track_per_mmsi_still_load() {
        let one = r#"{"7":{"ck":[0,1.0,2.0],"run":null}}"#;
        let m = tracks(&mut serde_json::Deserializer::from_str(one)).unwrap();
        assert_eq!(m[&7].len(), 1);
        assert_eq!(m[&7][0].segment, 0);
        let many = r#"{"7":[{"segment":3,"ck":[0,1.0,2.0],"run":null},
                            {"segment":4,"ck":[5,1.0,2.0],"run":null}]}"#;
        let m = tracks(&mut serde_json::Deserializer::from_str(many)).unwrap();
        assert_eq!(m[&7].iter().map(|v| v.segment).collect::<Vec<_>>(), [3, 4]);
    }
}
