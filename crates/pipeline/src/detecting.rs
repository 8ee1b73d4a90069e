//! Detection wired into the store: the engine that runs inside `tidewatch ingest` (fed by the
//! writer after segmentation), its state carried from run to run in the registry, the events it
//! stores, and the conversions from stored rows so that `tidewatch detect` recomputes with the
//! same code.
//!
//! One input stream for both paths: positions the segmenter placed (not flagged bad or
//! suspect), in the writer's order, and identity updates built from the registry's identity
//! history changes (one per new value of a field), so ingest and a recomputation from the
//! stored history feed the engine the same items.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use detect::{Change, Config, Engine, EngineState, Event, Fix, IdentityUpdate, WatchList};
use store::{EventRow, PositionRow, RegistryDb};

/// The zone file of a store (`tidewatch zones import` writes it; detection reads it).
pub const STORE_ZONES_FILE: &str = "zones.geojson";

/// The store's zones with their spatial index (none when it has no zone file).
pub fn store_zones(dir: &Path) -> Result<detect::zones::ZoneSet> {
    let zpath = dir.join(STORE_ZONES_FILE);
    if !zpath.exists() {
        return Ok(detect::zones::ZoneSet::empty());
    }
    let z =
        detect::zones::import::load_file(&zpath, &detect::zones::import::PropertyMap::default())
            .with_context(|| format!("zones {}", zpath.display()))?;
    detect::zones::ZoneSet::new(z).with_context(|| format!("zones {}", zpath.display()))
}

/// How detection is set up for a run.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// Detection off (`--no-detect`).
    pub off: bool,
    /// Detector configuration (TOML).
    pub config: Option<PathBuf>,
    /// Watch list (CSV or JSON).
    pub watchlist: Option<PathBuf>,
}

/// What detection loaded, for the summary.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Zones from the store's zones.geojson.
    pub zones: usize,
    /// Watch-list entries.
    pub watch: usize,
    /// Where land data came from, or why there is none.
    pub land: String,
    /// Whether land data was loaded.
    pub land_ok: bool,
    /// The land grid (its rows are read as the run needs them: [`Hook::finish`] says if one
    /// could not be).
    grid: Option<Arc<detect::land::LandGrid>>,
}

/// Builds an engine for the store at `dir` (zones from its zones.geojson, land data from the
/// cache when present), fresh or resumed from `state`.
pub fn engine(dir: &Path, opts: &DetectOptions, state: Option<&[u8]>) -> Result<(Engine, Loaded)> {
    let config = match &opts.config {
        Some(p) => {
            Config::from_file(p).with_context(|| format!("detector config {}", p.display()))?
        }
        None => Config::default(),
    };
    let watch = match &opts.watchlist {
        Some(p) => {
            // The error names the file and line of each mistake.
            WatchList::from_file(p).context("watch list")?
        }
        None => WatchList::default(),
    };
    let zones = store_zones(dir)?;
    let (land, land_note) = load_land();
    let loaded = Loaded {
        zones: zones.zones().len(),
        watch: watch.len(),
        land_ok: land.is_some(),
        land: land_note,
        grid: land.clone(),
    };
    let world = Arc::new(detect::geography::Geography::new(zones, land));
    let engine = match state {
        Some(bytes) => {
            let s = state_from_bytes(bytes).context("the stored detection state is unreadable")?;
            Engine::resume(config, world, watch, s)
        }
        None => Engine::new(config, world, watch),
    };
    Ok((engine, loaded))
}

/// The engine's state as stored: MessagePack with field names. Writing JSON (tens of megabytes
/// of decimal floats) was 8 % of the detection thread's time on a 5 M-line run, and every live
/// run parses the state again at its start.
///
/// `size_hint`: the expected size; the buffer starts that large instead of doubling from
/// nothing (each doubling of a buffer of tens of megabytes takes fresh pages and copies).
fn state_to_bytes(s: &EngineState, size_hint: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(size_hint);
    rmp_serde::encode::write_named(&mut buf, s).context("saving detection state")?;
    Ok(buf)
}

/// Reads a stored state: MessagePack, or JSON as stores written before kept it.
fn state_from_bytes(bytes: &[u8]) -> Result<EngineState> {
    if bytes.first() == Some(&b'{') {
        return Ok(serde_json::from_slice(bytes)?);
    }
    Ok(rmp_serde::from_slice(bytes)?)
}

/// What detection loses without land data (said wherever its absence is reported).
pub const WITHOUT_LAND: &str = "spoof_land off, distance to shore unknown (loitering and AIS \
     gaps near the coast are not told apart from those offshore); `tidewatch zones land` builds it";

/// Where the land grid is cached (`None`: no cache directory).
fn land_path() -> Option<PathBuf> {
    detect::land::default_cache_dir().map(|d| {
        d.join(detect::land::grid_file_name(
            detect::land::DEFAULT_CELLS_PER_DEGREE,
        ))
    })
}

/// The land grid at `path`, read once per process: a live server builds an engine for every
/// run (every few seconds), and the grid is 52 MB.
fn shared_grid(path: &Path) -> Result<Arc<detect::land::LandGrid>, detect::land::LandError> {
    type Loaded = Option<(PathBuf, Arc<detect::land::LandGrid>)>;
    static LOADED: std::sync::Mutex<Loaded> = std::sync::Mutex::new(None);
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((p, g)) = &*loaded {
        if p == path {
            return Ok(g.clone());
        }
    }
    let g = Arc::new(detect::land::LandGrid::load(path)?);
    *loaded = Some((path.to_owned(), g.clone()));
    Ok(g)
}

/// Fetches and builds the land grid into the user cache if it is not there yet (npm
/// `world-atlas@2`; a few seconds, once). Returns where it is and what it was built from.
pub fn ensure_land() -> Result<(PathBuf, String)> {
    let dir = detect::land::default_cache_dir().ok_or(detect::land::LandError::NoCacheDir)?;
    let cells = detect::land::DEFAULT_CELLS_PER_DEGREE;
    let path = dir.join(detect::land::grid_file_name(cells));
    let grid = if path.exists() {
        shared_grid(&path)
    } else {
        detect::land::ensure_land_grid(&dir, cells).map(Arc::new)
    }
    .with_context(|| format!("cannot get the land grid (cache {})", dir.display()))?;
    Ok((path, grid.source().to_owned()))
}

/// Whether the land grid is in the cache.
pub fn land_cached() -> bool {
    land_path().is_some_and(|p| p.exists())
}

/// The land grid from the cache, never downloaded here (`spoof_land` and distance to shore
/// need it; [`ensure_land`] builds it).
fn load_land() -> (Option<Arc<detect::land::LandGrid>>, String) {
    let Some(path) = land_path() else {
        return (
            None,
            format!("no land data (no cache directory): {WITHOUT_LAND}"),
        );
    };
    if !path.exists() {
        return (
            None,
            format!("no land data ({} absent): {WITHOUT_LAND}", path.display()),
        );
    }
    match shared_grid(&path) {
        Ok(g) => {
            let note = format!("land data {}", g.source());
            (Some(g), note)
        }
        Err(e) => (None, format!("no land data ({e}): {WITHOUT_LAND}")),
    }
}

/// The engine of one ingest run and the events it changed.
pub struct Hook {
    /// The engine.
    pub engine: Engine,
    /// What was loaded.
    pub loaded: Loaded,
    /// Events as they stand after the run's notices (`None`: withdrawn).
    changed: BTreeMap<String, Option<Event>>,
    /// Notices seen, by change.
    pub notices: BTreeMap<&'static str, u64>,
    /// Where the engine had got to when the run began, and the newest position of the run.
    resumed_at_ms: Option<i64>,
    newest_ms: Option<i64>,
    /// The engine's count of positions older than their vessel's last one when the run began.
    out_of_order_at_start: u64,
}

/// The engine's counter of positions that reached it older than their vessel's last one.
const OUT_OF_ORDER: &str = "out_of_order_fix";

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("changed", &self.changed.len())
            .finish()
    }
}

impl Hook {
    /// The engine for a run on the store at `dir`, resumed from the registry's state.
    pub fn open(dir: &Path, reg: &RegistryDb, opts: &DetectOptions) -> Result<Hook> {
        let state = reg.engine_state()?;
        let (engine, loaded) = engine(dir, opts, state.as_deref())?;
        Ok(Hook {
            resumed_at_ms: engine.released_ms(),
            out_of_order_at_start: engine.counter(OUT_OF_ORDER),
            engine,
            loaded,
            changed: BTreeMap::new(),
            notices: BTreeMap::new(),
            newest_ms: None,
        })
    }

    /// A fresh engine (for recomputing over the whole history).
    pub fn fresh(dir: &Path, opts: &DetectOptions) -> Result<Hook> {
        let (engine, loaded) = engine(dir, opts, None)?;
        Ok(Hook {
            engine,
            loaded,
            changed: BTreeMap::new(),
            notices: BTreeMap::new(),
            resumed_at_ms: None,
            newest_ms: None,
            out_of_order_at_start: 0,
        })
    }

    /// Feeds a position.
    pub fn position(&mut self, fix: Fix) {
        self.newest_ms = self.newest_ms.max(Some(fix.time_ms));
        self.engine.push_position(fix);
        self.drain();
    }

    /// Feeds an identity update.
    pub fn identity(&mut self, u: IdentityUpdate) {
        self.engine.push_identity(u);
        self.drain();
    }

    fn drain(&mut self) {
        for n in self.engine.take_notices() {
            let key = match n.change {
                Change::Created => "created",
                Change::Updated => "updated",
                Change::Closed => "closed",
                Change::Withdrawn => "withdrawn",
            };
            *self.notices.entry(key).or_default() += 1;
            let id = n.event.id.to_string();
            if n.change == Change::Withdrawn {
                self.changed.insert(id, None);
            } else {
                self.changed.insert(id, Some(n.event));
            }
        }
    }

    /// End of the run: reports open events as they stand, returns the rows to store, the
    /// withdrawn ids and the engine state. Buffered input stays in the state (the next run
    /// releases it), so a behaviour spanning two runs is one event.
    pub fn finish(mut self) -> Result<RunEvents> {
        if let Some(e) = self.loaded.grid.as_ref().and_then(|g| g.read_error()) {
            self.loaded.land = format!("land data unreadable during the run ({e}): {WITHOUT_LAND}");
            self.loaded.land_ok = false;
        }
        self.engine.report_open();
        self.drain();
        // The live state's estimate sizes the saved state's buffer (address space reserved,
        // touched only as far as written).
        let stats = self.engine.stats();
        let state = state_to_bytes(self.engine.state(), stats.memory_bytes)?;
        let mut rows = Vec::new();
        let mut withdrawn = Vec::new();
        for (id, e) in self.changed {
            match e {
                Some(e) => rows.push(event_row(&e)?),
                None => withdrawn.push(id),
            }
        }
        // A whole run older than what detection had already seen (an archive ingested after
        // newer data): every position of it was late data to the detectors.
        let older = match (self.resumed_at_ms, self.newest_ms) {
            // The registry's bound for static reports of the past: a satellite feed's ordinary
            // lateness is not an archive loaded out of order.
            (Some(before), Some(newest)) if newest < before - track::vessel::PAST_STATIC_MS => {
                Some(format!(
                "detection had already processed data up to {}; this run's positions (up to {}) \
                 reached it as late data, so its events for that period may be incomplete: \
                 recompute them over the whole history with `tidewatch detect --store DIR --write`",
                query_time(before),
                query_time(newest)
            ))
            }
            _ => None,
        };
        // Positions that came later than the reorder window behind a newer one of their
        // vessel: the detectors took them as late data, where a recompute over the sorted
        // history takes them in order, so events around them can differ.
        let out_of_order = self.engine.counter(OUT_OF_ORDER) - self.out_of_order_at_start;
        Ok(RunEvents {
            older_than_state: older,
            out_of_order,
            rows,
            withdrawn,
            state,
            notices: self.notices,
            loaded: self.loaded,
            rejected: stats
                .counters
                .into_iter()
                .filter(|(k, _)| !k.starts_with("events."))
                .collect(),
        })
    }
}

/// What the writer hands the detection thread.
enum Input {
    Position(Fix),
    Identity(IdentityUpdate),
}

/// Items per hand-over to the detection thread: large enough that the channel costs nothing
/// per item, small enough that the thread is never far behind.
const BATCH: usize = 2048;

/// A run's detection on a thread of its own. The writer segments and stores while the engine
/// detects: on two cores detection then adds to ingest's wall time only what it costs beyond
/// the writer's own work (run inline it added all of it). Input keeps the writer's order; the
/// channel is bounded, so a slow engine holds the writer back instead of queueing the run.
pub struct Background {
    batch: Vec<Input>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<Input>>>,
    emptied: std::sync::mpsc::Receiver<Vec<Input>>,
    thread: Option<std::thread::JoinHandle<Result<RunEvents>>>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("batched", &self.batch.len())
            .finish()
    }
}

impl Background {
    /// Starts the thread that runs `hook`.
    pub fn spawn(mut hook: Hook) -> Result<Background> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Input>>(4);
        let (give_back, emptied) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ingest-detect".to_owned())
            .spawn(move || {
                for mut batch in rx.iter() {
                    for item in batch.drain(..) {
                        match item {
                            Input::Position(f) => hook.position(f),
                            Input::Identity(u) => hook.identity(u),
                        }
                    }
                    let _ = give_back.send(batch);
                }
                hook.finish()
            })
            .context("cannot start the detection thread")?;
        Ok(Background {
            batch: Vec::with_capacity(BATCH),
            tx: Some(tx),
            emptied,
            thread: Some(thread),
        })
    }

    /// Feeds a position.
    pub fn position(&mut self, fix: Fix) {
        self.push(Input::Position(fix));
    }

    /// Feeds an identity update.
    pub fn identity(&mut self, u: IdentityUpdate) {
        self.push(Input::Identity(u));
    }

    fn push(&mut self, item: Input) {
        self.batch.push(item);
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let next = self
            .emptied
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        if let Some(tx) = &self.tx {
            if tx.send(full).is_err() {
                // The thread is gone (it panicked): `finish` reports it.
                self.tx = None;
            }
        }
    }

    /// End of input: the engine finishes the run (reports open events, saves its state) on
    /// its thread while the caller goes on.
    pub fn close(&mut self) {
        self.send();
        drop(self.tx.take());
    }

    /// End of the run: waits for the engine to take everything and returns what
    /// [`Hook::finish`] returns.
    pub fn finish(mut self) -> Result<RunEvents> {
        self.close();
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            _ => anyhow::bail!("the detection thread panicked"),
        }
    }
}

/// What a run's detection commits.
#[derive(Debug, Default)]
pub struct RunEvents {
    /// Events created or changed.
    pub rows: Vec<EventRow>,
    /// Ids withdrawn.
    pub withdrawn: Vec<String>,
    /// Engine state (JSON).
    pub state: Vec<u8>,
    /// Notices by change.
    pub notices: BTreeMap<&'static str, u64>,
    /// What was loaded.
    pub loaded: Loaded,
    /// Input the engine set aside, by reason (over the engine's life, carried in its state).
    pub rejected: BTreeMap<String, u64>,
    /// Set when the whole run was older than what detection had processed before: why the
    /// events may be incomplete and what to do.
    pub older_than_state: Option<String>,
    /// Positions of the run that reached detection older than their vessel's last one
    /// (later than the reorder window): taken as late data.
    pub out_of_order: u64,
}

/// A time as `YYYY-MM-DDTHH:MM:SSZ`.
fn query_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// The stored row of an event.
pub fn event_row(e: &Event) -> Result<EventRow> {
    Ok(EventRow {
        id: e.id.to_string(),
        kind: e.kind.as_str().to_owned(),
        start_ms: e.start_ms,
        end_ms: e.end_ms,
        open: e.open,
        mmsis: e.vessels.iter().map(|v| v.mmsi).collect(),
        zones: e.zones.clone(),
        json: serde_json::to_string(e)?,
    })
}

/// Whether a position with these flags goes to detection (bad and suspect positions do not).
pub fn detectable(flags: u8) -> bool {
    flags & (crate::ingest::FLAG_BAD_POSITION | crate::ingest::FLAG_SUSPECT_POSITION) == 0
}

/// The engine's view of a stored position.
pub fn fix_of_row(r: &PositionRow) -> Fix {
    Fix {
        mmsi: r.mmsi,
        time_ms: r.time_ms,
        lat: r.lat,
        lon: r.lon,
        sog_knots: r.sog_knots.map(f64::from),
        cog_deg: r.cog_deg.map(f64::from),
        heading_deg: r.heading_deg.map(f64::from),
        nav_status: r.nav_status,
        segment: r.segment.map_or(0, u64::from),
        quality: r.flags as u32,
        sources: r.sources.iter().map(|s| s.as_str().into()).collect(),
    }
}

/// The identity update of one identity-history change (a new value of one field).
pub fn identity_of_change(mmsi: u32, time_ms: i64, field: &str, new: &str) -> IdentityUpdate {
    let mut u = IdentityUpdate {
        mmsi,
        time_ms,
        flag: ais::Mmsi(mmsi).flag().map(|f| f.iso2.to_owned()),
        ..IdentityUpdate::default()
    };
    set_field(&mut u, field, new);
    u
}

/// Identity updates of identity-history changes in time order: the changes one report made
/// (same MMSI and time, in a run) are one update, so a report that renames and retypes a
/// vessel is one identity change, as it is on the air.
pub fn identity_updates<'a>(
    changes: impl IntoIterator<Item = (u32, i64, &'a str, &'a str)>,
) -> Vec<IdentityUpdate> {
    let mut out: Vec<IdentityUpdate> = Vec::new();
    for (mmsi, time_ms, field, new) in changes {
        match out.last_mut() {
            Some(u) if u.mmsi == mmsi && u.time_ms == time_ms => set_field(u, field, new),
            _ => out.push(identity_of_change(mmsi, time_ms, field, new)),
        }
    }
    out
}

/// Sets each update's sources from the store's identity provenance (`identity_sources`
/// rows, any order): the feeds that reported a value it carries over a span including its
/// time, which is what ingest records of the report that brought the value (the feeds of
/// its copies). Sorted, as ingest sorts them.
pub fn attach_identity_sources(updates: &mut [IdentityUpdate], facts: &[store::IdentitySourceRow]) {
    let mut by_mmsi: rustc_hash::FxHashMap<u32, Vec<&store::IdentitySourceRow>> =
        rustc_hash::FxHashMap::default();
    for f in facts {
        by_mmsi.entry(f.mmsi).or_default().push(f);
    }
    for u in updates {
        let Some(facts) = by_mmsi.get(&u.mmsi) else {
            continue;
        };
        let carried = [
            ("name", u.name.clone()),
            ("callsign", u.callsign.clone()),
            ("imo", u.imo.map(|v| v.to_string())),
            ("ship_type", u.ship_type.map(|v| v.to_string())),
            ("destination", u.destination.clone()),
        ];
        let mut sources: Vec<detect::Label> = facts
            .iter()
            .filter(|f| f.first_ms <= u.time_ms && u.time_ms <= f.last_ms)
            .filter(|f| {
                carried
                    .iter()
                    .any(|(k, v)| *k == f.field && v.as_deref() == Some(f.value.as_str()))
            })
            .map(|f| detect::Label::from(f.source.as_str()))
            .collect();
        sort_labels(&mut sources);
        u.sources = sources.into_iter().collect();
    }
}

/// Labels in text order, each once.
pub fn sort_labels(labels: &mut Vec<detect::Label>) {
    labels.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    labels.dedup();
}

fn set_field(u: &mut IdentityUpdate, field: &str, new: &str) {
    match field {
        "name" => u.name = Some(new.to_owned()),
        "callsign" => u.callsign = Some(new.to_owned()),
        "imo" => u.imo = new.parse().ok(),
        "ship_type" => u.ship_type = new.parse().ok(),
        "dimensions" => u.length_m = new.split('x').next().and_then(|l| l.parse::<f64>().ok()),
        "destination" => u.destination = Some(new.to_owned()),
        _ => {}
    }
}

/// The summary line of a run's detection.
pub fn summary_line(ev: &RunEvents) -> String {
    let n = |k: &str| ev.notices.get(k).copied().unwrap_or(0);
    format!(
        "detection: {} zone(s), {} watch-list entries, {}; {} event(s) stored or updated, \
         {} withdrawn ({} created, {} closed); set aside so far: {:?}",
        ev.loaded.zones,
        ev.loaded.watch,
        ev.loaded.land,
        ev.rows.len(),
        ev.withdrawn.len(),
        n("created"),
        n("closed"),
        ev.rejected,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_changes_of_one_report_are_one_identity_update() {
        // One type 5 that renames and retypes a vessel, then a later rename, and another
        // vessel's change at the same time: three updates, the first with both fields.
        let changes = [
            (412_000_000, 1_000, "name", "HAIXUN1169"),
            (412_000_000, 1_000, "ship_type", "30"),
            (412_000_001, 1_000, "callsign", "BXYZ"),
            (412_000_000, 2_000, "name", "HAIXUN1170"),
        ];
        let u = identity_updates(changes);
        assert_eq!(u.len(), 3);
        assert_eq!(
            (
                u[0].mmsi,
                u[0].time_ms,
                u[0].name.as_deref(),
                u[0].ship_type
            ),
            (412_000_000, 1_000, Some("HAIXUN1169"), Some(30))
        );
        assert_eq!(u[0].flag.as_deref(), Some("CN"));
        assert_eq!(u[1].callsign.as_deref(), Some("BXYZ"));
        assert_eq!(
            (u[2].time_ms, u[2].name.as_deref()),
            (2_000, Some("HAIXUN1170"))
        );
        assert_eq!(u[2].ship_type, None);
    }

    fn engine_with_state() -> Engine {
        let world = Arc::new(detect::geography::Geography::new(
            detect::zones::ZoneSet::empty(),
            None,
        ));
        let mut e = Engine::new(Config::default(), world, WatchList::default());
        for k in 0..200u32 {
            e.push_position(Fix {
                mmsi: 412_000_000 + k % 7,
                time_ms: 1_700_000_000_000 + k as i64 * 20_000,
                lat: 10.0 + k as f64 * 1e-3,
                lon: 114.0,
                sog_knots: Some(8.0),
                cog_deg: Some(0.0),
                heading_deg: None,
                nav_status: Some(0),
                segment: 1,
                quality: 0,
                sources: ["A/rx".into()].into_iter().collect(),
            });
        }
        e
    }

    #[test]
    fn stored_state_reads_back_as_messagepack_and_as_json_from_older_stores() {
        let e = engine_with_state();
        let want = serde_json::to_value(e.state()).unwrap();
        let packed = state_to_bytes(e.state(), 0).unwrap();
        assert_ne!(packed.first(), Some(&b'{'));
        let json = serde_json::to_vec(e.state()).unwrap();
        assert!(packed.len() < json.len(), "{} {}", packed.len(), json.len());
        for bytes in [&packed, &json] {
            let back = state_from_bytes(bytes).unwrap();
            assert_eq!(serde_json::to_value(&back).unwrap(), want);
        }
        assert!(state_from_bytes(b"not a state").is_err());
        assert!(state_from_bytes(&packed[..packed.len() / 2]).is_err());
    }
}
