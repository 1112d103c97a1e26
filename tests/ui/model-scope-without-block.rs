use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        layer1 (reuse = auto)
    }
}

fn main() {}
