//! `tidewatch ingest` on decoded archives in CSV: the US MarineCadastre layout (a real sample
//! from `../shared`, skipped when absent) and the Danish Maritime Authority layout (hand-made
//! rows), alone, from two partners, and mixed with NMEA.

mod common;

use common::{bin, ingest_with, rows, run_ok, sample, tmp};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

const DMA_HEADER: &str = "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,\
ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,\
Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D";

/// Rows of one class A ship every 10 s from 00:00:00 on 2024-02-27, `n` of them, plus one
/// row with an unreadable time.
fn dma_csv(n: usize) -> String {
    let mut s = format!("{DMA_HEADER}\n");
    for k in 0..n {
        let t = k * 10;
        s.push_str(&format!(
            "27/02/2024 {:02}:{:02}:{:02},Class A,219000873,{:.6},10.304282,Under way using engine,\
             0.0,9.6,0.0,0,Unknown,OXSL2,NORDKAP,Fishing,,8,30,GPS,4.1,HIRTSHALS,,AIS,,,,\n",
            t / 3600,
            t / 60 % 60,
            t % 60,
            56.99 + k as f64 * 0.00044
        ));
    }
    s.push_str("not a time,Class A,219000873,56.9,10.3,,,,,,,,,,,,,,,,,,,,,\n");
    s
}

#[test]
fn a_dma_archive_is_ingested_with_its_rejects_counted() {
    let csv = tmp("dma.csv");
    // A base station's row, with a position and a name: no vessel.
    let station = "27/02/2024 00:00:05,Base Station,2190068,57.110000,10.500000,Unknown value,,,,,\
                   Unknown,Unknown,SKAGEN RADIO,Undefined,,,,Surveyed,,Unknown,,AIS,,,,\n";
    std::fs::write(&csv, dma_csv(60) + station).unwrap();
    let store = tmp("dma-store");
    let s = ingest_with(&[csv.as_os_str()], &store);
    assert_eq!(s["csv"]["rows"], 62, "{s}");
    assert_eq!(s["csv"]["records"], 61, "{s}");
    assert_eq!(s["csv"]["rejected"]["bad_time"], 1, "{s}");
    assert_eq!(s["positions"], 60, "{s}");
    assert_eq!(s["other_messages"], 1, "{s}");
    assert_eq!(s["vessels"], 1, "{s}");
    // Static data repeated on every row is one static report.
    assert_eq!(s["static_reports"], 1, "{s}");
    assert_eq!(s["segments"], 1, "{s}");
    let got = rows(&store);
    assert!(got.iter().all(|r| r.sources == vec!["dma.csv".to_owned()]));
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(&["vessel", "219000873"], &store)).unwrap();
    assert_eq!(v["name"], "NORDKAP");
    assert_eq!(v["destination"], "HIRTSHALS");
    assert_eq!(v["flag"], "DK");
}

#[test]
fn the_same_archive_from_two_partners_fuses() {
    let a = tmp("dma-a.csv");
    let b = tmp("dma-b.csv");
    std::fs::write(&a, dma_csv(60)).unwrap();
    // Partner B's copy misses every third row.
    let text = dma_csv(60);
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 3 != 0)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&b, kept.join("\n") + "\n").unwrap();
    let store = tmp("dma-two-store");
    let pa = format!("dk-navy={}", a.display());
    let pb = format!("dk-coast={}", b.display());
    let s = ingest_with(&[OsStr::new(&pa), OsStr::new(&pb)], &store);
    assert_eq!(s["positions"], 60, "{s}");
    // 40 position copies and the copy of the static data.
    assert_eq!(s["duplicates_merged"], 41, "{s}");
    assert_eq!(s["static_reports"], 1, "{s}");
    let got = rows(&store);
    let both = got.iter().filter(|r| r.sources.len() == 2).count();
    assert_eq!(both, 40);
    assert!(got.iter().all(|r| r.sources[0] == "dk-navy"));
}

#[test]
fn an_archive_and_an_nmea_feed_go_into_one_run() {
    let csv = tmp("mixed.csv");
    std::fs::write(&csv, dma_csv(30)).unwrap();
    let nmea = tmp("mixed.nmea");
    sample(&nmea, 10);
    let store = tmp("mixed-store");
    let s = ingest_with(&[csv.as_os_str(), nmea.as_os_str()], &store);
    assert_eq!(s["inputs_read"], 2, "{s}");
    assert_eq!(s["csv"]["records"], 30, "{s}");
    assert!(s["messages"].as_u64().unwrap() > 100, "{s}");
    let got = rows(&store);
    assert!(got.iter().any(|r| r.mmsi == 219_000_873));
    assert!(got.iter().any(|r| r.mmsi == 563_012_345));
}

#[test]
fn an_unknown_csv_layout_is_a_clear_error() {
    let csv = tmp("unknown.csv");
    std::fs::write(&csv, "MMSI,When,Where,What\n1,2,3,4\n").unwrap();
    let out = Command::new(bin())
        .arg("ingest")
        .arg(&csv)
        .arg("--store")
        .arg(tmp("unknown-store"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown CSV layout"), "{err}");
}

#[test]
fn the_marinecadastre_sample_is_ingested() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ais/aisdb/test_data_noaa_20230101.csv");
    if !path.is_file() {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let data_rows = text.lines().count() - 1;
    let mmsis: std::collections::BTreeSet<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let store = tmp("noaa-store");
    let s = ingest_with(&[path.as_os_str()], &store);
    assert_eq!(s["csv"]["rows"], data_rows, "{s}");
    assert_eq!(s["positions"], data_rows, "{s}");
    assert_eq!(s["vessels"], mmsis.len(), "{s}");
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(&["vessel", "636021061"], &store)).unwrap();
    assert_eq!(v["name"], "MSC NAISHA III");
    assert_eq!(v["imo"], 9_307_839);
    assert_eq!(v["callsign"], "5LCB4");
    assert_eq!(v["ship_type"], 70);
    assert_eq!(
        (v["length_m"].as_u64(), v["beam_m"].as_u64()),
        (Some(208), Some(30))
    );
    assert_eq!(v["flag"], "LR");
    assert_eq!(v["lat"], 26.09241);
}
