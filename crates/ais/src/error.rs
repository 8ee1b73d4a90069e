//! Error and reject kinds. Bad input is data: the stream decoder counts every reject by
//! [`Reject`] and keeps going; nothing here is ever a panic.

use std::fmt;

/// Why an armored payload could not become a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadError {
    /// A character outside the six-bit armoring alphabet.
    BadChar,
    /// Fill bits outside 0..=5, or more fill bits than payload bits.
    BadFillBits,
    /// The payload is empty.
    Empty,
    /// More than [`crate::bits::MAX_BITS`] bits.
    TooLong,
    /// Message type 0 or 28..=63.
    UnknownType(u8),
    /// Fewer bits than the message type requires.
    TooShort {
        /// Message type.
        msg_type: u8,
        /// Bits present.
        bits: usize,
    },
    /// More bits than the message type allows (for example a type 20 of 312 bits).
    TooLongForType {
        /// Message type.
        msg_type: u8,
        /// Bits present.
        bits: usize,
    },
    /// A field holds a value the standard forbids and that changes the layout
    /// (type 24 part number 2 or 3).
    InvalidField(&'static str),
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::BadChar => f.write_str("character outside the six-bit alphabet"),
            PayloadError::BadFillBits => f.write_str("fill bits out of range"),
            PayloadError::Empty => f.write_str("empty payload"),
            PayloadError::TooLong => f.write_str("payload longer than 2048 bits"),
            PayloadError::UnknownType(t) => write!(f, "unknown message type {t}"),
            PayloadError::TooShort { msg_type, bits } => {
                write!(f, "type {msg_type} message with only {bits} bits")
            }
            PayloadError::TooLongForType { msg_type, bits } => {
                write!(
                    f,
                    "type {msg_type} message with {bits} bits, more than it allows"
                )
            }
            PayloadError::InvalidField(name) => write!(f, "invalid value in field {name}"),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Why a sentence could not be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// Not a VDM/VDO sentence (other NMEA, free text).
    NotAis,
    /// A VDM/VDO sentence whose fields are malformed; `offset` is the byte offset in the line.
    BadFraming {
        /// Byte offset in the line where parsing failed.
        offset: usize,
    },
    /// Checksum missing or not matching.
    BadChecksum,
    /// A tag block that cannot be parsed.
    BadTagBlock {
        /// Byte offset in the line.
        offset: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NotAis => f.write_str("not an AIS sentence"),
            FrameError::BadFraming { offset } => write!(f, "malformed sentence at byte {offset}"),
            FrameError::BadChecksum => f.write_str("checksum mismatch"),
            FrameError::BadTagBlock { offset } => write!(f, "malformed tag block at byte {offset}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// The reason a line was rejected, as counted in the decoder's accounting.
///
/// `as_str` gives the stable snake_case key used in `--stats` JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// A comment line (`#...`).
    Comment,
    /// Other NMEA sentences or text that is not AIS.
    NotAis,
    /// A VDM/VDO sentence with malformed fields.
    BadFraming,
    /// Checksum mismatch or missing checksum.
    BadChecksum,
    /// Malformed tag block.
    BadTagBlock,
    /// Payload character outside the armoring alphabet.
    BadPayloadChar,
    /// Fill bits out of range.
    BadFillBits,
    /// Empty payload.
    EmptyPayload,
    /// Payload too long.
    PayloadTooLong,
    /// Fewer bits than the message type needs, or more than it allows.
    BadPayloadLength,
    /// Message type 0 or 28..=63.
    UnknownType,
    /// A layout-changing field with a forbidden value.
    InvalidField,
    /// A later fragment with no first fragment, or a group that never completed.
    OrphanFragment,
    /// A fragment number seen twice in one group; the older copy is dropped.
    DuplicateFragment,
    /// A tag-block-only or `$PGHP` line that no sentence followed.
    OrphanMetadata,
}

impl Reject {
    /// Every reason, in a stable order.
    pub const ALL: [Reject; 15] = [
        Reject::Comment,
        Reject::NotAis,
        Reject::BadFraming,
        Reject::BadChecksum,
        Reject::BadTagBlock,
        Reject::BadPayloadChar,
        Reject::BadFillBits,
        Reject::EmptyPayload,
        Reject::PayloadTooLong,
        Reject::BadPayloadLength,
        Reject::UnknownType,
        Reject::InvalidField,
        Reject::OrphanFragment,
        Reject::DuplicateFragment,
        Reject::OrphanMetadata,
    ];

    /// Stable key for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::Comment => "comment",
            Reject::NotAis => "not_ais",
            Reject::BadFraming => "bad_framing",
            Reject::BadChecksum => "bad_checksum",
            Reject::BadTagBlock => "bad_tag_block",
            Reject::BadPayloadChar => "bad_payload_char",
            Reject::BadFillBits => "bad_fill_bits",
            Reject::EmptyPayload => "empty_payload",
            Reject::PayloadTooLong => "payload_too_long",
            Reject::BadPayloadLength => "bad_payload_length",
            Reject::UnknownType => "unknown_type",
            Reject::InvalidField => "invalid_field",
            Reject::OrphanFragment => "orphan_fragment",
            Reject::DuplicateFragment => "duplicate_fragment",
            Reject::OrphanMetadata => "orphan_metadata",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<PayloadError> for Reject {
    fn from(e: PayloadError) -> Self {
        match e {
            PayloadError::BadChar => Reject::BadPayloadChar,
            PayloadError::BadFillBits => Reject::BadFillBits,
            PayloadError::Empty => Reject::EmptyPayload,
            PayloadError::TooLong => Reject::PayloadTooLong,
            PayloadError::UnknownType(_) => Reject::UnknownType,
            PayloadError::TooShort { .. } | PayloadError::TooLongForType { .. } => {
                Reject::BadPayloadLength
            }
            PayloadError::InvalidField(_) => Reject::InvalidField,
        }
    }
}

impl From<FrameError> for Reject {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::NotAis => Reject::NotAis,
            FrameError::BadFraming { .. } => Reject::BadFraming,
            FrameError::BadChecksum => Reject::BadChecksum,
            FrameError::BadTagBlock { .. } => Reject::BadTagBlock,
        }
    }
}
