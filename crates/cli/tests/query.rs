//! Issue 19, end to end through the binary: the read commands over the `query` library.
//! A read-only store, streaming GeoJSON, partition keys DuckDB types the same before and after
//! `compact`, `vessels` formats and filters (a renamed, reflagged tanker by its IMO), times
//! and durations, bounding boxes across the antimeridian, unknown MMSIs, and `--help`.

mod common;

use common::{bin, ingest_with, run_ok, tmp};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// ORIENT LEGEND (613012001, IMO 9488126) goes dark and reappears at 52 h as ORIENT GRACE under
/// a Gabon flag and a new MMSI.
const LEGEND: u32 = 613_012_001;
const IMO: &str = "9488126";

/// `ior-shadow-fleet` (96 hours, 30 vessels of background traffic), ingested once for all the tests here.
fn fleet_store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        let feed = tmp("fleet.nmea");
        let st = Command::new(bin())
            .args(["simulate", "ior-shadow-fleet", "--vessels", "30"])
            .args(["--seed", "3", "-q", "--out"])
            .arg(&feed)
            .status()
            .unwrap();
        assert!(st.success());
        let store = tmp("fleet-store");
        ingest_with(&[OsStr::new(&feed)], &store);
        store
    })
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fails(args: &[&str], store: &Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn issue_19_renamed_reflagged_tanker_by_imo_in_one_command() {
    let store = fleet_store();
    let found = lines(&run_ok(&["vessels", "--imo", IMO], store));
    let mmsis: Vec<u64> = found.iter().map(|v| v["mmsi"].as_u64().unwrap()).collect();
    assert_eq!(mmsis.len(), 2, "{found:?}");
    assert!(mmsis.contains(&(LEGEND as u64)));
    let new = found.iter().find(|v| v["mmsi"] != LEGEND).unwrap();
    assert_eq!(new["name"], "ORIENT GRACE");
    assert_eq!(new["flag"], "GA");
    assert_eq!(new["imo"].as_u64().unwrap().to_string(), IMO);
    // The listing has heading and navigation status.
    assert!(found.iter().all(|v| v.get("heading_deg").is_some()));
    assert!(found.iter().any(|v| v["nav_status"].is_u64()), "{found:?}");
}

#[test]
fn issue_19_vessels_filters() {
    let store = fleet_store();
    let all = lines(&run_ok(&["vessels"], store));
    assert!(all.len() > 20, "{}", all.len());
    let count = |args: &[&str]| lines(&run_ok(args, store)).len();
    let by = |pred: &dyn Fn(&Value) -> bool| all.iter().filter(|v| pred(v)).count();
    // Substring, case-insensitive.
    assert_eq!(count(&["vessels", "--name", "orient"]), 2);
    assert_eq!(count(&["vessels", "--name", "grace"]), 1);
    let ga = by(&|v| v["flag"] == "GA");
    assert!(ga >= 1);
    assert_eq!(count(&["vessels", "--flag", "ga"]), ga);
    let tankers = by(&|v| {
        v["ship_type"]
            .as_u64()
            .is_some_and(|t| (80..=89).contains(&t))
    });
    assert!(tankers >= 2 && tankers < all.len(), "{tankers}");
    assert_eq!(count(&["vessels", "--ship-type", "tanker"]), tankers);
    assert_eq!(count(&["vessels", "--ship-type", "80-89"]), tankers);
    let class_a = by(&|v| v["class"] == "A");
    assert_eq!(count(&["vessels", "--class", "A"]), class_a);
    let cs = all.iter().find_map(|v| v["callsign"].as_str()).unwrap();
    assert!(count(&["vessels", "--callsign", &cs.to_lowercase()]) >= 1);
    let moored = by(&|v| v["nav_status"] == 5);
    assert_eq!(count(&["vessels", "--nav-status", "5"]), moored);
    // Last seen since: the newest last_seen keeps at least that vessel, a later time none.
    let newest = all
        .iter()
        .filter_map(|v| v["last_seen"].as_str())
        .max()
        .unwrap()
        .to_owned();
    let recent = by(&|v| v["last_seen"].as_str() == Some(newest.as_str()));
    assert_eq!(count(&["vessels", "--since", &newest]), recent);
    assert_eq!(count(&["vessels", "--since", "now"]), 0);
    assert_eq!(count(&["vessels", "--since", "2026-06-01"]), all.len());
    // Filters combine.
    assert_eq!(count(&["vessels", "--imo", IMO, "--flag", "GA"]), 1);
}

#[test]
fn issue_19_vessels_formats_and_out() {
    let store = fleet_store();
    let all = lines(&run_ok(&["vessels"], store));
    let csv = run_ok(&["vessels", "--format", "csv"], store);
    let mut l = csv.lines();
    let header = l.next().unwrap();
    assert!(header.starts_with("mmsi,class,flag,name,"), "{header}");
    assert!(header.contains("heading_deg,nav_status"), "{header}");
    assert_eq!(l.count(), all.len());
    let out = tmp("vessels.geojson");
    assert_eq!(
        run_ok(
            &[
                "vessels",
                "--format",
                "geojson",
                "--out",
                out.to_str().unwrap()
            ],
            store
        ),
        ""
    );
    let g = common::read_json(&out);
    assert_eq!(g["type"], "FeatureCollection");
    let f = g["features"].as_array().unwrap();
    assert_eq!(f.len(), all.len());
    assert_eq!(f[0]["geometry"]["type"], "Point");
    assert_eq!(f[0]["properties"]["mmsi"], all[0]["mmsi"]);
}

#[test]
fn issue_19_track_formats_agree_and_geojson_streams() {
    let store = fleet_store();
    let id = LEGEND.to_string();
    let csv = run_ok(&["track", &id, "--format", "csv"], store);
    let n = csv.lines().count() - 1;
    assert!(n > 50, "{n}");
    let jsonl = lines(&run_ok(&["track", &id, "--format", "jsonl"], store));
    assert_eq!(jsonl.len(), n);
    let g: Value = serde_json::from_str(&run_ok(&["track", &id], store)).unwrap();
    let f = g["features"].as_array().unwrap();
    let points: Vec<&Value> = f
        .iter()
        .filter(|x| x["geometry"]["type"] == "Point")
        .collect();
    assert_eq!(points.len(), n);
    assert!(f[0]["geometry"]["type"] == "LineString");
    assert_eq!(points[0]["properties"], jsonl[0]);
    // The same vocabulary in every format.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let keys: Vec<&str> = jsonl[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut sorted = header.clone();
    sorted.sort();
    assert_eq!(sorted, keys);
    assert!(header.contains(&"sog_knots") && header.contains(&"cog_deg"));
}

#[test]
fn issue_19_times_and_durations() {
    let store = fleet_store();
    let id = LEGEND.to_string();
    let rfc = run_ok(
        &[
            "track",
            &id,
            "--format",
            "csv",
            "--from",
            "2026-06-01T01:00:00Z",
            "--to",
            "2026-06-01T03:00:00Z",
        ],
        store,
    );
    let unix = run_ok(
        &[
            "track",
            &id,
            "--format",
            "csv",
            "--from",
            "1780275600",
            "--to",
            "1780282800",
        ],
        store,
    );
    assert_eq!(rfc, unix);
    assert!(rfc.lines().count() > 2);
    let day = run_ok(
        &[
            "track",
            &id,
            "--format",
            "csv",
            "--from",
            "2026-06-01",
            "--to",
            "2026-06-02",
        ],
        store,
    );
    let all = run_ok(&["track", &id, "--format", "csv", "--to", "now"], store);
    assert!(day.lines().count() >= rfc.lines().count());
    assert_eq!(all, run_ok(&["track", &id, "--format", "csv"], store));
    assert_eq!(
        run_ok(
            &["track", &id, "--format", "csv", "--from", "now-1h"],
            store
        )
        .lines()
        .count(),
        1
    );
    // --at with a decimal or compound --max-age.
    let a = run_ok(
        &[
            "vessels",
            "--at",
            "2026-06-01T03:00:00Z",
            "--max-age",
            "1.5h",
        ],
        store,
    );
    let b = run_ok(
        &[
            "vessels",
            "--at",
            "2026-06-01T03:00:00Z",
            "--max-age",
            "1h30m",
        ],
        store,
    );
    let c = run_ok(
        &[
            "vessels",
            "--at",
            "2026-06-01T03:00:00Z",
            "--max-age",
            "5400",
        ],
        store,
    );
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert!(!a.is_empty());
    // A position exactly --max-age old counts: with 0, the picture of that instant.
    let first: serde_json::Value = serde_json::from_str(a.lines().next().unwrap()).unwrap();
    let t = first["position_time"].as_str().unwrap().to_owned();
    let instant = run_ok(&["vessels", "--at", &t, "--max-age", "0"], store);
    assert!(
        instant
            .lines()
            .any(|l| l.contains(&format!("\"mmsi\":{},", first["mmsi"]))),
        "{t}: {instant}"
    );
    let (_, err) = fails(&["track", &id, "--from", "yesterday"], store);
    assert!(
        err.contains("now-6h") && err.contains("Unix seconds"),
        "{err}"
    );
    let (_, err) = fails(&["vessels", "--at", "now", "--max-age", "5q"], store);
    assert!(
        err.contains("unknown unit `q`") && err.contains("bare number is seconds"),
        "{err}"
    );
    let (_, err) = fails(
        &["track", &id, "--from", "2026-06-02", "--to", "2026-06-01"],
        store,
    );
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn issue_19_bbox_across_the_antimeridian() {
    let store = fleet_store();
    let all = lines(&run_ok(&["vessels"], store));
    let east_of_50 = all
        .iter()
        .filter(|v| v["lon"].as_f64().is_some_and(|x| x >= 50.0))
        .count();
    assert!(east_of_50 > 0);
    // From 50°E eastward across 180° to 170°W: every vessel east of 50°E.
    let across = lines(&run_ok(&["vessels", "--bbox", "50,-90,-170,90"], store));
    assert_eq!(across.len(), east_of_50);
    // The complement, not crossing: none of them.
    let west = lines(&run_ok(&["vessels", "--bbox", "-170,-90,49.99,90"], store));
    assert_eq!(
        west.len() + across.len(),
        all.iter().filter(|v| v["lon"].is_f64()).count()
    );
    // Track positions too.
    let id = LEGEND.to_string();
    let n = run_ok(&["track", &id, "--format", "csv"], store)
        .lines()
        .count();
    let m = run_ok(
        &["track", &id, "--format", "csv", "--bbox", "50,-90,-170,90"],
        store,
    )
    .lines()
    .count();
    assert_eq!(n, m);
    let (_, err) = fails(&["vessels", "--bbox", "170,-95,-170,10"], store);
    assert!(err.contains("min_lat -95 is out of range"), "{err}");
    let (_, err) = fails(&["vessels", "--bbox", "170,-10,190,10"], store);
    assert!(err.contains("max_lon 190 is out of range"), "{err}");
}

#[test]
fn issue_19_unknown_mmsi_answers_alike() {
    let store = fleet_store();
    let (code_v, err_v) = fails(&["vessel", "999999999"], store);
    let (code_t, err_t) = fails(&["track", "999999999"], store);
    assert_eq!(code_v, code_t);
    assert_eq!(err_v, err_t);
    assert!(err_v.contains("MMSI 999999999 is not in"), "{err_v}");
    // A known vessel outside the range: an empty track, not an error.
    let empty = run_ok(
        &[
            "track",
            &LEGEND.to_string(),
            "--format",
            "csv",
            "--from",
            "2030-01-01",
        ],
        store,
    );
    assert_eq!(empty.lines().count(), 1);
}

/// A reader that stops reading (`| head -1`) ends the command quietly: exit 0, no panic.
#[test]
fn a_closed_output_pipe_ends_each_query_quietly() {
    let store = fleet_store();
    let legend = LEGEND.to_string();
    for args in [
        vec!["vessel", legend.as_str()],
        vec!["vessels"],
        vec!["track", legend.as_str()],
    ] {
        let mut child = Command::new(bin())
            .args(&args)
            .arg("--store")
            .arg(store)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before the command writes a byte.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn issue_19_help_explains_reports_and_flags() {
    for cmd in ["vessels", "vessel", "track"] {
        let out = Command::new(bin()).args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [
            "`reports`",
            "1 bad position",
            "2 moving with no course",
            "4 type 27",
            "now-6h",
            "1h30m",
            "antimeridian",
        ] {
            assert!(text.contains(want), "{cmd} --help lacks {want}: {text}");
        }
    }
}

/// A read-only view of `dir`: a read-only bind mount as root (so root's permissions cannot
/// hide a write), else the directory made unwritable (an ordinary user is refused writes).
struct ReadOnly {
    path: PathBuf,
    mounted: bool,
    original: PathBuf,
}

impl ReadOnly {
    fn new(dir: &Path, name: &str) -> Option<ReadOnly> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if root {
            let path = tmp(name);
            std::fs::create_dir_all(&path).unwrap();
            let ok = Command::new("mount")
                .args(["--bind", "-o", "ro"])
                .arg(dir)
                .arg(&path)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
            // Really read-only?
            if std::fs::write(path.join("probe"), b"x").is_ok() {
                std::fs::remove_file(path.join("probe")).ok();
                Command::new("umount").arg(&path).status().ok();
                return None;
            }
            Some(ReadOnly {
                path,
                mounted: true,
                original: dir.to_owned(),
            })
        } else {
            Command::new("chmod")
                .args(["-R", "a-w"])
                .arg(dir)
                .status()
                .ok()?;
            Some(ReadOnly {
                path: dir.to_owned(),
                mounted: false,
                original: dir.to_owned(),
            })
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.mounted {
            Command::new("umount").arg(&self.path).status().ok();
        } else {
            Command::new("chmod")
                .args(["-R", "u+w"])
                .arg(&self.original)
                .status()
                .ok();
        }
    }
}

#[test]
fn issue_19_read_only_store_answers() {
    let store = tmp("ro-src");
    let feed = tmp("ro.nmea");
    common::sample(&feed, 5);
    ingest_with(&[OsStr::new(&feed)], &store);
    let queries: [&[&str]; 4] = [
        &["vessels"],
        &["vessels", "--at", "now", "--max-age", "3650d"],
        &["vessel", "0"],
        &["track", "0", "--format", "csv"],
    ];
    let first = lines(&run_ok(&["vessels"], &store));
    let mmsi = first[0]["mmsi"].to_string();
    let fix = |a: &[&str]| -> Vec<String> {
        a.iter()
            .map(|x| {
                if *x == "0" {
                    mmsi.clone()
                } else {
                    (*x).to_owned()
                }
            })
            .collect()
    };
    let want: Vec<String> = queries
        .iter()
        .map(|q| {
            run_ok(
                &fix(q).iter().map(String::as_str).collect::<Vec<_>>(),
                &store,
            )
        })
        .collect();
    // A copy taken while a writer had the registry open: a `-wal` beside it but no `-shm`,
    // which SQLite cannot read read-only on a read-only file system without `immutable=1`.
    let copy = tmp("ro-wal-src");
    {
        let _writer = store::RegistryDb::open(&store.join("registry.sqlite")).unwrap();
        copy_dir(&store, &copy);
    }
    std::fs::remove_file(copy.join("registry.sqlite-shm")).ok();
    assert!(copy.join("registry.sqlite-wal").is_file());
    for (src, name) in [(&store, "ro-mount"), (&copy, "ro-wal-mount")] {
        let Some(ro) = ReadOnly::new(src, name) else {
            eprintln!("skipping: cannot make a read-only view (no bind mount as root)");
            return;
        };
        for (q, w) in queries.iter().zip(&want) {
            let args = fix(q);
            let out = Command::new(bin())
                .args(&args)
                .arg("--store")
                .arg(&ro.path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?} on a read-only store ({name}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                &String::from_utf8(out.stdout).unwrap(),
                w,
                "{args:?} {name}"
            );
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The README's DuckDB recipe over a store of the DMA sample, before and after `compact`: the
/// partition keys are typed the same (BIGINT) and a day's rows are counted the same.
#[test]
fn issue_19_duckdb_recipe_before_and_after_compact() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ais/dma-aisabnormal/ais-sample.txt.gz");
    if !sample.is_file() {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    }
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_duckdb {
        eprintln!("skipping: python3 with the duckdb module is not available");
        return;
    }
    let store = tmp("duck-dma");
    ingest_with(&[OsStr::new(&sample)], &store);
    // The recipe of README.md ("Reading the store with DuckDB").
    let recipe = |store: &Path| -> String {
        let script = format!(
            "import duckdb\n\
             c = duckdb.connect()\n\
             c.execute(\"SET TimeZone = 'UTC'\")\n\
             g = '{}/positions/*/*/*.parquet'\n\
             types = c.execute(f\"SELECT typeof(year), typeof(month) FROM read_parquet('{{g}}', hive_partitioning = true) LIMIT 1\").fetchone()\n\
             day = c.execute(f\"SELECT count(*) FROM read_parquet('{{g}}', hive_partitioning = true) WHERE year = 2013 AND month = 11 AND time >= TIMESTAMPTZ '2013-11-12 00:00:00+00' AND time < TIMESTAMPTZ '2013-11-13 00:00:00+00'\").fetchone()[0]\n\
             total = c.execute(f\"SELECT count(*) FROM read_parquet('{{g}}', hive_partitioning = true)\").fetchone()[0]\n\
             print(types[0], types[1], day, total)\n",
            store.display()
        );
        let out = Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let before = recipe(&store);
    let rows = common::rows(&store);
    let day_rows = rows
        .iter()
        .filter(|r| (1_384_214_400_000..1_384_300_800_000).contains(&r.time_ms))
        .count();
    assert!(day_rows > 0);
    assert_eq!(
        before.split_whitespace().collect::<Vec<_>>(),
        [
            "BIGINT",
            "BIGINT",
            &day_rows.to_string(),
            &rows.len().to_string()
        ]
    );
    let c: Value =
        serde_json::from_str(&run_ok(&["compact", "--before", "2013-12-01"], &store)).unwrap();
    assert_eq!(c["files_written"], 1, "{c}");
    assert_eq!(recipe(&store), before);
}
