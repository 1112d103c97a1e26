//! Kernels with effects: assignments to variables, made in place.

use super::{Inputs, Num, cpu, same};
use crate::base::Value;
use crate::graph::{Arg, Args, Attr, KernelResult};
use crate::variable::Variable;
use ndarray::{ArrayD, Zip};
use std::sync::Arc;

fn variable(attr: &Attr) -> KernelResult<&Variable> {
    match attr {
        Attr::Variable(v) => Ok(v),
        _ => Err("missing variable"),
    }
}

/// The value of the second input stored in the variable; the output is the new value.
pub(crate) fn assign_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    variable(attr)?.assign_from(Inputs::new(args).next()?.value())
}

/// The variable plus the second input, in place and atomically; the output is the new value.
pub(crate) fn assign_add_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    accumulate(attr, args, Step::Add)
}

/// The variable minus the second input, in place and atomically; the output is the new value.
pub(crate) fn assign_sub_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    accumulate(attr, args, Step::Sub)
}

#[derive(Clone, Copy)]
enum Step {
    Add,
    Sub,
}

fn accumulate(attr: &Attr, args: Args<'_>, step: Step) -> KernelResult<Arc<Value>> {
    let var = variable(attr)?;
    let delta = Inputs::new(args).next()?;
    let delta = delta.value();
    var.update_in_place(|v| match v {
        Value::F32(a) => apply(a, delta, step),
        Value::F64(a) => apply(a, delta, step),
        Value::I32(a) => apply(a, delta, step),
        Value::I64(a) => apply(a, delta, step),
        Value::Bool(_) => Err("a bool variable cannot be added to"),
    })
}

/// `a op= delta` for a `delta` of `a`'s shape (as TensorFlow's kernels ask);
/// `a` is unchanged when they do not fit.
fn apply<T: Num>(a: &mut ArrayD<T>, delta: &Value, step: Step) -> KernelResult<()> {
    let d = same::<T>(delta)?;
    if d.shape() != a.shape() {
        return Err("the value added must have the variable's shape");
    }
    let zip = Zip::from(a).and(d);
    match step {
        Step::Add => zip.for_each(|x, &y| *x = Num::add(*x, y)),
        Step::Sub => zip.for_each(|x, &y| *x = Num::sub(*x, y)),
    }
    Ok(())
}

/// The variables an `Apply*` op changes, in input order.
/// Fails unless the `N` variables are distinct: an update locks each of them
/// at once, and one variable twice would wait for itself.
fn applied<'a, const N: usize>(attr: &'a Attr, op: &'static str) -> KernelResult<&'a [Variable; N]> {
    let vars = match attr {
        Attr::Apply { vars, .. } => <&[Variable; N]>::try_from(&vars[..]).map_err(|_| op)?,
        _ => return Err("missing variables"),
    };
    if vars.iter().enumerate().any(|(i, v)| vars[..i].contains(v)) {
        return Err("an update's variable and slots must be distinct variables");
    }
    Ok(vars)
}

/// Runs `$body` on the float array of each of `$var`'s values, the same dtype as `T` below.
macro_rules! float_update {
    ($var:expr, |$a:ident: $t:ident| $body:expr) => {
        $var.update_in_place(|value| match value {
            Value::F32($a) => {
                type $t = f32;
                $body
            }
            Value::F64($a) => {
                type $t = f64;
                $body
            }
            _ => Err("optimizers update float variables"),
        })
    };
}

/// The values of the `N` inputs a kernel is handed.
fn values<'a, const N: usize>(inputs: &'a [Arg<'a>]) -> KernelResult<[&'a Value; N]> {
    let inputs = <&[Arg<'a>; N]>::try_from(inputs).map_err(|_| "wrong number of inputs")?;
    Ok(inputs.each_ref().map(Arg::value))
}

/// Fails unless every one of `others` has `a`'s shape (nothing is changed then).
fn check_shapes<T>(a: &ArrayD<T>, others: &[&ndarray::ArrayD<T>]) -> KernelResult<()> {
    if others.iter().any(|o| o.shape() != a.shape()) {
        return Err("the gradient and the slots must have the variable's shape");
    }
    Ok(())
}

/// `var -= delta * alpha` for a scalar `alpha` and a `delta` of the
/// variable's shape, in place and atomically, rounding as TF's kernel does;
/// the output is the new value.
pub(crate) fn apply_gradient_descent_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    let [alpha, delta] = values::<2>(&args)?;
    float_update!(variable(attr)?, |a: T| {
        let (alpha, d) = (scalar::<T>(alpha)?, same::<T>(delta)?);
        check_shapes(a, &[d])?;
        Zip::from(a).and(d).for_each(|x, &g| *x -= g * alpha);
        Ok(())
    })
}

/// TF's `ApplyMomentum`, in place, rounding as its kernel does:
/// `accum = accum * momentum + grad`, then `var -= accum * lr`, or with
/// Nesterov `var -= grad * lr + accum * momentum * lr`; the output is the
/// variable's new value.
pub(crate) fn apply_momentum_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    let [var, accum] = applied::<2>(attr, "ApplyMomentum changes a variable and its accumulator")?;
    let nesterov = matches!(attr, Attr::Apply { nesterov: true, .. });
    let [lr, grad, momentum] = values::<3>(&args)?;
    let accum = float_update!(accum, |a: T| {
        let (g, m) = (same::<T>(grad)?, scalar::<T>(momentum)?);
        check_shapes(a, &[g])?;
        Zip::from(a).and(g).for_each(|a, &g| *a = *a * m + g);
        Ok(())
    })?;
    float_update!(var, |v: T| {
        let (a, g) = (same::<T>(&accum)?, same::<T>(grad)?);
        let (lr, m) = (scalar::<T>(lr)?, scalar::<T>(momentum)?);
        check_shapes(v, &[a, g])?;
        let zip = Zip::from(v).and(a).and(g);
        if nesterov {
            zip.for_each(|v, &a, &g| *v -= g * lr + a * m * lr);
        } else {
            zip.for_each(|v, &a, _| *v -= a * lr);
        }
        Ok(())
    })
}

/// The scalar value of a hyperparameter input.
fn scalar<T: Num>(v: &Value) -> KernelResult<T> {
    same::<T>(v)?.first().copied().ok_or("a hyperparameter is a scalar")
}

/// TF's `ApplyAdam`, in place, rounding as its CPU kernel does:
/// `alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`, `m += (g - m) * (1 - beta1)`,
/// `v += (g² - v) * (1 - beta2)`, `var -= m * alpha / (sqrt(v) + epsilon)`.
pub(crate) fn apply_adam_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    let [var, m, v] = applied::<3>(attr, "ApplyAdam changes a variable and its two moments")?;
    let [b1p, b2p, lr, b1, b2, eps, grad] = values::<7>(&args)?;
    // One pass over the four arrays, the moments locked inside the variable
    // (always in this order), the same arithmetic element by element.
    var.update_in_place(|x| {
        m.update_in_place(|m| {
            v.update_in_place(|v| match (&mut *x, m, v, grad) {
                (Value::F32(x), Value::F32(m), Value::F32(v), Value::F32(g)) => {
                    adam(x, m, v, g, [b1p, b2p, lr, b1, b2, eps].map(scalar::<f32>))
                }
                (Value::F64(x), Value::F64(m), Value::F64(v), Value::F64(g)) => {
                    adam(x, m, v, g, [b1p, b2p, lr, b1, b2, eps].map(scalar::<f64>))
                }
                _ => Err("ApplyAdam updates float variables with a gradient and moments of their dtype"),
            })
            .map(drop)
        })
        .map(drop)
    })
}

/// One Adam step over a variable, its moments and the gradient, in place.
fn adam<T: ndarray::NdFloat>(
    x: &mut ArrayD<T>,
    m: &mut ArrayD<T>,
    v: &mut ArrayD<T>,
    g: &ArrayD<T>,
    scalars: [KernelResult<T>; 6],
) -> KernelResult<()> {
    let [b1p, b2p, lr, b1, b2, eps] = scalars;
    let (b1p, b2p, lr, b1, b2, eps) = (b1p?, b2p?, lr?, b1?, b2?, eps?);
    check_shapes(x, &[m, v, g])?;
    let one = T::one();
    let alpha = lr * (one - b2p).sqrt() / (one - b1p);
    let constants = AdamConstants { alpha, b1, b2, eps };
    let slices = (x.as_slice_memory_order_mut(), m.as_slice_memory_order_mut(), v.as_slice_memory_order_mut());
    let (Some(x), Some(m), Some(v), Some(g)) = (slices.0, slices.1, slices.2, g.as_slice_memory_order()) else {
        // Not one block of memory each (never for variables and their
        // gradients in practice): the same arithmetic through ndarray.
        Zip::from(x).and(m).and(v).and(g).for_each(|x, m, v, &g| adam_element(x, m, v, g, &constants));
        return Ok(());
    };
    let Some(pool) = cpu::pool_for(x.len(), PARALLEL_UPDATE_ELEMENTS) else {
        adam_slices(x, m, v, g, &constants);
        return Ok(());
    };
    // One block per thread, in whole cache lines. (Cut by columns, as the
    // products cut the gradient, measured slower: 500 against 380 µs for
    // the MLP's Adam step at batch 32 on two threads.)
    let chunk = x.len().div_ceil(pool.current_num_threads()).next_multiple_of(16);
    let chunks = x.chunks_mut(chunk).zip(m.chunks_mut(chunk)).zip(v.chunks_mut(chunk));
    pool.run_each(chunks.zip(g.chunks(chunk)), |_, (((x, m), v), g)| adam_slices(x, m, v, g, &constants));
    Ok(())
}

/// Elements from which an optimizer's update is shared with the session's
/// other threads.
const PARALLEL_UPDATE_ELEMENTS: usize = 1 << 15;

/// The numbers one Adam step uses for every element.
struct AdamConstants<T> {
    alpha: T,
    b1: T,
    b2: T,
    eps: T,
}

/// Adam's update of one element, in TF's order of operations.
#[inline(always)]
fn adam_element<T: ndarray::NdFloat>(x: &mut T, m: &mut T, v: &mut T, g: T, c: &AdamConstants<T>) {
    let one = T::one();
    *m += (g - *m) * (one - c.b1);
    *v += (g * g - *v) * (one - c.b2);
    *x -= (*m * c.alpha) / (v.sqrt() + c.eps);
}

/// Adam over slices of equal length, vectorized for the widest vectors the
/// CPU has (the same correctly rounded operations: sqrt and division are
/// exact in every width, and nothing is fused).
fn adam_slices<T: ndarray::NdFloat>(x: &mut [T], m: &mut [T], v: &mut [T], g: &[T], c: &AdamConstants<T>) {
    #[inline(always)]
    fn body<T: ndarray::NdFloat>(x: &mut [T], m: &mut [T], v: &mut [T], g: &[T], c: &AdamConstants<T>) {
        for (((x, m), v), &g) in x.iter_mut().zip(m).zip(v).zip(g) {
            adam_element(x, m, v, g, c);
        }
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx2")]
    fn avx512<T: ndarray::NdFloat>(x: &mut [T], m: &mut [T], v: &mut [T], g: &[T], c: &AdamConstants<T>) {
        body(x, m, v, g, c)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn avx2<T: ndarray::NdFloat>(x: &mut [T], m: &mut [T], v: &mut [T], g: &[T], c: &AdamConstants<T>) {
        body(x, m, v, g, c)
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { avx512(x, m, v, g, c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { avx2(x, m, v, g, c) };
        }
    }
    body(x, m, v, g, c)
}

/// TF's `ApplyRMSProp` (`centered: false`: variable, ms, mom) and
/// `ApplyCenteredRMSProp` (variable, mg, ms, mom), in place:
/// `ms += (g² - ms) * (1 - rho)`, centered `mg += (g - mg) * (1 - rho)`,
/// `mom = mom * momentum + g * lr / sqrt(ms [- mg²] + epsilon)`, `var -= mom`.
fn rms_prop(attr: &Attr, args: Args<'_>, centered: bool) -> KernelResult<Arc<Value>> {
    let (var, mg, ms, mom) = if centered {
        let [var, mg, ms, mom] = applied::<4>(attr, "ApplyCenteredRMSProp changes a variable and three slots")?;
        (var, Some(mg), ms, mom)
    } else {
        let [var, ms, mom] = applied::<3>(attr, "ApplyRMSProp changes a variable and two slots")?;
        (var, None, ms, mom)
    };
    let [lr, rho, momentum, eps, grad] = values::<5>(&args)?;
    let ms = float_update!(ms, |a: T| {
        let (g, rho) = (same::<T>(grad)?, scalar::<T>(rho)?);
        check_shapes(a, &[g])?;
        Zip::from(a).and(g).for_each(|ms, &g| *ms += (g * g - *ms) * (1.0 - rho));
        Ok(())
    })?;
    let mg = match mg {
        Some(mg) => Some(float_update!(mg, |a: T| {
            let (g, rho) = (same::<T>(grad)?, scalar::<T>(rho)?);
            check_shapes(a, &[g])?;
            Zip::from(a).and(g).for_each(|mg, &g| *mg += (g - *mg) * (1.0 - rho));
            Ok(())
        })?),
        None => None,
    };
    let mom = float_update!(mom, |a: T| {
        let [lr, momentum, eps] = [lr, momentum, eps].map(scalar::<T>);
        let (lr, momentum, eps) = (lr?, momentum?, eps?);
        let (g, ms) = (same::<T>(grad)?, same::<T>(&ms)?);
        check_shapes(a, &[g, ms])?;
        match &mg {
            Some(mg) => {
                let mg = same::<T>(mg)?;
                check_shapes(a, &[mg])?;
                Zip::from(a).and(g).and(ms).and(mg).for_each(|mom, &g, &ms, &mg| {
                    *mom = *mom * momentum + (g * lr) / ((ms - mg * mg) + eps).sqrt();
                });
            }
            None => Zip::from(a)
                .and(g)
                .and(ms)
                .for_each(|mom, &g, &ms| *mom = *mom * momentum + (g * lr) / (ms + eps).sqrt()),
        }
        Ok(())
    })?;
    float_update!(var, |a: T| {
        let mom = same::<T>(&mom)?;
        check_shapes(a, &[mom])?;
        Zip::from(a).and(mom).for_each(|x, &m| *x -= m);
        Ok(())
    })
}

/// TF's `ApplyRMSProp`; see [`rms_prop`].
pub(crate) fn apply_rms_prop_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    rms_prop(attr, args, false)
}

/// TF's `ApplyCenteredRMSProp`; see [`rms_prop`].
pub(crate) fn apply_centered_rms_prop_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    rms_prop(attr, args, true)
}

/// TF's `ApplyAdagrad`, in place: `accum += g²`, `var -= g * lr / sqrt(accum)`.
pub(crate) fn apply_adagrad_kernel(attr: &Attr, args: Args<'_>) -> KernelResult<Arc<Value>> {
    let [var, accum] = applied::<2>(attr, "ApplyAdagrad changes a variable and its accumulator")?;
    let [lr, grad] = values::<2>(&args)?;
    let accum = float_update!(accum, |a: T| {
        let g = same::<T>(grad)?;
        check_shapes(a, &[g])?;
        Zip::from(a).and(g).for_each(|acc, &g| *acc += g * g);
        Ok(())
    })?;
    float_update!(var, |a: T| {
        let (lr, g, acc) = (scalar::<T>(lr)?, same::<T>(grad)?, same::<T>(&accum)?);
        check_shapes(a, &[g, acc])?;
        Zip::from(a).and(g).and(acc).for_each(|x, &g, &acc| *x -= g * lr * (1.0 / acc.sqrt()));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_that_does_not_fit_changes_nothing() {
        let mut a = ArrayD::from_elem(ndarray::IxDyn(&[2]), 1.0f32);
        let bad = Value::from(vec![1.0f32, 2.0, 3.0]);
        assert!(apply(&mut a, &bad, Step::Add).is_err());
        assert_eq!(a.as_slice(), Some(&[1.0f32, 1.0][..]));
        assert!(apply(&mut a, &Value::from(vec![1i32, 2]), Step::Add).is_err());
        assert!(apply(&mut a, &Value::from(0.5f32), Step::Sub).is_err());
        apply(&mut a, &Value::from(vec![0.5f32, 0.25]), Step::Sub).expect("a delta of the variable's shape");
        assert_eq!(a.as_slice(), Some(&[0.5f32, 0.75][..]));
    }
}
