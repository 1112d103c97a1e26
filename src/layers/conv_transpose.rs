//! `tf.layers.conv2d_transpose`: the transpose of a 2-D convolution, bias and activation.

use super::{Activation, Common, LayerPadding, Pair, WeightOptions, check_data_format, common_setters, known_dim};
use super::{bias_and_activation, layer_error, output_setters, weight_setters};
use scope_runtime::{Init, Padding, Result, Tensor};

/// A transposed 2-D convolution layer ("deconvolution"), TF
/// `tf.compat.v1.layers.conv2d_transpose(inputs, filters, kernel_size)`:
/// `kernel` of shape `[kh, kw, filters, input channels]` (glorot_uniform
/// unless set or the scope sets an initializer), `bias` of `[filters]`
/// (zeros); strides 1, padding `"valid"` and no activation unless set. The
/// output height is `in * stride` with `"same"`, `in * stride + max(k - stride, 0)`
/// with `"valid"`. Ops as TF's: the batch size from `Shape` and
/// `strided_slice`, the output shape `stack`ed, then
/// `conv2d_transpose/conv2d_transpose` (`Conv2DBackpropInput`) and `BiasAdd`.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::layers;
///
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, Some(9), Some(9), Some(3)]))?;
/// let y = layers::conv2d_transpose(&x, 4, 3).strides(2).build()?;
/// assert_eq!(y.name(), "conv2d_transpose/BiasAdd");
/// assert_eq!(y.shape(), &Shape::from_dims([None, Some(19), Some(19), Some(4)]));
/// assert_eq!(graph.variable("conv2d_transpose/kernel").unwrap().shape(), &[3, 3, 4, 3]);
/// let same = layers::conv2d_transpose(&x, 4, 3).strides(2).padding("same").build()?;
/// assert_eq!(same.shape(), &Shape::from_dims([None, Some(18), Some(18), Some(4)]));
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn conv2d_transpose(inputs: &Tensor, filters: usize, kernel_size: impl Into<Pair>) -> Conv2DTranspose<'_> {
    Conv2DTranspose {
        inputs,
        filters,
        kernel_size: kernel_size.into(),
        strides: Pair([1, 1]),
        padding: Padding::Valid.into(),
        data_format: "channels_last".to_owned(),
        activation: None,
        use_bias: true,
        kernel: WeightOptions::default(),
        bias: WeightOptions::default(),
        common: Common::default(),
    }
}

/// The options of [`conv2d_transpose`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct Conv2DTranspose<'a> {
    inputs: &'a Tensor,
    filters: usize,
    kernel_size: Pair,
    strides: Pair,
    padding: LayerPadding,
    data_format: String,
    activation: Option<Activation<'a>>,
    use_bias: bool,
    kernel: WeightOptions,
    bias: WeightOptions,
    common: Common,
}

impl<'a> Conv2DTranspose<'a> {
    /// TF `strides` (default `(1, 1)`).
    pub fn strides(mut self, strides: impl Into<Pair>) -> Self {
        self.strides = strides.into();
        self
    }

    /// TF `padding`: `"valid"` (the default) or `"same"`, any case.
    pub fn padding(mut self, padding: impl Into<LayerPadding>) -> Self {
        self.padding = padding.into();
        self
    }

    /// TF `data_format`: only `"channels_last"`, the default, is built.
    pub fn data_format(mut self, data_format: &str) -> Self {
        self.data_format = data_format.to_owned();
        self
    }

    output_setters!();

    weight_setters!(kernel: kernel_initializer, kernel_regularizer, kernel_constraint, "kernel");
    weight_setters!(bias: bias_initializer, bias_regularizer, bias_constraint, "bias");
    common_setters!();

    /// Makes the layer and returns its output.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) when the inputs are not 4-D or
    /// their height, width or channels are not known, for an unknown padding
    /// or `data_format`; the errors of [`get_variable`](crate::get_variable) and of the ops.
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        let scope = self.common.scope("conv2d_transpose");
        build::conv2d_transpose(self.inputs, &self, scope)
    }
}

mod build {
    use super::*;
    use scope_runtime::{Shape, get_item, name_scope, named, set_shape, shape};

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn conv2d_transpose(x: &Tensor, o: &Conv2DTranspose<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.common.label("conv2d_transpose");
        check_data_format(label, &o.data_format)?;
        let padding = o.padding.get(label)?;
        if x.shape().rank() != Some(4) {
            return Err(layer_error(
                label,
                format!("its inputs need rank 4 (NHWC); `{}` has shape {}", x.name(), x.shape()),
            ));
        }
        let [height, width, channels] = [1, 2, 3].map(|axis| known_dim(label, x, axis, &format!("dimension {axis}")));
        let (height, width, channels) = (height?, width?, channels?);
        let [kh, kw] = o.kernel_size.0;
        let kernel = o.common.weight("kernel", &[kh, kw, o.filters, channels], x.dtype(), &o.kernel, None)?;
        let bias = match o.use_bias {
            true => Some(o.common.weight("bias", &[o.filters], x.dtype(), &o.bias, Some(Init::Zeros))?),
            false => None,
        };
        // Keras `deconv_output_length`.
        // The sizes are stacked with the batch size (int32) into the output
        // shape, as TF stacks them: each must fit in an int32.
        let out = |size: usize, k: usize, stride: usize| {
            let grown = size.checked_mul(stride);
            let d = match padding {
                Padding::Same => grown,
                Padding::Valid => grown.and_then(|g| g.checked_add(k.saturating_sub(stride))),
            };
            d.filter(|&d| i32::try_from(d).is_ok()).ok_or_else(|| {
                let problem = format!(
                    "its output would have more than {} rows or columns (inputs {height}x{width}, strides {:?}); use smaller strides",
                    i32::MAX,
                    o.strides.0
                );
                layer_error(label, problem)
            })
        };
        let output_dims = [out(height, kh, o.strides.0[0])?, out(width, kw, o.strides.0[1])?];
        if i32::try_from(o.filters).is_err() {
            return Err(layer_error(label, format!("{} filters do not fit in an int32 size", o.filters)));
        }
        let batch = get_item(&shape(x)?, 0)?;
        let output_shape = {
            let ns = name_scope("stack").enter()?;
            let dims = [output_dims[0], output_dims[1], o.filters];
            let consts = dims
                .iter()
                .enumerate()
                // Each fits in an int32 (checked above).
                .map(|(i, &d)| named(&(i + 1).to_string()).constant(d as i32))
                .collect::<Result<Vec<_>>>()?;
            let full = ns.name().to_owned();
            named(&full).stack(&[&batch, &consts[0], &consts[1], &consts[2]], 0)?
        };
        // Keras checks `output_shape[0] is None`, which slices the stacked shape.
        get_item(&output_shape, 0)?;
        let y = scope_runtime::conv2d_transpose(x, &kernel, &output_shape, o.strides.0, padding)?;
        // Keras sets the static shape it computes (`outputs.set_shape(compute_output_shape(...))`).
        let static_shape = match x.shape().dims() {
            Some(&[n, ..]) => Shape::from_dims([n, Some(output_dims[0]), Some(output_dims[1]), Some(o.filters)]),
            _ => Shape::unknown(),
        };
        let y = set_shape(&y, &static_shape)?;
        bias_and_activation(y, bias.as_ref(), o.activation.as_ref())
    }
}
