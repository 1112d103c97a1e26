//! Kernels that move elements rather than compute them: reshapes, joins and
//! splits, slices, gathers, padding, tiling and filled arrays.

use super::{Inputs, Ints, axis_in, element_count, ints, typed};
use crate::base::value::each_array;
use crate::base::{Dim, Element, Value};
use crate::graph::{Arg, Args, Attr, KernelResult, OneHot, StridedSlice};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Slice};

/// Resolves a reshape target (with at most one `-1`) for `count` elements.
pub(crate) fn reshape_target(target: &[i64], count: Option<usize>) -> Result<Vec<Dim>, &'static str> {
    if target.iter().filter(|&&d| d == -1).count() > 1 || target.iter().any(|&d| d < -1) {
        return Err("a reshape target has sizes of 0 or more and at most one -1");
    }
    let known = target
        .iter()
        .filter(|&&d| d >= 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d as usize))
        .ok_or("the reshape target has too many elements")?;
    let dims = target
        .iter()
        .map(|&d| match (d, count) {
            (-1, Some(n)) if known > 0 && n % known == 0 => Ok(Some(n / known)),
            (-1, Some(_)) => Err("the element count is not divisible by the reshape target"),
            (-1, None) => Ok(None),
            (d, _) => Ok(Some(d as usize)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    match (count, dims.iter().copied().collect::<Option<Vec<usize>>>()) {
        (Some(n), Some(d)) if d.iter().product::<usize>() != n => Err("the reshape target has another element count"),
        _ => Ok(dims),
    }
}

/// The same elements in the attribute's shape.
pub(crate) fn reshape_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, shape) = (inputs.next()?, inputs.next()?);
    let target = ints(shape.value()).ok_or("the shape of Reshape is int32 or int64")?;
    fn reshape<T: Clone>(a: ArrayD<T>, target: &[i64]) -> KernelResult<ArrayD<T>> {
        let dims: Vec<usize> =
            reshape_target(target, Some(a.len()))?.into_iter().map(|d| d.unwrap_or_default()).collect();
        let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
        a.into_shape_with_order(IxDyn(&dims)).map_err(|_| "the reshape target has another element count")
    }
    typed!(x, [F32, F64, I32, I64, Bool], |a| reshape(a.into_owned(), &target))
}

/// The axes permuted.
pub(crate) fn transpose_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, perm) = (inputs.next()?, inputs.next()?);
    let perm = ints(perm.value()).ok_or("the permutation is int32 or int64")?;
    fn transpose<T: Clone>(a: ArrayViewD<'_, T>, perm: &[i64]) -> KernelResult<ArrayD<T>> {
        let perm: Vec<usize> = perm.iter().map(|&p| axis_in(p, a.ndim())).collect::<Option<_>>().unwrap_or_default();
        let mut seen = vec![false; a.ndim()];
        if perm.len() != a.ndim() || perm.iter().any(|&p| std::mem::replace(&mut seen[p], true)) {
            return Err("the permutation must list every axis once");
        }
        Ok(a.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned())
    }
    typed!(x, [F32, F64, I32, I64, Bool], |a| transpose(a.view(), &perm))
}

fn join(attr: &Attr, mut args: Args<'_>, stack: bool) -> KernelResult {
    // ConcatV2 takes its axis as its last input; stacks and partitions in their attributes.
    let axis = match *attr {
        Attr::Axis(a) => i64::try_from(a).map_err(|_| "axis")?,
        _ => {
            let axis = args.pop().ok_or("missing axis")?;
            *ints(axis.value()).ok_or("the axis is int32 or int64")?.first().ok_or("missing axis")?
        }
    };
    let values: Vec<&Value> = args.iter().map(Arg::value).collect();
    let rank = values.first().ok_or("nothing to join")?.shape().len() + usize::from(stack);
    let axis = axis_in(axis, rank).ok_or("the axis is out of range for the inputs' rank")?;
    Value::join(&values, axis, stack).ok_or("the inputs' shapes do not fit together")
}

/// Concatenation along the attribute's axis.
pub(crate) fn concat_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    join(attr, args, false)
}

/// Stacking along a new axis.
pub(crate) fn stack_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    join(attr, args, true)
}

/// Slices of the first input along the axis (third input) picked by the integer indices of the second.
pub(crate) fn gather_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (params, indices, axis) = (inputs.next()?, inputs.next()?, inputs.next()?);
    let axis = match ints(axis.value()).as_deref() {
        Some(&[a]) => a,
        _ => return Err("the axis of a gather is one integer"),
    };
    let rank = params.value().shape().len();
    let axis = axis_in(axis, rank).ok_or("the gather axis is out of range for the params")?;
    typed!(params, [F32, F64, I32, I64, Bool], |a| gather(a.view(), indices.value(), axis))
}

fn gather<T: Clone>(params: ArrayViewD<'_, T>, indices: &Value, axis: usize) -> KernelResult<ArrayD<T>> {
    // `axis` < rank (axis_in); each index is checked below `size` before `select` takes it.
    let size = params.shape()[axis];
    let ids = indices_of(indices, size).ok_or("a gather index is outside the params' dimension")?;
    let picked = params.select(Axis(axis), &ids);
    let p = params.shape();
    let shape: Vec<usize> = p[..axis].iter().chain(indices.shape()).chain(&p[axis + 1..]).copied().collect();
    let picked = picked.as_standard_layout().into_owned();
    picked.into_shape_with_order(IxDyn(&shape)).map_err(|_| "gather output shape")
}

/// Integer indices below `bound`; `None` when one is negative or too large, or the dtype is not an integer.
fn indices_of(indices: &Value, bound: usize) -> Option<Vec<usize>> {
    let ok = |x: i64| usize::try_from(x).ok().filter(|&x| x < bound);
    match indices {
        Value::I32(i) => i.iter().map(|&x| ok(x.into())).collect(),
        Value::I64(i) => i.iter().map(|&x| ok(x)).collect(),
        _ => None,
    }
}

/// Cuts `value` along `axis` into parts of `sizes`.
fn cut(value: &Value, axis: usize, sizes: &[usize]) -> KernelResult<Vec<Value>> {
    // The sizes come from `split_sizes` (or `dim / num`), which add up to `dim` without overflow.
    if axis >= value.shape().len() || sizes.iter().sum::<usize>() != value.shape()[axis] {
        return Err("the split sizes must add up to the dimension split");
    }
    let mut offset = vec![0; value.shape().len()];
    let mut parts = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let mut shape = value.shape().to_vec();
        shape[axis] = size;
        parts.push(value.slice(&offset, &shape));
        offset[axis] += size;
    }
    Ok(parts)
}

/// The axis a split's scalar operand names, for `value`'s rank.
fn split_axis(axis: &Arg<'_>, value: &Value) -> KernelResult<usize> {
    match ints(axis.value()).as_deref() {
        Some(&[a]) => axis_in(a, value.shape().len()).ok_or("the split axis is out of range"),
        _ => Err("the split axis is one integer"),
    }
}

/// `num` equal parts along the axis of the first input (TF `Split`).
pub(crate) fn split_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let Attr::Split { num, .. } = *attr else { return Err("missing split attributes") };
    let mut inputs = Inputs::new(args);
    let (axis, x) = (inputs.next()?, inputs.next()?);
    let axis = split_axis(&axis, x.value())?;
    let dim = x.value().shape()[axis]; // `axis` < rank: split_axis
    if num == 0 || dim % num != 0 {
        return Err("the dimension split is not divisible by the number of parts");
    }
    cut(x.value(), axis, &vec![dim / num; num])
}

/// Parts of the sizes of the second input, one of which may be `-1` for the
/// rest, along the axis of the third (TF `SplitV`).
pub(crate) fn split_v_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let mut inputs = Inputs::new(args);
    let (x, sizes, axis) = (inputs.next()?, inputs.next()?, inputs.next()?);
    let axis = split_axis(&axis, x.value())?;
    let sizes = ints(sizes.value()).ok_or("split sizes are int32 or int64")?;
    let dim = x.value().shape()[axis]; // `axis` < rank: split_axis
    let sizes = split_sizes(&sizes, Some(dim))?.into_iter().map(|s| s.unwrap_or_default()).collect::<Vec<_>>();
    cut(x.value(), axis, &sizes)
}

/// Resolves split sizes with at most one `-1` against the dimension split.
pub(crate) fn split_sizes(sizes: &[i64], dim: Dim) -> Result<Vec<Dim>, &'static str> {
    if sizes.iter().filter(|&&s| s == -1).count() > 1 || sizes.iter().any(|&s| s < -1) {
        return Err("split sizes are 0 or more, with at most one -1");
    }
    let known = sizes
        .iter()
        .filter(|&&s| s >= 0)
        .try_fold(0usize, |n, &s| usize::try_from(s).ok().and_then(|s| n.checked_add(s)))
        .ok_or("the split sizes add up to more than a dimension can hold")?;
    match dim {
        Some(d) if known > d || (known != d && !sizes.contains(&-1)) => {
            Err("the split sizes must add up to the dimension split")
        }
        _ => Ok(sizes.iter().map(|&s| if s == -1 { dim.map(|d| d - known) } else { Some(s as usize) }).collect()),
    }
}

/// The slices along an axis, that axis removed (TF `Unpack`).
pub(crate) fn unstack_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let Attr::Unstack { axis, num } = *attr else { return Err("missing unstack attributes") };
    let x = Inputs::new(args).next()?;
    let x = x.value();
    if x.shape().get(axis) != Some(&num) {
        return Err("the dimension unstacked must have as many elements as there are outputs");
    }
    Ok((0..num).map(|i| each_array!(x, |a| Element::wrap(a.index_axis(Axis(axis), i).to_owned()))).collect())
}

/// `size` elements from `begin` per axis; a size of `-1` takes the rest (TF `Slice`).
pub(crate) fn slice_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, begin, size) = (inputs.next()?, inputs.next()?, inputs.next()?);
    let begin: Vec<usize> = ints(begin.value())
        .ok_or("begin is int32 or int64")?
        .into_iter()
        .map(|b| usize::try_from(b).ok())
        .collect::<Option<_>>()
        .ok_or("the slice must lie within the input")?;
    let size = ints(size.value()).ok_or("size is int32 or int64")?;
    let dims = x.value().shape();
    let sizes = slice_sizes(&begin, &size, &dims.iter().map(|&d| Some(d)).collect::<Vec<_>>())?;
    let sizes: Vec<usize> = sizes.into_iter().map(|s| s.unwrap_or_default()).collect();
    Ok(x.value().slice(&begin, &sizes))
}

/// The extent of a `Slice` per axis, checked against the dimensions known.
pub(crate) fn slice_sizes(begin: &[usize], size: &[i64], dims: &[Dim]) -> Result<Vec<Dim>, &'static str> {
    if begin.len() != dims.len() || size.len() != dims.len() {
        return Err("begin and size have one entry per axis of the input");
    }
    begin
        .iter()
        .zip(size)
        .zip(dims)
        .map(|((&b, &s), &d)| match (s, d) {
            (-1, Some(d)) if b <= d => Ok(Some(d - b)),
            (-1, None) => Ok(None),
            (s, Some(d)) if s >= 0 && b.checked_add(s as usize).is_some_and(|e| e <= d) => Ok(Some(s as usize)),
            (s, None) if s >= 0 => Ok(Some(s as usize)),
            _ => Err("the slice must lie within the input"),
        })
        .collect()
}

/// One axis of a strided slice: the indices taken, or the one index of a shrunk axis.
pub(crate) enum Stride {
    Range { start: i64, step: i64, len: usize },
    Index(usize),
}

/// TF `strided_slice` on one axis of size `d`.
pub(crate) fn stride_axis(spec: &StridedSlice, i: usize, d: usize) -> Result<Stride, &'static str> {
    let bit = |mask: u64| i < 64 && mask >> i & 1 == 1;
    let s = spec.stride(i);
    if s == 0 {
        return Err("strides must not be 0");
    }
    let d = i64::try_from(d).map_err(|_| "dimension too large")?;
    let resolve = |x: i64| if x < 0 { x + d } else { x };
    if bit(spec.shrink_axis_mask) {
        let idx = resolve(spec.begin[i]);
        return if (0..d).contains(&idx) { Ok(Stride::Index(idx as usize)) } else { Err("slice index out of bounds") };
    }
    let (lo, hi) = if s > 0 { (0, d) } else { (-1, d - 1) };
    let b = if bit(spec.begin_mask) { if s > 0 { 0 } else { d - 1 } } else { resolve(spec.begin[i]).clamp(lo, hi) };
    let e = if bit(spec.end_mask) { if s > 0 { d } else { -1 } } else { resolve(spec.end[i]).clamp(lo, hi) };
    let span = if s > 0 { e - b } else { b - e };
    // `span` lies in [-d - 1, d + 1], so it converts; the step may be as large as i64 allows.
    let len = u64::try_from(span).map_or(0, |span| span.div_ceil(s.unsigned_abs()));
    Ok(Stride::Range { start: b, step: s, len: len as usize })
}

/// TF `StridedSlice`: the input sliced by its begin, end and strides
/// inputs, with the attribute's begin, end and shrink-axis masks.
pub(crate) fn strided_slice_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::StridedSlice(masks) = attr else { return Err("missing strided slice attributes") };
    let mut inputs = Inputs::new(args);
    let x = inputs.next()?;
    let mut int_input = || -> KernelResult<Vec<i64>> {
        ints(inputs.next()?.value()).map(Ints::into_vec).ok_or("int32 or int64 operands")
    };
    let (begin, end, strides) = (int_input()?, int_input()?, int_input()?);
    if end.len() != begin.len() || strides.len() != begin.len() {
        return Err("begin, end and strides have one entry per sliced axis");
    }
    let spec = &StridedSlice { begin, end, strides: Some(strides), ..StridedSlice::clone(masks) };
    let x = x.value();
    if spec.begin.len() > x.shape().len() {
        return Err("more sliced axes than the input has");
    }
    // `i` < begin.len() <= rank (checked above), and begin, end and strides have one length.
    let axes: Vec<Stride> =
        (0..spec.begin.len()).map(|i| stride_axis(spec, i, x.shape()[i])).collect::<Result<_, _>>()?;
    Ok(each_array!(x, |a| {
        let view = strided(a.view(), &axes);
        Element::wrap(view.to_owned())
    }))
}

/// TF `StridedSliceGrad`: zeros of the shape (first input) with the
/// gradient (last input) placed where the strided slice took its elements.
pub(crate) fn strided_slice_grad_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::StridedSlice(masks) = attr else { return Err("missing strided slice attributes") };
    let mut inputs = Inputs::new(args);
    let mut int_input = || -> KernelResult<Vec<i64>> {
        ints(inputs.next()?.value()).map(Ints::into_vec).ok_or("int32 or int64 operands")
    };
    let (shape, begin, end, strides) = (int_input()?, int_input()?, int_input()?, int_input()?);
    let g = inputs.next()?;
    let shape: Vec<usize> =
        shape.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>().ok_or("a negative dimension")?;
    element_count(&shape)?;
    if end.len() != begin.len() || strides.len() != begin.len() {
        return Err("begin, end and strides have one entry per sliced axis");
    }
    let spec = StridedSlice { begin, end, strides: Some(strides), ..StridedSlice::clone(masks) };
    // `stride_axis(…, i, shape[i])` below: `i` < begin.len() <= shape.len(), and begin, end and strides have one length.
    if spec.begin.len() > shape.len() {
        return Err("more sliced axes than the shape has");
    }
    let axes: Vec<Stride> = (0..spec.begin.len()).map(|i| stride_axis(&spec, i, shape[i])).collect::<Result<_, _>>()?;
    let g = g.value();
    let zeros = Value::filled(g.dtype(), &shape, 0.0);
    Ok(each_array!(g, |a| {
        let mut out = Element::unwrap_ref(&zeros).ok_or("the gradient's dtype")?.clone();
        let mut view = strided(out.view_mut(), &axes);
        if view.shape() != a.shape() {
            return Err("the gradient does not have the strided slice's shape");
        }
        view.assign(a);
        Element::wrap(out)
    }))
}

/// The ndarray slice of one strided-slice axis (the whole axis for a shrunk one, collapsed later).
/// The elements a strided slice takes, as a view of `view`: each axis
/// sliced, the axes taken at one index removed.
fn strided<S: ndarray::RawData>(
    mut view: ndarray::ArrayBase<S, IxDyn>,
    axes: &[Stride],
) -> ndarray::ArrayBase<S, IxDyn> {
    for (i, axis) in axes.iter().enumerate() {
        view.slice_axis_inplace(Axis(i), axis_slice(axis));
    }
    for (i, axis) in axes.iter().enumerate().rev() {
        if let Stride::Index(idx) = *axis {
            view.collapse_axis(Axis(i), idx);
            view = view.remove_axis(Axis(i));
        }
    }
    view
}

fn axis_slice(axis: &Stride) -> Slice {
    match *axis {
        Stride::Index(_) => Slice::from(..),
        Stride::Range { len: 0, .. } => Slice::new(0, Some(0), 1),
        Stride::Range { start, step, len } if step > 0 => {
            Slice::new(start as isize, Some((start + step * (len as i64 - 1) + 1) as isize), step as isize)
        }
        Stride::Range { start, step, len } => {
            // ndarray walks a negative step backwards from the end of [start, end).
            let last = start + step * (len as i64 - 1);
            Slice::new(last as isize, Some((start + 1) as isize), step as isize)
        }
    }
}

/// TF `ConcatOffset`: where each shape (inputs after the axis) starts along the axis.
pub(crate) fn concat_offset_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let mut inputs = Inputs::new(args);
    let axis = *ints(inputs.next()?.value()).ok_or("the axis is int32 or int64")?.first().ok_or("missing axis")?;
    let shapes: Vec<Value> = std::iter::from_fn(|| inputs.next().ok().map(Arg::into_value)).collect();
    let first = ints(shapes.first().ok_or("no shapes")?).ok_or("shapes are int32 or int64")?;
    let axis = axis_in(axis, first.len()).ok_or("the axis is out of range for the shapes' rank")?;
    let mut at = 0i64;
    shapes
        .iter()
        .map(|s| {
            let dims = ints(s).filter(|d| d.len() == first.len()).ok_or("shapes of one rank")?;
            let mut offset = vec![0.0; dims.len()];
            // `axis` < rank, and every shape has the first's rank (filtered above).
            offset[axis] = at as f64;
            at = at.checked_add(dims[axis]).ok_or("the shapes' sizes along the axis overflow")?;
            Value::from_f64_data(s.dtype(), &[dims.len()], offset).map_err(|_| "offset")
        })
        .collect()
}

/// TF `ShapeN`: each input's shape as an int32 vector.
pub(crate) fn shape_n_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    args.iter()
        .map(|a| {
            let dims: Vec<i32> = a
                .value()
                .shape()
                .iter()
                .map(|&d| i32::try_from(d))
                .collect::<Result<_, _>>()
                .map_err(|_| "a dimension too large for int32")?;
            Ok(Value::from(dims))
        })
        .collect()
}

/// The input's shape as a vector of int32 or int64.
pub(crate) fn shape_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::DType(dtype) = *attr else { return Err("missing dtype") };
    let dims: Vec<f64> = Inputs::new(args).next()?.value().shape().iter().map(|&d| d as f64).collect();
    Value::from_f64_data(dtype, &[dims.len()], dims).map_err(|_| "shape")
}

/// The scalar second input repeated into the shape the first input lists.
pub(crate) fn fill_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (dims, x) = (inputs.next()?, inputs.next()?);
    let dims: Vec<usize> = match dims.value() {
        Value::I32(d) => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        Value::I64(d) => d.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>(),
        _ => None,
    }
    .filter(|_| dims.value().shape().len() == 1)
    .ok_or("the dims of Fill are a vector of sizes of 0 or more")?;
    let x = x.value();
    if !x.shape().is_empty() {
        return Err("the value filled in must be a scalar");
    }
    element_count(&dims)?;
    // `a[[]]`: the value is a scalar (checked above).
    Ok(each_array!(x, |a| Element::wrap(ArrayD::from_elem(IxDyn(&dims), a[[]]))))
}

/// TF `ListDiff(x, y)`: the elements of the vector `x` not in `y`, in order,
/// and their positions in `x` (int32).
pub(crate) fn list_diff_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let mut inputs = Inputs::new(args);
    let (x, y) = (inputs.next()?, inputs.next()?);
    let dtype = x.value().dtype();
    let (xs, ys) =
        (ints(x.value()).ok_or("ListDiff takes integers")?, ints(y.value()).ok_or("ListDiff takes integers")?);
    let kept: Vec<(usize, i64)> = xs.iter().copied().enumerate().filter(|(_, v)| !ys.contains(v)).collect();
    let out = Value::from_f64_data(dtype, &[kept.len()], kept.iter().map(|&(_, v)| v as f64).collect());
    let idx =
        Value::from_f64_data(crate::base::DType::I32, &[kept.len()], kept.iter().map(|&(i, _)| i as f64).collect());
    Ok(vec![out.map_err(|_| "ListDiff takes integers")?, idx.map_err(|_| "ListDiff takes integers")?])
}

/// TF `BroadcastTo`: the input broadcast (numpy's rules) to the shape its second input holds.
pub(crate) fn broadcast_to_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, dims) = (inputs.next()?, inputs.next()?);
    let dims: Vec<usize> = ints(dims.value())
        .ok_or("the shape of BroadcastTo is int32 or int64")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| "a shape holds no negative size"))
        .collect::<KernelResult<_>>()?;
    element_count(&dims)?;
    let x = x.value();
    each_array!(x, |a| a
        .broadcast(IxDyn(&dims))
        .map(|b| Element::wrap(b.to_owned()))
        .ok_or("the input does not broadcast to the shape"))
}

/// TF `DynamicStitch`: `merged[indices[m][i], …] = data[m][i, …]`, the
/// `indices` the first half of the inputs and the `data` the second; a later
/// index wins.
pub(crate) fn dynamic_stitch_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let n = args.len() / 2;
    if n == 0 || args.len() != 2 * n {
        return Err("DynamicStitch takes as many data as index tensors");
    }
    let values: Vec<&Value> = args.iter().map(Arg::value).collect();
    let (indices, data) = values.split_at(n);
    let indices: Vec<Ints> =
        indices.iter().map(|v| ints(v).ok_or("indices are int32 or int64")).collect::<KernelResult<Vec<Ints>>>()?;
    let len = indices.iter().flatten().try_fold(0usize, |m, &i| usize::try_from(i).map(|i| m.max(i + 1)));
    let len = len.map_err(|_| "an index is negative")?;
    let inner: Vec<usize> = {
        let (first, ids) = (data[0].shape(), values[0].shape().len());
        first.get(ids..).ok_or("the data's shape must begin with its indices' shape")?.to_vec()
    };
    let width: usize = inner.iter().product();
    let dtype = data[0].dtype();
    // `len` comes from the indices' values: the output must fit before it is made.
    let mut merged = vec![0.0f64; element_count(&[len, width])?];
    for (ids, d) in indices.iter().zip(data) {
        if d.dtype() != dtype || d.len() != ids.len() * width {
            return Err("each data tensor has its indices' shape then the same inner shape");
        }
        let flat = d.to_f64_vec();
        for (k, &i) in ids.iter().enumerate() {
            // 0 <= i < len (a negative index was refused above); k < ids.len(), d.len() = ids.len() * width.
            let i = i as usize;
            merged[i * width..(i + 1) * width].copy_from_slice(&flat[k * width..(k + 1) * width]);
        }
    }
    let shape: Vec<usize> = std::iter::once(len).chain(inner).collect();
    Value::from_f64_data(dtype, &shape, merged).map_err(|_| "DynamicStitch takes numbers")
}

/// Zeros of the input's shape and dtype.
pub(crate) fn zeros_like_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let x = Inputs::new(args).next()?;
    Ok(Value::filled(x.value().dtype(), x.value().shape(), 0.0))
}

/// `on` where the new axis equals the index, `off` elsewhere (an index out of range is all `off`).
pub(crate) fn one_hot_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::OneHot(OneHot { depth, on, off, axis, dtype }) = *attr else { return Err("missing one_hot attributes") };
    let x = Inputs::new(args).next()?;
    let indices: Vec<i64> = match x.value() {
        Value::I32(a) => a.iter().map(|&i| i.into()).collect(),
        Value::I64(a) => a.iter().copied().collect(),
        _ => return Err("one_hot indices are int32 or int64"),
    };
    let shape = x.value().shape();
    let axis = axis.unwrap_or(shape.len());
    if axis > shape.len() {
        return Err("the one_hot axis is beyond the output's rank");
    }
    let mut out_shape = shape.to_vec();
    out_shape.insert(axis, depth);
    let inner: usize = shape[axis..].iter().product();
    let data: Vec<f64> = (0..element_count(&out_shape)?)
        .map(|flat| {
            let (outer, rest) = (flat / (depth * inner), flat % (depth * inner));
            let (k, i) = (rest / inner, rest % inner);
            // outer < the indices' outer size and i < inner: `outer * inner + i` < indices.len().
            if indices[outer * inner + i] == k as i64 { on } else { off }
        })
        .collect();
    Value::from_f64_data(dtype, &out_shape, data).map_err(|_| "one_hot")
}

/// A value around the input, per axis before and after.
pub(crate) fn pad_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, paddings) = (inputs.next()?, inputs.next()?);
    let x = x.value();
    let pads = ints(paddings.value()).ok_or("paddings are int32 or int64")?;
    // Pad pads with zeros; PadV2 with its third input.
    let filled = match inputs.next() {
        Ok(value) if value.value().shape().is_empty() => value.into_value(),
        Ok(_) => return Err("the value padded with is a scalar"),
        Err(_) => Value::filled(x.dtype(), &[], 0.0),
    };
    if pads.len() != 2 * x.shape().len() || pads.iter().any(|&p| p < 0) {
        return Err("paddings have one pair of sizes per axis of the input");
    }
    // Two pads per axis, none negative (checked above).
    let pad = |i: usize| (pads[2 * i] as usize, pads[2 * i + 1] as usize);
    let shape: Vec<usize> = x
        .shape()
        .iter()
        .enumerate()
        .map(|(i, &d)| d.checked_add(pad(i).0).and_then(|d| d.checked_add(pad(i).1)))
        .collect::<Option<_>>()
        .ok_or("the padded shape is too large")?;
    element_count(&shape)?;
    Ok(each_array!(x, |a| {
        let fill = Element::unwrap_ref(&filled).ok_or("the value padded with has another dtype")?[[]];
        let mut out = ArrayD::from_elem(IxDyn(&shape), fill);
        let mut view = out.view_mut();
        for (i, &d) in a.shape().iter().enumerate() {
            view.slice_axis_inplace(Axis(i), Slice::from(pad(i).0..pad(i).0 + d));
        }
        view.assign(a);
        Element::wrap(out)
    }))
}

/// The input repeated along each axis.
pub(crate) fn tile_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, multiples) = (inputs.next()?, inputs.next()?);
    let x = x.value();
    let multiples: Vec<usize> = ints(multiples.value())
        .ok_or("multiples are int32 or int64")?
        .into_iter()
        .map(|m| usize::try_from(m).ok())
        .collect::<Option<_>>()
        .ok_or("multiples are 0 or more")?;
    if multiples.len() != x.shape().len() {
        return Err("multiples have one entry per axis of the input");
    }
    let tiled: Vec<usize> = x
        .shape()
        .iter()
        .zip(&multiples)
        .map(|(d, m)| d.checked_mul(*m))
        .collect::<Option<_>>()
        .ok_or("the tiled shape is too large")?;
    if element_count(&tiled)? == 0 {
        // Nothing to copy, however large a multiple (a list of that many copies would not fit).
        return Ok(Value::filled(x.dtype(), &tiled, 0.0));
    }
    // One pass: the input seen as [1, d0, 1, d1, …], broadcast to
    // [m0, d0, m1, d1, …] and copied, is the output in row-major order.
    let ones: Vec<usize> = x.shape().iter().flat_map(|&d| [1, d]).collect();
    let spread: Vec<usize> = x.shape().iter().zip(&multiples).flat_map(|(&d, &m)| [m, d]).collect();
    each_array!(x, |a| {
        let a = a.as_standard_layout();
        let a = a.view().into_shape_with_order(IxDyn(&ones)).map_err(|_| "tile")?;
        let copies = a.broadcast(IxDyn(&spread)).ok_or("tile")?.to_owned();
        copies.into_shape_with_order(IxDyn(&tiled)).map(Element::wrap).map_err(|_| "tile")
    })
}

/// The input's rank, as an int32 scalar.
pub(crate) fn rank_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let rank = Inputs::new(args).next()?.value().shape().len();
    Ok(Value::from(i32::try_from(rank).map_err(|_| "rank")?))
}

/// How many numbers `range(start, limit, delta)` has; `None` when it is too many to hold.
pub(crate) fn range_len(start: i64, limit: i64, delta: i64) -> Option<usize> {
    let (span, delta) = (i128::from(limit) - i128::from(start), i128::from(delta));
    if delta == 0 || span * delta.signum() <= 0 {
        return Some(0);
    }
    usize::try_from((span.abs() + delta.abs() - 1) / delta.abs()).ok()
}

/// `start, start + delta, …` up to `limit` (excluded), in the inputs' integer dtype.
pub(crate) fn range_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let scalar = |a: KernelResult<Arg<'_>>| -> KernelResult<(i64, crate::base::DType)> {
        let a = a?;
        let v = a.value();
        Ok((*ints(v).ok_or("range takes integers")?.first().ok_or("range takes scalars")?, v.dtype()))
    };
    let ((start, dtype), (limit, _), (delta, _)) =
        (scalar(inputs.next())?, scalar(inputs.next())?, scalar(inputs.next())?);
    if delta == 0 {
        return Err("the step of range must not be 0");
    }
    let n = range_len(start, limit, delta).ok_or("the range is too long")?;
    element_count(&[n])?;
    // Each number lies between start and limit; only `i * delta` may pass
    // i64's range on the way (range(i64::MIN, i64::MAX, 2^62)), and wrapping gives the right sum.
    let data: Vec<f64> = (0..n as i64).map(|i| start.wrapping_add(i.wrapping_mul(delta)) as f64).collect();
    Value::from_f64_data(dtype, &[n], data).map_err(|_| "range")
}

/// Where `ExpandDims` inserts its axis: `dim` in `[-rank - 1, rank]`, counted from the end when negative.
pub(crate) fn expand_axis(dim: i64, rank: usize) -> Option<usize> {
    let rank = rank as i64 + 1;
    let axis = if dim < 0 { dim + rank } else { dim };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// The input with an axis of size 1 inserted at the scalar second input (TF `ExpandDims`).
pub(crate) fn expand_dims_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, dim) = (inputs.next()?, inputs.next()?);
    let dim = match ints(dim.value()).as_deref() {
        Some(&[d]) => d,
        _ => return Err("the axis of ExpandDims is one int32 or int64"),
    };
    fn expand<T: Clone>(mut a: ArrayD<T>, dim: i64) -> KernelResult<ArrayD<T>> {
        let axis = expand_axis(dim, a.ndim()).ok_or("the axis of ExpandDims is out of range")?;
        a.insert_axis_inplace(Axis(axis));
        Ok(a)
    }
    typed!(x, [F32, F64, I32, I64, Bool], |a| expand(a.into_owned(), dim))
}

/// TF `Squeeze`: the listed axes, each of size 1, removed.
pub(crate) fn squeeze_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::Squeeze(axes) = attr else { return Err("Squeeze needs its axes") };
    let x = Inputs::new(args).next()?;
    let shape = x.value().shape().to_vec();
    if axes.iter().any(|&a| shape.get(a) != Some(&1)) {
        return Err("Squeeze removes only axes of size 1");
    }
    let dims: Vec<usize> = shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
    fn squeeze<T: Clone>(a: ArrayD<T>, dims: &[usize]) -> KernelResult<ArrayD<T>> {
        let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
        a.into_shape_with_order(IxDyn(dims)).map_err(|_| "Squeeze keeps the element count")
    }
    typed!(x, [F32, F64, I32, I64, Bool], |a| squeeze(a.into_owned(), &dims))
}

/// The permutation that undoes the input's (TF `InvertPermutation`): `out[p[i]] = i`.
pub(crate) fn invert_permutation_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let p = Inputs::new(args).next()?;
    let perm = ints(p.value()).ok_or("a permutation is int32 or int64")?;
    let mut inverse = vec![-1i64; perm.len()];
    for (i, &target) in perm.iter().enumerate() {
        let slot = usize::try_from(target).ok().and_then(|t| inverse.get_mut(t)).ok_or("not a permutation")?;
        if *slot != -1 {
            return Err("not a permutation: a value repeats");
        }
        *slot = i as i64;
    }
    Ok(match p.value() {
        Value::I32(_) => Value::from(inverse.into_iter().map(|i| i as i32).collect::<Vec<_>>()),
        _ => Value::from(inverse),
    })
}
