//! Land grid: rasterisation, distances, the antimeridian and poles, the cache file, and the
//! real Natural Earth data when it can be had (issue 18).

use geo::{LineString, MultiPolygon, Polygon};

use super::*;

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
        vec![],
    )
}

/// Metres in one degree of latitude.
const DEG_M: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

#[test]
fn an_island_is_land_and_the_sea_around_it_is_as_far_as_it_looks() {
    let grid = LandGrid::from_land(&MultiPolygon(vec![square(0.0, 0.0, 1.0, 1.0)]), 20, "test");
    assert_eq!(grid.is_land(0.5, 0.5), Some(true));
    assert_eq!(grid.distance_to_shore_m(0.5, 0.5), Some(0.0));
    assert_eq!(grid.is_land(0.5, 1.5), Some(false));
    // One degree east and north of the island: 111 km, right to a cell (5.6 km).
    for (lat, lon) in [(0.5, 2.0), (0.5, -1.0), (2.0, 0.5), (-1.0, 0.5)] {
        let d = grid.distance_to_shore_m(lat, lon).unwrap();
        assert!((d - DEG_M).abs() < DEG_M / 20.0, "({lat}, {lon}): {d}");
    }
    // Diagonal: sqrt(2) degrees from the corner.
    let d = grid.distance_to_shore_m(2.0, 2.0).unwrap();
    assert!((d - DEG_M * 2f64.sqrt()).abs() < DEG_M / 10.0, "{d}");
    // Beyond the u16 range it saturates at 3277 km.
    assert!(grid.distance_to_shore_m(0.5, 60.0).unwrap() > 3_000_000.0);
    assert_eq!(grid.is_land(f64::NAN, 0.0), None);
}

#[test]
fn inland_is_land_a_whole_cell_from_any_sea() {
    // A 1-degree island at 20 cells a degree: its outer ring of cells is coastal.
    let grid = LandGrid::from_land(&MultiPolygon(vec![square(0.0, 0.0, 1.0, 1.0)]), 20, "test");
    assert_eq!(grid.is_inland(0.5, 0.5), Some(true));
    for (lat, lon) in [(0.52, 0.02), (0.02, 0.5), (0.97, 0.5), (0.5, 0.97)] {
        assert_eq!(grid.is_land(lat, lon), Some(true), "({lat}, {lon})");
        assert_eq!(grid.is_inland(lat, lon), Some(false), "({lat}, {lon})");
    }
    // A cell in from the coast is inland.
    assert_eq!(grid.is_inland(0.5, 0.07), Some(true));
    assert_eq!(grid.is_inland(0.5, 1.5), Some(false));
    assert_eq!(grid.is_inland(f64::NAN, 0.0), None);
}

#[test]
fn land_across_the_antimeridian_and_around_a_pole() {
    // An island written the spherical way (179.5 .. -179.5), and an ice cap round the
    // south pole (a ring whose longitudes run a whole turn), as world-atlas writes them.
    let island = Polygon::new(
        LineString::from(vec![
            (179.5, -0.5),
            (-179.5, -0.5),
            (-179.5, 0.5),
            (179.5, 0.5),
            (179.5, -0.5),
        ]),
        vec![],
    );
    let cap = Polygon::new(
        LineString::from(vec![
            (-180.0, -80.0),
            (-90.0, -80.0),
            (0.0, -80.0),
            (90.0, -80.0),
            (180.0, -80.0),
        ]),
        vec![],
    );
    // And an island wholly east of 179 E: the sea west of it across 180 is near it.
    let east = square(179.0, 10.0, 179.8, 11.0);
    let grid = LandGrid::from_land(&MultiPolygon(vec![island, cap, east]), 20, "test");
    let d = grid.distance_to_shore_m(10.5, -179.6).unwrap();
    let across = 0.6 * DEG_M * 10.5f64.to_radians().cos();
    assert!((d - across).abs() < DEG_M / 20.0, "{d} vs {across}");
    assert_eq!(grid.is_land(0.0, 179.8), Some(true));
    assert_eq!(grid.is_land(0.0, -179.8), Some(true));
    assert_eq!(grid.is_land(0.0, 0.0), Some(false));
    let d = grid.distance_to_shore_m(0.0, -179.0).unwrap();
    assert!((d - DEG_M / 2.0).abs() < DEG_M / 20.0, "{d}");
    let d = grid.distance_to_shore_m(0.0, 179.0).unwrap();
    assert!((d - DEG_M / 2.0).abs() < DEG_M / 20.0, "{d}");
    assert_eq!(grid.is_land(-85.0, 10.0), Some(true));
    assert_eq!(grid.is_land(-75.0, 10.0), Some(false));
    let d = grid.distance_to_shore_m(-75.0, 10.0).unwrap();
    assert!((d - 5.0 * DEG_M).abs() < DEG_M / 10.0, "{d}");
}

#[test]
fn topojson_arcs_decode_with_quantisation_and_reversal() {
    // A unit square from two arcs, the second used reversed (!1 = -2), quantised at 0.5.
    let text = r#"{"type": "Topology",
        "transform": {"scale": [0.5, 0.5], "translate": [10, 20]},
        "objects": {"land": {"type": "GeometryCollection", "geometries": [
            {"type": "MultiPolygon", "arcs": [[[0, -2]]]}]}},
        "arcs": [[[0, 0], [2, 0], [0, 2]], [[0, 0], [0, 2], [2, 0]]]}"#;
    let mp = decode_topojson_land(text).unwrap();
    assert_eq!(mp.0.len(), 1);
    let pts: Vec<(f64, f64)> = mp.0[0].exterior().0.iter().map(|c| (c.x, c.y)).collect();
    assert_eq!(
        pts,
        [
            (10.0, 20.0),
            (11.0, 20.0),
            (11.0, 21.0),
            (10.0, 21.0),
            (10.0, 20.0)
        ]
    );
    assert!(decode_topojson_land(r#"{"type": "FeatureCollection"}"#)
        .unwrap_err()
        .contains("not a TopoJSON"));
    let bad_index = r#"{"type": "Topology", "objects": {"land": {"type": "Polygon", "arcs": [[7]]}}, "arcs": []}"#;
    assert!(decode_topojson_land(bad_index)
        .unwrap_err()
        .contains("out of range"));
}

/// A grid of 4 cells a degree with one square of land, saved in a fresh directory named
/// after `test`: (directory, removed when dropped; file, grid).
fn saved_square(
    test: &str,
    land: Polygon<f64>,
) -> (tempfile::TempDir, std::path::PathBuf, LandGrid) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("tidewatch-{test}-"))
        .tempdir()
        .unwrap();
    let grid = LandGrid::from_land(&MultiPolygon(vec![land]), 4, "test square");
    let path = dir.path().join(grid_file_name(4));
    grid.save(&path).unwrap();
    (dir, path, grid)
}

#[test]
fn the_grid_file_round_trips_and_a_truncated_one_is_refused() {
    let (scratch, path, grid) = saved_square("land", square(0.0, 0.0, 1.0, 1.0));
    let dir = scratch.path();
    let back = LandGrid::load(&path).unwrap();
    assert_eq!(back.source(), "test square");
    assert_eq!(back.all_cells(), grid.all_cells());
    assert!(back.read_error().is_none());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let e = LandGrid::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("truncated") && e.contains("delete the file"),
        "{e}"
    );
    // ensure_land_grid reads a grid that is there without fetching anything.
    grid.save(&path).unwrap();
    assert_eq!(
        ensure_land_grid(dir, 4).unwrap().all_cells(),
        grid.all_cells()
    );
}

#[test]
fn a_grid_file_is_read_a_row_at_a_time_and_an_unreadable_row_is_unknown_not_sea() {
    let (_scratch, path, grid) = saved_square("land-rows", square(10.0, 50.0, 12.0, 52.0));
    let back = LandGrid::load(&path).unwrap();
    let Cells::File(rows) = &back.dist else {
        panic!("a loaded grid reads its file")
    };
    let read = || rows.rows.iter().filter(|r| r.get().is_some()).count();
    assert_eq!(read(), 0, "nothing read before a question");
    assert_eq!(back.is_land(51.0, 11.0), Some(true));
    assert_eq!(back.distance_to_shore_m(51.0, 11.0), Some(0.0));
    assert_eq!(read(), 1, "one row for one point");
    assert_eq!(back.is_inland(51.0, 11.0), Some(true));
    assert_eq!(read(), 3, "the row and its neighbours");
    assert_eq!(
        back.distance_to_shore_m(51.0, 14.0),
        grid.distance_to_shore_m(51.0, 14.0)
    );
    // The file cut short under a running engine: rows not yet read are unknown, the reason
    // kept; rows already read still answer.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(back.is_land(80.0, 11.0), None);
    assert!(back.read_error().is_some_and(|e| e.contains("row")));
    assert_eq!(back.is_land(51.0, 11.0), Some(true));
}

/// The real grid, or `None` (with the reason printed) when it cannot be had here.
fn real_grid() -> Option<LandGrid> {
    let Some(dir) = default_cache_dir() else {
        eprintln!(
            "skipping: no cache directory for the land grid ({})",
            LandError::NoCacheDir
        );
        return None;
    };
    match ensure_land_grid(&dir, DEFAULT_CELLS_PER_DEGREE) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("skipping: land grid unavailable: {e}");
            None
        }
    }
}

#[test]
fn natural_earth_land_and_sea_at_known_places() {
    let Some(grid) = real_grid() else { return };
    // Singapore island, and the Singapore Strait's main channel south of it.
    assert_eq!(grid.is_land(1.35, 103.82), Some(true), "Singapore island");
    assert_eq!(grid.is_land(1.20, 103.90), Some(false), "Singapore Strait");
    let d = grid.distance_to_shore_m(1.20, 103.90).unwrap();
    assert!(d < 15_000.0, "Singapore Strait is narrow: {d} m");
    // The Omani desert (Rub' al Khali edge) and the Wahiba Sands.
    assert_eq!(grid.is_land(19.5, 55.0), Some(true), "Rub' al Khali, Oman");
    assert_eq!(grid.is_land(21.5, 58.7), Some(true), "Wahiba Sands, Oman");
    // Mid-Indian Ocean: more than 500 km from any shore.
    let d = grid.distance_to_shore_m(-20.0, 80.0).unwrap();
    assert!(d > 500_000.0, "mid-Indian Ocean: {d} m");
    assert_eq!(grid.is_land(-20.0, 80.0), Some(false));
    // Point Nemo, the ocean's pole of inaccessibility: about 2690 km from the nearest land.
    let d = grid.distance_to_shore_m(-48.88, -123.39).unwrap();
    assert!((2_500_000.0..2_900_000.0).contains(&d), "Point Nemo: {d} m");
    // Whitsun Reef (a reef, not land at 1:10m) is at sea.
    assert_eq!(grid.is_land(9.994, 114.658), Some(false), "Whitsun Reef");
}
