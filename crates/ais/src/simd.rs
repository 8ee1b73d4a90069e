//! SSE2 versions of the decoder's widest inner steps, on sixteen bytes at once: de-armoring
//! the payload (fast lane) and finding delimiters (`$PGHP` lines). SSE2 is part of every
//! x86-64 CPU; other targets use the word-arithmetic and per-byte versions, which the tests
//! also hold the SSE2 ones to.
//!
//! The only `unsafe` in the workspace is here: calling a `#[target_feature(enable = "sse2")]`
//! function, which is sound because the build's target has SSE2 (checked by the `cfg`).

/// SSE2 is enabled for this build's target (always on x86-64).
macro_rules! with_sse2 {
    ($sse2:expr, $other:expr) => {{
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        #[allow(unsafe_code)]
        // SAFETY: the functions of `sse2` need nothing but SSE2, which the cfg above shows the
        // target has. Measured: with word arithmetic the fast lane's de-armoring took a third of
        // the decoder's instructions; with SSE2 about a fifth.
        let r = unsafe { $sse2 };
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        let r = $other;
        r
    }};
}

/// De-armors sixteen bytes (`lo` the first eight, little-endian as loaded, `hi` the next):
/// the 48 bits of the first eight characters and of the next eight, right-aligned, and the
/// number `n` of leading bytes that are characters of the alphabet. The bits of the first
/// `n` characters are exact and do not depend on the bytes after them; the rest is
/// unspecified. Equal to [`crate::bits::dearmor16_words`] on those bits (tested).
#[inline]
pub(crate) fn dearmor16(lo: u64, hi: u64) -> (u64, u64, usize) {
    with_sse2!(
        sse2::dearmor16(lo, hi),
        crate::bits::dearmor16_words(lo, hi)
    )
}

/// Bit `i` set where byte `i` of the sixteen (`lo` the first eight, little-endian as loaded)
/// equals `a`, and the same for `b`.
#[inline]
pub(crate) fn eq_masks16(lo: u64, hi: u64, a: u8, b: u8) -> (u32, u32) {
    with_sse2!(
        sse2::eq_masks16(lo, hi, a, b),
        eq_masks16_bytes(lo, hi, a, b)
    )
}

/// [`eq_masks16`] a byte at a time (other CPUs, and the reference in tests).
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2"),
    allow(dead_code, reason = "the reference for the SSE2 version in tests")
)]
fn eq_masks16_bytes(lo: u64, hi: u64, a: u8, b: u8) -> (u32, u32) {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&lo.to_le_bytes());
    bytes[8..].copy_from_slice(&hi.to_le_bytes());
    let (mut ma, mut mb) = (0u32, 0u32);
    for (i, &c) in bytes.iter().enumerate() {
        ma |= ((c == a) as u32) << i;
        mb |= ((c == b) as u32) << i;
    }
    (ma, mb)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::*;

    /// [`super::dearmor16`]: range checks and six-bit packing on all sixteen bytes at once.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn dearmor16(lo: u64, hi: u64) -> (u64, u64, usize) {
        use std::arch::x86_64::*;
        let v = _mm_set_epi64x(hi as i64, lo as i64);
        // Signed compares: bytes from 0x80 up are negative and fall outside both ranges.
        let ge30 = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x2F));
        let lt58 = _mm_cmplt_epi8(v, _mm_set1_epi8(0x58));
        let ge60 = _mm_cmpgt_epi8(v, _mm_set1_epi8(0x5F));
        let lt78 = _mm_cmplt_epi8(v, _mm_set1_epi8(0x78));
        let valid = _mm_or_si128(_mm_and_si128(ge30, lt58), _mm_and_si128(ge60, lt78));
        let n = (!(_mm_movemask_epi8(valid) as u32)).trailing_zeros() as usize;
        // c - 48, less 8 more above the gap; zero outside the alphabet.
        let c = _mm_sub_epi8(v, _mm_set1_epi8(0x30));
        let c = _mm_and_si128(
            _mm_sub_epi8(c, _mm_and_si128(ge60, _mm_set1_epi8(8))),
            valid,
        );
        // Pairs into 12 bits (the first character high), then pairs of those into 24 bits.
        let t = _mm_or_si128(
            _mm_slli_epi16(_mm_and_si128(c, _mm_set1_epi16(0xFF)), 6),
            _mm_srli_epi16(c, 8),
        );
        let u = _mm_madd_epi16(t, _mm_set1_epi32(0x0001_1000));
        let a = _mm_cvtsi128_si64(u) as u64;
        let b = _mm_cvtsi128_si64(_mm_unpackhi_epi64(u, u)) as u64;
        let join = |x: u64| (x & 0xFF_FFFF) << 24 | x >> 32;
        (join(a), join(b), n.min(16))
    }

    /// [`super::eq_masks16`].
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn eq_masks16(lo: u64, hi: u64, a: u8, b: u8) -> (u32, u32) {
        let v = _mm_set_epi64x(hi as i64, lo as i64);
        let ma = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(a as i8)));
        let mb = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)));
        (ma as u32, mb as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn eq_masks16_versions_agree(lo: u64, hi: u64, a: u8, b: u8, plant: u8) {
            // Plant `a` and `b` so that matches occur.
            let lo = lo & !(0xFF << (8 * (plant % 8))) | (a as u64) << (8 * (plant % 8));
            let hi = hi & !(0xFF << (8 * (plant / 32 % 8))) | (b as u64) << (8 * (plant / 32 % 8));
            proptest::prop_assert_eq!(eq_masks16(lo, hi, a, b), eq_masks16_bytes(lo, hi, a, b));
        }
    }
}
