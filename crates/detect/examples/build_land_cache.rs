//! Builds the land mask and distance-to-shore cache (`detect::land`), fetching the npm
//! package `world-atlas@2` if its tarball is not in the cache directory yet.
//!
//! `cargo run -p tidewatch-detect --release --example build_land_cache [DIR]`; DIR defaults
//! to `$TIDEWATCH_CACHE_DIR`, `$XDG_CACHE_HOME/tidewatch` or `~/.cache/tidewatch`.

use std::path::PathBuf;
use std::process::ExitCode;

use detect::land::{default_cache_dir, ensure_land_grid, LandError, DEFAULT_CELLS_PER_DEGREE};

fn main() -> ExitCode {
    let dir = match std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(default_cache_dir)
    {
        Some(d) => d,
        None => {
            eprintln!("build_land_cache: {}", LandError::NoCacheDir);
            return ExitCode::FAILURE;
        }
    };
    let started = std::time::Instant::now();
    match ensure_land_grid(&dir, DEFAULT_CELLS_PER_DEGREE) {
        Ok(grid) => {
            println!(
                "land grid ready in {} ({} cells per degree, from {}; {:.1} s)",
                dir.display(),
                grid.cells_per_degree(),
                grid.source(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("build_land_cache: {e}");
            ExitCode::FAILURE
        }
    }
}
