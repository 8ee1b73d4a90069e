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
    match m {
        Message::Position(p) => {
            header(&mut w, &p.header);
            w.u(4, opt(p.nav_status, 15))
                .i(8, rate_of_turn_raw(p.rot) as i64)
                .u(10, sog(p.sog_knots))
                .b(p.accuracy);
            latlon(&mut w, p.lon, p.lat, 600_000.0, (28, 27));
            w.u(12, cog(p.cog_deg))
                .u(9, opt(p.heading_deg, 511))
                .u(6, opt(p.second, 60))
                .u(2, opt(p.maneuver, 0))
                .u(3, 0)
                .b(p.raim)
                .u(19, p.radio as u64);
        }
        Message::BaseStation(b) => {
            header(&mut w, &b.header);
            w.u(14, opt(b.year, 0))
                .u(4, opt(b.month, 0))
                .u(5, opt(b.day, 0))
                .u(5, opt(b.hour, 24))
                .u(6, opt(b.minute, 60))
                .u(6, opt(b.second, 60))
                .b(b.accuracy);
            latlon(&mut w, b.lon, b.lat, 600_000.0, (28, 27));
            w.u(4, opt(b.epfd, 0))
                .u(10, 0)
                .b(b.raim)
                .u(19, b.radio as u64);
        }
        Message::StaticVoyage(s) => {
            header(&mut w, &s.header);
            w.u(2, s.ais_version as u64)
                .u(30, opt(s.imo, 0))
                .text(7, s.callsign.as_str())
                .text(20, s.shipname.as_str())
                .u(8, opt(s.ship_type, 0));
            write_dims(&mut w, &s.dims);
            w.u(4, opt(s.epfd, 0));
            eta(&mut w, &s.eta);
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
            header(&mut w, &s.header);
            w.u(12, opt(s.altitude_m, 4095))
                .u(10, opt(s.sog_knots, 1023))
                .b(s.accuracy);
            latlon(&mut w, s.lon, s.lat, 600_000.0, (28, 27));
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
            header(&mut w, &p.header);
            w.u(8, p.reserved as u64)
                .u(10, sog(p.sog_knots))
                .b(p.accuracy);
            latlon(&mut w, p.lon, p.lat, 600_000.0, (28, 27));
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
            header(&mut w, &p.header);
            w.u(8, p.reserved as u64)
                .u(10, sog(p.sog_knots))
                .b(p.accuracy);
            latlon(&mut w, p.lon, p.lat, 600_000.0, (28, 27));
            w.u(12, cog(p.cog_deg))
                .u(9, opt(p.heading_deg, 511))
                .u(6, opt(p.second, 60))
                .u(4, p.regional as u64)
                .text(20, p.shipname.as_str())
                .u(8, opt(p.ship_type, 0));
            write_dims(&mut w, &p.dims);
            w.u(4, opt(p.epfd, 0))
                .b(p.raim)
                .b(p.dte)
                .b(p.assigned)
                .u(4, 0);
        }
        Message::AidToNavigation(a) => {
            header(&mut w, &a.header);
            let name = a.name.as_str();
            let (head, ext) = name.split_at(name.len().min(20));
            w.u(5, a.aid_type as u64).text(20, head).b(a.accuracy);
            latlon(&mut w, a.lon, a.lat, 600_000.0, (28, 27));
            write_dims(&mut w, &a.dims);
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
            header(&mut w, &a.header);
            w.u(2, 0).text(20, a.shipname.as_str()).u(8, 0);
        }
        Message::StaticDataB(b) => {
            header(&mut w, &b.header);
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
                None => write_dims(&mut w, &b.dims),
            }
            w.u(6, 0);
        }
        Message::LongRange(l) => {
            header(&mut w, &l.header);
            w.b(l.accuracy).b(l.raim).u(4, opt(l.nav_status, 15));
            latlon(&mut w, l.lon, l.lat, 600.0, (18, 17));
            w.u(6, opt(l.sog_knots, 63))
                .u(9, opt(l.cog_deg, 511))
                .b(l.gnss_stale)
                .u(1, 0);
        }
        other => return Err(EncodeError::Unsupported(other.msg_type())),
    }
    Ok(w.finish())
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

/// Armors `payload` into one or more sentences (without line endings), appended to `out`.
pub fn to_sentences(payload: &Payload, opts: &SentenceOptions, out: &mut Vec<String>) {
    let mut armored = Vec::with_capacity(payload.len_bits() / 6 + 1);
    let fill = payload.armor_into(&mut armored);
    let chunks: Vec<&[u8]> = if armored.is_empty() {
        vec![&armored[..]]
    } else {
        armored.chunks(MAX_PAYLOAD_CHARS).collect()
    };
    let total = chunks.len();
    for (k, chunk) in chunks.iter().enumerate() {
        let mut s = String::with_capacity(82);
        s.push('!');
        s.push(opts.talker[0] as char);
        s.push(opts.talker[1] as char);
        s.push_str(if opts.own_ship { "VDO," } else { "VDM," });
        s.push_str(&total.to_string());
        s.push(',');
        s.push_str(&(k + 1).to_string());
        s.push(',');
        if total > 1 {
            s.push((b'0' + opts.seq_id % 10) as char);
        }
        s.push(',');
        s.push(opts.channel as char);
        s.push(',');
        s.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        s.push(',');
        s.push(if k + 1 == total {
            (b'0' + fill) as char
        } else {
            '0'
        });
        let sum = crate::nmea::xor_checksum(&s.as_bytes()[1..]);
        s.push_str(&format!("*{sum:02X}"));
        out.push(s);
    }
}

/// Encodes a message to sentences.
pub fn encode(m: &Message<'_>, opts: &SentenceOptions) -> Result<Vec<String>, EncodeError> {
    let p = encode_payload(m)?;
    let mut out = Vec::new();
    to_sentences(&p, opts, &mut out);
    Ok(out)
}
