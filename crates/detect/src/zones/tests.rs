//! Zone import, the index against `geo`, the demo set and scenario zones (issue 18).

use std::path::Path;

use geo::{Coord, Intersects, LineString, MultiPolygon, Polygon};
use proptest::prelude::*;

use super::*;

fn names(set: &ZoneSet, lat: f64, lon: f64) -> Vec<String> {
    let mut out = Vec::new();
    set.zones_at(lat, lon, &mut out);
    out.iter()
        .map(|&i| set.zones()[i as usize].name().to_owned())
        .collect()
}

fn square(name: &str, lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Zone {
    Zone::from_polygon(
        name,
        ZoneKind::Eez,
        Some("XX"),
        &[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1]],
    )
    .unwrap()
}

/// A star with `n` vertices at radii between `r_min` and `r_max` degrees around (cx, cy).
fn star(cx: f64, cy: f64, radii: &[f64], phase: f64) -> Polygon<f64> {
    let n = radii.len();
    let ring: Vec<Coord<f64>> = radii
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = phase + i as f64 * std::f64::consts::TAU / n as f64;
            Coord {
                x: cx + r * a.cos(),
                y: cy + r * a.sin(),
            }
        })
        .collect();
    Polygon::new(LineString(ring), vec![])
}

#[test]
fn overlapping_zones_are_all_returned_in_index_order() {
    let set = ZoneSet::new(vec![
        square("A", 0.0, 0.0, 2.0, 2.0),
        square("B", 1.0, 1.0, 3.0, 3.0),
    ])
    .unwrap();
    assert_eq!(names(&set, 1.5, 1.5), ["A", "B"]);
    assert_eq!(names(&set, 0.5, 0.5), ["A"]);
    assert_eq!(names(&set, 2.5, 2.5), ["B"]);
    assert!(names(&set, 5.0, 5.0).is_empty());
    assert!(names(&set, f64::NAN, 1.0).is_empty());
    assert!(names(&ZoneSet::empty(), 0.0, 0.0).is_empty());
}

#[test]
fn a_hole_is_outside() {
    let outer = LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]);
    let hole = LineString::from(vec![(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)]);
    let z = Zone::new(
        "ring",
        ZoneKind::AreaOfInterest,
        None,
        MultiPolygon(vec![Polygon::new(outer, vec![hole])]),
    )
    .unwrap();
    let set = ZoneSet::new(vec![z]).unwrap();
    assert_eq!(names(&set, 2.0, 2.0), ["ring"]);
    assert!(names(&set, 5.0, 5.0).is_empty());
}

#[test]
fn a_zone_across_the_antimeridian_covers_the_short_way_round() {
    // Written both ways: longitudes jumping from 170 to -170, and running on to 190.
    let jumping = Zone::from_polygon(
        "jump",
        ZoneKind::Eez,
        None,
        &[
            [170.0, -10.0],
            [-170.0, -10.0],
            [-170.0, 10.0],
            [170.0, 10.0],
        ],
    )
    .unwrap();
    let running = Zone::from_polygon(
        "run",
        ZoneKind::Eez,
        None,
        &[[170.0, -10.0], [190.0, -10.0], [190.0, 10.0], [170.0, 10.0]],
    )
    .unwrap();
    let set = ZoneSet::new(vec![jumping, running]).unwrap();
    for lon in [171.0, 179.9, 180.0, -180.0, -179.9, -171.0, 185.0] {
        assert_eq!(names(&set, 0.0, lon), ["jump", "run"], "lon {lon}");
    }
    for lon in [169.0, -169.0, 0.0, 90.0, -90.0] {
        assert!(names(&set, 0.0, lon).is_empty(), "lon {lon}");
    }
    for z in set.zones() {
        assert!(z.contains(0.0, -175.0) && z.contains(0.0, 175.0) && !z.contains(0.0, 0.0));
    }
    // A circle around a point on the antimeridian.
    let c = Zone::circle("c", ZoneKind::Port, None, 0.0, 180.0, 50_000.0).unwrap();
    let set = ZoneSet::new(vec![c]).unwrap();
    assert_eq!(names(&set, 0.0, 179.9), ["c"]);
    assert_eq!(names(&set, 0.0, -179.9), ["c"]);
    assert!(names(&set, 0.0, 179.0).is_empty());
}

#[test]
fn a_ring_round_a_pole_is_refused() {
    let ring: Vec<[f64; 2]> = (0..36).map(|i| [-175.0 + 10.0 * i as f64, 80.0]).collect();
    let e = Zone::from_polygon("cap", ZoneKind::Other, None, &ring).unwrap_err();
    assert!(e.contains("goes round a pole"), "{e}");
}

#[test]
fn circles_have_their_radius() {
    // 12 nm around Second Thomas Shoal: 11.9 nm north is in, 12.1 nm out.
    let z = Zone::circle(
        "s",
        ZoneKind::AreaOfInterest,
        None,
        9.733,
        115.867,
        12.0 * 1852.0,
    )
    .unwrap();
    let set = ZoneSet::new(vec![z]).unwrap();
    let deg_per_nm = 1852.0 / (6_371_008.8 * std::f64::consts::PI / 180.0);
    assert_eq!(names(&set, 9.733 + 11.9 * deg_per_nm, 115.867), ["s"]);
    assert!(names(&set, 9.733 + 12.1 * deg_per_nm, 115.867).is_empty());
    assert!(Zone::circle("bad", ZoneKind::Port, None, 9.0, 115.0, -1.0).is_err());
    assert!(Zone::circle("pole", ZoneKind::Port, None, 89.5, 0.0, 200_000.0).is_err());
}

#[test]
fn zone_kinds_parse_with_aliases() {
    assert_eq!("eez".parse::<ZoneKind>(), Ok(ZoneKind::Eez));
    assert_eq!("200NM".parse::<ZoneKind>(), Ok(ZoneKind::Eez));
    assert_eq!("Overlapping claim".parse::<ZoneKind>(), Ok(ZoneKind::Eez));
    assert_eq!("area".parse::<ZoneKind>(), Ok(ZoneKind::AreaOfInterest));
    assert_eq!(
        "Territorial Sea".parse::<ZoneKind>(),
        Ok(ZoneKind::TerritorialSea)
    );
    assert_eq!(
        "energy-installation".parse::<ZoneKind>(),
        Ok(ZoneKind::EnergyInstallation)
    );
    for k in ZoneKind::ALL {
        assert_eq!(k.as_str().parse::<ZoneKind>(), Ok(k));
    }
    let e = "reef".parse::<ZoneKind>().unwrap_err();
    assert!(e.contains("unknown zone kind \"reef\""), "{e}");
}

const GOOD_GEOJSON: &str = r#"{"type": "FeatureCollection", "features": [
 {"type": "Feature", "properties": {"GEONAME": "Atlantis EEZ", "ISO_SOV1": "ATL", "POL_TYPE": "200NM"},
  "geometry": {"type": "Polygon", "coordinates": [[[0,0],[2,0],[2,2],[0,2],[0,0]]]}},
 {"type": "Feature", "properties": {"GEONAME": "Joint area", "ISO_SOV1": "ATL"},
  "geometry": {"type": "MultiPolygon", "coordinates": [[[[1,1],[3,1],[3,3],[1,1]]], [[[10,10],[11,10],[11,11],[10,10]]]]}}
]}"#;

#[test]
fn geojson_features_map_their_properties() {
    let zones = parse_geojson(
        GOOD_GEOJSON,
        "mr.geojson",
        &PropertyMap::marine_regions(ZoneKind::Eez),
    )
    .unwrap();
    assert_eq!(zones.len(), 2);
    assert_eq!(
        zones[0].info,
        ZoneInfo {
            name: "Atlantis EEZ".into(),
            kind: ZoneKind::Eez,
            owner: Some("ATL".into())
        }
    );
    assert_eq!(zones[1].info.kind, ZoneKind::Eez, "default kind");
    assert_eq!(zones[1].geometry().0.len(), 2);
    // Without a default kind, the second feature (no POL_TYPE) is refused, naming it.
    let e = parse_geojson(GOOD_GEOJSON, "mr.geojson", &PropertyMap::default()).unwrap_err();
    assert_eq!(e.at, ErrorAt::Feature(1));
    assert!(
        e.to_string()
            .starts_with("mr.geojson: feature 1: zone \"Joint area\": no kind property"),
        "{e}"
    );
}

#[test]
fn a_malformed_geojson_file_loads_nothing_and_says_where() {
    let cases: [(&str, ErrorAt, &str); 9] = [
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a", "kind": "eez"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}, {"type": "Feature", "properties": {"name": "b"}, "geometry": {"type": "Polygon", "coordinates": "oops"}}]}"#,
            ErrorAt::Feature(1),
            "not a GeoJSON feature",
        ),
        (r#"{"features": []}"#, ErrorAt::File, "no \"type\""),
        (
            "{\"type\": \"FeatureCollection\",\n \"features\": [\n oops]}",
            ErrorAt::Line(3),
            "not JSON",
        ),
        (
            r#"{"type": "Point", "coordinates": [1, 2]}"#,
            ErrorAt::File,
            "bare geometry",
        ),
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a", "kind": "eez"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}, {"type": "Feature", "properties": {"name": "b", "kind": "eez"}, "geometry": {"type": "LineString", "coordinates": [[0,0],[1,1]]}}]}"#,
            ErrorAt::Feature(1),
            "geometry is LineString",
        ),
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a", "kind": "eez"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]}}]}"#,
            ErrorAt::Feature(0),
            "distinct vertices",
        ),
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "a", "kind": "eez"}, "geometry": {"type": "Polygon", "coordinates": [[[500000,0],[600000,0],[600000,9000],[500000,0]]]}}]}"#,
            ErrorAt::Feature(0),
            "projected coordinates",
        ),
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "eez"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}]}"#,
            ErrorAt::Feature(0),
            "no name property (looked for name, GEONAME; the feature has kind)",
        ),
        // Names match in any case.
        (
            r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"NAME": "a", "kind": "eez", "Kind": "port"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]}}]}"#,
            ErrorAt::Feature(0),
            "zone \"a\"",
        ),
    ];
    for (text, at, reason) in cases {
        let e = parse_geojson(text, "bad.geojson", &PropertyMap::default()).unwrap_err();
        assert_eq!(e.at, at, "{e}");
        assert_eq!(e.file, "bad.geojson");
        assert!(e.reason.contains(reason), "{e}");
    }
}

#[test]
fn wkt_lines_load_and_a_bad_line_is_named() {
    let text = "# name\tkind\towner\twkt\n\
                Box\teez\tXX\tPOLYGON((0 0, 2 0, 2 2, 0 2, 0 0))\n\
                \n\
                Two boxes\tarea\t-\tMULTIPOLYGON(((5 5, 6 5, 6 6, 5 5)), ((7 7, 8 7, 8 8, 7 7)))\n";
    let zones = parse_wkt(text, "z.wkt").unwrap();
    assert_eq!(zones.len(), 2);
    assert_eq!(zones[0].info.owner.as_deref(), Some("XX"));
    assert_eq!(zones[1].info.owner, None);
    assert_eq!(zones[1].info.kind, ZoneKind::AreaOfInterest);
    let set = ZoneSet::new(zones).unwrap();
    assert_eq!(names(&set, 1.0, 1.0), ["Box"]);

    for (bad, reason) in [
        (
            "Box\teez\tXX\tPOLYGON((0 0, 2 0, 2 2, 0 2, 0 0)\n",
            "bad WKT",
        ),
        (
            "Box\teez\tPOLYGON((0 0, 2 0, 2 2, 0 2, 0 0))\n",
            "3 tab-separated fields",
        ),
        ("Box\teez\tXX\tLINESTRING(0 0, 2 0)\n", "not a POLYGON"),
        (
            "Box\treef\tXX\tPOLYGON((0 0, 2 0, 2 2, 0 2, 0 0))\n",
            "unknown zone kind",
        ),
    ] {
        let e = parse_wkt(
            &format!("Good\teez\t\tPOLYGON((0 0, 1 0, 1 1, 0 0))\n{bad}"),
            "z.wkt",
        )
        .unwrap_err();
        assert_eq!(e.at, ErrorAt::Line(2), "{e}");
        assert!(e.reason.contains(reason), "{e}");
    }
}

/// A fresh scratch directory named for `tag`, removed when dropped (pass or fail).
fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tidewatch-zones-{tag}-"))
        .tempdir()
        .unwrap()
}

/// (name, owner, ring) per record.
type ShpRecord<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

fn write_shapefile(path: &Path, rings: &[ShpRecord<'_>]) {
    use shapefile::dbase::{FieldName, FieldValue, Record, TableWriterBuilder};
    let table = TableWriterBuilder::new()
        .add_character_field(FieldName::try_from("GEONAME").unwrap(), 60)
        .add_character_field(FieldName::try_from("ISO_SOV1").unwrap(), 8);
    let mut w = shapefile::Writer::from_path(path, table).unwrap();
    for (name, owner, ring) in rings {
        let pts: Vec<shapefile::Point> = ring
            .iter()
            .map(|&(x, y)| shapefile::Point::new(x, y))
            .collect();
        let poly = shapefile::Polygon::new(shapefile::PolygonRing::Outer(pts));
        let mut rec = Record::default();
        rec.insert(
            "GEONAME".to_owned(),
            FieldValue::Character(Some((*name).to_owned())),
        );
        rec.insert(
            "ISO_SOV1".to_owned(),
            FieldValue::Character(Some((*owner).to_owned())),
        );
        w.write_shape_and_record(&poly, &rec).unwrap();
    }
}

#[test]
fn shapefiles_load_with_their_dbf_attributes() {
    let scratch = temp_dir("shp");
    let dir = scratch.path();
    let path = dir.join("eez.shp");
    write_shapefile(
        &path,
        &[
            (
                "Atlantis EEZ",
                "ATL",
                vec![(0.0, 0.0), (0.0, 2.0), (2.0, 2.0), (2.0, 0.0), (0.0, 0.0)],
            ),
            (
                "Lemuria EEZ",
                "LEM",
                vec![
                    (170.0, 0.0),
                    (170.0, 2.0),
                    (-170.0, 2.0),
                    (-170.0, 0.0),
                    (170.0, 0.0),
                ],
            ),
        ],
    );
    let zones = load_file(&path, &PropertyMap::marine_regions(ZoneKind::Eez)).unwrap();
    let set = ZoneSet::new(zones).unwrap();
    assert_eq!(names(&set, 1.0, 1.0), ["Atlantis EEZ"]);
    assert_eq!(names(&set, 1.0, -175.0), ["Lemuria EEZ"]);
    assert_eq!(set.zones()[1].info.owner.as_deref(), Some("LEM"));

    // A projected .prj is refused, naming the file.
    std::fs::write(
        dir.join("eez.prj"),
        "PROJCS[\"WGS 84 / UTM zone 49N\",GEOGCS[\"WGS 84\"]]",
    )
    .unwrap();
    let e = load_file(&path, &PropertyMap::marine_regions(ZoneKind::Eez)).unwrap_err();
    assert!(e.reason.contains("projected"), "{e}");
    // A truncated .shp is an error, not a panic or half a set.
    std::fs::remove_file(dir.join("eez.prj")).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    assert!(load_file(&path, &PropertyMap::marine_regions(ZoneKind::Eez)).is_err());
}

#[test]
fn geojson_output_reads_back_the_same_zones() {
    let zones = demo_zones();
    let text = ZoneSet::demo().to_geojson();
    let back = parse_geojson(&text, "out.geojson", &PropertyMap::default()).unwrap();
    assert_eq!(back, zones);
    let across = Zone::from_polygon(
        "x",
        ZoneKind::Eez,
        None,
        &[[170.0, 0.0], [-170.0, 0.0], [-170.0, 2.0]],
    )
    .unwrap();
    let text = ZoneSet::new(vec![across.clone()]).unwrap().to_geojson();
    assert_eq!(
        parse_geojson(&text, "out.geojson", &PropertyMap::default()).unwrap(),
        [across]
    );
    // The outline as given, without the noise of normalising it (12.800000000000006).
    let oresund = Zone::from_polygon(
        "Oresund",
        ZoneKind::AreaOfInterest,
        None,
        &[
            [12.4, 55.5],
            [12.8, 55.5],
            [12.8, 56.1],
            [12.4, 56.1],
            [12.4, 55.5],
        ],
    )
    .unwrap();
    let text = ZoneSet::new(vec![oresund]).unwrap().to_geojson();
    assert!(
        text.contains("[12.8,55.5]") && text.contains("[12.8,56.1]"),
        "{text}"
    );
}

#[test]
fn duplicate_names_are_refused() {
    let e = ZoneSet::new(vec![
        square("A", 0.0, 0.0, 1.0, 1.0),
        square("A", 2.0, 2.0, 3.0, 3.0),
    ])
    .unwrap_err();
    assert!(e.reason.contains("duplicate zone name \"A\""), "{e}");
    // In a file: the file and the line (WKT) where the name comes again.
    let wkt = "A\teez\t-\tPOLYGON((0 0,1 0,1 1,0 0))\n\
               B\teez\t-\tPOLYGON((0 0,1 0,1 1,0 0))\n\
               A\teez\t-\tPOLYGON((2 2,3 2,3 3,2 2))\n";
    let e = parse_wkt(wkt, "w5.wkt").unwrap_err();
    assert_eq!((e.file.as_str(), e.at), ("w5.wkt", ErrorAt::Line(3)), "{e}");
    assert!(e.reason.contains("first on line 1"), "{e}");
    // A fifth field is no part of the WKT.
    let e = parse_wkt("C\teez\t-\tPOLYGON((0 0,1 0,1 1,0 0))\textra\n", "w.wkt").unwrap_err();
    assert!(e.reason.contains("5 tab-separated fields"), "{e}");
}

#[test]
fn the_demo_set_is_labelled_and_finds_the_published_positions() {
    let set = ZoneSet::demo();
    assert!(set.zones().len() >= 20);
    for z in set.zones() {
        let note = z.note.as_deref().unwrap_or("");
        assert!(
            note.contains("approximate") || note.contains("rough"),
            "{}: {note:?}",
            z.name()
        );
    }
    // DETECTION.md positions.
    for (lat, lon, name) in [
        (9.733, 115.867, "Second Thomas Shoal area (12 nm, approx.)"),
        (9.994, 114.658, "Whitsun Reef area (5 nm, approx.)"),
        (15.183, 117.767, "Scarborough Shoal area (12 nm, approx.)"),
        (9.917, 115.533, "Mischief Reef area (12 nm, approx.)"),
        (11.05, 114.28, "Thitu area (12 nm, approx.)"),
        (11.05, 114.22, "Thitu west box (32 sq nm, approx.)"),
        (5.0, 112.5, "Luconia Shoals area (approx.)"),
        (9.55, 112.89, "Fiery Cross Reef area (12 nm, approx.)"),
        (7.5, 109.7, "Vanguard Bank area (20 nm, approx.)"),
        (5.85, 111.95, "Drilling area off Sarawak (15 nm, approx.)"),
        (26.5, 56.5, "Strait of Hormuz area (approx.)"),
        (1.22, 103.9, "Singapore Strait area (approx.)"),
        (12.6, 43.4, "Bab-el-Mandeb area (approx.)"),
    ] {
        assert!(
            names(&set, lat, lon).iter().any(|n| n == name),
            "{name} at {lat}, {lon}: {:?}",
            names(&set, lat, lon)
        );
    }
    // Disputed waters: the Second Thomas Shoal area lies in the Philippine outline too.
    assert!(names(&set, 9.733, 115.867)
        .iter()
        .any(|n| n.starts_with("Philippine EEZ")));
    // The Thitu box is 32 sq nm: 5.66 nm square.
    let (_, z) = set.by_name("Thitu west box (32 sq nm, approx.)").unwrap();
    let r = geo::BoundingRect::bounding_rect(z.geometry()).unwrap();
    let side_nm = r.height() * 60.0;
    assert!((side_nm * side_nm - 32.0).abs() < 0.1, "{side_nm}");
}

/// A scenario's `[[zone]]`, as `crates/sim` reads it (kept apart: `detect` does not depend
/// on `sim`).
#[derive(Debug, serde::Deserialize)]
struct ScenarioZone {
    name: String,
    #[serde(default = "area")]
    kind: String,
    #[serde(default)]
    polygon: Vec<[f64; 2]>,
    circle: Option<ScenarioCircle>,
    #[serde(default)]
    note: String,
}

fn area() -> String {
    "area".to_owned()
}

#[derive(Debug, serde::Deserialize)]
struct ScenarioCircle {
    center: [f64; 2],
    radius_nm: f64,
}

#[derive(Debug, serde::Deserialize)]
struct Scenario {
    #[serde(default)]
    zone: Vec<ScenarioZone>,
}

#[test]
fn scenario_zones_load_into_the_same_zone_set_as_the_demo_set() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut loaded = 0;
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let sc: Scenario = toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut zones = demo_zones();
        for z in &sc.zone {
            let kind: ZoneKind = z.kind.parse().unwrap();
            let zone = match &z.circle {
                Some(c) => Zone::circle(
                    &z.name,
                    kind,
                    None,
                    c.center[1],
                    c.center[0],
                    c.radius_nm * 1852.0,
                ),
                None => Zone::from_polygon(&z.name, kind, None, &z.polygon),
            }
            .unwrap()
            .with_note(z.note.clone());
            // Each scenario zone contains its centre (circles) or its vertex mean (these
            // outlines are convex enough for that).
            let (lat, lon) = match &z.circle {
                Some(c) => (c.center[1], c.center[0]),
                None => {
                    let n = z.polygon.len() as f64;
                    (
                        z.polygon.iter().map(|p| p[1]).sum::<f64>() / n,
                        z.polygon.iter().map(|p| p[0]).sum::<f64>() / n,
                    )
                }
            };
            assert!(zone.contains(lat, lon), "{}", z.name);
            zones.push(zone);
            loaded += 1;
        }
        let set = ZoneSet::new(zones).unwrap();
        for z in &sc.zone {
            let (idx, _) = set.by_name(&z.name).unwrap();
            let (lat, lon) = match &z.circle {
                Some(c) => (c.center[1], c.center[0]),
                None => {
                    let n = z.polygon.len() as f64;
                    (
                        z.polygon.iter().map(|p| p[1]).sum::<f64>() / n,
                        z.polygon.iter().map(|p| p[0]).sum::<f64>() / n,
                    )
                }
            };
            let mut out = Vec::new();
            set.zones_at(lat, lon, &mut out);
            assert!(out.contains(&idx), "{} in {}", z.name, file.display());
        }
    }
    assert!(loaded >= 9, "{loaded} scenario zones");
}

/// Whether geo puts the point on a boundary of the zone (where the index may differ).
fn on_boundary(z: &Zone, lat: f64, lon: f64) -> bool {
    let p = Coord { x: lon, y: lat };
    z.geometry().0.iter().any(|poly| {
        std::iter::once(poly.exterior())
            .chain(poly.interiors())
            .any(|r| r.intersects(&p))
    })
}

fn check_against_geo(set: &ZoneSet, points: &[(f64, f64)]) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    for &(lat, lon) in points {
        out.clear();
        set.zones_at(lat, lon, &mut out);
        for (i, z) in set.zones().iter().enumerate() {
            if on_boundary(z, lat, lon) {
                continue;
            }
            prop_assert_eq!(
                out.contains(&(i as u32)),
                z.contains(lat, lon),
                "zone {} at ({}, {})",
                i,
                lat,
                lon
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random overlapping stars (with a hole in some) against geo's point-in-polygon, at
    /// random points, at the vertices' own latitudes and on a lattice through the vertices.
    #[test]
    fn the_index_agrees_with_geo_off_the_boundary(
        stars in prop::collection::vec(
            (-20.0f64..20.0, -20.0f64..20.0, prop::collection::vec(0.5f64..6.0, 3..40), 0.0f64..6.3, any::<bool>()),
            1..12),
        points in prop::collection::vec((-30.0f64..30.0, -30.0f64..30.0), 200),
    ) {
        let zones: Vec<Zone> = stars.iter().enumerate().map(|(i, (cx, cy, radii, phase, holed))| {
            let mut p = star(*cx, *cy, radii, *phase);
            if *holed {
                let hole = star(*cx, *cy, &[0.1, 0.15, 0.12, 0.2], 0.1);
                p = Polygon::new(p.exterior().clone(), vec![hole.exterior().clone()]);
            }
            Zone::new(&format!("z{i}"), ZoneKind::Eez, None, MultiPolygon(vec![p])).unwrap()
        }).collect();
        let set = ZoneSet::new(zones).unwrap();
        let mut pts = points.clone();
        // Level with vertices, and exactly on vertices' longitudes: the crossing rule's ties.
        for z in set.zones() {
            for c in z.geometry().0[0].exterior().0.iter().take(8) {
                pts.push((c.y, c.x + 0.013));
                pts.push((c.y, c.x - 0.013));
                pts.push((c.y + 0.0071, c.x));
            }
        }
        check_against_geo(&set, &pts)?;
    }

    /// Zones across the antimeridian (drawn either way) against geo.
    #[test]
    fn the_index_agrees_with_geo_across_the_antimeridian(
        cx in 170.0f64..190.0, cy in -60.0f64..60.0,
        radii in prop::collection::vec(0.5f64..8.0, 3..30),
        points in prop::collection::vec((-75.0f64..75.0, 160.0f64..200.0), 300),
    ) {
        let p = star(cx, cy, &radii, 0.3);
        // Write it with longitudes wrapped into [-180, 180), as RFC 7946 files do.
        let ring: Vec<[f64; 2]> = p.exterior().0.iter().map(|c| [wrap_lon(c.x), c.y]).collect();
        let z = Zone::from_polygon("z", ZoneKind::Eez, None, &ring).unwrap();
        let set = ZoneSet::new(vec![z]).unwrap();
        let pts: Vec<(f64, f64)> = points.iter().map(|&(lat, lon)| (lat, wrap_lon(lon))).collect();
        check_against_geo(&set, &pts)?;
        // And the zone is the short way round: its centre is in, the far side of the world out.
        prop_assert!(names(&set, cy, wrap_lon(cx)) == ["z"]);
        prop_assert!(names(&set, cy, wrap_lon(cx + 180.0)).is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Bad input never panics: arbitrary text, and mangled versions of good files.
    #[test]
    fn any_text_is_loaded_or_refused_without_panicking(
        text in ".{0,200}",
        cut in 0usize..2000,
        junk in "[\\[\\]{}(),0-9.e\" -]{0,12}",
    ) {
        let _ = parse_geojson(&text, "x", &PropertyMap::default());
        let _ = parse_wkt(&text, "x");
        let good = demo_zones_text();
        let at = cut.min(good.len());
        let at = (0..=at).rev().find(|&i| good.is_char_boundary(i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &good[..at], junk, &good[at..]);
        let _ = parse_geojson(&mangled, "x", &PropertyMap::default());
        let wkt_line = format!("A\teez\tXX\tPOLYGON((0 0, {junk} 1 0, 1 1, 0 0))");
        let _ = parse_wkt(&wkt_line, "x");
    }
}

fn demo_zones_text() -> &'static str {
    include_str!("../../data/demo-zones.geojson")
}

#[test]
fn shapefile_attributes_are_read_in_the_code_page_their_cpg_names() {
    let scratch = temp_dir("shp-cpg");
    let path = scratch.path().join("latin.shp");
    let square = |x: f64| vec![(x, 0.0), (x, 1.0), (x + 1.0, 1.0), (x + 1.0, 0.0), (x, 0.0)];
    // Written as UTF-8 with ASCII stand-ins, then made Latin-1, as desktop GIS writes them.
    write_shapefile(
        &path,
        &[
            ("Xresund syd", "DK", square(10.0)),
            ("YrZ", "DK", square(12.0)),
        ],
    );
    let dbf = path.with_extension("dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    let mut swap = |from: &[u8], to: &[u8]| {
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        bytes[at..at + to.len()].copy_from_slice(to);
    };
    swap(b"Xresund", &[0xD8]); // Ø
    swap(b"YrZ", &[0xC6, b'r', 0xF8]); // Ærø
    std::fs::write(&dbf, bytes).unwrap();
    std::fs::write(path.with_extension("cpg"), "ISO-8859-1\n").unwrap();
    let zones = read_shapefile(&path, &PropertyMap::marine_regions(ZoneKind::Eez)).unwrap();
    let names: Vec<&str> = zones.iter().map(|z| z.info.name.as_str()).collect();
    assert_eq!(names, ["Øresund syd", "Ærø"]);
}
