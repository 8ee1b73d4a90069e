//! Position rows to and from GeoParquet (Parquet with a WKB point `geometry` column and the
//! GeoParquet 1.1 `geo` metadata), readable as is by GeoPandas, DuckDB and QGIS.

use crate::buffer::Core;
use crate::manifest::FileEntry;
use crate::pread::PreadFile;
use crate::StoreError;
use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::BooleanArray;
use arrow_array::{
    Array, ArrayRef, BinaryArray, Float32Array, Float64Array, ListArray, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt16Array, UInt32Array, UInt8Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::ArrowError;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter, RowSelection, RowSelector,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Arc;

/// One stored position.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PositionRow {
    /// Message time, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// Transmitter.
    pub mmsi: u32,
    /// Latitude, degrees (WGS84).
    pub lat: f64,
    /// Longitude, degrees (WGS84).
    pub lon: f64,
    /// Speed over ground, knots.
    pub sog_knots: Option<f32>,
    /// Course over ground, degrees.
    pub cog_deg: Option<f32>,
    /// True heading, degrees.
    pub heading_deg: Option<u16>,
    /// Navigation status code.
    pub nav_status: Option<u8>,
    /// AIS message type.
    pub msg_type: u8,
    /// Segment within the MMSI, when segmented.
    pub segment: Option<u32>,
    /// Quality flags (bit set defined by the track stage; `tidewatch ingest` sets 1 bad
    /// position, 2 no course while moving, 4 type 27 noise, 8 suspect: null island or spike).
    pub flags: u8,
    /// Sources that heard the transmission (`source_id[/station]`).
    pub sources: Vec<String>,
}

/// GeoParquet 1.1 metadata of the point column, with `bbox` (`,"bbox":[...]` or empty).
fn geo_metadata(bbox_json: &str) -> String {
    format!(
        "{{\"version\":\"1.1.0\",\"primary_column\":\"geometry\",\"columns\":{{\"geometry\":\
         {{\"encoding\":\"WKB\",\"geometry_types\":[\"Point\"]{bbox_json}}}}}}}"
    )
}

fn schema() -> Schema {
    Schema::new(vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("mmsi", DataType::UInt32, false),
        Field::new("lat", DataType::Float64, false),
        Field::new("lon", DataType::Float64, false),
        Field::new("sog_knots", DataType::Float32, true),
        Field::new("cog_deg", DataType::Float32, true),
        Field::new("heading_deg", DataType::UInt16, true),
        Field::new("nav_status", DataType::UInt8, true),
        Field::new("msg_type", DataType::UInt8, false),
        Field::new("segment", DataType::UInt32, true),
        Field::new("flags", DataType::UInt8, false),
        Field::new(
            "sources",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("geometry", DataType::Binary, false),
    ])
}

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Rows per data page at most: with the page index, a track query decodes a few pages of each
/// column instead of whole row groups.
const PAGE_ROWS: usize = 1024;

/// Little-endian WKB of a point.
fn wkb_point(lon: f64, lat: f64) -> [u8; 21] {
    let mut b = [0u8; 21];
    b[0] = 1;
    b[1..5].copy_from_slice(&1u32.to_le_bytes());
    b[5..13].copy_from_slice(&lon.to_le_bytes());
    b[13..21].copy_from_slice(&lat.to_le_bytes());
    b
}

fn err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::CorruptFile {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Writes `rows` (their sources as ids into `ids`, named by `labels`) to `path` in that
/// order and fsyncs it; returns its manifest entry.
pub(crate) fn write(
    path: &Path,
    rows: &[Core],
    ids: &[u32],
    labels: &[String],
    part: u64,
    rel: &str,
) -> Result<FileEntry, StoreError> {
    let mut w = FileWriter::create(path)?;
    w.write(rows, ids, labels)?;
    w.finish(part, rel)
}

/// A GeoParquet file written a batch at a time (memory: one row group), for files too large
/// to hold (compaction); [`write`] is the one-batch case.
pub(crate) struct FileWriter {
    path: std::path::PathBuf,
    w: ArrowWriter<BufWriter<File>>,
    schema: Arc<Schema>,
    rows: u64,
    bbox: [f64; 4],
    time: (i64, i64),
    mmsi: (u32, u32),
}

impl FileWriter {
    /// Creates `path` (replacing it).
    pub(crate) fn create(path: &Path) -> Result<FileWriter, StoreError> {
        // Rows come sorted by MMSI then time, so small row groups let a track query skip most
        // of a file by the groups' MMSI statistics. A dictionary only for the source labels:
        // the small integer columns (MMSI, heading, status, type, segment, flags) run long or
        // repeat within a page, so Snappy over their plain values takes nearly as little room,
        // without hashing every value (on a 382k-line sample: 4.9 % fewer instructions for the
        // whole ingest, files 3.0 % larger).
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .set_data_page_row_count_limit(PAGE_ROWS)
            .set_dictionary_enabled(false)
            .set_column_dictionary_enabled(
                ColumnPath::new(vec!["sources".into(), "list".into(), "item".into()]),
                true,
            );
        // Plain doubles of positions do not compress (Snappy saves well under 1 % of them):
        // not worth compressing.
        for c in ["lat", "lon"] {
            props = props.set_column_compression(ColumnPath::from(c), Compression::UNCOMPRESSED);
        }
        // Page statistics (the column index) only where reads select pages by them: a reader
        // then parses two columns' page minima and maxima, not thirteen. Every column keeps its
        // row group statistics and its offset index (so unselected pages are skipped unread).
        props = props.set_statistics_enabled(EnabledStatistics::Chunk);
        for c in ["mmsi", "time"] {
            props =
                props.set_column_statistics_enabled(ColumnPath::from(c), EnabledStatistics::Page);
        }
        // Minima and maxima of WKB bytes and of source labels prune nothing (and cost a byte
        // comparison a value); the file's bbox is in the `geo` metadata.
        props = props
            .set_column_statistics_enabled(ColumnPath::from("geometry"), EnabledStatistics::None)
            .set_column_statistics_enabled(
                ColumnPath::new(vec!["sources".into(), "list".into(), "item".into()]),
                EnabledStatistics::None,
            );
        // The `geo` metadata in the Arrow schema as well (without the bbox, known only at the
        // end, which the footer's own `geo` carries): readers of a directory of files (pyarrow
        // datasets, so GeoPandas on `positions/`) take the schema's metadata from there.
        let schema = Arc::new(schema().with_metadata(std::collections::HashMap::from([(
            "geo".to_owned(),
            geo_metadata(""),
        )])));
        // The writer hands its pages over a few kilobytes at a time; the file gets them a
        // megabyte at a time (whole pages: the kernel zeroes and copies less).
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let w = ArrowWriter::try_new(file, schema.clone(), Some(props.build()))
            .map_err(|e| err(path, e))?;
        Ok(FileWriter {
            path: path.to_owned(),
            w,
            schema,
            rows: 0,
            bbox: [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            time: (i64::MAX, i64::MIN),
            mmsi: (u32::MAX, u32::MIN),
        })
    }

    /// Appends `rows` (sources as ids into `ids`, named by `labels`), a row group at a time:
    /// each group's columns are built from rows read in sequence and encoded while they are
    /// still in cache.
    pub(crate) fn write(
        &mut self,
        rows: &[Core],
        ids: &[u32],
        labels: &[String],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROW_GROUP_ROWS) {
            self.write_group(chunk, ids, labels)?;
        }
        Ok(())
    }

    fn write_group(
        &mut self,
        rows: &[Core],
        ids: &[u32],
        labels: &[String],
    ) -> Result<(), StoreError> {
        let n = rows.len();
        let mut bbox = self.bbox;
        let (mut time, mut mmsi, mut lat, mut lon) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut sog, mut cog, mut heading, mut status) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut msg_type, mut segment, mut flags) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut geoms: Vec<u8> = Vec::with_capacity(n * 21);
        let mut sources = ListBuilder::new(StringBuilder::new());
        for r in rows {
            bbox = [
                bbox[0].min(r.lon),
                bbox[1].min(r.lat),
                bbox[2].max(r.lon),
                bbox[3].max(r.lat),
            ];
            time.push(r.time_ms);
            mmsi.push(r.mmsi);
            lat.push(r.lat);
            lon.push(r.lon);
            sog.push(r.sog_knots);
            cog.push(r.cog_deg);
            heading.push(r.heading_deg);
            status.push(r.nav_status);
            msg_type.push(r.msg_type);
            segment.push(r.segment);
            flags.push(r.flags);
            geoms.extend_from_slice(&wkb_point(r.lon, r.lat));
            for &id in r.sources(ids) {
                sources
                    .values()
                    .append_value(labels.get(id as usize).map_or("", String::as_str));
            }
            sources.append(true);
        }
        self.bbox = bbox;
        for &t in &time {
            self.time = (self.time.0.min(t), self.time.1.max(t));
        }
        for &m in &mmsi {
            self.mmsi = (self.mmsi.0.min(m), self.mmsi.1.max(m));
        }
        self.rows += n as u64;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(time).with_timezone("UTC")),
            Arc::new(UInt32Array::from(mmsi)),
            Arc::new(Float64Array::from(lat)),
            Arc::new(Float64Array::from(lon)),
            Arc::new(Float32Array::from(sog)),
            Arc::new(Float32Array::from(cog)),
            Arc::new(UInt16Array::from(heading)),
            Arc::new(UInt8Array::from(status)),
            Arc::new(UInt8Array::from(msg_type)),
            Arc::new(UInt32Array::from(segment)),
            Arc::new(UInt8Array::from(flags)),
            Arc::new(sources.finish()),
            // The points' bytes as written, each 21 long: no copy.
            Arc::new(BinaryArray::new(
                OffsetBuffer::from_lengths(std::iter::repeat_n(21, n)),
                arrow_buffer::Buffer::from_vec(geoms),
                None,
            )),
        ];
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| err(&self.path, e))?;
        self.w.write(&batch).map_err(|e| err(&self.path, e))
    }

    /// Writes the footer (with the `geo` metadata), fsyncs, and returns the manifest entry.
    pub(crate) fn finish(mut self, part: u64, rel: &str) -> Result<FileEntry, StoreError> {
        // The bbox is optional in GeoParquet; an empty file has none.
        let bbox = self.bbox;
        let bbox_json = if self.rows == 0 {
            String::new()
        } else {
            format!(
                ",\"bbox\":[{},{},{},{}]",
                bbox[0], bbox[1], bbox[2], bbox[3]
            )
        };
        self.w
            .append_key_value_metadata(KeyValue::new("geo".to_owned(), geo_metadata(&bbox_json)));
        let buffered = self.w.into_inner().map_err(|e| err(&self.path, e))?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let empty = self.rows == 0;
        Ok(FileEntry {
            file: rel.to_owned(),
            part,
            rows: self.rows,
            min_time_ms: if empty { 0 } else { self.time.0 },
            max_time_ms: if empty { 0 } else { self.time.1 },
            min_mmsi: if empty { 0 } else { self.mmsi.0 },
            max_mmsi: if empty { 0 } else { self.mmsi.1 },
            bbox,
            run: None,
            month: false,
        })
    }
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a T, StoreError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| err(path, format!("column {name} missing or of the wrong type")))
}

/// What a read can skip whole row groups by (their MMSI and time statistics).
#[derive(Debug, Clone, Default)]
pub(crate) struct Prune {
    /// Only these MMSIs (sorted, without repeats): one for a track, many for a page of late
    /// sources.
    pub mmsis: Option<Arc<[u32]>>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// Whether a sorted set of MMSIs has one in `lo..=hi`.
fn any_within(set: &[u32], lo: u32, hi: u32) -> bool {
    set.get(set.partition_point(|&m| m < lo))
        .is_some_and(|&m| m <= hi)
}

impl Prune {
    /// False when the row group's statistics rule out every row.
    fn may_match(
        &self,
        rg: &RowGroupMetaData,
        mmsi_col: Option<usize>,
        time_col: Option<usize>,
    ) -> bool {
        let stats = |c: Option<usize>| c.and_then(|i| rg.column(i).statistics());
        let mmsi_ok = match (&self.mmsis, stats(mmsi_col)) {
            (Some(set), Some(Statistics::Int32(s))) => match (s.min_opt(), s.max_opt()) {
                // UInt32 is stored as INT32; the bits are the unsigned value.
                (Some(&lo), Some(&hi)) => any_within(set, lo as u32, hi as u32),
                _ => true,
            },
            _ => true,
        };
        let time_ok = match stats(time_col) {
            Some(Statistics::Int64(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(&lo), Some(&hi)) => {
                    self.from_ms.is_none_or(|f| hi >= f) && self.to_ms.is_none_or(|t| lo < t)
                }
                _ => true,
            },
            _ => true,
        };
        mmsi_ok && time_ok
    }
}

/// The metadata of the row groups `groups` only, with their page index read from the file (the
/// offset index lets the reader skip unselected pages unread), and a row selection of the
/// pages whose MMSI range holds one of `mmsis`, from the column index of column `col`. `None` when the
/// file has no page index (then whole row groups are read). Reading the index of the wanted
/// row groups alone, not the file's whole index, is most of what makes a track query fast.
fn page_index_of(
    file: &PreadFile,
    md: &ParquetMetaData,
    groups: &[usize],
    col: usize,
    mmsis: &[u32],
) -> Option<(ParquetMetaData, RowSelection)> {
    let wanted = groups.iter().map(|&g| md.row_group(g).clone()).collect();
    let reduced = ParquetMetaData::new(md.file_metadata().clone(), wanted);
    let mut reader = ParquetMetaDataReader::new_with_metadata(reduced)
        .with_page_index_policy(PageIndexPolicy::Optional);
    reader.read_page_indexes(file).ok()?;
    let reduced = reader.finish().ok()?;
    let (columns, offsets) = (reduced.column_index()?, reduced.offset_index()?);
    let mut sel = Vec::new();
    for (g, rg) in reduced.row_groups().iter().enumerate() {
        let rows = rg.num_rows() as usize;
        let ColumnIndexMetaData::INT32(index) = columns.get(g)?.get(col)? else {
            return None;
        };
        let pages = offsets.get(g)?.get(col)?.page_locations();
        for (p, loc) in pages.iter().enumerate() {
            let start = loc.first_row_index as usize;
            let end = pages
                .get(p + 1)
                .map_or(rows, |n| n.first_row_index as usize);
            // UInt32 is stored as INT32; the bits are the unsigned value.
            let holds = match (index.min_value(p), index.max_value(p)) {
                (Some(&lo), Some(&hi)) => any_within(mmsis, lo as u32, hi as u32),
                _ => true,
            };
            sel.push(if holds {
                RowSelector::select(end - start)
            } else {
                RowSelector::skip(end - start)
            });
        }
    }
    Some((reduced, sel.into()))
}

/// Reads the rows of a file, skipping row groups that `prune` rules out.
pub(crate) fn read(
    path: &Path,
    prune: &Prune,
    mut f: impl FnMut(PositionRow),
) -> Result<(), StoreError> {
    let file = File::open(path)
        .and_then(PreadFile::new)
        .map_err(|e| err(path, e))?;
    // The footer only; the page index is read below for the row groups that can match.
    // The Arrow schema follows from the Parquet types; decoding the embedded copy costs more.
    let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let meta = ArrowReaderMetadata::load(&file, options.clone()).map_err(|e| err(path, e))?;
    let md = meta.metadata().clone();
    let column = |name: &str| {
        md.file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == name)
    };
    let (mmsi_col, time_col) = (column("mmsi"), column("time"));
    let groups: Vec<usize> = (0..md.num_row_groups())
        .filter(|&g| prune.may_match(md.row_group(g), mmsi_col, time_col))
        .collect();
    let indexed = match (&prune.mmsis, mmsi_col) {
        (Some(set), Some(c)) if !groups.is_empty() => page_index_of(&file, &md, &groups, c, set),
        _ => None,
    };
    let mut builder = match indexed {
        // The reduced metadata holds exactly the wanted row groups.
        Some((reduced, sel)) => {
            let meta = ArrowReaderMetadata::try_new(Arc::new(reduced), options)
                .map_err(|e| err(path, e))?;
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta).with_row_selection(sel)
        }
        None => {
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta).with_row_groups(groups)
        }
    };
    if let (Some(set), Some(c)) = (prune.mmsis.clone(), mmsi_col) {
        // Decode the MMSI column first; other columns only where it matches.
        let mask = ProjectionMask::leaves(builder.parquet_schema(), [c]);
        let pred = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let mmsi = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt32Array>()
                .ok_or_else(|| ArrowError::SchemaError("mmsi is not UInt32".to_owned()))?;
            Ok(match *set {
                [m] => BooleanArray::from_unary(mmsi, |v| v == m),
                _ => BooleanArray::from_unary(mmsi, |v| set.binary_search(&v).is_ok()),
            })
        });
        builder = builder.with_row_filter(RowFilter::new(vec![Box::new(pred)]));
    }
    let reader = builder.build().map_err(|e| err(path, e))?;
    for batch in reader {
        let b = batch.map_err(|e| err(path, e))?;
        rows_of(&b, path, &mut f)?;
    }
    Ok(())
}

/// The rows of one record batch, in order.
fn rows_of(
    b: &RecordBatch,
    path: &Path,
    f: &mut impl FnMut(PositionRow),
) -> Result<(), StoreError> {
    let time = col::<TimestampMillisecondArray>(b, "time", path)?;
    let mmsi = col::<UInt32Array>(b, "mmsi", path)?;
    let lat = col::<Float64Array>(b, "lat", path)?;
    let lon = col::<Float64Array>(b, "lon", path)?;
    let sog = col::<Float32Array>(b, "sog_knots", path)?;
    let cog = col::<Float32Array>(b, "cog_deg", path)?;
    let hdg = col::<UInt16Array>(b, "heading_deg", path)?;
    let nav = col::<UInt8Array>(b, "nav_status", path)?;
    let typ = col::<UInt8Array>(b, "msg_type", path)?;
    let seg = col::<UInt32Array>(b, "segment", path)?;
    let flags = col::<UInt8Array>(b, "flags", path)?;
    let sources = col::<ListArray>(b, "sources", path)?;
    let opt_f32 = |a: &Float32Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    for i in 0..b.num_rows() {
        let list = sources.value(i);
        let names = list
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| err(path, "sources are not strings"))?;
        f(PositionRow {
            time_ms: time.value(i),
            mmsi: mmsi.value(i),
            lat: lat.value(i),
            lon: lon.value(i),
            sog_knots: opt_f32(sog, i),
            cog_deg: opt_f32(cog, i),
            heading_deg: (!hdg.is_null(i)).then(|| hdg.value(i)),
            nav_status: (!nav.is_null(i)).then(|| nav.value(i)),
            msg_type: typ.value(i),
            segment: (!seg.is_null(i)).then(|| seg.value(i)),
            flags: flags.value(i),
            sources: (0..names.len())
                .map(|k| names.value(k).to_owned())
                .collect(),
        });
    }
    Ok(())
}

/// Every row of a file in file order, read a batch at a time (memory: one batch).
pub(crate) struct RowStream {
    path: std::path::PathBuf,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    rows: std::collections::VecDeque<PositionRow>,
}

impl RowStream {
    /// Opens `path`, to be read `batch_rows` rows at a time.
    pub(crate) fn open(path: &Path, batch_rows: usize) -> Result<RowStream, StoreError> {
        let file = File::open(path)
            .and_then(PreadFile::new)
            .map_err(|e| err(path, e))?;
        let options = ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .and_then(|b| b.with_batch_size(batch_rows).build())
            .map_err(|e| err(path, e))?;
        Ok(RowStream {
            path: path.to_owned(),
            reader,
            rows: std::collections::VecDeque::new(),
        })
    }

    /// The next row, or `None` at the end of the file.
    pub(crate) fn next_row(&mut self) -> Result<Option<PositionRow>, StoreError> {
        while self.rows.is_empty() {
            let Some(batch) = self.reader.next() else {
                return Ok(None);
            };
            let b = batch.map_err(|e| err(&self.path, e))?;
            let rows = &mut self.rows;
            rows_of(&b, &self.path, &mut |r| rows.push_back(r))?;
        }
        Ok(self.rows.pop_front())
    }
}
