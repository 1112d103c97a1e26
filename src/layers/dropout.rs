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
/// graph seed gives the same masks, run by run.
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
    Dropout { inputs, rate: 0.5, training: Training::Bool(false), name: None }
}

/// The options of [`dropout`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct Dropout<'a> {
    inputs: &'a Tensor,
    rate: f64,
    training: Training,
    name: Option<String>,
}

impl Dropout<'_> {
    /// The fraction of inputs dropped (TF `rate`, default 0.5), in `[0, 1)`.
    pub fn rate(mut self, rate: f64) -> Self {
        self.rate = rate;
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
    /// inputs that are not floats, or a `training` tensor that is not a bool scalar.
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        build::dropout(self.inputs, &self, self.name.as_deref())
    }
}

mod build {
    use super::*;
    use scope_runtime::{DType, Value, constant, identity, mul, name_scope, named, random_uniform, shape, where_v2};

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
        match &o.training {
            Training::Bool(false) => identity(x),
            Training::Bool(true) => drop(x, o.rate),
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
                let dropped = drop(x, o.rate)?;
                where_v2(t, &dropped, x)
            }
        }
    }

    /// TF `nn.dropout(x, rate)`, node for node, in a `dropout` name scope.
    fn drop(x: &Tensor, rate: f64) -> Result<Tensor> {
        let _ns = name_scope("dropout").enter()?;
        let scale = constant(Value::filled(x.dtype(), &[], 1.0 / (1.0 - rate)))?;
        let scaled = mul(x, &scale)?;
        let noise = random_uniform(&shape(x)?, x.dtype())?;
        let keep = {
            let ge = name_scope("GreaterEqual").enter()?;
            let y = named("y").constant(Value::filled(x.dtype(), &[], rate))?;
            let full = ge.name().to_owned();
            named(&full).greater_equal(&noise, &y)?
        };
        let zero = constant(Value::filled(x.dtype(), &[], 0.0))?;
        where_v2(&keep, &scaled, &zero)
    }
}
