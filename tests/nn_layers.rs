//! `scopeflow::layers` computes what TensorFlow's layers compute, keeps their
//! names where the recorded cases cannot look (helper nodes, warnings), and
//! trains: values against hand computations, dropout's seeded masks, and a
//! loss minimized through every layer.

use scopeflow::layers::{self, Training};
use scopeflow::ndarray::{Array2, Array4, array};
use scopeflow::prelude::*;
use scopeflow::{ErrorKind, GradientDescentOptimizer, Optimizer, greater_equal, losses};

fn values(t: &Tensor, feeds: &[(&Tensor, &Value)]) -> Result<Vec<f64>> {
    let graph = scopeflow::get_default_graph()?;
    Ok(Session::new(&graph).run(&[t], feeds)?.remove(0).to_f64_vec())
}

#[test]
fn dense_forward_is_inputs_times_kernel_plus_bias_through_the_activation() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(array![[1.0f32, 2.0], [-3.0, 0.5]])?;
    let y = layers::dense(&x, 3).activation(relu).bias_initializer(Init::Constant(-1.0)).build()?;
    graph.variable("dense/kernel").unwrap().assign(array![[1.0f32, 0.0, 2.0], [0.5, -1.0, 1.0]])?;
    // [[1, 2], [-3, .5]] · k = [[2, -2, 4], [-2.75, -.5, -5.5]]; minus 1; relu
    assert_eq!(values(&y, &[])?, vec![1.0, 0.0, 3.0, 0.0, 0.0, 0.0]);
    Ok(())
}

#[test]
fn dense_kernel_defaults_to_glorot_uniform_and_bias_to_zeros() -> Result<()> {
    let graph = Graph::with_seed(5);
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(50)]))?;
    layers::dense(&x, 30).build()?;
    let limit = (6.0f64 / 80.0).sqrt();
    let kernel = graph.variable("dense/kernel").unwrap().value()?.to_f64_vec();
    assert!(kernel.iter().all(|v| v.abs() <= limit));
    assert!(kernel.iter().any(|v| v.abs() > 0.8 * limit), "spread over the glorot range");
    assert_eq!(graph.variable("dense/bias").unwrap().value()?.to_f64_vec(), vec![0.0; 30]);
    Ok(())
}

#[test]
fn dense_on_rank_3_builds_tensordot_node_for_node_as_tensorflow() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x2").placeholder(DType::F32, Shape::from(vec![4, 2, 5]))?;
    let y = layers::dense(&x, 3).build()?;
    // TF 2.21, tf.compat.v1.layers.dense on a (4, 2, 5) placeholder, variables' helper nodes left out.
    let ops: Vec<(String, &str)> = graph
        .nodes()
        .into_iter()
        .filter(|n| n.op_type != "VariableV2" && !n.name.ends_with("/read"))
        .map(|n| (n.name.clone(), n.op_type))
        .collect();
    let want = [
        ("x2", "Placeholder"),
        ("dense/Tensordot/Reshape/shape", "Const"),
        ("dense/Tensordot/Reshape", "Reshape"),
        ("dense/Tensordot/MatMul", "MatMul"),
        ("dense/Tensordot/shape", "Const"),
        ("dense/Tensordot", "Reshape"),
        ("dense/BiasAdd", "BiasAdd"),
    ];
    assert_eq!(ops, want.map(|(n, t)| (n.to_owned(), t)));
    assert_eq!(y.shape(), &Shape::from(vec![4, 2, 3]));
    graph.variable("dense/kernel").unwrap().assign(Array2::<f32>::ones((5, 3)))?;
    let feed = Value::from(Array4::<f32>::ones((1, 4, 2, 5)).into_shape_with_order((4, 2, 5)).unwrap());
    assert_eq!(values(&y, &[(&x, &feed)])?, vec![5.0; 24]);
    Ok(())
}

#[test]
fn dense_on_rank_3_of_unknown_batch_builds_tensorflows_dynamic_tensordot() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(2), Some(5)]))?;
    let y = layers::dense(&x, 3).build()?;
    // TF 2.21, tf.compat.v1.layers.dense on a (?, 2, 5) placeholder, variables' helper nodes left out.
    let want = [
        "x",
        "dense/kernel",
        "dense/bias",
        "dense/Tensordot/axes",
        "dense/Tensordot/free",
        "dense/Tensordot/Shape",
        "dense/Tensordot/GatherV2/axis",
        "dense/Tensordot/GatherV2",
        "dense/Tensordot/GatherV2_1/axis",
        "dense/Tensordot/GatherV2_1",
        "dense/Tensordot/Const",
        "dense/Tensordot/Prod",
        "dense/Tensordot/Const_1",
        "dense/Tensordot/Prod_1",
        "dense/Tensordot/concat/axis",
        "dense/Tensordot/concat",
        "dense/Tensordot/stack",
        "dense/Tensordot/transpose",
        "dense/Tensordot/Reshape",
        "dense/Tensordot/MatMul",
        "dense/Tensordot/Const_2",
        "dense/Tensordot/concat_1/axis",
        "dense/Tensordot/concat_1",
        "dense/Tensordot",
        "dense/BiasAdd",
    ];
    let got: Vec<String> = graph.nodes().into_iter().map(|n| n.name).filter(|n| !n.ends_with("/read")).collect();
    assert_eq!(got, want);
    assert_eq!(y.shape(), &Shape::from_dims([None, Some(2), Some(3)]));
    graph.variable("dense/kernel").unwrap().assign(Array2::from_shape_fn((5, 3), |(i, j)| (i * j) as f32))?;
    let feed = Value::from(scopeflow::ndarray::Array3::<f32>::ones((3, 2, 5)));
    let out = values(&y, &[(&x, &feed)])?;
    assert_eq!(out, [0.0, 10.0, 20.0].repeat(6)); // column j sums i * j over i < 5
    let v = placeholder(DType::F32, Shape::from_dims([None, None]))?;
    let err = layers::dense(&v, 3).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("last dimension"), "{err}");
    Ok(())
}

#[test]
fn conv2d_forward_sums_each_window() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(Array4::from_shape_fn((1, 3, 3, 1), |(_, i, j, _)| (i * 3 + j) as f32))?;
    let y = layers::conv2d(&x, 1, 2).kernel_initializer(Init::Ones).build()?;
    assert_eq!(y.shape(), &Shape::from(vec![1, 2, 2, 1]));
    // windows of [[0 1 2] [3 4 5] [6 7 8]]
    assert_eq!(values(&y, &[])?, vec![8.0, 12.0, 20.0, 24.0]);
    let same = layers::conv2d(&x, 1, 3).padding("same").strides(2).kernel_initializer(Init::Ones).build()?;
    assert_eq!(values(&same, &[])?, vec![8.0, 12.0, 20.0, 24.0]); // one row and column of zeros before
    let dilated = layers::conv2d(&x, 1, 2).dilation_rate(2).kernel_initializer(Init::Ones).build()?;
    assert_eq!(values(&dilated, &[])?, vec![16.0]); // corners 0 + 2 + 6 + 8
    assert_eq!(dilated.name(), "conv2d_2/BiasAdd");
    Ok(())
}

#[test]
fn pooling_takes_the_max_or_the_mean_of_each_window() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(Array4::from_shape_fn((1, 4, 4, 1), |(_, i, j, _)| (i * 4 + j) as f32))?;
    assert_eq!(values(&layers::max_pooling2d(&x, 2, 2).build()?, &[])?, vec![5.0, 7.0, 13.0, 15.0]);
    assert_eq!(values(&layers::average_pooling2d(&x, 2, 2).build()?, &[])?, vec![2.5, 4.5, 10.5, 12.5]);
    let err = layers::max_pooling2d(&x, 2, 2).padding("full").build().unwrap_err();
    assert!(err.to_string().contains("unknown padding `full`"), "{err}");
    let err = layers::average_pooling2d(&x, 2, 2).data_format("channels_first").build().unwrap_err();
    assert!(err.to_string().contains("channels_last"), "{err}");
    Ok(())
}

fn dropout_masks(seed: u64) -> Result<Vec<Vec<f64>>> {
    let graph = Graph::with_seed(seed);
    let _g = graph.as_default();
    let x = constant(Array2::<f32>::ones((10, 20)))?;
    let d = layers::dropout(&x).rate(0.25).training(true).build()?;
    let session = Session::new(&graph);
    (0..3).map(|_| Ok(session.run(&[&d], &[])?.remove(0).to_f64_vec())).collect()
}

#[test]
fn dropout_in_training_is_repeatable_with_the_graph_seed_and_scaled_by_one_over_keep() -> Result<()> {
    let runs = dropout_masks(11)?;
    assert_eq!(runs, dropout_masks(11)?, "same seed, same masks run by run");
    assert_ne!(runs, dropout_masks(12)?);
    assert_ne!(runs[0], runs[1], "each run draws a new mask");
    for run in &runs {
        assert!(run.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        let dropped = run.iter().filter(|&&v| v == 0.0).count();
        assert!((20..=80).contains(&dropped), "about a quarter of 200 dropped, got {dropped}");
    }
    Ok(())
}

#[test]
fn dropout_training_tensor_picks_the_branch_at_each_run() -> Result<()> {
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let x = constant(Array2::<f32>::ones((4, 25)))?;
    let training = named("training").placeholder(DType::Bool, Shape::scalar())?;
    let d = layers::dropout(&x).training(Training::from(&training)).build()?;
    assert_eq!(d.name(), "dropout/SelectV2");
    let off = values(&d, &[(&training, &Value::from(false))])?;
    assert_eq!(off, vec![1.0; 100]);
    let on = values(&d, &[(&training, &Value::from(true))])?;
    assert!(on.contains(&0.0) && on.contains(&2.0));
    let not_bool = layers::dropout(&x).training(&x).build().unwrap_err();
    assert!(not_bool.to_string().contains("bool scalar"), "{not_bool}");
    Ok(())
}

#[test]
fn unnamed_layers_under_reuse_auto_are_not_shared_and_the_manifest_warns() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(5)]))?;
    variable_scope("tower").reuse(Reuse::Auto).with(|_| {
        layers::dense(&x, 3).build()?;
        layers::dense(&x, 3).build() // tower/dense_1: TF's trap, kept
    })?;
    assert!(graph.variable("tower/dense_1/kernel").is_some());
    let manifest = graph.manifest();
    assert_eq!(manifest.warnings.len(), 1, "{:?}", manifest.warnings);
    let warning = &manifest.warnings[0];
    assert!(warning.contains("`dense` inside `reuse = auto` scope `tower` became `tower/dense_1`"), "{warning}");
    assert!(warning.contains("tests/nn_layers.rs"), "points at the caller: {warning}");
    // Named, the layer is shared.
    let a = layers::dense(&x, 3).name("fc").reuse(Reuse::Auto).build()?;
    let b = layers::dense(&x, 3).name("fc").reuse(Reuse::Auto).build()?;
    assert_eq!((a.name(), b.name()), ("fc/BiasAdd", "fc_1/BiasAdd"));
    assert_eq!(graph.trainable_variables(Some("fc"))?.len(), 2);
    Ok(())
}

#[test]
fn a_named_layer_built_twice_without_reuse_already_exists() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(5)]))?;
    layers::dense(&x, 3).name("fc").build()?;
    let err = layers::dense(&x, 3).name("fc").build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("fc/kernel"), "{err}");
    Ok(())
}

#[test]
fn regularizers_and_trainable_reach_the_variables() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(5)]))?;
    layers::dense(&x, 3).kernel_regularizer(Regularizer::L2(0.1)).build()?;
    layers::conv2d(&placeholder(DType::F32, Shape::from_dims([None, Some(4), Some(4), Some(2)]))?, 2, 1)
        .trainable(false)
        .build()?;
    let losses: Vec<String> = graph.regularization_losses(None)?.iter().map(|t| t.name().to_owned()).collect();
    assert_eq!(losses, ["dense/kernel/Regularizer/l2_regularizer"]);
    assert!(!graph.variable("conv2d/kernel").unwrap().trainable());
    assert_eq!(graph.global_variables(Some("conv2d"))?.len(), 2);
    Ok(())
}

#[test]
fn a_loss_minimized_through_every_layer_goes_down() -> Result<()> {
    let graph = Graph::with_seed(3);
    let _g = graph.as_default();
    let images = Array4::from_shape_fn((8, 6, 6, 1), |(n, i, j, _)| ((n * 7 + i * 3 + j) % 5) as f32 / 5.0);
    let targets = Array2::from_shape_fn((8, 1), |(n, _)| (n % 2) as f32);
    let x = constant(images)?;
    let h = layers::conv2d(&x, 4, 3).padding("same").activation(relu).build()?;
    let h = layers::max_pooling2d(&h, 2, 2).build()?;
    let h = layers::average_pooling2d(&h, 1, 1).build()?;
    let h = layers::flatten(&h).build()?;
    let h = layers::dropout(&h).rate(0.1).training(true).build()?;
    let y = layers::dense(&h, 1).build()?;
    let loss = losses::mean_squared_error(&constant(targets)?, &y)?;
    let train = GradientDescentOptimizer::new(0.1).minimize(&loss, None, None)?;
    let session = Session::new(&graph);
    let first = session.run(&[&loss], &[])?[0].to_f64_vec()[0];
    for _ in 0..60 {
        session.run_targets(&[&train], &[])?;
    }
    let last = session.run(&[&loss], &[])?[0].to_f64_vec()[0];
    assert!(last < 0.6 * first, "loss {first} -> {last}");
    // TensorFlow 2.21 runs the same TF1 model (tf.layers, tf.set_random_seed(3)) from
    // the same initial values with the same dropout masks: 0.34314048 -> 0.20297167.
    assert!((first - 0.343_140_48).abs() < 1e-7, "first loss {first}, TF 0.34314048");
    assert!((last - 0.202_971_67).abs() < 1e-6, "last loss {last}, TF 0.20297167");
    // The comparison dropout builds is TF's `GreaterEqual`, usable on its own too.
    assert_eq!(greater_equal(&constant(1.0f32)?, &constant(0.5f32)?)?.name(), "GreaterEqual");
    Ok(())
}

#[test]
fn batch_norm_in_training_builds_tensorflows_unfused_graph_node_for_node() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(4)]))?;
    layers::batch_normalization(&x).training(true).build()?;
    // TF 2.21 tf.compat.v1.layers.batch_normalization(x, training=True) on a (?, 4)
    // placeholder, the variables' helper nodes left out.
    let want = [
        "x",
        "batch_normalization/gamma",
        "batch_normalization/beta",
        "batch_normalization/moving_mean",
        "batch_normalization/moving_variance",
        "batch_normalization/moments/mean/reduction_indices",
        "batch_normalization/moments/mean",
        "batch_normalization/moments/StopGradient",
        "batch_normalization/moments/SquaredDifference",
        "batch_normalization/moments/variance/reduction_indices",
        "batch_normalization/moments/variance",
        "batch_normalization/moments/Squeeze",
        "batch_normalization/moments/Squeeze_1",
        "batch_normalization/AssignMovingAvg/decay",
        "batch_normalization/AssignMovingAvg/sub",
        "batch_normalization/AssignMovingAvg/mul",
        "batch_normalization/AssignMovingAvg",
        "batch_normalization/AssignMovingAvg_1/decay",
        "batch_normalization/AssignMovingAvg_1/sub",
        "batch_normalization/AssignMovingAvg_1/mul",
        "batch_normalization/AssignMovingAvg_1",
        "batch_normalization/batchnorm/add/y",
        "batch_normalization/batchnorm/add",
        "batch_normalization/batchnorm/Rsqrt",
        "batch_normalization/batchnorm/mul",
        "batch_normalization/batchnorm/mul_1",
        "batch_normalization/batchnorm/mul_2",
        "batch_normalization/batchnorm/sub",
        "batch_normalization/batchnorm/add_1",
    ];
    let got: Vec<String> = graph.nodes().into_iter().map(|n| n.name).filter(|n| !n.ends_with("/read")).collect();
    assert_eq!(got, want);
    let types: Vec<&str> = graph.nodes().iter().map(|n| n.op_type).collect();
    assert!(types.contains(&"Rsqrt") && types.contains(&"Squeeze") && types.contains(&"AssignSub"));
    Ok(())
}

#[test]
fn batch_norm_of_4d_inputs_builds_tensorflows_fused_graph_node_for_node() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(3), Some(3), Some(2)]))?;
    let y = layers::batch_normalization(&x).training(true).center(false).scale(false).build()?;
    assert_eq!(y.name(), "batch_normalization/FusedBatchNormV3");
    // TF 2.21 tf.compat.v1.layers.batch_normalization(x, training=True, center=False,
    // scale=False) on a (?, 3, 3, 2) placeholder (fused by default), with each node's
    // inputs; the variables' helper nodes left out.
    let want = [
        ("x", vec![]),
        ("batch_normalization/moving_mean", vec![]),
        ("batch_normalization/moving_variance", vec![]),
        ("batch_normalization/Const", vec![]),
        ("batch_normalization/Const_1", vec![]),
        (
            "batch_normalization/FusedBatchNormV3",
            vec![
                "x",
                "batch_normalization/Const_1",
                "batch_normalization/Const",
                "batch_normalization/moving_mean/read",
                "batch_normalization/moving_variance/read",
            ],
        ),
        ("batch_normalization/Const_2", vec![]),
        ("batch_normalization/AssignMovingAvg/sub/x", vec![]),
        (
            "batch_normalization/AssignMovingAvg/sub",
            vec!["batch_normalization/AssignMovingAvg/sub/x", "batch_normalization/Const_2"],
        ),
        (
            "batch_normalization/AssignMovingAvg/sub_1",
            vec!["batch_normalization/moving_mean/read", "batch_normalization/FusedBatchNormV3:1"],
        ),
        (
            "batch_normalization/AssignMovingAvg/mul",
            vec!["batch_normalization/AssignMovingAvg/sub_1", "batch_normalization/AssignMovingAvg/sub"],
        ),
        (
            "batch_normalization/AssignMovingAvg",
            vec!["batch_normalization/moving_mean", "batch_normalization/AssignMovingAvg/mul"],
        ),
        ("batch_normalization/AssignMovingAvg_1/sub/x", vec![]),
        (
            "batch_normalization/AssignMovingAvg_1/sub",
            vec!["batch_normalization/AssignMovingAvg_1/sub/x", "batch_normalization/Const_2"],
        ),
        (
            "batch_normalization/AssignMovingAvg_1/sub_1",
            vec!["batch_normalization/moving_variance/read", "batch_normalization/FusedBatchNormV3:2"],
        ),
        (
            "batch_normalization/AssignMovingAvg_1/mul",
            vec!["batch_normalization/AssignMovingAvg_1/sub_1", "batch_normalization/AssignMovingAvg_1/sub"],
        ),
        (
            "batch_normalization/AssignMovingAvg_1",
            vec!["batch_normalization/moving_variance", "batch_normalization/AssignMovingAvg_1/mul"],
        ),
    ];
    let got: Vec<(String, Vec<String>)> =
        graph.nodes().into_iter().filter(|n| !n.name.ends_with("/read")).map(|n| (n.name, n.inputs)).collect();
    let want: Vec<(String, Vec<String>)> =
        want.iter().map(|(n, i)| (n.to_string(), i.iter().map(|s| s.to_string()).collect())).collect();
    assert_eq!(got, want);
    Ok(())
}

#[test]
fn fused_batch_norm_of_other_than_4d_inputs_is_refused_and_fused_false_stays_unfused() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(4)]))?;
    let err = layers::batch_normalization(&x).fused(true).name("bn").build().unwrap_err();
    assert!(err.to_string().contains("fused batch norm takes 4-D inputs; `x` has rank 2"), "{err}");
    let img = named("img").placeholder(DType::F32, Shape::from_dims([None, Some(3), Some(3), Some(2)]))?;
    assert_eq!(layers::batch_normalization(&img).fused(false).build()?.name(), "batch_normalization/batchnorm/add_1");
    assert_eq!(layers::batch_normalization(&img).fused(true).build()?.name(), "batch_normalization_1/FusedBatchNormV3");
    Ok(())
}

#[test]
fn batch_norm_normalizes_by_the_batch_in_training_and_updates_the_moving_averages() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(2)]))?;
    let train = layers::batch_normalization(&x).training(true).epsilon(0.0).name("bn").build()?;
    let infer = layers::batch_normalization(&x).name("bn").reuse(Reuse::True).build()?;
    let batch = Value::from(array![[1.0f32, 10.0], [3.0, 10.0], [5.0, 16.0], [7.0, 12.0]]);
    let session = Session::new(&graph);
    // Column 0: mean 4, variance 5; column 1: mean 12, variance 6.
    let y = session.run(&[&train], &[(&x, &batch)])?.remove(0).to_f64_vec();
    let want = [-3.0 / 5f64.sqrt(), -2.0 / 6f64.sqrt(), -1.0 / 5f64.sqrt(), -2.0 / 6f64.sqrt()];
    for (g, w) in y.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{y:?}");
    }
    let updates: Vec<Operation> = graph
        .get_collection(scopeflow::UPDATE_OPS, None)?
        .iter()
        .map(|u| graph.tensor(u.name()).expect("an update op").op())
        .collect();
    session.run_targets(&updates.iter().collect::<Vec<_>>(), &[(&x, &batch)])?;
    let moving_mean = graph.variable("bn/moving_mean").unwrap().value()?.to_f64_vec();
    let moving_variance = graph.variable("bn/moving_variance").unwrap().value()?.to_f64_vec();
    assert!((moving_mean[0] - 0.04).abs() < 1e-6 && (moving_mean[1] - 0.12).abs() < 1e-6, "{moving_mean:?}");
    assert!((moving_variance[0] - (0.99 + 0.05)).abs() < 1e-6, "{moving_variance:?}");
    // Inference reads the moving averages (and epsilon 1e-3, the default).
    let z = session.run(&[&infer], &[(&x, &batch)])?.remove(0).to_f64_vec();
    assert!((z[0] - (1.0 - 0.04) / (1.04f64 + 1e-3).sqrt()).abs() < 1e-5, "{z:?}");
    Ok(())
}

#[test]
fn batch_norm_training_tensor_switches_moments_and_updates() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(1)]))?;
    let training = placeholder(DType::Bool, Shape::scalar())?;
    let y = layers::batch_normalization(&x).training(&training).build()?;
    let updates: Vec<Operation> = graph
        .get_collection(scopeflow::UPDATE_OPS, None)?
        .iter()
        .map(|u| graph.tensor(u.name()).expect("an update op").op())
        .collect();
    let session = Session::new(&graph);
    let batch = Value::from(array![[2.0f32], [4.0]]);
    let off = Value::from(false);
    let on = Value::from(true);
    let inference = session.run(&[&y], &[(&x, &batch), (&training, &off)])?.remove(0).to_f64_vec();
    assert!((inference[0] - 2.0 / 1.001f64.sqrt()).abs() < 1e-5, "{inference:?}");
    session.run_targets(&updates.iter().collect::<Vec<_>>(), &[(&x, &batch), (&training, &off)])?;
    assert_eq!(graph.variable("batch_normalization/moving_mean").unwrap().value()?.to_f64_vec(), vec![0.0]);
    let trained = session.run(&[&y], &[(&x, &batch), (&training, &on)])?.remove(0).to_f64_vec();
    assert!((trained[0] + 1.0 / 1.001f64.sqrt()).abs() < 1e-5, "{trained:?}");
    session.run_targets(&updates.iter().collect::<Vec<_>>(), &[(&x, &batch), (&training, &on)])?;
    let mean = graph.variable("batch_normalization/moving_mean").unwrap().value()?.to_f64_vec();
    assert!((mean[0] - 0.03).abs() < 1e-6, "{mean:?}");
    Ok(())
}

#[test]
fn a_loss_minimized_through_batch_norm_trains_gamma_and_beta() -> Result<()> {
    let graph = Graph::with_seed(2);
    let _g = graph.as_default();
    let x = constant(Array2::from_shape_fn((16, 3), |(i, j)| ((i * 5 + j * 3) % 7) as f32))?;
    let h = layers::batch_normalization(&x).training(true).build()?;
    let y = layers::dense(&h, 1).build()?;
    let target = constant(Array2::from_shape_fn((16, 1), |(i, _)| (i % 3) as f32))?;
    let loss = losses::mean_squared_error(&target, &y)?;
    let step = GradientDescentOptimizer::new(0.05).minimize(&loss, None, None)?;
    let session = Session::new(&graph);
    let first = session.run(&[&loss], &[])?[0].to_f64_vec()[0];
    for _ in 0..80 {
        session.run_targets(&[&step], &[])?;
    }
    let last = session.run(&[&loss], &[])?[0].to_f64_vec()[0];
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    assert_ne!(graph.variable("batch_normalization/gamma").unwrap().value()?.to_f64_vec(), vec![1.0; 3]);
    Ok(())
}

#[test]
fn conv2d_transpose_builds_tensorflows_nodes_and_spreads_each_input() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(2), Some(2), Some(1)]))?;
    let y = layers::conv2d_transpose(&x, 1, 2).strides(2).kernel_initializer(Init::Ones).build()?;
    // TF 2.21 tf.compat.v1.layers.conv2d_transpose, the variables' helper nodes left out.
    let want = [
        ("x", "Placeholder"),
        ("conv2d_transpose/kernel", "VariableV2"),
        ("conv2d_transpose/bias", "VariableV2"),
        ("conv2d_transpose/Shape", "Shape"),
        ("conv2d_transpose/strided_slice/stack", "Const"),
        ("conv2d_transpose/strided_slice/stack_1", "Const"),
        ("conv2d_transpose/strided_slice/stack_2", "Const"),
        ("conv2d_transpose/strided_slice", "StridedSlice"),
        ("conv2d_transpose/stack/1", "Const"),
        ("conv2d_transpose/stack/2", "Const"),
        ("conv2d_transpose/stack/3", "Const"),
        ("conv2d_transpose/stack", "Pack"),
        ("conv2d_transpose/strided_slice_1/stack", "Const"),
        ("conv2d_transpose/strided_slice_1/stack_1", "Const"),
        ("conv2d_transpose/strided_slice_1/stack_2", "Const"),
        ("conv2d_transpose/strided_slice_1", "StridedSlice"),
        ("conv2d_transpose/conv2d_transpose", "Conv2DBackpropInput"),
        ("conv2d_transpose/BiasAdd", "BiasAdd"),
    ];
    let got: Vec<(String, &str)> =
        graph.nodes().into_iter().filter(|n| !n.name.ends_with("/read")).map(|n| (n.name, n.op_type)).collect();
    assert_eq!(got, want.map(|(n, t)| (n.to_owned(), t)));
    let feed = Value::from(array![[[[1.0f32], [2.0]], [[3.0], [4.0]]]]);
    let out = values(&y, &[(&x, &feed)])?;
    #[rustfmt::skip]
    assert_eq!(out, vec![
        1.0, 1.0, 2.0, 2.0,
        1.0, 1.0, 2.0, 2.0,
        3.0, 3.0, 4.0, 4.0,
        3.0, 3.0, 4.0, 4.0,
    ]);
    Ok(())
}

#[test]
fn a_loss_minimized_through_conv2d_transpose_goes_down() -> Result<()> {
    let graph = Graph::with_seed(4);
    let _g = graph.as_default();
    let x = constant(Array4::from_shape_fn((2, 3, 3, 2), |(n, i, j, c)| ((n + i * 2 + j + c) % 3) as f32))?;
    let y = layers::conv2d_transpose(&x, 1, 3).strides(2).padding("same").build()?;
    assert_eq!(y.shape(), &Shape::from(vec![2, 6, 6, 1]));
    let target = constant(Array4::from_shape_fn((2, 6, 6, 1), |(_, i, j, _)| ((i + j) % 2) as f32))?;
    let loss = losses::mean_squared_error(&target, &y)?;
    let step = GradientDescentOptimizer::new(0.02).minimize(&loss, None, None)?;
    let session = Session::new(&graph);
    let first = session.run(&[&loss], &[])?[0].to_f64_vec()[0];
    for _ in 0..40 {
        session.run_targets(&[&step], &[])?;
    }
    let last = session.run(&[&loss], &[])?[0].to_f64_vec()[0];
    assert!(last < 0.8 * first, "loss {first} -> {last}");
    Ok(())
}

#[test]
fn dropout_noise_shape_shares_the_mask_along_its_ones_and_a_seed_repeats_it() -> Result<()> {
    let masks = || -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let graph = Graph::new(); // no graph seed: an op seed alone makes the masks repeat, as in TF
        let _g = graph.as_default();
        let x = constant(scopeflow::ndarray::Array4::<f32>::ones((2, 3, 3, 4)))?;
        let channels = layers::dropout(&x).noise_shape([None, Some(1), Some(1), None]).seed(11).training(true);
        let a = channels.build()?;
        let b = layers::dropout(&x).noise_shape([None, Some(1), Some(1), None]).seed(11).training(true).build()?;
        let c = layers::dropout(&x).seed(12).training(true).build()?;
        let noise = graph.tensor("dropout/dropout/random_uniform/RandomUniform").expect("the first layer's noise");
        assert_eq!(noise.shape().to_vec(), Some(vec![2, 1, 1, 4]));
        let got = Session::new(&graph).run(&[&a, &b, &c], &[])?;
        Ok((got[0].to_f64_vec(), got[1].to_f64_vec(), got[2].to_f64_vec()))
    };
    let (a, b, c) = masks()?;
    assert_eq!(a, b, "the same op seed draws the same mask");
    assert_ne!(a, c);
    assert_eq!(masks()?, (a.clone(), b, c), "and again in a new graph");
    // One mask per (batch, channel): every position of an image keeps or drops a channel together.
    for (batch, image) in a.chunks(36).enumerate() {
        for position in image.chunks(4) {
            assert_eq!(position, &image[..4], "image {batch}");
        }
    }
    let graph = Graph::new();
    let _g = graph.as_default();
    let err = layers::dropout(&constant(vec![1.0f32, 2.0])?).noise_shape([Some(3)]).build().unwrap_err();
    assert!(err.to_string().contains("noise_shape [3] (-1: None) has 3 at axis 0"), "{err}");
    Ok(())
}
