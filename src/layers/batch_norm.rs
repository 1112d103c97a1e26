//! `tf.layers.batch_normalization`: inputs normalized by the batch's moments
//! in training, by moving averages of them in inference.

use super::{Common, Training, WeightOptions, common_setters, known_dim, layer_error};
use scope_runtime::{Init, Regularizer, Result, Tensor};

/// Batch normalization, TF `tf.compat.v1.layers.batch_normalization(inputs)`,
/// over the last axis: variables `gamma` (ones), `beta` (zeros) and the
/// non-trainable `moving_mean` (zeros) and `moving_variance` (ones);
/// `momentum = 0.99`, `epsilon = 1e-3`, `center` and `scale` on, not in
/// training unless `training` says so — TF's defaults.
///
/// As TF (`fused=None`), 4-D inputs get one `FusedBatchNormV3` op
/// (`batch_normalization/FusedBatchNormV3` is the output), other ranks TF's
/// unfused graph (`nn.batch_normalization` in a `batchnorm` name scope:
/// `batch_normalization/batchnorm/add_1`); `fused(false)` asks for the unfused
/// graph, `fused(true)` for the fused op (4-D inputs only). In training it
/// normalizes by the batch's moments and makes TF's update ops
/// `batch_normalization/AssignMovingAvg` and `AssignMovingAvg_1`
/// (`moving -= (moving - batch) * (1 - momentum)`), added to the
/// [`UPDATE_OPS`](crate::UPDATE_OPS) collection: run them with each training
/// step, as in TF1 (`tf.control_dependencies(tf.get_collection(UPDATE_OPS))`).
/// The fused op, as TF's, updates the moving variance with the *unbiased*
/// batch variance (`n / (n - 1)` times the one it normalizes by); the unfused
/// graph with the biased one.
///
/// With a bool tensor for `training`, `SelectV2` ops pick the outputs and
/// zero the updates where TF builds `cond`s (the variables, update ops and
/// values are TF's; the selecting nodes are not).
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::{layers, UPDATE_OPS};
///
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, Some(4)]))?;
/// let y = layers::batch_normalization(&x).training(true).build()?;
/// assert_eq!(y.name(), "batch_normalization/batchnorm/add_1");
/// let images = placeholder(DType::F32, Shape::from_dims([None, Some(8), Some(8), Some(3)]))?;
/// let z = layers::batch_normalization(&images).build()?; // inference: no update ops
/// assert_eq!(z.name(), "batch_normalization_1/FusedBatchNormV3");
/// let updates: Vec<String> = graph.get_collection(UPDATE_OPS, None)?.iter().map(|u| u.name().to_owned()).collect();
/// assert_eq!(updates, ["batch_normalization/AssignMovingAvg", "batch_normalization/AssignMovingAvg_1"]);
/// assert!(!graph.variable("batch_normalization/moving_variance").unwrap().trainable());
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn batch_normalization(inputs: &Tensor) -> BatchNormalization<'_> {
    BatchNormalization {
        inputs,
        axis: -1,
        momentum: 0.99,
        epsilon: 1e-3,
        center: true,
        scale: true,
        beta: WeightOptions::default(),
        gamma: WeightOptions::default(),
        moving_mean_initializer: Init::Zeros,
        moving_variance_initializer: Init::Ones,
        training: Training::Bool(false),
        fused: None,
        common: Common::default(),
    }
}

/// The options of [`batch_normalization`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct BatchNormalization<'a> {
    inputs: &'a Tensor,
    axis: i64,
    momentum: f64,
    epsilon: f64,
    center: bool,
    scale: bool,
    beta: WeightOptions,
    gamma: WeightOptions,
    moving_mean_initializer: Init,
    moving_variance_initializer: Init,
    training: Training,
    fused: Option<bool>,
    common: Common,
}

impl BatchNormalization<'_> {
    /// The axis normalized per entry (TF `axis`, default `-1`); only the last axis is built.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }

    /// How much of the moving averages each update keeps (TF `momentum`, default 0.99).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Added to the variance before its square root (TF `epsilon`, default 1e-3).
    pub fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Whether to add `beta` (TF `center`, default `true`).
    pub fn center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// Whether to multiply by `gamma` (TF `scale`, default `true`).
    pub fn scale(mut self, scale: bool) -> Self {
        self.scale = scale;
        self
    }

    /// `beta`'s initializer (TF `beta_initializer`, default zeros).
    pub fn beta_initializer(mut self, init: Init) -> Self {
        self.beta.initializer = Some(init);
        self
    }

    /// `gamma`'s initializer (TF `gamma_initializer`, default ones).
    pub fn gamma_initializer(mut self, init: Init) -> Self {
        self.gamma.initializer = Some(init);
        self
    }

    /// `moving_mean`'s initializer (TF `moving_mean_initializer`, default zeros).
    pub fn moving_mean_initializer(mut self, init: Init) -> Self {
        self.moving_mean_initializer = init;
        self
    }

    /// `moving_variance`'s initializer (TF `moving_variance_initializer`, default ones).
    pub fn moving_variance_initializer(mut self, init: Init) -> Self {
        self.moving_variance_initializer = init;
        self
    }

    /// `beta`'s regularizer (TF `beta_regularizer`).
    pub fn beta_regularizer(mut self, regularizer: Regularizer) -> Self {
        self.beta.regularizer = Some(regularizer);
        self
    }

    /// `gamma`'s regularizer (TF `gamma_regularizer`).
    pub fn gamma_regularizer(mut self, regularizer: Regularizer) -> Self {
        self.gamma.regularizer = Some(regularizer);
        self
    }

    /// `beta`'s constraint (TF `beta_constraint`).
    pub fn beta_constraint(mut self, constraint: scope_runtime::Constraint) -> Self {
        self.beta.constraint = Some(constraint);
        self
    }

    /// `gamma`'s constraint (TF `gamma_constraint`).
    pub fn gamma_constraint(mut self, constraint: scope_runtime::Constraint) -> Self {
        self.gamma.constraint = Some(constraint);
        self
    }

    /// Training mode (TF `training`, default `false`): a `bool`, or a scalar bool tensor.
    pub fn training(mut self, training: impl Into<Training>) -> Self {
        self.training = training.into();
        self
    }

    /// TF `fused`: unset, the fused op for 4-D inputs and the unfused graph
    /// otherwise (TF's `None`); `false`, the unfused graph; `true`, the fused
    /// op, for 4-D inputs only.
    pub fn fused(mut self, fused: bool) -> Self {
        self.fused = Some(fused);
        self
    }

    common_setters!();

    /// Makes the layer and returns its output.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) for an axis other than the last,
    /// `fused(true)` on inputs that are not 4-D, inputs whose last dimension is not known or that are not
    /// floats, or a `training` tensor that is not a bool scalar; the errors of
    /// [`get_variable`](crate::get_variable) and of the ops.
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        let scope = self.common.scope("batch_normalization");
        build::batch_normalization(self.inputs, &self, scope)
    }
}

mod build {
    use super::*;
    use scope_runtime::{
        CollectionItem, DType, Value, constant, get_default_graph, name_scope, named, rsqrt, squared_difference,
        squeeze, stop_gradient, where_v2,
    };

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn batch_normalization(x: &Tensor, o: &BatchNormalization<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.common.label("batch_normalization");
        let rank = x.shape().rank().ok_or_else(|| layer_error(label, "the rank of its inputs must be known"))?;
        if o.axis != -1 && o.axis != rank as i64 - 1 {
            return Err(layer_error(
                label,
                format!("axis {} is not built; scopeflow normalizes the last axis (-1)", o.axis),
            ));
        }
        // TF: `fused=None` fuses 4-D inputs normalized over their channels.
        let fused = match o.fused {
            Some(true) if rank != 4 => {
                return Err(layer_error(
                    label,
                    format!("fused batch norm takes 4-D inputs; `{}` has rank {rank} (leave `fused` unset)", x.name()),
                ));
            }
            Some(fused) => fused,
            None => rank == 4,
        };
        if !x.dtype().is_floating() {
            return Err(layer_error(label, format!("its inputs must be floats; `{}` is {}", x.name(), x.dtype())));
        }
        let channels = known_dim(label, x, rank - 1, "the last dimension")?;
        let dtype = x.dtype();
        let weight =
            |name: &str, opts: &WeightOptions, init: Init| o.common.weight(name, &[channels], dtype, opts, Some(init));
        let gamma = if o.scale { Some(weight("gamma", &o.gamma, Init::Ones)?) } else { None };
        let beta = if o.center { Some(weight("beta", &o.beta, Init::Zeros)?) } else { None };
        let fixed = super::Common { trainable: false, ..o.common.clone() };
        let none = WeightOptions::default();
        let moving_mean =
            fixed.weight("moving_mean", &[channels], dtype, &none, Some(o.moving_mean_initializer.clone()))?;
        let moving_variance =
            fixed.weight("moving_variance", &[channels], dtype, &none, Some(o.moving_variance_initializer.clone()))?;
        let when = match &o.training {
            Training::Tensor(t) if t.dtype() != DType::Bool || t.shape().rank().is_some_and(|r| r != 0) => {
                return Err(layer_error(
                    label,
                    format!("`training` must be a bool scalar; `{}` is {} of shape {}", t.name(), t.dtype(), t.shape()),
                ));
            }
            Training::Tensor(t) => Some(Some(t)),
            Training::Bool(true) => Some(None),
            Training::Bool(false) => None,
        };
        let moving = [&moving_mean, &moving_variance];
        if fused {
            let filled = |value: f64| constant(Value::filled(dtype, &[channels], value));
            // TF makes the stand-in for a missing beta first, then gamma's.
            let offset = match &beta {
                Some(b) => b.tensor().clone(),
                None => filled(0.0)?,
            };
            let scale = match &gamma {
                Some(g) => g.tensor().clone(),
                None => filled(1.0)?,
            };
            return fused_batch_norm(x, [&scale, &offset], moving, o, when);
        }
        let (mean, variance) = match when {
            None => (moving_mean.tensor().clone(), moving_variance.tensor().clone()),
            Some(when) => {
                let (batch_mean, batch_variance) = moments(x, rank)?;
                let decay = 1.0 - o.momentum;
                let mean_update = assign_moving_average(&moving_mean, &batch_mean, decay, when)?;
                let variance_update = assign_moving_average(&moving_variance, &batch_variance, decay, when)?;
                add_updates(mean_update, variance_update)?;
                match when {
                    None => (batch_mean, batch_variance),
                    Some(t) => {
                        (where_v2(t, &batch_mean, &moving_mean)?, where_v2(t, &batch_variance, &moving_variance)?)
                    }
                }
            }
        };
        normalize(x, &mean, &variance, beta.as_ref().map(|b| b.tensor()), gamma.as_ref().map(|g| g.tensor()), o.epsilon)
    }

    /// Adds the two moving-average updates to `UPDATE_OPS`.
    fn add_updates(mean_update: Tensor, variance_update: Tensor) -> Result<()> {
        let graph = get_default_graph()?;
        graph.add_to_collection(scope_runtime::UPDATE_OPS, CollectionItem::Tensor(mean_update));
        graph.add_to_collection(scope_runtime::UPDATE_OPS, CollectionItem::Tensor(variance_update));
        Ok(())
    }

    /// TF (Keras) `_fused_batch_norm`: one `FusedBatchNormV3`; in training a
    /// `Const` momentum and the `AssignMovingAvg` updates of the moving
    /// averages by the op's batch mean and (unbiased) batch variance. With a
    /// training tensor, both ops (training's first) and `SelectV2`s, the
    /// momentum being 1 (no update) when it is false, where TF builds `cond`s.
    fn fused_batch_norm(
        x: &Tensor,
        [scale, offset]: [&Tensor; 2],
        [moving_mean, moving_variance]: [&scope_runtime::Variable; 2],
        o: &BatchNormalization<'_>,
        when: Option<Option<&Tensor>>,
    ) -> Result<Tensor> {
        let (mm, mv) = (moving_mean.tensor(), moving_variance.tensor());
        let Some(when) = when else {
            return Ok(scope_runtime::fused_batch_norm(x, scale, offset, mm, mv, o.epsilon, false)?.0);
        };
        let (y, batch_mean, batch_variance) =
            scope_runtime::fused_batch_norm(x, scale, offset, mm, mv, o.epsilon, true)?;
        let momentum = constant(Value::filled(x.dtype(), &[], o.momentum))?;
        let (y, momentum) = match when {
            None => (y, momentum),
            Some(t) => {
                let (inference, ..) = scope_runtime::fused_batch_norm(x, scale, offset, mm, mv, o.epsilon, false)?;
                let y = where_v2(t, &y, &inference)?;
                (y, where_v2(t, &momentum, &constant(Value::filled(x.dtype(), &[], 1.0))?)?)
            }
        };
        let mean_update = assign_moving_average_by(moving_mean, &batch_mean, &momentum)?;
        let variance_update = assign_moving_average_by(moving_variance, &batch_variance, &momentum)?;
        add_updates(mean_update, variance_update)?;
        Ok(y)
    }

    /// TF (Keras) `_assign_moving_average` with a momentum tensor: in an
    /// `AssignMovingAvg` scope, `sub = 1 - momentum`, `(variable - value) * sub`,
    /// and an `AssignSub` named the scope.
    fn assign_moving_average_by(
        variable: &scope_runtime::Variable,
        value: &Tensor,
        momentum: &Tensor,
    ) -> Result<Tensor> {
        let ns = name_scope("AssignMovingAvg").enter()?;
        let decay = {
            let sub = name_scope("sub").enter()?;
            let one = named("x").constant(Value::filled(momentum.dtype(), &[], 1.0))?;
            let full = sub.name().to_owned();
            named(&full).sub(&one, momentum)?
        };
        let delta = (&(variable.tensor() - value)? * &decay)?;
        let full = ns.name().to_owned();
        named(&full).assign_sub(variable, &delta)
    }

    /// TF `nn.moments(x, all axes but the last)`: `moments/mean`, `moments/variance`, squeezed.
    fn moments(x: &Tensor, rank: usize) -> Result<(Tensor, Tensor)> {
        let _ns = name_scope("moments").enter()?;
        let axes: Vec<i64> = (0..rank as i64 - 1).collect();
        let mean = named("mean").reduce_mean_axes(x, axes.clone(), true)?;
        let centered = squared_difference(x, &stop_gradient(&mean)?)?;
        let variance = named("variance").reduce_mean_axes(&centered, axes, true)?;
        let kept: Vec<usize> = (0..rank - 1).collect();
        Ok((squeeze(&mean, &kept)?, squeeze(&variance, &kept)?))
    }

    /// TF (Keras) `_assign_moving_average`: in an `AssignMovingAvg` scope,
    /// `decay`, `(variable - value) * decay`, and an `AssignSub` named the
    /// scope. With a training tensor, the decay is 0 when it is false.
    fn assign_moving_average(
        variable: &scope_runtime::Variable,
        value: &Tensor,
        decay: f64,
        when: Option<&Tensor>,
    ) -> Result<Tensor> {
        let ns = name_scope("AssignMovingAvg").enter()?;
        let mut decay = named("decay").constant(Value::filled(value.dtype(), &[], decay))?;
        if let Some(t) = when {
            decay = where_v2(t, &decay, &constant(Value::filled(value.dtype(), &[], 0.0))?)?;
        }
        let delta = (&(variable.tensor() - value)? * &decay)?;
        let full = ns.name().to_owned();
        named(&full).assign_sub(variable, &delta)
    }

    /// TF `nn.batch_normalization` in a `batchnorm` name scope:
    /// `x * inv + (offset - mean * inv)`, `inv = rsqrt(variance + epsilon) * scale`.
    fn normalize(
        x: &Tensor,
        mean: &Tensor,
        variance: &Tensor,
        offset: Option<&Tensor>,
        scale: Option<&Tensor>,
        epsilon: f64,
    ) -> Result<Tensor> {
        let _ns = name_scope("batchnorm").enter()?;
        let plus_epsilon = {
            let add = name_scope("add").enter()?;
            let y = named("y").constant(Value::filled(variance.dtype(), &[], epsilon))?;
            let full = add.name().to_owned();
            named(&full).add(variance, &y)?
        };
        let mut inv = rsqrt(&plus_epsilon)?;
        if let Some(s) = scale {
            inv = (&inv * s)?;
        }
        let scaled = (x * &inv)?;
        let shift = match offset {
            Some(b) => (b - &(mean * &inv)?)?,
            None => (&(-mean)? * &inv)?,
        };
        &scaled + &shift
    }
}
