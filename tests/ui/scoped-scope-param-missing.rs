use scopeflow::prelude::*;

#[scoped(scope = nme)]
fn dense_layer(units: usize, name: &str) -> Result<usize> {
    Ok(units + name.len())
}

fn main() {}
