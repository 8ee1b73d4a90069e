//! Position reports: class A (types 1-3), SAR aircraft (9), class B (18, 19), long range (27).

use super::units::{self, RateOfTurn};
use super::{fits, need, Header};
use crate::bits::{AisText, Payload};
use crate::error::PayloadError;
use crate::msg::static_data::{read_dims, Dimensions};

/// Types 1, 2, 3: class A position report (ITU-R M.1371 Table 45).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionReport {
    /// Common header.
    pub header: Header,
    /// Navigation status 0..=14; `None` for 15 (not defined).
    pub nav_status: Option<u8>,
    /// Rate of turn.
    pub rot: Option<RateOfTurn>,
    /// Speed over ground, knots (102.2 means 102.2 kn or more).
    pub sog_knots: Option<f32>,
    /// Position accuracy: true = DGNSS, better than 10 m.
    pub accuracy: bool,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// UTC second of the fix (61 manual, 62 dead reckoning, 63 inoperative).
    pub second: Option<u8>,
    /// Special manoeuvre indicator: 1 no, 2 engaged.
    pub maneuver: Option<u8>,
    /// RAIM in use.
    pub raim: bool,
    /// Radio status (SOTDMA/ITDMA communication state), raw; `None` when the frame is cut
    /// short before it (163-167 bits).
    pub radio: Option<u32>,
}

pub(super) fn decode_class_a(p: &Payload, header: Header) -> Result<PositionReport, PayloadError> {
    // 168 bits by the standard; many receivers report the fill bits of a 168-bit frame wrong,
    // which leaves 163-167: everything up to the radio status is there. Up to 204 bits are
    // seen in the wild (extra stuffing bytes); longer frames are broken (both as gpsd).
    fits(p, header.msg_type, 163, 204)?;
    Ok(PositionReport {
        header,
        nav_status: units::unless(p.u(38, 4), 15).map(|v| v as u8),
        rot: units::rate_of_turn(p.i(42, 8)),
        sog_knots: units::sog_tenth_knots(p.u(50, 10)),
        accuracy: p.b(60),
        lon: units::lon_1e4_min(p.i(61, 28)),
        lat: units::lat_1e4_min(p.i(89, 27)),
        cog_deg: units::cog_tenth_deg(p.u(116, 12)),
        heading_deg: units::heading_deg(p.u(128, 9)),
        second: units::second(p.u(137, 6)),
        maneuver: units::nonzero(p.u(143, 2)).map(|v| v as u8),
        // 145-147 spare
        raim: p.b(148),
        radio: (p.len_bits() >= 168).then(|| p.u(149, 19)),
    })
}

/// Type 9: standard SAR aircraft position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SarAircraft {
    /// Common header.
    pub header: Header,
    /// Altitude, metres (4094 means 4094 m or more).
    pub altitude_m: Option<u16>,
    /// Speed over ground, knots (whole knots; 1022 means 1022 kn or more).
    pub sog_knots: Option<u16>,
    /// Position accuracy.
    pub accuracy: bool,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// UTC second.
    pub second: Option<u8>,
    /// Regional reserved bits.
    pub regional: u8,
    /// Data terminal not ready.
    pub dte: bool,
    /// Assigned mode.
    pub assigned: bool,
    /// RAIM in use.
    pub raim: bool,
    /// Radio status, raw.
    pub radio: u32,
}

pub(super) fn decode_9(p: &Payload, header: Header) -> Result<SarAircraft, PayloadError> {
    need(p, 9, 168)?;
    Ok(SarAircraft {
        header,
        altitude_m: units::unless(p.u(38, 12), 4095).map(|v| v as u16),
        sog_knots: units::unless(p.u(50, 10), 1023).map(|v| v as u16),
        accuracy: p.b(60),
        lon: units::lon_1e4_min(p.i(61, 28)),
        lat: units::lat_1e4_min(p.i(89, 27)),
        cog_deg: units::cog_tenth_deg(p.u(116, 12)),
        second: units::second(p.u(128, 6)),
        regional: p.u(134, 8) as u8,
        dte: p.b(142),
        // 143-145 spare
        assigned: p.b(146),
        raim: p.b(147),
        radio: p.u(148, 20),
    })
}

/// Type 18: standard class B CS position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassBPosition {
    /// Common header.
    pub header: Header,
    /// Regional reserved bits 38-45.
    pub reserved: u8,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Position accuracy.
    pub accuracy: bool,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// UTC second.
    pub second: Option<u8>,
    /// Regional reserved bits 139-140.
    pub regional: u8,
    /// Class B CS (carrier sense) unit rather than SOTDMA.
    pub cs: bool,
    /// Has a display.
    pub display: bool,
    /// Has DSC.
    pub dsc: bool,
    /// Can use the whole marine band.
    pub band: bool,
    /// Accepts channel management by message 22.
    pub msg22: bool,
    /// Assigned mode.
    pub assigned: bool,
    /// RAIM in use.
    pub raim: bool,
    /// Radio status, raw.
    pub radio: u32,
}

impl ClassBPosition {
    /// The report of a class B "CS" (carrier-sense) unit as such units send it: no heading,
    /// display and DSC capable, whole band, message 22 capable, autonomous mode, no RAIM, the
    /// CS radio status (`1100000000000000110`).
    pub fn cs_unit(
        header: Header,
        sog_knots: Option<f32>,
        lon: Option<f64>,
        lat: Option<f64>,
        cog_deg: Option<f32>,
        second: Option<u8>,
    ) -> ClassBPosition {
        ClassBPosition {
            header,
            reserved: 0,
            sog_knots,
            accuracy: false,
            lon,
            lat,
            cog_deg,
            heading_deg: None,
            second,
            regional: 0,
            cs: true,
            display: false,
            dsc: true,
            band: true,
            msg22: true,
            assigned: false,
            raim: false,
            radio: 917_510,
        }
    }
}

pub(super) fn decode_18(p: &Payload, header: Header) -> Result<ClassBPosition, PayloadError> {
    need(p, 18, 168)?;
    Ok(ClassBPosition {
        header,
        reserved: p.u(38, 8) as u8,
        sog_knots: units::sog_tenth_knots(p.u(46, 10)),
        accuracy: p.b(56),
        lon: units::lon_1e4_min(p.i(57, 28)),
        lat: units::lat_1e4_min(p.i(85, 27)),
        cog_deg: units::cog_tenth_deg(p.u(112, 12)),
        heading_deg: units::heading_deg(p.u(124, 9)),
        second: units::second(p.u(133, 6)),
        regional: p.u(139, 2) as u8,
        cs: p.b(141),
        display: p.b(142),
        dsc: p.b(143),
        band: p.b(144),
        msg22: p.b(145),
        assigned: p.b(146),
        raim: p.b(147),
        radio: p.u(148, 20),
    })
}

/// Type 19: extended class B position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassBExtended {
    /// Common header.
    pub header: Header,
    /// Regional reserved bits 38-45.
    pub reserved: u8,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Position accuracy.
    pub accuracy: bool,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// UTC second.
    pub second: Option<u8>,
    /// Regional reserved bits 139-142.
    pub regional: u8,
    /// Vessel name.
    pub shipname: AisText<20>,
    /// Ship and cargo type.
    pub ship_type: Option<u8>,
    /// Dimensions from the reference point.
    pub dims: Dimensions,
    /// Position fixing device.
    pub epfd: Option<u8>,
    /// RAIM in use.
    pub raim: bool,
    /// Data terminal not ready.
    pub dte: bool,
    /// Assigned mode.
    pub assigned: bool,
}

pub(super) fn decode_19(p: &Payload, header: Header) -> Result<ClassBExtended, PayloadError> {
    need(p, 19, 312)?;
    Ok(ClassBExtended {
        header,
        reserved: p.u(38, 8) as u8,
        sog_knots: units::sog_tenth_knots(p.u(46, 10)),
        accuracy: p.b(56),
        lon: units::lon_1e4_min(p.i(57, 28)),
        lat: units::lat_1e4_min(p.i(85, 27)),
        cog_deg: units::cog_tenth_deg(p.u(112, 12)),
        heading_deg: units::heading_deg(p.u(124, 9)),
        second: units::second(p.u(133, 6)),
        regional: p.u(139, 4) as u8,
        shipname: p.text(143, 20),
        ship_type: units::ship_type(p.u(263, 8)),
        dims: read_dims(p, 271),
        epfd: units::nonzero(p.u(301, 4)).map(|v| v as u8),
        raim: p.b(305),
        dte: p.b(306),
        assigned: p.b(307),
    })
}

/// Type 27: long-range AIS broadcast (satellite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongRangeReport {
    /// Common header.
    pub header: Header,
    /// Position accuracy.
    pub accuracy: bool,
    /// RAIM in use.
    pub raim: bool,
    /// Navigation status; `None` for 15.
    pub nav_status: Option<u8>,
    /// Longitude, degrees (1/10 minute resolution).
    pub lon: Option<f64>,
    /// Latitude, degrees (1/10 minute resolution).
    pub lat: Option<f64>,
    /// Speed over ground, whole knots (0-62).
    pub sog_knots: Option<u8>,
    /// Course over ground, whole degrees.
    pub cog_deg: Option<u16>,
    /// True when the position is NOT the current GNSS position.
    pub gnss_stale: bool,
}

pub(super) fn decode_27(p: &Payload, header: Header) -> Result<LongRangeReport, PayloadError> {
    // 96 bits; a whole 168-bit slot is a known implementation error (gpsd).
    fits(p, 27, 96, 168)?;
    Ok(LongRangeReport {
        header,
        accuracy: p.b(38),
        raim: p.b(39),
        nav_status: units::unless(p.u(40, 4), 15).map(|v| v as u8),
        lon: units::lon_1e1_min(p.i(44, 18)),
        lat: units::lat_1e1_min(p.i(62, 17)),
        sog_knots: units::unless(p.u(79, 6), 63).map(|v| v as u8),
        cog_deg: units::below(p.u(85, 9), 360).map(|v| v as u16),
        gnss_stale: p.b(94),
    })
}
