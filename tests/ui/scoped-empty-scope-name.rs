use scopeflow::prelude::*;

#[scoped("")]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
