//! `tidewatch zones` end to end (issue 18): the demo set, a point lookup, and import into a
//! store that refuses a malformed file whole.

mod common;

use common::{bin, tmp};
use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(bin()).args(args).output().unwrap()
}

#[test]
fn the_demo_set_lists_and_finds_second_thomas_shoal_in_two_zones() {
    let out = run(&["zones", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 20);
    assert!(lines.iter().all(|z| z["note"].as_str().is_some()));

    let out = run(&["zones", "at", "9.733", "115.867"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = v["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["area_of_interest", "eez"]);
}

#[test]
fn import_copies_validated_zones_into_the_store_and_refuses_a_bad_file_whole() {
    let store = tmp("zones-store");
    let good = tmp("zones-good.wkt");
    std::fs::write(&good, "Box\teez\tXX\tPOLYGON((0 0, 2 0, 2 2, 0 2, 0 0))\n").unwrap();
    let out = run(&[
        "zones",
        "import",
        good.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["zones", "at", "1", "1", "--store", store.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["zones"][0]["name"], "Box");

    // A second file with one bad line: an error naming file and line, the store unchanged.
    let bad = tmp("zones-bad.wkt");
    std::fs::write(
        &bad,
        "Other\tport\t-\tPOLYGON((5 5, 6 5, 6 6, 5 5))\nBroken\teez\tXX\tPOLYGON((0 0, 2 0)\n",
    )
    .unwrap();
    let out = run(&[
        "zones",
        "import",
        bad.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zones-bad.wkt: line 2: zone \"Broken\": bad WKT"),
        "{err}"
    );
    let out = run(&["zones", "list", "--store", store.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");

    // A file with no zones would remove them all: refused, the store unchanged.
    let store_arg = store.to_str().unwrap().to_owned();
    let empty = tmp("zones-empty.geojson");
    std::fs::write(&empty, r#"{"type":"FeatureCollection","features":[]}"#).unwrap();
    let out = run(&[
        "zones",
        "import",
        empty.to_str().unwrap(),
        "--store",
        &store_arg,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no zones"));
    let out = run(&["zones", "list", "--store", &store_arg]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
}
