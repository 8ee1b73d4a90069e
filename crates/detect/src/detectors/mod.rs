//! The detectors, one module each behind [`Detector`].
//!
//! Per-vessel detectors react to each released fix ([`Detector::on_fix`]) and identity update;
//! pairwise ones to each complete tick of the resampled grid ([`Detector::on_tick`]), bucketing
//! the samples into a [`crate::geom::Grid`] of cells sized to their distance and comparing only
//! neighbouring cells. [`Detector::on_time`] runs once per minute of input time to close what
//! timed out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::{Ctx, Sample};
use crate::event::{Change, Event, EventId, Notice};
use crate::input::{Fix, Identity, IdentityUpdate, LastFix};
use crate::world::ZoneIdx;

pub mod ais_gap;
pub mod close_approach;
pub mod encounter;
pub mod escort;
pub mod identity;
pub mod loitering;
pub mod port_call;
pub mod spoof;
pub mod survey;
pub mod swarm;
pub mod watchlist;
pub mod zone_visit;

/// A fix as a detector sees it: the fix, the vessel's previous fix, the zones it lies in.
#[derive(Debug)]
pub struct FixCtx<'a> {
    /// The fix.
    pub fix: &'a Fix,
    /// The same MMSI's previous fix (any segment).
    pub prev: Option<&'a LastFix>,
    /// Zones containing the fix, sorted.
    pub zones: &'a [ZoneIdx],
}

/// One behaviour detector. Every method has a default that does nothing, so a detector
/// implements only what it reacts to.
pub trait Detector {
    /// A released fix (per vessel in time order).
    fn on_fix(&mut self, _ctx: &mut Ctx<'_>, _f: &FixCtx<'_>) {}
    /// A fix older than its vessel's last one (late data: a satellite backlog, a partner's
    /// re-delivery). It does not move the vessel's state; a detector whose closed events it
    /// contradicts re-examines them (a gap during which the vessel was heard after all).
    fn on_late_fix(&mut self, _ctx: &mut Ctx<'_>, _f: &Fix) {}
    /// An identity update; `before` is the identity before it.
    fn on_identity(&mut self, _ctx: &mut Ctx<'_>, _u: &IdentityUpdate, _before: &Identity) {}
    /// A complete tick of the resampling grid: every vessel's sample at `tick_ms`, by MMSI.
    fn on_tick(&mut self, _ctx: &mut Ctx<'_>, _tick_ms: i64, _samples: &[Sample]) {}
    /// Input time reached `now_ms` (called once per minute of input time).
    fn on_time(&mut self, _ctx: &mut Ctx<'_>, _now_ms: i64) {}
    /// Forgets vessels last seen before `before_ms` (closing what they had open at their last
    /// position), so live state is bounded by the vessels active recently. `ctx.last` still
    /// holds every vessel's last fix. Called once per hour of input time.
    fn forget(&mut self, _ctx: &mut Ctx<'_>, _before_ms: i64) {}
    /// The next fix to come is this vessel's: bring its state into cache now (see
    /// [`prefetch`]).
    fn prefetch(&self, _f: &Fix) {}
    /// Estimated bytes of live state.
    fn memory_bytes(&self) -> usize {
        0
    }
}

pub(crate) use ais::prefetch;

/// Serde for maps whose keys are not strings (pairs, cells): a sequence of `(key, value)`, so
/// saved state can be JSON.
pub(crate) mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<'a, S, M, K, V>(m: &'a M, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        &'a M: IntoIterator<Item = (&'a K, &'a V)>,
        K: Serialize + 'a,
        V: Serialize + 'a,
    {
        s.collect_seq(m)
    }

    pub fn deserialize<'de, D, M, K, V>(d: D) -> Result<M, D::Error>
    where
        D: Deserializer<'de>,
        M: FromIterator<(K, V)>,
        K: Deserialize<'de>,
        V: Deserialize<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// Bytes of a hash map's table (entries and control bytes), not counting heap owned by values.
pub(crate) fn table_bytes<K, V, S>(m: &std::collections::HashMap<K, V, S>) -> usize {
    m.capacity() * (std::mem::size_of::<K>() + std::mem::size_of::<V>() + 1)
}

/// All detectors, in the order they run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detectors {
    ais_gap: ais_gap::AisGap,
    loitering: loitering::Loitering,
    encounter: encounter::Encounter,
    port_call: port_call::PortCall,
    zone_visit: zone_visit::ZoneVisit,
    identity: identity::IdentityChange,
    watchlist: watchlist::WatchlistHit,
    spoof: spoof::Spoof,
    close_approach: close_approach::CloseApproach,
    escort: escort::Escort,
    swarm: swarm::Swarm,
    survey: survey::Survey,
}

macro_rules! each {
    ($self:ident, $cfg:ident, |$d:ident| $body:expr) => {{
        if $cfg.ais_gap.enabled {
            let $d = &mut $self.ais_gap;
            $body;
        }
        if $cfg.loitering.enabled {
            let $d = &mut $self.loitering;
            $body;
        }
        if $cfg.encounter.enabled {
            let $d = &mut $self.encounter;
            $body;
        }
        if $cfg.port_call.enabled {
            let $d = &mut $self.port_call;
            $body;
        }
        if $cfg.zone_visit.enabled {
            let $d = &mut $self.zone_visit;
            $body;
        }
        if $cfg.identity_change.enabled {
            let $d = &mut $self.identity;
            $body;
        }
        if $cfg.watchlist.enabled {
            let $d = &mut $self.watchlist;
            $body;
        }
        if $cfg.spoof.enabled {
            let $d = &mut $self.spoof;
            $body;
        }
        if $cfg.close_approach.enabled {
            let $d = &mut $self.close_approach;
            $body;
        }
        if $cfg.escort.enabled {
            let $d = &mut $self.escort;
            $body;
        }
        if $cfg.swarm.enabled {
            let $d = &mut $self.swarm;
            $body;
        }
        if $cfg.survey.enabled {
            let $d = &mut $self.survey;
            $body;
        }
    }};
}

impl Detectors {
    /// Fresh detectors for a configuration.
    pub(crate) fn new(c: &Config) -> Detectors {
        Detectors {
            ais_gap: ais_gap::AisGap::new(c.ais_gap.clone()),
            loitering: loitering::Loitering::new(c.loitering.clone()),
            encounter: encounter::Encounter::new(c.encounter.clone()),
            port_call: port_call::PortCall::new(c.port_call.clone()),
            zone_visit: zone_visit::ZoneVisit::new(c.zone_visit.clone()),
            identity: identity::IdentityChange::new(c.identity_change.clone()),
            watchlist: watchlist::WatchlistHit::new(c.watchlist.clone()),
            spoof: spoof::Spoof::new(c.spoof.clone()),
            close_approach: close_approach::CloseApproach::new(c.close_approach.clone()),
            escort: escort::Escort::new(c.escort.clone()),
            swarm: swarm::Swarm::new(c.swarm.clone()),
            survey: survey::Survey::new(c.survey.clone()),
        }
    }

    /// Applies a configuration to resumed detectors.
    pub(crate) fn configure(&mut self, c: &Config) {
        self.ais_gap.cfg = c.ais_gap.clone();
        self.loitering.cfg = c.loitering.clone();
        self.encounter.cfg = c.encounter.clone();
        self.port_call.cfg = c.port_call.clone();
        self.zone_visit.cfg = c.zone_visit.clone();
        self.identity.cfg = c.identity_change.clone();
        self.watchlist.cfg = c.watchlist.clone();
        self.spoof.cfg = c.spoof.clone();
        self.close_approach.cfg = c.close_approach.clone();
        self.escort.cfg = c.escort.clone();
        self.swarm.cfg = c.swarm.clone();
        self.survey.cfg = c.survey.clone();
        self.ais_gap.resumed();
    }

    pub(crate) fn on_fix(&mut self, cfg: &Config, ctx: &mut Ctx<'_>, f: &FixCtx<'_>) {
        each!(self, cfg, |d| d.on_fix(ctx, f));
    }

    pub(crate) fn prefetch(&mut self, cfg: &Config, f: &Fix) {
        each!(self, cfg, |d| d.prefetch(f));
    }

    pub(crate) fn on_late_fix(&mut self, cfg: &Config, ctx: &mut Ctx<'_>, f: &Fix) {
        each!(self, cfg, |d| d.on_late_fix(ctx, f));
    }

    pub(crate) fn on_identity(
        &mut self,
        cfg: &Config,
        ctx: &mut Ctx<'_>,
        u: &IdentityUpdate,
        before: &Identity,
    ) {
        each!(self, cfg, |d| d.on_identity(ctx, u, before));
    }

    pub(crate) fn on_tick(&mut self, cfg: &Config, ctx: &mut Ctx<'_>, t: i64, s: &[Sample]) {
        each!(self, cfg, |d| d.on_tick(ctx, t, s));
    }

    pub(crate) fn on_time(&mut self, cfg: &Config, ctx: &mut Ctx<'_>, now: i64) {
        each!(self, cfg, |d| d.on_time(ctx, now));
    }

    pub(crate) fn forget(&mut self, cfg: &Config, ctx: &mut Ctx<'_>, before: i64) {
        each!(self, cfg, |d| d.forget(ctx, before));
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.ais_gap.memory_bytes()
            + self.loitering.memory_bytes()
            + self.encounter.memory_bytes()
            + self.port_call.memory_bytes()
            + self.zone_visit.memory_bytes()
            + self.identity.memory_bytes()
            + self.watchlist.memory_bytes()
            + self.spoof.memory_bytes()
            + self.close_approach.memory_bytes()
            + self.escort.memory_bytes()
            + self.swarm.memory_bytes()
            + self.survey.memory_bytes()
    }
}

/// Folds a notice stream into the final state of each event (withdrawn ones removed).
#[derive(Debug, Default, Clone)]
pub struct Collector {
    events: BTreeMap<EventId, Event>,
}

impl Collector {
    /// Applies notices in order.
    pub fn absorb(&mut self, notices: impl IntoIterator<Item = Notice>) {
        for n in notices {
            match n.change {
                Change::Withdrawn => {
                    self.events.remove(&n.event.id);
                }
                _ => {
                    self.events.insert(n.event.id, n.event);
                }
            }
        }
    }

    /// The events, by start time then id.
    pub fn events(&self) -> Vec<Event> {
        let mut v: Vec<Event> = self.events.values().cloned().collect();
        v.sort_by_key(|e| (e.start_ms, e.id));
        v
    }
}
