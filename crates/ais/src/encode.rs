//! Encoding messages back to NMEA sentences (for the simulator and round-trip tests).
//!
//! [`encode_payload`] writes the fields of a [`Message`] in bit order, mirroring the decoders;
//! "not available" (`None`) becomes the standard's sentinel. [`to_sentences`] armors a payload and
//! splits it into `!AIVDM` sentences of at most 82 characters. Supported: types 1, 2, 3, 4, 5,
//! 9, 11, 18, 19, 21, 24 (A and B) and 27.
//!
//! Each type's field layout is written once, generic over `BitSink`: [`encode_armored`] (the
//! simulator's path) packs the one-slot reports into a stack value whose field offsets are
//! known when compiling, and every other message into a [`BitWriter`].

use std::cell::Cell;

use crate::bits::{BitSink, BitWriter, Payload, ShortBits};
use crate::msg::static_data_write::write_dims;
use crate::msg::units::rate_of_turn_raw;
use crate::msg::{
    BaseStationReport, ClassBPosition, Eta, Header, LongRangeReport, Message, PositionReport,
};

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// This message type has no encoder.
    Unsupported(u8),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Unsupported(t) => write!(f, "encoding type {t} is not supported"),
        }
    }
}

impl std::error::Error for EncodeError {}

#[inline(always)]
fn header<W: BitSink>(w: &mut W, h: &Header) {
    w.put(6, h.msg_type as u64)
        .put(2, h.repeat as u64)
        .put(30, h.mmsi.0 as u64);
}

#[inline(always)]
fn latlon<W: BitSink>(
    w: &mut W,
    lon: Option<f64>,
    lat: Option<f64>,
    per_degree: f64,
    bits: (usize, usize),
) {
    let l = lon.map_or(181.0 * per_degree, |v| v * per_degree);
    let a = lat.map_or(91.0 * per_degree, |v| v * per_degree);
    w.put_i(bits.0, round_i64(l)).put_i(bits.1, round_i64(a));
}

#[inline(always)]
fn sog(v: Option<f32>) -> u64 {
    v.map_or(1023, |k| round_i64((k * 10.0) as f64).clamp(0, 1022) as u64)
}

#[inline(always)]
fn cog(v: Option<f32>) -> u64 {
    v.map_or(3600, |d| round_i64((d * 10.0) as f64).clamp(0, 3599) as u64)
}

/// Rounds half away from zero exactly as `f64::round` does, without the library call (the
/// encoder rounds several fields of every message).
#[inline]
pub(crate) fn round_i64(x: f64) -> i64 {
    if !x.is_finite() {
        return x as i64;
    }
    let t = x as i64;
    // Exact: the fractional part of a float is representable.
    let frac = x - t as f64;
    if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    }
}

#[inline(always)]
fn opt<T: Into<u64>>(v: Option<T>, na: u64) -> u64 {
    v.map_or(na, Into::into)
}

fn eta<W: BitSink>(w: &mut W, e: &Eta) {
    w.put(4, opt(e.month, 0))
        .put(5, opt(e.day, 0))
        .put(5, opt(e.hour, 24))
        .put(6, opt(e.minute, 60));
}

/// Writes the message's bits.
pub fn encode_payload(m: &Message<'_>) -> Result<Payload, EncodeError> {
    let mut w = BitWriter::new();
    write_payload(m, &mut w)?;
    Ok(w.finish())
}

/// Encodes and armors a message into `out`, reusing its storage (no large values moved: the
/// fast path of the simulator).
pub fn encode_armored(
    m: &Message<'_>,
    w: &mut BitWriter,
    out: &mut Armored,
) -> Result<(), EncodeError> {
    if let Some(bits) = short_bits(m) {
        let (chars, len, fill) = bits.armor();
        out.chars[..32].copy_from_slice(&chars);
        out.len = len;
        out.fill = fill;
        return Ok(());
    }
    w.clear();
    write_payload(m, w)?;
    out.set(w.payload());
    Ok(())
}

// The one-slot reports, shared by the general path and the short fast path.

#[inline(always)]
fn position<W: BitSink>(w: &mut W, p: &PositionReport) {
    header(w, &p.header);
    w.put(4, opt(p.nav_status, 15))
        .put_i(8, rate_of_turn_raw(p.rot) as i64)
        .put(10, sog(p.sog_knots))
        .put_b(p.accuracy);
    latlon(w, p.lon, p.lat, 600_000.0, (28, 27));
    w.put(12, cog(p.cog_deg))
        .put(9, opt(p.heading_deg, 511))
        .put(6, opt(p.second, 60))
        .put(2, opt(p.maneuver, 0))
        .put(3, 0)
        .put_b(p.raim)
        .put(19, p.radio.unwrap_or(0) as u64);
}

#[inline(always)]
fn base_station<W: BitSink>(w: &mut W, b: &BaseStationReport) {
    header(w, &b.header);
    w.put(14, opt(b.year, 0))
        .put(4, opt(b.month, 0))
        .put(5, opt(b.day, 0))
        .put(5, opt(b.hour, 24))
        .put(6, opt(b.minute, 60))
        .put(6, opt(b.second, 60))
        .put_b(b.accuracy);
    latlon(w, b.lon, b.lat, 600_000.0, (28, 27));
    w.put(4, opt(b.epfd, 0))
        .put(10, 0)
        .put_b(b.raim)
        .put(19, b.radio as u64);
}

#[inline(always)]
fn class_b_position<W: BitSink>(w: &mut W, p: &ClassBPosition) {
    header(w, &p.header);
    w.put(8, p.reserved as u64)
        .put(10, sog(p.sog_knots))
        .put_b(p.accuracy);
    latlon(w, p.lon, p.lat, 600_000.0, (28, 27));
    w.put(12, cog(p.cog_deg))
        .put(9, opt(p.heading_deg, 511))
        .put(6, opt(p.second, 60))
        .put(2, p.regional as u64)
        .put_b(p.cs)
        .put_b(p.display)
        .put_b(p.dsc)
        .put_b(p.band)
        .put_b(p.msg22)
        .put_b(p.assigned)
        .put_b(p.raim)
        .put(20, p.radio as u64);
}

#[inline(always)]
fn long_range<W: BitSink>(w: &mut W, l: &LongRangeReport) {
    header(w, &l.header);
    w.put_b(l.accuracy)
        .put_b(l.raim)
        .put(4, opt(l.nav_status, 15));
    latlon(w, l.lon, l.lat, 600.0, (18, 17));
    w.put(6, opt(l.sog_knots, 63))
        .put(9, opt(l.cog_deg, 511))
        .put_b(l.gnss_stale)
        .put(1, 0);
}

/// The bits of a one-slot report, built on the stack with every field's place known when
/// compiling; `None` for other messages.
#[inline]
fn short_bits(m: &Message<'_>) -> Option<ShortBits> {
    let mut s = ShortBits::default();
    match m {
        Message::Position(p) => position(&mut s, p),
        Message::BaseStation(b) => base_station(&mut s, b),
        Message::ClassBPosition(p) => class_b_position(&mut s, p),
        Message::LongRange(l) => long_range(&mut s, l),
        _ => return None,
    }
    s.len_bits().map(|_| s)
}

fn write_payload<W: BitSink>(m: &Message<'_>, w: &mut W) -> Result<(), EncodeError> {
    match m {
        Message::Position(p) => position(w, p),
        Message::BaseStation(b) => base_station(w, b),
        Message::StaticVoyage(s) => {
            header(w, &s.header);
            w.put(2, s.ais_version as u64)
                .put(30, opt(s.imo, 0))
                .put_text(7, s.callsign.as_str())
                .put_text(20, s.shipname.as_str())
                .put(8, opt(s.ship_type, 0));
            write_dims(w, &s.dims);
            w.put(4, opt(s.epfd, 0));
            eta(w, &s.eta);
            w.put(
                8,
                s.draught_m
                    .map_or(0, |d| round_i64((d * 10.0) as f64).clamp(0, 255) as u64),
            )
            .put_text(20, s.destination.as_str())
            .put_b(s.dte)
            .put(1, 0);
        }
        Message::SarAircraft(s) => {
            header(w, &s.header);
            w.put(12, opt(s.altitude_m, 4095))
                .put(10, opt(s.sog_knots, 1023))
                .put_b(s.accuracy);
            latlon(w, s.lon, s.lat, 600_000.0, (28, 27));
            w.put(12, cog(s.cog_deg))
                .put(6, opt(s.second, 60))
                .put(8, s.regional as u64)
                .put_b(s.dte)
                .put(3, 0)
                .put_b(s.assigned)
                .put_b(s.raim)
                .put(20, s.radio as u64);
        }
        Message::ClassBPosition(p) => class_b_position(w, p),
        Message::ClassBExtended(p) => {
            header(w, &p.header);
            w.put(8, p.reserved as u64)
                .put(10, sog(p.sog_knots))
                .put_b(p.accuracy);
            latlon(w, p.lon, p.lat, 600_000.0, (28, 27));
            w.put(12, cog(p.cog_deg))
                .put(9, opt(p.heading_deg, 511))
                .put(6, opt(p.second, 60))
                .put(4, p.regional as u64)
                .put_text(20, p.shipname.as_str())
                .put(8, opt(p.ship_type, 0));
            write_dims(w, &p.dims);
            w.put(4, opt(p.epfd, 0))
                .put_b(p.raim)
                .put_b(p.dte)
                .put_b(p.assigned)
                .put(4, 0);
        }
        Message::AidToNavigation(a) => {
            header(w, &a.header);
            // A name over 20 characters continues in the extension; an extension kept apart
            // follows a name of 20 or fewer characters ('@'-padded, so not full).
            let name = a.name.as_str();
            let (head, ext) = name.split_at(name.len().min(20));
            let ext = match &a.name_extension {
                Some(e) if ext.is_empty() && head.len() < 20 => e.as_str(),
                _ => ext,
            };
            w.put(5, a.aid_type as u64)
                .put_text(20, head)
                .put_b(a.accuracy);
            latlon(w, a.lon, a.lat, 600_000.0, (28, 27));
            write_dims(w, &a.dims);
            w.put(4, opt(a.epfd, 0))
                .put(6, opt(a.second, 60))
                .put_b(a.off_position)
                .put(8, a.regional as u64)
                .put_b(a.raim)
                .put_b(a.virtual_aid)
                .put_b(a.assigned)
                .put(1, 0);
            if !ext.is_empty() {
                w.put_text(ext.len(), ext);
                let bits = 272 + 6 * ext.len();
                w.put(bits.next_multiple_of(8) - bits, 0);
            }
        }
        Message::StaticDataA(a) => {
            header(w, &a.header);
            w.put(2, 0).put_text(20, a.shipname.as_str()).put(8, 0);
        }
        Message::StaticDataB(b) => {
            header(w, &b.header);
            w.put(2, 1)
                .put(8, opt(b.ship_type, 0))
                .put_text(3, b.vendor_id.as_str())
                .put(4, b.model as u64)
                .put(20, b.serial as u64)
                .put_text(7, b.callsign.as_str());
            match b.mothership_mmsi {
                Some(m) => {
                    w.put(30, m.0 as u64);
                }
                None => write_dims(w, &b.dims),
            }
            w.put(6, 0);
        }
        Message::LongRange(l) => long_range(w, l),
        other => return Err(EncodeError::Unsupported(other.msg_type())),
    }
    Ok(())
}

/// How sentences are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentenceOptions {
    /// Talker id (default `AI`).
    pub talker: [u8; 2],
    /// Write `VDO` (own ship) instead of `VDM`.
    pub own_ship: bool,
    /// Radio channel (default `A`).
    pub channel: u8,
    /// Sequential message id for multi-sentence messages (0..=9).
    pub seq_id: u8,
}

impl Default for SentenceOptions {
    fn default() -> Self {
        SentenceOptions {
            talker: *b"AI",
            own_ship: false,
            channel: b'A',
            seq_id: 0,
        }
    }
}

/// Longest payload per sentence so the sentence stays within 82 characters with CR LF.
pub const MAX_PAYLOAD_CHARS: usize = 60;

const ARMORED_CAP: usize = crate::bits::MAX_BITS.div_ceil(6) + 64;

/// A payload armored into six-bit characters, held inline (no allocation).
#[derive(Clone, Copy)]
pub struct Armored {
    /// Room for the longest payload and a 64-byte read past any sentence's start.
    chars: [u8; ARMORED_CAP],
    len: usize,
    fill: u8,
}

impl Default for Armored {
    fn default() -> Self {
        Armored {
            chars: [0; ARMORED_CAP],
            len: 0,
            fill: 0,
        }
    }
}

impl std::fmt::Debug for Armored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Armored")
            .field("chars", &String::from_utf8_lossy(self.chars()))
            .field("fill", &self.fill)
            .finish()
    }
}

impl Armored {
    /// Armors `payload`.
    pub fn new(payload: &Payload) -> Armored {
        let mut a = Armored::default();
        a.set(payload);
        a
    }

    /// Armors `payload` into this one's storage.
    pub fn set(&mut self, payload: &Payload) {
        let (len, fill) = payload.armor_to(&mut self.chars[..ARMORED_CAP - 64]);
        self.len = len;
        self.fill = fill;
    }

    /// The armored characters.
    pub fn chars(&self) -> &[u8] {
        &self.chars[..self.len]
    }

    /// Fill bits after the last character.
    pub fn fill_bits(&self) -> u8 {
        self.fill
    }

    /// How many sentences of at most [`MAX_PAYLOAD_CHARS`] characters the payload needs.
    pub fn sentence_count(&self) -> usize {
        self.len.div_ceil(MAX_PAYLOAD_CHARS).max(1)
    }

    /// The characters of sentence `index` (0-based) of [`Armored::sentence_count`].
    pub fn sentence_chars(&self, index: usize) -> &[u8] {
        let start = (index * MAX_PAYLOAD_CHARS).min(self.len);
        let end = (start + MAX_PAYLOAD_CHARS).min(self.len);
        &self.chars[start..end]
    }

    /// Appends sentence `index` (0-based, without line ending) to `out`.
    pub fn write_sentence(&self, opts: &SentenceOptions, index: usize, out: &mut Vec<u8>) {
        let total = self.sentence_count();
        // The header is built on the stack and appended at once.
        let mut head = [0u8; 24];
        let mut n = 0;
        let mut put = |b: &[u8]| {
            head[n..n + b.len()].copy_from_slice(b);
            n += b.len();
        };
        put(b"!");
        put(&opts.talker);
        put(if opts.own_ship { b"VDO," } else { b"VDM," });
        put(small(total).as_slice());
        put(b",");
        put(small(index + 1).as_slice());
        put(b",");
        if total > 1 {
            put(&[b'0' + opts.seq_id % 10]);
        }
        put(b",");
        put(&[opts.channel, b',']);
        let chars = self.sentence_chars(index);
        let fill = if index + 1 == total {
            b'0' + self.fill
        } else {
            b'0'
        };
        let sum =
            crate::nmea::xor_checksum(&head[1..n]) ^ crate::nmea::xor_checksum(chars) ^ b',' ^ fill;
        out.reserve(n + chars.len() + 5);
        out.extend_from_slice(&head[..n]);
        out.extend_from_slice(chars);
        out.push(b',');
        out.push(fill);
        push_checksum(out, sum);
    }
}

/// A small number's decimal digits (up to three), for sentence headers.
#[derive(Clone, Copy)]
struct Small {
    digits: [u8; 3],
    len: u8,
}

impl Small {
    fn as_slice(&self) -> &[u8] {
        &self.digits[3 - self.len as usize..]
    }
}

fn small(v: usize) -> Small {
    let mut d = Small {
        digits: [0; 3],
        len: 0,
    };
    let mut v = v.min(999);
    loop {
        d.len += 1;
        d.digits[3 - d.len as usize] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    d
}

fn push_small(out: &mut Vec<u8>, v: usize) {
    if v >= 10 {
        push_small(out, v / 10);
    }
    out.push(b'0' + (v % 10) as u8);
}

fn push_checksum(out: &mut Vec<u8>, sum: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'*');
    out.push(HEX[(sum >> 4) as usize]);
    out.push(HEX[(sum & 15) as usize]);
}

/// The receive time written into a tag block's `c:` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagTime {
    /// Unix seconds.
    Seconds(i64),
    /// Unix milliseconds.
    Millis(i64),
}

/// A sentence group in a tag block (`g:index-count-id`, index 1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagGroup {
    /// This sentence's place in the group, 1-based.
    pub index: u8,
    /// Sentences in the group.
    pub count: u8,
    /// Group id.
    pub id: u32,
}

/// The constant start of one source's tag blocks (`\s:SOURCE,c:`), prepared once so that
/// writing a tag block is only the time, the group and the checksum.
#[derive(Debug, Clone)]
pub struct TagPrefix {
    bytes: Vec<u8>,
    xor: u8,
    /// `bytes` padded to a fixed size for the fast path (`None` for long sources).
    fixed: Option<[u8; 48]>,
    /// The digits of the last time written but its last five: `(time / 100_000, digits,
    /// length)`. A source's lines come in time order within a minute or so, so the leading
    /// digits are nearly always these.
    leading: Cell<(i64, [u8; 16], u8)>,
}

impl PartialEq for TagPrefix {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for TagPrefix {}

impl TagPrefix {
    /// The prefix of tag blocks from `source`.
    pub fn new(source: &str) -> TagPrefix {
        let mut bytes = Vec::with_capacity(source.len() + 6);
        bytes.push(b'\\');
        bytes.extend_from_slice(b"s:");
        bytes.extend_from_slice(source.as_bytes());
        bytes.extend_from_slice(b",c:");
        let xor = crate::nmea::xor_checksum(&bytes[1..]);
        let fixed = (bytes.len() <= 48).then(|| {
            let mut f = [0u8; 48];
            f[..bytes.len()].copy_from_slice(&bytes);
            f
        });
        TagPrefix {
            bytes,
            xor,
            fixed,
            leading: Cell::new((-1, [0; 16], 0)),
        }
    }

    /// Appends one whole line: this tag block, sentence `index` of `armored`, and `\n`.
    /// Returns where the sentence starts, relative to the line. Built in place in `out` with
    /// fixed-size copies (the simulator writes millions of these).
    pub fn write_line(
        &self,
        out: &mut Vec<u8>,
        time: TagTime,
        group: Option<TagGroup>,
        armored: &Armored,
        opts: &SentenceOptions,
        index: usize,
    ) -> usize {
        let total = armored.sentence_count();
        let (Some(fixed), true) = (&self.fixed, total <= 9) else {
            let start = out.len();
            self.write(out, time, group);
            let at = out.len() - start;
            armored.write_sentence(opts, index, out);
            out.push(b'\n');
            return at;
        };
        // Written in place: 192 bytes are room for any line of this path.
        let line_start = out.len();
        out.resize(line_start + 192, 0);
        let b = &mut out[line_start..];
        b[..48].copy_from_slice(fixed);
        let mut n = self.bytes.len();
        let t = match time {
            TagTime::Seconds(s) => s,
            TagTime::Millis(ms) => ms,
        };
        n += self.write_time(&mut b[n..], t);
        if let Some(g) = group {
            b[n..n + 3].copy_from_slice(b",g:");
            n += 3;
            n += write_digits(&mut b[n..], g.index as i64);
            b[n] = b'-';
            n += 1;
            n += write_digits(&mut b[n..], g.count as i64);
            b[n] = b'-';
            n += 1;
            n += write_digits(&mut b[n..], g.id as i64);
        }
        let sum = self.xor ^ crate::nmea::xor_checksum(&b[self.bytes.len()..n]);
        n += put_checksum(&mut b[n..], sum);
        b[n] = b'\\';
        n += 1;
        let at = n;
        b[n] = b'!';
        b[n + 1..n + 3].copy_from_slice(&opts.talker);
        b[n + 3..n + 7].copy_from_slice(if opts.own_ship { b"VDO," } else { b"VDM," });
        b[n + 7] = b'0' + total as u8;
        b[n + 8] = b',';
        b[n + 9] = b'0' + (index + 1).min(9) as u8;
        b[n + 10] = b',';
        n += 11;
        if total > 1 {
            b[n] = b'0' + opts.seq_id % 10;
            n += 1;
        }
        b[n] = b',';
        b[n + 1] = opts.channel;
        b[n + 2] = b',';
        n += 3;
        let start = (index * MAX_PAYLOAD_CHARS).min(armored.len);
        let len = MAX_PAYLOAD_CHARS.min(armored.len - start);
        b[n..n + 64].copy_from_slice(&armored.chars[start..start + 64]);
        n += len;
        b[n] = b',';
        b[n + 1] = if index + 1 == total {
            b'0' + armored.fill
        } else {
            b'0'
        };
        n += 2;
        let sum = crate::nmea::xor_checksum(&b[at + 1..n]);
        n += put_checksum(&mut b[n..], sum);
        b[n] = b'\n';
        n += 1;
        out.truncate(line_start + n);
        at
    }

    /// Writes time `t` in decimal at the start of `out` (room for 21 bytes); returns the
    /// length. The leading digits come from the cache when they are those of the last time.
    #[inline]
    fn write_time(&self, out: &mut [u8], t: i64) -> usize {
        const LOW: i64 = 100_000;
        if t < LOW {
            return write_digits(out, t);
        }
        let key = t / LOW;
        let (mut k, mut digits, mut len) = self.leading.get();
        if k != key {
            len = write_digits(&mut digits, key) as u8;
            k = key;
            self.leading.set((k, digits, len));
        }
        out[..16].copy_from_slice(&digits);
        let len = len as usize;
        let low = (t % LOW) as usize;
        out[len] = b'0' + (low / 10_000) as u8;
        out[len + 1..len + 3].copy_from_slice(&PAIRS[low / 100 % 100]);
        out[len + 3..len + 5].copy_from_slice(&PAIRS[low % 100]);
        len + 5
    }

    /// Appends a whole tag block with this prefix to `out`.
    pub fn write(&self, out: &mut Vec<u8>, time: TagTime, group: Option<TagGroup>) {
        out.extend_from_slice(&self.bytes);
        let t = match time {
            TagTime::Seconds(s) => s,
            TagTime::Millis(ms) => ms,
        };
        let mut digits = [0u8; 20];
        let start = out.len();
        let n = write_digits(&mut digits, t);
        out.extend_from_slice(&digits[..n]);
        if let Some(g) = group {
            out.extend_from_slice(b",g:");
            out.extend_from_slice(small(g.index as usize).as_slice());
            out.push(b'-');
            out.extend_from_slice(small(g.count as usize).as_slice());
            out.push(b'-');
            push_small(out, g.id as usize);
        }
        let sum = self.xor ^ crate::nmea::xor_checksum(&out[start..]);
        push_checksum(out, sum);
        out.push(b'\\');
    }
}

/// Appends an IEC 61162-450 tag block `\s:SOURCE,c:TIME[,g:K-N-ID]*hh\` to `out`.
pub fn write_tag_block(out: &mut Vec<u8>, source: &str, time: TagTime, group: Option<TagGroup>) {
    TagPrefix::new(source).write(out, time, group);
}

/// "00" to "99".
static PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut k = 0;
    while k < 100 {
        t[k] = [b'0' + (k / 10) as u8, b'0' + (k % 10) as u8];
        k += 1;
    }
    t
};

/// Writes `v` in decimal at the start of `out` (which must have room); returns the length.
/// Two digits a step from a table (a tag-block time has ten or thirteen).
#[inline]
fn write_digits(out: &mut [u8], v: i64) -> usize {
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    let off = neg as usize;
    if neg {
        out[0] = b'-';
    }
    let len = n.checked_ilog10().unwrap_or(0) as usize + 1;
    let digits = &mut out[off..off + len];
    let mut k = len;
    while k >= 2 {
        digits[k - 2..k].copy_from_slice(&PAIRS[(n % 100) as usize]);
        n /= 100;
        k -= 2;
    }
    if k == 1 {
        digits[0] = b'0' + n as u8;
    }
    off + len
}

fn put_checksum(out: &mut [u8], sum: u8) -> usize {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out[0] = b'*';
    out[1] = HEX[(sum >> 4) as usize];
    out[2] = HEX[(sum & 15) as usize];
    3
}

/// Armors `payload` into one or more sentences (without line endings), appended to `out`.
pub fn to_sentences(payload: &Payload, opts: &SentenceOptions, out: &mut Vec<String>) {
    let armored = Armored::new(payload);
    let mut buf = Vec::with_capacity(82);
    for k in 0..armored.sentence_count() {
        buf.clear();
        armored.write_sentence(opts, k, &mut buf);
        out.push(String::from_utf8_lossy(&buf).into_owned());
    }
}

/// Encodes a message to sentences.
pub fn encode(m: &Message<'_>, opts: &SentenceOptions) -> Result<Vec<String>, EncodeError> {
    let p = encode_payload(m)?;
    let mut out = Vec::new();
    to_sentences(&p, opts, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The tag-block digit writer writes what `to_string` writes, for any value and every
        /// length (a random power of ten gives each digit count).
        #[test]
        fn digits_are_decimal(v in any::<i64>(), exp in 0u32..19, neg in any::<bool>()) {
            let p = 10i64.pow(exp);
            for v in [v, p - 1, p, p + 1, if neg { -p } else { p / 2 }, i64::MIN, i64::MAX, 0] {
                let mut out = [0u8; 20];
                let n = write_digits(&mut out, v);
                prop_assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), v.to_string());
            }
        }

        /// A prefix reused over a run of times (the cache of leading digits hit, missed and
        /// crossing its boundaries) writes what a fresh tag block writes.
        #[test]
        fn reused_prefix_writes_each_time_right(
            base in 0i64..2_000_000_000_000,
            steps in proptest::collection::vec(-150_000i64..150_000, 1..40),
            millis in any::<bool>(),
        ) {
            let prefix = TagPrefix::new("network");
            let armored = Armored::default();
            let opts = SentenceOptions::default();
            let mut t = base;
            for step in steps {
                t = (t + step).max(0);
                let time = if millis { TagTime::Millis(t) } else { TagTime::Seconds(t / 1000) };
                let mut fast = Vec::new();
                let at = prefix.write_line(&mut fast, time, None, &armored, &opts, 0);
                let mut slow = Vec::new();
                write_tag_block(&mut slow, "network", time, None);
                prop_assert_eq!(&fast[..at], &slow[..]);
            }
        }

        /// The encoder's rounding is `f64::round`, for every value the fields can hold.
        #[test]
        fn rounding_is_f64_round(x in -1e12f64..1e12) {
            prop_assert_eq!(round_i64(x), x.round() as i64);
        }
    }

    #[test]
    fn rounding_ties_and_edges() {
        for x in [
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999999999999994,
            -0.49999999999999994,
            0.0,
            -0.0,
        ] {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
        assert_eq!(round_i64(f64::NAN), 0);
        assert_eq!(round_i64(f64::INFINITY), i64::MAX);
    }

    #[test]
    fn tag_blocks_and_sentences() {
        let mut out = Vec::new();
        write_tag_block(&mut out, "rEV02", TagTime::Seconds(1_334_337_317), None);
        assert_eq!(out, b"\\s:rEV02,c:1334337317*58\\");
        out.clear();
        TagPrefix::new("st").write(
            &mut out,
            TagTime::Millis(1),
            Some(TagGroup {
                index: 1,
                count: 2,
                id: 1234,
            }),
        );
        let body = &out[1..out.len() - 4];
        let sum = crate::nmea::xor_checksum(body);
        assert_eq!(
            std::str::from_utf8(&out[out.len() - 3..out.len() - 1]).unwrap(),
            format!("{sum:02X}")
        );
        assert!(out.starts_with(b"\\s:st,c:1,g:1-2-1234*"));
    }

    /// The one-buffer line writer gives what the tag block and sentence writers give.
    #[test]
    fn write_line_is_tag_block_then_sentence() {
        let mut w = BitWriter::new();
        for bits in [168usize, 424, 1000, 0] {
            w.clear();
            for k in 0..bits {
                w.b(k % 3 == 0);
            }
            let armored = Armored::new(w.payload());
            for (src, time, group) in [
                ("sg-raffles", TagTime::Seconds(1_776_297_600), None),
                (
                    "sat-b",
                    TagTime::Millis(1_776_297_600_123),
                    Some(TagGroup {
                        index: 2,
                        count: 3,
                        id: 4567,
                    }),
                ),
                (
                    "a-source-name-longer-than-the-fast-path-holds-for-sure",
                    TagTime::Seconds(-5),
                    None,
                ),
            ] {
                let prefix = TagPrefix::new(src);
                for index in 0..armored.sentence_count() {
                    let opts = SentenceOptions {
                        seq_id: 7,
                        channel: b'B',
                        ..Default::default()
                    };
                    let mut fast = Vec::new();
                    let at = prefix.write_line(&mut fast, time, group, &armored, &opts, index);
                    let mut slow = Vec::new();
                    write_tag_block(&mut slow, src, time, group);
                    assert_eq!(at, slow.len());
                    armored.write_sentence(&opts, index, &mut slow);
                    slow.push(b'\n');
                    assert_eq!(
                        String::from_utf8_lossy(&fast),
                        String::from_utf8_lossy(&slow)
                    );
                }
            }
        }
    }
}
