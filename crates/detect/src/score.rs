//! Scoring events against a simulator scenario's ground truth (`tidewatch simulate --truth`):
//! an event matches a truth record of the same type sharing a vessel (or the truth names
//! none) and overlapping it in time, with 30 min of slack either side (instants such as
//! identity changes, and short events). Open events end at their last data.
//!
//! Used by `tidewatch eval` and the `score` example.
//!
//! A truth record is *observable* when the AIS received could show it at all: every vessel in
//! it has a received position or identity value within [`OBSERVE_MS`] of its interval; an AIS
//! gap, within [`OBSERVE_GAP_MS`] before its start and after its end (satellite passes are
//! hours apart); an identity or spoofing record, one of its vessels within
//! [`OBSERVE_IDENTITY_MS`] (an MMSI change names the old number, silent since, and the new
//! one). The simulator's truth is what happened at sea, and some of it (a pass between two
//! vessels neither of which was received, an encounter while both were dark) no AIS detector
//! can find; recall over observable truth separates those misses from the detectors' own.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::Event;

/// Slack either side of a truth interval, ms.
pub const SLACK_MS: i64 = 1_800_000;

/// How near a truth interval a vessel's received position makes the record observable, ms
/// (close approach's `stale_s` is 3 minutes).
pub const OBSERVE_MS: i64 = 300_000;
/// The same for AIS gaps, before the start and after the end.
pub const OBSERVE_GAP_MS: i64 = 6 * 3_600_000;
/// The same for identity, watch-list and spoofing records (one vessel heard suffices: a new
/// name or number broadcast while unreceived shows at the next reception).
pub const OBSERVE_IDENTITY_MS: i64 = 6 * 3_600_000;

/// Record kinds about one vessel's identity or its reports, observable when any of its vessels
/// was heard near it.
const IDENTITY_KINDS: [&str; 6] = [
    "identity_change",
    "watchlist",
    "shared_mmsi",
    "spoof_jump",
    "spoof_land",
    "spoof_circle",
];

/// One ground-truth record (kind `vessel` records describe vessels and are not events).
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Event type name.
    pub kind: String,
    /// Start, Unix ms.
    pub start_ms: i64,
    /// End, Unix ms.
    pub end_ms: i64,
    /// Vessels involved.
    pub mmsis: Vec<u32>,
    /// Whether the received AIS could show it (see the module docs); `None`: not assessed.
    pub observable: Option<bool>,
}

impl Truth {
    /// The time windows in which each vessel must have been heard for the record to be
    /// observable.
    pub fn observe_windows(&self) -> Vec<(i64, i64)> {
        if self.kind == "ais_gap" {
            vec![
                (self.start_ms - OBSERVE_GAP_MS, self.start_ms + OBSERVE_MS),
                (self.end_ms - OBSERVE_MS, self.end_ms + OBSERVE_GAP_MS),
            ]
        } else if IDENTITY_KINDS.contains(&self.kind.as_str()) {
            vec![(
                self.start_ms - OBSERVE_IDENTITY_MS,
                self.end_ms + OBSERVE_IDENTITY_MS,
            )]
        } else {
            vec![(self.start_ms - OBSERVE_MS, self.end_ms + OBSERVE_MS)]
        }
    }
}

/// Sets `observable` on every record: `heard(mmsi, from_ms, to_ms)` says whether anything of
/// that vessel (a position, an identity value) was received in `from_ms..=to_ms`. Records naming no vessel are observable.
pub fn assess(truth: &mut [Truth], heard: impl Fn(u32, i64, i64) -> bool) {
    for t in truth {
        let windows = t.observe_windows();
        let heard_in_all = |m: u32| windows.iter().all(|&(a, b)| heard(m, a, b));
        t.observable = Some(if t.mmsis.is_empty() {
            true
        } else if IDENTITY_KINDS.contains(&t.kind.as_str()) {
            t.mmsis.iter().any(|&m| heard_in_all(m))
        } else {
            t.mmsis.iter().all(|&m| heard_in_all(m))
        });
    }
}

/// Parses one truth JSON line; `Ok(None)` for records that are not events (`vessel`).
pub fn parse_truth_line(line: &str) -> Result<Option<Truth>, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let kind = v["kind"].as_str().ok_or("no kind")?.to_owned();
    if kind == "vessel" {
        return Ok(None);
    }
    let time = |k: &str| -> Result<i64, String> {
        let s = v[k].as_str().ok_or_else(|| format!("no {k}"))?;
        parse_rfc3339_ms(s).ok_or_else(|| format!("{k} {s:?} is not an RFC 3339 UTC time"))
    };
    let mmsis = v["vessels"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["mmsi"].as_u64())
                .map(|m| m as u32)
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(Truth {
        kind,
        start_ms: time("start")?,
        end_ms: time("end")?,
        mmsis,
        observable: None,
    }))
}

/// `YYYY-MM-DDTHH:MM:SS(.fff)Z` to Unix ms.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let n = |a: usize, e: usize| s.get(a..e).and_then(|x| x.parse::<i64>().ok());
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (hh, mm, ss) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
    let ms = if b[19] == b'.' {
        let frac = &s[20..s.len() - 1];
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        digits.parse::<i64>().ok()?
    } else {
        0
    };
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000 + ms)
}

/// The score of one type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct KindScore {
    /// Truth records.
    pub truth: usize,
    /// Events detected.
    pub detected: usize,
    /// Detected events matching a truth record.
    pub true_positives: usize,
    /// Truth records matched by an event.
    pub found: usize,
    /// `true_positives / detected` (`None` when nothing was detected).
    pub precision: Option<f64>,
    /// `found / truth` (`None` when there is no truth).
    pub recall: Option<f64>,
    /// Truth records assessed observable (`None`: not assessed).
    pub observable: Option<usize>,
    /// Observable truth records matched by an event.
    pub found_observable: usize,
    /// `found_observable / observable` (`None` when none is observable or not assessed).
    pub recall_observable: Option<f64>,
}

fn matches(kind: &str, start_ms: i64, end_ms: i64, mmsis: &[u32], t: &Truth) -> bool {
    t.kind == kind
        && start_ms <= t.end_ms + SLACK_MS
        && end_ms + SLACK_MS >= t.start_ms
        && (t.mmsis.is_empty() || mmsis.iter().any(|m| t.mmsis.contains(m)))
}

/// Scores events against truth, per type (every type that has truth or events).
pub fn score(events: &[Event], truth: &[Truth]) -> BTreeMap<String, KindScore> {
    let span = |e: &Event| {
        (
            e.start_ms,
            e.end_ms.unwrap_or(e.last_ms.max(e.start_ms)),
            e.vessels.iter().map(|v| v.mmsi).collect::<Vec<u32>>(),
        )
    };
    let spans: Vec<_> = events.iter().map(span).collect();
    let mut out: BTreeMap<String, KindScore> = BTreeMap::new();
    for (e, (s, en, vs)) in events.iter().zip(&spans) {
        let k = out.entry(e.kind.as_str().to_owned()).or_default();
        k.detected += 1;
        if truth
            .iter()
            .any(|t| matches(e.kind.as_str(), *s, *en, vs, t))
        {
            k.true_positives += 1;
        }
    }
    for t in truth {
        let found = events
            .iter()
            .zip(&spans)
            .any(|(e, (s, en, vs))| matches(e.kind.as_str(), *s, *en, vs, t));
        let k = out.entry(t.kind.clone()).or_default();
        k.truth += 1;
        if found {
            k.found += 1;
        }
        if let Some(o) = t.observable {
            let n = k.observable.get_or_insert(0);
            if o {
                *n += 1;
                k.found_observable += usize::from(found);
            }
        }
    }
    for k in out.values_mut() {
        k.precision = (k.detected > 0).then(|| k.true_positives as f64 / k.detected as f64);
        k.recall = (k.truth > 0).then(|| k.found as f64 / k.truth as f64);
        k.recall_observable = k
            .observable
            .filter(|&n| n > 0)
            .map(|n| k.found_observable as f64 / n as f64);
    }
    out
}

/// The scores as a table.
pub fn table(scores: &BTreeMap<String, KindScore>) -> String {
    let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    let assessed = scores.values().any(|v| v.observable.is_some());
    let mut s = format!(
        "{:<16} {:>6} {:>8} {:>6} {:>9} {:>7}",
        "type", "truth", "detected", "tp", "precision", "recall"
    );
    if assessed {
        s.push_str(&format!(" {:>10} {:>10}", "observable", "recall_obs"));
    }
    s.push('\n');
    for (k, v) in scores {
        s.push_str(&format!(
            "{k:<16} {:>6} {:>8} {:>6} {:>9} {:>7}",
            v.truth,
            v.detected,
            v.true_positives,
            f(v.precision),
            f(v.recall)
        ));
        if assessed {
            let o = v
                .observable
                .map_or_else(|| "-".to_owned(), |n| n.to_string());
            s.push_str(&format!(" {o:>10} {:>10}", f(v.recall_observable)));
        }
        s.push('\n');
    }
    if assessed {
        s.push_str(
            "observable: every vessel of the truth record received within 5 min of it (an AIS \
             gap: 6 h before and after; identity and spoofing: one vessel within 6 h)\n",
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventId, EventType, VesselAt};

    fn ev(kind: EventType, mmsi: u32, start_ms: i64, end_ms: i64) -> Event {
        Event {
            id: EventId::derive(kind, &[mmsi], start_ms, ""),
            kind,
            start_ms,
            end_ms: Some(end_ms),
            open: false,
            last_ms: end_ms,
            vessels: vec![VesselAt {
                mmsi,
                name: None,
                flag: None,
                imo: None,
                ship_type: None,
            }],
            lat: 0.0,
            lon: 0.0,
            zones: vec![],
            confidence: 1.0,
            evidence: vec![],
            sources: vec![],
            details: Default::default(),
        }
    }

    #[test]
    fn matches_by_type_vessel_and_time_with_slack() {
        let h = 3_600_000;
        let truth = vec![
            parse_truth_line(
                r#"{"kind":"encounter","start":"1970-01-01T01:00:00Z","end":"1970-01-01T03:00:00Z","vessels":[{"mmsi":1},{"mmsi":2}]}"#,
            )
            .unwrap()
            .unwrap(),
            parse_truth_line(
                r#"{"kind":"ais_gap","start":"1970-01-01T10:00:00.500Z","end":"1970-01-01T12:00:00Z","vessels":[{"mmsi":3}]}"#,
            )
            .unwrap()
            .unwrap(),
        ];
        assert_eq!(truth[1].start_ms, 10 * h + 500);
        assert_eq!(
            parse_truth_line(r#"{"kind":"vessel","mmsi":1}"#).unwrap(),
            None
        );
        let events = vec![
            ev(EventType::Encounter, 2, 2 * h, 4 * h), // TP
            ev(EventType::Encounter, 9, 2 * h, 4 * h), // wrong vessel
            ev(EventType::AisGap, 1, 2 * h, 3 * h),    // wrong type for the time
        ];
        let s = score(&events, &truth);
        let enc = s["encounter"];
        assert_eq!(
            (enc.truth, enc.detected, enc.true_positives, enc.found),
            (1, 2, 1, 1)
        );
        assert_eq!(enc.precision, Some(0.5));
        assert_eq!(enc.recall, Some(1.0));
        let gap = s["ais_gap"];
        assert_eq!((gap.truth, gap.detected, gap.true_positives), (1, 1, 0));
        assert_eq!(gap.recall, Some(0.0));
        assert!(table(&s).contains("encounter"));
        assert!(!table(&s).contains("recall_obs"));
    }

    #[test]
    fn recall_over_observable_truth_leaves_out_what_no_receiver_heard() {
        let m = 60_000;
        let line = |kind: &str, a: &str, b: &str, v: &str| {
            parse_truth_line(&format!(
                r#"{{"kind":"{kind}","start":"1970-01-01T{a}Z","end":"1970-01-01T{b}Z","vessels":[{v}]}}"#
            ))
            .unwrap()
            .unwrap()
        };
        let mut truth = vec![
            // Both heard during the pass, and found.
            line(
                "close_approach",
                "01:00:00",
                "01:04:00",
                r#"{"mmsi":1},{"mmsi":2}"#,
            ),
            // Vessel 4 never heard near the pass: not observable, and missed.
            line(
                "close_approach",
                "05:00:00",
                "05:04:00",
                r#"{"mmsi":3},{"mmsi":4}"#,
            ),
            // Heard 2 min before the pass only: observable, and missed.
            line(
                "close_approach",
                "08:00:00",
                "08:04:00",
                r#"{"mmsi":5},{"mmsi":6}"#,
            ),
            // A gap: heard 40 min before and 10 min after.
            line("ais_gap", "10:00:00", "12:00:00", r#"{"mmsi":7}"#),
            // An MMSI change: the old number silent, the new one heard.
            line(
                "identity_change",
                "14:00:00",
                "14:00:00",
                r#"{"mmsi":8},{"mmsi":9}"#,
            ),
        ];
        let heard_at: Vec<(u32, i64)> = vec![
            (1, 61 * m),
            (2, 62 * m),
            (3, 301 * m),
            (5, 478 * m),
            (6, 481 * m),
            (7, 560 * m),
            (7, 730 * m),
            (9, 850 * m),
        ];
        assess(&mut truth, |mmsi, a, b| {
            heard_at
                .iter()
                .any(|&(x, t)| x == mmsi && (a..=b).contains(&t))
        });
        let obs: Vec<bool> = truth.iter().map(|t| t.observable.unwrap()).collect();
        assert_eq!(obs, [true, false, true, true, true]);
        let events = vec![ev(EventType::CloseApproach, 1, 60 * m, 64 * m)];
        let s = score(&events, &truth);
        let ca = s["close_approach"];
        assert_eq!(
            (ca.truth, ca.found, ca.observable, ca.found_observable),
            (3, 1, Some(2), 1)
        );
        assert_eq!(ca.recall_observable, Some(0.5));
        assert_eq!(s["ais_gap"].recall_observable, Some(0.0));
        assert_eq!(s["identity_change"].observable, Some(1));
        assert!(table(&s).contains("recall_obs"));
    }
}
