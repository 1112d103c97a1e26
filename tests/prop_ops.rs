//! Random op graphs, built from the public API with random shapes (0 and
//! mismatches included), dtypes, attributes and feeds: every build, run and
//! gradient is `Ok` or an error with a message, never a panic or an abort.

use proptest::prelude::*;
use scopeflow::Padding;
use scopeflow::ndarray::{ArrayD, IxDyn};
use scopeflow::prelude::*;

/// A placeholder: its dtype, its declared shape (`None` = unknown rank,
/// `Some(-1)` dims unknown) and the shape of the value fed to it, which may
/// not match.
#[derive(Clone, Debug)]
struct Input {
    dtype: u8,
    declared: Option<Vec<i64>>,
    fed: Vec<usize>,
    values: Vec<i8>,
}

/// One op applied to earlier tensors (indices taken modulo their count).
#[derive(Clone, Debug)]
struct Step {
    op: u8,
    a: usize,
    b: usize,
    c: usize,
    ints: Vec<i64>,
}

fn dims() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![3 => 0usize..4, 1 => Just(0usize), 1 => 4usize..7], 0..4)
}

fn input() -> impl Strategy<Value = Input> {
    (
        0u8..4,
        dims(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(any::<bool>(), 4),
        dims(),
        prop::collection::vec(-3i8..4, 0..64),
    )
        .prop_map(|(dtype, shape, unknown_rank, fed_other, unknown, other, values)| {
            let declared = (!unknown_rank).then(|| {
                shape.iter().zip(unknown.iter().cycle()).map(|(&d, &u)| if u { -1 } else { d as i64 }).collect()
            });
            Input { dtype, declared, fed: if fed_other { other } else { shape }, values }
        })
}

fn step() -> impl Strategy<Value = Step> {
    (0u8..48, any::<usize>(), any::<usize>(), any::<usize>(), prop::collection::vec(-2i64..5, 0..5))
        .prop_map(|(op, a, b, c, ints)| Step { op, a, b, c, ints })
}

fn dtype(code: u8) -> DType {
    [DType::F32, DType::I32, DType::F64, DType::I64][usize::from(code % 4)]
}

fn value(input: &Input) -> Value {
    let n: usize = input.fed.iter().product();
    let data: Vec<i8> = (0..n).map(|i| input.values.get(i % input.values.len().max(1)).copied().unwrap_or(1)).collect();
    let shape = IxDyn(&input.fed);
    match dtype(input.dtype) {
        DType::F32 => ArrayD::from_shape_vec(shape, data.iter().map(|&v| f32::from(v)).collect()).map(Value::from),
        DType::F64 => ArrayD::from_shape_vec(shape, data.iter().map(|&v| f64::from(v)).collect()).map(Value::from),
        DType::I32 => ArrayD::from_shape_vec(shape, data.iter().map(|&v| i32::from(v)).collect()).map(Value::from),
        _ => ArrayD::from_shape_vec(shape, data.iter().map(|&v| i64::from(v)).collect()).map(Value::from),
    }
    .expect("the data has the shape's element count")
}

fn usizes(ints: &[i64]) -> Vec<usize> {
    ints.iter().map(|&i| i.unsigned_abs() as usize).collect()
}

fn int(ints: &[i64], k: usize) -> i64 {
    ints.get(k).copied().unwrap_or(1)
}

fn pair(ints: &[i64], k: usize) -> [usize; 2] {
    [int(ints, k).unsigned_abs() as usize, int(ints, k + 1).unsigned_abs() as usize]
}

/// Applies `step` to the tensors so far.
fn apply(step: &Step, ts: &[Tensor]) -> Result<Tensor> {
    let (a, b, c) = (&ts[step.a % ts.len()], &ts[step.b % ts.len()], &ts[step.c % ts.len()]);
    let ints = &step.ints;
    let axes = usizes(ints);
    let padding = if int(ints, 4) % 2 == 0 { Padding::Same } else { Padding::Valid };
    match step.op {
        0 => scopeflow::add(a, b),
        1 => scopeflow::sub(a, b),
        2 => scopeflow::mul(a, b),
        3 => scopeflow::div(a, b),
        4 => scopeflow::floor_div(a, b),
        5 => scopeflow::floor_mod(a, b),
        6 => scopeflow::matmul(a, b),
        7 => scopeflow::maximum(a, b),
        8 => scopeflow::pow(a, b),
        9 => scopeflow::squared_difference(a, b),
        10 => scopeflow::relu(a),
        11 => scopeflow::softmax(a),
        12 => scopeflow::sqrt(a),
        13 => scopeflow::log(a),
        14 => scopeflow::square(a),
        15 => scopeflow::reduce_sum(a, (int(ints, 0) > 0).then_some(&axes[..]), int(ints, 1) > 0),
        16 => scopeflow::reduce_mean(a, (int(ints, 0) > 0).then_some(&axes[..]), int(ints, 1) > 0),
        17 => scopeflow::reduce_max(a, (int(ints, 0) > 0).then_some(&axes[..]), false),
        18 => scopeflow::reduce_prod(a, Some(&axes[..]), true),
        19 => scopeflow::reshape(a, ints),
        20 => scopeflow::transpose(a, (int(ints, 0) >= 0).then_some(&axes[..])),
        21 => scopeflow::concat(&[a, b], axes.first().copied().unwrap_or(0)),
        22 => scopeflow::stack(&[a, b, c], axes.first().copied().unwrap_or(0)),
        23 => scopeflow::gather(a, b),
        24 => scopeflow::gather_axis(a, b, int(ints, 0)),
        25 => scopeflow::expand_dims(a, int(ints, 0)),
        26 => scopeflow::cast(a, dtype(int(ints, 0).unsigned_abs() as u8)),
        27 => scopeflow::conv2d(a, b, pair(ints, 0), padding),
        28 => scopeflow::max_pool(a, pair(ints, 0), pair(ints, 2), padding),
        29 => scopeflow::avg_pool(a, pair(ints, 0), pair(ints, 2), padding),
        30 => scopeflow::argmax(a, axes.first().copied().unwrap_or(0)),
        31 => scopeflow::l2_loss(a),
        32 => scopeflow::sparse_softmax_cross_entropy_with_logits(b, a),
        33 => scopeflow::softmax_cross_entropy_with_logits_v2(b, a),
        34 => scopeflow::bias_add(a, b),
        35 => scopeflow::where_v2(&scopeflow::greater(a, b)?, b, c),
        36 => scopeflow::equal(a, b),
        37 => scopeflow::reshape_to(a, b),
        38 => scopeflow::transpose_to(a, b),
        39 => scopeflow::add_n(&[a, b]),
        40 => scopeflow::embedding_lookup(a, b),
        41 => scopeflow::leaky_relu(a, 0.2),
        42 => scopeflow::conv2d_dilated(a, b, pair(ints, 0), padding, pair(ints, 2)),
        43 => scopeflow::reduce_sum_axes(a, ints.clone(), false),
        44 => scopeflow::div_no_nan(a, b),
        45 => scopeflow::matmul_transposed(a, b, int(ints, 0) > 0, int(ints, 1) > 0),
        46 => scopeflow::log_softmax(a),
        _ => scopeflow::abs(a),
    }
}

/// A clear error: it says something.
fn clear(err: &Error) {
    assert!(!err.to_string().trim().is_empty(), "an error without a message: {err:?}");
}

fn check(inputs: &[Input], steps: &[Step]) {
    let graph = Graph::new();
    let _g = graph.as_default();
    let mut ts = Vec::new();
    let mut feeds = Vec::new();
    for input in inputs {
        let shape = match &input.declared {
            None => Shape::unknown(),
            Some(dims) => Shape::from_dims(dims.iter().map(|&d| (d >= 0).then_some(d as usize))),
        };
        let p = placeholder(dtype(input.dtype), shape).expect("a placeholder of any shape builds");
        feeds.push((p.clone(), value(input)));
        ts.push(p);
    }
    for step in steps {
        match apply(step, &ts) {
            Ok(t) => ts.push(t),
            Err(e) => clear(&e),
        }
    }
    let feeds: Vec<(&Tensor, &Value)> = feeds.iter().map(|(t, v)| (t, v)).collect();
    let session = Session::new(&graph);
    for t in &ts[inputs.len()..] {
        if let Err(e) = session.run(&[t], &feeds) {
            clear(&e);
        }
    }
    // Gradients of the last float result with respect to every input.
    if let Some(y) = ts[inputs.len()..].iter().rev().find(|t| matches!(t.dtype(), DType::F32 | DType::F64)) {
        let xs: Vec<&Tensor> = ts[..inputs.len()].iter().collect();
        match scopeflow::gradients(&[y], &xs) {
            Ok(grads) => {
                for g in grads.iter().flatten() {
                    if let Err(e) = session.run(&[g], &feeds) {
                        clear(&e);
                    }
                }
            }
            Err(e) => clear(&e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_graphs_are_ok_or_errors(inputs in prop::collection::vec(input(), 1..4), steps in prop::collection::vec(step(), 1..12)) {
        check(&inputs, &steps);
    }
}
