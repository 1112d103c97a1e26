use scopeflow::prelude::*;

#[scoped("dense", initializer = xavier)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
