//! Segmentation of one MMSI's positions into tracks, after Global Fishing Watch's
//! `gpsdio-segment` matcher (GlobalFishingWatch/gpsdio-segment, `core.py`, release 0.20), with
//! a plausibility check of its own and its published defaults where they fit (see
//! [`SegmenterConfig`]).
//!
//! For every open segment the matcher predicts where the vessel should be now, from the
//! segment's last position, speed and course, and measures the *discrepancy* (nautical miles)
//! between prediction and report as the smallest of three measures: the mean miss of predicting
//! forwards and backwards; the straight distance (as if the vessel had not moved) times a shape
//! factor; and the mean sideways distance from either vessel's course line, times the shape
//! factor. A discrepancy above `hypot(hours, buffer_hours) * max_knots` rules the segment out;
//! below it, the match metric is `exp(-alpha^2) / hypot(hours, buffer_hours)` with
//! `alpha = (max_knots / penalty_speed) * discrepancy / allowed`. Elapsed hours are shortened
//! for long gaps (`hours / (1 + (hours / penalty_hours)^(1 - hours_exp))`), since vessels
//! rarely keep speed and course for long.
//!
//! **Plausibility (Tidewatch, not GFW).** GFW's reach, 25 kn of unexplained motion per hour
//! plus a quarter-hour buffer, lets one segment zig-zag between two ships 5 nm apart reporting
//! seconds apart, and hop between ports 200 nm apart after a silence of hours when nothing says
//! the vessel moved. GFW repairs the first afterwards (a lookback over a segment's last five
//! positions drops the other ship's reports) and bounds the second by closing segments after
//! 8 h. Tidewatch never drops a report, so a position must also be plausible for the segment:
//! either it is where the segment's motion says (discrepancy at most `hop_margin_knots` per
//! padded hour), or the vessel could have sailed there in the time (straight-line distance at
//! most `hop_margin_knots` plus the faster of the two reported speeds, per hour). A ship 5 nm
//! abeam of another, or anchored 3 nm away, gets a segment of its own from its first report; a
//! boat silent in one port does not continue as a boat in another.
//!
//! **Satellite gaps.** After `max_hours` (GFW's 8 h) of silence a segment stays open up to
//! `max_bridge_hours`, but only a position on its dead-reckoned course continues it (a miss of
//! at most `bridge_tolerance` of the distance run over the whole gap, or a vessel that stayed
//! put): a transit with a 14 h gap on its course stays one segment, while a spoofed or
//! unrelated position hours later does not revive an old segment.
//!
//! The position joins the best segment. It starts a new one when no segment matches. When the
//! second best match is within `ambiguity_factor` of the best, the position is *ambiguous*: as
//! GFW does since 0.19, the ambiguous segments are closed and the position starts a new one
//! (left open, every later position would be ambiguous again and a port stay or a spoofed track
//! would shatter into one-point segments). Segments close after `max_bridge_hours`; at most
//! `max_open_segments` stay open (the stalest closes first). A type 27 (long-range, low
//! resolution) position within `min_type_27_hours` of its segment's last position is flagged
//! as noise.
//!
//! Positions are never dropped: each gets a [`Placement`]. Besides out-of-range coordinates and
//! a missing course while moving (GFW's bad messages), two kinds are flagged instead of placed:
//! a report at (0, 0) ("null island", a receiver's or transponder's default, never a fix), and
//! a *spike*: a report with neither speed nor course that no open segment can reach at a
//! plausible speed while one of them was heard within `spike_window_hours`. A spike is
//! remembered: if the next unplaceable report fits it, that report starts a segment (a second
//! transmitter whose reports lack speed and course loses one report, not its track).
//!
//! Difference from GFW: GFW also compares against up to five earlier positions of a segment
//! ("lookback") and retroactively drops positions a later one proves wrong; Tidewatch compares
//! against the last position only, never rewrites history, and keeps such positions out of a
//! segment in the first place with the plausibility check.

use smallvec::SmallVec;
use std::f64::consts::PI;
use std::sync::Arc;

/// Segmenter parameters; defaults are GFW's published values, except where a field says not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmenterConfig {
    /// Longest silence after which any plausible position continues a segment, hours (GFW
    /// 0.20 closes segments after 8 h; releases before it, 24-60 h).
    pub max_hours: f64,
    /// Longest silence a segment survives, hours (Tidewatch): after `max_hours`, only a position
    /// on its dead-reckoned course continues it (a satellite gap bridged).
    pub max_bridge_hours: f64,
    /// A bridged position may miss its dead-reckoned place by this fraction of the distance
    /// run in the gap (Tidewatch).
    pub bridge_tolerance: f64,
    /// Gap length at which elapsed time starts being shortened, hours (GFW 4).
    pub penalty_hours: f64,
    /// Exponent of that shortening (GFW 0.5).
    pub hours_exp: f64,
    /// Padding added (in quadrature) to elapsed time, hours (GFW 0.25).
    pub buffer_hours: f64,
    /// Largest plausible unexplained motion, knots (GFW 25).
    pub max_knots: f64,
    /// Relative speed beyond which matches are strongly discouraged, knots (GFW 5).
    pub penalty_speed: f64,
    /// Two matches within this factor are ambiguous: both close and the position starts a new
    /// segment (GFW 10).
    pub ambiguity_factor: f64,
    /// Segments with fewer positions are down-weighted when several match (GFW 10).
    pub short_seg_threshold: f64,
    /// Metric multiplier when the transponder class differs from the segment's (GFW 0.1).
    pub transponder_mismatch_weight: f64,
    /// A type 27 position this close (hours) to its segment's last one is noise (GFW 1).
    pub min_type_27_hours: f64,
    /// Most segments open at once per MMSI; the stalest closes first (GFW 20).
    pub max_open_segments: usize,
    /// Below this speed an unavailable course means "not moving", knots (GFW 0.35).
    pub very_slow_knots: f64,
    /// Penalty on the "did not move" and "sideways" discrepancies (GFW 4).
    pub shape_factor: f64,
    /// Plausibility margin, knots (Tidewatch): a position fits a segment only if its
    /// discrepancy is at most this per padded hour, or its straight-line distance at most this
    /// plus the faster reported speed (capped at `max_knots`) per hour of gap.
    pub hop_margin_knots: f64,
    /// A report without speed and course that fits no segment is a spike (flagged, not a new
    /// segment) when a segment was heard this close in time, hours (Tidewatch).
    pub spike_window_hours: f64,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            max_hours: 8.0,
            max_bridge_hours: 24.0,
            bridge_tolerance: 0.25,
            penalty_hours: 4.0,
            hours_exp: 0.5,
            buffer_hours: 0.25,
            max_knots: 25.0,
            penalty_speed: 5.0,
            ambiguity_factor: 10.0,
            short_seg_threshold: 10.0,
            transponder_mismatch_weight: 0.1,
            min_type_27_hours: 1.0,
            max_open_segments: 20,
            very_slow_knots: 0.35,
            shape_factor: 4.0,
            hop_margin_knots: 5.0,
            spike_window_hours: 1.0,
        }
    }
}

/// Kind of transmitter a position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transponder {
    /// Class A (message types 1-3).
    ClassA,
    /// Class B (types 18, 19).
    ClassB,
    /// Long-range broadcast (type 27), from either class.
    LongRange,
}

impl Transponder {
    fn matches(self, other: Transponder) -> bool {
        self == other || self == Transponder::LongRange || other == Transponder::LongRange
    }
}

/// One position report of the MMSI being segmented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Time, ms since the Unix epoch (UTC).
    pub t_ms: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// Transmitter class.
    pub transponder: Transponder,
}

/// Identifier of a segment within one [`Segmenter`] (one MMSI), in order of creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(pub u32);

/// Why a new segment was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartReason {
    /// No segment was open.
    First,
    /// No open segment could explain the position.
    NoMatch,
    /// Two or more segments explained it about equally well (they are closed).
    Ambiguous,
}

/// Why a position could not be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    /// Latitude or longitude out of range or not a number.
    BadPosition,
    /// Course unavailable while moving faster than `very_slow_knots` (GFW discards these).
    NoCourseWhileMoving,
    /// Latitude and longitude both exactly 0 ("null island"): a default, never a fix.
    NullIsland,
    /// No speed and no course, and no open segment can reach it at a plausible speed although
    /// one was heard within `spike_window_hours`: an isolated jump.
    Spike,
}

/// Where a position went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// Joined an open segment.
    Joined(SegmentId),
    /// Started a new segment.
    Started(SegmentId, StartReason),
    /// A type 27 position too close in time to its segment's last position; not added.
    Noise(SegmentId),
    /// Could not be placed; kept and flagged by the caller.
    Invalid(InvalidReason),
}

impl Placement {
    /// The segment the position belongs to, if it was added to one.
    pub fn segment(&self) -> Option<SegmentId> {
        match *self {
            Placement::Joined(id) | Placement::Started(id, _) => Some(id),
            Placement::Noise(_) | Placement::Invalid(_) => None,
        }
    }
}

/// An open segment: what the matcher compares the next position with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenSegment {
    /// The segment.
    pub id: SegmentId,
    /// Its last position.
    pub last: Fix,
    /// Positions in it so far.
    pub count: u32,
    /// Its transmitter class (of the last class A/B position).
    pub transponder: Transponder,
}

/// Everything a [`Segmenter`] remembers, so that segmentation can continue in a later run
/// (segment ids go on counting and open segments stay open).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmenterState {
    /// Id of the next segment to start.
    pub next_id: u32,
    /// Open segments.
    pub open: Vec<OpenSegment>,
    /// The last spike ([`InvalidReason::Spike`]): a later report that fits no segment but fits
    /// it starts a segment. The ingest registry does not store it (after a resume without it, a
    /// second transmitter whose reports lack speed and course has one more report flagged).
    pub spike: Option<Fix>,
}

/// Segments the positions of one MMSI, given in time order.
#[derive(Debug, Clone)]
pub struct Segmenter {
    /// Shared by the segmenters of one run: one copy in cache, not one per vessel.
    cfg: Arc<SegmenterConfig>,
    /// Open segments: nearly always one, kept inline (no allocation, and a position's
    /// comparison reads memory next to the segmenter's own).
    open: SmallVec<[OpenSegment; 1]>,
    /// The motion of each open segment's last position (`kin[i]` is `Kin::of(&open[i].last)`),
    /// so that each position's trigonometry is computed once, not once per comparison.
    kin: SmallVec<[Kin; 1]>,
    next_id: u32,
    /// The last spike and its motion.
    spike: Option<(Fix, Kin)>,
}

/// (open segment, discrepancy in nautical miles, hours) of a segment that can explain a
/// position. The metric is computed only when there are several to choose from.
type Candidate = (usize, f64, f64);

/// The candidates for one position (rarely more than one).
type Candidates = SmallVec<[Candidate; 4]>;

impl Segmenter {
    /// A segmenter with the given parameters (pass an `Arc` to share one copy among many).
    pub fn new(cfg: impl Into<Arc<SegmenterConfig>>) -> Self {
        Segmenter {
            cfg: cfg.into(),
            open: SmallVec::new(),
            kin: SmallVec::new(),
            next_id: 0,
            spike: None,
        }
    }

    /// A segmenter that continues from a saved state.
    pub fn resume(cfg: impl Into<Arc<SegmenterConfig>>, state: SegmenterState) -> Self {
        Segmenter {
            cfg: cfg.into(),
            kin: state.open.iter().map(|s| Kin::of(&s.last)).collect(),
            open: state.open.into_iter().collect(),
            next_id: state.next_id,
            spike: state.spike.map(|f| (f, Kin::of(&f))),
        }
    }

    /// The state to save for [`Segmenter::resume`].
    pub fn state(&self) -> SegmenterState {
        SegmenterState {
            next_id: self.next_id,
            open: self.open.to_vec(),
            spike: self.spike.map(|(f, _)| f),
        }
    }

    /// Segments currently open.
    pub fn open_segments(&self) -> usize {
        self.open.len()
    }

    /// Places the next position. Positions should come in time order; one older than a
    /// segment's last position (released late) is measured against it backwards in time and
    /// may join it without moving its end.
    pub fn push(&mut self, fix: &Fix) -> Placement {
        if !(fix.lat.abs() <= 90.0 && fix.lon.abs() <= 180.0) {
            return Placement::Invalid(InvalidReason::BadPosition);
        }
        if fix.lat == 0.0 && fix.lon == 0.0 {
            return Placement::Invalid(InvalidReason::NullIsland);
        }
        let sog = fix.sog_knots.map_or(0.0, f64::from);
        if fix.cog_deg.is_none() && sog > self.cfg.very_slow_knots {
            return Placement::Invalid(InvalidReason::NoCourseWhileMoving);
        }
        let max_ms = (self.cfg.max_bridge_hours * 3_600_000.0) as i64;
        let mut i = 0;
        while i < self.open.len() {
            if fix.t_ms - self.open[i].last.t_ms > max_ms {
                self.open.remove(i);
                self.kin.remove(i);
            } else {
                i += 1;
            }
        }
        if self.spike.is_some_and(|(f, _)| fix.t_ms - f.t_ms > max_ms) {
            self.spike = None;
        }
        let kf = Kin::of(fix);

        // Every open segment that can explain the position.
        let mut candidates = Candidates::new();
        for (i, s) in self.open.iter().enumerate() {
            if let Some(c) = self.explains((&s.last, &self.kin[i]), (fix, &kf)) {
                candidates.push((i, c.0, c.1));
            }
        }
        // Segments that explain the position about equally well: filled only when ambiguous.
        let mut ambiguous = Candidates::new();
        let chosen = match candidates.len() {
            0 => None,
            1 => Some(candidates[0]),
            _ => {
                // Down-weight short segments, then look for a clear winner.
                let mut weighted: SmallVec<[(f64, Candidate); 4]> = candidates
                    .iter()
                    .map(|&c| {
                        let (s, d, hours) = (&self.open[c.0], c.1, c.2);
                        let mut m = metric(&self.cfg, d, hours);
                        if !s.transponder.matches(fix.transponder) {
                            m *= self.cfg.transponder_mismatch_weight;
                        }
                        let a = s.count as f64 / self.cfg.short_seg_threshold;
                        (m * a / (1.0 + a * a).sqrt(), c)
                    })
                    .collect();
                weighted.sort_by(|x, y| y.0.total_cmp(&x.0));
                let best = weighted[0].0;
                let close = weighted
                    .iter()
                    .take_while(|w| w.0 * self.cfg.ambiguity_factor >= best)
                    .count();
                if close > 1 {
                    ambiguous.extend(weighted[..close].iter().map(|w| w.1));
                }
                Some(weighted[0].1)
            }
        };
        if fix.transponder == Transponder::LongRange {
            let hours_to_match = if ambiguous.is_empty() {
                chosen.map(|c| c.2)
            } else {
                Some(ambiguous.iter().map(|c| c.2).fold(f64::MAX, f64::min))
            };
            if let (Some(c), Some(h)) = (chosen, hours_to_match) {
                if h < self.cfg.min_type_27_hours {
                    return Placement::Noise(self.open[c.0].id);
                }
            }
        }
        if !ambiguous.is_empty() {
            // Close the ambiguous segments, highest index first so the others stay put.
            ambiguous.sort_by_key(|c| std::cmp::Reverse(c.0));
            for c in &ambiguous {
                self.open.remove(c.0);
                self.kin.remove(c.0);
            }
            return Placement::Started(self.start(fix, kf), StartReason::Ambiguous);
        }
        match chosen {
            Some((i, _, _)) if fix.t_ms < self.open[i].last.t_ms => {
                // Joins, but the segment's last position stays the newest one.
                let s = &mut self.open[i];
                s.count += 1;
                Placement::Joined(s.id)
            }
            Some((i, _, _)) => {
                self.kin[i] = kf;
                let s = &mut self.open[i];
                s.last = *fix;
                s.count += 1;
                if fix.transponder != Transponder::LongRange {
                    s.transponder = fix.transponder;
                }
                Placement::Joined(s.id)
            }
            None if self.open.is_empty() => {
                Placement::Started(self.start(fix, kf), StartReason::First)
            }
            None => {
                if let Some((spike, ks)) = self.spike {
                    if self.explains((&spike, &ks), (fix, &kf)).is_some() {
                        // The spike was the first report of another track.
                        self.spike = None;
                        return Placement::Started(self.start(fix, kf), StartReason::NoMatch);
                    }
                }
                let window_ms = (self.cfg.spike_window_hours * 3_600_000.0) as i64;
                if fix.sog_knots.is_none()
                    && fix.cog_deg.is_none()
                    && self
                        .open
                        .iter()
                        .any(|s| (fix.t_ms - s.last.t_ms).abs() <= window_ms)
                {
                    self.spike = Some((*fix, kf));
                    return Placement::Invalid(InvalidReason::Spike);
                }
                Placement::Started(self.start(fix, kf), StartReason::NoMatch)
            }
        }
    }

    /// `(discrepancy in nautical miles, hours)` when the track ending at `end` can explain
    /// `fix`: within GFW's reach and plausible (see the module doc).
    #[inline]
    fn explains(&self, end: (&Fix, &Kin), (fix, kf): (&Fix, &Kin)) -> Option<(f64, f64)> {
        let hours = (fix.t_ms - end.0.t_ms) as f64 / 3_600_000.0;
        let (d, dist) = if hours >= 0.0 {
            let hours_p = penalized_hours(&self.cfg, hours);
            discrepancy(end, (fix, kf), hours_p, &self.cfg)
        } else {
            // A late position (released after the segment moved past it, as satellite data
            // can be): measured from it forward to the segment's last position.
            let hours_p = penalized_hours(&self.cfg, -hours);
            discrepancy((fix, kf), end, hours_p, &self.cfg)
        };
        let hours_abs = hours.abs();
        let padded = fits_within(&self.cfg, d, hours_abs)?;
        let ok = if hours_abs <= self.cfg.max_hours {
            plausible(&self.cfg, (end.0, fix), d, dist, (hours_abs, padded))
        } else {
            on_course(&self.cfg, end, (fix, kf), hours)
        };
        ok.then_some((d, hours_abs))
    }

    fn start(&mut self, fix: &Fix, kf: Kin) -> SegmentId {
        if self.open.len() >= self.cfg.max_open_segments {
            if let Some(oldest) = (0..self.open.len()).min_by_key(|&i| self.open[i].last.t_ms) {
                self.open.swap_remove(oldest);
                self.kin.swap_remove(oldest);
            }
        }
        self.kin.push(kf);
        let id = SegmentId(self.next_id);
        self.next_id += 1;
        self.open.push(OpenSegment {
            id,
            last: *fix,
            count: 1,
            transponder: fix.transponder,
        });
        id
    }
}

/// Elapsed time shortened for long gaps (vessels rarely hold speed and course for hours).
fn penalized_hours(cfg: &SegmenterConfig, hours: f64) -> f64 {
    let x = hours.max(0.0) / cfg.penalty_hours;
    let e = 1.0 - cfg.hours_exp;
    // The published exponent is 0.5: a square root, much cheaper than powf.
    hours / (1.0 + if e == 0.5 { x.sqrt() } else { x.powf(e) })
}

/// `(alpha, padded hours)` of a discrepancy (nautical miles) after `hours` that is within
/// reach (`None` when it is beyond `hypot(hours, buffer_hours) * max_knots`).
fn reach(cfg: &SegmenterConfig, discrepancy_nm: f64, hours: f64) -> Option<(f64, f64)> {
    let padded = norm(hours, cfg.buffer_hours);
    let allowed = padded * cfg.max_knots;
    if discrepancy_nm > allowed {
        return None;
    }
    let alpha = (cfg.max_knots / cfg.penalty_speed) * discrepancy_nm / allowed;
    Some((alpha, padded))
}

/// Match quality of a discrepancy (nautical miles) after `hours`; 0 means "cannot match".
fn metric(cfg: &SegmenterConfig, discrepancy_nm: f64, hours: f64) -> f64 {
    reach(cfg, discrepancy_nm, hours)
        .map_or(0.0, |(alpha, padded)| (-(alpha * alpha)).exp() / padded)
}

/// Whether [`metric`] is above 0 (what the property test checks [`fits_within`] against).
#[cfg(test)]
fn fits(cfg: &SegmenterConfig, discrepancy_nm: f64, hours: f64) -> bool {
    fits_within(cfg, discrepancy_nm, hours).is_some()
}

/// The padded hours when [`metric`] is above 0, without its exponential where the answer is
/// plain: a position nearly always has one candidate, whose metric is then never needed.
#[inline]
fn fits_within(cfg: &SegmenterConfig, discrepancy_nm: f64, hours: f64) -> Option<f64> {
    let (alpha, padded) = reach(cfg, discrepancy_nm, hours)?;
    // exp(-600) / 1e50 is still above 0 (2.6e-311); outside that range, or for NaN, the
    // exponential answers.
    ((alpha * alpha < 600.0 && padded > 0.0 && padded < 1e50)
        || (-(alpha * alpha)).exp() / padded > 0.0)
        .then_some(padded)
}

/// The motion of a position: speed (knots), the direction of motion as (cos, sin) of the
/// mathematical angle (counter-clockwise from east; no course means no motion), and the
/// cosine of its latitude.
#[derive(Debug, Clone, Copy)]
struct Kin {
    speed: f64,
    cos: f64,
    sin: f64,
    cos_lat: f64,
}

impl Kin {
    fn of(f: &Fix) -> Kin {
        let (speed, cos, sin) = match f.cog_deg {
            Some(c) => {
                let (sin, cos) = ((90.0 - c as f64) * PI / 180.0).sin_cos();
                (f.sog_knots.map_or(0.0, f64::from), cos, sin)
            }
            None => (0.0, 1.0, 0.0),
        };
        Kin {
            speed,
            cos,
            sin,
            cos_lat: f.lat.to_radians().cos(),
        }
    }
}

/// Dead-reckoned position `hours` after (or before, if negative) `f`, as (lon, lat).
fn predict(f: &Fix, k: &Kin, hours: f64) -> (f64, f64) {
    let dist_nm = k.speed * hours;
    let deg_lon_per_nm = 1.0 / 60.0 / (k.cos_lat + 1e-3);
    (
        f.lon + k.cos * dist_nm * deg_lon_per_nm,
        f.lat + k.sin * dist_nm / 60.0,
    )
}

fn wrap_deg(x: f64) -> f64 {
    let y = x + 180.0;
    // The common case without the division (`rem_euclid` of a value in range is itself).
    if (0.0..360.0).contains(&y) {
        y - 180.0
    } else {
        y.rem_euclid(360.0) - 180.0
    }
}

fn norm(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}

/// Discrepancy in nautical miles between segment end `a` and new position `b`: the smallest
/// of the dead-reckoning miss, the "did not move" distance and the sideways distance (the
/// latter two times `shape_factor`); and the straight distance between them, nautical miles.
fn discrepancy(
    (a, ka): (&Fix, &Kin),
    (b, kb): (&Fix, &Kin),
    hours: f64,
    cfg: &SegmenterConfig,
) -> (f64, f64) {
    let nm_lat = 60.0;
    let nm_lon = nm_lat * (0.5 * (a.lat + b.lat)).to_radians().cos();
    let miss = dead_reckoning_miss((a, ka), (b, kb), hours, nm_lon);
    let dy = nm_lat * (b.lat - a.lat);
    let dx = nm_lon * wrap_deg(b.lon - a.lon);
    let dist = norm(dx, dy);
    let stayed = dist * cfg.shape_factor;
    // Direction from a to b (east when they coincide).
    let (bcos, bsin) = if dist > 0.0 {
        (dx / dist, dy / dist)
    } else {
        (1.0, 0.0)
    };
    // Distance off either vessel's course line, where b lies ahead within reach.
    let sideways = |k: &Kin| {
        let along = (k.cos * bcos + k.sin * bsin) * dist;
        if along > 0.0 && along <= k.speed * hours {
            (k.sin * bcos - k.cos * bsin).abs() * dist
        } else {
            f64::INFINITY
        }
    };
    let across = 0.5 * (sideways(ka) + sideways(kb)) * cfg.shape_factor;
    (miss.min(stayed).min(across), dist)
}

/// Mean miss in nautical miles of predicting `b` from `a` forwards and `a` from `b` backwards,
/// `hours` apart, each from its own speed and course (`nm_lon`: nautical miles per degree of
/// longitude between them).
#[inline]
fn dead_reckoning_miss(
    (a, ka): (&Fix, &Kin),
    (b, kb): (&Fix, &Kin),
    hours: f64,
    nm_lon: f64,
) -> f64 {
    let (b_pred_lon, b_pred_lat) = predict(a, ka, hours);
    let (a_pred_lon, a_pred_lat) = predict(b, kb, -hours);
    let nm_lat = 60.0;
    0.5 * (norm(
        nm_lon * wrap_deg(a_pred_lon - a.lon),
        nm_lat * (a_pred_lat - a.lat),
    ) + norm(
        nm_lon * wrap_deg(b_pred_lon - b.lon),
        nm_lat * (b_pred_lat - b.lat),
    ))
}

/// Whether `b`, more than `max_hours` after segment end `a` (or before, for a late position),
/// is where dead reckoning over the whole gap puts it: a miss of at most `bridge_tolerance`
/// of the distance run at the mean of the two reported speeds, or `hop_margin_knots` times
/// `buffer_hours` (a vessel that stayed put).
fn on_course(cfg: &SegmenterConfig, a: (&Fix, &Kin), b: (&Fix, &Kin), hours: f64) -> bool {
    let (a, b) = if hours >= 0.0 { (a, b) } else { (b, a) };
    let hours = hours.abs();
    let nm_lon = 60.0 * (0.5 * (a.0.lat + b.0.lat)).to_radians().cos();
    let miss = dead_reckoning_miss(a, b, hours, nm_lon);
    let run_nm = 0.5 * (a.1.speed + b.1.speed) * hours;
    miss <= (cfg.bridge_tolerance * run_nm).max(cfg.hop_margin_knots * cfg.buffer_hours)
}

/// Whether a position `dist_nm` from segment end `a` and `hours` away (`padded_hours` with
/// the buffer), with discrepancy `discrepancy_nm`, is plausible for the vessel: where the
/// segment's motion says (at most `hop_margin_knots` of discrepancy per padded hour), or within
/// reach of its reported speed (straight-line distance at most the faster of the two reported
/// speeds, capped at `max_knots`, plus `hop_margin_knots`, per hour). Unknown speeds count as 0.
#[inline]
fn plausible(
    cfg: &SegmenterConfig,
    (a, b): (&Fix, &Fix),
    discrepancy_nm: f64,
    dist_nm: f64,
    (hours, padded_hours): (f64, f64),
) -> bool {
    if discrepancy_nm <= cfg.hop_margin_knots * padded_hours {
        return true;
    }
    let known = |s: Option<f32>| s.map_or(0.0, f64::from);
    let v_ref = known(a.sog_knots)
        .max(known(b.sog_knots))
        .min(cfg.max_knots);
    dist_nm <= (v_ref + cfg.hop_margin_knots) * hours
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `fits` is exactly "the metric is above 0", over ordinary and extreme inputs.
        #[test]
        fn fits_is_metric_above_zero(
            d in proptest::prop_oneof![0.0f64..500.0, proptest::num::f64::ANY],
            hours in proptest::prop_oneof![0.0f64..48.0, proptest::num::f64::ANY],
            penalty_speed in proptest::prop_oneof![proptest::strategy::Just(5.0), 1e-3f64..10.0],
            buffer_hours in proptest::prop_oneof![proptest::strategy::Just(0.25), 0.0f64..1.0],
        ) {
            let cfg = SegmenterConfig { penalty_speed, buffer_hours, ..SegmenterConfig::default() };
            proptest::prop_assert_eq!(fits(&cfg, d, hours), metric(&cfg, d, hours) > 0.0);
        }
    }

    /// A vessel at `sog` knots on `cog`, reporting every `step_s` seconds from (lat, lon).
    fn track(lat: f64, lon: f64, sog: f32, cog: f32, n: usize, step_s: i64, t0_s: i64) -> Vec<Fix> {
        let mut out = Vec::new();
        let (mut la, mut lo) = (lat, lon);
        for k in 0..n {
            out.push(Fix {
                t_ms: (t0_s + k as i64 * step_s) * 1000,
                lat: la,
                lon: lo,
                sog_knots: Some(sog),
                cog_deg: Some(cog),
                transponder: Transponder::ClassA,
            });
            let d_nm = sog as f64 * step_s as f64 / 3600.0;
            let r = (cog as f64).to_radians();
            la += d_nm * r.cos() / 60.0;
            lo += d_nm * r.sin() / (60.0 * la.to_radians().cos());
        }
        out
    }

    #[test]
    fn one_vessel_one_segment() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let ids: Vec<_> = track(1.2, 103.8, 12.0, 75.0, 200, 10, 0)
            .iter()
            .map(|f| s.push(f).segment().unwrap())
            .collect();
        assert!(ids.iter().all(|&i| i == SegmentId(0)));
    }

    /// Every tenth position arrives 20 minutes late (satellite data): each joins the track
    /// it belongs to, and the track's end stays its newest position, so the positions after
    /// it join as well. A late position far from the track starts a segment of its own.
    #[test]
    fn late_positions_join_the_track_they_belong_to() {
        let fixes = track(1.2, 103.8, 12.0, 75.0, 400, 10, 0);
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut late = Vec::new();
        for (k, f) in fixes.iter().enumerate() {
            if k % 10 == 5 {
                late.push((k + 120, *f));
            } else {
                assert_eq!(s.push(f).segment(), Some(SegmentId(0)), "position {k}");
            }
            while late.first().is_some_and(|l| l.0 == k) {
                let (_, f) = late.remove(0);
                assert_eq!(
                    s.push(&f).segment(),
                    Some(SegmentId(0)),
                    "late position at {k}"
                );
            }
        }
        assert_eq!(s.open_segments(), 1);
        let far = Fix {
            lat: 3.5,
            ..fixes[300]
        };
        assert!(matches!(s.push(&far), Placement::Started(SegmentId(1), _)));
    }

    #[test]
    fn a_resumed_segmenter_places_like_an_unbroken_one() {
        let a = track(1.2, 103.8, 12.0, 75.0, 60, 10, 0);
        let b = track(2.2, 104.5, 8.0, 200.0, 60, 10, 5);
        let fixes: Vec<Fix> = a.iter().zip(&b).flat_map(|(x, y)| [*x, *y]).collect();
        let mut whole = Segmenter::new(SegmenterConfig::default());
        let expected: Vec<Placement> = fixes.iter().map(|f| whole.push(f)).collect();
        for cut in [1, 7, 60, 119] {
            let mut first = Segmenter::new(SegmenterConfig::default());
            let mut got: Vec<Placement> = fixes[..cut].iter().map(|f| first.push(f)).collect();
            let mut second = Segmenter::resume(SegmenterConfig::default(), first.state());
            got.extend(fixes[cut..].iter().map(|f| second.push(f)));
            assert_eq!(got, expected, "cut at {cut}");
        }
    }

    #[test]
    fn two_transmitters_sharing_an_mmsi_make_two_segments() {
        // Two ships 60 nm apart, both reporting every 10 s, interleaved.
        let a = track(1.2, 103.8, 12.0, 75.0, 100, 10, 0);
        let b = track(2.2, 104.5, 8.0, 200.0, 100, 10, 5);
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut seg_a = std::collections::HashSet::new();
        let mut seg_b = std::collections::HashSet::new();
        for (fa, fb) in a.iter().zip(&b) {
            seg_a.insert(s.push(fa).segment().unwrap());
            seg_b.insert(s.push(fb).segment().unwrap());
        }
        assert_eq!(seg_a.len(), 1, "{seg_a:?}");
        assert_eq!(seg_b.len(), 1, "{seg_b:?}");
        assert!(seg_a.is_disjoint(&seg_b));
    }

    /// Issue 17: a position that two open segments explain about equally closes both and
    /// starts a new segment, so the next position is not ambiguous again.
    #[test]
    fn issue_17_ambiguous_segments_are_closed() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let a = track(10.0, 76.0, 0.0, 0.0, 3, 180, 0);
        let b = track(10.05, 76.0, 0.0, 0.0, 3, 180, 60);
        for (fa, fb) in a.iter().zip(&b) {
            s.push(fa);
            s.push(fb);
        }
        assert_eq!(s.open_segments(), 2);
        // Half way between the two, an hour later.
        let mid = track(10.025, 76.0, 0.0, 0.0, 1, 1, 3600)[0];
        assert_eq!(
            s.push(&mid),
            Placement::Started(SegmentId(2), StartReason::Ambiguous)
        );
        assert_eq!(s.open_segments(), 1);
        let next = track(10.025, 76.0, 0.0, 0.0, 1, 1, 3780)[0];
        assert_eq!(s.push(&next), Placement::Joined(SegmentId(2)));
    }

    /// Issue 17: an 11 nm spike without speed and course is flagged, not a segment; the track
    /// goes on; a later report that fits the spike starts a segment (another transmitter), also
    /// after a resume.
    #[test]
    fn issue_17_a_spike_is_flagged_and_remembered() {
        let t = track(1.2, 103.8, 12.0, 75.0, 20, 10, 0);
        let mut s = Segmenter::new(SegmenterConfig::default());
        for f in &t[..10] {
            s.push(f);
        }
        let mut spike = t[9];
        spike.t_ms += 5_000;
        spike.lat += 11.0 / 60.0;
        spike.sog_knots = None;
        spike.cog_deg = None;
        assert_eq!(s.push(&spike), Placement::Invalid(InvalidReason::Spike));
        for f in &t[10..] {
            assert_eq!(s.push(f), Placement::Joined(SegmentId(0)));
        }
        let mut second = spike;
        second.t_ms = t[19].t_ms + 180_000;
        let mut resumed = Segmenter::resume(SegmenterConfig::default(), s.state());
        assert_eq!(
            resumed.push(&second),
            Placement::Started(SegmentId(1), StartReason::NoMatch)
        );
        let null_island = Fix {
            lat: 0.0,
            lon: 0.0,
            ..t[0]
        };
        assert_eq!(
            resumed.push(&null_island),
            Placement::Invalid(InvalidReason::NullIsland)
        );
    }

    #[test]
    fn a_long_silence_starts_a_new_segment() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let first = track(1.2, 103.8, 0.0, 0.0, 5, 60, 0);
        let later = track(1.2, 103.8, 0.0, 0.0, 5, 60, 25 * 3600);
        for f in &first {
            assert_eq!(s.push(f).segment(), Some(SegmentId(0)));
        }
        assert_eq!(
            s.push(&later[0]),
            Placement::Started(SegmentId(1), StartReason::First)
        );
    }

    #[test]
    fn a_spoofed_jump_does_not_break_the_track() {
        let t = track(1.2, 103.8, 12.0, 75.0, 60, 10, 0);
        let mut s = Segmenter::new(SegmenterConfig::default());
        for (k, f) in t.iter().enumerate() {
            let p = s.push(f);
            assert_eq!(p.segment(), Some(SegmentId(0)), "position {k}");
            if k == 30 {
                // One report 300 nm away, 5 s later.
                let mut jump = *f;
                jump.t_ms += 5_000;
                jump.lat += 5.0;
                assert_eq!(
                    s.push(&jump),
                    Placement::Started(SegmentId(1), StartReason::NoMatch)
                );
            }
        }
    }

    #[test]
    fn type_27_close_to_the_track_is_noise() {
        let t = track(1.2, 103.8, 12.0, 75.0, 10, 10, 0);
        let mut s = Segmenter::new(SegmenterConfig::default());
        for f in &t {
            s.push(f);
        }
        let mut lr = t[9];
        lr.t_ms += 60_000;
        lr.transponder = Transponder::LongRange;
        assert_eq!(s.push(&lr), Placement::Noise(SegmentId(0)));
    }

    #[test]
    fn invalid_positions_are_flagged_not_placed() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let mut f = track(1.2, 103.8, 12.0, 75.0, 1, 10, 0)[0];
        f.cog_deg = None;
        assert_eq!(
            s.push(&f),
            Placement::Invalid(InvalidReason::NoCourseWhileMoving)
        );
        f.lat = f64::NAN;
        assert_eq!(s.push(&f), Placement::Invalid(InvalidReason::BadPosition));
        assert_eq!(s.open_segments(), 0);
    }

    #[test]
    fn open_segments_are_bounded() {
        let cfg = SegmenterConfig {
            max_open_segments: 5,
            ..SegmenterConfig::default()
        };
        let mut s = Segmenter::new(cfg);
        for k in 0..50 {
            // Positions far apart: every one starts a segment.
            let f = track(-60.0 + k as f64 * 2.0, 10.0, 0.0, 0.0, 1, 1, k)[0];
            s.push(&f);
        }
        assert_eq!(s.open_segments(), 5);
    }

    #[test]
    fn metric_and_penalty_follow_the_published_formulas() {
        let cfg = SegmenterConfig::default();
        // A perfect prediction after one hour: exp(0) / hypot(1, 0.25).
        assert!((metric(&cfg, 0.0, 1.0) - 1.0 / 1.0f64.hypot(0.25)).abs() < 1e-12);
        // Beyond hypot(hours, 0.25) * 25 kn nothing matches.
        assert_eq!(metric(&cfg, 1.0f64.hypot(0.25) * 25.0 + 0.01, 1.0), 0.0);
        // Four hours count as 4 / (1 + 1) = 2.
        assert!((penalized_hours(&cfg, 4.0) - 2.0).abs() < 1e-12);
    }
}
