//! Compaction: the day files of a closed month merged into one month file, sorted by vessel
//! then time, so that a query over a long span opens twelve files a year instead of 365 and
//! finds each vessel's rows together.
//!
//! A month file lives at `positions/year=YYYY/month=M/part-N.parquet`, the partition of the
//! day files it replaces, and is marked `month` in the manifest: a Hive-partitioned reader
//! (DuckDB, pyarrow, Spark) types `year` and `month` as integers before and after compaction
//! (issue 19: the old `date=YYYY-MM` beside `date=YYYY-MM-DD` made DuckDB type `date` as text).
//!
//! Crash safety follows the flush path: the month file is written to `tmp/`, fsynced and
//! renamed into place; then the manifest is replaced atomically by one that lists the month
//! file instead of its day files; only then are the day files deleted. A crash before the
//! manifest is replaced leaves an unlisted month file (deleted on the next open, the day files
//! still count); a crash after leaves unlisted day files (deleted on the next open). Readers
//! that loaded the old manifest and find a day file gone re-read the manifest (see
//! [`crate::Store::query`]).

use crate::buffer::{Buffer, Labels};
use crate::geoparquet::{FileWriter, RowStream};
use crate::{manifest, FileEntry, Store, StoreError, DAY_MS, MANIFEST};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs;
use std::path::Path;

/// What [`Store::compact`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Months merged.
    pub months: Vec<String>,
    /// Files replaced.
    pub files_removed: usize,
    /// Month files written.
    pub files_written: usize,
    /// Rows rewritten.
    pub rows: u64,
}

/// `(year, month)` of a time, UTC.
fn month_of(ms: i64) -> (i64, u32) {
    let (y, m, _) = crate::civil_of_day(ms.div_euclid(DAY_MS));
    (y, m)
}

/// The month after `(year, month)`.
fn next_month((y, m): (i64, u32)) -> (i64, u32) {
    if m == 12 {
        (y + 1, 1)
    } else {
        (y, m + 1)
    }
}

/// Milliseconds at the start of a month, UTC.
pub(crate) fn month_start_ms(year: i64, month: u32) -> i64 {
    // Days from 1970-01-01 to the first of the month (proleptic Gregorian).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m as i64 + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * DAY_MS
}

fn is_month_file(f: &FileEntry) -> bool {
    // Marked in the manifest, or (stores before issue 19) `positions/date=YYYY-MM/...`.
    f.month
        || f.file
            .strip_prefix("positions/date=")
            .and_then(|rest| rest.split('/').next())
            .is_some_and(|p| p.len() == 7)
}

impl Store {
    /// The start of the month of the newest committed row: the default bound of
    /// [`Store::compact`] (the month still being written stays in day files).
    pub fn current_month_start_ms(&self) -> Option<i64> {
        let newest = self.files.iter().map(|f| f.max_time_ms).max()?;
        let (y, m) = month_of(newest);
        Some(month_start_ms(y, m))
    }

    /// Merges the files of every month that ends at or before `before_ms` into one file per
    /// month (a month already in one month file is left alone). Only files of committed runs
    /// (`committed(run)`) and files written outside a run are merged; the month file belongs to
    /// no run. Rows are kept exactly, sources included. The day files are merged as streams
    /// (each is sorted by MMSI then time), so memory stays at a few megabytes a file
    /// whatever a month holds.
    pub fn compact(
        &mut self,
        before_ms: i64,
        committed: impl Fn(u64) -> bool,
    ) -> Result<Compaction, StoreError> {
        if !self.writable {
            return Err(StoreError::Io(std::io::Error::other(
                "store opened read-only",
            )));
        }
        // Files by part number (indices shift as months are replaced).
        let mut months: BTreeMap<(i64, u32), Vec<u64>> = BTreeMap::new();
        for f in &self.files {
            if f.rows == 0 || !f.run.is_none_or(&committed) {
                continue;
            }
            let (lo, hi) = (month_of(f.min_time_ms), month_of(f.max_time_ms));
            let next = next_month(hi);
            if lo != hi || month_start_ms(next.0, next.1) > before_ms {
                continue;
            }
            months.entry(lo).or_default().push(f.part);
        }
        let mut done = Compaction::default();
        for ((year, month), parts) in months {
            let old: Vec<FileEntry> = self
                .files
                .iter()
                .filter(|f| parts.contains(&f.part))
                .cloned()
                .collect();
            if old.len() == 1 && is_month_file(&old[0]) {
                continue;
            }
            let name = format!("{year:04}-{month:02}");
            let part = self.next_part;
            self.next_part += 1;
            let rel = format!("positions/year={year}/month={month}/part-{part:08}.parquet");
            let mut entry = merge_files(&self.dir, &old, part, &rel)?;
            entry.month = true;
            let rows = entry.rows;
            // The switch: one atomic manifest replacement.
            let mut files: Vec<FileEntry> = self
                .files
                .iter()
                .filter(|f| !parts.contains(&f.part))
                .cloned()
                .collect();
            files.push(entry);
            manifest::rewrite(&self.dir.join(MANIFEST), &files)?;
            self.files = files;
            for f in &old {
                let path = self.dir.join(&f.file);
                fs::remove_file(&path).ok();
                if let Some(day_dir) = path.parent() {
                    // Only succeeds once the directory is empty.
                    fs::remove_dir(day_dir).ok();
                }
            }
            done.months.push(name);
            done.files_removed += old.len();
            done.files_written += 1;
            done.rows += rows;
        }
        Ok(done)
    }
}

/// Rows read at a time from each merged file (small in tests, to cross batch edges).
const READ_BATCH_ROWS: usize = if cfg!(test) { 7 } else { 2048 };
/// Rows handed to the writer at a time (one row group).
const WRITE_BATCH_ROWS: usize = if cfg!(test) { 100 } else { 64 * 1024 };

/// Merges `old` (each sorted by MMSI then time, as every store file is) into one file sorted
/// by MMSI then time, ties in the order of `old` and then of the rows, and moves it to `rel`.
/// Streams: memory is one read batch a file plus one row group, whatever the month holds.
fn merge_files(
    dir: &Path,
    old: &[FileEntry],
    part: u64,
    rel: &str,
) -> Result<FileEntry, StoreError> {
    let mut streams = old
        .iter()
        .map(|f| RowStream::open(&dir.join(&f.file), READ_BATCH_ROWS))
        .collect::<Result<Vec<_>, _>>()?;
    let mut heads = Vec::with_capacity(streams.len());
    let mut heap = BinaryHeap::new();
    for (i, s) in streams.iter_mut().enumerate() {
        let head = s.next_row()?;
        if let Some(r) = &head {
            heap.push(Reverse((r.mmsi, r.time_ms, i)));
        }
        heads.push(head);
    }
    let tmp = crate::tmp_path(dir, part);
    let mut w = FileWriter::create(&tmp)?;
    let mut labels = Labels::default();
    let mut buf = Buffer::default();
    let mut ids = Vec::new();
    while let Some(Reverse((_, _, i))) = heap.pop() {
        let Some(r) = heads[i].take() else { continue };
        let next = streams[i].next_row()?;
        if let Some(n) = &next {
            if (n.mmsi, n.time_ms) < (r.mmsi, r.time_ms) {
                return Err(StoreError::CorruptFile {
                    path: dir.join(&old[i].file),
                    message: "rows are not sorted by MMSI and time".to_owned(),
                });
            }
            heap.push(Reverse((n.mmsi, n.time_ms, i)));
        }
        heads[i] = next;
        ids.clear();
        ids.extend(r.sources.iter().map(|s| labels.id(s)));
        buf.push(&r, &ids);
        if buf.rows.len() >= WRITE_BATCH_ROWS {
            w.write(&buf.rows, &buf.ids, &labels.names)?;
            buf.clear();
        }
    }
    w.write(&buf.rows, &buf.ids, &labels.names)?;
    let entry = w.finish(part, rel)?;
    crate::move_into_place(dir, &tmp, rel)?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PositionRow;

    /// A fresh scratch directory named for `tag`: the guard that removes it when dropped
    /// (pass or fail), and its path.
    fn tmpdir(tag: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("tw-compact-{tag}-"))
            .tempdir()
            .unwrap();
        let d = tmp.path().to_owned();
        (tmp, d)
    }

    fn all_rows(path: &Path) -> Vec<PositionRow> {
        let mut s = RowStream::open(path, 5).unwrap();
        let mut out = Vec::new();
        while let Some(r) = s.next_row().unwrap() {
            out.push(r);
        }
        out
    }

    /// The streamed merge gives exactly a stable sort by MMSI and time of the files' rows
    /// taken in manifest order, across read and write batch edges, sources included.
    #[test]
    fn the_merge_is_a_stable_sort_by_vessel_and_time() {
        let (_tmp, dir) = tmpdir("stable");
        let mut s = Store::create_or_open(&dir).unwrap();
        let t0 = 1_768_435_200_000; // 2026-01-15
        let mut k = 0u32;
        for flush in 0..6i64 {
            for v in 0..40u32 {
                // Equal (MMSI, time) in different files, told apart by their sources.
                let t = t0 + (flush % 3) * DAY_MS + i64::from(v % 5) * 1000;
                k += 1;
                s.append(PositionRow {
                    time_ms: t,
                    mmsi: 563_000_000 + v % 7,
                    lat: 1.0 + f64::from(k) * 1e-4,
                    lon: 104.0,
                    sources: vec![format!("feed-{flush}"), format!("rx-{}", k % 3)],
                    ..PositionRow::default()
                });
            }
            s.flush().unwrap();
        }
        let old: Vec<FileEntry> = s.files().to_vec();
        let mut expected: Vec<PositionRow> = old
            .iter()
            .flat_map(|f| all_rows(&dir.join(&f.file)))
            .collect();
        expected.sort_by_key(|r| (r.mmsi, r.time_ms)); // stable
        let c = s.compact(i64::MAX, |_| true).unwrap();
        assert_eq!(c.files_removed, old.len());
        assert_eq!(c.rows, 240);
        assert_eq!(s.files().len(), 1);
        let month = &s.files()[0];
        assert_eq!(month.rows, 240);
        assert_eq!(all_rows(&dir.join(&month.file)), expected);
    }

    #[test]
    fn an_unsorted_file_is_reported_not_merged_wrong() {
        let (_tmp, dir) = tmpdir("unsorted");
        let s = Store::create_or_open(&dir).unwrap();
        let mut buf = Buffer::default();
        for (t, m) in [(3, 2), (1, 1), (2, 1)] {
            buf.push(
                &PositionRow {
                    time_ms: 1_768_435_200_000 + t,
                    mmsi: m,
                    ..PositionRow::default()
                },
                &[],
            );
        }
        let rel = "positions/date=2026-01-15/part-00000000.parquet";
        let entry = crate::write_into_place(&dir, &buf.rows, &buf.ids, &[], 0, rel).unwrap();
        let e = merge_files(
            &dir,
            &[entry],
            1,
            "positions/year=2026/month=1/part-00000001.parquet",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not sorted"), "{e}");
        drop(s);
    }

    #[test]
    fn month_starts() {
        assert_eq!(month_start_ms(1970, 1), 0);
        assert_eq!(month_start_ms(2026, 1), 1_767_225_600_000);
        assert_eq!(month_start_ms(2024, 3), 1_709_251_200_000);
        assert_eq!(month_start_ms(2025, 12), 1_764_547_200_000);
        for ms in [0, 1_767_225_600_000, 1_709_251_199_999, 1_764_547_200_000] {
            let (y, m) = month_of(ms);
            assert!(month_start_ms(y, m) <= ms);
            let next = next_month((y, m));
            assert!(month_start_ms(next.0, next.1) > ms);
        }
    }
}
