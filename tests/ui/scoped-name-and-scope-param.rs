use scopeflow::prelude::*;

#[scoped("dense", scope = name)]
fn dense_layer(name: &str) -> Result<usize> {
    Ok(name.len())
}

fn main() {}
