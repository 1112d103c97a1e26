//! Random ops: values drawn from an op's own seeded stream.

use crate::base::{DType, Value};
use crate::graph::{Args, Attr, KernelResult};
use crate::variable::init::Rng;
use ndarray::{ArrayD, IxDyn};
use std::sync::atomic::Ordering;

/// TF `RandomUniform`: floats uniform on `[0, 1)` of the shape its input
/// holds. Each run draws the next values of the op's stream: run `k` of an
/// op seeded `s` draws from `Rng::new(s + k)` mixed, so a graph built again
/// with the same seed draws the same values run by run.
pub(crate) fn random_uniform_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::Random(r) = attr else { return Err("RandomUniform needs its seed") };
    let dims = args.first().ok_or("RandomUniform takes a vector of sizes")?;
    let dims: Vec<usize> = match dims.value() {
        Value::I32(d) if d.ndim() == 1 => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        Value::I64(d) if d.ndim() == 1 => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        _ => None,
    }
    .ok_or("the shape of RandomUniform is a vector of sizes of 0 or more")?;
    let draw = r.draws.fetch_add(1, Ordering::Relaxed);
    let mut rng = Rng::new(r.seed ^ draw.wrapping_mul(0xd605_bbb5_8c8a_bbd7).rotate_left(17));
    let n: usize = dims.iter().product();
    let shape = IxDyn(&dims);
    match r.dtype {
        DType::F32 => {
            let values: Vec<f32> =
                (0..n).map(|_| rng.uniform() as f32).map(|u| if u >= 1.0 { 0.0 } else { u }).collect();
            Ok(Value::F32(ArrayD::from_shape_vec(shape, values).map_err(|_| "RandomUniform's shape")?))
        }
        DType::F64 => {
            let values: Vec<f64> = (0..n).map(|_| rng.uniform()).collect();
            Ok(Value::F64(ArrayD::from_shape_vec(shape, values).map_err(|_| "RandomUniform's shape")?))
        }
        _ => Err("RandomUniform draws float32 or float64 values"),
    }
}
