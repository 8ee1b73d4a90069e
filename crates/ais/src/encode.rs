//! Encoding messages back to NMEA sentences (for the simulator and round-trip tests).
//!
//! [`encode_payload`] writes the fields of a [`Message`] in bit order, mirroring the decoders;
//! "not available" (`None`) becomes the standard's sentinel. [`to_sentences`] armors a payload and
//! splits it into `!AIVDM` sentences of at most 82 characters. Supported: types 1, 2, 3, 4, 5,
//! 9, 11, 18, 19, 21, 24 (A and B) and 27.

use crate::bits::{BitWriter, Payload};
use crate::msg::static_data_write::write_dims;
use crate::msg::units::rate_of_turn_raw;
use crate::msg::{Eta, Header, Message};

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

fn header(w: &mut BitWriter, h: &Header) {
    w.u(6, h.msg_type as u64)
        .u(2, h.repeat as u64)
        .u(30, h.mmsi.0 as u64);
}

fn latlon(
    w: &mut BitWriter,
    lon: Option<f64>,
    lat: Option<f64>,
    per_degree: f64,
    bits: (usize, usize),
) {
    let l = lon.map_or(181.0 * per_degree, |v| (v * per_degree).round());
    let a = lat.map_or(91.0 * per_degree, |v| (v * per_degree).round());
    w.i(bits.0, l as i64).i(bits.1, a as i64);
}

fn sog(v: Option<f32>) -> u64 {
    v.map_or(1023, |k| ((k * 10.0).round() as i64).clamp(0, 1022) as u64)
}

fn cog(v: Option<f32>) -> u64 {
    v.map_or(3600, |d| ((d * 10.0).round() as i64).clamp(0, 3599) as u64)
}

fn opt<T: Into<u64>>(v: Option<T>, na: u64) -> u64 {
    v.map_or(na, Into::into)
}

fn eta(w: &mut BitWriter, e: &Eta) {
    w.u(4, opt(e.month, 0))
        .u(5, opt(e.day, 0))
        .u(5, opt(e.hour, 24))
        .u(6, opt(e.minute, 60));
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
    w.clear();
    write_payload(m, w)?;
    out.set(w.payload());
    Ok(())
}

fn write_payload(m: &Message<'_>, w: &mut BitWriter) -> Result<(), EncodeError> {
    match m {
        Message::Position(p) => {
            header(w, &p.header);
            w.u(4, opt(p.nav_status, 15))
                .i(8, rate_of_turn_raw(p.rot) as i64)
                .u(10, sog(p.sog_knots))
                .b(p.accuracy);
            latlon(w, p.lon, p.lat, 600_000.0, (28, 27));
            w.u(12, cog(p.cog_deg))
                .u(9, opt(p.heading_deg, 511))
                .u(6, opt(p.second, 60))
                .u(2, opt(p.maneuver, 0))
                .u(3, 0)
                .b(p.raim)
                .u(19, p.radio as u64);
        }
        Message::BaseStation(b) => {
            header(w, &b.header);
            w.u(14, opt(b.year, 0))
                .u(4, opt(b.month, 0))
                .u(5, opt(b.day, 0))
                .u(5, opt(b.hour, 24))
                .u(6, opt(b.minute, 60))
                .u(6, opt(b.second, 60))
                .b(b.accuracy);
            latlon(w, b.lon, b.lat, 600_000.0, (28, 27));
            w.u(4, opt(b.epfd, 0))
                .u(10, 0)
                .b(b.raim)
                .u(19, b.radio as u64);
        }
        Message::StaticVoyage(s) => {
            header(w, &s.header);
            w.u(2, s.ais_version as u64)
                .u(30, opt(s.imo, 0))
                .text(7, s.callsign.as_str())
                .text(20, s.shipname.as_str())
                .u(8, opt(s.ship_type, 0));
            write_dims(w, &s.dims);
            w.u(4, opt(s.epfd, 0));
            eta(w, &s.eta);
            w.u(
                8,
                s.draught_m
                    .map_or(0, |d| ((d * 10.0).round() as i64).clamp(0, 255) as u64),
            )
            .text(20, s.destination.as_str())
            .b(s.dte)
            .u(1, 0);
        }
        Message::SarAircraft(s) => {
            header(w, &s.header);
            w.u(12, opt(s.altitude_m, 4095))
                .u(10, opt(s.sog_knots, 1023))
                .b(s.accuracy);
            latlon(w, s.lon, s.lat, 600_000.0, (28, 27));
            w.u(12, cog(s.cog_deg))
                .u(6, opt(s.second, 60))
                .u(8, s.regional as u64)
                .b(s.dte)
                .u(3, 0)
                .b(s.assigned)
                .b(s.raim)
                .u(20, s.radio as u64);
        }
        Message::ClassBPosition(p) => {
            header(w, &p.header);
            w.u(8, p.reserved as u64)
                .u(10, sog(p.sog_knots))
                .b(p.accuracy);
            latlon(w, p.lon, p.lat, 600_000.0, (28, 27));
            w.u(12, cog(p.cog_deg))
                .u(9, opt(p.heading_deg, 511))
                .u(6, opt(p.second, 60))
                .u(2, p.regional as u64)
                .b(p.cs)
                .b(p.display)
                .b(p.dsc)
                .b(p.band)
                .b(p.msg22)
                .b(p.assigned)
                .b(p.raim)
                .u(20, p.radio as u64);
        }
        Message::ClassBExtended(p) => {
            header(w, &p.header);
            w.u(8, p.reserved as u64)
                .u(10, sog(p.sog_knots))
                .b(p.accuracy);
            latlon(w, p.lon, p.lat, 600_000.0, (28, 27));
            w.u(12, cog(p.cog_deg))
                .u(9, opt(p.heading_deg, 511))
                .u(6, opt(p.second, 60))
                .u(4, p.regional as u64)
                .text(20, p.shipname.as_str())
                .u(8, opt(p.ship_type, 0));
            write_dims(w, &p.dims);
            w.u(4, opt(p.epfd, 0))
                .b(p.raim)
                .b(p.dte)
                .b(p.assigned)
                .u(4, 0);
        }
        Message::AidToNavigation(a) => {
            header(w, &a.header);
            let name = a.name.as_str();
            let (head, ext) = name.split_at(name.len().min(20));
            w.u(5, a.aid_type as u64).text(20, head).b(a.accuracy);
            latlon(w, a.lon, a.lat, 600_000.0, (28, 27));
            write_dims(w, &a.dims);
            w.u(4, opt(a.epfd, 0))
                .u(6, opt(a.second, 60))
                .b(a.off_position)
                .u(8, a.regional as u64)
                .b(a.raim)
                .b(a.virtual_aid)
                .b(a.assigned)
                .u(1, 0);
            if !ext.is_empty() {
                w.text(ext.len(), ext);
                let bits = 272 + 6 * ext.len();
                w.u(bits.next_multiple_of(8) - bits, 0);
            }
        }
        Message::StaticDataA(a) => {
            header(w, &a.header);
            w.u(2, 0).text(20, a.shipname.as_str()).u(8, 0);
        }
        Message::StaticDataB(b) => {
            header(w, &b.header);
            w.u(2, 1)
                .u(8, opt(b.ship_type, 0))
                .text(3, b.vendor_id.as_str())
                .u(4, b.model as u64)
                .u(20, b.serial as u64)
                .text(7, b.callsign.as_str());
            match b.mothership_mmsi {
                Some(m) => {
                    w.u(30, m.0 as u64);
                }
                None => write_dims(w, &b.dims),
            }
            w.u(6, 0);
        }
        Message::LongRange(l) => {
            header(w, &l.header);
            w.b(l.accuracy).b(l.raim).u(4, opt(l.nav_status, 15));
            latlon(w, l.lon, l.lat, 600.0, (18, 17));
            w.u(6, opt(l.sog_knots, 63))
                .u(9, opt(l.cog_deg, 511))
                .b(l.gnss_stale)
                .u(1, 0);
        }
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

/// A payload armored into six-bit characters, held inline (no allocation).
#[derive(Clone, Copy)]
pub struct Armored {
    chars: [u8; crate::bits::MAX_BITS.div_ceil(6)],
    len: usize,
    fill: u8,
}

impl Default for Armored {
    fn default() -> Self {
        Armored {
            chars: [0; crate::bits::MAX_BITS.div_ceil(6)],
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
        let (len, fill) = payload.armor_to(&mut self.chars);
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
        let start = out.len();
        out.push(b'!');
        out.extend_from_slice(&opts.talker);
        out.extend_from_slice(if opts.own_ship { b"VDO," } else { b"VDM," });
        push_small(out, total);
        out.push(b',');
        push_small(out, index + 1);
        out.push(b',');
        if total > 1 {
            out.push(b'0' + opts.seq_id % 10);
        }
        out.push(b',');
        out.push(opts.channel);
        out.push(b',');
        out.extend_from_slice(self.sentence_chars(index));
        out.push(b',');
        out.push(if index + 1 == total {
            b'0' + self.fill
        } else {
            b'0'
        });
        let sum = crate::nmea::xor_checksum(&out[start + 1..]);
        push_checksum(out, sum);
    }
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

/// Appends an IEC 61162-450 tag block `\s:SOURCE,c:TIME[,g:K-N-ID]*hh\` to `out`.
pub fn write_tag_block(out: &mut Vec<u8>, source: &str, time: TagTime, group: Option<TagGroup>) {
    out.push(b'\\');
    let start = out.len();
    out.extend_from_slice(b"s:");
    out.extend_from_slice(source.as_bytes());
    out.extend_from_slice(b",c:");
    let mut digits = itoa_buf();
    let t = match time {
        TagTime::Seconds(s) => s,
        TagTime::Millis(ms) => ms,
    };
    out.extend_from_slice(fmt_i64(t, &mut digits));
    if let Some(g) = group {
        out.extend_from_slice(b",g:");
        push_small(out, g.index as usize);
        out.push(b'-');
        push_small(out, g.count as usize);
        out.push(b'-');
        push_small(out, g.id as usize);
    }
    let sum = crate::nmea::xor_checksum(&out[start..]);
    push_checksum(out, sum);
    out.push(b'\\');
}

fn itoa_buf() -> [u8; 20] {
    [0; 20]
}

fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    let mut k = buf.len();
    loop {
        k -= 1;
        buf[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || k == 1 {
            break;
        }
    }
    if neg {
        k -= 1;
        buf[k] = b'-';
    }
    &buf[k..]
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
