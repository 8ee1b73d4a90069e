//! Spoofing: impossible jumps, positions on land, circles drawn around a point, and one MMSI
//! in two places. One module because the four share per-MMSI track state: a spoofed episode
//! starts with a jump, and what follows decides which it is.
//!
//! Per MMSI the detector keeps the ends of up to two tracks (the current one and the one before
//! the last implausible hop). A fix is *plausible* from a track end when it is within
//! `min_jump_m` of it or reachable at `max_speed_knots`.
//! - **shared MMSI**: fixes keep hopping back and forth between two plausible tracks (two
//!   transmitters): `min_switches` hops within `switch_window_s` open the event; it closes once
//!   no hop was seen for `shared_close_s`.
//! - **jump**: a fix implausible from both tracks starts a candidate; if the old track stays
//!   silent for `confirm_s` while the new one reports, it is a `spoof_jump` (open), closed when
//!   a fix is plausible again from where the vessel was before the jump (it jumped back). If
//!   the old track reports within `confirm_s`, it was a hop of a shared MMSI instead. A hop
//!   along the vessel's own course line, by what its speed covers within two hours, is a
//!   report stamped with the wrong time: no jump (`spoof.time_shifted`).
//! - **land**: `min_land_fixes` consecutive fixes on land (outside port zones) open a
//!   `spoof_land`; the first fix at sea closes it. It claims the jump that led there (a
//!   confirmed jump event is withdrawn). Only a jump opens one: a vessel first heard on land,
//!   or that sailed there, is in a harbour basin, a fjord or a skerry the coarse coastline
//!   covers (`spoof.land_coastal`), or on a river or canal the land data does not have
//!   (inland by more than its resolution, [`World::is_inland`]: `spoof.land_without_jump`,
//!   reported with `report_land_without_jump`). Aids to navigation, coast stations and SAR
//!   aircraft are on land by nature and never make one.
//! - **circle**: steps of at least `circle_step_m` turning the same way add up to
//!   `min_circle_turns` full turns inside a box of `max_circle_diameter_m`: a `spoof_circle`,
//!   closed when the turning stops. It also claims the jump that led there. A circle the
//!   vessel was followed sailing into (no jump before it, heard before it began) is a vessel
//!   really circling and is not reported (`report_circles_sailed_into`).

use ais::mmsi::StationKind;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::config::check;
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::geom::{self, KNOT_MS};
use crate::input::{Fix, Identity};
#[cfg(doc)]
use crate::world::World;

/// Spoofing parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpoofConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Implied speed above this is impossible. Default 50 kn (AISdb's track splitter).
    pub max_speed_knots: f64,
    /// For a cargo ship or a tanker (ITU ship types 70-89, as its static reports say), above
    /// this. Default 30 kn: the fastest container ships make 25 kn, tankers 15-17.
    pub cargo_max_speed_knots: f64,
    /// Hops shorter than this are never jumps (GNSS glitches). Default 10000 m.
    pub min_jump_m: f64,
    /// A jump is confirmed when the old track stays silent this long. Default 600 s.
    pub confirm_s: u32,
    /// Hops between two tracks counted over this window. Default 3600 s.
    pub switch_window_s: u32,
    /// A shared MMSI closes after this long without a hop. Default 86400 s (GFW looks at
    /// identities overlapping for > 24 h).
    pub shared_close_s: u32,
    /// A hop is also impossible when its implied speed exceeds this many times the speed the
    /// vessel reports at either end (plus `speed_margin_knots`): a 12-knot tanker does not
    /// cover 60 nm in two hours between satellite passes. Default 1.5.
    pub reported_speed_factor: f64,
    /// See `reported_speed_factor`. Default 5 kn.
    pub speed_margin_knots: f64,
    /// The reported-speed bound applies only when the vessel reports at least this at one end
    /// (under way): a vessel stopped at both ends (moored, then moored 68 nm away twelve
    /// hours later) may have sailed at any speed between, and only `max_speed_knots` bounds
    /// it. Default 2 kn.
    pub reported_speed_min_knots: f64,
    /// Hops within the window that make a shared MMSI. Default 4.
    pub min_switches: u32,
    /// Consecutive fixes on land that make a land spoof. Default 3.
    pub min_land_fixes: u32,
    /// Step length of the circle detector. Default 200 m.
    pub circle_step_m: f64,
    /// Full turns that make a circle. Default 2.
    pub min_circle_turns: f64,
    /// The circles must fit in a box this wide. Default 15000 m.
    pub max_circle_diameter_m: f64,
    /// Circles seen in glimpses (satellite passes) count only positions reporting at least
    /// this speed: a stopped vessel draws no circle. Default 2 kn (GFW's loitering speed).
    pub circle_min_speed_knots: f64,
    /// Circles seen in glimpses: the positions' distance to the fitted centre may differ from
    /// the radius by this share of it (RMS), and each reported course from the tangent by
    /// `circle_max_course_off_deg`. Default 0.15.
    pub circle_max_misfit: f64,
    /// See `circle_max_misfit`. Default 30 degrees.
    pub circle_max_course_off_deg: f64,
    /// Report circles that the vessel was followed sailing into, step by step at plausible
    /// speeds, too. Default false: such a circle is a vessel really circling (a patrol, an
    /// escort waiting), not positions that are not its own; a circle is reported when a jump
    /// led to it or the vessel was first heard on it (counted as `spoof.circle_sailed_into`).
    pub report_circles_sailed_into: bool,
    /// Report positions on land that no impossible jump led to (the vessel was first heard
    /// there, or sailed there at plausible speeds) when they lie inland by more than the land
    /// data resolves. Default false: the land data has no inland waters, so these are nearly
    /// all vessels on rivers and canals (counted as `spoof.land_without_jump`; those within a
    /// cell of the coast, in harbours and fjords, as `spoof.land_coastal`, always).
    pub report_land_without_jump: bool,
}

impl Default for SpoofConfig {
    fn default() -> Self {
        SpoofConfig {
            enabled: true,
            max_speed_knots: 50.0,
            cargo_max_speed_knots: 30.0,
            min_jump_m: 10_000.0,
            confirm_s: 600,
            switch_window_s: 3_600,
            shared_close_s: 86_400,
            reported_speed_factor: 1.5,
            speed_margin_knots: 5.0,
            reported_speed_min_knots: 2.0,
            min_switches: 4,
            min_land_fixes: 3,
            circle_step_m: 200.0,
            min_circle_turns: 2.0,
            max_circle_diameter_m: 15_000.0,
            circle_min_speed_knots: 2.0,
            circle_max_misfit: 0.15,
            circle_max_course_off_deg: 30.0,
            report_circles_sailed_into: false,
            report_land_without_jump: false,
        }
    }
}

impl SpoofConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check("spoof.max_speed_knots", self.max_speed_knots, 1.0, 1_000.0)?;
        check(
            "spoof.cargo_max_speed_knots",
            self.cargo_max_speed_knots,
            1.0,
            1_000.0,
        )?;
        check(
            "spoof.reported_speed_min_knots",
            self.reported_speed_min_knots,
            0.0,
            100.0,
        )?;
        check("spoof.min_jump_m", self.min_jump_m, 0.0, 1e7)?;
        check("spoof.circle_step_m", self.circle_step_m, 10.0, 10_000.0)?;
        check("spoof.min_circle_turns", self.min_circle_turns, 0.5, 100.0)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct End {
    t: i64,
    lat: f64,
    lon: f64,
    #[serde(default)]
    sog: Option<f32>,
}

impl End {
    fn of(f: &Fix) -> End {
        End {
            t: f.time_ms,
            lat: f.lat,
            lon: f.lon,
            sog: f.sog_knots.map(|v| v as f32),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum JumpState {
    Candidate,
    Confirmed(EventId),
    /// Claimed by a land or circle episode: no event of its own, but the return is expected.
    Claimed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Jump {
    start_ms: i64,
    from: End,
    to: End,
    state: JumpState,
}

/// See `SpoofConfig::report_circles_sailed_into`.
const CIRCLE_FIRST_HEARD_MS: i64 = 600_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Circle {
    /// This run of turns was counted as sailed into.
    #[serde(default)]
    sailed_into_counted: bool,
    step: Option<End>,
    bearing: Option<f64>,
    turn_deg: f64,
    start_ms: i64,
    bbox: [f64; 4],
    open: Option<EventId>,
}

/// Circles seen in glimpses: positions far apart in time (satellite passes minutes long, hours
/// apart) cannot be followed step by step, but they still lie on one circle, each reported
/// course tangent to it, and the speed reported between them claims laps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Orbit {
    /// Positions kept (at least a minute apart, thinned to `ORBIT_MAX` evenly): time, lat,
    /// lon, course.
    pts: Vec<(i64, f64, f64, f32)>,
    /// The last position counted (time, speed over ground).
    last: Option<(i64, f32)>,
    /// Distance the reported speeds claim since the first position, metres.
    claimed_m: f64,
    /// Box of the positions: min lat, max lat, min lon, max lon.
    bbox: [f64; 4],
    open: Option<EventId>,
    /// Time of the newest position kept (the last of `pts`, here to spare a visit to the
    /// heap at every fix; `None` in a state saved before it was kept).
    #[serde(default)]
    kept_ms: Option<i64>,
    /// Positions still to keep before the circle is fitted again, after a fit that failed.
    #[serde(default)]
    refit_in: u8,
}

/// Positions an orbit keeps.
const ORBIT_MAX: usize = 64;

/// Positions kept (a minute or more apart) between fits that fail. On a real-mix replay, ferries
/// and harbour craft shuttling within a few kilometres claim laps of their box for hours; their
/// tracks were fitted at every new position (a tenth of detection's time) and failed every time
/// (no circle, or an arc of under half a turn). A circle is found at most this many positions
/// later.
const ORBIT_REFIT_AFTER: u8 = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Vessel {
    a: End,
    b: Option<End>,
    switches: Vec<i64>,
    shared: Option<(EventId, i64)>,
    jump: Option<Jump>,
    land: Option<(i64, u32, Option<EventId>, End)>,
    circle: Circle,
    #[serde(default)]
    orbit: Orbit,
    /// First heard (`None`: in a state saved before this was kept).
    #[serde(default)]
    first_ms: Option<i64>,
}

/// The spoofing detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spoof {
    #[serde(skip)]
    pub(crate) cfg: SpoofConfig,
    /// Boxed: the state moves out of the table and back for every fix.
    vessels: FxHashMap<u32, Box<Vessel>>,
}

/// Hops along the vessel's course line explained by a clock error are at most this far in
/// time (satellite data with a pass's time put on the wrong reports: tens of minutes).
const MAX_TIME_SHIFT_MS: i64 = 2 * 3_600_000;

/// ... and their bearing within this of the course (or its reciprocal), degrees ...
const TIME_SHIFT_COURSE_DEG: f64 = 15.0;

/// ... reported by a vessel under way at both ends (GFW's loitering speed), knots.
const TIME_SHIFT_MIN_SPEED_KNOTS: f64 = 2.0;

impl Spoof {
    /// A detector with this configuration.
    pub fn new(cfg: SpoofConfig) -> Spoof {
        Spoof {
            cfg,
            vessels: FxHashMap::default(),
        }
    }

    /// [`Detector::on_fix`] with the vessel table taken out of `self`.
    fn fix(&self, ctx: &mut Ctx<'_>, fc: &FixCtx<'_>, vessels: &mut FxHashMap<u32, Box<Vessel>>) {
        let f = fc.fix;
        let Some(v) = vessels.get_mut(&f.mmsi) else {
            vessels.insert(
                f.mmsi,
                Box::new(Vessel {
                    a: End::of(f),
                    b: None,
                    switches: Vec::new(),
                    shared: None,
                    jump: None,
                    land: None,
                    circle: Circle::default(),
                    orbit: Orbit::default(),
                    first_ms: Some(f.time_ms),
                }),
            );
            return;
        };
        let window = self.cfg.switch_window_s as i64 * 1000;
        let confirm = self.cfg.confirm_s as i64 * 1000;
        // The ship type is looked up only for a hop long enough to be a jump (most are not).
        let idents = ctx.idents;
        // Did the vessel come back to where it was before a jump?
        let back = v.jump.as_ref().is_some_and(|j| {
            j.state != JumpState::Candidate
                && !self.plausible(&v.a, f, idents)
                && self.plausible(&j.from, f, idents)
        });
        if back {
            if let Some(j) = v.jump.take() {
                if let JumpState::Confirmed(id) = j.state {
                    evidence(ctx, id, f);
                    ctx.close(id, f.time_ms);
                }
            }
            v.b = None;
            v.a = End::of(f);
        } else if self.plausible(&v.a, f, idents) {
            v.a = End::of(f);
            if let Some(j) = v.jump.as_mut() {
                j.to = End::of(f);
                if j.state == JumpState::Candidate
                    && f.time_ms - j.start_ms >= confirm
                    && v.land.is_none()
                    && v.circle.open.is_none()
                {
                    let d = geom::distance_m(j.from.lat, j.from.lon, f.lat, f.lon);
                    let mut e = ctx.new_event(
                        EventType::SpoofJump,
                        &[f.mmsi],
                        j.start_ms,
                        f.lat,
                        f.lon,
                        "",
                    );
                    let dt = ((j.start_ms - j.from.t) as f64 / 1000.0).max(1.0);
                    e.set("distance_m", d.round());
                    e.set("from_lat", j.from.lat);
                    e.set("from_lon", j.from.lon);
                    e.set("implied_speed_knots", (d / dt / KNOT_MS).round());
                    e.add_evidence(
                        PosRef {
                            mmsi: f.mmsi,
                            time_ms: j.from.t,
                        },
                        &[],
                    );
                    e.add_evidence(
                        PosRef {
                            mmsi: f.mmsi,
                            time_ms: j.start_ms,
                        },
                        &f.sources,
                    );
                    j.state = JumpState::Confirmed(ctx.create(e));
                }
            }
        } else if let Some(b) =
            v.b.filter(|b| f.time_ms - b.t <= window && self.plausible(b, f, idents))
        {
            // A hop back to the other track: two transmitters, not a jump.
            if v.jump
                .as_ref()
                .is_some_and(|j| j.state == JumpState::Candidate)
            {
                v.jump = None;
            }
            v.b = Some(v.a);
            v.a = End::of(f);
            let _ = b;
            v.switches.retain(|&t| f.time_ms - t <= window);
            v.switches.push(f.time_ms);
            if let Some((id, last)) = v.shared.as_mut() {
                *last = f.time_ms;
                let id = *id;
                if let Some(e) = ctx.event_mut(id) {
                    e.last_ms = f.time_ms;
                }
            } else if v.switches.len() as u32 >= self.cfg.min_switches {
                let start = v.switches[0];
                let mut e =
                    ctx.new_event(EventType::SharedMmsi, &[f.mmsi], start, f.lat, f.lon, "");
                if let Some(b) = v.b {
                    e.set("other_lat", b.lat);
                    e.set("other_lon", b.lon);
                    e.set(
                        "distance_m",
                        geom::distance_m(b.lat, b.lon, f.lat, f.lon).round(),
                    );
                }
                e.add_evidence(
                    PosRef {
                        mmsi: f.mmsi,
                        time_ms: f.time_ms,
                    },
                    &f.sources,
                );
                let id = ctx.create(e);
                v.shared = Some((id, f.time_ms));
            }
        } else if self.time_shifted(&v.a, f) {
            // Where the vessel's own course and speed would have it some minutes before or
            // after: a report stamped with the wrong time (a receiver's or a satellite pass's
            // clock), not a position that is not its own. The track goes on from it.
            ctx.count("spoof.time_shifted");
            v.a = End::of(f);
        } else {
            // Implausible from every track: a new track, and a jump candidate.
            if let Some(j) = v.jump.take() {
                if let JumpState::Confirmed(id) = j.state {
                    ctx.close(id, f.time_ms);
                }
            }
            if v.shared.is_none() {
                v.jump = Some(Jump {
                    start_ms: f.time_ms,
                    from: v.a,
                    to: End::of(f),
                    state: JumpState::Candidate,
                });
            }
            v.b = Some(v.a);
            v.a = End::of(f);
            v.circle = Circle {
                open: v.circle.open,
                ..Circle::default()
            };
        }
        if let Some((id, last)) = v.shared {
            if f.time_ms - last > self.cfg.shared_close_s as i64 * 1000 {
                ctx.close(id, last);
                v.shared = None;
                v.switches.clear();
            }
        }
        self.land(ctx, v, fc);
        self.circle(ctx, v, f);
        self.orbit(ctx, v, f);
    }

    /// Whether an implausible hop lies along the vessel's course line at a distance its
    /// steady speed covers within [`MAX_TIME_SHIFT_MS`]: both ends under way at about the same
    /// speed (within `speed_margin_knots`), the hop's bearing within
    /// [`TIME_SHIFT_COURSE_DEG`] of the new report's course or its reciprocal.
    fn time_shifted(&self, from: &End, f: &Fix) -> bool {
        let (Some(a), Some(b), Some(cog)) = (from.sog, f.sog_knots, f.cog_deg) else {
            return false;
        };
        let a = a as f64;
        let moving = TIME_SHIFT_MIN_SPEED_KNOTS;
        if a < moving || b < moving || (a - b).abs() > self.cfg.speed_margin_knots {
            return false;
        }
        let d = geom::distance_m(from.lat, from.lon, f.lat, f.lon);
        let shift_ms = d / ((a + b) / 2.0 * KNOT_MS) * 1000.0;
        if shift_ms > (MAX_TIME_SHIFT_MS + (f.time_ms - from.t).abs()) as f64 {
            return false;
        }
        let bearing = geom::bearing_deg(from.lat, from.lon, f.lat, f.lon);
        geom::angle_diff_deg(bearing, cog).min(geom::angle_diff_deg(bearing, cog + 180.0))
            <= TIME_SHIFT_COURSE_DEG
    }

    /// The fastest the vessel can sail: `max_speed_knots`, or `cargo_max_speed_knots` for a
    /// cargo ship or tanker.
    fn speed_cap(&self, idents: &FxHashMap<u32, Identity>, mmsi: u32) -> f64 {
        let cargo = idents
            .get(&mmsi)
            .and_then(|i| i.ship_type)
            .is_some_and(|t| (70..=89).contains(&t));
        if cargo {
            self.cfg.max_speed_knots.min(self.cfg.cargo_max_speed_knots)
        } else {
            self.cfg.max_speed_knots
        }
    }

    fn plausible(&self, from: &End, f: &Fix, idents: &FxHashMap<u32, Identity>) -> bool {
        let d = geom::distance_m(from.lat, from.lon, f.lat, f.lon);
        if d < self.cfg.min_jump_m {
            return true;
        }
        let dt = ((f.time_ms - from.t).abs() as f64 / 1000.0).max(1.0);
        let implied = d / dt / KNOT_MS;
        let hull = match (from.sog, f.sog_knots) {
            (Some(a), Some(b)) if (a as f64).max(b) >= self.cfg.reported_speed_min_knots => {
                (a as f64).max(b) * self.cfg.reported_speed_factor + self.cfg.speed_margin_knots
            }
            _ => f64::INFINITY,
        };
        implied <= self.speed_cap(idents, f.mmsi).min(hull)
    }
}

fn evidence(ctx: &mut Ctx<'_>, id: EventId, f: &Fix) {
    if let Some(e) = ctx.event_mut(id) {
        e.add_evidence(
            PosRef {
                mmsi: f.mmsi,
                time_ms: f.time_ms,
            },
            &f.sources,
        );
    }
}

/// A land or circle episode claims the jump that led to it.
fn claim(ctx: &mut Ctx<'_>, v: &mut Vessel) {
    if let Some(j) = v.jump.as_mut() {
        if let JumpState::Confirmed(id) = j.state {
            ctx.withdraw(id);
        }
        j.state = JumpState::Claimed;
    }
}

impl Detector for Spoof {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, fc: &FixCtx<'_>) {
        // The table is taken out while a vessel's entry is worked on in place (its methods
        // read only the configuration): one lookup per fix, not a removal and an insertion.
        let mut vessels = std::mem::take(&mut self.vessels);
        self.fix(ctx, fc, &mut vessels);
        self.vessels = vessels;
    }

    fn forget(&mut self, ctx: &mut Ctx<'_>, before_ms: i64) {
        let gone: Vec<u32> = self
            .vessels
            .iter()
            .filter(|(_, v)| v.a.t < before_ms)
            .map(|(m, _)| *m)
            .collect();
        for m in gone {
            let Some(v) = self.vessels.remove(&m) else {
                continue;
            };
            let end = v.a.t;
            let ids = [
                v.shared.map(|s| s.0),
                v.jump.and_then(|j| match j.state {
                    JumpState::Confirmed(id) => Some(id),
                    _ => None,
                }),
                v.land.and_then(|l| l.2),
                v.circle.open,
                v.orbit.open,
            ];
            for id in ids.into_iter().flatten() {
                ctx.close(id, end);
            }
        }
    }

    fn prefetch(&self, f: &Fix) {
        let mmsi = f.mmsi;
        if let Some(v) = self.vessels.get(&mmsi) {
            super::prefetch(&**v);
        }
    }

    fn memory_bytes(&self) -> usize {
        // The table holds boxes: each vessel's entry is a heap block of its own.
        table_bytes(&self.vessels)
            + self.vessels.len() * std::mem::size_of::<Vessel>()
            + self
                .vessels
                .values()
                .map(|v| v.switches.capacity() * 8 + v.orbit.pts.capacity() * 32)
                .sum::<usize>()
    }
}

impl Spoof {
    fn land(&self, ctx: &mut Ctx<'_>, v: &mut Vessel, fc: &FixCtx<'_>) {
        let f = fc.fix;
        // Aids to navigation and coast stations stand on land (a lighthouse, a base station
        // on a mast); SAR aircraft fly over it.
        let on_land_by_nature = matches!(
            ais::Mmsi(f.mmsi).kind(),
            StationKind::AidToNavigation | StationKind::Coast | StationKind::SarAircraft
        );
        let on_land = !on_land_by_nature
            && ctx.world.is_land(f.lat, f.lon) == Some(true)
            && !ctx.any_port(fc.zones);
        if !on_land {
            if let Some((_, _, Some(id), _)) = v.land.take() {
                evidence(ctx, id, f);
                ctx.close(id, f.time_ms);
            }
            return;
        }
        let run = v.land.get_or_insert((f.time_ms, 0, None, End::of(f)));
        run.1 += 1;
        if let Some(id) = run.2 {
            if let Some(e) = ctx.event_mut(id) {
                e.last_ms = f.time_ms;
            }
            return;
        }
        if run.1 >= self.cfg.min_land_fixes {
            // Spoofed positions are displaced from the vessel's track: an impossible hop
            // leads to them. A vessel first heard on land, or that sailed there, is in a
            // harbour basin, a fjord or among skerries the land data's coarse coastline
            // covers, or on a river or canal it does not have.
            if v.jump.is_none() {
                let inland = ctx.world.is_inland(f.lat, f.lon) == Some(true);
                if !(inland && self.cfg.report_land_without_jump) {
                    // Counted once a run, by where its third fix lies.
                    if run.1 == self.cfg.min_land_fixes {
                        ctx.count(if inland {
                            "spoof.land_without_jump"
                        } else {
                            "spoof.land_coastal"
                        });
                    }
                    return;
                }
            }
            let first = run.3;
            let mut e = ctx.new_event(
                EventType::SpoofLand,
                &[f.mmsi],
                run.0,
                first.lat,
                first.lon,
                "",
            );
            e.set("reported_lat", first.lat);
            e.set("reported_lon", first.lon);
            e.add_evidence(
                PosRef {
                    mmsi: f.mmsi,
                    time_ms: run.0,
                },
                &f.sources,
            );
            run.2 = Some(ctx.create(e));
            claim(ctx, v);
        }
    }

    fn circle(&self, ctx: &mut Ctx<'_>, v: &mut Vessel, f: &Fix) {
        // Sailed into: no jump before the circle and heard before it began (a circle begun
        // within 10 minutes of the first position counts as first heard on it).
        let sailed_into = v.jump.is_none()
            && v.first_ms
                .is_some_and(|t0| v.circle.start_ms - t0 > CIRCLE_FIRST_HEARD_MS);
        let c = &mut v.circle;
        let Some(step) = c.step else {
            *c = Circle {
                step: Some(End::of(f)),
                start_ms: f.time_ms,
                bbox: [f.lat, f.lat, f.lon, f.lon],
                ..std::mem::take(c)
            };
            return;
        };
        if geom::distance_m(step.lat, step.lon, f.lat, f.lon) < self.cfg.circle_step_m {
            return;
        }
        let b = geom::bearing_deg(step.lat, step.lon, f.lat, f.lon);
        c.step = Some(End::of(f));
        let turn = c.bearing.map_or(0.0, |a| geom::turn_deg(a, b));
        c.bearing = Some(b);
        let reset = turn.abs() > 60.0 || (turn * c.turn_deg < 0.0 && turn.abs() > 5.0);
        if reset {
            if let Some(id) = c.open.take() {
                ctx.close(id, step.t);
            }
            c.turn_deg = turn;
            c.start_ms = step.t;
            c.sailed_into_counted = false;
            c.bbox = [step.lat, step.lat, step.lon, step.lon];
        } else {
            c.turn_deg += turn;
        }
        c.bbox = [
            c.bbox[0].min(f.lat),
            c.bbox[1].max(f.lat),
            c.bbox[2].min(f.lon),
            c.bbox[3].max(f.lon),
        ];
        let diag = geom::distance_m(c.bbox[0], c.bbox[2], c.bbox[1], c.bbox[3]);
        if diag > self.cfg.max_circle_diameter_m {
            if let Some(id) = c.open.take() {
                ctx.close(id, step.t);
            }
            c.turn_deg = 0.0;
            c.start_ms = f.time_ms;
            c.sailed_into_counted = false;
            c.bbox = [f.lat, f.lat, f.lon, f.lon];
            return;
        }
        let turns = c.turn_deg.abs() / 360.0;
        if let Some(id) = c.open {
            if let Some(e) = ctx.event_mut(id) {
                e.set("turns", (turns * 10.0).round() / 10.0);
                e.last_ms = f.time_ms;
            }
        } else if turns >= self.cfg.min_circle_turns
            && v.orbit.open.is_none()
            && sailed_into
            && !self.cfg.report_circles_sailed_into
        {
            if !c.sailed_into_counted {
                c.sailed_into_counted = true;
                ctx.count("spoof.circle_sailed_into");
            }
        } else if turns >= self.cfg.min_circle_turns && v.orbit.open.is_none() {
            let (lat, lon) = ((c.bbox[0] + c.bbox[1]) / 2.0, (c.bbox[2] + c.bbox[3]) / 2.0);
            let mut e = ctx.new_event(EventType::SpoofCircle, &[f.mmsi], c.start_ms, lat, lon, "");
            e.set("turns", (turns * 10.0).round() / 10.0);
            e.set("radius_m", (diag / 2.0 / std::f64::consts::SQRT_2).round());
            e.set("center_lat", lat);
            e.set("center_lon", lon);
            e.add_evidence(
                PosRef {
                    mmsi: f.mmsi,
                    time_ms: f.time_ms,
                },
                &f.sources,
            );
            c.open = Some(ctx.create(e));
            claim(ctx, v);
        }
    }

    /// Circles seen in glimpses (see [`Orbit`]). A position reporting under
    /// `circle_min_speed_knots`, without a course, or widening the box past
    /// `max_circle_diameter_m` starts over (closing an open circle at the last position on it).
    fn orbit(&self, ctx: &mut Ctx<'_>, v: &mut Vessel, f: &Fix) {
        let (Some(sog), Some(cog)) = (f.sog_knots, f.cog_deg) else {
            return;
        };
        let o = &mut v.orbit;
        let bbox = [
            o.bbox[0].min(f.lat),
            o.bbox[1].max(f.lat),
            o.bbox[2].min(f.lon),
            o.bbox[3].max(f.lon),
        ];
        // The box's height alone may already say it is too wide (no trigonometry).
        let wide = (bbox[1] - bbox[0]) * geom::M_PER_DEG > self.cfg.max_circle_diameter_m
            || geom::distance_m(bbox[0], bbox[2], bbox[1], bbox[3])
                > self.cfg.max_circle_diameter_m;
        if o.pts.is_empty() || sog < self.cfg.circle_min_speed_knots || wide {
            if let Some(id) = o.open.take() {
                ctx.close(id, o.last.map_or(f.time_ms, |l| l.0));
            }
            let mut pts = std::mem::take(&mut o.pts);
            pts.clear();
            *o = Orbit {
                pts,
                ..Orbit::default()
            };
            if sog >= self.cfg.circle_min_speed_knots {
                o.pts.push((f.time_ms, f.lat, f.lon, cog as f32));
                o.kept_ms = Some(f.time_ms);
                o.last = Some((f.time_ms, sog as f32));
                o.bbox = [f.lat, f.lat, f.lon, f.lon];
            }
            return;
        }
        let Some((t0, s0)) = o.last else { return };
        if f.time_ms < t0 {
            return;
        }
        o.claimed_m += (s0 as f64 + sog) / 2.0 * KNOT_MS * (f.time_ms - t0) as f64 / 1000.0;
        o.last = Some((f.time_ms, sog as f32));
        o.bbox = bbox;
        let kept_ms = o.kept_ms.or_else(|| o.pts.last().map(|p| p.0));
        if kept_ms.is_some_and(|t| f.time_ms - t < 60_000) {
            return;
        }
        o.pts.push((f.time_ms, f.lat, f.lon, cog as f32));
        o.kept_ms = Some(f.time_ms);
        o.refit_in = o.refit_in.saturating_sub(1);
        if o.pts.len() > ORBIT_MAX {
            // Thin evenly, keeping the first and the newest.
            let last = o.pts.len() - 1;
            let mut k = 0;
            o.pts.retain(|_| {
                k += 1;
                (k - 1) % 2 == 0 || k - 1 == last
            });
        }
        if let Some(id) = o.open {
            let claimed = o.claimed_m;
            if let Some(e) = ctx.event_mut(id) {
                e.last_ms = f.time_ms;
                if let Some(c) = e.details.get("circumference_m").and_then(|c| c.as_f64()) {
                    e.set("turns", (claimed / c * 10.0).round() / 10.0);
                }
            }
            return;
        }
        if v.circle.open.is_some() || o.pts.len() < 8 || o.refit_in > 0 {
            return;
        }
        let sailed_into = v.jump.is_none()
            && v.first_ms
                .is_some_and(|t0| o.pts[0].0 - t0 > CIRCLE_FIRST_HEARD_MS);
        if sailed_into && !self.cfg.report_circles_sailed_into {
            return;
        }
        // Positions on a circle fit in a box no wider than its diameter (half as wide again
        // allows for positions off it by half the radius, far beyond the misfit allowed), so
        // the reported speeds must claim `min_circle_turns` laps of a circle that wide: a
        // track that does not loop is left here, before the fit (which was a tenth of
        // detection's time on a real-mix replay).
        let lat_m = (o.bbox[1] - o.bbox[0]) * geom::M_PER_DEG;
        let widest_lat = o.bbox[0].abs().max(o.bbox[1].abs()).min(90.0);
        let lon_m = (o.bbox[3] - o.bbox[2]) * geom::M_PER_DEG * widest_lat.to_radians().cos();
        let min_circumference = std::f64::consts::PI * lat_m.max(lon_m) / 1.5;
        if o.claimed_m < self.cfg.min_circle_turns * min_circumference {
            return;
        }
        let Some((clat, clon, r)) = self.fit_circle(&o.pts) else {
            o.refit_in = ORBIT_REFIT_AFTER;
            return;
        };
        let circumference = 2.0 * std::f64::consts::PI * r;
        let turns = o.claimed_m / circumference;
        if turns < self.cfg.min_circle_turns {
            o.refit_in = ORBIT_REFIT_AFTER;
            return;
        }
        let start = o.pts[0].0;
        let mut e = ctx.new_event(EventType::SpoofCircle, &[f.mmsi], start, clat, clon, "");
        e.set("turns", (turns * 10.0).round() / 10.0);
        e.set("radius_m", r.round());
        e.set("center_lat", clat);
        e.set("center_lon", clon);
        e.set("circumference_m", circumference.round());
        e.set("glimpses", true);
        e.add_evidence(
            PosRef {
                mmsi: f.mmsi,
                time_ms: start,
            },
            &[],
        );
        e.add_evidence(
            PosRef {
                mmsi: f.mmsi,
                time_ms: f.time_ms,
            },
            &f.sources,
        );
        o.open = Some(ctx.create(e));
        claim(ctx, v);
    }

    /// The circle through the positions (algebraic least-squares fit in a local plane), when
    /// they lie on it (RMS misfit within `circle_max_misfit` of the radius), spread around it
    /// (no empty half), and each course is tangent to it turning one way. Returns the centre
    /// and radius.
    fn fit_circle(&self, pts: &[(i64, f64, f64, f32)]) -> Option<(f64, f64, f64)> {
        let (lat0, lon0) = (pts[0].1, pts[0].2);
        // A local plane at the first position: one cosine for all (the positions lie within
        // `max_circle_diameter_m`, where the scale of a degree of longitude changes by less
        // than a part in a thousand).
        let east_m_per_deg = geom::M_PER_DEG * lat0.to_radians().cos();
        let xy: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| {
                let dlon = (p.2 - lon0 + 540.0).rem_euclid(360.0) - 180.0;
                (dlon * east_m_per_deg, (p.1 - lat0) * geom::M_PER_DEG)
            })
            .collect();
        // x^2 + y^2 + D x + E y + F = 0: normal equations of the 3 unknowns.
        let mut m = [[0.0f64; 4]; 3];
        for &(x, y) in &xy {
            let row = [x, y, 1.0];
            let rhs = -(x * x + y * y);
            for i in 0..3 {
                for j in 0..3 {
                    m[i][j] += row[i] * row[j];
                }
                m[i][3] += row[i] * rhs;
            }
        }
        let sol = solve3(m)?;
        let (cx, cy) = (-sol[0] / 2.0, -sol[1] / 2.0);
        let r2 = cx * cx + cy * cy - sol[2];
        if r2 <= 0.0 {
            return None;
        }
        let r = r2.sqrt();
        if r < self.cfg.circle_step_m || 2.0 * r > self.cfg.max_circle_diameter_m {
            return None;
        }
        let n = xy.len() as f64;
        let misfit = (xy
            .iter()
            .map(|&(x, y)| ((x - cx).hypot(y - cy) - r).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        if misfit > self.cfg.circle_max_misfit * r {
            return None;
        }
        // Courses tangent, all turning the same way (before the spread: it can fail at the
        // first position, where the spread sorts the angles of all).
        let mut sense = 0i32;
        for (&(x, y), p) in xy.iter().zip(pts) {
            // Bearing of the position from the centre; clockwise laps head 90 degrees right of it.
            let radial = (x - cx).atan2(y - cy).to_degrees();
            let (cw, ccw) = (radial + 90.0, radial - 90.0);
            let off_cw = geom::angle_diff_deg(p.3 as f64, cw);
            let off_ccw = geom::angle_diff_deg(p.3 as f64, ccw);
            let s = if off_cw <= self.cfg.circle_max_course_off_deg {
                1
            } else if off_ccw <= self.cfg.circle_max_course_off_deg {
                -1
            } else {
                return None;
            };
            if sense != 0 && s != sense {
                return None;
            }
            sense = s;
        }
        // Spread around the circle: no gap of half a turn between the positions' angles.
        let mut ang: Vec<f64> = xy.iter().map(|&(x, y)| (y - cy).atan2(x - cx)).collect();
        ang.sort_by(f64::total_cmp);
        let wrap = ang[0] + std::f64::consts::TAU - ang[ang.len() - 1];
        let gap = ang.windows(2).map(|w| w[1] - w[0]).fold(wrap, f64::max);
        if gap > std::f64::consts::PI {
            return None;
        }
        let m_per_deg_lon = geom::distance_m(lat0, lon0, lat0, lon0 + 1.0);
        let m_per_deg_lat = geom::distance_m(lat0, lon0, lat0 + 1.0, lon0);
        Some((lat0 + cy / m_per_deg_lat, lon0 + cx / m_per_deg_lon, r))
    }
}

/// Solves a 3x3 linear system given as an augmented matrix (Gaussian elimination with partial
/// pivoting); `None` when singular.
fn solve3(mut m: [[f64; 4]; 3]) -> Option<[f64; 3]> {
    for c in 0..3 {
        let p = (c..3).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))?;
        if m[p][c].abs() < 1e-9 {
            return None;
        }
        m.swap(c, p);
        let pivot = m[c];
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let k = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(pivot).skip(c) {
                    *x -= k * p;
                }
            }
        }
    }
    Some([m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]])
}
