//! Zone files: GeoJSON (`geojson` crate), WKT lines (`wkt` crate), ESRI shapefiles with
//! their `.dbf` attributes (`shapefile` crate), and GeoJSON output.
//!
//! Every reader validates the whole file before returning: one bad feature or line and the
//! result is an error naming the file, the feature index (0-based) or line (1-based), and
//! the reason; nothing is half-loaded.

use std::path::Path;

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};

use super::{ErrorAt, Zone, ZoneError};
use crate::world::ZoneKind;

/// Which feature properties (GeoJSON `properties`, shapefile `.dbf` fields) give a zone's
/// name, kind, owner and note. For each, the first listed property that is present and not
/// empty wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyMap {
    /// Name properties. A feature without any is rejected.
    pub name: Vec<String>,
    /// Kind properties, parsed by `ZoneKind::from_str` (aliases included).
    pub kind: Vec<String>,
    /// Kind for features without a kind property; `None` rejects them.
    pub default_kind: Option<ZoneKind>,
    /// Owner-state properties (optional).
    pub owner: Vec<String>,
    /// Note properties (optional).
    pub note: Vec<String>,
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for PropertyMap {
    /// Tidewatch's own names (`name`, `kind`, `owner`, `note`: what [`to_geojson`] writes),
    /// falling back to Marine Regions' (`GEONAME`, `POL_TYPE`, `ISO_SOV1`, `ISO_TER1`,
    /// `TERRITORY1`). No default kind.
    fn default() -> PropertyMap {
        PropertyMap {
            name: strings(&["name", "GEONAME"]),
            kind: strings(&["kind", "POL_TYPE"]),
            default_kind: None,
            owner: strings(&["owner", "ISO_SOV1", "ISO_TER1", "TERRITORY1"]),
            note: strings(&["note"]),
        }
    }
}

impl PropertyMap {
    /// Marine Regions' EEZ and 12 nm files (`GEONAME`, `POL_TYPE`, `ISO_SOV1`/`ISO_TER1`/
    /// `TERRITORY1`): features without `POL_TYPE` are of `kind`.
    pub fn marine_regions(kind: ZoneKind) -> PropertyMap {
        PropertyMap {
            name: strings(&["GEONAME"]),
            kind: strings(&["POL_TYPE"]),
            default_kind: Some(kind),
            owner: strings(&["ISO_SOV1", "ISO_TER1", "TERRITORY1"]),
            note: Vec::new(),
        }
    }
}

/// Property values as strings; what a property map needs to read any source. Names match in
/// any case (dBase tables name fields `NAME`, other tools `Name`) when none matches exactly.
trait Props {
    fn get_str(&self, key: &str) -> Option<String>;
    /// The property names, sorted (for an error that says what a feature has).
    fn names(&self) -> Vec<String>;
}

/// The value of `key` in `map`, else of the first key equal to it in any case.
fn lookup<'m, V>(map: impl IntoIterator<Item = (&'m String, &'m V)>, key: &str) -> Option<&'m V> {
    let mut folded = None;
    for (k, v) in map {
        if k == key {
            return Some(v);
        }
        if folded.is_none() && k.eq_ignore_ascii_case(key) {
            folded = Some(v);
        }
    }
    folded
}

impl Props for Map<String, Value> {
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }

    fn get_str(&self, key: &str) -> Option<String> {
        match lookup(self, key)? {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }
}

impl Props for shapefile::dbase::Record {
    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.as_ref().keys().cloned().collect();
        n.sort();
        n
    }

    fn get_str(&self, key: &str) -> Option<String> {
        use shapefile::dbase::FieldValue;
        match lookup(self.as_ref(), key)? {
            FieldValue::Character(Some(s)) => Some(s.trim().to_owned()),
            FieldValue::Memo(s) => Some(s.trim().to_owned()),
            FieldValue::Numeric(Some(n)) => Some(n.to_string()),
            FieldValue::Integer(n) => Some(n.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }
}

struct Attrs {
    name: String,
    kind: ZoneKind,
    owner: Option<String>,
    note: Option<String>,
}

fn first(props: &dyn Props, keys: &[String]) -> Option<String> {
    keys.iter().find_map(|k| props.get_str(k))
}

fn attrs(props: &dyn Props, map: &PropertyMap) -> Result<Attrs, String> {
    let name = first(props, &map.name).ok_or_else(|| {
        format!(
            "no name property (looked for {}; the feature has {}): `--name-field FIELD` \
                 reads another",
            map.name.join(", "),
            match props.names() {
                n if n.is_empty() => "none".to_owned(),
                n => n.join(", "),
            }
        )
    })?;
    let kind = match first(props, &map.kind) {
        Some(k) => k
            .parse::<ZoneKind>()
            .map_err(|e| format!("zone {name:?}: {e}"))?,
        None => map.default_kind.ok_or_else(|| {
            format!(
                "zone {name:?}: no kind property (looked for {}) and no default kind",
                map.kind.join(", ")
            )
        })?,
    };
    Ok(Attrs {
        name,
        kind,
        owner: first(props, &map.owner),
        note: first(props, &map.note),
    })
}

fn zone_from(a: Attrs, geometry: MultiPolygon<f64>) -> Result<Zone, String> {
    let z = Zone::new(&a.name, a.kind, a.owner.as_deref(), geometry)?;
    Ok(match a.note {
        Some(n) => z.with_note(n),
        None => z,
    })
}

/// Reads a zone file, by extension: `.geojson` / `.json` (GeoJSON), `.wkt` / `.tsv` / `.txt`
/// (WKT lines, see [`parse_wkt`]), `.shp` (shapefile with its `.dbf`).
pub fn load_file(path: &Path, map: &PropertyMap) -> Result<Vec<Zone>, ZoneError> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let read = || {
        std::fs::read_to_string(path)
            .map_err(|e| ZoneError::new(&file, ErrorAt::File, format!("cannot read: {e}")))
    };
    match ext.as_str() {
        "geojson" | "json" => unique_names(parse_geojson(&read()?, &file, map)?, &file),
        "wkt" | "tsv" | "txt" => parse_wkt(&read()?, &file),
        "shp" => unique_names(read_shapefile(path, map)?, &file),
        _ => Err(ZoneError::new(
            &file,
            ErrorAt::File,
            format!("unknown zone file type {ext:?} (expected .geojson, .json, .wkt, .tsv, .txt or .shp)"),
        )),
    }
}

/// Parses a GeoJSON FeatureCollection (or a single Feature) of Polygon / MultiPolygon
/// features; `file` names the source in errors.
pub fn parse_geojson(text: &str, file: &str, map: &PropertyMap) -> Result<Vec<Zone>, ZoneError> {
    // Syntax first, with serde_json's line, so a broken file points at the line.
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ZoneError::new(file, ErrorAt::Line(e.line()), format!("not JSON: {e}")))?;
    // Features one at a time, so a malformed one is named by its index.
    let feature_values: Vec<Value> = match value.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match value {
            Value::Object(mut o) => match o.remove("features") {
                Some(Value::Array(fs)) => fs,
                _ => {
                    return Err(ZoneError::new(
                        file,
                        ErrorAt::File,
                        "FeatureCollection without a features array",
                    ))
                }
            },
            _ => Vec::new(),
        },
        Some("Feature") => vec![value],
        Some(_) => {
            return Err(ZoneError::new(
                file,
                ErrorAt::File,
                "a bare geometry has no name: give a Feature or a FeatureCollection",
            ))
        }
        None => {
            return Err(ZoneError::new(
                file,
                ErrorAt::File,
                "not GeoJSON: no \"type\" member",
            ))
        }
    };
    let mut features = Vec::with_capacity(feature_values.len());
    for (i, v) in feature_values.into_iter().enumerate() {
        let f: geojson::Feature = serde_json::from_value(v).map_err(|e| {
            ZoneError::new(
                file,
                ErrorAt::Feature(i),
                format!("not a GeoJSON feature: {e}"),
            )
        })?;
        features.push(f);
    }
    let empty = Map::new();
    let mut zones = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let err = |reason: String| ZoneError::new(file, ErrorAt::Feature(i), reason);
        let a = attrs(f.properties.as_ref().unwrap_or(&empty), map).map_err(err)?;
        let Some(geom) = &f.geometry else {
            return Err(err(format!("zone {:?} has no geometry", a.name)));
        };
        let mp =
            geojson_polygons(&geom.value).map_err(|e| err(format!("zone {:?}: {e}", a.name)))?;
        zones.push(zone_from(a, mp).map_err(err)?);
    }
    Ok(zones)
}

fn geojson_ring(ring: &[geojson::Position]) -> Result<LineString<f64>, String> {
    ring.iter()
        .enumerate()
        .map(|(i, p)| match p.as_slice() {
            [x, y, ..] => Ok(Coord { x: *x, y: *y }),
            _ => Err(format!("position {i} has {} coordinates, need 2", p.len())),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(LineString)
}

fn geojson_polygon(rings: &[Vec<geojson::Position>]) -> Result<Polygon<f64>, String> {
    let Some((ext, holes)) = rings.split_first() else {
        return Err("polygon without rings".to_owned());
    };
    let holes = holes
        .iter()
        .map(|r| geojson_ring(r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(geojson_ring(ext)?, holes))
}

fn geojson_polygons(g: &geojson::GeometryValue) -> Result<MultiPolygon<f64>, String> {
    use geojson::GeometryValue as G;
    match g {
        G::Polygon { coordinates } => Ok(MultiPolygon(vec![geojson_polygon(coordinates)?])),
        G::MultiPolygon { coordinates } => Ok(MultiPolygon(
            coordinates
                .iter()
                .map(|p| geojson_polygon(p))
                .collect::<Result<_, _>>()?,
        )),
        other => Err(format!(
            "geometry is {}, need Polygon or MultiPolygon",
            other.type_name()
        )),
    }
}

/// Parses WKT zone lines: `name<TAB>kind<TAB>owner<TAB>WKT`, one zone per line, the WKT a
/// `POLYGON` or `MULTIPOLYGON` in lon/lat; `owner` may be empty or `-`. Blank lines and lines
/// starting with `#` are skipped.
pub fn parse_wkt(text: &str, file: &str) -> Result<Vec<Zone>, ZoneError> {
    let mut zones = Vec::new();
    let mut names = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let err = |reason: String| ZoneError::new(file, ErrorAt::Line(i + 1), reason);
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, kind, owner, wkt_text] = fields[..] else {
            return Err(err(format!(
                "{} tab-separated fields, need 4: name, kind, owner, WKT",
                fields.len()
            )));
        };
        let kind: ZoneKind = kind
            .parse()
            .map_err(|e| err(format!("zone {name:?}: {e}")))?;
        let owner = Some(owner.trim()).filter(|o| !o.is_empty() && *o != "-");
        let parsed: wkt::Wkt<f64> = wkt_text
            .trim()
            .parse()
            .map_err(|e| err(format!("zone {name:?}: bad WKT: {e}")))?;
        let geometry: geo::Geometry<f64> = parsed
            .try_into()
            .map_err(|e| err(format!("zone {name:?}: bad WKT: {e}")))?;
        let mp = match geometry {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(mp) => mp,
            _ => {
                return Err(err(format!(
                    "zone {name:?}: WKT is not a POLYGON or MULTIPOLYGON"
                )))
            }
        };
        if let Some(first) = names.insert(name.to_owned(), i + 1) {
            return Err(err(format!(
                "duplicate zone name {name:?} (first on line {first})"
            )));
        }
        zones.push(Zone::new(name, kind, owner, mp).map_err(err)?);
    }
    Ok(zones)
}

/// Fails on a zone name given twice in one file (GeoJSON features, shapefile records).
fn unique_names(zones: Vec<Zone>, file: &str) -> Result<Vec<Zone>, ZoneError> {
    let mut first = std::collections::HashMap::new();
    for (i, z) in zones.iter().enumerate() {
        if let Some(f) = first.insert(z.name(), i) {
            return Err(ZoneError::new(
                file,
                ErrorAt::Feature(i),
                format!("duplicate zone name {:?} (first at feature {f})", z.name()),
            ));
        }
    }
    Ok(zones)
}

/// Reads an ESRI shapefile (`.shp` with its `.shx` and `.dbf`) of polygons in lon/lat; a
/// `.prj` naming a projected coordinate system is refused (reproject to EPSG:4326 first).
pub fn read_shapefile(path: &Path, map: &PropertyMap) -> Result<Vec<Zone>, ZoneError> {
    let file = path.display().to_string();
    let prj = path.with_extension("prj");
    if let Ok(text) = std::fs::read_to_string(&prj) {
        if text.trim_start().starts_with("PROJCS") {
            return Err(ZoneError::new(
                &file,
                ErrorAt::File,
                format!(
                    "{} names a projected coordinate system; zones must be lon/lat WGS84",
                    prj.display()
                ),
            ));
        }
    }
    let mut reader = shapefile::Reader::from_path(path)
        .map_err(|e| ZoneError::new(&file, ErrorAt::File, format!("cannot open shapefile: {e}")))?;
    let mut zones = Vec::new();
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let err = |reason: String| ZoneError::new(&file, ErrorAt::Feature(i), reason);
        let (shape, record) = item.map_err(|e| err(format!("cannot read record: {e}")))?;
        let a = attrs(&record, map).map_err(err)?;
        let mp: Result<MultiPolygon<f64>, shapefile::Error> = match shape {
            shapefile::Shape::Polygon(p) => p.try_into(),
            shapefile::Shape::PolygonM(p) => p.try_into(),
            shapefile::Shape::PolygonZ(p) => p.try_into(),
            other => {
                return Err(err(format!(
                    "zone {:?}: shape is {}, need a polygon",
                    a.name,
                    other.shapetype()
                )))
            }
        };
        let mp = mp.map_err(|e| err(format!("zone {:?}: {e}", a.name)))?;
        zones.push(zone_from(a, mp).map_err(err)?);
    }
    Ok(zones)
}

/// Zones as a GeoJSON FeatureCollection, properties `name`, `kind`, `owner`, `note`.
/// Longitudes of a zone crossing the antimeridian run past 180 (as [`Zone::geometry`]);
/// [`parse_geojson`] reads them back.
pub fn to_geojson(zones: &[Zone]) -> String {
    let features: Vec<geojson::Feature> = zones
        .iter()
        .map(|z| {
            let mut props = Map::new();
            props.insert("name".to_owned(), Value::from(z.info.name.clone()));
            props.insert("kind".to_owned(), Value::from(z.info.kind.as_str()));
            if let Some(o) = &z.info.owner {
                props.insert("owner".to_owned(), Value::from(o.clone()));
            }
            if let Some(n) = &z.note {
                props.insert("note".to_owned(), Value::from(n.clone()));
            }
            geojson::Feature {
                bbox: None,
                // To a nanodegree (0.1 mm): the outline as given, not the last bits of the
                // arithmetic that normalised its longitudes (12.800000000000006 for 12.8).
                geometry: Some(geojson::Geometry::new(geojson::GeometryValue::from(
                    &geo::MapCoords::map_coords(z.geometry(), |c| geo::Coord {
                        x: (c.x * 1e9).round() / 1e9,
                        y: (c.y * 1e9).round() / 1e9,
                    }),
                ))),
                id: None,
                properties: Some(props),
                foreign_members: None,
            }
        })
        .collect();
    geojson::FeatureCollection::new(features).to_string()
}
