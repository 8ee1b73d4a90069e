use super::*;
use store::{RegistryDb, RunCommit, Store, VesselRow};

const T0: i64 = 1_768_435_200_000; // 2026-01-15T00:00:00Z
const MIN: i64 = 60_000;
const A: u32 = 412_000_001;
const B: u32 = 412_000_002;
const C: u32 = 412_000_003;
const D: u32 = 412_000_004;
const F: u32 = 412_000_005;

fn row(t: i64, mmsi: u32, lat: f64, lon: f64, sog: f32, cog: f32, placed: bool) -> PositionRow {
    PositionRow {
        time_ms: t,
        mmsi,
        lat,
        lon,
        sog_knots: Some(sog),
        cog_deg: Some(cog),
        heading_deg: None,
        nav_status: Some(0),
        msg_type: 1,
        segment: placed.then_some(0),
        flags: if placed { 0 } else { 8 },
        sources: vec!["test".to_owned()],
    }
}

/// Metres north or east as degrees at latitude 15.
fn north(m: f64) -> f64 {
    m / detect::geom::M_PER_DEG
}
fn east(m: f64) -> f64 {
    m / (detect::geom::M_PER_DEG * 15f64.to_radians().cos())
}

/// A fresh scratch directory named `PREFIX...`, removed when dropped (pass or fail).
fn scratch(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir().unwrap()
}

/// A: east at 10 kn along 15 N, a fix every 10 min for 2 h. B: one fix at T0, north at 12 kn.
/// C and D: moored 200 m apart. F: only a flagged (suspect) position.
/// The store's directory, removed when dropped.
fn store(tag: &str) -> tempfile::TempDir {
    let tmp = scratch(&format!("tw-query-sar-{tag}-"));
    let dir = tmp.path();
    let mut s = Store::create_or_open(dir).unwrap();
    s.set_run(Some(1));
    let mut rows = Vec::new();
    let a_step = 10.0 * 1852.0 / 6.0; // 10 kn for 10 minutes, metres
    for k in 0..=12 {
        rows.push(row(
            T0 + k * 10 * MIN,
            A,
            15.0,
            117.0 + east(a_step * k as f64),
            10.0,
            90.0,
            true,
        ));
    }
    rows.push(row(T0, B, 15.5, 117.0, 12.0, 0.0, true));
    for k in 0..=12 {
        let t = T0 + k * 10 * MIN;
        rows.push(row(t, C, 15.2, 117.5, 0.0, 0.0, true));
        rows.push(row(t, D, 15.2, 117.5 + east(200.0), 0.0, 0.0, true));
    }
    rows.push(row(T0 + 60 * MIN, F, 14.5, 116.5, 0.0, 0.0, false));
    for r in &rows {
        s.append(r.clone());
    }
    s.flush().unwrap();
    drop(s);
    let vessel = |mmsi: u32, name: &str| VesselRow {
        mmsi,
        name: Some(name.to_owned()),
        ship_type: Some(70),
        ..VesselRow::default()
    };
    let vessels = [
        vessel(A, "ALPHA"),
        vessel(B, "BRAVO"),
        vessel(C, "CHARLIE"),
        vessel(D, "DELTA"),
    ];
    let mut reg = RegistryDb::open(&dir.join("registry.sqlite")).unwrap();
    reg.commit_run(&RunCommit {
        run: 1,
        finished_ms: T0 + 2 * 3_600_000,
        positions: rows.len() as u64,
        vessels: &vessels,
        history: &[],
        inputs: &[],
        segmenters: &[],
        late_sources: &[],
        sources: &[],
        vessel_sources: &[],
        identity_sources: &[],
        events: &[],
        withdrawn: &[],
        engine_state: None,
    })
    .unwrap();
    tmp
}

fn det(id: &str, t: i64, lat: f64, lon: f64) -> Detection {
    Detection {
        id: id.to_owned(),
        time_ms: t,
        lat,
        lon,
        length_m: None,
        score: None,
    }
}

#[test]
fn detections_are_matched_to_the_vessel_reckoned_there_and_the_rest_are_dark() {
    let dir = store("match");
    let r = Reader::open(dir.path()).unwrap();
    let a_15min = 117.0 + east(10.0 * 1852.0 / 4.0); // A a quarter of an hour in
    let b_20min = 15.5 + north(12.0 * 1852.0 / 3.0); // B reckoned 20 min on
    let dets = [
        det("a", T0 + 15 * MIN, 15.0 + north(100.0), a_15min),
        det("b", T0 + 20 * MIN, b_20min, 117.0),
        det("b-left-behind", T0 + 20 * MIN, 15.5, 117.0),
        det("c", T0 + 60 * MIN, 15.2 + north(30.0), 117.5),
        det("d", T0 + 60 * MIN, 15.2 + north(30.0), 117.5 + east(200.0)),
        det("open-sea", T0 + 60 * MIN, 10.0, 110.0),
        det("a-too-late", T0 + 4 * 60 * MIN, 15.0, a_15min),
        det("suspect-only", T0 + 60 * MIN, 14.5, 116.5),
    ];
    let got = r.match_sar(&dets, &MatchConfig::default()).unwrap();
    let who: Vec<(&str, Option<u32>)> = got
        .iter()
        .map(|g| (g.detection.id.as_str(), g.matched.as_ref().map(|m| m.mmsi)))
        .collect();
    assert_eq!(
        who,
        [
            ("a", Some(A)),
            ("b", Some(B)),
            ("b-left-behind", None),
            ("c", Some(C)),
            ("d", Some(D)),
            ("open-sea", None),
            ("a-too-late", None),
            ("suspect-only", None),
        ]
    );
    let a = got[0].matched.as_ref().unwrap();
    assert_eq!(a.how, "interpolated");
    assert!((a.distance_m - 100.0).abs() < 5.0, "{a:?}");
    assert_eq!(a.fix_gap_s, 300.0);
    assert_eq!(a.name.as_deref(), Some("ALPHA"));
    assert_eq!(a.flag.as_deref(), Some("CN"), "the flag from the MMSI");
    let b = got[1].matched.as_ref().unwrap();
    assert_eq!(b.how, "reckoned");
    assert!(b.distance_m < 20.0, "{b:?}");
    // C and D were both within reach of both detections.
    assert_eq!(got[3].other_candidates, 1);
    // A narrower gate loses the reckoned vessel (20 min at 10 m a minute on 100 m).
    let tight = MatchConfig {
        base_m: 50.0,
        drift_m_per_min: 0.0,
        ..MatchConfig::default()
    };
    let got = r.match_sar(&dets[..2], &tight).unwrap();
    assert!(got[0].matched.is_none() && got[1].matched.is_some());
}

#[test]
fn one_vessel_is_one_detection_of_a_scene_but_may_be_seen_again_in_the_next() {
    let dir = store("scene");
    let r = Reader::open(dir.path()).unwrap();
    // Two detections 300 m either side of C's and D's pair, at one time: two matches. Three
    // around the pair: the third is dark. The next pass (an hour on) matches C again.
    let dets = [
        det("1", T0 + 30 * MIN, 15.2, 117.5 - east(50.0)),
        det("2", T0 + 30 * MIN, 15.2, 117.5 + east(250.0)),
        det("3", T0 + 31 * MIN, 15.2 + north(400.0), 117.5),
        det("4", T0 + 90 * MIN, 15.2, 117.5),
    ];
    let got = r.match_sar(&dets, &MatchConfig::default()).unwrap();
    let who: Vec<Option<u32>> = got
        .iter()
        .map(|g| g.matched.as_ref().map(|m| m.mmsi))
        .collect();
    assert_eq!(who, [Some(C), Some(D), None, Some(C)]);
}

#[test]
fn detection_files_are_read_as_csv_or_geojson_and_bad_rows_are_named() {
    let scratch = scratch("tw-query-sar-files-");
    let dir = scratch.path();
    // Global Fishing Watch's column names, a row without time, one off the globe.
    let csv_path = dir.join("gfw.csv");
    std::fs::write(
        &csv_path,
        "detect_id,detect_timestamp,detect_lat,detect_lon,length_m,presence_score\n\
         S1A_x_1,2026-01-15T00:15:00Z,15.0,117.1,85.5,0.93\n\
         S1A_x_2,,15.0,117.1,,\n\
         S1A_x_3,2026-01-15T00:15:00Z,95.0,117.1,,\n\
         S1A_x_4,2026-01-15 00:15:00,15.1,117.2,,\n",
    )
    .unwrap();
    let d = read_detections(&csv_path).unwrap();
    // A time with a space (as BigQuery exports write it) is read.
    assert_eq!(d.detections.len(), 2, "{:?}", d.refused);
    assert_eq!(d.detections[1].time_ms, T0 + 15 * MIN);
    assert_eq!(d.detections[0].id, "S1A_x_1");
    assert_eq!(d.detections[0].time_ms, T0 + 15 * MIN);
    assert_eq!(d.detections[0].length_m, Some(85.5));
    assert_eq!(d.detections[0].score, Some(0.93));
    let lines: Vec<usize> = d.refused.iter().map(|r| r.0).collect();
    assert_eq!(lines, [3, 4]);
    assert!(d.refused[0].1.contains("no time"), "{:?}", d.refused);
    assert!(d.refused[1].1.contains("globe"), "{:?}", d.refused);
    // GeoJSON points with properties; a polygon is refused.
    let gj = dir.join("d.geojson");
    std::fs::write(
        &gj,
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[117.1,15.0]},
             "properties":{"time":"2026-01-15T00:15:00Z","id":7,"Length_m":40}},
            {"type":"Feature","geometry":{"type":"Polygon","coordinates":[]},"properties":{}}]}"#,
    )
    .unwrap();
    let d = read_detections(&gj).unwrap();
    assert_eq!(d.detections.len(), 1);
    assert_eq!(d.detections[0].id, "7");
    assert_eq!((d.detections[0].lat, d.detections[0].lon), (15.0, 117.1));
    assert_eq!(d.detections[0].length_m, Some(40.0));
    assert_eq!(d.refused, [(2, "not a Point".to_owned())]);
    // A CSV with no position columns says what it expected.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "when,where\n1,2\n").unwrap();
    let e = read_detections(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad.csv") && e.contains("no time, lat and lon"),
        "{e}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Whatever a detection file holds, reading it never panics, and every data row of a CSV
    /// with the needed columns is either a detection or refused with its line: none vanishes.
    /// (No quotes in the rows: a quoted cell may run over lines, as CSV allows.)
    #[test]
    fn every_row_is_read_or_refused_and_nothing_panics(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        rows in proptest::collection::vec(
            ("[a-z0-9 :TZ-]{0,24}", "-?[0-9]{0,3}(\\.[0-9]{0,4})?", "[0-9a-z.,-]{0,8}"),
            0..30,
        ),
    ) {
        let scratch = scratch("tw-query-sar-prop-");
        let dir = scratch.path();
        let junk_path = dir.join("junk.csv");
        std::fs::write(&junk_path, &junk).unwrap();
        let _ = read_detections(&junk_path);
        let mut text = String::from("time,lat,lon\n");
        for (t, lat, lon) in &rows {
            text.push_str(&format!("{t},{lat},{lon}\n"));
        }
        let path = dir.join("rows.csv");
        std::fs::write(&path, &text).unwrap();
        let d = read_detections(&path).unwrap();
        // A row of only empty cells is a CSV blank line the reader skips; count the others.
        let data_lines = text.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        proptest::prop_assert_eq!(d.detections.len() + d.refused.len(), data_lines);
    }
}

#[test]
fn odd_files_are_read_or_refused_saying_why() {
    let scratch = scratch("tw-query-sar-odd-");
    let dir = scratch.path();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // Semicolons, a BigQuery time, a duplicate, Unix milliseconds, bad length and score.
    let d = read_detections(&file(
        "semi.csv",
        "\u{feff}id;time;lat;lon;length_m;score\n\
         a;2026-01-15 00:15:00 UTC;15;117;abc;0.5\n\
         a;2026-01-15 00:15:00 UTC;16;117;;\n\
         b;1768436100000;15;117;;\n\
         c;2026-01-15T00:15Z;15;117;-3;7\n",
    ))
    .unwrap();
    let ids: Vec<&str> = d.detections.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(d.detections[0].time_ms, T0 + 15 * MIN);
    assert_eq!(d.detections[1].time_ms, T0 + 15 * MIN);
    assert_eq!(d.detections[0].length_m, None);
    assert_eq!(d.detections[0].score, Some(0.5));
    assert_eq!(d.refused.len(), 1, "{:?}", d.refused);
    assert_eq!(d.refused[0].0, 3);
    assert!(
        d.refused[0].1.contains("same id and time as item 2"),
        "{:?}",
        d.refused
    );
    let notes: Vec<&str> = d.notes.iter().map(|n| n.1.as_str()).collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes[0].contains("`abc` is not a number"), "{notes:?}");
    assert!(
        notes[1].contains("length_m -3") && notes[2].contains("score 7"),
        "{notes:?}"
    );
    // GeoJSON: a numeric time (Unix seconds) and numbers written as strings.
    let d = read_detections(&file(
        "n.geojson",
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[117,15]},
             "properties":{"time":1768436100,"length_m":"40","score":"x"}}]}"#,
    ))
    .unwrap();
    assert_eq!(d.detections[0].time_ms, T0 + 15 * MIN);
    assert_eq!(d.detections[0].length_m, Some(40.0));
    assert_eq!(d.notes.len(), 1);
    // What is no detection file says what it is.
    for (name, text, want) in [
        ("empty.csv", "", "empty"),
        ("blank.csv", " \n\n", "empty"),
        ("array.json", "[]", "not a GeoJSON FeatureCollection"),
        ("broken.geojson", "{garbage", "not JSON"),
        ("tabs.csv", "when\twhere\n1\t2\n", "separated by '\\t'"),
    ] {
        let e = read_detections(&file(name, text)).unwrap_err().to_string();
        assert!(e.contains(want), "{name}: {e}");
    }
}
