//! `tidewatch compact`: merges the day files of closed months into one file a month, so a
//! year-long track reads 12 files instead of 365 (see `store::Store::compact`). Takes the
//! store's writer lock, so it refuses to run beside an ingest.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use store::{RegistryDb, Store};

/// Arguments of `tidewatch compact`.
#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Store directory.
    #[arg(long)]
    store: PathBuf,
    /// Merge only months that end at or before this time (a date such as 2026-02-01, RFC
    /// 3339, now-30d, or Unix seconds). Default: the start of the month of the newest
    /// position, so the month still being written stays in day files.
    #[arg(long, value_parser = query::parse_time, allow_hyphen_values = true)]
    before: Option<i64>,
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
        Some(t) => t,
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
    writeln!(
        std::io::stdout().lock(),
        "{}",
        json!({
            "months": c.months,
            "files_removed": c.files_removed,
            "files_written": c.files_written,
            "rows": c.rows,
        })
    )?;
    Ok(())
}
