//! The writing half of ingest: fused records → vessel state, segments and position rows.

use super::report::Report;
use super::{FLAG_BAD_POSITION, FLAG_LONG_RANGE_NOISE, FLAG_NO_COURSE, FLAG_SUSPECT_POSITION};
use ais::Mmsi;
use anyhow::Result;
use rustc_hash::{FxHashMap, FxHashSet};
use store::{
    IdentityRow, IdentitySourceRow, LateSourceRow, OpenSegmentRow, PositionRow, RegistryDb,
    SegmenterRow, Store, StoreError, VesselRow, VesselSourceRow, WrittenFiles,
};
use track::fuse::{Fused, Output, SourceRef, StationId};
use track::segment::{
    Fix, InvalidReason, OpenSegment, Placement, SegmentId, Segmenter, SegmenterConfig,
    SegmenterState, Transponder,
};
use track::vessel::{Class, PositionUpdate, Positions, Registry, StaticUpdate, Vessel};

/// What the writer counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    pub positions: u64,
    pub static_reports: u64,
    /// Static reports an earlier run stored from the same feeds (a grown log, a file sent
    /// again): counted once, there.
    pub static_known: u64,
    pub flagged: u64,
    pub segments: u64,
    /// Late copies whose position was already in a file: kept in the registry.
    pub late_sources_stored: u64,
}

/// Buffers being written to files at once. Two: when writing one buffer's files takes longer
/// than filling the next (it shares the two cores with reading and tracking), the writer goes
/// on with a third instead of waiting, and the reader behind it with it. One in flight left
/// both idle for up to 150 ms a flush.
const FILES_IN_FLIGHT: usize = 2;

/// Writes a buffer's files on a thread of its own (named for profiles).
fn spawn_files(
    pending: store::PendingFiles,
) -> Result<std::thread::JoinHandle<Result<WrittenFiles, StoreError>>> {
    Ok(std::thread::Builder::new()
        .name("ingest-files".to_owned())
        .spawn(move || pending.write())?)
}

/// Buffers' files being written in the background, oldest first: they are listed in the
/// store's manifest in the order they were taken, so part numbers stay in order.
#[derive(Debug, Default)]
pub(super) struct FilesInFlight(
    std::collections::VecDeque<std::thread::JoinHandle<Result<WrittenFiles, StoreError>>>,
);

impl FilesInFlight {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn push(&mut self, pending: store::PendingFiles) -> Result<()> {
        self.0.push_back(spawn_files(pending)?);
        Ok(())
    }

    /// Waits for the oldest buffer's files and lists them.
    fn list_oldest(&mut self, store: &mut Store) -> Result<()> {
        if let Some(h) = self.0.pop_front() {
            let files = h
                .join()
                .map_err(|_| anyhow::anyhow!("the file writing thread panicked"))??;
            store.add_files(files)?;
        }
        Ok(())
    }

    /// Waits for every buffer's files and lists them: after this the run's files are durable
    /// and in the manifest, ready for the registry's commit.
    pub fn list_all(mut self, store: &mut Store) -> Result<()> {
        while !self.0.is_empty() {
            self.list_oldest(store)?;
        }
        Ok(())
    }
}

/// One station's positions of one vessel in this run: first time, count, latest.
struct SourceSeen {
    first_ms: i64,
    positions: u64,
    latest: PositionUpdate,
}

/// An identity value a station reported: the value, first and last message time (ms).
type SeenValue = (String, i64, i64);

/// Vessel registry, segmenters and the position store of one run.
pub(super) struct Writer<'a> {
    store: &'a mut Store,
    db: &'a RegistryDb,
    /// Identity provenance of earlier runs, read per vessel at its first static report of
    /// the run (`None`: the store has none).
    stored_claims: Option<FxHashMap<u32, Vec<IdentitySourceRow>>>,
    /// Files being written in the background (at most [`FILES_IN_FLIGHT`]).
    inflight: FilesInFlight,
    registry: Registry,
    /// Per MMSI: what a position report updates, in one place.
    slots: FxHashMap<u32, Slot>,
    seg_cfg: std::sync::Arc<SegmenterConfig>,
    flush_rows: usize,
    /// MMSIs this run gave static data.
    touched: FxHashSet<u32>,
    /// Source labels by station id (grows as the reader interns new ones).
    pub labels: Vec<String>,
    /// The same labels, shared with detection's fixes (filled up to `labels` as used).
    shared_labels: Vec<detect::Label>,
    /// The store's id of each label, once used.
    label_ids: Vec<Option<u32>>,
    scratch: Vec<u32>,
    late: Vec<LateSourceRow>,
    /// Identity provenance (issue 21): per (MMSI, station), each value that station reported
    /// for each field (an index into [`IDENTITY_FIELDS`]) with its first and last message
    /// times. A handful each, so a scan: one lookup per source of a static report, not one
    /// per field (each missed the cache).
    identity_sources: FxHashMap<(u32, u32), Vec<(u8, SeenValue)>>,
    pub counts: Written,
    /// Detection, fed after segmentation (`None`: `--no-detect`).
    pub detect: Option<crate::detecting::Background>,
}

impl<'a> Writer<'a> {
    /// A writer continuing from the registry's stored vessels and segmenter states, writing a
    /// file every `flush_rows` positions.
    pub fn new(store: &'a mut Store, db: &'a RegistryDb, flush_rows: usize) -> Result<Self> {
        let mut registry = Registry::new();
        for v in db.vessels(None)? {
            registry.insert(v.mmsi, vessel_from_row(&v));
        }
        let seg_cfg = std::sync::Arc::new(SegmenterConfig::default());
        let slots = db
            .segmenters()?
            .into_iter()
            .map(|s| {
                let seg = Segmenter::resume(seg_cfg.clone(), state_from_row(&s));
                (s.mmsi, Slot::new(seg))
            })
            .collect();
        let stored_claims = db.has_identity_sources()?.then(FxHashMap::default);
        Ok(Writer {
            store,
            db,
            stored_claims,
            inflight: Default::default(),
            registry,
            slots,
            seg_cfg,
            flush_rows,
            touched: FxHashSet::default(),
            labels: Vec::new(),
            shared_labels: Vec::new(),
            label_ids: Vec::new(),
            scratch: Vec::new(),
            late: Vec::new(),
            identity_sources: FxHashMap::default(),
            counts: Written::default(),
            detect: None,
        })
    }

    /// Takes a batch of the fuser's output in order, leaving `outputs` empty. While one
    /// record is taken, the next one's slot is brought into cache ([`ais::prefetch`]):
    /// consecutive records are of different vessels, and the slot's lookup and its station
    /// lists were the writer's costliest loads, each waiting for memory in turn.
    pub fn take_batch(&mut self, outputs: &mut Vec<Output<Report>>) -> Result<()> {
        let mut it = outputs.drain(..).peekable();
        while let Some(o) = it.next() {
            if let Some(Output::Record(next)) = it.peek() {
                if let Some(slot) = self.slots.get(&next.mmsi) {
                    ais::prefetch(slot);
                    ais::prefetch(slot.stations.as_slice());
                    ais::prefetch(slot.by_source.as_slice());
                }
            }
            self.take(o)?;
        }
        Ok(())
    }

    /// Takes one output of the fuser.
    fn take(&mut self, o: Output<Report>) -> Result<()> {
        match o {
            Output::Record(r) => self.record(r),
            Output::LateSource {
                mmsi,
                time_ms,
                source,
                position,
                ..
            } => {
                let id = self.source_id(&source);
                if !self.store.add_source_id(mmsi, time_ms, position, id) {
                    self.counts.late_sources_stored += 1;
                    self.late.push(LateSourceRow {
                        mmsi,
                        time_ms,
                        source: self.label(&source).to_owned(),
                        position,
                    });
                }
                Ok(())
            }
        }
    }

    /// The store's id for the label of `s`.
    fn source_id(&mut self, s: &SourceRef) -> u32 {
        let i = s.station.map_or(usize::MAX, StationId::index);
        if let Some(Some(id)) = self.label_ids.get(i) {
            return *id;
        }
        let label = s
            .station
            .and_then(|i| self.labels.get(i.index()))
            .map_or("", String::as_str);
        let id = self.store.source_id(label);
        if i < self.labels.len() {
            if self.label_ids.len() <= i {
                self.label_ids.resize(i + 1, None);
            }
            self.label_ids[i] = Some(id);
        }
        id
    }

    fn label(&self, s: &SourceRef) -> &str {
        s.station
            .and_then(|i| self.labels.get(i.index()))
            .map_or("", String::as_str)
    }

    /// The label of `s`, shared.
    fn shared_label(&mut self, s: &SourceRef) -> detect::Label {
        let have = self.shared_labels.len();
        if have < self.labels.len() {
            self.shared_labels.extend(
                self.labels[have..]
                    .iter()
                    .map(|l| detect::Label::from(l.as_str())),
            );
        }
        s.station
            .and_then(|i| self.shared_labels.get(i.index()))
            .cloned()
            .unwrap_or_else(|| "".into())
    }

    /// Records which sources reported the identity values of a static report.
    fn note_identity_sources(
        &mut self,
        mmsi: u32,
        time_ms: i64,
        values: &[(u8, String)],
        sources: &[SourceRef],
    ) {
        for src in sources {
            let station = src.station.map_or(u32::MAX, |i| i.index() as u32);
            let list = self.identity_sources.entry((mmsi, station)).or_default();
            for (field, value) in values {
                match list
                    .iter_mut()
                    .find(|(f, (v, ..))| f == field && v == value)
                {
                    Some((_, (_, first, last))) => {
                        *first = (*first).min(time_ms);
                        *last = (*last).max(time_ms);
                    }
                    None => list.push((*field, (value.clone(), time_ms, time_ms))),
                }
            }
        }
    }

    /// Whether an earlier run stored this static report: every feed that delivers it now
    /// told every value it carries over a span of times that includes its time. Stored static
    /// reports are not kept one by one; their provenance is, and a feed that repeats itself
    /// (a grown log, a file sent again) repeats the report with its time. Counting it again
    /// would add to the vessel's reports, and applying it after a newer value would record
    /// a change back to the old one.
    fn stored_already(
        &mut self,
        mmsi: u32,
        t: i64,
        values: &[(u8, String)],
        sources: &[SourceRef],
    ) -> Result<bool> {
        let Some(cache) = &mut self.stored_claims else {
            return Ok(false);
        };
        if values.is_empty() || sources.is_empty() {
            return Ok(false);
        }
        let claims = match cache.entry(mmsi) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(self.db.identity_sources(mmsi)?)
            }
        };
        let labels = &self.labels;
        Ok(sources.iter().all(|src| {
            let label = src
                .station
                .and_then(|i| labels.get(i.index()))
                .map_or("", String::as_str);
            values.iter().all(|(field, value)| {
                claims.iter().any(|c| {
                    c.source == label
                        && c.field == IDENTITY_FIELDS[*field as usize]
                        && c.value == *value
                        && (c.first_ms..=c.last_ms).contains(&t)
                })
            })
        }))
    }

    fn record(&mut self, r: Fused<Report>) -> Result<()> {
        let p = match r.payload {
            Report::Static(s) => {
                let values = identity_values(&s);
                if self.stored_already(r.mmsi, s.time_ms, &values, &r.sources)? {
                    self.counts.static_known += 1;
                    return Ok(());
                }
                self.touched.insert(r.mmsi);
                self.counts.static_reports += 1;
                // The positions before it first, so that the registry sees reports in order.
                if let Some(slot) = self.slots.get_mut(&r.mmsi) {
                    slot.positions.apply(r.mmsi, &mut self.registry);
                }
                self.note_identity_sources(r.mmsi, s.time_ms, &values, &r.sources);
                let before = self.registry.get(r.mmsi).map_or(0, |v| v.history.len());
                self.registry.static_data(r.mmsi, *s);
                let updates = match (&self.detect, self.registry.get(r.mmsi)) {
                    (Some(_), Some(v)) => crate::detecting::identity_updates(
                        v.history
                            .iter()
                            .skip(before)
                            .map(|ch| (r.mmsi, ch.time_ms, ch.field.as_str(), ch.new.as_str())),
                    ),
                    _ => Vec::new(),
                };
                if !updates.is_empty() {
                    // The feeds of the report's copies, in the order a recompute lists them.
                    let mut sources: Vec<detect::Label> =
                        r.sources.iter().map(|s| self.shared_label(s)).collect();
                    crate::detecting::sort_labels(&mut sources);
                    if let Some(hook) = &mut self.detect {
                        for mut u in updates {
                            u.sources = sources.iter().copied().collect();
                            hook.identity(u);
                        }
                    }
                }
                return Ok(());
            }
            Report::Position(p) => p,
        };
        let seg_cfg = &self.seg_cfg;
        let slot = self
            .slots
            .entry(r.mmsi)
            .or_insert_with(|| Slot::new(Segmenter::new(seg_cfg.clone())));
        slot.used = true;
        let placement = slot.seg.push(&Fix {
            t_ms: r.time_ms,
            lat: p.lat,
            lon: p.lon,
            sog_knots: p.sog_knots,
            cog_deg: p.cog_deg,
            transponder: p.transponder,
        });
        let flags = match placement {
            Placement::Started(..) => {
                self.counts.segments += 1;
                0
            }
            Placement::Joined(_) => 0,
            Placement::Noise(_) => FLAG_LONG_RANGE_NOISE,
            Placement::Invalid(InvalidReason::BadPosition) => FLAG_BAD_POSITION,
            Placement::Invalid(InvalidReason::NoCourseWhileMoving) => FLAG_NO_COURSE,
            Placement::Invalid(InvalidReason::NullIsland | InvalidReason::Spike) => {
                FLAG_SUSPECT_POSITION
            }
        };
        if flags != 0 {
            self.counts.flagged += 1;
        }
        if flags & (FLAG_BAD_POSITION | FLAG_SUSPECT_POSITION) == 0 {
            let update = PositionUpdate {
                time_ms: r.time_ms,
                lat: p.lat,
                lon: p.lon,
                sog_knots: p.sog_knots,
                cog_deg: p.cog_deg,
                heading_deg: p.heading_deg,
                nav_status: p.nav_status,
                class: p.class,
            };
            for src in &r.sources {
                let station = src.station.map_or(u32::MAX, |i| i.index() as u32);
                match slot.stations.iter().position(|&s| s == station) {
                    Some(i) => {
                        let s = &mut slot.by_source[i];
                        s.first_ms = s.first_ms.min(r.time_ms);
                        s.positions += 1;
                        if r.time_ms >= s.latest.time_ms {
                            s.latest = update;
                        }
                    }
                    None => {
                        slot.stations.push(station);
                        slot.by_source.push(SourceSeen {
                            first_ms: r.time_ms,
                            positions: 1,
                            latest: update,
                        });
                    }
                }
            }
            slot.positions.push(update);
        }
        self.counts.positions += 1;
        self.scratch.clear();
        for s in &r.sources {
            let id = self.source_id(s);
            if !self.scratch.contains(&id) {
                self.scratch.push(id);
            }
        }
        let row = PositionRow {
            time_ms: r.time_ms,
            mmsi: r.mmsi,
            lat: p.lat,
            lon: p.lon,
            sog_knots: p.sog_knots,
            cog_deg: p.cog_deg,
            heading_deg: p.heading_deg,
            nav_status: p.nav_status,
            msg_type: p.msg_type,
            segment: placement.segment().map(|s| s.0),
            flags,
            sources: Vec::new(),
        };
        if self.detect.is_some() && row.segment.is_some() && crate::detecting::detectable(flags) {
            let mut fix = crate::detecting::fix_of_row(&row);
            fix.sources = r.sources.iter().map(|s| self.shared_label(s)).collect();
            if let Some(hook) = &mut self.detect {
                hook.position(fix);
            }
        }
        self.store.append_with_sources(&row, &self.scratch);
        if self.store.pending_rows() >= self.flush_rows {
            if self.inflight.len() >= FILES_IN_FLIGHT {
                self.inflight.list_oldest(self.store)?;
            }
            let pending = self.store.take_pending()?;
            self.inflight.push(pending)?;
        }
        Ok(())
    }

    /// Starts writing the buffered rows and returns what the registry must commit, with the
    /// files still being written (`Commit::files`): the registry's rows are built and
    /// inserted while they are, and the commit waits for them.
    pub fn finish(mut self) -> Result<Commit> {
        // Detection finishes on its thread while the run's rows are built and stored.
        let mut detect = self.detect.take();
        if let Some(d) = &mut detect {
            d.close();
        }
        // The last rows are written alongside the files still in flight.
        let pending = self.store.take_pending()?;
        self.inflight.push(pending)?;
        let mut touched: Vec<u32> = self.touched.into_iter().collect();
        for (&mmsi, slot) in &mut self.slots {
            slot.positions.apply(mmsi, &mut self.registry);
            if slot.used {
                touched.push(mmsi);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let mut identity_sources = Vec::new();
        for ((mmsi, station), values) in self.identity_sources {
            let source = self.labels.get(station as usize).map_or("", String::as_str);
            for (field, (value, first_ms, last_ms)) in values {
                identity_sources.push(IdentitySourceRow {
                    mmsi,
                    field: IDENTITY_FIELDS[field as usize].to_owned(),
                    value,
                    source: source.to_owned(),
                    first_ms,
                    last_ms,
                });
            }
        }
        let mut c = Commit {
            past_static_reports: self.registry.past_static_reports,
            vessels_total: self.registry.len() as u64,
            late_sources: self.late,
            identity_sources,
            sources: self.labels,
            detect,
            files: self.inflight,
            ..Commit::default()
        };
        for &mmsi in &touched {
            if let Some(slot) = self.slots.get(&mmsi) {
                c.segmenters.push(row_from_state(mmsi, &slot.seg.state()));
                for (&station, s) in slot.stations.iter().zip(&slot.by_source) {
                    let l = &s.latest;
                    c.vessel_sources.push(VesselSourceRow {
                        mmsi,
                        source: c
                            .sources
                            .get(station as usize)
                            .map_or("", String::as_str)
                            .to_owned(),
                        first_ms: s.first_ms,
                        last_ms: l.time_ms,
                        positions: s.positions,
                        lat: l.lat,
                        lon: l.lon,
                        sog_knots: l.sog_knots,
                        cog_deg: l.cog_deg,
                        heading_deg: l.heading_deg,
                        nav_status: l.nav_status,
                    });
                }
            }
            let Some(v) = self.registry.get(mmsi) else {
                continue;
            };
            c.vessels.push(row_from_vessel(mmsi, v));
            for ch in &v.history {
                c.history.push(IdentityRow {
                    mmsi,
                    time_ms: ch.time_ms,
                    field: ch.field.as_str().to_owned(),
                    old: ch.old.clone(),
                    new: ch.new.clone(),
                });
            }
        }
        Ok(c)
    }
}

/// What a position report of one MMSI updates.
struct Slot {
    seg: Segmenter,
    /// Positions not yet applied to the registry.
    positions: Positions,
    /// The stations that heard the vessel in this run (a few, or dozens on a network of
    /// overlapping receivers: a scan of these ids, not of the larger entries) ...
    stations: Vec<u32>,
    /// ... and, in the same order, their positions of it (issue 21: a principal's picture
    /// takes a vessel's state from its visible sources).
    by_source: Vec<SourceSeen>,
    /// Whether this run gave the MMSI a position.
    used: bool,
}

impl Slot {
    fn new(seg: Segmenter) -> Slot {
        Slot {
            seg,
            positions: Positions::default(),
            stations: Vec::new(),
            by_source: Vec::new(),
            used: false,
        }
    }
}

/// The registry side of a run, ready to commit.
#[derive(Debug, Default)]
pub(super) struct Commit {
    pub vessels: Vec<VesselRow>,
    pub history: Vec<IdentityRow>,
    pub segmenters: Vec<SegmenterRow>,
    pub late_sources: Vec<LateSourceRow>,
    /// Source labels the run read.
    pub sources: Vec<String>,
    /// Per vessel and source, this run's positions.
    pub vessel_sources: Vec<VesselSourceRow>,
    /// Which source reported which identity value.
    pub identity_sources: Vec<IdentitySourceRow>,
    /// Static reports older than their vessel's newest message that differed from its
    /// identity (see `track::vessel::Registry::static_data`).
    pub past_static_reports: u64,
    pub vessels_total: u64,
    /// Detection, still finishing on its thread (`None`: off).
    pub detect: Option<crate::detecting::Background>,
    /// The run's last files, still being written.
    pub files: FilesInFlight,
}

/// Names of the identity fields whose provenance is recorded, by index (the registry's
/// identity-history names, plus the two static fields kept outside the history).
const IDENTITY_FIELDS: [&str; 8] = [
    "name",
    "callsign",
    "imo",
    "ship_type",
    "dimensions",
    "destination",
    "draught",
    "ship_type_text",
];

/// The identity values a static report carries, as the registry stores them (empty text is
/// no value; dimensions `LxB`), by index into [`IDENTITY_FIELDS`].
fn identity_values(s: &StaticUpdate) -> Vec<(u8, String)> {
    let text = |v: &Option<String>| v.as_ref().filter(|x| !x.is_empty()).cloned();
    let mut out = Vec::new();
    let fields = [
        text(&s.name),
        text(&s.callsign),
        s.imo.map(|v| v.to_string()),
        s.ship_type.map(|v| v.to_string()),
        s.dimensions_m.map(|(l, b)| format!("{l}x{b}")),
        text(&s.destination),
        s.draught_m.map(|v| v.to_string()),
        if s.ship_type.is_none() {
            text(&s.ship_type_text)
        } else {
            None
        },
    ];
    for (i, v) in fields.into_iter().enumerate() {
        if let Some(v) = v {
            out.push((i as u8, v));
        }
    }
    out
}

fn transponder_code(t: Transponder) -> &'static str {
    match t {
        Transponder::ClassA => "A",
        Transponder::ClassB => "B",
        Transponder::LongRange => "27",
    }
}

fn row_from_state(mmsi: u32, s: &SegmenterState) -> SegmenterRow {
    SegmenterRow {
        mmsi,
        next_segment: s.next_id,
        open: s
            .open
            .iter()
            .map(|o| OpenSegmentRow {
                segment: o.id.0,
                time_ms: o.last.t_ms,
                lat: o.last.lat,
                lon: o.last.lon,
                sog_knots: o.last.sog_knots,
                cog_deg: o.last.cog_deg,
                transponder: transponder_code(o.transponder).to_owned(),
                positions: o.count,
            })
            .collect(),
    }
}

fn state_from_row(r: &SegmenterRow) -> SegmenterState {
    SegmenterState {
        next_id: r.next_segment,
        open: r
            .open
            .iter()
            .map(|o| {
                let transponder = match o.transponder.as_str() {
                    "B" => Transponder::ClassB,
                    "27" => Transponder::LongRange,
                    _ => Transponder::ClassA,
                };
                OpenSegment {
                    id: SegmentId(o.segment),
                    last: Fix {
                        t_ms: o.time_ms,
                        lat: o.lat,
                        lon: o.lon,
                        sog_knots: o.sog_knots,
                        cog_deg: o.cog_deg,
                        transponder,
                    },
                    count: o.positions,
                    transponder,
                }
            })
            .collect(),
        // A pending spike is not stored: see `SegmenterState::spike`.
        spike: None,
    }
}

fn vessel_from_row(r: &VesselRow) -> Vessel {
    Vessel {
        class: match r.class.as_deref() {
            Some("A") => Some(Class::A),
            Some("B") => Some(Class::B),
            _ => None,
        },
        position: r
            .position_time_ms
            .zip(r.lat.zip(r.lon))
            .map(|(t, (lat, lon))| PositionUpdate {
                time_ms: t,
                lat,
                lon,
                sog_knots: r.sog_knots,
                cog_deg: r.cog_deg,
                heading_deg: r.heading_deg,
                nav_status: r.nav_status,
                class: None,
            }),
        name: r.name.clone(),
        callsign: r.callsign.clone(),
        imo: r.imo,
        ship_type: r.ship_type,
        ship_type_text: r.ship_type_text.clone(),
        dimensions_m: r.length_m.zip(r.beam_m),
        destination: r.destination.clone(),
        draught_m: r.draught_m,
        history: Vec::new(),
        first_seen_ms: r.first_seen_ms,
        last_seen_ms: r.last_seen_ms,
        reports: r.reports,
    }
}

fn row_from_vessel(mmsi: u32, v: &Vessel) -> VesselRow {
    VesselRow {
        mmsi,
        class: v.class.map(|c| match c {
            Class::A => "A".to_owned(),
            Class::B => "B".to_owned(),
        }),
        flag: Mmsi(mmsi).flag().map(|f| f.iso2.to_owned()),
        name: v.name.clone(),
        callsign: v.callsign.clone(),
        imo: v.imo,
        ship_type: v.ship_type,
        ship_type_text: v.ship_type_text.clone(),
        length_m: v.dimensions_m.map(|d| d.0),
        beam_m: v.dimensions_m.map(|d| d.1),
        destination: v.destination.clone(),
        draught_m: v.draught_m,
        first_seen_ms: v.first_seen_ms,
        last_seen_ms: v.last_seen_ms,
        reports: v.reports,
        position_time_ms: v.position.map(|p| p.time_ms),
        lat: v.position.map(|p| p.lat),
        lon: v.position.map(|p| p.lon),
        sog_knots: v.position.and_then(|p| p.sog_knots),
        cog_deg: v.position.and_then(|p| p.cog_deg),
        heading_deg: v.position.and_then(|p| p.heading_deg),
        nav_status: v.position.and_then(|p| p.nav_status),
    }
}
