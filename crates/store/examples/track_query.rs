//! Benchmark: one vessel's track for a year from a large store.
//!
//! ```text
//! cargo run --release -p tidewatch-store --example track_query -- DIR [VESSELS] [DAYS] [PER_DAY]
//! ```
//!
//! Builds the store in DIR when it is empty (default 3,000 vessels × 365 days × 92 positions a
//! day ≈ 100 M positions, written through `Store` as ingest writes them), then times
//! `Store::query` for the whole year of 20 vessels spread over the MMSI range, each query on a
//! freshly opened store (manifest read included), and prints the median and the slowest; then
//! compacts the store into month files (`Store::compact`) and times the same queries again.

use std::path::{Path, PathBuf};
use std::time::Instant;
use store::{PositionRow, Query, Store};

const T0_MS: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z
const DAY_MS: i64 = 86_400_000;

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn mmsi(v: u64) -> u32 {
    // Real-looking MMSIs spread over several MIDs.
    const MIDS: [u32; 6] = [419, 563, 477, 538, 636, 352];
    MIDS[(v % 6) as usize] * 1_000_000 + 200_000 + (v / 6) as u32
}

fn build(dir: &Path, vessels: u64, days: u64, per_day: u64) -> Result<(), store::StoreError> {
    let mut s = Store::create_or_open(dir)?;
    let src = [s.source_id("bench/coast-1/AI"), s.source_id("bench/sat/AI")];
    let step = DAY_MS / per_day as i64;
    let started = Instant::now();
    for d in 0..days {
        for k in 0..per_day {
            let t = T0_MS + d as i64 * DAY_MS + k as i64 * step;
            for v in 0..vessels {
                let f = (d * per_day + k) as f64 / (days * per_day) as f64;
                let row = PositionRow {
                    time_ms: t + (v as i64 * 997) % step,
                    mmsi: mmsi(v),
                    lat: -20.0 + (v % 40) as f64 + f * 0.5,
                    lon: 50.0 + (v / 40 % 45) as f64 + f * 0.5,
                    sog_knots: Some(12.5),
                    cog_deg: Some(45.0),
                    heading_deg: Some(44),
                    nav_status: Some(0),
                    msg_type: 1,
                    segment: Some(0),
                    flags: 0,
                    sources: Vec::new(),
                };
                let n = 1 + usize::from(v % 5 == 0);
                s.append_with_sources(&row, &src[..n]);
            }
        }
        s.flush()?;
        if d % 30 == 29 {
            eprintln!(
                "  day {} of {days} written, {:.0} s",
                d + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), store::StoreError> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: track_query DIR [VESSELS] [DAYS] [PER_DAY]");
        std::process::exit(2);
    }));
    let (vessels, days, per_day) = (arg(2, 3_000), arg(3, 365), arg(4, 92));
    let existing = Store::open_read_only(&dir).map(|s| s.committed_rows());
    if existing.as_ref().map_or(true, |&n| n == 0) {
        eprintln!(
            "building {} positions in {}",
            vessels * days * per_day,
            dir.display()
        );
        build(&dir, vessels, days, per_day)?;
    }
    measure(&dir, vessels, days, per_day)?;
    // Then the same store compacted: every month (the last one too, as if the year were over)
    // merged into one month file.
    let mut s = Store::open(&dir)?;
    if s.files().len() > 12 {
        let started = Instant::now();
        let c = s.compact(i64::MAX, |_| true)?;
        println!(
            "compacted {} months ({} files into {}, {} rows) in {:.1} s",
            c.months.len(),
            c.files_removed,
            c.files_written,
            c.rows,
            started.elapsed().as_secs_f64()
        );
        measure(&dir, vessels, days, per_day)?;
    }
    Ok(())
}

fn measure(dir: &Path, vessels: u64, days: u64, per_day: u64) -> Result<(), store::StoreError> {
    let rows = Store::open_read_only(dir)?.committed_rows();
    let files = Store::open_read_only(dir)?.files().len();
    let mut times = Vec::new();
    let mut got = 0;
    for q in 0..20u64 {
        let v = q * vessels / 20;
        let started = Instant::now();
        let s = Store::open_read_only(dir)?;
        let track = s.query(&Query {
            mmsi: Some(mmsi(v)),
            from_ms: Some(T0_MS),
            to_ms: Some(T0_MS + days as i64 * DAY_MS),
            ..Query::default()
        })?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        got = track.len();
        assert_eq!(track.len() as u64, days * per_day, "vessel {v}");
    }
    times.sort_by(f64::total_cmp);
    println!(
        "store: {rows} positions in {files} files ({:.2} GB); one vessel's year ({got} \
         positions): median {:.1} ms, slowest {:.1} ms over 20 vessels (target < 50 ms)",
        bytes_under(&dir.join("positions"))? as f64 / 1e9,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    Ok(())
}

/// Bytes of the files under `dir`.
fn bytes_under(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let meta = e.metadata()?;
        total += if meta.is_dir() {
            bytes_under(&e.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
