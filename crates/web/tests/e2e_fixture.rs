//! The web map in a real browser (issue 20): the embedded assets, served by the e2e harness's
//! fixture server (`e2e/fixture-server.mjs`, invented vessels in the API contract's shapes),
//! driven by `e2e/run.mjs` in headless Debian Chromium with playwright-core.
//!
//! Needs `/usr/bin/chromium` (`apt-get install chromium`), Node.js and npm (the harness's one
//! package, playwright-core, is installed with `npm ci` into this test's scratch directory);
//! skips with a message naming what is missing otherwise. The screenshot is left at
//! `target/tmp/web-e2e/fixture.png`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser run, bounded (each of its waits is bounded by run.mjs's own timeout).
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Kills the fixture server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool_works(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What is missing for the browser test, if anything.
fn missing() -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!("{CHROMIUM} not found (apt-get install chromium)"));
    }
    for tool in ["node", "npm"] {
        if !tool_works(tool) {
            return Some(format!("`{tool}` not found (apt-get install nodejs npm)"));
        }
    }
    None
}

/// The harness (scripts, fixture, package files) in a scratch directory with its npm install.
fn harness() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    for file in [
        "package.json",
        "package-lock.json",
        "harness.mjs",
        "run.mjs",
        "fixture-server.mjs",
        "fixture.json",
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

/// Writes the embedded assets as the server serves them: `index.html`, `assets/*`.
fn write_assets(dir: &Path) {
    for path in web::asset_paths() {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, web::asset(path).unwrap().0).unwrap();
    }
}

#[test]
fn the_embedded_map_loads_draws_vessels_opens_panels_shows_escorts_and_replays_in_chromium() {
    if let Some(what) = missing() {
        eprintln!("skipping the web map's browser test: {what}");
        return;
    }
    let dir = harness();
    let assets = dir.join("assets-root");
    write_assets(&assets);

    let mut server = Server(
        Command::new("node")
            .arg("fixture-server.mjs")
            .arg(&assets)
            .arg("0")
            .env("FIXTURE_MAX_S", RUN_LIMIT.as_secs().to_string())
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("fixture server said {first:?}"))
        .to_owned();

    let screenshot = dir.join("fixture.png");
    let _ = std::fs::remove_file(&screenshot);
    let mut run = Command::new("node")
        .arg("run.mjs")
        .arg(&url)
        .arg(&screenshot)
        .env("TIDEWATCH_E2E_TIMEOUT_MS", "30000")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = run.kill();
            let _ = run.wait();
            panic!("the browser test ran over {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut report = String::new();
    std::io::Read::read_to_string(&mut run.stdout.take().unwrap(), &mut report).unwrap();
    eprintln!("{report}");
    assert!(status.success(), "run.mjs failed:\n{report}");
    assert!(report.contains("ok - vessels render"), "{report}");
    assert!(report.contains("0 failed"), "{report}");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot of {} bytes",
        png.len()
    );
}
