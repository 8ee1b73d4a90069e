//! Segmentation on real captures and random input.

use ais::msg::Message;
use ais::stream::{Decoder, Meta};
use proptest::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use track::segment::{Fix, Placement, Segmenter, SegmenterConfig, Transponder};

/// Class A positions of `mmsi` from a shared capture, in time order, one per distinct time.
fn fixes(rel: &str, mmsi: u32) -> Option<Vec<Fix>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ais")
        .join(rel);
    let data = std::fs::read(path).ok()?;
    let mut out = Vec::new();
    let mut sink = |m: &Message<'_>, meta: &Meta| {
        if let (Message::Position(p), Some(t)) = (m, meta.rx_time_ms) {
            if p.header.mmsi.0 == mmsi {
                if let (Some(lat), Some(lon)) = (p.lat, p.lon) {
                    out.push(Fix {
                        t_ms: t,
                        lat,
                        lon,
                        sog_knots: p.sog_knots,
                        cog_deg: p.cog_deg,
                        transponder: Transponder::ClassA,
                    });
                }
            }
        }
    };
    let mut d = Decoder::default();
    d.feed(&data, &mut sink);
    d.finish(&mut sink);
    out.sort_by_key(|f| f.t_ms);
    out.dedup_by_key(|f| f.t_ms);
    Some(out)
}

#[test]
fn a_drifting_vessel_stays_one_segment() {
    // DMA AisAbnormal's drift test case: one vessel, hours of reports from several receivers.
    let Some(fixes) = fixes("dma-aisabnormal/538004030_drift_1.ais", 538_004_030) else {
        eprintln!("skipping: ../shared/data/ais not found beside the repository");
        return;
    };
    assert!(fixes.len() > 1000);
    let mut s = Segmenter::new(SegmenterConfig::default());
    let mut per_segment: HashMap<_, usize> = HashMap::new();
    for f in &fixes {
        if let Some(id) = s.push(f).segment() {
            *per_segment.entry(id).or_default() += 1;
        }
    }
    let biggest = per_segment.values().max().copied().unwrap_or(0);
    eprintln!("{} positions, segments {per_segment:?}", fixes.len());
    assert!(
        biggest as f64 >= 0.95 * fixes.len() as f64,
        "{} of {} positions in the main segment: {per_segment:?}",
        biggest,
        fixes.len()
    );
}

proptest! {
    #[test]
    fn any_input_is_placed_and_bounded(
        raw in proptest::collection::vec(
            (0i64..100_000, -100.0f64..100.0, -200.0f64..200.0, proptest::option::of(0f32..120.0),
             proptest::option::of(0f32..360.0), 0u8..3),
            0..300),
    ) {
        let cfg = SegmenterConfig { max_open_segments: 8, ..SegmenterConfig::default() };
        let mut s = Segmenter::new(cfg);
        let mut t = 0i64;
        for (dt, lat, lon, sog, cog, kind) in raw {
            t += dt;
            let transponder = [Transponder::ClassA, Transponder::ClassB, Transponder::LongRange][kind as usize];
            let p = s.push(&Fix { t_ms: t, lat, lon, sog_knots: sog, cog_deg: cog, transponder });
            if lat.abs() > 90.0 || lon.abs() > 180.0 {
                prop_assert!(matches!(p, Placement::Invalid(_)));
            }
            prop_assert!(s.open_segments() <= 8);
        }
    }
}
