//! NMEA 0183 AIS decoding for Tidewatch: framing, tag blocks, multi-sentence reassembly, payload
//! decoding of every message type 1-27, and encoding.
//!
//! The crate is pure and synchronous: no I/O, no clock, no allocation per sentence on the
//! decode path, and no panic on any input. Bad input is data: [`stream::Decoder`] counts every
//! rejected line by [`Reject`] reason.
//!
//! Layers, each usable alone:
//! - [`nmea`]: one line to sentences, tag blocks, `$PGHP` timestamps ([`nmea::classify`]);
//! - [`bits`]: armored payload to bits, field readers ([`bits::Payload`]);
//! - [`msg`]: bits to typed messages with scaled units ([`msg::decode`]);
//! - [`assemble`]: multi-sentence reassembly with bounded memory;
//! - [`stream`]: all of the above over a byte stream, with exact line accounting;
//! - [`encode`]: messages back to sentences.
//!
//! ```
//! use ais::stream::{Decoder, Meta};
//! use ais::msg::Message;
//!
//! let input = b"\\s:rEV02,c:1334337317*58\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F\n";
//! let mut positions = Vec::new();
//! let mut decoder = Decoder::default();
//! let mut sink = |m: &Message<'_>, meta: &Meta| {
//!     if let Some(pos) = m.position() {
//!         positions.push((m.mmsi().value(), pos, meta.rx_time_ms));
//!     }
//! };
//! decoder.feed(input, &mut sink);
//! let stats = decoder.finish(&mut sink);
//! assert_eq!(stats.messages, 1);
//! assert!(stats.balanced());
//! assert_eq!(positions[0].0, 636091763);
//! assert_eq!(positions[0].2, Some(1_334_337_317_000));
//! ```

pub mod assemble;
pub mod bits;
pub mod encode;
pub mod error;
pub mod mmsi;
pub mod msg;
pub mod nmea;
mod simd;
pub mod stream;

pub use error::{FrameError, PayloadError, Reject};
pub use mmsi::{Flag, Mmsi};
pub use msg::{decode, Message};
pub use simd::prefetch;
pub use stream::{Decoder, DecoderConfig, Meta, Sink, Stats};
