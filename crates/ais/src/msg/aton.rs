//! Aid-to-navigation report (type 21).

use super::static_data::{read_dims, Dimensions};
use super::units;
use super::{need, Header};
use crate::bits::{AisText, Payload};
use crate::error::PayloadError;

/// Type 21: aid-to-navigation report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AidToNavigation {
    /// Common header.
    pub header: Header,
    /// Aid type (0 = not specified).
    pub aid_type: u8,
    /// Name, with the name extension (bits 272..) appended when present.
    pub name: AisText<34>,
    /// Position accuracy.
    pub accuracy: bool,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Dimensions.
    pub dims: Dimensions,
    /// Position fixing device.
    pub epfd: Option<u8>,
    /// UTC second.
    pub second: Option<u8>,
    /// Floating aid is off its charted position.
    pub off_position: bool,
    /// Regional reserved bits.
    pub regional: u8,
    /// RAIM in use.
    pub raim: bool,
    /// Virtual aid (no physical buoy).
    pub virtual_aid: bool,
    /// Assigned mode.
    pub assigned: bool,
}

pub(super) fn decode_21(p: &Payload, header: Header) -> Result<AidToNavigation, PayloadError> {
    need(p, 21, 272)?;
    // The name extension (bits 272..) continues a full 20-character name.
    let base: AisText<20> = p.text_untrimmed(43, 20);
    let ext: AisText<14> = p.text(272, 14);
    let name = AisText::joined(&base, &ext);
    Ok(AidToNavigation {
        header,
        aid_type: p.u(38, 5) as u8,
        name,
        accuracy: p.b(163),
        lon: units::lon_1e4_min(p.i(164, 28)),
        lat: units::lat_1e4_min(p.i(192, 27)),
        dims: read_dims(p, 219),
        epfd: units::nonzero(p.u(249, 4)).map(|v| v as u8),
        second: units::second(p.u(253, 6)),
        off_position: p.b(259),
        regional: p.u(260, 8) as u8,
        raim: p.b(268),
        virtual_aid: p.b(269),
        assigned: p.b(270),
    })
}
