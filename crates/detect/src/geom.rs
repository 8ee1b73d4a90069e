//! Small spherical geometry and the spatial grid the pairwise detectors bucket vessels in.

/// Mean Earth radius, metres (IUGG).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// One nautical mile, metres.
pub const NM_M: f64 = 1_852.0;
/// One knot, metres per second.
pub const KNOT_MS: f64 = NM_M / 3_600.0;
/// Metres per degree of latitude (and of longitude at the equator) on the mean sphere.
pub const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// Taylor coefficients of the cosine, `(-1)^k / (2k)!` for k = 0..=10.
const COS_TAYLOR: [f64; 11] = [
    1.0,
    -0.5,
    0.041666666666666664,
    -0.001388888888888889,
    2.48015873015873e-05,
    -2.755731922398589e-07,
    2.08767569878681e-09,
    -1.1470745597729725e-11,
    4.779477332387385e-14,
    -1.5619206968586225e-16,
    4.110317623312165e-19,
];

/// Cosine of a latitude in degrees. Within [-90, 90] a polynomial (the Taylor series to the
/// 20th power, whose next term is under 2e-17 there): a few multiplications where the
/// library's cosine was 7 % of detection's time on the simulated feed; the library outside.
#[inline]
pub fn cos_lat(lat_deg: f64) -> f64 {
    if !(-90.0..=90.0).contains(&lat_deg) {
        return lat_deg.to_radians().cos();
    }
    let r = lat_deg.to_radians();
    let r2 = r * r;
    COS_TAYLOR.iter().rev().fold(0.0, |acc, &c| acc * r2 + c)
}

/// Great-circle distance, metres (haversine). Points within 0.1 degree of each other in
/// latitude and longitude (about 11 km; consecutive reports, the box of a manoeuvre) take the
/// flat-earth formula at their mean latitude instead: one cosine instead of five
/// transcendental calls, and within 5 mm of the haversine there at any latitude up to 85
/// degrees (a quarter of detection's time went to trigonometry).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (dlat, dlon) = (lat2 - lat1, lon2 - lon1);
    if dlat.abs() < 0.1 && dlon.abs() < 0.1 && lat1.abs() < 85.0 {
        let east = dlon * cos_lat((lat1 + lat2) / 2.0);
        return M_PER_DEG * (east * east + dlat * dlat).sqrt();
    }
    haversine_m(lat1, lon1, lat2, lon2)
}

/// Great-circle distance, metres, by the haversine formula at any separation.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// Initial bearing from the first point to the second, degrees in [0, 360).
pub fn bearing_deg(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dl = (lon2 - lon1).to_radians();
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    y.atan2(x).to_degrees().rem_euclid(360.0)
}

/// Smallest angle between two directions, degrees in [0, 180].
pub fn angle_diff_deg(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    if d > 180.0 {
        360.0 - d
    } else {
        d
    }
}

/// Signed turn from direction `a` to direction `b`, degrees in (-180, 180] (positive = right).
pub fn turn_deg(a: f64, b: f64) -> f64 {
    let d = (b - a).rem_euclid(360.0);
    if d > 180.0 {
        d - 360.0
    } else {
        d
    }
}

/// East and north offsets of a point from an origin, metres (local flat approximation, good
/// to a fraction of a percent over tens of kilometres).
pub fn enu_m(lat0: f64, lon0: f64, lat: f64, lon: f64) -> (f64, f64) {
    let mut dlon = lon - lon0;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let east = dlon * M_PER_DEG * cos_lat((lat0 + lat) / 2.0);
    let north = (lat - lat0) * M_PER_DEG;
    (east, north)
}

/// Velocity (east, north) in metres per second from speed and course.
pub fn velocity_ms(sog_knots: f64, cog_deg: f64) -> (f64, f64) {
    let v = sog_knots * KNOT_MS;
    let c = cog_deg.to_radians();
    (v * c.sin(), v * c.cos())
}

/// Closest point of approach of two vessels moving straight: relative position `(dx, dy)` of
/// the second from the first (metres) and relative velocity `(vx, vy)` (m/s). Returns
/// `(cpa_m, tcpa_s)`; `tcpa_s` is negative when the closest point is behind.
pub fn cpa(dx: f64, dy: f64, vx: f64, vy: f64) -> (f64, f64) {
    let v2 = vx * vx + vy * vy;
    if v2 < 1e-9 {
        return (dx.hypot(dy), 0.0);
    }
    let t = -(dx * vx + dy * vy) / v2;
    ((dx + vx * t).hypot(dy + vy * t), t)
}

/// `lon.rem_euclid(360.0)`, bit for bit, without the library's remainder for longitudes
/// already within one turn of [0, 360) (all of them in practice): cells are found for every
/// fix and every tick sample, and `fmod` was 1 % of detection's time on a real-mix replay.
pub fn lon_360(lon: f64) -> f64 {
    if (0.0..360.0).contains(&lon) {
        lon
    } else if lon > -360.0 && lon < 0.0 {
        // `rem_euclid` adds the divisor to a negative remainder; the remainder of a value
        // within one divisor is the value itself.
        lon + 360.0
    } else {
        lon.rem_euclid(360.0)
    }
}

/// A square-ish grid of cells `cell_m` on a side, for bucketing vessels so that only
/// neighbouring cells are compared.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    cell_deg: f64,
}

/// A grid cell: (row, column).
pub type Cell = (i32, i32);

impl Grid {
    /// A grid whose cells are at least `cell_m` on a side.
    pub fn new(cell_m: f64) -> Grid {
        Grid {
            cell_deg: (cell_m.max(1.0) / M_PER_DEG).min(10.0),
        }
    }

    /// The cell of a point.
    pub fn cell(&self, lat: f64, lon: f64) -> Cell {
        (
            (lat / self.cell_deg).floor() as i32,
            (lon_360(lon) / self.cell_deg).floor() as i32,
        )
    }

    /// How many columns either side must be searched at a latitude so that every point within
    /// `cell_m` is found (columns narrow toward the poles).
    pub fn col_reach(&self, lat: f64) -> i32 {
        let c = cos_lat(lat.abs().min(89.0));
        ((1.0 / c).ceil() as i32).clamp(1, 60)
    }

    /// The cells holding every point within `radius_m` of a point (no more than the box
    /// around that circle touches: usually 4 to 6 cells for a radius of one cell, where
    /// [`Grid::neighbours`] gives 21 at low latitudes); columns wrap at 360 degrees.
    pub fn around(&self, lat: f64, lon: f64, radius_m: f64, out: &mut Vec<Cell>) {
        out.clear();
        let dlat = radius_m.max(0.0) / M_PER_DEG;
        let far_lat = (lat.abs() + dlat).min(89.0);
        let dlon = (dlat / cos_lat(far_lat)).min(180.0);
        let cols = ((360.0 / self.cell_deg).ceil() as i32).max(1);
        let (r0, r1) = (
            ((lat - dlat) / self.cell_deg).floor() as i32,
            ((lat + dlat) / self.cell_deg).floor() as i32,
        );
        let lon = lon_360(lon);
        let (c0, c1) = (
            ((lon - dlon) / self.cell_deg).floor() as i32,
            ((lon + dlon) / self.cell_deg).floor() as i32,
        );
        let c1 = c1.min(c0 + cols - 1);
        for r in r0..=r1 {
            for c in c0..=c1 {
                out.push((r, c.rem_euclid(cols)));
            }
        }
    }

    /// The cells to search around a cell (including itself); columns wrap at 360 degrees.
    pub fn neighbours(&self, cell: Cell, lat: f64, out: &mut Vec<Cell>) {
        out.clear();
        let reach = self.col_reach(lat) + 1;
        let cols = (360.0 / self.cell_deg).ceil() as i32;
        for dr in -1..=1 {
            for dc in -reach..=reach {
                let c = (cell.1 + dc).rem_euclid(cols.max(1));
                out.push((cell.0 + dr, c));
            }
        }
        // Rows and columns come in order, each once, unless the columns wrapped at 360
        // degrees: only then are they sorted and repeats dropped.
        if cell.1 - reach < 0 || cell.1 + reach >= cols {
            out.sort_unstable();
            out.dedup();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lon_360_is_the_euclidean_remainder_bit_for_bit() {
        let edges = [
            0.0,
            -0.0,
            360.0,
            -360.0,
            359.999_999_999_999_94,
            -1e-300,
            -f64::MIN_POSITIVE,
            180.0,
            -180.0,
            720.5,
            -725.25,
            1e300,
            f64::INFINITY,
        ];
        let mut x = -400.0;
        let mut values = edges.to_vec();
        while x < 400.0 {
            values.push(x);
            x += 0.123_456_789;
        }
        for lon in values {
            assert_eq!(
                lon_360(lon).to_bits(),
                lon.rem_euclid(360.0).to_bits(),
                "{lon}"
            );
        }
        assert!(lon_360(f64::NAN).is_nan());
    }

    #[test]
    fn cos_lat_matches_the_library_cosine() {
        let mut worst: f64 = 0.0;
        for k in -900_000..=900_000 {
            let lat = k as f64 / 10_000.0 + 0.000_037;
            let lat = lat.clamp(-90.0, 90.0);
            let (a, b) = (cos_lat(lat), lat.to_radians().cos());
            worst = worst.max((a - b).abs());
        }
        assert!(worst < 1e-15, "{worst}");
        assert_eq!(cos_lat(0.0), 1.0);
        assert_eq!(cos_lat(120.0), 120f64.to_radians().cos());
    }

    #[test]
    fn one_minute_of_latitude_is_one_nautical_mile() {
        let d = distance_m(10.0, 115.0, 10.0 + 1.0 / 60.0, 115.0);
        assert!((d - NM_M).abs() < 5.0, "{d}");
    }

    #[test]
    fn short_distances_agree_with_the_haversine_within_5_mm() {
        // A grid of origins up to 85 degrees and offsets up to 0.1 degree each way.
        for lat_step in 0..=34 {
            let lat = -85.0 + lat_step as f64 * 5.0;
            for (dlat, dlon) in [(0.099, 0.0), (0.0, 0.099), (-0.07, 0.09), (0.0004, -0.0003)] {
                let (a, b) = (lat.clamp(-84.9, 84.9), 120.0);
                let fast = distance_m(a, b, a + dlat, b + dlon);
                let exact = haversine_m(a, b, a + dlat, b + dlon);
                assert!(
                    (fast - exact).abs() < 0.005,
                    "{a} {dlat} {dlon}: {fast} vs {exact}"
                );
            }
        }
        // Far apart and across the antimeridian: the haversine itself.
        assert_eq!(
            distance_m(10.0, 179.95, 10.0, -179.95),
            haversine_m(10.0, 179.95, 10.0, -179.95)
        );
    }

    #[test]
    fn around_finds_every_cell_within_the_radius_and_few_others() {
        let g = Grid::new(1_000.0);
        let mut cells = Vec::new();
        for (lat, lon) in [
            (10.0, 115.0),
            (60.0, 20.0),
            (-45.3, 179.999),
            (0.0, -0.0001),
        ] {
            g.around(lat, lon, 1_000.0, &mut cells);
            // Fewer than the 3 rows x 7 columns of `neighbours` (9 at most near the equator).
            let most = if lat.abs() < 30.0 { 9 } else { 15 };
            assert!(cells.len() <= most, "{lat} {lon}: {}", cells.len());
            // Points on a circle of 999 m all lie in the cells given.
            for k in 0..72 {
                let b = (k as f64 * 5.0).to_radians();
                let (n, e) = (999.0 * b.cos(), 999.0 * b.sin());
                let plat = lat + n / M_PER_DEG;
                let plon = lon + e / (M_PER_DEG * lat.to_radians().cos());
                assert!(
                    cells.contains(&g.cell(plat, plon)),
                    "{lat} {lon} bearing {k}"
                );
            }
        }
    }

    #[test]
    fn head_on_vessels_meet_at_zero_cpa_halfway() {
        // 2 km apart, closing at 2 m/s each.
        let (c, t) = cpa(0.0, 2_000.0, 0.0, -4.0);
        assert!(c < 1e-6 && (t - 500.0).abs() < 1e-6);
    }

    #[test]
    fn neighbours_find_points_within_a_cell_across_columns() {
        let g = Grid::new(1_000.0);
        let (lat, lon) = (60.0, 20.0);
        let mut n = Vec::new();
        g.neighbours(g.cell(lat, lon), lat, &mut n);
        // A point 990 m east is in one of the searched cells.
        let lon2 = lon + 990.0 / (M_PER_DEG * lat.to_radians().cos());
        assert!(n.contains(&g.cell(lat, lon2)));
    }

    proptest::proptest! {
        /// The cells come sorted and each once, at any latitude and next to the prime meridian
        /// (where the columns wrap from 360 degrees to 0), as a sort of them gives them.
        #[test]
        fn neighbours_are_sorted_and_unique(
            cell_m in 100.0f64..200_000.0,
            lat in -89.9f64..89.9,
            lon in proptest::prop_oneof![-180.0f64..180.0, -2.0f64..2.0],
        ) {
            let g = Grid::new(cell_m);
            let cell = g.cell(lat, lon);
            let mut n = Vec::new();
            g.neighbours(cell, lat, &mut n);
            let mut want = n.clone();
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(n, want);
        }
    }
}
