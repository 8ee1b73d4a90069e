//! Issue 16 through `tidewatch ingest`: inputs as they come (bare logs without times, CSV with
//! Latin-1 names, `;` separators, CR-only line ends, unknown headers, unreadable files in a
//! directory, a live replay of old data), the accounting (drop reasons, identity changes
//! against first values, a full disk), and SIGTERM of a live ingest.

mod common;

use ais::encode::{encode_payload, to_sentences, SentenceOptions};
use ais::msg::{Header, Message, PositionReport};
use ais::Mmsi;
use common::{bin, read_json, rows, tmp};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A bare (no tag block, no time) type 1 sentence; its UTC second is "not available", so the
/// stored time is exactly the time ingest gives the line.
fn bare_position(mmsi: u32, lat: f64, lon: f64) -> String {
    let m = Message::Position(PositionReport {
        header: Header {
            msg_type: 1,
            repeat: 0,
            mmsi: Mmsi(mmsi),
        },
        nav_status: Some(0),
        rot: None,
        sog_knots: Some(10.0),
        accuracy: true,
        lon: Some(lon),
        lat: Some(lat),
        cog_deg: Some(90.0),
        heading_deg: None,
        second: None,
        maneuver: None,
        raim: false,
        radio: Some(0),
    });
    let mut lines = Vec::new();
    to_sentences(
        &encode_payload(&m).unwrap(),
        &SentenceOptions::default(),
        &mut lines,
    );
    lines.remove(0)
}

/// `tidewatch ingest ARGS --store STORE --stats STATS`; the output and the stats (when
/// written).
fn ingest(args: &[&str], store: &Path) -> (Output, Option<serde_json::Value>) {
    let stats = store.with_extension("stats.json");
    let _ = std::fs::remove_file(&stats);
    let out = Command::new(bin())
        .arg("ingest")
        .args(args)
        .arg("--store")
        .arg(store)
        .arg("--stats")
        .arg(&stats)
        .output()
        .unwrap();
    let s = stats.exists().then(|| read_json(&stats));
    (out, s)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// 2015-03-01T12:00:00Z in ms.
const START_MS: i64 = 1_425_211_200_000;

#[test]
fn issue_16_a_log_without_times_warns_and_assume_time_places_its_lines() {
    let log = tmp("bare.nmea");
    let lines: Vec<String> = (0..5)
        .map(|i| {
            format!(
                "{}\n",
                bare_position(227_000_001, 48.0, -4.0 + f64::from(i) * 0.001)
            )
        })
        .collect();
    std::fs::write(&log, lines.concat()).unwrap();

    // Without a time: nothing stored, and said so on stderr and in --stats.
    let store = tmp("bare-store");
    let (out, s) = ingest(&[p(&log), "-q"], &store);
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["positions"], 0);
    assert_eq!(s["dropped"]["no_receive_time"], 5);
    let err = stderr(&out);
    assert!(
        err.contains("warning: 0 positions stored because no receive time")
            && err.contains("--assume-time"),
        "{err}"
    );
    assert!(s["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("0 positions stored because no receive time"));
    // The advice taken on the same store: the file is read again with the time given (the
    // same bytes read at assumed times are other data), and again with it, skipped.
    let assume = ["--assume-time", "2015-03-01T12:00:00Z", "-q"];
    let (out, s) = ingest(&[&[p(&log)][..], &assume].concat(), &store);
    ok(&out);
    assert_eq!(s.unwrap()["positions"], 5);
    let (out, s) = ingest(&[&[p(&log)][..], &assume].concat(), &store);
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["positions"], 0);
    assert_eq!(s["inputs_skipped"].as_array().map(Vec::len), Some(1), "{s}");

    // A start time and a rate: line n at START + (n - 1) / RATE.
    let store = tmp("bare-assumed-store");
    let (out, s) = ingest(
        &[p(&log), "--assume-time", "2015-03-01T12:00:00Z,2", "-q"],
        &store,
    );
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["positions"], 5);
    assert_eq!(s["receive_times"]["assumed"], 5);
    assert_eq!(s["warnings"].as_array().unwrap().len(), 0);
    let times: Vec<i64> = rows(&store).iter().map(|r| r.time_ms).collect();
    assert_eq!(
        times,
        (0..5).map(|i| START_MS + i * 500).collect::<Vec<_>>()
    );

    // The file's modification time.
    let mtime_ms = std::fs::metadata(&log)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let store = tmp("bare-mtime-store");
    let (out, _) = ingest(&[p(&log), "--assume-time", "mtime", "-q"], &store);
    ok(&out);
    let first = rows(&store).iter().map(|r| r.time_ms).min().unwrap();
    assert_eq!(first, mtime_ms);

    // A bad value is refused before anything is read.
    let (out, _) = ingest(&[p(&log), "--assume-time", "yesterday"], &tmp("bad-assume"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("RFC 3339"), "{}", stderr(&out));
    // So is a start no AIS report can have (before 1998): every line would be dropped.
    let (out, _) = ingest(
        &[p(&log), "--assume-time", "1990-01-01T00:00:00Z"],
        &tmp("early-assume"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("outside the times AIS reports can have"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn issue_16_the_aishub_sample_is_stored_with_an_assumed_time() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ais/aishub/ais-nmea-sample.log");
    if !sample.exists() {
        eprintln!("skipped: {} is absent", sample.display());
        return;
    }
    let (out, s) = ingest(&[p(&sample), "-q"], &tmp("aishub-store"));
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["positions"], 0);
    assert!(s["dropped"]["no_receive_time"].as_u64().unwrap() > 1000);
    assert!(stderr(&out).contains("0 positions stored because no receive time"));
    let (out, s) = ingest(
        &[
            p(&sample),
            "--assume-time",
            "2015-03-01T12:00:00Z,100",
            "-q",
        ],
        &tmp("aishub-assumed-store"),
    );
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["dropped"]["no_receive_time"], 0);
    assert!(s["positions"].as_u64().unwrap() > 1000, "{s}");
}

const DMA_HEADER: &str = "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D";

fn dma_row(time: &str, mmsi: u32, lat: &str, lon: &str, name: &[u8], ship_type: &str) -> Vec<u8> {
    let mut r = format!(
        "{time},Class A,{mmsi},{lat},{lon},Under way using engine,0.0,9.6,59.8,57,Unknown,OXSL2,"
    )
    .into_bytes();
    r.extend_from_slice(name);
    r.extend_from_slice(
        format!(",{ship_type},,8,30,GPS,4.1,HIRTSHALS,27/02/2024 06:00:00,AIS,,,,").as_bytes(),
    );
    r
}

fn vessel(store: &Path, mmsi: u32) -> store::VesselRow {
    store::RegistryDb::open(&store.join("registry.sqlite"))
        .unwrap()
        .vessels(None)
        .unwrap()
        .into_iter()
        .find(|v| v.mmsi == mmsi)
        .unwrap()
}

#[test]
fn issue_16_csv_rows_keep_latin1_names_ship_types_and_count_lost_positions() {
    let csv = tmp("dma-latin1.csv");
    let mut data = format!("{DMA_HEADER}\n").into_bytes();
    // "SØNDERBORG" in Latin-1: 0xD8 is not UTF-8.
    data.extend(dma_row(
        "27/02/2024 00:00:00",
        219_000_873,
        "56.990903",
        "10.304282",
        b"S\xd8NDERBORG",
        "Fishing",
    ));
    data.push(b'\n');
    // An unusable position with static columns: the identity is kept, the loss counted.
    data.extend(dma_row(
        "27/02/2024 00:00:05",
        219_000_874,
        "91.0",
        "",
        b"NORDKAP",
        "Reserved",
    ));
    data.push(b'\n');
    std::fs::write(&csv, data).unwrap();
    let store = tmp("dma-latin1-store");
    let (out, s) = ingest(&[p(&csv), "-q"], &store);
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["positions"], 1, "{s}");
    assert_eq!(s["csv"]["not_utf8"], 1);
    assert_eq!(s["csv"]["ship_type_unmapped"], 1);
    assert_eq!(s["dropped"]["csv_position_unusable"], 1);
    let v = vessel(&store, 219_000_873);
    assert_eq!(v.name.as_deref(), Some("SØNDERBORG"));
    assert_eq!(v.ship_type, Some(30));
    assert_eq!(v.ship_type_text, None);
    let v = vessel(&store, 219_000_874);
    assert_eq!(v.name.as_deref(), Some("NORDKAP"));
    assert_eq!(v.ship_type, None);
    assert_eq!(v.ship_type_text.as_deref(), Some("Reserved"));
    // And `vessel` shows it.
    let out = common::run_ok(&["vessel", "219000874"], &store);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["ship_type_text"], "Reserved", "{out}");
}

#[test]
fn issue_16_semicolon_csv_and_cr_only_line_ends_are_read() {
    let mc = "MMSI;BaseDateTime;LAT;LON;SOG;COG;Heading\r1;2023-01-11T00:00:00;1.0;2.0;3.0;4.0;5\r2;2023-01-11T00:00:01;1.5;2.5;3.0;4.0;5\r";
    let csv = tmp("semicolon-cr.csv");
    std::fs::write(&csv, mc).unwrap();
    let nmea = tmp("cr-only.nmea");
    let lines: Vec<String> = (0..3)
        .map(|i| {
            let body = format!("c:{}", START_MS / 1000 + i);
            let sum = body.bytes().fold(0u8, |a, b| a ^ b);
            format!(
                "\\{body}*{sum:02X}\\{}\r",
                bare_position(227_000_002, 47.0, -3.0 + i as f64 * 0.001)
            )
        })
        .collect();
    std::fs::write(&nmea, lines.concat()).unwrap();
    let store = tmp("semicolon-cr-store");
    let (out, s) = ingest(&[p(&csv), p(&nmea), "-q"], &store);
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["csv"]["records"], 2, "{s}");
    assert_eq!(s["messages"], 3, "{s}");
    assert_eq!(s["positions"], 5);
    assert_eq!(s["rejected"].as_object().unwrap().len(), 0, "{s}");
}

#[test]
fn issue_16_csv_that_cannot_be_read_is_named_and_the_rest_of_a_directory_is_stored() {
    let dir = tmp("mixed-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("a-good.nmea");
    let body = format!("c:{}", START_MS / 1000);
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    std::fs::write(
        &good,
        format!(
            "\\{body}*{sum:02X}\\{}\n",
            bare_position(227_000_003, 46.0, -2.0)
        ),
    )
    .unwrap();
    // A known layout without position columns.
    std::fs::write(
        dir.join("b-nopos.csv"),
        "MMSI,BaseDateTime,SOG,COG\n1,2023-01-11T00:00:00,3.0,4.0\n",
    )
    .unwrap();
    // No header row.
    std::fs::write(
        dir.join("c-headerless.csv"),
        "219000873,2023-01-11T00:00:00,1.0,2.0,3.0\n",
    )
    .unwrap();
    // A header of 300 unknown columns: not printed whole.
    let wide: Vec<String> = (0..300).map(|i| format!("column_{i}")).collect();
    std::fs::write(
        dir.join("d-wide.csv"),
        format!("MMSI,{}\n1,2\n", wide.join(",")),
    )
    .unwrap();
    // Not gzip after its magic bytes.
    std::fs::write(dir.join("e-broken.gz"), b"\x1f\x8b\x08\x00not gzip at all").unwrap();
    // A gzip file cut in the middle: what precedes the cut is kept.
    let lines: String = (0..2000)
        .map(|i| {
            let body = format!("c:{}", START_MS / 1000 + i);
            let sum = body.bytes().fold(0u8, |a, b| a ^ b);
            format!(
                "\\{body}*{sum:02X}\\{}\n",
                bare_position(227_000_100 + (i % 7) as u32, 46.0, -2.0 + i as f64 * 1e-4)
            )
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(dir.join("f-cut.nmea.gz"), &gz[..gz.len() / 2]).unwrap();
    // A dataset's documents: set aside by name, reported, not read as NMEA.
    std::fs::write(dir.join("README.md"), "# Captures\n\nFrom a receiver.\n").unwrap();
    std::fs::write(dir.join("LICENSE"), "CC BY 4.0\n").unwrap();
    // A link to a file that is gone: reported as an input that failed, the rest read.
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("moved-away.nmea"), dir.join("g-dangling.nmea")).unwrap();

    let store = tmp("mixed-dir-store");
    let (out, s) = ingest(&[p(&dir), "-q"], &store);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let docs = s.as_ref().unwrap()["inputs_documents"].clone();
    assert_eq!(docs.as_array().map(Vec::len), Some(2), "{docs}");
    assert!(docs[0].as_str().unwrap().ends_with("LICENSE"), "{docs}");
    assert!(docs[1].as_str().unwrap().ends_with("README.md"), "{docs}");
    let err = stderr(&out);
    let failed = if cfg!(unix) { 6 } else { 5 };
    assert!(
        err.contains(&format!("{failed} input(s) could not be read in full")),
        "{err}"
    );
    #[cfg(unix)]
    assert!(
        err.contains("g-dangling.nmea is a link to nothing"),
        "{err}"
    );
    assert!(
        err.contains("what was read of the 2 input(s) read was committed"),
        "{err}"
    );
    assert!(
        err.contains("f-cut.nmea.gz") && err.contains("(read up to there)"),
        "{err}"
    );
    assert!(
        err.contains("names no position columns (expected `LAT` and `LON`)"),
        "{err}"
    );
    assert!(err.contains("without a header row"), "{err}");
    assert!(err.contains("and 295 more"), "{err}");
    assert!(
        !err.contains("column_299"),
        "the whole header was printed: {err}"
    );
    let s = s.unwrap();
    assert_eq!(s["inputs_failed"].as_array().unwrap().len(), failed);
    let kept = s["positions"].as_u64().unwrap();
    assert!(kept > 100 && kept < 2001, "{s}");
    assert_eq!(rows(&store).len() as u64, kept);

    // The same directory again: the good file and the cut one are skipped by their content,
    // nothing is stored twice.
    let (out, s) = ingest(&[p(&dir), "-q"], &store);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(s.unwrap()["inputs_skipped"].as_array().unwrap().len(), 2);
    assert_eq!(rows(&store).len() as u64, kept);

    // --strict: the first unreadable input aborts, nothing is committed (the link to nothing
    // is found while the directory is listed, before anything is read).
    let store = tmp("mixed-dir-strict-store");
    let (out, _) = ingest(&[p(&dir), "--strict", "-q"], &store);
    assert!(!out.status.success());
    let first = if cfg!(unix) {
        "g-dangling.nmea"
    } else {
        "b-nopos.csv"
    };
    assert!(stderr(&out).contains(first), "{}", stderr(&out));
    assert!(!store.join("registry.sqlite").exists() || rows(&store).is_empty());
}

#[test]
fn a_gzipped_copy_of_a_feed_is_the_same_feed() {
    let dir = tmp("gz-copy");
    std::fs::create_dir_all(&dir).unwrap();
    let lines: String = (0..20)
        .map(|i| {
            let body = format!("s:rx1,c:{}", START_MS / 1000 + 10 * i);
            let sum = body.bytes().fold(0u8, |a, b| a ^ b);
            let lat = 46.0 + i as f64 * 0.001;
            format!(
                "\\{body}*{sum:02X}\\{}\n",
                bare_position(227_000_004, lat, -2.0)
            )
        })
        .collect();
    std::fs::write(dir.join("coast.nmea"), &lines).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines.as_bytes()).unwrap();
    std::fs::write(dir.join("coast.nmea.gz"), gz.finish().unwrap()).unwrap();

    let store = tmp("gz-copy-store");
    let (out, _) = ingest(&[p(&dir), "-q"], &store);
    assert!(out.status.success(), "{}", stderr(&out));
    let stored = rows(&store);
    assert_eq!(stored.len(), 20);
    for r in &stored {
        assert_eq!(r.sources, ["coast.nmea/rx1/AI"], "{r:?}");
    }
}

#[test]
fn an_input_that_does_not_exist_is_named_and_creates_no_store() {
    let store = tmp("missing-input-store");
    let gone = tmp("missing-input.nmea");
    let (out, _) = ingest(&[p(&gone), "-q"], &store);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("no such input") && err.contains(p(&gone)),
        "{err}"
    );
    assert!(!store.exists(), "a store was created for nothing");
    // An empty directory is refused before a store is made, too.
    let empty = tmp("missing-input-empty-dir");
    std::fs::create_dir_all(&empty).unwrap();
    let (out, _) = ingest(&[p(&empty), "-q"], &store);
    assert!(!out.status.success());
    assert!(
        !store.exists(),
        "a store was created for an empty directory"
    );
    // Beside a readable input it is reported and the rest is stored.
    let good = tmp("missing-input-good.nmea");
    std::fs::write(&good, bare_position(366_000_001, 40.0, -70.0) + "\n").unwrap();
    let (out, _) = ingest(
        &[
            p(&gone),
            p(&good),
            "--assume-time",
            "2024-01-01T00:00:00Z",
            "-q",
        ],
        &store,
    );
    let err = stderr(&out);
    assert!(
        err.contains("1 input(s) could not be read in full"),
        "{err}"
    );
    assert!(store.join("registry.sqlite").exists());
}

#[test]
fn issue_16_identity_changes_do_not_count_first_values() {
    let csv = tmp("names.csv");
    std::fs::write(
        &csv,
        "MMSI,BaseDateTime,LAT,LON,VesselName,CallSign\n\
         1,2023-01-11T00:00:00,1.0,2.0,ALPHA,AB12\n\
         1,2023-01-11T00:01:00,1.0,2.0,BRAVO,AB12\n\
         2,2023-01-11T00:00:00,1.0,2.0,CHARLIE,\n",
    )
    .unwrap();
    let (out, s) = ingest(&[p(&csv), "-q"], &tmp("names-store"));
    ok(&out);
    let s = s.unwrap();
    // Vessel 1: name and call sign first filled, then the name changed; vessel 2: a name.
    assert_eq!(s["identity_changes"], 1, "{s}");
    assert_eq!(s["identity_first_fills"], 3, "{s}");
}

/// Mounts a tmpfs of `size` at a fresh directory; `None` when this process may not mount.
fn small_fs(name: &str, size: &str) -> Option<PathBuf> {
    let dir = tmp(name);
    std::fs::create_dir_all(&dir).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&dir)
        .output()
        .ok()?;
    st.status.success().then_some(dir)
}

#[test]
fn issue_16_a_full_disk_is_said_as_such_and_earlier_runs_are_kept() {
    let Some(fs) = small_fs("small-fs", "300k") else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let store = fs.join("store");
    let small = tmp("small-feed.nmea");
    std::fs::write(
        &small,
        format!(
            "\\c:{0}*{1:02X}\\{2}\n",
            START_MS / 1000,
            format!("c:{}", START_MS / 1000)
                .bytes()
                .fold(0u8, |a, b| a ^ b),
            bare_position(227_000_004, 45.0, -1.0)
        ),
    )
    .unwrap();
    let (out, _) = ingest(&[p(&small), "-q"], &store);
    ok(&out);
    let big = tmp("big-feed.nmea");
    common::sample(&big, 1440);
    let (out, _) = ingest(&[p(&big), "-q"], &store);
    let err = stderr(&out);
    let kept = std::panic::catch_unwind(|| rows(&store).len());
    let _ = Command::new("umount").arg(&fs).status();
    assert_eq!(kept.ok(), Some(1), "the first run's position");
    assert!(!out.status.success());
    assert!(err.contains("is full"), "{err}");
    assert!(err.contains("1 committed run(s) are kept"), "{err}");
    assert!(!err.contains("corrupt"), "{err}");
}

/// `$PGHP` (Gatehouse) line giving `y-m-d h:mi:s` to the sentence whose checksum is `sum`.
fn pghp(y: u32, m: u32, d: u32, h: u32, mi: u32, s: u32, sum: &str) -> String {
    let body = format!("PGHP,1,{y},{m},{d},{h},{mi},{s},0,219,,2190048,1,{sum}");
    let cs = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("${body}*{cs:02X}")
}

/// Serves `data` to the first client, then holds the connection open until `hold` has passed
/// (or the client leaves).
fn serve_and_hold(data: Vec<u8>, hold: Duration) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        if c.write_all(&data).is_err() {
            return;
        }
        std::thread::sleep(hold);
    });
    port
}

/// 2012-03-08T12:00:00Z in ms.
const T2012_MS: i64 = 1_331_208_000_000;

#[test]
fn issue_16_a_replayed_live_feed_keeps_its_own_times_and_bare_lines_get_their_arrival() {
    let trailer = format!(
        "{},{}\r\n",
        bare_position(227_000_011, 44.0, -1.0),
        T2012_MS / 1000
    );
    let ghp_sentence = bare_position(227_000_012, 44.1, -1.1);
    let sum = &ghp_sentence[ghp_sentence.len() - 2..];
    let ghp = format!("{}\r\n{ghp_sentence}\r\n", pghp(2012, 3, 8, 12, 0, 10, sum));
    let body = format!("s:replay,c:{}", T2012_MS / 1000 + 20);
    let cs = body.bytes().fold(0u8, |a, b| a ^ b);
    let tagged = format!(
        "\\{body}*{cs:02X}\\{}\r\n",
        bare_position(227_000_013, 44.2, -1.2)
    );
    let bare = format!("{}\r\n", bare_position(227_000_014, 44.3, -1.3));
    let data = [trailer, ghp, tagged, bare].concat().into_bytes();
    let port = serve_and_hold(data, Duration::from_millis(500));
    let store = tmp("replay-store");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let url = format!("tcp://127.0.0.1:{port}");
    let (out, s) = ingest(&[&url, "--for", "2s", "-q"], &store);
    ok(&out);
    let s = s.unwrap();
    assert_eq!(s["receive_times"]["own"], 3, "{s}");
    assert_eq!(s["receive_times"]["arrival"], 1, "{s}");
    let times: Vec<(u32, i64)> = rows(&store).iter().map(|r| (r.mmsi, r.time_ms)).collect();
    assert_eq!(
        &times[..3],
        &[
            (227_000_011, T2012_MS),
            (227_000_012, T2012_MS + 10_000),
            (227_000_013, T2012_MS + 20_000)
        ]
    );
    assert_eq!(times[3].0, 227_000_014);
    assert!((times[3].1 - before).abs() < 10_000, "{times:?}");
}

#[test]
fn issue_16_sigterm_ends_a_live_ingest_with_its_stats_and_its_segment_ingested() {
    let lines: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "{}\r\n",
                bare_position(227_000_020 + i, 43.0, -1.0 + f64::from(i) * 0.01)
            )
        })
        .collect();
    // The feed stays connected: only the signal ends the run.
    let port = serve_and_hold(lines.concat().into_bytes(), Duration::from_secs(30));
    let store = tmp("sigterm-store");
    let stats = tmp("sigterm-stats.json");
    let mut child = Command::new(bin())
        .arg("ingest")
        .arg(format!("feed=tcp://127.0.0.1:{port}"))
        .args(["--rotate", "10m", "-q", "--store"])
        .arg(&store)
        .arg("--stats")
        .arg(&stats)
        .spawn()
        .unwrap();
    // Wait for the lines to reach the open segment.
    let spool = store.join("spool").join("feed");
    let deadline = Instant::now() + Duration::from_secs(20);
    let part = loop {
        let part = std::fs::read_dir(&spool).ok().and_then(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".nmea.part"))
        });
        if let Some(p) = part {
            if std::fs::read(&p)
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                >= 40
            {
                break p;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the feed never reached the spool"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("ingest did not end within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(!part.exists(), "the open segment was not closed");
    let s = read_json(&stats);
    assert_eq!(s["positions"], 20, "{s}");
    assert_eq!(s["receive_times"]["arrival"], 20, "{s}");
    let ingested = std::fs::read_dir(spool.join("ingested")).unwrap().count();
    assert_eq!(ingested, 1);
    assert_eq!(rows(&store).len(), 20);
}
