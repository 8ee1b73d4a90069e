//! Base station report and UTC/date response (types 4, 11), UTC/date inquiry (10).

use super::units;
use super::{need, Header};
use crate::bits::Payload;
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Types 4 and 11: base station report / UTC and date response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaseStationReport {
    /// Common header.
    pub header: Header,
    /// UTC year (1-9999).
    pub year: Option<u16>,
    /// UTC month (1-12).
    pub month: Option<u8>,
    /// UTC day (1-31).
    pub day: Option<u8>,
    /// UTC hour (0-23).
    pub hour: Option<u8>,
    /// UTC minute (0-59).
    pub minute: Option<u8>,
    /// UTC second (0-59).
    pub second: Option<u8>,
    /// Position accuracy.
    pub accuracy: bool,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Position fixing device.
    pub epfd: Option<u8>,
    /// RAIM in use.
    pub raim: bool,
    /// Radio status, raw.
    pub radio: u32,
}

impl BaseStationReport {
    /// The reported UTC time in ms since the epoch, when every part is available.
    pub fn time_ms(&self) -> Option<i64> {
        crate::nmea::civil_to_ms(
            self.year? as i64,
            self.month? as u64,
            self.day? as u64,
            self.hour? as u64,
            self.minute? as u64,
            self.second? as u64,
            0,
        )
    }
}

pub(super) fn decode_base(p: &Payload, header: Header) -> Result<BaseStationReport, PayloadError> {
    need(p, header.msg_type, 168)?;
    Ok(BaseStationReport {
        header,
        year: units::nonzero(p.u(38, 14)).map(|v| v as u16),
        month: units::nonzero(p.u(52, 4)).map(|v| v as u8),
        day: units::nonzero(p.u(56, 5)).map(|v| v as u8),
        hour: units::below(p.u(61, 5), 24).map(|v| v as u8),
        minute: units::below(p.u(66, 6), 60).map(|v| v as u8),
        second: units::below(p.u(72, 6), 60).map(|v| v as u8),
        accuracy: p.b(78),
        lon: units::lon_1e4_min(p.i(79, 28)),
        lat: units::lat_1e4_min(p.i(107, 27)),
        epfd: units::nonzero(p.u(134, 4)).map(|v| v as u8),
        // 138-147 spare
        raim: p.b(148),
        radio: p.u(149, 19),
    })
}

/// Type 10: UTC and date inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcInquiry {
    /// Common header.
    pub header: Header,
    /// Station asked.
    pub dest_mmsi: Mmsi,
}

pub(super) fn decode_10(p: &Payload, header: Header) -> Result<UtcInquiry, PayloadError> {
    need(p, 10, 70)?;
    Ok(UtcInquiry {
        header,
        dest_mmsi: Mmsi(p.u(40, 30)),
    })
}
