//! TF's `random_ops`: random tensors drawn from the graph's seed.

use super::{OpKind, build};
use crate::base::{DType, Error, Result, Tensor, Value};
use crate::graph::{Attr, Random};
use crate::ops::named;
use crate::scope::{name_scope, with_ctx};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

api! {
    /// Floats uniform on `[0, 1)` of the shape `shape` holds (an int32 or
    /// int64 vector, such as [`shape`](fn@crate::shape) of a tensor), as TF
    /// `tf.random.uniform(shape, dtype=dtype)`: a `RandomUniform` op inside a
    /// `random_uniform` name scope.
    ///
    /// The values are TensorFlow's, bit for bit: as TF's `get_seed`, the op's
    /// seeds are the graph's seed ([`Graph::with_seed`](crate::Graph::with_seed))
    /// and the number of random ops and random initializers made in the
    /// graph before it, and its kernel draws with TF's Philox. Each run draws
    /// the next values, as TF's kernel does (TF starts again in a new
    /// session; here the op's stream continues), so a graph built again with
    /// the same seed draws TF's values run by run.
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
        uniform(shape, dtype, name, None)
    };
    /// Like [`random_uniform`](fn@random_uniform), with an op-level seed (TF
    /// `tf.random.uniform(shape, dtype=dtype, seed=seed)`): the op's stream
    /// then comes from the graph's seed and `seed` alone, not from the count
    /// of random ops, so ops with the same seed draw the same values run by
    /// run, and the values are repeatable even in a graph made by
    /// [`Graph::new`](crate::Graph::new) (TF then takes its default graph
    /// seed, 87654321). The values are TensorFlow's, bit for bit.
    ///
    /// ```
    /// use scope_runtime::{constant, random_uniform_with_seed, shape, DType, Graph, Session};
    /// let run = |op_seed| -> scope_runtime::Result<Vec<f64>> {
    ///     let graph = Graph::new();
    ///     let _g = graph.as_default();
    ///     let s = shape(&constant(scope_runtime::ndarray::Array1::<f32>::zeros(4))?)?;
    ///     let a = random_uniform_with_seed(&s, DType::F32, op_seed)?;
    ///     let b = random_uniform_with_seed(&s, DType::F32, op_seed)?;
    ///     let got = Session::new(&graph).run(&[&a, &b], &[])?;
    ///     assert_eq!(got[0], got[1]); // the same seed, the same stream, whatever the op's place
    ///     Ok(got[0].to_f64_vec())
    /// };
    /// assert_eq!(run(3)?, run(3)?);
    /// assert_ne!(run(3)?, run(4)?);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn random_uniform_with_seed(shape: &Tensor, dtype: DType, seed: u64) -> Tensor |name| {
        uniform(shape, dtype, name, Some(seed))
    };
    /// Standard normal values times `stddev` plus `mean`, of the shape
    /// `shape` holds, as TF `tf.random.normal(shape, mean, stddev, dtype)`:
    /// in a `random_normal` name scope, the constants `mean` and `stddev`, a
    /// `RandomStandardNormal`, `mul` and the `add` named as the scope
    /// (`random_normal`). The values are TensorFlow's, bit for bit, drawn
    /// from the seeds TF's `get_seed` gives (see [`random_uniform`](fn@random_uniform)).
    ///
    /// ```
    /// use scope_runtime::{constant, random_normal, shape, DType, Graph, Session};
    /// let graph = Graph::with_seed(3);
    /// let _g = graph.as_default();
    /// let x = constant(scope_runtime::ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// let r = random_normal(&shape(&x)?, 0.0, 1.0, DType::F32)?;
    /// assert_eq!(r.name(), "random_normal");
    /// let values = Session::new(&graph).run(&[&r], &[])?[0].to_f64_vec();
    /// assert_eq!(values[0] as f32, -1.864718); // TF 2.21 draws -1.864718 here too
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn random_normal(shape: &Tensor, mean: f64, stddev: f64, dtype: DType) -> Tensor |name| {
        normal(OpKind::RandomStandardNormal, shape, mean, stddev, dtype, name.unwrap_or("random_normal"))
    };
    /// Like [`random_normal`](fn@random_normal), with values beyond two
    /// standard deviations drawn again, as TF `tf.random.truncated_normal`:
    /// a `TruncatedNormal` op in a `truncated_normal` name scope.
    ///
    /// ```
    /// use scope_runtime::{constant, shape, truncated_normal, DType, Graph, Session};
    /// let graph = Graph::with_seed(3);
    /// let _g = graph.as_default();
    /// let x = constant(scope_runtime::ndarray::Array1::<f64>::zeros(1000))?;
    /// let r = truncated_normal(&shape(&x)?, 1.0, 0.5, DType::F64)?;
    /// assert_eq!(r.name(), "truncated_normal");
    /// let values = Session::new(&graph).run(&[&r], &[])?[0].to_f64_vec();
    /// assert!(values.iter().all(|v| (v - 1.0).abs() < 1.0));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn truncated_normal(shape: &Tensor, mean: f64, stddev: f64, dtype: DType) -> Tensor |name| {
        normal(OpKind::TruncatedNormal, shape, mean, stddev, dtype, name.unwrap_or("truncated_normal"))
    };
}

/// TF `random_normal` / `truncated_normal`: in name scope `name`, `mean` and
/// `stddev` constants, the random op `kind`, then `rnd * stddev + mean`.
fn normal(kind: OpKind, shape: &Tensor, mean: f64, stddev: f64, dtype: DType, name: &str) -> Result<Tensor> {
    if !dtype.is_floating() {
        return Err(Error::OpDType { op: name.to_owned(), op_type: kind.def().type_name, dtypes: vec![dtype] });
    }
    let scope = name_scope(name).enter()?;
    let mean = named("mean").constant(Value::filled(dtype, &[], mean))?;
    let stddev = named("stddev").constant(Value::filled(dtype, &[], stddev))?;
    let seeds = with_ctx(|ctx| Ok(ctx.graph.write().random_seeds(ctx.graph.graph_seed(), None)))?;
    let random = Random { seeds, dtype, reserved: Arc::new(AtomicU64::new(0)) };
    let rnd = build(kind, None, &[shape], Attr::Random(Box::new(random)))?;
    let mul = named("mul").mul(&rnd, &stddev)?;
    named(scope.name()).add(&mul, &mean)
}

/// A `RandomUniform` in a `random_uniform` name scope, its seeds TF's
/// `get_seed(op_seed)`: the graph's seed and the graph's count of random ops
/// (or `op_seed`).
fn uniform(shape: &Tensor, dtype: DType, name: Option<&str>, op_seed: Option<u64>) -> Result<Tensor> {
    if !dtype.is_floating() {
        return Err(Error::OpDType {
            op: name.unwrap_or("random_uniform").to_owned(),
            op_type: "RandomUniform",
            dtypes: vec![dtype],
        });
    }
    let _scope = name_scope(name.unwrap_or("random_uniform")).enter()?;
    let seeds = with_ctx(|ctx| Ok(ctx.graph.write().random_seeds(ctx.graph.graph_seed(), op_seed)))?;
    let random = Random { seeds, dtype, reserved: Arc::new(AtomicU64::new(0)) };
    build(OpKind::RandomUniform, None, &[shape], Attr::Random(Box::new(random)))
}
