//! `GET /api/export/positions`: stored positions over a time range as a file to download
//! (CSV or JSON lines), for analysts who take the history into their own tools. The same rules
//! as every read path (issue 21): a row is exported only when one of its sources is releasable
//! to the caller, with only those sources listed; the audit records what was returned and
//! withheld. At most [`EXPORT_MAX_RANGE_MS`] and [`EXPORT_MAX_ROWS`] per request: a larger
//! answer is refused with the count, never cut silently.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::api::{blocking, data_now, Params, Raw};
use crate::auth::{audited, Caller};
use crate::error::ApiError;
use crate::AppState;

/// The longest range of one export, ms (seven days).
pub const EXPORT_MAX_RANGE_MS: i64 = 7 * 86_400_000;
/// The most rows one export returns.
pub const EXPORT_MAX_ROWS: usize = 1_000_000;

/// `GET /api/export/positions?from=&to=&mmsi=&bbox=&format=csv|jsonl`.
pub async fn positions(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(raw, &["from", "to", "mmsi", "bbox", "format"])?;
    let now = data_now(&s);
    let to = q.time("to", now)?.unwrap_or(now + 1);
    let from = q.time("from", now)?.unwrap_or(to - 86_400_000);
    if to <= from || to - from > EXPORT_MAX_RANGE_MS {
        // Say what was asked for: `to` defaults to the data time (the newest message), which
        // `now-7d` (the wall clock) may be more than seven days from.
        return Err(ApiError::bad(
            "bad_range",
            format!(
                "to must be after from, at most seven days later (asked: from {} to {}{})",
                query::iso8601_ms(from),
                query::iso8601_ms(to),
                if q.get("to").is_none() {
                    ", the data time: to defaults to it"
                } else {
                    ""
                }
            ),
        ));
    }
    let mmsi = q
        .get("mmsi")
        .map(|m| {
            m.parse::<u32>().map_err(|_| {
                ApiError::bad("bad_mmsi", "mmsi must be a number of up to nine digits")
            })
        })
        .transpose()?;
    let bbox = q.get("bbox").map(query::BBox::parse).transpose()?;
    let csv = match q.get("format").unwrap_or("csv") {
        "csv" => true,
        "jsonl" => false,
        f => {
            return Err(ApiError::bad(
                "bad_format",
                format!("format `{}` is not csv or jsonl", crate::api::clip(f)),
            ))
        }
    };
    let dir = s.store_dir.clone();
    let (body, returned, withheld) = blocking(move || {
        let Ok(store) = store::Store::open_read_only(&dir) else {
            return Ok((Vec::new(), 0, 0));
        };
        let Some(reg) = crate::views::registry(&dir)? else {
            return Ok((Vec::new(), 0, 0));
        };
        let committed = reg.committed_runs().map_err(ApiError::internal)?;
        let mut rows = store
            .query(&store::Query {
                mmsi,
                from_ms: Some(from),
                to_ms: Some(to),
                bbox: None,
                committed_runs: Some(committed),
            })
            .map_err(ApiError::internal)?;
        if let Some(b) = &bbox {
            rows.retain(|r| b.contains(r.lon, r.lat));
        }
        // Sources of copies stored in later runs, before the view decides.
        let late = store::LateSources::new(
            reg.late_sources_between(from, to)
                .map_err(ApiError::internal)?,
        );
        for r in &mut rows {
            late.merge(r);
        }
        let view = caller.view();
        let before = rows.len();
        if let Some(v) = &view {
            rows.retain_mut(|r| v.redact_sources(&mut r.sources));
        }
        let withheld = before - rows.len();
        if rows.len() > EXPORT_MAX_ROWS {
            return Err(ApiError::bad(
                "too_many_rows",
                format!(
                    "{} positions match; an export returns at most {EXPORT_MAX_ROWS}: ask for a \
                     shorter range, a bbox or one MMSI",
                    rows.len()
                ),
            ));
        }
        rows.sort_by_key(|r| (r.time_ms, r.mmsi));
        // The CLI's vocabulary (`tidewatch track --format csv|jsonl`): one row writer.
        let format = if csv {
            query::format::Format::Csv
        } else {
            query::format::Format::Jsonl
        };
        let io = |e: std::io::Error| ApiError::internal(format!("export: {e}"));
        let mut w = query::format::RowWriter::new(
            Vec::with_capacity(rows.len() * 120),
            format,
            &query::format::POSITION_FIELDS,
        )
        .map_err(io)?;
        for r in &rows {
            w.row(query::format::position_json(r)).map_err(io)?;
        }
        let out = w.finish().map_err(io)?;
        Ok((out, rows.len(), withheld))
    })
    .await?;
    let (mime, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/x-ndjson", "jsonl")
    };
    let r = (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tidewatch-positions.{ext}\""),
            ),
        ],
        body,
    )
        .into_response();
    Ok(audited(r, returned, withheld))
}
