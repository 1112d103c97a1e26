//! Optimizers' names and refusals, as TensorFlow 2.21's `tf.compat.v1.train`
//! gives them (the names below were read from TF's own graphs); their
//! arithmetic is checked against TF's training runs in tests/tf1_train.rs.

use scopeflow::prelude::*;
use scopeflow::{
    AdagradOptimizer, AdamOptimizer, Constraint, ErrorKind, GradientDescentOptimizer, MomentumOptimizer, Optimizer,
    add, cast, div, maximum, sqrt,
};

fn names(graph: &Graph) -> Result<Vec<String>> {
    Ok(graph.global_variables(None)?.iter().map(|v| v.name().to_owned()).collect())
}

#[test]
fn a_second_adam_uniquifies_its_slots_and_keeps_its_name_scope_for_the_powers() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [2]).get()?;
    let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
    AdamOptimizer::new(0.1).minimize(&loss, None, None)?;
    name_scope("train").with(|_| AdamOptimizer::new(0.1).minimize(&loss, None, None))?;
    assert_eq!(
        names(&graph)?,
        [
            "w",
            "beta1_power",
            "beta2_power",
            "w/Adam",
            "w/Adam_1",
            "train/beta1_power",
            "train/beta2_power",
            "w/Adam_2",
            "w/Adam_3"
        ]
    );
    Ok(())
}

#[test]
fn refusals_name_what_is_wrong_and_unreached_integer_variables_are_left_alone() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [1]).initializer(Init::Ones).get()?;
    let _count = get_variable("count", [1]).dtype(DType::I32).initializer(Init::Zeros).get()?;
    let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
    // `count` is trainable but no gradient reaches it: TF ignores it, and so do we.
    let pairs = GradientDescentOptimizer::new(0.1).compute_gradients(&loss, None)?;
    assert!(pairs[1].0.is_none());
    GradientDescentOptimizer::new(0.1).apply_gradients(&pairs, None)?;

    let err = AdagradOptimizer::new(0.1).initial_accumulator_value(0.0).minimize(&loss, None, None).unwrap_err();
    assert!(err.to_string().contains("initial_accumulator_value"), "{err}");
    let int_loss = constant(1i32)?;
    let err = GradientDescentOptimizer::new(0.1).minimize(&int_loss, None, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains(&format!("`{}`", int_loss.name())) && err.to_string().contains("int32"), "{err}");
    let unrelated = constant(1.0f32)?;
    let err =
        GradientDescentOptimizer::new(0.1).minimize(&unrelated, Some(std::slice::from_ref(&w)), None).unwrap_err();
    assert!(err.to_string().contains("\"w\""), "{err}");
    Ok(())
}

#[test]
fn slots_are_refused_inside_a_partitioned_scope_with_a_way_out() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [4]).get()?;
    let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
    let _p = variable_scope("p").partitioner(Partitioner::Fixed { shards: 2, axis: 0 }).enter()?;
    let err = AdamOptimizer::new(0.1).minimize(&loss, None, None).unwrap_err();
    assert!(err.to_string().contains("partitioner") && err.to_string().contains("`w`"), "{err}");
    Ok(())
}

#[test]
fn a_decayed_learning_rate_is_read_each_step_with_tfs_node_names() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [1]).initializer(Init::Ones).get()?;
    let loss = reduce_sum(&mul(&w, &w)?, None, false)?; // d/dw = 2w
    let step = scopeflow::get_or_create_global_step()?;
    let before = graph.nodes().len();
    let lr = scopeflow::exponential_decay(0.25, &step, 1, 0.5, true)?;
    // The names TF 2.21 gives (`tf.compat.v1.train.exponential_decay(0.1, gs, 100, 0.96, staircase=True)`).
    let names: Vec<String> = graph.nodes()[before..].iter().map(|n| format!("{} {}", n.name, n.op_type)).collect();
    assert_eq!(
        names,
        [
            "ExponentialDecay/initial_learning_rate Const",
            "ExponentialDecay/Cast/x Const",
            "ExponentialDecay/Cast Cast",
            "ExponentialDecay/Cast_1/x Const",
            "ExponentialDecay/Cast_2 Cast",
            "ExponentialDecay/truediv RealDiv",
            "ExponentialDecay/Floor Floor",
            "ExponentialDecay/Pow Pow",
            "ExponentialDecay Mul",
        ]
    );
    let train = GradientDescentOptimizer::new(&lr).minimize(&loss, None, Some(&step))?;
    let session = Session::new(&graph);
    session.run_targets(&[&train], &[])?; // lr 0.25: w = 1 - 0.25 * 2 = 0.5
    session.run_targets(&[&train], &[])?; // lr 0.125: w = 0.5 - 0.125 * 1 = 0.375
    assert_eq!(w.value()?.to_f64_vec(), vec![0.375]);
    let bad = GradientDescentOptimizer::new(&constant(vec![0.1f32, 0.2])?).minimize(&loss, None, None);
    assert!(bad.unwrap_err().to_string().contains("a learning rate is a float scalar"));
    Ok(())
}

#[test]
fn gradients_clipped_by_global_norm_between_compute_and_apply_have_tfs_names() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let a = get_variable("a", [2]).initializer(Init::Constant(3.0)).get()?;
    let b = get_variable("b", [1]).initializer(Init::Constant(4.0)).get()?;
    let loss = add(&reduce_sum(&a, None, false)?, &reduce_sum(&mul(&b, &b)?, None, false)?)?;
    let opt = GradientDescentOptimizer::new(1.0);
    let pairs = opt.compute_gradients(&loss, None)?;
    let before = graph.nodes().len();
    let grads: Vec<Option<Tensor>> = pairs.iter().map(|(g, _)| g.clone()).collect();
    let (clipped, norm) = scopeflow::clip_by_global_norm(&grads, 3.0)?;
    // The names TF 2.21 gives (`tf.clip_by_global_norm([a, b], 5.0)`).
    let names: Vec<String> = graph.nodes()[before..].iter().map(|n| format!("{} {}", n.name, n.op_type)).collect();
    assert_eq!(
        names,
        [
            "global_norm/L2Loss L2Loss",
            "global_norm/L2Loss_1 L2Loss",
            "global_norm/stack Pack",
            "global_norm/Const Const",
            "global_norm/Sum Sum",
            "global_norm/Const_1 Const",
            "global_norm/mul Mul",
            "global_norm/global_norm Sqrt",
            "clip_by_global_norm/truediv/x Const",
            "clip_by_global_norm/truediv RealDiv",
            "clip_by_global_norm/Const Const",
            "clip_by_global_norm/truediv_1/y Const",
            "clip_by_global_norm/truediv_1 RealDiv",
            "clip_by_global_norm/Minimum Minimum",
            "clip_by_global_norm/mul/x Const",
            "clip_by_global_norm/mul Mul",
            "clip_by_global_norm/sub Sub",
            "clip_by_global_norm/add AddV2",
            "clip_by_global_norm/mul_1 Mul",
            "clip_by_global_norm/clip_by_global_norm/_0 Identity",
            "clip_by_global_norm/mul_2 Mul",
            "clip_by_global_norm/clip_by_global_norm/_1 Identity",
        ]
    );
    let pairs: Vec<_> = clipped.into_iter().zip(pairs.into_iter().map(|(_, v)| v)).collect();
    let train = opt.apply_gradients(&pairs, None)?;
    let session = Session::new(&graph);
    // Gradients [1, 1] and [8]: norm sqrt(66) > 3, scaled by 3 / sqrt(66).
    assert!((session.run(&[&norm], &[])?[0].to_f64_vec()[0] - 66f64.sqrt()).abs() < 1e-5);
    session.run_targets(&[&train], &[])?;
    let scale = 3.0 / 66f64.sqrt();
    assert!((a.value()?.to_f64_vec()[0] - (3.0 - scale)).abs() < 1e-5);
    assert!((b.value()?.to_f64_vec()[0] - (4.0 - 8.0 * scale)).abs() < 1e-5);
    Ok(())
}

#[test]
fn clip_by_value_has_tfs_names() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let a = constant(vec![1.0f32, 4.0])?;
    let before = graph.nodes().len();
    scopeflow::clip_by_value(&a, -1.0, 2.5)?;
    let names: Vec<String> = graph.nodes()[before..].iter().map(|n| format!("{} {}", n.name, n.op_type)).collect();
    assert_eq!(
        names,
        [
            "clip_by_value/Minimum/y Const",
            "clip_by_value/Minimum Minimum",
            "clip_by_value/y Const",
            "clip_by_value Maximum"
        ]
    );
    assert!(scopeflow::clip_by_value(&a, 2.0, 1.0).is_err());
    Ok(())
}

#[test]
fn a_failed_minimize_leaves_the_graph_as_it_was() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [2, 3]).get()?;
    let x = constant(scopeflow::ndarray::arr2(&[[1.0f32, 2.0]]))?;
    // A gradient's gradient goes through ReluGrad, which has none (scopeflow has no
    // second derivatives): gradients fail half way through the graph, after the
    // gradients of the Add and the Sum.
    let h = scopeflow::relu(&matmul(&x, &w)?)?;
    let dh = scopeflow::gradients(&[&reduce_sum(&h, None, false)?], &[&w])?.remove(0).expect("connected");
    let loss = add(&reduce_sum(&w, None, false)?, &reduce_sum(&dh, None, false)?)?;
    let before = graph.nodes().iter().map(|n| n.name.clone()).collect::<Vec<_>>();
    let variables = names(&graph)?;
    let adam = AdamOptimizer::new(0.1);
    let step = scopeflow::get_or_create_global_step()?;
    let variables_with_step = names(&graph)?;
    let err = adam.minimize(&loss, None, Some(&step)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    let mut after = graph.nodes().iter().map(|n| n.name.clone()).collect::<Vec<_>>();
    assert_eq!(after.pop().as_deref(), Some("global_step/read"));
    assert_eq!(after.pop().as_deref(), Some("global_step"));
    assert_eq!(after, before);
    assert_eq!(names(&graph)?, variables_with_step);
    assert_eq!(variables, ["w"]);
    // The same optimizer then trains a good loss with TF's first names: nothing was half made.
    let good = reduce_sum(&mul(&w, &w)?, None, false)?;
    adam.minimize(&good, None, Some(&step))?;
    adam.minimize(&good, None, Some(&step))?;
    assert_eq!(names(&graph)?, ["w", "global_step", "beta1_power", "beta2_power", "w/Adam", "w/Adam_1"]);
    // The failed call's `gradients_1` scope was released: the next good one is `gradients_1`.
    assert!(graph.nodes().iter().any(|n| n.name == "gradients_1/Sum_3_grad/Reshape"));
    assert!(graph.nodes().iter().any(|n| n.name == "Adam/update_w/ApplyAdam"));
    Ok(())
}

#[test]
fn nan_and_infinity_in_losses_and_gradients_never_panic() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [2, 3]).initializer(Init::Zeros).get()?;
    let x = scopeflow::placeholder(DType::F32, Shape::from_dims([None, Some(2)]))?;
    let labels = scopeflow::placeholder(DType::I32, Shape::from_dims([None]))?;
    let logits = matmul(&x, &w)?;
    let xent = reduce_mean(&scopeflow::sparse_softmax_cross_entropy_with_logits(&labels, &logits)?, None, false)?;
    // log(0) = -inf; its gradient 1/0 = inf.
    let log_of_zero = reduce_sum(&scopeflow::log(&mul(&w, &constant(0.0f32)?)?)?, None, false)?;
    let loss = add(&xent, &log_of_zero)?;
    let pairs = AdamOptimizer::new(0.1).compute_gradients(&loss, None)?;
    let grads: Vec<Option<Tensor>> = pairs.iter().map(|(g, _)| g.clone()).collect();
    let (clipped, norm) = scopeflow::clip_by_global_norm(&grads, 1.0)?;
    let pairs: Vec<_> = clipped.into_iter().zip(pairs.into_iter().map(|(_, v)| v)).collect();
    let train = AdamOptimizer::new(0.1).apply_gradients(&pairs, None)?;
    let session = Session::new(&graph);
    let batch = Value::from(scopeflow::ndarray::arr2(&[[f32::NAN, 1.0], [f32::INFINITY, -f32::INFINITY]]));
    let ids = Value::from(vec![0i32, 2]);
    for _ in 0..2 {
        let out = session.run_with_targets(&[&loss, &norm], &[(&x, &batch), (&labels, &ids)], &[&train])?;
        assert!(out[0].to_f64_vec()[0].is_nan() || out[0].to_f64_vec()[0].is_infinite());
        assert!(!out[1].to_f64_vec()[0].is_finite());
    }
    // A clipped update by a NaN scale makes the weights NaN, as in TensorFlow; nothing panicked.
    assert!(w.value()?.to_f64_vec().iter().all(|v| v.is_nan()));
    Ok(())
}

/// `max(w, 0)` as TF builds `tf.maximum(w, tf.constant(0.0))`.
fn non_neg() -> Constraint {
    Constraint::new(|w| maximum(w, &constant(0.0f32)?))
}

/// `w * 0.5` as TF builds `tf.multiply(w, tf.constant(0.5))`.
fn halve() -> Constraint {
    Constraint::new(|w| mul(w, &constant(0.5f32)?))
}

/// Keras' `MaxNorm(c)` over all axes: `w * c / max(‖w‖, c)`.
fn max_norm(c: f32) -> Constraint {
    Constraint::new(move |w| {
        let norm = sqrt(&reduce_sum(&mul(w, w)?, None, false)?)?;
        let c = constant(c)?;
        mul(w, &div(&c, &maximum(&norm, &c)?)?)
    })
}

/// The graph TensorFlow 2.21 built for this program (recorded by hand from
/// `tf.compat.v1` with ref variables; gradient names left out):
///
/// ```python
/// with v1.variable_scope("s", constraint=lambda t: tf.maximum(t, tf.constant(0.0))):
///     w = v1.get_variable("w", [2], initializer=v1.ones_initializer())
///     b = v1.get_variable("b", [2], initializer=v1.ones_initializer(),
///                         constraint=lambda t: tf.multiply(t, tf.constant(0.5)))
/// u = v1.get_variable("u", [2], initializer=v1.ones_initializer())
/// loss = tf.reduce_sum(tf.multiply(w, tf.constant([4.0, -1.0]))) + tf.reduce_sum(b) + tf.reduce_sum(u)
/// train = v1.train.GradientDescentOptimizer(0.5).minimize(loss)
/// ```
#[test]
fn a_constraint_is_assigned_after_each_update_with_tf_names_and_values() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let (w, b) = variable_scope("s").constraint(non_neg()).with(|_| {
        let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
        let b = get_variable("b", [2]).initializer(Init::Ones).constraint(halve()).get()?;
        Ok::<_, Error>((w, b))
    })?;
    let u = get_variable("u", [2]).initializer(Init::Ones).get()?;
    assert!(u.constraint().is_none());
    let loss = add(
        &add(&reduce_sum(&mul(&w, &constant(vec![4.0f32, -1.0])?)?, None, false)?, &reduce_sum(&b, None, false)?)?,
        &reduce_sum(&u, None, false)?,
    )?;
    let train = GradientDescentOptimizer::new(0.5).minimize(&loss, None, None)?;
    let found: Vec<(String, &str, Vec<String>, Vec<String>)> = graph
        .nodes()
        .into_iter()
        .filter(|n| n.name.starts_with("GradientDescent"))
        .map(|n| {
            // Gradients are named otherwise than in TF's graph: only the variables' inputs are compared.
            let inputs = n.inputs.iter().filter(|i| !i.starts_with("gradients/")).cloned().collect();
            (n.name, n.op_type, inputs, n.control_inputs)
        })
        .collect();
    let s = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let expected = [
        ("GradientDescent/learning_rate", "Const", s(&[]), s(&[])),
        (
            "GradientDescent/update_s/w/ApplyGradientDescent",
            "ApplyGradientDescent",
            s(&["s/w", "GradientDescent/learning_rate"]),
            s(&[]),
        ),
        ("GradientDescent/update_s/w/Const", "Const", s(&[]), s(&["GradientDescent/update_s/w/ApplyGradientDescent"])),
        ("GradientDescent/update_s/w/Maximum", "Maximum", s(&["s/w/read", "GradientDescent/update_s/w/Const"]), s(&[])),
        ("GradientDescent/update_s/w/Assign", "Assign", s(&["s/w", "GradientDescent/update_s/w/Maximum"]), s(&[])),
        (
            "GradientDescent/update_s/b/ApplyGradientDescent",
            "ApplyGradientDescent",
            s(&["s/b", "GradientDescent/learning_rate"]),
            s(&[]),
        ),
        ("GradientDescent/update_s/b/Const", "Const", s(&[]), s(&["GradientDescent/update_s/b/ApplyGradientDescent"])),
        ("GradientDescent/update_s/b/Mul", "Mul", s(&["s/b/read", "GradientDescent/update_s/b/Const"]), s(&[])),
        ("GradientDescent/update_s/b/Assign", "Assign", s(&["s/b", "GradientDescent/update_s/b/Mul"]), s(&[])),
        (
            "GradientDescent/update_u/ApplyGradientDescent",
            "ApplyGradientDescent",
            s(&["u", "GradientDescent/learning_rate"]),
            s(&[]),
        ),
        (
            "GradientDescent",
            "NoOp",
            s(&[]),
            s(&[
                "GradientDescent/update_s/w/Assign",
                "GradientDescent/update_s/b/Assign",
                "GradientDescent/update_u/ApplyGradientDescent",
            ]),
        ),
    ];
    let expected: Vec<(String, &str, Vec<String>, Vec<String>)> =
        expected.into_iter().map(|(n, t, i, c)| (n.to_owned(), t, i, c)).collect();
    assert_eq!(found, expected);
    // TF's values after one step, then two.
    let session = Session::new(&graph);
    session.run_targets(&[&train], &[])?;
    assert_eq!([w.value()?.to_f64_vec(), b.value()?.to_f64_vec()], [vec![0.0, 1.5], vec![0.25, 0.25]]);
    session.run_targets(&[&train], &[])?;
    assert_eq!([w.value()?.to_f64_vec(), b.value()?.to_f64_vec()], [vec![0.0, 2.0], vec![-0.125, -0.125]]);
    assert_eq!(u.value()?.to_f64_vec(), vec![0.0, 0.0]);
    Ok(())
}

#[test]
fn a_max_norm_constraint_keeps_the_norm_under_its_bound_with_a_global_step_and_slots() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [2]).initializer(Init::Ones).constraint(max_norm(1.0)).get()?;
    // Gradient (-3, -4): a step of 1 would make w (4, 5).
    let loss = reduce_sum(&mul(&w, &constant(vec![-3.0f32, -4.0])?)?, None, false)?;
    let step = scopeflow::get_or_create_global_step()?;
    let opt = MomentumOptimizer::new(1.0, 0.5);
    let train = opt.minimize(&loss, None, Some(&step))?;
    assert_eq!(train.name(), "Momentum");
    let session = Session::new(&graph);
    for _ in 0..3 {
        session.run_targets(&[&train], &[])?;
        let v = w.value()?.to_f64_vec();
        assert!((v[0].hypot(v[1]) - 1.0).abs() < 1e-6, "{v:?}");
    }
    assert_eq!(step.value()?.to_f64_vec(), vec![3.0]);
    // The slot is not constrained: it holds the momentum of the raw gradients.
    assert!(opt.slot(&w, "momentum").is_some_and(|m| m.constraint().is_none()));
    Ok(())
}

#[test]
fn a_constraint_that_changes_the_shape_is_refused_naming_the_variable() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let summed = Constraint::new(|w| reduce_sum(w, None, false));
    let w = variable_scope("layer").with(|_| get_variable("w", [2]).constraint(summed).get())?;
    let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
    let err = GradientDescentOptimizer::new(0.1).minimize(&loss, None, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let msg = err.to_string();
    assert!(msg.contains("the constraint of variable `layer/w` returned a float32 tensor of shape (), but the variable is float32 of shape (2,)"), "{msg}");
    assert!(msg.contains("must return a value of the variable's shape and dtype"), "{msg}");
    // A constraint's own error comes back as it is.
    let failing = Constraint::new(|w| cast(w, DType::I32).and_then(|i| matmul(&i, &i)));
    let v = get_variable("v", [2]).constraint(failing).get()?;
    let loss = reduce_sum(&mul(&v, &v)?, None, false)?;
    assert!(GradientDescentOptimizer::new(0.1).minimize(&loss, Some(&[v]), None).is_err());
    Ok(())
}

/// TF 2.21's graph for `variable_scope("s", constraint=lambda t: tf.clip_by_value(t, -0.5, 0.5))`,
/// `get_variable("w", [2])` and `minimize(loss, global_step=step)` (recorded by hand).
#[test]
fn a_clip_by_value_constraint_with_a_global_step_has_tfs_nodes() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let clip = Constraint::new(|w| scopeflow::clip_by_value(w, -0.5, 0.5));
    let w = variable_scope("s").constraint(clip).with(|_| get_variable("w", [2]).initializer(Init::Ones).get())?;
    let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
    let step = scopeflow::get_or_create_global_step()?;
    let train = GradientDescentOptimizer::new(0.1).minimize(&loss, None, Some(&step))?;
    let found: Vec<String> = graph
        .nodes()
        .into_iter()
        .filter(|n| n.name.starts_with("GradientDescent/update") || n.name == "GradientDescent")
        .map(|n| {
            let inputs: Vec<String> = n.inputs.into_iter().filter(|i| !i.starts_with("gradients/")).collect();
            format!("{} {} {inputs:?} {:?}", n.name, n.op_type, n.control_inputs)
        })
        .collect();
    let p = "GradientDescent/update_s/w";
    assert_eq!(
        found,
        [
            format!(r#"{p}/ApplyGradientDescent ApplyGradientDescent ["s/w", "GradientDescent/learning_rate"] []"#),
            format!(r#"{p}/clip_by_value/Minimum/y Const [] ["{p}/ApplyGradientDescent"]"#),
            format!(r#"{p}/clip_by_value/Minimum Minimum ["s/w/read", "{p}/clip_by_value/Minimum/y"] []"#),
            format!(r#"{p}/clip_by_value/y Const [] ["{p}/ApplyGradientDescent"]"#),
            format!(r#"{p}/clip_by_value Maximum ["{p}/clip_by_value/Minimum", "{p}/clip_by_value/y"] []"#),
            format!(r#"{p}/Assign Assign ["s/w", "{p}/clip_by_value"] []"#),
            format!(r#"GradientDescent/update NoOp [] ["{p}/Assign"]"#),
            r#"GradientDescent AssignAdd ["global_step", "GradientDescent/value"] []"#.to_owned(),
        ]
    );
    Session::new(&graph).run_targets(&[&train], &[])?;
    assert_eq!(w.value()?.to_f64_vec(), vec![0.5, 0.5]); // 1 - 0.1 * 2 = 0.8, clipped
    Ok(())
}

#[test]
fn a_loss_that_is_not_a_scalar_and_variables_of_another_graph_are_refused_by_name() -> Result<()> {
    let other = Graph::new();
    let elsewhere = other.with_default(|| get_variable("elsewhere", [2]).get())?;
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
    let per_example = mul(&w, &w)?;
    let err = GradientDescentOptimizer::new(0.1).minimize(&per_example, None, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().contains(&format!("`{}`", per_example.name())) && err.to_string().contains("scalar"),
        "{err}"
    );
    let loss = reduce_sum(&per_example, None, false)?;
    let err = GradientDescentOptimizer::new(0.1).minimize(&loss, Some(&[w.clone(), elsewhere]), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
    assert!(err.to_string().contains("elsewhere"), "{err}");
    // Gradients of an integer tensor: no gradient flows through integers.
    let count = scopeflow::cast(&w, DType::I32)?;
    let err = scopeflow::gradients(&[&count], &[&w]).unwrap_err();
    assert!(err.to_string().contains(&format!("`{}`", count.name())) && err.to_string().contains("int32"), "{err}");
    assert_eq!(names(&graph)?, ["w"]);
    Ok(())
}
