//! Framing: one line of a feed to its parts. Pure and allocation-free; borrows the line.
//!
//! A line may hold, in the variants real feeds use:
//! - a bare `!xxVDM` / `!xxVDO` sentence from any talker (`AI`, `AB`, `BS`, `SA`, `--`, ...),
//!   optionally followed by receiver fields after the checksum (`,1328133720012` epoch ms,
//!   USCG `,s..,d..,T..,r003669946,1325394060`);
//! - an IEC 61162-450 / NMEA 4.10 tag block `\s:src,c:unixtime,g:1-2-73*hh\` before the
//!   sentence, or alone on its line (it then applies to the next sentence);
//! - a Gatehouse `$PGHP,1,yyyy,m,d,h,m,s,ms,...*hh` timestamp line before or after the sentence;
//! - a Unix (s or ms) or ISO 8601 timestamp prefix before the sentence;
//! - several sentences concatenated on one line (each may carry its own tag block), also
//!   joined by a literal `\r\n` text;
//! - comments (`#`), other NMEA sentences, and garbage, which are classified, not parsed.

use crate::bits::Payload;
use crate::error::FrameError;
use memchr::memchr;

/// A receiver or station name, stored inline (first 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Station {
    buf: [u8; 32],
    len: u8,
}

impl Station {
    /// Builds a station name from raw bytes; non-printable bytes become '?', long names are cut.
    pub fn new(raw: &[u8]) -> Self {
        let n = raw.len().min(32);
        let mut buf = [0u8; 32];
        buf[..n].copy_from_slice(&raw[..n]);
        let name = &mut buf[..n];
        if !name.iter().all(|b| (0x20..0x7f).contains(b)) {
            for b in name.iter_mut().filter(|b| !(0x20..0x7f).contains(*b)) {
                *b = b'?';
            }
        }
        Station { buf, len: n as u8 }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

impl std::fmt::Debug for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sentence grouping from a tag block (`g:1-2-73` or the older `1G2:73`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Group {
    /// 1-based sentence number within the group.
    pub number: u8,
    /// Number of sentences in the group.
    pub total: u8,
    /// Group identifier (a hash of its text, so that ids like `-001` still group).
    pub id: u64,
}

/// State of a tag block's own checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TagChecksum {
    /// Present and correct.
    #[default]
    Ok,
    /// Written as `*00`, which several producers use for "not computed".
    Absent,
    /// Present and wrong: the fields that parse are kept, and the message is flagged
    /// (`Meta::tag_checksum_failed`).
    Mismatch,
}

/// Parsed IEC 61162-450 / NMEA 4.10 tag block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TagBlock<'a> {
    /// `s:` source / station (also the DMA `si:` key).
    pub source: Option<&'a [u8]>,
    /// `c:` time in milliseconds since the Unix epoch (seconds are scaled).
    pub time_ms: Option<i64>,
    /// `g:` sentence grouping.
    pub group: Option<Group>,
    /// `n:` line count.
    pub line_count: Option<u32>,
    /// Checksum state.
    pub checksum: TagChecksum,
}

/// One VDM/VDO sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sentence<'a> {
    /// Talker id (`AI`, `BS`, ...).
    pub talker: [u8; 2],
    /// `VDO` (own ship) rather than `VDM`.
    pub own_ship: bool,
    /// Fragment count, 1..=9.
    pub total: u8,
    /// Fragment number, 1..=total.
    pub number: u8,
    /// Sequential message id of multi-sentence messages.
    pub seq_id: Option<u8>,
    /// Radio channel (`A`, `B`, `1`, `2`, ...).
    pub channel: Option<u8>,
    /// Armored payload.
    pub payload: &'a [u8],
    /// Fill bits (0..=5 expected; checked when de-armoring).
    pub fill_bits: u8,
    /// The sentence's NMEA checksum.
    pub checksum: u8,
    /// Tag block directly in front of this sentence, if any.
    pub tag: Option<TagBlock<'a>>,
    /// Receiver time from fields after the checksum (epoch s or ms), in ms.
    pub trailer_time_ms: Option<i64>,
    /// Receiver station from fields after the checksum (USCG `r...`/`b...`).
    pub trailer_station: Option<&'a [u8]>,
}

/// Gatehouse `$PGHP,1,...` timestamp line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pghp {
    /// Receive time, ms since the Unix epoch.
    pub time_ms: Option<i64>,
    /// The checksum of the sentence (XOR of the checksums of a multi-sentence message) it
    /// annotates.
    pub ref_checksum: Option<u8>,
}

/// What a line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind<'a> {
    /// Blank (not counted).
    Empty,
    /// `#` comment.
    Comment,
    /// One or more sentences: iterate with [`Sentences`]. `prefix_time_ms` is a timestamp written
    /// before the first sentence.
    Sentences {
        /// Offset of the first sentence (or its tag block) in the line.
        start: usize,
        /// Timestamp prefix, if the line had one.
        prefix_time_ms: Option<i64>,
    },
    /// A tag block alone on its line; it applies to the next sentence.
    TagOnly(TagBlock<'a>),
    /// A Gatehouse timestamp.
    Pghp(Pghp),
    /// Something else (other NMEA sentences, text).
    Other(FrameError),
}

/// Trims ASCII whitespace (incl. CR and a UTF-8 BOM) from both ends.
pub fn trim(line: &[u8]) -> &[u8] {
    let mut s = line;
    if s.starts_with(b"\xEF\xBB\xBF") {
        s = &s[3..];
    }
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() || *first == 0 {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() || *last == 0 {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Classifies a trimmed line.
pub fn classify(line: &[u8]) -> LineKind<'_> {
    let Some(&first) = line.first() else {
        return LineKind::Empty;
    };
    match first {
        b'!' => LineKind::Sentences {
            start: 0,
            prefix_time_ms: None,
        },
        b'\\' => {
            let Some(close) = crate::simd::find(&line[1..], b'\\').map(|p| p + 1) else {
                return LineKind::Other(FrameError::BadTagBlock { offset: 0 });
            };
            if trim(&line[close + 1..]).is_empty() {
                match parse_tag_block(&line[1..close]) {
                    Ok(t) => LineKind::TagOnly(t),
                    Err(_) => LineKind::Other(FrameError::BadTagBlock { offset: 1 }),
                }
            } else {
                LineKind::Sentences {
                    start: 0,
                    prefix_time_ms: None,
                }
            }
        }
        b'#' => LineKind::Comment,
        b'$' => {
            if line.starts_with(b"$PGHP,") {
                match parse_pghp(line) {
                    Ok(p) => LineKind::Pghp(p),
                    Err(e) => LineKind::Other(e),
                }
            } else if line.len() > 6 && (&line[3..6] == b"VDM" || &line[3..6] == b"VDO") {
                LineKind::Sentences {
                    start: 0,
                    prefix_time_ms: None,
                }
            } else {
                LineKind::Other(FrameError::NotAis)
            }
        }
        _ => classify_prefixed(line),
    }
}

/// A line that starts with something else: look for a timestamp prefix before a sentence.
fn classify_prefixed(line: &[u8]) -> LineKind<'_> {
    let window = &line[..line.len().min(48)];
    let start = window.iter().position(|&b| b == b'!' || b == b'\\');
    let Some(start) = start else {
        return LineKind::Other(FrameError::NotAis);
    };
    let prefix = trim(&line[..start]);
    let prefix = prefix
        .strip_suffix(b",")
        .or(prefix.strip_suffix(b";"))
        .unwrap_or(prefix);
    match parse_time_prefix(trim(prefix)) {
        Some(t) => LineKind::Sentences {
            start,
            prefix_time_ms: Some(t),
        },
        None => LineKind::Other(FrameError::NotAis),
    }
}

/// Parses a timestamp written before a sentence: Unix seconds or milliseconds (optionally with
/// a fraction) or ISO 8601 `YYYY-MM-DD[T ]hh:mm:ss[.fff][Z]`.
pub fn parse_time_prefix(s: &[u8]) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if s.len() >= 19 && s[4] == b'-' && s[7] == b'-' && (s[10] == b'T' || s[10] == b' ') {
        let y = num(&s[0..4])? as i64;
        let mo = num(&s[5..7])?;
        let d = num(&s[8..10])?;
        if s[13] != b':' || s[16] != b':' {
            return None;
        }
        let h = num(&s[11..13])?;
        let mi = num(&s[14..16])?;
        let sec = num(&s[17..19])?;
        let mut rest = &s[19..];
        let mut ms = 0;
        if let [b'.', frac @ ..] = rest {
            let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            ms = frac_ms(&frac[..digits]);
            rest = &frac[digits..];
        }
        if !(rest.is_empty() || rest == b"Z" || rest == b"+00:00") {
            return None;
        }
        return civil_to_ms(y, mo, d, h, mi, sec, ms);
    }
    let int_len = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let int = num(&s[..int_len])?;
    let rest = &s[int_len..];
    let frac = match rest {
        [] => 0,
        [b'.', f @ ..] if f.iter().all(u8::is_ascii_digit) => frac_ms(f),
        _ => return None,
    };
    epoch_to_ms(int, int_len).map(|t| t + if int_len <= 11 { frac } else { 0 })
}

fn frac_ms(f: &[u8]) -> i64 {
    let mut ms = 0i64;
    for k in 0..3 {
        ms = ms * 10 + f.get(k).map_or(0, |d| (d - b'0') as i64);
    }
    ms
}

/// Interprets an all-digit epoch: 9-11 digits are seconds, 12-14 are milliseconds.
fn epoch_to_ms(v: u64, digits: usize) -> Option<i64> {
    match digits {
        9..=11 => Some(v as i64 * 1000),
        12..=14 => Some(v as i64),
        _ => None,
    }
}

/// Unsigned decimal of 1..=19 digits.
fn num(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u64;
    }
    Some(v)
}

/// Hexadecimal digit values; 0xFF for other bytes.
static HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            b'0'..=b'9' => c as u8 - b'0',
            b'A'..=b'F' => c as u8 - b'A' + 10,
            b'a'..=b'f' => c as u8 - b'a' + 10,
            _ => 0xFF,
        };
        c += 1;
    }
    t
};

#[inline]
fn hex2(s: &[u8]) -> Option<u8> {
    match s {
        [a, b, ..] => {
            let (h, l) = (HEX[*a as usize], HEX[*b as usize]);
            ((h | l) < 16).then_some(h << 4 | l)
        }
        _ => None,
    }
}

/// XOR of all bytes (the NMEA checksum), eight at a time.
#[inline]
pub fn xor_checksum(s: &[u8]) -> u8 {
    let mut acc = 0u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        acc ^= u64::from_le_bytes(w);
    }
    let mut x = acc ^ (acc >> 32);
    x ^= x >> 16;
    x ^= x >> 8;
    let mut b = x as u8;
    for &r in chunks.remainder() {
        b ^= r;
    }
    b
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Milliseconds since the epoch for a UTC civil time; `None` when a field is out of range.
pub fn civil_to_ms(y: i64, mo: u64, d: u64, h: u64, mi: u64, s: u64, ms: i64) -> Option<i64> {
    if !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 60
        || !(0..1000).contains(&ms)
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h as i64) * 60 + mi as i64) * 60_000 + s as i64 * 1000 + ms)
}

/// Parses the content of a tag block (between the backslashes).
pub fn parse_tag_block(content: &[u8]) -> Result<TagBlock<'_>, FrameError> {
    let bad = |offset| FrameError::BadTagBlock { offset };
    // Tag blocks are short: plain scans beat the SIMD searches' set-up here.
    let star = content.iter().rposition(|&b| b == b'*').ok_or(bad(0))?;
    let body = &content[..star];
    let sum = hex2(&content[star + 1..]).ok_or(bad(star))?;
    let checksum = if xor_checksum(body) == sum {
        TagChecksum::Ok
    } else if sum == 0 {
        TagChecksum::Absent
    } else {
        TagChecksum::Mismatch
    };
    let mut tag = TagBlock {
        checksum,
        ..TagBlock::default()
    };
    // A block whose checksum failed keeps the fields that parse (its time, station and group
    // are worth more than nothing; the message is flagged) and skips those that do not.
    let lenient = checksum == TagChecksum::Mismatch;
    for field in (TagFields { body, pos: 0 }) {
        let (key, value) = match field {
            Some(kv) => kv,
            None if lenient => continue,
            None => return Err(bad(0)),
        };
        match key {
            b"s" | b"si" if !value.is_empty() => tag.source = Some(value),
            b"c" => {
                let digits = value.len();
                tag.time_ms = num(value).and_then(|v| epoch_to_ms(v, digits));
            }
            b"g" => tag.group = parse_group(value),
            b"n" => tag.line_count = num(value).and_then(|v| u32::try_from(v).ok()),
            // Old-style grouping: `1G2:id` (sentence 1 of 2).
            [n, b'G', t] if n.is_ascii_digit() && t.is_ascii_digit() => {
                tag.group = group_of(n - b'0', t - b'0', value);
            }
            _ => {}
        }
    }
    Ok(tag)
}

/// The `key:value` fields of a tag block's body, between commas, each scanned once: the key up
/// to its colon, the value up to the comma (a tag block is a few dozen bytes, and a generic
/// split and search cost more than this). Empty fields are skipped; a field without a colon is
/// `None`.
struct TagFields<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for TagFields<'a> {
    type Item = Option<(&'a [u8], &'a [u8])>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let body = self.body;
        loop {
            let start = self.pos;
            if start > body.len() {
                return None;
            }
            let mut k = start;
            while k < body.len() && body[k] != b':' && body[k] != b',' {
                k += 1;
            }
            if k == body.len() || body[k] == b',' {
                self.pos = k + 1;
                if k == start {
                    continue;
                }
                return Some(None);
            }
            let mut end = k + 1;
            while end < body.len() && body[end] != b',' {
                end += 1;
            }
            self.pos = end + 1;
            return Some(Some((&body[start..k], &body[k + 1..end])));
        }
    }
}

fn parse_group(v: &[u8]) -> Option<Group> {
    let d1 = memchr(b'-', v)?;
    let d2 = memchr(b'-', &v[d1 + 1..])? + d1 + 1;
    let number = u8::try_from(num(&v[..d1])?).ok()?;
    let total = u8::try_from(num(&v[d1 + 1..d2])?).ok()?;
    group_of(number, total, &v[d2 + 1..])
}

fn group_of(number: u8, total: u8, id: &[u8]) -> Option<Group> {
    if number == 0 || total == 0 || number > total {
        return None;
    }
    // FNV-1a of the id text.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in id {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    Some(Group {
        number,
        total,
        id: h,
    })
}

/// Parses `$PGHP,1,<y>,<m>,<d>,<h>,<mi>,<s>,<ms>,<country>,<region>,<pss>,<online>,<cs>*hh`.
///
/// The commas, digits and checksum delimiter (the first `*`) of the first 64 bytes are found
/// sixteen bytes at a time, and the usual line is read from those masks alone. Other lines
/// (a later delimiter, fewer than sixteen bytes, another layout, errors) go to the
/// byte-at-a-time version, which gives the same result on any line (tested).
pub fn parse_pghp(line: &[u8]) -> Result<Pghp, FrameError> {
    let n = line.len();
    let h = n.min(64);
    if h < 16 {
        return parse_pghp_bytes(line);
    }
    let (mut commas, mut stars, mut digits) = (0u64, 0u64, 0u64);
    let mut k = 0;
    loop {
        // The last block overlaps the one before (setting the same bits again).
        let at = k.min(h - 16);
        let lo = u64::from_le_bytes(line[at..at + 8].try_into().expect("8 bytes"));
        let hi = u64::from_le_bytes(line[at + 8..at + 16].try_into().expect("8 bytes"));
        let (c, st) = crate::simd::eq_masks16(lo, hi, b',', b'*');
        commas |= (c as u64) << at;
        stars |= (st as u64) << at;
        digits |= (crate::simd::digit_mask16(lo, hi) as u64) << at;
        if at + 16 >= h {
            break;
        }
        k += 16;
    }
    if stars == 0 {
        return if n > h {
            parse_pghp_bytes(line)
        } else {
            Err(FrameError::BadChecksum)
        };
    }
    let star = stars.trailing_zeros() as usize;
    if hex2(&line[star + 1..]) != Some(xor_before(line, star)) {
        return Err(FrameError::BadChecksum);
    }
    // The commas after "$PGHP," and before the delimiter.
    let commas = commas & !0x3F & ((1 << star) - 1);
    // Anything but the usual layout (errors included) field by field.
    pghp_usual(line, commas, digits, star).map_or_else(|| parse_pghp_bytes(line), Ok)
}

/// The usual `$PGHP` line read from its masks alone (bit `i` for byte `i` of `commas`, the
/// commas from byte 6 to the checksum delimiter `star`, and of `digits`): `1`, then seven numbers
/// of one to four digits, four more fields and the one naming the sentence's checksum.
/// `None` for anything else, which [`parse_pghp_bytes`] then reads field by field (errors
/// included).
#[inline]
fn pghp_usual(line: &[u8], commas: u64, digits: u64, star: usize) -> Option<Pghp> {
    // Field "1" at byte 6.
    if commas & 0xFF != 1 << 7 || line[6] != b'1' {
        return None;
    }
    // The seven numbers' commas: the six between them and the one after (64 where there
    // are fewer).
    let mut rest = commas & (commas - 1);
    let mut ends = [0usize; 7];
    for e in ends.iter_mut() {
        *e = rest.trailing_zeros() as usize;
        rest &= rest.wrapping_sub(1);
    }
    if ends[6] >= 64 {
        return None;
    }
    // Between byte 7 and the seventh comma, only digits and commas, no two commas together,
    // and no number longer than four digits.
    let span = (1u64 << ends[6]) - (1 << 8);
    if (digits | commas) & span != span || commas & (commas << 1) & (span | 1 << ends[6]) != 0 {
        return None;
    }
    let mut v = [0u32; 7];
    let mut start = 8;
    for (x, &end) in v.iter_mut().zip(&ends) {
        let len = end - start;
        if len > 4 {
            return None;
        }
        // The four bytes before the comma, the number's digits last: the others become
        // leading zeros, then digit pairs and the two pairs combine.
        let w = u32::from_le_bytes(line[end - 4..end].try_into().expect("4 bytes"));
        let t = (w ^ 0x3030_3030) & (u32::MAX << (8 * (4 - len)));
        let t = (t & 0x0F0F_0F0F).wrapping_mul(2561) >> 8;
        *x = (t & 0x00FF_00FF).wrapping_mul(6_553_601) >> 16;
        start = end + 1;
    }
    // Four fields skipped; the fifth names the sentence's checksum.
    for _ in 0..3 {
        rest &= rest.wrapping_sub(1);
    }
    if rest == 0 {
        return None;
    }
    let from = rest.trailing_zeros() as usize + 1;
    rest &= rest - 1;
    let to = if rest == 0 {
        star
    } else {
        rest.trailing_zeros() as usize
    };
    let time_ms = civil_to_ms(
        v[0] as i64,
        v[1] as u64,
        v[2] as u64,
        v[3] as u64,
        v[4] as u64,
        v[5] as u64,
        v[6].min(999) as i64,
    );
    Some(Pghp {
        time_ms,
        ref_checksum: hex2(line.get(from..to)?),
    })
}

/// The XOR of bytes `1..end` of `line` (the NMEA checksum of a sentence whose delimiter is at
/// `end`), eight bytes at a time, the last eight overlapping the ones before.
#[inline]
fn xor_before(line: &[u8], end: usize) -> u8 {
    if end < 9 {
        return xor_checksum(&line[1.min(end)..end]);
    }
    let word = |i: usize| u64::from_le_bytes(line[i..i + 8].try_into().expect("8 bytes"));
    let mut acc = 0u64;
    let mut i = 1;
    while i + 8 <= end {
        acc ^= word(i);
        i += 8;
    }
    let left = end - i;
    if left > 0 {
        // The last `left` bytes of the eight before `end`.
        acc ^= word(end - 8) >> (8 * (8 - left));
    }
    let mut x = acc ^ (acc >> 32);
    x ^= x >> 16;
    x ^= x >> 8;
    x as u8
}

/// [`parse_pghp`] a byte at a time (unusual lines, and the reference in tests).
pub fn parse_pghp_bytes(line: &[u8]) -> Result<Pghp, FrameError> {
    let n = line.len();
    // The checksum delimiter: at the end, or before receiver fields (AMSA appends an epoch).
    let (star, sum) =
        match (n >= 9 && line[n - 3] == b'*').then(|| xor_and_find(&line[1..n - 3], b'*')) {
            Some((x, false)) => (n - 3, x),
            _ => {
                let star = memchr(b'*', line).ok_or(FrameError::BadChecksum)?;
                (star, xor_checksum(&line[1..star]))
            }
        };
    if hex2(&line[star + 1..]) != Some(sum) {
        return Err(FrameError::BadChecksum);
    }
    let mut c = Fields {
        s: &line[..star],
        pos: 6,
    };
    if c.next() != b"1" {
        return Err(FrameError::NotAis);
    }
    let mut v = [0u64; 7];
    for x in v.iter_mut() {
        *x = c
            .next_num()
            .ok_or(FrameError::BadFraming { offset: c.pos })?;
    }
    let time_ms = civil_to_ms(
        v[0] as i64,
        v[1],
        v[2],
        v[3],
        v[4],
        v[5],
        v[6].min(999) as i64,
    );
    for _ in 0..4 {
        c.next();
    }
    Ok(Pghp {
        time_ms,
        ref_checksum: hex2(c.next()),
    })
}

/// Comma-separated fields, read one at a time without an iterator adapter.
struct Fields<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    /// The next field (empty at the end).
    #[inline]
    fn next(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.s.len());
        let mut end = start;
        while end < self.s.len() && self.s[end] != b',' {
            end += 1;
        }
        self.pos = end + 1;
        &self.s[start..end]
    }

    /// The next field as a decimal number (what `num(self.next())` gives, in one pass).
    #[inline]
    fn next_num(&mut self) -> Option<u64> {
        let start = self.pos.min(self.s.len());
        let mut end = start;
        let mut v = 0u64;
        let mut ok = true;
        while end < self.s.len() && self.s[end] != b',' {
            let d = self.s[end].wrapping_sub(b'0');
            ok &= d < 10;
            v = v.wrapping_mul(10).wrapping_add(d as u64);
            end += 1;
        }
        self.pos = end + 1;
        (ok && (1..=19).contains(&(end - start))).then_some(v)
    }
}

/// Iterates over the sentences of a line that [`classify`] found to hold sentences.
#[derive(Debug)]
pub struct Sentences<'a> {
    line: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Sentences<'a> {
    /// Starts at byte `start` of `line`.
    pub fn new(line: &'a [u8], start: usize) -> Self {
        Sentences {
            line,
            pos: start,
            done: false,
        }
    }
}

impl<'a> Iterator for Sentences<'a> {
    type Item = Result<Sentence<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.line.len() {
            return None;
        }
        match parse_one(self.line, self.pos) {
            Ok((s, end)) => {
                // What follows: nothing, another sentence, or a literal "\r\n" text joining two.
                let mut next = end;
                let rest = &self.line[next..];
                if rest.starts_with(b"\\r\\n") {
                    next += 4;
                }
                let rest = trim(&self.line[next..]);
                if rest.is_empty() {
                    self.done = true;
                } else {
                    self.pos = self.line.len() - rest.len();
                }
                Some(Ok(s))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Parses one sentence (with an optional tag block) starting at `at`; returns it and the
/// offset where the next sentence may begin.
fn parse_one(line: &[u8], at: usize) -> Result<(Sentence<'_>, usize), FrameError> {
    let mut p = at;
    let mut tag = None;
    if line[p] == b'\\' {
        let close = memchr(b'\\', &line[p + 1..])
            .map(|q| q + p + 1)
            .ok_or(FrameError::BadTagBlock { offset: p })?;
        tag = Some(parse_tag_block(&line[p + 1..close])?);
        p = close + 1;
    }
    let s = &line[p..];
    if s.len() < 7 || !(s[0] == b'!' || s[0] == b'$') {
        return Err(FrameError::NotAis);
    }
    let own_ship = match &s[3..6] {
        b"VDM" => false,
        b"VDO" => true,
        _ => return Err(FrameError::NotAis),
    };
    let bad = |q: usize| FrameError::BadFraming { offset: p + q };
    if s[6] != b',' {
        return Err(bad(6));
    }
    // The checksum delimiter: usually three bytes before the end of the line (no receiver
    // fields, no second sentence). Checked in the same pass as the checksum: if a '*' appears
    // earlier, fall back to searching for the first one.
    let n = s.len();
    let mut star = n.wrapping_sub(3);
    let mut sum = None;
    if n >= 10 && s[star] == b'*' {
        let (x, has_star) = xor_and_find(&s[1..star], b'*');
        if !has_star {
            sum = Some(x);
        }
    }
    let sum = match sum {
        Some(x) => x,
        None => {
            star = memchr(b'*', s).ok_or(FrameError::BadChecksum)?;
            xor_checksum(&s[1..star])
        }
    };
    let expected = hex2(&s[star + 1..]).ok_or(FrameError::BadChecksum)?;
    if sum != expected {
        return Err(FrameError::BadChecksum);
    }
    let end = star + 3;
    // Header fields: total, number, seq id, channel. The usual layout `1,1,,A,` or `2,1,3,B,`
    // is read by position; anything else by scanning for commas.
    let (total, number, seq_id, channel, q) = match header_fast(s, star) {
        Some(h) => h,
        None => header_slow(s, star).map_err(bad)?,
    };
    if total == 0 || number == 0 || number > total {
        return Err(bad(7));
    }
    // Payload runs to the last comma before the checksum; the fill-bit digit follows.
    let last = if star >= q + 2 && s[star - 2] == b',' {
        star - 2
    } else {
        memchr::memrchr(b',', &s[q..star]).ok_or(bad(q))? + q
    };
    let payload = &s[q..last];
    let fill_bits = match &s[last + 1..star] {
        [] => 0,
        [d] if d.is_ascii_digit() => d - b'0',
        _ => return Err(bad(last + 1)),
    };
    let (trailer_time_ms, trailer_station, consumed) = parse_trailer(&s[end..]);
    Ok((
        Sentence {
            talker: [s[1], s[2]],
            own_ship,
            total,
            number,
            seq_id,
            channel,
            payload,
            fill_bits,
            checksum: expected,
            tag,
            trailer_time_ms,
            trailer_station,
        },
        p + end + consumed,
    ))
}

type Header = (u8, u8, Option<u8>, Option<u8>, usize);

/// Frames the line at the start of `rest` (which may go on past it) when it has one of the
/// shapes nearly every line of a feed has, and de-armors its payload into `payload` in the
/// same pass: an optional tag block, one `!xxVDM`/`!xxVDO` sentence in the usual header
/// layout (`1,1,,A,` or `2,1,3,B,`), and optional receiver fields after the checksum. The
/// payload's end is where its characters stop, so neither the checksum delimiter nor the
/// last comma is searched for. Returns the sentence and the bytes the line takes up to and
/// including its newline.
///
/// `None` (with `payload`'s content unspecified) means "frame with [`classify`] and
/// [`Sentences`], and de-armor with [`Payload::set`]": they give the same result for every
/// line this accepts (tested), and handle everything else, errors included.
#[inline]
pub fn frame_line<'a>(rest: &'a [u8], payload: &mut Payload) -> Option<(Framed<'a>, usize)> {
    let (tag, p) = match rest.first()? {
        b'!' => (None, 0),
        b'\\' => {
            let close = 1 + crate::simd::find2(&rest[1..], b'\\', b'\n')?;
            // A tag block alone on its line (or a broken one) is for the general path.
            if rest[close] != b'\\' || rest.get(close + 1) != Some(&b'!') {
                return None;
            }
            (Some(parse_tag_block(&rest[1..close]).ok()?), close + 1)
        }
        _ => return None,
    };
    let s = &rest[p..];
    if s.len() < 16 || s[0] != b'!' || s[6] != b',' {
        return None;
    }
    // "VDM" or "VDO" ('M' and 'O' differ in one bit), without a branch between the two.
    if &s[3..5] != b"VD" || s[5] & !2 != b'M' {
        return None;
    }
    let own_ship = s[5] == b'O';
    let (total, number, seq_id, channel, q) = header_fast(s, 15)?;
    if total == 0 || number == 0 || number > total {
        return None;
    }
    // A '*' in the talker or channel would be the general path's checksum delimiter (the
    // other header bytes are digits and commas).
    if s[1] == b'*' || s[2] == b'*' || channel == Some(b'*') {
        return None;
    }
    let (chars, payload_xor) = payload.set_leading_run(&s[q..])?;
    let e = q + chars;
    let t = s.get(e..e + 6)?;
    if t[0] != b',' || !t[1].is_ascii_digit() || t[2] != b'*' {
        return None;
    }
    // The header's share of the checksum: bytes 1..q, q being 13 to 15.
    let w0 = u64::from_le_bytes(s[0..8].try_into().expect("8 bytes"));
    let w1 = u64::from_le_bytes(s[8..16].try_into().expect("8 bytes"));
    let mut x = w0 ^ (w1 & (u64::MAX >> (8 * (16 - q))));
    x ^= x >> 32;
    x ^= x >> 16;
    x ^= x >> 8;
    let sum = x as u8 ^ b'!' ^ payload_xor ^ b',' ^ t[1];
    if hex2(&t[3..5]) != Some(sum) {
        return None;
    }
    let fill_bits = t[1] - b'0';
    if !payload.drop_fill_bits(fill_bits) {
        return None;
    }
    // What follows the checksum: the newline, or receiver fields up to it.
    let (trailer_time_ms, trailer_station, len) = match t[5] {
        b'\n' | b'\r' if tag.is_none() && total == 1 => {
            let len = match t[5] {
                b'\n' => e + 6,
                _ if s.get(e + 6) == Some(&b'\n') => e + 7,
                _ => return None,
            };
            let bare = Bare {
                talker: [s[1], s[2]],
                own_ship,
                seq_id,
                channel,
                payload: &s[q..e],
                fill_bits,
                checksum: sum,
            };
            return Some((Framed::Bare(bare), len));
        }
        b'\n' => (None, None, e + 6),
        b'\r' if s.get(e + 6) == Some(&b'\n') => (None, None, e + 7),
        b',' => {
            let nl = e + 5 + crate::simd::find(&s[e + 5..], b'\n')?;
            let fields = trim(&s[e + 5..nl]);
            let (time, station, used) = parse_trailer(fields);
            // Anything the receiver fields do not take (another sentence) is for the general
            // path.
            if used != fields.len() {
                return None;
            }
            (time, station, nl + 1)
        }
        _ => return None,
    };
    Some((
        Framed::Full(Sentence {
            talker: [s[1], s[2]],
            own_ship,
            total,
            number,
            seq_id,
            channel,
            payload: &s[q..e],
            fill_bits,
            checksum: sum,
            tag,
            trailer_time_ms,
            trailer_station,
        }),
        p + len,
    ))
}

/// A line [`frame_line`] framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed<'a> {
    /// The commonest line: one sentence of a one-sentence message, no tag block, nothing after
    /// the checksum.
    Bare(Bare<'a>),
    /// Any other line it takes.
    Full(Sentence<'a>),
}

/// A [`Framed::Bare`] line: the sentence's fields that are not implied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bare<'a> {
    /// Talker id.
    pub talker: [u8; 2],
    /// VDO rather than VDM.
    pub own_ship: bool,
    /// Sequential message id (some feeds set it on one-sentence messages too).
    pub seq_id: Option<u8>,
    /// Radio channel.
    pub channel: Option<u8>,
    /// Armored payload.
    pub payload: &'a [u8],
    /// Fill bits.
    pub fill_bits: u8,
    /// The sentence's checksum.
    pub checksum: u8,
}

impl<'a> Framed<'a> {
    /// The line's sentence, as [`Sentences`] gives it.
    #[inline]
    pub fn sentence(&self) -> Sentence<'a> {
        match *self {
            Framed::Bare(b) => Sentence {
                talker: b.talker,
                own_ship: b.own_ship,
                total: 1,
                number: 1,
                seq_id: b.seq_id,
                channel: b.channel,
                payload: b.payload,
                fill_bits: b.fill_bits,
                checksum: b.checksum,
                tag: None,
                trailer_time_ms: None,
                trailer_station: None,
            },
            Framed::Full(s) => s,
        }
    }
}

/// Reads `d,d,[d],[c],` at fixed positions (the layout of nearly every sentence).
#[inline]
fn header_fast(s: &[u8], star: usize) -> Option<Header> {
    if star < 15 {
        return None;
    }
    let h = &s[7..15];
    if !(h[0].is_ascii_digit() && h[1] == b',' && h[2].is_ascii_digit() && h[3] == b',') {
        return None;
    }
    let (seq, mut q) = match (h[4], h[5]) {
        (b',', _) => (None, 5),
        (d, b',') if d.is_ascii_digit() => (Some(d - b'0'), 6),
        _ => return None,
    };
    let channel = match (h[q], h.get(q + 1)) {
        (b',', _) => {
            q += 1;
            None
        }
        (c, Some(b',')) => {
            q += 2;
            Some(c)
        }
        _ => return None,
    };
    Some((h[0] - b'0', h[2] - b'0', seq, channel, 7 + q))
}

/// Reads the header fields by scanning for commas; `Err` holds the offset of the bad field.
fn header_slow(s: &[u8], star: usize) -> Result<Header, usize> {
    let mut q = 7;
    let mut field = || -> Result<&[u8], usize> {
        let start = q;
        let rel = s[start..star]
            .iter()
            .position(|&b| b == b',')
            .ok_or(start)?;
        q += rel + 1;
        Ok(&s[start..start + rel])
    };
    let total = field()?;
    let number = field()?;
    let seq = field()?;
    let channel = field()?;
    let (total, number) = match (total, number) {
        ([t], [n]) if t.is_ascii_digit() && n.is_ascii_digit() => (t - b'0', n - b'0'),
        _ => return Err(7),
    };
    let seq_id = match seq {
        [] => None,
        [d] if d.is_ascii_digit() => Some(d - b'0'),
        _ => return Err(q),
    };
    let channel = match channel {
        [] => None,
        [c] => Some(*c),
        _ => return Err(q),
    };
    Ok((total, number, seq_id, channel, q))
}

/// XOR of all bytes, and whether `needle` occurs among them (SWAR, eight bytes at a time).
#[inline]
pub fn xor_and_find(s: &[u8], needle: u8) -> (u8, bool) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pat = LO * needle as u64;
    let mut acc = 0u64;
    let mut found = 0u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_le_bytes(w);
        acc ^= v;
        let x = v ^ pat;
        found |= x.wrapping_sub(LO) & !x & HI;
    }
    let mut x = acc ^ (acc >> 32);
    x ^= x >> 16;
    x ^= x >> 8;
    let mut b = x as u8;
    let mut hit = found != 0;
    for &r in chunks.remainder() {
        b ^= r;
        hit |= r == needle;
    }
    (b, hit)
}

/// Receiver fields after the checksum, up to the end of the line or the next sentence.
fn parse_trailer(rest: &[u8]) -> (Option<i64>, Option<&[u8]>, usize) {
    if rest.first() != Some(&b',') {
        return (None, None, 0);
    }
    let stop = rest
        .iter()
        .position(|&b| b == b'\\' || b == b'!' || b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    let mut time = None;
    let mut station = None;
    for f in rest[1..stop].split(|&b| b == b',') {
        if time.is_none() {
            if let Some(v) = num(f) {
                time = epoch_to_ms(v, f.len());
                continue;
            }
        }
        if station.is_none()
            && f.len() > 1
            && (f[0] == b'r' || f[0] == b'b')
            && f[1..].iter().all(u8::is_ascii_alphanumeric)
        {
            station = Some(f);
        }
    }
    (time, station, stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn xor_before_is_xor_checksum(line in proptest::collection::vec(proptest::num::u8::ANY, 0..80), end in 0usize..80) {
            let end = end.min(line.len());
            proptest::prop_assert_eq!(xor_before(&line, end), xor_checksum(&line[1.min(end)..end]));
        }

        /// The block-wise `$PGHP` parser gives what the byte-at-a-time one gives, on lines
        /// like the real ones and mutations of them.
        #[test]
        fn pghp_parsers_agree(
            numbers in proptest::prop_oneof![
                proptest::collection::vec("[0-9]{1,4}", 7),
                // Real dates, so that the times compared are not all `None`.
                proptest::strategy::Strategy::prop_map(
                    (1970u32..2100, 1u32..13, 1u32..29, 0u32..24, 0u32..60, 0u32..60, 0u32..1000),
                    |(y, mo, d, h, mi, sec, ms)| [y, mo, d, h, mi, sec, ms].map(|v| v.to_string()).to_vec(),
                ),
            ],
            others in proptest::collection::vec("[0-9A-Z_]{0,10}", 4),
            cs in "[0-9A-F]{2}",
            noise in proptest::collection::vec("[0-9]{0,5}|[0-9A-Z_]{0,12}|[,*x]", 0..4),
            star in proptest::option::of(0usize..4),
            cut in 0usize..130,
        ) {
            let mut line = format!("$PGHP,1,{},{},{cs}", numbers.join(","), others.join(","));
            for x in noise {
                line.push_str(&x);
            }
            if let Some(k) = star {
                let sum = xor_checksum(&line.as_bytes()[1..]) ^ (k as u8 / 3);
                line.push_str(&format!("*{sum:02X}"));
                if k == 2 {
                    line.push_str(",1328133720089");
                }
            }
            let line = &line.as_bytes()[..(cut * 2).min(line.len())];
            proptest::prop_assert_eq!(parse_pghp(line), parse_pghp_bytes(line));
        }

        /// The one-pass tag-block field scanner finds the fields a split at commas and a search
        /// for the first colon find (empty fields skipped, a field without a colon flagged).
        #[test]
        fn tag_fields_are_split_then_search(body in "[sc:g,1-]{0,30}") {
            let body = body.as_bytes();
            let want: Vec<Option<(&[u8], &[u8])>> = body
                .split(|&b| b == b',')
                .filter(|f| !f.is_empty())
                .map(|f| f.iter().position(|&b| b == b':').map(|c| (&f[..c], &f[c + 1..])))
                .collect();
            let got: Vec<_> = TagFields { body, pos: 0 }.collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// Reading a field as a number in one pass gives what reading it and then parsing it
        /// gives, and leaves the reader at the same place.
        #[test]
        fn next_num_is_num_of_next(s in "[0-9,x]{0,40}") {
            let (mut a, mut b) = (
                Fields { s: s.as_bytes(), pos: 0 },
                Fields { s: s.as_bytes(), pos: 0 },
            );
            for _ in 0..12 {
                proptest::prop_assert_eq!(a.next_num(), num(b.next()));
                proptest::prop_assert_eq!(a.pos, b.pos);
            }
        }
    }

    fn one(line: &str) -> Result<Sentence<'_>, FrameError> {
        let l = line.as_bytes();
        match classify(l) {
            LineKind::Sentences { start, .. } => Sentences::new(l, start).next().unwrap(),
            other => panic!("not a sentence line: {other:?}"),
        }
    }

    #[test]
    fn bare_sentence() {
        let s = one("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C").unwrap();
        assert_eq!(&s.talker, b"AI");
        assert!(!s.own_ship);
        assert_eq!(
            (s.total, s.number, s.seq_id, s.channel),
            (1, 1, None, Some(b'B'))
        );
        assert_eq!(s.payload, b"177KQJ5000G?tO`K>RA1wUbN0TKH");
        assert_eq!(s.fill_bits, 0);
    }

    #[test]
    fn checksum_is_verified() {
        assert_eq!(
            one("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5D"),
            Err(FrameError::BadChecksum)
        );
        assert_eq!(
            one("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0"),
            Err(FrameError::BadChecksum)
        );
    }

    #[test]
    fn tag_block_and_group() {
        let s = one("\\g:1-2-73874,n:157036,s:r003669945,c:1241544035*4A\\!AIVDM,1,1,,B,15N4cJ`005Jrek0H@9n`DW5608EP,0*13").unwrap();
        let t = s.tag.unwrap();
        assert_eq!(t.checksum, TagChecksum::Ok);
        assert_eq!(t.source, Some(&b"r003669945"[..]));
        assert_eq!(t.time_ms, Some(1_241_544_035_000));
        assert_eq!(t.group.map(|g| (g.number, g.total)), Some((1, 2)));
        assert_eq!(t.line_count, Some(157036));
    }

    #[test]
    fn tag_block_milliseconds() {
        let t =
            parse_tag_block(b"c:1599239526500,s:sdr-experiments,T:2020-09-04 18.12.06*5D").unwrap();
        assert_eq!(t.time_ms, Some(1_599_239_526_500));
    }

    #[test]
    fn trailer_fields() {
        let s = one("!AIVDM,1,1,,A,144gjIP0085KKPQHMPjT81Sb1PSL,0*22,1328133720087").unwrap();
        assert_eq!(s.trailer_time_ms, Some(1_328_133_720_087));
        let s =
            one("!AIVDM,1,1,,A,15B4FT5000JRP>PE6E68Nbkl0PS5,0*70,b003669794,1272412827").unwrap();
        assert_eq!(s.trailer_time_ms, Some(1_272_412_827_000));
        assert_eq!(s.trailer_station, Some(&b"b003669794"[..]));
    }

    #[test]
    fn pghp_time_and_reference() {
        let p = parse_pghp(b"$PGHP,1,2008,5,9,0,0,0,10,338,2,,1,09*17").unwrap();
        assert_eq!(p.time_ms, Some(1_210_291_200_010));
        assert_eq!(p.ref_checksum, Some(0x09));
    }

    /// Found by fuzzing (issue 2): a `$PGHP` year far out of range overflowed the date arithmetic.
    #[test]
    fn pghp_with_absurd_date_is_not_a_time() {
        let body = "PGHP,1,9999999999999999,5,9,0,0,0,10,338,2,,1,09";
        let line = format!("${body}*{:02X}", xor_checksum(body.as_bytes()));
        let p = parse_pghp(line.as_bytes()).unwrap();
        assert_eq!(p.time_ms, None);
        assert_eq!(civil_to_ms(i64::MAX, 1, 1, 0, 0, 0, 0), None);
    }

    #[test]
    fn concatenated_sentences() {
        let line = b"!AIVDM,2,1,2,B,552H<Dl00001HDL62210ThuB08t5B1HDL622220j1083340Ht3h00000,0*4B\\r\\n!AIVDM,2,2,2,B,000000000000000,2*25";
        let LineKind::Sentences { start, .. } = classify(line) else {
            panic!()
        };
        let v: Vec<_> = Sentences::new(line, start).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].as_ref().unwrap().number, 2);
    }

    #[test]
    fn timestamp_prefix() {
        let line = b"2021-07-01T18:51:51.680Z !AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23";
        assert!(matches!(
            classify(line),
            LineKind::Sentences {
                prefix_time_ms: Some(1_625_165_511_680),
                ..
            }
        ));
        let line = b"1625165511 !AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23";
        assert!(matches!(
            classify(line),
            LineKind::Sentences {
                prefix_time_ms: Some(1_625_165_511_000),
                ..
            }
        ));
    }

    #[test]
    fn other_lines() {
        assert_eq!(classify(b"# comment"), LineKind::Comment);
        assert!(matches!(
            classify(b"$GPGGA,1,2*00"),
            LineKind::Other(FrameError::NotAis)
        ));
        assert!(matches!(
            classify(b"hello"),
            LineKind::Other(FrameError::NotAis)
        ));
        assert!(matches!(classify(b"\\si:AISD*3F\\"), LineKind::TagOnly(_)));
    }

    proptest::proptest! {
        /// A station name is the first 32 bytes with every non-printable one replaced.
        #[test]
        fn station_names_keep_printable_bytes_and_replace_the_rest(
            raw in proptest::collection::vec(proptest::num::u8::ANY, 0..50),
        ) {
            let want: String = raw
                .iter()
                .take(32)
                .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '?' })
                .collect();
            let st = Station::new(&raw);
            proptest::prop_assert_eq!(st.as_str(), want.as_str());
            proptest::prop_assert_eq!(st, Station::new(want.as_bytes()));
        }
    }

    #[test]
    fn xor_and_find_matches_naive() {
        let mut v: Vec<u8> = (0u8..=255).collect();
        for len in 0..v.len() {
            let s = &v[..len];
            let (x, hit) = xor_and_find(s, b'*');
            assert_eq!(x, s.iter().fold(0, |a, b| a ^ b));
            assert_eq!(hit, s.contains(&b'*'), "len {len}");
        }
        v.retain(|&b| b != b'*');
        assert!(!xor_and_find(&v, b'*').1);
    }

    #[test]
    fn header_fast_and_slow_agree() {
        for h in ["1,1,,A,", "2,1,3,B,", "1,1,,,", "2,2,9,,", "1,1,5,2,"] {
            let s = format!("!AIVDM,{h}PAYLOAD,0*00");
            let star = s.len() - 3;
            assert_eq!(
                header_fast(s.as_bytes(), star),
                header_slow(s.as_bytes(), star).ok(),
                "{h}"
            );
        }
        let odd = "!AIVDM,1,1,,AB,PAYLOAD,0*00";
        assert_eq!(header_fast(odd.as_bytes(), odd.len() - 3), None);
    }

    #[test]
    fn xor_matches_bytewise() {
        let s = b"AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0";
        assert_eq!(xor_checksum(s), s.iter().fold(0, |a, b| a ^ b));
        assert_eq!(xor_checksum(s), 0x5C);
    }
}
