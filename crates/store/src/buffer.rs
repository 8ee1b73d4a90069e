//! The write buffer: positions as flat records with their sources as ids into a label table,
//! so buffering a position allocates nothing and a flush sorts small keys.

use crate::PositionRow;
use crate::DAY_MS;
use rustc_hash::FxHashMap;

/// A buffered position: every field of [`PositionRow`], with the sources as a range of
/// [`Buffer::ids`], or the one source itself (every row of the simulated feed, two thirds of
/// the real-mix bench's: the rest were heard by several stations), so that writing a file,
/// which reads the rows in store order, does not also read `ids` in arrival order for them (a
/// cache miss a row).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Core {
    pub time_ms: i64,
    pub mmsi: u32,
    pub lat: f64,
    pub lon: f64,
    pub sog_knots: Option<f32>,
    pub cog_deg: Option<f32>,
    pub heading_deg: Option<u16>,
    pub nav_status: Option<u8>,
    pub msg_type: u8,
    pub segment: Option<u32>,
    pub flags: u8,
    /// The first of the row's ids in [`Buffer::ids`]; its one id when `src_len` is 1.
    src_start: u32,
    src_len: u32,
}

impl Core {
    /// The row's source ids, in the `ids` of the buffer it came from.
    pub fn sources<'a>(&'a self, ids: &'a [u32]) -> &'a [u32] {
        if self.src_len == 1 {
            return std::slice::from_ref(&self.src_start);
        }
        &ids[self.src_start as usize..(self.src_start + self.src_len) as usize]
    }

    /// Sets the row's sources, appending them to `ids` unless there is one.
    fn set_sources(&mut self, ids: &mut Vec<u32>, sources: &[u32]) {
        self.src_len = sources.len() as u32;
        if let [one] = sources {
            self.src_start = *one;
        } else {
            self.src_start = ids.len() as u32;
            ids.extend_from_slice(sources);
        }
    }

    fn of(r: &PositionRow) -> Core {
        Core {
            time_ms: r.time_ms,
            mmsi: r.mmsi,
            lat: r.lat,
            lon: r.lon,
            sog_knots: r.sog_knots,
            cog_deg: r.cog_deg,
            heading_deg: r.heading_deg,
            nav_status: r.nav_status,
            msg_type: r.msg_type,
            segment: r.segment,
            flags: r.flags,
            src_start: 0,
            src_len: 0,
        }
    }
}

/// Source labels, each stored once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Labels {
    pub names: Vec<String>,
    ids: FxHashMap<String, u32>,
}

impl Labels {
    pub fn id(&mut self, label: &str) -> u32 {
        if let Some(&id) = self.ids.get(label) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(label.to_owned());
        self.ids.insert(label.to_owned(), id);
        id
    }
}

/// Buffered positions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buffer {
    pub rows: Vec<Core>,
    pub ids: Vec<u32>,
    /// The (day, MMSI) groups of the rows, numbered as they first came...
    groups: FxHashMap<(i64, u32), u32>,
    /// ... their keys and row counts by number ...
    keys: Vec<((i64, u32), usize)>,
    /// ... and the group of each row: counted as rows come (in cache), so that sorting for a
    /// flush reads the rows once.
    of_row: Vec<u32>,
    /// The rows in time order: every row not older than a row before it (nearly all: the
    /// fuser releases rows in time order), with its key beside its index, so that a late
    /// source's search by (MMSI, message time) reads this array alone (its upper levels stay
    /// in cache; the tens of rows of one second are contiguous) and touches one row ...
    in_order: Vec<Ordered>,
    /// ... and the others, released out of order, by (MMSI, message time) in a map. Only those
    /// few rows are hashed: a map of every row cost a random write per row.
    out_of_order: FxHashMap<(u32, i64), u32>,
}

/// A row of [`Buffer::in_order`]: its key and index.
#[derive(Debug, Clone, Copy)]
struct Ordered {
    time_ms: i64,
    mmsi: u32,
    row: u32,
}

impl Buffer {
    /// The days (since the epoch, UTC) of the rows, ascending, each once: one file each.
    pub fn days(&self) -> Vec<i64> {
        let mut days: Vec<i64> = self.keys.iter().map(|((day, _), _)| *day).collect();
        days.sort_unstable();
        days.dedup();
        days
    }

    /// An empty buffer with room for `rows` rows and `ids` source ids.
    pub fn with_capacity(rows: usize, ids: usize) -> Buffer {
        Buffer {
            rows: Vec::with_capacity(rows),
            ids: Vec::with_capacity(ids),
            of_row: Vec::with_capacity(rows),
            in_order: Vec::with_capacity(rows),
            ..Buffer::default()
        }
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.ids.clear();
        self.groups.clear();
        self.keys.clear();
        self.of_row.clear();
        self.in_order.clear();
        self.out_of_order.clear();
    }

    /// Buffers `row` (its own `sources` are ignored) heard by the sources `ids`.
    pub fn push(&mut self, row: &PositionRow, ids: &[u32]) {
        let mut c = Core::of(row);
        c.set_sources(&mut self.ids, ids);
        let i = self.rows.len() as u32;
        if self.in_order.last().is_none_or(|o| o.time_ms <= c.time_ms) {
            self.in_order.push(Ordered {
                time_ms: c.time_ms,
                mmsi: c.mmsi,
                row: i,
            });
        } else {
            self.out_of_order.insert((c.mmsi, c.time_ms), i);
        }
        self.rows.push(c);
        let day = row.time_ms.div_euclid(DAY_MS);
        let keys = &mut self.keys;
        let g = *self.groups.entry((day, row.mmsi)).or_insert_with(|| {
            keys.push(((day, row.mmsi), 0));
            keys.len() as u32 - 1
        });
        keys[g as usize].1 += 1;
        self.of_row.push(g);
    }

    /// The source ids of a buffered row.
    pub fn sources<'a>(&'a self, c: &'a Core) -> &'a [u32] {
        c.sources(&self.ids)
    }

    /// Adds source `id` to the buffered row of `mmsi` at `time_ms` (at `position`, when
    /// given); false when there is none.
    pub fn add_source(
        &mut self,
        mmsi: u32,
        time_ms: i64,
        position: Option<(f64, f64)>,
        id: u32,
    ) -> bool {
        // Rows are appended in time order, except for out-of-order releases: the first row of
        // that MMSI and time in order (two rows may share both) at that position, else the
        // last one out of order (in the map).
        let rows = &self.rows;
        let at = |i: usize| crate::late_copy_of(rows[i].lat, rows[i].lon, position);
        let from = self.in_order.partition_point(|o| o.time_ms < time_ms);
        let hit = self.in_order[from..]
            .iter()
            .take_while(|o| o.time_ms == time_ms)
            .filter(|o| o.mmsi == mmsi)
            .map(|o| o.row as usize)
            .find(|&i| at(i))
            .or_else(|| {
                self.out_of_order
                    .get(&(mmsi, time_ms))
                    .map(|&i| i as usize)
                    .filter(|&i| at(i))
            });
        let Some(i) = hit else {
            return false;
        };
        let c = self.rows[i];
        if self.sources(&c).contains(&id) {
            return true;
        }
        // Move the row's ids to the end, with the new one.
        let mut all = self.sources(&c).to_vec();
        all.push(id);
        self.rows[i].set_sources(&mut self.ids, &all);
        true
    }

    /// The rows in store order, (day, MMSI, message time, arrival), copied into `out`
    /// (replacing its contents); returns each day with its range of `out`, days ascending.
    ///
    /// A counting sort by (day, MMSI): the groups were counted as rows came; one pass scatters
    /// the rows to their group's place. It reads the rows in sequence and writes to as many
    /// places at once as there are vessels, so it stays in cache where gathering rows through
    /// a sorted index would miss on nearly every row. The scatter keeps arrival order within a
    /// group; rows arrive in message-time order (the fuser releases them so), and a group that
    /// did not (out-of-order releases) is sorted by time, stably.
    pub fn sorted_into(&self, out: &mut Vec<Core>) -> Vec<(i64, std::ops::Range<usize>)> {
        let keys = &self.keys;
        let mut by_key: Vec<u32> = (0..keys.len() as u32).collect();
        by_key.sort_unstable_by_key(|&g| keys[g as usize].0);
        // Each group's next place in `out`, and the day ranges.
        let mut next = vec![0usize; keys.len()];
        let mut days: Vec<(i64, std::ops::Range<usize>)> = Vec::new();
        let mut group_ranges = Vec::with_capacity(keys.len());
        let mut at = 0;
        for &g in &by_key {
            let ((d, _), n) = keys[g as usize];
            match days.last_mut() {
                Some((last, range)) if *last == d => range.end = at + n,
                _ => days.push((d, at..at + n)),
            }
            next[g as usize] = at;
            group_ranges.push(at..at + n);
            at += n;
        }
        out.clear();
        out.resize(self.rows.len(), Core::default());
        for (r, &g) in self.rows.iter().zip(&self.of_row) {
            let i = &mut next[g as usize];
            out[*i] = *r;
            *i += 1;
        }
        for range in group_ranges {
            let rows = &mut out[range];
            if !rows.is_sorted_by_key(|r| r.time_ms) {
                rows.sort_by_key(|r| r.time_ms);
            }
        }
        days
    }

    /// Rows and ids of `rows` (with their own sources), labels interned in `labels`.
    pub fn of_rows(rows: &[PositionRow], labels: &mut Labels) -> Buffer {
        let mut b = Buffer::default();
        let mut ids = Vec::new();
        for r in rows {
            ids.clear();
            ids.extend(r.sources.iter().map(|s| labels.id(s)));
            b.push(r, &ids);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mmsi: u32, time_ms: i64) -> PositionRow {
        PositionRow {
            time_ms,
            mmsi,
            lat: 1.0,
            lon: 2.0,
            sog_knots: None,
            cog_deg: None,
            heading_deg: None,
            nav_status: None,
            msg_type: 1,
            segment: None,
            flags: 0,
            sources: Vec::new(),
        }
    }

    /// Issue 16: late copies of rows released out of order are found, and so are those of
    /// rows in order pushed after them.
    #[test]
    fn late_sources_find_rows_released_out_of_order() {
        let mut b = Buffer::default();
        for t in [10, 20, 5, 30, 15] {
            b.push(&row(t as u32, t * 1000), &[0]);
        }
        for t in [10, 20, 5, 30, 15] {
            assert!(b.add_source(t as u32, t * 1000, None, 1), "row at {t}");
        }
        b.push(&row(7, 3_000), &[0]);
        assert!(b.add_source(7, 3_000, None, 2));
        assert!(!b.add_source(7, 4_000, None, 2));
        assert!(!b.add_source(8, 3_000, None, 2));
        let srcs: Vec<Vec<u32>> = b.rows.iter().map(|c| b.sources(c).to_vec()).collect();
        assert_eq!(
            srcs,
            [
                vec![0, 1],
                vec![0, 1],
                vec![0, 1],
                vec![0, 1],
                vec![0, 1],
                vec![0, 2]
            ]
        );
        b.clear();
        assert!(!b.add_source(7, 3_000, None, 2));
    }

    /// A row heard by one source keeps it in the row (nothing in `ids`); rows with none or
    /// several, and a one-source row given a second, read back their sources in order.
    #[test]
    fn sources_of_zero_one_and_many_read_back() {
        let mut b = Buffer::default();
        b.push(&row(1, 1_000), &[]);
        b.push(&row(2, 2_000), &[7]);
        b.push(&row(3, 3_000), &[4, 5]);
        b.push(&row(4, 4_000), &[9]);
        assert_eq!(b.ids, [4, 5], "single sources are kept in their rows");
        assert!(b.add_source(2, 2_000, None, 8));
        assert!(b.add_source(1, 1_000, None, 6));
        assert!(b.add_source(2, 2_000, None, 7), "already a source");
        let srcs: Vec<Vec<u32>> = b.rows.iter().map(|c| b.sources(c).to_vec()).collect();
        assert_eq!(srcs, [vec![6], vec![7, 8], vec![4, 5], vec![9]]);
        let mut sorted = Vec::new();
        b.sorted_into(&mut sorted);
        let srcs: Vec<Vec<u32>> = sorted.iter().map(|c| b.sources(c).to_vec()).collect();
        assert_eq!(srcs, [vec![6], vec![7, 8], vec![4, 5], vec![9]]);
    }

    /// One MMSI at one time in two places (a shared or spoofed MMSI): a late copy's source
    /// goes to the row at its position only, and to none when neither is there.
    #[test]
    fn a_late_source_goes_to_the_row_at_its_position() {
        let mut b = Buffer::default();
        let at = |lat: f64| PositionRow {
            lat,
            ..row(7, 3_000)
        };
        b.push(&at(10.0), &[0]);
        b.push(&at(12.0), &[0]);
        assert!(b.add_source(7, 3_000, Some((12.0, 2.0)), 1));
        assert!(!b.add_source(7, 3_000, Some((11.0, 2.0)), 2));
        let srcs: Vec<Vec<u32>> = b.rows.iter().map(|c| b.sources(c).to_vec()).collect();
        assert_eq!(srcs, [vec![0], vec![0, 1]]);
    }

    /// Two rows of one MMSI and time (two transmissions in one second): a late source goes
    /// to the first in order, else to the last pushed out of order.
    #[test]
    fn a_late_source_of_a_shared_mmsi_and_time_goes_to_one_row() {
        let mut b = Buffer::default();
        for (m, t) in [(1, 10), (1, 10), (2, 20), (3, 30)] {
            b.push(&row(m, t * 1000), &[0]);
        }
        assert!(b.add_source(1, 10_000, None, 1));
        // Out of order: two rows of MMSI 4 at 5 s, after rows at 30 s.
        b.push(&row(4, 5_000), &[0]);
        b.push(&row(4, 5_000), &[0]);
        assert!(b.add_source(4, 5_000, None, 2));
        let srcs: Vec<Vec<u32>> = b.rows.iter().map(|c| b.sources(c).to_vec()).collect();
        assert_eq!(
            srcs,
            [vec![0, 1], vec![0], vec![0], vec![0], vec![0], vec![0, 2]]
        );
    }
}
