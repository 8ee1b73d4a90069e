//! Application-specific messages carried by types 6 and 8 that Tidewatch decodes: the
//! international ones of IMO SN.1/Circ.236 and 289 (DAC 1) and those of inland AIS (DAC 200,
//! the European River Information Services standard) that gpsd decodes. Any other DAC/FID, or a
//! known one whose length or content does not validate, keeps its raw bits.
//!
//! Each decoder reads its fields top to bottom in bit order from the start of the whole payload
//! (the offsets of gpsd's AIVDM documentation), and says which lengths it accepts.

use super::units;
use crate::bits::{AisText, Payload};

/// Decoded application-specific payload of a type 6 or 8 message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AppData {
    /// Type 8, DAC 1, FID 31: meteorological and hydrological data (IMO SN.1/Circ.289).
    MeteoHydro(MeteoHydro),
    /// Type 8, DAC 1, FID 11: meteorological and hydrological data (IMO SN/Circ.236, the
    /// predecessor of FID 31: latitude first, no accuracy flag, offset-coded temperatures).
    MeteoHydro236(MeteoHydro),
    /// Type 8, DAC 1, FID 29 and type 6, DAC 1, FID 30: text description (IMO 289).
    Text(AppText),
    /// Type 8, DAC 200, FID 10: inland ship static and voyage related data.
    InlandStatic(InlandStatic),
    /// Type 8, DAC 200, FID 40: inland signal status.
    InlandSignal(InlandSignal),
    /// Type 6, DAC 200, FID 55: inland number of persons on board.
    InlandPersons(InlandPersons),
}

/// The application message of a type 8 payload, when Tidewatch knows the DAC/FID and the
/// content validates.
pub(super) fn decode_8(p: &Payload, dac: u16, fid: u8) -> Option<AppData> {
    match (dac, fid) {
        (1, 11) => meteo_hydro_236(p).map(AppData::MeteoHydro236),
        (1, 29) => text(p, 56).map(AppData::Text),
        (1, 31) => meteo_hydro(p).map(AppData::MeteoHydro),
        (200, 10) => inland_static(p).map(AppData::InlandStatic),
        (200, 40) => inland_signal(p).map(AppData::InlandSignal),
        _ => None,
    }
}

/// The application message of a type 6 payload (see [`decode_8`]).
pub(super) fn decode_6(p: &Payload, dac: u16, fid: u8) -> Option<AppData> {
    match (dac, fid) {
        (1, 30) => text(p, 88).map(AppData::Text),
        (200, 55) => inland_persons(p).map(AppData::InlandPersons),
        _ => None,
    }
}

/// IMO 289 meteorological and hydrological data (type 8, DAC 1, FID 31; IMO 236 FID 11 has the
/// same content). Units as broadcast: knots, degrees true, °C, hPa, metres, nautical miles,
/// seconds, per cent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeteoHydro {
    /// Longitude of the station, degrees.
    pub lon: Option<f64>,
    /// Latitude of the station, degrees.
    pub lat: Option<f64>,
    /// Position accuracy (FID 31 only; false for FID 11).
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
    /// Air pressure, hPa (FID 31: 799 = 799 or less, 1201 = 1201 or more).
    pub pressure_hpa: Option<u16>,
    /// Pressure tendency: 0 steady, 1 decreasing, 2 increasing.
    pub pressure_tendency: Option<u8>,
    /// Visibility is greater than the value given (FID 31 only).
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
    /// Salinity, per mille (FID 31: 50.1 = 50.1 or more).
    pub salinity: Option<f32>,
    /// Ice: 0 no, 1 yes.
    pub ice: Option<u8>,
}

/// A structured met/hydro message must be long enough and carry a sane day, hour and minute
/// (`day_at` is where the three start); otherwise it stays unstructured (gpsd AIVDM:
/// "interpret the message as unstructured").
fn plausible_time(p: &Payload, min_bits: usize, day_at: usize) -> bool {
    p.len_bits() >= min_bits
        && p.u(day_at, 5) <= 31
        && p.u(day_at + 5, 5) <= 24
        && p.u(day_at + 10, 6) <= 60
}

fn tenth(v: u32) -> f32 {
    v as f32 / 10.0
}

fn meteo_hydro(p: &Payload) -> Option<MeteoHydro> {
    if !plausible_time(p, 350, 106) {
        return None;
    }
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

/// IMO 236 met/hydro (DAC 1, FID 11): the FID 31 content without the accuracy and
/// "visibility greater" flags, latitude before longitude, and unsigned fields with offsets
/// (air temperature +60.0 °C, dew point +20.0 °C, pressure +800 hPa, water level +10.0 m,
/// water temperature +10.0 °C, all in tenths); every all-ones value is "not available".
fn meteo_hydro_236(p: &Payload) -> Option<MeteoHydro> {
    if !plausible_time(p, 346, 105) {
        return None;
    }
    // A value of `bits` bits with an offset in tenths: valid up to `max`.
    let offset_tenths =
        |v: u32, max: u32, offset: i32| (v <= max).then(|| (v as i32 - offset) as f32 / 10.0);
    Some(MeteoHydro {
        lat: units::lat_1e3_min(p.i(56, 24)),
        lon: units::lon_1e3_min(p.i(80, 25)),
        accuracy: false,
        day: units::nonzero(p.u(105, 5)).map(|v| v as u8),
        hour: units::below(p.u(110, 5), 24).map(|v| v as u8),
        minute: units::below(p.u(115, 6), 60).map(|v| v as u8),
        wind_speed_knots: units::below(p.u(121, 7), 127).map(|v| v as u8),
        wind_gust_knots: units::below(p.u(128, 7), 127).map(|v| v as u8),
        wind_dir_deg: units::below(p.u(135, 9), 360).map(|v| v as u16),
        wind_gust_dir_deg: units::below(p.u(144, 9), 360).map(|v| v as u16),
        air_temp_c: offset_tenths(p.u(153, 11), 1200, 600),
        humidity_pct: units::below(p.u(164, 7), 101).map(|v| v as u8),
        dew_point_c: offset_tenths(p.u(171, 10), 700, 200),
        pressure_hpa: units::below(p.u(181, 9), 402).map(|v| (v + 800) as u16),
        pressure_tendency: units::below(p.u(190, 2), 3).map(|v| v as u8),
        visibility_greater: false,
        visibility_nm: units::below(p.u(192, 8), 255).map(tenth),
        water_level_m: offset_tenths(p.u(200, 9), 400, 100),
        water_level_trend: units::below(p.u(209, 2), 3).map(|v| v as u8),
        current_speed_knots: units::below(p.u(211, 8), 255).map(tenth),
        current_dir_deg: units::below(p.u(219, 9), 360).map(|v| v as u16),
        current2_speed_knots: units::below(p.u(228, 8), 255).map(tenth),
        current2_dir_deg: units::below(p.u(236, 9), 360).map(|v| v as u16),
        current2_depth_m: units::below(p.u(245, 5), 31).map(|v| v as u8),
        current3_speed_knots: units::below(p.u(250, 8), 255).map(tenth),
        current3_dir_deg: units::below(p.u(258, 9), 360).map(|v| v as u16),
        current3_depth_m: units::below(p.u(267, 5), 31).map(|v| v as u8),
        wave_height_m: units::below(p.u(272, 8), 255).map(tenth),
        wave_period_s: units::below(p.u(280, 6), 61).map(|v| v as u8),
        wave_dir_deg: units::below(p.u(286, 9), 360).map(|v| v as u16),
        swell_height_m: units::below(p.u(295, 8), 255).map(tenth),
        swell_period_s: units::below(p.u(303, 6), 61).map(|v| v as u8),
        swell_dir_deg: units::below(p.u(309, 9), 360).map(|v| v as u16),
        sea_state: units::below(p.u(318, 4), 13).map(|v| v as u8),
        water_temp_c: offset_tenths(p.u(322, 10), 600, 100),
        precipitation: units::below(p.u(332, 3), 7).map(|v| v as u8),
        salinity: units::below(p.u(335, 9), 501).map(tenth),
        ice: units::below(p.u(344, 2), 3).map(|v| v as u8),
    })
}

/// Longest IMO 289 text description: (1008 - 66) / 6 characters.
pub const MAX_APP_TEXT: usize = 157;

/// IMO 289 text description (type 8 FID 29, type 6 FID 30).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppText {
    /// Message linkage id (ties the text to another message), 1-1023; `None` for 0.
    pub linkage: Option<u16>,
    /// The text (six-bit, up to the message end).
    pub text: AisText<MAX_APP_TEXT>,
}

/// A text description whose linkage id starts at `at`; needs the id and one character.
fn text(p: &Payload, at: usize) -> Option<AppText> {
    (p.len_bits() >= at + 16).then(|| AppText {
        linkage: units::nonzero(p.u(at, 10)).map(|v| v as u16),
        text: p.text(at + 10, MAX_APP_TEXT),
    })
}

/// Inland ship static and voyage related data (type 8, DAC 200, FID 10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InlandStatic {
    /// European vessel identification number (ENI), 8 characters.
    pub vin: AisText<8>,
    /// Length of ship or convoy, metres (0.1 m resolution).
    pub length_m: Option<f32>,
    /// Beam of ship or convoy, metres (0.1 m resolution).
    pub beam_m: Option<f32>,
    /// ERI ship or combination type (a four-digit code, 8000-8490 and 1500-1900).
    pub eri_type: Option<u16>,
    /// Hazardous cargo: 0-3 blue cones, 4 B-flag; `None` for 5 (unknown).
    pub hazard: Option<u8>,
    /// Draught, metres (0.01 m resolution).
    pub draught_m: Option<f32>,
    /// 1 unloaded, 2 loaded; `None` for 0 (not available) and 3 (unused).
    pub loaded: Option<u8>,
    /// The speed is of high quality (from a certified sensor).
    pub speed_q: bool,
    /// The course is of high quality.
    pub course_q: bool,
    /// The heading is of high quality.
    pub heading_q: bool,
}

/// Exactly 168 bits and a hazard code of 0-5 (gpsd's test that the message is one).
fn inland_static(p: &Payload) -> Option<InlandStatic> {
    if p.len_bits() != 168 || p.u(141, 3) > 5 {
        return None;
    }
    Some(InlandStatic {
        vin: p.text(56, 8),
        length_m: units::nonzero(p.u(104, 13)).map(tenth),
        beam_m: units::nonzero(p.u(117, 10)).map(tenth),
        eri_type: units::nonzero(p.u(127, 14)).map(|v| v as u16),
        hazard: units::below(p.u(141, 3), 5).map(|v| v as u8),
        draught_m: units::nonzero(p.u(144, 11)).map(|v| v as f32 / 100.0),
        loaded: Some(p.u(155, 2) as u8).filter(|v| (1..=2).contains(v)),
        speed_q: p.b(157),
        course_q: p.b(158),
        heading_q: p.b(159),
    })
}

/// Inland signal status (type 8, DAC 200, FID 40).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InlandSignal {
    /// Longitude of the signal, degrees.
    pub lon: Option<f64>,
    /// Latitude of the signal, degrees.
    pub lat: Option<f64>,
    /// Signal form (1-14; `None` for 0 and 15, unknown).
    pub form: Option<u8>,
    /// Orientation of the signal, degrees (`None` when not available).
    pub facing_deg: Option<u16>,
    /// Direction of impact: 1 upstream, 2 downstream, 3 to the left bank, 4 to the right bank;
    /// `None` for 0.
    pub direction: Option<u8>,
    /// Light status: ten three-bit codes (raw, as broadcast).
    pub status: u32,
}

/// Exactly 168 bits, as gpsd.
fn inland_signal(p: &Payload) -> Option<InlandSignal> {
    if p.len_bits() != 168 {
        return None;
    }
    Some(InlandSignal {
        lon: units::lon_1e4_min(p.i(56, 28)),
        lat: units::lat_1e4_min(p.i(84, 27)),
        form: Some(p.u(111, 4) as u8).filter(|v| (1..=14).contains(v)),
        facing_deg: units::below(p.u(115, 9), 360).map(|v| v as u16),
        direction: units::nonzero(p.u(124, 3)).map(|v| v as u8),
        status: p.u(127, 30),
    })
}

/// Inland number of persons on board (type 6, DAC 200, FID 55).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlandPersons {
    /// Crew members, 0-254.
    pub crew: Option<u8>,
    /// Passengers, 0-8190.
    pub passengers: Option<u16>,
    /// Shipboard personnel, 0-254.
    pub personnel: Option<u8>,
}

/// Exactly 168 bits, as gpsd.
fn inland_persons(p: &Payload) -> Option<InlandPersons> {
    if p.len_bits() != 168 {
        return None;
    }
    Some(InlandPersons {
        crew: units::below(p.u(88, 8), 255).map(|v| v as u8),
        passengers: units::below(p.u(96, 13), 8191).map(|v| v as u16),
        personnel: units::below(p.u(109, 8), 255).map(|v| v as u8),
    })
}
