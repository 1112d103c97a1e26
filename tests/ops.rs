//! Ops with several outputs, stateful ops, control dependencies and run
//! targets: names, shapes and what a `Session` computes with them.

use scopeflow::ndarray::{Array2, array};
use scopeflow::prelude::*;
use scopeflow::{
    ErrorKind, Operation, StridedSlice, assign, assign_add, assign_sub, group, no_op, one_hot, pad, select, split,
    split_sizes, strided_slice, tile, unstack, with_dependencies,
};

fn flat(v: &Value) -> Vec<f64> {
    v.to_f64_vec()
}

#[test]
fn split_outputs_are_named_by_index_and_computed() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(array![[1.0f32, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])?;
    let parts = split(&x, 2, 1)?;
    let names: Vec<String> = parts.iter().map(Tensor::tensor_name).collect();
    assert_eq!(names, ["split:0", "split:1"]);
    let sum = add(&parts[0], &parts[1])?;
    let node = graph.nodes().into_iter().find(|n| n.name == "Add").expect("the Add node");
    assert_eq!(node.inputs, ["split", "split:1"]);
    let out = Session::new(&graph).run(&[&parts[1], &sum], &[])?;
    assert_eq!(flat(&out[0]), [3.0, 4.0, 7.0, 8.0]);
    assert_eq!(flat(&out[1]), [4.0, 6.0, 12.0, 14.0]);
    Ok(())
}

#[test]
fn a_failed_split_still_uses_its_name_and_its_size_constant() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = placeholder(DType::F32, Shape::from_dims([None, Some(6)]))?;
    let err = split(&x, 4, 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ShapeMismatch);
    assert!(err.to_string().contains("`split`"), "{err}");
    assert_eq!(split(&x, 3, 1)?[0].name(), "split_1");
    assert!(split_sizes(&x, &[2, 2], 1).is_err());
    assert_eq!(split_sizes(&x, &[2, -1], 1)?[1].shape().to_string(), "(None, 4)");
    // As in TensorFlow: each size list became a constant before its split was named.
    assert_eq!(constant(1.0f32)?.name(), "Const_2");
    Ok(())
}

#[test]
fn unstack_gives_one_output_per_slice() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(array![[1i32, 2, 3], [4, 5, 6]])?;
    let columns = unstack(&x, None, 1)?;
    assert_eq!(columns.len(), 3);
    assert_eq!(columns[2].shape().to_vec(), Some(vec![2]));
    let out = Session::new(&graph).run(&[&columns[0], &columns[2]], &[])?;
    assert_eq!((flat(&out[0]), flat(&out[1])), (vec![1.0, 4.0], vec![3.0, 6.0]));
    assert!(unstack(&x, Some(4), 1).is_err());
    Ok(())
}

#[test]
fn strided_slices_follow_python_slicing() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(Array2::from_shape_fn((3, 5), |(i, j)| (10 * i + j) as f32))?;
    // x[::-1, 4:0:-2]
    let reversed = StridedSlice::new([0, 4], [0, 0]).strides([-1, -2]).begin_mask(1).end_mask(1);
    // x[1, -2:]
    let row = StridedSlice::new([1, -2], [2, 0]).end_mask(2).shrink_axis_mask(1);
    // x[5:9] is empty
    let empty = StridedSlice::new([5], [9]);
    let (a, b, c) = (strided_slice(&x, &reversed)?, strided_slice(&x, &row)?, strided_slice(&x, &empty)?);
    assert_eq!(
        (a.shape().to_vec(), b.shape().to_vec(), c.shape().to_vec()),
        (Some(vec![3, 2]), Some(vec![2]), Some(vec![0, 5]))
    );
    let out = Session::new(&graph).run(&[&a, &b, &c], &[])?;
    assert_eq!(flat(&out[0]), [24.0, 22.0, 14.0, 12.0, 4.0, 2.0]);
    assert_eq!(flat(&out[1]), [13.0, 14.0]);
    assert!(out[2].is_empty());
    let zero_step = StridedSlice::new([0], [1]).strides([0]);
    assert!(strided_slice(&x, &zero_step).is_err());
    Ok(())
}

#[test]
fn pad_tile_one_hot_and_select_compute_as_tensorflow() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(array![[1i64, 2], [3, 4]])?;
    let padded = pad(&x, &[[0, 1], [1, 0]])?;
    let tiled = tile(&x, &[1, 2])?;
    let hot = one_hot(&constant(vec![2i32, -1, 0])?, 3)?;
    let rows = select(&constant(vec![true, false])?, &x, &constant(array![[7i64, 7], [8, 8]])?)?;
    let out = Session::new(&graph).run(&[&padded, &tiled, &hot, &rows], &[])?;
    assert_eq!(flat(&out[0]), [0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0]);
    assert_eq!(flat(&out[1]), [1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
    // An index out of range is a row of zeros, as in TensorFlow.
    assert_eq!(flat(&out[2]), [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    // A vector condition picks whole rows.
    assert_eq!(flat(&out[3]), [1.0, 2.0, 8.0, 8.0]);
    Ok(())
}

#[test]
fn targets_run_for_their_effect() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [2]).initializer(Init::Zeros).get()?;
    let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
    let step = group(&[&assign_add(&v, &constant(vec![1.0f32, 2.0])?)?.op(), &assign_sub(&w, &v)?.op()])?;
    assert_eq!(step.name(), "group_deps");
    let session = Session::new(&graph);
    session.run_targets(&[&step], &[])?;
    session.run_targets(&[&step], &[])?;
    assert_eq!(flat(&v.value()?), [2.0, 4.0]);
    assert_eq!(no_op()?.name(), "NoOp");
    Ok(())
}

#[test]
fn a_read_after_an_assignment_by_a_control_dependency_sees_it() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    let before = identity(&v)?;
    let set = assign(&v, &constant(vec![3.0f32])?)?;
    let after = with_dependencies(&[&set.op()], &v)?;
    let doubled = add(&after, &after)?;
    let node = graph.nodes().into_iter().find(|n| n.name == "control_dependency").expect("the identity");
    assert_eq!(node.control_inputs, ["Assign"]);
    let out = Session::new(&graph).run(&[&doubled], &[])?;
    assert_eq!(flat(&out[0]), [6.0]);
    // `before` does not depend on the assignment; a later run sees the stored value.
    assert_eq!(flat(&Session::new(&graph).run(&[&before], &[])?[0]), [3.0]);
    Ok(())
}

#[test]
fn assignments_are_atomic_under_concurrent_runs() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let counter = get_variable("counter", [3]).dtype(DType::I64).initializer(Init::Zeros).get()?;
    let inc = assign_add(&counter, &constant(vec![1i64, 2, 3])?)?;
    let session = Session::new(&graph);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..500 {
                    session.run_targets(&[&inc.op()], &[]).expect("an increment");
                }
            });
        }
    });
    assert_eq!(flat(&counter.value()?), [2000.0, 4000.0, 6000.0]);
    Ok(())
}

#[test]
fn an_assignment_of_another_shape_is_refused_and_changes_nothing() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [2]).initializer(Init::Ones).get()?;
    assert_eq!(assign(&v, &constant(vec![1.0f32; 3])?).unwrap_err().kind(), ErrorKind::ShapeMismatch);
    let x = placeholder(DType::F32, Shape::from_dims([None]))?;
    let set = assign(&v, &x)?;
    let three = Value::from(vec![5.0f32; 3]);
    assert!(Session::new(&graph).run(&[&set], &[(&x, &three)]).is_err());
    assert_eq!(flat(&v.value()?), [1.0, 1.0]);
    Ok(())
}

#[test]
fn regularization_losses_are_ordinary_nodes_with_inferred_shapes() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _s = variable_scope("s").regularizer(Regularizer::L2(0.5)).enter()?;
    let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
    let losses = graph.regularization_losses(None)?;
    assert_eq!(losses[0].name(), "s/w/Regularizer/l2_regularizer");
    assert_eq!(losses[0].shape().rank(), Some(0));
    let node = graph.nodes().into_iter().find(|n| n.name == "s/w/Regularizer/l2_regularizer/L2Loss").expect("L2Loss");
    // As in TF, ops read a variable through its `read` Identity.
    assert_eq!((node.inputs, node.shape.rank()), (vec!["s/w/read".to_owned()], Some(0)));
    assert_eq!(w.tensor().name(), "s/w/read");
    assert_eq!(flat(&Session::new(&graph).run(&[&losses[0]], &[])?[0]), [0.5]);
    Ok(())
}

#[test]
fn operations_of_another_graph_are_refused() -> Result<()> {
    let other = Graph::new();
    let foreign: Operation = other.with_default(no_op)?;
    let graph = Graph::new();
    let _g = graph.as_default();
    assert_eq!(group(&[&foreign]).unwrap_err().kind(), ErrorKind::Usage);
    assert!(Session::new(&graph).run_targets(&[&foreign], &[]).is_err());
    Ok(())
}

#[test]
fn an_l2_regularizer_on_an_integer_variable_is_refused_and_creates_nothing() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _s = variable_scope("s").regularizer(Regularizer::L2(0.1)).enter()?;
    let err = get_variable("step", [1]).dtype(DType::I64).initializer(Init::Zeros).get().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`s/step`") && err.to_string().contains("Regularizer::None"), "{err}");
    assert!(graph.variable("s/step").is_none() && graph.nodes().is_empty());
    let step = get_variable("step", [1]).dtype(DType::I64).regularizer(Regularizer::None).get()?;
    assert_eq!(step.name(), "s/step");
    Ok(())
}

#[test]
fn feeding_one_output_of_an_op_still_computes_the_others() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let parts = split(&constant(vec![1.0f32, 2.0, 3.0, 4.0])?, 2, 0)?;
    let sum = add(&parts[0], &parts[1])?;
    let nine = Value::from(vec![9.0f32, 9.0]);
    let out = Session::new(&graph).run(&[&sum, &parts[1]], &[(&parts[0], &nine)])?;
    assert_eq!((flat(&out[0]), flat(&out[1])), (vec![12.0, 13.0], vec![3.0, 4.0]));
    Ok(())
}

#[test]
fn a_target_runs_even_when_its_output_is_fed() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    let inc = assign_add(&v, &constant(vec![1.0f32])?)?;
    let session = Session::new(&graph);
    let fed = Value::from(vec![7.0f32]);
    let out = session.run_with_targets(&[&inc], &[(&inc, &fed)], &[&inc.op()])?;
    assert_eq!((flat(&out[0]), flat(&v.value()?)), (vec![7.0], vec![1.0]));
    Ok(())
}

#[test]
fn integer_arithmetic_wraps_as_in_tensorflow() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(vec![i32::MIN, i32::MAX])?;
    let (n, a) = (scopeflow::neg(&x)?, scopeflow::abs(&x)?);
    let (s, p) = (add(&x, &x)?, mul(&x, &x)?);
    let out = Session::new(&graph).run(&[&n, &a, &s, &p], &[])?;
    let ints = |v: &Value| v.as_array::<i32>().expect("int32").iter().copied().collect::<Vec<_>>();
    assert_eq!(ints(&out[0]), [i32::MIN, -i32::MAX]);
    assert_eq!(ints(&out[1]), [i32::MIN, i32::MAX]);
    assert_eq!(ints(&out[2]), [0, -2]);
    assert_eq!(ints(&out[3]), [0, 1]);
    Ok(())
}

#[test]
fn sizes_too_large_for_memory_are_errors_not_panics() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(vec![1.0f32, 2.0])?;
    assert!(split_sizes(&x, &[i64::MAX, i64::MAX, 2], 0).is_err());
    assert!(pad(&x, &[[usize::MAX, 1]]).is_err());
    assert!(tile(&x, &[usize::MAX]).is_err());
    assert!(split(&placeholder(DType::F32, Shape::from_dims([None]))?, usize::MAX, 0).is_err());
    let ids = placeholder(DType::I32, Shape::from_dims([None]))?;
    let hot = one_hot(&ids, usize::MAX / 2)?;
    let err = Session::new(&graph).run(&[&hot], &[(&ids, &Value::from(vec![1i32, 2]))]).unwrap_err();
    assert!(err.to_string().contains("more memory than a value may take"), "{err}");
    Ok(())
}

#[test]
fn known_shapes_fold_into_constants_as_tensorflow_folds_them() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(vec![1.0f32, 2.0])?;
    let op_type = |t: &Tensor| graph.nodes().into_iter().find(|n| n.name == t.name()).map(|n| n.op_type);
    let s = scopeflow::shape(&x)?;
    assert_eq!((s.name(), op_type(&s)), ("Shape", Some("Const")));
    let z = scopeflow::zeros_like_as(&x, DType::I32)?;
    assert_eq!((z.name(), op_type(&z), z.dtype()), ("zeros_like", Some("Const"), DType::I32));
    let big = constant(Array2::<f32>::zeros((40, 40)))?;
    let zb = scopeflow::zeros_like(&big)?;
    assert_eq!((zb.name(), op_type(&zb)), ("zeros_like_1", Some("Fill")));
    let o = scopeflow::ones_like(&x)?;
    assert_eq!((o.name(), op_type(&o)), ("ones_like", Some("Fill")));
    let out = Session::new(&graph).run(&[&s, &zb, &o], &[])?;
    assert_eq!((flat(&out[0]), out[1].shape(), flat(&out[2])), (vec![2.0], &[40usize, 40][..], vec![1.0, 1.0]));
    Ok(())
}

#[test]
fn a_scalar_condition_selects_a_whole_value() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let (x, y) = (constant(vec![1.0f32, 2.0])?, constant(vec![3.0f32, 4.0])?);
    let picked = select(&constant(false)?, &x, &y)?;
    assert_eq!(flat(&Session::new(&graph).run(&[&picked], &[])?[0]), [3.0, 4.0]);
    Ok(())
}

#[test]
fn a_partitioned_variable_is_assigned_through_its_shards() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [4]).partitioner(Partitioner::fixed(2)).get()?;
    let err = assign(&v, &constant(vec![1.0f32; 4])?).unwrap_err();
    assert!(err.to_string().contains("`v` is partitioned"), "{err}");
    assign(&v.shards()[0], &constant(vec![1.0f32; 2])?)?;
    Ok(())
}

#[test]
fn extreme_strides_take_one_element() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(vec![1.0f32, 2.0, 3.0])?;
    let first = strided_slice(&x, &StridedSlice::new([0], [3]).strides([i64::MAX]))?;
    let last = strided_slice(&x, &StridedSlice::new([2], [0]).strides([i64::MIN]).end_mask(1))?;
    let out = Session::new(&graph).run(&[&first, &last], &[])?;
    assert_eq!((flat(&out[0]), flat(&out[1])), (vec![1.0], vec![3.0]));
    Ok(())
}

#[test]
fn an_increment_changes_the_variable_in_place() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let w = get_variable("w", [256, 256]).initializer(Init::Zeros).get()?;
    let step = assign_sub(&w, &constant(Array2::<f32>::from_elem((256, 256), 0.5))?)?;
    let session = Session::new(&graph);
    session.run_targets(&[&step.op()], &[])?;
    let before = std::sync::Arc::as_ptr(&w.snapshot()?);
    session.run_targets(&[&step.op()], &[])?;
    // No copy of the weights: the same buffer holds the new values.
    assert_eq!(std::sync::Arc::as_ptr(&w.snapshot()?), before);
    // A value a caller still holds is never changed under it.
    let held = w.snapshot()?;
    session.run_targets(&[&step.op()], &[])?;
    assert_eq!((held.to_f64_vec()[0], w.value()?.to_f64_vec()[0]), (-1.0, -1.5));
    Ok(())
}

#[test]
fn ops_built_in_a_control_dependencies_context_run_after_its_ops() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    let one = constant(vec![1.0f32])?;
    let (a, b) = (assign_add(&v, &one)?, assign_add(&v, &one)?);
    let controls =
        |name: &str| graph.nodes().into_iter().find(|n| n.name == name).map(|n| n.control_inputs).unwrap_or_default();
    let (read, inner, direct) = scopeflow::control_dependencies(&[&a.op()]).with(|| {
        let read = identity(&v)?;
        let inner = scopeflow::control_dependencies(&[&b.op()]).with(|| named("inner").identity(&v))?;
        // An op already taking `a` as an input gets no control input on it.
        let direct = named("direct").identity(&a)?;
        Ok::<_, scopeflow::Error>((read, inner, direct))
    })?;
    let after = identity(&v)?;
    assert_eq!(controls(read.name()), ["AssignAdd"]);
    assert_eq!(controls(inner.name()), ["AssignAdd", "AssignAdd_1"]);
    assert!(controls(direct.name()).is_empty());
    assert!(controls(after.name()).is_empty());
    let out = Session::new(&graph).run(&[&inner], &[])?;
    assert_eq!(flat(&out[0]), [2.0]);
    Ok(())
}

#[test]
fn shapes_and_axes_known_only_when_run_are_computed_then() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    // An input of unknown rank: the axes of a full reduction and the reversed
    // permutation are computed by Rank and Range when the graph runs, as in TF.
    let r = placeholder(DType::F32, Shape::unknown())?;
    let total = reduce_sum(&r, None, false)?;
    let reversed = scopeflow::transpose(&r, None)?;
    assert_eq!((total.shape().rank(), reversed.shape().rank()), (Some(0), None));
    let p = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    let like_p = scopeflow::reshape_to(&constant(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])?, &scopeflow::shape(&p)?)?;
    let value = Value::from(array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let out = Session::new(&graph).run(&[&total, &reversed, &like_p], &[(&r, &value), (&p, &value)])?;
    assert_eq!(flat(&out[0]), [21.0]);
    assert_eq!((out[1].shape(), flat(&out[1])), (&[3usize, 2][..], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]));
    assert_eq!(out[2].shape(), &[2, 3]);
    Ok(())
}
