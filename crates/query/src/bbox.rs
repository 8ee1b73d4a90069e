//! Bounding boxes, `min_lon,min_lat,max_lon,max_lat` in degrees. `min_lon > max_lon` is a box
//! that crosses the antimeridian: `170,-10,-170,10` spans 20° of longitude around 180°.

use crate::QueryError;

/// A bounding box; `west > east` crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Western edge, degrees (-180..180).
    pub west: f64,
    /// Southern edge, degrees (-90..90).
    pub south: f64,
    /// Eastern edge, degrees (-180..180).
    pub east: f64,
    /// Northern edge, degrees (-90..90).
    pub north: f64,
}

impl BBox {
    /// Parses `min_lon,min_lat,max_lon,max_lat`; values out of range are named as such.
    pub fn parse(s: &str) -> Result<BBox, QueryError> {
        let bad = |reason: String| QueryError::BadBBox {
            input: s.to_owned(),
            reason,
        };
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let [w, so, e, n] = parts[..] else {
            return Err(bad(format!("four numbers needed, {} given", parts.len())));
        };
        let num = |name: &str, v: &str| -> Result<f64, QueryError> {
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(bad(format!("{name} `{v}` is not a number"))),
            }
        };
        let b = BBox {
            west: num("min_lon", w)?,
            south: num("min_lat", so)?,
            east: num("max_lon", e)?,
            north: num("max_lat", n)?,
        };
        for (name, v, lim) in [
            ("min_lon", b.west, 180.0),
            ("max_lon", b.east, 180.0),
            ("min_lat", b.south, 90.0),
            ("max_lat", b.north, 90.0),
        ] {
            if !(-lim..=lim).contains(&v) {
                return Err(bad(format!("{name} {v} is out of range (-{lim}..{lim})")));
            }
        }
        if b.south > b.north {
            return Err(bad(format!(
                "min_lat {} is north of max_lat {}",
                b.south, b.north
            )));
        }
        Ok(b)
    }

    /// Whether the box crosses the antimeridian.
    pub fn crosses_antimeridian(&self) -> bool {
        self.west > self.east
    }

    /// Whether a position is inside (edges included).
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let lat_in = lat >= self.south && lat <= self.north;
        let lon_in = if self.crosses_antimeridian() {
            lon >= self.west || lon <= self.east
        } else {
            lon >= self.west && lon <= self.east
        };
        lat_in && lon_in
    }

    /// The box as one or two boxes that do not cross the antimeridian, as
    /// `[min_lon, min_lat, max_lon, max_lat]` (what the store's file pruning takes).
    pub fn parts(&self) -> Vec<[f64; 4]> {
        if self.crosses_antimeridian() {
            vec![
                [self.west, self.south, 180.0, self.north],
                [-180.0, self.south, self.east, self.north],
            ]
        } else {
            vec![[self.west, self.south, self.east, self.north]]
        }
    }
}

impl std::str::FromStr for BBox {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BBox::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn antimeridian() {
        let b = BBox::parse("170,-10,-170,10").unwrap();
        assert!(b.crosses_antimeridian());
        assert!(b.contains(175.0, 0.0));
        assert!(b.contains(-175.0, 0.0));
        assert!(b.contains(180.0, 0.0) && b.contains(-180.0, 0.0));
        assert!(!b.contains(0.0, 0.0));
        assert!(!b.contains(169.9, 0.0) && !b.contains(-169.9, 0.0));
        assert!(!b.contains(175.0, 10.1));
        let plain = BBox::parse("-10,-10,10,10").unwrap();
        assert!(plain.contains(0.0, 0.0) && !plain.contains(175.0, 0.0));
    }

    #[test]
    fn errors_name_the_value() {
        let e = BBox::parse("170,-95,-170,10").unwrap_err().to_string();
        assert!(e.contains("min_lat -95 is out of range"), "{e}");
        let e = BBox::parse("190,0,200,10").unwrap_err().to_string();
        assert!(e.contains("min_lon 190 is out of range"), "{e}");
        let e = BBox::parse("0,10,1,0").unwrap_err().to_string();
        assert!(e.contains("north of"), "{e}");
        let e = BBox::parse("0,1,2").unwrap_err().to_string();
        assert!(e.contains("four numbers needed, 3 given"), "{e}");
        let e = BBox::parse("0,x,2,3").unwrap_err().to_string();
        assert!(e.contains("min_lat `x` is not a number"), "{e}");
        assert!(BBox::parse("0,NaN,2,3").is_err());
    }

    proptest! {
        /// A point is in the box exactly when it is in one of its parts.
        #[test]
        fn parts_agree(w in -180.0f64..=180.0, e in -180.0f64..=180.0, s in -90.0f64..=0.0,
                       n in 0.0f64..=90.0, lon in -180.0f64..=180.0, lat in -90.0f64..=90.0) {
            let b = BBox { west: w, south: s, east: e, north: n };
            let in_parts = b.parts().iter().any(|p| lon >= p[0] && lat >= p[1] && lon <= p[2] && lat <= p[3]);
            prop_assert_eq!(b.contains(lon, lat), in_parts);
        }

        /// A crossing box holds exactly the points a box shifted by 360° would hold.
        #[test]
        fn crossing_is_a_shift(w in 0.0f64..=180.0, width in 0.0f64..180.0, lon in -180.0f64..=180.0) {
            let e = w + width;
            prop_assume!(e > 180.0);
            let b = BBox { west: w, south: -1.0, east: e - 360.0, north: 1.0 };
            let shifted = if lon < 0.0 { lon + 360.0 } else { lon };
            prop_assert_eq!(b.contains(lon, 0.0), shifted >= w && shifted <= e);
        }
    }
}
