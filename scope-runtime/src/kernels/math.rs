//! Elementwise arithmetic, activations, comparisons, selection and matrix products.

use super::tiles::Epilogue;
use super::{Inputs, Num, Typed, cpu, map, same, spare, typed, zip, zip_into};
use crate::base::{DType, Element, Value};
use crate::graph::{Args, Attr, Held, KernelResult};
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, NdFloat, Slice, Zip};

fn add<T: Num>(a: T, b: T) -> T {
    Num::add(a, b)
}
fn sub<T: Num>(a: T, b: T) -> T {
    Num::sub(a, b)
}
fn mul<T: Num>(a: T, b: T) -> T {
    Num::mul(a, b)
}
fn div<T: Num>(a: T, b: T) -> T {
    a / b
}
pub(crate) fn max<T: Num>(a: T, b: T) -> T {
    if a >= b { a } else { b }
}
fn min<T: Num>(a: T, b: T) -> T {
    if a <= b { a } else { b }
}
fn relu<T: Num>(x: T) -> T {
    max(x, T::zero())
}
fn square<T: Num>(x: T) -> T {
    Num::mul(x, x)
}
fn neg<T: Num>(x: T) -> T {
    Num::neg(x)
}
fn abs<T: Num>(x: T) -> T {
    if x < T::zero() { Num::neg(x) } else { x }
}
fn relu6<T: NdFloat>(x: T) -> T {
    x.max(T::zero()).min(T::from(6.0).expect("6 is representable"))
}
fn sigmoid<T: NdFloat>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}
/// `ln(1 + eˣ)`, computed as TensorFlow's kernel does to stay finite and exact at both ends.
fn softplus<T: NdFloat>(x: T) -> T {
    let threshold = T::epsilon().ln() + T::from(2.0).expect("2 is representable");
    if x > -threshold {
        x
    } else if x < threshold {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}
fn tanh<T: NdFloat>(x: T) -> T {
    x.tanh()
}
fn sqrt<T: NdFloat>(x: T) -> T {
    x.sqrt()
}
fn rsqrt<T: NdFloat>(x: T) -> T {
    x.sqrt().recip()
}
fn exp<T: NdFloat>(x: T) -> T {
    x.exp()
}
fn ln<T: NdFloat>(x: T) -> T {
    x.ln()
}

/// Kernels of one input and one output of the same dtype, mapped elementwise.
macro_rules! unary {
    ($($name:ident [$($v:ident),*] $f:ident;)*) => {$(
        pub(crate) fn $name(_: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
            typed!(Inputs::new(args).next()?, [$($v),*], |a| map(a, $f, spares))
        }
    )*};
}

fn sign<T: Num>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        Num::neg(T::one())
    } else {
        T::zero()
    }
}
fn reciprocal<T: NdFloat>(x: T) -> T {
    T::one() / x
}
fn floor<T: NdFloat>(x: T) -> T {
    x.floor()
}
fn pow<T: NdFloat>(a: T, b: T) -> T {
    a.powf(b)
}
fn log1p<T: NdFloat>(x: T) -> T {
    x.ln_1p()
}
fn squared_difference<T: Num>(a: T, b: T) -> T {
    let d = Num::sub(a, b);
    Num::mul(d, d)
}
/// `a / b`, and 0 where `b` is 0 (TF `DivNoNan`).
fn div_no_nan<T: NdFloat>(a: T, b: T) -> T {
    if b == T::zero() { T::zero() } else { a / b }
}

unary! {
    sign_kernel [F32, F64, I32, I64] sign;
    reciprocal_kernel [F32, F64] reciprocal;
    relu_kernel [F32, F64, I32, I64] relu;
    square_kernel [F32, F64, I32, I64] square;
    neg_kernel [F32, F64, I32, I64] neg;
    abs_kernel [F32, F64, I32, I64] abs;
    relu6_kernel [F32, F64] relu6;
    sigmoid_kernel [F32, F64] sigmoid;
    softplus_kernel [F32, F64] softplus;
    tanh_kernel [F32, F64] tanh;
    sqrt_kernel [F32, F64] sqrt;
    rsqrt_kernel [F32, F64] rsqrt;
    exp_kernel [F32, F64] exp;
    log_kernel [F32, F64] ln;
    log1p_kernel [F32, F64] log1p;
    floor_kernel [F32, F64] floor;
}

/// Kernels of two broadcast inputs and one output of their dtype.
macro_rules! binary {
    ($($name:ident [$($v:ident),*] $f:ident;)*) => {$(
        pub(crate) fn $name(_: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
            let mut inputs = Inputs::new(args);
            let a = inputs.next()?;
            let b = inputs.next()?;
            typed!(a, [$($v),*], |a| zip(a, b.value(), $f, spares))
        }
    )*};
}

binary! {
    add_kernel [F32, F64, I32, I64] add;
    sub_kernel [F32, F64, I32, I64] sub;
    mul_kernel [F32, F64, I32, I64] mul;
    div_kernel [F32, F64] div;
    maximum_kernel [F32, F64, I32, I64] max;
    minimum_kernel [F32, F64, I32, I64] min;
    squared_difference_kernel [F32, F64, I32, I64] squared_difference;
    div_no_nan_kernel [F32, F64] div_no_nan;
    pow_kernel [F32, F64] pow;
}

/// TF `ReciprocalGrad(y, grad)`: `-grad * y²` for a `Reciprocal`'s output `y`.
pub(crate) fn reciprocal_grad_kernel(_: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (y, g) = (inputs.next()?, inputs.next()?);
    fn rule<T: NdFloat>(y: T, g: T) -> T {
        -g * y * y
    }
    typed!(y, [F32, F64], |y| zip(y, g.value(), rule, spares))
}

/// TF `Cumprod(x, axis)`: running products along `axis`, `exclusive` (each
/// product leaves its own element out) and `reverse` (from the end) as asked.
pub(crate) fn cumprod_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::Cumulative { exclusive, reverse } = *attr else { return Err("missing cumulative attributes") };
    let mut inputs = Inputs::new(args);
    let (x, axis) = (inputs.next()?, inputs.next()?);
    let axis = match super::ints(axis.value()).as_deref() {
        Some(&[a]) => super::axis_in(a, x.value().shape().len()).ok_or("the axis is out of range")?,
        _ => return Err("the axis is one integer"),
    };
    fn run<T: Num>(x: Typed<'_, T>, axis: usize, exclusive: bool, reverse: bool) -> KernelResult<ArrayD<T>> {
        let mut out = x.into_owned();
        for mut lane in out.lanes_mut(ndarray::Axis(axis)) {
            let n = lane.len();
            let mut acc = T::one();
            for k in 0..n {
                let i = if reverse { n - 1 - k } else { k };
                let v = lane[i];
                if exclusive {
                    lane[i] = acc;
                    acc = Num::mul(acc, v);
                } else {
                    acc = Num::mul(acc, v);
                    lane[i] = acc;
                }
            }
        }
        Ok(out)
    }
    typed!(x, [F32, F64, I32, I64], |a| run(a, axis, exclusive, reverse))
}

/// Kernels comparing two broadcast inputs elementwise into bools.
macro_rules! comparison {
    ($($name:ident $op:tt;)*) => {$(
        pub(crate) fn $name(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
            let mut inputs = Inputs::new(args);
            let (a, b) = (inputs.next()?, inputs.next()?);
            let b = b.value();
            Ok(Value::Bool(match a.value() {
                Value::F32(a) => zip_into(a.view(), b, |x, y| x $op y)?,
                Value::F64(a) => zip_into(a.view(), b, |x, y| x $op y)?,
                Value::I32(a) => zip_into(a.view(), b, |x, y| x $op y)?,
                Value::I64(a) => zip_into(a.view(), b, |x, y| x $op y)?,
                Value::Bool(a) => zip_into(a.view(), b, |x, y| x $op y)?,
            }))
        }
    )*};
}

comparison! {
    equal_kernel ==;
    less_kernel <;
    greater_kernel >;
    greater_equal_kernel >=;
    less_equal_kernel <=;
}

/// `max(x, alpha * x)` (TF `LeakyRelu`).
pub(crate) fn leaky_relu_kernel(attr: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
    let Attr::Alpha(alpha) = *attr else { return Err("missing alpha") };
    fn leaky<T: NdFloat + Element>(a: Typed<'_, T>, alpha: f64, spares: &mut Vec<Value>) -> KernelResult<ArrayD<T>> {
        let alpha = T::from(alpha).ok_or("alpha is not representable")?;
        map(a, |x| if x > T::zero() { x } else { x * alpha }, spares)
    }
    typed!(Inputs::new(args).next()?, [F32, F64], |a| leaky(a, alpha, spares))
}

/// `x + bias` along the last axis.
pub(crate) fn bias_add_kernel(attr: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
    add_kernel(attr, args, spares)
}

/// The values converted to the attribute's dtype.
pub(crate) fn cast_kernel(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let Attr::DType(to) = *attr else { return Err("missing dtype") };
    let x = Inputs::new(args).next()?;
    Ok(if x.value().dtype() == to { x.into_value() } else { x.value().cast(to) })
}

/// The input unchanged.
pub(crate) fn identity_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    Ok(Inputs::new(args).next()?.into_value())
}

/// `cond ? x : y` elementwise: TF `Select` (`cond` of `x`'s shape, or a
/// vector picking rows) and, with `broadcast`, `SelectV2` (all three broadcast).
fn select(args: Args<'_>, broadcast: bool) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let cond = inputs.next()?;
    let Value::Bool(cond) = cond.value() else { return Err("the condition must be bool") };
    let (x, y) = (inputs.next()?, inputs.next()?);
    fn pick<T: Element>(
        cond: ArrayViewD<'_, bool>,
        x: &ArrayD<T>,
        y: &Value,
        broadcast: bool,
    ) -> KernelResult<ArrayD<T>> {
        let y = same::<T>(y)?;
        let shape = if broadcast {
            let xy = super::broadcast_sizes(x.shape(), y.shape()).ok_or("the inputs' shapes do not broadcast")?;
            super::broadcast_sizes(cond.shape(), &xy).ok_or("the condition does not broadcast with the values")?
        } else {
            if x.shape() != y.shape() {
                return Err("Select takes values of one shape");
            }
            x.shape().into()
        };
        let cond = match (broadcast, cond.ndim(), x.ndim()) {
            (false, 1, n) if n > 1 => {
                if cond.len() != x.shape()[0] {
                    return Err("a vector condition has one entry per row");
                }
                let mut dims = vec![1; n];
                dims[0] = cond.len();
                cond.into_shape_with_order(dims).map_err(|_| "condition layout")?
            }
            _ => cond,
        };
        let shape = shape.as_slice();
        let c = cond.broadcast(shape).ok_or("the condition does not fit the values")?;
        let xv = x.broadcast(shape).ok_or("broadcast")?;
        let yv = y.broadcast(shape).ok_or("broadcast")?;
        Ok(Zip::from(&c).and(&xv).and(&yv).map_collect(|&c, &a, &b| if c { a } else { b }))
    }
    let (cond, y) = (cond.view(), y.value());
    Ok(match x.value() {
        Value::F32(x) => Value::F32(pick(cond, x, y, broadcast)?),
        Value::F64(x) => Value::F64(pick(cond, x, y, broadcast)?),
        Value::I32(x) => Value::I32(pick(cond, x, y, broadcast)?),
        Value::I64(x) => Value::I64(pick(cond, x, y, broadcast)?),
        Value::Bool(x) => Value::Bool(pick(cond, x, y, broadcast)?),
    })
}

/// TF `Select`.
pub(crate) fn select_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    select(args, false)
}

/// TF `SelectV2`.
pub(crate) fn select_v2_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    select(args, true)
}

/// Matrix product on 2-D inputs, with TensorFlow's transpose flags.
pub(crate) fn matmul_kernel(attr: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (a, b) = (inputs.next()?, inputs.next()?);
    typed!(a, [F32, F64, I32, I64], |a| matmul(a.view(), b.value(), attr, spares, Epilogue::NONE))
}

/// A `MatMul` (`attr` its transpose flags) of `a` and `b`, `bias` added to
/// each row (its `BiasAdd`, or an `Add` of a vector), then with `relu` a
/// `Relu`: the chain TF1's dense layers build, computed in one pass that
/// writes the output once (as TF's grappler fuses it into `_FusedMatMul`),
/// with the values the three kernels give one after the other, bit for bit.
///
/// `None` when the inputs are not what the fusion takes (not of one dtype,
/// not matrices with agreeing sizes, a bias that is not a vector of one value
/// per output column): the three kernels then run one by one, and report
/// what is wrong.
pub(crate) fn dense(attr: &Attr, [a, b, bias]: [&Value; 3], relu: bool, spares: &mut Vec<Value>) -> Option<Value> {
    fn run<T: Num>(
        a: &ArrayD<T>,
        b: &Value,
        bias: &Value,
        attr: &Attr,
        relu: bool,
        spares: &mut Vec<Value>,
    ) -> Option<ArrayD<T>> {
        matmul(a.view(), b, attr, spares, Epilogue::of(bias, relu)?).ok()
    }
    Some(match a {
        Value::F32(a) => Value::F32(run(a, b, bias, attr, relu, spares)?),
        Value::F64(a) => Value::F64(run(a, b, bias, attr, relu, spares)?),
        Value::I32(a) => Value::I32(run(a, b, bias, attr, relu, spares)?),
        Value::I64(a) => Value::I64(run(a, b, bias, attr, relu, spares)?),
        Value::Bool(_) => return None,
    })
}

/// Floats in register tiles (or through `gemm`), integers with TF's
/// wrapping arithmetic; each sum finished by `epilogue`, whose bias must
/// hold one value per output column. The output takes a spare buffer of its
/// shape.
fn matmul<T: Num>(
    a: ArrayViewD<'_, T>,
    b: &Value,
    attr: &Attr,
    spares: &mut Vec<Value>,
    epilogue: Epilogue<'_, T>,
) -> KernelResult<ArrayD<T>> {
    let (ta, tb) = match attr {
        Attr::MatMul { transpose_a, transpose_b } => (*transpose_a, *transpose_b),
        _ => (false, false),
    };
    fn two<T>(v: ArrayViewD<'_, T>) -> KernelResult<ArrayView2<'_, T>> {
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
    if epilogue.bias.is_some_and(|bias| bias.len() != n) {
        return Err("the bias has one value per column of the product");
    }
    let mut out: Array2<T> = match spare::<T>(spares, &[m, n]).and_then(|b| b.into_dimensionality().ok()) {
        Some(buffer) => buffer,
        None => Array2::zeros((m, n)),
    };
    if matches!(T::DTYPE, DType::F32 | DType::F64) {
        float_mat_mul(&a, &b, out.view_mut(), epilogue);
    } else {
        // Integers: TF's wrapping arithmetic, one dot product per element.
        for ((i, j), o) in out.indexed_iter_mut() {
            *o = a.row(i).iter().zip(b.column(j)).fold(T::zero(), |s, (&x, &y)| Num::add(s, Num::mul(x, y)));
        }
        finish(out.view_mut(), epilogue);
    }
    Ok(out.into_dyn())
}

/// Applies `epilogue` to `out`, rows of `width` values, as the `BiasAdd`
/// and `Relu` kernels would (its bias, when there is one, holds `width`).
pub(crate) fn finish_rows<T: Num>(out: &mut [T], width: usize, epilogue: Epilogue<'_, T>) {
    if let Ok(out) = ArrayViewMut2::from_shape((out.len().checked_div(width).unwrap_or(0), width), out) {
        finish(out, epilogue);
    }
}

/// Applies `epilogue` to a computed block of a product's output, as the
/// `BiasAdd` and `Relu` kernels would: where the tiles could not.
fn finish<T: Num>(mut out: ArrayViewMut2<'_, T>, epilogue: Epilogue<'_, T>) {
    if epilogue.is_none() {
        return;
    }
    for mut row in out.rows_mut() {
        // A contiguous row as a slice: its pass vectorizes, where through the
        // strided row iterator it took 16 instructions an element, half of
        // what a batch-1 forward pass did besides its products.
        match row.as_slice_mut() {
            Some(xs) => finish_each(xs.iter_mut(), epilogue),
            None => finish_each(row.iter_mut(), epilogue),
        }
    }
}

/// [`finish`] on one row's values, in one pass: `relu(add(x, b))` per element.
#[inline(always)]
fn finish_each<'a, T: Num + 'a>(xs: impl Iterator<Item = &'a mut T>, epilogue: Epilogue<'_, T>) {
    match (epilogue.bias, epilogue.relu) {
        (Some(bias), true) => xs.zip(bias).for_each(|(x, &b)| *x = relu(add(*x, b))),
        (Some(bias), false) => xs.zip(bias).for_each(|(x, &b)| *x = add(*x, b)),
        (None, _) => xs.for_each(|x| *x = relu(*x)),
    }
}

/// Multiply-adds from which a product is split across threads: below it,
/// handing half to another thread costs more than it saves. Medians of
/// `matmul_into` on this 2-core VM, one thread against two (the worker
/// spinning): 32x64x64 (2^17) 2.45 against 3.88 µs, 32x128x64 (2^18) 4.72
/// against 5.21, 32x128x128 (2^19) 9.32 against 5.48, 32x256x256 36.9
/// against 19.4.
const PARALLEL_MULTIPLY_ADDS: usize = 1 << 19;
/// Multiply-adds from which a one-row product is split by columns. The
/// MLP's forward pass at batch 1 on this 2-core VM (its products 1x784x256
/// and 1x256x256 split, the worker spinning): 10.9 µs against 15.7 with
/// none split and 11.6-12.0 with only the first split.
const PARALLEL_ROW_MULTIPLY_ADDS: usize = 1 << 16;
/// Products with this many output columns are cut into column blocks, one
/// per thread, each reading all of the left matrix and its share of the
/// right one; narrower ones into row blocks.
const SPLIT_COLUMNS_FROM: usize = 64;

/// `out = a b` for f32 or f64, each sum finished by `epilogue` (its bias
/// holding `n` values). A large product is cut into one block of output
/// columns (rows when it is narrow) per thread of the running session, each
/// computed by [`product_into`]; the caller's thread takes the first block.
pub(crate) fn float_mat_mul<T: Num>(
    a: &ArrayView2<'_, T>,
    b: &ArrayView2<'_, T>,
    mut out: ArrayViewMut2<'_, T>,
    epilogue: Epilogue<'_, T>,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    debug_assert!(matches!(T::DTYPE, DType::F32 | DType::F64) && b.nrows() == k && out.dim() == (m, n));
    // One row times a row-major matrix (a batch of one): stream the weights
    // once instead of packing them (`cargo bench --bench session`, batch=1).
    if m == 1 {
        let x = a.row(0);
        if let (Some(x), Some(w), Some(row)) = (x.as_slice(), b.as_slice(), out.as_slice_mut()) {
            let Some(pool) = cpu::pool_for(k.saturating_mul(n), PARALLEL_ROW_MULTIPLY_ADDS) else {
                super::direct::row_times_matrix(x, w, n, row);
                return finish(out, epilogue);
            };
            let block = n.div_ceil(pool.current_num_threads()).next_multiple_of(16);
            return pool.run_each(row.chunks_mut(block), |i, row| {
                super::direct::row_times_matrix(x, &w[i * block..], n, row);
                finish_rows(row, row.len(), epilogue.columns(i * block..i * block + row.len()));
            });
        }
    }
    let Some(pool) = cpu::pool_for(m.saturating_mul(n).saturating_mul(k), PARALLEL_MULTIPLY_ADDS) else {
        return product_into(a.view(), b.view(), out.view_mut(), epilogue);
    };
    // Blocks of whole tiles, one per thread: 32 columns (AVX-512's tile
    // width, two of AVX2's) or 8 rows (AVX-512's tile height; AVX2's last
    // two row tiles of a block share what is left).
    let threads = pool.current_num_threads();
    let (axis, block) = match n >= SPLIT_COLUMNS_FROM {
        true => (Axis(1), n.div_ceil(threads).next_multiple_of(32)),
        false => (Axis(0), m.div_ceil(threads).next_multiple_of(8)),
    };
    pool.run_each(out.axis_chunks_iter_mut(axis, block), |i, out| {
        let (a, b, epilogue) = match axis {
            Axis(1) => (
                a.view(),
                b.slice_axis(axis, Slice::from(i * block..(i * block + block).min(n))),
                epilogue.columns(i * block..(i * block + block).min(n)),
            ),
            _ => (a.slice_axis(axis, Slice::from(i * block..(i * block + block).min(m))), b.view(), epilogue),
        };
        product_into(a, b, out, epilogue);
    });
}

/// `out = a b` for f32 matrices, computed as a [`Session`](crate::Session)
/// with `threads` threads computes `MatMul`: the same kernel (register
/// tiles for f32, a streaming pass for one row), split across the process's
/// threads for that count the same way. For code written by hand next to a
/// session (the benchmarks' baselines) that should cost what the session's
/// products cost.
///
/// ```
/// use scope_runtime::matmul_into;
/// use scope_runtime::ndarray::{Array2, array};
/// let a = array![[1.0f32, 2.0], [3.0, 4.0]];
/// let b = array![[5.0f32], [6.0]];
/// let mut out = Array2::zeros((2, 1));
/// matmul_into(a.view(), b.view(), out.view_mut(), 2)?;
/// assert_eq!(out, array![[17.0], [39.0]]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn matmul_into(
    a: ArrayView2<'_, f32>,
    b: ArrayView2<'_, f32>,
    out: ArrayViewMut2<'_, f32>,
    threads: usize,
) -> crate::Result<()> {
    if a.ncols() != b.nrows() || out.dim() != (a.nrows(), b.ncols()) {
        return Err(crate::Error::OpShape {
            op: "matmul_into".into(),
            op_type: "MatMul",
            shapes: [a.shape(), b.shape(), out.shape()].map(crate::Shape::from).to_vec(),
            rule: "a is [m, k], b is [k, n] and out is [m, n]",
        });
    }
    let _flush = cpu::FlushDenormals::new();
    let _pool = cpu::Using::new(cpu::pool(threads));
    float_mat_mul(&a, &b, out, Epilogue::NONE);
    Ok(())
}

/// `out = a b` on this thread, each sum finished by `epilogue`: in register
/// tiles for f32 (see [`super::tiles`]), else (f64, or what the tiles
/// decline) through [`gemm_into`], then [`finish`].
fn product_into<T: Num>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    mut out: ArrayViewMut2<'_, T>,
    epilogue: Epilogue<'_, T>,
) {
    debug_assert!(epilogue.bias.is_none_or(|bias| bias.len() == out.ncols()), "a bias per column of the block");
    if T::DTYPE == DType::F32 {
        // SAFETY: `T` is f32 (the only `Num` of dtype F32), so these are the
        // same views and slice with their element type named.
        let (a32, b32, mut out32, bias32) = unsafe {
            (
                a.raw_view().cast::<f32>().deref_into_view(),
                b.raw_view().cast::<f32>().deref_into_view(),
                out.raw_view_mut().cast::<f32>().deref_into_view_mut(),
                epilogue.bias.map(|b| std::slice::from_raw_parts(b.as_ptr().cast::<f32>(), b.len())),
            )
        };
        if super::tiles::product(&a32, &b32, &mut out32, Epilogue { bias: bias32, relu: epilogue.relu }) {
            return;
        }
    }
    gemm_into(a, b, out.view_mut());
    finish(out, epilogue);
}

/// `out = a b` through the `gemm` crate on this thread; it reads any
/// strides (transposed views included) and writes every element of `out`.
fn gemm_into<T: Num>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>, mut out: ArrayViewMut2<'_, T>) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    debug_assert!(matches!(T::DTYPE, DType::F32 | DType::F64) && b.nrows() == k && out.dim() == (m, n));
    let [a_rs, a_cs] = [a.strides()[0], a.strides()[1]];
    let [b_rs, b_cs] = [b.strides()[0], b.strides()[1]];
    let [o_rs, o_cs] = [out.strides()[0], out.strides()[1]];
    // SAFETY: the pointers and strides are those of live ndarray views of
    // the stated shapes, `out` is a distinct mutable view, and `gemm`
    // dispatches on `T` being f32 or f64 (checked by the caller), so every
    // access stays inside the three arrays. With `read_dst` false, `out` is
    // only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            o_cs,
            o_rs,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The sum of all inputs, of one shape.
pub(crate) fn add_n_kernel(_: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let mut sum = Held::from(inputs.next()?);
    while let Ok(next) = inputs.next() {
        if next.value().shape() != sum.value().shape() {
            return Err("the inputs of AddN have one shape");
        }
        sum = Held::Owned(typed!(sum, [F32, F64, I32, I64], |a| zip(a, next.value(), add, spares))?);
    }
    Ok(sum.into_value())
}

/// `grad` where the features are positive, else 0 (TF `ReluGrad(gradients, features)`).
pub(crate) fn relu_grad_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (grad, features) = (inputs.next()?, inputs.next()?);
    fn gate<T: NdFloat + Element>(g: Typed<'_, T>, f: &Value) -> KernelResult<ArrayD<T>> {
        let f = same::<T>(f)?;
        if f.shape() != g.view().shape() {
            return Err("the gradient and the features have one shape");
        }
        let mut g = g.into_owned();
        let zero = T::zero();
        match (g.as_slice_mut(), f.as_slice()) {
            // Row-major both: one loop the compiler vectorizes (a blend).
            (Some(gs), Some(fs)) => {
                for (g, &f) in gs.iter_mut().zip(fs) {
                    *g = if f <= zero { zero } else { *g };
                }
            }
            _ => Zip::from(&mut g).and(f).for_each(|g, &f| {
                if f <= zero {
                    *g = zero;
                }
            }),
        }
        Ok(g)
    }
    typed!(grad, [F32, F64], |g| gate(g, features.value()))
}

/// `grad * y * (1 - y)` (TF `SigmoidGrad(y, dy)`).
pub(crate) fn sigmoid_grad_kernel(_: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
    let mut inputs = Inputs::new(args);
    let (y, dy) = (inputs.next()?, inputs.next()?);
    fn chain<T: NdFloat + Element>(y: Typed<'_, T>, dy: &Value) -> KernelResult<ArrayD<T>> {
        let dy = same::<T>(dy)?;
        if dy.shape() != y.view().shape() {
            return Err("the gradient and the output have one shape");
        }
        let mut y = y.into_owned();
        Zip::from(&mut y).and(dy).for_each(|y, &d| *y = d * *y * (T::one() - *y));
        Ok(y)
    }
    typed!(y, [F32, F64], |y| chain(y, dy.value()))
}

/// Kernels of a gradient and a forward value, elementwise: `f(first, second)`.
macro_rules! grad_pair {
    ($($(#[$doc:meta])* $name:ident |$a:ident, $b:ident, $alpha:ident| $body:expr;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name(attr: &Attr, args: Args<'_>, _: &mut Vec<Value>) -> KernelResult {
            let alpha = match *attr {
                Attr::Alpha(a) => a,
                _ => 0.0,
            };
            let mut inputs = Inputs::new(args);
            let (first, second) = (inputs.next()?, inputs.next()?);
            fn pair<T: NdFloat + Element>(first: Typed<'_, T>, second: &Value, alpha: f64) -> KernelResult<ArrayD<T>> {
                let second = same::<T>(second)?;
                if second.shape() != first.view().shape() {
                    return Err("both inputs of a gradient op have one shape");
                }
                let $alpha = T::from(alpha).ok_or("alpha")?;
                let mut out = first.into_owned();
                Zip::from(&mut out).and(second).for_each(|o, &$b| {
                    let $a = *o;
                    *o = $body;
                });
                Ok(out)
            }
            typed!(first, [F32, F64], |f| pair(f, second.value(), alpha))
        }
    )*};
}

grad_pair! {
    /// `Relu6Grad(grad, features)`: `grad` where 0 < features < 6.
    relu6_grad_kernel |g, f, _alpha| if f > T::zero() && f < T::from(6.0).unwrap_or(T::zero()) { g } else { T::zero() };
    /// `TanhGrad(y, grad)`: `grad * (1 - y²)`.
    tanh_grad_kernel |y, g, _alpha| g * (T::one() - y * y);
    /// `SqrtGrad(y, grad)`: `grad * 0.5 / y`.
    sqrt_grad_kernel |y, g, _alpha| g * T::from(0.5).unwrap_or(T::zero()) / y;
    /// `RsqrtGrad(y, grad)`: `grad * -0.5 * y³`.
    rsqrt_grad_kernel |y, g, _alpha| g * T::from(-0.5).unwrap_or(T::zero()) * y * y * y;
    /// `LeakyReluGrad(grad, features)`: `grad` where features > 0, else `alpha * grad`.
    leaky_relu_grad_kernel |g, f, alpha| if f > T::zero() { g } else { alpha * g };
}

/// Integer division rounding toward negative infinity, and its remainder
/// (TF `FloorDiv`, `FloorMod` on integers).
trait Floor: Copy + PartialOrd + Default {
    fn floor_div(self, d: Self) -> Self;
    fn floor_mod(self, d: Self) -> Self;
}

macro_rules! floor_ints {
    ($($t:ty)*) => {$(
        impl Floor for $t {
            fn floor_div(self, d: Self) -> Self {
                let q = self.wrapping_div(d);
                if self.wrapping_rem(d) != 0 && ((self < 0) != (d < 0)) { q - 1 } else { q }
            }
            fn floor_mod(self, d: Self) -> Self {
                let r = self.wrapping_rem(d);
                if r != 0 && ((r < 0) != (d < 0)) { r + d } else { r }
            }
        }
    )*};
}
floor_ints!(i32 i64);

macro_rules! floor_kernels {
    ($($(#[$doc:meta])* $name:ident $f:ident;)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name(_: &Attr, args: Args<'_>, spares: &mut Vec<Value>) -> KernelResult {
            let mut inputs = Inputs::new(args);
            let (a, b) = (inputs.next()?, inputs.next()?);
            if super::ints(b.value()).is_some_and(|d| d.contains(&0)) {
                return Err("integer division by zero");
            }
            typed!(a, [I32, I64], |a| zip(a, b.value(), Floor::$f, spares))
        }
    )*};
}

floor_kernels! {
    /// `floor(a / b)` on integers.
    floor_div_kernel floor_div;
    /// `a - floor(a / b) * b` on integers.
    floor_mod_kernel floor_mod;
}
