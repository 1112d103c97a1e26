//! `tf.layers.conv2d`: a 2-D convolution, bias and activation.

use super::{Activation, Common, LayerPadding, Pair, WeightOptions, check_data_format, common_setters, known_dim};
use super::{bias_and_activation, layer_error, output_setters, weight_setters};
use scope_runtime::{Init, Padding, Result, Tensor};

/// A 2-D convolution layer, TF `tf.compat.v1.layers.conv2d(inputs, filters, kernel_size)`:
/// `kernel` of shape `[kh, kw, input channels, filters]` (glorot_uniform
/// unless set or the scope sets an initializer), `bias` of `[filters]`
/// (zeros); strides 1, padding `"valid"`, dilation 1 and no activation unless
/// set. Ops `conv2d/Conv2D`, `conv2d/BiasAdd`, then the activation's.
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
/// let c = layers::conv2d(&x, 4, 3).build()?;
/// assert_eq!(c.name(), "conv2d/BiasAdd");
/// assert_eq!(c.shape(), &Shape::from_dims([None, Some(7), Some(7), Some(4)]));
/// let d = layers::conv2d(&x, 4, [3, 2]).strides(2).padding("same").activation(relu).use_bias(false).build()?;
/// assert_eq!(d.name(), "conv2d_1/Relu");
/// assert_eq!(graph.variable("conv2d_1/kernel").unwrap().shape(), &[3, 2, 3, 4]);
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn conv2d(inputs: &Tensor, filters: usize, kernel_size: impl Into<Pair>) -> Conv2D<'_> {
    Conv2D {
        inputs,
        filters,
        kernel_size: kernel_size.into(),
        strides: Pair([1, 1]),
        padding: Padding::Valid.into(),
        data_format: "channels_last".to_owned(),
        dilation_rate: Pair([1, 1]),
        activation: None,
        use_bias: true,
        kernel: WeightOptions::default(),
        bias: WeightOptions::default(),
        common: Common::default(),
    }
}

/// The options of [`conv2d`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct Conv2D<'a> {
    inputs: &'a Tensor,
    filters: usize,
    kernel_size: Pair,
    strides: Pair,
    padding: LayerPadding,
    data_format: String,
    dilation_rate: Pair,
    activation: Option<Activation<'a>>,
    use_bias: bool,
    kernel: WeightOptions,
    bias: WeightOptions,
    common: Common,
}

impl<'a> Conv2D<'a> {
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

    /// TF `dilation_rate` (default `(1, 1)`); above 1 only with strides 1, as TF.
    pub fn dilation_rate(mut self, dilation_rate: impl Into<Pair>) -> Self {
        self.dilation_rate = dilation_rate.into();
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
    /// [`Error::Layer`](crate::Error::Layer) when the input channels are not
    /// known, for an unknown padding or `data_format`, or dilation with
    /// strides; the errors of [`get_variable`](crate::get_variable) and of
    /// the ops ([`Error::OpShape`](crate::Error::OpShape) for inputs that are not 4-D).
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        let scope = self.common.scope("conv2d");
        build::conv2d(self.inputs, &self, scope)
    }
}

mod build {
    use super::*;

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn conv2d(x: &Tensor, o: &Conv2D<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.common.label("conv2d");
        check_data_format(label, &o.data_format)?;
        let padding = o.padding.get(label)?;
        let dilated = o.dilation_rate.0 != [1, 1];
        if dilated && o.strides.0 != [1, 1] {
            return Err(layer_error(
                label,
                "strides above 1 cannot go with a dilation_rate above 1 (as in TensorFlow)",
            ));
        }
        if x.shape().rank().is_some_and(|r| r != 4) {
            return Err(layer_error(
                label,
                format!("its inputs need rank 4 (NHWC); `{}` has shape {}", x.name(), x.shape()),
            ));
        }
        let channels = known_dim(label, x, 3, "the channel dimension")?;
        let [kh, kw] = o.kernel_size.0;
        let kernel = o.common.weight("kernel", &[kh, kw, channels, o.filters], x.dtype(), &o.kernel, None)?;
        let bias = match o.use_bias {
            true => Some(o.common.weight("bias", &[o.filters], x.dtype(), &o.bias, Some(Init::Zeros))?),
            false => None,
        };
        let y = match dilated {
            false => scope_runtime::conv2d(x, &kernel, o.strides.0, padding)?,
            true => scope_runtime::conv2d_dilated(x, &kernel, o.strides.0, padding, o.dilation_rate.0)?,
        };
        bias_and_activation(y, bias.as_ref(), o.activation.as_ref())
    }
}
