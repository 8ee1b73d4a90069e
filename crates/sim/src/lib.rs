//! Scenario simulator for Tidewatch: realistic raw AIS, exactly as receivers deliver it, with
//! the ground truth of what the vessels did.
//!
//! - [`scenario`]: scenario files (TOML, format in [`spec`]) checked into a [`Scenario`]; the
//!   built-in ones are `scs-greyzone`, `ior-shadow-fleet` and `ior-traffic`.
//! - [`vessel`]: kinematics (great-circle legs, limited rate of turn and acceleration, GNSS
//!   noise), plans (sailing lanes, port calls, loitering, surveys, escort, harassment,
//!   ship-to-ship meetings), AIS misbehaviour (gaps, spoofing, identity changes) and the ITU-R
//!   M.1371 reporting intervals.
//! - [`radio`]: messages encoded with `ais::encode`, heard by coastal receivers (range, loss)
//!   and satellites (footprint, collisions in dense areas, store-and-forward latency),
//!   written as tag-blocked sentences, some damaged in transit.
//! - [`engine`]: the run, on several threads, deterministic for a seed.
//! - [`truth`]: ground-truth events.
//!
//! The crate reads no clock and does no I/O: time is the scenario's, output is handed to the
//! caller window by window.
//!
//! ```
//! use sim::{Overrides, Scenario, Simulation};
//!
//! let text = sim::scenario::builtin("scs-greyzone").unwrap();
//! let overrides = Overrides { hours: Some(0.05), vessels: Some(20), ..Overrides::default() };
//! let scenario = Scenario::from_toml(text, &overrides).unwrap();
//! let mut lines = 0;
//! let summary = Simulation::new(&scenario, 2)
//!     .run(|batch| {
//!         lines += batch.lines.len();
//!         Ok::<(), ()>(())
//!     })
//!     .unwrap();
//! assert!(lines > 0);
//! assert_eq!(summary.counters.lines, lines as u64);
//! ```

pub mod earth;
pub mod engine;
pub mod fleet;
mod passes;
pub mod radio;
mod rng;
pub mod scenario;
pub mod spec;
pub mod truth;
pub mod vessel;

pub use engine::{Batch, Simulation, Summary};
pub use scenario::{Overrides, Scenario, ScenarioError};
pub use truth::TruthEvent;
