use scopeflow::prelude::*;

#[scoped("encoder")]
async fn encode() -> Result<()> {
    Ok(())
}

fn main() {}
