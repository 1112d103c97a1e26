use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        layer_1 { w: [2] }
        layer1 { w: [2] }
    }
}

fn main() {}
