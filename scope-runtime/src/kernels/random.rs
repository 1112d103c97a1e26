//! Random ops: TensorFlow's Philox draws from an op's seeds.

use crate::base::{DType, Value};
use crate::graph::{Args, Attr, KernelResult};
use crate::variable::philox::{self, Philox, RESERVED_PER_ELEMENT};
use ndarray::{ArrayD, IxDyn};
use std::sync::atomic::Ordering;

/// TF `RandomUniform`: floats uniform on `[0, 1)` of the shape its input
/// holds, TF's values bit for bit. Each run draws the next values of the
/// op's stream: as TF's kernel, a run of `n` values reserves `256 n` Philox
/// blocks, so the `k`-th run of an op gives what TF's `k`-th run gives.
pub(crate) fn random_uniform_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::Random(r) = attr else { return Err("RandomUniform needs its seed") };
    let dims = args.first().ok_or("RandomUniform takes a vector of sizes")?;
    let dims: Vec<usize> = match dims.value() {
        Value::I32(d) if d.ndim() == 1 => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        Value::I64(d) if d.ndim() == 1 => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        _ => None,
    }
    .ok_or("the shape of RandomUniform is a vector of sizes of 0 or more")?;
    let n: usize = dims.iter().product();
    let mut rng = Philox::new(r.seeds);
    rng.skip(r.reserved.fetch_add((n as u64).wrapping_mul(RESERVED_PER_ELEMENT), Ordering::Relaxed));
    let shape = IxDyn(&dims);
    match r.dtype {
        DType::F32 => {
            let values = philox::uniform_f32(rng, n);
            Ok(Value::F32(ArrayD::from_shape_vec(shape, values).map_err(|_| "RandomUniform's shape")?))
        }
        DType::F64 => {
            let values = philox::uniform_f64(rng, n);
            Ok(Value::F64(ArrayD::from_shape_vec(shape, values).map_err(|_| "RandomUniform's shape")?))
        }
        _ => Err("RandomUniform draws float32 or float64 values"),
    }
}
