//! Neural-network kernels: softmax, convolution, pooling and the L2 loss.

use super::tiles::Epilogue;
use super::{Inputs, Num, Typed, cpu, direct, same, spare, typed};
use crate::base::{DType, Element, Value};
use crate::graph::{Arg, Args, Attr, KernelResult, Padding};
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, IxDyn, NdFloat, Zip};
use std::mem::MaybeUninit;

/// Output size and padding before, for one spatial dimension of a window op.
pub(crate) fn window(
    input: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Option<(usize, usize)> {
    if stride == 0 || k == 0 {
        return None;
    }
    let span = (k - 1).checked_mul(dilation)?.checked_add(1)?;
    match padding {
        Padding::Valid if input >= span => Some(((input - span) / stride + 1, 0)),
        Padding::Valid => None,
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = out.saturating_sub(1).checked_mul(stride)?.checked_add(span)?.saturating_sub(input);
            Some((out, total / 2))
        }
    }
}

/// Softmax over the last axis, stable against overflow.
pub(crate) fn softmax_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| softmax(a, false))
}

/// Log-softmax over the last axis.
pub(crate) fn log_softmax_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
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
pub(crate) fn l2_loss_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    fn l2<T: NdFloat>(a: ArrayViewD<'_, T>) -> KernelResult<ArrayD<T>> {
        let half = T::from(0.5).expect("0.5 is representable");
        Ok(ArrayD::from_elem(IxDyn(&[]), a.fold(T::zero(), |s, &x| s + x * x) * half))
    }
    typed!(Inputs::new(args).next()?, [F32, F64], |a| l2(a.view()))
}

/// NHWC convolution: direct when the patch is small, else im2col and one
/// matrix product.
pub(crate) fn conv2d_kernel(attr: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, f) = (inputs.next()?, inputs.next()?);
    typed!(x, [F32, F64], |a| conv2d(a.view(), f.value(), attr, spares, Epilogue::NONE))
}

/// A `Conv2D` (`attr` its attributes) of `x` by `f`, `bias` added to each
/// position's channels (its `BiasAdd`, or an `Add` of a vector), then with
/// `relu` a `Relu`: the chain of TF1's convolution layers, computed in one
/// pass with the values the three kernels give one after the other, bit for
/// bit. `None` when the inputs are not what the fusion takes; the three
/// kernels then run one by one, and report what is wrong.
pub(crate) fn conv2d_biased(
    attr: &Attr,
    [x, f, bias]: [&Value; 3],
    relu: bool,
    spares: &mut Vec<Value>,
) -> Option<Value> {
    fn run<T: NdFloat + Num>(
        x: &ArrayD<T>,
        f: &Value,
        bias: &Value,
        attr: &Attr,
        relu: bool,
        spares: &mut Vec<Value>,
    ) -> Option<ArrayD<T>> {
        conv2d(x.view(), f, attr, spares, Epilogue::of(bias, relu)?).ok()
    }
    Some(match x {
        Value::F32(x) => Value::F32(run(x, f, bias, attr, relu, spares)?),
        Value::F64(x) => Value::F64(run(x, f, bias, attr, relu, spares)?),
        _ => return None,
    })
}

fn conv2d<T: NdFloat + Num>(
    x: ArrayViewD<'_, T>,
    f: &Value,
    attr: &Attr,
    spares: &mut Vec<Value>,
    epilogue: Epilogue<'_, T>,
) -> KernelResult<ArrayD<T>> {
    let Attr::Conv(c) = attr else { return Err("missing convolution attributes") };
    let f = same::<T>(f)?;
    let g = ConvGeometry::new(x.shape(), f.shape(), c)?;
    let x = x.as_standard_layout();
    let xs = x.as_slice().ok_or("input layout")?;
    let f = f.as_standard_layout();
    let fs = f.as_slice().ok_or("filter layout")?;
    let shape = [g.n, g.oh, g.ow, g.cout];
    if epilogue.bias.is_some_and(|b| b.len() != g.cout) {
        return Err("the bias has one value per output channel");
    }
    if g.patch() <= direct::DIRECT_CONV_MAX_PATCH {
        return conv2d_direct(&g, xs, fs, spare::<T>(spares, &shape), epilogue);
    }
    let mut out = spare::<T>(spares, &shape).unwrap_or_else(|| ArrayD::zeros(IxDyn(&shape)));
    let ys = out.as_slice_mut().ok_or("output layout")?;
    let cols = g.im2col(xs);
    let f = ArrayView2::from_shape((g.patch(), g.cout), fs).map_err(|_| "filter layout")?;
    let ys = ArrayViewMut2::from_shape((g.n * g.oh * g.ow, g.cout), ys).map_err(|_| "output layout")?;
    super::math::float_mat_mul(&cols.view(), &f, ys, epilogue);
    Ok(out)
}

/// Multiply-adds from which a direct convolution is split across threads,
/// by output positions.
const PARALLEL_CONV_MULTIPLY_ADDS: usize = 1 << 21;

/// A convolution with a small patch, position by position, split by
/// positions across the session's threads when large; into `spare` when
/// there is one. Each sum is finished by `epilogue` (its bias holding
/// `cout` values).
fn conv2d_direct<T: NdFloat + Num>(
    g: &ConvGeometry,
    x: &[T],
    f: &[T],
    spare: Option<ArrayD<T>>,
    epilogue: Epilogue<'_, T>,
) -> KernelResult<ArrayD<T>> {
    let conv = g.direct(x, f);
    let shape = [g.n, g.oh, g.ow, g.cout];
    let positions = g.n * g.oh * g.ow;
    let work = positions.saturating_mul(g.patch()).saturating_mul(g.cout);
    let pool = cpu::pool_for(work, PARALLEL_CONV_MULTIPLY_ADDS).filter(|_| g.cout > 0);
    if T::DTYPE == DType::F32 && g.cout > 0 {
        // SAFETY: `T` is f32 (the only `Num` of dtype F32): the same
        // slices with their element type named.
        let (x, f) = unsafe {
            (
                std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len()),
                std::slice::from_raw_parts(f.as_ptr().cast::<f32>(), f.len()),
            )
        };
        let conv = g.direct(x, f);
        // SAFETY: as above, for the bias.
        let bias = epilogue.bias.map(|b| unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<f32>(), b.len()) });
        let epilogue = Epilogue { bias, relu: epilogue.relu };
        if let Some(padded) = conv.padded(g.n) {
            // Whole output rows, each thread a block of them.
            let row = g.ow * g.cout;
            let rows = g.n * g.oh;
            // Written once, by the products: not zeroed first (that cost a
            // fifth of the convolution).
            let compute = |first: usize, out: &mut [MaybeUninit<f32>]| conv.padded_rows(&padded, first, out, epilogue);
            let (mut spare, mut fresh) = (spare, None);
            let ys = match spare.as_mut() {
                Some(spare) => spare.as_slice_mut().map(|s| (s.as_mut_ptr().cast::<MaybeUninit<f32>>(), s.len())),
                None => fresh
                    .insert(ArrayD::<T>::uninit(IxDyn(&shape)))
                    .as_slice_mut()
                    .map(|s| (s.as_mut_ptr().cast::<MaybeUninit<f32>>(), s.len())),
            };
            let (ptr, len) = ys.ok_or("output layout")?;
            // SAFETY: the output's elements, f32 (as above), viewed as maybe
            // uninitialized (only written through).
            let ys = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
            match pool {
                None => compute(0, ys),
                Some(pool) => {
                    let block = rows.div_ceil(pool.current_num_threads());
                    pool.run_each(ys.chunks_mut(block * row), |i, out| compute(i * block, out));
                }
            }
            return match (spare, fresh) {
                (Some(spare), _) => Ok(spare),
                // SAFETY: every chunk of the output was written above.
                (None, Some(fresh)) => Ok(unsafe { fresh.assume_init() }),
                (None, None) => Err("output layout"),
            };
        }
    }
    let positions_from = |first: usize, out: &mut [T]| {
        conv.positions(first, out);
        super::math::finish_rows(out, g.cout, epilogue);
    };
    let compute = |out: &mut [T]| {
        let Some(pool) = pool else {
            return positions_from(0, out);
        };
        let block = positions.div_ceil(pool.current_num_threads());
        pool.run_each(out.chunks_mut(block * g.cout), |i, out| positions_from(i * block, out));
    };
    let mut out = spare.unwrap_or_else(|| ArrayD::zeros(IxDyn(&shape)));
    compute(out.as_slice_mut().ok_or("output layout")?);
    Ok(out)
}

/// The sizes of an NHWC convolution: input, filter, output and padding.
struct ConvGeometry {
    n: usize,
    h: usize,
    w: usize,
    cin: usize,
    kh: usize,
    kw: usize,
    cout: usize,
    oh: usize,
    ow: usize,
    /// Padding before, along height and width.
    pad: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
}

impl ConvGeometry {
    fn new(x: &[usize], f: &[usize], c: &crate::graph::Conv) -> KernelResult<ConvGeometry> {
        let (&[n, h, w, cin], &[kh, kw, fin, cout]) = (x, f) else {
            return Err("Conv2D takes an NHWC input and a [height, width, in, out] filter");
        };
        // Sizes may come from a tensor (the backprops' shapes): every buffer they make must fit.
        super::element_count(x)?;
        super::element_count(f)?;
        if cin != fin {
            return Err("the filter's input channels must match the input's channels");
        }
        let too_large = "the filter is larger than the input";
        let (oh, ph) = window(h, kh, c.strides[0], c.dilations[0], c.padding).ok_or(too_large)?;
        let (ow, pw) = window(w, kw, c.strides[1], c.dilations[1], c.padding).ok_or(too_large)?;
        super::element_count(&[n, oh, ow, kh, kw, cin])?;
        super::element_count(&[n, oh, ow, cout])?;
        Ok(ConvGeometry {
            n,
            h,
            w,
            cin,
            kh,
            kw,
            cout,
            oh,
            ow,
            pad: [ph, pw],
            strides: c.strides,
            dilations: c.dilations,
        })
    }

    /// The direct convolution of these sizes over `x` and `f` (as a
    /// `[patch, cout]` matrix).
    fn direct<'a, U>(&self, x: &'a [U], f: &'a [U]) -> direct::Conv<'a, U> {
        direct::Conv {
            x,
            f,
            input: [self.h, self.w, self.cin],
            filter: [self.kh, self.kw, self.cout],
            output: [self.oh, self.ow],
            pad: self.pad,
            strides: self.strides,
            dilations: self.dilations,
        }
    }

    /// Elements of one patch: `kh * kw * cin`.
    fn patch(&self) -> usize {
        self.kh * self.kw * self.cin
    }

    /// Calls `each(row, offset in the patch, offset in the input)` for every
    /// filter tap inside the input, a run of `cin` elements each: `iy < h`
    /// and `ix < w` are checked, so both runs lie inside buffers of
    /// `n * oh * ow * patch` and `n * h * w * cin` elements, whose sizes
    /// `new` checked.
    fn for_each_tap(&self, mut each: impl FnMut(usize, usize, usize)) {
        for row in 0..self.n * self.oh * self.ow {
            let (b, rest) = (row / (self.oh * self.ow), row % (self.oh * self.ow));
            let (oy, ox) = (rest / self.ow, rest % self.ow);
            for ky in 0..self.kh {
                let y = (oy * self.strides[0] + ky * self.dilations[0]).checked_sub(self.pad[0]);
                let Some(iy) = y.filter(|&y| y < self.h) else { continue };
                for kx in 0..self.kw {
                    let x = (ox * self.strides[1] + kx * self.dilations[1]).checked_sub(self.pad[1]);
                    let Some(ix) = x.filter(|&x| x < self.w) else { continue };
                    each(row, (ky * self.kw + kx) * self.cin, ((b * self.h + iy) * self.w + ix) * self.cin);
                }
            }
        }
    }

    /// The input's patches, one row per output position (im2col).
    fn im2col<T: NdFloat>(&self, xs: &[T]) -> Array2<T> {
        let (patch, cin) = (self.patch(), self.cin);
        let mut cols = Array2::<T>::zeros((self.n * self.oh * self.ow, patch));
        let out = cols.as_slice_mut().expect("a new array is contiguous");
        self.for_each_tap(|row, dst, src| {
            out[row * patch + dst..row * patch + dst + cin].copy_from_slice(&xs[src..src + cin]);
        });
        cols
    }
}

/// The int32/int64 vector input `i` as sizes (a shape given as a tensor).
fn sizes(v: &Value) -> KernelResult<Vec<usize>> {
    super::ints(v)
        .ok_or("a shape is an integer vector")?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| "a shape holds no negative size"))
        .collect()
}

/// TF `Conv2DBackpropInput`: the gradient of a convolution for its input,
/// from the input's shape, the filter and the output's gradient.
pub(crate) fn conv2d_backprop_input_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (input_sizes, f, dy) = (inputs.next()?, inputs.next()?, inputs.next()?);
    let input_sizes = sizes(input_sizes.value())?;
    typed!(f, [F32, F64], |f| conv2d_backprop_input(&input_sizes, f.view(), dy.value(), attr))
}

fn conv2d_backprop_input<T: NdFloat + Element>(
    input_sizes: &[usize],
    f: ArrayViewD<'_, T>,
    dy: &Value,
    attr: &Attr,
) -> KernelResult<ArrayD<T>> {
    let Attr::Conv(c) = attr else { return Err("missing convolution attributes") };
    let g = ConvGeometry::new(input_sizes, f.shape(), c)?;
    let dy = same::<T>(dy)?;
    if dy.shape() != [g.n, g.oh, g.ow, g.cout] {
        return Err("the output gradient has the convolution's output shape");
    }
    let dy = dy.view().into_shape_with_order((g.n * g.oh * g.ow, g.cout)).map_err(|_| "gradient layout")?;
    let f = f.into_shape_with_order((g.patch(), g.cout)).map_err(|_| "filter layout")?;
    // Each output position's gradient spread over its patch, then added back into the input (col2im).
    // With one output channel the product can come out column-major: read it row-major.
    let dcols = dy.dot(&f.t());
    let dcols = dcols.as_standard_layout();
    let dcols = dcols.as_slice().ok_or("a product is contiguous")?;
    let mut dx = vec![T::zero(); g.n * g.h * g.w * g.cin];
    let (patch, cin) = (g.patch(), g.cin);
    g.for_each_tap(|row, src, dst| {
        for (d, &s) in dx[dst..dst + cin].iter_mut().zip(&dcols[row * patch + src..row * patch + src + cin]) {
            *d += s;
        }
    });
    ArrayD::from_shape_vec(IxDyn(input_sizes), dx).map_err(|_| "input gradient shape")
}

/// TF `Conv2DBackpropFilter`: the gradient of a convolution for its filter,
/// from the input, the filter's shape and the output's gradient.
pub(crate) fn conv2d_backprop_filter_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, filter_sizes, dy) = (inputs.next()?, inputs.next()?, inputs.next()?);
    let filter_sizes = sizes(filter_sizes.value())?;
    typed!(x, [F32, F64], |x| conv2d_backprop_filter(x.view(), &filter_sizes, dy.value(), attr))
}

fn conv2d_backprop_filter<T: NdFloat + Element>(
    x: ArrayViewD<'_, T>,
    filter_sizes: &[usize],
    dy: &Value,
    attr: &Attr,
) -> KernelResult<ArrayD<T>> {
    let Attr::Conv(c) = attr else { return Err("missing convolution attributes") };
    let g = ConvGeometry::new(x.shape(), filter_sizes, c)?;
    let dy = same::<T>(dy)?;
    if dy.shape() != [g.n, g.oh, g.ow, g.cout] {
        return Err("the output gradient has the convolution's output shape");
    }
    let x = x.as_standard_layout();
    let cols = g.im2col(x.as_slice().ok_or("input layout")?);
    let dy = dy.view().into_shape_with_order((g.n * g.oh * g.ow, g.cout)).map_err(|_| "gradient layout")?;
    let df = cols.t().dot(&dy);
    df.into_shape_with_order(IxDyn(filter_sizes)).map_err(|_| "filter gradient shape")
}

/// NHWC max pooling.
pub(crate) fn max_pool_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| pool(true, a.view(), attr))
}

/// NHWC average pooling; `SAME` windows average only real elements, as in TensorFlow.
pub(crate) fn avg_pool_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    typed!(Inputs::new(args).next()?, [F32, F64], |a| pool(false, a.view(), attr))
}

fn pool<T: NdFloat>(is_max: bool, x: ArrayViewD<'_, T>, attr: &Attr) -> KernelResult<ArrayD<T>> {
    let g = PoolGeometry::new(x.shape(), attr)?;
    let mut out = ArrayD::<T>::zeros(IxDyn(&[g.n, g.oh, g.ow, g.ch]));
    g.for_each_window(|[b, oy, ox, c], taps| {
        let (mut acc, mut count) = (if is_max { T::neg_infinity() } else { T::zero() }, 0usize);
        for (iy, ix) in taps {
            let v = x[[b, iy, ix, c]];
            acc = if is_max { acc.max(v) } else { acc + v };
            count += 1;
        }
        out[[b, oy, ox, c]] = if is_max { acc } else { acc / T::from(count.max(1)).expect("a count is representable") };
    });
    Ok(out)
}

/// The sizes of an NHWC pooling.
struct PoolGeometry {
    n: usize,
    h: usize,
    w: usize,
    ch: usize,
    oh: usize,
    ow: usize,
    pad: [usize; 2],
    ksize: [usize; 2],
    strides: [usize; 2],
}

impl PoolGeometry {
    fn new(x: &[usize], attr: &Attr) -> KernelResult<PoolGeometry> {
        let Attr::Pool(p) = attr else { return Err("missing pooling attributes") };
        let &[n, h, w, ch] = x else { return Err("the input of pooling is NHWC: rank 4") };
        // Sizes may come from a tensor (`AvgPoolGrad`'s input shape): the buffer must fit.
        super::element_count(x)?;
        let too_large = "the window is larger than the input";
        let (oh, ph) = window(h, p.ksize[0], p.strides[0], 1, p.padding).ok_or(too_large)?;
        let (ow, pw) = window(w, p.ksize[1], p.strides[1], 1, p.padding).ok_or(too_large)?;
        Ok(PoolGeometry { n, h, w, ch, oh, ow, pad: [ph, pw], ksize: p.ksize, strides: p.strides })
    }

    /// Every index it gives is inside the input (`taps`) or the output
    /// (`[b, oy, ox, c]`), so the kernels index both with them directly.
    ///
    /// Calls `each([b, oy, ox, c], taps)` for every output element, `taps`
    /// the window's input positions `(iy, ix)` inside the input, row by row
    /// (only those: a window far larger than the input costs nothing more).
    fn for_each_window(&self, mut each: impl FnMut([usize; 4], &mut dyn Iterator<Item = (usize, usize)>)) {
        // The input positions `o * stride - pad + [0, k)` that lie in `[0, size)`.
        let inside = |o: usize, axis: usize, size: usize| {
            let start = (o * self.strides[axis]) as i128 - self.pad[axis] as i128;
            let end = (start + self.ksize[axis] as i128).min(size as i128);
            (start.max(0) as usize)..(end.max(0) as usize)
        };
        for b in 0..self.n {
            for oy in 0..self.oh {
                let rows = inside(oy, 0, self.h);
                for ox in 0..self.ow {
                    let cols = inside(ox, 1, self.w);
                    for c in 0..self.ch {
                        let cols = cols.clone();
                        let mut taps = rows.clone().flat_map(|iy| cols.clone().map(move |ix| (iy, ix)));
                        each([b, oy, ox, c], &mut taps);
                    }
                }
            }
        }
    }
}

/// TF `MaxPoolGrad`: each output's gradient goes to the first input of its
/// window (row by row) that equals the window's maximum.
pub(crate) fn max_pool_grad_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (x, _output, dy) = (inputs.next()?, inputs.next()?, inputs.next()?);
    typed!(x, [F32, F64], |x| max_pool_grad(x.view(), dy.value(), attr))
}

fn max_pool_grad<T: NdFloat + Element>(x: ArrayViewD<'_, T>, dy: &Value, attr: &Attr) -> KernelResult<ArrayD<T>> {
    let g = PoolGeometry::new(x.shape(), attr)?;
    let dy = same::<T>(dy)?;
    if dy.shape() != [g.n, g.oh, g.ow, g.ch] {
        return Err("the output gradient has the pooling's output shape");
    }
    let mut dx = ArrayD::<T>::zeros(x.raw_dim());
    g.for_each_window(|[b, oy, ox, c], taps| {
        let mut best: Option<((usize, usize), T)> = None;
        for (iy, ix) in taps {
            let v = x[[b, iy, ix, c]];
            if best.is_none_or(|(_, m)| v > m) {
                best = Some(((iy, ix), v));
            }
        }
        if let Some(((iy, ix), _)) = best {
            dx[[b, iy, ix, c]] += dy[[b, oy, ox, c]];
        }
    });
    Ok(dx)
}

/// TF `AvgPoolGrad`: each output's gradient shared equally by the inputs of
/// its window (only those inside the input, as the forward average).
pub(crate) fn avg_pool_grad_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (input_sizes, dy) = (inputs.next()?, inputs.next()?);
    let input_sizes = sizes(input_sizes.value())?;
    typed!(dy, [F32, F64], |dy| avg_pool_grad(&input_sizes, dy.view(), attr))
}

fn avg_pool_grad<T: NdFloat>(input_sizes: &[usize], dy: ArrayViewD<'_, T>, attr: &Attr) -> KernelResult<ArrayD<T>> {
    let g = PoolGeometry::new(input_sizes, attr)?;
    if dy.shape() != [g.n, g.oh, g.ow, g.ch] {
        return Err("the output gradient has the pooling's output shape");
    }
    let mut dx = ArrayD::<T>::zeros(IxDyn(input_sizes));
    g.for_each_window(|[b, oy, ox, c], taps| {
        let taps: smallvec::SmallVec<[(usize, usize); 16]> = taps.collect();
        let share = dy[[b, oy, ox, c]] / T::from(taps.len().max(1)).expect("a count is representable");
        for (iy, ix) in taps {
            dx[[b, iy, ix, c]] += share;
        }
    });
    Ok(dx)
}

/// TF `SparseSoftmaxCrossEntropyWithLogits`: per row, the loss
/// `logsumexp(logits) - logits[label]` and its gradient `softmax - one_hot`,
/// from logits `[batch, classes]` and integer labels `[batch]`.
pub(crate) fn sparse_softmax_xent_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
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
pub(crate) fn softmax_xent_kernel(_: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
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

/// TF `FusedBatchNormV3` on NHWC `x` with per-channel `scale`, `offset`,
/// `mean` and `variance`, as TF's CPU kernel computes it. In training the
/// moments are the batch's: `y = (x - m) * (rsqrt(v + epsilon) * scale) +
/// offset` with `m = sum(x) / n` and the biased `v = sum((x - m)²) / n` over
/// the `n` positions of each channel; the outputs are then `y`, `m`, the
/// unbiased `v * n / (n - 1)` (for the moving averages), and `m`, `v` saved
/// for the gradient. In inference the given `mean` and `variance` are used
/// and passed on. The sixth output is an empty reserve.
pub(crate) fn fused_batch_norm_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let Attr::FusedBatchNorm { epsilon, is_training } = *attr else { return Err("FusedBatchNormV3 needs its epsilon") };
    let mut inputs = Inputs::new(args);
    let x = inputs.next()?;
    let rest: Vec<Arg<'_>> = (0..4).map(|_| inputs.next()).collect::<KernelResult<_>>()?;
    match x.value() {
        Value::F32(a) => {
            let v = channel_vectors::<f32>(&rest)?;
            let outs = fused_batch_norm(a, [v[0], v[1], v[2], v[3]], epsilon, is_training)?;
            Ok(outs.into_iter().map(Value::F32).collect())
        }
        Value::F64(a) => {
            let v = channel_vectors::<f64>(&rest)?;
            let outs = fused_batch_norm(a, [v[0], v[1], v[2], v[3]], f64::from(epsilon), is_training)?;
            Ok(outs.into_iter().map(Value::F64).collect())
        }
        _ => Err("this op has no kernel for this dtype"),
    }
}

/// The channel vectors among a fused batch norm's inputs, in `T`.
fn channel_vectors<'a, T: Element>(args: &'a [Arg<'_>]) -> KernelResult<Vec<&'a ArrayD<T>>> {
    args.iter()
        .map(|a| {
            let v = same::<T>(a.value())?;
            if v.ndim() == 1 { Ok(v) } else { Err("scale, offset, mean and variance are vectors") }
        })
        .collect()
}

/// A channel vector as a 1-D view.
fn vector<T>(a: &ArrayD<T>) -> KernelResult<ndarray::ArrayView1<'_, T>> {
    a.view().into_dimensionality().map_err(|_| "scale, offset, mean and variance are vectors")
}

/// The NHWC input as rows of channels, checked against the vectors' length.
fn rows_of_channels<'a, T: NdFloat>(
    x: &'a ArrayD<T>,
    vectors: &[&ArrayD<T>],
) -> KernelResult<ndarray::ArrayView2<'a, T>> {
    if x.ndim() != 4 {
        return Err("the input is 4-D (NHWC)");
    }
    let c = x.shape()[3];
    if vectors.iter().any(|v| v.len() != c) {
        return Err("scale, offset, mean and variance have one entry per channel (the last axis)");
    }
    let n = x.len() / c.max(1);
    x.view().into_shape_with_order((n, c)).map_err(|_| "the input's layout")
}

fn fused_batch_norm<T: NdFloat>(
    x: &ArrayD<T>,
    [scale, offset, mean, variance]: [&ArrayD<T>; 4],
    epsilon: T,
    is_training: bool,
) -> KernelResult<Vec<ArrayD<T>>> {
    let rows = rows_of_channels(x, &[scale, offset, mean, variance])?;
    let (n, c) = rows.dim();
    let (scale, offset) = (vector(scale)?, vector(offset)?);
    let (m, v) = if is_training {
        let inv = T::one() / T::from(n).expect("a count is representable");
        let m = rows.sum_axis(Axis(0)) * inv;
        let v = (&rows - &m).mapv(|d| d * d).sum_axis(Axis(0)) * inv;
        (m, v)
    } else {
        (vector(mean)?.to_owned(), vector(variance)?.to_owned())
    };
    let factor = Zip::from(&v).and(scale).map_collect(|&v, &s| (v + epsilon).sqrt().recip() * s);
    let mut y = ndarray::Array2::<T>::zeros((n, c));
    Zip::from(y.rows_mut()).and(rows.rows()).for_each(|mut out, row| {
        Zip::from(&mut out).and(&row).and(&m).and(&factor).and(&offset).for_each(|o, &x, &m, &f, &b| {
            *o = (x - m) * f + b;
        });
    });
    let y = y.into_shape_with_order(IxDyn(x.shape())).map_err(|_| "the output's layout")?;
    let reserve = ArrayD::zeros(IxDyn(&[0]));
    let saved_variance = v.clone().into_dyn();
    let batch_variance = if is_training {
        let n = T::from(n).expect("a count is representable");
        let adjust = n / (n - T::one()).max(T::one());
        v.mapv(|v| v * adjust).into_dyn()
    } else {
        v.into_dyn()
    };
    let m = m.into_dyn();
    Ok(vec![y, m.clone(), batch_variance, m, saved_variance, reserve])
}

/// TF `FusedBatchNormGradV3` on NHWC inputs, as TF's CPU kernel: from the
/// output's gradient `dy`, `x`, `scale` and the saved mean `m` and variance
/// `v` (the batch's in training, the given ones in inference), with
/// `r = rsqrt(v + epsilon)`: the offset's gradient `sum(dy)`, the scale's
/// `sum(dy * (x - m) * r)`, and the input's: in training `scale * r * (dy -
/// mean(dy) - (x - m) * mean(dy * (x - m)) / (v + epsilon))`, in inference
/// `dy * scale * r`. Two empty reserves follow.
pub(crate) fn fused_batch_norm_grad_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Vec<Value>> {
    let Attr::FusedBatchNorm { epsilon, is_training } = *attr else {
        return Err("FusedBatchNormGradV3 needs its epsilon");
    };
    let mut inputs = Inputs::new(args);
    let dy = inputs.next()?;
    let x = inputs.next()?;
    let rest: Vec<Arg<'_>> = (0..3).map(|_| inputs.next()).collect::<KernelResult<_>>()?;
    match (dy.value(), x.value()) {
        (Value::F32(dy), Value::F32(x)) => {
            let v = channel_vectors::<f32>(&rest)?;
            let outs = fused_batch_norm_grad(dy, x, [v[0], v[1], v[2]], epsilon, is_training)?;
            Ok(outs.into_iter().map(Value::F32).collect())
        }
        (Value::F64(dy), Value::F64(x)) => {
            let v = channel_vectors::<f64>(&rest)?;
            let outs = fused_batch_norm_grad(dy, x, [v[0], v[1], v[2]], f64::from(epsilon), is_training)?;
            Ok(outs.into_iter().map(Value::F64).collect())
        }
        _ => Err("this op has no kernel for this dtype"),
    }
}

fn fused_batch_norm_grad<T: NdFloat>(
    dy: &ArrayD<T>,
    x: &ArrayD<T>,
    [scale, mean, variance]: [&ArrayD<T>; 3],
    epsilon: T,
    is_training: bool,
) -> KernelResult<Vec<ArrayD<T>>> {
    if dy.shape() != x.shape() {
        return Err("the output's gradient has the input's shape");
    }
    let rows = rows_of_channels(x, &[scale, mean, variance])?;
    let dys = rows_of_channels(dy, &[])?;
    let (n, c) = rows.dim();
    let (scale, mean, variance) = (vector(scale)?, vector(mean)?, vector(variance)?);
    let r = variance.mapv(|v| (v + epsilon).sqrt().recip());
    let centered = &rows - &mean;
    let doffset = dys.sum_axis(Axis(0));
    let dscale = (&dys * &centered).sum_axis(Axis(0)) * &r;
    let dx = if is_training {
        let inv = T::one() / T::from(n.max(1)).expect("a count is representable");
        let mean_dy = &doffset * inv;
        let mean_dy_centered = (&dys * &centered).sum_axis(Axis(0)) * inv;
        let coef = Zip::from(&scale).and(&r).map_collect(|&s, &r| s * r);
        let over = Zip::from(&mean_dy_centered).and(&variance).map_collect(|&d, &v| d / (v + epsilon));
        let mut dx = ndarray::Array2::<T>::zeros((n, c));
        Zip::from(dx.rows_mut()).and(dys.rows()).and(centered.rows()).for_each(|mut out, g, xc| {
            Zip::from(&mut out)
                .and(&g)
                .and(&xc)
                .and(&coef)
                .and(&mean_dy)
                .and(&over)
                .for_each(|o, &g, &xc, &k, &mg, &ov| *o = k * (g - mg - xc * ov));
        });
        dx
    } else {
        let coef = Zip::from(&scale).and(&r).map_collect(|&s, &r| s * r);
        &dys * &coef
    };
    let dx = dx.into_shape_with_order(IxDyn(x.shape())).map_err(|_| "the gradient's layout")?;
    let empty = || ArrayD::zeros(IxDyn(&[0]));
    Ok(vec![dx, dscale.into_dyn(), doffset.into_dyn(), empty(), empty()])
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
