//! The simulator's output checked against the rules it claims to follow: same seed, same bytes;
//! ITU-R M.1371 reporting intervals; speeds by ship type; reception by range, satellite
//! latency and damage rates; scenario errors reported with where they are.

use ais::msg::Message;
use ais::stream::{Decoder, Meta};
use sim::earth::LatLon;
use sim::vessel::{class_a_interval_ms, class_b_interval_ms, TURNING_DEG_PER_MIN};
use sim::{Overrides, Scenario, Simulation, Summary};
use std::collections::HashMap;

/// An output line: station name, delivery time, receive time (ms), bytes.
type OutLine = (String, i64, i64, Vec<u8>);

/// Runs a scenario and returns its bytes, its lines and the summary.
fn run(scenario: &Scenario, threads: usize) -> (Vec<u8>, Vec<OutLine>, Summary) {
    let mut bytes = Vec::new();
    let mut lines = Vec::new();
    let summary = Simulation::new(scenario, threads)
        .run(|b| {
            bytes.extend_from_slice(&b.buf);
            for l in &b.lines {
                let text = b.bytes(l);
                let (station, rx) = tag(text);
                lines.push((station, l.deliver_ms, rx, text.to_vec()));
            }
            Ok::<(), ()>(())
        })
        .unwrap();
    (bytes, lines, summary)
}

/// Station and receive time (ms) of a tag-blocked line.
fn tag(line: &[u8]) -> (String, i64) {
    let s = std::str::from_utf8(line).unwrap();
    let body = &s[1..s[1..].find('*').unwrap() + 1];
    let mut station = String::new();
    let mut t = 0;
    for f in body.split(',') {
        if let Some(v) = f.strip_prefix("s:") {
            station = v.to_owned();
        } else if let Some(v) = f.strip_prefix("c:") {
            let n: i64 = v.parse().unwrap();
            t = if n > 100_000_000_000 { n } else { n * 1000 };
        }
    }
    (station, t)
}

fn builtin(name: &str, o: Overrides) -> Scenario {
    Scenario::from_toml(sim::scenario::builtin(name).unwrap(), &o).unwrap()
}

/// Decoded messages: (mmsi, type, station, rx ms, fields).
#[derive(Debug, Clone)]
struct Report {
    mmsi: u32,
    msg_type: u8,
    station: String,
    rx_ms: i64,
    pos: Option<LatLon>,
    sog: Option<f64>,
    rot: Option<f64>,
    nav: Option<u8>,
    ship_type: Option<u8>,
    name: String,
}

fn decode(bytes: &[u8]) -> (Vec<Report>, ais::Stats) {
    let mut out = Vec::new();
    let mut decoder = Decoder::default();
    let mut sink = |m: &Message<'_>, meta: &Meta| {
        let pos = m.position().map(|(lon, lat)| LatLon { lat, lon });
        let (sog, rot, nav) = match m {
            Message::Position(p) => (
                p.sog_knots.map(f64::from),
                p.rot.map(|r| match r {
                    ais::msg::RateOfTurn::DegPerMin(d) => d as f64,
                    _ => 720.0,
                }),
                p.nav_status,
            ),
            Message::ClassBPosition(p) => (p.sog_knots.map(f64::from), None, None),
            _ => (None, None, None),
        };
        let (ship_type, name) = match m {
            Message::StaticVoyage(s) => (s.ship_type, s.shipname.as_str().to_owned()),
            Message::StaticDataB(s) => (s.ship_type, String::new()),
            Message::StaticDataA(s) => (None, s.shipname.as_str().to_owned()),
            _ => (None, String::new()),
        };
        out.push(Report {
            mmsi: m.mmsi().value(),
            msg_type: m.msg_type(),
            station: meta
                .source
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            rx_ms: meta.rx_time_ms.unwrap_or(0),
            pos,
            sog,
            rot,
            nav,
            ship_type,
            name,
        });
    };
    decoder.feed(bytes, &mut sink);
    let stats = decoder.finish(&mut sink);
    (out, stats)
}

#[test]
fn same_seed_gives_the_same_bytes_on_any_number_of_threads() {
    let o = Overrides {
        hours: Some(2.0),
        vessels: Some(80),
        ..Overrides::default()
    };
    let s = builtin("scs-greyzone", o.clone());
    let (a, _, sa) = run(&s, 1);
    let (b, _, sb) = run(&s, 3);
    let (c, _, _) = run(&s, 16);
    assert!(a.len() > 100_000);
    assert!(a == b && b == c, "output depends on the thread count");
    assert_eq!(sa.counters, sb.counters);
    assert_eq!(sa.truth, sb.truth);
    let other = builtin("scs-greyzone", Overrides { seed: Some(7), ..o });
    let (d, _, _) = run(&other, 2);
    assert_ne!(a, d, "another seed gives another run");
}

/// One receiver that hears everything (no loss, no damage) over a small area.
const FULL_COVERAGE: &str = r#"
name = "itu"
start = "2026-03-01T00:00:00Z"
duration = "3h"
seed = 5
[reception]
corrupt_rate = 0.0
base_stations = false
[[partner]]
name = "TEST"
time_ms = true
[[receiver]]
name = "all"
partner = "TEST"
position = [60.0, 15.0]
range_nm = 400
loss = 0.0
[[vessel]]
id = "slow"
name = "SLOW ONE"
flag = "LR"
type = "bulk"
speed_knots = 9
position = [60.0, 15.0]
plan = [{ do = "sail", to = [61.5, 15.5] }]
[[vessel]]
id = "fast"
name = "FAST ONE"
flag = "SG"
type = "container"
speed_knots = 19
position = [59.5, 14.5]
plan = [{ do = "sail", via = [[60.5, 15.2], [59.6, 16.0], [60.8, 16.4]] }]
[[vessel]]
id = "faster"
name = "FASTER ONE"
flag = "SG"
type = "passenger"
speed_knots = 24
position = [59.0, 15.5]
plan = [{ do = "sail", to = [61.0, 15.0] }]
[[vessel]]
id = "anchored"
name = "AT ANCHOR"
flag = "IN"
type = "tanker"
position = [60.2, 14.8]
plan = [{ do = "anchor", stay = "10h" }]
[[vessel]]
id = "circling"
name = "LOITERER"
flag = "IN"
type = "fishing"
position = [60.4, 15.2]
plan = [{ do = "loiter", stay = "10h", radius_nm = 0.6, speed_knots = 6 }]
[[vessel]]
id = "yacht"
name = "YACHT"
flag = "IN"
class = "B"
type = "pleasure"
speed_knots = 7
position = [59.8, 15.1]
plan = [{ do = "sail", to = [60.2, 15.6] }, { do = "drift", stay = "10h" }]
"#;

#[test]
fn reports_follow_the_itu_reporting_intervals() {
    let s = Scenario::from_toml(FULL_COVERAGE, &Overrides::default()).unwrap();
    let (bytes, _, summary) = run(&s, 2);
    let (reports, stats) = decode(&bytes);
    assert!(stats.balanced() && stats.rejected.iter().sum::<u64>() == 0);
    let mut by_mmsi: HashMap<u32, Vec<&Report>> = HashMap::new();
    for r in &reports {
        by_mmsi.entry(r.mmsi).or_default().push(r);
    }
    let (mut checked, mut turning_checked, mut b_checked) = (0, 0, 0);
    let mut statics: Vec<i64> = Vec::new();
    for (mmsi, rs) in &by_mmsi {
        let pos: Vec<&&Report> = rs
            .iter()
            .filter(|r| matches!(r.msg_type, 1 | 2 | 3 | 18))
            .collect();
        for w in pos.windows(2) {
            let (a, b) = (w[0], w[1]);
            let gap = b.rx_ms - a.rx_ms;
            let sog = a.sog.unwrap();
            let expected = if a.msg_type == 18 {
                b_checked += 1;
                class_b_interval_ms(sog)
            } else {
                let rot = a.rot.unwrap();
                // Near the thresholds (speed and the turn indicator's coarse scale) either
                // interval is right.
                if (sog - 14.0).abs() < 0.3 || (sog - 23.0).abs() < 0.3 || (sog - 3.0).abs() < 0.3 {
                    continue;
                }
                if (rot.abs() - TURNING_DEG_PER_MIN).abs() < 2.5 {
                    continue;
                }
                let turning = rot.abs() >= TURNING_DEG_PER_MIN;
                if turning {
                    turning_checked += 1;
                }
                class_a_interval_ms(a.nav.unwrap(), sog, turning)
            };
            // SOTDMA jitter: up to 2 % later.
            assert!(
                gap >= expected - 1 && gap <= expected + expected / 50 + 1,
                "MMSI {mmsi}: {gap} ms between reports at {sog} kn (type {}, status {:?}, rot {:?}), expected {expected}",
                a.msg_type, a.nav, a.rot
            );
            checked += 1;
        }
        let st: Vec<i64> = rs
            .iter()
            .filter(|r| r.msg_type == 5 || r.name.len() > 1 && r.msg_type == 24)
            .map(|r| r.rx_ms)
            .collect();
        statics.extend(st.windows(2).map(|w| w[1] - w[0]));
    }
    assert!(checked > 5_000, "only {checked} intervals");
    assert!(
        turning_checked > 20,
        "only {turning_checked} turning intervals"
    );
    assert!(b_checked > 50, "only {b_checked} class B intervals");
    // Static data every 6 minutes (plus up to 2 s).
    assert!(!statics.is_empty());
    assert!(
        statics.iter().all(|&g| (360_000..=362_001).contains(&g)),
        "{statics:?}"
    );
    // Class A long-range (type 27) every 3 minutes: counted at the transmitter.
    let lr = summary.counters.transmissions[27];
    let class_a = 5;
    let expected = class_a * 3 * 60 / 3;
    assert!(
        (lr as i64 - expected as i64).abs() <= class_a as i64 * 2,
        "{lr} type 27, expected about {expected}"
    );
}

#[test]
fn speeds_are_those_of_the_ship_types() {
    let s = builtin(
        "ior-traffic",
        Overrides {
            hours: Some(3.0),
            vessels: Some(400),
            ..Overrides::default()
        },
    );
    let (bytes, _, _) = run(&s, 2);
    let (reports, _) = decode(&bytes);
    let mut types: HashMap<u32, u8> = HashMap::new();
    let mut speeds: HashMap<u32, Vec<f64>> = HashMap::new();
    for r in &reports {
        if let Some(t) = r.ship_type {
            types.insert(r.mmsi, t);
        }
        // Under way, away from ports (where ships slow down to berth).
        let at_sea = r.pos.is_some_and(|p| {
            s.world
                .ports
                .iter()
                .all(|q| q.anchorage.distance_m(p) > 30_000.0)
        });
        if matches!(r.msg_type, 1 | 3 | 18) && matches!(r.nav, Some(0) | None) && at_sea {
            if let Some(v) = r.sog.filter(|&v| v > 3.0) {
                speeds.entry(r.mmsi).or_default().push(v);
            }
        }
    }
    // Service speeds: container ships 15-21 kn, tankers and bulk carriers 11-15, cargo
    // 11.5-15.5, passenger 16-21, fishing 7-10, tugs 8-11, pleasure 6-9.
    let ranges: HashMap<u8, (f64, f64)> = [
        (71, (15.0, 20.5)),
        (80, (11.0, 14.5)),
        (70, (11.0, 15.5)),
        (60, (16.0, 21.0)),
        (30, (7.0, 10.0)),
        (52, (8.0, 11.0)),
        (37, (6.0, 9.0)),
    ]
    .into();
    let mut checked = 0;
    for (mmsi, v) in &mut speeds {
        let Some(&(lo, hi)) = types.get(mmsi).and_then(|t| ranges.get(t)) else {
            continue;
        };
        if v.len() < 10 {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let median = v[v.len() / 2];
        assert!(
            median >= lo - 1.0 && median <= hi + 1.0,
            "MMSI {mmsi} type {:?}: median {median} kn",
            types.get(mmsi)
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} vessels checked");
}

#[test]
fn reception_follows_range_latency_and_damage_rates() {
    let s = builtin(
        "ior-traffic",
        Overrides {
            hours: Some(4.0),
            vessels: Some(600),
            ..Overrides::default()
        },
    );
    let (bytes, lines, summary) = run(&s, 2);
    let (reports, stats) = decode(&bytes);
    let c = &summary.counters;
    assert_eq!(lines.len() as u64, c.lines);
    assert_eq!(stats.lines, c.lines);
    let receivers: HashMap<&str, (LatLon, f64)> = s
        .receivers
        .iter()
        .map(|r| (r.name.as_str(), (r.position, r.range_m)))
        .collect();
    let satellites: HashMap<&str, &sim::scenario::Satellite> =
        s.satellites.iter().map(|x| (x.name.as_str(), x)).collect();
    // Coastal receivers hear class A within their range and class B within 60 % of it.
    let (mut coastal, mut sat) = (0, 0);
    for r in &reports {
        let (Some(p), Some(&(at, range))) = (r.pos, receivers.get(r.station.as_str())) else {
            continue;
        };
        if r.msg_type == 4 {
            continue;
        }
        assert_ne!(
            r.msg_type, 27,
            "type 27 is sent on the long-range channels only satellites hear"
        );
        let reach = if r.msg_type == 18 { range * 0.6 } else { range };
        assert!(
            p.distance_m(at) <= reach + 200.0,
            "{} heard {} at {:.0} m",
            r.station,
            r.mmsi,
            p.distance_m(at)
        );
        coastal += 1;
    }
    // Satellite lines arrive after their downlink: later than received, by at most one downlink
    // interval plus the latency; coastal lines at once.
    for (station, deliver, rx, _) in &lines {
        if let Some(x) = satellites.get(station.as_str()) {
            let delay = deliver - rx;
            assert!(
                delay >= x.latency_ms - 1000 && delay <= x.downlink_every_ms + x.latency_ms + 1000,
                "{station}: {delay} ms"
            );
            sat += 1;
        } else {
            assert!((deliver - rx).abs() < 1000, "{station}: {deliver} vs {rx}");
        }
    }
    assert!(
        coastal > 10_000 && sat > 10_000,
        "coastal {coastal}, satellite {sat}"
    );
    // Copies: one transmission heard by several stations.
    let mut copies: HashMap<(u32, i64, u8), u32> = HashMap::new();
    for r in reports.iter().filter(|r| r.msg_type == 1) {
        *copies
            .entry((r.mmsi, r.rx_ms / 1000, r.msg_type))
            .or_default() += 1;
    }
    assert!(
        copies.values().filter(|&&n| n > 1).count() > 1_000,
        "too few duplicates across receivers"
    );
    // Damage at the configured rate (binomial, 6 sigma).
    let damaged = (c.damaged_checksum + c.damaged_cut + c.lost_fragments) as f64;
    let n = c.lines as f64;
    let (mean, sd) = (n * s.corrupt_rate, (n * s.corrupt_rate).sqrt());
    assert!(
        (damaged - mean).abs() < 6.0 * sd + 3.0,
        "{damaged} damaged of {n} lines, expected {mean}"
    );
    let rejected: u64 = stats.rejected.iter().sum();
    assert!(rejected > 0 && rejected as f64 <= damaged * 2.0 + 1.0);
    // Satellites lose more of what they see where traffic is dense.
    assert!(c.satellite_missed > 0 && c.satellite_heard > 0);
}

#[test]
fn scenario_mistakes_are_reported_with_where_they_are() {
    let ok = FULL_COVERAGE;
    let cases: &[(&str, &str, &str)] = &[
        (
            "range_nm = 400",
            "range_nm = 400\ncolour = 1",
            "unknown field `colour`",
        ),
        ("speed_knots = 9", "speed_knots = \"fast\"", "invalid type"),
        (
            "to = [61.5, 15.5]",
            "to = [15.5, 161.5]",
            "vessel[0] \"slow\".plan[0].to: position [15.5, 161.5]",
        ),
        ("flag = \"LR\"", "flag = \"XX\"", "vessel[0] \"slow\".flag"),
        (
            "do = \"sail\", to = [61.5, 15.5]",
            "do = \"escort\", target = \"nobody\", distance_nm = 1",
            "plan[0].target: no vessel has id \"nobody\"",
        ),
        (
            "do = \"sail\", to = [61.5, 15.5]",
            "do = \"sail\", lane = \"atlantis\"",
            "no lane is named \"atlantis\"",
        ),
        (
            "do = \"anchor\", stay = \"10h\"",
            "do = \"anchor\", stay = \"ten hours\"",
            "\"ten hours\" is not a duration",
        ),
        (
            "do = \"anchor\", stay = \"10h\"",
            "do = \"fly\"",
            "unknown variant `fly`",
        ),
        (
            "partner = \"TEST\"\nposition",
            "partner = \"NOPE\"\nposition",
            "no partner is named \"NOPE\"",
        ),
        (
            "start = \"2026-03-01T00:00:00Z\"",
            "start = \"yesterday\"",
            "start: \"yesterday\" is not an RFC 3339 time",
        ),
        (
            "type = \"bulk\"",
            "type = \"bulk\"\nimo = 9074728",
            "9074728 is not an IMO number",
        ),
        (
            "type = \"bulk\"",
            "type = \"bulk\"\nmmsi = 412000001",
            "412000001 is not a ship MMSI with a MID of LR",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(ok.contains(from), "{from}");
        let text = ok.replacen(from, to, 1);
        let e = Scenario::from_toml(&text, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{to}: {e}");
    }
    // Vessels that follow each other in a circle.
    let text = format!(
        "{ok}\n[[vessel]]\nid = \"a\"\nname = \"A\"\nflag = \"IN\"\ntype = \"tug\"\nposition = [60, 15]\nplan = [{{ do = \"escort\", target = \"b\", distance_nm = 1 }}]\n\
         [[vessel]]\nid = \"b\"\nname = \"B\"\nflag = \"IN\"\ntype = \"tug\"\nposition = [60, 15]\nplan = [{{ do = \"escort\", target = \"a\", distance_nm = 1 }}]\n"
    );
    let e = Scenario::from_toml(&text, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("follow each other in a circle"), "{e}");
    // Overlapping AIS windows.
    let text = ok.replacen(
        "plan = [{ do = \"sail\", to = [61.5, 15.5] }]",
        "plan = [{ do = \"sail\", to = [61.5, 15.5] }]\nais = [{ mode = \"off\", at = \"1h\", for = \"2h\" }, { mode = \"jump\", at = \"2h\", for = \"1h\", offset_nm = 5 }]",
        1,
    );
    let e = Scenario::from_toml(&text, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ais[1]: AIS windows of one vessel must not overlap"),
        "{e}"
    );
}

mod props {
    use proptest::prelude::*;
    use sim::{Overrides, Scenario};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any text is either a scenario or an error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = Scenario::from_toml(&text, &Overrides::default());
        }

        /// The built-in scenario with lines of it changed is either a scenario or an error.
        #[test]
        fn edited_scenarios_never_panic(cut in 0usize..6000, junk in "[a-z0-9=\\[\\]\",. -]{0,20}") {
            let base = sim::scenario::builtin("scs-greyzone").unwrap();
            let at = base.char_indices().map(|(i, _)| i).nth(cut % base.chars().count()).unwrap_or(0);
            let text = format!("{}{}{}", &base[..at], junk, &base[at..]);
            let _ = Scenario::from_toml(&text, &Overrides::default());
        }
    }
}
