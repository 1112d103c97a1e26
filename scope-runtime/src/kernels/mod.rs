//! How ops compute, on ndarray arrays, one family per file. Kernels know
//! nothing of names or graphs: the session hands them input values and
//! attributes and takes their outputs.

pub(crate) mod array;
#[cfg(feature = "mpi")]
pub(crate) mod collective;
pub(crate) mod control;
pub(crate) mod cpu;
pub(crate) mod direct;
pub(crate) mod math;
pub(crate) mod nn;
pub(crate) mod random;
pub(crate) mod reduce;
pub(crate) mod state;
pub(crate) mod tiles;

use crate::base::{Element, Value};
use crate::graph::{Arg, Args, KernelResult};
use ndarray::{ArrayD, ArrayViewD, LinalgScalar, Zip};

/// A typed input array, borrowed or owned.
pub(crate) enum Typed<'a, T> {
    Shared(&'a ArrayD<T>),
    Owned(ArrayD<T>),
}

impl<T: Clone> Typed<'_, T> {
    pub(crate) fn view(&self) -> ArrayViewD<'_, T> {
        match self {
            Typed::Shared(a) => a.view(),
            Typed::Owned(a) => a.view(),
        }
    }

    pub(crate) fn into_owned(self) -> ArrayD<T> {
        match self {
            Typed::Shared(a) => a.clone(),
            Typed::Owned(a) => a,
        }
    }
}

/// Expands `$body` once per listed dtype with `$a` bound to the input `$arg`
/// as a [`Typed`] array of that element type; the output has the same dtype.
/// Other dtypes are an error.
macro_rules! typed {
    ($arg:expr, [$($v:ident),*], |$a:ident| $body:expr) => {
        match $crate::graph::Held::from($arg) {
            $(
                $crate::graph::Held::Owned($crate::base::Value::$v(x)) => {
                    let $a = $crate::kernels::Typed::Owned(x);
                    Ok($crate::base::Value::$v($body?))
                }
                $crate::graph::Held::Shared($crate::base::Value::$v(x)) => {
                    let $a = $crate::kernels::Typed::Shared(x);
                    Ok($crate::base::Value::$v($body?))
                }
            )*
            #[allow(unreachable_patterns)] // unreachable when every dtype is listed
            _ => Err("this op has no kernel for this dtype"),
        }
    };
}
pub(crate) use typed;

/// The inputs of a kernel, taken in order.
pub(crate) struct Inputs<'a>(smallvec::IntoIter<[Arg<'a>; 8]>);

impl<'a> Inputs<'a> {
    pub(crate) fn new(args: Args<'a>) -> Inputs<'a> {
        Inputs(args.into_iter())
    }

    /// The next input.
    pub(crate) fn next(&mut self) -> KernelResult<Arg<'a>> {
        self.0.next().ok_or("missing input")
    }
}

/// An input as an array of element type `T`.
pub(crate) fn same<T: Element>(v: &Value) -> KernelResult<&ArrayD<T>> {
    v.as_array::<T>().ok_or("inputs of different dtypes")
}

/// Element types with arithmetic and an order. Integer arithmetic wraps on
/// overflow, as TensorFlow's kernels do, instead of panicking in debug builds.
pub(crate) trait Num: LinalgScalar + PartialOrd + Send + Sync + Element {
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    fn neg(self) -> Self;
    /// `self * a + acc`, rounded once for floats (wrapping for integers).
    fn fused_mul_add(self, a: Self, acc: Self) -> Self;
}

macro_rules! floats {
    ($($t:ty)*) => {$(
        impl Num for $t {
            fn add(self, other: Self) -> Self { self + other }
            fn sub(self, other: Self) -> Self { self - other }
            fn mul(self, other: Self) -> Self { self * other }
            fn neg(self) -> Self { -self }
            #[inline(always)]
            fn fused_mul_add(self, a: Self, acc: Self) -> Self { self.mul_add(a, acc) }
        }
    )*};
}

macro_rules! integers {
    ($($t:ty)*) => {$(
        impl Num for $t {
            fn add(self, other: Self) -> Self { self.wrapping_add(other) }
            fn sub(self, other: Self) -> Self { self.wrapping_sub(other) }
            fn mul(self, other: Self) -> Self { self.wrapping_mul(other) }
            fn neg(self) -> Self { self.wrapping_neg() }
            fn fused_mul_add(self, a: Self, acc: Self) -> Self { self.wrapping_mul(a).wrapping_add(acc) }
        }
    )*};
}

floats!(f32 f64);
integers!(i32 i64);

/// A buffer of `shape` for an output of element type `T`: one of an earlier
/// run's spares of that shape and dtype, in standard (row-major) layout as a
/// new array would be, whose values are stale (the caller writes every element).
pub(crate) fn spare<T: Element>(spares: &mut Vec<Value>, shape: &[usize]) -> Option<ArrayD<T>> {
    let fits = |v: &Value| v.as_array::<T>().is_some_and(|a| a.shape() == shape && a.is_standard_layout());
    let i = spares.iter().position(fits)?;
    T::into_array(spares.swap_remove(i))
}

/// `f` elementwise, in place when the input is owned, else into a spare
/// buffer when there is one. Generic over `F` (not a function pointer) so
/// that `f` inlines and the loop vectorizes.
pub(crate) fn map<T: Copy + Element, F: Fn(T) -> T>(
    a: Typed<'_, T>,
    f: F,
    spares: &mut Vec<Value>,
) -> KernelResult<ArrayD<T>> {
    Ok(match a {
        Typed::Owned(mut a) => {
            a.mapv_inplace(&f);
            a
        }
        Typed::Shared(a) => match spare::<T>(spares, a.shape()) {
            Some(mut out) => {
                Zip::from(&mut out).and(a).for_each(|o, &x| *o = f(x));
                out
            }
            None => a.mapv(&f),
        },
    })
}

/// Broadcasting of two concrete shapes, as NumPy does (on the stack up to rank 4).
pub(crate) fn broadcast_sizes(a: &[usize], b: &[usize]) -> Option<smallvec::SmallVec<[usize; 4]>> {
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

/// `f` on two broadcast inputs, in place when the first is owned and
/// already has the output's shape, else into a spare buffer when there is one.
pub(crate) fn zip<T: Copy + Element, F: Fn(T, T) -> T>(
    a: Typed<'_, T>,
    b: &Value,
    f: F,
    spares: &mut Vec<Value>,
) -> KernelResult<ArrayD<T>> {
    let b = same::<T>(b)?;
    // A scalar operand (`x * 0.5`, `x + 1`): one pass, without broadcasting.
    if let Some(&y) = b.first().filter(|_| b.len() == 1 && b.ndim() <= a.view().ndim()) {
        return map(a, |x| f(x, y), spares);
    }
    // A vector along the last axis of an owned input (`x + bias`): row by
    // row in place, without broadcasting.
    let a = match b.as_slice().filter(|v| b.ndim() == 1 && !v.is_empty()) {
        Some(vector) if a.view().shape().last() == Some(&vector.len()) => match by_rows(a, vector, &f) {
            Ok(done) => return Ok(done),
            Err(a) => a,
        },
        _ => a,
    };
    let out = broadcast_sizes(a.view().shape(), b.shape()).ok_or("the inputs' shapes do not broadcast")?;
    match a {
        Typed::Owned(mut a) if a.shape() == out.as_slice() => {
            Zip::from(&mut a).and_broadcast(b).for_each(|x, &y| *x = f(*x, y));
            Ok(a)
        }
        a => {
            let (av, bv) = (a.view(), b.view());
            let out = out.as_slice();
            let (av, bv) = (av.broadcast(out).ok_or("broadcast")?, bv.broadcast(out).ok_or("broadcast")?);
            Ok(match spare::<T>(spares, out) {
                Some(mut buffer) => {
                    Zip::from(&mut buffer).and(&av).and(&bv).for_each(|o, &x, &y| *o = f(x, y));
                    buffer
                }
                None => Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)),
            })
        }
    }
}

/// `f(x, v)` in place for each row `x` of an owned row-major `a` whose rows
/// are as long as `v`. Gives `a` back otherwise (shared, or not row-major):
/// the broadcasting path then writes into a spare buffer.
fn by_rows<'a, T: Copy + Element, F: Fn(T, T) -> T>(
    a: Typed<'a, T>,
    v: &[T],
    f: &F,
) -> Result<ArrayD<T>, Typed<'a, T>> {
    let Typed::Owned(mut a) = a else { return Err(a) };
    let Some(xs) = a.as_slice_mut() else { return Err(Typed::Owned(a)) };
    for row in xs.chunks_exact_mut(v.len()) {
        for (x, &y) in row.iter_mut().zip(v) {
            *x = f(*x, y);
        }
    }
    Ok(a)
}

/// `f` on two broadcast inputs of any element type, into another element type (comparisons).
pub(crate) fn zip_into<T: Copy + Element, U, F: Fn(T, T) -> U>(
    a: ArrayViewD<'_, T>,
    b: &Value,
    f: F,
) -> KernelResult<ArrayD<U>> {
    let b = same::<T>(b)?;
    let out = broadcast_sizes(a.shape(), b.shape()).ok_or("the inputs' shapes do not broadcast")?;
    let out = out.as_slice();
    let (av, bv) = (a.broadcast(out).ok_or("broadcast")?, b.broadcast(out).ok_or("broadcast")?);
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
}

/// The number of elements of `shape`, when an array of it can exist: its
/// elements, 8 bytes each (the widest dtype, and the `f64`s some kernels
/// build their outputs from), fit within the limit a value may take. Each
/// kernel that allocates from sizes read from a tensor (a feed, a shape
/// operand) checks them here first, so a huge size is an error naming the
/// op instead of an allocation that aborts the process.
pub(crate) fn element_count(shape: &[usize]) -> KernelResult<usize> {
    let limit = crate::variable::handle::max_value_bytes() / 8;
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / 8 && n as u64 <= limit)
        .ok_or(
            "the output would need more memory than a value may take (the machine's memory; set SCOPEFLOW_MAX_VALUE_BYTES to change the limit)",
        )
}

/// A few integers (shapes, axes, multiples), on the stack up to eight.
pub(crate) type Ints = smallvec::SmallVec<[i64; 8]>;

/// The integers of an int32 or int64 value, row-major; `None` for other dtypes.
pub(crate) fn ints(v: &Value) -> Option<Ints> {
    match v {
        Value::I32(a) => Some(a.iter().map(|&x| i64::from(x)).collect()),
        Value::I64(a) => Some(a.iter().copied().collect()),
        _ => None,
    }
}

/// An axis that may count from the end (`-1` is the last), for rank `rank`.
pub(crate) fn axis_in(axis: i64, rank: usize) -> Option<usize> {
    let rank = i64::try_from(rank).ok()?;
    let axis = if axis < 0 { axis.checked_add(rank)? } else { axis };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// Converts a count or index to `T` without going through floats for integers.
pub(crate) fn count<T: Num>(n: usize) -> T {
    T::from_f64(n as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn concrete_shapes_broadcast_as_numpy() {
        assert_eq!(super::broadcast_sizes(&[4, 1, 3], &[2, 1]).map(|s| s.to_vec()), Some(vec![4, 2, 3]));
        assert_eq!(super::broadcast_sizes(&[2, 3], &[2]), None);
    }
}
