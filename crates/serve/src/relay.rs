//! The live picture relayed in the formats other systems read: NMEA 0183 AIS
//! (`/api/stream?format=nmea`, [`NmeaWriter`]) and Cursor on Target (`format=cot`,
//! [`CotWriter`]), each made from the stream's position frames after the client's view.
//!
//! NMEA: what a chart plotter, an ECDIS or another AIS system reads from a receiver, made
//! from the fused picture.
//! Each position the stream sends (the client's view already applied: only sources it may
//! see, the identity those sources reported) becomes one `!AIVDM` sentence with an IEC
//! 61162-450 tag block: `\s:tidewatch,c:UNIX_SECONDS*hh\!AIVDM,...`, the time being the
//! message time (a receiver reading it gets the report's time, not the moment it arrived).
//! Class A (and unknown class) positions are message 1, class B message 18. Before a vessel's
//! first position, and again every [`STATIC_EVERY`], its name and ship type as the stream
//! shows them go out as message 5 (class A) or 24 parts A and B (class B), so a plotter can
//! label the target; call sign, IMO and dimensions are "not available" there (the stream
//! does not carry them).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ais::bits::AisText;
use ais::encode::{encode_payload, write_tag_block, SentenceOptions, TagGroup, TagTime};
use ais::msg::{
    ClassBPosition, Dimensions, Eta, Header, PositionReport, StaticDataA, StaticDataB, StaticVoyage,
};
use ais::{Message, Mmsi};
use serde::Deserialize;

/// How often a vessel's static report is repeated on one connection (AIS class A repeats
/// its static report every 6 minutes).
pub const STATIC_EVERY: Duration = Duration::from_secs(360);

/// A position frame's data (`event: position\ndata: {...}`), as the stream writes it.
#[derive(Debug, Deserialize)]
pub(crate) struct PositionData {
    pub(crate) mmsi: u32,
    time: String,
    pub(crate) lat: f64,
    pub(crate) lon: f64,
    pub(crate) sog_knots: Option<f32>,
    pub(crate) cog_deg: Option<f32>,
    pub(crate) heading_deg: Option<f32>,
    pub(crate) nav_status: Option<u8>,
    pub(crate) class: Option<String>,
    pub(crate) ship_type: Option<u8>,
    pub(crate) name: Option<String>,
    /// `time`, Unix ms (set by [`PositionData::of_frame`]).
    #[serde(skip)]
    pub(crate) time_ms: i64,
}

impl PositionData {
    /// A stream frame's position: `Ok(None)` for a frame that is no position, `Err` for one
    /// that cannot be read back.
    pub(crate) fn of_frame(frame: &[u8]) -> Result<Option<PositionData>, ()> {
        let Some(data) = frame.strip_prefix(b"event: position\ndata: ") else {
            return Ok(None);
        };
        let mut p: PositionData = serde_json::from_slice(data.trim_ascii_end()).map_err(|_| ())?;
        p.time_ms = query::parse_time(&p.time).map_err(|_| ())?;
        Ok(Some(p))
    }

    /// [`PositionData::of_frame`]'s position, counting a frame that cannot be read back in
    /// `unreadable`.
    fn counted(frame: &[u8], unreadable: &mut u64) -> Option<PositionData> {
        Self::of_frame(frame).unwrap_or_else(|()| {
            *unreadable += 1;
            None
        })
    }
}

/// Turns stream frames into another format's bytes (a response drains a client's queue
/// through one: [`crate::stream::converted_response`]).
pub(crate) trait FrameWriter: Send + 'static {
    /// Appends what `frame` becomes to `out`.
    fn frame(&mut self, frame: &[u8], now: Instant, out: &mut Vec<u8>);
    /// The response's content type.
    fn content_type(&self) -> &'static str;
}

impl FrameWriter for NmeaWriter {
    fn frame(&mut self, frame: &[u8], now: Instant, out: &mut Vec<u8>) {
        NmeaWriter::frame(self, frame, now, out);
    }

    fn content_type(&self) -> &'static str {
        "text/plain; charset=us-ascii"
    }
}

/// The shortest time between two CoT events of one vessel on a connection: a TAK map moves a
/// contact a few times a minute, and a busy picture sends a position every second or two per
/// vessel (a demo's picture: 1,300 events a second unthinned).
pub const COT_EVERY: Duration = Duration::from_secs(5);

/// The live picture as Cursor on Target (`/api/stream?format=cot`): each vessel's position, at
/// most one every [`COT_EVERY`], as its CoT event (`query::cot::vessel_event`: uid per MMSI,
/// the name and ship type the stream shows), one a line with its XML declaration, `time` the
/// server's clock and `stale` `stale_ms` after it.
#[derive(Debug)]
pub(crate) struct CotWriter {
    pub(crate) stale_ms: i64,
    /// Position frames that could not be read back.
    pub(crate) unreadable: u64,
    /// When each vessel's last event went out.
    pub(crate) sent: HashMap<u32, Instant>,
}

impl CotWriter {
    /// A writer whose events are stale `stale_ms` after they are sent.
    pub(crate) fn new(stale_ms: i64) -> CotWriter {
        CotWriter {
            stale_ms,
            unreadable: 0,
            sent: HashMap::new(),
        }
    }
}

impl FrameWriter for CotWriter {
    fn frame(&mut self, frame: &[u8], now: Instant, out: &mut Vec<u8>) {
        let Some(p) = PositionData::counted(frame, &mut self.unreadable) else {
            return;
        };
        match self.sent.get(&p.mmsi) {
            Some(t) if now.duration_since(*t) < COT_EVERY => return,
            _ => {
                self.sent.insert(p.mmsi, now);
            }
        }
        let row = store::VesselRow {
            mmsi: p.mmsi,
            class: p.class,
            flag: Mmsi(p.mmsi).flag().map(|f| f.iso2.to_owned()),
            name: p.name,
            ship_type: p.ship_type,
            position_time_ms: Some(p.time_ms),
            lat: Some(p.lat),
            lon: Some(p.lon),
            sog_knots: p.sog_knots,
            cog_deg: p.cog_deg,
            heading_deg: p.heading_deg.map(|h| h.round().rem_euclid(360.0) as u16),
            nav_status: p.nav_status,
            ..store::VesselRow::default()
        };
        let v = query::Vessel {
            row,
            reports_known: false,
        };
        if let Some(ev) = query::cot::vessel_event(&v, crate::picture::wall_ms(), self.stale_ms) {
            out.extend_from_slice(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#);
            out.extend_from_slice(&ev);
            out.push(b'\n');
        }
    }

    fn content_type(&self) -> &'static str {
        "application/xml"
    }
}

/// One connection's NMEA writer: which vessels' static reports went out when, and the
/// sequence id of multi-sentence messages.
#[derive(Debug, Default)]
pub(crate) struct NmeaWriter {
    statics: HashMap<u32, Instant>,
    seq: u8,
    /// Position frames that could not be read back (none are expected; counted for tests).
    pub(crate) unreadable: u64,
}

impl NmeaWriter {
    /// Appends the sentences of one stream frame to `out` (nothing for a frame that is not a
    /// position).
    pub(crate) fn frame(&mut self, frame: &[u8], now: Instant, out: &mut Vec<u8>) {
        let Some(p) = PositionData::counted(frame, &mut self.unreadable) else {
            return;
        };
        let time_ms = p.time_ms;
        let class_b = p.class.as_deref() == Some("B");
        let header = |msg_type: u8| Header {
            msg_type,
            repeat: 0,
            mmsi: Mmsi(p.mmsi),
        };
        let due = self
            .statics
            .get(&p.mmsi)
            .is_none_or(|t| now.duration_since(*t) >= STATIC_EVERY);
        let named = p.name.as_deref().is_some_and(|n| !n.trim().is_empty());
        if due && (named || p.ship_type.is_some()) {
            self.statics.insert(p.mmsi, now);
            let name = AisText::from_str_lossy(p.name.as_deref().unwrap_or(""));
            if class_b {
                self.write(
                    &Message::StaticDataA(StaticDataA {
                        header: header(24),
                        shipname: name,
                    }),
                    time_ms,
                    out,
                );
                self.write(
                    &Message::StaticDataB(StaticDataB {
                        header: header(24),
                        ship_type: p.ship_type,
                        vendor_id: AisText::from_str_lossy(""),
                        model: 0,
                        serial: 0,
                        callsign: AisText::from_str_lossy(""),
                        dims: Dimensions::default(),
                        mothership_mmsi: None,
                    }),
                    time_ms,
                    out,
                );
            } else {
                self.write(
                    &Message::StaticVoyage(StaticVoyage {
                        header: header(5),
                        ais_version: 2,
                        imo: None,
                        callsign: AisText::from_str_lossy(""),
                        shipname: name,
                        ship_type: p.ship_type,
                        dims: Dimensions::default(),
                        epfd: None,
                        eta: Eta::default(),
                        draught_m: None,
                        destination: AisText::from_str_lossy(""),
                        dte: false,
                    }),
                    time_ms,
                    out,
                );
            }
        }
        // The encoder's fields: speed to 102.2 kn, course below 360, heading whole degrees.
        let sog = p
            .sog_knots
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| s.min(102.2));
        let cog = p
            .cog_deg
            .filter(|c| c.is_finite())
            .map(|c| c.rem_euclid(360.0).min(359.9));
        let second = Some((time_ms.div_euclid(1000).rem_euclid(60)) as u8);
        let m = if class_b {
            Message::ClassBPosition(ClassBPosition::cs_unit(
                header(18),
                sog,
                Some(p.lon),
                Some(p.lat),
                cog,
                second,
            ))
        } else {
            Message::Position(PositionReport {
                header: header(1),
                nav_status: p.nav_status.filter(|s| *s < 15),
                rot: None,
                sog_knots: sog,
                accuracy: false,
                lon: Some(p.lon),
                lat: Some(p.lat),
                cog_deg: cog,
                heading_deg: p
                    .heading_deg
                    .filter(|h| h.is_finite())
                    .map(|h| h.round().rem_euclid(360.0) as u16),
                second,
                maneuver: None,
                raim: false,
                radio: None,
            })
        };
        self.write(&m, time_ms, out);
    }

    /// One message's sentences, each with its tag block (a group for several), CR LF ended.
    fn write(&mut self, m: &Message<'_>, time_ms: i64, out: &mut Vec<u8>) {
        let Ok(payload) = encode_payload(m) else {
            self.unreadable += 1;
            return;
        };
        let opts = SentenceOptions {
            seq_id: self.seq,
            ..SentenceOptions::default()
        };
        let mut lines = Vec::with_capacity(2);
        ais::encode::to_sentences(&payload, &opts, &mut lines);
        let count = lines.len();
        if count > 1 {
            self.seq = (self.seq + 1) % 10;
        }
        for (k, line) in lines.iter().enumerate() {
            let group = (count > 1).then(|| TagGroup {
                index: k as u8 + 1,
                count: count as u8,
                id: u32::from(opts.seq_id) + 1,
            });
            write_tag_block(
                out,
                "tidewatch",
                TagTime::Seconds(time_ms.div_euclid(1000)),
                group,
            );
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Vec<u8> {
        format!("event: position\ndata: {json}\n\n").into_bytes()
    }

    /// Decodes `nmea` with Tidewatch's own decoder (framing, checksums, tag blocks, groups):
    /// (message type, MMSI, lat, lon, name, receive time); fails on any reject.
    #[allow(clippy::type_complexity)]
    fn decoded(nmea: &[u8]) -> Vec<(u8, u32, Option<f64>, Option<f64>, String, Option<i64>)> {
        let text = std::str::from_utf8(nmea).unwrap();
        assert!(
            text.split_terminator("\r\n")
                .all(|l| l.starts_with("\\s:tidewatch,c:")),
            "{text}"
        );
        let mut out = Vec::new();
        let mut d = ais::Decoder::new(ais::DecoderConfig::default());
        let mut sink = |m: &Message<'_>, meta: &ais::Meta| {
            assert!(!meta.tag_checksum_failed);
            let h = m.header();
            let (lat, lon, name) = match m {
                Message::Position(p) => (p.lat, p.lon, String::new()),
                Message::ClassBPosition(p) => (p.lat, p.lon, String::new()),
                Message::StaticVoyage(s) => (None, None, s.shipname.to_string()),
                Message::StaticDataA(s) => (None, None, s.shipname.to_string()),
                _ => (None, None, String::new()),
            };
            out.push((h.msg_type, h.mmsi.0, lat, lon, name, meta.rx_time_ms));
        };
        d.feed(nmea, &mut sink);
        let stats = d.finish(&mut sink);
        assert_eq!(stats.rejected_total(), 0, "{stats:?}");
        out
    }

    #[test]
    fn positions_become_sentences_with_a_static_report_first_and_every_six_minutes() {
        let mut w = NmeaWriter::default();
        let mut out = Vec::new();
        let t0 = Instant::now();
        let a = r#"{"mmsi":412000001,"time":"2026-01-15T01:10:07.000Z","lat":15.5,"lon":117.25,"sog_knots":10.5,"cog_deg":90.0,"heading_deg":91.0,"nav_status":0,"class":"A","ship_type":80,"ship_category":"tanker","name":"HAI YANG 8"}"#;
        let b = r#"{"mmsi":338000001,"time":"2026-01-15T01:10:08.000Z","lat":-33.5,"lon":-70.75,"sog_knots":null,"cog_deg":null,"heading_deg":null,"nav_status":null,"class":"B","ship_type":37,"ship_category":"pleasure","name":"WAVE"}"#;
        w.frame(&frame(a), t0, &mut out);
        w.frame(&frame(b), t0, &mut out);
        w.frame(&frame(a), t0 + Duration::from_secs(60), &mut out);
        w.frame(b"event: event\ndata: {}\n\n", t0, &mut out);
        let got = decoded(&out);
        let kinds: Vec<(u8, u32)> = got.iter().map(|g| (g.0, g.1)).collect();
        assert_eq!(
            kinds,
            [
                (5, 412000001),
                (1, 412000001),
                (24, 338000001),
                (24, 338000001),
                (18, 338000001),
                (1, 412000001)
            ]
        );
        assert_eq!(got[0].4, "HAI YANG 8");
        assert_eq!(got[2].4, "WAVE");
        assert!(
            (got[1].2.unwrap() - 15.5).abs() < 1e-5 && (got[1].3.unwrap() - 117.25).abs() < 1e-5
        );
        assert!(
            (got[4].2.unwrap() + 33.5).abs() < 1e-5 && (got[4].3.unwrap() + 70.75).abs() < 1e-5
        );
        // The tag block carries the message time.
        assert_eq!(got[1].5, Some(1_768_439_407_000));
        // Six minutes on, the static report again.
        let mut more = Vec::new();
        w.frame(&frame(a), t0 + STATIC_EVERY, &mut more);
        let kinds: Vec<u8> = decoded(&more).iter().map(|g| g.0).collect();
        assert_eq!(kinds, [5, 1]);
        assert_eq!(w.unreadable, 0);
    }

    #[test]
    fn positions_become_cot_events_of_their_vessel_stale_after_the_set_time() {
        let mut w = CotWriter::new(120_000);
        let mut out = Vec::new();
        let a = r#"{"mmsi":412000001,"time":"2026-01-15T01:10:07.000Z","lat":15.5,"lon":117.25,"sog_knots":10.0,"cog_deg":90.0,"heading_deg":91.0,"nav_status":0,"class":"A","ship_type":80,"ship_category":"tanker","name":"HAI YANG 8"}"#;
        let t0 = Instant::now();
        w.frame(&frame(a), t0, &mut out);
        w.frame(b"event: alert\ndata: {}\n\n", t0, &mut out);
        w.frame(&frame("{broken"), t0, &mut out);
        assert_eq!(w.unreadable, 1);
        // The same vessel again within COT_EVERY: thinned; after it: sent.
        let mut more = Vec::new();
        w.frame(&frame(a), t0 + Duration::from_secs(1), &mut more);
        assert!(more.is_empty());
        w.frame(&frame(a), t0 + COT_EVERY, &mut more);
        assert_eq!(String::from_utf8(more).unwrap().lines().count(), 1);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let attr = |k: &str| {
            let at = text.find(&format!(" {k}=\"")).unwrap() + k.len() + 3;
            text[at..at + text[at..].find('"').unwrap()].to_owned()
        };
        assert!(text.starts_with("<?xml"));
        assert_eq!(attr("uid"), "tidewatch.ais.412000001");
        assert_eq!(attr("type"), "a-u-S-X-M-O");
        assert_eq!(attr("start"), "2026-01-15T01:10:07.000Z");
        assert_eq!(
            (attr("lat"), attr("lon")),
            ("15.5".to_owned(), "117.25".to_owned())
        );
        let t = |k: &str| query::parse_time(&attr(k)).unwrap();
        assert_eq!(t("stale") - t("time"), 120_000);
        assert!(text.contains("HAI YANG 8 (412000001)"), "{text}");
    }

    #[test]
    fn a_vessel_with_no_name_or_type_gets_positions_only_and_odd_values_are_not_available() {
        let mut w = NmeaWriter::default();
        let mut out = Vec::new();
        let p = r#"{"mmsi":205000001,"time":"2026-01-15T01:10:07.500Z","lat":51.0,"lon":3.0,"sog_knots":250.0,"cog_deg":-5.0,"heading_deg":359.7,"nav_status":15,"class":null,"ship_type":null,"ship_category":"unknown","name":null}"#;
        w.frame(&frame(p), Instant::now(), &mut out);
        let got = decoded(&out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 1);
        w.frame(&frame("{not json"), Instant::now(), &mut out);
        assert_eq!(w.unreadable, 1);
    }
}
