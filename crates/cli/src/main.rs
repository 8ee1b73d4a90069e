//! `tidewatch`: the command-line entry point. Subcommands live in their own modules; this file
//! parses arguments and maps errors to exit codes (a closed pipe is a normal end).

mod access;
mod compact;
mod decode;
mod detecting;
mod ingest;
use pipeline::input;
mod output;
mod query;
mod sample;
mod sar;
mod serving;
mod simulate;
mod zones;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Tidewatch: maritime domain awareness from raw AIS.
#[derive(Debug, Parser)]
#[command(name = "tidewatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode NMEA 0183 AIS (files, .gz, or stdin) to JSON lines or CSV.
    Decode(decode::DecodeArgs),
    /// Ingest NMEA files into a store: decode, fuse, segment, write (one atomic run).
    Ingest(ingest::IngestArgs),
    /// List vessels in a store (JSON lines, CSV or GeoJSON), filtered by place, identity
    /// (name, IMO, call sign, flag, type, class), status or time.
    Vessels(query::VesselsArgs),
    /// One vessel's state and identity history.
    Vessel(query::VesselArgs),
    /// One vessel's track from the position history (GeoJSON, CSV, JSON lines or GeoParquet).
    Track(query::TrackArgs),
    /// Merge the day files of closed months into one file a month (faster long tracks).
    Compact(compact::CompactArgs),
    /// Write a small deterministic synthetic AIS sample (NMEA with tag blocks).
    Sample(sample::SampleArgs),
    /// Run a scenario: realistic raw AIS as partners deliver it, with its ground truth.
    Simulate(simulate::SimulateArgs),
    /// Zones: list a zone file or the demo set, find zones at a point, import into a store.
    Zones(zones::ZonesArgs),
    /// Events detected in a store (filtered; table, JSON lines, GeoJSON, CSV or KML).
    Events(detecting::commands::EventsArgs),
    /// Recompute events from a store's history (the same engine as ingest).
    Detect(detecting::commands::DetectArgs),
    /// Presence in a zone: distinct vessels and vessel-days per day, by flag and ship type.
    Stats(detecting::commands::StatsArgs),
    /// Satellite radar (SAR) vessel detections matched to the store's AIS: which vessel each
    /// is, and which broadcast nothing (dark).
    Sar(sar::SarArgs),
    /// Simulate a scenario, ingest it with detection, and score the events against the truth.
    Eval(detecting::eval::EvalArgs),
    /// The live server: run the configured feeds through the pipeline and serve the API, the
    /// live stream and the web map.
    Serve(serving::ServeArgs),
    /// The South China Sea grey-zone scenario in accelerated real time, served with the web
    /// map (prints the URL first).
    Demo(serving::demo::DemoArgs),
    /// Releasability labels of the store's sources: label, unlabel, default, list.
    Source(access::SourceArgs),
    /// API tokens of principals (users, partner systems): create, list, revoke.
    Token(access::TokenArgs),
    /// The audit log of reads: list entries, or --verify its hash chain.
    Audit(access::AuditArgs),
}

/// mimalloc instead of the system allocator: ingest allocates and frees per record on several
/// threads, and glibc's free of another thread's blocks and its consolidation at the end of a
/// run showed as a tenth of ingest's samples (real-mix 1M, spine: 1.9-2.0 s -> 1.5 s). It keeps
/// freed memory for a while before returning it (peak memory of that ingest 314 -> 445 MB);
/// returning it sooner (`MIMALLOC_PURGE_DELAY=3`, 290 MB) cost a second of system time on the
/// 6 h ior-traffic input.
///
/// Built with `no_thp`: the heap is not advised into transparent huge pages (kernels that
/// give them only when asked, the usual `madvise` setting). Every first touch of a huge page
/// clears 2 MB, most of it unused, and on this project's 2-core VM clearing fresh pages was a
/// sixth of the spine's samples. Measured 2026-12-07 on the 5 M-line real-mix (alternated runs,
/// medians): spine 3.66 -> 3.35 s wall, 6.34 -> 5.65 s CPU, peak 352 -> 324 MiB; with detection
/// 7.10 -> 6.84 s, peak 639 -> 488 MiB. The simulated input (2,000 vessels) ran 2-4 % slower
/// (spine 8.62 -> 8.84 s) with less memory (352 -> 315 MiB).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Compact(args) => compact::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Vessels(args) => query::vessels(args),
        Command::Vessel(args) => query::vessel(args),
        Command::Track(args) => query::track(args),
        Command::Zones(args) => zones::run(args),
        Command::Events(args) => detecting::commands::events(args),
        Command::Detect(args) => detecting::commands::detect(args),
        Command::Stats(args) => detecting::commands::stats(args),
        Command::Sar(args) => sar::run(args),
        Command::Eval(args) => detecting::eval::run(args),
        Command::Serve(args) => serving::run(args),
        Command::Demo(args) => serving::demo::run(args),
        Command::Source(args) => access::source(args),
        Command::Token(args) => access::token(args),
        Command::Audit(args) => access::audit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidewatch: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
