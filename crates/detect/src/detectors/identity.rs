//! Identity change: a vessel's broadcast identity changes.
//!
//! For one MMSI: name, call sign, flag, IMO or ship type changes from one known value to
//! another (a first value is no change; `destination` counts only when listed in `fields`).
//! For one IMO: it appears under a new MMSI (MarineTraffic, Windward). A field change is an
//! instant event (`start_ms == end_ms`), unless it is heard within a static report interval
//! (6 min) of the end of a longer silence: then it spans from the silence's start; an MMSI change spans from the old MMSI's last position
//! to the new MMSI's report (when the change happened is only known to lie in between: a
//! vessel that goes dark and reappears renamed changed during its silence). The changed
//! fields are given as `"old -> new"`. Names and
//! call signs are compared trimmed, upper-case, with runs of spaces collapsed. A field going
//! back to the value it had before its latest change within `flap_window_s` is two
//! transmitters sharing the MMSI, not a change: the flapping is counted, and the change it
//! undoes, reported when it came, is withdrawn (issue 18: GFW calls identities that overlap in
//! time a shared MMSI, which `shared_mmsi` reports, not an identity change).

use ais::mmsi::StationKind;
use std::collections::BTreeSet;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{table_bytes, Detector};
use crate::engine::Ctx;
use crate::event::EventType;
use crate::input::{Identity, IdentityUpdate};

/// Identity change parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityChangeConfig {
    /// Run this detector.
    pub enabled: bool,
    /// Fields whose change is reported: any of `name`, `callsign`, `flag`, `imo`,
    /// `ship_type`, `destination`. Default: the first five (MarineTraffic, Windward).
    pub fields: Vec<String>,
    /// Report an IMO appearing under a new MMSI (IMO numbers only: seven digits, the last
    /// their check digit). Default true.
    pub mmsi_change: bool,
    /// A field changing back to the value it had before, within this, is two transmitters
    /// taking turns on one MMSI, not a change (counted as `identity_change.flap`). Default
    /// 86400 s (GFW's shared-MMSI rule looks at identities overlapping for > 24 h).
    pub flap_window_s: u32,
}

impl Default for IdentityChangeConfig {
    fn default() -> Self {
        IdentityChangeConfig {
            enabled: true,
            fields: ["name", "callsign", "flag", "imo", "ship_type"]
                .map(str::to_owned)
                .to_vec(),
            mmsi_change: true,
            flap_window_s: 86_400,
        }
    }
}

/// The fields an identity change can report.
pub const FIELDS: [&str; 6] = [
    "name",
    "callsign",
    "flag",
    "imo",
    "ship_type",
    "destination",
];

impl IdentityChangeConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        for f in &self.fields {
            if !FIELDS.contains(&f.as_str()) {
                return Err(format!(
                    "identity_change.fields = {f:?} is not a field; fields: {}",
                    FIELDS.join(", ")
                ));
            }
        }
        crate::config::check(
            "identity_change.flap_window_s",
            self.flap_window_s as f64,
            0.0,
            30.0 * 86_400.0,
        )
    }
}

/// Normalises a name or call sign for comparison.
pub fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

fn field(i: &Identity, name: &str) -> Option<String> {
    match name {
        "name" => i.name.as_deref().map(normalise),
        "callsign" => i.callsign.as_deref().map(normalise),
        "flag" => i.flag.clone(),
        "imo" => i.imo.map(|v| v.to_string()),
        "ship_type" => i.ship_type.map(|v| v.to_string()),
        "destination" => i.destination.as_deref().map(normalise),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// The identity change detector.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityChange {
    #[serde(skip)]
    pub(crate) cfg: IdentityChangeConfig,
    /// IMO -> the MMSI it was last broadcast with.
    imo_mmsi: FxHashMap<u32, u32>,
    /// (IMO, old MMSI, new MMSI) already reported.
    reported: BTreeSet<(u32, u32, u32)>,
    /// Per MMSI that changed: each field's value before its latest change, and when.
    #[serde(default)]
    before: FxHashMap<u32, Vec<(String, String, i64)>>,
    /// The latest change reported per MMSI, withdrawn if its fields flap back within
    /// `flap_window_s`.
    #[serde(default)]
    last_change: FxHashMap<u32, crate::event::Event>,
    /// Per MMSI, its latest silence longer than a static report interval: the last position
    /// before it and the first after it.
    #[serde(default)]
    silence: FxHashMap<u32, (i64, i64)>,
    /// Changes reported before any position of their vessel (a static report heard first):
    /// placed at its next position within [`PLACE_WITHIN_MS`], and reported again so.
    #[serde(default)]
    unplaced: FxHashMap<u32, crate::event::Event>,
}

/// How long after an unplaced change its vessel's first position still says where it was: a
/// vessel at 20 kn makes 10 nm in half an hour.
const PLACE_WITHIN_MS: i64 = 1_800_000;

/// Class A static and voyage data every 6 min (ITU-R M.1371): a vessel heard without a longer
/// silence broadcast its identity at most this long before it was heard changed.
const STATIC_INTERVAL_MS: i64 = 360_000;

impl IdentityChange {
    /// A detector with this configuration.
    pub fn new(cfg: IdentityChangeConfig) -> IdentityChange {
        IdentityChange {
            cfg,
            imo_mmsi: FxHashMap::default(),
            reported: BTreeSet::new(),
            before: FxHashMap::default(),
            last_change: FxHashMap::default(),
            silence: FxHashMap::default(),
            unplaced: FxHashMap::default(),
        }
    }
}

/// An identity change rests on the report that carried it (its feeds are the event's
/// sources) and on where each vessel was: its latest position at or before the report.
fn evidence(ctx: &Ctx<'_>, e: &mut crate::event::Event, mmsis: &[u32], u: &IdentityUpdate) {
    for &m in mmsis {
        if let Some(p) = ctx.last.get(&m).filter(|p| p.time_ms <= u.time_ms) {
            e.add_evidence(
                crate::event::PosRef {
                    mmsi: m,
                    time_ms: p.time_ms,
                },
                &[],
            );
        }
    }
    e.add_evidence_sources(&u.sources);
}

impl IdentityChange {
    /// Keeps a change without a position to place at its vessel's next one.
    fn place_later(&mut self, e: &crate::event::Event, mmsi: u32) {
        if !(e.lat.is_finite() && e.lon.is_finite()) {
            self.unplaced.insert(mmsi, e.clone());
        }
    }
}

impl Detector for IdentityChange {
    fn on_fix(&mut self, ctx: &mut Ctx<'_>, f: &super::FixCtx<'_>) {
        if !self.unplaced.is_empty() {
            if let Some(mut e) = self.unplaced.remove(&f.fix.mmsi) {
                let heard_ms = e.end_ms.unwrap_or(e.start_ms);
                if f.fix.time_ms - heard_ms <= PLACE_WITHIN_MS {
                    e.lat = f.fix.lat;
                    e.lon = f.fix.lon;
                    e.zones = ctx.zone_names(f.fix.lat, f.fix.lon);
                    e.add_evidence(
                        crate::event::PosRef {
                            mmsi: f.fix.mmsi,
                            time_ms: f.fix.time_ms,
                        },
                        &[],
                    );
                    if let Some(l) = self
                        .last_change
                        .get_mut(&f.fix.mmsi)
                        .filter(|l| l.id == e.id)
                    {
                        *l = e.clone();
                    }
                    ctx.revise_closed(e);
                }
            }
        }
        if let Some(p) = f.prev {
            if f.fix.time_ms - p.time_ms > STATIC_INTERVAL_MS {
                self.silence.insert(f.fix.mmsi, (p.time_ms, f.fix.time_ms));
            }
        }
    }

    fn on_identity(&mut self, ctx: &mut Ctx<'_>, u: &IdentityUpdate, before: &Identity) {
        // An MMSI outside every ITU-R M.585 format (0, or a manufacturer's default such as
        // 1193046, 0x123456) is shared by whatever units were never set up: their identities
        // take turns, which says nothing about any one vessel.
        if ais::Mmsi(u.mmsi).kind() == StationKind::Other {
            ctx.count("identity_change.invalid_mmsi");
            return;
        }
        let after = ctx.idents.get(&u.mmsi).cloned().unwrap_or_default();
        let mut changes = Vec::new();
        let mut flapped = false;
        let mut flapped_fields: Vec<&str> = Vec::new();
        for name in &self.cfg.fields {
            if let (Some(a), Some(b)) = (field(before, name), field(&after, name)) {
                if a != b {
                    let prev = self.before.entry(u.mmsi).or_default();
                    // Back to the value it had before its latest change, within a day: two
                    // transmitters on one MMSI taking turns, not a change (see shared_mmsi).
                    let flap = prev.iter().any(|(k, v, t)| {
                        k == name
                            && *v == b
                            && u.time_ms - t <= self.cfg.flap_window_s as i64 * 1000
                    });
                    prev.retain(|(k, _, _)| k != name);
                    prev.push((name.clone(), a.clone(), u.time_ms));
                    if flap {
                        flapped = true;
                        flapped_fields.push(name);
                    } else {
                        changes.push((name.clone(), format!("{a} -> {b}")));
                    }
                }
            }
        }
        if flapped {
            ctx.count("identity_change.flap");
            let window_ms = self.cfg.flap_window_s as i64 * 1000;
            // The change these fields undo was no change: withdraw it when every field it
            // reported flapped back.
            let undone = self.last_change.get(&u.mmsi).is_some_and(|e| {
                u.time_ms - e.start_ms <= window_ms
                    && self.cfg.fields.iter().all(|f| {
                        !e.details.contains_key(f.as_str()) || flapped_fields.contains(&f.as_str())
                    })
            });
            if undone {
                if let Some(e) = self.last_change.remove(&u.mmsi) {
                    ctx.withdraw_closed(e);
                }
            }
        }
        if !changes.is_empty() {
            let key: Vec<&str> = changes.iter().map(|(k, _)| k.as_str()).collect();
            let (lat, lon) = ctx
                .last
                .get(&u.mmsi)
                .map_or((f64::NAN, f64::NAN), |p| (p.lat, p.lon));
            // Heard changed soon after a silence (a satellite pass): the change happened in
            // the silence or after it, so the event spans from the silence's start.
            let start_ms = match self.silence.get(&u.mmsi) {
                Some(&(from, to)) if to <= u.time_ms && u.time_ms - to <= STATIC_INTERVAL_MS => {
                    from
                }
                _ => u.time_ms,
            };
            let mut e = ctx.new_event(
                EventType::IdentityChange,
                &[u.mmsi],
                start_ms,
                lat,
                lon,
                &key.join(","),
            );
            if let Some(v) = e.vessels.first_mut() {
                // The identity it had before the change.
                v.name = before.name.clone();
                v.flag = before.flag.clone();
                v.imo = before.imo;
                v.ship_type = before.ship_type;
            }
            e.vessels.push(ctx.vessel(u.mmsi));
            for (k, v) in changes {
                e.set(&k, v);
            }
            evidence(ctx, &mut e, &[u.mmsi], u);
            e.open = false;
            e.end_ms = Some(u.time_ms);
            e.last_ms = u.time_ms;
            self.last_change.insert(u.mmsi, e.clone());
            self.place_later(&e, u.mmsi);
            ctx.create(e);
        }
        if !self.cfg.mmsi_change {
            return;
        }
        // Only an IMO number names one hull: units that were never set up send all ones (or
        // a flag-state number), shared by thousands of vessels.
        let Some(imo) = after.imo.filter(|&i| ais::mmsi::imo_is_valid(i)) else {
            return;
        };
        // The IMO heard under another MMSI whose last position is later than this report (an
        // older archive after newer data): this MMSI came before that one, not after; the
        // number stays with the newer.
        if let Some(&cur) = self.imo_mmsi.get(&imo) {
            if cur != u.mmsi && ctx.last.get(&cur).is_some_and(|p| p.time_ms > u.time_ms) {
                ctx.count("identity_change.mmsi_before");
                return;
            }
        }
        let old = self.imo_mmsi.insert(imo, u.mmsi);
        if let Some(old) = old.filter(|&o| o != u.mmsi) {
            if !self.reported.insert((imo, old, u.mmsi)) {
                return;
            }
            let (lat, lon) = ctx
                .last
                .get(&u.mmsi)
                .or(ctx.last.get(&old))
                .map_or((f64::NAN, f64::NAN), |p| (p.lat, p.lon));
            // The change happened after the old MMSI was last heard: a vessel that goes dark
            // and comes back under a new MMSI changed somewhere in its silence, so the event
            // spans it (a change heard at once is an instant).
            let start_ms = ctx
                .last
                .get(&old)
                .map_or(u.time_ms, |p| p.time_ms.min(u.time_ms));
            let mut e = ctx.new_event(
                EventType::IdentityChange,
                &[old, u.mmsi],
                start_ms,
                lat,
                lon,
                "mmsi",
            );
            e.set("mmsi", format!("{old} -> {}", u.mmsi));
            // The IMO number both MMSIs broadcast (`imo` in a change of fields is "old -> new").
            e.set("kept_imo", imo);
            let prev = ctx.idents.get(&old).cloned().unwrap_or_default();
            for name in ["name", "callsign", "flag", "ship_type"] {
                if let (Some(a), Some(b)) = (field(&prev, name), field(&after, name)) {
                    if a != b {
                        e.set(name, format!("{a} -> {b}"));
                    }
                }
            }
            evidence(ctx, &mut e, &[old, u.mmsi], u);
            e.open = false;
            e.end_ms = Some(u.time_ms);
            e.last_ms = u.time_ms;
            self.place_later(&e, u.mmsi);
            ctx.create(e);
        }
    }

    fn forget(&mut self, _ctx: &mut Ctx<'_>, before_ms: i64) {
        self.last_change.retain(|_, e| e.start_ms >= before_ms);
        self.unplaced.retain(|_, e| e.start_ms >= before_ms);
        self.silence.retain(|_, s| s.1 >= before_ms);
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.imo_mmsi)
            + table_bytes(&self.silence)
            + (self.last_change.len() + self.unplaced.len()) * 512
            + self.reported.len() * 24
            + table_bytes(&self.before)
            + self.before.values().map(|v| v.len() * 80).sum::<usize>()
    }
}
