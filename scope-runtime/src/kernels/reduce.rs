//! Reductions over axes: sum, mean, maximum, product and the index of the maximum.

use super::math::max;
use super::{Inputs, Num, axis_in, count, ints, typed};
use crate::base::Value;
use crate::graph::{Args, Attr, KernelResult};
use ndarray::{ArrayD, ArrayViewD, Axis};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduction {
    Sum,
    Mean,
    Max,
    Prod,
}

/// Sum over the axes of the second input.
pub(crate) fn sum_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    reduction(Reduction::Sum, attr, args)
}

/// Mean over the axes of the second input.
pub(crate) fn mean_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    reduction(Reduction::Mean, attr, args)
}

/// Maximum over the axes of the second input.
pub(crate) fn max_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    reduction(Reduction::Max, attr, args)
}

/// Product over the axes of the second input.
pub(crate) fn prod_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    reduction(Reduction::Prod, attr, args)
}

fn reduction(op: Reduction, attr: &Attr, args: Args<'_>) -> KernelResult {
    let Attr::Reduce { keep_dims, .. } = *attr else { return Err("missing keep_dims") };
    let mut inputs = Inputs::new(args);
    let (x, axes) = (inputs.next()?, inputs.next()?);
    let axes = ints(axes.value()).ok_or("reduction axes are int32 or int64")?;
    typed!(x, [F32, F64, I32, I64], |a| reduce(op, a.view(), &axes, keep_dims))
}

fn reduce<T: Num>(op: Reduction, a: ArrayViewD<'_, T>, axes: &[i64], keep_dims: bool) -> KernelResult<ArrayD<T>> {
    let mut axes: smallvec::SmallVec<[usize; 8]> = axes
        .iter()
        .map(|&x| axis_in(x, a.ndim()))
        .collect::<Option<_>>()
        .ok_or("a reduction axis is out of range for the input's rank")?;
    axes.sort_unstable_by(|x, y| y.cmp(x));
    axes.dedup();
    // Each axis < rank (axis_in); the product of some of a real array's sizes fits.
    let n: usize = axes.iter().map(|&x| a.shape()[x]).product();
    // The first axis reduces the input itself (not a copy); later ones, the result.
    let mut out: Option<ArrayD<T>> = None;
    for &axis in &axes {
        let from = out.as_ref().map_or_else(|| a.view(), |o| o.view());
        out = Some(match op {
            Reduction::Max => {
                if from.shape()[axis] == 0 {
                    return Err("the maximum of no elements is undefined");
                }
                from.map_axis(Axis(axis), |lane| lane.iter().copied().reduce(max).unwrap_or_else(T::zero))
            }
            Reduction::Prod => from.map_axis(Axis(axis), |lane| lane.iter().fold(T::one(), |p, &x| Num::mul(p, x))),
            // Integers wrap on overflow, as TensorFlow's do.
            Reduction::Sum | Reduction::Mean if !T::DTYPE.is_floating() => {
                from.map_axis(Axis(axis), |lane| lane.iter().fold(T::zero(), |s, &x| Num::add(s, x)))
            }
            Reduction::Sum | Reduction::Mean => from.sum_axis(Axis(axis)),
        });
    }
    let mut out = out.unwrap_or_else(|| a.to_owned());
    if op == Reduction::Mean {
        // Floats divide 0 by 0 into NaN, as TensorFlow; integers have no such value.
        if n == 0 && !T::DTYPE.is_floating() {
            return Err("the integer mean of no elements is undefined");
        }
        let n: T = count(n);
        out.mapv_inplace(|x| x / n);
    }
    if keep_dims {
        axes.reverse();
        for axis in axes {
            out.insert_axis_inplace(Axis(axis));
        }
    }
    Ok(out)
}

/// The index of the largest element along an axis (the first of equals), as int32 or int64.
pub(crate) fn arg_max_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::ArgMax { axis, dtype } = *attr else { return Err("missing axis") };
    let x = Inputs::new(args).next()?;
    fn arg_max<T: PartialOrd + Copy>(a: ArrayViewD<'_, T>, axis: usize) -> KernelResult<ArrayD<usize>> {
        if axis >= a.ndim() {
            return Err("the axis is out of range for the input's rank");
        }
        if a.shape()[axis] == 0 {
            return Err("the index of the maximum of no elements is undefined");
        }
        Ok(a.map_axis(Axis(axis), |lane| {
            let mut best = 0;
            for (i, x) in lane.iter().enumerate() {
                if *x > lane[best] {
                    best = i;
                }
            }
            best
        }))
    }
    let idx = match x.value() {
        Value::F32(a) => arg_max(a.view(), axis)?,
        Value::F64(a) => arg_max(a.view(), axis)?,
        Value::I32(a) => arg_max(a.view(), axis)?,
        Value::I64(a) => arg_max(a.view(), axis)?,
        Value::Bool(_) => return Err("ArgMax takes numbers"),
    };
    Ok(match dtype {
        crate::base::DType::I32 => Value::I32(idx.mapv(|i| i as i32)),
        _ => Value::I64(idx.mapv(|i| i as i64)),
    })
}

/// TF `BroadcastGradientArgs`: for two shapes that broadcast together, the
/// axes (of the broadcast shape) each side was stretched along, which its
/// gradient must be summed over. Equal shapes need none; an axis where both
/// are 1 is listed for both, as TensorFlow does.
pub(crate) fn broadcast_gradient_args_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let mut inputs = Inputs::new(args);
    let (a, b) = (inputs.next()?, inputs.next()?);
    let dtype = a.value().dtype();
    let (x, y) = (ints(a.value()).ok_or("shapes are integers")?, ints(b.value()).ok_or("shapes are integers")?);
    let (rx, ry) = broadcast_reduction_axes(&x, &y).ok_or("the shapes do not broadcast together")?;
    let vector = |axes: Vec<i64>| {
        let n = axes.len();
        Value::from_f64_data(dtype, &[n], axes.into_iter().map(|a| a as f64).collect()).map_err(|_| "shape dtype")
    };
    Ok(vec![vector(rx)?, vector(ry)?])
}

/// The reduction axes of [`broadcast_gradient_args_kernel`], `None` when the shapes do not broadcast.
pub(crate) fn broadcast_reduction_axes(x: &[i64], y: &[i64]) -> Option<(Vec<i64>, Vec<i64>)> {
    if x == y {
        return Some((Vec::new(), Vec::new()));
    }
    let rank = x.len().max(y.len());
    let dim = |d: &[i64], axis: usize| if axis < rank - d.len() { 1 } else { d[axis - (rank - d.len())] };
    let (mut rx, mut ry) = (Vec::new(), Vec::new());
    for axis in 0..rank {
        let (a, b) = (dim(x, axis), dim(y, axis));
        if a == 1 {
            rx.push(axis as i64);
        }
        if b == 1 {
            ry.push(axis as i64);
        }
        if a != b && a != 1 && b != 1 {
            return None;
        }
    }
    Some((rx, ry))
}

/// TF `UnsortedSegmentSum`: `out[ids[i], …] += data[i, …]` over the leading
/// axes the ids cover, `out` of `num_segments` rows; negative ids are dropped.
pub(crate) fn unsorted_segment_sum_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (data, ids, num) = (inputs.next()?, inputs.next()?, inputs.next()?);
    let id_shape = ids.value().shape().to_vec();
    let ids = ints(ids.value()).ok_or("segment ids are int32 or int64")?;
    let num = match ints(num.value()).as_deref() {
        Some(&[n]) => usize::try_from(n).map_err(|_| "the number of segments is 0 or more")?,
        _ => return Err("the number of segments is one integer"),
    };
    if !data.value().shape().starts_with(&id_shape) {
        return Err("the segment ids' shape must begin the data's shape");
    }
    fn sum<T: Num>(a: ArrayViewD<'_, T>, ids: &[i64], id_rank: usize, num: usize) -> KernelResult<ArrayD<T>> {
        let inner: Vec<usize> = a.shape()[id_rank..].to_vec();
        let width: usize = inner.iter().product();
        let a = a.as_standard_layout();
        let rows = a.into_shape_with_order((ids.len(), width)).map_err(|_| "layout")?;
        // `num` is an input's value: the output must fit before it is made.
        super::element_count(&[num, width])?;
        let mut out = ndarray::Array2::<T>::zeros((num, width));
        for (row, &id) in rows.outer_iter().zip(ids) {
            let Ok(id) = usize::try_from(id) else { continue };
            if id >= num {
                return Err("a segment id is not below the number of segments");
            }
            out.row_mut(id).zip_mut_with(&row, |t, &r| *t = Num::add(*t, r));
        }
        let shape: Vec<usize> = std::iter::once(num).chain(inner).collect();
        out.into_shape_with_order(ndarray::IxDyn(&shape)).map_err(|_| "layout")
    }
    typed!(data, [F32, F64, I32, I64], |a| sum(a.view(), &ids, id_shape.len(), num))
}

/// The sum over every axis but the last (TF `BiasAddGrad`, NHWC).
pub(crate) fn bias_add_grad_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    fn per_channel<T: Num>(a: ArrayViewD<'_, T>) -> KernelResult<ArrayD<T>> {
        let channels = *a.shape().last().ok_or("BiasAddGrad needs rank 1 or more")?;
        let rows = a.len().checked_div(channels).unwrap_or(0);
        let a = a.as_standard_layout();
        let flat = a.into_shape_with_order((rows, channels)).map_err(|_| "layout")?;
        Ok(flat.sum_axis(Axis(0)).into_dyn())
    }
    typed!(Inputs::new(args).next()?, [F32, F64, I32, I64], |a| per_channel(a.view()))
}

#[cfg(test)]
mod tests {
    use super::broadcast_reduction_axes;

    #[test]
    fn broadcast_reduction_axes_follow_tensorflow() {
        assert_eq!(broadcast_reduction_axes(&[1, 3], &[1, 3]), Some((vec![], vec![])));
        assert_eq!(broadcast_reduction_axes(&[2, 3], &[3]), Some((vec![], vec![0])));
        assert_eq!(broadcast_reduction_axes(&[2, 1], &[1, 3]), Some((vec![1], vec![0])));
        assert_eq!(broadcast_reduction_axes(&[1], &[2, 3]), Some((vec![0, 1], vec![])));
        assert_eq!(broadcast_reduction_axes(&[], &[2, 3]), Some((vec![0, 1], vec![])));
        assert_eq!(broadcast_reduction_axes(&[1, 1], &[1]), Some((vec![0, 1], vec![0, 1])));
        assert_eq!(broadcast_reduction_axes(&[2], &[3]), None);
    }
}
