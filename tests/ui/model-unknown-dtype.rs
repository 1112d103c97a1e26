use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        w: [2] (dtype = float16),
    }
}

fn main() {}
