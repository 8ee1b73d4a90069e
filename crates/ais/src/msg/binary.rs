//! Binary messages: addressed (6), acknowledgements (7, 13), broadcast (8), DGNSS (17),
//! single and multiple slot (25, 26), and the application messages Tidewatch decodes fully:
//! IMO 289 meteorological and hydrological data (DAC 1, FID 31).

use super::units;
use super::{need, Header};
use crate::bits::{BitSlice, Payload};
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Decoded application-specific payload of a type 6 or 8 message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AppData {
    /// DAC 1, FID 31: meteorological and hydrological data (IMO SN.1/Circ.289).
    MeteoHydro(MeteoHydro),
}

/// Type 6: addressed binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryAddressed<'a> {
    /// Common header.
    pub header: Header,
    /// Sequence number 0-3.
    pub seqno: u8,
    /// Addressee.
    pub dest_mmsi: Mmsi,
    /// Retransmitted.
    pub retransmit: bool,
    /// Designated area code.
    pub dac: u16,
    /// Function identifier.
    pub fid: u8,
    /// Application data bits (after DAC/FID).
    pub data: BitSlice<'a>,
}

pub(super) fn decode_6(p: &Payload, header: Header) -> Result<BinaryAddressed<'_>, PayloadError> {
    need(p, 6, 88)?;
    Ok(BinaryAddressed {
        header,
        seqno: p.u(38, 2) as u8,
        dest_mmsi: Mmsi(p.u(40, 30)),
        retransmit: p.b(70),
        // 71 spare
        dac: p.u(72, 10) as u16,
        fid: p.u(82, 6) as u8,
        data: p.tail(88),
    })
}

/// Types 7 and 13: acknowledgement of up to four addressed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinaryAck {
    /// Common header.
    pub header: Header,
    /// Acknowledged stations with the sequence number of the acknowledged message.
    pub acks: [Option<(Mmsi, u8)>; 4],
}

pub(super) fn decode_ack(p: &Payload, header: Header) -> Result<BinaryAck, PayloadError> {
    need(p, header.msg_type, 70)?;
    let n = ((p.len_bits() - 40 + 2) / 32).min(4);
    let mut acks = [None; 4];
    for (k, a) in acks.iter_mut().enumerate().take(n) {
        let at = 40 + 32 * k;
        *a = Some((Mmsi(p.u(at, 30)), p.u(at + 30, 2) as u8));
    }
    Ok(BinaryAck { header, acks })
}

/// Type 8: broadcast binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryBroadcast<'a> {
    /// Common header.
    pub header: Header,
    /// Designated area code.
    pub dac: u16,
    /// Function identifier.
    pub fid: u8,
    /// Application data bits (after DAC/FID).
    pub data: BitSlice<'a>,
    /// The application message, when Tidewatch knows the DAC/FID and the content validates.
    pub app: Option<AppData>,
}

pub(super) fn decode_8(p: &Payload, header: Header) -> Result<BinaryBroadcast<'_>, PayloadError> {
    need(p, 8, 56)?;
    let dac = p.u(40, 10) as u16;
    let fid = p.u(50, 6) as u8;
    let app = match (dac, fid) {
        (1, 31) => decode_meteo_hydro(p).map(AppData::MeteoHydro),
        _ => None,
    };
    Ok(BinaryBroadcast {
        header,
        dac,
        fid,
        data: p.tail(56),
        app,
    })
}

/// IMO 289 meteorological and hydrological data (type 8, DAC 1, FID 31). Units are SI-ish as
/// broadcast: knots, degrees true, °C, hPa, metres, nautical miles, seconds, per cent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeteoHydro {
    /// Longitude of the station, degrees.
    pub lon: Option<f64>,
    /// Latitude of the station, degrees.
    pub lat: Option<f64>,
    /// Position accuracy.
    pub accuracy: bool,
    /// Observation day of month (UTC).
    pub day: Option<u8>,
    /// Observation hour (UTC).
    pub hour: Option<u8>,
    /// Observation minute (UTC).
    pub minute: Option<u8>,
    /// Average wind speed over 10 min, knots (126 = 126 kn or more).
    pub wind_speed_knots: Option<u8>,
    /// Gust speed, knots.
    pub wind_gust_knots: Option<u8>,
    /// Wind direction, degrees.
    pub wind_dir_deg: Option<u16>,
    /// Gust direction, degrees.
    pub wind_gust_dir_deg: Option<u16>,
    /// Air temperature, °C.
    pub air_temp_c: Option<f32>,
    /// Relative humidity, per cent.
    pub humidity_pct: Option<u8>,
    /// Dew point, °C.
    pub dew_point_c: Option<f32>,
    /// Air pressure, hPa (799 = 799 or less, 1201 = 1201 or more).
    pub pressure_hpa: Option<u16>,
    /// Pressure tendency: 0 steady, 1 decreasing, 2 increasing.
    pub pressure_tendency: Option<u8>,
    /// Visibility is greater than the value given.
    pub visibility_greater: bool,
    /// Horizontal visibility, nautical miles.
    pub visibility_nm: Option<f32>,
    /// Water level (incl. tide) relative to chart datum, metres.
    pub water_level_m: Option<f32>,
    /// Water level trend: 0 steady, 1 decreasing, 2 increasing.
    pub water_level_trend: Option<u8>,
    /// Surface current speed, knots.
    pub current_speed_knots: Option<f32>,
    /// Surface current direction, degrees.
    pub current_dir_deg: Option<u16>,
    /// Current #2 speed, knots.
    pub current2_speed_knots: Option<f32>,
    /// Current #2 direction, degrees.
    pub current2_dir_deg: Option<u16>,
    /// Current #2 measurement depth, metres.
    pub current2_depth_m: Option<u8>,
    /// Current #3 speed, knots.
    pub current3_speed_knots: Option<f32>,
    /// Current #3 direction, degrees.
    pub current3_dir_deg: Option<u16>,
    /// Current #3 measurement depth, metres.
    pub current3_depth_m: Option<u8>,
    /// Significant wave height, metres.
    pub wave_height_m: Option<f32>,
    /// Wave period, seconds.
    pub wave_period_s: Option<u8>,
    /// Wave direction, degrees.
    pub wave_dir_deg: Option<u16>,
    /// Swell height, metres.
    pub swell_height_m: Option<f32>,
    /// Swell period, seconds.
    pub swell_period_s: Option<u8>,
    /// Swell direction, degrees.
    pub swell_dir_deg: Option<u16>,
    /// Sea state, Beaufort 0-12.
    pub sea_state: Option<u8>,
    /// Water temperature, °C.
    pub water_temp_c: Option<f32>,
    /// Precipitation type (WMO 306 code table 4.201).
    pub precipitation: Option<u8>,
    /// Salinity, per mille (501 = 50.1 or more).
    pub salinity: Option<f32>,
    /// Ice: 0 no, 1 yes.
    pub ice: Option<u8>,
}

fn decode_meteo_hydro(p: &Payload) -> Option<MeteoHydro> {
    // Range validation: a structured 1/31 must be long enough and carry a sane timestamp;
    // otherwise it stays unstructured (gpsd AIVDM: "interpret the message as unstructured").
    if p.len_bits() < 350 || p.u(106, 5) > 31 || p.u(111, 5) > 24 || p.u(116, 6) > 60 {
        return None;
    }
    let tenth = |v: u32| v as f32 / 10.0;
    let tenth_signed = |v: i32| v as f32 / 10.0;
    Some(MeteoHydro {
        lon: units::lon_1e3_min(p.i(56, 25)),
        lat: units::lat_1e3_min(p.i(81, 24)),
        accuracy: p.b(105),
        day: units::nonzero(p.u(106, 5)).map(|v| v as u8),
        hour: units::below(p.u(111, 5), 24).map(|v| v as u8),
        minute: units::below(p.u(116, 6), 60).map(|v| v as u8),
        wind_speed_knots: units::below(p.u(122, 7), 127).map(|v| v as u8),
        wind_gust_knots: units::below(p.u(129, 7), 127).map(|v| v as u8),
        wind_dir_deg: units::below(p.u(136, 9), 360).map(|v| v as u16),
        wind_gust_dir_deg: units::below(p.u(145, 9), 360).map(|v| v as u16),
        air_temp_c: Some(p.i(154, 11)).filter(|&v| v != -1024).map(tenth_signed),
        humidity_pct: units::below(p.u(165, 7), 101).map(|v| v as u8),
        dew_point_c: Some(p.i(172, 10)).filter(|&v| v != 501).map(tenth_signed),
        pressure_hpa: units::below(p.u(182, 9), 403).map(|v| (v + 799) as u16),
        pressure_tendency: units::below(p.u(191, 2), 3).map(|v| v as u8),
        visibility_greater: p.b(193),
        visibility_nm: units::below(p.u(194, 7), 127).map(tenth),
        water_level_m: units::below(p.u(201, 12), 4001).map(|v| v as f32 / 100.0 - 10.0),
        water_level_trend: units::below(p.u(213, 2), 3).map(|v| v as u8),
        current_speed_knots: units::below(p.u(215, 8), 252).map(tenth),
        current_dir_deg: units::below(p.u(223, 9), 360).map(|v| v as u16),
        current2_speed_knots: units::below(p.u(232, 8), 252).map(tenth),
        current2_dir_deg: units::below(p.u(240, 9), 360).map(|v| v as u16),
        current2_depth_m: units::below(p.u(249, 5), 31).map(|v| v as u8),
        current3_speed_knots: units::below(p.u(254, 8), 252).map(tenth),
        current3_dir_deg: units::below(p.u(262, 9), 360).map(|v| v as u16),
        current3_depth_m: units::below(p.u(271, 5), 31).map(|v| v as u8),
        wave_height_m: units::below(p.u(276, 8), 252).map(tenth),
        wave_period_s: units::below(p.u(284, 6), 61).map(|v| v as u8),
        wave_dir_deg: units::below(p.u(290, 9), 360).map(|v| v as u16),
        swell_height_m: units::below(p.u(299, 8), 252).map(tenth),
        swell_period_s: units::below(p.u(307, 6), 61).map(|v| v as u8),
        swell_dir_deg: units::below(p.u(313, 9), 360).map(|v| v as u16),
        sea_state: units::below(p.u(322, 4), 13).map(|v| v as u8),
        water_temp_c: Some(p.i(326, 10)).filter(|&v| v != 501).map(tenth_signed),
        precipitation: units::below(p.u(336, 3), 7).map(|v| v as u8),
        salinity: units::below(p.u(339, 9), 502).map(tenth),
        ice: units::below(p.u(348, 2), 3).map(|v| v as u8),
    })
}

/// Type 17: DGNSS broadcast binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct DgnssBroadcast<'a> {
    /// Common header.
    pub header: Header,
    /// Reference station longitude, degrees (1/10 minute resolution).
    pub lon: Option<f64>,
    /// Reference station latitude, degrees.
    pub lat: Option<f64>,
    /// Correction data (RTCM SC-104 words).
    pub data: BitSlice<'a>,
}

pub(super) fn decode_17(p: &Payload, header: Header) -> Result<DgnssBroadcast<'_>, PayloadError> {
    need(p, 17, 80)?;
    Ok(DgnssBroadcast {
        header,
        lon: units::lon_1e1_min(p.i(40, 18)),
        lat: units::lat_1e1_min(p.i(58, 17)),
        data: p.tail(80),
    })
}

/// Type 25: single slot binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleSlotBinary<'a> {
    /// Common header.
    pub header: Header,
    /// Addressee, when addressed.
    pub dest_mmsi: Option<Mmsi>,
    /// Application id (DAC << 6 | FID), when structured.
    pub app_id: Option<u16>,
    /// Data bits.
    pub data: BitSlice<'a>,
}

pub(super) fn decode_25(p: &Payload, header: Header) -> Result<SingleSlotBinary<'_>, PayloadError> {
    need(p, 25, 40)?;
    let (dest_mmsi, app_id, at) = addressing(p, 0)?;
    Ok(SingleSlotBinary {
        header,
        dest_mmsi,
        app_id,
        data: p.tail(at),
    })
}

/// Type 26: multiple slot binary message with communication state.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiSlotBinary<'a> {
    /// Common header.
    pub header: Header,
    /// Addressee, when addressed.
    pub dest_mmsi: Option<Mmsi>,
    /// Application id (DAC << 6 | FID), when structured.
    pub app_id: Option<u16>,
    /// Data bits.
    pub data: BitSlice<'a>,
    /// Radio status (last 20 bits), raw.
    pub radio: u32,
}

pub(super) fn decode_26(p: &Payload, header: Header) -> Result<MultiSlotBinary<'_>, PayloadError> {
    need(p, 26, 60)?;
    let (dest_mmsi, app_id, at) = addressing(p, 20)?;
    let end = p.len_bits() - 20;
    Ok(MultiSlotBinary {
        header,
        dest_mmsi,
        app_id,
        data: p.slice(at, end.saturating_sub(at)),
        radio: p.u(end, 20),
    })
}

/// Destination and application id of types 25/26; returns where the data starts.
fn addressing(
    p: &Payload,
    trailer: usize,
) -> Result<(Option<Mmsi>, Option<u16>, usize), PayloadError> {
    let addressed = p.b(38);
    let structured = p.b(39);
    let mut at = 40;
    let mut dest = None;
    if addressed {
        dest = Some(Mmsi(p.u(at, 30)));
        at += 30;
    }
    let mut app = None;
    if structured {
        app = Some(p.u(at, 16) as u16);
        at += 16;
    }
    if at + trailer > p.len_bits() {
        let t = p.u(0, 6) as u8;
        return Err(PayloadError::TooShort {
            msg_type: t,
            bits: p.len_bits(),
        });
    }
    Ok((dest, app, at))
}
