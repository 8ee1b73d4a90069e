//! The engine: every detector behind one stream interface, with state that can be saved and
//! resumed between runs.
//!
//! The rule: positions and identity updates go in (in message-time order across vessels, a
//! little disorder allowed), event notices come out. Input is held in a reorder buffer for
//! `[engine] reorder_s` and released in time order; a fix older than its vessel's last one is
//! counted (`out_of_order_fix`) and shown to the detectors only as late data (a closed gap it
//! falls in is withdrawn or split), never as the vessel's newest position. Per-vessel detectors see every released fix; the
//! pairwise ones (encounter, escort / shadowing, swarm) see every vessel resampled on a
//! `[engine] tick_s` grid (10 min, as GFW), a tick being complete once no pair of fixes
//! bracketing it can still arrive (`max_interp_gap_s` later).
//!
//! Why: batch over stored history and live are the same code path, and [`Engine::save`] /
//! [`Engine::resume`] carry everything (open events, per-vessel state, the reorder buffer,
//! pending ticks), so input split over many runs gives the same events as one run.
//!
//! At the edges: [`Engine::finish`] releases what is buffered and processes the last ticks;
//! open events stay open (`open: true`, `end_ms: None`). Once per hour of input time,
//! vessels silent for `[engine] forget_after_s` are forgotten (detectors close what they had
//! open at their last position), so live state is bounded by the vessels heard recently.
//! Notices are not part of the saved state: take them before [`Engine::save`].

use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::detectors::{self, Detectors, FixCtx};
use crate::event::{Change, Event, EventId, EventType, Notice, PosRef, VesselAt};
use crate::geom;
use crate::input::{Fix, Identity, IdentityUpdate, Label, LastFix};
use crate::watchlist::WatchList;
use crate::world::{World, ZoneIdx, ZoneKind};

/// A vessel's state on the resampling grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// MMSI.
    pub mmsi: u32,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Speed over ground, knots (reported, interpolated; implied when not reported).
    pub sog_knots: f32,
    /// Course over ground, degrees (implied from the bracketing fixes when they are apart).
    pub cog_deg: f32,
    /// Message times of the two fixes it lies between, ms (equal when it is a fix): the
    /// positions an event found at this tick rests on.
    #[serde(default)]
    pub fixes_ms: [i64; 2],
    /// The feeds that delivered the later fix (its first two).
    #[serde(default)]
    pub sources: [Option<Label>; 2],
}

impl Sample {
    /// The stored positions this sample was interpolated between (one when it is a fix).
    pub fn evidence(&self) -> impl Iterator<Item = PosRef> + '_ {
        let [a, b] = self.fixes_ms;
        let n = if a == b { 1 } else { 2 };
        self.fixes_ms[..n].iter().map(|&time_ms| PosRef {
            mmsi: self.mmsi,
            time_ms,
        })
    }

    /// The feeds of the later fix.
    pub fn sources(&self) -> impl Iterator<Item = Label> + '_ {
        self.sources.iter().flatten().copied()
    }
}

fn first_two(sources: &[Label]) -> [Option<Label>; 2] {
    [sources.first().copied(), sources.get(1).copied()]
}

/// The open events and the notices not yet taken.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Book {
    open: BTreeMap<EventId, Event>,
    /// Taken by the caller; not part of the saved state.
    #[serde(skip)]
    notices: Vec<Notice>,
    counters: BTreeMap<String, u64>,
}

/// What a detector sees of the engine: the world, identities, the watch list, and the event
/// book it creates, updates and closes events in.
pub struct Ctx<'a> {
    /// The geography.
    pub world: &'a dyn World,
    /// Identities as last known.
    pub idents: &'a FxHashMap<u32, Identity>,
    /// The watch list.
    pub watch: &'a WatchList,
    /// Every vessel's last fix (before the one being processed).
    pub last: &'a FxHashMap<u32, LastFix>,
    book: &'a mut Book,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("open", &self.book.open.len())
            .finish()
    }
}

impl Ctx<'_> {
    /// A vessel with its identity as known now (the flag from its MMSI until a static report
    /// says more).
    pub fn vessel(&self, mmsi: u32) -> VesselAt {
        let i = self.idents.get(&mmsi);
        VesselAt {
            mmsi,
            name: i.and_then(|i| i.name.clone()),
            // The flag comes from the MMSI's MID: known before any static report.
            flag: i
                .and_then(|i| i.flag.clone())
                .or_else(|| ais::Mmsi(mmsi).flag().map(|f| f.iso2.to_owned())),
            imo: i.and_then(|i| i.imo),
            ship_type: i.and_then(|i| i.ship_type),
        }
    }

    /// Names of the zones containing a point.
    pub fn zone_names(&self, lat: f64, lon: f64) -> Vec<String> {
        let mut z = Vec::new();
        if !(lat.is_finite() && lon.is_finite()) {
            return Vec::new();
        }
        self.world.zones_at(lat, lon, &mut z);
        z.sort_unstable();
        z.into_iter()
            .map(|i| self.world.zone(i).name.clone())
            .collect()
    }

    /// Whether a point lies in a port or an anchorage.
    pub fn in_port(&self, lat: f64, lon: f64) -> bool {
        let mut z = Vec::new();
        self.world.zones_at(lat, lon, &mut z);
        self.any_port(&z)
    }

    /// Whether any of these zones is a port or an anchorage.
    pub fn any_port(&self, zones: &[ZoneIdx]) -> bool {
        zones.iter().any(|&i| {
            matches!(
                self.world.zone(i).kind,
                ZoneKind::Port | ZoneKind::Anchorage
            )
        })
    }

    /// A new open event (not yet in the book): id, vessels as now, zones at the position.
    pub fn new_event(
        &self,
        kind: EventType,
        mmsis: &[u32],
        start_ms: i64,
        lat: f64,
        lon: f64,
        key: &str,
    ) -> Event {
        Event {
            id: EventId::derive(kind, mmsis, start_ms, key),
            kind,
            start_ms,
            end_ms: None,
            open: true,
            last_ms: start_ms,
            vessels: mmsis.iter().map(|&m| self.vessel(m)).collect(),
            lat,
            lon,
            zones: self.zone_names(lat, lon),
            confidence: 1.0,
            evidence: Vec::new(),
            sources: Vec::new(),
            details: BTreeMap::new(),
        }
    }

    /// Reports an event. An open one is kept in the book until closed; a closed one (an
    /// instant, or found already over) is reported once. Returns its id.
    pub fn create(&mut self, ev: Event) -> EventId {
        let id = ev.id;
        if self.book.open.contains_key(&id) {
            self.count("duplicate_event_id");
            return id;
        }
        self.book.notices.push(Notice {
            change: Change::Created,
            event: ev.clone(),
        });
        if ev.open {
            self.book.open.insert(id, ev);
        } else {
            self.count(&format!("events.{}", ev.kind.as_str()));
        }
        id
    }

    /// The open events (all detectors'), by id.
    pub fn open_events(&self) -> impl Iterator<Item = &Event> {
        self.book.open.values()
    }

    /// An open event, to change without a notice (evidence, running fields).
    pub fn event_mut(&mut self, id: EventId) -> Option<&mut Event> {
        self.book.open.get_mut(&id)
    }

    /// Reports an open event's current state as updated.
    pub fn updated(&mut self, id: EventId) {
        if let Some(e) = self.book.open.get(&id) {
            self.book.notices.push(Notice {
                change: Change::Updated,
                event: e.clone(),
            });
        }
    }

    /// Closes an open event at `end_ms`.
    pub fn close(&mut self, id: EventId, end_ms: i64) {
        if let Some(mut e) = self.book.open.remove(&id) {
            e.end_ms = Some(end_ms.max(e.start_ms));
            e.open = false;
            e.last_ms = e.last_ms.max(end_ms);
            self.count(&format!("events.{}", e.kind.as_str()));
            self.book.notices.push(Notice {
                change: Change::Closed,
                event: e,
            });
        }
    }

    /// Withdraws an open event (it turned out to be something else).
    pub fn withdraw(&mut self, id: EventId) {
        if let Some(e) = self.book.open.remove(&id) {
            self.count("withdrawn");
            self.book.notices.push(Notice {
                change: Change::Withdrawn,
                event: e,
            });
        }
    }

    /// Withdraws an event already reported closed (an instant found wrong by later data).
    pub fn withdraw_closed(&mut self, e: Event) {
        self.count("withdrawn");
        self.book.notices.push(Notice {
            change: Change::Withdrawn,
            event: e,
        });
    }

    /// Reports a revised version of an event already reported closed (late data shortened
    /// it), under the same id.
    pub fn revise_closed(&mut self, e: Event) {
        self.count("revised");
        self.book.notices.push(Notice {
            change: Change::Updated,
            event: e,
        });
    }

    /// Counts something (input rejected with a reason, events by type).
    pub fn count(&mut self, what: &str) {
        *self.book.counters.entry(what.to_owned()).or_default() += 1;
    }
}

/// Resamples every vessel on the tick grid (linear interpolation between the fixes that
/// bracket a tick, only across gaps up to `max_gap_ms`).
/// The previous fix of each vessel is the engine's `last` (states saved before kept a copy
/// here, `last`, which loading ignores).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Resampler {
    pending: BTreeMap<i64, Vec<Sample>>,
}

impl Resampler {
    fn push(&mut self, f: &Fix, prev: Option<&LastFix>, tick_ms: i64, max_gap_ms: i64) {
        if let Some(p) = prev {
            let dt = f.time_ms - p.time_ms;
            let mut t = (p.time_ms.div_euclid(tick_ms) + 1) * tick_ms;
            if dt <= 0 || dt > max_gap_ms || t > f.time_ms {
                // No tick between the two fixes (most fixes): nothing to interpolate.
                return;
            }
            let d = geom::distance_m(p.lat, p.lon, f.lat, f.lon);
            let implied = d / (dt as f64 / 1000.0) / geom::KNOT_MS;
            let course = if d > 50.0 {
                geom::bearing_deg(p.lat, p.lon, f.lat, f.lon) as f32
            } else {
                f.cog_deg.map(|c| c as f32).or(p.cog_deg).unwrap_or(0.0)
            };
            while t <= f.time_ms {
                let k = (t - p.time_ms) as f64 / dt as f64;
                let sog = match (p.sog_knots, f.sog_knots) {
                    (Some(a), Some(b)) => a as f64 + (b - a as f64) * k,
                    _ => implied,
                };
                self.pending.entry(t).or_default().push(Sample {
                    mmsi: f.mmsi,
                    lat: p.lat + (f.lat - p.lat) * k,
                    lon: p.lon + (f.lon - p.lon) * k,
                    sog_knots: sog as f32,
                    cog_deg: course,
                    fixes_ms: [p.time_ms, f.time_ms],
                    sources: first_two(&f.sources),
                });
                t += tick_ms;
            }
        } else if f.time_ms.rem_euclid(tick_ms) == 0 {
            self.pending.entry(f.time_ms).or_default().push(Sample {
                mmsi: f.mmsi,
                lat: f.lat,
                lon: f.lon,
                sog_knots: f.sog_knots.unwrap_or(0.0) as f32,
                cog_deg: f.cog_deg.unwrap_or(0.0) as f32,
                fixes_ms: [f.time_ms; 2],
                sources: first_two(&f.sources),
            });
        }
    }
}

/// An input item in the reorder buffer.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Item {
    Fix(Fix),
    Identity(IdentityUpdate),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Queued {
    time_ms: i64,
    seq: u64,
    item: Item,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.time_ms, self.seq) == (o.time_ms, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // Min-heap on (time, arrival order).
        (o.time_ms, o.seq).cmp(&(self.time_ms, self.seq))
    }
}

/// Everything an engine carries from one run to the next (serde).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineState {
    book: Book,
    idents: FxHashMap<u32, Identity>,
    last: FxHashMap<u32, LastFix>,
    resampler: Resampler,
    /// The reorder buffer: input that came in time order (nearly all of it: the fuser
    /// releases in order) waits in `run`, in order, at no cost; only what arrives older than
    /// the run's newest goes to the heap. Release takes the earlier of the two fronts.
    #[serde(default)]
    run: std::collections::VecDeque<Queued>,
    /// Boxed: the heap moves its entries at every push and pop, and a fix is ~130 bytes
    /// (moving them was 9 % of ingest's samples on a dense simulated feed). The run is not:
    /// an allocation per item cost more than moving it once in and once out.
    queue: BinaryHeap<Box<Queued>>,
    seq: u64,
    watermark_ms: Option<i64>,
    released_ms: Option<i64>,
    last_minute: Option<i64>,
    detectors: Detectors,
}

/// Counters and sizes of an engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineStats {
    /// Vessels with state.
    pub vessels: usize,
    /// Open events.
    pub open_events: usize,
    /// Items waiting in the reorder buffer.
    pub queued: usize,
    /// Estimated bytes of live detector state (per-vessel tables, open events, buffers).
    pub memory_bytes: usize,
    /// Counters: rejected input by reason, events by type.
    pub counters: BTreeMap<String, u64>,
}

/// The detection engine.
pub struct Engine {
    config: Config,
    world: Arc<dyn World>,
    watch: WatchList,
    s: EngineState,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("vessels", &self.s.last.len())
            .field("open_events", &self.s.book.open.len())
            .finish()
    }
}

impl Engine {
    /// A fresh engine.
    pub fn new(config: Config, world: Arc<dyn World>, watch: WatchList) -> Engine {
        let detectors = Detectors::new(&config);
        Engine {
            config,
            world,
            watch,
            s: EngineState {
                book: Book::default(),
                idents: FxHashMap::default(),
                last: FxHashMap::default(),
                resampler: Resampler::default(),
                run: std::collections::VecDeque::new(),
                queue: BinaryHeap::new(),
                seq: 0,
                watermark_ms: None,
                released_ms: None,
                last_minute: None,
                detectors,
            },
        }
    }

    /// An engine continuing from a saved state (the config may differ: new thresholds apply
    /// from now on).
    pub fn resume(
        config: Config,
        world: Arc<dyn World>,
        watch: WatchList,
        mut state: EngineState,
    ) -> Engine {
        state.detectors.configure(&config);
        Engine {
            config,
            world,
            watch,
            s: state,
        }
    }

    /// The state to carry to the next run.
    pub fn save(&self) -> EngineState {
        self.s.clone()
    }

    /// The state to carry to the next run, to serialize in place (no copy: on a busy feed it
    /// is tens of megabytes).
    pub fn state(&self) -> &EngineState {
        &self.s
    }

    /// The message time up to which input has been released to the detectors (`None` before
    /// any): what arrives older than this is late data.
    pub fn released_ms(&self) -> Option<i64> {
        self.s.released_ms
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds one position.
    pub fn push_position(&mut self, fix: Fix) {
        let t = fix.time_ms;
        self.enqueue(t, Item::Fix(fix));
    }

    /// Feeds one identity update.
    pub fn push_identity(&mut self, update: IdentityUpdate) {
        let t = update.time_ms;
        self.enqueue(t, Item::Identity(update));
    }

    fn enqueue(&mut self, time_ms: i64, item: Item) {
        self.s.seq += 1;
        let q = Queued {
            time_ms,
            seq: self.s.seq,
            item,
        };
        if self.s.run.back().is_none_or(|b| b.time_ms <= time_ms) {
            self.s.run.push_back(q);
        } else {
            self.s.queue.push(Box::new(q));
        }
        let w = self.s.watermark_ms.map_or(time_ms, |w| w.max(time_ms));
        self.s.watermark_ms = Some(w);
        self.release(w - self.config.engine.reorder_s as i64 * 1000);
    }

    /// Declares that input up to `time_ms` has arrived: releases buffered input, completes
    /// ticks and closes what timed out by then.
    pub fn advance_to(&mut self, time_ms: i64) {
        let w = self.s.watermark_ms.map_or(time_ms, |w| w.max(time_ms));
        self.s.watermark_ms = Some(w);
        self.release(w - self.config.engine.reorder_s as i64 * 1000);
    }

    /// End of input: releases everything buffered and processes the last ticks. Open events
    /// stay open.
    pub fn finish(&mut self) {
        self.release(i64::MAX);
        let ticks: Vec<i64> = self.s.resampler.pending.keys().copied().collect();
        for t in ticks {
            self.run_tick(t);
        }
        self.report_open();
    }

    /// Reports every open event as it stands now (an `Updated` notice each): detectors keep
    /// running fields (duration, counts, evidence) current without a notice per fix. Call at
    /// the end of a run; [`Engine::finish`] does.
    pub fn report_open(&mut self) {
        for e in self.s.book.open.values() {
            self.s.book.notices.push(Notice {
                change: Change::Updated,
                event: e.clone(),
            });
        }
    }

    /// Takes the notices produced so far.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.s.book.notices)
    }

    /// The events open now, by id.
    pub fn open_events(&self) -> impl Iterator<Item = &Event> {
        self.s.book.open.values()
    }

    /// One counter (input set aside by reason, events by type) over the engine's life.
    pub fn counter(&self, name: &str) -> u64 {
        self.s.book.counters.get(name).copied().unwrap_or(0)
    }

    /// Counters and sizes.
    pub fn stats(&self) -> EngineStats {
        use std::mem::size_of;
        let per_vessel = self.s.last.capacity() * (size_of::<u32>() + size_of::<LastFix>() + 8)
            + self.s.idents.capacity() * (size_of::<u32>() + size_of::<Identity>() + 8)
            + self
                .s
                .idents
                .values()
                .map(|i| {
                    i.name.as_ref().map_or(0, |s| s.capacity())
                        + i.callsign.as_ref().map_or(0, |s| s.capacity())
                        + i.flag.as_ref().map_or(0, |s| s.capacity())
                        + i.destination.as_ref().map_or(0, |s| s.capacity())
                })
                .sum::<usize>();
        let pending: usize = self
            .s
            .resampler
            .pending
            .values()
            .map(|v| v.capacity() * size_of::<Sample>())
            .sum();
        let events: usize = self
            .s
            .book
            .open
            .values()
            .map(|e| {
                size_of::<Event>()
                    + e.evidence.capacity() * size_of::<PosRef>()
                    + e.vessels.capacity() * (size_of::<VesselAt>() + 16)
                    + 64 * e.details.len()
            })
            .sum();
        let waiting = self.s.queue.len() + self.s.run.len();
        // The run's array as allocated (it doubles as it grows), the heap's boxed entries.
        let queued = self.s.run.capacity() * size_of::<Queued>()
            + self.s.queue.capacity() * size_of::<Box<Queued>>()
            + self.s.queue.len() * (size_of::<Queued>() + 16);
        EngineStats {
            vessels: self.s.last.len(),
            open_events: self.s.book.open.len(),
            queued: waiting,
            memory_bytes: per_vessel + pending + events + queued + self.s.detectors.memory_bytes(),
            counters: self.s.book.counters.clone(),
        }
    }

    fn release(&mut self, upto_ms: i64) {
        // Identity updates waiting for the positions of their time (see below).
        let mut held: Vec<IdentityUpdate> = Vec::new();
        while let Some(from_run) = self
            .earliest()
            .filter(|(_, q)| q.time_ms <= upto_ms)
            .map(|(from_run, _)| from_run)
        {
            let taken = if from_run {
                self.s.run.pop_front()
            } else {
                self.s.queue.pop().map(|q| *q)
            };
            let Some(q) = taken else { break };
            if held.first().is_some_and(|u| u.time_ms < q.time_ms) {
                for u in held.drain(..) {
                    self.process_identity(&u);
                }
            }
            self.prefetch_next();
            self.s.released_ms = Some(self.s.released_ms.map_or(q.time_ms, |r| r.max(q.time_ms)));
            match q.item {
                Item::Fix(f) => self.process_fix(&f),
                Item::Identity(u) => {
                    // Positions of the same time go first: ingest hands a static report over
                    // before or after a position of its second as they arrived, a recompute
                    // from the store after, and each change must see the same positions. So
                    // an update waits while anything of its time follows, behind any held.
                    let same_time_follows =
                        self.earliest().is_some_and(|(_, n)| n.time_ms == q.time_ms);
                    if same_time_follows || !held.is_empty() {
                        held.push(u);
                    } else {
                        self.process_identity(&u);
                    }
                }
            }
            self.maybe_tick();
        }
        for u in held {
            self.process_identity(&u);
        }
        if upto_ms != i64::MAX {
            let r = self.s.released_ms.map_or(upto_ms, |r| r.max(upto_ms));
            self.s.released_ms = Some(r);
            self.maybe_tick();
        }
    }

    /// The next item to release (see [`earliest`]).
    fn earliest(&self) -> Option<(bool, &Queued)> {
        earliest(&self.s.run, &self.s.queue)
    }

    /// Brings the state of the next item's vessel into cache while this one is processed
    /// (see [`detectors::prefetch`]).
    fn prefetch_next(&mut self) {
        if let Some((
            _,
            Queued {
                item: Item::Fix(f), ..
            },
        )) = earliest(&self.s.run, &self.s.queue)
        {
            if let Some(l) = self.s.last.get(&f.mmsi) {
                detectors::prefetch(l);
            }
            self.s.detectors.prefetch(&self.config, f);
        }
    }

    /// Runs complete ticks and, once per minute of input time, the detectors' time checks.
    fn maybe_tick(&mut self) {
        let Some(now) = self.s.released_ms else {
            return;
        };
        let max_gap_ms = self.config.engine.max_interp_gap_s as i64 * 1000;
        while let Some(&t) = self.s.resampler.pending.keys().next() {
            if t + max_gap_ms >= now {
                break;
            }
            self.run_tick(t);
        }
        let minute = now.div_euclid(60_000);
        if self.s.last_minute.is_none_or(|m| m < minute) {
            self.s.last_minute = Some(minute);
            let mut ctx = Ctx {
                world: &*self.world,
                idents: &self.s.idents,
                watch: &self.watch,
                last: &self.s.last,
                book: &mut self.s.book,
            };
            self.s.detectors.on_time(&self.config, &mut ctx, now);
            let forget_ms = self.config.engine.forget_after_s as i64 * 1000;
            if forget_ms > 0 && minute.rem_euclid(60) == 0 {
                let before = now - forget_ms;
                self.s.detectors.forget(&self.config, &mut ctx, before);
                self.s.last.retain(|_, f| f.time_ms >= before);
            }
        }
    }

    fn run_tick(&mut self, t: i64) {
        let Some(mut samples) = self.s.resampler.pending.remove(&t) else {
            return;
        };
        samples.sort_by_key(|s| s.mmsi);
        samples.dedup_by_key(|s| s.mmsi);
        let mut ctx = Ctx {
            world: &*self.world,
            idents: &self.s.idents,
            watch: &self.watch,
            last: &self.s.last,
            book: &mut self.s.book,
        };
        self.s
            .detectors
            .on_tick(&self.config, &mut ctx, t, &samples);
    }

    fn process_fix(&mut self, f: &Fix) {
        let ok = f.lat.is_finite()
            && f.lon.is_finite()
            && (-90.0..=90.0).contains(&f.lat)
            && (-180.0..=180.0).contains(&f.lon);
        let mut ctx = Ctx {
            world: &*self.world,
            idents: &self.s.idents,
            watch: &self.watch,
            last: &self.s.last,
            book: &mut self.s.book,
        };
        if !ok {
            ctx.count("invalid_position");
            return;
        }
        let prev = self.s.last.get(&f.mmsi).copied();
        if prev.is_some_and(|p| f.time_ms < p.time_ms) {
            ctx.count("out_of_order_fix");
            self.s.detectors.on_late_fix(&self.config, &mut ctx, f);
            return;
        }
        let mut zones: Vec<ZoneIdx> = Vec::new();
        ctx.world.zones_at(f.lat, f.lon, &mut zones);
        zones.sort_unstable();
        let fc = FixCtx {
            fix: f,
            prev: prev.as_ref(),
            zones: &zones,
        };
        self.s.detectors.on_fix(&self.config, &mut ctx, &fc);
        let tick_ms = self.config.engine.tick_s as i64 * 1000;
        let max_gap_ms = self.config.engine.max_interp_gap_s as i64 * 1000;
        self.s.resampler.push(f, prev.as_ref(), tick_ms, max_gap_ms);
        self.s.last.insert(f.mmsi, LastFix::of(f));
    }

    fn process_identity(&mut self, u: &IdentityUpdate) {
        let before = self.s.idents.get(&u.mmsi).cloned().unwrap_or_default();
        let mut after = before.clone();
        after.apply(u);
        self.s.idents.insert(u.mmsi, after);
        let mut ctx = Ctx {
            world: &*self.world,
            idents: &self.s.idents,
            watch: &self.watch,
            last: &self.s.last,
            book: &mut self.s.book,
        };
        self.s
            .detectors
            .on_identity(&self.config, &mut ctx, u, &before);
    }
}

/// The next item of the reorder buffer: the earlier of the run's front and the heap's top, by
/// (time, arrival), and whether it is the run's.
fn earliest<'a>(
    run: &'a std::collections::VecDeque<Queued>,
    queue: &'a BinaryHeap<Box<Queued>>,
) -> Option<(bool, &'a Queued)> {
    match (run.front(), queue.peek()) {
        (Some(r), Some(h)) if (h.time_ms, h.seq) < (r.time_ms, r.seq) => Some((false, &**h)),
        (Some(r), _) => Some((true, r)),
        (None, h) => h.map(|h| (false, &**h)),
    }
}

/// Runs a whole input through a fresh engine and returns the final state of every event
/// (closed, and open at the end), ordered by start then id. A convenience for batch use and
/// tests.
pub fn run_batch(
    config: Config,
    world: Arc<dyn World>,
    watch: WatchList,
    fixes: impl IntoIterator<Item = Fix>,
    identities: impl IntoIterator<Item = IdentityUpdate>,
) -> Vec<Event> {
    let mut e = Engine::new(config, world, watch);
    let mut ids: Vec<IdentityUpdate> = identities.into_iter().collect();
    ids.sort_by_key(|u| u.time_ms);
    let mut ids = ids.into_iter().peekable();
    let mut out = detectors::Collector::default();
    for f in fixes {
        while ids.peek().is_some_and(|u| u.time_ms <= f.time_ms) {
            if let Some(u) = ids.next() {
                e.push_identity(u);
            }
        }
        e.push_position(f);
        out.absorb(e.take_notices());
    }
    for u in ids {
        e.push_identity(u);
    }
    e.finish();
    out.absorb(e.take_notices());
    out.events()
}
