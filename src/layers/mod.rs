//! TF1's `tf.compat.v1.layers` in graph mode: [`dense`], [`flatten`],
//! [`conv2d`], [`conv2d_transpose`], [`max_pooling2d`], [`average_pooling2d`], [`dropout`],
//! [`batch_normalization`], with
//! TensorFlow's defaults and names.
//!
//! Each function takes the input tensor and the arguments TensorFlow requires,
//! and returns a builder for the keyword arguments; `.build()` makes the layer:
//!
//! ```
//! use scopeflow::prelude::*;
//! use scopeflow::layers;
//!
//! let graph = Graph::with_seed(0);
//! let _g = graph.as_default();
//! let x = placeholder(DType::F32, Shape::from_dims([None, Some(784)]))?;
//! let h = layers::dense(&x, 64).activation(relu).build()?; // tf.layers.dense(x, 64, activation=tf.nn.relu)
//! let y = layers::dense(&h, 10).name("logits").build()?;
//! assert_eq!(h.name(), "dense/Relu");
//! assert_eq!(y.name(), "logits/BiasAdd");
//! let names: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
//! assert_eq!(names, ["dense/kernel", "dense/bias", "logits/kernel", "logits/bias"]);
//! # Ok::<(), scopeflow::Error>(())
//! ```
//!
//! Scopes and sharing follow TF's `Layer._set_scope`: an unnamed layer opens a
//! fresh default-named scope (`dense`, `dense_1`, …), a named one opens its
//! name, and `reuse(Reuse::True | Reuse::Auto)` shares the variables of the
//! layer's name (or, unnamed, of its base name `dense`). TF's trap is kept:
//! unnamed layers inside a `reuse = auto` scope are `dense`, `dense_1`, … and
//! share nothing; the graph's warnings (and its manifest) report it.
//!
//! Differences from TensorFlow, on purpose or not yet: a dilated `conv2d`
//! is one `Conv2D` op with dilations (TF builds `SpaceToBatchND` /
//! `BatchToSpaceND` around it; the layer's `BiasAdd` and activation keep
//! TF's names); `dropout` and `batch_normalization` with a bool tensor for
//! `training` select with `SelectV2` where TF builds `cond`s (the
//! variables, update ops and values are TF's); only
//! `data_format = "channels_last"`.

mod batch_norm;
mod conv;
mod conv_transpose;
mod dense;
mod dropout;
mod flatten;
mod pooling;

pub use batch_norm::{BatchNormalization, batch_normalization};
pub use conv::{Conv2D, conv2d};
pub use conv_transpose::{Conv2DTranspose, conv2d_transpose};
pub use dense::{Dense, dense};
pub use dropout::{Dropout, Training, dropout};
pub use flatten::{Flatten, flatten};
pub use pooling::{AveragePooling2D, MaxPooling2D, average_pooling2d, max_pooling2d};

use scope_runtime::{Constraint, DType, Error, Init, Padding, Regularizer, Result, Reuse, Shape, Tensor, Variable};

/// An activation applied to a layer's output inside its scope, as TF's
/// `activation=tf.nn.relu`: any `fn(&Tensor) -> Result<Tensor>`, such as
/// [`relu`](crate::relu), [`tanh`](crate::tanh) or a closure.
pub(crate) type Activation<'a> = Box<dyn Fn(&Tensor) -> Result<Tensor> + 'a>;

/// Two sizes, for windows, strides and dilations: TF's "an integer or a
/// tuple of 2 integers". `3.into()` is `[3, 3]`.
///
/// # Examples
///
/// ```
/// use scopeflow::layers::Pair;
/// assert_eq!(Pair::from(3), Pair([3, 3]));
/// assert_eq!(Pair::from([3, 2]), Pair([3, 2]));
/// assert_eq!(Pair::from((1, 2)), Pair([1, 2]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair(pub [usize; 2]);

impl From<usize> for Pair {
    fn from(n: usize) -> Pair {
        Pair([n, n])
    }
}

impl From<[usize; 2]> for Pair {
    fn from(p: [usize; 2]) -> Pair {
        Pair(p)
    }
}

impl From<(usize, usize)> for Pair {
    fn from((a, b): (usize, usize)) -> Pair {
        Pair([a, b])
    }
}

/// A padding as TF's layers take it: `"valid"` or `"same"` (any case), or a
/// [`Padding`].
///
/// # Examples
///
/// ```
/// use scopeflow::layers::LayerPadding;
/// use scopeflow::Padding;
/// assert_eq!(LayerPadding::from("SAME").padding(), Some(Padding::Same));
/// assert_eq!(LayerPadding::from(Padding::Valid).padding(), Some(Padding::Valid));
/// assert_eq!(LayerPadding::from("full").padding(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerPadding(std::result::Result<Padding, String>);

impl LayerPadding {
    /// The padding, or `None` for a string TF does not know.
    pub fn padding(&self) -> Option<Padding> {
        self.0.as_ref().ok().copied()
    }

    fn get(&self, layer: &str) -> Result<Padding> {
        self.0.clone().map_err(|p| {
            layer_error(
                layer,
                format!("unknown padding `{p}`; expected \"valid\" or \"same\" (TF's strings, any case)"),
            )
        })
    }
}

impl From<&str> for LayerPadding {
    fn from(s: &str) -> LayerPadding {
        LayerPadding(match s.to_ascii_lowercase().as_str() {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            _ => Err(s.to_owned()),
        })
    }
}

impl From<Padding> for LayerPadding {
    fn from(p: Padding) -> LayerPadding {
        LayerPadding(Ok(p))
    }
}

/// An [`Error::Layer`] for layer `layer`.
fn layer_error(layer: &str, problem: impl Into<String>) -> Error {
    Error::Layer { layer: layer.to_owned(), problem: problem.into() }
}

/// Checks TF's `data_format`: only `"channels_last"` (NHWC) is built.
fn check_data_format(layer: &str, data_format: &str) -> Result<()> {
    match data_format {
        "channels_last" => Ok(()),
        other => Err(layer_error(
            layer,
            format!("data_format `{other}` is not supported; scopeflow builds \"channels_last\" (NHWC) layers only"),
        )),
    }
}

/// A layer's static size of `axis`, or an error naming the layer.
fn known_dim(layer: &str, x: &Tensor, axis: usize, what: &str) -> Result<usize> {
    let dims =
        x.shape().dims().ok_or_else(|| layer_error(layer, format!("the rank of input `{}` is not known", x.name())))?;
    dims.get(axis).copied().flatten().ok_or_else(|| {
        layer_error(layer, format!("{what} of input `{}` (shape {}) must be known", x.name(), x.shape()))
    })
}

/// TF's `kernel_initializer`, `kernel_regularizer`, `kernel_constraint` (or
/// the bias's): unset, the scope's apply, as `get_variable` does.
#[derive(Clone, Default)]
struct WeightOptions {
    initializer: Option<Init>,
    regularizer: Option<Regularizer>,
    constraint: Option<Constraint>,
}

/// What every layer with variables takes: TF's `trainable`, `name`, `reuse`.
#[derive(Clone)]
struct Common {
    trainable: bool,
    name: Option<String>,
    reuse: Reuse,
}

impl Default for Common {
    fn default() -> Common {
        Common { trainable: true, name: None, reuse: Reuse::Inherit }
    }
}

impl Common {
    /// TF `Layer._set_scope`: a named layer opens its name; an unnamed one a
    /// fresh default-named scope, unless it reuses: then its base name.
    fn scope<'a>(&'a self, base: &'a str) -> Option<&'a str> {
        match (&self.name, self.reuse) {
            (Some(n), _) => Some(n),
            (None, Reuse::Inherit) => None,
            (None, _) => Some(base),
        }
    }

    /// The layer's kind or name, for error messages.
    fn label<'a>(&'a self, base: &'a str) -> &'a str {
        self.name.as_deref().unwrap_or(base)
    }

    /// A weight of the layer in the current scope, as TF's `add_weight`:
    /// the input's dtype, the layer's `trainable` and `reuse`.
    #[track_caller]
    fn weight(
        &self,
        name: &str,
        shape: &[usize],
        dtype: DType,
        o: &WeightOptions,
        init: Option<Init>,
    ) -> Result<Variable> {
        let mut v = scope_runtime::get_variable(name, Shape::from(shape.to_vec()))
            .dtype(dtype)
            .trainable(self.trainable)
            .reuse(self.reuse);
        if let Some(i) = o.initializer.clone().or(init) {
            v = v.initializer(i);
        }
        if let Some(r) = o.regularizer.clone() {
            v = v.regularizer(r);
        }
        if let Some(c) = o.constraint.clone() {
            v = v.constraint(c);
        }
        v.get()
    }
}

/// The setters of [`Common`]: `trainable`, `name`, `reuse`.
macro_rules! common_setters {
    () => {
        /// Whether the layer's variables join `trainable_variables` (TF `trainable`, default `true`).
        pub fn trainable(mut self, trainable: bool) -> Self {
            self.common.trainable = trainable;
            self
        }

        /// The layer's scope name (TF `name`; default: a fresh default-named scope).
        pub fn name(mut self, name: &str) -> Self {
            self.common.name = Some(name.to_owned());
            self
        }

        /// Shares the variables of the layer's scope (TF `reuse`: `True` or
        /// `tf.AUTO_REUSE`; default: the enclosing scope's).
        pub fn reuse(mut self, reuse: scope_runtime::Reuse) -> Self {
            self.common.reuse = reuse;
            self
        }
    };
}

/// The setters of a layer ending in a bias and an activation: `activation`, `use_bias`.
macro_rules! output_setters {
    () => {
        /// The activation applied last, inside the layer's scope (TF
        /// `activation=tf.nn.relu`; default none): [`relu`](crate::relu),
        /// [`sigmoid`](crate::sigmoid), [`tanh`](crate::tanh), any `fn(&Tensor) -> Result<Tensor>`.
        pub fn activation(mut self, activation: impl Fn(&Tensor) -> Result<Tensor> + 'a) -> Self {
            self.activation = Some(Box::new(activation));
            self
        }

        /// Whether the layer adds a bias (TF `use_bias`, default `true`).
        pub fn use_bias(mut self, use_bias: bool) -> Self {
            self.use_bias = use_bias;
            self
        }
    };
}

/// The end of dense and convolution layers: `activation(y + bias)`, each part when there is one.
pub(crate) fn bias_and_activation(
    y: Tensor,
    bias: Option<&scope_runtime::Variable>,
    activation: Option<&Activation<'_>>,
) -> Result<Tensor> {
    let y = match bias {
        Some(b) => scope_runtime::bias_add(&y, b)?,
        None => y,
    };
    match activation {
        Some(f) => f(&y),
        None => Ok(y),
    }
}

/// The setters of a weight's [`WeightOptions`]: `{kernel,bias}_{initializer,regularizer,constraint}`.
macro_rules! weight_setters {
    ($field:ident: $init:ident, $reg:ident, $con:ident, $what:literal) => {
        #[doc = concat!("The ", $what, "'s initializer (TF `", stringify!($init), "`).")]
        pub fn $init(mut self, init: scope_runtime::Init) -> Self {
            self.$field.initializer = Some(init);
            self
        }

        #[doc = concat!("The ", $what, "'s regularizer (TF `", stringify!($reg), "`; default: the scope's).")]
        pub fn $reg(mut self, regularizer: scope_runtime::Regularizer) -> Self {
            self.$field.regularizer = Some(regularizer);
            self
        }

        #[doc = concat!("The ", $what, "'s constraint, applied by optimizers after each update (TF `", stringify!($con), "`).")]
        pub fn $con(mut self, constraint: scope_runtime::Constraint) -> Self {
            self.$field.constraint = Some(constraint);
            self
        }
    };
}

use {common_setters, output_setters, weight_setters};
