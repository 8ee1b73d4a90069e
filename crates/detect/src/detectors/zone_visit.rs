//! Zone visit: a vessel inside a zone, from entry to exit, with its dwell.
//!
//! Every zone of the [`crate::world::World`] counts (EEZs, territorial seas, areas of interest,
//! ports...). A visit opens at the first fix inside a zone (`inside_at_start` when it is the
//! vessel's first fix at all) and closes at the first fix outside, with `dwell_s`. A vessel
//! that goes dark inside stays inside until it is seen outside.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::world::ZoneIdx;

/// Zone visit parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZoneVisitConfig {
    /// Run this detector.
    pub enabled: bool,
}

impl Default for ZoneVisitConfig {
    fn default() -> Self {
        ZoneVisitConfig { enabled: true }
    }
}

/// The zone visit detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoneVisit {
    #[serde(skip)]
    pub(crate) cfg: ZoneVisitConfig,
    inside: FxHashMap<u32, Vec<(ZoneIdx, EventId, i64)>>,
}

impl ZoneVisit {
    /// A detector with this configuration.
    pub fn new(cfg: ZoneVisitConfig) -> ZoneVisit {
        ZoneVisit {
            cfg,
            inside: FxHashMap::default(),
        }
    }
}

impl Detector for ZoneVisit {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        let fix = f.fix;
        let here = PosRef {
            mmsi: fix.mmsi,
            time_ms: fix.time_ms,
        };
        let was = self.inside.get(&fix.mmsi);
        if was.is_none() && f.zones.is_empty() {
            return;
        }
        let mut now: Vec<(ZoneIdx, EventId, i64)> = Vec::new();
        for &(z, id, entered) in was.into_iter().flatten() {
            if f.zones.contains(&z) {
                if let Some(e) = ctx.event_mut(id) {
                    e.last_ms = fix.time_ms;
                }
                now.push((z, id, entered));
            } else {
                if let Some(e) = ctx.event_mut(id) {
                    e.set("dwell_s", (fix.time_ms - entered) / 1000);
                    e.add_evidence(here, &fix.sources);
                }
                ctx.close(id, fix.time_ms);
            }
        }
        for &z in f.zones {
            if now.iter().any(|&(k, _, _)| k == z) {
                continue;
            }
            let info = ctx.world.zone(z).clone();
            let mut e = ctx.new_event(
                EventType::ZoneVisit,
                &[fix.mmsi],
                fix.time_ms,
                fix.lat,
                fix.lon,
                &info.name,
            );
            e.zones = vec![info.name.clone()];
            e.set("zone", info.name);
            e.set(
                "zone_kind",
                serde_json::to_value(info.kind).unwrap_or_default(),
            );
            e.set("owner", info.owner);
            e.set("inside_at_start", f.prev.is_none());
            e.add_evidence(here, &fix.sources);
            let id = ctx.create(e);
            now.push((z, id, fix.time_ms));
        }
        if now.is_empty() {
            self.inside.remove(&fix.mmsi);
        } else {
            self.inside.insert(fix.mmsi, now);
        }
    }

    fn forget(&mut self, ctx: &mut Ctx<'_>, before_ms: i64) {
        // A vessel gone silent inside a zone: the visit ends at its last position.
        let gone: Vec<(u32, i64)> = self
            .inside
            .keys()
            .filter_map(|m| ctx.last.get(m).map(|f| (*m, f.time_ms)))
            .filter(|&(_, t)| t < before_ms)
            .collect();
        for (m, t) in gone {
            for (_, id, entered) in self.inside.remove(&m).unwrap_or_default() {
                if let Some(e) = ctx.event_mut(id) {
                    e.set("dwell_s", (t - entered) / 1000);
                }
                ctx.close(id, t);
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.inside)
            + self
                .inside
                .values()
                .map(|v| v.capacity() * std::mem::size_of::<(ZoneIdx, EventId, i64)>())
                .sum::<usize>()
    }
}
