//! Live detector state for many vessels: `cargo run --release -p tidewatch-detect --example
//! memory -- 100000` feeds N vessels spread over 40 x 40 degrees of sea, reporting every
//! 3 minutes for 2 hours, and prints the engine's estimate of its live state per vessel.

use std::sync::Arc;

use detect::world::{World, ZoneIdx, ZoneInfo};
use detect::{Config, Engine, Fix, IdentityUpdate, WatchList};

struct Sea;

impl World for Sea {
    fn zones_at(&self, _: f64, _: f64, _: &mut Vec<ZoneIdx>) {}
    fn zone(&self, _: ZoneIdx) -> &ZoneInfo {
        unreachable!("no zones")
    }
    fn zone_count(&self) -> usize {
        0
    }
    fn distance_to_shore_m(&self, _: f64, _: f64) -> Option<f64> {
        None
    }
    fn is_land(&self, _: f64, _: f64) -> Option<bool> {
        None
    }
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut e = Engine::new(Config::default(), Arc::new(Sea), WatchList::default());
    let t0 = 1_776_297_600_000i64;
    for k in 0..n {
        e.push_identity(IdentityUpdate {
            mmsi: 200_000_000 + k,
            time_ms: t0,
            name: Some(format!("VESSEL {k}")),
            callsign: Some(format!("CS{k}")),
            imo: Some(9_000_000 + k),
            ship_type: Some(70),
            flag: Some("PA".to_owned()),
            length_m: Some(180.0),
            destination: Some("SGSIN".to_owned()),
            sources: Default::default(),
        });
    }
    let started = std::time::Instant::now();
    let mut fixes = 0u64;
    for step in 0..40i64 {
        for k in 0..n {
            let lat = -20.0 + (k % 400) as f64 * 0.1 + step as f64 * 0.008;
            let lon = 60.0 + (k / 400) as f64 * 40.0 / (n / 400 + 1) as f64;
            e.push_position(Fix {
                mmsi: 200_000_000 + k,
                time_ms: t0 + step * 180_000 + (k as i64 % 180_000),
                lat,
                lon,
                sog_knots: Some(10.0),
                cog_deg: Some(0.0),
                heading_deg: None,
                nav_status: Some(0),
                segment: 1,
                quality: 0,
                sources: ["SAT".into()].into_iter().collect(),
            });
            fixes += 1;
        }
        e.take_notices();
    }
    let s = e.stats();
    println!(
        "vessels {} fixes {} in {:.1} s; live state estimate {} MB ({} bytes per vessel); open events {}",
        s.vessels,
        fixes,
        started.elapsed().as_secs_f64(),
        s.memory_bytes / 1_000_000,
        s.memory_bytes / s.vessels.max(1),
        s.open_events
    );
}
