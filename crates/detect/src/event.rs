//! The one event schema every detector emits, and the notices that carry its life cycle.
//!
//! An event's `id` is derived from its type, its vessels and its start (and a detector's key
//! where those are not enough), with a fixed hash (FNV-1a 64), so the same input gives the same
//! ids in one run, over many resumed runs, and on replay.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What happened. Named as the simulator's ground-truth kinds, so events can be scored
/// against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// No position for a long time (possibly a transponder switched off).
    AisGap,
    /// Two vessels together at sea, slow, for hours (ship-to-ship transfer).
    Encounter,
    /// Slow for hours away from shore and port.
    Loitering,
    /// Stopped in a port or anchorage.
    PortCall,
    /// Inside a zone, from entry to exit.
    ZoneVisit,
    /// Back-and-forth survey lines.
    Survey,
    /// A state vessel accompanying a vessel of its own flag (or any vessel of interest).
    Escort,
    /// A state vessel following a vessel of another flag.
    Shadowing,
    /// A close pass at speed (closest point of approach).
    CloseApproach,
    /// Many slow vessels massed in a small area.
    Swarm,
    /// A position jump no hull could make.
    SpoofJump,
    /// Positions on land.
    SpoofLand,
    /// Positions drawn in circles around a point.
    SpoofCircle,
    /// One MMSI in two places at once.
    SharedMmsi,
    /// A change of name, call sign, flag, IMO or ship type; or of MMSI for one IMO.
    IdentityChange,
    /// A vessel on the watch list.
    Watchlist,
    /// A vessel seen by satellite radar with no AIS vessel to account for it (`tidewatch sar
    /// --write`; not made by the engine).
    DarkVessel,
}

impl EventType {
    /// Every type, in schema order.
    pub const ALL: [EventType; 17] = [
        EventType::AisGap,
        EventType::Encounter,
        EventType::Loitering,
        EventType::PortCall,
        EventType::ZoneVisit,
        EventType::Survey,
        EventType::Escort,
        EventType::Shadowing,
        EventType::CloseApproach,
        EventType::Swarm,
        EventType::SpoofJump,
        EventType::SpoofLand,
        EventType::SpoofCircle,
        EventType::SharedMmsi,
        EventType::IdentityChange,
        EventType::Watchlist,
        EventType::DarkVessel,
    ];

    /// Types the engine does not make from AIS (`detect --write` keeps them).
    pub const EXTERNAL: [EventType; 1] = [EventType::DarkVessel];

    /// The name used in JSON and in the ground truth.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::AisGap => "ais_gap",
            EventType::Encounter => "encounter",
            EventType::Loitering => "loitering",
            EventType::PortCall => "port_call",
            EventType::ZoneVisit => "zone_visit",
            EventType::Survey => "survey",
            EventType::Escort => "escort",
            EventType::Shadowing => "shadowing",
            EventType::CloseApproach => "close_approach",
            EventType::Swarm => "swarm",
            EventType::SpoofJump => "spoof_jump",
            EventType::SpoofLand => "spoof_land",
            EventType::SpoofCircle => "spoof_circle",
            EventType::SharedMmsi => "shared_mmsi",
            EventType::IdentityChange => "identity_change",
            EventType::Watchlist => "watchlist",
            EventType::DarkVessel => "dark_vessel",
        }
    }
}

/// An event's id: a 64-bit hash, written as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u64);

impl EventId {
    /// The id of the event of `kind` involving `mmsis` (in the order given) starting at
    /// `start_ms`, with a detector-specific `key` (a zone name, a cell) where needed.
    pub fn derive(kind: EventType, mmsis: &[u32], start_ms: i64, key: &str) -> EventId {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= *b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(kind.as_str().as_bytes());
        for m in mmsis {
            eat(b"|");
            eat(&m.to_le_bytes());
        }
        eat(b"@");
        eat(&start_ms.to_le_bytes());
        eat(b"#");
        eat(key.as_bytes());
        EventId(h)
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16)
            .map(EventId)
            .map_err(|_| serde::de::Error::custom(format!("event id is 16 hex digits, not {s:?}")))
    }
}

/// A vessel taking part in an event, with the identity it had at the time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VesselAt {
    /// MMSI.
    pub mmsi: u32,
    /// Name.
    pub name: Option<String>,
    /// Flag state.
    pub flag: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// AIS ship type code.
    pub ship_type: Option<u8>,
}

/// A position an event rests on, by reference (the store holds the position itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PosRef {
    /// MMSI.
    pub mmsi: u32,
    /// Message time, Unix ms.
    pub time_ms: i64,
}

/// At most this many evidence references are kept per event (first ones and the latest).
pub const MAX_EVIDENCE: usize = 32;
/// At most this many distinct sources are listed per event.
pub const MAX_SOURCES: usize = 16;

/// One detected event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id (see the module docs).
    pub id: EventId,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms; `None` while open.
    pub end_ms: Option<i64>,
    /// Still going on (at the end of input, open events stay open).
    pub open: bool,
    /// Time of the latest data the event rests on, Unix ms.
    pub last_ms: i64,
    /// Who, with the identity each had at the start.
    pub vessels: Vec<VesselAt>,
    /// Where (start, or the place the event is about), degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Names of the zones the position lies in.
    pub zones: Vec<String>,
    /// Confidence in [0, 1].
    pub confidence: f64,
    /// The positions it rests on (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<PosRef>,
    /// The feeds and partners that delivered the evidence (at most [`MAX_SOURCES`]).
    pub sources: Vec<String>,
    /// Type-specific fields (`cpa_m`, `distance_m`, `count`, ...).
    #[serde(flatten)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Event {
    /// Sets a type-specific field.
    pub fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.details.insert(key.to_owned(), value.into());
    }

    /// Adds a position to the evidence (keeping the first half and the latest) and its
    /// sources.
    pub fn add_evidence(&mut self, r: PosRef, sources: &[crate::input::Label]) {
        if self.evidence.len() >= MAX_EVIDENCE {
            self.evidence.remove(MAX_EVIDENCE / 2);
        }
        self.evidence.push(r);
        self.add_evidence_sources(sources);
        self.last_ms = self.last_ms.max(r.time_ms);
    }

    /// Adds feeds to the sources (those not listed yet, up to [`MAX_SOURCES`]).
    pub fn add_evidence_sources(&mut self, sources: &[crate::input::Label]) {
        for s in sources {
            if self.sources.len() >= MAX_SOURCES {
                break;
            }
            if !self.sources.iter().any(|have| **have == **s) {
                self.sources.push(s.to_string());
            }
        }
    }

    /// Adds the positions a tick's sample lies between (those not listed yet) and the feeds
    /// of the later one. `last_ms` is left as it was: a tick's event is as late as its tick.
    pub fn add_sample(&mut self, s: &crate::engine::Sample) {
        let last_ms = self.last_ms;
        let sources: smallvec::SmallVec<[crate::input::Label; 2]> = s.sources().collect();
        for r in s.evidence() {
            if !self.evidence.contains(&r) {
                self.add_evidence(r, &sources);
            }
        }
        self.last_ms = last_ms;
    }
}

/// What happened to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// First reported (open, or already closed for instantaneous events).
    Created,
    /// Still open, something changed (a count, a peak, an extension by late data).
    Updated,
    /// The behaviour ended.
    Closed,
    /// It turned out not to be this event (e.g. a jump that was the start of a circle).
    Withdrawn,
}

/// One notice of the event stream: the event as it stands after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// What changed.
    pub change: Change,
    /// The event after the change.
    pub event: Event,
}
