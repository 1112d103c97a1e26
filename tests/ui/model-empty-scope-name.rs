use scopeflow::prelude::*;

model! {
    pub struct Mlp in "" {
        w: [2]
    }
}

fn main() {}
