//! Optimizers' names and refusals, as TensorFlow 2.21's `tf.compat.v1.train`
//! gives them (the names below were read from TF's own graphs); their
//! arithmetic is checked against TF's training runs in tests/tf1_train.rs.

use scopeflow::prelude::*;
use scopeflow::{AdagradOptimizer, AdamOptimizer, ErrorKind, GradientDescentOptimizer, Optimizer};

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
