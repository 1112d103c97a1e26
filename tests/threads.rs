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

#[test]
fn runs_and_saves_see_all_of_a_restore_or_none_of_it() -> Result<()> {
    use scopeflow::{Saver, Session};
    let graph = Graph::new();
    let _g = graph.as_default();
    let a = get_variable("a", [256]).initializer(Init::Zeros).get()?;
    let b = get_variable("b", [256]).initializer(Init::Zeros).get()?;
    let c = get_variable("c", [4, 64]).partitioner(scopeflow::Partitioner::fixed(2)).initializer(Init::Zeros).get()?;
    let total = scopeflow::add(&scopeflow::add(&a, &b)?, &scopeflow::reshape(&c, &[256])?)?;
    let dir = std::env::temp_dir().join(format!("scopeflow-atomic-restore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let saver = Saver::new(&graph);
    let zeros = saver.save(dir.join("zeros.safetensors"))?;
    for v in [&a, &b] {
        v.assign(Value::from(vec![1.0f32; 256]))?;
    }
    for shard in c.shards() {
        shard.assign(Value::from(scopeflow::ndarray::Array2::<f32>::ones((2, 64))))?;
    }
    let ones = saver.save(dir.join("ones.safetensors"))?;
    let session = Session::new(&graph);
    std::thread::scope(|s| -> Result<()> {
        let restorer = s.spawn(|| -> Result<()> {
            for i in 0..200 {
                saver.restore(if i % 2 == 0 { &zeros } else { &ones })?;
            }
            Ok(())
        });
        // As the issue asks: Session::run from 8 threads during the restores.
        let readers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| -> Result<()> {
                    for _ in 0..200 {
                        let seen = session.run(&[&total], &[])?.remove(0).to_f64_vec();
                        assert!(seen.iter().all(|&v| v == seen[0]) && (seen[0] == 0.0 || seen[0] == 3.0), "{seen:?}");
                    }
                    Ok(())
                })
            })
            .collect();
        // And saves: each file holds one checkpoint's values, never a mix.
        let saver_thread = s.spawn(|| -> Result<()> {
            for i in 0..40 {
                let path = saver.save(dir.join(format!("during-{}.safetensors", i % 4)))?;
                let values: Vec<f64> = scopeflow::read_checkpoint(&path)?
                    .into_values()
                    .flat_map(|stored| match stored {
                        scopeflow::Stored::Value(v) => v.to_f64_vec(),
                        other => panic!("a float checkpoint holds {other:?}"),
                    })
                    .collect();
                assert!(values.len() == 3 * 256 && values.iter().all(|&v| v == values[0]), "a save mixed restores");
            }
            Ok(())
        });
        for r in readers {
            r.join().expect("a reader does not panic")?;
        }
        saver_thread.join().expect("the saver does not panic")?;
        restorer.join().expect("the restorer does not panic")
    })?;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn eight_threads_sharing_and_building_under_load_make_each_variable_once_and_each_name_once() -> Result<()> {
    let graph = Graph::new();
    std::thread::scope(|s| -> Result<()> {
        let workers: Vec<_> = (0..8)
            .map(|t| {
                let graph = graph.clone();
                s.spawn(move || -> Result<()> {
                    let _g = graph.as_default();
                    for i in 0..10_000 {
                        // Overlapping names: every thread asks for the same 100 variables, over and over.
                        let name = format!("v{}", (i * 7 + t) % 100);
                        let _s = variable_scope("shared").reuse(Reuse::Auto).enter()?;
                        let v = get_variable(&name, [2]).get()?;
                        assert_eq!(v.name(), format!("shared/{name}"));
                        if i % 10 == 0 {
                            scopeflow::add(&v, &v)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().expect("a worker does not panic"))
    })?;
    let variables = graph.global_variables(None)?;
    assert_eq!(variables.len(), 100);
    let manifest = graph.manifest();
    assert_eq!(manifest.entries.len(), 100, "{}", manifest.summary());
    assert!(manifest.warnings.is_empty(), "{:?}", manifest.warnings);
    let names: Vec<String> = graph.nodes().into_iter().map(|n| n.name).collect();
    let unique: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "every node has its own name");
    assert_eq!(names.iter().filter(|n| n.ends_with("/Add")).count(), 8 * 1000);
    Ok(())
}
