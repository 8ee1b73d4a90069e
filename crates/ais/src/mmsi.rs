//! The MMSI newtype and what its digits say about the transmitter.

use std::fmt;
use std::sync::OnceLock;

/// A flag state (or territory) from the ITU table of Maritime Identification Digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flag {
    /// ISO 3166-1 alpha-2 code.
    pub iso2: &'static str,
    /// Name as in the ITU table (territories name their parent state in parentheses).
    pub name: &'static str,
}

/// The ITU MID table, kept as data in `data/mid.tsv`.
static MID_TABLE: &str = include_str!("../data/mid.tsv");

/// The flag a MID is allocated to.
pub fn flag_of_mid(mid: u16) -> Option<Flag> {
    static TABLE: OnceLock<Vec<Option<Flag>>> = OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = vec![None; 800];
        for line in MID_TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let mut f = line.splitn(3, '\t');
            let (Some(m), Some(iso2), Some(name)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            if let Ok(m) = m.parse::<usize>() {
                if m < t.len() {
                    t[m] = Some(Flag { iso2, name });
                }
            }
        }
        t
    });
    t.get(mid as usize).copied().flatten()
}

/// The MIDs allocated to a flag (ISO 3166-1 alpha-2 code, upper case), in ascending order;
/// empty for an unknown code.
pub fn mids_of_flag(iso2: &str) -> Vec<u16> {
    (200..800u16)
        .filter(|&m| flag_of_mid(m).is_some_and(|f| f.iso2.eq_ignore_ascii_case(iso2)))
        .collect()
}

/// Whether `imo` is an IMO ship identification number: seven digits, the last the check digit
/// (IMO Resolution A.1117(30)). A type 5 report's IMO field carries other values too: 0 (not
/// available), official flag-state numbers from 10,000,000 (ITU-R M.1371), and all ones
/// (1073741823) from units that were never set up.
pub fn imo_is_valid(imo: u32) -> bool {
    (1_000_000..10_000_000).contains(&imo) && imo_check_digit(imo / 10) == imo % 10
}

/// The check digit of an IMO number's first six digits: the last digit of
/// 7·d1 + 6·d2 + 5·d3 + 4·d4 + 3·d5 + 2·d6.
pub fn imo_check_digit(six: u32) -> u32 {
    let mut sum = 0;
    let mut n = six;
    for w in 2..=7 {
        sum += (n % 10) * w;
        n /= 10;
    }
    sum % 10
}

/// Maritime Mobile Service Identity (30-bit field, nine decimal digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mmsi(pub u32);

/// What kind of station an MMSI identifies (ITU-R M.585).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StationKind {
    /// MIDxxxxxx: a ship.
    Ship,
    /// 0MIDxxxxx: a group of ships.
    Group,
    /// 00MIDxxxx: a coast station.
    Coast,
    /// 111MIDxxx: a SAR aircraft.
    SarAircraft,
    /// 99MIDxxxx: an aid to navigation.
    AidToNavigation,
    /// 98MIDxxxx: a craft associated with a parent ship.
    Auxiliary,
    /// 970xxyyyy: AIS-SART.
    Sart,
    /// 972xxyyyy: man overboard device.
    Mob,
    /// 974xxyyyy: EPIRB-AIS.
    Epirb,
    /// 8MIDxxxxx: diver's radio.
    Diver,
    /// Anything else (invalid or unallocated).
    Other,
}

impl Mmsi {
    /// The numeric value.
    pub fn value(self) -> u32 {
        self.0
    }

    /// Station kind from the leading digits.
    pub fn kind(self) -> StationKind {
        let v = self.0;
        match v {
            970_000_000..=970_999_999 => StationKind::Sart,
            972_000_000..=972_999_999 => StationKind::Mob,
            974_000_000..=974_999_999 => StationKind::Epirb,
            990_000_000..=999_999_999 => StationKind::AidToNavigation,
            980_000_000..=989_999_999 => StationKind::Auxiliary,
            111_000_000..=111_999_999 => StationKind::SarAircraft,
            800_000_000..=899_999_999 => StationKind::Diver,
            200_000_000..=799_999_999 => StationKind::Ship,
            2_000_000..=7_999_999 => StationKind::Coast,
            20_000_000..=79_999_999 => StationKind::Group,
            _ => StationKind::Other,
        }
    }

    /// Maritime Identification Digits (country code), where the format carries one.
    pub fn mid(self) -> Option<u16> {
        let v = self.0;
        let mid = match self.kind() {
            StationKind::Ship => v / 1_000_000,
            StationKind::Group => v / 100_000,
            StationKind::Coast => v / 10_000,
            StationKind::SarAircraft => (v / 1_000) % 1_000,
            StationKind::AidToNavigation | StationKind::Auxiliary => (v / 10_000) % 1_000,
            StationKind::Diver => (v / 100_000) % 1_000,
            _ => return None,
        };
        (200..=799).contains(&mid).then_some(mid as u16)
    }

    /// Flag state from the MID (`None` for formats without one, or unallocated MIDs).
    pub fn flag(self) -> Option<Flag> {
        self.mid().and_then(flag_of_mid)
    }

    /// An auxiliary craft (98MIDxxxx), whose type 24 part B carries a mother ship MMSI.
    pub fn is_auxiliary(self) -> bool {
        self.kind() == StationKind::Auxiliary
    }
}

impl fmt::Debug for Mmsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mmsi({:09})", self.0)
    }
}

impl fmt::Display for Mmsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_from_the_mid_table() {
        assert_eq!(Mmsi(419_000_123).flag().map(|f| f.iso2), Some("IN"));
        assert_eq!(Mmsi(366_123_456).flag().map(|f| f.iso2), Some("US"));
        assert_eq!(Mmsi(412_123_456).flag().map(|f| f.iso2), Some("CN"));
        assert_eq!(Mmsi(636_012_345).flag().map(|f| f.name), Some("Liberia"));
        assert_eq!(Mmsi(533_998_877).flag().map(|f| f.iso2), Some("MY"));
        assert_eq!(Mmsi(574_000_001).flag().map(|f| f.iso2), Some("VN"));
        assert_eq!(Mmsi(548_000_001).flag().map(|f| f.iso2), Some("PH"));
        assert_eq!(Mmsi(3_669_999).flag().map(|f| f.iso2), Some("US"));
        assert_eq!(Mmsi(217_000_000).flag(), None); // not allocated
        assert_eq!(Mmsi(970_123_456).flag(), None); // SART: no MID
                                                    // The table parses completely: every data line is reachable.
        let rows = MID_TABLE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        let found = (0..800u16).filter(|&m| flag_of_mid(m).is_some()).count();
        assert_eq!(rows, found);
    }

    #[test]
    fn mid_by_format() {
        assert_eq!(Mmsi(419_000_123).mid(), Some(419));
        assert_eq!(Mmsi(3_669_999).mid(), Some(366));
        assert_eq!(Mmsi(111_232_506).mid(), Some(232));
        assert_eq!(Mmsi(992_351_234).mid(), Some(235));
        assert_eq!(Mmsi(970_123_456).mid(), None);
        assert!(Mmsi(982_190_001).is_auxiliary());
    }
}
