//! Rule 5 applied to a stored event (the `detect` crate's JSON, as `store::EventRow::json`
//! holds it): [`View::redact_event`] decides whether the principal sees the event and, when it
//! does, removes what it may not see from it. Fails closed: an event whose JSON is not an
//! object is hidden.

use crate::visibility::{EventRule, EventSpan, IdentityClaim, RowRef, View};
use serde_json::Value;

/// One identity value of a vessel and a source that reported it (a borrowed
/// `store::IdentitySourceRow`).
#[derive(Debug, Clone, Copy)]
pub struct IdentityFact<'a> {
    /// MMSI.
    pub mmsi: u32,
    /// Field: `name`, `callsign`, `imo`, `ship_type`, ...
    pub field: &'a str,
    /// The value as the registry stores it (numbers in decimal).
    pub value: &'a str,
    /// The source label.
    pub source: &'a str,
    /// When that source last reported it, ms since the Unix epoch (UTC).
    pub last_ms: i64,
}

/// The identity fields of an event's vessels (`detect::VesselAt`) checked against their
/// sources; the flag follows from the MMSI.
const VESSEL_FIELDS: [&str; 4] = ["name", "callsign", "imo", "ship_type"];

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl View<'_> {
    fn claims<'f>(
        &self,
        facts: &[IdentityFact<'f>],
        mmsi: u32,
        field: &str,
    ) -> Vec<IdentityClaim<'f>> {
        facts
            .iter()
            .filter(|f| f.mmsi == mmsi && f.field == field)
            .map(|f| IdentityClaim {
                value: f.value,
                source: f.source,
                last_ms: f.last_ms,
            })
            .collect()
    }

    /// Whether a visible source reported `value` for `field` of `mmsi` among `facts`.
    pub fn fact_visible(
        &self,
        facts: &[IdentityFact<'_>],
        mmsi: u32,
        field: &str,
        value: &str,
    ) -> bool {
        self.value_visible(&self.claims(facts, mmsi, field), value)
    }

    /// Rule 3 on one vessel's identity history (`store::IdentityRow`s of `mmsi`, in time
    /// order): keeps the entries whose new value a visible source reported, and rewrites each
    /// kept entry's old value to the previous kept value of its field (`None` for the first),
    /// so that neither side of a change tells a value the principal may not see.
    pub fn redact_history<T>(
        &self,
        facts: &[IdentityFact<'_>],
        mmsi: u32,
        history: &mut Vec<T>,
        field_and_new: impl Fn(&T) -> (&str, &str),
        set_old: impl Fn(&mut T, Option<String>),
    ) {
        history.retain(|h| {
            let (field, new) = field_and_new(h);
            self.fact_visible(facts, mmsi, field, new)
        });
        let mut last: std::collections::HashMap<String, String> = Default::default();
        for h in history.iter_mut() {
            let (field, new) = field_and_new(h);
            let (field, new) = (field.to_owned(), new.to_owned());
            set_old(h, last.insert(field, new));
        }
    }

    /// Rule 5 on a stored event. `span` is the event's row (`store::EventRow`: MMSIs, start,
    /// end); `rows` every stored position of those vessels in `rule.window(span)` (see
    /// [`View::event_visible`]); `facts` the identity provenance of those vessels. Returns
    /// false when the event must be hidden. When true, `event` has been redacted: its
    /// `sources` keep the visible ones, `evidence` keeps references to visible positions in
    /// the window, and each vessel's name, call sign, IMO and ship type are null unless a
    /// visible source reported them. An `identity_change` is hidden unless the old and new
    /// values it names (and for an MMSI change, the IMO on both MMSIs) are visible; a
    /// `watchlist` event matched on a name or IMO is hidden unless that value is visible.
    pub fn redact_event(
        &self,
        span: &EventSpan<'_>,
        rule: &EventRule,
        rows: &[RowRef<'_>],
        facts: &[IdentityFact<'_>],
        event: &mut Value,
    ) -> bool {
        if !self.event_visible(span, rule, rows) {
            return false;
        }
        let Some(obj) = event.as_object_mut() else {
            return false;
        };
        // The vessels as listed in the event (an MMSI change lists the old, then the new).
        let listed: Vec<u32> = obj
            .get("vessels")
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| v.get("mmsi").and_then(Value::as_u64))
                    .map(|m| m as u32)
                    .collect()
            })
            .unwrap_or_default();
        if listed.iter().any(|m| !span.mmsis.contains(m)) {
            return false; // the JSON names a vessel the row does not: not checked, not shown
        }
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "identity_change" => {
                let (Some(&first), Some(&last)) = (listed.first(), listed.last()) else {
                    return false;
                };
                for field in VESSEL_FIELDS {
                    let Some(change) = obj.get(field) else {
                        continue;
                    };
                    if obj.contains_key("mmsi") && field == "imo" {
                        // An MMSI change for one IMO: the link is the IMO on both.
                        let Some(imo) = value_text(change) else {
                            return false;
                        };
                        if !self.fact_visible(facts, first, "imo", &imo)
                            || !self.fact_visible(facts, last, "imo", &imo)
                        {
                            return false;
                        }
                        continue;
                    }
                    let Some((old, new)) = change.as_str().and_then(|c| c.split_once(" -> "))
                    else {
                        return false;
                    };
                    if !self.fact_visible(facts, first, field, old)
                        || !self.fact_visible(facts, last, field, new)
                    {
                        return false;
                    }
                }
            }
            "watchlist" => {
                let on = obj.get("matched_on").and_then(Value::as_str).unwrap_or("");
                let Some(&m) = listed.first() else {
                    return false;
                };
                let ok = match on {
                    "mmsi" => true,
                    "imo" => obj
                        .get("imo")
                        .and_then(value_text)
                        .is_some_and(|imo| self.fact_visible(facts, m, "imo", &imo)),
                    "name" => obj
                        .get("vessels")
                        .and_then(|v| v.get(0))
                        .and_then(|v| v.get("name"))
                        .and_then(Value::as_str)
                        .is_some_and(|n| self.fact_visible(facts, m, "name", n)),
                    _ => false,
                };
                if !ok {
                    return false;
                }
            }
            _ => {}
        }
        if let Some(Value::Array(vs)) = obj.get_mut("vessels") {
            for v in vs {
                let Some(m) = v.get("mmsi").and_then(Value::as_u64) else {
                    continue;
                };
                let Some(o) = v.as_object_mut() else { continue };
                for field in VESSEL_FIELDS {
                    let keep = o
                        .get(field)
                        .and_then(value_text)
                        .is_some_and(|val| self.fact_visible(facts, m as u32, field, &val));
                    if o.contains_key(field) && !keep {
                        o.insert(field.to_owned(), Value::Null);
                    }
                }
            }
        }
        if let Some(Value::Array(srcs)) = obj.get_mut("sources") {
            srcs.retain(|s| s.as_str().is_some_and(|s| self.may_see_source(s)));
        }
        if let Some(Value::Array(ev)) = obj.get_mut("evidence") {
            ev.retain(|e| {
                let m = e.get("mmsi").and_then(Value::as_u64);
                let t = e.get("time_ms").and_then(Value::as_i64);
                match (m, t) {
                    (Some(m), Some(t)) => rows.iter().any(|r| {
                        r.mmsi as u64 == m && r.time_ms == t && self.row_visible(r.sources)
                    }),
                    _ => false,
                }
            });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Name;
    use crate::{Principal, PrincipalKind, Releasability, SourceLabels};
    use serde_json::json;

    fn principal(partner: &str) -> Principal {
        Principal {
            id: 1,
            name: "p".into(),
            partner: Name::parse(partner).unwrap(),
            groups: Default::default(),
            kind: PrincipalKind::User,
        }
    }

    fn labels() -> SourceLabels {
        let mut l = SourceLabels::default();
        l.set("hub", Releasability::Public).unwrap();
        l.set("navy", Releasability::parse("IND ONLY").unwrap())
            .unwrap();
        l
    }

    fn fact<'a>(mmsi: u32, field: &'a str, value: &'a str, source: &'a str) -> IdentityFact<'a> {
        IdentityFact {
            mmsi,
            field,
            value,
            source,
            last_ms: 0,
        }
    }

    #[test]
    fn a_visible_event_loses_the_sources_names_and_evidence_the_principal_may_not_see() {
        let l = labels();
        let fra = principal("FRA");
        let v = View::new(&fra, &l);
        let both = vec!["hub/AI".to_owned(), "navy/r/RA".to_owned()];
        let hub = vec!["hub/AI".to_owned()];
        let rows = [
            RowRef {
                mmsi: 1,
                time_ms: 100_000_000,
                sources: &both,
            },
            RowRef {
                mmsi: 2,
                time_ms: 100_000_000,
                sources: &hub,
            },
        ];
        let facts = [
            fact(1, "name", "PUBLIC NAME", "hub/AI"),
            fact(2, "name", "SECRET NAME", "navy/r/RA"),
            fact(2, "imo", "9806407", "hub/AI"),
        ];
        let span = EventSpan {
            mmsis: &[1, 2],
            start_ms: 100_000_000,
            end_ms: Some(100_000_000),
        };
        let mut e = json!({
            "type": "encounter",
            "vessels": [
                {"mmsi": 1, "name": "PUBLIC NAME", "flag": "GR", "imo": null},
                {"mmsi": 2, "name": "SECRET NAME", "flag": "HK", "imo": 9806407, "ship_type": 70}
            ],
            "sources": ["hub/AI", "navy/r/RA"],
            "evidence": [{"mmsi": 1, "time_ms": 100_000_000i64}, {"mmsi": 2, "time_ms": 5}],
            "distance_m": 120.0
        });
        assert!(v.redact_event(&span, &EventRule::default(), &rows, &facts, &mut e));
        assert_eq!(e["sources"], json!(["hub/AI"]));
        assert_eq!(e["vessels"][0]["name"], "PUBLIC NAME");
        assert_eq!(e["vessels"][1]["name"], Value::Null);
        assert_eq!(e["vessels"][1]["imo"], 9806407);
        assert_eq!(e["vessels"][1]["ship_type"], Value::Null);
        assert_eq!(e["vessels"][1]["flag"], "HK");
        assert_eq!(
            e["evidence"],
            json!([{"mmsi": 1, "time_ms": 100_000_000i64}])
        );
        assert_eq!(e["distance_m"], 120.0);
        // IND sees it all.
        let ind = principal("IND");
        let mut e2 = e.clone();
        e2["vessels"][1]["name"] = "SECRET NAME".into();
        assert!(View::new(&ind, &l).redact_event(
            &span,
            &EventRule::default(),
            &rows,
            &facts,
            &mut e2
        ));
        assert_eq!(e2["vessels"][1]["name"], "SECRET NAME");
        // Not an object, or naming a vessel the row does not: hidden.
        assert!(!v.redact_event(&span, &EventRule::default(), &rows, &facts, &mut json!([1])));
        let mut other = json!({"type": "encounter", "vessels": [{"mmsi": 3}]});
        assert!(!v.redact_event(&span, &EventRule::default(), &rows, &facts, &mut other));
    }

    #[test]
    fn identity_history_keeps_visible_values_and_rewrites_the_old_side() {
        let l = labels();
        let fra = principal("FRA");
        let facts = [
            fact(1, "name", "A", "hub/AI"),
            fact(1, "name", "SECRET", "navy/r/RA"),
            fact(1, "name", "C", "hub/AI"),
            fact(1, "imo", "1234567", "hub/AI"),
        ];
        let row = |field: &str, old: Option<&str>, new: &str| {
            (field.to_owned(), old.map(str::to_owned), new.to_owned())
        };
        let mut h = vec![
            row("name", None, "A"),
            row("imo", None, "1234567"),
            row("name", Some("A"), "SECRET"),
            row("name", Some("SECRET"), "C"),
        ];
        View::new(&fra, &l).redact_history(
            &facts,
            1,
            &mut h,
            |r| (r.0.as_str(), r.2.as_str()),
            |r, old| r.1 = old,
        );
        assert_eq!(
            h,
            [
                row("name", None, "A"),
                row("imo", None, "1234567"),
                row("name", Some("A"), "C")
            ]
        );
    }

    #[test]
    fn identity_and_watchlist_events_need_the_values_they_name_to_be_visible() {
        let l = labels();
        let fra = principal("FRA");
        let v = View::new(&fra, &l);
        let hub = vec!["hub/AI".to_owned()];
        let rows = [
            RowRef {
                mmsi: 1,
                time_ms: 1_000_000,
                sources: &hub,
            },
            RowRef {
                mmsi: 2,
                time_ms: 1_000_000,
                sources: &hub,
            },
        ];
        let span1 = EventSpan {
            mmsis: &[1],
            start_ms: 1_000_000,
            end_ms: Some(1_000_000),
        };
        let rule = EventRule::default();
        let change = |new: &str| json!({"type": "identity_change", "vessels": [{"mmsi": 1, "name": "OLD"}, {"mmsi": 1, "name": new}], "name": format!("OLD -> {new}")});
        let facts = [
            fact(1, "name", "OLD", "hub/AI"),
            fact(1, "name", "NEW", "hub/AI"),
            fact(1, "name", "HIDDEN", "navy/r/RA"),
            fact(1, "imo", "1234567", "hub/AI"),
            fact(2, "imo", "1234567", "navy/r/RA"),
        ];
        assert!(v.redact_event(&span1, &rule, &rows, &facts, &mut change("NEW")));
        assert!(!v.redact_event(&span1, &rule, &rows, &facts, &mut change("HIDDEN")));
        // An MMSI change: the IMO must be visible on both MMSIs.
        let span2 = EventSpan {
            mmsis: &[1, 2],
            ..span1
        };
        let mut swap = json!({"type": "identity_change", "vessels": [{"mmsi": 1}, {"mmsi": 2}], "mmsi": "1 -> 2", "imo": 1234567});
        assert!(!v.redact_event(&span2, &rule, &rows, &facts, &mut swap.clone()));
        let ind = principal("IND");
        assert!(View::new(&ind, &l).redact_event(&span2, &rule, &rows, &facts, &mut swap));
        // Watch list: matched on a name a restricted source gave, or on the MMSI.
        let watch = |on: &str, name: &str| json!({"type": "watchlist", "vessels": [{"mmsi": 1, "name": name}], "matched_on": on, "imo": null});
        assert!(!v.redact_event(&span1, &rule, &rows, &facts, &mut watch("name", "HIDDEN")));
        assert!(v.redact_event(&span1, &rule, &rows, &facts, &mut watch("name", "NEW")));
        let mut by_mmsi = watch("mmsi", "HIDDEN");
        assert!(v.redact_event(&span1, &rule, &rows, &facts, &mut by_mmsi));
        assert_eq!(by_mmsi["vessels"][0]["name"], Value::Null);
        let mut by_imo = json!({"type": "watchlist", "vessels": [{"mmsi": 1}], "matched_on": "imo", "imo": 1234567});
        assert!(v.redact_event(&span1, &rule, &rows, &facts, &mut by_imo));
        assert!(!v.redact_event(&span1, &rule, &rows, &facts, &mut watch("something", "NEW")));
    }
}
