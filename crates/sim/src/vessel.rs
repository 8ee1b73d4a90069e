//! One simulated vessel: its true motion (steering toward the active step's goal with a limited
//! rate of turn and acceleration along great circles), its plan, when it transmits (ITU-R
//! M.1371 reporting intervals), what it reports (GNSS noise, spoofing), and the ground truth of
//! what it does.

use crate::earth::{angle_diff, wrap360, LatLon, KNOT_MS, NM_M};
use crate::fleet::{self, Identity, Kind};
use crate::rng::Rng;
use crate::scenario::{
    AisMode, AisWindow, IdentityChange, Scenario, Step, StopMode, Until, VesselPlan,
};
use crate::truth::{OpenEvent, TruthEvent, Value, VesselRef};

/// Longest kinematic step while moving, ms (reports are at most this far apart under way for
/// class A; class B's 30 s reports get intermediate steps).
/// Loitering: mean speed under this (GFW).
const LOITER_KNOTS: f64 = 2.0;
const MAX_STEP_MS: i64 = 10_000;
/// Static and voyage data interval (ITU-R M.1371: every 6 min).
pub const STATIC_INTERVAL_MS: i64 = 360_000;
/// Class A long-range broadcast (type 27) interval: every 3 min.
pub const LONG_RANGE_INTERVAL_MS: i64 = 180_000;
/// Zone membership (for zone-visit truth) is checked this often.
pub const ZONE_CHECK_MS: i64 = 30_000;
/// A vessel is "changing course" for the reporting rate when turning faster than this.
pub const TURNING_DEG_PER_MIN: f64 = 5.0;

/// Class A reporting interval (ITU-R M.1371-5, Annex 1, Table 1), ms.
pub fn class_a_interval_ms(nav_status: u8, sog_knots: f64, turning: bool) -> i64 {
    let at_anchor = nav_status == 1 || nav_status == 5;
    if at_anchor && sog_knots <= 3.0 {
        180_000
    } else if at_anchor || sog_knots <= 14.0 {
        if turning && !at_anchor {
            3_333
        } else {
            10_000
        }
    } else if sog_knots <= 23.0 {
        if turning {
            2_000
        } else {
            6_000
        }
    } else {
        2_000
    }
}

/// Class B "CS" reporting interval (ITU-R M.1371-5, Table 2), ms: 3 min at 2 kn or less,
/// otherwise 30 s.
pub fn class_b_interval_ms(sog_knots: f64) -> i64 {
    if sog_knots <= 2.0 {
        180_000
    } else {
        30_000
    }
}

/// True state of a vessel.
#[derive(Debug, Clone, Copy)]
pub struct Kin {
    /// Position.
    pub pos: LatLon,
    /// Course over ground.
    pub cog: f64,
    /// Speed over ground.
    pub sog: f64,
    /// Heading (course plus a small drift angle).
    pub heading: f64,
    /// Rate of turn, degrees per minute.
    pub rot: f64,
}

/// A leader's state at one time, kept for the vessels that follow it.
#[derive(Debug, Clone, Copy)]
pub struct Snap {
    /// Time, ms.
    pub t: i64,
    /// State.
    pub kin: Kin,
    /// Its plan has ended.
    pub done: bool,
    /// Present (appeared).
    pub present: bool,
}

impl Snap {
    /// Dead-reckoned to `t`.
    fn at(&self, t: i64) -> Snap {
        let dt = (t - self.t) as f64 / 1000.0;
        let mut s = *self;
        if dt > 0.0 && self.kin.sog > 0.01 {
            s.kin.pos = self
                .kin
                .pos
                .destination(self.kin.cog, self.kin.sog * KNOT_MS * dt);
        }
        s.t = t;
        s
    }
}

/// The leader state at `t` from its snapshots (last one at or before `t`, dead-reckoned).
pub fn state_at(snaps: &[Snap], t: i64) -> Option<Snap> {
    let k = snaps.partition_point(|s| s.t <= t);
    if k == 0 {
        snaps.first().copied()
    } else {
        Some(snaps[k - 1].at(t))
    }
}

/// What kind of transmission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// Position report (type 1/3 class A, 18 class B).
    Position,
    /// Static data (type 5, or 24 A and B).
    Static,
    /// Long-range report (type 27).
    LongRange,
}

/// A transmission handed to the radio.
#[derive(Debug, Clone, Copy)]
pub struct Tx {
    /// Kind.
    pub kind: TxKind,
    /// Time, ms.
    pub t_ms: i64,
    /// Reported position (after noise or spoofing).
    pub pos: LatLon,
    /// Reported speed.
    pub sog: f64,
    /// Reported course.
    pub cog: f64,
    /// Reported heading.
    pub heading: f64,
    /// Rate of turn, deg/min.
    pub rot: f64,
    /// Navigational status.
    pub nav: u8,
}

/// Receives a vessel's transmissions (the radio channel and receivers).
pub trait TxSink {
    /// One transmission of `v`, of `kind`, with its AIS misbehaving as `mode` says: the sink
    /// decides who hears it and asks [`Vessel::report`] for its contents only then.
    fn transmit(&mut self, v: &mut Vessel, kind: TxKind, mode: Option<AisMode>);
}

/// Where a transmitter really is (receivers hear it from there, whatever it reports).
#[derive(Debug, Clone, Copy)]
pub struct Here {
    /// Time, ms.
    pub t_ms: i64,
    /// True position.
    pub pos: LatLon,
    /// Cosine of its latitude.
    pub cos_lat: f64,
    /// Its unit vector (refreshed each minute: for satellite footprints).
    pub unit: [f64; 3],
}

/// What a sailing path leads to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Arrival {
    /// The step ends.
    Done,
    /// A stop at a port (truth `port_call`).
    Port { port: usize, stay_ms: i64 },
}

/// The runtime state of the step being carried out.
#[derive(Debug, Clone)]
enum Active {
    Path {
        points: Vec<LatLon>,
        idx: usize,
        speed: f64,
        nav: u8,
        arrival: Arrival,
    },
    Stop {
        mode: StopMode,
        end_ms: i64,
        anchor: LatLon,
        drift_course: f64,
        drift_speed: f64,
    },
    Loiter {
        end_ms: i64,
        center: LatLon,
        radius_m: f64,
        speed: f64,
        goal: LatLon,
    },
    Escort {
        target: usize,
        distance_m: f64,
        bearing_deg: f64,
        end_ms: Option<i64>,
        label: &'static str,
        joined: bool,
    },
    Harass {
        target: usize,
        passes_left: u32,
        cpa_m: f64,
        speed: f64,
        side: f64,
        extending: bool,
        setup: bool,
        committed: bool,
        course: f64,
        pass: Option<Pass>,
        last_rel: Option<(f64, f64)>,
    },
    Meet {
        target: usize,
        stay_ms: i64,
        distance_m: f64,
        since: Option<i64>,
        /// East and north offset from the other ship while alongside.
        offset: (f64, f64),
    },
    /// Plan finished: stopped where it is.
    Idle,
}

#[derive(Debug, Clone, Copy)]
struct Pass {
    start_ms: i64,
    min_m: f64,
    min_t: i64,
    min_pos: LatLon,
    target_sog: f64,
}

/// Distance and bearing to the waypoint being steered for, as last computed on the great
/// circle. Far from it (over 20 km) they change slowly, so they are recomputed once a minute
/// and the distance run since is subtracted in between.
#[derive(Debug, Clone, Copy)]
struct Goal {
    idx: usize,
    point: LatLon,
    t: i64,
    distance_m: f64,
    bearing: f64,
}

/// Background traffic: which lane, and the slot's identity generation.
#[derive(Debug, Clone)]
pub struct TrafficState {
    /// Slot (which of the `vessels` this is).
    pub slot: u32,
    /// How many identities this slot has had.
    pub generation: u32,
    /// Index of the slot among its flag's slots (for distinct MMSIs).
    pub flag_serial: u32,
    /// Flag.
    pub flag: &'static str,
    /// Lane being sailed.
    pub lane: usize,
    /// Sailing it from its first to its last point.
    pub forward: bool,
    /// Offset from the centre line, as a share of the half width.
    pub offset: f64,
    /// Calling at a port (the stay ends the current step).
    pub at_port: bool,
}

/// A simulated vessel.
#[derive(Debug, Clone)]
pub struct Vessel {
    /// Global id: orders output and seeds the random stream.
    pub uid: u32,
    /// Scenario id (scripted and swarm vessels).
    pub id: Option<String>,
    /// Current identity.
    pub ident: Identity,
    /// Kind.
    pub kind: Kind,
    /// Class B transponder.
    pub class_b: bool,
    /// Cruising speed.
    pub cruise: f64,
    /// Top speed.
    pub max_speed: f64,
    /// Acceleration, kn/s.
    pub accel: f64,
    /// Largest rate of turn, deg/s.
    pub turn: f64,
    /// True state.
    pub kin: Kin,
    /// Navigational status.
    pub nav: u8,
    /// Random stream.
    pub rng: Rng,
    /// Time of `kin`, ms.
    pub t: i64,
    /// When it appears.
    pub appears_ms: i64,
    /// Gone for good (a traffic slot reborn as a new vessel keeps its `Vessel`).
    pub gone: bool,
    /// Next position report.
    pub next_pos_ms: i64,
    /// Next static report.
    pub next_static_ms: i64,
    /// Next long-range report (class A).
    pub next_lr_ms: i64,
    /// Transmissions so far (orders output, picks sequence ids).
    pub ordinal: u32,
    /// Plan.
    steps: Vec<Step>,
    step: usize,
    active: Option<Box<Active>>,
    /// Local indices (within the shard) of the vessels the steps follow.
    pub targets: Vec<usize>,
    ais: Vec<AisWindow>,
    ais_idx: usize,
    ais_open: Option<OpenEvent>,
    changes: Vec<IdentityChange>,
    change_idx: usize,
    /// Watch-list reason.
    pub watchlist: Option<String>,
    /// Swarm it belongs to.
    pub swarm: Option<usize>,
    /// Traffic slot state.
    pub traffic: Option<TrafficState>,
    /// Open zone visits by zone (index into the scenario's zones, then its port areas).
    zone_open: Vec<(usize, OpenEvent)>,
    step_open: Vec<OpenEvent>,
    /// Scripted escort group: vessels joined by `escort` steps (not `shadowing`) share one.
    pub escort_group: Option<u32>,
    /// Snapshots of this window (the first is the state at the window start).
    pub snaps: Vec<Snap>,
    first_tx_ms: Option<i64>,
    last_tx_ms: Option<i64>,
    /// Moored in its swarm since (for the swarm truth).
    pub swarm_moored: Option<(i64, i64)>,
    drift_angle: f64,
    /// This step, the vessel is moored alongside: the leader's state and the offset from it.
    pinned: Option<(Kin, f64, f64)>,
    goal: Option<Goal>,
    run_since_goal_m: f64,
    next_zone_ms: i64,
    cos_lat: (f64, f64),
    unit: Option<(i64, [f64; 3])>,
}

/// What a vessel needs from the rest of the simulation while it moves.
#[derive(Debug)]
pub struct World<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Snapshots of the earlier vessels of the shard (leaders), indexed like the shard.
    pub leaders: &'a [Vessel],
    /// Closed truth events.
    pub truth: &'a mut Vec<TruthEvent>,
}

impl Vessel {
    /// A vessel from its resolved plan; `scripted` vessels keep their scenario id in truth.
    pub fn new(uid: u32, plan: VesselPlan, scripted: bool, course: f64, seed: u64) -> Vessel {
        let VesselPlan {
            id,
            identity: ident,
            kind,
            class_b,
            cruise_knots: cruise,
            position,
            appears_ms,
            steps,
            ais,
            identity_changes: changes,
            watchlist,
            swarm,
            ..
        } = plan;
        let id = scripted.then_some(id);
        let p = kind.profile();
        let mut rng = Rng::new(seed, uid as u64);
        let first_static = appears_ms + rng.below(STATIC_INTERVAL_MS as u64) as i64;
        let first_lr = appears_ms + rng.below(LONG_RANGE_INTERVAL_MS as u64) as i64;
        let first_pos = appears_ms + rng.below(2000) as i64;
        let drift_angle = rng.range(-3.0, 3.0);
        Vessel {
            uid,
            id,
            ident,
            kind,
            class_b,
            cruise,
            max_speed: p.max_knots.max(cruise),
            accel: p.accel_knots_s,
            turn: p.turn_deg_s,
            kin: Kin {
                pos: position,
                cog: course.rem_euclid(360.0),
                sog: 0.0,
                heading: course.rem_euclid(360.0),
                rot: 0.0,
            },
            nav: 0,
            rng,
            t: appears_ms,
            appears_ms,
            gone: false,
            next_pos_ms: first_pos,
            next_static_ms: first_static,
            next_lr_ms: first_lr,
            ordinal: 0,
            steps,
            step: 0,
            active: None,
            targets: Vec::new(),
            ais,
            ais_idx: 0,
            ais_open: None,
            changes,
            change_idx: 0,
            watchlist,
            swarm,
            traffic: None,
            zone_open: Vec::new(),
            step_open: Vec::new(),
            escort_group: None,
            snaps: Vec::new(),
            first_tx_ms: None,
            last_tx_ms: None,
            swarm_moored: None,
            drift_angle,
            pinned: None,
            goal: None,
            run_since_goal_m: 0.0,
            next_zone_ms: i64::MIN,
            cos_lat: (f64::NAN, 1.0),
            unit: None,
        }
    }

    /// Cosine of the current latitude (computed once per position).
    fn cos_lat(&mut self) -> f64 {
        if self.cos_lat.0 != self.kin.pos.lat {
            self.cos_lat = (self.kin.pos.lat, crate::earth::cos_deg(self.kin.pos.lat));
        }
        self.cos_lat.1
    }

    /// Unit vector of the position, refreshed once a minute (a vessel moves under a
    /// kilometre in that time; satellite footprints are thousands of kilometres across).
    fn unit(&mut self) -> [f64; 3] {
        match self.unit {
            Some((t, u)) if (0..60_000).contains(&(self.t - t)) => u,
            _ => {
                let u = self.kin.pos.unit();
                self.unit = Some((self.t, u));
                u
            }
        }
    }

    /// Distance to waypoint `idx` at `point` (and its bearing in `self.goal`).
    fn goal_distance(&mut self, point: LatLon, idx: usize) -> f64 {
        if let Some(g) = self.goal {
            let d = g.distance_m - self.run_since_goal_m;
            if g.idx == idx && g.point == point && self.t - g.t < 60_000 && d > 20_000.0 {
                return d;
            }
        }
        let d = self.kin.pos.distance_m(point);
        self.goal = Some(Goal {
            idx,
            point,
            t: self.t,
            distance_m: d,
            bearing: self.kin.pos.bearing_deg(point),
        });
        self.run_since_goal_m = 0.0;
        d
    }

    /// Starts already sailing at `speed` (traffic placed mid-voyage).
    pub fn set_under_way(&mut self, speed: f64) {
        self.kin.sog = speed;
    }

    /// Reference for truth events.
    pub fn vref(&self) -> VesselRef {
        VesselRef {
            mmsi: self.ident.mmsi,
            id: self.id.clone(),
            name: self.ident.name.clone(),
        }
    }

    fn snap(&self) -> Snap {
        Snap {
            t: self.t,
            kin: self.kin,
            done: self.active.is_none() && self.step >= self.steps.len()
                || matches!(self.active.as_deref(), Some(Active::Idle)),
            present: self.t >= self.appears_ms && !self.gone,
        }
    }

    /// Starts a window: the vessel keeps only its current state (then every step's, for its
    /// followers and the close-pass watcher).
    pub fn begin_window(&mut self) {
        self.snaps.clear();
        self.snaps.push(self.snap());
    }

    /// Moves and transmits up to (not including) `t1`.
    pub fn advance(&mut self, t1: i64, world: &mut World<'_>, radio: &mut dyn TxSink) {
        if self.gone {
            return;
        }
        if self.t < self.appears_ms {
            if self.appears_ms >= t1 {
                return;
            }
            self.t = self.appears_ms;
        }
        loop {
            let moving = self.kin.sog > 0.3 || self.wants_to_move();
            let mut t_next = self.next_pos_ms.min(self.next_static_ms);
            if !self.class_b {
                t_next = t_next.min(self.next_lr_ms);
            }
            if moving {
                t_next = t_next.min(self.t + MAX_STEP_MS);
            } else {
                t_next = t_next.min(self.t + 180_000);
            }
            if let Some(e) = self.event_ms() {
                t_next = t_next.min(e.max(self.t + 1));
            }
            if let Some(w) = self.ais.get(self.ais_idx) {
                let edge = if self.ais_open.is_some() {
                    w.end_ms
                } else {
                    w.start_ms
                };
                t_next = t_next.min(edge.max(self.t + 1));
            }
            if let Some(c) = self.changes.get(self.change_idx) {
                t_next = t_next.min(c.at_ms.max(self.t + 1));
            }
            t_next = t_next.max(self.t + 1);
            if t_next >= t1 {
                break;
            }
            self.step_to(t_next, world);
            if self.gone {
                return;
            }
            self.snaps.push(self.snap());
            self.apply_identity_changes(world);
            self.update_ais_windows(world);
            self.transmissions(radio);
        }
    }

    fn wants_to_move(&self) -> bool {
        matches!(
            self.active.as_deref(),
            None | Some(Active::Path { .. })
                | Some(Active::Loiter { .. })
                | Some(Active::Escort { .. })
                | Some(Active::Harass { .. })
                | Some(Active::Meet { .. })
        )
    }

    /// The next time the active step changes by itself.
    fn event_ms(&self) -> Option<i64> {
        match self.active.as_deref() {
            Some(Active::Stop { end_ms, .. }) | Some(Active::Loiter { end_ms, .. }) => {
                Some(*end_ms)
            }
            _ => None,
        }
    }

    fn step_to(&mut self, t: i64, world: &mut World<'_>) {
        let dt = (t - self.t) as f64 / 1000.0;
        self.t = t;
        if self.active.is_none() {
            self.activate_next(world);
        }
        let (course, speed, nav) = self.control(dt, world);
        self.nav = nav;
        match self.pinned.take() {
            // Moored alongside another ship: moves with it.
            Some((leader, east, north)) => {
                self.kin.pos = leader.pos.offset_m(east, north);
                self.kin.sog = leader.sog;
                self.kin.cog = leader.cog;
                self.kin.heading = leader.heading;
                self.kin.rot = 0.0;
            }
            None => self.steer(dt, course, speed),
        }
        self.check_zones(world);
    }

    /// Turns toward `course` and accelerates toward `speed` for `dt` seconds, then moves.
    fn steer(&mut self, dt: f64, course: f64, speed: f64) {
        if dt <= 0.0 {
            return;
        }
        let speed = speed.clamp(0.0, self.max_speed);
        let diff = angle_diff(course, self.kin.cog);
        // Ships turn only with way on; at a standstill the heading swings slowly.
        let turn_limit = if self.kin.sog < 0.5 { 0.05 } else { self.turn } * dt;
        let turn = diff.clamp(-turn_limit, turn_limit);
        let dv = (speed - self.kin.sog).clamp(-2.0 * self.accel * dt, self.accel * dt);
        let sog0 = self.kin.sog;
        self.kin.sog = (self.kin.sog + dv).max(0.0);
        let mid = self.kin.cog + turn / 2.0;
        self.kin.cog = wrap360(self.kin.cog + turn);
        self.kin.rot = if self.kin.sog < 0.5 {
            0.0
        } else {
            turn / dt * 60.0
        };
        let dist = (sog0 + self.kin.sog) / 2.0 * KNOT_MS * dt;
        if dist > 0.01 {
            let cos_lat = self.cos_lat();
            self.kin.pos = self.kin.pos.step_at(mid, dist, cos_lat);
            self.run_since_goal_m += dist;
        }
        let drift = if self.kin.sog < 0.5 {
            0.0
        } else {
            self.drift_angle
        };
        self.kin.heading = wrap360(self.kin.cog + drift);
    }

    fn leader(&self, k: usize, world: &World<'_>) -> Option<Snap> {
        let local = *self.targets.get(k)?;
        let l = world.leaders.get(local)?;
        state_at(&l.snaps, self.t)
    }

    /// Which entry of `targets` the step just activated follows: `targets` holds the local
    /// index of each following step's target, in plan order.
    fn target_slot(&self) -> usize {
        self.steps[..self.step.min(self.steps.len())]
            .iter()
            .filter(|s| s.target().is_some())
            .count()
            .saturating_sub(1)
    }

    fn activate_next(&mut self, world: &mut World<'_>) {
        if self.step >= self.steps.len() {
            if let Some(tr) = self.traffic.clone() {
                self.next_voyage(tr, world);
                return;
            }
            self.active = Some(Box::new(Active::Idle));
            // Idle at sea is loitering; at anchor or moored (where a port call left her), or in
            // a port, it is not (GFW loitering is away from ports; a port visit is its own).
            let in_port = world
                .scenario
                .world
                .ports
                .iter()
                .any(|p| p.anchorage.distance_m(self.kin.pos) <= p.radius_m);
            if !matches!(self.nav, 1 | 5) && !in_port {
                self.open_step_event("loitering", world, vec![("after_plan", Value::Bool(true))]);
            }
            return;
        }
        let step = self.steps[self.step].clone();
        self.step += 1;
        let now = self.t;
        self.active = Some(Box::new(match step {
            Step::Sail {
                points,
                speed_knots,
            } => Active::Path {
                points,
                idx: 0,
                speed: speed_knots,
                nav: 0,
                arrival: Arrival::Done,
            },
            Step::Lane {
                lane,
                reverse,
                speed_knots,
            } => {
                let l = &world.scenario.world.lanes[lane];
                let forward = !reverse;
                let offset = self.rng.range(0.15, 0.9);
                let points = lane_points(l, forward, offset);
                let idx = nearest_ahead(&points, self.kin.pos);
                Active::Path {
                    points,
                    idx,
                    speed: speed_knots,
                    nav: 0,
                    arrival: Arrival::Done,
                }
            }
            Step::PortCall { port, stay_ms } => self.port_approach(port, stay_ms, world),
            Step::Stop { mode, until } => {
                let end_ms = match until {
                    Until::For(d) => now + d,
                    Until::At(t) => t,
                };
                if mode == StopMode::Drift {
                    self.open_step_event("loitering", world, vec![("drifting", Value::Bool(true))]);
                }
                if mode == StopMode::Moor && self.swarm.is_some() {
                    self.swarm_moored = Some((now, end_ms));
                }
                self.stop(mode, end_ms)
            }
            Step::Loiter {
                stay_ms,
                radius_m,
                speed_knots,
            } => {
                self.open_step_event("loitering", world, vec![("radius_m", Value::Num(radius_m))]);
                let center = self.kin.pos;
                Active::Loiter {
                    end_ms: now + stay_ms,
                    center,
                    radius_m,
                    speed: speed_knots,
                    goal: center,
                }
            }
            Step::Survey {
                lines,
                length_m,
                spacing_m,
                heading_deg,
                speed_knots,
            } => {
                let mut points = Vec::with_capacity(2 * lines as usize);
                let mut a = self.kin.pos;
                for k in 0..lines {
                    let h = if k % 2 == 0 {
                        heading_deg
                    } else {
                        heading_deg + 180.0
                    };
                    let b = a.destination(h, length_m);
                    points.push(b);
                    if k + 1 < lines {
                        a = b.destination(heading_deg + 90.0, spacing_m);
                        points.push(a);
                    }
                }
                self.open_step_event(
                    "survey",
                    world,
                    vec![
                        ("lines", Value::Int(lines as i64)),
                        ("length_m", Value::Num(length_m)),
                        ("spacing_m", Value::Num(spacing_m)),
                    ],
                );
                Active::Path {
                    points,
                    idx: 0,
                    speed: speed_knots,
                    nav: 3,
                    arrival: Arrival::Done,
                }
            }
            Step::Escort {
                target: _,
                distance_m,
                bearing_deg,
                stay_ms,
                label,
            } => Active::Escort {
                target: self.target_slot(),
                distance_m,
                bearing_deg,
                end_ms: stay_ms.map(|d| now + d),
                label,
                joined: false,
            },
            Step::Harass {
                target: _,
                passes,
                cpa_m,
                speed_knots,
            } => Active::Harass {
                target: self.target_slot(),
                passes_left: passes.max(1),
                cpa_m,
                speed: speed_knots,
                side: 1.0,
                extending: false,
                setup: true,
                committed: false,
                course: self.kin.cog,
                pass: None,
                last_rel: None,
            },
            Step::Meet {
                target: _,
                stay_ms,
                distance_m,
            } => Active::Meet {
                target: self.target_slot(),
                stay_ms,
                distance_m,
                since: None,
                offset: (0.0, 0.0),
            },
        }));
    }

    fn stop(&mut self, mode: StopMode, end_ms: i64) -> Active {
        Active::Stop {
            mode,
            end_ms,
            anchor: self.kin.pos,
            drift_course: self.rng.range(0.0, 360.0),
            drift_speed: self.rng.range(0.2, 0.7),
        }
    }

    fn port_approach(&mut self, port: usize, stay_ms: i64, world: &World<'_>) -> Active {
        let p = &world.scenario.world.ports[port];
        let berth = p.anchorage.destination(
            self.rng.range(0.0, 360.0),
            p.radius_m * 0.8 * self.rng.f64().sqrt(),
        );
        Active::Path {
            points: vec![berth],
            idx: 0,
            speed: self.cruise,
            nav: 0,
            arrival: Arrival::Port { port, stay_ms },
        }
    }

    fn open_step_event(
        &mut self,
        kind: &'static str,
        _world: &World<'_>,
        details: Vec<(&'static str, Value)>,
    ) {
        self.step_open.push(OpenEvent {
            kind,
            start_ms: self.t,
            position: self.kin.pos,
            vessels: vec![self.vref()],
            details,
        });
    }

    fn close_step_events(&mut self, world: &mut World<'_>) {
        for e in self.step_open.drain(..) {
            world.truth.push(e.close(self.t, false));
        }
    }

    fn finish_step(&mut self, world: &mut World<'_>) {
        self.close_step_events(world);
        self.active = None;
        self.activate_next(world);
    }

    /// Desired course, speed and nav status for the next `dt` seconds.
    fn control(&mut self, dt: f64, world: &mut World<'_>) -> (f64, f64, u8) {
        let keep = (self.kin.cog, 0.0, 0u8);
        let Some(active) = self.active.take() else {
            return keep;
        };
        let (next, out) = self.run_active(active, dt, world);
        if let Some(a) = next {
            if self.active.is_none() {
                self.active = Some(a);
            }
        }
        out
    }

    fn run_active(
        &mut self,
        mut a: Box<Active>,
        dt: f64,
        world: &mut World<'_>,
    ) -> (Option<Box<Active>>, (f64, f64, u8)) {
        let now = self.t;
        match &mut *a {
            Active::Path {
                points,
                idx,
                speed,
                nav,
                arrival,
            } => {
                // A vessel stopping at the last point (a berth, an anchorage) must reach it;
                // at other points it turns for the next leg a turning radius early.
                let stops_after = matches!(arrival, Arrival::Port { .. })
                    || matches!(self.steps.get(self.step), Some(Step::Stop { .. }));
                let step_m = self.kin.sog * KNOT_MS * dt;
                let turn_radius = (self.kin.sog * KNOT_MS / self.turn.to_radians().max(1e-3))
                    .clamp(150.0, 2_000.0);
                let mut goal_d = 0.0;
                while *idx < points.len() {
                    let last = *idx + 1 == points.len();
                    let d = self.goal_distance(points[*idx], *idx);
                    goal_d = d;
                    let reached = if last && stops_after {
                        // Only once she has lost way; otherwise come round and try again.
                        d < 150.0 + step_m && self.kin.sog <= 2.0
                    } else {
                        d < turn_radius + step_m
                    };
                    if !reached {
                        break;
                    }
                    *idx += 1;
                }
                if *idx >= points.len() {
                    let arrival = *arrival;
                    return match arrival {
                        Arrival::Done => {
                            self.finish_step(world);
                            (None, self.hold_course())
                        }
                        Arrival::Port { port, stay_ms } => {
                            let p = &world.scenario.world.ports[port];
                            self.step_open.push(OpenEvent {
                                kind: "port_call",
                                start_ms: now,
                                position: self.kin.pos,
                                vessels: vec![self.vref()],
                                details: vec![
                                    ("port", Value::Text(p.code.clone())),
                                    ("port_name", Value::Text(p.name.clone())),
                                ],
                            });
                            let s = self.stop(StopMode::Anchor, now + stay_ms);
                            (Some(Box::new(s)), (self.kin.cog, 0.0, 1))
                        }
                    };
                }
                let course = self.goal.map_or(self.kin.cog, |g| g.bearing);
                let mut v = *speed;
                if *idx + 1 == points.len() && stops_after {
                    // Slow down to stop there (braking at the deceleration `steer` allows).
                    let d = (goal_d - 100.0).max(0.0);
                    let brake_ms2 = 2.0 * self.accel * KNOT_MS;
                    v = v.min(((2.0 * brake_ms2 * d).sqrt() / KNOT_MS * 0.8).max(0.8));
                }
                let n = *nav;
                (Some(a), (course, v, n))
            }
            Active::Stop {
                mode,
                end_ms,
                anchor,
                drift_course,
                drift_speed,
            } => {
                if now >= *end_ms {
                    if *mode == StopMode::Moor && self.swarm.is_some() {
                        self.swarm_moored = self.swarm_moored.map(|(s, _)| (s, now));
                    }
                    self.finish_step(world);
                    return (None, self.hold_course());
                }
                match mode {
                    StopMode::Drift => {
                        *drift_course += self.rng.normal() * 2.0;
                        *drift_speed = (*drift_speed + self.rng.normal() * 0.03).clamp(0.1, 0.9);
                        let c = *drift_course;
                        let s = *drift_speed;
                        (Some(a), (c, s, 0))
                    }
                    StopMode::Anchor | StopMode::Moor => {
                        let n = if *mode == StopMode::Anchor { 1 } else { 5 };
                        if self.kin.sog > 0.3 {
                            // Still losing way: the anchor goes down where she stops.
                            *anchor = self.kin.pos;
                            let c = self.kin.cog;
                            return (Some(a), (c, 0.0, n));
                        }
                        // Hold the berth: creep back when pushed off it.
                        let d = self.kin.pos.distance_m(*anchor);
                        if d > 120.0 {
                            let c = self.kin.pos.bearing_deg(*anchor);
                            (Some(a), (c, 1.0, n))
                        } else {
                            let c = self.kin.cog;
                            (Some(a), (c, 0.0, n))
                        }
                    }
                }
            }
            Active::Loiter {
                end_ms,
                center,
                radius_m,
                speed,
                goal,
            } => {
                if now >= *end_ms {
                    self.finish_step(world);
                    return (None, self.hold_course());
                }
                if self.kin.pos.distance_m(*goal) < 150.0 {
                    *goal = center.destination(
                        self.rng.range(0.0, 360.0),
                        *radius_m * self.rng.f64().sqrt(),
                    );
                }
                let c = self.kin.pos.bearing_deg(*goal);
                let s = *speed;
                (Some(a), (c, s, 0))
            }
            Active::Escort {
                target,
                distance_m,
                bearing_deg,
                end_ms,
                label,
                joined,
            } => {
                let Some(l) = self.leader(*target, world) else {
                    self.finish_step(world);
                    return (None, self.hold_course());
                };
                if end_ms.is_some_and(|e| now >= e) || (l.done && *joined) || !l.present && *joined
                {
                    self.finish_step(world);
                    return (None, self.hold_course());
                }
                let station = l.kin.pos.destination(l.kin.cog + *bearing_deg, *distance_m);
                let gap = self.kin.pos.distance_m(station);
                if !*joined && gap < (*distance_m * 0.5).max(800.0) {
                    *joined = true;
                    let lv = self.leader_ref(*target, world);
                    self.step_open.push(OpenEvent {
                        kind: label,
                        start_ms: now,
                        position: self.kin.pos,
                        vessels: vec![lv, self.vref()],
                        details: vec![("distance_m", Value::Num(*distance_m))],
                    });
                }
                let (c, s) = self.station_keep(&l, station, 1.0 / 240.0, self.max_speed);
                (Some(a), (c, s, 0))
            }
            Active::Harass {
                target,
                passes_left,
                cpa_m,
                speed,
                side,
                extending,
                setup,
                committed,
                course,
                pass,
                last_rel,
            } => {
                let Some(l) = self.leader(*target, world) else {
                    self.finish_step(world);
                    return (None, self.hold_course());
                };
                if !l.present {
                    let c = self.kin.cog;
                    return (Some(a), (c, 0.0, 0));
                }
                let rel = l.kin.pos.enu_to(self.kin.pos);
                let d = rel.0.hypot(rel.1);
                // Closest approach since the last step, assuming straight relative motion.
                let (seg_min, frac) = match *last_rel {
                    Some(r0) => closest_on_segment(r0, rel),
                    None => (d, 1.0),
                };
                *last_rel = Some(rel);
                if d < 1_000.0 && pass.is_none() && !*extending && !*setup {
                    *pass = Some(Pass {
                        start_ms: now,
                        min_m: d,
                        min_t: now,
                        min_pos: self.kin.pos,
                        target_sog: l.kin.sog,
                    });
                }
                if let Some(p) = pass.as_mut() {
                    if seg_min < p.min_m {
                        p.min_m = seg_min;
                        p.min_t = now - ((1.0 - frac) * dt * 1000.0) as i64;
                        p.min_pos = self.kin.pos;
                        p.target_sog = l.kin.sog;
                    }
                    if d > 1_000.0 {
                        let p = *p;
                        *pass = None;
                        let lv = self.leader_ref(*target, world);
                        world.truth.push(TruthEvent {
                            kind: "close_approach",
                            start_ms: p.start_ms,
                            end_ms: now,
                            open: false,
                            position: p.min_pos,
                            vessels: vec![lv, self.vref()],
                            details: vec![
                                ("cpa_m", Value::Num((p.min_m * 10.0).round() / 10.0)),
                                ("cpa_time", Value::Time(p.min_t)),
                                (
                                    "speed_knots",
                                    Value::Num((self.kin.sog * 10.0).round() / 10.0),
                                ),
                                (
                                    "target_speed_knots",
                                    Value::Num((p.target_sog * 10.0).round() / 10.0),
                                ),
                                ("scripted", Value::Bool(true)),
                            ],
                        });
                    }
                }
                if *extending {
                    if d > 1.5 * NM_M {
                        *extending = false;
                        *setup = true;
                        *passes_left -= 1;
                        *side = -*side;
                        if *passes_left == 0 {
                            self.finish_step(world);
                            return (None, self.hold_course());
                        }
                    }
                    let c = self.kin.cog;
                    let s = *speed;
                    return (Some(a), (c, s, 0));
                }
                if *setup {
                    // Take station on the target's beam, a little ahead, to cross its bow.
                    let station = l
                        .kin
                        .pos
                        .destination(l.kin.cog, 1_000.0)
                        .destination(l.kin.cog + 90.0 * *side, 1_500.0);
                    if self.kin.pos.distance_m(station) < 300.0 {
                        *setup = false;
                    } else {
                        let (c, v) = self.station_keep(&l, station, 1.0 / 120.0, *speed);
                        return (Some(a), (c, v, 0));
                    }
                }
                // Aim at the point of the target's track `cpa_m` ahead of where its bow will be
                // when we get there (time to go iterated), then hold the course across its bow.
                if !*committed {
                    let own = (*speed * KNOT_MS).max(1.0);
                    let mut tau = d / own;
                    let mut aim = l.kin.pos;
                    for _ in 0..4 {
                        aim = l
                            .kin
                            .pos
                            .destination(l.kin.cog, l.kin.sog * KNOT_MS * tau + *cpa_m);
                        tau = self.kin.pos.distance_m(aim) / own;
                    }
                    *course = self.kin.pos.bearing_deg(aim);
                    if tau * own < 400.0 {
                        *committed = true;
                    }
                }
                // Past the bow: the pass is made, extend.
                let past = pass
                    .as_ref()
                    .is_some_and(|p| d > p.min_m + 150.0 && p.min_m < 1_000.0);
                if past {
                    *extending = true;
                    *committed = false;
                }
                let c = *course;
                let s = *speed;
                (Some(a), (c, s, 0))
            }
            Active::Meet {
                target,
                stay_ms,
                distance_m,
                since,
                offset,
            } => {
                let Some(l) = self.leader(*target, world) else {
                    self.finish_step(world);
                    return (None, self.hold_course());
                };
                let station = l.kin.pos.destination(l.kin.cog - 90.0, *distance_m);
                let gap = self.kin.pos.distance_m(station);
                match *since {
                    None => {
                        let close =
                            gap < 150.0 || l.kin.pos.distance_m(self.kin.pos) < *distance_m + 100.0;
                        if close && l.kin.sog < 3.0 && l.present {
                            // Made fast alongside: from now on the two drift as one.
                            *since = Some(now);
                            let (e, n) = l.kin.pos.enu_to(self.kin.pos);
                            let k = *distance_m / e.hypot(n).max(1.0);
                            *offset = (e * k, n * k);
                            let lv = self.leader_ref(*target, world);
                            self.step_open.push(OpenEvent {
                                kind: "encounter",
                                start_ms: now,
                                position: self.kin.pos,
                                vessels: vec![lv, self.vref()],
                                details: vec![
                                    ("distance_m", Value::Num(*distance_m)),
                                    ("ship_to_ship", Value::Bool(true)),
                                ],
                            });
                            // Alongside a ship lying stopped, both lie stopped: loitering
                            // (GFW: mean speed under 2 kn), whoever came to whom.
                            if l.kin.sog < LOITER_KNOTS {
                                let mut details = vec![("alongside", Value::Bool(true))];
                                if self.ais_mode() == Some(AisMode::Off) {
                                    // Not transmitting: invisible to AIS.
                                    details.push(("dark", Value::Bool(true)));
                                }
                                self.open_step_event("loitering", world, details);
                            }
                            self.pinned = Some((l.kin, offset.0, offset.1));
                            return (Some(a), (l.kin.cog, l.kin.sog, 0));
                        }
                        let vmax = if gap > 3_000.0 {
                            self.cruise
                        } else {
                            (gap / 600.0 + 1.0).min(self.cruise)
                        };
                        let (c, s) = self.station_keep(&l, station, 1.0 / 300.0, vmax);
                        (Some(a), (c, s, 0))
                    }
                    Some(t0) => {
                        // Alongside until the time is up or the other ship gets under way.
                        if now - t0 >= *stay_ms || l.kin.sog > 3.0 || !l.present {
                            self.finish_step(world);
                            return (None, self.hold_course());
                        }
                        self.pinned = Some((l.kin, offset.0, offset.1));
                        (Some(a), (l.kin.cog, l.kin.sog, 0))
                    }
                }
            }
            Active::Idle => {
                // Plan done: stops where she is (at anchor if she was).
                let c = self.kin.cog;
                let n = if matches!(self.nav, 1 | 5) {
                    self.nav
                } else {
                    0
                };
                (Some(a), (c, 0.0, n))
            }
        }
    }

    fn hold_course(&self) -> (f64, f64, u8) {
        (self.kin.cog, self.kin.sog, self.nav)
    }

    fn leader_ref(&self, k: usize, world: &World<'_>) -> VesselRef {
        match self.targets.get(k).and_then(|&i| world.leaders.get(i)) {
            Some(l) => l.vref(),
            None => self.vref(),
        }
    }

    /// Velocity toward a station moving with the leader: leader velocity plus `gain` times the
    /// offset, capped at `vmax`.
    fn station_keep(&self, l: &Snap, station: LatLon, gain: f64, vmax: f64) -> (f64, f64) {
        let (dx, dy) = self.kin.pos.enu_to(station);
        let lv = l.kin.sog * KNOT_MS;
        let (s, c) = crate::earth::sin_cos_deg(l.kin.cog);
        let vx = lv * s + dx * gain;
        let vy = lv * c + dy * gain;
        let v = vx.hypot(vy) / KNOT_MS;
        let course = if v < 0.2 {
            self.kin.cog
        } else {
            vx.atan2(vy).to_degrees().rem_euclid(360.0)
        };
        (course, v.min(vmax))
    }

    fn check_zones(&mut self, world: &mut World<'_>) {
        let (zones, ports) = (&world.scenario.zones, &world.scenario.port_areas);
        // Zone entries and exits are timed to the step, checked at most every 30 s.
        if (zones.is_empty() && ports.is_empty()) || self.t < self.next_zone_ms {
            return;
        }
        self.next_zone_ms = self.t + ZONE_CHECK_MS;
        for (z, zone) in zones.iter().chain(ports).enumerate() {
            let inside = zone.contains(self.kin.pos);
            let open = self.zone_open.iter().position(|(i, _)| *i == z);
            match (inside, open) {
                (true, None) => {
                    let first_step = self.t <= self.appears_ms + MAX_STEP_MS;
                    self.zone_open.push((
                        z,
                        OpenEvent {
                            kind: "zone_visit",
                            start_ms: self.t,
                            position: self.kin.pos,
                            vessels: vec![self.vref()],
                            details: vec![
                                ("zone", Value::Text(zone.name.clone())),
                                ("zone_kind", Value::Text(zone.kind.clone())),
                                ("inside_at_start", Value::Bool(first_step)),
                            ],
                        },
                    ));
                }
                (false, Some(k)) => {
                    let (_, mut e) = self.zone_open.swap_remove(k);
                    e.details
                        .push(("dwell_s", Value::Int((self.t - e.start_ms) / 1000)));
                    world.truth.push(e.close(self.t, false));
                }
                _ => {}
            }
        }
    }

    fn apply_identity_changes(&mut self, world: &mut World<'_>) {
        while let Some(c) = self.changes.get(self.change_idx) {
            if c.at_ms > self.t {
                break;
            }
            let before = self.ident.clone();
            let next = c.identity.clone();
            if before.mmsi != next.mmsi {
                self.close_watchlist(world.truth);
            }
            self.ident = next;
            self.change_idx += 1;
            // A changed identity is broadcast at once.
            self.next_static_ms = self.t + 2_000 + self.rng.below(8_000) as i64;
            // Identity is what MarineTraffic and Windward watch (DETECTION.md): MMSI, name,
            // call sign, flag, IMO, ship type. A new destination alone is a voyage update.
            let same = before.mmsi == self.ident.mmsi
                && before.name == self.ident.name
                && before.callsign == self.ident.callsign
                && before.flag == self.ident.flag
                && before.imo == self.ident.imo
                && before.ship_type == self.ident.ship_type;
            if same {
                continue;
            }
            let mut details = Vec::new();
            let mut diff = |what: &'static str, a: String, b: String| {
                if a != b {
                    details.push((what, Value::Text(format!("{a} -> {b}"))));
                }
            };
            diff("mmsi", before.mmsi.to_string(), self.ident.mmsi.to_string());
            diff("name", before.name.clone(), self.ident.name.clone());
            diff("flag", before.flag.clone(), self.ident.flag.clone());
            diff(
                "callsign",
                before.callsign.clone(),
                self.ident.callsign.clone(),
            );
            diff(
                "destination",
                before.destination.clone(),
                self.ident.destination.clone(),
            );
            if let Some(imo) = self.ident.imo {
                details.push(("imo", Value::Int(imo as i64)));
            }
            world.truth.push(TruthEvent {
                kind: "identity_change",
                start_ms: self.t,
                end_ms: self.t,
                open: false,
                position: self.kin.pos,
                vessels: vec![
                    VesselRef {
                        mmsi: before.mmsi,
                        id: self.id.clone(),
                        name: before.name,
                    },
                    self.vref(),
                ],
                details,
            });
        }
    }

    fn update_ais_windows(&mut self, world: &mut World<'_>) {
        while let Some(w) = self.ais.get(self.ais_idx).copied() {
            if self.ais_open.is_none() {
                if self.t < w.start_ms {
                    break;
                }
                let mut details = Vec::new();
                match w.mode {
                    AisMode::Off => {}
                    AisMode::Jump {
                        offset_m,
                        bearing_deg,
                    } => {
                        details.push(("offset_m", Value::Num(offset_m)));
                        details.push(("bearing_deg", Value::Num(bearing_deg)));
                    }
                    AisMode::Circle { center, radius_m } => {
                        details.push(("reported_center", Value::Pos(center)));
                        details.push(("radius_m", Value::Num(radius_m)));
                    }
                    AisMode::Land { point } => {
                        details.push(("reported_position", Value::Pos(point)))
                    }
                }
                self.ais_open = Some(OpenEvent {
                    kind: w.mode.truth_kind(),
                    start_ms: w.start_ms,
                    position: self.kin.pos,
                    vessels: vec![self.vref()],
                    details,
                });
            }
            if self.t < w.end_ms {
                break;
            }
            if let Some(mut e) = self.ais_open.take() {
                e.details.push(("end_position", Value::Pos(self.kin.pos)));
                world.truth.push(e.close(w.end_ms, false));
            }
            self.ais_idx += 1;
            if w.mode == AisMode::Off {
                // Switched on again: a transponder reports at once.
                self.next_pos_ms = self.next_pos_ms.min(self.t + 1_000);
                self.next_static_ms = self.next_static_ms.min(self.t + 20_000);
            }
        }
    }

    fn ais_mode(&self) -> Option<AisMode> {
        self.ais_open.as_ref()?;
        self.ais.get(self.ais_idx).map(|w| w.mode)
    }

    fn turning(&self) -> bool {
        self.kin.rot.abs() >= TURNING_DEG_PER_MIN
    }

    fn transmissions(&mut self, radio: &mut dyn TxSink) {
        let mode = self.ais_mode();
        let off = mode == Some(AisMode::Off);
        let t = self.t;
        if t >= self.next_pos_ms {
            let interval = if self.class_b {
                class_b_interval_ms(self.kin.sog)
            } else {
                class_a_interval_ms(self.nav, self.kin.sog, self.turning())
            };
            if !off {
                self.send(radio, TxKind::Position, mode);
            }
            // SOTDMA keeps its slots: small jitter around the nominal interval.
            self.next_pos_ms = t + interval + self.rng.below(interval as u64 / 50 + 1) as i64;
        }
        if t >= self.next_static_ms {
            if !off {
                self.send(radio, TxKind::Static, mode);
            }
            self.next_static_ms = t + STATIC_INTERVAL_MS + self.rng.below(2_000) as i64;
        }
        if !self.class_b && t >= self.next_lr_ms {
            if !off {
                self.send(radio, TxKind::LongRange, mode);
            }
            self.next_lr_ms = t + LONG_RANGE_INTERVAL_MS + self.rng.below(2_000) as i64;
        }
    }

    fn send(&mut self, radio: &mut dyn TxSink, kind: TxKind, mode: Option<AisMode>) {
        self.first_tx_ms.get_or_insert(self.t);
        self.last_tx_ms = Some(self.t);
        radio.transmit(self, kind, mode);
        self.ordinal = self.ordinal.wrapping_add(1);
    }

    /// Where the vessel really is now.
    pub fn here(&mut self) -> Here {
        Here {
            t_ms: self.t,
            pos: self.kin.pos,
            cos_lat: self.cos_lat(),
            unit: self.unit(),
        }
    }

    /// What the transponder reports now: GNSS noise of a few metres, or a spoofed position.
    pub fn report(&mut self, kind: TxKind, mode: Option<AisMode>) -> Tx {
        // GNSS noise, about 3 m per axis.
        let (e, n) = (self.rng.normal() * 3.0, self.rng.normal() * 3.0);
        let cos_lat = self.cos_lat();
        let mut pos = self.kin.pos.offset_m_at(e, n, cos_lat);
        let mut sog = self.kin.sog + self.rng.normal() * 0.05;
        let mut cog = self.kin.cog
            + if self.kin.sog > 1.0 {
                self.rng.normal() * 0.7
            } else {
                self.rng.range(-30.0, 30.0)
            };
        match mode {
            Some(AisMode::Jump {
                offset_m,
                bearing_deg,
            }) => pos = pos.destination(bearing_deg, offset_m),
            Some(AisMode::Circle { center, radius_m }) => {
                // One turn of the circle every 40 minutes, at the speed that takes.
                let w = self.ais.get(self.ais_idx).map_or(0, |w| w.start_ms);
                let phase = ((self.t - w) as f64 / 2_400_000.0).fract() * 360.0;
                pos = center.destination(phase, radius_m);
                sog = 2.0 * std::f64::consts::PI * radius_m / 2_400.0 / KNOT_MS;
                cog = phase + 90.0;
            }
            Some(AisMode::Land { point }) => {
                pos = point.destination(self.rng.range(0.0, 360.0), 30.0 * self.rng.f64());
                sog = 0.0;
            }
            _ => {}
        }
        Tx {
            kind,
            t_ms: self.t,
            pos,
            sog: sog.max(0.0),
            cog: cog.rem_euclid(360.0),
            heading: self.kin.heading,
            rot: self.kin.rot,
            nav: self.nav,
        }
    }

    /// Closes what is still open at the end of the scenario.
    pub fn finish(&mut self, end_ms: i64, truth: &mut Vec<TruthEvent>) {
        for e in self.step_open.drain(..) {
            truth.push(e.close(end_ms, true));
        }
        for (_, mut e) in self.zone_open.drain(..) {
            e.details
                .push(("dwell_s", Value::Int((end_ms - e.start_ms) / 1000)));
            truth.push(e.close(end_ms, true));
        }
        if let Some(e) = self.ais_open.take() {
            truth.push(e.close(end_ms, true));
        }
        self.close_watchlist(truth);
    }

    /// The watch-list record of the MMSI the vessel broadcast so far: one per MMSI, as a
    /// watch-list hit is a transmitter seen (a vessel renamed under a new MMSI is two hits).
    fn close_watchlist(&mut self, truth: &mut Vec<TruthEvent>) {
        let Some(reason) = &self.watchlist else {
            return;
        };
        let Some(first) = self.first_tx_ms.take() else {
            return;
        };
        let mut details = vec![("reason", Value::Text(reason.clone()))];
        if let Some(imo) = self.ident.imo {
            details.push(("imo", Value::Int(imo as i64)));
        }
        truth.push(TruthEvent {
            kind: "watchlist",
            start_ms: first,
            end_ms: self.last_tx_ms.take().unwrap_or(first),
            open: false,
            position: self.kin.pos,
            vessels: vec![self.vref()],
            details,
        });
    }

    /// Background traffic reached the end of a lane: call at the port there, continue on a
    /// connected lane, or (at the edge of the area) leave, the slot coming back as a new
    /// vessel entering the area elsewhere.
    fn next_voyage(&mut self, mut tr: TrafficState, world: &mut World<'_>) {
        let scenario = world.scenario;
        let lanes = &scenario.world.lanes;
        let traffic = match &scenario.traffic {
            Some(t) => t,
            None => {
                self.active = Some(Box::new(Active::Idle));
                return;
            }
        };
        let lane = &lanes[tr.lane];
        let end = if tr.forward {
            lane.points[lane.points.len() - 1]
        } else {
            lane.points[0]
        };
        let was_port_call = tr.at_port;
        tr.at_port = false;
        self.active = None;
        // Connected lanes: an end point within 20 km of this one.
        let mut next: Vec<(usize, bool)> = Vec::new();
        for &li in &traffic.lanes {
            let l = &lanes[li];
            let (a, b) = (l.points[0], l.points[l.points.len() - 1]);
            if li == tr.lane {
                continue;
            }
            if a.distance_m(end) < 20_000.0 {
                next.push((li, true));
            } else if b.distance_m(end) < 20_000.0 {
                next.push((li, false));
            }
        }
        let port = scenario.world.port_near(end, 40_000.0);
        if let (Some(p), false) = (port, was_port_call) {
            if self.rng.chance(0.7) || next.is_empty() {
                let stay = 4 * 3_600_000 + self.rng.below(20 * 3_600_000) as i64;
                self.ident.destination = scenario.world.ports[p].code.clone();
                tr.at_port = true;
                self.traffic = Some(tr);
                self.active = Some(Box::new(self.port_approach(p, stay, world)));
                return;
            }
        }
        if was_port_call || port.is_some() {
            // Leaving port: any lane from here, including the way back.
            next.push((tr.lane, !tr.forward));
        }
        if next.is_empty() {
            self.leave_and_reenter(tr, world);
            return;
        }
        let (li, fwd) = next[self.rng.below(next.len() as u64) as usize];
        tr.lane = li;
        tr.forward = fwd;
        let l = &lanes[li];
        let points = lane_points(l, fwd, tr.offset);
        let dest_end = if fwd {
            l.points[l.points.len() - 1]
        } else {
            l.points[0]
        };
        if let Some(p) = scenario.world.port_near(dest_end, 40_000.0) {
            self.ident.destination = scenario.world.ports[p].code.clone();
        }
        self.traffic = Some(tr);
        self.active = Some(Box::new(Active::Path {
            points,
            idx: 0,
            speed: self.cruise,
            nav: 0,
            arrival: Arrival::Done,
        }));
    }

    fn leave_and_reenter(&mut self, mut tr: TrafficState, world: &mut World<'_>) {
        let scenario = world.scenario;
        let Some(traffic) = &scenario.traffic else {
            return;
        };
        // Close truth of the departing identity.
        let t = self.t;
        for (_, mut e) in self.zone_open.drain(..) {
            e.details
                .push(("dwell_s", Value::Int((t - e.start_ms) / 1000)));
            world.truth.push(e.close(t, false));
        }
        let entries = entry_points(scenario, &traffic.lanes);
        if entries.is_empty() {
            self.gone = true;
            return;
        }
        let (li, fwd) = entries[self.rng.below(entries.len() as u64) as usize];
        tr.generation += 1;
        tr.lane = li;
        tr.forward = fwd;
        let (ident, kind, class_b, cruise) =
            traffic_identity(&tr, traffic.class_b_share, &mut self.rng);
        self.ident = ident;
        self.kind = kind;
        self.class_b = class_b;
        self.cruise = cruise;
        let p = kind.profile();
        self.max_speed = p.max_knots.max(cruise);
        self.accel = p.accel_knots_s;
        self.turn = p.turn_deg_s;
        let l = &scenario.world.lanes[li];
        let points = lane_points(l, fwd, tr.offset);
        // Enters the area some hours later, already at speed.
        let delay = 3_600_000 + self.rng.below(6 * 3_600_000) as i64;
        self.appears_ms = t + delay;
        self.t = self.appears_ms;
        self.kin.pos = points[0];
        self.unit = None;
        self.kin.cog = points[0].bearing_deg(points[1]);
        self.kin.sog = cruise;
        self.next_pos_ms = self.appears_ms + self.rng.below(2_000) as i64;
        self.next_static_ms = self.appears_ms + self.rng.below(STATIC_INTERVAL_MS as u64) as i64;
        self.next_lr_ms = self.appears_ms + self.rng.below(LONG_RANGE_INTERVAL_MS as u64) as i64;
        self.traffic = Some(tr);
        self.active = Some(Box::new(Active::Path {
            points,
            idx: 1,
            speed: cruise,
            nav: 0,
            arrival: Arrival::Done,
        }));
    }
}

/// A background vessel of traffic slot `slot`: mid-voyage on a lane (or at a port at the
/// lane's end, one in six), at its cruising speed.
pub fn new_traffic(
    uid: u32,
    slot: u32,
    flag: &'static str,
    flag_serial: u32,
    scenario: &Scenario,
    seed: u64,
) -> Vessel {
    let traffic = scenario
        .traffic
        .as_ref()
        .expect("traffic slots exist only with traffic");
    let mut rng = Rng::new(seed, 0x7a_0000_0000 + slot as u64);
    let lanes = &scenario.world.lanes;
    // Lanes weighted by length, so traffic density is even along them.
    let lengths: Vec<(usize, f64)> = traffic
        .lanes
        .iter()
        .map(|&li| (li, lanes[li].length_m))
        .collect();
    let lane = fleet::weighted(&lengths, &mut rng);
    let forward = rng.chance(0.5);
    let mut tr = TrafficState {
        slot,
        generation: 0,
        flag_serial,
        flag,
        lane,
        forward,
        offset: rng.range(0.15, 0.9),
        at_port: false,
    };
    let (ident, kind, class_b, cruise) = traffic_identity(&tr, traffic.class_b_share, &mut rng);
    let points = lane_points(&lanes[lane], forward, tr.offset);
    // A point a random share of the way along the lane.
    let total: f64 = points.windows(2).map(|w| w[0].distance_m(w[1])).sum();
    let mut along = rng.f64() * total;
    let mut idx = 1;
    let mut pos = points[0];
    while idx < points.len() {
        let leg = points[idx - 1].distance_m(points[idx]);
        if along <= leg {
            let b = points[idx - 1].bearing_deg(points[idx]);
            pos = points[idx - 1].destination(b, along);
            break;
        }
        along -= leg;
        idx += 1;
    }
    let idx = idx.min(points.len() - 1);
    let course = pos.bearing_deg(points[idx]);
    let plan = VesselPlan {
        id: String::new(),
        identity: ident,
        kind,
        class_b,
        cruise_knots: cruise,
        position: pos,
        appears_ms: scenario.start_ms,
        course_deg: Some(course),
        steps: Vec::new(),
        ais: Vec::new(),
        identity_changes: Vec::new(),
        watchlist: None,
        swarm: None,
    };
    let mut v = Vessel::new(uid, plan, false, course, seed);
    let dest_end = if forward {
        lanes[lane].points[lanes[lane].points.len() - 1]
    } else {
        lanes[lane].points[0]
    };
    if let Some(p) = scenario.world.port_near(dest_end, 40_000.0) {
        v.ident.destination = scenario.world.ports[p].code.clone();
    }
    v.kin.sog = cruise;
    v.active = Some(Box::new(Active::Path {
        points,
        idx,
        speed: cruise,
        nav: 0,
        arrival: Arrival::Done,
    }));
    tr.at_port = false;
    v.traffic = Some(tr);
    v
}

/// Lane ends where traffic enters the area: ends with neither a port nor another lane.
pub fn entry_points(scenario: &Scenario, lanes: &[usize]) -> Vec<(usize, bool)> {
    let all = &scenario.world.lanes;
    let mut out = Vec::new();
    for &li in lanes {
        let l = &all[li];
        for (end, fwd) in [(l.points[0], true), (l.points[l.points.len() - 1], false)] {
            let joined = lanes.iter().any(|&o| {
                o != li && {
                    let m = &all[o];
                    m.points[0].distance_m(end) < 20_000.0
                        || m.points[m.points.len() - 1].distance_m(end) < 20_000.0
                }
            });
            if !joined && scenario.world.port_near(end, 40_000.0).is_none() {
                out.push((li, fwd));
            }
        }
    }
    out
}

/// A traffic slot's identity for its current generation.
pub fn traffic_identity(
    tr: &TrafficState,
    class_b_share: f64,
    rng: &mut Rng,
) -> (Identity, Kind, bool, f64) {
    let class_b = rng.chance(class_b_share);
    let kind = if class_b {
        if rng.chance(0.5) {
            Kind::Pleasure
        } else {
            Kind::Fishing
        }
    } else {
        fleet::weighted(fleet::TRAFFIC_KINDS, rng)
    };
    let p = kind.profile();
    let mids = ais::mmsi::mids_of_flag(tr.flag);
    let serial = tr.flag_serial as u64 * 64 + (tr.generation as u64 % 64);
    let length = rng.range(p.length_m.0, p.length_m.1);
    let beam = length / p.length_beam_ratio;
    let cruise = rng.range(p.cruise_knots.0, p.cruise_knots.1);
    let small = matches!(kind, Kind::Pleasure | Kind::Fishing | Kind::Tug);
    let ident = Identity {
        mmsi: fleet::mmsi_from_serial(&mids, serial),
        name: fleet::ship_name(rng),
        callsign: fleet::callsign(tr.flag, rng),
        imo: (!small)
            .then(|| fleet::imo_from_serial((tr.slot.wrapping_mul(64) + tr.generation) % 100_000)),
        flag: tr.flag.to_owned(),
        ship_type: p.ais_type,
        dims: fleet::dims(length, beam, rng),
        draught_m: rng.range(p.draught_m.0, p.draught_m.1),
        destination: String::new(),
    };
    (ident, kind, class_b, cruise)
}

/// A lane's waypoints in sailing order, each moved `offset` of the half width to starboard.
pub fn lane_points(l: &crate::scenario::Lane, forward: bool, offset: f64) -> Vec<LatLon> {
    let n = l.points.len();
    let order: Vec<usize> = if forward {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    };
    let mut out = Vec::with_capacity(n);
    for (j, &i) in order.iter().enumerate() {
        let p = l.points[i];
        let inb = (j > 0).then(|| l.points[order[j - 1]].bearing_deg(p));
        let outb = (j + 1 < n).then(|| p.bearing_deg(l.points[order[j + 1]]));
        let dir = match (inb, outb) {
            (Some(a), Some(b)) => a + angle_diff(b, a) / 2.0,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => 0.0,
        };
        out.push(p.destination(dir + 90.0, l.half_width_m[i] * offset));
    }
    out
}

/// Index of the first waypoint ahead of `pos` (skips points already behind it).
pub fn nearest_ahead(points: &[LatLon], pos: LatLon) -> usize {
    let mut best = 0;
    let mut best_d = f64::MAX;
    for (k, p) in points.iter().enumerate() {
        let d = pos.distance_m(*p);
        if d < best_d {
            best_d = d;
            best = k;
        }
    }
    // If the nearest point is behind (closer to the next point than it is), go on to the next.
    if best + 1 < points.len() {
        let seg = points[best].distance_m(points[best + 1]);
        if pos.distance_m(points[best + 1]) < seg {
            return best + 1;
        }
    }
    best
}

/// Smallest distance from the origin to the segment `a`-`b` (2-D) and where it is (0..=1).
pub(crate) fn closest_on_segment(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let d = (b.0 - a.0, b.1 - a.1);
    let len2 = d.0 * d.0 + d.1 * d.1;
    let s = if len2 > 0.0 {
        (-(a.0 * d.0 + a.1 * d.1) / len2).clamp(0.0, 1.0)
    } else {
        1.0
    };
    ((a.0 + s * d.0).hypot(a.1 + s * d.1), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itu_class_a_intervals() {
        assert_eq!(class_a_interval_ms(1, 0.1, false), 180_000);
        assert_eq!(class_a_interval_ms(5, 4.0, false), 10_000);
        assert_eq!(class_a_interval_ms(0, 12.0, false), 10_000);
        assert_eq!(class_a_interval_ms(0, 12.0, true), 3_333);
        assert_eq!(class_a_interval_ms(0, 18.0, false), 6_000);
        assert_eq!(class_a_interval_ms(0, 18.0, true), 2_000);
        assert_eq!(class_a_interval_ms(0, 25.0, false), 2_000);
        assert_eq!(class_b_interval_ms(1.0), 180_000);
        assert_eq!(class_b_interval_ms(8.0), 30_000);
    }

    #[test]
    fn segment_distance() {
        let (d, s) = closest_on_segment((-100.0, 50.0), (100.0, 50.0));
        assert!((d - 50.0).abs() < 1e-9 && (s - 0.5).abs() < 1e-9);
        let (d, _) = closest_on_segment((10.0, 0.0), (20.0, 0.0));
        assert!((d - 10.0).abs() < 1e-9);
    }
}
