//! The once-only ledger: which life-cycle stages of which events have been seen, so a rule
//! fires at most once per (rule, event, stage), across restarts too.
//!
//! The rule: a stage is *observed* once per event, and only an observation fires rules. The
//! ledger records observations per event, not firings per rule: one line per event and
//! commit that changed it, whatever the number of rules.
//!
//! The file, `alerts-ledger.txt` in the store directory, is text, one line per observation:
//! `ID STAGES TIME_MS HASH`, where `STAGES` is a subset of `S` (start), `U` (update), `E`
//! (end), or `-` for a refresh of the time alone; `TIME_MS` the event's newest time (end,
//! else latest data, else start); `HASH` the FNV-1a 64 of the event's JSON when first seen
//! (a later commit of an open event with other JSON is its update). A batch's lines are
//! appended with one write and one `fsync` before its alerts are returned: a crash after that
//! loses at most the alerts of that batch, never doubles them (at most once). A torn last
//! line (a crash mid-write) is cut off when the ledger is opened; other lines that do not
//! parse are skipped and counted.
//!
//! Growth is bounded by *retention*, in event time: an event whose newest time is more than
//! `ledger_retention` (default 30 days) behind the newest event seen is forgotten, and an
//! event not in the ledger that old fires nothing when committed (counted `too_old`), so a
//! forgotten event never fires twice. An open event's time is refreshed with a `-` line at
//! most every half retention, so a long open event is not forgotten across a restart. When
//! the file has more than twice as many lines as remembered events plus 1,024, it is rewritten
//! (one line per event, to a temporary file, `fsync`, rename, `fsync` of the directory).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::config::Stage;

/// File name inside the store directory.
pub const LEDGER_FILE: &str = "alerts-ledger.txt";

#[derive(Debug, Clone, Copy)]
struct Entry {
    stages: u8,
    hash: u64,
    time_ms: i64,
    written_ms: i64,
}

/// What one commit of an event means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    /// Not remembered and older than the retention: fires nothing.
    TooOld,
    /// The stages first seen with this commit (bits of [`Stage::bit`], maybe none).
    Stages(u8),
}

#[derive(Debug)]
pub(crate) struct Ledger {
    path: PathBuf,
    file: File,
    entries: HashMap<String, Entry>,
    lines: usize,
    watermark_ms: i64,
    pruned_at_ms: i64,
    retention_ms: i64,
    pending: String,
    /// Lines skipped when opening (not parseable).
    pub bad_lines: u64,
    /// A torn last line was cut off when opening.
    pub torn_tail: bool,
    /// The file did not exist before this open.
    pub created: bool,
}

fn stage_letters(bits: u8) -> String {
    let mut s = String::new();
    for (st, c) in [(Stage::Start, 'S'), (Stage::Update, 'U'), (Stage::End, 'E')] {
        if bits & st.bit() != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push('-');
    }
    s
}

fn parse_line(line: &str) -> Option<(&str, u8, i64, u64)> {
    let mut it = line.split(' ');
    let id = it.next().filter(|s| !s.is_empty())?;
    let letters = it.next()?;
    let mut stages = 0;
    if letters != "-" {
        for c in letters.chars() {
            stages |= match c {
                'S' => Stage::Start.bit(),
                'U' => Stage::Update.bit(),
                'E' => Stage::End.bit(),
                _ => return None,
            };
        }
    }
    let time_ms = it.next()?.parse().ok()?;
    let hash = u64::from_str_radix(it.next()?, 16).ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((id, stages, time_ms, hash))
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> crate::AlertsError + '_ {
    move |source| crate::AlertsError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir`.
    pub fn open(dir: &Path, retention_ms: i64) -> Result<Ledger, crate::AlertsError> {
        let path = dir.join(LEDGER_FILE);
        let err = io_err(&path);
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(&err)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(&err)?;
        let mut torn_tail = false;
        if !text.is_empty() && !text.ends_with(b"\n") {
            let keep = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64).map_err(&err)?;
            file.sync_data().map_err(&err)?;
            text.truncate(keep);
            torn_tail = true;
        }
        let mut ledger = Ledger {
            path: path.clone(),
            file,
            entries: HashMap::new(),
            lines: 0,
            watermark_ms: i64::MIN,
            pruned_at_ms: i64::MIN,
            retention_ms,
            pending: String::new(),
            bad_lines: 0,
            torn_tail,
            created,
        };
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            ledger.lines += 1;
            let parsed = std::str::from_utf8(line).ok().and_then(parse_line);
            let Some((id, stages, time_ms, hash)) = parsed else {
                ledger.bad_lines += 1;
                continue;
            };
            let e = ledger.entries.entry(id.to_owned()).or_insert(Entry {
                stages: 0,
                hash,
                time_ms,
                written_ms: time_ms,
            });
            e.stages |= stages;
            e.time_ms = e.time_ms.max(time_ms);
            e.written_ms = e.time_ms;
            ledger.watermark_ms = ledger.watermark_ms.max(time_ms);
        }
        ledger.prune();
        ledger.compact_if_needed().map_err(&err)?;
        Ok(ledger)
    }

    /// Events remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Lines in the file (after the last commit).
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Records one commit of event `id` (open or not, newest time `time_ms`, JSON hash) and
    /// says which stages it is the first sight of. Lines wait for [`Ledger::commit`].
    pub fn observe(&mut self, id: &str, open: bool, time_ms: i64, hash: u64) -> Observed {
        let end = Stage::End.bit();
        let update = Stage::Update.bit();
        let horizon = self.watermark_ms.saturating_sub(self.retention_ms);
        let (new, write) = match self.entries.get_mut(id) {
            None => {
                if time_ms < horizon {
                    return Observed::TooOld;
                }
                let stages = Stage::Start.bit() | if open { 0 } else { end };
                self.entries.insert(
                    id.to_owned(),
                    Entry {
                        stages,
                        hash,
                        time_ms,
                        written_ms: time_ms,
                    },
                );
                (stages, Some((stages, time_ms, hash)))
            }
            Some(e) => {
                let mut new = 0;
                if !open {
                    if e.stages & end == 0 {
                        new = end;
                    }
                } else if e.stages & (update | end) == 0 && hash != e.hash {
                    new = update;
                }
                e.stages |= new;
                e.time_ms = e.time_ms.max(time_ms);
                let stale = e.time_ms.saturating_sub(e.written_ms) > self.retention_ms / 2;
                let write = if new != 0 || stale {
                    e.written_ms = e.time_ms;
                    Some((new, e.time_ms, e.hash))
                } else {
                    None
                };
                (new, write)
            }
        };
        if let Some((stages, t, h)) = write {
            use std::fmt::Write as _;
            let _ = writeln!(self.pending, "{id} {} {t} {h:016x}", stage_letters(stages));
            self.lines += 1;
        }
        self.watermark_ms = self.watermark_ms.max(time_ms);
        Observed::Stages(new)
    }

    /// Appends the pending lines and syncs them to disk; then forgets old events and rewrites
    /// the file when it has grown well past what it remembers.
    pub fn commit(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let r = self
                .file
                .write_all(self.pending.as_bytes())
                .and_then(|()| self.file.sync_data());
            self.pending.clear();
            r?;
        }
        if self.watermark_ms.saturating_sub(self.pruned_at_ms) > self.retention_ms / 100 {
            self.prune();
        }
        self.compact_if_needed()
    }

    fn prune(&mut self) {
        let horizon = self.watermark_ms.saturating_sub(self.retention_ms);
        self.entries.retain(|_, e| e.time_ms >= horizon);
        self.pruned_at_ms = self.watermark_ms;
    }

    fn compact_if_needed(&mut self) -> io::Result<()> {
        if self.lines <= 2 * self.entries.len() + 1024 {
            return Ok(());
        }
        let tmp = self.path.with_extension("txt.tmp");
        let mut out = String::with_capacity(self.entries.len() * 48);
        for (id, e) in &mut self.entries {
            use std::fmt::Write as _;
            let _ = writeln!(
                out,
                "{id} {} {} {:016x}",
                stage_letters(e.stages),
                e.time_ms,
                e.hash
            );
            e.written_ms = e.time_ms;
        }
        {
            let mut f = File::create(&tmp)?;
            f.write_all(out.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            // Makes the rename durable; a directory that cannot be opened (some platforms)
            // leaves it to the file system.
            if let Ok(d) = File::open(dir) {
                d.sync_all()?;
            }
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.lines = self.entries.len();
        Ok(())
    }
}

/// FNV-1a 64: a hash that stays the same across builds and restarts.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let bits = Stage::Start.bit() | Stage::End.bit();
        let line = format!("abc {} 42 {:016x}", stage_letters(bits), 7u64);
        assert_eq!(parse_line(&line), Some(("abc", bits, 42, 7)));
        assert_eq!(
            parse_line("abc - 42 0000000000000007"),
            Some(("abc", 0, 42, 7))
        );
        assert_eq!(parse_line("abc X 42 07"), None);
        assert_eq!(parse_line("abc S 42"), None);
        assert_eq!(parse_line("abc S 42 07 extra"), None);
    }
}
