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

use super::report::{from_csv, Collect, Dropped, Report, Stations, TimeBounds};
use crate::input::{self, RawHash};
use ais::stream::{Decoder, DecoderConfig, Stats};
use anyhow::{Context, Result};
use rustc_hash::FxHashMap;
use sources::csv_archive::{CsvReader, CsvStats};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use track::fuse::{Observation, SourceRef, StationId};

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
    /// Hash of the raw bytes, for inputs that could not be hashed before reading (stdin).
    pub raw_hash: Option<RawHash>,
    /// Decoder accounting (NMEA), once finished.
    pub stats: Stats,
    /// Row accounting (CSV archives).
    pub csv: Option<CsvStats>,
    /// Reports not kept.
    pub dropped: Dropped,
    /// Messages that are not vessel reports.
    pub other_messages: u64,
}

impl Feed {
    /// Opens `name` for reading; `label` goes into the provenance of its records.
    pub fn open(
        name: &str,
        label: String,
        progress: &indicatif::ProgressBar,
    ) -> Result<(Feed, Option<u64>)> {
        let inp = input::open(name, progress)?;
        // The first line tells a CSV archive from NMEA.
        let mut r = BufReader::with_capacity(64 * 1024, inp.reader);
        let mut first = Vec::new();
        r.by_ref()
            .take(64 * 1024)
            .read_until(b'\n', &mut first)
            .with_context(|| format!("cannot read {name}"))?;
        let line = String::from_utf8_lossy(&first);
        let looks_csv = !line.starts_with(['!', '$', '\\'])
            && line.to_ascii_uppercase().contains("MMSI")
            && line.matches(',').count() >= 3;
        let reader: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(first.clone()).chain(r));
        let kind = if looks_csv {
            let csv = CsvReader::new(reader).with_context(|| format!("cannot read {name}"))?;
            Kind::Csv {
                reader: Box::new(csv),
                last_static: FxHashMap::default(),
            }
        } else {
            Kind::Nmea {
                reader,
                decoder: Box::new(Decoder::new(DecoderConfig::default())),
            }
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
            },
            inp.size,
        ))
    }
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
    /// Message times accepted.
    bounds: TimeBounds,
}

impl Merger {
    pub fn new(feeds: Vec<Feed>, bounds: TimeBounds) -> Self {
        Merger {
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
                        Err(e) => {
                            return Err(e).with_context(|| format!("cannot read {}", feed.name))
                        }
                    }
                };
                let mut sink = Collect {
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
                }
            }
            Kind::Csv {
                reader,
                last_static,
            } => {
                let station = StationId::new(self.stations.feed_id(i as u32, &feed.label));
                let scratch = &mut self.scratch;
                let dropped = &mut feed.dropped;
                let bounds = self.bounds;
                let more = reader
                    .next_batch(CSV_ROWS, |rec| {
                        let source = SourceRef {
                            source_id: i as u32,
                            station,
                            received_ms: rec.time_ms,
                        };
                        from_csv(rec, source, last_static, bounds, dropped, scratch);
                    })
                    .with_context(|| format!("cannot read {}", feed.name))?;
                feed.done = !more;
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
