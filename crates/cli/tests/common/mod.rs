//! Helpers shared by the end-to-end tests: the binary, a per-process scratch directory, and the
//! synthetic sample.
#![allow(dead_code)] // each test crate uses a subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `tidewatch` binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tidewatch"))
}

/// A path in this test process's scratch directory.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tidewatch-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
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
