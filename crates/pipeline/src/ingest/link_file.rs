//! Link pages: what a partner server's link (`/api/link/positions`, see `serve::link` and
//! `serving::link`) delivered, as spooled and then ingested here.
//!
//! A page is a JSON-lines file: a header `{"tidewatch_link":1,"feed":"link:NAME"}`, then one
//! line per position (`{"position":{...}}`, the upstream's object: MMSI, `time_ms`, position,
//! speed, course, heading, status, message type and its visible `sources`, each with its
//! label) and per identity claim (`{"claim":{...}}`: MMSI, field, value, first and last time,
//! source). Every upstream source becomes the downstream source `link:NAME/SOURCE` (its label
//! is set by the link, from the upstream's, never by this store's operator), so a row heard by
//! two upstream sources arrives as two copies of one transmission, which fusion joins.

use super::report::{fnv, Dropped, Report, Stations, TimeBounds};
use crate::ingest::report::PositionData;
use serde::{Deserialize, Serialize};
use track::fuse::{Content, Observation, SourceRef, StationId};
use track::segment::Transponder;
use track::vessel::{Class, StaticUpdate};

/// The header's key: a file whose first line starts with `{"tidewatch_link"` is a link page.
pub const HEADER_KEY: &[u8] = b"{\"tidewatch_link\"";

/// The first line of a page.
#[derive(Debug, Serialize, Deserialize)]
pub struct Header {
    /// Format version (1).
    pub tidewatch_link: u32,
    /// The link's feed name, `link:NAME`: the prefix of its sources.
    pub feed: String,
}

/// An upstream source and its label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkSource {
    pub source: String,
    pub label: String,
}

/// One position as the upstream serves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkPosition {
    pub mmsi: u32,
    pub time_ms: i64,
    pub lat: f64,
    pub lon: f64,
    pub sog_knots: Option<f32>,
    pub cog_deg: Option<f32>,
    pub heading_deg: Option<u16>,
    pub nav_status: Option<u8>,
    pub msg_type: u8,
    pub sources: Vec<LinkSource>,
}

/// One identity claim as the upstream serves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkClaim {
    pub mmsi: u32,
    pub field: String,
    pub value: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub source: LinkSource,
}

/// One line after the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Line {
    Position(LinkPosition),
    Claim(LinkClaim),
}

/// The downstream name of an upstream source.
pub fn source_name(feed: &str, upstream_source: &str) -> String {
    format!("{feed}/{upstream_source}")
}

/// A static report of one claimed identity value (`None`: a field or value this version does
/// not know, counted by the caller).
fn static_of(field: &str, value: &str, time_ms: i64) -> Option<StaticUpdate> {
    let mut s = StaticUpdate {
        time_ms,
        ..StaticUpdate::default()
    };
    match field {
        "name" => s.name = Some(value.to_owned()),
        "callsign" => s.callsign = Some(value.to_owned()),
        "destination" => s.destination = Some(value.to_owned()),
        "ship_type_text" => s.ship_type_text = Some(value.to_owned()),
        "imo" => s.imo = Some(value.parse().ok()?),
        "ship_type" => s.ship_type = Some(value.parse().ok()?),
        "draught" => s.draught_m = Some(value.parse().ok()?),
        "dimensions" => {
            let (l, b) = value.split_once('x')?;
            s.dimensions_m = Some((l.parse().ok()?, b.parse().ok()?));
        }
        _ => return None,
    }
    Some(s)
}

/// The observations of a page's lines (after the header), sorted by message time.
pub(super) fn observations(
    text: &str,
    feed: &str,
    feed_index: u32,
    stations: &mut Stations,
    bounds: TimeBounds,
    dropped: &mut Dropped,
    out: &mut Vec<Observation<Report>>,
) {
    let start = out.len();
    let station =
        |s: &str, stations: &mut Stations| StationId::new(stations.named(&source_name(feed, s)));
    for line in text.lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Position(p)) => {
                if !bounds.contains(p.time_ms) {
                    dropped.time_out_of_range += 1;
                    continue;
                }
                if !(-90.0..=90.0).contains(&p.lat) || !(-180.0..=180.0).contains(&p.lon) {
                    dropped.position_not_available += 1;
                    continue;
                }
                // One upstream row, whole: a row pulled again (a page after a restart, rows an
                // upstream compaction rewrote) is the same transmission; two rows that differ
                // anywhere are not.
                let mut h = fnv(0xcbf2_9ce4_8422_2325, &p.mmsi.to_le_bytes());
                h = fnv(h, &p.time_ms.to_le_bytes());
                h = fnv(h, &p.lat.to_le_bytes());
                h = fnv(h, &p.lon.to_le_bytes());
                h = fnv(h, &p.sog_knots.map_or(-1.0, f64::from).to_le_bytes());
                h = fnv(h, &p.cog_deg.map_or(-1.0, f64::from).to_le_bytes());
                h = fnv(h, &p.heading_deg.map_or(u32::MAX, u32::from).to_le_bytes());
                h = fnv(h, &[p.nav_status.unwrap_or(u8::MAX), p.msg_type]);
                let class = match p.msg_type {
                    1..=3 => Some(Class::A),
                    18 | 19 => Some(Class::B),
                    _ => None,
                };
                let data = PositionData {
                    msg_type: p.msg_type,
                    lat: p.lat,
                    lon: p.lon,
                    sog_knots: p.sog_knots,
                    cog_deg: p.cog_deg,
                    heading_deg: p.heading_deg,
                    nav_status: p.nav_status,
                    class,
                    transponder: match p.msg_type {
                        18 | 19 => Transponder::ClassB,
                        27 => Transponder::LongRange,
                        _ => Transponder::ClassA,
                    },
                };
                // The upstream's message time is its receive time set to the report's UTC second
                // (`track::fuse::refine_time`): exactly the report's second, which tells apart
                // two reports of a vessel one second apart that are alike in all else.
                let second = (p.time_ms.rem_euclid(1000) == 0)
                    .then(|| p.time_ms.div_euclid(1000).rem_euclid(60) as u8);
                for s in &p.sources {
                    out.push(Observation {
                        mmsi: p.mmsi,
                        payload_hash: h,
                        time_ms: p.time_ms,
                        content: Some(
                            Content::with_second(p.lat, p.lon, p.sog_knots, p.cog_deg, second)
                                .of_fused_feed(feed_index),
                        ),
                        source: SourceRef {
                            source_id: feed_index,
                            station: station(&s.source, stations),
                            received_ms: p.time_ms,
                        },
                        payload: Report::Position(data),
                    });
                }
            }
            Ok(Line::Claim(c)) => {
                if !bounds.contains(c.last_ms) {
                    dropped.time_out_of_range += 1;
                    continue;
                }
                let Some(ship) = static_of(&c.field, &c.value, c.last_ms) else {
                    dropped.link_claim_unusable += 1;
                    continue;
                };
                let mut h = fnv(0x8422_2325_cbf2_9ce4, &c.mmsi.to_le_bytes());
                h = fnv(h, c.field.as_bytes());
                h = fnv(h, &[0]);
                h = fnv(h, c.value.as_bytes());
                h = fnv(h, &c.last_ms.to_le_bytes());
                out.push(Observation {
                    mmsi: c.mmsi,
                    payload_hash: h,
                    time_ms: c.last_ms,
                    content: None,
                    source: SourceRef {
                        source_id: feed_index,
                        station: station(&c.source.source, stations),
                        received_ms: c.last_ms,
                    },
                    payload: Report::Static(Box::new(ship)),
                });
            }
            Err(_) => dropped.link_line_unreadable += 1,
        }
    }
    out[start..].sort_by_key(|o| o.time_ms);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lines: &[&str]) -> String {
        let mut t = String::from("{\"tidewatch_link\":1,\"feed\":\"link:usa\"}\n");
        for l in lines {
            t.push_str(l);
            t.push('\n');
        }
        t
    }

    #[test]
    fn a_position_heard_twice_upstream_is_two_copies_of_one_transmission() {
        let text = page(&[
            r#"{"position":{"mmsi":1,"time_ms":1700000001000,"lat":10.0,"lon":20.0,"sog_knots":5.0,"cog_deg":90.0,"heading_deg":null,"nav_status":0,"msg_type":1,"sources":[{"source":"ais/AI","label":"PUBLIC"},{"source":"radar","label":"REL TO IND, USA"}]}}"#,
            r#"{"claim":{"mmsi":1,"field":"name","value":"SEA STAR","first_ms":1700000000000,"last_ms":1700000000500,"source":{"source":"ais/AI","label":"PUBLIC"}}}"#,
            r#"{"claim":{"mmsi":1,"field":"dimensions","value":"120x20","first_ms":1700000000000,"last_ms":1700000000500,"source":{"source":"ais/AI","label":"PUBLIC"}}}"#,
            r#"{"claim":{"mmsi":1,"field":"colour","value":"red","first_ms":1,"last_ms":1700000000500,"source":{"source":"ais/AI","label":"PUBLIC"}}}"#,
            "not json",
            r#"{"position":{"mmsi":2,"time_ms":4102444800000,"lat":1.0,"lon":2.0,"sog_knots":null,"cog_deg":null,"heading_deg":null,"nav_status":null,"msg_type":18,"sources":[{"source":"ais/AI","label":"PUBLIC"}]}}"#,
        ]);
        let mut stations = Stations::default();
        let (mut dropped, mut out) = (Dropped::default(), Vec::new());
        observations(
            &text,
            "link:usa",
            3,
            &mut stations,
            TimeBounds::at(1_700_000_000_000),
            &mut dropped,
            &mut out,
        );
        // Two claims (oldest first), then the position's two copies.
        assert_eq!(out.len(), 4);
        assert!(
            matches!(&out[0].payload, Report::Static(s) if s.name.as_deref() == Some("SEA STAR"))
        );
        assert!(matches!(&out[1].payload, Report::Static(s) if s.dimensions_m == Some((120, 20))));
        assert_eq!(out[2].payload_hash, out[3].payload_hash);
        assert_eq!(out[2].source.source_id, 3);
        let names: Vec<&str> = [&out[2], &out[3]]
            .iter()
            .map(|o| stations.labels[o.source.station.unwrap().index()].as_str())
            .collect();
        assert_eq!(names, ["link:usa/ais/AI", "link:usa/radar"]);
        assert_eq!(dropped.link_line_unreadable, 1);
        assert_eq!(dropped.link_claim_unusable, 1);
        assert_eq!(dropped.time_out_of_range, 1);
    }
}
