//! Positions on a spherical Earth: great-circle distance, bearing and destination (georust
//! `geo`'s haversine metric space), unit vectors for fast "within range" tests, and a local
//! flat frame for station keeping over short distances.

use geo::{Bearing, Destination, Distance, Haversine, Point};

/// Mean Earth radius used by `geo::Haversine` (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// One nautical mile in metres.
pub const NM_M: f64 = 1852.0;
/// Metres per degree of latitude on the sphere.
pub const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
/// One knot in metres per second.
pub const KNOT_MS: f64 = 1852.0 / 3600.0;

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east, in [-180, 180).
    pub lon: f64,
}

impl LatLon {
    /// From `[lon, lat]` (GeoJSON order, as in scenario files).
    pub fn from_lon_lat(p: [f64; 2]) -> LatLon {
        LatLon {
            lat: p[1],
            lon: p[0],
        }
    }

    fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    /// Great-circle distance in metres.
    pub fn distance_m(self, other: LatLon) -> f64 {
        Haversine.distance(self.point(), other.point())
    }

    /// Initial great-circle bearing to `other`, degrees in [0, 360).
    pub fn bearing_deg(self, other: LatLon) -> f64 {
        Haversine
            .bearing(self.point(), other.point())
            .rem_euclid(360.0)
    }

    /// The point `distance_m` away along the great circle starting at `bearing_deg`.
    pub fn destination(self, bearing_deg: f64, distance_m: f64) -> LatLon {
        let p = Haversine.destination(self.point(), bearing_deg, distance_m);
        LatLon {
            lat: p.y(),
            lon: wrap_lon(p.x()),
        }
    }

    /// The point `east_m` east and `north_m` north (flat approximation, for metres to a few
    /// kilometres).
    pub fn offset_m(self, east_m: f64, north_m: f64) -> LatLon {
        self.offset_m_at(east_m, north_m, cos_deg(self.lat))
    }

    /// [`LatLon::offset_m`] with the cosine of the latitude already known.
    #[inline]
    pub fn offset_m_at(self, east_m: f64, north_m: f64, cos_lat: f64) -> LatLon {
        let lat = self.lat + north_m / M_PER_DEG;
        let lon = self.lon + east_m / (M_PER_DEG * cos_lat.max(1e-6));
        LatLon {
            lat,
            lon: wrap_lon(lon),
        }
    }

    /// Moves `distance_m` along `bearing_deg`: flat steps up to 2 km (a vessel's step between
    /// reports; its course toward the next waypoint is recomputed every step, so tracks follow
    /// great circles), the great circle beyond.
    pub fn step(self, bearing_deg: f64, distance_m: f64) -> LatLon {
        self.step_at(bearing_deg, distance_m, cos_deg(self.lat))
    }

    /// [`LatLon::step`] with the cosine of the latitude already known.
    #[inline]
    pub fn step_at(self, bearing_deg: f64, distance_m: f64, cos_lat: f64) -> LatLon {
        if distance_m > 2_000.0 {
            return self.destination(bearing_deg, distance_m);
        }
        let (s, c) = sin_cos_deg(bearing_deg);
        self.offset_m_at(distance_m * s, distance_m * c, cos_lat)
    }

    /// Unit vector from the Earth's centre.
    pub fn unit(self) -> [f64; 3] {
        let (sl, cl) = sin_cos_deg(self.lat);
        let (so, co) = sin_cos_deg(self.lon);
        [cl * co, cl * so, sl]
    }

    /// East and north offset of `other` from `self`, metres (flat approximation, fine within
    /// a few tens of kilometres).
    pub fn enu_to(self, other: LatLon) -> (f64, f64) {
        let k = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        let dlon = wrap_lon(other.lon - self.lon);
        (dlon * k * cos_deg(self.lat), (other.lat - self.lat) * k)
    }
}

/// Longitude wrapped into [-180, 180).
#[inline]
pub fn wrap_lon(lon: f64) -> f64 {
    wrap360(lon + 180.0) - 180.0
}

/// An angle in degrees wrapped into [0, 360) (a branch for the usual case of being at most one
/// turn off; `rem_euclid` otherwise).
#[inline]
pub fn wrap360(a: f64) -> f64 {
    if (0.0..360.0).contains(&a) {
        a
    } else if (-360.0..0.0).contains(&a) {
        a + 360.0
    } else if (360.0..720.0).contains(&a) {
        a - 360.0
    } else {
        a.rem_euclid(360.0)
    }
}

/// `a - b` as an angle in (-180, 180].
#[inline]
pub fn angle_diff(a: f64, b: f64) -> f64 {
    let d = wrap360(a - b);
    if d > 180.0 {
        d - 360.0
    } else {
        d
    }
}

/// Sine and cosine of an angle in degrees. The angle is reduced to within 45° of a multiple
/// of 90° in degrees, then Taylor polynomials to the 16th power (error under 1e-16 on
/// [-π/4, π/4]) give both. Plain arithmetic: the same bits on every platform (libm's results
/// differ between versions, and the simulator promises the same output for the same seed),
/// and a fraction of libm's cost on the simulator's hottest path.
#[inline]
pub fn sin_cos_deg(deg: f64) -> (f64, f64) {
    if deg.is_nan() || deg.abs() >= 1e12 {
        // Not finite, or too large to reduce exactly this way.
        return deg.to_radians().sin_cos();
    }
    // The nearest quadrant by truncation (`round` is a library call on baseline x86-64).
    let qi = (deg * (1.0 / 90.0) + 0.5f64.copysign(deg)) as i64;
    let r = (deg - qi as f64 * 90.0).to_radians();
    let r2 = r * r;
    // 1/n! for the terms.
    const S: [f64; 7] = [
        -1.0 / 6.0,
        1.0 / 120.0,
        -1.0 / 5_040.0,
        1.0 / 362_880.0,
        -1.0 / 39_916_800.0,
        1.0 / 6_227_020_800.0,
        -1.0 / 1_307_674_368_000.0,
    ];
    const C: [f64; 8] = [
        -1.0 / 2.0,
        1.0 / 24.0,
        -1.0 / 720.0,
        1.0 / 40_320.0,
        -1.0 / 3_628_800.0,
        1.0 / 479_001_600.0,
        -1.0 / 87_178_291_200.0,
        1.0 / 20_922_789_888_000.0,
    ];
    let ps = S.iter().rev().fold(0.0, |acc, &k| k + r2 * acc);
    let pc = C.iter().rev().fold(0.0, |acc, &k| k + r2 * acc);
    let (s, c) = (r + r * r2 * ps, 1.0 + r2 * pc);
    match qi & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// Cosine of an angle in degrees (see [`sin_cos_deg`]).
#[inline]
pub fn cos_deg(deg: f64) -> f64 {
    sin_cos_deg(deg).1
}

/// Dot product of unit vectors (cosine of the central angle).
#[inline]
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Cosine of the central angle subtended by `distance_m` on the surface.
pub fn cos_of_distance(distance_m: f64) -> f64 {
    (distance_m / EARTH_RADIUS_M).cos()
}

/// Distance in metres of a central angle given by its cosine.
pub fn distance_of_cos(c: f64) -> f64 {
    c.clamp(-1.0, 1.0).acos() * EARTH_RADIUS_M
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_and_back() {
        let a = LatLon {
            lat: 1.2,
            lon: 103.8,
        };
        let b = a.destination(45.0, 10_000.0);
        assert!((a.distance_m(b) - 10_000.0).abs() < 0.01);
        assert!((a.bearing_deg(b) - 45.0).abs() < 0.01);
        let (e, n) = a.enu_to(b);
        assert!((e.hypot(n) - 10_000.0).abs() < 5.0);
        assert!((distance_of_cos(dot(a.unit(), b.unit())) - 10_000.0).abs() < 0.5);
        let c = a.step(45.0, 1_000.0);
        assert!((a.distance_m(c) - 1_000.0).abs() < 0.05);
        assert!((a.bearing_deg(c) - 45.0).abs() < 0.01);
    }

    proptest::proptest! {
        /// The polynomial sine and cosine agree with libm's to a few units in the last place
        /// (libm given the angle reduced to a turn exactly first: radians of a large angle in
        /// degrees are rounded).
        #[test]
        fn sin_cos_deg_is_sin_cos(deg in -1e6f64..1e6) {
            let (s, c) = sin_cos_deg(deg);
            let (ws, wc) = deg.rem_euclid(360.0).to_radians().sin_cos();
            proptest::prop_assert!((s - ws).abs() < 1e-15 && (c - wc).abs() < 1e-15, "{deg}: {s} {ws} {c} {wc}");
        }
    }

    #[test]
    fn sin_cos_deg_at_the_quadrants() {
        for k in -8..=8 {
            let (s, c) = sin_cos_deg(45.0 * k as f64);
            let (ws, wc) = (45.0f64 * k as f64).to_radians().sin_cos();
            assert!((s - ws).abs() < 1e-15 && (c - wc).abs() < 1e-15, "{k}");
        }
        assert_eq!(sin_cos_deg(90.0), (1.0, 0.0));
        assert!(sin_cos_deg(f64::NAN).0.is_nan());
    }

    #[test]
    fn angles_wrap() {
        assert_eq!(angle_diff(10.0, 350.0), 20.0);
        assert_eq!(angle_diff(350.0, 10.0), -20.0);
        assert_eq!(angle_diff(180.0, 0.0), 180.0);
        assert_eq!(wrap_lon(181.0), -179.0);
    }
}
