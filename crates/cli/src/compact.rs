//! `tidewatch compact`: merges the day files of closed months into one file a month, so a
//! year-long track reads 12 files instead of 365 (see `store::Store::compact`). Takes the
//! store's writer lock, so it refuses to run beside an ingest.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use store::{RegistryDb, Store};

/// Arguments of `tidewatch compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Merge only months that end at or before this date (YYYY-MM-DD or RFC 3339). Default:
    /// the start of the month of the newest position, so the month still being written stays
    /// in day files.
    #[arg(long, value_parser = parse_bound)]
    before: Option<DateTime<Utc>>,
}

fn parse_bound(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "not a date (YYYY-MM-DD) or an RFC 3339 time".to_owned())
}

/// Runs `tidewatch compact`: prints what it did as one JSON object on stdout.
pub fn run(args: CompactArgs) -> Result<()> {
    let dir = &args.store;
    let db = dir.join("registry.sqlite");
    if !db.is_file() {
        bail!(
            "{} has no registry.sqlite; is it a store written by `tidewatch ingest`?",
            dir.display()
        );
    }
    let mut store =
        Store::open(dir).with_context(|| format!("cannot open store {}", dir.display()))?;
    let reg = RegistryDb::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    // Files of a run that never committed are left for the next ingest to clean up.
    let committed = reg.committed_runs()?;
    let before_ms = match args.before {
        Some(t) => t.timestamp_millis(),
        // An empty store has no month: nothing to do.
        None => store.current_month_start_ms().unwrap_or(i64::MIN),
    };
    let c = store
        .compact(before_ms, |run| committed.contains(&run))
        .with_context(|| format!("compaction of {} failed", dir.display()))?;
    eprintln!(
        "compacted {} month(s): {} file(s) merged into {}, {} rows",
        c.months.len(),
        c.files_removed,
        c.files_written,
        c.rows
    );
    println!(
        "{}",
        json!({
            "months": c.months,
            "files_removed": c.files_removed,
            "files_written": c.files_written,
            "rows": c.rows,
        })
    );
    Ok(())
}
