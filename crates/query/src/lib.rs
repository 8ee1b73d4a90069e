//! The query layer over a Tidewatch store: typed requests and results for the questions the
//! CLI (`vessels`, `vessel`, `track`) and the API answer alike. No printing, no process exit:
//! errors are [`QueryError`] values, answers are rows the caller writes with [`format`]'s
//! streaming writers (one row at a time, so memory stays flat whatever the answer's size).
//!
//! The store is opened for reading only ([`Reader::open`]): the registry with SQLite's
//! read-only flags (falling back to `immutable=1` when its WAL index cannot be created, as on a
//! read-only mount), the position history through the manifest; nothing is created, locked or
//! repaired, so it is safe beside a running ingest and needs read permission only.
//!
//! Field names (the one vocabulary of the store, API and exports) are listed with their units
//! in `docs/fields.md`.

pub mod bbox;
pub mod cot;
mod error;
pub mod format;
pub mod kml;
pub mod sar;
pub mod stats;
pub mod time;

pub use bbox::BBox;
pub use error::QueryError;
pub use time::{parse_duration_ms, parse_time, parse_time_at};

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use store::{IdentityRow, PositionRow, Query, RegistryDb, Store, VesselRow};

/// Quality flag on a stored position: the position is not valid (outside the globe, or the
/// "not available" 91°/181°); it belongs to no segment.
pub const FLAG_BAD_POSITION: u8 = 1;
/// Quality flag: moving (speed above 0.5 kn) with no course over ground.
pub const FLAG_NO_COURSE: u8 = 2;
/// Quality flag: a type 27 long-range report (coarse position, noisy).
pub const FLAG_LONG_RANGE_NOISE: u8 = 4;
/// Quality flag: a suspect position (null island (0, 0), or a spike without speed and course
/// that no segment can reach); it belongs to no segment.
pub const FLAG_SUSPECT_POSITION: u8 = 8;

/// `YYYY-MM-DDTHH:MM:SS.sssZ` for a time in ms since the Unix epoch.
pub fn iso8601_ms(ms: i64) -> String {
    use chrono::{Datelike, Timelike};
    match chrono::DateTime::from_timestamp_millis(ms) {
        // Written field by field: the live stream writes one a position, and parsing a
        // format string each time was the larger part of the cost.
        Some(t) if (0..=9999).contains(&t.year()) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.timestamp_subsec_millis()
        ),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// A half-open time range `[from, to)`, ms; `None` ends are open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// From (inclusive), ms.
    pub from_ms: Option<i64>,
    /// To (exclusive), ms.
    pub to_ms: Option<i64>,
}

impl TimeRange {
    /// A range, refused when empty.
    pub fn new(from_ms: Option<i64>, to_ms: Option<i64>) -> Result<TimeRange, QueryError> {
        if let (Some(f), Some(t)) = (from_ms, to_ms) {
            if f >= t {
                return Err(QueryError::EmptyRange {
                    from_ms: f,
                    to_ms: t,
                });
            }
        }
        Ok(TimeRange { from_ms, to_ms })
    }
}

/// Which ship types a filter takes: ITU codes in one or two inclusive ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShipTypes {
    /// The ranges (lowest, highest code); the second repeats the first when there is one.
    ranges: [(u8, u8); 2],
}

impl ShipTypes {
    /// Codes `lo` to `hi`.
    pub fn range(lo: u8, hi: u8) -> ShipTypes {
        ShipTypes {
            ranges: [(lo, hi); 2],
        }
    }

    /// `80`, `80-89`, or a name: `fishing` (30), `towing` (31-32), `tug` (tugs and towing: 52,
    /// 31-32, as the map's category), `military` (35), `sailing` (36), `pleasure` (37), `hsc`
    /// (40-49), `passenger` (60-69), `cargo` (70-79), `tanker` (80-89).
    pub fn parse(s: &str) -> Result<ShipTypes, QueryError> {
        let bad = |reason: String| QueryError::BadFilter {
            filter: "ship type",
            reason,
        };
        let (lo, hi) = match s.trim().to_ascii_lowercase().as_str() {
            "tug" => {
                return Ok(ShipTypes {
                    ranges: [(52, 52), (31, 32)],
                })
            }
            "fishing" => (30, 30),
            "towing" => (31, 32),
            "military" => (35, 35),
            "sailing" => (36, 36),
            "pleasure" => (37, 37),
            "hsc" => (40, 49),
            "passenger" => (60, 69),
            "cargo" => (70, 79),
            "tanker" => (80, 89),
            t => {
                let (a, b) = t.split_once('-').unwrap_or((t, t));
                let code = |x: &str| {
                    x.trim().parse::<u8>().map_err(|_| {
                        bad(format!(
                            "`{s}` is not a code (0-255), a range like 80-89, or one of \
                             fishing, towing, military, sailing, pleasure, hsc, tug, passenger, \
                             cargo, tanker"
                        ))
                    })
                };
                (code(a)?, code(b)?)
            }
        };
        if lo > hi {
            return Err(bad(format!("`{s}`: the range is empty")));
        }
        Ok(ShipTypes::range(lo, hi))
    }

    /// Whether `code` is in the range.
    pub fn contains(&self, code: u8) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&code))
    }
}

/// A `vessels` question. Empty fields do not filter; all given ones must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VesselFilter {
    /// Latest position (or position at `at_ms`) inside.
    pub bbox: Option<BBox>,
    /// Name contains this text, case-insensitive; former names count.
    pub name: Option<String>,
    /// IMO number, current or former (a renamed, reflagged ship under all its MMSIs).
    pub imo: Option<u32>,
    /// Call sign, case-insensitive; former call signs count.
    pub callsign: Option<String>,
    /// Flag, ISO 3166 alpha-2 (from the MMSI's MID), case-insensitive.
    pub flag: Option<String>,
    /// Ship type codes.
    pub ship_type: Option<ShipTypes>,
    /// `A` or `B`.
    pub class: Option<String>,
    /// Latest navigation status code (0-15).
    pub nav_status: Option<u8>,
    /// Last seen at or after this time, ms.
    pub seen_since_ms: Option<i64>,
    /// The picture at this time instead of now (positions from the history, identities as
    /// they were).
    pub at_ms: Option<i64>,
    /// With `at_ms`: how old a last position may be to count, ms.
    pub max_age_ms: i64,
}

/// One vessel of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Vessel {
    /// The vessel's state (identity, latest position).
    pub row: VesselRow,
    /// Whether `row.reports` counts reports (false for a picture at a past time).
    pub reports_known: bool,
}

/// A `vessel` answer: state and identity history.
#[derive(Debug, Clone, PartialEq)]
pub struct VesselDetail {
    /// The state.
    pub vessel: Vessel,
    /// Identity changes, oldest first.
    pub history: Vec<IdentityRow>,
}

/// A `track` question.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackRequest {
    /// MMSI.
    pub mmsi: u32,
    /// Time range.
    pub range: TimeRange,
    /// Only positions inside.
    pub bbox: Option<BBox>,
}

/// A store opened for queries.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    store: Store,
    reg: RegistryDb,
}

impl Reader {
    /// Opens an existing store read-only (never creates, repairs or locks anything).
    pub fn open(dir: &Path) -> Result<Reader, QueryError> {
        let not = |reason: String| QueryError::NotAStore {
            dir: dir.to_owned(),
            reason,
        };
        let store = Store::open_read_only(dir).map_err(|e| not(e.to_string()))?;
        let db = dir.join("registry.sqlite");
        if !db.is_file() {
            return Err(not(
                "no registry.sqlite; is it a store written by `tidewatch ingest`?".to_owned(),
            ));
        }
        let reg =
            RegistryDb::open_read_only(&db).map_err(|e| not(format!("registry.sqlite: {e}")))?;
        Ok(Reader {
            dir: dir.to_owned(),
            store,
            reg,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn unknown(&self, mmsi: u32) -> QueryError {
        QueryError::UnknownMmsi {
            mmsi,
            store: self.dir.clone(),
        }
    }

    /// The vessels that match, by MMSI.
    pub fn vessels(&self, f: &VesselFilter) -> Result<Vec<Vessel>, QueryError> {
        let list: Vec<Vessel> = match f.at_ms {
            None => self
                .reg
                .vessels(None)?
                .into_iter()
                .map(|row| Vessel {
                    row,
                    reports_known: true,
                })
                .collect(),
            Some(at) => self
                .vessels_at(at, f.max_age_ms, f.bbox)?
                .into_iter()
                .map(|row| Vessel {
                    row,
                    reports_known: false,
                })
                .collect(),
        };
        // Former names, call signs and IMOs count: MMSIs that ever had a matching value.
        let former = |field: &str, m: &dyn Fn(&str) -> bool| -> Result<HashSet<u32>, QueryError> {
            Ok(self
                .reg
                .history_of_field(field)?
                .into_iter()
                .filter(|h| m(&h.new) || h.old.as_deref().is_some_and(m))
                .map(|h| h.mmsi)
                .collect())
        };
        let name = f.name.as_ref().map(|n| n.to_lowercase());
        let name_hit = |s: &str| name.as_ref().is_some_and(|n| s.to_lowercase().contains(n));
        let former_names = match &name {
            Some(_) => former("name", &name_hit)?,
            None => HashSet::new(),
        };
        let callsign_hit = |s: &str| {
            f.callsign
                .as_ref()
                .is_some_and(|c| s.eq_ignore_ascii_case(c))
        };
        let former_callsigns = match &f.callsign {
            Some(_) => former("callsign", &callsign_hit)?,
            None => HashSet::new(),
        };
        let imo_text = f.imo.map(|i| i.to_string());
        let imo_hit = |s: &str| imo_text.as_deref() == Some(s);
        let former_imos = match f.imo {
            Some(_) => former("imo", &imo_hit)?,
            None => HashSet::new(),
        };
        Ok(list
            .into_iter()
            .filter(|v| {
                let r = &v.row;
                f.bbox.is_none_or(|b| match (r.lon, r.lat) {
                    (Some(lon), Some(lat)) => b.contains(lon, lat),
                    _ => false,
                }) && f.name.as_ref().is_none_or(|_| {
                    r.name.as_deref().is_some_and(name_hit) || former_names.contains(&r.mmsi)
                }) && f
                    .imo
                    .is_none_or(|i| r.imo == Some(i) || former_imos.contains(&r.mmsi))
                    && f.callsign.as_ref().is_none_or(|_| {
                        r.callsign.as_deref().is_some_and(callsign_hit)
                            || former_callsigns.contains(&r.mmsi)
                    })
                    && f.flag.as_ref().is_none_or(|fl| {
                        r.flag
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(fl))
                    })
                    && f.ship_type
                        .is_none_or(|t| r.ship_type.is_some_and(|c| t.contains(c)))
                    && f.class.as_ref().is_none_or(|c| {
                        r.class
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(c))
                    })
                    && f.nav_status.is_none_or(|n| r.nav_status == Some(n))
                    && f.seen_since_ms
                        .is_none_or(|t| r.last_seen_ms.is_some_and(|s| s >= t))
            })
            .collect())
    }

    /// The vessels as they were at `at_ms`: the last good position in `[at_ms - max_age_ms,
    /// at_ms]` (inside `bbox`; a position exactly `max_age_ms` old counts, so `--max-age 0`
    /// takes the positions of that instant), and the identity of that time (later identity
    /// changes undone).
    fn vessels_at(
        &self,
        at_ms: i64,
        max_age_ms: i64,
        bbox: Option<BBox>,
    ) -> Result<Vec<VesselRow>, QueryError> {
        let rows = self.store.query(&Query {
            mmsi: None,
            from_ms: Some(at_ms.saturating_sub(max_age_ms)),
            to_ms: Some(at_ms.saturating_add(1)),
            // The store prunes by one box; a box across the antimeridian is filtered below.
            bbox: bbox.and_then(|b| {
                let p = b.parts();
                (p.len() == 1).then(|| p[0])
            }),
            committed_runs: Some(self.reg.committed_runs()?),
        })?;
        // Rows come by MMSI, then time: the last of each MMSI is its position at `at_ms`.
        let mut last: Vec<&PositionRow> = Vec::new();
        for r in rows.iter().filter(|r| {
            r.flags & (FLAG_BAD_POSITION | FLAG_SUSPECT_POSITION) == 0
                && bbox.is_none_or(|b| b.contains(r.lon, r.lat))
        }) {
            match last.last_mut() {
                Some(l) if l.mmsi == r.mmsi => *l = r,
                _ => last.push(r),
            }
        }
        let later = self.reg.history_after(at_ms)?;
        let mut out = Vec::with_capacity(last.len());
        for p in last {
            let mut v = self.reg.vessel(p.mmsi)?.unwrap_or_else(|| VesselRow {
                mmsi: p.mmsi,
                ..VesselRow::default()
            });
            // Undo identity changes made after `at_ms`: the oldest later change of each field
            // holds the value before it.
            let start = later.partition_point(|h| h.mmsi < p.mmsi);
            let mut undone = HashSet::new();
            for h in later[start..].iter().take_while(|h| h.mmsi == p.mmsi) {
                if undone.insert(h.field.as_str()) {
                    undo(&mut v, &h.field, h.old.as_deref());
                }
            }
            v.position_time_ms = Some(p.time_ms);
            v.last_seen_ms = Some(p.time_ms);
            v.lat = Some(p.lat);
            v.lon = Some(p.lon);
            v.sog_knots = p.sog_knots;
            v.cog_deg = p.cog_deg;
            v.heading_deg = p.heading_deg;
            v.nav_status = p.nav_status;
            out.push(v);
        }
        Ok(out)
    }

    /// The stored events the query selects (in the registry's order: by start).
    pub fn events(&self, q: &store::EventQuery) -> Result<Vec<store::EventRow>, QueryError> {
        Ok(self.reg.events(q)?)
    }

    /// One vessel's state and identity history; [`QueryError::UnknownMmsi`] when the store
    /// never saw it.
    pub fn vessel(&self, mmsi: u32) -> Result<VesselDetail, QueryError> {
        let row = self.reg.vessel(mmsi)?.ok_or_else(|| self.unknown(mmsi))?;
        Ok(VesselDetail {
            vessel: Vessel {
                row,
                reports_known: true,
            },
            history: self.reg.history(mmsi)?,
        })
    }

    /// One vessel's positions in the range, by time, with the sources of copies that arrived
    /// after their position was written merged in. [`QueryError::UnknownMmsi`] when the store
    /// never saw the MMSI (as [`Reader::vessel`]); a known vessel with no positions in the
    /// range has an empty track.
    pub fn track(&self, req: &TrackRequest) -> Result<Vec<PositionRow>, QueryError> {
        let mut rows = self.store.query(&Query {
            mmsi: Some(req.mmsi),
            from_ms: req.range.from_ms,
            to_ms: req.range.to_ms,
            bbox: None,
            committed_runs: Some(self.reg.committed_runs()?),
        })?;
        if rows.is_empty() && self.reg.vessel(req.mmsi)?.is_none() {
            return Err(self.unknown(req.mmsi));
        }
        if let Some(b) = req.bbox {
            rows.retain(|r| b.contains(r.lon, r.lat));
        }
        let late = store::LateSources::new(self.reg.late_sources(
            req.mmsi,
            req.range.from_ms.unwrap_or(i64::MIN),
            req.range.to_ms.unwrap_or(i64::MAX),
        )?);
        for r in &mut rows {
            late.merge(r);
        }
        Ok(rows)
    }
}

/// Sets an identity field back to its earlier value (as recorded in the identity history).
fn undo(v: &mut VesselRow, field: &str, old: Option<&str>) {
    match field {
        "name" => v.name = old.map(str::to_owned),
        "callsign" => v.callsign = old.map(str::to_owned),
        "destination" => v.destination = old.map(str::to_owned),
        "imo" => v.imo = old.and_then(|x| x.parse().ok()),
        "ship_type" => v.ship_type = old.and_then(|x| x.parse().ok()),
        "dimensions" => {
            let lb = old.and_then(|x| x.split_once('x'));
            v.length_m = lb.and_then(|(l, _)| l.parse().ok());
            v.beam_m = lb.and_then(|(_, b)| b.parse().ok());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_chrono_formats_them() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for ms in [
            0,
            -1,
            1_700_000_000_123,
            253_402_300_799_999,
            -62_135_596_800_000,
        ]
        .into_iter()
        .chain((0..2000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 400_000_000_000_000) as i64 - 100_000_000_000_000
        })) {
            let want = chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(Some(iso8601_ms(ms)), want, "{ms}");
        }
    }

    #[test]
    fn ship_types() {
        assert_eq!(
            ShipTypes::parse("tanker").unwrap(),
            ShipTypes::range(80, 89)
        );
        assert_eq!(ShipTypes::parse("Cargo").unwrap(), ShipTypes::range(70, 79));
        assert_eq!(ShipTypes::parse("52").unwrap(), ShipTypes::range(52, 52));
        let tug = ShipTypes::parse("tug").unwrap();
        assert!(tug.contains(52) && tug.contains(31) && tug.contains(32));
        assert!(!tug.contains(33) && !tug.contains(51) && !tug.contains(30));
        let towing = ShipTypes::parse("towing").unwrap();
        assert!(towing.contains(31) && !towing.contains(52));
        assert_eq!(ShipTypes::parse("80-84").unwrap(), ShipTypes::range(80, 84));
        for bad in ["89-80", "boat", "300", "", "80-"] {
            assert!(ShipTypes::parse(bad).is_err(), "{bad}");
        }
        assert!(ShipTypes::parse("tanker").unwrap().contains(89));
        assert!(!ShipTypes::parse("tanker").unwrap().contains(90));
    }

    #[test]
    fn time_ranges() {
        assert!(TimeRange::new(Some(5), Some(5)).is_err());
        assert!(TimeRange::new(Some(6), Some(5)).is_err());
        assert!(TimeRange::new(Some(4), Some(5)).is_ok());
        assert!(TimeRange::new(None, Some(5)).is_ok());
        let e = TimeRange::new(Some(86_400_000), Some(0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("1970-01-02T00:00:00.000Z"), "{e}");
    }
}
