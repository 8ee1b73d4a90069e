//! Decoded AIS archives in CSV.
//!
//! Columns are found by header name, so column order and extra columns do not matter.
//! "Not available" conventions of both layouts (heading 511, COG 360, SOG 102.3, empty cells,
//! `Unknown` values, `IMO` prefixes) become `None` here. Cells that are not UTF-8 (a Latin-1
//! ship name) are read as Latin-1, so the row is kept; the DMA ship-type text is mapped to the
//! ITU code where it maps. The separator is `,` unless the caller says otherwise
//! ([`CsvReader::with_delimiter`]).

use std::collections::HashMap;
use std::io::Read;

/// The archive layouts Tidewatch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Danish Maritime Authority (`# Timestamp` as `dd/mm/yyyy HH:MM:SS`, UTC).
    Dma,
    /// US MarineCadastre / NOAA (`BaseDateTime` as `yyyy-mm-ddTHH:MM:SS`, UTC).
    MarineCadastre,
}

/// One decoded report from an archive.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CsvRecord {
    /// Transmitter.
    pub mmsi: u32,
    /// Time, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Latitude, degrees.
    pub lat: Option<f64>,
    /// Longitude, degrees.
    pub lon: Option<f64>,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// Navigation status code (MarineCadastre) or text (DMA, mapped to the ITU code).
    pub nav_status: Option<u8>,
    /// Vessel name.
    pub name: Option<String>,
    /// Call sign.
    pub callsign: Option<String>,
    /// IMO number.
    pub imo: Option<u32>,
    /// Ship and cargo type code (ITU-R M.1371): MarineCadastre's number, or DMA's text mapped
    /// to the code of its category (`Fishing` 30, `Cargo` 70, ...) where it maps.
    pub ship_type: Option<u8>,
    /// Ship type as text (DMA), kept whether or not it maps to a code.
    pub ship_type_text: Option<String>,
    /// Length, metres.
    pub length_m: Option<f32>,
    /// Beam, metres.
    pub width_m: Option<f32>,
    /// Draught, metres.
    pub draught_m: Option<f32>,
    /// Destination (DMA).
    pub destination: Option<String>,
    /// Transceiver class: `A` or `B`.
    pub class: Option<char>,
    /// The row is from a station that is no vessel: a base station, an aid to navigation or a
    /// search and rescue aircraft (DMA's `Type of mobile`; AIS messages 4, 21 and 9).
    pub not_a_vessel: bool,
    /// The position cells hold something that is no position (text, or beyond the globe
    /// other than AIS's "not available" 91 / 181); empty cells and 91 / 181 are "not
    /// available", not unusable.
    pub position_unusable: bool,
    /// Numeric cells (speed, course, heading, status, dimensions) that hold text that is no
    /// number: read as not available, and counted.
    pub cells_unparsed: u8,
}

/// Why a row was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowReject {
    /// The CSV row itself is malformed (wrong field count, bad quoting).
    BadRow,
    /// MMSI missing or not a number.
    BadMmsi,
    /// Time missing or unparseable.
    BadTime,
}

impl RowReject {
    /// Stable key for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RowReject::BadRow => "bad_row",
            RowReject::BadMmsi => "bad_mmsi",
            RowReject::BadTime => "bad_time",
        }
    }
}

/// Accounting of one archive: `rows == records + sum(rejected)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvStats {
    /// Layout recognised from the header.
    pub layout: Layout,
    /// Data rows read.
    pub rows: u64,
    /// Records produced.
    pub records: u64,
    /// Rows rejected, by reason.
    pub rejected: HashMap<RowReject, u64>,
    /// Rows (kept) with cells that are not UTF-8, read as Latin-1.
    pub not_utf8: u64,
    /// Records whose ship-type text (DMA) names no ITU category (`Reserved`, `Spare 1`, ...):
    /// the text is in the record, the code is `None`.
    pub ship_type_unmapped: u64,
    /// Numeric cells that were not numbers (read as not available), over every record.
    pub cells_unparsed: u64,
}

/// Why an archive could not be read at all.
#[derive(Debug)]
pub enum CsvError {
    /// The header matches no known layout; the header's column names.
    UnknownLayout(Vec<String>),
    /// The header is of a known layout but names no latitude and longitude columns.
    NoPositionColumns(Layout),
    /// Reading failed.
    Io(std::io::Error),
}

/// The first few of `names`, for messages: a header can have hundreds of columns.
pub fn header_excerpt(names: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut s: String = names
        .iter()
        .take(SHOWN)
        .map(|n| {
            let n: String = n.chars().take(24).collect();
            format!("`{n}`")
        })
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

/// What a known header needs, for messages.
pub const EXPECTED_HEADER: &str = "a header naming MMSI, a time column (`BaseDateTime` of \
     MarineCadastre, or `# Timestamp` with `Type of mobile` of the DMA) and the position \
     columns (`LAT`,`LON` or `Latitude`,`Longitude`)";

impl std::fmt::Display for CsvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CsvError::UnknownLayout(h) => write!(
                f,
                "unknown CSV layout: the header's {} columns start {}; expected {EXPECTED_HEADER}",
                h.len(),
                header_excerpt(h)
            ),
            CsvError::NoPositionColumns(l) => write!(
                f,
                "the {} header names no position columns (expected {})",
                match l {
                    Layout::Dma => "DMA",
                    Layout::MarineCadastre => "MarineCadastre",
                },
                match l {
                    Layout::Dma => "`Latitude` and `Longitude`",
                    Layout::MarineCadastre => "`LAT` and `LON`",
                }
            ),
            CsvError::Io(e) => write!(f, "cannot read CSV: {e}"),
        }
    }
}

impl std::error::Error for CsvError {}

/// Column positions by meaning.
struct Columns {
    idx: HashMap<&'static str, usize>,
}

impl Columns {
    fn get<'r>(&self, row: &'r csv::StringRecord, key: &str) -> Option<&'r str> {
        let v = row.get(*self.idx.get(key)?)?.trim();
        (!v.is_empty() && !v.eq_ignore_ascii_case("unknown") && v != "Undefined").then_some(v)
    }
}

fn columns(header: &csv::StringRecord) -> Result<(Layout, Columns), CsvError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('#').trim().to_owned())
        .collect();
    let find = |n: &str| names.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (layout, map): (Layout, &[(&'static str, &str)]) = if find("BaseDateTime").is_some() {
        (
            Layout::MarineCadastre,
            &[
                ("mmsi", "MMSI"),
                ("time", "BaseDateTime"),
                ("lat", "LAT"),
                ("lon", "LON"),
                ("sog", "SOG"),
                ("cog", "COG"),
                ("heading", "Heading"),
                ("name", "VesselName"),
                ("imo", "IMO"),
                ("callsign", "CallSign"),
                ("ship_type", "VesselType"),
                ("status", "Status"),
                ("length", "Length"),
                ("width", "Width"),
                ("draught", "Draft"),
                ("class", "TransceiverClass"),
            ],
        )
    } else if find("Timestamp").is_some() && find("Type of mobile").is_some() {
        (
            Layout::Dma,
            &[
                ("mmsi", "MMSI"),
                ("time", "Timestamp"),
                ("lat", "Latitude"),
                ("lon", "Longitude"),
                ("sog", "SOG"),
                ("cog", "COG"),
                ("heading", "Heading"),
                ("name", "Name"),
                ("imo", "IMO"),
                ("callsign", "Callsign"),
                ("ship_type_text", "Ship type"),
                ("status_text", "Navigational status"),
                ("length", "Length"),
                ("width", "Width"),
                ("draught", "Draught"),
                ("destination", "Destination"),
                ("mobile", "Type of mobile"),
            ],
        )
    } else {
        return Err(CsvError::UnknownLayout(names));
    };
    let idx: HashMap<&'static str, usize> = map
        .iter()
        .filter_map(|(k, n)| find(n).map(|i| (*k, i)))
        .collect();
    if !idx.contains_key("lat") || !idx.contains_key("lon") {
        return Err(CsvError::NoPositionColumns(layout));
    }
    Ok((layout, Columns { idx }))
}

/// An archive being read, a batch of rows at a time (so that several inputs can be merged).
pub struct CsvReader<R: Read> {
    r: csv::Reader<R>,
    cols: Columns,
    raw: csv::ByteRecord,
    stats: CsvStats,
}

impl<R: Read> std::fmt::Debug for CsvReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("stats", &self.stats)
            .finish()
    }
}

impl<R: Read> CsvReader<R> {
    /// Reads the header (`,`-separated) and recognises the layout.
    pub fn new(input: R) -> Result<Self, CsvError> {
        Self::with_delimiter(input, b',')
    }

    /// Reads the header, cells separated by `delimiter` (`,` or `;`), and recognises the
    /// layout.
    pub fn with_delimiter(input: R, delimiter: u8) -> Result<Self, CsvError> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(input);
        let header = r.byte_headers().map_err(|e| CsvError::Io(e.into()))?;
        let header: csv::StringRecord = header.iter().map(latin1_or_utf8).collect();
        let (layout, cols) = columns(&header)?;
        Ok(CsvReader {
            r,
            cols,
            raw: csv::ByteRecord::new(),
            stats: CsvStats {
                layout,
                rows: 0,
                records: 0,
                rejected: HashMap::new(),
                not_utf8: 0,
                ship_type_unmapped: 0,
                cells_unparsed: 0,
            },
        })
    }

    /// Reads up to `max_rows` rows, calling `sink` for every record; false at the end.
    pub fn next_batch(
        &mut self,
        max_rows: usize,
        mut sink: impl FnMut(CsvRecord),
    ) -> Result<bool, CsvError> {
        let stats = &mut self.stats;
        for _ in 0..max_rows {
            match self.r.read_byte_record(&mut self.raw) {
                Ok(false) => return Ok(false),
                Ok(true) => {
                    stats.rows += 1;
                    // Valid UTF-8 is taken as is (the buffer is reused); a row with other
                    // bytes is read cell by cell, those cells as Latin-1.
                    let row =
                        match csv::StringRecord::from_byte_record(std::mem::take(&mut self.raw)) {
                            Ok(row) => row,
                            Err(e) => {
                                stats.not_utf8 += 1;
                                let raw = e.into_byte_record();
                                let row = raw.iter().map(latin1_or_utf8).collect();
                                self.raw = raw;
                                row
                            }
                        };
                    match record(stats.layout, &self.cols, &row) {
                        Ok(rec) => {
                            stats.records += 1;
                            if rec.ship_type.is_none() && rec.ship_type_text.is_some() {
                                stats.ship_type_unmapped += 1;
                            }
                            stats.cells_unparsed += u64::from(rec.cells_unparsed);
                            sink(rec);
                        }
                        Err(why) => *stats.rejected.entry(why).or_default() += 1,
                    }
                    if self.raw.is_empty() {
                        self.raw = row.into_byte_record();
                    }
                }
                Err(e) if e.is_io_error() => return Err(CsvError::Io(e.into())),
                Err(_) => {
                    stats.rows += 1;
                    *stats.rejected.entry(RowReject::BadRow).or_default() += 1;
                }
            }
        }
        Ok(true)
    }

    /// The accounting so far.
    pub fn stats(&self) -> &CsvStats {
        &self.stats
    }
}

/// Reads an archive, calling `sink` for every record; returns the accounting.
pub fn read(input: impl Read, mut sink: impl FnMut(CsvRecord)) -> Result<CsvStats, CsvError> {
    let mut r = CsvReader::new(input)?;
    while r.next_batch(4096, &mut sink)? {}
    Ok(r.stats)
}

/// True when `first_line` is the header of a layout [`CsvReader`] reads.
pub fn is_known_header(first_line: &str) -> bool {
    header_check(first_line, b',').is_ok()
}

/// Whether `first_line`, cells separated by `delimiter`, is the header of a layout
/// [`CsvReader`] reads, and why not.
pub fn header_check(first_line: &str, delimiter: u8) -> Result<Layout, CsvError> {
    // Names may be quoted (R's `write.csv`, pandas with `QUOTE_ALL`), as the reader takes them.
    let header = csv::StringRecord::from(
        first_line
            .trim_end()
            .split(char::from(delimiter))
            .map(|c| c.trim().trim_matches('"'))
            .collect::<Vec<_>>(),
    );
    columns(&header).map(|(l, _)| l)
}

/// A cell as text: UTF-8 when it is, else Latin-1 (every byte one character).
fn latin1_or_utf8(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(b.iter().map(|&c| char::from(c)).collect()),
    }
}

fn num<T: std::str::FromStr>(v: Option<&str>) -> Option<T> {
    v.and_then(|s| s.parse().ok())
}

fn record(layout: Layout, c: &Columns, row: &csv::StringRecord) -> Result<CsvRecord, RowReject> {
    let mmsi: u32 = num(c.get(row, "mmsi")).ok_or(RowReject::BadMmsi)?;
    let time_ms = c
        .get(row, "time")
        .and_then(|t| parse_time(layout, t))
        .ok_or(RowReject::BadTime)?;
    let lat = num::<f64>(c.get(row, "lat")).filter(|v| v.abs() <= 90.0);
    let lon = num::<f64>(c.get(row, "lon")).filter(|v| v.abs() <= 180.0);
    // A cell that says "not available": empty, or AIS's 91 / 181.
    let absent = |k: &str, na: f64| {
        c.get(row, k)
            .map(str::trim)
            .is_none_or(|v| v.is_empty() || v.parse::<f64>().is_ok_and(|x| x == na))
    };
    let position_unusable =
        (lat.is_none() && !absent("lat", 91.0)) || (lon.is_none() && !absent("lon", 181.0));
    // Numeric cells, each parsed once; one holding something that is no number is counted.
    let unparsed = std::cell::Cell::new(0u8);
    let measured = |k: &str| -> Option<f32> {
        let v = c.get(row, k)?;
        let x = v.parse::<f32>().ok();
        if x.is_none() && !v.trim().is_empty() {
            unparsed.set(unparsed.get().saturating_add(1));
        }
        x
    };
    let sog_knots = measured("sog").filter(|v| (0.0..102.25).contains(v));
    let cog_deg = measured("cog").filter(|v| (0.0..360.0).contains(v));
    let heading_deg = measured("heading")
        .filter(|v| (0.0..360.0).contains(v))
        .map(|v| v as u16);
    let text = |k: &str| c.get(row, k).map(str::to_owned);
    let imo = c
        .get(row, "imo")
        .map(|s| s.trim_start_matches("IMO"))
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|&v| v != 0);
    let nav_status = match layout {
        Layout::MarineCadastre => measured("status").map(|v| v as u8).filter(|&v| v < 15),
        Layout::Dma => c.get(row, "status_text").and_then(dma_status),
    };
    let class = match layout {
        Layout::MarineCadastre => c.get(row, "class").and_then(|s| s.chars().next()),
        Layout::Dma => c.get(row, "mobile").and_then(|s| match s {
            "Class A" => Some('A'),
            "Class B" => Some('B'),
            _ => None,
        }),
    };
    Ok(CsvRecord {
        mmsi,
        time_ms,
        lat,
        lon,
        sog_knots,
        cog_deg,
        heading_deg,
        nav_status,
        name: text("name"),
        callsign: text("callsign"),
        imo,
        ship_type: match layout {
            Layout::MarineCadastre => num::<f32>(c.get(row, "ship_type"))
                .map(|v| v as u8)
                .filter(|&v| v != 0),
            Layout::Dma => c.get(row, "ship_type_text").and_then(dma_ship_type),
        },
        ship_type_text: text("ship_type_text"),
        length_m: measured("length").filter(|&v| v > 0.0),
        width_m: measured("width").filter(|&v| v > 0.0),
        draught_m: measured("draught").filter(|&v| v > 0.0),
        destination: text("destination"),
        class,
        not_a_vessel: match layout {
            Layout::MarineCadastre => false,
            Layout::Dma => c.get(row, "mobile").is_some_and(|s| {
                ["Base Station", "AtoN", "SAR Airborne"]
                    .iter()
                    .any(|k| s.eq_ignore_ascii_case(k))
            }),
        },
        position_unusable,
        cells_unparsed: unparsed.get(),
    })
}

/// Navigation status text of the DMA archives to the ITU code.
fn dma_status(s: &str) -> Option<u8> {
    Some(match s {
        "Under way using engine" => 0,
        "At anchor" => 1,
        "Not under command" => 2,
        "Restricted manoeuverability" | "Restricted maneuverability" => 3,
        "Constrained by her draught" => 4,
        "Moored" => 5,
        "Aground" => 6,
        "Engaged in fishing" => 7,
        "Under way sailing" => 8,
        "AIS-SART" => 14,
        _ => return None,
    })
}

/// Ship-type text of the DMA archives to the ITU-R M.1371 code of its category (table 53:
/// the first code of a range where the text names the range, e.g. `Cargo` 70). `Reserved`,
/// `Spare 1`, `Spare 2` and anything else name no single code: `None` (the text is kept).
fn dma_ship_type(s: &str) -> Option<u8> {
    Some(match s {
        "WIG" => 20,
        "Fishing" => 30,
        "Towing" => 31,
        "Towing long/wide" => 32,
        "Dredging" => 33,
        "Diving" => 34,
        "Military" => 35,
        "Sailing" => 36,
        "Pleasure" => 37,
        "HSC" => 40,
        "Pilot" => 50,
        "SAR" => 51,
        "Tug" => 52,
        "Port tender" => 53,
        "Anti-pollution" => 54,
        "Law enforcement" => 55,
        "Medical" => 58,
        "Not party to conflict" => 59,
        "Passenger" => 60,
        "Cargo" => 70,
        "Tanker" => 80,
        "Other" => 90,
        _ => return None,
    })
}

/// `yyyy-mm-ddTHH:MM:SS` (MarineCadastre) or `dd/mm/yyyy HH:MM:SS` (DMA), UTC, to ms.
fn parse_time(layout: Layout, s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| std::str::from_utf8(&b[r]).ok()?.parse::<i64>().ok();
    let (y, mo, d) = match layout {
        Layout::MarineCadastre if b[4] == b'-' && b[7] == b'-' => (n(0..4)?, n(5..7)?, n(8..10)?),
        Layout::Dma if b[2] == b'/' && b[5] == b'/' => (n(6..10)?, n(3..5)?, n(0..2)?),
        _ => return None,
    };
    let (h, mi, sec) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_both_layouts() {
        assert_eq!(
            parse_time(Layout::MarineCadastre, "2023-01-11T00:00:00"),
            Some(1_673_395_200_000)
        );
        assert_eq!(
            parse_time(Layout::Dma, "11/01/2023 00:00:00"),
            Some(1_673_395_200_000)
        );
        assert_eq!(parse_time(Layout::Dma, "2023-01-11T00:00:00"), None);
        assert_eq!(
            parse_time(Layout::MarineCadastre, "2023-13-11T00:00:00"),
            None
        );
    }

    #[test]
    fn dma_layout_and_conventions() {
        let data = "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D\n\
27/02/2024 00:00:00,Class A,219000873,56.990903,10.304282,Under way using engine,0.0,9.6,59.8,57,Unknown,OXSL2,NORDKAP,Fishing,,8,30,GPS,4.1,HIRTSHALS,27/02/2024 06:00:00,AIS,,,,\n\
27/02/2024 00:00:01,Base Station,2190068,91.0,181.0,Unknown value,,,,,Unknown,Unknown,,Undefined,,,,Surveyed,,Unknown,,AIS,,,,\n\
bad,Class A,219000873,56.9,10.3,,,,,,,,,,,,,,,,,,,,,\n";
        let mut rows = Vec::new();
        let s = read(data.as_bytes(), |r| rows.push(r)).unwrap();
        assert_eq!(s.layout, Layout::Dma);
        assert_eq!((s.rows, s.records), (3, 2));
        assert_eq!(s.rejected.get(&RowReject::BadTime), Some(&1));
        let a = &rows[0];
        assert_eq!(a.mmsi, 219_000_873);
        assert_eq!(a.nav_status, Some(0));
        assert_eq!(a.heading_deg, Some(57));
        assert_eq!(a.imo, None);
        assert_eq!(a.name.as_deref(), Some("NORDKAP"));
        assert_eq!(a.ship_type_text.as_deref(), Some("Fishing"));
        assert_eq!(a.ship_type, Some(30));
        assert_eq!(a.destination.as_deref(), Some("HIRTSHALS"));
        assert_eq!(a.class, Some('A'));
        assert!(!a.not_a_vessel);
        let b = &rows[1];
        assert_eq!((b.lat, b.lon, b.callsign.as_deref()), (None, None, None));
        assert!(b.not_a_vessel);
    }

    #[test]
    fn a_position_that_is_not_available_differs_from_one_that_is_unusable() {
        let data = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n\
            1,2023-01-11T00:00:00,95,200,3.0,4.0,5\n\
            2,2023-01-11T00:00:01,,,3.0,4.0,5\n\
            3,2023-01-11T00:00:02,abc,2.0,3.0,4.0,5\n\
            4,2023-01-11T00:00:03,91,181,abc,4.0,5\n\
            5,2023-01-11T00:00:04,1.0,2.0,3.0,4.0,5\n";
        let mut rows = Vec::new();
        let stats = read(data.as_bytes(), |r| rows.push(r)).unwrap();
        let unusable: Vec<bool> = rows.iter().map(|r| r.position_unusable).collect();
        assert_eq!(unusable, [true, false, true, false, false]);
        assert_eq!(rows[3].sog_knots, None);
        assert_eq!(rows[3].cells_unparsed, 1);
        assert_eq!(stats.cells_unparsed, 1);
        assert_eq!((rows[4].lat, rows[4].lon), (Some(1.0), Some(2.0)));
    }

    #[test]
    fn batches_read_the_same_records_as_one_pass() {
        let data = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading\n\
            1,2023-01-11T00:00:00,1.0,2.0,3.0,4.0,5\n\
            2,2023-01-11T00:00:01,1.0,2.0,3.0,4.0,5\n\
            x,2023-01-11T00:00:02,1.0,2.0,3.0,4.0,5\n\
            3,2023-01-11T00:00:03,1.0,2.0,3.0,4.0,5\n";
        let mut whole = Vec::new();
        let all = read(data.as_bytes(), |r| whole.push(r)).unwrap();
        let mut r = CsvReader::new(data.as_bytes()).unwrap();
        let mut parts = Vec::new();
        let mut calls = 0;
        while r.next_batch(1, |x| parts.push(x)).unwrap() {
            calls += 1;
        }
        assert_eq!(calls, 4);
        assert_eq!(parts, whole);
        assert_eq!(r.stats(), &all);
        assert_eq!(all.rejected.get(&RowReject::BadMmsi), Some(&1));
        assert!(is_known_header("MMSI,BaseDateTime,LAT,LON"));
        assert!(is_known_header(
            "# Timestamp,Type of mobile,MMSI,Latitude,Longitude\r\n"
        ));
        assert!(!is_known_header(
            "!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26"
        ));
    }

    #[test]
    fn issue_16_latin1_cells_semicolons_and_ship_type_text() {
        let mut data = b"MMSI;BaseDateTime;LAT;LON;VesselName\n".to_vec();
        data.extend_from_slice(b"1;2023-01-11T00:00:00;1.0;2.0;S\xd8NDERBORG\n");
        data.extend_from_slice(b"2;2023-01-11T00:00:01;1.0;2.0;PLAIN\n");
        let mut r = CsvReader::with_delimiter(&data[..], b';').unwrap();
        let mut rows = Vec::new();
        while r.next_batch(10, |x| rows.push(x)).unwrap() {}
        assert_eq!(r.stats().not_utf8, 1);
        assert_eq!(r.stats().records, 2);
        assert_eq!(rows[0].name.as_deref(), Some("SØNDERBORG"));
        assert_eq!(rows[1].name.as_deref(), Some("PLAIN"));
        assert_eq!(dma_ship_type("Cargo"), Some(70));
        assert_eq!(dma_ship_type("Towing long/wide"), Some(32));
        assert_eq!(dma_ship_type("Spare 1"), None);
    }

    #[test]
    fn issue_16_a_header_without_positions_or_of_many_unknown_columns_is_named_briefly() {
        let e = header_check("MMSI,BaseDateTime,SOG", b',').unwrap_err();
        assert!(matches!(
            e,
            CsvError::NoPositionColumns(Layout::MarineCadastre)
        ));
        let wide: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
        let e = header_check(&wide.join(","), b',').unwrap_err().to_string();
        assert!(
            e.contains("500 columns") && e.contains("and 494 more"),
            "{e}"
        );
        assert!(e.len() < 400, "{e}");
    }

    #[test]
    fn unknown_layout_is_an_error() {
        assert!(matches!(
            read("a,b,c\n1,2,3\n".as_bytes(), |_| {}),
            Err(CsvError::UnknownLayout(_))
        ));
    }
}
