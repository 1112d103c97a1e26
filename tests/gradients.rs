//! `gradients`: each op's gradient against central finite differences in f64,
//! broadcasting included, and the driver's errors. (Names are checked against
//! TensorFlow's own graphs by the conformance runner on tests/tf_gradients.)

use scopeflow::ndarray::{ArrayD, IxDyn};
use scopeflow::prelude::*;
use scopeflow::{ErrorKind, StridedSlice, gradients, gradients_with, stop_gradient};

/// Deterministic values in [-1.5, 1.5], away from Relu's kink at 0.
fn values(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n as u64)
        .map(|i| {
            let h = (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let u = (h >> 11) as f64 / (1u64 << 53) as f64;
            let v = 3.0 * u - 1.5;
            if v.abs() < 0.05 { v + 0.2 } else { v }
        })
        .collect();
    Value::F64(ArrayD::from_shape_vec(IxDyn(shape), data).expect("shape"))
}

/// Checks d(sum(f(inputs) * w))/d(input i) from `gradients` against central
/// differences, for random inputs of `shapes` and a random weighting `w`.
fn check(shapes: &[&[usize]], f: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let inputs: Vec<Tensor> = shapes.iter().map(|s| placeholder(DType::F64, Shape::from(*s))).collect::<Result<_>>()?;
    let y = f(&inputs)?;
    let w_value = values(&y.shape().to_vec().expect("a known output shape"), 99);
    let w = constant(w_value.clone())?;
    let xs: Vec<&Tensor> = inputs.iter().collect();
    let grads = gradients_with(&[&y], &xs, &[Some(&w)], None)?;
    let session = Session::new(&graph);
    let point: Vec<Value> = shapes.iter().enumerate().map(|(i, s)| values(s, i as u64)).collect();
    let feeds = |p: &[Value]| -> Vec<(&Tensor, Value)> { inputs.iter().zip(p.iter().cloned()).collect() };
    let weighted = |p: &[Value]| -> Result<f64> {
        let f = feeds(p);
        let f: Vec<(&Tensor, &Value)> = f.iter().map(|(t, v)| (*t, v)).collect();
        let out = session.run(&[&y], &f)?;
        Ok(out[0].to_f64_vec().iter().zip(w_value.to_f64_vec()).map(|(a, b)| a * b).sum())
    };
    let f = feeds(&point);
    let f: Vec<(&Tensor, &Value)> = f.iter().map(|(t, v)| (*t, v)).collect();
    for (i, g) in grads.iter().enumerate() {
        let g = g.as_ref().expect("every input is connected");
        let analytic = session.run(&[g], &f)?[0].to_f64_vec();
        let base = point[i].to_f64_vec();
        for (k, &a) in analytic.iter().enumerate() {
            let eps = 1e-6;
            let shifted = |d: f64| -> Result<f64> {
                let mut p = point.clone();
                let mut data = base.clone();
                data[k] += d;
                p[i] = Value::from_f64_data(DType::F64, shapes[i], data)?;
                weighted(&p)
            };
            let numeric = (shifted(eps)? - shifted(-eps)?) / (2.0 * eps);
            assert!((a - numeric).abs() <= 1e-6 * numeric.abs().max(1.0), "input {i}[{k}]: {a} vs {numeric}");
        }
    }
    Ok(())
}

#[test]
fn elementwise_gradients_match_finite_differences_with_broadcasting() -> Result<()> {
    for (a, b) in [(&[2, 3][..], &[2, 3][..]), (&[2, 3], &[3]), (&[2, 1], &[1, 3]), (&[4, 3], &[])] {
        check(&[a, b], |x| add(&x[0], &x[1]))?;
        check(&[a, b], |x| sub(&x[0], &x[1]))?;
        check(&[a, b], |x| mul(&x[0], &x[1]))?;
    }
    Ok(())
}

#[test]
fn matmul_and_bias_gradients_match_finite_differences() -> Result<()> {
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let a: &[usize] = if ta { &[3, 2] } else { &[2, 3] };
        let b: &[usize] = if tb { &[4, 3] } else { &[3, 4] };
        check(&[a, b], |x| scopeflow::matmul_transposed(&x[0], &x[1], ta, tb))?;
    }
    check(&[&[2, 4], &[4]], |x| bias_add(&x[0], &x[1]))?;
    check(&[&[2, 3], &[3, 3]], |x| relu(&matmul(&x[0], &x[1])?))?;
    check(&[&[2, 3]], |x| sigmoid(&x[0]))?;
    check(&[&[2, 3], &[2, 3], &[2, 3]], |x| scopeflow::add_n(&[&x[0], &x[1], &x[2]]))?;
    Ok(())
}

#[test]
fn unconnected_and_stopped_inputs_get_no_gradient() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let (a, b) = (constant(vec![1.0f32, 2.0])?, constant(vec![3.0f32, 4.0])?);
    let y = mul(&stop_gradient(&a)?, &a)?;
    let grads = gradients(&[&y], &[&a, &b])?;
    assert!(grads[1].is_none());
    let da = grads[0].as_ref().expect("a reaches y");
    assert_eq!(Session::new(&graph).run(&[da], &[])?[0].to_f64_vec(), vec![1.0, 2.0]);
    assert!(gradients(&[&y], &[&a])?[0].as_ref().is_some_and(|g| g.name().starts_with("gradients_1/")));
    Ok(())
}

#[test]
fn an_op_without_a_gradient_on_the_path_is_an_error_naming_it() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(vec![1.0f32, -2.0])?;
    // A gradient's gradient: ReluGrad has none (scopeflow has no second derivatives).
    let dx = gradients(&[&scopeflow::relu(&x)?], &[&x])?.remove(0).expect("connected");
    let err = gradients(&[&dx], &[&x]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`gradients/Relu_grad/ReluGrad` (ReluGrad)"), "{err}");
    let other = Graph::new();
    let z = other.with_default(|| constant(1.0f32))?;
    assert_eq!(gradients(&[&z], &[&x]).unwrap_err().kind(), ErrorKind::Usage);
    Ok(())
}

#[test]
fn unary_and_softmax_gradients_match_finite_differences() -> Result<()> {
    let s: &[&[usize]] = &[&[2, 3]];
    let positive = |x: &Tensor| -> Result<Tensor> { add(&scopeflow::square(x)?, &constant(1.0f64)?) };
    check(s, |x| scopeflow::neg(&x[0]))?;
    check(s, |x| scopeflow::abs(&x[0]))?;
    check(s, |x| scopeflow::square(&x[0]))?;
    check(s, |x| scopeflow::sqrt(&positive(&x[0])?))?;
    check(s, |x| scopeflow::exp(&x[0]))?;
    check(s, |x| scopeflow::log(&positive(&x[0])?))?;
    check(s, |x| scopeflow::relu6(&mul(&x[0], &constant(5.0f64)?)?))?;
    check(s, |x| tanh(&x[0]))?;
    check(s, |x| scopeflow::softplus(&x[0]))?;
    check(s, |x| scopeflow::leaky_relu(&x[0], 0.2))?;
    check(s, |x| softmax(&x[0]))?;
    check(s, |x| scopeflow::log_softmax(&x[0]))?;
    check(&[&[2, 3], &[3]], |x| scopeflow::div(&x[0], &positive(&x[1])?))?;
    check(&[&[2, 3], &[2, 3]], |x| scopeflow::maximum(&x[0], &x[1]))?;
    Ok(())
}

#[test]
fn cast_passes_the_gradient_back_in_the_source_dtype() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(vec![1.0f32, 2.0])?;
    let y = mul(&scopeflow::cast(&x, DType::F64)?, &constant(vec![3.0f64, 4.0])?)?;
    let dx = gradients(&[&y], &[&x])?.remove(0).expect("x reaches y");
    assert_eq!(dx.dtype(), DType::F32);
    assert_eq!(Session::new(&graph).run(&[&dx], &[])?[0].to_f64_vec(), vec![3.0, 4.0]);
    Ok(())
}

#[test]
fn reduction_and_loss_gradients_match_finite_differences() -> Result<()> {
    let s: &[&[usize]] = &[&[2, 3]];
    check(s, |x| scopeflow::reduce_sum(&x[0], None, false))?;
    check(s, |x| scopeflow::reduce_sum(&x[0], Some(&[1]), false))?;
    check(s, |x| scopeflow::reduce_sum(&x[0], Some(&[1]), true))?;
    check(s, |x| scopeflow::reduce_mean(&x[0], None, false))?;
    check(s, |x| scopeflow::reduce_mean(&x[0], Some(&[0]), false))?;
    check(&[&[2, 3, 4]], |x| scopeflow::reduce_mean(&x[0], Some(&[0, 2]), true))?;
    check(s, |x| scopeflow::l2_loss(&x[0]))?;
    check(s, |x| mul(&scopeflow::reshape(&x[0], &[3, 2])?, &constant(2.0f64)?))?;
    check(s, |x| scopeflow::square(&scopeflow::expand_dims(&x[0], 1)?))?;
    check(s, |x| mul(&scopeflow::transpose(&x[0], None)?, &constant(3.0f64)?))?;
    check(&[&[2, 3, 4]], |x| scopeflow::square(&scopeflow::transpose(&x[0], Some(&[2, 0, 1]))?))?;
    check(s, |x| scopeflow::reduce_max(&x[0], None, false))?;
    check(s, |x| scopeflow::reduce_max(&x[0], Some(&[1]), false))?;
    check(s, |x| scopeflow::reduce_max(&x[0], Some(&[0]), true))?;
    check(&[&[4, 3]], |x| scopeflow::sparse_softmax_cross_entropy_with_logits(&constant(vec![2i32, 0, 1, 1])?, &x[0]))?;
    Ok(())
}

#[test]
fn loss_building_block_gradients_match_finite_differences() -> Result<()> {
    let s: &[&[usize]] = &[&[2, 3], &[2, 3]];
    check(s, |x| scopeflow::sigmoid_cross_entropy_with_logits(&x[0], &x[1]))?;
    check(&[&[2, 3]], |x| scopeflow::log1p(&scopeflow::square(&x[0])?))?;
    for (a, b) in [(&[2, 3][..], &[2, 3][..]), (&[2, 3], &[3]), (&[2, 1], &[1, 3]), (&[4, 3], &[])] {
        check(&[a, b], |x| scopeflow::squared_difference(&x[0], &x[1]))?;
        // Denominators kept away from 0: 2 + x².
        check(&[a, b], |x| {
            let denominator = add(&constant(2.0f64)?, &scopeflow::square(&x[1])?)?;
            scopeflow::div_no_nan(&x[0], &denominator)
        })?;
    }
    for (a, b) in [(&[2, 3][..], &[2, 3][..]), (&[2, 3], &[3]), (&[4, 3], &[])] {
        check(&[a, b], |x| scopeflow::minimum(&x[0], &x[1]))?;
    }
    check(&[&[2, 3]], |x| scopeflow::clip_by_value(&x[0], -0.7, 0.9))?;
    let cond = || constant(scopeflow::ndarray::arr2(&[[true, false, true], [false, false, true]]));
    check(s, |x| scopeflow::select(&cond()?, &x[0], &x[1]))?;
    Ok(())
}

#[test]
fn mean_squared_error_is_the_float32_mean_and_its_gradient_tfs() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let labels = constant(scopeflow::ndarray::arr2(&[[0.2f32, 0.3, 0.5], [1.0, 0.0, 0.0]]))?;
    let predictions = constant(scopeflow::ndarray::arr2(&[[1.0f32, 2.0, 0.5], [-1.0, 0.0, 3.0]]))?;
    let loss = scopeflow::losses::mean_squared_error(&labels, &predictions)?;
    let grads = gradients(&[&loss], &[&predictions])?;
    let out = Session::new(&graph).run(&[&loss, grads[0].as_ref().expect("connected")], &[])?;
    let (l, p) = ([0.2, 0.3, 0.5, 1.0, 0.0, 0.0], [1.0, 2.0, 0.5, -1.0, 0.0, 3.0]);
    let want: f64 = l.iter().zip(&p).map(|(a, b): (&f64, &f64)| (b - a).powi(2)).sum::<f64>() / 6.0;
    assert!((out[0].to_f64_vec()[0] - want).abs() < 1e-6);
    for ((g, a), b) in out[1].to_f64_vec().iter().zip(&l).zip(&p) {
        assert!((g - 2.0 * (b - a) / 6.0).abs() < 1e-6);
    }
    Ok(())
}

#[test]
fn a_mean_over_an_unknown_batch_divides_by_the_batch_fed() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F64, Shape::from_dims([None, Some(2)]))?;
    let dx = gradients(&[&scopeflow::reduce_mean(&x, None, false)?], &[&x])?.remove(0).expect("x reaches the mean");
    for rows in [1, 4] {
        let fed = Value::from_f64_data(DType::F64, &[rows, 2], vec![0.5; rows * 2])?;
        let got = Session::new(&graph).run(&[&dx], &[(&x, &fed)])?[0].to_f64_vec();
        assert_eq!(got, vec![1.0 / (rows * 2) as f64; rows * 2]);
    }
    Ok(())
}

#[test]
fn a_reshape_of_an_unknown_batch_reshapes_the_gradient_back_as_tf() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F64, Shape::from_dims([None, Some(3)]))?;
    let dx = gradients(&[&scopeflow::reshape(&x, &[-1])?], &[&x])?.remove(0).expect("x reaches the reshape");
    assert_eq!((dx.name(), dx.shape().to_string()), ("gradients/Reshape_grad/Reshape", "(None, 3)".to_owned()));
    let fed = Value::from_f64_data(DType::F64, &[2, 3], vec![0.5; 6])?;
    assert_eq!(Session::new(&graph).run(&[&dx], &[(&x, &fed)])?[0].shape(), &[2, 3]);
    Ok(())
}

#[test]
fn join_and_split_gradients_match_finite_differences() -> Result<()> {
    let s: &[&[usize]] = &[&[2, 3], &[2, 3]];
    check(s, |x| scopeflow::square(&scopeflow::concat(&[&x[0], &x[1]], 0)?))?;
    check(&[&[2, 3], &[2, 1]], |x| scopeflow::square(&scopeflow::concat(&[&x[0], &x[1]], 1)?))?;
    check(s, |x| scopeflow::square(&scopeflow::stack(&[&x[0], &x[1]], 0)?))?;
    check(s, |x| scopeflow::square(&scopeflow::stack(&[&x[0], &x[1]], 2)?))?;
    check(&[&[2, 3]], |x| {
        let rows = scopeflow::unstack(&x[0], None, 0)?;
        mul(&rows[0], &scopeflow::square(&rows[1])?)
    })?;
    check(&[&[2, 3]], |x| scopeflow::square(&scopeflow::unstack(&x[0], None, 1)?[2]))?;
    check(&[&[2, 6]], |x| {
        let parts = scopeflow::split(&x[0], 3, 1)?;
        mul(&parts[0], &scopeflow::square(&parts[2])?)
    })?;
    check(&[&[4, 3]], |x| {
        let parts = scopeflow::split_sizes(&x[0], &[1, -1], 0)?;
        scopeflow::square(&parts[1])
    })?;
    Ok(())
}

#[test]
fn slice_gradients_match_finite_differences() -> Result<()> {
    let s: &[&[usize]] = &[&[4, 5]];
    check(s, |x| scopeflow::square(&scopeflow::slice(&x[0], &[1, 2], &[2, -1])?))?;
    for spec in [
        StridedSlice::new([0, 1], [4, 5]).strides([2, 2]),
        StridedSlice::new([1], [2]).shrink_axis_mask(1),
        StridedSlice::new([0, -1], [0, 0]).begin_mask(1).end_mask(1).shrink_axis_mask(2),
        StridedSlice::new([-1, 3], [0, 0]).strides([-2, -1]).end_mask(3),
    ] {
        check(s, |x| scopeflow::square(&scopeflow::strided_slice(&x[0], &spec)?))?;
    }
    Ok(())
}

#[test]
fn tile_and_pad_gradients_match_finite_differences() -> Result<()> {
    let s: &[&[usize]] = &[&[2, 3]];
    check(s, |x| scopeflow::square(&scopeflow::tile(&x[0], &[2, 1])?))?;
    check(s, |x| scopeflow::square(&scopeflow::tile(&x[0], &[3, 2])?))?;
    check(s, |x| scopeflow::square(&scopeflow::pad(&x[0], &[[1, 0], [0, 2]])?))?;
    check(s, |x| scopeflow::square(&scopeflow::pad_with(&x[0], &[[0, 1], [2, 1]], 3.0)?))?;
    Ok(())
}

#[test]
fn select_passes_the_gradient_to_the_input_picked() -> Result<()> {
    let s: &[&[usize]] = &[&[2, 3], &[2, 3]];
    let picks = || constant(Value::from_f64_data(DType::F64, &[2, 3], vec![1.0, -1.0, 2.0, -2.0, 0.5, 3.0])?);
    check(s, |x| {
        scopeflow::select(&scopeflow::greater(&picks()?, &constant(0.0f64)?)?, &x[0], &scopeflow::square(&x[1])?)
    })?;
    Ok(())
}

#[test]
fn gather_gradients_match_finite_differences() -> Result<()> {
    let ids = || constant(vec![2i32, 0, 2]);
    check(&[&[4, 3]], |x| scopeflow::square(&scopeflow::gather(&x[0], &ids()?)?))?;
    // The rows flow on into a product of x with itself (densified in `mul`'s gradient).
    check(&[&[4, 3]], |x| scopeflow::gather(&mul(&x[0], &x[0])?, &ids()?))?;
    check(&[&[4, 3]], |x| scopeflow::square(&scopeflow::embedding_lookup(&x[0], &ids()?)?))?;
    check(&[&[4, 3]], |x| scopeflow::square(&scopeflow::gather_axis(&x[0], &ids()?, 1)?))?;
    check(&[&[2, 4, 3]], |x| scopeflow::square(&scopeflow::gather_axis(&x[0], &constant(vec![3i32, 0, 3, 1])?, 1)?))?;
    check(&[&[2, 3, 4]], |x| scopeflow::square(&scopeflow::gather_axis(&x[0], &ids()?, 2)?))?;
    Ok(())
}

#[test]
fn a_gathers_gradient_is_indexed_slices_of_the_rows() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let table = constant(Value::from_f64_data(DType::F32, &[4, 2], vec![0.0; 8])?)?;
    let rows = scopeflow::gather(&table, &constant(vec![3i32, 3])?)?;
    let Some(scopeflow::Gradient::Indexed(g)) =
        scopeflow::gradients_indexed_with(&[&rows], &[&table], &[], None)?.remove(0)
    else {
        panic!("a gather's params get rows");
    };
    assert_eq!(g.dense_shape().name(), "gradients/GatherV2_grad/Shape");
    let got = Session::new(&graph).run(&[g.indices(), &g.to_dense()?], &[])?;
    assert_eq!(got[0].to_f64_vec(), vec![3.0, 3.0]);
    assert_eq!(got[1].to_f64_vec(), vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0]);
    Ok(())
}

#[test]
fn convolution_and_pooling_gradients_match_finite_differences() -> Result<()> {
    use scopeflow::Padding::{Same, Valid};
    for (strides, padding, dilations) in [
        ([1, 1], Same, [1, 1]),
        ([2, 2], Same, [1, 1]),
        ([2, 1], Valid, [1, 1]),
        ([1, 1], Valid, [2, 1]),
        ([1, 2], Same, [1, 2]),
    ] {
        check(&[&[2, 5, 6, 2], &[3, 2, 2, 3]], |x| {
            scopeflow::conv2d_dilated(&x[0], &x[1], strides, padding, dilations)
        })?;
    }
    for (ksize, strides, padding) in [([2, 2], [2, 2], Valid), ([3, 3], [2, 2], Same), ([2, 3], [1, 2], Same)] {
        check(&[&[2, 5, 5, 2]], |x| scopeflow::avg_pool(&x[0], ksize, strides, padding))?;
        // The values are distinct, so each window's maximum is one element and the gradient is smooth.
        check(&[&[2, 5, 5, 2]], |x| scopeflow::max_pool(&x[0], ksize, strides, padding))?;
    }
    Ok(())
}

#[test]
fn broadcast_to_and_negative_axis_reductions_match_finite_differences() -> Result<()> {
    check(&[&[3]], |x| scopeflow::broadcast_to(&x[0], &[2, 3]))?;
    check(&[&[2, 1]], |x| scopeflow::broadcast_to(&x[0], &[2, 4]))?;
    check(&[&[2, 3]], |x| scopeflow::reduce_sum_axes(&x[0], -1, false))?;
    check(&[&[2, 3, 2]], |x| scopeflow::reduce_mean_axes(&x[0], [0, -1], true))?;
    check(&[&[2, 3]], |x| scopeflow::reduce_max_axes(&x[0], -2, false))?;
    Ok(())
}

#[test]
fn reductions_over_an_unknown_batch_broadcast_the_gradient_back() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = scopeflow::placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    let sum = scopeflow::reduce_sum_axes(&x, 1, false)?;
    let mean = scopeflow::reduce_mean_axes(&x, 0, false)?;
    let max = scopeflow::reduce_max_axes(&x, -1, false)?;
    let w = constant(vec![1.0f32, 2.0])?;
    let loss = add(
        &add(&reduce_sum(&mul(&sum, &w)?, None, false)?, &reduce_sum(&mean, None, false)?)?,
        &reduce_sum(&max, None, false)?,
    )?;
    let g = gradients(&[&loss], &[&x])?.remove(0).expect("connected");
    assert_eq!(g.shape().to_string(), "(None, 3)");
    let batch = Value::from(scopeflow::ndarray::arr2(&[[1.0f32, 5.0, 2.0], [4.0, 0.0, 3.0]]));
    let got = Session::new(&graph).run(&[&g], &[(&x, &batch)])?.remove(0).to_f64_vec();
    // Row weights 1 and 2, the mean's 1/2, and 1 at each row's maximum.
    assert_eq!(got, [1.5, 2.5, 1.5, 3.5, 2.5, 2.5]);
    Ok(())
}

#[test]
fn pow_select_v2_reciprocal_and_prod_gradients_match_finite_differences() -> Result<()> {
    // Bases kept positive: 2 + x².
    let base = |x: &Tensor| add(&constant(2.0f64)?, &scopeflow::square(x)?);
    check(&[&[2, 3], &[2, 3]], |x| scopeflow::pow(&base(&x[0])?, &x[1]))?;
    check(&[&[2, 3], &[]], |x| scopeflow::pow(&base(&x[0])?, &x[1]))?;
    check(&[&[2, 3]], |x| scopeflow::reciprocal(&base(&x[0])?))?;
    let cond = || constant(vec![true, false, true]);
    check(&[&[2, 3], &[]], |x| scopeflow::where_v2(&cond()?, &x[0], &x[1]))?;
    check(&[&[2, 3], &[2, 1]], |x| scopeflow::where_v2(&cond()?, &x[0], &x[1]))?;
    check(&[&[2, 3]], |x| scopeflow::reduce_prod(&x[0], None, false))?;
    check(&[&[2, 3, 2]], |x| scopeflow::reduce_prod_axes(&x[0], [0, -1], false))?;
    check(&[&[2, 3]], |x| scopeflow::reduce_prod_axes(&x[0], 1, true))?;
    Ok(())
}
