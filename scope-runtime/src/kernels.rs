//! How each op computes, on ndarray arrays. Knows nothing of names or graphs:
//! the session hands it input values and gets an output value back.

use crate::graph::Attr;
use crate::ops::{OpKind, broadcast_sizes, reshape_target, window};
use crate::value::{Element, Value};
use ndarray::{Array2, ArrayD, ArrayView2, Axis, IxDyn, LinalgScalar, NdFloat, Zip};

/// An input as the session holds it: borrowed, or owned when no later step
/// needs it, so that elementwise kernels can work in place.
pub(crate) enum Arg<'a> {
    Shared(&'a Value),
    Owned(Value),
}

impl Arg<'_> {
    pub(crate) fn value(&self) -> &Value {
        match self {
            Arg::Shared(v) => v,
            Arg::Owned(v) => v,
        }
    }
}

/// A typed input array, borrowed or owned.
enum Typed<'a, T> {
    Shared(&'a ArrayD<T>),
    Owned(ArrayD<T>),
}

impl<T: Clone> Typed<'_, T> {
    fn view(&self) -> ndarray::ArrayViewD<'_, T> {
        match self {
            Typed::Shared(a) => a.view(),
            Typed::Owned(a) => a.view(),
        }
    }

    fn into_owned(self) -> ArrayD<T> {
        match self {
            Typed::Shared(a) => a.clone(),
            Typed::Owned(a) => a,
        }
    }
}

/// A kernel's failure: inputs (known only at run time) that do not fit, or a dtype without a kernel.
pub(crate) type KernelResult = Result<Value, &'static str>;

/// Expands `$body` once per listed dtype with `$a` bound to the first input as
/// a [`Typed`] array of that element type; other dtypes are an error.
macro_rules! typed {
    ($arg:expr, [$($v:ident),*], |$a:ident| $body:expr) => {
        match $arg {
            $(
                Arg::Owned(Value::$v(x)) => {
                    let $a = Typed::Owned(x);
                    Ok(Value::$v($body?))
                }
                Arg::Shared(Value::$v(x)) => {
                    let $a = Typed::Shared(x);
                    Ok(Value::$v($body?))
                }
            )*
            #[allow(unreachable_patterns)] // unreachable when every dtype is listed
            _ => Err("this op has no kernel for this dtype"),
        }
    };
}

/// The second input as an array of the first input's element type.
fn same<T: Element>(v: &Value) -> Result<&ArrayD<T>, &'static str> {
    v.as_array::<T>().ok_or("inputs of different dtypes")
}

/// Element types with arithmetic and an order.
trait Num: LinalgScalar + PartialOrd + Send + Sync + Element {}
impl Num for f32 {}
impl Num for f64 {}
impl Num for i32 {}
impl Num for i64 {}

fn add<T: Num>(a: T, b: T) -> T {
    a + b
}
fn sub<T: Num>(a: T, b: T) -> T {
    a - b
}
fn mul<T: Num>(a: T, b: T) -> T {
    a * b
}
fn div<T: Num>(a: T, b: T) -> T {
    a / b
}
fn max<T: Num>(a: T, b: T) -> T {
    if a >= b { a } else { b }
}
fn relu<T: Num>(x: T) -> T {
    max(x, T::zero())
}
fn square<T: Num>(x: T) -> T {
    x * x
}
fn relu6<T: NdFloat>(x: T) -> T {
    x.max(T::zero()).min(T::from(6.0).expect("6 is representable"))
}
fn sigmoid<T: NdFloat>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}
fn tanh<T: NdFloat>(x: T) -> T {
    x.tanh()
}
fn sqrt<T: NdFloat>(x: T) -> T {
    x.sqrt()
}
fn exp<T: NdFloat>(x: T) -> T {
    x.exp()
}
fn ln<T: NdFloat>(x: T) -> T {
    x.ln()
}

/// `f` elementwise, in place when the input is owned. Generic over `F` (not a
/// function pointer) so that `f` inlines and the loop vectorizes.
fn map<T: Copy, F: Fn(T) -> T>(a: Typed<'_, T>, f: F) -> Result<ArrayD<T>, &'static str> {
    Ok(match a {
        Typed::Owned(mut a) => {
            a.mapv_inplace(&f);
            a
        }
        Typed::Shared(a) => a.mapv(&f),
    })
}

/// `f` on two broadcast inputs, in place when the first is owned and already has the output's shape.
fn zip<T: Copy + Element, F: Fn(T, T) -> T>(a: Typed<'_, T>, b: &Value, f: F) -> Result<ArrayD<T>, &'static str> {
    let b = same::<T>(b)?;
    let out = broadcast_sizes(a.view().shape(), b.shape()).ok_or("the inputs' shapes do not broadcast")?;
    match a {
        Typed::Owned(mut a) if a.shape() == out.as_slice() => {
            Zip::from(&mut a).and_broadcast(b).for_each(|x, &y| *x = f(*x, y));
            Ok(a)
        }
        a => {
            let (av, bv) = (a.view(), b.view());
            let (av, bv) = (av.broadcast(out.clone()).expect("checked"), bv.broadcast(out).expect("checked"));
            Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
        }
    }
}

/// Computes `op` on `args`. Source ops (constants, variables, placeholders)
/// are the session's business, not a kernel's.
/// `spares` holds buffers left from earlier runs; ops that would allocate an
/// output (matrix products) take one of the right shape instead.
pub(crate) fn compute(op: OpKind, attr: &Attr, mut args: Vec<Arg<'_>>, spares: &mut Vec<Value>) -> KernelResult {
    use OpKind as K;
    if args.is_empty() {
        return Err("source ops are not computed by kernels");
    }
    let rest = args.split_off(1);
    let first = args.pop().expect("one left");
    let second = || rest.first().map(Arg::value).ok_or("missing input");
    match op {
        K::Add | K::BiasAdd => typed!(first, [F32, F64, I32, I64], |a| zip(a, second()?, add)),
        K::Sub => typed!(first, [F32, F64, I32, I64], |a| zip(a, second()?, sub)),
        K::Mul => typed!(first, [F32, F64, I32, I64], |a| zip(a, second()?, mul)),
        K::Div => typed!(first, [F32, F64], |a| zip(a, second()?, div)),
        K::Maximum => typed!(first, [F32, F64, I32, I64], |a| zip(a, second()?, max)),
        K::Relu => typed!(first, [F32, F64, I32, I64], |a| map(a, relu)),
        K::Square => typed!(first, [F32, F64, I32, I64], |a| map(a, square)),
        K::Relu6 => typed!(first, [F32, F64], |a| map(a, relu6)),
        K::Sigmoid => typed!(first, [F32, F64], |a| map(a, sigmoid)),
        K::Tanh => typed!(first, [F32, F64], |a| map(a, tanh)),
        K::Sqrt => typed!(first, [F32, F64], |a| map(a, sqrt)),
        K::Exp => typed!(first, [F32, F64], |a| map(a, exp)),
        K::Log => typed!(first, [F32, F64], |a| map(a, ln)),
        K::Softmax => typed!(first, [F32, F64], |a| softmax(a, false)),
        K::LogSoftmax => typed!(first, [F32, F64], |a| softmax(a, true)),
        K::MatMul => typed!(first, [F32, F64, I32, I64], |a| matmul(a.view(), second()?, attr, spares)),
        K::Sum | K::Mean | K::Max => typed!(first, [F32, F64, I32, I64], |a| reduce(op, a.view(), attr)),
        K::L2Loss => typed!(first, [F32, F64], |a| l2_loss(a.view())),
        K::Identity => Ok(match first {
            Arg::Owned(v) => v,
            Arg::Shared(v) => v.clone(),
        }),
        K::Reshape => typed!(first, [F32, F64, I32, I64, Bool], |a| reshape(a, attr)),
        K::Transpose => typed!(first, [F32, F64, I32, I64, Bool], |a| transpose(a.view(), attr)),
        K::Concat | K::ConcatPartitions | K::Stack => {
            let values: Vec<&Value> = std::iter::once(first.value()).chain(rest.iter().map(Arg::value)).collect();
            let axis = match attr {
                Attr::Axis(a) => *a,
                _ => return Err("missing axis"),
            };
            Value::join(&values, axis, op == K::Stack).ok_or("the inputs' shapes do not fit together")
        }
        K::Gather => typed!(first, [F32, F64, I32, I64, Bool], |a| gather(a.view(), second()?)),
        K::Cast => match attr {
            Attr::Cast(to) => Ok(first.value().cast(*to)),
            _ => Err("missing dtype"),
        },
        K::Conv2D => typed!(first, [F32, F64], |a| conv2d(a.view(), second()?, attr)),
        K::MaxPool | K::AvgPool => typed!(first, [F32, F64], |a| pool(op, a.view(), attr)),
        K::Const | K::Variable | K::Placeholder => Err("source ops are not computed by kernels"),
    }
}

/// Softmax (or log-softmax) over the last axis, stable against overflow.
fn softmax<T: NdFloat + Element>(a: Typed<'_, T>, log: bool) -> Result<ArrayD<T>, &'static str> {
    let mut a = a.into_owned();
    let last = Axis(a.ndim().checked_sub(1).ok_or("softmax needs rank 1 or more")?);
    for mut lane in a.lanes_mut(last) {
        let m = lane.fold(T::neg_infinity(), |m, &x| m.max(x));
        lane.mapv_inplace(|x| x - m);
        let sum = lane.fold(T::zero(), |s, &x| s + x.exp());
        if log {
            let l = sum.ln();
            lane.mapv_inplace(|x| x - l);
        } else {
            lane.mapv_inplace(|x| x.exp() / sum);
        }
    }
    Ok(a)
}

/// Matrix product on 2-D inputs, with TensorFlow's transpose flags. One row
/// times a matrix is a sum of scaled rows: contiguous, and several times
/// faster than a one-row GEMM.
fn matmul<T: Num>(
    a: ndarray::ArrayViewD<'_, T>,
    b: &Value,
    attr: &Attr,
    spares: &mut Vec<Value>,
) -> Result<ArrayD<T>, &'static str> {
    let (ta, tb) = match attr {
        Attr::MatMul { transpose_a, transpose_b } => (*transpose_a, *transpose_b),
        _ => (false, false),
    };
    fn two<T>(v: ndarray::ArrayViewD<'_, T>) -> Result<ArrayView2<'_, T>, &'static str> {
        v.into_dimensionality().map_err(|_| "both inputs of MatMul must have rank 2")
    }
    let a = two(a)?;
    let b = two(same::<T>(b)?.view())?;
    let a = if ta { a.reversed_axes() } else { a };
    let b = if tb { b.reversed_axes() } else { b };
    if a.ncols() != b.nrows() {
        return Err("the inner dimensions must agree: [m, k] x [k, n]");
    }
    let (m, n) = (a.nrows(), b.ncols());
    let spare = spares.iter().position(|v| v.shape() == [m, n] && v.dtype() == T::DTYPE).map(|i| spares.swap_remove(i));
    let mut out: Array2<T> = match spare.and_then(T::into_array).and_then(|b| b.into_dimensionality().ok()) {
        Some(buffer) => buffer,
        None => Array2::zeros((m, n)),
    };
    if m == 1 && b.is_standard_layout() {
        let mut y = out.row_mut(0);
        y.fill(T::zero());
        for (&x, row) in a.row(0).iter().zip(b.rows()) {
            y.scaled_add(x, &row);
        }
    } else {
        ndarray::linalg::general_mat_mul(T::one(), &a, &b, T::zero(), &mut out);
    }
    Ok(out.into_dyn())
}

fn reduce<T: Num>(op: OpKind, a: ndarray::ArrayViewD<'_, T>, attr: &Attr) -> Result<ArrayD<T>, &'static str> {
    let Attr::Reduce { axes, keep_dims } = attr else { return Err("missing reduction axes") };
    let all: Vec<usize> = (0..a.ndim()).collect();
    let mut axes: Vec<usize> = axes.clone().unwrap_or(all);
    if axes.iter().any(|&x| x >= a.ndim()) {
        return Err("a reduction axis is out of range for the input's rank");
    }
    axes.sort_unstable_by(|x, y| y.cmp(x));
    axes.dedup();
    let count: usize = axes.iter().map(|&x| a.shape()[x]).product();
    let mut out = a.to_owned();
    for &axis in &axes {
        out = match op {
            OpKind::Max => {
                if out.shape()[axis] == 0 {
                    return Err("the maximum of no elements is undefined");
                }
                out.map_axis(Axis(axis), |lane| lane.iter().copied().reduce(max).expect("non-empty"))
            }
            _ => out.sum_axis(Axis(axis)),
        };
    }
    if op == OpKind::Mean {
        let n = (0..count).fold(T::zero(), |n, _| n + T::one());
        out.mapv_inplace(|x| x / n);
    }
    if *keep_dims {
        axes.reverse();
        for axis in axes {
            out.insert_axis_inplace(Axis(axis));
        }
    }
    Ok(out)
}

fn l2_loss<T: NdFloat>(a: ndarray::ArrayViewD<'_, T>) -> Result<ArrayD<T>, &'static str> {
    let half = T::from(0.5).expect("0.5 is representable");
    Ok(ArrayD::from_elem(IxDyn(&[]), a.fold(T::zero(), |s, &x| s + x * x) * half))
}

fn reshape<T: Clone>(a: Typed<'_, T>, attr: &Attr) -> Result<ArrayD<T>, &'static str> {
    let Attr::Reshape(target) = attr else { return Err("missing reshape target") };
    let a = a.into_owned();
    let dims: Vec<usize> =
        reshape_target(target, Some(a.len()))?.into_iter().map(|d| d.expect("known with a count")).collect();
    let a = if a.is_standard_layout() { a } else { a.as_standard_layout().into_owned() };
    a.into_shape_with_order(IxDyn(&dims)).map_err(|_| "the reshape target has another element count")
}

fn transpose<T: Clone>(a: ndarray::ArrayViewD<'_, T>, attr: &Attr) -> Result<ArrayD<T>, &'static str> {
    let Attr::Perm(perm) = attr else { return Err("missing permutation") };
    if perm.len() != a.ndim() {
        return Err("the permutation must list every axis once");
    }
    Ok(a.permuted_axes(IxDyn(perm)).as_standard_layout().into_owned())
}

fn gather<T: Clone>(params: ndarray::ArrayViewD<'_, T>, indices: &Value) -> Result<ArrayD<T>, &'static str> {
    let rows = params.shape().first().copied().ok_or("gather needs params of rank 1 or more")?;
    let ids: Vec<usize> = match indices {
        Value::I32(i) => i.iter().map(|&x| usize::try_from(x).ok().filter(|&x| x < rows)).collect::<Option<_>>(),
        Value::I64(i) => i.iter().map(|&x| usize::try_from(x).ok().filter(|&x| x < rows)).collect::<Option<_>>(),
        _ => return Err("gather indices are int32 or int64"),
    }
    .ok_or("a gather index is outside the params' first dimension")?;
    let picked = params.select(Axis(0), &ids);
    let shape: Vec<usize> = indices.shape().iter().chain(&params.shape()[1..]).copied().collect();
    picked.into_shape_with_order(IxDyn(&shape)).map_err(|_| "gather output shape")
}

/// NHWC convolution as im2col and one matrix product.
fn conv2d<T: NdFloat + Element>(
    x: ndarray::ArrayViewD<'_, T>,
    f: &Value,
    attr: &Attr,
) -> Result<ArrayD<T>, &'static str> {
    let Attr::Conv(c) = attr else { return Err("missing convolution attributes") };
    let f = same::<T>(f)?;
    let (&[n, h, w, cin], &[kh, kw, fin, cout]) = (x.shape(), f.shape()) else {
        return Err("Conv2D takes an NHWC input and a [height, width, in, out] filter");
    };
    if cin != fin {
        return Err("the filter's input channels must match the input's channels");
    }
    let (oh, ph) =
        window(h, kh, c.strides[0], c.dilations[0], c.padding).ok_or("the filter is larger than the input")?;
    let (ow, pw) =
        window(w, kw, c.strides[1], c.dilations[1], c.padding).ok_or("the filter is larger than the input")?;
    let x = x.as_standard_layout();
    let xs = x.as_slice().expect("standard layout");
    let patch = kh * kw * cin;
    let mut cols = Array2::<T>::zeros((n * oh * ow, patch));
    for (row, mut out) in cols.rows_mut().into_iter().enumerate() {
        let (b, rest) = (row / (oh * ow), row % (oh * ow));
        let (oy, ox) = (rest / ow, rest % ow);
        let out = out.as_slice_mut().expect("rows of a standard array are contiguous");
        for ky in 0..kh {
            let Some(iy) = (oy * c.strides[0] + ky * c.dilations[0]).checked_sub(ph).filter(|&y| y < h) else {
                continue;
            };
            for kx in 0..kw {
                let Some(ix) = (ox * c.strides[1] + kx * c.dilations[1]).checked_sub(pw).filter(|&v| v < w) else {
                    continue;
                };
                let src = ((b * h + iy) * w + ix) * cin;
                let dst = (ky * kw + kx) * cin;
                if cin == 1 {
                    out[dst] = xs[src];
                } else {
                    out[dst..dst + cin].copy_from_slice(&xs[src..src + cin]);
                }
            }
        }
    }
    let f = f.view().into_shape_with_order((patch, cout)).map_err(|_| "filter layout")?;
    let f = f.as_standard_layout();
    let y = cols.dot(&f);
    y.into_shape_with_order(IxDyn(&[n, oh, ow, cout])).map_err(|_| "convolution output shape")
}

/// NHWC max or average pooling; `SAME` averages count only real elements, as in TensorFlow.
fn pool<T: NdFloat>(op: OpKind, x: ndarray::ArrayViewD<'_, T>, attr: &Attr) -> Result<ArrayD<T>, &'static str> {
    let Attr::Pool(p) = attr else { return Err("missing pooling attributes") };
    let &[n, h, w, ch] = x.shape() else { return Err("the input of pooling is NHWC: rank 4") };
    let (oh, ph) = window(h, p.ksize[0], p.strides[0], 1, p.padding).ok_or("the window is larger than the input")?;
    let (ow, pw) = window(w, p.ksize[1], p.strides[1], 1, p.padding).ok_or("the window is larger than the input")?;

    let mut out = ArrayD::<T>::zeros(IxDyn(&[n, oh, ow, ch]));
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for c in 0..ch {
                    let (mut acc, mut count) =
                        (if op == OpKind::MaxPool { T::neg_infinity() } else { T::zero() }, 0usize);
                    for ky in 0..p.ksize[0] {
                        let Some(iy) = (oy * p.strides[0] + ky).checked_sub(ph).filter(|&y| y < h) else { continue };
                        for kx in 0..p.ksize[1] {
                            let Some(ix) = (ox * p.strides[1] + kx).checked_sub(pw).filter(|&v| v < w) else {
                                continue;
                            };
                            let v = x[[b, iy, ix, c]];
                            acc = if op == OpKind::MaxPool { acc.max(v) } else { acc + v };
                            count += 1;
                        }
                    }
                    out[[b, oy, ox, c]] = if op == OpKind::MaxPool {
                        acc
                    } else {
                        acc / T::from(count.max(1)).expect("a count is representable")
                    };
                }
            }
        }
    }
    Ok(out)
}
