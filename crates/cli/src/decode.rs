//! `tidewatch decode`: NMEA in, JSON lines / CSV out, with an exact accounting of every line.
//!
//! Small inputs, stdin and `.gz` are decoded by one streaming [`ais::Decoder`]. Large plain files
//! are decoded on every core: the file is read in blocks, each block is cut at clean line
//! boundaries (after a sentence, not before a `$PGHP`), the pieces are decoded in parallel with
//! fragments deferred, and one sequential reassembler joins the fragments in input order. The
//! output and the accounting are identical to the streaming path (tested).

use crate::output::{self, Format, CSV_HEADER};
use ais::assemble::OwnedFragment;
use ais::{Decoder, DecoderConfig, Message, Meta, Reject, Sink, Stats};
use anyhow::{Context, Result};
use indicatif::ProgressBar;
use pipeline::input;
use std::io::{Read, Write};

/// Arguments of `tidewatch decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Input files (plain or gzip); `-` or nothing reads stdin.
    pub files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Only output these message types (comma-separated, e.g. 1,2,3,18).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=27))]
    pub types: Vec<u8>,
    /// Also write the accounting as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<std::path::PathBuf>,
    /// Write every rejected line as `FILE:LINE<TAB>reason` to this file.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<std::path::PathBuf>,
    /// Worker threads for large plain files (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Add the armored payload (`"payload"`, `"fill_bits"`) to JSON output.
    #[arg(long)]
    pub payload: bool,
    /// Do not print the accounting to stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Plain files at least this large are decoded in parallel.
const PARALLEL_MIN_BYTES: u64 = 8 << 20;
/// Bytes per parallel round.
const ROUND_BYTES: usize = 64 << 20;

struct Filter([bool; 28]);

impl Filter {
    fn new(types: &[u8]) -> Self {
        let mut f = [types.is_empty(); 28];
        for &t in types {
            f[t as usize] = true;
        }
        Filter(f)
    }
    fn pass(&self, m: &Message<'_>) -> bool {
        self.0[m.msg_type() as usize]
    }
}

/// Formats messages into a buffer and notes rejects.
struct Formatter<'a> {
    format: Format,
    filter: &'a Filter,
    out: Vec<u8>,
    rejects: Option<Vec<(u64, Reject)>>,
    /// Armored payload of the current message, when `--payload` asked for it.
    raw: Option<(Vec<u8>, u8)>,
}

impl Sink for Formatter<'_> {
    fn payload(&mut self, p: &ais::bits::Payload) {
        if let Some((buf, fill)) = &mut self.raw {
            buf.clear();
            *fill = p.armor_into(buf);
        }
    }
    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        if self.filter.pass(m) {
            output::write(self.format, m, meta, &mut self.out);
            if let (Some((raw, fill)), Format::Jsonl) = (&self.raw, self.format) {
                // Re-open the object just written to add the payload.
                self.out.truncate(self.out.len() - 2);
                self.out.extend_from_slice(b",\"payload\":\"");
                self.out.extend_from_slice(raw);
                self.out
                    .extend_from_slice(format!("\",\"fill_bits\":{fill}}}\n").as_bytes());
            }
        }
    }
    fn reject(&mut self, reason: Reject, line: u64) {
        if let Some(r) = &mut self.rejects {
            r.push((line, reason));
        }
    }
}

/// A parallel worker's sink: formatted output plus the fragments with their cut points.
struct Worker<'a> {
    fmt: Formatter<'a>,
    cuts: Vec<(usize, OwnedFragment)>,
}

impl Sink for Worker<'_> {
    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        self.fmt.message(m, meta);
    }
    fn payload(&mut self, p: &ais::bits::Payload) {
        self.fmt.payload(p);
    }
    fn fragment(&mut self, f: OwnedFragment) {
        self.cuts.push((self.fmt.out.len(), f));
    }
    fn reject(&mut self, reason: Reject, line: u64) {
        self.fmt.reject(reason, line);
    }
}

pub fn run(args: DecodeArgs) -> Result<()> {
    let filter = Filter::new(&args.types);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let files = if args.files.is_empty() {
        vec!["-".to_owned()]
    } else {
        args.files.clone()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    if args.format == Format::Csv {
        out.write_all(CSV_HEADER.as_bytes())?;
    }
    let mut total = Stats::default();
    let mut reject_log = match &args.rejects {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    for path in &files {
        let progress = progress_bar();
        let input = input::open(path, &progress)?;
        if let Some(size) = input.size {
            progress.set_length(size);
        }
        progress.set_message(input.name.clone());
        let mut rejects = reject_log.as_ref().map(|_| Vec::new());
        let stats = match input.plain_file {
            Some(ref f) if threads > 1 && input.size.unwrap_or(0) >= PARALLEL_MIN_BYTES => {
                let job = Job {
                    format: args.format,
                    filter: &filter,
                    payload: args.payload,
                    rejects: &mut rejects,
                };
                decode_parallel(f, &progress, threads, job, &mut out)
            }
            _ => {
                let job = Job {
                    format: args.format,
                    filter: &filter,
                    payload: args.payload,
                    rejects: &mut rejects,
                };
                decode_stream(input.reader, job, &mut out)
            }
        }
        .with_context(|| format!("decoding {}", input.name))?;
        progress.finish_and_clear();
        if let (Some(log), Some(mut r)) = (reject_log.as_mut(), rejects) {
            r.sort_unstable();
            for (line, reason) in r {
                writeln!(log, "{}:{line}\t{}", input.name, reason.as_str())?;
            }
        }
        total.add(&stats);
    }
    out.flush()?;
    if let Some(mut log) = reject_log {
        log.flush()?;
    }
    if !args.quiet {
        eprint!("{}", human_report(&total));
    }
    if let Some(path) = &args.stats {
        std::fs::write(path, stats_json(&total))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub(crate) fn progress_bar() -> ProgressBar {
    pipeline::input::progress_bar()
}

/// What to produce: format, type filter, and where rejects are noted.
struct Job<'a> {
    format: Format,
    filter: &'a Filter,
    payload: bool,
    rejects: &'a mut Option<Vec<(u64, Reject)>>,
}

/// Streaming decode on one thread.
fn decode_stream(
    mut reader: Box<dyn Read + Send>,
    job: Job<'_>,
    out: &mut impl Write,
) -> Result<Stats> {
    let mut d = Decoder::default();
    let mut sink = Formatter {
        format: job.format,
        filter: job.filter,
        out: Vec::with_capacity(1 << 20),
        rejects: job.rejects.take(),
        raw: job.payload.then(|| (Vec::new(), 0)),
    };
    loop {
        let n = d.read_from(&mut reader, &mut sink)?;
        out.write_all(&sink.out)?;
        sink.out.clear();
        if n == 0 {
            break;
        }
    }
    let stats = d.finish(&mut sink);
    out.write_all(&sink.out)?;
    *job.rejects = sink.rejects;
    Ok(stats)
}

/// Lines a `$PGHP` may wait for its sentence (the decoder's window).
const PGHP_WINDOW_LINES: usize = ais::stream::PGHP_WINDOW as usize;

/// Whether the newline at `nl` is a clean place to split the input: decoding the two sides
/// separately must give what decoding them together gives. The line before it is a sentence (so
/// no tag-block-only line waits for a sentence), the line after it is not a `$PGHP` (which could
/// belong to the sentence before), and no `$PGHP` waits in the lines before it.
fn clean_at(buf: &[u8], nl: usize) -> bool {
    let next = &buf[nl + 1..];
    if next.len() < 5 || next.starts_with(b"$PGHP") {
        return false;
    }
    let mut end = nl;
    for k in 0..=PGHP_WINDOW_LINES {
        let start = buf[..end]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = &buf[start..end];
        if k == 0 && !line.windows(4).any(|w| w == b"VDM," || w == b"VDO,") {
            return false;
        }
        if line.starts_with(b"$PGHP") {
            return false;
        }
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    true
}

/// Position just after the first clean boundary at or after `from`.
fn clean_boundary(buf: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while pos < buf.len() {
        let nl = memchr_nl(&buf[pos..])? + pos;
        if clean_at(buf, nl) {
            return Some(nl + 1);
        }
        pos = nl + 1;
    }
    None
}

/// The last clean boundary in `buf` (searching backwards from its end), so that little is
/// carried to the next round.
fn last_clean_boundary(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    // Look back over at most a few thousand lines; fall back to a forward search.
    for _ in 0..4096 {
        let nl = buf[..end].iter().rposition(|&b| b == b'\n')?;
        if clean_at(buf, nl) {
            return Some(nl + 1);
        }
        end = nl;
    }
    clean_boundary(buf, buf.len() / 2)
}

fn memchr_nl(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

struct Piece {
    out: Vec<u8>,
    cuts: Vec<(usize, OwnedFragment)>,
    stats: Stats,
    physical_lines: u64,
    rejects: Option<Vec<(u64, Reject)>>,
}

fn decode_piece(
    piece: &[u8],
    format: Format,
    filter: &Filter,
    log_rejects: bool,
    payload: bool,
) -> Piece {
    let mut d = Decoder::new(DecoderConfig {
        defer_fragments: true,
        ..DecoderConfig::default()
    });
    let mut w = Worker {
        fmt: Formatter {
            format,
            filter,
            out: Vec::with_capacity(if format == Format::None {
                0
            } else {
                piece.len() * 4
            }),
            rejects: log_rejects.then(Vec::new),
            raw: payload.then(|| (Vec::new(), 0)),
        },
        cuts: Vec::new(),
    };
    d.feed(piece, &mut w);
    let stats = d.finish(&mut w);
    let physical_lines = d.physical_lines();
    Piece {
        out: w.fmt.out,
        cuts: w.cuts,
        stats,
        physical_lines,
        rejects: w.fmt.rejects,
    }
}

/// Parallel decode of a plain file. See the module documentation.
fn decode_parallel(
    file: &std::fs::File,
    progress: &ProgressBar,
    threads: usize,
    job: Job<'_>,
    out: &mut impl Write,
) -> Result<Stats> {
    let (format, filter) = (job.format, job.filter);
    let log_rejects = job.rejects.is_some();
    let payload = job.payload;
    let mut reader = progress.wrap_read(file);
    let mut central = Decoder::default();
    let mut merged = Formatter {
        format,
        filter,
        out: Vec::new(),
        rejects: job.rejects.take(),
        raw: payload.then(|| (Vec::new(), 0)),
    };
    let mut total = Stats::default();
    let mut line_offset = 0u64;
    // One round buffer, filled by reads; the unfinished tail after the last clean boundary moves
    // to the front for the next round.
    let mut buf: Vec<u8> = vec![0; ROUND_BYTES];
    let mut filled = 0usize;
    let mut eof = false;
    while !eof {
        while filled < buf.len() {
            let n = reader.read(&mut buf[filled..])?;
            if n == 0 {
                eof = true;
                break;
            }
            filled += n;
        }
        let cut = if eof {
            filled
        } else {
            match last_clean_boundary(&buf[..filled]) {
                Some(c) => c,
                None => {
                    // No clean boundary in a whole round (pathological input): read more.
                    buf.resize(buf.len() * 2, 0);
                    continue;
                }
            }
        };
        let region = &buf[..cut];
        // Split the region into pieces at clean boundaries.
        let mut bounds = vec![0];
        for k in 1..threads {
            let target = region.len() * k / threads;
            let last = *bounds.last().unwrap_or(&0);
            if let Some(b) = clean_boundary(region, target.max(last)) {
                if b > last && b < region.len() {
                    bounds.push(b);
                }
            }
        }
        bounds.push(region.len());
        let pieces: Vec<Piece> = std::thread::scope(|s| {
            let handles: Vec<_> = bounds
                .windows(2)
                .map(|w| {
                    let piece = &region[w[0]..w[1]];
                    s.spawn(move || decode_piece(piece, format, filter, log_rejects, payload))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("decoder thread panicked"))
                .collect()
        });
        for piece in pieces {
            let mut last = 0;
            for (at, mut frag) in piece.cuts {
                out.write_all(&piece.out[last..at])?;
                last = at;
                frag.line += line_offset;
                frag.meta.line += line_offset;
                central.assemble(frag.as_fragment(), &mut merged);
                out.write_all(&merged.out)?;
                merged.out.clear();
            }
            out.write_all(&piece.out[last..])?;
            if let (Some(all), Some(r)) = (merged.rejects.as_mut(), piece.rejects) {
                all.extend(r.into_iter().map(|(l, why)| (l + line_offset, why)));
            }
            line_offset += piece.physical_lines;
            total.add(&piece.stats);
        }
        buf.copy_within(cut..filled, 0);
        filled -= cut;
    }
    let central_stats = central.finish(&mut merged);
    out.write_all(&merged.out)?;
    total.add(&central_stats);
    *job.rejects = merged.rejects;
    Ok(total)
}

/// The accounting as `--stats` JSON.
pub fn stats_json(s: &Stats) -> String {
    let mut j = format!(
        "{{\"lines\": {}, \"messages\": {}, \"lines_in_messages\": {}, \"rejected\": {{",
        s.lines, s.messages, s.lines_in_messages
    );
    let rejected: Vec<String> = Reject::ALL
        .iter()
        .filter(|r| s.rejected(**r) > 0)
        .map(|r| format!("\"{}\": {}", r.as_str(), s.rejected(*r)))
        .collect();
    j.push_str(&rejected.join(", "));
    j.push_str(&format!(
        "}}, \"pending_fragments\": {}, \"by_type\": {{",
        s.pending_fragments
    ));
    let types: Vec<String> = (1..28)
        .filter(|&t| s.by_type[t] > 0)
        .map(|t| format!("\"{t}\": {}", s.by_type[t]))
        .collect();
    j.push_str(&types.join(", "));
    let w = &s.warnings;
    j.push_str(&format!(
        "}}, \"warnings\": {{\"tag_checksum_mismatch\": {}, \"tag_checksum_absent\": {}, \
         \"oversized_payload\": {}, \"rejected_extra_sentences\": {}, \
         \"messages_tag_checksum_failed\": {}}}}}\n",
        w.tag_checksum_mismatch,
        w.tag_checksum_absent,
        w.oversized_payload,
        w.rejected_extra_sentences,
        w.messages_tag_checksum_failed
    ));
    j
}

fn human_report(s: &Stats) -> String {
    let mut r = format!(
        "lines {}: {} in {} messages, {} rejected, {} pending fragments\n",
        s.lines,
        s.lines_in_messages,
        s.messages,
        s.rejected_total(),
        s.pending_fragments
    );
    for reason in Reject::ALL {
        let n = s.rejected(reason);
        if n > 0 {
            r.push_str(&format!("  rejected {:<20} {n}\n", reason.as_str()));
        }
    }
    let failed = s.warnings.messages_tag_checksum_failed;
    if failed > 0 {
        r.push_str(&format!(
            "  {failed} messages kept the time and station of a tag block whose checksum failed\n"
        ));
    }
    if !s.balanced() {
        r.push_str("  accounting does not balance (bug)\n");
    }
    r
}
