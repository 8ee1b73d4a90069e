//! Runs a scenario: vessels in shards, time in windows, shards on worker threads, windows
//! merged in order.
//!
//! Determinism: every vessel has its own random stream and a fixed shard (vessels that follow
//! one another share a shard, leaders first), so a shard's output depends only on the seed.
//! Lines are ordered by delivery second, then shard, then delivery time, then the order the
//! shard made them in (vessel by vessel in id order, each vessel's transmissions in turn): a
//! total order that does not depend on the threads, so the merged output is the same for any
//! number of them. Within one second the order is by shard, as in a feed merged from several
//! receivers.

use crate::passes::{Sample, Watcher, STEP_MS};
use crate::radio::{Channel, Counters, Line, Radio};
use crate::scenario::{Scenario, Step};
use crate::truth::{TruthEvent, Value, VesselRef};
use crate::vessel::{self, Vessel, World};
use std::sync::mpsc;

/// Shards (fixed, independent of threads, so output does not depend on them).
pub const SHARDS: usize = 16;
/// Simulated time per window.
pub const WINDOW_MS: i64 = 60_000;

/// One merged window of output, in delivery order. After the last window comes one more
/// batch: satellite lines received before the end and delivered after it.
#[derive(Debug, Default)]
pub struct Batch {
    /// Start of the window (inclusive), Unix ms.
    pub start_ms: i64,
    /// End of the window (exclusive), Unix ms.
    pub end_ms: i64,
    /// Bytes of all lines, in order (each ends with `\n`).
    pub buf: Vec<u8>,
    /// The lines, in order; offsets index `buf`.
    pub lines: Vec<Line>,
}

impl Batch {
    /// The bytes of a line.
    pub fn bytes(&self, l: &Line) -> &[u8] {
        &self.buf[l.offset as usize..(l.offset + l.len) as usize]
    }
}

/// What a run produced besides the lines.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Counters.
    pub counters: Counters,
    /// Ground truth, sorted by start time.
    pub truth: Vec<TruthEvent>,
    /// Vessels (traffic slots count once per identity they had).
    pub vessels: u64,
}

struct BaseStation {
    receiver: usize,
    mmsi: u32,
    next_ms: i64,
    ordinal: u32,
}

struct Shard {
    vessels: Vec<Vessel>,
    /// This window's close-pass watcher samples.
    samples: Vec<Sample>,
    bases: Vec<BaseStation>,
    radio: Radio,
    truth: Vec<TruthEvent>,
    heard: [Vec<(usize, i64)>; 2],
    writer: ais::bits::BitWriter,
    armored: ais::encode::Armored,
}

impl Shard {
    fn run_window(&mut self, scenario: &Scenario, t0: i64, t1: i64) {
        self.radio.begin_window(scenario, t0, t1);
        for v in &mut self.vessels {
            v.begin_window();
        }
        for i in 0..self.vessels.len() {
            let (leaders, rest) = self.vessels.split_at_mut(i);
            let v = &mut rest[0];
            let mut world = World {
                scenario,
                leaders,
                truth: &mut self.truth,
            };
            let mut channel = Channel {
                scenario,
                radio: &mut self.radio,
                heard: &mut self.heard,
                writer: &mut self.writer,
                armored: &mut self.armored,
            };
            v.advance(t1, &mut world, &mut channel);
        }
        for b in &mut self.bases {
            while b.next_ms < t1 {
                self.radio
                    .base_station(scenario, b.receiver, b.mmsi, b.next_ms, b.ordinal);
                b.ordinal = b.ordinal.wrapping_add(1);
                b.next_ms += 10_000;
            }
        }
        self.radio.end_window();
        // Every present vessel on the watcher's grid instants of the window.
        self.samples.clear();
        let first = t0 + (STEP_MS - (t0 - scenario.start_ms).rem_euclid(STEP_MS)) % STEP_MS;
        for v in &self.vessels {
            let mut g = first;
            while g < t1 {
                if let Some(s) = vessel::state_at(&v.snaps, g).filter(|s| s.present) {
                    self.samples.push(Sample {
                        t: g,
                        uid: v.uid,
                        mmsi: v.vref().mmsi,
                        pos: s.kin.pos,
                        sog: s.kin.sog,
                        cog: s.kin.cog,
                        group: v.escort_group,
                    });
                }
                g += STEP_MS;
            }
        }
    }
}

/// One shard's output of a window: shard, line bytes, lines, close-pass watcher samples.
type Part = (usize, Vec<u8>, Vec<Line>, Vec<Sample>);

/// A scenario ready to run.
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    shards: Vec<Shard>,
    threads: usize,
    static_truth: Vec<TruthEvent>,
    swarm_members: Vec<usize>,
}

impl std::fmt::Debug for Simulation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("scenario", &self.scenario.name)
            .field("threads", &self.threads)
            .finish()
    }
}

fn vref_of(p: &crate::scenario::VesselPlan) -> VesselRef {
    VesselRef {
        mmsi: p.identity.mmsi,
        id: Some(p.id.clone()),
        name: p.identity.name.clone(),
    }
}

impl<'a> Simulation<'a> {
    /// Builds the vessels of `scenario`; `threads` workers (at least one) run the shards.
    pub fn new(scenario: &'a Scenario, threads: usize) -> Simulation<'a> {
        let seed = scenario.seed;
        let mut shards: Vec<Shard> = (0..SHARDS)
            .map(|_| Shard {
                vessels: Vec::new(),
                samples: Vec::new(),
                bases: Vec::new(),
                radio: Radio::new(scenario, SHARDS),
                truth: Vec::new(),
                heard: Default::default(),
                writer: Default::default(),
                armored: Default::default(),
            })
            .collect();
        // Groups of scripted vessels that follow one another (union-find over targets).
        let n = scenario.vessels.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn find(p: &mut [usize], x: usize) -> usize {
            let mut r = x;
            while p[r] != r {
                r = p[r];
            }
            let mut y = x;
            while p[y] != r {
                let next = p[y];
                p[y] = r;
                y = next;
            }
            r
        }
        for (i, v) in scenario.vessels.iter().enumerate() {
            for s in &v.steps {
                if let Some(t) = s.target() {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, t));
                    parent[a] = b;
                }
            }
        }
        // Escort groups: vessels joined by `escort` steps (a charge and its escorts).
        let mut eparent: Vec<usize> = (0..n).collect();
        let mut escorting = vec![false; n];
        for (i, v) in scenario.vessels.iter().enumerate() {
            for s in &v.steps {
                if let Step::Escort {
                    target,
                    label: "escort",
                    ..
                } = s
                {
                    let (a, b) = (find(&mut eparent, i), find(&mut eparent, *target));
                    eparent[a] = b;
                    escorting[i] = true;
                    escorting[*target] = true;
                }
            }
        }
        let escort_group: Vec<Option<u32>> = (0..n)
            .map(|i| escorting[i].then(|| find(&mut eparent, i) as u32))
            .collect();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of_root = std::collections::HashMap::new();
        for i in 0..n {
            let r = find(&mut parent, i);
            let g = *group_of_root.entry(r).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        // Leaders before followers inside a group.
        for g in &mut groups {
            let mut order = Vec::new();
            let mut placed = vec![false; n];
            while order.len() < g.len() {
                for &i in g.iter() {
                    if placed[i] {
                        continue;
                    }
                    let ready = scenario.vessels[i]
                        .steps
                        .iter()
                        .filter_map(Step::target)
                        .all(|t| placed[t]);
                    if ready {
                        placed[i] = true;
                        order.push(i);
                    }
                }
            }
            *g = order;
        }
        let mut uid = 0u32;
        let mut local_of = vec![(0usize, 0usize); n];
        let mut swarm_members = Vec::new();
        for (gi, g) in groups.iter().enumerate() {
            let shard = gi % SHARDS;
            for &i in g {
                let p = &scenario.vessels[i];
                let course = p.course_deg.unwrap_or_else(|| first_course(p));
                let mut v = Vessel::new(uid, p.clone(), true, course, seed);
                v.targets = p
                    .steps
                    .iter()
                    .filter_map(Step::target)
                    .map(|t| local_of[t].1)
                    .collect();
                v.escort_group = escort_group[i];
                local_of[i] = (shard, shards[shard].vessels.len());
                if p.swarm.is_some() {
                    swarm_members.push(i);
                }
                shards[shard].vessels.push(v);
                uid += 1;
            }
        }
        if let Some(t) = &scenario.traffic {
            // Flags are drawn per slot; the slot's rank among its flag's slots keeps MMSIs apart.
            let mut per_flag: std::collections::HashMap<&'static str, u32> = Default::default();
            for slot in 0..t.vessels {
                let mut rng = crate::rng::Rng::new(seed, 0xf1a9_0000_0000 + slot as u64);
                let flag = crate::fleet::weighted(crate::fleet::FLAG_WEIGHTS, &mut rng);
                let serial = per_flag.entry(flag).or_insert(0);
                let v = vessel::new_traffic(uid, slot, flag, *serial, scenario, seed);
                *serial += 1;
                let shard = (groups.len() + slot as usize) % SHARDS;
                shards[shard].vessels.push(v);
                uid += 1;
            }
        }
        for (r, rx) in scenario.receivers.iter().enumerate() {
            if let Some(mmsi) = rx.base_mmsi {
                shards[r % SHARDS].bases.push(BaseStation {
                    receiver: r,
                    mmsi,
                    next_ms: scenario.start_ms + (r as i64 * 613) % 10_000,
                    ordinal: 0,
                });
            }
        }
        let mut static_truth = Vec::new();
        for p in &scenario.vessels {
            let mut details = vec![
                ("flag", Value::Text(p.identity.flag.clone())),
                ("callsign", Value::Text(p.identity.callsign.clone())),
                ("ship_type", Value::Int(p.identity.ship_type as i64)),
                (
                    "class",
                    Value::Text(if p.class_b { "B" } else { "A" }.to_owned()),
                ),
            ];
            if let Some(imo) = p.identity.imo {
                details.push(("imo", Value::Int(imo as i64)));
            }
            if let Some(w) = &p.watchlist {
                details.push(("watchlist", Value::Text(w.clone())));
            }
            static_truth.push(TruthEvent {
                kind: "vessel",
                start_ms: p.appears_ms,
                end_ms: p.appears_ms,
                open: false,
                position: p.position,
                vessels: vec![vref_of(p)],
                details,
            });
        }
        // One MMSI used by two vessels at once.
        for (i, a) in scenario.vessels.iter().enumerate() {
            for b in &scenario.vessels[i + 1..] {
                let ma: Vec<u32> = std::iter::once(a.identity.mmsi)
                    .chain(a.identity_changes.iter().map(|c| c.identity.mmsi))
                    .collect();
                let shared = std::iter::once(b.identity.mmsi)
                    .chain(b.identity_changes.iter().map(|c| c.identity.mmsi))
                    .find(|m| ma.contains(m));
                if let Some(m) = shared {
                    static_truth.push(TruthEvent {
                        kind: "shared_mmsi",
                        start_ms: a.appears_ms.max(b.appears_ms),
                        end_ms: scenario.end_ms,
                        open: true,
                        position: b.position,
                        vessels: vec![vref_of(a), vref_of(b)],
                        details: vec![("mmsi", Value::Int(m as i64))],
                    });
                }
            }
        }
        Simulation {
            scenario,
            shards,
            threads: threads.max(1),
            static_truth,
            swarm_members,
        }
    }

    /// Number of windows.
    pub fn windows(&self) -> u64 {
        ((self.scenario.end_ms - self.scenario.start_ms + WINDOW_MS - 1) / WINDOW_MS) as u64
    }

    /// Runs to the end, handing each merged window to `sink` in order.
    pub fn run<E: Send>(self, mut sink: impl FnMut(&Batch) -> Result<(), E>) -> Result<Summary, E> {
        let scenario = self.scenario;
        let windows = self.windows();
        let threads = self.threads.min(SHARDS);
        let mut owned: Vec<Vec<(usize, Shard)>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, s) in self.shards.into_iter().enumerate() {
            owned[i % threads].push((i, s));
        }
        let static_truth = self.static_truth;
        let swarm_members = self.swarm_members;
        type Out = Vec<Part>;
        let mut watcher = Watcher::default();
        let (shards, result) = std::thread::scope(|scope| {
            let mut from_workers = Vec::new();
            let mut to_workers = Vec::new();
            let mut handles = Vec::new();
            for mut mine in owned {
                let (tx, rx) = mpsc::sync_channel::<Out>(2);
                let (back_tx, back_rx) = mpsc::channel::<Out>();
                from_workers.push(rx);
                to_workers.push(back_tx);
                handles.push(scope.spawn(move || {
                    let mut spare: Vec<(Vec<u8>, Vec<Line>, Vec<Sample>)> = Vec::new();
                    // The windows, then one more for satellite lines delivered after the end.
                    for w in 0..=windows {
                        let t0 = scenario.start_ms + w as i64 * WINDOW_MS;
                        let t1 = (t0 + WINDOW_MS).min(scenario.end_ms);
                        while let Ok(back) = back_rx.try_recv() {
                            spare.extend(back.into_iter().map(|(_, b, l, s)| (b, l, s)));
                        }
                        let mut out: Out = Vec::with_capacity(mine.len());
                        for (i, shard) in mine.iter_mut() {
                            if w < windows {
                                shard.run_window(scenario, t0, t1);
                            } else {
                                shard.radio.drain();
                            }
                            // Hand the filled buffers over and keep empty ones.
                            let (mut b, mut l, mut smp) = spare.pop().unwrap_or_default();
                            b.clear();
                            l.clear();
                            smp.clear();
                            std::mem::swap(&mut b, &mut shard.radio.buf);
                            std::mem::swap(&mut l, &mut shard.radio.lines);
                            if w < windows {
                                std::mem::swap(&mut smp, &mut shard.samples);
                            }
                            out.push((*i, b, l, smp));
                        }
                        if tx.send(out).is_err() {
                            break;
                        }
                    }
                    mine
                }));
            }
            let mut batch = Batch::default();
            let mut result = Ok(());
            let mut instant: Vec<Sample> = Vec::new();
            for w in 0..=windows {
                let mut parts: Vec<Part> = Vec::with_capacity(SHARDS);
                let mut per_worker = Vec::with_capacity(threads);
                for rx in &from_workers {
                    match rx.recv() {
                        Ok(out) => {
                            per_worker.push(out.len());
                            parts.extend(out);
                        }
                        Err(_) => per_worker.push(0),
                    }
                }
                parts.sort_by_key(|p| p.0);
                merge(&parts, &mut batch);
                // The close-pass watcher, instant by instant (shard order within one).
                let mut times: Vec<i64> =
                    parts.iter().flat_map(|p| p.3.iter().map(|s| s.t)).collect();
                times.sort_unstable();
                times.dedup();
                for t in times {
                    instant.clear();
                    for p in &parts {
                        instant.extend(p.3.iter().filter(|s| s.t == t));
                    }
                    watcher.instant(scenario, t, &instant);
                }
                if w < windows {
                    batch.start_ms = scenario.start_ms + w as i64 * WINDOW_MS;
                    batch.end_ms = (batch.start_ms + WINDOW_MS).min(scenario.end_ms);
                } else {
                    batch.start_ms = scenario.end_ms;
                    batch.end_ms = batch
                        .lines
                        .last()
                        .map_or(scenario.end_ms, |l| l.deliver_ms + 1);
                }
                if result.is_ok() {
                    result = sink(&batch);
                }
                // Return the buffers to the workers they came from.
                let mut by_worker: Vec<Out> = (0..threads).map(|_| Vec::new()).collect();
                for p in parts {
                    by_worker[p.0 % threads].push(p);
                }
                for (k, back) in by_worker.into_iter().enumerate() {
                    let _ = to_workers[k].send(back);
                }
                if result.is_err() {
                    break;
                }
            }
            drop(from_workers);
            let shards: Vec<(usize, Shard)> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect();
            (shards, result)
        });
        result?;
        let mut shards = shards;
        shards.sort_by_key(|s| s.0);
        let mut counters = Counters::new(scenario.receivers.len() + scenario.satellites.len());
        let mut truth = static_truth;
        let mut vessels = 0u64;
        let mut swarm_intervals: Vec<Vec<(i64, i64)>> = vec![Vec::new(); scenario.swarms.len()];
        for (_, mut s) in shards {
            counters.add(&s.radio.counters);
            truth.append(&mut s.truth);
            for v in &mut s.vessels {
                v.finish(scenario.end_ms, &mut truth);
                vessels += 1 + v.traffic.as_ref().map_or(0, |t| t.generation as u64);
                let r = v.vref();
                watcher.name(v.uid, r.mmsi, &r.name, r.id.as_deref());
                if let (Some(k), Some(iv)) = (v.swarm, v.swarm_moored) {
                    swarm_intervals[k].push(iv);
                }
            }
        }
        let _ = swarm_members;
        let passes = watcher.finish_all(scenario.end_ms, &truth);
        truth.extend(passes);
        for (k, iv) in swarm_intervals.iter().enumerate() {
            if let Some(e) = swarm_event(scenario, k, iv) {
                truth.push(e);
            }
        }
        truth.sort_by(|a, b| {
            (a.start_ms, a.kind, a.vessels.first().map(|v| v.mmsi)).cmp(&(
                b.start_ms,
                b.kind,
                b.vessels.first().map(|v| v.mmsi),
            ))
        });
        Ok(Summary {
            counters,
            truth,
            vessels,
        })
    }
}

/// The swarm event: while at least `min(20, members)` vessels are moored at the place.
fn swarm_event(scenario: &Scenario, k: usize, intervals: &[(i64, i64)]) -> Option<TruthEvent> {
    let s = &scenario.swarms[k];
    let threshold = intervals.len().clamp(1, 20) as i64;
    let mut edges: Vec<(i64, i64)> = Vec::new();
    for &(a, b) in intervals {
        edges.push((a, 1));
        edges.push((b.min(scenario.end_ms), -1));
    }
    edges.sort();
    let (mut count, mut peak, mut peak_t) = (0i64, 0i64, 0i64);
    let (mut start, mut end) = (None, None);
    for (t, d) in edges {
        count += d;
        if count > peak {
            peak = count;
            peak_t = t;
        }
        if count >= threshold && start.is_none() {
            start = Some(t);
        }
        if count < threshold && start.is_some() && end.is_none() {
            end = Some(t);
        }
    }
    let start = start?;
    let open = end.is_none() || end == Some(scenario.end_ms);
    Some(TruthEvent {
        kind: "swarm",
        start_ms: start,
        end_ms: end.unwrap_or(scenario.end_ms),
        open,
        position: s.center,
        vessels: Vec::new(),
        details: vec![
            ("name", Value::Text(s.name.clone())),
            ("vessels", Value::Int(intervals.len() as i64)),
            ("peak", Value::Int(peak)),
            ("peak_time", Value::Time(peak_t)),
            ("radius_m", Value::Num(s.radius_m)),
            ("threshold", Value::Int(threshold)),
        ],
    })
}

fn first_course(p: &crate::scenario::VesselPlan) -> f64 {
    for s in &p.steps {
        if let Step::Sail { points, .. } = s {
            if let Some(q) = points.first() {
                return p.position.bearing_deg(*q);
            }
        }
    }
    0.0
}

/// Merges the shards' sorted lines into `batch`: by delivery second, then shard (so each
/// shard's lines of one second are copied as one run), then the shard's own order.
fn merge(parts: &[Part], batch: &mut Batch) {
    batch.buf.clear();
    batch.lines.clear();
    let total: usize = parts.iter().map(|p| p.1.len()).sum();
    batch.buf.reserve(total);
    let second = |l: &Line| l.deliver_ms.div_euclid(1000);
    let mut heads: Vec<usize> = vec![0; parts.len()];
    let mut heap = std::collections::BinaryHeap::new();
    for (k, p) in parts.iter().enumerate() {
        if let Some(l) = p.2.first() {
            heap.push(std::cmp::Reverse((second(l), p.0, k)));
        }
    }
    while let Some(std::cmp::Reverse((s, _, k))) = heap.pop() {
        let p = &parts[k];
        let from = heads[k];
        let mut to = from;
        while to < p.2.len() && second(&p.2[to]) == s {
            to += 1;
        }
        let (a, last) = (p.2[from].offset as usize, p.2[to - 1]);
        let base = batch.buf.len() as i64 - a as i64;
        batch
            .buf
            .extend_from_slice(&p.1[a..(last.offset + last.len) as usize]);
        batch.lines.extend(p.2[from..to].iter().map(|l| Line {
            offset: (l.offset as i64 + base) as u32,
            ..*l
        }));
        heads[k] = to;
        if let Some(n) = p.2.get(to) {
            heap.push(std::cmp::Reverse((second(n), p.0, k)));
        }
    }
}
