//! The upstream side of a link between partners' servers (issue 21, item 4; the downstream
//! puller is not built yet, see `docs/sharing.md`): `GET /api/link/positions?from=&to=&limit=`
//! gives a *system* principal the stored positions released to it, each with its visible
//! sources and each source's releasability label, so that the downstream server can keep the
//! originator's label on every row it takes in. Users get 403: the rows carry the labels, which
//! are the operator's business, not an analyst's. In open mode every row is served.
//!
//! Rows are committed history only (what `query` reads), oldest first, at most `limit`
//! (default 10,000, max 100,000) over at most one day; the answer's `next` is the `from` of
//! the following page (`null` at the end).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use crate::auth::{audited, Caller};
use crate::error::ApiError;
use crate::AppState;

/// `limit` of `/api/link/positions`: default and maximum.
pub const LINK_LIMIT: (usize, usize) = (10_000, 100_000);
/// The longest range of one `/api/link/positions` request, ms (one day).
pub const LINK_MAX_RANGE_MS: i64 = 86_400_000;

/// `GET /api/link/positions`.
pub async fn positions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: crate::api::Raw,
) -> Result<Response, ApiError> {
    let q = crate::api::Params::new(raw, &["from", "to", "limit"])?;
    // Open mode (one local user who sees everything): every row, with the store's labels.
    let p = caller.principal.clone();
    if p.as_ref()
        .is_some_and(|p| p.kind != access::PrincipalKind::System)
    {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: "links are for system principals (tidewatch token create --kind system)"
                .to_owned(),
        });
    }
    let now = crate::api::data_now(&s);
    // Default: the last day of data.
    let from = q.time("from", now)?.unwrap_or(now - LINK_MAX_RANGE_MS + 1);
    let to = q.time("to", now)?.unwrap_or(from + LINK_MAX_RANGE_MS);
    if to <= from || to - from > LINK_MAX_RANGE_MS {
        return Err(ApiError::bad(
            "bad_range",
            "to must be after from, at most one day later",
        ));
    }
    let limit = q.limit(LINK_LIMIT)?;
    let dir = s.store_dir.clone();
    let gate = s.gate.clone();
    let (rows, withheld, next) = crate::api::blocking(move || {
        let Ok(store) = store::Store::open_read_only(&dir) else {
            return Ok((Vec::new(), 0, None));
        };
        let Some(reg) = crate::views::registry(&dir)? else {
            return Ok((Vec::new(), 0, None));
        };
        let mut rows = store
            .query(&store::Query {
                from_ms: Some(from),
                to_ms: Some(to),
                committed_runs: Some(reg.committed_runs().map_err(ApiError::internal)?),
                ..store::Query::default()
            })
            .map_err(ApiError::internal)?;
        rows.sort_by_key(|r| (r.time_ms, r.mmsi));
        let labels = match &p {
            Some(_) => caller.labels.clone(),
            None => gate.labels(),
        };
        let view = p.as_ref().map(|p| access::View::new(p, &labels));
        let mut out = Vec::new();
        let mut withheld = 0;
        let mut next = None;
        for mut r in rows {
            if view.is_some_and(|v| !v.redact_sources(&mut r.sources)) {
                withheld += 1;
                continue;
            }
            if out.len() == limit {
                next = Some(r.time_ms);
                break;
            }
            let sources: Vec<Value> = r
                .sources
                .iter()
                .map(|src| json!({"source": src, "label": labels.label_of(src).to_string()}))
                .collect();
            out.push(json!({
                "mmsi": r.mmsi, "time": query::iso8601_ms(r.time_ms), "lat": r.lat, "lon": r.lon,
                "sog_knots": crate::picture::dec(r.sog_knots),
                "cog_deg": crate::picture::dec(r.cog_deg),
                "heading_deg": r.heading_deg, "nav_status": r.nav_status,
                "msg_type": r.msg_type, "sources": sources,
            }));
        }
        Ok((out, withheld, next))
    })
    .await?;
    let n = rows.len();
    // A page that ends inside one millisecond repeats that millisecond's rows on the next
    // page; the downstream drops copies by (MMSI, time, source).
    let body = json!({
        "from": query::iso8601_ms(from),
        "to": query::iso8601_ms(to),
        "positions": rows,
        "next": next.map(query::iso8601_ms),
    });
    Ok(audited(Json(body).into_response(), n, withheld))
}
