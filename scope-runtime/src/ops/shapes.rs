//! Static shapes and dtypes of op outputs, inferred when an op is built.

use super::{DTypes, OpKind, Padding, ShapeRule};
use crate::dtype::DType;
use crate::graph::Attr;
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;

/// Why inputs do not fit an op.
pub(crate) enum Fail {
    /// The inputs' dtypes.
    DType,
    /// The shape rule they break.
    Shape(&'static str),
}

type Inferred = Result<(Shape, DType), Fail>;

/// The output shape and dtype of `kind` on `inputs`.
pub(crate) fn infer(kind: OpKind, inputs: &[&Tensor], attr: &Attr) -> Inferred {
    let def = kind.def();
    if def.arity.is_some_and(|n| n != inputs.len()) || inputs.is_empty() {
        return Err(Fail::Shape("wrong number of inputs"));
    }
    let dtype = inputs[0].dtype;
    let data_inputs = if kind == OpKind::Gather { &inputs[..1] } else { inputs };
    let dtype_ok = |d: DType| match def.dtypes {
        DTypes::Any => true,
        DTypes::Numeric => d != DType::Bool,
        DTypes::Float => d.is_floating(),
    };
    if data_inputs.iter().any(|t| t.dtype != dtype || !dtype_ok(t.dtype)) {
        return Err(Fail::DType);
    }
    let shape = |i: usize| &inputs[i].shape;
    let out = match def.shape_rule {
        ShapeRule::Given => Shape::unknown(),
        ShapeRule::SameAsInput => shape(0).clone(),
        ShapeRule::Scalar => Shape::scalar(),
        ShapeRule::Broadcast => broadcast(shape(0), shape(1))
            .ok_or(Fail::Shape("each dimension must match or be 1 (NumPy broadcasting)"))?,
        ShapeRule::MatMul => matmul(shape(0), shape(1), attr)?,
        ShapeRule::BiasAdd => bias_add(shape(0), shape(1))?,
        ShapeRule::Reduce => reduce(shape(0), attr)?,
        ShapeRule::Reshape => reshape(shape(0), attr)?,
        ShapeRule::Transpose => transpose(shape(0), attr)?,
        ShapeRule::Concat => concat(inputs, attr)?,
        ShapeRule::Stack => stack(inputs, attr)?,
        ShapeRule::Gather => gather(inputs[0], inputs[1])?,
        ShapeRule::Conv2D => conv2d(shape(0), shape(1), attr)?,
        ShapeRule::Pool => pool(shape(0), attr)?,
    };
    let dtype = match attr {
        Attr::Cast(to) => *to,
        _ => dtype,
    };
    Ok((out, dtype))
}

/// NumPy broadcasting of two static shapes; `None` when they cannot broadcast.
pub(crate) fn broadcast(a: &Shape, b: &Shape) -> Option<Shape> {
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

/// Broadcasting of two concrete shapes, for kernels.
pub(crate) fn broadcast_sizes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let at = |d: &[usize], i: usize| if i + d.len() >= rank { d[i + d.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

fn compatible(a: Dim, b: Dim) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x == y) || a.is_none() || b.is_none()
}

fn matmul(a: &Shape, b: &Shape, attr: &Attr) -> Result<Shape, Fail> {
    let (ta, tb) = match attr {
        Attr::MatMul { transpose_a, transpose_b } => (*transpose_a, *transpose_b),
        _ => (false, false),
    };
    let dims = |s: &Shape, t: bool| match s.dims() {
        Some(&[r, c]) => Ok(if t { (c, r) } else { (r, c) }),
        Some(_) => Err(Fail::Shape("both inputs of MatMul must have rank 2")),
        None => Ok((None, None)),
    };
    let ((m, k1), (k2, n)) = (dims(a, ta)?, dims(b, tb)?);
    if !compatible(k1, k2) {
        return Err(Fail::Shape("the inner dimensions must agree: [m, k] x [k, n]"));
    }
    Ok(Shape::from_dims([m, n]))
}

fn bias_add(x: &Shape, b: &Shape) -> Result<Shape, Fail> {
    match (x.dims(), b.dims()) {
        (Some(xd), _) if xd.len() < 2 => Err(Fail::Shape("the input of BiasAdd must have rank 2 or more")),
        (_, Some(bd)) if bd.len() != 1 => Err(Fail::Shape("the bias must have rank 1")),
        (Some(xd), Some(bd)) if !compatible(xd[xd.len() - 1], bd[0]) => {
            Err(Fail::Shape("the bias must be as long as the input's last dimension"))
        }
        _ => Ok(x.clone()),
    }
}

/// The axes a reduction keeps, and the output shape.
fn reduce(x: &Shape, attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Reduce { axes, keep_dims } = attr else { return Err(Fail::Shape("missing reduction axes")) };
    let Some(dims) = x.dims() else { return Ok(Shape::unknown()) };
    let reduced = |i: usize| axes.as_ref().is_none_or(|a| a.contains(&i));
    if axes.as_ref().is_some_and(|a| a.iter().any(|&i| i >= dims.len())) {
        return Err(Fail::Shape("a reduction axis is out of range for the input's rank"));
    }
    let out = dims.iter().enumerate().filter_map(|(i, d)| match (reduced(i), keep_dims) {
        (true, true) => Some(Some(1)),
        (true, false) => None,
        (false, _) => Some(*d),
    });
    Ok(Shape::from_dims(out.collect::<Vec<_>>()))
}

/// Resolves a reshape target (with at most one `-1`) for `count` elements.
pub(crate) fn reshape_target(target: &[i64], count: Option<usize>) -> Result<Vec<Dim>, &'static str> {
    if target.iter().filter(|&&d| d == -1).count() > 1 || target.iter().any(|&d| d < -1) {
        return Err("a reshape target has sizes of 0 or more and at most one -1");
    }
    let known: usize = target.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    target
        .iter()
        .map(|&d| match (d, count) {
            (-1, Some(n)) if known > 0 && n % known == 0 => Ok(Some(n / known)),
            (-1, Some(_)) => Err("the element count is not divisible by the reshape target"),
            (-1, None) => Ok(None),
            (d, _) => Ok(Some(d as usize)),
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|dims| match (count, dims.iter().copied().collect::<Option<Vec<usize>>>()) {
            (Some(n), Some(d)) if d.iter().product::<usize>() != n => {
                Err("the reshape target has another element count")
            }
            _ => Ok(dims),
        })
}

fn reshape(x: &Shape, attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Reshape(target) = attr else { return Err(Fail::Shape("missing reshape target")) };
    reshape_target(target, x.num_elements()).map(Shape::from_dims).map_err(Fail::Shape)
}

fn transpose(x: &Shape, attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Perm(perm) = attr else { return Err(Fail::Shape("missing permutation")) };
    let Some(dims) = x.dims() else { return Ok(Shape::unknown()) };
    let mut seen = vec![false; dims.len()];
    if perm.len() != dims.len() || perm.iter().any(|&p| p >= dims.len() || std::mem::replace(&mut seen[p], true)) {
        return Err(Fail::Shape("the permutation must list every axis once"));
    }
    Ok(Shape::from_dims(perm.iter().map(|&p| dims[p]).collect::<Vec<_>>()))
}

fn concat(inputs: &[&Tensor], attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Axis(axis) = attr else { return Err(Fail::Shape("missing axis")) };
    let known: Vec<&[Dim]> = inputs.iter().filter_map(|t| t.shape.dims()).collect();
    let Some(first) = known.first() else { return Ok(Shape::unknown()) };
    if *axis >= first.len() || known.iter().any(|d| d.len() != first.len()) {
        return Err(Fail::Shape("inputs of concat have one rank, and the axis is below it"));
    }
    let mut out: Vec<Dim> = first.to_vec();
    for (i, slot) in out.iter_mut().enumerate() {
        if i == *axis {
            *slot = if known.len() == inputs.len() { known.iter().map(|d| d[i]).sum() } else { None };
        } else if known.iter().any(|d| !compatible(d[i], first[i])) {
            return Err(Fail::Shape("inputs of concat must agree on every axis but the concatenated one"));
        }
    }
    Ok(Shape::from_dims(out))
}

fn stack(inputs: &[&Tensor], attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Axis(axis) = attr else { return Err(Fail::Shape("missing axis")) };
    let first = &inputs[0].shape;
    if inputs.iter().any(|t| !t.shape.is_compatible_with(first)) {
        return Err(Fail::Shape("inputs of stack must have one shape"));
    }
    let Some(dims) = first.dims() else { return Ok(Shape::unknown()) };
    if *axis > dims.len() {
        return Err(Fail::Shape("the stack axis is beyond the inputs' rank"));
    }
    let mut out = dims.to_vec();
    out.insert(*axis, Some(inputs.len()));
    Ok(Shape::from_dims(out))
}

fn gather(params: &Tensor, indices: &Tensor) -> Result<Shape, Fail> {
    if !matches!(indices.dtype, DType::I32 | DType::I64) {
        return Err(Fail::DType);
    }
    match (params.shape.dims(), indices.shape.dims()) {
        (Some([]), _) => Err(Fail::Shape("gather needs params of rank 1 or more")),
        (Some(p), Some(i)) => Ok(Shape::from_dims(i.iter().chain(&p[1..]).copied().collect::<Vec<_>>())),
        _ => Ok(Shape::unknown()),
    }
}

/// Output size and padding before, for one spatial dimension of a window op.
pub(crate) fn window(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Option<(usize, usize)> {
    let span = (k - 1) * dilation + 1;
    match padding {
        Padding::Valid if input >= span => Some(((input - span) / stride + 1, 0)),
        Padding::Valid => None,
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + span).saturating_sub(input);
            Some((out, total / 2))
        }
    }
}

fn window_dim(input: Dim, k: Dim, stride: usize, dilation: usize, padding: Padding) -> Result<Dim, Fail> {
    match (input, k) {
        (Some(i), Some(k)) => window(i, k, stride, dilation, padding)
            .map(|(o, _)| Some(o))
            .ok_or(Fail::Shape("the window is larger than the input (VALID padding)")),
        _ => Ok(None),
    }
}

fn conv2d(x: &Shape, f: &Shape, attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Conv(c) = attr else { return Err(Fail::Shape("missing convolution attributes")) };
    if c.strides.contains(&0) || c.dilations.contains(&0) {
        return Err(Fail::Shape("strides and dilations are 1 or more"));
    }
    match (x.dims(), f.dims()) {
        (Some(xd), _) if xd.len() != 4 => Err(Fail::Shape("the input of Conv2D is NHWC: rank 4")),
        (_, Some(fd)) if fd.len() != 4 => Err(Fail::Shape("the filter of Conv2D is [height, width, in, out]: rank 4")),
        (Some(xd), Some(fd)) => {
            if !compatible(xd[3], fd[2]) {
                return Err(Fail::Shape("the filter's input channels must match the input's channels"));
            }
            let h = window_dim(xd[1], fd[0], c.strides[0], c.dilations[0], c.padding)?;
            let w = window_dim(xd[2], fd[1], c.strides[1], c.dilations[1], c.padding)?;
            Ok(Shape::from_dims([xd[0], h, w, fd[3]]))
        }
        _ => Ok(Shape::from_dims([None, None, None, None])),
    }
}

fn pool(x: &Shape, attr: &Attr) -> Result<Shape, Fail> {
    let Attr::Pool(p) = attr else { return Err(Fail::Shape("missing pooling attributes")) };
    if p.strides.contains(&0) || p.ksize.contains(&0) {
        return Err(Fail::Shape("window sizes and strides are 1 or more"));
    }
    match x.dims() {
        Some(xd) if xd.len() != 4 => Err(Fail::Shape("the input of pooling is NHWC: rank 4")),
        Some(xd) => {
            let h = window_dim(xd[1], Some(p.ksize[0]), p.strides[0], 1, p.padding)?;
            let w = window_dim(xd[2], Some(p.ksize[1]), p.strides[1], 1, p.padding)?;
            Ok(Shape::from_dims([xd[0], h, w, xd[3]]))
        }
        None => Ok(Shape::from_dims([None, None, None, None])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        let s = |d: &[usize]| Shape::from(d);
        assert_eq!(broadcast(&s(&[2, 3]), &s(&[3])), Some(s(&[2, 3])));
        assert_eq!(broadcast(&s(&[2, 1]), &s(&[1, 4])), Some(s(&[2, 4])));
        assert_eq!(broadcast(&s(&[2, 3]), &s(&[2])), None);
        assert_eq!(broadcast(&Shape::from_dims([None, Some(3)]), &s(&[3])), Some(Shape::from_dims([None, Some(3)])));
        assert_eq!(broadcast_sizes(&[4, 1, 3], &[2, 1]), Some(vec![4, 2, 3]));
    }

    #[test]
    fn windows_follow_tensorflow() {
        assert_eq!(window(28, 3, 1, 1, Padding::Same), Some((28, 1)));
        assert_eq!(window(28, 3, 2, 1, Padding::Same), Some((14, 0)));
        assert_eq!(window(5, 3, 2, 1, Padding::Valid), Some((2, 0)));
        assert_eq!(window(5, 3, 1, 2, Padding::Valid), Some((1, 0)));
        assert_eq!(window(2, 3, 1, 1, Padding::Valid), None);
    }

    #[test]
    fn reshape_infers_one_dimension() {
        assert_eq!(reshape_target(&[-1, 4], Some(8)), Ok(vec![Some(2), Some(4)]));
        assert!(reshape_target(&[3, -1], Some(8)).is_err());
        assert!(reshape_target(&[-1, -1], Some(8)).is_err());
        assert_eq!(reshape_target(&[-1, 784], None), Ok(vec![None, Some(784)]));
    }
}
