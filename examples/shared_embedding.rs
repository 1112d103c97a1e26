//! One embedding matrix shared by two lookups, as TF1 models do with
//! `variable_scope("text_embedding", reuse=AUTO_REUSE)`; then the same
//! sharing spelled with `reuse = true`, which requires the matrix to exist.
//!
//! Run: `cargo run --example shared_embedding`

use scopeflow::prelude::*;
use std::io::Write;

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// The embedding of one input: every call shares `text_embedding/matrix`,
/// while its ops get a fresh name scope (`text_embedding`, `text_embedding_1`).
#[scoped("text_embedding", reuse = auto, initializer = random_uniform(-1.0, 1.0))]
fn embed(ids: &Tensor) -> Result<(Variable, Tensor)> {
    let matrix = get_variable("matrix", [50, 8]).get()?;
    let rows = scopeflow::embedding_lookup(&matrix, ids)?;
    Ok((matrix, rows))
}

/// Prints the shared variable, both lookups' op names and the manifest.
pub fn run(out: &mut impl Write) -> Result<()> {
    let graph = Graph::with_seed(42);
    let _g = graph.as_default();
    let ids_a = named("ids_a").constant(vec![3i32, 7, 3])?;
    let ids_b = named("ids_b").constant(vec![7i32])?;
    let (m_a, rows_a) = embed(&ids_a)?;
    let (m_b, rows_b) = embed(&ids_b)?;
    let mut w = |line: String| writeln!(out, "{line}").expect("stdout is writable");
    w(format!("lookup a uses {} and makes {}", m_a.name(), rows_a.name()));
    w(format!("lookup b uses {} and makes {}", m_b.name(), rows_b.name()));
    w(format!("one matrix shared: {}", m_a == m_b));
    let first = m_a.value()?.to_f64_vec();
    w(format!("matrix {:?}, values in [-1, 1): {}", m_a.shape(), first.iter().all(|x| (-1.0..1.0).contains(x))));

    // reuse = true: no shape needed, and a missing variable is an error.
    let again =
        variable_scope("text_embedding").reuse(Reuse::True).with(|_| get_variable("matrix", Shape::unknown()).get())?;
    w(format!("reuse = true finds {} (same: {})", again.name(), again == m_a));
    let missing = variable_scope("text_embedding").reuse(Reuse::True).with(|_| get_variable("typo", [50, 8]).get());
    if let Err(e) = missing {
        w(format!("error: {e}"));
    }
    // Both lookups read the one matrix: row 7 is the same in both results.
    let out = scopeflow::Session::new(&graph).run(&[&rows_a, &rows_b], &[])?;
    w(format!("lookup shapes {:?} and {:?}", out[0].shape(), out[1].shape()));
    let (a, b) = (out[0].to_f64_vec(), out[1].to_f64_vec());
    w(format!("row 7 equal in both lookups: {}", a[8..16] == b[..]));
    w("manifest:".to_owned());
    w(graph.manifest().summary().trim_end().to_owned());
    Ok(())
}
