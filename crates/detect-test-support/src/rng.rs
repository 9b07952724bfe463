//! Small deterministic generators for random test cases and generated
//! benchmark inputs: the same seed gives the same stream on every run and
//! every machine, so that a failure reproduces.
//!
//! Two classic generators, because the tests and the generated benchmark
//! sets were written against one or the other and keep their exact streams.

/// Marsaglia's xorshift64 (shifts 13, 7, 17). The seed must not be 0.
#[derive(Clone, Debug)]
pub struct XorShift64(pub u64);

impl XorShift64 {
    /// The next number of the stream.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n` > 0; the modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// xorshift64* (shifts 12, 25, 27, then a multiplication that scrambles the
/// low bits). The seed must not be 0; [`XorShift64Star::seeded`] takes any.
#[derive(Clone, Debug)]
pub struct XorShift64Star(pub u64);

impl XorShift64Star {
    /// A generator from any seed, 0 included: the seed is scrambled by one
    /// splitmix64 step first, so that close seeds give unrelated streams.
    pub fn seeded(seed: u64) -> XorShift64Star {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift64Star(if z == 0 { 1 } else { z })
    }

    /// The next number of the stream.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n` > 0; the modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// `n` distinct elements of `from` (at most `from.len()`), in draw order.
    pub fn pick_n<T: Copy + PartialEq>(&mut self, from: &[T], n: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n.min(from.len()) {
            let item = self.pick(from);
            if !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }

    /// An index drawn with the given `weights` (any positive scale).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.next_u64() % total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// Up to `max_len` random bytes.
    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = (self.next_u64() % (max_len as u64 + 1)) as usize;
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_fixed() {
        let mut a = XorShift64(1);
        assert_eq!(a.next_u64(), 1_082_269_761);
        let mut b = XorShift64Star(1);
        assert_eq!(b.next_u64(), 5_180_492_295_206_395_165);
        assert_ne!(XorShift64Star::seeded(0).0, 0);
    }

    #[test]
    fn ranges() {
        let mut r = XorShift64Star::seeded(7);
        for _ in 0..1000 {
            assert!((3..=5).contains(&r.range(3, 5)));
            assert!(r.bytes(4).len() <= 4);
        }
        let mut s = XorShift64(9);
        for _ in 0..1000 {
            assert!(s.below(10) < 10);
            assert!(["a", "b"].contains(&s.pick(&["a", "b"])));
        }
    }
}
