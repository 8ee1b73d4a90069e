//! Link control messages: interrogation (15), assignment mode (16), data link management (20),
//! channel management (22), group assignment (23).

use super::units;
use super::{fits, need, Header};
use crate::bits::Payload;
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Type 15: interrogation of one or two stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrogation {
    /// Common header.
    pub header: Header,
    /// First interrogated station.
    pub mmsi1: Mmsi,
    /// First requested message type.
    pub type1_1: u8,
    /// Slot offset of the first response.
    pub offset1_1: u16,
    /// Second requested message type from station 1, if requested.
    pub type1_2: Option<u8>,
    /// Slot offset of the second response.
    pub offset1_2: Option<u16>,
    /// Second interrogated station, if any.
    pub mmsi2: Option<Mmsi>,
    /// Message type requested from station 2.
    pub type2_1: Option<u8>,
    /// Slot offset of station 2's response.
    pub offset2_1: Option<u16>,
}

pub(super) fn decode_15(p: &Payload, header: Header) -> Result<Interrogation, PayloadError> {
    fits(p, 15, 88, 168)?;
    let n = p.len_bits();
    Ok(Interrogation {
        header,
        mmsi1: Mmsi(p.u(40, 30)),
        type1_1: p.u(70, 6) as u8,
        offset1_1: p.u(76, 12) as u16,
        // 88-89 spare
        type1_2: (n >= 108).then(|| p.u(90, 6) as u8),
        offset1_2: (n >= 108).then(|| p.u(96, 12) as u16),
        // 108-109 spare
        mmsi2: (n >= 158).then(|| Mmsi(p.u(110, 30))),
        type2_1: (n >= 158).then(|| p.u(140, 6) as u8),
        offset2_1: (n >= 158).then(|| p.u(146, 12) as u16),
    })
}

/// Type 16: assignment mode command for one or two stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentMode {
    /// Common header.
    pub header: Header,
    /// Station A.
    pub mmsi1: Mmsi,
    /// Offset A.
    pub offset1: u16,
    /// Increment A.
    pub increment1: u16,
    /// Station B, when the message carries two assignments.
    pub mmsi2: Option<Mmsi>,
    /// Offset B.
    pub offset2: Option<u16>,
    /// Increment B.
    pub increment2: Option<u16>,
}

pub(super) fn decode_16(p: &Payload, header: Header) -> Result<AssignmentMode, PayloadError> {
    fits(p, 16, 92, 168)?;
    let two = p.len_bits() >= 144;
    Ok(AssignmentMode {
        header,
        mmsi1: Mmsi(p.u(40, 30)),
        offset1: p.u(70, 12) as u16,
        increment1: p.u(82, 10) as u16,
        mmsi2: two.then(|| Mmsi(p.u(92, 30))),
        offset2: two.then(|| p.u(122, 12) as u16),
        increment2: two.then(|| p.u(134, 10) as u16),
    })
}

/// One slot reservation of a type 20 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotReservation {
    /// Reserved offset number.
    pub offset: u16,
    /// Number of consecutive slots.
    pub number: u8,
    /// Time-out, minutes.
    pub timeout: u8,
    /// Repeat increment.
    pub increment: u16,
}

/// Type 20: data link management (one to four reservations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataLinkManagement {
    /// Common header.
    pub header: Header,
    /// Reservations present in the message.
    pub reservations: [Option<SlotReservation>; 4],
}

pub(super) fn decode_20(p: &Payload, header: Header) -> Result<DataLinkManagement, PayloadError> {
    fits(p, 20, 70, 186)?;
    let n = ((p.len_bits() - 40) / 30).min(4);
    let mut reservations = [None; 4];
    for (k, r) in reservations.iter_mut().enumerate().take(n) {
        let at = 40 + 30 * k;
        *r = Some(SlotReservation {
            offset: p.u(at, 12) as u16,
            number: p.u(at + 12, 4) as u8,
            timeout: p.u(at + 16, 3) as u8,
            increment: p.u(at + 19, 11) as u16,
        });
    }
    Ok(DataLinkManagement {
        header,
        reservations,
    })
}

/// Target of a type 22 message: a rectangle or two stations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ChannelArea {
    /// Broadcast: the north-east and south-west corners, degrees (`None` when not available).
    Area {
        /// NE longitude.
        ne_lon: Option<f64>,
        /// NE latitude.
        ne_lat: Option<f64>,
        /// SW longitude.
        sw_lon: Option<f64>,
        /// SW latitude.
        sw_lat: Option<f64>,
    },
    /// Addressed to up to two stations.
    Addressed {
        /// First station.
        dest1: Mmsi,
        /// Second station.
        dest2: Mmsi,
    },
}

/// Type 22: channel management.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelManagement {
    /// Common header.
    pub header: Header,
    /// Channel A number.
    pub channel_a: u16,
    /// Channel B number.
    pub channel_b: u16,
    /// Tx/Rx mode.
    pub txrx: u8,
    /// High power.
    pub power: bool,
    /// Area or addressees.
    pub target: ChannelArea,
    /// Channel A bandwidth 12.5 kHz.
    pub band_a: bool,
    /// Channel B bandwidth 12.5 kHz.
    pub band_b: bool,
    /// Size of the transitional zone, nautical miles - 1.
    pub zonesize: u8,
}

pub(super) fn decode_22(p: &Payload, header: Header) -> Result<ChannelManagement, PayloadError> {
    need(p, 22, 145)?;
    let addressed = p.b(139);
    let target = if addressed {
        ChannelArea::Addressed {
            dest1: Mmsi(p.u(69, 30)),
            dest2: Mmsi(p.u(104, 30)),
        }
    } else {
        ChannelArea::Area {
            ne_lon: units::lon_1e1_min(p.i(69, 18)),
            ne_lat: units::lat_1e1_min(p.i(87, 17)),
            sw_lon: units::lon_1e1_min(p.i(104, 18)),
            sw_lat: units::lat_1e1_min(p.i(122, 17)),
        }
    };
    Ok(ChannelManagement {
        header,
        channel_a: p.u(40, 12) as u16,
        channel_b: p.u(52, 12) as u16,
        txrx: p.u(64, 4) as u8,
        power: p.b(68),
        target,
        band_a: p.b(140),
        band_b: p.b(141),
        zonesize: p.u(142, 3) as u8,
    })
}

/// Type 23: group assignment command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupAssignment {
    /// Common header.
    pub header: Header,
    /// NE longitude, degrees.
    pub ne_lon: Option<f64>,
    /// NE latitude, degrees.
    pub ne_lat: Option<f64>,
    /// SW longitude, degrees.
    pub sw_lon: Option<f64>,
    /// SW latitude, degrees.
    pub sw_lat: Option<f64>,
    /// Station type addressed.
    pub station_type: u8,
    /// Ship type addressed.
    pub ship_type: u8,
    /// Tx/Rx mode.
    pub txrx: u8,
    /// Reporting interval code.
    pub interval: u8,
    /// Quiet time, minutes.
    pub quiet: u8,
}

pub(super) fn decode_23(p: &Payload, header: Header) -> Result<GroupAssignment, PayloadError> {
    need(p, 23, 154)?;
    Ok(GroupAssignment {
        header,
        ne_lon: units::lon_1e1_min(p.i(40, 18)),
        ne_lat: units::lat_1e1_min(p.i(58, 17)),
        sw_lon: units::lon_1e1_min(p.i(75, 18)),
        sw_lat: units::lat_1e1_min(p.i(93, 17)),
        station_type: p.u(110, 4) as u8,
        ship_type: p.u(114, 8) as u8,
        // 122-143 spare
        txrx: p.u(144, 2) as u8,
        interval: p.u(146, 4) as u8,
        quiet: p.u(150, 4) as u8,
    })
}
