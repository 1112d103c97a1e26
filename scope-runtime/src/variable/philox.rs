//! TensorFlow's random numbers bit for bit: Philox4x32-10 and the samplers of TF's CPU kernels.
//!
//! A random op of TensorFlow holds two seeds (`seed`, `seed2`, see
//! [`Seeds`]); its kernel keys a Philox4x32-10 generator with `seed` and
//! starts its 128-bit counter at `seed2 << 64`. Each run reserves 256
//! counter steps per output element, so the next run draws fresh values.
//! The samplers below turn 32-bit words into values exactly as TF's
//! `random_distributions.h` does, and cut the output into TF's groups so
//! that the values are those of TF's kernels, whatever their thread count.

/// The `seed` and `seed2` attributes of a TensorFlow random op.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Seeds {
    /// TF's `seed`: the graph-level seed (or `DEFAULT_GRAPH_SEED`).
    pub(crate) seed: u64,
    /// TF's `seed2`: the op-level seed, or the graph's count of random ops.
    pub(crate) seed2: u64,
}

/// How many counter steps a run of a random op reserves per output
/// element (TF's `ReserveRandomOutputs(n, 256)`).
pub(crate) const RESERVED_PER_ELEMENT: u64 = 256;

/// The Philox4x32-10 counter-based generator, as TF's `PhiloxRandom`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Philox {
    counter: u128,
    key: [u32; 2],
}

const W32A: u32 = 0x9E37_79B9;
const W32B: u32 = 0xBB67_AE85;
const M4X32A: u32 = 0xD251_1F53;
const M4X32B: u32 = 0xCD9E_8D57;

impl Philox {
    /// A generator keyed by `seeds.seed`, its counter's high half `seeds.seed2`.
    pub(crate) fn new(seeds: Seeds) -> Philox {
        Philox { counter: u128::from(seeds.seed2) << 64, key: [seeds.seed as u32, (seeds.seed >> 32) as u32] }
    }

    /// Moves `count` blocks of four words ahead.
    pub(crate) fn skip(&mut self, count: u64) {
        self.counter = self.counter.wrapping_add(u128::from(count));
    }

    /// The next four words.
    pub(crate) fn next_block(&mut self) -> [u32; 4] {
        let c = self.counter;
        let mut x = [c as u32, (c >> 32) as u32, (c >> 64) as u32, (c >> 96) as u32];
        let mut key = self.key;
        for round in 0..10 {
            if round > 0 {
                key = [key[0].wrapping_add(W32A), key[1].wrapping_add(W32B)];
            }
            let p0 = u64::from(M4X32A) * u64::from(x[0]);
            let p1 = u64::from(M4X32B) * u64::from(x[2]);
            x = [(p1 >> 32) as u32 ^ x[1] ^ key[0], p1 as u32, (p0 >> 32) as u32 ^ x[3] ^ key[1], p0 as u32];
        }
        self.counter = self.counter.wrapping_add(1);
        x
    }
}

/// TF's `SingleSampleAdapter`: one word at a time, a block drawn when needed.
struct Words {
    rng: Philox,
    block: [u32; 4],
    used: usize,
}

impl Words {
    fn new(rng: Philox) -> Words {
        Words { rng, block: [0; 4], used: 4 }
    }

    fn next(&mut self) -> u32 {
        if self.used == 4 {
            self.block = self.rng.next_block();
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }
}

/// A float in `[0, 1)` from the low 23 bits of `x` (TF's `Uint32ToFloat`).
fn unit_f32(x: u32) -> f32 {
    f32::from_bits((127 << 23) | (x & 0x7f_ffff)) - 1.0
}

/// A double in `[0, 1)` from 20 bits of `hi` and all of `lo` (TF's `Uint64ToDouble`).
fn unit_f64(hi: u32, lo: u32) -> f64 {
    f64::from_bits((1023 << 52) | (u64::from(hi & 0xf_ffff) << 32) | u64::from(lo)) - 1.0
}

/// Two standard normal floats from two words (TF's `BoxMullerFloat`): the
/// angle is computed in double and rounded, the rest in float.
fn box_muller_f32(x0: u32, x1: u32) -> [f32; 2] {
    let u1 = unit_f32(x0).max(1.0e-7);
    let v1 = (2.0 * std::f64::consts::PI * f64::from(unit_f32(x1))) as f32;
    let u2 = (-2.0f32 * u1.ln()).sqrt();
    [v1.sin() * u2, v1.cos() * u2]
}

/// Two standard normal doubles from four words (TF's `BoxMullerDouble`).
fn box_muller_f64(x: [u32; 4]) -> [f64; 2] {
    let u1 = unit_f64(x[0], x[1]).max(1.0e-7);
    let v1 = 2.0 * std::f64::consts::PI * unit_f64(x[2], x[3]);
    let u2 = (-2.0 * u1.ln()).sqrt();
    [v1.sin() * u2, v1.cos() * u2]
}

/// Fills `n` values group by group, each group from the next block (TF's
/// fixed-sample distributions): the last group's extra values are dropped.
fn by_blocks<T: Copy, const K: usize>(mut rng: Philox, n: usize, group: impl Fn([u32; 4]) -> [T; K]) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let values = group(rng.next_block());
        let take = K.min(n - out.len());
        out.extend_from_slice(&values[..take]);
    }
    out
}

/// Fills `n` values group by group, group `g` drawing words from block
/// `g * K * 256 / 4` on (TF's variable-sample distributions, whose groups
/// each own 256 words per value).
fn by_reserved_groups<T: Copy, const K: usize>(
    rng: Philox,
    n: usize,
    group: impl Fn(&mut dyn FnMut() -> u32) -> [T; K],
) -> Vec<T> {
    let blocks_per_group = (K as u64) * RESERVED_PER_ELEMENT / 4;
    let mut out = Vec::with_capacity(n);
    let mut g = 0u64;
    while out.len() < n {
        let mut start = rng;
        start.skip(g * blocks_per_group);
        let mut words = Words::new(start);
        let values = group(&mut || words.next());
        let take = K.min(n - out.len());
        out.extend_from_slice(&values[..take]);
        g += 1;
    }
    out
}

/// Floats uniform on `[0, 1)` (TF `RandomUniform`, float).
pub(crate) fn uniform_f32(rng: Philox, n: usize) -> Vec<f32> {
    by_blocks(rng, n, |b| b.map(unit_f32))
}

/// Doubles uniform on `[0, 1)` (TF `RandomUniform`, double).
pub(crate) fn uniform_f64(rng: Philox, n: usize) -> Vec<f64> {
    by_blocks(rng, n, |b| [unit_f64(b[0], b[1]), unit_f64(b[2], b[3])])
}

/// Integers uniform on `[lo, hi)` by `lo + word % (hi - lo)` (TF `RandomUniformInt`, int32).
pub(crate) fn uniform_i32(rng: Philox, n: usize, lo: i32, hi: i32) -> Vec<i32> {
    let range = (hi as u32).wrapping_sub(lo as u32).max(1);
    by_blocks(rng, n, |b| b.map(|w| lo.wrapping_add((w % range) as i32)))
}

/// Integers uniform on `[lo, hi)` from two words each (TF `RandomUniformInt`, int64).
pub(crate) fn uniform_i64(rng: Philox, n: usize, lo: i64, hi: i64) -> Vec<i64> {
    let range = (hi as u64).wrapping_sub(lo as u64).max(1);
    let one = move |a: u32, b: u32| lo.wrapping_add(((u64::from(a) | (u64::from(b) << 32)) % range) as i64);
    by_blocks(rng, n, |b| [one(b[0], b[1]), one(b[2], b[3])])
}

/// Standard normal floats (TF `RandomStandardNormal`, float).
pub(crate) fn normal_f32(rng: Philox, n: usize) -> Vec<f32> {
    by_blocks(rng, n, |b| {
        let [a, c] = box_muller_f32(b[0], b[1]);
        let [d, e] = box_muller_f32(b[2], b[3]);
        [a, c, d, e]
    })
}

/// Standard normal doubles (TF `RandomStandardNormal`, double).
pub(crate) fn normal_f64(rng: Philox, n: usize) -> Vec<f64> {
    by_blocks(rng, n, box_muller_f64)
}

/// Standard normal floats within two standard deviations, pairs outside
/// rejected one value at a time (TF `TruncatedNormal`, float).
pub(crate) fn truncated_normal_f32(rng: Philox, n: usize) -> Vec<f32> {
    by_reserved_groups(rng, n, |next| {
        let mut out = [0.0f32; 4];
        let mut i = 0;
        loop {
            let (x0, x1) = (next(), next());
            for f in box_muller_f32(x0, x1) {
                if f.abs() < 2.0 {
                    out[i] = f;
                    i += 1;
                    if i == 4 {
                        return out;
                    }
                }
            }
        }
    })
}

/// Standard normal doubles within two standard deviations (TF `TruncatedNormal`, double).
pub(crate) fn truncated_normal_f64(rng: Philox, n: usize) -> Vec<f64> {
    by_reserved_groups(rng, n, |next| {
        let mut out = [0.0f64; 2];
        let mut i = 0;
        loop {
            let words = [next(), next(), next(), next()];
            for d in box_muller_f64(words) {
                if d.abs() < 2.0 {
                    out[i] = d;
                    i += 1;
                    if i == 2 {
                        return out;
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known-answer vectors of the Philox paper (Salmon et al., Random123's
    /// kat_vectors) for Philox4x32-10: zero, all-ones and pi's digits.
    #[test]
    fn philox_matches_the_random123_known_answers() {
        let block = |ctr: [u32; 4], key: [u32; 2]| {
            let counter = ctr.iter().rev().fold(0u128, |c, &w| (c << 32) | u128::from(w));
            Philox { counter, key }.next_block()
        };
        assert_eq!(block([0; 4], [0; 2]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(block([u32::MAX; 4], [u32::MAX; 2]), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]);
        assert_eq!(
            block([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn skipping_equals_drawing() {
        let seeds = Seeds { seed: 1, seed2: 2 };
        let mut a = Philox::new(seeds);
        for _ in 0..5 {
            a.next_block();
        }
        let mut b = Philox::new(seeds);
        b.skip(5);
        assert_eq!(a.next_block(), b.next_block());
    }

    #[test]
    fn samplers_stay_in_their_ranges() {
        let rng = Philox::new(Seeds { seed: 3, seed2: 4 });
        assert!(uniform_f32(rng, 1000).iter().all(|x| (0.0..1.0).contains(x)));
        assert!(uniform_f64(rng, 1000).iter().all(|x| (0.0..1.0).contains(x)));
        assert!(uniform_i32(rng, 1000, -7, 3).iter().all(|x| (-7..3).contains(x)));
        assert!(uniform_i64(rng, 1000, -7, 3).iter().all(|x| (-7..3).contains(x)));
        assert!(truncated_normal_f32(rng, 1001).iter().all(|x| x.abs() < 2.0));
        assert!(truncated_normal_f64(rng, 1001).iter().all(|x| x.abs() < 2.0));
        let xs = normal_f64(rng, 100_001);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "{mean} {var}");
    }
}
