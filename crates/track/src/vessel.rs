//! Per-MMSI vessel state and identity history.
//!
//! [`Registry`] keeps, for every MMSI, the latest position, the latest static and voyage data,
//! the transmitter class, and an identity history: every change of name, call sign, IMO, ship
//! type, dimensions or destination, with the message time it was first seen. Static reports
//! may be partial (a class B type 24 part A carries only the name); absent fields leave the
//! known value alone. Pure: times come from the input.

use rustc_hash::FxHashMap;

/// Transmitter class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Class A (types 1-3, 5).
    A,
    /// Class B (types 18, 19, 24).
    B,
}

/// A position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionUpdate {
    /// Message time, ms since the Unix epoch.
    pub time_ms: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// Navigation status code.
    pub nav_status: Option<u8>,
    /// Transmitter class, when the message type tells.
    pub class: Option<Class>,
}

/// Static and voyage data; `None` fields were not in the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StaticUpdate {
    /// Message time, ms since the Unix epoch.
    pub time_ms: i64,
    /// Vessel name.
    pub name: Option<String>,
    /// Call sign.
    pub callsign: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// Ship and cargo type.
    pub ship_type: Option<u8>,
    /// Ship type as text, when the source gives text that names no code (a DMA archive's
    /// `Reserved`); ignored when `ship_type` is given.
    pub ship_type_text: Option<String>,
    /// Length × beam, metres.
    pub dimensions_m: Option<(u16, u16)>,
    /// Destination.
    pub destination: Option<String>,
    /// Draught, metres.
    pub draught_m: Option<f32>,
    /// Transmitter class, when the message type tells.
    pub class: Option<Class>,
}

/// An identity attribute whose changes are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityField {
    /// Vessel name.
    Name,
    /// Call sign.
    Callsign,
    /// IMO number.
    Imo,
    /// Ship type.
    ShipType,
    /// Length × beam.
    Dimensions,
    /// Destination.
    Destination,
}

impl IdentityField {
    /// Stable name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityField::Name => "name",
            IdentityField::Callsign => "callsign",
            IdentityField::Imo => "imo",
            IdentityField::ShipType => "ship_type",
            IdentityField::Dimensions => "dimensions",
            IdentityField::Destination => "destination",
        }
    }
}

/// One entry of an identity history: `field` became `value` at `time_ms` (first seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChange {
    /// When the value was first seen, ms since the Unix epoch.
    pub time_ms: i64,
    /// Which attribute.
    pub field: IdentityField,
    /// Previous value (`None` for the first value seen).
    pub old: Option<String>,
    /// New value.
    pub new: String,
}

/// What is known about one MMSI.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vessel {
    /// Transmitter class, once a message has told.
    pub class: Option<Class>,
    /// Latest position (by message time).
    pub position: Option<PositionUpdate>,
    /// Current identity values.
    pub name: Option<String>,
    /// Current call sign.
    pub callsign: Option<String>,
    /// Current IMO.
    pub imo: Option<u32>,
    /// Current ship type.
    pub ship_type: Option<u8>,
    /// The latest ship type given as text that names no code (cleared by a later code).
    pub ship_type_text: Option<String>,
    /// Current length × beam, metres.
    pub dimensions_m: Option<(u16, u16)>,
    /// Current destination.
    pub destination: Option<String>,
    /// Latest draught, metres.
    pub draught_m: Option<f32>,
    /// Every identity change, in the order seen.
    pub history: Vec<IdentityChange>,
    /// First message time, ms.
    pub first_seen_ms: Option<i64>,
    /// Last message time, ms.
    pub last_seen_ms: Option<i64>,
    /// Reports applied.
    pub reports: u64,
}

impl Vessel {
    fn seen(&mut self, t: i64) {
        self.first_seen_ms = Some(self.first_seen_ms.map_or(t, |f| f.min(t)));
        self.last_seen_ms = Some(self.last_seen_ms.map_or(t, |l| l.max(t)));
        self.reports += 1;
    }
}

/// A static report this much older than the newest message of its vessel is history (an
/// older archive ingested after newer data): it fills what is unknown, but a value it differs
/// in is not a change (it was the vessel's identity before, not after, what is known).
pub const PAST_STATIC_MS: i64 = 6 * 3_600_000;

/// Records a change of `current` to `new` (when different) in `history`; with `fill_only`,
/// only a first value (returns true when a different value was left alone).
fn set<T: PartialEq + ToString>(
    current: &mut Option<T>,
    new: Option<T>,
    field: IdentityField,
    time_ms: i64,
    history: &mut Vec<IdentityChange>,
    fill_only: bool,
) -> bool {
    let Some(new) = new else { return false };
    if current.as_ref() == Some(&new) {
        return false;
    }
    if fill_only && current.is_some() {
        return true;
    }
    history.push(IdentityChange {
        time_ms,
        field,
        old: current.as_ref().map(ToString::to_string),
        new: new.to_string(),
    });
    *current = Some(new);
    false
}

/// All vessels, by MMSI.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    vessels: FxHashMap<u32, Vessel>,
    /// Static reports older than their vessel's newest message by [`PAST_STATIC_MS`] that
    /// differed from the identity known (left as it is: see [`Registry::static_data`]).
    pub past_static_reports: u64,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of vessels.
    pub fn len(&self) -> usize {
        self.vessels.len()
    }

    /// True when no vessel is known.
    pub fn is_empty(&self) -> bool {
        self.vessels.is_empty()
    }

    /// The vessel with this MMSI.
    pub fn get(&self, mmsi: u32) -> Option<&Vessel> {
        self.vessels.get(&mmsi)
    }

    /// All vessels.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Vessel)> {
        self.vessels.iter().map(|(&m, v)| (m, v))
    }

    /// Sets the known state of a vessel (for example loaded from the store), replacing any;
    /// later updates record identity changes against it.
    pub fn insert(&mut self, mmsi: u32, v: Vessel) {
        self.vessels.insert(mmsi, v);
    }

    /// Applies a position report; the latest position is the one with the latest time.
    pub fn position(&mut self, mmsi: u32, p: PositionUpdate) {
        let v = self.vessels.entry(mmsi).or_default();
        v.seen(p.time_ms);
        if p.class.is_some() {
            v.class = p.class;
        }
        if v.position.is_none_or(|old| old.time_ms <= p.time_ms) {
            v.position = Some(p);
        }
    }

    /// Applies consecutive position reports of `mmsi` gathered in `p` (see [`Positions`]),
    /// exactly as applying each with [`Registry::position`] would.
    pub fn positions(&mut self, mmsi: u32, p: &Positions) {
        if p.count == 0 {
            return;
        }
        let v = self.vessels.entry(mmsi).or_default();
        v.first_seen_ms = Some(v.first_seen_ms.map_or(p.first_ms, |f| f.min(p.first_ms)));
        v.last_seen_ms = Some(v.last_seen_ms.map_or(p.last_ms, |l| l.max(p.last_ms)));
        v.reports += p.count;
        if p.class.is_some() {
            v.class = p.class;
        }
        if let Some(latest) = p.latest {
            if v.position.is_none_or(|old| old.time_ms <= latest.time_ms) {
                v.position = Some(latest);
            }
        }
    }

    /// Applies static and voyage data, recording identity changes.
    ///
    /// A report older than the vessel's newest message by [`PAST_STATIC_MS`] (an archive
    /// ingested after newer data) fills unknown fields only: the values it differs in were
    /// the identity before what is known, and recording them as changes would run history
    /// backwards. Those reports are counted in `past_static_reports` (the identity claims of
    /// their sources keep what they said, with its time).
    pub fn static_data(&mut self, mmsi: u32, s: StaticUpdate) {
        let v = self.vessels.entry(mmsi).or_default();
        let past = v
            .last_seen_ms
            .is_some_and(|l| s.time_ms < l - PAST_STATIC_MS);
        v.seen(s.time_ms);
        if s.class.is_some() {
            v.class = s.class;
        }
        let t = s.time_ms;
        let mut skipped = false;
        let h = &mut v.history;
        skipped |= set(
            &mut v.name,
            s.name.filter(|x| !x.is_empty()),
            IdentityField::Name,
            t,
            h,
            past,
        );
        skipped |= set(
            &mut v.callsign,
            s.callsign.filter(|x| !x.is_empty()),
            IdentityField::Callsign,
            t,
            h,
            past,
        );
        skipped |= set(&mut v.imo, s.imo, IdentityField::Imo, t, h, past);
        if past && (v.ship_type.is_some() || v.ship_type_text.is_some()) {
            // Known already: an older report's text does not replace it.
        } else if s.ship_type.is_some() {
            v.ship_type_text = None;
        } else if let Some(text) = s.ship_type_text.filter(|x| !x.is_empty()) {
            v.ship_type_text = Some(text);
        }
        skipped |= set(
            &mut v.ship_type,
            s.ship_type,
            IdentityField::ShipType,
            t,
            h,
            past,
        );
        let dims = s.dimensions_m.map(|(l, b)| Dims(l, b));
        let mut current = v.dimensions_m.map(|(l, b)| Dims(l, b));
        skipped |= set(&mut current, dims, IdentityField::Dimensions, t, h, past);
        v.dimensions_m = current.map(|d| (d.0, d.1));
        skipped |= set(
            &mut v.destination,
            s.destination.filter(|x| !x.is_empty()),
            IdentityField::Destination,
            t,
            h,
            past,
        );
        if s.draught_m.is_some() && !(past && v.draught_m.is_some()) {
            v.draught_m = s.draught_m;
        }
        if skipped {
            self.past_static_reports += 1;
        }
    }
}

/// Position reports of one vessel gathered to be applied to a [`Registry`] at once: the
/// caller keeps one beside its other per-vessel state and applies it before the vessel's next
/// static report and at the end, instead of a registry lookup per position.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Positions {
    /// Reports gathered.
    pub count: u64,
    /// Earliest message time among them, ms.
    pub first_ms: i64,
    /// Latest message time, ms.
    pub last_ms: i64,
    /// The class of the last report that told one.
    pub class: Option<Class>,
    /// The report with the latest time (the last to arrive among equal times).
    pub latest: Option<PositionUpdate>,
}

impl Positions {
    /// Gathers one report.
    pub fn push(&mut self, p: PositionUpdate) {
        if self.count == 0 {
            (self.first_ms, self.last_ms) = (p.time_ms, p.time_ms);
        } else {
            self.first_ms = self.first_ms.min(p.time_ms);
            self.last_ms = self.last_ms.max(p.time_ms);
        }
        self.count += 1;
        if p.class.is_some() {
            self.class = p.class;
        }
        if self.latest.is_none_or(|old| old.time_ms <= p.time_ms) {
            self.latest = Some(p);
        }
    }

    /// Applies what was gathered to `registry` and starts afresh.
    pub fn apply(&mut self, mmsi: u32, registry: &mut Registry) {
        registry.positions(mmsi, self);
        *self = Positions::default();
    }
}

/// Length × beam, printed `LxB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dims(u16, u16);

impl std::fmt::Display for Dims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.0, self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(t: i64, name: &str, imo: Option<u32>) -> StaticUpdate {
        StaticUpdate {
            time_ms: t,
            name: Some(name.to_owned()),
            imo,
            class: Some(Class::A),
            ..StaticUpdate::default()
        }
    }

    fn pos(t: i64, lat: f64, class: Option<Class>) -> PositionUpdate {
        PositionUpdate {
            time_ms: t,
            lat,
            lon: 100.0,
            sog_knots: None,
            cog_deg: None,
            heading_deg: None,
            nav_status: None,
            class,
        }
    }

    proptest::proptest! {
        /// Positions gathered and applied at the static reports and at the end leave the
        /// registry exactly as applying each position in turn does: times out of order and
        /// tied, classes changing, static reports between.
        #[test]
        fn gathered_positions_apply_as_one_by_one(
            reports in proptest::collection::vec(
                (0u32..3, 0i64..20, proptest::option::of(proptest::bool::ANY), proptest::bool::ANY),
                0..80,
            ),
        ) {
            let mut one_by_one = Registry::new();
            let mut gathered = Registry::new();
            let mut pending: FxHashMap<u32, Positions> = FxHashMap::default();
            for (i, &(mmsi, t, class, is_static)) in reports.iter().enumerate() {
                let class = class.map(|a| if a { Class::A } else { Class::B });
                if is_static {
                    let s = StaticUpdate { time_ms: t, class, ..StaticUpdate::default() };
                    one_by_one.static_data(mmsi, s.clone());
                    pending.entry(mmsi).or_default().apply(mmsi, &mut gathered);
                    gathered.static_data(mmsi, s);
                } else {
                    // The latitude tells reports with equal times apart.
                    let p = pos(t, i as f64 / 100.0, class);
                    one_by_one.position(mmsi, p);
                    pending.entry(mmsi).or_default().push(p);
                }
            }
            for (mmsi, p) in &mut pending {
                p.apply(*mmsi, &mut gathered);
            }
            for m in 0..3 {
                proptest::prop_assert_eq!(one_by_one.get(m), gathered.get(m));
            }
        }
    }

    #[test]
    fn identity_history_records_first_value_and_changes_once() {
        let mut r = Registry::new();
        r.static_data(1, st(100, "OCEAN LOTUS", Some(9_812_345)));
        r.static_data(1, st(200, "OCEAN LOTUS", Some(9_812_345)));
        r.static_data(1, st(300, "SEA BREEZE", Some(9_812_345)));
        let v = r.get(1).unwrap();
        let names: Vec<_> = v
            .history
            .iter()
            .filter(|c| c.field == IdentityField::Name)
            .map(|c| (c.time_ms, c.old.clone(), c.new.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (100, None, "OCEAN LOTUS".to_owned()),
                (300, Some("OCEAN LOTUS".to_owned()), "SEA BREEZE".to_owned())
            ]
        );
        assert_eq!(
            v.history
                .iter()
                .filter(|c| c.field == IdentityField::Imo)
                .count(),
            1
        );
        assert_eq!(v.name.as_deref(), Some("SEA BREEZE"));
    }

    #[test]
    fn ship_type_text_is_kept_until_a_code_comes() {
        let mut r = Registry::new();
        let text = |t, s: &str| StaticUpdate {
            time_ms: t,
            ship_type_text: Some(s.to_owned()),
            ..StaticUpdate::default()
        };
        r.static_data(3, text(1, "Reserved"));
        assert_eq!(
            r.get(3).unwrap().ship_type_text.as_deref(),
            Some("Reserved")
        );
        r.static_data(
            3,
            StaticUpdate {
                time_ms: 2,
                ship_type: Some(70),
                ..StaticUpdate::default()
            },
        );
        let v = r.get(3).unwrap();
        assert_eq!((v.ship_type, v.ship_type_text.as_deref()), (Some(70), None));
    }

    #[test]
    fn an_older_archive_fills_what_is_unknown_and_changes_nothing() {
        // 2023 first (name and IMO), then a 2012 report naming the ship otherwise and giving
        // a call sign: the call sign fills in, the name stays, no change is recorded.
        const YEAR: i64 = 365 * 86_400_000;
        let mut r = Registry::new();
        let at = |t: i64, name: &str| StaticUpdate {
            time_ms: t,
            name: Some(name.to_owned()),
            imo: Some(9_294_549),
            ..StaticUpdate::default()
        };
        r.static_data(7, at(53 * YEAR, "AS PAULINE"));
        let before = r.get(7).unwrap().history.len();
        r.static_data(
            7,
            StaticUpdate {
                callsign: Some("D5RB6".to_owned()),
                ..at(42 * YEAR, "AUSTRALIA EXPRESS")
            },
        );
        let v = r.get(7).unwrap();
        assert_eq!(v.name.as_deref(), Some("AS PAULINE"));
        assert_eq!(v.callsign.as_deref(), Some("D5RB6"));
        let new: Vec<_> = v.history[before..].iter().map(|c| c.field).collect();
        assert_eq!(new, [IdentityField::Callsign], "a first value only");
        assert_eq!(v.history[before].old, None);
        assert_eq!(r.past_static_reports, 1);
        // Within the window (a satellite's lateness), a change is a change.
        r.static_data(8, at(53 * YEAR, "A"));
        r.static_data(8, at(53 * YEAR - 3_600_000, "B"));
        assert_eq!(r.get(8).unwrap().name.as_deref(), Some("B"));
        assert_eq!(r.past_static_reports, 1);
    }

    #[test]
    fn partial_static_reports_leave_other_fields() {
        let mut r = Registry::new();
        r.static_data(
            2,
            StaticUpdate {
                time_ms: 1,
                callsign: Some("9V1234".into()),
                ship_type: Some(70),
                dimensions_m: Some((180, 28)),
                class: Some(Class::B),
                ..StaticUpdate::default()
            },
        );
        r.static_data(
            2,
            StaticUpdate {
                time_ms: 2,
                name: Some("BLUE HERON".into()),
                ..StaticUpdate::default()
            },
        );
        let v = r.get(2).unwrap();
        assert_eq!(v.callsign.as_deref(), Some("9V1234"));
        assert_eq!(v.name.as_deref(), Some("BLUE HERON"));
        assert_eq!(v.dimensions_m, Some((180, 28)));
        assert_eq!(v.class, Some(Class::B));
        assert_eq!(
            v.history
                .iter()
                .find(|c| c.field == IdentityField::Dimensions)
                .unwrap()
                .new,
            "180x28"
        );
    }

    #[test]
    fn latest_position_wins_by_time_not_arrival() {
        let mut r = Registry::new();
        let p = |t: i64, lat: f64| PositionUpdate {
            time_ms: t,
            lat,
            lon: 104.0,
            sog_knots: None,
            cog_deg: None,
            heading_deg: None,
            nav_status: None,
            class: Some(Class::A),
        };
        r.position(3, p(2_000, 1.2));
        r.position(3, p(1_000, 1.1)); // a late satellite copy
        let v = r.get(3).unwrap();
        assert_eq!(v.position.unwrap().lat, 1.2);
        assert_eq!(
            (v.first_seen_ms, v.last_seen_ms, v.reports),
            (Some(1_000), Some(2_000), 2)
        );
    }
}
