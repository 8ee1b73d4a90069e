//! The de-armored payload: six-bit ASCII to a big-endian bit vector, and field readers.
//!
//! [`Payload`] owns a fixed buffer (no allocation); fields are read with [`Payload::u`],
//! [`Payload::i`] and [`Payload::text`] at ITU-R M.1371 bit offsets. Reading past the end of the
//! message yields zero bits; message decoders check lengths before they read.

use crate::error::PayloadError;

/// Largest message we accept, in bits. ITU-R M.1371 caps a message at 5 slots (1008 bits incl.
/// overhead); real feeds carry a little more in long type 8/26 messages, so leave headroom.
pub const MAX_BITS: usize = 2048;
const MAX_BYTES: usize = MAX_BITS / 8;
/// Zero padding after the last byte, so that a field read can always load 8 bytes and a
/// de-armoring step can always write 16.
const PAD: usize = 16;

/// Six-bit value of an armored payload character, or `0x80` for characters outside the
/// alphabet ('0'..='W' and '`'..='w').
static ARMOR: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut c = 0usize;
    while c < 256 {
        if 48 <= c && c <= 87 {
            t[c] = (c - 48) as u8;
        } else if c >= 96 && c <= 119 {
            t[c] = (c - 56) as u8;
        }
        c += 1;
    }
    t
};

/// The armoring alphabet, six-bit value to character.
pub(crate) static ARMOR_CHARS: &[u8; 64] =
    b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw";

/// Armors 48 bits (right-aligned) into their eight characters, most significant first,
/// with word arithmetic: each six-bit value `v` in a byte of its own, then
/// `v + 48`, plus 8 where `v >= 40` (the alphabet's gap after 'W'). Equal to a lookup in
/// [`ARMOR_CHARS`] per character (tested), in a dozen instructions for eight.
#[inline]
pub(crate) fn armor8(x: u64) -> [u8; 8] {
    // 24-bit halves into 32-bit lanes, then 12-bit quarters into 16-bit lanes, then six-bit
    // values into bytes.
    let a = (x & 0xFFFF_FF00_0000) << 8 | (x & 0xFF_FFFF);
    let b = (a & 0x00FF_F000_00FF_F000) << 4 | (a & 0x0000_0FFF_0000_0FFF);
    let c = (b & 0x0FC0_0FC0_0FC0_0FC0) << 2 | (b & 0x003F_003F_003F_003F);
    // No lane carries: v <= 63, so v + 0x58 < 0x100 and v + 0x30 + 8 < 0x100.
    let gap = ((c + 0x5858_5858_5858_5858) & 0x8080_8080_8080_8080) >> 4;
    (c + 0x3030_3030_3030_3030 + gap).to_be_bytes()
}

const LANES_H: u64 = 0x8080_8080_8080_8080;

const fn lanes(b: u8) -> u64 {
    b as u64 * 0x0101_0101_0101_0101
}

/// A mask with the top bit of each byte of `x` set where that byte is a character of the
/// armoring alphabet (`'0'..='W'`, `` '`'..='w' ``).
#[inline]
pub(crate) fn armor_valid(x: u64) -> u64 {
    let high = x & LANES_H;
    let x = x & !LANES_H;
    // Top bit of each byte set where the character is at least 0x30, 0x58, 0x60, 0x78 (no
    // byte carries into the next: all are below 0x80 now).
    let ge30 = x.wrapping_add(lanes(0x80 - 0x30)) & LANES_H;
    let ge58 = x.wrapping_add(lanes(0x80 - 0x58)) & LANES_H;
    let ge60 = x.wrapping_add(lanes(0x80 - 0x60)) & LANES_H;
    let ge78 = x.wrapping_add(lanes(0x80 - 0x78)) & LANES_H;
    ge30 & !ge78 & !(ge58 & !ge60) & !high
}

/// The six-bit values of eight characters that are all in the alphabet, one per byte.
#[inline]
fn armor_values(x: u64) -> u64 {
    let ge60 = x.wrapping_add(lanes(0x80 - 0x60)) & LANES_H;
    // c - 48, less 8 more above the gap (no byte borrows: all are at least 0x30).
    x - lanes(0x30) - (ge60 >> 4)
}

/// Eight six-bit values (the first in the top byte, each below 64) into their 48 bits,
/// right-aligned.
#[inline]
fn pack48(c: u64) -> u64 {
    // Six-bit values into 12-bit, 24-bit, then 48-bit groups.
    let b = (c & 0x3F00_3F00_3F00_3F00) >> 2 | (c & 0x003F_003F_003F_003F);
    let a = (b & 0x0FFF_0000_0FFF_0000) >> 4 | (b & 0x0000_0FFF_0000_0FFF);
    (a & 0x00FF_FFFF_0000_0000) >> 8 | (a & 0x0000_0000_00FF_FFFF)
}

/// 48 bits (right-aligned) as eight six-bit values, one per byte, the first in the low byte:
/// the inverse of [`pack48`] but for byte order.
#[inline]
fn spread6(x: u64) -> u64 {
    // 48 bits into two 24-bit, four 12-bit, then eight 6-bit groups.
    let x = (x & 0xFF_FFFF) | (x >> 24 & 0xFF_FFFF) << 32;
    let x = (x & 0x0000_0FFF_0000_0FFF) | (x >> 12 & 0x0000_0FFF_0000_0FFF) << 16;
    let x = (x & 0x003F_003F_003F_003F) | (x >> 6 & 0x003F_003F_003F_003F) << 8;
    x.swap_bytes()
}

/// Eight six-bit values (one per byte) as their [`TEXT_CHARS`]: 0-31 are `@`-`_` (the value
/// plus 64), 32-63 are themselves.
#[inline]
fn text_ascii(v: u64) -> u64 {
    v | (!v & lanes(0x20)) << 1
}

/// De-armors eight characters (the first in the top byte) into their 48 bits, right-aligned,
/// with word arithmetic; `None` if any is outside the alphabet. Equal to [`ARMOR`] per
/// character (tested).
#[inline]
pub(crate) fn dearmor8(x: u64) -> Option<u64> {
    (armor_valid(x) == LANES_H).then(|| pack48(armor_values(x)))
}

/// De-armors sixteen bytes (`lo` the first eight, little-endian as loaded, `hi` the next):
/// `(a, b, n)` where the first twelve bytes of `a.to_le_bytes()` then `b.to_le_bytes()` are
/// the 96 bits of the sixteen characters in order, and `n` is the number of leading bytes
/// that are characters of the alphabet. The bits of the first `n` characters are exact and do
/// not depend on the bytes after them; the rest is unspecified. With word arithmetic: the
/// version for CPUs without SSE2, and the reference for [`crate::simd::dearmor16`] in tests.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2"),
    allow(dead_code, reason = "the reference for the SIMD versions in tests")
)]
#[inline]
pub(crate) fn dearmor16_words(lo: u64, hi: u64) -> (u64, u64, usize) {
    let half = |x: u64| {
        let x = x.swap_bytes();
        let valid = armor_valid(x);
        let n = (!valid & LANES_H).leading_zeros() as usize / 8;
        let keep = !(u64::MAX.checked_shr(8 * n as u32).unwrap_or(0));
        (pack48(armor_values(x & keep | lanes(b'0') & !keep)), n)
    };
    let (w0, n0) = half(lo);
    let (w1, n1) = half(hi);
    let n = if n0 < 8 { n0 } else { 8 + n1 };
    let (a, b) = join48(w0, w1);
    (a, b, n)
}

/// Two 48-bit values (right-aligned) as twelve bytes in order: the first eight and the last
/// four, little-endian.
#[inline]
pub(crate) fn join48(w0: u64, w1: u64) -> (u64, u64) {
    ((w0 << 16 | w1 >> 32).swap_bytes(), (w1 << 32).swap_bytes())
}

/// Six-bit text alphabet used inside messages (ITU-R M.1371 Table 47).
pub(crate) static TEXT_CHARS: &[u8; 64] =
    b"@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?";

/// A de-armored AIS message: up to [`MAX_BITS`] bits, stored big-endian.
#[derive(Clone)]
pub struct Payload {
    bytes: [u8; MAX_BYTES + PAD],
    bits: usize,
}

impl Default for Payload {
    fn default() -> Self {
        Payload {
            bytes: [0; MAX_BYTES + PAD],
            bits: 0,
        }
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload").field("bits", &self.bits).finish()
    }
}

impl Payload {
    /// An empty payload.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of valid bits.
    #[inline]
    pub fn len_bits(&self) -> usize {
        self.bits
    }

    /// Replaces the content with one armored fragment.
    pub fn set(&mut self, armored: &[u8], fill_bits: u8) -> Result<(), PayloadError> {
        self.bits = 0;
        self.push(armored, fill_bits)
    }

    /// Replaces the content with the armored characters at the start of `s`, up to the first
    /// byte outside the alphabet, thirty-two (AVX2) or sixteen at a time; the framing's fast
    /// lane uses it to find where the payload ends while de-armoring it. Returns the number of
    /// characters and the XOR of their bytes (their share of the NMEA checksum); then call
    /// [`Payload::drop_fill_bits`]. `None`, with the content unspecified, when the block holding
    /// the run's end does not fit in `s` (at most thirty-two bytes past the end are needed), the
    /// run is empty, or is longer than [`MAX_BITS`]: the caller then takes the general path
    /// ([`Payload::set`]).
    #[inline]
    pub fn set_leading_run(&mut self, s: &[u8]) -> Option<(usize, u8)> {
        crate::simd::leading_run(self, s)
    }

    /// [`Payload::set_leading_run`] in blocks of `W` bytes (inlined into each SIMD version's
    /// function). `dearmor(block, out)` writes the block's `W * 6` bits to the first `W * 3 / 4`
    /// bytes of `out` (what it writes past the run is overwritten by the next block or cleared
    /// by `drop_fill_bits`: PAD covers it) and returns how many leading bytes of the block are
    /// armoring characters and the XOR of those bytes, in any lanes of a `u64`.
    #[inline(always)]
    pub(crate) fn leading_run_blocks<const W: usize, const OUT: usize>(
        &mut self,
        s: &[u8],
        dearmor: impl Fn(&[u8; W], &mut [u8; OUT]) -> (usize, u64),
    ) -> Option<(usize, u8)> {
        let mut k = 0;
        let mut acc = 0u64;
        loop {
            let block = s.get(k..k + W)?.try_into().expect("W bytes");
            let o = k / W * (W * 3 / 4);
            let out = (&mut self.bytes[o..o + OUT]).try_into().expect("OUT bytes");
            let (n, x) = dearmor(block, out);
            acc ^= x;
            if n == W {
                k += W;
                if k > MAX_BITS / 6 {
                    return None;
                }
                continue;
            }
            let len = k + n;
            if len == 0 || len > MAX_BITS / 6 {
                return None;
            }
            self.bits = len * 6;
            let mut x = acc ^ (acc >> 32);
            x ^= x >> 16;
            x ^= x >> 8;
            return Some((len, x as u8));
        }
    }

    /// [`Payload::leading_run_blocks`] with sixteen-byte blocks de-armored by `dearmor16` (a
    /// version of [`dearmor16_words`]).
    #[inline(always)]
    pub(crate) fn leading_run_with(
        &mut self,
        s: &[u8],
        dearmor16: impl Fn(u64, u64) -> (u64, u64, usize),
    ) -> Option<(usize, u8)> {
        self.leading_run_blocks(s, |c: &[u8; 16], out: &mut [u8; 16]| {
            let lo = u64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
            let hi = u64::from_le_bytes(c[8..].try_into().expect("8 bytes"));
            let (a, b, n) = dearmor16(lo, hi);
            out[..8].copy_from_slice(&a.to_le_bytes());
            out[8..].copy_from_slice(&b.to_le_bytes());
            // The run's bytes of this block only.
            let x = if n >= 8 {
                lo ^ (hi & !u64::MAX.checked_shl(8 * (n as u32 - 8)).unwrap_or(0))
            } else {
                lo & !(u64::MAX << (8 * n))
            };
            (n, x)
        })
    }

    /// Drops the fill bits after [`Payload::set_leading_run`]; `false` (content unspecified)
    /// where [`Payload::set`] would reject them.
    #[inline]
    pub fn drop_fill_bits(&mut self, fill_bits: u8) -> bool {
        if fill_bits > 5 || (fill_bits as usize) > self.bits {
            return false;
        }
        self.bits -= fill_bits as usize;
        self.clear_tail();
        true
    }

    /// Appends an armored fragment. `fill_bits` of the last character are dropped.
    ///
    /// Fragments are appended at the current bit position, so the fill bits of all but the last
    /// fragment should be zero (as the standard requires); where they are not, we honour them.
    pub fn push(&mut self, armored: &[u8], fill_bits: u8) -> Result<(), PayloadError> {
        if fill_bits > 5 {
            return Err(PayloadError::BadFillBits);
        }
        let add = armored.len() * 6;
        if add < fill_bits as usize {
            return Err(PayloadError::BadFillBits);
        }
        if self.bits + add > MAX_BITS {
            return Err(PayloadError::TooLong);
        }
        if self.bits.is_multiple_of(8) {
            self.push_aligned(armored)?;
        } else {
            self.push_slow(armored)?;
        }
        self.bits -= fill_bits as usize;
        // Keep everything after the valid bits zero, so field reads past the end see zeros
        // and a later `push` can OR into clean bytes.
        self.clear_tail();
        Ok(())
    }

    /// Zeroes the bits after the last valid one, up to PAD bytes on (what a field read past the
    /// end loads). No branch on whether the last byte is partial: fill bits vary from message
    /// to message, and the branch was often mispredicted.
    #[inline(always)]
    fn clear_tail(&mut self) {
        let full = self.bits / 8;
        let keep = self.bytes[full] & (0xFF00u16 >> (self.bits % 8)) as u8;
        self.bytes[full..full + PAD].fill(0);
        self.bytes[full] = keep;
    }

    /// Fast path: the write position is byte aligned; eight characters make six bytes (word
    /// arithmetic), four make three.
    #[inline]
    fn push_aligned(&mut self, armored: &[u8]) -> Result<(), PayloadError> {
        let mut o = self.bits / 8;
        // Sixteen characters a step (twelve bytes), then eight (six), then four (three).
        let sixteens = armored.len() / 16;
        let (blocks, armored) = armored.split_at(sixteens * 16);
        for c in blocks.chunks_exact(16) {
            let lo = u64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
            let hi = u64::from_le_bytes(c[8..].try_into().expect("8 bytes"));
            let (a, b, n) = crate::simd::dearmor16(lo, hi);
            if n < 16 {
                return Err(PayloadError::BadChar);
            }
            // `push` checked the length; the bytes after the twelve are written again or
            // cleared (PAD covers them).
            self.bytes[o..o + 8].copy_from_slice(&a.to_le_bytes());
            self.bytes[o + 8..o + 16].copy_from_slice(&b.to_le_bytes());
            o += 12;
        }
        let eights = armored.len() / 8;
        let (words, armored) = armored.split_at(eights * 8);
        for c in words.chunks_exact(8) {
            let w = dearmor8(u64::from_be_bytes(c.try_into().expect("8 bytes")))
                .ok_or(PayloadError::BadChar)?;
            // `push` checked the length; the two bytes after the six are padding or the next
            // characters' place, and are written again or cleared.
            self.bytes[o..o + 8].copy_from_slice(&(w << 16).to_be_bytes());
            o += 6;
        }
        let full = armored.len() / 4;
        let mut bad = 0u8;
        let (src, rest) = armored.split_at(full * 4);
        // `push` checked the length, so the destination range is in bounds.
        let dst = &mut self.bytes[o..o + full * 3 + 3];
        for (c, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(3)) {
            let a = ARMOR[c[0] as usize];
            let b = ARMOR[c[1] as usize];
            let e = ARMOR[c[2] as usize];
            let f = ARMOR[c[3] as usize];
            bad |= a | b | e | f;
            let w = (a as u32) << 18 | (b as u32) << 12 | (e as u32) << 6 | f as u32;
            d[0] = (w >> 16) as u8;
            d[1] = (w >> 8) as u8;
            d[2] = w as u8;
        }
        let o = o + full * 3;
        let mut w = 0u32;
        for &ch in rest {
            let v = ARMOR[ch as usize];
            bad |= v;
            w = w << 6 | v as u32;
        }
        match rest.len() {
            1 => self.bytes[o] = (w << 2) as u8,
            2 => {
                self.bytes[o] = (w >> 4) as u8;
                self.bytes[o + 1] = (w << 4) as u8;
            }
            3 => {
                self.bytes[o] = (w >> 10) as u8;
                self.bytes[o + 1] = (w >> 2) as u8;
                self.bytes[o + 2] = (w << 6) as u8;
            }
            _ => {}
        }
        if bad & 0x80 != 0 {
            return Err(PayloadError::BadChar);
        }
        self.bits += (blocks.len() + words.len() + armored.len()) * 6;
        Ok(())
    }

    /// General path for a fragment that starts mid-byte (after a fragment with fill bits).
    /// Bits are ORed in, so the bytes they land in are cleared first: the buffer is reused and
    /// may hold an earlier message past the current end (issue 2: stale bits corrupted the
    /// second fragment of reassembled messages).
    fn push_slow(&mut self, armored: &[u8]) -> Result<(), PayloadError> {
        let first = self.bits / 8 + 1;
        let last = (self.bits + armored.len() * 6).div_ceil(8);
        if first < last {
            self.bytes[first..last].fill(0);
        }
        for &ch in armored {
            let v = ARMOR[ch as usize];
            if v & 0x80 != 0 {
                return Err(PayloadError::BadChar);
            }
            self.put(self.bits, 6, v as u64);
            self.bits += 6;
        }
        Ok(())
    }

    /// ORs `len` bits of `value` at bit offset `start` (bits there must be zero).
    fn put(&mut self, start: usize, len: usize, value: u64) {
        if len > 56 {
            // Split so each part fits one 64-bit window after the bit shift.
            self.put(start, len - 32, value >> 32);
            self.put(start + len - 32, 32, value & 0xFFFF_FFFF);
            return;
        }
        if len == 0 {
            return;
        }
        let byte = start / 8;
        if byte + 8 > self.bytes.len() {
            return;
        }
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.bytes[byte..byte + 8]);
        let word = u64::from_be_bytes(w) | (value << (64 - len) >> (start % 8));
        self.bytes[byte..byte + 8].copy_from_slice(&word.to_be_bytes());
    }

    /// Unsigned field of `len` (1..=32) bits at bit `start`.
    #[inline]
    pub fn u(&self, start: usize, len: usize) -> u32 {
        debug_assert!((1..=32).contains(&len));
        let byte = start / 8;
        if byte + 8 > self.bytes.len() {
            return 0;
        }
        let mut w = [0u8; 8];
        w.copy_from_slice(&self.bytes[byte..byte + 8]);
        let word = u64::from_be_bytes(w);
        ((word << (start % 8)) >> (64 - len)) as u32
    }

    /// Boolean field at bit `start`.
    #[inline]
    pub fn b(&self, start: usize) -> bool {
        self.u(start, 1) == 1
    }

    /// Two's-complement signed field of `len` (2..=32) bits at bit `start`.
    #[inline]
    pub fn i(&self, start: usize, len: usize) -> i32 {
        let v = self.u(start, len);
        ((v << (32 - len)) as i32) >> (32 - len)
    }

    /// Six-bit text of up to `max_chars` characters starting at `start`, bounded by the message
    /// end (a trailing partial character is padding, not text). Stops at the first '@' (the
    /// standard's terminator); leading and trailing spaces are trimmed.
    pub fn text<const N: usize>(&self, start: usize, max_chars: usize) -> AisText<N> {
        let mut t = self.text_untrimmed::<N>(start, max_chars);
        t.trim();
        t
    }

    /// Like [`Payload::text`] but keeps trailing spaces (for fields that continue elsewhere).
    pub fn text_untrimmed<const N: usize>(&self, start: usize, max_chars: usize) -> AisText<N> {
        let avail = self.bits.saturating_sub(start) / 6;
        let n = max_chars.min(avail).min(N);
        let mut t = AisText {
            buf: [0; N],
            len: 0,
        };
        // Eight characters (48 bits) a step, from one 64-bit window.
        let mut k = 0;
        while k < n {
            let bit = start + 6 * k;
            // `bit` is inside the message, so the window ends inside the padding.
            let byte = bit / 8;
            let w = u64::from_be_bytes(self.bytes[byte..byte + 8].try_into().expect("8 bytes"));
            let v = spread6((w << (bit % 8)) >> 16);
            // Up to the first '@' (six-bit 0), the standard's terminator.
            let at = ((v.wrapping_sub(lanes(1)) & !v & LANES_H).trailing_zeros() / 8) as usize;
            let take = (n - k).min(at);
            let chars = text_ascii(v)
                & (u64::MAX
                    .checked_shl(8 * take as u32)
                    .map_or(u64::MAX, |m| !m));
            let bytes = chars.to_le_bytes();
            match t.buf.get_mut(k..k + 8) {
                Some(dst) => dst.copy_from_slice(&bytes),
                None => {
                    for (d, &c) in t.buf[k..].iter_mut().zip(&bytes) {
                        *d = c;
                    }
                }
            }
            t.len = (k + take) as u8;
            if take < 8 {
                break;
            }
            k += 8;
        }
        t
    }

    /// A view of bits `start..start+len` (clamped to the message).
    pub fn slice(&self, start: usize, len: usize) -> BitSlice<'_> {
        let start = start.min(self.bits);
        let len = len.min(self.bits - start);
        BitSlice {
            payload: self,
            start,
            len,
        }
    }

    /// A view of all bits from `start` to the end of the message.
    pub fn tail(&self, start: usize) -> BitSlice<'_> {
        self.slice(start, usize::MAX / 2)
    }

    /// Armors the payload into `out` (which must hold `len_bits().div_ceil(6)` characters);
    /// returns the number of characters written and of fill bits.
    pub fn armor_to(&self, out: &mut [u8]) -> (usize, u8) {
        let chars = self.bits.div_ceil(6).min(out.len());
        // Six bytes are eight characters. The bits after the last are zero and the buffer is
        // padded, so whole eight-byte loads are always in bounds.
        for (k, dst) in out[..chars].chunks_mut(8).enumerate() {
            let at = 6 * k;
            let w = u64::from_be_bytes(self.bytes[at..at + 8].try_into().expect("8 bytes"));
            dst.copy_from_slice(&armor8(w >> 16)[..dst.len()]);
        }
        (chars, (chars * 6).saturating_sub(self.bits) as u8)
    }

    /// Re-armors the payload into six-bit ASCII; returns the number of fill bits.
    pub fn armor_into(&self, out: &mut Vec<u8>) -> u8 {
        let chars = self.bits.div_ceil(6);
        for k in 0..chars {
            out.push(ARMOR_CHARS[self.u(6 * k, 6) as usize]);
        }
        (chars * 6 - self.bits) as u8
    }
}

/// A writer building a payload field by field, in bit order (used by the encoder).
#[derive(Debug, Default)]
pub struct BitWriter {
    payload: Payload,
    /// Bits not yet stored in `payload`, right-aligned (fewer than 32 between calls); the
    /// bits before them are stored, a multiple of 32.
    acc: u64,
    acc_bits: usize,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the low `len` bits of `value`. Bits beyond [`MAX_BITS`] are dropped.
    #[inline]
    pub fn u(&mut self, len: usize, value: u64) -> &mut Self {
        if self.payload.bits + len > MAX_BITS {
            return self;
        }
        if len > 32 {
            self.u(len - 32, value >> 32);
            return self.u(32, value & 0xFFFF_FFFF);
        }
        let v = value & ((1u64 << len) - 1);
        self.acc = (self.acc << len) | v;
        self.acc_bits += len;
        self.payload.bits += len;
        if self.acc_bits >= 32 {
            // Store the oldest 32 bits; they start on a 32-bit boundary.
            let word = (self.acc >> (self.acc_bits - 32)) as u32;
            let at = (self.payload.bits - self.acc_bits) / 8;
            self.payload.bytes[at..at + 4].copy_from_slice(&word.to_be_bytes());
            self.acc_bits -= 32;
            self.acc &= (1u64 << self.acc_bits) - 1;
        }
        self
    }

    /// Stores the bits still held back (left-aligned in their last bytes).
    fn flush(&mut self) {
        if self.acc_bits == 0 {
            return;
        }
        let at = (self.payload.bits - self.acc_bits) / 8;
        let word = ((self.acc << (32 - self.acc_bits)) as u32).to_be_bytes();
        let n = self.acc_bits.div_ceil(8);
        self.payload.bytes[at..at + n].copy_from_slice(&word[..n]);
    }

    /// Appends a signed field in two's complement.
    pub fn i(&mut self, len: usize, value: i64) -> &mut Self {
        self.u(len, value as u64)
    }

    /// Appends a boolean.
    pub fn b(&mut self, value: bool) -> &mut Self {
        self.u(1, value as u64)
    }

    /// Appends six-bit text padded with '@' to `chars` characters. Characters outside the
    /// six-bit alphabet (lowercase is upper-cased) become '?'.
    pub fn text(&mut self, chars: usize, s: &str) -> &mut Self {
        self.put_text(chars, s)
    }

    /// Appends raw bits from a slice.
    pub fn bits(&mut self, data: &BitSlice<'_>) -> &mut Self {
        for k in 0..data.len() {
            self.b(data.bit(k));
        }
        self
    }

    /// The payload written so far.
    pub fn finish(mut self) -> Payload {
        self.flush();
        self.payload
    }

    /// The payload written so far, borrowed.
    pub fn payload(&mut self) -> &Payload {
        self.flush();
        &self.payload
    }

    /// Empties the writer for the next message (only the bytes written are zeroed).
    pub fn clear(&mut self) {
        let used = self.payload.bits.div_ceil(8) + 8;
        let n = used.min(self.payload.bytes.len());
        self.payload.bytes[..n].fill(0);
        self.payload.bits = 0;
        self.acc = 0;
        self.acc_bits = 0;
    }
}

/// Where the encoder writes a message's fields, in bit order: [`BitWriter`] for any message,
/// [`ShortBits`] for the short fixed-layout reports.
pub(crate) trait BitSink {
    /// Appends the low `len` (at most 64) bits of `value`.
    fn put(&mut self, len: usize, value: u64) -> &mut Self;

    /// Appends a signed field in two's complement.
    #[inline(always)]
    fn put_i(&mut self, len: usize, value: i64) -> &mut Self {
        self.put(len, value as u64)
    }

    /// Appends a boolean.
    #[inline(always)]
    fn put_b(&mut self, value: bool) -> &mut Self {
        self.put(1, value as u64)
    }

    /// Appends six-bit text padded with '@' to `chars` characters; characters outside the
    /// six-bit alphabet (lowercase is upper-cased) become '?'.
    fn put_text(&mut self, chars: usize, s: &str) -> &mut Self {
        let mut it = s.bytes();
        for _ in 0..chars {
            let v = it.next().map_or(0, sixbit_of);
            self.put(6, v as u64);
        }
        self
    }
}

impl BitSink for BitWriter {
    #[inline]
    fn put(&mut self, len: usize, value: u64) -> &mut Self {
        self.u(len, value)
    }
}

/// Up to 192 bits on the stack, for messages of one slot (types 1-4, 18 and 27). Written
/// through inlined calls with constant lengths from a fresh value, every field's place is known
/// when compiling, so a field costs a shift and an or (the simulator encodes millions a second).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShortBits {
    /// Big-endian: bit 0 of the message is the top bit of `words[0]`. The last word stays
    /// zero so that armoring may read one word past the bits.
    words: [u64; 4],
    bits: usize,
    /// More than 192 bits were written (the extra bits are dropped).
    overflow: bool,
}

impl ShortBits {
    const CAP: usize = 192;

    /// Number of bits written, or `None` if the message did not fit.
    pub(crate) fn len_bits(&self) -> Option<usize> {
        (!self.overflow).then_some(self.bits)
    }

    /// Armors the bits: the characters (those after the first `len` are '0'), `len` and the
    /// number of fill bits. Always four whole eight-character words, without branches.
    #[inline]
    pub(crate) fn armor(&self) -> ([u8; 32], usize, u8) {
        let w = &self.words;
        let mut out = [0u8; 32];
        // Bits 0, 48, 96 and 144 start the four words of eight characters.
        let tops = [
            w[0],
            w[0] << 48 | w[1] >> 16,
            w[1] << 32 | w[2] >> 32,
            w[2] << 16 | w[3] >> 48,
        ];
        for (dst, top) in out.chunks_exact_mut(8).zip(tops) {
            dst.copy_from_slice(&armor8(top >> 16));
        }
        let chars = self.bits.div_ceil(6);
        (out, chars, (chars * 6 - self.bits) as u8)
    }
}

impl BitSink for ShortBits {
    #[inline(always)]
    fn put(&mut self, len: usize, value: u64) -> &mut Self {
        if self.bits + len > Self::CAP {
            self.overflow = true;
            return self;
        }
        if len == 0 {
            return self;
        }
        let v = if len >= 64 {
            value
        } else {
            value & ((1u64 << len) - 1)
        };
        let (w, o) = (self.bits / 64, self.bits % 64);
        if o + len <= 64 {
            self.words[w] |= v << (64 - o - len);
        } else {
            let rest = o + len - 64;
            self.words[w] |= v >> rest;
            self.words[w + 1] |= v << (64 - rest);
        }
        self.bits += len;
        self
    }
}

/// Six-bit code of an ASCII character for AIS text fields.
pub(crate) fn sixbit_of(c: u8) -> u8 {
    let c = c.to_ascii_uppercase();
    match c {
        64..=95 => c - 64,
        32..=63 => c,
        _ => b'?',
    }
}

/// Fixed-capacity six-bit text, decoded and trimmed. No allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AisText<const N: usize> {
    buf: [u8; N],
    len: u8,
}

impl<const N: usize> AisText<N> {
    /// The text (always ASCII).
    pub fn as_str(&self) -> &str {
        // Only bytes from TEXT_CHARS (printable ASCII) are ever stored.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }

    /// Removes leading and trailing spaces in place (the bytes after the text stay zero, so that
    /// equal texts compare equal).
    fn trim(&mut self) {
        let end = self.len as usize;
        while self.len > 0 && self.buf[self.len as usize - 1] == b' ' {
            self.len -= 1;
        }
        let lead = self.buf[..self.len as usize]
            .iter()
            .take_while(|&&c| c == b' ')
            .count();
        if lead > 0 {
            self.buf.copy_within(lead..self.len as usize, 0);
            self.len -= lead as u8;
        }
        if self.len as usize != end {
            self.buf[self.len as usize..end].fill(0);
        }
    }

    /// True when the field held no characters (all '@' or spaces).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `a` followed by `b` (truncated at capacity), with the leading and trailing spaces of the
    /// whole trimmed (spaces where they meet are kept).
    pub fn joined<const M: usize, const K: usize>(a: &AisText<M>, b: &AisText<K>) -> Self {
        let mut t = AisText {
            buf: [0; N],
            len: 0,
        };
        for &c in a.as_str().as_bytes().iter().chain(b.as_str().as_bytes()) {
            if t.len as usize == N {
                break;
            }
            t.buf[t.len as usize] = c;
            t.len += 1;
        }
        t.trim();
        t
    }

    /// Builds a text value from a string (for tests and the encoder); truncates to `N`.
    pub fn from_str_lossy(s: &str) -> Self {
        let mut t = AisText {
            buf: [0; N],
            len: 0,
        };
        for c in s.bytes().take(N.min(255)) {
            t.buf[t.len as usize] = TEXT_CHARS[sixbit_of(c) as usize];
            t.len += 1;
        }
        t
    }
}

impl<const N: usize> Default for AisText<N> {
    fn default() -> Self {
        AisText {
            buf: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> std::fmt::Debug for AisText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl<const N: usize> std::fmt::Display for AisText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Borrowed view of a run of bits inside a [`Payload`] (binary application data).
#[derive(Clone, Copy)]
pub struct BitSlice<'a> {
    payload: &'a Payload,
    start: usize,
    len: usize,
}

impl<'a> BitSlice<'a> {
    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `k` of the slice.
    pub fn bit(&self, k: usize) -> bool {
        self.payload.b(self.start + k)
    }

    /// Unsigned field of `len` bits at `start` within the slice (zero past its end).
    pub fn u(&self, start: usize, len: usize) -> u32 {
        if start >= self.len {
            return 0;
        }
        let v = self.payload.u(self.start + start, len);
        let avail = self.len - start;
        if avail >= len {
            v
        } else {
            // Mask out bits that belong to the message past this slice.
            v >> (len - avail) << (len - avail)
        }
    }

    /// Writes the bits as hex (gpsd style: whole bytes, the last one zero-padded).
    pub fn write_hex(&self, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut k = 0;
        while k < self.len {
            let n = (self.len - k).min(8);
            let byte = (self.u(k, n) << (8 - n)) as u8;
            out.push(HEX[(byte >> 4) as usize]);
            out.push(HEX[(byte & 15) as usize]);
            k += 8;
        }
    }
}

impl std::fmt::Debug for BitSlice<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut hex = Vec::new();
        self.write_hex(&mut hex);
        write!(f, "{}:{}", self.len, String::from_utf8_lossy(&hex))
    }
}

impl PartialEq for BitSlice<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && (0..self.len).all(|k| self.bit(k) == other.bit(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dearmor_and_read_fields() {
        let mut p = Payload::new();
        // Type 1 from the gpsd AIVDM document.
        p.set(b"177KQJ5000G?tO`K>RA1wUbN0TKH", 0).unwrap();
        assert_eq!(p.len_bits(), 168);
        assert_eq!(p.u(0, 6), 1);
        assert_eq!(p.u(8, 30), 477553000);
        assert_eq!(p.u(38, 4), 5);
        assert_eq!(p.i(61, 28), -73_407_500);
    }

    #[test]
    fn rejects_bad_characters_and_fill() {
        let mut p = Payload::new();
        assert_eq!(p.set(b"17X", 0), Err(PayloadError::BadChar));
        assert_eq!(p.set(b"1", 6), Err(PayloadError::BadFillBits));
        assert_eq!(p.set(b"", 2), Err(PayloadError::BadFillBits));
    }

    #[test]
    fn unaligned_append_matches_aligned() {
        let mut a = Payload::new();
        a.set(
            b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E531@0000000000000",
            2,
        )
        .unwrap();
        let mut b = Payload::new();
        b.set(
            b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53",
            0,
        )
        .unwrap();
        b.push(b"1@0000000000000", 2).unwrap();
        assert_eq!(a.len_bits(), b.len_bits());
        for k in 0..a.len_bits() {
            assert_eq!(a.b(k), b.b(k), "bit {k}");
        }
        // A fragment with fill bits followed by another: slow path.
        let mut c = Payload::new();
        let first: &[u8] = b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E";
        c.set(first, 2).unwrap();
        let n = first.len() * 6 - 2;
        assert_ne!(n % 8, 0);
        c.push(b"w", 0).unwrap();
        assert_eq!(c.len_bits(), n + 6);
        assert_eq!(c.u(n, 6), 63);
    }

    /// Regression (issue 2): a reused buffer must not leak an earlier message's bits into an
    /// unaligned second fragment.
    #[test]
    fn unaligned_append_ignores_stale_bytes() {
        let mut p = Payload::new();
        p.set(&[b'w'; 120], 0).unwrap(); // all ones
        let first: &[u8] = b"55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E";
        p.set(first, 2).unwrap();
        p.push(b"0000000000", 0).unwrap();
        let n = first.len() * 6 - 2;
        assert_eq!(p.len_bits(), n + 60);
        for k in n..n + 60 {
            assert!(!p.b(k), "bit {k} should be zero");
        }
    }

    #[test]
    fn text_stops_at_at_sign_and_trims() {
        let mut w = BitWriter::new();
        w.text(20, "EVER GIVEN  ");
        let p = w.finish();
        let t: AisText<20> = p.text(0, 20);
        assert_eq!(t.as_str(), "EVER GIVEN");
    }

    #[test]
    fn armor_round_trip() {
        let mut p = Payload::new();
        p.set(b"15M67FC000G?ufbE`FepT@3n00Sa", 0).unwrap();
        let mut out = Vec::new();
        let fill = p.armor_into(&mut out);
        assert_eq!(out, b"15M67FC000G?ufbE`FepT@3n00Sa");
        assert_eq!(fill, 0);
    }

    #[test]
    fn word_armoring_matches_the_alphabet() {
        for v in 0..64u64 {
            // The value in every one of the eight places.
            for place in 0..8 {
                let chars = armor8(v << (42 - 6 * place));
                for (k, &c) in chars.iter().enumerate() {
                    let want = if k == place {
                        ARMOR_CHARS[v as usize]
                    } else {
                        b'0'
                    };
                    assert_eq!(c, want, "value {v} at place {place}, char {k}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The word-wise `armor_to` writes what a per-character lookup writes, for any length
        /// and fill.
        #[test]
        fn armor_to_matches_armor_into(bits in proptest::collection::vec(proptest::bool::ANY, 0..1100)) {
            let mut w = BitWriter::new();
            for &b in &bits {
                w.b(b);
            }
            let p = w.finish();
            let mut want = Vec::new();
            let want_fill = p.armor_into(&mut want);
            let mut out = vec![0u8; want.len()];
            let (n, fill) = p.armor_to(&mut out);
            proptest::prop_assert_eq!(n, want.len());
            proptest::prop_assert_eq!(fill, want_fill);
            proptest::prop_assert_eq!(out, want);
        }
    }

    proptest::proptest! {
        /// De-armoring with word arithmetic gives what the per-character table gives, for
        /// any bytes: the same bits, or a bad-character error.
        #[test]
        fn word_dearmoring_matches_the_table(
            chars in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(ARMOR_CHARS.to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..120,
            ),
        ) {
            let mut p = Payload::new();
            let got = p.set(&chars, 0);
            let want_bad = chars.iter().any(|&c| ARMOR[c as usize] & 0x80 != 0);
            proptest::prop_assert_eq!(got.is_err(), want_bad);
            if !want_bad {
                proptest::prop_assert_eq!(p.len_bits(), chars.len() * 6);
                for (k, &c) in chars.iter().enumerate() {
                    proptest::prop_assert_eq!(p.u(6 * k, 6) as u8, ARMOR[c as usize], "char {}", k);
                }
                proptest::prop_assert!(p.bytes[chars.len() * 6 / 8..].iter().skip(1).all(|&b| b == 0));
            }
        }
    }

    /// Six-bit text a character at a time: the reference for the word-wise reader.
    fn text_by_char<const N: usize>(p: &Payload, start: usize, max_chars: usize) -> AisText<N> {
        let n = max_chars.min(p.bits.saturating_sub(start) / 6).min(N);
        let mut t = AisText::default();
        for k in 0..n {
            let c = TEXT_CHARS[p.u(start + 6 * k, 6) as usize];
            if c == b'@' {
                break;
            }
            t.buf[t.len as usize] = c;
            t.len += 1;
        }
        t
    }

    proptest::proptest! {
        /// The word-wise text reader reads what a character-at-a-time one reads, at any bit
        /// offset, length and capacity, '@' and spaces included.
        #[test]
        fn text_reader_matches_per_character(
            values in proptest::collection::vec(
                proptest::prop_oneof![4 => 1u8..64, 1 => proptest::strategy::Just(0u8), 1 => proptest::strategy::Just(32u8)],
                0..200,
            ),
            lead in 0usize..13,
            max_chars in 0usize..200,
        ) {
            let mut w = BitWriter::new();
            for _ in 0..lead {
                w.b(true);
            }
            for &v in &values {
                w.u(6, v as u64);
            }
            let p = w.finish();
            proptest::prop_assert_eq!(p.text_untrimmed::<3>(lead, max_chars), text_by_char::<3>(&p, lead, max_chars));
            proptest::prop_assert_eq!(p.text_untrimmed::<7>(lead, max_chars), text_by_char::<7>(&p, lead, max_chars));
            proptest::prop_assert_eq!(p.text_untrimmed::<20>(lead, max_chars), text_by_char::<20>(&p, lead, max_chars));
            proptest::prop_assert_eq!(p.text_untrimmed::<161>(lead, max_chars), text_by_char::<161>(&p, lead, max_chars));
        }
    }

    proptest::proptest! {
        /// Every version of `set_leading_run` (word arithmetic, SSE2, SSSE3, AVX2) finds the
        /// same run, with the bits and checksum share that `set` and a byte XOR give for it,
        /// for any bytes and run lengths across block boundaries.
        #[test]
        fn leading_run_versions_agree(
            chars in proptest::collection::vec(proptest::sample::select(ARMOR_CHARS.to_vec()), 0..400),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let s: Vec<u8> = chars.iter().chain(&tail).copied().collect();
            let all = crate::simd::leading_run_all(&s);
            let (want, _) = &all[0];
            let run = s.iter().take_while(|&&c| ARMOR[c as usize] & 0x80 == 0).count();
            // `None` only where the run is empty, too long, or ends too near the end of `s`
            // for a block of the version's width.
            if let Some((len, x)) = want {
                proptest::prop_assert_eq!(*len, run);
                proptest::prop_assert_eq!(*x, s[..run].iter().fold(0, |a, &c| a ^ c));
            }
            let mut reference = Payload::new();
            let set_ok = reference.set(&s[..run], 0).is_ok();
            for (i, (got, p)) in all.iter().enumerate() {
                if let Some((len, x)) = got {
                    proptest::prop_assert_eq!(*len, run, "version {}", i);
                    proptest::prop_assert_eq!(*x, s[..run].iter().fold(0, |a, &c| a ^ c), "version {}", i);
                    proptest::prop_assert!(set_ok);
                    proptest::prop_assert_eq!(p.len_bits(), run * 6, "version {}", i);
                    for k in 0..run {
                        proptest::prop_assert_eq!(p.u(6 * k, 6), reference.u(6 * k, 6), "version {} char {}", i, k);
                    }
                } else {
                    // Narrower blocks may succeed where wider ones need more bytes, never the
                    // other way round.
                    proptest::prop_assert!(
                        run == 0 || run > MAX_BITS / 6 || s.len() < run + 32,
                        "version {} gave up on a run of {} in {} bytes", i, run, s.len()
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// The SIMD and word versions of sixteen-byte de-armoring agree, for any bytes.
        #[test]
        fn dearmor16_versions_agree(
            chars in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(ARMOR_CHARS.to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                16,
            ),
        ) {
            let lo = u64::from_le_bytes(chars[..8].try_into().unwrap());
            let hi = u64::from_le_bytes(chars[8..].try_into().unwrap());
            // Six-bit value `k` of a result.
            let value = |(a, b): (u64, u64), k: usize| {
                let bits = u128::from_be_bytes([a.to_le_bytes(), b.to_le_bytes()].concat().try_into().unwrap());
                (bits >> (128 - 6 - 6 * k)) as u64 & 63
            };
            let (a, b, n) = dearmor16_words(lo, hi);
            proptest::prop_assert_eq!(n, chars.iter().take_while(|&&c| ARMOR[c as usize] < 64).count());
            for (k, &c) in chars.iter().enumerate().take(n) {
                proptest::prop_assert_eq!(value((a, b), k), ARMOR[c as usize] as u64, "char {}", k);
            }
            // The bits of the first `n` characters agree.
            for (a2, b2, m) in crate::simd::dearmor16_all(lo, hi) {
                proptest::prop_assert_eq!(m, n);
                for k in 0..n {
                    proptest::prop_assert_eq!(value((a2, b2), k), value((a, b), k), "char {}", k);
                }
            }
        }
    }

    #[test]
    fn trimmed_text_equals_the_same_text_built() {
        let mut w = BitWriter::new();
        for v in [1u64, 2, 32, 32, 0, 32, 3] {
            w.u(6, v);
        }
        let p = w.finish();
        assert_eq!(p.text::<7>(0, 7), AisText::<7>::from_str_lossy("AB"));
        let mut w = BitWriter::new();
        for v in [32u64, 32, 1, 32] {
            w.u(6, v);
        }
        assert_eq!(
            w.finish().text::<7>(0, 4),
            AisText::<7>::from_str_lossy("A")
        );
    }

    #[test]
    fn dearmor8_rejects_each_neighbour_of_the_alphabet() {
        for c in 0..=255u8 {
            let x = u64::from_be_bytes([b'0', b'w', c, b'W', b'`', b'5', b'0', b'0']);
            let valid = ARMOR[c as usize] & 0x80 == 0;
            assert_eq!(dearmor8(x).is_some(), valid, "{c:#x}");
            if let Some(w) = dearmor8(x) {
                assert_eq!((w >> 30) & 63, ARMOR[c as usize] as u64, "{c:#x}");
            }
        }
    }
}
