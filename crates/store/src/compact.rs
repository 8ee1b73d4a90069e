//! Compaction: the day files of a closed month merged into one month file, sorted by vessel
//! then time, so that a query over a long span opens twelve files a year instead of 365 and
//! finds each vessel's rows together.
//!
//! A month file lives at `positions/date=YYYY-MM/part-N.parquet`: the partition value is the
//! month, a prefix of the dates of its rows (so a hive-partitioned reader still sees one
//! `date` key, as text once months and days are mixed).
//!
//! Crash safety follows the flush path: the month file is written to `tmp/`, fsynced and
//! renamed into place; then the manifest is replaced atomically by one that lists the month
//! file instead of its day files; only then are the day files deleted. A crash before the
//! manifest is replaced leaves an unlisted month file (deleted on the next open, the day files
//! still count); a crash after leaves unlisted day files (deleted on the next open). Readers
//! that loaded the old manifest and find a day file gone re-read the manifest (see
//! [`crate::Store::query`]).

use crate::buffer::{Buffer, Labels};
use crate::{
    geoparquet, manifest, write_into_place, FileEntry, Store, StoreError, DAY_MS, MANIFEST,
};
use std::collections::BTreeMap;
use std::fs;

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
    // `positions/date=YYYY-MM/...`
    f.file
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
    /// no run. Rows are kept exactly, sources included. Holds a month's rows in memory (about
    /// 100 bytes a row) while it writes.
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
            let mut labels = Labels::default();
            let mut buf = Buffer::default();
            let mut ids = Vec::new();
            for f in &old {
                let path = self.dir.join(&f.file);
                geoparquet::read(&path, &geoparquet::Prune::default(), |r| {
                    ids.clear();
                    ids.extend(r.sources.iter().map(|s| labels.id(s)));
                    buf.push(&r, &ids);
                })?;
            }
            let mut order: Vec<u32> = (0..buf.rows.len() as u32).collect();
            order.sort_by_key(|&i| {
                let r = &buf.rows[i as usize];
                (r.mmsi, r.time_ms, i)
            });
            let part = self.next_part;
            self.next_part += 1;
            let rel = format!("positions/date={name}/part-{part:08}.parquet");
            let entry = write_into_place(&self.dir, &buf, &labels.names, &order, part, &rel)?;
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
            done.rows += buf.rows.len() as u64;
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
