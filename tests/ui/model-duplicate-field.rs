use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        layer1 { kernel: [784, 64] }
        layer1 { bias: [64] }
    }
}

fn main() {}
