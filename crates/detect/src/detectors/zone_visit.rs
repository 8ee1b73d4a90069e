//! Zone visit: a vessel inside a zone, from entry to exit, with its dwell.
//!
//! Every zone of the [`crate::world::World`] counts (EEZs, territorial seas, areas of interest,
//! ports...). A visit opens at the first fix inside a zone (`inside_at_start` when it is the
//! vessel's first fix at all) and closes at the first fix outside, with `dwell_s`. A vessel
//! that goes dark inside stays inside until it is seen outside.
//!
//! Two transmitters on one MMSI (a shared or cloned MMSI: the segmenter gives each its own
//! segment) are two vessels: a visit is its transmitter's, and a fix of another segment that
//! the vessel could not have sailed to since the visit's last fix (50 kn, and 2 km) leaves the
//! visit alone (one inside a zone, one outside, made a visit per hop). A fix it could have
//! sailed to is the same vessel under a new segment (the segmenter split its track, or a long
//! silence makes any place reachable): the visit goes on, or ends, with it.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::geom;
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

/// A vessel inside a zone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Visit {
    zone: ZoneIdx,
    id: EventId,
    entered_ms: i64,
    /// The transmitter's segment ([`ANY_SEGMENT`]: not known, from a state saved before).
    segment: u64,
    /// Its latest fix: time, ms, and position (NaN in a state saved before).
    seen_ms: i64,
    seen_lat: f64,
    seen_lon: f64,
}

/// A fix farther from a visit's last one than this plus [`SAME_VESSEL_KNOTS`] over the time
/// between them is another transmitter's.
const SAME_VESSEL_M: f64 = 2_000.0;
/// Faster than any vessel a zone visit follows.
const SAME_VESSEL_KNOTS: f64 = 50.0;

/// A visit of a state saved before visits had transmitters: the next fix's.
const ANY_SEGMENT: u64 = u64::MAX;

/// Visits as saved, including states saved before they had transmitters (zone, event, entry).
fn visits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FxHashMap<u32, Vec<Visit>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Now(Visit),
        Before((ZoneIdx, EventId, i64)),
    }
    let m: FxHashMap<u32, Vec<Stored>> = Deserialize::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(mmsi, v)| {
            let v = v
                .into_iter()
                .map(|s| match s {
                    Stored::Now(v) => v,
                    Stored::Before((zone, id, entered_ms)) => Visit {
                        zone,
                        id,
                        entered_ms,
                        segment: ANY_SEGMENT,
                        seen_ms: entered_ms,
                        seen_lat: f64::NAN,
                        seen_lon: f64::NAN,
                    },
                })
                .collect();
            (mmsi, v)
        })
        .collect())
}

/// The zone visit detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoneVisit {
    #[serde(skip)]
    pub(crate) cfg: ZoneVisitConfig,
    #[serde(deserialize_with = "visits")]
    inside: FxHashMap<u32, Vec<Visit>>,
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
        let mut now: Vec<Visit> = Vec::new();
        let could_sail = |v: &Visit| {
            let dt_s = (fix.time_ms - v.seen_ms).max(0) as f64 / 1000.0;
            geom::distance_m(v.seen_lat, v.seen_lon, fix.lat, fix.lon)
                <= SAME_VESSEL_M + dt_s * SAME_VESSEL_KNOTS * geom::KNOT_MS
        };
        for &v in was.into_iter().flatten() {
            let mine = v.segment == fix.segment || v.segment == ANY_SEGMENT || could_sail(&v);
            if !mine {
                // Another transmitter's visit: not this one's to change.
                now.push(v);
            } else if f.zones.contains(&v.zone) {
                if let Some(e) = ctx.event_mut(v.id) {
                    e.last_ms = fix.time_ms;
                }
                now.push(Visit {
                    segment: fix.segment,
                    seen_ms: fix.time_ms,
                    seen_lat: fix.lat,
                    seen_lon: fix.lon,
                    ..v
                });
            } else {
                if let Some(e) = ctx.event_mut(v.id) {
                    e.set("dwell_s", (fix.time_ms - v.entered_ms) / 1000);
                    e.add_evidence(here, &fix.sources);
                }
                ctx.close(v.id, fix.time_ms);
            }
        }
        for &z in f.zones {
            if now.iter().any(|v| v.zone == z && v.segment == fix.segment) {
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
            now.push(Visit {
                zone: z,
                id,
                entered_ms: fix.time_ms,
                segment: fix.segment,
                seen_ms: fix.time_ms,
                seen_lat: fix.lat,
                seen_lon: fix.lon,
            });
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
            for v in self.inside.remove(&m).unwrap_or_default() {
                // Each at its own transmitter's last fix (a state saved before: the vessel's).
                let end = if v.segment == ANY_SEGMENT {
                    t
                } else {
                    v.seen_ms
                };
                if let Some(e) = ctx.event_mut(v.id) {
                    e.set("dwell_s", (end - v.entered_ms) / 1000);
                }
                ctx.close(v.id, end);
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.inside)
            + self
                .inside
                .values()
                .map(|v| v.capacity() * std::mem::size_of::<Visit>())
                .sum::<usize>()
    }
}
