//! Port call: a stop inside a port or anchorage zone.
//!
//! A visit begins when a vessel's fix falls inside a zone of kind `port` or `anchorage` and
//! ends at the first fix outside it. The port call begins when the vessel stops inside (speed
//! below `stop_speed_knots`, GFW: < 0.2 kn; reported speed, or implied when not reported) or
//! when a gap inside the zone lasts `in_port_gap_s` (GFW: an in-port gap counts after 4 h);
//! it ends when the vessel leaves the zone. A pass through without stopping is no port call.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector, FixCtx};
use crate::config::check;
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::geom::{self, KNOT_MS};
use crate::world::{ZoneIdx, ZoneKind};

/// Port call parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortCallConfig {
    /// Run this detector.
    pub enabled: bool,
    /// A stop begins below this speed. Default 0.2 kn (GFW anchorages).
    pub stop_speed_knots: f64,
    /// A gap inside the zone at least this long counts as a stop. Default 14400 s (GFW: 4 h).
    pub in_port_gap_s: u32,
}

impl Default for PortCallConfig {
    fn default() -> Self {
        PortCallConfig {
            enabled: true,
            stop_speed_knots: 0.2,
            in_port_gap_s: 14_400,
        }
    }
}

impl PortCallConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        check(
            "port_call.stop_speed_knots",
            self.stop_speed_knots,
            0.0,
            10.0,
        )?;
        check(
            "port_call.in_port_gap_s",
            self.in_port_gap_s as f64,
            0.0,
            1e8,
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Visit {
    zone: ZoneIdx,
    entered_ms: i64,
    open: Option<EventId>,
}

/// The port call detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortCall {
    #[serde(skip)]
    pub(crate) cfg: PortCallConfig,
    visits: FxHashMap<u32, Visit>,
}

impl PortCall {
    /// A detector with this configuration.
    pub fn new(cfg: PortCallConfig) -> PortCall {
        PortCall {
            cfg,
            visits: FxHashMap::default(),
        }
    }
}

impl Detector for PortCall {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        let fix = f.fix;
        let port = f
            .zones
            .iter()
            .copied()
            .find(|&z| matches!(ctx.world.zone(z).kind, ZoneKind::Port | ZoneKind::Anchorage));
        let current = self.visits.get(&fix.mmsi).map(|v| v.zone);
        if current.is_some() && current != port {
            if let Some(v) = self.visits.remove(&fix.mmsi) {
                if let Some(id) = v.open {
                    if let Some(e) = ctx.event_mut(id) {
                        e.set("exit_ms", fix.time_ms);
                        e.add_evidence(
                            PosRef {
                                mmsi: fix.mmsi,
                                time_ms: fix.time_ms,
                            },
                            &fix.sources,
                        );
                    }
                    ctx.close(id, fix.time_ms);
                }
            }
        }
        let Some(zone) = port else { return };
        let v = self.visits.entry(fix.mmsi).or_insert(Visit {
            zone,
            entered_ms: fix.time_ms,
            open: None,
        });
        if let Some(id) = v.open {
            if let Some(e) = ctx.event_mut(id) {
                e.last_ms = fix.time_ms;
            }
            return;
        }
        let implied = f.prev.and_then(|p| {
            let dt = (fix.time_ms - p.time_ms) as f64 / 1000.0;
            (dt > 0.0).then(|| geom::distance_m(p.lat, p.lon, fix.lat, fix.lon) / dt / KNOT_MS)
        });
        let speed = fix.sog_knots.or(implied);
        let stopped = speed.is_some_and(|s| s < self.cfg.stop_speed_knots);
        let gap_stop = f.prev.filter(|p| {
            fix.time_ms - p.time_ms >= self.cfg.in_port_gap_s as i64 * 1000
                && fix.time_ms > v.entered_ms
        });
        if !(stopped || gap_stop.is_some()) {
            return;
        }
        let (start, lat, lon) = match gap_stop {
            Some(p) if !stopped => (p.time_ms, p.lat, p.lon),
            _ => (fix.time_ms, fix.lat, fix.lon),
        };
        let z = ctx.world.zone(zone).clone();
        let mut e = ctx.new_event(EventType::PortCall, &[fix.mmsi], start, lat, lon, &z.name);
        e.set("port", z.name.clone());
        e.set(
            "zone_kind",
            serde_json::to_value(z.kind).unwrap_or_default(),
        );
        e.set("entry_ms", v.entered_ms);
        e.set("stop", if stopped { "speed" } else { "in_port_gap" });
        e.add_evidence(
            PosRef {
                mmsi: fix.mmsi,
                time_ms: fix.time_ms,
            },
            &fix.sources,
        );
        v.open = Some(ctx.create(e));
    }

    fn forget(&mut self, ctx: &mut Ctx<'_>, before_ms: i64) {
        let gone: Vec<(u32, i64)> = self
            .visits
            .keys()
            .filter_map(|m| ctx.last.get(m).map(|f| (*m, f.time_ms)))
            .filter(|&(_, t)| t < before_ms)
            .collect();
        for (m, t) in gone {
            if let Some(Visit { open: Some(id), .. }) = self.visits.remove(&m) {
                ctx.close(id, t);
            }
        }
    }

    fn prefetch(&self, f: &crate::input::Fix) {
        let mmsi = f.mmsi;
        if let Some(v) = self.visits.get(&mmsi) {
            super::prefetch(v);
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.visits)
    }
}
