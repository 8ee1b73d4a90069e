//! Property test (issue 21): for random sources, labels, principals, rows and events, what a
//! principal sees through [`access::View`] equals a simple model's answer. The model is written
//! differently on purpose: labels by scanning every pattern for the longest prefix, release by
//! set intersection of names.

use access::label::Name;
use access::{
    Access, EventRule, EventSpan, IdentityClaim, Principal, PrincipalKind, Releasability, RowRef,
    SourceLabels, View,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

const PARTNERS: [&str; 4] = ["IND", "USA", "FRA", "GBR"];
const GROUPS: [&str; 3] = ["FVEY", "NATO", "SAT-L"];
const FEEDS: [&str; 4] = ["radar", "ais", "sat", "link"];
const STATIONS: [&str; 3] = ["s1", "s2", "s3"];
const TALKERS: [&str; 2] = ["AI", "RA"];

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn source() -> impl Strategy<Value = String> {
    (
        0..FEEDS.len(),
        0..=STATIONS.len(),
        0..TALKERS.len(),
        0..10u8,
    )
        .prop_map(|(f, s, t, odd)| {
            if odd == 0 {
                return String::new(); // a source without a station label
            }
            match STATIONS.get(s) {
                Some(st) => format!("{}/{st}/{}", FEEDS[f], TALKERS[t]),
                None => format!("{}/{}", FEEDS[f], TALKERS[t]),
            }
        })
}

fn pattern() -> impl Strategy<Value = String> {
    (0..FEEDS.len(), 0..=STATIONS.len(), any::<bool>()).prop_map(|(f, s, whole)| {
        match (STATIONS.get(s), whole) {
            (None, _) => FEEDS[f].to_owned(),
            (Some(st), false) => format!("{}/{st}", FEEDS[f]),
            (Some(st), true) => format!("{}/{st}/AI", FEEDS[f]),
        }
    })
}

fn releasability() -> impl Strategy<Value = Releasability> {
    let names: Vec<&str> = PARTNERS.iter().chain(GROUPS.iter()).copied().collect();
    prop_oneof![
        Just(Releasability::Public),
        Just(Releasability::Withheld),
        (
            0..PARTNERS.len(),
            proptest::sample::subsequence(names, 0..4)
        )
            .prop_map(|(o, to)| {
                let owner = name(PARTNERS[o]);
                Releasability::Restricted {
                    to: to.into_iter().map(name).filter(|n| *n != owner).collect(),
                    owner,
                }
            }),
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        0..PARTNERS.len(),
        proptest::sample::subsequence(GROUPS.to_vec(), 0..=2),
    )
        .prop_map(|(p, g)| Principal {
            id: 1,
            name: "p".into(),
            partner: name(PARTNERS[p]),
            groups: g.into_iter().map(name).collect(),
            kind: PrincipalKind::User,
        })
}

#[derive(Debug, Clone)]
struct Row {
    mmsi: u32,
    time_ms: i64,
    sources: Vec<String>,
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec(
        (
            1..4u32,
            0..100i64,
            proptest::collection::vec(source(), 0..4),
        )
            .prop_map(|(mmsi, t, sources)| Row {
                mmsi,
                time_ms: t * 60_000,
                sources,
            }),
        0..30,
    )
}

// ---- the model ----

fn model_label(
    patterns: &[(String, Releasability)],
    default: &Releasability,
    source: &str,
) -> Releasability {
    let mut best: Option<&(String, Releasability)> = None;
    // The last setting of a pattern wins, as in the map.
    for p in patterns {
        let matches = source == p.0 || source.starts_with(&format!("{}/", p.0));
        if matches && best.is_none_or(|b| p.0.len() >= b.0.len()) {
            best = Some(p);
        }
    }
    best.map_or_else(|| default.clone(), |b| b.1.clone())
}

fn model_may_see(p: &Principal, l: &Releasability) -> bool {
    match l {
        Releasability::Public => true,
        Releasability::Withheld => false,
        Releasability::Restricted { owner, to } => {
            let audience: BTreeSet<&Name> = to.iter().chain(std::iter::once(owner)).collect();
            let mine: BTreeSet<&Name> =
                p.groups.iter().chain(std::iter::once(&p.partner)).collect();
            audience.intersection(&mine).next().is_some()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_a_principal_sees_equals_the_model(
        patterns in proptest::collection::vec((pattern(), releasability()), 0..8),
        default in releasability(),
        p in principal(),
        rows in rows(),
        mmsis in proptest::collection::btree_set(1..4u32, 0..3),
        start in 0..100i64,
        len in proptest::option::of(0..40i64),
        claims in proptest::collection::vec((0..3usize, source(), 0..5i64), 0..6),
    ) {
        let mut labels = SourceLabels::new(default.clone());
        for (pat, l) in &patterns {
            labels.set(pat, l.clone()).unwrap();
        }
        let view = View::new(&p, &labels);
        let see = |s: &str| model_may_see(&p, &model_label(&patterns, &default, s));

        // Sources and rows.
        for r in &rows {
            for s in &r.sources {
                prop_assert_eq!(view.may_see_source(s), see(s), "source {}", s);
            }
            let want: Vec<String> = r.sources.iter().filter(|s| see(s)).cloned().collect();
            prop_assert_eq!(view.row_visible(&r.sources), !want.is_empty());
            let mut got = r.sources.clone();
            prop_assert_eq!(view.redact_sources(&mut got), !want.is_empty());
            prop_assert_eq!(got, want);
        }

        // Events: every vessel has a row in the window and all its rows there are visible.
        let mmsis: Vec<u32> = mmsis.into_iter().collect();
        let span = EventSpan {
            mmsis: &mmsis,
            start_ms: start * 60_000,
            end_ms: len.map(|l| (start + l) * 60_000),
        };
        let rule = EventRule::default();
        let from = span.start_ms - rule.lead_ms;
        let to = span.end_ms.unwrap_or(i64::MAX);
        let want = !mmsis.is_empty() && mmsis.iter().all(|m| {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.mmsi == *m && r.time_ms >= from && r.time_ms <= to).collect();
            !mine.is_empty() && mine.iter().all(|r| r.sources.iter().any(|s| see(s)))
        });
        let refs: Vec<RowRef<'_>> = rows.iter().map(|r| RowRef { mmsi: r.mmsi, time_ms: r.time_ms, sources: &r.sources }).collect();
        prop_assert_eq!(view.event_visible(&span, &rule, &refs), want);

        // Identity: the newest visible value, ties to the smaller value.
        const VALUES: [&str; 3] = ["ALPHA", "BRAVO", "CHARLIE"];
        let cl: Vec<IdentityClaim<'_>> = claims.iter().map(|(v, s, t)| IdentityClaim { value: VALUES[*v], source: s, last_ms: *t }).collect();
        let mut vis: Vec<&IdentityClaim<'_>> = cl.iter().filter(|c| see(c.source)).collect();
        vis.sort_by(|a, b| b.last_ms.cmp(&a.last_ms).then(a.value.cmp(b.value)));
        prop_assert_eq!(view.identity(&cl), vis.first().map(|c| c.value));

        for v in VALUES {
            let want = cl.iter().any(|c| c.value == v && see(c.source));
            prop_assert_eq!(view.value_visible(&cl, v), want);
        }

        // Vessel state: the newest per-source summary with a visible source (the first of
        // equal times).
        let newest = view.newest_visible(&cl, |c| c.source, |c| c.last_ms);
        let mut want: Option<&IdentityClaim<'_>> = None;
        for c in cl.iter().filter(|c| see(c.source)) {
            if want.is_none_or(|w| c.last_ms > w.last_ms) {
                want = Some(c);
            }
        }
        prop_assert_eq!(newest.map(|c| (c.value, c.source, c.last_ms)), want.map(|c| (c.value, c.source, c.last_ms)));
    }

    #[test]
    fn markings_print_and_parse_back_to_the_same_label(l in releasability()) {
        prop_assert_eq!(Releasability::parse(&l.to_string()).unwrap(), l);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The labels stored in `access.sqlite` resolve as the ones built in memory.
    #[test]
    fn labels_stored_in_the_database_resolve_as_in_memory(
        patterns in proptest::collection::vec((pattern(), releasability()), 0..8),
        default in releasability(),
        sources in proptest::collection::vec(source(), 1..20),
    ) {
        // Removed when `scratch` is dropped, pass or fail.
        let scratch = tempfile::Builder::new()
            .prefix("tw-access-model-")
            .tempdir()
            .unwrap();
        let dir = scratch.path();
        std::fs::write(dir.join("manifest.jsonl"), "").unwrap();
        let db = Access::open(dir).unwrap();
        db.set_default_label(&default).unwrap();
        for (i, (pat, l)) in patterns.iter().enumerate() {
            db.set_label(pat, l, i as i64).unwrap();
        }
        let stored = db.labels().unwrap();
        for s in &sources {
            prop_assert_eq!(stored.label_of(s), &model_label(&patterns, &default, s));
        }
        drop(db);
        scratch.close().unwrap();
    }
}
