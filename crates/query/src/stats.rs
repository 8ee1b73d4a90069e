//! Zone presence statistics (`tidewatch stats`, `GET /api/stats/presence`): per UTC day the
//! distinct vessels with a position inside a zone; over the period distinct vessels and
//! vessel-days, by flag and by ship type.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use store::Query;

use crate::{QueryError, Reader, FLAG_BAD_POSITION, FLAG_SUSPECT_POSITION};

/// Presence in a zone: per UTC day, the distinct vessels with a position inside; over the
/// period, distinct vessels and vessel-days, by flag and by ship type.
#[derive(Debug, Default, PartialEq)]
pub struct Presence {
    /// Per day (YYYY-MM-DD): distinct vessels.
    pub days: BTreeMap<String, u64>,
    /// Distinct vessels over the period.
    pub vessels: u64,
    /// Vessel-days over the period.
    pub vessel_days: u64,
    /// By flag (ISO 3166 alpha-2, or `unknown`): (vessels, vessel-days).
    pub by_flag: BTreeMap<String, (u64, u64)>,
    /// By ship type (AIS code, or `unknown`): (vessels, vessel-days).
    pub by_ship_type: BTreeMap<String, (u64, u64)>,
}

impl Presence {
    /// The JSON `tidewatch stats --json` prints: `{"zone","vessels","vessel_days","days",
    /// "by_flag","by_ship_type"}`, the last two keyed by flag or type with
    /// `{"vessels","vessel_days"}`.
    pub fn to_json(&self, zone: &str) -> Value {
        let pairs = |m: &BTreeMap<String, (u64, u64)>| -> Value {
            m.iter()
                .map(|(k, (v, d))| (k.clone(), json!({"vessels": v, "vessel_days": d})))
                .collect::<Map<_, _>>()
                .into()
        };
        json!({
            "zone": zone,
            "vessels": self.vessels,
            "vessel_days": self.vessel_days,
            "days": self.days,
            "by_flag": pairs(&self.by_flag),
            "by_ship_type": pairs(&self.by_ship_type),
        })
    }
}

/// The zone's bounding box `[min_lon, min_lat, max_lon, max_lat]` (for the store's pruning).
/// A zone across the antimeridian (written with longitudes beyond 180) takes every longitude:
/// stored positions are within -180..180, and the part past 180 is at negative longitudes.
fn bbox_of(z: &detect::zones::Zone) -> Option<[f64; 4]> {
    let mut b = bounds_as_written(z)?;
    if b[0] < -180.0 || b[2] > 180.0 {
        b[0] = -180.0;
        b[2] = 180.0;
    }
    Some(b)
}

/// The zone's bounds as its coordinates are written.
fn bounds_as_written(z: &detect::zones::Zone) -> Option<[f64; 4]> {
    let mut b: Option<[f64; 4]> = None;
    for poly in &z.geometry().0 {
        for c in poly.exterior().coords() {
            let v = b.get_or_insert([c.x, c.y, c.x, c.y]);
            v[0] = v[0].min(c.x);
            v[1] = v[1].min(c.y);
            v[2] = v[2].max(c.x);
            v[3] = v[3].max(c.y);
        }
    }
    b
}

impl Reader {
    /// [`Presence`] in a zone over `[from_ms, to_ms)` (committed positions, not flagged bad
    /// or suspect).
    pub fn presence(
        &self,
        zone: &detect::zones::Zone,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Presence, QueryError> {
        let reg = &self.reg;
        let ship_type = |mmsi: u32| reg.vessel(mmsi).ok().flatten().and_then(|v| v.ship_type);
        self.presence_where(zone, from_ms, to_ms, &|_| true, &ship_type)
    }

    /// [`Reader::presence`] counted from the rows `keep` takes, with ship types from
    /// `ship_type` (partner sharing, issue 21: a principal's statistics come from the rows and
    /// identity values it may see).
    pub fn presence_where(
        &self,
        zone: &detect::zones::Zone,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        keep: &dyn Fn(&store::PositionRow) -> bool,
        ship_type: &dyn Fn(u32) -> Option<u8>,
    ) -> Result<Presence, QueryError> {
        let rows = self.store.query(&Query {
            from_ms,
            to_ms,
            bbox: bbox_of(zone),
            committed_runs: Some(self.reg.committed_runs()?),
            ..Query::default()
        })?;
        let mut seen: BTreeSet<(i64, u32)> = BTreeSet::new();
        for r in &rows {
            if r.flags & (FLAG_BAD_POSITION | FLAG_SUSPECT_POSITION) == 0
                && zone.contains(r.lat, r.lon)
                && keep(r)
            {
                seen.insert((r.time_ms.div_euclid(86_400_000), r.mmsi));
            }
        }
        let mut p = Presence::default();
        let mut vessels: BTreeMap<u32, u64> = BTreeMap::new();
        for &(day, mmsi) in &seen {
            let d = crate::iso8601_ms(day * 86_400_000);
            *p.days.entry(d[..10].to_owned()).or_default() += 1;
            *vessels.entry(mmsi).or_default() += 1;
        }
        p.vessels = vessels.len() as u64;
        p.vessel_days = seen.len() as u64;
        for (&mmsi, &days) in &vessels {
            let flag = ais::Mmsi(mmsi)
                .flag()
                .map_or_else(|| "unknown".to_owned(), |f| f.iso2.to_owned());
            let st = ship_type(mmsi).map_or_else(|| "unknown".to_owned(), |t| t.to_string());
            for (map, key) in [(&mut p.by_flag, flag), (&mut p.by_ship_type, st)] {
                let e = map.entry(key).or_default();
                e.0 += 1;
                e.1 += days;
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zone_across_the_antimeridian_prunes_no_longitude() {
        let wkt = "Kermadec\tarea_of_interest\tNZ\tPOLYGON((175 -30, 185 -30, 185 -25, 175 -25, 175 -30))\n\
                   Inside\tarea_of_interest\tNZ\tPOLYGON((170 -30, 175 -30, 175 -25, 170 -25, 170 -30))\n";
        let zones = detect::zones::import::parse_wkt(wkt, "z.wkt").unwrap();
        assert_eq!(
            super::bbox_of(&zones[0]),
            Some([-180.0, -30.0, 180.0, -25.0])
        );
        assert_eq!(
            super::bbox_of(&zones[1]),
            Some([170.0, -30.0, 175.0, -25.0])
        );
        // The zone holds its part west of 180 at negative longitudes.
        assert!(zones[0].contains(-27.0, -176.4));
    }
}
