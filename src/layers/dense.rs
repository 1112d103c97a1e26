//! `tf.layers.dense`: `activation(inputs · kernel + bias)`.

use super::{Activation, Common, WeightOptions, bias_and_activation, common_setters, known_dim, layer_error};
use super::{output_setters, weight_setters};
use scope_runtime::{Init, Result, Tensor};

/// A densely connected layer, TF `tf.compat.v1.layers.dense(inputs, units)`:
/// `kernel` of shape `[last dimension of inputs, units]` (glorot_uniform
/// unless set or the scope sets an initializer, as TF), `bias` of `[units]`
/// (zeros), no activation unless set. Ops are TF's: `dense/MatMul`,
/// `dense/BiasAdd`, `dense/Relu`; inputs of rank above 2 go through TF's
/// `Tensordot` (`dense/Tensordot/MatMul`, `dense/Tensordot`), node for node
/// whether their shape is fully known or not.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::layers;
///
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, Some(5)]))?;
/// let a = layers::dense(&x, 3).activation(relu).build()?;
/// let b = layers::dense(&x, 3).use_bias(false).build()?;
/// assert_eq!((a.name(), b.name()), ("dense/Relu", "dense_1/MatMul"));
/// // A named layer shared with reuse, its ops in a new name scope:
/// layers::dense(&x, 3).name("fc").build()?;
/// let shared = layers::dense(&x, 3).name("fc").reuse(Reuse::True).build()?;
/// assert_eq!(shared.name(), "fc_1/BiasAdd");
/// assert_eq!(graph.trainable_variables(Some("fc"))?.len(), 2);
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn dense(inputs: &Tensor, units: usize) -> Dense<'_> {
    Dense {
        inputs,
        units,
        activation: None,
        use_bias: true,
        kernel: WeightOptions::default(),
        bias: WeightOptions::default(),
        common: Common::default(),
    }
}

/// The options of [`dense`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct Dense<'a> {
    inputs: &'a Tensor,
    units: usize,
    activation: Option<Activation<'a>>,
    use_bias: bool,
    kernel: WeightOptions,
    bias: WeightOptions,
    common: Common,
}

impl<'a> Dense<'a> {
    output_setters!();

    weight_setters!(kernel: kernel_initializer, kernel_regularizer, kernel_constraint, "kernel");
    weight_setters!(bias: bias_initializer, bias_regularizer, bias_constraint, "bias");
    common_setters!();

    /// Makes the layer and returns its output.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) when the last dimension of the
    /// inputs is not known (TF: "The last dimension of the inputs to `Dense`
    /// should be defined") or their rank is; the errors of [`get_variable`](crate::get_variable) (such
    /// as [`Error::VariableExists`](crate::Error::VariableExists) for a named
    /// layer built twice without `reuse`) and of the ops.
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        let scope = self.common.scope("dense");
        build::dense(self.inputs, &self, scope)
    }
}

mod build {
    use super::*;
    use scope_runtime::{
        Shape, concat, constant, gather_axis, matmul, name_scope, named, reduce_prod, reshape, reshape_to, set_shape,
        shape, stack, transpose_to,
    };

    /// The layer in its scope (`#[scoped]`: `dense`, `dense_1`, … when unnamed).
    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn dense(x: &Tensor, o: &Dense<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.common.label("dense");
        let rank = x.shape().rank().ok_or_else(|| layer_error(label, "the rank of its inputs must be known"))?;
        if rank < 2 {
            return Err(layer_error(
                label,
                format!("its inputs need rank 2 or more; `{}` has shape {}", x.name(), x.shape()),
            ));
        }
        let in_dim = known_dim(label, x, rank - 1, "the last dimension")?;
        let kernel = o.common.weight("kernel", &[in_dim, o.units], x.dtype(), &o.kernel, None)?;
        let bias = match o.use_bias {
            true => Some(o.common.weight("bias", &[o.units], x.dtype(), &o.bias, Some(Init::Zeros))?),
            false => None,
        };
        let y = if rank == 2 { matmul(x, &kernel)? } else { tensordot(label, x, &kernel, o.units)? };
        bias_and_activation(y, bias.as_ref(), o.activation.as_ref())
    }

    /// TF `tensordot(x, kernel, [[rank - 1], [0]])` in a `Tensordot` name
    /// scope, node for node: on a fully known shape, `Reshape` to rows,
    /// `MatMul` and the reshape back named `Tensordot`; otherwise TF's
    /// dynamic graph (`axes`, `free`, `Shape`, `GatherV2`, `Prod`, `concat`,
    /// `stack`, `transpose`, …). Keras then sets the static shape it knows.
    fn tensordot(label: &str, x: &Tensor, kernel: &Tensor, units: usize) -> Result<Tensor> {
        let dims = x.shape().dims().ok_or_else(|| layer_error(label, "the rank of its inputs must be known"))?.to_vec();
        let rank = dims.len();
        let ns = name_scope("Tensordot").enter()?;
        let full = ns.name().to_owned();
        let y = match x.shape().to_vec() {
            Some(known) => {
                // rank >= 3 here (`dense` multiplies rank 2 directly). A row
                // count that overflows is no shape a tensor can have.
                let rows = known[..rank - 1].iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| {
                    layer_error(label, format!("`{}` of shape {} has too many rows to hold", x.name(), x.shape()))
                })?;
                let flat = reshape(x, &[rows as i64, known[rank - 1] as i64])?;
                let y = matmul(&flat, kernel)?;
                let mut out: Vec<i64> = known[..rank - 1].iter().map(|&d| d as i64).collect();
                out.push(units as i64);
                // int32 as TF converts a list of Python ints, int64 when a size does not fit.
                let shape = match out.iter().map(|&d| i32::try_from(d)).collect::<std::result::Result<Vec<i32>, _>>() {
                    Ok(small) => named("shape").constant(small)?,
                    Err(_) => named("shape").constant(out)?,
                };
                named(&full).reshape_to(&y, &shape)?
            }
            None => {
                let axes = named("axes").constant(vec![rank as i32 - 1])?;
                let free = named("free").constant((0..rank as i32 - 1).collect::<Vec<_>>())?;
                let shape_x = shape(x)?;
                let free_dims = gather_axis(&shape_x, &free, 0)?;
                let axes_dims = gather_axis(&shape_x, &axes, 0)?;
                let prod_free = reduce_prod(&free_dims, None, false)?;
                let prod_axes = reduce_prod(&axes_dims, None, false)?;
                let perm = concat(&[&free, &axes], 0)?;
                let new_shape = stack(&[&prod_free, &prod_axes], 0)?;
                let flat = reshape_to(&transpose_to(x, &perm)?, &new_shape)?;
                let y = matmul(&flat, kernel)?;
                let units = constant(vec![units as i32])?;
                let out = concat(&[&free_dims, &units], 0)?;
                named(&full).reshape_to(&y, &out)?
            }
        };
        let mut out = dims[..rank - 1].to_vec();
        out.push(Some(units));
        set_shape(&y, &Shape::from_dims(out))
    }
}
