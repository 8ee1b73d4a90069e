//! `tidewatch events`, `tidewatch detect` and `tidewatch stats`: reading stored events,
//! recomputing them from the stored history, and zone presence statistics.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};
use store::{EventQuery, EventRow, PositionRow, Query, RegistryDb, Store};

use super::{DetectOptions, Hook};

/// Unix ms as RFC 3339 (UTC, always with milliseconds: one shape a column, as positions
/// are written, so a CSV reader parses the whole column with one format).
pub(crate) fn rfc3339(ms: i64) -> String {
    query::iso8601_ms(ms)
}

/// Output formats of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// A table for people.
    Table,
    /// One JSON object a line.
    Jsonl,
    /// A GeoJSON FeatureCollection of points.
    Geojson,
    /// CSV with the common columns.
    Csv,
    /// KML (Google Earth, QGIS): a placemark per event with its time span.
    Kml,
}

/// Arguments of `tidewatch events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Only this event type (e.g. encounter, ais_gap, zone_visit).
    #[arg(long = "type")]
    kind: Option<String>,
    /// Only events in this zone (by name).
    #[arg(long)]
    zone: Option<String>,
    /// Only events involving this MMSI.
    #[arg(long)]
    mmsi: Option<u32>,
    /// Events going on at or after this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    from: Option<i64>,
    /// Events starting before this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    to: Option<i64>,
    /// Only events still open.
    #[arg(long)]
    open: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: EventFormat,
}

fn open_registry(dir: &Path) -> Result<RegistryDb> {
    let path = dir.join("registry.sqlite");
    if !path.is_file() {
        bail!("{} is not a store (no registry.sqlite)", dir.display());
    }
    RegistryDb::open(&path).with_context(|| format!("cannot open registry in {}", dir.display()))
}

/// Fails on a name that is no event type, listing the types.
fn check_event_type(k: &str) -> Result<()> {
    if !detect::EventType::ALL.iter().any(|t| t.as_str() == k) {
        let names: Vec<&str> = detect::EventType::ALL.iter().map(|t| t.as_str()).collect();
        bail!("unknown event type {k:?}; types: {}", names.join(", "));
    }
    Ok(())
}

/// Runs `tidewatch events`.
pub fn events(a: EventsArgs) -> Result<()> {
    query::TimeRange::new(a.from, a.to)?;
    let reg = open_registry(&a.store)?;
    if let Some(k) = &a.kind {
        check_event_type(k)?;
    }
    let rows = reg.events(&EventQuery {
        kind: a.kind.clone(),
        mmsi: a.mmsi,
        zone: a.zone.clone(),
        from_ms: a.from,
        to_ms: a.to,
        open_only: a.open,
    })?;
    if let (Some(zone), true) = (&a.zone, rows.is_empty()) {
        // No answer for a zone: say whether any event names it at all (a misspelt zone would
        // otherwise look like a quiet one).
        let all = reg.events(&EventQuery::default())?;
        let mut names: Vec<&str> = all
            .iter()
            .flat_map(|e| e.zones.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        if !names.contains(&zone.as_str()) {
            let shown: Vec<&str> = names.iter().copied().take(30).collect();
            eprintln!(
                "note: no stored event names zone {zone:?}; zones named by events: {}{} \
                 (events keep the zones they were found in: after `tidewatch zones import`, \
                 `tidewatch detect --store DIR --write` finds them again in the new zones)",
                if shown.is_empty() {
                    "none".to_owned()
                } else {
                    shown.join(", ")
                },
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            );
        }
    }
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    print_events(&mut out, &rows, a.format)?;
    out.flush()?;
    Ok(())
}

/// An event as output: the engine's JSON with times as RFC 3339 (`start`, `end`, `last`, and
/// each type's own times stored in ms: `cpa_time_ms` becomes `cpa_time`, `entry_ms` `entry`).
pub fn output_json(row: &EventRow) -> Result<Value> {
    let v: Value = serde_json::from_str(&row.json)
        .with_context(|| format!("stored event {} is not valid JSON", row.id))?;
    let Value::Object(mut m) = v else {
        bail!("stored event {} is not a JSON object", row.id);
    };
    let mut o = Map::new();
    for k in ["id", "type"] {
        if let Some(x) = m.remove(k) {
            o.insert(k.to_owned(), x);
        }
    }
    let t = |m: &mut Map<String, Value>, k: &str| {
        m.remove(k)
            .and_then(|x| x.as_i64())
            .map_or(Value::Null, |ms| Value::String(rfc3339(ms)))
    };
    let start = t(&mut m, "start_ms");
    let end = t(&mut m, "end_ms");
    let last = t(&mut m, "last_ms");
    o.insert("start".to_owned(), start);
    o.insert("end".to_owned(), end);
    o.insert("last".to_owned(), last);
    if let Some(Value::Array(ev)) = m.get_mut("evidence") {
        for e in ev {
            if let Some(ms) = e.get("time_ms").and_then(Value::as_i64) {
                if let Value::Object(em) = e {
                    em.remove("time_ms");
                    em.insert("time".to_owned(), Value::String(rfc3339(ms)));
                }
            }
        }
    }
    for (k, v) in m {
        match (k.strip_suffix("_ms"), v.as_i64()) {
            (Some(name), Some(ms)) => {
                o.insert(name.to_owned(), Value::String(rfc3339(ms)));
            }
            _ => {
                o.insert(k, v);
            }
        }
    }
    Ok(Value::Object(o))
}

/// Event types a KML viewer shows as alerts (a red pin): deception and danger.
const KML_ALERTS: [&str; 7] = [
    "spoof_jump",
    "spoof_land",
    "spoof_circle",
    "shared_mmsi",
    "watchlist",
    "close_approach",
    "dark_vessel",
];

/// Events as KML placemarks at their position, spanning their time (an open event has no
/// end), every field as data; events without a position are counted in the description.
fn events_kml(out: &mut impl Write, rows: &[EventRow]) -> Result<()> {
    let mut placed = Vec::with_capacity(rows.len());
    for r in rows {
        let p = output_json(r)?;
        if let (Some(lat), Some(lon)) = (p["lat"].as_f64(), p["lon"].as_f64()) {
            placed.push((r, p, lat, lon));
        }
    }
    let unplaced = rows.len() - placed.len();
    let mut description = format!("{} events.", placed.len());
    if unplaced > 0 {
        description.push_str(&format!(" Not shown: {unplaced} without a position."));
    }
    let mut w = query::kml::KmlWriter::new(&mut *out, "Tidewatch events", &description)?;
    for (r, p, lat, lon) in placed {
        let vessels: Vec<String> = p["vessels"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| {
                        let mmsi = u32::try_from(v["mmsi"].as_u64()?).ok()?;
                        Some(query::kml::vessel_label(mmsi, v["name"].as_str()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        // An event about no vessel (a dark vessel) is named by what it rests on.
        let subject = if vessels.is_empty() {
            p["detection_id"]
                .as_str()
                .map_or_else(String::new, |d| format!("SAR {d}"))
        } else {
            vessels.join(", ")
        };
        let Value::Object(data) = p else { continue };
        w.placemark(&query::kml::Placemark {
            name: format!("{}: {subject}", r.kind),
            style: Some(if KML_ALERTS.contains(&r.kind.as_str()) {
                "alert"
            } else {
                "event"
            }),
            when_ms: None,
            span_ms: Some((r.start_ms, r.end_ms)),
            heading_deg: None,
            lat,
            lon,
            data,
        })?;
    }
    w.finish()?;
    Ok(())
}

fn print_events(out: &mut impl Write, rows: &[EventRow], format: EventFormat) -> Result<()> {
    match format {
        EventFormat::Kml => events_kml(out, rows)?,
        EventFormat::Jsonl => {
            for r in rows {
                writeln!(out, "{}", output_json(r)?)?;
            }
        }
        EventFormat::Geojson => {
            let mut features = Vec::with_capacity(rows.len());
            for r in rows {
                let mut p = output_json(r)?;
                let (lat, lon) = (p["lat"].as_f64(), p["lon"].as_f64());
                if let Value::Object(m) = &mut p {
                    m.remove("lat");
                    m.remove("lon");
                }
                features.push(json!({
                    "type": "Feature",
                    "geometry": match (lat, lon) {
                        (Some(lat), Some(lon)) => json!({"type": "Point", "coordinates": [lon, lat]}),
                        _ => Value::Null,
                    },
                    "properties": p,
                }));
            }
            serde_json::to_writer(
                &mut *out,
                &json!({"type": "FeatureCollection", "features": features}),
            )?;
            writeln!(out)?;
        }
        EventFormat::Csv => {
            writeln!(out, "id,type,start,end,open,mmsis,lat,lon,zones")?;
            for r in rows {
                let p = output_json(r)?;
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{}",
                    r.id,
                    r.kind,
                    rfc3339(r.start_ms),
                    r.end_ms.map(rfc3339).unwrap_or_default(),
                    r.open,
                    csv_field(&join_mmsis(&r.mmsis, ";")),
                    csv_value(&p["lat"]),
                    csv_value(&p["lon"]),
                    csv_field(&r.zones.join(";")),
                )?;
            }
        }
        EventFormat::Table => {
            // Times with milliseconds (an identity change at its report's instant) are
            // wider: the columns take the widest, so they stay in line.
            let tw = rows
                .iter()
                .flat_map(|r| [Some(r.start_ms), r.end_ms])
                .flatten()
                .map(|t| rfc3339(t).len())
                .max()
                .unwrap_or(0)
                .max(20);
            writeln!(
                out,
                "{:<16}  {:<15}  {:<tw$}  {:<tw$}  {:<4}  vessels / zones",
                "id", "type", "start", "end", "open"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{:<16}  {:<15}  {:<tw$}  {:<tw$}  {:<4}  {}{}",
                    r.id,
                    r.kind,
                    rfc3339(r.start_ms),
                    r.end_ms.map(rfc3339).unwrap_or_else(|| "-".to_owned()),
                    if r.open { "yes" } else { "no" },
                    if r.mmsis.is_empty() {
                        // An event about no vessel (a dark vessel): where it was seen.
                        let v: Value = serde_json::from_str(&r.json).unwrap_or(Value::Null);
                        match (v["lat"].as_f64(), v["lon"].as_f64()) {
                            (Some(lat), Some(lon)) => format!("at {lat:.4}, {lon:.4}"),
                            _ => String::new(),
                        }
                    } else {
                        join_mmsis(&r.mmsis, " ")
                    },
                    if r.zones.is_empty() {
                        String::new()
                    } else {
                        format!(" / {}", r.zones.join("; "))
                    },
                )?;
            }
            writeln!(out, "{} event(s)", rows.len())?;
        }
    }
    Ok(())
}

fn join_mmsis(m: &[u32], sep: &str) -> String {
    m.iter().map(u32::to_string).collect::<Vec<_>>().join(sep)
}

/// A JSON scalar as a CSV cell: empty when null (docs/fields.md).
fn csv_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => csv_field(s),
        other => other.to_string(),
    }
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Arguments of `tidewatch detect`.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Only positions from this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    from: Option<i64>,
    /// Only positions before this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    to: Option<i64>,
    /// Only these event types (comma separated) in the output.
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Detector configuration (TOML).
    #[arg(long, value_name = "FILE")]
    detect_config: Option<PathBuf>,
    /// Watch list (CSV or JSON).
    #[arg(long, value_name = "FILE")]
    watchlist: Option<PathBuf>,
    /// Replace the store's events and detection state with the recomputed ones (whole
    /// history only: not with --from, --to or --types).
    #[arg(long)]
    write: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: EventFormat,
    /// Positions read into memory at once: the history goes through the engine a batch of
    /// whole store files at a time (an hour's at least), so years of history need no more
    /// memory than this many positions (about 150 bytes each). Batches are half this: the
    /// next is read while the engine takes the current one.
    #[arg(long, default_value_t = DEFAULT_BATCH_ROWS, value_parser = clap::value_parser!(u64).range(1..))]
    batch_rows: u64,
}

/// Positions `tidewatch detect` reads at once by default (about 150 MB of rows).
pub const DEFAULT_BATCH_ROWS: u64 = 1_000_000;

/// The shortest batch of `tidewatch detect`, ms: however small `--batch-rows`, a batch is a
/// whole UTC hour at least.
const MIN_BATCH_MS: i64 = 3_600_000;

/// Splits `[from_ms, to_ms)` into consecutive time windows of whole UTC hours, each holding
/// about `batch_rows` of the files' rows (a file's rows taken as spread evenly over its time
/// span; the files of a day partition span a day at most): the boundaries between windows.
/// Every time falls in exactly one window, so the windows change how much is held at once,
/// not what is read; a file overlapping two windows is read for each.
fn batch_bounds(
    files: &[store::FileEntry],
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    batch_rows: u64,
) -> Vec<i64> {
    let lo = from_ms.unwrap_or(i64::MIN);
    let hi = to_ms.unwrap_or(i64::MAX);
    // (first ms, last ms + 1, rows per ms) of each file, clipped to the range.
    let mut spans: Vec<(i64, i64, f64)> = files
        .iter()
        .filter(|f| f.max_time_ms >= lo && f.min_time_ms < hi && f.rows > 0)
        .map(|f| {
            let end = f.max_time_ms.saturating_add(1);
            let rate = f.rows as f64 / (end - f.min_time_ms).max(1) as f64;
            (f.min_time_ms.max(lo), end.min(hi), rate)
        })
        .collect();
    spans.sort_unstable_by_key(|s| s.0);
    let hour = |t: i64| t.div_euclid(MIN_BATCH_MS) * MIN_BATCH_MS;
    let mut bounds = Vec::new();
    let (mut next, mut active, mut held) = (0, Vec::<(i64, i64, f64)>::new(), 0.0);
    let Some(first) = spans.first() else {
        return bounds;
    };
    let mut h = hour(first.0);
    loop {
        while next < spans.len() && spans[next].0 < h + MIN_BATCH_MS {
            active.push(spans[next]);
            next += 1;
        }
        active.retain(|s| s.1 > h);
        if active.is_empty() {
            match spans.get(next) {
                Some(s) => h = hour(s.0),
                None => break,
            }
            continue;
        }
        let rows: f64 = active
            .iter()
            .map(|&(a, b, rate)| (b.min(h + MIN_BATCH_MS) - a.max(h)).max(0) as f64 * rate)
            .sum();
        if held > 0.0 && held + rows > batch_rows as f64 && h > lo {
            bounds.push(h);
            held = 0.0;
        }
        held += rows;
        h += MIN_BATCH_MS;
    }
    bounds
}

/// Recomputes events from a store's committed history: positions in time order across vessels
/// (the same filter as ingest: placed by the segmenter, not flagged bad or suspect) and the
/// registry's identity history, through a fresh engine. The positions are read a batch of
/// about half `batch_rows` at a time (whole files, consecutive time windows;
/// [`batch_bounds`]), the next on a thread of its own while the engine takes the current one,
/// so that about `batch_rows` are held at once.
/// Returns the events (final state, by start then id) and the engine state.
pub fn recompute(
    dir: &Path,
    opts: &DetectOptions,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    batch_rows: u64,
) -> Result<(Vec<EventRow>, Vec<u8>)> {
    let reg = open_registry(dir)?;
    let store = Store::open_read_only(dir)
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    let committed = reg.committed_runs()?;
    let files: Vec<store::FileEntry> = store
        .files()
        .iter()
        .filter(|f| f.run.is_none_or(|r| committed.contains(&r)))
        .cloned()
        .collect();
    let bounds = batch_bounds(&files, from_ms, to_ms, (batch_rows / 2).max(1));
    let mut ids: Vec<_> = reg
        .all_history()?
        .into_iter()
        .filter(|h| from_ms.is_none_or(|t| h.time_ms >= t) && to_ms.is_none_or(|t| h.time_ms < t))
        .collect();
    // By time, then MMSI (stable: a report's changes stay together), one update a report.
    ids.sort_by_key(|h| (h.time_ms, h.mmsi));
    let mut ids = super::identity_updates(
        ids.iter()
            .map(|h| (h.mmsi, h.time_ms, h.field.as_str(), h.new.as_str())),
    );
    pipeline::detecting::attach_identity_sources(&mut ids, &reg.all_identity_sources()?);
    let mut hook = Hook::fresh(dir, opts)?;
    if !hook.loaded.land_ok {
        eprintln!("tidewatch: warning: {}", hook.loaded.land);
    }
    let n_ids = ids.len();
    let mut ids = ids.into_iter().peekable();
    let started = std::time::Instant::now();
    let mut positions = 0usize;
    let starts = std::iter::once(from_ms).chain(bounds.iter().map(|&b| Some(b)));
    let ends = bounds
        .iter()
        .map(|&b| Some(b))
        .chain(std::iter::once(to_ms));
    // The next batch is read (files decoded, filtered, sorted by time) on a thread of its own
    // while the engine takes this one: one batch ahead, so memory stays two batches.
    let windows: Vec<(Option<i64>, Option<i64>)> = starts.zip(ends).collect();
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<PositionRow>>>(1);
        let store = &store;
        let committed = &committed;
        scope.spawn(move || {
            for (from, to) in windows {
                let batch = store
                    .query(&Query {
                        from_ms: from,
                        to_ms: to,
                        committed_runs: Some(committed.clone()),
                        ..Query::default()
                    })
                    .map(|mut rows: Vec<PositionRow>| {
                        rows.retain(|r| r.segment.is_some() && super::detectable(r.flags));
                        // Files are sorted by MMSI then time; the writer fed the engine by
                        // time across vessels.
                        rows.sort_by_key(|r| (r.time_ms, r.mmsi));
                        rows
                    })
                    .map_err(anyhow::Error::from);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        for batch in rx {
            let rows = batch?;
            positions += rows.len();
            for r in &rows {
                // A position before an identity change of the same time, as ingest hands them
                // over (a CSV row, a static report after its position): the change is placed
                // at it.
                while ids.peek().is_some_and(|h| h.time_ms < r.time_ms) {
                    if let Some(h) = ids.next() {
                        hook.identity(h);
                    }
                }
                hook.position(super::fix_of_row(r));
            }
        }
        Ok(())
    })?;
    for h in ids {
        hook.identity(h);
    }
    let run = hook.finish()?;
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "detect: {positions} positions ({} batch(es)) and {n_ids} identity changes through the \
         engine in {took:.2} s ({:.2} us per position, reading the store and saving the state \
         included)",
        bounds.len() + 1,
        took * 1e6 / positions.max(1) as f64
    );
    let mut events = run.rows;
    events.sort_by(|a, b| (a.start_ms, &a.id).cmp(&(b.start_ms, &b.id)));
    Ok((events, run.state))
}

/// Runs `tidewatch detect`.
pub fn detect(mut a: DetectArgs) -> Result<()> {
    query::TimeRange::new(a.from, a.to)?;
    for t in &mut a.types {
        *t = t.trim().to_owned();
        check_event_type(t)?;
    }
    if a.write && (a.from.is_some() || a.to.is_some() || !a.types.is_empty()) {
        bail!("--write replaces the store's events: recompute the whole history (no --from, --to or --types)");
    }
    let opts = DetectOptions {
        off: false,
        config: a.detect_config.clone(),
        watchlist: a.watchlist.clone(),
    };
    let (mut events, state) = recompute(&a.store, &opts, a.from, a.to, a.batch_rows)?;
    if a.write {
        // Takes the store's writer lock, so no ingest runs meanwhile.
        let _lock = crate::ingest::open_writable(&a.store)?;
        let mut reg = open_registry(&a.store)?;
        let keep: Vec<&str> = detect::EventType::EXTERNAL
            .iter()
            .map(|t| t.as_str())
            .collect();
        // A type the store has and the recompute made none of (a watch list given to ingest
        // and not here) is said before it goes.
        for (kind, n) in &reg.event_counts()? {
            if !keep.contains(&kind.as_str()) && !events.iter().any(|e| &e.kind == kind) {
                eprintln!(
                    "tidewatch: warning: the store's {n} {kind} event(s) are withdrawn: the \
                     recompute made none{}",
                    if kind == "watchlist" && a.watchlist.is_none() {
                        " (give --watchlist FILE, as to ingest)"
                    } else {
                        ""
                    }
                );
            }
        }
        reg.replace_events(&events, Some(&state), &keep)?;
        eprintln!(
            "detect: {} event(s) written to {}",
            events.len(),
            a.store.display()
        );
    }
    if !a.types.is_empty() {
        events.retain(|e| a.types.contains(&e.kind));
    }
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    print_events(&mut out, &events, a.format)?;
    out.flush()?;
    Ok(())
}

/// Arguments of `tidewatch stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Zone name (from the store's zones, `tidewatch zones list --store DIR`).
    #[arg(long)]
    zone: String,
    /// From this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    from: Option<i64>,
    /// Before this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    to: Option<i64>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub use query::stats::Presence;

/// Computes [`Presence`] for a zone of the store (the `query` crate counts; this finds the
/// zone and says what is wrong in the CLI's words).
pub fn presence(
    dir: &Path,
    zone: &str,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> Result<Presence> {
    open_registry(dir)?;
    let zpath = dir.join(crate::zones::STORE_ZONES_FILE);
    if !zpath.is_file() {
        bail!(
            "store {} has no zones (import some with `tidewatch zones import FILE --store DIR`)",
            dir.display()
        );
    }
    let zones =
        detect::zones::import::load_file(&zpath, &detect::zones::import::PropertyMap::default())?;
    let Some(z) = zones.iter().find(|z| z.name() == zone) else {
        let names: Vec<&str> = zones.iter().map(|z| z.name()).collect();
        bail!("no zone {zone:?} in the store; zones: {}", names.join(", "));
    };
    let reader = query::Reader::open(dir)?;
    Ok(reader.presence(z, from_ms, to_ms)?)
}

/// Runs `tidewatch stats`.
pub fn stats(a: StatsArgs) -> Result<()> {
    query::TimeRange::new(a.from, a.to)?;
    let p = presence(&a.store, &a.zone, a.from, a.to)?;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    if a.json {
        let v = p.to_json(&a.zone);
        writeln!(out, "{v}")?;
    } else {
        writeln!(
            out,
            "zone {}: {} vessel(s), {} vessel-day(s)",
            a.zone, p.vessels, p.vessel_days
        )?;
        writeln!(out, "{:<12} {:>8}", "day", "vessels")?;
        for (d, n) in &p.days {
            writeln!(out, "{d:<12} {n:>8}")?;
        }
        for (title, m) in [("flag", &p.by_flag), ("ship type", &p.by_ship_type)] {
            writeln!(out, "{title:<12} {:>8} {:>12}", "vessels", "vessel-days")?;
            for (k, (v, d)) in m {
                writeln!(out, "{k:<12} {v:>8} {d:>12}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_table_stays_in_line_with_times_in_milliseconds() {
        let row = |id: &str, start_ms: i64| EventRow {
            id: id.to_owned(),
            kind: "identity_change".to_owned(),
            start_ms,
            end_ms: Some(start_ms),
            open: false,
            mmsis: vec![412_000_000],
            zones: Vec::new(),
            json: "{}".to_owned(),
        };
        let rows = [row("a", 1_328_182_347_000), row("b", 1_328_182_347_582)];
        let mut out = Vec::new();
        print_events(&mut out, &rows, EventFormat::Table).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let col = lines[0].find("open").unwrap();
        assert!(
            lines[1..3]
                .iter()
                .all(|l| l.get(col..col + 2) == Some("no")),
            "{text}"
        );
    }

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    /// A file of `rows` rows over hours `from_h..to_h` of day `day`.
    fn file(day: i64, from_h: i64, to_h: i64, rows: u64) -> store::FileEntry {
        store::FileEntry {
            file: format!("day{day}-{from_h}.parquet"),
            part: 0,
            rows,
            min_time_ms: day * DAY + from_h * HOUR,
            max_time_ms: day * DAY + to_h * HOUR - 1,
            min_mmsi: 1,
            max_mmsi: 2,
            bbox: [0.0; 4],
            run: None,
            month: false,
        }
    }

    #[test]
    fn batches_hold_about_the_row_budget() {
        // Three days of 240 rows each (10 an hour), listed out of order.
        let files = [
            file(2, 0, 24, 240),
            file(0, 0, 24, 240),
            file(1, 0, 24, 240),
        ];
        assert_eq!(batch_bounds(&files, None, None, 240), vec![DAY, 2 * DAY]);
        assert_eq!(batch_bounds(&files, None, None, 480), vec![2 * DAY]);
        assert_eq!(batch_bounds(&files, None, None, 1_000), Vec::<i64>::new());
        // Half a day's rows: two batches a day.
        assert_eq!(
            batch_bounds(&files, None, None, 120),
            (1..6).map(|k| k * DAY / 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_batch_is_an_hour_at_least_and_overlapping_files_add_up() {
        // Two runs' files over day 0 (the second from hour 12), 24 + 12 rows an hour there.
        let files = [file(0, 0, 24, 24 * 24), file(0, 12, 24, 12 * 12)];
        let b = batch_bounds(&files, None, None, 1);
        assert_eq!(b, (1..24).map(|k| k * HOUR).collect::<Vec<_>>());
        // 24 an hour to noon, 36 after: 72 rows are three hours, then two.
        let b = batch_bounds(&files, None, None, 72);
        assert_eq!(
            b,
            vec![
                3 * HOUR,
                6 * HOUR,
                9 * HOUR,
                12 * HOUR,
                14 * HOUR,
                16 * HOUR,
                18 * HOUR,
                20 * HOUR,
                22 * HOUR
            ]
        );
    }

    #[test]
    fn batches_start_after_the_asked_start_skip_empty_time_and_leave_out_files_outside() {
        let files = [
            file(0, 0, 24, 240),
            file(1, 0, 24, 240),
            file(5, 0, 24, 240),
        ];
        // From the middle of day 1: day 0 is not read, day 1's start is no boundary.
        let from = Some(DAY + DAY / 2);
        assert_eq!(
            batch_bounds(&files, from, None, 120),
            vec![5 * DAY, 5 * DAY + DAY / 2]
        );
        assert_eq!(batch_bounds(&files, None, Some(DAY), 120), vec![DAY / 2]);
        // Days 2 to 4 hold nothing and are stepped over.
        assert_eq!(batch_bounds(&files, None, None, 240), vec![DAY, 5 * DAY]);
    }
}
