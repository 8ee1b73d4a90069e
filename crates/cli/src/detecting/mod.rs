//! `tidewatch events`, `detect`, `stats` and `eval`; detection inside ingest is the
//! `pipeline` crate's `detecting`, re-exported here.

pub mod commands;
pub mod eval;

pub use pipeline::detecting::*;
