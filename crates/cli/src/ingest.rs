//! `tidewatch ingest`: decode → fuse → segment → store, as one atomic run.
//!
//! A run reads every input, fuses the copies of each transmission (across inputs too: the
//! observations of all inputs are ordered by message time before fusion), segments each
//! MMSI's positions, writes the positions as GeoParquet files tagged with the run id, and then
//! commits the run in the registry database together with the vessel states, the identity
//! changes and the content hashes of the inputs. Until that commit the run's files do not
//! count: a run killed at any point leaves no trace after the next start, and an input whose
//! content was already committed is skipped, so ingesting the same file twice changes nothing.

use crate::input;
use ais::bits::Payload;
use ais::msg::Message;
use ais::stream::{Decoder, DecoderConfig, Meta, Stats};
use ais::{Mmsi, Reject, Sink};
use anyhow::{Context, Result};
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use store::{IdentityRow, InputRow, PositionRow, RegistryDb, Store, VesselRow};
use track::fuse::{refine_time, Fused, Fuser, FuserConfig, Observation, Output, SourceRef};
use track::segment::{Fix, InvalidReason, Placement, Segmenter, SegmenterConfig, Transponder};
use track::vessel::{Class, PositionUpdate, Registry, StaticUpdate, Vessel};

/// Position quality flag: latitude or longitude out of range; not placed in a segment.
pub const FLAG_BAD_POSITION: u8 = 1;
/// Position quality flag: no course while moving (GFW discards these); not placed.
pub const FLAG_NO_COURSE: u8 = 2;
/// Position quality flag: type 27 report too soon after its segment's last position.
pub const FLAG_LONG_RANGE_NOISE: u8 = 4;

/// Arguments of `tidewatch ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// NMEA files (plain or gzip), directories (every file under them), or `-` for stdin.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Store directory (created when missing).
    #[arg(long)]
    store: PathBuf,
    /// Write the run's accounting as JSON to this file.
    #[arg(long)]
    stats: Option<PathBuf>,
    /// No summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// A decoded report worth keeping.
#[derive(Debug, Clone, PartialEq)]
enum Report {
    Position(PositionData),
    Static(StaticUpdate),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PositionData {
    msg_type: u8,
    lat: f64,
    lon: f64,
    sog_knots: Option<f32>,
    cog_deg: Option<f32>,
    heading_deg: Option<u16>,
    nav_status: Option<u8>,
    class: Option<Class>,
    transponder: Transponder,
}

/// Reports that could not be kept, by reason.
#[derive(Debug, Default, Clone, Copy)]
struct Dropped {
    /// Vessel reports without any receive time (no tag block, `$PGHP` or timestamp).
    no_receive_time: u64,
    /// Position reports whose position is "not available".
    position_not_available: u64,
}

struct Collect<'a> {
    source_id: u32,
    payload_hash: u64,
    obs: &'a mut Vec<Observation<Report>>,
    dropped: &'a mut Dropped,
    other_messages: &'a mut u64,
}

/// FNV-1a over the payload bits and their count.
fn hash_payload(p: &Payload) -> u64 {
    let bits = p.len_bits();
    let mut h = fnv(0xcbf2_9ce4_8422_2325, &(bits as u64).to_le_bytes());
    let mut i = 0;
    while i < bits {
        let n = (bits - i).min(32);
        h = fnv(h, &p.u(i, n).to_le_bytes());
        i += n;
    }
    h
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn dims(l: Option<u16>, b: Option<u8>) -> Option<(u16, u16)> {
    Some((l?, u16::from(b?))).filter(|&(l, b)| l > 0 && b > 0)
}

impl Collect<'_> {
    fn report(m: &Message<'_>) -> Option<(Option<u8>, Result<Report, ()>)> {
        let pos =
            |msg_type, lon: Option<f64>, lat: Option<f64>, rest: PositionData| match (lon, lat) {
                (Some(lon), Some(lat)) => Ok(Report::Position(PositionData {
                    msg_type,
                    lat,
                    lon,
                    ..rest
                })),
                _ => Err(()),
            };
        let base = PositionData {
            msg_type: 0,
            lat: 0.0,
            lon: 0.0,
            sog_knots: None,
            cog_deg: None,
            heading_deg: None,
            nav_status: None,
            class: None,
            transponder: Transponder::ClassA,
        };
        let class_b = |msg_type, second, (lon, lat), sog_knots, cog_deg, heading_deg| {
            let rest = PositionData {
                sog_knots,
                cog_deg,
                heading_deg,
                class: Some(Class::B),
                transponder: Transponder::ClassB,
                ..base
            };
            (second, pos(msg_type, lon, lat, rest))
        };
        Some(match m {
            Message::Position(p) => (
                p.second,
                pos(
                    p.header.msg_type,
                    p.lon,
                    p.lat,
                    PositionData {
                        sog_knots: p.sog_knots,
                        cog_deg: p.cog_deg,
                        heading_deg: p.heading_deg,
                        nav_status: p.nav_status,
                        class: Some(Class::A),
                        ..base
                    },
                ),
            ),
            Message::ClassBPosition(p) => class_b(
                18,
                p.second,
                (p.lon, p.lat),
                p.sog_knots,
                p.cog_deg,
                p.heading_deg,
            ),
            Message::ClassBExtended(p) => class_b(
                19,
                p.second,
                (p.lon, p.lat),
                p.sog_knots,
                p.cog_deg,
                p.heading_deg,
            ),
            Message::LongRange(p) => (
                None,
                pos(
                    27,
                    p.lon,
                    p.lat,
                    PositionData {
                        sog_knots: p.sog_knots.map(f32::from),
                        cog_deg: p.cog_deg.map(f32::from),
                        nav_status: p.nav_status,
                        transponder: Transponder::LongRange,
                        ..base
                    },
                ),
            ),
            Message::StaticVoyage(s) => (
                None,
                Ok(Report::Static(StaticUpdate {
                    time_ms: 0,
                    name: text(s.shipname.as_str()),
                    callsign: text(s.callsign.as_str()),
                    imo: s.imo,
                    ship_type: s.ship_type,
                    dimensions_m: dims(s.dims.length_m(), s.dims.beam_m()),
                    destination: text(s.destination.as_str()),
                    draught_m: s.draught_m,
                    class: Some(Class::A),
                })),
            ),
            Message::StaticDataA(s) => (
                None,
                Ok(Report::Static(StaticUpdate {
                    name: text(s.shipname.as_str()),
                    class: Some(Class::B),
                    ..StaticUpdate::default()
                })),
            ),
            Message::StaticDataB(s) if !s.header.mmsi.is_auxiliary() => (
                None,
                Ok(Report::Static(StaticUpdate {
                    callsign: text(s.callsign.as_str()),
                    ship_type: s.ship_type,
                    dimensions_m: dims(s.dims.length_m(), s.dims.beam_m()),
                    class: Some(Class::B),
                    ..StaticUpdate::default()
                })),
            ),
            _ => return None,
        })
    }
}

/// The receiver within an input: the tag block / `$PGHP` station when there is one, and the
/// NMEA talker (`AI` mobile station, `BS` base station, ...), as `station/talker` or `talker`.
fn station_label(meta: &Meta) -> String {
    let talker = String::from_utf8_lossy(&meta.talker);
    match meta.source {
        Some(st) => format!("{}/{talker}", st.as_str()),
        None => talker.into_owned(),
    }
}

impl Sink for Collect<'_> {
    fn payload(&mut self, p: &Payload) {
        self.payload_hash = hash_payload(p);
    }

    fn message(&mut self, m: &Message<'_>, meta: &Meta) {
        let Some((second, report)) = Self::report(m) else {
            *self.other_messages += 1;
            return;
        };
        let Ok(mut report) = report else {
            self.dropped.position_not_available += 1;
            return;
        };
        let Some(rx) = meta.rx_time_ms else {
            self.dropped.no_receive_time += 1;
            return;
        };
        let time_ms = refine_time(rx, second);
        if let Report::Static(s) = &mut report {
            s.time_ms = time_ms;
        }
        self.obs.push(Observation {
            mmsi: m.mmsi().value(),
            payload_hash: self.payload_hash,
            time_ms,
            source: SourceRef {
                source_id: self.source_id,
                station: Some(station_label(meta)),
                received_ms: rx,
            },
            payload: report,
        });
    }

    fn reject(&mut self, _reason: Reject, _line: u64) {}
}

/// The accounting of one run.
#[derive(Debug, Default)]
struct Summary {
    run: u64,
    decode: Stats,
    inputs_read: u64,
    inputs_skipped: Vec<(String, u64)>,
    dropped: Dropped,
    other_messages: u64,
    observations: u64,
    duplicates_merged: u64,
    late_duplicates: u64,
    positions: u64,
    static_reports: u64,
    flagged: u64,
    segments: u64,
    vessels_touched: u64,
    vessels_total: u64,
    identity_changes: u64,
    discarded_rows: u64,
}

/// Runs `tidewatch ingest`.
pub fn run(args: IngestArgs) -> Result<()> {
    let dir = &args.store;
    let mut store = Store::create_or_open(dir)
        .with_context(|| format!("cannot open store {}", dir.display()))?;
    // One writer at a time: a second ingest would take the first one's files for a crashed run.
    let lock = std::fs::File::create(dir.join("ingest.lock"))
        .with_context(|| format!("cannot create the lock file in {}", dir.display()))?;
    lock.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another tidewatch ingest is writing to {}; wait for it to finish",
            dir.display()
        )
    })?;
    let mut reg = RegistryDb::open(&dir.join("registry.sqlite"))
        .with_context(|| format!("cannot open registry in {}", dir.display()))?;
    let committed = reg.committed_runs()?;
    let mut sum = Summary {
        discarded_rows: store.discard_runs(|r| committed.contains(&r))?,
        ..Summary::default()
    };
    let run = committed
        .iter()
        .copied()
        .chain(store.max_run())
        .max()
        .map_or(1, |r| r + 1);
    sum.run = run;
    store.set_run(Some(run));

    // Decode every input; skip content committed before (or given twice).
    let progress = crate::decode::progress_bar();
    let mut obs: Vec<Observation<Report>> = Vec::new();
    let mut inputs: Vec<InputRow> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for (i, path) in expand_inputs(&args.inputs)?.iter().enumerate() {
        let inp = input::open(path, &progress)?;
        progress.set_length(inp.size.unwrap_or(0));
        progress.set_position(0);
        progress.set_message(inp.name.clone());
        let label = std::path::Path::new(&inp.name)
            .file_name()
            .map_or_else(|| inp.name.clone(), |f| f.to_string_lossy().into_owned());
        labels.push(label);
        let before = obs.len();
        let mut dropped = Dropped::default();
        let mut other = 0u64;
        let mut dec = Decoder::new(DecoderConfig::default());
        let (hash, bytes, stats) = {
            let mut sink = Collect {
                source_id: i as u32,
                payload_hash: 0,
                obs: &mut obs,
                dropped: &mut dropped,
                other_messages: &mut other,
            };
            let mut reader = inp.reader;
            let mut buf = vec![0u8; 1 << 20];
            let mut h = 0xcbf2_9ce4_8422_2325u64;
            let mut bytes = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
                };
                h = fnv(h, &buf[..n]);
                bytes += n as u64;
                dec.feed(&buf[..n], &mut sink);
            }
            let stats = dec.finish(&mut sink);
            (format!("fnv1a64:{h:016x}:{bytes}"), bytes, stats)
        };
        let earlier = reg.input_run(&hash)?;
        if let Some(r) =
            earlier.or_else(|| inputs.iter().any(|x| x.content_hash == hash).then_some(run))
        {
            obs.truncate(before);
            sum.inputs_skipped.push((path.clone(), r));
            continue;
        }
        sum.decode.add(&stats);
        sum.dropped.no_receive_time += dropped.no_receive_time;
        sum.dropped.position_not_available += dropped.position_not_available;
        sum.other_messages += other;
        sum.inputs_read += 1;
        inputs.push(InputRow {
            content_hash: hash,
            name: path.clone(),
            bytes,
        });
    }
    progress.finish_and_clear();

    // Fuse in message-time order.
    obs.sort_by_key(|o| o.time_ms);
    sum.observations = obs.len() as u64;
    let mut fuser: Fuser<Report> = Fuser::new(FuserConfig::default());
    let mut records: Vec<Fused<Report>> = Vec::new();
    let mut late: Vec<(u32, u64, i64, SourceRef)> = Vec::new();
    let mut out = Vec::new();
    let mut take = |out: &mut Vec<Output<Report>>| {
        for o in out.drain(..) {
            match o {
                Output::Record(r) => records.push(r),
                Output::LateSource {
                    mmsi,
                    payload_hash,
                    time_ms,
                    source,
                } => late.push((mmsi, payload_hash, time_ms, source)),
            }
        }
    };
    for o in obs {
        fuser.push(o, &mut out);
        take(&mut out);
    }
    fuser.flush(&mut out);
    take(&mut out);
    let fstats = fuser.stats();
    sum.duplicates_merged = fstats.duplicates_merged;
    sum.late_duplicates = fstats.late_duplicates;
    if !late.is_empty() {
        let index: HashMap<(u32, u64, i64), usize> = records
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.mmsi, r.payload_hash, r.time_ms), i))
            .collect();
        for (mmsi, h, t, source) in late {
            if let Some(&i) = index.get(&(mmsi, h, t)) {
                records[i].sources.push(source);
            }
        }
    }

    // Vessels (seeded with the stored state), segments, rows.
    let mut registry = Registry::new();
    for v in reg.vessels(None)? {
        registry.insert(v.mmsi, vessel_from_row(&v));
    }
    let mut segmenters: HashMap<u32, Segmenter> = HashMap::new();
    let mut touched: HashSet<u32> = HashSet::new();
    let seg_cfg = SegmenterConfig::default();
    for r in records {
        touched.insert(r.mmsi);
        match r.payload {
            Report::Static(s) => {
                sum.static_reports += 1;
                registry.static_data(r.mmsi, s);
            }
            Report::Position(p) => {
                let seg = segmenters
                    .entry(r.mmsi)
                    .or_insert_with(|| Segmenter::new(seg_cfg));
                let placement = seg.push(&Fix {
                    t_ms: r.time_ms,
                    lat: p.lat,
                    lon: p.lon,
                    sog_knots: p.sog_knots,
                    cog_deg: p.cog_deg,
                    transponder: p.transponder,
                });
                let flags = match placement {
                    Placement::Started(..) => {
                        sum.segments += 1;
                        0
                    }
                    Placement::Joined(_) => 0,
                    Placement::Noise(_) => FLAG_LONG_RANGE_NOISE,
                    Placement::Invalid(InvalidReason::BadPosition) => FLAG_BAD_POSITION,
                    Placement::Invalid(InvalidReason::NoCourseWhileMoving) => FLAG_NO_COURSE,
                };
                if flags != 0 {
                    sum.flagged += 1;
                }
                if flags & FLAG_BAD_POSITION == 0 {
                    registry.position(
                        r.mmsi,
                        PositionUpdate {
                            time_ms: r.time_ms,
                            lat: p.lat,
                            lon: p.lon,
                            sog_knots: p.sog_knots,
                            cog_deg: p.cog_deg,
                            heading_deg: p.heading_deg,
                            nav_status: p.nav_status,
                            class: p.class,
                        },
                    );
                }
                sum.positions += 1;
                store.append(PositionRow {
                    time_ms: r.time_ms,
                    mmsi: r.mmsi,
                    lat: p.lat,
                    lon: p.lon,
                    sog_knots: p.sog_knots,
                    cog_deg: p.cog_deg,
                    heading_deg: p.heading_deg,
                    nav_status: p.nav_status,
                    msg_type: p.msg_type,
                    segment: placement.segment().map(|s| s.0),
                    flags,
                    sources: source_labels(&r.sources, &labels),
                });
                if store.pending_rows() >= 1 << 21 {
                    store.flush()?;
                }
            }
        }
    }
    store.flush()?;

    // Commit point. The failpoint simulates a crash after the files are durable and before
    // the registry records the run (tested in tests/ingest.rs).
    if std::env::var_os("TIDEWATCH_FAILPOINT").is_some_and(|v| v == "before-commit") {
        std::process::abort();
    }
    let mut vessels = Vec::new();
    let mut history = Vec::new();
    let mut touched: Vec<u32> = touched.into_iter().collect();
    touched.sort_unstable();
    for mmsi in &touched {
        let Some(v) = registry.get(*mmsi) else {
            continue;
        };
        vessels.push(row_from_vessel(*mmsi, v));
        for c in &v.history {
            history.push(IdentityRow {
                mmsi: *mmsi,
                time_ms: c.time_ms,
                field: c.field.as_str().to_owned(),
                old: c.old.clone(),
                new: c.new.clone(),
            });
        }
    }
    sum.vessels_touched = vessels.len() as u64;
    sum.vessels_total = registry.len() as u64;
    sum.identity_changes = history.len() as u64;
    if !inputs.is_empty() {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        reg.commit_run(run, now_ms, sum.positions, &vessels, &history, &inputs)?;
    }
    if !args.quiet {
        eprint!("{}", human(&sum));
    }
    if let Some(p) = &args.stats {
        std::fs::write(p, json(&sum)).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// The inputs with directories replaced by the regular files under them (recursively, in
/// name order; hidden files skipped).
fn expand_inputs(inputs: &[String]) -> Result<Vec<String>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) -> Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read directory {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read directory {}", dir.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.is_file() {
                out.push(p.to_string_lossy().into_owned());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for i in inputs {
        let p = std::path::Path::new(i);
        if i != "-" && p.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                anyhow::bail!("directory {i} holds no files");
            }
        } else {
            out.push(i.clone());
        }
    }
    Ok(out)
}

/// `input/station/talker` of each source, each label once, in arrival order.
fn source_labels(sources: &[SourceRef], inputs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(sources.len());
    for s in sources {
        let label = match &s.station {
            Some(st) => format!("{}/{st}", inputs[s.source_id as usize]),
            None => inputs[s.source_id as usize].clone(),
        };
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

fn vessel_from_row(r: &VesselRow) -> Vessel {
    Vessel {
        class: match r.class.as_deref() {
            Some("A") => Some(Class::A),
            Some("B") => Some(Class::B),
            _ => None,
        },
        position: r
            .position_time_ms
            .zip(r.lat.zip(r.lon))
            .map(|(t, (lat, lon))| PositionUpdate {
                time_ms: t,
                lat,
                lon,
                sog_knots: r.sog_knots,
                cog_deg: r.cog_deg,
                heading_deg: None,
                nav_status: None,
                class: None,
            }),
        name: r.name.clone(),
        callsign: r.callsign.clone(),
        imo: r.imo,
        ship_type: r.ship_type,
        dimensions_m: r.length_m.zip(r.beam_m),
        destination: r.destination.clone(),
        draught_m: r.draught_m,
        history: Vec::new(),
        first_seen_ms: r.first_seen_ms,
        last_seen_ms: r.last_seen_ms,
        reports: r.reports,
    }
}

fn row_from_vessel(mmsi: u32, v: &Vessel) -> VesselRow {
    VesselRow {
        mmsi,
        class: v.class.map(|c| match c {
            Class::A => "A".to_owned(),
            Class::B => "B".to_owned(),
        }),
        flag: Mmsi(mmsi).flag().map(|f| f.iso2.to_owned()),
        name: v.name.clone(),
        callsign: v.callsign.clone(),
        imo: v.imo,
        ship_type: v.ship_type,
        length_m: v.dimensions_m.map(|d| d.0),
        beam_m: v.dimensions_m.map(|d| d.1),
        destination: v.destination.clone(),
        draught_m: v.draught_m,
        first_seen_ms: v.first_seen_ms,
        last_seen_ms: v.last_seen_ms,
        reports: v.reports,
        position_time_ms: v.position.map(|p| p.time_ms),
        lat: v.position.map(|p| p.lat),
        lon: v.position.map(|p| p.lon),
        sog_knots: v.position.and_then(|p| p.sog_knots),
        cog_deg: v.position.and_then(|p| p.cog_deg),
    }
}

fn human(s: &Summary) -> String {
    let mut r = format!(
        "run {}: {} input(s) read, {} skipped\n",
        s.run,
        s.inputs_read,
        s.inputs_skipped.len()
    );
    for (p, run) in &s.inputs_skipped {
        r.push_str(&format!(
            "  skipped {p}: content already ingested (run {run})\n"
        ));
    }
    if s.discarded_rows > 0 {
        r.push_str(&format!(
            "  discarded {} rows of an interrupted earlier run\n",
            s.discarded_rows
        ));
    }
    r.push_str(&format!(
        "lines {}, messages {}, rejected lines {}\n",
        s.decode.lines,
        s.decode.messages,
        s.decode.rejected_total()
    ));
    for reason in Reject::ALL {
        let n = s.decode.rejected(reason);
        if n > 0 {
            r.push_str(&format!("  rejected {:<24} {n}\n", reason.as_str()));
        }
    }
    r.push_str(&format!(
        "vessel reports {} (other messages {}), dropped: no receive time {}, position not available {}\n",
        s.observations, s.other_messages, s.dropped.no_receive_time, s.dropped.position_not_available
    ));
    r.push_str(&format!(
        "fused: {} duplicates merged, {} late copies; positions stored {} ({} flagged), static reports {}\n",
        s.duplicates_merged, s.late_duplicates, s.positions, s.flagged, s.static_reports
    ));
    r.push_str(&format!(
        "vessels {} in this run ({} in store), segments {}, identity history entries {}\n",
        s.vessels_touched, s.vessels_total, s.segments, s.identity_changes
    ));
    r
}

fn json(s: &Summary) -> String {
    let rejected: serde_json::Map<String, serde_json::Value> = Reject::ALL
        .iter()
        .filter(|r| s.decode.rejected(**r) > 0)
        .map(|r| (r.as_str().to_owned(), s.decode.rejected(*r).into()))
        .collect();
    let v = serde_json::json!({
        "run": s.run,
        "inputs_read": s.inputs_read,
        "inputs_skipped": s.inputs_skipped.iter().map(|(p, r)| serde_json::json!({"input": p, "run": r})).collect::<Vec<_>>(),
        "discarded_rows": s.discarded_rows,
        "lines": s.decode.lines,
        "messages": s.decode.messages,
        "rejected": rejected,
        "vessel_reports": s.observations,
        "other_messages": s.other_messages,
        "dropped": {
            "no_receive_time": s.dropped.no_receive_time,
            "position_not_available": s.dropped.position_not_available,
        },
        "duplicates_merged": s.duplicates_merged,
        "late_duplicates": s.late_duplicates,
        "positions": s.positions,
        "flagged": s.flagged,
        "static_reports": s.static_reports,
        "vessels": s.vessels_touched,
        "vessels_in_store": s.vessels_total,
        "segments": s.segments,
        "identity_changes": s.identity_changes,
    });
    format!("{v}\n")
}
