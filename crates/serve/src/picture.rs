//! The live picture: the latest position and static data of every vessel, a bounded ring of
//! its recent live positions (the part of its track not yet committed to the store), the
//! recent events, the data clock and the counters `/metrics` exports.
//!
//! The pipeline threads call the `on_*` methods; each takes the picture's lock for a few
//! hundred nanoseconds, never waits for a client: what the stream needs is handed to the
//! [`Hub`](crate::stream::Hub) in batches, which the clients' tasks filter and queue on their
//! own.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use store::EventRow;

use crate::stream::{Hub, Update};

/// Live positions kept per vessel for the uncommitted end of its track.
pub const RECENT_POSITIONS: usize = 256;
/// Recent events kept in the picture (by id; an update replaces its event).
pub const RECENT_EVENTS: usize = 1000;

/// One position report as the pipeline placed it.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePosition {
    /// MMSI.
    pub mmsi: u32,
    /// Message time, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Latitude, degrees (WGS84).
    pub lat: f64,
    /// Longitude, degrees (WGS84).
    pub lon: f64,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<f32>,
    /// Navigation status code (ITU-R M.1371).
    pub nav_status: Option<u8>,
    /// `A` or `B`.
    pub class: Option<char>,
    /// Source label (`feed/station`).
    pub source: String,
}

/// One static and voyage report (type 5, 19 or 24); `None` fields leave the known value alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveStatic {
    /// MMSI.
    pub mmsi: u32,
    /// Message time, ms.
    pub time_ms: i64,
    /// Name.
    pub name: Option<String>,
    /// Call sign.
    pub callsign: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// Ship type code (ITU).
    pub ship_type: Option<u8>,
    /// Length, metres.
    pub length_m: Option<f32>,
    /// Beam, metres.
    pub beam_m: Option<f32>,
    /// Destination.
    pub destination: Option<String>,
    /// Source label (`feed/station/talker`, as ingest writes it): who reported the values
    /// (issue 21: a principal sees a value only through a source releasable to it).
    pub source: String,
}

/// Identity values one source reported per vessel, at most (older ones are forgotten).
pub const CLAIMS_PER_SOURCE: usize = 32;
/// Sources remembered per vessel, at most (the one heard least recently is forgotten).
pub const SOURCES_PER_VESSEL: usize = 32;

/// What one source reported of one vessel in the live picture (issue 21): the state a
/// principal who may see only some sources is given is built from these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    /// Source label.
    pub source: Arc<str>,
    /// Its latest position of the vessel.
    pub fix: Option<Fix>,
    /// First message time from it, ms.
    pub first_ms: i64,
    /// Last message time from it, ms.
    pub last_ms: i64,
    /// Identity values it reported: (field as the registry names it, value as the registry
    /// stores it, last time reported), at most [`CLAIMS_PER_SOURCE`].
    pub claims: Vec<(&'static str, String, i64)>,
}

/// A position in the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Message time, ms.
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
    pub heading_deg: Option<f32>,
    /// Navigation status code.
    pub nav_status: Option<u8>,
}

/// One vessel of the picture.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveVessel {
    /// MMSI.
    pub mmsi: u32,
    /// `A` or `B`.
    pub class: Option<char>,
    /// ISO 3166 alpha-2 flag from the MMSI's MID.
    pub flag: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Call sign.
    pub callsign: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// Ship type code.
    pub ship_type: Option<u8>,
    /// Length, metres.
    pub length_m: Option<f32>,
    /// Beam, metres.
    pub beam_m: Option<f32>,
    /// Destination.
    pub destination: Option<String>,
    /// Latest position by message time.
    pub position: Option<Fix>,
    /// Live positions since the picture started, by time, at most [`RECENT_POSITIONS`].
    pub recent: VecDeque<Fix>,
    /// The source of each of `recent`, in the same order.
    pub recent_sources: VecDeque<Arc<str>>,
    /// Per source, what it reported live (empty for a vessel seeded from the store until it
    /// is heard again).
    pub by_source: Vec<SourceState>,
    /// First and last message time seen, ms.
    pub first_seen_ms: Option<i64>,
    /// Last message time seen, ms.
    pub last_seen_ms: Option<i64>,
}

impl LiveVessel {
    /// A vessel as the store's registry has it.
    pub fn from_row(r: store::VesselRow) -> LiveVessel {
        let position = match (r.position_time_ms, r.lat, r.lon) {
            (Some(t), Some(lat), Some(lon)) => Some(Fix {
                time_ms: t,
                lat,
                lon,
                sog_knots: r.sog_knots,
                cog_deg: r.cog_deg,
                heading_deg: r.heading_deg.map(f32::from),
                nav_status: r.nav_status,
            }),
            _ => None,
        };
        LiveVessel {
            mmsi: r.mmsi,
            class: r.class.as_deref().and_then(|c| c.chars().next()),
            flag: r.flag,
            name: r.name,
            callsign: r.callsign,
            imo: r.imo,
            ship_type: r.ship_type,
            length_m: r.length_m.map(f32::from),
            beam_m: r.beam_m.map(f32::from),
            destination: r.destination,
            position,
            recent: VecDeque::new(),
            recent_sources: VecDeque::new(),
            by_source: Vec::new(),
            first_seen_ms: r.first_seen_ms,
            last_seen_ms: r.last_seen_ms,
        }
    }
}

impl LiveVessel {
    /// The vessel as a registry row (for the formats the query layer writes: KML, CoT). The
    /// picture counts no reports, so `reports` is 0; lengths are rounded to whole metres.
    pub fn to_row(&self) -> store::VesselRow {
        let f = self.position;
        store::VesselRow {
            mmsi: self.mmsi,
            class: self.class.map(String::from),
            flag: self.flag.clone(),
            name: self.name.clone(),
            callsign: self.callsign.clone(),
            imo: self.imo,
            ship_type: self.ship_type,
            length_m: self.length_m.map(|l| l.round().clamp(0.0, 65_535.0) as u16),
            beam_m: self.beam_m.map(|b| b.round().clamp(0.0, 65_535.0) as u16),
            destination: self.destination.clone(),
            draught_m: None,
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            reports: 0,
            position_time_ms: f.map(|f| f.time_ms),
            lat: f.map(|f| f.lat),
            lon: f.map(|f| f.lon),
            sog_knots: f.and_then(|f| f.sog_knots),
            cog_deg: f.and_then(|f| f.cog_deg),
            ship_type_text: None,
            heading_deg: f
                .and_then(|f| f.heading_deg)
                .map(|h| h.round().clamp(0.0, 359.0) as u16),
            nav_status: f.and_then(|f| f.nav_status),
        }
    }
}

/// The ship category of an ITU ship type code: one of `fishing, tug, military,
/// law_enforcement, sailing, pleasure, hsc, passenger, cargo, tanker, other, unknown`.
pub fn ship_category(code: Option<u8>) -> &'static str {
    match code {
        None | Some(0) => "unknown",
        Some(30) => "fishing",
        Some(31 | 32 | 52) => "tug",
        Some(35) => "military",
        Some(55) => "law_enforcement",
        Some(36) => "sailing",
        Some(37) => "pleasure",
        Some(40..=49) => "hsc",
        Some(60..=69) => "passenger",
        Some(70..=79) => "cargo",
        Some(80..=89) => "tanker",
        Some(_) => "other",
    }
}

/// The categories [`ship_category`] returns.
pub const SHIP_CATEGORIES: [&str; 12] = [
    "fishing",
    "tug",
    "military",
    "law_enforcement",
    "sailing",
    "pleasure",
    "hsc",
    "passenger",
    "cargo",
    "tanker",
    "other",
    "unknown",
];

pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An `f32` as the decimal it was written from (`243.1`, not `243.10000610351562`).
pub(crate) fn dec(v: Option<f32>) -> Value {
    v.and_then(|x| x.to_string().parse::<f64>().ok())
        .map_or(Value::Null, Value::from)
}

/// An `f32` as [`dec`] writes it, for hand-written JSON.
fn dec_text(out: &mut String, v: Option<f32>) {
    use std::fmt::Write as _;
    match v {
        Some(x) if x.is_finite() => {
            let start = out.len();
            let _ = write!(out, "{x}");
            if !out[start..].contains(['.', 'e']) {
                out.push_str(".0");
            }
        }
        _ => out.push_str("null"),
    }
}

/// A stream position's JSON, written by hand (the stream's hot path: no `Value` tree):
/// the fields and numbers `serde_json` would give.
fn position_json(p: &LivePosition, name: Option<&str>, ship_type: Option<u8>) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(192);
    let _ = write!(
        out,
        "{{\"mmsi\":{},\"time\":\"{}\",\"lat\":{},\"lon\":{},\"sog_knots\":",
        p.mmsi,
        query::iso8601_ms(p.time_ms),
        Value::from(p.lat),
        Value::from(p.lon)
    );
    dec_text(&mut out, p.sog_knots);
    out.push_str(",\"cog_deg\":");
    dec_text(&mut out, p.cog_deg);
    out.push_str(",\"heading_deg\":");
    dec_text(&mut out, p.heading_deg);
    let num = |v: Option<u8>| v.map_or_else(|| "null".to_owned(), |v| v.to_string());
    let _ = write!(
        out,
        ",\"nav_status\":{},\"class\":{},\"ship_type\":{},\"ship_category\":\"{}\",\"name\":{}}}",
        num(p.nav_status),
        p.class
            .filter(char::is_ascii_alphabetic)
            .map_or_else(|| "null".to_owned(), |c| format!("\"{c}\"")),
        num(ship_type),
        ship_category(ship_type),
        serde_json::to_string(&name).unwrap_or_else(|_| "null".to_owned())
    );
    out
}

/// The stream's counters ([`Picture::stream_stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Clients connected now.
    pub clients: u64,
    /// Clients that ever connected.
    pub connections: u64,
    /// Updates written to clients.
    pub sent: u64,
    /// Positions coalesced away for slow clients.
    pub thinned: u64,
    /// Clients dropped, by reason (`queue_full`, `stalled`).
    pub dropped: BTreeMap<String, u64>,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub positions: AtomicU64,
    pub statics: AtomicU64,
    pub out_of_order: AtomicU64,
    pub rejects: Mutex<BTreeMap<String, u64>>,
    pub event_notices: Mutex<BTreeMap<String, u64>>,
    pub alerts: AtomicU64,
    /// Wall time of the last message, ms (0: none yet).
    pub last_message_wall_ms: AtomicI64,
}

#[derive(Debug, Default)]
struct State {
    vessels: HashMap<u32, LiveVessel>,
    /// Recent events by id, with the order they arrived in.
    events: HashMap<String, EventRow>,
    event_order: VecDeque<String>,
    /// The newest and the oldest message times, each as agreed by several vessels.
    newest: Extremes,
    oldest: Extremes,
}

/// How many vessels must have reached a time before it is the data clock's.
const CLOCK_QUORUM: usize = 3;

/// The [`CLOCK_QUORUM`] vessels with the most extreme message times (newest, or with
/// `oldest` the oldest), one entry a vessel. The clock is the most extreme of them within
/// [`Extremes::tolerance_ms`] of the least extreme, so one or two vessels' reports with a clock
/// years off (still inside ingest's bounds: a receiver set years ahead, a GPS week rollover
/// years behind) cannot move it, while ordinary spreads between vessels (a picture an hour
/// behind the live feed) count. With fewer vessels the clock is the extreme itself.
#[derive(Debug, Default)]
struct Extremes {
    oldest: bool,
    /// (MMSI, time), most extreme first.
    top: Vec<(u32, i64)>,
}

impl Extremes {
    fn oldest() -> Extremes {
        Extremes {
            oldest: true,
            top: Vec::new(),
        }
    }

    /// How far the clock may lie beyond the quorum's least extreme time: a day ahead, thirty
    /// days back (a store's history may start well before most of its vessels').
    fn tolerance_ms(&self) -> i64 {
        if self.oldest {
            30 * 86_400_000
        } else {
            86_400_000
        }
    }

    /// `a` is more extreme than `b`.
    fn beyond(&self, a: i64, b: i64) -> bool {
        if self.oldest {
            a < b
        } else {
            a > b
        }
    }

    fn see(&mut self, mmsi: u32, t: i64) {
        if let Some(i) = self.top.iter().position(|e| e.0 == mmsi) {
            if !self.beyond(t, self.top[i].1) {
                return;
            }
            self.top.remove(i);
        } else if self.top.len() == CLOCK_QUORUM && !self.beyond(t, self.top[CLOCK_QUORUM - 1].1) {
            return;
        }
        let at = self.top.partition_point(|e| !self.beyond(t, e.1));
        self.top.insert(at, (mmsi, t));
        self.top.truncate(CLOCK_QUORUM);
    }

    fn clock(&self) -> Option<i64> {
        if self.top.len() < CLOCK_QUORUM {
            return self.top.first().map(|e| e.1);
        }
        let least = self.top.last()?.1;
        self.top
            .iter()
            .map(|e| e.1)
            .find(|t| (t - least).abs() <= self.tolerance_ms())
    }
}

/// The live picture (see the module docs). Shared as `Arc<Picture>` between the pipeline
/// threads and the server.
#[derive(Debug)]
pub struct Picture {
    started: Instant,
    state: RwLock<State>,
    pub(crate) counters: Counters,
    pub(crate) hub: Hub,
}

impl Picture {
    /// A picture seeded from the store at `store_dir` (the registry's vessels with their
    /// latest positions and static data, the recent events). A directory that is not yet a
    /// store (a first run) gives an empty picture; a store that cannot be read is reported on
    /// stderr and counted as the reject `seed_failed`.
    pub fn new(store_dir: &Path) -> Arc<Picture> {
        let p = Arc::new(Picture::empty());
        if store_dir.join("registry.sqlite").is_file() {
            if let Err(e) = p.seed(store_dir) {
                eprintln!(
                    "serve: cannot seed the picture from {}: {e}",
                    store_dir.display()
                );
                p.on_reject("seed_failed", 1);
            }
        }
        p
    }

    /// An empty picture (no store).
    pub fn empty() -> Picture {
        Picture {
            started: Instant::now(),
            state: RwLock::new(State {
                oldest: Extremes::oldest(),
                ..State::default()
            }),
            counters: Counters::default(),
            hub: Hub::new(),
        }
    }

    fn seed(&self, dir: &Path) -> Result<(), query::QueryError> {
        let reader = query::Reader::open(dir)?;
        let vessels = reader.vessels(&query::VesselFilter::default())?;
        let events = reader.events(&store::EventQuery::default())?;
        let mut st = self.write();
        for v in vessels {
            let v = LiveVessel::from_row(v.row);
            if let Some(t) = v.last_seen_ms {
                st.newest.see(v.mmsi, t);
            }
            if let Some(t) = v.first_seen_ms {
                st.oldest.see(v.mmsi, t);
            }
            st.vessels.insert(v.mmsi, v);
        }
        // The newest events (by start) up to the ring's size, oldest first.
        let mut events = events;
        events.sort_by(|a, b| (a.start_ms, &a.id).cmp(&(b.start_ms, &b.id)));
        let skip = events.len().saturating_sub(RECENT_EVENTS);
        for e in events.into_iter().skip(skip) {
            remember_event(&mut st, e);
        }
        Ok(())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: keep serving it.
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn saw_message(&self, st: &mut State, mmsi: u32, time_ms: i64) {
        st.newest.see(mmsi, time_ms);
        st.oldest.see(mmsi, time_ms);
        self.counters
            .last_message_wall_ms
            .store(wall_ms(), Ordering::Relaxed);
    }

    /// A position report. Never blocks on a client. A position outside the globe (or not a
    /// number) is counted as the reject `invalid_position` and left out.
    pub fn on_position(&self, p: LivePosition) {
        if !(p.lat.is_finite()
            && p.lon.is_finite()
            && (-90.0..=90.0).contains(&p.lat)
            && (-180.0..=180.0).contains(&p.lon))
        {
            self.on_reject("invalid_position", 1);
            return;
        }
        self.counters.positions.fetch_add(1, Ordering::Relaxed);
        let fix = Fix {
            time_ms: p.time_ms,
            lat: p.lat,
            lon: p.lon,
            sog_knots: p.sog_knots,
            cog_deg: p.cog_deg,
            heading_deg: p.heading_deg,
            nav_status: p.nav_status,
        };
        let update = {
            let mut st = self.write();
            self.saw_message(&mut st, p.mmsi, p.time_ms);
            let v = st.vessels.entry(p.mmsi).or_insert_with(|| LiveVessel {
                mmsi: p.mmsi,
                flag: ais::Mmsi(p.mmsi).flag().map(|f| f.iso2.to_owned()),
                ..LiveVessel::default()
            });
            if p.class.is_some() {
                v.class = p.class;
            }
            v.first_seen_ms = Some(v.first_seen_ms.map_or(p.time_ms, |t| t.min(p.time_ms)));
            v.last_seen_ms = Some(v.last_seen_ms.map_or(p.time_ms, |t| t.max(p.time_ms)));
            let latest = v.position.is_none_or(|q| q.time_ms <= p.time_ms);
            if latest {
                v.position = Some(fix);
            }
            let src = source_state(&mut v.by_source, &p.source, p.time_ms);
            let newest_of_source = src.fix.is_none_or(|q| q.time_ms <= p.time_ms);
            if newest_of_source {
                src.fix = Some(fix);
            }
            let src_name = src.source.clone();
            let src_data = newest_of_source.then(|| source_identity(src));
            // The ring stays in time order: a late position goes to its place.
            match v.recent.back() {
                Some(b) if b.time_ms > p.time_ms => {
                    self.counters.out_of_order.fetch_add(1, Ordering::Relaxed);
                    let i = v.recent.partition_point(|q| q.time_ms <= p.time_ms);
                    v.recent.insert(i, fix);
                    v.recent_sources.insert(i, src_name.clone());
                }
                _ => {
                    v.recent.push_back(fix);
                    v.recent_sources.push_back(src_name.clone());
                }
            }
            if v.recent.len() > RECENT_POSITIONS {
                v.recent.pop_front();
                v.recent_sources.pop_front();
            }
            // Only the newest position of a vessel moves it on the open clients' maps; the
            // newest of each source moves it for principals who see only some sources
            // (their frame carries the identity that source reported). The frames are made
            // after the lock is released, and only while someone listens.
            let restricted = self.hub.restricted_clients() > 0;
            match (latest, src_data) {
                _ if !self.hub.listening() => None,
                // Not the vessel's newest, and nobody who sees only some sources listens.
                (false, None) => None,
                (false, Some(_)) if !restricted => None,
                (_, src_data) => Some((
                    latest,
                    v.name.clone(),
                    v.ship_type,
                    src_data.filter(|_| restricted).map(|d| (src_name, d)),
                )),
            }
        };
        let update = update.map(|(latest, name, ship_type, src)| {
            let mut u = Update::position_json(
                p.mmsi,
                p.lat,
                p.lon,
                &position_json(&p, name.as_deref(), ship_type),
            );
            u.newest = latest;
            if let Some((src_name, (name, st))) = src {
                u.set_source_json(src_name, &position_json(&p, name.as_deref(), st));
            }
            u
        });
        if let Some(u) = update {
            self.hub.publish(u);
        }
    }

    /// A static and voyage report: the given fields replace the vessel's.
    pub fn on_static(&self, s: LiveStatic) {
        self.counters.statics.fetch_add(1, Ordering::Relaxed);
        let mut st = self.write();
        self.saw_message(&mut st, s.mmsi, s.time_ms);
        let v = st.vessels.entry(s.mmsi).or_insert_with(|| LiveVessel {
            mmsi: s.mmsi,
            flag: ais::Mmsi(s.mmsi).flag().map(|f| f.iso2.to_owned()),
            ..LiveVessel::default()
        });
        v.first_seen_ms = Some(v.first_seen_ms.map_or(s.time_ms, |t| t.min(s.time_ms)));
        v.last_seen_ms = Some(v.last_seen_ms.map_or(s.time_ms, |t| t.max(s.time_ms)));
        let src = source_state(&mut v.by_source, &s.source, s.time_ms);
        for (field, value) in static_claims(&s) {
            match src.claims.iter_mut().find(|c| c.0 == field && c.1 == value) {
                Some(c) => c.2 = c.2.max(s.time_ms),
                None => {
                    if src.claims.len() >= CLAIMS_PER_SOURCE {
                        if let Some(i) = (0..src.claims.len()).min_by_key(|&i| src.claims[i].2) {
                            src.claims.swap_remove(i);
                        }
                    }
                    src.claims.push((field, value, s.time_ms));
                }
            }
        }
        macro_rules! set {
            ($($f:ident),*) => { $( if s.$f.is_some() { v.$f = s.$f.clone(); } )* };
        }
        set!(
            name,
            callsign,
            imo,
            ship_type,
            length_m,
            beam_m,
            destination
        );
    }

    /// Events newly committed or updated by the pipeline: kept in the recent events (an
    /// update replaces its event) and sent to the stream's clients.
    pub fn on_events(&self, events: &[EventRow]) {
        {
            let mut notices = self
                .counters
                .event_notices
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            for e in events {
                *notices.entry(e.kind.clone()).or_default() += 1;
            }
        }
        {
            let mut st = self.write();
            for e in events {
                remember_event(&mut st, e.clone());
            }
        }
        for e in events {
            let (mut props, at) = event_properties(e);
            if let Some((lat, lon)) = at {
                props.insert("lat".to_owned(), json!(lat));
                props.insert("lon".to_owned(), json!(lon));
            }
            let mut u = Update::event(&e.kind, &Value::Object(props));
            u.row = Some(Arc::new(e.clone()));
            self.hub.publish(u);
        }
    }

    /// Forgets the recent events `gone` returns true for (withdrawn from the store by another
    /// writer: a dark vessel matched to AIS since, or one a partner link no longer brings), so
    /// the API stops listing them.
    pub fn forget_events(&self, mut gone: impl FnMut(&EventRow) -> bool) {
        let mut st = self.write();
        let ids: Vec<String> = st
            .events
            .values()
            .filter(|e| gone(e))
            .map(|e| e.id.clone())
            .collect();
        for id in &ids {
            st.events.remove(id);
        }
        if !ids.is_empty() {
            let State {
                events,
                event_order,
                ..
            } = &mut *st;
            event_order.retain(|id| events.contains_key(id));
        }
    }

    /// An alert raised by a rule for an event: sent to the stream's clients as
    /// `event: alert`, data `{"rule", "event": <event properties>}`, with `stage` and
    /// `fired_at` (wall clock, RFC 3339) when `fired` gives them, as a webhook's body has them.
    pub fn on_alert(&self, rule: &str, fired: Option<(&str, &str)>, event: &EventRow) {
        self.counters.alerts.fetch_add(1, Ordering::Relaxed);
        let (mut props, at) = event_properties(event);
        if let Some((lat, lon)) = at {
            props.insert("lat".to_owned(), json!(lat));
            props.insert("lon".to_owned(), json!(lon));
        }
        let mut alert = Map::new();
        alert.insert("rule".to_owned(), json!(rule));
        if let Some((stage, fired_at)) = fired {
            alert.insert("stage".to_owned(), json!(stage));
            alert.insert("fired_at".to_owned(), json!(fired_at));
        }
        let mut data = alert.clone();
        data.insert("event".to_owned(), Value::Object(props));
        let mut u = Update::alert(&Value::Object(data));
        u.row = Some(Arc::new(event.clone()));
        u.alert = Some(Arc::new(alert));
        self.hub.publish(u);
    }

    /// `n` inputs rejected by the pipeline for `reason` (exported by `/metrics`).
    pub fn on_reject(&self, reason: &str, n: u64) {
        let mut r = self
            .counters
            .rejects
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match r.get_mut(reason) {
            Some(c) => *c += n,
            None => {
                r.insert(reason.to_owned(), n);
            }
        }
    }

    /// Sends the positions waiting for the stream now (the server calls this every few
    /// milliseconds; a full batch goes at once).
    pub fn flush(&self) {
        self.hub.flush();
    }

    /// The data clock: the newest message time seen (in the store or live) by at least three
    /// vessels (by every vessel while there are fewer), ms.
    pub fn data_time_ms(&self) -> Option<i64> {
        self.read().newest.clock()
    }

    /// The oldest message time seen (in the store or live), as the data clock: by at least
    /// three vessels, ms.
    pub fn data_from_ms(&self) -> Option<i64> {
        self.read().oldest.clock()
    }

    /// Vessels in the picture.
    pub fn vessel_count(&self) -> usize {
        self.read().vessels.len()
    }

    /// Seconds since the picture was made.
    pub fn uptime_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Wall-clock ms since the last message reached the picture (`None` before any).
    pub fn lag_ms(&self) -> Option<i64> {
        match self.counters.last_message_wall_ms.load(Ordering::Relaxed) {
            0 => None,
            t => Some((wall_ms() - t).max(0)),
        }
    }

    /// One vessel, cloned.
    pub fn vessel(&self, mmsi: u32) -> Option<LiveVessel> {
        self.read().vessels.get(&mmsi).cloned()
    }

    /// The vessels `keep` takes (cloned, without their recent positions), by MMSI, at most
    /// `limit`.
    pub fn vessels_where(
        &self,
        limit: usize,
        mut keep: impl FnMut(&LiveVessel) -> bool,
    ) -> Vec<LiveVessel> {
        let st = self.read();
        let mut keys: Vec<u32> = st
            .vessels
            .values()
            .filter(|v| keep(v))
            .map(|v| v.mmsi)
            .collect();
        keys.sort_unstable();
        keys.truncate(limit);
        keys.iter()
            .filter_map(|k| st.vessels.get(k))
            .map(|v| LiveVessel {
                recent: VecDeque::new(),
                recent_sources: VecDeque::new(),
                ..v.clone()
            })
            .collect()
    }

    /// The recent events `keep` takes, newest (by start) first.
    pub fn recent_events(&self, mut keep: impl FnMut(&EventRow) -> bool) -> Vec<EventRow> {
        let st = self.read();
        let mut out: Vec<EventRow> = st.events.values().filter(|e| keep(e)).cloned().collect();
        out.sort_by(|a, b| (b.start_ms, &b.id).cmp(&(a.start_ms, &a.id)));
        out
    }

    /// The stream's counters now.
    pub fn stream_stats(&self) -> StreamStats {
        let c = &self.hub.counters;
        StreamStats {
            clients: c.clients.load(Ordering::Relaxed),
            connections: c.connections.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            thinned: c.thinned.load(Ordering::Relaxed),
            dropped: c
                .dropped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }
}

/// The state of `source` in a vessel's list, made when new (the list is bounded: the source
/// heard least recently makes room). `time_ms` widens its first and last times.
fn source_state<'v>(
    list: &'v mut Vec<SourceState>,
    source: &str,
    time_ms: i64,
) -> &'v mut SourceState {
    let i = match list.iter().position(|s| &*s.source == source) {
        Some(i) => i,
        None => {
            if list.len() >= SOURCES_PER_VESSEL {
                if let Some(old) = (0..list.len()).min_by_key(|&i| list[i].last_ms) {
                    list.swap_remove(old);
                }
            }
            list.push(SourceState {
                source: source.into(),
                fix: None,
                first_ms: time_ms,
                last_ms: time_ms,
                claims: Vec::new(),
            });
            list.len() - 1
        }
    };
    let s = &mut list[i];
    s.first_ms = s.first_ms.min(time_ms);
    s.last_ms = s.last_ms.max(time_ms);
    s
}

/// The newest name and ship type one source reported (for its position frames).
fn source_identity(s: &SourceState) -> (Option<String>, Option<u8>) {
    let newest = |field: &str| {
        s.claims
            .iter()
            .filter(|c| c.0 == field)
            .max_by_key(|c| c.2)
            .map(|c| c.1.clone())
    };
    (
        newest("name"),
        newest("ship_type").and_then(|t| t.parse().ok()),
    )
}

/// The identity values of a static report as the registry's `identity_sources` names and
/// writes them (dimensions `LxB`).
fn static_claims(s: &LiveStatic) -> Vec<(&'static str, String)> {
    let text = |v: &Option<String>| v.as_ref().filter(|x| !x.is_empty()).cloned();
    let mut out = Vec::new();
    let mut put = |f: &'static str, v: Option<String>| {
        if let Some(v) = v {
            out.push((f, v));
        }
    };
    put("name", text(&s.name));
    put("callsign", text(&s.callsign));
    put("imo", s.imo.map(|v| v.to_string()));
    put("ship_type", s.ship_type.map(|v| v.to_string()));
    put(
        "dimensions",
        match (s.length_m, s.beam_m) {
            (Some(l), Some(b)) => Some(format!("{l}x{b}")),
            _ => None,
        },
    );
    put("destination", text(&s.destination));
    out
}

fn remember_event(st: &mut State, e: EventRow) {
    if st.events.insert(e.id.clone(), e.clone()).is_none() {
        st.event_order.push_back(e.id);
        if st.event_order.len() > RECENT_EVENTS {
            if let Some(old) = st.event_order.pop_front() {
                st.events.remove(&old);
            }
        }
    }
}

/// An event's API properties `{"id","type","start","end","open","mmsis","zones","summary",
/// "detail"}` and its place (lat, lon) when the stored JSON has one.
pub fn event_properties(e: &EventRow) -> (Map<String, Value>, Option<(f64, f64)>) {
    let detail: Value = serde_json::from_str(&e.json).unwrap_or(Value::Null);
    let at = match (
        detail.get("lat").and_then(Value::as_f64),
        detail.get("lon").and_then(Value::as_f64),
    ) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        _ => None,
    };
    let mut m = Map::new();
    m.insert("id".to_owned(), json!(e.id));
    m.insert("type".to_owned(), json!(e.kind));
    m.insert("start".to_owned(), json!(query::iso8601_ms(e.start_ms)));
    m.insert("end".to_owned(), json!(e.end_ms.map(query::iso8601_ms)));
    m.insert("open".to_owned(), json!(e.open));
    m.insert("mmsis".to_owned(), json!(e.mmsis));
    m.insert("zones".to_owned(), json!(e.zones));
    m.insert("summary".to_owned(), json!(summary(e, &detail)));
    m.insert("detail".to_owned(), detail);
    (m, at)
}

/// One human line: `escort: 412000001 with 412000002, 3.2 h`, `ais_gap: 412000001, 5.0 h in
/// Scarborough Shoal`, `swarm: 40 vessels, 2.0 h`.
pub fn summary(e: &EventRow, detail: &Value) -> String {
    if e.mmsis.is_empty() {
        // A satellite radar's dark vessel: what was seen, where.
        let mut s = format!("{}: no AIS", e.kind);
        if let Some(l) = detail.get("length_m").and_then(Value::as_f64) {
            s.push_str(&format!(", about {l:.0} m long"));
        }
        if let Some(d) = detail.get("detection_id").and_then(Value::as_str) {
            s.push_str(&format!(" (detection {d})"));
        }
        if let Some(z) = e.zones.first() {
            s.push_str(" in ");
            s.push_str(z);
        }
        return s;
    }
    let who = match e.mmsis.as_slice() {
        [] => String::new(),
        [a] => format!("{a}"),
        [a, b] => format!("{a} with {b}"),
        many => format!("{} vessels", many.len()),
    };
    let last = detail.get("last_ms").and_then(Value::as_i64);
    let end = e.end_ms.or(last).unwrap_or(e.start_ms);
    let hours = (end - e.start_ms).max(0) as f64 / 3_600_000.0;
    let mut s = format!("{}: {who}, {hours:.1} h", e.kind);
    if e.open {
        s.push_str(" (open)");
    }
    if let Some(z) = e.zones.first() {
        s.push_str(" in ");
        s.push_str(z);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(mmsi: u32, t: i64) -> LivePosition {
        LivePosition {
            mmsi,
            time_ms: t,
            lat: 10.0,
            lon: 110.0,
            sog_knots: Some(12.3),
            cog_deg: None,
            heading_deg: None,
            nav_status: None,
            class: Some('A'),
            source: "test".to_owned(),
        }
    }

    #[test]
    fn the_hand_written_position_json_says_what_serde_json_would() {
        for (sog, cog, heading, name) in [
            (
                Some(12.3),
                Some(243.1),
                Some(511.0),
                Some("SEA \"STAR\"\n\u{1}"),
            ),
            (Some(0.0), None, Some(7.0), None),
            (None, Some(f32::NAN), None, Some("")),
        ] {
            let p = LivePosition {
                sog_knots: sog,
                cog_deg: cog,
                heading_deg: heading,
                lat: -12.345678912,
                lon: 179.999999,
                ..pos(412000001, 1_700_000_000_123)
            };
            let want = json!({
                "mmsi": p.mmsi, "time": query::iso8601_ms(p.time_ms), "lat": p.lat, "lon": p.lon,
                "sog_knots": dec(p.sog_knots), "cog_deg": dec(p.cog_deg),
                "heading_deg": dec(p.heading_deg), "nav_status": p.nav_status,
                "class": p.class.map(String::from), "ship_type": 70,
                "ship_category": ship_category(Some(70)), "name": name,
            });
            let got: Value = serde_json::from_str(&position_json(&p, name, Some(70))).unwrap();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn one_vessel_with_a_wrong_clock_cannot_move_the_data_clock() {
        let p = Picture::empty();
        const Y2021: i64 = 1_609_459_200_000;
        for (mmsi, t) in [(1, 0), (2, 60_000), (3, 120_000), (4, 30_000), (1, 180_000)] {
            p.on_position(pos(mmsi, Y2021 + t));
        }
        assert_eq!(p.data_time_ms(), Some(Y2021 + 180_000));
        // A report five years ahead from one vessel (still inside ingest's bounds), and one
        // decades behind from another: the clock stays with the rest.
        p.on_position(pos(5, Y2021 + 5 * 365 * 86_400_000));
        p.on_position(pos(6, 946_684_800_000));
        assert_eq!(p.data_time_ms(), Some(Y2021 + 180_000));
        assert_eq!(p.data_from_ms(), Some(Y2021));
        // The others moving on move it.
        p.on_position(pos(2, Y2021 + 240_000));
        p.on_position(pos(3, Y2021 + 300_000));
        assert_eq!(p.data_time_ms(), Some(Y2021 + 300_000));
    }

    #[test]
    fn the_data_clock_is_the_newest_message_time_and_late_positions_keep_the_ring_in_order() {
        let p = Picture::empty();
        p.on_position(pos(412000001, 2_000));
        p.on_position(pos(412000001, 1_000));
        p.on_position(pos(412000001, 3_000));
        assert_eq!(p.data_time_ms(), Some(3_000));
        assert_eq!(p.data_from_ms(), Some(1_000));
        let v = p.vessel(412000001).unwrap();
        assert_eq!(v.position.unwrap().time_ms, 3_000);
        let times: Vec<i64> = v.recent.iter().map(|f| f.time_ms).collect();
        assert_eq!(times, [1_000, 2_000, 3_000]);
        assert_eq!(v.flag.as_deref(), Some("CN"));
        assert_eq!(v.class, Some('A'));
    }

    #[test]
    fn the_ring_of_recent_positions_is_bounded() {
        let p = Picture::empty();
        for t in 0..(RECENT_POSITIONS as i64 + 100) {
            p.on_position(pos(1, t));
        }
        let v = p.vessel(1).unwrap();
        assert_eq!(v.recent.len(), RECENT_POSITIONS);
        assert_eq!(v.recent.front().unwrap().time_ms, 100);
    }

    #[test]
    fn a_position_off_the_globe_is_counted_not_kept() {
        let p = Picture::empty();
        let mut bad = pos(5, 1);
        bad.lat = 91.0;
        p.on_position(bad);
        let mut nan = pos(5, 2);
        nan.lon = f64::NAN;
        p.on_position(nan);
        assert!(p.vessel(5).is_none());
        assert_eq!(p.counters.rejects.lock().unwrap()["invalid_position"], 2);
    }

    #[test]
    fn statics_fill_only_the_fields_they_carry() {
        let p = Picture::empty();
        p.on_static(LiveStatic {
            mmsi: 7,
            time_ms: 5,
            name: Some("A".to_owned()),
            ship_type: Some(80),
            ..LiveStatic::default()
        });
        p.on_static(LiveStatic {
            mmsi: 7,
            time_ms: 6,
            destination: Some("SG".to_owned()),
            ..LiveStatic::default()
        });
        let v = p.vessel(7).unwrap();
        assert_eq!(v.name.as_deref(), Some("A"));
        assert_eq!(v.ship_type, Some(80));
        assert_eq!(v.destination.as_deref(), Some("SG"));
    }

    #[test]
    fn categories() {
        assert_eq!(ship_category(Some(30)), "fishing");
        assert_eq!(ship_category(Some(55)), "law_enforcement");
        assert_eq!(ship_category(Some(84)), "tanker");
        assert_eq!(ship_category(Some(99)), "other");
        assert_eq!(ship_category(None), "unknown");
        for c in 0..=255u8 {
            assert!(SHIP_CATEGORIES.contains(&ship_category(Some(c))));
        }
    }

    #[test]
    fn summaries_read_as_one_line() {
        let e = EventRow {
            id: "1".to_owned(),
            kind: "escort".to_owned(),
            start_ms: 0,
            end_ms: Some(11_520_000),
            open: false,
            mmsis: vec![412000001, 412000002],
            zones: vec![],
            json: "{}".to_owned(),
        };
        assert_eq!(
            summary(&e, &Value::Null),
            "escort: 412000001 with 412000002, 3.2 h"
        );
    }
}
