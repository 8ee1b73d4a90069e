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

#[test]
fn issue17_application_messages_decode_with_gpsd_names() {
    // The sentences of crates/ais/tests/app.rs (built field by field; gpsdecode 3.22 decodes
    // them with the same names).
    let input = tmp("app-messages.nmea");
    std::fs::write(&input, APP_SENTENCES).unwrap();
    let out = Command::new(bin())
        .args(["decode", "--format", "jsonl"])
        .arg(&input)
        .output()
        .unwrap();
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
    assert_eq!(lines.len(), 19);
    let by = |dac: u64, fid: u64| {
        lines
            .iter()
            .find(|v| v["dac"] == dac && v["fid"] == fid)
            .unwrap_or_else(|| panic!("no {dac}/{fid}"))
    };
    for v in &lines {
        assert!(v.get("data").is_none(), "stayed raw: {v}");
    }
    let v = by(1, 12);
    assert_eq!(
        (v["lastport"].as_str(), v["departure"].as_str()),
        (Some("DEHAM"), Some("03-14T10:30Z"))
    );
    assert!(
        v["eta"].is_null(),
        "hour 24 and minute 60 are not available"
    );
    let v = by(1, 32);
    assert_eq!(v["tidals"].as_array().unwrap().len(), 3);
    assert_eq!(v["tidals"][0]["cspeed"].as_f64(), Some(2.5));
    assert!(v["tidals"][1]["cspeed"].is_null());
    let v = by(1, 20);
    assert_eq!(
        (v["berth_depth"].as_f64(), v["future2"].as_u64()),
        (Some(12.5), Some(1))
    );
    let v = by(1, 27);
    assert_eq!(v["waypoints"][2]["lon"].as_f64(), Some(4.3));
    assert_eq!(v["rtype_text"], "Recommended");
    let v = by(1, 17);
    assert_eq!(
        (
            v["targets"][0]["mmsi"].as_str(),
            v["targets"][1]["callsign"].as_str()
        ),
        (Some("244123456"), Some("PBXY"))
    );
    let v = by(1, 13);
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("04-03T06:07Z"), Some("09-08T10:11Z"))
    );
    let v = by(200, 23);
    assert_eq!(
        (v["type"].as_u64(), v["weather_type"].as_u64()),
        (Some(8), Some(3))
    );
    let v = by(200, 24);
    assert_eq!(v["gauges"][0]["level"].as_f64(), Some(-0.2));
    // CSV: one row each, as for every application message.
    let out = Command::new(bin())
        .args(["decode", "--format", "csv"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        1 + 19
    );
}

const APP_SENTENCES: &str = "\
!AIVDM,1,1,,A,639>Jh@0P=hP04h@DP4lo:N><BD==v?41E4Sk00000000000000<h002FKr@,0*00\n\
!AIVDM,1,1,,A,639>Jh@0P=hP04qbWakb04oAp57deQiTu?<80Vr?0`w5d>wP,5*31\n\
!AIVDM,1,1,,A,639>Jh@0P=hP04tc80,4*3C\n\
!AIVDM,1,1,,A,639>Jh@0P=hP0503n000000,2*49\n\
!AIVDM,1,1,,A,639>Jh@0P=hP0581G`nQ8uA@E8@4l00000000000pi9@l1p7PGhPP0000000,0*1B\n\
!AIVDM,1,1,,A,639>Jh@0P=hP05@2IHvb16NSHn=SHn=R4:T`A1f00000000000000t3h;p@@,0*12\n\
!AIVDM,1,1,,A,639>Jh@0P=hP05U<PAu13rC7m0,5*77\n\
!AIVDM,1,1,,A,639>Jh@0P=hP05h0j9C7801p41;4d69=MP0VLt34Vfh0,5*65\n\
!AIVDM,2,1,1,A,639>Jh@0P=hP061bwPol33s457deQhkv3O@<?m`DNkh0Owp=u0hwt1As2oUj,0*31\n\
!AIVDM,2,2,1,A,P,5*42\n\
!AIVDM,2,1,1,A,8020o200C@@hjA1CU0000000000000UCnH<LP0000000000000UCnH<M0000,0*35\n\
!AIVDM,2,2,1,A,0000000007lA`HM4b;0,2*07\n\
!AIVDM,1,1,,A,8020o200CjdP,0*6C\n\
!AIVDM,1,1,,A,8020o200D09`,0*5C\n\
!AIVDM,1,1,,A,8020o200D@00r=1l02v4407PN1sN3909QT0002vKP?pCl5`twh,4*35\n\
!AIVDM,1,1,,A,8020o200Dh4<?3;P9:=E945>00000000Qd@60>`8o:500000000000000000,0*0A\n\
!AIVDM,1,1,,A,8020o200Fh38U<LP07PH4dBh7K::02Ikh3eU501>g41njRP,0*1D\n\
!AIVDM,1,1,,A,639>Jh@0P=hP<QDpi9@o33335@E8o737;?AC78BJ@0,4*24\n\
!AIVDM,1,1,,A,639>Jh@0P=hP<QHpi9@o33335@E8o737;?AC78@,2*16\n\
!AIVDM,1,1,,A,8020o20j5iQC32W@B`d2Tjp3eU501D>`1o1<0?uPjL0,2*09\n\
!AIVDM,1,1,,A,8020o20j611@jOuPI@50<h5`6L4H,0*56\n\
";
