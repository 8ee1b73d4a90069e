//! End-to-end tests of `tidewatch ingest`: idempotence, crash safety under SIGKILL, fusion of
//! real receivers, and the accounting.

mod common;

use common::{bin, ingest_with, rows, run_ok, sample, tmp};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;
use store::{PositionRow, RegistryDb, VesselRow};

fn ingest(inputs: &[&Path], store: &Path) -> serde_json::Value {
    let args: Vec<&std::ffi::OsStr> = inputs.iter().map(|p| p.as_os_str()).collect();
    ingest_with(&args, store)
}

fn vessels(store: &Path) -> Vec<VesselRow> {
    RegistryDb::open(&store.join("registry.sqlite"))
        .unwrap()
        .vessels(None)
        .unwrap()
}

#[test]
fn ingesting_the_same_file_twice_changes_nothing() {
    let input = tmp("twice.nmea");
    sample(&input, 60);
    let store = tmp("twice-store");
    let first = ingest(&[&input], &store);
    assert_eq!(first["inputs_read"], 1);
    let positions = first["positions"].as_u64().unwrap();
    assert!(positions > 1000, "{first}");
    // Accounting: every vessel report is a stored position, a static report or a merged copy.
    assert_eq!(
        first["vessel_reports"].as_u64().unwrap(),
        positions
            + first["static_reports"].as_u64().unwrap()
            + first["duplicates_merged"].as_u64().unwrap()
            + first["late_duplicates"].as_u64().unwrap()
    );
    // The sample damages some lines on purpose; they are counted, not lost.
    assert!(first["rejected"]["bad_checksum"].as_u64().unwrap() > 0);
    let before = (rows(&store), vessels(&store));
    assert_eq!(before.0.len() as u64, positions);

    let second = ingest(&[&input], &store);
    assert_eq!(second["inputs_read"], 0);
    assert_eq!(second["inputs_skipped"][0]["run"], first["run"]);
    assert_eq!(second["positions"], 0);
    assert_eq!((rows(&store), vessels(&store)), before);

    // The same content given twice on one command line is read once.
    let store2 = tmp("twice-store-2");
    let both = ingest(&[&input, &input], &store2);
    assert_eq!(both["inputs_read"], 1);
    assert_eq!(rows(&store2), before.0);

    // Under two feed names (a partner relaying another's feed) it is two deliveries: both
    // read, fused into the same rows, each row heard by both feeds.
    let store3 = tmp("twice-store-3");
    let (a, b) = (
        std::ffi::OsString::from(format!("A={}", input.display())),
        std::ffi::OsString::from(format!("B={}", input.display())),
    );
    let relayed = ingest_with(&[a.as_os_str(), b.as_os_str()], &store3);
    assert_eq!(relayed["inputs_read"], 2, "{relayed}");
    let stored = rows(&store3);
    assert_eq!(stored.len(), before.0.len());
    for r in &stored {
        assert!(
            r.sources.iter().any(|s| s.starts_with("A/"))
                && r.sources.iter().any(|s| s.starts_with("B/")),
            "{:?}",
            r.sources
        );
    }
    // Either name again in a later run is a repeat.
    let again = ingest_with(&[b.as_os_str()], &store3);
    assert_eq!(again["inputs_read"], 0, "{again}");
}

/// Kills `tidewatch ingest` with SIGKILL at spread-out points of its run, re-runs it to
/// completion each time, and requires exactly the rows and vessels of a clean run. Rounds go on
/// until at least 20 kills have landed while the run was still going.
///
/// The kill points are fractions of a run's duration. Under `cargo test` other tests share the
/// cores, so the duration is re-measured on every run that finishes before its kill: the
/// estimate follows the machine instead of the first, possibly slow, run.
#[test]
fn sigkill_at_any_point_then_rerun_gives_every_position_exactly_once() {
    const KILLS: usize = 20;
    const MAX_ROUNDS: usize = 80;
    let a = tmp("kill-a.nmea");
    let b = tmp("kill-b.nmea");
    sample(&a, 300);
    sample(&b, 200);
    let reference = tmp("kill-reference");
    let t0 = Instant::now();
    ingest(&[&a, &b], &reference);
    let mut run_time = t0.elapsed();
    let want = (rows(&reference), vessels(&reference));
    assert!(!want.0.is_empty());

    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut killed_mid_run = 0;
    let mut round = 0;
    while round < KILLS || killed_mid_run < KILLS {
        assert!(
            round < MAX_ROUNDS,
            "only {killed_mid_run} of the kills in {round} rounds landed mid-run"
        );
        let store = tmp(&format!("kill-{round}"));
        // Up to three kills in a row on the same store before the completing run.
        for attempt in 0..(1 + round % 3) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let frac = (seed % 1000) as f64 / 1000.0 * 1.2;
            let started = Instant::now();
            let mut child = Command::new(bin())
                .arg("ingest")
                .args([&a, &b])
                .arg("--store")
                .arg(&store)
                .arg("-q")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = started + run_time.mul_f64(frac);
            let mut finished = None;
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    finished = Some(started.elapsed());
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            match finished.or_else(|| child.try_wait().unwrap().map(|_| started.elapsed())) {
                // A run that completed from an empty store is a full run: its duration is the
                // newer estimate. (After an earlier kill a run redoes only part of the work.)
                Some(took) if attempt == 0 => run_time = took,
                Some(_) => {}
                None => killed_mid_run += 1,
            }
            child.kill().ok();
            child.wait().unwrap();
        }
        ingest(&[&a, &b], &store);
        let got = (rows(&store), vessels(&store));
        assert_eq!(got.0.len(), want.0.len(), "kill round {round}");
        assert!(
            got == want,
            "kill round {round}: store differs from a clean run"
        );
        round += 1;
    }
    eprintln!("{killed_mid_run} kills landed mid-run in {round} rounds");
}

#[test]
fn a_run_that_dies_before_its_commit_leaves_no_rows() {
    let input = tmp("failpoint.nmea");
    sample(&input, 60);
    let reference = tmp("failpoint-reference");
    ingest(&[&input], &reference);
    let store = tmp("failpoint-store");
    let out = Command::new(bin())
        .arg("ingest")
        .arg(&input)
        .arg("--store")
        .arg(&store)
        .env("TIDEWATCH_FAILPOINT", "before-commit")
        .output()
        .unwrap();
    assert!(!out.status.success());
    // The files were written and listed, but the run never committed.
    let listed = std::fs::read_to_string(store.join("manifest.jsonl")).unwrap();
    assert!(listed.contains("\"run\":1"), "{listed}");
    let s = ingest(&[&input], &store);
    assert!(s["discarded_rows"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["inputs_read"], 1);
    assert_eq!(rows(&store), rows(&reference));
    assert_eq!(vessels(&store), vessels(&reference));
}

#[test]
fn receivers_of_one_transmission_become_one_position_with_both_sources() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ais/dma-aisabnormal");
    let path = dir.join("212123000_drift_1.ais");
    if !path.is_file() {
        eprintln!(
            "skipping: {} not found (../shared is absent)",
            path.display()
        );
        return;
    }
    let store = tmp("dma-store");
    let s = ingest(&[&path], &store);
    assert_eq!(s["dropped"]["no_receive_time"], 0);
    let rows = rows(&store);
    assert_eq!(rows.len() as u64, s["positions"].as_u64().unwrap());
    let two = rows.iter().filter(|r| r.sources.len() >= 2).count();
    assert!(two > rows.len() / 2, "{two} of {} fused", rows.len());
    // Every stored position is unique per (MMSI, time, position).
    let mut keys: Vec<_> = rows
        .iter()
        .map(|r| (r.mmsi, r.time_ms, r.lat.to_bits(), r.lon.to_bits()))
        .collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "duplicate positions stored");
    let v = vessels(&store);
    let drift = v.iter().find(|v| v.mmsi == 212_123_000).unwrap();
    assert_eq!(drift.flag.as_deref(), Some("CY"));
}

#[test]
fn bad_store_and_missing_input_are_clear_errors() {
    let store = tmp("err-store");
    let out = Command::new(bin())
        .args(["ingest", "/nonexistent/x.nmea", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such input: /nonexistent/x.nmea"), "{err}");
    assert!(!store.exists(), "no store is created for nothing to read");

    let file = tmp("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let input = tmp("err.nmea");
    sample(&input, 1);
    let out = Command::new(bin())
        .arg("ingest")
        .arg(&input)
        .arg("--store")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open store"));
}

#[test]
fn vessels_vessel_and_track_read_what_ingest_wrote() {
    let input = tmp("query.nmea");
    sample(&input, 60);
    let store = tmp("query-store");
    ingest(&[&input], &store);
    let all = vessels(&store);
    assert!(!all.is_empty());

    // vessels: every vessel once, and a bounding box filters by latest position.
    let lines: Vec<serde_json::Value> = run_ok(&["vessels"], &store)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), all.len());
    let v0 = &all[0];
    let (lat, lon) = (v0.lat.unwrap(), v0.lon.unwrap());
    let bbox = format!(
        "{},{},{},{}",
        lon - 1e-6,
        lat - 1e-6,
        lon + 1e-6,
        lat + 1e-6
    );
    let inside = run_ok(&["vessels", "--bbox", &bbox], &store);
    assert!(
        inside.contains(&format!("\"mmsi\":{}", v0.mmsi)),
        "{inside}"
    );
    let far = run_ok(&["vessels", "--bbox", "-10,-10,-9,-9"], &store);
    assert_eq!(far, "");

    // vessel: state and identity history (every identity value has a history entry).
    let named = all.iter().find(|v| v.name.is_some()).unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&run_ok(&["vessel", &named.mmsi.to_string()], &store)).unwrap();
    assert_eq!(j["name"].as_str(), named.name.as_deref());
    let hist = j["identity_history"].as_array().unwrap();
    assert!(hist
        .iter()
        .any(|h| h["field"] == "name" && h["new"].as_str() == named.name.as_deref()));

    // track: the CSV and GeoJSON hold exactly the stored positions of the MMSI in the window.
    let mmsi = v0.mmsi;
    let stored: Vec<_> = rows(&store)
        .into_iter()
        .filter(|r| r.mmsi == mmsi)
        .collect();
    let csv = run_ok(&["track", &mmsi.to_string(), "--format", "csv"], &store);
    assert_eq!(csv.lines().count(), stored.len() + 1);
    let gj: serde_json::Value =
        serde_json::from_str(&run_ok(&["track", &mmsi.to_string()], &store)).unwrap();
    let points = gj["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["geometry"]["type"] == "Point")
        .count();
    assert_eq!(points, stored.len());
    let mid = stored[stored.len() / 2].time_ms;
    let from = chrono::DateTime::from_timestamp_millis(mid)
        .unwrap()
        .to_rfc3339();
    let later = run_ok(
        &[
            "track",
            &mmsi.to_string(),
            "--format",
            "csv",
            "--from",
            &from,
        ],
        &store,
    );
    let want = stored.iter().filter(|r| r.time_ms >= mid).count();
    assert_eq!(later.lines().count(), want + 1);

    // track as GeoParquet: the same rows.
    let pq = tmp("query-track.parquet");
    run_ok(
        &[
            "track",
            &mmsi.to_string(),
            "--format",
            "parquet",
            "--out",
            pq.to_str().unwrap(),
        ],
        &store,
    );
    assert_eq!(store::read_geoparquet(&pq).unwrap(), stored);

    // vessels --at: each vessel's last position at that time, none after it.
    let at_ms = mid;
    let at = chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap()
        .to_rfc3339();
    let then: Vec<serde_json::Value> = run_ok(&["vessels", "--at", &at], &store)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(then.len(), all.len());
    let all_rows = rows(&store);
    for v in &then {
        let m = v["mmsi"].as_u64().unwrap() as u32;
        let last = all_rows
            .iter()
            .rfind(|r| r.mmsi == m && r.time_ms <= at_ms)
            .unwrap();
        // (serde_json's default float parsing may be off by an ulp.)
        assert!((v["lat"].as_f64().unwrap() - last.lat).abs() < 1e-12, "{v}");
        let t = chrono::DateTime::parse_from_rfc3339(v["position_time"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        assert_eq!(t, last.time_ms, "{v}");
        assert_eq!(v["reports"], serde_json::Value::Null);
    }
    // Before the first report nothing was at sea; a short --max-age drops stale vessels.
    let first = all_rows.iter().map(|r| r.time_ms).min().unwrap();
    let before = chrono::DateTime::from_timestamp_millis(first - 1)
        .unwrap()
        .to_rfc3339();
    assert_eq!(run_ok(&["vessels", "--at", &before], &store), "");
    let late = chrono::DateTime::from_timestamp_millis(
        all_rows.iter().map(|r| r.time_ms).max().unwrap() + 3_600_000,
    )
    .unwrap()
    .to_rfc3339();
    assert_eq!(
        run_ok(&["vessels", "--at", &late, "--max-age", "30m"], &store),
        ""
    );
}

#[test]
fn read_commands_give_clear_errors() {
    let missing = tmp("no-such-store");
    for args in [
        vec!["vessels"],
        vec!["vessel", "123456789"],
        vec!["track", "123456789"],
    ] {
        let out = Command::new(bin())
            .args(&args)
            .arg("--store")
            .arg(&missing)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is not a Tidewatch store"), "{args:?}: {err}");
        assert!(!missing.exists(), "a read command created a store");
    }
    let input = tmp("errq.nmea");
    sample(&input, 1);
    let store = tmp("errq-store");
    ingest(&[&input], &store);
    for (args, want) in [
        (vec!["vessel", "999999999"], "not in"),
        (vec!["track", "1", "--from", "yesterday"], "RFC 3339"),
        (vec!["vessels", "--bbox", "1,2,3"], "four numbers"),
        (vec!["track", "1", "--format", "parquet"], "needs --out"),
        (vec!["vessels", "--max-age", "1h"], "--at"),
        (
            vec![
                "vessels",
                "--at",
                "2026-01-01T00:00:00Z",
                "--max-age",
                "soon",
            ],
            "duration",
        ),
        (
            vec![
                "track",
                "1",
                "--from",
                "2026-01-02T00:00:00Z",
                "--to",
                "2026-01-01T00:00:00Z",
            ],
            "before",
        ),
    ] {
        let out = Command::new(bin())
            .args(&args)
            .arg("--store")
            .arg(&store)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// The same feed relayed by a second partner: its own station name, receive times 2 s later,
/// and some single-sentence reports missing.
fn partner_copy(src: &Path, dst: &Path) -> usize {
    let text = std::fs::read_to_string(src).unwrap();
    let mut out = String::new();
    let mut kept = 0;
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix('\\') else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (tag, sentence) = rest.split_once('\\').unwrap();
        if sentence.contains(",1,1,") && i % 3 == 0 {
            continue;
        }
        let fields = tag.split_once('*').unwrap().0;
        let c: i64 = fields
            .split(',')
            .find_map(|f| f.strip_prefix("c:"))
            .unwrap()
            .parse()
            .unwrap();
        let body = format!("s:partner-b,c:{}", c + 2);
        let sum = body.bytes().fold(0u8, |a, b| a ^ b);
        out.push_str(&format!("\\{body}*{sum:02X}\\{sentence}\n"));
        kept += 1;
    }
    std::fs::write(dst, out).unwrap();
    kept
}

#[test]
fn a_duplicate_from_a_second_partner_is_one_position_with_both_sources() {
    let a = tmp("partner-a.nmea");
    let b = tmp("partner-b.nmea");
    sample(&a, 60);
    assert!(partner_copy(&a, &b) > 1000);
    let alone = tmp("partner-alone");
    ingest(&[&a], &alone);
    let fused = tmp("partner-fused");
    let s = ingest(&[&a, &b], &fused);
    assert!(s["duplicates_merged"].as_u64().unwrap() > 1000, "{s}");

    // Same positions at the same message times as partner A alone; no position twice.
    let want = rows(&alone);
    let got = rows(&fused);
    let key = |r: &PositionRow| (r.mmsi, r.time_ms, r.lat.to_bits(), r.lon.to_bits());
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        want.iter().map(key).collect::<Vec<_>>()
    );
    // Provenance: most positions name both partners, none lost its first source.
    let both = got.iter().filter(|r| r.sources.len() == 2).count();
    assert!(both > got.len() / 2, "{both} of {}", got.len());
    let odd: Vec<&PositionRow> = got
        .iter()
        .filter(|r| !r.sources[0].starts_with("partner-a.nmea/sg-"))
        .collect();
    assert!(
        odd.is_empty(),
        "{} rows, first {:?}",
        odd.len(),
        odd.first()
    );
    assert!(got
        .iter()
        .filter(|r| r.sources.len() == 2)
        .all(|r| r.sources[1] == "partner-b.nmea/partner-b/AI"));
}

#[test]
fn a_directory_ingests_every_file_under_it() {
    let dir = tmp("dir-input");
    std::fs::create_dir_all(dir.join("day2")).unwrap();
    sample(&dir.join("a.nmea"), 30);
    sample(&dir.join("day2").join("b.nmea"), 45);
    std::fs::write(dir.join(".hidden"), "not ais\n").unwrap();
    let by_dir = tmp("dir-store");
    let s = ingest(&[&dir], &by_dir);
    assert_eq!(s["inputs_read"], 2, "{s}");
    let by_files = tmp("dir-files-store");
    ingest(
        &[&dir.join("a.nmea"), &dir.join("day2").join("b.nmea")],
        &by_files,
    );
    assert_eq!(rows(&by_dir).len(), rows(&by_files).len());
    let empty = tmp("dir-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(bin())
        .arg("ingest")
        .arg(&empty)
        .arg("--store")
        .arg(tmp("dir-empty-store"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no files"));
}

#[test]
fn ingest_without_land_data_says_what_detection_lacks_even_when_quiet() {
    let input = tmp("noland.nmea");
    sample(&input, 5);
    let empty_cache = tmp("noland-cache");
    std::fs::create_dir_all(&empty_cache).unwrap();
    let run = |store: &Path, extra: &[&str]| {
        common::ok_stderr(
            Command::new(bin())
                .arg("ingest")
                .arg(&input)
                .arg("--store")
                .arg(store)
                .arg("-q")
                .args(extra)
                .env("TIDEWATCH_CACHE_DIR", &empty_cache),
        )
    };
    let err = run(&tmp("noland-store"), &[]);
    assert!(err.contains("warning: no land data"), "{err}");
    assert!(
        err.contains("spoof_land off, distance to shore unknown"),
        "{err}"
    );
    assert!(err.contains("`tidewatch zones land` builds it"), "{err}");
    // Nothing to warn of when detection is off.
    let err = run(&tmp("noland-store-off"), &["--no-detect"]);
    assert!(!err.contains("land"), "{err}");
}
