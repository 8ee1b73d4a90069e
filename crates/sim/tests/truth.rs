//! The ground truth agrees with the AIS the simulator wrote: each behaviour of the built-in
//! scenarios is checked against the decoded positions (with extra receivers added so every
//! vessel is heard all the time).

use ais::msg::Message;
use ais::stream::{Decoder, Meta};
use sim::earth::LatLon;
use sim::truth::{TruthEvent, Value};
use sim::{Overrides, Scenario, Simulation, Summary};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy)]
struct Fix {
    t: i64,
    pos: LatLon,
    sog: f64,
    nav: Option<u8>,
}

struct Data {
    tracks: HashMap<u32, Vec<Fix>>,
    names: HashMap<u32, Vec<(i64, String)>>,
    imos: HashMap<u32, u32>,
    truth: Vec<TruthEvent>,
}

/// Runs a built-in scenario with receivers covering its whole area.
fn run(name: &str, cover: &[[f64; 2]], vessels: u32) -> Data {
    let mut text = sim::scenario::builtin(name).unwrap().to_owned();
    for (k, p) in cover.iter().enumerate() {
        text.push_str(&format!(
            "\n[[receiver]]\nname = \"cover-{k}\"\npartner = \"SAT\"\nposition = [{}, {}]\nrange_nm = 400\nloss = 0.0\n",
            p[0], p[1]
        ));
    }
    let o = Overrides {
        vessels: Some(vessels),
        ..Overrides::default()
    };
    let s = Scenario::from_toml(&text, &o).unwrap();
    let mut bytes = Vec::new();
    let summary: Summary = Simulation::new(&s, 2)
        .run(|b| {
            bytes.extend_from_slice(&b.buf);
            Ok::<(), ()>(())
        })
        .unwrap();
    let mut tracks: HashMap<u32, Vec<Fix>> = HashMap::new();
    let mut names: HashMap<u32, Vec<(i64, String)>> = HashMap::new();
    let mut imos = HashMap::new();
    let mut decoder = Decoder::default();
    let mut sink = |m: &Message<'_>, meta: &Meta| {
        let t = meta.rx_time_ms.unwrap_or(0);
        let mmsi = m.mmsi().value();
        match m {
            Message::Position(p) => {
                if let (Some(lat), Some(lon)) = (p.lat, p.lon) {
                    tracks.entry(mmsi).or_default().push(Fix {
                        t,
                        pos: LatLon { lat, lon },
                        sog: p.sog_knots.unwrap_or(0.0) as f64,
                        nav: p.nav_status,
                    });
                }
            }
            Message::ClassBPosition(p) => {
                if let (Some(lat), Some(lon)) = (p.lat, p.lon) {
                    tracks.entry(mmsi).or_default().push(Fix {
                        t,
                        pos: LatLon { lat, lon },
                        sog: p.sog_knots.unwrap_or(0.0) as f64,
                        nav: None,
                    });
                }
            }
            Message::StaticVoyage(v) => {
                names
                    .entry(mmsi)
                    .or_default()
                    .push((t, v.shipname.as_str().to_owned()));
                if let Some(i) = v.imo {
                    imos.insert(mmsi, i);
                }
            }
            _ => {}
        }
    };
    decoder.feed(&bytes, &mut sink);
    decoder.finish(&mut sink);
    for v in tracks.values_mut() {
        v.sort_by_key(|f| f.t);
        v.dedup_by_key(|f| f.t);
    }
    Data {
        tracks,
        names,
        imos,
        truth: summary.truth,
    }
}

/// Position at `t`, interpolated between the fixes around it (within `max_gap_ms`).
fn at(track: &[Fix], t: i64, max_gap_ms: i64) -> Option<LatLon> {
    let k = track.partition_point(|f| f.t <= t);
    if k == 0 || k == track.len() {
        return None;
    }
    let (a, b) = (track[k - 1], track[k]);
    if b.t - a.t > max_gap_ms {
        return None;
    }
    let f = (t - a.t) as f64 / (b.t - a.t).max(1) as f64;
    Some(LatLon {
        lat: a.pos.lat + (b.pos.lat - a.pos.lat) * f,
        lon: a.pos.lon + (b.pos.lon - a.pos.lon) * f,
    })
}

fn detail<'a>(e: &'a TruthEvent, key: &str) -> &'a Value {
    &e.details
        .iter()
        .find(|d| d.0 == key)
        .unwrap_or_else(|| panic!("{} has no {key}", e.kind))
        .1
}

fn num(e: &TruthEvent, key: &str) -> f64 {
    match detail(e, key) {
        Value::Num(x) => *x,
        Value::Int(i) => *i as f64,
        v => panic!("{key}: {v:?}"),
    }
}

fn fixes_in(d: &Data, mmsi: u32, a: i64, b: i64) -> Vec<&Fix> {
    d.tracks.get(&mmsi).map_or(Vec::new(), |t| {
        t.iter().filter(|f| f.t >= a && f.t <= b).collect()
    })
}

/// Share of 10-minute samples in `[a, b]` where the two vessels are within `limit_m`.
fn share_within(d: &Data, m1: u32, m2: u32, a: i64, b: i64, limit_m: f64) -> (f64, usize) {
    let (t1, t2) = (&d.tracks[&m1], &d.tracks[&m2]);
    let (mut n, mut ok) = (0, 0);
    let mut t = a + 600_000;
    while t < b - 600_000 {
        if let (Some(p), Some(q)) = (at(t1, t, 200_000), at(t2, t, 200_000)) {
            n += 1;
            if p.distance_m(q) <= limit_m {
                ok += 1;
            }
        }
        t += 600_000;
    }
    (ok as f64 / n.max(1) as f64, n)
}

fn check(d: &Data) -> HashMap<&'static str, usize> {
    let mut checked: HashMap<&'static str, usize> = HashMap::new();
    let swarm_members: Vec<u32> = d
        .truth
        .iter()
        .filter(|e| {
            e.kind == "vessel"
                && e.vessels[0]
                    .id
                    .as_deref()
                    .is_some_and(|i| i.starts_with("swarm-"))
        })
        .map(|e| e.vessels[0].mmsi)
        .collect();
    for e in &d.truth {
        let (a, b) = (e.start_ms, e.end_ms);
        let m0 = e.vessels.first().map(|v| v.mmsi);
        let what = format!(
            "{} {:?} {}..{}",
            e.kind,
            e.vessels.iter().map(|v| &v.id).collect::<Vec<_>>(),
            a,
            b
        );
        match e.kind {
            "close_approach" => {
                let (t1, t2) = (&d.tracks[&e.vessels[0].mmsi], &d.tracks[&e.vessels[1].mmsi]);
                let tc = match detail(e, "cpa_time") {
                    Value::Time(t) => *t,
                    v => panic!("{v:?}"),
                };
                // The closest the reported positions come near the time of the CPA (class B
                // vessels in unscripted passes report every 30 s).
                let mut best = f64::MAX;
                for dt in (-60_000..=60_000).step_by(1_000) {
                    if let (Some(p), Some(q)) = (at(t1, tc + dt, 31_000), at(t2, tc + dt, 31_000)) {
                        best = best.min(p.distance_m(q));
                    }
                }
                let cpa = num(e, "cpa_m");
                assert!(
                    (best - cpa).abs() < 60.0,
                    "{what}: truth CPA {cpa} m, data {best:.0} m"
                );
            }
            "escort" | "shadowing" => {
                let limit = num(e, "distance_m") * 2.0 + 1_000.0;
                let (share, n) = share_within(d, e.vessels[0].mmsi, e.vessels[1].mmsi, a, b, limit);
                assert!(
                    n > 3 && share > 0.9,
                    "{what}: within {limit} m {share:.2} of {n} samples"
                );
            }
            "encounter" => {
                let dark = d.truth.iter().any(|g| {
                    g.kind == "ais_gap"
                        && g.start_ms <= a
                        && g.end_ms >= b
                        && e.vessels.iter().any(|v| v.id == g.vessels[0].id)
                });
                let (share, n) = share_within(d, e.vessels[0].mmsi, e.vessels[1].mmsi, a, b, 500.0);
                if dark {
                    // A dark transfer: one side is silent, the other waits slowly.
                    assert_eq!(n, 0, "{what}: dark, yet both seen");
                } else {
                    assert!(
                        n > 3 && share > 0.95,
                        "{what}: within 500 m {share:.2} of {n} samples"
                    );
                }
                for v in &e.vessels {
                    let f = fixes_in(d, v.mmsi, a + 600_000, b - 600_000);
                    let slow = f.iter().filter(|f| f.sog < 2.0).count();
                    assert!(
                        f.is_empty() || slow * 10 >= f.len() * 9,
                        "{what}: {} not slow",
                        v.mmsi
                    );
                }
            }
            "ais_gap" => {
                let f = fixes_in(d, m0.unwrap(), a + 2_000, b - 2_000);
                assert!(f.is_empty(), "{what}: {} reports during the gap", f.len());
                assert!(
                    !fixes_in(d, m0.unwrap(), a - 600_000, a).is_empty(),
                    "{what}: silent before"
                );
            }
            "loitering" => {
                let f = fixes_in(d, m0.unwrap(), a + 600_000, b);
                if f.len() > 10 {
                    let mean = f.iter().map(|f| f.sog).sum::<f64>() / f.len() as f64;
                    assert!(mean < 2.0, "{what}: mean {mean:.1} kn");
                }
            }
            "port_call" => {
                let f = fixes_in(d, m0.unwrap(), a + 60_000, b - 60_000);
                let near = f
                    .iter()
                    .filter(|x| x.pos.distance_m(e.position) < 1_000.0 && x.nav == Some(1))
                    .count();
                assert!(
                    f.is_empty() || near * 10 >= f.len() * 9,
                    "{what}: {near} of {} at anchor there",
                    f.len()
                );
            }
            "spoof_land" => {
                let p = match detail(e, "reported_position") {
                    Value::Pos(p) => *p,
                    v => panic!("{v:?}"),
                };
                let f = fixes_in(d, m0.unwrap(), a + 1_000, b - 1_000);
                assert!(
                    !f.is_empty() && f.iter().all(|x| x.pos.distance_m(p) < 100.0),
                    "{what}"
                );
            }
            "spoof_circle" => {
                let c = match detail(e, "reported_center") {
                    Value::Pos(p) => *p,
                    v => panic!("{v:?}"),
                };
                let r = num(e, "radius_m");
                let f = fixes_in(d, m0.unwrap(), a + 1_000, b - 1_000);
                assert!(
                    !f.is_empty() && f.iter().all(|x| (x.pos.distance_m(c) - r).abs() < 100.0),
                    "{what}"
                );
            }
            "spoof_jump" => {
                let off = num(e, "offset_m");
                let before = fixes_in(d, m0.unwrap(), a - 600_000, a - 1_000);
                let during = fixes_in(d, m0.unwrap(), a + 1_000, a + 600_000);
                let (p, q) = (before.last().unwrap().pos, during.first().unwrap().pos);
                assert!(
                    (p.distance_m(q) - off).abs() < off * 0.1,
                    "{what}: jumped {:.0} m",
                    p.distance_m(q)
                );
            }
            "swarm" => {
                let peak = match detail(e, "peak_time") {
                    Value::Time(t) => *t,
                    v => panic!("{v:?}"),
                };
                let r = num(e, "radius_m") + 300.0;
                let there = swarm_members
                    .iter()
                    .filter(|m| {
                        fixes_in(d, **m, peak, peak + 600_000)
                            .iter()
                            .any(|f| f.pos.distance_m(e.position) < r)
                    })
                    .count();
                assert!(
                    there as f64 >= num(e, "peak") * 0.9,
                    "{what}: {there} vessels there"
                );
            }
            "identity_change" => {
                let new = &e.vessels[1];
                let later: Vec<&String> = d.names.get(&new.mmsi).map_or(Vec::new(), |v| {
                    v.iter().filter(|x| x.0 > a).map(|x| &x.1).collect()
                });
                assert!(
                    !later.is_empty() && later.iter().all(|n| **n == new.name),
                    "{what}: names {later:?}"
                );
            }
            "shared_mmsi" => {
                let t = &d.tracks[&m0.unwrap()];
                let apart = t
                    .windows(2)
                    .any(|w| w[1].t - w[0].t < 60_000 && w[0].pos.distance_m(w[1].pos) > 100_000.0);
                assert!(apart, "{what}: never in two places at once");
            }
            "watchlist" => {
                if let Value::Int(imo) = detail(e, "imo") {
                    assert!(
                        d.imos.values().any(|i| *i as i64 == *imo),
                        "{what}: IMO {imo} never broadcast"
                    );
                }
            }
            "survey" => {
                let f = fixes_in(d, m0.unwrap(), a, b);
                let restricted = f.iter().filter(|x| x.nav == Some(3)).count();
                assert!(
                    restricted * 10 >= f.len() * 9,
                    "{what}: status 3 in {restricted} of {}",
                    f.len()
                );
            }
            _ => continue,
        }
        *checked.entry(e.kind).or_default() += 1;
    }
    checked
}

#[test]
fn scs_greyzone_truth_matches_the_data() {
    let d = run(
        "scs-greyzone",
        &[[112.0, 6.5], [115.5, 9.8], [114.6, 10.0], [117.0, 9.4]],
        40,
    );
    let checked = check(&d);
    for kind in [
        "close_approach",
        "escort",
        "shadowing",
        "ais_gap",
        "loitering",
        "swarm",
        "survey",
    ] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} checked: {checked:?}"
        );
    }
    assert!(checked["close_approach"] >= 4);
    // Issue 18: a port area is a zone too (a user loads the ports): every port call lies in a
    // recorded visit of its port's area.
    let calls: Vec<&TruthEvent> = d.truth.iter().filter(|e| e.kind == "port_call").collect();
    assert!(!calls.is_empty());
    for c in calls {
        let port = detail(c, "port");
        let visited = d.truth.iter().any(|v| {
            v.kind == "zone_visit"
                && detail(v, "zone") == port
                && detail(v, "zone_kind") == &Value::Text("port".to_owned())
                && v.vessels[0].mmsi == c.vessels[0].mmsi
                && v.start_ms <= c.start_ms
                && v.end_ms >= c.end_ms
        });
        assert!(
            visited,
            "port call {port:?} of {} without a zone visit",
            c.vessels[0].mmsi
        );
    }
    // Issue 18: close passes nobody scripted are in the truth too (swarm members converging on
    // the reef), each checked against the data above.
    assert!(
        d.truth
            .iter()
            .any(|e| e.kind == "close_approach"
                && e.details.contains(&("scripted", Value::Bool(false)))),
        "no unscripted close pass"
    );
}

#[test]
fn ior_shadow_fleet_truth_matches_the_data() {
    let d = run(
        "ior-shadow-fleet",
        &[
            [52.0, 27.0],
            [57.0, 25.0],
            [61.0, 22.0],
            [66.0, 17.0],
            [70.0, 12.0],
            [76.0, 8.0],
            [81.0, 8.0],
            [56.0, 14.0],
            [62.0, 12.0],
        ],
        40,
    );
    let checked = check(&d);
    for kind in [
        "encounter",
        "ais_gap",
        "loitering",
        "port_call",
        "spoof_land",
        "spoof_circle",
        "spoof_jump",
        "identity_change",
        "shared_mmsi",
        "watchlist",
    ] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} checked: {checked:?}"
        );
    }
    assert_eq!(checked["encounter"], 2, "{checked:?}");
}
