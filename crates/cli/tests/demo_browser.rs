//! `tidewatch demo` end to end in a real browser (issue 20): the demo simulates the South China
//! Sea grey-zone scenario through the whole pipeline and serves the map; the web crate's
//! harness (`crates/web/e2e/run.mjs`, playwright-core driving Debian Chromium) checks that the
//! page loads, vessels render, clicking a vessel opens its panel, an escort event appears in
//! the feed, and the replay slider moves the picture. The screenshot is left at
//! `target/tmp/demo-e2e/demo.png`.
//!
//! A server that needs tokens, its map opened without one: the page asks once and its live
//! stream connects with the token typed (`crates/web/e2e/token.mjs`).
//!
//! Needs `/usr/bin/chromium`, Node.js and npm; skips with a message naming what is missing.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Stops the demo however the test ends.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn missing() -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} not found (apt-get install chromium)"));
    }
    for tool in ["node", "npm"] {
        let works = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !works {
            return Some(format!("`{tool}` not found (apt-get install nodejs npm)"));
        }
    }
    None
}

/// The harness with its npm install, in this test's scratch directory.
fn harness() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/e2e");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    for file in [
        "package.json",
        "package-lock.json",
        "harness.mjs",
        "run.mjs",
        "token.mjs",
    ] {
        std::fs::copy(source.join(file), dir.join(file)).unwrap();
    }
    let lock = std::fs::read(dir.join("package-lock.json")).unwrap();
    let stamp = dir.join("node_modules/.tidewatch-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(&lock[..]) {
        let status = Command::new("npm")
            .args([
                "ci",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci of the e2e harness failed");
        std::fs::write(&stamp, &lock).unwrap();
    }
    dir
}

fn get(addr: &str, path: &str) -> String {
    use std::io::Write;
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn the_demo_serves_a_map_with_vessels_panels_escorts_and_replay_in_chromium() {
    if let Some(what) = missing() {
        eprintln!("skipping the demo's browser test: {what}");
        return;
    }
    let dir = harness();
    // 600x: ten minutes of the scenario a second; the escort off Sarawak starts at once.
    let mut demo = Demo(
        Command::new(common::bin())
            .args([
                "demo",
                "--port",
                "0",
                "--speed",
                "600",
                "--vessels",
                "40",
                "--for",
                "300s",
            ])
            .arg("--store")
            .arg(common::tmp("demo-browser-store"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(demo.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "first line {first:?}");
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    // Let the escort be detected and committed, and history build up for the replay.
    let end = Instant::now() + Duration::from_secs(120);
    while !get(&addr, "/api/events?type=escort&limit=1").contains("\"escort\"") {
        assert!(
            Instant::now() < end,
            "no escort event from the demo in 120 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let screenshot = dir.join("demo.png");
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("node")
        .arg("run.mjs")
        .arg(&url)
        .arg(&screenshot)
        .env("TIDEWATCH_E2E_EVENT", "escort")
        .env("TIDEWATCH_E2E_TIMEOUT_MS", "60000")
        .current_dir(&dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "run.mjs failed:\n{report}");
    for check in [
        "ok - vessels render",
        "ok - clicking a vessel opens its panel",
        "ok - an escort event appears in the feed",
        "ok - the event's vessel shows its track around the event",
        "ok - moving the replay slider changes the picture",
        "0 failed",
    ] {
        assert!(report.contains(check), "missing {check:?} in:\n{report}");
    }
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
}

#[test]
fn a_map_opened_without_a_token_asks_once_and_streams_with_the_token_typed() {
    if let Some(what) = missing() {
        eprintln!("skipping the token browser test: {what}");
        return;
    }
    let dir = harness();
    let store = common::tmp("token-browser-store");
    let feed = common::tmp("token-browser.nmea");
    common::sample(&feed, 20);
    common::ingest_with(&[feed.as_os_str()], &store);
    common::run_ok(&["source", "default", "PUBLIC"], &store);
    let token = common::run_ok(
        &["token", "create", "--name", "analyst", "--partner", "IND"],
        &store,
    )
    .trim()
    .to_owned();
    let (server, addr) = common::spawn_server(
        Command::new(common::bin())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--for",
                "120s",
                "--store",
            ])
            .arg(&store),
    );
    let server = Demo(server);
    let url = format!("http://{addr}/");
    let out = Command::new("node")
        .arg("token.mjs")
        .arg(&url)
        .arg(&token)
        .env("TIDEWATCH_E2E_TIMEOUT_MS", "30000")
        .current_dir(&dir)
        .output()
        .unwrap();
    drop(server);
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "token.mjs failed:\n{report}");
    for check in [
        "ok - the live stream connects with the token typed",
        "ok - the page asks for the token once",
        "0 failed",
    ] {
        assert!(report.contains(check), "missing {check:?} in:\n{report}");
    }
}
