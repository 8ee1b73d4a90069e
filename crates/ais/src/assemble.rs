//! Reassembly of multi-sentence messages.
//!
//! Fragments are grouped by the tag-block group id when the sentence carries one (`g:1-2-73`),
//! otherwise by talker, VDM/VDO, channel, sequential message id and fragment count. Fragments may
//! arrive interleaved with other groups and out of order. Memory is bounded: at most
//! [`AssemblerConfig::max_groups`] groups are open, a group older than
//! [`AssemblerConfig::max_age_lines`] lines expires, and a flood of orphan fragments only ever
//! evicts the oldest group. Every fragment's line weight ends in exactly one place: a message,
//! a reject (orphan, duplicate, bad payload), or the pending count at the end.

use crate::bits::Payload;
use crate::error::Reject;
use crate::stream::{Meta, Stats};

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssemblerConfig {
    /// Most groups open at once (default 256); the oldest is evicted to make room.
    pub max_groups: usize,
    /// A group whose first fragment is this many lines old expires (default 1000).
    pub max_age_lines: u64,
    /// Without a tag-block group id, a later fragment that arrived before its first fragment
    /// is joined by a first fragment only within this many lines (default 4). NMEA sequence ids
    /// cycle through ten values, so a lone second fragment (its first lost) would otherwise be
    /// completed by the next message's first fragment.
    pub reorder_lines: u64,
}

impl Default for AssemblerConfig {
    fn default() -> Self {
        AssemblerConfig {
            max_groups: 256,
            max_age_lines: 1000,
            reorder_lines: 4,
        }
    }
}

/// How fragments of one message find each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// Tag-block group id and size.
    Tag {
        /// Group id hash.
        id: u64,
        /// Sentences in the group.
        total: u8,
    },
    /// NMEA fields.
    Nmea {
        /// Talker id.
        talker: [u8; 2],
        /// VDO rather than VDM.
        own_ship: bool,
        /// Radio channel.
        channel: Option<u8>,
        /// Sequential message id.
        seq_id: Option<u8>,
        /// Fragment count.
        total: u8,
        /// Hash of the receiver named on the sentence itself (its tag block `s:` or USCG
        /// station field), 0 when it names none: fragments heard by different receivers of a
        /// merged feed do not mix.
        receiver: u64,
    },
}

impl GroupKey {
    /// Whether a fragment with key `other` belongs to a group with this key. Receivers must be
    /// equal when both fragments name one; a fragment that names none (tag blocks on later
    /// fragments often carry only the group) matches any.
    fn accepts(&self, other: &GroupKey) -> bool {
        match (self, other) {
            (
                GroupKey::Nmea {
                    talker,
                    own_ship,
                    channel,
                    seq_id,
                    total,
                    receiver,
                },
                GroupKey::Nmea {
                    talker: t2,
                    own_ship: o2,
                    channel: c2,
                    seq_id: s2,
                    total: n2,
                    receiver: r2,
                },
            ) => {
                (talker, own_ship, channel, seq_id, total) == (t2, o2, c2, s2, n2)
                    && (receiver == r2 || *receiver == 0 || *r2 == 0)
            }
            (a, b) => a == b,
        }
    }
}

/// FNV-1a hash of a receiver name (never 0 for a non-empty name in practice; 0 means none).
pub fn receiver_hash(name: Option<&[u8]>) -> u64 {
    let Some(name) = name else { return 0 };
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in name {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// One fragment offered to the assembler.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Grouping key.
    pub key: GroupKey,
    /// Fragment count.
    pub total: u8,
    /// Fragment number (1-based).
    pub number: u8,
    /// Armored payload.
    pub payload: &'a [u8],
    /// Fill bits.
    pub fill_bits: u8,
    /// Metadata known from this fragment's lines.
    pub meta: Meta,
    /// Input lines this fragment accounts for.
    pub weight: u32,
    /// Line number of the fragment.
    pub line: u64,
}

/// An owned fragment (the parallel decoder hands these to a sequential assembler).
#[derive(Debug, Clone)]
pub struct OwnedFragment {
    /// Grouping key.
    pub key: GroupKey,
    /// Fragment count.
    pub total: u8,
    /// Fragment number.
    pub number: u8,
    /// Armored payload.
    pub payload: Vec<u8>,
    /// Fill bits.
    pub fill_bits: u8,
    /// Metadata.
    pub meta: Meta,
    /// Input lines accounted for.
    pub weight: u32,
    /// Line number.
    pub line: u64,
}

impl OwnedFragment {
    /// Borrows as a [`Fragment`].
    pub fn as_fragment(&self) -> Fragment<'_> {
        Fragment {
            key: self.key,
            total: self.total,
            number: self.number,
            payload: &self.payload,
            fill_bits: self.fill_bits,
            meta: self.meta,
            weight: self.weight,
            line: self.line,
        }
    }
}

impl From<Fragment<'_>> for OwnedFragment {
    fn from(f: Fragment<'_>) -> Self {
        OwnedFragment {
            key: f.key,
            total: f.total,
            number: f.number,
            payload: f.payload.to_vec(),
            fill_bits: f.fill_bits,
            meta: f.meta,
            weight: f.weight,
            line: f.line,
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Slot {
    key: Option<GroupKey>,
    first_line: u64,
    have: u16,
    weight: u32,
    parts: [(u32, u32, u8); 9],
    data: Vec<u8>,
    meta: Meta,
}

/// Result of a completed group.
#[derive(Debug, Clone, Copy)]
pub struct Completed {
    /// Merged metadata.
    pub meta: Meta,
    /// Input lines of all fragments.
    pub weight: u32,
}

/// The multi-sentence reassembler.
#[derive(Debug)]
pub struct Assembler {
    cfg: AssemblerConfig,
    slots: Vec<Slot>,
    free: Vec<Slot>,
    /// Rejects since the last [`Assembler::take_rejects`]: reason and the number of the
    /// group's (or fragment's) last line.
    rejects: Vec<(Reject, u64)>,
}

impl Assembler {
    /// A reassembler with the given limits.
    pub fn new(cfg: AssemblerConfig) -> Self {
        Assembler {
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            rejects: Vec::new(),
        }
    }

    /// The fragment rejects (orphan and duplicate fragments) counted since the last call, each
    /// with the number of its last line, oldest first; they are already in the `Stats`.
    pub fn take_rejects(&mut self) -> std::vec::Drain<'_, (Reject, u64)> {
        self.rejects.drain(..)
    }

    /// Number of open groups.
    pub fn open_groups(&self) -> usize {
        self.slots.len()
    }

    /// Lines held by open groups.
    pub fn pending_weight(&self) -> u64 {
        self.slots.iter().map(|s| s.weight as u64).sum()
    }

    /// Offers a fragment. When it completes a message, the message's bits are written to `out`
    /// and its metadata returned; `Err` carries the reject of a group whose payload is bad.
    pub fn push(
        &mut self,
        f: Fragment<'_>,
        out: &mut Payload,
        stats: &mut Stats,
    ) -> Option<Result<Completed, (Reject, u32)>> {
        self.expire(f.line, stats);
        let bit = 1u16 << (f.number - 1);
        let reorder = self.cfg.reorder_lines;
        let found = self
            .slots
            .iter()
            .position(|s| s.key == Some(f.key))
            .or_else(|| {
                self.slots
                    .iter()
                    .position(|s| s.key.is_some_and(|k| k.accepts(&f.key)))
            });
        let idx = match found {
            // A first fragment meeting later fragments that have waited too long: those belong
            // to an earlier message whose first fragment was lost.
            Some(i)
                if f.number == 1
                    && self.slots[i].have & 1 == 0
                    && matches!(f.key, GroupKey::Nmea { .. })
                    && f.line.saturating_sub(self.slots[i].first_line) > reorder =>
            {
                self.evict(i, stats);
                self.open(f, stats)
            }
            Some(i) if self.slots[i].have & bit != 0 => {
                if f.number == 1 {
                    // A new message reusing the id: the old group will never complete.
                    self.evict(i, stats);
                    self.open(f, stats)
                } else {
                    stats.reject(Reject::DuplicateFragment, f.weight);
                    self.rejects.push((Reject::DuplicateFragment, f.line));
                    return None;
                }
            }
            Some(i) => i,
            None => self.open(f, stats),
        };
        let s = &mut self.slots[idx];
        let start = s.data.len() as u32;
        s.data.extend_from_slice(f.payload);
        s.parts[f.number as usize - 1] = (start, f.payload.len() as u32, f.fill_bits);
        s.have |= bit;
        s.weight += f.weight;
        s.meta.merge(&f.meta);
        if f.number == 1 {
            // The first fragment's metadata wins (tag blocks carry time/source there).
            let mut m = f.meta;
            m.merge(&s.meta);
            s.meta = m;
        }
        s.meta.line = f.line;
        if s.have != (1u16 << f.total) - 1 {
            return None;
        }
        let slot = self.slots.swap_remove(idx);
        // Fill bits pad the end of the message only; some producers repeat the last
        // fragment's value on earlier ones, which must not cut bits out of the middle.
        let total = f.total as usize;
        let last_fill = slot.parts[total - 1].2;
        let in_order = slot.parts[..total]
            .windows(2)
            .all(|w| w[0].0 + w[0].1 == w[1].0);
        let result = if in_order && slot.parts[total - 1].1 as usize * 6 >= last_fill as usize {
            // Fragments that arrived in order lie in order in `data`: one pass (the same bits
            // and errors as a push per fragment; a last fragment shorter than its fill bits
            // is a bad fill either way, so it goes the long way).
            out.set(&slot.data, last_fill)
        } else {
            let mut result = Ok(());
            out.set(b"", 0).ok();
            for n in 0..total {
                let (a, l, fill) = slot.parts[n];
                let fill = if n + 1 == total { fill } else { 0 };
                if let Err(e) = out.push(&slot.data[a as usize..(a + l) as usize], fill) {
                    result = Err(e);
                    break;
                }
            }
            result
        };
        let mut meta = slot.meta;
        meta.fragments = f.total;
        let weight = slot.weight;
        self.recycle(slot);
        Some(match result {
            Ok(()) => Ok(Completed { meta, weight }),
            Err(e) => Err((Reject::from(e), weight)),
        })
    }

    fn open(&mut self, f: Fragment<'_>, stats: &mut Stats) -> usize {
        if self.slots.len() >= self.cfg.max_groups {
            let oldest = (0..self.slots.len()).min_by_key(|&i| self.slots[i].first_line);
            if let Some(i) = oldest {
                self.evict(i, stats);
            }
        }
        let mut s = self.free.pop().unwrap_or_default();
        s.key = Some(f.key);
        s.first_line = f.line;
        s.have = 0;
        s.weight = 0;
        s.data.clear();
        s.meta = f.meta;
        self.slots.push(s);
        self.slots.len() - 1
    }

    fn evict(&mut self, i: usize, stats: &mut Stats) {
        let s = self.slots.swap_remove(i);
        stats.reject(Reject::OrphanFragment, s.weight);
        self.rejects.push((Reject::OrphanFragment, s.meta.line));
        self.recycle(s);
    }

    fn recycle(&mut self, mut s: Slot) {
        s.key = None;
        if self.free.len() < 64 {
            self.free.push(s);
        }
    }

    fn expire(&mut self, line: u64, stats: &mut Stats) {
        let max_age = self.cfg.max_age_lines;
        let mut i = 0;
        while i < self.slots.len() {
            if line.saturating_sub(self.slots[i].first_line) > max_age {
                self.evict(i, stats);
            } else {
                i += 1;
            }
        }
    }
}
