//! Aid-to-navigation report (type 21).

use super::static_data::{read_dims, Dimensions};
use super::units;
use super::{fits, Header};
use crate::bits::{AisText, Payload};
use crate::error::PayloadError;

/// Type 21: aid-to-navigation report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AidToNavigation {
    /// Common header.
    pub header: Header,
    /// Aid type (0 = not specified).
    pub aid_type: u8,
    /// Name: the 20-character name field, continued by the name extension (bits 272..) when
    /// the field is full (no `@` padding), as ITU-R M.1371 Table 74 says; the extension's
    /// leading spaces are kept (`FORT PIERCE INLET LB` + ` 6`).
    pub name: AisText<34>,
    /// A non-empty name extension after a name that is not full: not part of the name by the
    /// standard, kept here so that nothing is lost (some stations split short names there).
    pub name_extension: Option<AisText<14>>,
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
    // 272 bits, up to 360 with a full name extension (368 as gpsd allows).
    fits(p, 21, 272, 368)?;
    // The field is full when its 20 characters hold no '@' (the padding); trailing spaces of a
    // full field are part of it, as gpsd reads it.
    let base: AisText<20> = p.text_untrimmed(43, 20);
    let full = base.as_str().len() == 20;
    let (name, name_extension) = if full {
        let ext: AisText<14> = p.text_untrimmed(272, 14);
        (AisText::joined(&base, &ext), None)
    } else {
        let ext: AisText<14> = p.text(272, 14);
        (
            AisText::joined(&base, &AisText::<0>::default()),
            (!ext.is_empty()).then_some(ext),
        )
    };
    Ok(AidToNavigation {
        header,
        aid_type: p.u(38, 5) as u8,
        name,
        name_extension,
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
