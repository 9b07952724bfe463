//! Byte scanning for the parser and the lookups: the SIMD (SSE2) and
//! word-at-a-time loops that find the end of a string's plain bytes, test
//! a line for ASCII, compare keys and look for dots, and the prefetch of an
//! event's first cache lines.
//!
//! Apart from the parser and the tape because these are the only places
//! where the adapter's speed comes from instruction-level tricks (and from
//! `unsafe` intrinsics); each has a test against the plain byte loop it
//! replaces.

/// The first byte at or after `i` that ends a run of plain string bytes: a
/// quote, a backslash or a control character (which JSON strings must
/// escape). Sixteen bytes at a time with SSE2 (part of the x86_64
/// baseline), then eight at a time in a word: strings are mostly short,
/// where a `memchr2` call and a second pass for control characters cost
/// more. Most of a line's bytes are in strings, so this loop is most of
/// the parse.
#[inline]
pub(super) fn string_special(src: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        while let Some(block) = src.get(i..i + 16) {
            // SAFETY: SSE2 is part of the x86_64 baseline, so its
            // intrinsics are available; the unaligned load reads the 16
            // bytes of `block`.
            let hits = unsafe {
                let x = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                // Per byte: a quote, a backslash, or at most 0x1F (the
                // unsigned minimum with 0x1F is the byte itself).
                let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
                let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1F)), x);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
            };
            if hits != 0 {
                return Some(i + hits.trailing_zeros() as usize);
            }
            i += 16;
        }
    }
    while i + 8 <= src.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&src[i..i + 8]);
        let w = u64::from_le_bytes(w);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // Per byte, the top bit is set where the byte is zero (quote,
        // backslash) or below 0x20; a borrow can set it above such a byte
        // too, never below, so the lowest set bit is exact.
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let hits = hits & HIGH;
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    src.get(i..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|k| i + k)
}

/// Whether `bytes` are all ASCII: sixteen bytes at a time with SSE2, four
/// blocks per test (`<[u8]>::is_ascii` goes a word at a time, and cost a
/// line more than validating it as UTF-8 had).
#[inline]
pub(super) fn is_ascii(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
        let mut blocks = bytes.chunks_exact(64);
        for four in &mut blocks {
            // SAFETY: SSE2 is part of the x86_64 baseline, so its
            // intrinsics are available; each unaligned load reads 16 of the
            // 64 bytes of `four`.
            let top_bits = unsafe {
                let p = four.as_ptr().cast::<__m128i>();
                let a = _mm_or_si128(_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)));
                let b = _mm_or_si128(_mm_loadu_si128(p.add(2)), _mm_loadu_si128(p.add(3)));
                _mm_movemask_epi8(_mm_or_si128(a, b))
            };
            if top_bits != 0 {
                return false;
            }
        }
        blocks.remainder().is_ascii()
    }
    #[cfg(not(target_arch = "x86_64"))]
    bytes.is_ascii()
}

/// Prefetches up to `lines` 64-byte lines of the `len` bytes at `p`.
#[inline]
pub(super) fn prefetch_lines(p: *const u8, len: usize, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for i in 0..len.div_ceil(64).min(lines) {
        // SAFETY: a prefetch never faults and reads nothing the program
        // sees; SSE is part of the x86_64 baseline. The address is within
        // the `len` bytes at `p`.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                p.wrapping_add(i * 64).cast(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len, lines);
}

/// Whether two keys are equal. Keys and paths are short, where a `memcmp`
/// call costs more than the comparison: eight bytes at a time (the last
/// eight overlapping), four and four below eight, bytes below four.
#[inline]
pub(super) fn key_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 4 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if a.len() < 8 {
        return a.first_chunk::<4>() == b.first_chunk::<4>()
            && a.last_chunk::<4>() == b.last_chunk::<4>();
    }
    let (mut x, mut y) = (a, b);
    while let (Some((wx, rx)), Some((wy, ry))) =
        (x.split_first_chunk::<8>(), y.split_first_chunk::<8>())
    {
        if wx != wy {
            return false;
        }
        (x, y) = (rx, ry);
    }
    a.last_chunk::<8>() == b.last_chunk::<8>()
}

/// Whether `p` holds a '.' (see [`has_byte`]).
#[inline]
pub(super) fn has_dot(p: &[u8]) -> bool {
    has_byte::<b'.'>(p)
}

/// Whether `p` holds the byte `B`: eight bytes at a time (the last eight
/// overlapping), which for a path or key of a few words beats `memchr`'s
/// call and a byte loop alike. `B` must not be 0x01 (the filler below).
#[inline]
pub(super) fn has_byte<const B: u8>(p: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let dot = |w: u64| {
        let x = w ^ (ONES * u64::from(B));
        (x.wrapping_sub(ONES) & !x & (ONES << 7)) != 0
    };
    if p.len() < 4 {
        let mut dotted = false;
        for &b in p {
            dotted |= b == B;
        }
        return dotted;
    }
    if p.len() < 8 {
        // Four and four (overlapping), the upper half of the word filled
        // with bytes that are not `B`.
        let word = |w: &[u8; 4]| u64::from(u32::from_le_bytes(*w)) | (ONES << 32);
        return p.first_chunk::<4>().is_some_and(|w| dot(word(w)))
            || p.last_chunk::<4>().is_some_and(|w| dot(word(w)));
    }
    let mut rest = p;
    while let Some((w, tail)) = rest.split_first_chunk::<8>() {
        if dot(u64::from_le_bytes(*w)) {
            return true;
        }
        rest = tail;
    }
    p.last_chunk::<8>()
        .is_some_and(|w| dot(u64::from_le_bytes(*w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_byte_agrees_with_a_byte_loop() {
        for len in 0..40 {
            for at in 0..=len {
                let mut key = vec![b'a'; len];
                if at < len {
                    key[at] = b' ';
                }
                assert_eq!(has_byte::<b' '>(&key), at < len, "{len} {at}");
                key.iter_mut().for_each(|b| *b = b' ' + 1);
                assert!(!has_byte::<b' '>(&key));
            }
        }
    }

    #[test]
    fn the_block_at_a_time_string_scan_agrees_with_a_byte_loop() {
        // Every byte value at every offset of texts of 0 to 20 bytes, after
        // a run of plain bytes, several special bytes in one word, and
        // starting the scan at every position.
        let brute = |src: &[u8], i: usize| {
            (i..src.len()).find(|&k| src[k] == b'"' || src[k] == b'\\' || src[k] < 0x20)
        };
        // Lengths to 40: two sixteen-byte blocks, then a word, then bytes.
        for len in 0..=40 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut src = vec![b'a'; len];
                    src[at] = b;
                    if at + 3 < len {
                        src[at + 3] = b'"';
                    }
                    for from in [0, at.saturating_sub(1), at, at.saturating_sub(17)] {
                        assert_eq!(
                            string_special(&src, from),
                            brute(&src, from),
                            "{src:?} from {from}"
                        );
                    }
                }
            }
        }
        // Bytes just above and below the control range next to each other.
        let src = [0x20, 0x21, 0x7F, 0x80, 0xFF, 0x5B, 0x5D, 0x1F, b'"'];
        assert_eq!(string_special(&src, 0), Some(7));
        assert_eq!(string_special(b"", 0), None);
        assert_eq!(string_special(b"abc", 5), None);
    }

    #[test]
    fn word_at_a_time_key_comparison_and_dot_test_agree_with_byte_loops() {
        // Every length to 40, a difference (or a dot) at every place.
        for n in 0..40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(key_eq(&a, &a));
            assert!(!has_dot(&a));
            assert!(!key_eq(&a, &a[..n.saturating_sub(1)]) || n == 0);
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!key_eq(&a, &b), "{n} {at}");
                assert!(!key_eq(&b, &a), "{n} {at}");
                b[at] = b'.';
                assert!(has_dot(&b), "{n} {at}");
                // Bytes one borrow away from '.', which a careless
                // word test would also flag.
                for near in [b'.' - 1, b'.' + 1, b'.' | 0x80] {
                    b[at] = near;
                    assert!(!has_dot(&b), "{n} {at} {near}");
                }
            }
        }
    }

    #[test]
    fn the_block_ascii_test_agrees_with_the_standard_one() {
        for len in 0..200 {
            let plain = vec![b'a'; len];
            assert!(is_ascii(&plain));
            for at in 0..len {
                for high in [0x80, 0xC3, 0xFF] {
                    let mut bytes = plain.clone();
                    bytes[at] = high;
                    assert!(!is_ascii(&bytes), "{len} {at}");
                    // And from every start, as a slice of a longer buffer.
                    assert_eq!(is_ascii(&bytes[at / 2..]), bytes[at / 2..].is_ascii());
                }
            }
        }
    }
}
