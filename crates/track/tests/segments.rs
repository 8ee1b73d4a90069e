//! Segmentation on real captures, synthetic cases (issue 17) and random input.

mod cases;

use ais::msg::Message;
use ais::stream::{Decoder, Meta};
use proptest::prelude::*;
use std::collections::HashMap;
use std::path::Path;
use track::segment::{
    Fix, InvalidReason, Placement, Segmenter, SegmenterConfig, StartReason, Transponder,
};

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

/// Issue 17: two ships on one MMSI 5 nm abeam, reporting seconds apart, make two clean
/// segments (GFW's reach alone makes one zig-zag segment; its lookback then drops one ship's
/// reports).
#[test]
fn issue_17_two_ships_5_nm_abeam_are_separated() {
    let case = cases::two_ships_abeam(5.0);
    let (placements, o) = cases::run(&case);
    assert_eq!(o.flagged, 0, "nothing discarded: {o:?}");
    assert!(o.ari >= 0.9, "{o:?}");
    assert_eq!(o.segments, 2, "{o:?}");
    assert!(placements.iter().all(|p| p.segment().is_some()));
}

/// Issue 17: two ships on one MMSI anchored 3 nm apart, reporting every 3 minutes, are
/// separated (target: adjusted Rand index >= 0.9 against the truth).
#[test]
fn issue_17_two_ships_anchored_3_nm_apart_are_separated() {
    let (_, o) = cases::run(&cases::two_anchored(3.0));
    assert_eq!(o.flagged, 0, "{o:?}");
    assert!(o.ari >= 0.9, "{o:?}");
}

/// Issue 17: a ship whose AIS draws circles 50 nm off its track for ten hours makes at most
/// three segments (GFW: 2; Tidewatch before: 94 on ior-shadow-fleet).
#[test]
fn issue_17_a_circle_spoof_makes_at_most_three_segments() {
    let (_, o) = cases::run(&cases::circle_spoof());
    assert!(o.segments <= 3, "{o:?}");
    assert_eq!(o.single, 0, "{o:?}");
}

/// Issue 17: a ship whose reports jump 60 nm for 20 hours makes at most five segments (GFW: 4;
/// Tidewatch before: 17 on ior-shadow-fleet).
#[test]
fn issue_17_a_jump_spoof_makes_at_most_five_segments() {
    let (_, o) = cases::run(&cases::jump_spoof());
    assert!(o.segments <= 5, "{o:?}");
    assert_eq!(o.single, 0, "{o:?}");
}

/// Issue 17: a transit with a 14 h satellite gap on its course stays one segment (beyond
/// `max_hours`, a position on the dead-reckoned course bridges the gap).
#[test]
fn issue_17_a_satellite_gap_on_course_is_bridged() {
    let (_, o) = cases::run(&cases::satellite_gap());
    assert_eq!(o.segments, 1, "{o:?}");
}

/// Issue 17: fishing boats of one placeholder MMSI in four ports: under 10 % of the segments
/// are single positions (the real track: 163 of 191 before), nothing is dropped, the 11 nm
/// spike without speed and course and the null-island reports are flagged, not segments.
#[test]
fn issue_17_a_placeholder_mmsi_in_several_ports_does_not_shatter() {
    let case = cases::placeholder_ports();
    let (placements, o) = cases::run(&case);
    eprintln!("{} positions: {o:?}", case.fixes.len());
    assert!(o.segments > 0);
    assert!(
        (o.single as f64) < 0.1 * o.segments as f64,
        "{} of {} segments are single positions",
        o.single,
        o.segments
    );
    // Far fewer segments than boat-visits: each boat's stay is a segment, not each report.
    assert!(o.segments < 100, "{o:?}");
    let junk: Vec<Placement> = placements
        .iter()
        .zip(&case.truth)
        .filter(|(_, &t)| t == u32::MAX)
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(
        junk,
        [
            Placement::Invalid(InvalidReason::Spike),
            Placement::Invalid(InvalidReason::NullIsland),
            Placement::Invalid(InvalidReason::NullIsland),
            Placement::Invalid(InvalidReason::NullIsland),
        ]
    );
    // Ports 160-260 nm apart never share a segment.
    let mut port_of_segment = HashMap::new();
    for (p, f) in placements.iter().zip(&case.fixes) {
        if let Some(id) = p.segment() {
            let port = (f.lat.round() as i32, f.lon.round() as i32);
            let first = *port_of_segment.entry(id).or_insert(port);
            let dist_deg = ((first.0 - port.0).pow(2) + (first.1 - port.1).pow(2)) as f64;
            assert!(dist_deg.sqrt() < 2.0, "segment {id:?} hops ports");
        }
    }
}

/// Issue 17: a boat silent in port whose speed is unknown does not continue as a report 160 nm
/// away 7.5 hours later (GFW's reach allows 25 nm per hour of gap), but one at the same berth
/// after 12 hours (more than `max_hours`) continues its segment.
#[test]
fn issue_17_a_hop_between_ports_is_a_new_segment_a_night_in_port_is_not() {
    let berth = |t_h: f64, lat: f64| Fix {
        t_ms: (t_h * 3_600_000.0) as i64,
        lat,
        lon: 76.0,
        sog_knots: None,
        cog_deg: None,
        transponder: Transponder::ClassB,
    };
    let mut s = Segmenter::new(SegmenterConfig::default());
    for k in 0..10 {
        assert!(s.push(&berth(k as f64 * 0.05, 10.0)).segment().is_some());
    }
    assert_eq!(
        s.push(&berth(7.95, 10.0 + 160.0 / 60.0)),
        Placement::Started(track::segment::SegmentId(1), StartReason::NoMatch)
    );
    assert_eq!(
        s.push(&berth(12.5, 10.0001)),
        Placement::Joined(track::segment::SegmentId(0))
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
