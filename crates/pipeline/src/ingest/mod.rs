//! Ingest: decode → fuse → segment → detect → store, as one atomic run.
//!
//! A run reads all its inputs at once and merges their observations into message-time order
//! ([`merge`]), fuses the copies of each transmission ([`track::fuse`]), segments each MMSI's
//! positions and updates the vessels ([`write`]), writes the positions as GeoParquet files
//! tagged with the run id, and then commits the run in the registry database together with
//! the vessel states, identity changes, segmenter states and the content hashes of the inputs.
//! Reading and fusing run on one thread, segmenting and writing on another. Until the commit
//! the run's files do not count: a run killed at any point leaves no trace after the next
//! start, and an input whose content was already committed is skipped, so ingesting the same
//! file twice changes nothing. Content hashes end with the byte count, so only files whose
//! size a committed input (or another input of the run) shares are hashed before reading; the
//! others are hashed as they are read, and every input is read once.

pub mod link_file;
pub mod live;
mod merge;
pub mod report;
pub mod summary;
mod write;

use crate::input;
use anyhow::{Context, Result};
pub use merge::AssumeTime;
use merge::{Feed, Merger};
use report::{Dropped, Report, TimeSources};
use std::path::PathBuf;
use std::sync::mpsc;
use store::{InputRow, RegistryDb, RunCommit, Store};
use summary::Summary;
use track::fuse::{Content, Fuser, FuserConfig, FuserStats, Output};
use write::Writer;

/// Position quality flag: latitude or longitude out of range; not placed in a segment.
pub const FLAG_BAD_POSITION: u8 = 1;
/// Position quality flag: no course while moving (GFW discards these); not placed.
pub const FLAG_NO_COURSE: u8 = 2;
/// Position quality flag: type 27 report too soon after its segment's last position.
pub const FLAG_LONG_RANGE_NOISE: u8 = 4;
/// Position quality flag: a suspect position, not placed in a segment and not the vessel's
/// latest position: (0, 0) ("null island"), or a spike (no speed nor course, and no open
/// segment can reach it at a plausible speed).
pub const FLAG_SUSPECT_POSITION: u8 = 8;

/// One input named on the command line (after directory expansion).
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// Path, or `-`.
    pub path: String,
    /// Provenance label.
    pub label: String,
}

/// `NAME=PATH` or `PATH`. A prefix counts as a name only when it is a plain word and the whole
/// argument is not an existing path (Hive-style `date=...` directories stay paths).
pub fn parse_spec(arg: &str) -> (Option<String>, String) {
    if let Some((name, path)) = arg.split_once('=') {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if plain && !std::path::Path::new(arg).exists() {
            return (Some(name.to_owned()), path.to_owned());
        }
    }
    (None, arg.to_owned())
}

fn default_label(path: &str) -> String {
    if path == "-" {
        return "stdin".to_owned();
    }
    let name = std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |f| f.to_string_lossy().into_owned());
    // A compressed copy is the same feed as the file it was made from.
    match name.strip_suffix(".gz") {
        Some(stem) if !stem.is_empty() => stem.to_owned(),
        _ => name,
    }
}

/// Fused records per message to the writing thread.
const BATCH: usize = 256;

/// What flows from the reading thread to the writing one.
struct Batch {
    /// Station labels interned since the previous batch.
    labels: Vec<String>,
    outputs: Vec<Output<Report>>,
}

/// What the reading thread reports at its end.
struct ReadSide {
    feeds: Vec<FeedEnd>,
    fuser: FuserStats,
    /// Late copies of stored rows from a source the row already lists (not recorded again).
    known_repeats: u64,
}

struct FeedEnd {
    raw_hash: Option<String>,
    stats: ais::stream::Stats,
    csv: Option<sources::csv_archive::CsvStats>,
    dropped: Dropped,
    other_messages: u64,
    times: TimeSources,
    error: Option<String>,
}

/// Positions that earlier runs stored, which this run's inputs may repeat (a log ingested
/// again after it grew, the same data from another partner or compressed): the rows of
/// committed files are read into the fuser's memory once this run's message times come
/// within the fusion windows of them, so a repeated transmission becomes a late source of the
/// stored row instead of a second row. Files outside the run's times are never read; a file
/// spanning more than [`Prior::SPAN_MS`] (a compacted month) is read a span at a time, as the
/// run's times reach it, so memory follows the run, not the file.
struct Prior {
    dir: PathBuf,
    /// Committed files, each with the time range read so far (`None`: nothing yet).
    files: Vec<(store::FileEntry, Option<(i64, i64)>)>,
    /// The sources the stored rows read list, as [`source_key`]s with the row's time: a late
    /// copy from one of them is the stored transmission delivered again by the same feed
    /// (a grown log, a repeated file), which adds nothing to the row.
    known: rustc_hash::FxHashMap<u64, i64>,
    /// Keys before this time were dropped (the run has moved past them).
    known_floor_ms: i64,
    /// How long keys are kept after the run's times passed them: as long as the fuser can
    /// still join a copy to a stored row (its late and cold windows).
    known_span_ms: i64,
    /// The registry, read for the late sources earlier runs recorded (they list feeds on
    /// stored rows too), and the time range read so far.
    late: Option<store::RegistryDb>,
    late_done: Option<(i64, i64)>,
}

/// A receive time this far from the report's second or more is not a terrestrial receiver's
/// (see [`Prior::drop_known`]).
const MOVED_SKEW_MS: i64 = 2_000;

/// A stored row's source, as [`Prior::known`] keys it: MMSI, message time, position (as the
/// fuser gives it, to 1e-7 degree: one MMSI may have two rows at one time) and label hashed.
fn source_key(mmsi: u32, time_ms: i64, (lat, lon): (f64, f64), label: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let e7 = |x: f64| (x * 1e7).round() as i64;
    let mut h = rustc_hash::FxHasher::default();
    (mmsi, time_ms, e7(lat), e7(lon), label).hash(&mut h);
    h.finish()
}

impl Prior {
    /// How much of a long file is read at once.
    const SPAN_MS: i64 = 6 * 3_600_000;

    fn new(store: &Store, committed: &std::collections::HashSet<u64>, cfg: &FuserConfig) -> Prior {
        Prior {
            dir: store.dir().to_owned(),
            files: store
                .files()
                .iter()
                .filter(|f| f.run.is_none_or(|r| committed.contains(&r)))
                .map(|f| (f.clone(), None))
                .collect(),
            known: rustc_hash::FxHashMap::default(),
            late: store::RegistryDb::open_read_only(&store.dir().join("registry.sqlite")).ok(),
            late_done: None,
            known_floor_ms: i64::MIN,
            known_span_ms: cfg.late_window_ms + cfg.cold_window_ms,
        }
    }

    /// Drops the late sources of `outputs[from..]` that the stored row already lists, and
    /// the records that are such a copy moved to the minute next to its stored row; returns
    /// how many.
    ///
    /// The second: a feed's copy whose receive time is a satellite's, stamped late, is moved
    /// to the minute after its transmission's; within a run its payload bits join it to the
    /// record (`track::fuse`), but a stored row has no bits. When the same feed delivers it
    /// again (a grown log, the file again compressed), the stored row of the minute next to
    /// it lists that feed, at the same position: the copy is that row's. A receive time
    /// within [`MOVED_SKEW_MS`] of the report's second is a terrestrial receiver's: its
    /// report is its own, whatever a row a minute away says.
    fn drop_known(&self, outputs: &mut Vec<Output<Report>>, from: usize, labels: &[String]) -> u64 {
        if self.known.is_empty() {
            return 0;
        }
        let label_of = |source: &track::fuse::SourceRef| {
            source
                .station
                .and_then(|i| labels.get(i.index()))
                .map_or("", String::as_str)
        };
        let listed = |o: &Output<Report>| match o {
            Output::LateSource {
                mmsi,
                time_ms,
                source,
                position: Some(at),
                ..
            } => self
                .known
                .contains_key(&source_key(*mmsi, *time_ms, *at, label_of(source))),
            Output::LateSource { position: None, .. } => false,
            Output::Record(r) => {
                let ([s], Report::Position(p)) = (r.sources.as_slice(), &r.payload) else {
                    return false;
                };
                if (s.received_ms - r.time_ms).abs() < MOVED_SKEW_MS {
                    return false;
                }
                let at =
                    Content::at_time(p.lat, p.lon, p.sog_knots, p.cog_deg, r.time_ms).lat_lon();
                let label = label_of(s);
                [r.time_ms - 60_000, r.time_ms + 60_000]
                    .into_iter()
                    .any(|t| self.known.contains_key(&source_key(r.mmsi, t, at, label)))
            }
        };
        // Kept outputs move up in order; dropped ones end past `kept`.
        let mut kept = from;
        for i in from..outputs.len() {
            if !listed(&outputs[i]) {
                outputs.swap(kept, i);
                kept += 1;
            }
        }
        let dropped = (outputs.len() - kept) as u64;
        outputs.truncate(kept);
        dropped
    }

    /// Reads the stored rows with message times in `lo_ms..=hi_ms` not read before.
    fn load(&mut self, lo_ms: i64, hi_ms: i64, fuser: &mut Fuser<Report>) -> Result<()> {
        // Swept when the floor can move by a whole span (each key is swept once or twice).
        let span = self.known_span_ms;
        if lo_ms.saturating_sub(span) > self.known_floor_ms.saturating_add(span) {
            self.known_floor_ms = lo_ms - span;
            let floor = self.known_floor_ms;
            self.known.retain(|_, t| *t >= floor);
        }
        let known = &mut self.known;
        if let Some(reg) = &self.late {
            let (lo, hi) = (
                lo_ms,
                hi_ms
                    .max(lo_ms.saturating_add(Self::SPAN_MS))
                    .saturating_add(1),
            );
            let ranges = match self.late_done {
                None => vec![(lo, hi)],
                // What is not read yet, gaps included (so the range read stays one).
                Some((a, b)) => [(lo, a), (b, hi)]
                    .into_iter()
                    .filter(|(x, y)| x < y)
                    .collect(),
            };
            for (a, b) in ranges {
                for l in reg.late_sources_between(a, b)? {
                    if let Some(at) = l.position {
                        let at = Content::at_time(at.0, at.1, None, None, l.time_ms).lat_lon();
                        known.insert(source_key(l.mmsi, l.time_ms, at, &l.source), l.time_ms);
                    }
                }
            }
            self.late_done = Some(match self.late_done {
                None => (lo, hi),
                Some((a, b)) => (a.min(lo), b.max(hi)),
            });
        }
        for (f, done) in &mut self.files {
            if f.max_time_ms < lo_ms || f.min_time_ms > hi_ms {
                continue;
            }
            // The part of the file to read: the wanted range, widened to a span (or the
            // whole file when it is short), less what was read already.
            let whole = f.max_time_ms.saturating_sub(f.min_time_ms) <= Self::SPAN_MS;
            let (mut from, mut to) = if whole {
                (f.min_time_ms, f.max_time_ms.saturating_add(1))
            } else {
                (
                    lo_ms,
                    hi_ms
                        .max(lo_ms.saturating_add(Self::SPAN_MS))
                        .saturating_add(1),
                )
            };
            let mut ranges = Vec::with_capacity(2);
            match *done {
                None => ranges.push((from, to)),
                Some((a, b)) => {
                    if from < a {
                        ranges.push((from, a));
                    }
                    if to > b {
                        ranges.push((b, to));
                    }
                    from = from.min(a);
                    to = to.max(b);
                }
            }
            *done = Some((from, to));
            let path = self.dir.join(&f.file);
            for (a, b) in ranges {
                store::visit_geoparquet(&path, a, b, |r| {
                    let content = Content::at_time(r.lat, r.lon, r.sog_knots, r.cog_deg, r.time_ms);
                    for label in &r.sources {
                        let key = source_key(r.mmsi, r.time_ms, content.lat_lon(), label);
                        known.insert(key, r.time_ms);
                    }
                    fuser.remember(r.mmsi, r.time_ms, content);
                })
                .with_context(|| format!("cannot read stored positions {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// Merges, fuses and sends batches to the writer; returns the accounting.
fn read_and_fuse(
    mut merger: Merger,
    mut prior: Prior,
    cfg: FuserConfig,
    tx: mpsc::SyncSender<Batch>,
    emptied: mpsc::Receiver<Vec<Output<Report>>>,
) -> Result<ReadSide> {
    let mut fuser: Fuser<Report> = Fuser::new(cfg);
    let mut obs = Vec::new();
    let mut outputs = Vec::new();
    let mut labels_sent = 0;
    let reach_ms = cfg.dedup_window_ms.max(cfg.content_window_ms);
    let mut known_repeats = 0;
    loop {
        let more = merger.step(&mut obs)?;
        if let Some((lo, hi)) = obs.iter().map(|o| o.time_ms).fold(None, |r, t| {
            Some(r.map_or((t, t), |(lo, hi): (i64, i64)| (lo.min(t), hi.max(t))))
        }) {
            prior.load(lo - reach_ms, hi + reach_ms, &mut fuser)?;
        }
        fuser.touch(&obs);
        let from = outputs.len();
        for o in obs.drain(..) {
            fuser.push(o, &mut outputs);
        }
        if !more {
            fuser.flush(&mut outputs);
        }
        known_repeats += prior.drop_known(&mut outputs, from, &merger.stations.labels);
        if outputs.len() >= BATCH || !more {
            let labels = merger.stations.labels[labels_sent..].to_vec();
            labels_sent = merger.stations.labels.len();
            let batch = Batch {
                labels,
                // The writer hands emptied batches back: a fresh one is a large allocation,
                // mapped and zeroed by the kernel each time.
                outputs: std::mem::replace(
                    &mut outputs,
                    emptied
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH + 1024)),
                ),
            };
            if tx.send(batch).is_err() {
                // The writer stopped; its error is the one to report.
                break;
            }
        }
        if !more {
            break;
        }
    }
    Ok(ReadSide {
        feeds: merger
            .feeds
            .into_iter()
            .map(|f| FeedEnd {
                raw_hash: f.raw_hash.as_ref().map(input::RawHash::finish),
                stats: f.stats,
                csv: f.csv,
                dropped: f.dropped,
                other_messages: f.other_messages,
                times: f.times,
                error: f.error,
            })
            .collect(),
        fuser: fuser.stats(),
        known_repeats,
    })
}

/// Positions buffered before they are written as files, by default. Smaller buffers are
/// written while input is still read, leave less to write after it, and their memory is
/// reused sooner: on a 5 M-line real-mix replay 2.64-2.76 s wall with 2^18 against 2.90-3.36
/// s with 2^20 (peak 344-368 against 698-711 MB; 2^17 and 2^19 were no faster), on the
/// simulated sample 6.64-6.96 against 7.25-7.64 s. Compaction merges the files later. The
/// price: more late copies find their position already written and are kept as registry rows
/// (`late_sources`; 7,690 instead of 1,155 on 1 M real-mix lines).
pub const DEFAULT_FLUSH_ROWS: usize = 1 << 18;

/// How a run works.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub reorder_window_ms: i64,
    /// Positions buffered before a file is written ([`DEFAULT_FLUSH_ROWS`]).
    pub flush_rows: usize,
    pub assume_time: Option<AssumeTime>,
    /// Abort at the first input that cannot be read.
    pub strict: bool,
    /// Detection.
    pub detect: crate::detecting::DetectOptions,
}

/// A store opened for ingest, holding the store's writer lock (see the `store` crate docs).
pub struct Session {
    dir: PathBuf,
    store: Store,
    reg: RegistryDb,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens (or creates) the store at `dir` for writing.
    pub fn open(dir: &std::path::Path) -> Result<Session> {
        let store = open_writable(dir)?;
        let reg = RegistryDb::open(&dir.join("registry.sqlite"))
            .with_context(|| format!("cannot open registry in {}", dir.display()))?;
        Ok(Session {
            dir: dir.to_owned(),
            store,
            reg,
        })
    }

    /// One atomic run over `inputs` (see the module docs).
    pub fn ingest(&mut self, inputs: Vec<InputSpec>, opts: &RunOptions) -> Result<Summary> {
        let (store, reg) = (&mut self.store, &mut self.reg);
        ingest_run(store, reg, inputs, opts)
    }

    /// The store directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The store's registry.
    pub fn registry(&self) -> &RegistryDb {
        &self.reg
    }
}

/// Opens (or creates) the store at `dir` for writing; fails while another process writes it.
pub fn open_writable(dir: &std::path::Path) -> Result<Store> {
    Store::create_or_open(dir).with_context(|| format!("cannot open store {}", dir.display()))
}

/// A file's content hash as the registry keys it: the same bytes under another feed name
/// (`NAME=PATH`: a partner relaying a feed) are another delivery, whose source the rows gain;
/// under the file's own name, a repeat.
/// Read with `--assume-time`, the same bytes are other data (positions at other times): a
/// file first ingested without it (nothing stored, for want of receive times) or with another
/// is read again.
fn labelled_hash(hash: String, spec: &InputSpec, assume: Option<&AssumeTime>) -> String {
    let mut key = if spec.label != default_label(&spec.path) {
        format!("{hash}/{}", spec.label)
    } else {
        hash
    };
    assume_key(&mut key, assume);
    key
}

/// Appends `--assume-time`'s reading to a content hash (without `:`, which ends the byte count).
fn assume_key(key: &mut String, assume: Option<&AssumeTime>) {
    match assume {
        None => {}
        Some(AssumeTime::Start {
            start_ms,
            lines_per_s,
        }) => key.push_str(&format!("@assume-{start_ms}-{lines_per_s}")),
        Some(AssumeTime::Mtime { lines_per_s }) => {
            key.push_str(&format!("@assume-mtime-{lines_per_s}"))
        }
    }
}

/// The byte count a content hash ends with.
fn hashed_bytes(hash: &str) -> u64 {
    hash.rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn ingest_run(
    store: &mut Store,
    reg: &mut RegistryDb,
    specs_in: Vec<InputSpec>,
    opts: &RunOptions,
) -> Result<Summary> {
    let committed = reg.committed_runs()?;
    let mut sum = Summary {
        discarded_rows: store.discard_runs(|r| committed.contains(&r))?,
        ..Summary::default()
    };
    let run = committed
        .iter()
        .copied()
        .chain(store.max_run())
        .max()
        .map_or(1, |r| r + 1);
    sum.run = run;
    store.set_run(Some(run));

    // Skip files whose content was committed before under the same feed name (or that are
    // given twice). A content hash ends with the byte count, so a file whose size no
    // committed input and no other input of this run has cannot be a repeat: it is hashed as
    // it is read (one read of it). The others are hashed before reading (two).
    let sized: Vec<(InputSpec, Option<u64>)> = specs_in
        .into_iter()
        .map(|spec| {
            let size = (spec.path != "-")
                .then(|| std::fs::metadata(&spec.path).ok())
                .flatten()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            (spec, size)
        })
        .collect();
    let mut run_sizes: std::collections::HashMap<u64, usize> = Default::default();
    for n in sized.iter().filter_map(|(_, n)| *n) {
        *run_sizes.entry(n).or_default() += 1;
    }
    let mut inputs: Vec<InputRow> = Vec::new();
    let mut specs: Vec<InputSpec> = Vec::new();
    let mut hash_as_read: std::collections::HashSet<String> = Default::default();
    for (spec, size) in sized {
        if spec.path == "-" {
            specs.push(spec);
            continue;
        }
        let new_size = match size {
            Some(n) => run_sizes[&n] == 1 && !reg.has_input_of_size(n)?,
            None => false,
        };
        if new_size {
            hash_as_read.insert(spec.path.clone());
            specs.push(spec);
            continue;
        }
        let hash = match input::hash_file(&spec.path) {
            Ok(h) => labelled_hash(h, &spec, opts.assume_time.as_ref()),
            Err(e) if !opts.strict => {
                sum.inputs_failed.push((spec.path, format!("{e:#}")));
                continue;
            }
            Err(e) => return Err(e),
        };
        let earlier = reg.input_run(&hash)?;
        if let Some(r) =
            earlier.or_else(|| inputs.iter().any(|x| x.content_hash == hash).then_some(run))
        {
            sum.inputs_skipped.push((spec.path, r));
            continue;
        }
        inputs.push(InputRow {
            content_hash: hash,
            name: spec.path.clone(),
            bytes: 0,
        });
        specs.push(spec);
    }

    let progress = crate::input::progress_bar();
    let mut feeds = Vec::new();
    let mut total = 0;
    let mut opened = Vec::new();
    for spec in specs {
        let (feed, size) = match Feed::open(
            &spec.path,
            spec.label.clone(),
            &progress,
            opts.assume_time,
            hash_as_read.contains(&spec.path),
        ) {
            Ok(f) => f,
            Err(e) if !opts.strict => {
                inputs.retain(|i| i.name != spec.path);
                sum.inputs_failed.push((spec.path, format!("{e:#}")));
                continue;
            }
            Err(e) => return Err(e),
        };
        total += size.unwrap_or(0);
        if let Some(i) = inputs.iter_mut().find(|i| i.name == spec.path) {
            i.bytes = size.unwrap_or(0);
        }
        opened.push(spec);
        feeds.push(feed);
    }
    let specs = opened;
    progress.set_length(total);
    let cfg = FuserConfig {
        reorder_window_ms: opts.reorder_window_ms,
        late_window_ms: FuserConfig::default()
            .late_window_ms
            .max(opts.reorder_window_ms),
        ..FuserConfig::default()
    };

    // Read and fuse on one thread, segment and write on this one.
    let prior = Prior::new(store, &committed, &cfg);
    let hook = if opts.detect.off {
        None
    } else {
        Some(crate::detecting::Background::spawn(
            crate::detecting::Hook::open(store.dir(), reg, &opts.detect)?,
        )?)
    };
    let mut writer = Writer::new(store, reg, opts.flush_rows)?;
    writer.detect = hook;
    let (tx, rx) = mpsc::sync_channel::<Batch>(8);
    let (give_back, emptied) = mpsc::channel();
    let merger = Merger::new(feeds, opts.strict, report::TimeBounds::at(wall_clock_ms()));
    let (read_side, written) = std::thread::scope(|scope| {
        // Named threads, so that a profile tells reading from writing.
        let reader = std::thread::Builder::new()
            .name("ingest-read".to_owned())
            .spawn_scoped(scope, move || {
                read_and_fuse(merger, prior, cfg, tx, emptied)
            })
            .expect("the system cannot start a thread");
        let mut written = Ok(());
        for mut batch in rx.iter() {
            writer.labels.extend(batch.labels);
            if let Err(e) = writer.take_batch(&mut batch.outputs) {
                written = Err(e);
                break;
            }
            let _ = give_back.send(batch.outputs);
        }
        drop(rx);
        let read_side = reader
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the reading thread panicked")));
        (read_side, written)
    });
    let read_side = read_side?;
    written?;
    progress.finish_and_clear();
    sum.written = writer.counts;
    let commit = writer.finish()?;

    // Accounting per input; stdin is hashed as it is read.
    let mut stdin_seen_in: Option<u64> = None;
    for (feed, spec) in read_side.feeds.iter().zip(&specs) {
        sum.decode.add(&feed.stats);
        if let Some(c) = &feed.csv {
            sum.csv.rows += c.rows;
            sum.csv.records += c.records;
            for (why, n) in &c.rejected {
                *sum.csv.rejected.entry(why.as_str()).or_default() += n;
            }
            sum.csv.not_utf8 += c.not_utf8;
            sum.csv.cells_unparsed += c.cells_unparsed;
            sum.csv.ship_type_unmapped += c.ship_type_unmapped;
        }
        sum.dropped.add(&feed.dropped);
        sum.times.add(&feed.times);
        sum.other_messages += feed.other_messages;
        sum.inputs_read += 1;
        if let Some(e) = &feed.error {
            // Read up to the error: what was read is committed with the content hash, so
            // ingesting the same bytes again changes nothing.
            sum.inputs_failed
                .push((spec.path.clone(), format!("{e} (read up to there)")));
        }
        if let (Some(hash), true) = (&feed.raw_hash, spec.path != "-") {
            // A file hashed as it was read. One whose reading stopped at an error is hashed
            // whole, as a file hashed before reading is, so that the same file again is
            // skipped.
            let whole = match &feed.error {
                Some(_) => input::hash_file(&spec.path).unwrap_or_else(|_| hash.clone()),
                None => hash.clone(),
            };
            inputs.push(InputRow {
                bytes: hashed_bytes(&whole),
                content_hash: labelled_hash(whole, spec, opts.assume_time.as_ref()),
                name: spec.path.clone(),
            });
        } else if let Some(hash) = &feed.raw_hash {
            let mut key = hash.clone();
            assume_key(&mut key, opts.assume_time.as_ref());
            if let Some(r) = reg.input_run(&key)? {
                stdin_seen_in = Some(r);
            }
            inputs.push(InputRow {
                content_hash: key,
                name: spec.path.clone(),
                bytes: hashed_bytes(hash),
            });
        }
    }
    let f = read_side.fuser;
    sum.observations = f.observations;
    sum.duplicates_merged = f.duplicates_merged;
    sum.late_duplicates = f.late_duplicates;
    sum.late_known = read_side.known_repeats;
    sum.released_out_of_order = f.released_out_of_order;
    sum.stale_unchecked = f.stale_unchecked;
    let mut commit = commit;
    let files = std::mem::take(&mut commit.files);
    if let Some(r) = stdin_seen_in {
        // The run wrote stdin's positions before its hash was known: drop the whole run.
        files.list_all(store)?;
        store.discard_runs(|x| x != run)?;
        if specs.len() > 1 {
            anyhow::bail!(
                "the data on stdin was already ingested (run {r}); nothing from this run was \
                 committed: ingest the other inputs without it"
            );
        }
        // Read and decoded before its hash was known, but skipped as a whole: the run's
        // account is a skipped file's (nothing read, counted, stored or warned of).
        return Ok(Summary {
            run: sum.run,
            discarded_rows: sum.discarded_rows,
            inputs_skipped: vec![("-".to_owned(), r)],
            vessels_total: commit.vessels_total,
            ..Summary::default()
        });
    }

    sum.vessels_touched = commit.vessels.len() as u64;
    sum.vessels_total = commit.vessels_total;
    sum.past_static_reports = commit.past_static_reports;
    // A first value of a field (old `None`) fills it; a change replaces a known value.
    sum.identity_first_fills = commit.history.iter().filter(|h| h.old.is_none()).count() as u64;
    sum.identity_changes = commit.history.len() as u64 - sum.identity_first_fills;
    let detect = commit.detect.take();
    if inputs.is_empty() {
        files.list_all(store)?;
        if finish_detection(detect, &mut sum)?.is_some() {
            // Nothing was read, so nothing of detection is committed: say so, rather than
            // count the open events it reported as it finished.
            sum.detect = Some("detection: nothing read; no event stored or changed".to_owned());
            sum.events.clear();
        }
    } else {
        // The registry's rows go in while the last files are written and detection finishes
        // on its own thread; its events complete the same transaction, committed once the
        // files are durable and listed.
        let open = reg.begin_run(&RunCommit {
            events: &[],
            withdrawn: &[],
            engine_state: None,
            run,
            finished_ms: wall_clock_ms(),
            positions: sum.written.positions,
            vessels: &commit.vessels,
            history: &commit.history,
            inputs: &inputs,
            segmenters: &commit.segmenters,
            late_sources: &commit.late_sources,
            sources: &commit.sources,
            vessel_sources: &commit.vessel_sources,
            identity_sources: &commit.identity_sources,
        })?;
        files.list_all(store)?;
        // Commit point. The failpoint simulates a crash after the files are durable and
        // before the registry records the run (tested in tests/ingest.rs).
        if std::env::var_os("TIDEWATCH_FAILPOINT").is_some_and(|v| v == "before-commit") {
            std::process::abort();
        }
        match finish_detection(detect, &mut sum)? {
            Some(ev) => open.finish(&ev.rows, &ev.withdrawn, Some(&ev.state))?,
            None => open.finish(&[], &[], None)?,
        }
    }
    Ok(sum)
}

/// Waits for a run's detection and puts its summary line and events in the summary.
fn finish_detection(
    detect: Option<crate::detecting::Background>,
    sum: &mut Summary,
) -> Result<Option<crate::detecting::RunEvents>> {
    let Some(ev) = detect.map(|d| d.finish()).transpose()? else {
        return Ok(None);
    };
    sum.detect = Some(crate::detecting::summary_line(&ev));
    sum.detect_missing = (!ev.loaded.land_ok).then(|| ev.loaded.land.clone());
    sum.detect_late = ev.older_than_state.clone();
    sum.detect_out_of_order = ev.out_of_order;
    sum.events = ev.rows.clone();
    Ok(Some(ev))
}

/// The wall clock, ms since the Unix epoch.
fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The inputs named, with directories expanded (see [`expand_inputs`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expanded {
    /// What to read.
    pub inputs: Vec<InputSpec>,
    /// Files under a directory that are documents by their names (`README.md`, `LICENSE`,
    /// a PDF): not read, reported as skipped.
    pub documents: Vec<String>,
    /// What under a directory could not be read (a subdirectory without permission, a link
    /// to nothing), with why: reported as inputs that failed, the rest read.
    pub unreadable: Vec<(String, String)>,
}

/// Whether a file found in a directory is a document rather than data, by its name: a
/// dataset's README or licence, pages, pictures. NMEA and CSV come under any name (`.txt`,
/// `.log`, none), so only these are set aside; a document named on its own is read.
fn is_document(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.split('.').next().unwrap_or_default();
    let ext = lower.rsplit_once('.').map(|(_, e)| e);
    matches!(
        stem,
        "readme" | "license" | "licence" | "copying" | "notice" | "changelog" | "authors"
    ) || matches!(
        ext,
        Some(
            "md" | "markdown"
                | "rst"
                | "pdf"
                | "html"
                | "htm"
                | "png"
                | "jpg"
                | "jpeg"
                | "gif"
                | "svg"
                | "doc"
                | "docx"
        )
    )
}

/// The inputs with directories replaced by the regular files under them (recursively, in
/// name order; hidden files and documents skipped), each with its provenance label. A
/// subdirectory that cannot be read or a link to nothing is listed in
/// [`Expanded::unreadable`] (with `strict`, an error).
pub fn expand_inputs(inputs: &[String], strict: bool) -> Result<Expanded> {
    struct Walk<'a> {
        files: &'a mut Vec<String>,
        docs: &'a mut Vec<String>,
        unreadable: &'a mut Vec<(String, String)>,
        strict: bool,
    }
    fn walk(dir: &std::path::Path, w: &mut Walk<'_>, top: bool) -> Result<()> {
        let listed = std::fs::read_dir(dir).and_then(|d| d.collect::<Result<Vec<_>, _>>());
        let mut entries = match listed {
            Ok(e) => e,
            Err(e) if !top && !w.strict => {
                let why = format!("cannot read directory {}: {e}", dir.display());
                w.unreadable.push((dir.display().to_string(), why));
                return Ok(());
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read directory {}", dir.display()))
            }
        };
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = e.path();
            let path = p.to_string_lossy().into_owned();
            if p.is_dir() {
                walk(&p, w, false)?;
            } else if p.is_file() {
                if is_document(&e.file_name().to_string_lossy()) {
                    w.docs.push(path);
                } else {
                    w.files.push(path);
                }
            } else if e.file_type().is_ok_and(|t| t.is_symlink()) {
                let why = format!("{path} is a link to nothing (its target is missing)");
                if w.strict {
                    anyhow::bail!(why);
                }
                w.unreadable.push((path, why));
            }
        }
        Ok(())
    }
    let mut out = Expanded::default();
    for arg in inputs {
        let (name, i) = parse_spec(arg);
        let p = std::path::Path::new(&i);
        let mut paths = Vec::new();
        if i != "-" && p.is_dir() {
            let docs_before = out.documents.len();
            let mut w = Walk {
                files: &mut paths,
                docs: &mut out.documents,
                unreadable: &mut out.unreadable,
                strict,
            };
            walk(p, &mut w, true)?;
            if paths.is_empty() && out.unreadable.is_empty() {
                if out.documents.len() > docs_before {
                    anyhow::bail!("directory {i} holds only documents (README, licence, pages)");
                }
                anyhow::bail!("directory {i} holds no files");
            }
        } else {
            paths.push(i.clone());
        }
        out.inputs.extend(paths.into_iter().map(|path| InputSpec {
            label: name.clone().unwrap_or_else(|| default_label(&path)),
            path,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compressed_copy_keeps_its_feed_s_name_and_documents_are_told_from_data() {
        assert_eq!(default_label("/data/feed.nmea.gz"), "feed.nmea");
        assert_eq!(default_label("/data/feed.nmea"), "feed.nmea");
        assert_eq!(default_label("/data/.gz"), ".gz");
        assert_eq!(default_label("-"), "stdin");
        for doc in [
            "README.md",
            "readme",
            "LICENSE",
            "Licence.txt",
            "notes.pdf",
            "map.PNG",
        ] {
            assert!(is_document(doc), "{doc}");
        }
        for data in [
            "aishub.txt",
            "feed.nmea",
            "ais.log",
            "dk.csv",
            "x.nm4.gz",
            "capture",
        ] {
            assert!(!is_document(data), "{data}");
        }
    }

    #[test]
    fn a_source_name_is_a_plain_word_before_an_equals_sign() {
        assert_eq!(
            parse_spec("in-navy=/data/feed.nmea"),
            (Some("in-navy".to_owned()), "/data/feed.nmea".to_owned())
        );
        assert_eq!(parse_spec("feed.nmea"), (None, "feed.nmea".to_owned()));
        // Hive-style partition directories are paths, not names.
        assert_eq!(
            parse_spec("/data/date=2026-01-01/a.nmea"),
            (None, "/data/date=2026-01-01/a.nmea".to_owned())
        );
        assert_eq!(parse_spec("=x"), (None, "=x".to_owned()));
        assert_eq!(default_label("/a/b/c.nmea.gz"), "c.nmea");
    }
}
