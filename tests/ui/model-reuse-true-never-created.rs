use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        layer1 { kernel: [784, 64], bias: [64] = zeros }
    }
    pub struct Eval in "MLP" (reuse = true) {
        layer1 { kernal: [784, 64] }
    }
}

fn main() {}
