//! Synthetic tracks for the segmenter (issue 17), built here from simple kinematics: shared by
//! `tests/segments.rs` and the `segment_cases` example that `bench/segment_vs_gfw` runs.
//!
//! Every case is one MMSI's reports in time order with the vessel that truly sent each one.

// Each user of this module uses part of it.
#![allow(dead_code)]

use track::segment::{Fix, Placement, Segmenter, SegmenterConfig, Transponder};

/// One MMSI's reports and, for each, the vessel that sent it (or `u32::MAX` for a report
/// that belongs to no vessel: a spike or a null-island default).
pub struct Case {
    pub name: &'static str,
    pub fixes: Vec<Fix>,
    pub truth: Vec<u32>,
}

/// A small deterministic generator (xorshift64*), so cases need no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }
}

/// The point `dist_nm` from (lat, lon) on `bearing_deg` (flat earth: fine for tens of miles).
pub fn moved(lat: f64, lon: f64, bearing_deg: f64, dist_nm: f64) -> (f64, f64) {
    let r = bearing_deg.to_radians();
    let lat2 = lat + dist_nm * r.cos() / 60.0;
    let lon2 = lon + dist_nm * r.sin() / (60.0 * (0.5 * (lat + lat2)).to_radians().cos());
    (lat2, lon2)
}

fn fix(t_s: f64, (lat, lon): (f64, f64), sog: Option<f32>, cog: Option<f32>) -> Fix {
    Fix {
        t_ms: (t_s * 1000.0) as i64,
        lat,
        lon,
        sog_knots: sog,
        cog_deg: cog,
        transponder: Transponder::ClassA,
    }
}

/// Sorts a case's reports by time, keeping each with its truth.
fn sorted(name: &'static str, mut v: Vec<(Fix, u32)>) -> Case {
    v.sort_by_key(|(f, _)| f.t_ms);
    Case {
        name,
        fixes: v.iter().map(|x| x.0).collect(),
        truth: v.iter().map(|x| x.1).collect(),
    }
}

/// Whether a satellite hears at `t_s`: 12-minute passes every 100 minutes.
fn satellite_hears(t_s: f64) -> bool {
    t_s.rem_euclid(6000.0) < 720.0
}

/// Two ships on one MMSI, `abeam_nm` apart on parallel courses at 12 kn, each reporting every
/// 10 s (5 s apart) for two hours.
pub fn two_ships_abeam(abeam_nm: f64) -> Case {
    let mut v = Vec::new();
    let start_a = (5.0, 80.0);
    let start_b = moved(start_a.0, start_a.1, 75.0 + 90.0, abeam_nm);
    for k in 0..720 {
        let t = k as f64 * 10.0;
        let d = 12.0 * t / 3600.0;
        v.push((
            fix(
                t,
                moved(start_a.0, start_a.1, 75.0, d),
                Some(12.0),
                Some(75.0),
            ),
            0,
        ));
        v.push((
            fix(
                t + 5.0,
                moved(start_b.0, start_b.1, 75.0, d),
                Some(12.0),
                Some(75.0),
            ),
            1,
        ));
    }
    sorted("two ships 5 nm abeam", v)
}

/// Two ships on one MMSI at anchor `apart_nm` apart for a day, each swinging on its chain
/// (GPS wander of ~50 m, speed 0-0.3 kn, any course) and reporting every 3 minutes (the
/// ITU-R M.1371 rate at anchor) at unrelated times.
pub fn two_anchored(apart_nm: f64) -> Case {
    let mut rng = Rng::new(3);
    let mut v = Vec::new();
    let a = (12.9, 74.8);
    let b = moved(a.0, a.1, 40.0, apart_nm);
    for (ship, at, offset_s) in [(0, a, 0.0), (1, b, 77.0)] {
        for k in 0..480 {
            let t = offset_s + k as f64 * 180.0 + rng.range(-2.0, 2.0);
            let p = moved(at.0, at.1, rng.range(0.0, 360.0), rng.range(0.0, 0.03));
            let sog = rng.range(0.0, 0.3) as f32;
            let cog = rng.range(0.0, 359.9) as f32;
            v.push((fix(t, p, Some(sog), Some(cog)), ship));
        }
    }
    sorted("two ships anchored 3 nm apart", v)
}

/// A ship at 12 kn on 323 deg heard on satellite passes; for ten hours its transponder reports
/// a circle of 2 nm radius at 18.8 kn around a point 50 nm off its track (the real ship keeps
/// going), then the true track again.
pub fn circle_spoof() -> Case {
    let mut v = Vec::new();
    let start = (20.6, 62.4);
    let center = (24.2, 58.2);
    let (on, off) = (12.0 * 3600.0, 22.0 * 3600.0);
    let mut t = 0.0;
    while t < 36.0 * 3600.0 {
        if satellite_hears(t) {
            let real = moved(start.0, start.1, 323.0, 12.0 * t / 3600.0);
            if (on..off).contains(&t) {
                // Angular speed of 18.8 kn on a 2 nm radius, clockwise.
                let theta = (t - on) / 3600.0 * 18.8 / 2.0;
                let bearing = theta.to_degrees();
                let p = moved(center.0, center.1, bearing, 2.0);
                let cog = (bearing + 90.0).rem_euclid(360.0) as f32;
                v.push((fix(t, p, Some(18.8), Some(cog)), 0));
            } else {
                v.push((fix(t, real, Some(12.0), Some(323.0)), 0));
            }
        }
        t += 10.0;
    }
    // One vessel: the truth is not about who sent it (segments are counted instead).
    sorted("circle spoof", v)
}

/// A ship at 12 kn on 120 deg heard on satellite passes; for 20 hours its reports are offset
/// 60 nm on bearing 200 (a spoofed jump), then true again.
pub fn jump_spoof() -> Case {
    let mut v = Vec::new();
    let start = (27.6, 51.5);
    let (on, off) = (4.0 * 3600.0, 24.0 * 3600.0);
    let mut t = 0.0;
    while t < 36.0 * 3600.0 {
        if satellite_hears(t) {
            let mut p = moved(start.0, start.1, 120.0, 12.0 * t / 3600.0);
            if (on..off).contains(&t) {
                p = moved(p.0, p.1, 200.0, 60.0);
            }
            v.push((fix(t, p, Some(12.0), Some(120.0)), 0));
        }
        t += 10.0;
    }
    sorted("jump spoof", v)
}

/// A transit at 12 kn on 75 deg, every 10 s for an hour, then 14 hours unheard (a satellite
/// gap), then heard again on the same course for an hour.
pub fn satellite_gap() -> Case {
    let mut v = Vec::new();
    let start = (1.2, 60.0);
    for k in 0..720 {
        let t = if k < 360 {
            k as f64
        } else {
            k as f64 + 14.0 * 360.0
        } * 10.0;
        let p = moved(start.0, start.1, 75.0, 12.0 * t / 3600.0);
        v.push((fix(t, p, Some(12.0), Some(75.0)), 0));
    }
    sorted("14 h satellite gap", v)
}

/// Fishing boats of one placeholder MMSI over ten days in four ports 160-260 nm apart (the
/// real case: 1,668 positions over a month), Class B: every 3 minutes in port, every 30 s
/// under way. Several boats share a port (berths a few hundred metres apart); some have
/// transponders that send neither speed nor course; boats go silent for hours (switched off
/// at night) and make day trips to fishing grounds 20-30 nm out. Also one 11 nm spike with
/// speed and course unavailable, and three null-island reports.
pub fn placeholder_ports() -> Case {
    let ports = [(10.0, 76.0), (12.6, 74.6), (8.2, 78.6), (13.9, 80.2)];
    // (port, transponder sends speed and course)
    let boats = [
        (0, true),
        (0, false),
        (0, true),
        (1, true),
        (1, false),
        (2, true),
        (3, false),
        (3, true),
    ];
    let mut rng = Rng::new(17);
    let mut v = Vec::new();
    let days = 10.0;
    for (b, &(port, motion)) in boats.iter().enumerate() {
        let berth = moved(
            ports[port].0,
            ports[port].1,
            rng.range(0.0, 360.0),
            rng.range(0.05, 0.4),
        );
        let mut t = rng.range(0.0, 3600.0);
        while t < days * 86400.0 {
            // In port for 12-40 h, heard two reports in three (Class B in a crowded port).
            let stay_end = t + rng.range(12.0, 40.0) * 3600.0;
            let quiet = (
                t + rng.range(2.0, 6.0) * 3600.0,
                rng.range(6.0, 10.0) * 3600.0,
            );
            while t < stay_end {
                let silent = (quiet.0..quiet.0 + quiet.1).contains(&t);
                if !silent && rng.f() < 0.67 {
                    let p = moved(
                        berth.0,
                        berth.1,
                        rng.range(0.0, 360.0),
                        rng.range(0.0, 0.02),
                    );
                    let (sog, cog) = if motion {
                        (Some(rng.range(0.0, 0.2) as f32), None)
                    } else {
                        (None, None)
                    };
                    let mut f = fix(t, p, sog, cog);
                    f.transponder = Transponder::ClassB;
                    v.push((f, b as u32));
                }
                t += 180.0 + rng.range(-3.0, 3.0);
            }
            // A day trip: out at 8 kn, fish at 2.5 kn, back at 8 kn (only boats that send
            // speed and course: the others would be "no course while moving").
            if motion {
                let bearing = rng.range(0.0, 360.0);
                let out_nm = rng.range(20.0, 30.0);
                let mut pos = berth;
                let legs = [
                    (out_nm / 8.0, 8.0, bearing),
                    (6.0, 2.5, bearing + 90.0),
                    (0.0, 8.0, 0.0),
                ];
                for (leg, &(hours, knots, mut course)) in legs.iter().enumerate() {
                    let mut hours = hours;
                    if leg == 2 {
                        // Home: straight back to the berth.
                        let dy = (berth.0 - pos.0) * 60.0;
                        let dx = (berth.1 - pos.1) * 60.0 * pos.0.to_radians().cos();
                        course = dx.atan2(dy).to_degrees().rem_euclid(360.0);
                        hours = dx.hypot(dy) / knots;
                    }
                    let end = t + hours * 3600.0;
                    while t < end {
                        let wobble = if leg == 1 {
                            rng.range(-40.0, 40.0)
                        } else {
                            0.0
                        };
                        let c = (course + wobble).rem_euclid(360.0);
                        if rng.f() < 0.8 {
                            let mut f = fix(t, pos, Some(knots as f32), Some(c as f32));
                            f.transponder = Transponder::ClassB;
                            v.push((f, b as u32));
                        }
                        pos = moved(pos.0, pos.1, c, knots * 30.0 / 3600.0);
                        t += 30.0;
                    }
                }
            }
        }
    }
    // An 11 nm spike with speed and course unavailable, a minute after a report of boat 0.
    let f0 = v
        .iter()
        .filter(|x| x.1 == 0)
        .map(|x| x.0)
        .nth(300)
        .expect("boat 0 reports");
    let mut spike = fix(
        f0.t_ms as f64 / 1000.0 + 60.0,
        moved(f0.lat, f0.lon, 30.0, 11.0),
        None,
        None,
    );
    spike.transponder = Transponder::ClassB;
    v.push((spike, u32::MAX));
    for k in 1..4 {
        let mut z = fix(k as f64 * 200_000.0, (0.0, 0.0), Some(0.0), Some(0.0));
        z.transponder = Transponder::ClassB;
        v.push((z, u32::MAX));
    }
    sorted("placeholder MMSI, boats in four ports", v)
}

/// Every case, in the order the bench prints them.
pub fn all() -> Vec<Case> {
    vec![
        two_ships_abeam(5.0),
        two_anchored(3.0),
        circle_spoof(),
        jump_spoof(),
        satellite_gap(),
        placeholder_ports(),
    ]
}

/// What the segmenter made of a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Segments started.
    pub segments: usize,
    /// Segments of a single position.
    pub single: usize,
    /// Positions not placed in a segment (flagged).
    pub flagged: usize,
    /// Adjusted Rand index of the segments against the vessels that sent the positions,
    /// over the positions both place (a segment is a cluster).
    pub ari: f64,
}

/// Segments a case with the default configuration.
pub fn run(case: &Case) -> (Vec<Placement>, Outcome) {
    let mut s = Segmenter::new(SegmenterConfig::default());
    let placements: Vec<Placement> = case.fixes.iter().map(|f| s.push(f)).collect();
    let mut sizes = std::collections::HashMap::new();
    for p in &placements {
        if let Some(id) = p.segment() {
            *sizes.entry(id).or_insert(0usize) += 1;
        }
    }
    let pairs: Vec<(u32, u32)> = placements
        .iter()
        .zip(&case.truth)
        .filter_map(|(p, &t)| p.segment().filter(|_| t != u32::MAX).map(|s| (s.0, t)))
        .collect();
    let outcome = Outcome {
        segments: sizes.len(),
        single: sizes.values().filter(|&&n| n == 1).count(),
        flagged: placements.iter().filter(|p| p.segment().is_none()).count(),
        ari: adjusted_rand_index(&pairs),
    };
    (placements, outcome)
}

/// Adjusted Rand index (Hubert and Arabie 1985) of two labelings given as (a, b) pairs: 1 for
/// identical partitions, about 0 for independent ones.
pub fn adjusted_rand_index(pairs: &[(u32, u32)]) -> f64 {
    use std::collections::HashMap;
    let c2 = |n: usize| (n * n.saturating_sub(1)) as f64 / 2.0;
    let mut cells: HashMap<(u32, u32), usize> = HashMap::new();
    let mut rows: HashMap<u32, usize> = HashMap::new();
    let mut cols: HashMap<u32, usize> = HashMap::new();
    for &(a, b) in pairs {
        *cells.entry((a, b)).or_default() += 1;
        *rows.entry(a).or_default() += 1;
        *cols.entry(b).or_default() += 1;
    }
    let index: f64 = cells.values().map(|&n| c2(n)).sum();
    let sum_a: f64 = rows.values().map(|&n| c2(n)).sum();
    let sum_b: f64 = cols.values().map(|&n| c2(n)).sum();
    let expected = sum_a * sum_b / c2(pairs.len()).max(1.0);
    let max = 0.5 * (sum_a + sum_b);
    if max == expected {
        // Both partitions trivial (all in one, or all apart): identical.
        return 1.0;
    }
    (index - expected) / (max - expected)
}
