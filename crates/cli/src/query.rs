//! Read commands over a store: `vessels`, `vessel`, `track`. Argument parsing and printing
//! only: the questions are answered by the `query` library (shared with the API). They only
//! read (read permission is enough), and only see committed ingest runs.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use query::format::{self, Format};
use query::{BBox, Reader, ShipTypes, TimeRange, TrackRequest, VesselFilter};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `reports`, `flags` and the units mean, printed after `--help`.
const FIELDS_HELP: &str = "\
Times: RFC 3339 (2026-01-15T08:00:00Z), a date (2026-01-15, midnight UTC), `now`, `now-6h`,
or Unix seconds. Durations: 90s, 5m, 1h30m, 1.5h, 1d, 2w (a bare number is seconds).
--bbox min_lon,min_lat,max_lon,max_lat in degrees; min_lon > max_lon crosses the antimeridian
(170,-10,-170,10).

Fields (docs/fields.md): times UTC, lat/lon WGS84 degrees, sog_knots knots, cog_deg and
heading_deg degrees true, length_m/beam_m/draught_m metres. `reports`: position and static
reports received from the vessel (null in a picture --at a past time). `flags` on positions
(bits, added): 1 bad position (not placed in a segment), 2 moving with no course over ground,
4 type 27 long-range report (coarse), 8 suspect (at (0, 0), or a spike without speed and
course that no track can reach). `nav_status`: ITU code (0 under way using engine,
1 at anchor, 5 moored, 7 engaged in fishing, 15 not defined...).";

/// Output format of `vessels`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VesselsFormat {
    /// One JSON object a line.
    Jsonl,
    /// CSV with a header line.
    Csv,
    /// A GeoJSON FeatureCollection of Points (null geometry without a position).
    Geojson,
    /// KML (Google Earth, QGIS): a placemark per vessel turned to its course.
    Kml,
    /// Cursor on Target for TAK: one CoT event a line (see --stale).
    Cot,
}

/// Arguments of `tidewatch vessels`.
#[derive(Debug, Args)]
#[command(after_help = FIELDS_HELP)]
pub struct VesselsArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Only vessels whose latest position is inside `min_lon,min_lat,max_lon,max_lat`
    /// (degrees; min_lon > max_lon crosses the antimeridian, e.g. 170,-10,-170,10).
    #[arg(long, value_parser = BBox::parse, allow_hyphen_values = true)]
    bbox: Option<BBox>,
    /// Name contains this text (case-insensitive; former names count).
    #[arg(long)]
    name: Option<String>,
    /// IMO number, current or former: a renamed, reflagged ship under all its MMSIs.
    #[arg(long)]
    imo: Option<u32>,
    /// Call sign (case-insensitive; former call signs count).
    #[arg(long)]
    callsign: Option<String>,
    /// Flag, ISO 3166 alpha-2 from the MMSI (e.g. DK, PA).
    #[arg(long, value_parser = flag_code)]
    flag: Option<String>,
    /// Ship type: a code (80), a range (80-89), or fishing, towing (31-32), tug (52 and
    /// towing), military, sailing, pleasure, hsc, passenger, cargo, tanker.
    #[arg(long, value_parser = ShipTypes::parse)]
    ship_type: Option<ShipTypes>,
    /// Transponder class.
    #[arg(long, value_parser = ["A", "B", "a", "b"])]
    class: Option<String>,
    /// Latest navigation status code (0-15).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=15))]
    nav_status: Option<u8>,
    /// Last seen at or after this time (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    since: Option<i64>,
    /// The picture at this time instead of now: each vessel's last position at or before it
    /// (within --max-age), with the identity it had then; `reports` is null.
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    at: Option<i64>,
    /// With --at: how old a vessel's last position may be to count (30m, 1h, 1.5h; a bare
    /// number is seconds).
    #[arg(long, default_value = "1h", value_parser = query::parse_duration_ms, requires = "at")]
    max_age: i64,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: VesselsFormat,
    /// With --format cot: how long a TAK client keeps each vessel after the export before it
    /// greys it out (`stale`; 10m, 1h; a bare number is seconds).
    #[arg(long, default_value = "10m", value_parser = query::parse_duration_ms)]
    stale: i64,
    /// Write to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `tidewatch vessel`.
#[derive(Debug, Args)]
#[command(after_help = FIELDS_HELP)]
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
    /// A GeoJSON FeatureCollection: one LineString per segment, then the positions as Points
    /// (written as it goes: memory does not grow with the track).
    Geojson,
    /// CSV, one position a line.
    Csv,
    /// One JSON object a position.
    Jsonl,
    /// GeoParquet (needs --out).
    Parquet,
    /// KML (Google Earth, QGIS): a time-animated line per segment, then the positions.
    Kml,
}

/// Arguments of `tidewatch track`.
#[derive(Debug, Args)]
#[command(after_help = FIELDS_HELP)]
pub struct TrackArgs {
    /// MMSI.
    mmsi: u32,
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// From this time, inclusive (RFC 3339, a date, now-6h, Unix seconds).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    from: Option<i64>,
    /// Up to this time, exclusive (same forms as --from).
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    to: Option<i64>,
    /// Only positions inside `min_lon,min_lat,max_lon,max_lat` (min_lon > max_lon crosses the
    /// antimeridian).
    #[arg(long, value_parser = BBox::parse, allow_hyphen_values = true)]
    bbox: Option<BBox>,
    /// Output format.
    #[arg(long, value_enum, default_value = "geojson")]
    format: TrackFormat,
    /// Write to this file instead of stdout (required for parquet).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A flag as the store keeps it: ISO 3166 alpha-2, upper case.
fn flag_code(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(t.to_ascii_uppercase())
    } else {
        Err(format!(
            "`{s}` is not an ISO 3166 alpha-2 code (two letters: DK, not DNK)"
        ))
    }
}

/// Where an answer goes: a file or stdout, buffered.
pub(crate) fn output(out: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        )),
    })
}

/// Runs `tidewatch vessels`.
pub fn vessels(args: VesselsArgs) -> Result<()> {
    let reader = Reader::open(&args.store)?;
    let filter = VesselFilter {
        bbox: args.bbox,
        name: args.name,
        imo: args.imo,
        callsign: args.callsign,
        flag: args.flag,
        ship_type: args.ship_type,
        class: args.class.map(|c| c.to_ascii_uppercase()),
        nav_status: args.nav_status,
        seen_since_ms: args.since,
        at_ms: args.at,
        max_age_ms: args.max_age,
    };
    let list = reader.vessels(&filter)?;
    let format = match args.format {
        VesselsFormat::Jsonl => Format::Jsonl,
        VesselsFormat::Csv => Format::Csv,
        VesselsFormat::Geojson => Format::Geojson,
        VesselsFormat::Kml => {
            query::kml::write_vessels(output(args.out.as_deref())?, &list)?;
            return Ok(());
        }
        VesselsFormat::Cot => {
            let now = chrono::Utc::now().timestamp_millis();
            let (_, n) =
                query::cot::write_vessels(output(args.out.as_deref())?, &list, now, args.stale)?;
            let without = list.len() as u64 - n;
            if without > 0 {
                eprintln!("{n} vessels written; {without} without a position left out");
            }
            return Ok(());
        }
    };
    format::write_vessels(output(args.out.as_deref())?, format, &list)?;
    Ok(())
}

/// Runs `tidewatch vessel`: the vessel's state and identity history as one JSON object.
pub fn vessel(args: VesselArgs) -> Result<()> {
    let reader = Reader::open(&args.store)?;
    let d = reader.vessel(args.mmsi)?;
    let mut j = format::vessel_json(&d.vessel);
    j.insert(
        "identity_history".to_owned(),
        serde_json::Value::Array(d.history.iter().map(format::identity_json).collect()),
    );
    // Written, not printed: a closed pipe (`| head`) ends the command quietly, not in a panic.
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&j)?
    )?;
    Ok(())
}

/// Runs `tidewatch track`.
pub fn track(args: TrackArgs) -> Result<()> {
    let range = TimeRange::new(args.from, args.to)?;
    if matches!(args.format, TrackFormat::Parquet) && args.out.is_none() {
        bail!("--format parquet needs --out FILE");
    }
    let reader = Reader::open(&args.store)?;
    let rows = reader.track(&TrackRequest {
        mmsi: args.mmsi,
        range,
        bbox: args.bbox,
    })?;
    let format = match args.format {
        TrackFormat::Parquet => {
            let path = args.out.as_deref().unwrap_or(Path::new(""));
            return store::write_geoparquet(path, &rows)
                .with_context(|| format!("cannot write {}", path.display()));
        }
        TrackFormat::Geojson => Format::Geojson,
        TrackFormat::Csv => Format::Csv,
        TrackFormat::Jsonl => Format::Jsonl,
        TrackFormat::Kml => {
            let name = reader
                .vessel(args.mmsi)
                .ok()
                .and_then(|d| d.vessel.row.name);
            let title = format!(
                "Track of {}",
                query::kml::vessel_label(args.mmsi, name.as_deref())
            );
            query::kml::write_track(output(args.out.as_deref())?, &title, &rows)?;
            return Ok(());
        }
    };
    format::write_track(output(args.out.as_deref())?, format, &rows)?;
    Ok(())
}
