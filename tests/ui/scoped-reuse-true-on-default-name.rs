use scopeflow::prelude::*;

#[scoped(reuse = true)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
