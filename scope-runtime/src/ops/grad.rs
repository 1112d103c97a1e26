//! Gradient functions, one per differentiable op, written as TensorFlow's
//! `math_grad.py` / `nn_grad.py` write them, node for node, so the gradient
//! graph has TensorFlow's names. Each runs inside `<op>_grad/`.
//!
//! Indexing here: `op.inputs[i]` and `op.outputs[i]` for `i` below the
//! op's arity and output count, which the graph checked when it built the
//! node (`Graph::add_node`), and `grad[i]` for an output (the driver passes
//! one gradient per output, zeros where none flowed).

use super::api::sum_last_axis_kept;
use super::{
    OpKind, Side, build, build_op, constant, expand_dims, gather, int_const, matmul_transposed, named, neg,
    reduce_prod, reduce_sum, reshape, reshape_to, scoped_op, shape, tile, where_v2, with_number, zeros_like,
};
use crate::base::{Error, Result, Shape, Tensor, Value};
use crate::graph::{Attr, GradOp, get_default_graph};
use crate::kernels::{axis_in, ints};
use crate::scope::control_dependencies;

type Grads = Result<Vec<Option<Tensor>>>;

/// The gradient flows through unchanged (Identity, a variable's `read`).
pub(super) fn identity(_: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(grad[0].clone())])
}

/// Each input gets the gradient (TF `_AddNGrad`).
pub(super) fn add_n(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(grad[0].clone()); op.inputs.len()])
}

/// Whether `x`, `y` and `grad` have one fully known shape (TF `_ShapesFullySpecifiedAndEqual`).
fn same_known_shape(x: &Tensor, y: &Tensor, grad: &Tensor) -> bool {
    // TF asks `isinstance(grad, Tensor)` first: an `IndexedSlices` takes the general path.
    !super::indexed::is_stand_in(grad) && x.shape.is_fully_defined() && x.shape == y.shape && x.shape == grad.shape
}

/// TF `_AddGrad` (AddV2).
pub(super) fn add(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    if same_known_shape(x, y, g) {
        return Ok(vec![Some(g.clone()), Some(g.clone())]);
    }
    reduce_gradient_args(x, y, Some(g.clone()), Some(g.clone()))
}

/// TF `_SubGrad`.
pub(super) fn sub(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    if same_known_shape(x, y, g) {
        return Ok(vec![Some(g.clone()), Some(neg(g)?)]);
    }
    let gy = neg(g)?;
    reduce_gradient_args(x, y, Some(g.clone()), Some(gy))
}

/// TF `_MulGrad`.
pub(super) fn mul(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    if same_known_shape(x, y, g) && matches!(g.dtype, crate::base::DType::F32 | crate::base::DType::I32) {
        return Ok(vec![Some(super::mul(g, y)?), Some(super::mul(g, x)?)]);
    }
    let gx = super::mul(g, y)?;
    let gy = super::mul(x, g)?;
    reduce_gradient_args(x, y, Some(gx), Some(gy))
}

/// TF `_RealDivGrad`: `grad / y` and `grad * (-x / y / y)`.
pub(super) fn real_div(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    let gx = named("RealDiv").div(g, y)?;
    let quotient = named("RealDiv").div(&neg(x)?, y)?;
    let gy = (g * &named("RealDiv").div(&quotient, y)?)?;
    reduce_gradient_args(x, y, Some(gx), Some(gy))
}

/// TF `_MaximumGrad`: the gradient goes to the larger input (to `x` on ties).
pub(super) fn maximum(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    maximum_minimum(op, &grad[0], OpKind::GreaterEqual)
}

/// TF `_MinimumGrad`: the gradient goes to the smaller input (to `x` on ties).
pub(super) fn minimum(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    maximum_minimum(op, &grad[0], OpKind::LessEqual)
}

/// TF `_MaximumMinimumGrad`: `x` gets the gradient where `selector(x, y)`, `y` elsewhere.
fn maximum_minimum(op: &GradOp<'_>, g: &Tensor, selector: OpKind) -> Grads {
    let (x, y) = (&op.inputs[0], &op.inputs[1]);
    let zeros = zeros_like(g)?;
    let x_wins = build(selector, None, &[x, y], Attr::None)?;
    let gx = where_v2(&x_wins, g, &zeros)?;
    let gy = where_v2(&x_wins, &zeros, g)?;
    reduce_gradient_args(x, y, Some(gx), Some(gy))
}

/// TF `_NegGrad`: `-grad`.
pub(super) fn neg_grad(_: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(neg(&grad[0])?)])
}

/// TF `_AbsGrad`: `grad * Sign(x)`.
pub(super) fn abs(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let sign = build(OpKind::Sign, None, &[&op.inputs[0]], Attr::None)?;
    Ok(vec![Some((&grad[0] * &sign)?)])
}

/// TF `_SquareGrad`: `grad * (x * 2)`, the 2 made after `grad` (a control input).
pub(super) fn square(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, g) = (&op.inputs[0], &grad[0]);
    let two = control_dependencies(&[&g.op()]).with(|| super::constant(Value::filled(x.dtype, &[], 2.0)))?;
    Ok(vec![Some(super::mul(g, &super::mul(x, &two)?)?)])
}

/// TF `_SqrtGrad`: `SqrtGrad(y, grad)`.
pub(super) fn sqrt(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::SqrtGrad, None, &[&op.outputs[0], &grad[0]], Attr::None)?)])
}

/// TF `_RsqrtGrad`: `RsqrtGrad(y, grad)`.
pub(super) fn rsqrt(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::RsqrtGrad, None, &[&op.outputs[0], &grad[0]], Attr::None)?)])
}

/// TF `_SqueezeGrad`: the gradient reshaped to the input's shape.
pub(super) fn squeeze(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let mut grads = reshape_to_input(op, grad)?;
    grads.truncate(1);
    Ok(grads)
}

/// TF `_ExpGrad`: `grad * y`.
pub(super) fn exp(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some((&grad[0] * &op.outputs[0])?)])
}

/// TF `_LogGrad`: `grad * Reciprocal(x)`, the reciprocal made after `grad`.
pub(super) fn log(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let g = &grad[0];
    let inverse =
        control_dependencies(&[&g.op()]).with(|| build(OpKind::Reciprocal, None, &[&op.inputs[0]], Attr::None))?;
    Ok(vec![Some((g * &inverse)?)])
}

/// TF `_FloorGrad`: none (the derivative is 0 wherever it exists).
pub(super) fn floor(_: &GradOp<'_>, _: &[Tensor]) -> Grads {
    Ok(vec![None])
}

/// TF `_Log1pGrad`: `grad * Reciprocal(1 + x)`, made after `grad`.
pub(super) fn log1p(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let g = &grad[0];
    let inverse = control_dependencies(&[&g.op()]).with(|| {
        let one_plus = with_number(OpKind::Add, "add", 1.0, Side::Left, &op.inputs[0])?;
        build(OpKind::Reciprocal, None, &[&one_plus], Attr::None)
    })?;
    Ok(vec![Some((g * &inverse)?)])
}

/// TF `_SquaredDifferenceGrad`: `2 grad (x - y)` for `x`, its negation for `y`,
/// made after `grad`.
pub(super) fn squared_difference(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    let gx = control_dependencies(&[&g.op()]).with(|| {
        let two = named("scalar").constant(Value::filled(g.dtype, &[], 2.0))?;
        // TF `scalar_mul(2.0, grad) * (x - y)`: `Mul`, then the operator's `mul`.
        &super::mul(&two, g)? * &(x - y)?
    })?;
    let gy = neg(&gx)?;
    if same_known_shape(x, y, g) {
        return Ok(vec![Some(gx), Some(gy)]);
    }
    reduce_gradient_args(x, y, Some(gx), Some(gy))
}

/// TF `_DivNoNanGrad`: `div_no_nan(grad, y)` and `grad * div_no_nan(div_no_nan(-x, y), y)`.
pub(super) fn div_no_nan(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    let div = |a: &Tensor, b: &Tensor| build(OpKind::DivNoNan, None, &[a, b], Attr::None);
    let gx = div(g, y)?;
    let gy = (g * &div(&div(&neg(x)?, y)?, y)?)?;
    reduce_gradient_args(x, y, Some(gx), Some(gy))
}

/// TF `_CastGrad`: the gradient cast back to the input's dtype.
pub(super) fn cast(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, g) = (&op.inputs[0], &grad[0]);
    if !x.dtype.is_floating() || !g.dtype.is_floating() {
        return Ok(vec![None]);
    }
    Ok(vec![Some(super::cast(g, x.dtype)?)])
}

/// TF `_Relu6Grad`: `Relu6Grad(grad, relu6's output)`.
pub(super) fn relu6(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::Relu6Grad, None, &[&grad[0], &op.outputs[0]], Attr::None)?)])
}

/// TF `_TanhGrad`: `TanhGrad(y, grad)`.
pub(super) fn tanh(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::TanhGrad, None, &[&op.outputs[0], &grad[0]], Attr::None)?)])
}

/// TF `_SoftplusGrad`: `grad * Sigmoid(x)`.
pub(super) fn softplus(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some((&grad[0] * &super::sigmoid(&op.inputs[0])?)?)])
}

/// TF `_LeakyReluGrad`: `LeakyReluGrad(grad, x)` with the op's alpha.
pub(super) fn leaky_relu(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let alpha = op.attr.clone();
    Ok(vec![Some(build(OpKind::LeakyReluGrad, None, &[&grad[0], &op.inputs[0]], alpha)?)])
}

/// TF `_SoftmaxGrad`: `(grad - sum(grad * y, -1)) * y`.
pub(super) fn softmax(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (y, g) = (&op.outputs[0], &grad[0]);
    let sum = sum_last_axis_kept(&(g * y)?)?;
    Ok(vec![Some(((g - &sum)? * y)?)])
}

/// TF `_LogSoftmaxGrad`: `grad - sum(grad, -1) * exp(y)`.
pub(super) fn log_softmax(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let g = &grad[0];
    let softmax = super::exp(&op.outputs[0])?;
    Ok(vec![Some((g - &(&sum_last_axis_kept(g)? * &softmax)?)?)])
}

/// TF `_ReduceGradientArgs` with `SmartBroadcastGradientArgs`: each side's
/// gradient summed over the axes it was broadcast along, then reshaped to it.
fn reduce_gradient_args(x: &Tensor, y: &Tensor, gx: Option<Tensor>, gy: Option<Tensor>) -> Grads {
    let (sx, sy) = (shape(x)?, shape(y)?);
    let Some((x_axes, y_axes)) = reduction_axes(&x.shape, &y.shape) else {
        // Which axes were broadcast is known only at run time: both sides reduce.
        let axes = build_op(OpKind::BroadcastGradientArgs, None, &[&sx, &sy], &[], Attr::None)?.outputs;
        let reduce = |g: Option<Tensor>, s: &Tensor, axes: &Tensor| -> Result<Option<Tensor>> {
            let kept = Attr::Reduce { keep_dims: true, all_axes: false };
            g.map(|g| reshape_to(&build(OpKind::Sum, None, &[&g, axes], kept)?, s)).transpose()
        };
        return Ok(vec![reduce(gx, &sx, &axes[0])?, reduce(gy, &sy, &axes[1])?]);
    };
    let (rx, ry) = (x.shape.rank().unwrap_or(0), y.shape.rank().unwrap_or(0));
    let x_must = !x_axes.is_empty() || rx < ry;
    let y_must = !y_axes.is_empty() || ry < rx;
    let reduce = |g: Option<Tensor>, s: &Tensor, axes: &[usize], must: bool| -> Result<Option<Tensor>> {
        match g {
            Some(g) if must => Ok(Some(reshape_to(&reduce_sum(&g, Some(axes), true)?, s)?)),
            g => Ok(g),
        }
    };
    Ok(vec![reduce(gx, &sx, &x_axes, x_must)?, reduce(gy, &sy, &y_axes, y_must)?])
}

/// TF `_InferGradientReductionAxes`: the axes each side was broadcast along,
/// when the static shapes tell (`None`: decided at run time).
fn reduction_axes(x: &Shape, y: &Shape) -> Option<(Vec<usize>, Vec<usize>)> {
    let (xd, yd) = (x.dims()?, y.dims()?);
    let rank = xd.len().max(yd.len());
    let dim =
        |d: &[Option<usize>], axis: usize| if axis < rank - d.len() { Some(1) } else { d[axis - (rank - d.len())] };
    let (mut x_axes, mut y_axes) = (Vec::new(), Vec::new());
    for axis in 0..rank {
        let (a, b) = (dim(xd, axis), dim(yd, axis));
        if a == Some(1) && b != Some(1) {
            x_axes.push(axis);
        } else if b == Some(1) && a != Some(1) {
            y_axes.push(axis);
        } else if a.is_none() || b.is_none() {
            return None;
        }
    }
    Some((x_axes, y_axes))
}

/// TF `_MatMulGrad`.
pub(super) fn matmul(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (a, b, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    let (ta, tb) = match *op.attr {
        Attr::MatMul { transpose_a, transpose_b } => (transpose_a, transpose_b),
        _ => (false, false),
    };
    let (ga, gb) = match (ta, tb) {
        (false, false) => (matmul_transposed(g, b, false, true)?, matmul_transposed(a, g, true, false)?),
        (false, true) => (matmul_transposed(g, b, false, false)?, matmul_transposed(g, a, true, false)?),
        (true, false) => (matmul_transposed(b, g, false, true)?, matmul_transposed(a, g, false, false)?),
        (true, true) => (matmul_transposed(b, g, true, true)?, matmul_transposed(g, a, true, true)?),
    };
    Ok(vec![Some(ga), Some(gb)])
}

/// TF `_BiasAddGrad`.
pub(super) fn bias_add(_: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let g = &grad[0];
    Ok(vec![Some(g.clone()), Some(build(OpKind::BiasAddGrad, None, &[g], Attr::None)?)])
}

/// TF `_ReluGrad`: `ReluGrad(grad, relu's output)`.
pub(super) fn relu(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::ReluGrad, None, &[&grad[0], &op.outputs[0]], Attr::None)?)])
}

/// TF `_SigmoidGrad`: `SigmoidGrad(sigmoid's output, grad)`.
pub(super) fn sigmoid(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::SigmoidGrad, None, &[&op.outputs[0], &grad[0]], Attr::None)?)])
}

/// TF `_ReshapeGrad` (and `_ExpandDimsGrad`): the gradient in the input's
/// shape — a constant shape when it is known, `[-1, …]` when one dimension
/// is not, else `Shape(x)` at run time.
pub(super) fn reshape_to_input(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, g) = (&op.inputs[0], &grad[0]);
    // `-1` stands for the one unknown dimension only when the others fix it (none is 0).
    let one_unknown =
        x.shape.dims().filter(|d| d.iter().filter(|d| d.is_none()).count() == 1 && d.iter().flatten().all(|&n| n > 0));
    let back = match one_unknown {
        Some(dims) => reshape(g, &dims.iter().map(|d| d.map_or(-1, |n| n as i64)).collect::<Vec<_>>())?,
        None => reshape_to(g, &shape(x)?)?,
    };
    Ok(vec![Some(back), None])
}

/// TF `_TransposeGrad`: the gradient transposed by the inverse permutation.
pub(super) fn transpose(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let inverse = build(OpKind::InvertPermutation, None, &[&op.inputs[1]], Attr::None)?;
    Ok(vec![Some(build(OpKind::Transpose, None, &[&grad[0], &inverse], Attr::None)?), None])
}

/// TF `_MaxGrad`: the gradient split evenly among the inputs equal to the
/// maximum (for a known input shape and constant axes).
pub(super) fn max(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, g) = (&op.inputs[0], &op.outputs[0], &grad[0]);
    let keep_dims = matches!(op.attr, Attr::Reduce { keep_dims: true, .. });
    let input_shape = shape(x)?;
    // The output's shape with the reduced axes kept as 1: constant when the
    // input's shape and the axes are, else computed (TF `reduced_shape`).
    let kept = match (keep_dims, x.shape.to_vec(), reduction_axes_of(op)) {
        (true, ..) => Kept::Tensor(shape(y)?),
        (false, Some(dims), Ok(axes)) => Kept::Dims(kept_dims(op, &dims, &axes)?),
        (false, ..) => Kept::Tensor(reduced_shape(op, &input_shape)?),
    };
    let (y, g) = if keep_dims { (y.clone(), g.clone()) } else { (kept.reshape(y)?, kept.reshape(g)?) };
    let equal = build(OpKind::Equal, None, &[&y, x], Attr::None)?;
    let indicators = super::cast(&equal, g.dtype)?;
    let attr = Attr::Reduce { keep_dims: false, all_axes: matches!(op.attr, Attr::Reduce { all_axes: true, .. }) };
    let selected = kept.reshape(&build(OpKind::Sum, None, &[&indicators, &op.inputs[1]], attr)?)?;
    let share = named("truediv").div(&indicators, &selected)?;
    Ok(vec![Some(named("mul").mul(&share, &g)?), None])
}

/// A reduction's output shape with the reduced axes kept as 1.
enum Kept {
    /// Known when the graph is built.
    Dims(Vec<i64>),
    /// Computed when it runs.
    Tensor(Tensor),
}

impl Kept {
    fn reshape(&self, t: &Tensor) -> Result<Tensor> {
        match self {
            Kept::Dims(dims) => reshape(t, dims),
            Kept::Tensor(shape) => reshape_to(t, shape),
        }
    }
}

/// TF `math_ops.reduced_shape(input_shape, axes)` built in the graph: the
/// input's shape with the reduced axes (the op's second input, taken modulo
/// the rank) set to 1, through a `DynamicStitch`.
fn reduced_shape(op: &GradOp<'_>, input_shape: &Tensor) -> Result<Tensor> {
    let rank = op.inputs[0].shape.rank().ok_or_else(|| unknown_rank(op))?;
    let size = named("Size").constant(rank as i32)?;
    let axes = named("mod").floor_mod(&(&op.inputs[1] + &size)?, &size)?;
    let axes_shape = shape(&axes)?;
    let all = range_to(&size)?;
    let ones = scoped_op(None, "ones", |name| {
        let one = constant(1i32)?;
        build(OpKind::Fill, Some(name), &[&axes_shape, &one], Attr::Fill(Box::new(axes.shape.clone())))
    })?;
    build(OpKind::DynamicStitch, None, &[&all, &axes, input_shape, &ones], Attr::None)
}

/// TF `math_ops.range(0, limit)`: `range/start`, `range/delta`, `range`.
fn range_to(limit: &Tensor) -> Result<Tensor> {
    scoped_op(None, "range", |name| {
        let (start, delta) = (named("start").constant(0i32)?, named("delta").constant(1i32)?);
        build(OpKind::Range, Some(name), &[&start, limit, &delta], Attr::None)
    })
}

/// TF `_ProdGrad`: the product of the others in each reduced group, as the
/// product of an exclusive running product from each end (no division, so
/// zeros are fine), computed with the reduced axes moved first.
pub(super) fn prod(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, g) = (&op.inputs[0], &grad[0]);
    let input_shape = shape(x)?;
    let indices = reshape(&op.inputs[1], &[-1])?;
    let g = match (&op.attr, x.shape.to_vec(), reduction_axes_of(op)) {
        (Attr::Reduce { keep_dims: true, .. }, ..) => g.clone(),
        (_, Some(dims), Ok(axes)) => Kept::Dims(kept_dims(op, &dims, &axes)?).reshape(g)?,
        _ => Kept::Tensor(reduced_shape(op, &input_shape)?).reshape(g)?,
    };
    let g = build(OpKind::BroadcastTo, None, &[&g, &input_shape], Attr::None)?;
    let rank = super::api::rank_of(x)?;
    let reduced = named("mod").floor_mod(&(&indices + &rank)?, &rank)?;
    let others = build_op(OpKind::ListDiff, None, &[&range_to(&rank)?, &reduced], &[], Attr::None)?.outputs;
    let perm = super::concat(&[&reduced, &others[0]], 0)?;
    let reduced_num = reduce_prod(&gather(&input_shape, &reduced)?, None, false)?;
    let other_num = reduce_prod(&gather(&input_shape, &others[0])?, None, false)?;
    let permuted = build(OpKind::Transpose, None, &[x, &perm], Attr::None)?;
    let permuted_shape = shape(&permuted)?;
    let matrix = scoped_op(None, "Reshape", |op| {
        let rows_cols = named("shape").stack(&[&reduced_num, &other_num], 0)?;
        build(OpKind::Reshape, Some(op), &[&permuted, &rows_cols], Attr::None)
    })?;
    let cumprod = |reverse: bool| {
        scoped_op(None, "Cumprod", |op| {
            let axis = named("axis").constant(0i32)?;
            build(OpKind::Cumprod, Some(op), &[&matrix, &axis], Attr::Cumulative { exclusive: true, reverse })
        })
    };
    let (left, right) = (cumprod(false)?, cumprod(true)?);
    let others_product = reshape_to(&(&left * &right)?, &permuted_shape)?;
    let inverse = build(OpKind::InvertPermutation, None, &[&perm], Attr::None)?;
    let back = build(OpKind::Transpose, None, &[&others_product, &inverse], Attr::None)?;
    Ok(vec![Some(reshape_to(&(&g * &back)?, &input_shape)?), None])
}

/// TF `_PowGrad`: `grad * y * x^(y - 1)` for `x`, `grad * z * log(x)` for
/// `y` (0 where `x <= 0`).
pub(super) fn pow(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, y, z, g) = (&op.inputs[0], &op.inputs[1], &op.outputs[0], &grad[0]);
    let gx = (&(g * y)? * &super::pow(x, &with_number(OpKind::Sub, "sub", 1.0, Side::Right, y)?)?)?;
    let positive = with_number(OpKind::Greater, "Greater", 0.0, Side::Right, x)?;
    let safe_x = super::select(&positive, x, &super::ones_like(x)?)?;
    let log_x = super::select(&positive, &super::log(&safe_x)?, &zeros_like(x)?)?;
    let gy = (&(g * z)? * &log_x)?;
    reduce_gradient_args(x, y, Some(gx), Some(gy))
}

/// TF `_SelectGradV2`: the gradient where the condition picked each side,
/// zeros elsewhere, each summed back to its side's shape.
pub(super) fn select_v2(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (c, x, y, z, g) = (&op.inputs[0], &op.inputs[1], &op.inputs[2], &op.outputs[0], &grad[0]);
    let zeros = named("zeros").constant(Value::filled(g.dtype, &[], 0.0))?;
    let gx = where_v2(c, g, &zeros)?;
    let gy = where_v2(c, &zeros, g)?;
    let gx = reduce_gradient_args(x, z, Some(gx), None)?.swap_remove(0);
    let gy = reduce_gradient_args(y, z, Some(gy), None)?.swap_remove(0);
    Ok(vec![None, gx, gy])
}

/// TF `_SignGrad`: zeros.
pub(super) fn sign(op: &GradOp<'_>, _: &[Tensor]) -> Grads {
    Ok(vec![Some(zeros_like(&op.inputs[0])?)])
}

/// TF `_ReciprocalGrad`: `ReciprocalGrad(y, grad)`.
pub(super) fn reciprocal(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(build(OpKind::ReciprocalGrad, None, &[&op.outputs[0], &grad[0]], Attr::None)?)])
}

/// TF `_BroadcastToGrad`: the gradient summed over the axes the input was
/// stretched along, in the input's shape.
pub(super) fn broadcast_to(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, g) = (&op.inputs[0], &grad[0]);
    let input_shape = super::shape_as(x, op.inputs[1].dtype)?;
    let target = match op.consts.get(1).and_then(|c| c.clone()) {
        Some(known) => constant(Value::clone(&known))?,
        None => op.inputs[1].clone(),
    };
    let axes = build_op(OpKind::BroadcastGradientArgs, None, &[&target, &input_shape], &[], Attr::None)?.outputs;
    let kept = Attr::Reduce { keep_dims: true, all_axes: false };
    let summed = build(OpKind::Sum, None, &[g, &axes[1]], kept)?;
    Ok(vec![Some(reshape_to(&summed, &input_shape)?), None])
}

/// TF `_L2LossGrad`: `x * grad`.
pub(super) fn l2_loss(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(named("mul").mul(&op.inputs[0], &grad[0])?)])
}

/// TF `_SparseSoftmaxCrossEntropyWithLogitsGrad`: the loss's gradient times
/// the op's own `softmax - one_hot` output; none for the labels. (A gradient
/// into that second output, which only second derivatives use, is not
/// propagated: scopeflow has no second derivatives.)
pub(super) fn sparse_softmax_xent(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let g = expand_dims(&grad[0], -1)?;
    Ok(vec![Some(named("mul").mul(&g, &op.outputs[1])?), None])
}

/// TF `_SoftmaxCrossEntropyWithLogitsGrad`: the loss's gradient times the
/// op's `softmax - labels` output for the logits, and times
/// `-log_softmax(logits)` for the labels (each broadcast by its own
/// `ExpandDims`, as TF's `_BroadcastMul` builds them). A gradient into the
/// `backprop` output, which only second derivatives use, is not propagated:
/// scopeflow has no second derivatives.
pub(super) fn softmax_xent(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let g = expand_dims(&grad[0], -1)?;
    let logits_grad = named("mul").mul(&g, &op.outputs[1])?;
    let minus_log_softmax = neg(&super::log_softmax(&op.inputs[0])?)?;
    let g = expand_dims(&grad[0], -1)?;
    Ok(vec![Some(logits_grad), Some(named("mul").mul(&g, &minus_log_softmax)?)])
}

/// TF `_FusedBatchNormV3Grad`: one `FusedBatchNormGradV3` with the op's
/// attributes, fed in training with the batch moments the op saved (its
/// outputs 3 and 4), in inference with the mean and variance it was given,
/// and its reserve (output 5); the input, scale and offset get its first
/// three outputs, the mean and variance nothing.
pub(super) fn fused_batch_norm(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let is_training = matches!(op.attr, Attr::FusedBatchNorm { is_training: true, .. });
    let (x, scale) = (&op.inputs[0], &op.inputs[1]);
    let (mean, variance) = if is_training { (&op.outputs[3], &op.outputs[4]) } else { (&op.inputs[3], &op.inputs[4]) };
    let inputs = [&grad[0], x, scale, mean, variance, &op.outputs[5]];
    let g = build_op(OpKind::FusedBatchNormGrad, None, &inputs, &[], op.attr.clone())?.outputs;
    Ok(vec![Some(g[0].clone()), Some(g[1].clone()), Some(g[2].clone()), None, None])
}

/// TF `_Conv2DGrad`: both shapes from one `ShapeN`, then
/// `Conv2DBackpropInput` and `Conv2DBackpropFilter` with the op's attributes.
pub(super) fn conv2d(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (x, f, g) = (&op.inputs[0], &op.inputs[1], &grad[0]);
    let shapes = build_op(OpKind::ShapeN, None, &[x, f], &[], Attr::None)?.outputs;
    let dx = build(OpKind::Conv2DBackpropInput, None, &[&shapes[0], f, g], op.attr.clone())?;
    let df = build(OpKind::Conv2DBackpropFilter, None, &[x, &shapes[1], g], op.attr.clone())?;
    Ok(vec![Some(dx), Some(df)])
}

/// TF `_Conv2DBackpropInputGrad`: none for the sizes, `Conv2DBackpropFilter`
/// of the gradient for the filter and `Conv2D` of the gradient for the
/// backpropagated input, with the op's attributes.
pub(super) fn conv2d_backprop_input(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let (f, dy, g) = (&op.inputs[1], &op.inputs[2], &grad[0]);
    let df = build(OpKind::Conv2DBackpropFilter, None, &[g, &super::shape(f)?, dy], op.attr.clone())?;
    let ddy = build(OpKind::Conv2D, None, &[g, f], op.attr.clone())?;
    Ok(vec![None, Some(df), Some(ddy)])
}

/// TF `_MaxPoolGrad`: `MaxPoolGrad(x, y, grad)`.
pub(super) fn max_pool(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let inputs = [&op.inputs[0], &op.outputs[0], &grad[0]];
    Ok(vec![Some(build(OpKind::MaxPoolGrad, None, &inputs, op.attr.clone())?)])
}

/// TF `_AvgPoolGrad`: `AvgPoolGrad(Shape(x), grad)`.
pub(super) fn avg_pool(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let input_shape = shape(&op.inputs[0])?;
    Ok(vec![Some(build(OpKind::AvgPoolGrad, None, &[&input_shape, &grad[0]], op.attr.clone())?)])
}

/// TF `_SumGrad`: the gradient broadcast back over the reduced axes.
pub(super) fn sum(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    Ok(vec![Some(sum_grad(op, &grad[0])?), None])
}

/// TF `_MeanGrad`: `_SumGrad` divided by the number of elements averaged.
pub(super) fn mean(op: &GradOp<'_>, grad: &[Tensor]) -> Grads {
    let summed = sum_grad(op, &grad[0])?;
    let (x, y) = (&op.inputs[0], &op.outputs[0]);
    let factor = match (x.shape.to_vec(), y.shape.to_vec()) {
        (Some(input), Some(output)) => {
            let n = input.iter().product::<usize>() / output.iter().product::<usize>().max(1);
            constant(Value::filled(summed.dtype, &[], n as f64))?
        }
        _ => {
            // The count is known at run time: the product of the reduced dimensions.
            let input_shape = shape(x)?;
            let rank = x.shape.rank().ok_or_else(|| unknown_rank(op))?;
            let size = named("Size").constant(rank as i32)?;
            let axes = named("mod").floor_mod(&named("add").add(&op.inputs[1], &size)?, &size)?;
            let count = reduce_prod(&gather(&input_shape, &axes)?, None, false)?;
            super::cast(&count, summed.dtype)?
        }
    };
    Ok(vec![Some(named("truediv").div(&summed, &factor)?), None])
}

/// `Error::NoGradient` for `op`, saying why.
fn no_gradient(op: &GradOp<'_>, reason: &'static str) -> Error {
    Error::NoGradient { op: op.name.to_owned(), op_type: op.type_name, reason }
}

fn unknown_rank(op: &GradOp<'_>) -> Error {
    no_gradient(op, "the input's rank is unknown (scopeflow's reduction gradients need it)")
}

/// The axes of a reduction, when its second input is a constant.
fn reduction_axes_of(op: &GradOp<'_>) -> Result<Vec<i64>> {
    op.consts.get(1).and_then(|c| ints(c.as_deref()?)).map(|v| v.into_vec()).ok_or_else(|| {
        no_gradient(op, "its axes are computed at run time (scopeflow's reduction gradients need constant axes)")
    })
}

/// `dims` with the reduced `axes` kept as 1 (TF `reduced_shape`).
fn kept_dims(op: &GradOp<'_>, dims: &[usize], axes: &[i64]) -> Result<Vec<i64>> {
    let reduced: Vec<usize> = axes
        .iter()
        .map(|&a| axis_in(a, dims.len()))
        .collect::<Option<_>>()
        .ok_or_else(|| no_gradient(op, "a reduction axis is out of range for the input's rank"))?;
    Ok(dims.iter().enumerate().map(|(i, &d)| if reduced.contains(&i) { 1 } else { d as i64 }).collect())
}

/// The body of TF `_SumGrad` for a known rank and constant axes.
fn sum_grad(op: &GradOp<'_>, g: &Tensor) -> Result<Tensor> {
    let x = &op.inputs[0];
    let dims = x.shape.dims().ok_or_else(|| unknown_rank(op))?;
    let rank = dims.len();
    let axes = reduction_axes_of(op).ok();
    if let Some(axes) = &axes
        && axes.iter().copied().eq(0..rank as i64)
    {
        // Every axis: reshape to all ones and tile to the input's shape.
        let g = reshape(g, &vec![1; rank])?;
        let input_shape = match x.shape.to_vec() {
            Some(d) => constant(Value::from(d.iter().map(|&n| n as i32).collect::<Vec<_>>()))?,
            None => shape(x)?,
        };
        return build(OpKind::Tile, None, &[&g, &input_shape], Attr::None);
    }
    let (Some(input), Some(axes)) = (x.shape.to_vec(), axes) else {
        // A partly known shape, or axes known when it runs: TF's general path.
        let input_shape = shape(x)?;
        let g = match op.attr {
            Attr::Reduce { keep_dims: true, .. } => g.clone(),
            _ => reshape_to(g, &reduced_shape(op, &input_shape)?)?,
        };
        return build(OpKind::BroadcastTo, None, &[&g, &input_shape], Attr::None);
    };
    let kept = kept_dims(op, &input, &axes)?;
    let scaling: Vec<usize> = input.iter().zip(&kept).map(|(&d, &k)| d / (k.max(1) as usize)).collect();
    let input_dims: Vec<i64> = input.iter().map(|&d| d as i64).collect();
    let first = get_default_graph()?.write().reduced_shape_cache.insert((input, axes));
    if first {
        // TF evaluates `_safe_shape_div(input_shape, kept)` by building it, once per graph.
        let maximum = scoped_op(None, "Maximum", |op| {
            build(OpKind::Maximum, Some(op), &[&int_const("x", &kept)?, &named("y").constant(1i32)?], Attr::None)
        })?;
        scoped_op(None, "floordiv", |op| {
            build(OpKind::FloorDiv, Some(op), &[&int_const("x", &input_dims)?, &maximum], Attr::None)
        })?;
    }
    tile(&reshape(g, &kept)?, &scaling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_axes_follow_tensorflow() {
        let s = |d: &[Option<usize>]| Shape::from_dims(d.to_vec());
        assert_eq!(reduction_axes(&s(&[Some(2), Some(3)]), &s(&[Some(3)])), Some((vec![], vec![0])));
        assert_eq!(reduction_axes(&s(&[None, Some(3)]), &s(&[Some(3)])), Some((vec![], vec![0])));
        assert_eq!(reduction_axes(&s(&[Some(2), Some(1)]), &s(&[Some(1), Some(3)])), Some((vec![1], vec![0])));
        assert_eq!(reduction_axes(&s(&[None, Some(3)]), &s(&[None, Some(3)])), None);
    }
}
