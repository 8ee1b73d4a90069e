//! Benchmark: memory of the live state for many vessels.
//!
//! ```text
//! cargo run --release -p tidewatch-track --example live_state -- [VESSELS]
//! ```
//!
//! Builds what ingest keeps per vessel between reports (default 500,000 vessels): the
//! registry entry (latest position, static and voyage data, with a rename in the identity
//! history) and the segmenter (its open segment), by feeding each vessel 20 positions and two
//! static reports, then prints the resident memory the process grew by (Linux `/proc`).

use std::collections::HashMap;
use track::segment::{Fix, Segmenter, SegmenterConfig, Transponder};
use track::vessel::{Class, PositionUpdate, Registry, StaticUpdate};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let vessels: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500_000);
    let before = rss_bytes();
    let started = std::time::Instant::now();
    let mut registry = Registry::new();
    let mut segmenters: HashMap<u32, Segmenter> = HashMap::new();
    let cfg = SegmenterConfig::default();
    for v in 0..vessels {
        let mmsi = 200_000_000 + v;
        for (k, name) in [(0, "OCEAN GRACE"), (10, "GRACE ONE")] {
            registry.static_data(
                mmsi,
                StaticUpdate {
                    time_ms: k * 10_000,
                    name: Some(format!("{name} {v}")),
                    callsign: Some(format!("CS{v}")),
                    imo: Some(9_000_000 + v),
                    ship_type: Some(80),
                    ship_type_text: None,
                    dimensions_m: Some((180, 30)),
                    destination: Some("FUJAIRAH".to_owned()),
                    draught_m: Some(9.5),
                    class: Some(Class::A),
                },
            );
        }
        let seg = segmenters
            .entry(mmsi)
            .or_insert_with(|| Segmenter::new(cfg));
        for k in 0..20i64 {
            let (lat, lon) = (
                (v % 90) as f64 * 0.5 + k as f64 * 0.001,
                (v % 360) as f64 * 0.5,
            );
            seg.push(&Fix {
                t_ms: k * 10_000,
                lat,
                lon,
                sog_knots: Some(12.0),
                cog_deg: Some(0.0),
                transponder: Transponder::ClassA,
            });
            registry.position(
                mmsi,
                PositionUpdate {
                    time_ms: k * 10_000,
                    lat,
                    lon,
                    sog_knots: Some(12.0),
                    cog_deg: Some(0.0),
                    heading_deg: Some(0),
                    nav_status: Some(0),
                    class: Some(Class::A),
                },
            );
        }
    }
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "live state for {} vessels ({} open segments): {:.0} MiB resident ({} bytes a vessel), \
         built in {:.1} s (target < 1.5 GB for 500 k)",
        registry.len(),
        segmenters
            .values()
            .map(Segmenter::open_segments)
            .sum::<usize>(),
        grown as f64 / (1 << 20) as f64,
        grown / u64::from(vessels.max(1)),
        started.elapsed().as_secs_f64()
    );
}
