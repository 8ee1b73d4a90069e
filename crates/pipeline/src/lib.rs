//! The ingest pipeline as a library (issue 18): inputs (files, gzip, stdin, live feeds and
//! partner links through their spool) → `ais` decode or CSV rows → merge into message-time
//! order → `track` fusion and segmentation → `detect` events → `store` history, as atomic
//! runs over a writable store ([`ingest::Session`]). The `tidewatch` binary keeps argument
//! parsing and printing (`tidewatch ingest`, `detect`, `eval`, `serve`, `demo` call this);
//! data flows one way: sources → ais → fuse → track → detect → store.

pub mod detecting;
pub mod ingest;
pub mod input;
