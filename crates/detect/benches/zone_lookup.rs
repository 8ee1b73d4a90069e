//! Zone lookup speed (issue 18: >= 10 M points/s per core on 300 polygons of ~100 k
//! vertices in all).
//!
//! The zones are 300 noisy star polygons of 300-366 vertices each (about 100 k in all),
//! radii 0.3-3 degrees, scattered over a 60 x 40 degree box so that many overlap; the points
//! are uniform over the same box. Two shapes:
//! - `lobed`: five lobes of +-25 % of the radius plus per-vertex noise of +-1.5 % (about an
//!   edge length, as in a digitised coastline or an EEZ outline: edges about as long as the
//!   outline is jagged). This is the case the target is for.
//! - `spiky`: each vertex at 60-100 % of the radius independently, so edges are radial
//!   spikes 20 times longer than the vertex spacing, crossing many grid cells: a worst case
//!   that no real zone file looks like, kept to show how the index degrades.
//!
//! Run: `cargo bench -p tidewatch-detect --bench zone_lookup`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use detect::world::ZoneKind;
use detect::zones::{Zone, ZoneSet};
use geo::{Coord, LineString, MultiPolygon, Polygon};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

const LON: (f64, f64) = (90.0, 150.0);
const LAT: (f64, f64) = (-20.0, 20.0);

fn zones(rng: &mut Rng, spiky: bool) -> (ZoneSet, usize) {
    let mut zones = Vec::new();
    for i in 0..300 {
        let (cx, cy) = (
            rng.range(LON.0 + 3.0, LON.1 - 3.0),
            rng.range(LAT.0 + 3.0, LAT.1 - 3.0),
        );
        let r = rng.range(0.3, 3.0);
        let n = 300 + (rng.next_f64() * 66.0) as usize;
        let phase = rng.range(0.0, 6.3);
        let ring: Vec<Coord<f64>> = (0..n)
            .map(|k| {
                let a = k as f64 * std::f64::consts::TAU / n as f64;
                let rr = if spiky {
                    r * rng.range(0.6, 1.0)
                } else {
                    r * (1.0 + 0.25 * (5.0 * a + phase).sin() + rng.range(-0.015, 0.015))
                };
                Coord {
                    x: cx + rr * a.cos(),
                    y: cy + rr * a.sin(),
                }
            })
            .collect();
        let poly = Polygon::new(LineString(ring), vec![]);
        zones.push(
            Zone::new(
                &format!("star {i}"),
                ZoneKind::Eez,
                None,
                MultiPolygon(vec![poly]),
            )
            .unwrap(),
        );
    }
    let vertices = zones.iter().map(Zone::vertex_count).sum();
    (ZoneSet::new(zones).unwrap(), vertices)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("zone_lookup");
    for (label, spiky) in [("lobed", false), ("spiky", true)] {
        bench_shape(&mut g, label, spiky);
    }
    g.finish();
}

fn bench_shape(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    label: &str,
    spiky: bool,
) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (set, vertices) = zones(&mut rng, spiky);
    let points: Vec<(f64, f64)> = (0..100_000)
        .map(|_| (rng.range(LAT.0, LAT.1), rng.range(LON.0, LON.1)))
        .collect();
    let mut out = Vec::with_capacity(16);
    let mut hits = 0usize;
    for &(lat, lon) in &points {
        out.clear();
        set.zones_at(lat, lon, &mut out);
        hits += out.len();
    }
    let (mut ce, mut cs, mut cells) = (0, 0, 0);
    for &(lat, lon) in &points {
        let (e, s, c) = set.lookup_cost(lat, lon);
        ce += e;
        cs += s;
        cells = cells.max(c);
    }
    eprintln!(
        "zone_lookup/{label}: {cells} grid cells, index {:.1} MB; per point {:.2} zone entries, {:.2} edges tested",
        set.index_bytes() as f64 / 1e6,
        ce as f64 / 1e5,
        cs as f64 / 1e5
    );
    eprintln!(
        "zone_lookup/{label}: {} zones, {vertices} vertices, {:.2} zones per point on average",
        set.zones().len(),
        hits as f64 / points.len() as f64
    );
    // Criterion measures wall time, which on a loaded machine counts other processes' turns;
    // this measures the thread's own on-CPU time (Linux `/proc/thread-self/schedstat`).
    if let Some(t0) = cpu_ns() {
        let started = std::time::Instant::now();
        let mut rounds = 0u64;
        let mut n = 0usize;
        while started.elapsed().as_secs_f64() < 3.0 {
            for &(lat, lon) in &points {
                out.clear();
                set.zones_at(black_box(lat), black_box(lon), &mut out);
                n += out.len();
            }
            rounds += 1;
        }
        if let Some(t1) = cpu_ns() {
            let cpu_s = (t1 - t0) as f64 / 1e9;
            let lookups = rounds as f64 * points.len() as f64;
            eprintln!(
                "zone_lookup/{label}: {:.1} M lookups per CPU second ({lookups} lookups, {cpu_s:.2} s on CPU, {:.2} s wall, {n} hits)",
                lookups / cpu_s / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
    }
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function(format!("{label}_300_stars_100k_vertices"), |b| {
        b.iter(|| {
            let mut n = 0usize;
            for &(lat, lon) in &points {
                out.clear();
                set.zones_at(black_box(lat), black_box(lon), &mut out);
                n += out.len();
            }
            n
        })
    });
}

/// This thread's time on a CPU, nanoseconds (Linux).
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

criterion_group!(benches, bench);
criterion_main!(benches);
