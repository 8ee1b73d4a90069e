//! Safety-related text messages (types 12 and 14).

use super::{fits, Header};
use crate::bits::{AisText, Payload};
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Longest safety text: (1008 - 40) / 6 characters.
pub const MAX_TEXT: usize = 161;

/// Type 12: addressed safety-related message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafetyAddressed {
    /// Common header.
    pub header: Header,
    /// Sequence number 0-3.
    pub seqno: u8,
    /// Addressee.
    pub dest_mmsi: Mmsi,
    /// Retransmitted.
    pub retransmit: bool,
    /// Text.
    pub text: AisText<MAX_TEXT>,
}

pub(super) fn decode_12(p: &Payload, header: Header) -> Result<SafetyAddressed, PayloadError> {
    fits(p, 12, 72, 1008)?;
    Ok(SafetyAddressed {
        header,
        seqno: p.u(38, 2) as u8,
        dest_mmsi: Mmsi(p.u(40, 30)),
        retransmit: p.b(70),
        text: p.text(72, MAX_TEXT),
    })
}

/// Type 14: safety-related broadcast message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafetyBroadcast {
    /// Common header.
    pub header: Header,
    /// Text.
    pub text: AisText<MAX_TEXT>,
}

pub(super) fn decode_14(p: &Payload, header: Header) -> Result<SafetyBroadcast, PayloadError> {
    fits(p, 14, 40, 1008)?;
    Ok(SafetyBroadcast {
        header,
        text: p.text(40, MAX_TEXT),
    })
}
