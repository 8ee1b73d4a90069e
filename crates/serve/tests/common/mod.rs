//! A small store built through the store crate's public API, and request helpers.
#![allow(dead_code)] // Each test binary uses part of this module.

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use store::{EventRow, IdentityRow, PositionRow, RegistryDb, RunCommit, Store, VesselRow};
use tower::ServiceExt;

pub const T0: i64 = 1_768_435_200_000; // 2026-01-15T00:00:00Z
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
/// A tanker, renamed at T0 + 1 h.
pub const TANKER: u32 = 412_000_001;
/// A law enforcement vessel escorting the tanker.
pub const COASTGUARD: u32 = 412_000_002;
/// A cargo ship far away.
pub const CARGO: u32 = 563_000_001;

/// A scratch directory, removed (with what is in it) when dropped, pass or fail. Derefs to its
/// path: keep it alive for as long as anything uses the directory.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A fresh, empty scratch directory under the system temp dir named `PREFIX...`.
pub fn scratch(prefix: &str) -> Scratch {
    Scratch(tempfile::Builder::new().prefix(prefix).tempdir().unwrap())
}

/// A fresh, empty scratch directory named `tw-serve-TAG-...`.
pub fn tmpdir(tag: &str) -> Scratch {
    scratch(&format!("tw-serve-{tag}-"))
}

fn row(t: i64, mmsi: u32, lat: f64, lon: f64, segment: Option<u32>) -> PositionRow {
    PositionRow {
        time_ms: t,
        mmsi,
        lat,
        lon,
        sog_knots: Some(10.5),
        cog_deg: Some(45.0),
        heading_deg: Some(44),
        nav_status: Some(0),
        msg_type: 1,
        segment,
        flags: if segment.is_none() { 8 } else { 0 },
        sources: vec!["sim/ground".to_owned()],
    }
}

fn vessel(mmsi: u32, name: &str, ship_type: u8, flag: &str, last: &PositionRow) -> VesselRow {
    VesselRow {
        mmsi,
        class: Some("A".to_owned()),
        flag: Some(flag.to_owned()),
        name: Some(name.to_owned()),
        callsign: Some(format!("C{}", mmsi % 100_000_000)),
        imo: Some(9_000_000 + mmsi % 1000),
        ship_type: Some(ship_type),
        length_m: Some(180),
        beam_m: Some(30),
        destination: Some("SINGAPORE".to_owned()),
        draught_m: Some(9.5),
        first_seen_ms: Some(T0),
        last_seen_ms: Some(last.time_ms),
        reports: 60,
        position_time_ms: Some(last.time_ms),
        lat: Some(last.lat),
        lon: Some(last.lon),
        sog_knots: last.sog_knots,
        cog_deg: last.cog_deg,
        ship_type_text: None,
        heading_deg: last.heading_deg,
        nav_status: last.nav_status,
    }
}

pub fn escort_event() -> EventRow {
    let detail = json!({
        "id": "00000000000000e1", "type": "escort", "start_ms": T0, "end_ms": T0 + 2 * HOUR,
        "open": false, "last_ms": T0 + 2 * HOUR, "lat": 15.1, "lon": 117.2,
        "vessels": [], "zones": ["Scarborough Shoal"], "confidence": 0.9, "evidence": [], "sources": [],
    });
    EventRow {
        id: "00000000000000e1".to_owned(),
        kind: "escort".to_owned(),
        start_ms: T0,
        end_ms: Some(T0 + 2 * HOUR),
        open: false,
        mmsis: vec![COASTGUARD, TANKER],
        zones: vec!["Scarborough Shoal".to_owned()],
        json: detail.to_string(),
    }
}

pub fn gap_event() -> EventRow {
    let detail = json!({"id": "00000000000000e2", "type": "ais_gap", "start_ms": T0 + HOUR,
        "end_ms": null, "open": true, "last_ms": T0 + HOUR, "lat": 1.2, "lon": 103.9});
    EventRow {
        id: "00000000000000e2".to_owned(),
        kind: "ais_gap".to_owned(),
        start_ms: T0 + HOUR,
        end_ms: None,
        open: true,
        mmsis: vec![CARGO],
        zones: vec![],
        json: detail.to_string(),
    }
}

/// Two hours of positions for three vessels (one position a minute), one suspect position of
/// the tanker, a rename, two events and a zone around the tanker's track, committed as run 1.
pub fn fixture(tag: &str) -> Scratch {
    let dir = tmpdir(tag);
    let mut s = Store::create_or_open(&dir).unwrap();
    s.set_run(Some(1));
    let mut rows = Vec::new();
    for k in 0..120 {
        let t = T0 + k * MIN;
        let f = k as f64 / 1000.0;
        rows.push(row(t, TANKER, 15.0 + f, 117.0 + f, Some(0)));
        rows.push(row(t, COASTGUARD, 15.01 + f, 117.0 + f, Some(3)));
        rows.push(row(t, CARGO, 1.2, 103.8 + f, Some(0)));
    }
    rows.push(row(T0 + 30 * MIN + 1, TANKER, 0.0, 0.0, None));
    for r in &rows {
        s.append(r.clone());
    }
    s.flush().unwrap();
    drop(s);
    let last = |m: u32| {
        rows.iter()
            .filter(|r| r.mmsi == m && r.segment.is_some())
            .max_by_key(|r| r.time_ms)
            .unwrap()
            .clone()
    };
    let vessels = [
        vessel(TANKER, "HAI YANG 8", 80, "CN", &last(TANKER)),
        vessel(COASTGUARD, "HAIJING 3901", 55, "CN", &last(COASTGUARD)),
        vessel(CARGO, "STRAITS TRADER", 70, "SG", &last(CARGO)),
    ];
    let history = [
        IdentityRow {
            mmsi: TANKER,
            time_ms: T0,
            field: "name".to_owned(),
            old: None,
            new: "OCEAN GRACE".to_owned(),
        },
        IdentityRow {
            mmsi: TANKER,
            time_ms: T0 + HOUR,
            field: "name".to_owned(),
            old: Some("OCEAN GRACE".to_owned()),
            new: "HAI YANG 8".to_owned(),
        },
    ];
    let events = [escort_event(), gap_event()];
    let mut reg = RegistryDb::open(&dir.join("registry.sqlite")).unwrap();
    reg.commit_run(&RunCommit {
        run: 1,
        finished_ms: T0 + 2 * HOUR,
        positions: rows.len() as u64,
        vessels: &vessels,
        history: &history,
        inputs: &[],
        segmenters: &[],
        late_sources: &[],
        sources: &[],
        vessel_sources: &[],
        identity_sources: &[],
        events: &events,
        withdrawn: &[],
        engine_state: None,
    })
    .unwrap();
    let zone = detect::zones::Zone::circle(
        "Scarborough Shoal",
        detect::world::ZoneKind::AreaOfInterest,
        None,
        15.05,
        117.05,
        30_000.0,
    )
    .unwrap();
    std::fs::write(
        dir.join(serve::STORE_ZONES_FILE),
        detect::zones::import::to_geojson(&[zone]),
    )
    .unwrap();
    dir
}

pub fn state(dir: &Path) -> serve::AppState {
    serve::AppState::new(serve::Picture::new(dir), dir)
}

/// GETs `uri` from the router: status and body as JSON (`Value::Null` when not JSON).
pub async fn get(state: &serve::AppState, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = get_raw(state, uri).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// GETs `uri`: status, content type, body.
pub async fn get_raw(state: &serve::AppState, uri: &str) -> (StatusCode, String, Vec<u8>) {
    request(state, "GET", uri).await
}

pub async fn request(
    state: &serve::AppState,
    method: &str,
    uri: &str,
) -> (StatusCode, String, Vec<u8>) {
    let res = serve::router(state.clone())
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = if ct.starts_with("text/event-stream") {
        Vec::new()
    } else {
        axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec()
    };
    (status, ct, body)
}

/// A position for `Picture::on_position`.
pub fn live(mmsi: u32, t: i64, lat: f64, lon: f64) -> serve::LivePosition {
    serve::LivePosition {
        mmsi,
        time_ms: t,
        lat,
        lon,
        sog_knots: Some(11.2),
        cog_deg: Some(46.1),
        heading_deg: Some(45.0),
        nav_status: Some(0),
        class: Some('A'),
        source: "test".to_owned(),
    }
}

pub use query::kml::Element as XmlEl;

/// Every element of an XML document in order; fails the test on malformed XML.
pub fn xml_elements(xml: &[u8]) -> Vec<XmlEl> {
    query::kml::read_elements(xml).expect("well-formed XML, every element closed")
}

/// A KML document's placemarks: (name, lon, lat) of each placemark with a point.
pub fn kml_placemarks(body: &[u8]) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    let mut name = String::new();
    for e in xml_elements(body) {
        match e.name.as_str() {
            "name" => name = e.text,
            "coordinates" => {
                let c: Vec<f64> = e
                    .text
                    .trim()
                    .split(',')
                    .map(|x| x.parse().unwrap())
                    .collect();
                out.push((std::mem::take(&mut name), c[0], c[1]));
            }
            _ => {}
        }
    }
    out
}

/// A CoT stream (one event a line, each with its XML declaration): the `event` and `point`
/// elements of each, as (uid, type, lat, lon), and each event's attributes.
pub fn cot_events(body: &[u8]) -> Vec<XmlEl> {
    let text = std::str::from_utf8(body).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        assert!(
            line.starts_with("<?xml"),
            "each event has its declaration: {line}"
        );
        let els = xml_elements(line.as_bytes());
        let point = els.iter().find(|e| e.name == "point").expect("a point");
        let (lat, lon) = (point.attr("lat").to_owned(), point.attr("lon").to_owned());
        let mut ev = els
            .into_iter()
            .find(|e| e.name == "event")
            .expect("an event");
        ev.attrs.push(("lat".into(), lat));
        ev.attrs.push(("lon".into(), lon));
        out.push(ev);
    }
    out
}
