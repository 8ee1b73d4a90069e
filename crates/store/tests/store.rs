//! Store round trips, crash recovery, a model-based property test, and GeoParquet
//! interoperability (DuckDB or pyarrow reading the files as they are).

use proptest::prelude::*;
use std::path::Path;
use store::{PositionRow, Query, Store, StoreError};

/// A scratch directory, removed (with what is in it) when dropped, pass or fail. Derefs to its
/// path: keep it alive for as long as anything uses the directory.
struct Scratch(tempfile::TempDir);

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

/// A fresh, empty scratch directory named `tw-store-TAG-...`.
fn tmpdir(tag: &str) -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix(&format!("tw-store-{tag}-"))
            .tempdir()
            .unwrap(),
    )
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_768_435_200_000; // 2026-01-15

fn row(t: i64, mmsi: u32, lat: f64, lon: f64) -> PositionRow {
    PositionRow {
        time_ms: t,
        mmsi,
        lat,
        lon,
        sog_knots: Some(12.5),
        cog_deg: None,
        heading_deg: Some(90),
        nav_status: Some(0),
        msg_type: 1,
        segment: Some(0),
        flags: 0,
        sources: vec!["1/sg-west".to_owned(), "2".to_owned()],
    }
}

#[test]
fn round_trip_partitions_and_queries() {
    let dir = tmpdir("rt");
    let mut s = Store::create_or_open(&dir).unwrap();
    for k in 0..100 {
        s.append(row(
            T0 + k * 3_600_000,
            563_012_345,
            1.2 + k as f64 * 0.01,
            103.7,
        ));
        s.append(row(
            T0 + k * 3_600_000,
            419_001_234,
            15.0,
            70.0 + k as f64 * 0.1,
        ));
    }
    s.flush().unwrap();
    // 100 hours: 5 days.
    assert_eq!(s.files().len(), 5);
    assert!(s
        .files()
        .iter()
        .any(|f| f.file.starts_with("positions/year=2026/month=1/")));
    drop(s); // one writer at a time
    let s = Store::open(&dir).unwrap();
    assert_eq!(s.committed_rows(), 200);
    let all = s.query(&Query::default()).unwrap();
    assert_eq!(all.len(), 200);
    assert_eq!(all[0], row(T0, 419_001_234, 15.0, 70.0));
    let one = s
        .query(&Query {
            mmsi: Some(563_012_345),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(one.len(), 100);
    let day2 = s
        .query(&Query {
            from_ms: Some(T0 + DAY),
            to_ms: Some(T0 + 2 * DAY),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(day2.len(), 48);
    let bbox = s
        .query(&Query {
            bbox: Some([103.0, 1.0, 104.0, 1.5]),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(bbox.len(), 31);
    assert!(bbox.iter().all(|r| r.mmsi == 563_012_345 && r.lat <= 1.5));
}

/// Rows sharing an MMSI and a time (two transmitters on one MMSI) in several files come back
/// in the files' order at every query, however the reading threads share the files out.
#[test]
fn rows_sharing_mmsi_and_time_keep_the_files_order() {
    let dir = tmpdir("ties");
    let mut s = Store::create_or_open(&dir).unwrap();
    for k in 0..12 {
        s.append(row(T0, 563_012_345, k as f64, 103.7));
        s.flush().unwrap();
    }
    assert_eq!(s.files().len(), 12);
    drop(s);
    let s = Store::open(&dir).unwrap();
    let want: Vec<f64> = (0..12).map(|k| k as f64).collect();
    for _ in 0..20 {
        let lats: Vec<f64> = s
            .query(&Query::default())
            .unwrap()
            .iter()
            .map(|r| r.lat)
            .collect();
        assert_eq!(lats, want);
    }
}

#[test]
fn recovery_after_interrupted_flushes() {
    let dir = tmpdir("crash");
    let mut s = Store::create_or_open(&dir).unwrap();
    s.append(row(T0, 1, 1.0, 1.0));
    s.flush().unwrap();
    drop(s);
    // A crash mid-flush leaves: a file in tmp/, a renamed file without its manifest line, and
    // a torn manifest line.
    std::fs::write(dir.join("tmp/part-00000009.parquet"), b"partial").unwrap();
    let orphan = dir.join("positions/year=2026/month=1/part-00000008.parquet");
    std::fs::write(&orphan, b"not committed").unwrap();
    // and one in a partition of the layout before issue 19.
    std::fs::create_dir_all(dir.join("positions/date=2026-01-15")).unwrap();
    let old_orphan = dir.join("positions/date=2026-01-15/part-00000007.parquet");
    std::fs::write(&old_orphan, b"not committed").unwrap();
    let mut m = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("manifest.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut m, b"{\"file\":\"positions/date=2026-01-15/part-0000").unwrap();
    drop(m);
    let s = Store::open(&dir).unwrap();
    assert_eq!(s.committed_rows(), 1);
    assert!(!orphan.exists());
    assert!(!old_orphan.exists());
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).unwrap();
    assert!(manifest.ends_with('\n') && manifest.lines().count() == 1);
    assert_eq!(
        s.query(&Query::default()).unwrap(),
        vec![row(T0, 1, 1.0, 1.0)]
    );
}

#[test]
fn not_a_store_and_corrupt_stores_are_clear_errors() {
    let dir = tmpdir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let e = Store::open(&dir).unwrap_err().to_string();
    assert!(e.contains("is not a Tidewatch store"), "{e}");
    let mut s = Store::create_or_open(&dir).unwrap();
    s.append(row(T0, 1, 1.0, 1.0));
    s.flush().unwrap();
    let file = dir.join(&s.files()[0].file);
    drop(s);
    std::fs::write(&file, b"garbage").unwrap();
    let s = Store::open(&dir).unwrap();
    let e = s.query(&Query::default()).unwrap_err().to_string();
    assert!(e.contains("corrupt store file"), "{e}");
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(i64, u32, i32, i32)>),
    Flush,
    Reopen,
    TornAppend,
    Query(Option<u32>, Option<(i64, i64)>),
}

fn op() -> impl Strategy<Value = Op> {
    let rows = proptest::collection::vec((0i64..5 * DAY, 1u32..6, -80i32..80, -170i32..170), 0..20);
    prop_oneof![
        4 => rows.prop_map(Op::Append),
        2 => Just(Op::Flush),
        1 => Just(Op::Reopen),
        1 => Just(Op::TornAppend),
        2 => (proptest::option::of(1u32..6), proptest::option::of((0i64..5 * DAY, 0i64..DAY)))
            .prop_map(|(m, t)| Op::Query(m, t)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random appends, flushes, reopens (pending rows lost, as after a crash), torn manifest
    /// appends and queries against an in-memory model of the committed rows.
    #[test]
    fn store_matches_model(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tmpdir("model");
        let mut s = Store::create_or_open(&dir).unwrap();
        let mut committed: Vec<PositionRow> = Vec::new();
        let mut pending: Vec<PositionRow> = Vec::new();
        for o in ops {
            match o {
                Op::Append(rows) => {
                    for (t, m, lat, lon) in rows {
                        let r = row(T0 + t, m, lat as f64, lon as f64);
                        pending.push(r.clone());
                        s.append(r);
                    }
                }
                Op::Flush => {
                    s.flush().unwrap();
                    committed.append(&mut pending);
                }
                Op::Reopen => {
                    drop(s);
                    pending.clear();
                    s = Store::open(&dir).unwrap();
                }
                Op::TornAppend => {
                    drop(s);
                    pending.clear();
                    let mut m = std::fs::OpenOptions::new().append(true).open(dir.join("manifest.jsonl")).unwrap();
                    std::io::Write::write_all(&mut m, b"{\"file\":\"pos").unwrap();
                    drop(m);
                    s = Store::open(&dir).unwrap();
                }
                Op::Query(mmsi, window) => {
                    let q = Query {
                        mmsi,
                        from_ms: window.map(|w| T0 + w.0),
                        to_ms: window.map(|w| T0 + w.0 + w.1),
                        bbox: None,
                        committed_runs: None,
                    };
                    let got = s.query(&q).unwrap();
                    let mut want: Vec<PositionRow> = committed
                        .iter()
                        .filter(|r| mmsi.is_none_or(|m| r.mmsi == m))
                        .filter(|r| window.is_none_or(|w| r.time_ms >= T0 + w.0 && r.time_ms < T0 + w.0 + w.1))
                        .cloned()
                        .collect();
                    want.sort_by_key(|r| (r.mmsi, r.time_ms));
                    let key = |v: &Vec<PositionRow>| v.iter().map(|r| (r.mmsi, r.time_ms, r.lat.to_bits(), r.lon.to_bits())).collect::<Vec<_>>();
                    let (mut g, mut w) = (key(&got), key(&want));
                    g.sort_unstable();
                    w.sort_unstable();
                    prop_assert_eq!(g, w);
                }
            }
        }
        prop_assert_eq!(s.committed_rows(), committed.len() as u64);
    }
}

/// DuckDB (or pyarrow) reads the GeoParquet as is: same rows, and a bounding-box query on the
/// geometry agrees. Skips when neither Python module is installed (CI installs DuckDB).
#[test]
fn duckdb_reads_the_geoparquet() {
    let has = |m: &str| {
        std::process::Command::new("python3")
            .args(["-c", &format!("import {m}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has("duckdb") {
        eprintln!("skipping: python3 with the duckdb module is not available");
        return;
    }
    let dir = tmpdir("duck");
    let mut s = Store::create_or_open(&dir).unwrap();
    for k in 0..50 {
        s.append(row(
            T0 + k * 60_000,
            563_012_345,
            1.0 + k as f64 * 0.02,
            103.7,
        ));
    }
    s.flush().unwrap();
    let script = format!(
        "import duckdb\n\
         c = duckdb.connect()\n\
         g = '{}/positions/*/*/*.parquet'\n\
         n = c.execute(f\"select count(*) from read_parquet('{{g}}', hive_partitioning=true)\").fetchone()[0]\n\
         b = c.execute(f\"select count(*) from read_parquet('{{g}}') where lat between 1.2 and 1.5 and lon between 103 and 104\").fetchone()[0]\n\
         t = c.execute(f\"select epoch_ms(min(time)), max(mmsi), any_value(year) * 100 + any_value(month) from read_parquet('{{g}}', hive_partitioning=true)\").fetchone()\n\
         import json\n\
         md = c.execute(f\"select value from parquet_kv_metadata('{{g}}') where key = 'geo'\").fetchone()[0]\n\
         geo = json.loads(md)\n\
         print(n, b, t[0], t[1], str(t[2]), geo['primary_column'], geo['columns']['geometry']['encoding'])\n",
        dir.display()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let want_bbox = (0..50)
        .filter(|k| (1.2..=1.5).contains(&(1.0 + *k as f64 * 0.02)))
        .count();
    assert_eq!(
        text.split_whitespace().collect::<Vec<_>>(),
        vec![
            "50",
            &want_bbox.to_string(),
            &T0.to_string(),
            "563012345",
            "202601",
            "geometry",
            "WKB"
        ]
    );
}

#[test]
fn read_only_open_leaves_a_writer_in_progress_alone() {
    let dir = tmpdir("read-only");
    let mut s = Store::create_or_open(&dir).unwrap();
    s.append(row(1_768_435_200_000, 563_000_001, 1.2, 103.8));
    s.flush().unwrap();
    // A writer is mid-flush: a file in tmp/ and a manifest line being appended.
    let tmp_file = dir.join("tmp").join("part-00000009.parquet");
    std::fs::write(&tmp_file, b"PAR1").unwrap();
    let manifest = dir.join("manifest.jsonl");
    let before = std::fs::read(&manifest).unwrap();
    let mut torn = before.clone();
    torn.extend_from_slice(b"{\"file\":\"pos");
    std::fs::write(&manifest, &torn).unwrap();

    let mut r = Store::open_read_only(&dir).unwrap();
    assert_eq!(r.query(&Query::default()).unwrap().len(), 1);
    assert!(tmp_file.exists(), "a reader deleted a writer's file");
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        torn,
        "a reader changed the manifest"
    );
    r.append(row(1_768_435_200_000, 563_000_002, 1.2, 103.8));
    assert!(r.flush().is_err());
    assert!(Store::open_read_only(&dir.join("missing")).is_err());
}

#[test]
fn compaction_merges_closed_months_and_keeps_every_row() {
    let dir = tmpdir("compact");
    let mut s = Store::create_or_open(&dir).unwrap();
    // 2026-01-15 .. 2026-02-23: two flushes a day, three vessels.
    for d in 0..40 {
        for half in 0..2 {
            for v in 0..3u32 {
                s.append(row(
                    T0 + d * DAY + half * 43_200_000 + v as i64,
                    563_000_000 + v,
                    1.0 + d as f64 * 0.01,
                    104.0,
                ));
            }
            s.flush().unwrap();
        }
    }
    let before = s.query(&Query::default()).unwrap();
    let files_before = s.files().len();
    let bound = s.current_month_start_ms().unwrap();
    assert_eq!(bound, 1_769_904_000_000); // 2026-02-01
    let c = s.compact(bound, |_| true).unwrap();
    assert_eq!(c.months, vec!["2026-01".to_owned()]);
    assert_eq!(c.files_removed, 34); // 17 January days, two files each
    assert_eq!(s.files().len(), files_before - 34 + 1);
    assert!(s
        .files()
        .iter()
        .any(|f| f.file.starts_with("positions/year=2026/month=1/") && f.month));
    // Only the month file is left in January's partition (issue 19: one layout for both).
    let jan: Vec<_> = std::fs::read_dir(dir.join("positions/year=2026/month=1"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(jan.len(), 1);
    // The same rows, read back through a fresh open; a track from both layouts.
    drop(s); // one writer at a time
    let s = Store::open(&dir).unwrap();
    assert_eq!(s.query(&Query::default()).unwrap(), before);
    let q = Query {
        mmsi: Some(563_000_001),
        ..Query::default()
    };
    assert_eq!(s.query(&q).unwrap().len(), 80);
    // Again: nothing left to do.
    drop(s); // one writer at a time
    let mut s = Store::open(&dir).unwrap();
    assert_eq!(s.compact(bound, |_| true).unwrap().files_written, 0);
    // Everything, the month still being written too (files outside any run count as committed).
    let c = s.compact(i64::MAX, |_| false).unwrap();
    assert_eq!(c.months, vec!["2026-02".to_owned()]);
    assert_eq!(s.query(&Query::default()).unwrap(), before);
}

#[test]
fn a_reader_opened_before_compaction_still_reads() {
    let dir = tmpdir("compact-reader");
    let mut s = Store::create_or_open(&dir).unwrap();
    for d in 0..3 {
        s.append(row(T0 + d * DAY, 563_000_000, 1.0, 104.0));
        s.flush().unwrap();
    }
    let reader = Store::open_read_only(&dir).unwrap();
    s.compact(i64::MAX, |_| true).unwrap();
    assert_eq!(reader.query(&Query::default()).unwrap().len(), 3);
}

#[test]
fn one_writer_at_a_time_and_readers_beside_it() {
    let dir = tmpdir("lock");
    let mut s = Store::create_or_open(&dir).unwrap();
    s.append(row(T0, 1, 1.0, 1.0));
    s.flush().unwrap();
    // A second writer is refused before it repairs anything: an uncommitted file of the live
    // writer (as a flush in progress leaves it) survives the attempt.
    let in_flight = dir.join("tmp/part-00000001.parquet");
    std::fs::write(&in_flight, b"being written").unwrap();
    let e = Store::open(&dir).unwrap_err();
    assert!(matches!(e, StoreError::Locked(_)), "{e}");
    assert!(
        e.to_string()
            .contains("another tidewatch process is writing"),
        "{e}"
    );
    assert!(matches!(
        Store::create_or_open(&dir),
        Err(StoreError::Locked(_))
    ));
    assert!(in_flight.exists());
    // Readers may run beside the writer.
    let r = Store::open_read_only(&dir).unwrap();
    assert_eq!(r.query(&Query::default()).unwrap().len(), 1);
    // Once the writer is gone the lock is free again, and recovery runs.
    drop(s);
    let s = Store::open(&dir).unwrap();
    assert!(!in_flight.exists());
    assert_eq!(s.committed_rows(), 1);
}

/// Many vessels' windows in one pass give the rows that one query per vessel over the span of
/// its windows gives, in the same order: over several files and days, with vessels absent,
/// windows holding nothing, and two windows of one vessel joined.
#[test]
fn windows_of_many_vessels_read_as_one_query_per_vessel() {
    use store::VesselWindow;
    let dir = tmpdir("windows");
    let mut s = Store::create_or_open(&dir).unwrap();
    let mmsi = |v: u32| 200_000_000 + v * 7_919;
    for flush in 0..3i64 {
        for k in 0..40i64 {
            for v in 0..300u32 {
                let t = T0 + flush * DAY * 2 / 3 + k * 60_000 + v as i64;
                s.append(row(
                    t,
                    mmsi(v),
                    10.0 + v as f64 * 0.001,
                    60.0 + k as f64 * 0.01,
                ));
            }
        }
        s.flush().unwrap();
    }
    assert!(s.files().len() >= 3);
    let mut windows = Vec::new();
    for v in (0..300u32).step_by(7) {
        let from = T0 + (v as i64 % 3) * DAY * 2 / 3 + (v as i64 % 40) * 60_000;
        windows.push(VesselWindow {
            mmsi: mmsi(v),
            from_ms: from,
            to_ms: from + 1 + (v as i64 % 5) * 60_000,
        });
    }
    // A second window of one vessel (joined with its first), a vessel not in the store, and
    // a window before any row.
    windows.push(VesselWindow {
        mmsi: mmsi(14),
        from_ms: T0 + DAY,
        to_ms: T0 + DAY + 600_000,
    });
    windows.push(VesselWindow {
        mmsi: 999_999_999,
        from_ms: T0,
        to_ms: T0 + DAY,
    });
    windows.push(VesselWindow {
        mmsi: mmsi(21),
        from_ms: T0 - DAY,
        to_ms: T0 - DAY + 1,
    });
    let got = s.query_windows(&windows, None).unwrap();
    let mut want = Vec::new();
    let mut spans: std::collections::BTreeMap<u32, (i64, i64)> = Default::default();
    for w in &windows {
        let e = spans.entry(w.mmsi).or_insert((w.from_ms, w.to_ms));
        *e = (e.0.min(w.from_ms), e.1.max(w.to_ms));
    }
    for (&m, &(from, to)) in &spans {
        want.extend(
            s.query(&Query {
                mmsi: Some(m),
                from_ms: Some(from),
                to_ms: Some(to),
                ..Query::default()
            })
            .unwrap(),
        );
    }
    assert!(want.len() > 60, "{}", want.len());
    assert_eq!(got, want);
    assert!(s.query_windows(&[], None).unwrap().is_empty());
}

#[test]
fn the_arrow_schema_carries_the_geo_metadata_for_readers_of_a_directory() {
    // pyarrow datasets (and so GeoPandas on `positions/`) take a directory's metadata from
    // the Arrow schema each file embeds, not from the footer's key-value pairs.
    let dir = tmpdir("arrow-geo");
    let path = dir.join("one.parquet");
    store::write_geoparquet(&path, &[row(T0, 219_000_001, 56.0, 10.0)]).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let geo: serde_json::Value = serde_json::from_str(&builder.schema().metadata()["geo"]).unwrap();
    assert_eq!(geo["primary_column"], "geometry");
    assert_eq!(geo["columns"]["geometry"]["encoding"], "WKB");
    // The footer's own `geo` keeps the file's bbox.
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap();
    let footer = kv.iter().find(|k| k.key == "geo").unwrap();
    assert!(footer
        .value
        .as_deref()
        .unwrap()
        .contains("\"bbox\":[10,56,10,56]"));
}
