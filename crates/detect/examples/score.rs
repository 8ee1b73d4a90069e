//! Scores the detectors against a simulator scenario's ground truth.
//!
//! ```sh
//! tidewatch simulate scs-greyzone --out s.nmea --truth truth.jsonl
//! tidewatch decode s.nmea --format jsonl > s.jsonl
//! cargo run --release -p tidewatch-detect --example score -- s.jsonl truth.jsonl \
//!     crates/sim/scenarios/scs-greyzone.toml crates/sim/data/lanes.toml [config.toml] [watch.csv]
//! ```
//!
//! Positions come from the decoded messages (copies from several receivers of one report, same
//! MMSI, second and position, are kept once; no segmenter: every fix is segment 0), zones from
//! the scenario file (circles and polygons) and the ports of the lanes file (circles of at least
//! 3 km, GFW's entry radius). No land mask: `spoof_land` cannot be found this way. Events are
//! scored with [`detect::score`], as `tidewatch eval` scores the events of a real ingest.

use std::io::BufRead;
use std::sync::Arc;

use detect::geom;
use detect::score;
use detect::world::{World, ZoneIdx, ZoneInfo, ZoneKind};
use detect::{Collector, Config, Engine, Fix, IdentityUpdate, WatchList};

enum Shape {
    Circle(f64, f64, f64),
    Poly(Vec<(f64, f64)>),
}

struct SimWorld {
    zones: Vec<(ZoneInfo, Shape)>,
}

impl World for SimWorld {
    fn zones_at(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>) {
        for (i, (_, s)) in self.zones.iter().enumerate() {
            let inside = match s {
                Shape::Circle(clat, clon, r) => geom::distance_m(lat, lon, *clat, *clon) <= *r,
                Shape::Poly(p) => {
                    let mut c = false;
                    let n = p.len();
                    for k in 0..n {
                        let (x1, y1) = p[k];
                        let (x2, y2) = p[(k + 1) % n];
                        if (y1 > lat) != (y2 > lat) && lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1
                        {
                            c = !c;
                        }
                    }
                    c
                }
            };
            if inside {
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
    fn distance_to_shore_m(&self, _: f64, _: f64) -> Option<f64> {
        None
    }
    fn is_land(&self, _: f64, _: f64) -> Option<bool> {
        None
    }
}

fn world(scenario: &str, lanes: &str) -> SimWorld {
    let mut zones = Vec::new();
    let sc: toml::Value = toml::from_str(&std::fs::read_to_string(scenario).unwrap()).unwrap();
    for z in sc
        .get("zone")
        .and_then(|z| z.as_array())
        .into_iter()
        .flatten()
    {
        let name = z["name"].as_str().unwrap().to_owned();
        let kind = match z.get("kind").and_then(|k| k.as_str()) {
            Some("eez") => ZoneKind::Eez,
            Some("port") => ZoneKind::Port,
            _ => ZoneKind::AreaOfInterest,
        };
        let shape = if let Some(c) = z.get("circle") {
            let ctr = c["center"].as_array().unwrap();
            Shape::Circle(
                ctr[1].as_float().unwrap(),
                ctr[0].as_float().unwrap(),
                c["radius_nm"]
                    .as_float()
                    .or(c["radius_nm"].as_integer().map(|x| x as f64))
                    .unwrap()
                    * 1852.0,
            )
        } else {
            let p = z["polygon"].as_array().unwrap();
            Shape::Poly(
                p.iter()
                    .map(|q| {
                        let q = q.as_array().unwrap();
                        (q[0].as_float().unwrap(), q[1].as_float().unwrap())
                    })
                    .collect(),
            )
        };
        zones.push((
            ZoneInfo {
                name,
                kind,
                owner: None,
            },
            shape,
        ));
    }
    let ln: toml::Value = toml::from_str(&std::fs::read_to_string(lanes).unwrap()).unwrap();
    for p in ln
        .get("port")
        .and_then(|z| z.as_array())
        .into_iter()
        .flatten()
    {
        let a = p["anchorage"].as_array().unwrap();
        let r = p["radius_nm"].as_float().unwrap_or(1.0) * 1852.0;
        zones.push((
            ZoneInfo {
                name: p["code"].as_str().unwrap().to_owned(),
                kind: ZoneKind::Port,
                owner: None,
            },
            Shape::Circle(
                a[1].as_float().unwrap(),
                a[0].as_float().unwrap(),
                r.max(3000.0),
            ),
        ));
    }
    SimWorld { zones }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (msgs, truth_file, scenario, lanes) = (&args[1], &args[2], &args[3], &args[4]);
    let config = args
        .get(5)
        .filter(|s| !s.is_empty())
        .map(|p| Config::from_file(std::path::Path::new(p)).unwrap())
        .unwrap_or_default();
    let watch = args
        .get(6)
        .map(|p| WatchList::from_file(std::path::Path::new(p)).unwrap())
        .unwrap_or_default();
    let w = Arc::new(world(scenario, lanes));
    // Read messages.
    let mut fixes: Vec<Fix> = Vec::new();
    let mut ids: Vec<IdentityUpdate> = Vec::new();
    let rd = std::io::BufReader::new(std::fs::File::open(msgs).unwrap());
    for line in rd.lines() {
        let line = line.unwrap();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let ty = v["type"].as_u64().unwrap_or(0);
        let mmsi = v["mmsi"].as_u64().unwrap_or(0) as u32;
        let t = score::parse_rfc3339_ms(v["rx_time"].as_str().unwrap_or("")).unwrap_or(0);
        let t = t - t % 1000;
        let src = v["source"].as_str().unwrap_or("").to_owned();
        match ty {
            1 | 2 | 3 | 18 | 19 | 27 => {
                let (Some(lat), Some(lon)) = (v["lat"].as_f64(), v["lon"].as_f64()) else {
                    continue;
                };
                fixes.push(Fix {
                    mmsi,
                    time_ms: t,
                    lat,
                    lon,
                    sog_knots: v["speed"].as_f64(),
                    cog_deg: v["course"].as_f64(),
                    heading_deg: v["heading"].as_f64(),
                    nav_status: v["status"].as_u64().map(|s| s as u8),
                    segment: 0,
                    quality: 0,
                    sources: [src.into()].into_iter().collect(),
                });
                if ty == 19 {
                    ids.push(IdentityUpdate {
                        mmsi,
                        time_ms: t,
                        name: v["shipname"].as_str().map(str::to_owned),
                        ship_type: v["shiptype"].as_u64().map(|x| x as u8),
                        flag: v["flag"].as_str().map(str::to_owned),
                        ..Default::default()
                    });
                }
            }
            5 | 24 => ids.push(IdentityUpdate {
                mmsi,
                time_ms: t,
                name: v["shipname"]
                    .as_str()
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty()),
                callsign: v["callsign"]
                    .as_str()
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty()),
                imo: v["imo"].as_u64().filter(|&x| x > 0).map(|x| x as u32),
                ship_type: v["shiptype"].as_u64().filter(|&x| x > 0).map(|x| x as u8),
                flag: v["flag"].as_str().map(str::to_owned),
                length_m: None,
                destination: v["destination"]
                    .as_str()
                    .map(str::to_owned)
                    .filter(|s| !s.is_empty()),
                sources: [src.into()].into_iter().collect(),
            }),
            _ => {}
        }
    }
    fixes.sort_by_key(|f| (f.time_ms, f.mmsi));
    fixes.dedup_by(|a, b| {
        a.time_ms == b.time_ms && a.mmsi == b.mmsi && a.lat == b.lat && a.lon == b.lon
    });
    ids.sort_by_key(|u| (u.time_ms, u.mmsi));
    ids.dedup();
    eprintln!("{} fixes, {} identity updates", fixes.len(), ids.len());
    let mut e = Engine::new(config, w, watch);
    let mut c = Collector::default();
    let mut it = ids.into_iter().peekable();
    let t0 = std::time::Instant::now();
    for f in fixes {
        while it.peek().is_some_and(|u| u.time_ms <= f.time_ms) {
            e.push_identity(it.next().unwrap());
        }
        e.push_position(f);
        c.absorb(e.take_notices());
    }
    e.finish();
    c.absorb(e.take_notices());
    eprintln!("engine: {:.1} s, {:?}", t0.elapsed().as_secs_f64(), {
        let s = e.stats();
        (s.vessels, s.open_events, s.memory_bytes)
    });
    let events = c.events();
    if let Ok(kind) = std::env::var("DUMP") {
        for ev in events.iter().filter(|e| e.kind.as_str() == kind) {
            println!("EV {}", serde_json::to_string(ev).unwrap());
        }
    }
    // Truth, scored as `tidewatch eval` does (`detect::score`).
    let mut truth = Vec::new();
    for line in std::fs::read_to_string(truth_file).unwrap().lines() {
        if let Some(t) = score::parse_truth_line(line).unwrap() {
            truth.push(t);
        }
    }
    print!("{}", score::table(&score::score(&events, &truth)));
}
