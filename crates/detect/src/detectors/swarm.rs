//! Swarm / massing: many slow vessels in a small area for hours.
//!
//! Nobody publishes this one; Tidewatch's definition (DETECTION.md: >= N, e.g. 20, distinct
//! vessels, slow, within a few nm, for >= 6-24 h). On each tick, the samples slower than
//! `max_speed_knots` outside port and anchorage zones are bucketed into cells `cell_m` wide; a
//! cell is *dense* when it and its neighbours hold at least `min_vessels`; touching dense
//! cells form a cluster of the vessels in them. A cluster is followed from tick to tick by the
//! vessels it shares with the one before. One holding at least `min_vessels` for
//! `min_duration_s` (missing at most `max_missed_s`) is a swarm event, with `count` (now),
//! `peak`, `peak_time` and `vessels_distinct`; it lists its vessels.

use std::collections::{BTreeSet, VecDeque};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::Detector;
use crate::config::check;
use crate::engine::{Ctx, Sample};
use crate::event::{EventId, EventType};
use crate::geom::{Cell, Grid, NM_M};

/// Swarm parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwarmConfig {
    /// Run this detector.
    pub enabled: bool,
    /// At least this many vessels. Default 20 (DETECTION.md).
    pub min_vessels: u32,
    /// Slower than this. Default 2 kn (DETECTION.md: < 1-2 kn).
    pub max_speed_knots: f64,
    /// Cell width; a cluster spans neighbouring cells. Default 5556 m (3 nm, DETECTION.md:
    /// "within a few nm").
    pub cell_m: f64,
    /// Massed at least this long. Default 21600 s (6 h, DETECTION.md: >= 6-24 h).
    pub min_duration_s: u32,
    /// A cluster may be missing this long and continue. Default 1800 s.
    pub max_missed_s: u32,
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            enabled: true,
            min_vessels: 20,
            max_speed_knots: 2.0,
            cell_m: 3.0 * NM_M,
            min_duration_s: 21_600,
            max_missed_s: 1_800,
        }
    }
}

impl SwarmConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check("swarm.min_vessels", self.min_vessels as f64, 2.0, 1e6)?;
        check("swarm.cell_m", self.cell_m, 100.0, 100_000.0)?;
        check("swarm.max_speed_knots", self.max_speed_knots, 0.0, 50.0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Track {
    start_ms: i64,
    last_ms: i64,
    lat: f64,
    lon: f64,
    members: BTreeSet<u32>,
    current: BTreeSet<u32>,
    peak: u32,
    peak_ms: i64,
    open: Option<EventId>,
}

/// The swarm detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Swarm {
    #[serde(skip)]
    pub(crate) cfg: SwarmConfig,
    tracks: Vec<Track>,
}

impl Swarm {
    /// A detector with this configuration.
    pub fn new(cfg: SwarmConfig) -> Swarm {
        Swarm {
            cfg,
            tracks: Vec::new(),
        }
    }

    /// Clusters of slow vessels at this tick: lists of sample indices.
    fn clusters(&self, ctx: &Ctx<'_>, samples: &[Sample]) -> Vec<Vec<usize>> {
        let grid = Grid::new(self.cfg.cell_m);
        // Looked up, never iterated in order (`dense` gives the order): a hash map.
        let mut cells: FxHashMap<Cell, Vec<usize>> = FxHashMap::default();
        for (i, s) in samples.iter().enumerate() {
            if (s.sog_knots as f64) < self.cfg.max_speed_knots {
                cells.entry(grid.cell(s.lat, s.lon)).or_default().push(i);
            }
        }
        let mut near = Vec::new();
        // Vessels in port or at anchor do not count, but their zones are asked only in cells
        // that could be dense and their neighbours, not of every slow vessel at every tick:
        // only those cells can make a cluster, and leaving vessels out only thins them.
        let mut could_be: Vec<Cell> = Vec::new();
        for (&c, members) in &cells {
            // The member farthest from the equator reaches farthest in columns: its
            // neighbourhood holds every other member's.
            let lat = members
                .iter()
                .map(|&i| samples[i].lat)
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(0.0);
            grid.neighbours(c, lat, &mut near);
            let n: usize = near.iter().filter_map(|k| cells.get(k)).map(Vec::len).sum();
            if n as u32 >= self.cfg.min_vessels {
                could_be.extend_from_slice(&near);
            }
        }
        could_be.sort_unstable();
        could_be.dedup();
        let cells: FxHashMap<Cell, Vec<usize>> = could_be
            .into_iter()
            .filter_map(|c| {
                let members: Vec<usize> = cells
                    .get(&c)?
                    .iter()
                    .copied()
                    .filter(|&i| !ctx.in_port(samples[i].lat, samples[i].lon))
                    .collect();
                (!members.is_empty()).then_some((c, members))
            })
            .collect();
        let mut dense: BTreeSet<Cell> = BTreeSet::new();
        for (&c, members) in &cells {
            let lat = samples[members[0]].lat;
            grid.neighbours(c, lat, &mut near);
            let n: usize = near.iter().filter_map(|k| cells.get(k)).map(Vec::len).sum();
            if n as u32 >= self.cfg.min_vessels {
                dense.insert(c);
            }
        }
        let mut seen: FxHashMap<Cell, ()> = FxHashMap::default();
        let mut out = Vec::new();
        for &c in &dense {
            if seen.contains_key(&c) {
                continue;
            }
            let mut q = VecDeque::from([c]);
            seen.insert(c, ());
            let mut members = Vec::new();
            while let Some(k) = q.pop_front() {
                let lat = samples[cells[&k][0]].lat;
                // Members: the dense cell and its neighbours' vessels.
                grid.neighbours(k, lat, &mut near);
                for n in near.clone() {
                    if let Some(m) = cells.get(&n) {
                        members.extend_from_slice(m);
                    }
                    if dense.contains(&n) && seen.insert(n, ()).is_none() {
                        q.push_back(n);
                    }
                }
            }
            members.sort_unstable();
            members.dedup();
            if members.len() as u32 >= self.cfg.min_vessels {
                out.push(members);
            }
        }
        out
    }
}

impl Detector for Swarm {
    fn on_tick(&mut self, ctx: &mut Ctx<'_>, t: i64, samples: &[Sample]) {
        // The tracks each vessel was in at its track's last tick (tracks continued at this
        // tick are passed over below, so the map need not follow them): a cluster finds the
        // tracks it shares vessels with from its members, not by comparing with every track.
        let mut tracks_of: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (k, tr) in self.tracks.iter().enumerate() {
            for &m in &tr.current {
                tracks_of.entry(m).or_default().push(k);
            }
        }
        let mut shared: FxHashMap<usize, usize> = FxHashMap::default();
        for cluster in self.clusters(ctx, samples) {
            let mmsis: BTreeSet<u32> = cluster.iter().map(|&i| samples[i].mmsi).collect();
            let n = cluster.len() as f64;
            let lat = cluster.iter().map(|&i| samples[i].lat).sum::<f64>() / n;
            let lon = cluster.iter().map(|&i| samples[i].lon).sum::<f64>() / n;
            // The earlier track sharing most vessels with it (the later of equals).
            shared.clear();
            for m in &mmsis {
                for &k in tracks_of.get(m).into_iter().flatten() {
                    if self.tracks[k].last_ms < t {
                        *shared.entry(k).or_default() += 1;
                    }
                }
            }
            let k = shared.iter().map(|(&k, &n)| (n, k)).max().map(|(_, k)| k);
            let k = match k {
                Some(k) => k,
                None => {
                    self.tracks.push(Track {
                        start_ms: t,
                        last_ms: t,
                        lat,
                        lon,
                        members: BTreeSet::new(),
                        current: BTreeSet::new(),
                        peak: 0,
                        peak_ms: t,
                        open: None,
                    });
                    self.tracks.len() - 1
                }
            };
            let tr = &mut self.tracks[k];
            tr.last_ms = t;
            tr.members.extend(mmsis.iter().copied());
            tr.current = mmsis;
            let count = tr.current.len() as u32;
            if count > tr.peak {
                tr.peak = count;
                tr.peak_ms = t;
            }
            let dur_ms = t - tr.start_ms;
            match tr.open {
                None if dur_ms >= self.cfg.min_duration_s as i64 * 1000 => {
                    let members: Vec<u32> = tr.members.iter().copied().collect();
                    let key = format!("{:.3},{:.3}", tr.lat, tr.lon);
                    let mut e = ctx.new_event(
                        EventType::Swarm,
                        &members,
                        tr.start_ms,
                        tr.lat,
                        tr.lon,
                        &key,
                    );
                    e.id = crate::event::EventId::derive(EventType::Swarm, &[], tr.start_ms, &key);
                    e.set("count", count);
                    e.set("peak", tr.peak);
                    e.set("peak_time", tr.peak_ms);
                    e.set("vessels_distinct", tr.members.len());
                    for &i in &cluster {
                        e.add_sample(&samples[i]);
                    }
                    e.last_ms = t;
                    tr.open = Some(ctx.create(e));
                }
                Some(id) => {
                    let known: BTreeSet<u32> = ctx
                        .event_mut(id)
                        .map(|e| e.vessels.iter().map(|v| v.mmsi).collect())
                        .unwrap_or_default();
                    let new: Vec<_> = tr
                        .members
                        .iter()
                        .filter(|m| !known.contains(m))
                        .map(|&m| ctx.vessel(m))
                        .collect();
                    let (peak, peak_ms, distinct) = (tr.peak, tr.peak_ms, tr.members.len());
                    if let Some(e) = ctx.event_mut(id) {
                        e.vessels.extend(new);
                        e.set("count", count);
                        e.set("peak", peak);
                        e.set("peak_time", peak_ms);
                        e.set("vessels_distinct", distinct);
                        for &i in &cluster {
                            e.add_sample(&samples[i]);
                        }
                        e.last_ms = t;
                    }
                }
                None => {}
            }
        }
        let missed = self.cfg.max_missed_s as i64 * 1000;
        let mut k = 0;
        while k < self.tracks.len() {
            if t - self.tracks[k].last_ms > missed {
                let tr = self.tracks.remove(k);
                if let Some(id) = tr.open {
                    ctx.close(id, tr.last_ms);
                }
            } else {
                k += 1;
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        self.tracks
            .iter()
            .map(|t| std::mem::size_of::<Track>() + (t.members.len() + t.current.len()) * 16)
            .sum()
    }
}
