//! The upstream side of a link between partners' servers (issue 21, item 4; the downstream
//! side is `tidewatch serve`'s `[[source]] link = ...`, see `docs/sharing.md`):
//! `GET /api/link/positions?cursor=&since=&limit=` gives a *system* principal the stored
//! positions released to it, each with its visible sources and each source's releasability
//! label, and the identity claims of the page's vessels that visible sources made, so that the
//! downstream server keeps the originator's label on every row and every name it takes in.
//! Users get 403: the rows carry the labels, which are the operator's business, not an
//! analyst's. In open mode every row is served.
//!
//! Pages follow the store's commit order, not message time: the cursor is `PART:ROW` (the
//! store file's part number, increasing as files are committed, and the row within it), so a
//! late report committed after the link read past its message time is still delivered. Only
//! committed history is served (what `query` reads). A compaction rewrites old rows into new
//! parts, which the link delivers again; the downstream's fusion keeps one row per
//! transmission. `since` (a time) leaves out rows older than it: a new link's backfill bound.
//! `sources` (a JSON array of source names) and `until` (a cursor) ask for the rows those
//! sources heard before `until`, each with those sources alone: the downstream's backfill of
//! sources released to it after it had read past their rows.
//!
//! `GET /api/link/events` serves what a partner cannot derive from the positions: the stored
//! dark vessels released to the link, the whole set each time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use std::collections::BTreeSet;

use crate::auth::{audited, Caller};
use crate::error::ApiError;
use crate::AppState;

/// `GET /api/link/stream`: the live side of a link (system principals only): Server-Sent
/// Events `position`, data `{"source", "label", "position": {...}}`, for every position the
/// live picture takes from a source released to the caller (every source in open mode), as it
/// arrives; no events (they are derived data the link recomputes). The downstream shows these
/// on its picture at once; its history still comes from `/api/link/positions`.
pub async fn stream(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: crate::api::Raw,
) -> Result<Response, ApiError> {
    crate::api::Params::new(raw, &[])?;
    forbid_users(&caller)?;
    let view = std::sync::Arc::new(crate::views::StreamView::link(
        caller.clone(),
        s.gate.clone(),
        s.picture.clone(),
        &s.store_dir,
    ));
    crate::api::audited_stream(
        &s,
        caller,
        "/api/link/stream",
        json!({}),
        crate::stream::Filter::default(),
        Some(view),
        crate::api::StreamFormat::Sse,
    )
    .await
}

/// Links are for system principals; users get 403 (the rows carry the labels, which are the
/// operator's business, not an analyst's).
fn forbid_users(caller: &Caller) -> Result<(), ApiError> {
    if caller
        .principal
        .as_ref()
        .is_some_and(|p| p.kind != access::PrincipalKind::System)
    {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "links are for system principals (tidewatch token create --kind system)"
                .to_owned(),
        });
    }
    Ok(())
}

/// `limit` of `/api/link/positions`: default and maximum.
pub const LINK_LIMIT: (usize, usize) = (10_000, 100_000);

/// Where a link's next page starts: a store file (by part number) and a row in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    /// Part number of the store file.
    pub part: u64,
    /// Rows of that file already delivered (or withheld).
    pub row: u64,
}

impl Cursor {
    /// Parses `PART:ROW`.
    pub fn parse(s: &str) -> Option<Cursor> {
        let (p, r) = s.split_once(':')?;
        Some(Cursor {
            part: p.parse().ok()?,
            row: r.parse().ok()?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.part, self.row)
    }
}

/// `GET /api/link/positions`.
pub async fn positions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: crate::api::Raw,
) -> Result<Response, ApiError> {
    let q = crate::api::Params::new(raw, &["cursor", "since", "limit", "sources", "until"])?;
    // Open mode (one local user who sees everything): every row, with the store's labels.
    let p = caller.principal.clone();
    forbid_users(&caller)?;
    let cursor = match q.get("cursor") {
        None => Cursor::default(),
        Some(c) => Cursor::parse(c).ok_or_else(|| {
            ApiError::bad(
                "bad_cursor",
                "cursor must be PART:ROW as given in a previous answer's `next`",
            )
        })?,
    };
    let since = q
        .time("since", crate::api::data_now(&s))?
        .unwrap_or(i64::MIN);
    let limit = q.limit(LINK_LIMIT)?;
    // A backfill of sources released since the link passed their rows: those sources' rows
    // alone (each with them alone), up to the cursor where the link first saw them released.
    let only: Option<BTreeSet<String>> = match q.get("sources") {
        None => None,
        Some(s) => Some(serde_json::from_str(s).map_err(|_| {
            ApiError::bad(
                "bad_sources",
                "sources must be a JSON array of source names",
            )
        })?),
    };
    let until = match q.get("until") {
        None => None,
        Some(c) => Some(Cursor::parse(c).ok_or_else(|| {
            ApiError::bad(
                "bad_cursor",
                "until must be PART:ROW as given in a previous answer's `next`",
            )
        })?),
    };
    if only.is_some() != until.is_some() {
        return Err(ApiError::bad(
            "bad_request",
            "sources and until go together (a backfill: the rows given sources heard before a \
             cursor)",
        ));
    }
    let dir = s.store_dir.clone();
    let gate = s.gate.clone();
    let (rows, claims, released, withheld, next, more, last_run) =
        crate::api::blocking(move || {
            let labels = match &p {
                Some(_) => caller.labels.clone(),
                None => gate.labels(),
            };
            let view = p.as_ref().map(|p| access::View::new(p, &labels));
            let page = read_page(&dir, cursor, until, since, limit, |sources| {
                if !view.is_none_or(|v| v.redact_sources(sources)) {
                    return Keep::Withheld;
                }
                if let Some(only) = &only {
                    sources.retain(|s| only.contains(s));
                    if sources.is_empty() {
                        return Keep::Skip;
                    }
                }
                Keep::Row
            })?;
            let label = |src: &str| labels.label_of(src).to_string();
            let rows: Vec<Value> = page.rows.iter().map(|r| row_json(r, &labels)).collect();
            // The identity claims of the page's vessels that visible sources made; and every
            // source released to the caller with its label now, so that a downstream narrows (or
            // withholds, when it is missing) a source whose label changed here even if it sends
            // nothing more.
            let mut claims = Vec::new();
            let mut released = Vec::new();
            if let Some(reg) = crate::views::registry(&dir)? {
                for src in reg.sources().map_err(ApiError::internal)? {
                    if view.is_none_or(|v| v.may_see_source(&src.label)) {
                        released.push(json!({"source": src.label, "label": label(&src.label)}));
                    }
                }
                let mmsis: BTreeSet<u32> = page.rows.iter().map(|r| r.mmsi).collect();
                for m in mmsis {
                    for c in reg.identity_sources(m).map_err(ApiError::internal)? {
                        if view.is_some_and(|v| !v.may_see_source(&c.source)) {
                            continue;
                        }
                        claims.push(json!({
                            "mmsi": c.mmsi, "field": c.field, "value": c.value,
                            "first_ms": c.first_ms, "last_ms": c.last_ms,
                            "source": {"source": c.source, "label": label(&c.source)},
                        }));
                    }
                }
            }
            Ok((
                rows,
                claims,
                released,
                page.withheld,
                page.next,
                page.more,
                page.last_run,
            ))
        })
        .await?;
    let n = rows.len();
    let body = json!({
        "positions": rows,
        "claims": claims,
        "labels": released,
        "next": next.to_string(),
        "more": more,
        "last_run": last_run,
    });
    Ok(audited(Json(body).into_response(), n, withheld))
}

/// A row as a link page carries it: its fields and each source with its label.
fn row_json(r: &store::PositionRow, labels: &access::SourceLabels) -> Value {
    let sources: Vec<Value> = r
        .sources
        .iter()
        .map(|src| json!({"source": src, "label": labels.label_of(src).to_string()}))
        .collect();
    json!({
        "mmsi": r.mmsi, "time_ms": r.time_ms, "lat": r.lat, "lon": r.lon,
        "sog_knots": r.sog_knots, "cog_deg": r.cog_deg,
        "heading_deg": r.heading_deg, "nav_status": r.nav_status,
        "msg_type": r.msg_type, "sources": sources,
    })
}

/// Late sources answered per page of `/api/link/late`.
pub const LINK_LATE_LIMIT: usize = 10_000;

/// Where a link's late sources continue: the late sources of runs before `run`, and the
/// first `skip` of `run`'s, are taken (`RUN:SKIP`; `RUN` alone is `RUN+1:0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LateCursor {
    run: u64,
    skip: u64,
}

impl LateCursor {
    fn parse(s: &str) -> Option<LateCursor> {
        match s.split_once(':') {
            Some((r, k)) => Some(LateCursor {
                run: r.parse().ok()?,
                skip: k.parse().ok()?,
            }),
            None => Some(LateCursor {
                run: s.parse::<u64>().ok()?.checked_add(1)?,
                skip: 0,
            }),
        }
    }
}

/// The cursor after a page of late sources read from `after` (their runs, in order; a full
/// page is `limit` long), and whether more may follow; past `newest` at the end.
fn late_next(after: LateCursor, runs: &[u64], limit: usize, newest: u64) -> (LateCursor, bool) {
    if runs.len() < limit {
        let end = LateCursor {
            run: newest + 1,
            skip: 0,
        };
        return (end, false);
    }
    let last = runs.last().copied().unwrap_or(after.run);
    let in_last = runs.iter().filter(|&&r| r == last).count() as u64;
    let skip = if last == after.run {
        after.skip + in_last
    } else {
        in_last
    };
    (LateCursor { run: last, skip }, true)
}

impl std::fmt::Display for LateCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.run, self.skip)
    }
}

/// `GET /api/link/late?after=CURSOR`: the late sources stored after the cursor (copies of
/// transmissions whose rows an earlier run wrote, which a link that pulled those rows has not
/// seen), released to the caller, by run: each as its row with that source alone, `next`
/// (the cursor to continue from, `RUN:SKIP`) and `more`. Without `after`, no rows and `next`
/// past the newest run: where a new link starts (its pages merge the late sources stored
/// before). System principals only.
pub async fn late(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: crate::api::Raw,
) -> Result<Response, ApiError> {
    let q = crate::api::Params::new(raw, &["after"])?;
    forbid_users(&caller)?;
    let after = q
        .get("after")
        .map(|a| {
            LateCursor::parse(a).ok_or_else(|| {
                ApiError::bad(
                    "bad_run",
                    "after must be RUN:SKIP as given in a previous answer's next",
                )
            })
        })
        .transpose()?;
    let (dir, gate) = (s.store_dir.clone(), s.gate.clone());
    let (rows, withheld, next, more) = crate::api::blocking(move || {
        let Some(reg) = crate::views::registry(&dir)? else {
            return Ok((Vec::new(), 0, LateCursor { run: 1, skip: 0 }, false));
        };
        let newest = reg.last_run().map_err(ApiError::internal)?.unwrap_or(0);
        let end = LateCursor {
            run: newest + 1,
            skip: 0,
        };
        let Some(after) = after else {
            return Ok((Vec::new(), 0, end, false));
        };
        if after.run > newest + 1 {
            return Err(ApiError::bad(
                "bad_run",
                format!("after is past the newest committed run ({newest})"),
            ));
        }
        let late = reg
            .late_sources_from(after.run, after.skip, LINK_LATE_LIMIT)
            .map_err(ApiError::internal)?;
        let runs: Vec<u64> = late.iter().map(|l| l.0).collect();
        let (next, more) = late_next(after, &runs, LINK_LATE_LIMIT, newest);
        let labels = match &caller.principal {
            Some(_) => caller.labels.clone(),
            None => gate.labels(),
        };
        let view = caller
            .principal
            .as_ref()
            .map(|p| access::View::new(p, &labels));
        let mut withheld = 0;
        type Late = (i64, String, Option<(f64, f64)>);
        let mut by_mmsi: std::collections::BTreeMap<u32, Vec<Late>> = Default::default();
        for (_, l) in late {
            if view.as_ref().is_some_and(|v| !v.may_see_source(&l.source)) {
                withheld += 1;
                continue;
            }
            by_mmsi
                .entry(l.mmsi)
                .or_default()
                .push((l.time_ms, l.source, l.position));
        }
        let Ok(store) = store::Store::open_read_only(&dir) else {
            return Ok((Vec::new(), withheld, next, more));
        };
        let committed = reg.committed_runs().map_err(ApiError::internal)?;
        // The rows of every vessel of the page, each within its copies' times, in one pass
        // over the files (a query per vessel opened them once per vessel: seconds a page).
        let windows: Vec<store::VesselWindow> = by_mmsi
            .iter()
            .flat_map(|(&mmsi, times)| {
                times.iter().map(move |(t, ..)| store::VesselWindow {
                    mmsi,
                    from_ms: *t,
                    to_ms: t.saturating_add(1),
                })
            })
            .collect();
        let all = store
            .query_windows(&windows, Some(committed))
            .map_err(ApiError::internal)?;
        let mut rows = Vec::new();
        for (mmsi, times) in by_mmsi {
            let from = all.partition_point(|r| r.mmsi < mmsi);
            let to = from + all[from..].partition_point(|r| r.mmsi == mmsi);
            let stored = &all[from..to];
            for (time_ms, source, position) in times {
                // The row of that time at the copy's position (not another vessel's under the
                // same MMSI).
                let at = stored.partition_point(|r| r.time_ms < time_ms);
                let row = stored[at..]
                    .iter()
                    .take_while(|r| r.time_ms == time_ms)
                    .find(|r| store::late_copy_of(r.lat, r.lon, position));
                if let Some(r) = row {
                    let mut r = r.clone();
                    r.sources = vec![source];
                    rows.push(row_json(&r, &labels));
                }
            }
        }
        Ok((rows, withheld, next, more))
    })
    .await?;
    let n = rows.len();
    let body = json!({
        "positions": rows,
        "next": next.to_string(),
        "more": more,
    });
    Ok(audited(Json(body).into_response(), n, withheld))
}

/// The most events `/api/link/events` answers with (beyond it the answer says it is not
/// complete, and the downstream withdraws nothing).
pub const LINK_EVENTS_LIMIT: usize = 100_000;

/// `GET /api/link/events?since=`: the stored events no server can derive from AIS
/// ([`detect::EventType::EXTERNAL`]: a satellite radar's dark vessels), ending at or after
/// `since`, that are released to the caller (an event about no vessel is seen through its own
/// sources: every one released), each with its sources' labels (system principals only; all of
/// them in open mode). Events made from AIS are not served: each server detects them from the
/// positions it holds. The answer is the whole set, `complete` unless it passed
/// [`LINK_EVENTS_LIMIT`]: the downstream replaces what it took before with it, so an event
/// withdrawn here (a detection matched to AIS since) or no longer released is withdrawn there.
/// With `known` (the `digest` of the answer the caller holds) an unchanged set is answered
/// `{"unchanged": true}` alone.
pub async fn events(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: crate::api::Raw,
) -> Result<Response, ApiError> {
    let q = crate::api::Params::new(raw, &["since", "known"])?;
    forbid_users(&caller)?;
    let now = crate::api::data_now(&s);
    let since = q.time("since", now)?;
    let known = q.get("known").map(str::to_owned);
    let (dir, picture, gate) = (s.store_dir.clone(), s.picture.clone(), s.gate.clone());
    let (events, withheld) = crate::api::blocking(move || {
        let reader = match query::Reader::open(&dir) {
            Ok(r) => r,
            Err(query::QueryError::NotAStore { .. }) => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e.into()),
        };
        let mut rows = Vec::new();
        for kind in detect::EventType::EXTERNAL {
            rows.extend(reader.events(&store::EventQuery {
                kind: Some(kind.as_str().to_owned()),
                from_ms: since,
                ..Default::default()
            })?);
        }
        let visible = match caller.view() {
            Some(view) => crate::views::events_visible(&view, &picture, &dir, &rows, now)?,
            None => vec![true; rows.len()],
        };
        let labels = match &caller.principal {
            Some(_) => caller.labels.clone(),
            None => gate.labels(),
        };
        let mut out = Vec::new();
        let mut withheld = 0;
        for (e, v) in rows.iter().zip(visible) {
            if !v {
                withheld += 1;
                continue;
            }
            let event: Value = serde_json::from_str(&e.json).map_err(ApiError::internal)?;
            let sources: Vec<Value> = event["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|src| json!({"source": src, "label": labels.label_of(src).to_string()}))
                .collect();
            out.push(json!({"event": event, "sources": sources}));
        }
        Ok((out, withheld))
    })
    .await?;
    let complete = events.len() <= LINK_EVENTS_LIMIT;
    let events: Vec<Value> = events.into_iter().take(LINK_EVENTS_LIMIT).collect();
    // The answer's digest: a link that already holds this set (`known`) is told so instead of
    // being sent it again at every poll (5,000 dark vessels are ~2 MB).
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        serde_json::to_string(&events)
            .map_err(ApiError::internal)?
            .hash(&mut h);
        complete.hash(&mut h);
        format!("{:016x}", h.finish())
    };
    if known.as_deref() == Some(digest.as_str()) {
        let body = json!({"unchanged": true, "digest": digest, "complete": complete});
        return Ok(audited(Json(body).into_response(), 0, withheld));
    }
    let n = events.len();
    let body = json!({"events": events, "complete": complete, "digest": digest});
    Ok(audited(Json(body).into_response(), n, withheld))
}

/// One page of committed rows in commit order.
struct Page {
    rows: Vec<store::PositionRow>,
    withheld: usize,
    next: Cursor,
    more: bool,
    /// The newest committed run when the page was read (a link asks `/api/link/late` only
    /// when it has passed the last run it took late sources of).
    last_run: u64,
}

/// What [`read_page`] does with a row.
enum Keep {
    /// Serves it (with the sources left in it).
    Row,
    /// Withholds it from the caller (counted and audited).
    Withheld,
    /// Leaves it out: not asked for.
    Skip,
}

/// Reads up to `limit` rows kept by `keep` (which may drop sources) from `cursor` on, up to
/// `until` (the end of the store without it), leaving out rows older than `since`.
fn read_page(
    dir: &std::path::Path,
    cursor: Cursor,
    until: Option<Cursor>,
    since: i64,
    limit: usize,
    mut keep: impl FnMut(&mut Vec<String>) -> Keep,
) -> Result<Page, ApiError> {
    let mut page = Page {
        rows: Vec::new(),
        withheld: 0,
        next: cursor,
        more: false,
        last_run: 0,
    };
    let Ok(store) = store::Store::open_read_only(dir) else {
        return Ok(page);
    };
    let Some(reg) = crate::views::registry(dir)? else {
        return Ok(page);
    };
    let committed = reg.committed_runs().map_err(ApiError::internal)?;
    page.last_run = committed.iter().copied().max().unwrap_or(0);
    let mut files: Vec<&store::FileEntry> = store
        .files()
        .iter()
        .filter(|f| {
            f.part >= cursor.part
                && until.is_none_or(|u| f.part <= u.part)
                && f.run.is_none_or(|r| committed.contains(&r))
        })
        .collect();
    files.sort_by_key(|f| f.part);
    for f in files {
        let skip = if f.part == cursor.part { cursor.row } else { 0 };
        let end = until
            .filter(|u| u.part == f.part)
            .map_or(u64::MAX, |u| u.row);
        if skip >= end {
            page.next = Cursor {
                part: f.part,
                row: end,
            };
            return Ok(page);
        }
        if f.max_time_ms < since {
            page.next = Cursor {
                part: f.part + 1,
                row: 0,
            };
            continue;
        }
        // Sources of copies of its rows stored in later runs, before `keep` decides.
        let late = store::LateSources::new(
            reg.late_sources_between(f.min_time_ms.max(since), f.max_time_ms.saturating_add(1))
                .map_err(ApiError::internal)?,
        );
        // Rows of the file at or after `since`, counted in file order.
        let mut index = 0u64;
        let mut stopped_at = None;
        let read = store::visit_geoparquet(&dir.join(&f.file), since, i64::MAX, |mut r| {
            let i = index;
            index += 1;
            if i < skip || i >= end || stopped_at.is_some() {
                return;
            }
            if page.rows.len() == limit {
                stopped_at = Some(i);
                return;
            }
            late.merge(&mut r);
            match keep(&mut r.sources) {
                Keep::Row => page.rows.push(r),
                Keep::Withheld => page.withheld += 1,
                Keep::Skip => {}
            }
        });
        match read {
            Ok(()) => {}
            // Replaced by a compaction since the manifest was read: its rows come again in
            // the new part.
            Err(_) if !dir.join(&f.file).exists() => {}
            Err(e) => return Err(ApiError::internal(e)),
        }
        if let Some(row) = stopped_at {
            page.next = Cursor { part: f.part, row };
            page.more = true;
            return Ok(page);
        }
        if end != u64::MAX {
            // The bound is inside this file: the backfill ends here.
            page.next = Cursor {
                part: f.part,
                row: end,
            };
            return Ok(page);
        }
        page.next = Cursor {
            part: f.part + 1,
            row: 0,
        };
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of late sources continue where the last ended, inside a run or past it, and end
    /// past the newest run.
    #[test]
    fn late_cursors_continue_inside_a_run_and_end_past_the_newest() {
        let c = |run, skip| LateCursor { run, skip };
        assert_eq!(LateCursor::parse("4"), Some(c(5, 0)));
        assert_eq!(LateCursor::parse("4:7"), Some(c(4, 7)));
        assert_eq!(LateCursor::parse("x"), None);
        assert_eq!(c(4, 7).to_string(), "4:7");
        // A full page within run 4, from its 7th: the next starts at its 10th.
        assert_eq!(late_next(c(4, 7), &[4, 4, 4], 3, 9), (c(4, 10), true));
        // A full page ending in run 6: two of run 6 taken.
        assert_eq!(late_next(c(4, 7), &[4, 6, 6], 3, 9), (c(6, 2), true));
        // A short page: everything up to the newest run is taken.
        assert_eq!(late_next(c(4, 7), &[4], 3, 9), (c(10, 0), false));
        assert_eq!(late_next(c(10, 0), &[], 3, 9), (c(10, 0), false));
    }
}
