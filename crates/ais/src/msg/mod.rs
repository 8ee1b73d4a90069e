//! AIS payload decoding: every message type 1-27 into typed values with scaled units.
//!
//! One module per ITU-R M.1371 message family; each `decode` reads fields top to bottom in bit
//! order, so it can be held next to the spec table. Units are converted and "not available"
//! sentinels become `None` in [`units`] only.

pub mod app;
mod aton;
mod base;
pub mod binary;
mod control;
mod position;
mod static_data;
pub(crate) use static_data::write as static_data_write;
mod text;
pub mod units;

pub use app::{
    AirDraught, AppData, AppText, AppTime, Berthing, Cargo, ClearanceTime, DangerousCargo,
    DangerousCargo236, EmmaWarning, FairwayClosed, Gauge, InlandPersons, InlandSignal, InlandSlot,
    InlandStatic, MeteoHydro, PersonsOnBoard, Route, TargetId, TidalEntry, TidalWindow,
    TrafficSignal, VtsTarget, VtsTargets, WaterLevels, Waypoint,
};
pub use aton::AidToNavigation;
pub use base::{BaseStationReport, UtcInquiry};
pub use binary::{
    BinaryAck, BinaryAddressed, BinaryBroadcast, DgnssBroadcast, MultiSlotBinary, SingleSlotBinary,
};
pub use control::{
    AssignmentMode, ChannelArea, ChannelManagement, DataLinkManagement, GroupAssignment,
    Interrogation, SlotReservation,
};
pub use position::{ClassBExtended, ClassBPosition, LongRangeReport, PositionReport, SarAircraft};
pub use static_data::{Dimensions, Eta, StaticDataA, StaticDataB, StaticVoyage};
pub use text::{SafetyAddressed, SafetyBroadcast, MAX_TEXT};
pub use units::RateOfTurn;

use crate::bits::Payload;
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Fields common to every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Message type, 1..=27.
    pub msg_type: u8,
    /// Repeat indicator, 0..=3.
    pub repeat: u8,
    /// Source MMSI.
    pub mmsi: Mmsi,
}

impl Header {
    fn read(p: &Payload) -> Header {
        Header {
            msg_type: p.u(0, 6) as u8,
            repeat: p.u(6, 2) as u8,
            mmsi: Mmsi(p.u(8, 30)),
        }
    }
}

/// A decoded AIS message. Binary application data borrows the payload buffer (`'a`).
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// Types 1, 2, 3: class A position report.
    Position(PositionReport),
    /// Types 4 and 11: base station report / UTC and date response.
    BaseStation(BaseStationReport),
    /// Type 5: static and voyage related data.
    StaticVoyage(StaticVoyage),
    /// Type 6: addressed binary message.
    BinaryAddressed(BinaryAddressed<'a>),
    /// Types 7 and 13: binary / safety acknowledge.
    BinaryAck(BinaryAck),
    /// Type 8: broadcast binary message.
    BinaryBroadcast(BinaryBroadcast<'a>),
    /// Type 9: SAR aircraft position report.
    SarAircraft(SarAircraft),
    /// Type 10: UTC and date inquiry.
    UtcInquiry(UtcInquiry),
    /// Type 12: addressed safety-related message.
    SafetyAddressed(SafetyAddressed),
    /// Type 14: safety-related broadcast.
    SafetyBroadcast(SafetyBroadcast),
    /// Type 15: interrogation.
    Interrogation(Interrogation),
    /// Type 16: assignment mode command.
    AssignmentMode(AssignmentMode),
    /// Type 17: DGNSS broadcast binary message.
    DgnssBroadcast(DgnssBroadcast<'a>),
    /// Type 18: standard class B position report.
    ClassBPosition(ClassBPosition),
    /// Type 19: extended class B position report.
    ClassBExtended(ClassBExtended),
    /// Type 20: data link management.
    DataLinkManagement(DataLinkManagement),
    /// Type 21: aid-to-navigation report.
    AidToNavigation(AidToNavigation),
    /// Type 22: channel management.
    ChannelManagement(ChannelManagement),
    /// Type 23: group assignment command.
    GroupAssignment(GroupAssignment),
    /// Type 24 part A: static data (name).
    StaticDataA(StaticDataA),
    /// Type 24 part B: static data (type, call sign, dimensions).
    StaticDataB(StaticDataB),
    /// Type 25: single slot binary message.
    SingleSlotBinary(SingleSlotBinary<'a>),
    /// Type 26: multiple slot binary message.
    MultiSlotBinary(MultiSlotBinary<'a>),
    /// Type 27: long-range position report.
    LongRange(LongRangeReport),
}

impl Message<'_> {
    /// The common header.
    pub fn header(&self) -> &Header {
        match self {
            Message::Position(m) => &m.header,
            Message::BaseStation(m) => &m.header,
            Message::StaticVoyage(m) => &m.header,
            Message::BinaryAddressed(m) => &m.header,
            Message::BinaryAck(m) => &m.header,
            Message::BinaryBroadcast(m) => &m.header,
            Message::SarAircraft(m) => &m.header,
            Message::UtcInquiry(m) => &m.header,
            Message::SafetyAddressed(m) => &m.header,
            Message::SafetyBroadcast(m) => &m.header,
            Message::Interrogation(m) => &m.header,
            Message::AssignmentMode(m) => &m.header,
            Message::DgnssBroadcast(m) => &m.header,
            Message::ClassBPosition(m) => &m.header,
            Message::ClassBExtended(m) => &m.header,
            Message::DataLinkManagement(m) => &m.header,
            Message::AidToNavigation(m) => &m.header,
            Message::ChannelManagement(m) => &m.header,
            Message::GroupAssignment(m) => &m.header,
            Message::StaticDataA(m) => &m.header,
            Message::StaticDataB(m) => &m.header,
            Message::SingleSlotBinary(m) => &m.header,
            Message::MultiSlotBinary(m) => &m.header,
            Message::LongRange(m) => &m.header,
        }
    }

    /// Message type number.
    pub fn msg_type(&self) -> u8 {
        self.header().msg_type
    }

    /// Source MMSI.
    pub fn mmsi(&self) -> Mmsi {
        self.header().mmsi
    }

    /// Position `(lon, lat)` in WGS84 degrees, for the messages that carry one.
    pub fn position(&self) -> Option<(f64, f64)> {
        let (lon, lat) = match self {
            Message::Position(m) => (m.lon, m.lat),
            Message::BaseStation(m) => (m.lon, m.lat),
            Message::SarAircraft(m) => (m.lon, m.lat),
            Message::ClassBPosition(m) => (m.lon, m.lat),
            Message::ClassBExtended(m) => (m.lon, m.lat),
            Message::AidToNavigation(m) => (m.lon, m.lat),
            Message::LongRange(m) => (m.lon, m.lat),
            _ => return None,
        };
        Some((lon?, lat?))
    }
}

/// Requires at least `min` bits for message type `t`.
fn need(p: &Payload, t: u8, min: usize) -> Result<(), PayloadError> {
    if p.len_bits() < min {
        Err(PayloadError::TooShort {
            msg_type: t,
            bits: p.len_bits(),
        })
    } else {
        Ok(())
    }
}

/// Requires `min..=max` bits for message type `t`: a frame longer than its type allows is as
/// broken as a short one (ITU-R M.1371 gives each variable-length type its largest size; the
/// bounds are gpsd's). Types whose extra bits are common and harmless (1-5, 9-11, 18, 19, 22,
/// 23, 24 part B, 27) are checked with [`need`] only and counted as oversized.
fn fits(p: &Payload, t: u8, min: usize, max: usize) -> Result<(), PayloadError> {
    need(p, t, min)?;
    if p.len_bits() > max {
        return Err(PayloadError::TooLongForType {
            msg_type: t,
            bits: p.len_bits(),
        });
    }
    Ok(())
}

/// Nominal (standard) length in bits of fixed-length message types, for oversize detection.
pub fn nominal_bits(msg_type: u8) -> Option<usize> {
    match msg_type {
        1..=4 | 9 | 11 | 18 | 22 => Some(168),
        5 => Some(424),
        10 => Some(72),
        19 => Some(312),
        23 => Some(160),
        27 => Some(96),
        _ => None,
    }
}

/// Decodes a de-armored payload.
pub fn decode(p: &Payload) -> Result<Message<'_>, PayloadError> {
    if p.len_bits() == 0 {
        return Err(PayloadError::Empty);
    }
    if p.len_bits() < 38 {
        let t = p.u(0, 6) as u8;
        if t == 0 || t > 27 {
            return Err(PayloadError::UnknownType(t));
        }
        return Err(PayloadError::TooShort {
            msg_type: t,
            bits: p.len_bits(),
        });
    }
    let h = Header::read(p);
    Ok(match h.msg_type {
        1..=3 => return position::decode_class_a(p, h).map(Message::Position),
        4 | 11 => Message::BaseStation(base::decode_base(p, h)?),
        5 => Message::StaticVoyage(static_data::decode_5(p, h)?),
        6 => Message::BinaryAddressed(binary::decode_6(p, h)?),
        7 | 13 => Message::BinaryAck(binary::decode_ack(p, h)?),
        8 => Message::BinaryBroadcast(binary::decode_8(p, h)?),
        9 => Message::SarAircraft(position::decode_9(p, h)?),
        10 => Message::UtcInquiry(base::decode_10(p, h)?),
        12 => Message::SafetyAddressed(text::decode_12(p, h)?),
        14 => Message::SafetyBroadcast(text::decode_14(p, h)?),
        15 => Message::Interrogation(control::decode_15(p, h)?),
        16 => Message::AssignmentMode(control::decode_16(p, h)?),
        17 => Message::DgnssBroadcast(binary::decode_17(p, h)?),
        18 => Message::ClassBPosition(position::decode_18(p, h)?),
        19 => Message::ClassBExtended(position::decode_19(p, h)?),
        20 => Message::DataLinkManagement(control::decode_20(p, h)?),
        21 => Message::AidToNavigation(aton::decode_21(p, h)?),
        22 => Message::ChannelManagement(control::decode_22(p, h)?),
        23 => Message::GroupAssignment(control::decode_23(p, h)?),
        24 => static_data::decode_24(p, h)?,
        25 => Message::SingleSlotBinary(binary::decode_25(p, h)?),
        26 => Message::MultiSlotBinary(binary::decode_26(p, h)?),
        27 => Message::LongRange(position::decode_27(p, h)?),
        t => return Err(PayloadError::UnknownType(t)),
    })
}
