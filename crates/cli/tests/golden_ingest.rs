//! Golden fusion and segmentation results on real captures: the Danish Maritime Authority's
//! (two receivers hearing most transmissions, `!AIVDM` and `!BSVDM`) and the Norwegian Coastal
//! Administration's (many base stations, tag blocks). For each capture the run's accounting and,
//! per vessel, positions / segments / flagged positions / positions heard by several receivers
//! are compared with `tests/golden/ingest/<capture>.txt`. The captures are read from
//! `../shared/data/ais` (skipped with a message when absent); only these derived counts are kept
//! in the repository. `TIDEWATCH_BLESS=1` rewrites the golden files after a deliberate change.

mod common;

use common::{ingest_with, rows, tmp};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const CAPTURES: &[&str] = &[
    "dma-aisabnormal/212123000_drift_1.ais",
    "dma-aisabnormal/538004030_drift_1.ais",
    "dma-aisabnormal/219165000_ssc_1.ais",
    "dma-aisabnormal/ais-sample.txt.gz",
    "kystverket/Ais1000Lines.nm4",
    "kystverket/norwegian.raw",
];

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ais");
    p.is_dir().then_some(p)
}

/// The derived result of ingesting one capture, as text.
fn result(capture: &Path, name: &str) -> String {
    let store = tmp(&format!("golden-{}", name.replace('/', "-")));
    let s = ingest_with(&[OsStr::new(capture)], &store);
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} missing: {s}"));
    // Every vessel report is a position, a static report, or a copy of one.
    assert_eq!(
        n("vessel_reports"),
        n("positions") + n("static_reports") + n("duplicates_merged") + n("late_duplicates"),
        "{s}"
    );
    let mut out = String::new();
    for k in [
        "lines",
        "messages",
        "vessel_reports",
        "other_messages",
        "duplicates_merged",
        "late_duplicates",
        "released_out_of_order",
        "positions",
        "flagged",
        "static_reports",
        "vessels",
        "segments",
        "identity_changes",
        "identity_first_fills",
    ] {
        writeln!(out, "{k} {}", n(k)).unwrap();
    }
    writeln!(out, "rejected {}", s["rejected"]).unwrap();
    writeln!(out, "dropped {}", s["dropped"]).unwrap();
    writeln!(out, "# mmsi positions segments flagged multi_source").unwrap();
    let mut per: BTreeMap<u32, (u64, std::collections::BTreeSet<u32>, u64, u64)> = BTreeMap::new();
    for r in rows(&store) {
        let e = per.entry(r.mmsi).or_default();
        e.0 += 1;
        e.1.extend(r.segment);
        e.2 += u64::from(r.flags != 0);
        e.3 += u64::from(r.sources.len() > 1);
    }
    for (mmsi, (p, segs, f, m)) in per {
        writeln!(out, "{mmsi} {p} {} {f} {m}", segs.len()).unwrap();
    }
    out
}

/// Compares `got` with `tests/golden/<kind>/<capture>.txt` (or writes it there when
/// `TIDEWATCH_BLESS` is set); a mismatch as its first differing lines.
fn compare(kind: &str, name: &str, got: &str) -> Option<String> {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(kind);
    let file = golden_dir.join(format!("{}.txt", name.replace('/', "__")));
    if std::env::var_os("TIDEWATCH_BLESS").is_some() {
        std::fs::create_dir_all(&golden_dir).unwrap();
        std::fs::write(&file, got).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "{} missing; run with TIDEWATCH_BLESS=1 to create it",
            file.display()
        )
    });
    if got == want {
        return None;
    }
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let diff: Vec<String> = (0..w.len().max(g.len()))
        .filter(|&i| w.get(i) != g.get(i))
        .take(5)
        .map(|i| {
            let at = |v: &[&str]| v.get(i).copied().unwrap_or("(none)").to_owned();
            format!("  want {}\n  got  {}", at(&w), at(&g))
        })
        .collect();
    Some(format!("{name}:\n{}", diff.join("\n")))
}

#[test]
fn real_captures_fuse_and_segment_as_recorded() {
    let Some(dir) = shared() else {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    };
    let mut failures = Vec::new();
    for name in CAPTURES {
        let got = result(&dir.join(name), name);
        failures.extend(compare("ingest", name, &got));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_drift_captures_show_both_receivers_on_most_positions() {
    let Some(dir) = shared() else {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    };
    let capture = dir.join("dma-aisabnormal/538004030_drift_1.ais");
    let store = tmp("golden-drift-sources");
    ingest_with(&[OsStr::new(&capture)], &store);
    let got = rows(&store);
    let vessel: Vec<_> = got.iter().filter(|r| r.mmsi == 538_004_030).collect();
    assert!(vessel.len() > 100, "{}", vessel.len());
    let both = vessel
        .iter()
        .filter(|r| {
            r.sources.iter().any(|s| s.ends_with("/AI"))
                && r.sources.iter().any(|s| s.ends_with("/BS"))
        })
        .count();
    assert!(both * 2 > vessel.len(), "{both} of {}", vessel.len());
    // A drifting vessel is one continuous track.
    let segments: std::collections::BTreeSet<_> = vessel.iter().map(|r| r.segment).collect();
    assert!(segments.len() <= 3, "{segments:?}");
}

/// Captures whose detected events are kept as golden files: the DMA drift and speed-change
/// tracks (loitering), the DMA sample (positions on land), the Norwegian samples, and the
/// AMSA satellite captures as one input (identity changes, jumps). The AISHub sample has no
/// receive times: nothing of it is stored.
const EVENT_CAPTURES: &[&str] = &[
    "dma-aisabnormal/212123000_drift_1.ais",
    "dma-aisabnormal/538004030_drift_1.ais",
    "dma-aisabnormal/219165000_ssc_1.ais",
    "dma-aisabnormal/ais-sample.txt.gz",
    "kystverket/Ais1000Lines.nm4",
    "kystverket/norwegian.raw",
    "amsa-risky",
    "dma-aislib/stream_example.txt",
];

/// The events detected on one capture, one line each (type, start, end, open, vessels and
/// position to 1e-4 degree), sorted; `None` when ingest ran without the land data (the
/// spoofing and loitering results depend on it).
fn detected(capture: &Path, name: &str) -> Option<String> {
    let store = tmp(&format!("golden-events-{}", name.replace('/', "-")));
    let out = std::process::Command::new(common::bin())
        .arg("ingest")
        .arg(capture)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // The run's summary goes to stderr.
    let printed = String::from_utf8_lossy(&out.stderr);
    if !printed.contains("land data world-atlas") {
        return None;
    }
    let listed = std::process::Command::new(common::bin())
        .args(["events", "--format", "jsonl", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let mut lines: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            let mmsis: Vec<String> = e["vessels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["mmsi"].to_string())
                .collect();
            format!(
                "{} {} {} {} {} {:.4} {:.4}",
                e["type"].as_str().unwrap(),
                e["start"].as_str().unwrap(),
                e["end"].as_str().unwrap_or("-"),
                e["open"],
                mmsis.join(","),
                e["lat"].as_f64().unwrap(),
                e["lon"].as_f64().unwrap(),
            )
        })
        .collect();
    lines.sort();
    Some(lines.iter().map(|l| format!("{l}\n")).collect())
}

#[test]
fn real_captures_raise_the_recorded_events() {
    let Some(dir) = shared() else {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    };
    let mut failures = Vec::new();
    for name in EVENT_CAPTURES {
        let Some(got) = detected(&dir.join(name), name) else {
            eprintln!(
                "skipping: no land data cached (cargo run -p tidewatch-detect --example \
                 build_land_cache)"
            );
            return;
        };
        failures.extend(compare("events", name, &got));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
