//! Variables: sharing, errors that name what went wrong, atomic failures,
//! lazy values, partitions and the manifest.

use scopeflow::prelude::*;
use scopeflow::{Constraint, CustomGetter, ErrorKind, maximum};

#[test]
fn already_exists_names_the_variable_the_reuse_mode_and_the_first_call_site() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _s = variable_scope("foo").enter()?;
    let v = get_variable("v", [1]).get()?;
    let err = get_variable("v", [1]).get().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    let msg = err.to_string();
    assert!(msg.contains("variable `foo/v` already exists"), "{msg}");
    assert!(msg.contains("reuse is `inherit`"), "{msg}");
    assert!(msg.contains(&v.created_at().to_string()), "{msg}");
    assert!(msg.contains("tests/variables.rs"), "{msg}");
    Ok(())
}

#[test]
fn not_found_says_which_scope_set_reuse_true() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let _a = variable_scope("a").reuse(Reuse::True).enter()?;
    let _b = variable_scope("b").enter()?;
    let msg = get_variable("w", [1]).get().unwrap_err().to_string();
    assert!(msg.contains("`a/b/w` does not exist"), "{msg}");
    assert!(msg.contains("set by scope `a`"), "{msg}");
    assert!(msg.contains("reuse = auto"), "{msg}");
    Ok(())
}

#[test]
fn shape_mismatch_names_both_shapes() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    get_variable("w", [2, 3]).get()?;
    let msg = get_variable("w", [3, 2]).reuse(Reuse::True).get().unwrap_err().to_string();
    assert!(msg.contains("`w`") && msg.contains("(3, 2)") && msg.contains("(2, 3)"), "{msg}");
    Ok(())
}

#[test]
fn a_failed_get_variable_changes_nothing() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let before = graph.nodes().len();
    assert!(get_variable("_bad", [1]).get().is_err());
    assert!(get_variable("no_shape", Shape::unknown()).get().is_err());
    assert!(get_variable("i", [2]).dtype(DType::I32).initializer(Init::HeNormal).get().is_err());
    assert_eq!(graph.nodes().len(), before);
    assert!(graph.global_variables(None)?.is_empty());
    assert!(!graph.is_name_used("no_shape"));
    assert_eq!(get_variable("no_shape", [1]).get()?.name(), "no_shape");
    Ok(())
}

#[test]
fn values_materialize_on_first_read_and_assign_checks_shape() -> Result<()> {
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let w = get_variable("w", [1000, 1000]).get()?;
    assert!(!w.is_materialized());
    w.assign(ndarray::Array2::<f32>::ones((1000, 1000)))?;
    assert!(w.is_materialized());
    let err = w.assign(vec![1.0f32]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ShapeMismatch);
    assert_eq!(w.value()?.to_f64_vec()[0], 1.0, "a rejected assign keeps the stored value");
    w.reinitialize();
    assert!(w.value()?.to_f64_vec()[0] != 1.0);
    Ok(())
}

/// As TF's `get_seed`: a random initializer's seeds are the graph seed and how
/// many random ones the graph made before it, so values follow the creation
/// order, not the names (a TF1 model built in TF's order starts at TF's values).
#[test]
fn seeded_graphs_give_values_by_creation_order_as_tensorflow() -> Result<()> {
    let build = |order: &[&str]| -> Result<Vec<Vec<f64>>> {
        let graph = Graph::with_seed(5);
        let _g = graph.as_default();
        for name in order {
            get_variable(name, [3]).get()?;
        }
        ["a", "b"].iter().map(|n| graph.variable(n).expect("created").value().map(|v| v.to_f64_vec())).collect()
    };
    let (ab, ba) = (build(&["a", "b"])?, build(&["b", "a"])?);
    assert_eq!((&ab[0], &ab[1]), (&ba[1], &ba[0]));
    assert_ne!(ab[0], ab[1]);
    assert_eq!(ab, build(&["a", "b"])?);
    Ok(())
}

#[test]
fn partitioned_values_assign_and_read_across_shards() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let v = get_variable("p", [5, 2]).partitioner(Partitioner::fixed(2)).initializer(Init::Zeros).get()?;
    let data: Vec<f32> = (0..10).map(|x| x as f32).collect();
    v.assign(ndarray::Array2::from_shape_vec((5, 2), data).expect("5x2"))?;
    assert_eq!(v.shards()[1].value()?.to_f64_vec(), vec![6.0, 7.0, 8.0, 9.0]);
    assert_eq!(v.value()?.to_f64_vec(), (0..10).map(f64::from).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn variables_are_tensors_in_ops() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = constant(ndarray::Array2::<f32>::zeros((4, 3)))?;
    let y = variable_scope("dense").with(|_| {
        let w = get_variable("kernel", [3, 2]).get()?;
        let b = get_variable("bias", [2]).initializer(Init::Zeros).get()?;
        relu(&add(&matmul(&x, &w)?, &b)?)
    })?;
    assert_eq!((y.name(), y.shape().to_vec()), ("dense/Relu", Some(vec![4, 2])));
    let err = variable_scope("bad").with(|_| matmul(&x, &x)).unwrap_err();
    assert!(err.to_string().contains("op `bad/MatMul`") && err.to_string().contains("(4, 3) and (4, 3)"), "{err}");
    Ok(())
}

#[test]
fn manifest_lists_names_sites_and_warns_about_default_names_under_auto() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let dense = || variable_scope(None).default_name("dense").with(|_| get_variable("w", [1]).get());
    for _ in 0..2 {
        // Leaving `tower` resets its default names: both calls share `tower/dense/w`.
        variable_scope("tower").reuse(Reuse::Auto).with(|_| {
            get_variable("shared", [1]).get()?;
            dense()
        })?;
    }
    // Twice in one entry: the second is `tower/dense_1`, not shared. The trap.
    variable_scope("tower").reuse(Reuse::Auto).with(|_| {
        dense()?;
        dense()
    })?;
    let manifest = graph.manifest();
    assert_eq!(
        manifest.summary(),
        "tower/dense/w (1,) float32 global_variables,trainable_variables\n\
         tower/dense_1/w (1,) float32 global_variables,trainable_variables\n\
         tower/shared (1,) float32 global_variables,trainable_variables\n"
    );
    let shared = manifest.entries.iter().find(|e| e.name == "tower/shared").expect("listed");
    assert!(shared.created_at.contains("tests/variables.rs"));
    assert_eq!(shared.reused_at.len(), 1);
    assert_eq!(manifest.warnings.len(), 1);
    assert!(
        manifest.warnings[0].contains("`dense` inside `reuse = auto` scope `tower` became `tower/dense_1`"),
        "{}",
        manifest.warnings[0]
    );
    assert!(manifest.to_string().contains("warning: "));
    Ok(())
}

#[test]
fn an_invalid_collection_filter_is_an_error() {
    let graph = Graph::new();
    assert!(graph.global_variables(Some("(")).is_err());
}

#[test]
fn a_custom_partitioner_may_use_the_graph_without_deadlock() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let probe = seen.clone();
    let p = Partitioner::Custom(std::sync::Arc::new(move |shape: &[usize], _| {
        *probe.lock().unwrap() = Some(scopeflow::get_default_graph().is_ok());
        vec![shape[0].min(3), 1]
    }));
    let v = get_variable("emb", [6, 2]).partitioner(p).get()?;
    assert_eq!(v.shards().len(), 3);
    assert_eq!(*seen.lock().unwrap(), Some(true));
    Ok(())
}

#[test]
fn an_impossibly_large_variable_is_an_error_not_a_panic() {
    let graph = Graph::new();
    let _g = graph.as_default();
    assert!(get_variable("huge", [usize::MAX / 2, 4]).get().is_err());
    assert!(graph.global_variables(None).map(|v| v.is_empty()).unwrap_or(false));
}

#[test]
fn a_fixed_partitioner_on_a_missing_axis_is_an_error() {
    let graph = Graph::new();
    let _g = graph.as_default();
    let p = Partitioner::Fixed { shards: 2, axis: 3 };
    assert!(get_variable("v", [4, 2]).partitioner(p).get().is_err());
}

#[test]
fn sharing_without_a_partitioner_is_refused_the_same_way_on_every_path() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    get_variable("v", [2]).get()?;
    get_variable("v/part_0", [2]).get()?;
    // TF: "No partitioner was provided, but a partitioned version of the variable was found".
    for _ in 0..2 {
        let err = get_variable("v", [2]).reuse(Reuse::Auto).get().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PartitionMismatch);
    }
    Ok(())
}

#[test]
fn manifest_lends_no_reuse_sites_between_variables() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    get_variable("", [1]).get()?;
    get_variable("", [1]).reuse(Reuse::True).get()?;
    get_variable("w", [1]).get()?;
    let m = graph.manifest();
    let w = m.entries.iter().find(|e| e.name == "w").expect("listed");
    assert!(w.reused_at.is_empty(), "{:?}", w.reused_at);
    Ok(())
}

/// A custom getter that logs `tag`, the name, trainable and reuse, then passes the call on.
fn logging(tag: &'static str, log: &std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> scopeflow::CustomGetter {
    let log = log.clone();
    scopeflow::CustomGetter::new(move |getter, request| {
        let entry = format!("{tag} {} trainable={} reuse={}", request.name, request.trainable, request.reuse);
        log.lock().unwrap().push(entry);
        getter(request)
    })
}

/// As TensorFlow 2.21 calls them (`tf.compat.v1`, recorded by hand): the
/// inner scope's getter first, whose getter is the outer scope's; a scope
/// re-entered by name wraps only its parent's getter; a re-entered captured
/// scope wraps the captured one's; a `get_variable` getter replaces the scope's.
#[test]
fn custom_getters_chain_inner_first_as_tf() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let take = || std::mem::take(&mut *log.lock().unwrap());
    let a = variable_scope("a").custom_getter(logging("A", &log)).enter()?;
    let v = variable_scope("b").custom_getter(logging("B", &log)).with(|_| get_variable("v", [1]).get())?;
    assert_eq!(v.name(), "a/b/v");
    assert_eq!(take(), ["B a/b/v trainable=true reuse=inherit", "A a/b/v trainable=true reuse=inherit"]);
    // Getters run on every call, also when sharing.
    let again = variable_scope("b").reuse(Reuse::True).with(|_| get_variable("v", [1]).get())?;
    assert_eq!(again, v);
    assert_eq!(take(), ["A a/b/v trainable=true reuse=true"]);
    let w = get_variable("w", [1]).custom_getter(logging("C", &log)).get()?;
    assert_eq!((w.name(), take()), ("a/w", vec!["C a/w trainable=true reuse=inherit".to_owned()]));
    let captured = a.scope().clone();
    a.exit()?;
    variable_scope(&captured).custom_getter(logging("D", &log)).with(|_| get_variable("z", [1]).get())?;
    assert_eq!(take(), ["D a/z trainable=true reuse=inherit", "A a/z trainable=true reuse=inherit"]);
    // Outside every getter's scope nothing is called.
    get_variable("outside", [1]).get()?;
    assert!(take().is_empty());
    Ok(())
}

#[test]
fn custom_getters_may_rename_freeze_and_count_variables() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let rename = CustomGetter::new(|getter, request| {
        let mut renamed = request.clone();
        renamed.name.push_str("_x");
        getter(&renamed)
    });
    let freeze = CustomGetter::new(|getter, request| {
        let mut frozen = request.clone();
        frozen.trainable = false;
        getter(&frozen)
    });
    // TF: `r/f/x_x`, not trainable.
    let x = variable_scope("r")
        .custom_getter(rename)
        .with(|_| variable_scope("f").custom_getter(freeze).with(|_| get_variable("x", [1]).get()))?;
    assert_eq!((x.name(), x.trainable()), ("r/f/x_x", false));
    assert!(graph.trainable_variables(None)?.is_empty());

    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let count = CustomGetter::new(move |getter, request| {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        getter(request)
    });
    let _s = variable_scope("counted").custom_getter(count).reuse(Reuse::Auto).enter()?;
    let k = get_variable("k", [2]).get()?;
    assert_eq!(get_variable("k", [2]).get()?, k);
    get_variable("b", [2]).get()?;
    assert_eq!(calls.load(std::sync::atomic::Ordering::Relaxed), 3);

    // A getter may change the reuse mode; an error then says the getter set it.
    let share_only = CustomGetter::new(|getter, request| {
        let mut shared = request.clone();
        shared.reuse = Reuse::True;
        getter(&shared)
    });
    let err = variable_scope("strict").custom_getter(share_only).with(|_| get_variable("w", [1]).get()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("`counted/strict/w` does not exist"), "{err}");
    assert!(err.to_string().contains("set by a custom getter"), "{err}");
    Ok(())
}

#[test]
fn a_custom_getter_sees_the_scope_defaults_and_its_errors_name_the_variable() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let keep = seen.clone();
    let inspect = CustomGetter::new(move |getter, request| {
        *keep.lock().unwrap() = Some(request.clone());
        getter(request)
    });
    let _s = variable_scope("s")
        .custom_getter(inspect)
        .initializer(Init::Ones)
        .regularizer(Regularizer::L2(0.5))
        .dtype(DType::F64)
        .enter()?;
    let v = get_variable("v", [3]).get()?;
    let request = seen.lock().unwrap().take().expect("the getter ran");
    assert_eq!((request.name.as_str(), request.dtype, request.shape.to_vec()), ("s/v", DType::F64, Some(vec![3])));
    assert_eq!((request.initializer, request.regularizer), (Some(Init::Ones), Some(Regularizer::L2(0.5))));
    assert_eq!(v.value()?.to_f64_vec(), vec![1.0; 3]);
    // The getter may return an existing variable in place of a new one.
    let same = CustomGetter::new({
        let v = v.clone();
        move |_, _| Ok(v.clone())
    });
    assert_eq!(get_variable("other", [3]).custom_getter(same).get()?, v);
    // An error of the true getter passes through the getters, naming the full variable.
    let err = get_variable("v", [3]).get().unwrap_err();
    assert!(err.to_string().contains("variable `s/v` already exists"), "{err}");
    Ok(())
}

#[test]
fn constraints_are_inherited_overridden_and_captured_with_the_scope() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let outer = Constraint::new(|w| maximum(w, &constant(0.0f32)?));
    let inner = Constraint::new(|w| mul(w, &constant(0.5f32)?));
    let s = variable_scope("s").constraint(outer.clone()).enter()?;
    let a = get_variable("a", [1]).get()?;
    let b = variable_scope("deeper").with(|_| get_variable("b", [1]).get())?;
    let c = get_variable("c", [1]).constraint(inner.clone()).get()?;
    let d = variable_scope("other").constraint(inner.clone()).with(|_| get_variable("d", [1]).get())?;
    let captured = s.scope().clone();
    s.exit()?;
    let e = variable_scope(&captured).with(|_| get_variable("e", [1]).get())?;
    let f = get_variable("f", [1]).get()?;
    let same = |v: &Variable, c: &Constraint| v.constraint().is_some_and(|x| x.ptr_eq(c));
    assert!(same(&a, &outer) && same(&b, &outer) && same(&e, &outer));
    assert!(same(&c, &inner) && same(&d, &inner));
    assert!(f.constraint().is_none());
    assert!(captured.constraint().is_some_and(|x| x.ptr_eq(&outer)));
    // As TF, a shared variable keeps the constraint it was created with.
    let shared = variable_scope("s").reuse(Reuse::True).with(|_| get_variable("a", [1]).constraint(inner).get())?;
    assert!(same(&shared, &outer));
    // `tf.Variable(constraint=…)` too.
    assert!(Variable::new(1.0f32).constraint(outer.clone()).build()?.constraint().is_some());
    Ok(())
}
