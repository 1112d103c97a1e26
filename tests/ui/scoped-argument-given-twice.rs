use scopeflow::prelude::*;

#[scoped("a", reuse = auto, reuse = true)]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
