//! Reading many inputs at once and merging their observations into message-time order, with
//! memory bounded by what the inputs disagree about rather than by their size.
//!
//! Every input (feed) is decoded chunk by chunk into its own queue. The merger always reads
//! next from the feed whose newest message time is the oldest (a feed that has produced nothing
//! yet first), and releases the oldest queue front (a heap over the fronts) once every
//! unfinished feed has passed its time (the *watermark*): nothing still unread can then precede
//! it or share its time (so copies of one transmission reach the fuser in input order), unless
//! a feed is itself out of order, which the fuser's reorder window absorbs. Inputs covering the
//! same hours are interleaved; inputs covering consecutive days are read one after the other,
//! with one chunk of the later ones held.
//!
//! What an input holds is told from its first line: NMEA (sentences, tag blocks, `$PGHP`,
//! comments), a live spool segment (NMEA with an arrival-time line before every received line,
//! see `live.rs`), or a CSV archive (`,` or `;` separated, with a known header). CR-only line
//! ends are read as line ends. A first line that looks like CSV but has no header, or a header
//! Tidewatch does not know, is an error naming what was expected (not thousands of rejected
//! NMEA lines). A read error part way through ends that input, keeping what was read (the
//! caller reports it), unless `--strict`.

use super::report::{
    from_csv, ArrivalLines, Collect, Dropped, LineTime, Report, Stations, TimeBounds, TimeSources,
};
use crate::input::{self, RawHash};
use ais::stream::{Decoder, DecoderConfig, Stats};
use anyhow::{Context, Result};
use rustc_hash::FxHashMap;
use sources::csv_archive::{CsvReader, CsvStats};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use track::fuse::{Observation, SourceRef, StationId};

/// The line a live spool writes before every line it received: `#arrival_ms:<ms>` (a comment
/// to NMEA readers).
pub(super) const ARRIVAL_MARKER: &[u8] = b"#arrival_ms:";

/// `--assume-time`: times for NMEA lines that have none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AssumeTime {
    /// The first line at `start_ms`, then `lines_per_s` lines a second.
    Start { start_ms: i64, lines_per_s: f64 },
    /// The first line at the file's modification time, then `lines_per_s` lines a second.
    Mtime { lines_per_s: f64 },
}

impl AssumeTime {
    /// `START[,RATE]` (START an RFC 3339 time) or `mtime[,RATE]`; RATE lines per second,
    /// default 1.
    pub fn parse(s: &str) -> Result<AssumeTime, String> {
        let (start, rate) = match s.split_once(',') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let lines_per_s = match rate {
            None => 1.0,
            Some(r) => r
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r > 0.0)
                .ok_or_else(|| format!("`{r}`: RATE is lines per second, a number above 0"))?,
        };
        if start.trim() == "mtime" {
            return Ok(AssumeTime::Mtime { lines_per_s });
        }
        let t = chrono::DateTime::parse_from_rfc3339(start.trim()).map_err(|e| {
            format!("`{start}`: give an RFC 3339 time like 2015-03-01T12:00:00Z, or mtime ({e})")
        })?;
        let start_ms = t.timestamp_millis();
        // Every line would be dropped as `time_out_of_range`: say so now.
        let bounds = super::report::TimeBounds::at(chrono::Utc::now().timestamp_millis());
        if !bounds.contains(start_ms) {
            return Err(format!(
                "`{start}` is outside the times AIS reports can have (1998-01-01 to a day from \
                 now): every line would be dropped"
            ));
        }
        Ok(AssumeTime::Start {
            start_ms,
            lines_per_s,
        })
    }
}

/// How a feed times lines without a time of their own.
enum FeedTime {
    None,
    /// Arrival times of a spool segment's lines, filled by [`SpoolLines`] as it reads.
    Arrival(Arc<Mutex<ArrivalLines>>),
    Assume {
        start_ms: i64,
        ms_per_line: f64,
    },
}

/// Reads a live spool segment: drops the arrival-time lines and records, for every other
/// line (in order), the arrival time written before it. A segment written without them (by
/// an older version) reads unchanged.
struct SpoolLines<R> {
    inner: R,
    line: Vec<u8>,
    pos: usize,
    expect_marker: bool,
    pending: Option<i64>,
    arrival: Arc<Mutex<ArrivalLines>>,
}

impl<R: BufRead> Read for SpoolLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.line.len() {
            self.line.clear();
            self.pos = 0;
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(0);
            }
            if self.expect_marker && self.line.starts_with(ARRIVAL_MARKER) {
                let v = &self.line[ARRIVAL_MARKER.len()..];
                self.pending = std::str::from_utf8(v)
                    .ok()
                    .and_then(|v| v.trim().parse().ok());
                self.expect_marker = false;
                self.line.clear();
                continue;
            }
            if let Ok(mut a) = self.arrival.lock() {
                a.times.push_back(self.pending.take());
            }
            self.expect_marker = true;
        }
        let n = buf.len().min(self.line.len() - self.pos);
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads CR-only line ends as line ends (every CR as LF; a CRLF becomes an empty line more,
/// which readers skip).
struct CrAsLf<R>(R);

impl<R: Read> Read for CrAsLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

/// What the first line of an input says it holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Nmea,
    Spool,
    Csv(u8),
    /// A page a partner server's link delivered (`link_file`).
    Link,
}

/// Packed formats an input may be in that ingest does not unpack (gzip it does), by their
/// first bytes.
const PACKED: [(&[u8], &str); 5] = [
    (b"PK\x03\x04", "a zip archive"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
];

/// Tells an input's shape from its first line, or says why it cannot be read.
fn shape(first_line: &[u8]) -> Result<Shape, String> {
    if let Some((_, what)) = PACKED
        .iter()
        .find(|(magic, _)| first_line.starts_with(magic))
    {
        return Err(format!(
            "is {what}, which ingest does not unpack: unpack it first (gzip is read as it is)"
        ));
    }
    // Text has no NUL and few control characters; a binary file read as NMEA would only be
    // counted line by line as not AIS.
    let head = &first_line[..first_line.len().min(4096)];
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n'))
        .count();
    if head.contains(&0) || control * 10 > head.len() {
        return Err("is binary, not NMEA or CSV text".to_owned());
    }
    let line = ais::nmea::trim(first_line);
    if line.starts_with(ARRIVAL_MARKER) {
        return Ok(Shape::Spool);
    }
    if line.starts_with(super::link_file::HEADER_KEY) {
        return Ok(Shape::Link);
    }
    if line.starts_with(b"!") || line.starts_with(b"$") || line.starts_with(b"\\") {
        return Ok(Shape::Nmea);
    }
    let text = String::from_utf8_lossy(line);
    let count = |c: char| text.matches(c).count();
    let (delim, seps) = [(b',', count(',')), (b';', count(';')), (b'\t', count('\t'))]
        .into_iter()
        .fold((b',', 0), |best, d| if d.1 > best.1 { d } else { best });
    let cells = seps + 1;
    let sep = char::from(delim);
    let sep_name = if delim == b'\t' {
        "tab".to_owned()
    } else {
        format!("`{sep}`")
    };
    if cells >= 4 && text.to_ascii_uppercase().contains("MMSI") {
        return sources::csv_archive::header_check(&text, delim)
            .map(|_| Shape::Csv(delim))
            .map_err(|e| format!("looks like a {sep_name}-separated CSV archive, but {e}"));
    }
    if cells < 4 || !matches!(ais::nmea::classify(line), ais::nmea::LineKind::Other(_)) {
        return Ok(Shape::Nmea);
    }
    let first_cell = text.split(sep).next().unwrap_or("").trim();
    if !first_cell.is_empty() && first_cell.bytes().all(|b| b.is_ascii_digit() || b == b'"') {
        let names: Vec<String> = text.split(sep).map(str::to_owned).collect();
        return Err(format!(
            "looks like a {sep_name}-separated CSV archive without a header row (its first row's \
             {cells} cells start {}); expected {}",
            sources::csv_archive::header_excerpt(&names),
            sources::csv_archive::EXPECTED_HEADER
        ));
    }
    Ok(Shape::Nmea)
}

/// Bytes decoded per step.
const CHUNK: usize = 256 * 1024;
/// Archive rows read per step.
const CSV_ROWS: usize = 2048;

/// What a feed holds.
enum Kind {
    /// Raw NMEA.
    Nmea {
        reader: Box<dyn Read + Send>,
        decoder: Box<Decoder>,
    },
    /// A link page (read whole: a page is at most 100,000 rows).
    Link { reader: Box<dyn Read + Send> },
    /// A decoded archive in CSV.
    Csv {
        reader: Box<CsvReader<Box<dyn Read + Send>>>,
        /// Hash of the static data last given per MMSI.
        last_static: FxHashMap<u32, u64>,
    },
}

/// One input being read.
pub(super) struct Feed {
    /// The input as named on the command line (or found in a directory).
    pub name: String,
    /// Provenance label of its records.
    pub label: String,
    kind: Kind,
    /// Newest message time decoded so far.
    newest_ms: Option<i64>,
    done: bool,
    /// Hash of the raw bytes as read, for inputs not hashed before reading (stdin, and files
    /// whose size no input of the store or the run shares: see `ingest_run`).
    pub raw_hash: Option<RawHash>,
    /// Decoder accounting (NMEA), once finished.
    pub stats: Stats,
    /// Row accounting (CSV archives).
    pub csv: Option<CsvStats>,
    /// Reports not kept.
    pub dropped: Dropped,
    /// Messages that are not vessel reports.
    pub other_messages: u64,
    /// Where the receive times of its reports came from.
    pub times: TimeSources,
    line_time: FeedTime,
    /// Why reading stopped before the end (what was read before is kept).
    pub error: Option<String>,
}

impl Feed {
    /// Opens `name` for reading; `label` goes into the provenance of its records; `assume`
    /// times NMEA lines that have no time of their own; `hash`: hash a file's bytes as they
    /// are read (stdin's always are).
    pub fn open(
        name: &str,
        label: String,
        progress: &indicatif::ProgressBar,
        assume: Option<AssumeTime>,
        hash: bool,
    ) -> Result<(Feed, Option<u64>)> {
        let inp = if hash {
            input::open_hashing(name, progress)?
        } else {
            input::open(name, progress)?
        };
        // The first line tells what the input holds.
        let mut r = BufReader::with_capacity(64 * 1024, inp.reader);
        let mut first = Vec::new();
        r.by_ref()
            .take(64 * 1024)
            .read_until(b'\n', &mut first)
            .with_context(|| format!("cannot read {name}"))?;
        let cr_only = first.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n');
        let first_line_end = first
            .iter()
            .position(|&b| b == b'\n' || (cr_only && b == b'\r'))
            .unwrap_or(first.len());
        let shape = shape(&first[..first_line_end]).map_err(|e| anyhow::anyhow!("{name} {e}"))?;
        let mut reader: Box<dyn Read + Send> =
            Box::new(std::io::Cursor::new(first.clone()).chain(r));
        if cr_only {
            reader = Box::new(CrAsLf(reader));
        }
        let mut line_time = match assume {
            None => FeedTime::None,
            Some(a) => {
                let (start_ms, lines_per_s) = match a {
                    AssumeTime::Start {
                        start_ms,
                        lines_per_s,
                    } => (start_ms, lines_per_s),
                    AssumeTime::Mtime { lines_per_s } => (mtime_ms(name)?, lines_per_s),
                };
                FeedTime::Assume {
                    start_ms,
                    ms_per_line: 1000.0 / lines_per_s,
                }
            }
        };
        let kind = match shape {
            Shape::Csv(delim) => {
                let csv = CsvReader::with_delimiter(reader, delim)
                    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
                Kind::Csv {
                    reader: Box::new(csv),
                    last_static: FxHashMap::default(),
                }
            }
            Shape::Spool => {
                let arrival = Arc::new(Mutex::new(ArrivalLines::default()));
                line_time = FeedTime::Arrival(arrival.clone());
                Kind::Nmea {
                    reader: Box::new(SpoolLines {
                        inner: BufReader::with_capacity(64 * 1024, reader),
                        line: Vec::new(),
                        pos: 0,
                        expect_marker: true,
                        pending: None,
                        arrival,
                    }),
                    decoder: Box::new(Decoder::new(DecoderConfig::default())),
                }
            }
            Shape::Link => Kind::Link { reader },
            Shape::Nmea => Kind::Nmea {
                reader,
                decoder: Box::new(Decoder::new(DecoderConfig::default())),
            },
        };
        Ok((
            Feed {
                name: name.to_owned(),
                label,
                kind,
                newest_ms: None,
                done: false,
                raw_hash: inp.raw_hash,
                stats: Stats::default(),
                csv: None,
                dropped: Dropped::default(),
                other_messages: 0,
                times: TimeSources::default(),
                line_time,
                error: None,
            },
            inp.size,
        ))
    }
}

/// A file's modification time, ms since the Unix epoch.
fn mtime_ms(name: &str) -> Result<i64> {
    if name == "-" {
        anyhow::bail!("--assume-time mtime: stdin has no modification time; give a start time");
    }
    let t = std::fs::metadata(name)
        .and_then(|m| m.modified())
        .with_context(|| format!("cannot read the modification time of {name}"))?;
    Ok(match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    })
}

/// The k-way merge over all feeds.
pub(super) struct Merger {
    /// The feeds, by source id.
    pub feeds: Vec<Feed>,
    /// Interned station labels.
    pub stations: Stations,
    /// Decoded observations of each feed, in arrival order.
    queues: Vec<VecDeque<Observation<Report>>>,
    /// (message time, feed) of the front of every non-empty queue.
    fronts: BinaryHeap<Reverse<(i64, usize)>>,
    buf: Vec<u8>,
    scratch: Vec<Observation<Report>>,
    /// A read error aborts the run instead of ending its input.
    strict: bool,
    /// Message times accepted.
    bounds: TimeBounds,
}

impl Merger {
    pub fn new(feeds: Vec<Feed>, strict: bool, bounds: TimeBounds) -> Self {
        Merger {
            strict,
            queues: feeds.iter().map(|_| VecDeque::new()).collect(),
            feeds,
            stations: Stations::default(),
            fronts: BinaryHeap::new(),
            buf: vec![0; CHUNK],
            scratch: Vec::new(),
            bounds,
        }
    }

    /// Reads one chunk from the feed holding the merge back, then moves every observation
    /// below the watermark (all of them once every feed is done) into `out`, oldest first.
    /// Returns false once everything is out.
    pub fn step(&mut self, out: &mut Vec<Observation<Report>>) -> Result<bool> {
        let next = (0..self.feeds.len())
            .filter(|&i| !self.feeds[i].done)
            .min_by_key(|&i| self.feeds[i].newest_ms.unwrap_or(i64::MIN));
        if let Some(i) = next {
            self.read_chunk(i)?;
        }
        // A feed that has reached time t may still deliver more reports of time t.
        let watermark = self
            .feeds
            .iter()
            .filter(|f| !f.done)
            .map(|f| f.newest_ms.unwrap_or(i64::MIN))
            .min();
        while let Some(&Reverse((t, i))) = self.fronts.peek() {
            if watermark.is_some_and(|w| t >= w) {
                break;
            }
            if self.fronts.len() == 1 {
                // One queue left to merge (a single input, or the others drained): what the
                // loop below would pop one by one is its prefix before the first report at or
                // past the watermark, moved at once.
                self.fronts.pop();
                let q = &mut self.queues[i];
                let n = watermark.map_or(q.len(), |w| {
                    q.iter().position(|o| o.time_ms >= w).unwrap_or(q.len())
                });
                out.extend(q.drain(..n));
                if let Some(f) = q.front() {
                    self.fronts.push(Reverse((f.time_ms, i)));
                }
                break;
            }
            self.fronts.pop();
            let q = &mut self.queues[i];
            out.extend(q.pop_front());
            if let Some(f) = q.front() {
                self.fronts.push(Reverse((f.time_ms, i)));
            }
        }
        Ok(next.is_some() || !self.fronts.is_empty())
    }

    fn read_chunk(&mut self, i: usize) -> Result<()> {
        let feed = &mut self.feeds[i];
        match &mut feed.kind {
            Kind::Nmea { reader, decoder } => {
                let n = loop {
                    match reader.read(&mut self.buf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) if self.strict => {
                            return Err(e).with_context(|| format!("cannot read {}", feed.name))
                        }
                        Err(e) => {
                            feed.error = Some(format!("cannot read {}: {e}", feed.name));
                            break 0;
                        }
                    }
                };
                let mut guard = None;
                let line_time = match &feed.line_time {
                    FeedTime::None => LineTime::None,
                    FeedTime::Assume {
                        start_ms,
                        ms_per_line,
                    } => LineTime::Assume {
                        start_ms: *start_ms,
                        ms_per_line: *ms_per_line,
                    },
                    FeedTime::Arrival(a) => {
                        let g = guard.insert(a.lock().unwrap_or_else(|e| e.into_inner()));
                        LineTime::Arrival(g)
                    }
                };
                let mut sink = Collect {
                    line_time,
                    times: &mut feed.times,
                    feed: i as u32,
                    feed_label: &feed.label,
                    payload_hash: 0,
                    obs: &mut self.scratch,
                    stations: &mut self.stations,
                    dropped: &mut feed.dropped,
                    other_messages: &mut feed.other_messages,
                    bounds: self.bounds,
                };
                if n == 0 {
                    feed.stats = decoder.finish(&mut sink);
                    feed.done = true;
                } else {
                    decoder.feed(&self.buf[..n], &mut sink);
                    // Messages still to come complete on lines after those read: forget
                    // the arrival times of the earlier ones (memory stays flat however long
                    // the segment).
                    if let Some(g) = guard.as_mut() {
                        g.forget_before(decoder.physical_lines());
                    }
                }
            }
            Kind::Link { reader } => {
                let mut text = String::new();
                feed.done = true;
                let read = reader
                    .read_to_string(&mut text)
                    .map_err(anyhow::Error::from)
                    .and_then(|_| {
                        let first = text.lines().next().unwrap_or("");
                        serde_json::from_str::<super::link_file::Header>(first)
                            .map_err(|e| anyhow::anyhow!("bad link page header: {e}"))
                    });
                match read {
                    Ok(header) => super::link_file::observations(
                        &text,
                        &header.feed,
                        i as u32,
                        &mut self.stations,
                        self.bounds,
                        &mut feed.dropped,
                        &mut self.scratch,
                    ),
                    Err(e) if self.strict => {
                        return Err(e).with_context(|| format!("cannot read {}", feed.name))
                    }
                    Err(e) => feed.error = Some(format!("cannot read {}: {e}", feed.name)),
                }
            }
            Kind::Csv {
                reader,
                last_static,
            } => {
                let station = StationId::new(self.stations.feed_id(i as u32, &feed.label));
                let scratch = &mut self.scratch;
                let dropped = &mut feed.dropped;
                let other_messages = &mut feed.other_messages;
                let bounds = self.bounds;
                let more = reader.next_batch(CSV_ROWS, |rec| {
                    let source = SourceRef {
                        source_id: i as u32,
                        station,
                        received_ms: rec.time_ms,
                    };
                    from_csv(
                        rec,
                        source,
                        last_static,
                        bounds,
                        dropped,
                        other_messages,
                        scratch,
                    );
                });
                feed.done = match more {
                    Ok(more) => !more,
                    Err(e) if self.strict => {
                        return Err(e).with_context(|| format!("cannot read {}", feed.name))
                    }
                    Err(e) => {
                        feed.error = Some(format!("cannot read {}: {e}", feed.name));
                        true
                    }
                };
                feed.csv = Some(reader.stats().clone());
            }
        }
        let q = &mut self.queues[i];
        if q.is_empty() {
            if let Some(first) = self.scratch.first() {
                self.fronts.push(Reverse((first.time_ms, i)));
            }
        }
        for obs in self.scratch.drain(..) {
            feed.newest_ms = Some(feed.newest_ms.map_or(obs.time_ms, |t| t.max(obs.time_ms)));
            q.push_back(obs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais::encode::{encode_payload, to_sentences, SentenceOptions};
    use ais::msg::{Header, Message, PositionReport};

    /// A type 1 sentence without its UTC second (so message time is exactly the line's time).
    fn sentence(mmsi: u32) -> String {
        let m = Message::Position(PositionReport {
            header: Header {
                msg_type: 1,
                repeat: 0,
                mmsi: ais::Mmsi(mmsi),
            },
            nav_status: Some(0),
            rot: None,
            sog_knots: Some(10.0),
            accuracy: true,
            lon: Some(10.0),
            lat: Some(56.0),
            cog_deg: Some(90.0),
            heading_deg: None,
            second: None,
            maneuver: None,
            raim: false,
            radio: Some(0),
        });
        let mut lines = Vec::new();
        to_sentences(
            &encode_payload(&m).unwrap(),
            &SentenceOptions::default(),
            &mut lines,
        );
        lines.remove(0)
    }

    #[test]
    fn issue_16_spool_lines_keep_their_own_time_and_arrival_is_the_receive_time() {
        let body = "c:1331208000";
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        let segment = format!(
            "#arrival_ms:1700000000000\n\\{body}*{sum:02X}\\{}\n#arrival_ms:1700000001000\n{}\n",
            sentence(1),
            sentence(2)
        );
        // In a scratch directory removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-spool-")
            .tempdir()
            .unwrap();
        let path = scratch.path().join("spool.nmea");
        std::fs::write(&path, segment).unwrap();
        let mut merger = Merger::new(vec![feed_of(&path)], true, TimeBounds::at(i64::MAX / 2));
        let mut obs = Vec::new();
        while merger.step(&mut obs).unwrap() {}
        std::fs::remove_file(&path).unwrap();
        let got: Vec<(u32, i64, i64)> = obs
            .iter()
            .map(|o| (o.mmsi, o.time_ms, o.source.received_ms))
            .collect();
        assert_eq!(
            got,
            [
                (1, 1_331_208_000_000, 1_700_000_000_000),
                (2, 1_700_000_001_000, 1_700_000_001_000)
            ]
        );
        let t = merger.feeds[0].times;
        assert_eq!((t.own, t.arrival, t.assumed), (1, 1, 0));
    }

    /// The file at `path` opened as a feed named `feed`.
    fn feed_of(path: &std::path::Path) -> Feed {
        let progress = indicatif::ProgressBar::hidden();
        let name = path.to_str().unwrap();
        Feed::open(name, "feed".to_owned(), &progress, None, false)
            .unwrap()
            .0
    }

    #[test]
    fn arrival_times_of_a_long_segment_stay_with_their_lines() {
        // 20,000 lines (about 2 MB: several chunks), every one after its arrival line.
        let s = sentence(3);
        let mut segment = String::new();
        for i in 0..20_000i64 {
            segment.push_str(&format!("#arrival_ms:{}\n{s}\n", 1_700_000_000_000 + i));
        }
        // In a scratch directory removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-spool-long-")
            .tempdir()
            .unwrap();
        let path = scratch.path().join("spool.nmea");
        std::fs::write(&path, segment).unwrap();
        let mut merger = Merger::new(vec![feed_of(&path)], true, TimeBounds::at(i64::MAX / 2));
        let mut obs = Vec::new();
        while merger.step(&mut obs).unwrap() {}
        std::fs::remove_file(&path).unwrap();
        assert_eq!(obs.len(), 20_000);
        assert!(obs.iter().enumerate().all(|(i, o)| o.source.received_ms
            == 1_700_000_000_000 + i as i64
            && o.time_ms == o.source.received_ms));
        let FeedTime::Arrival(a) = &merger.feeds[0].line_time else {
            panic!("not read as a spool segment");
        };
        assert!(
            a.lock().unwrap().times.len() < 20_000,
            "arrival times were never forgotten"
        );
    }

    #[test]
    fn the_first_line_tells_nmea_spool_and_csv_apart() {
        assert_eq!(
            shape(b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26"),
            Ok(Shape::Nmea)
        );
        assert_eq!(
            shape(b"\\s:x,c:1*00\\!AIVDM,1,1,,A,1,0*26"),
            Ok(Shape::Nmea)
        );
        assert_eq!(shape(b"# a comment, with, commas, here"), Ok(Shape::Nmea));
        assert_eq!(shape(b"#arrival_ms:1700000000000"), Ok(Shape::Spool));
        assert_eq!(shape(b"MMSI,BaseDateTime,LAT,LON"), Ok(Shape::Csv(b',')));
        assert_eq!(
            shape(b"MMSI;BaseDateTime;LAT;LON;SOG"),
            Ok(Shape::Csv(b';'))
        );
        assert_eq!(
            shape(b"# Timestamp,Type of mobile,MMSI,Latitude,Longitude"),
            Ok(Shape::Csv(b','))
        );
        let e = shape(b"MMSI,BaseDateTime,SOG,COG").unwrap_err();
        assert!(e.contains("no position columns"), "{e}");
        let e = shape(b"219000873;2023-01-11T00:00:00;1.0;2.0").unwrap_err();
        assert!(
            e.contains("`;`-separated CSV archive without a header row"),
            "{e}"
        );
        let e = shape(b"mmsi,a,b,c,d").unwrap_err();
        assert!(e.contains("unknown CSV layout"), "{e}");
        // Text that is neither stays NMEA, rejected line by line as before.
        assert_eq!(shape(b"hello world"), Ok(Shape::Nmea));
        // Tab-separated archives, and quoted header names.
        assert_eq!(
            shape(b"MMSI\tBaseDateTime\tLAT\tLON\tSOG"),
            Ok(Shape::Csv(b'\t'))
        );
        assert_eq!(
            shape(b"\"MMSI\",\"BaseDateTime\",\"LAT\",\"LON\""),
            Ok(Shape::Csv(b','))
        );
        let e = shape(b"219000873\t2023-01-11T00:00:00\t1.0\t2.0").unwrap_err();
        assert!(e.contains("tab-separated CSV archive"), "{e}");
    }

    #[test]
    fn packed_and_binary_inputs_are_refused_with_what_they_are() {
        for (first, says) in [
            (
                &b"PK\x03\x04\x14\x00\x00\x00\x08\x00AIS_2023_01_01.csv"[..],
                "a zip archive",
            ),
            (b"BZh91AY&SY\x8a\x1c", "bzip2-compressed"),
            (b"\xfd7zXZ\x00\x00\x04", "xz-compressed"),
            (b"\x28\xb5\x2f\xfd\x24\x00", "zstd-compressed"),
            (b"\x01\x02\x03\x00\xff\xfe binary", "binary"),
        ] {
            let e = shape(first).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }
}
