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

/// `YYYY-MM-DDTHH:MM:SS.sssZ` appended to `buf` (as [`iso8601_ms`], without allocating).
fn push_time(buf: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Proleptic Gregorian date of a day number (days since 1970-01-01).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        buf,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    );
}

/// A float as JSON and CSV write it: the shortest text that reads back to it, with `.0` on
/// whole numbers (`13.0`, `243.1`; an `f32` as the decimal it was written from).
fn push_float(buf: &mut Vec<u8>, v: impl std::fmt::Display) {
    let start = buf.len();
    let _ = write!(buf, "{v}");
    if !buf[start..]
        .iter()
        .any(|&b| b == b'.' || b == b'e' || b == b'N' || b == b'i')
    {
        buf.extend_from_slice(b".0");
    }
}

fn push_opt<T: std::fmt::Display>(buf: &mut Vec<u8>, v: Option<T>, json: bool) {
    match v {
        Some(x) => {
            let _ = write!(buf, "{x}");
        }
        None if json => buf.extend_from_slice(b"null"),
        None => {}
    }
}

fn push_opt_float(buf: &mut Vec<u8>, v: Option<f32>, json: bool) {
    match v {
        Some(x) if x.is_finite() => push_float(buf, x),
        _ if json => buf.extend_from_slice(b"null"),
        _ => {}
    }
}

/// A position as a JSON object ([`position_json`]'s fields, in [`POSITION_FIELDS`] order).
fn push_position_json(buf: &mut Vec<u8>, r: &PositionRow) {
    buf.extend_from_slice(b"{\"time\":\"");
    push_time(buf, r.time_ms);
    let _ = write!(buf, "\",\"mmsi\":{},\"lat\":", r.mmsi);
    push_float(buf, r.lat);
    buf.extend_from_slice(b",\"lon\":");
    push_float(buf, r.lon);
    buf.extend_from_slice(b",\"sog_knots\":");
    push_opt_float(buf, r.sog_knots, true);
    buf.extend_from_slice(b",\"cog_deg\":");
    push_opt_float(buf, r.cog_deg, true);
    buf.extend_from_slice(b",\"heading_deg\":");
    push_opt(buf, r.heading_deg, true);
    buf.extend_from_slice(b",\"nav_status\":");
    push_opt(buf, r.nav_status, true);
    let _ = write!(buf, ",\"msg_type\":{},\"segment\":", r.msg_type);
    push_opt(buf, r.segment, true);
    let _ = write!(buf, ",\"flags\":{},\"sources\":", r.flags);
    let _ = serde_json::to_writer(&mut *buf, &r.sources);
    buf.push(b'}');
}

fn push_position_csv(buf: &mut Vec<u8>, r: &PositionRow) {
    push_time(buf, r.time_ms);
    let _ = write!(buf, ",{},", r.mmsi);
    push_float(buf, r.lat);
    buf.push(b',');
    push_float(buf, r.lon);
    buf.push(b',');
    push_opt_float(buf, r.sog_knots, false);
    buf.push(b',');
    push_opt_float(buf, r.cog_deg, false);
    buf.push(b',');
    push_opt(buf, r.heading_deg, false);
    buf.push(b',');
    push_opt(buf, r.nav_status, false);
    let _ = write!(buf, ",{},", r.msg_type);
    push_opt(buf, r.segment, false);
    let _ = write!(buf, ",{},", r.flags);
    let _ = csv_text(buf, &r.sources.join(";"));
    buf.push(b'\n');
}

/// Writes a track in a format, a row at a time. GeoJSON: one LineString per segment of two
/// positions or more (positions of a segment in time order), then every position as a Point.
/// Memory beyond the rows: one index (4 bytes) a position, and one row's text.
pub fn write_track<W: Write>(mut out: W, format: Format, rows: &[PositionRow]) -> io::Result<W> {
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    match format {
        Format::Csv => {
            writeln!(out, "{}", POSITION_FIELDS.join(","))?;
            for r in rows {
                buf.clear();
                push_position_csv(&mut buf, r);
                out.write_all(&buf)?;
            }
        }
        Format::Jsonl => {
            for r in rows {
                buf.clear();
                push_position_json(&mut buf, r);
                buf.push(b'\n');
                out.write_all(&buf)?;
            }
        }
        Format::Geojson => {
            out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
            let mut first = true;
            let mut sep = |out: &mut W| -> io::Result<()> {
                out.write_all(if first { b"\n" } else { b",\n" })?;
                first = false;
                Ok(())
            };
            let mut order: Vec<u32> = (0..rows.len() as u32)
                .filter(|&i| rows[i as usize].segment.is_some())
                .collect();
            // Stable: each segment's positions stay in time order.
            order.sort_by_key(|&i| rows[i as usize].segment);
            for group in
                order.chunk_by(|&a, &b| rows[a as usize].segment == rows[b as usize].segment)
            {
                if group.len() < 2 {
                    continue;
                }
                sep(&mut out)?;
                out.write_all(
                    b"{\"type\":\"Feature\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[",
                )?;
                for (k, &i) in group.iter().enumerate() {
                    let r = &rows[i as usize];
                    buf.clear();
                    if k > 0 {
                        buf.push(b',');
                    }
                    buf.push(b'[');
                    push_float(&mut buf, r.lon);
                    buf.push(b',');
                    push_float(&mut buf, r.lat);
                    buf.push(b']');
                    out.write_all(&buf)?;
                }
                let seg = rows[group[0] as usize].segment.unwrap_or_default();
                write!(out, "]}},\"properties\":{{\"segment\":{seg}}}}}")?;
            }
            for r in rows {
                sep(&mut out)?;
                buf.clear();
                buf.extend_from_slice(
                    b"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[",
                );
                push_float(&mut buf, r.lon);
                buf.push(b',');
                push_float(&mut buf, r.lat);
                buf.extend_from_slice(b"]},\"properties\":");
                push_position_json(&mut buf, r);
                buf.push(b'}');
                out.write_all(&buf)?;
            }
            out.write_all(b"\n]}\n")?;
        }
    }
    out.flush()?;
    Ok(out)
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
    fn direct_json_matches_position_json() {
        let mut r = row(1_768_464_000_123, Some(3));
        r.sog_knots = Some(13.0);
        r.cog_deg = Some(243.1);
        r.heading_deg = Some(511);
        r.lat = -12.5;
        let mut buf = Vec::new();
        push_position_json(&mut buf, &r);
        let direct: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(direct, Value::Object(position_json(&r)));
        assert!(String::from_utf8(buf)
            .unwrap()
            .contains("\"cog_deg\":243.1,"));
        for ms in [0, -1, 951_782_400_000, 4_102_444_799_999, 1_709_251_199_999] {
            let mut b = Vec::new();
            push_time(&mut b, ms);
            assert_eq!(String::from_utf8(b).unwrap(), iso8601_ms(ms));
        }
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
