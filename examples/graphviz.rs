//! The scope tutorial's graph as a Graphviz picture, one cluster per scope;
//! writes `graph.dot` (and `graph.svg` when Graphviz's `dot` is installed).
//!
//! Run: `cargo run --example graphviz -- [OUT_DIR]`

use scopeflow::prelude::*;
use std::path::PathBuf;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).map_or_else(std::env::temp_dir, PathBuf::from);
    let graph = Graph::new();
    graph.with_default(|| -> scopeflow::Result<()> {
        let _vars = variable_scope("scope_vars").enter()?;
        let a = get_variable("a", []).initializer(Init::Constant(1.0)).get()?;
        let b = get_variable("b", []).initializer(Init::Constant(2.0)).get()?;
        let c = named("c").constant(3.0f32)?;
        let _res = variable_scope("res").enter()?;
        named("res").add(&mul(&a, &b)?, &c)?;
        Ok(())
    })?;
    let dot = graph.to_dot();
    let path = dir.join("graph.dot");
    std::fs::write(&path, &dot)?;
    println!("wrote {} ({} nodes)", path.display(), graph.nodes().len());
    let svg = dir.join("graph.svg");
    match std::process::Command::new("dot").arg("-Tsvg").arg(&path).arg("-o").arg(&svg).status() {
        Ok(s) if s.success() => println!("wrote {}", svg.display()),
        _ => println!("install Graphviz (`dot`) to render it as SVG"),
    }
    Ok(())
}
