//! Issue 16, "nothing doubled": a transmission already stored is never stored again, whichever
//! file, run, compression or partner brings it; copies split over runs are fused; a clock
//! years ahead is rejected, not stored.

mod common;

use common::{ingest_with, rows, sample, tmp};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;

/// (MMSI, message time) of every stored position.
fn keys(store: &Path) -> Vec<(u32, i64)> {
    rows(store).iter().map(|r| (r.mmsi, r.time_ms)).collect()
}

/// Asserts two key lists are equal, printing only their sizes and first difference.
fn same_keys(got: &[(u32, i64)], want: &[(u32, i64)]) {
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got == want,
        "{} positions stored, {} expected; first difference at {first:?}: {:?} vs {:?}",
        got.len(),
        want.len(),
        first.map(|i| got[i]),
        first.map(|i| want[i]),
    );
}

fn ingest(files: &[&Path], store: &Path) -> serde_json::Value {
    let args: Vec<&OsStr> = files.iter().map(|f| f.as_os_str()).collect();
    ingest_with(&args, store)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut f = std::fs::File::create(path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// The synthetic feed, with a second receiver (`sg-north`, a second later) hearing every
/// third one-sentence report too, and the store of one clean ingest of it.
fn feed(name: &str) -> (std::path::PathBuf, Vec<(u32, i64)>) {
    feed_of(name, 90)
}

fn feed_of(name: &str, minutes: u32) -> (std::path::PathBuf, Vec<(u32, i64)>) {
    let path = tmp(&format!("{name}.nmea"));
    sample(&path, minutes);
    let mut with_copies = Vec::new();
    for (i, l) in lines(&path).into_iter().enumerate() {
        let copy = (i % 3 == 0 && l.contains("!AIVDM,1,1,")).then(|| {
            let t: i64 = l.split("c:").nth(1).unwrap()[..10].parse().unwrap();
            retag(&l, "sg-north", t + 1)
        });
        with_copies.push(l);
        with_copies.extend(copy);
    }
    write_lines(&path, &with_copies);
    let clean = tmp(&format!("{name}-clean"));
    let s = ingest(&[&path], &clean);
    assert!(s["duplicates_merged"].as_u64().unwrap() > 100, "{s}");
    let k = keys(&clean);
    assert!(k.len() > 1000, "{} positions", k.len());
    (path, k)
}

#[test]
fn a_log_ingested_again_after_it_grew_stores_each_position_once() {
    let (path, clean) = feed("grown");
    let all = lines(&path);
    let log = tmp("grown-log.nmea");
    let store = tmp("grown-store");
    write_lines(&log, &all[..all.len() / 2]);
    let first = ingest(&[&log], &store);
    write_lines(&log, &all);
    let second = ingest(&[&log], &store);
    assert!(second["late_duplicates"].as_u64().unwrap() > 0, "{second}");
    same_keys(&keys(&store), &clean);
    // Static reports the first run stored are not counted again, nor are they changes.
    let once = ingest(&[&path], &tmp("grown-once-store"));
    let n = |s: &serde_json::Value, k: &str| s[k].as_u64().unwrap();
    let known = n(&second, "static_reports_known");
    assert!(known > n(&once, "static_reports") / 4, "{second}");
    let counted = n(&first, "static_reports") + n(&second, "static_reports");
    assert!(
        counted.abs_diff(n(&once, "static_reports")) <= 2,
        "{first}\n{second}\n{once}"
    );
    assert_eq!(
        n(&second, "identity_changes"),
        n(&once, "identity_changes") - n(&first, "identity_changes"),
        "{second}"
    );
    // The first half came again from the same feed and stations: each copy is one its stored
    // position lists already, not a late source to record. Only copies of the cut's
    // transmissions heard first before it and again after it (the second receiver, a second
    // later) add a source.
    let known = second["late_sources_known"].as_u64().unwrap();
    let recorded = second["late_sources_stored"].as_u64().unwrap();
    assert!(known > clean.len() as u64 / 3, "{second}");
    assert!(recorded <= 2, "{second}");
}

#[test]
fn the_same_data_compressed_stores_nothing_new() {
    let (path, clean) = feed("gz");
    let store = tmp("gz-store");
    ingest(&[&path], &store);
    let gz = tmp("gz-copy.nmea.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&path).unwrap()).unwrap();
    enc.finish().unwrap();
    let again = ingest(&[&gz], &store);
    assert_eq!(again["positions"], 0, "{again}");
    same_keys(&keys(&store), &clean);
}

#[test]
fn copies_of_one_transmission_split_over_two_runs_are_fused() {
    let (path, clean) = feed("halves");
    let all = lines(&path);
    let (a, b) = (tmp("halves-a.nmea"), tmp("halves-b.nmea"));
    // Cut between two copies of one transmission (the same sentence from two receivers),
    // past the middle.
    let sentence = |l: &str| l.rsplit('\\').next().unwrap_or(l).to_owned();
    let cut = (all.len() / 2..all.len() - 1)
        .find(|&i| {
            let s = sentence(&all[i]);
            s.contains(",1,1,")
                && all[i + 1..(i + 20).min(all.len())]
                    .iter()
                    .any(|l| sentence(l) == s)
        })
        .expect("a transmission heard twice")
        + 1;
    write_lines(&a, &all[..cut]);
    write_lines(&b, &all[cut..]);
    let store = tmp("halves-store");
    ingest(&[&a], &store);
    ingest(&[&b], &store);
    same_keys(&keys(&store), &clean);
}

/// A tag-blocked line with its station and `c:` time replaced (tag block checksum fixed).
fn retag(line: &str, station: &str, seconds: i64) -> String {
    let end = line[1..].find('*').unwrap() + 1;
    let tag = format!("s:{station},c:{seconds}");
    let sum = tag.bytes().fold(0u8, |a, b| a ^ b);
    let rest = &line[end + 3..];
    format!("\\{tag}*{sum:02X}{rest}")
}

#[test]
fn a_clock_years_ahead_is_rejected_and_moves_nothing() {
    let (path, clean) = feed("clock");
    let mut all = lines(&path);
    // One partner's receiver stamps one single-sentence report with 2033-05-18.
    let i = all
        .iter()
        .position(|l| l.contains("!AIVDM,1,1,") && l.contains("c:"))
        .unwrap();
    let original = all[i].clone();
    all[i] = retag(&original, "sg-west", 2_000_000_000);
    assert_ne!(all[i], original);
    let bad = tmp("clock-bad.nmea");
    write_lines(&bad, &all);
    let store = tmp("clock-store");
    let s = ingest(&[&bad], &store);
    assert_eq!(s["dropped"]["time_out_of_range"], 1, "{s}");
    let k = keys(&store);
    assert!(k.iter().all(|&(_, t)| t < 1_900_000_000_000));
    // Only that one copy is missing (another receiver may have heard the same report).
    let got: BTreeSet<_> = k.iter().collect();
    let want: BTreeSet<_> = clean.iter().collect();
    assert!(got.is_subset(&want));
    assert!(want.len() - got.len() <= 1);
}

/// A partner's decoded archive (US MarineCadastre layout, positions rounded to five
/// decimals) of positions another partner delivered as raw NMEA: one position each, in one
/// run or in two.
#[test]
fn a_decoded_archive_of_positions_heard_raw_adds_no_rows() {
    let (path, clean) = feed("csv");
    let store = tmp("csv-raw-store");
    ingest(&[&path], &store);
    let csv = tmp("csv-partner.csv");
    let mut f = std::fs::File::create(&csv).unwrap();
    writeln!(f, "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass").unwrap();
    // Archives are in time order (a file sorted by vessel would arrive hours out of order).
    let mut stored = rows(&store);
    stored.sort_by_key(|r| (r.time_ms, r.mmsi));
    for r in &stored {
        let t = chrono::DateTime::from_timestamp_millis(r.time_ms).unwrap();
        let opt = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.1}"));
        writeln!(
            f,
            "{},{},{:.5},{:.5},{},{},,,,,,,,,,,A",
            r.mmsi,
            t.format("%Y-%m-%dT%H:%M:%S"),
            r.lat,
            r.lon,
            opt(r.sog_knots),
            opt(r.cog_deg),
        )
        .unwrap();
    }
    drop(f);
    // Later, in a run of its own.
    let again = ingest(&[&csv], &store);
    assert_eq!(again["positions"], 0, "{again}");
    same_keys(&keys(&store), &clean);
    // Both partners in one run.
    let both = tmp("csv-both-store");
    ingest(&[&path, &csv], &both);
    same_keys(&keys(&both), &clean);
}

/// After `compact` the history of the month is one file spanning more than the span read at
/// once (6 h): a copy of the data (not byte-identical, so not skipped whole) adds nothing.
#[test]
fn a_compacted_month_still_recognises_stored_transmissions() {
    let (path, clean) = feed_of("compacted", 14 * 60);
    let store = tmp("compacted-store");
    ingest(&[&path], &store);
    let st = std::process::Command::new(common::bin())
        .args(["compact", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let files: Vec<String> = std::fs::read_to_string(store.join("manifest.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(files.len(), 1, "one month file: {files:?}");
    let copy = tmp("compacted-copy.nmea");
    std::fs::write(&copy, format!("# a copy\n{}\n", lines(&path).join("\n"))).unwrap();
    let again = ingest(&[&copy], &store);
    assert_eq!(again["positions"], 0, "{again}");
    same_keys(&keys(&store), &clean);
}
