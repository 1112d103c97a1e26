//! Gradient functions of the ops that join, cut and slice (TF's
//! `array_grad.py`), node for node, so the gradient graph has TensorFlow's
//! names. Each runs inside `<op>_grad/`.
//!
//! Indexing here: `op.inputs[i]` and `op.outputs[i]` for `i` below the
//! op's arity and output count, which the graph checked when it built the
//! node (`Graph::add_node`), and `grad[i]` for an output (the driver passes
//! one gradient per output, zeros where none flowed).

use super::indexed::stand_in;
use super::{
    IndexedSlices, OpKind, build, build_op, expand_dims, int_const, named, python_slice, reshape, reshape_to,
    scoped_op, shape_as, transpose, zeros_like,
};
use crate::base::{DType, Error, Result, Shape, Tensor};
use crate::graph::{Attr, GradOp, StridedSlice};
use crate::kernels::ints;

type Grads = Result<Vec<Option<Tensor>>>;

/// `Error::NoGradient` for `op`, saying why.
fn no_gradient(op: &GradOp<'_>, reason: &'static str) -> Error {
    Error::NoGradient { op: op.name.to_owned(), op_type: op.type_name, reason }
}

/// TF `array_ops.rank`: a constant `Rank` when the static rank is known, else a `Rank` op.
fn rank(x: &Tensor) -> Result<Tensor> {
    match x.shape.rank() {
        Some(r) => named("Rank").constant(i32::try_from(r).unwrap_or(i32::MAX)),
        None => build(OpKind::Rank, None, &[x], Attr::None),
    }
}

/// TF `_PackGrad`: the gradient unstacked along the stacking axis.
pub(super) fn stack(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let Attr::Axis(axis) = *op.attr else { return Err(no_gradient(op, "a stack without its axis")) };
    let attr = Attr::Unstack { axis, num: op.inputs.len() };
    Ok(build_op(OpKind::Unstack, None, &[&grad[0]], &[], attr)?.outputs.into_iter().map(Some).collect())
}

/// TF `_UnpackGrad`: the outputs' gradients stacked along the axis.
pub(super) fn unstack(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let Attr::Unstack { axis, .. } = *op.attr else { return Err(no_gradient(op, "an unstack without its axis")) };
    Ok(vec![Some(build(OpKind::Stack, None, &grad.iter().collect::<Vec<_>>(), Attr::Axis(axis))?)])
}

/// The outputs' gradients concatenated along `axis` (an input of the forward op).
fn concat_along(grad: &[Tensor], axis: &Tensor) -> Result<Tensor> {
    let inputs: Vec<&Tensor> = grad.iter().chain([axis]).collect();
    build(OpKind::Concat, None, &inputs, Attr::None)
}

/// TF `_SplitGrad`: the gradients concatenated along `split_dim` (the first input).
pub(super) fn split(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![None, Some(concat_along(grad, &op.inputs[0])?)])
}

/// TF `_SplitVGrad`: the gradients concatenated along `split_dim` (the third input).
pub(super) fn split_v(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(concat_along(grad, &op.inputs[2])?), None, None])
}

/// TF `_ConcatGradV2` (its helper's dense path): the gradient cut into the
/// inputs' shapes at `ConcatOffset`s along the axis taken modulo the rank.
pub(super) fn concat(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (axis, values) = op.inputs.split_last().ok_or_else(|| no_gradient(op, "a concat without inputs"))?;
    if values.len() > 16 {
        // TF takes another path (a SplitV of the sizes) beyond 16 inputs.
        return Err(no_gradient(op, "scopeflow's concat gradient takes 16 inputs at most"));
    }
    let axis = named("mod").floor_mod(axis, &rank(&values[0])?)?;
    // TF `_ExtractInputShapes`: constant shapes while they are known, else one `ShapeN`.
    let mut sizes = Vec::with_capacity(values.len());
    for x in values {
        let s = shape_as(x, DType::I32)?;
        if x.shape.to_vec().is_none() {
            sizes =
                build_op(OpKind::ShapeN, None, &values.iter().collect::<Vec<_>>(), &[], Attr::None)?.outputs.into_vec();
            break;
        }
        sizes.push(s);
    }
    let offset_inputs: Vec<&Tensor> = [&axis].into_iter().chain(&sizes).collect();
    let offsets = build_op(OpKind::ConcatOffset, None, &offset_inputs, &[], Attr::None)?.outputs;
    let mut grads = Vec::with_capacity(op.inputs.len());
    for (begin, size) in offsets.iter().zip(&sizes) {
        grads.push(Some(build(OpKind::Slice, None, &[&grad[0], begin, size], Attr::None)?));
    }
    grads.push(None);
    Ok(grads)
}

/// TF `_SliceGrad`: the gradient padded with zeros before (`begin`) and
/// after (`shape(x) - shape(out) - begin`) along each axis.
pub(super) fn slice(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, begin) = (&op.inputs[0], &op.inputs[1]);
    let input_rank = rank(x)?;
    let slice_size = shape_as(&op.outputs[0], begin.dtype)?;
    let pair = scoped_op(None, "stack", |name| {
        build(OpKind::Stack, Some(name), &[&input_rank, &named("1").constant(1i32)?], Attr::Axis(0))
    })?;
    let before = reshape_to(begin, &pair)?;
    let after = reshape_to(&((&shape_as(x, begin.dtype)? - &slice_size)? - begin)?, &pair)?;
    let paddings = concat_along_axis(&[&before, &after], 1)?;
    Ok(vec![Some(build(OpKind::Pad, None, &[&grad[0], &paddings], Attr::None)?), None, None])
}

/// TF `_StridedSliceGrad`: `StridedSliceGrad` of the input's shape and the
/// forward op's begin, end and strides (constants, as TF folds them).
pub(super) fn strided_slice(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let Attr::StridedSlice(spec) = op.attr else { return Err(no_gradient(op, "a strided slice without its spec")) };
    let x = &op.inputs[0];
    let x_shape = shape_as(x, DType::I32)?;
    let static_shape = x.shape.to_vec();
    let ones = vec![1; spec.begin.len()];
    let g = scoped_op(None, "StridedSliceGrad", |name| {
        let shape = match &static_shape {
            Some(dims) => int_const("shape", &dims.iter().map(|&d| d as i64).collect::<Vec<_>>())?,
            None => x_shape.clone(),
        };
        let begin = int_const("begin", &spec.begin)?;
        let end = int_const("end", &spec.end)?;
        let strides = int_const("strides", spec.strides.as_deref().unwrap_or(&ones))?;
        let attr = Attr::StridedSlice(Box::new(StridedSlice::clone(spec)));
        build(OpKind::StridedSliceGrad, Some(name), &[&shape, &begin, &end, &strides, &grad[0]], attr)
    })?;
    Ok(vec![Some(g), None, None, None])
}

/// TF `_TileGrad`: the gradient reshaped to interleave multiples and input
/// dimensions (`[m0, d0, m1, d1, …]`), then summed over the multiples' axes.
pub(super) fn tile(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, multiples) = (&op.inputs[0], &op.inputs[1]);
    let input_shape = shape_as(x, multiples.dtype)?;
    let pairs = build(OpKind::Stack, None, &[multiples, &input_shape], Attr::Axis(0))?;
    let split_shape = reshape(&transpose(&pairs, None)?, &[-1])?;
    let size = match split_shape.shape.num_elements() {
        Some(n) => named("Size").constant(i32::try_from(n).unwrap_or(i32::MAX))?,
        None => return Err(no_gradient(op, "the input's rank is unknown (scopeflow's Tile gradient needs it)")),
    };
    let axes = scoped_op(None, "range", |name| {
        let (start, delta) = (named("start").constant(0i32)?, named("delta").constant(2i32)?);
        build(OpKind::Range, Some(name), &[&start, &size, &delta], Attr::None)
    })?;
    let split = reshape_to(&grad[0], &split_shape)?;
    let summed = build(OpKind::Sum, None, &[&split, &axes], Attr::Reduce { keep_dims: false, all_axes: false })?;
    Ok(vec![Some(summed), None])
}

/// TF `_PadGrad` (Pad and PadV2): the input's block sliced out of the
/// gradient, from the paddings before each axis.
pub(super) fn pad(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, paddings) = (&op.inputs[0], &op.inputs[1]);
    let input_rank = rank(x)?;
    let column = scoped_op(None, "stack", |name| {
        build(OpKind::Stack, Some(name), &[&input_rank, &named("1").constant(1i32)?], Attr::Axis(0))
    })?;
    let before = scoped_op(None, "Slice", |name| {
        let begin = int_const("begin", &[0, 0])?;
        build(OpKind::Slice, Some(name), &[paddings, &begin, &column], Attr::None)
    })?;
    let begin = reshape(&before, &[-1])?;
    let sizes = shape_as(x, begin.dtype)?;
    let x_grad = build(OpKind::Slice, None, &[&grad[0], &begin, &sizes], Attr::None)?;
    let mut grads = vec![Some(x_grad), None];
    grads.resize(op.inputs.len(), None);
    Ok(grads)
}

/// TF `_GatherV2Grad` along axis 0: the gradient's rows as an
/// `IndexedSlices` of the params' shape (`values` the gradient reshaped to
/// `[#indices] + params.shape[1:]`, `indices` flattened).
pub(super) fn gather(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (params, indices) = (&op.inputs[0], &op.inputs[1]);
    let params_shape = shape_as(params, DType::I32)?;
    let size = match indices.shape.num_elements() {
        Some(n) => named("Size").constant(i32::try_from(n).unwrap_or(i32::MAX))?,
        None => return Err(no_gradient(op, "the number of indices is unknown (scopeflow has no Size op yet)")),
    };
    let indices_size = expand_dims(&size, 0)?;
    let axis = match op.consts.get(2).and_then(|c| ints(c.as_deref()?)).as_deref() {
        Some(&[0]) => 0,
        Some(&[a]) if a > 0 => a,
        _ => return Err(no_gradient(op, "scopeflow's gather gradient needs a constant axis of 0 or more")),
    };
    if axis != 0 {
        return gather_along_axis(op, grad, &params_shape, axis);
    }
    let tail = python_slice(&params_shape, StridedSlice::new([1], [0]).strides([1]).end_mask(1))?;
    let values_shape = concat_along_axis(&[&indices_size, &tail], 0)?;
    let values = reshape_to(&grad[0], &values_shape)?;
    // TF's shape inference reads the partly known `values_shape` (`[n] +
    // params.shape[1:]`, known dimensions of an unknown batch included).
    let values = match (indices.shape.num_elements(), params.shape.dims()) {
        (Some(n), Some([_, tail @ ..])) => set_shape(
            values,
            &Shape::from_dims(std::iter::once(Some(n)).chain(tail.iter().copied()).collect::<Vec<_>>()),
        ),
        _ => values,
    };
    let indices = reshape_to(indices, &indices_size)?;
    let rows = IndexedSlices::new(values, indices, params_shape, params.shape.clone());
    Ok(vec![Some(stand_in(rows)), None, None])
}

/// TF `_GatherV2Grad` along `axis` > 0 (no batch dimensions): the gradient
/// transposed to bring the axis first, summed by index into rows
/// (`UnsortedSegmentSum`), transposed back and reshaped to the params' shape.
fn gather_along_axis(op: &GradOp<'_>, grad: &[Tensor], params_shape: &Tensor, axis: i64) -> Grads {
    let (params, indices, axis_t) = (&op.inputs[0], &op.inputs[1], &op.inputs[2]);
    let rank = params.shape.rank().ok_or_else(|| no_gradient(op, "the params' rank is unknown"))? as i64;
    // outer_shape = params_shape[:axis]
    let (zero, one) = (named("Const").constant(0i32)?, named("Const").constant(1i32)?);
    let spec = StridedSlice::new([0], [axis]).strides([1]).begin_mask(1);
    let outer = packed_slice(params_shape, [&zero, axis_t, &one], spec)?;
    // inner_shape = params_shape[axis:][1:]
    let (zero, one) = (named("Const").constant(0i32)?, named("Const").constant(1i32)?);
    let spec = StridedSlice::new([axis], [0]).strides([1]).end_mask(1);
    let from_axis = packed_slice(params_shape, [axis_t, &zero, &one], spec)?;
    let inner = python_slice(&from_axis, StridedSlice::new([1], [0]).strides([1]).end_mask(1))?;
    let values_shape = scoped_op(None, "concat", |name| {
        let minus_one = int_const("values_1", &[-1])?;
        build(OpKind::Concat, Some(name), &[&outer, &minus_one, &inner, &named("axis").constant(0i32)?], Attr::None)
    })?;
    let values_dims = named("Size").constant(rank as i32)?;
    let axis_dims = named("Size").constant(axis as i32)?;
    let outer_batches = range(Bound::Value(0), Bound::Value(0))?;
    let batch_axes = range(Bound::Value(0), Bound::Tensor(&axis_dims))?;
    let inner_axes = range(Bound::Tensor(&plus_one(&axis_dims)?), Bound::Tensor(&values_dims))?;
    let values = reshape_to(&grad[0], &values_shape)?;
    let transpose_dims = scoped_op(None, "concat", |name| {
        let axis_dims = build(OpKind::Stack, Some("values_1"), &[&axis_dims], Attr::Axis(0))?;
        let parts = [&outer_batches, &axis_dims, &batch_axes, &inner_axes, &named("axis").constant(0i32)?];
        build(OpKind::Concat, Some(name), &parts, Attr::None)
    })?;
    let values = build(OpKind::Transpose, None, &[&values, &transpose_dims], Attr::None)?;
    // TF gathers the transposed shape, which only batch dimensions use.
    super::gather(params_shape, &transpose_dims)?;
    // gather_dim_size = params_shape[axis]
    let end = plus_one(axis_t)?;
    let gather_dim_size = scoped_op(None, "strided_slice", |name| {
        let begin = build(OpKind::Stack, Some("stack"), &[axis_t], Attr::Axis(0))?;
        let end = build(OpKind::Stack, Some("stack_1"), &[&end], Attr::Axis(0))?;
        let strides = int_const("stack_2", &[1])?;
        let spec = StridedSlice::new([axis], [axis + 1]).strides([1]).shrink_axis_mask(1);
        build(
            OpKind::StridedSlice,
            Some(name),
            &[params_shape, &begin, &end, &strides],
            Attr::StridedSlice(Box::new(spec)),
        )
    })?;
    // TF `_BatchGatherGrad` without batch dimensions.
    let size = match indices.shape.num_elements() {
        Some(n) => named("Size").constant(i32::try_from(n).unwrap_or(i32::MAX))?,
        None => return Err(no_gradient(op, "the number of indices is unknown (scopeflow has no Size op yet)")),
    };
    let indices = reshape_to(indices, &expand_dims(&size, 0)?)?;
    let summed = build(OpKind::UnsortedSegmentSum, None, &[&values, &indices, &gather_dim_size], Attr::None)?;
    let invert_dims = {
        let shifted = plus_one(&batch_axes)?;
        scoped_op(None, "concat", |name| {
            let batch_dims = int_const("values_2", &[0])?;
            let parts = [&outer_batches, &shifted, &batch_dims, &inner_axes, &named("axis").constant(0i32)?];
            build(OpKind::Concat, Some(name), &parts, Attr::None)
        })?
    };
    let params_grad = build(OpKind::Transpose, None, &[&summed, &invert_dims], Attr::None)?;
    Ok(vec![Some(reshape_to(&params_grad, &shape_as(params, DType::I32)?)?), None, None])
}

/// TF's Python slicing with a tensor bound (`t[:axis]`): each bound a
/// one-element `Pack` (`stack`, `stack_1`, `stack_2`) under `strided_slice`.
fn packed_slice(t: &Tensor, [begin, end, strides]: [&Tensor; 3], spec: StridedSlice) -> Result<Tensor> {
    scoped_op(None, "strided_slice", |name| {
        let pack = |x: &Tensor, n: &str| build(OpKind::Stack, Some(n), &[x], Attr::Axis(0));
        let (b, e, s) = (pack(begin, "stack")?, pack(end, "stack_1")?, pack(strides, "stack_2")?);
        build(OpKind::StridedSlice, Some(name), &[t, &b, &e, &s], Attr::StridedSlice(Box::new(spec)))
    })
}

/// A bound of TF `math_ops.range`: a Python number (a constant in its scope) or a tensor.
enum Bound<'a> {
    Value(i32),
    Tensor(&'a Tensor),
}

/// TF `math_ops.range(start, limit)` with step 1: `range/start`, `range/limit`, `range/delta` for numbers.
fn range(start: Bound<'_>, limit: Bound<'_>) -> Result<Tensor> {
    scoped_op(None, "range", |name| {
        let bound = |b: Bound<'_>, n: &str| match b {
            Bound::Value(v) => named(n).constant(v),
            Bound::Tensor(t) => Ok(t.clone()),
        };
        let (start, limit) = (bound(start, "start")?, bound(limit, "limit")?);
        let delta = named("delta").constant(1i32)?;
        build(OpKind::Range, Some(name), &[&start, &limit, &delta], Attr::None)
    })
}

/// TF `x + 1`: `add/y` and `add`.
fn plus_one(x: &Tensor) -> Result<Tensor> {
    scoped_op(None, "add", |name| build(OpKind::Add, Some(name), &[x, &named("y").constant(1i32)?], Attr::None))
}

/// TF `Tensor.set_shape`: what `shape` knows, `t`'s node and handle learn.
fn set_shape(mut t: Tensor, shape: &Shape) -> Tensor {
    if let Ok(graph) = crate::graph::get_default_graph() {
        let mut state = graph.write();
        if let Some((known, _)) =
            state.nodes.get_mut(t.node as usize).and_then(|n| n.outputs.get_mut(t.output as usize))
            && let Some(merged) = known.merge(shape)
        {
            *known = merged;
            t.shape = known.clone();
        }
    }
    t
}

/// TF `array_ops.concat(values, axis)` of tensors: `concat/axis` and `concat`.
fn concat_along_axis(values: &[&Tensor], axis: i32) -> Result<Tensor> {
    scoped_op(None, "concat", |name| {
        let axis = named("axis").constant(axis)?;
        let inputs: Vec<&Tensor> = values.iter().copied().chain([&axis]).collect();
        build(OpKind::Concat, Some(name), &inputs, Attr::None)
    })
}

/// TF `_SelectGrad`: the gradient where the condition picked each input, zeros elsewhere.
pub(super) fn select(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (c, g) = (&op.inputs[0], &grad[0]);
    let zeros = zeros_like(&op.inputs[1])?;
    Ok(vec![None, Some(super::select(c, g, &zeros)?), Some(super::select(c, &zeros, g)?)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Value;

    #[test]
    fn rank_is_a_constant_for_a_known_rank() -> Result<()> {
        let graph = crate::graph::Graph::new();
        let _g = graph.as_default();
        let x = super::super::constant(Value::filled(DType::F32, &[2, 3], 0.0))?;
        assert_eq!(rank(&x)?.name(), "Rank");
        Ok(())
    }
}
