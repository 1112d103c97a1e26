use scopeflow::prelude::*;

#[scoped("dense", dtype = f16)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
