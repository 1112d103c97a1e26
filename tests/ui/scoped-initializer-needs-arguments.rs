use scopeflow::prelude::*;

#[scoped("dense", initializer = constant)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
