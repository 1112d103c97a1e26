//! Both macros in one crate under `#![deny(warnings)]`, so that clippy and
//! rustc check the code they generate; and their run-time behaviour.
#![deny(warnings)]

use scopeflow::prelude::*;

#[scoped]
fn dense(x: &Tensor, units: usize) -> Result<Tensor> {
    let w = get_variable("kernel", [x.dim(1)?, units]).get()?;
    matmul(x, &w)
}

#[scoped("strict", reuse = true)]
fn strict() -> Result<Variable> {
    get_variable("missing", [1]).get()
}

#[scoped("boom")]
fn boom() -> Result<()> {
    panic!("layer failed")
}

#[scoped("plain")]
fn plain_scope_name() -> String {
    scopeflow::current_variable_scope().map(|s| s.name().to_owned()).unwrap_or_default()
}

model! {
    /// Weights of a tiny classifier.
    pub struct Classifier(features, classes) in "classifier" (initializer = glorot_uniform) {
        hidden { kernel: [features, 8], bias: [8] = zeros }
        logits { kernel: [8, classes], bias: [classes] = zeros }
    }
}

fn x() -> Result<Tensor> {
    constant(scopeflow::ndarray::Array2::<f32>::zeros((2, 3)))
}

#[test]
fn scoped_leaves_its_scope_after_an_error_with_question_mark() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let err = strict().unwrap_err();
    assert!(err.to_string().contains("`strict/missing` does not exist"), "{err}");
    assert_eq!(scopeflow::current_variable_scope()?.name(), "");
    Ok(())
}

#[test]
fn scoped_leaves_its_scope_after_a_panic() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    assert!(std::panic::catch_unwind(boom).is_err());
    assert_eq!(scopeflow::current_variable_scope()?.name(), "");
    assert_eq!(dense(&x()?, 2)?.name(), "dense/MatMul");
    Ok(())
}

#[test]
fn scoped_without_result_panics_with_the_error_when_it_cannot_enter() {
    let caught = std::panic::catch_unwind(plain_scope_name).unwrap_err();
    let msg = caught.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("no default graph"), "{msg}");
    let graph = Graph::new();
    assert_eq!(graph.with_default(plain_scope_name), "plain");
}

#[test]
fn model_builds_with_parameters_and_records_names_at_compile_time() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let c = Classifier::build(3, 4)?;
    assert_eq!(c.logits.kernel.shape(), &[8, 4]);
    let names: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    assert_eq!(names, Classifier::VARIABLES);
    let again = Classifier::build(3, 4).unwrap_err();
    assert!(again.to_string().contains("`classifier/hidden/kernel` already exists"), "{again}");
    Ok(())
}

model! {
    /// Raw identifiers name what they stand for.
    pub struct Raw in "raw" {
        r#type: [2],
        r#loop { w: [1] }
    }
    /// Acronyms get Keras's default scope names.
    pub struct MLP {
        w: [1],
    }
}

model! {
    /// A variable beside a scope block of its name (TF's optimizer slots), and
    /// options after an initializer.
    pub struct Slots in "slots" {
        r#type: [2] = zeros (trainable = false),
        r#type { Momentum: [2] = ones }
    }
}

#[scoped]
fn r#match() -> Result<String> {
    Ok(scopeflow::current_variable_scope()?.name().to_owned())
}

type MyResult<T> = std::result::Result<T, scopeflow::Error>;

#[scoped("aliased")]
fn aliased() -> MyResult<()> {
    Ok(())
}

#[test]
fn raw_identifiers_and_acronyms_name_scopes_as_tensorflow_would() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let raw = Raw::build()?;
    assert_eq!((raw.r#type.name(), raw.r#loop.w.name()), ("raw/type", "raw/loop/w"));
    assert_eq!(Raw::VARIABLES, ["raw/type", "raw/loop/w"]);
    assert_eq!(r#match()?, "match");
    assert_eq!(MLP::build()?.w.name(), "mlp/w");
    Ok(())
}

#[test]
fn a_scope_block_beside_a_variable_of_its_name_is_field_name_scope() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let slots = Slots::build()?;
    assert_eq!((slots.r#type.name(), slots.type_scope.Momentum.name()), ("slots/type", "slots/type/Momentum"));
    assert!(!slots.r#type.trainable());
    assert_eq!(slots.type_scope.Momentum.value()?.to_f64_vec(), [1.0; 2]);
    assert_eq!(Slots::VARIABLES, ["slots/type", "slots/type/Momentum"]);
    Ok(())
}

#[test]
fn a_result_alias_returns_the_error_instead_of_panicking() {
    let err = aliased().unwrap_err();
    assert!(err.to_string().contains("no default graph"), "{err}");
}

/// Clips to `[-bound, bound]`, as `tf.clip_by_value` without its names.
fn clip(bound: f32) -> scopeflow::Constraint {
    scopeflow::Constraint::new(move |w| {
        let hi = scopeflow::maximum(w, &constant(-bound)?)?;
        scopeflow::neg(&scopeflow::maximum(&scopeflow::neg(&hi)?, &constant(-bound)?)?)
    })
}

model! {
    pub struct Clipped in "clipped" {
        layer { kernel: [2] = ones (constraint = clip(1.5)), frozen: [2] = ones (trainable = false, constraint = clip(0.5)) }
        free: [2] = ones,
    }
}

#[test]
fn model_variables_take_a_constraint_that_optimizers_apply() -> Result<()> {
    use scopeflow::{GradientDescentOptimizer, Optimizer};
    let graph = Graph::new();
    let _g = graph.as_default();
    let m = Clipped::build()?;
    assert!(m.layer.kernel.constraint().is_some() && m.free.constraint().is_none());
    assert!(!m.layer.frozen.trainable() && m.layer.frozen.constraint().is_some());
    // Gradients (-1, 1) on kernel and free: a step of 1 makes (2, 0).
    let g = constant(vec![-1.0f32, 1.0])?;
    let loss =
        add(&reduce_sum(&mul(&m.layer.kernel, &g)?, None, false)?, &reduce_sum(&mul(&m.free, &g)?, None, false)?)?;
    let train = GradientDescentOptimizer::new(1.0).minimize(&loss, None, None)?;
    Session::new(&graph).run_targets(&[&train], &[])?;
    assert_eq!(m.layer.kernel.value()?.to_f64_vec(), vec![1.5, 0.0]);
    assert_eq!(m.free.value()?.to_f64_vec(), vec![2.0, 0.0]);
    // Not trainable: no optimizer updates it, so its constraint never runs.
    assert_eq!(m.layer.frozen.value()?.to_f64_vec(), vec![1.0, 1.0]);
    Ok(())
}
