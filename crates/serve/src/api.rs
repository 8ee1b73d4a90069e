//! The JSON API's handlers. Parameters are checked into typed values first (a bad one is a
//! 400 naming it); store reads run on the blocking pool through the `query` crate.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde_json::{json, Map, Value};
use store::{EventQuery, EventRow, PositionRow};

use crate::auth::{audited, Caller};
use crate::error::ApiError;
use crate::picture::{dec, event_properties, ship_category, LiveVessel, SHIP_CATEGORIES};
use crate::stream::{sse_response, Filter};
use crate::AppState;

/// The longest time range a track or a statistic may span, ms (366 days).
pub const MAX_RANGE_MS: i64 = 366 * 86_400_000;
/// `limit` of `/api/vessels`: default and maximum.
pub const VESSELS_LIMIT: (usize, usize) = (10_000, 100_000);
/// `limit` of `/api/events`: default and maximum.
pub const EVENTS_LIMIT: (usize, usize) = (200, 5_000);
/// `limit` of `/api/search`: default and maximum.
pub const SEARCH_LIMIT: (usize, usize) = (20, 1_000);
/// Events in a vessel's answer.
pub const VESSEL_EVENTS: usize = 50;

pub(crate) type Raw = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Query parameters, checked against the names a route takes; empty values count as absent.
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn new(raw: Raw, allowed: &[&str]) -> Result<Params, ApiError> {
        let Query(pairs) = raw.map_err(|e| ApiError::bad("bad_request", e.body_text()))?;
        let mut m = HashMap::new();
        for (k, v) in pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::bad(
                    "unknown_parameter",
                    format!(
                        "unknown parameter `{}`; this route takes: {}",
                        clip(&k),
                        allowed.join(", ")
                    ),
                ));
            }
            if m.contains_key(&k) {
                return Err(ApiError::bad(
                    "bad_request",
                    format!("parameter `{k}` is given twice"),
                ));
            }
            m.insert(k, v);
        }
        Ok(Params(m))
    }

    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn bbox(&self) -> Result<Option<query::BBox>, ApiError> {
        Ok(self.get("bbox").map(query::BBox::parse).transpose()?)
    }

    pub(crate) fn time(&self, k: &str, now_ms: i64) -> Result<Option<i64>, ApiError> {
        self.get(k)
            .map(|s| {
                let t = query::parse_time_at(s, now_ms)?;
                // Beyond year 9999 no answer can be written as ISO 8601.
                if !(-62_135_596_800_000..=253_402_300_799_999).contains(&t) {
                    return Err(ApiError::bad(
                        "bad_time",
                        format!("{k}: `{}` is out of range", clip(s)),
                    ));
                }
                Ok(t)
            })
            .transpose()
    }

    pub(crate) fn limit(&self, (default, max): (usize, usize)) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(default),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad(
                    "bad_request",
                    format!("limit `{}` must be a whole number from 1 to {max}", clip(s)),
                )),
            },
        }
    }

    fn flag(&self) -> Result<Option<String>, ApiError> {
        self.get("flag")
            .map(|f| {
                if f.len() == 2 && f.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(f.to_ascii_uppercase())
                } else {
                    Err(ApiError::bad(
                        "bad_filter",
                        format!(
                            "flag `{}` is not an ISO 3166 alpha-2 code such as CN",
                            clip(f)
                        ),
                    ))
                }
            })
            .transpose()
    }
}

/// A user's text, shortened for an error message.
pub(crate) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Ship type filter: codes, ranges and names of `query::ShipTypes`, or the categories
/// `law_enforcement`, `other` and `unknown`; comma separated (any may match).
#[derive(Debug, Default)]
struct TypeFilter {
    ranges: Vec<query::ShipTypes>,
    categories: Vec<&'static str>,
}

impl TypeFilter {
    fn parse(s: &str) -> Result<TypeFilter, ApiError> {
        let mut f = TypeFilter::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let lower = part.to_ascii_lowercase();
            match SHIP_CATEGORIES.iter().find(|c| **c == lower) {
                Some(c) if matches!(*c, "law_enforcement" | "other" | "unknown") => {
                    f.categories.push(c)
                }
                _ => f.ranges.push(query::ShipTypes::parse(part).map_err(|_| {
                    ApiError::bad(
                        "bad_filter",
                        format!(
                            "ship_type `{}` is not a code (0-255), a range like 80-89, or one \
                             of {}",
                            clip(part),
                            SHIP_CATEGORIES.join(", ")
                        ),
                    )
                })?),
            }
        }
        Ok(f)
    }

    fn takes(&self, code: Option<u8>) -> bool {
        code.is_some_and(|c| self.ranges.iter().any(|r| r.contains(c)))
            || self.categories.contains(&ship_category(code))
    }
}

fn zone<'a>(state: &'a AppState, name: &str) -> Result<&'a detect::zones::Zone, ApiError> {
    state
        .zones
        .iter()
        .find(|z| z.name() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = state.zones.iter().map(|z| z.name()).collect();
            ApiError::bad(
                "unknown_zone",
                format!(
                    "no zone `{}`; zones: {}",
                    clip(name),
                    if names.is_empty() {
                        "none configured".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            )
        })
}

fn mmsi_of(s: &str) -> Result<u32, ApiError> {
    match s.parse::<u32>() {
        // 0 included: units never set up transmit it, and the vessel list shows them.
        Ok(m) if s.bytes().all(|b| b.is_ascii_digit()) && m <= 999_999_999 => Ok(m),
        _ => Err(ApiError::bad(
            "bad_mmsi",
            format!(
                "`{}` is not an MMSI (a number from 0 to 999999999)",
                clip(s)
            ),
        )),
    }
}

/// Runs a store read on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// The data clock, or the wall clock before any data.
pub(crate) fn data_now(state: &AppState) -> i64 {
    state
        .picture
        .data_time_ms()
        .unwrap_or_else(crate::picture::wall_ms)
}

fn iso(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |t| Value::from(query::iso8601_ms(t)))
}

fn feature(geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": properties})
}

fn collection(features: Vec<Value>) -> Json<Value> {
    Json(json!({"type": "FeatureCollection", "features": features}))
}

/// `GET /api/health`.
pub async fn health(State(s): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let p = &s.picture;
    let open = !s.gate.required();
    let mut v = json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": (p.uptime_s() * 10.0).round() / 10.0,
        "data_time": iso(p.data_time_ms()),
        "data_from": iso(p.data_from_ms()),
        "vessels": p.vessel_count(),
        "lag_ms": p.lag_ms(),
        "auth": if open { "open" } else { "token" },
    });
    if open {
        v["warning"] = json!(
            "open mode: no tokens are defined, so every client sees everything; create one \
             with `tidewatch token create` to require tokens"
        );
    }
    if caller.restricted {
        // The vessel count, the lag and the data times are every source's: a restricted
        // principal gets the times of what it may see (the picture's and the store's visible
        // sources), no count and no lag, so a withheld feed's activity shows nowhere.
        v["vessels"] = Value::Null;
        v["lag_ms"] = Value::Null;
        let (pic, dir, c) = (s.picture.clone(), s.store_dir.clone(), caller.clone());
        let span = blocking(move || {
            let view = c.view().ok_or_else(|| ApiError::internal("no view"))?;
            let mut span: Option<(i64, i64)> = None;
            let mut add = |first: i64, last: i64| {
                span = Some(span.map_or((first, last), |(f, l)| (f.min(first), l.max(last))));
            };
            pic.vessels_where(0, |v| {
                for src in &v.by_source {
                    if view.may_see_source(&src.source) {
                        add(src.first_ms, src.last_ms);
                    }
                }
                false
            });
            if let Some(reg) = crate::views::registry(&dir)? {
                for (source, first, last) in reg.source_spans().map_err(ApiError::internal)? {
                    if view.may_see_source(&source) {
                        add(first, last);
                    }
                }
            }
            Ok(span)
        })
        .await;
        match span {
            Ok(span) => {
                v["data_from"] = iso(span.map(|s| s.0));
                v["data_time"] = iso(span.map(|s| s.1));
            }
            Err(e) => return e.into_response(),
        }
    }
    audited(Json(v).into_response(), 1, 0)
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`: Prometheus text format 0.0.4.
pub async fn metrics(State(s): State<AppState>) -> Response {
    let p = &s.picture;
    let c = p.counters();
    let h = &p.hub.counters;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, kind: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let one = |v: u64| vec![(String::new(), v as f64)];
    let positions = c.positions.load(Ordering::Relaxed);
    let statics = c.statics.load(Ordering::Relaxed);
    counter(
        "tidewatch_messages_total",
        "Messages the live picture received (positions and static reports).",
        "counter",
        one(positions + statics),
    );
    counter(
        "tidewatch_positions_total",
        "Position reports the live picture received.",
        "counter",
        one(positions),
    );
    counter(
        "tidewatch_static_reports_total",
        "Static and voyage reports the live picture received.",
        "counter",
        one(statics),
    );
    counter(
        "tidewatch_positions_out_of_order_total",
        "Positions older than their vessel's newest live position.",
        "counter",
        one(c.out_of_order.load(Ordering::Relaxed)),
    );
    let rejects: Vec<(String, f64)> = c
        .rejects
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(r, n)| (format!("{{reason=\"{}\"}}", label(r)), *n as f64))
        .collect();
    counter(
        "tidewatch_rejects_total",
        "Inputs rejected, by reason.",
        "counter",
        rejects,
    );
    let events: Vec<(String, f64)> = c
        .event_notices
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(t, n)| (format!("{{type=\"{}\"}}", label(t)), *n as f64))
        .collect();
    counter(
        "tidewatch_events_total",
        "Events committed or updated by the pipeline, by type (an update counts again).",
        "counter",
        events,
    );
    counter(
        "tidewatch_alerts_total",
        "Alerts sent to the stream.",
        "counter",
        one(c.alerts.load(Ordering::Relaxed)),
    );
    counter(
        "tidewatch_vessels",
        "Vessels in the live picture.",
        "gauge",
        one(p.vessel_count() as u64),
    );
    counter(
        "tidewatch_stream_clients",
        "Stream clients connected.",
        "gauge",
        one(h.clients.load(Ordering::Relaxed)),
    );
    counter(
        "tidewatch_stream_connections_total",
        "Stream clients that connected.",
        "counter",
        one(h.connections.load(Ordering::Relaxed)),
    );
    counter(
        "tidewatch_stream_updates_sent_total",
        "Updates written to stream clients.",
        "counter",
        one(h.sent.load(Ordering::Relaxed)),
    );
    counter(
        "tidewatch_stream_thinned_total",
        "Positions coalesced away for slow stream clients.",
        "counter",
        one(h.thinned.load(Ordering::Relaxed)),
    );
    let dropped: Vec<(String, f64)> = h
        .dropped
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(r, n)| (format!("{{reason=\"{r}\"}}"), *n as f64))
        .collect();
    counter(
        "tidewatch_stream_dropped_total",
        "Stream clients dropped for falling behind, by reason.",
        "counter",
        dropped,
    );
    let g = &s.gate;
    counter(
        "tidewatch_requests_refused_total",
        "Requests refused before their handler, by reason (401, 403, 429).",
        "counter",
        vec![
            (
                "{reason=\"unauthorized\"}".to_owned(),
                g.unauthenticated.load(Ordering::Relaxed) as f64,
            ),
            (
                "{reason=\"forbidden\"}".to_owned(),
                g.forbidden.load(Ordering::Relaxed) as f64,
            ),
            (
                "{reason=\"rate_limited\"}".to_owned(),
                g.limited.load(Ordering::Relaxed) as f64,
            ),
        ],
    );
    let lag = p.lag_ms().map_or(f64::NAN, |l| l as f64 / 1000.0);
    counter(
        "tidewatch_lag_seconds",
        "Wall-clock time since the last message reached the live picture.",
        "gauge",
        vec![(String::new(), lag)],
    );
    if let Some(t) = p.data_time_ms() {
        counter(
            "tidewatch_data_time_seconds",
            "The data clock: the newest message time seen, Unix seconds.",
            "gauge",
            vec![(String::new(), t as f64 / 1000.0)],
        );
    }
    if let Some(more) = &s.extra_metrics {
        (more.0)(&mut out);
    }
    audited(
        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response(),
        1,
        0,
    )
}

/// A vessel's properties in `/api/vessels`.
fn vessel_properties(v: &LiveVessel) -> Value {
    let f = v.position;
    json!({
        "mmsi": v.mmsi,
        "name": v.name,
        "callsign": v.callsign,
        "imo": v.imo,
        "ship_type": v.ship_type,
        "ship_category": ship_category(v.ship_type),
        "flag": v.flag,
        "class": v.class.map(String::from),
        "time": iso(f.map(|f| f.time_ms)),
        "sog_knots": dec(f.and_then(|f| f.sog_knots)),
        "cog_deg": dec(f.and_then(|f| f.cog_deg)),
        "heading_deg": dec(f.and_then(|f| f.heading_deg)),
        "nav_status": f.and_then(|f| f.nav_status),
        "length_m": dec(v.length_m),
        "destination": v.destination,
    })
}

/// `GET /api/vessels`.
pub async fn vessels(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(
        raw,
        &[
            "bbox",
            "ship_type",
            "flag",
            "zone",
            "at",
            "max_age",
            "limit",
            "format",
            "stale",
        ],
    )?;
    let format = VesselsFormat::of(&q)?;
    let bbox = q.bbox()?;
    let types = q.get("ship_type").map(TypeFilter::parse).transpose()?;
    let flag = q.flag()?;
    let zone = q.get("zone").map(|z| zone(&s, z)).transpose()?.cloned();
    let at = q.time("at", data_now(&s))?;
    let max_age_ms = match q.get("max_age") {
        None => 3_600_000,
        Some(d) => match query::parse_duration_ms(d)? {
            ms if ms > 0 && ms <= MAX_RANGE_MS => ms,
            _ => {
                return Err(ApiError::bad(
                    "bad_time",
                    "max_age must be longer than zero and at most 366 days",
                ))
            }
        },
    };
    if q.get("max_age").is_some() && at.is_none() {
        return Err(ApiError::bad(
            "bad_request",
            "max_age applies to a past picture: give `at` too",
        ));
    }
    let limit = q.limit(VESSELS_LIMIT)?;
    let keep = move |v: &LiveVessel| {
        let Some(f) = v.position else { return false };
        bbox.is_none_or(|b| b.contains(f.lon, f.lat))
            && types.as_ref().is_none_or(|t| t.takes(v.ship_type))
            && flag.as_ref().is_none_or(|fl| {
                v.flag
                    .as_deref()
                    .is_some_and(|x| x.eq_ignore_ascii_case(fl))
            })
            && zone.as_ref().is_none_or(|z| z.contains(f.lat, f.lon))
    };
    let keep = std::sync::Arc::new(keep);
    let mut withheld = 0;
    let list: Vec<LiveVessel> = match at {
        None if caller.restricted => {
            let (pic, dir) = (s.picture.clone(), s.store_dir.clone());
            let asked = keep.clone();
            let (all, w) = blocking(move || {
                let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
                crate::views::visible_vessels(&view, &pic, &dir, |v| asked(v))
            })
            .await?;
            withheld = w;
            all.into_iter().filter(|v| keep(v)).take(limit).collect()
        }
        None => {
            let keep = keep.clone();
            s.picture.vessels_where(limit, move |v| keep(v))
        }
        Some(at_ms) if caller.restricted => {
            let (pic, dir) = (s.picture.clone(), s.store_dir.clone());
            let (all, w) = blocking(move || {
                let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
                crate::views::visible_vessels_at(&view, &pic, &dir, at_ms, max_age_ms, bbox)
            })
            .await?;
            withheld = w;
            all.into_iter().filter(|v| keep(v)).take(limit).collect()
        }
        Some(at_ms) => {
            let dir = s.store_dir.clone();
            blocking(move || {
                let reader = query::Reader::open(&dir)?;
                let rows = reader.vessels(&query::VesselFilter {
                    bbox,
                    at_ms: Some(at_ms),
                    max_age_ms,
                    ..query::VesselFilter::default()
                })?;
                Ok(rows
                    .into_iter()
                    .map(|v| LiveVessel::from_row(v.row))
                    .filter(|v| keep(v))
                    .take(limit)
                    .collect())
            })
            .await?
        }
    };
    let features: Vec<Value> = match format {
        VesselsFormat::Geojson => list
            .iter()
            .filter_map(|v| {
                let f = v.position?;
                Some(feature(
                    json!({"type": "Point", "coordinates": [f.lon, f.lat]}),
                    vessel_properties(v),
                ))
            })
            .collect(),
        other => {
            let rows: Vec<query::Vessel> = list
                .iter()
                .filter(|v| v.position.is_some())
                .map(|v| query::Vessel {
                    row: v.to_row(),
                    reports_known: false,
                })
                .collect();
            let n = rows.len();
            return Ok(audited(other.write(&rows)?, n, withheld));
        }
    };
    let n = features.len();
    Ok(audited(collection(features).into_response(), n, withheld))
}

/// The `stale` parameter of a Cursor on Target answer: how long after it is made a receiver
/// keeps an event (default 10 min, at most a day).
fn stale_ms(q: &Params) -> Result<i64, ApiError> {
    match q.get("stale") {
        None => Ok(600_000),
        Some(d) => match query::parse_duration_ms(d)? {
            ms if ms > 0 && ms <= 86_400_000 => Ok(ms),
            _ => Err(ApiError::bad(
                "bad_request",
                "stale must be longer than zero and at most 1 day",
            )),
        },
    }
}

/// What `/api/vessels` answers in (`format`): GeoJSON (the default), KML for Google Earth and
/// GIS (a network link can refresh it), or Cursor on Target for TAK (`stale`: how long after
/// now a receiver keeps a vessel, default 10 min).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VesselsFormat {
    Geojson,
    Kml,
    Cot { stale_ms: i64 },
}

impl VesselsFormat {
    fn of(q: &Params) -> Result<VesselsFormat, ApiError> {
        let f = match q.get("format").unwrap_or("geojson") {
            "geojson" => VesselsFormat::Geojson,
            "kml" => VesselsFormat::Kml,
            "cot" => VesselsFormat::Cot {
                stale_ms: stale_ms(q)?,
            },
            other => {
                return Err(ApiError::bad(
                    "bad_format",
                    format!("format `{}` is not geojson, kml or cot", clip(other)),
                ))
            }
        };
        if q.get("stale").is_some() && !matches!(f, VesselsFormat::Cot { .. }) {
            return Err(ApiError::bad(
                "bad_request",
                "stale applies to format=cot only",
            ));
        }
        Ok(f)
    }

    /// The vessels (each with a position) as a KML document or a CoT stream.
    fn write(self, rows: &[query::Vessel]) -> Result<Response, ApiError> {
        let (body, kind) = match self {
            VesselsFormat::Kml => (
                query::kml::write_vessels(Vec::new(), rows).map_err(ApiError::internal)?,
                "application/vnd.google-earth.kml+xml",
            ),
            VesselsFormat::Cot { stale_ms } => {
                let now = crate::picture::wall_ms();
                let (body, _) = query::cot::write_vessels(Vec::new(), rows, now, stale_ms)
                    .map_err(ApiError::internal)?;
                (body, "application/xml")
            }
            VesselsFormat::Geojson => return Err(ApiError::internal("GeoJSON is written apart")),
        };
        Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
    }
}

/// `GET /api/search`.
pub async fn search(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(raw, &["q", "limit"])?;
    let text = q
        .get("q")
        .ok_or_else(|| ApiError::bad("bad_request", "give the text to search for as q"))?;
    if text.chars().count() > 100 {
        return Err(ApiError::bad(
            "bad_request",
            "q is longer than 100 characters",
        ));
    }
    let limit = q.limit(SEARCH_LIMIT)?;
    let needle = text.to_lowercase();
    let text_owned = text.to_owned();
    let matches = move |v: &LiveVessel| {
        let has = |x: &Option<String>| {
            x.as_deref()
                .is_some_and(|t| t.to_lowercase().contains(&needle))
        };
        has(&v.name)
            || has(&v.callsign)
            || v.mmsi.to_string().starts_with(&text_owned)
            || v.imo
                .is_some_and(|i| i.to_string().starts_with(&text_owned))
    };
    let matches = std::sync::Arc::new(matches);
    let mut withheld = 0;
    let hits = if caller.restricted {
        let (pic, dir) = (s.picture.clone(), s.store_dir.clone());
        let asked = matches.clone();
        let (all, w) = blocking(move || {
            let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
            crate::views::visible_vessels(&view, &pic, &dir, |v| asked(v))
        })
        .await?;
        withheld = w;
        all.into_iter().filter(|v| matches(v)).take(limit).collect()
    } else {
        let matches = matches.clone();
        s.picture.vessels_where(limit, move |v| matches(v))
    };
    let results: Vec<Value> = hits
        .iter()
        .map(|v| {
            json!({
                "mmsi": v.mmsi, "name": v.name, "callsign": v.callsign, "imo": v.imo,
                "flag": v.flag, "ship_category": ship_category(v.ship_type),
            })
        })
        .collect();
    let n = results.len();
    Ok(audited(
        Json(json!({ "results": results })).into_response(),
        n,
        withheld,
    ))
}

/// Events newest first: the store's and the picture's (the picture's copy of an event wins,
/// it may be a newer update).
fn merge_events(mut stored: Vec<EventRow>, live: Vec<EventRow>, limit: usize) -> Vec<EventRow> {
    let mut by_id: HashMap<String, EventRow> =
        stored.drain(..).map(|e| (e.id.clone(), e)).collect();
    for e in live {
        by_id.insert(e.id.clone(), e);
    }
    let mut all: Vec<EventRow> = by_id.into_values().collect();
    all.sort_by(|a, b| (b.start_ms, &b.id).cmp(&(a.start_ms, &a.id)));
    all.truncate(limit);
    all
}

/// `GET /api/vessels/{mmsi}`.
pub async fn vessel(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(mmsi): Path<String>,
    raw: Raw,
) -> Result<Response, ApiError> {
    Params::new(raw, &[])?;
    let mmsi = mmsi_of(&mmsi)?;
    if caller.restricted {
        return vessel_restricted(s, caller, mmsi).await;
    }
    let live = s.picture.vessel(mmsi);
    let dir = s.store_dir.clone();
    let stored = blocking(move || {
        let reader = match query::Reader::open(&dir) {
            Ok(r) => r,
            Err(query::QueryError::NotAStore { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let detail = match reader.vessel(mmsi) {
            Ok(d) => Some(d),
            Err(query::QueryError::UnknownMmsi { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let events = reader.events(&EventQuery {
            mmsi: Some(mmsi),
            ..EventQuery::default()
        })?;
        Ok(Some((detail, events)))
    })
    .await?;
    let (detail, stored_events) = stored.unwrap_or_default();
    let v = match (live, &detail) {
        (Some(v), _) => v,
        (None, Some(d)) => LiveVessel::from_row(d.vessel.row.clone()),
        (None, None) => return Err(ApiError::not_found(format!("MMSI {mmsi} is not known"))),
    };
    let row = detail.as_ref().map(|d| &d.vessel.row);
    let history: Vec<Value> = detail
        .as_ref()
        .map(|d| {
            d.history
                .iter()
                .rev()
                .map(query::format::identity_json)
                .collect()
        })
        .unwrap_or_default();
    let live_events = s.picture.recent_events(|e| e.mmsis.contains(&mmsi));
    let events: Vec<Value> = merge_events(stored_events, live_events, VESSEL_EVENTS)
        .iter()
        .map(|e| Value::Object(event_properties(e).0))
        .collect();
    let position = v.position.map(|f| {
        json!({
            "time": query::iso8601_ms(f.time_ms), "lat": f.lat, "lon": f.lon,
            "sog_knots": dec(f.sog_knots), "cog_deg": dec(f.cog_deg),
            "heading_deg": dec(f.heading_deg), "nav_status": f.nav_status,
        })
    });
    let r = Json(json!({
        "mmsi": mmsi,
        "name": v.name,
        "callsign": v.callsign,
        "imo": v.imo,
        "ship_type": v.ship_type,
        "ship_category": ship_category(v.ship_type),
        "flag": v.flag,
        "class": v.class.map(String::from),
        "length_m": dec(v.length_m),
        "beam_m": dec(v.beam_m),
        "destination": v.destination,
        "draught_m": dec(row.and_then(|r| r.draught_m)),
        "first_seen": iso(v.first_seen_ms),
        "last_seen": iso(v.last_seen_ms),
        "position": position,
        "identity_history": history,
        "events": events,
    }))
    .into_response();
    Ok(audited(r, 1, 0))
}

/// `GET /api/vessels/{mmsi}` for a principal who sees only some sources: the vessel as its
/// visible sources reported it, the identity history entries whose new value a visible
/// source reported (an old value it did not is null), the visible events.
async fn vessel_restricted(s: AppState, caller: Caller, mmsi: u32) -> Result<Response, ApiError> {
    let (pic, dir) = (s.picture.clone(), s.store_dir.clone());
    let now = data_now(&s);
    let out = blocking(move || {
        let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
        let reg = crate::views::registry(&dir)?;
        let live = pic.vessel(mmsi);
        let (stored, row, history) = match &reg {
            Some(r) => (
                r.vessel_sources(Some(mmsi)).map_err(ApiError::internal)?,
                r.vessel(mmsi).map_err(ApiError::internal)?,
                r.history(mmsi).map_err(ApiError::internal)?,
            ),
            None => (Vec::new(), None, Vec::new()),
        };
        let claims = crate::views::claims_of(reg.as_ref(), mmsi, live.as_ref())?;
        let class = row
            .as_ref()
            .and_then(|r| r.class.as_deref())
            .and_then(|c| c.chars().next());
        let Some(v) =
            crate::views::visible_vessel(&view, mmsi, live.as_ref(), &stored, &claims, class)
        else {
            return Ok(None);
        };
        let history: Vec<Value> = history
            .iter()
            .rev()
            .filter(|h| crate::views::value_visible(&view, &claims, &h.field, &h.new))
            .map(|h| {
                let mut h = h.clone();
                if h.old
                    .as_ref()
                    .is_some_and(|o| !crate::views::value_visible(&view, &claims, &h.field, o))
                {
                    h.old = None;
                }
                query::format::identity_json(&h)
            })
            .collect();
        let stored_events = match query::Reader::open(&dir) {
            Ok(r) => r.events(&EventQuery {
                mmsi: Some(mmsi),
                ..EventQuery::default()
            })?,
            Err(query::QueryError::NotAStore { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let live_events = pic.recent_events(|e| e.mmsis.contains(&mmsi));
        let all = merge_events(stored_events, live_events, usize::MAX);
        let vis = crate::views::events_visible(&view, &pic, &dir, &all, now)?;
        let shown: Vec<&EventRow> = all
            .iter()
            .zip(&vis)
            .filter(|(_, v)| **v)
            .map(|(e, _)| e)
            .take(VESSEL_EVENTS)
            .collect();
        let withheld = vis.iter().filter(|v| !**v).count();
        let ec = crate::views::claims_for_events(&pic, &dir, &shown)?;
        let events: Vec<Value> = shown
            .iter()
            .map(|e| {
                let (mut props, _) = event_properties(e);
                crate::views::redact_event(&view, &mut props, &ec);
                Value::Object(props)
            })
            .collect();
        let draught = crate::views::draught(&view, &claims);
        Ok(Some((v, history, events, draught, withheld)))
    })
    .await?;
    let Some((v, history, events, draught, withheld)) = out else {
        // Not known and not visible answer alike.
        return Err(ApiError::not_found(format!("MMSI {mmsi} is not known")));
    };
    let position = v.position.map(|f| {
        json!({
            "time": query::iso8601_ms(f.time_ms), "lat": f.lat, "lon": f.lon,
            "sog_knots": dec(f.sog_knots), "cog_deg": dec(f.cog_deg),
            "heading_deg": dec(f.heading_deg), "nav_status": f.nav_status,
        })
    });
    let n = events.len();
    let r = Json(json!({
        "mmsi": mmsi,
        "name": v.name,
        "callsign": v.callsign,
        "imo": v.imo,
        "ship_type": v.ship_type,
        "ship_category": ship_category(v.ship_type),
        "flag": v.flag,
        "class": v.class.map(String::from),
        "length_m": dec(v.length_m),
        "beam_m": dec(v.beam_m),
        "destination": v.destination,
        "draught_m": dec(draught),
        "first_seen": iso(v.first_seen_ms),
        "last_seen": iso(v.last_seen_ms),
        "position": position,
        "identity_history": history,
        "events": events,
    }))
    .into_response();
    Ok(audited(r, 1 + n, withheld))
}

/// A time range from `from`/`to` (default: `default_ms` before data time up to it), at most
/// [`MAX_RANGE_MS`].
fn range(q: &Params, s: &AppState, default_ms: i64) -> Result<(i64, i64), ApiError> {
    let now = data_now(s);
    let to = q.time("to", now)?;
    let from = q.time("from", now)?;
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f.saturating_add(default_ms).max(now + 1)),
        (None, Some(t)) => (t.saturating_sub(default_ms), t),
        (None, None) => (now.saturating_sub(default_ms), now + 1),
    };
    query::TimeRange::new(Some(from), Some(to))?;
    if to - from > MAX_RANGE_MS {
        return Err(ApiError::bad(
            "bad_range",
            format!(
                "the range {} .. {} is longer than 366 days; ask for less",
                query::iso8601_ms(from),
                query::iso8601_ms(to)
            ),
        ));
    }
    Ok((from, to))
}

/// `GET /api/vessels/{mmsi}/track`.
pub async fn track(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(mmsi): Path<String>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(raw, &["from", "to"])?;
    let mmsi = mmsi_of(&mmsi)?;
    let (from, to) = range(&q, &s, 86_400_000)?;
    let live = s.picture.vessel(mmsi);
    let dir = s.store_dir.clone();
    let rows: Option<Vec<PositionRow>> = blocking(move || {
        let reader = match query::Reader::open(&dir) {
            Ok(r) => r,
            Err(query::QueryError::NotAStore { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match reader.track(&query::TrackRequest {
            mmsi,
            range: query::TimeRange::new(Some(from), Some(to))?,
            bbox: None,
        }) {
            Ok(r) => Ok(Some(r)),
            Err(query::QueryError::UnknownMmsi { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    if rows.is_none() && live.is_none() {
        return Err(ApiError::not_found(format!("MMSI {mmsi} is not known")));
    }
    let mut rows = rows.unwrap_or_default();
    let mut live = live;
    let mut withheld = 0;
    if let Some(view) = caller.view() {
        let before = rows.len();
        rows.retain(|r| view.row_visible(&r.sources));
        withheld += before - rows.len();
        if let Some(v) = &mut live {
            let before = v.recent.len();
            let (recent, sources): (VecDeque<_>, VecDeque<_>) = v
                .recent
                .iter()
                .zip(&v.recent_sources)
                .filter(|(_, src)| view.may_see_source(src))
                .map(|(f, src)| (*f, src.clone()))
                .unzip();
            v.recent = recent;
            v.recent_sources = sources;
            withheld += before - v.recent.len();
        }
        if rows.is_empty() && live.as_ref().is_none_or(|v| v.recent.is_empty()) {
            // Nothing visible: answered as an unknown vessel, so nothing is told.
            let known_visible = blocking({
                let (pic, dir) = (s.picture.clone(), s.store_dir.clone());
                let caller = caller.clone();
                move || {
                    let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
                    let reg = crate::views::registry(&dir)?;
                    let stored = match &reg {
                        Some(r) => r.vessel_sources(Some(mmsi)).map_err(ApiError::internal)?,
                        None => Vec::new(),
                    };
                    let l = pic.vessel(mmsi);
                    Ok(
                        crate::views::visible_vessel(&view, mmsi, l.as_ref(), &stored, &[], None)
                            .is_some(),
                    )
                }
            })
            .await?;
            if !known_visible {
                return Err(ApiError::not_found(format!("MMSI {mmsi} is not known")));
            }
        }
    }
    let mut features = Vec::new();
    // Stored positions by segment (unplaced positions, flagged bad or suspect, belong to none).
    let mut segs: Vec<(u32, Vec<&PositionRow>)> = Vec::new();
    for r in &rows {
        let Some(seg) = r.segment else { continue };
        match segs.iter_mut().find(|(s, _)| *s == seg) {
            Some((_, v)) => v.push(r),
            None => segs.push((seg, vec![r])),
        }
    }
    let line = |pts: &[(f64, f64)]| match pts {
        [(lon, lat)] => json!({"type": "Point", "coordinates": [lon, lat]}),
        _ => json!({"type": "LineString", "coordinates":
            pts.iter().map(|(lon, lat)| json!([lon, lat])).collect::<Vec<_>>()}),
    };
    for (seg, pts) in &segs {
        let coords: Vec<(f64, f64)> = pts.iter().map(|r| (r.lon, r.lat)).collect();
        features.push(feature(
            line(&coords),
            json!({
                "segment": seg,
                "from": query::iso8601_ms(pts[0].time_ms),
                "to": query::iso8601_ms(pts[pts.len() - 1].time_ms),
                "points": pts.len(),
            }),
        ));
    }
    // Live positions after the last stored one: not yet committed, not yet segmented.
    let stored_to = rows.iter().map(|r| r.time_ms).max();
    if let Some(v) = live {
        let tail: Vec<_> = v
            .recent
            .iter()
            .filter(|f| {
                f.time_ms >= from && f.time_ms < to && stored_to.is_none_or(|t| f.time_ms > t)
            })
            .collect();
        if let (Some(first), Some(last)) = (tail.first(), tail.last()) {
            let coords: Vec<(f64, f64)> = tail.iter().map(|f| (f.lon, f.lat)).collect();
            features.push(feature(
                line(&coords),
                json!({
                    "segment": null,
                    "from": query::iso8601_ms(first.time_ms),
                    "to": query::iso8601_ms(last.time_ms),
                    "points": tail.len(),
                }),
            ));
        }
    }
    let n: usize = features
        .iter()
        .map(|f| f["properties"]["points"].as_u64().unwrap_or(0) as usize)
        .sum();
    Ok(audited(collection(features).into_response(), n, withheld))
}

/// An event's properties and its place, as `event_properties` gives them.
type EventProps = (Map<String, Value>, Option<(f64, f64)>);

/// `GET /api/events`.
pub async fn events(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(
        raw,
        &["type", "mmsi", "zone", "from", "to", "open", "limit"],
    )?;
    let kind = q
        .get("type")
        .map(|k| {
            if detect::EventType::ALL.iter().any(|t| t.as_str() == k) {
                Ok(k.to_owned())
            } else {
                let names: Vec<&str> = detect::EventType::ALL.iter().map(|t| t.as_str()).collect();
                Err(ApiError::bad(
                    "bad_filter",
                    format!(
                        "unknown event type `{}`; types: {}",
                        clip(k),
                        names.join(", ")
                    ),
                ))
            }
        })
        .transpose()?;
    let mmsi = q.get("mmsi").map(mmsi_of).transpose()?;
    let now = data_now(&s);
    let from = q.time("from", now)?;
    let to = q.time("to", now)?;
    if let (Some(f), Some(t)) = (from, to) {
        query::TimeRange::new(Some(f), Some(t))?;
    }
    let open_only = match q.get("open") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(x) => {
            return Err(ApiError::bad(
                "bad_request",
                format!("open `{}` must be true or false", clip(x)),
            ))
        }
    };
    let limit = q.limit(EVENTS_LIMIT)?;
    // A zone the server does not know is refused, as by /api/vessels and the statistics (a
    // misspelt zone would otherwise look like a quiet one).
    if let Some(z) = q.get("zone") {
        zone(&s, z)?;
    }
    let eq = EventQuery {
        kind,
        mmsi,
        zone: q.get("zone").map(str::to_owned),
        from_ms: from,
        to_ms: to,
        open_only,
    };
    let dir = s.store_dir.clone();
    let eq2 = eq.clone();
    let stored = blocking(move || match query::Reader::open(&dir) {
        Ok(r) => Ok(r.events(&eq2)?),
        Err(query::QueryError::NotAStore { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    })
    .await?;
    let live = s.picture.recent_events(|e| {
        eq.kind.as_ref().is_none_or(|k| &e.kind == k)
            && eq.mmsi.is_none_or(|m| e.mmsis.contains(&m))
            && eq.zone.as_ref().is_none_or(|z| e.zones.contains(z))
            && eq
                .from_ms
                .is_none_or(|f| e.end_ms.is_none_or(|end| end >= f))
            && eq.to_ms.is_none_or(|t| e.start_ms < t)
            && (!eq.open_only || e.open)
    });
    let (shown, withheld) = if caller.restricted {
        let all = merge_events(stored, live, usize::MAX);
        let (pic, dir) = (s.picture.clone(), s.store_dir.clone());
        blocking(move || {
            let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
            // Newest first, a chunk at a time, until `limit` are visible: the work is bounded
            // by what the answer needs, not by every event in the store.
            let mut shown: Vec<&EventRow> = Vec::new();
            let mut withheld = 0;
            for chunk in all.chunks((2 * limit).max(64)) {
                let vis = crate::views::events_visible(&view, &pic, &dir, chunk, now)?;
                for (e, v) in chunk.iter().zip(vis) {
                    if !v {
                        withheld += 1;
                    } else if shown.len() < limit {
                        shown.push(e);
                    }
                }
                if shown.len() >= limit {
                    break;
                }
            }
            let claims = crate::views::claims_for_events(&pic, &dir, &shown)?;
            let out: Vec<EventProps> = shown
                .iter()
                .map(|e| {
                    let (mut props, at) = event_properties(e);
                    crate::views::redact_event(&view, &mut props, &claims);
                    (props, at)
                })
                .collect();
            Ok((out, withheld))
        })
        .await?
    } else {
        (
            merge_events(stored, live, limit)
                .iter()
                .map(event_properties)
                .collect(),
            0,
        )
    };
    let features: Vec<Value> = shown
        .into_iter()
        .map(|(props, at)| {
            let geometry = at.map_or(
                Value::Null,
                |(lat, lon)| json!({"type": "Point", "coordinates": [lon, lat]}),
            );
            feature(geometry, Value::Object(props))
        })
        .collect();
    let n = features.len();
    Ok(audited(collection(features).into_response(), n, withheld))
}

/// `GET /api/zones`.
pub async fn zones(State(s): State<AppState>, raw: Raw) -> Result<Response, ApiError> {
    Params::new(raw, &[])?;
    // Zones are the server's configuration, not data of any source: everyone sees them.
    Ok(audited(
        (
            [(header::CONTENT_TYPE, "application/geo+json")],
            detect::zones::import::to_geojson(&s.zones),
        )
            .into_response(),
        s.zones.len(),
        0,
    ))
}

/// `GET /api/stats/presence`: `tidewatch stats --json` for a zone; default range the last 30
/// days of data time, at most 366 days.
pub async fn presence(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(raw, &["zone", "from", "to"])?;
    let name = q
        .get("zone")
        .ok_or_else(|| ApiError::bad("bad_request", "give the zone's name as zone"))?;
    let z = zone(&s, name)?.clone();
    let (from, to) = range(&q, &s, 30 * 86_400_000)?;
    let dir = s.store_dir.clone();
    let restricted = caller.restricted;
    let p = blocking(move || match query::Reader::open(&dir) {
        Ok(r) if restricted => {
            // Counted from visible rows only; ship types as the view sees them.
            let view = caller.view().ok_or_else(|| ApiError::internal("no view"))?;
            let reg = crate::views::registry(&dir)?;
            let ship_type = |mmsi: u32| -> Option<u8> {
                let claims = crate::views::claims_of(reg.as_ref(), mmsi, None).ok()?;
                crate::views::visible_ship_type(&view, &claims)
            };
            Ok(Some(r.presence_where(
                &z,
                Some(from),
                Some(to),
                &|row: &PositionRow| view.row_visible(&row.sources),
                &ship_type,
            )?))
        }
        Ok(r) => Ok(Some(r.presence(&z, Some(from), Some(to))?)),
        Err(query::QueryError::NotAStore { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    })
    .await?
    .unwrap_or_default();
    let mut v = p.to_json(name);
    if let Value::Object(m) = &mut v {
        m.insert("from".to_owned(), json!(query::iso8601_ms(from)));
        m.insert("to".to_owned(), json!(query::iso8601_ms(to)));
    }
    Ok(audited(Json(v).into_response(), 1, 0))
}

/// `GET /api/stream`.
pub async fn stream(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    raw: Raw,
) -> Result<Response, ApiError> {
    let q = Params::new(raw, &["bbox", "types", "format", "stale"])?;
    let format = match q.get("format").unwrap_or("sse") {
        "sse" => StreamFormat::Sse,
        "nmea" => StreamFormat::Nmea,
        "cot" => StreamFormat::Cot {
            stale_ms: stale_ms(&q)?,
        },
        f => {
            return Err(ApiError::bad(
                "bad_format",
                format!("format `{}` is not sse, nmea or cot", clip(f)),
            ))
        }
    };
    if q.get("stale").is_some() && !matches!(format, StreamFormat::Cot { .. }) {
        return Err(ApiError::bad(
            "bad_request",
            "stale applies to format=cot only",
        ));
    }
    let positions_only = format != StreamFormat::Sse;
    if positions_only && q.get("types").is_some() {
        return Err(ApiError::bad(
            "bad_request",
            "types selects events, which an NMEA or CoT stream does not carry",
        ));
    }
    let bbox = q.bbox()?;
    let types = q
        .get("types")
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| {
                    if detect::EventType::ALL.iter().any(|x| x.as_str() == k) {
                        Ok(k.to_owned())
                    } else {
                        Err(ApiError::bad(
                            "bad_filter",
                            format!("unknown event type `{}` in types", clip(k)),
                        ))
                    }
                })
                .collect::<Result<Vec<String>, ApiError>>()
        })
        .transpose()?;
    // The opening entry is appended before the first byte; the closing one, with what was
    // sent and withheld, when the client goes.
    let params = json!({
        "bbox": q.get("bbox"),
        "types": q.get("types"),
        "format": q.get("format"),
        "stale": q.get("stale"),
    });
    // Every principal's stream goes through a view that asks for the labels in force at each
    // batch (one that saw everything when it connected may not after a label narrows); open
    // mode has no principals and no labels to follow.
    let view = caller.principal.is_some().then(|| {
        Arc::new(crate::views::StreamView::new(
            caller.clone(),
            s.gate.clone(),
            s.picture.clone(),
            &s.store_dir,
        ))
    });
    audited_stream(
        &s,
        caller,
        "/api/stream",
        params,
        Filter {
            bbox,
            types,
            positions_only,
        },
        view,
        format,
    )
    .await
}

/// What a stream is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFormat {
    /// Server-Sent Events (the web map, scripts).
    Sse,
    /// NMEA 0183 AIS sentences (chart plotters, AIS systems).
    Nmea,
    /// Cursor on Target events (TAK), stale `stale_ms` after they are sent.
    Cot { stale_ms: i64 },
}

/// A stream's response, audited when it opens (before the first byte) and when the client
/// goes (with what was sent and withheld).
pub(crate) async fn audited_stream(
    s: &AppState,
    caller: crate::auth::Caller,
    endpoint: &'static str,
    params: Value,
    filter: Filter,
    view: Option<Arc<crate::views::StreamView>>,
    format: StreamFormat,
) -> Result<Response, ApiError> {
    let rec = crate::auth::record_of(&caller, endpoint, params.clone(), 0, 0);
    let gate = s.gate.clone();
    blocking(move || gate.append_now(&rec)).await?;
    let queue = s.picture.hub.subscribe(filter, s.stream, view.clone());
    let gate = s.gate.clone();
    let on_end: Box<dyn FnOnce() + Send + Sync> = Box::new(move || {
        let (sent, withheld) = view.as_ref().map_or((0, 0), |v| {
            (
                v.sent.load(std::sync::atomic::Ordering::Relaxed),
                v.withheld.load(std::sync::atomic::Ordering::Relaxed),
            )
        });
        let rec = crate::auth::record_of(
            &caller,
            &format!("{endpoint}:closed"),
            params,
            sent,
            withheld,
        );
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(move || gate.append_now(&rec));
            }
            Err(_) => {
                let _ = gate.append_now(&rec);
            }
        }
    });
    Ok(match format {
        StreamFormat::Sse => sse_response(queue, Some(on_end)),
        StreamFormat::Nmea => crate::stream::converted_response(
            queue,
            Some(on_end),
            crate::relay::NmeaWriter::default(),
        ),
        StreamFormat::Cot { stale_ms } => crate::stream::converted_response(
            queue,
            Some(on_end),
            crate::relay::CotWriter::new(stale_ms),
        ),
    })
}

/// `GET /` and `GET /assets/{*path}`: the web map, from [`AppState::assets`].
pub async fn asset(State(s): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    let path = uri.path();
    let name = if path == "/" {
        "index.html"
    } else {
        path.trim_start_matches('/')
    };
    match s.assets.and_then(|f| f(name)) {
        Some((bytes, content_type)) => {
            Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
        }
        None => Err(ApiError::not_found(format!("no file {}", clip(path)))),
    }
}

/// Any other path.
pub async fn no_route(uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: format!("no route {}; see /api/openapi.json", clip(uri.path())),
    }
}

/// A known path with another method than GET.
pub async fn method_not_allowed() -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: "this route answers GET only".to_owned(),
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}
