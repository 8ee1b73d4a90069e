//! End-to-end tests of the `tidewatch` binary: real files, real processes.

mod common;

use common::{bin, read_json, sample, tmp};
use std::path::Path;
use std::process::Command;

#[test]
fn decode_sample_jsonl_and_accounting() {
    let input = tmp("sample.nmea");
    sample(&input, 30);
    let st = tmp("sample-stats.json");
    let out = Command::new(bin())
        .arg("decode")
        .arg(&input)
        .arg("--stats")
        .arg(&st)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["class"], "AIS");
        assert!(v["mmsi"].as_u64().unwrap() > 0);
        assert!(v["rx_time"].as_str().unwrap().starts_with("2026-01-15T"));
        n += 1;
    }
    let s = read_json(&st);
    assert_eq!(s["messages"].as_u64().unwrap(), n);
    let rejected: u64 = s["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        s["lines"].as_u64().unwrap(),
        s["lines_in_messages"].as_u64().unwrap()
            + rejected
            + s["pending_fragments"].as_u64().unwrap()
    );
    // The sample damages a few lines on purpose, and starts with a comment.
    assert!(s["rejected"]["bad_checksum"].as_u64().unwrap() > 0);
    assert_eq!(s["rejected"]["comment"].as_u64().unwrap(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected"));
}

#[test]
fn parallel_equals_streaming_and_gzip() {
    // Large enough (> 8 MiB) for the parallel path.
    let input = tmp("big.nmea");
    sample(&input, 60 * 24 * 3);
    assert!(std::fs::metadata(&input).unwrap().len() > 8 << 20);
    let run = |threads: &str, file: &Path, st: &Path| {
        let out = Command::new(bin())
            .args(["decode", "--quiet", "--threads", threads, "--stats"])
            .arg(st)
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let (s1, s2, s3) = (tmp("s1.json"), tmp("s2.json"), tmp("s3.json"));
    let one = run("1", &input, &s1);
    let two = run("2", &input, &s2);
    assert!(one == two, "parallel output differs from streaming output");
    assert_eq!(read_json(&s1), read_json(&s2));
    // gzip is detected by content and decodes the same.
    let gz = tmp("big.nmea.gz");
    let mut enc = flate2_like_gzip(&std::fs::read(&input).unwrap());
    std::fs::write(&gz, &mut enc).unwrap();
    let three = run("2", &gz, &s3);
    assert!(one == three);
    assert_eq!(read_json(&s1), read_json(&s3));
}

/// Compresses with the system `gzip` (present on every CI machine we use).
fn flate2_like_gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out.stdout
}

#[test]
fn csv_types_filter_and_rejects_report() {
    let input = tmp("small.nmea");
    sample(&input, 10);
    let rej = tmp("rejects.txt");
    let out = Command::new(bin())
        .args([
            "decode",
            "--format",
            "csv",
            "--types",
            "5,24",
            "--quiet",
            "--rejects",
        ])
        .arg(&rej)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("rx_time,source,channel,msg_type,mmsi,lat,lon,sog_knots,cog_deg"));
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty());
    for r in &rows {
        let t = r.split(',').nth(3).unwrap();
        assert!(t == "5" || t == "24", "{r}");
    }
    let report = std::fs::read_to_string(&rej).unwrap();
    assert!(report.lines().all(|l| l.contains(":") && l.contains('\t')));
    assert!(report.contains("comment"));
}

#[test]
fn stdin_and_errors() {
    let mut child = Command::new(bin())
        .args(["decode", "-", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mmsi"], 477553000);
    assert_eq!(v["speed"], 0.0);
    assert_eq!(v["heading"], 181);
    assert_eq!(v["turn"], 0.0);

    let missing = Command::new(bin())
        .args(["decode", "/no/such/file"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open /no/such/file"));
    let bad = Command::new(bin())
        .args(["decode", "--types", "99"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// Regression (issue 2): on real captures (shuffled `$PGHP` lines, unaligned multi-part
/// fragments) the parallel path must equal the streaming path byte for byte.
#[test]
fn parallel_equals_streaming_on_shared_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ais");
    if !dir.is_dir() {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    }
    let mut all = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    files.sort_by_key(|e| e.path());
    for sub in files.into_iter().filter(|e| e.path().is_dir()) {
        let mut inner: Vec<_> = std::fs::read_dir(sub.path()).unwrap().flatten().collect();
        inner.sort_by_key(|e| e.path());
        for f in inner {
            let p = f.path();
            let name = p.to_string_lossy().into_owned();
            if name.ends_with(".csv") || name.ends_with(".gz") || name.ends_with(".md") {
                continue;
            }
            all.extend_from_slice(&std::fs::read(&p).unwrap());
            all.push(b'\n');
        }
    }
    while all.len() < 9 << 20 {
        let copy = all.clone();
        all.extend_from_slice(&copy);
    }
    let input = tmp("shared-mixed.nmea");
    std::fs::write(&input, &all).unwrap();
    let run = |threads: &str, st: &Path| {
        let out = Command::new(bin())
            .args(["decode", "--quiet", "--threads", threads, "--stats"])
            .arg(st)
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    let (s1, s2) = (tmp("m1.json"), tmp("m2.json"));
    let one = run("1", &s1);
    let two = run("2", &s2);
    assert!(
        one == two,
        "parallel output differs from streaming output on shared captures"
    );
    assert_eq!(read_json(&s1), read_json(&s2));
}

#[test]
fn shared_captures_decode_without_loss() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ais");
    if !dir.is_dir() {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    }
    let st = tmp("shared.json");
    let out = Command::new(bin())
        .args(["decode", "--format", "none", "--quiet", "--stats"])
        .arg(&st)
        .arg(dir.join("dma-aisabnormal/ais-sample.txt.gz"))
        .arg(dir.join("aishub/ais-nmea-sample.log"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = read_json(&st);
    assert_eq!(s["lines"], 80246 + 85187);
    assert_eq!(s["pending_fragments"], 0);
    assert!(s["messages"].as_u64().unwrap() > 100_000);
}
