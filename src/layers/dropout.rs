//! `tf.layers.dropout`: zeroes a random fraction `rate` of the inputs in
//! training and scales the rest by `1 / (1 - rate)`.

use super::layer_error;
use scope_runtime::{Result, Tensor};

/// Whether a layer runs in training mode (TF `training=`): a Rust `bool`
/// decided when the graph is built, or a bool tensor decided at each run.
///
/// # Examples
///
/// ```
/// use scopeflow::layers::Training;
/// assert!(matches!(Training::from(true), Training::Bool(true)));
/// ```
#[derive(Clone, Debug)]
pub enum Training {
    /// Decided when the graph is built (TF's Python bool).
    Bool(bool),
    /// A scalar bool tensor, such as a placeholder, read at each run.
    Tensor(Tensor),
}

impl From<bool> for Training {
    fn from(b: bool) -> Training {
        Training::Bool(b)
    }
}

impl From<&Tensor> for Training {
    fn from(t: &Tensor) -> Training {
        Training::Tensor(t.clone())
    }
}

/// Dropout, TF `tf.compat.v1.layers.dropout(inputs)`: rate 0.5, and not in
/// training unless `training` says so (TF's default `training=False`: the
/// layer is then `dropout/Identity`). In training, TF's `nn.dropout` inside
/// the layer's scope: `dropout_1/dropout/Mul` by `1 / (1 - rate)`, a
/// `random_uniform/RandomUniform` of the inputs' shape drawn from the graph's
/// seed, `GreaterEqual` against the rate and `SelectV2` to zero; the same
/// graph seed gives TensorFlow's masks, run by run.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::layers;
///
/// let graph = Graph::with_seed(3);
/// let _g = graph.as_default();
/// let x = constant(scopeflow::ndarray::Array2::<f32>::ones((2, 50)))?;
/// assert_eq!(layers::dropout(&x).build()?.name(), "dropout/Identity");
/// let d = layers::dropout(&x).rate(0.2).training(true).build()?;
/// assert_eq!(d.name(), "dropout_1/dropout/SelectV2");
/// let out = Session::new(&graph).run(&[&d], &[])?.remove(0).to_f64_vec();
/// assert!(out.iter().all(|&v| v == 0.0 || (v - 1.25).abs() < 1e-6)); // kept values are scaled by 1 / 0.8
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn dropout(inputs: &Tensor) -> Dropout<'_> {
    Dropout { inputs, rate: 0.5, noise_shape: None, seed: None, training: Training::Bool(false), name: None }
}

/// The options of [`dropout`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct Dropout<'a> {
    inputs: &'a Tensor,
    rate: f64,
    noise_shape: Option<Vec<Option<usize>>>,
    seed: Option<u64>,
    training: Training,
    name: Option<String>,
}

impl Dropout<'_> {
    /// The fraction of inputs dropped (TF `rate`, default 0.5), in `[0, 1)`.
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = rate;
        self
    }

    /// The shape of the kept-or-dropped mask, broadcast over the inputs (TF
    /// `noise_shape`, default the inputs' shape): one entry per axis, `None`
    /// for the inputs' size there (TF's `None`), `Some(1)` to keep or drop
    /// along that axis together, as `[None, Some(1), Some(1), None]` drops
    /// whole channels of an image. Built as TF builds it, in the layer's scope:
    /// `Shape` of the inputs, a `strided_slice` for each `None` and a `packed`
    /// stack of them (or a `Const` when every entry is given).
    ///
    /// ```
    /// use scopeflow::prelude::*;
    /// use scopeflow::layers;
    ///
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(scopeflow::ndarray::Array2::<f32>::ones((3, 50)))?;
    /// let d = layers::dropout(&x).noise_shape([Some(1), None]).seed(7).training(true).build()?;
    /// let out = Session::new(&graph).run(&[&d], &[])?.remove(0);
    /// let rows: Vec<Vec<f64>> = out.to_f64_vec().chunks(50).map(<[f64]>::to_vec).collect();
    /// assert!(rows[0] == rows[1] && rows[1] == rows[2]); // one mask for every row
    /// # Ok::<(), scopeflow::Error>(())
    /// ```
    pub fn noise_shape(mut self, noise_shape: impl IntoIterator<Item = Option<usize>>) -> Self {
        self.noise_shape = Some(noise_shape.into_iter().collect());
        self
    }

    /// The op-level seed of the mask (TF `seed`, default none): with it, the
    /// mask comes from the graph's seed and this one, not from the count of
    /// random ops, and repeats even in a graph made by [`Graph::new`](crate::Graph::new)
    /// (TF then takes its default graph seed); see
    /// [`random_uniform_with_seed`](crate::random_uniform_with_seed). The
    /// masks are TF's, bit for bit.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Training mode (TF `training`, default `false`): a `bool`, or a scalar
    /// bool tensor (then both branches are built and a `SelectV2` picks one,
    /// where TF builds a `cond`).
    pub fn training(mut self, training: impl Into<Training>) -> Self {
        self.training = training.into();
        self
    }

    /// The layer's scope name (TF `name`; default: a fresh `dropout`, `dropout_1`, …).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Makes the layer and returns its output.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) for a rate outside `[0, 1)`, for
    /// inputs that are not floats, a `training` tensor that is not a bool
    /// scalar, or a `noise_shape` that does not fit the inputs (its length is
    /// not their rank, or an entry is neither 1 nor their size).
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        build::dropout(self.inputs, &self, self.name.as_deref())
    }
}

mod build {
    use super::*;
    use scope_runtime::{
        DType, Value, constant, get_item, identity, mul, name_scope, named, random_uniform, random_uniform_with_seed,
        shape, where_v2,
    };

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn dropout(x: &Tensor, o: &Dropout<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.name.as_deref().unwrap_or("dropout");
        if !(0.0..1.0).contains(&o.rate) {
            return Err(layer_error(label, format!("rate {} is outside [0, 1)", o.rate)));
        }
        if !x.dtype().is_floating() {
            return Err(layer_error(label, format!("its inputs must be floats; `{}` is {}", x.name(), x.dtype())));
        }
        if let Some(noise) = &o.noise_shape {
            check_noise_shape(label, x, noise)?;
        }
        match &o.training {
            Training::Bool(false) => identity(x),
            Training::Bool(true) => {
                let noise = noise_shape(x, o)?;
                drop(x, o, noise.as_ref())
            }
            Training::Tensor(t) => {
                if t.dtype() != DType::Bool || t.shape().rank().is_some_and(|r| r != 0) {
                    return Err(layer_error(
                        label,
                        format!(
                            "`training` must be a bool scalar; `{}` is {} of shape {}",
                            t.name(),
                            t.dtype(),
                            t.shape()
                        ),
                    ));
                }
                let noise = noise_shape(x, o)?;
                let dropped = drop(x, o, noise.as_ref())?;
                where_v2(t, &dropped, x)
            }
        }
    }

    /// A noise shape has one entry per axis of the inputs, each 1 or their size.
    fn check_noise_shape(label: &str, x: &Tensor, noise: &[Option<usize>]) -> Result<()> {
        let Some(dims) = x.shape().dims() else { return Ok(()) };
        let show = || format!("{:?}", noise.iter().map(|d| d.map_or(-1, |d| d as i64)).collect::<Vec<_>>());
        if noise.len() != dims.len() {
            return Err(layer_error(
                label,
                format!(
                    "noise_shape {} (-1: None) has {} entries; inputs `{}` of shape {} have {} axes",
                    show(),
                    noise.len(),
                    x.name(),
                    x.shape(),
                    dims.len()
                ),
            ));
        }
        for (axis, (n, d)) in noise.iter().zip(dims).enumerate() {
            if let (Some(n), Some(d)) = (n, d)
                && *n != 1
                && n != d
            {
                return Err(layer_error(
                    label,
                    format!(
                        "noise_shape {} (-1: None) has {n} at axis {axis}, where inputs `{}` of shape {} have {d}; use 1 or None",
                        show(),
                        x.name(),
                        x.shape()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// TF (Keras) `Dropout._get_noise_shape`, in the layer's scope: `Shape` of
    /// the inputs, then the noise shape as a tensor: `packed` (a `Pack` of a
    /// `strided_slice` of that shape for each `None` and a `packed/<i>`
    /// constant for each size), or a `Const` when no entry is `None`.
    fn noise_shape(x: &Tensor, o: &Dropout<'_>) -> Result<Option<Tensor>> {
        let Some(noise) = &o.noise_shape else { return Ok(None) };
        let dynamic = shape(x)?;
        let sizes: Option<Vec<i32>> = noise.iter().map(|d| d.and_then(|d| i32::try_from(d).ok())).collect();
        if let Some(sizes) = sizes {
            return constant(sizes).map(Some);
        }
        let slices: Vec<Option<Tensor>> = noise
            .iter()
            .enumerate()
            .map(|(axis, d)| match d {
                None => get_item(&dynamic, axis as i64).map(Some),
                Some(_) => Ok(None),
            })
            .collect::<Result<_>>()?;
        let packed = name_scope("packed").enter()?;
        let mut parts = Vec::with_capacity(noise.len());
        for (axis, (d, slice)) in noise.iter().zip(slices).enumerate() {
            parts.push(match (d, slice) {
                (_, Some(t)) => t,
                (Some(d), None) => named(&axis.to_string()).constant(*d as i32)?,
                (None, None) => unreachable!("a None entry has its slice"),
            });
        }
        let full = packed.name().to_owned();
        named(&full).stack(&parts.iter().collect::<Vec<_>>(), 0).map(Some)
    }

    /// TF `nn.dropout(x, rate, noise_shape, seed)`, node for node, in a `dropout` name scope.
    fn drop(x: &Tensor, o: &Dropout<'_>, noise: Option<&Tensor>) -> Result<Tensor> {
        let _ns = name_scope("dropout").enter()?;
        let scale = constant(Value::filled(x.dtype(), &[], 1.0 / (1.0 - o.rate)))?;
        let scaled = mul(x, &scale)?;
        let noise_shape = match noise {
            Some(n) => n.clone(),
            None => shape(x)?,
        };
        let noise = match o.seed {
            Some(seed) => random_uniform_with_seed(&noise_shape, x.dtype(), seed)?,
            None => random_uniform(&noise_shape, x.dtype())?,
        };
        let keep = {
            let ge = name_scope("GreaterEqual").enter()?;
            let y = named("y").constant(Value::filled(x.dtype(), &[], o.rate))?;
            let full = ge.name().to_owned();
            named(&full).greater_equal(&noise, &y)?
        };
        let zero = constant(Value::filled(x.dtype(), &[], 0.0))?;
        where_v2(&keep, &scaled, &zero)
    }
}
