//! Neural-network kernels: softmax, convolution, pooling and the L2 loss.

use super::{Inputs, Typed, same, typed};
use crate::base::{Element, Value};
use crate::graph::{Arg, Attr, KernelResult, Padding};
use ndarray::{Array2, ArrayD, ArrayViewD, Axis, IxDyn, NdFloat, Zip};

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

/// Softmax over the last axis, stable against overflow.
pub(crate) fn softmax_kernel(_: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| softmax(a, false))
}

/// Log-softmax over the last axis.
pub(crate) fn log_softmax_kernel(_: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| softmax(a, true))
}

fn softmax<T: NdFloat + Element>(a: Typed<'_, T>, log: bool) -> KernelResult<ArrayD<T>> {
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

/// `sum(x²) / 2`.
pub(crate) fn l2_loss_kernel(_: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    fn l2<T: NdFloat>(a: ArrayViewD<'_, T>) -> KernelResult<ArrayD<T>> {
        let half = T::from(0.5).expect("0.5 is representable");
        Ok(ArrayD::from_elem(IxDyn(&[]), a.fold(T::zero(), |s, &x| s + x * x) * half))
    }
    typed!(Inputs::new(args).next()?, [F32, F64], |a| l2(a.view()))
}

/// NHWC convolution as im2col and one matrix product.
pub(crate) fn conv2d_kernel(attr: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, f) = (inputs.next()?, inputs.next()?);
    typed!(x, [F32, F64], |a| conv2d(a.view(), f.value(), attr))
}

fn conv2d<T: NdFloat + Element>(x: ArrayViewD<'_, T>, f: &Value, attr: &Attr) -> KernelResult<ArrayD<T>> {
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
    let xs = x.as_slice().ok_or("input layout")?;
    let patch = kh * kw * cin;
    let mut cols = Array2::<T>::zeros((n * oh * ow, patch));
    for (row, mut out) in cols.rows_mut().into_iter().enumerate() {
        let (b, rest) = (row / (oh * ow), row % (oh * ow));
        let (oy, ox) = (rest / ow, rest % ow);
        let out = out.as_slice_mut().ok_or("rows of a standard array are contiguous")?;
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

/// NHWC max pooling.
pub(crate) fn max_pool_kernel(attr: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| pool(true, a.view(), attr))
}

/// NHWC average pooling; `SAME` windows average only real elements, as in TensorFlow.
pub(crate) fn avg_pool_kernel(attr: &Attr, args: Vec<Arg<'_>>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| pool(false, a.view(), attr))
}

fn pool<T: NdFloat>(is_max: bool, x: ArrayViewD<'_, T>, attr: &Attr) -> KernelResult<ArrayD<T>> {
    let Attr::Pool(p) = attr else { return Err("missing pooling attributes") };
    let &[n, h, w, ch] = x.shape() else { return Err("the input of pooling is NHWC: rank 4") };
    let (oh, ph) = window(h, p.ksize[0], p.strides[0], 1, p.padding).ok_or("the window is larger than the input")?;
    let (ow, pw) = window(w, p.ksize[1], p.strides[1], 1, p.padding).ok_or("the window is larger than the input")?;
    let mut out = ArrayD::<T>::zeros(IxDyn(&[n, oh, ow, ch]));
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for c in 0..ch {
                    let (mut acc, mut count) = (if is_max { T::neg_infinity() } else { T::zero() }, 0usize);
                    for ky in 0..p.ksize[0] {
                        let Some(iy) = (oy * p.strides[0] + ky).checked_sub(ph).filter(|&y| y < h) else { continue };
                        for kx in 0..p.ksize[1] {
                            let Some(ix) = (ox * p.strides[1] + kx).checked_sub(pw).filter(|&v| v < w) else {
                                continue;
                            };
                            let v = x[[b, iy, ix, c]];
                            acc = if is_max { acc.max(v) } else { acc + v };
                            count += 1;
                        }
                    }
                    out[[b, oy, ox, c]] =
                        if is_max { acc } else { acc / T::from(count.max(1)).ok_or("a count is representable")? };
                }
            }
        }
    }
    Ok(out)
}

/// TF `SparseSoftmaxCrossEntropyWithLogits`: per row, the loss
/// `logsumexp(logits) - logits[label]` and its gradient `softmax - one_hot`,
/// from logits `[batch, classes]` and integer labels `[batch]`.
pub(crate) fn sparse_softmax_xent_kernel(_: &Attr, args: Vec<Arg<'_>>) -> KernelResult<Vec<Value>> {
    let mut inputs = Inputs::new(args);
    let (logits, labels) = (inputs.next()?, inputs.next()?);
    if labels.value().shape().len() != 1 {
        return Err("the labels are a vector [batch]");
    }
    let labels = super::ints(labels.value()).ok_or("the labels are int32 or int64")?;
    match logits.value() {
        Value::F32(a) => sparse_xent(a.view(), &labels).map(|(l, b)| vec![Value::F32(l), Value::F32(b)]),
        Value::F64(a) => sparse_xent(a.view(), &labels).map(|(l, b)| vec![Value::F64(l), Value::F64(b)]),
        _ => Err("this op has no kernel for this dtype"),
    }
}

fn sparse_xent<T: NdFloat>(logits: ArrayViewD<'_, T>, labels: &[i64]) -> KernelResult<(ArrayD<T>, ArrayD<T>)> {
    let logits =
        logits.into_dimensionality::<ndarray::Ix2>().map_err(|_| "the logits are a matrix [batch, classes]")?;
    let (batch, classes) = logits.dim();
    if labels.len() != batch {
        return Err("there is one label per row of the logits");
    }
    let mut loss = ArrayD::zeros(IxDyn(&[batch]));
    let mut backprop = Array2::zeros((batch, classes));
    for (i, (row, mut grad)) in logits.outer_iter().zip(backprop.outer_iter_mut()).enumerate() {
        let label =
            usize::try_from(labels[i]).ok().filter(|&l| l < classes).ok_or("a label is outside [0, classes)")?;
        let m = row.fold(T::neg_infinity(), |m, &x| m.max(x));
        let sum = row.fold(T::zero(), |s, &x| s + (x - m).exp());
        let log_sum = sum.ln();
        loss[i] = log_sum - (row[label] - m);
        grad.zip_mut_with(&row, |g, &x| *g = (x - m).exp() / sum);
        grad[label] -= T::one();
    }
    Ok((loss, backprop.into_dyn()))
}

/// TF `SoftmaxCrossEntropyWithLogits`: per row of `logits` `[batch, classes]`,
/// `-sum(labels * log_softmax(logits))`, and its gradient `softmax - labels`.
pub(crate) fn softmax_xent_kernel(_: &Attr, args: Vec<Arg<'_>>) -> KernelResult<Vec<Value>> {
    let mut inputs = Inputs::new(args);
    let (logits, labels) = (inputs.next()?, inputs.next()?);
    match (logits.value(), labels.value()) {
        (Value::F32(a), Value::F32(b)) => {
            softmax_xent(a.view(), b.view()).map(|(l, g)| vec![Value::F32(l), Value::F32(g)])
        }
        (Value::F64(a), Value::F64(b)) => {
            softmax_xent(a.view(), b.view()).map(|(l, g)| vec![Value::F64(l), Value::F64(g)])
        }
        _ => Err("this op has no kernel for this dtype"),
    }
}

fn softmax_xent<T: NdFloat>(
    logits: ArrayViewD<'_, T>,
    labels: ArrayViewD<'_, T>,
) -> KernelResult<(ArrayD<T>, ArrayD<T>)> {
    let logits =
        logits.into_dimensionality::<ndarray::Ix2>().map_err(|_| "the logits are a matrix [batch, classes]")?;
    let labels =
        labels.into_dimensionality::<ndarray::Ix2>().map_err(|_| "the labels are a matrix [batch, classes]")?;
    if labels.dim() != logits.dim() {
        return Err("the labels and the logits have one shape");
    }
    let (batch, classes) = logits.dim();
    let mut loss = ArrayD::zeros(IxDyn(&[batch]));
    let mut backprop = Array2::zeros((batch, classes));
    for (i, ((row, label), mut grad)) in
        logits.outer_iter().zip(labels.outer_iter()).zip(backprop.outer_iter_mut()).enumerate()
    {
        let m = row.fold(T::neg_infinity(), |m, &x| m.max(x));
        let sum = row.fold(T::zero(), |s, &x| s + (x - m).exp());
        let log_sum = sum.ln();
        loss[i] = Zip::from(&row).and(&label).fold(T::zero(), |s, &x, &p| s - p * (x - m - log_sum));
        Zip::from(&mut grad).and(&row).and(&label).for_each(|g, &x, &p| *g = (x - m).exp() / sum - p);
    }
    Ok((loss, backprop.into_dyn()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_tensorflow() {
        assert_eq!(window(28, 3, 1, 1, Padding::Same), Some((28, 1)));
        assert_eq!(window(28, 3, 2, 1, Padding::Same), Some((14, 0)));
        assert_eq!(window(5, 3, 2, 1, Padding::Valid), Some((2, 0)));
        assert_eq!(window(5, 3, 1, 2, Padding::Valid), Some((1, 0)));
        assert_eq!(window(2, 3, 1, 1, Padding::Valid), None);
    }
}
