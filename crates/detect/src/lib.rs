//! Behaviour detection: turns vessel tracks into events.
//!
//! Data flows one way: fused, segmented positions ([`Fix`]) and identity updates
//! ([`IdentityUpdate`]) come in (from `track`), event notices ([`Notice`]) go out (to `store`
//! and the server). The crate is pure: no clock, no I/O except reading zone, configuration and
//! watch-list files and the land-data cache ([`land`]); time is a field of the input.
//!
//! Geography: [`zones::ZoneSet`] answers "which zones contain this point" (GeoJSON, WKT,
//! shapefile or the compiled-in demo set), [`land::LandGrid`] answers "is this land, how far
//! to the shore", and [`geography::Geography`] joins them behind [`world::World`].
//!
//! ```
//! use detect::world::World;
//! use detect::zones::ZoneSet;
//!
//! let zones = ZoneSet::demo();
//! let mut found = Vec::new();
//! zones.zones_at(9.994, 114.658, &mut found); // Whitsun Reef
//! let names: Vec<&str> = found.iter().map(|&i| zones.zone(i).name.as_str()).collect();
//! assert!(names.contains(&"Whitsun Reef area (5 nm, approx.)"));
//! ```

//!
//! Detection:
//!
//! ```
//! use std::sync::Arc;
//! use detect::{Config, Engine, Fix, WatchList};
//! # use detect::world::{World, ZoneInfo, ZoneIdx};
//! # struct Sea;
//! # impl World for Sea {
//! #     fn zones_at(&self, _: f64, _: f64, _: &mut Vec<ZoneIdx>) {}
//! #     fn zone(&self, _: ZoneIdx) -> &ZoneInfo { unreachable!() }
//! #     fn zone_count(&self) -> usize { 0 }
//! #     fn distance_to_shore_m(&self, _: f64, _: f64) -> Option<f64> { None }
//! #     fn is_land(&self, _: f64, _: f64) -> Option<bool> { None }
//! # }
//! // No other vessels in this example: do not ask whether others were heard meanwhile.
//! let config = Config::from_toml_str("[ais_gap]\nmin_heard_share = 0\n", "inline").unwrap();
//! let mut engine = Engine::new(config, Arc::new(Sea), WatchList::default());
//! let fix = |t_min: i64| Fix {
//!     mmsi: 413012008, time_ms: t_min * 60_000, lat: 7.0, lon: 112.0,
//!     sog_knots: Some(0.5), cog_deg: Some(90.0), heading_deg: None, nav_status: Some(0),
//!     segment: 1, quality: 0, sources: ["SAT".into()].into_iter().collect(),
//! };
//! for t in (0..=180).step_by(10) {
//!     engine.push_position(fix(t)); // well received for 3 h
//! }
//! engine.push_position(fix(180 + 8 * 60)); // then silent for 8 h: an AIS gap
//! engine.finish();
//! let notices = engine.take_notices();
//! assert!(notices.iter().any(|n| n.event.kind == detect::EventType::AisGap));
//! ```

pub mod config;
pub mod detectors;
pub mod engine;
pub mod event;
pub mod geography;
pub mod geom;
pub mod input;
pub mod land;
pub mod score;
pub mod watchlist;
pub mod world;
pub mod zones;

pub use config::{Config, ConfigError};
pub use detectors::{Collector, Detector};
pub use engine::{run_batch, Engine, EngineState, EngineStats, Sample};
pub use event::{Change, Event, EventId, EventType, Notice, PosRef, VesselAt};
pub use input::{Fix, Identity, IdentityUpdate, Label, Sources};
pub use watchlist::{WatchEntry, WatchList, WatchListError};
