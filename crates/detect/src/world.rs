//! What detectors need to know about the world: the zones a point lies in, and the coast.
//!
//! [`World`] is the one seam between detectors (which ask) and the geography that answers
//! (zone sets imported from GeoJSON / WKT / shapefiles, the land mask and distance-to-shore
//! grid). Detectors take `&dyn World`, so tests can give them a small world of their own.

/// Index of a zone in a [`World`]'s zone table.
pub type ZoneIdx = u32;

/// What a zone is. Overlaps are normal (disputed waters lie in two EEZs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// Exclusive economic zone (200 nm).
    Eez,
    /// Territorial sea (12 nm).
    TerritorialSea,
    /// An analyst's area of interest (a reef, a strait, a box).
    AreaOfInterest,
    /// A port.
    Port,
    /// An anchorage.
    Anchorage,
    /// An offshore energy installation (rig, drillship, platform) and its safety zone.
    EnergyInstallation,
    /// Anything else.
    Other,
}

/// A zone's description (the geometry stays with the [`World`] implementation).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ZoneInfo {
    /// Unique name within its zone set.
    pub name: String,
    /// What it is.
    pub kind: ZoneKind,
    /// The state that claims or owns it (ISO 3166-1 alpha-2 or alpha-3 as imported), if any.
    pub owner: Option<String>,
}

/// The geography detectors query. Positions are WGS84 degrees.
pub trait World: Send + Sync {
    /// Appends the indices of the zones containing the point to `out` (which is not cleared).
    fn zones_at(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>);
    /// A zone's description; `idx` came from [`World::zones_at`] or is below
    /// [`World::zone_count`].
    fn zone(&self, idx: ZoneIdx) -> &ZoneInfo;
    /// Number of zones.
    fn zone_count(&self) -> usize;
    /// Distance from the point to the nearest coastline, metres (0 on land); `None` when no
    /// land data is loaded.
    fn distance_to_shore_m(&self, lat: f64, lon: f64) -> Option<f64>;
    /// Whether the point is on land; `None` when no land data is loaded.
    fn is_land(&self, lat: f64, lon: f64) -> Option<bool>;
    /// Whether the point is on land by more than the land data's resolution (not in a
    /// coastal cell, where harbours, fjords and skerries the coarse coastline covers lie);
    /// `None` when no land data is loaded. Without a resolution to allow for: [`World::is_land`].
    fn is_inland(&self, lat: f64, lon: f64) -> Option<bool> {
        self.is_land(lat, lon)
    }
}
