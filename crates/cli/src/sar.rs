//! `tidewatch sar`: satellite radar (SAR) vessel detections matched to the store's AIS; the
//! unmatched ones are vessels that broadcast nothing ("dark"). The matching is
//! `query::sar`; this reads the detection file, names the zones each detection lies in, and
//! writes the answer.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use query::sar::{MatchConfig, SarResult};
use serde_json::{json, Map, Value};

/// Output formats of `tidewatch sar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SarFormat {
    /// A table for people.
    Table,
    /// One JSON object a line.
    Jsonl,
    /// CSV.
    Csv,
    /// A GeoJSON FeatureCollection of points.
    Geojson,
    /// KML: dark detections as red pins, matched ones as yellow.
    Kml,
}

/// Arguments of `tidewatch sar`.
#[derive(Debug, Args)]
pub struct SarArgs {
    /// SAR detections: CSV with a header naming time, lat and lon columns (also Global Fishing
    /// Watch's `detect_timestamp`, `detect_lat`, `detect_lon`; optional id, length_m, score),
    /// or a GeoJSON FeatureCollection of Points with a `time` property.
    detections: PathBuf,
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Distance allowed between a detection and where a vessel was at the time of a fix,
    /// metres (SAR and AIS placement).
    #[arg(long, default_value_t = 1000.0)]
    max_distance_m: f64,
    /// Distance allowed for every minute between the detection and the vessel's nearest fix,
    /// metres (100: 3.2 kn off the reckoned line).
    #[arg(long, default_value_t = 100.0)]
    drift_m_per_min: f64,
    /// How far before and after a detection AIS fixes are looked for (30m, 1h).
    #[arg(long, default_value = "30m", value_parser = crate::ingest::parse_duration_ms)]
    window: i64,
    /// Only the detections no AIS vessel could be.
    #[arg(long)]
    dark: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: SarFormat,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Store the dark detections as `dark_vessel` events (with the store's other events: the
    /// API and the map show them, partners as their source's label allows). Matching the same
    /// file again replaces them (a detection matched now is withdrawn); `detect --write` keeps
    /// them.
    #[arg(long)]
    write: bool,
    /// The source the stored events name (a partner's releasability label applies to it:
    /// `tidewatch source label NAME ...`).
    #[arg(long, default_value = "sar")]
    source: String,
}

/// Runs `tidewatch sar`.
pub fn run(a: SarArgs) -> Result<()> {
    if !(a.max_distance_m > 0.0 && a.max_distance_m <= 100_000.0) {
        anyhow::bail!("--max-distance-m must be above 0 and at most 100000");
    }
    if !(0.0..=10_000.0).contains(&a.drift_m_per_min) {
        anyhow::bail!("--drift-m-per-min must be 0 to 10000");
    }
    if !(60_000..=86_400_000).contains(&a.window) {
        anyhow::bail!("--window must be 1 minute to 1 day");
    }
    let source = a.source.trim().to_owned();
    if source.is_empty() || source.contains(['/', ',', '\n']) || source.starts_with("link:") {
        anyhow::bail!("--source {source:?}: a name without '/', ',' or a line break, not link:...");
    }
    let read = query::sar::read_detections(&a.detections)?;
    for (list, what) in [(&read.refused, "left out"), (&read.notes, "kept")] {
        for (n, reason) in list.iter().take(10) {
            eprintln!(
                "tidewatch: warning: {} item {n} {what}: {reason}",
                a.detections.display()
            );
        }
        if list.len() > 10 {
            eprintln!("tidewatch: warning: {} more items {what}", list.len() - 10);
        }
    }
    let reader = query::Reader::open(&a.store)?;
    let cfg = MatchConfig {
        base_m: a.max_distance_m,
        drift_m_per_min: a.drift_m_per_min,
        window_ms: a.window,
    };
    let results = reader.match_sar(&read.detections, &cfg)?;
    let zones = crate::detecting::store_zones(&a.store)?;
    let dark = results.iter().filter(|r| r.matched.is_none()).count();
    eprintln!(
        "sar: {} detection(s) read ({} left out, {} with a value left empty), {} matched to \
         AIS, {dark} dark",
        read.detections.len() + read.refused.len(),
        read.refused.len(),
        emptied_rows(&read.notes),
        results.len() - dark
    );
    let shown: Vec<(&SarResult, Vec<&str>)> = results
        .iter()
        .filter(|r| !a.dark || r.matched.is_none())
        .map(|r| {
            let mut at = Vec::new();
            zones.zones_at(r.detection.lat, r.detection.lon, &mut at);
            let z = at
                .iter()
                .map(|&i| zones.zones()[i as usize].name())
                .collect();
            (r, z)
        })
        .collect();
    if a.write {
        let events: Vec<store::EventRow> = shown
            .iter()
            .filter(|(r, _)| r.matched.is_none())
            .map(|(r, z)| dark_event(r, z, &source))
            .collect();
        // A detection matched now was perhaps dark in an earlier match of the file.
        let withdrawn: Vec<String> = results
            .iter()
            .filter(|r| r.matched.is_some())
            .map(|r| dark_id(&r.detection, &source))
            .collect();
        // Events only, in one registry transaction: no store files are touched, so this needs
        // not the writer lock and works beside a running ingest or server (SQLite orders the
        // two writers; ids of other types are never the same).
        let mut reg = store::RegistryDb::open(&a.store.join("registry.sqlite"))?;
        let (new, gone) = reg.add_events(&events, &withdrawn)?;
        eprintln!(
            "sar: {} dark_vessel event(s) stored ({new} new), {gone} withdrawn (matched now) in {}",
            events.len(),
            a.store.display()
        );
    }
    let mut out = crate::query::output(a.out.as_deref())?;
    write(&mut out, a.format, &shown)?;
    out.flush()?;
    Ok(())
}

/// A dark detection as a stored event (the common event schema, `docs/fields.md`): no
/// vessels, at the detection's place and time, its source the SAR provider.
fn dark_event(r: &SarResult, zones: &[&str], source: &str) -> store::EventRow {
    let d = &r.detection;
    let kind = detect::EventType::DarkVessel;
    let id = dark_id(d, source);
    let json = json!({
        "id": id,
        "type": kind.as_str(),
        "start_ms": d.time_ms,
        "end_ms": d.time_ms,
        "open": false,
        "last_ms": d.time_ms,
        "vessels": [],
        "lat": d.lat,
        "lon": d.lon,
        "zones": zones,
        "confidence": d.score.filter(|s| (0.0..=1.0).contains(s)),
        "evidence": [],
        "sources": [source],
        "detection_id": d.id,
        "length_m": d.length_m,
        "score": d.score,
        "candidates": r.other_candidates,
    });
    store::EventRow {
        id,
        kind: kind.as_str().to_owned(),
        start_ms: d.time_ms,
        end_ms: Some(d.time_ms),
        open: false,
        mmsis: Vec::new(),
        zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        json: json.to_string(),
    }
}

/// The event id of a dark detection: from its source, id and time (the same detection
/// matched again has the same id).
fn dark_id(d: &query::sar::Detection, source: &str) -> String {
    detect::EventId::derive(
        detect::EventType::DarkVessel,
        &[],
        d.time_ms,
        &format!("{source}\n{}", d.id),
    )
    .to_string()
}

/// A result as a flat JSON object (the columns of every format).
fn fields(r: &SarResult, zones: &[&str]) -> Map<String, Value> {
    let d = &r.detection;
    let m = r.matched.as_ref();
    let v = json!({
        "id": d.id,
        "time": query::iso8601_ms(d.time_ms),
        "lat": d.lat,
        "lon": d.lon,
        "length_m": d.length_m,
        "score": d.score,
        "status": if m.is_some() { "matched" } else { "dark" },
        "mmsi": m.map(|m| m.mmsi),
        "name": m.and_then(|m| m.name.clone()),
        "ship_type": m.and_then(|m| m.ship_type),
        "flag": m.and_then(|m| m.flag.clone()),
        "distance_m": m.map(|m| (m.distance_m * 10.0).round() / 10.0),
        "fix_gap_s": m.map(|m| m.fix_gap_s.round()),
        "how": m.map(|m| m.how),
        "other_candidates": r.other_candidates,
        "zones": zones,
    });
    match v {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

const COLUMNS: [&str; 16] = [
    "id",
    "time",
    "lat",
    "lon",
    "length_m",
    "score",
    "status",
    "mmsi",
    "name",
    "ship_type",
    "flag",
    "distance_m",
    "fix_gap_s",
    "how",
    "other_candidates",
    "zones",
];

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    }
}

fn write(out: &mut dyn Write, format: SarFormat, rows: &[(&SarResult, Vec<&str>)]) -> Result<()> {
    match format {
        SarFormat::Jsonl => {
            for (r, z) in rows {
                writeln!(out, "{}", Value::Object(fields(r, z)))?;
            }
        }
        SarFormat::Csv => {
            writeln!(out, "{}", COLUMNS.join(","))?;
            for (r, z) in rows {
                let f = fields(r, z);
                let line: Vec<String> = COLUMNS
                    .iter()
                    .map(|c| crate::detecting::commands::csv_field(&cell(&f[*c])))
                    .collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        SarFormat::Geojson => {
            let features: Vec<Value> = rows
                .iter()
                .map(|(r, z)| {
                    json!({"type": "Feature",
                           "geometry": {"type": "Point",
                                        "coordinates": [r.detection.lon, r.detection.lat]},
                           "properties": Value::Object(fields(r, z))})
                })
                .collect();
            writeln!(
                out,
                "{}",
                json!({"type": "FeatureCollection", "features": features})
            )?;
        }
        SarFormat::Kml => {
            let dark = rows.iter().filter(|(r, _)| r.matched.is_none()).count();
            let mut w = query::kml::KmlWriter::new(
                &mut *out,
                "Tidewatch SAR detections",
                &format!(
                    "{} detections: {dark} dark (red), {} matched to AIS (yellow).",
                    rows.len(),
                    rows.len() - dark
                ),
            )?;
            for (r, z) in rows {
                let d = &r.detection;
                let name = match &r.matched {
                    Some(m) => format!(
                        "SAR {}: {}",
                        d.id,
                        query::kml::vessel_label(m.mmsi, m.name.as_deref())
                    ),
                    None => format!("SAR {}: dark", d.id),
                };
                w.placemark(&query::kml::Placemark {
                    name,
                    style: Some(if r.matched.is_some() {
                        "event"
                    } else {
                        "alert"
                    }),
                    when_ms: Some(d.time_ms),
                    span_ms: None,
                    heading_deg: None,
                    lat: d.lat,
                    lon: d.lon,
                    data: fields(r, z),
                })?;
            }
            w.finish()?;
        }
        SarFormat::Table => {
            writeln!(
                out,
                "{:<16} {:<20} {:>9} {:>10} {:<7} {:>9} {:<20} {:>8} {:>6}  zones",
                "id", "time", "lat", "lon", "status", "mmsi", "name", "dist_m", "gap_s"
            )?;
            for (r, z) in rows {
                let d = &r.detection;
                let m = r.matched.as_ref();
                let t = query::iso8601_ms(d.time_ms);
                writeln!(
                    out,
                    "{:<16} {:<20} {:>9.4} {:>10.4} {:<7} {:>9} {:<20} {:>8} {:>6}  {}",
                    clip(&d.id, 16),
                    &t[..19.min(t.len())],
                    d.lat,
                    d.lon,
                    if m.is_some() { "matched" } else { "dark" },
                    m.map_or(String::new(), |m| m.mmsi.to_string()),
                    clip(m.and_then(|m| m.name.as_deref()).unwrap_or(""), 20),
                    m.map_or(String::new(), |m| format!("{:.0}", m.distance_m)),
                    m.map_or(String::new(), |m| format!("{:.0}", m.fix_gap_s)),
                    z.join(", ")
                )?;
            }
            writeln!(out, "{} detection(s)", rows.len())?;
        }
    }
    Ok(())
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Detections kept with a value left empty: a row with two such values is one.
fn emptied_rows(notes: &[(usize, String)]) -> usize {
    notes
        .iter()
        .map(|(n, _)| n)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_detection_with_two_values_left_empty_counts_once() {
        let notes = [
            (3, "length_m `x` is not a number: left empty".to_owned()),
            (3, "score `y` is not a number: left empty".to_owned()),
            (7, "score 2 is out of range: left empty".to_owned()),
        ];
        assert_eq!(super::emptied_rows(&notes), 2);
        assert_eq!(super::emptied_rows(&[]), 0);
    }
}
