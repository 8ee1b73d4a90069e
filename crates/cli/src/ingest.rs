//! `tidewatch ingest`: the arguments and the printing; the pipeline itself (decode → fuse →
//! segment → detect → store, as atomic runs) is the `pipeline` crate, whose modules are
//! re-exported here for the rest of the binary.

use pipeline::ingest::{expand_inputs, parse_spec, AssumeTime};
pub(crate) use pipeline::ingest::{
    link_file, live, open_writable, report, summary, RunOptions, Session,
};

use anyhow::{bail, Context, Result};
use clap::Args;
use live::LiveOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;
use summary::Summary;

/// Arguments of `tidewatch ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// NMEA files (plain or gzip), CSV archives (DMA or MarineCadastre), directories (every
    /// file under them), `-` for stdin; or live feeds: `tcp://host:port` (a client) and
    /// `udp://addr:port` (a listener). `NAME=INPUT` names the source (partner or feed) in the
    /// provenance of its records; the default name is the file name or host_port.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Store directory (created when missing).
    #[arg(long)]
    store: PathBuf,
    /// How late (in message time) a report may arrive and still be placed in order, e.g.
    /// `90s`, `5m`, `30m` for satellite feeds delivered late. Memory grows with it.
    #[arg(long, default_value = "5m", value_parser = parse_duration_ms)]
    reorder_window: i64,
    /// Rows buffered before a file is written (memory against file count; for tests).
    #[arg(long, default_value_t = pipeline::ingest::DEFAULT_FLUSH_ROWS, hide = true)]
    flush_rows: usize,
    /// Live feeds: close the spool segment and ingest it this often, e.g. 10s, 1m.
    #[arg(long, default_value = "60s", value_parser = parse_duration_ms)]
    rotate: i64,
    /// Live feeds: stop after this long (default: until SIGTERM or Ctrl-C, which close and
    /// ingest the open segment and write the stats; a killed ingest loses nothing that
    /// reached the spool).
    #[arg(long = "for", value_parser = parse_duration_ms)]
    run_for: Option<i64>,
    /// Times for NMEA lines that have none of their own (no tag block `c:`, `$PGHP`,
    /// timestamp prefix or trailing epoch), such as bare AISHub logs: `START[,RATE]` puts the
    /// first line of each file at START (RFC 3339, e.g. 2015-03-01T12:00:00Z) and the next ones
    /// RATE lines a second (default 1); `mtime[,RATE]` starts at each file's modification time.
    /// Lines with a time of their own keep it.
    #[arg(long, value_name = "START[,RATE]", value_parser = AssumeTime::parse)]
    assume_time: Option<AssumeTime>,
    /// Abort the run at the first input that cannot be read (default: report it, go on with
    /// the others, commit them, and exit with status 1).
    #[arg(long)]
    strict: bool,
    /// Write the run's accounting as JSON to this file.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// No summary on stderr (warnings are still printed).
    #[arg(long, short)]
    quiet: bool,
    /// Detector configuration (TOML, a table per detector; defaults from docs/detectors).
    #[arg(long, value_name = "FILE")]
    detect_config: Option<PathBuf>,
    /// Watch list (CSV or JSON) for watch-list events.
    #[arg(long, value_name = "FILE")]
    watchlist: Option<PathBuf>,
    /// No detection in this run (events are not updated; the engine state is kept as it was).
    #[arg(long)]
    no_detect: bool,
}

/// `90` (seconds), `90s`, `5m`, `1h30m`, `1.5h`, `1d` → milliseconds (the query layer's
/// parser, shared by every subcommand).
pub(crate) fn parse_duration_ms(s: &str) -> Result<i64, String> {
    query::parse_duration_ms(s).map_err(|e| e.to_string())
}

/// Runs `tidewatch ingest`.
pub fn run(args: IngestArgs) -> Result<()> {
    // Nothing to read at all: said before a store is created for it.
    let missing: Vec<String> = args
        .inputs
        .iter()
        .map(|i| parse_spec(i).1)
        .filter(|p| p != "-" && !live::is_live(p) && !Path::new(p).exists())
        .collect();
    if !missing.is_empty() && missing.len() == args.inputs.len() {
        bail!(
            "no such input: {} (nothing ingested, no store created)",
            missing.join(", ")
        );
    }
    let (live, files): (Vec<String>, Vec<String>) = args
        .inputs
        .iter()
        .cloned()
        .partition(|i| live::is_live(&parse_spec(i).1));
    // Inputs named before a store is made for them (an empty directory is refused here).
    let inputs = if live.is_empty() {
        Some(expand_inputs(&files, args.strict)?)
    } else {
        None
    };
    let mut session = Session::open(&args.store)?;
    let opts = RunOptions {
        reorder_window_ms: args.reorder_window,
        flush_rows: args.flush_rows.max(1),
        assume_time: args.assume_time,
        strict: args.strict,
        detect: crate::detecting::DetectOptions {
            off: args.no_detect,
            config: args.detect_config.clone(),
            watchlist: args.watchlist.clone(),
        },
    };
    if !live.is_empty() {
        if !files.is_empty() {
            bail!("ingest live feeds and files in separate commands");
        }
        if args.assume_time.is_some() {
            bail!("--assume-time is for files: live feeds give each line its arrival time");
        }
        return run_live(&mut session, &live, &opts, &args)
            .map_err(|e| explain_disk_full(e, &session, true));
    }
    let inputs = inputs.unwrap_or_default();
    let mut sum = session
        .ingest(inputs.inputs, &opts)
        .map_err(|e| explain_disk_full(e, &session, false))?;
    sum.inputs_documents = inputs.documents;
    sum.inputs_failed.extend(inputs.unreadable);
    report(&args, &sum)?;
    if !sum.inputs_failed.is_empty() {
        bail!(
            "{} input(s) could not be read in full (listed above); {}",
            sum.inputs_failed.len(),
            if sum.inputs_read > 0 {
                format!(
                    "what was read of the {} input(s) read was committed in run {}",
                    sum.inputs_read, sum.run
                )
            } else {
                "nothing was committed".to_owned()
            }
        );
    }
    Ok(())
}

/// True when `e` comes from a full disk (ENOSPC), whatever layer reported it (the GeoParquet
/// writer reports it as a file error, SQLite as "database or disk is full").
fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.raw_os_error() == Some(28) || io.kind() == std::io::ErrorKind::StorageFull {
                return true;
            }
        }
        let t = c.to_string();
        t.contains("No space left on device")
            || t.contains("os error 28")
            || t.contains("database or disk is full")
    })
}

/// A full disk said as such, with what was kept (the store's own message would name a
/// "corrupt store file" the store never had).
fn explain_disk_full(e: anyhow::Error, session: &Session, live: bool) -> anyhow::Error {
    if !is_disk_full(&e) {
        return e;
    }
    let kept = match session.registry().committed_runs() {
        Ok(runs) if runs.is_empty() => "the store holds no committed run yet".to_owned(),
        Ok(runs) => format!(
            "the store is intact: its {} committed run(s) are kept",
            runs.len()
        ),
        Err(_) => "the runs committed before are kept".to_owned(),
    };
    let again = if live {
        "everything that reached the spool is kept there and is ingested at the next start"
    } else {
        "run the same command again to read its inputs again"
    };
    // The store reports a file it could not finish as a corrupt file: name the file and the
    // system's error instead.
    let cause = e
        .chain()
        .find_map(|c| match c.downcast_ref::<store::StoreError>() {
            Some(store::StoreError::CorruptFile { path, message }) => {
                Some(format!("writing {}: {message}", path.display()))
            }
            _ => None,
        })
        .unwrap_or_else(|| format!("{e:#}"));
    anyhow::anyhow!(
        "the disk holding the store {} is full: this run was not committed (its partial \
         files are deleted at the next start) and {kept}; free some space, then {again} \
         ({cause})",
        session.dir().display()
    )
}

/// Runs `tidewatch ingest` on live feeds.
fn run_live(
    session: &mut Session,
    inputs: &[String],
    opts: &RunOptions,
    args: &IngestArgs,
) -> Result<()> {
    let sources = live::net_sources(inputs)?;
    let live = LiveOptions {
        rotate: Duration::from_millis(args.rotate.max(1) as u64),
        run_for: args.run_for.map(|d| Duration::from_millis(d.max(0) as u64)),
        quiet: args.quiet,
    };
    let stop = live::stop_on_signals()?;
    let total = live::run_sources(session, sources, opts, &live, &stop, None, &mut |_| {})?;
    report(args, &total)
}

fn report(args: &IngestArgs, sum: &Summary) -> Result<()> {
    if !args.quiet {
        eprint!("{}", summary::human(sum));
        if let Some(d) = &sum.detect {
            eprintln!("{d}");
        }
    }
    for w in summary::warnings(sum) {
        eprintln!("tidewatch: warning: {w}");
    }
    if let Some(p) = &args.stats {
        std::fs::write(p, summary::json(sum))
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration_ms("90"), Ok(90_000));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("5m"), Ok(300_000));
        assert_eq!(parse_duration_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_duration_ms("250ms"), Ok(250));
        assert!(parse_duration_ms("5 minutes").is_err());
        assert!(parse_duration_ms("m").is_err());
        assert!(parse_duration_ms("99999999999999999h").is_err());
    }
}
