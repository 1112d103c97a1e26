use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        w: [2.5, 3]
    }
}

fn main() {}
