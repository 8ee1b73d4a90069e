//! What a restricted principal is given (issue 21): every read path's answer built through
//! `access::View` from per-source data, never from the vessel-wide state.
//!
//! - A vessel is listed when a visible source reported a position of it: in the live picture
//!   (its per-source states) or in the registry (`vessel_sources`); its position is the newest
//!   of those, its first and last times theirs, its identity fields the newest value a visible
//!   source reported (`identity_sources` and the live per-source claims).
//! - Track points: stored rows with a visible source (late sources included), live points
//!   whose source is visible.
//! - Events: `View::event_visible` over every stored and live position of its vessels in its
//!   window; a visible event's `sources` are redacted and its vessels' identity kept only
//!   where a visible source reported that value. `identity_change` and `watchlist` events,
//!   which name identity values in their details, are hidden from restricted principals.
//! - The stream: per client, positions of visible sources (with the identity that source
//!   reported), events and alerts decided as above.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use access::{EventRule, EventSpan, IdentityClaim, RowRef, View};
use serde_json::{json, Map, Value};
use store::{EventRow, IdentitySourceRow, PositionRow, RegistryDb, VesselSourceRow};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::picture::{event_properties, Fix, LiveVessel, Picture};
use crate::stream::{Filter, Kind, Update};

/// The registry of a store, read-only; `None` when there is none yet.
pub(crate) fn registry(dir: &Path) -> Result<Option<RegistryDb>, ApiError> {
    let p = dir.join("registry.sqlite");
    if !p.is_file() {
        return Ok(None);
    }
    RegistryDb::open_read_only(&p)
        .map(Some)
        .map_err(ApiError::internal)
}

/// One identity claim, owned.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    field: String,
    value: String,
    source: String,
    last_ms: i64,
}

/// Every claim of a vessel: the registry's and the live picture's.
pub(crate) fn claims_of(
    reg: Option<&RegistryDb>,
    mmsi: u32,
    live: Option<&LiveVessel>,
) -> Result<Vec<Claim>, ApiError> {
    let mut out: Vec<Claim> = match reg {
        Some(r) => r
            .identity_sources(mmsi)
            .map_err(ApiError::internal)?
            .into_iter()
            .map(|c: IdentitySourceRow| Claim {
                field: c.field,
                value: c.value,
                source: c.source,
                last_ms: c.last_ms,
            })
            .collect(),
        None => Vec::new(),
    };
    if let Some(v) = live {
        for s in &v.by_source {
            for (f, val, t) in &s.claims {
                out.push(Claim {
                    field: (*f).to_owned(),
                    value: val.clone(),
                    source: s.source.to_string(),
                    last_ms: *t,
                });
            }
        }
    }
    Ok(out)
}

fn field_claims<'c>(claims: &'c [Claim], field: &str) -> Vec<IdentityClaim<'c>> {
    claims
        .iter()
        .filter(|c| c.field == field)
        .map(|c| IdentityClaim {
            value: &c.value,
            source: &c.source,
            last_ms: c.last_ms,
        })
        .collect()
}

/// The newest visible value of a field.
fn ident(view: &View<'_>, claims: &[Claim], field: &str) -> Option<String> {
    view.identity(&field_claims(claims, field))
        .map(str::to_owned)
}

/// Whether a visible source reported `value` for `field`.
pub(crate) fn value_visible(view: &View<'_>, claims: &[Claim], field: &str, value: &str) -> bool {
    view.value_visible(&field_claims(claims, field), value)
}

/// A vessel as `view` sees it, from the live vessel (its per-source states), the registry's
/// per-source summaries and the identity claims; `None` when no visible source reported a
/// position of it.
pub(crate) fn visible_vessel(
    view: &View<'_>,
    mmsi: u32,
    live: Option<&LiveVessel>,
    stored: &[VesselSourceRow],
    claims: &[Claim],
    class: Option<char>,
) -> Option<LiveVessel> {
    // (source, fix, first, last)
    let mut cands: Vec<(&str, Fix, i64, i64)> = Vec::new();
    if let Some(v) = live {
        for s in &v.by_source {
            if let Some(f) = s.fix {
                cands.push((&*s.source, f, s.first_ms, s.last_ms));
            }
        }
    }
    for r in stored {
        cands.push((
            r.source.as_str(),
            Fix {
                time_ms: r.last_ms,
                lat: r.lat,
                lon: r.lon,
                sog_knots: r.sog_knots,
                cog_deg: r.cog_deg,
                heading_deg: r.heading_deg.map(f32::from),
                nav_status: r.nav_status,
            },
            r.first_ms,
            r.last_ms,
        ));
    }
    let newest = view.newest_visible(&cands, |c| c.0, |c| c.1.time_ms)?;
    let visible: Vec<_> = cands.iter().filter(|c| view.may_see_source(c.0)).collect();
    let first = visible.iter().map(|c| c.2).min();
    let last = visible.iter().map(|c| c.3).max();
    let dims = ident(view, claims, "dimensions").and_then(|d| {
        let (l, b) = d.split_once('x')?;
        Some((l.parse::<f32>().ok()?, b.parse::<f32>().ok()?))
    });
    Some(LiveVessel {
        mmsi,
        class: live.and_then(|v| v.class).or(class),
        flag: ais::Mmsi(mmsi).flag().map(|f| f.iso2.to_owned()),
        name: ident(view, claims, "name"),
        callsign: ident(view, claims, "callsign"),
        imo: ident(view, claims, "imo").and_then(|v| v.parse().ok()),
        ship_type: ident(view, claims, "ship_type").and_then(|v| v.parse().ok()),
        length_m: dims.map(|d| d.0),
        beam_m: dims.map(|d| d.1),
        destination: ident(view, claims, "destination"),
        position: Some(newest.1),
        first_seen_ms: first,
        last_seen_ms: last,
        ..LiveVessel::default()
    })
}

/// The draught a view sees.
pub(crate) fn draught(view: &View<'_>, claims: &[Claim]) -> Option<f32> {
    ident(view, claims, "draught").and_then(|v| v.parse().ok())
}

/// The ship type a view sees.
pub(crate) fn visible_ship_type(view: &View<'_>, claims: &[Claim]) -> Option<u8> {
    ident(view, claims, "ship_type").and_then(|v| v.parse().ok())
}

/// The past picture `view` sees at `at_ms`: per vessel the newest visible stored position in
/// `[at_ms - max_age_ms, at_ms]` (bbox-pruned candidates from the store's picture), with the
/// identity it sees now. Returns the vessels and how many had positions it may not see.
pub(crate) fn visible_vessels_at(
    view: &View<'_>,
    picture: &Picture,
    dir: &Path,
    at_ms: i64,
    max_age_ms: i64,
    bbox: Option<query::BBox>,
) -> Result<(Vec<LiveVessel>, usize), ApiError> {
    let _ = picture;
    let reader = query::Reader::open(dir)?;
    let reg = registry(dir)?;
    let candidates = reader.vessels(&query::VesselFilter {
        at_ms: Some(at_ms),
        max_age_ms,
        ..query::VesselFilter::default()
    })?;
    let mut out = Vec::new();
    let mut withheld = 0;
    for c in candidates {
        let m = c.row.mmsi;
        let rows = rows_of(
            Some(&reader),
            m,
            at_ms - max_age_ms,
            at_ms.saturating_add(1),
        )?;
        let Some(r) = rows
            .iter()
            .filter(|r| r.segment.is_some() && view.row_visible(&r.sources))
            .max_by_key(|r| r.time_ms)
        else {
            withheld += 1;
            continue;
        };
        if bbox.is_some_and(|b| !b.contains(r.lon, r.lat)) {
            continue;
        }
        let claims = claims_of(reg.as_ref(), m, None)?;
        let stored = [VesselSourceRow {
            mmsi: m,
            source: r
                .sources
                .iter()
                .find(|s| view.may_see_source(s))
                .cloned()
                .unwrap_or_default(),
            first_ms: r.time_ms,
            last_ms: r.time_ms,
            positions: 1,
            lat: r.lat,
            lon: r.lon,
            sog_knots: r.sog_knots,
            cog_deg: r.cog_deg,
            heading_deg: r.heading_deg,
            nav_status: r.nav_status,
        }];
        let class = c.row.class.as_deref().and_then(|x| x.chars().next());
        match visible_vessel(view, m, None, &stored, &claims, class) {
            Some(v) => out.push(v),
            None => withheld += 1,
        }
    }
    Ok((out, withheld))
}

/// Every vessel `view` sees (live picture and registry), by MMSI, and how many it does not.
///
/// The count of withheld vessels is of those `asked` takes as the full picture has them (what
/// the request's filters would have answered had the caller seen everything), for the audit.
pub(crate) fn visible_vessels(
    view: &View<'_>,
    picture: &Picture,
    dir: &Path,
    asked: impl Fn(&LiveVessel) -> bool,
) -> Result<(Vec<LiveVessel>, usize), ApiError> {
    let reg = registry(dir)?;
    let mut stored: HashMap<u32, Vec<VesselSourceRow>> = HashMap::new();
    let mut classes: HashMap<u32, Option<char>> = HashMap::new();
    if let Some(r) = &reg {
        for row in r.vessel_sources(None).map_err(ApiError::internal)? {
            stored.entry(row.mmsi).or_default().push(row);
        }
        for v in r.vessels(None).map_err(ApiError::internal)? {
            classes.insert(v.mmsi, v.class.as_deref().and_then(|c| c.chars().next()));
        }
    }
    let live: HashMap<u32, LiveVessel> = picture
        .vessels_where(usize::MAX, |_| true)
        .into_iter()
        .map(|v| (v.mmsi, v))
        .collect();
    let mmsis: BTreeSet<u32> = live
        .keys()
        .chain(stored.keys())
        .chain(classes.keys())
        .copied()
        .collect();
    let mut out = Vec::new();
    let mut withheld = 0;
    for m in mmsis {
        let l = live.get(&m);
        let st = stored.get(&m).map_or(&[][..], Vec::as_slice);
        // Identity claims are read only for a vessel with a visible position source.
        let any = l.is_some_and(|v| {
            v.by_source
                .iter()
                .any(|s| s.fix.is_some() && view.may_see_source(&s.source))
        }) || st.iter().any(|r| view.may_see_source(&r.source));
        let was_asked = || l.is_some_and(&asked);
        if !any {
            withheld += usize::from(was_asked());
            continue;
        }
        let claims = claims_of(reg.as_ref(), m, l)?;
        match visible_vessel(view, m, l, st, &claims, classes.get(&m).copied().flatten()) {
            Some(v) => out.push(v),
            None => withheld += usize::from(was_asked()),
        }
    }
    Ok((out, withheld))
}

/// Stored rows of `mmsi` in `[from, to)`, late sources merged (empty for an unknown MMSI).
fn rows_of(
    reader: Option<&query::Reader>,
    mmsi: u32,
    from: i64,
    to: i64,
) -> Result<Vec<PositionRow>, ApiError> {
    let Some(r) = reader else {
        return Ok(Vec::new());
    };
    if to <= from {
        return Ok(Vec::new());
    }
    match r.track(&query::TrackRequest {
        mmsi,
        range: query::TimeRange::new(Some(from), Some(to))?,
        bbox: None,
    }) {
        Ok(rows) => Ok(rows),
        Err(query::QueryError::UnknownMmsi { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Which of `events` `view` may see (same order), from every stored and live position of
/// their vessels in their windows; `now_ms` ends open events' windows.
pub(crate) fn events_visible(
    view: &View<'_>,
    picture: &Picture,
    dir: &Path,
    events: &[EventRow],
    now_ms: i64,
) -> Result<Vec<bool>, ApiError> {
    let rule = EventRule::default();
    let reader = match query::Reader::open(dir) {
        Ok(r) => Some(r),
        Err(query::QueryError::NotAStore { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    // Per vessel, one read over the union of its events' windows.
    let mut span: HashMap<u32, (i64, i64)> = HashMap::new();
    for e in events {
        let (from, to) = rule.window(&EventSpan {
            mmsis: &e.mmsis,
            start_ms: e.start_ms,
            end_ms: e.end_ms,
        });
        let to = to.min(now_ms.max(e.start_ms)).saturating_add(1);
        for &m in &e.mmsis {
            let s = span.entry(m).or_insert((from, to));
            s.0 = s.0.min(from);
            s.1 = s.1.max(to);
        }
    }
    let mut rows: Vec<(u32, i64, Vec<String>)> = Vec::new();
    for (&m, &(from, to)) in &span {
        for r in rows_of(reader.as_ref(), m, from, to)? {
            rows.push((m, r.time_ms, r.sources));
        }
        if let Some(v) = picture.vessel(m) {
            for (f, s) in v.recent.iter().zip(&v.recent_sources) {
                rows.push((m, f.time_ms, vec![s.to_string()]));
            }
        }
    }
    let refs: Vec<RowRef<'_>> = rows
        .iter()
        .map(|(m, t, s)| RowRef {
            mmsi: *m,
            time_ms: *t,
            sources: s,
        })
        .collect();
    Ok(events
        .iter()
        .map(|e| {
            // An event about no vessel (a satellite radar's dark vessel) is seen through its
            // own sources: every one must be released to the caller.
            if e.mmsis.is_empty() {
                let json: Value = serde_json::from_str(&e.json).unwrap_or(Value::Null);
                let sources = json["sources"].as_array().map(Vec::as_slice).unwrap_or(&[]);
                return !sources.is_empty()
                    && sources
                        .iter()
                        .all(|s| s.as_str().is_some_and(|s| view.may_see_source(s)));
            }
            !matches!(e.kind.as_str(), "identity_change" | "watchlist")
                && view.event_visible(
                    &EventSpan {
                        mmsis: &e.mmsis,
                        start_ms: e.start_ms,
                        end_ms: e.end_ms,
                    },
                    &rule,
                    &refs,
                )
        })
        .collect())
}

/// A visible event's properties as `view` may see them: `detail.sources` redacted, each
/// vessel's name, IMO and ship type kept only where a visible source reported that value.
pub(crate) fn redact_event(
    view: &View<'_>,
    props: &mut Map<String, Value>,
    claims: &HashMap<u32, Vec<Claim>>,
) {
    let Some(Value::Object(d)) = props.get_mut("detail") else {
        return;
    };
    if let Some(Value::Array(src)) = d.get_mut("sources") {
        src.retain(|s| s.as_str().is_some_and(|s| view.may_see_source(s)));
    }
    if let Some(Value::Array(vs)) = d.get_mut("vessels") {
        for v in vs.iter_mut().filter_map(Value::as_object_mut) {
            let m = v.get("mmsi").and_then(Value::as_u64).unwrap_or(0) as u32;
            let empty = Vec::new();
            let c = claims.get(&m).unwrap_or(&empty);
            for (key, field) in [("name", "name"), ("imo", "imo"), ("ship_type", "ship_type")] {
                let keep = match v.get(key) {
                    None | Some(Value::Null) => true,
                    Some(Value::String(s)) => value_visible(view, c, field, s),
                    Some(x) => value_visible(view, c, field, &x.to_string()),
                };
                if !keep {
                    v.insert(key.to_owned(), Value::Null);
                }
            }
        }
    }
}

/// The claims of every vessel of `events`.
pub(crate) fn claims_for_events(
    picture: &Picture,
    dir: &Path,
    events: &[&EventRow],
) -> Result<HashMap<u32, Vec<Claim>>, ApiError> {
    let reg = registry(dir)?;
    let mut out = HashMap::new();
    for e in events {
        for &m in &e.mmsis {
            if let std::collections::hash_map::Entry::Vacant(v) = out.entry(m) {
                v.insert(claims_of(reg.as_ref(), m, picture.vessel(m).as_ref())?);
            }
        }
    }
    Ok(out)
}

/// One stream client's view: filters and rewrites each batch (see the module docs).
pub struct StreamView {
    caller: Caller,
    picture: Arc<Picture>,
    dir: std::path::PathBuf,
    /// Per vessel, the time of the last position sent (a client never sees one go back).
    last_sent: Mutex<HashMap<u32, i64>>,
    /// Updates sent and withheld (for the closing audit entry).
    pub(crate) sent: AtomicU64,
    pub(crate) withheld: AtomicU64,
    /// A partner link's stream (`/api/link/stream`): positions only, each with its source and
    /// that source's label.
    link: bool,
    /// The labels in force, asked again for every batch: a stream lasts, and a source's
    /// label may narrow meanwhile (`tidewatch source label`, a partner link relabelling what
    /// its originator narrowed); the caller's labels are those of the moment it connected.
    gate: Arc<crate::auth::Gate>,
}

impl std::fmt::Debug for StreamView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamView").finish_non_exhaustive()
    }
}

impl StreamView {
    pub(crate) fn new(
        caller: Caller,
        gate: Arc<crate::auth::Gate>,
        picture: Arc<Picture>,
        dir: &Path,
    ) -> StreamView {
        StreamView {
            caller,
            picture,
            dir: dir.to_owned(),
            last_sent: Mutex::new(HashMap::new()),
            sent: AtomicU64::new(0),
            withheld: AtomicU64::new(0),
            link: false,
            gate,
        }
    }

    /// A partner link's view: every position of a source the caller may see (all in open
    /// mode), as `{"source", "label", "position"}`; no events.
    pub(crate) fn link(
        caller: Caller,
        gate: Arc<crate::auth::Gate>,
        picture: Arc<Picture>,
        dir: &Path,
    ) -> StreamView {
        StreamView {
            link: true,
            ..StreamView::new(caller, gate, picture, dir)
        }
    }

    /// The caller under the labels in force now.
    fn caller_now(&self) -> Caller {
        let labels = self.gate.labels();
        match &self.caller.principal {
            Some(p) => Caller {
                restricted: !crate::auth::sees_all(p, &labels),
                principal: Some(p.clone()),
                labels,
            },
            None => Caller {
                labels,
                ..self.caller.clone()
            },
        }
    }

    fn link_filter(&self, batch: &[Update]) -> Vec<Update> {
        let caller = self.caller_now();
        let labels = &caller.labels;
        let view = caller.view();
        let mut out = Vec::new();
        for u in batch {
            let Some((src, frame)) = u.source.as_ref().filter(|_| u.kind == Kind::Position) else {
                continue;
            };
            if view.as_ref().is_some_and(|v| !v.may_see_source(src)) {
                self.withheld.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // The source's frame is `event: position\ndata: {json}\n\n`.
            let text = std::str::from_utf8(frame).unwrap_or("");
            let Some(data) = text
                .strip_prefix("event: position\ndata: ")
                .map(|d| d.trim_end_matches('\n'))
            else {
                continue;
            };
            let head =
                json!({"source": &**src, "label": labels.label_of(src).to_string()}).to_string();
            let mut c = u.clone();
            c.frame = axum::body::Bytes::from(format!(
                "event: position\ndata: {},\"position\":{data}}}\n\n",
                &head[..head.len() - 1]
            ));
            c.newest = true;
            c.source = None;
            out.push(c);
        }
        self.sent.fetch_add(out.len() as u64, Ordering::Relaxed);
        out
    }

    /// The part of `batch` this client may see, rewritten to what it may see of it.
    pub(crate) async fn filter(&self, batch: &[Update], filter: &Filter) -> Vec<Update> {
        if self.link {
            return self.link_filter(batch);
        }
        let caller = self.caller_now();
        let Some(view) = caller.view() else {
            return batch.to_vec();
        };
        let mut out = Vec::new();
        let mut events: Vec<&Update> = Vec::new();
        {
            let mut last = self.last_sent.lock().unwrap_or_else(|e| e.into_inner());
            for u in batch {
                match u.kind {
                    Kind::Position if !filter.in_box(u) => {}
                    Kind::Position => match &u.source {
                        Some((src, frame)) if view.may_see_source(src) => {
                            let t = last.entry(u.mmsi).or_insert(i64::MIN);
                            let time = position_time(frame);
                            if time >= *t {
                                *t = time;
                                let mut c = u.clone();
                                c.frame = frame.clone();
                                c.newest = true;
                                c.source = None;
                                out.push(c);
                            }
                        }
                        _ => {
                            self.withheld.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    // What the client did not ask for is not withheld from it.
                    Kind::Event | Kind::Alert if !filter.takes(u) => {}
                    Kind::Event | Kind::Alert => {
                        if u.row.is_some() {
                            events.push(u);
                        } else {
                            self.withheld.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        if !events.is_empty() {
            let rows: Vec<EventRow> = events
                .iter()
                .filter_map(|u| u.row.as_deref().cloned())
                .collect();
            let caller = caller.clone();
            let picture = self.picture.clone();
            let dir = self.dir.clone();
            let now = picture
                .data_time_ms()
                .unwrap_or_else(crate::picture::wall_ms);
            let decided = tokio::task::spawn_blocking(move || {
                let Some(view) = caller.view() else {
                    return Ok(Vec::new());
                };
                let vis = events_visible(&view, &picture, &dir, &rows, now)?;
                let shown: Vec<&EventRow> = rows
                    .iter()
                    .zip(&vis)
                    .filter(|(_, v)| **v)
                    .map(|(r, _)| r)
                    .collect();
                let claims = claims_for_events(&picture, &dir, &shown)?;
                Ok::<_, ApiError>(
                    rows.iter()
                        .zip(vis)
                        .map(|(r, v)| {
                            v.then(|| {
                                let (mut props, at) = event_properties(r);
                                redact_event(&view, &mut props, &claims);
                                if let Some((lat, lon)) = at {
                                    props.insert("lat".to_owned(), json!(lat));
                                    props.insert("lon".to_owned(), json!(lon));
                                }
                                props
                            })
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .await;
            let decided = match decided {
                Ok(Ok(d)) => d,
                // Undecidable (the store unreadable): withheld.
                _ => Vec::new(),
            };
            for (i, u) in events.iter().enumerate() {
                match decided.get(i).cloned().flatten() {
                    Some(props) => {
                        let c = match (u.kind, &u.alert) {
                            (Kind::Alert, Some(alert)) => {
                                let mut data = (**alert).clone();
                                data.insert("event".to_owned(), Value::Object(props));
                                u.with_frame("alert", &Value::Object(data))
                            }
                            _ => u.with_frame("event", &Value::Object(props)),
                        };
                        out.push(c);
                    }
                    None => {
                        self.withheld.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        self.sent.fetch_add(out.len() as u64, Ordering::Relaxed);
        out
    }
}

/// The `time` of a position frame, ms (the frames are ours: `"time":"<ISO>"`).
fn position_time(frame: &[u8]) -> i64 {
    let s = std::str::from_utf8(frame).unwrap_or("");
    s.find("\"time\":\"")
        .and_then(|i| s.get(i + 8..i + 8 + 24))
        .and_then(|t| query::parse_time_at(t, 0).ok())
        .unwrap_or(i64::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_frames_time_is_read_back() {
        let u = Update::position(
            1,
            0.0,
            0.0,
            &json!({"mmsi": 1, "time": query::iso8601_ms(1_768_435_200_123)}),
        );
        assert_eq!(position_time(&u.frame), 1_768_435_200_123);
    }
}
