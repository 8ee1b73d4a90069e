//! Application-specific messages carried by types 6 and 8 that Tidewatch decodes: the
//! international ones of IMO SN/Circ.236 and SN.1/Circ.289 (DAC 1) and those of inland AIS
//! (DAC 200, the European River Information Services standard) that gpsd decodes:
//!
//! | type | DAC | FID |
//! |---|---|---|
//! | 6 | 1 | 12 dangerous cargo (236), 14 tidal window (236), 15 air draught, 16 persons on board, 18 clearance time to enter port, 20 berthing data, 25 dangerous cargo (289), 28 route, 30 text, 32 tidal window (289) |
//! | 8 | 1 | 11 met/hydro (236), 13 fairway closed, 15 air draught, 16 persons on board (236), 17 VTS targets, 19 marine traffic signal, 27 route, 29 text, 31 met/hydro (289) |
//! | 6 | 200 | 21 ETA at lock/bridge/terminal, 22 RTA, 55 persons on board |
//! | 8 | 200 | 10 ship static and voyage data, 23 EMMA warning, 24 water levels, 40 signal status |
//!
//! Any other DAC/FID, or a known one whose length or content does not validate (a time with
//! month 13, hour 25 or minute 61; a partial array element), keeps its raw bits. Arrays hold
//! whole elements from inside the payload: up to 7 bits after the last are padding.
//!
//! Each decoder reads its fields top to bottom in bit order from the start of the whole payload
//! (the offsets of gpsd's AIVDM documentation), and says which lengths it accepts. Where gpsd
//! reads another layout than the standard's, the standard wins: IMO 289's VTS targets are 120
//! bits (an 8-bit speed), the air draught and the persons count of a type 6 follow its
//! destination, and IMO 236's tidal window positions are in 1/10 000 minute.

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
    /// Type 6, DAC 1, FID 12: dangerous cargo indication (IMO 236).
    DangerousCargo236(DangerousCargo236),
    /// Type 6, DAC 1, FID 14: tidal window (IMO 236; positions in 1/10 000 minute).
    TidalWindow236(TidalWindow),
    /// Type 6 or 8, DAC 1, FID 15: extended ship static and voyage data, the air draught
    /// (IMO 236).
    AirDraught(AirDraught),
    /// Type 6 or 8, DAC 1, FID 16: number of persons on board (IMO 289 addressed, IMO 236
    /// broadcast).
    PersonsOnBoard(PersonsOnBoard),
    /// Type 6, DAC 1, FID 18: clearance time to enter port (IMO 289).
    ClearanceTime(ClearanceTime),
    /// Type 6, DAC 1, FID 20: berthing data (IMO 289).
    Berthing(Berthing),
    /// Type 6, DAC 1, FID 25: dangerous cargo indication (IMO 289).
    DangerousCargo(DangerousCargo),
    /// Type 6, DAC 1, FID 28 and type 8, DAC 1, FID 27: route information (IMO 289).
    Route(Route),
    /// Type 6, DAC 1, FID 32: tidal window (IMO 289; positions in 1/1000 minute).
    TidalWindow(TidalWindow),
    /// Type 8, DAC 1, FID 13: fairway closed (IMO 236).
    FairwayClosed(FairwayClosed),
    /// Type 8, DAC 1, FID 17: VTS-generated or synthetic targets (IMO 289).
    VtsTargets(VtsTargets),
    /// Type 8, DAC 1, FID 19: marine traffic signal (IMO 289).
    TrafficSignal(TrafficSignal),
    /// Type 6, DAC 200, FID 21: inland ETA at a lock, bridge or terminal.
    InlandEta(InlandSlot),
    /// Type 6, DAC 200, FID 22: inland RTA (requested time of arrival) at a lock, bridge or
    /// terminal.
    InlandRta(InlandSlot),
    /// Type 8, DAC 200, FID 23: inland EMMA weather warning.
    EmmaWarning(EmmaWarning),
    /// Type 8, DAC 200, FID 24: inland water levels.
    WaterLevels(WaterLevels),
}

/// The application message of a type 8 payload, when Tidewatch knows the DAC/FID and the
/// content validates.
pub(super) fn decode_8(p: &Payload, dac: u16, fid: u8) -> Option<AppData> {
    match (dac, fid) {
        (1, 11) => meteo_hydro_236(p).map(AppData::MeteoHydro236),
        (1, 29) => text(p, 56).map(AppData::Text),
        (1, 13) => fairway_closed(p).map(AppData::FairwayClosed),
        (1, 15) => air_draught(p, 56).map(AppData::AirDraught),
        (1, 16) => persons_on_board(p, 56, 69..=72).map(AppData::PersonsOnBoard),
        (1, 17) => vts_targets(p).map(AppData::VtsTargets),
        (1, 19) => traffic_signal(p).map(AppData::TrafficSignal),
        (1, 27) => route(p, 56).map(AppData::Route),
        (1, 31) => meteo_hydro(p).map(AppData::MeteoHydro),
        (200, 10) => inland_static(p).map(AppData::InlandStatic),
        (200, 23) => emma_warning(p).map(AppData::EmmaWarning),
        (200, 24) => water_levels(p).map(AppData::WaterLevels),
        (200, 40) => inland_signal(p).map(AppData::InlandSignal),
        _ => None,
    }
}

/// The application message of a type 6 payload (see [`decode_8`]).
pub(super) fn decode_6(p: &Payload, dac: u16, fid: u8) -> Option<AppData> {
    match (dac, fid) {
        (1, 12) => dangerous_cargo_236(p).map(AppData::DangerousCargo236),
        (1, 14) => tidal_window(p, Tidal::Imo236).map(AppData::TidalWindow236),
        (1, 15) => air_draught(p, 88).map(AppData::AirDraught),
        (1, 16) => persons_on_board(p, 88, 101..=136).map(AppData::PersonsOnBoard),
        (1, 18) => clearance_time(p).map(AppData::ClearanceTime),
        (1, 20) => berthing(p).map(AppData::Berthing),
        (1, 25) => dangerous_cargo(p).map(AppData::DangerousCargo),
        (1, 28) => route(p, 88).map(AppData::Route),
        (1, 30) => text(p, 88).map(AppData::Text),
        (1, 32) => tidal_window(p, Tidal::Imo289).map(AppData::TidalWindow),
        (200, 21) => inland_slot(p, 248).map(AppData::InlandEta),
        (200, 22) => inland_slot(p, 232).map(AppData::InlandRta),
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

/// A UTC month, day, hour and minute as broadcast; each part is `None` when not available
/// (month and day 0, hour 24, minute 60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppTime {
    /// Month, 1-12.
    pub month: Option<u8>,
    /// Day of month, 1-31.
    pub day: Option<u8>,
    /// Hour, 0-23.
    pub hour: Option<u8>,
    /// Minute, 0-59.
    pub minute: Option<u8>,
}

impl AppTime {
    /// `None` (the message stays raw) for values no sender can mean: month 13-15, hour 25-31,
    /// minute 61-63 (gpsd AIVDM: "decoders should perform range validation on the structured
    /// fields").
    fn new(month: u32, day: u32, hour: u32, minute: u32) -> Option<AppTime> {
        let (hour, minute) = hour_minute(hour, minute)?;
        (month <= 12 && day <= 31).then(|| AppTime {
            month: units::nonzero(month).map(|v| v as u8),
            day: units::nonzero(day).map(|v| v as u8),
            hour,
            minute,
        })
    }

    /// Month (4 bits), day (5), hour (5) and minute (6) from bit `at`.
    fn read(p: &Payload, at: usize) -> Option<AppTime> {
        AppTime::new(p.u(at, 4), p.u(at + 4, 5), p.u(at + 9, 5), p.u(at + 14, 6))
    }
}

/// A UTC hour (24 not available) and minute (60 not available); `None` (the message stays
/// raw) for hours 25-31 and minutes 61-63.
fn hour_minute(hour: u32, minute: u32) -> Option<(Option<u8>, Option<u8>)> {
    (hour <= 24 && minute <= 60).then(|| {
        (
            units::below(hour, 24).map(|v| v as u8),
            units::below(minute, 60).map(|v| v as u8),
        )
    })
}

/// A message linkage id (10 bits; 0 is not available).
fn linkage(p: &Payload, at: usize) -> Option<u16> {
    units::nonzero(p.u(at, 10)).map(|v| v as u16)
}

/// How many whole elements of `size` bits follow bit `base` in a payload of `len` bits: at
/// least one and at most `max`, with fewer than 8 bits left over (a sender pads to a byte).
fn elements(len: usize, base: usize, size: usize, max: usize) -> Option<usize> {
    let rest = len.checked_sub(base)?;
    let n = rest / size;
    ((1..=max).contains(&n) && rest - n * size < 8).then_some(n)
}

/// IMO 236 dangerous cargo indication (type 6, DAC 1, FID 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DangerousCargo236 {
    /// Last port of call (UN/LOCODE).
    pub last_port: AisText<5>,
    /// Departure from the last port (UTC).
    pub departure: AppTime,
    /// Next port of call (UN/LOCODE).
    pub next_port: AisText<5>,
    /// ETA at the next port (UTC).
    pub eta: AppTime,
    /// Main dangerous good.
    pub dangerous: AisText<20>,
    /// IMD category.
    pub imd_category: AisText<4>,
    /// UN number, 1-3363.
    pub un_number: Option<u16>,
    /// Amount of cargo, in `unit`s.
    pub amount: Option<u16>,
    /// Unit of the amount: 1 kg, 2 tonnes, 3 thousand tonnes.
    pub unit: Option<u8>,
}

/// 360 bits (a sender may drop the last three spare bits).
fn dangerous_cargo_236(p: &Payload) -> Option<DangerousCargo236> {
    if !(357..=360).contains(&p.len_bits()) {
        return None;
    }
    Some(DangerousCargo236 {
        last_port: p.text(88, 5),
        departure: AppTime::read(p, 118)?,
        next_port: p.text(138, 5),
        eta: AppTime::read(p, 168)?,
        dangerous: p.text(188, 20),
        imd_category: p.text(308, 4),
        un_number: units::nonzero(p.u(332, 13)).map(|v| v as u16),
        amount: units::nonzero(p.u(345, 10)).map(|v| v as u16),
        unit: units::nonzero(p.u(355, 2)).map(|v| v as u8),
    })
}

/// One prediction of a tidal window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TidalEntry {
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Window opens, UTC hour.
    pub from_hour: Option<u8>,
    /// Window opens, UTC minute.
    pub from_minute: Option<u8>,
    /// Window closes, UTC hour.
    pub to_hour: Option<u8>,
    /// Window closes, UTC minute.
    pub to_minute: Option<u8>,
    /// Predicted current direction, degrees true.
    pub current_dir_deg: Option<u16>,
    /// Predicted current speed, knots (0.1 kn resolution; IMO 289: 25.1 = 25.1 kn or more).
    pub current_speed_knots: Option<f32>,
}

/// Tidal window (type 6, DAC 1, FID 14 of IMO 236 and FID 32 of IMO 289): one to three
/// predictions, as many as the payload holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TidalWindow {
    /// UTC month.
    pub month: Option<u8>,
    /// UTC day.
    pub day: Option<u8>,
    entries: [TidalEntry; 3],
    len: u8,
}

impl TidalWindow {
    /// The predictions, in broadcast order.
    pub fn windows(&self) -> &[TidalEntry] {
        &self.entries[..self.len as usize]
    }
}

/// The two layouts of the tidal window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tidal {
    /// FID 14: latitude (27 bits) before longitude (28), in 1/10 000 minute; 93-bit entries
    /// with a 7-bit current speed.
    Imo236,
    /// FID 32: longitude (25 bits) before latitude (24), in 1/1000 minute; 88-bit entries with
    /// an 8-bit current speed.
    Imo289,
}

fn tidal_window(p: &Payload, layout: Tidal) -> Option<TidalWindow> {
    let size = match layout {
        Tidal::Imo236 => 93,
        Tidal::Imo289 => 88,
    };
    let n = elements(p.len_bits(), 97, size, 3)?;
    let (month, day) = (p.u(88, 4), p.u(92, 5));
    if month > 12 {
        return None;
    }
    let mut entries = [TidalEntry::default(); 3];
    for (k, e) in entries.iter_mut().enumerate().take(n) {
        let a = 97 + k * size;
        let (lon, lat, t) = match layout {
            Tidal::Imo236 => (
                units::lon_1e4_min(p.i(a + 27, 28)),
                units::lat_1e4_min(p.i(a, 27)),
                a + 55,
            ),
            Tidal::Imo289 => (
                units::lon_1e3_min(p.i(a, 25)),
                units::lat_1e3_min(p.i(a + 25, 24)),
                a + 49,
            ),
        };
        let (from_hour, from_minute) = hour_minute(p.u(t, 5), p.u(t + 5, 6))?;
        let (to_hour, to_minute) = hour_minute(p.u(t + 11, 5), p.u(t + 16, 6))?;
        let speed = match layout {
            Tidal::Imo236 => units::below(p.u(t + 31, 7), 127),
            Tidal::Imo289 => units::below(p.u(t + 31, 8), 252),
        };
        *e = TidalEntry {
            lon,
            lat,
            from_hour,
            from_minute,
            to_hour,
            to_minute,
            current_dir_deg: units::below(p.u(t + 22, 9), 360).map(|v| v as u16),
            current_speed_knots: speed.map(tenth),
        };
    }
    Some(TidalWindow {
        month: units::nonzero(month).map(|v| v as u8),
        day: units::nonzero(day).map(|v| v as u8),
        entries,
        len: n as u8,
    })
}

/// IMO 236 extended ship static and voyage related data (DAC 1, FID 15): the air draught.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AirDraught {
    /// Height over the waterline, metres (0.1 m resolution; 204.7 = 204.7 m or more).
    pub air_draught_m: Option<f32>,
}

/// The 11-bit air draught at `at` and five spare bits (type 8: at 56, 72 bits; type 6: after
/// the destination, at 88).
fn air_draught(p: &Payload, at: usize) -> Option<AirDraught> {
    (at + 11..=at + 16)
        .contains(&p.len_bits())
        .then(|| AirDraught {
            air_draught_m: units::nonzero(p.u(at, 11)).map(tenth),
        })
}

/// Number of persons on board (DAC 1, FID 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonsOnBoard {
    /// Persons on board including the crew (8191 = 8191 or more).
    pub persons: Option<u16>,
}

/// The 13-bit count at `at` when the payload length is one of `lens`: IMO 289's addressed
/// message (type 6, 136 bits, count at 88) or IMO 236's (72 bits with no destination, so a
/// type 8 layout: count at 56).
fn persons_on_board(
    p: &Payload,
    at: usize,
    lens: std::ops::RangeInclusive<usize>,
) -> Option<PersonsOnBoard> {
    lens.contains(&p.len_bits()).then(|| PersonsOnBoard {
        persons: units::nonzero(p.u(at, 13)).map(|v| v as u16),
    })
}

/// IMO 289 clearance time to enter port (type 6, DAC 1, FID 18).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClearanceTime {
    /// Message linkage id.
    pub linkage: Option<u16>,
    /// Clearance time to enter port (UTC).
    pub time: AppTime,
    /// Name of the port and berth.
    pub port_berth: AisText<20>,
    /// Destination (UN/LOCODE).
    pub destination: AisText<5>,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
}

/// 360 bits (the last 43 are spare and may be dropped).
fn clearance_time(p: &Payload) -> Option<ClearanceTime> {
    if !(317..=360).contains(&p.len_bits()) {
        return None;
    }
    Some(ClearanceTime {
        linkage: linkage(p, 88),
        time: AppTime::read(p, 98)?,
        port_berth: p.text(118, 20),
        destination: p.text(238, 5),
        lon: units::lon_1e3_min(p.i(268, 25)),
        lat: units::lat_1e3_min(p.i(293, 24)),
    })
}

/// Number of port services listed by the berthing data message.
pub const BERTH_SERVICES: usize = 26;

/// IMO 289 berthing data (type 6, DAC 1, FID 20).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Berthing {
    /// Message linkage id.
    pub linkage: Option<u16>,
    /// Berth length, metres (511 = 511 m or more).
    pub berth_length_m: Option<u16>,
    /// Water depth at the berth, metres (0.1 m resolution; 25.5 = 25.5 m or more).
    pub berth_depth_m: Option<f32>,
    /// Mooring position: 1 port side to, 2 starboard side to, 3 Mediterranean, 4 buoy,
    /// 5 anchorage.
    pub mooring_position: Option<u8>,
    /// Berthing time (UTC).
    pub time: AppTime,
    /// The services below are known.
    pub services_known: bool,
    /// Service status codes in broadcast order (agent, fuel, chandler, ...): 0 not available
    /// or requested, 1 available, 2 no data or unknown, 3 not to be used.
    pub services: [u8; BERTH_SERVICES],
    /// Name of the berth.
    pub berth_name: AisText<20>,
    /// Longitude of the berth's centre, degrees.
    pub lon: Option<f64>,
    /// Latitude of the berth's centre, degrees.
    pub lat: Option<f64>,
}

/// Exactly 360 bits (the layout has no spare bits).
fn berthing(p: &Payload) -> Option<Berthing> {
    if p.len_bits() != 360 {
        return None;
    }
    let mut services = [0u8; BERTH_SERVICES];
    for (k, s) in services.iter_mut().enumerate() {
        *s = p.u(139 + 2 * k, 2) as u8;
    }
    Some(Berthing {
        linkage: linkage(p, 88),
        berth_length_m: units::nonzero(p.u(98, 9)).map(|v| v as u16),
        berth_depth_m: units::nonzero(p.u(107, 8)).map(tenth),
        mooring_position: units::nonzero(p.u(115, 3)).map(|v| v as u8),
        time: AppTime::read(p, 118)?,
        services_known: p.b(138),
        services,
        berth_name: p.text(191, 20),
        lon: units::lon_1e3_min(p.i(311, 25)),
        lat: units::lat_1e3_min(p.i(336, 24)),
    })
}

/// One cargo of the IMO 289 dangerous cargo indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cargo {
    /// Code under which the cargo is carried: 1 IMDG, 2 IGC, 3 BC (IMSBC), 4 MARPOL Annex I,
    /// 5 MARPOL Annex II (IBC), 6 regional use.
    pub code: Option<u8>,
    /// The cargo within that code (a class, UN number or category, as the code says), raw.
    pub subtype: Option<u16>,
}

/// Most cargos one message lists.
pub const MAX_CARGOS: usize = 28;

/// IMO 289 dangerous cargo indication (type 6, DAC 1, FID 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DangerousCargo {
    /// Unit of the amount: 1 kg, 2 tonnes, 3 thousand tonnes.
    pub unit: Option<u8>,
    /// Total amount of dangerous cargo, in `unit`s.
    pub amount: Option<u16>,
    cargos: [Cargo; MAX_CARGOS],
    len: u8,
}

impl DangerousCargo {
    /// The cargos, as many as the payload holds (1-28).
    pub fn cargos(&self) -> &[Cargo] {
        &self.cargos[..self.len as usize]
    }
}

fn dangerous_cargo(p: &Payload) -> Option<DangerousCargo> {
    let n = elements(p.len_bits(), 100, 17, MAX_CARGOS)?;
    let mut cargos = [Cargo::default(); MAX_CARGOS];
    for (k, c) in cargos.iter_mut().enumerate().take(n) {
        let a = 100 + 17 * k;
        *c = Cargo {
            code: units::nonzero(p.u(a, 4)).map(|v| v as u8),
            subtype: units::nonzero(p.u(a + 4, 13)).map(|v| v as u16),
        };
    }
    Some(DangerousCargo {
        unit: units::nonzero(p.u(88, 2)).map(|v| v as u8),
        amount: units::nonzero(p.u(90, 10)).map(|v| v as u16),
        cargos,
        len: n as u8,
    })
}

/// A waypoint as broadcast (1/10 000 minute); read it with [`Waypoint::lon`] and
/// [`Waypoint::lat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waypoint {
    lon: i32,
    lat: i32,
}

impl Waypoint {
    /// Longitude, degrees.
    pub fn lon(&self) -> Option<f64> {
        units::lon_1e4_min(self.lon)
    }

    /// Latitude, degrees.
    pub fn lat(&self) -> Option<f64> {
        units::lat_1e4_min(self.lat)
    }
}

/// Most waypoints a route carries.
pub const MAX_WAYPOINTS: usize = 16;

/// IMO 289 route information (type 6, DAC 1, FID 28 addressed; type 8, DAC 1, FID 27
/// broadcast).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Route {
    /// Message linkage id.
    pub linkage: Option<u16>,
    /// Sender class: 0 ship, 1 authority (2-7 reserved), as broadcast.
    pub sender: u8,
    /// Route type: 0 undefined, 1 mandatory, 2 recommended, 3 alternative, 4 recommended
    /// through ice, 5 ship route plan, 31 cancel the route of this linkage id; as broadcast.
    pub route_type: u8,
    /// Start of validity (UTC).
    pub start: AppTime,
    /// Minutes from the start (0 cancels the route).
    pub duration_min: Option<u32>,
    waypoints: [Waypoint; MAX_WAYPOINTS],
    len: u8,
}

impl Route {
    /// The waypoints (1-16).
    pub fn waypoints(&self) -> &[Waypoint] {
        &self.waypoints[..self.len as usize]
    }
}

/// The route whose linkage id is at `at` (88 addressed, 56 broadcast). The waypoint count
/// (1-16) must fit the payload, with fewer than 8 bits left over.
fn route(p: &Payload, at: usize) -> Option<Route> {
    let base = at + 61;
    let count = p.u(at + 56, 5) as usize;
    if count == 0 || elements(p.len_bits(), base, 55, MAX_WAYPOINTS)? != count {
        return None;
    }
    let mut waypoints = [Waypoint::default(); MAX_WAYPOINTS];
    for (k, w) in waypoints.iter_mut().enumerate().take(count) {
        let a = base + 55 * k;
        *w = Waypoint {
            lon: p.i(a, 28),
            lat: p.i(a + 28, 27),
        };
    }
    Some(Route {
        linkage: linkage(p, at),
        sender: p.u(at + 10, 3) as u8,
        route_type: p.u(at + 13, 5) as u8,
        start: AppTime::read(p, at + 18)?,
        duration_min: units::below(p.u(at + 38, 18), 262_143),
        waypoints,
        len: count as u8,
    })
}

/// IMO 236 fairway closed (type 8, DAC 1, FID 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FairwayClosed {
    /// Reason for closing.
    pub reason: AisText<20>,
    /// Location the closing starts from.
    pub close_from: AisText<20>,
    /// Location the closing extends to.
    pub close_to: AisText<20>,
    /// Radius extension, 0-1000 in `radius_unit`s.
    pub radius: Option<u16>,
    /// Unit of the radius: 0 m, 1 km, 2 nautical miles, 3 cables.
    pub radius_unit: u8,
    /// Closed from (UTC).
    pub from: AppTime,
    /// Closed until (UTC).
    pub to: AppTime,
}

/// 472 bits (the last four spare bits may be dropped). Each time is day, month, hour,
/// minute in that order.
fn fairway_closed(p: &Payload) -> Option<FairwayClosed> {
    if !(468..=472).contains(&p.len_bits()) {
        return None;
    }
    let time =
        |at: usize| AppTime::new(p.u(at + 5, 4), p.u(at, 5), p.u(at + 9, 5), p.u(at + 14, 6));
    Some(FairwayClosed {
        reason: p.text(56, 20),
        close_from: p.text(176, 20),
        close_to: p.text(296, 20),
        radius: units::below(p.u(416, 10), 1001).map(|v| v as u16),
        radius_unit: p.u(426, 2) as u8,
        from: time(428)?,
        to: time(448)?,
    })
}

/// Who a VTS target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetId {
    /// Identifier type 0: an MMSI (the 42-bit field as a number).
    Mmsi(u64),
    /// Identifier type 1: an IMO number.
    Imo(u64),
    /// Identifier type 2: a call sign.
    CallSign(AisText<7>),
    /// Identifier type 3: other (six-bit text; empty when unknown).
    Other(AisText<7>),
}

impl Default for TargetId {
    fn default() -> Self {
        TargetId::Other(AisText::default())
    }
}

/// One VTS-generated or synthetic target; the position as broadcast (1/1000 minute), read
/// with [`VtsTarget::lon`] and [`VtsTarget::lat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VtsTarget {
    /// The target's identity.
    pub id: TargetId,
    lat: i32,
    lon: i32,
    /// Course over ground, degrees.
    pub course_deg: Option<u16>,
    /// UTC second of the report.
    pub second: Option<u8>,
    /// Speed over ground, knots (1 kn resolution).
    pub speed_knots: Option<u8>,
}

impl VtsTarget {
    /// Longitude, degrees.
    pub fn lon(&self) -> Option<f64> {
        units::lon_1e3_min(self.lon)
    }

    /// Latitude, degrees.
    pub fn lat(&self) -> Option<f64> {
        units::lat_1e3_min(self.lat)
    }
}

/// IMO 289 VTS-generated/synthetic targets (type 8, DAC 1, FID 17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VtsTargets {
    targets: [VtsTarget; 4],
    len: u8,
}

impl VtsTargets {
    /// The targets (1-4).
    pub fn targets(&self) -> &[VtsTarget] {
        &self.targets[..self.len as usize]
    }
}

/// One to four 120-bit targets (IMO 289 Table 6.2: speed over ground is 8 bits, the message
/// 176-536 bits; gpsd reads a 10-bit speed and 122-bit targets).
fn vts_targets(p: &Payload) -> Option<VtsTargets> {
    let n = elements(p.len_bits(), 56, 120, 4)?;
    let mut targets = [VtsTarget::default(); 4];
    for (k, t) in targets.iter_mut().enumerate().take(n) {
        let a = 56 + 120 * k;
        let number = (u64::from(p.u(a + 2, 10)) << 32) | u64::from(p.u(a + 12, 32));
        *t = VtsTarget {
            id: match p.u(a, 2) {
                0 => TargetId::Mmsi(number),
                1 => TargetId::Imo(number),
                2 => TargetId::CallSign(p.text(a + 2, 7)),
                _ => TargetId::Other(p.text(a + 2, 7)),
            },
            lat: p.i(a + 48, 24),
            lon: p.i(a + 72, 25),
            course_deg: units::below(p.u(a + 97, 9), 360).map(|v| v as u16),
            second: units::below(p.u(a + 106, 6), 60).map(|v| v as u8),
            speed_knots: units::below(p.u(a + 112, 8), 255).map(|v| v as u8),
        };
    }
    Some(VtsTargets {
        targets,
        len: n as u8,
    })
}

/// IMO 289 marine traffic signal (type 8, DAC 1, FID 19).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficSignal {
    /// Message linkage id.
    pub linkage: Option<u16>,
    /// Name of the signal station.
    pub station: AisText<20>,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Status of the signal: 1 regular service, 2 irregular service.
    pub status: Option<u8>,
    /// Signal in service (1-7 IALA port traffic signals, 8-13 Japanese signals).
    pub signal: Option<u8>,
    /// UTC hour of the signal.
    pub hour: Option<u8>,
    /// UTC minute of the signal.
    pub minute: Option<u8>,
    /// Expected next signal.
    pub next_signal: Option<u8>,
}

/// 360 bits (the last 102 are spare and may be dropped).
fn traffic_signal(p: &Payload) -> Option<TrafficSignal> {
    if !(258..=360).contains(&p.len_bits()) {
        return None;
    }
    let (hour, minute) = hour_minute(p.u(242, 5), p.u(247, 6))?;
    Some(TrafficSignal {
        linkage: linkage(p, 56),
        station: p.text(66, 20),
        lon: units::lon_1e3_min(p.i(186, 25)),
        lat: units::lat_1e3_min(p.i(211, 24)),
        status: units::nonzero(p.u(235, 2)).map(|v| v as u8),
        signal: units::nonzero(p.u(237, 5)).map(|v| v as u8),
        hour,
        minute,
        next_signal: units::nonzero(p.u(253, 5)).map(|v| v as u8),
    })
}

/// Inland ETA (type 6, DAC 200, FID 21) or RTA (FID 22) at a lock, bridge or terminal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InlandSlot {
    /// UN country code.
    pub country: AisText<2>,
    /// UN/LOCODE (the location part).
    pub locode: AisText<3>,
    /// Fairway section number.
    pub section: AisText<5>,
    /// Terminal code.
    pub terminal: AisText<5>,
    /// Fairway hectometre.
    pub hectometre: AisText<5>,
    /// ETA (FID 21) or RTA (FID 22).
    pub time: AppTime,
    /// FID 21: number of assisting tugs, 0-6.
    pub tugs: Option<u8>,
    /// FID 21: air draught, metres (0.01 m resolution).
    pub air_draught_m: Option<f32>,
    /// FID 22: lock/bridge/terminal status: 0 operational, 1 limited operation, 2 out of
    /// order.
    pub status: Option<u8>,
}

/// Exactly `len` bits (gpsd): 248 for the ETA, 232 for the RTA.
fn inland_slot(p: &Payload, len: usize) -> Option<InlandSlot> {
    if p.len_bits() != len {
        return None;
    }
    let eta = len == 248;
    Some(InlandSlot {
        country: p.text(88, 2),
        locode: p.text(100, 3),
        section: p.text(118, 5),
        terminal: p.text(148, 5),
        hectometre: p.text(178, 5),
        time: AppTime::read(p, 208)?,
        tugs: eta
            .then(|| units::below(p.u(228, 3), 7).map(|v| v as u8))
            .flatten(),
        air_draught_m: eta
            .then(|| units::nonzero(p.u(231, 12)).map(|v| v as f32 / 100.0))
            .flatten(),
        status: (!eta)
            .then(|| units::below(p.u(228, 2), 3).map(|v| v as u8))
            .flatten(),
    })
}

/// Inland EMMA warning (type 8, DAC 200, FID 23): a weather warning for a stretch of
/// waterway. The codes are kept as broadcast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmmaWarning {
    /// Start year, two digits (20YY).
    pub start_year: Option<u8>,
    /// Start of validity (UTC).
    pub start: AppTime,
    /// End year, two digits.
    pub end_year: Option<u8>,
    /// End of validity (UTC).
    pub end: AppTime,
    /// Longitude of the start of the fairway section, degrees.
    pub start_lon: Option<f64>,
    /// Latitude of the start of the fairway section, degrees.
    pub start_lat: Option<f64>,
    /// Longitude of the end of the fairway section, degrees.
    pub end_lon: Option<f64>,
    /// Latitude of the end of the fairway section, degrees.
    pub end_lat: Option<f64>,
    /// Type of weather warning (1 wind, 2 rain, 3 snow and ice, 4 thunderstorm, 5 fog, 6 low
    /// temperature, 7 high temperature, 8 flood, 9 forest fire; 10-15 as broadcast).
    pub weather_type: Option<u8>,
    /// Minimum value (of the warning's quantity), as broadcast.
    pub min: i16,
    /// Maximum value, as broadcast.
    pub max: i16,
    /// Classification (intensity) of the warning: 0 slight, 1 medium, 2 strong (3 as
    /// broadcast).
    pub intensity: u8,
    /// Wind direction (1 north, 2 north-east, ... 8 north-west; 9-15 as broadcast).
    pub wind: Option<u8>,
}

/// Exactly 256 bits (gpsd).
fn emma_warning(p: &Payload) -> Option<EmmaWarning> {
    if p.len_bits() != 256 {
        return None;
    }
    // Dates first (year, month, day for the start, then the end), then the two times.
    let start = AppTime::new(p.u(64, 4), p.u(68, 5), p.u(90, 5), p.u(95, 6))?;
    let end = AppTime::new(p.u(81, 4), p.u(85, 5), p.u(101, 5), p.u(106, 6))?;
    Some(EmmaWarning {
        start_year: units::nonzero(p.u(56, 8)).map(|v| v as u8),
        start,
        end_year: units::nonzero(p.u(73, 8)).map(|v| v as u8),
        end,
        start_lon: units::lon_1e4_min(p.i(112, 28)),
        start_lat: units::lat_1e4_min(p.i(140, 27)),
        end_lon: units::lon_1e4_min(p.i(167, 28)),
        end_lat: units::lat_1e4_min(p.i(195, 27)),
        weather_type: units::nonzero(p.u(222, 4)).map(|v| v as u8),
        min: p.i(226, 9) as i16,
        max: p.i(235, 9) as i16,
        intensity: p.u(244, 2) as u8,
        wind: units::nonzero(p.u(246, 4)).map(|v| v as u8),
    })
}

/// One gauge of the inland water level message.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gauge {
    /// Gauge id (`None` for 0: no gauge in this slot).
    pub id: Option<u16>,
    /// Water level, metres (0.01 m resolution), as broadcast.
    pub level_m: f32,
}

/// Inland water levels (type 8, DAC 200, FID 24).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaterLevels {
    /// UN country code.
    pub country: AisText<2>,
    /// The four gauges of the message.
    pub gauges: [Gauge; 4],
}

/// Exactly 168 bits (gpsd): a country and four 25-bit gauges (id 11 bits, level 14 bits
/// signed, in centimetres).
fn water_levels(p: &Payload) -> Option<WaterLevels> {
    if p.len_bits() != 168 {
        return None;
    }
    let mut gauges = [Gauge::default(); 4];
    for (k, g) in gauges.iter_mut().enumerate() {
        let a = 68 + 25 * k;
        *g = Gauge {
            id: units::nonzero(p.u(a, 11)).map(|v| v as u16),
            level_m: p.i(a + 11, 14) as f32 / 100.0,
        };
    }
    Some(WaterLevels {
        country: p.text(56, 2),
        gauges,
    })
}
