use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" (initializer = xavier) {
        layer1 { kernel: [784, 64], kernel: [784, 64] }
    }
    pub struct Eval in "MLP" (reuse = true) {
        layer2 { kernel: [64, 10] }
    }
}

fn main() {}
