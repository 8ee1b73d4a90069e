//! Identity change: a vessel's broadcast identity changes.
//!
//! For one MMSI: name, call sign, flag, IMO or ship type changes from one known value to
//! another (a first value is no change; `destination` counts only when listed in `fields`).
//! For one IMO: it appears under a new MMSI (MarineTraffic, Windward). Each change is an
//! instant event (`start_ms == end_ms`) with the changed fields as `"old -> new"`. Names and
//! call signs are compared trimmed, upper-case, with runs of spaces collapsed.

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
    /// Report an IMO appearing under a new MMSI. Default true.
    pub mmsi_change: bool,
}

impl Default for IdentityChangeConfig {
    fn default() -> Self {
        IdentityChangeConfig {
            enabled: true,
            fields: ["name", "callsign", "flag", "imo", "ship_type"]
                .map(str::to_owned)
                .to_vec(),
            mmsi_change: true,
        }
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
}

impl IdentityChange {
    /// A detector with this configuration.
    pub fn new(cfg: IdentityChangeConfig) -> IdentityChange {
        IdentityChange {
            cfg,
            imo_mmsi: FxHashMap::default(),
            reported: BTreeSet::new(),
        }
    }
}

impl Detector for IdentityChange {
    fn on_identity(&mut self, ctx: &mut Ctx<'_>, u: &IdentityUpdate, before: &Identity) {
        let after = ctx.idents.get(&u.mmsi).cloned().unwrap_or_default();
        let mut changes = Vec::new();
        for name in &self.cfg.fields {
            if let (Some(a), Some(b)) = (field(before, name), field(&after, name)) {
                if a != b {
                    changes.push((name.clone(), format!("{a} -> {b}")));
                }
            }
        }
        if !changes.is_empty() {
            let key: Vec<&str> = changes.iter().map(|(k, _)| k.as_str()).collect();
            let (lat, lon) = ctx
                .last
                .get(&u.mmsi)
                .map_or((f64::NAN, f64::NAN), |p| (p.lat, p.lon));
            let mut e = ctx.new_event(
                EventType::IdentityChange,
                &[u.mmsi],
                u.time_ms,
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
            e.open = false;
            e.end_ms = Some(u.time_ms);
            ctx.create(e);
        }
        if !self.cfg.mmsi_change {
            return;
        }
        let Some(imo) = after.imo else { return };
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
            let mut e = ctx.new_event(
                EventType::IdentityChange,
                &[old, u.mmsi],
                u.time_ms,
                lat,
                lon,
                "mmsi",
            );
            e.set("mmsi", format!("{old} -> {}", u.mmsi));
            e.set("imo", imo);
            let prev = ctx.idents.get(&old).cloned().unwrap_or_default();
            for name in ["name", "callsign", "flag", "ship_type"] {
                if let (Some(a), Some(b)) = (field(&prev, name), field(&after, name)) {
                    if a != b {
                        e.set(name, format!("{a} -> {b}"));
                    }
                }
            }
            e.open = false;
            e.end_ms = Some(u.time_ms);
            ctx.create(e);
        }
    }

    fn memory_bytes(&self) -> usize {
        table_bytes(&self.imo_mmsi) + self.reported.len() * 24
    }
}
