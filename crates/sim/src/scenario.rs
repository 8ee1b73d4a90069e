//! A checked scenario: the TOML of [`crate::spec`] with times resolved to milliseconds,
//! references (targets, lanes, ports, partners) resolved to indices, identities completed and
//! swarms expanded into vessels. Every mistake in a file is reported with where it is.

use crate::earth::{LatLon, NM_M};
use crate::fleet::{self, Identity, Kind};
use crate::rng::Rng;
use crate::spec::{self, ScenarioSpec, StepSpec, VesselSpec, WorldSpec};
use geo::{BoundingRect, Contains, Coord, LineString, Polygon};
use std::collections::HashMap;
use std::fmt;

/// What is wrong with a scenario, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where in the file (`vessel[2] "ccg1" .plan[1].target`), empty for the whole file.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

fn err(at: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        at: at.into(),
        message: message.into(),
    }
}

/// Settings given on the command line that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Seed.
    pub seed: Option<u64>,
    /// Background vessels.
    pub vessels: Option<u32>,
    /// Length in hours.
    pub hours: Option<f64>,
    /// Start, Unix milliseconds.
    pub start_ms: Option<i64>,
    /// Add a receiver network that hears every transmission (partner `NET`, station
    /// `network`, no loss): dense terrestrial coverage, for large benchmark inputs.
    pub full_coverage: bool,
}

/// A partner.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Name.
    pub name: String,
    /// Tag-block times in milliseconds.
    pub time_ms: bool,
    /// Tag-block groups on multi-sentence messages.
    pub groups: bool,
    /// Talker id.
    pub talker: [u8; 2],
}

/// A fixed receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// Station name.
    pub name: String,
    /// Index into [`Scenario::partners`].
    pub partner: usize,
    /// Where.
    pub position: LatLon,
    /// Range for class A; class B (2 W instead of 12.5 W) reaches 60 % of it. Infinite for a
    /// network that hears everything.
    pub range_m: f64,
    /// Loss well inside the range.
    pub loss: f64,
    /// MMSI as a base station (type 4 every 10 s), when the partner names a flag.
    pub base_mmsi: Option<u32>,
}

/// A satellite.
#[derive(Debug, Clone)]
pub struct Satellite {
    /// Station name.
    pub name: String,
    /// Index into [`Scenario::partners`].
    pub partner: usize,
    /// Inclination, radians.
    pub inclination: f64,
    /// Altitude, metres.
    pub altitude_m: f64,
    /// Longitude of the ascending node at the start, radians.
    pub node_lon: f64,
    /// Argument of latitude at the start, radians.
    pub phase: f64,
    /// Minimum elevation, radians.
    pub min_elevation: f64,
    /// Time between downlinks.
    pub downlink_every_ms: i64,
    /// Delay after a downlink.
    pub latency_ms: i64,
    /// Detection probability without collisions.
    pub detect: f64,
    /// Reports per minute the satellite separates.
    pub capacity_per_min: f64,
}

/// A named area.
#[derive(Debug, Clone)]
pub struct Zone {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Outline.
    pub polygon: Polygon<f64>,
    /// Bounding box (min lon, min lat, max lon, max lat).
    pub bbox: [f64; 4],
    /// Where the outline comes from.
    pub note: String,
}

impl Zone {
    /// Whether `p` is inside.
    pub fn contains(&self, p: LatLon) -> bool {
        p.lon >= self.bbox[0]
            && p.lon <= self.bbox[2]
            && p.lat >= self.bbox[1]
            && p.lat <= self.bbox[3]
            && self.polygon.contains(&Coord { x: p.lon, y: p.lat })
    }
}

/// A sea lane.
#[derive(Debug, Clone)]
pub struct Lane {
    /// Name.
    pub name: String,
    /// Waypoints.
    pub points: Vec<LatLon>,
    /// Half width at each waypoint, metres.
    pub half_width_m: Vec<f64>,
    /// Length along the centre line, metres.
    pub length_m: f64,
}

/// A port.
#[derive(Debug, Clone)]
pub struct Port {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Anchorage centre.
    pub anchorage: LatLon,
    /// Anchorage radius, metres.
    pub radius_m: f64,
}

/// A port's area is at least this wide (radius, metres): GFW's port visit begins within 3 km
/// of an anchorage point (DETECTION.md).
pub const PORT_AREA_MIN_RADIUS_M: f64 = 3_000.0;

impl Port {
    /// The port's area as a zone named by its code, of kind `port`: a circle round the
    /// anchorage of its radius, at least [`PORT_AREA_MIN_RADIUS_M`].
    pub fn area(&self) -> Zone {
        let polygon = Polygon::new(
            LineString::new(circle_ring(
                self.anchorage,
                self.radius_m.max(PORT_AREA_MIN_RADIUS_M),
            )),
            vec![],
        );
        let bbox = polygon
            .bounding_rect()
            .map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y]);
        Zone {
            name: self.code.clone(),
            kind: "port".to_owned(),
            polygon,
            bbox,
            note: self.name.clone(),
        }
    }
}

/// A circle as a ring of 72 points (every 5 degrees), longitude and latitude.
fn circle_ring(center: LatLon, radius_m: f64) -> Vec<Coord<f64>> {
    (0..72)
        .map(|i| {
            let p = center.destination(i as f64 * 5.0, radius_m);
            Coord { x: p.lon, y: p.lat }
        })
        .collect()
}

/// Lanes and ports.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Lanes.
    pub lanes: Vec<Lane>,
    /// Ports.
    pub ports: Vec<Port>,
}

/// The built-in lanes and ports (`data/lanes.toml`).
pub const LANES_TOML: &str = include_str!("../data/lanes.toml");

impl World {
    /// The built-in world.
    pub fn builtin() -> World {
        let spec: WorldSpec = match toml::from_str(LANES_TOML) {
            Ok(s) => s,
            // The file is part of the crate and parsed by a unit test.
            Err(_) => return World::default(),
        };
        let mut w = World::default();
        // Checked by `tests::builtin_world_is_valid`.
        let _ = w.add(&spec.lane, &spec.port, "lanes.toml");
        w
    }

    fn add(
        &mut self,
        lanes: &[spec::LaneSpec],
        ports: &[spec::PortSpec],
        at: &str,
    ) -> Result<(), ScenarioError> {
        for (k, l) in lanes.iter().enumerate() {
            let here = format!("{at}lane[{k}] \"{}\"", l.name);
            if l.points.len() < 2 {
                return Err(err(here, "a lane needs at least two points"));
            }
            for (j, p) in l.points.iter().enumerate() {
                check_lon_lat([p[0], p[1]], &format!("{here}.points[{j}]"))?;
                if !(p[2] >= 0.0 && p[2] < 50.0) {
                    return Err(err(
                        format!("{here}.points[{j}]"),
                        "half width must be 0-50 nm",
                    ));
                }
            }
            let points: Vec<LatLon> = l
                .points
                .iter()
                .map(|p| LatLon {
                    lat: p[1],
                    lon: p[0],
                })
                .collect();
            let lane = Lane {
                name: l.name.clone(),
                length_m: points.windows(2).map(|w| w[0].distance_m(w[1])).sum(),
                points,
                half_width_m: l.points.iter().map(|p| p[2] * NM_M).collect(),
            };
            match self.lanes.iter_mut().find(|x| x.name == l.name) {
                Some(x) => *x = lane,
                None => self.lanes.push(lane),
            }
        }
        for (k, p) in ports.iter().enumerate() {
            let here = format!("{at}port[{k}] \"{}\"", p.code);
            check_lon_lat(p.anchorage, &here)?;
            let port = Port {
                code: p.code.clone(),
                name: p.name.clone(),
                anchorage: LatLon::from_lon_lat(p.anchorage),
                radius_m: p.radius_nm * NM_M,
            };
            match self.ports.iter_mut().find(|x| x.code == p.code) {
                Some(x) => *x = port,
                None => self.ports.push(port),
            }
        }
        Ok(())
    }

    /// The port whose anchorage is within `within_m` of `p`.
    pub fn port_near(&self, p: LatLon, within_m: f64) -> Option<usize> {
        self.ports
            .iter()
            .position(|q| q.anchorage.distance_m(p) <= within_m)
    }
}

/// How a stop ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Until {
    /// After this long from its start.
    For(i64),
    /// At this time.
    At(i64),
}

/// What a stopped vessel does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// At anchor (nav status 1).
    Anchor,
    /// Moored (nav status 5).
    Moor,
    /// Drifting, engines stopped (nav status 0, well under 1 kn).
    Drift,
}

/// One resolved step of a plan.
#[derive(Debug, Clone)]
pub enum Step {
    /// Sail through points.
    Sail {
        /// Waypoints.
        points: Vec<LatLon>,
        /// Speed, knots.
        speed_knots: f64,
    },
    /// Sail a lane, keeping to starboard of the centre line.
    Lane {
        /// Index into [`World::lanes`].
        lane: usize,
        /// From its last point to its first.
        reverse: bool,
        /// Speed, knots.
        speed_knots: f64,
    },
    /// Port call.
    PortCall {
        /// Index into [`World::ports`].
        port: usize,
        /// Stay.
        stay_ms: i64,
    },
    /// Stop.
    Stop {
        /// How.
        mode: StopMode,
        /// Until when.
        until: Until,
    },
    /// Wander slowly.
    Loiter {
        /// Duration.
        stay_ms: i64,
        /// Radius, metres.
        radius_m: f64,
        /// Speed, knots.
        speed_knots: f64,
    },
    /// Survey lines.
    Survey {
        /// Lines.
        lines: u32,
        /// Length, metres.
        length_m: f64,
        /// Spacing, metres.
        spacing_m: f64,
        /// First heading.
        heading_deg: f64,
        /// Speed, knots.
        speed_knots: f64,
    },
    /// Keep station near a vessel.
    Escort {
        /// Index into [`Scenario::vessels`].
        target: usize,
        /// Distance, metres.
        distance_m: f64,
        /// Bearing relative to the target's course.
        bearing_deg: f64,
        /// Duration; `None` until the target's plan ends.
        stay_ms: Option<i64>,
        /// `escort` or `shadowing`.
        label: &'static str,
    },
    /// Close passes.
    Harass {
        /// Index into [`Scenario::vessels`].
        target: usize,
        /// Passes.
        passes: u32,
        /// Intended CPA, metres.
        cpa_m: f64,
        /// Speed, knots.
        speed_knots: f64,
    },
    /// Alongside for a transfer.
    Meet {
        /// Index into [`Scenario::vessels`].
        target: usize,
        /// Time alongside.
        stay_ms: i64,
        /// Distance alongside, metres.
        distance_m: f64,
    },
}

impl Step {
    /// The vessel this step follows, if any.
    pub fn target(&self) -> Option<usize> {
        match self {
            Step::Escort { target, .. }
            | Step::Harass { target, .. }
            | Step::Meet { target, .. } => Some(*target),
            _ => None,
        }
    }
}

/// How AIS misbehaves for a while.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AisMode {
    /// Transponder off.
    Off,
    /// Reports a position offset from the true one.
    Jump {
        /// Offset, metres.
        offset_m: f64,
        /// Direction.
        bearing_deg: f64,
    },
    /// Reports positions circling a point.
    Circle {
        /// Centre.
        center: LatLon,
        /// Radius, metres.
        radius_m: f64,
    },
    /// Reports a position on land.
    Land {
        /// The inland point.
        point: LatLon,
    },
}

impl AisMode {
    /// Truth kind of the window.
    pub fn truth_kind(&self) -> &'static str {
        match self {
            AisMode::Off => "ais_gap",
            AisMode::Jump { .. } => "spoof_jump",
            AisMode::Circle { .. } => "spoof_circle",
            AisMode::Land { .. } => "spoof_land",
        }
    }
}

/// A window of AIS misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AisWindow {
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms.
    pub end_ms: i64,
    /// What happens.
    pub mode: AisMode,
}

/// A change of identity.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityChange {
    /// When, Unix ms.
    pub at_ms: i64,
    /// The identity from then on.
    pub identity: Identity,
}

/// A resolved vessel.
#[derive(Debug, Clone)]
pub struct VesselPlan {
    /// Scenario id (`swarm-NAME-K` for swarm members).
    pub id: String,
    /// Identity at appearance.
    pub identity: Identity,
    /// Kind.
    pub kind: Kind,
    /// Class B transponder.
    pub class_b: bool,
    /// Cruising speed.
    pub cruise_knots: f64,
    /// Where it appears.
    pub position: LatLon,
    /// When it appears, Unix ms.
    pub appears_ms: i64,
    /// Initial course.
    pub course_deg: Option<f64>,
    /// Plan.
    pub steps: Vec<Step>,
    /// AIS windows, sorted by start.
    pub ais: Vec<AisWindow>,
    /// Identity changes, sorted by time.
    pub identity_changes: Vec<IdentityChange>,
    /// Watch-list reason.
    pub watchlist: Option<String>,
    /// Index into [`Scenario::swarms`] for swarm members.
    pub swarm: Option<usize>,
}

/// A resolved swarm.
#[derive(Debug, Clone)]
pub struct Swarm {
    /// Name.
    pub name: String,
    /// Centre.
    pub center: LatLon,
    /// Radius, metres.
    pub radius_m: f64,
}

/// Background traffic.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Vessels at sea.
    pub vessels: u32,
    /// Indices into [`World::lanes`].
    pub lanes: Vec<usize>,
    /// Share of class B.
    pub class_b_share: f64,
}

/// A checked scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms.
    pub end_ms: i64,
    /// Seed.
    pub seed: u64,
    /// Partners.
    pub partners: Vec<Partner>,
    /// Receivers.
    pub receivers: Vec<Receiver>,
    /// Satellites.
    pub satellites: Vec<Satellite>,
    /// Zones.
    pub zones: Vec<Zone>,
    /// The ports' areas ([`Port::area`]) of every port not named by one of `zones`: zones
    /// too, as a user loading the ports would have them (zone visits are recorded for both).
    pub port_areas: Vec<Zone>,
    /// Lanes and ports.
    pub world: World,
    /// Scripted vessels and swarm members.
    pub vessels: Vec<VesselPlan>,
    /// Swarms.
    pub swarms: Vec<Swarm>,
    /// Background traffic.
    pub traffic: Option<Traffic>,
    /// Probability of damaging a received line.
    pub corrupt_rate: f64,
}

/// The built-in scenarios: name and TOML text.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "scs-greyzone",
        include_str!("../scenarios/scs-greyzone.toml"),
    ),
    (
        "ior-shadow-fleet",
        include_str!("../scenarios/ior-shadow-fleet.toml"),
    ),
    ("ior-traffic", include_str!("../scenarios/ior-traffic.toml")),
];

/// The TOML of a built-in scenario.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|b| b.0 == name).map(|b| b.1)
}

/// Parses a duration: numbers with units `d`, `h`, `m`, `s`, `ms` (`"1d6h"`, `"90m"`, `"1.5h"`).
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let v: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let scale = match unit {
            "d" => 86_400_000.0,
            "h" => 3_600_000.0,
            "m" | "min" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            _ => return None,
        };
        total += v * scale;
    }
    (total.is_finite() && total <= 1e15).then_some(total.round() as i64)
}

/// Parses an RFC 3339 time to Unix milliseconds.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

fn check_lon_lat(p: [f64; 2], at: &str) -> Result<(), ScenarioError> {
    if !(p[0] >= -180.0 && p[0] <= 180.0 && p[1] >= -85.0 && p[1] <= 85.0) {
        return Err(err(
            at,
            format!(
                "position [{}, {}] is not [lon, lat] in degrees (lon -180..180, lat -85..85)",
                p[0], p[1]
            ),
        ));
    }
    Ok(())
}

struct Ctx<'a> {
    start_ms: i64,
    end_ms: i64,
    world: &'a World,
    ids: HashMap<&'a str, usize>,
}

impl Ctx<'_> {
    fn duration(&self, s: &str, at: &str) -> Result<i64, ScenarioError> {
        parse_duration_ms(s).ok_or_else(|| {
            err(
                at,
                format!("\"{s}\" is not a duration (like \"36h\", \"1d6h\", \"90m\")"),
            )
        })
    }

    /// A time: an offset from the start (`"36h"`) or an RFC 3339 time.
    fn time(&self, s: &str, at: &str) -> Result<i64, ScenarioError> {
        if let Some(d) = parse_duration_ms(s) {
            return Ok(self.start_ms + d);
        }
        parse_time_ms(s).ok_or_else(|| {
            err(
                at,
                format!(
                    "\"{s}\" is neither an offset from the start (\"36h\") nor an RFC 3339 time"
                ),
            )
        })
    }

    fn target(&self, id: &str, at: &str) -> Result<usize, ScenarioError> {
        self.ids
            .get(id)
            .copied()
            .ok_or_else(|| err(at, format!("no vessel has id \"{id}\"")))
    }
}

fn parse_flag(flag: &str, at: &str) -> Result<Vec<u16>, ScenarioError> {
    let mids = ais::mmsi::mids_of_flag(flag);
    if mids.is_empty() || flag.len() != 2 || flag.chars().any(|c| !c.is_ascii_uppercase()) {
        return Err(err(
            at,
            format!("\"{flag}\" is not the ISO 3166 alpha-2 code of a flag with MIDs (like \"PA\", \"IN\")"),
        ));
    }
    Ok(mids)
}

fn six_bit_ok(s: &str) -> bool {
    s.bytes()
        .all(|c| (32..=95).contains(&c.to_ascii_uppercase()))
}

fn check_text(s: &str, max: usize, what: &str, at: &str) -> Result<(), ScenarioError> {
    if s.len() > max || !six_bit_ok(s) {
        return Err(err(
            at,
            format!("{what} \"{s}\" must be at most {max} characters of the AIS six-bit alphabet (A-Z, 0-9, space, punctuation)"),
        ));
    }
    Ok(())
}

impl Scenario {
    /// Parses and checks a scenario file.
    pub fn from_toml(text: &str, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
        let spec: ScenarioSpec =
            toml::from_str(text).map_err(|e| err("", format!("{}", e).trim_end().to_owned()))?;
        Scenario::from_spec(&spec, overrides)
    }

    /// Checks a parsed scenario.
    pub fn from_spec(spec: &ScenarioSpec, o: &Overrides) -> Result<Scenario, ScenarioError> {
        let start_ms = match o.start_ms {
            Some(t) => t,
            None => parse_time_ms(&spec.start).ok_or_else(|| {
                err(
                    "start",
                    format!(
                        "\"{}\" is not an RFC 3339 time (like \"2026-04-16T00:00:00Z\")",
                        spec.start
                    ),
                )
            })?,
        };
        let duration_ms = match o.hours {
            Some(h) if h > 0.0 && h.is_finite() => (h * 3_600_000.0).round() as i64,
            Some(h) => {
                return Err(err(
                    "--hours",
                    format!("{h} is not a positive number of hours"),
                ))
            }
            None => parse_duration_ms(&spec.duration)
                .filter(|&d| d > 0)
                .ok_or_else(|| {
                    err(
                        "duration",
                        format!("\"{}\" is not a positive duration", spec.duration),
                    )
                })?,
        };
        let end_ms = start_ms + duration_ms;
        let seed = o.seed.unwrap_or(spec.seed);
        let mut world = World::builtin();
        world.add(&spec.lane, &spec.port, "")?;

        let mut partners = Vec::new();
        for (k, p) in spec.partner.iter().enumerate() {
            let at = format!("partner[{k}] \"{}\"", p.name);
            if p.name.is_empty()
                || !p
                    .name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            {
                return Err(err(at, "partner names are letters, digits, '-' and '_'"));
            }
            if partners.iter().any(|q: &Partner| q.name == p.name) {
                return Err(err(at, "partner names must be unique"));
            }
            let t = p.talker.as_bytes();
            if t.len() != 2 || !t.iter().all(u8::is_ascii_uppercase) {
                return Err(err(
                    format!("{at}.talker"),
                    "a talker id is two capital letters",
                ));
            }
            partners.push(Partner {
                name: p.name.clone(),
                time_ms: p.time_ms,
                groups: p.groups,
                talker: [t[0], t[1]],
            });
        }
        let partner_of = |name: &str, at: &str| {
            partners.iter().position(|p| p.name == name).ok_or_else(|| {
                err(
                    at,
                    format!("no partner is named \"{name}\" (add a [[partner]] table)"),
                )
            })
        };

        let mut receivers = Vec::new();
        let mut station_names: Vec<&str> = Vec::new();
        for (k, r) in spec.receiver.iter().enumerate() {
            let at = format!("receiver[{k}] \"{}\"", r.name);
            check_station_name(&r.name, &station_names, &at)?;
            station_names.push(&r.name);
            check_lon_lat(r.position, &format!("{at}.position"))?;
            if !(r.range_nm > 0.0 && r.range_nm <= 400.0) {
                return Err(err(format!("{at}.range_nm"), "range must be 0-400 nm"));
            }
            if !(0.0..1.0).contains(&r.loss) {
                return Err(err(format!("{at}.loss"), "loss is a probability below 1"));
            }
            let partner = partner_of(&r.partner, &format!("{at}.partner"))?;
            let mids = ais::mmsi::mids_of_flag(&partners[partner].name);
            let base_mmsi = (spec.reception.base_stations && !mids.is_empty())
                .then(|| mids[0] as u32 * 10_000 + 1_000 + k as u32);
            receivers.push(Receiver {
                name: r.name.clone(),
                partner,
                position: LatLon::from_lon_lat(r.position),
                range_m: r.range_nm * NM_M,
                loss: r.loss,
                base_mmsi,
            });
        }
        let mut satellites = Vec::new();
        for (k, s) in spec.satellite.iter().enumerate() {
            let at = format!("satellite[{k}] \"{}\"", s.name);
            check_station_name(&s.name, &station_names, &at)?;
            station_names.push(&s.name);
            let partner = partner_of(&s.partner, &format!("{at}.partner"))?;
            if !(200.0..=2000.0).contains(&s.altitude_km) {
                return Err(err(
                    format!("{at}.altitude_km"),
                    "altitude must be 200-2000 km",
                ));
            }
            let ctx_d = |v: &str, f: &str| {
                parse_duration_ms(v)
                    .ok_or_else(|| err(format!("{at}.{f}"), format!("\"{v}\" is not a duration")))
            };
            let downlink_every_ms = ctx_d(&s.downlink_every, "downlink_every")?.max(1000);
            let latency_ms = ctx_d(&s.latency, "latency")?;
            if !(0.0..=1.0).contains(&s.detect) || s.capacity_per_min <= 0.0 {
                return Err(err(at, "detect must be 0-1 and capacity_per_min positive"));
            }
            satellites.push(Satellite {
                name: s.name.clone(),
                partner,
                inclination: s.inclination_deg.to_radians(),
                altitude_m: s.altitude_km * 1000.0,
                node_lon: s.node_lon_deg.to_radians(),
                phase: s.phase_deg.to_radians(),
                min_elevation: s.min_elevation_deg.to_radians(),
                downlink_every_ms,
                latency_ms,
                detect: s.detect,
                capacity_per_min: s.capacity_per_min,
            });
        }
        if o.full_coverage {
            let partner = match partners.iter().position(|p| p.name == "NET") {
                Some(p) => p,
                None => {
                    partners.push(Partner {
                        name: "NET".to_owned(),
                        time_ms: false,
                        groups: true,
                        talker: *b"AB",
                    });
                    partners.len() - 1
                }
            };
            if station_names.contains(&"network") {
                return Err(err("--coverage", "a station is already named \"network\""));
            }
            receivers.push(Receiver {
                name: "network".to_owned(),
                partner,
                position: LatLon { lat: 0.0, lon: 0.0 },
                range_m: f64::INFINITY,
                loss: 0.0,
                base_mmsi: None,
            });
        }
        if !(0.0..0.5).contains(&spec.reception.corrupt_rate) {
            return Err(err(
                "reception.corrupt_rate",
                "must be a probability below 0.5",
            ));
        }

        let mut zones = Vec::new();
        for (k, z) in spec.zone.iter().enumerate() {
            let at = format!("zone[{k}] \"{}\"", z.name);
            if zones.iter().any(|q: &Zone| q.name == z.name) {
                return Err(err(at, "zone names must be unique"));
            }
            let ring: Vec<Coord<f64>> = match (&z.circle, z.polygon.is_empty()) {
                (Some(c), true) => {
                    check_lon_lat(c.center, &format!("{at}.circle.center"))?;
                    circle_ring(LatLon::from_lon_lat(c.center), c.radius_nm * NM_M)
                }
                (None, false) => {
                    if z.polygon.len() < 3 {
                        return Err(err(
                            format!("{at}.polygon"),
                            "a polygon needs at least three points",
                        ));
                    }
                    for (j, p) in z.polygon.iter().enumerate() {
                        check_lon_lat(*p, &format!("{at}.polygon[{j}]"))?;
                    }
                    z.polygon
                        .iter()
                        .map(|p| Coord { x: p[0], y: p[1] })
                        .collect()
                }
                _ => return Err(err(at, "give either polygon or circle")),
            };
            let polygon = Polygon::new(LineString::new(ring), vec![]);
            let Some(r) = polygon.bounding_rect() else {
                return Err(err(at, "empty outline"));
            };
            zones.push(Zone {
                name: z.name.clone(),
                kind: z.kind.clone(),
                bbox: [r.min().x, r.min().y, r.max().x, r.max().y],
                polygon,
                note: z.note.clone(),
            });
        }
        if zones.len() > 64 {
            return Err(err("zone", "at most 64 zones"));
        }
        // Every port's area, unless a zone of the file is named by its code (it then stands
        // for the port).
        let port_areas = world
            .ports
            .iter()
            .filter(|p| !zones.iter().any(|z| z.name == p.code))
            .map(Port::area)
            .collect();

        let mut ids = HashMap::new();
        for (k, v) in spec.vessel.iter().enumerate() {
            if ids.insert(v.id.as_str(), k).is_some() {
                return Err(err(
                    format!("vessel[{k}]"),
                    format!("id \"{}\" is used twice", v.id),
                ));
            }
        }
        let ctx = Ctx {
            start_ms,
            end_ms,
            world: &world,
            ids,
        };
        let mut vessels = Vec::new();
        for (k, v) in spec.vessel.iter().enumerate() {
            vessels.push(resolve_vessel(v, k, &ctx, seed)?);
        }
        check_no_cycles(&vessels)?;

        let mut swarms = Vec::new();
        for (k, s) in spec.swarm.iter().enumerate() {
            let at = format!("swarm[{k}] \"{}\"", s.name);
            let (swarm, members) = resolve_swarm(s, k, &at, &ctx, seed)?;
            swarms.push(swarm);
            vessels.extend(members);
        }

        let traffic = match &spec.traffic {
            None => None,
            Some(t) => {
                let mut lanes = Vec::new();
                for (j, name) in t.lanes.iter().enumerate() {
                    let i = world
                        .lanes
                        .iter()
                        .position(|l| &l.name == name)
                        .ok_or_else(|| {
                            err(
                                format!("traffic.lanes[{j}]"),
                                format!(
                                    "no lane is named \"{name}\"; known: {}",
                                    lane_names(&world)
                                ),
                            )
                        })?;
                    lanes.push(i);
                }
                if lanes.is_empty() {
                    lanes = (0..world.lanes.len()).collect();
                }
                if !(0.0..=1.0).contains(&t.class_b_share) {
                    return Err(err("traffic.class_b_share", "must be 0-1"));
                }
                Some(Traffic {
                    vessels: o.vessels.unwrap_or(t.vessels),
                    lanes,
                    class_b_share: t.class_b_share,
                })
            }
        };
        let traffic = match (traffic, o.vessels) {
            (None, Some(n)) if n > 0 => Some(Traffic {
                vessels: n,
                lanes: (0..world.lanes.len()).collect(),
                class_b_share: 0.08,
            }),
            (t, _) => t,
        };
        if (!receivers.is_empty() || !satellites.is_empty()) && partners.is_empty() {
            return Err(err("partner", "receivers need partners"));
        }
        if receivers.is_empty() && satellites.is_empty() {
            return Err(err(
                "",
                "a scenario needs at least one receiver or satellite",
            ));
        }

        Ok(Scenario {
            name: spec.name.clone(),
            description: spec.description.clone(),
            start_ms,
            end_ms,
            seed,
            partners,
            receivers,
            satellites,
            zones,
            port_areas,
            world,
            vessels,
            swarms,
            traffic,
            corrupt_rate: spec.reception.corrupt_rate,
        })
    }
}

fn lane_names(w: &World) -> String {
    w.lanes
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_station_name(name: &str, seen: &[&str], at: &str) -> Result<(), ScenarioError> {
    if name.is_empty()
        || name.len() > 15
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(err(
            at,
            "station names are 1-15 letters, digits, '-' and '_'",
        ));
    }
    if seen.contains(&name) {
        return Err(err(
            at,
            "station names must be unique across receivers and satellites",
        ));
    }
    Ok(())
}

fn hull(kind: Kind, length: Option<f64>, beam: Option<f64>, rng: &mut Rng) -> (f64, f64) {
    let p = kind.profile();
    let l = length.unwrap_or_else(|| rng.range(p.length_m.0, p.length_m.1));
    (l, beam.unwrap_or(l / p.length_beam_ratio))
}

fn resolve_vessel(
    v: &VesselSpec,
    k: usize,
    ctx: &Ctx<'_>,
    seed: u64,
) -> Result<VesselPlan, ScenarioError> {
    let at = format!("vessel[{k}] \"{}\"", v.id);
    let kind = Kind::parse(&v.kind).ok_or_else(|| {
        err(
            format!("{at}.type"),
            format!("unknown type \"{}\"; known: {}", v.kind, Kind::NAMES),
        )
    })?;
    let class_b = match v.class.as_str() {
        "A" => false,
        "B" => true,
        c => {
            return Err(err(
                format!("{at}.class"),
                format!("class is \"A\" or \"B\", not \"{c}\""),
            ))
        }
    };
    let mut rng = Rng::new(seed, 0x5c1e_0000 + k as u64);
    let mids = parse_flag(&v.flag, &format!("{at}.flag"))?;
    let mmsi = match v.mmsi {
        Some(m) => {
            if !(100_000_000..1_000_000_000).contains(&m)
                || !mids.contains(&((m / 1_000_000) as u16))
            {
                return Err(err(
                    format!("{at}.mmsi"),
                    format!(
                        "{m} is not a ship MMSI with a MID of {} ({:?})",
                        v.flag, mids
                    ),
                ));
            }
            m
        }
        None => mids[0] as u32 * 1_000_000 + 10_000 + k as u32,
    };
    check_text(&v.name, 20, "name", &format!("{at}.name"))?;
    if let Some(imo) = v.imo {
        if !fleet::imo_is_valid(imo) {
            return Err(err(
                format!("{at}.imo"),
                format!("{imo} is not an IMO number (seven digits, valid check digit)"),
            ));
        }
    }
    let callsign = match &v.callsign {
        Some(c) => {
            check_text(c, 7, "call sign", &format!("{at}.callsign"))?;
            c.clone()
        }
        None => fleet::callsign(&v.flag, &mut rng),
    };
    let profile = kind.profile();
    let (length, beam) = hull(kind, v.length_m, v.beam_m, &mut rng);
    let cruise = v.speed_knots.unwrap_or_else(|| {
        rng.range(
            profile.cruise_knots.0,
            profile.cruise_knots.1.max(profile.cruise_knots.0 + 0.01),
        )
    });
    if !(0.0..=60.0).contains(&cruise) {
        return Err(err(format!("{at}.speed_knots"), "speed must be 0-60 kn"));
    }
    let destination = v.destination.clone().unwrap_or_default();
    check_text(
        &destination,
        20,
        "destination",
        &format!("{at}.destination"),
    )?;
    check_lon_lat(v.position, &format!("{at}.position"))?;
    let identity = Identity {
        mmsi,
        name: v.name.to_ascii_uppercase(),
        callsign: callsign.to_ascii_uppercase(),
        imo: v.imo,
        flag: v.flag.clone(),
        ship_type: profile.ais_type,
        dims: fleet::dims(length, beam, &mut rng),
        draught_m: rng.range(profile.draught_m.0, profile.draught_m.1),
        destination: destination.to_ascii_uppercase(),
    };
    let appears_ms = match &v.appears {
        Some(s) => ctx.time(s, &format!("{at}.appears"))?,
        None => ctx.start_ms,
    };
    let mut steps = Vec::new();
    for (j, s) in v.plan.iter().enumerate() {
        steps.push(resolve_step(s, &format!("{at}.plan[{j}]"), ctx, cruise, k)?);
    }
    let mut ais = Vec::new();
    for (j, a) in v.ais.iter().enumerate() {
        let here = format!("{at}.ais[{j}]");
        let start_ms = ctx.time(&a.at, &format!("{here}.at"))?;
        let end_ms = start_ms + ctx.duration(&a.length, &format!("{here}.for"))?;
        let point = |what: &str| {
            a.point.map(LatLon::from_lon_lat).ok_or_else(|| {
                err(
                    format!("{here}.point"),
                    format!("mode \"{}\" needs point ({what})", a.mode),
                )
            })
        };
        let mode = match a.mode.as_str() {
            "off" => AisMode::Off,
            "jump" => AisMode::Jump {
                offset_m: a
                    .offset_nm
                    .ok_or_else(|| err(&here, "mode \"jump\" needs offset_nm"))?
                    * NM_M,
                bearing_deg: a.bearing_deg.unwrap_or(90.0),
            },
            "circle" => AisMode::Circle {
                center: point("the centre")?,
                radius_m: a
                    .radius_nm
                    .ok_or_else(|| err(&here, "mode \"circle\" needs radius_nm"))?
                    * NM_M,
            },
            "land" => AisMode::Land {
                point: point("the inland position reported")?,
            },
            m => {
                return Err(err(
                    format!("{here}.mode"),
                    format!("mode is off, jump, circle or land, not \"{m}\""),
                ))
            }
        };
        if let Some(p) = a.point {
            check_lon_lat(p, &format!("{here}.point"))?;
        }
        if ais
            .iter()
            .any(|w: &AisWindow| w.start_ms < end_ms && start_ms < w.end_ms)
        {
            return Err(err(here, "AIS windows of one vessel must not overlap"));
        }
        ais.push(AisWindow {
            start_ms,
            end_ms,
            mode,
        });
    }
    ais.sort_by_key(|w| w.start_ms);
    let mut identity_changes = Vec::new();
    let mut current = identity.clone();
    let mut changes: Vec<(usize, i64)> = Vec::new();
    for (j, c) in v.identity.iter().enumerate() {
        changes.push((j, ctx.time(&c.at, &format!("{at}.identity[{j}].at"))?));
    }
    changes.sort_by_key(|c| c.1);
    for (j, at_ms) in changes {
        let c = &v.identity[j];
        let here = format!("{at}.identity[{j}]");
        let mut next = current.clone();
        if let Some(n) = &c.name {
            check_text(n, 20, "name", &format!("{here}.name"))?;
            next.name = n.to_ascii_uppercase();
        }
        if let Some(f) = &c.flag {
            let mids = parse_flag(f, &format!("{here}.flag"))?;
            next.flag = f.clone();
            next.mmsi = mids[0] as u32 * 1_000_000 + 20_000 + (k * 10 + j) as u32;
            next.callsign = fleet::callsign(f, &mut rng);
        }
        if let Some(m) = c.mmsi {
            let mids = ais::mmsi::mids_of_flag(&next.flag);
            if !mids.contains(&((m / 1_000_000) as u16)) {
                return Err(err(
                    format!("{here}.mmsi"),
                    format!("{m} has no MID of flag {}", next.flag),
                ));
            }
            next.mmsi = m;
        }
        if let Some(cs) = &c.callsign {
            check_text(cs, 7, "call sign", &format!("{here}.callsign"))?;
            next.callsign = cs.to_ascii_uppercase();
        }
        if let Some(d) = &c.destination {
            check_text(d, 20, "destination", &format!("{here}.destination"))?;
            next.destination = d.to_ascii_uppercase();
        }
        if next == current {
            return Err(err(here, "changes nothing"));
        }
        identity_changes.push(IdentityChange {
            at_ms,
            identity: next.clone(),
        });
        current = next;
    }
    Ok(VesselPlan {
        id: v.id.clone(),
        identity,
        kind,
        class_b,
        cruise_knots: cruise,
        position: LatLon::from_lon_lat(v.position),
        appears_ms,
        course_deg: v.course_deg,
        steps,
        ais,
        identity_changes,
        watchlist: v.watchlist.clone(),
        swarm: None,
    })
}

fn resolve_step(
    s: &StepSpec,
    at: &str,
    ctx: &Ctx<'_>,
    cruise: f64,
    me: usize,
) -> Result<Step, ScenarioError> {
    let until = |stay: &Option<String>, until: &Option<String>| -> Result<Until, ScenarioError> {
        match (stay, until) {
            (Some(d), None) => Ok(Until::For(ctx.duration(d, &format!("{at}.stay"))?)),
            (None, Some(t)) => Ok(Until::At(ctx.time(t, &format!("{at}.until"))?)),
            _ => Err(err(at, "give either stay or until")),
        }
    };
    let speed_ok = |v: f64, f: &str| {
        if (0.0..=60.0).contains(&v) {
            Ok(v)
        } else {
            Err(err(format!("{at}.{f}"), "speed must be 0-60 kn"))
        }
    };
    let target = |id: &str| -> Result<usize, ScenarioError> {
        let t = ctx.target(id, &format!("{at}.target"))?;
        if t == me {
            return Err(err(format!("{at}.target"), "a vessel cannot follow itself"));
        }
        Ok(t)
    };
    Ok(match s {
        StepSpec::Sail {
            to,
            via,
            lane,
            reverse,
            speed_knots,
        } => {
            let speed_knots = speed_ok(speed_knots.unwrap_or(cruise), "speed_knots")?;
            match (to, via.is_empty(), lane) {
                (Some(p), true, None) => {
                    check_lon_lat(*p, &format!("{at}.to"))?;
                    Step::Sail {
                        points: vec![LatLon::from_lon_lat(*p)],
                        speed_knots,
                    }
                }
                (None, false, None) => {
                    for (j, p) in via.iter().enumerate() {
                        check_lon_lat(*p, &format!("{at}.via[{j}]"))?;
                    }
                    Step::Sail {
                        points: via.iter().copied().map(LatLon::from_lon_lat).collect(),
                        speed_knots,
                    }
                }
                (None, true, Some(name)) => {
                    let lane = ctx
                        .world
                        .lanes
                        .iter()
                        .position(|l| &l.name == name)
                        .ok_or_else(|| {
                            err(
                                format!("{at}.lane"),
                                format!(
                                    "no lane is named \"{name}\"; known: {}",
                                    lane_names(ctx.world)
                                ),
                            )
                        })?;
                    Step::Lane {
                        lane,
                        reverse: *reverse,
                        speed_knots,
                    }
                }
                _ => return Err(err(at, "sail needs exactly one of to, via or lane")),
            }
        }
        StepSpec::PortCall { port, stay } => Step::PortCall {
            port: ctx
                .world
                .ports
                .iter()
                .position(|p| &p.code == port)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        ctx.world.ports.iter().map(|p| p.code.as_str()).collect();
                    err(
                        format!("{at}.port"),
                        format!("no port has code \"{port}\"; known: {}", known.join(", ")),
                    )
                })?,
            stay_ms: ctx.duration(stay, &format!("{at}.stay"))?,
        },
        StepSpec::Anchor { stay, until: u } => Step::Stop {
            mode: StopMode::Anchor,
            until: until(stay, u)?,
        },
        StepSpec::Moor { stay, until: u } => Step::Stop {
            mode: StopMode::Moor,
            until: until(stay, u)?,
        },
        StepSpec::Drift { stay, until: u } => Step::Stop {
            mode: StopMode::Drift,
            until: until(stay, u)?,
        },
        StepSpec::Loiter {
            stay,
            radius_nm,
            speed_knots,
        } => Step::Loiter {
            stay_ms: ctx.duration(stay, &format!("{at}.stay"))?,
            radius_m: radius_nm * NM_M,
            speed_knots: speed_ok(*speed_knots, "speed_knots")?,
        },
        StepSpec::Survey {
            lines,
            length_nm,
            spacing_nm,
            heading_deg,
            speed_knots,
        } => {
            if *lines == 0 || *length_nm <= 0.0 || *spacing_nm <= 0.0 {
                return Err(err(
                    at,
                    "survey needs lines, length_nm and spacing_nm above zero",
                ));
            }
            Step::Survey {
                lines: *lines,
                length_m: length_nm * NM_M,
                spacing_m: spacing_nm * NM_M,
                heading_deg: *heading_deg,
                speed_knots: speed_ok(*speed_knots, "speed_knots")?,
            }
        }
        StepSpec::Escort {
            target: t,
            distance_nm,
            bearing_deg,
            stay,
            label,
        } => Step::Escort {
            target: target(t)?,
            distance_m: distance_nm * NM_M,
            bearing_deg: *bearing_deg,
            stay_ms: stay
                .as_ref()
                .map(|d| ctx.duration(d, &format!("{at}.stay")))
                .transpose()?,
            label: match label.as_deref() {
                None | Some("escort") => "escort",
                Some("shadowing") => "shadowing",
                Some(l) => {
                    return Err(err(
                        format!("{at}.label"),
                        format!("label is escort or shadowing, not \"{l}\""),
                    ))
                }
            },
        },
        StepSpec::Harass {
            target: t,
            passes,
            cpa_m,
            speed_knots,
        } => Step::Harass {
            target: target(t)?,
            passes: *passes,
            cpa_m: *cpa_m,
            speed_knots: speed_ok(*speed_knots, "speed_knots")?,
        },
        StepSpec::Meet {
            target: t,
            stay,
            distance_m,
        } => Step::Meet {
            target: target(t)?,
            stay_ms: ctx.duration(stay, &format!("{at}.stay"))?,
            distance_m: *distance_m,
        },
    })
}

fn check_no_cycles(vessels: &[VesselPlan]) -> Result<(), ScenarioError> {
    // Depth-first search over "follows" edges.
    fn visit(
        v: usize,
        vessels: &[VesselPlan],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Result<(), ScenarioError> {
        match state[v] {
            2 => return Ok(()),
            1 => {
                let names: Vec<&str> = path
                    .iter()
                    .chain(std::iter::once(&v))
                    .map(|&i| vessels[i].id.as_str())
                    .collect();
                return Err(err(
                    format!("vessel \"{}\"", vessels[v].id),
                    format!(
                        "vessels follow each other in a circle: {}",
                        names.join(" -> ")
                    ),
                ));
            }
            _ => {}
        }
        state[v] = 1;
        path.push(v);
        for s in &vessels[v].steps {
            if let Some(t) = s.target() {
                visit(t, vessels, state, path)?;
            }
        }
        path.pop();
        state[v] = 2;
        Ok(())
    }
    let mut state = vec![0u8; vessels.len()];
    for v in 0..vessels.len() {
        visit(v, vessels, &mut state, &mut Vec::new())?;
    }
    Ok(())
}

fn resolve_swarm(
    s: &spec::SwarmSpec,
    k: usize,
    at: &str,
    ctx: &Ctx<'_>,
    seed: u64,
) -> Result<(Swarm, Vec<VesselPlan>), ScenarioError> {
    check_lon_lat(s.center, &format!("{at}.center"))?;
    let kind = Kind::parse(&s.kind).ok_or_else(|| {
        err(
            format!("{at}.type"),
            format!("unknown type \"{}\"; known: {}", s.kind, Kind::NAMES),
        )
    })?;
    let mids = parse_flag(&s.flag, &format!("{at}.flag"))?;
    if s.vessels == 0 || s.vessels > 5000 || s.radius_nm <= 0.0 {
        return Err(err(
            at,
            "a swarm has 1-5000 vessels and a radius above zero",
        ));
    }
    let center = LatLon::from_lon_lat(s.center);
    let first = match &s.arrive {
        Some(t) => ctx.time(t, &format!("{at}.arrive"))?,
        None => ctx.start_ms,
    };
    let spread = ctx.duration(&s.arrive_over, &format!("{at}.arrive_over"))?;
    let leave = s
        .leave
        .as_ref()
        .map(|t| ctx.time(t, &format!("{at}.leave")))
        .transpose()?;
    let mut rng = Rng::new(seed, 0x5a4d_0000 + k as u64);
    let profile = kind.profile();
    let mut members = Vec::new();
    for j in 0..s.vessels {
        let cruise = rng.range(profile.cruise_knots.0, profile.cruise_knots.1);
        // Berth: uniform over the disc.
        let berth =
            center.destination(rng.range(0.0, 360.0), s.radius_nm * NM_M * rng.f64().sqrt());
        let origin = center.destination(
            s.from_bearing_deg + rng.range(-25.0, 25.0),
            (s.from_distance_nm + rng.range(-3.0, 3.0)).max(s.radius_nm + 1.0) * NM_M,
        );
        let arrive = first + (spread as f64 * j as f64 / s.vessels as f64) as i64;
        let travel_ms =
            (origin.distance_m(berth) / (cruise * crate::earth::KNOT_MS) * 1000.0) as i64;
        let appears_ms = (arrive - travel_ms).max(ctx.start_ms);
        let mut steps = vec![
            Step::Sail {
                points: vec![berth],
                speed_knots: cruise,
            },
            Step::Stop {
                mode: StopMode::Moor,
                until: Until::At(leave.unwrap_or(ctx.end_ms + 86_400_000)),
            },
        ];
        if leave.is_some() {
            steps.push(Step::Sail {
                points: vec![origin],
                speed_knots: cruise,
            });
        }
        let class_b = rng.chance(s.class_b_share);
        let (length, beam) = hull(kind, None, None, &mut rng);
        let serial = (k as u64) * 10_000 + j as u64;
        members.push(VesselPlan {
            id: format!("swarm-{}-{}", s.name, j + 1),
            identity: Identity {
                mmsi: mids[(serial % mids.len() as u64) as usize] as u32 * 1_000_000
                    + 50_000
                    + (serial as u32 % 50_000),
                name: format!(
                    "{} {:05}",
                    s.name_prefix.to_ascii_uppercase(),
                    1000 + serial * 37 % 89_000
                ),
                callsign: fleet::callsign(&s.flag, &mut rng),
                imo: None,
                flag: s.flag.clone(),
                ship_type: profile.ais_type,
                dims: fleet::dims(length, beam, &mut rng),
                draught_m: rng.range(profile.draught_m.0, profile.draught_m.1),
                destination: String::new(),
            },
            kind,
            class_b,
            cruise_knots: cruise,
            position: origin,
            appears_ms,
            course_deg: None,
            steps,
            ais: Vec::new(),
            identity_changes: Vec::new(),
            watchlist: None,
            swarm: Some(k),
        });
    }
    check_text(
        &s.name_prefix,
        14,
        "name prefix",
        &format!("{at}.name_prefix"),
    )?;
    Ok((
        Swarm {
            name: s.name.clone(),
            center,
            radius_m: s.radius_nm * NM_M,
        },
        members,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("36h"), Some(36 * 3_600_000));
        assert_eq!(parse_duration_ms("1d6h"), Some(30 * 3_600_000));
        assert_eq!(parse_duration_ms("90m"), Some(90 * 60_000));
        assert_eq!(parse_duration_ms("1.5h"), Some(5_400_000));
        assert_eq!(parse_duration_ms("45s"), Some(45_000));
        assert_eq!(parse_duration_ms("h"), None);
        assert_eq!(parse_duration_ms("12"), None);
        assert_eq!(parse_duration_ms("3 weeks"), None);
    }

    #[test]
    fn builtin_world_is_valid() {
        let spec: WorldSpec = toml::from_str(LANES_TOML).unwrap();
        let mut w = World::default();
        w.add(&spec.lane, &spec.port, "lanes.toml").unwrap();
        assert_eq!(w.lanes.len(), spec.lane.len());
        assert!(w.lanes.len() >= 10 && w.ports.len() >= 10);
    }

    #[test]
    fn builtin_scenarios_are_valid() {
        for (name, text) in BUILTIN {
            let s = Scenario::from_toml(text, &Overrides::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name);
        }
    }
}
