use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" (reuse = maybe) {
        w: [2]
    }
}

fn main() {}
