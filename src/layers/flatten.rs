//! `tf.layers.flatten`: every dimension but the first in one.

use super::{check_data_format, known_dim, layer_error};
use scope_runtime::{Result, Tensor};

/// Flattens all dimensions but the batch, TF `tf.compat.v1.layers.flatten(inputs)`:
/// a `Const` `[-1, product]` and a `Reshape` in a fresh `flatten`, `flatten_1`, … scope.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::layers;
///
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, Some(2), Some(5)]))?;
/// let f = layers::flatten(&x).build()?;
/// assert_eq!(f.name(), "flatten/Reshape");
/// assert_eq!(f.shape(), &Shape::from_dims([None, Some(10)]));
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn flatten(inputs: &Tensor) -> Flatten<'_> {
    Flatten { inputs, name: None, data_format: "channels_last".to_owned() }
}

/// The options of [`flatten`]; `.build()` makes the layer.
#[must_use = "the layer is built by `.build()`"]
pub struct Flatten<'a> {
    inputs: &'a Tensor,
    name: Option<String>,
    data_format: String,
}

impl Flatten<'_> {
    /// The layer's scope name (TF `name`; default: a fresh `flatten`, `flatten_1`, …).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// TF `data_format`: only `"channels_last"`, the default, is built.
    pub fn data_format(mut self, data_format: &str) -> Self {
        self.data_format = data_format.to_owned();
        self
    }

    /// Makes the layer and returns its output.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) when a dimension but the first is
    /// not known, for an unknown rank, or another `data_format`.
    #[track_caller]
    pub fn build(self) -> Result<Tensor> {
        build::flatten(self.inputs, &self, self.name.as_deref())
    }
}

mod build {
    use super::*;
    use scope_runtime::{constant, reshape_to};

    #[crate::scoped(scope = scope)]
    #[track_caller]
    pub(super) fn flatten(x: &Tensor, o: &Flatten<'_>, scope: Option<&str>) -> Result<Tensor> {
        let label = o.name.as_deref().unwrap_or("flatten");
        check_data_format(label, &o.data_format)?;
        let rank = x.shape().rank().ok_or_else(|| layer_error(label, "the rank of its inputs must be known"))?;
        let mut size = 1usize;
        for axis in 1..rank {
            size *= known_dim(label, x, axis, &format!("dimension {axis}"))?;
        }
        let shape = constant(vec![-1i32, size as i32])?;
        reshape_to(x, &shape)
    }
}
