//! SIMD versions of the decoder's widest inner steps: de-armoring the payload (fast lane;
//! thirty-two bytes a step with AVX2, sixteen with SSSE3 or SSE2, chosen at run time) and
//! finding delimiters (`$PGHP` lines, SSE2). SSE2 is part of every x86-64 CPU; other targets
//! use the word-arithmetic and per-byte versions, which the tests also hold the SIMD ones to.
//!
//! It also holds the cache hint the ingest writer and detection use ([`prefetch`]).
//!
//! The only `unsafe` in the workspace is here: calling `#[target_feature]` functions where the
//! build's target (SSE2) or a run-time check (SSSE3, AVX2) shows the CPU has the feature, the
//! AVX2 block's unaligned load and stores, within arrays of the sizes they touch, and the
//! prefetch hint.

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

/// [`Payload::set_leading_run`](crate::bits::Payload::set_leading_run) with the widest
/// de-armoring this CPU has: AVX2 (most x86-64 CPUs of the last decade), else SSSE3 (nearly
/// all), else SSE2 (every one), else word arithmetic. The loop is compiled once per version so
/// the blocks inline.
#[inline(always)]
pub(crate) fn leading_run(p: &mut crate::bits::Payload, s: &[u8]) -> Option<(usize, u8)> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[allow(unsafe_code)]
        // SAFETY: `sse2::leading_run_avx2` needs AVX2, which the CPU was just found to have.
        return unsafe { sse2::leading_run_avx2(p, s) };
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if std::arch::is_x86_feature_detected!("ssse3") {
        #[allow(unsafe_code)]
        // SAFETY: `sse2::leading_run_ssse3` needs SSSE3, which the CPU was just found to have.
        return unsafe { sse2::leading_run_ssse3(p, s) };
    }
    p.leading_run_with(s, dearmor16)
}

/// De-armors sixteen bytes ([`crate::bits::dearmor16_words`]) with SSE2 where the target has
/// it, else with word arithmetic. Equal to `dearmor16_words` on the bits it specifies
/// (tested).
#[inline]
pub(crate) fn dearmor16(lo: u64, hi: u64) -> (u64, u64, usize) {
    with_sse2!(
        sse2::dearmor16(lo, hi),
        crate::bits::dearmor16_words(lo, hi)
    )
}

/// Every version of [`dearmor16`] this CPU can run (for the tests that compare them).
#[cfg(test)]
pub(crate) fn dearmor16_all(lo: u64, hi: u64) -> Vec<(u64, u64, usize)> {
    #[allow(unused_mut)]
    let mut all = vec![crate::bits::dearmor16_words(lo, hi), dearmor16(lo, hi)];
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if std::arch::is_x86_feature_detected!("ssse3") {
        #[allow(unsafe_code)]
        // SAFETY: as in `leading_run`.
        all.push(unsafe { sse2::dearmor16_ssse3(lo, hi) });
    }
    all
}

/// [`leading_run`] by every version this CPU can run, each into a fresh payload (for the
/// tests that compare them).
#[cfg(test)]
pub(crate) fn leading_run_all(s: &[u8]) -> Vec<(Option<(usize, u8)>, crate::bits::Payload)> {
    use crate::bits::Payload;
    let run = |f: &dyn Fn(&mut Payload) -> Option<(usize, u8)>| {
        let mut p = Payload::new();
        (f(&mut p), p)
    };
    #[allow(unused_mut)]
    let mut all = vec![
        run(&|p| p.leading_run_with(s, crate::bits::dearmor16_words)),
        run(&|p| p.leading_run_with(s, dearmor16)),
    ];
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        #[allow(unsafe_code)]
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: as in `leading_run`.
            all.push(run(&|p| unsafe { sse2::leading_run_ssse3(p, s) }));
        }
        #[allow(unsafe_code)]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as in `leading_run`.
            all.push(run(&|p| unsafe { sse2::leading_run_avx2(p, s) }));
        }
    }
    all
}

/// The first position of `a` or `b` in `hay`, sixteen bytes a step with SSE2 (the `memchr`
/// crate's searches cost more to set up than a line-long search takes: they are built for long
/// haystacks, and the decoder looks for a delimiter a few dozen bytes on). Not inlined: in the
/// line loop it took registers from the fast lane.
#[inline(never)]
pub(crate) fn find2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    return memchr::memchr2(a, b, hay);
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        let block = |i: usize| {
            let lo = u64::from_le_bytes(hay[i..i + 8].try_into().expect("8 bytes"));
            let hi = u64::from_le_bytes(hay[i + 8..i + 16].try_into().expect("8 bytes"));
            let (ma, mb) = eq_masks16(lo, hi, a, b);
            ma | mb
        };
        let mut i = 0;
        while i + 16 <= hay.len() {
            let m = block(i);
            if m != 0 {
                return Some(i + m.trailing_zeros() as usize);
            }
            i += 16;
        }
        if i == hay.len() {
            return None;
        }
        if hay.len() >= 16 {
            // The last sixteen bytes, less those already searched.
            let last = hay.len() - 16;
            let m = block(last) >> (i - last);
            return (m != 0).then(|| i + m.trailing_zeros() as usize);
        }
        hay.iter().position(|&c| c == a || c == b)
    }
}

/// The first position of `a` in `hay` ([`find2`] for one byte).
#[inline]
pub(crate) fn find(hay: &[u8], a: u8) -> Option<usize> {
    find2(hay, a, a)
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

/// Bit `i` set where byte `i` of the sixteen is an ASCII digit.
#[inline]
pub(crate) fn digit_mask16(lo: u64, hi: u64) -> u32 {
    with_sse2!(sse2::digit_mask16(lo, hi), digit_mask16_bytes(lo, hi))
}

/// [`digit_mask16`] a byte at a time (other CPUs, and the reference in tests).
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2"),
    allow(dead_code, reason = "the reference for the SSE2 version in tests")
)]
fn digit_mask16_bytes(lo: u64, hi: u64) -> u32 {
    let mut m = 0u32;
    for (i, c) in lo
        .to_le_bytes()
        .into_iter()
        .chain(hi.to_le_bytes())
        .enumerate()
    {
        m |= (c.is_ascii_digit() as u32) << i;
    }
    m
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

    /// The six-bit values of sixteen bytes (zero outside the alphabet) and the number of
    /// leading bytes in it: the first half of both de-armorings.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn armor_values16(lo: u64, hi: u64) -> (__m128i, usize) {
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
        (c, n.min(16))
    }

    /// [`super::dearmor16`]: range checks and six-bit packing on all sixteen bytes at once.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn dearmor16(lo: u64, hi: u64) -> (u64, u64, usize) {
        let (c, n) = armor_values16(lo, hi);
        // Pairs into 12 bits (the first character high), then pairs of those into 24 bits.
        let t = _mm_or_si128(
            _mm_slli_epi16(_mm_and_si128(c, _mm_set1_epi16(0xFF)), 6),
            _mm_srli_epi16(c, 8),
        );
        let u = _mm_madd_epi16(t, _mm_set1_epi32(0x0001_1000));
        let a = _mm_cvtsi128_si64(u) as u64;
        let b = _mm_cvtsi128_si64(_mm_unpackhi_epi64(u, u)) as u64;
        let join = |x: u64| (x & 0xFF_FFFF) << 24 | x >> 32;
        let (a, b) = crate::bits::join48(join(a), join(b));
        (a, b, n)
    }

    /// [`super::leading_run`] with SSSE3 blocks.
    #[target_feature(enable = "ssse3")]
    pub(super) fn leading_run_ssse3(p: &mut crate::bits::Payload, s: &[u8]) -> Option<(usize, u8)> {
        p.leading_run_with(s, |lo, hi| dearmor16_ssse3(lo, hi))
    }

    /// [`super::dearmor16`] with SSSE3: the same checks, then multiply-adds pack the six-bit
    /// values into 24-bit groups and one byte shuffle puts their bytes in order.
    #[target_feature(enable = "ssse3")]
    #[inline]
    pub(super) fn dearmor16_ssse3(lo: u64, hi: u64) -> (u64, u64, usize) {
        let (c, n) = armor_values16(lo, hi);
        // Pairs into 12 bits (the first character high), pairs of those into 24 bits, whose
        // three bytes (high first) are then gathered in order.
        let t = _mm_maddubs_epi16(c, _mm_set1_epi16(0x0140));
        let u = _mm_madd_epi16(t, _mm_set1_epi32(0x0001_1000));
        let order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
        let bytes = _mm_shuffle_epi8(u, order);
        let a = _mm_cvtsi128_si64(bytes) as u64;
        let b = _mm_cvtsi128_si64(_mm_unpackhi_epi64(bytes, bytes)) as u64;
        (a, b, n)
    }

    /// [`super::leading_run`] with AVX2 blocks of thirty-two bytes: most position reports
    /// (28 characters) take one.
    #[target_feature(enable = "avx2")]
    pub(super) fn leading_run_avx2(p: &mut crate::bits::Payload, s: &[u8]) -> Option<(usize, u8)> {
        p.leading_run_blocks(s, |b, out| dearmor32_avx2(b, out))
    }

    /// Thirty-two bytes de-armored as [`dearmor16_ssse3`] does sixteen, in each 128-bit half:
    /// their 192 bits to the first 24 bytes of `out`. Returns the number of leading bytes in
    /// the alphabet and the XOR of those bytes (in the lanes of a `u64`).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn dearmor32_avx2(block: &[u8; 32], out: &mut [u8; 28]) -> (usize, u64) {
        #[allow(unsafe_code)]
        // SAFETY: reads the 32 bytes of `block`.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().cast()) };
        let ge30 = _mm256_cmpgt_epi8(v, _mm256_set1_epi8(0x2F));
        let lt58 = _mm256_cmpgt_epi8(_mm256_set1_epi8(0x58), v);
        let ge60 = _mm256_cmpgt_epi8(v, _mm256_set1_epi8(0x5F));
        let lt78 = _mm256_cmpgt_epi8(_mm256_set1_epi8(0x78), v);
        let valid = _mm256_or_si256(_mm256_and_si256(ge30, lt58), _mm256_and_si256(ge60, lt78));
        let n = (!(_mm256_movemask_epi8(valid) as u32)).trailing_zeros() as usize;
        let c = _mm256_sub_epi8(v, _mm256_set1_epi8(0x30));
        let c = _mm256_and_si256(
            _mm256_sub_epi8(c, _mm256_and_si256(ge60, _mm256_set1_epi8(8))),
            valid,
        );
        let t = _mm256_maddubs_epi16(c, _mm256_set1_epi16(0x0140));
        let u = _mm256_madd_epi16(t, _mm256_set1_epi32(0x0001_1000));
        let order = _mm256_setr_epi8(
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, //
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        );
        let bytes = _mm256_shuffle_epi8(u, order);
        #[allow(unsafe_code)]
        // SAFETY: writes bytes 0..16 and 12..28 of `out`, which has 28.
        unsafe {
            _mm_storeu_si128(out.as_mut_ptr().cast(), _mm256_castsi256_si128(bytes));
            _mm_storeu_si128(
                out[12..].as_mut_ptr().cast(),
                _mm256_extracti128_si256(bytes, 1),
            );
        }
        // The XOR of the run's bytes: those before byte `n`.
        let index = _mm256_setr_epi8(
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, //
            16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
        );
        let run = _mm256_and_si256(v, _mm256_cmpgt_epi8(_mm256_set1_epi8(n as i8), index));
        let x = _mm_xor_si128(
            _mm256_castsi256_si128(run),
            _mm256_extracti128_si256(run, 1),
        );
        let x = _mm_cvtsi128_si64(x) as u64 ^ _mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x)) as u64;
        (n, x)
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

    /// [`super::digit_mask16`] (signed compares: bytes from 0x80 up are negative).
    #[target_feature(enable = "sse2")]
    #[inline]
    pub(super) fn digit_mask16(lo: u64, hi: u64) -> u32 {
        let v = _mm_set_epi64x(hi as i64, lo as i64);
        let ge0 = _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1));
        let le9 = _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1));
        _mm_movemask_epi8(_mm_and_si128(ge0, le9)) as u32
    }
}

/// Asks the CPU to bring `v` (its first 512 bytes; a slice's elements) into cache ahead of use. Per-vessel state
/// (the ingest writer's slots, each detector's table) is spread over tens of megabytes and
/// consecutive records are of different vessels: each lookup missed the cache in turn (half
/// of spoofing's samples were on two such loads). Asked for the next record while this one is
/// processed, the misses overlap with work and with each other.
#[inline(always)]
pub fn prefetch<T: ?Sized>(v: &T) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = (v as *const T).cast::<i8>();
        let n = std::mem::size_of_val(v).min(512);
        let mut o = 0;
        while o < n {
            #[allow(unsafe_code)]
            // SAFETY: a prefetch is a hint: it reads nothing into the program and never faults;
            // the address is within (or one line past the start of) a live reference's bytes.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(o))
            };
            o += 64;
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = v;
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `find2` and `find` find what `memchr` finds, at any length and position.
        #[test]
        fn find_agrees_with_memchr(
            hay in proptest::collection::vec(proptest::sample::select(b"ab,*\\\n\x80".to_vec()), 0..100),
            skip in 0usize..40,
        ) {
            let hay = &hay[skip.min(hay.len())..];
            proptest::prop_assert_eq!(find2(hay, b'\\', b'\n'), memchr::memchr2(b'\\', b'\n', hay));
            proptest::prop_assert_eq!(find(hay, b'\n'), memchr::memchr(b'\n', hay));
            proptest::prop_assert_eq!(find(hay, b'*'), memchr::memchr(b'*', hay));
        }
    }

    proptest::proptest! {
        #[test]
        fn eq_masks16_versions_agree(lo: u64, hi: u64, a: u8, b: u8, plant: u8) {
            // Plant `a` and `b` so that matches occur.
            let lo = lo & !(0xFF << (8 * (plant % 8))) | (a as u64) << (8 * (plant % 8));
            let hi = hi & !(0xFF << (8 * (plant / 32 % 8))) | (b as u64) << (8 * (plant / 32 % 8));
            proptest::prop_assert_eq!(eq_masks16(lo, hi, a, b), eq_masks16_bytes(lo, hi, a, b));
            proptest::prop_assert_eq!(digit_mask16(lo, hi), digit_mask16_bytes(lo, hi));
            let digits = lo & 0x0F0F_0F0F_0F0F_0F0F | 0x3030_3030_3030_3030;
            proptest::prop_assert_eq!(digit_mask16(digits, hi), digit_mask16_bytes(digits, hi));
        }
    }
}
