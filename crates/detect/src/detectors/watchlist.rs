//! Watch-list hit: a vessel on the watch list is seen.
//!
//! Matched by MMSI, or by the IMO or name it broadcasts (see [`crate::watchlist`]). The event
//! opens at the vessel's first fix after it matched, stays open while it is seen, and closes
//! when it has been silent for `close_after_s` (ending at its last fix).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Detector, FixCtx};
use crate::engine::Ctx;
use crate::event::{EventId, EventType, PosRef};
use crate::input::{Identity, IdentityUpdate};

/// Watch-list parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchlistConfig {
    /// Run this detector.
    pub enabled: bool,
    /// A hit closes after this much silence. Default 86400 s (1 day).
    pub close_after_s: u32,
}

impl Default for WatchlistConfig {
    fn default() -> Self {
        WatchlistConfig {
            enabled: true,
            close_after_s: 86_400,
        }
    }
}

/// The watch-list detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatchlistHit {
    #[serde(skip)]
    pub(crate) cfg: WatchlistConfig,
    /// Open hits: MMSI -> (event, last fix time).
    open: BTreeMap<u32, (EventId, i64)>,
    /// MMSIs matched by IMO or name, waiting for a fix.
    matched: BTreeMap<u32, bool>,
}

impl WatchlistHit {
    /// A detector with this configuration.
    pub fn new(cfg: WatchlistConfig) -> WatchlistHit {
        WatchlistHit {
            cfg,
            open: BTreeMap::new(),
            matched: BTreeMap::new(),
        }
    }
}

impl Detector for WatchlistHit {
    fn on_identity(&mut self, ctx: &mut Ctx<'_>, u: &IdentityUpdate, _before: &Identity) {
        if ctx.watch.is_empty() || ctx.watch.has_mmsi(u.mmsi) {
            return;
        }
        let i = ctx.idents.get(&u.mmsi);
        let hit = ctx
            .watch
            .lookup(
                u.mmsi,
                i.and_then(|i| i.imo),
                i.and_then(|i| i.name.as_deref()),
            )
            .is_some();
        if hit {
            self.matched.insert(u.mmsi, true);
        } else {
            self.matched.remove(&u.mmsi);
        }
    }

    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        let fix = f.fix;
        if let Some((id, last)) = self.open.get_mut(&fix.mmsi) {
            *last = fix.time_ms;
            let id = *id;
            if let Some(e) = ctx.event_mut(id) {
                e.last_ms = fix.time_ms;
            }
            return;
        }
        if !(ctx.watch.has_mmsi(fix.mmsi) || self.matched.contains_key(&fix.mmsi)) {
            return;
        }
        let i = ctx.idents.get(&fix.mmsi);
        let Some((entry, on)) = ctx.watch.lookup(
            fix.mmsi,
            i.and_then(|i| i.imo),
            i.and_then(|i| i.name.as_deref()),
        ) else {
            return;
        };
        let (reason, imo) = (entry.reason.clone(), entry.imo);
        let mut e = ctx.new_event(
            EventType::Watchlist,
            &[fix.mmsi],
            fix.time_ms,
            fix.lat,
            fix.lon,
            "",
        );
        e.set("reason", reason);
        e.set("matched_on", serde_json::to_value(on).unwrap_or_default());
        e.set("imo", imo.or(i.and_then(|i| i.imo)));
        e.add_evidence(
            PosRef {
                mmsi: fix.mmsi,
                time_ms: fix.time_ms,
            },
            &fix.sources,
        );
        let id = ctx.create(e);
        self.open.insert(fix.mmsi, (id, fix.time_ms));
    }

    fn on_time(&mut self, ctx: &mut Ctx<'_>, now_ms: i64) {
        let limit = self.cfg.close_after_s as i64 * 1000;
        let done: Vec<u32> = self
            .open
            .iter()
            .filter(|(_, (_, last))| now_ms - last > limit)
            .map(|(m, _)| *m)
            .collect();
        for m in done {
            if let Some((id, last)) = self.open.remove(&m) {
                ctx.close(id, last);
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        (self.open.len() + self.matched.len()) * 48
    }
}
