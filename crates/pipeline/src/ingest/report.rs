//! From decoded messages to observations: the vessel reports ingest keeps, their message time,
//! and their source (interned).

use ais::bits::Payload;
use ais::msg::units::ship_type_defined;
use ais::msg::Message;
use ais::nmea::Station;
use ais::stream::Meta;
use ais::{Reject, Sink};
use rustc_hash::FxHashMap;
use track::fuse::{refine_time, Content, Observation, SourceRef, StationId};
use track::segment::Transponder;
use track::vessel::{Class, StaticUpdate};

/// A decoded report worth keeping.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Position(PositionData),
    /// Boxed: static reports are rare and large, positions many and small.
    Static(Box<StaticUpdate>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionData {
    pub msg_type: u8,
    pub lat: f64,
    pub lon: f64,
    pub sog_knots: Option<f32>,
    pub cog_deg: Option<f32>,
    pub heading_deg: Option<u16>,
    pub nav_status: Option<u8>,
    pub class: Option<Class>,
    pub transponder: Transponder,
}

/// Reports that could not be kept (whole or in part), by reason.
#[derive(Debug, Default, Clone, Copy)]
pub struct Dropped {
    /// Vessel reports without any receive time (no tag block, `$PGHP` or timestamp, no
    /// arrival time, no `--assume-time`).
    pub no_receive_time: u64,
    /// Position reports whose position is "not available" (and CSV rows with neither a
    /// position nor static columns).
    pub position_not_available: u64,
    /// Reports timed outside [`TimeBounds`] (a receiver clock years ahead, a time before AIS
    /// existed): kept out of fusion, where one such time would move the release point.
    pub time_out_of_range: u64,
    /// CSV rows whose position cells are unparseable or beyond the globe (with or without
    /// static columns), or empty in a row whose static columns were kept: the position is
    /// lost (the identity is not).
    pub csv_position_unusable: u64,
    /// Lines of a link page that are not a position or identity claim of its format.
    pub link_line_unreadable: u64,
    /// Identity claims of a link page with a field or value this version cannot take.
    pub link_claim_unusable: u64,
}

impl Dropped {
    pub fn add(&mut self, o: &Dropped) {
        self.no_receive_time += o.no_receive_time;
        self.position_not_available += o.position_not_available;
        self.csv_position_unusable += o.csv_position_unusable;
        self.time_out_of_range += o.time_out_of_range;
        self.link_line_unreadable += o.link_line_unreadable;
        self.link_claim_unusable += o.link_claim_unusable;
    }

    /// Every reason with its count, in a stable order (for the summary and `--stats`).
    pub fn reasons(&self) -> [(&'static str, u64); 6] {
        [
            ("no_receive_time", self.no_receive_time),
            ("position_not_available", self.position_not_available),
            ("csv_position_unusable", self.csv_position_unusable),
            ("time_out_of_range", self.time_out_of_range),
            ("link_line_unreadable", self.link_line_unreadable),
            ("link_claim_unusable", self.link_claim_unusable),
        ]
    }
}

/// The message times a run accepts: from the year AIS was standardised (ITU-R M.1371-0,
/// 1998) to a day past the run's wall clock (a receiver clock a few hours off still passes;
/// one years ahead does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    pub min_ms: i64,
    pub max_ms: i64,
}

impl TimeBounds {
    /// 1998-01-01T00:00:00Z.
    pub const AIS_EPOCH_MS: i64 = 883_612_800_000;
    /// How far past the wall clock a message time may be.
    pub const AHEAD_MS: i64 = 24 * 3_600_000;

    /// The bounds for a run started at wall-clock time `now_ms`.
    pub fn at(now_ms: i64) -> TimeBounds {
        TimeBounds {
            min_ms: Self::AIS_EPOCH_MS,
            max_ms: now_ms.saturating_add(Self::AHEAD_MS),
        }
    }

    pub fn contains(&self, t_ms: i64) -> bool {
        (self.min_ms..=self.max_ms).contains(&t_ms)
    }
}

/// Where the receive times of an input's vessel reports came from.
#[derive(Debug, Default, Clone, Copy)]
pub struct TimeSources {
    /// The line's own time (tag block `c:`, `$PGHP`, timestamp prefix or trailing epoch).
    pub own: u64,
    /// The live spool's arrival time (the line had no time of its own).
    pub arrival: u64,
    /// `--assume-time`.
    pub assumed: u64,
}

impl TimeSources {
    pub fn add(&mut self, o: &TimeSources) {
        self.own += o.own;
        self.arrival += o.arrival;
        self.assumed += o.assumed;
    }
}

/// Arrival times of a live spool segment's lines, kept from the first line the decoder may
/// still report on.
#[derive(Debug, Default)]
pub(super) struct ArrivalLines {
    /// Lines forgotten before `times[0]`.
    pub skipped: u64,
    /// By line, in order (`None` for lines written without one).
    pub times: std::collections::VecDeque<Option<i64>>,
}

impl ArrivalLines {
    /// The arrival time of line `line` (1-based).
    pub fn get(&self, line: u64) -> Option<i64> {
        let i = line.checked_sub(1 + self.skipped)?;
        self.times.get(usize::try_from(i).ok()?).copied().flatten()
    }

    /// Forgets lines before `line` (the decoder has reported on every line before it).
    pub fn forget_before(&mut self, line: u64) {
        while self.skipped + 1 < line && self.times.pop_front().is_some() {
            self.skipped += 1;
        }
    }
}

/// The time a line without a time of its own gets.
#[derive(Debug, Clone, Copy)]
pub(super) enum LineTime<'a> {
    /// None: such reports are dropped (`no_receive_time`).
    None,
    /// Arrival times of a live spool segment's lines. Also the receive time of lines that have
    /// a time of their own.
    Arrival(&'a ArrivalLines),
    /// `--assume-time`: line `n` (1-based) at `start_ms + (n - 1) * ms_per_line`.
    Assume { start_ms: i64, ms_per_line: f64 },
}

/// What tells receivers apart: (feed, station in the tag block or trailer, talker).
type StationKey = (u32, Option<Station>, [u8; 2]);

/// Station names, interned: `label/station/talker` (or `label/talker`) per distinct receiver.
#[derive(Debug, Default)]
pub struct Stations {
    ids: FxHashMap<StationKey, u32>,
    /// The last key looked up and its id: consecutive reports of a feed mostly come through
    /// one receiver, and comparing the key is cheaper than hashing it.
    last: Option<(StationKey, u32)>,
    /// Labels by id.
    pub labels: Vec<String>,
    /// Ids of sources named whole (a link's `link:NAME/SOURCE`).
    named: FxHashMap<String, u32>,
}

impl Stations {
    /// The id of a whole feed without stations (decoded archives).
    pub fn feed_id(&mut self, feed: u32, feed_label: &str) -> u32 {
        let key = (feed, None, [0, 0]);
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(feed_label.to_owned());
        self.ids.insert(key, id);
        id
    }

    /// The id of a source named whole by its input (a link page's `link:NAME/SOURCE`).
    pub fn named(&mut self, label: &str) -> u32 {
        if let Some(&id) = self.named.get(label) {
            return id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(label.to_owned());
        self.named.insert(label.to_owned(), id);
        id
    }

    fn id(&mut self, feed: u32, feed_label: &str, meta: &Meta) -> u32 {
        let key = (feed, meta.source, meta.talker);
        if let Some((k, id)) = &self.last {
            if *k == key {
                return *id;
            }
        }
        if let Some(&id) = self.ids.get(&key) {
            self.last = Some((key, id));
            return id;
        }
        let talker = String::from_utf8_lossy(&meta.talker);
        let label = match meta.source {
            Some(st) => format!("{feed_label}/{}/{talker}", st.as_str()),
            None => format!("{feed_label}/{talker}"),
        };
        let id = self.labels.len() as u32;
        self.labels.push(label);
        self.ids.insert(key, id);
        self.last = Some((key, id));
        id
    }
}

/// The decoder sink of one feed: observations go to `obs`.
pub(super) struct Collect<'a> {
    pub feed: u32,
    pub feed_label: &'a str,
    pub payload_hash: u64,
    pub obs: &'a mut Vec<Observation<Report>>,
    pub stations: &'a mut Stations,
    pub dropped: &'a mut Dropped,
    pub other_messages: &'a mut u64,
    pub bounds: TimeBounds,
    pub line_time: LineTime<'a>,
    pub times: &'a mut TimeSources,
}

/// A 64-bit hash of the payload bits and their count, a 32-bit word at a time (multiply and
/// rotate, then the MurmurHash3 finaliser): two copies of one transmission hash alike, and
/// different payloads of one MMSI collide with probability about 2^-64.
fn hash_payload(p: &Payload) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let bits = p.len_bits();
    let mut h = (bits as u64 + 1).wrapping_mul(K);
    let mut i = 0;
    while i < bits {
        let n = (bits - i).min(32);
        h = (h.rotate_left(23) ^ u64::from(p.u(i, n))).wrapping_mul(K);
        i += n;
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

pub(super) fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn dims(l: Option<u16>, b: Option<u8>) -> Option<(u16, u16)> {
    Some((l?, u16::from(b?))).filter(|&(l, b)| l > 0 && b > 0)
}

/// The report a message carries (with its UTC-second field), `Err` for a position report
/// without a position, `None` for messages ingest does not keep.
pub fn report(m: &Message<'_>) -> Option<(Option<u8>, Result<Report, ()>)> {
    let pos = |msg_type, lon: Option<f64>, lat: Option<f64>, rest: PositionData| match (lon, lat) {
        (Some(lon), Some(lat)) => Ok(Report::Position(PositionData {
            msg_type,
            lat,
            lon,
            ..rest
        })),
        _ => Err(()),
    };
    let base = PositionData {
        msg_type: 0,
        lat: 0.0,
        lon: 0.0,
        sog_knots: None,
        cog_deg: None,
        heading_deg: None,
        nav_status: None,
        class: None,
        transponder: Transponder::ClassA,
    };
    let class_b = |msg_type, second, (lon, lat), sog_knots, cog_deg, heading_deg| {
        let rest = PositionData {
            sog_knots,
            cog_deg,
            heading_deg,
            class: Some(Class::B),
            transponder: Transponder::ClassB,
            ..base
        };
        (second, pos(msg_type, lon, lat, rest))
    };
    Some(match m {
        Message::Position(p) => (
            p.second,
            pos(
                p.header.msg_type,
                p.lon,
                p.lat,
                PositionData {
                    sog_knots: p.sog_knots,
                    cog_deg: p.cog_deg,
                    heading_deg: p.heading_deg,
                    nav_status: p.nav_status,
                    class: Some(Class::A),
                    ..base
                },
            ),
        ),
        Message::ClassBPosition(p) => class_b(
            18,
            p.second,
            (p.lon, p.lat),
            p.sog_knots,
            p.cog_deg,
            p.heading_deg,
        ),
        Message::ClassBExtended(p) => class_b(
            19,
            p.second,
            (p.lon, p.lat),
            p.sog_knots,
            p.cog_deg,
            p.heading_deg,
        ),
        Message::LongRange(p) => (
            None,
            pos(
                27,
                p.lon,
                p.lat,
                PositionData {
                    sog_knots: p.sog_knots.map(f32::from),
                    cog_deg: p.cog_deg.map(f32::from),
                    nav_status: p.nav_status,
                    transponder: Transponder::LongRange,
                    ..base
                },
            ),
        ),
        Message::StaticVoyage(s) => (
            None,
            Ok(Report::Static(Box::new(StaticUpdate {
                time_ms: 0,
                name: text(s.shipname.as_str()),
                callsign: text(s.callsign.as_str()),
                imo: s.imo.filter(|&v| imo_shaped(v)),
                ship_type: s.ship_type.filter(|&t| ship_type_defined(t)),
                ship_type_text: None,
                dimensions_m: dims(s.dims.length_m(), s.dims.beam_m()),
                destination: text(s.destination.as_str()),
                draught_m: s.draught_m,
                class: Some(Class::A),
            }))),
        ),
        Message::StaticDataA(s) => (
            None,
            Ok(Report::Static(Box::new(StaticUpdate {
                name: text(s.shipname.as_str()),
                class: Some(Class::B),
                ..StaticUpdate::default()
            }))),
        ),
        Message::StaticDataB(s) if !s.header.mmsi.is_auxiliary() => (
            None,
            Ok(Report::Static(Box::new(StaticUpdate {
                callsign: text(s.callsign.as_str()),
                ship_type: s.ship_type.filter(|&t| ship_type_defined(t)),
                dimensions_m: dims(s.dims.length_m(), s.dims.beam_m()),
                class: Some(Class::B),
                ..StaticUpdate::default()
            }))),
        ),
        _ => return None,
    })
}

impl Sink for Collect<'_> {
    fn payload(&mut self, p: &Payload) {
        self.payload_hash = hash_payload(p);
    }

    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        let Some((second, report)) = report(m) else {
            *self.other_messages += 1;
            return;
        };
        let Ok(mut report) = report else {
            self.dropped.position_not_available += 1;
            return;
        };
        // Message time: the line's own time when it has one, else its arrival time (live
        // feeds) or the assumed time. Receive time: the arrival time when known.
        let (base, arrival) = match self.line_time {
            LineTime::None => (None, None),
            LineTime::Arrival(a) => {
                let at = a.get(meta.line);
                (at, at)
            }
            LineTime::Assume {
                start_ms,
                ms_per_line,
            } => {
                let n = meta.line.saturating_sub(1) as f64;
                (Some(start_ms + (n * ms_per_line).round() as i64), None)
            }
        };
        let Some(own_or_base) = meta.rx_time_ms.or(base) else {
            self.dropped.no_receive_time += 1;
            return;
        };
        match (meta.rx_time_ms, self.line_time) {
            (Some(_), _) => self.times.own += 1,
            (None, LineTime::Arrival(_)) => self.times.arrival += 1,
            (None, _) => self.times.assumed += 1,
        }
        let rx = arrival.unwrap_or(own_or_base);
        let time_ms = refine_time(own_or_base, second);
        if !self.bounds.contains(time_ms) {
            self.dropped.time_out_of_range += 1;
            return;
        }
        let content = match &mut report {
            Report::Static(s) => {
                s.time_ms = time_ms;
                None
            }
            Report::Position(p) => Some(Content::with_second(
                p.lat,
                p.lon,
                p.sog_knots,
                p.cog_deg,
                second,
            )),
        };
        self.obs.push(Observation {
            mmsi: m.mmsi().value(),
            payload_hash: self.payload_hash,
            time_ms,
            content,
            source: SourceRef {
                source_id: self.feed,
                station: StationId::new(self.stations.id(self.feed, self.feed_label, meta)),
                received_ms: rx,
            },
            payload: report,
        });
    }

    fn reject(&mut self, _reason: Reject, _line: u64) {}
}

/// Whether a reported IMO number has an IMO number's seven digits. Others are "not
/// available": 2^30 - 1 (the field's bits all set) is what many transponders send without
/// one, and an unset field holds 0. A wrong check digit is kept (a mistyped number still names
/// the ship to an analyst).
fn imo_shaped(imo: u32) -> bool {
    (1_000_000..=9_999_999).contains(&imo)
}

/// Observations from one row of a decoded archive: a position (when the row has one) and the
/// static data (when it differs from the last this feed gave for the MMSI; archives repeat
/// it on every row). Rows with neither are counted in `dropped`, and so are rows whose
/// position is lost while their static columns are kept. Rows of base stations, aids to
/// navigation and SAR aircraft are no vessel reports: counted in `other_messages`, as their
/// AIS messages are.
pub(super) fn from_csv(
    rec: sources::csv_archive::CsvRecord,
    source: SourceRef,
    last_static: &mut FxHashMap<u32, u64>,
    bounds: TimeBounds,
    dropped: &mut Dropped,
    other_messages: &mut u64,
    out: &mut Vec<Observation<Report>>,
) {
    if rec.not_a_vessel {
        *other_messages += 1;
        return;
    }
    if !bounds.contains(rec.time_ms) {
        dropped.time_out_of_range += 1;
        return;
    }
    let class = match rec.class {
        Some('A') => Some(Class::A),
        Some('B') => Some(Class::B),
        _ => None,
    };
    let mut fields = fnv(0xcbf2_9ce4_8422_2325, &rec.mmsi.to_le_bytes());
    let ship = StaticUpdate {
        time_ms: rec.time_ms,
        name: rec.name,
        callsign: rec.callsign,
        imo: rec.imo.filter(|&v| imo_shaped(v)),
        ship_type: rec.ship_type,
        // Text only where it names no code (the code says the rest).
        ship_type_text: rec.ship_type_text.filter(|_| rec.ship_type.is_none()),
        dimensions_m: rec
            .length_m
            .zip(rec.width_m)
            .map(|(l, b)| (l.round() as u16, b.round() as u16)),
        destination: rec.destination,
        draught_m: rec.draught_m,
        class,
    };
    let has_static = ship.name.is_some()
        || ship.callsign.is_some()
        || ship.imo.is_some()
        || ship.ship_type.is_some()
        || ship.ship_type_text.is_some()
        || ship.dimensions_m.is_some()
        || ship.destination.is_some();
    if let (Some(lat), Some(lon)) = (rec.lat, rec.lon) {
        let mut h = fnv(fields, &rec.time_ms.to_le_bytes());
        h = fnv(h, &lat.to_le_bytes());
        h = fnv(h, &lon.to_le_bytes());
        out.push(Observation {
            mmsi: rec.mmsi,
            payload_hash: h,
            time_ms: rec.time_ms,
            // The row's time is a receive time: its second, within one of the report's, tells
            // a moored vessel's reports a few seconds apart from each other.
            content: Some(Content::at_time(
                lat,
                lon,
                rec.sog_knots,
                rec.cog_deg,
                rec.time_ms,
            )),
            source: source.clone(),
            payload: Report::Position(PositionData {
                // Archives do not keep the message type: 1 for class A rows, 18 for class
                // B, 0 when the row does not say.
                msg_type: match class {
                    Some(Class::A) => 1,
                    Some(Class::B) => 18,
                    None => 0,
                },
                lat,
                lon,
                sog_knots: rec.sog_knots,
                cog_deg: rec.cog_deg,
                heading_deg: rec.heading_deg,
                nav_status: rec.nav_status,
                class,
                transponder: if class == Some(Class::B) {
                    Transponder::ClassB
                } else {
                    Transponder::ClassA
                },
            }),
        });
    } else if !has_static {
        if rec.position_unusable {
            dropped.csv_position_unusable += 1;
        } else {
            dropped.position_not_available += 1;
        }
        return;
    } else {
        dropped.csv_position_unusable += 1;
    }
    if has_static {
        for t in [
            &ship.name,
            &ship.callsign,
            &ship.destination,
            &ship.ship_type_text,
        ]
        .into_iter()
        .flatten()
        {
            fields = fnv(fields, t.as_bytes());
            fields = fnv(fields, &[0]);
        }
        fields = fnv(fields, &ship.imo.unwrap_or(0).to_le_bytes());
        fields = fnv(fields, &[ship.ship_type.unwrap_or(0)]);
        let (l, b) = ship.dimensions_m.unwrap_or((0, 0));
        fields = fnv(fields, &[l.to_le_bytes(), b.to_le_bytes()].concat());
        if last_static.insert(rec.mmsi, fields) != Some(fields) {
            out.push(Observation {
                mmsi: rec.mmsi,
                payload_hash: fields,
                time_ms: rec.time_ms,
                content: None,
                source,
                payload: Report::Static(Box::new(ship)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hash_payload;
    use ais::bits::Payload;

    fn payload(armored: &str, fill: u8) -> Payload {
        let mut p = Payload::new();
        p.set(armored.as_bytes(), fill).unwrap();
        p
    }

    #[test]
    fn payload_hash_tells_payloads_apart() {
        let a = "18HsRv@02;WJe300ctjC:BP0083`";
        assert_eq!(hash_payload(&payload(a, 0)), hash_payload(&payload(a, 0)));
        // Every single-character change, and the same bits with trailing zeros or fill bits.
        let mut seen = std::collections::HashSet::new();
        seen.insert(hash_payload(&payload(a, 0)));
        for i in 0..a.len() {
            let mut b = a.as_bytes().to_vec();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            assert!(seen.insert(hash_payload(&payload(std::str::from_utf8(&b).unwrap(), 0))));
        }
        assert!(seen.insert(hash_payload(&payload(&format!("{a}0"), 0))));
        assert!(seen.insert(hash_payload(&payload(a, 2))));
    }

    #[test]
    fn an_imo_of_other_than_seven_digits_is_not_available() {
        let statics = |imo: u32| {
            let rec = sources::csv_archive::CsvRecord {
                mmsi: 219_000_873,
                time_ms: 1_709_000_000_000,
                name: Some("NORDKAP".to_owned()),
                imo: Some(imo),
                ..Default::default()
            };
            let source = track::fuse::SourceRef {
                source_id: 0,
                station: None,
                received_ms: rec.time_ms,
            };
            let mut out = Vec::new();
            super::from_csv(
                rec,
                source,
                &mut Default::default(),
                super::TimeBounds::at(1_800_000_000_000),
                &mut Default::default(),
                &mut 0,
                &mut out,
            );
            match &out[..] {
                [o] => match &o.payload {
                    super::Report::Static(s) => s.imo,
                    _ => panic!("not a static report"),
                },
                _ => panic!("{} observations", out.len()),
            }
        };
        assert_eq!(statics(9_074_729), Some(9_074_729));
        // A wrong check digit is kept: the number still names the ship to an analyst.
        assert_eq!(statics(9_074_728), Some(9_074_728));
        assert_eq!(statics(1_073_741_823), None);
        assert_eq!(statics(12_345), None);
    }
}
