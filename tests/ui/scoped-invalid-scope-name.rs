use scopeflow::prelude::*;

#[scoped("my layer")]
fn dense() -> Result<()> {
    Ok(())
}

fn main() {}
