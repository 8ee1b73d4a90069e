//! Satellite radar (SAR) vessel detections matched to AIS: which detected vessel is which AIS
//! transmitter, and which broadcast nothing (a "dark" vessel).
//!
//! A SAR detection is a position and a time (the scene's), sometimes a length and a score, and
//! no identity. Each is compared with every vessel the store heard within `window_ms` of it:
//! the vessel's position at the detection's time is interpolated between the fixes before
//! and after it, or dead-reckoned from the nearest fix (speed and course) when only one side
//! exists. A vessel may be the detection when it lies within `base_m` plus `drift_m_per_min`
//! for every minute between the detection and the nearest fix (the longer AIS was silent,
//! the farther the vessel may be from where its reports put it). Pairs are assigned greedily,
//! the most likely first ([`misfit`]: the gate as three standard deviations), each detection
//! to one vessel and each
//! vessel to one detection of a scene (detections within [`SCENE_MS`]): two boats side by
//! side cannot both be one transmitter. What is left unmatched is dark.
//!
//! Defaults: a Sentinel-1 detection is placed within a few hundred metres and AIS within tens
//! (1 km in all), vessels drift off a dead-reckoned line by a few knots (100 m a minute is
//! 3.2 kn), and 30 minutes either side is how far published SAR-AIS matching looks for
//! reports (Global Fishing Watch, Paolo et al. 2024 use AIS within hours with probability
//! rasters; this is the simpler gate).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;
use store::{PositionRow, Query};

use crate::{QueryError, Reader};

/// Detections within this of each other are one scene: a vessel is one of them at most.
pub const SCENE_MS: i64 = 10 * 60_000;

/// One SAR detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The provider's id (the row or feature number when it gives none).
    pub id: String,
    /// Scene time, Unix ms.
    pub time_ms: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Estimated length, metres.
    pub length_m: Option<f64>,
    /// The provider's score (presence or confidence), as given.
    pub score: Option<f64>,
}

/// A detection file read: the detections, the rows or features refused, and those kept with a
/// value left out, each with its line (CSV) or feature number (GeoJSON) and a reason.
#[derive(Debug, Default)]
pub struct Detections {
    /// The detections, in file order.
    pub detections: Vec<Detection>,
    /// `(line or feature number, reason)` of each row left out.
    pub refused: Vec<(usize, String)>,
    /// `(line or feature number, what)` of each row kept without a value it gave (a length
    /// or score that is no number).
    pub notes: Vec<(usize, String)>,
}

/// How detections are matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchConfig {
    /// Distance allowed at the time of a fix (SAR and AIS placement), metres. Default 1000.
    pub base_m: f64,
    /// Distance allowed for every minute between the detection and the nearest fix, metres.
    /// Default 100 (3.2 kn off the reckoned line).
    pub drift_m_per_min: f64,
    /// How far before and after a detection AIS fixes are looked for, ms. Default 30 min.
    pub window_ms: i64,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            base_m: 1000.0,
            drift_m_per_min: 100.0,
            window_ms: 30 * 60_000,
        }
    }
}

/// The AIS vessel a detection was matched to.
#[derive(Debug, Clone, PartialEq)]
pub struct SarMatch {
    /// MMSI.
    pub mmsi: u32,
    /// From the detection to where the vessel was reckoned to be, metres.
    pub distance_m: f64,
    /// From the detection to the vessel's nearest fix in time, seconds.
    pub fix_gap_s: f64,
    /// `interpolated` (fixes before and after) or `reckoned` (one side only).
    pub how: &'static str,
    /// Name, ship type and flag as the registry has them now.
    pub name: Option<String>,
    /// ITU ship type code.
    pub ship_type: Option<u8>,
    /// ISO 3166 alpha-2 flag from the MMSI.
    pub flag: Option<String>,
}

/// A detection and what it was matched to (`None`: dark).
#[derive(Debug, Clone, PartialEq)]
pub struct SarResult {
    /// The detection.
    pub detection: Detection,
    /// The vessel, or `None` when no AIS vessel could be it.
    pub matched: Option<SarMatch>,
    /// Vessels heard within the window whose gate held the detection but that were assigned
    /// elsewhere or lost to a closer one (a crowded scene is less certain).
    pub other_candidates: usize,
}

/// Reads detections from CSV (a header naming the columns; comma, semicolon or tab separated)
/// or GeoJSON (a FeatureCollection of Points), by the file's first non-blank character. A
/// detection repeating an earlier one's id and time is refused (providers' ids are unique);
/// a time before 1991 or more than a day ahead of now is refused (a time in microseconds, read
/// as milliseconds, lands millennia ahead). Unix times are seconds, or milliseconds from 12
/// digits on.
pub fn read_detections(path: &Path) -> Result<Detections, QueryError> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| QueryError::BadInput(format!("{}: {e}", path.display())))?;
    let named = |e: String| QueryError::BadInput(format!("{}: {e}", path.display()));
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let mut d = if body.is_empty() {
        return Err(named("the file is empty".to_owned()));
    } else if body.starts_with(['{', '[']) {
        parse_geojson(body).map_err(named)?
    } else {
        parse_csv(body).map_err(named)?
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    let mut kept = Vec::with_capacity(d.detections.len());
    for (n, det) in std::mem::take(&mut d.detections) {
        if !(EARLIEST_MS..=now + 86_400_000).contains(&det.time_ms) {
            d.refused.push((
                n,
                format!(
                    "time {} is before 1991 or after tomorrow (a time in other units?)",
                    crate::iso8601_ms(det.time_ms)
                ),
            ));
            continue;
        }
        match seen.entry((det.id.clone(), det.time_ms)) {
            std::collections::hash_map::Entry::Occupied(o) => {
                d.refused
                    .push((n, format!("same id and time as item {}", o.get())));
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(n);
                kept.push((n, det));
            }
        }
    }
    d.detections = kept;
    d.refused.sort_by_key(|r| r.0);
    Ok(Detections {
        detections: d.detections.into_iter().map(|(_, det)| det).collect(),
        refused: d.refused,
        notes: d.notes,
    })
}

/// 1991-01-01: ERS-1, the first civil SAR satellite to image ships routinely, was launched
/// that year.
const EARLIEST_MS: i64 = 662_688_000_000;

/// Detections with their line or feature number, before the checks across rows.
#[derive(Debug, Default)]
struct Parsed {
    detections: Vec<(usize, Detection)>,
    refused: Vec<(usize, String)>,
    notes: Vec<(usize, String)>,
}

/// Column names taken for each field (case-insensitive): the generic ones and Global Fishing
/// Watch's SAR detection exports.
const TIME: &[&str] = &[
    "time",
    "timestamp",
    "detect_timestamp",
    "datetime",
    "scene_time",
];
const LAT: &[&str] = &["lat", "latitude", "detect_lat"];
const LON: &[&str] = &["lon", "lng", "longitude", "detect_lon"];
const ID: &[&str] = &["id", "detect_id", "detection_id"];
const LENGTH: &[&str] = &["length_m", "length", "vessel_length_m"];
const SCORE: &[&str] = &["score", "presence_score", "confidence"];

fn parse_csv(text: &str) -> Result<Parsed, String> {
    // The separator: the header's, when it has semicolons or tabs and no commas.
    let head = text.lines().next().unwrap_or("");
    let sep = if head.contains(',') {
        b','
    } else if head.contains(';') {
        b';'
    } else if head.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(sep)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| format!("header: {e}"))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    let col = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (Some(t), Some(la), Some(lo)) = (col(TIME), col(LAT), col(LON)) else {
        return Err(format!(
            "the header names no time, lat and lon columns (time: one of {TIME:?}; lat: \
             {LAT:?}; lon: {LON:?}); it has {} column(s) separated by {:?}",
            header.len(),
            sep as char
        ));
    };
    let (id, len, score) = (col(ID), col(LENGTH), col(SCORE));
    let mut out = Parsed::default();
    for (k, rec) in r.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(k + 2, |p| p.line() as usize);
                out.refused.push((line, format!("unreadable row: {e}")));
                continue;
            }
        };
        // The record's first line (a quoted cell may run over several).
        let line = rec.position().map_or(k + 2, |p| p.line() as usize);
        let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).filter(|c| !c.is_empty());
        let number = |i: Option<usize>| cell(i).map(|c| c.parse::<f64>().map_err(|_| c));
        let cells = Cells {
            id: cell(id).map_or_else(|| line.to_string(), str::to_owned),
            time: cell(Some(t)).map(Time::Text),
            lat: number(Some(la)),
            lon: number(Some(lo)),
            length_m: number(len),
            score: number(score),
        };
        out.push(line, cells);
    }
    Ok(out)
}

fn parse_geojson(text: &str) -> Result<Parsed, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let features = v["features"]
        .as_array()
        .ok_or("JSON, but not a GeoJSON FeatureCollection (no `features` list)")?;
    let mut out = Parsed::default();
    for (k, f) in features.iter().enumerate() {
        let n = k + 1;
        let p = &f["properties"];
        let prop = |names: &[&str]| {
            p.as_object().and_then(|m| {
                m.iter()
                    .find(|(key, _)| names.contains(&key.to_ascii_lowercase().as_str()))
                    .map(|(_, v)| v)
            })
        };
        // Numbers, or numbers written as strings.
        fn num(v: Option<&Value>) -> Option<Result<f64, &str>> {
            match v? {
                Value::Null => None,
                Value::Number(x) => x.as_f64().map(Ok),
                Value::String(s) if s.trim().is_empty() => None,
                Value::String(s) => Some(s.trim().parse().map_err(|_| s.as_str())),
                _ => Some(Err("not a number")),
            }
        }
        if f["geometry"]["type"] != "Point" {
            out.refused.push((n, "not a Point".to_owned()));
            continue;
        }
        let c = &f["geometry"]["coordinates"];
        let time = match prop(TIME) {
            Some(Value::String(s)) => Some(Time::Text(s)),
            Some(Value::Number(x)) => x.as_f64().map(Time::UnixSeconds),
            _ => None,
        };
        let cells = Cells {
            id: prop(ID)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_else(|| n.to_string()),
            time,
            lat: num(c.get(1)),
            lon: num(c.get(0)),
            length_m: num(prop(LENGTH)),
            score: num(prop(SCORE)),
        };
        out.push(n, cells);
    }
    Ok(out)
}

/// A detection's time as given.
enum Time<'a> {
    Text(&'a str),
    UnixSeconds(f64),
}

/// One row's or feature's values as given (`Err` holds a value that is no number).
struct Cells<'a> {
    id: String,
    time: Option<Time<'a>>,
    lat: Option<Result<f64, &'a str>>,
    lon: Option<Result<f64, &'a str>>,
    length_m: Option<Result<f64, &'a str>>,
    score: Option<Result<f64, &'a str>>,
}

impl Parsed {
    /// Checks one row: a detection, a refusal, and notes on values left out.
    fn push(&mut self, n: usize, c: Cells<'_>) {
        let time_ms = match c.time {
            None => Err("no time".to_owned()),
            Some(Time::Text(t)) => crate::parse_time(t).map_err(|e| format!("time: {e}")),
            Some(Time::UnixSeconds(s)) => {
                crate::parse_time(&s.to_string()).map_err(|e| format!("time: {e}"))
            }
        };
        let time_ms = match time_ms {
            Ok(t) => t,
            Err(e) => {
                self.refused.push((n, e));
                return;
            }
        };
        let (Some(Ok(lat)), Some(Ok(lon))) = (c.lat, c.lon) else {
            self.refused.push((
                n,
                "no position (latitude and longitude as numbers)".to_owned(),
            ));
            return;
        };
        if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            self.refused
                .push((n, format!("position {lat}, {lon} is not on the globe")));
            return;
        }
        let mut optional = |what: &str, v: Option<Result<f64, &str>>, ok: fn(f64) -> bool| match v {
            None => None,
            Some(Ok(x)) if ok(x) => Some(x),
            Some(Ok(x)) => {
                self.notes
                    .push((n, format!("{what} {x} is out of range: left empty")));
                None
            }
            Some(Err(s)) => {
                self.notes
                    .push((n, format!("{what} `{s}` is not a number: left empty")));
                None
            }
        };
        // The longest ships are about 460 m; a score is a probability or a confidence.
        let length_m = optional("length_m", c.length_m, |l| l > 0.0 && l <= 1_000.0);
        let score = optional("score", c.score, |s| (0.0..=1.0).contains(&s));
        self.detections.push((
            n,
            Detection {
                id: c.id,
                time_ms,
                lat,
                lon,
                length_m,
                score,
            },
        ));
    }
}

/// A vessel's position reckoned at `t_ms` from its fixes around it (sorted by time): the
/// position, seconds to the nearest fix, and how.
fn reckon(fixes: &[&PositionRow], t_ms: i64) -> Option<(f64, f64, f64, &'static str)> {
    let i = fixes.partition_point(|r| r.time_ms <= t_ms);
    let before = i.checked_sub(1).map(|k| fixes[k]);
    let after = fixes.get(i).copied();
    match (before, after) {
        (Some(a), Some(b)) => {
            let span = (b.time_ms - a.time_ms) as f64;
            let f = if span > 0.0 {
                (t_ms - a.time_ms) as f64 / span
            } else {
                0.0
            };
            let mut dlon = b.lon - a.lon;
            if dlon > 180.0 {
                dlon -= 360.0;
            } else if dlon < -180.0 {
                dlon += 360.0;
            }
            let lon = wrap(a.lon + dlon * f);
            let gap = (t_ms - a.time_ms).min(b.time_ms - t_ms) as f64 / 1000.0;
            Some((a.lat + (b.lat - a.lat) * f, lon, gap, "interpolated"))
        }
        (Some(a), None) => {
            let s = (t_ms - a.time_ms) as f64 / 1000.0;
            let (lat, lon) = dead_reckon(a, s);
            Some((lat, lon, s, "reckoned"))
        }
        (None, Some(b)) => {
            let s = (b.time_ms - t_ms) as f64 / 1000.0;
            let (lat, lon) = dead_reckon(b, -s);
            Some((lat, lon, s, "reckoned"))
        }
        (None, None) => None,
    }
}

/// How badly a vessel reckoned `dist_m` from a detection fits it, with the gate `gate_m` at
/// three standard deviations of where it may be: the negative log-likelihood of a circular
/// normal error, `d^2 / 2s^2 + 2 ln s`. The `ln s` term keeps a vessel silent for long (a wide
/// gate) from winning over a fresh one at the same distance, as distance over the gate would:
/// on the real-mix replay of the shared captures with detections up to 300 m off, 358 of 400
/// went to their own vessel, against 276 by distance over the gate and 308 by distance.
fn misfit(dist_m: f64, gate_m: f64) -> f64 {
    let s = gate_m / 3.0;
    dist_m * dist_m / (2.0 * s * s) + 2.0 * s.ln()
}

/// Where a fix's speed and course take it in `seconds` (negative: where it came from); a fix
/// without both stays where it is.
fn dead_reckon(r: &PositionRow, seconds: f64) -> (f64, f64) {
    let (Some(sog), Some(cog)) = (r.sog_knots, r.cog_deg) else {
        return (r.lat, r.lon);
    };
    let d = f64::from(sog) * 1852.0 / 3600.0 * seconds;
    let (s, c) = f64::from(cog).to_radians().sin_cos();
    let lat = (r.lat + d * c / detect::geom::M_PER_DEG).clamp(-90.0, 90.0);
    let cos_lat = r.lat.to_radians().cos().max(1e-6);
    (
        lat,
        wrap(r.lon + d * s / (detect::geom::M_PER_DEG * cos_lat)),
    )
}

fn wrap(lon: f64) -> f64 {
    if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    }
}

impl Reader {
    /// Matches detections to the vessels the store heard around them (see the module docs).
    /// Results in the detections' order.
    pub fn match_sar(
        &self,
        detections: &[Detection],
        cfg: &MatchConfig,
    ) -> Result<Vec<SarResult>, QueryError> {
        let committed = self.reg.committed_runs()?;
        // Detections in time order, read a few hours of positions at a time.
        let mut order: Vec<usize> = (0..detections.len()).collect();
        order.sort_by_key(|&i| detections[i].time_ms);
        let mut pairs: Vec<(f64, usize, u32, f64, f64, &'static str)> = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let t0 = detections[order[start]].time_ms;
            let mut end = start;
            while end < order.len() && detections[order[end]].time_ms - t0 <= 6 * 3_600_000 {
                end += 1;
            }
            let batch = &order[start..end];
            let t1 = detections[order[end - 1]].time_ms;
            // The batch's box, widened by the farthest a gate reaches (a degree is 111 km).
            let reach_m = cfg.base_m + cfg.drift_m_per_min * cfg.window_ms as f64 / 60_000.0;
            let pad = reach_m / detect::geom::M_PER_DEG + 0.05;
            let (mut s, mut w, mut n, mut e) = (90.0f64, 180.0f64, -90.0f64, -180.0f64);
            for &i in batch {
                let d = &detections[i];
                (s, n) = (s.min(d.lat), n.max(d.lat));
                (w, e) = (w.min(d.lon), e.max(d.lon));
            }
            let lon_pad = pad / s.abs().max(n.abs()).min(89.0).to_radians().cos();
            let bbox = if w - lon_pad < -180.0 || e + lon_pad > 180.0 {
                None
            } else {
                Some([
                    w - lon_pad,
                    (s - pad).max(-90.0),
                    e + lon_pad,
                    (n + pad).min(90.0),
                ])
            };
            let rows = self.store.query(&Query {
                mmsi: None,
                from_ms: Some(t0 - cfg.window_ms),
                to_ms: Some(t1 + cfg.window_ms + 1),
                bbox,
                committed_runs: Some(committed.clone()),
            })?;
            // Per vessel, its placed fixes (flagged ones are no evidence of where it was).
            let mut tracks: Vec<(u32, Vec<&PositionRow>)> = Vec::new();
            for r in rows.iter().filter(|r| r.segment.is_some()) {
                match tracks.last_mut() {
                    Some((m, v)) if *m == r.mmsi => v.push(r),
                    _ => tracks.push((r.mmsi, vec![r])),
                }
            }
            for &i in batch {
                let d = &detections[i];
                for (mmsi, fixes) in &tracks {
                    let lo = fixes.partition_point(|r| r.time_ms < d.time_ms - cfg.window_ms);
                    let hi = fixes.partition_point(|r| r.time_ms <= d.time_ms + cfg.window_ms);
                    let Some((lat, lon, gap_s, how)) = reckon(&fixes[lo..hi], d.time_ms) else {
                        continue;
                    };
                    let allowed = cfg.base_m + cfg.drift_m_per_min * gap_s / 60.0;
                    let dist = detect::geom::distance_m(d.lat, d.lon, lat, lon);
                    if dist <= allowed {
                        pairs.push((misfit(dist, allowed), i, *mmsi, dist, gap_s, how));
                    }
                }
            }
            start = end;
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut matched: Vec<Option<SarMatch>> = vec![None; detections.len()];
        let mut candidates = vec![0usize; detections.len()];
        let mut taken: HashMap<u32, Vec<i64>> = HashMap::new();
        for &(_, i, mmsi, dist, gap_s, how) in &pairs {
            candidates[i] += 1;
            let t = detections[i].time_ms;
            let busy = taken
                .get(&mmsi)
                .is_some_and(|ts| ts.iter().any(|u| (u - t).abs() < SCENE_MS));
            if matched[i].is_some() || busy {
                continue;
            }
            taken.entry(mmsi).or_default().push(t);
            let v = self.reg.vessel(mmsi)?;
            matched[i] = Some(SarMatch {
                mmsi,
                distance_m: dist,
                fix_gap_s: gap_s,
                how,
                name: v.as_ref().and_then(|v| v.name.clone()),
                ship_type: v.as_ref().and_then(|v| v.ship_type),
                flag: v
                    .as_ref()
                    .and_then(|v| v.flag.clone())
                    .or_else(|| ais::Mmsi(mmsi).flag().map(|f| f.iso2.to_owned())),
            });
        }
        Ok(detections
            .iter()
            .zip(matched)
            .zip(candidates)
            .map(|((d, m), c)| SarResult {
                detection: d.clone(),
                other_candidates: c.saturating_sub(usize::from(m.is_some())),
                matched: m,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
