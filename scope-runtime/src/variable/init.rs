//! Initializers, TensorFlow's fan-in/fan-out, and seeded randomness.

use super::philox::{self, Philox, Seeds};
use crate::base::{DType, Error, Result, Value};
use ndarray::{ArrayD, IxDyn};
use std::sync::Arc;

/// How a variable gets its first value.
///
/// Values are computed no later than the variable's first read, so building
/// a graph stays cheap and a restored variable never pays for a random
/// initialization it discards. Random initializers give TensorFlow's values
/// bit for bit: as TF's `get_seed`, a variable created in a graph with a seed
/// ([`Graph::with_seed`](crate::Graph::with_seed)) takes the seeds (graph
/// seed, number of random ops and random initializers created before it in
/// the graph), and draws with TF's Philox kernels; so the same TF1 model
/// built with the same graph seed starts from the same values.
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
    /// A random initializer with an op-level seed (TF `seed=` of an
    /// initializer); made by [`Init::with_seed`].
    Seeded {
        /// The initializer.
        init: Box<Init>,
        /// The op-level seed.
        seed: u64,
    },
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
    /// Normal, not truncated (TF's `"untruncated_normal"`).
    UntruncatedNormal,
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

    /// This initializer with an op-level seed (TF `seed=`, as
    /// `tf.random_uniform_initializer(-1, 1, seed=5)`): its random op takes
    /// the seeds (graph seed, `seed`) rather than counting in the graph, and
    /// a graph without a seed pairs it with TF's `DEFAULT_GRAPH_SEED`, so
    /// the values repeat even in a graph made by [`Graph::new`](crate::Graph::new).
    /// Initializers that draw nothing ignore the seed.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_variable, Graph, Init};
    /// let value = |graph: Graph| {
    ///     let _g = graph.as_default();
    ///     get_variable("w", [2, 2]).initializer(Init::GlorotUniform.with_seed(5)).get()?.value()
    /// };
    /// assert_eq!(value(Graph::new())?, value(Graph::new())?);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn with_seed(self, seed: u64) -> Init {
        match self {
            Init::Seeded { init, .. } => Init::Seeded { init, seed },
            init if !init.is_random() => init,
            init => Init::Seeded { init: Box::new(init), seed },
        }
    }

    /// The op-level seed given by [`with_seed`](Init::with_seed).
    pub(crate) fn op_seed(&self) -> Option<u64> {
        match self {
            Init::Seeded { seed, .. } => Some(*seed),
            _ => None,
        }
    }

    /// TensorFlow's name of the initializer, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Init::Seeded { init, .. } => init.name(),
            Init::Zeros => "zeros",
            Init::Ones => "ones",
            Init::Constant(_) => "constant",
            Init::RandomNormal { .. } => "random_normal",
            Init::TruncatedNormal { .. } => "truncated_normal",
            Init::RandomUniform { .. } => "random_uniform",
            Init::VarianceScaling { scale, mode, distribution } => match (*scale == 1.0, mode, distribution) {
                (true, FanMode::FanAvg, Distribution::Uniform) => "glorot_uniform",
                (true, FanMode::FanAvg, Distribution::TruncatedNormal) => "glorot_normal",
                (false, FanMode::FanIn, Distribution::Uniform) if *scale == 2.0 => "he_uniform",
                (false, FanMode::FanIn, Distribution::TruncatedNormal) if *scale == 2.0 => "he_normal",
                _ => "variance_scaling",
            },
            Init::Value(_) => "value",
        }
    }

    /// Whether the value is drawn at random (its initializer takes seeds).
    pub(crate) fn is_random(&self) -> bool {
        match self {
            Init::Seeded { init, .. } => init.is_random(),
            _ => !matches!(self, Init::Zeros | Init::Ones | Init::Constant(_) | Init::Value(_)),
        }
    }

    /// The op TensorFlow's initializer builds under `<variable>/Initializer/`
    /// (`None` for a value, which builds nothing there).
    pub(crate) fn op_name(&self) -> Option<&'static str> {
        Some(match self {
            Init::Seeded { init, .. } => return init.op_name(),
            Init::Zeros => "zeros",
            Init::Ones => "ones",
            Init::Constant(_) => "Const",
            Init::RandomNormal { .. } | Init::VarianceScaling { distribution: Distribution::UntruncatedNormal, .. } => {
                "random_normal"
            }
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
            Init::Seeded { init, .. } => init.check(name, dtype),
            Init::RandomNormal { .. } | Init::TruncatedNormal { .. } | Init::VarianceScaling { .. }
                if !dtype.is_floating() =>
            {
                Err(err("use a float dtype, or zeros, ones, constant or random_uniform"))
            }
            Init::RandomUniform { .. } if dtype == DType::Bool => Err(err("use zeros or ones for bool")),
            // TF's RandomUniformInt needs minval < maxval.
            Init::RandomUniform { minval, maxval }
                if !dtype.is_floating() && minval.partial_cmp(maxval) != Some(std::cmp::Ordering::Less) =>
            {
                Err(err("give minval < maxval for an integer dtype"))
            }
            // TensorFlow converts the constant like a Python value: no number becomes a bool,
            // and no fraction an integer.
            Init::Constant(_) if dtype == DType::Bool => Err(err("use zeros or ones for bool")),
            Init::Constant(c) if !dtype.is_floating() && c.fract() != 0.0 => {
                Err(err("give an integral constant for an integer dtype"))
            }
            _ => Ok(()),
        }
    }

    /// Computes the value for a variable (or a shard of one), as TensorFlow's
    /// initializer ops compute it from the same seeds: the op's draws
    /// (`RandomUniform`, `RandomStandardNormal`, `TruncatedNormal`,
    /// `RandomUniformInt`) by Philox, then TF's `mul` and `add` in the
    /// variable's dtype, bit for bit.
    ///
    /// `full_shape` is the shape of the whole variable when this is a shard:
    /// fans are computed from it, as TensorFlow does with `partition_info`.
    pub(crate) fn materialize(&self, shape: &[usize], full_shape: &[usize], dtype: DType, seeds: Seeds) -> Value {
        let rng = Philox::new(seeds);
        let n: usize = shape.iter().product();
        match self {
            Init::Seeded { init, .. } => init.materialize(shape, full_shape, dtype, seeds),
            Init::Zeros => Value::filled(dtype, shape, 0.0),
            Init::Ones => Value::filled(dtype, shape, 1.0),
            Init::Constant(c) => Value::filled(dtype, shape, *c),
            Init::Value(v) => v.cast(dtype),
            Init::RandomNormal { mean, stddev } => scaled(shape, Draws::normal(rng, n, dtype), *stddev, *mean),
            Init::TruncatedNormal { mean, stddev } => {
                scaled(shape, Draws::truncated_normal(rng, n, dtype), *stddev, *mean)
            }
            Init::RandomUniform { minval, maxval } => match dtype {
                // TF `RandomUniformInt`: the bounds are the dtype's integers.
                DType::I32 => from_vec(shape, philox::uniform_i32(rng, n, *minval as i32, *maxval as i32)),
                DType::I64 => from_vec(shape, philox::uniform_i64(rng, n, *minval as i64, *maxval as i64)),
                _ => uniform_between(shape, Draws::uniform(rng, n, dtype), *minval, *maxval),
            },
            Init::VarianceScaling { scale, mode, distribution } => {
                let (fan_in, fan_out) = fans(full_shape);
                let n_fan = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                }
                .max(1.0);
                let scale = scale / n_fan;
                match distribution {
                    // 0.879… is the stddev of a standard normal truncated to [-2, 2] (TF's constant).
                    Distribution::TruncatedNormal => {
                        let stddev = scale.sqrt() / 0.879_625_661_034_239_8;
                        scaled(shape, Draws::truncated_normal(rng, n, dtype), stddev, 0.0)
                    }
                    Distribution::Uniform => {
                        let limit = (3.0 * scale).sqrt();
                        uniform_between(shape, Draws::uniform(rng, n, dtype), -limit, limit)
                    }
                    Distribution::UntruncatedNormal => scaled(shape, Draws::normal(rng, n, dtype), scale.sqrt(), 0.0),
                }
            }
        }
    }
}

/// A random op's output before TF's `mul` and `add`: floats or doubles.
enum Draws {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Draws {
    fn uniform(rng: Philox, n: usize, dtype: DType) -> Draws {
        if dtype == DType::F64 {
            Draws::F64(philox::uniform_f64(rng, n))
        } else {
            Draws::F32(philox::uniform_f32(rng, n))
        }
    }

    fn normal(rng: Philox, n: usize, dtype: DType) -> Draws {
        if dtype == DType::F64 {
            Draws::F64(philox::normal_f64(rng, n))
        } else {
            Draws::F32(philox::normal_f32(rng, n))
        }
    }

    fn truncated_normal(rng: Philox, n: usize, dtype: DType) -> Draws {
        if dtype == DType::F64 {
            Draws::F64(philox::truncated_normal_f64(rng, n))
        } else {
            Draws::F32(philox::truncated_normal_f32(rng, n))
        }
    }
}

fn from_vec<T: crate::base::Element>(shape: &[usize], data: Vec<T>) -> Value {
    T::wrap(ArrayD::from_shape_vec(IxDyn(shape), data).expect("one value per element"))
}

/// TF `random_normal` / `truncated_normal` after the draw: `rnd * stddev + mean`,
/// each constant and each op in the dtype.
fn scaled(shape: &[usize], draws: Draws, stddev: f64, mean: f64) -> Value {
    match draws {
        Draws::F32(v) => {
            let (stddev, mean) = (stddev as f32, mean as f32);
            from_vec(shape, v.into_iter().map(|x| x * stddev + mean).collect())
        }
        Draws::F64(v) => from_vec(shape, v.into_iter().map(|x| x * stddev + mean).collect()),
    }
}

/// TF `random_uniform(minval, maxval)` after the draw: `rnd * (max - min) + min`,
/// each constant and each op in the dtype.
fn uniform_between(shape: &[usize], draws: Draws, min: f64, max: f64) -> Value {
    match draws {
        Draws::F32(v) => {
            let (min, max) = (min as f32, max as f32);
            let range = max - min;
            from_vec(shape, v.into_iter().map(|x| x * range + min).collect())
        }
        Draws::F64(v) => {
            let range = max - min;
            from_vec(shape, v.into_iter().map(|x| x * range + min).collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDS: Seeds = Seeds { seed: 1, seed2: 2 };

    #[test]
    fn glorot_uniform_stays_within_limit() {
        let v = Init::GlorotUniform.materialize(&[784, 64], &[784, 64], DType::F32, SEEDS);
        let limit = (6.0f64 / (784.0 + 64.0)).sqrt();
        let xs = v.to_f64_vec();
        assert!(xs.iter().all(|x| x.abs() <= limit));
        let max = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(max > 0.9 * limit);
    }

    #[test]
    fn truncated_normal_never_beyond_two_stddev() {
        let v = Init::TruncatedNormal { mean: 1.0, stddev: 0.5 }.materialize(&[10_000], &[10_000], DType::F64, SEEDS);
        assert!(v.to_f64_vec().iter().all(|x| (x - 1.0).abs() <= 1.0));
    }

    #[test]
    fn integer_uniform_needs_minval_below_maxval() {
        let init = Init::RandomUniform { minval: 3.0, maxval: 3.0 };
        assert!(init.check("v", DType::I32).is_err());
        assert!(init.check("v", DType::F32).is_ok());
    }

    #[test]
    fn integer_uniform_stays_in_range() {
        let v = Init::RandomUniform { minval: 0.0, maxval: 10.0 }.materialize(&[1000], &[1000], DType::I32, SEEDS);
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
