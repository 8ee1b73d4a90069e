//! Static and voyage related data (type 5) and static data report (type 24 parts A and B).

use super::units;
use super::{fits, need, Header, Message};
use crate::bits::{AisText, Payload};
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Dimensions to the position reference point, metres (0 = not available).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dimensions {
    /// To bow (511 = 511 m or more).
    pub to_bow: Option<u16>,
    /// To stern.
    pub to_stern: Option<u16>,
    /// To port (63 = 63 m or more).
    pub to_port: Option<u8>,
    /// To starboard.
    pub to_starboard: Option<u8>,
}

impl Dimensions {
    /// Overall length, metres, when bow and stern are both known.
    pub fn length_m(&self) -> Option<u16> {
        Some(self.to_bow? + self.to_stern?)
    }

    /// Overall beam, metres, when port and starboard are both known.
    pub fn beam_m(&self) -> Option<u8> {
        Some(self.to_port? + self.to_starboard?)
    }
}

pub(crate) fn read_dims(p: &Payload, at: usize) -> Dimensions {
    Dimensions {
        to_bow: units::nonzero(p.u(at, 9)).map(|v| v as u16),
        to_stern: units::nonzero(p.u(at + 9, 9)).map(|v| v as u16),
        to_port: units::nonzero(p.u(at + 18, 6)).map(|v| v as u8),
        to_starboard: units::nonzero(p.u(at + 24, 6)).map(|v| v as u8),
    }
}

/// Estimated time of arrival, UTC, without a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Eta {
    /// Month 1-12.
    pub month: Option<u8>,
    /// Day 1-31.
    pub day: Option<u8>,
    /// Hour 0-23.
    pub hour: Option<u8>,
    /// Minute 0-59.
    pub minute: Option<u8>,
}

/// Type 5: static and voyage related data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticVoyage {
    /// Common header.
    pub header: Header,
    /// AIS version indicator.
    pub ais_version: u8,
    /// IMO ship identification number.
    pub imo: Option<u32>,
    /// Call sign.
    pub callsign: AisText<7>,
    /// Vessel name.
    pub shipname: AisText<20>,
    /// Ship and cargo type.
    pub ship_type: Option<u8>,
    /// Dimensions.
    pub dims: Dimensions,
    /// Position fixing device.
    pub epfd: Option<u8>,
    /// Estimated time of arrival.
    pub eta: Eta,
    /// Maximum present static draught, metres.
    pub draught_m: Option<f32>,
    /// Destination.
    pub destination: AisText<20>,
    /// Data terminal not ready.
    pub dte: bool,
}

pub(super) fn decode_5(p: &Payload, header: Header) -> Result<StaticVoyage, PayloadError> {
    // The standard says 424 bits; 420 and 422 are common in the wild (truncated destination).
    need(p, 5, 420)?;
    Ok(StaticVoyage {
        header,
        ais_version: p.u(38, 2) as u8,
        imo: units::nonzero(p.u(40, 30)),
        callsign: p.text(70, 7),
        shipname: p.text(112, 20),
        ship_type: units::ship_type(p.u(232, 8)),
        dims: read_dims(p, 240),
        epfd: units::nonzero(p.u(270, 4)).map(|v| v as u8),
        eta: Eta {
            month: units::nonzero(p.u(274, 4)).map(|v| v as u8),
            day: units::nonzero(p.u(278, 5)).map(|v| v as u8),
            hour: units::below(p.u(283, 5), 24).map(|v| v as u8),
            minute: units::below(p.u(288, 6), 60).map(|v| v as u8),
        },
        draught_m: units::nonzero(p.u(294, 8)).map(|v| v as f32 / 10.0),
        destination: p.text(302, 20),
        dte: p.len_bits() > 422 && p.b(422),
    })
}

/// Type 24 part A: vessel name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticDataA {
    /// Common header.
    pub header: Header,
    /// Vessel name.
    pub shipname: AisText<20>,
}

/// Type 24 part B: ship type, equipment, call sign, dimensions or mother ship.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StaticDataB {
    /// Common header.
    pub header: Header,
    /// Ship and cargo type.
    pub ship_type: Option<u8>,
    /// Vendor id (ITU-R M.1371-4: 3 characters).
    pub vendor_id: AisText<3>,
    /// Unit model code.
    pub model: u8,
    /// Serial number.
    pub serial: u32,
    /// Call sign.
    pub callsign: AisText<7>,
    /// Dimensions (for auxiliary craft, `None` and `mothership_mmsi` is set instead).
    pub dims: Dimensions,
    /// Mother ship MMSI, for auxiliary craft (MMSI 98MIDxxxx).
    pub mothership_mmsi: Option<Mmsi>,
}

pub(super) fn decode_24(p: &Payload, header: Header) -> Result<Message<'static>, PayloadError> {
    need(p, 24, 40)?;
    match p.u(38, 2) {
        0 => {
            // Part A should be 168 bits but is often sent as 160 (no trailing spare).
            fits(p, 24, 160, 168)?;
            Ok(Message::StaticDataA(StaticDataA {
                header,
                shipname: p.text(40, 20),
            }))
        }
        1 => {
            need(p, 24, 162)?;
            let aux = header.mmsi.is_auxiliary();
            Ok(Message::StaticDataB(StaticDataB {
                header,
                ship_type: units::ship_type(p.u(40, 8)),
                vendor_id: p.text(48, 3),
                model: p.u(66, 4) as u8,
                serial: p.u(70, 20),
                callsign: p.text(90, 7),
                dims: if aux {
                    Dimensions::default()
                } else {
                    read_dims(p, 132)
                },
                mothership_mmsi: aux.then(|| Mmsi(p.u(132, 30))),
            }))
        }
        _ => Err(PayloadError::InvalidField("partno")),
    }
}

pub(crate) mod write {
    use super::Dimensions;
    use crate::bits::BitSink;

    /// Writes dimensions (0 for not available).
    pub(crate) fn write_dims<W: BitSink>(w: &mut W, d: &Dimensions) {
        w.put(9, d.to_bow.unwrap_or(0) as u64)
            .put(9, d.to_stern.unwrap_or(0) as u64)
            .put(6, d.to_port.unwrap_or(0) as u64)
            .put(6, d.to_starboard.unwrap_or(0) as u64);
    }
}
