//! The API through the router (`tower::ServiceExt::oneshot`, no socket) over a store built in
//! the test (issue 20).

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};

fn mmsis(fc: &Value) -> Vec<u64> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["mmsi"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn health_gives_the_data_clock_of_the_store() {
    let dir = fixture("health");
    let s = state(&dir);
    let (st, h) = get(&s, "/api/health").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["vessels"], 3);
    assert_eq!(h["data_time"], "2026-01-15T01:59:00.000Z");
    assert_eq!(h["data_from"], "2026-01-15T00:00:00.000Z");
    assert!(h["lag_ms"].is_null());
    s.picture
        .on_position(live(TANKER, T0 + 3 * HOUR, 15.3, 117.3));
    let (_, h) = get(&s, "/api/health").await;
    assert_eq!(h["data_time"], "2026-01-15T03:00:00.000Z");
    assert!(h["lag_ms"].as_i64().unwrap() >= 0);
}

#[tokio::test]
async fn vessels_now_come_from_the_live_picture_with_filters() {
    let dir = fixture("vessels");
    let s = state(&dir);
    let (st, fc) = get(&s, "/api/vessels").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(fc["type"], "FeatureCollection");
    assert_eq!(mmsis(&fc), [TANKER as u64, COASTGUARD as u64, CARGO as u64]);
    let f = &fc["features"][0];
    assert_eq!(f["geometry"]["type"], "Point");
    let c = f["geometry"]["coordinates"].as_array().unwrap();
    assert!(
        (c[0].as_f64().unwrap() - 117.119).abs() < 1e-9,
        "[lon, lat]: {c:?}"
    );
    let p = &f["properties"];
    assert_eq!(p["name"], "HAI YANG 8");
    assert_eq!(p["ship_category"], "tanker");
    assert_eq!(p["flag"], "CN");
    assert_eq!(p["class"], "A");
    assert_eq!(p["sog_knots"], 10.5);
    assert_eq!(p["time"], "2026-01-15T01:59:00.000Z");
    // A live position moves the vessel.
    s.picture
        .on_position(live(CARGO, T0 + 3 * HOUR, 1.25, 103.95));
    let (_, fc) = get(&s, "/api/vessels?flag=sg").await;
    assert_eq!(mmsis(&fc), [CARGO as u64]);
    assert_eq!(
        fc["features"][0]["properties"]["time"],
        "2026-01-15T03:00:00.000Z"
    );
    for (q, want) in [
        ("bbox=100,0,110,5", vec![CARGO]),
        ("ship_type=tanker", vec![TANKER]),
        ("ship_type=law_enforcement,cargo", vec![COASTGUARD, CARGO]),
        ("ship_type=80-89", vec![TANKER]),
        ("zone=Scarborough%20Shoal", vec![TANKER, COASTGUARD]),
        ("limit=1", vec![TANKER]),
        ("bbox=170,-10,-170,10", vec![]),
    ] {
        let (st, fc) = get(&s, &format!("/api/vessels?{q}")).await;
        assert_eq!(st, StatusCode::OK, "{q}");
        let want: Vec<u64> = want.into_iter().map(u64::from).collect();
        assert_eq!(mmsis(&fc), want, "{q}");
    }
}

#[tokio::test]
async fn vessels_as_kml_and_cursor_on_target_with_the_same_filters() {
    let dir = fixture("vessels-kml");
    let s = state(&dir);
    let (st, ct, body) = get_raw(&s, "/api/vessels?format=kml&zone=Scarborough%20Shoal").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, "application/vnd.google-earth.kml+xml");
    let marks = kml_placemarks(&body);
    let names: Vec<&str> = marks.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].contains(&TANKER.to_string()), "{names:?}");
    assert!(names[0].starts_with("HAI YANG 8 ("), "{names:?}");
    assert!(names[1].contains(&COASTGUARD.to_string()), "{names:?}");
    assert!((marks[0].1 - 117.119).abs() < 1e-9, "lon first: {marks:?}");

    let (st, ct, body) = get_raw(&s, "/api/vessels?format=cot&ship_type=tanker&stale=2m").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, "application/xml");
    let evs = cot_events(&body);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].attr("uid"), format!("tidewatch.ais.{TANKER}"));
    assert_eq!(
        evs[0].attr("type"),
        "a-u-S-X-M-O",
        "a tanker's surface symbol"
    );
    assert_eq!(evs[0].attr("lon"), "117.119");
    let t = |k: &str| query::parse_time(evs[0].attr(k)).unwrap();
    assert_eq!(
        t("stale") - t("time"),
        120_000,
        "stale 2 min after the event"
    );
    assert_eq!(t("start"), T0 + 2 * HOUR - MIN, "the position's time");

    for (q, code) in [
        ("format=shapefile", "bad_format"),
        ("stale=5m", "bad_request"),
        ("format=kml&stale=5m", "bad_request"),
        ("format=cot&stale=0s", "bad_request"),
        ("format=cot&stale=2d", "bad_request"),
    ] {
        let (st, v) = get(&s, &format!("/api/vessels?{q}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {v}");
        assert_eq!(v["error"], code, "{q}: {v}");
    }
}

#[tokio::test]
async fn vessels_at_a_past_time_come_from_the_store() {
    let dir = fixture("at");
    let s = state(&dir);
    let (st, fc) = get(&s, "/api/vessels?at=2026-01-15T00:30:00Z&max_age=10m").await;
    assert_eq!(st, StatusCode::OK, "{fc}");
    assert_eq!(mmsis(&fc), [TANKER as u64, COASTGUARD as u64, CARGO as u64]);
    let t = &fc["features"][0]["properties"];
    assert_eq!(t["time"], "2026-01-15T00:30:00.000Z");
    // The name it had then (renamed at 01:00), not the suspect position at 00:30:00.001.
    assert_eq!(t["name"], "OCEAN GRACE");
    let c = fc["features"][0]["geometry"]["coordinates"]
        .as_array()
        .unwrap();
    assert!((c[1].as_f64().unwrap() - 15.03).abs() < 1e-9);
    // Relative to the data time (01:59): `now-1h` is 00:59.
    let (_, fc) = get(&s, "/api/vessels?at=now-1h&flag=SG").await;
    assert_eq!(
        fc["features"][0]["properties"]["time"],
        "2026-01-15T00:59:00.000Z"
    );
    let (_, fc) = get(&s, "/api/vessels?at=2026-01-14").await;
    assert_eq!(mmsis(&fc), Vec::<u64>::new());
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_reason() {
    let dir = fixture("bad");
    let s = state(&dir);
    for (uri, code) in [
        ("/api/vessels?bbox=1,2,3", "bad_bbox"),
        ("/api/vessels?bbox=0,95,10,96", "bad_bbox"),
        ("/api/vessels?bbox=a,b,c,d", "bad_bbox"),
        ("/api/vessels?ship_type=boat", "bad_filter"),
        ("/api/vessels?flag=China", "bad_filter"),
        ("/api/vessels?zone=Atlantis", "unknown_zone"),
        ("/api/events?zone=Atlantis", "unknown_zone"),
        ("/api/vessels?at=yesterday", "bad_time"),
        ("/api/vessels?at=now&max_age=-5m", "bad_time"),
        ("/api/vessels?at=now&max_age=400d", "bad_time"),
        ("/api/vessels?max_age=1h", "bad_request"),
        ("/api/vessels?limit=0", "bad_request"),
        ("/api/vessels?limit=100001", "bad_request"),
        ("/api/vessels?colour=red", "unknown_parameter"),
        ("/api/vessels?bbox=1,2,3,4&bbox=1,2,3,4", "bad_request"),
        ("/api/vessels/abc", "bad_mmsi"),
        ("/api/vessels/1234567890", "bad_mmsi"),
        ("/api/vessels/-5/track", "bad_mmsi"),
        (
            "/api/vessels/412000001/track?from=2020-01-01&to=2026-01-01",
            "bad_range",
        ),
        (
            "/api/vessels/412000001/track?from=2026-01-02&to=2026-01-01",
            "bad_range",
        ),
        (
            "/api/vessels/412000001/track?from=99999999999999999",
            "bad_time",
        ),
        ("/api/vessels/412000001/track?to=soon", "bad_time"),
        ("/api/events?type=party", "bad_filter"),
        ("/api/events?open=maybe", "bad_request"),
        ("/api/events?limit=5001", "bad_request"),
        ("/api/events?mmsi=x", "bad_mmsi"),
        ("/api/search", "bad_request"),
        ("/api/stats/presence", "bad_request"),
        ("/api/stats/presence?zone=Nowhere", "unknown_zone"),
        (
            "/api/stats/presence?zone=Scarborough%20Shoal&from=2000-01-01",
            "bad_range",
        ),
        ("/api/stream?bbox=0,0", "bad_bbox"),
        ("/api/stream?types=party", "bad_filter"),
        ("/api/stream?format=xml", "bad_format"),
        ("/api/stream?format=nmea&types=escort", "bad_request"),
        ("/api/stream?format=cot&types=escort", "bad_request"),
        ("/api/stream?format=nmea&stale=5m", "bad_request"),
        ("/api/stream?format=cot&stale=2d", "bad_request"),
        ("/api/zones?x=1", "unknown_parameter"),
    ] {
        let (st, ct, body) = get_raw(&s, uri).await;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert!(ct.starts_with("application/json"), "{uri}: {ct}");
        assert_eq!(v["error"], code, "{uri}: {v}");
        let m = v["message"].as_str().unwrap();
        assert!(
            !m.is_empty() && !m.contains(dir.to_str().unwrap()),
            "{uri}: {m}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let dir = fixture("routes");
    let s = state(&dir);
    let (st, v) = get(&s, "/api/nothing").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "not_found");
    // MMSI 0 is an MMSI (units never set up send it; vessel lists show it): not in this
    // store, so not found, where a malformed number is a bad request.
    let (st, v) = get(&s, "/api/vessels/0").await;
    assert_eq!(
        (st, &v["error"]),
        (StatusCode::NOT_FOUND, &json!("not_found"))
    );
    let (st, _, body) = request(&s, "POST", "/api/vessels").await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "method_not_allowed");
    // No web map built in: `/` and `/assets/*` are 404.
    let (st, v) = get(&s, "/").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "not_found");
    let (st, _) = get(&s, "/assets/app.js").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

fn fake_assets(path: &str) -> Option<(&'static [u8], &'static str)> {
    match path {
        "index.html" => Some((b"<html>map</html>", "text/html; charset=utf-8")),
        "assets/app.js" => Some((b"console.log(1)", "text/javascript")),
        _ => None,
    }
}

#[tokio::test]
async fn the_web_map_is_served_through_the_assets_hook() {
    let dir = fixture("assets");
    let mut s = state(&dir);
    s.assets = Some(fake_assets);
    let (st, ct, body) = get_raw(&s, "/").await;
    assert_eq!(
        (st, ct.as_str(), &body[..]),
        (
            StatusCode::OK,
            "text/html; charset=utf-8",
            &b"<html>map</html>"[..]
        )
    );
    let (st, ct, _) = get_raw(&s, "/assets/app.js").await;
    assert_eq!((st, ct.as_str()), (StatusCode::OK, "text/javascript"));
    let (st, _, _) = get_raw(&s, "/assets/missing.js").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_vessel_with_identity_history_and_events() {
    let dir = fixture("vessel");
    let s = state(&dir);
    let (st, v) = get(&s, &format!("/api/vessels/{TANKER}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["mmsi"], TANKER);
    assert_eq!(v["name"], "HAI YANG 8");
    assert_eq!(v["ship_category"], "tanker");
    assert_eq!(v["length_m"], 180.0);
    assert_eq!(v["beam_m"], 30.0);
    assert_eq!(v["position"]["time"], "2026-01-15T01:59:00.000Z");
    let h = v["identity_history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["new"], "HAI YANG 8");
    assert_eq!(h[0]["old"], "OCEAN GRACE");
    let e = v["events"].as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["type"], "escort");
    assert_eq!(
        e[0]["summary"],
        "escort: 412000002 with 412000001, 2.0 h in Scarborough Shoal"
    );
    assert_eq!(e[0]["detail"]["confidence"], 0.9);
    // Known only live: a vessel the store never saw.
    s.picture
        .on_position(live(244_000_001, T0 + 3 * HOUR, 52.0, 4.0));
    let (st, v) = get(&s, "/api/vessels/244000001").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["flag"], "NL");
    assert_eq!(v["identity_history"], serde_json::json!([]));
    let (st, v) = get(&s, "/api/vessels/999999999").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "not_found");
    assert_eq!(v["message"], "MMSI 999999999 is not known");
}

#[tokio::test]
async fn a_track_has_its_stored_segments_then_the_live_positions_not_yet_stored() {
    let dir = fixture("track");
    let s = state(&dir);
    let (st, fc) = get(&s, &format!("/api/vessels/{TANKER}/track")).await;
    assert_eq!(st, StatusCode::OK, "{fc}");
    let f = fc["features"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{fc}");
    assert_eq!(f[0]["geometry"]["type"], "LineString");
    // 120 positions; the suspect one (segment none) is left out.
    assert_eq!(f[0]["properties"]["points"], 120);
    assert_eq!(f[0]["properties"]["segment"], 0);
    assert_eq!(f[0]["properties"]["from"], "2026-01-15T00:00:00.000Z");
    assert_eq!(
        f[0]["geometry"]["coordinates"].as_array().unwrap().len(),
        120
    );
    // Live positions: one already stored (01:59), two after it.
    for (k, t) in [T0 + 119 * MIN, T0 + 121 * MIN, T0 + 122 * MIN]
        .into_iter()
        .enumerate()
    {
        s.picture
            .on_position(live(TANKER, t, 15.2 + k as f64 / 100.0, 117.2));
    }
    let (_, fc) = get(&s, &format!("/api/vessels/{TANKER}/track")).await;
    let f = fc["features"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{fc}");
    assert_eq!(f[1]["properties"]["segment"], Value::Null);
    assert_eq!(f[1]["properties"]["points"], 2);
    assert_eq!(f[1]["properties"]["to"], "2026-01-15T02:02:00.000Z");
    // A range: the first half hour only.
    let (_, fc) = get(
        &s,
        &format!("/api/vessels/{TANKER}/track?from=2026-01-15T00:00:00Z&to=2026-01-15T00:30:00Z"),
    )
    .await;
    assert_eq!(fc["features"][0]["properties"]["points"], 30);
    assert_eq!(fc["features"].as_array().unwrap().len(), 1);
    let (st, _) = get(&s, "/api/vessels/999999999/track").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn events_newest_first_with_filters_and_live_updates() {
    let dir = fixture("events");
    let s = state(&dir);
    let (st, fc) = get(&s, "/api/events").await;
    assert_eq!(st, StatusCode::OK);
    let ids: Vec<&str> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["00000000000000e2", "00000000000000e1"]);
    let gap = &fc["features"][0];
    assert_eq!(
        gap["geometry"]["coordinates"],
        serde_json::json!([103.9, 1.2])
    );
    assert_eq!(gap["properties"]["start"], "2026-01-15T01:00:00.000Z");
    assert_eq!(gap["properties"]["end"], Value::Null);
    assert_eq!(gap["properties"]["open"], true);
    for (q, n) in [
        ("type=escort", 1),
        ("mmsi=412000001", 1),
        ("zone=Scarborough%20Shoal", 1),
        ("open=true", 1),
        ("from=2026-01-15T02:30:00Z", 1),
        ("to=2026-01-15T00:30:00Z", 1),
        ("limit=1", 1),
        ("type=swarm", 0),
    ] {
        let (st, fc) = get(&s, &format!("/api/events?{q}")).await;
        assert_eq!(st, StatusCode::OK, "{q}");
        assert_eq!(fc["features"].as_array().unwrap().len(), n, "{q}: {fc}");
    }
    // The pipeline closes the gap: the picture's copy is the newer one.
    let mut closed = gap_event();
    closed.open = false;
    closed.end_ms = Some(T0 + 3 * HOUR);
    s.picture.on_events(&[closed]);
    let (_, fc) = get(&s, "/api/events?type=ais_gap").await;
    assert_eq!(fc["features"][0]["properties"]["open"], false);
    assert_eq!(
        fc["features"][0]["properties"]["end"],
        "2026-01-15T03:00:00.000Z"
    );
}

#[tokio::test]
async fn search_finds_names_call_signs_mmsis_and_imos() {
    let dir = fixture("search");
    let s = state(&dir);
    for (q, want) in [
        ("hai", vec![TANKER, COASTGUARD]),
        ("trader", vec![CARGO]),
        ("4120", vec![TANKER, COASTGUARD]),
        ("9000002", vec![COASTGUARD]),
        ("c63", vec![CARGO]),
        ("zzz", vec![]),
    ] {
        let (st, v) = get(&s, &format!("/api/search?q={q}")).await;
        assert_eq!(st, StatusCode::OK);
        let got: Vec<u64> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["mmsi"].as_u64().unwrap())
            .collect();
        let want: Vec<u64> = want.into_iter().map(u64::from).collect();
        assert_eq!(got, want, "{q}");
    }
    let (_, v) = get(&s, "/api/search?q=hai&limit=1").await;
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    assert_eq!(v["results"][0]["ship_category"], "tanker");
}

#[tokio::test]
async fn zones_and_presence_statistics() {
    let dir = fixture("zones");
    let s = state(&dir);
    let (st, ct, body) = get_raw(&s, "/api/zones").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ct, "application/geo+json");
    let z: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(z["features"][0]["properties"]["name"], "Scarborough Shoal");
    assert_eq!(z["features"][0]["properties"]["kind"], "area_of_interest");
    let (st, p) = get(&s, "/api/stats/presence?zone=Scarborough%20Shoal").await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!(p["zone"], "Scarborough Shoal");
    assert_eq!(p["vessels"], 2);
    assert_eq!(p["vessel_days"], 2);
    assert_eq!(p["days"]["2026-01-15"], 2);
    assert_eq!(p["by_flag"]["CN"]["vessels"], 2);
    assert_eq!(p["by_ship_type"]["80"]["vessel_days"], 1);
    let (_, p) = get(
        &s,
        "/api/stats/presence?zone=Scarborough%20Shoal&from=2026-01-16",
    )
    .await;
    assert_eq!(p["vessels"], 0);
}

#[tokio::test]
async fn metrics_count_messages_rejects_events_and_clients() {
    let dir = fixture("metrics");
    let s = state(&dir);
    s.picture
        .on_position(live(TANKER, T0 + 3 * HOUR, 15.3, 117.3));
    s.picture
        .on_position(live(TANKER, T0 + 3 * HOUR, 95.0, 117.3));
    s.picture.on_static(serve::LiveStatic {
        mmsi: TANKER,
        time_ms: T0 + 3 * HOUR,
        ..serve::LiveStatic::default()
    });
    s.picture.on_reject("bad_checksum", 7);
    s.picture
        .on_events(&[escort_event(), gap_event(), gap_event()]);
    let (st, ct, body) = get_raw(&s, "/metrics").await;
    assert_eq!(st, StatusCode::OK);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = String::from_utf8(body).unwrap();
    for line in [
        "tidewatch_messages_total 2",
        "tidewatch_positions_total 1",
        "tidewatch_static_reports_total 1",
        "tidewatch_rejects_total{reason=\"bad_checksum\"} 7",
        "tidewatch_rejects_total{reason=\"invalid_position\"} 1",
        "tidewatch_events_total{type=\"ais_gap\"} 2",
        "tidewatch_events_total{type=\"escort\"} 1",
        "tidewatch_stream_clients 0",
        "tidewatch_vessels 3",
        "tidewatch_data_time_seconds 1768446000",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
}

#[tokio::test]
async fn a_directory_without_a_store_serves_the_live_picture_and_says_the_store_is_missing() {
    let dir = tmpdir("empty");
    std::fs::create_dir_all(&dir).unwrap();
    let s = state(&dir);
    let (_, h) = get(&s, "/api/health").await;
    assert_eq!(h["vessels"], 0);
    assert_eq!(h["data_time"], Value::Null);
    s.picture.on_position(live(TANKER, T0, 15.0, 117.0));
    let (st, fc) = get(&s, "/api/vessels").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(mmsis(&fc), [TANKER as u64]);
    let (st, fc) = get(&s, &format!("/api/vessels/{TANKER}/track")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(fc["features"][0]["geometry"]["type"], "Point");
    let (st, v) = get(&s, "/api/vessels?at=now-1h").await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["error"], "store_unavailable");
    assert!(!v["message"]
        .as_str()
        .unwrap()
        .contains(dir.to_str().unwrap()));
    let (st, fc) = get(&s, "/api/events").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(fc["features"], serde_json::json!([]));
}
