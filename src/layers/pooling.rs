//! `tf.layers.max_pooling2d` and `tf.layers.average_pooling2d`.

use super::{LayerPadding, Pair, check_data_format};
use scope_runtime::{Padding, Result, Tensor};

macro_rules! pooling {
    ($(#[$doc:meta])* $fn:ident $ty:ident $base:literal) => {
        $(#[$doc])*
        pub fn $fn(inputs: &Tensor, pool_size: impl Into<Pair>, strides: impl Into<Pair>) -> $ty<'_> {
            $ty {
                inputs,
                pool_size: pool_size.into(),
                strides: strides.into(),
                padding: Padding::Valid.into(),
                data_format: "channels_last".to_owned(),
                name: None,
            }
        }

        #[doc = concat!("The options of [`", stringify!($fn), "`]; `.build()` makes the layer.")]
        #[must_use = "the layer is built by `.build()`"]
        pub struct $ty<'a> {
            inputs: &'a Tensor,
            pool_size: Pair,
            strides: Pair,
            padding: LayerPadding,
            data_format: String,
            name: Option<String>,
        }

        impl $ty<'_> {
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

            #[doc = concat!("The layer's scope name (TF `name`; default: a fresh `", $base, "`, `", $base, "_1`, …).")]
            pub fn name(mut self, name: &str) -> Self {
                self.name = Some(name.to_owned());
                self
            }

            /// Makes the layer and returns its output.
            ///
            /// # Errors
            ///
            /// [`Error::Layer`](crate::Error::Layer) for an unknown padding
            /// or `data_format`; [`Error::OpShape`](crate::Error::OpShape)
            /// when the inputs are not 4-D or the window does not fit.
            #[track_caller]
    pub fn build(self) -> Result<Tensor> {
                build::$fn(self.inputs, &self, self.name.as_deref())
            }
        }
    };
}

pooling! {
    /// Max pooling over height and width, TF `tf.compat.v1.layers.max_pooling2d(inputs, pool_size, strides)`:
    /// padding `"valid"` unless set; op `max_pooling2d/MaxPool`.
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
    /// let p = layers::max_pooling2d(&x, 2, 2).build()?;
    /// assert_eq!(p.name(), "max_pooling2d/MaxPool");
    /// assert_eq!(p.shape(), &Shape::from_dims([None, Some(4), Some(4), Some(3)]));
    /// let q = layers::max_pooling2d(&x, [3, 3], 2).padding("same").build()?;
    /// assert_eq!(q.shape(), &Shape::from_dims([None, Some(5), Some(5), Some(3)]));
    /// # Ok::<(), scopeflow::Error>(())
    /// ```
    max_pooling2d MaxPooling2D "max_pooling2d"
}

pooling! {
    /// Average pooling over height and width, TF `tf.compat.v1.layers.average_pooling2d(inputs, pool_size, strides)`:
    /// padding `"valid"` unless set; op `average_pooling2d/AvgPool`.
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
    /// let p = layers::average_pooling2d(&x, 3, 2).padding("same").build()?;
    /// assert_eq!(p.name(), "average_pooling2d/AvgPool");
    /// assert_eq!(p.shape(), &Shape::from_dims([None, Some(5), Some(5), Some(3)]));
    /// # Ok::<(), scopeflow::Error>(())
    /// ```
    average_pooling2d AveragePooling2D "average_pooling2d"
}

mod build {
    use super::*;

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn max_pooling2d(x: &Tensor, o: &MaxPooling2D<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.name.as_deref().unwrap_or("max_pooling2d");
        check_data_format(label, &o.data_format)?;
        scope_runtime::max_pool(x, o.pool_size.0, o.strides.0, o.padding.get(label)?)
    }

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn average_pooling2d(x: &Tensor, o: &AveragePooling2D<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.name.as_deref().unwrap_or("average_pooling2d");
        check_data_format(label, &o.data_format)?;
        scope_runtime::avg_pool(x, o.pool_size.0, o.strides.0, o.padding.get(label)?)
    }
}
