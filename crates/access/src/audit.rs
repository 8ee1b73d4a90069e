//! The audit log: who read what, append-only and hash-chained, in `audit.jsonl` in the store.
//!
//! One JSON object a line, fields in this order:
//!
//! ```text
//! {"seq":0,"time_ms":..,"principal":"analyst","partner":"IND","endpoint":"/v1/track",
//!  "params":{..},"returned":120,"withheld":7,"prev":"00..00","hash":"9f..."}
//! ```
//!
//! `hash` is the SHA-256 of the previous entry's hash (32 bytes; zeros before the first entry)
//! followed by the line's bytes without its `,"hash":"..."` (that is, the line up to the
//! comma before `"hash"`, then `}`). So editing any byte of an entry breaks its own hash, and
//! removing, inserting or reordering entries breaks the next entry's `prev` (and `seq`).
//! [`verify`] checks all of it. Removing the *last* entries leaves a valid shorter chain: to
//! detect that, record the head ([`Verified::head`]) elsewhere (a ticket, a partner's copy)
//! and check it later with `--expect-head`; anyone who can rewrite the file can also
//! recompute a whole chain, so the recorded head is what makes the log tamper-evident.
//!
//! Durability: [`AuditLog::append`] writes one line and `fsync`s it before returning (the
//! server answers a request after its entry is durable, so an answer is never sent
//! unrecorded); [`AuditLog::append_batch`] writes several lines with one `fsync` (what is lost
//! in a crash is at most that batch, whose requests have not been answered yet). A crash
//! mid-write leaves a *torn* last line (no newline). [`verify`] reports it as a problem.
//! [`AuditLog::open`] does not write after it: it moves the torn bytes to
//! `audit.jsonl.torn-SEQ` (kept as evidence), cuts the file back to its last newline and
//! appends an entry with endpoint [`RECOVERY_ENDPOINT`] that says how many bytes at which
//! offset were cut and where they went: the chain continues and the recovery is on record.
//!
//! One writer at a time: an [`AuditLog`] holds an exclusive lock (`flock`) on the file, so a
//! second writer is refused ([`AccessError::AuditLocked`]); readers take no lock.

use crate::AccessError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The log's file name inside a store directory.
pub const AUDIT_LOG: &str = "audit.jsonl";

/// The endpoint of the entry [`AuditLog::open`] writes after cutting a torn last line.
pub const RECOVERY_ENDPOINT: &str = "audit:torn-tail-recovered";

/// What a read path records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When, ms since the Unix epoch (UTC): the caller's clock.
    pub time_ms: i64,
    /// The principal's name.
    pub principal: String,
    /// Its partner.
    pub partner: String,
    /// The endpoint (`/v1/track`, `stream`, `link:backfill`).
    pub endpoint: String,
    /// The request's parameters (never a token).
    pub params: serde_json::Value,
    /// Records returned.
    pub returned: u64,
    /// Records withheld by the visibility rules.
    pub withheld: u64,
    /// The HTTP status of a read that was refused or failed (400, 403, 404, 5xx); `None` for
    /// one served (and in entries written before this field existed).
    pub status: Option<u16>,
    /// Set on an entry that stands for a run of identical reads answered empty (see
    /// [`Repeats`]); `None` for an entry of one read.
    pub repeats: Option<Repeats>,
}

/// A run of reads that were each the same as the entry written for the first of them (same
/// principal, partner, endpoint and parameters, each served with nothing returned or
/// withheld): a partner link or a dashboard asking every few seconds whether anything is new.
/// The first read of a run has its own entry, written before it was answered; the ones after
/// it are counted and written as one entry when the run ends (a different or non-empty read,
/// the run's span, the server's stop), with the time of the last of them. A crash loses at
/// most the count of a run whose first read is on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeats {
    /// Reads in the run after its first.
    pub count: u64,
    /// Time of the first of them, ms since the Unix epoch (UTC).
    pub first_ms: i64,
}

/// The hashed part of a line: an [`AuditRecord`] with its place in the chain.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    seq: u64,
    time_ms: i64,
    principal: String,
    partner: String,
    endpoint: String,
    params: serde_json::Value,
    returned: u64,
    withheld: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repeats: Option<Repeats>,
    prev: String,
}

/// An entry as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// The record.
    pub record: AuditRecord,
    /// Its hash, hex.
    pub hash: String,
}

/// The tail of a line: `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

fn entry_hash(prev: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(body);
    h.finalize().into()
}

/// Redacts token-shaped strings anywhere in a JSON value (keys too): tokens are never logged.
fn scrub(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            crate::db::redact_tokens(s);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(scrub),
        serde_json::Value::Object(m) => {
            let old = std::mem::take(m);
            for (mut k, mut v) in old {
                crate::db::redact_tokens(&mut k);
                scrub(&mut v);
                m.insert(k, v);
            }
        }
        _ => {}
    }
}

/// Builds a line (with its newline) for `rec` at `seq` after `prev`; returns it and its hash.
/// Token-shaped strings in the record are redacted first.
fn make_line(
    seq: u64,
    prev: &[u8; 32],
    rec: &AuditRecord,
) -> Result<(Vec<u8>, [u8; 32]), AccessError> {
    let mut params = rec.params.clone();
    scrub(&mut params);
    let mut endpoint = rec.endpoint.clone();
    crate::db::redact_tokens(&mut endpoint);
    let body = Body {
        seq,
        time_ms: rec.time_ms,
        principal: rec.principal.clone(),
        partner: rec.partner.clone(),
        endpoint,
        params,
        returned: rec.returned,
        withheld: rec.withheld,
        status: rec.status,
        repeats: rec.repeats,
        prev: hex::encode(prev),
    };
    let mut line = serde_json::to_vec(&body)
        .map_err(|e| AccessError::Audit(format!("encoding an entry: {e}")))?;
    let hash = entry_hash(prev, &line);
    line.pop(); // the closing brace
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hex::encode(hash).as_bytes());
    line.extend_from_slice(b"\"}\n");
    Ok((line, hash))
}

/// Why a line does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not an entry: bad JSON, fields missing or unknown, or no hash at its end.
    Malformed {
        /// Why.
        reason: String,
    },
    /// The line's bytes do not give its hash: the entry was edited.
    HashMismatch,
    /// Its `prev` is not the previous entry's hash: an entry before it was removed, inserted
    /// or moved.
    BrokenChain,
    /// Its `seq` is not one more than the previous entry's.
    SeqGap {
        /// Expected.
        expected: u64,
        /// Found.
        found: u64,
    },
    /// The last line has no newline: an entry torn by a crash (the writer recovers it when it
    /// next opens the log) or a truncated file.
    TornTail {
        /// Bytes after the last newline.
        bytes: u64,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Malformed { reason } => write!(f, "not an audit entry: {reason}"),
            Problem::HashMismatch => f.write_str("hash does not match the entry: edited"),
            Problem::BrokenChain => f.write_str(
                "prev is not the previous entry's hash: an entry was removed, inserted or moved",
            ),
            Problem::SeqGap { expected, found } => {
                write!(f, "seq {found} where {expected} was expected")
            }
            Problem::TornTail { bytes } => write!(
                f,
                "torn last line ({bytes} bytes without a newline): a write cut short by a crash, or truncation"
            ),
        }
    }
}

/// A problem at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line.
    pub offset: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Complete lines read.
    pub entries: u64,
    /// The last entry's `seq` and hash (`None`: empty log).
    pub head: Option<(u64, String)>,
    /// Whether the expected head (if one was given) is an entry of the chain.
    pub expected_head_found: Option<bool>,
    /// Problems, in file order. Empty: the chain is intact.
    pub problems: Vec<LineProblem>,
}

impl Verified {
    /// No problems, and the expected head (if any) found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.expected_head_found != Some(false)
    }
}

/// Parses one complete line (without its newline): its body and stored hash.
fn parse_line(line: &[u8]) -> Result<(Body, [u8; 32], Vec<u8>), String> {
    if line.len() < HASH_SUFFIX_LEN + 2 {
        return Err("too short".into());
    }
    let (head, tail) = line.split_at(line.len() - HASH_SUFFIX_LEN);
    if !tail.starts_with(b",\"hash\":\"") || !tail.ends_with(b"\"}") {
        return Err("no hash at the end".into());
    }
    let hex_digits = &tail[9..73];
    if !hex_digits
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err("the hash is not 64 lower-case hex digits".into());
    }
    let mut hash = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut hash).map_err(|e| format!("bad hash: {e}"))?;
    let mut body_bytes = head.to_vec();
    body_bytes.push(b'}');
    let body: Body = serde_json::from_slice(&body_bytes).map_err(|e| e.to_string())?;
    Ok((body, hash, body_bytes))
}

/// Checks the whole log at `path`. `expect_head`: a hash recorded earlier, which must be an
/// entry of the chain (so the log was not cut back before it). A missing file is an empty log.
pub fn verify(path: &Path, expect_head: Option<&str>) -> Result<Verified, AccessError> {
    let mut out = Verified {
        entries: 0,
        head: None,
        expected_head_found: expect_head.map(|_| false),
        problems: Vec::new(),
    };
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(AccessError::Io(e)),
    };
    let mut r = BufReader::new(f);
    let mut prev = [0u8; 32];
    let mut next_seq = 0u64;
    let mut offset = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let at = offset;
        offset += n as u64;
        let lineno = out.entries + 1;
        if line.last() != Some(&b'\n') {
            out.problems.push(LineProblem {
                line: lineno,
                offset: at,
                problem: Problem::TornTail { bytes: n as u64 },
            });
            break;
        }
        out.entries += 1;
        let text = &line[..line.len() - 1];
        let mut report = |problem| {
            out.problems.push(LineProblem {
                line: lineno,
                offset: at,
                problem,
            })
        };
        let (body, hash, body_bytes) = match parse_line(text) {
            Ok(x) => x,
            Err(reason) => {
                report(Problem::Malformed { reason });
                continue;
            }
        };
        if body.seq != next_seq {
            report(Problem::SeqGap {
                expected: next_seq,
                found: body.seq,
            });
        }
        if body.prev != hex::encode(prev) {
            report(Problem::BrokenChain);
        }
        // The hash covers the stored prev, so an edit is told apart from a broken link.
        let mut stored_prev = [0u8; 32];
        let prev_ok = hex::decode_to_slice(&body.prev, &mut stored_prev).is_ok();
        if !prev_ok || entry_hash(&stored_prev, &body_bytes) != hash {
            report(Problem::HashMismatch);
        }
        // Go on from this entry as written, so that one bad entry is one problem.
        prev = hash;
        next_seq = body.seq.wrapping_add(1);
        let hex_hash = hex::encode(hash);
        if expect_head.is_some_and(|h| h.eq_ignore_ascii_case(&hex_hash)) {
            out.expected_head_found = Some(true);
        }
        out.head = Some((body.seq, hex_hash));
    }
    Ok(out)
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this principal's entries.
    pub principal: Option<String>,
    /// Only entries at or after this time, ms since the Unix epoch (UTC).
    pub since_ms: Option<i64>,
}

/// Reads the entries of the log at `path` that pass `filter`, in order. Lines that are not
/// entries (and a torn last line) are skipped and counted in the second value; [`verify`]
/// says what is wrong with them.
pub fn read(path: &Path, filter: &AuditFilter) -> Result<(Vec<AuditEntry>, u64), AccessError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(AccessError::Io(e)),
    };
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    let mut bad = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            bad += 1;
            break;
        }
        let Ok((body, hash, _)) = parse_line(&line[..line.len() - 1]) else {
            bad += 1;
            continue;
        };
        if filter
            .principal
            .as_ref()
            .is_some_and(|p| *p != body.principal)
            || filter.since_ms.is_some_and(|t| body.time_ms < t)
        {
            continue;
        }
        out.push(AuditEntry {
            seq: body.seq,
            hash: hex::encode(hash),
            record: AuditRecord {
                time_ms: body.time_ms,
                principal: body.principal,
                partner: body.partner,
                endpoint: body.endpoint,
                params: body.params,
                returned: body.returned,
                withheld: body.withheld,
                status: body.status,
                repeats: body.repeats,
            },
        });
    }
    Ok((out, bad))
}

/// A torn last line that [`AuditLog::open`] cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where the torn line started.
    pub offset: u64,
    /// Its length.
    pub bytes: u64,
    /// Where its bytes were moved.
    pub saved_to: PathBuf,
}

/// The writer of a store's audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
    next_seq: u64,
    head: [u8; 32],
}

/// Reads the last complete line of `f` (of length `len`, which ends with a newline or is
/// empty) without reading the whole file.
fn last_line(f: &mut File, len: u64) -> Result<Option<Vec<u8>>, AccessError> {
    if len == 0 {
        return Ok(None);
    }
    let mut chunk = 4096u64;
    loop {
        let start = len.saturating_sub(chunk);
        f.seek(SeekFrom::Start(start))?;
        let mut buf = vec![0u8; (len - start) as usize];
        f.read_exact(&mut buf)?;
        buf.pop(); // the final newline
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(buf[i + 1..].to_vec()));
        }
        if start == 0 {
            return Ok(Some(buf));
        }
        chunk *= 4;
    }
}

/// The offset just past the last newline of `f` (of length `len`): where a torn tail starts.
fn end_of_last_line(f: &mut File, len: u64) -> Result<u64, AccessError> {
    let mut end = len;
    let mut buf = vec![0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

fn sync_dir(dir: &Path) -> Result<(), AccessError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

impl AuditLog {
    /// Opens (creating when missing) the audit log of the store in `store_dir` for appending,
    /// taking the writer lock. A torn last line is cut off, kept beside the log and recorded
    /// in a recovery entry at `now_ms` (see the module docs); it is returned too.
    pub fn open(
        store_dir: &Path,
        now_ms: i64,
    ) -> Result<(AuditLog, Option<TornTail>), AccessError> {
        if !store_dir.join("manifest.jsonl").is_file() {
            return Err(AccessError::NotAStore(store_dir.to_owned()));
        }
        let path = store_dir.join(AUDIT_LOG);
        let created = !path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(AccessError::AuditLocked(path)),
            Err(std::fs::TryLockError::Error(e)) => return Err(AccessError::Io(e)),
        }
        if created {
            file.sync_all()?;
            sync_dir(store_dir)?;
        }
        let len = file.metadata()?.len();
        let good_end = end_of_last_line(&mut file, len)?;
        let mut torn = None;
        if good_end < len {
            // Keep the torn bytes, durably, before cutting them off.
            let mut bytes = vec![0u8; (len - good_end) as usize];
            file.seek(SeekFrom::Start(good_end))?;
            file.read_exact(&mut bytes)?;
            let seq_guess = match last_line(&mut file, good_end)? {
                Some(l) => parse_line(&l).map(|(b, _, _)| b.seq + 1).unwrap_or(0),
                None => 0,
            };
            let mut saved_to = path.with_extension(format!("jsonl.torn-{seq_guess}"));
            let mut k = 1;
            while saved_to.exists() {
                saved_to = path.with_extension(format!("jsonl.torn-{seq_guess}.{k}"));
                k += 1;
            }
            let mut t = File::create(&saved_to)?;
            t.write_all(&bytes)?;
            t.sync_all()?;
            sync_dir(store_dir)?;
            file.set_len(good_end)?;
            file.sync_all()?;
            torn = Some(TornTail {
                offset: good_end,
                bytes: bytes.len() as u64,
                saved_to,
            });
        }
        let (next_seq, head) = match last_line(&mut file, good_end)? {
            None => (0, [0u8; 32]),
            Some(l) => {
                let (body, hash, _) = parse_line(&l).map_err(|reason| {
                    AccessError::Audit(format!(
                        "the last entry of {} is not an entry ({reason}); run `tidewatch audit --verify`",
                        path.display()
                    ))
                })?;
                (body.seq + 1, hash)
            }
        };
        let mut log = AuditLog {
            path,
            file,
            next_seq,
            head,
        };
        if let Some(t) = &torn {
            log.append(&AuditRecord {
                time_ms: now_ms,
                principal: "tidewatch".into(),
                partner: String::new(),
                endpoint: RECOVERY_ENDPOINT.into(),
                params: serde_json::json!({
                    "offset": t.offset,
                    "bytes": t.bytes,
                    "saved_to": t.saved_to.file_name().map(|n| n.to_string_lossy().into_owned()),
                }),
                returned: 0,
                withheld: 0,
                status: None,
                repeats: None,
            })?;
        }
        Ok((log, torn))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `seq` the next entry gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The last entry's hash, hex (zeros when the log is empty).
    pub fn head(&self) -> String {
        hex::encode(self.head)
    }

    /// Appends one entry and fsyncs it; returns its `seq`.
    pub fn append(&mut self, rec: &AuditRecord) -> Result<u64, AccessError> {
        self.append_batch(std::slice::from_ref(rec))
            .map(|s| s.start)
    }

    /// Appends entries with one write and one fsync; returns their `seq`s. When this fails
    /// the log may end in a torn line; the writer must be reopened (which recovers it) before
    /// more is appended, so this `AuditLog` refuses further appends.
    pub fn append_batch(
        &mut self,
        recs: &[AuditRecord],
    ) -> Result<std::ops::Range<u64>, AccessError> {
        if self.next_seq == u64::MAX {
            return Err(AccessError::Audit(
                "an earlier append failed; reopen the audit log".into(),
            ));
        }
        let first = self.next_seq;
        let mut buf = Vec::new();
        let mut head = self.head;
        let mut seq = first;
        for r in recs {
            let (line, hash) = make_line(seq, &head, r)?;
            buf.extend_from_slice(&line);
            head = hash;
            seq += 1;
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            self.next_seq = u64::MAX;
            return Err(AccessError::Io(e));
        }
        self.head = head;
        self.next_seq = seq;
        Ok(first..seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty store directory named for the test: the guard that removes it when dropped,
    /// and its path.
    fn store(name: &str) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::Builder::new()
            .prefix(&format!("tw-audit-{name}-"))
            .tempdir()
            .unwrap();
        let d = tmp.path().to_owned();
        std::fs::write(d.join("manifest.jsonl"), "").unwrap();
        (tmp, d)
    }

    fn rec(i: u64) -> AuditRecord {
        AuditRecord {
            time_ms: 1_700_000_000_000 + i as i64,
            principal: if i.is_multiple_of(2) {
                "ann"
            } else {
                "ind-link"
            }
            .into(),
            partner: "IND".into(),
            endpoint: "/v1/track".into(),
            params: serde_json::json!({"mmsi": 563_000_000 + i, "from": "2026-01-01"}),
            returned: i * 10,
            withheld: i,
            status: None,
            // One entry standing for a run of repeated reads.
            repeats: (i == 3).then_some(Repeats {
                count: 41,
                first_ms: 1_699_999_000_000,
            }),
        }
    }

    fn write_log(name: &str, n: u64) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let (tmp, d) = store(name);
        let (mut log, torn) = AuditLog::open(&d, 0).unwrap();
        assert!(torn.is_none());
        for i in 0..n {
            assert_eq!(log.append(&rec(i)).unwrap(), i);
        }
        let p = log.path().to_owned();
        (tmp, d, p)
    }

    fn lines(p: &Path) -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn kinds(v: &Verified) -> Vec<(u64, Problem)> {
        v.problems
            .iter()
            .map(|p| (p.line, p.problem.clone()))
            .collect()
    }

    #[test]
    fn an_intact_log_verifies_and_reads_back_what_was_written() {
        let (_tmp, d, p) = write_log("intact", 5);
        let v = verify(&p, None).unwrap();
        assert!(v.ok(), "{:?}", v.problems);
        assert_eq!(v.entries, 5);
        let (all, bad) = read(&p, &AuditFilter::default()).unwrap();
        assert_eq!(bad, 0);
        assert_eq!(
            all.iter().map(|e| e.record.clone()).collect::<Vec<_>>(),
            (0..5).map(rec).collect::<Vec<_>>()
        );
        assert_eq!(v.head, Some((4, all[4].hash.clone())));
        // An entry of one read is written as before the field existed (so older entries hash
        // the same); a run's entry carries its count.
        let text = lines(&p);
        assert!(!text[2].contains("repeats"), "{}", text[2]);
        assert!(
            text[3].contains(r#""repeats":{"count":41,"first_ms":1699999000000}"#),
            "{}",
            text[3]
        );
        let f = AuditFilter {
            principal: Some("ind-link".into()),
            since_ms: Some(1_700_000_000_002),
        };
        let got: Vec<u64> = read(&p, &f).unwrap().0.iter().map(|e| e.seq).collect();
        assert_eq!(got, [3]);
        // Reopening continues the chain.
        let (mut log, _) = AuditLog::open(&d, 0).unwrap();
        assert_eq!(log.next_seq(), 5);
        assert_eq!(log.head(), all[4].hash);
        assert_eq!(log.append_batch(&[rec(5), rec(6)]).unwrap(), 5..7);
        assert!(verify(&p, Some(&all[4].hash)).unwrap().ok());
        // A second writer is refused while the first is open.
        assert!(matches!(
            AuditLog::open(&d, 0),
            Err(AccessError::AuditLocked(_))
        ));
    }

    #[test]
    fn a_token_in_the_parameters_is_never_written() {
        let (_tmp, d) = store("scrub");
        let (mut log, _) = AuditLog::open(&d, 0).unwrap();
        let tok = format!("tw_{}", "0f".repeat(32));
        let mut r = rec(0);
        r.endpoint = format!("/v1/track?token={tok}");
        r.params = serde_json::json!({"q": [tok.clone()], tok.clone(): 1, "n": 2});
        log.append(&r).unwrap();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(!text.contains(&tok[3..]), "{text}");
        assert!(text.contains("token=tw_[redacted]"), "{text}");
        assert!(verify(log.path(), None).unwrap().ok());
    }

    #[test]
    fn any_changed_byte_is_detected() {
        let (_tmp, _d, p) = write_log("bytes", 4);
        let orig = std::fs::read(&p).unwrap();
        let newlines: Vec<usize> = orig
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| i)
            .collect();
        for i in 0..orig.len() {
            if newlines.contains(&i) {
                continue;
            }
            let mut bytes = orig.clone();
            bytes[i] ^= if bytes[i].is_ascii_digit() {
                0x01
            } else {
                0x20
            };
            std::fs::write(&p, &bytes).unwrap();
            let v = verify(&p, None).unwrap();
            assert!(
                !v.ok(),
                "flipping byte {i} ({:?}) went unnoticed",
                orig[i] as char
            );
        }
    }

    #[test]
    fn a_removed_a_swapped_and_an_inserted_line_break_the_chain() {
        let (_tmp, _d, p) = write_log("chain", 5);
        let orig = lines(&p);
        let write = |ls: &[String]| std::fs::write(&p, ls.join("\n") + "\n").unwrap();
        let mut removed = orig.clone();
        removed.remove(2);
        write(&removed);
        let v = verify(&p, None).unwrap();
        assert_eq!(
            kinds(&v),
            [
                (
                    3,
                    Problem::SeqGap {
                        expected: 2,
                        found: 3
                    }
                ),
                (3, Problem::BrokenChain)
            ]
        );
        let mut swapped = orig.clone();
        swapped.swap(1, 2);
        write(&swapped);
        let v = verify(&p, None).unwrap();
        assert!(
            v.problems
                .iter()
                .filter(|p| p.problem == Problem::BrokenChain)
                .count()
                >= 2,
            "{v:?}"
        );
        let mut dup = orig.clone();
        dup.insert(3, orig[1].clone());
        write(&dup);
        assert!(!verify(&p, None).unwrap().ok());
        // Cutting whole entries off the end is caught against a recorded head only.
        write(&orig);
        let recorded = verify(&p, None).unwrap().head.unwrap().1;
        write(&orig[..3]);
        let v = verify(&p, None).unwrap();
        assert!(v.problems.is_empty());
        assert_eq!(v.expected_head_found, None);
        let v = verify(&p, Some(&recorded)).unwrap();
        assert_eq!(v.expected_head_found, Some(false));
        assert!(!v.ok());
    }

    #[test]
    fn a_torn_last_line_is_reported_then_recovered_on_record() {
        let (_tmp, d, p) = write_log("torn", 3);
        let orig = std::fs::read(&p).unwrap();
        let cut = orig.len() - 30;
        std::fs::write(&p, &orig[..cut]).unwrap();
        let v = verify(&p, None).unwrap();
        assert_eq!(v.entries, 2);
        assert!(
            matches!(
                v.problems[..],
                [LineProblem {
                    line: 3,
                    problem: Problem::TornTail { .. },
                    ..
                }]
            ),
            "{v:?}"
        );
        assert!(!v.ok());
        let (mut log, torn) = AuditLog::open(&d, 99).unwrap();
        let torn = torn.unwrap();
        let start = orig[..orig.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap() as u64
            + 1;
        assert_eq!(torn.offset, start);
        assert_eq!(
            std::fs::read(&torn.saved_to).unwrap(),
            &orig[start as usize..cut]
        );
        log.append(&rec(7)).unwrap();
        let v = verify(&p, None).unwrap();
        assert!(v.ok(), "{v:?}");
        let (all, _) = read(&p, &AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[2].record.endpoint, RECOVERY_ENDPOINT);
        assert_eq!(all[2].seq, 2);
        assert_eq!(all[2].record.params["bytes"], torn.bytes);
        assert_eq!(all[3].record, rec(7));
    }
}
