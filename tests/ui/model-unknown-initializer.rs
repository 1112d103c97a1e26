use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" (initializer = xavier) {
        w: [2]
    }
}

fn main() {}
