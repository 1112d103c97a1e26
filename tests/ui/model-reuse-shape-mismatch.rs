use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        layer1 { kernel: [784, 64] }
    }
    pub struct Eval in "MLP" (reuse = true) {
        layer1 { kernel: [64, 784] }
    }
}

fn main() {}
