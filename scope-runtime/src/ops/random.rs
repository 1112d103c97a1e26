//! TF's `random_ops`: random tensors drawn from the graph's seed.

use super::{OpKind, build};
use crate::base::{DType, Error, Result, Tensor};
use crate::graph::{Attr, Random};
use crate::scope::{name_scope, with_ctx};
use crate::variable::init::stable_hash;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

api! {
    /// Floats uniform on `[0, 1)` of the shape `shape` holds (an int32 or
    /// int64 vector, such as [`shape`](fn@crate::shape) of a tensor), as TF
    /// `tf.random.uniform(shape, dtype=dtype)`: a `RandomUniform` op inside a
    /// `random_uniform` name scope.
    ///
    /// The op's seed comes from the graph's seed ([`Graph::with_seed`](crate::Graph::with_seed))
    /// and the op's name; each run draws new values, and a graph built again
    /// with the same seed draws the same values run by run. (TensorFlow's
    /// Philox values are not reproduced.)
    ///
    /// ```
    /// use scope_runtime::{constant, random_uniform, shape, DType, Graph, Session};
    /// let run = || -> scope_runtime::Result<Vec<f64>> {
    ///     let graph = Graph::with_seed(7);
    ///     let _g = graph.as_default();
    ///     let x = constant(scope_runtime::ndarray::Array2::<f32>::zeros((2, 3)))?;
    ///     let r = random_uniform(&shape(&x)?, DType::F32)?;
    ///     assert_eq!(r.name(), "random_uniform/RandomUniform");
    ///     assert_eq!(r.shape().to_vec(), Some(vec![2, 3]));
    ///     Ok(Session::new(&graph).run(&[&r], &[])?[0].to_f64_vec())
    /// };
    /// let values = run()?;
    /// assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
    /// assert_eq!(values, run()?); // same seed, same values
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn random_uniform(shape: &Tensor, dtype: DType) -> Tensor |name| {
        if !dtype.is_floating() {
            return Err(Error::OpDType { op: name.unwrap_or("random_uniform").to_owned(), op_type: "RandomUniform", dtypes: vec![dtype] });
        }
        let scope = name_scope(name.unwrap_or("random_uniform")).enter()?;
        let seed = with_ctx(|ctx| Ok(ctx.graph.seed()))?.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ stable_hash(scope.name().as_bytes());
        let random = Random { seed, dtype, draws: Arc::new(AtomicU64::new(0)) };
        build(OpKind::RandomUniform, None, &[shape], Attr::Random(Box::new(random)))
    };
}
