//! Behaviour detection: turns vessel tracks into events.
//!
//! Data flows one way: fused, segmented positions and identity changes come in (from
//! `track`), events go out (to `store` and the server). The crate is pure: no clock, no I/O
//! except zone-file import; time is a field of the input.

pub mod world;
