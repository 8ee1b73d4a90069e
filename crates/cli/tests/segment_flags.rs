//! Issue 17 end to end: suspect positions (null island, a spike without speed and course) are
//! stored with quality flag 8, outside any segment, and do not become the vessel's latest
//! position; the track around them stays one segment.

mod common;

use common::{ingest_with, rows, run_ok, tmp};

const HEADER: &str = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,\
VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass";

#[test]
fn issue_17_null_island_and_a_spike_are_flagged_8_and_kept() {
    // A ship at 10 kn due east, a report a minute, for 30 minutes; (0, 0) reports at 00:10:30
    // and 00:29:30 and, at 00:20:30, a report 11 nm north with speed and course unavailable.
    let mut csv = format!("{HEADER}\n");
    for k in 0..30 {
        let lon = -80.0 + k as f64 * 10.0 / 60.0 / 60.0 / 26f64.to_radians().cos();
        csv.push_str(&format!(
            "367000001,2023-01-11T00:{k:02}:00,26.00000,{lon:.5},10.0,90.0,90.0,TEST,,,31,0.0,,,,,A\n"
        ));
        if k == 10 {
            csv.push_str("367000001,2023-01-11T00:10:30,0.0,0.0,0.0,0.0,,TEST,,,31,0.0,,,,,A\n");
        }
        if k == 29 {
            // Last: it must not become the vessel's latest position.
            csv.push_str("367000001,2023-01-11T00:29:30,0.0,0.0,0.0,0.0,,TEST,,,31,0.0,,,,,A\n");
        }
        if k == 20 {
            csv.push_str(
                "367000001,2023-01-11T00:20:30,26.18333,-79.94000,,,,TEST,,,31,0.0,,,,,A\n",
            );
        }
    }
    let path = tmp("flags.csv");
    std::fs::write(&path, csv).unwrap();
    let store = tmp("flags-store");
    let s = ingest_with(&[path.as_os_str()], &store);
    assert_eq!(s["positions"], 33, "{s}");
    assert_eq!(s["segments"], 1, "{s}");
    let got = rows(&store);
    assert_eq!(got.len(), 33);
    let flagged: Vec<(f64, f64, u8, Option<u32>)> = got
        .iter()
        .filter(|r| r.flags != 0)
        .map(|r| (r.lat, r.lon, r.flags, r.segment))
        .collect();
    assert_eq!(
        flagged,
        [
            (0.0, 0.0, 8, None),
            (26.18333, -79.94, 8, None),
            (0.0, 0.0, 8, None)
        ],
        "{flagged:?}"
    );
    assert!(got
        .iter()
        .filter(|r| r.flags == 0)
        .all(|r| r.segment == Some(0)));
    let v: serde_json::Value =
        serde_json::from_str(&run_ok(&["vessel", "367000001"], &store)).unwrap();
    assert_eq!(v["lat"], 26.0, "{v}");
}
