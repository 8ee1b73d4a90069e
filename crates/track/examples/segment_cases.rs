//! The segmenter on the synthetic cases of issue 17, and its speed.
//!
//! ```text
//! cargo run --release -p tidewatch-track --example segment_cases -- [--csv DIR]
//! ```
//!
//! Prints, per case, the positions, segments, single-position segments, flagged positions
//! and the adjusted Rand index against the vessels that sent them (cases of two or more
//! vessels), then the segmenter's rate (positions per second, best of five passes over every
//! case). With `--csv DIR`, also
//! writes each case as `DIR/<n>.csv` (`t_ms,lat,lon,sog_knots,cog_deg,class,truth`) so that
//! another segmenter can run on the same positions (`bench/segment_vs_gfw`).

#[path = "../tests/cases/mod.rs"]
mod cases;

use std::io::Write;
use std::time::Instant;
use track::segment::{Segmenter, SegmenterConfig, Transponder};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let csv_dir = args
        .iter()
        .position(|a| a == "--csv")
        .and_then(|i| args.get(i + 1));
    let all = cases::all();
    println!(
        "{:<40} {:>9} {:>9} {:>7} {:>8} {:>6}",
        "case", "positions", "segments", "single", "flagged", "ARI"
    );
    for (n, case) in all.iter().enumerate() {
        let (_, o) = cases::run(case);
        let mut vessels: Vec<u32> = case
            .truth
            .iter()
            .copied()
            .filter(|&t| t != u32::MAX)
            .collect();
        vessels.sort_unstable();
        vessels.dedup();
        // With one vessel the index only says whether it was split: the segments say more.
        let ari = if vessels.len() > 1 {
            format!("{:.3}", o.ari)
        } else {
            "-".to_owned()
        };
        println!(
            "{:<40} {:>9} {:>9} {:>7} {:>8} {:>6}",
            case.name,
            case.fixes.len(),
            o.segments,
            o.single,
            o.flagged,
            ari
        );
        if let Some(dir) = csv_dir {
            let mut w = std::io::BufWriter::new(std::fs::File::create(
                std::path::Path::new(dir).join(format!("{n}.csv")),
            )?);
            writeln!(w, "t_ms,lat,lon,sog_knots,cog_deg,class,truth")?;
            for (f, t) in case.fixes.iter().zip(&case.truth) {
                let opt = |x: Option<f32>| x.map_or(String::new(), |v| v.to_string());
                let class = match f.transponder {
                    Transponder::ClassA => "A",
                    Transponder::ClassB => "B",
                    Transponder::LongRange => "27",
                };
                let truth = if *t == u32::MAX { -1 } else { *t as i64 };
                writeln!(
                    w,
                    "{},{},{},{},{},{class},{truth}",
                    f.t_ms,
                    f.lat,
                    f.lon,
                    opt(f.sog_knots),
                    opt(f.cog_deg)
                )?;
            }
        }
    }
    let total: usize = all.iter().map(|c| c.fixes.len()).sum();
    let cfg = std::sync::Arc::new(SegmenterConfig::default());
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t0 = Instant::now();
        let mut placed = 0usize;
        for case in &all {
            let mut s = Segmenter::new(cfg.clone());
            for f in &case.fixes {
                placed += usize::from(s.push(f).segment().is_some());
            }
        }
        std::hint::black_box(placed);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "tidewatch: {total} positions in {:.2} ms, {:.1} M positions/s",
        best * 1e3,
        total as f64 / best / 1e6
    );
    Ok(())
}
