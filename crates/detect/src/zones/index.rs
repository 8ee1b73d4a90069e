//! The point-in-zones index: a uniform lon/lat grid whose cells know, per zone, whether they
//! lie wholly inside it or on its boundary; only boundary cells test edges.
//!
//! The rule is the crossing-number (even-odd) test: a point is inside a zone when a
//! horizontal ray from it crosses the zone's rings an odd number of times. The grid makes the
//! ray short. Each row of cells is swept west to east once at build time: cells that no edge
//! of the zone touches (with a margin of a millionth of a cell) are uniform, and their status
//! is known; consecutive cells that edges touch form a *run*. A cell of a run stores a *base*
//! status and the edges a ray to it may cross: either westward from the uniform cell just
//! west of the run (the run's edges that touch this cell or one west of it) or eastward from
//! the uniform cell just east of it (those touching this cell or one east of it), whichever
//! is fewer. A lookup flips the base once per stored edge the ray from the point crosses. An
//! edge crossing the ray beyond the run would have to pass through the uniform cell, which no
//! edge touches, so none is missed or counted twice.
//!
//! Layout and cost: a table of cell starts, and per cell one contiguous stretch holding, per
//! zone present, a header and (boundary cells) copies of the edges to test. A lookup reads
//! the cell table and one stretch: a few cache lines. The grid has about two cells per edge
//! (at least 65 536, at most 4 Mi cells) over the zones' bounding box. Measured
//! (`benches/zone_lookup.rs`): 300 lobed stars of 100 k vertices, 0.87 edges tested per
//! lookup, a 16.5 MB index. The weak case is a long run: a boundary running east-west along a
//! row makes every cell of the row a boundary cell, and the cells in the run's middle test
//! half of its edges (and hold copies of them); the bench's `spiky` stars show it.
//!
//! Boundary ties: a point exactly on an edge or a vertex is decided by the
//! half-open rule `(ya > y) != (yb > y)` and the sign of a float subtraction, so it may fall
//! either side, and may differ from `geo`'s `Contains` (which says "not inside" for every
//! boundary point). Off the boundary the index agrees with `geo` (property test in
//! `zones::tests`). Parts of one zone that overlap each other cancel out (even-odd), as in
//! most GIS tools; such a multipolygon is invalid anyway.

use geo::{BoundingRect, MultiPolygon, Polygon};

use super::{wrap_lon, Zone};
use crate::world::ZoneIdx;

/// An edge, ready for the crossing test: `(ya > y) != (yb > y) && xa + (y - ya) * dxdy < x`.
#[derive(Debug, Clone, Copy)]
struct Seg {
    ya: f64,
    yb: f64,
    xa: f64,
    dxdy: f64,
}

/// What a cell knows about one zone.
#[derive(Debug, Clone, Copy)]
struct Entry {
    zone: u32,
    /// `INSIDE`, or the base status of a boundary cell and the ray's direction: westward from
    /// the uniform cell west of the run (`BASE_OUT` / `BASE_IN`) or eastward from the one east
    /// of it (`BASE_OUT_EAST` / `BASE_IN_EAST`).
    state: u32,
    /// The edges to test, `segs[start..start + len]` (boundary cells only).
    start: u32,
    len: u32,
}

impl Entry {
    /// The entry as a record of the cell's stretch: its bits in `ya` (zone, state) and `yb`
    /// (edge count).
    fn to_rec(self) -> Seg {
        Seg {
            ya: f64::from_bits(((self.state as u64) << 32) | self.zone as u64),
            yb: f64::from_bits(self.len as u64),
            xa: 0.0,
            dxdy: 0.0,
        }
    }
}

const INSIDE: u32 = 0;
const BASE_OUT: u32 = 1;
const BASE_IN: u32 = 2;
const BASE_OUT_EAST: u32 = 3;
const BASE_IN_EAST: u32 = 4;

/// Grid sizing: cells per edge, and bounds on the cell count.
const CELLS_PER_EDGE: f64 = 2.0;
const MIN_CELLS: f64 = 65_536.0;
const MAX_CELLS: f64 = 4_194_304.0;

/// See the module doc.
#[derive(Debug, Clone)]
pub(crate) struct ZoneIndex {
    x0: f64,
    y0: f64,
    cell_deg: f64,
    inv_cell: f64,
    cols: usize,
    rows: usize,
    /// Cell `i`'s records are `recs[cell_start[i]..cell_start[i + 1]]`: per zone present, a
    /// header ([`Entry::to_rec`]) followed by the edges to test, copied inline so that a
    /// lookup reads one contiguous stretch of memory after the cell table.
    cell_start: Vec<u32>,
    recs: Vec<Seg>,
    /// Build-time only: the runs' edges, shared by the run's cells.
    segs: Vec<Seg>,
}

impl ZoneIndex {
    /// An index of no zones.
    pub(crate) fn empty() -> ZoneIndex {
        ZoneIndex {
            x0: 0.0,
            y0: 0.0,
            cell_deg: 1.0,
            inv_cell: 1.0,
            cols: 0,
            rows: 0,
            cell_start: vec![0],
            recs: Vec::new(),
            segs: Vec::new(),
        }
    }

    /// Indexes the zones (a zone crossing the antimeridian is indexed twice: as stored, and
    /// shifted a turn west, so points in [-180, 180) find it).
    pub(crate) fn build(zones: &[Zone]) -> Result<ZoneIndex, String> {
        let parts: Vec<Vec<Polygon<f64>>> = zones
            .iter()
            .map(|z| indexed_polygons(z.geometry()))
            .collect();
        let mut bbox: Option<(f64, f64, f64, f64)> = None;
        let mut edges = 0usize;
        for poly in parts.iter().flatten() {
            if let Some(r) = poly.bounding_rect() {
                bbox = Some(match bbox {
                    None => (r.min().x, r.min().y, r.max().x, r.max().y),
                    Some((a, b, c, d)) => (
                        a.min(r.min().x),
                        b.min(r.min().y),
                        c.max(r.max().x),
                        d.max(r.max().y),
                    ),
                });
            }
            edges +=
                poly.exterior().0.len() + poly.interiors().iter().map(|r| r.0.len()).sum::<usize>();
        }
        let Some((min_x, min_y, max_x, max_y)) = bbox else {
            return Ok(ZoneIndex::empty());
        };
        let (w, h) = ((max_x - min_x).max(1e-6), (max_y - min_y).max(1e-6));
        let cells = (edges as f64 * CELLS_PER_EDGE).clamp(MIN_CELLS, MAX_CELLS);
        let cell_deg = (w * h / cells).sqrt();
        // One cell of margin on every side: west of column 0 is outside every zone.
        let cols = (w / cell_deg).ceil() as usize + 2;
        let rows = (h / cell_deg).ceil() as usize + 2;
        let mut ix = ZoneIndex {
            x0: min_x - cell_deg,
            y0: min_y - cell_deg,
            cell_deg,
            inv_cell: 1.0 / cell_deg,
            cols,
            rows,
            cell_start: Vec::new(),
            recs: Vec::new(),
            segs: Vec::new(),
        };
        let mut cell_entries: Vec<(u32, Entry)> = Vec::new();
        for (zi, polys) in parts.iter().enumerate() {
            ix.add_zone(zi as u32, polys, &mut cell_entries);
        }
        // Stable: within a cell, entries stay in zone order.
        cell_entries.sort_by_key(|&(cell, _)| cell);
        let ncells = cols * rows;
        let mut cell_start = Vec::with_capacity(ncells + 1);
        let mut recs = Vec::new();
        let mut k = 0;
        for cell in 0..ncells as u32 {
            // Checked below: a wrapped start only matters if the total overflows, which fails.
            cell_start.push(recs.len() as u32);
            while k < cell_entries.len() && cell_entries[k].0 == cell {
                let e = cell_entries[k].1;
                recs.push(e.to_rec());
                let start = e.start as usize;
                recs.extend_from_slice(&ix.segs[start..start + e.len as usize]);
                k += 1;
            }
        }
        if recs.len() > u32::MAX as usize {
            return Err(format!(
                "the zone set is too large to index ({} records)",
                recs.len()
            ));
        }
        cell_start.push(recs.len() as u32);
        ix.cell_start = cell_start;
        ix.recs = recs;
        ix.segs = Vec::new();
        Ok(ix)
    }

    /// Sweeps the zone's edges row by row (see the module doc).
    fn add_zone(&mut self, zone: u32, polys: &[Polygon<f64>], out: &mut Vec<(u32, Entry)>) {
        let eps = self.cell_deg * 1e-6;
        let mut segs: Vec<Seg> = Vec::new();
        // (row, first col, last col, seg index): the cells of a row an edge touches.
        let mut touches: Vec<(u32, u32, u32, u32)> = Vec::new();
        for poly in polys {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let si = segs.len() as u32;
                    let dxdy = if a.y == b.y {
                        0.0
                    } else {
                        (b.x - a.x) / (b.y - a.y)
                    };
                    segs.push(Seg {
                        ya: a.y,
                        yb: b.y,
                        xa: a.x,
                        dxdy,
                    });
                    let r0 = self.row_of(a.y.min(b.y) - eps);
                    let r1 = self.row_of(a.y.max(b.y) + eps);
                    for r in r0..=r1 {
                        let lo = self.y0 + r as f64 * self.cell_deg - eps;
                        let hi = lo + self.cell_deg + 2.0 * eps;
                        let (xl, xh) = clip_x(a.x, a.y, b.x, b.y, lo, hi);
                        let c0 = self.col_of(xl - eps);
                        let c1 = self.col_of(xh + eps);
                        touches.push((r as u32, c0 as u32, c1 as u32, si));
                    }
                }
            }
        }
        touches.sort_unstable();
        let mut i = 0;
        while i < touches.len() {
            let row = touches[i].0;
            let mut j = i;
            while j < touches.len() && touches[j].0 == row {
                j += 1;
            }
            self.sweep_row(zone, row as usize, &touches[i..j], &segs, out);
            i = j;
        }
    }

    /// One row of one zone: runs of touched cells, uniform cells between them.
    fn sweep_row(
        &mut self,
        zone: u32,
        row: usize,
        touches: &[(u32, u32, u32, u32)],
        segs: &[Seg],
        out: &mut Vec<(u32, Entry)>,
    ) {
        let yc = self.y0 + (row as f64 + 0.5) * self.cell_deg;
        let row_base = (row * self.cols) as u32;
        let mut inside = false;
        let mut prev_end: Option<u32> = None;
        let mut k = 0;
        while k < touches.len() {
            // A run: touches sorted by first column, merged while they overlap or abut.
            let run_start = touches[k].1;
            let mut run_end = touches[k].2;
            let mut m = k + 1;
            while m < touches.len() && touches[m].1 <= run_end + 1 {
                run_end = run_end.max(touches[m].2);
                m += 1;
            }
            // Uniform cells between the previous run and this one.
            if inside {
                if let Some(pe) = prev_end {
                    for c in pe + 1..run_start {
                        out.push((
                            row_base + c,
                            Entry {
                                zone,
                                state: INSIDE,
                                start: 0,
                                len: 0,
                            },
                        ));
                    }
                }
            }
            let base_west = inside;
            for t in &touches[k..m] {
                let s = segs[t.3 as usize];
                if (s.ya > yc) != (s.yb > yc) {
                    inside = !inside;
                }
            }
            let base_east = inside;
            // The run's edges twice: by first column (a westward ray from column c meets
            // a prefix: those starting at or before c) and by last column, descending (an
            // eastward ray meets those ending at or after c). Each cell takes the shorter.
            let run = &touches[k..m];
            let west_start = self.segs.len() as u32;
            self.segs.extend(run.iter().map(|t| segs[t.3 as usize]));
            let mut by_last: Vec<(u32, u32)> = run.iter().map(|t| (t.2, t.3)).collect();
            by_last.sort_unstable_by_key(|&(last, _)| std::cmp::Reverse(last));
            let east_start = self.segs.len() as u32;
            self.segs
                .extend(by_last.iter().map(|&(_, si)| segs[si as usize]));
            let (mut n_west, mut n_east) = (0usize, by_last.len());
            for c in run_start..=run_end {
                while n_west < run.len() && run[n_west].1 <= c {
                    n_west += 1;
                }
                while n_east > 0 && by_last[n_east - 1].0 < c {
                    n_east -= 1;
                }
                let entry = if n_west <= n_east {
                    let state = if base_west { BASE_IN } else { BASE_OUT };
                    Entry {
                        zone,
                        state,
                        start: west_start,
                        len: n_west as u32,
                    }
                } else {
                    let state = if base_east {
                        BASE_IN_EAST
                    } else {
                        BASE_OUT_EAST
                    };
                    Entry {
                        zone,
                        state,
                        start: east_start,
                        len: n_east as u32,
                    }
                };
                out.push((row_base + c, entry));
            }
            prev_end = Some(run_end);
            k = m;
        }
    }

    fn row_of(&self, y: f64) -> usize {
        (((y - self.y0) * self.inv_cell).floor().max(0.0) as usize).min(self.rows - 1)
    }

    fn col_of(&self, x: f64) -> usize {
        (((x - self.x0) * self.inv_cell).floor().max(0.0) as usize).min(self.cols - 1)
    }

    /// What a lookup at the point costs: (zone entries in its cell, edges tested, cells in
    /// the grid).
    pub(crate) fn cost(&self, lat: f64, lon: f64) -> (usize, usize, usize) {
        let x = wrap_lon(lon);
        let fx = (x - self.x0) * self.inv_cell;
        let fy = (lat - self.y0) * self.inv_cell;
        if !(fx >= 0.0 && fy >= 0.0 && fx < self.cols as f64 && fy < self.rows as f64) {
            return (0, 0, 0);
        }
        let cell = fy as usize * self.cols + fx as usize;
        let (mut i, b) = (
            self.cell_start[cell] as usize,
            self.cell_start[cell + 1] as usize,
        );
        let (mut entries, mut edges) = (0, 0);
        while i < b {
            let len = self.recs[i].yb.to_bits() as usize;
            entries += 1;
            edges += len;
            i += 1 + len;
        }
        (entries, edges, self.cols * self.rows)
    }

    /// Bytes the index holds.
    pub(crate) fn bytes(&self) -> usize {
        self.cell_start.len() * 4 + self.recs.len() * std::mem::size_of::<Seg>()
    }

    /// Appends the zones containing (`lat`, `lon`), ascending.
    #[inline]
    pub(crate) fn query(&self, lat: f64, lon: f64, out: &mut Vec<ZoneIdx>) {
        let x = wrap_lon(lon);
        let fx = (x - self.x0) * self.inv_cell;
        let fy = (lat - self.y0) * self.inv_cell;
        // Written so NaN fails too.
        if !(fx >= 0.0 && fy >= 0.0 && fx < self.cols as f64 && fy < self.rows as f64) {
            return;
        }
        let cell = fy as usize * self.cols + fx as usize;
        let (mut i, b) = (
            self.cell_start[cell] as usize,
            self.cell_start[cell + 1] as usize,
        );
        while i < b {
            let head = self.recs[i].ya.to_bits();
            let (zone, state) = (head as u32, (head >> 32) as u32);
            let len = self.recs[i].yb.to_bits() as usize;
            i += 1;
            if state == INSIDE {
                out.push(zone);
                continue;
            }
            let mut inside = state == BASE_IN || state == BASE_IN_EAST;
            let edges = &self.recs[i..i + len];
            if state <= BASE_IN {
                for s in edges {
                    if ((s.ya > lat) != (s.yb > lat)) && s.xa + (lat - s.ya) * s.dxdy < x {
                        inside = !inside;
                    }
                }
            } else {
                for s in edges {
                    if ((s.ya > lat) != (s.yb > lat)) && s.xa + (lat - s.ya) * s.dxdy > x {
                        inside = !inside;
                    }
                }
            }
            i += len;
            if inside {
                out.push(zone);
            }
        }
    }
}

/// The polygons to index for a zone: each as stored, plus a copy a turn west when it
/// reaches past 180.
fn indexed_polygons(mp: &MultiPolygon<f64>) -> Vec<Polygon<f64>> {
    let mut out = Vec::with_capacity(mp.0.len());
    for p in &mp.0 {
        out.push(p.clone());
        if p.bounding_rect().is_some_and(|r| r.max().x > 180.0) {
            let mut q = p.clone();
            q.exterior_mut(|r| r.0.iter_mut().for_each(|c| c.x -= 360.0));
            q.interiors_mut(|rs| {
                rs.iter_mut()
                    .for_each(|r| r.0.iter_mut().for_each(|c| c.x -= 360.0))
            });
            out.push(q);
        }
    }
    out
}

/// The longitude range of segment a-b within latitudes [lo, hi].
fn clip_x(ax: f64, ay: f64, bx: f64, by: f64, lo: f64, hi: f64) -> (f64, f64) {
    if ay == by {
        return (ax.min(bx), ax.max(bx));
    }
    let t0 = ((lo - ay) / (by - ay)).clamp(0.0, 1.0);
    let t1 = ((hi - ay) / (by - ay)).clamp(0.0, 1.0);
    let xa = ax + (bx - ax) * t0;
    let xb = ax + (bx - ax) * t1;
    (xa.min(xb), xa.max(xb))
}
