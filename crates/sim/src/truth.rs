//! Ground truth: what the scenario's vessels really did, with who, when and where.
//!
//! Kinds: `ais_gap`, `encounter` (ship-to-ship transfer), `loitering`, `port_call`,
//! `zone_visit` (entry, exit and dwell), `escort`, `shadowing`, `close_approach`, `survey`,
//! `swarm`, `spoof_jump`, `spoof_circle`, `spoof_land`, `shared_mmsi`, `identity_change`,
//! `watchlist`, and `vessel` (one per scripted or swarm vessel, its identity at appearance).

use crate::earth::LatLon;

/// A vessel taking part in an event.
#[derive(Debug, Clone, PartialEq)]
pub struct VesselRef {
    /// MMSI at the start of the event.
    pub mmsi: u32,
    /// Scenario id (scripted and swarm vessels).
    pub id: Option<String>,
    /// Name at the start of the event.
    pub name: String,
}

/// A detail of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Integer.
    Int(i64),
    /// Number.
    Num(f64),
    /// Text.
    Text(String),
    /// Flag.
    Bool(bool),
    /// A time, Unix ms.
    Time(i64),
    /// A position.
    Pos(LatLon),
}

/// One event of the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthEvent {
    /// Kind (see the module docs).
    pub kind: &'static str,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms (the scenario end for events still going on).
    pub end_ms: i64,
    /// Still going on when the scenario ended.
    pub open: bool,
    /// Where it started (true position).
    pub position: LatLon,
    /// Who.
    pub vessels: Vec<VesselRef>,
    /// Kind-specific details.
    pub details: Vec<(&'static str, Value)>,
}

/// An event that has started and not yet ended.
#[derive(Debug, Clone)]
pub(crate) struct OpenEvent {
    pub kind: &'static str,
    pub start_ms: i64,
    pub position: LatLon,
    pub vessels: Vec<VesselRef>,
    pub details: Vec<(&'static str, Value)>,
}

impl OpenEvent {
    pub(crate) fn close(self, end_ms: i64, open: bool) -> TruthEvent {
        TruthEvent {
            kind: self.kind,
            start_ms: self.start_ms,
            end_ms,
            open,
            position: self.position,
            vessels: self.vessels,
            details: self.details,
        }
    }
}
