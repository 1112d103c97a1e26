//! The scope tutorial's graph (`variable_scope("scope_vars")` and
//! `name_scope("scope_name")`) and a training-curve scalar, written as a
//! TensorBoard events file; the same graph as `../shared/fixtures/tensorboard`.
//!
//! Run: `cargo run --example tensorboard -- LOGDIR`, then `tensorboard --logdir LOGDIR`.

use scopeflow::EventWriter;
use scopeflow::Session;
use scopeflow::prelude::*;

fn main() -> Result<()> {
    let Some(logdir) = std::env::args().nth(1) else {
        eprintln!("usage: cargo run --example tensorboard -- LOGDIR");
        std::process::exit(2);
    };
    let graph = Graph::new();
    let (a, res) = graph.with_default(|| -> Result<(Variable, Tensor)> {
        let a = variable_scope("scope_vars").with(|_| get_variable("a", []).initializer(Init::Constant(1.0)).get())?;
        let _ns = name_scope("scope_name").enter()?;
        let b = get_variable("b", []).initializer(Init::Constant(2.0)).get()?; // name scopes do not apply: `b`
        let c = named("c").constant(3.0f32)?;
        let res = named("res").add(&add(&a, &b)?, &c)?;
        Ok((a, res))
    })?;
    let mut writer = EventWriter::create(&logdir)?;
    writer.add_graph(&graph)?;
    let session = Session::new(&graph);
    for step in 0..3 {
        a.assign(1.0f32 + step as f32)?;
        let value = session.run(&[&res], &[])?[0].to_f64_vec()[0] as f32;
        writer.add_scalar("res", value, step)?;
        println!("step {step}: res = {value}");
    }
    writer.flush()?;
    for node in graph.nodes() {
        println!("node {} {}", node.name, node.op_type);
    }
    println!("wrote {}", writer.path().display());
    Ok(())
}
