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
    draw(attr, args, philox::uniform_f32, philox::uniform_f64)
}

/// TF `RandomStandardNormal`: standard normal floats of the shape its input
/// holds, TF's values bit for bit, run by run as [`random_uniform_kernel`].
pub(crate) fn random_standard_normal_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    draw(attr, args, philox::normal_f32, philox::normal_f64)
}

/// TF `TruncatedNormal`: standard normal floats within two standard
/// deviations, TF's values bit for bit, run by run as [`random_uniform_kernel`].
pub(crate) fn truncated_normal_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    draw(attr, args, philox::truncated_normal_f32, philox::truncated_normal_f64)
}

/// Draws the next values of a random op's stream, of the shape its input holds.
fn draw(
    attr: &Attr,
    args: Args<'_>,
    f32s: fn(Philox, usize) -> Vec<f32>,
    f64s: fn(Philox, usize) -> Vec<f64>,
) -> KernelResult {
    let Attr::Random(r) = attr else { return Err("a random op needs its seeds") };
    let dims = args.first().ok_or("a random op takes a vector of sizes")?;
    let dims: Vec<usize> = match dims.value() {
        Value::I32(d) if d.ndim() == 1 => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        Value::I64(d) if d.ndim() == 1 => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        _ => None,
    }
    .ok_or("the shape of a random op is a vector of sizes of 0 or more")?;
    let n = super::element_count(&dims)?;
    let mut rng = Philox::new(r.seeds);
    rng.skip(r.reserved.fetch_add((n as u64).wrapping_mul(RESERVED_PER_ELEMENT), Ordering::Relaxed));
    let shape = IxDyn(&dims);
    match r.dtype {
        DType::F32 => Ok(Value::F32(ArrayD::from_shape_vec(shape, f32s(rng, n)).map_err(|_| "a random op's shape")?)),
        DType::F64 => Ok(Value::F64(ArrayD::from_shape_vec(shape, f64s(rng, n)).map_err(|_| "a random op's shape")?)),
        _ => Err("random ops draw float32 or float64 values"),
    }
}
