//! The Tidewatch history store: position history in GeoParquet, partitioned by day, listed in a
//! manifest; and the vessel registry with identity history in SQLite ([`RegistryDb`]). The only
//! crate that writes files.
//!
//! Layout of a store directory:
//!
//! ```text
//! manifest.jsonl                                   committed files, one JSON object a line
//! positions/year=YYYY/month=M/part-NNNNNNNN.parquet  GeoParquet, one file per flush and day,
//!                                                    or one per compacted month (`month` in
//!                                                    the manifest); stores written before
//!                                                    issue 19 keep `date=YYYY-MM-DD` and
//!                                                    `date=YYYY-MM` paths
//! tmp/                                             files being written
//! writer.lock                                      held (flock) by the one writer
//! registry.sqlite                                  vessels, identity history and provenance,
//!                                                  runs, events ([`RegistryDb`])
//! access.sqlite, audit.jsonl                       partner sharing: labels, tokens, the
//!                                                  audit log (the `access` crate's, not
//!                                                  history)
//! ```
//!
//! One writer at a time: a writable [`Store`] ([`Store::open`], [`Store::create_or_open`])
//! holds an exclusive lock on `writer.lock` for as long as it lives, taken before recovery
//! touches anything; readers ([`Store::open_read_only`]) take no lock and may run beside it.
//!
//! Write path ([`Store::append`] then [`Store::flush`]), per day with rows:
//! 1. the rows are written to `tmp/part-N.parquet`, and the file is fsynced;
//! 2. it is renamed into `positions/year=.../month=.../`, and the directory is fsynced;
//! 3. one line describing it is appended to `manifest.jsonl`, which is fsynced.
//!
//! What survives a crash: a file is part of the store exactly when its manifest line is
//! complete. On [`Store::open`], a torn last manifest line is cut off, and files in `tmp/` or
//! under `positions/` without a manifest line are deleted. So after a crash at any point a
//! flush is either entirely visible or entirely absent; rows appended but not flushed are lost
//! (the ingest layer re-reads its input from the last committed point).
//!
//! ```
//! use store::{PositionRow, Store};
//!
//! let dir = std::env::temp_dir().join(format!("tw-store-doc-{}", std::process::id()));
//! let mut s = Store::create_or_open(&dir).unwrap();
//! s.append(PositionRow { time_ms: 1_768_435_200_000, mmsi: 563_012_345, lat: 1.2, lon: 103.7,
//!     ..PositionRow::default() });
//! s.flush().unwrap();
//! // A second writer is refused while `s` is open; readers are not.
//! assert!(matches!(Store::open(&dir), Err(store::StoreError::Locked(_))));
//! let rows = Store::open_read_only(&dir).unwrap().query(&store::Query::default()).unwrap();
//! assert_eq!(rows.len(), 1);
//! # std::fs::remove_dir_all(&dir).ok();
//! ```

mod buffer;
mod compact;
mod geoparquet;
mod manifest;
mod pread;
mod registry;

pub use compact::Compaction;
pub use geoparquet::PositionRow;
pub use manifest::FileEntry;
pub use registry::{
    EventQuery, EventRow, IdentityRow, IdentitySourceRow, InputRow, LateSourceRow, OpenRun,
    OpenSegmentRow, RegistryDb, RunCommit, SegmenterRow, SourceRow, VesselRow, VesselSourceRow,
};

/// Late sources by (MMSI, message time), for [`LateSources::merge`].
#[derive(Debug, Default)]
pub struct LateSources(rustc_hash::FxHashMap<(u32, i64), Vec<LateCopy>>);

/// A late copy's source and position (`None`: not kept).
type LateCopy = (String, Option<(f64, f64)>);

/// Whether a row at `lat`, `lon` is the one a late copy of the row at `position` is of
/// (`None`: a copy whose row's position was not kept, of any row of its MMSI and time). The
/// fuser gives the row's own position to 1e-7 degree (a centimetre), so not another row of
/// the same MMSI and time: another vessel's under a shared MMSI, or another transmission a
/// metre away.
pub fn late_copy_of(lat: f64, lon: f64, position: Option<(f64, f64)>) -> bool {
    const SAME_POSITION_DEG: f64 = 1.5e-7;
    position.is_none_or(|(la, lo)| {
        (la - lat).abs() <= SAME_POSITION_DEG && (lo - lon).abs() <= SAME_POSITION_DEG
    })
}

impl LateSources {
    /// Gathers `rows` (as [`RegistryDb::late_sources_between`] gives them).
    pub fn new(rows: Vec<LateSourceRow>) -> LateSources {
        let mut m: rustc_hash::FxHashMap<(u32, i64), Vec<LateCopy>> = Default::default();
        for l in rows {
            m.entry((l.mmsi, l.time_ms))
                .or_default()
                .push((l.source, l.position));
        }
        LateSources(m)
    }

    /// Adds to `row` the sources of copies of it that arrived after it was written (a later
    /// run's, kept in the registry: see [`Store::add_source_id`]), those at its position
    /// only: two rows of one MMSI and time (a shared or spoofed MMSI, hundreds of kilometres
    /// apart) never take each other's sources, which would show one to a principal who may
    /// see only the other's. (A late source from a registry that did not keep positions goes
    /// to every row of its MMSI and time.) Every read that serves a row's sources merges them
    /// first: a principal who may see only the late source sees the row.
    pub fn merge(&self, row: &mut PositionRow) {
        let Some(late) = self.0.get(&(row.mmsi, row.time_ms)) else {
            return;
        };
        for (s, at) in late {
            if late_copy_of(row.lat, row.lon, *at) && !row.sources.contains(s) {
                row.sources.push(s.clone());
            }
        }
    }
}

use buffer::{Buffer, Labels};
use std::fs;
use std::path::{Path, PathBuf};

/// Store errors.
#[derive(Debug)]
pub enum StoreError {
    /// The directory is not a store (no manifest) or cannot be read.
    NotAStore(PathBuf),
    /// A manifest line other than the last is not valid.
    CorruptManifest {
        /// 1-based line.
        line: usize,
        /// Parse error.
        message: String,
    },
    /// A file listed in the manifest is missing or unreadable.
    CorruptFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Another writer (an ingest or a compaction, in this or another process) holds the
    /// store's writer lock.
    Locked(PathBuf),
    /// An I/O error.
    Io(std::io::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotAStore(p) => write!(f, "{} is not a Tidewatch store", p.display()),
            StoreError::CorruptManifest { line, message } => {
                write!(f, "corrupt manifest at line {line}: {message}")
            }
            StoreError::CorruptFile { path, message } => {
                write!(f, "corrupt store file {}: {message}", path.display())
            }
            StoreError::Locked(p) => write!(
                f,
                "another tidewatch process is writing to {}; wait for it to finish",
                p.display()
            ),
            StoreError::Io(e) => write!(f, "store I/O error: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e)
    }
}

/// A query over position history. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Only this MMSI.
    pub mmsi: Option<u32>,
    /// From this time (inclusive), ms.
    pub from_ms: Option<i64>,
    /// Up to this time (exclusive), ms.
    pub to_ms: Option<i64>,
    /// Within `[min_lon, min_lat, max_lon, max_lat]`.
    pub bbox: Option<[f64; 4]>,
    /// Only files of these committed ingest runs (and files written outside a run); readers
    /// pass [`RegistryDb::committed_runs`] so a run still being written, or one that crashed,
    /// is not visible.
    pub committed_runs: Option<std::collections::HashSet<u64>>,
}

/// One vessel's rows within a time window ([`Store::query_windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VesselWindow {
    /// MMSI.
    pub mmsi: u32,
    /// From this time (inclusive), ms.
    pub from_ms: i64,
    /// Up to this time (exclusive), ms.
    pub to_ms: i64,
}

impl Query {
    fn matches(&self, r: &PositionRow) -> bool {
        self.mmsi.is_none_or(|m| r.mmsi == m)
            && self.from_ms.is_none_or(|t| r.time_ms >= t)
            && self.to_ms.is_none_or(|t| r.time_ms < t)
            && self
                .bbox
                .is_none_or(|b| r.lon >= b[0] && r.lat >= b[1] && r.lon <= b[2] && r.lat <= b[3])
    }

    fn may_match(&self, f: &FileEntry) -> bool {
        let committed = match (&self.committed_runs, f.run) {
            (Some(runs), Some(r)) => runs.contains(&r),
            _ => true,
        };
        committed
            && self.from_ms.is_none_or(|t| f.max_time_ms >= t)
            && self.to_ms.is_none_or(|t| f.min_time_ms < t)
            && self.mmsi.is_none_or(|m| m >= f.min_mmsi && m <= f.max_mmsi)
            && self.bbox.is_none_or(|b| {
                f.bbox[0] <= b[2] && f.bbox[2] >= b[0] && f.bbox[1] <= b[3] && f.bbox[3] >= b[1]
            })
    }
}

/// Writes `rows` (in the given order) as one GeoParquet file at `path`, outside any store
/// (exports such as `tidewatch track --format parquet`).
pub fn write_geoparquet(path: &Path, rows: &[PositionRow]) -> Result<(), StoreError> {
    let mut labels = Labels::default();
    let buf = Buffer::of_rows(rows, &mut labels);
    geoparquet::write(path, &buf.rows, &buf.ids, &labels.names, 0, "").map(|_| ())
}

/// Reads every row of a GeoParquet file written by Tidewatch.
pub fn read_geoparquet(path: &Path) -> Result<Vec<PositionRow>, StoreError> {
    let mut out = Vec::new();
    geoparquet::read(path, &geoparquet::Prune::default(), |r| out.push(r))?;
    Ok(out)
}

/// Visits the rows of a GeoParquet file written by Tidewatch whose message time lies in
/// `from_ms..to_ms`, a row at a time (memory stays flat however large the file).
pub fn visit_geoparquet(
    path: &Path,
    from_ms: i64,
    to_ms: i64,
    mut visit: impl FnMut(PositionRow),
) -> Result<(), StoreError> {
    let prune = geoparquet::Prune {
        mmsis: None,
        from_ms: Some(from_ms),
        to_ms: Some(to_ms),
    };
    geoparquet::read(path, &prune, |r| {
        if (from_ms..to_ms).contains(&r.time_ms) {
            visit(r);
        }
    })
}

/// Rows taken out of a store's buffer, one file per day (see [`Store::take_pending`]).
#[derive(Debug)]
pub struct PendingFiles {
    dir: PathBuf,
    run: Option<u64>,
    buf: Buffer,
    /// Memory for the sorted copy of `buf.rows`.
    sorted: Vec<buffer::Core>,
    labels: Vec<String>,
    /// (day, part, relative path) of each file, by day.
    files: Vec<(i64, u64, String)>,
}

impl PendingFiles {
    /// Writes each file to `tmp/`, fsyncs it, and renames it into place (fsyncing the
    /// directory). The files count only once [`Store::add_files`] lists them.
    pub fn write(self) -> Result<WrittenFiles, StoreError> {
        // Sorted by day, vessel, time, then arrival: a track query reads few row groups.
        let mut sorted = self.sorted;
        let days = self.buf.sorted_into(&mut sorted);
        let mut out = Vec::new();
        for ((day, part, rel), (d, range)) in self.files.iter().zip(&days) {
            debug_assert_eq!(day, d);
            let mut entry = write_into_place(
                &self.dir,
                &sorted[range.clone()],
                &self.buf.ids,
                &self.labels,
                *part,
                rel,
            )?;
            entry.run = self.run;
            out.push(entry);
        }
        let mut spare = self.buf;
        spare.clear();
        sorted.clear();
        Ok(WrittenFiles {
            files: out,
            spare,
            sorted,
        })
    }
}

const DAY_MS: i64 = 86_400_000;

/// Files written by [`PendingFiles::write`], to be listed by [`Store::add_files`] (which also
/// takes back the emptied buffer, so the next rows reuse its memory).
#[derive(Debug)]
pub struct WrittenFiles {
    files: Vec<FileEntry>,
    spare: Buffer,
    sorted: Vec<buffer::Core>,
}

impl WrittenFiles {
    /// The files.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }
}

/// An open store.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    files: Vec<FileEntry>,
    pending: Buffer,
    /// An emptied buffer to take the next rows.
    spare: Option<Buffer>,
    /// Memory for sorting the next flush.
    spare_sorted: Vec<buffer::Core>,
    labels: Labels,
    next_part: u64,
    run: Option<u64>,
    writable: bool,
    /// The writer lock, held while a writable store is open (`None` when read-only).
    _lock: Option<fs::File>,
}

const MANIFEST: &str = "manifest.jsonl";
const WRITER_LOCK: &str = "writer.lock";

/// Takes the store's exclusive writer lock (an advisory `flock`, released by the kernel when
/// the process dies, so a crashed writer never leaves it held). A lock just released can
/// still be held for a moment by a child process forked meanwhile (its copy of the descriptor
/// lives until it execs), so a held lock is tried again for [`LOCK_RETRY_MS`] before
/// [`StoreError::Locked`] (seen in CI: a store reopened while another test of the binary spawned `python3`).
fn take_writer_lock(dir: &Path) -> Result<fs::File, StoreError> {
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(WRITER_LOCK))?;
    let started = std::time::Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(lock),
            Err(fs::TryLockError::WouldBlock)
                if started.elapsed() < std::time::Duration::from_millis(LOCK_RETRY_MS) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(dir.to_owned())),
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::Io(e)),
        }
    }
}

/// How long a held writer lock is tried again before the store is reported locked, ms.
const LOCK_RETRY_MS: u64 = 250;

impl Store {
    /// Opens an existing store for writing, recovering from an interrupted flush (see the
    /// crate docs). Takes the store's writer lock first, so recovery never mistakes a live
    /// writer's files for a crashed one's; fails with [`StoreError::Locked`] while another
    /// writable `Store` (in any process) is open on `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(StoreError::NotAStore(dir.to_owned()));
        }
        let lock = take_writer_lock(dir)?;
        let files = manifest::load_and_repair(&manifest_path)?;
        for f in &files {
            if !dir.join(&f.file).is_file() {
                return Err(StoreError::CorruptFile {
                    path: dir.join(&f.file),
                    message: "listed in the manifest but missing".to_owned(),
                });
            }
        }
        remove_uncommitted(dir, &files)?;
        let next_part = files.iter().map(|f| f.part + 1).max().unwrap_or(0);
        Ok(Store {
            dir: dir.to_owned(),
            files,
            pending: Buffer::default(),
            spare: None,
            spare_sorted: Vec::new(),
            labels: Labels::default(),
            next_part,
            run: None,
            writable: true,
            _lock: Some(lock),
        })
    }

    /// Opens an existing store for reading only: nothing is repaired or deleted (a writer may
    /// be working in it; a torn last manifest line is ignored). Never creates a store.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(StoreError::NotAStore(dir.to_owned()));
        }
        let files = manifest::load(&manifest_path, false)?;
        Ok(Store {
            dir: dir.to_owned(),
            files,
            pending: Buffer::default(),
            spare: None,
            spare_sorted: Vec::new(),
            labels: Labels::default(),
            next_part: 0,
            run: None,
            writable: false,
            _lock: None,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates an empty store (or opens an existing one).
    pub fn create_or_open(dir: &Path) -> Result<Store, StoreError> {
        fs::create_dir_all(dir.join("positions"))?;
        fs::create_dir_all(dir.join("tmp"))?;
        let m = dir.join(MANIFEST);
        if !m.exists() {
            let f = fs::File::create(&m)?;
            f.sync_all()?;
            sync_dir(dir)?;
        }
        Store::open(dir)
    }

    /// Committed files.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Rows committed.
    pub fn committed_rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Buffers a row until the next [`Store::flush`].
    pub fn append(&mut self, row: PositionRow) {
        let ids: Vec<u32> = row.sources.iter().map(|s| self.labels.id(s)).collect();
        self.pending.push(&row, &ids);
    }

    /// The id of a source label, for [`Store::append_with_sources`].
    pub fn source_id(&mut self, label: &str) -> u32 {
        self.labels.id(label)
    }

    /// Buffers a row heard by the sources `ids` (from [`Store::source_id`]; the row's own
    /// `sources` are ignored). Allocates nothing per row.
    pub fn append_with_sources(&mut self, row: &PositionRow, ids: &[u32]) {
        self.pending.push(row, ids);
    }

    /// Rows waiting for a flush.
    pub fn pending_rows(&self) -> usize {
        self.pending.rows.len()
    }

    /// Adds source `id` (from [`Store::source_id`]) to the sources of the buffered row of
    /// `mmsi` at `time_ms` (at `position`, when given: not another vessel's under the same
    /// MMSI). Returns false when no such row is buffered (it was flushed already, or never
    /// appended).
    pub fn add_source_id(
        &mut self,
        mmsi: u32,
        time_ms: i64,
        position: Option<(f64, f64)>,
        id: u32,
    ) -> bool {
        self.pending.add_source(mmsi, time_ms, position, id)
    }

    /// Writes buffered rows as one file per day, atomically (see the crate docs).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let files = self.take_pending()?.write()?;
        self.add_files(files)
    }

    /// Takes the buffered rows out, to be written by [`PendingFiles::write`] (on any thread)
    /// and listed by [`Store::add_files`]: a flush split in two, so that writing can overlap
    /// with buffering the next rows.
    pub fn take_pending(&mut self) -> Result<PendingFiles, StoreError> {
        if !self.writable {
            return Err(StoreError::Io(std::io::Error::other(
                "store opened read-only",
            )));
        }
        // The next buffer reuses the memory of the last one written, or starts as large as
        // this one: no regrowing, no fresh pages.
        let next = self.spare.take().unwrap_or_else(|| {
            Buffer::with_capacity(self.pending.rows.capacity(), self.pending.ids.capacity())
        });
        let buf = std::mem::replace(&mut self.pending, next);
        let mut files = Vec::new();
        for day in buf.days() {
            let part = self.next_part;
            self.next_part += 1;
            let rel = format!("positions/{}/part-{part:08}.parquet", partition_of_day(day));
            files.push((day, part, rel));
        }
        Ok(PendingFiles {
            dir: self.dir.clone(),
            run: self.run,
            buf,
            sorted: std::mem::take(&mut self.spare_sorted),
            labels: self.labels.names.clone(),
            files,
        })
    }

    /// Lists files written by [`PendingFiles::write`] in the manifest: from here on they are
    /// part of the store.
    pub fn add_files(&mut self, written: WrittenFiles) -> Result<(), StoreError> {
        self.spare = Some(written.spare);
        self.spare_sorted = written.sorted;
        for entry in written.files {
            manifest::append(&self.dir.join(MANIFEST), &entry)?;
            self.files.push(entry);
        }
        Ok(())
    }

    /// Tags the files of later flushes with ingest run `run`.
    pub fn set_run(&mut self, run: Option<u64>) {
        self.run = run;
    }

    /// Largest run id among committed files.
    pub fn max_run(&self) -> Option<u64> {
        self.files.iter().filter_map(|f| f.run).max()
    }

    /// Removes the files of runs for which `committed` is false (a run that crashed before the
    /// registry recorded it), rewriting the manifest atomically first. Returns the rows removed.
    pub fn discard_runs(&mut self, committed: impl Fn(u64) -> bool) -> Result<u64, StoreError> {
        if !self.writable {
            return Err(StoreError::Io(std::io::Error::other(
                "store opened read-only",
            )));
        }
        let (keep, drop): (Vec<FileEntry>, Vec<FileEntry>) = self
            .files
            .iter()
            .cloned()
            .partition(|f| f.run.is_none_or(&committed));
        if drop.is_empty() {
            return Ok(0);
        }
        manifest::rewrite(&self.dir.join(MANIFEST), &keep)?;
        for f in &drop {
            fs::remove_file(self.dir.join(&f.file)).ok();
        }
        self.files = keep;
        Ok(drop.iter().map(|f| f.rows).sum())
    }

    /// Rows matching `q`, ordered by MMSI then time, and rows sharing both by the manifest's
    /// order of their files, then their order in the file. Files whose manifest entry rules
    /// them out are not opened. When a listed file has gone (a compaction replaced it since this store
    /// read its manifest), the manifest is read again and the query run on it.
    pub fn query(&self, q: &Query) -> Result<Vec<PositionRow>, StoreError> {
        self.query_or_again(q, None)
    }

    /// The rows of many vessels, each within its own time window (`from_ms..to_ms`; windows
    /// of one MMSI are joined into the span that covers them), ordered as [`Store::query`]'s,
    /// from one pass over the files: a file is opened once, and only pages that can hold one
    /// of the vessels are read. For pages of late sources, whose rows are looked up by the
    /// thousand (one query per vessel opened the files once each).
    pub fn query_windows(
        &self,
        windows: &[VesselWindow],
        committed_runs: Option<std::collections::HashSet<u64>>,
    ) -> Result<Vec<PositionRow>, StoreError> {
        let mut spans: Vec<VesselWindow> = windows.to_vec();
        spans.sort_unstable_by_key(|w| w.mmsi);
        spans.dedup_by(|b, a| {
            let same = a.mmsi == b.mmsi;
            if same {
                a.from_ms = a.from_ms.min(b.from_ms);
                a.to_ms = a.to_ms.max(b.to_ms);
            }
            same
        });
        let Some(from_ms) = spans.iter().map(|w| w.from_ms).min() else {
            return Ok(Vec::new());
        };
        let q = Query {
            from_ms: Some(from_ms),
            to_ms: spans.iter().map(|w| w.to_ms).max(),
            committed_runs,
            ..Query::default()
        };
        self.query_or_again(&q, Some(&spans))
    }

    /// Runs a query; when a listed file has gone, reads the manifest again and runs it on that.
    fn query_or_again(
        &self,
        q: &Query,
        spans: Option<&[VesselWindow]>,
    ) -> Result<Vec<PositionRow>, StoreError> {
        match self.query_files(&self.files, q, spans) {
            Err(StoreError::CorruptFile { path, .. }) if !path.exists() => {
                let fresh = manifest::load(&self.dir.join(MANIFEST), false)?;
                self.query_files(&fresh, q, spans)
            }
            r => r,
        }
    }

    /// `spans`: per vessel (sorted by MMSI, one each), the only times wanted.
    fn query_files(
        &self,
        files: &[FileEntry],
        q: &Query,
        spans: Option<&[VesselWindow]>,
    ) -> Result<Vec<PositionRow>, StoreError> {
        let mut out = Vec::new();
        let mmsis: Option<std::sync::Arc<[u32]>> = match (q.mmsi, spans) {
            (Some(m), _) => Some(std::sync::Arc::from([m])),
            (None, Some(s)) => Some(s.iter().map(|w| w.mmsi).collect()),
            (None, None) => None,
        };
        let in_span = |r: &PositionRow| {
            spans.is_none_or(|s| {
                s.binary_search_by_key(&r.mmsi, |w| w.mmsi)
                    .is_ok_and(|i| (s[i].from_ms..s[i].to_ms).contains(&r.time_ms))
            })
        };
        let prune = geoparquet::Prune {
            mmsis,
            from_ms: q.from_ms,
            to_ms: q.to_ms,
        };
        let files: Vec<&FileEntry> = files
            .iter()
            .filter(|f| {
                q.may_match(f)
                    && spans.is_none_or(|s| {
                        s.get(s.partition_point(|w| w.mmsi < f.min_mmsi))
                            .is_some_and(|w| w.mmsi <= f.max_mmsi)
                    })
            })
            .collect();
        // Files are independent: read them on every core.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(files.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        // Each file's rows apart, by its place in the manifest: which worker read which file
        // varies from run to run, and rows sharing an MMSI and a time (two transmitters, a
        // re-timed copy) must keep one order, the files', for every reader to see the same.
        type Part = Vec<(usize, Vec<PositionRow>)>;
        let parts: Vec<Result<Part, StoreError>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut part = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(f) = files.get(i) else {
                                return Ok(part);
                            };
                            let mut rows = Vec::new();
                            geoparquet::read(&self.dir.join(&f.file), &prune, |r| {
                                if q.matches(&r) && in_span(&r) {
                                    rows.push(r);
                                }
                            })?;
                            part.push((i, rows));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(StoreError::Io(std::io::Error::other(
                            "a reader thread panicked",
                        )))
                    })
                })
                .collect()
        });
        let mut by_file = Vec::with_capacity(files.len());
        for p in parts {
            by_file.extend(p?);
        }
        by_file.sort_unstable_by_key(|(i, _)| *i);
        for (_, rows) in by_file {
            out.extend(rows);
        }
        out.sort_by_key(|r| (r.mmsi, r.time_ms));
        Ok(out)
    }
}

fn remove_uncommitted(dir: &Path, files: &[FileEntry]) -> Result<(), StoreError> {
    let listed: std::collections::HashSet<PathBuf> =
        files.iter().map(|f| dir.join(&f.file)).collect();
    if let Ok(tmp) = fs::read_dir(dir.join("tmp")) {
        for e in tmp.flatten() {
            fs::remove_file(e.path()).ok();
        }
    }
    // Partitions are `year=/month=/` (two levels) or, in older stores, `date=` (one level).
    remove_unlisted(&dir.join("positions"), &listed, 2)
}

fn remove_unlisted(
    dir: &Path,
    listed: &std::collections::HashSet<PathBuf>,
    depth: u32,
) -> Result<(), StoreError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let path = e.path();
        if e.file_type()?.is_dir() {
            if depth > 0 {
                remove_unlisted(&path, listed, depth - 1)?;
            }
        } else if !listed.contains(&path) {
            fs::remove_file(&path).ok();
        }
    }
    Ok(())
}

/// Writes `rows` (their sources in `ids`) as the store file `rel` (relative to `dir`): to `tmp/`
/// first, fsynced, then renamed into place and the directories fsynced. The file counts only
/// once the manifest lists it.
pub(crate) fn write_into_place(
    dir: &Path,
    rows: &[buffer::Core],
    ids: &[u32],
    labels: &[String],
    part: u64,
    rel: &str,
) -> Result<FileEntry, StoreError> {
    let tmp = tmp_path(dir, part);
    let entry = geoparquet::write(&tmp, rows, ids, labels, part, rel)?;
    move_into_place(dir, &tmp, rel)?;
    Ok(entry)
}

/// Where file `part` is written before it is moved into place.
pub(crate) fn tmp_path(dir: &Path, part: u64) -> PathBuf {
    dir.join("tmp").join(format!("part-{part:08}.parquet"))
}

/// Renames the fsynced file `tmp` to `rel` and fsyncs the directories that changed.
pub(crate) fn move_into_place(dir: &Path, tmp: &Path, rel: &str) -> Result<(), StoreError> {
    let dest = dir.join(rel);
    let parent = dest.parent().unwrap_or(dir).to_owned();
    let new_dir = !parent.exists();
    fs::create_dir_all(&parent)?;
    fs::rename(tmp, &dest)?;
    sync_dir(&parent)?;
    if new_dir {
        if let Some(up) = parent.parent() {
            sync_dir(up)?;
        }
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// `(year, month, day)` of a day number (days since 1970-01-01), proleptic Gregorian.
pub(crate) fn civil_of_day(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
/// The Hive partition of a day's files, `year=YYYY/month=M`: the same keys, typed the same
/// (integers, the month without a leading zero, which DuckDB would type as text) by every Hive-partition reader, for day files and compacted month files alike
/// (issue 19; stores written before keep their `date=` paths, which the manifest lists).
pub(crate) fn partition_of_day(z: i64) -> String {
    let (y, m, _) = civil_of_day(z);
    format!("year={y}/month={m}")
}

#[cfg(test)]
fn date_of_day(z: i64) -> String {
    let (y, m, d) = civil_of_day(z);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Late sources reach the row of their MMSI, time and position, once each, and no other
    /// row: not another vessel's under the same MMSI at the same time elsewhere, nor another
    /// transmission a metre away.
    #[test]
    fn late_sources_merge_into_the_rows_of_their_mmsi_time_and_position() {
        let l = |mmsi, time_ms, source: &str, position| LateSourceRow {
            mmsi,
            time_ms,
            source: source.into(),
            position,
        };
        let late = LateSources::new(vec![
            l(7, 1_000, "SAT", Some((10.0, 20.0))),
            l(7, 1_000, "A", Some((10.0, 20.0))),
            l(8, 2_000, "SAT", Some((10.0, 20.0))),
            // From a registry that did not keep positions: every row of that MMSI and time.
            l(9, 1_000, "OLD", None),
        ]);
        let row = |mmsi, time_ms, lat| PositionRow {
            mmsi,
            time_ms,
            lat,
            lon: 20.0,
            sources: vec!["A".into()],
            ..PositionRow::default()
        };
        let mut rows = [
            row(7, 1_000, 10.000_000_05),
            row(7, 2_000, 10.0),
            row(8, 1_000, 10.0),
            // The same MMSI and time, 50 km away, and another transmission a metre away.
            row(7, 1_000, 10.5),
            row(7, 1_000, 10.000_01),
            row(9, 1_000, 1.0),
            row(9, 1_000, 2.0),
        ];
        for r in &mut rows {
            late.merge(r);
        }
        let sources: Vec<Vec<String>> = rows.iter().map(|r| r.sources.clone()).collect();
        assert_eq!(
            sources,
            [
                vec!["A", "SAT"],
                vec!["A"],
                vec!["A"],
                vec!["A"],
                vec!["A"],
                vec!["A", "OLD"],
                vec!["A", "OLD"]
            ]
        );
    }

    use proptest::strategy::Strategy;

    #[test]
    fn dates() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(1_768_435_200_000 / 86_400_000), "2026-01-15");
        assert_eq!(date_of_day(-1), "1969-12-31");
    }

    /// Rows of `buf` sorted by (day, MMSI, time, arrival), the slow obvious way.
    fn tuple_sorted(buf: &Buffer) -> Vec<buffer::Core> {
        let mut keys: Vec<_> = buf
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.time_ms.div_euclid(DAY_MS), r.mmsi, r.time_ms, i))
            .collect();
        keys.sort_unstable();
        keys.into_iter().map(|k| buf.rows[k.3]).collect()
    }

    proptest::proptest! {
        /// The counting sort orders exactly as sorting the (day, MMSI, time, arrival) tuples
        /// does, and its day ranges hold exactly the rows of their day: times before the epoch,
        /// at day boundaries, far apart, out of order and tied alike.
        #[test]
        fn rows_sort_by_day_vessel_time_and_arrival(
            rows in proptest::collection::vec(
                (proptest::prop_oneof![
                    -3 * DAY_MS..3 * DAY_MS,
                    1_768_435_200_000i64 - DAY_MS..1_768_435_200_000 + 2 * DAY_MS,
                    (0i64..20).prop_map(|t| 1_768_435_200_000 + t * 1000),
                    proptest::num::i64::ANY.prop_map(|t| t / 4),
                ], proptest::prop_oneof![0u32..4, proptest::num::u32::ANY]),
                0..300,
            ),
            reuse in 0usize..20,
        ) {
            let mut buf = Buffer::default();
            for (i, (time_ms, mmsi)) in rows.into_iter().enumerate() {
                // Distinct source ids tell rows with equal keys apart.
                buf.push(&PositionRow { time_ms, mmsi, ..PositionRow::default() }, &[i as u32]);
            }
            // Memory left from an earlier flush is replaced, not appended to.
            let mut sorted = vec![buffer::Core::default(); reuse];
            let days = buf.sorted_into(&mut sorted);
            proptest::prop_assert_eq!(&sorted, &tuple_sorted(&buf));
            let mut at = 0;
            for (i, (day, range)) in days.iter().enumerate() {
                proptest::prop_assert_eq!(range.start, at);
                proptest::prop_assert!(!range.is_empty());
                proptest::prop_assert!(i == 0 || days[i - 1].0 < *day);
                for r in &sorted[range.clone()] {
                    proptest::prop_assert_eq!(r.time_ms.div_euclid(DAY_MS), *day);
                }
                at = range.end;
            }
            proptest::prop_assert_eq!(at, sorted.len());
            // The days the buffer lists (one file each) are these days.
            let listed: Vec<i64> = days.iter().map(|d| d.0).collect();
            proptest::prop_assert_eq!(listed, buf.days());
        }
    }
}
