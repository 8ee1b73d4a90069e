//! [`Geography`]: a zone set and, when it could be had, the land grid, behind [`World`].

use std::sync::Arc;

use crate::land::LandGrid;
use crate::world::{World, ZoneIdx, ZoneInfo};
use crate::zones::ZoneSet;

/// What detectors ask about the world: zones from a [`ZoneSet`], land and distance to shore
/// from a [`LandGrid`] (or `None` for both when there is no grid).
#[derive(Debug, Clone)]
pub struct Geography {
    zones: ZoneSet,
    /// Shared: a live server builds an engine for every run and loads the grid once.
    land: Option<Arc<LandGrid>>,
}

impl Geography {
    /// Zones, and land data if available.
    pub fn new(zones: ZoneSet, land: Option<Arc<LandGrid>>) -> Geography {
        Geography { zones, land }
    }

    /// The zones.
    pub fn zones(&self) -> &ZoneSet {
        &self.zones
    }

    /// The land grid, if loaded.
    pub fn land(&self) -> Option<&LandGrid> {
        self.land.as_deref()
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

    fn is_inland(&self, lat: f64, lon: f64) -> Option<bool> {
        self.land.as_ref()?.is_inland(lat, lon)
    }
}

#[cfg(test)]
mod tests {
    use geo::{LineString, MultiPolygon, Polygon};

    use super::*;

    #[test]
    fn geography_answers_zones_and_land_through_world() {
        let island = Polygon::new(
            LineString::from(vec![
                (114.0, 9.0),
                (115.0, 9.0),
                (115.0, 10.0),
                (114.0, 10.0),
            ]),
            vec![],
        );
        let grid = LandGrid::from_land(&MultiPolygon(vec![island]), 20, "test island");
        let with_land = Geography::new(ZoneSet::demo(), Some(Arc::new(grid)));
        let without = Geography::new(ZoneSet::demo(), None);
        let worlds: [&dyn World; 2] = [&with_land, &without];
        for w in worlds {
            assert_eq!(w.zone_count(), ZoneSet::demo().zones().len());
            let mut out = Vec::new();
            w.zones_at(9.994, 114.658, &mut out);
            let names: Vec<&str> = out.iter().map(|&i| w.zone(i).name.as_str()).collect();
            assert!(
                names.contains(&"Whitsun Reef area (5 nm, approx.)"),
                "{names:?}"
            );
        }
        assert_eq!(with_land.is_land(9.5, 114.5), Some(true));
        assert_eq!(with_land.is_land(9.5, 116.0), Some(false));
        let d = with_land.distance_to_shore_m(9.5, 116.0).unwrap();
        assert!((100_000.0..120_000.0).contains(&d), "{d}");
        assert_eq!(without.is_land(9.5, 114.5), None);
        assert_eq!(without.distance_to_shore_m(9.5, 114.5), None);
    }
}
