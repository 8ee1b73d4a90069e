//! Streaming writers: JSON lines, CSV and GeoJSON, a row at a time (memory does not grow with
//! the answer). Field names and units are those of `docs/fields.md`; the JSON objects of the
//! three formats carry the same names as the CSV headers.

use crate::{iso8601_ms, Vessel};
use serde_json::{json, Map, Value};
use std::io::{self, Write};
use store::{IdentityRow, PositionRow};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object a line.
    Jsonl,
    /// CSV with a header line.
    Csv,
    /// A GeoJSON FeatureCollection (Point features; a track's segments as LineStrings first).
    Geojson,
}

/// An `f32` as the decimal it was written from (`243.1`, not `243.10000610351562`).
fn dec(v: Option<f32>) -> Option<f64> {
    v.and_then(|x| x.to_string().parse().ok())
}

/// The columns of a vessel row, in CSV order.
pub const VESSEL_FIELDS: [&str; 24] = [
    "mmsi",
    "class",
    "flag",
    "name",
    "callsign",
    "imo",
    "ship_type",
    "ship_type_text",
    "length_m",
    "beam_m",
    "destination",
    "draught_m",
    "first_seen",
    "last_seen",
    "reports",
    "position_time",
    "lat",
    "lon",
    "sog_knots",
    "cog_deg",
    "heading_deg",
    "nav_status",
    "identity_changes",
    "former",
];

/// A vessel as a JSON object (the fields of [`VESSEL_FIELDS`] but the last two, which only
/// `vessel` fills).
pub fn vessel_json(v: &Vessel) -> Map<String, Value> {
    let r = &v.row;
    let j = json!({
        "mmsi": r.mmsi,
        "class": r.class,
        "flag": r.flag,
        "name": r.name,
        "callsign": r.callsign,
        "imo": r.imo,
        "ship_type": r.ship_type,
        "ship_type_text": r.ship_type_text,
        "length_m": r.length_m,
        "beam_m": r.beam_m,
        "destination": r.destination,
        "draught_m": dec(r.draught_m),
        "first_seen": r.first_seen_ms.map(iso8601_ms),
        "last_seen": r.last_seen_ms.map(iso8601_ms),
        "reports": if v.reports_known { json!(r.reports) } else { Value::Null },
        "position_time": r.position_time_ms.map(iso8601_ms),
        "lat": r.lat,
        "lon": r.lon,
        "sog_knots": dec(r.sog_knots),
        "cog_deg": dec(r.cog_deg),
        "heading_deg": r.heading_deg,
        "nav_status": r.nav_status,
    });
    match j {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// An identity change as JSON.
pub fn identity_json(h: &IdentityRow) -> Value {
    json!({"time": iso8601_ms(h.time_ms), "field": h.field, "old": h.old, "new": h.new})
}

/// A position as a JSON object.
pub fn position_json(r: &PositionRow) -> Map<String, Value> {
    let j = json!({
        "time": iso8601_ms(r.time_ms), "mmsi": r.mmsi, "lat": r.lat, "lon": r.lon,
        "sog_knots": dec(r.sog_knots), "cog_deg": dec(r.cog_deg), "heading_deg": r.heading_deg,
        "nav_status": r.nav_status, "msg_type": r.msg_type, "segment": r.segment,
        "flags": r.flags, "sources": r.sources,
    });
    match j {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The columns of a position row, in CSV order.
pub const POSITION_FIELDS: [&str; 12] = [
    "time",
    "mmsi",
    "lat",
    "lon",
    "sog_knots",
    "cog_deg",
    "heading_deg",
    "nav_status",
    "msg_type",
    "segment",
    "flags",
    "sources",
];

/// One CSV cell: quoted when it holds a separator, quote or line end.
fn csv_cell(out: &mut impl Write, v: &Value) -> io::Result<()> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) => csv_text(out, s),
        Value::Array(a) => {
            let joined: Vec<String> = a
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            csv_text(out, &joined.join(";"))
        }
        other => write!(out, "{other}"),
    }
}

fn csv_text(out: &mut impl Write, s: &str) -> io::Result<()> {
    if s.contains([',', '"', '\n', '\r', ';']) {
        write!(out, "\"{}\"", s.replace('"', "\"\""))
    } else {
        out.write_all(s.as_bytes())
    }
}

/// Writes rows (as JSON objects) one at a time in a format.
#[derive(Debug)]
pub struct RowWriter<W: Write> {
    out: W,
    format: Format,
    columns: &'static [&'static str],
    rows: u64,
    open: bool,
}

impl<W: Write> RowWriter<W> {
    /// Starts the output (the CSV header, the GeoJSON collection's opening).
    pub fn new(mut out: W, format: Format, columns: &'static [&'static str]) -> io::Result<Self> {
        match format {
            Format::Csv => writeln!(out, "{}", columns.join(","))?,
            Format::Geojson => out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?,
            Format::Jsonl => {}
        }
        Ok(RowWriter {
            out,
            format,
            columns,
            rows: 0,
            open: true,
        })
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// A GeoJSON feature with any geometry (ignored in other formats).
    pub fn feature(&mut self, geometry: Value, properties: Value) -> io::Result<()> {
        if self.format != Format::Geojson {
            return Ok(());
        }
        if self.rows > 0 {
            self.out.write_all(b",\n")?;
        } else {
            self.out.write_all(b"\n")?;
        }
        serde_json::to_writer(
            &mut self.out,
            &json!({"type": "Feature", "geometry": geometry, "properties": properties}),
        )?;
        self.rows += 1;
        Ok(())
    }

    /// One row; in GeoJSON a Point at its `lon`/`lat` (null geometry without them).
    pub fn row(&mut self, row: Map<String, Value>) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &row)?;
                self.out.write_all(b"\n")?;
                self.rows += 1;
            }
            Format::Csv => {
                for (i, c) in self.columns.iter().enumerate() {
                    if i > 0 {
                        self.out.write_all(b",")?;
                    }
                    csv_cell(&mut self.out, row.get(*c).unwrap_or(&Value::Null))?;
                }
                self.out.write_all(b"\n")?;
                self.rows += 1;
            }
            Format::Geojson => {
                let geometry = match (row.get("lon"), row.get("lat")) {
                    (Some(lon @ Value::Number(_)), Some(lat @ Value::Number(_))) => {
                        json!({"type": "Point", "coordinates": [lon, lat]})
                    }
                    _ => Value::Null,
                };
                self.feature(geometry, Value::Object(row))?;
            }
        }
        Ok(())
    }

    /// Ends the output and returns the writer (flushed).
    pub fn finish(mut self) -> io::Result<W> {
        if self.open && self.format == Format::Geojson {
            self.out.write_all(b"\n]}\n")?;
        }
        self.open = false;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes vessels in a format, a row at a time.
pub fn write_vessels<W: Write>(out: W, format: Format, vessels: &[Vessel]) -> io::Result<W> {
    let mut w = RowWriter::new(out, format, &VESSEL_FIELDS[..22])?;
    for v in vessels {
        w.row(vessel_json(v))?;
    }
    w.finish()
}

/// Writes a track in a format, a row at a time. GeoJSON: one LineString per segment of two
/// positions or more (positions of a segment in time order), then every position as a Point.
/// Memory beyond the rows: one index (4 bytes) a position.
pub fn write_track<W: Write>(out: W, format: Format, rows: &[PositionRow]) -> io::Result<W> {
    let mut w = RowWriter::new(out, format, &POSITION_FIELDS)?;
    if format == Format::Geojson {
        let mut order: Vec<u32> = (0..rows.len() as u32)
            .filter(|&i| rows[i as usize].segment.is_some())
            .collect();
        // Stable: each segment's positions stay in time order.
        order.sort_by_key(|&i| rows[i as usize].segment);
        for group in order.chunk_by(|&a, &b| rows[a as usize].segment == rows[b as usize].segment) {
            if group.len() < 2 {
                continue;
            }
            let coords: Vec<[f64; 2]> = group
                .iter()
                .map(|&i| [rows[i as usize].lon, rows[i as usize].lat])
                .collect();
            w.feature(
                json!({"type": "LineString", "coordinates": coords}),
                json!({"segment": rows[group[0] as usize].segment}),
            )?;
        }
    }
    for r in rows {
        w.row(position_json(r))?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: i64, seg: Option<u32>) -> PositionRow {
        PositionRow {
            time_ms: t,
            mmsi: 1,
            lat: 1.0,
            lon: t as f64,
            segment: seg,
            sources: vec!["a,b".to_owned()],
            ..PositionRow::default()
        }
    }

    #[test]
    fn geojson_track_is_one_valid_document() {
        let rows = [
            row(1, Some(0)),
            row(2, Some(1)),
            row(3, Some(0)),
            row(4, None),
        ];
        let out = write_track(Vec::new(), Format::Geojson, &rows).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let f = v["features"].as_array().unwrap();
        assert_eq!(f.len(), 1 + 4); // segment 0 (segment 1 has one position), four points
        assert_eq!(
            f[0]["geometry"]["coordinates"],
            json!([[1.0, 1.0], [3.0, 1.0]])
        );
        assert_eq!(f[4]["properties"]["time"], "1970-01-01T00:00:00.004Z");
        let empty = write_track(Vec::new(), Format::Geojson, &[]).unwrap();
        let v: Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(v["features"], json!([]));
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let out = write_track(Vec::new(), Format::Csv, &[row(1, None)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().nth(1).unwrap(),
            "1970-01-01T00:00:00.001Z,1,1.0,1.0,,,,,0,,0,\"a,b\""
        );
    }
}
