use scopeflow::prelude::*;

#[scoped(reuse = auto)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
