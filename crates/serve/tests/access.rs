//! Partner sharing in the server (issue 21): authentication, every read path through the
//! principal's view, the audit of every read, the abuse limits, TLS.
//!
//! The store: three sources with different labels (`pub` PUBLIC, `rad` REL TO IND, USA, `sat`
//! USA ONLY), three vessels (one heard by `pub`, one by `rad`, one by `pub` for its first half
//! hour and by `sat` after, with a different name from each), three events (one over `pub`
//! rows only, one involving the `rad` vessel, one over the `sat` rows) and three principals
//! (FRA, IND, USA), built through the store crate's API and `access::Access`.

mod common;

use common::Scratch;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use serde_json::{json, Value};
use store::{
    EventRow, IdentitySourceRow, PositionRow, RegistryDb, RunCommit, Store, VesselRow,
    VesselSourceRow,
};
use tower::ServiceExt;

const T0: i64 = 1_768_435_200_000; // 2026-01-15T00:00:00Z
const MIN: i64 = 60_000;
const V_PUB: u32 = 412_000_001;
const V_RAD: u32 = 412_000_002;
const V_MIX: u32 = 412_000_003;
const PUB: &str = "pub/s1/AI";
const RAD: &str = "rad/r1/AI";
const SAT: &str = "sat/AI";
const E1: &str = "00000000000000e1";
const E2: &str = "00000000000000e2";
const E3: &str = "00000000000000e3";

/// A fresh, empty scratch directory named `tw-share-TAG-...`, removed when dropped.
fn tmpdir(tag: &str) -> Scratch {
    common::scratch(&format!("tw-share-{tag}-"))
}

/// The rows: (mmsi, minute, source, lat, lon).
fn rows() -> Vec<PositionRow> {
    let mut out = Vec::new();
    let mut row = |mmsi: u32, k: i64, src: &str, lat: f64, lon: f64| {
        out.push(PositionRow {
            time_ms: T0 + k * MIN,
            mmsi,
            lat,
            lon,
            sog_knots: Some(8.0),
            cog_deg: Some(10.0),
            heading_deg: Some(10),
            nav_status: Some(0),
            msg_type: 1,
            segment: Some(0),
            flags: 0,
            sources: vec![src.to_owned()],
        });
    };
    for k in 0..=60 {
        let f = k as f64 / 1000.0;
        row(V_PUB, k, PUB, 15.0 + f, 117.0);
        row(V_RAD, k, RAD, 15.1 + f, 117.1);
        row(V_MIX, k, if k <= 30 { PUB } else { SAT }, 15.2 + f, 117.2);
    }
    out
}

fn event(id: &str, kind: &str, mmsis: &[u32], start_min: i64, end_min: i64) -> EventRow {
    let detail = json!({
        "id": id, "type": kind, "start_ms": T0 + start_min * MIN, "end_ms": T0 + end_min * MIN,
        "open": false, "last_ms": T0 + end_min * MIN, "lat": 15.1, "lon": 117.1,
        "vessels": mmsis.iter().map(|m| json!({"mmsi": m, "name": null})).collect::<Vec<_>>(),
        "zones": [], "confidence": 0.9, "evidence": [], "sources": [PUB, RAD, SAT],
    });
    EventRow {
        id: id.to_owned(),
        kind: kind.to_owned(),
        start_ms: T0 + start_min * MIN,
        end_ms: Some(T0 + end_min * MIN),
        open: false,
        mmsis: mmsis.to_vec(),
        zones: vec![],
        json: detail.to_string(),
    }
}

fn events() -> Vec<EventRow> {
    vec![
        event(E1, "encounter", &[V_PUB, V_MIX], 15, 25),
        event(E2, "encounter", &[V_PUB, V_RAD], 15, 25),
        event(E3, "loitering", &[V_MIX], 45, 55),
    ]
}

/// The sources of each vessel's rows.
fn sources_of(mmsi: u32) -> Vec<&'static str> {
    match mmsi {
        V_PUB => vec![PUB],
        V_RAD => vec![RAD],
        _ => vec![PUB, SAT],
    }
}

fn store(tag: &str) -> Scratch {
    let dir = tmpdir(tag);
    let mut s = Store::create_or_open(&dir).unwrap();
    s.set_run(Some(1));
    let rows = rows();
    for r in &rows {
        s.append(r.clone());
    }
    s.flush().unwrap();
    drop(s);
    let mut vessels = Vec::new();
    let mut vs = Vec::new();
    for m in [V_PUB, V_RAD, V_MIX] {
        let mine: Vec<&PositionRow> = rows.iter().filter(|r| r.mmsi == m).collect();
        let last = mine.iter().max_by_key(|r| r.time_ms).unwrap();
        vessels.push(VesselRow {
            mmsi: m,
            class: Some("A".to_owned()),
            flag: Some("CN".to_owned()),
            name: Some(
                match m {
                    V_PUB => "PUBLIC ONE",
                    V_RAD => "RADAR ONLY",
                    _ => "MIX SECRET",
                }
                .to_owned(),
            ),
            callsign: None,
            imo: None,
            ship_type: None,
            length_m: None,
            beam_m: None,
            destination: None,
            draught_m: None,
            first_seen_ms: Some(T0),
            last_seen_ms: Some(last.time_ms),
            reports: mine.len() as u64,
            position_time_ms: Some(last.time_ms),
            lat: Some(last.lat),
            lon: Some(last.lon),
            sog_knots: last.sog_knots,
            cog_deg: last.cog_deg,
            ship_type_text: None,
            heading_deg: last.heading_deg,
            nav_status: last.nav_status,
        });
        for src in sources_of(m) {
            let of: Vec<&&PositionRow> = mine.iter().filter(|r| r.sources[0] == src).collect();
            let l = of.iter().max_by_key(|r| r.time_ms).unwrap();
            vs.push(VesselSourceRow {
                mmsi: m,
                source: src.to_owned(),
                first_ms: of.iter().map(|r| r.time_ms).min().unwrap(),
                last_ms: l.time_ms,
                positions: of.len() as u64,
                lat: l.lat,
                lon: l.lon,
                sog_knots: l.sog_knots,
                cog_deg: l.cog_deg,
                heading_deg: l.heading_deg,
                nav_status: l.nav_status,
            });
        }
    }
    let ident = |mmsi: u32, value: &str, source: &str, last_min: i64| IdentitySourceRow {
        mmsi,
        field: "name".to_owned(),
        value: value.to_owned(),
        source: source.to_owned(),
        first_ms: T0,
        last_ms: T0 + last_min * MIN,
    };
    let ids = [
        ident(V_PUB, "PUBLIC ONE", PUB, 60),
        ident(V_RAD, "RADAR ONLY", RAD, 60),
        ident(V_MIX, "MIX PUBLIC", PUB, 30),
        ident(V_MIX, "MIX SECRET", SAT, 60),
    ];
    let sources = [PUB.to_owned(), RAD.to_owned(), SAT.to_owned()];
    let evs = events();
    let mut reg = RegistryDb::open(&dir.join("registry.sqlite")).unwrap();
    reg.commit_run(&RunCommit {
        run: 1,
        finished_ms: T0 + 61 * MIN,
        positions: rows.len() as u64,
        vessels: &vessels,
        history: &[],
        inputs: &[],
        segmenters: &[],
        late_sources: &[],
        sources: &sources,
        vessel_sources: &vs,
        identity_sources: &ids,
        events: &evs,
        withdrawn: &[],
        engine_state: None,
    })
    .unwrap();
    let zone = detect::zones::Zone::circle(
        "All",
        detect::world::ZoneKind::AreaOfInterest,
        None,
        15.1,
        117.1,
        100_000.0,
    )
    .unwrap();
    std::fs::write(
        dir.join(serve::STORE_ZONES_FILE),
        detect::zones::import::to_geojson(&[zone]),
    )
    .unwrap();
    dir
}

fn now_ms() -> i64 {
    1_800_000_000_000
}

fn label(dir: &Path, pattern: &str, l: &str) {
    let a = access::Access::open(dir).unwrap();
    a.set_label(pattern, &access::Releasability::parse(l).unwrap(), now_ms())
        .unwrap();
}

fn token(dir: &Path, name: &str, partner: &str) -> String {
    token_of_kind(dir, name, partner, None)
}

/// A token of a principal of `kind` (`None`: a new principal's default, a user).
fn token_of_kind(
    dir: &Path,
    name: &str,
    partner: &str,
    kind: Option<access::PrincipalKind>,
) -> String {
    let a = access::Access::open(dir).unwrap();
    let (_, secret) = a
        .create_token(
            &access::NewToken {
                name: name.to_owned(),
                partner: access::label::Name::parse(partner).unwrap(),
                groups: BTreeSet::new(),
                kind,
            },
            now_ms(),
        )
        .unwrap();
    secret.expose().to_owned()
}

/// The labelled store with its three principals' tokens (FRA, IND, USA).
fn shared(tag: &str) -> (Scratch, [String; 3]) {
    let dir = store(tag);
    label(&dir, "pub", "PUBLIC");
    label(&dir, "rad", "REL TO IND, USA");
    label(&dir, "sat", "USA ONLY");
    let t = [
        token(&dir, "fra-analyst", "FRA"),
        token(&dir, "ind-analyst", "IND"),
        token(&dir, "usa-analyst", "USA"),
    ];
    (dir, t)
}

fn state(dir: &Path) -> serve::AppState {
    serve::AppState::new(serve::Picture::new(dir), dir)
}

async fn call(s: &serve::AppState, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (st, _, body) = call_raw(s, uri, token).await;
    (st, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn call_raw(
    s: &serve::AppState,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut b = Request::builder().uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let res = serve::router(s.clone())
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let st = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 64 << 20)
        .await
        .unwrap()
        .to_vec();
    (st, headers, body)
}

fn mmsis(fc: &Value) -> BTreeSet<u64> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["mmsi"].as_u64().unwrap())
        .collect()
}

fn ids(fc: &Value) -> BTreeSet<String> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn set<T: Ord + Clone>(xs: &[T]) -> BTreeSet<T> {
    xs.iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_path_gives_each_principal_exactly_what_the_labels_allow() {
    let (dir, [fra, ind, usa]) = shared("matrix");
    let s = state(&dir);
    let who = [("FRA", &fra), ("IND", &ind), ("USA", &usa)];

    // Vessel lists: a vessel through its visible sources only.
    let want_vessels = [
        set(&[V_PUB as u64, V_MIX as u64]),
        set(&[V_PUB as u64, V_RAD as u64, V_MIX as u64]),
        set(&[V_PUB as u64, V_RAD as u64, V_MIX as u64]),
    ];
    for ((p, t), want) in who.iter().zip(&want_vessels) {
        let (st, fc) = call(&s, "/api/vessels", Some(t)).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert_eq!(&mmsis(&fc), want, "{p}: /api/vessels");
        // The same vessels as KML (for Google Earth) and as Cursor on Target (for TAK).
        let (st, _, kml) = call_raw(&s, "/api/vessels?format=kml", Some(t)).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        let in_kml: BTreeSet<u64> = common::kml_placemarks(&kml)
            .iter()
            .map(|(name, ..)| {
                let m = name
                    .rsplit('(')
                    .next()
                    .unwrap_or(name)
                    .trim_end_matches(')');
                m.parse().unwrap()
            })
            .collect();
        assert_eq!(&in_kml, want, "{p}: /api/vessels?format=kml");
        let (st, _, cot) = call_raw(&s, "/api/vessels?format=cot", Some(t)).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        let in_cot: BTreeSet<u64> = common::cot_events(&cot)
            .iter()
            .map(|e| {
                e.attr("uid")
                    .trim_start_matches("tidewatch.ais.")
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(&in_cot, want, "{p}: /api/vessels?format=cot");
        if *p == "FRA" {
            let text = String::from_utf8(kml).unwrap() + &String::from_utf8(cot).unwrap();
            assert!(
                text.contains("MIX PUBLIC") && !text.contains("MIX SECRET"),
                "{text}"
            );
        }
    }
    // The mixed vessel: FRA gets the public source's position and name, USA the satellite's.
    let mix = |fc: &Value| {
        fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["mmsi"] == V_MIX)
            .cloned()
            .unwrap()
    };
    let (_, fc) = call(&s, "/api/vessels", Some(&fra)).await;
    let m = mix(&fc);
    assert_eq!(m["properties"]["name"], "MIX PUBLIC");
    assert_eq!(m["properties"]["time"], "2026-01-15T00:30:00.000Z");
    let (_, fc) = call(&s, "/api/vessels", Some(&usa)).await;
    let m = mix(&fc);
    assert_eq!(m["properties"]["name"], "MIX SECRET");
    assert_eq!(m["properties"]["time"], "2026-01-15T01:00:00.000Z");

    // Search: what FRA may not see is not found.
    let (_, r) = call(&s, "/api/search?q=SECRET", Some(&fra)).await;
    assert_eq!(r["results"].as_array().unwrap().len(), 0);
    let (_, r) = call(&s, "/api/search?q=RADAR", Some(&fra)).await;
    assert_eq!(r["results"].as_array().unwrap().len(), 0);
    let (_, r) = call(&s, "/api/search?q=SECRET", Some(&usa)).await;
    assert_eq!(r["results"][0]["mmsi"], V_MIX);
    let (_, r) = call(&s, "/api/search?q=MIX", Some(&fra)).await;
    assert_eq!(r["results"][0]["name"], "MIX PUBLIC");

    // Vessel details and tracks: a vessel FRA may not see is unknown to it.
    let (st, _) = call(&s, &format!("/api/vessels/{V_RAD}"), Some(&fra)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = call(&s, &format!("/api/vessels/{V_RAD}"), Some(&ind)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["name"], "RADAR ONLY");
    let (_, v) = call(&s, &format!("/api/vessels/{V_MIX}"), Some(&fra)).await;
    assert_eq!(v["name"], "MIX PUBLIC");
    let event_ids: BTreeSet<String> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        event_ids,
        set(&[E1.to_owned()]),
        "FRA: the mixed vessel's events"
    );
    let (st, _) = call(
        &s,
        &format!("/api/vessels/{V_RAD}/track?from=2026-01-15&to=2026-01-16"),
        Some(&fra),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let points = |fc: &Value| -> u64 {
        fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["points"].as_u64().unwrap())
            .sum()
    };
    let track = format!("/api/vessels/{V_MIX}/track?from=2026-01-15&to=2026-01-16");
    let (_, fc) = call(&s, &track, Some(&fra)).await;
    assert_eq!(points(&fc), 31, "FRA: the public half of the track");
    let (_, fc) = call(&s, &track, Some(&usa)).await;
    assert_eq!(points(&fc), 61);

    // Events: hidden unless every vessel is visible over the window; sources redacted.
    let want_events = [
        set(&[E1.to_owned()]),
        set(&[E1.to_owned(), E2.to_owned()]),
        set(&[E1.to_owned(), E2.to_owned(), E3.to_owned()]),
    ];
    for ((p, t), want) in who.iter().zip(&want_events) {
        let (st, fc) = call(&s, "/api/events?from=2026-01-15", Some(t)).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert_eq!(&ids(&fc), want, "{p}: /api/events");
    }
    let (_, fc) = call(&s, "/api/events?from=2026-01-15", Some(&fra)).await;
    assert_eq!(
        fc["features"][0]["properties"]["detail"]["sources"],
        json!([PUB]),
        "FRA sees the public source only"
    );

    // Presence: counted from visible rows only.
    for ((p, t), want) in who.iter().zip([2, 3, 3]) {
        let (st, v) = call(
            &s,
            "/api/stats/presence?zone=All&from=2026-01-15&to=2026-01-16",
            Some(t),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert_eq!(v["vessels"], want, "{p}: presence");
    }

    // Exports: the visible rows only, each with its visible sources only.
    let want_rows = [
        // FRA: the public vessel, the public half of the mixed one.
        (61 + 31, set(&[PUB])),
        (61 + 61 + 31, set(&[PUB, RAD])),
        (61 * 3, set(&[PUB, RAD, SAT])),
    ];
    for ((p, t), (n, srcs)) in who.iter().zip(&want_rows) {
        for format in ["csv", "jsonl"] {
            let (st, _, body) = call_raw(
                &s,
                &format!("/api/export/positions?from=2026-01-15&to=2026-01-16&format={format}"),
                Some(t),
            )
            .await;
            assert_eq!(st, StatusCode::OK, "{p}");
            let text = String::from_utf8(body).unwrap();
            let lines: Vec<&str> = text.lines().skip(usize::from(format == "csv")).collect();
            assert_eq!(lines.len(), *n, "{p}: export {format}");
            let seen: BTreeSet<&str> = [PUB, RAD, SAT]
                .into_iter()
                .filter(|src| text.contains(src))
                .collect();
            assert_eq!(
                &seen,
                &srcs.iter().copied().collect(),
                "{p}: export {format} sources"
            );
        }
    }

    // Zones are configuration: everyone sees them. Health hides the vessel count.
    let (st, z) = call(&s, "/api/zones", Some(&fra)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(z["features"].as_array().unwrap().len(), 1);
    let (_, h) = call(&s, "/api/health", Some(&fra)).await;
    assert_eq!(h["auth"], "token");
    assert_eq!(h["vessels"], Value::Null);

    // The live picture: a live position carries its source; FRA sees the public one only.
    let live = |mmsi: u32, k: i64, src: &str| serve::LivePosition {
        mmsi,
        time_ms: T0 + k * MIN,
        lat: 15.5,
        lon: 117.5,
        sog_knots: None,
        cog_deg: None,
        heading_deg: None,
        nav_status: None,
        class: Some('A'),
        source: src.to_owned(),
    };
    s.picture.on_position(live(V_RAD, 70, RAD));
    s.picture.on_position(live(V_MIX, 70, SAT));
    let (_, fc) = call(&s, "/api/vessels", Some(&fra)).await;
    assert_eq!(mmsis(&fc), want_vessels[0], "FRA: live picture");
    assert_eq!(mix(&fc)["properties"]["time"], "2026-01-15T00:30:00.000Z");
    let (_, fc) = call(&s, "/api/vessels", Some(&usa)).await;
    assert_eq!(mix(&fc)["properties"]["time"], "2026-01-15T01:10:00.000Z");
    let (_, fc) = call(&s, &track, Some(&fra)).await;
    assert_eq!(points(&fc), 31, "FRA: no live satellite point");
    // Health's data times are those of what the principal sees: the live radar and satellite
    // positions at 01:10 move USA's and IND's data time, not FRA's.
    let (_, h) = call(&s, "/api/health", Some(&fra)).await;
    assert_eq!(h["data_time"], "2026-01-15T01:00:00.000Z");
    assert_eq!(h["data_from"], "2026-01-15T00:00:00.000Z");
    assert_eq!(h["lag_ms"], Value::Null);
    let (_, h) = call(&s, "/api/health", Some(&ind)).await;
    assert_eq!(h["data_time"], "2026-01-15T01:10:00.000Z");
}

/// A live position of `mmsi` from `src`, `min` minutes after T0, near Scarborough Shoal.
fn live(mmsi: u32, src: &str, min: i64, sog_knots: Option<f32>) -> serve::LivePosition {
    serve::LivePosition {
        mmsi,
        time_ms: T0 + min * MIN,
        lat: 15.5,
        lon: 117.5,
        sog_knots,
        cog_deg: None,
        heading_deg: None,
        nav_status: None,
        class: Some('A'),
        source: src.to_owned(),
    }
}

/// Reads SSE frames until `until` is seen or 5 s pass.
async fn frames(
    s: &serve::AppState,
    uri: &str,
    until: &str,
    publish: impl FnOnce(),
) -> Vec<String> {
    frames_as(s, uri, None, until, publish).await
}

/// [`frames`] with `Authorization: Bearer TOKEN`.
async fn frames_as(
    s: &serve::AppState,
    uri: &str,
    token: Option<&str>,
    until: &str,
    publish: impl FnOnce(),
) -> Vec<String> {
    let mut b = Request::builder().uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let res = serve::router(s.clone())
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body().into_data_stream();
    // The first frame (`retry:`) says the stream is open.
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .unwrap();
    assert!(first.is_some());
    publish();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !text.contains(until) {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(b))) => text.push_str(&String::from_utf8_lossy(&b)),
            _ => break,
        }
    }
    text.split("\n\n")
        .filter(|f| f.starts_with("event:"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_links_stream_carries_each_released_position_with_its_source_and_label() {
    let (dir, [fra, _, _]) = shared("link-stream");
    let a = access::Access::open(&dir).unwrap();
    let (_, secret) = a
        .create_token(
            &access::NewToken {
                name: "ind-link".to_owned(),
                partner: access::label::Name::parse("IND").unwrap(),
                groups: BTreeSet::new(),
                kind: Some(access::PrincipalKind::System),
            },
            now_ms(),
        )
        .unwrap();
    let link = secret.expose().to_owned();
    let s = state(&dir);
    let p = s.picture.clone();
    let publish = move || {
        for (k, (mmsi, src)) in [(V_RAD, RAD), (V_MIX, SAT), (V_PUB, PUB)]
            .into_iter()
            .enumerate()
        {
            p.on_position(live(mmsi, src, 70 + k as i64, Some(3.5)));
        }
        p.on_events(&events());
    };
    let got = frames_as(&s, "/api/link/stream", Some(&link), PUB, publish).await;
    let data: Vec<Value> = got
        .iter()
        .map(|f| {
            assert!(f.starts_with("event: position\ndata: "), "{f}");
            serde_json::from_str(f.split_once("data: ").unwrap().1).unwrap()
        })
        .collect();
    // IND: the radar's and the public receiver's, with their labels; never the satellite's,
    // and no events.
    assert_eq!(data.len(), 2, "{got:?}");
    assert_eq!(data[0]["source"], RAD);
    assert_eq!(data[0]["label"], "REL TO IND, USA");
    assert_eq!(data[0]["position"]["mmsi"], V_RAD);
    assert_eq!(data[1]["source"], PUB);
    assert_eq!(data[1]["label"], "PUBLIC");
    assert_eq!(data[1]["position"]["sog_knots"], 3.5);
    // A user is no link.
    let (st, _) = call(&s, "/api/link/stream", Some(&fra)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_narrowed_while_a_stream_is_open_applies_to_what_follows() {
    // IND sees the radar ("REL TO IND, USA") and the public receiver, not the satellite, when
    // it connects; the radar is then narrowed to USA ONLY (by `tidewatch source label`, or by
    // a partner link following its originator). What comes after must follow the new label,
    // on the user's stream and on a link's.
    for (path, kind) in [
        ("/api/stream", None),
        ("/api/link/stream", Some(access::PrincipalKind::System)),
    ] {
        let (dir, _) = shared(&format!("narrowed{}", kind.is_some()));
        let a = access::Access::open(&dir).unwrap();
        let (_, secret) = a
            .create_token(
                &access::NewToken {
                    name: "ind-reader".to_owned(),
                    partner: access::label::Name::parse("IND").unwrap(),
                    groups: BTreeSet::new(),
                    kind,
                },
                now_ms(),
            )
            .unwrap();
        let s = state(&dir);
        let res = serve::router(s.clone())
            .oneshot(
                Request::builder()
                    .uri(path)
                    .header("authorization", format!("Bearer {}", secret.expose()))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let mut body = res.into_body().into_data_stream();
        let mut text = String::new();
        let mut read_until = async |text: &mut String, want: &str| {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while !text.contains(want) {
                match tokio::time::timeout_at(deadline, body.next()).await {
                    Ok(Some(Ok(b))) => text.push_str(&String::from_utf8_lossy(&b)),
                    _ => break,
                }
            }
        };
        read_until(&mut text, "retry:").await;
        s.picture.on_position(live(V_RAD, RAD, 70, Some(3.5)));
        // The server's flush tick, which this router alone does not run.
        s.picture.flush();
        read_until(&mut text, "T01:10:00").await;
        assert!(
            text.contains(&format!("\"mmsi\":{V_RAD}")),
            "{path}: {text}"
        );
        label(&dir, "rad", "USA ONLY");
        s.picture.on_position(live(V_RAD, RAD, 71, Some(3.5)));
        s.picture.on_position(live(V_PUB, PUB, 70, Some(3.5)));
        s.picture.flush();
        let seen = text.len();
        read_until(&mut text, &format!("\"mmsi\":{V_PUB}")).await;
        let after = &text[seen..];
        assert!(
            after.contains(&format!("\"mmsi\":{V_PUB}")),
            "{path}: {after}"
        );
        assert!(
            !after.contains(&format!("\"mmsi\":{V_RAD}")),
            "{path}: the radar's position after it was narrowed: {after}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_filters_positions_events_and_alerts_per_client() {
    let (dir, [fra, _ind, usa]) = shared("stream");
    let s = state(&dir);
    let publish = |s: &serve::AppState| {
        let p = s.picture.clone();
        move || {
            p.on_position(live(V_RAD, RAD, 70, None));
            p.on_position(live(V_MIX, SAT, 70, None));
            p.on_position(live(V_PUB, PUB, 70, None));
            let ev = events();
            p.on_events(&[ev[1].clone(), ev[2].clone()]);
            p.on_alert("all", Some(("start", "2026-01-15T00:00:00.000Z")), &ev[1]);
            p.on_events(&[ev[0].clone()]);
        }
    };
    let got = frames(
        &s,
        &format!("/api/stream?access_token={fra}"),
        E1,
        publish(&s),
    )
    .await;
    let positions: Vec<&String> = got
        .iter()
        .filter(|f| f.starts_with("event: position"))
        .collect();
    assert_eq!(positions.len(), 1, "{got:?}");
    assert!(positions[0].contains(&format!("\"mmsi\":{V_PUB}")));
    assert!(
        got.iter().all(|f| !f.contains(E2) && !f.contains(E3)),
        "{got:?}"
    );
    assert!(got
        .iter()
        .any(|f| f.starts_with("event: event") && f.contains(E1)));
    assert!(
        !got.iter().any(|f| f.starts_with("event: alert")),
        "the alert is on E2"
    );
    let got = frames(
        &s,
        &format!("/api/stream?access_token={usa}"),
        E1,
        publish(&s),
    )
    .await;
    for m in [V_RAD, V_MIX, V_PUB] {
        assert!(
            got.iter().any(|f| f.contains(&format!("\"mmsi\":{m}"))),
            "USA: {m} {got:?}"
        );
    }
    for e in [E1, E2, E3] {
        assert!(got.iter().any(|f| f.contains(e)), "USA: {e}");
    }
    assert!(got.iter().any(|f| f.starts_with("event: alert")));
    // Rebuilt for the client's view, an alert keeps the stage that fired it and when.
    assert!(
        got.iter().any(|f| f.starts_with("event: alert")
            && f.contains("\"stage\":\"start\"")
            && f.contains("\"fired_at\":\"2026-01-15T00:00:00.000Z\"")),
        "{got:?}"
    );
    // The token never reaches the audit log.
    let log = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert!(!log.contains(&fra) && !log.contains(&usa));
    assert!(log.contains("/api/stream"));
}

#[tokio::test]
async fn a_dark_vessel_event_is_seen_through_its_radar_source_label() {
    let (dir, [fra, _ind, usa]) = shared("dark");
    // Two satellite radar detections stored as `tidewatch sar --write` stores them: one from
    // a public provider, one from the USA-only satellite source.
    let dark = |id: &str, source: &str| {
        let json = json!({
            "id": id, "type": "dark_vessel", "start_ms": T0, "end_ms": T0, "open": false,
            "last_ms": T0, "vessels": [], "lat": 15.2, "lon": 117.2, "zones": [],
            "confidence": null, "evidence": [], "sources": [source], "detection_id": id,
        });
        EventRow {
            id: id.to_owned(),
            kind: "dark_vessel".to_owned(),
            start_ms: T0,
            end_ms: Some(T0),
            open: false,
            mmsis: vec![],
            zones: vec![],
            json: json.to_string(),
        }
    };
    let mut reg = RegistryDb::open(&dir.join("registry.sqlite")).unwrap();
    assert_eq!(
        reg.add_events(
            &[dark("00000000000000d1", PUB), dark("00000000000000d2", SAT)],
            &[]
        )
        .unwrap(),
        (2, 0)
    );
    drop(reg);
    let s = state(&dir);
    for (who, token, want) in [
        ("FRA", &fra, vec!["00000000000000d1"]),
        ("USA", &usa, vec!["00000000000000d1", "00000000000000d2"]),
    ] {
        let (st, fc) = call(&s, "/api/events?type=dark_vessel", Some(token)).await;
        assert_eq!(st, StatusCode::OK, "{who}: {fc}");
        let got: BTreeSet<String> = ids(&fc);
        let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(got, want, "{who}");
        let summaries: BTreeSet<&str> = fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["summary"].as_str())
            .collect();
        assert!(
            summaries.contains("dark_vessel: no AIS (detection 00000000000000d1)"),
            "{who}: {summaries:?}"
        );
    }
}

/// Position reports in an NMEA text, decoded by Tidewatch's decoder: (type, MMSI, name of a
/// static report); fails on any rejected line.
fn nmea_messages(text: &[u8]) -> Vec<(u8, u32, String)> {
    let mut out = Vec::new();
    let mut d = ais::Decoder::new(ais::DecoderConfig::default());
    let mut sink = |m: &ais::Message<'_>, _: &ais::Meta| {
        let name = match m {
            ais::Message::StaticVoyage(s) => s.shipname.to_string(),
            _ => String::new(),
        };
        out.push((m.header().msg_type, m.header().mmsi.0, name));
    };
    d.feed(text, &mut sink);
    let stats = d.finish(&mut sink);
    assert_eq!(
        stats.rejected_total(),
        0,
        "{}",
        String::from_utf8_lossy(text)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nmea_stream_re_encodes_what_the_caller_may_see_and_audits_it() {
    let (dir, [fra, _ind, usa]) = shared("nmea");
    let s = state(&dir);
    for (who, token, want) in [
        ("FRA", &fra, vec![V_PUB]),
        ("USA", &usa, vec![V_RAD, V_MIX, V_PUB]),
    ] {
        let res = serve::router(s.clone())
            .oneshot(
                Request::builder()
                    .uri("/api/stream?format=nmea")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let mut body = res.into_body().into_data_stream();
        s.picture.on_static(serve::LiveStatic {
            mmsi: V_PUB,
            time_ms: T0 + 69 * MIN,
            name: Some("PUBLIC NAME".to_owned()),
            ship_type: Some(70),
            source: PUB.to_owned(),
            ..serve::LiveStatic::default()
        });
        s.picture.on_position(live(V_RAD, RAD, 70, Some(3.5)));
        s.picture.on_position(live(V_MIX, SAT, 70, Some(3.5)));
        let ev = events();
        s.picture.on_events(&ev);
        s.picture.on_alert("all", None, &ev[1]);
        s.picture.on_position(live(V_PUB, PUB, 70, Some(3.5)));
        s.picture.flush();
        let mut text = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !nmea_messages(&text)
            .iter()
            .any(|m| m.0 == 1 && m.1 == V_PUB)
        {
            match tokio::time::timeout_at(deadline, body.next()).await {
                Ok(Some(Ok(b))) => text.extend_from_slice(&b),
                _ => break,
            }
        }
        drop(body);
        let got = nmea_messages(&text);
        let positions: Vec<u32> = got.iter().filter(|m| m.0 == 1).map(|m| m.1).collect();
        assert_eq!(positions, want, "{who}: {}", String::from_utf8_lossy(&text));
        assert!(
            got.iter()
                .any(|m| m.0 == 5 && m.1 == V_PUB && m.2 == "PUBLIC NAME"),
            "{who}: the name before the position: {got:?}"
        );
        let text = String::from_utf8(text).unwrap();
        assert!(
            !text.contains("event:") && !text.contains(E1),
            "{who}: {text}"
        );
    }
    // The same as Cursor on Target for TAK: FRA gets the public vessel only.
    let res = serve::router(s.clone())
        .oneshot(
            Request::builder()
                .uri("/api/stream?format=cot&stale=5m")
                .header("authorization", format!("Bearer {fra}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/xml");
    let mut body = res.into_body().into_data_stream();
    s.picture.on_position(live(V_RAD, RAD, 75, Some(3.5)));
    s.picture.on_position(live(V_PUB, PUB, 75, Some(3.5)));
    s.picture.flush();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !text.contains(&format!("tidewatch.ais.{V_PUB}")) {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(b))) => text.push_str(&String::from_utf8_lossy(&b)),
            _ => break,
        }
    }
    drop(body);
    let uids: Vec<String> = common::cot_events(text.as_bytes())
        .iter()
        .map(|e| e.attr("uid").to_owned())
        .collect();
    assert_eq!(uids, [format!("tidewatch.ais.{V_PUB}")], "{text}");
    // The closing audit entries: FRA was withheld the radar's and the satellite's positions,
    // not the events it did not ask for.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let closed = loop {
        let log = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
        let closed: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["endpoint"] == "/api/stream:closed")
            .collect();
        if closed.len() == 3 || std::time::Instant::now() > deadline {
            break closed;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(closed.len(), 3, "{closed:?}");
    let fra_closed = closed
        .iter()
        .find(|r| r["partner"] == "FRA" && r["params"]["format"] == "nmea")
        .unwrap();
    assert_eq!(fra_closed["params"]["format"], "nmea");
    assert_eq!(fra_closed["withheld"], 2, "{fra_closed}");
    assert_eq!(fra_closed["returned"], 1, "{fra_closed}");
}

#[tokio::test]
async fn no_token_a_bad_token_or_a_revoked_one_is_401_a_missing_right_403() {
    let (dir, [fra, _, _]) = shared("auth");
    let s = state(&dir);
    let (st, h, body) = call_raw(&s, "/api/vessels", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(h.get("www-authenticate").is_some());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "unauthorized");
    assert!(
        v["message"].as_str().unwrap().contains("needs a token"),
        "{v}"
    );
    let bad = format!("tw_{}", "0".repeat(64));
    let (st, refused) = call(&s, "/api/vessels", Some(&bad)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // A token came and was refused: said so, not why.
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("not accepted"),
        "{refused}"
    );
    assert_eq!(call(&s, "/metrics", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call(&s, "/api/health", Some("garbage")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // `access_token` works for the stream only.
    assert_eq!(
        call(&s, &format!("/api/vessels?access_token={fra}"), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // The metrics count every source: FRA may not read them.
    let (st, v) = call(&s, "/metrics", Some(&fra)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(v["error"], "forbidden");
    // The web map's files need no token (this state serves none: 404, not 401).
    assert_eq!(call(&s, "/", None).await.0, StatusCode::NOT_FOUND);
    // Revoked: refused at the next request.
    let a = access::Access::open(&dir).unwrap();
    let id = a
        .tokens()
        .unwrap()
        .into_iter()
        .find(|t| t.principal.name == "fra-analyst")
        .unwrap()
        .id;
    a.revoke_token(id, now_ms()).unwrap();
    let (st, revoked) = call(&s, "/api/vessels", Some(&fra)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(
        revoked["message"], refused["message"],
        "revoked reads as unknown"
    );
}

#[tokio::test]
async fn a_principal_who_sees_every_source_reads_the_metrics() {
    let (dir, [fra, _, usa]) = shared("metrics");
    // Unlabelled sources become USA's: USA then sees every source.
    access::Access::open(&dir)
        .unwrap()
        .set_default_label(&access::Releasability::parse("USA ONLY").unwrap())
        .unwrap();
    let s = state(&dir);
    assert_eq!(call(&s, "/metrics", Some(&usa)).await.0, StatusCode::OK);
    assert_eq!(
        call(&s, "/metrics", Some(&fra)).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, h) = call(&s, "/api/health", Some(&usa)).await;
    assert_eq!(h["vessels"], 3);
}

#[tokio::test]
async fn a_monitor_reads_the_metrics_that_no_partner_may_and_no_data() {
    // The default WITHHELD: no principal sees every source, so no partner reads the metrics.
    let (dir, [_, _, usa]) = shared("monitor");
    let monitor = token_of_kind(
        &dir,
        "prometheus",
        "IND",
        Some(access::PrincipalKind::Monitor),
    );
    let s = state(&dir);
    assert_eq!(
        call(&s, "/metrics", Some(&usa)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(call(&s, "/metrics", Some(&monitor)).await.0, StatusCode::OK);
    let (st, h) = call(&s, "/api/health", Some(&monitor)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["vessels"], 3);
    for uri in [
        "/api/vessels",
        "/api/events",
        "/api/vessels/1/track",
        "/api/zones",
    ] {
        let (st, body) = call(&s, uri, Some(&monitor)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{uri}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("monitor"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_store_without_principals_is_open_and_says_so() {
    let dir = store("open");
    let s = state(&dir);
    let (st, h) = call(&s, "/api/health", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["auth"], "open");
    assert!(h["warning"].as_str().unwrap().contains("open mode"));
    let (_, fc) = call(&s, "/api/vessels", None).await;
    assert_eq!(mmsis(&fc).len(), 3, "open mode: everything");
    // `auth = "required"` refuses even without principals.
    drop(s);
    let cfg = serve::AccessConfig {
        auth: serve::AuthSetting::Required,
        ..serve::AccessConfig::default()
    };
    let s = serve::AppState::with_access(serve::Picture::new(&dir), &dir, cfg).unwrap();
    assert_eq!(
        call(&s, "/api/health", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_principal_past_its_rate_gets_429_with_retry_after_and_long_requests_are_refused() {
    let (dir, [fra, ind, _]) = shared("rate");
    let cfg = serve::AccessConfig {
        rate_per_s: 0.5,
        burst: 3.0,
        ..serve::AccessConfig::default()
    };
    let s = serve::AppState::with_access(serve::Picture::new(&dir), &dir, cfg).unwrap();
    for _ in 0..3 {
        assert_eq!(call(&s, "/api/zones", Some(&fra)).await.0, StatusCode::OK);
    }
    let (st, h, body) = call_raw(&s, "/api/zones", Some(&fra)).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "rate_limited");
    // Another principal has its own bucket.
    assert_eq!(call(&s, "/api/zones", Some(&ind)).await.0, StatusCode::OK);
    let long = format!("/api/search?q={}", "a".repeat(5000));
    assert_eq!(
        call(&s, &long, Some(&ind)).await.0,
        StatusCode::URI_TOO_LONG
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_is_audited_with_what_it_returned_and_withheld_and_the_chain_verifies() {
    let (dir, [fra, ind, _]) = shared("audit");
    let s = state(&dir);
    call(&s, "/api/vessels?limit=50", Some(&fra)).await;
    call(&s, "/api/events?from=2026-01-15", Some(&ind)).await;
    call(&s, &format!("/api/vessels/{V_RAD}"), Some(&fra)).await;
    call(&s, "/metrics", Some(&fra)).await;
    // An area with no vessel: nothing was held back from this answer.
    call(&s, "/api/vessels?bbox=0,0,1,1", Some(&fra)).await;
    call(&s, "/api/vessels", None).await; // 401: not audited, counted
    let path = dir.join("audit.jsonl");
    let (entries, _) = access::audit::read(&path, &access::AuditFilter::default()).unwrap();
    let got: Vec<(String, String, u64, u64, Option<u16>)> = entries
        .iter()
        .map(|e| {
            (
                e.record.principal.clone(),
                e.record.endpoint.clone(),
                e.record.returned,
                e.record.withheld,
                e.record.status,
            )
        })
        .collect();
    // A refused read is on the record with its status, not as an empty answer.
    assert_eq!(
        got,
        [
            (
                "fra-analyst".to_owned(),
                "/api/vessels".to_owned(),
                2,
                1,
                None
            ),
            (
                "ind-analyst".to_owned(),
                "/api/events".to_owned(),
                2,
                1,
                None
            ),
            (
                "fra-analyst".to_owned(),
                format!("/api/vessels/{V_RAD}"),
                0,
                0,
                Some(404)
            ),
            (
                "fra-analyst".to_owned(),
                "/metrics".to_owned(),
                0,
                0,
                Some(403)
            ),
            (
                "fra-analyst".to_owned(),
                "/api/vessels".to_owned(),
                0,
                0,
                None
            ),
        ]
    );
    assert_eq!(entries[0].record.params, json!({"limit": "50"}));
    assert_eq!(entries[0].record.partner, "FRA");
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        !log.contains(&fra) && !log.contains(&ind),
        "no token in the log"
    );
    assert!(access::audit::verify(&path, None).unwrap().ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_the_api_on_a_real_socket() {
    let (dir, [fra, _, _]) = shared("tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let config = serve::tls_config(&cert, &key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve::serve_tls(
        listener,
        config,
        state(&dir),
        async move {
            let _ = stop_rx.await;
        },
    ));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    #[allow(deprecated)] // ring, as the server.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let get = |path: &'static str, token: Option<String>| {
        let connector = connector.clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
            tls.write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
            let mut out = Vec::new();
            let _ = tls.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let ok = get("/api/health", Some(fra.clone())).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"status\":\"ok\""));
    let refused = get("/api/health", None).await;
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    // A plain-text client gets no answer from the TLS port.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
        assert!(!String::from_utf8_lossy(&out).contains("\"status\""));
    }
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}

/// The model of the property test: a marking releases to a partner when it is `PUBLIC` or
/// names the partner (as owner or in its list); `WITHHELD` releases to no one.
fn model_sees(mark: &str, partner: &str) -> bool {
    match mark {
        "PUBLIC" => true,
        "WITHHELD" => false,
        m => m.split([' ', ',']).any(|w| w == partner),
    }
}

#[test]
fn what_a_principal_sees_of_vessels_and_events_equals_a_simple_model() {
    use proptest::prelude::*;
    const MARKS: [&str; 6] = [
        "PUBLIC",
        "WITHHELD",
        "FRA ONLY",
        "REL TO IND, USA",
        "REL TO GBR, FRA",
        "USA ONLY",
    ];
    const PARTNERS: [&str; 4] = ["FRA", "IND", "USA", "GBR"];
    let dir = store("prop");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = state(&dir);
    let rows = rows();
    let n = std::cell::Cell::new(0u32);
    let cfg = ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(cfg, |(marks in proptest::collection::vec(0..MARKS.len(), 4), p in 0..PARTNERS.len())| {
        let a = access::Access::open(&dir).unwrap();
        let patterns = ["pub", "rad", "sat"];
        for (pat, &m) in patterns.iter().zip(&marks) {
            a.set_label(pat, &access::Releasability::parse(MARKS[m]).unwrap(), now_ms()).unwrap();
        }
        a.set_default_label(&access::Releasability::parse(MARKS[marks[3]]).unwrap()).unwrap();
        n.set(n.get() + 1);
        let partner = PARTNERS[p];
        let t = token(&dir, &format!("prop-{}", n.get()), partner);
        let sees = |source: &str| {
            let i = patterns.iter().position(|p| source.starts_with(p)).unwrap();
            model_sees(MARKS[marks[i]], partner)
        };
        // Vessels: any row through a visible source.
        let want: BTreeSet<u64> = rows
            .iter()
            .filter(|r| r.sources.iter().any(|s| sees(s)))
            .map(|r| r.mmsi as u64)
            .collect();
        let (st, fc) = rt.block_on(call(&s, "/api/vessels", Some(&t)));
        prop_assert_eq!(st, StatusCode::OK);
        prop_assert_eq!(mmsis(&fc), want);
        // Events: every vessel has rows in [start - 10 min, end], all of them visible.
        let want: BTreeSet<String> = events()
            .iter()
            .filter(|e| {
                let (from, to) = (e.start_ms - 10 * MIN, e.end_ms.unwrap());
                e.mmsis.iter().all(|&m| {
                    let inside: Vec<&PositionRow> = rows
                        .iter()
                        .filter(|r| r.mmsi == m && r.time_ms >= from && r.time_ms <= to)
                        .collect();
                    !inside.is_empty() && inside.iter().all(|r| r.sources.iter().any(|s| sees(s)))
                })
            })
            .map(|e| e.id.clone())
            .collect();
        let (st, fc) = rt.block_on(call(&s, "/api/events?from=2026-01-15", Some(&t)));
        prop_assert_eq!(st, StatusCode::OK);
        prop_assert_eq!(ids(&fc), want);
    });
}

#[tokio::test]
async fn a_partner_link_gets_the_rows_released_to_it_with_their_originators_labels() {
    let (dir, [fra, _, _]) = shared("link");
    let link = token_of_kind(&dir, "ind-link", "IND", Some(access::PrincipalKind::System));
    let s = state(&dir);
    let (st, v) = call(&s, "/api/link/positions?since=2026-01-15", Some(&link)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let rows = v["positions"].as_array().unwrap();
    // IND: the public rows (61 + 31) and the radar's (61); never the satellite's.
    assert_eq!(rows.len(), 153);
    for r in rows {
        let src = &r["sources"][0];
        match src["source"].as_str().unwrap() {
            PUB => assert_eq!(src["label"], "PUBLIC"),
            RAD => assert_eq!(src["label"], "REL TO IND, USA"),
            other => panic!("{other} released to IND"),
        }
    }
    for c in v["claims"].as_array().unwrap() {
        let src = c["source"]["source"].as_str().unwrap();
        assert!(
            src == PUB || src == RAD,
            "claim of {src} released to IND: {c}"
        );
    }
    assert_eq!(v["more"], false);
    let end = v["next"].as_str().unwrap().to_owned();
    // Pages: 100, then the other 53, then nothing until more is committed.
    let (_, v) = call(
        &s,
        "/api/link/positions?since=2026-01-15&limit=100",
        Some(&link),
    )
    .await;
    assert_eq!(v["positions"].as_array().unwrap().len(), 100);
    assert_eq!(v["more"], true);
    let next = v["next"].as_str().unwrap().to_owned();
    let (_, v) = call(
        &s,
        &format!("/api/link/positions?since=2026-01-15&limit=100&cursor={next}"),
        Some(&link),
    )
    .await;
    assert_eq!(v["positions"].as_array().unwrap().len(), 53);
    assert_eq!(v["more"], false);
    assert_eq!(v["next"], end.as_str());
    let (_, v) = call(
        &s,
        &format!("/api/link/positions?cursor={end}"),
        Some(&link),
    )
    .await;
    assert_eq!(v["positions"].as_array().unwrap().len(), 0);
    let (st, _) = call(&s, "/api/link/positions?cursor=x", Some(&link)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // A user is no link.
    let (st, v) = call(&s, "/api/link/positions", Some(&fra)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
}
