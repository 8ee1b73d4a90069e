//! Land mask and distance to shore: a lon/lat grid built once from Natural Earth land
//! polygons and cached on disk, never committed.
//!
//! Source: the npm package `world-atlas` (version 2: Natural Earth 1:10m land, public domain
//! data, ISC-licensed package), fetched with `npm pack world-atlas@2` into the cache
//! directory on first use; its `land-10m.json` is TopoJSON, decoded here (arcs are
//! delta-encoded integers scaled by the file's transform; about 400 m east-west and 190 m
//! north-south quantisation).
//!
//! The grid: `cells_per_degree` cells per degree of latitude and longitude (default 20:
//! 3 arc-minutes, 7200 x 3600 cells). A cell is land when its centre is inside a land
//! polygon (even-odd per polygon, rings unwrapped across the antimeridian, a ring around a
//! pole closed through the pole). The distance to shore of a sea cell is the distance from its
//! centre to the nearest land cell's centre, less half a cell, by an exact Euclidean distance
//! transform (Felzenszwalb-Huttenlocher, separable) in an equirectangular metric about
//! each cell's own latitude, wrapping round in longitude; land cells are 0. Stored in 50 m
//! units (u16, 52 MB on disk at the default resolution; a grid read from its file holds in
//! memory only the rows asked for).
//!
//! Accuracy, documented as what it is: a point is classed by the cell it falls in, so
//! coasts are right to about one cell (5.6 km north-south at 3'; islands and spits narrower
//! than a cell may vanish or fill in); distances are right to about one cell within a few
//! hundred kilometres of land, and to a few per cent beyond 1000 km (the equirectangular
//! metric), more at high latitudes.
//!
//! Cache directory: `$TIDEWATCH_CACHE_DIR`, else `$XDG_CACHE_HOME/tidewatch`, else
//! `~/.cache/tidewatch` ([`default_cache_dir`]); it holds `world-atlas-2.*.tgz` and
//! `land-<cells per degree>cpd-v1.bin`. Put the tarball there by hand when npm or the
//! network is unavailable. To build it in CI:
//! `cargo run -p tidewatch-detect --release --example build_land_cache`.

use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

/// Default grid resolution: 20 cells per degree (3 arc-minutes).
pub const DEFAULT_CELLS_PER_DEGREE: u32 = 20;

/// Environment variable overriding the cache directory.
pub const CACHE_DIR_ENV: &str = "TIDEWATCH_CACHE_DIR";

/// The npm package (and major version) the land polygons come from.
pub const WORLD_ATLAS: &str = "world-atlas@2";

const MAGIC: &[u8; 8] = b"TWLAND1\n";
const UNIT_M: f64 = 50.0;
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Why the land grid cannot be had.
#[derive(Debug)]
pub enum LandError {
    /// `npm` could not be run, or `npm pack` failed (no network, registry down); the
    /// message says what to do instead.
    Fetch(String),
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// A file is not what it should be (corrupt cache, unexpected TopoJSON).
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No cache directory: neither `$TIDEWATCH_CACHE_DIR`, `$XDG_CACHE_HOME` nor `$HOME`
    /// is set.
    NoCacheDir,
}

impl fmt::Display for LandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LandError::Fetch(m) => f.write_str(m),
            LandError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LandError::BadData { path, reason } => write!(f, "{}: {reason}", path.display()),
            LandError::NoCacheDir => write!(
                f,
                "no cache directory for land data: set {CACHE_DIR_ENV}, XDG_CACHE_HOME or HOME"
            ),
        }
    }
}

impl std::error::Error for LandError {}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LandError + '_ {
    move |error| LandError::Io {
        path: path.to_owned(),
        error,
    }
}

/// `$TIDEWATCH_CACHE_DIR`, else `$XDG_CACHE_HOME/tidewatch`, else `$HOME/.cache/tidewatch`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var(CACHE_DIR_ENV)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("tidewatch")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("tidewatch")))
}

/// The `world-atlas` tarball in `cache_dir`, fetched with `npm pack` if not there yet.
pub fn fetch_world_atlas(cache_dir: &Path) -> Result<PathBuf, LandError> {
    if let Some(p) = find_tarball(cache_dir)? {
        return Ok(p);
    }
    std::fs::create_dir_all(cache_dir).map_err(io_err(cache_dir))?;
    let out = std::process::Command::new("npm")
        // Bounded when offline (npm's defaults retry for minutes).
        .args(["pack", WORLD_ATLAS, "--silent", "--fetch-retries=1"])
        .args(["--fetch-timeout=30000", "--pack-destination"])
        .arg(cache_dir)
        .current_dir(cache_dir)
        .output()
        .map_err(|e| {
            LandError::Fetch(format!(
                "cannot run npm ({e}); land data needs the npm package {WORLD_ATLAS} once: \
                 install npm, or download its tarball (world-atlas-2.x.tgz) into {}",
                cache_dir.display()
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(LandError::Fetch(format!(
            "npm pack {WORLD_ATLAS} failed ({}): {}; without network access, put the tarball \
             (world-atlas-2.x.tgz) into {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
            cache_dir.display()
        )));
    }
    find_tarball(cache_dir)?.ok_or_else(|| {
        LandError::Fetch(format!(
            "npm pack {WORLD_ATLAS} left no world-atlas-2.*.tgz in {}",
            cache_dir.display()
        ))
    })
}

fn find_tarball(dir: &Path) -> Result<Option<PathBuf>, LandError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LandError::Io {
                path: dir.to_owned(),
                error: e,
            })
        }
    };
    let mut found: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("world-atlas-2.") && n.ends_with(".tgz"))
        })
        .collect();
    found.sort();
    Ok(found.pop())
}

/// Land polygons from a `world-atlas` tarball's `land-10m.json`.
pub fn land_from_tarball(tgz: &Path) -> Result<MultiPolygon<f64>, LandError> {
    let file = std::fs::File::open(tgz).map_err(io_err(tgz))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let bad = |reason: String| LandError::BadData {
        path: tgz.to_owned(),
        reason,
    };
    for entry in archive
        .entries()
        .map_err(|e| bad(format!("not a tar.gz: {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("not a tar.gz: {e}")))?;
        let is_land = entry
            .path()
            .is_ok_and(|p| p == Path::new("package/land-10m.json"));
        if is_land {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| bad(format!("cannot read land-10m.json: {e}")))?;
            return decode_topojson_land(&text).map_err(|r| bad(format!("land-10m.json: {r}")));
        }
    }
    Err(bad("no package/land-10m.json in the tarball".to_owned()))
}

/// Decodes the polygons of a TopoJSON topology's `land` object (or, failing that, of all
/// its objects): quantised, delta-encoded arcs, rings joined from arcs (a negative index
/// `!i` is arc `i` reversed).
pub fn decode_topojson_land(text: &str) -> Result<MultiPolygon<f64>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if v["type"] != "Topology" {
        return Err("not a TopoJSON Topology".to_owned());
    }
    let (sx, sy, tx, ty) = match &v["transform"] {
        Value::Null => (1.0, 1.0, 0.0, 0.0),
        t => {
            let n = |x: &Value| x.as_f64().ok_or("bad transform");
            (
                n(&t["scale"][0])?,
                n(&t["scale"][1])?,
                n(&t["translate"][0])?,
                n(&t["translate"][1])?,
            )
        }
    };
    let quantized = !v["transform"].is_null();
    let arcs_json = v["arcs"].as_array().ok_or("no arcs")?;
    let mut arcs: Vec<Vec<Coord<f64>>> = Vec::with_capacity(arcs_json.len());
    for (i, a) in arcs_json.iter().enumerate() {
        let pts = a
            .as_array()
            .ok_or_else(|| format!("arc {i} is not an array"))?;
        let (mut x, mut y) = (0.0, 0.0);
        let mut out = Vec::with_capacity(pts.len());
        for p in pts {
            let (dx, dy) = match (p[0].as_f64(), p[1].as_f64()) {
                (Some(dx), Some(dy)) => (dx, dy),
                _ => return Err(format!("arc {i} has a bad position")),
            };
            if quantized {
                x += dx;
                y += dy;
                out.push(Coord {
                    x: x * sx + tx,
                    y: y * sy + ty,
                });
            } else {
                out.push(Coord { x: dx, y: dy });
            }
        }
        arcs.push(out);
    }
    let objects = v["objects"].as_object().ok_or("no objects")?;
    let roots: Vec<&Value> = match objects.get("land") {
        Some(l) => vec![l],
        None => objects.values().collect(),
    };
    let mut polys = Vec::new();
    let mut stack = roots;
    while let Some(g) = stack.pop() {
        match g["type"].as_str() {
            Some("GeometryCollection") => {
                stack.extend(g["geometries"].as_array().into_iter().flatten())
            }
            Some("Polygon") => polys.push(topo_polygon(&g["arcs"], &arcs)?),
            Some("MultiPolygon") => {
                for p in g["arcs"].as_array().ok_or("bad MultiPolygon")? {
                    polys.push(topo_polygon(p, &arcs)?);
                }
            }
            _ => {}
        }
    }
    if polys.is_empty() {
        return Err("no polygons".to_owned());
    }
    Ok(MultiPolygon(polys))
}

fn topo_polygon(rings: &Value, arcs: &[Vec<Coord<f64>>]) -> Result<Polygon<f64>, String> {
    let mut out = Vec::new();
    for ring in rings.as_array().ok_or("bad polygon")? {
        let mut pts: Vec<Coord<f64>> = Vec::new();
        for idx in ring.as_array().ok_or("bad ring")? {
            let i = idx.as_i64().ok_or("bad arc index")?;
            let (k, rev) = if i < 0 {
                (!i as usize, true)
            } else {
                (i as usize, false)
            };
            let arc = arcs
                .get(k)
                .ok_or_else(|| format!("arc index {i} out of range"))?;
            let skip = usize::from(!pts.is_empty());
            if rev {
                pts.extend(arc.iter().rev().skip(skip));
            } else {
                pts.extend(arc.iter().skip(skip));
            }
        }
        out.push(LineString(pts));
    }
    let mut it = out.into_iter();
    let ext = it.next().ok_or("polygon without rings")?;
    Ok(Polygon::new(ext, it.collect()))
}

/// Unwraps a ring's longitudes (steps over 180 degrees are antimeridian crossings); a ring
/// whose longitudes then run a whole turn goes round a pole and is closed through it.
fn unwrap_land_ring(ring: &LineString<f64>) -> Vec<Coord<f64>> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len() + 3);
    for c in &ring.0 {
        let x = match out.last() {
            None => c.x,
            Some(p) => p.x + ((c.x - p.x + 180.0).rem_euclid(360.0) - 180.0),
        };
        out.push(Coord { x, y: c.y });
    }
    if let (Some(&first), Some(&last)) = (out.first(), out.last()) {
        let turn = last.x - first.x;
        if turn.abs() > 180.0 {
            let mean_y = out.iter().map(|c| c.y).sum::<f64>() / out.len() as f64;
            let pole = if mean_y < 0.0 { -90.0 } else { 90.0 };
            out.push(Coord { x: last.x, y: pole });
            out.push(Coord {
                x: first.x,
                y: pole,
            });
            out.push(first);
        }
    }
    out
}

/// The land mask and distance-to-shore grid (see the module doc).
#[derive(Debug, Clone)]
pub struct LandGrid {
    cells_per_degree: u32,
    cols: usize,
    rows: usize,
    /// Per cell, row-major from the south: 0 = land, else distance to shore in 50 m units.
    dist: Cells,
    source: String,
}

/// The grid's cells: built in memory, or read from a grid file a row at a time when first
/// asked for. A run touches only the rows where its vessels are; reading the whole 52 MB file
/// first made two copies of it in fresh memory (the bytes read, then the cells): peak memory
/// of a 1 M-line real-mix ingest about 550 MB, 490-545 MB with rows read as needed.
#[derive(Debug, Clone)]
enum Cells {
    Built(Vec<u16>),
    File(Arc<RowFile>),
}

/// A grid file open for reading rows.
#[derive(Debug)]
struct RowFile {
    file: std::sync::Mutex<std::fs::File>,
    path: PathBuf,
    /// Where the first row starts, bytes.
    offset: u64,
    rows: Box<[OnceLock<Box<[u16]>>]>,
    /// The first row that could not be read, and why (its cells are unknown).
    error: OnceLock<String>,
}

impl RowFile {
    /// Row `r` (`cols` cells), read on first use; `None` when it cannot be read.
    fn row(&self, r: usize, cols: usize) -> Option<&[u16]> {
        if let Some(row) = self.rows[r].get() {
            return Some(row);
        }
        let mut bytes = vec![0u8; cols * 2];
        let read = {
            let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
            f.seek(SeekFrom::Start(self.offset + (r * cols * 2) as u64))
                .and_then(|_| f.read_exact(&mut bytes))
        };
        if let Err(e) = read {
            let _ = self
                .error
                .set(format!("{}: row {r}: {e}", self.path.display()));
            return None;
        }
        let row: Box<[u16]> = bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        Some(self.rows[r].get_or_init(|| row))
    }
}

impl LandGrid {
    /// Rasterises `land` and computes distances; `source` says where `land` came from.
    pub fn from_land(land: &MultiPolygon<f64>, cells_per_degree: u32, source: &str) -> LandGrid {
        let cpd = cells_per_degree.clamp(1, 60);
        let (cols, rows) = (360 * cpd as usize, 180 * cpd as usize);
        let mut is_land = vec![false; cols * rows];
        let cpdf = cpd as f64;
        let mut crossings: Vec<(u32, f64)> = Vec::new();
        for poly in &land.0 {
            crossings.clear();
            let ext = unwrap_land_ring(poly.exterior());
            let x_ref = ext.first().map_or(0.0, |c| c.x);
            let mut rings = vec![ext];
            for hole in poly.interiors() {
                let mut h = unwrap_land_ring(hole);
                let turns = h
                    .first()
                    .map_or(0.0, |c| ((c.x - x_ref) / 360.0).round() * 360.0);
                h.iter_mut().for_each(|c| c.x -= turns);
                rings.push(h);
            }
            for ring in &rings {
                for w in ring.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let (ylo, yhi) = (a.y.min(b.y), a.y.max(b.y));
                    let r0 = (((ylo + 90.0) * cpdf - 0.5).ceil().max(0.0)) as usize;
                    let r1 = (((yhi + 90.0) * cpdf - 0.5).floor()).min(rows as f64 - 1.0);
                    if r1 < 0.0 {
                        continue;
                    }
                    for r in r0..=r1 as usize {
                        let yc = -90.0 + (r as f64 + 0.5) / cpdf;
                        if (a.y > yc) != (b.y > yc) {
                            let x = a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y);
                            crossings.push((r as u32, x));
                        }
                    }
                }
            }
            crossings.sort_unstable_by(|p, q| p.0.cmp(&q.0).then(p.1.total_cmp(&q.1)));
            for row in crossings.chunk_by(|p, q| p.0 == q.0) {
                // An odd count (an open ring) leaves the last crossing unpaired.
                for pair in row.chunks_exact(2) {
                    let (r, x0, x1) = (pair[0].0 as usize, pair[0].1, pair[1].1);
                    let c0 = ((x0 + 180.0) * cpdf - 0.5).ceil() as i64;
                    let c1 = ((x1 + 180.0) * cpdf - 0.5).ceil() as i64;
                    for c in c0..c1.min(c0 + cols as i64) {
                        is_land[r * cols + c.rem_euclid(cols as i64) as usize] = true;
                    }
                }
            }
        }
        let dist = distance_transform(&is_land, cols, rows, cpdf);
        LandGrid {
            cells_per_degree: cpd,
            cols,
            rows,
            dist: Cells::Built(dist),
            source: source.to_owned(),
        }
    }

    /// Cells per degree.
    pub fn cells_per_degree(&self) -> u32 {
        self.cells_per_degree
    }

    /// Where the land polygons came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The point's cell as (row, column); `None` for a point that is not a position.
    fn cell(&self, lat: f64, lon: f64) -> Option<(usize, usize)> {
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0) {
            return None;
        }
        let cpd = self.cells_per_degree as f64;
        let r = (((lat + 90.0) * cpd) as usize).min(self.rows - 1);
        let c = (((crate::zones::wrap_lon(lon) + 180.0) * cpd) as usize).min(self.cols - 1);
        Some((r, c))
    }

    /// Row `r` of the grid; `None` when its part of the grid file cannot be read.
    fn row(&self, r: usize) -> Option<&[u16]> {
        match &self.dist {
            Cells::Built(v) => Some(&v[r * self.cols..(r + 1) * self.cols]),
            Cells::File(f) => f.row(r, self.cols),
        }
    }

    /// A cell's stored value: 0 on land, else the distance to shore in 50 m units.
    fn at(&self, (r, c): (usize, usize)) -> Option<u16> {
        self.row(r).map(|row| row[c])
    }

    /// Every cell, row by row (`None` if a row cannot be read).
    #[cfg(test)]
    fn all_cells(&self) -> Option<Vec<u16>> {
        (0..self.rows).try_fold(Vec::new(), |mut all, r| {
            all.extend_from_slice(self.row(r)?);
            Some(all)
        })
    }

    /// Why part of the grid file could not be read during the run, if it could not: the
    /// points there were unknown (`None`) instead of land or sea.
    pub fn read_error(&self) -> Option<&str> {
        match &self.dist {
            Cells::Built(_) => None,
            Cells::File(f) => f.error.get().map(String::as_str),
        }
    }

    /// Whether the point's cell is land; `None` for a point that is not a position (or whose
    /// row of the grid file cannot be read: [`LandGrid::read_error`]).
    pub fn is_land(&self, lat: f64, lon: f64) -> Option<bool> {
        self.at(self.cell(lat, lon)?).map(|d| d == 0)
    }

    /// Whether the point is on land by more than the grid can tell: its cell and the eight
    /// around it are land (a position within a cell of the coast may be in a harbour basin,
    /// a fjord or among skerries that the rasterised coastline covers). `None` for a point
    /// that is not a position (or whose rows cannot be read).
    pub fn is_inland(&self, lat: f64, lon: f64) -> Option<bool> {
        let (r, c) = self.cell(lat, lon)?;
        let mut inland = true;
        for dr in -1..=1_i64 {
            let row = (r as i64 + dr).clamp(0, self.rows as i64 - 1) as usize;
            let cells = self.row(row)?;
            for dc in -1..=1_i64 {
                let col = (c as i64 + dc).rem_euclid(self.cols as i64) as usize;
                inland &= cells[col] == 0;
            }
        }
        Some(inland)
    }

    /// Distance from the point's cell to the shore, metres (0 on land); `None` for a point
    /// that is not a position (or whose row cannot be read).
    pub fn distance_to_shore_m(&self, lat: f64, lon: f64) -> Option<f64> {
        self.at(self.cell(lat, lon)?).map(|d| d as f64 * UNIT_M)
    }

    /// Writes the grid (atomically: a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), LandError> {
        // Unique per process and call: two processes (or tests) building at once each
        // rename a whole file into place.
        static SAVES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
        let mut buf = Vec::with_capacity(32 + self.source.len() + self.rows * self.cols * 2);
        buf.extend_from_slice(MAGIC);
        for n in [self.cells_per_degree, self.source.len() as u32] {
            buf.extend_from_slice(&n.to_le_bytes());
        }
        buf.extend_from_slice(self.source.as_bytes());
        for r in 0..self.rows {
            let row = self.row(r).ok_or_else(|| LandError::BadData {
                path: path.to_owned(),
                reason: self.read_error().unwrap_or("unreadable grid").to_owned(),
            })?;
            for d in row {
                buf.extend_from_slice(&d.to_le_bytes());
            }
        }
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&buf)
            .and_then(|()| f.sync_all())
            .map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))
    }

    /// Opens a grid written by [`LandGrid::save`]: its header and length are checked here, its
    /// rows read from the file (kept open) as first asked for.
    pub fn load(path: &Path) -> Result<LandGrid, LandError> {
        let mut file = std::fs::File::open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        let bad = |reason: &str| LandError::BadData {
            path: path.to_owned(),
            reason: format!("{reason}; delete the file to rebuild it"),
        };
        let mut head = [0u8; 16];
        if len < 16 || file.read_exact(&mut head).is_err() || &head[..8] != MAGIC {
            return Err(bad("not a Tidewatch land grid"));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (cpd, src_len) = (u32_at(8), u32_at(12) as usize);
        if !(1..=60).contains(&cpd) {
            return Err(bad("bad resolution"));
        }
        let (cols, rows) = (360 * cpd as usize, 180 * cpd as usize);
        let data = 16 + src_len as u64;
        if len != data + (cols * rows * 2) as u64 {
            return Err(bad("wrong length (truncated?)"));
        }
        let mut source = vec![0u8; src_len];
        file.read_exact(&mut source).map_err(io_err(path))?;
        Ok(LandGrid {
            cells_per_degree: cpd,
            cols,
            rows,
            dist: Cells::File(Arc::new(RowFile {
                file: std::sync::Mutex::new(file),
                path: path.to_owned(),
                offset: data,
                rows: (0..rows).map(|_| OnceLock::new()).collect(),
                error: OnceLock::new(),
            })),
            source: String::from_utf8_lossy(&source).into_owned(),
        })
    }
}

/// The grid file's name in the cache directory.
pub fn grid_file_name(cells_per_degree: u32) -> String {
    format!("land-{cells_per_degree}cpd-v1.bin")
}

/// The land grid from `cache_dir`: read if built before, else built (fetching `world-atlas`
/// with npm if its tarball is not there) and saved. Independent of the `tidewatch` binary,
/// so tests and CI can call it.
pub fn ensure_land_grid(cache_dir: &Path, cells_per_degree: u32) -> Result<LandGrid, LandError> {
    let path = cache_dir.join(grid_file_name(cells_per_degree));
    if path.exists() {
        return LandGrid::load(&path);
    }
    let tgz = fetch_world_atlas(cache_dir)?;
    let land = land_from_tarball(&tgz)?;
    let name = tgz
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("world-atlas");
    let grid = LandGrid::from_land(
        &land,
        cells_per_degree,
        &format!("{name} land-10m.json (Natural Earth 1:10m)"),
    );
    grid.save(&path)?;
    Ok(grid)
}

/// Squared-distance transform, then metres to shore in 50 m units (see the module doc).
fn distance_transform(is_land: &[bool], cols: usize, rows: usize, cpd: f64) -> Vec<u16> {
    let dy = EARTH_RADIUS_M * std::f64::consts::PI / 180.0 / cpd;
    // Pass 1, along each column (north-south, uniform spacing): squared metres.
    let mut g = vec![f32::INFINITY; cols * rows];
    let (mut f, mut d) = (
        vec![0.0f64; rows.max(2 * cols)],
        vec![0.0f64; rows.max(2 * cols)],
    );
    let (mut v, mut z) = (Vec::new(), Vec::new());
    for c in 0..cols {
        for r in 0..rows {
            f[r] = if is_land[r * cols + c] {
                0.0
            } else {
                f64::INFINITY
            };
        }
        edt_1d(&f[..rows], dy, &mut d[..rows], &mut v, &mut z);
        for r in 0..rows {
            g[r * cols + c] = d[r] as f32;
        }
    }
    // Pass 2, along each row (east-west, spacing by the row's latitude, wrapping round).
    let mut out = vec![0u16; cols * rows];
    for r in 0..rows {
        let lat = -90.0 + (r as f64 + 0.5) / cpd;
        let dx = (dy * lat.to_radians().cos()).max(1.0);
        for c in 0..2 * cols {
            f[c] = g[r * cols + c % cols] as f64;
        }
        edt_1d(&f[..2 * cols], dx, &mut d[..2 * cols], &mut v, &mut z);
        let half = 0.5 * dx.min(dy);
        for c in 0..cols {
            let o = &mut out[r * cols + c];
            if is_land[r * cols + c] {
                *o = 0;
            } else {
                let m = d[c].min(d[c + cols]).sqrt() - half;
                *o = (m / UNIT_M).round().clamp(1.0, u16::MAX as f64) as u16;
            }
        }
    }
    out
}

/// One-dimensional squared Euclidean distance transform of `f` (0 at features, infinity
/// elsewhere, or any sampled function) on points `i * spacing` (Felzenszwalb and Huttenlocher,
/// "Distance Transforms of Sampled Functions", 2012): `d[i] = min_q ((i - q) spacing)^2 + f[q]`.
fn edt_1d(f: &[f64], spacing: f64, d: &mut [f64], v: &mut Vec<usize>, z: &mut Vec<f64>) {
    v.clear();
    z.clear();
    for (q, &fq) in f.iter().enumerate() {
        if !fq.is_finite() {
            continue;
        }
        let pq = q as f64 * spacing;
        while let (Some(&p), Some(&zl)) = (v.last(), z.last()) {
            let pp = p as f64 * spacing;
            let s = ((fq + pq * pq) - (f[p] + pp * pp)) / (2.0 * (pq - pp));
            if s <= zl {
                v.pop();
                z.pop();
            } else {
                v.push(q);
                z.push(s);
                break;
            }
        }
        if v.is_empty() {
            v.push(q);
            z.push(f64::NEG_INFINITY);
        }
    }
    if v.is_empty() {
        d.fill(f64::INFINITY);
        return;
    }
    let mut k = 0;
    for (i, di) in d.iter_mut().enumerate() {
        let x = i as f64 * spacing;
        while k + 1 < v.len() && z[k + 1] < x {
            k += 1;
        }
        let p = v[k] as f64 * spacing;
        *di = (x - p) * (x - p) + f[v[k]];
    }
}

#[cfg(test)]
mod tests;
