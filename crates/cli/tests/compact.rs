//! `tidewatch compact` end to end: closed months merged with every row kept, the month still
//! being written left alone, a second run a no-op, and one writer at a time (a compaction or
//! an ingest beside a live writer is refused before it touches anything).

mod common;

use common::{bin, ingest_with, rows, run_ok, tmp};
use std::path::Path;
use std::process::Command;

fn compact(store: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["compact"];
    args.extend_from_slice(extra);
    serde_json::from_str(&run_ok(&args, store)).unwrap()
}

fn files(store: &Path) -> Vec<String> {
    store::Store::open_read_only(store)
        .unwrap()
        .files()
        .iter()
        .map(|f| f.file.clone())
        .collect()
}

/// Simulated traffic across a month boundary (23:00 on 31 January to 02:00 on 1 February),
/// ingested into a fresh store.
fn store_across_a_month_end(name: &str) -> std::path::PathBuf {
    let feed = tmp(&format!("{name}.nmea"));
    let st = Command::new(bin())
        .args(["simulate", "ior-traffic", "--vessels", "30", "--hours", "3"])
        .args([
            "--start",
            "2026-01-31T23:00:00Z",
            "--seed",
            "7",
            "-q",
            "--out",
        ])
        .arg(&feed)
        .status()
        .unwrap();
    assert!(st.success());
    let store = tmp(&format!("{name}-store"));
    ingest_with(&[feed.as_os_str()], &store);
    store
}

#[test]
fn closed_months_become_one_file_each_and_keep_every_row() {
    let store = store_across_a_month_end("compact");
    let before = rows(&store);
    let jan_end_ms = 1_769_904_000_000; // 2026-02-01T00:00:00Z
    let jan_rows = before.iter().filter(|r| r.time_ms < jan_end_ms).count() as u64;
    assert!(jan_rows > 0 && (jan_rows as usize) < before.len());
    let mmsi = before[before.len() / 2].mmsi.to_string();
    let track_before = run_ok(&["track", &mmsi, "--format", "csv"], &store);

    // Default bound: the month of the newest position (February) stays in day files.
    let c = compact(&store, &[]);
    assert_eq!(c["months"], serde_json::json!(["2026-01"]), "{c}");
    assert_eq!(c["rows"].as_u64().unwrap(), jan_rows);
    assert_eq!(c["files_written"], 1);
    // Issue 19: the month file sits in the partition of its day files (`year=/month=`), so
    // Hive readers see the same integer keys before and after compaction.
    let after = files(&store);
    let jan: Vec<_> = after
        .iter()
        .filter(|f| f.starts_with("positions/year=2026/month=1/"))
        .collect();
    assert_eq!(jan.len(), 1, "{after:?}");
    assert!(after
        .iter()
        .any(|f| f.starts_with("positions/year=2026/month=2/")));
    assert_eq!(
        std::fs::read_dir(store.join("positions/year=2026/month=1"))
            .unwrap()
            .count(),
        1
    );

    // The same rows and the same track, read through the month file.
    assert_eq!(rows(&store), before);
    assert_eq!(
        run_ok(&["track", &mmsi, "--format", "csv"], &store),
        track_before
    );

    // Nothing left to do; an explicit bound after February merges it too.
    assert_eq!(compact(&store, &[])["files_written"], 0);
    let c = compact(&store, &["--before", "2026-03-01"]);
    assert_eq!(c["months"], serde_json::json!(["2026-02"]), "{c}");
    assert_eq!(rows(&store), before);
    // The store still takes new runs after compaction.
    let more = tmp("compact-more.nmea");
    common::sample(&more, 5);
    let stats = ingest_with(&[more.as_os_str()], &store);
    assert_eq!(
        rows(&store).len() as u64,
        before.len() as u64 + stats["positions"].as_u64().unwrap()
    );
}

#[test]
fn a_second_writer_is_refused_and_readers_are_not() {
    let store = store_across_a_month_end("lock");
    let files_before = files(&store);
    // Hold the writer lock as a running ingest does.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(store.join("writer.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let feed = tmp("lock-more.nmea");
    common::sample(&feed, 5);
    for args in [
        vec!["compact", "--store", store.to_str().unwrap()],
        vec![
            "ingest",
            feed.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "-q",
        ],
    ] {
        let out = Command::new(bin()).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("another tidewatch process is writing to"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(files(&store), files_before);
    // Readers run beside the writer.
    assert!(!run_ok(&["vessels"], &store).is_empty());
    drop(lock);
    assert_eq!(
        compact(&store, &[])["months"],
        serde_json::json!(["2026-01"])
    );
}

#[test]
fn compact_errors_are_clear() {
    let missing = tmp("compact-missing");
    let out = Command::new(bin())
        .args(["compact", "--store"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("registry.sqlite"), "{err}");
    let out = Command::new(bin())
        .args(["compact", "--store", "x", "--before", "January"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a date (2026-01-15)"), "{err}");
}
