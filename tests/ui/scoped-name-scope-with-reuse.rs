use scopeflow::prelude::*;

#[scoped(name_scope = "loss", reuse = true)]
fn loss() -> Result<()> {
    Ok(())
}

fn main() {}
