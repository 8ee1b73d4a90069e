//! Behaviour detection: turns vessel tracks into events.
//!
//! Data flows one way: fused, segmented positions and identity changes come in (from
//! `track`), events go out (to `store` and the server). The crate is pure: no clock, no I/O
//! except zone-file import and the land-data cache ([`land`]); time is a field of the input.
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

pub mod geography;
pub mod land;
pub mod world;
pub mod zones;
