//! The stream decoder: bytes in, messages out, every line accounted for.
//!
//! [`Decoder`] takes input in blocks of any size, splits lines, associates metadata lines (a
//! tag block alone on its line, a `$PGHP` timestamp before or after its sentence) with their
//! sentence, reassembles multi-sentence messages and decodes payloads. Messages go to a
//! [`Sink`]; rejects are counted in [`Stats`] by [`Reject`] reason, so that after
//! [`Decoder::finish`]:
//!
//! `lines == lines_in_messages + sum(rejected) + pending_fragments`
//!
//! where `lines` counts non-empty lines. A line's fate is decided once: metadata lines share the
//! fate of the sentence they annotate; a line holding several concatenated sentences is counted
//! once, with its first sentence.

use crate::assemble::{Assembler, AssemblerConfig, Fragment, GroupKey, OwnedFragment};
use crate::bits::Payload;
use crate::error::Reject;
use crate::msg::{self, Message};
use crate::nmea::{self, LineKind, Sentence, Sentences, Station, TagChecksum};
use memchr::memchr;

/// Where and when a message was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meta {
    /// Receive time, ms since the Unix epoch (tag block `c:`, `$PGHP`, a timestamp prefix, or
    /// receiver fields after the checksum, in that order of preference).
    pub rx_time_ms: Option<i64>,
    /// Receiver / station (tag block `s:`, or USCG `r...` field).
    pub source: Option<Station>,
    /// Talker id of the (first) sentence.
    pub talker: [u8; 2],
    /// From a VDO sentence (own ship).
    pub own_ship: bool,
    /// Radio channel.
    pub channel: Option<u8>,
    /// Number of sentences the message arrived in.
    pub fragments: u8,
    /// 1-based number of the line (counting every line) that completed the message.
    pub line: u64,
    /// A tag block of the message failed its checksum: its parseable fields (time, station,
    /// group) were used all the same, and may be wrong.
    pub tag_checksum_failed: bool,
}

impl Meta {
    /// Fills fields that are still unknown from `other`.
    pub fn merge(&mut self, other: &Meta) {
        if self.rx_time_ms.is_none() {
            self.rx_time_ms = other.rx_time_ms;
        }
        if self.source.is_none() {
            self.source = other.source;
        }
        if self.channel.is_none() {
            self.channel = other.channel;
        }
        self.tag_checksum_failed |= other.tag_checksum_failed;
    }
}

/// Counters beside the line accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Warnings {
    /// Tag blocks whose checksum did not match (their parseable fields were used; the
    /// messages are flagged, see `messages_tag_checksum_failed`).
    pub tag_checksum_mismatch: u64,
    /// Tag blocks with checksum `*00` ("not computed"); their fields were used.
    pub tag_checksum_absent: u64,
    /// Messages longer than their type's standard length (decoded; extra bits ignored).
    pub oversized_payload: u64,
    /// Sentences after the first on a line that were rejected (the line itself is counted with
    /// its first sentence).
    pub rejected_extra_sentences: u64,
    /// Messages decoded with the fields of a tag block whose checksum failed
    /// ([`Meta::tag_checksum_failed`]).
    pub messages_tag_checksum_failed: u64,
}

/// The decoder's accounting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Non-empty lines seen.
    pub lines: u64,
    /// Messages decoded.
    pub messages: u64,
    /// Lines that ended in a decoded message.
    pub lines_in_messages: u64,
    /// Lines rejected, by [`Reject::index`].
    pub rejected: [u64; Reject::ALL.len()],
    /// Lines holding fragments of messages still incomplete at the end of input.
    pub pending_fragments: u64,
    /// Messages by type (index = type).
    pub by_type: [u64; 28],
    /// Other counters.
    pub warnings: Warnings,
}

impl Stats {
    /// Counts `weight` lines as rejected for `reason`.
    pub fn reject(&mut self, reason: Reject, weight: u32) {
        self.rejected[reason.index()] += weight as u64;
    }

    /// Lines rejected for `reason`.
    pub fn rejected(&self, reason: Reject) -> u64 {
        self.rejected[reason.index()]
    }

    /// All rejected lines.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// Adds another decoder's counts.
    pub fn add(&mut self, o: &Stats) {
        self.lines += o.lines;
        self.messages += o.messages;
        self.lines_in_messages += o.lines_in_messages;
        for (a, b) in self.rejected.iter_mut().zip(o.rejected) {
            *a += b;
        }
        self.pending_fragments += o.pending_fragments;
        for (a, b) in self.by_type.iter_mut().zip(o.by_type) {
            *a += b;
        }
        let (w, v) = (&mut self.warnings, o.warnings);
        w.tag_checksum_mismatch += v.tag_checksum_mismatch;
        w.tag_checksum_absent += v.tag_checksum_absent;
        w.oversized_payload += v.oversized_payload;
        w.rejected_extra_sentences += v.rejected_extra_sentences;
        w.messages_tag_checksum_failed += v.messages_tag_checksum_failed;
    }

    /// True when every line is accounted for exactly once.
    pub fn balanced(&self) -> bool {
        self.lines == self.lines_in_messages + self.rejected_total() + self.pending_fragments
    }
}

/// Receives decoded messages (and, in deferred mode, fragments).
pub trait Sink {
    /// A decoded message and where it came from.
    fn message(&mut self, msg: &Message<'_>, meta: &Meta);

    /// The de-armored payload of the message about to be passed to [`Sink::message`] (for
    /// sinks that keep or re-emit the raw bits). The default ignores it.
    fn payload(&mut self, _payload: &Payload) {}

    /// A line (or group of lines) was rejected; `line` is the number of its last line.
    fn reject(&mut self, _reason: Reject, _line: u64) {}

    /// A fragment, when the decoder was built with [`DecoderConfig::defer_fragments`].
    fn fragment(&mut self, _f: OwnedFragment) {}
}

impl<F: FnMut(&Message<'_>, &Meta)> Sink for F {
    fn message(&mut self, msg: &Message<'_>, meta: &Meta) {
        self(msg, meta)
    }
}

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecoderConfig {
    /// Reassembly limits.
    pub assembler: AssemblerConfig,
    /// Hand fragments to [`Sink::fragment`] instead of reassembling (used to decode in parallel
    /// and reassemble sequentially).
    pub defer_fragments: bool,
    /// Number the first line as `first_line + 1` (for decoding a slice of a larger input).
    pub first_line: u64,
    /// Frame every line with the general path, never the fast lane (for the tests that check
    /// that both give the same result).
    pub general_path_only: bool,
}

/// A tag block alone on its line, waiting for the next sentence.
#[derive(Debug, Clone, Copy, Default)]
struct PendingMeta {
    weight: u32,
    time_ms: Option<i64>,
    source: Option<Station>,
    checksum_failed: bool,
}

/// A `$PGHP` line waiting for its sentence. Feeds that merge several sources shuffle these
/// lines: they are matched by the checksum they name, within [`PGHP_WINDOW`] lines.
#[derive(Debug, Clone, Copy)]
struct PendingPghp {
    line: u64,
    time_ms: Option<i64>,
    ref_checksum: Option<u8>,
}

/// How many lines a `$PGHP` waits for its sentence, and how many may wait at once.
pub const PGHP_WINDOW: u64 = 16;

/// Streaming AIS decoder. See the module documentation.
#[derive(Debug)]
pub struct Decoder {
    cfg: DecoderConfig,
    buf: Vec<u8>,
    pos: usize,
    line_no: u64,
    pending: PendingMeta,
    pghp: Vec<PendingPghp>,
    asm: Assembler,
    payload: Payload,
    stats: Stats,
}

/// Input is buffered and compacted in blocks of this size.
const BLOCK: usize = 1 << 20;

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder with the given settings.
    pub fn new(cfg: DecoderConfig) -> Self {
        Decoder {
            cfg,
            // Room for partial lines carried between feeds, so that carrying never reallocates.
            buf: Vec::with_capacity(4096),
            pos: 0,
            line_no: cfg.first_line,
            pending: PendingMeta::default(),
            pghp: Vec::with_capacity(PGHP_WINDOW as usize),
            asm: Assembler::new(cfg.assembler),
            payload: Payload::new(),
            stats: Stats::default(),
        }
    }

    /// Physical lines read so far (including empty ones).
    pub fn physical_lines(&self) -> u64 {
        self.line_no - self.cfg.first_line
    }

    /// The accounting so far (complete after [`Decoder::finish`]).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Feeds bytes (any split: partial lines are kept until their newline arrives). When no
    /// partial line is pending, `data` is decoded in place and only its unfinished tail is
    /// copied.
    pub fn feed(&mut self, data: &[u8], sink: &mut impl Sink) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            let used = self.run_on(data, false, sink);
            self.buf.extend_from_slice(&data[used..]);
            return;
        }
        // A partial line (or a sentence awaiting its next line) is pending: append `data` a line
        // at a time until the pending part is resolved, then decode the rest in place.
        self.compact();
        let mut k = 0;
        while k < data.len() {
            let start = k;
            k = memchr(b'\n', &data[k..]).map_or(data.len(), |i| k + i + 1);
            self.buf.extend_from_slice(&data[start..k]);
            let line_in_buf = self.buf.len() - (k - start);
            self.run(false, sink);
            if self.pos >= line_in_buf {
                let rest = &data[start + (self.pos - line_in_buf)..];
                self.buf.clear();
                self.pos = 0;
                let used = self.run_on(rest, false, sink);
                self.buf.extend_from_slice(&rest[used..]);
                return;
            }
        }
    }

    /// Reads once from `r` straight into the decoder's buffer and decodes what is complete.
    /// Returns the number of bytes read (0 at end of input; then call [`Decoder::finish`]).
    pub fn read_from(
        &mut self,
        r: &mut impl std::io::Read,
        sink: &mut impl Sink,
    ) -> std::io::Result<usize> {
        self.compact();
        let old = self.buf.len();
        self.buf.resize(old + BLOCK, 0);
        let n = loop {
            match r.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        self.run(false, sink);
        Ok(n)
    }

    /// Decodes the complete lines held back only to see whether a `$PGHP` line follows them
    /// (a sentence line waits for the start of the next line). A live feed calls this when
    /// nothing more has come for a while, so that its last line is not held until the next
    /// one arrives. An unfinished line (no newline yet) and the fragments of a message still
    /// being assembled stay pending; nothing is counted as orphaned.
    pub fn flush_held(&mut self, sink: &mut impl Sink) {
        if self.pos < self.buf.len() && self.buf.last() == Some(&b'\n') {
            self.run(true, sink);
        }
    }

    /// Decodes whatever is left, counts orphan metadata and pending fragments, and returns the
    /// final accounting. The decoder can be reused afterwards.
    pub fn finish(&mut self, sink: &mut impl Sink) -> Stats {
        self.run(true, sink);
        self.buf.clear();
        self.pos = 0;
        self.orphan_pending(sink);
        self.orphan_all_pghp(sink);
        self.stats.pending_fragments += self.asm.pending_weight();
        self.asm = Assembler::new(self.cfg.assembler);
        std::mem::take(&mut self.stats)
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    fn run(&mut self, finishing: bool, sink: &mut impl Sink) {
        let buf = std::mem::take(&mut self.buf);
        let used = self.run_on(&buf[self.pos..], finishing, sink);
        self.pos += used;
        self.buf = buf;
    }

    /// Decodes the complete lines of `buf`; returns how many bytes were consumed. A sentence
    /// line is held back until the start of the next line shows whether it is its `$PGHP`.
    fn run_on(&mut self, buf: &[u8], finishing: bool, sink: &mut impl Sink) -> usize {
        let mut pos = 0;
        loop {
            let rest = &buf[pos..];
            // Fast lane: the usual line shapes, framed and de-armored in one pass. Same result
            // as the general path below (tested).
            let framed = match rest.first() {
                Some(b'!' | b'\\') if !self.cfg.general_path_only => {
                    nmea::frame_line(rest, &mut self.payload)
                }
                _ => None,
            };
            // Borrowed, not moved out of the `Option` (a `Sentence` is over a hundred bytes).
            if let Some((f, adv)) = &framed {
                let adv = *adv;
                let Some(next_line) = next_pghp(&rest[adv..], finishing) else {
                    break;
                };
                pos += adv;
                match f {
                    // Nothing waiting to attach: the shortest way (measured: 4.5 % of the
                    // time on bare sentences against going through `bare_line_in_context`).
                    nmea::Framed::Bare(b)
                        if next_line.is_none()
                            && self.pending.weight == 0
                            && self.pghp.is_empty() =>
                    {
                        self.line_no += 1;
                        self.stats.lines += 1;
                        let meta = Meta {
                            rx_time_ms: None,
                            source: None,
                            talker: b.talker,
                            own_ship: b.own_ship,
                            channel: b.channel,
                            fragments: 1,
                            line: self.line_no,
                            tag_checksum_failed: false,
                        };
                        self.emit_line(&meta, 1, sink);
                    }
                    nmea::Framed::Bare(b) => {
                        if self.bare_line_in_context(b, next_line.map(|n| n.0), sink) {
                            pos += next_line.map_or(0, |n| n.1);
                        }
                    }
                    _ => {
                        if self.framed_line(&f.sentence(), next_line.map(|n| n.0), sink) {
                            pos += next_line.map_or(0, |n| n.1);
                        }
                    }
                }
                continue;
            }
            let (line, adv) = match crate::simd::find(rest, b'\n') {
                Some(nl) => (&rest[..nl], nl + 1),
                None if finishing && !rest.is_empty() => (rest, rest.len()),
                None => break,
            };
            let line = nmea::trim(line);
            if line.is_empty() {
                self.line_no += 1;
                pos += adv;
                continue;
            }
            let kind = nmea::classify(line);
            let mut next_line: Option<(&[u8], usize)> = None;
            if let LineKind::Sentences { .. } = kind {
                let Some(n) = next_pghp(&rest[adv..], finishing) else {
                    break;
                };
                next_line = n;
            }
            pos += adv;
            if let Some(skip) = self.line(line, kind, next_line.map(|n| n.0), sink) {
                if skip {
                    pos += next_line.map_or(0, |n| n.1);
                }
            }
        }
        pos
    }

    /// A line the fast lane framed (and de-armored): what [`Decoder::line`] and
    /// [`Decoder::sentences`] do for a line of one sentence. Returns `true` when the next line
    /// was consumed as its `$PGHP`.
    #[inline]
    fn framed_line(&mut self, s: &Sentence<'_>, next: Option<&[u8]>, sink: &mut impl Sink) -> bool {
        self.line_no += 1;
        self.stats.lines += 1;
        if self.pending.weight == 0 && self.pghp.is_empty() && next.is_none() && s.total == 1 {
            // Nothing else to attach: what `first_sentence` and `meta_of` give without a
            // tag-only line or `$PGHP` about.
            if let Some(tag) = &s.tag {
                self.note_tag_checksum(tag.checksum);
            }
            let tag = s.tag;
            let meta = Meta {
                rx_time_ms: tag.and_then(|t| t.time_ms).or(s.trailer_time_ms),
                source: tag
                    .and_then(|t| t.source)
                    .or(s.trailer_station)
                    .map(Station::new),
                talker: s.talker,
                own_ship: s.own_ship,
                channel: s.channel,
                fragments: 1,
                line: self.line_no,
                tag_checksum_failed: tag.is_some_and(|t| t.checksum == TagChecksum::Mismatch),
            };
            self.emit_line(&meta, 1, sink);
            return false;
        }
        self.expire_pghp(sink);
        let pending = std::mem::take(&mut self.pending);
        self.first_sentence(s, &pending, None, next, true, sink).1
    }

    /// Handles one line; returns `Some(true)` when the next line was consumed as its `$PGHP`.
    fn line(
        &mut self,
        line: &[u8],
        kind: LineKind<'_>,
        next: Option<&[u8]>,
        sink: &mut impl Sink,
    ) -> Option<bool> {
        self.line_no += 1;
        self.stats.lines += 1;
        match kind {
            LineKind::Empty => self.stats.lines -= 1,
            LineKind::Comment => self.reject(Reject::Comment, 1, sink),
            LineKind::Other(e) => self.reject(Reject::from(e), 1, sink),
            LineKind::TagOnly(tag) => {
                if self.pending.weight > 0 {
                    self.orphan_pending(sink);
                }
                self.note_tag_checksum(tag.checksum);
                self.pending.weight = 1;
                self.pending.time_ms = tag.time_ms;
                self.pending.source = tag.source.map(Station::new);
                self.pending.checksum_failed = tag.checksum == TagChecksum::Mismatch;
            }
            LineKind::Pghp(p) => {
                self.expire_pghp(sink);
                if self.pghp.len() as u64 >= PGHP_WINDOW {
                    self.pghp.remove(0);
                    self.reject(Reject::OrphanMetadata, 1, sink);
                }
                self.pghp.push(PendingPghp {
                    line: self.line_no,
                    time_ms: p.time_ms,
                    ref_checksum: p.ref_checksum,
                });
            }
            LineKind::Sentences {
                start,
                prefix_time_ms,
            } => {
                return Some(self.sentences(line, start, prefix_time_ms, next, sink));
            }
        }
        None
    }

    fn reject(&mut self, reason: Reject, weight: u32, sink: &mut impl Sink) {
        self.stats.reject(reason, weight);
        sink.reject(reason, self.line_no);
    }

    fn orphan_pending(&mut self, sink: &mut impl Sink) {
        let w = std::mem::take(&mut self.pending).weight;
        if w > 0 {
            self.reject(Reject::OrphanMetadata, w, sink);
        }
    }

    #[inline]
    fn expire_pghp(&mut self, sink: &mut impl Sink) {
        if self.pghp.is_empty() {
            return;
        }
        let now = self.line_no;
        let before = self.pghp.len();
        self.pghp.retain(|p| now - p.line <= PGHP_WINDOW);
        let gone = (before - self.pghp.len()) as u32;
        if gone > 0 {
            self.reject(Reject::OrphanMetadata, gone, sink);
        }
    }

    /// Finds the `$PGHP` for a sentence on the current line: one naming its checksum, else
    /// the one on the line just before. Returns its time.
    #[inline]
    fn take_pghp(&mut self, checksum: u8, allow_adjacent: bool) -> Option<Option<i64>> {
        if self.pghp.is_empty() {
            return None;
        }
        let i = self
            .pghp
            .iter()
            .rposition(|p| p.ref_checksum == Some(checksum))
            .or_else(|| {
                let last = self.pghp.len().checked_sub(1)?;
                (allow_adjacent && self.pghp[last].line + 1 == self.line_no).then_some(last)
            })?;
        Some(self.pghp.remove(i).time_ms)
    }

    fn orphan_all_pghp(&mut self, sink: &mut impl Sink) {
        let n = self.pghp.len() as u32;
        self.pghp.clear();
        if n > 0 {
            self.reject(Reject::OrphanMetadata, n, sink);
        }
    }

    fn note_tag_checksum(&mut self, c: TagChecksum) {
        match c {
            TagChecksum::Ok => {}
            TagChecksum::Absent => self.stats.warnings.tag_checksum_absent += 1,
            TagChecksum::Mismatch => self.stats.warnings.tag_checksum_mismatch += 1,
        }
    }

    fn sentences(
        &mut self,
        line: &[u8],
        start: usize,
        prefix_time_ms: Option<i64>,
        next: Option<&[u8]>,
        sink: &mut impl Sink,
    ) -> bool {
        self.expire_pghp(sink);
        let pending = std::mem::take(&mut self.pending);
        let mut consumed_next = false;
        let mut pghp_time = None;
        for (k, item) in Sentences::new(line, start).enumerate() {
            let s = match item {
                Ok(s) => s,
                Err(e) => {
                    if k == 0 {
                        if pending.weight > 0 {
                            self.reject(Reject::OrphanMetadata, pending.weight, sink);
                        }
                        self.expire_pghp(sink);
                        self.reject(Reject::from(e), 1, sink);
                    } else {
                        self.stats.warnings.rejected_extra_sentences += 1;
                    }
                    break;
                }
            };
            if k == 0 {
                (pghp_time, consumed_next) =
                    self.first_sentence(&s, &pending, prefix_time_ms, next, false, sink);
            } else {
                let time = pghp_time.or(prefix_time_ms);
                self.sentence(&s, &pending, time, 0, false, sink);
            }
        }
        consumed_next
    }

    /// The first sentence of a line carries the line's weight (with its metadata lines) and
    /// may have a `$PGHP`: a waiting one naming its checksum, else the next line if it names
    /// it, else the line just before. Returns that `$PGHP`'s time and whether it was the next
    /// line. `dearmored`: the fast lane has put the payload in `self.payload`.
    fn first_sentence(
        &mut self,
        s: &Sentence<'_>,
        pending: &PendingMeta,
        prefix_time_ms: Option<i64>,
        next: Option<&[u8]>,
        dearmored: bool,
        sink: &mut impl Sink,
    ) -> (Option<i64>, bool) {
        let (found, consumed_next) = self.pghp_of(s.checksum, next);
        let weight = 1 + pending.weight + found.is_some() as u32;
        let pghp_time = found.flatten();
        let time = pghp_time.or(prefix_time_ms);
        self.sentence(s, pending, time, weight, dearmored, sink);
        (pghp_time, consumed_next)
    }

    /// The `$PGHP` of a line's first sentence, by its checksum: a waiting one naming it, else
    /// the next line if it names it (then counted here, and `true`), else the one on the line
    /// just before. `Some` with that line's time (itself `None` when the line had no valid
    /// time).
    #[inline]
    fn pghp_of(&mut self, checksum: u8, next: Option<&[u8]>) -> (Option<Option<i64>>, bool) {
        if self.pghp.is_empty() && next.is_none() {
            return (None, false);
        }
        if let Some(t) = self.take_pghp(checksum, false) {
            return (Some(t), false);
        }
        if let Some(n) = next.filter(|n| n.starts_with(b"$PGHP,")) {
            if let Ok(p) = nmea::parse_pghp(n) {
                if p.ref_checksum == Some(checksum) {
                    self.line_no += 1;
                    self.stats.lines += 1;
                    return (Some(p.time_ms), true);
                }
            }
        }
        (self.take_pghp(checksum, true), false)
    }

    /// A bare one-sentence line the fast lane framed and de-armored, with whatever metadata
    /// lines wait for it: what [`Decoder::framed_line`] does for it, without the general
    /// sentence. Returns `true` when the next line was consumed as its `$PGHP`.
    #[inline]
    fn bare_line_in_context(
        &mut self,
        b: &nmea::Bare<'_>,
        next: Option<&[u8]>,
        sink: &mut impl Sink,
    ) -> bool {
        self.line_no += 1;
        self.stats.lines += 1;
        self.expire_pghp(sink);
        let pending = std::mem::take(&mut self.pending);
        let (found, consumed_next) = self.pghp_of(b.checksum, next);
        let weight = 1 + pending.weight + found.is_some() as u32;
        // What `meta_of` gives for a sentence without tag block or receiver fields.
        let meta = Meta {
            rx_time_ms: pending.time_ms.or(found.flatten()),
            source: pending.source,
            talker: b.talker,
            own_ship: b.own_ship,
            channel: b.channel,
            fragments: 1,
            line: self.line_no,
            tag_checksum_failed: pending.checksum_failed,
        };
        self.emit_line(&meta, weight, sink);
        consumed_next
    }

    /// Decodes the one-sentence message in `self.payload` (the fast lane de-armored it), or
    /// rejects its `weight` lines.
    #[inline]
    fn emit_line(&mut self, meta: &Meta, weight: u32, sink: &mut impl Sink) {
        if let Err(reason) = emit(&self.payload, meta, weight, &mut self.stats, sink) {
            self.reject(reason, weight, sink);
        }
    }

    /// One sentence: its metadata, then decoded (one-sentence messages) or reassembled.
    fn sentence(
        &mut self,
        s: &Sentence<'_>,
        pending: &PendingMeta,
        other_time: Option<i64>,
        weight: u32,
        dearmored: bool,
        sink: &mut impl Sink,
    ) {
        if let Some(tag) = &s.tag {
            self.note_tag_checksum(tag.checksum);
        }
        let meta = self.meta_of(s, pending, other_time);
        if s.total == 1 {
            self.single(s, meta, weight, dearmored, sink);
        } else {
            self.fragment(s, meta, weight, sink);
        }
    }

    fn meta_of(&self, s: &Sentence<'_>, pending: &PendingMeta, other_time: Option<i64>) -> Meta {
        let tag = s.tag;
        Meta {
            rx_time_ms: tag
                .and_then(|t| t.time_ms)
                .or(pending.time_ms)
                .or(other_time)
                .or(s.trailer_time_ms),
            source: tag
                .and_then(|t| t.source)
                .map(Station::new)
                .or(pending.source)
                .or(s.trailer_station.map(Station::new)),
            talker: s.talker,
            own_ship: s.own_ship,
            channel: s.channel,
            fragments: s.total,
            line: self.line_no,
            tag_checksum_failed: tag.is_some_and(|t| t.checksum == TagChecksum::Mismatch)
                || pending.checksum_failed,
        }
    }

    fn single(
        &mut self,
        s: &Sentence<'_>,
        meta: Meta,
        weight: u32,
        dearmored: bool,
        sink: &mut impl Sink,
    ) {
        let r = if dearmored {
            Ok(())
        } else {
            self.payload
                .set(s.payload, s.fill_bits)
                .map_err(Reject::from)
        };
        let r = r.and_then(|()| emit(&self.payload, &meta, weight, &mut self.stats, sink));
        if let Err(reason) = r {
            self.fate(reason, weight, sink);
        }
    }

    fn fate(&mut self, reason: Reject, weight: u32, sink: &mut impl Sink) {
        if weight > 0 {
            self.reject(reason, weight, sink);
        } else {
            self.stats.warnings.rejected_extra_sentences += 1;
        }
    }

    fn fragment(&mut self, s: &Sentence<'_>, meta: Meta, weight: u32, sink: &mut impl Sink) {
        let key = match s.tag.and_then(|t| t.group).filter(|g| g.total == s.total) {
            Some(g) => GroupKey::Tag {
                id: g.id,
                total: g.total,
            },
            None => GroupKey::Nmea {
                talker: s.talker,
                own_ship: s.own_ship,
                channel: s.channel,
                seq_id: s.seq_id,
                total: s.total,
                receiver: crate::assemble::receiver_hash(
                    s.tag.and_then(|t| t.source).or(s.trailer_station),
                ),
            },
        };
        let f = Fragment {
            key,
            total: s.total,
            number: s.number,
            payload: s.payload,
            fill_bits: s.fill_bits,
            meta,
            weight,
            line: self.line_no,
        };
        if self.cfg.defer_fragments {
            sink.fragment(f.into());
            return;
        }
        self.assemble(f, sink);
    }

    /// Offers a fragment to this decoder's reassembler (used by parallel decoding, which
    /// collects fragments from many decoders and reassembles them in input order).
    pub fn assemble(&mut self, f: Fragment<'_>, sink: &mut impl Sink) {
        let r = self.asm.push(f, &mut self.payload, &mut self.stats);
        for (reason, line) in self.asm.take_rejects() {
            sink.reject(reason, line);
        }
        match r {
            None => {}
            Some(Ok(done)) => {
                let r = emit(
                    &self.payload,
                    &done.meta,
                    done.weight,
                    &mut self.stats,
                    sink,
                );
                if let Err(reason) = r {
                    self.fate(reason, done.weight, sink);
                }
            }
            Some(Err((reason, w))) => self.reject(reason, w, sink),
        }
    }

    /// Merges the accounting of a decoder that ran on a slice of the same input.
    pub fn absorb_stats(&mut self, other: &Stats) {
        self.stats.add(other);
    }
}

/// Whether the line after a sentence line is a `$PGHP` that may belong to it: `None` when
/// more input is needed to tell, else that line (trimmed) and the bytes it takes.
#[inline(always)]
fn next_pghp(after: &[u8], finishing: bool) -> Option<Option<(&[u8], usize)>> {
    if after.len() < 5 && !finishing {
        return None;
    }
    if !after.starts_with(b"$PGHP") {
        return Some(None);
    }
    match crate::simd::find(after, b'\n') {
        Some(nl) => Some(Some((nmea::trim(&after[..nl]), nl + 1))),
        None if finishing => Some(Some((nmea::trim(after), after.len()))),
        None => None,
    }
}

/// Decodes a complete payload and hands the message to the sink, counting it.
#[inline]
fn emit(
    payload: &Payload,
    meta: &Meta,
    weight: u32,
    stats: &mut Stats,
    sink: &mut impl Sink,
) -> Result<(), Reject> {
    // Borrowed, not moved out of the `Result`: a `Message` is a few hundred bytes.
    let r = msg::decode(payload);
    let m = match &r {
        Ok(m) => m,
        Err(e) => return Err(Reject::from(*e)),
    };
    // The type from the payload rather than `m.msg_type()`: the same six bits, without a jump
    // on the message's variant (mispredicted wherever types alternate).
    let t = payload.u(0, 6) as u8;
    debug_assert_eq!(t, m.msg_type());
    if msg::nominal_bits(t).is_some_and(|n| payload.len_bits() > n + 7) {
        stats.warnings.oversized_payload += 1;
    }
    stats.warnings.messages_tag_checksum_failed += meta.tag_checksum_failed as u64;
    stats.by_type[t as usize] += 1;
    stats.messages += 1;
    stats.lines_in_messages += weight as u64;
    sink.payload(payload);
    sink.message(m, meta);
    Ok(())
}

/// Decodes a whole buffer in one call; returns the accounting.
pub fn decode_all(data: &[u8], sink: &mut impl Sink) -> Stats {
    let mut d = Decoder::default();
    d.feed(data, sink);
    d.finish(sink)
}
