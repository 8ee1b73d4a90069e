//! From a transmission to the lines partners deliver: the AIS message (encoded with
//! `ais::encode`), who hears it (coastal receivers by range, satellites by footprint with
//! collisions in dense areas, each with its loss), tag blocks with station and receive time,
//! satellite store-and-forward latency, and damage in transit.

use crate::earth::{dot, LatLon, EARTH_RADIUS_M, M_PER_DEG};
use crate::rng::Rng;
use crate::scenario::AisMode;
use crate::scenario::{Satellite, Scenario};
use crate::vessel::{Here, TxKind, TxSink, Vessel};
use ais::bits::AisText;
use ais::bits::BitWriter;
use ais::encode::{
    encode_armored, encode_payload, Armored, SentenceOptions, TagGroup, TagPrefix, TagTime,
};
use ais::msg::{
    BaseStationReport, ClassBPosition, Dimensions, Eta, Header, LongRangeReport, Message,
    PositionReport, RateOfTurn, StaticDataA, StaticDataB, StaticVoyage,
};
use ais::Mmsi;
use std::collections::VecDeque;

/// One output line: a sentence with its tag block, ordered by delivery time then a unique key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Line {
    /// When the partner delivers it, Unix ms.
    pub deliver_ms: i64,
    /// Transmitter and its transmission number.
    pub key: u64,
    /// Station, message part and fragment.
    pub sub: u32,
    /// Index into [`Scenario::partners`].
    pub partner: u16,
    /// Offset of the bytes in their buffer.
    pub offset: u32,
    /// Length of the bytes (with the newline).
    pub len: u32,
}

impl Line {
    /// The ordering key.
    #[inline]
    pub fn order(&self) -> (i64, u64, u32) {
        (self.deliver_ms, self.key, self.sub)
    }
}

/// Counters of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Transmissions by message type (index = type).
    pub transmissions: [u64; 28],
    /// Lines written (after damage; lost fragments are not written).
    pub lines: u64,
    /// Lines by station (receivers, then satellites).
    pub lines_by_station: Vec<u64>,
    /// Messages heard by coastal receivers (one per receiver that heard it).
    pub coastal_heard: u64,
    /// Messages a coastal receiver in range missed.
    pub coastal_missed: u64,
    /// Messages heard by satellites.
    pub satellite_heard: u64,
    /// Messages a satellite had in its footprint but lost (collisions, noise).
    pub satellite_missed: u64,
    /// Lines with a damaged character (bad checksum).
    pub damaged_checksum: u64,
    /// Lines cut short.
    pub damaged_cut: u64,
    /// Fragments of multi-sentence messages lost.
    pub lost_fragments: u64,
}

impl Counters {
    pub(crate) fn new(stations: usize) -> Counters {
        Counters {
            lines_by_station: vec![0; stations],
            ..Counters::default()
        }
    }

    pub(crate) fn add(&mut self, o: &Counters) {
        for (a, b) in self.transmissions.iter_mut().zip(o.transmissions.iter()) {
            *a += b;
        }
        self.lines += o.lines;
        for (a, b) in self
            .lines_by_station
            .iter_mut()
            .zip(o.lines_by_station.iter())
        {
            *a += b;
        }
        self.coastal_heard += o.coastal_heard;
        self.coastal_missed += o.coastal_missed;
        self.satellite_heard += o.satellite_heard;
        self.satellite_missed += o.satellite_missed;
        self.damaged_checksum += o.damaged_checksum;
        self.damaged_cut += o.damaged_cut;
        self.lost_fragments += o.lost_fragments;
    }

    /// All transmissions.
    pub fn total_transmissions(&self) -> u64 {
        self.transmissions.iter().sum()
    }
}

/// A coastal receiver, ready for range tests.
#[derive(Debug, Clone)]
pub struct Station {
    pos: LatLon,
    range_a: f64,
    range_b: f64,
    loss: f64,
}

/// Appends line `l` (its bytes in `from`) to `buf` and `lines`.
fn take_line(buf: &mut Vec<u8>, lines: &mut Vec<Line>, from: &[u8], l: Line) {
    let off = buf.len();
    buf.extend_from_slice(&from[l.offset as usize..(l.offset + l.len) as usize]);
    lines.push(Line {
        offset: off as u32,
        ..l
    });
}

/// Satellite lines waiting for their downlink.
#[derive(Debug, Default)]
struct LateQueue {
    buf: Vec<u8>,
    lines: VecDeque<Line>,
}

impl LateQueue {
    /// Frees the bytes of lines already released.
    fn compact(&mut self) {
        match self.lines.front() {
            None => self.buf.clear(),
            Some(first)
                if first.offset as usize > (1 << 20)
                    && first.offset as usize > self.buf.len() / 2 =>
            {
                let cut = first.offset as usize;
                self.buf.drain(..cut);
                for l in self.lines.iter_mut() {
                    l.offset -= cut as u32;
                }
            }
            _ => {}
        }
    }
}

/// A satellite during one window.
#[derive(Debug)]
struct SatRun {
    cos_footprint: f64,
    footprint_deg: f64,
    mean_motion: f64,
    track: Vec<(LatLon, [f64; 3])>,
    p_detect: f64,
    p_detect_lr: f64,
    seen_this_window: u64,
    load_per_min: f64,
    late: LateQueue,
}

/// Subsatellite point of a circular orbit `t_s` seconds after the scenario start.
pub fn subsatellite(s: &Satellite, mean_motion: f64, t_s: f64) -> LatLon {
    const EARTH_ROTATION: f64 = 7.292_115e-5;
    let u = s.phase + mean_motion * t_s;
    let (su, cu) = u.sin_cos();
    let lat = (s.inclination.sin() * su).asin();
    let lon = s.node_lon + (s.inclination.cos() * su).atan2(cu) - EARTH_ROTATION * t_s;
    LatLon {
        lat: lat.to_degrees(),
        lon: crate::earth::wrap_lon(lon.to_degrees()),
    }
}

/// Mean motion (rad/s) of a circular orbit at `altitude_m`.
pub fn mean_motion(altitude_m: f64) -> f64 {
    const MU: f64 = 3.986_004_418e14;
    let a = EARTH_RADIUS_M + altitude_m;
    (MU / (a * a * a)).sqrt()
}

/// Earth central angle of a satellite's footprint down to `min_elevation` (radians).
pub fn footprint_angle(altitude_m: f64, min_elevation: f64) -> f64 {
    let r = EARTH_RADIUS_M;
    (r * min_elevation.cos() / (r + altitude_m)).acos() - min_elevation
}

const SAT_STEP_MS: i64 = 10_000;

/// Bands of one degree of latitude in [`Radio::bands`].
const LAT_BANDS: usize = 180;

/// The latitude band of `lat` (truncation: `floor` is a library call on baseline x86-64; the
/// poles fall into the last and first bands).
#[inline]
fn lat_band(lat: f64) -> usize {
    ((lat + 90.0).max(0.0) as usize).min(LAT_BANDS - 1)
}

/// The radio environment of one shard: receivers, satellites, output buffers and counters.
#[derive(Debug)]
pub struct Radio {
    stations: Vec<Station>,
    /// For each degree of latitude (index 0 is 90°S to 89°S), the stations whose reach
    /// touches it, in station order: the only ones a transmission there needs to test.
    bands: Vec<Vec<usize>>,
    sats: Vec<SatRun>,
    shards: f64,
    window: (i64, i64),
    start_ms: i64,
    corrupt_rate: f64,
    /// Output of the current window.
    pub buf: Vec<u8>,
    /// Lines of the current window.
    pub lines: Vec<Line>,
    /// Counters.
    pub counters: Counters,
    sorted: Vec<u8>,
    spare: Vec<Line>,
    prefixes: Vec<TagPrefix>,
}

impl Radio {
    /// The radio of one of `shards` shards.
    pub fn new(scenario: &Scenario, shards: usize) -> Radio {
        let stations: Vec<Station> = scenario
            .receivers
            .iter()
            .map(|r| Station {
                pos: r.position,
                range_a: r.range_m,
                range_b: r.range_m * 0.6,
                loss: r.loss,
            })
            .collect();
        let bands = (0..LAT_BANDS)
            .map(|b| {
                let (south, north) = (b as f64 - 90.0, b as f64 - 89.0);
                (0..stations.len())
                    .filter(|&r| {
                        let st = &stations[r];
                        let reach = st.range_a.max(st.range_b) / M_PER_DEG;
                        st.pos.lat + reach >= south && st.pos.lat - reach <= north
                    })
                    .collect()
            })
            .collect();
        let sats = scenario
            .satellites
            .iter()
            .map(|s| SatRun {
                cos_footprint: footprint_angle(s.altitude_m, s.min_elevation).cos(),
                footprint_deg: footprint_angle(s.altitude_m, s.min_elevation).to_degrees() + 0.01,
                p_detect: s.detect,
                p_detect_lr: s.detect,
                mean_motion: mean_motion(s.altitude_m),
                track: Vec::new(),
                seen_this_window: 0,
                load_per_min: 0.0,
                late: LateQueue::default(),
            })
            .collect();
        Radio {
            stations,
            bands,
            sats,
            shards: shards as f64,
            window: (0, 0),
            start_ms: scenario.start_ms,
            corrupt_rate: scenario.corrupt_rate,
            buf: Vec::new(),
            lines: Vec::new(),
            counters: Counters::new(scenario.receivers.len() + scenario.satellites.len()),
            sorted: Vec::new(),
            spare: Vec::new(),
            prefixes: scenario
                .receivers
                .iter()
                .map(|r| TagPrefix::new(&r.name))
                .chain(scenario.satellites.iter().map(|s| TagPrefix::new(&s.name)))
                .collect(),
        }
    }

    /// Starts a window: satellite tracks for it, and the load each saw in the last window
    /// (this shard's share scaled to all shards).
    pub fn begin_window(&mut self, scenario: &Scenario, t0: i64, t1: i64) {
        let minutes = (self.window.1 - self.window.0) as f64 / 60_000.0;
        for (s, run) in scenario.satellites.iter().zip(self.sats.iter_mut()) {
            if minutes > 0.0 {
                run.load_per_min = run.seen_this_window as f64 * self.shards / minutes;
            }
            // Long-range broadcasts (channels 75/76) are sparse: few collisions.
            run.p_detect = s.detect * (-run.load_per_min / s.capacity_per_min).exp();
            run.p_detect_lr = s.detect * (-run.load_per_min / 20.0 / s.capacity_per_min).exp();
            run.seen_this_window = 0;
            run.track.clear();
            let mut t = t0;
            while t <= t1 + SAT_STEP_MS {
                let p = subsatellite(s, run.mean_motion, (t - scenario.start_ms) as f64 / 1000.0);
                run.track.push((p, p.unit()));
                t += SAT_STEP_MS;
            }
        }
        self.window = (t0, t1);
        self.buf.clear();
        self.lines.clear();
    }

    /// Ends a window: releases satellite lines delivered before its end, sorts the lines and
    /// lays their bytes out in that order (so merging shards copies whole runs).
    pub fn end_window(&mut self) {
        let t1 = self.window.1;
        for run in &mut self.sats {
            let q = &mut run.late;
            while let Some(&l) = q.lines.front() {
                if l.deliver_ms >= t1 {
                    break;
                }
                q.lines.pop_front();
                take_line(&mut self.buf, &mut self.lines, &q.buf, l);
            }
            q.compact();
        }
        self.sort_lines();
    }

    fn sort_lines(&mut self) {
        let t0 = self.window.0;
        if self
            .lines
            .iter()
            .all(|l| (0..1 << 16).contains(&(l.deliver_ms - t0)))
        {
            // Stable radix sort on the millisecond within the window (two byte passes): lines
            // of one millisecond stay in the order they were made.
            let rel = |l: &Line| (l.deliver_ms - t0) as usize;
            for shift in [0, 8] {
                let mut count = [0usize; 257];
                for l in &self.lines {
                    count[(rel(l) >> shift & 255) + 1] += 1;
                }
                for k in 0..256 {
                    count[k + 1] += count[k];
                }
                self.spare.clear();
                self.spare.resize(self.lines.len(), Line::default());
                for l in &self.lines {
                    let d = rel(l) >> shift & 255;
                    self.spare[count[d]] = *l;
                    count[d] += 1;
                }
                std::mem::swap(&mut self.lines, &mut self.spare);
            }
        } else {
            self.lines.sort_by_key(Line::order);
        }
        self.sorted.clear();
        self.sorted.reserve(self.buf.len());
        for l in &mut self.lines {
            let off = self.sorted.len();
            self.sorted
                .extend_from_slice(&self.buf[l.offset as usize..(l.offset + l.len) as usize]);
            l.offset = off as u32;
        }
        std::mem::swap(&mut self.buf, &mut self.sorted);
    }

    /// After the last window: the satellite lines still on board, delivered at their downlinks
    /// (in delivery order).
    pub fn drain(&mut self) {
        self.buf.clear();
        self.lines.clear();
        for run in &mut self.sats {
            let q = &mut run.late;
            for l in q.lines.drain(..) {
                take_line(&mut self.buf, &mut self.lines, &q.buf, l);
            }
            q.buf.clear();
        }
        self.sort_lines();
    }

    /// Base station report (type 4) of receiver `r`, heard by itself.
    pub fn base_station(
        &mut self,
        scenario: &Scenario,
        r: usize,
        mmsi: u32,
        t_ms: i64,
        ordinal: u32,
    ) {
        let rx = &scenario.receivers[r];
        let dt = chrono::DateTime::from_timestamp_millis(t_ms).unwrap_or_default();
        use chrono::{Datelike, Timelike};
        let m = Message::BaseStation(BaseStationReport {
            header: Header {
                msg_type: 4,
                repeat: 0,
                mmsi: Mmsi(mmsi),
            },
            year: Some(dt.year() as u16),
            month: Some(dt.month() as u8),
            day: Some(dt.day() as u8),
            hour: Some(dt.hour() as u8),
            minute: Some(dt.minute() as u8),
            second: Some(dt.second() as u8),
            accuracy: true,
            lon: Some(rx.position.lon),
            lat: Some(rx.position.lat),
            epfd: Some(7),
            raim: false,
            radio: ordinal % (1 << 19),
        });
        let Ok(payload) = encode_payload(&m) else {
            return;
        };
        let armored = Armored::new(&payload);
        self.counters.transmissions[4] += 1;
        let key = (0x8000_0000u64 + r as u64) << 32 | ordinal as u64;
        let partner = &scenario.partners[rx.partner];
        let opts = SentenceOptions {
            talker: partner.talker,
            own_ship: false,
            channel: if ordinal.is_multiple_of(2) {
                b'A'
            } else {
                b'B'
            },
            seq_id: (ordinal % 10) as u8,
        };
        let mut rng = Rng::new(scenario.seed, key);
        self.emit(
            scenario, &armored, &opts, r, t_ms, t_ms, key, 0, &mut rng, false,
        );
    }

    /// Writes the lines of one received message (one per sentence) for station `station`.
    #[allow(clippy::too_many_arguments)] // one received copy's facts, kept flat on the hot path
    fn emit(
        &mut self,
        scenario: &Scenario,
        armored: &Armored,
        opts: &SentenceOptions,
        station: usize,
        rx_ms: i64,
        deliver_ms: i64,
        key: u64,
        part: u32,
        rng: &mut Rng,
        late: bool,
    ) {
        let n_rx = scenario.receivers.len();
        let partner_idx = if station < n_rx {
            scenario.receivers[station].partner
        } else {
            scenario.satellites[station - n_rx].partner
        };
        let partner = &scenario.partners[partner_idx];
        let time = if partner.time_ms {
            TagTime::Millis(rx_ms)
        } else {
            TagTime::Seconds(rx_ms.div_euclid(1000))
        };
        let count = armored.sentence_count();
        let group_id = (key.wrapping_mul(0x9E37_79B9) >> 40) as u32 % 9000 + 1000;
        for frag in 0..count {
            let mut damage = 0u8;
            if self.corrupt_rate > 0.0 && rng.chance(self.corrupt_rate) {
                damage = if count > 1 && rng.chance(0.34) {
                    3
                } else if rng.chance(0.5) {
                    1
                } else {
                    2
                };
            }
            if damage == 3 {
                self.counters.lost_fragments += 1;
                continue;
            }
            let buf = if late {
                &mut self.sats[station - n_rx].late.buf
            } else {
                &mut self.buf
            };
            let start = buf.len();
            let group = (partner.groups && count > 1).then_some(TagGroup {
                index: frag as u8 + 1,
                count: count as u8,
                id: group_id,
            });
            let sentence_at =
                start + self.prefixes[station].write_line(buf, time, group, armored, opts, frag);
            // Without the newline while it may be damaged.
            buf.pop();
            match damage {
                1 => {
                    // One payload character changed: the checksum no longer matches.
                    let commas: Vec<usize> = buf[sentence_at..]
                        .iter()
                        .enumerate()
                        .filter(|(_, &c)| c == b',')
                        .map(|(i, _)| sentence_at + i)
                        .collect();
                    if commas.len() >= 6 && commas[5] > commas[4] + 1 {
                        let at =
                            commas[4] + 1 + rng.below((commas[5] - commas[4] - 1) as u64) as usize;
                        buf[at] = if buf[at] == b'0' { b'1' } else { b'0' };
                    }
                    self.counters.damaged_checksum += 1;
                }
                2 => {
                    // The line is cut short (a dropped connection, a full buffer).
                    let len = buf.len() - sentence_at;
                    let keep = 8 + rng.below((len.saturating_sub(12)).max(1) as u64) as usize;
                    buf.truncate(sentence_at + keep.min(len - 1));
                    self.counters.damaged_cut += 1;
                }
                _ => {}
            }
            buf.push(b'\n');
            let line = Line {
                deliver_ms,
                key,
                sub: (station as u32) << 8 | part << 4 | frag as u32,
                partner: partner_idx as u16,
                offset: start as u32,
                len: (buf.len() - start) as u32,
            };
            self.counters.lines += 1;
            self.counters.lines_by_station[station] += 1;
            if late {
                self.sats[station - n_rx].late.lines.push_back(line);
            } else {
                self.lines.push(line);
            }
        }
    }

    fn deliver_time(&self, scenario: &Scenario, sat: usize, rx_ms: i64) -> i64 {
        let s = &scenario.satellites[sat];
        // Downlinks of the satellites are staggered.
        let shift = (sat as i64 * 97_000) % s.downlink_every_ms;
        let since = rx_ms - self.start_ms + shift;
        self.start_ms - shift
            + (since / s.downlink_every_ms + 1) * s.downlink_every_ms
            + s.latency_ms
    }

    /// Decides who hears one transmission (drawing from the vessel's stream) and pushes
    /// `(station, deliver_ms)` for each; counts the misses.
    #[allow(clippy::too_many_arguments)] // the transmission's facts, kept flat on the hot path
    fn reception(
        &mut self,
        scenario: &Scenario,
        here: &Here,
        class_b: bool,
        lr: bool,
        rng: &mut Rng,
        heard: &mut Vec<(usize, i64)>,
    ) {
        heard.clear();
        let (pos, t_ms) = (here.pos, here.t_ms);
        if !lr {
            // Coastal ranges are tens of miles: a local flat frame measures them well.
            let cos_lat = here.cos_lat;
            for &r in &self.bands[lat_band(pos.lat)] {
                let st = &self.stations[r];
                let range = if class_b { st.range_b } else { st.range_a };
                let dy = (pos.lat - st.pos.lat) * M_PER_DEG;
                if dy.abs() > range {
                    continue;
                }
                let dx = crate::earth::wrap_lon(pos.lon - st.pos.lon) * M_PER_DEG * cos_lat;
                let d2 = dx * dx + dy * dy;
                if d2 > range * range {
                    continue;
                }
                // Reception falls off over the outer 30 % of the range.
                let inner = 0.7 * range;
                let edge = if d2 <= inner * inner {
                    0.0
                } else {
                    ((d2.sqrt() / range - 0.7) / 0.3).clamp(0.0, 1.0)
                };
                let p = (1.0 - st.loss) * (1.0 - 0.6 * edge);
                if rng.chance(p) {
                    self.counters.coastal_heard += 1;
                    heard.push((r, t_ms));
                } else {
                    self.counters.coastal_missed += 1;
                }
            }
        }
        let n_rx = self.stations.len();
        for s in 0..self.sats.len() {
            let run = &self.sats[s];
            let k = ((t_ms - self.window.0).max(0) / SAT_STEP_MS) as usize;
            let Some(&(sub, su)) = run.track.get(k.min(run.track.len().saturating_sub(1))) else {
                continue;
            };
            // Out of the footprint's band of latitude: no need for the exact test.
            if (pos.lat - sub.lat).abs() > run.footprint_deg {
                continue;
            }
            if dot(here.unit, su) < run.cos_footprint {
                continue;
            }
            let p = if lr { run.p_detect_lr } else { run.p_detect };
            self.sats[s].seen_this_window += 1;
            if rng.chance(p) {
                self.counters.satellite_heard += 1;
                heard.push((n_rx + s, self.deliver_time(scenario, s, t_ms)));
            } else {
                self.counters.satellite_missed += 1;
            }
        }
    }
}

/// The radio channel as seen by vessels: builds the message and hands it to the receivers.
#[derive(Debug)]
pub struct Channel<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// The shard's radio.
    pub radio: &'a mut Radio,
    /// Scratch lists of who heard a transmission, one per part (the second for type 24 B).
    pub heard: &'a mut [Vec<(usize, i64)>; 2],
    /// Reused encoder.
    pub writer: &'a mut BitWriter,
    /// Reused armored payload.
    pub armored: &'a mut Armored,
}

fn text<const N: usize>(s: &str) -> AisText<N> {
    AisText::from_str_lossy(s)
}

fn dims(d: [u16; 4]) -> Dimensions {
    Dimensions {
        to_bow: Some(d[0]),
        to_stern: Some(d[1]),
        to_port: Some(d[2].min(63) as u8),
        to_starboard: Some(d[3].min(63) as u8),
    }
}

/// The message type of a transmission (of its first part for type 24).
fn msg_type(kind: TxKind, class_b: bool, ordinal: u32) -> u8 {
    match (kind, class_b) {
        // ITDMA (type 3) now and then, as when a unit changes its slots.
        (TxKind::Position, false) if ordinal.is_multiple_of(37) => 3,
        (TxKind::Position, false) => 1,
        (TxKind::Position, true) => 18,
        (TxKind::Static, false) => 5,
        (TxKind::Static, true) => 24,
        (TxKind::LongRange, _) => 27,
    }
}

impl TxSink for Channel<'_> {
    fn transmit(&mut self, v: &mut Vessel, kind: TxKind, mode: Option<AisMode>) {
        // Who hears it first (from where the vessel really is); most transmissions at sea
        // reach no one, and those are never encoded.
        let parts = if kind == TxKind::Static && v.class_b {
            2
        } else {
            1
        };
        let here = v.here();
        let msg_type = msg_type(kind, v.class_b, v.ordinal);
        for h in self.heard.iter_mut().take(parts) {
            self.radio.counters.transmissions[msg_type as usize] += 1;
            self.radio.reception(
                self.scenario,
                &here,
                v.class_b,
                kind == TxKind::LongRange,
                &mut v.rng,
                h,
            );
        }
        if self.heard[..parts].iter().all(Vec::is_empty) {
            return;
        }
        let tx = v.report(kind, mode);
        let tx = &tx;
        let header = |t: u8| Header {
            msg_type: t,
            repeat: 0,
            mmsi: Mmsi(v.ident.mmsi),
        };
        let second = Some(((tx.t_ms.div_euclid(1000)) % 60) as u8);
        // The encoder rounds to its tenths.
        let sog = Some(tx.sog.min(102.2) as f32);
        let cog = Some(tx.cog.clamp(0.0, 359.94) as f32);
        let heading = Some((tx.heading + 0.5) as u16 % 360);
        let mut msgs: [Option<Message<'static>>; 2] = [None, None];
        match (tx.kind, v.class_b) {
            (TxKind::Position, false) => {
                msgs[0] = Some(Message::Position(PositionReport {
                    header: header(msg_type),
                    nav_status: Some(tx.nav),
                    rot: Some(if tx.rot.abs() < 0.5 {
                        RateOfTurn::DegPerMin(0.0)
                    } else {
                        RateOfTurn::DegPerMin(tx.rot as f32)
                    }),
                    sog_knots: sog,
                    accuracy: true,
                    lon: Some(tx.pos.lon),
                    lat: Some(tx.pos.lat),
                    cog_deg: cog,
                    heading_deg: heading,
                    second,
                    maneuver: None,
                    raim: false,
                    radio: Some(
                        ((v.ordinal % 8) << 14)
                            | ((v.uid.wrapping_mul(2_654_435_761) >> 19) % 2250),
                    ),
                }));
            }
            (TxKind::Position, true) => {
                msgs[0] = Some(Message::ClassBPosition(ClassBPosition::cs_unit(
                    header(18),
                    sog,
                    Some(tx.pos.lon),
                    Some(tx.pos.lat),
                    cog,
                    second,
                )));
            }
            (TxKind::Static, false) => {
                let eta = chrono::DateTime::from_timestamp_millis(tx.t_ms + 3 * 86_400_000)
                    .unwrap_or_default();
                use chrono::{Datelike, Timelike};
                msgs[0] = Some(Message::StaticVoyage(StaticVoyage {
                    header: header(5),
                    ais_version: 2,
                    imo: v.ident.imo,
                    callsign: text(&v.ident.callsign),
                    shipname: text(&v.ident.name),
                    ship_type: Some(v.ident.ship_type),
                    dims: dims(v.ident.dims),
                    epfd: Some(1),
                    eta: Eta {
                        month: Some(eta.month() as u8),
                        day: Some(eta.day() as u8),
                        hour: Some(eta.hour() as u8),
                        minute: Some((eta.minute() / 15 * 15) as u8),
                    },
                    draught_m: Some(((v.ident.draught_m * 10.0).round() / 10.0) as f32),
                    destination: text(&v.ident.destination),
                    dte: false,
                }));
            }
            (TxKind::Static, true) => {
                msgs[0] = Some(Message::StaticDataA(StaticDataA {
                    header: header(24),
                    shipname: text(&v.ident.name),
                }));
                msgs[1] = Some(Message::StaticDataB(StaticDataB {
                    header: header(24),
                    ship_type: Some(v.ident.ship_type),
                    vendor_id: text("TDW"),
                    model: 1,
                    serial: v.uid % (1 << 20),
                    callsign: text(&v.ident.callsign),
                    dims: dims(v.ident.dims),
                    mothership_mmsi: None,
                }));
            }
            (TxKind::LongRange, _) => {
                msgs[0] = Some(Message::LongRange(LongRangeReport {
                    header: header(27),
                    accuracy: false,
                    raim: false,
                    nav_status: Some(tx.nav),
                    lon: Some((tx.pos.lon * 600.0).round() / 600.0),
                    lat: Some((tx.pos.lat * 600.0).round() / 600.0),
                    sog_knots: Some(tx.sog.round().min(62.0) as u8),
                    cog_deg: Some(tx.cog.round() as u16 % 360),
                    gnss_stale: false,
                }));
            }
        }
        let key = (v.uid as u64) << 32 | v.ordinal as u64;
        for (part, m) in msgs.iter().enumerate() {
            let Some(m) = m else { continue };
            if self.heard[part].is_empty() {
                continue;
            }
            if encode_armored(m, self.writer, self.armored).is_err() {
                continue;
            }
            let armored = &*self.armored;
            let n_rx = self.scenario.receivers.len();
            for &(station, deliver_ms) in &self.heard[part] {
                let partner = if station < n_rx {
                    self.scenario.receivers[station].partner
                } else {
                    self.scenario.satellites[station - n_rx].partner
                };
                let opts = SentenceOptions {
                    talker: self.scenario.partners[partner].talker,
                    own_ship: false,
                    channel: if (v.ordinal + part as u32).is_multiple_of(2) {
                        b'A'
                    } else {
                        b'B'
                    },
                    seq_id: ((v.ordinal + part as u32) % 10) as u8,
                };
                self.radio.emit(
                    self.scenario,
                    armored,
                    &opts,
                    station,
                    tx.t_ms,
                    deliver_ms,
                    key,
                    part as u32,
                    &mut v.rng,
                    station >= n_rx,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{builtin, Overrides};

    /// Every station within reach of a position is in that position's latitude band, for
    /// every built-in scenario's receivers (the bands only skip stations that cannot hear).
    #[test]
    fn latitude_bands_hold_every_station_in_reach() {
        for name in ["scs-greyzone", "ior-shadow-fleet", "ior-traffic"] {
            let scenario =
                Scenario::from_toml(builtin(name).unwrap(), &Overrides::default()).unwrap();
            let radio = Radio::new(&scenario, 1);
            let mut rng = Rng::new(7, 0);
            for _ in 0..20_000 {
                let pos = LatLon {
                    lat: rng.range(-89.9, 89.9),
                    lon: rng.range(-180.0, 180.0),
                };
                let cos_lat = crate::earth::cos_deg(pos.lat);
                let band = &radio.bands[lat_band(pos.lat)];
                for (r, st) in radio.stations.iter().enumerate() {
                    let dy = (pos.lat - st.pos.lat) * M_PER_DEG;
                    let dx = crate::earth::wrap_lon(pos.lon - st.pos.lon) * M_PER_DEG * cos_lat;
                    if dx * dx + dy * dy <= st.range_a.max(st.range_b).powi(2) {
                        assert!(band.contains(&r), "{name}: station {r} missing at {pos:?}");
                    }
                }
            }
            // And the bands do skip: no band of a regional scenario holds every station.
            assert!(
                radio.bands.iter().any(|b| b.len() < radio.stations.len()),
                "{name}"
            );
        }
    }
}
