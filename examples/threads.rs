//! A captured scope re-entered in worker threads: each thread starts at the
//! root, re-enters `main` and shares `main/embedding`, while default names
//! count per thread and op names stay unique across the graph.
//!
//! Run: `cargo run --example threads`

use scopeflow::prelude::*;
use std::io::Write;

#[scoped]
fn head(x: &Tensor) -> Result<Tensor> {
    let w = get_variable("w", [x.dim(1)?, 2]).get()?;
    matmul(x, &w)
}

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// Builds in three threads and prints each thread's names in thread order.
pub fn run(out: &mut impl Write) -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let main_scope = variable_scope("main").reuse(Reuse::Auto).enter()?;
    let embedding = get_variable("embedding", [10, 4]).get()?;
    let captured = main_scope.scope().clone();
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let captured = captured.clone();
            std::thread::spawn(move || -> Result<(Vec<String>, String)> {
                // No default graph here: entering the captured scope brings its graph.
                let s = variable_scope(&captured).enter()?;
                let emb = get_variable("embedding", [10, 4]).get()?;
                let x = named(&format!("x{i}")).constant(ndarray::Array2::<f32>::zeros((1, 4)))?;
                let y = head(&x)?;
                let value = scopeflow::Session::new(&captured.graph()?).run(&[&y], &[])?.remove(0);
                let lines = vec![
                    format!("thread {i}: head output {:?}", value.shape()),
                    format!("thread {i}: scope {} (captured ops scope {})", s.name(), s.original_name_scope()),
                    format!("thread {i}: shares {}", emb.name()),
                ];
                Ok((lines, y.name().to_owned()))
            })
        })
        .collect();
    // Join in order so the printout does not depend on scheduling.
    let (mut lines, mut heads) = (Vec::new(), Vec::new());
    for worker in workers {
        let (l, head) = worker.join().expect("worker did not panic")?;
        lines.extend(l);
        heads.push(head);
    }
    drop(main_scope);
    for line in lines {
        writeln!(out, "{line}").expect("stdout is writable");
    }
    // Name scopes are graph-wide: each re-entry gets its own `main_N/`, in
    // whatever order the threads got there.
    heads.sort();
    writeln!(out, "head ops {heads:?}").expect("stdout is writable");
    writeln!(out, "one embedding: {}", graph.global_variables(Some("main/embedding"))?.len() == 1).expect("stdout");
    writeln!(out, "main thread's embedding: {}", embedding.name()).expect("stdout");
    Ok(())
}
