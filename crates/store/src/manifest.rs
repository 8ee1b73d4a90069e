//! `manifest.jsonl`: the list of committed files, one JSON object a line, appended and fsynced
//! after the file it names is durable.

use crate::StoreError;
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

/// One committed GeoParquet file, with what is needed to skip it in queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the store directory.
    pub file: String,
    /// Part number (unique, increasing).
    pub part: u64,
    /// Rows in the file.
    pub rows: u64,
    /// Earliest row time, ms.
    pub min_time_ms: i64,
    /// Latest row time, ms.
    pub max_time_ms: i64,
    /// Smallest MMSI.
    pub min_mmsi: u32,
    /// Largest MMSI.
    pub max_mmsi: u32,
    /// `[min_lon, min_lat, max_lon, max_lat]` of the rows.
    pub bbox: [f64; 4],
    /// Ingest run that wrote the file, when written by one; the run's files count only once the
    /// registry has recorded the run as committed (see [`crate::Store::discard_runs`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// A month file written by [`crate::Store::compact`] (all the rows of one month), not a
    /// day file; both live under the same `positions/year=YYYY/month=M/` partition (issue 19).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub month: bool,
}

/// Reads the manifest. A torn last line (a crash while appending) is cut off; any other bad
/// line is corruption.
pub(crate) fn load_and_repair(path: &Path) -> Result<Vec<FileEntry>, StoreError> {
    load(path, true)
}

/// Reads the manifest; with `repair`, cuts a torn last line off the file, otherwise only
/// ignores it (a writer may be appending it right now).
pub(crate) fn load(path: &Path, repair: bool) -> Result<Vec<FileEntry>, StoreError> {
    let data = fs::read(path)?;
    let mut entries = Vec::new();
    let mut good_end = 0usize;
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < data.len() {
        line_no += 1;
        let nl = data[start..].iter().position(|&b| b == b'\n');
        let (line, complete) = match nl {
            Some(i) => (&data[start..start + i], true),
            None => (&data[start..], false),
        };
        let parsed = serde_json::from_slice::<FileEntry>(line);
        match (parsed, complete) {
            (Ok(e), true) => {
                entries.push(e);
                good_end = start + line.len() + 1;
            }
            (_, false) | (Err(_), true) if start + line.len() + 1 >= data.len() => {
                // The last line was being written when the process stopped.
                break;
            }
            (Err(e), _) => {
                return Err(StoreError::CorruptManifest {
                    line: line_no,
                    message: e.to_string(),
                })
            }
            (Ok(_), false) => break,
        }
        start += line.len() + 1;
    }
    if repair && good_end < data.len() {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(good_end as u64)?;
        f.sync_all()?;
    }
    Ok(entries)
}

/// Appends an entry and makes it durable.
pub(crate) fn append(path: &Path, e: &FileEntry) -> Result<(), StoreError> {
    let mut line = serde_json::to_vec(e).map_err(|err| StoreError::CorruptFile {
        path: path.to_owned(),
        message: err.to_string(),
    })?;
    line.push(b'\n');
    let mut f = OpenOptions::new().append(true).open(path)?;
    f.write_all(&line)?;
    f.sync_all()?;
    Ok(())
}

/// Replaces the manifest with `entries`, atomically (write a temporary file, fsync, rename,
/// fsync the directory).
pub(crate) fn rewrite(path: &Path, entries: &[FileEntry]) -> Result<(), StoreError> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut data = Vec::new();
    for e in entries {
        serde_json::to_writer(&mut data, e).map_err(|err| StoreError::CorruptFile {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        data.push(b'\n');
    }
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&data)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
