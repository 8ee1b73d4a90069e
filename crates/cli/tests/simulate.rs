//! `tidewatch simulate` end to end: files, truth and accounting; determinism at the file level;
//! one file per partner; errors; an independent decoder (pyais) and a land mask
//! (global-land-mask) on the output; real-time feeds over real TCP and UDP sockets; and the
//! output ingested as partner feeds.

mod common;

use common::{bin, read_json, tmp};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn simulate(args: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .arg("simulate")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "simulate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Simulates `scenario` for `hours` with 60 background vessels into `NAME.nmea`,
/// `NAME-truth.jsonl` and `NAME-stats.json` (scratch paths, returned in that order).
fn simulate_to(scenario: &str, hours: &str, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let (out, tr, st) = (
        tmp(&format!("{name}.nmea")),
        tmp(&format!("{name}-truth.jsonl")),
        tmp(&format!("{name}-stats.json")),
    );
    simulate(&[
        scenario,
        "--hours",
        hours,
        "--vessels",
        "60",
        "--out",
        p(&out),
        "--truth",
        p(&tr),
        "--stats",
        p(&st),
        "-q",
    ]);
    (out, tr, st)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn truth(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn simulate_writes_nmea_truth_and_an_accounting() {
    let (out, tr, st) = simulate_to("scs-greyzone", "14", "a");
    let stats = read_json(&st);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        text.lines().count() as u64,
        stats["lines"].as_u64().unwrap()
    );
    assert!(
        stats["transmissions"].as_u64().unwrap() > stats["coastal_heard"].as_u64().unwrap() / 4
    );
    // The decoder accounts for every line; the only rejects are the damage the stats report.
    let dec = tmp("a-decode.json");
    let d = Command::new(bin())
        .args([
            "decode",
            p(&out),
            "--format",
            "none",
            "--stats",
            p(&dec),
            "-q",
        ])
        .status()
        .unwrap();
    assert!(d.success());
    let dstats = read_json(&dec);
    assert_eq!(dstats["lines"], stats["lines"]);
    let rejected: u64 = dstats["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let damaged: u64 = stats["damaged"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(
        rejected <= 2 * damaged,
        "{rejected} rejected, {damaged} damaged"
    );
    // Truth: the harassment of the resupply run happens in the first 14 hours.
    let events = truth(&tr);
    let kinds: std::collections::HashSet<&str> =
        events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "vessel",
        "close_approach",
        "escort",
        "loitering",
        "swarm",
        "zone_visit",
    ] {
        assert!(kinds.contains(k), "no {k} in truth: {kinds:?}");
    }
    for e in &events {
        assert!(e["start"].as_str().unwrap() <= e["end"].as_str().unwrap());
    }
}

#[test]
fn same_seed_gives_the_same_file_on_any_number_of_threads() {
    let (a, b, c) = (tmp("d1.nmea"), tmp("d2.nmea"), tmp("d3.nmea.gz"));
    let args = ["ior-shadow-fleet", "--hours", "3", "--vessels", "80", "-q"];
    simulate(&[&args[..], &["--threads", "1", "--out", p(&a)]].concat());
    simulate(&[&args[..], &["--threads", "2", "--out", p(&b)]].concat());
    simulate(&[&args[..], &["--out", p(&c)]].concat());
    let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(x.len() > 10_000);
    assert!(x == y, "the thread count changed the output");
    let mut z = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&c).unwrap())
        .read_to_end(&mut z)
        .unwrap();
    assert!(x == z, "gzip output differs");
    let other = tmp("d4.nmea");
    simulate(&[&args[..], &["--seed", "99", "--out", p(&other)]].concat());
    assert!(std::fs::read(&other).unwrap() != x);
}

#[test]
fn one_file_per_partner() {
    let pattern = tmp("split-{partner}.nmea");
    let st = tmp("split-stats.json");
    simulate(&[
        "scs-greyzone",
        "--hours",
        "2",
        "--vessels",
        "60",
        "--out",
        p(&pattern),
        "--stats",
        p(&st),
        "-q",
    ]);
    let stats = read_json(&st);
    let scenario = sim::Scenario::from_toml(
        sim::scenario::builtin("scs-greyzone").unwrap(),
        &Default::default(),
    )
    .unwrap();
    let mut total = 0;
    for partner in &scenario.partners {
        let path = p(&pattern).replace("{partner}", &partner.name);
        let text = std::fs::read_to_string(&path).unwrap();
        let stations: Vec<&str> = scenario
            .receivers
            .iter()
            .filter(|r| scenario.partners[r.partner].name == partner.name)
            .map(|r| r.name.as_str())
            .chain(
                scenario
                    .satellites
                    .iter()
                    .filter(|s| scenario.partners[s.partner].name == partner.name)
                    .map(|s| s.name.as_str()),
            )
            .collect();
        for line in text.lines() {
            let station = line.split("s:").nth(1).unwrap().split(',').next().unwrap();
            assert!(stations.contains(&station), "{station} in {path}");
            total += 1;
        }
        assert_eq!(
            total_by_partner(&stats, &partner.name),
            text.lines().count() as u64
        );
    }
    assert_eq!(total, stats["lines"].as_u64().unwrap());
}

fn total_by_partner(stats: &serde_json::Value, name: &str) -> u64 {
    stats["lines_by_partner"][name].as_u64().unwrap_or(0)
}

#[test]
fn print_gives_a_scenario_file_and_mistakes_are_explained() {
    let out = simulate(&["ior-traffic", "--print"]);
    let file = tmp("printed.toml");
    std::fs::write(&file, &out.stdout).unwrap();
    let (a, b) = (tmp("pa.nmea"), tmp("pb.nmea"));
    simulate(&[
        "ior-traffic",
        "--hours",
        "0.5",
        "--vessels",
        "30",
        "--out",
        p(&a),
        "-q",
    ]);
    simulate(&[
        p(&file),
        "--hours",
        "0.5",
        "--vessels",
        "30",
        "--out",
        p(&b),
        "-q",
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let fail = |args: &[&str]| {
        let o = Command::new(bin())
            .arg("simulate")
            .args(args)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = fail(&["atlantis"]);
    assert!(
        e.contains("scs-greyzone") && e.contains("ior-shadow-fleet"),
        "{e}"
    );
    let bad = tmp("bad.toml");
    std::fs::write(
        &bad,
        String::from_utf8_lossy(&out.stdout).replace("range_nm = 40", "range_nm = \"far\""),
    )
    .unwrap();
    let e = fail(&[p(&bad)]);
    assert!(e.contains("line") && e.contains("range_nm"), "{e}");
    let e = fail(&["scs-greyzone", "--out", "tcp://127.0.0.1:0"]);
    assert!(e.contains("--realtime or --speed"), "{e}");
    let e = fail(&["scs-greyzone", "--speed=-2"]);
    assert!(e.contains("--speed"), "{e}");
    let e = fail(&["scs-greyzone", "--start", "noon"]);
    assert!(e.contains("RFC 3339"), "{e}");
}

/// Runs a Python check; `None` (with a note) when its module is not installed.
fn python(script: &str, args: &[&str]) -> Option<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sim/tests")
        .join(script);
    let out = match Command::new("python3").arg(&path).args(args).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipping: python3 not found ({e})");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.code() == Some(3) {
        eprintln!("skipping {script}: {}", text.trim());
        return None;
    }
    assert!(
        out.status.success(),
        "{script} {args:?} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_str(text.trim()).unwrap())
}

#[test]
fn pyais_decodes_the_intended_messages() {
    let (out, tr, st) = simulate_to("scs-greyzone", "8", "py");
    let Some(r) = python("pyais_check.py", &[p(&out), p(&tr), p(&st)]) else {
        return;
    };
    assert!(r["decoded"].as_u64().unwrap() > 50_000, "{r}");
    assert!(r["scripted_vessels_heard"].as_u64().unwrap() > 100, "{r}");
}

#[test]
fn lanes_and_ports_are_at_sea() {
    let lanes = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sim/data/lanes.toml");
    if let Some(r) = python("land_mask.py", &["lanes", p(&lanes)]) {
        assert_eq!(r["on_land"], 0, "{r}");
    }
}

#[test]
fn no_simulated_vessel_is_on_land() {
    for (name, extra) in [
        ("scs-greyzone", &[][..]),
        ("ior-shadow-fleet", &[][..]),
        ("ior-traffic", &["--vessels", "600"][..]),
    ] {
        let (out, tr, csv) = (
            tmp(&format!("{name}.nmea")),
            tmp(&format!("{name}-truth.jsonl")),
            tmp(&format!("{name}.csv")),
        );
        simulate(
            &[
                &[name, "--out", p(&out), "--truth", p(&tr), "-q"][..],
                extra,
            ]
            .concat(),
        );
        let csv_file = std::fs::File::create(&csv).unwrap();
        let d = Command::new(bin())
            .args(["decode", p(&out), "--format", "csv", "-q"])
            .stdout(csv_file)
            .status()
            .unwrap();
        assert!(d.success());
        let Some(r) = python("land_mask.py", &["positions", p(&csv), p(&tr)]) else {
            return;
        };
        assert_eq!(r["on_land"], 0, "{name}: {r}");
        assert!(r["positions"].as_u64().unwrap() > 100_000, "{name}: {r}");
        if name == "ior-shadow-fleet" {
            assert!(r["spoofed_on_land"].as_u64().unwrap() > 0, "{r}");
        }
        for f in [&out, &csv] {
            let _ = std::fs::remove_file(f);
        }
    }
}

#[test]
fn real_time_feed_over_tcp() {
    let st = tmp("tcp-stats.json");
    let mut child = Command::new(bin())
        .args([
            "simulate",
            "scs-greyzone",
            "--hours",
            "0.05",
            "--vessels",
            "40",
            "--speed",
            "600",
            "--out",
            "tcp://127.0.0.1:0",
            "--stats",
            p(&st),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The address is announced before the run waits for its first client.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("tcp://").next().unwrap().to_owned();
    let began = std::time::Instant::now();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    let elapsed = began.elapsed().as_secs_f64();
    let stats = read_json(&st);
    let text = String::from_utf8(got).unwrap();
    assert_eq!(
        text.lines().count() as u64,
        stats["lines"].as_u64().unwrap()
    );
    assert!(text
        .lines()
        .all(|l| l.starts_with("\\s:") && l.contains("!A")));
    // Three simulated minutes at 600x take about 0.3 s, and the satellite lines still on board
    // at the end come with their downlinks (within 20 minutes plus latency: about 2.3 s).
    assert!(elapsed > 0.25, "paced output came in {elapsed} s");
}

#[test]
fn real_time_feed_over_udp() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    let st = tmp("udp-stats.json");
    let mut child = Command::new(bin())
        .args([
            "simulate",
            "ior-traffic",
            "--hours",
            "0.05",
            "--vessels",
            "50",
            "--speed",
            "120",
            "-q",
            "--stats",
            p(&st),
        ])
        .arg("--out")
        .arg(format!("udp://{addr}"))
        .spawn()
        .unwrap();
    let mut datagrams = 0u64;
    let mut buf = [0u8; 2048];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => {
                assert!(buf[..n].starts_with(b"\\s:") && buf[n - 1] == b'\n');
                datagrams += 1;
            }
            Err(_) => {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
        }
    }
    assert!(child.wait().unwrap().success());
    let stats = read_json(&st);
    assert_eq!(
        datagrams,
        stats["lines"].as_u64().unwrap(),
        "one datagram per line"
    );
}

#[test]
fn simulated_partner_feeds_ingest_into_a_store() {
    let dir = tmp("partners");
    std::fs::create_dir_all(&dir).unwrap();
    let pattern = dir.join("{partner}.nmea");
    simulate(&[
        "ior-shadow-fleet",
        "--hours",
        "60",
        "--vessels",
        "20",
        "--out",
        p(&pattern),
        "-q",
    ]);
    let mut inputs: Vec<std::ffi::OsString> = Vec::new();
    for partner in ["IN", "US", "LK", "OM", "AE", "SAT"] {
        inputs.push(format!("{partner}={}", p(&pattern).replace("{partner}", partner)).into());
    }
    let store = tmp("partners-store");
    let args: Vec<&std::ffi::OsStr> = inputs.iter().map(|s| s.as_os_str()).collect();
    let stats = common::ingest_with(&args, &store);
    assert!(stats["positions"].as_u64().unwrap() > 50_000, "{stats}");
    let vessels = Command::new(bin())
        .args(["vessels", "--store", p(&store)])
        .output()
        .unwrap();
    assert!(vessels.status.success());
    let text = String::from_utf8_lossy(&vessels.stdout);
    // The watch-listed tanker under its first MMSI and, reflagged, under its new one.
    assert!(
        text.contains("613012001") && text.contains("626020000"),
        "{}",
        &text[..text.len().min(500)]
    );
    let history = Command::new(bin())
        .args(["vessel", "511012002", "--store", p(&store)])
        .output()
        .unwrap();
    let h = String::from_utf8_lossy(&history.stdout);
    assert!(h.contains("AEFJR") && h.contains("INBOM"), "{h}");
}

/// The demo's pipeline: satellite downlinks deliver positions up to about 23 minutes late
/// (20-minute downlinks, 3 minutes latency), so with a 30-minute reorder window every report is
/// placed in time order, satellite copies fuse with the coastal ones, and each vessel's track
/// stays in its segments (a report released out of order cannot join a segment that has moved
/// past it and would start a stray one).
#[test]
fn satellite_feeds_ingest_in_order_with_a_wide_enough_window() {
    let (out, _, _) = simulate_to("scs-greyzone", "8", "greyzone-window");
    let store = tmp("greyzone-window-store");
    let stats = common::ingest_with(
        &[out.as_os_str(), "--reorder-window".as_ref(), "30m".as_ref()],
        &store,
    );
    assert_eq!(stats["released_out_of_order"], 0, "{stats}");
    let (segments, vessels) = (
        stats["segments"].as_u64().unwrap(),
        stats["vessels"].as_u64().unwrap(),
    );
    assert!(vessels > 100, "{stats}");
    // One segment a vessel, plus a few for the scenario's spoofing and shared MMSI.
    assert!(
        segments <= vessels + vessels / 10,
        "{segments} segments for {vessels} vessels"
    );
    assert!(stats["duplicates_merged"].as_u64().unwrap() > 0, "{stats}");
}
