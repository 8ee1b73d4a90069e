//! Batch = incremental = replay (issue 18): the same input in one go, or split over many runs
//! with the engine's state saved (as JSON) and resumed between them, gives the same events
//! with the same ids.

mod common;

use common::*;
use detect::{Collector, Config, Engine, EngineState, Event, Fix, IdentityUpdate, WatchList};
use proptest::prelude::*;

#[derive(Clone)]
enum In {
    Fix(Fix),
    Id(IdentityUpdate),
}

fn time(i: &In) -> i64 {
    match i {
        In::Fix(f) => f.time_ms,
        In::Id(u) => u.time_ms,
    }
}

/// A mixed input: a gap, an encounter, a crossing, a jump, an escort, a swarm, renames.
fn input() -> Vec<In> {
    const H: i64 = 3_600_000;
    let mut tracks = Vec::new();
    // AIS gap of 7 h, with a neighbour heard all along.
    let mut g = straight(1, T0, 7.5, 57.5, 1.0, 90.0, 4 * 3600, 120);
    let last = g.last().unwrap().clone();
    g.extend(straight(
        1,
        last.time_ms + 7 * H,
        last.lat,
        last.lon + 0.01,
        1.0,
        90.0,
        3600,
        120,
    ));
    tracks.push(g);
    tracks.push(straight(3, T0, 7.55, 57.55, 0.0, 0.0, 13 * 3600, 300));
    // Encounter.
    let (la, lo) = offset(8.0, 58.0, 200.0, 90.0);
    tracks.push(straight(636_000_010, T0, 8.0, 58.0, 0.3, 0.0, 4 * 3600, 60));
    tracks.push(straight(11, T0, la, lo, 0.3, 0.0, 4 * 3600, 60));
    // Escort (coast guard alongside).
    let (la, lo) = offset(6.0, 56.0, 1852.0, 90.0);
    tracks.push(straight(80, T0, 6.0, 56.0, 6.0, 20.0, 5 * 3600, 30));
    tracks.push(straight(81, T0, la, lo, 6.0, 20.0, 5 * 3600, 30));
    // Jump and back.
    let j: Vec<Fix> = straight(60, T0, 9.0, 57.0, 12.0, 90.0, 6 * 3600, 60)
        .into_iter()
        .map(|mut f| {
            if f.time_ms >= T0 + 2 * H && f.time_ms < T0 + 4 * H {
                f.lat -= 1.0;
            }
            f
        })
        .collect();
    tracks.push(j);
    // A swarm of 22.
    for k in 0..22u32 {
        let (la, lo) = offset(9.994, 114.658, 150.0 * k as f64, (k * 37 % 360) as f64);
        tracks.push(straight(
            1000 + k,
            T0 + k as i64 * 1000,
            la,
            lo,
            0.2,
            0.0,
            7 * 3600,
            300,
        ));
    }
    let mut all: Vec<In> = merge(tracks).into_iter().map(In::Fix).collect();
    for u in [
        ident(80, T0 - 1000, "SUPPLY ONE", "PH", 90, None),
        ident(81, T0 - 1000, "GUARD", "PH", 55, None),
        ident(636_000_010, T0 + H, "TANKER A", "PA", 80, Some(9_000_001)),
        ident(
            636_000_010,
            T0 + 3 * H,
            "TANKER B",
            "GA",
            80,
            Some(9_000_001),
        ),
    ] {
        all.push(In::Id(u));
    }
    all.sort_by_key(time);
    all
}

fn engine() -> Engine {
    Engine::new(
        Config::default(),
        TestWorld::standard().arc(),
        WatchList::default(),
    )
}

fn push(e: &mut Engine, i: &In) {
    match i {
        In::Fix(f) => e.push_position(f.clone()),
        In::Id(u) => e.push_identity(u.clone()),
    }
}

fn json(events: &[Event]) -> String {
    serde_json::to_string_pretty(events).unwrap()
}

fn batch(input: &[In]) -> Vec<Event> {
    let mut e = engine();
    let mut c = Collector::default();
    for i in input {
        push(&mut e, i);
    }
    e.finish();
    c.absorb(e.take_notices());
    c.events()
}

fn split(input: &[In], cuts: &[usize]) -> Vec<Event> {
    let mut c = Collector::default();
    let mut state: Option<String> = None;
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied());
    bounds.push(input.len());
    bounds.sort_unstable();
    for w in bounds.windows(2) {
        let mut e = match state.take() {
            None => engine(),
            Some(s) => {
                let st: EngineState = serde_json::from_str(&s).unwrap();
                Engine::resume(
                    Config::default(),
                    TestWorld::standard().arc(),
                    WatchList::default(),
                    st,
                )
            }
        };
        for i in &input[w[0]..w[1]] {
            push(&mut e, i);
        }
        if w[1] == input.len() {
            e.finish();
        } else {
            e.report_open();
            state = Some(serde_json::to_string(&e.save()).unwrap());
        }
        c.absorb(e.take_notices());
    }
    c.events()
}

#[test]
fn the_mixed_input_gives_every_kind_it_holds() {
    let ev = batch(&input());
    let kinds: std::collections::BTreeSet<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "ais_gap",
        "encounter",
        "escort",
        "spoof_jump",
        "swarm",
        "identity_change",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
}

#[test]
fn replaying_the_same_input_gives_the_same_ids() {
    let a = batch(&input());
    let b = batch(&input());
    assert_eq!(json(&a), json(&b));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn one_run_and_many_resumed_runs_give_the_same_events(cuts in proptest::collection::vec(0.0f64..1.0, 1..6)) {
        let input = input();
        let cuts: Vec<usize> = cuts.iter().map(|c| (c * input.len() as f64) as usize).collect();
        let one = batch(&input);
        let many = split(&input, &cuts);
        prop_assert_eq!(json(&one), json(&many));
    }

    /// Input delivered out of order within the reorder window (`[engine] reorder_s`, 60 s),
    /// part of it resumed from saved state, gives the events of the ordered input: the
    /// reorder buffer's in-order run and its heap release in (time, arrival) order.
    #[test]
    fn input_disordered_within_the_window_gives_the_same_events(
        seed in 0u64..u64::MAX,
        cut in 0.0f64..1.0,
    ) {
        let input = input();
        // Each item delivered up to 50 s late; items of one time together (their order,
        // arrival order, is kept: it decides ties).
        let late = |t: i64| {
            let mut z = (t as u64) ^ seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % 50_000) as i64
        };
        let mut delivered: Vec<(i64, usize)> = input
            .iter()
            .enumerate()
            .map(|(k, i)| (time(i) + late(time(i)), k))
            .collect();
        delivered.sort();
        let disordered: Vec<In> = delivered.iter().map(|&(_, k)| input[k].clone()).collect();
        let cut = (cut * input.len() as f64) as usize;
        prop_assert_eq!(json(&batch(&input)), json(&split(&disordered, &[cut])));
    }
}
