//! Hand-made fusion and segmentation cases through `tidewatch ingest`: two ships on one MMSI,
//! a satellite report delivered 20 minutes late (alone, and as a copy of a coastal one),
//! segments that continue from one run to the next, named sources, and stdin.

mod common;

use ais::bits::AisText;
use ais::encode::{encode_payload, to_sentences, SentenceOptions};
use ais::msg::{Dimensions, Eta, Header, Message, PositionReport, StaticVoyage};
use ais::Mmsi;
use common::{bin, ingest_with, rows, run_ok, sample, tmp};
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use store::PositionRow;

/// 2026-03-01T00:00:00Z.
const T0_S: i64 = 1_772_323_200;

/// One ship reporting every 10 s on a straight course.
#[derive(Debug, Clone, Copy)]
struct Ship {
    mmsi: u32,
    lat: f64,
    lon: f64,
    sog_knots: f64,
    cog_deg: f64,
}

impl Ship {
    /// Where the ship is `s` seconds after T0.
    fn at(&self, s: i64) -> (f64, f64) {
        let d_nm = self.sog_knots * s as f64 / 3600.0;
        let r = self.cog_deg.to_radians();
        let lat = self.lat + d_nm * r.cos() / 60.0;
        let lon = self.lon + d_nm * r.sin() / (60.0 * self.lat.to_radians().cos());
        (lat, lon)
    }
}

/// A tag-blocked type 1 report of `ship` at T0 + `s`, heard by `station` at `rx_s` (Unix s).
fn report(ship: &Ship, s: i64, station: &str, rx_s: i64) -> String {
    let (lat, lon) = ship.at(s);
    let t = T0_S + s;
    let m = Message::Position(PositionReport {
        header: Header {
            msg_type: 1,
            repeat: 0,
            mmsi: Mmsi(ship.mmsi),
        },
        nav_status: Some(0),
        rot: None,
        sog_knots: Some(ship.sog_knots as f32),
        accuracy: true,
        lon: Some(lon),
        lat: Some(lat),
        cog_deg: Some(ship.cog_deg as f32),
        heading_deg: None,
        second: Some((t % 60) as u8),
        maneuver: None,
        raim: false,
        radio: Some(0),
    });
    let mut lines = Vec::new();
    to_sentences(
        &encode_payload(&m).unwrap(),
        &SentenceOptions::default(),
        &mut lines,
    );
    let body = format!("s:{station},c:{rx_s}");
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("\\{body}*{sum:02X}\\{}\n", lines[0])
}

/// Tag-blocked sentences of a type 5 report naming `ship` `name`, heard at T0 + `s`.
fn static_report(ship: &Ship, s: i64, name: &str, imo: u32) -> String {
    let m = Message::StaticVoyage(StaticVoyage {
        header: Header {
            msg_type: 5,
            repeat: 0,
            mmsi: Mmsi(ship.mmsi),
        },
        ais_version: 2,
        imo: Some(imo),
        callsign: AisText::from_str_lossy("AVSG"),
        shipname: AisText::from_str_lossy(name),
        ship_type: Some(80),
        dims: Dimensions {
            to_bow: Some(150),
            to_stern: Some(30),
            to_port: Some(14),
            to_starboard: Some(14),
        },
        epfd: Some(1),
        eta: Eta {
            month: None,
            day: None,
            hour: None,
            minute: None,
        },
        draught_m: Some(9.5),
        destination: AisText::from_str_lossy("FUJAIRAH"),
        dte: false,
    });
    let mut lines = Vec::new();
    to_sentences(
        &encode_payload(&m).unwrap(),
        &SentenceOptions {
            seq_id: 3,
            ..SentenceOptions::default()
        },
        &mut lines,
    );
    let body = format!("s:coast,c:{}", T0_S + s);
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    lines
        .iter()
        .map(|l| format!("\\{body}*{sum:02X}\\{l}\n"))
        .collect()
}

fn write(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.concat()).unwrap();
}

fn os(p: &Path) -> &OsStr {
    p.as_os_str()
}

const SHIP: Ship = Ship {
    mmsi: 419_001_234,
    lat: 12.0,
    lon: 72.0,
    sog_knots: 12.0,
    cog_deg: 60.0,
};

/// An hour of `SHIP` heard by the coast station, with the report at 10 min taken out and
/// (when `late_copy` is false) moved to 30 min as a satellite report, or (when true) kept
/// and also copied there.
fn satellite_feed(late_copy: bool) -> Vec<String> {
    let late_s = 600;
    let mut lines = Vec::new();
    for s in (0..3600).step_by(10) {
        if s != late_s || late_copy {
            lines.push(report(&SHIP, s, "coast", T0_S + s));
        }
        if s == 1800 {
            // Received by the satellite at transmission time, delivered 20 min later.
            lines.push(report(&SHIP, late_s, "sat", T0_S + late_s));
        }
    }
    lines
}

fn at(rows: &[PositionRow], s: i64) -> &PositionRow {
    rows.iter()
        .find(|r| r.time_ms == (T0_S + s) * 1000)
        .unwrap_or_else(|| panic!("no position at +{s} s"))
}

#[test]
fn a_satellite_report_twenty_minutes_late_is_placed_in_order() {
    let feed = tmp("sat-late.nmea");
    write(&feed, &satellite_feed(false));

    // A window that covers the delay: the report takes its place in the one track.
    let store = tmp("sat-late-30m");
    let s = ingest_with(
        &[os(&feed), OsStr::new("--reorder-window"), OsStr::new("30m")],
        &store,
    );
    assert_eq!(s["positions"], 360, "{s}");
    assert_eq!(s["released_out_of_order"], 0, "{s}");
    let said = s["warnings"].to_string();
    assert!(!said.contains("reached detection after"), "{said}");
    let got = rows(&store);
    let segments: BTreeSet<Option<u32>> = got.iter().map(|r| r.segment).collect();
    assert_eq!(segments, BTreeSet::from([Some(0)]), "one unbroken segment");
    let late = at(&got, 600);
    assert_eq!(late.sources, vec!["sat-late.nmea/sat/AI".to_owned()]);
    assert_eq!(late.flags, 0);

    // The default window (5 min) is shorter: the report is still stored and counted as
    // released out of order, and the segmenter, measuring it backwards from the track's last
    // position, puts it on the track it belongs to (no stray segment).
    let store = tmp("sat-late-5m");
    let s = ingest_with(&[os(&feed)], &store);
    assert_eq!(s["positions"], 360, "{s}");
    assert_eq!(s["released_out_of_order"], 1, "{s}");
    assert_eq!(s["segments"], 1, "{s}");
    // Detection took it as late data, and the summary says so and what recomputes it.
    let said = s["warnings"].to_string();
    assert!(
        said.contains("1 position(s) reached detection after a newer one of their vessel")
            && said.contains("tidewatch detect --store DIR --write"),
        "{said}"
    );
    let got = rows(&store);
    assert_eq!(got.len(), 360);
    assert_eq!(at(&got, 600).segment, at(&got, 610).segment);
    assert_eq!(at(&got, 600).flags, 0);
}

#[test]
fn a_late_satellite_copy_adds_its_source_to_the_coastal_position() {
    let feed = tmp("sat-copy.nmea");
    write(&feed, &satellite_feed(true));
    let store = tmp("sat-copy-store");
    let s = ingest_with(&[os(&feed)], &store);
    assert_eq!(s["positions"], 360, "{s}");
    assert_eq!(s["late_duplicates"], 1, "{s}");
    let got = rows(&store);
    assert_eq!(got.len(), 360);
    assert_eq!(
        at(&got, 600).sources,
        vec![
            "sat-copy.nmea/coast/AI".to_owned(),
            "sat-copy.nmea/sat/AI".to_owned()
        ]
    );
    assert!(got.iter().all(|r| r.segment == Some(0)));
}

/// Issue 16: a satellite backlog delivered three hours late (past the fuser's late window)
/// still adds its sources to the coastal positions: nothing is stored twice.
#[test]
fn a_satellite_backlog_three_hours_late_doubles_nothing() {
    let mut lines = Vec::new();
    for s in (0..4 * 3600).step_by(10) {
        lines.push(report(&SHIP, s, "coast", T0_S + s));
        if s == 4 * 3600 - 10 {
            // The satellite heard the first ten minutes; its backlog comes at the end.
            for b in (0..600).step_by(10) {
                lines.push(report(&SHIP, b, "sat", T0_S + b));
            }
        }
    }
    let feed = tmp("sat-backlog.nmea");
    write(&feed, &lines);
    let store = tmp("sat-backlog-store");
    let s = ingest_with(&[os(&feed)], &store);
    assert_eq!(s["positions"], 4 * 360, "{s}");
    assert_eq!(s["late_duplicates"], 60, "{s}");
    assert_eq!(s["stale_unchecked"], 0, "{s}");
    let got = rows(&store);
    assert_eq!(got.len(), 4 * 360);
    assert_eq!(
        at(&got, 300).sources,
        vec![
            "sat-backlog.nmea/coast/AI".to_owned(),
            "sat-backlog.nmea/sat/AI".to_owned()
        ]
    );
}

#[test]
fn two_ships_on_one_mmsi_become_two_segments() {
    // 60 nm apart, same MMSI, both reporting every 10 s for an hour.
    let a = SHIP;
    let b = Ship {
        lat: 13.0,
        lon: 72.3,
        sog_knots: 9.0,
        cog_deg: 200.0,
        ..SHIP
    };
    let mut lines = Vec::new();
    for s in (0..3600).step_by(10) {
        lines.push(report(&a, s, "coast", T0_S + s));
        lines.push(report(&b, s + 5, "coast", T0_S + s + 5));
    }
    let feed = tmp("cloned-mmsi.nmea");
    write(&feed, &lines);
    let store = tmp("cloned-mmsi-store");
    let s = ingest_with(&[os(&feed)], &store);
    assert_eq!(s["positions"], 720, "{s}");
    let got = rows(&store);
    // Each segment holds the reports of exactly one ship.
    let mut by_segment: HashMap<Option<u32>, BTreeSet<bool>> = HashMap::new();
    for r in &got {
        by_segment
            .entry(r.segment)
            .or_default()
            .insert(r.lat > 12.5);
    }
    assert_eq!(by_segment.len(), 2, "{by_segment:?}");
    assert!(by_segment.values().all(|ships| ships.len() == 1));
    assert!(!by_segment.contains_key(&None));
}

/// Splits a sample file at a line boundary near the middle where a single-sentence message
/// begins, so no message straddles the cut.
fn split_sample(src: &Path, a: &Path, b: &Path) {
    let text = std::fs::read_to_string(src).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = (lines.len() / 2..lines.len())
        .find(|&i| lines[i].contains("VDM,1,1,"))
        .unwrap();
    std::fs::write(a, lines[..cut].join("\n") + "\n").unwrap();
    std::fs::write(b, lines[cut..].join("\n") + "\n").unwrap();
}

#[test]
fn segments_and_vessels_continue_from_one_run_to_the_next() {
    let whole = tmp("continue-whole.nmea");
    sample(&whole, 120);
    let (a, b) = (tmp("continue-a.nmea"), tmp("continue-b.nmea"));
    split_sample(&whole, &a, &b);

    let once = tmp("continue-once");
    ingest_with(&[os(&a), os(&b)], &once);
    let twice = tmp("continue-twice");
    ingest_with(&[os(&a)], &twice);
    let second = ingest_with(&[os(&b)], &twice);
    // The second run continues the first run's segments instead of starting new ones.
    assert_eq!(second["segments"], 0, "{second}");

    let key = |r: &PositionRow| (r.mmsi, r.time_ms, r.segment, r.flags);
    let want: Vec<_> = rows(&once).iter().map(key).collect();
    let got: Vec<_> = rows(&twice).iter().map(key).collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    let reg = |p: &Path| {
        let db = store::RegistryDb::open(&p.join("registry.sqlite")).unwrap();
        (db.vessels(None).unwrap(), db.segmenters().unwrap())
    };
    assert_eq!(reg(&twice), reg(&once));
}

#[test]
fn a_named_source_labels_the_provenance_of_its_records() {
    let feed = tmp("named.nmea");
    sample(&feed, 20);
    let store = tmp("named-store");
    let arg = format!("in-navy={}", feed.display());
    ingest_with(&[OsStr::new(&arg)], &store);
    let got = rows(&store);
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|r| r.sources.iter().all(|s| s.starts_with("in-navy/sg-"))),
        "{:?}",
        got[0].sources
    );
}

fn ingest_stdin(data: &[u8], store: &Path) -> serde_json::Value {
    let stats = store.with_extension("stats.json");
    let mut child = Command::new(bin())
        .args(["ingest", "-", "-q", "--store"])
        .arg(store)
        .arg("--stats")
        .arg(&stats)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    assert!(child.wait().unwrap().success());
    common::read_json(&stats)
}

#[test]
fn stdin_given_twice_is_ingested_once() {
    let feed = tmp("stdin.nmea");
    sample(&feed, 20);
    let data = std::fs::read(&feed).unwrap();
    let store = tmp("stdin-store");
    let first = ingest_stdin(&data, &store);
    assert!(first["positions"].as_u64().unwrap() > 100, "{first}");
    let n = rows(&store).len();
    let second = ingest_stdin(&data, &store);
    assert_eq!(second["inputs_read"], 0, "{second}");
    assert_eq!(second["inputs_skipped"][0]["run"], first["run"], "{second}");
    assert_eq!(rows(&store).len(), n);
    // Skipped as a whole, as a file would be: nothing of it counted, stored or warned of;
    // the store's vessels are still there.
    for k in ["lines", "messages", "vessel_reports", "positions"] {
        assert_eq!(second[k], 0, "{k}: {second}");
    }
    assert_eq!(second["warnings"], serde_json::json!([]), "{second}");
    assert_eq!(second["late_duplicates"], 0, "{second}");
    assert_eq!(
        second["vessels_in_store"], first["vessels_in_store"],
        "{second}"
    );
    // The same bytes as a file are recognised too.
    let third = ingest_with(&[os(&feed)], &store);
    assert_eq!(third["inputs_read"], 0, "{third}");
    assert_eq!(rows(&store).len(), n);
}

#[test]
fn a_late_copy_of_an_already_written_position_is_kept_and_shown_by_track() {
    let feed = tmp("sat-flushed.nmea");
    write(&feed, &satellite_feed(true));
    let store = tmp("sat-flushed-store");
    // Small files: the coastal position at 10 min is on disk before its copy arrives.
    let s = ingest_with(
        &[os(&feed), OsStr::new("--flush-rows"), OsStr::new("50")],
        &store,
    );
    assert_eq!(s["late_duplicates"], 1, "{s}");
    assert_eq!(s["late_sources_stored"], 1, "{s}");
    let csv = run_ok(
        &["track", &SHIP.mmsi.to_string(), "--format", "csv"],
        &store,
    );
    let line = csv
        .lines()
        .find(|l| l.starts_with("2026-03-01T00:10:00"))
        .unwrap();
    assert!(
        line.ends_with("\"sat-flushed.nmea/coast/AI;sat-flushed.nmea/sat/AI\""),
        "{line}"
    );
    assert_eq!(csv.lines().count(), 361);
}

#[test]
fn a_renamed_tanker_shows_its_old_identity_at_an_earlier_time() {
    let mut lines = Vec::new();
    for s in (0..3600).step_by(10) {
        if s == 0 {
            lines.push(static_report(&SHIP, s, "OCEAN GRACE", 9_321_483));
        }
        if s == 1800 {
            lines.push(static_report(&SHIP, s, "GRACE ONE", 9_321_483));
        }
        lines.push(report(&SHIP, s, "coast", T0_S + s));
    }
    let feed = tmp("rename.nmea");
    write(&feed, &lines);
    let store = tmp("rename-store");
    let s = ingest_with(&[os(&feed)], &store);
    assert_eq!(s["static_reports"], 2, "{s}");

    let now: serde_json::Value = serde_json::from_str(&run_ok(&["vessels"], &store)).unwrap();
    assert_eq!(now["name"], "GRACE ONE");
    let then: serde_json::Value = serde_json::from_str(&run_ok(
        &["vessels", "--at", "2026-03-01T00:15:00Z"],
        &store,
    ))
    .unwrap();
    assert_eq!(then["name"], "OCEAN GRACE", "{then}");
    assert_eq!(then["imo"], 9_321_483);
    assert_eq!(then["position_time"], "2026-03-01T00:15:00.000Z");
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(&["vessel", &SHIP.mmsi.to_string()], &store)).unwrap();
    let renames: Vec<&serde_json::Value> = v["identity_history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["field"] == "name")
        .collect();
    assert_eq!(renames.len(), 2, "{v}");
    assert_eq!(renames[1]["old"], "OCEAN GRACE");
    assert_eq!(renames[1]["new"], "GRACE ONE");
    assert_eq!(renames[1]["time"], "2026-03-01T00:30:00.000Z");

    // The rename is an identity change naming the feed of the report and where the tanker
    // was; a recompute from the store names the same.
    let events = |args: &[&str]| -> Vec<serde_json::Value> {
        run_ok(args, &store)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let stored = events(&["events", "--type", "identity_change", "--format", "jsonl"]);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        stored[0]["sources"],
        serde_json::json!(["rename.nmea/coast/AI"])
    );
    assert_eq!(stored[0]["evidence"].as_array().map(Vec::len), Some(1));
    let again = events(&["detect", "--types", "identity_change", "--format", "jsonl"]);
    assert_eq!(again.len(), 1, "{again:?}");
    for k in ["id", "sources", "evidence"] {
        assert_eq!(again[0][k], stored[0][k], "{k}");
    }
}
