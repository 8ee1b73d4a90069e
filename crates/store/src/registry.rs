//! The vessel registry and identity history, in SQLite (`registry.sqlite` in the store
//! directory). Writes happen in one transaction per call with `synchronous=FULL` in WAL mode,
//! so a crash leaves either all or none of a call's changes; identity history rows are keyed
//! by (MMSI, time, field, value), so writing the same history twice changes nothing.

use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// A vessel's current state as stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VesselRow {
    /// MMSI.
    pub mmsi: u32,
    /// `A` or `B`.
    pub class: Option<String>,
    /// ISO 3166 code of the flag (from the MID).
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
    pub length_m: Option<u16>,
    /// Beam, metres.
    pub beam_m: Option<u16>,
    /// Destination.
    pub destination: Option<String>,
    /// Draught, metres.
    pub draught_m: Option<f32>,
    /// First report, ms.
    pub first_seen_ms: Option<i64>,
    /// Last report, ms.
    pub last_seen_ms: Option<i64>,
    /// Reports seen.
    pub reports: u64,
    /// Latest position time, ms.
    pub position_time_ms: Option<i64>,
    /// Latest latitude.
    pub lat: Option<f64>,
    /// Latest longitude.
    pub lon: Option<f64>,
    /// Latest speed, knots.
    pub sog_knots: Option<f32>,
    /// Latest course, degrees.
    pub cog_deg: Option<f32>,
    /// Ship type as text that names no code (DMA archives' `Reserved`, `Spare 1`).
    pub ship_type_text: Option<String>,
    /// Latest true heading, degrees (issue 19; `None` in registries written before).
    pub heading_deg: Option<u16>,
    /// Latest navigation status code (ITU-R M.1371; issue 19).
    pub nav_status: Option<u8>,
}

/// One identity change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    /// MMSI.
    pub mmsi: u32,
    /// First seen, ms.
    pub time_ms: i64,
    /// `name`, `callsign`, `imo`, `ship_type`, `dimensions` or `destination`.
    pub field: String,
    /// Previous value.
    pub old: Option<String>,
    /// New value.
    pub new: String,
}

/// The registry database.
#[derive(Debug)]
pub struct RegistryDb {
    conn: Connection,
}

/// A path as the path part of an SQLite `file:` URI (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

/// Binds values to consecutive parameters of a statement from index `$i`; returns how many.
macro_rules! bind {
    ($st:expr, $i:expr; $($v:expr),+ $(,)?) => {{
        let mut k = $i;
        $(
            $st.raw_bind_parameter(k, $v)?;
            k += 1;
        )+
        Ok(k - $i)
    }};
}

/// Rows per statement of [`insert_rows`].
const ROWS_PER_STATEMENT: usize = 64;

/// Inserts `rows`, many to a statement (`head` then as many `VALUES` tuples of `width`
/// parameters as rows, then `tail`, an `ON CONFLICT` clause reading `excluded`), each row's
/// values bound by `bind` (which says how many) from the given first parameter index. A run's
/// commit runs alone on one core at the end of every run: on the 5 M-line real-mix its some
/// 280,000 rows took 470-540 ms one statement a row, 245-255 ms 64 a statement (with
/// statement journals in memory, see `RegistryDb::open`).
fn insert_rows<T>(
    tx: &rusqlite::Transaction<'_>,
    head: &str,
    width: usize,
    tail: &str,
    rows: &[T],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<usize>,
) -> Result<(), StoreError> {
    let sql = |n: usize| {
        let tuple = format!("({})", vec!["?"; width].join(","));
        format!("{head} {}{tail}", vec![tuple; n].join(","))
    };
    let full = sql(ROWS_PER_STATEMENT);
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut st = if chunk.len() == ROWS_PER_STATEMENT {
            tx.prepare_cached(&full)
        } else {
            tx.prepare_cached(&sql(chunk.len()))
        }
        .map_err(db)?;
        for (i, r) in chunk.iter().enumerate() {
            let bound = bind(&mut st, 1 + i * width, r).map_err(db)?;
            debug_assert_eq!(bound, width, "{head}");
        }
        st.raw_execute().map_err(db)?;
    }
    Ok(())
}

/// `rows` in MMSI order (stable), the first column of the keys of the tables they go to: each
/// vessel's rows then land on the same few B-tree pages, one after another. In the order a
/// hash map gave them, every row touched a page of its own and a run's commit took as long as
/// all its decoding and fusing (issue 16).
fn by_mmsi<T>(rows: &[T], mmsi: impl Fn(&T) -> u32) -> Vec<&T> {
    let mut v: Vec<&T> = rows.iter().collect();
    if !v.is_sorted_by_key(|r| mmsi(r)) {
        v.sort_by_key(|r| mmsi(r));
    }
    v
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vessels (
  mmsi INTEGER PRIMARY KEY, class TEXT, flag TEXT, name TEXT, callsign TEXT, imo INTEGER,
  ship_type INTEGER, length_m INTEGER, beam_m INTEGER, destination TEXT, draught_m REAL,
  first_seen_ms INTEGER, last_seen_ms INTEGER, reports INTEGER NOT NULL,
  position_time_ms INTEGER, lat REAL, lon REAL, sog_knots REAL, cog_deg REAL,
  ship_type_text TEXT, heading_deg INTEGER, nav_status INTEGER);
CREATE INDEX IF NOT EXISTS vessels_position ON vessels (lat, lon);
CREATE TABLE IF NOT EXISTS identity_history (
  mmsi INTEGER NOT NULL, time_ms INTEGER NOT NULL, field TEXT NOT NULL, old TEXT,
  new TEXT NOT NULL, PRIMARY KEY (mmsi, time_ms, field, new)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
  run INTEGER PRIMARY KEY, finished_ms INTEGER NOT NULL, positions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (
  content_hash TEXT PRIMARY KEY, name TEXT NOT NULL, bytes INTEGER NOT NULL,
  run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS segmenters (
  mmsi INTEGER PRIMARY KEY, next_segment INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS open_segments (
  mmsi INTEGER NOT NULL, segment INTEGER NOT NULL, time_ms INTEGER NOT NULL,
  lat REAL NOT NULL, lon REAL NOT NULL, sog_knots REAL, cog_deg REAL,
  transponder TEXT NOT NULL, positions INTEGER NOT NULL, PRIMARY KEY (mmsi, segment)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS late_sources (
  mmsi INTEGER NOT NULL, time_ms INTEGER NOT NULL, source TEXT NOT NULL, run INTEGER NOT NULL,
  lat REAL, lon REAL,
  PRIMARY KEY (mmsi, time_ms, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER,
  open INTEGER NOT NULL, mmsis TEXT NOT NULL, zones TEXT NOT NULL, run INTEGER NOT NULL,
  json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_start ON events (start_ms);
CREATE INDEX IF NOT EXISTS late_sources_time ON late_sources (time_ms);
CREATE INDEX IF NOT EXISTS inputs_bytes ON inputs (bytes);
CREATE TABLE IF NOT EXISTS detect_state (
  key INTEGER PRIMARY KEY CHECK (key = 0), run INTEGER NOT NULL, state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
  label TEXT PRIMARY KEY, first_run INTEGER NOT NULL, last_run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vessel_sources (
  mmsi INTEGER NOT NULL, source TEXT NOT NULL, first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL, positions INTEGER NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
  sog_knots REAL, cog_deg REAL, heading_deg INTEGER, nav_status INTEGER,
  PRIMARY KEY (mmsi, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identity_sources (
  mmsi INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, source TEXT NOT NULL,
  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
  PRIMARY KEY (mmsi, field, value, source)) WITHOUT ROWID;
";

/// One detected event as stored: the filterable columns and the whole event as JSON (the
/// `detect` crate's schema). Stored in the `events` table of the registry, so a run's events
/// commit with its positions (DuckDB reads the table through its `sqlite` extension).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventRow {
    /// Stable id, 16 hex digits.
    pub id: String,
    /// Event type (`encounter`, `ais_gap`, ...).
    pub kind: String,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms; `None` while open.
    pub end_ms: Option<i64>,
    /// Still open.
    pub open: bool,
    /// Vessels taking part.
    pub mmsis: Vec<u32>,
    /// Zone names at the event's position.
    pub zones: Vec<String>,
    /// The event as JSON.
    pub json: String,
}

/// What an event query selects (every field narrows).
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Of this type.
    pub kind: Option<String>,
    /// Involving this vessel.
    pub mmsi: Option<u32>,
    /// In this zone (by name).
    pub zone: Option<String>,
    /// Ending at or after this time (open events have no end), ms.
    pub from_ms: Option<i64>,
    /// Starting before this time, ms.
    pub to_ms: Option<i64>,
    /// Only open ones.
    pub open_only: bool,
}

fn write_events(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    events: &[EventRow],
    withdrawn: &[String],
) -> Result<(), StoreError> {
    let mut put = tx
        .prepare_cached("INSERT OR REPLACE INTO events VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")
        .map_err(db)?;
    for e in events {
        let mmsis: Vec<String> = e.mmsis.iter().map(u32::to_string).collect();
        put.execute(params![
            e.id,
            e.kind,
            e.start_ms,
            e.end_ms,
            e.open as i64,
            mmsis.join(","),
            e.zones.join("\n"),
            run,
            e.json
        ])
        .map_err(db)?;
    }
    let mut del = tx
        .prepare_cached("DELETE FROM events WHERE id = ?1")
        .map_err(db)?;
    for id in withdrawn {
        del.execute([id]).map_err(db)?;
    }
    Ok(())
}

/// The segmenter state of one MMSI, saved so the next run continues its segments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SegmenterRow {
    /// MMSI.
    pub mmsi: u32,
    /// Id of the next segment to start.
    pub next_segment: u32,
    /// Segments still open.
    pub open: Vec<OpenSegmentRow>,
}

/// One open segment: its last position.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpenSegmentRow {
    /// Segment id (per MMSI).
    pub segment: u32,
    /// Time of its last position, ms.
    pub time_ms: i64,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Speed, knots.
    pub sog_knots: Option<f32>,
    /// Course, degrees.
    pub cog_deg: Option<f32>,
    /// `A`, `B` or `27` (long range).
    pub transponder: String,
    /// Positions in the segment.
    pub positions: u32,
}

/// Another source of a position written by an earlier flush (a copy that arrived after its
/// position was stored): readers add it to the position's sources.
#[derive(Debug, Clone, PartialEq)]
pub struct LateSourceRow {
    /// MMSI of the position.
    pub mmsi: u32,
    /// Its time, ms.
    pub time_ms: i64,
    /// The source label.
    pub source: String,
    /// The copy's position (WGS84 degrees, latitude then longitude): which of two rows of one
    /// MMSI and time (a shared or spoofed MMSI) it is of. `None` in registries from before it
    /// was kept.
    pub position: Option<(f64, f64)>,
}

/// Whether `table` has `column`.
fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(db)
}

/// A [`LateSourceRow`] from the columns `mmsi, time_ms, source, lat, lon` starting at `at`.
fn late_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<LateSourceRow> {
    let lat: Option<f64> = r.get(at + 3)?;
    let lon: Option<f64> = r.get(at + 4)?;
    Ok(LateSourceRow {
        mmsi: r.get(at)?,
        time_ms: r.get(at + 1)?,
        source: r.get(at + 2)?,
        position: lat.zip(lon),
    })
}

/// A source label (`FEED/station/talker`) that ingest runs have read: `tidewatch source list`
/// lists them with their releasability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// The provenance label.
    pub label: String,
    /// The first run that read it.
    pub first_run: u64,
    /// The last run that read it.
    pub last_run: u64,
}

/// Identity provenance (issue 21): a source reported `value` for `field` of `mmsi` (values as
/// in the identity history: `name`, `callsign`, `imo`, `ship_type`, `dimensions` as `LxB`,
/// `destination`), first and last at these message times. A principal sees an identity value
/// only when one of its sources is releasable to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySourceRow {
    /// MMSI.
    pub mmsi: u32,
    /// Identity field.
    pub field: String,
    /// The value.
    pub value: String,
    /// The source label.
    pub source: String,
    /// First message time it reported it, ms since the Unix epoch (UTC).
    pub first_ms: i64,
    /// Last message time it reported it.
    pub last_ms: i64,
}

/// What one source reported of one vessel's positions (issue 21): when first and last, how
/// many positions, and the latest one (at `last_ms`). A principal's vessel list takes a
/// vessel's state from the newest row of a source releasable to it, never from the vessel-wide
/// [`VesselRow`]. Only positions that move a vessel's latest position (not flagged bad or
/// suspect) count.
#[derive(Debug, Clone, PartialEq)]
pub struct VesselSourceRow {
    /// MMSI.
    pub mmsi: u32,
    /// The source label.
    pub source: String,
    /// First position time from this source, ms since the Unix epoch (UTC).
    pub first_ms: i64,
    /// Latest position time from this source.
    pub last_ms: i64,
    /// Positions from this source.
    pub positions: u64,
    /// Latest position, degrees.
    pub lat: f64,
    /// Latest position, degrees.
    pub lon: f64,
    /// Speed over ground at the latest position, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// Navigation status (ITU code).
    pub nav_status: Option<u8>,
}

/// Everything one ingest run commits, in one transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCommit<'a> {
    /// Run id.
    pub run: u64,
    /// Commit time, ms.
    pub finished_ms: i64,
    /// Positions the run wrote.
    pub positions: u64,
    /// Vessel states (replacing the stored ones).
    pub vessels: &'a [VesselRow],
    /// New identity history rows.
    pub history: &'a [IdentityRow],
    /// Inputs read completely.
    pub inputs: &'a [InputRow],
    /// Segmenter states of the MMSIs the run saw (replacing the stored ones).
    pub segmenters: &'a [SegmenterRow],
    /// Late sources of positions in earlier files.
    pub late_sources: &'a [LateSourceRow],
    /// Source labels the run read.
    pub sources: &'a [String],
    /// Per vessel and source, the positions of this run (merged with the stored ones).
    pub vessel_sources: &'a [VesselSourceRow],
    /// Which sources reported which identity values in this run (merged with the stored
    /// ones: earliest first time, latest last time).
    pub identity_sources: &'a [IdentitySourceRow],
    /// Events created or changed by the run (replacing the stored ones by id).
    pub events: &'a [EventRow],
    /// Ids of events withdrawn by the run (deleted).
    pub withdrawn: &'a [String],
    /// The detection engine's state at the end of the run (replacing the stored one).
    pub engine_state: Option<&'a [u8]>,
}

/// A run's commit with everything but its events written (see [`RegistryDb::begin_run`]).
#[derive(Debug)]
pub struct OpenRun<'a> {
    tx: rusqlite::Transaction<'a>,
    run: i64,
}

impl OpenRun<'_> {
    /// Writes the run's events, withdrawals and detection state, and commits: the run's
    /// commit point.
    pub fn finish(
        self,
        events: &[EventRow],
        withdrawn: &[String],
        engine_state: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        write_events(&self.tx, self.run, events, withdrawn)?;
        if let Some(state) = engine_state {
            self.tx
                .execute(
                    "INSERT OR REPLACE INTO detect_state VALUES (0, ?1, ?2)",
                    params![self.run, state],
                )
                .map_err(db)?;
        }
        self.tx.commit().map_err(db)
    }
}

/// One input an ingest run read completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    /// Hash of the (decompressed) content, hex.
    pub content_hash: String,
    /// Name given on the command line.
    pub name: String,
    /// Bytes read.
    pub bytes: u64,
}

impl RegistryDb {
    /// Opens (or creates) the registry at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        // Another process's write transaction (an ingest run's commit, `tidewatch sar
        // --write` beside a running server) is waited for, not failed on.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        // A run's commit writes tens of MB (vessel and identity provenance): with SQLite's
        // default 2 MB page cache the transaction spills pages to the WAL and reads them back
        // as it goes. 64 MB keeps a run's working set in memory.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(db)?;
        // A run's commit prepares two statements per table (a full one of many rows, one for
        // the rest) besides the others: room for them all.
        conn.set_prepared_statement_cache_capacity(64);
        // A statement of many rows keeps a statement journal (to undo it alone if a row
        // fails); in a temporary file that was tens of thousands of writes a run.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        // Registries made before `ship_type_text` (issue 16) get the column, empty.
        let has_text: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('vessels') WHERE name = 'ship_type_text'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db)?
            > 0;
        if !has_text {
            conn.execute_batch("ALTER TABLE vessels ADD COLUMN ship_type_text TEXT")
                .map_err(db)?;
        }
        // Late sources without positions (before they were kept) ...
        if !has_column(&conn, "late_sources", "lat")? {
            conn.execute_batch(
                "ALTER TABLE late_sources ADD COLUMN lat REAL; \
                 ALTER TABLE late_sources ADD COLUMN lon REAL;",
            )
            .map_err(db)?;
        }
        // and before issue 19 the latest heading and navigation status.
        let has_heading: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('vessels') WHERE name = 'heading_deg'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db)?
            > 0;
        if !has_heading {
            conn.execute_batch(
                "ALTER TABLE vessels ADD COLUMN heading_deg INTEGER; \
                 ALTER TABLE vessels ADD COLUMN nav_status INTEGER;",
            )
            .map_err(db)?;
        }
        Ok(RegistryDb { conn })
    }

    /// Opens an existing registry for reading only: no schema change, no journal-mode change,
    /// nothing created beside it when it cannot be (issue 19: an archive on a read-only mount,
    /// or a user with read permission only). Tries an ordinary read-only connection first (it
    /// sees a live writer's commits); when that cannot read (a WAL database whose `-shm` cannot
    /// be created in a read-only directory), opens it `immutable=1`, which reads the file as it
    /// is without locks or shared memory.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let usable = |conn: Connection| -> rusqlite::Result<Connection> {
            conn.query_row("SELECT COUNT(*) FROM vessels", [], |r| r.get::<_, i64>(0))?;
            Ok(conn)
        };
        let first = Connection::open_with_flags(path, flags).and_then(usable);
        let conn = match first {
            Ok(c) => c,
            Err(first_err) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(&uri, flags)
                    .and_then(usable)
                    .map_err(|e| {
                        StoreError::Io(std::io::Error::other(format!(
                            "{first_err}; read as immutable: {e}"
                        )))
                    })?
            }
        };
        // Registries from before issues 16 and 19 lack the last columns: `row` reads them as
        // `None` (a reader cannot add them).
        Ok(RegistryDb { conn })
    }

    /// Runs recorded as committed.
    pub fn committed_runs(&self) -> Result<std::collections::HashSet<u64>, StoreError> {
        let mut st = self.conn.prepare("SELECT run FROM runs").map_err(db)?;
        let rows = st
            .query_map([], |r| r.get::<_, i64>(0))
            .map_err(db)?
            .map(|r| r.map(|v| v as u64))
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(rows)
    }

    /// Whether an input of `bytes` bytes was committed (its `bytes` column, the count its
    /// content hash ends with): an input of another size cannot have been ingested, so it need
    /// not be hashed before it is read. One indexed lookup, however many inputs a long-lived
    /// store has.
    pub fn has_input_of_size(&self, bytes: u64) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM inputs WHERE bytes = ?1)",
                [bytes as i64],
                |r| r.get(0),
            )
            .map_err(db)
    }

    /// The run that ingested content with this hash, if any.
    pub fn input_run(&self, content_hash: &str) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row(
                "SELECT run FROM inputs WHERE content_hash = ?1",
                [content_hash],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|r| r.map(|v| v as u64))
            .map_err(db)
    }

    /// Commits an ingest run: vessel states, identity rows, segmenter states, late sources and
    /// the inputs read, in one transaction. This is the run's commit point: its position files
    /// count from here on.
    pub fn commit_run(&mut self, c: &RunCommit<'_>) -> Result<(), StoreError> {
        self.begin_run(c)?
            .finish(c.events, c.withdrawn, c.engine_state)
    }

    /// The first half of [`RegistryDb::commit_run`]: writes everything but the run's events
    /// (`c.events`, `c.withdrawn` and `c.engine_state` are ignored) in a transaction that
    /// [`OpenRun::finish`] completes with them. Ingest writes the registry's rows while its
    /// detection thread finishes; dropping the `OpenRun` rolls the run back.
    pub fn begin_run(&mut self, c: &RunCommit<'_>) -> Result<OpenRun<'_>, StoreError> {
        let run = c.run as i64;
        let tx = self.conn.transaction().map_err(db)?;
        write_vessels(&tx, c.vessels, c.history)?;
        tx.execute(
            "INSERT INTO runs VALUES (?1, ?2, ?3)",
            params![run, c.finished_ms, c.positions as i64],
        )
        .map_err(db)?;
        {
            let mut st = tx
                .prepare_cached("INSERT OR IGNORE INTO inputs VALUES (?1, ?2, ?3, ?4)")
                .map_err(db)?;
            for i in c.inputs {
                st.execute(params![i.content_hash, i.name, i.bytes as i64, run])
                    .map_err(db)?;
            }
            insert_rows(
                &tx,
                "INSERT OR REPLACE INTO segmenters VALUES",
                2,
                "",
                c.segmenters,
                |st, i, s| bind!(st, i; s.mmsi, s.next_segment),
            )?;
            // A vessel's open segments are replaced whole.
            for chunk in c.segmenters.chunks(ROWS_PER_STATEMENT) {
                let list = vec!["?"; chunk.len()].join(",");
                let mut del = tx
                    .prepare_cached(&format!("DELETE FROM open_segments WHERE mmsi IN ({list})"))
                    .map_err(db)?;
                for (i, s) in chunk.iter().enumerate() {
                    del.raw_bind_parameter(i + 1, s.mmsi).map_err(db)?;
                }
                del.raw_execute().map_err(db)?;
            }
            let open: Vec<(u32, &OpenSegmentRow)> = c
                .segmenters
                .iter()
                .flat_map(|s| s.open.iter().map(move |o| (s.mmsi, o)))
                .collect();
            insert_rows(
                &tx,
                "INSERT OR REPLACE INTO open_segments VALUES",
                9,
                "",
                &open,
                |st, i, (mmsi, o)| {
                    bind!(st, i;
                        mmsi, o.segment, o.time_ms, o.lat, o.lon, o.sog_knots, o.cog_deg,
                        &o.transponder, o.positions,
                    )
                },
            )?;
            insert_rows(
                &tx,
                "INSERT OR IGNORE INTO late_sources (mmsi, time_ms, source, run, lat, lon) VALUES",
                6,
                "",
                &by_mmsi(c.late_sources, |l| l.mmsi),
                |st, i, l| {
                    bind!(st, i;
                        l.mmsi, l.time_ms, &l.source, run, l.position.map(|p| p.0),
                        l.position.map(|p| p.1),
                    )
                },
            )?;
            let mut src = tx
                .prepare_cached(
                    "INSERT INTO sources VALUES (?1, ?2, ?2)
                     ON CONFLICT (label) DO UPDATE SET last_run = max(last_run, ?2)",
                )
                .map_err(db)?;
            for label in c.sources {
                src.execute(params![label, run]).map_err(db)?;
            }
            // The upserts read the new row's values from `excluded` and the stored row's
            // from its columns (before the update, for every assignment).
            insert_rows(
                &tx,
                "INSERT INTO vessel_sources VALUES",
                11,
                " ON CONFLICT (mmsi, source) DO UPDATE SET
                   first_ms = min(first_ms, excluded.first_ms),
                   positions = positions + excluded.positions,
                   lat = iif(excluded.last_ms >= last_ms, excluded.lat, lat),
                   lon = iif(excluded.last_ms >= last_ms, excluded.lon, lon),
                   sog_knots = iif(excluded.last_ms >= last_ms, excluded.sog_knots, sog_knots),
                   cog_deg = iif(excluded.last_ms >= last_ms, excluded.cog_deg, cog_deg),
                   heading_deg = iif(excluded.last_ms >= last_ms, excluded.heading_deg, heading_deg),
                   nav_status = iif(excluded.last_ms >= last_ms, excluded.nav_status, nav_status),
                   last_ms = max(last_ms, excluded.last_ms)",
                &by_mmsi(c.vessel_sources, |v| v.mmsi),
                |st, i, v| {
                    bind!(st, i;
                        v.mmsi, &v.source, v.first_ms, v.last_ms, v.positions as i64, v.lat, v.lon,
                        v.sog_knots, v.cog_deg, v.heading_deg, v.nav_status,
                    )
                },
            )?;
            insert_rows(
                &tx,
                "INSERT INTO identity_sources VALUES",
                6,
                " ON CONFLICT (mmsi, field, value, source) DO UPDATE SET
                   first_ms = min(first_ms, excluded.first_ms),
                   last_ms = max(last_ms, excluded.last_ms)",
                &by_mmsi(c.identity_sources, |i| i.mmsi),
                |st, k, i| bind!(st, k; i.mmsi, &i.field, &i.value, &i.source, i.first_ms, i.last_ms),
            )?;
        }
        Ok(OpenRun { tx, run })
    }

    /// Replaces the stored events and the engine state (a recomputation over the whole
    /// history, `tidewatch detect`), in one transaction. Events of the `keep` types (those
    /// made from other data than the history, such as satellite radar's dark vessels) stay.
    pub fn replace_events(
        &mut self,
        events: &[EventRow],
        engine_state: Option<&[u8]>,
        keep: &[&str],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(db)?;
        let run: i64 = tx
            .query_row("SELECT COALESCE(MAX(run), 0) FROM runs", [], |r| r.get(0))
            .map_err(db)?;
        {
            let mut kept = tx
                .prepare("SELECT id, type FROM events")
                .map_err(db)?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            kept.retain(|(_, t)| !keep.contains(&t.as_str()));
            let mut del = tx
                .prepare_cached("DELETE FROM events WHERE id = ?1")
                .map_err(db)?;
            for (id, _) in kept {
                del.execute([id]).map_err(db)?;
            }
        }
        write_events(&tx, run, events, &[])?;
        match engine_state {
            Some(state) => tx.execute(
                "INSERT OR REPLACE INTO detect_state VALUES (0, ?1, ?2)",
                params![run, state],
            ),
            None => tx.execute("DELETE FROM detect_state", []),
        }
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Adds events, or replaces those with the same id, and removes the `withdrawn` ids (a
    /// satellite radar file matched again: what is no longer dark goes), in one transaction;
    /// returns how many were new and how many of `withdrawn` were stored.
    pub fn add_events(
        &mut self,
        events: &[EventRow],
        withdrawn: &[String],
    ) -> Result<(usize, usize), StoreError> {
        let tx = self.conn.transaction().map_err(db)?;
        let run: i64 = tx
            .query_row("SELECT COALESCE(MAX(run), 0) FROM runs", [], |r| r.get(0))
            .map_err(db)?;
        let (mut new, mut gone) = (0, 0);
        {
            let mut known = tx
                .prepare_cached("SELECT 1 FROM events WHERE id = ?1")
                .map_err(db)?;
            for e in events {
                if !known.exists([&e.id]).map_err(db)? {
                    new += 1;
                }
            }
            for id in withdrawn {
                if known.exists([id]).map_err(db)? {
                    gone += 1;
                }
            }
        }
        write_events(&tx, run, events, withdrawn)?;
        tx.commit().map_err(db)?;
        Ok((new, gone))
    }

    /// SQLite's `data_version` of this connection: it changes when another connection (another
    /// process, or another connection of this one) commits to the registry, so a watcher asks
    /// for events again only then.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(db)
    }

    /// Stored events per type.
    pub fn event_counts(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT type, COUNT(*) FROM events GROUP BY type")
            .map_err(db)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// The detection engine's saved state, if a run saved one.
    pub fn engine_state(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row("SELECT state FROM detect_state WHERE key = 0", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(db)
    }

    /// Stored events matching `q`, by start then id.
    pub fn events(&self, q: &EventQuery) -> Result<Vec<EventRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, type, start_ms, end_ms, open, mmsis, zones, json FROM events \
                 WHERE (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR end_ms IS NULL OR end_ms >= ?2) \
                 AND (?3 IS NULL OR start_ms < ?3) AND (?4 = 0 OR open = 1) \
                 ORDER BY start_ms, id",
            )
            .map_err(db)?;
        let rows = st
            .query_map(
                params![q.kind, q.from_ms, q.to_ms, q.open_only as i64],
                |r| {
                    let mmsis: String = r.get(5)?;
                    let zones: String = r.get(6)?;
                    Ok(EventRow {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        start_ms: r.get(2)?,
                        end_ms: r.get(3)?,
                        open: r.get::<_, i64>(4)? != 0,
                        mmsis: mmsis.split(',').filter_map(|m| m.parse().ok()).collect(),
                        zones: zones
                            .split('\n')
                            .filter(|z| !z.is_empty())
                            .map(str::to_owned)
                            .collect(),
                        json: r.get(7)?,
                    })
                },
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for r in rows {
            let r = r.map_err(db)?;
            if q.mmsi.is_some_and(|m| !r.mmsis.contains(&m)) {
                continue;
            }
            if q.zone.as_ref().is_some_and(|z| !r.zones.contains(z)) {
                continue;
            }
            out.push(r);
        }
        Ok(out)
    }

    /// Every identity history row, by time (for recomputing detection).
    pub fn all_history(&self) -> Result<Vec<IdentityRow>, StoreError> {
        self.history_after(i64::MIN)
    }

    /// Every saved segmenter state, by MMSI.
    pub fn segmenters(&self) -> Result<Vec<SegmenterRow>, StoreError> {
        let mut out: Vec<SegmenterRow> = Vec::new();
        let mut st = self
            .conn
            .prepare("SELECT mmsi, next_segment FROM segmenters ORDER BY mmsi")
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok(SegmenterRow {
                    mmsi: r.get(0)?,
                    next_segment: r.get(1)?,
                    open: Vec::new(),
                })
            })
            .map_err(db)?;
        for r in rows {
            out.push(r.map_err(db)?);
        }
        let mut st = self
            .conn
            .prepare("SELECT * FROM open_segments ORDER BY mmsi, segment")
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    OpenSegmentRow {
                        segment: r.get(1)?,
                        time_ms: r.get(2)?,
                        lat: r.get(3)?,
                        lon: r.get(4)?,
                        sog_knots: r.get(5)?,
                        cog_deg: r.get(6)?,
                        transponder: r.get(7)?,
                        positions: r.get(8)?,
                    },
                ))
            })
            .map_err(db)?;
        let mut i = 0;
        for r in rows {
            let (mmsi, o) = r.map_err(db)?;
            while i < out.len() && out[i].mmsi < mmsi {
                i += 1;
            }
            if let Some(s) = out.get_mut(i).filter(|s| s.mmsi == mmsi) {
                s.open.push(o);
            }
        }
        Ok(out)
    }

    /// Late sources of one MMSI's positions in `[from_ms, to_ms)`, by time. (They are written
    /// in their run's commit transaction, so every stored one belongs to a committed run.)
    pub fn late_sources(
        &self,
        mmsi: u32,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<LateSourceRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                &format!(
                    "SELECT mmsi, time_ms, source, {} FROM late_sources WHERE mmsi = ?1 AND time_ms >= ?2 AND time_ms < ?3 ORDER BY time_ms, source",
                    self.late_position_columns()?
                ),
            )
            .map_err(db)?;
        let rows = st
            .query_map(params![mmsi, from_ms, to_ms], |r| late_row(r, 0))
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Late sources of run `run` from its `skip`-th on, then of later runs, in (run, MMSI,
    /// time, source) order: at most `limit`, each with its run. (A run's late sources are
    /// written in its commit and never change, so `(run, skip)` is a stable cursor.)
    pub fn late_sources_from(
        &self,
        run: u64,
        skip: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LateSourceRow)>, StoreError> {
        if !self.has_table("late_sources")? {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT run, mmsi, time_ms, source, {} FROM late_sources WHERE run >= ?1
                     ORDER BY run, mmsi, time_ms, source LIMIT ?2 OFFSET ?3",
                self.late_position_columns()?
            ))
            .map_err(db)?;
        let rows = st
            .query_map(params![run as i64, limit as i64, skip as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, late_row(r, 1)?))
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// The newest committed run, if any.
    pub fn last_run(&self) -> Result<Option<u64>, StoreError> {
        self.conn
            .query_row("SELECT MAX(run) FROM runs", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|r| r.map(|v| v as u64))
            .map_err(db)
    }

    /// Late sources of every MMSI's positions in `[from_ms, to_ms)`.
    pub fn late_sources_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<LateSourceRow>, StoreError> {
        if !self.has_table("late_sources")? {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare(
                &format!(
                    "SELECT mmsi, time_ms, source, {} FROM late_sources WHERE time_ms >= ?1 AND time_ms < ?2",
                    self.late_position_columns()?
                ),
            )
            .map_err(db)?;
        let rows = st
            .query_map(params![from_ms, to_ms], |r| late_row(r, 0))
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// The late sources' position columns, or NULLs in a registry from before they were kept
    /// (opened read-only, so not given them).
    fn late_position_columns(&self) -> Result<&'static str, StoreError> {
        Ok(if has_column(&self.conn, "late_sources", "lat")? {
            "lat, lon"
        } else {
            "NULL, NULL"
        })
    }

    /// Whether the registry has `table` (a reader of a registry from before it reads nothing).
    fn has_table(&self, table: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(db)
    }

    /// Source labels read by committed runs, by label. Registries from before issue 21 have
    /// none until their next ingest.
    pub fn sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        if !self.has_table("sources")? {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare("SELECT label, first_run, last_run FROM sources ORDER BY label")
            .map_err(db)?;
        let rows = st
            .query_map([], |r| {
                Ok(SourceRow {
                    label: r.get(0)?,
                    first_run: r.get::<_, i64>(1)? as u64,
                    last_run: r.get::<_, i64>(2)? as u64,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Per source, the first and last message times of its positions over every vessel
    /// (`vessel_sources` aggregated): (source, first ms, last ms).
    pub fn source_spans(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        if !self.has_table("vessel_sources")? {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT source, MIN(first_ms), MAX(last_ms) FROM vessel_sources
                 GROUP BY source ORDER BY source",
            )
            .map_err(db)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Per-source position summaries of one MMSI (`Some`) or of every vessel (`None`), by
    /// MMSI and source.
    pub fn vessel_sources(&self, mmsi: Option<u32>) -> Result<Vec<VesselSourceRow>, StoreError> {
        if !self.has_table("vessel_sources")? {
            return Ok(Vec::new());
        }
        let sql = "SELECT mmsi, source, first_ms, last_ms, positions, lat, lon, sog_knots, cog_deg,
                   heading_deg, nav_status FROM vessel_sources";
        let mut st = self
            .conn
            .prepare(&match mmsi {
                Some(_) => format!("{sql} WHERE mmsi = ?1 ORDER BY source"),
                None => format!("{sql} ORDER BY mmsi, source"),
            })
            .map_err(db)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(VesselSourceRow {
                mmsi: r.get(0)?,
                source: r.get(1)?,
                first_ms: r.get(2)?,
                last_ms: r.get(3)?,
                positions: r.get::<_, i64>(4)? as u64,
                lat: r.get(5)?,
                lon: r.get(6)?,
                sog_knots: r.get(7)?,
                cog_deg: r.get(8)?,
                heading_deg: r.get(9)?,
                nav_status: r.get(10)?,
            })
        };
        let rows = match mmsi {
            Some(m) => st.query_map([m], map),
            None => st.query_map([], map),
        }
        .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Identity provenance of one MMSI, by field, value and source.
    pub fn identity_sources(&self, mmsi: u32) -> Result<Vec<IdentitySourceRow>, StoreError> {
        self.identity_sources_where("WHERE mmsi = ?1 ORDER BY field, value, source", [mmsi])
    }

    /// Whether any identity provenance is stored.
    pub fn has_identity_sources(&self) -> Result<bool, StoreError> {
        if !self.has_table("identity_sources")? {
            return Ok(false);
        }
        self.conn
            .query_row("SELECT EXISTS (SELECT 1 FROM identity_sources)", [], |r| {
                r.get::<_, bool>(0)
            })
            .map_err(db)
    }

    /// Identity provenance of every vessel, by MMSI, field, value and source (for recomputing
    /// detection: which feeds reported an identity change).
    pub fn all_identity_sources(&self) -> Result<Vec<IdentitySourceRow>, StoreError> {
        self.identity_sources_where("ORDER BY mmsi, field, value, source", [])
    }

    fn identity_sources_where<P: rusqlite::Params>(
        &self,
        clause: &str,
        params: P,
    ) -> Result<Vec<IdentitySourceRow>, StoreError> {
        if !self.has_table("identity_sources")? {
            return Ok(Vec::new());
        }
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT mmsi, field, value, source, first_ms, last_ms FROM identity_sources {clause}"
            ))
            .map_err(db)?;
        let rows = st
            .query_map(params, |r| {
                Ok(IdentitySourceRow {
                    mmsi: r.get(0)?,
                    field: r.get(1)?,
                    value: r.get(2)?,
                    source: r.get(3)?,
                    first_ms: r.get(4)?,
                    last_ms: r.get(5)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    /// Writes vessel states (replacing) and identity rows (ignoring ones already stored) in one
    /// transaction.
    pub fn upsert(
        &mut self,
        vessels: &[VesselRow],
        history: &[IdentityRow],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(db)?;
        write_vessels(&tx, vessels, history)?;
        tx.commit().map_err(db)
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VesselRow> {
        Ok(VesselRow {
            mmsi: r.get(0)?,
            class: r.get(1)?,
            flag: r.get(2)?,
            name: r.get(3)?,
            callsign: r.get(4)?,
            imo: r.get(5)?,
            ship_type: r.get(6)?,
            length_m: r.get(7)?,
            beam_m: r.get(8)?,
            destination: r.get(9)?,
            draught_m: r.get(10)?,
            first_seen_ms: r.get(11)?,
            last_seen_ms: r.get(12)?,
            reports: r.get::<_, i64>(13)? as u64,
            position_time_ms: r.get(14)?,
            lat: r.get(15)?,
            lon: r.get(16)?,
            sog_knots: r.get(17)?,
            cog_deg: r.get(18)?,
            ship_type_text: r.get(19).ok().flatten(),
            heading_deg: r.get(20).ok().flatten(),
            nav_status: r.get(21).ok().flatten(),
        })
    }

    /// One vessel.
    pub fn vessel(&self, mmsi: u32) -> Result<Option<VesselRow>, StoreError> {
        self.conn
            .query_row("SELECT * FROM vessels WHERE mmsi = ?1", [mmsi], Self::row)
            .optional()
            .map_err(db)
    }

    /// Vessels whose latest position is inside `[min_lon, min_lat, max_lon, max_lat]` (all
    /// vessels when `None`), by MMSI.
    pub fn vessels(&self, bbox: Option<[f64; 4]>) -> Result<Vec<VesselRow>, StoreError> {
        let (sql, b) = match bbox {
            Some(b) => (
                "SELECT * FROM vessels WHERE lon >= ?1 AND lat >= ?2 AND lon <= ?3 AND lat <= ?4 \
                 ORDER BY mmsi",
                b,
            ),
            None => ("SELECT * FROM vessels ORDER BY mmsi", [0.0; 4]),
        };
        let mut st = self.conn.prepare(sql).map_err(db)?;
        let rows: rusqlite::Result<Vec<VesselRow>> = if bbox.is_some() {
            st.query_map(params![b[0], b[1], b[2], b[3]], Self::row)
                .map_err(db)?
                .collect()
        } else {
            st.query_map([], Self::row).map_err(db)?.collect()
        };
        rows.map_err(db)
    }

    /// The identity history of one vessel, oldest first.
    pub fn history(&self, mmsi: u32) -> Result<Vec<IdentityRow>, StoreError> {
        self.history_where("mmsi = ?1", mmsi as i64)
    }

    /// Every identity change later than `time_ms`, by MMSI then time (to roll identities back
    /// to that time).
    pub fn history_after(&self, time_ms: i64) -> Result<Vec<IdentityRow>, StoreError> {
        self.history_where("time_ms > ?1", time_ms)
    }

    /// Every identity change of one field (`name`, `imo`, ...), by MMSI then time: finds
    /// vessels by a former name or IMO (issue 19).
    pub fn history_of_field(&self, field: &str) -> Result<Vec<IdentityRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT * FROM identity_history WHERE field = ?1 ORDER BY mmsi, time_ms, field",
            )
            .map_err(db)?;
        let rows = st
            .query_map([field], |r| {
                Ok(IdentityRow {
                    mmsi: r.get(0)?,
                    time_ms: r.get(1)?,
                    field: r.get(2)?,
                    old: r.get(3)?,
                    new: r.get(4)?,
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(rows)
    }

    fn history_where(&self, cond: &str, value: i64) -> Result<Vec<IdentityRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT * FROM identity_history WHERE {cond} ORDER BY mmsi, time_ms, field"
            ))
            .map_err(db)?;
        let rows = st
            .query_map([value], |r| {
                Ok(IdentityRow {
                    mmsi: r.get(0)?,
                    time_ms: r.get(1)?,
                    field: r.get(2)?,
                    old: r.get(3)?,
                    new: r.get(4)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }
}

fn write_vessels(
    tx: &rusqlite::Transaction<'_>,
    vessels: &[VesselRow],
    history: &[IdentityRow],
) -> Result<(), StoreError> {
    insert_rows(
        tx,
        "INSERT OR REPLACE INTO vessels VALUES",
        22,
        "",
        vessels,
        |st, i, r| {
            bind!(st, i;
                r.mmsi, &r.class, &r.flag, &r.name, &r.callsign, r.imo, r.ship_type, r.length_m,
                r.beam_m, &r.destination, r.draught_m, r.first_seen_ms, r.last_seen_ms,
                r.reports as i64, r.position_time_ms, r.lat, r.lon, r.sog_knots, r.cog_deg,
                &r.ship_type_text, r.heading_deg, r.nav_status,
            )
        },
    )?;
    insert_rows(
        tx,
        "INSERT OR IGNORE INTO identity_history VALUES",
        5,
        "",
        history,
        |st, i, r| bind!(st, i; r.mmsi, r.time_ms, &r.field, &r.old, &r.new),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_from_before_ship_type_text_gets_the_column() {
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-reg-old-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        let path = dir.join("registry.sqlite");
        std::fs::remove_file(&path).ok();
        // The vessels table as it was before issue 16, with one vessel.
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE vessels (
              mmsi INTEGER PRIMARY KEY, class TEXT, flag TEXT, name TEXT, callsign TEXT,
              imo INTEGER, ship_type INTEGER, length_m INTEGER, beam_m INTEGER,
              destination TEXT, draught_m REAL, first_seen_ms INTEGER, last_seen_ms INTEGER,
              reports INTEGER NOT NULL, position_time_ms INTEGER, lat REAL, lon REAL,
              sog_knots REAL, cog_deg REAL);
             INSERT INTO vessels (mmsi, name, reports) VALUES (1, 'OLD', 1);",
        )
        .unwrap();
        drop(old);
        let mut reg = RegistryDb::open(&path).unwrap();
        let v = reg.vessel(1).unwrap().unwrap();
        assert_eq!((v.name.as_deref(), v.ship_type_text), (Some("OLD"), None));
        let new = VesselRow {
            mmsi: 2,
            ship_type_text: Some("Reserved".into()),
            ..VesselRow::default()
        };
        reg.upsert(std::slice::from_ref(&new), &[]).unwrap();
        drop(reg);
        let reg = RegistryDb::open(&path).unwrap();
        assert_eq!(reg.vessel(2).unwrap(), Some(new));
    }

    #[test]
    fn upsert_query_reopen_and_idempotent_history() {
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-reg-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        let path = dir.join("registry.sqlite");
        std::fs::remove_file(&path).ok();
        let v = VesselRow {
            mmsi: 419_001_234,
            class: Some("A".into()),
            flag: Some("IN".into()),
            name: Some("INS SAGAR".into()),
            lat: Some(1.15),
            lon: Some(103.95),
            reports: 3,
            ..VesselRow::default()
        };
        let h = IdentityRow {
            mmsi: 419_001_234,
            time_ms: 100,
            field: "name".into(),
            old: None,
            new: "INS SAGAR".into(),
        };
        {
            let mut r = RegistryDb::open(&path).unwrap();
            r.upsert(std::slice::from_ref(&v), std::slice::from_ref(&h))
                .unwrap();
            r.upsert(std::slice::from_ref(&v), std::slice::from_ref(&h))
                .unwrap();
        }
        let r = RegistryDb::open(&path).unwrap();
        assert_eq!(r.vessel(419_001_234).unwrap(), Some(v.clone()));
        assert_eq!(r.vessel(1).unwrap(), None);
        assert_eq!(r.history(419_001_234).unwrap(), vec![h]);
        assert_eq!(r.vessels(Some([103.0, 1.0, 104.0, 2.0])).unwrap().len(), 1);
        assert_eq!(r.vessels(Some([0.0, 0.0, 1.0, 1.0])).unwrap().len(), 0);
        assert_eq!(r.vessels(None).unwrap().len(), 1);
    }

    #[test]
    fn provenance_of_later_runs_merges_with_the_stored_one() {
        // issue 21: per-source summaries and identity sources accumulate across runs; an
        // older position delivered late does not replace a source's latest one.
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-reg-prov-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        let path = dir.join("registry.sqlite");
        std::fs::remove_file(&path).ok();
        let summary = |first_ms, last_ms, positions, lat| VesselSourceRow {
            mmsi: 7,
            source: "navy/r1/RA".into(),
            first_ms,
            last_ms,
            positions,
            lat,
            lon: 103.0,
            sog_knots: Some(lat as f32),
            cog_deg: None,
            heading_deg: None,
            nav_status: Some(0),
        };
        let ident = |first_ms, last_ms| IdentitySourceRow {
            mmsi: 7,
            field: "name".into(),
            value: "SAGAR".into(),
            source: "hub/AI".into(),
            first_ms,
            last_ms,
        };
        let commit =
            |r: &mut RegistryDb, run, vs: &[VesselSourceRow], ids: &[IdentitySourceRow]| {
                r.commit_run(&RunCommit {
                    run,
                    finished_ms: 0,
                    positions: 0,
                    vessels: &[],
                    history: &[],
                    inputs: &[],
                    segmenters: &[],
                    late_sources: &[],
                    sources: &["navy/r1/RA".to_owned(), "hub/AI".to_owned()],
                    vessel_sources: vs,
                    identity_sources: ids,
                    events: &[],
                    withdrawn: &[],
                    engine_state: None,
                })
                .unwrap();
            };
        let mut r = RegistryDb::open(&path).unwrap();
        commit(&mut r, 1, &[summary(100, 200, 5, 1.0)], &[ident(100, 150)]);
        commit(&mut r, 2, &[summary(50, 150, 3, 2.0)], &[ident(40, 120)]);
        assert_eq!(
            r.vessel_sources(Some(7)).unwrap(),
            [summary(50, 200, 8, 1.0)]
        );
        commit(&mut r, 3, &[summary(300, 300, 1, 3.0)], &[ident(500, 600)]);
        assert_eq!(r.vessel_sources(None).unwrap(), [summary(50, 300, 9, 3.0)]);
        assert_eq!(r.identity_sources(7).unwrap(), [ident(40, 600)]);
        let s = r.sources().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].label.as_str(), s[0].first_run, s[0].last_run),
            ("hub/AI", 1, 3)
        );
        drop(r);
        // A reader of a registry from before issue 21 sees no provenance rather than failing.
        let old = dir.join("old.sqlite");
        std::fs::remove_file(&old).ok();
        rusqlite::Connection::open(&old)
            .unwrap()
            .execute_batch("CREATE TABLE vessels (mmsi INTEGER PRIMARY KEY);")
            .unwrap();
        let r = RegistryDb::open_read_only(&old).unwrap();
        assert!(r.sources().unwrap().is_empty());
        assert!(r.vessel_sources(None).unwrap().is_empty());
        assert!(r.identity_sources(7).unwrap().is_empty());
    }

    /// A run's rows are written many to a statement: more rows than one statement holds, and
    /// a later run's replacing and merging them, read back as written one at a time would be.
    #[test]
    fn many_rows_commit_across_statements() {
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-reg-many-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        let path = dir.join("registry.sqlite");
        std::fs::remove_file(&path).ok();
        let n = 2 * ROWS_PER_STATEMENT as u32 + 3;
        let segmenters = |opens: u32, run: u32| -> Vec<SegmenterRow> {
            (0..n)
                .map(|m| SegmenterRow {
                    mmsi: 1000 + m,
                    next_segment: run,
                    open: (0..opens)
                        .map(|k| OpenSegmentRow {
                            segment: k + run * 10,
                            transponder: "A".into(),
                            ..OpenSegmentRow::default()
                        })
                        .collect(),
                })
                .collect()
        };
        let sources = |positions: u64, last_ms: i64, lat: f64| -> Vec<VesselSourceRow> {
            (0..n)
                .flat_map(|m| {
                    ["a", "b"].map(|src| VesselSourceRow {
                        mmsi: 1000 + m,
                        source: src.into(),
                        first_ms: last_ms,
                        last_ms,
                        positions,
                        lat,
                        lon: 0.0,
                        sog_knots: None,
                        cog_deg: None,
                        heading_deg: None,
                        nav_status: None,
                    })
                })
                .collect()
        };
        let vessels: Vec<VesselRow> = (0..n)
            .map(|m| VesselRow {
                mmsi: 1000 + m,
                name: Some(format!("V{m}")),
                reports: 1,
                ..VesselRow::default()
            })
            .collect();
        let mut r = RegistryDb::open(&path).unwrap();
        let mut commit = |run: u64, segs: &[SegmenterRow], vs: &[VesselSourceRow]| {
            r.commit_run(&RunCommit {
                run,
                vessels: &vessels,
                segmenters: segs,
                vessel_sources: vs,
                ..RunCommit::default()
            })
            .unwrap();
        };
        commit(1, &segmenters(2, 1), &sources(2, 100, 1.0));
        commit(2, &segmenters(1, 2), &sources(3, 50, 2.0));
        let segs = r.segmenters().unwrap();
        assert_eq!(segs.len(), n as usize);
        assert!(segs
            .iter()
            .all(|s| s.next_segment == 2 && s.open.len() == 1 && s.open[0].segment == 20));
        let vs = r.vessel_sources(None).unwrap();
        assert_eq!(vs.len(), 2 * n as usize);
        // Counts add up; the older run's position stays the latest.
        assert!(vs
            .iter()
            .all(|v| v.positions == 5 && v.first_ms == 50 && v.last_ms == 100 && v.lat == 1.0));
        assert_eq!(r.vessels(None).unwrap().len(), n as usize);
        assert_eq!(
            r.vessel(1000 + n - 1).unwrap().and_then(|v| v.name),
            Some(format!("V{}", n - 1))
        );
    }

    /// Committed inputs are found by their content hash and by their size alone.
    #[test]
    fn committed_inputs_are_found_by_hash_and_by_size() {
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-reg-inputs-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        let path = dir.join("registry.sqlite");
        std::fs::remove_file(&path).ok();
        let mut r = RegistryDb::open(&path).unwrap();
        assert!(!r.has_input_of_size(1234).unwrap());
        let input = InputRow {
            content_hash: "xxh3-128:00ff:1234".into(),
            name: "a.nmea".into(),
            bytes: 1234,
        };
        r.commit_run(&RunCommit {
            run: 4,
            inputs: std::slice::from_ref(&input),
            ..RunCommit::default()
        })
        .unwrap();
        assert_eq!(r.input_run("xxh3-128:00ff:1234").unwrap(), Some(4));
        assert_eq!(r.input_run("xxh3-128:00fe:1234").unwrap(), None);
        assert!(r.has_input_of_size(1234).unwrap());
        assert!(!r.has_input_of_size(1235).unwrap());
    }
}
