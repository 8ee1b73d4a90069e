//! A small test world and synthetic tracks.
#![allow(dead_code)]

use std::sync::Arc;

use detect::geom::{self, KNOT_MS};
use detect::world::{World, ZoneIdx, ZoneInfo, ZoneKind};
use detect::{Config, Event, EventType, Fix, IdentityUpdate, WatchList};

/// Rectangular zones and one land rectangle. Degrees.
pub struct TestWorld {
    pub zones: Vec<(ZoneInfo, [f64; 4])>,
    pub land: Option<[f64; 4]>,
}

pub const T0: i64 = 1_776_297_600_000; // 2026-04-16T00:00:00Z

impl TestWorld {
    pub fn sea() -> TestWorld {
        TestWorld {
            zones: Vec::new(),
            land: None,
        }
    }

    /// Land: 10-11 N, 50-51 E; a port 10.9-11.1 N, 51.0-51.1 E (half on land);
    /// an EEZ 5-15 N, 55-60 E; an area 7-8 N, 57-58 E inside it.
    pub fn standard() -> TestWorld {
        let z = |name: &str, kind, owner: Option<&str>, b| {
            (
                ZoneInfo {
                    name: name.to_owned(),
                    kind,
                    owner: owner.map(str::to_owned),
                },
                b,
            )
        };
        TestWorld {
            zones: vec![
                z(
                    "Port Test",
                    ZoneKind::Port,
                    Some("OM"),
                    [10.9, 11.1, 51.0, 51.1],
                ),
                z(
                    "EEZ Test",
                    ZoneKind::Eez,
                    Some("OM"),
                    [5.0, 15.0, 55.0, 60.0],
                ),
                z(
                    "Box",
                    ZoneKind::AreaOfInterest,
                    None,
                    [7.0, 8.0, 57.0, 58.0],
                ),
            ],
            land: Some([10.0, 11.0, 50.0, 51.0]),
        }
    }

    pub fn arc(self) -> Arc<dyn World> {
        Arc::new(self)
    }
}

fn inside(b: &[f64; 4], lat: f64, lon: f64) -> bool {
    lat >= b[0] && lat <= b[1] && lon >= b[2] && lon <= b[3]
}

impl World for TestWorld {
    fn zones_at(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>) {
        for (i, (_, b)) in self.zones.iter().enumerate() {
            if inside(b, lat, lon) {
                out.push(i as ZoneIdx);
            }
        }
    }
    fn zone(&self, idx: ZoneIdx) -> &ZoneInfo {
        &self.zones[idx as usize].0
    }
    fn zone_count(&self) -> usize {
        self.zones.len()
    }
    fn distance_to_shore_m(&self, lat: f64, lon: f64) -> Option<f64> {
        let b = self.land?;
        if inside(&b, lat, lon) {
            return Some(0.0);
        }
        let clat = lat.clamp(b[0], b[1]);
        let clon = lon.clamp(b[2], b[3]);
        Some(geom::distance_m(lat, lon, clat, clon))
    }
    fn is_land(&self, lat: f64, lon: f64) -> Option<bool> {
        self.land.map(|b| inside(&b, lat, lon))
    }
    /// Land more than 0.05 degree (a land grid's cell) from its edge.
    fn is_inland(&self, lat: f64, lon: f64) -> Option<bool> {
        let m = 0.05;
        self.land
            .map(|b| inside(&[b[0] + m, b[1] - m, b[2] + m, b[3] - m], lat, lon))
    }
}

/// A fix.
pub fn fix(mmsi: u32, t_ms: i64, lat: f64, lon: f64, sog: f64, cog: f64) -> Fix {
    Fix {
        mmsi,
        time_ms: t_ms,
        lat,
        lon,
        sog_knots: Some(sog),
        cog_deg: Some(cog),
        heading_deg: None,
        nav_status: Some(0),
        segment: mmsi as u64,
        quality: 0,
        sources: ["TEST/rx1".into()].into_iter().collect(),
    }
}

/// A vessel sailing straight from (lat, lon) at `sog` knots on `cog`, reporting every
/// `every_s` from `t0` for `dur_s`.
// Every parameter of a track is one number; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn straight(
    mmsi: u32,
    t0: i64,
    lat: f64,
    lon: f64,
    sog: f64,
    cog: f64,
    dur_s: i64,
    every_s: i64,
) -> Vec<Fix> {
    let mut out = Vec::new();
    let mut t = 0;
    while t <= dur_s {
        let d = sog * KNOT_MS * t as f64;
        let (la, lo) = offset(lat, lon, d, cog);
        out.push(fix(mmsi, t0 + t * 1000, la, lo, sog, cog));
        t += every_s;
    }
    out
}

/// A point `d` metres from (lat, lon) on bearing `b` (flat approximation).
pub fn offset(lat: f64, lon: f64, d: f64, b: f64) -> (f64, f64) {
    let br = b.to_radians();
    let dn = d * br.cos();
    let de = d * br.sin();
    let m = 111_195.0;
    (lat + dn / m, lon + de / (m * lat.to_radians().cos()))
}

/// The fixes with those from `from_ms` until `until_ms` moved `d` metres on bearing `b`.
pub fn displaced(fixes: Vec<Fix>, from_ms: i64, until_ms: i64, d: f64, b: f64) -> Vec<Fix> {
    fixes
        .into_iter()
        .map(|mut f| {
            if f.time_ms >= from_ms && f.time_ms < until_ms {
                (f.lat, f.lon) = offset(f.lat, f.lon, d, b);
            }
            f
        })
        .collect()
}

/// Merges tracks in time order (stable by MMSI).
pub fn merge(tracks: Vec<Vec<Fix>>) -> Vec<Fix> {
    let mut all: Vec<Fix> = tracks.into_iter().flatten().collect();
    all.sort_by_key(|f| (f.time_ms, f.mmsi));
    all
}

/// Runs fixes (and identity updates) through a fresh engine.
pub fn run(
    world: Arc<dyn World>,
    config: Config,
    fixes: Vec<Fix>,
    ids: Vec<IdentityUpdate>,
) -> Vec<Event> {
    detect::run_batch(config, world, WatchList::default(), fixes, ids)
}

/// Events of one type.
pub fn of(events: &[Event], kind: EventType) -> Vec<&Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

/// An identity update.
pub fn ident(
    mmsi: u32,
    t_ms: i64,
    name: &str,
    flag: &str,
    ship_type: u8,
    imo: Option<u32>,
) -> IdentityUpdate {
    IdentityUpdate {
        mmsi,
        time_ms: t_ms,
        name: Some(name.to_owned()),
        callsign: None,
        imo,
        ship_type: Some(ship_type),
        flag: Some(flag.to_owned()),
        length_m: None,
        destination: None,
        sources: ["TEST/static".into()].into_iter().collect(),
    }
}

/// Asserts that the event rests on input positions (its evidence names fixes of its vessels
/// that were given) and names the feeds that delivered them.
pub fn rests_on_input(e: &Event, fixes: &[Fix], sources: &[&str]) {
    assert!(!e.evidence.is_empty(), "no evidence: {e:?}");
    for r in &e.evidence {
        assert!(
            e.vessels.iter().any(|v| v.mmsi == r.mmsi),
            "{r:?} is not of the event's vessels"
        );
        assert!(
            fixes
                .iter()
                .any(|f| f.mmsi == r.mmsi && f.time_ms == r.time_ms),
            "{r:?} is no input position"
        );
    }
    assert_eq!(e.sources, sources, "{e:?}");
}
