//! [`Geography`]: a zone set and, when it could be had, the land grid, behind [`World`].

use crate::land::LandGrid;
use crate::world::{World, ZoneIdx, ZoneInfo};
use crate::zones::ZoneSet;

/// What detectors ask about the world: zones from a [`ZoneSet`], land and distance to shore
/// from a [`LandGrid`] (or `None` for both when there is no grid).
#[derive(Debug, Clone)]
pub struct Geography {
    zones: ZoneSet,
    land: Option<LandGrid>,
}

impl Geography {
    /// Zones, and land data if available.
    pub fn new(zones: ZoneSet, land: Option<LandGrid>) -> Geography {
        Geography { zones, land }
    }

    /// The zones.
    pub fn zones(&self) -> &ZoneSet {
        &self.zones
    }

    /// The land grid, if loaded.
    pub fn land(&self) -> Option<&LandGrid> {
        self.land.as_ref()
    }
}

impl World for Geography {
    fn zones_at(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>) {
        self.zones.zones_at(lat, lon, out);
    }

    fn zone(&self, idx: ZoneIdx) -> &ZoneInfo {
        World::zone(&self.zones, idx)
    }

    fn zone_count(&self) -> usize {
        self.zones.zones().len()
    }

    fn distance_to_shore_m(&self, lat: f64, lon: f64) -> Option<f64> {
        self.land.as_ref()?.distance_to_shore_m(lat, lon)
    }

    fn is_land(&self, lat: f64, lon: f64) -> Option<bool> {
        self.land.as_ref()?.is_land(lat, lon)
    }
}
