//! Each detector on synthetic tracks: a positive case and near misses (issue 18).

mod common;

use common::*;
use detect::{Config, EventType, Fix};

const H: i64 = 3_600_000;
const MIN: i64 = 60_000;

// ---- AIS gap ------------------------------------------------------------------------------

fn gap_track(gap_ms: i64) -> Vec<Fix> {
    // 14 h of reports every 5 min far from shore (slow: where it goes dark is where it was
    // heard), silence, then 2 h more; a neighbour anchored 5 km away is heard all along (so
    // reception there is continuous).
    let mut a = straight(1, T0, 7.5, 57.5, 1.0, 90.0, 14 * 3600, 300);
    let last = a.last().unwrap().clone();
    let mut b = straight(
        1,
        last.time_ms + gap_ms,
        last.lat,
        last.lon + 0.01,
        0.5,
        90.0,
        7200,
        300,
    );
    a.append(&mut b);
    merge(vec![a, neighbour(last.lat, last.lon, 30)])
}

/// A vessel anchored 5 km north of (lat, lon), heard every 5 min for `hours`.
fn neighbour(lat: f64, lon: f64, hours: i64) -> Vec<Fix> {
    let (la, lo) = offset(lat, lon, 5_000.0, 0.0);
    straight(2, T0, la, lo, 0.0, 0.0, hours * 3600, 300)
}

#[test]
fn a_silence_of_seven_hours_is_a_gap_and_five_hours_fifty_is_not() {
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        gap_track(7 * H),
        vec![],
    );
    let gaps = of(&ev, EventType::AisGap);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let g = gaps[0];
    assert!(!g.open);
    assert_eq!(g.end_ms.unwrap() - g.start_ms, 7 * H);
    assert_eq!(g.details["gap_s"], 7 * 3600);
    // 7 h < 12 h: not "likely disabling", though far from shore with good reception.
    assert_eq!(g.details["likely_disabling"], false);
    assert_eq!(g.details["good_reception"], true);

    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        gap_track(5 * H + 50 * MIN),
        vec![],
    );
    assert!(of(&ev, EventType::AisGap).is_empty());
}

#[test]
fn a_silence_where_nobody_else_is_heard_is_a_coverage_hole_not_a_gap() {
    let alone: Vec<Fix> = gap_track(7 * H)
        .into_iter()
        .filter(|f| f.mmsi == 1)
        .collect();
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        alone,
        vec![],
    );
    assert!(of(&ev, EventType::AisGap).is_empty());
}

#[test]
fn a_vessel_seen_only_at_satellite_passes_is_not_dark_between_them() {
    // Heard for 10 min every 6.4 h (one look per pass): 6.4 h silences are its normal.
    let mut f = Vec::new();
    for pass in 0..8 {
        let t = T0 + pass * 23_000_000;
        f.extend(straight(
            3,
            t,
            7.5,
            57.5 + pass as f64 * 0.001,
            0.5,
            90.0,
            600,
            10,
        ));
    }
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        merge(vec![f, neighbour(7.5, 57.5, 52)]),
        vec![],
    );
    assert!(
        of(&ev, EventType::AisGap).is_empty(),
        "{:?}",
        of(&ev, EventType::AisGap)
    );
}

/// One position every `every_s` for `hours` (looks of a satellite-only vessel or receiver).
fn looks(mmsi: u32, t0: i64, lat: f64, lon: f64, hours: i64, every_s: i64) -> Vec<Fix> {
    (0..=hours * 3600 / every_s)
        .map(|k| straight(mmsi, t0 + k * every_s * 1000, lat, lon, 0.5, 90.0, 0, 60)[0].clone())
        .collect()
}

#[test]
fn issue_18_a_vessel_heard_only_by_satellite_is_never_dark() {
    // The scs-greyzone case: heard at one look every 2 h (6 in 12 h, under GFW's 14) while
    // neighbours are heard all along, then silent for 14 h. It was reported as a 12 h gap; a
    // vessel that is not well received has no expected reception, so its silence says nothing.
    let mut f = looks(5, T0, 7.5, 57.5, 24, 7200);
    let last = f.last().unwrap().clone();
    f.extend(looks(5, last.time_ms + 14 * H, 7.5, 57.6, 4, 7200));
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        merge(vec![f, neighbour(7.5, 57.5, 48)]),
        vec![],
    );
    assert!(
        of(&ev, EventType::AisGap).is_empty(),
        "{:?}",
        of(&ev, EventType::AisGap)
    );
}

#[test]
fn issue_18_a_vessel_sailing_from_coastal_into_satellite_coverage_is_not_dark() {
    // The scs-greyzone case: well received near a coastal receiver (a neighbour there is heard
    // every 5 min all along), it sails west at 13 kn into waters heard only at satellite looks
    // (a ship anchored where it would be 3 h on is heard once every 90 min), silent 7 h. Some
    // look there in most hours used to pass for coverage; a look every 90 min is not the
    // reception a well-received vessel has (14 positions in 12 h).
    let (lat, lon) = (7.5, 57.5);
    let a = straight(1, T0, lat, lon, 13.0, 270.0, 12 * 3600, 60);
    let last = a.last().unwrap().clone();
    let run_m = 13.0 * 0.514_444 * 3.0 * 3600.0;
    let (hlat, hlon) = offset(last.lat, last.lon, run_m, 270.0);
    let (blat, blon) = offset(last.lat, last.lon, 13.0 * 0.514_444 * 7.0 * 3600.0, 270.0);
    let back = straight(1, last.time_ms + 7 * H, blat, blon, 13.0, 270.0, 3600, 60);
    let sat = looks(3, T0, hlat, hlon, 30, 5400);
    let tracks = |sat: Vec<Fix>| {
        merge(vec![
            a.clone(),
            back.clone(),
            neighbour(last.lat, last.lon, 30),
            sat,
        ])
    };
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        tracks(sat),
        vec![],
    );
    assert!(
        of(&ev, EventType::AisGap).is_empty(),
        "{:?}",
        of(&ev, EventType::AisGap)
    );
    // Where the ship ahead is heard every 5 min, the same silence is a gap.
    let heard = straight(3, T0, hlat, hlon, 0.0, 0.0, 30 * 3600, 300);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        tracks(heard),
        vec![],
    );
    assert_eq!(of(&ev, EventType::AisGap).len(), 1, "{ev:?}");
}

#[test]
fn a_long_gap_far_from_shore_after_good_reception_is_likely_disabling() {
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        gap_track(13 * H),
        vec![],
    );
    let g = of(&ev, EventType::AisGap)[0];
    assert_eq!(g.details["likely_disabling"], true);
    // Without land data the shore condition is unknown, and said so.
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        gap_track(13 * H),
        vec![],
    );
    let g = of(&ev, EventType::AisGap)[0];
    assert!(g.details["likely_disabling"].is_null());
    assert!(g.details["distance_to_shore_m"].is_null());
}

/// Issue 18: a position that arrives after its gap was closed (a satellite backlog) splits or
/// withdraws the gap, and the result is what the same positions in time order give.
#[test]
fn a_late_position_inside_a_closed_gap_splits_or_withdraws_it() {
    let track = gap_track(13 * H);
    let gaps = |fixes: Vec<Fix>| -> Vec<(String, i64, Option<i64>)> {
        let ev = run(
            TestWorld::standard().arc(),
            Config::default(),
            fixes,
            vec![],
        );
        of(&ev, EventType::AisGap)
            .iter()
            .map(|g| (g.id.to_string(), g.start_ms, g.end_ms))
            .collect()
    };
    let whole = gaps(track.clone());
    assert_eq!(whole.len(), 1, "{whole:?}");
    let (start, end) = (whole[0].1, whole[0].2.unwrap());
    let at_start = track
        .iter()
        .find(|f| f.mmsi == 1 && f.time_ms == start)
        .unwrap()
        .clone();
    let heard_at = |offset_ms: i64| {
        let mut f = at_start.clone();
        f.time_ms = start + offset_ms;
        f.lon += 0.002;
        f.sources = ["sat/S".into()].into_iter().collect();
        f
    };
    let cases: [(&str, Vec<i64>, usize); 3] = [
        // 1 h in: the first hour is no gap, the 12 h after it are.
        ("one hour in", vec![H], 1),
        // 7 h in: the first 7 h stay a gap (same id, shorter); 6 h after a 7 h silence is not.
        ("seven hours in", vec![7 * H], 1),
        // Heard every two hours through the silence: no gap at all.
        ("every two hours", (1..7).map(|k| k * 2 * H).collect(), 0),
    ];
    for (what, offsets, n) in cases {
        let late: Vec<Fix> = offsets.iter().map(|&o| heard_at(o)).collect();
        // Delivered after everything else (late) and in time order: the same gaps.
        let mut delivered = track.clone();
        delivered.extend(late.iter().cloned());
        let live = gaps(delivered);
        let mut ordered = track.clone();
        ordered.extend(late);
        let ordered = gaps(merge(vec![ordered]));
        assert_eq!(live.len(), n, "{what}: {live:?}");
        assert_eq!(live, ordered, "{what}");
    }
    assert!(gaps({
        let mut d = track.clone();
        d.push(heard_at(H));
        d
    })
    .iter()
    .all(|g| g.1 == start + H && g.2 == Some(end)));
}

#[test]
fn an_open_gap_is_reported_while_still_open() {
    let mut e = detect::Engine::new(
        Config::default(),
        TestWorld::sea().arc(),
        Default::default(),
    );
    // Three hours well received, then silence while the neighbour is still heard.
    let mine = straight(1, T0, 7.5, 57.5, 0.5, 90.0, 3 * 3600, 60);
    let last = mine.last().unwrap().clone();
    let other: Vec<Fix> = neighbour(last.lat, last.lon, 10);
    for f in merge(vec![mine, other]) {
        e.push_position(f);
    }
    e.advance_to(T0 + 10 * H);
    let n = e.take_notices();
    assert!(
        n.iter()
            .any(|n| n.event.kind == EventType::AisGap && n.event.open),
        "{n:?}"
    );
    e.finish();
    assert_eq!(
        e.open_events()
            .filter(|x| x.kind == EventType::AisGap)
            .count(),
        1
    );
}

// ---- Loitering ----------------------------------------------------------------------------

fn drift(mmsi: u32, hours: i64, sog: f64) -> Vec<Fix> {
    straight(mmsi, T0, 7.5, 57.5, sog, 45.0, hours * 3600, 60)
}

#[test]
fn drifting_slowly_offshore_for_five_hours_is_loitering() {
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        drift(2, 5, 0.8),
        vec![],
    );
    let l = of(&ev, EventType::Loitering);
    assert_eq!(l.len(), 1, "{l:?}");
    assert!(l[0].open, "still drifting at the end of input");
}

#[test]
fn a_transmitter_drifting_while_another_on_its_mmsi_sails_far_away_is_loitering() {
    // Two transmitters on MMSI 2 (the segmenter gives them segments 0 and 1): one drifts
    // offshore reporting every 3 minutes, the other sails 600 km away every 10 s (the class A
    // rates); their reports interleave, so the MMSI's track jumps between them.
    let drifting: Vec<Fix> = straight(2, T0, 7.5, 57.5, 0.8, 45.0, 6 * 3600, 180)
        .into_iter()
        .map(|mut f| {
            f.segment = 1;
            f
        })
        .collect();
    let sailing: Vec<Fix> = straight(2, T0 + 5_000, 12.5, 60.0, 12.0, 90.0, 6 * 3600, 10);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        merge(vec![drifting, sailing]),
        vec![],
    );
    let l = of(&ev, EventType::Loitering);
    assert_eq!(l.len(), 1, "{l:?}");
    assert!((l[0].lat - 7.5).abs() < 0.1, "{l:?}");
}

#[test]
fn loitering_near_misses_short_fast_anchored_or_near_shore() {
    let w = || TestWorld::standard().arc();
    // 3 h 50 min is under the 4 h minimum.
    let ev = run(
        w(),
        Config::default(),
        straight(2, T0, 7.5, 57.5, 0.8, 45.0, 3 * 3600 + 50 * 60, 60),
        vec![],
    );
    assert!(of(&ev, EventType::Loitering).is_empty());
    // 2.5 kn is not slow.
    assert!(of(
        &run(w(), Config::default(), drift(2, 6, 2.5), vec![]),
        EventType::Loitering
    )
    .is_empty());
    // At anchor by navigational status.
    let anchored: Vec<Fix> = drift(2, 6, 0.3)
        .into_iter()
        .map(|mut f| {
            f.nav_status = Some(1);
            f
        })
        .collect();
    assert!(of(
        &run(w(), Config::default(), anchored, vec![]),
        EventType::Loitering
    )
    .is_empty());
    // 10 nm from shore (land ends at 51 E).
    let near = straight(2, T0, 10.5, 51.17, 0.5, 0.0, 6 * 3600, 60);
    assert!(of(
        &run(w(), Config::default(), near, vec![]),
        EventType::Loitering
    )
    .is_empty());
}

#[test]
fn issue_18_a_ship_under_way_heard_at_two_passes_near_one_place_is_not_loitering() {
    // The scs-greyzone case: 12.6 kn heading 202, heard for 10 min; 6.5 h later heard 5 km
    // from there heading 022 at 12.6 kn (it sailed out and back). The step's implied speed is
    // under 1 kn, but the ship says it was under way at both ends.
    let out = straight(9, T0, 7.5, 57.5, 12.6, 202.0, 600, 10);
    let last = out.last().unwrap().clone();
    let (la, lo) = offset(last.lat, last.lon, 5_000.0, 22.0);
    let back = straight(
        9,
        last.time_ms + 6 * H + 30 * MIN,
        la,
        lo,
        12.6,
        22.0,
        3600,
        10,
    );
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        merge(vec![out, back]),
        vec![],
    );
    assert!(of(&ev, EventType::Loitering).is_empty(), "{ev:?}");
}

// ---- Encounter ----------------------------------------------------------------------------

fn pair(apart_m: f64, secs: i64, sog: f64) -> Vec<Fix> {
    let (lat, lon) = (7.5, 57.5);
    let (lat2, lon2) = offset(lat, lon, apart_m, 90.0);
    // Sail in from 20 km apart for an hour, lie together, part for an hour.
    let a = straight(10, T0, lat, lon, sog, 0.0, secs, 30);
    let b = straight(11, T0, lat2, lon2, sog, 0.0, secs, 30);
    let a_after = straight(
        10,
        T0 + (secs + 30) * 1000,
        lat + 0.2,
        lon,
        12.0,
        0.0,
        5 * 3600,
        30,
    );
    let b_after = straight(
        11,
        T0 + (secs + 30) * 1000,
        lat - 0.2,
        lon2,
        12.0,
        180.0,
        5 * 3600,
        30,
    );
    merge(vec![a, b, a_after, b_after])
}

#[test]
fn two_ships_lying_300_m_apart_for_three_hours_are_an_encounter() {
    let fixes = pair(300.0, 3 * 3600, 0.5);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes.clone(),
        vec![],
    );
    let e = of(&ev, EventType::Encounter);
    assert_eq!(e.len(), 1, "{e:?}");
    rests_on_input(e[0], &fixes, &["TEST/rx1"]);
    // Both vessels, from the start of the encounter on.
    for m in [10, 11] {
        let first = e[0]
            .evidence
            .iter()
            .filter(|r| r.mmsi == m)
            .map(|r| r.time_ms)
            .min();
        assert!(
            first.is_some_and(|t| t <= e[0].start_ms),
            "{:?}",
            e[0].evidence
        );
    }
    let mm: Vec<u32> = e[0].vessels.iter().map(|v| v.mmsi).collect();
    assert_eq!(mm, vec![10, 11]);
    assert!(
        !e[0].open,
        "closed once they parted and the merge gap passed"
    );
    let dur = e[0].end_ms.unwrap() - e[0].start_ms;
    assert!((2 * H..=3 * H).contains(&dur), "{dur}");
}

#[test]
fn encounter_near_misses_600_m_apart_one_hour_fifty_or_under_way() {
    let w = || TestWorld::standard().arc();
    assert!(of(
        &run(w(), Config::default(), pair(600.0, 3 * 3600, 0.5), vec![]),
        EventType::Encounter
    )
    .is_empty());
    assert!(of(
        &run(w(), Config::default(), pair(300.0, 110 * 60, 0.5), vec![]),
        EventType::Encounter
    )
    .is_empty());
    assert!(of(
        &run(w(), Config::default(), pair(300.0, 3 * 3600, 8.0), vec![]),
        EventType::Encounter
    )
    .is_empty());
}

#[test]
fn two_stretches_together_with_hours_of_no_data_between_are_not_one_encounter() {
    // Two yachts moored 300 m apart, heard together for 1 h, then nothing from anyone for
    // 11.5 h (no tick in the gap at all), then together again for 1 h 50 min: neither stretch
    // lasts 2 h, and a run does not survive 11.5 h unseen (an AMSA capture showed one 14 h
    // encounter made of them).
    let (lat, lon) = (7.5, 57.5);
    let (lat2, lon2) = offset(lat, lon, 300.0, 90.0);
    let later = T0 + H + 11 * H + 30 * MIN;
    let fixes = merge(vec![
        straight(10, T0, lat, lon, 0.0, 0.0, 3600, 60),
        straight(11, T0, lat2, lon2, 0.0, 0.0, 3600, 60),
        straight(10, later, lat, lon, 0.0, 0.0, 110 * 60, 60),
        straight(11, later, lat2, lon2, 0.0, 0.0, 110 * 60, 60),
    ]);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes,
        vec![],
    );
    assert!(of(&ev, EventType::Encounter).is_empty(), "{ev:?}");
    // Each stretch long enough is an encounter of its own, the first closed where it was
    // last seen.
    let fixes = merge(vec![
        straight(10, T0, lat, lon, 0.0, 0.0, 3 * 3600, 60),
        straight(11, T0, lat2, lon2, 0.0, 0.0, 3 * 3600, 60),
        straight(10, later + 2 * H, lat, lon, 0.0, 0.0, 3 * 3600, 60),
        straight(11, later + 2 * H, lat2, lon2, 0.0, 0.0, 3 * 3600, 60),
    ]);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes,
        vec![],
    );
    let e = of(&ev, EventType::Encounter);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        !e[0].open && e[0].end_ms.unwrap() <= T0 + 3 * H,
        "{:?}",
        e[0]
    );
}

// ---- Port call and zone visit ------------------------------------------------------------

#[test]
fn a_stop_in_port_is_a_port_call_and_a_pass_through_is_not() {
    // Sail into the port, stop 5 h, sail out.
    let inbound = straight(20, T0, 11.05, 51.25, 10.0, 270.0, 3600, 30);
    let last = inbound.last().unwrap().clone();
    let stay = straight(
        20,
        last.time_ms + 30_000,
        last.lat,
        last.lon,
        0.0,
        270.0,
        5 * 3600,
        60,
    );
    let t1 = stay.last().unwrap().time_ms + 60_000;
    let out = straight(20, t1, last.lat, last.lon, 10.0, 90.0, 3600, 30);
    let fixes = merge(vec![inbound, stay, out]);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes.clone(),
        vec![],
    );
    let pc = of(&ev, EventType::PortCall);
    assert_eq!(pc.len(), 1, "{pc:?}");
    assert_eq!(pc[0].details["port"], "Port Test");
    assert!(!pc[0].open);
    let zv = of(&ev, EventType::ZoneVisit);
    assert!(zv
        .iter()
        .any(|z| z.details["zone"] == "Port Test" && !z.open));

    let through = straight(21, T0, 10.8, 51.05, 10.0, 0.0, 3 * 3600, 30);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        through,
        vec![],
    );
    assert!(of(&ev, EventType::PortCall).is_empty());
    assert!(!of(&ev, EventType::ZoneVisit).is_empty());
}

#[test]
fn a_zone_visit_runs_from_entry_to_exit_with_its_dwell() {
    // Eastbound along 7.5 N through the 57-58 E box at 12 kn.
    let f = straight(30, T0, 7.5, 56.8, 12.0, 90.0, 8 * 3600, 30);
    let ev = run(TestWorld::standard().arc(), Config::default(), f, vec![]);
    let b: Vec<_> = of(&ev, EventType::ZoneVisit)
        .into_iter()
        .filter(|z| z.details["zone"] == "Box")
        .collect();
    assert_eq!(b.len(), 1);
    let dwell = b[0].details["dwell_s"].as_i64().unwrap();
    // 1 degree of longitude at 7.5 N is 110.2 km: 4.96 h at 12 kn.
    assert!((dwell - 17_870).abs() < 120, "{dwell}");
    assert_eq!(b[0].zones, vec!["Box".to_owned()]);
}

#[test]
fn two_transmitters_on_one_mmsi_one_inside_a_zone_make_one_visit() {
    // One crosses the box eastbound; the other, on its MMSI, lies west of it. Their reports
    // alternate every 30 s: each hop in and out was a visit of its own.
    let mut inside = straight(40, T0, 7.5, 57.2, 10.0, 90.0, 6 * 3600, 60);
    // Half way through the box the segmenter splits its track: the same vessel.
    let half = inside.len() / 3;
    for f in &mut inside[half..] {
        f.segment = 3;
    }
    let mut outside = straight(40, T0 + 30_000, 7.5, 55.0, 0.1, 0.0, 6 * 3600, 60);
    for f in &mut outside {
        f.segment = 2;
    }
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        merge(vec![inside, outside]),
        vec![],
    );
    let b: Vec<_> = of(&ev, EventType::ZoneVisit)
        .into_iter()
        .filter(|z| z.details["zone"] == "Box")
        .collect();
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(!b[0].open);
    // From 57.2 E to 58 E at 10 kn: 88 km, 4.76 h.
    let dwell = b[0].details["dwell_s"].as_i64().unwrap();
    assert!((dwell - 17_150).abs() < 300, "{dwell}");
}

// ---- Identity change and watch list -------------------------------------------------------

#[test]
fn a_name_change_is_an_identity_change_and_a_first_name_is_not() {
    let f = straight(636_000_040, T0, 7.5, 57.5, 10.0, 0.0, 3 * 3600, 60);
    let ids = vec![
        ident(
            636_000_040,
            T0 + 60_000,
            "OCEAN STAR",
            "PA",
            80,
            Some(9_000_001),
        ),
        ident(
            636_000_040,
            T0 + 2 * 60_000,
            "OCEAN  STAR ",
            "PA",
            80,
            Some(9_000_001),
        ),
        ident(
            636_000_040,
            T0 + 2 * H,
            "ORIENT GRACE",
            "GA",
            80,
            Some(9_000_001),
        ),
    ];
    let ev = run(TestWorld::sea().arc(), Config::default(), f.clone(), ids);
    let ic = of(&ev, EventType::IdentityChange);
    assert_eq!(ic.len(), 1, "{ic:?}");
    // The report's feed, and where the vessel was when it was heard.
    rests_on_input(ic[0], &f, &["TEST/static"]);
    assert_eq!(ic[0].evidence.len(), 1);
    let at = ic[0].evidence[0].time_ms;
    assert!((T0 + 2 * H - 60_000..=T0 + 2 * H).contains(&at), "{at}");
    assert_eq!(ic[0].details["name"], "OCEAN STAR -> ORIENT GRACE");
    assert_eq!(ic[0].details["flag"], "PA -> GA");
    assert_eq!(ic[0].start_ms, T0 + 2 * H);
    // The vessel as it was before the change, as broadcast.
    assert_eq!(ic[0].vessels[0].name.as_deref(), Some("OCEAN  STAR "));
    assert_eq!(ic[0].vessels[1].name.as_deref(), Some("ORIENT GRACE"));
}

#[test]
fn a_name_change_heard_after_a_silence_spans_the_silence() {
    // Heard until 1 h, silent until 4 h (between satellite passes), renamed when heard again:
    // the change happened somewhere in the silence.
    let f = merge(vec![
        straight(636_000_043, T0, 7.5, 57.5, 10.0, 0.0, 3600, 60),
        straight(636_000_043, T0 + 4 * H, 7.7, 57.5, 10.0, 0.0, 3600, 60),
    ]);
    let ids = vec![
        ident(
            636_000_043,
            T0 + 60_000,
            "SEA LION",
            "PA",
            80,
            Some(9_000_002),
        ),
        ident(
            636_000_043,
            T0 + 4 * H + 120_000,
            "SEA LION II",
            "PA",
            80,
            Some(9_000_002),
        ),
    ];
    let ev = run(TestWorld::sea().arc(), Config::default(), f, ids);
    let ic = of(&ev, EventType::IdentityChange);
    assert_eq!(ic.len(), 1, "{ic:?}");
    assert_eq!(ic[0].start_ms, T0 + H);
    assert_eq!(ic[0].end_ms, Some(T0 + 4 * H + 120_000));
}

#[test]
fn one_imo_under_a_new_mmsi_is_an_identity_change() {
    let f = merge(vec![
        straight(636_000_041, T0, 7.5, 57.5, 10.0, 0.0, 3600, 60),
        straight(636_000_042, T0 + 5 * H, 7.6, 57.5, 10.0, 0.0, 3600, 60),
    ]);
    let ids = vec![
        ident(
            636_000_041,
            T0 + 60_000,
            "SEA LION",
            "PA",
            80,
            Some(9_488_126),
        ),
        ident(
            636_000_042,
            T0 + 5 * H + 60_000,
            "ORIENT GRACE",
            "GA",
            80,
            Some(9_488_126),
        ),
    ];
    let ev = run(TestWorld::sea().arc(), Config::default(), f, ids);
    let ic = of(&ev, EventType::IdentityChange);
    assert_eq!(ic.len(), 1, "{ic:?}");
    assert_eq!(ic[0].details["mmsi"], "636000041 -> 636000042");
    let mm: Vec<u32> = ic[0].vessels.iter().map(|v| v.mmsi).collect();
    assert_eq!(mm, vec![636_000_041, 636_000_042]);
    // The change happened in the silence between the old MMSI's last position and the new
    // MMSI's report: the event spans it.
    assert_eq!(ic[0].start_ms, T0 + H);
    assert_eq!(ic[0].end_ms, Some(T0 + 5 * H + 60_000));
}

#[test]
fn an_imo_field_that_is_no_imo_number_joins_no_mmsis() {
    // Units never set up send all ones (1073741823); flag-state numbers and a wrong check
    // digit are no IMO numbers either.
    for imo in [1_073_741_823, 12_345_678, 9_488_127] {
        let f = merge(vec![
            straight(636_000_043, T0, 7.5, 57.5, 10.0, 0.0, 3600, 60),
            straight(636_000_044, T0 + 5 * H, 7.6, 57.5, 10.0, 0.0, 3600, 60),
        ]);
        let ids = vec![
            ident(636_000_043, T0 + 60_000, "SEA LION", "PA", 80, Some(imo)),
            ident(
                636_000_044,
                T0 + 5 * H + 60_000,
                "ORIENT GRACE",
                "GA",
                80,
                Some(imo),
            ),
        ];
        let ev = run(TestWorld::sea().arc(), Config::default(), f, ids);
        assert!(
            of(&ev, EventType::IdentityChange).is_empty(),
            "{imo}: {ev:?}"
        );
    }
}

#[test]
fn a_change_heard_before_any_position_is_placed_at_the_next() {
    let ids = vec![
        ident(636_000_050, T0, "OCEAN STAR", "PA", 80, None),
        ident(636_000_050, T0 + 60_000, "ORIENT GRACE", "PA", 80, None),
    ];
    let f = straight(636_000_050, T0 + 600_000, 7.5, 57.5, 10.0, 0.0, 3600, 60);
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        f.clone(),
        ids.clone(),
    );
    let ic = of(&ev, EventType::IdentityChange);
    assert_eq!(ic.len(), 1, "{ic:?}");
    assert_eq!((ic[0].lat, ic[0].lon), (f[0].lat, f[0].lon));
    assert_eq!(ic[0].evidence[0].time_ms, f[0].time_ms);
    // A position hours later says nothing of where the change was.
    let late = straight(636_000_050, T0 + 3 * H, 7.5, 57.5, 10.0, 0.0, 3600, 60);
    let ev = run(TestWorld::sea().arc(), Config::default(), late, ids);
    let ic = of(&ev, EventType::IdentityChange);
    assert_eq!(ic.len(), 1, "{ic:?}");
    assert!(ic[0].lat.is_nan() && ic[0].evidence.is_empty(), "{ic:?}");
}

#[test]
fn a_default_mmsi_changing_names_is_no_identity_change() {
    // 1193046 (0x123456) is a manufacturer's default, shared by units never set up.
    let f = straight(1_193_046, T0, 7.5, 57.5, 10.0, 0.0, 3600, 60);
    let ids = vec![
        ident(1_193_046, T0 + 60_000, "NAUTICAST", "PA", 80, None),
        ident(1_193_046, T0 + 600_000, "THALIA", "GA", 70, None),
    ];
    let ev = run(TestWorld::sea().arc(), Config::default(), f, ids);
    assert!(of(&ev, EventType::IdentityChange).is_empty(), "{ev:?}");
}

#[test]
fn a_listed_vessel_is_a_watchlist_hit_by_mmsi_or_imo() {
    let w = detect::WatchList::from_csv_str(
        "mmsi,imo,reason\n000000050,,sanctions\n,9355214,shadow fleet\n",
        "w.csv",
    )
    .unwrap();
    let f = merge(vec![
        straight(50, T0, 7.5, 57.5, 10.0, 0.0, 3600, 60),
        straight(51, T0, 7.6, 57.5, 10.0, 0.0, 3600, 60),
        straight(52, T0, 7.7, 57.5, 10.0, 0.0, 3600, 60),
    ]);
    let ids = vec![ident(51, T0 - 1000, "X", "PA", 80, Some(9_355_214))];
    let ev = detect::run_batch(Config::default(), TestWorld::sea().arc(), w, f, ids);
    let hits = of(&ev, EventType::Watchlist);
    let mut mm: Vec<u32> = hits.iter().map(|e| e.vessels[0].mmsi).collect();
    mm.sort();
    assert_eq!(mm, vec![50, 51]);
    assert!(hits
        .iter()
        .any(|h| h.details["reason"] == "shadow fleet" && h.details["matched_on"] == "imo"));
}

// ---- Spoofing -----------------------------------------------------------------------------

#[test]
fn a_sixty_mile_jump_and_back_is_a_spoof_jump() {
    let t_jump = T0 + 2 * H;
    let t_back = T0 + 6 * H;
    let track = straight(60, T0, 7.5, 57.5, 12.0, 90.0, 8 * 3600, 30);
    let fixes = displaced(track, t_jump, t_back, 60.0 * 1852.0, 200.0);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes,
        vec![],
    );
    let j = of(&ev, EventType::SpoofJump);
    assert_eq!(j.len(), 1, "{ev:?}");
    assert_eq!(j[0].start_ms, t_jump);
    assert_eq!(j[0].end_ms, Some(t_back));
    assert!(of(&ev, EventType::SharedMmsi).is_empty());
}

#[test]
fn moored_then_moored_again_68_nm_away_half_a_day_later_is_a_trip_not_a_jump() {
    // An AMSA capture: a yacht moored (0 kn) and heard again 12.5 h later moored 68 nm away,
    // 5.4 kn on average. Stopped at both ends, it says nothing of its speed between.
    let here = straight(62, T0, -35.758, 174.350, 0.0, 0.0, 600, 60);
    let (la, lo) = offset(-35.758, 174.350, 68.0 * 1852.0, 160.0);
    let there = straight(
        62,
        T0 + 600_000 + 12 * H + 30 * MIN,
        la,
        lo,
        0.0,
        0.0,
        7200,
        60,
    );
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        merge(vec![here.clone(), there]),
        vec![],
    );
    assert!(of(&ev, EventType::SpoofJump).is_empty(), "{ev:?}");
    // Moored, then 68 nm away within the hour: faster than 50 kn, still a jump.
    let there = straight(62, T0 + 600_000 + 40 * MIN, la, lo, 0.0, 0.0, 7200, 60);
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        merge(vec![here, there]),
        vec![],
    );
    assert_eq!(of(&ev, EventType::SpoofJump).len(), 1, "{ev:?}");
}

#[test]
fn a_tanker_at_anchor_60_nm_away_between_two_passes_is_a_jump() {
    // Satellite passes 97 min apart: 60 nm is 37 kn, below 50 kn, but no tanker sails it.
    let here = straight(64, T0, 27.6, 51.5, 0.0, 0.0, 3600, 60);
    let (la, lo) = offset(27.6, 51.5, 60.0 * 1852.0, 200.0);
    let t = T0 + H + 97 * MIN;
    let there = straight(64, t, la, lo, 0.0, 0.0, 7200, 60);
    let fixes = merge(vec![here, there]);
    let tanker = vec![ident(64, T0, "NORDIC FAITH", "PA", 80, None)];
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        fixes.clone(),
        tanker,
    );
    let j = of(&ev, EventType::SpoofJump);
    assert_eq!(j.len(), 1, "{ev:?}");
    assert_eq!(j[0].start_ms, t);
    // A vessel of no known type may be a fast craft.
    let ev = run(TestWorld::sea().arc(), Config::default(), fixes, vec![]);
    assert!(of(&ev, EventType::SpoofJump).is_empty(), "{ev:?}");
}

#[test]
fn a_glitch_of_a_few_km_is_no_jump() {
    let fixes: Vec<Fix> = straight(61, T0, 7.5, 57.5, 12.0, 90.0, 3 * 3600, 30)
        .into_iter()
        .map(|mut f| {
            if f.time_ms == T0 + H {
                f.lat += 0.05; // 5.5 km
            }
            f
        })
        .collect();
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes,
        vec![],
    );
    assert!(of(&ev, EventType::SpoofJump).is_empty());
}

#[test]
fn reports_stamped_an_hour_late_are_not_jumps() {
    // A ship steaming east at 12 kn; for ten minutes a satellite's reports carry times an
    // hour late (the positions are where the ship was an hour before): hops of 22 km back
    // along its course line, and back again.
    let t_bad = T0 + 3 * H;
    let track = straight(66, T0, 7.5, 57.0, 12.0, 90.0, 6 * 3600, 60);
    let an_hour_m = 12.0 * 0.514_444 * 3600.0;
    let fixes = displaced(track, t_bad, t_bad + 600_000, an_hour_m, 270.0);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes.clone(),
        vec![],
    );
    assert!(of(&ev, EventType::SpoofJump).is_empty(), "{ev:?}");
    assert!(of(&ev, EventType::SharedMmsi).is_empty(), "{ev:?}");
    // The same hop across the course line is a jump.
    let across = displaced(fixes, t_bad, i64::MAX, 22_000.0, 0.0);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        across,
        vec![],
    );
    assert_eq!(of(&ev, EventType::SpoofJump).len(), 1, "{ev:?}");
}

#[test]
fn two_ships_on_one_mmsi_are_a_shared_mmsi_not_jumps() {
    let mut a = straight(62, T0, 7.5, 57.5, 12.0, 90.0, 4 * 3600, 60);
    let mut b = straight(62, T0 + 30_000, 9.5, 58.5, 12.0, 0.0, 4 * 3600, 60);
    for f in &mut b {
        f.segment = 2;
    }
    a.append(&mut b);
    a.sort_by_key(|f| f.time_ms);
    let ev = run(TestWorld::standard().arc(), Config::default(), a, vec![]);
    assert_eq!(of(&ev, EventType::SharedMmsi).len(), 1, "{ev:?}");
    assert!(of(&ev, EventType::SpoofJump).is_empty());
}

#[test]
fn positions_in_the_desert_are_a_spoof_land_not_a_jump() {
    let t1 = T0 + 2 * H;
    let t2 = T0 + 5 * H;
    let fixes: Vec<Fix> = straight(63, T0, 10.5, 52.0, 12.0, 0.0, 8 * 3600, 30)
        .into_iter()
        .map(|mut f| {
            if f.time_ms >= t1 && f.time_ms < t2 {
                f.lat = 10.5 + (f.time_ms % 7) as f64 * 1e-5;
                f.lon = 50.5;
                f.sog_knots = Some(0.0);
            }
            f
        })
        .collect();
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes,
        vec![],
    );
    let l = of(&ev, EventType::SpoofLand);
    assert_eq!(l.len(), 1, "{ev:?}");
    assert_eq!(l[0].start_ms, t1);
    assert_eq!(l[0].end_ms, Some(t2));
    assert!(of(&ev, EventType::SpoofJump).is_empty(), "{ev:?}");
}

/// A vessel sailing west at 8 kn from 10.5 N 51.2 E until `stop_lon`, then moored there for
/// three hours (the test land's east coast is 51.0 E).
fn sailing_onto_land(mmsi: u32, stop_lon: f64) -> Vec<Fix> {
    let mut fixes: Vec<Fix> = straight(mmsi, T0, 10.5, 51.2, 8.0, 270.0, 6 * 3600, 30)
        .into_iter()
        .take_while(|f| f.lon >= stop_lon)
        .collect();
    let last = fixes.last().cloned().expect("a track");
    for i in 1..=360 {
        let mut f = last.clone();
        f.time_ms += i * 30_000;
        f.sog_knots = Some(0.0);
        fixes.push(f);
    }
    fixes
}

#[test]
fn sailing_into_a_harbour_the_coastline_covers_is_not_a_spoof_land() {
    // Moored 0.02 degree inside the coastline: in a coastal cell of a land grid.
    let fixes = sailing_onto_land(64, 50.98);
    assert!(fixes.iter().filter(|f| f.lon < 51.0).count() > 300);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        fixes,
        vec![],
    );
    assert!(of(&ev, EventType::SpoofLand).is_empty(), "{ev:?}");
    assert!(of(&ev, EventType::SpoofJump).is_empty(), "{ev:?}");
}

#[test]
fn sailing_well_inland_is_a_spoof_land_only_when_asked() {
    // The same at plausible speeds, but on to 0.15 degree inland (more than a cell): a river
    // or canal the land data lacks, reported only with `report_land_without_jump`.
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        sailing_onto_land(65, 50.85),
        vec![],
    );
    assert!(of(&ev, EventType::SpoofLand).is_empty(), "{ev:?}");
    let mut cfg = Config::default();
    cfg.spoof.report_land_without_jump = true;
    let ev = run(
        TestWorld::standard().arc(),
        cfg,
        sailing_onto_land(65, 50.85),
        vec![],
    );
    let l = of(&ev, EventType::SpoofLand);
    // The episode starts where the vessel went on land, and is still open at the end.
    assert_eq!(l.len(), 1, "{ev:?}");
    assert!(l[0].lon < 51.0 && l[0].open, "{:?}", l[0]);
}

fn circling(mmsi: u32, t0: i64, hours: i64, radius_m: f64, sog: f64) -> Vec<Fix> {
    let (clat, clon) = (7.5, 57.5);
    let omega = sog * 0.514_444 / radius_m; // rad/s
    (0..hours * 3600 / 30)
        .map(|k| {
            let t = k * 30;
            let a = omega * t as f64;
            let (la, lo) = offset(clat, clon, radius_m, a.to_degrees());
            fix(
                mmsi,
                t0 + t * 1000,
                la,
                lo,
                sog,
                (a.to_degrees() + 90.0) % 360.0,
            )
        })
        .collect()
}

#[test]
fn reports_drawing_circles_are_a_spoof_circle_and_a_random_wander_is_not() {
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        circling(64, T0, 4, 3700.0, 10.0),
        vec![],
    );
    assert_eq!(of(&ev, EventType::SpoofCircle).len(), 1, "{ev:?}");
    // The same circles after sailing in from 20 nm away: a vessel really circling.
    let mut sailed: Vec<Fix> = straight(64, T0 - 2 * 3_600_000, 7.5, 57.1, 10.0, 90.0, 7000, 30)
        .into_iter()
        .filter(|f| f.time_ms < T0)
        .collect();
    let start = sailed.last().map(|f| (f.lat, f.lon));
    sailed.extend(circling(64, T0, 4, 3700.0, 10.0));
    assert!(start.is_some_and(|(la, lo)| (la - 7.5).abs() < 0.1 && (lo - 57.4).abs() < 0.15));
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        sailed.clone(),
        vec![],
    );
    assert!(of(&ev, EventType::SpoofCircle).is_empty(), "{ev:?}");
    let mut cfg = Config::default();
    cfg.spoof.report_circles_sailed_into = true;
    let ev = run(TestWorld::standard().arc(), cfg, sailed, vec![]);
    assert_eq!(of(&ev, EventType::SpoofCircle).len(), 1, "{ev:?}");
    // Zig-zagging (alternate turns) inside the same area is no circle.
    let mut z = Vec::new();
    let (mut lat, mut lon) = (7.5, 57.5);
    for k in 0..480 {
        let cog = if (k / 10) % 2 == 0 { 45.0 } else { 135.0 };
        let (a, b) = offset(lat, lon, 10.0 * 0.514 * 30.0, cog);
        lat = a;
        lon = b;
        z.push(fix(65, T0 + k * 30_000, lat, lon, 10.0, cog));
    }
    let ev = run(TestWorld::standard().arc(), Config::default(), z, vec![]);
    assert!(of(&ev, EventType::SpoofCircle).is_empty());
}

#[test]
fn circles_seen_only_in_satellite_passes_are_a_spoof_circle_and_a_patrol_box_is_not() {
    // Five minutes of reports every 1 h 37 min: each pass sees an eighth of a lap, never two
    // consecutive steps turning far, yet the glimpses lie on one circle, courses tangent, and
    // the reported 18 kn claim many laps (issue 18: CRYSTAL VOYAGER off Muscat).
    let glimpses = |f: Vec<Fix>| -> Vec<Fix> {
        f.into_iter()
            .filter(|x| (x.time_ms - T0) % (97 * 60_000) < 5 * 60_000)
            .collect()
    };
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        glimpses(circling(66, T0, 10, 3704.0, 18.0)),
        vec![],
    );
    let c = of(&ev, EventType::SpoofCircle);
    assert_eq!(c.len(), 1, "{ev:?}");
    let r = c[0].details["radius_m"].as_f64().unwrap();
    assert!((r - 3704.0).abs() < 100.0, "{r}");
    // A patrol going round a 6 km box at 12 kn, seen the same way: its courses are not
    // tangent to any circle through its positions.
    let mut z = Vec::new();
    let (mut lat, mut lon) = (7.5, 57.5);
    for k in 0..1200 {
        let leg = (k * 30 * 12 * 514 / 1000 / 6000) % 4;
        let cog = [0.0, 90.0, 180.0, 270.0][leg as usize];
        let (a, b) = offset(lat, lon, 12.0 * 0.514 * 30.0, cog);
        lat = a;
        lon = b;
        z.push(fix(67, T0 + k * 30_000, lat, lon, 12.0, cog));
    }
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        glimpses(z),
        vec![],
    );
    assert!(of(&ev, EventType::SpoofCircle).is_empty(), "{ev:?}");
}

// ---- Close approach ----------------------------------------------------------------------

fn crossing(miss_m: f64) -> Vec<Fix> {
    // A northbound at 10 kn; B westbound at 16 kn crossing A's track `miss_m` ahead of it.
    let (lat, lon) = (7.5, 57.5);
    let a = straight(70, T0, lat, lon, 10.0, 0.0, 3600, 5);
    // Meeting point after 30 min: A is 9260 m north.
    let meet_n = 10.0 * 0.514_444 * 1800.0 + miss_m;
    let (mlat, mlon) = offset(lat, lon, meet_n, 0.0);
    let (slat, slon) = offset(mlat, mlon, 16.0 * 0.514_444 * 1800.0, 90.0);
    let b = straight(71, T0, slat, slon, 16.0, 270.0, 3600, 5);
    merge(vec![a, b])
}

#[test]
fn a_pass_across_the_bow_at_100_m_is_a_close_approach_and_600_m_is_not() {
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        crossing(100.0),
        vec![],
    );
    let c = of(&ev, EventType::CloseApproach);
    assert_eq!(c.len(), 1, "{ev:?}");
    let cpa = c[0].details["cpa_m"].as_f64().unwrap();
    assert!(cpa < 130.0, "{cpa}");
    // Its evidence is the two reports the closest distance was measured between, one of
    // each vessel, both real positions of the input; its sources the feed that heard them.
    let fixes = crossing(100.0);
    let mut of_each: Vec<u32> = c[0].evidence.iter().map(|r| r.mmsi).collect();
    of_each.sort_unstable();
    assert_eq!(of_each, [70, 71], "{:?}", c[0].evidence);
    for r in &c[0].evidence {
        assert!(
            fixes
                .iter()
                .any(|f| f.mmsi == r.mmsi && f.time_ms == r.time_ms),
            "{r:?} is no position of the input"
        );
    }
    assert_eq!(c[0].sources, ["TEST/rx1"]);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        crossing(600.0),
        vec![],
    );
    assert!(of(&ev, EventType::CloseApproach).is_empty());
}

#[test]
fn a_tug_crossing_a_ships_bow_is_at_work_and_a_coast_guard_is_not() {
    for (ship_type, reported) in [(52, false), (31, false), (50, false), (55, true)] {
        let ids = vec![
            ident(70, T0 - 1000, "CARRIER", "PA", 70, None),
            ident(71, T0 - 1000, "CROSSER", "PH", ship_type, None),
        ];
        let ev = run(
            TestWorld::standard().arc(),
            Config::default(),
            crossing(100.0),
            ids,
        );
        let n = of(&ev, EventType::CloseApproach).len();
        assert_eq!(n, usize::from(reported), "ship type {ship_type}: {ev:?}");
    }
}

#[test]
fn issue_18_passing_a_stopped_vessel_is_not_a_close_approach() {
    // The scs-greyzone case: swarm members sailing in at 8 kn among those already moored passed
    // them within 300 m and were reported. A stopped vessel (< 0.5 kn) has no course: CPA is
    // for two vessels on converging courses. The same pass with both moving still counts.
    let pass = |sog_a: f64| {
        crossing(100.0)
            .into_iter()
            .map(|mut f| {
                if f.mmsi == 70 {
                    // A lies where it would have been at the meeting, stopped or making way.
                    let meet = offset(7.5, 57.5, 10.0 * 0.514_444 * 1800.0, 0.0);
                    let t = (f.time_ms - T0) as f64 / 1000.0 - 1800.0;
                    let (la, lo) = offset(meet.0, meet.1, sog_a * 0.514_444 * t, 0.0);
                    f.lat = la;
                    f.lon = lo;
                    f.sog_knots = Some(sog_a);
                }
                f
            })
            .collect::<Vec<Fix>>()
    };
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        pass(0.0),
        vec![],
    );
    assert!(of(&ev, EventType::CloseApproach).is_empty(), "{ev:?}");
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        pass(2.0),
        vec![],
    );
    assert_eq!(of(&ev, EventType::CloseApproach).len(), 1, "{ev:?}");
}

#[test]
fn issue_18_ships_meeting_on_near_parallel_tracks_pass_abeam_and_only_a_bow_crossing_counts() {
    // Lane traffic: A northbound at 12 kn, B on 200 degrees (160 apart: inside the crossing
    // window) at 12 kn, passing 150 m abeam. Their relative track meets either bow line some
    // 850 m away: no bow crossing within 300 m, no close approach. A crossing with the same CPA
    // (B westbound across A's bow) is one.
    let (lat, lon) = (7.5, 57.5);
    let meet = offset(lat, lon, 12.0 * 0.514_444 * 1800.0, 0.0);
    let a = straight(72, T0, lat, lon, 12.0, 0.0, 3600, 5);
    let pass_abeam = offset(meet.0, meet.1, 150.0, 90.0);
    let b_start = offset(pass_abeam.0, pass_abeam.1, 12.0 * 0.514_444 * 1800.0, 20.0);
    let b = straight(73, T0, b_start.0, b_start.1, 12.0, 200.0, 3600, 5);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        merge(vec![a, b]),
        vec![],
    );
    assert!(of(&ev, EventType::CloseApproach).is_empty(), "{ev:?}");
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        crossing(150.0),
        vec![],
    );
    let c = of(&ev, EventType::CloseApproach);
    assert_eq!(c.len(), 1, "{ev:?}");
    let bcr = c[0].details["bow_crossing_m"].as_f64().unwrap();
    assert!((100.0..200.0).contains(&bcr), "{bcr}");
}

/// A coast-guard ship (flag `guard_flag`) keeping station ahead and to starboard of a survey
/// ship (CN) for 4 h, then crossing its bow 100 m ahead at 16 kn.
fn station_then_bow_crossing(guard_flag: &str) -> (Vec<Fix>, Vec<detect::IdentityUpdate>) {
    let (lat, lon) = (7.5, 57.5);
    let secs = 4 * 3600;
    let ship = straight(90, T0, lat, lon, 10.0, 0.0, secs + 1800, 10);
    // Crossing 1852 m at 16 kn takes 225 s, in which the ship makes 1157 m: start 1257 m ahead.
    let (slat, slon) = offset(lat, lon, 1257.0, 0.0);
    let (slat, slon) = offset(slat, slon, 1852.0, 90.0);
    let mut guard = straight(91, T0, slat, slon, 10.0, 0.0, secs, 10);
    let last = guard.pop().unwrap();
    guard.extend(straight(
        91,
        last.time_ms,
        last.lat,
        last.lon,
        16.0,
        270.0,
        1800,
        10,
    ));
    let ids = vec![
        ident(90, T0 - 1000, "SURVEYOR", "CN", 90, None),
        ident(91, T0 - 1000, "GUARD", guard_flag, 55, None),
    ];
    (merge(vec![ship, guard]), ids)
}

#[test]
fn issue_18_an_escort_crossing_its_charge_s_bow_is_planned_and_a_shadower_doing_so_is_not() {
    // Same flag: an escort (its ships manoeuvre around each other by design). A foreign
    // coast-guard ship doing the same is shadowing, and its pass across the bow harassment.
    let (f, ids) = station_then_bow_crossing("CN");
    let ev = run(TestWorld::standard().arc(), Config::default(), f, ids);
    assert_eq!(of(&ev, EventType::Escort).len(), 1, "{ev:?}");
    assert!(of(&ev, EventType::CloseApproach).is_empty(), "{ev:?}");
    let (f, ids) = station_then_bow_crossing("PH");
    let ev = run(TestWorld::standard().arc(), Config::default(), f, ids);
    assert_eq!(of(&ev, EventType::Shadowing).len(), 1, "{ev:?}");
    let c = of(&ev, EventType::CloseApproach);
    assert_eq!(c.len(), 1, "{ev:?}");
    assert!(c[0].details["cpa_m"].as_f64().unwrap() < 150.0, "{c:?}");
}

// ---- Escort and shadowing -----------------------------------------------------------------

fn company(
    escort_flag: &str,
    secs: i64,
    apart_m: f64,
    escort_type: u8,
) -> (Vec<Fix>, Vec<detect::IdentityUpdate>) {
    let (lat, lon) = (7.5, 57.5);
    let (lat2, lon2) = offset(lat, lon, apart_m, 90.0);
    let a = straight(80, T0, lat, lon, 6.0, 20.0, secs, 30);
    let b = straight(81, T0, lat2, lon2, 6.0, 20.0, secs, 30);
    let ids = vec![
        ident(80, T0 - 1000, "SUPPLY ONE", "PH", 90, None),
        ident(81, T0 - 1000, "GUARD", escort_flag, escort_type, None),
    ];
    (merge(vec![a, b]), ids)
}

#[test]
fn a_coast_guard_ship_alongside_its_own_flag_is_an_escort_and_a_foreign_one_shadowing() {
    let (f, ids) = company("PH", 4 * 3600, 1852.0, 55);
    let ev = run(
        TestWorld::standard().arc(),
        Config::default(),
        f.clone(),
        ids,
    );
    let e = of(&ev, EventType::Escort);
    assert_eq!(e.len(), 1, "{ev:?}");
    rests_on_input(e[0], &f, &["TEST/rx1"]);
    let mm: Vec<u32> = e[0].vessels.iter().map(|v| v.mmsi).collect();
    assert_eq!(mm, vec![80, 81], "escorted first");
    assert!(of(&ev, EventType::Shadowing).is_empty());

    let (f, ids) = company("CN", 4 * 3600, 1852.0, 55);
    let ev = run(TestWorld::standard().arc(), Config::default(), f, ids);
    assert_eq!(of(&ev, EventType::Shadowing).len(), 1, "{ev:?}");
    assert!(of(&ev, EventType::Escort).is_empty());
}

#[test]
fn escort_near_misses_two_cargo_ships_short_company_or_far_apart() {
    let w = || TestWorld::standard().arc();
    let (f, ids) = company("PH", 4 * 3600, 1852.0, 70);
    assert!(run(w(), Config::default(), f, ids)
        .iter()
        .all(|e| !matches!(e.kind, EventType::Escort | EventType::Shadowing)));
    let (f, ids) = company("PH", 110 * 60, 1852.0, 55);
    assert!(of(&run(w(), Config::default(), f, ids), EventType::Escort).is_empty());
    let (f, ids) = company("PH", 4 * 3600, 6.0 * 1852.0, 55);
    assert!(of(&run(w(), Config::default(), f, ids), EventType::Escort).is_empty());
    // A cargo ship sailing the lane next to a watch-listed tanker is traffic: only state
    // vessels escort or shadow (issue 18).
    let list = detect::WatchList::from_csv_str("mmsi,imo,reason\n000000080,,sanctions\n", "w.csv")
        .unwrap();
    let (f, ids) = company("CN", 4 * 3600, 1852.0, 70);
    let ev = detect::run_batch(Config::default(), w(), list, f, ids);
    assert!(ev
        .iter()
        .all(|e| !matches!(e.kind, EventType::Escort | EventType::Shadowing)));
}

// ---- Swarm -------------------------------------------------------------------------------

fn mass(n: u32, hours: i64) -> Vec<Fix> {
    let tracks = (0..n)
        .map(|k| {
            let (la, lo) = offset(9.994, 114.658, 150.0 * k as f64, (k * 37 % 360) as f64);
            straight(
                1000 + k,
                T0 + k as i64 * 1000,
                la,
                lo,
                0.2,
                0.0,
                hours * 3600,
                120,
            )
        })
        .collect();
    merge(tracks)
}

#[test]
fn twenty_five_vessels_massed_for_seven_hours_are_a_swarm_and_fifteen_are_not() {
    let fixes = mass(25, 7);
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        fixes.clone(),
        vec![],
    );
    let s = of(&ev, EventType::Swarm);
    assert_eq!(s.len(), 1, "{}", s.len());
    rests_on_input(s[0], &fixes, &["TEST/rx1"]);
    assert_eq!(s[0].details["peak"], 25);
    assert_eq!(s[0].vessels.len(), 25);
    assert!(of(
        &run(
            TestWorld::sea().arc(),
            Config::default(),
            mass(15, 7),
            vec![]
        ),
        EventType::Swarm
    )
    .is_empty());
    assert!(of(
        &run(
            TestWorld::sea().arc(),
            Config::default(),
            mass(25, 5),
            vec![]
        ),
        EventType::Swarm
    )
    .is_empty());
}

// ---- Survey ------------------------------------------------------------------------------

fn survey_lines(lines: u32, line_m: f64, spacing_m: f64) -> Vec<Fix> {
    let mut out = Vec::new();
    let (mut lat, mut lon) = (6.2, 112.15);
    let mut t = T0;
    let step_s = 30;
    let v = 5.0 * 0.514_444;
    let mut leg = |lat: &mut f64, lon: &mut f64, t: &mut i64, len: f64, cog: f64| {
        let n = (len / (v * step_s as f64)).ceil() as i64;
        for _ in 0..n {
            let (a, b) = offset(*lat, *lon, v * step_s as f64, cog);
            *lat = a;
            *lon = b;
            *t += step_s * 1000;
            out.push(fix(90, *t, *lat, *lon, 5.0, cog));
        }
    };
    for k in 0..lines {
        let h = if k % 2 == 0 { 225.0 } else { 45.0 };
        leg(&mut lat, &mut lon, &mut t, line_m, h);
        if k + 1 < lines {
            leg(&mut lat, &mut lon, &mut t, spacing_m, 315.0);
        }
    }
    out
}

#[test]
fn back_and_forth_lines_are_a_survey_and_three_lines_are_not() {
    let fixes = survey_lines(10, 14.0 * 1852.0, 1.2 * 1852.0);
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        fixes.clone(),
        vec![],
    );
    let s = of(&ev, EventType::Survey);
    assert_eq!(s.len(), 1, "{ev:?}");
    rests_on_input(s[0], &fixes, &["TEST/rx1"]);
    assert!(
        s[0].details["lines"].as_u64().unwrap() >= 9,
        "{:?}",
        s[0].details
    );
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        survey_lines(3, 14.0 * 1852.0, 1.2 * 1852.0),
        vec![],
    );
    assert!(of(&ev, EventType::Survey).is_empty());
}

#[test]
fn a_coast_guard_ship_keeping_station_on_a_surveyor_is_not_surveying_itself() {
    let lines = survey_lines(10, 14.0 * 1852.0, 1.2 * 1852.0);
    // The escort: the same track 1 nm to the east, flying the same flag.
    let escort: Vec<Fix> = lines
        .iter()
        .map(|f| {
            let (la, lo) = offset(f.lat, f.lon, 1852.0, 90.0);
            let mut g = fix(91, f.time_ms, la, lo, 5.0, f.cog_deg.unwrap());
            g.segment = 91;
            g
        })
        .collect();
    let ids = vec![
        ident(90, T0 - 1000, "TAN HAI 8", "CN", 90, None),
        ident(91, T0 - 1000, "HAIJING 5402", "CN", 55, None),
    ];
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        merge(vec![lines, escort]),
        ids,
    );
    let s = of(&ev, EventType::Survey);
    assert_eq!(
        s.iter().map(|e| e.vessels[0].mmsi).collect::<Vec<_>>(),
        vec![90],
        "{s:?}"
    );
    assert_eq!(of(&ev, EventType::Escort).len(), 1);
}

#[test]
fn a_vessel_running_lines_in_company_with_a_surveyor_joins_its_survey() {
    let lines = survey_lines(10, 14.0 * 1852.0, 1.2 * 1852.0);
    // A fishing vessel (no state vessel: no escort event) drawing the same lines 1 nm to the
    // east, five minutes behind.
    let companion: Vec<Fix> = lines
        .iter()
        .map(|f| {
            let (la, lo) = offset(f.lat, f.lon, 1852.0, 90.0);
            let mut g = fix(92, f.time_ms + 300_000, la, lo, 5.0, f.cog_deg.unwrap());
            g.segment = 92;
            g
        })
        .collect();
    let ids = vec![
        ident(90, T0 - 1000, "TAN HAI 8", "CN", 90, None),
        ident(92, T0 - 1000, "QIONG SAN YU 0128", "CN", 30, None),
    ];
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        merge(vec![lines.clone(), companion.clone()]),
        ids.clone(),
    );
    let s = of(&ev, EventType::Survey);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(
        s[0].vessels.iter().map(|v| v.mmsi).collect::<Vec<_>>(),
        vec![90, 92]
    );
    assert_eq!(s[0].details["in_company"], serde_json::json!([92]));
    // A vessel running the lines the other way (the track reversed: anti-parallel at every
    // moment), with `company_m` wide enough to take in the whole pattern: not in company.
    let odd = survey_lines(9, 14.0 * 1852.0, 1.2 * 1852.0);
    let first = odd[0].time_ms;
    let last = odd[odd.len() - 1].time_ms;
    let reversed: Vec<Fix> = odd
        .iter()
        .rev()
        .map(|f| {
            let (la, lo) = offset(f.lat, f.lon, 1852.0, 90.0);
            let cog = (f.cog_deg.unwrap() + 180.0) % 360.0;
            let mut g = fix(92, first + (last - f.time_ms), la, lo, 5.0, cog);
            g.segment = 92;
            g
        })
        .collect();
    let mut wide = Config::default();
    wide.survey.company_m = 100_000.0;
    let ev = run(
        TestWorld::sea().arc(),
        wide,
        merge(vec![odd, reversed]),
        ids.clone(),
    );
    let s = of(&ev, EventType::Survey);
    assert_eq!(
        s.iter().map(|e| e.vessels.len()).collect::<Vec<_>>(),
        vec![1, 1],
        "{s:?}"
    );
    // The same lines 20 nm apart are two surveys.
    let apart: Vec<Fix> = companion
        .iter()
        .map(|f| {
            let mut g = f.clone();
            (g.lat, g.lon) = offset(f.lat, f.lon, 20.0 * 1852.0, 90.0);
            g
        })
        .collect();
    let ev = run(
        TestWorld::sea().arc(),
        Config::default(),
        merge(vec![lines, apart]),
        ids,
    );
    let s = of(&ev, EventType::Survey);
    assert_eq!(
        s.iter().map(|e| e.vessels.len()).collect::<Vec<_>>(),
        vec![1, 1],
        "{s:?}"
    );
}

#[test]
fn two_transmitters_taking_turns_on_one_mmsi_flap_and_are_no_identity_change() {
    let f = straight(636_000_043, T0, 7.5, 57.5, 10.0, 0.0, 6 * 3600, 60);
    let update = |k: i64, cs: &str| {
        let mut u = ident(
            636_000_043,
            T0 + k * 1_800_000 + 1000,
            "HARMONY 9",
            "PA",
            70,
            None,
        );
        u.callsign = Some(cs.to_owned());
        u
    };
    let turns: Vec<_> = (0..12)
        .map(|k| update(k, if k % 2 == 0 { "3EF4F5" } else { "3ED6B4" }))
        .collect();
    let ev = run(TestWorld::sea().arc(), Config::default(), f.clone(), turns);
    // Issue 18 (ior-shadow-fleet's HARMONY 9): the first change, reported when it came, is
    // withdrawn once the call sign flaps back: two transmitters, not a change.
    assert!(of(&ev, EventType::IdentityChange).is_empty(), "{ev:?}");
    // A call sign that changes and stays is a change.
    let stays: Vec<_> = (0..6)
        .map(|k| update(k, if k == 0 { "3EF4F5" } else { "3ED6B4" }))
        .collect();
    let ev = run(TestWorld::sea().arc(), Config::default(), f, stays);
    assert_eq!(of(&ev, EventType::IdentityChange).len(), 1, "{ev:?}");
}

#[test]
fn a_vessel_silent_for_a_month_is_forgotten_and_its_zone_visit_closed_where_last_seen() {
    let mut e = detect::Engine::new(
        Config::default(),
        TestWorld::standard().arc(),
        Default::default(),
    );
    // A: one hour inside the box, then never again. B: far away, every 6 h for 32 days.
    let a = straight(100, T0, 7.5, 57.5, 0.5, 0.0, 3600, 60);
    let a_last = a.last().unwrap().time_ms;
    let b = straight(101, T0, -10.0, 80.0, 0.0, 0.0, 32 * 86_400, 6 * 3600);
    for f in merge(vec![a, b]) {
        e.push_position(f);
    }
    assert_eq!(e.stats().vessels, 1, "only B is remembered");
    let n = e.take_notices();
    let visit = n
        .iter()
        .find(|n| n.event.kind == EventType::ZoneVisit && n.change == detect::Change::Closed)
        .expect("the visit is closed");
    assert_eq!(visit.event.end_ms, Some(a_last));
}
