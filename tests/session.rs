//! Session and kernels: each op against values computed independently
//! (TensorFlow 2.21 for convolutions, pooling and softmax, embedded below;
//! hand-derived for the rest), broadcasting, and run-time errors.

use scopeflow::ndarray::{Array, Array2, Array4, array};
use scopeflow::prelude::*;
use scopeflow::{Padding, Session, SessionOptions, placeholder};

/// Values TensorFlow computed for `x = ((arange(100) % 7) - 3) / 4` as
/// [2, 5, 5, 2] and `f = ((arange(54) % 5) - 2) / 3` as [3, 3, 2, 3].
mod tf {
    pub const CONV_SAME: &[f64] = &[
        -0.583333,
        0.666667,
        -0.166667,
        -0.666667,
        -0.833333,
        0.666667,
        -0.0833334,
        -1.66667,
        0.5,
        0.5,
        -0.166667,
        -0.833333,
        -0.0833333,
        0.666667,
        -0.666667,
        0.25,
        0.833333,
        0.166667,
        -5.21541e-08,
        0.0833333,
        1.41667,
        0.25,
        1.41667,
        0.0833334,
        -1.25,
        -0.166667,
        0.5,
        2.98023e-08,
        -1.33333,
        0.25,
        0.333333,
        -0.916667,
        -0.5,
        1.25,
        0.916667,
        -2.33333,
        0.333333,
        0.5,
        -0.166667,
        -5.21541e-08,
        0.0833333,
        1.41667,
        -0.333333,
        0.5,
        -0.333333,
        -1.33333,
        0.25,
        0.583333,
        -1.0,
        -2.33333,
        0.916667,
        0.416667,
        -0.416667,
        -0.416667,
        1.25,
        0.916667,
        -2.33333,
        0.5,
        0.583333,
        0.25,
        0.416667,
        -0.25,
        0.75,
        0.5,
        1.0,
        0.25,
        -0.833333,
        0.583333,
        -0.0833333,
        -1.58333,
        -1.58333,
        1.33333,
        0.833333,
        -0.75,
        -0.666667,
        -0.0833334,
        0.833333,
        -0.75,
        0.5,
        -0.0833333,
        0.583333,
        -0.0833334,
        0.25,
        1.0,
        -0.666667,
        1.16667,
        -0.333333,
        -0.583333,
        -0.583333,
        0.666667,
        -0.5,
        -0.916667,
        0.333333,
        0.416667,
        -0.416667,
        -0.416667,
        1.25,
        0.916667,
        -2.33333,
        0.333333,
        0.5,
        -0.166667,
        0.0833333,
        0.25,
        0.833333,
        0.166667,
        0.833333,
        0.25,
        -1.25,
        -0.166667,
        0.5,
        -1.0,
        -2.33333,
        0.916667,
        0.416667,
        -0.416667,
        -0.416667,
        0.333333,
        0.333333,
        -0.916667,
        0.25,
        0.833333,
        0.166667,
        -5.21541e-08,
        0.0833333,
        1.41667,
        0.25,
        1.41667,
        0.0833334,
        -1.25,
        -0.166667,
        0.5,
        2.98023e-08,
        -1.33333,
        0.25,
        0.416667,
        -1.0,
        -0.333333,
        1.0,
        0.5,
        -1.66667,
        -0.333333,
        0.666667,
        -0.833333,
        0.666667,
        -0.333333,
        1.16667,
        -0.166667,
        0.416667,
        -0.25,
    ];
    pub const CONV_VALID_S2: &[f64] = &[
        -5.21541e-08,
        0.0833333,
        1.41667,
        -1.25,
        -0.166667,
        0.5,
        -1.0,
        -2.33333,
        0.916667,
        1.25,
        0.916667,
        -2.33333,
        0.416667,
        -0.416667,
        -0.416667,
        0.333333,
        0.5,
        -0.166667,
        -5.21541e-08,
        0.0833333,
        1.41667,
        -1.25,
        -0.166667,
        0.5,
    ];
    pub const CONV_DIL2_SAME: &[f64] = &[
        -0.0833333,
        1.08333,
        0.166667,
        -0.833333,
        -0.333333,
        0.166667,
        -0.666667,
        -0.583333,
        1.58333,
        -0.0833333,
        -0.833333,
        -0.333333,
        0.0833333,
        0.166667,
        -0.583333,
        0.833333,
        0.416667,
        -0.416667,
        0.0833333,
        -0.416667,
        0.75,
        -0.0833334,
        1.08333,
        0.166667,
        0.166667,
        0.0833333,
        -0.416667,
        -0.833333,
        -0.0833333,
        1.08333,
        -0.416667,
        -0.583333,
        -0.333333,
        0.416667,
        1.16667,
        -0.583333,
        2.41667,
        -0.0833334,
        -1.33333,
        -0.75,
        0.416667,
        1.16667,
        -4.47035e-08,
        1.25,
        1.49012e-08,
        -0.416667,
        -0.833333,
        -4.47035e-08,
        0.75,
        -0.583333,
        0.166667,
        0.166667,
        -0.333333,
        -0.833333,
        -0.416667,
        0.75,
        -0.583333,
        1.08333,
        0.166667,
        -0.333333,
        -0.416667,
        0.416667,
        0.833333,
        -1.0,
        0.666667,
        -0.166667,
        -1.25,
        -1.25,
        0.416667,
        0.666667,
        -1.0,
        0.666667,
        0.416667,
        -0.416667,
        -0.833333,
        -0.166667,
        0.666667,
        -1.0,
        0.833333,
        0.416667,
        -0.416667,
        -0.0833333,
        -0.416667,
        0.916667,
        -4.47035e-08,
        0.833333,
        0.416667,
        0.166667,
        0.0833333,
        -0.416667,
        0.166667,
        -0.583333,
        0.75,
        -3.72529e-08,
        -0.833333,
        -0.416667,
        -0.0833333,
        0.666667,
        -1.08333,
        0.833333,
        -3.72529e-08,
        -0.833333,
        -0.166667,
        -0.166667,
        0.666667,
        -0.583333,
        1.16667,
        0.416667,
        -0.333333,
        -0.583333,
        -0.416667,
        -0.0833332,
        -1.16667,
        1.5,
        -0.0833333,
        -0.333333,
        -0.583333,
        0.0833333,
        0.5,
        -1.16667,
        0.75,
        -0.416667,
        0.0833333,
        -0.416667,
        0.416667,
        0.833333,
        -1.08333,
        0.916667,
        -0.416667,
        -0.833333,
        -0.416667,
        0.416667,
        0.666667,
        -1.0,
        0.666667,
        0.166667,
        -0.333333,
        -0.833333,
        0.166667,
        1.08333,
        -0.0833333,
        1.58333,
        -2.98023e-08,
        -0.333333,
        -0.333333,
        0.166667,
        1.08333,
        -0.583333,
        0.75,
        -0.416667,
    ];
    pub const MAX_SAME: &[f64] = &[
        0.5, 0.75, 0.75, 0.5, 0.25, 0.5, 0.75, 0.5, 0.75, 0.75, 0.0, 0.25, 0.5, 0.75, 0.25, 0.5, 0.75, -0.75, 0.75,
        0.5, 0.5, 0.75, 0.5, 0.75, 0.5, 0.75, 0.75, 0.5, 0.25, 0.5, 0.75, -0.25, 0.5, 0.75, -0.75, -0.5,
    ];
    pub const AVG_SAME: &[f64] = &[
        -0.125, 0.125, 0.0, -0.1875, -0.125, 0.125, 0.0625, -0.125, 0.1875, 0.0, -0.375, -0.125, -0.125, 0.125, 0.0,
        0.25, 0.75, -0.75, 0.125, -0.0625, -0.1875, 0.0625, 0.125, 0.375, -0.125, 0.125, 0.0, -0.1875, -0.125, 0.125,
        0.125, -0.5, 0.25, 0.5, -0.75, -0.5,
    ];
    pub const AVG_VALID3: &[f64] = &[
        -0.0833333, -0.0277778, 0.0277778, 0.0833333, -0.0555556, 0.0, 0.0833333, -0.0555556, 0.0, 0.0555556,
        -0.0833333, -0.0277778, 0.0555556, -0.0833333, -0.0277778, 0.0277778, 0.0833333, -0.0555556, -0.0277778,
        0.0277778, 0.0833333, -0.0555556, 0.0, 0.0555556, -0.0555556, 0.0, 0.0555556, -0.0833333, -0.0277778,
        0.0277778, -0.0833333, -0.0277778, 0.0277778, 0.0833333, -0.0555556, 0.0,
    ];
    pub const SOFTMAX: &[f64] = &[0.0900306, 0.244728, 0.665241, 0.0, 0.0, 1.0];
    pub const LOG_SOFTMAX: &[f64] = &[-2.40761, -1.40761, -0.407606, -1001.0, -1000.0, 0.0];
}

fn close(got: &Value, want: &[f64]) {
    let got = got.to_f64_vec();
    assert_eq!(got.len(), want.len(), "element count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 + 1e-5 * w.abs(), "element {i}: got {g}, want {w}");
    }
}

fn run1(graph: &Graph, t: &Tensor) -> Result<Value> {
    Ok(Session::new(graph).run(&[t], &[])?.remove(0))
}

fn conv_inputs() -> Result<(Tensor, Tensor)> {
    let x =
        Array::from_shape_fn((2, 5, 5, 2), |(a, b, c, d)| ((((a * 5 + b) * 5 + c) * 2 + d) % 7) as f32 / 4.0 - 0.75);
    let f = Array::from_shape_fn((3, 3, 2, 3), |(a, b, c, d)| {
        ((((a * 3 + b) * 2 + c) * 3 + d) % 5) as f32 / 3.0 - 2.0 / 3.0
    });
    Ok((constant(x)?, constant(f)?))
}

#[test]
fn conv2d_matches_tensorflow_same_valid_strided_and_dilated() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let (x, f) = conv_inputs()?;
    close(&run1(&graph, &scopeflow::conv2d(&x, &f, [1, 1], Padding::Same)?)?, tf::CONV_SAME);
    close(&run1(&graph, &scopeflow::conv2d(&x, &f, [2, 2], Padding::Valid)?)?, tf::CONV_VALID_S2);
    close(&run1(&graph, &scopeflow::conv2d_dilated(&x, &f, [1, 1], Padding::Same, [2, 2])?)?, tf::CONV_DIL2_SAME);
    Ok(())
}

#[test]
fn pooling_matches_tensorflow() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let (x, _) = conv_inputs()?;
    close(&run1(&graph, &scopeflow::max_pool(&x, [2, 2], [2, 2], Padding::Same)?)?, tf::MAX_SAME);
    close(&run1(&graph, &scopeflow::avg_pool(&x, [2, 2], [2, 2], Padding::Same)?)?, tf::AVG_SAME);
    close(&run1(&graph, &scopeflow::avg_pool(&x, [3, 3], [1, 1], Padding::Valid)?)?, tf::AVG_VALID3);
    Ok(())
}

#[test]
fn softmax_and_log_softmax_match_tensorflow_without_overflow() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let l = constant(array![[1.0f32, 2.0, 3.0], [-1.0, 0.0, 1000.0]])?;
    close(&run1(&graph, &scopeflow::softmax(&l)?)?, tf::SOFTMAX);
    close(&run1(&graph, &scopeflow::log_softmax(&l)?)?, tf::LOG_SOFTMAX);
    Ok(())
}

#[test]
fn elementwise_ops_broadcast_as_numpy() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let a = constant(array![[1.0f32], [2.0]])?; // [2, 1]
    let b = constant(array![10.0f32, 20.0, 30.0])?; // [3]
    close(&run1(&graph, &(&a + &b)?)?, &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    close(&run1(&graph, &(&b - &a)?)?, &[9.0, 19.0, 29.0, 8.0, 18.0, 28.0]);
    close(&run1(&graph, &(&a * &b)?)?, &[10.0, 20.0, 30.0, 20.0, 40.0, 60.0]);
    close(&run1(&graph, &(&b / &a)?)?, &[10.0, 20.0, 30.0, 5.0, 10.0, 15.0]);
    let m = scopeflow::maximum(&constant(array![-1.0f32, 5.0])?, &constant(0.0f32)?)?;
    close(&run1(&graph, &m)?, &[0.0, 5.0]);
    let i = constant(array![[1i32, 2], [3, 4]])?;
    close(&run1(&graph, &(&i + &constant(array![10i32, 20])?)?)?, &[11.0, 22.0, 13.0, 24.0]);
    Ok(())
}

#[test]
fn unary_ops_compute_their_functions() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(array![-2.0f64, 0.0, 3.0, 9.0])?;
    close(&run1(&graph, &relu(&x)?)?, &[0.0, 0.0, 3.0, 9.0]);
    close(&run1(&graph, &scopeflow::relu6(&x)?)?, &[0.0, 0.0, 3.0, 6.0]);
    close(&run1(&graph, &scopeflow::square(&x)?)?, &[4.0, 0.0, 9.0, 81.0]);
    let s: Vec<f64> = [-2.0f64, 0.0, 3.0, 9.0].iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    close(&run1(&graph, &scopeflow::sigmoid(&x)?)?, &s);
    let t: Vec<f64> = [-2.0f64, 0.0, 3.0, 9.0].iter().map(|v| v.tanh()).collect();
    close(&run1(&graph, &scopeflow::tanh(&x)?)?, &t);
    let p = constant(array![1.0f32, 4.0])?;
    close(&run1(&graph, &scopeflow::sqrt(&p)?)?, &[1.0, 2.0]);
    close(&run1(&graph, &scopeflow::log(&scopeflow::exp(&p)?)?)?, &[1.0, 4.0]);
    close(&run1(&graph, &scopeflow::cast(&p, DType::I32)?)?, &[1.0, 4.0]);
    close(&run1(&graph, &identity(&p)?)?, &[1.0, 4.0]);
    Ok(())
}

#[test]
fn matmul_transposes_and_the_one_row_path_agree_with_hand_products() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let a = constant(array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])?; // [2, 3]
    let b = constant(array![[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0]])?; // [3, 2]
    close(&run1(&graph, &matmul(&a, &b)?)?, &[4.0, 5.0, 10.0, 11.0]);
    close(&run1(&graph, &scopeflow::matmul_transposed(&a, &a, false, true)?)?, &[14.0, 32.0, 32.0, 77.0]);
    close(
        &run1(&graph, &scopeflow::matmul_transposed(&a, &a, true, false)?)?,
        &[17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0],
    );
    let row = constant(array![[1.0f32, 2.0, 3.0]])?;
    close(&run1(&graph, &row.matmul(&b)?)?, &[4.0, 5.0]);
    let bias = constant(array![0.5f32, -0.5])?;
    close(&run1(&graph, &scopeflow::bias_add(&matmul(&a, &b)?, &bias)?)?, &[4.5, 4.5, 10.5, 10.5]);
    Ok(())
}

#[test]
fn reductions_reshape_transpose_concat_stack_gather() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])?;
    close(&run1(&graph, &scopeflow::reduce_sum(&x, None, false)?)?, &[21.0]);
    close(&run1(&graph, &scopeflow::reduce_sum(&x, Some(&[0]), false)?)?, &[5.0, 7.0, 9.0]);
    let mean = scopeflow::reduce_mean(&x, Some(&[1]), true)?;
    assert_eq!(mean.shape().to_vec(), Some(vec![2, 1]));
    close(&run1(&graph, &mean)?, &[2.0, 5.0]);
    close(&run1(&graph, &scopeflow::reduce_max(&x, Some(&[1]), false)?)?, &[3.0, 6.0]);
    close(&run1(&graph, &scopeflow::reshape(&x, &[3, -1])?)?, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    close(&run1(&graph, &scopeflow::transpose(&x, None)?)?, &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    close(&run1(&graph, &scopeflow::concat(&[&x, &x], 1)?)?, &[1., 2., 3., 1., 2., 3., 4., 5., 6., 4., 5., 6.]);
    let row = constant(array![1.0f32, 2.0])?;
    close(&run1(&graph, &scopeflow::stack(&[&row, &row], 1)?)?, &[1.0, 1.0, 2.0, 2.0]);
    let ids = constant(array![[1i32, 0]])?;
    let g = scopeflow::embedding_lookup(&x, &ids)?;
    assert_eq!(g.shape().to_vec(), Some(vec![1, 2, 3]));
    close(&run1(&graph, &g)?, &[4.0, 5.0, 6.0, 1.0, 2.0, 3.0]);
    let l2 = scopeflow::reduce_sum(&scopeflow::square(&x)?, None, false)?;
    close(&run1(&graph, &l2)?, &[91.0]);
    Ok(())
}

#[test]
fn shape_errors_name_the_op_when_built() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _s = variable_scope("MLP").enter()?;
    let _l = variable_scope("layer2").enter()?;
    let a = constant(Array2::<f32>::zeros((2, 3)))?;
    let err = matmul(&a, &a).unwrap_err().to_string();
    assert!(err.contains("op `MLP/layer2/MatMul`") && err.contains("(2, 3) and (2, 3)"), "{err}");
    let err = scopeflow::reshape(&a, &[4, -1]).unwrap_err().to_string();
    assert!(err.contains("Reshape"), "{err}");
    assert!(scopeflow::conv2d(&a, &a, [1, 1], Padding::Same).is_err());
    Ok(())
}

#[test]
fn feeds_are_checked_and_missing_feeds_named() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    let y = relu(&x)?;
    let session = Session::new(&graph);
    let err = session.run(&[&y], &[]).unwrap_err().to_string();
    assert!(err.contains("placeholder `Placeholder` must be fed"), "{err}");
    let wrong = Value::from(Array2::<f32>::zeros((2, 4)));
    let err = session.run(&[&y], &[(&x, &wrong)]).unwrap_err().to_string();
    assert!(err.contains("(None, 3)"), "{err}");
    let ok = Value::from(array![[-1.0f32, 2.0, -3.0]]);
    assert_eq!(session.run(&[&y], &[(&x, &ok)])?[0].to_f64_vec(), vec![0.0, 2.0, 0.0]);
    let other = Graph::new();
    let foreign = other.with_default(|| constant(1.0f32))?;
    assert!(session.run(&[&foreign], &[]).is_err());
    Ok(())
}

#[test]
fn runtime_shape_errors_are_errors_not_panics() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None]))?;
    let y = placeholder(DType::F32, Shape::from_dims([None]))?;
    let sum = (&x + &y)?;
    let table = constant(Array2::<f32>::zeros((3, 2)))?;
    let ids = placeholder(DType::I32, Shape::from_dims([None]))?;
    let rows = scopeflow::gather(&table, &ids)?;
    let session = Session::new(&graph);
    let (two, three) = (Value::from(vec![1.0f32, 2.0]), Value::from(vec![1.0f32, 2.0, 3.0]));
    let err = session.run(&[&sum], &[(&x, &two), (&y, &three)]).unwrap_err().to_string();
    assert!(err.contains("op `add`") && err.contains("broadcast"), "{err}");
    let bad = Value::from(vec![5i32]);
    let err = session.run(&[&rows], &[(&ids, &bad)]).unwrap_err().to_string();
    assert!(err.contains("outside"), "{err}");
    Ok(())
}

#[test]
fn variables_are_read_at_each_run_and_shared_inputs_are_not_consumed() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
    let doubled = (&w + &w)?;
    let squared = (&doubled * &doubled)?;
    let session = Session::new(&graph);
    let out = session.run(&[&squared, &doubled], &[])?;
    assert_eq!((out[0].to_f64_vec(), out[1].to_f64_vec()), (vec![4.0, 4.0], vec![2.0, 2.0]));
    w.assign(vec![3.0f32, 4.0])?;
    assert_eq!(session.run(&[&squared], &[])?[0].to_f64_vec(), vec![36.0, 64.0]);
    assert_eq!(w.value()?.to_f64_vec(), vec![3.0, 4.0], "running never changes a variable");
    Ok(())
}

#[test]
fn concurrent_runs_on_one_session_agree() -> Result<()> {
    let graph = Graph::with_seed(3);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(4)]))?;
    let w = get_variable("w", [4, 4]).get()?;
    let y = relu(&x.matmul(&w)?)?;
    let session = std::sync::Arc::new(Session::new(&graph));
    let input = Value::from(Array4::<f32>::ones((1, 1, 2, 4)).into_shape_with_order((2, 4)).expect("2x4"));
    let want = session.run(&[&y], &[(&x, &input)])?;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (session, x, y, input) = (session.clone(), x.clone(), y.clone(), input.clone());
            std::thread::spawn(move || (0..50).map(|_| session.run(&[&y], &[(&x, &input)])).collect::<Result<Vec<_>>>())
        })
        .collect();
    for h in handles {
        for out in h.join().expect("no panic")? {
            assert_eq!(out, want);
        }
    }
    Ok(())
}

#[test]
fn reused_buffers_never_leak_between_runs() -> Result<()> {
    let graph = Graph::with_seed(9);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    let h = relu(&(&x.matmul(&get_variable("w1", [3, 4]).get()?)? + &get_variable("b1", [4]).get()?)?)?;
    let y = h.matmul(&get_variable("w2", [4, 4]).get()?)?;
    let inputs: Vec<Value> =
        (0..3).map(|k| Value::from(Array2::from_shape_fn((2, 3), |(i, j)| (k * 5 + i * 3 + j) as f32 - 4.0))).collect();
    let fresh: Vec<Value> =
        inputs.iter().map(|v| Ok(Session::new(&graph).run(&[&y], &[(&x, v)])?.remove(0))).collect::<Result<_>>()?;
    let session = Session::new(&graph);
    for round in 0..4 {
        for (input, want) in inputs.iter().zip(&fresh) {
            let got = session.run(&[&y, &h], &[(&x, input)])?;
            assert_eq!(&got[0], want, "round {round}");
        }
    }
    Ok(())
}

#[test]
fn denormals_are_flushed_to_zero_as_tensorflow_does() -> Result<()> {
    // TF 2.21: x * 1.0 and x * 1e-30 for x = [1e-39, 1e-10] give [0, 1e-10] and [0, 0].
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([Some(2)]))?;
    let y = mul(&x, &constant(1.0f32)?)?;
    let z = mul(&x, &constant(1e-30f32)?)?;
    let fed = Value::from(vec![1e-39f32, 1e-10]);
    let out = Session::new(&graph).run(&[&y, &z], &[(&x, &fed)])?;
    assert_eq!(out[0].to_f64_vec(), vec![0.0, f64::from(1e-10f32)]);
    assert_eq!(out[1].to_f64_vec(), vec![0.0, 0.0]);
    // The calling thread's own arithmetic is left as it was.
    assert!(std::hint::black_box(1e-39f32) * std::hint::black_box(1.0f32) > 0.0);
    Ok(())
}

#[test]
fn a_read_ordered_before_an_update_sees_the_old_value() -> Result<()> {
    // TF's snapshot-then-update: `old` is fetched, and the update waits for it.
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    let old = mul(&v, &constant(1.0f32)?)?;
    let update =
        scopeflow::control_dependencies(&[&old.op()]).with(|| scopeflow::assign_add(&v, &constant(vec![5.0f32])?))?;
    let out = Session::new(&graph).run(&[&update, &old], &[])?;
    assert_eq!((out[0].to_f64_vec(), out[1].to_f64_vec()), (vec![5.0], vec![0.0]));
    Ok(())
}

#[test]
fn a_product_split_across_threads_equals_one_threads_product() -> Result<()> {
    // 96 x 700 x 300 (20M multiply-adds) is split into column blocks on more
    // than one thread; 300 x 700 x 40 into row blocks; 1 x 700 x 300 stays whole.
    let graph = Graph::new();
    let _g = graph.as_default();
    let value = |r: usize, c: usize, salt: usize| (((r * 31 + c * 17 + salt) % 97) as f32 - 48.0) / 32.0;
    let mut products = Vec::new();
    for (m, k, n) in [(96, 700, 300), (300, 700, 40), (1, 700, 300)] {
        let a = constant(Array2::from_shape_fn((m, k), |(r, c)| value(r, c, 1)))?;
        let b = constant(Array2::from_shape_fn((k, n), |(r, c)| value(r, c, 2)))?;
        products.push(matmul(&a, &b)?);
        products.push(scopeflow::matmul_transposed(&a, &scopeflow::transpose(&b, None)?, false, true)?);
    }
    let fetches: Vec<&Tensor> = products.iter().collect();
    let one = Session::with_options(&graph, SessionOptions::default().num_threads(1));
    assert_eq!(one.num_threads(), 1);
    let want = one.run(&fetches, &[])?;
    for threads in [2, 3] {
        let session = Session::with_options(&graph, SessionOptions::default().num_threads(threads));
        let got = session.run(&fetches, &[])?;
        for ((g, w), t) in got.iter().zip(&want).zip(&products) {
            assert_eq!(g.shape(), w.shape(), "{}", t.name());
            for (x, y) in g.to_f64_vec().iter().zip(w.to_f64_vec()) {
                assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "{} on {threads} threads: {x} vs {y}", t.name());
            }
        }
    }
    Ok(())
}

#[test]
fn a_dense_chain_run_as_one_step_equals_its_ops_run_one_by_one() -> Result<()> {
    // A session computes MatMul -> BiasAdd (or Add) -> Relu in one pass when
    // nothing else reads the product and the sum; fetching them too makes it
    // run the three kernels one by one. Both must give the same bits, on one
    // thread and on two, at the sizes of each path: one row, tiles with
    // edges, split column blocks, split row blocks; NaN inputs included.
    use scopeflow::{bias_add, matmul_transposed};
    let value = |r: usize, c: usize, salt: usize| (((r * 31 + c * 17 + salt) % 97) as f64 - 48.0) / 32.0;
    for (m, k, n) in [(1, 70, 40), (7, 33, 19), (32, 784, 256), (300, 700, 40), (96, 700, 300)] {
        let graph = Graph::new();
        let _g = graph.as_default();
        let mut x = Array2::from_shape_fn((m, k), |(r, c)| value(r, c, 1) as f32);
        x[[m / 2, k / 3]] = f32::NAN;
        let x = constant(x)?;
        let w = constant(Array2::from_shape_fn((k, n), |(r, c)| value(r, c, 2) as f32))?;
        let w_t = constant(Array2::from_shape_fn((n, k), |(r, c)| value(c, r, 2) as f32))?;
        let b = constant(Array::from_shape_fn(n, |c| value(c, 0, 3) as f32))?;
        let x64 = constant(Array2::from_shape_fn((m, k), |(r, c)| value(r, c, 4)))?;
        let w64 = constant(Array2::from_shape_fn((k, n), |(r, c)| value(r, c, 5)))?;
        let b64 = constant(Array::from_shape_fn(n, |c| value(c, 0, 6)))?;
        let xi = constant(Array2::from_shape_fn((m, k), |(r, c)| ((r * 7 + c) % 5) as i32 - 2))?;
        let wi = constant(Array2::from_shape_fn((k, n), |(r, c)| ((r + c * 3) % 7) as i32 - 3))?;
        let bi = constant(Array::from_shape_fn(n, |c| (c % 9) as i32 - 4))?;
        let mut chains = Vec::new();
        let product = matmul(&x, &w)?;
        chains.push((product.clone(), relu(&bias_add(&product, &b)?)?));
        let product = matmul_transposed(&x, &w_t, false, true)?;
        chains.push((product.clone(), add(&b, &product)?));
        let product = matmul(&x64, &w64)?;
        chains.push((product.clone(), relu(&add(&product, &b64)?)?));
        let product = matmul(&xi, &wi)?;
        chains.push((product.clone(), relu(&bias_add(&product, &bi)?)?));
        for threads in [1, 2] {
            let session = Session::with_options(&graph, SessionOptions::default().num_threads(threads));
            let ends: Vec<&Tensor> = chains.iter().map(|(_, end)| end).collect();
            let fused = session.run(&ends, &[])?;
            for ((product, end), fused) in chains.iter().zip(&fused) {
                let apart = session.run(&[end, product], &[])?;
                let bits = |v: &Value| v.to_f64_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(fused), bits(&apart[0]), "{} at {m}x{k}x{n} on {threads} threads", end.name());
            }
        }
    }
    Ok(())
}

#[test]
fn a_dense_chain_whose_sizes_do_not_fit_names_the_op_that_fails() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, None]))?;
    let w = constant(Array2::from_elem((3, 4), 1.0f32))?;
    let y = relu(&scopeflow::bias_add(&matmul(&x, &w)?, &constant(vec![1.0f32; 4])?)?)?;
    let session = Session::new(&graph);
    let fits = session.run(&[&y], &[(&x, &Value::from(Array2::from_elem((2, 3), -1.0f32)))])?;
    assert_eq!(fits[0].to_f64_vec(), vec![0.0; 8]);
    let err = session.run(&[&y], &[(&x, &Value::from(Array2::from_elem((2, 5), 1.0f32)))]).unwrap_err().to_string();
    assert!(err.contains("`MatMul`") && err.contains("inner dimensions"), "{err}");
    Ok(())
}

#[test]
fn a_convolution_chain_run_as_one_step_equals_its_ops_run_one_by_one() -> Result<()> {
    // Conv2D -> BiasAdd -> Relu, as in TF1's conv layers: a small patch in
    // register tiles (f32) or position by position (f64), a wide one through
    // im2col; large enough to be split across two threads.
    use scopeflow::{bias_add, conv2d};
    let value = |i: usize, salt: usize| (((i * 31 + salt) % 97) as f64 - 48.0) / 32.0;
    for (n, size, cin, k, cout) in [(2, 5, 2, 3, 3), (16, 28, 1, 3, 32), (4, 12, 8, 3, 24)] {
        let graph = Graph::new();
        let _g = graph.as_default();
        let x =
            Array::from_shape_fn((n, size, size, cin), |(a, b, c, d)| value(((a * size + b) * size + c) * cin + d, 1));
        let f = Array::from_shape_fn((k, k, cin, cout), |(a, b, c, d)| value(((a * k + b) * cin + c) * cout + d, 2));
        let bias = Array::from_shape_fn(cout, |c| value(c, 3));
        let mut chains = Vec::new();
        for padding in [Padding::Same, Padding::Valid] {
            let conv = conv2d(&constant(x.mapv(|v| v as f32))?, &constant(f.mapv(|v| v as f32))?, [1, 1], padding)?;
            chains.push((conv.clone(), relu(&bias_add(&conv, &constant(bias.mapv(|v| v as f32))?)?)?));
            let conv = conv2d(&constant(x.clone())?, &constant(f.clone())?, [2, 2], padding)?;
            chains.push((conv.clone(), relu(&add(&constant(bias.clone())?, &conv)?)?));
        }
        for threads in [1, 2] {
            let session = Session::with_options(&graph, SessionOptions::default().num_threads(threads));
            let ends: Vec<&Tensor> = chains.iter().map(|(_, end)| end).collect();
            let fused = session.run(&ends, &[])?;
            for ((conv, end), fused) in chains.iter().zip(&fused) {
                let apart = session.run(&[end, conv], &[])?;
                let bits = |v: &Value| v.to_f64_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(fused), bits(&apart[0]), "{} on {threads} threads", end.name());
            }
        }
    }
    Ok(())
}
