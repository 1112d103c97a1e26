use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        layer1 { kernel: [784, 64] (constraint = 2.0) }
    }
}

fn main() {}
