use scopeflow::prelude::*;

#[scoped(units = 4)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
