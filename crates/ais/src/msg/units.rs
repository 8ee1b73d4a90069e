//! The one place where raw ITU-R M.1371 field values become units, and where every
//! "not available" sentinel (lat 91, lon 181, SOG 1023, COG 3600, heading 511, ROT -128,
//! second 60, ...) becomes `None`. Out-of-range values that cannot be true (|lat| > 90,
//! COG 3601..4095, heading 360..510) also become `None`.

/// Latitude from a field in 1/10000 minute (types 1-3, 4, 9, 18, 19, 21).
#[inline]
pub(crate) fn lat_1e4_min(raw: i32) -> Option<f64> {
    degrees(raw, 600_000.0, 90.0)
}

/// Longitude from a field in 1/10000 minute.
#[inline]
pub(crate) fn lon_1e4_min(raw: i32) -> Option<f64> {
    degrees(raw, 600_000.0, 180.0)
}

/// Latitude from a field in 1/1000 minute (IMO 289 binary messages).
pub(crate) fn lat_1e3_min(raw: i32) -> Option<f64> {
    degrees(raw, 60_000.0, 90.0)
}

/// Longitude from a field in 1/1000 minute.
pub(crate) fn lon_1e3_min(raw: i32) -> Option<f64> {
    degrees(raw, 60_000.0, 180.0)
}

/// Latitude from a field in 1/10 minute (types 17, 22, 23, 27).
pub(crate) fn lat_1e1_min(raw: i32) -> Option<f64> {
    degrees(raw, 600.0, 90.0)
}

/// Longitude from a field in 1/10 minute.
pub(crate) fn lon_1e1_min(raw: i32) -> Option<f64> {
    degrees(raw, 600.0, 180.0)
}

/// Degrees from a raw angle. Multiplies by the reciprocal (a division costs ~15 cycles on the
/// hot path); the result may differ from `raw / per_degree` in the last bit only, which never
/// changes a value printed with six decimals (the seventh decimal of k/600000 is never a 5).
#[inline]
fn degrees(raw: i32, per_degree: f64, limit: f64) -> Option<f64> {
    let limit_raw = (limit * per_degree) as i64;
    let r = raw as i64;
    if (-limit_raw..=limit_raw).contains(&r) {
        Some(raw as f64 * (1.0 / per_degree))
    } else {
        None
    }
}

/// Speed over ground in 0.1 kn: 1023 is not available; 1022 means 102.2 kn or more.
#[inline]
pub(crate) fn sog_tenth_knots(raw: u32) -> Option<f32> {
    (raw < 1023).then(|| raw as f32 / 10.0)
}

/// Course over ground in 0.1 degree: 3600 is not available, above is invalid.
#[inline]
pub(crate) fn cog_tenth_deg(raw: u32) -> Option<f32> {
    (raw < 3600).then(|| raw as f32 / 10.0)
}

/// True heading in degrees: 511 is not available, 360..=510 invalid.
#[inline]
pub(crate) fn heading_deg(raw: u32) -> Option<u16> {
    (raw < 360).then_some(raw as u16)
}

/// UTC second of the report: 60 is not available; 61, 62, 63 are kept (manual input, dead
/// reckoning, inoperative).
#[inline]
pub(crate) fn second(raw: u32) -> Option<u8> {
    (raw != 60).then_some(raw as u8)
}

/// A field where zero is the "not available" default (IMO number, draught, dimensions, ship
/// type, EPFD, maneuver indicator, ETA month/day, ...).
#[inline]
pub(crate) fn nonzero(raw: u32) -> Option<u32> {
    (raw != 0).then_some(raw)
}

/// Ship and cargo type: 0 is not available. Reserved codes (1-19 and 200-255 for future use,
/// 100-199 for regional use) are kept as transmitted: they are available values with a meaning
/// the standard does not give yet ([`ship_type_defined`] tells them apart).
#[inline]
pub(crate) fn ship_type(raw: u32) -> Option<u8> {
    nonzero(raw).map(|v| v as u8)
}

/// Whether a ship and cargo type code has a meaning in ITU-R M.1371 Table 53 (20-99); 1-19 and
/// 100-255 are reserved.
pub fn ship_type_defined(t: u8) -> bool {
    (20..=99).contains(&t)
}

/// A field where `na` is the "not available" value.
#[inline]
pub(crate) fn unless(raw: u32, na: u32) -> Option<u32> {
    (raw != na).then_some(raw)
}

/// A field where every value at or above `na` is not available.
#[inline]
pub(crate) fn below(raw: u32, na: u32) -> Option<u32> {
    (raw < na).then_some(raw)
}

/// Rate of turn (types 1-3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateOfTurn {
    /// Degrees per minute, positive to starboard (from the ROT indicator: ±(raw/4.733)²).
    DegPerMin(f32),
    /// Turning right at more than 5°/30 s, no turn indicator.
    FastRight,
    /// Turning left at more than 5°/30 s, no turn indicator.
    FastLeft,
}

/// Rate of turn from the signed 8-bit field: -128 is not available.
#[inline]
pub(crate) fn rate_of_turn(raw: i32) -> Option<RateOfTurn> {
    RATE_OF_TURN[(raw & 0xFF) as usize]
}

/// [`rate_of_turn`] by the raw value's low byte: one load and no branch (the value changes from
/// report to report, so a branch on it is often mispredicted; a division per message costs
/// more than the rest of a position report's fields together). Degrees per minute are
/// `(r / 4.733)²` with the sign of `r`.
static RATE_OF_TURN: [Option<RateOfTurn>; 256] = {
    let mut t = [None; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match i as u8 as i8 {
            -128 => None,
            127 => Some(RateOfTurn::FastRight),
            -127 => Some(RateOfTurn::FastLeft),
            r => {
                let x = r as f32 / 4.733;
                Some(RateOfTurn::DegPerMin((x * x).copysign(r as f32)))
            }
        };
        i += 1;
    }
    t
};

/// Raw field value of a rate of turn (inverse of [`rate_of_turn`], for the encoder).
#[inline]
pub(crate) fn rate_of_turn_raw(rot: Option<RateOfTurn>) -> i32 {
    match rot {
        None => -128,
        Some(RateOfTurn::FastRight) => 127,
        Some(RateOfTurn::FastLeft) => -127,
        Some(RateOfTurn::DegPerMin(d)) => {
            let r = crate::encode::round_i64((4.733 * d.abs().sqrt()) as f64).min(126) as i32;
            if d < 0.0 {
                -r
            } else {
                r
            }
        }
    }
}

/// Navigation status text (ITU-R M.1371 Table 45); 15 ("not defined") is reported as `None`.
pub fn nav_status_text(status: u8) -> &'static str {
    const T: [&str; 16] = [
        "Under way using engine",
        "At anchor",
        "Not under command",
        "Restricted manoeuverability",
        "Constrained by her draught",
        "Moored",
        "Aground",
        "Engaged in Fishing",
        "Under way sailing",
        "Reserved for HSC",
        "Reserved for WIG",
        "Power-driven vessel towing astern",
        "Power-driven vessel pushing ahead or towing alongside",
        "Reserved for future use",
        "AIS-SART is active",
        "Not defined",
    ];
    T[(status & 15) as usize]
}

/// Electronic position fixing device text.
pub fn epfd_text(epfd: u8) -> &'static str {
    match epfd {
        0 => "Undefined",
        1 => "GPS",
        2 => "GLONASS",
        3 => "Combined GPS/GLONASS",
        4 => "Loran-C",
        5 => "Chayka",
        6 => "Integrated navigation system",
        7 => "Surveyed",
        8 => "Galileo",
        15 => "Internal GNSS",
        _ => "Reserved",
    }
}

/// Ship and cargo type text (first digit class, second digit detail).
pub fn ship_type_text(t: u8) -> &'static str {
    match t {
        0 => "Not available",
        1..=19 | 200..=255 => "Reserved for future use",
        100..=199 => "Reserved for regional use",
        20 => "Wing in ground (WIG), all ships of this type",
        21..=24 => "Wing in ground (WIG), Hazardous category",
        25..=29 => "Wing in ground (WIG), Reserved for future use",
        30 => "Fishing",
        31 => "Towing",
        32 => "Towing: length exceeds 200m or breadth exceeds 25m",
        33 => "Dredging or underwater ops",
        34 => "Diving ops",
        35 => "Military ops",
        36 => "Sailing",
        37 => "Pleasure Craft",
        38 | 39 => "Reserved",
        40 => "High speed craft (HSC), all ships of this type",
        41..=44 => "High speed craft (HSC), Hazardous category",
        45..=48 => "High speed craft (HSC), Reserved for future use",
        49 => "High speed craft (HSC), No additional information",
        50 => "Pilot Vessel",
        51 => "Search and Rescue vessel",
        52 => "Tug",
        53 => "Port Tender",
        54 => "Anti-pollution equipment",
        55 => "Law Enforcement",
        56 | 57 => "Spare - Local Vessel",
        58 => "Medical Transport",
        59 => "Noncombatant ship according to RR Resolution No. 18",
        60 => "Passenger, all ships of this type",
        61..=64 => "Passenger, Hazardous category",
        65..=68 => "Passenger, Reserved for future use",
        69 => "Passenger, No additional information",
        70 => "Cargo, all ships of this type",
        71..=74 => "Cargo, Hazardous category",
        75..=78 => "Cargo, Reserved for future use",
        79 => "Cargo, No additional information",
        80 => "Tanker, all ships of this type",
        81..=84 => "Tanker, Hazardous category",
        85..=88 => "Tanker, Reserved for future use",
        89 => "Tanker, No additional information",
        90 => "Other Type, all ships of this type",
        91..=94 => "Other Type, Hazardous category",
        95..=98 => "Other Type, Reserved for future use",
        99 => "Other Type, no additional information",
    }
}

/// Aid-to-navigation type text (type 21).
pub fn aid_type_text(t: u8) -> &'static str {
    const T: [&str; 32] = [
        "Unspecified",
        "Reference point",
        "RACON",
        "Fixed offshore structure",
        "Spare, Reserved for future use.",
        "Light, without sectors",
        "Light, with sectors",
        "Leading Light Front",
        "Leading Light Rear",
        "Beacon, Cardinal N",
        "Beacon, Cardinal E",
        "Beacon, Cardinal S",
        "Beacon, Cardinal W",
        "Beacon, Port hand",
        "Beacon, Starboard hand",
        "Beacon, Preferred Channel port hand",
        "Beacon, Preferred Channel starboard hand",
        "Beacon, Isolated danger",
        "Beacon, Safe water",
        "Beacon, Special mark",
        "Cardinal Mark N",
        "Cardinal Mark E",
        "Cardinal Mark S",
        "Cardinal Mark W",
        "Port hand Mark",
        "Starboard hand Mark",
        "Preferred Channel Port hand",
        "Preferred Channel Starboard hand",
        "Isolated danger",
        "Safe Water",
        "Special Mark",
        "Light Vessel / LANBY / Rigs",
    ];
    T[(t & 31) as usize]
}

/// Mooring position text (IMO 289 berthing data), as gpsd writes it.
pub fn mooring_position_text(code: u8) -> &'static str {
    match code {
        0 => "Not available",
        1 => "Port-side to",
        2 => "Starboard-side to",
        3 => "Mediterranean (end-on) mooring",
        4 => "Mooring buoy",
        5 => "Anchorage",
        _ => "Reserved for future use",
    }
}

/// Route type text (IMO 289 route information), as gpsd writes it.
pub fn route_type_text(code: u8) -> &'static str {
    match code {
        0 => "Undefined (default)",
        1 => "Mandatory",
        2 => "Recommended",
        3 => "Alternative",
        4 => "Recommended route through ice",
        5 => "Ship route plan",
        31 => "Cancel route identified by message linkage",
        _ => "Reserved for future use.",
    }
}

/// Lock, bridge or terminal status text (inland RTA), as gpsd writes it.
pub fn inland_status_text(code: u8) -> &'static str {
    ["Operational", "Limited operation", "Out of order", "N/A"][(code & 3) as usize]
}

/// EMMA weather warning type text (inland), as gpsd writes it.
pub fn emma_type_text(code: u8) -> &'static str {
    const T: [&str; 10] = [
        "Not Available",
        "Wind",
        "Rain",
        "Snow and ice",
        "Thunderstorm",
        "Fog",
        "Low temperature",
        "High temperature",
        "Flood",
        "Forest Fire",
    ];
    T.get(code as usize).copied().unwrap_or("INVALID EMMA TYPE")
}

/// EMMA warning class (intensity) text, as gpsd writes it.
pub fn emma_class_text(code: u8) -> &'static str {
    ["Slight", "Medium", "Strong", "INVALID EMMA TYPE"][(code & 3) as usize]
}

/// EMMA wind direction text, as gpsd writes it.
pub fn emma_wind_text(code: u8) -> &'static str {
    const T: [&str; 9] = [
        "N/A",
        "North",
        "North East",
        "East",
        "South East",
        "South",
        "South West",
        "West",
        "North West",
    ];
    T.get(code as usize)
        .copied()
        .unwrap_or("INVALID EMMA WIND DIRECTION")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinels_become_none() {
        assert_eq!(lat_1e4_min(91 * 600_000), None);
        assert_eq!(lon_1e4_min(181 * 600_000), None);
        assert_eq!(lat_1e4_min(-54_000_000), Some(-90.0));
        assert_eq!(sog_tenth_knots(1023), None);
        assert_eq!(sog_tenth_knots(1022), Some(102.2));
        assert_eq!(cog_tenth_deg(3600), None);
        assert_eq!(heading_deg(511), None);
        assert_eq!(second(60), None);
        assert_eq!(rate_of_turn(-128), None);
    }

    #[test]
    fn rate_of_turn_round_trip() {
        for raw in -127..=127 {
            assert_eq!(rate_of_turn_raw(rate_of_turn(raw)), raw, "raw {raw}");
        }
        assert_eq!(rate_of_turn_raw(None), -128);
    }

    #[test]
    fn rate_of_turn_table_is_the_formula() {
        for raw in -126..=126 {
            let x = raw as f32 / 4.733;
            let want = (x * x).copysign(raw as f32);
            assert_eq!(
                rate_of_turn(raw),
                Some(RateOfTurn::DegPerMin(want)),
                "raw {raw}"
            );
        }
        assert_eq!(rate_of_turn(127), Some(RateOfTurn::FastRight));
        assert_eq!(rate_of_turn(-127), Some(RateOfTurn::FastLeft));
    }
}
