//! Which rules fire on which committed events, at which stage, and only once (across
//! restarts too, through the ledger).

mod common;

use alerts::{Alert, Alerts, AlertsConfig, Stage};
use common::{event, scratch};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn open(dir: &std::path::Path, toml: &str) -> Alerts {
    Alerts::open(AlertsConfig::from_toml(toml).unwrap(), dir).unwrap()
}

fn fired(alerts: &[Alert]) -> Vec<(String, String, Stage)> {
    alerts
        .iter()
        .map(|a| {
            (
                a.rule.clone(),
                a.event["id"].as_str().unwrap().to_owned(),
                a.stage,
            )
        })
        .collect()
}

fn f(rule: &str, id: &str, stage: Stage) -> (String, String, Stage) {
    (rule.to_owned(), id.to_owned(), stage)
}

#[test]
fn a_rule_without_filters_fires_once_on_every_event() {
    let dir = scratch("nofilter");
    let mut a = open(&dir, "[[alert]]\nname = \"all\"\n");
    let rows = vec![
        event("e1", "escort", &[412000001, 412000002], &[], T0, None, 0),
        event(
            "e2",
            "spoof_jump",
            &[273000001],
            &["Baltic"],
            T0,
            Some(T0),
            0,
        ),
        event("e3", "swarm", &[], &[], T0, None, 0),
    ];
    let out = a.on_events_at(&rows, T0 + HOUR);
    assert_eq!(
        fired(&out),
        vec![
            f("all", "e1", Stage::Start),
            f("all", "e2", Stage::Start),
            f("all", "e3", Stage::Start)
        ]
    );
    assert!(a.on_events_at(&rows, T0 + HOUR).is_empty());
    let m = a.shutdown();
    assert_eq!((m.events, m.fired), (6, 3));
}

#[test]
fn types_zones_and_mmsis_each_narrow_and_any_listed_value_matches() {
    let dir = scratch("filters");
    let mut a = open(
        &dir,
        r#"
        [[alert]]
        name = "types"
        types = ["escort", "shadowing"]
        [[alert]]
        name = "zones"
        zones = ["Scarborough Shoal", "Second Thomas Shoal"]
        [[alert]]
        name = "mmsis"
        mmsis = [412000001, 999000001]
        [[alert]]
        name = "all three"
        types = ["escort"]
        zones = ["Scarborough Shoal"]
        mmsis = [412000002]
        "#,
    );
    let rows = vec![
        // type and MMSI, no zone
        event("a", "escort", &[412000001, 412000002], &[], T0, None, 0),
        // zone only (the second listed), other type and vessel
        event(
            "b",
            "loitering",
            &[111000001],
            &["EEZ", "Second Thomas Shoal"],
            T0,
            None,
            0,
        ),
        // everything for "all three"
        event(
            "c",
            "escort",
            &[412000009, 412000002],
            &["Scarborough Shoal"],
            T0,
            None,
            0,
        ),
        // nothing
        event("d", "port_call", &[111000002], &["Manila"], T0, None, 0),
        // type listed second
        event("e", "shadowing", &[111000003], &[], T0, None, 0),
    ];
    let out = a.on_events_at(&rows, T0);
    assert_eq!(
        fired(&out),
        vec![
            f("types", "a", Stage::Start),
            f("mmsis", "a", Stage::Start),
            f("zones", "b", Stage::Start),
            f("types", "c", Stage::Start),
            f("zones", "c", Stage::Start),
            f("all three", "c", Stage::Start),
            f("types", "e", Stage::Start),
        ]
    );
}

#[test]
fn start_update_and_end_each_fire_once_for_the_rules_that_listen() {
    let dir = scratch("stages");
    let mut a = open(
        &dir,
        r#"
        [[alert]]
        name = "start"
        [[alert]]
        name = "update"
        on = "update"
        [[alert]]
        name = "end"
        on = ["end"]
        [[alert]]
        name = "every stage"
        on = ["start", "update", "end"]
        "#,
    );
    let id = "0123456789abcdef";
    let v0 = event(id, "loitering", &[1], &[], T0, None, 0);
    let out = a.on_events_at(std::slice::from_ref(&v0), T0);
    assert_eq!(
        fired(&out),
        vec![
            f("start", id, Stage::Start),
            f("every stage", id, Stage::Start)
        ]
    );
    // The same event committed again unchanged (every run reports its open events): nothing.
    assert!(a.on_events_at(std::slice::from_ref(&v0), T0).is_empty());
    // Changed: its update, once.
    let v1 = event(id, "loitering", &[1], &[], T0, None, 1);
    let out = a.on_events_at(&[v1], T0);
    assert_eq!(
        fired(&out),
        vec![
            f("update", id, Stage::Update),
            f("every stage", id, Stage::Update)
        ]
    );
    let v2 = event(id, "loitering", &[1], &[], T0, None, 2);
    assert!(a.on_events_at(&[v2], T0).is_empty());
    // Closed: its end, once.
    let closed = event(id, "loitering", &[1], &[], T0, Some(T0 + 5 * HOUR), 3);
    let out = a.on_events_at(std::slice::from_ref(&closed), T0);
    assert_eq!(
        fired(&out),
        vec![f("end", id, Stage::End), f("every stage", id, Stage::End)]
    );
    assert!(a.on_events_at(&[closed], T0).is_empty());
}

#[test]
fn an_instantaneous_event_fires_each_rule_once_at_its_latest_stage() {
    let dir = scratch("instant");
    let mut a = open(
        &dir,
        r#"
        [[alert]]
        name = "start"
        [[alert]]
        name = "end"
        on = "end"
        [[alert]]
        name = "both"
        on = ["start", "end"]
        [[alert]]
        name = "update"
        on = "update"
        "#,
    );
    let jump = event("j", "spoof_jump", &[5], &[], T0, Some(T0), 0);
    let out = a.on_events_at(&[jump], T0);
    assert_eq!(
        fired(&out),
        vec![
            f("start", "j", Stage::Start),
            f("end", "j", Stage::End),
            f("both", "j", Stage::End)
        ]
    );
}

#[test]
fn an_alert_is_the_rule_the_stage_the_event_and_the_firing_time_in_json() {
    let dir = scratch("json");
    let mut a = open(
        &dir,
        "[[alert]]\nname = \"escorts\"\ntypes = [\"escort\"]\n",
    );
    let row = event(
        "00000000000000aa",
        "escort",
        &[412000001],
        &["EEZ"],
        T0,
        None,
        0,
    );
    let out = a.on_events_at(&[row], T0 + 1_234);
    assert_eq!(out.len(), 1);
    let v = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(v["rule"], "escorts");
    assert_eq!(v["stage"], "start");
    assert_eq!(v["fired_at"], "2026-01-01T00:00:01.234Z");
    assert_eq!(v["event"]["id"], "00000000000000aa");
    assert_eq!(v["event"]["type"], "escort");
    assert_eq!(v["event"]["zones"], serde_json::json!(["EEZ"]));
    assert_eq!(v["event"]["vessels"][0]["mmsi"], 412000001);
    assert_eq!(v.as_object().unwrap().len(), 4);
}

#[test]
fn alerts_fire_once_only_across_a_restart() {
    let dir = scratch("restart");
    let config = "[[alert]]\nname = \"all\"\non = [\"start\", \"update\", \"end\"]\n";
    let rows = vec![
        event("r1", "encounter", &[1, 2], &[], T0, None, 0),
        event("r2", "ais_gap", &[3], &[], T0, None, 0),
    ];
    let mut a = open(&dir, config);
    assert_eq!(a.on_events_at(&rows, T0).len(), 2);
    drop(a);

    let mut a = open(&dir, config);
    assert_eq!(a.metrics().ledger_events, 2);
    // The same commits again (a replay after a restart): nothing.
    assert!(a.on_events_at(&rows, T0).is_empty());
    // New stages still fire: r1 changed, r2 closed.
    let next = vec![
        event("r1", "encounter", &[1, 2], &[], T0, None, 1),
        event("r2", "ais_gap", &[3], &[], T0, Some(T0 + 6 * HOUR), 1),
    ];
    assert_eq!(
        fired(&a.on_events_at(&next, T0)),
        vec![f("all", "r1", Stage::Update), f("all", "r2", Stage::End)]
    );
    a.shutdown();

    // A third life, with a rule added: the stages already seen do not fire again.
    let mut a = open(&dir, &format!("{config}[[alert]]\nname = \"new\"\n"));
    assert!(a.on_events_at(&rows, T0).is_empty());
    assert!(a.on_events_at(&next, T0).is_empty());
    let closed = event("r1", "encounter", &[1, 2], &[], T0, Some(T0 + HOUR), 2);
    assert_eq!(
        fired(&a.on_events_at(&[closed], T0)),
        vec![f("all", "r1", Stage::End)]
    );
}

#[test]
fn a_torn_last_ledger_line_is_cut_off_and_the_rest_kept() {
    let dir = scratch("torn");
    let config = "[[alert]]\nname = \"all\"\n";
    let mut a = open(&dir, config);
    assert_eq!(
        a.on_events_at(&[event("k1", "swarm", &[], &[], T0, None, 0)], T0)
            .len(),
        1
    );
    drop(a);
    // A crash mid-append left half a line; another line is not a ledger line at all.
    let path = dir.join(alerts::LEDGER_FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("garbage line\nk2 S 17670");
    std::fs::write(&path, &text).unwrap();

    let mut a = open(&dir, config);
    let m = a.metrics();
    assert!(m.ledger_torn_tail);
    assert_eq!(m.ledger_bad_lines, 1);
    assert_eq!(m.ledger_events, 1);
    assert!(std::fs::read_to_string(&path).unwrap().ends_with('\n'));
    // k1 is remembered; k2 (its line torn) was never confirmed, so it fires.
    let rows = [
        event("k1", "swarm", &[], &[], T0, None, 0),
        event("k2", "swarm", &[], &[], T0, None, 0),
    ];
    assert_eq!(
        fired(&a.on_events_at(&rows, T0)),
        vec![f("all", "k2", Stage::Start)]
    );
}

#[test]
fn the_ledger_forgets_events_past_its_retention_and_stays_bounded() {
    let dir = scratch("bounded");
    let config = "[alerts]\nledger_retention = \"2d\"\n[[alert]]\nname = \"all\"\n";
    let mut a = open(&dir, config);
    // 100 days, 200 instantaneous events a day, one batch every six hours (a batch is one
    // fsync).
    const PER_BATCH: i64 = 50;
    let mut n = 0u64;
    for day in 0..100 {
        for quarter in 0..4 {
            let t = T0 + day * DAY + quarter * 6 * HOUR;
            let rows: Vec<_> = (0..PER_BATCH)
                .map(|i| {
                    let id = format!("d{day}q{quarter}i{i}");
                    event(&id, "spoof_jump", &[1], &[], t, Some(t), 0)
                })
                .collect();
            n += a.on_events_at(&rows, t).len() as u64;
        }
    }
    let per_day = 4 * PER_BATCH as u64;
    let m = a.metrics();
    assert_eq!(n, 100 * per_day);
    assert_eq!(m.fired, n);
    // Remembered: about two days and a little (pruning runs every 1% of the retention).
    assert!(m.ledger_events <= 3 * per_day, "{m:?}");
    assert!(m.ledger_events >= 2 * per_day, "{m:?}");
    let lines = std::fs::read_to_string(dir.join(alerts::LEDGER_FILE))
        .unwrap()
        .lines()
        .count() as u64;
    assert!(
        lines <= 2 * m.ledger_events + 1024 + PER_BATCH as u64,
        "{lines} lines, {m:?}"
    );
    assert!(lines < n / 4, "{lines} lines for {n} events");
    assert_eq!(lines, m.ledger_lines);

    // An event older than the retention and not remembered fires nothing and is counted.
    let old_t = T0 + 10 * DAY;
    let old = event("d10q0i0", "spoof_jump", &[1], &[], old_t, Some(old_t), 0);
    assert!(a.on_events_at(&[old], old_t).is_empty());
    assert_eq!(a.metrics().rejected.too_old, 1);
    // A recent one still fires.
    let t = T0 + 100 * DAY;
    assert_eq!(
        a.on_events_at(&[event("late", "swarm", &[], &[], t, None, 0)], t)
            .len(),
        1
    );
    drop(a);
    // The ledger reopens with the same memory.
    let a = open(&dir, config);
    assert!(a.metrics().ledger_events <= 3 * per_day + 1);
}

#[test]
fn a_long_open_event_is_remembered_across_a_restart() {
    let dir = scratch("longopen");
    let config = "[alerts]\nledger_retention = \"2d\"\n[[alert]]\nname = \"all\"\n";
    let mut a = open(&dir, config);
    let id = "long";
    assert_eq!(
        a.on_events_at(&[event(id, "port_call", &[7], &[], T0, None, 0)], T0)
            .len(),
        1
    );
    // Ten days of hourly re-reports as the event goes on, and other events around it.
    for h in 1..240 {
        let t = T0 + h * HOUR;
        let mut again = event(id, "port_call", &[7], &[], T0, None, 0);
        again.json = again
            .json
            .replace(&format!("\"last_ms\":{T0}"), &format!("\"last_ms\":{t}"));
        let other = event(&format!("o{h}"), "swarm", &[], &[], t, Some(t), 0);
        a.on_events_at(&[again, other], t);
    }
    drop(a);
    let mut a = open(&dir, config);
    let t = T0 + 240 * HOUR;
    let mut again = event(id, "port_call", &[7], &[], T0, None, 0);
    again.json = again
        .json
        .replace(&format!("\"last_ms\":{T0}"), &format!("\"last_ms\":{t}"));
    // Its start is not fired again (nor is it too old).
    assert!(a.on_events_at(&[again], t).is_empty());
    assert_eq!(a.metrics().rejected.too_old, 0);
}

#[test]
fn rows_that_cannot_be_used_as_they_are_are_counted() {
    let dir = scratch("bad");
    let mut a = open(&dir, "[[alert]]\nname = \"all\"\n");
    let mut no_id = event("x", "swarm", &[], &[], T0, None, 0);
    no_id.id = "has space".to_owned();
    let mut bad_json = event("y", "swarm", &[9], &["Z"], T0, None, 0);
    bad_json.json = "{not json".to_owned();
    let out = a.on_events_at(&[no_id, bad_json], T0);
    assert_eq!(out.len(), 1);
    // The alert carries the row's columns instead.
    assert_eq!(out[0].event["id"], "y");
    assert_eq!(out[0].event["mmsis"], serde_json::json!([9]));
    let m = a.metrics();
    assert_eq!((m.rejected.bad_event_id, m.rejected.bad_event_json), (1, 1));
    let mut text = String::new();
    m.write_prometheus(&mut text);
    assert!(text.contains("tidewatch_alerts_rejected_total{reason=\"bad_event_id\"} 1"));
    assert!(text.contains("tidewatch_alerts_fired_total 1"));
}

#[test]
fn remembered_events_do_not_fire_and_their_later_stages_do() {
    let dir = scratch("remember");
    let config = "[[alert]]\nname = \"all\"\non = [\"start\", \"end\"]\n";
    let mut a = open(&dir, config);
    assert!(a.ledger_was_new());
    let stored = vec![
        event("s1", "loitering", &[1], &[], T0, None, 0),
        event("s2", "spoof_jump", &[2], &[], T0, Some(T0), 0),
    ];
    a.remember(&stored);
    assert_eq!(a.metrics().fired, 0);
    assert!(a.on_events_at(&stored, T0).is_empty());
    drop(a);
    let mut a = open(&dir, config);
    assert!(!a.ledger_was_new());
    // A catch-up at start: the stored events again, one of them closed meanwhile.
    let now = vec![
        event("s1", "loitering", &[1], &[], T0, Some(T0 + HOUR), 1),
        event("s2", "spoof_jump", &[2], &[], T0, Some(T0), 0),
    ];
    assert_eq!(
        fired(&a.on_events_at(&now, T0)),
        vec![f("all", "s1", Stage::End)]
    );
}
