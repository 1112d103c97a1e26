use scopeflow::prelude::*;

#[scoped("my layer", reuse = maybe, dtype = f16, units = 3)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
