use scopeflow::prelude::*;

#[scoped("encoder", reuse = maybe)]
fn encode() -> Result<()> {
    Ok(())
}

fn main() {}
