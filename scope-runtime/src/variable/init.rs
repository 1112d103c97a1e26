//! Initializers, TensorFlow's fan-in/fan-out, and seeded randomness.

use crate::base::{DType, Error, Result, Value};
use std::sync::Arc;

/// How a variable gets its first value.
///
/// Values are computed no later than the variable's first read, so building
/// a graph stays cheap and a restored variable never pays for a random
/// initialization it discards. Random initializers draw from a stream seeded
/// by the graph seed and the variable's full name, so a seeded graph gives the
/// same values whatever order its variables are created in.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, Graph, Init};
/// let graph = Graph::with_seed(7);
/// let _g = graph.as_default();
/// let b = get_variable("bias", [3]).initializer(Init::Constant(0.5)).get()?;
/// assert_eq!(b.value()?.to_f64_vec(), vec![0.5; 3]);
/// let w = get_variable("kernel", [4, 3]).get()?; // glorot_uniform, as in TF
/// let limit = (6.0f64 / 7.0).sqrt();
/// assert!(w.value()?.to_f64_vec().iter().all(|x| x.abs() <= limit));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Init {
    /// All zeros (`false` for bool).
    Zeros,
    /// All ones (`true` for bool).
    Ones,
    /// Every element this value.
    Constant(f64),
    /// Normal distribution.
    RandomNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
    },
    /// Normal distribution, redrawing values more than two standard deviations from the mean.
    TruncatedNormal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        stddev: f64,
    },
    /// Uniform distribution on `[minval, maxval)`.
    RandomUniform {
        /// Lower bound.
        minval: f64,
        /// Upper bound (exclusive).
        maxval: f64,
    },
    /// TensorFlow's `VarianceScaling`; the Glorot and He initializers are special cases.
    VarianceScaling {
        /// Scale of the variance.
        scale: f64,
        /// Which fan divides the scale.
        mode: FanMode,
        /// Truncated normal, or uniform.
        distribution: Distribution,
    },
    /// The given value; the variable takes its shape and dtype from it.
    Value(Arc<Value>),
}

/// Which fan a [`Init::VarianceScaling`] divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Fan-in.
    FanIn,
    /// Fan-out.
    FanOut,
    /// The mean of fan-in and fan-out.
    FanAvg,
}

/// The distribution of a [`Init::VarianceScaling`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Truncated normal with the variance corrected for truncation.
    TruncatedNormal,
    /// Uniform on `[-limit, limit)`.
    Uniform,
}

#[allow(non_upper_case_globals)] // TensorFlow's spellings, for readers porting TF1 code.
impl Init {
    /// TensorFlow's default for float variables: `glorot_uniform`.
    pub const GlorotUniform: Init =
        Init::VarianceScaling { scale: 1.0, mode: FanMode::FanAvg, distribution: Distribution::Uniform };
    /// `glorot_normal`.
    pub const GlorotNormal: Init =
        Init::VarianceScaling { scale: 1.0, mode: FanMode::FanAvg, distribution: Distribution::TruncatedNormal };
    /// `he_normal`.
    pub const HeNormal: Init =
        Init::VarianceScaling { scale: 2.0, mode: FanMode::FanIn, distribution: Distribution::TruncatedNormal };
    /// `he_uniform`.
    pub const HeUniform: Init =
        Init::VarianceScaling { scale: 2.0, mode: FanMode::FanIn, distribution: Distribution::Uniform };

    /// An initializer that is a value (TF: `initializer=tf.constant(…)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_variable, Graph, Init, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", Shape::unknown()).initializer(Init::value(vec![1i32, 2])).get()?;
    /// assert_eq!(v.shape(), &[2]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn value(value: impl Into<Value>) -> Init {
        Init::Value(Arc::new(value.into()))
    }

    /// TensorFlow's name of the initializer, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Zeros => "zeros",
            Init::Ones => "ones",
            Init::Constant(_) => "constant",
            Init::RandomNormal { .. } => "random_normal",
            Init::TruncatedNormal { .. } => "truncated_normal",
            Init::RandomUniform { .. } => "random_uniform",
            Init::VarianceScaling { scale, mode, distribution } => match (*scale == 1.0, mode, distribution) {
                (true, FanMode::FanAvg, Distribution::Uniform) => "glorot_uniform",
                (true, FanMode::FanAvg, Distribution::TruncatedNormal) => "glorot_normal",
                _ if *scale == 2.0 && *mode == FanMode::FanIn => match distribution {
                    Distribution::Uniform => "he_uniform",
                    Distribution::TruncatedNormal => "he_normal",
                },
                _ => "variance_scaling",
            },
            Init::Value(_) => "value",
        }
    }

    /// Whether the value is drawn at random (made in f64 first).
    pub(crate) fn is_random(&self) -> bool {
        !matches!(self, Init::Zeros | Init::Ones | Init::Constant(_) | Init::Value(_))
    }

    /// The op TensorFlow's initializer builds under `<variable>/Initializer/`
    /// (`None` for a value, which builds nothing there).
    pub(crate) fn op_name(&self) -> Option<&'static str> {
        Some(match self {
            Init::Zeros => "zeros",
            Init::Ones => "ones",
            Init::Constant(_) => "Const",
            Init::RandomNormal { .. } => "random_normal",
            Init::TruncatedNormal { .. }
            | Init::VarianceScaling { distribution: Distribution::TruncatedNormal, .. } => "truncated_normal",
            Init::RandomUniform { .. } | Init::VarianceScaling { distribution: Distribution::Uniform, .. } => {
                "random_uniform"
            }
            Init::Value(_) => return None,
        })
    }

    /// TensorFlow's default initializer for a dtype: glorot_uniform for floats, zeros otherwise.
    pub fn default_for(dtype: DType) -> Init {
        if dtype.is_floating() { Init::GlorotUniform } else { Init::Zeros }
    }

    /// Checks that this initializer can produce `dtype`, naming the variable otherwise.
    pub(crate) fn check(&self, name: &str, dtype: DType) -> Result<()> {
        let err = |hint| Error::InitializerDType { name: name.to_owned(), initializer: self.name(), dtype, hint };
        match self {
            Init::RandomNormal { .. } | Init::TruncatedNormal { .. } | Init::VarianceScaling { .. }
                if !dtype.is_floating() =>
            {
                Err(err("use a float dtype, or zeros, ones, constant or random_uniform"))
            }
            Init::RandomUniform { .. } if dtype == DType::Bool => Err(err("use zeros or ones for bool")),
            // TensorFlow converts the constant like a Python value: no number becomes a bool,
            // and no fraction an integer.
            Init::Constant(_) if dtype == DType::Bool => Err(err("use zeros or ones for bool")),
            Init::Constant(c) if !dtype.is_floating() && c.fract() != 0.0 => {
                Err(err("give an integral constant for an integer dtype"))
            }
            _ => Ok(()),
        }
    }

    /// Computes the value for a variable (or a shard of one).
    ///
    /// `full_shape` is the shape of the whole variable when this is a shard:
    /// fans are computed from it, as TensorFlow does with `partition_info`.
    pub(crate) fn materialize(&self, shape: &[usize], full_shape: &[usize], dtype: DType, seed: u64) -> Value {
        let mut rng = Rng::new(seed);
        let n: usize = shape.iter().product();
        let fill = |f: &mut dyn FnMut() -> f64| -> Value {
            let data: Vec<f64> = (0..n).map(|_| f()).collect();
            Value::from_f64_data(dtype, shape, data).expect("one element per position")
        };
        match self {
            Init::Zeros => Value::filled(dtype, shape, 0.0),
            Init::Ones => Value::filled(dtype, shape, 1.0),
            Init::Constant(c) => Value::filled(dtype, shape, *c),
            Init::Value(v) => v.cast(dtype),
            Init::RandomNormal { mean, stddev } => fill(&mut || mean + stddev * rng.normal()),
            Init::TruncatedNormal { mean, stddev } => fill(&mut || mean + stddev * rng.truncated_normal()),
            Init::RandomUniform { minval, maxval } => {
                if dtype.is_floating() {
                    fill(&mut || minval + (maxval - minval) * rng.uniform())
                } else {
                    fill(&mut || (minval + ((maxval - minval) * rng.uniform())).floor())
                }
            }
            Init::VarianceScaling { scale, mode, distribution } => {
                let (fan_in, fan_out) = fans(full_shape);
                let n = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                }
                .max(1.0);
                let scale = scale / n;
                match distribution {
                    // 0.879… is the stddev of a standard normal truncated to [-2, 2].
                    Distribution::TruncatedNormal => {
                        let stddev = scale.sqrt() / 0.879_625_661_034_239_8;
                        fill(&mut || stddev * rng.truncated_normal())
                    }
                    Distribution::Uniform => {
                        let limit = (3.0 * scale).sqrt();
                        fill(&mut || limit * (2.0 * rng.uniform() - 1.0))
                    }
                }
            }
        }
    }
}

/// TensorFlow's `_compute_fans`: fan-in and fan-out of a shape.
///
/// # Examples
///
/// ```
/// use scope_runtime::fans;
/// assert_eq!(fans(&[784, 64]), (784.0, 64.0));
/// assert_eq!(fans(&[3, 3, 1, 32]), (9.0, 288.0));
/// assert_eq!(fans(&[]), (1.0, 1.0));
/// ```
pub fn fans(shape: &[usize]) -> (f64, f64) {
    match shape {
        [] => (1.0, 1.0),
        [n] => (*n as f64, *n as f64),
        [a, b] => (*a as f64, *b as f64),
        [receptive @ .., i, o] => {
            let r: usize = receptive.iter().product();
            ((i * r) as f64, (o * r) as f64)
        }
    }
}

/// A stable 64-bit hash (FNV-1a) used to derive per-variable seeds from names.
pub(crate) fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// xoshiro256++ seeded through SplitMix64: small, fast, and its stream never
/// changes with a dependency upgrade, so seeded graphs stay reproducible.
pub(crate) struct Rng {
    s: [u64; 4],
    spare: Option<f64>,
}

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()], spare: None }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on `[0, 1)` with 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal by the Marsaglia polar method.
    pub(crate) fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let m = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * m);
                return u * m;
            }
        }
    }

    /// Standard normal redrawn until within two standard deviations.
    pub(crate) fn truncated_normal(&mut self) -> f64 {
        loop {
            let z = self.normal();
            if z.abs() <= 2.0 {
                return z;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let a: Vec<f64> = (0..5)
            .map({
                let mut r = Rng::new(3);
                move |_| r.normal()
            })
            .collect();
        let b: Vec<f64> = (0..5)
            .map({
                let mut r = Rng::new(3);
                move |_| r.normal()
            })
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Rng::new(11);
        let xs: Vec<f64> = (0..200_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }

    #[test]
    fn glorot_uniform_stays_within_limit() {
        let v = Init::GlorotUniform.materialize(&[784, 64], &[784, 64], DType::F32, 1);
        let limit = (6.0f64 / (784.0 + 64.0)).sqrt();
        let xs = v.to_f64_vec();
        assert!(xs.iter().all(|x| x.abs() <= limit));
        let max = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(max > 0.9 * limit);
    }

    #[test]
    fn truncated_normal_never_beyond_two_stddev() {
        let v = Init::TruncatedNormal { mean: 1.0, stddev: 0.5 }.materialize(&[10_000], &[10_000], DType::F64, 5);
        assert!(v.to_f64_vec().iter().all(|x| (x - 1.0).abs() <= 1.0));
    }

    #[test]
    fn integer_uniform_stays_in_range() {
        let v = Init::RandomUniform { minval: 0.0, maxval: 10.0 }.materialize(&[1000], &[1000], DType::I32, 9);
        assert!(v.to_f64_vec().iter().all(|x| (0.0..10.0).contains(x)));
    }

    #[test]
    fn every_initializer_of_the_lexicon_is_named_so_by_the_runtime() {
        use crate::base::lexicon::INITIALIZERS;
        for spelled in INITIALIZERS {
            let init = match spelled.init {
                "Zeros" => Init::Zeros,
                "Ones" => Init::Ones,
                "GlorotUniform" => Init::GlorotUniform,
                "GlorotNormal" => Init::GlorotNormal,
                "HeNormal" => Init::HeNormal,
                "HeUniform" => Init::HeUniform,
                "Constant" => Init::Constant(0.5),
                "RandomNormal" => Init::RandomNormal { mean: 0.0, stddev: 1.0 },
                "TruncatedNormal" => Init::TruncatedNormal { mean: 0.0, stddev: 1.0 },
                "RandomUniform" => Init::RandomUniform { minval: 0.0, maxval: 1.0 },
                other => panic!("the lexicon names an initializer the runtime lacks: {other}"),
            };
            assert_eq!(init.name(), spelled.name);
        }
    }
}
