//! `tidewatch`: the command-line entry point. Subcommands live in their own modules; this file
//! parses arguments and maps errors to exit codes (a closed pipe is a normal end).

mod decode;
mod ingest;
mod input;
mod output;
mod sample;

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
    /// Write a small deterministic synthetic AIS sample (NMEA with tag blocks).
    Sample(sample::SampleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Sample(args) => sample::run(args),
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
