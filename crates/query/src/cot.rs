//! Cursor on Target (CoT 2.0) for TAK (ATAK, WinTAK, iTAK, TAK Server) and the C2 systems that
//! read it: a vessel as one `<event>`, uid `tidewatch.ais.<MMSI>` (a newer event for the same
//! vessel replaces the older on the map), its type from the AIS ship type (MIL-STD-2525 surface
//! symbols, affiliation unknown: Tidewatch does not judge friend or foe), `how` `m-g` (the
//! vessel's own GNSS), `start` the position's time and `stale` that plus a lifetime, the
//! name as the contact's callsign, course and speed (m/s) as the track (no track when either
//! is not available), and the identity in the remarks and in a `tidewatch` detail element.
//!
//! A stream of events is one event a line, each with its XML declaration, as TAK servers and
//! clients exchange them over TCP and UDP.

use std::io::{self, Write};

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use crate::{iso8601_ms, Vessel};

/// Metres per second in a knot.
const KNOT_MS: f64 = 1852.0 / 3600.0;

/// CoT's "unknown" for height and errors.
const UNKNOWN: &str = "9999999.0";

/// The CoT type of a vessel from its AIS ship type (ITU-R M.1371 table 53): a MIL-STD-2525
/// surface symbol with unknown affiliation (`a-u-S...`).
pub fn cot_type(ship_type: Option<u8>) -> &'static str {
    match ship_type {
        Some(30) => "a-u-S-X-F",                     // fishing
        Some(36 | 37) => "a-u-S-X-R",                // sailing, pleasure craft (leisure)
        Some(55) => "a-u-S-X-L",                     // law enforcement
        Some(60..=69) => "a-u-S-X-M-P",              // passenger
        Some(70..=79) => "a-u-S-X-M-C",              // cargo
        Some(80..=89) => "a-u-S-X-M-O",              // tanker
        Some(31 | 32 | 40..=49 | 52) => "a-u-S-X-M", // towing, high-speed craft, tug
        Some(35) => "a-u-S",                         // military: no more is said
        Some(50 | 51 | 53 | 54 | 58) => "a-u-S-X",   // pilot, SAR, tender, anti-pollution, medical
        _ => "a-u-S",
    }
}

/// A vessel's CoT event (without the XML declaration), or `None` without a position on the
/// globe. `now_ms` is the event's `time`, the position's time its `start`, and it is stale
/// `stale_ms` after `now_ms` (a receiver greys out or drops what is stale by its own clock, so
/// an export of an older picture stays on the map for that long).
pub fn vessel_event(v: &Vessel, now_ms: i64, stale_ms: i64) -> Option<Vec<u8>> {
    let r = &v.row;
    let (lat, lon) = (r.lat?, r.lon?);
    if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
        return None;
    }
    let start = r.position_time_ms.unwrap_or(now_ms);
    let mut xml = Writer::new(Vec::with_capacity(768));
    let uid = format!("tidewatch.ais.{}", r.mmsi);
    let (time, start_s, stale) = (
        iso8601_ms(now_ms),
        iso8601_ms(start),
        iso8601_ms(now_ms + stale_ms),
    );
    let name = crate::kml::vessel_label(r.mmsi, r.name.as_deref());
    let mut remarks = format!("MMSI {}", r.mmsi);
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            remarks.push_str(&format!("; {k} {}", v.trim()));
        }
    };
    push("IMO", r.imo.map(|i| i.to_string()));
    push("call sign", r.callsign.clone());
    push("flag", r.flag.clone());
    push(
        "type",
        r.ship_type
            .map(|t| ais::msg::units::ship_type_text(t).to_owned())
            .or_else(|| r.ship_type_text.clone()),
    );
    push(
        "status",
        r.nav_status
            .filter(|&s| s != 15)
            .map(|s| ais::msg::units::nav_status_text(s).to_owned()),
    );
    push("destination", r.destination.clone());
    push("length m", r.length_m.map(|l| l.to_string()));
    // Both or no track: CoT has no "not available", and 0 would draw a vessel stopped, north.
    let track = r
        .cog_deg
        .zip(r.sog_knots)
        .map(|(c, s)| (c.to_string(), format!("{:.2}", s as f64 * KNOT_MS)));
    let mmsi = r.mmsi.to_string();
    let imo = r.imo.map(|i| i.to_string());
    let ship_type = r.ship_type.map(|t| t.to_string());
    let lat_s = lat.to_string();
    let lon_s = lon.to_string();
    xml.create_element("event")
        .with_attributes([
            ("version", "2.0"),
            ("uid", uid.as_str()),
            ("type", cot_type(r.ship_type)),
            ("how", "m-g"),
            ("time", time.as_str()),
            ("start", start_s.as_str()),
            ("stale", stale.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("point")
                .with_attributes([
                    ("lat", lat_s.as_str()),
                    ("lon", lon_s.as_str()),
                    ("hae", UNKNOWN),
                    ("ce", UNKNOWN),
                    ("le", UNKNOWN),
                ])
                .write_empty()?;
            w.create_element("detail").write_inner_content(|w| {
                w.create_element("contact")
                    .with_attribute(("callsign", name.as_str()))
                    .write_empty()?;
                if let Some((course, speed)) = &track {
                    w.create_element("track")
                        .with_attributes([("course", course.as_str()), ("speed", speed.as_str())])
                        .write_empty()?;
                }
                w.create_element("remarks")
                    .write_text_content(BytesText::new(&remarks))?;
                let mut t = w
                    .create_element("tidewatch")
                    .with_attribute(("mmsi", mmsi.as_str()));
                if let Some(i) = &imo {
                    t = t.with_attribute(("imo", i.as_str()));
                }
                if let Some(f) = &r.flag {
                    t = t.with_attribute(("flag", f.as_str()));
                }
                if let Some(s) = &ship_type {
                    t = t.with_attribute(("ship_type", s.as_str()));
                }
                t.write_empty()?;
                Ok(())
            })?;
            Ok(())
        })
        .ok()?;
    Some(xml.into_inner())
}

/// Writes vessels as a CoT stream: one event a line, each with its XML declaration. Vessels
/// without a position are left out; returns how many were written.
pub fn write_vessels<W: Write>(
    mut out: W,
    vessels: &[Vessel],
    now_ms: i64,
    stale_ms: i64,
) -> io::Result<(W, u64)> {
    let mut n = 0;
    let mut decl = Writer::new(Vec::new());
    decl.write_event(Event::Decl(BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        Some("yes"),
    )))?;
    let decl = decl.into_inner();
    for v in vessels {
        if let Some(ev) = vessel_event(v, now_ms, stale_ms) {
            out.write_all(&decl)?;
            out.write_all(&ev)?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    out.flush()?;
    Ok((out, n))
}
