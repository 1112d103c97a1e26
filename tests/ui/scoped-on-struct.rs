use scopeflow::prelude::*;

#[scoped]
struct Layer {
    units: usize,
}

fn main() {}
