//! Vessel tracks for Tidewatch. Pure: no I/O, no clock (time is a field of the input).
//!
//! [`segment::Segmenter`] splits the positions reported under one MMSI into segments, the way
//! Global Fishing Watch's `gpsdio-segment` does: each new position is compared with where every
//! open segment predicts the vessel to be, joins the one it fits best, or starts a new segment
//! when it fits none or fits two almost equally well (two transmitters sharing an MMSI).
//! Positions are never deleted: the ones that cannot be placed are flagged.
//!
//! ```
//! use track::segment::{Fix, Segmenter, SegmenterConfig, Transponder};
//!
//! let mut s = Segmenter::new(SegmenterConfig::default());
//! let fix = |minute: i64, lat: f64| Fix {
//!     t_ms: minute * 60_000,
//!     lat,
//!     lon: 104.0,
//!     sog_knots: Some(10.0),
//!     cog_deg: Some(0.0),
//!     transponder: Transponder::ClassA,
//! };
//! let a = s.push(&fix(0, 1.0));
//! // Ten knots due north for one minute: 1/6 nautical mile, 1/360 degree.
//! let b = s.push(&fix(1, 1.0 + 1.0 / 360.0));
//! assert_eq!(a.segment(), b.segment());
//! ```

pub mod fuse;
pub mod segment;
pub mod vessel;
