//! Who the vessels are: kinds with their performance, and identities (MMSI with a real MID of
//! the flag, name, call sign, IMO with a valid check digit, AIS ship type, dimensions).

use crate::rng::Rng;

/// Kind of vessel; decides the AIS ship type, speeds, size and manoeuvring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Crude or product tanker (AIS type 80).
    Tanker,
    /// General cargo (70).
    Cargo,
    /// Container ship (71).
    Container,
    /// Bulk carrier (70).
    Bulk,
    /// Passenger or ro-ro passenger (60).
    Passenger,
    /// Fishing vessel (30).
    Fishing,
    /// Tug (52).
    Tug,
    /// Coast guard or maritime police (55).
    LawEnforcement,
    /// Navy (35).
    Military,
    /// Survey or research ship (90, "other").
    Survey,
    /// Drillship or rig (90).
    Drilling,
    /// Yacht (37), class B.
    Pleasure,
    /// Offshore supply vessel (90).
    Supply,
    /// Search and rescue vessel (51).
    Sar,
}

/// Speeds, size and manoeuvring of a kind.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// AIS ship and cargo type (ITU-R M.1371 Table 53).
    pub ais_type: u8,
    /// Range of cruising speeds.
    pub cruise_knots: (f64, f64),
    /// Top speed.
    pub max_knots: f64,
    /// Range of overall lengths.
    pub length_m: (f64, f64),
    /// Length over beam.
    pub length_beam_ratio: f64,
    /// Range of draughts.
    pub draught_m: (f64, f64),
    /// Largest rate of turn.
    pub turn_deg_s: f64,
    /// Acceleration.
    pub accel_knots_s: f64,
}

impl Kind {
    /// Parses a scenario `type`.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "tanker" => Kind::Tanker,
            "cargo" => Kind::Cargo,
            "container" => Kind::Container,
            "bulk" => Kind::Bulk,
            "passenger" => Kind::Passenger,
            "fishing" => Kind::Fishing,
            "tug" => Kind::Tug,
            "law_enforcement" => Kind::LawEnforcement,
            "military" => Kind::Military,
            "survey" => Kind::Survey,
            "drilling" => Kind::Drilling,
            "pleasure" => Kind::Pleasure,
            "supply" => Kind::Supply,
            "sar" => Kind::Sar,
            _ => return None,
        })
    }

    /// The names [`Kind::parse`] accepts.
    pub const NAMES: &'static str = "tanker, cargo, container, bulk, passenger, fishing, tug, \
                                     law_enforcement, military, survey, drilling, pleasure, \
                                     supply, sar";

    /// Speeds, size and manoeuvring (typical values of the kind's fleet).
    pub fn profile(self) -> Profile {
        let p = |ais_type, cruise, max, len, ratio, draught, turn, accel| Profile {
            ais_type,
            cruise_knots: cruise,
            max_knots: max,
            length_m: len,
            length_beam_ratio: ratio,
            draught_m: draught,
            turn_deg_s: turn,
            accel_knots_s: accel,
        };
        match self {
            Kind::Tanker => p(
                80,
                (11.0, 14.5),
                16.0,
                (180.0, 333.0),
                5.8,
                (9.0, 20.0),
                0.35,
                0.012,
            ),
            Kind::Cargo => p(
                70,
                (11.5, 15.5),
                17.0,
                (100.0, 190.0),
                6.2,
                (6.0, 10.0),
                0.5,
                0.02,
            ),
            Kind::Container => p(
                71,
                (15.0, 20.5),
                24.0,
                (200.0, 366.0),
                7.0,
                (10.0, 15.0),
                0.45,
                0.02,
            ),
            Kind::Bulk => p(
                70,
                (11.0, 14.0),
                15.0,
                (170.0, 300.0),
                6.0,
                (9.0, 18.0),
                0.35,
                0.012,
            ),
            Kind::Passenger => p(
                60,
                (16.0, 21.0),
                24.0,
                (120.0, 300.0),
                7.0,
                (6.0, 8.5),
                0.7,
                0.03,
            ),
            Kind::Fishing => p(
                30,
                (7.0, 10.0),
                12.0,
                (22.0, 55.0),
                4.5,
                (2.5, 5.0),
                2.0,
                0.08,
            ),
            Kind::Tug => p(
                52,
                (8.0, 11.0),
                13.0,
                (24.0, 40.0),
                3.2,
                (3.0, 5.5),
                3.0,
                0.1,
            ),
            Kind::LawEnforcement => p(
                55,
                (12.0, 16.0),
                24.0,
                (60.0, 130.0),
                7.5,
                (3.5, 6.0),
                1.0,
                0.06,
            ),
            Kind::Military => p(
                35,
                (14.0, 18.0),
                28.0,
                (100.0, 170.0),
                8.0,
                (4.5, 7.0),
                1.0,
                0.06,
            ),
            Kind::Survey => p(
                90,
                (9.0, 12.0),
                15.0,
                (70.0, 110.0),
                5.5,
                (4.5, 6.5),
                0.8,
                0.04,
            ),
            Kind::Drilling => p(
                90,
                (0.0, 0.0),
                10.0,
                (200.0, 230.0),
                5.5,
                (10.0, 12.0),
                0.2,
                0.01,
            ),
            Kind::Pleasure => p(
                37,
                (6.0, 9.0),
                12.0,
                (10.0, 22.0),
                3.5,
                (1.5, 2.5),
                3.0,
                0.1,
            ),
            Kind::Supply => p(
                90,
                (10.0, 13.0),
                15.0,
                (50.0, 85.0),
                4.5,
                (4.5, 6.5),
                1.5,
                0.06,
            ),
            Kind::Sar => p(
                51,
                (15.0, 22.0),
                30.0,
                (25.0, 90.0),
                5.0,
                (2.0, 4.0),
                2.5,
                0.12,
            ),
        }
    }
}

/// What a vessel broadcasts about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// MMSI.
    pub mmsi: u32,
    /// Ship name.
    pub name: String,
    /// Call sign.
    pub callsign: String,
    /// IMO number (none for small craft).
    pub imo: Option<u32>,
    /// Flag, ISO 3166 alpha-2.
    pub flag: String,
    /// AIS ship type.
    pub ship_type: u8,
    /// Distance from the GNSS antenna to bow, stern, port and starboard, metres.
    pub dims: [u16; 4],
    /// Draught, metres.
    pub draught_m: f64,
    /// Destination (UN/LOCODE or free text).
    pub destination: String,
}

pub use ais::mmsi::{imo_check_digit, imo_is_valid};

/// An IMO number from a serial: `9` followed by five digits spread over the serial, then the
/// check digit. Distinct serials below 100,000 give distinct numbers.
pub fn imo_from_serial(serial: u32) -> u32 {
    let six = 900_000 + (serial.wrapping_mul(7_919) % 100_000);
    six * 10 + imo_check_digit(six)
}

/// The MMSI of serial `serial` among one flag's MIDs: the six digits after the MID are spread
/// over 100000..=999999, so scripted vessels can use serials below 100000 without clashing.
/// Distinct serials below `900_000 * mids.len()` give distinct MMSIs.
pub fn mmsi_from_serial(mids: &[u16], serial: u64) -> u32 {
    let mid = mids[((serial / 900_000) % mids.len() as u64) as usize] as u32;
    let rest = 100_000 + ((serial % 900_000) * 7_919 % 900_000) as u32;
    mid * 1_000_000 + rest
}

/// Call sign prefixes (ITU allocations) of the flags the scenarios use; others get the first
/// letters of the flag code.
fn callsign_prefix(flag: &str) -> &'static str {
    match flag {
        "PA" => "3E",
        "LR" => "D5",
        "MH" => "V7",
        "SG" => "9V",
        "HK" => "VR",
        "CN" => "B",
        "IN" => "AV",
        "MT" => "9H",
        "GR" => "SV",
        "BS" => "C6",
        "CY" => "5B",
        "MY" => "9M",
        "ID" => "PN",
        "PH" => "DU",
        "VN" => "XV",
        "AE" => "A6",
        "SA" => "HZ",
        "OM" => "A4",
        "IR" => "EP",
        "CM" => "TJ",
        "GA" => "TR",
        "KM" => "D6",
        "PW" => "T8",
        "TG" => "5V",
        "SL" => "9L",
        "TZ" => "5I",
        "KN" => "V4",
        "US" => "W",
        "JP" => "J",
        "KR" => "D7",
        "LK" => "4R",
        "NO" => "LA",
        "DK" => "OZ",
        "GB" => "M",
        _ => "",
    }
}

/// A call sign for a flag (prefix, then letters and digits to seven characters at most).
pub fn callsign(flag: &str, rng: &mut Rng) -> String {
    let mut s = callsign_prefix(flag).to_owned();
    if s.is_empty() {
        s.push_str(&flag[..flag.len().min(2)]);
    }
    while s.len() < 6 {
        let c = if s.len().is_multiple_of(2) {
            b'A' + rng.below(26) as u8
        } else {
            b'0' + rng.below(10) as u8
        };
        s.push(c as char);
    }
    s
}

const FIRST: &[&str] = &[
    "OCEAN", "PACIFIC", "GOLDEN", "SILVER", "EASTERN", "WESTERN", "NORTHERN", "SOUTHERN", "GREAT",
    "ROYAL", "BLUE", "GREEN", "CRYSTAL", "EVER", "SEA", "STAR", "GLOBAL", "ASIAN", "ARABIAN",
    "INDIAN", "CORAL", "JADE", "PEARL", "MARINE", "GULF", "CAPE", "BRIGHT", "NOBLE", "GRAND",
    "LUCKY",
];
const SECOND: &[&str] = &[
    "PIONEER",
    "GLORY",
    "SPIRIT",
    "PRIDE",
    "FORTUNE",
    "HARMONY",
    "VENTURE",
    "PROSPER",
    "EAGLE",
    "FALCON",
    "DOLPHIN",
    "LOTUS",
    "ORCHID",
    "HORIZON",
    "VOYAGER",
    "TRADER",
    "CARRIER",
    "DREAM",
    "GRACE",
    "HOPE",
    "UNITY",
    "PROGRESS",
    "BRILLIANCE",
    "DIAMOND",
    "SUMMIT",
    "NAVIGATOR",
    "WAVE",
    "TIDE",
    "BREEZE",
    "LEGEND",
];

/// A ship name.
pub fn ship_name(rng: &mut Rng) -> String {
    let a = FIRST[rng.below(FIRST.len() as u64) as usize];
    let b = SECOND[rng.below(SECOND.len() as u64) as usize];
    match rng.below(3) {
        0 => format!("{a} {b}"),
        _ => format!("{a} {b} {}", 1 + rng.below(99)),
    }
}

/// Dimensions (to bow, stern, port, starboard) of a hull of `length_m` by `beam_m`, with the
/// antenna aft of amidships as on most merchant ships.
pub fn dims(length_m: f64, beam_m: f64, rng: &mut Rng) -> [u16; 4] {
    let aft = length_m * rng.range(0.12, 0.3);
    let port = beam_m * rng.range(0.4, 0.6);
    [
        (length_m - aft).round().clamp(1.0, 511.0) as u16,
        aft.round().clamp(1.0, 511.0) as u16,
        port.round().clamp(1.0, 63.0) as u16,
        (beam_m - port).round().clamp(1.0, 63.0) as u16,
    ]
}

/// Flags of the world fleet weighted roughly by registered tonnage (open registries first).
pub const FLAG_WEIGHTS: &[(&str, f64)] = &[
    ("PA", 15.0),
    ("LR", 14.0),
    ("MH", 12.0),
    ("HK", 8.0),
    ("SG", 7.0),
    ("MT", 5.0),
    ("CN", 5.0),
    ("BS", 3.5),
    ("GR", 3.0),
    ("IN", 3.0),
    ("CY", 2.0),
    ("MY", 2.0),
    ("ID", 2.0),
    ("JP", 2.0),
    ("VN", 1.5),
    ("AE", 1.0),
    ("SA", 1.0),
    ("KR", 1.0),
    ("NO", 1.0),
    ("DK", 1.0),
];

/// Kinds of background traffic and their shares.
pub const TRAFFIC_KINDS: &[(Kind, f64)] = &[
    (Kind::Bulk, 26.0),
    (Kind::Tanker, 24.0),
    (Kind::Container, 18.0),
    (Kind::Cargo, 20.0),
    (Kind::Passenger, 3.0),
    (Kind::Tug, 3.0),
    (Kind::Fishing, 6.0),
];

/// Picks from weighted choices.
pub fn weighted<T: Copy>(choices: &[(T, f64)], rng: &mut Rng) -> T {
    let total: f64 = choices.iter().map(|c| c.1).sum();
    let mut x = rng.f64() * total;
    for &(v, w) in choices {
        if x < w {
            return v;
        }
        x -= w;
    }
    choices[choices.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imo_check_digits() {
        // Published examples: IMO 9074729 and 8814275 are valid.
        assert!(imo_is_valid(9_074_729));
        assert!(imo_is_valid(8_814_275));
        assert!(!imo_is_valid(9_074_728));
        for s in 0..2000 {
            assert!(imo_is_valid(imo_from_serial(s)));
        }
    }

    #[test]
    fn serial_mmsis_are_distinct_and_keep_their_mid() {
        let mids = [351u16, 352, 353];
        let mut seen = std::collections::HashSet::new();
        for s in (0..3_000_000u64).step_by(997) {
            let m = mmsi_from_serial(&mids, s);
            assert!(mids.contains(&((m / 1_000_000) as u16)));
            assert!(m % 1_000_000 >= 100_000);
            assert!(seen.insert(m));
        }
    }
}
