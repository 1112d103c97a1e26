use scopeflow::prelude::*;

model! {
    pub struct Mlp in "my mlp" {
        w: [2]
    }
}

fn main() {}
