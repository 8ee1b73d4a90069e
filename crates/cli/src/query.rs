//! Read commands over a store: `vessels`, `vessel`, `track`. They only read, and only see
//! committed ingest runs.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use store::{PositionRow, Query, RegistryDb, Store, VesselRow};

/// Arguments of `tidewatch vessels`.
#[derive(Debug, Args)]
pub struct VesselsArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Only vessels whose latest position is inside `min_lon,min_lat,max_lon,max_lat`.
    #[arg(long, value_parser = parse_bbox, allow_hyphen_values = true)]
    bbox: Option<[f64; 4]>,
    /// The picture at this time (RFC 3339) instead of now: each vessel's last position at or
    /// before it (within --max-age), with the identity it had then. `reports` is null.
    #[arg(long, value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
    /// With --at: how old a vessel's last position may be to count, e.g. 30m, 1h, 6h.
    #[arg(long, default_value = "1h", value_parser = crate::ingest::parse_duration_ms, requires = "at")]
    max_age: i64,
}

/// Arguments of `tidewatch vessel`.
#[derive(Debug, Args)]
pub struct VesselArgs {
    /// MMSI.
    mmsi: u32,
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
}

/// Output format of `tidewatch track`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TrackFormat {
    /// A GeoJSON FeatureCollection: one LineString per segment, then the positions as Points.
    Geojson,
    /// CSV, one position a line.
    Csv,
    /// GeoParquet (needs --out).
    Parquet,
}

/// Arguments of `tidewatch track`.
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// MMSI.
    mmsi: u32,
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// From this time (RFC 3339, e.g. 2026-01-15T00:00:00Z), inclusive.
    #[arg(long, value_parser = parse_time)]
    from: Option<DateTime<Utc>>,
    /// Up to this time (RFC 3339), exclusive.
    #[arg(long, value_parser = parse_time)]
    to: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value = "geojson")]
    format: TrackFormat,
    /// Write to this file instead of stdout (required for parquet).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}); example: 2026-01-15T08:00:00Z"))
}

fn parse_bbox(s: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bbox: {e}"))?;
    let [a, b, c, d] = v[..] else {
        return Err("bbox needs four numbers: min_lon,min_lat,max_lon,max_lat".to_owned());
    };
    let lon_ok = |x: f64| (-180.0..=180.0).contains(&x);
    let lat_ok = |x: f64| (-90.0..=90.0).contains(&x);
    let valid = a <= c && b <= d && lon_ok(a) && lon_ok(c) && lat_ok(b) && lat_ok(d);
    if !valid {
        return Err("bbox must be min_lon,min_lat,max_lon,max_lat in degrees, min ≤ max".into());
    }
    Ok([a, b, c, d])
}

/// An `f32` as the decimal it was written from (`243.1`, not `243.10000610351562`).
fn dec(v: Option<f32>) -> Option<f64> {
    v.and_then(|x| x.to_string().parse().ok())
}

fn time(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    crate::output::iso8601_ms(ms, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens an existing store read-only and its registry (never creates or repairs one, so a
/// concurrent ingest is left alone).
fn open(dir: &Path) -> Result<(Store, RegistryDb)> {
    let store = Store::open_read_only(dir)
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    let db = dir.join("registry.sqlite");
    if !db.is_file() {
        bail!(
            "{} has no registry.sqlite; is it a store written by `tidewatch ingest`?",
            dir.display()
        );
    }
    let reg = RegistryDb::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    Ok((store, reg))
}

fn vessel_json(v: &VesselRow) -> Value {
    json!({
        "mmsi": v.mmsi,
        "class": v.class,
        "flag": v.flag,
        "name": v.name,
        "callsign": v.callsign,
        "imo": v.imo,
        "ship_type": v.ship_type,
        "ship_type_text": v.ship_type_text,
        "length_m": v.length_m,
        "beam_m": v.beam_m,
        "destination": v.destination,
        "draught_m": dec(v.draught_m),
        "first_seen": v.first_seen_ms.map(time),
        "last_seen": v.last_seen_ms.map(time),
        "reports": v.reports,
        "position_time": v.position_time_ms.map(time),
        "lat": v.lat,
        "lon": v.lon,
        "sog_knots": dec(v.sog_knots),
        "cog_deg": dec(v.cog_deg),
    })
}

/// Runs `tidewatch vessels`: one JSON line per vessel.
pub fn vessels(args: VesselsArgs) -> Result<()> {
    let (store, reg) = open(&args.store)?;
    let list = match args.at {
        None => reg.vessels(args.bbox)?,
        Some(at) => vessels_at(&store, &reg, at.timestamp_millis(), args.max_age, args.bbox)?,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for v in list {
        let mut j = vessel_json(&v);
        if args.at.is_some() {
            j["reports"] = Value::Null;
        }
        writeln!(out, "{j}")?;
    }
    out.flush()?;
    Ok(())
}

/// The vessels as they were at `at_ms`: the last good position in `(at_ms - max_age_ms,
/// at_ms]` (inside `bbox`), and the identity of that time (later identity changes undone).
fn vessels_at(
    store: &Store,
    reg: &RegistryDb,
    at_ms: i64,
    max_age_ms: i64,
    bbox: Option<[f64; 4]>,
) -> Result<Vec<VesselRow>> {
    let rows = store.query(&Query {
        mmsi: None,
        from_ms: Some(at_ms.saturating_sub(max_age_ms).saturating_add(1)),
        to_ms: Some(at_ms.saturating_add(1)),
        bbox,
        committed_runs: Some(reg.committed_runs()?),
    })?;
    // Rows come by MMSI, then time: the last of each MMSI is its position at `at_ms`.
    let mut last: Vec<&PositionRow> = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.flags & crate::ingest::FLAG_BAD_POSITION == 0)
    {
        match last.last_mut() {
            Some(l) if l.mmsi == r.mmsi => *l = r,
            _ => last.push(r),
        }
    }
    let later = reg.history_after(at_ms)?;
    let mut out = Vec::with_capacity(last.len());
    for p in last {
        let mut v = reg.vessel(p.mmsi)?.unwrap_or_else(|| VesselRow {
            mmsi: p.mmsi,
            ..VesselRow::default()
        });
        // Undo identity changes made after `at_ms`: the oldest later change of each field
        // holds the value before it.
        let start = later.partition_point(|h| h.mmsi < p.mmsi);
        let mut undone = std::collections::HashSet::new();
        for h in later[start..].iter().take_while(|h| h.mmsi == p.mmsi) {
            if undone.insert(h.field.as_str()) {
                undo(&mut v, &h.field, h.old.as_deref());
            }
        }
        v.position_time_ms = Some(p.time_ms);
        v.last_seen_ms = Some(p.time_ms);
        v.lat = Some(p.lat);
        v.lon = Some(p.lon);
        v.sog_knots = p.sog_knots;
        v.cog_deg = p.cog_deg;
        out.push(v);
    }
    Ok(out)
}

/// Sets an identity field back to its earlier value (as recorded in the identity history).
fn undo(v: &mut VesselRow, field: &str, old: Option<&str>) {
    match field {
        "name" => v.name = old.map(str::to_owned),
        "callsign" => v.callsign = old.map(str::to_owned),
        "destination" => v.destination = old.map(str::to_owned),
        "imo" => v.imo = old.and_then(|x| x.parse().ok()),
        "ship_type" => v.ship_type = old.and_then(|x| x.parse().ok()),
        "dimensions" => {
            let lb = old.and_then(|x| x.split_once('x'));
            v.length_m = lb.and_then(|(l, _)| l.parse().ok());
            v.beam_m = lb.and_then(|(_, b)| b.parse().ok());
        }
        _ => {}
    }
}

/// Runs `tidewatch vessel`: the vessel's state and identity history as one JSON object.
pub fn vessel(args: VesselArgs) -> Result<()> {
    let (_, reg) = open(&args.store)?;
    let Some(v) = reg.vessel(args.mmsi)? else {
        bail!("MMSI {} is not in {}", args.mmsi, args.store.display());
    };
    let history: Vec<Value> = reg
        .history(args.mmsi)?
        .iter()
        .map(|h| json!({"time": time(h.time_ms), "field": h.field, "old": h.old, "new": h.new}))
        .collect();
    let mut j = vessel_json(&v);
    j["identity_history"] = Value::Array(history);
    println!("{}", serde_json::to_string_pretty(&j)?);
    Ok(())
}

/// Runs `tidewatch track`.
pub fn track(args: TrackArgs) -> Result<()> {
    let (store, reg) = open(&args.store)?;
    if let (Some(f), Some(t)) = (args.from, args.to) {
        if f >= t {
            bail!("--from must be before --to");
        }
    }
    let from_ms = args.from.map(|t| t.timestamp_millis());
    let to_ms = args.to.map(|t| t.timestamp_millis());
    let mut rows = store.query(&Query {
        mmsi: Some(args.mmsi),
        from_ms,
        to_ms,
        bbox: None,
        committed_runs: Some(reg.committed_runs()?),
    })?;
    // Copies that arrived after their position was written were kept in the registry.
    let late = reg.late_sources(
        args.mmsi,
        from_ms.unwrap_or(i64::MIN),
        to_ms.unwrap_or(i64::MAX),
    )?;
    for l in late {
        let i = rows.partition_point(|r| r.time_ms < l.time_ms);
        if let Some(r) = rows.get_mut(i).filter(|r| r.time_ms == l.time_ms) {
            if !r.sources.contains(&l.source) {
                r.sources.push(l.source);
            }
        }
    }
    if let TrackFormat::Parquet = args.format {
        let Some(path) = &args.out else {
            bail!("--format parquet needs --out FILE");
        };
        return store::write_geoparquet(path, &rows)
            .with_context(|| format!("cannot write {}", path.display()));
    }
    let mut out: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match args.format {
        TrackFormat::Csv => write_csv(&mut out, &rows)?,
        TrackFormat::Geojson | TrackFormat::Parquet => writeln!(out, "{}", geojson(&rows))?,
    }
    out.flush()?;
    Ok(())
}

fn write_csv(out: &mut impl Write, rows: &[PositionRow]) -> std::io::Result<()> {
    writeln!(
        out,
        "time,mmsi,lat,lon,sog_knots,cog_deg,heading_deg,nav_status,msg_type,segment,flags,sources"
    )?;
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map(|x| x.to_string()).unwrap_or_default()
    }
    for r in rows {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            time(r.time_ms),
            r.mmsi,
            r.lat,
            r.lon,
            opt(r.sog_knots),
            opt(r.cog_deg),
            opt(r.heading_deg),
            opt(r.nav_status),
            r.msg_type,
            opt(r.segment),
            r.flags,
            r.sources.join(";").replace('"', "\"\"")
        )?;
    }
    Ok(())
}

fn geojson(rows: &[PositionRow]) -> Value {
    let mut segments: std::collections::BTreeMap<u32, Vec<[f64; 2]>> = Default::default();
    for r in rows {
        if let Some(s) = r.segment {
            segments.entry(s).or_default().push([r.lon, r.lat]);
        }
    }
    let mut features: Vec<Value> = segments
        .into_iter()
        .filter(|(_, c)| c.len() >= 2)
        .map(|(s, c)| {
            json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": c},
                   "properties": {"segment": s}})
        })
        .collect();
    features.extend(rows.iter().map(|r| {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
               "properties": {"time": time(r.time_ms), "mmsi": r.mmsi, "sog_knots": dec(r.sog_knots),
                              "cog_deg": dec(r.cog_deg), "heading_deg": r.heading_deg,
                              "nav_status": r.nav_status, "msg_type": r.msg_type,
                              "segment": r.segment, "flags": r.flags, "sources": r.sources}})
    }));
    json!({"type": "FeatureCollection", "features": features})
}
