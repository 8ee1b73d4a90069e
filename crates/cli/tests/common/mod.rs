//! Helpers shared by the end-to-end tests: the binary, a per-process scratch directory, and the
//! synthetic sample.
#![allow(dead_code)] // each test crate uses a subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `tidewatch` binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tidewatch"))
}

/// A path in this test process's scratch directory, `tidewatch-test-PID` under the system temp
/// dir, shared by the process's tests. Nothing runs when a test process ends, so the directory
/// outlives it: the first call removes those of test processes no longer running.
pub fn tmp(name: &str) -> PathBuf {
    static FRESH: std::sync::Once = std::sync::Once::new();
    let d = std::env::temp_dir().join(format!("tidewatch-test-{}", std::process::id()));
    // A directory left by an earlier process with the same id (ids are reused) would hand
    // this one its stores, already ingested: start empty.
    FRESH.call_once(|| {
        let _ = std::fs::remove_dir_all(&d);
        sweep_dead_scratch();
    });
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Removes the `tidewatch-test-PID` directories whose process is no longer running (no
/// `/proc/PID`); those of test binaries running beside this one stay. Without `/proc` every
/// process would look gone: nothing is removed then.
fn sweep_dead_scratch() {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("tidewatch-test-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Writes `minutes` of the synthetic sample feed to `path`.
pub fn sample(path: &Path, minutes: u32) {
    let st = Command::new(bin())
        .args(["sample", "--minutes", &minutes.to_string(), "--out"])
        .arg(path)
        .status()
        .unwrap();
    assert!(st.success());
}

/// A JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `tidewatch ingest ARGS... --store STORE --stats ... -q`, asserts success, and returns
/// the run's accounting.
pub fn ingest_with(args: &[&std::ffi::OsStr], store: &Path) -> serde_json::Value {
    let stats = store.with_extension("stats.json");
    let out = Command::new(bin())
        .arg("ingest")
        .args(args)
        .arg("--store")
        .arg(store)
        .arg("--stats")
        .arg(&stats)
        .arg("-q")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_json(&stats)
}

/// Every committed position of a store, by MMSI then time.
pub fn rows(store: &Path) -> Vec<store::PositionRow> {
    let committed = store::RegistryDb::open(&store.join("registry.sqlite"))
        .unwrap()
        .committed_runs()
        .unwrap();
    store::Store::open_read_only(store)
        .unwrap()
        .query(&store::Query {
            committed_runs: Some(committed),
            ..store::Query::default()
        })
        .unwrap()
}

/// Runs `tidewatch ARGS... --store STORE`, asserts success, and returns stdout.
pub fn run_ok(args: &[&str], store: &Path) -> String {
    run_ok_both(args, store).0
}

/// [`run_ok`], returning stdout and stderr.
pub fn run_ok_both(args: &[&str], store: &Path) -> (String, String) {
    let out = Command::new(bin())
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs a command, asserts success (showing its stderr if not), and returns its stderr.
pub fn ok_stderr(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

/// Starts a server command, echoes its output (indented, on the test's stderr) and waits for
/// the line that names the address it serves on: returns the child and `HOST:PORT` (without
/// the scheme). A server that prints no address in a minute fails the test.
pub fn spawn_server(cmd: &mut Command) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for pipe in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("  | {line}");
                let at = ["https://", "http://"]
                    .iter()
                    .find_map(|p| line.find(p).map(|i| i + p.len()));
                if let Some(i) = at {
                    let url = line[i..].trim_end_matches('/').to_owned();
                    let _ = tx.send(url);
                }
            }
        });
    }
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server printed no address");
    (child, addr)
}
