//! Detection wired into ingest, end to end through the binary (issue 18): `eval` on a short
//! scenario builds the fixture (simulated input, truth, zones imported like a user's, a
//! watch-list file, and a store ingested in one run); events are stored and readable with
//! filters in every format; many small runs, a replay of the same inputs, and `detect`
//! recomputing from the stored history give the same events; `stats` on a zone.

mod common;

use common::{bin, run_ok, tmp};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `tidewatch eval scs-greyzone` for 6 h with 60 background vessels, kept: (directory, the
/// table printed, the JSON scores).
fn fixture() -> &'static (PathBuf, String, serde_json::Value) {
    static F: OnceLock<(PathBuf, String, serde_json::Value)> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tmp("eval");
        let json = tmp("eval.json");
        let out = Command::new(bin())
            .args([
                "eval",
                "scs-greyzone",
                "--hours",
                "6",
                "--seed",
                "5",
                "--vessels",
                "60",
            ])
            .arg("--json")
            .arg(&json)
            .arg("--keep")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "eval: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            dir,
            String::from_utf8(out.stdout).unwrap(),
            common::read_json(&json),
        )
    })
}

fn events(store: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["events", "--format", "jsonl"];
    args.extend_from_slice(extra);
    run_ok(&args, store)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What identifies an event's outcome: id, type, start, end, open, vessels.
fn keys(evs: &[serde_json::Value]) -> BTreeSet<String> {
    evs.iter()
        .map(|e| {
            let vs: Vec<&serde_json::Value> = e["vessels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| &v["mmsi"])
                .collect();
            format!(
                "{} {} {} {} {} {:?}",
                e["id"], e["type"], e["start"], e["end"], e["open"], vs
            )
        })
        .collect()
}

fn ingest(store: &Path, input: &Path, dir: &Path) -> String {
    common::ok_stderr(
        Command::new(bin())
            .arg("ingest")
            .arg(input)
            .arg("--store")
            .arg(store)
            .arg("--watchlist")
            .arg(dir.join("watchlist.json"))
            .args(["--reorder-window", "60m"]),
    )
}

#[test]
fn eval_prints_a_table_and_json_scores_against_the_truth() {
    let (dir, table, json) = fixture();
    assert!(table.starts_with("type"), "{table}");
    let truth = std::fs::read_to_string(dir.join("truth.jsonl")).unwrap();
    let kinds = json["kinds"].as_object().unwrap();
    // The land data scored with (eval fetches it on first use; null where it could not).
    let land = &json["land"];
    assert!(
        land.is_null() || land.as_str().unwrap().contains("Natural Earth"),
        "{land}"
    );
    let mut truth_total = 0;
    for (k, v) in kinds {
        assert!(table.contains(k.as_str()), "{k} not in {table}");
        let n = truth
            .lines()
            .filter(|l| l.contains(&format!("\"kind\":\"{k}\"")))
            .count();
        assert_eq!(v["truth"].as_u64().unwrap() as usize, n, "{k}");
        truth_total += n;
        let (tp, det) = (
            v["true_positives"].as_u64().unwrap(),
            v["detected"].as_u64().unwrap(),
        );
        assert!(tp <= det);
        if det > 0 {
            assert_eq!(v["precision"].as_f64().unwrap(), tp as f64 / det as f64);
        }
    }
    assert!(truth_total > 50, "{truth_total} truth events");
    // The kept store scores independently: its events are the ones counted.
    let stored = events(&dir.join("store"), &[]);
    let detected: u64 = kinds
        .values()
        .map(|v| v["detected"].as_u64().unwrap())
        .sum();
    assert_eq!(stored.len() as u64, detected);
    // Detection found the scripted behaviours (6 h of scs-greyzone: port calls, zone visits).
    for k in ["port_call", "zone_visit"] {
        assert!(
            kinds[k]["recall"].as_f64().unwrap() > 0.8,
            "{k}: {}",
            kinds[k]
        );
    }
}

#[test]
fn events_are_stored_by_ingest_and_read_with_filters_in_every_format() {
    let (dir, _, _) = fixture();
    let store = dir.join("store");
    let all = events(&store, &[]);
    assert!(all.len() > 50, "{} events", all.len());
    for e in &all {
        assert_eq!(e["id"].as_str().unwrap().len(), 16);
        let start = e["start"].as_str().unwrap();
        assert!(start.ends_with('Z') && start.len() >= 20, "{start}");
        assert!(e.get("start_ms").is_none());
        assert_eq!(e["open"].as_bool().unwrap(), e["end"].is_null());
    }
    let ports = events(&store, &["--type", "port_call"]);
    assert!(!ports.is_empty());
    assert!(ports.iter().all(|e| e["type"] == "port_call"));
    let mmsi = all[0]["vessels"][0]["mmsi"].as_u64().unwrap();
    let mine = events(&store, &["--mmsi", &mmsi.to_string()]);
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e["vessels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["mmsi"].as_u64() == Some(mmsi))));
    let open = events(&store, &["--open"]);
    assert_eq!(open.len(), all.iter().filter(|e| e["open"] == true).count());
    let zone = "Whitsun Reef (5 nm)";
    let inside = events(&store, &["--zone", zone]);
    assert!(!inside.is_empty());
    assert!(inside
        .iter()
        .all(|e| e["zones"].as_array().unwrap().iter().any(|z| z == zone)));
    assert!(events(&store, &["--to", "2000-01-01T00:00:00Z"]).is_empty());
    let geo: serde_json::Value =
        serde_json::from_str(&run_ok(&["events", "--format", "geojson"], &store)).unwrap();
    assert_eq!(geo["features"].as_array().unwrap().len(), all.len());
    assert_eq!(geo["features"][0]["geometry"]["type"], "Point");
    let csv = run_ok(&["events", "--format", "csv"], &store);
    assert!(csv.starts_with("id,type,start,end,open,mmsis,lat,lon,zones\n"));
    assert_eq!(csv.lines().count(), all.len() + 1);
    let table = run_ok(&["events"], &store);
    assert!(
        table.ends_with(&format!("{} event(s)\n", all.len())),
        "{table}"
    );
    // A type that does not exist is an error, not an empty answer.
    let bad = Command::new(bin())
        .args(["events", "--type", "encounters", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn many_small_runs_a_replay_and_detect_give_the_events_of_one_run() {
    let (dir, _, _) = fixture();
    let one = keys(&events(&dir.join("store"), &[]));
    // The same input in five runs (split at line boundaries, in delivery order).
    let text = std::fs::read_to_string(dir.join("sim.nmea")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let store = tmp("detect-many");
    run_ok(
        &[
            "zones",
            "import",
            dir.join("zones.geojson").to_str().unwrap(),
        ],
        &store,
    );
    let mut parts = Vec::new();
    for (i, chunk) in lines.chunks(lines.len() / 5 + 1).enumerate() {
        let p = tmp(&format!("detect-part-{i}.nmea"));
        std::fs::write(&p, chunk.join("\n") + "\n").unwrap();
        let summary = ingest(&store, &p, dir);
        assert!(summary.contains("detection: 17 zone(s)"), "{summary}");
        parts.push(p);
    }
    let many_all = events(&store, &[]);
    assert_eq!(keys(&many_all), one, "five runs differ from one");
    // Zones imported into a store with events: it says how to find them in the new zones.
    let (_, said) = common::run_ok_both(
        &[
            "zones",
            "import",
            dir.join("zones.geojson").to_str().unwrap(),
        ],
        &store,
    );
    assert!(said.contains("--write` finds them again"), "{said}");
    // A replay of the same inputs is skipped and changes nothing, and says so.
    for p in &parts {
        let summary = ingest(&store, p, dir);
        assert!(
            summary.contains("detection: nothing read; no event stored or changed"),
            "{summary}"
        );
    }
    assert_eq!(events(&store, &[]), many_all, "a replay changed the events");
    // `detect` recomputes the same events from the stored history ...
    let recomputed: Vec<serde_json::Value> = run_ok(&["detect", "--format", "jsonl"], &store)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(keys(&recomputed), one, "detect differs from ingest");
    // ... read a run's files at a time (five batches here) as well as all at once.
    let (batched, stderr) = common::run_ok_both(
        &["detect", "--format", "jsonl", "--batch-rows", "1"],
        &store,
    );
    let batches: usize = stderr
        .split_once(" batch(es)")
        .and_then(|(a, _)| a.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(batches > 1, "{stderr}");
    let batched: Vec<serde_json::Value> = batched
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(batched, recomputed, "detect in batches differs");
    // ... and writes them in place of the stored ones, after which ingest goes on from its
    // state.
    run_ok(&["detect", "--write", "--format", "csv"], &store);
    assert_eq!(keys(&events(&store, &[])), one);
    let only = run_ok(
        &["detect", "--types", "port_call", "--format", "jsonl"],
        &store,
    );
    assert!(only.lines().all(|l| l.contains("\"type\":\"port_call\"")));
}

#[test]
fn stats_count_vessels_and_vessel_days_in_a_zone() {
    let (dir, _, _) = fixture();
    let store = dir.join("store");
    let out = run_ok(
        &["stats", "--zone", "Whitsun Reef (5 nm)", "--json"],
        &store,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let vessels = v["vessels"].as_u64().unwrap();
    let days = v["vessel_days"].as_u64().unwrap();
    assert!(vessels > 10, "{v}");
    assert!(days >= vessels);
    let per_day: u64 = v["days"]
        .as_object()
        .unwrap()
        .values()
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(per_day, days);
    for by in ["by_flag", "by_ship_type"] {
        let m = v[by].as_object().unwrap();
        let n: u64 = m.values().map(|x| x["vessels"].as_u64().unwrap()).sum();
        assert_eq!(n, vessels, "{by}");
    }
    // The Whitsun Reef swarm is Chinese-flagged.
    assert!(v["by_flag"]["CN"]["vessels"].as_u64().unwrap() > 10, "{v}");
    // The vessels with a zone-visit event for that zone are counted (a vessel with a position
    // or two inside, too few for a visit, is present without a visit).
    let visits = events(
        &store,
        &["--type", "zone_visit", "--zone", "Whitsun Reef (5 nm)"],
    );
    let visitors: BTreeSet<u64> = visits
        .iter()
        .map(|e| e["vessels"][0]["mmsi"].as_u64().unwrap())
        .collect();
    assert!(visitors.len() as u64 <= vessels && visitors.len() as u64 * 10 >= vessels * 9);
    let none = Command::new(bin())
        .args(["stats", "--zone", "Atlantis", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(!none.status.success());
}

#[test]
fn an_archive_older_than_what_detection_has_seen_says_so_and_how_to_recompute() {
    // Newer data first, then an archive a week older: its positions are late data to the
    // detection state, and the run says so (the events for that week may be incomplete).
    let dir = tmp("older-archive");
    std::fs::create_dir_all(&dir).unwrap();
    let sim = |start: &str, name: &str| {
        let f = dir.join(name);
        let st = Command::new(bin())
            .args(["simulate", "scs-greyzone", "--hours", "1", "--vessels", "5"])
            .args(["--start", start, "-q", "--out"])
            .arg(&f)
            .status()
            .unwrap();
        assert!(st.success());
        f
    };
    let newer = sim("2026-01-08T00:00:00Z", "newer.nmea");
    let older = sim("2026-01-01T00:00:00Z", "older.nmea");
    let store = dir.join("store");
    let ingest = |f: &Path| {
        Command::new(bin())
            .args(["ingest", "-q", "--store"])
            .arg(&store)
            .arg(f)
            .output()
            .unwrap()
    };
    let first = ingest(&newer);
    assert!(first.status.success());
    // (The simulated feeds' satellite reports come later than the default reorder window:
    // the run may warn of those, but not of being older than detection's state.)
    assert!(!String::from_utf8_lossy(&first.stderr).contains("reached it as late data"));
    let second = ingest(&older);
    assert!(second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("reached it as late data")
            && err.contains("tidewatch detect --store DIR --write"),
        "{err}"
    );
}

#[test]
fn sar_detections_are_matched_to_the_vessels_there_and_the_rest_are_dark() {
    let (dir, _, _) = fixture();
    let store = dir.join("store");
    // Every vessel heard in the half hour before 03:00, as a SAR detection 200 m off where it
    // reported then; five detections in open water far from any.
    let at = "2026-04-16T03:00:00Z";
    let csv = run_ok(
        &["vessels", "--at", at, "--max-age", "30m", "--format", "csv"],
        &store,
    );
    let mut r = csv.lines();
    let head: Vec<&str> = r.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (m, la, lo, t) = (col("mmsi"), col("lat"), col("lon"), col("position_time"));
    let mut truth = Vec::new();
    let mut dets = String::from("detect_id,detect_timestamp,detect_lat,detect_lon\n");
    for line in r {
        let f: Vec<&str> = line.split(',').collect();
        let (Ok(lat), Ok(lon)) = (f[la].parse::<f64>(), f[lo].parse::<f64>()) else {
            continue;
        };
        let id = format!("d{}", truth.len());
        dets.push_str(&format!(
            "{id},{},{},{lon}\n",
            f[t],
            lat + 200.0 / 111_320.0
        ));
        truth.push((id, f[m].parse::<u64>().unwrap()));
    }
    assert!(truth.len() >= 10, "{} vessels at {at}", truth.len());
    for k in 0..5 {
        dets.push_str(&format!("sea{k},{at},{},{}\n", -30.0 - k as f64, -120.0));
    }
    dets.push_str("nothing,,1,1\n");
    let path = tmp("sar.csv");
    std::fs::write(&path, dets).unwrap();
    let (got, err) = common::run_ok_both(
        &["sar", path.to_str().unwrap(), "--format", "jsonl"],
        &store,
    );
    assert!(err.contains("left out: no time"), "{err}");
    let got: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), truth.len() + 5);
    // In a crowd (a moored swarm) two vessels 200 m apart may swap; nearly all are right.
    let right = truth
        .iter()
        .zip(&got)
        .filter(|((id, mmsi), g)| g["id"] == id.as_str() && g["mmsi"] == *mmsi)
        .count();
    assert!(
        right * 10 >= truth.len() * 9,
        "{right} of {}: {got:?}",
        truth.len()
    );
    assert!(got[..truth.len()].iter().all(|g| g["status"] == "matched"));
    assert!(got[truth.len()..]
        .iter()
        .all(|g| g["status"] == "dark" && g["mmsi"].is_null()));
    // --dark as GeoJSON: the five.
    let fc = run_ok(
        &[
            "sar",
            path.to_str().unwrap(),
            "--dark",
            "--format",
            "geojson",
        ],
        &store,
    );
    let fc: serde_json::Value = serde_json::from_str(&fc).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 5);

    // --write stores the dark ones as events (in a copy: the fixture is shared); with a gate
    // of a metre every detection is dark, and matching the file again as it should be
    // withdraws the ones matched now; a third write changes nothing; `detect --write` keeps
    // them.
    let copy = tmp("sar-store");
    copy_dir(&store, &copy);
    let write = |gate: &[&str]| {
        common::ok_stderr(
            Command::new(bin())
                .args(["sar", path.to_str().unwrap(), "--write"])
                .args(["--source", "s1-provider", "--format", "csv"])
                .args(gate)
                .arg("--store")
                .arg(&copy),
        )
    };
    // Beside a writer holding the store (a running server): no lock needed.
    let writer = store::Store::open(&copy).unwrap();
    let all = truth.len() + 5;
    let tight = ["--max-distance-m", "1", "--drift-m-per-min", "0"];
    let err = write(&tight);
    assert!(
        err.contains(&format!("{all} dark_vessel event(s) stored ({all} new)")),
        "{err}"
    );
    drop(writer);
    let err = write(&[]);
    assert!(
        err.contains(&format!(
            "5 dark_vessel event(s) stored (0 new), {} withdrawn",
            truth.len()
        )),
        "{err}"
    );
    assert!(write(&[]).contains("(0 new), 0 withdrawn"));
    let dark = events(&copy, &["--type", "dark_vessel"]);
    assert_eq!(dark.len(), 5, "{dark:?}");
    assert!(dark
        .iter()
        .all(|e| e["sources"] == serde_json::json!(["s1-provider"])
            && e["vessels"].as_array().unwrap().is_empty()));
    run_ok(&["detect", "--write", "--format", "csv"], &copy);
    assert_eq!(events(&copy, &["--type", "dark_vessel"]).len(), 5);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn a_reversed_time_window_is_refused_as_track_refuses_it() {
    let store = tmp("reversed-window");
    for cmd in ["events", "detect"] {
        let out = Command::new(bin())
            .args([cmd, "--store"])
            .arg(&store)
            .args([
                "--from",
                "2026-01-01T02:00:00Z",
                "--to",
                "2026-01-01T01:00:00Z",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("the time range is empty"), "{cmd}: {err}");
    }
}
