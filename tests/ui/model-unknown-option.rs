use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" (trainable = false) {
        w: [2] (regularizer = l2),
    }
}

fn main() {}
