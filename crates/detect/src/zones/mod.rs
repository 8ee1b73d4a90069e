//! Zones: named areas (EEZs, territorial seas, areas of interest, ports, anchorages, offshore
//! installations) and the index that answers "which zones contain this point".
//!
//! A [`Zone`] is a name, a [`ZoneKind`], an owner state and a WGS84 lon/lat
//! [`MultiPolygon`]. Zones come from GeoJSON, WKT or ESRI shapefiles ([`load_file`]), from a
//! scenario's `[[zone]]` entries ([`Zone::from_polygon`], [`Zone::circle`]) or from the demo
//! set compiled into the crate ([`ZoneSet::demo`]). A [`ZoneSet`] holds them with a grid index
//! ([`index`]) and implements the zone half of [`World`].
//!
//! Rules at the edges:
//! - Overlaps between zones are normal (disputed waters lie in two EEZs): a point gets every
//!   zone containing it, in zone-index order.
//! - The antimeridian: each ring is unwrapped (a step of more than 180 degrees of longitude
//!   between consecutive vertices is taken as a crossing), so a zone drawn from 170 E to
//!   170 W, written either as `[170, ..., -170]` or `[170, ..., 190]`, covers the 20 degrees
//!   between them, not the 340 around the other way. No edge may span 180 degrees of
//!   longitude or more; a ring around a pole is not supported.
//! - Validation happens once, at import: a file with one malformed feature loads nothing and
//!   the error names the file, the feature index or line, and the reason.
//! - Points exactly on a boundary may fall either side (see [`index`]).

pub mod import;
pub mod index;

use std::fmt;
use std::str::FromStr;

use geo::{Contains, Coord, LineString, MultiPolygon, Polygon};

use crate::world::{World, ZoneIdx, ZoneInfo, ZoneKind};

pub use import::{load_file, parse_geojson, parse_wkt, read_shapefile, PropertyMap};

/// Mean Earth radius, metres (IUGG), used for circles.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Vertices of the polygon that stands for a circle zone.
const CIRCLE_VERTICES: usize = 72;

/// Where in a file a zone error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAt {
    /// The file as a whole (unreadable, not the expected format).
    File,
    /// 1-based line (WKT lines; JSON syntax errors).
    Line(usize),
    /// 0-based feature index (GeoJSON features, shapefile records).
    Feature(usize),
}

/// A zone file (or zone) that cannot be loaded: which file, where in it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    /// The file (or `<demo>`, `<scenario>`, ... for zones not read from a file).
    pub file: String,
    /// Where in it.
    pub at: ErrorAt,
    /// Why, lowercase, naming the zone when it has a name.
    pub reason: String,
}

impl ZoneError {
    pub(crate) fn new(file: &str, at: ErrorAt, reason: impl Into<String>) -> ZoneError {
        ZoneError {
            file: file.to_owned(),
            at,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            ErrorAt::File => write!(f, "{}: {}", self.file, self.reason),
            ErrorAt::Line(n) => write!(f, "{}: line {}: {}", self.file, n, self.reason),
            ErrorAt::Feature(i) => write!(f, "{}: feature {}: {}", self.file, i, self.reason),
        }
    }
}

impl std::error::Error for ZoneError {}

impl ZoneKind {
    /// Every kind, in declaration order.
    pub const ALL: [ZoneKind; 7] = [
        ZoneKind::Eez,
        ZoneKind::TerritorialSea,
        ZoneKind::AreaOfInterest,
        ZoneKind::Port,
        ZoneKind::Anchorage,
        ZoneKind::EnergyInstallation,
        ZoneKind::Other,
    ];

    /// The canonical name (`eez`, `territorial_sea`, ...), as written to files.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Eez => "eez",
            ZoneKind::TerritorialSea => "territorial_sea",
            ZoneKind::AreaOfInterest => "area_of_interest",
            ZoneKind::Port => "port",
            ZoneKind::Anchorage => "anchorage",
            ZoneKind::EnergyInstallation => "energy_installation",
            ZoneKind::Other => "other",
        }
    }
}

impl fmt::Display for ZoneKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ZoneKind {
    type Err = String;

    /// Canonical names, case-insensitive, with spaces or hyphens for underscores, plus the
    /// aliases scenario files and Marine Regions use: `area` / `aoi` (area of interest),
    /// `12nm` / `territorial` (territorial sea), `200nm` / `overlapping claim` /
    /// `joint regime` (EEZ: Marine Regions' `POL_TYPE` values), `installation` / `rig` /
    /// `platform` (energy installation).
    fn from_str(s: &str) -> Result<ZoneKind, String> {
        let key: String = s
            .trim()
            .chars()
            .map(|c| {
                if c == ' ' || c == '-' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        let kind = match key.as_str() {
            "eez" | "200nm" | "overlapping_claim" | "joint_regime" => ZoneKind::Eez,
            "territorial_sea" | "territorial" | "12nm" => ZoneKind::TerritorialSea,
            "area_of_interest" | "area" | "aoi" => ZoneKind::AreaOfInterest,
            "port" => ZoneKind::Port,
            "anchorage" => ZoneKind::Anchorage,
            "energy_installation" | "installation" | "rig" | "platform" => {
                ZoneKind::EnergyInstallation
            }
            "other" => ZoneKind::Other,
            _ => {
                let names: Vec<&str> = ZoneKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(format!(
                    "unknown zone kind {s:?} (expected one of {})",
                    names.join(", ")
                ));
            }
        };
        Ok(kind)
    }
}

/// A named area: WGS84 lon/lat polygons with holes, validated and unwrapped across the
/// antimeridian (longitudes may run past 180 for a zone that crosses it).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Name, kind, owner.
    pub info: ZoneInfo,
    /// Where the outline comes from and how approximate it is, if the source says.
    pub note: Option<String>,
    geometry: MultiPolygon<f64>,
}

impl Zone {
    /// A zone from polygons (x = longitude, y = latitude, WGS84 degrees). Rings are closed
    /// if open and unwrapped across the antimeridian; the error says what is wrong.
    pub fn new(
        name: &str,
        kind: ZoneKind,
        owner: Option<&str>,
        geometry: MultiPolygon<f64>,
    ) -> Result<Zone, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("zone has an empty name".to_owned());
        }
        if geometry.0.is_empty() {
            return Err(format!("zone {name:?} has no polygon"));
        }
        let mut polys = Vec::with_capacity(geometry.0.len());
        for (i, poly) in geometry.0.into_iter().enumerate() {
            polys.push(
                normalize_polygon(poly).map_err(|e| format!("zone {name:?}, polygon {i}: {e}"))?,
            );
        }
        let owner = owner
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned);
        Ok(Zone {
            info: ZoneInfo {
                name: name.to_owned(),
                kind,
                owner,
            },
            note: None,
            geometry: MultiPolygon(polys),
        })
    }

    /// A zone from one outline `[[lon, lat], ...]` (closed automatically), as in a scenario's
    /// `[[zone]]` `polygon`.
    pub fn from_polygon(
        name: &str,
        kind: ZoneKind,
        owner: Option<&str>,
        ring_lon_lat: &[[f64; 2]],
    ) -> Result<Zone, String> {
        let ring: Vec<Coord<f64>> = ring_lon_lat.iter().map(|&[x, y]| Coord { x, y }).collect();
        Zone::new(
            name,
            kind,
            owner,
            MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]),
        )
    }

    /// A circle of `radius_m` metres around (`lat`, `lon`), as a 72-gon whose vertices lie on
    /// the circle (spherical Earth), as in a scenario's `[[zone]]` `circle`.
    pub fn circle(
        name: &str,
        kind: ZoneKind,
        owner: Option<&str>,
        lat: f64,
        lon: f64,
        radius_m: f64,
    ) -> Result<Zone, String> {
        if !(radius_m > 0.0 && radius_m <= 2_000_000.0) {
            return Err(format!(
                "zone {name:?}: circle radius {radius_m} m is not in (0, 2000 km]"
            ));
        }
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 360.0) {
            return Err(format!(
                "zone {name:?}: circle centre ({lat}, {lon}) is not a position"
            ));
        }
        let angle = radius_m / EARTH_RADIUS_M;
        if lat.abs() + angle.to_degrees() >= 89.0 {
            return Err(format!(
                "zone {name:?}: a circle reaching a pole is not supported"
            ));
        }
        let (phi1, lambda1) = (lat.to_radians(), lon.to_radians());
        let ring: Vec<[f64; 2]> = (0..CIRCLE_VERTICES)
            .map(|i| {
                let bearing = (i as f64) * std::f64::consts::TAU / CIRCLE_VERTICES as f64;
                let phi2 =
                    (phi1.sin() * angle.cos() + phi1.cos() * angle.sin() * bearing.cos()).asin();
                let lambda2 = lambda1
                    + (bearing.sin() * angle.sin() * phi1.cos())
                        .atan2(angle.cos() - phi1.sin() * phi2.sin());
                [lambda2.to_degrees(), phi2.to_degrees()]
            })
            .collect();
        Zone::from_polygon(name, kind, owner, &ring)
    }

    /// Sets the note.
    pub fn with_note(mut self, note: impl Into<String>) -> Zone {
        let note = note.into();
        self.note = if note.trim().is_empty() {
            None
        } else {
            Some(note)
        };
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The polygons, lon/lat; each polygon's westmost longitude is in [-180, 180), its
    /// eastmost may exceed 180 when it crosses the antimeridian.
    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.geometry
    }

    /// Whether the point is inside, by `geo`'s point-in-polygon (the reference the index is
    /// tested against; points on the boundary are not inside). Slow: use [`ZoneSet`].
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let lon = wrap_lon(lon);
        self.geometry.contains(&Coord { x: lon, y: lat })
            || self.geometry.contains(&Coord {
                x: lon + 360.0,
                y: lat,
            })
    }

    /// Number of vertices over all rings (closing vertices included).
    pub fn vertex_count(&self) -> usize {
        self.geometry
            .0
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum()
    }
}

/// Longitude wrapped into [-180, 180).
pub(crate) fn wrap_lon(lon: f64) -> f64 {
    if (-180.0..180.0).contains(&lon) {
        lon
    } else {
        (lon + 180.0).rem_euclid(360.0) - 180.0
    }
}

/// Validates a ring and unwraps its longitudes so consecutive vertices are less than 180
/// degrees apart; returns the closed ring.
fn unwrap_ring(ring: &LineString<f64>, what: &str) -> Result<Vec<Coord<f64>>, String> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len() + 1);
    for (i, c) in ring.0.iter().enumerate() {
        if !(c.x.is_finite() && c.y.is_finite()) {
            return Err(format!("{what} vertex {i} is not a finite number"));
        }
        if c.y.abs() > 90.0 || c.x.abs() > 540.0 {
            return Err(format!(
                "{what} vertex {i} ({}, {}) is not a lon/lat position in degrees (projected coordinates?)",
                c.x, c.y
            ));
        }
        let x = match out.last() {
            None => c.x,
            Some(prev) => {
                let d = (c.x - prev.x + 180.0).rem_euclid(360.0) - 180.0;
                prev.x + d
            }
        };
        out.push(Coord { x, y: c.y });
    }
    if let (Some(&first), Some(&last)) = (out.first(), out.last()) {
        if (first.x - last.x).abs() > 1e-9 || first.y != last.y {
            out.push(first);
        } else if let Some(l) = out.last_mut() {
            *l = first;
        }
    }
    let mut distinct = out.clone();
    distinct.pop();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(format!(
            "{what} has {} distinct vertices, need at least 3",
            distinct.len()
        ));
    }
    let (min_x, max_x) = out
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), c| (a.min(c.x), b.max(c.x)));
    // Unwrapped steps are below 180 degrees; only the closing edge can be longer, when the
    // ring goes round a pole.
    if max_x - min_x >= 360.0 || out.windows(2).any(|w| (w[1].x - w[0].x).abs() >= 180.0) {
        return Err(format!(
            "{what} goes round a pole (its longitudes run a whole turn)"
        ));
    }
    Ok(out)
}

/// Validates and unwraps a polygon; shifts it by whole turns so its westmost longitude is
/// in [-180, 180), and each hole next to its exterior.
fn normalize_polygon(poly: Polygon<f64>) -> Result<Polygon<f64>, String> {
    let (exterior, interiors) = poly.into_inner();
    let mut ext = unwrap_ring(&exterior, "exterior ring")?;
    let min_x = ext.iter().fold(f64::MAX, |a, c| a.min(c.x));
    let shift = ((min_x + 180.0) / 360.0).floor() * 360.0;
    for c in &mut ext {
        c.x -= shift;
    }
    let ext_x = ext[0].x;
    let mut holes = Vec::with_capacity(interiors.len());
    for (i, hole) in interiors.iter().enumerate() {
        let mut h = unwrap_ring(hole, &format!("hole {i}"))?;
        let turns = ((h[0].x - ext_x) / 360.0).round() * 360.0;
        for c in &mut h {
            c.x -= turns;
        }
        holes.push(LineString(h));
    }
    Ok(Polygon::new(LineString(ext), holes))
}

/// Zones with the index that finds those containing a point.
#[derive(Debug, Clone)]
pub struct ZoneSet {
    zones: Vec<Zone>,
    infos: Vec<ZoneInfo>,
    index: index::ZoneIndex,
}

impl ZoneSet {
    /// Indexes `zones`; names must be unique (the error names the duplicate).
    pub fn new(zones: Vec<Zone>) -> Result<ZoneSet, ZoneError> {
        let mut seen = rustc_hash::FxHashSet::default();
        for (i, z) in zones.iter().enumerate() {
            if !seen.insert(z.name()) {
                return Err(ZoneError::new(
                    "<zone set>",
                    ErrorAt::Feature(i),
                    format!("duplicate zone name {:?}", z.name()),
                ));
            }
        }
        if zones.len() >= u32::MAX as usize {
            return Err(ZoneError::new(
                "<zone set>",
                ErrorAt::File,
                "too many zones",
            ));
        }
        let index = index::ZoneIndex::build(&zones)
            .map_err(|reason| ZoneError::new("<zone set>", ErrorAt::File, reason))?;
        let infos = zones.iter().map(|z| z.info.clone()).collect();
        Ok(ZoneSet {
            zones,
            infos,
            index,
        })
    }

    /// No zones.
    pub fn empty() -> ZoneSet {
        ZoneSet {
            zones: Vec::new(),
            infos: Vec::new(),
            index: index::ZoneIndex::empty(),
        }
    }

    /// The demo set compiled into the crate: approximate areas drawn for the demo regions
    /// (South China Sea features, straits, a few EEZ outlines and offshore installations),
    /// each with a `note` saying so. Not survey data; see `docs/zones.md`.
    pub fn demo() -> ZoneSet {
        let zones = demo_zones();
        ZoneSet::new(zones)
            .unwrap_or_else(|e| unreachable!("the demo zone set is checked by a test: {e}"))
    }

    /// The zones, by index.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// Consumes the set, returning its zones (to merge sets: concatenate and call `new`).
    pub fn into_zones(self) -> Vec<Zone> {
        self.zones
    }

    /// Appends the indices of the zones containing the point, ascending. Points exactly on
    /// a boundary may fall either side.
    #[inline]
    pub fn zones_at(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>) {
        self.index.query(lat, lon, out);
    }

    /// What a lookup at the point costs: (zone entries in its grid cell, edges tested, cells
    /// in the grid). For benchmarks and sizing.
    pub fn lookup_cost(&self, lat: f64, lon: f64) -> (usize, usize, usize) {
        self.index.cost(lat, lon)
    }

    /// Bytes the index holds (the zones' own polygons not counted).
    pub fn index_bytes(&self) -> usize {
        self.index.bytes()
    }

    /// The zone named `name`.
    pub fn by_name(&self, name: &str) -> Option<(ZoneIdx, &Zone)> {
        self.zones
            .iter()
            .enumerate()
            .find(|(_, z)| z.name() == name)
            .map(|(i, z)| (i as ZoneIdx, z))
    }

    /// The set as a GeoJSON FeatureCollection (properties `name`, `kind`, `owner`, `note`),
    /// readable by [`parse_geojson`] with the default [`PropertyMap`].
    pub fn to_geojson(&self) -> String {
        import::to_geojson(&self.zones)
    }
}

/// The demo zones, parsed from `data/demo-zones.geojson`.
pub fn demo_zones() -> Vec<Zone> {
    const DEMO: &str = include_str!("../../data/demo-zones.geojson");
    parse_geojson(DEMO, "<demo>", &PropertyMap::default())
        .unwrap_or_else(|e| unreachable!("the demo zone file is checked by a test: {e}"))
}

impl World for ZoneSet {
    fn zones_at(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>) {
        ZoneSet::zones_at(self, lat, lon, out);
    }

    fn zone(&self, idx: ZoneIdx) -> &ZoneInfo {
        &self.infos[idx as usize]
    }

    fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// A zone set alone has no land data.
    fn distance_to_shore_m(&self, _lat: f64, _lon: f64) -> Option<f64> {
        None
    }

    /// A zone set alone has no land data.
    fn is_land(&self, _lat: f64, _lon: f64) -> Option<bool> {
        None
    }
}

#[cfg(test)]
mod tests;
