//! Binary messages: addressed (6), acknowledgements (7, 13), broadcast (8), DGNSS (17),
//! single and multiple slot (25, 26). The application messages of types 6 and 8 that Tidewatch
//! decodes are in [`super::app`].

use super::app::{self, AppData};
use super::units;
use super::{fits, Header};
use crate::bits::{BitSlice, Payload};
use crate::error::PayloadError;
use crate::mmsi::Mmsi;

/// Type 6: addressed binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryAddressed<'a> {
    /// Common header.
    pub header: Header,
    /// Sequence number 0-3.
    pub seqno: u8,
    /// Addressee.
    pub dest_mmsi: Mmsi,
    /// Retransmitted.
    pub retransmit: bool,
    /// Designated area code.
    pub dac: u16,
    /// Function identifier.
    pub fid: u8,
    /// Application data bits (after DAC/FID).
    pub data: BitSlice<'a>,
    /// The application message, when Tidewatch knows the DAC/FID and the content validates.
    pub app: Option<AppData>,
}

pub(super) fn decode_6(p: &Payload, header: Header) -> Result<BinaryAddressed<'_>, PayloadError> {
    fits(p, 6, 88, 1008)?;
    let dac = p.u(72, 10) as u16;
    let fid = p.u(82, 6) as u8;
    Ok(BinaryAddressed {
        header,
        seqno: p.u(38, 2) as u8,
        dest_mmsi: Mmsi(p.u(40, 30)),
        retransmit: p.b(70),
        // 71 spare
        dac,
        fid,
        data: p.tail(88),
        app: app::decode_6(p, dac, fid),
    })
}

/// Types 7 and 13: acknowledgement of up to four addressed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinaryAck {
    /// Common header.
    pub header: Header,
    /// Acknowledged stations with the sequence number of the acknowledged message.
    pub acks: [Option<(Mmsi, u8)>; 4],
}

pub(super) fn decode_ack(p: &Payload, header: Header) -> Result<BinaryAck, PayloadError> {
    fits(p, header.msg_type, 70, 168)?;
    let n = ((p.len_bits() - 40 + 2) / 32).min(4);
    let mut acks = [None; 4];
    for (k, a) in acks.iter_mut().enumerate().take(n) {
        let at = 40 + 32 * k;
        *a = Some((Mmsi(p.u(at, 30)), p.u(at + 30, 2) as u8));
    }
    Ok(BinaryAck { header, acks })
}

/// Type 8: broadcast binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryBroadcast<'a> {
    /// Common header.
    pub header: Header,
    /// Designated area code.
    pub dac: u16,
    /// Function identifier.
    pub fid: u8,
    /// Application data bits (after DAC/FID).
    pub data: BitSlice<'a>,
    /// The application message, when Tidewatch knows the DAC/FID and the content validates.
    pub app: Option<AppData>,
}

pub(super) fn decode_8(p: &Payload, header: Header) -> Result<BinaryBroadcast<'_>, PayloadError> {
    fits(p, 8, 56, 1008)?;
    let dac = p.u(40, 10) as u16;
    let fid = p.u(50, 6) as u8;
    Ok(BinaryBroadcast {
        header,
        dac,
        fid,
        data: p.tail(56),
        app: app::decode_8(p, dac, fid),
    })
}

/// Type 17: DGNSS broadcast binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct DgnssBroadcast<'a> {
    /// Common header.
    pub header: Header,
    /// Reference station longitude, degrees (1/10 minute resolution).
    pub lon: Option<f64>,
    /// Reference station latitude, degrees.
    pub lat: Option<f64>,
    /// Correction data (RTCM SC-104 words).
    pub data: BitSlice<'a>,
}

pub(super) fn decode_17(p: &Payload, header: Header) -> Result<DgnssBroadcast<'_>, PayloadError> {
    fits(p, 17, 80, 816)?;
    Ok(DgnssBroadcast {
        header,
        lon: units::lon_1e1_min(p.i(40, 18)),
        lat: units::lat_1e1_min(p.i(58, 17)),
        data: p.tail(80),
    })
}

/// Type 25: single slot binary message.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleSlotBinary<'a> {
    /// Common header.
    pub header: Header,
    /// Addressee, when addressed.
    pub dest_mmsi: Option<Mmsi>,
    /// Application id (DAC << 6 | FID), when structured.
    pub app_id: Option<u16>,
    /// Data bits.
    pub data: BitSlice<'a>,
}

pub(super) fn decode_25(p: &Payload, header: Header) -> Result<SingleSlotBinary<'_>, PayloadError> {
    fits(p, 25, 40, 168)?;
    let (dest_mmsi, app_id, at) = addressing(p, 0)?;
    Ok(SingleSlotBinary {
        header,
        dest_mmsi,
        app_id,
        data: p.tail(at),
    })
}

/// Type 26: multiple slot binary message with communication state.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiSlotBinary<'a> {
    /// Common header.
    pub header: Header,
    /// Addressee, when addressed.
    pub dest_mmsi: Option<Mmsi>,
    /// Application id (DAC << 6 | FID), when structured.
    pub app_id: Option<u16>,
    /// Data bits.
    pub data: BitSlice<'a>,
    /// Radio status (last 20 bits), raw.
    pub radio: u32,
}

pub(super) fn decode_26(p: &Payload, header: Header) -> Result<MultiSlotBinary<'_>, PayloadError> {
    fits(p, 26, 60, 1064)?;
    let (dest_mmsi, app_id, at) = addressing(p, 20)?;
    let end = p.len_bits() - 20;
    Ok(MultiSlotBinary {
        header,
        dest_mmsi,
        app_id,
        data: p.slice(at, end.saturating_sub(at)),
        radio: p.u(end, 20),
    })
}

/// Destination and application id of types 25/26; returns where the data starts.
fn addressing(
    p: &Payload,
    trailer: usize,
) -> Result<(Option<Mmsi>, Option<u16>, usize), PayloadError> {
    let addressed = p.b(38);
    let structured = p.b(39);
    let mut at = 40;
    let mut dest = None;
    if addressed {
        dest = Some(Mmsi(p.u(at, 30)));
        at += 30;
    }
    let mut app = None;
    if structured {
        app = Some(p.u(at, 16) as u16);
        at += 16;
    }
    if at + trailer > p.len_bits() {
        let t = p.u(0, 6) as u8;
        return Err(PayloadError::TooShort {
            msg_type: t,
            bits: p.len_bits(),
        });
    }
    Ok((dest, app, at))
}
