//! Threads: per-thread scope stacks over one shared store.

use scopeflow::prelude::*;
use std::thread;

#[test]
fn a_captured_scope_is_reentered_on_threads_without_a_default_graph() -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let main = variable_scope("main").enter()?;
    let w = get_variable("w", [2]).get()?;
    let captured = main.scope().clone();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let captured = captured.clone();
            thread::spawn(move || -> Result<(String, bool)> {
                let _s = variable_scope(&captured).reuse(Reuse::Auto).enter()?;
                let shared = get_variable("w", [2]).get()?;
                let own = get_variable(&format!("v{i}"), [1]).get()?;
                Ok((own.name().to_owned(), shared.name() == "main/w"))
            })
        })
        .collect();
    for (i, worker) in workers.into_iter().enumerate() {
        let (name, shared) = worker.join().expect("worker did not panic")?;
        assert_eq!(name, format!("main/v{i}"));
        assert!(shared);
    }
    assert_eq!(graph.global_variables(Some("main/v"))?.len(), 4);
    assert_eq!(get_variable("w", [2]).reuse(Reuse::True).get()?, w);
    Ok(())
}

#[test]
fn concurrent_get_or_create_makes_one_variable() -> Result<()> {
    let graph = Graph::new();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let graph = graph.clone();
            thread::spawn(move || {
                graph.with_default(|| {
                    variable_scope("shared").reuse(Reuse::Auto).with(|_| get_variable("table", [16, 4]).get())
                })
            })
        })
        .collect();
    let vars: Vec<Variable> = handles.into_iter().map(|h| h.join().expect("no panic")).collect::<Result<_>>()?;
    assert!(vars.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(graph.global_variables(None)?.len(), 1);
    Ok(())
}

#[test]
fn shared_handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Graph>();
    assert_send_sync::<VariableScope>();
    assert_send_sync::<Variable>();
    assert_send_sync::<Tensor>();
    assert_send_sync::<Error>();
}

#[test]
fn a_run_reading_variables_while_another_trains_sees_whole_values() -> Result<()> {
    use scopeflow::{GradientDescentOptimizer, Optimizer, Session};
    let graph = Graph::new();
    let _g = graph.as_default();
    // Every step moves every element of `w` by the same amount: a value with
    // elements from two steps would not be constant.
    let w = get_variable("w", [4096]).initializer(Init::Zeros).get()?;
    let loss = scopeflow::reduce_sum(&w, None, false)?;
    let train = GradientDescentOptimizer::new(0.5).minimize(&loss, None, None)?;
    let doubled = scopeflow::add(&w, &w)?;
    let session = Session::new(&graph);
    std::thread::scope(|s| -> Result<()> {
        let trainer = s.spawn(|| -> Result<()> {
            for _ in 0..100 {
                session.run_targets(&[&train], &[])?;
            }
            Ok(())
        });
        for _ in 0..100 {
            let seen = session.run(&[&doubled], &[])?.remove(0).to_f64_vec();
            assert!(seen.iter().all(|&v| v == seen[0]), "a read mixed two steps: {} and others", seen[0]);
        }
        trainer.join().expect("the trainer does not panic")
    })?;
    assert_eq!(w.value()?.to_f64_vec()[0], -50.0);
    Ok(())
}
