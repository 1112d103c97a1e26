//! Shape functions: each op's output shapes and dtypes from its inputs and
//! attributes, known at build time as far as TensorFlow knows them.
//!
//! Indexing here: a shape function reads `x[i]` only for `i` below its op's
//! arity, which `Graph::add_node` checks before calling it (`Many` ops get
//! one input or more), and a shape's `dims[i]` only after checking its rank.
//! Sizes that come from a user or a constant are combined with checked
//! arithmetic (`TOO_LARGE`).

use crate::base::{DType, Dim, Shape, Tensor};
use crate::graph::{Attr, Consts, Fail, Outputs};
use crate::kernels::array::{Stride, range_len, reshape_target, slice_sizes, split_sizes, stride_axis};
use crate::kernels::nn::window;
use crate::kernels::{axis_in, ints};
use smallvec::smallvec;

type Inferred = Result<Outputs, Fail>;

/// The integers of constant input `i`, if it is a constant.
fn const_ints(consts: Consts<'_>, i: usize) -> Option<Vec<i64>> {
    consts.get(i).and_then(ints).map(|v| v.into_vec())
}

/// What is known of input `i`'s value as a shape when it is not a constant:
/// for the `Shape` of an `x` of static shape `(None, 3)`, `[?, 3]`.
fn partial_shape(consts: Consts<'_>, i: usize) -> Option<Vec<Dim>> {
    consts.shape_value(i)?.dims().map(<[Dim]>::to_vec)
}

/// Checks that a shape or axes operand is an integer tensor.
fn int_operand(t: &Tensor) -> Result<(), Fail> {
    if matches!(t.dtype, DType::I32 | DType::I64) { Ok(()) } else { Err(Fail::DType) }
}

/// The static length of a vector operand, when known.
fn vector_length(t: &Tensor) -> Option<usize> {
    match t.shape.dims() {
        Some(&[n]) => n,
        _ => None,
    }
}

fn one(shape: Shape, dtype: DType) -> Inferred {
    Ok(smallvec![(shape, dtype)])
}

fn compatible(a: Dim, b: Dim) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x == y) || a.is_none() || b.is_none()
}

/// A rank-`n` shape of unknown sizes, or unknown when the rank is.
fn unknown_dims(rank: Option<usize>) -> Shape {
    rank.map_or_else(Shape::unknown, |r| Shape::from_dims(vec![None; r]))
}

pub(super) fn constant(_: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Const(v) = attr else { return Err(Fail::Shape("missing value")) };
    one(Shape::from(v.shape()), v.dtype())
}

pub(super) fn placeholder(_: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Placeholder(shape, dtype) = attr else { return Err(Fail::Shape("missing shape and dtype")) };
    one(Shape::clone(shape), *dtype)
}

pub(super) fn variable(_: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Variable(v) = attr else { return Err(Fail::Shape("missing variable")) };
    one(Shape::from(v.shape()), v.dtype())
}

pub(super) fn nothing(_: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    Ok(Outputs::new())
}

pub(super) fn same(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    one(x[0].shape.clone(), x[0].dtype)
}

pub(super) fn scalar(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    one(Shape::scalar(), x[0].dtype)
}

pub(super) fn cast(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::DType(to) = attr else { return Err(Fail::Shape("missing dtype")) };
    one(x[0].shape.clone(), *to)
}

/// NumPy broadcasting of two static shapes; `None` when they cannot broadcast.
pub(crate) fn broadcast_shapes(a: &Shape, b: &Shape) -> Option<Shape> {
    let (Some(a), Some(b)) = (a.dims(), b.dims()) else { return Some(Shape::unknown()) };
    let rank = a.len().max(b.len());
    let at = |d: &[Dim], i: usize| if i + d.len() >= rank { d[i + d.len() - rank] } else { Some(1) };
    let dims: Option<Vec<Dim>> = (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (Some(x), Some(y)) if x == y || y == 1 => Some(Some(x)),
            (Some(1), y) | (y, Some(1)) => Some(y),
            (Some(_), Some(_)) => None,
            (None, Some(y)) | (Some(y), None) => Some(Some(y)),
            (None, None) => Some(None),
        })
        .collect();
    dims.map(Shape::from_dims)
}

const TOO_LARGE: Fail = Fail::Shape("a dimension of the output would be too large");

const NO_BROADCAST: Fail = Fail::Shape("each dimension must match or be 1 (NumPy broadcasting)");

pub(super) fn broadcast(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    one(broadcast_shapes(&x[0].shape, &x[1].shape).ok_or(NO_BROADCAST)?, x[0].dtype)
}

pub(super) fn compare(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    one(broadcast_shapes(&x[0].shape, &x[1].shape).ok_or(NO_BROADCAST)?, DType::Bool)
}

fn check_select_dtypes(x: &[&Tensor]) -> Result<(), Fail> {
    if x[0].dtype != DType::Bool || x[1].dtype != x[2].dtype {
        return Err(Fail::DType);
    }
    Ok(())
}

pub(super) fn select(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    check_select_dtypes(x)?;
    let (c, t, e) = (&x[0].shape, &x[1].shape, &x[2].shape);
    if !t.is_compatible_with(e) {
        return Err(Fail::Shape("Select takes values of one shape"));
    }
    let values = match (t.dims(), e.dims()) {
        (Some(a), Some(b)) => Shape::from_dims(a.iter().zip(b).map(|(&p, &q)| p.or(q)).collect::<Vec<_>>()),
        (Some(_), None) => t.clone(),
        _ => e.clone(),
    };
    let fits = c.is_compatible_with(&values)
        || c.rank() == Some(0)
        || matches!((c.dims(), values.dims()), (Some([n]), Some([m, _, ..])) if compatible(*n, *m))
        || c.rank().is_none()
        || values.rank().is_none();
    if !fits {
        return Err(Fail::Shape("the condition is a scalar, has the values' shape, or has one entry per row"));
    }
    one(values, x[1].dtype)
}

pub(super) fn select_v2(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    check_select_dtypes(x)?;
    let values = broadcast_shapes(&x[1].shape, &x[2].shape).ok_or(NO_BROADCAST)?;
    one(broadcast_shapes(&x[0].shape, &values).ok_or(NO_BROADCAST)?, x[1].dtype)
}

pub(super) fn matmul(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let (ta, tb) = match attr {
        Attr::MatMul { transpose_a, transpose_b } => (*transpose_a, *transpose_b),
        _ => (false, false),
    };
    let dims = |s: &Shape, t: bool| match s.dims() {
        Some(&[r, c]) => Ok(if t { (c, r) } else { (r, c) }),
        Some(_) => Err(Fail::Shape("both inputs of MatMul must have rank 2")),
        None => Ok((None, None)),
    };
    let ((m, k1), (k2, n)) = (dims(&x[0].shape, ta)?, dims(&x[1].shape, tb)?);
    if !compatible(k1, k2) {
        return Err(Fail::Shape("the inner dimensions must agree: [m, k] x [k, n]"));
    }
    one(Shape::from_dims([m, n]), x[0].dtype)
}

pub(super) fn bias_add(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    match (x[0].shape.dims(), x[1].shape.dims()) {
        (Some(xd), _) if xd.len() < 2 => Err(Fail::Shape("the input of BiasAdd must have rank 2 or more")),
        (_, Some(bd)) if bd.len() != 1 => Err(Fail::Shape("the bias must have rank 1")),
        (Some(xd), Some(bd)) if !compatible(xd[xd.len() - 1], bd[0]) => {
            Err(Fail::Shape("the bias must be as long as the input's last dimension"))
        }
        _ => one(x[0].shape.clone(), x[0].dtype),
    }
}

pub(super) fn reduce(x: &[&Tensor], attr: &Attr, consts: Consts<'_>) -> Inferred {
    let Attr::Reduce { keep_dims, all_axes } = *attr else { return Err(Fail::Shape("missing keep_dims")) };
    if x[0].dtype == DType::Bool {
        return Err(Fail::DType);
    }
    int_operand(x[1])?;
    if all_axes && !keep_dims {
        return one(Shape::scalar(), x[0].dtype);
    }
    let Some(dims) = x[0].shape.dims() else { return one(Shape::unknown(), x[0].dtype) };
    let Some(axes) = const_ints(consts, 1) else {
        let same_rank = if keep_dims { unknown_dims(Some(dims.len())) } else { Shape::unknown() };
        return one(same_rank, x[0].dtype);
    };
    let axes: Vec<usize> = axes
        .iter()
        .map(|&a| axis_in(a, dims.len()))
        .collect::<Option<_>>()
        .ok_or(Fail::Shape("a reduction axis is out of range for the input's rank"))?;
    let out = dims.iter().enumerate().filter_map(|(i, d)| match (axes.contains(&i), keep_dims) {
        (true, true) => Some(Some(1)),
        (true, false) => None,
        (false, _) => Some(*d),
    });
    one(Shape::from_dims(out.collect::<Vec<_>>()), x[0].dtype)
}

pub(super) fn arg_max(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::ArgMax { axis, dtype } = *attr else { return Err(Fail::Shape("missing axis")) };
    if !matches!(dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    let shape = match x[0].shape.dims() {
        Some(d) if axis >= d.len() => return Err(Fail::Shape("the axis is out of range for the input's rank")),
        Some(d) => {
            Shape::from_dims(d.iter().enumerate().filter(|(i, _)| *i != axis).map(|(_, d)| *d).collect::<Vec<_>>())
        }
        None => Shape::unknown(),
    };
    one(shape, dtype)
}

pub(super) fn reshape(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    let shape = match const_ints(consts, 1) {
        Some(target) => Shape::from_dims(reshape_target(&target, x[0].shape.num_elements()).map_err(Fail::Shape)?),
        None => match partial_shape(consts, 1) {
            Some(dims) => Shape::from_dims(dims),
            None => vector_length(x[1]).map_or_else(Shape::unknown, |n| unknown_dims(Some(n))),
        },
    };
    one(shape, x[0].dtype)
}

pub(super) fn transpose(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    let Some(perm) = const_ints(consts, 1) else {
        return one(unknown_dims(x[0].shape.rank().or(vector_length(x[1]))), x[0].dtype);
    };
    let Some(dims) = x[0].shape.dims() else { return one(unknown_dims(Some(perm.len())), x[0].dtype) };
    let perm: Vec<usize> = perm.iter().map(|&p| axis_in(p, dims.len())).collect::<Option<_>>().unwrap_or_default();
    let mut seen = vec![false; dims.len()];
    if perm.len() != dims.len() || perm.iter().any(|&p| std::mem::replace(&mut seen[p], true)) {
        return Err(Fail::Shape("the permutation must list every axis once"));
    }
    one(Shape::from_dims(perm.iter().map(|&p| dims[p]).collect::<Vec<_>>()), x[0].dtype)
}

pub(super) fn concat(x: &[&Tensor], attr: &Attr, consts: Consts<'_>) -> Inferred {
    // ConcatV2 takes its axis as its last input; a partition's concatenation in its attributes.
    let (values, axis) = match *attr {
        Attr::Axis(axis) => (x, i64::try_from(axis).ok()),
        _ => {
            let (axis, values) = x.split_last().ok_or(Fail::Shape("missing axis"))?;
            int_operand(axis)?;
            (values, const_ints(consts, x.len() - 1).and_then(|a| a.first().copied()))
        }
    };
    let dtype = values.first().ok_or(Fail::Shape("concat needs a value"))?.dtype;
    if values.iter().any(|t| t.dtype != dtype) {
        return Err(Fail::DType);
    }
    let known: Vec<&[Dim]> = values.iter().filter_map(|t| t.shape.dims()).collect();
    let Some(first) = known.first() else { return one(Shape::unknown(), dtype) };
    let axis = match axis {
        Some(a) => {
            axis_in(a, first.len()).ok_or(Fail::Shape("the concat axis is out of range for the inputs' rank"))?
        }
        None => return one(unknown_dims(Some(first.len())), dtype),
    };
    if known.iter().any(|d| d.len() != first.len()) {
        return Err(Fail::Shape("inputs of concat have one rank"));
    }
    let mut out: Vec<Dim> = first.to_vec();
    for (i, slot) in out.iter_mut().enumerate() {
        if i == axis {
            // `d[i]`: every known shape has `first`'s rank (checked above). A
            // sum that overflows is no shape a tensor can have.
            *slot = match known.len() == values.len() {
                true => known.iter().try_fold(Some(0usize), |n, d| match (n, d[i]) {
                    (Some(n), Some(d)) => n.checked_add(d).map(Some).ok_or(TOO_LARGE),
                    _ => Ok(None),
                })?,
                false => None,
            };
        } else if known.iter().any(|d| !compatible(d[i], first[i])) {
            return Err(Fail::Shape("inputs of concat must agree on every axis but the concatenated one"));
        }
    }
    one(Shape::from_dims(out), dtype)
}

pub(super) fn stack(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Axis(axis) = *attr else { return Err(Fail::Shape("missing axis")) };
    let first = &x[0].shape;
    if x.iter().any(|t| !t.shape.is_compatible_with(first)) {
        return Err(Fail::Shape("inputs of stack must have one shape"));
    }
    let Some(dims) = first.dims() else { return one(Shape::unknown(), x[0].dtype) };
    if axis > dims.len() {
        return Err(Fail::Shape("the stack axis is beyond the inputs' rank"));
    }
    let mut out = dims.to_vec();
    out.insert(axis, Some(x.len()));
    one(Shape::from_dims(out), x[0].dtype)
}

/// The most outputs an op may have: enough for any split a model makes,
/// few enough that a mistyped count is an error and not an exhausted memory.
const MAX_OUTPUTS: usize = 1 << 16;

/// The input's dims with `axis` replaced by each of `sizes`.
fn parts(x: &Tensor, axis: usize, sizes: &[Dim]) -> Inferred {
    Ok(sizes
        .iter()
        .map(|&size| {
            let shape = match x.shape.dims() {
                Some(d) => {
                    let mut d = d.to_vec();
                    d[axis] = size;
                    Shape::from_dims(d)
                }
                None => Shape::unknown(),
            };
            (shape, x.dtype)
        })
        .collect())
}

fn axis_dim(x: &Tensor, axis: usize) -> Result<Dim, Fail> {
    match x.shape.dims() {
        Some(d) if axis >= d.len() => Err(Fail::Shape("the axis is out of range for the input's rank")),
        Some(d) => Ok(d[axis]),
        None => Ok(None),
    }
}

pub(super) fn split(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Split { axis, num } = *attr else { return Err(Fail::Shape("missing split attributes")) };
    if num == 0 || num > MAX_OUTPUTS {
        return Err(Fail::Shape("split into at least one part and at most 65536"));
    }
    // TF's `Split` takes the axis first (the attribute repeats its constant value).
    int_operand(x[0])?;
    let size = match axis_dim(x[1], axis)? {
        Some(d) if d % num != 0 => {
            return Err(Fail::Shape("the dimension split is not divisible by the number of parts"));
        }
        d => d.map(|d| d / num),
    };
    parts(x[1], axis, &vec![size; num])
}

pub(super) fn split_v(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::SplitV { axis, sizes } = attr else { return Err(Fail::Shape("missing split attributes")) };
    if sizes.is_empty() || sizes.len() > MAX_OUTPUTS {
        return Err(Fail::Shape("split into at least one part and at most 65536"));
    }
    let dim = axis_dim(x[0], *axis)?;
    let sizes = split_sizes(sizes, dim).map_err(Fail::Shape)?;
    parts(x[0], *axis, &sizes)
}

pub(super) fn unstack(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Unstack { axis, num } = *attr else { return Err(Fail::Shape("missing unstack attributes")) };
    if num > MAX_OUTPUTS {
        return Err(Fail::Shape("unstack into at most 65536 outputs"));
    }
    let shape = match x[0].shape.dims() {
        Some(d) if axis >= d.len() => return Err(Fail::Shape("the axis is out of range for the input's rank")),
        Some(d) if d[axis].is_some_and(|n| n != num) => {
            return Err(Fail::Shape("the dimension unstacked must have as many elements as there are outputs"));
        }
        Some(d) => {
            Shape::from_dims(d.iter().enumerate().filter(|(i, _)| *i != axis).map(|(_, d)| *d).collect::<Vec<_>>())
        }
        None => Shape::unknown(),
    };
    Ok((0..num).map(|_| (shape.clone(), x[0].dtype)).collect())
}

pub(super) fn slice(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    int_operand(x[2])?;
    let rank = x[0].shape.rank().or(vector_length(x[1])).or(vector_length(x[2]));
    let shape = match (const_ints(consts, 1), const_ints(consts, 2)) {
        (Some(begin), Some(size)) => {
            let begin: Vec<usize> = begin
                .iter()
                .map(|&b| usize::try_from(b).ok())
                .collect::<Option<_>>()
                .ok_or(Fail::Shape("the slice must lie within the input"))?;
            let dims: Vec<Dim> = match x[0].shape.dims() {
                Some(d) => d.to_vec(),
                None => vec![None; begin.len()],
            };
            Shape::from_dims(slice_sizes(&begin, &size, &dims).map_err(Fail::Shape)?)
        }
        (None, Some(size)) if rank.is_none_or(|r| r == size.len()) => {
            Shape::from_dims(size.iter().map(|&s| usize::try_from(s).ok()).collect::<Vec<_>>())
        }
        (None, Some(_)) => return Err(Fail::Shape("begin and size have one entry per axis of the input")),
        (_, None) => unknown_dims(rank),
    };
    one(shape, x[0].dtype)
}

pub(super) fn strided_slice(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::StridedSlice(spec) = attr else { return Err(Fail::Shape("missing strided slice attributes")) };
    let n = spec.begin.len();
    if spec.end.len() != n || spec.strides.as_ref().is_some_and(|s| s.len() != n) {
        return Err(Fail::Shape("begin, end and strides have one entry per sliced axis"));
    }
    let Some(dims) = x[0].shape.dims() else { return one(Shape::unknown(), x[0].dtype) };
    if n > dims.len() {
        return Err(Fail::Shape("more sliced axes than the input has"));
    }
    let mut out = Vec::with_capacity(dims.len());
    for (i, &d) in dims.iter().enumerate() {
        let shrink = i < n && i < 64 && spec.shrink_axis_mask >> i & 1 == 1;
        match (i < n, d) {
            (false, d) => out.push(d),
            (true, Some(d)) => match stride_axis(spec, i, d).map_err(Fail::Shape)? {
                Stride::Range { len, .. } => out.push(Some(len)),
                Stride::Index(_) => {}
            },
            (true, None) if shrink => {}
            (true, None) => out.push(None),
        }
    }
    one(Shape::from_dims(out), x[0].dtype)
}

/// `UnsortedSegmentSum`: `[num_segments] + data.shape[rank(ids)..]`.
pub(super) fn unsorted_segment_sum(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    let (data, ids) = (x[0], x[1]);
    if !matches!(ids.dtype, DType::I32 | DType::I64) || data.dtype == DType::Bool {
        return Err(Fail::DType);
    }
    int_operand(x[2])?;
    let num = match const_ints(consts, 2).as_deref() {
        Some(&[n]) => Some(usize::try_from(n).map_err(|_| Fail::Shape("the number of segments is 0 or more"))?),
        Some(_) => return Err(Fail::Shape("the number of segments is one integer")),
        None => None,
    };
    let shape = match (data.shape.dims(), ids.shape.rank()) {
        (Some(d), Some(r)) if r <= d.len() => {
            Shape::from_dims(std::iter::once(num).chain(d[r..].iter().copied()).collect::<Vec<_>>())
        }
        (Some(_), Some(_)) => return Err(Fail::Shape("the segment ids' rank is at most the data's")),
        _ => Shape::unknown(),
    };
    one(shape, data.dtype)
}

/// `StridedSliceGrad`: the shape its first input lists, the gradient's dtype.
pub(super) fn strided_slice_grad(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    x[..4].iter().try_for_each(|t| int_operand(t))?;
    let shape = match const_ints(consts, 0) {
        Some(dims) => Shape::from_dims(dims.iter().map(|&d| usize::try_from(d).ok()).collect::<Vec<_>>()),
        None => unknown_dims(vector_length(x[0])),
    };
    one(shape, x[4].dtype)
}

/// `ConcatOffset`: one offset vector per shape (every input after the axis).
pub(super) fn concat_offset(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    x.iter().try_for_each(|t| int_operand(t))?;
    if x.len() < 3 {
        return Err(Fail::Shape("ConcatOffset takes an axis and two shapes or more"));
    }
    Ok(x[1..].iter().map(|t| (t.shape.clone(), t.dtype)).collect())
}

/// `ShapeN`: each input's shape, as int32.
/// One output per input, of its shape and dtype, all floats (`MpiAllreduce`).
#[cfg(feature = "mpi")]
pub(super) fn each_float(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    if x.iter().any(|t| !t.dtype.is_floating()) {
        return Err(Fail::DType);
    }
    Ok(x.iter().map(|t| (t.shape.clone(), t.dtype)).collect())
}

pub(super) fn shape_n(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    Ok(x.iter().map(|t| (Shape::from_dims([t.shape.rank()]), DType::I32)).collect())
}

pub(super) fn gather(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    let (params, indices) = (x[0], x[1]);
    if !matches!(indices.dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    int_operand(x[2])?;
    let axis = match const_ints(consts, 2).as_deref() {
        Some(&[a]) => Some(a),
        Some(_) => return Err(Fail::Shape("the axis of a gather is one integer")),
        None => None,
    };
    let shape = match (params.shape.dims(), indices.shape.dims(), axis) {
        (Some([]), _, _) => return Err(Fail::Shape("gather needs params of rank 1 or more")),
        (Some(p), Some(i), Some(axis)) => {
            let axis = axis_in(axis, p.len()).ok_or(Fail::Shape("the gather axis is out of range for the params"))?;
            Shape::from_dims(p[..axis].iter().chain(i).chain(&p[axis + 1..]).copied().collect::<Vec<_>>())
        }
        (Some(p), Some(i), None) => unknown_dims(Some(p.len() + i.len() - 1)),
        _ => Shape::unknown(),
    };
    one(shape, params.dtype)
}

pub(super) fn shape_of(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::DType(dtype) = *attr else { return Err(Fail::Shape("missing dtype")) };
    if !matches!(dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    one(Shape::from_dims([x[0].shape.rank()]), dtype)
}

pub(super) fn fill(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Fill(shape) = attr else { return Err(Fail::Shape("missing shape")) };
    if !matches!(x[0].dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    if x[0].shape.rank().is_some_and(|r| r != 1) || x[1].shape.rank().is_some_and(|r| r != 0) {
        return Err(Fail::Shape("Fill takes a vector of sizes and a scalar value"));
    }
    one(Shape::clone(shape), x[1].dtype)
}

pub(super) fn one_hot(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::OneHot(o) = attr else { return Err(Fail::Shape("missing one_hot attributes")) };
    if !matches!(x[0].dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    let shape = match x[0].shape.dims() {
        Some(d) => {
            let axis = o.axis.unwrap_or(d.len());
            if axis > d.len() {
                return Err(Fail::Shape("the one_hot axis is beyond the output's rank"));
            }
            let mut d = d.to_vec();
            d.insert(axis, Some(o.depth));
            Shape::from_dims(d)
        }
        None => Shape::unknown(),
    };
    one(shape, o.dtype)
}

pub(super) fn pad(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    if x.get(2).is_some_and(|v| v.dtype != x[0].dtype) {
        return Err(Fail::DType);
    }
    let rank = x[0].shape.rank().or(x[1].shape.dims().and_then(|d| d.first().copied().flatten()));
    let (Some(pads), Some(dims)) = (const_ints(consts, 1), x[0].shape.dims()) else {
        return one(unknown_dims(rank), x[0].dtype);
    };
    if pads.len() != 2 * dims.len() || pads.iter().any(|&p| p < 0) {
        return Err(Fail::Shape("paddings have one pair of sizes per axis of the input"));
    }
    let padded = |d: usize, i: usize| {
        d.checked_add(pads[2 * i] as usize).and_then(|d| d.checked_add(pads[2 * i + 1] as usize)).ok_or(TOO_LARGE)
    };
    let dims = dims.iter().enumerate().map(|(i, d)| d.map(|d| padded(d, i)).transpose()).collect::<Result<Vec<_>, _>>();
    one(Shape::from_dims(dims?), x[0].dtype)
}

pub(super) fn tile(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    let (Some(multiples), Some(dims)) = (const_ints(consts, 1), x[0].shape.dims()) else {
        // Multiples that are another tensor's shape: known where both factors are.
        if let (Some(multiples), Some(dims)) = (partial_shape(consts, 1), x[0].shape.dims())
            && multiples.len() == dims.len()
        {
            let product = |(d, m): (&Dim, &Dim)| d.zip(*m).and_then(|(d, m)| d.checked_mul(m));
            return one(Shape::from_dims(dims.iter().zip(&multiples).map(product).collect::<Vec<_>>()), x[0].dtype);
        }
        return one(unknown_dims(x[0].shape.rank().or(vector_length(x[1]))), x[0].dtype);
    };
    if multiples.len() != dims.len() || multiples.iter().any(|&m| m < 0) {
        return Err(Fail::Shape("multiples have one count per axis of the input"));
    }
    let tiled = |d: usize, m: i64| d.checked_mul(m as usize).ok_or(TOO_LARGE);
    let dims =
        dims.iter().zip(&multiples).map(|(d, &m)| d.map(|d| tiled(d, m)).transpose()).collect::<Result<Vec<_>, _>>();
    one(Shape::from_dims(dims?), x[0].dtype)
}

pub(super) fn add_n(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let mut shape = x[0].shape.clone();
    for t in &x[1..] {
        if !t.shape.is_compatible_with(&shape) {
            return Err(Fail::Shape("inputs of AddN must have one shape"));
        }
        if shape.rank().is_none() || shape.num_elements().is_none() {
            shape = t.shape.clone();
        }
    }
    one(shape, x[0].dtype)
}

pub(super) fn bias_add_grad(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    match x[0].shape.dims() {
        Some([]) => Err(Fail::Shape("the gradient of BiasAdd has rank 1 or more")),
        Some(d) => one(Shape::from_dims([d[d.len() - 1]]), x[0].dtype),
        None => one(unknown_dims(Some(1)), x[0].dtype),
    }
}

pub(super) fn rank(_: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    one(Shape::scalar(), DType::I32)
}

pub(super) fn range(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    if x.iter().any(|t| t.dtype != x[0].dtype) || !matches!(x[0].dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    let scalar = |i: usize| const_ints(consts, i).and_then(|v| v.first().copied());
    let len = match (scalar(0), scalar(1), scalar(2)) {
        (_, _, Some(0)) => return Err(Fail::Shape("the step of range must not be 0")),
        (Some(start), Some(limit), Some(delta)) => Some(range_len(start, limit, delta).ok_or(TOO_LARGE)?),
        _ => None,
    };
    one(Shape::from_dims([len]), x[0].dtype)
}

pub(super) fn assign(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    if !x[1].shape.is_compatible_with(&x[0].shape) {
        return Err(Fail::Shape("the value assigned must have the variable's shape"));
    }
    one(x[0].shape.clone(), x[0].dtype)
}

/// Output size of one spatial dimension of a window op.
fn window_dim(input: Dim, k: Dim, stride: usize, dilation: usize, padding: crate::graph::Padding) -> Result<Dim, Fail> {
    match (input, k) {
        (Some(i), Some(k)) => window(i, k, stride, dilation, padding)
            .map(|(o, _)| Some(o))
            .ok_or(Fail::Shape("the window is larger than the input (VALID padding)")),
        _ => Ok(None),
    }
}

pub(super) fn conv2d(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Conv(c) = attr else { return Err(Fail::Shape("missing convolution attributes")) };
    if c.strides.contains(&0) || c.dilations.contains(&0) {
        return Err(Fail::Shape("strides and dilations are 1 or more"));
    }
    let shape = match (x[0].shape.dims(), x[1].shape.dims()) {
        (Some(xd), _) if xd.len() != 4 => return Err(Fail::Shape("the input of Conv2D is NHWC: rank 4")),
        (_, Some(fd)) if fd.len() != 4 => {
            return Err(Fail::Shape("the filter of Conv2D is [height, width, in, out]: rank 4"));
        }
        (_, Some(fd)) if fd[..2].contains(&Some(0)) => return Err(Fail::Shape("the filter is at least 1 by 1")),
        (Some(xd), Some(fd)) => {
            if !compatible(xd[3], fd[2]) {
                return Err(Fail::Shape("the filter's input channels must match the input's channels"));
            }
            let h = window_dim(xd[1], fd[0], c.strides[0], c.dilations[0], c.padding)?;
            let w = window_dim(xd[2], fd[1], c.strides[1], c.dilations[1], c.padding)?;
            Shape::from_dims([xd[0], h, w, fd[3]])
        }
        _ => unknown_dims(Some(4)),
    };
    one(shape, x[0].dtype)
}

pub(super) fn pool(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Pool(p) = attr else { return Err(Fail::Shape("missing pooling attributes")) };
    if p.strides.contains(&0) || p.ksize.contains(&0) {
        return Err(Fail::Shape("window sizes and strides are 1 or more"));
    }
    let shape = match x[0].shape.dims() {
        Some(xd) if xd.len() != 4 => return Err(Fail::Shape("the input of pooling is NHWC: rank 4")),
        Some(xd) => {
            let h = window_dim(xd[1], Some(p.ksize[0]), p.strides[0], 1, p.padding)?;
            let w = window_dim(xd[2], Some(p.ksize[1]), p.strides[1], 1, p.padding)?;
            Shape::from_dims([xd[0], h, w, xd[3]])
        }
        None => unknown_dims(Some(4)),
    };
    one(shape, x[0].dtype)
}

/// `ListDiff(x, y)`: two vectors of unknown length, the values' dtype and int32.
pub(super) fn list_diff(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    int_operand(x[0])?;
    int_operand(x[1])?;
    let vector = Shape::from_dims([None]);
    Ok(smallvec![(vector.clone(), x[0].dtype), (vector, DType::I32)])
}

/// `Cumprod(x, axis)`: `x`'s shape.
pub(super) fn cumulative(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    if x[1].shape.rank().is_some_and(|r| r != 0) {
        return Err(Fail::Shape("the axis is a scalar"));
    }
    one(x[0].shape.clone(), x[0].dtype)
}

/// `BroadcastTo(x, shape)`: the shape's value when known, else its length's unknown dims.
pub(super) fn broadcast_to(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    let shape = match const_ints(consts, 1) {
        Some(dims) => Shape::from_dims(
            dims.iter()
                .map(|&d| usize::try_from(d).map(Some).map_err(|_| Fail::Shape("a shape holds no negative size")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => match partial_shape(consts, 1) {
            Some(dims) => Shape::from_dims(dims),
            None => unknown_dims(vector_length(x[1])),
        },
    };
    if shape.dims().is_some() && broadcast_shapes(&x[0].shape, &shape).is_none() {
        return Err(Fail::Shape("the input must broadcast to the shape"));
    }
    one(shape, x[0].dtype)
}

/// `DynamicStitch(indices…, data…)`: `[max index + 1]` when every index is
/// known, then the data's inner dimensions.
pub(super) fn dynamic_stitch(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    let n = x.len() / 2;
    if n == 0 || x.len() != 2 * n {
        return Err(Fail::Shape("DynamicStitch takes as many data as index tensors"));
    }
    if x[..n].iter().any(|t| !matches!(t.dtype, DType::I32 | DType::I64))
        || x[n..].iter().any(|t| t.dtype != x[n].dtype)
    {
        return Err(Fail::DType);
    }
    let len = (0..n)
        .map(|i| const_ints(consts, i))
        .collect::<Option<Vec<_>>>()
        .and_then(|all| all.iter().flatten().try_fold(0usize, |m, &i| usize::try_from(i).ok().map(|i| m.max(i + 1))));
    let inner = match (x[0].shape.rank(), x[n].shape.dims()) {
        (Some(r), Some(d)) if d.len() >= r => Some(d[r..].to_vec()),
        _ => None,
    };
    let shape = match inner {
        Some(inner) => Shape::from_dims(std::iter::once(len).chain(inner).collect::<Vec<_>>()),
        None => Shape::unknown(),
    };
    one(shape, x[n].dtype)
}

/// A shape given as an int vector operand: its value when known, else
/// `fallback` (which gradients then refine by the input's static shape).
fn shape_operand(x: &Tensor, consts: Consts<'_>, i: usize, fallback: [Dim; 4]) -> Result<Shape, Fail> {
    int_operand(x)?;
    match const_ints(consts, i) {
        Some(dims) if dims.len() == 4 => dims
            .iter()
            .map(|&d| usize::try_from(d).map(Some).map_err(|_| Fail::Shape("a shape holds no negative size")))
            .collect::<Result<Vec<_>, _>>()
            .map(Shape::from_dims),
        Some(_) => Err(Fail::Shape("the shape of an NHWC tensor or a filter has 4 sizes")),
        None => match partial_shape(consts, i) {
            Some(dims) if dims.len() == 4 => {
                Ok(Shape::from_dims(dims.iter().zip(fallback).map(|(&d, f)| d.or(f)).collect::<Vec<_>>()))
            }
            _ => Ok(Shape::from_dims(fallback)),
        },
    }
}

/// The dimension `i` of `t`, when known.
fn dim_of(t: &Tensor, i: usize) -> Dim {
    t.shape.dims().and_then(|d| d.get(i).copied().flatten())
}

/// `Conv2DBackpropInput(input_sizes, filter, out_backprop)`: the input's shape.
pub(super) fn conv2d_backprop_input(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    let shape = shape_operand(x[0], consts, 0, [dim_of(x[2], 0), None, None, dim_of(x[1], 2)])?;
    one(shape, x[1].dtype)
}

/// `Conv2DBackpropFilter(input, filter_sizes, out_backprop)`: the filter's shape.
pub(super) fn conv2d_backprop_filter(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    let shape = shape_operand(x[1], consts, 1, [None, None, dim_of(x[0], 3), dim_of(x[2], 3)])?;
    one(shape, x[0].dtype)
}

/// `AvgPoolGrad(orig_input_shape, grad)`: the input's shape.
pub(super) fn avg_pool_grad(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    let shape = shape_operand(x[0], consts, 0, [dim_of(x[1], 0), None, None, dim_of(x[1], 3)])?;
    one(shape, x[1].dtype)
}

pub(super) fn apply_gradient_descent(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let (var, alpha, delta) = (x[0], x[1], x[2]);
    if alpha.shape.rank().is_some_and(|r| r != 0) {
        return Err(Fail::Shape("the learning rate is a scalar"));
    }
    if !delta.shape.is_compatible_with(&var.shape) {
        return Err(Fail::Shape("the gradient must have the variable's shape"));
    }
    one(var.shape.clone(), var.dtype)
}

pub(super) fn apply_momentum(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let (var, accum, lr, grad, momentum) = (x[0], x[1], x[2], x[3], x[4]);
    if [lr, momentum].iter().any(|t| t.shape.rank().is_some_and(|r| r != 0)) {
        return Err(Fail::Shape("the learning rate and momentum are scalars"));
    }
    if !accum.shape.is_compatible_with(&var.shape) || !grad.shape.is_compatible_with(&var.shape) {
        return Err(Fail::Shape("the accumulator and the gradient must have the variable's shape"));
    }
    one(var.shape.clone(), var.dtype)
}

/// An optimizer's update of a variable and its slots (the first inputs, of
/// the variable's shape), from scalar hyperparameters and the gradient (the
/// last input): the output is the variable.
pub(super) fn apply_slots(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Apply { vars, .. } = attr else { return Err(Fail::Shape("missing variables")) };
    let (changed, rest) = x.split_at(vars.len().min(x.len()));
    let (Some(var), Some((grad, hyper))) = (changed.first(), rest.split_last()) else {
        return Err(Fail::Shape("an update takes its variables, hyperparameters and a gradient"));
    };
    if changed.iter().chain([grad]).any(|t| !t.shape.is_compatible_with(&var.shape)) {
        return Err(Fail::Shape("the slots and the gradient must have the variable's shape"));
    }
    if hyper.iter().any(|t| t.shape.rank().is_some_and(|r| r != 0)) {
        return Err(Fail::Shape("the hyperparameters are scalars"));
    }
    one(var.shape.clone(), var.dtype)
}

pub(super) fn int_vector(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    int_operand(x[0])?;
    if x[0].shape.rank().is_some_and(|r| r != 1) {
        return Err(Fail::Shape("a permutation is a vector"));
    }
    one(x[0].shape.clone(), x[0].dtype)
}

pub(super) fn int_broadcast(x: &[&Tensor], attr: &Attr, consts: Consts<'_>) -> Inferred {
    if !matches!(x[0].dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    broadcast(x, attr, consts)
}

pub(super) fn expand_dims(x: &[&Tensor], _: &Attr, consts: Consts<'_>) -> Inferred {
    int_operand(x[1])?;
    let Some(dims) = x[0].shape.dims() else { return one(Shape::unknown(), x[0].dtype) };
    let Some(dim) = const_ints(consts, 1) else { return one(unknown_dims(Some(dims.len() + 1)), x[0].dtype) };
    let axis = match dim.as_slice() {
        &[d] => crate::kernels::array::expand_axis(d, dims.len()),
        _ => None,
    }
    .ok_or(Fail::Shape("the axis of ExpandDims is one integer in [-rank - 1, rank]"))?;
    let mut out = dims.to_vec();
    out.insert(axis, Some(1));
    one(Shape::from_dims(out), x[0].dtype)
}

pub(super) fn sparse_softmax_xent(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let (logits, labels) = (x[0], x[1]);
    if !logits.dtype.is_floating() || !matches!(labels.dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    let logits_dims = logits.shape.dims().map(<[Dim]>::to_vec).unwrap_or_else(|| vec![None, None]);
    let labels_dims = labels.shape.dims().map(<[Dim]>::to_vec).unwrap_or_else(|| vec![None]);
    if logits_dims.len() != 2 || labels_dims.len() != 1 {
        return Err(Fail::Shape("the logits are [batch, classes] and the labels [batch]"));
    }
    if !compatible(logits_dims[0], labels_dims[0]) {
        return Err(Fail::Shape("there is one label per row of the logits"));
    }
    let batch = logits_dims[0].or(labels_dims[0]);
    Ok(smallvec![
        (Shape::from_dims(vec![batch]), logits.dtype),
        (Shape::from_dims(vec![batch, logits_dims[1]]), logits.dtype)
    ])
}

/// TF `FusedBatchNormV3`'s shape function: `x` is NHWC; `scale`, `offset`,
/// `mean` and `variance` are vectors of its channels. Outputs: `y` as `x`,
/// four channel vectors, and a reserve of unknown shape.
pub(super) fn fused_batch_norm(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let (dims, channels) = nhwc_and_channels(x[0], &x[1..])?;
    let c = Shape::from_dims([channels]);
    let dt = x[0].dtype;
    Ok(smallvec![
        (Shape::from_dims(dims), dt),
        (c.clone(), dt),
        (c.clone(), dt),
        (c.clone(), dt),
        (c, dt),
        (Shape::unknown(), dt)
    ])
}

/// TF `FusedBatchNormGradV3`'s shape function: from `y_backprop` and `x`
/// (NHWC), `scale`, and the two saved channel vectors (the third reserve is
/// any shape): `x_backprop` as `x`, the scale's and offset's gradients, and
/// two empty reserves.
pub(super) fn fused_batch_norm_grad(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let (mut dims, channels) = nhwc_and_channels(x[1], &[x[2], x[3], x[4]])?;
    let (dy, _) = nhwc_and_channels(x[0], &[])?;
    if x[0].dtype != x[1].dtype || x[5].dtype != x[1].dtype {
        return Err(Fail::DType);
    }
    for (d, g) in dims.iter_mut().zip(dy) {
        if !compatible(*d, g) {
            return Err(Fail::Shape("the output's gradient has the input's shape"));
        }
        *d = d.or(g);
    }
    let c = Shape::from_dims([channels]);
    let dt = x[1].dtype;
    let empty = Shape::from_dims([Some(0)]);
    Ok(smallvec![(Shape::from_dims(dims), dt), (c.clone(), dt), (c, dt), (empty.clone(), dt), (empty, dt)])
}

/// An NHWC tensor `x` and channel vectors of its dtype: `x`'s dims (rank 4)
/// and the channels, merged from `x`'s last dimension and the vectors.
fn nhwc_and_channels(x: &Tensor, vectors: &[&Tensor]) -> Result<(Vec<Dim>, Dim), Fail> {
    if !x.dtype.is_floating() || vectors.iter().any(|v| v.dtype != x.dtype) {
        return Err(Fail::DType);
    }
    let dims = x.shape.dims().map(<[Dim]>::to_vec).unwrap_or_else(|| vec![None; 4]);
    if dims.len() != 4 {
        return Err(Fail::Shape("the input is 4-D (NHWC)"));
    }
    let mut channels = dims[3];
    for v in vectors {
        let n = match v.shape.dims() {
            None => None,
            Some(&[n]) => n,
            Some(_) => return Err(Fail::Shape("scale, offset, mean and variance are vectors")),
        };
        if !compatible(channels, n) {
            return Err(Fail::Shape("scale, offset, mean and variance have one entry per channel (the last axis)"));
        }
        channels = channels.or(n);
    }
    let mut dims = dims;
    dims[3] = channels;
    Ok((dims, channels))
}

pub(super) fn broadcast_gradient_args(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    int_operand(x[0])?;
    int_operand(x[1])?;
    if x[0].dtype != x[1].dtype {
        return Err(Fail::DType);
    }
    let axes = Shape::from_dims([None]);
    Ok(smallvec![(axes.clone(), x[0].dtype), (axes, x[0].dtype)])
}

pub(super) fn softmax_xent(x: &[&Tensor], _: &Attr, _: Consts<'_>) -> Inferred {
    let (logits, labels) = (x[0], x[1]);
    if !logits.dtype.is_floating() || labels.dtype != logits.dtype {
        return Err(Fail::DType);
    }
    let dims = |t: &Tensor| t.shape.dims().map(<[Dim]>::to_vec).unwrap_or_else(|| vec![None, None]);
    let (a, b) = (dims(logits), dims(labels));
    if a.len() != 2 || b.len() != 2 {
        return Err(Fail::Shape("the logits and the labels are [batch, classes]"));
    }
    if !a.iter().zip(&b).all(|(&p, &q)| compatible(p, q)) {
        return Err(Fail::Shape("the labels and the logits have one shape"));
    }
    let (batch, classes) = (a[0].or(b[0]), a[1].or(b[1]));
    Ok(smallvec![(Shape::from_dims(vec![batch]), logits.dtype), (Shape::from_dims(vec![batch, classes]), logits.dtype)])
}

pub(super) fn squeeze(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Squeeze(axes) = attr else { return Err(Fail::Shape("missing axes")) };
    let Some(dims) = x[0].shape.dims() else { return one(Shape::unknown(), x[0].dtype) };
    if axes.iter().any(|&a| a >= dims.len() || dims[a].is_some_and(|d| d != 1)) {
        return Err(Fail::Shape("Squeeze removes axes of size 1 within the input's rank"));
    }
    let out: Vec<Dim> = dims.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
    one(Shape::from_dims(out), x[0].dtype)
}

pub(super) fn random_uniform(x: &[&Tensor], attr: &Attr, consts: Consts<'_>) -> Inferred {
    let Attr::Random(r) = attr else { return Err(Fail::Shape("missing seed")) };
    int_operand(x[0])?;
    if x[0].shape.rank().is_some_and(|r| r != 1) {
        return Err(Fail::Shape("RandomUniform takes a vector of sizes"));
    }
    let shape = match (const_ints(consts, 0), partial_shape(consts, 0)) {
        (Some(d), _) => Shape::from_dims(d.iter().map(|&n| usize::try_from(n).ok()).collect::<Vec<_>>()),
        (None, Some(d)) => Shape::from_dims(d),
        (None, None) => unknown_dims(vector_length(x[0])),
    };
    one(shape, r.dtype)
}

/// `shape` with a leading axis of `steps` (a loop's values stacked over time).
fn over_time(steps: Dim, shape: &Shape) -> Shape {
    match shape.dims() {
        Some(d) => Shape::from_dims(std::iter::once(steps).chain(d.iter().copied())),
        None => Shape::unknown(),
    }
}

/// `shape` without its leading axis (one step of a time-major value).
fn one_step(shape: &Shape) -> Shape {
    match shape.dims() {
        Some([_, rest @ ..]) => Shape::from_dims(rest.iter().copied()),
        _ => Shape::unknown(),
    }
}

/// `Scan`: the final states, the outputs stacked over time, the states before each step stacked.
pub(super) fn scan(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Loop(body) = attr else { return Err(Fail::Shape("a scan needs its body")) };
    let s = body.signature();
    if x.len() != s.states + s.sequences + s.captures || s.sequences == 0 {
        return Err(Fail::Shape("a scan takes its states, at least one sequence and its captures"));
    }
    let steps = x[s.states]
        .shape
        .dims()
        .and_then(|d| d.first().copied())
        .ok_or(Fail::Shape("a sequence needs rank 1 or more"))?;
    let specs = body.step_outputs();
    let mut out = Outputs::new();
    for (i, t) in x[..s.states].iter().enumerate() {
        let shape = t
            .shape
            .merge(&specs[i].0)
            .ok_or(Fail::Shape("a loop body's new state has another shape than the state"))?;
        out.push((shape, t.dtype));
    }
    for (shape, dtype) in &specs[s.states..] {
        out.push((over_time(steps, shape), *dtype));
    }
    for t in &x[..s.states] {
        out.push((over_time(steps, &t.shape), t.dtype));
    }
    Ok(out)
}

/// `ScanGrad`: gradients of the initial states, the sequences and the captures, each of its input's shape.
pub(super) fn scan_grad(x: &[&Tensor], attr: &Attr, _: Consts<'_>) -> Inferred {
    let Attr::Loop(body) = attr else { return Err(Fail::Shape("a scan's gradient needs its body")) };
    let s = body.signature();
    if x.len() != s.sequences + s.captures + 2 * s.states + s.outputs {
        return Err(Fail::Shape("a scan's gradient takes its sequences, captures, states and gradients"));
    }
    let history = &x[s.sequences + s.captures..s.sequences + s.captures + s.states];
    let mut out: Outputs = history.iter().map(|t| (one_step(&t.shape), t.dtype)).collect();
    out.extend(x[..s.sequences + s.captures].iter().map(|t| (t.shape.clone(), t.dtype)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        let s = |d: &[usize]| Shape::from(d);
        assert_eq!(broadcast_shapes(&s(&[2, 3]), &s(&[3])), Some(s(&[2, 3])));
        assert_eq!(broadcast_shapes(&s(&[2, 1]), &s(&[1, 4])), Some(s(&[2, 4])));
        assert_eq!(broadcast_shapes(&s(&[2, 3]), &s(&[2])), None);
        assert_eq!(
            broadcast_shapes(&Shape::from_dims([None, Some(3)]), &s(&[3])),
            Some(Shape::from_dims([None, Some(3)]))
        );
    }

    #[test]
    fn reshape_infers_one_dimension() {
        assert_eq!(reshape_target(&[-1, 4], Some(8)), Ok(vec![Some(2), Some(4)]));
        assert!(reshape_target(&[3, -1], Some(8)).is_err());
        assert!(reshape_target(&[-1, -1], Some(8)).is_err());
        assert_eq!(reshape_target(&[-1, 784], None), Ok(vec![None, Some(784)]));
    }
}
