use super::*;
use crate::cot;
use store::VesselRow;

type El = Element;

/// Every element of a document; fails the test on malformed XML.
fn elements(xml: &[u8]) -> Vec<El> {
    read_elements(xml).expect("well-formed XML, every element closed")
}

fn named<'a>(els: &'a [El], name: &str) -> Vec<&'a El> {
    els.iter().filter(|e| e.name == name).collect()
}

fn vessel(mmsi: u32, name: Option<&str>, pos: Option<(f64, f64)>) -> Vessel {
    Vessel {
        row: VesselRow {
            mmsi,
            name: name.map(str::to_owned),
            flag: Some("PH".into()),
            imo: Some(9_074_729),
            ship_type: Some(80),
            position_time_ms: pos.map(|_| 1_767_225_600_000),
            lat: pos.map(|p| p.0),
            lon: pos.map(|p| p.1),
            sog_knots: Some(10.0),
            cog_deg: Some(243.1),
            nav_status: Some(0),
            ..VesselRow::default()
        },
        reports_known: true,
    }
}

#[test]
fn vessels_are_placemarks_at_their_position_and_those_without_one_are_counted() {
    let vs = [
        vessel(
            548_123_456,
            Some("SIERRA MADRE <&> \"BRP\""),
            Some((9.72, 115.86)),
        ),
        vessel(412_000_001, None, None),
    ];
    let out = write_vessels(Vec::new(), &vs).unwrap();
    let els = elements(&out);
    assert_eq!(els[0].name, "kml");
    assert_eq!(els[0].attr("xmlns"), KML_NS);
    let pms = named(&els, "Placemark");
    assert_eq!(pms.len(), 1, "only the vessel with a position is placed");
    let names = named(&els, "name");
    assert!(names
        .iter()
        .any(|n| n.text == "SIERRA MADRE <&> \"BRP\" (548123456)"));
    let desc = &named(&els, "description")[0].text;
    assert!(
        desc.contains("1 vessels at their latest position; 1 more have no position"),
        "{desc}"
    );
    assert_eq!(named(&els, "coordinates")[0].text, "115.86,9.72");
    assert_eq!(named(&els, "when")[0].text, "2026-01-01T00:00:00.000Z");
    assert_eq!(named(&els, "heading")[0].text, "243.1");
    let data: Vec<(&str, &str)> = named(&els, "Data")
        .iter()
        .map(|d| d.attr("name"))
        .zip(named(&els, "value").iter().map(|v| v.text.as_str()))
        .collect();
    assert!(data.contains(&("mmsi", "548123456")));
    assert!(data.contains(&("flag", "PH")));
    assert!(data.contains(&("sog_knots", "10.0")));
    assert!(
        !data.iter().any(|(k, _)| *k == "callsign"),
        "nulls left out"
    );
}

fn pos(t: i64, segment: Option<u32>, lat: f64, flags: u8) -> PositionRow {
    PositionRow {
        time_ms: t,
        mmsi: 548_123_456,
        lat,
        lon: 115.8,
        sog_knots: Some(5.0),
        cog_deg: Some(90.0),
        msg_type: 1,
        segment,
        flags,
        sources: vec!["pn/st1".into()],
        ..PositionRow::default()
    }
}

#[test]
fn a_track_is_one_time_animated_line_per_segment_and_every_position_as_a_point() {
    let rows = [
        pos(1_000, Some(1), 9.70, 0),
        pos(2_000, Some(2), 9.80, 0),
        pos(3_000, Some(1), 9.71, 0),
        pos(4_000, None, 91.0, 1),
        pos(5_000, Some(2), 9.81, 0),
        pos(6_000, None, 9.5, 8),
        pos(7_000, Some(3), 9.9, 0),
    ];
    let out = write_track(Vec::new(), "548123456 track", &rows).unwrap();
    let els = elements(&out);
    let tracks = named(&els, "gx:Track");
    assert_eq!(
        tracks.len(),
        2,
        "segments 1 and 2; segment 3 has one position"
    );
    assert_eq!(named(&els, "gx:coord")[0].text, "115.8 9.7 0");
    assert_eq!(named(&els, "gx:coord")[1].text, "115.8 9.71 0");
    assert_eq!(named(&els, "gx:angles").len(), 4);
    assert_eq!(named(&els, "Folder").len(), 3);
    // 2 tracks + 5 segmented positions + 1 placeable position outside any segment.
    assert_eq!(named(&els, "Placemark").len(), 8);
    let desc = &named(&els, "description")[0].text;
    assert_eq!(
        desc,
        "7 positions, 2 of them outside any segment. Not shown: 1 with no position on the globe."
    );
}

#[test]
fn cot_events_carry_identity_type_course_and_speed() {
    let v = vessel(548_123_456, Some("A & B"), Some((9.72, 115.86)));
    let ev = cot::vessel_event(&v, 1_767_225_660_000, 600_000).unwrap();
    let els = elements(&ev);
    let e = &els[0];
    assert_eq!(e.name, "event");
    assert_eq!(e.attr("uid"), "tidewatch.ais.548123456");
    assert_eq!(e.attr("type"), "a-u-S-X-M-O");
    assert_eq!(e.attr("how"), "m-g");
    assert_eq!(e.attr("time"), "2026-01-01T00:01:00.000Z");
    assert_eq!(e.attr("start"), "2026-01-01T00:00:00.000Z");
    assert_eq!(e.attr("stale"), "2026-01-01T00:11:00.000Z");
    let p = named(&els, "point")[0];
    assert_eq!((p.attr("lat"), p.attr("lon")), ("9.72", "115.86"));
    assert_eq!(
        named(&els, "contact")[0].attr("callsign"),
        "A & B (548123456)"
    );
    let t = named(&els, "track")[0];
    let speed: f64 = t.attr("speed").parse().unwrap();
    assert!((speed - 10.0 * 1852.0 / 3600.0).abs() < 0.005, "{speed}");
    assert_eq!(t.attr("course"), "243.1");
    let remarks = &named(&els, "remarks")[0].text;
    assert!(
        remarks.starts_with("MMSI 548123456; IMO 9074729; flag PH; type Tanker"),
        "{remarks}"
    );
    // Course or speed not available: no track (a zero would draw it stopped, heading north).
    let mut still = vessel(548_123_457, None, Some((9.72, 115.86)));
    still.row.cog_deg = None;
    let ev = cot::vessel_event(&still, 1_767_225_660_000, 600_000).unwrap();
    assert!(named(&elements(&ev), "track").is_empty());
    assert!(cot::vessel_event(&vessel(1, None, None), 0, 1).is_none());
    assert!(cot::vessel_event(&vessel(1, None, Some((91.0, 0.0))), 0, 1).is_none());
}

#[test]
fn cot_stream_is_one_event_a_line() {
    let vs = [
        vessel(1, Some("ONE"), Some((1.0, 2.0))),
        vessel(2, None, None),
        vessel(3, Some("THREE"), Some((3.0, 4.0))),
    ];
    let (out, n) = cot::write_vessels(Vec::new(), &vs, 0, 60_000).unwrap();
    assert_eq!(n, 2);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for l in lines {
        assert!(
            l.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><event "),
            "{l}"
        );
        assert_eq!(named(&elements(l.as_bytes()), "event").len(), 1);
    }
}

#[test]
fn cot_types_follow_the_ais_ship_type() {
    assert_eq!(cot::cot_type(Some(30)), "a-u-S-X-F");
    assert_eq!(cot::cot_type(Some(55)), "a-u-S-X-L");
    assert_eq!(cot::cot_type(Some(70)), "a-u-S-X-M-C");
    assert_eq!(cot::cot_type(Some(69)), "a-u-S-X-M-P");
    assert_eq!(cot::cot_type(Some(37)), "a-u-S-X-R");
    assert_eq!(cot::cot_type(None), "a-u-S");
    assert_eq!(cot::cot_type(Some(0)), "a-u-S");
}
