//! The live picture's fast path: the bytes every feed receives are decoded at once (one
//! decoder per feed, so multi-sentence messages join within their feed) and handed to the
//! server's [`serve::Picture`] — without waiting for the spool's rotation and the ingest run
//! that makes them durable history. Copies of one report from several feeds carry the same
//! message time; the picture keeps the newest per vessel.
//!
//! The tap never blocks a feed: it hands the bytes to a bounded queue, and bytes that find
//! the queue full are counted (`live_queue_full`) — they still reach the store through the
//! spool, and the picture catches up at the next report.

use crate::ingest::live::Tap;
use crate::ingest::report::{report, Report, TimeBounds};
use ais::stream::{Decoder, DecoderConfig, Meta};
use ais::{Message, Reject, Sink};
use serve::{LivePosition, LiveStatic, Picture};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TrySendError};
use std::sync::Arc;
use std::time::Instant;
use track::fuse::refine_time;
use track::vessel::Class;

/// Chunks of received bytes waiting for the live decoder.
const QUEUE: usize = 4096;

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Starts the fast path for feeds with these labels (in the tap's index order); returns the
/// tap to give the feeds. The decoding thread ends when every copy of the tap is dropped.
pub(crate) fn start(labels: Vec<String>, picture: Arc<Picture>) -> std::io::Result<Tap> {
    let (tx, rx) = sync_channel::<(usize, Vec<u8>)>(QUEUE);
    let counter = picture.clone();
    std::thread::Builder::new()
        .name("live-picture".to_owned())
        .spawn(move || decode_loop(rx, labels, &picture))?;
    Ok(Arc::new(move |index: usize, bytes: &[u8]| {
        match tx.try_send((index, bytes.to_vec())) {
            Ok(()) => {}
            Err(TrySendError::Full(b)) => {
                let lines = b.1.iter().filter(|&&c| c == b'\n').count().max(1);
                counter.on_reject("live_queue_full", lines as u64);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }))
}

fn decode_loop(rx: Receiver<(usize, Vec<u8>)>, labels: Vec<String>, picture: &Picture) {
    let mut decoders: Vec<Decoder> = labels
        .iter()
        .map(|_| Decoder::new(DecoderConfig::default()))
        .collect();
    // Per feed, when it last brought bytes and whether a line may be held since. A line is held
    // until the next one starts (it may be followed by its `$PGHP`): a feed quiet for `IDLE`
    // has it shown now rather than when its next line comes, whatever the other feeds do.
    let mut fed: Vec<Option<Instant>> = vec![None; labels.len()];
    let mut checked = Instant::now();
    loop {
        match rx.recv_timeout(IDLE) {
            Ok((index, bytes)) => {
                let (Some(d), Some(label)) = (decoders.get_mut(index), labels.get(index)) else {
                    continue;
                };
                let mut sink = ToPicture { picture, label };
                d.feed(&bytes, &mut sink);
                fed[index] = Some(Instant::now());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if checked.elapsed() < IDLE / 2 {
            continue;
        }
        checked = Instant::now();
        for ((d, label), at) in decoders.iter_mut().zip(&labels).zip(&mut fed) {
            if at.is_some_and(|t| t.elapsed() >= IDLE) {
                d.flush_held(&mut ToPicture { picture, label });
                *at = None;
            }
        }
    }
}

/// How long a feed may be quiet before a line held for a possible `$PGHP` is shown.
const IDLE: std::time::Duration = std::time::Duration::from_millis(500);

struct ToPicture<'a> {
    picture: &'a Picture,
    label: &'a str,
}

impl Sink for ToPicture<'_> {
    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        let Some((second, report)) = report(m) else {
            return;
        };
        let Ok(report) = report else {
            self.picture.on_reject("position_not_available", 1);
            return;
        };
        // The line's own time, else its arrival (now), refined by the report's UTC second.
        let now = wall_ms();
        let time_ms = refine_time(meta.rx_time_ms.unwrap_or(now), second);
        // As ingest: a receiver clock years off would move the picture's data clock.
        if !TimeBounds::at(now).contains(time_ms) {
            self.picture.on_reject("time_out_of_range", 1);
            return;
        }
        let mmsi = m.mmsi().value();
        // The provenance label ingest gives the same line (`feed/station/talker`), so a
        // source's releasability label applies to its live positions too (issue 21).
        let talker = String::from_utf8_lossy(&meta.talker);
        let source = match meta.source {
            Some(st) => format!("{}/{}/{talker}", self.label, st.as_str()),
            None => format!("{}/{talker}", self.label),
        };
        match report {
            Report::Position(p) => self.picture.on_position(LivePosition {
                mmsi,
                time_ms,
                lat: p.lat,
                lon: p.lon,
                sog_knots: p.sog_knots,
                cog_deg: p.cog_deg,
                heading_deg: p.heading_deg.map(f32::from),
                nav_status: p.nav_status,
                class: p.class.map(|c| match c {
                    Class::A => 'A',
                    Class::B => 'B',
                }),
                source,
            }),
            Report::Static(s) => self.picture.on_static(LiveStatic {
                mmsi,
                time_ms,
                name: s.name,
                callsign: s.callsign,
                imo: s.imo,
                ship_type: s.ship_type,
                length_m: s.dimensions_m.map(|d| f32::from(d.0)),
                beam_m: s.dimensions_m.map(|d| f32::from(d.1)),
                destination: s.destination,
                source,
            }),
        }
    }

    fn reject(&mut self, reason: Reject, _line: u64) {
        self.picture.on_reject(reason.as_str(), 1);
    }
}
