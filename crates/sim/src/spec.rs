//! The scenario file format (TOML), as written by users. [`crate::scenario`] turns it into a
//! checked [`crate::Scenario`].
//!
//! Positions are `[lon, lat]` in WGS84 degrees (GeoJSON order). Times inside a scenario are
//! offsets from its `start` written as durations (`"36h"`, `"1d6h"`, `"90m"`, `"45s"`).
//! Every table rejects unknown keys, so a misspelt key is an error, not a silent default.

use serde::Deserialize;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Short name (`scs-greyzone`).
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Start time, RFC 3339 (`2026-04-16T00:00:00Z`).
    pub start: String,
    /// Length, a duration (`"72h"`).
    #[serde(default = "default_duration")]
    pub duration: String,
    /// Seed of every random choice (overridden by `--seed`).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Background traffic on the sea lanes.
    #[serde(default)]
    pub traffic: Option<TrafficSpec>,
    /// Reception settings common to all receivers.
    #[serde(default)]
    pub reception: ReceptionSpec,
    /// Partners that share feeds (each receiver and satellite belongs to one).
    #[serde(default)]
    pub partner: Vec<PartnerSpec>,
    /// Coastal (or fixed offshore) receivers.
    #[serde(default)]
    pub receiver: Vec<ReceiverSpec>,
    /// AIS satellites.
    #[serde(default)]
    pub satellite: Vec<SatelliteSpec>,
    /// Named areas (EEZs, boxes around features) for zone entry and dwell truth.
    #[serde(default)]
    pub zone: Vec<ZoneSpec>,
    /// Scripted vessels.
    #[serde(default)]
    pub vessel: Vec<VesselSpec>,
    /// Groups of vessels massing at one place.
    #[serde(default)]
    pub swarm: Vec<SwarmSpec>,
    /// Extra sea lanes (added to the built-in ones).
    #[serde(default)]
    pub lane: Vec<LaneSpec>,
    /// Extra ports (added to the built-in ones).
    #[serde(default)]
    pub port: Vec<PortSpec>,
}

fn default_duration() -> String {
    "24h".to_owned()
}

fn default_seed() -> u64 {
    1
}

/// Background traffic: vessels sailing the lanes from port to port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// Number of vessels at sea at any time (overridden by `--vessels`).
    pub vessels: u32,
    /// Lanes they sail (names of built-in or scenario lanes); empty means all.
    #[serde(default)]
    pub lanes: Vec<String>,
    /// Share of class B transponders (small craft).
    #[serde(default = "default_class_b_share")]
    pub class_b_share: f64,
}

fn default_class_b_share() -> f64 {
    0.08
}

/// Reception settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceptionSpec {
    /// Probability that a received line is damaged in transit (bad checksum, cut line, lost
    /// fragment).
    #[serde(default = "default_corrupt_rate")]
    pub corrupt_rate: f64,
    /// Receivers are also AIS base stations (type 4 every 10 s, MMSI `00MIDxxxx`).
    #[serde(default = "default_true")]
    pub base_stations: bool,
}

impl Default for ReceptionSpec {
    fn default() -> Self {
        ReceptionSpec {
            corrupt_rate: default_corrupt_rate(),
            base_stations: true,
        }
    }
}

fn default_corrupt_rate() -> f64 {
    2e-4
}

fn default_true() -> bool {
    true
}

/// A partner and how its feed is formatted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Name (`IN`, `US`, `SAT`); also the `{partner}` of split output files.
    pub name: String,
    /// Tag-block times in milliseconds instead of seconds.
    #[serde(default)]
    pub time_ms: bool,
    /// Multi-sentence messages carry tag-block groups (`g:1-2-17`).
    #[serde(default = "default_true")]
    pub groups: bool,
    /// Talker id of the partner's receivers (`AB` base station, `AI`, `BS`, ...).
    #[serde(default = "default_talker")]
    pub talker: String,
}

fn default_talker() -> String {
    "AI".to_owned()
}

/// A fixed receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSpec {
    /// Station name (the tag block's `s:`).
    pub name: String,
    /// Partner it belongs to.
    pub partner: String,
    /// `[lon, lat]`.
    pub position: [f64; 2],
    /// Range in nautical miles (VHF line of sight: 20-60 nm).
    pub range_nm: f64,
    /// Probability of missing a message well inside the range (collisions, noise).
    #[serde(default = "default_loss")]
    pub loss: f64,
}

fn default_loss() -> f64 {
    0.02
}

/// A satellite in a circular orbit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SatelliteSpec {
    /// Name (the tag block's `s:`).
    pub name: String,
    /// Partner it belongs to.
    pub partner: String,
    /// Orbit inclination (97.6 for sun-synchronous at 550 km).
    #[serde(default = "default_inclination")]
    pub inclination_deg: f64,
    /// Altitude.
    #[serde(default = "default_altitude")]
    pub altitude_km: f64,
    /// Longitude of the ascending node at the scenario start.
    #[serde(default)]
    pub node_lon_deg: f64,
    /// Argument of latitude at the scenario start.
    #[serde(default)]
    pub phase_deg: f64,
    /// Minimum elevation of the satellite seen from the vessel.
    #[serde(default = "default_min_elevation")]
    pub min_elevation_deg: f64,
    /// Messages are stored on board and delivered at each downlink.
    #[serde(default = "default_downlink")]
    pub downlink_every: String,
    /// Extra delay after a downlink before the partner delivers.
    #[serde(default = "default_latency")]
    pub latency: String,
    /// Detection probability of one message with no other vessels in view.
    #[serde(default = "default_detect")]
    pub detect: f64,
    /// Reports per minute the satellite can separate before collisions dominate: detection
    /// falls as exp(-load / capacity) with load the reports per minute in its footprint.
    #[serde(default = "default_capacity")]
    pub capacity_per_min: f64,
}

fn default_inclination() -> f64 {
    97.6
}
fn default_altitude() -> f64 {
    550.0
}
fn default_min_elevation() -> f64 {
    5.0
}
fn default_downlink() -> String {
    "20m".to_owned()
}
fn default_latency() -> String {
    "3m".to_owned()
}
fn default_detect() -> f64 {
    0.9
}
fn default_capacity() -> f64 {
    9000.0
}

/// A named area.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Name, unique.
    pub name: String,
    /// Kind (`eez`, `territorial_sea`, `area`), free text for users.
    #[serde(default = "default_zone_kind")]
    pub kind: String,
    /// Outline `[[lon, lat], ...]` (closed automatically).
    #[serde(default)]
    pub polygon: Vec<[f64; 2]>,
    /// Or a circle.
    #[serde(default)]
    pub circle: Option<CircleSpec>,
    /// Where the outline comes from, and how approximate it is.
    #[serde(default)]
    pub note: String,
}

fn default_zone_kind() -> String {
    "area".to_owned()
}

/// A circle on the sea.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircleSpec {
    /// `[lon, lat]`.
    pub center: [f64; 2],
    /// Radius.
    pub radius_nm: f64,
}

/// A scripted vessel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VesselSpec {
    /// Id inside the scenario (targets of escort, harass, meet refer to it).
    pub id: String,
    /// Ship name (20 six-bit characters at most).
    pub name: String,
    /// Flag, ISO 3166 alpha-2; the MMSI's MID follows it.
    pub flag: String,
    /// MMSI; generated from the flag when absent. May repeat another vessel's MMSI (a shared
    /// or spoofed identity).
    #[serde(default)]
    pub mmsi: Option<u32>,
    /// IMO number (check digit verified).
    #[serde(default)]
    pub imo: Option<u32>,
    /// Call sign; generated when absent.
    #[serde(default)]
    pub callsign: Option<String>,
    /// Kind of vessel: `tanker`, `cargo`, `container`, `bulk`, `passenger`, `fishing`, `tug`,
    /// `law_enforcement`, `military`, `survey`, `drilling`, `pleasure`, `supply`, `sar`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Overall length; default from the kind.
    #[serde(default)]
    pub length_m: Option<f64>,
    /// Beam; default from the kind.
    #[serde(default)]
    pub beam_m: Option<f64>,
    /// Transponder class, `A` or `B`.
    #[serde(default = "default_class")]
    pub class: String,
    /// Cruising speed; default from the kind.
    #[serde(default)]
    pub speed_knots: Option<f64>,
    /// Destination broadcast in type 5.
    #[serde(default)]
    pub destination: Option<String>,
    /// On a watch list, with the reason.
    #[serde(default)]
    pub watchlist: Option<String>,
    /// Where it is at `appears`.
    pub position: [f64; 2],
    /// When it appears (starts transmitting); default the scenario start.
    #[serde(default)]
    pub appears: Option<String>,
    /// Initial course; default toward its first destination.
    #[serde(default)]
    pub course_deg: Option<f64>,
    /// What it does, in order.
    #[serde(default)]
    pub plan: Vec<StepSpec>,
    /// AIS switched off or spoofed for a while.
    #[serde(default)]
    pub ais: Vec<AisSpec>,
    /// Identity changes (rename, reflag).
    #[serde(default)]
    pub identity: Vec<IdentitySpec>,
}

fn default_class() -> String {
    "A".to_owned()
}

/// One step of a vessel's plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepSpec {
    /// Sail to a point, through points, or along a lane.
    Sail {
        /// Destination `[lon, lat]`.
        #[serde(default)]
        to: Option<[f64; 2]>,
        /// Waypoints `[[lon, lat], ...]`.
        #[serde(default)]
        via: Vec<[f64; 2]>,
        /// A lane, sailed from its first point to its last (joining at the point ahead of the
        /// vessel).
        #[serde(default)]
        lane: Option<String>,
        /// Sail the lane from its last point to its first.
        #[serde(default)]
        reverse: bool,
        /// Speed; default the vessel's cruising speed.
        #[serde(default)]
        speed_knots: Option<f64>,
    },
    /// Sail straight to a port's anchorage and stay.
    PortCall {
        /// Port code (UN/LOCODE of the built-in ports).
        port: String,
        /// Duration of the stay.
        stay: String,
    },
    /// Stop and anchor (nav status 1).
    Anchor {
        /// Duration.
        #[serde(default)]
        stay: Option<String>,
        /// Or until a time.
        #[serde(default)]
        until: Option<String>,
    },
    /// Stop and moor (nav status 5).
    Moor {
        /// Duration.
        #[serde(default)]
        stay: Option<String>,
        /// Or until a time.
        #[serde(default)]
        until: Option<String>,
    },
    /// Drift with engines stopped (well under 1 kn).
    Drift {
        /// Duration.
        #[serde(default)]
        stay: Option<String>,
        /// Or until a time.
        #[serde(default)]
        until: Option<String>,
    },
    /// Wander slowly inside a circle around the current position.
    Loiter {
        /// Duration.
        stay: String,
        /// Radius of the wandering.
        #[serde(default = "default_loiter_radius")]
        radius_nm: f64,
        /// Speed while wandering.
        #[serde(default = "default_loiter_speed")]
        speed_knots: f64,
    },
    /// Back-and-forth survey lines starting at the current position.
    Survey {
        /// Number of lines.
        lines: u32,
        /// Length of one line.
        length_nm: f64,
        /// Distance between lines.
        spacing_nm: f64,
        /// Direction of the first line.
        heading_deg: f64,
        /// Survey speed.
        #[serde(default = "default_survey_speed")]
        speed_knots: f64,
    },
    /// Keep station near another vessel.
    Escort {
        /// Vessel id.
        target: String,
        /// Distance from it.
        distance_nm: f64,
        /// Bearing of the station relative to the target's course (0 ahead, 90 starboard).
        #[serde(default = "default_escort_bearing")]
        bearing_deg: f64,
        /// Duration; default until the target's plan ends.
        #[serde(default)]
        stay: Option<String>,
        /// Truth label: `escort` (default) or `shadowing`.
        #[serde(default)]
        label: Option<String>,
    },
    /// Close passes across another vessel's bow.
    Harass {
        /// Vessel id.
        target: String,
        /// Number of passes.
        passes: u32,
        /// Intended closest point of approach.
        cpa_m: f64,
        /// Speed of the passes.
        #[serde(default = "default_harass_speed")]
        speed_knots: f64,
    },
    /// Come alongside another vessel and stay (ship-to-ship transfer).
    Meet {
        /// Vessel id.
        target: String,
        /// Time alongside.
        stay: String,
        /// Distance alongside.
        #[serde(default = "default_meet_distance")]
        distance_m: f64,
    },
}

fn default_loiter_radius() -> f64 {
    1.5
}
fn default_loiter_speed() -> f64 {
    1.2
}
fn default_survey_speed() -> f64 {
    5.0
}
fn default_escort_bearing() -> f64 {
    135.0
}
fn default_harass_speed() -> f64 {
    16.0
}
fn default_meet_distance() -> f64 {
    60.0
}

/// AIS off or spoofed for a while.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AisSpec {
    /// `off`, `jump`, `circle` or `land`.
    pub mode: String,
    /// Start.
    pub at: String,
    /// Length.
    #[serde(rename = "for")]
    pub length: String,
    /// `jump`: reported position offset.
    #[serde(default)]
    pub offset_nm: Option<f64>,
    /// `jump`: direction of the offset.
    #[serde(default)]
    pub bearing_deg: Option<f64>,
    /// `circle`: centre `[lon, lat]`; `land`: the inland point reported.
    #[serde(default)]
    pub point: Option<[f64; 2]>,
    /// `circle`: radius.
    #[serde(default)]
    pub radius_nm: Option<f64>,
}

/// A change of identity at a time; fields left out stay as they were.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    /// When.
    pub at: String,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New flag (a new MMSI with that flag's MID unless `mmsi` is given).
    #[serde(default)]
    pub flag: Option<String>,
    /// New MMSI.
    #[serde(default)]
    pub mmsi: Option<u32>,
    /// New call sign (generated for a new flag when absent).
    #[serde(default)]
    pub callsign: Option<String>,
    /// New destination.
    #[serde(default)]
    pub destination: Option<String>,
}

/// Vessels massing at one place.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmSpec {
    /// Name.
    pub name: String,
    /// Where `[lon, lat]`.
    pub center: [f64; 2],
    /// Radius of the cluster.
    pub radius_nm: f64,
    /// How many vessels.
    pub vessels: u32,
    /// Flag of the vessels.
    pub flag: String,
    /// Kind of the vessels (see [`VesselSpec::kind`]).
    #[serde(rename = "type", default = "default_swarm_kind")]
    pub kind: String,
    /// Share with class B transponders.
    #[serde(default = "default_swarm_class_b")]
    pub class_b_share: f64,
    /// Where they come from: bearing from the centre.
    #[serde(default)]
    pub from_bearing_deg: f64,
    /// Where they come from: distance from the centre.
    #[serde(default = "default_swarm_from")]
    pub from_distance_nm: f64,
    /// First arrival (as an offset from the start: the time they leave to get there is
    /// worked out).
    #[serde(default)]
    pub arrive: Option<String>,
    /// Arrivals are spread over this long.
    #[serde(default = "default_swarm_spread")]
    pub arrive_over: String,
    /// They leave at (default: they stay).
    #[serde(default)]
    pub leave: Option<String>,
    /// Name prefix (`MIN YU 1`, `MIN YU 2`, ...).
    #[serde(default = "default_swarm_prefix")]
    pub name_prefix: String,
}

fn default_swarm_kind() -> String {
    "fishing".to_owned()
}
fn default_swarm_class_b() -> f64 {
    0.3
}
fn default_swarm_from() -> f64 {
    25.0
}
fn default_swarm_spread() -> String {
    "12h".to_owned()
}
fn default_swarm_prefix() -> String {
    "YU".to_owned()
}

/// A sea lane.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneSpec {
    /// Name, unique.
    pub name: String,
    /// Waypoints `[lon, lat, half_width_nm]`.
    pub points: Vec<[f64; 3]>,
}

/// A port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortSpec {
    /// Code (UN/LOCODE), unique; broadcast as destination.
    pub code: String,
    /// Name.
    pub name: String,
    /// Anchorage centre `[lon, lat]`.
    pub anchorage: [f64; 2],
    /// Radius of the anchorage.
    pub radius_nm: f64,
}

/// The lanes and ports file (`data/lanes.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// Sea lanes.
    #[serde(default)]
    pub lane: Vec<LaneSpec>,
    /// Ports.
    #[serde(default)]
    pub port: Vec<PortSpec>,
}
