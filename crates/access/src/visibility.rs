//! Principals and what they may see: pure functions every read path calls.
//!
//! The rules, from the ground up:
//!
//! 1. **Source.** A principal may see a source when the source's label ([`SourceLabels`])
//!    releases it to the principal: `PUBLIC`; or the principal's partner is the owner or is
//!    listed; or one of the principal's groups is listed. `WITHHELD` releases to no one.
//! 2. **Position row.** Visible when *any* of its sources is visible (a position heard by a
//!    public receiver and a restricted radar is visible through the public one: the public
//!    receiver alone would have given it). A visible row is returned with its *visible* sources
//!    only ([`View::redact_sources`]): the names of the others would reveal that a restricted
//!    sensor covers that place.
//! 3. **Identity fields** (name, call sign, IMO, ship type, dimensions, destination, draught,
//!    ship-type text; the flag follows from the MMSI, which any visible row shows): a value is
//!    visible when a message carrying it came from a visible source. The registry's current
//!    value is one vessel-wide answer; a principal gets the newest value that one of its
//!    visible sources reported ([`View::identity`]), or none. This needs the sources of each
//!    identity value, which the registry records per (MMSI, field, value, source) with first
//!    and last time seen (`store::IdentitySourceRow`).
//!    A vessel's identity history shows the changes whose new value is visible, each old
//!    value rewritten to the previous visible one ([`View::redact_history`]).
//! 4. **Vessel lists and details.** The registry's vessel row is vessel-wide (its latest
//!    position may come from a restricted sensor, its first and last seen times and report
//!    count from all sources), so it is never served as is. A vessel is listed for a principal
//!    when a visible source reported a position of it; its state is the newest per-source
//!    summary of a visible source ([`View::newest_visible`] over the registry's
//!    `vessel_sources`: latest position, speed, course, heading, status, first and last time),
//!    its identity fields per rule 3. A vessel only restricted sources heard is not listed.
//! 5. **Derived data (events).** An event is visible only when *every* vessel in it is visible
//!    to the principal over the event's span: each vessel has at least one stored position in
//!    [`EventRule::window`] and every stored position of it in that window is visible
//!    ([`View::event_visible`]; on a stored event's JSON, [`View::redact_event`]). Otherwise
//!    the whole event is hidden. Why not redact: an
//!    encounter of a visible vessel with "a redacted vessel" still tells that a restricted track
//!    was there, at that time; a loitering event built partly from a restricted radar's
//!    positions exists because of them. No per-field redaction of an event is sound in
//!    general; the sound alternative is to recompute detection from the principal's visible
//!    rows only, which costs a detection run per partner. Statistics are likewise counted
//!    from visible rows only.
//!
//!    What a visible event carries is filtered too: its `sources` like a row's
//!    ([`View::redact_sources`]); each vessel's identity at the start (name, call sign, IMO,
//!    ship type) kept only where [`View::value_visible`] (a visible source reported that
//!    value), else null; and an event *about* identity (`identity_change`, whose details name
//!    old and new values, and `watchlist`, which matched on a value) is hidden unless every
//!    value it names is visible, since the event itself would tell the value.
//!
//! Positions before the event may have shaped it (pairwise detectors work on positions
//! resampled every 10 minutes and interpolate between reports), so the window starts
//! [`EventRule::lead_ms`] (default 10 minutes) before the event's start. An open event runs to
//! the newest position. Events with no stored position of a vessel in the window are hidden
//! (conservative: an identity change with no position within the lead before it is hidden).

use crate::label::{Name, Releasability, SourceLabels};
use std::collections::BTreeSet;

/// What a principal is: a person or another partner's system (a server pulling the picture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A person.
    User,
    /// A partner's system (a linked server, an export job).
    System,
    /// Monitoring (a Prometheus scraper): reads `/metrics` and `/api/health` only, and no
    /// data. The metrics count every source, so under labels that no one principal may see
    /// all of (the default `WITHHELD`, several partners' `ONLY` feeds) only a monitor reads
    /// them.
    Monitor,
}

impl PrincipalKind {
    /// `user` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::System => "system",
            PrincipalKind::Monitor => "monitor",
        }
    }

    /// Parses `user`, `system` or `monitor`.
    pub fn parse(s: &str) -> Option<PrincipalKind> {
        match s {
            "user" => Some(PrincipalKind::User),
            "system" => Some(PrincipalKind::System),
            "monitor" => Some(PrincipalKind::Monitor),
            _ => None,
        }
    }
}

/// Who is asking: a user or partner system of one partner, with its releasability groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The principal's id in `access.sqlite`.
    pub id: i64,
    /// Unique name (`analyst-7`, `ind-link`).
    pub name: String,
    /// The partner it belongs to.
    pub partner: Name,
    /// Groups it belongs to (`FVEY`).
    pub groups: BTreeSet<Name>,
    /// User or system.
    pub kind: PrincipalKind,
}

impl Principal {
    /// Whether `label` releases data to this principal.
    pub fn may_see(&self, label: &Releasability) -> bool {
        match label {
            Releasability::Public => true,
            Releasability::Withheld => false,
            Releasability::Restricted { owner, to } => {
                *owner == self.partner
                    || to.contains(&self.partner)
                    || self.groups.iter().any(|g| to.contains(g))
            }
        }
    }

    /// Whether this principal may see `source` (a provenance label) under `labels`.
    pub fn may_see_source(&self, labels: &SourceLabels, source: &str) -> bool {
        self.may_see(labels.label_of(source))
    }
}

/// One principal's view through one snapshot of the labels: what every read path asks.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Who is asking.
    pub principal: &'a Principal,
    /// The labels in force.
    pub labels: &'a SourceLabels,
}

/// A position as the visibility rules see it: vessel, time and its sources (late sources from
/// the registry included, as `query::Reader::track` merges them).
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    /// MMSI.
    pub mmsi: u32,
    /// Message time, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Source labels.
    pub sources: &'a [String],
}

/// One identity value of a vessel field and where it was heard.
#[derive(Debug, Clone, Copy)]
pub struct IdentityClaim<'a> {
    /// The value as the registry stores it.
    pub value: &'a str,
    /// A source that reported it.
    pub source: &'a str,
    /// When that source last reported it, ms since the Unix epoch (UTC).
    pub last_ms: i64,
}

/// An event's vessels and time span.
#[derive(Debug, Clone, Copy)]
pub struct EventSpan<'a> {
    /// The vessels in it.
    pub mmsis: &'a [u32],
    /// Start, ms since the Unix epoch (UTC).
    pub start_ms: i64,
    /// End; `None` while the event is open.
    pub end_ms: Option<i64>,
}

/// How far around an event its vessels must be visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRule {
    /// The window starts this long before the event (positions that may have shaped it).
    /// Default 600,000 ms: the detection engine's resampling step, over which pairwise
    /// detectors interpolate.
    pub lead_ms: i64,
}

impl Default for EventRule {
    fn default() -> Self {
        EventRule { lead_ms: 600_000 }
    }
}

impl EventRule {
    /// The closed time window `[from, to]` whose positions decide the event's visibility.
    pub fn window(&self, span: &EventSpan<'_>) -> (i64, i64) {
        (
            span.start_ms.saturating_sub(self.lead_ms),
            span.end_ms.unwrap_or(i64::MAX),
        )
    }
}

impl<'a> View<'a> {
    /// A view of `principal` through `labels`.
    pub fn new(principal: &'a Principal, labels: &'a SourceLabels) -> View<'a> {
        View { principal, labels }
    }

    /// Rule 1: whether the principal may see a source.
    pub fn may_see_source(&self, source: &str) -> bool {
        self.principal.may_see_source(self.labels, source)
    }

    /// Rule 2: whether a position with these sources is visible (any visible source).
    pub fn row_visible<S: AsRef<str>>(&self, sources: &[S]) -> bool {
        sources.iter().any(|s| self.may_see_source(s.as_ref()))
    }

    /// Rule 2 for a row about to be returned: keeps its visible sources only; returns whether
    /// any remain (false: withhold the row).
    pub fn redact_sources(&self, sources: &mut Vec<String>) -> bool {
        sources.retain(|s| self.may_see_source(s));
        !sources.is_empty()
    }

    /// Rule 3: the newest identity value (by the time its source last reported it) that a
    /// visible source reported; `None` when no visible source reported any. Ties go to the
    /// smaller value, so the answer does not depend on the claims' order.
    pub fn identity<'c>(&self, claims: &[IdentityClaim<'c>]) -> Option<&'c str> {
        claims
            .iter()
            .filter(|c| self.may_see_source(c.source))
            .max_by(|a, b| a.last_ms.cmp(&b.last_ms).then(b.value.cmp(a.value)))
            .map(|c| c.value)
    }

    /// Rule 3 for one value (an event's vessel identity, an identity change's old and new
    /// values): whether a visible source reported exactly `value` among `claims` (the claims
    /// of one vessel's field).
    pub fn value_visible(&self, claims: &[IdentityClaim<'_>], value: &str) -> bool {
        claims
            .iter()
            .any(|c| c.value == value && self.may_see_source(c.source))
    }

    /// Rule 4: the newest of `items` (by `time_ms`) whose source is visible; ties go to the
    /// first. For vessel state from per-source summaries.
    pub fn newest_visible<'i, T>(
        &self,
        items: &'i [T],
        source: impl Fn(&T) -> &str,
        time_ms: impl Fn(&T) -> i64,
    ) -> Option<&'i T> {
        let mut best: Option<&T> = None;
        for it in items {
            if self.may_see_source(source(it)) && best.is_none_or(|b| time_ms(it) > time_ms(b)) {
                best = Some(it);
            }
        }
        best
    }

    /// Rule 5: whether an event is visible. `rows` must be *every* stored position of the
    /// event's vessels in `rule.window(span)` (more rows are ignored; missing rows can only
    /// make a hidden event visible, so the caller must not pre-filter them).
    pub fn event_visible(
        &self,
        span: &EventSpan<'_>,
        rule: &EventRule,
        rows: &[RowRef<'_>],
    ) -> bool {
        let (from, to) = rule.window(span);
        if span.mmsis.is_empty() {
            return false;
        }
        span.mmsis.iter().all(|&m| {
            let mut any = false;
            for r in rows {
                if r.mmsi != m || r.time_ms < from || r.time_ms > to {
                    continue;
                }
                if !self.row_visible(r.sources) {
                    return false;
                }
                any = true;
            }
            any
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(partner: &str, groups: &[&str]) -> Principal {
        Principal {
            id: 1,
            name: "p".into(),
            partner: Name::parse(partner).unwrap(),
            groups: groups.iter().map(|g| Name::parse(g).unwrap()).collect(),
            kind: PrincipalKind::User,
        }
    }

    fn labels() -> SourceLabels {
        let mut l = SourceLabels::default();
        l.set("pub", Releasability::parse("PUBLIC").unwrap())
            .unwrap();
        l.set("radar", Releasability::parse("REL TO IND, USA").unwrap())
            .unwrap();
        l.set("sat", Releasability::parse("USA ONLY").unwrap())
            .unwrap();
        l.set("five", Releasability::parse("REL TO GBR, FVEY").unwrap())
            .unwrap();
        l
    }

    #[test]
    fn owners_listed_partners_and_groups_see_a_source_others_do_not() {
        let l = labels();
        let ind = principal("IND", &[]);
        let usa = principal("USA", &["FVEY"]);
        let fra = principal("FRA", &[]);
        assert!(ind.may_see_source(&l, "radar/r1/RA"));
        assert!(usa.may_see_source(&l, "radar/r1/RA"));
        assert!(!fra.may_see_source(&l, "radar/r1/RA"));
        assert!(!ind.may_see_source(&l, "sat/AI"));
        assert!(usa.may_see_source(&l, "sat/AI"));
        assert!(usa.may_see_source(&l, "five/x"), "through the group");
        assert!(!ind.may_see_source(&l, "five/x"));
        assert!(fra.may_see_source(&l, "pub/AI"));
        assert!(!usa.may_see_source(&l, "unlabelled/AI"), "default WITHHELD");
    }

    #[test]
    fn a_row_is_visible_through_any_visible_source_and_returned_with_those_only() {
        let l = labels();
        let fra = principal("FRA", &[]);
        let v = View::new(&fra, &l);
        let mut both = vec!["radar/r1/RA".to_owned(), "pub/s/AI".to_owned()];
        assert!(v.row_visible(&both));
        assert!(v.redact_sources(&mut both));
        assert_eq!(both, ["pub/s/AI"]);
        let mut radar = vec!["radar/r1/RA".to_owned()];
        assert!(!v.row_visible(&radar));
        assert!(!v.redact_sources(&mut radar));
        assert!(
            !v.row_visible::<String>(&[]),
            "a row without sources is nobody's"
        );
    }

    #[test]
    fn identity_is_the_newest_value_a_visible_source_reported() {
        let l = labels();
        let fra = principal("FRA", &[]);
        let ind = principal("IND", &[]);
        let claims = [
            IdentityClaim {
                value: "OLD NAME",
                source: "pub/AI",
                last_ms: 10,
            },
            IdentityClaim {
                value: "NEW NAME",
                source: "radar/AI",
                last_ms: 20,
            },
            IdentityClaim {
                value: "SECRET",
                source: "sat/AI",
                last_ms: 30,
            },
        ];
        assert_eq!(View::new(&fra, &l).identity(&claims), Some("OLD NAME"));
        assert_eq!(View::new(&ind, &l).identity(&claims), Some("NEW NAME"));
        assert_eq!(View::new(&fra, &l).identity(&claims[1..]), None);
    }

    #[test]
    fn an_event_is_hidden_when_any_vessel_is_not_visible_over_its_window() {
        let l = labels();
        let fra = principal("FRA", &[]);
        let ind = principal("IND", &[]);
        let pubs = vec!["pub/AI".to_owned()];
        let radar = vec!["radar/AI".to_owned()];
        let rule = EventRule::default();
        let span = EventSpan {
            mmsis: &[1, 2],
            start_ms: 1_000_000,
            end_ms: Some(2_000_000),
        };
        let rows = [
            RowRef {
                mmsi: 1,
                time_ms: 1_000_000,
                sources: &pubs,
            },
            RowRef {
                mmsi: 2,
                time_ms: 1_500_000,
                sources: &pubs,
            },
            RowRef {
                mmsi: 2,
                time_ms: 1_600_000,
                sources: &radar,
            },
        ];
        // Vessel 2 is seen by the radar inside the span: FRA may not see the encounter.
        assert!(!View::new(&fra, &l).event_visible(&span, &rule, &rows));
        assert!(View::new(&ind, &l).event_visible(&span, &rule, &rows));
        // Only public rows: FRA sees it.
        assert!(View::new(&fra, &l).event_visible(&span, &rule, &rows[..2]));
        // A vessel with no position in the window: hidden.
        assert!(!View::new(&fra, &l).event_visible(&span, &rule, &rows[..1]));
        // A restricted position in the lead before the start counts; one before it does not.
        let before = [
            RowRef {
                mmsi: 1,
                time_ms: 1_000_000 - 600_000,
                sources: &radar,
            },
            RowRef {
                mmsi: 2,
                time_ms: 1_000_000 - 600_001,
                sources: &radar,
            },
        ];
        let mut rs = rows[..2].to_vec();
        rs.push(before[1]);
        assert!(View::new(&fra, &l).event_visible(&span, &rule, &rs));
        rs.push(before[0]);
        assert!(!View::new(&fra, &l).event_visible(&span, &rule, &rs));
        // An open event runs to the newest position.
        let open = EventSpan {
            end_ms: None,
            ..span
        };
        let late = [RowRef {
            mmsi: 1,
            time_ms: i64::MAX - 1,
            sources: &radar,
        }];
        let mut rs = rows[..2].to_vec();
        rs.extend_from_slice(&late);
        assert!(!View::new(&fra, &l).event_visible(&open, &rule, &rs));
        let none = EventSpan { mmsis: &[], ..span };
        assert!(!View::new(&ind, &l).event_visible(&none, &rule, &rows));
    }
}
