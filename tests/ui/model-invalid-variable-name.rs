use scopeflow::prelude::*;

model! {
    pub struct Mlp in "MLP" {
        größe: [2],
    }
}

fn main() {}
